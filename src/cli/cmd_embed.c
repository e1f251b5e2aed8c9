/* cmd_embed.c — `mien embed IMAGE|DIR... [--profile fast|accurate] [--face N] [--json]`: the
 * template of the most prominent face (largest and most central), or of face N as
 * `mien detect` numbers them, of each image (a folder: every image under it, sorted; one
 * JSON line each). Exit 1 when one image failed, after the others. JSON prints each float with 9 significant digits, enough to
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
    "embed", "embed IMAGE|DIR... [--profile fast|accurate] [--face N] [--json]", opts, 1,
    CLI_ARGS_ANY};

/* Prints the template of face --face in the image at `path`. False when it failed (printed). */
static bool embed_one(const embed_args *o, mien_session *session, const char *path)
{
    mien_template *t = NULL;
    mien_face face;
    bool ok = false;
    if (cli_template_of(session, path, o->face, o->profile, &t, &face) == MIEN_OK) {
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
        fflush(stdout);
        ok = true;
    }
    mien_template_free(t);
    return ok;
}

/* Embeds every image of pos (folders expanded), with a bar on a terminal. */
static int embed(void *args, char **pos, int n_pos)
{
    const embed_args *o = args;
    mien_engine *engine = NULL;
    mien_session *session = NULL;
    cli_paths paths = {0};
    cli_progress pr;
    int rc = cli_paths_expand("embed", pos, n_pos, &paths);
    if (rc != CLI_PARSED) {
        cli_paths_free(&paths);
        return rc;
    }
    if (cli_open_session(&o->c, &engine, &session) != MIEN_OK) {
        cli_paths_free(&paths);
        return CLI_EXIT_FAIL;
    }
    rc = CLI_EXIT_OK;
    cli_progress_start(&pr, paths.n, "faces", o->c.json);
    for (size_t k = 0; k < paths.n; k++) {
        cli_progress_hide(&pr);
        if (!embed_one(o, session, paths.p[k])) {
            rc = CLI_EXIT_FAIL;
        }
        cli_progress_step(&pr, 1);
    }
    cli_progress_end(&pr);
    mien_session_free(session);
    mien_engine_free(engine);
    cli_paths_free(&paths);
    return rc;
}

int cli_cmd_embed(int argc, char **argv)
{
    embed_args o = {.c = {.threads = 1}, .profile = MIEN_PROFILE_FAST, .face = -1};
    return cli_run_parsed(&cmd, argc, argv, &o, embed);
}
