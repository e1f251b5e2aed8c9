/* faces.c — what the face sub-commands share: profiles, loading an image, finding and
 * embedding the face a user means, printing a face. Public API only. */
#include <string.h>

#include "cli.h"

bool cli_parse_profile(const char *s, mien_profile *out)
{
    if (s != NULL && strcmp(s, "fast") == 0) {
        *out = MIEN_PROFILE_FAST;
        return true;
    }
    if (s != NULL && strcmp(s, "accurate") == 0) {
        *out = MIEN_PROFILE_ACCURATE;
        return true;
    }
    return false;
}

const char *cli_profile_name(mien_profile p)
{
    return p == MIEN_PROFILE_ACCURATE ? "accurate" : "fast";
}

/* A scaled JPEG decode keeps at least this many pixels on the short side: detection runs at
 * 320×240 anyway, and a face the detector can find in a big photo (>= ~1/30 of its width)
 * keeps enough pixels for the 112×112 chip. */
#define CLI_DECODE_MIN_SIDE 1200

mien_status cli_load_image(const char *path, bool full_size, mien_image **out)
{
    mien_image_options opt = mien_image_options_default();
    mien_error err;
    mien_status st;
    opt.min_side = full_size ? 0 : CLI_DECODE_MIN_SIDE;
    st = mien_image_load(path, &opt, out, &err);
    if (st != MIEN_OK) {
        fprintf(stderr, "mien: %s: %s\n", path, err.message);
    }
    return st;
}

mien_status cli_template_of(mien_session *s, const char *path, int face_index,
                            mien_profile profile, mien_template **t, mien_face *face)
{
    mien_image *img = NULL;
    mien_face *faces = NULL;
    size_t n = 0;
    mien_error err;
    mien_status st = cli_load_image(path, false, &img);
    int pick;
    *t = NULL;
    if (st != MIEN_OK) {
        return st;
    }
    st = mien_detect(s, img, NULL, &faces, &n, &err);
    if (st != MIEN_OK) {
        fprintf(stderr, "mien: %s: %s\n", path, err.message);
        goto done;
    }
    if (n == 0) {
        fprintf(stderr, "mien: %s: no face found\n", path);
        st = MIEN_ERR_NOT_FOUND;
        goto done;
    }
    pick = face_index >= 0 ? face_index : mien_faces_prominent(faces, n, img);
    if (pick < 0 || (size_t)pick >= n) {
        fprintf(stderr, "mien: %s: no face %d (found %zu)\n", path, face_index, n);
        st = MIEN_ERR_NOT_FOUND;
        goto done;
    }
    *face = faces[pick];
    st = mien_embed(s, img, &faces[pick], profile, t, &err);
    if (st != MIEN_OK) {
        fprintf(stderr, "mien: %s: %s\n", path, err.message);
    }
done:
    mien_faces_free(faces);
    mien_image_free(img);
    return st;
}

void cli_face_json(FILE *f, const mien_face *face)
{
    static const char *const classes[] = {"low", "medium", "high"};
    const mien_quality *q = &face->quality;
    fprintf(f, "{\"box\":[%.1f,%.1f,%.1f,%.1f],\"score\":%.4f,\"landmarks\":[", face->box[0],
            face->box[1], face->box[2], face->box[3], face->score);
    for (int j = 0; j < 5; j++) {
        fprintf(f, "%s[%.1f,%.1f]", j ? "," : "", face->landmarks[j][0], face->landmarks[j][1]);
    }
    fprintf(f,
            "],\"quality\":{\"class\":\"%s\",\"interocular_px\":%.1f,\"sharpness\":%.1f,"
            "\"yaw\":%.1f,\"pitch\":%.1f,\"roll\":%.1f,\"detector_score\":%.4f,"
            "\"landmark_score\":%.4f}}",
            classes[q->klass <= MIEN_QUALITY_HIGH ? q->klass : 0], q->interocular_px,
            q->sharpness, q->yaw, q->pitch, q->roll, q->detector_score, q->landmark_score);
}
