/* cmd_detect.c — `mien detect IMAGE|DIR... [--small-faces] [--min-score S] [--draw OUT]
 * [--json]`: every face of every image (a folder: every image under it, sorted) with its box,
 * score, five landmarks and quality; --draw writes the picture with them drawn (OUT.jpg or
 * OUT.png for one image, a folder for several). A bar on stderr when it is a terminal and
 * there are more than a few images. Exit 0 when every image was read (faces or not), 1 when
 * one could not be (or its picture could not be written), 2 bad usage. */
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
    const char *draw;
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
    {"--draw", CLI_OPT_STRING, offsetof(detect_args, draw), "OUT",
     .help = "the picture with its faces drawn: OUT.jpg, OUT.png, or DIR/ for one each"},
    CLI_OPTS_END_COMMON(detect_args),
};
static const cli_command cmd = {
    "detect", "detect IMAGE|DIR... [--small-faces] [--min-score S] [--draw OUT] [--json]", opts,
    1, CLI_ARGS_ANY};

static void print_json(const char *path, const mien_image *img, const mien_face *faces,
                       size_t n)
{
    printf("{\"image\":");
    cli_json_string(stdout, path);
    printf(",\"width\":%d,\"height\":%d,\"faces\":[", mien_image_original_width(img),
           mien_image_original_height(img));
    for (size_t i = 0; i < n; i++) {
        if (i) {
            putchar(',');
        }
        cli_face_json(stdout, &faces[i]);
    }
    printf("]}\n");
}

/* Writes the picture of `path` with its faces numbered as printed, "[i] score", at the
 * input's size (cli_draw_faces_full). */
static bool draw(cli_draw_target *d, const char *path, const mien_image *img,
                 const mien_face *faces, size_t n)
{
    char out[4096], (*text)[32] = calloc(n ? n : 1, sizeof(*text));
    const char **labels = calloc(n ? n : 1, sizeof(*labels));
    mien_error err;
    bool ok = false;
    if (text == NULL || labels == NULL) {
        fprintf(stderr, "mien detect: out of memory\n");
    } else {
        for (size_t i = 0; i < n; i++) {
            snprintf(text[i], sizeof(text[i]), "[%zu] %.2f", i, faces[i].score);
            labels[i] = text[i];
        }
        ok = cli_draw_target_path(d, path, out, sizeof(out), &err) == MIEN_OK &&
             cli_draw_faces_full(path, img, faces, n, labels, out, &err) == MIEN_OK;
        if (!ok) {
            fprintf(stderr, "mien detect: %s\n", err.message);
        }
    }
    free(labels);
    free(text);
    return ok;
}

/* Detects (and draws) in one image, printing its faces. False when it failed (printed). */
static bool detect_one(const detect_args *o, mien_session *session, cli_draw_target *d,
                       const char *path, cli_progress *pr)
{
    mien_image *img = NULL;
    mien_face *faces = NULL;
    size_t n = 0;
    mien_error err;
    bool ok = false;
    if (cli_load_image(path, o->opt.small_faces, &img) != MIEN_OK) {
        goto done;
    }
    mien_status st = mien_detect(session, img, &o->opt, &faces, &n, &err);
    if (st != MIEN_OK) {
        cli_error("detect", path, st, &err);
        goto done;
    }
    cli_progress_hide(pr);
    if (o->c.json) {
        print_json(path, img, faces, n);
    } else {
        print_text(path, faces, n);
    }
    fflush(stdout);
    ok = o->draw == NULL || draw(d, path, img, faces, n);
done:
    cli_progress_step(pr, n);
    mien_faces_free(faces);
    mien_image_free(img);
    return ok;
}

int cli_cmd_detect(int argc, char **argv)
{
    detect_args o = {.c = {.threads = 1}, .opt = mien_detect_options_default()};
    mien_engine *engine = NULL;
    mien_session *session = NULL;
    cli_paths paths = {0};
    cli_draw_target d = {0};
    cli_progress pr;
    mien_error err;
    int n_args, rc = cli_parse(&cmd, argc, argv, &o, &n_args);
    if (rc != CLI_PARSED) {
        return rc;
    }
    rc = cli_paths_expand("detect", argv, n_args, &paths); /* cli_parse put them in argv */
    if (rc != CLI_PARSED) {
        goto done;
    }
    if (o.draw != NULL && cli_draw_target_open(&d, o.draw, paths.n, &err) != MIEN_OK) {
        fprintf(stderr, "mien detect: %s\n", err.message);
        rc = err.code == MIEN_ERR_ARG ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
        goto done;
    }
    rc = CLI_EXIT_FAIL;
    if (cli_open_session(&o.c, &engine, &session) != MIEN_OK) {
        goto done;
    }
    rc = CLI_EXIT_OK;
    cli_progress_start(&pr, paths.n, "faces", o.c.json);
    for (size_t k = 0; k < paths.n; k++) {
        if (!detect_one(&o, session, &d, paths.p[k], &pr)) {
            rc = CLI_EXIT_FAIL;
        }
    }
    cli_progress_end(&pr);
done:
    mien_session_free(session);
    mien_engine_free(engine);
    cli_draw_target_close(&d);
    cli_paths_free(&paths);
    return rc;
}
