/* cmd_embed.c — `mien embed IMAGE [--profile fast|accurate] [--face N] [--json]`: the
 * template of the most prominent face (largest and most central), or of face N as
 * `mien detect` numbers them. JSON prints each float with 9 significant digits, enough to
 * read back the exact float32 (IEEE 754: FLT_DECIMAL_DIG = 9). */
#include <string.h>

#include "cli.h"

typedef struct embed_args {
    cli_common c;
    mien_profile profile;
    int face;
} embed_args;

static const cli_opt opts[] = {
    CLI_OPT_PROFILE(embed_args, profile),
    CLI_OPT_FACE(embed_args, face),
    CLI_OPTS_END_COMMON(embed_args),
};
static const cli_command cmd = {
    "embed", "embed IMAGE [--profile fast|accurate] [--face N] [--json]", opts, 1, 1};

/* Prints the template of face --face in image pos[0]. */
static int embed(void *args, char **pos, int n_pos)
{
    const embed_args *o = args;
    const char *path = pos[0];
    mien_engine *engine = NULL;
    mien_session *session = NULL;
    mien_template *t = NULL;
    mien_face face;
    int rc = CLI_EXIT_OK;
    (void)n_pos;
    if (cli_open_session(&o->c, &engine, &session) != MIEN_OK) {
        return CLI_EXIT_FAIL;
    }
    if (cli_template_of(session, path, o->face, o->profile, &t, &face) != MIEN_OK) {
        rc = CLI_EXIT_FAIL;
    } else {
        const float *v;
        int dim;
        printf(o->c.json ? "{\"image\":" : "image    ");
        if (o->c.json) {
            cli_json_string(stdout, path);
            printf(",\"profile\":\"%s\",\"face\":", mien_profile_name(o->profile));
            cli_face_json(stdout, &face);
        } else {
            printf("%s\nprofile  %s\nface     box %.0f,%.0f-%.0f,%.0f score %.3f\n", path,
                   mien_profile_name(o->profile), face.box[0], face.box[1], face.box[2],
                   face.box[3], face.score);
        }
        for (int part = 0; mien_template_vector(t, part, &v, &dim) == MIEN_OK; part++) {
            printf(o->c.json ? ",\"%s\":[" : "%s ", part == 0 ? "embedding_a" : "embedding_b");
            for (int k = 0; k < dim; k++) {
                printf(o->c.json ? "%s%.9g" : "%s%.5f", k ? (o->c.json ? "," : " ") : "", v[k]);
            }
            printf(o->c.json ? "]" : "\n");
        }
        if (o->c.json) {
            printf("}\n");
        }
    }
    mien_template_free(t);
    mien_session_free(session);
    mien_engine_free(engine);
    return rc;
}

int cli_cmd_embed(int argc, char **argv)
{
    embed_args o = {.c = {.threads = 1}, .profile = MIEN_PROFILE_FAST, .face = -1};
    return cli_run_parsed(&cmd, argc, argv, &o, embed);
}
