/* hello.c — libmien in 80 lines: detect the faces of two photos, embed the most prominent
 * face of each, compare them, and say what the similarity means.
 *
 *     cc hello.c $(pkg-config --cflags --libs mien) -o hello
 *     ./hello /usr/share/mien/models a.jpg b.jpg
 *
 * Built against the installed library by tests/install/test_install.sh. */
#include <stdio.h>

#include <mien.h>

/* Detects every face of `path` (printing them), then embeds the most prominent one. */
static mien_status face_of(mien_session *session, const char *path, mien_template **out,
                           mien_error *err)
{
    mien_image_options io = mien_image_options_faces();
    mien_detect_options dopt = mien_detect_options_default();
    mien_image *image = NULL;
    mien_face *faces = NULL;
    size_t count = 0;
    mien_status st = mien_image_load(path, &io, &image, err);
    if (st == MIEN_OK) {
        st = mien_detect(session, image, &dopt, &faces, &count, err);
    }
    if (st == MIEN_OK) {
        int best = mien_faces_prominent(faces, count, image);
        printf("%s: %zu face%s\n", path, count, count == 1 ? "" : "s");
        for (size_t k = 0; k < count; k++) {
            printf("  face %zu: box %.0f,%.0f-%.0f,%.0f score %.2f%s\n", k, faces[k].box[0],
                   faces[k].box[1], faces[k].box[2], faces[k].box[3], faces[k].score,
                   (int)k == best ? " (compared)" : "");
        }
        st = best < 0 ? MIEN_ERR_NOT_FOUND
                      : mien_embed(session, image, &faces[best], MIEN_PROFILE_FAST, out, err);
        if (best < 0) {
            snprintf(err->message, sizeof(err->message), "%s: no face found", path);
        }
    }
    mien_faces_free(faces);
    mien_image_free(image);
    return st;
}

int main(int argc, char **argv)
{
    mien_engine_options opt = mien_engine_options_default();
    mien_engine *engine = NULL;
    mien_session *session = NULL;
    mien_template *a = NULL, *b = NULL;
    mien_error err = {0};
    float similarity = 0.0f, threshold = 0.0f;
    double fmr = 1.0;
    int rc = 1;
    if (argc != 4) {
        fprintf(stderr, "usage: hello MODELS_DIR IMAGE_A IMAGE_B\n");
        return 2;
    }
    opt.models_dir = argv[1]; /* the library reads no environment: the caller says where */
    if (mien_engine_new(&opt, &engine, &err) == MIEN_OK &&
        mien_session_new(engine, &session, &err) == MIEN_OK &&
        face_of(session, argv[2], &a, &err) == MIEN_OK &&
        face_of(session, argv[3], &b, &err) == MIEN_OK &&
        mien_template_compare(a, b, &similarity, &err) == MIEN_OK &&
        mien_similarity_fmr(MIEN_PROFILE_FAST, similarity, &fmr) == MIEN_OK &&
        mien_threshold_for_fmr(MIEN_PROFILE_FAST, 1e-3, &threshold) == MIEN_OK) {
        /* the decision at a false-match rate of 1 in 1,000, as `mien compare` makes it */
        printf("similarity %.3f, false-match rate %.2g: %s\n", similarity, fmr,
               similarity >= threshold ? "same person" : "different people");
        rc = 0;
    } else {
        fprintf(stderr, "hello: %s\n", err.message);
    }
    mien_template_free(a);
    mien_template_free(b);
    mien_session_free(session);
    mien_engine_free(engine);
    return rc;
}
