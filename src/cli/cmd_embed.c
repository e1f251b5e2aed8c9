/* cmd_embed.c — `mien embed IMAGE [--profile fast|accurate] [--face N] [--json]`: the
 * template of the most prominent face (largest and most central), or of face N as
 * `mien detect` numbers them. JSON prints each float with 9 significant digits, enough to
 * read back the exact float32 (IEEE 754: FLT_DECIMAL_DIG = 9). */
#include <string.h>

#include "cli.h"

int cli_cmd_embed(int argc, char **argv)
{
    cli_common c = {.threads = 1};
    mien_profile profile = MIEN_PROFILE_FAST;
    const char *path = NULL;
    int face_index = -1;
    mien_engine *engine = NULL;
    mien_session *session = NULL;
    mien_template *t = NULL;
    mien_face face;
    mien_error err;
    bool bad = false;
    int rc = CLI_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        if (cli_common_option(&c, argc, argv, &i, &bad)) {
            continue;
        }
        if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc) {
            if (!cli_parse_profile(argv[++i], &profile)) {
                fprintf(stderr, "mien embed: --profile is fast or accurate, not '%s'\n", argv[i]);
                bad = true;
            }
        } else if (strcmp(argv[i], "--face") == 0 && i + 1 < argc) {
            if (!cli_parse_int(argv[++i], 0, 100000, &face_index)) {
                fprintf(stderr, "mien embed: --face wants a face number, got '%s'\n", argv[i]);
                bad = true;
            }
        } else if (argv[i][0] == '-' || path != NULL) {
            fprintf(stderr, "mien embed: unexpected '%s'\n", argv[i]);
            bad = true;
        } else {
            path = argv[i];
        }
    }
    if (bad || path == NULL) {
        fprintf(stderr, "usage: mien embed IMAGE [--profile fast|accurate] [--face N] [--json]\n");
        return CLI_EXIT_USAGE;
    }
    if (cli_open_engine(&c, &engine) != MIEN_OK ||
        mien_session_new(engine, &session, &err) != MIEN_OK) {
        mien_engine_free(engine);
        return CLI_EXIT_FAIL;
    }
    if (cli_template_of(session, path, face_index, profile, &t, &face) != MIEN_OK) {
        rc = CLI_EXIT_FAIL;
    } else {
        const float *v;
        int dim;
        printf(c.json ? "{\"image\":" : "image    ");
        if (c.json) {
            cli_json_string(stdout, path);
            printf(",\"profile\":\"%s\",\"face\":", cli_profile_name(profile));
            cli_face_json(stdout, &face);
        } else {
            printf("%s\nprofile  %s\nface     box %.0f,%.0f-%.0f,%.0f score %.3f\n", path,
                   cli_profile_name(profile), face.box[0], face.box[1], face.box[2], face.box[3],
                   face.score);
        }
        for (int part = 0; mien_template_vector(t, part, &v, &dim) == MIEN_OK; part++) {
            printf(c.json ? ",\"%s\":[" : "%s ", part == 0 ? "embedding_a" : "embedding_b");
            for (int k = 0; k < dim; k++) {
                printf(c.json ? "%s%.9g" : "%s%.5f", k ? (c.json ? "," : " ") : "", v[k]);
            }
            printf(c.json ? "]" : "\n");
        }
        if (c.json) {
            printf("}\n");
        }
    }
    mien_template_free(t);
    mien_session_free(session);
    mien_engine_free(engine);
    return rc;
}
