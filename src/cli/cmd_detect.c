/* cmd_detect.c — `mien detect IMAGE... [--small-faces] [--min-score S] [--json]`: every face
 * of every image with its box, score, five landmarks and quality. Exit 0 when every image
 * was read (faces or not), 1 when one could not be. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void print_text(const char *path, const mien_face *faces, size_t n)
{
    printf("%s: %zu face%s\n", path, n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        const mien_face *f = &faces[i];
        printf("  [%zu] box %.0f,%.0f-%.0f,%.0f  score %.3f  quality %s (eyes %.0f px, "
               "sharpness %.0f, yaw %.0f°, pitch %.0f°, roll %.0f°)\n",
               i, f->box[0], f->box[1], f->box[2], f->box[3], f->score,
               mien_quality_class_name(f->quality.klass), f->quality.interocular_px,
               f->quality.sharpness, f->quality.yaw, f->quality.pitch, f->quality.roll);
    }
}

typedef struct detect_args {
    cli_common c;
    mien_detect_options opt;
} detect_args;

/* --min-score: a detector score strictly between 0 and 1, into a float. */
static bool parse_min_score(const char *v, void *dest)
{
    char *end = NULL;
    float x = strtof(v, &end);
    if (v[0] == '\0' || *end != '\0' || !(x > 0.0f && x < 1.0f)) {
        return false;
    }
    *(float *)dest = x;
    return true;
}

static const cli_opt opts[] = {
    {"--small-faces", CLI_OPT_FLAG, offsetof(detect_args, opt.small_faces), NULL,
     .help = "also faces down to 20 px in large images (full-size decode)"},
    {"--min-score", CLI_OPT_CALL, offsetof(detect_args, opt.min_score), "S",
     .help = "the detector's score a face needs", .want = "0..1", .parse = parse_min_score},
    CLI_OPTS_END_COMMON(detect_args),
};
static const cli_command cmd = {
    "detect", "detect IMAGE... [--small-faces] [--min-score S] [--json]", opts, 1, CLI_ARGS_ANY};

int cli_cmd_detect(int argc, char **argv)
{
    detect_args o = {.c = {.threads = 1}, .opt = mien_detect_options_default()};
    mien_engine *engine = NULL;
    mien_session *session = NULL;
    mien_error err;
    char **paths = argv; /* cli_parse puts the images there */
    int n_paths, rc = cli_parse(&cmd, argc, argv, &o, &n_paths);
    if (rc != CLI_PARSED) {
        return rc;
    }
    rc = CLI_EXIT_OK;
    if (cli_open_session(&o.c, &engine, &session) != MIEN_OK) {
        return CLI_EXIT_FAIL;
    }
    for (int k = 0; k < n_paths; k++) {
        mien_image *img = NULL;
        mien_face *faces = NULL;
        size_t n = 0;
        if (cli_load_image(paths[k], o.opt.small_faces, &img) != MIEN_OK) {
            rc = CLI_EXIT_FAIL;
            continue;
        }
        mien_status st = mien_detect(session, img, &o.opt, &faces, &n, &err);
        if (st != MIEN_OK) {
            cli_error("detect", paths[k], st, &err);
            rc = CLI_EXIT_FAIL;
        } else if (o.c.json) {
            printf("{\"image\":");
            cli_json_string(stdout, paths[k]);
            printf(",\"width\":%d,\"height\":%d,\"faces\":[", mien_image_original_width(img),
                   mien_image_original_height(img));
            for (size_t i = 0; i < n; i++) {
                if (i) {
                    putchar(',');
                }
                cli_face_json(stdout, &faces[i]);
            }
            printf("]}\n");
        } else {
            print_text(paths[k], faces, n);
        }
        mien_faces_free(faces);
        mien_image_free(img);
    }
    mien_session_free(session);
    mien_engine_free(engine);
    return rc;
}
