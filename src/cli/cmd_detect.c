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

int cli_cmd_detect(int argc, char **argv)
{
    cli_common c = {.threads = 1};
    mien_detect_options opt = mien_detect_options_default();
    mien_engine *engine = NULL;
    mien_session *session = NULL;
    mien_error err;
    bool bad = false;
    int rc = CLI_EXIT_OK, n_paths = 0;
    char **paths = calloc((size_t)argc, sizeof(*paths));
    if (paths == NULL) {
        return CLI_EXIT_FAIL;
    }
    for (int i = 1; i < argc; i++) {
        if (cli_common_option(&c, argc, argv, &i, &bad)) {
            continue;
        }
        if (strcmp(argv[i], "--small-faces") == 0) {
            opt.small_faces = 1;
        } else if (strcmp(argv[i], "--min-score") == 0 && i + 1 < argc) {
            char *end = NULL;
            opt.min_score = strtof(argv[++i], &end);
            if (*end != '\0' || !(opt.min_score > 0.0f && opt.min_score < 1.0f)) {
                fprintf(stderr, "mien detect: --min-score wants 0..1, got '%s'\n", argv[i]);
                bad = true;
            }
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "mien detect: unknown option '%s'\n", argv[i]);
            bad = true;
        } else {
            paths[n_paths++] = argv[i];
        }
    }
    if (bad || n_paths == 0) {
        if (n_paths == 0 && !bad) {
            fprintf(stderr, "usage: mien detect IMAGE... [--small-faces] [--min-score S] "
                            "[--json]\n");
        }
        free(paths);
        return CLI_EXIT_USAGE;
    }
    if (cli_open_engine(&c, &engine) != MIEN_OK ||
        mien_session_new(engine, &session, &err) != MIEN_OK) {
        mien_engine_free(engine);
        free(paths);
        return CLI_EXIT_FAIL;
    }
    for (int k = 0; k < n_paths; k++) {
        mien_image *img = NULL;
        mien_face *faces = NULL;
        size_t n = 0;
        if (cli_load_image(paths[k], opt.small_faces != 0, &img) != MIEN_OK) {
            rc = CLI_EXIT_FAIL;
            continue;
        }
        if (mien_detect(session, img, &opt, &faces, &n, &err) != MIEN_OK) {
            fprintf(stderr, "mien detect: %s: %s\n", paths[k], err.message);
            rc = CLI_EXIT_FAIL;
        } else if (c.json) {
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
    free(paths);
    return rc;
}
