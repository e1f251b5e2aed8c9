/* faces.c — what the face sub-commands share: loading an image, finding and
 * embedding the face a user means, printing a face. Public API only. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

mien_status cli_open_session(const cli_common *c, mien_engine **engine, mien_session **session)
{
    mien_error err;
    mien_status st = cli_open_engine(c, engine);
    *session = NULL;
    if (st != MIEN_OK) {
        return st;
    }
    st = mien_session_new(*engine, session, &err);
    if (st != MIEN_OK) {
        fprintf(stderr, "mien: cannot start a session: %s (%s)\n", err.message,
                mien_strerror(st));
        mien_engine_free(*engine);
        *engine = NULL;
    }
    return st;
}

/* Face commands decode with mien_image_options_faces (a scaled JPEG decode that keeps
 * MIEN_FACE_DECODE_MIN_SIDE pixels on the short side), unless full_size. */
mien_status cli_load_image(const char *path, bool full_size, mien_image **out)
{
    mien_image_options opt = cli_image_options();
    mien_error err;
    mien_status st;
    opt.min_side = full_size ? 0 : opt.min_side;
    st = mien_image_load(path, &opt, out, &err);
    if (st != MIEN_OK) {
        cli_error(NULL, path, st, &err);
    }
    return st;
}

mien_status cli_read_file(const char *path, uint8_t **bytes, size_t *size)
{
    size_t max_bytes = cli_image_options().max_bytes;
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;
    *bytes = NULL;
    *size = 0;
    if (f == NULL) {
        fprintf(stderr, "mien: %s: cannot open: %s\n", path, strerror(errno));
        cli_note_status(MIEN_ERR_IO);
        return MIEN_ERR_IO;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "mien: %s: cannot read: %s\n", path, strerror(errno));
        fclose(f);
        cli_note_status(MIEN_ERR_IO);
        return MIEN_ERR_IO;
    }
    if ((size_t)n > max_bytes) {
        fprintf(stderr, "mien: %s: larger than %zu bytes (raise it with $MIEN_MAX_IMAGE_BYTES)\n",
                path, max_bytes);
        fclose(f);
        cli_note_status(MIEN_ERR_IMAGE);
        return MIEN_ERR_IMAGE;
    }
    buf = malloc((size_t)n + 1);
    if (buf == NULL) {
        fprintf(stderr, "mien: %s: out of memory\n", path);
        fclose(f);
        cli_note_status(MIEN_ERR_NOMEM);
        return MIEN_ERR_NOMEM;
    }
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "mien: %s: cannot read: short read\n", path);
        free(buf);
        fclose(f);
        cli_note_status(MIEN_ERR_IO);
        return MIEN_ERR_IO;
    }
    fclose(f);
    *bytes = buf;
    *size = (size_t)n;
    return MIEN_OK;
}

/* Detects in img and embeds face face_index (-1: the most prominent); `name` for messages.
 * *found (may be NULL): the faces detected. */
static mien_status template_of_image(mien_session *s, const char *name, const mien_image *img,
                                     int face_index, mien_profile profile, mien_template **t,
                                     mien_face *face, size_t *found)
{
    mien_face_pick pick;
    mien_error err;
    mien_status st = mien_embed_face(s, img, face_index >= 0 ? face_index : MIEN_FACE_PROMINENT,
                                     profile, &pick, t, &err);
    if (found != NULL) {
        *found = pick.count;
    }
    if (st == MIEN_OK) {
        *face = pick.faces[pick.index];
    } else {
        cli_error(NULL, name, st, &err);
    }
    mien_faces_free(pick.faces);
    return st;
}

mien_status cli_template_of(mien_session *s, const char *path, int face_index,
                            mien_profile profile, mien_template **t, mien_face *face)
{
    mien_image *img = NULL;
    mien_status st = cli_load_image(path, false, &img);
    *t = NULL;
    if (st == MIEN_OK) {
        st = template_of_image(s, path, img, face_index, profile, t, face, NULL);
    }
    mien_image_free(img);
    return st;
}

mien_status cli_template_of_bytes(mien_session *s, const char *name, const uint8_t *bytes,
                                  size_t size, int face_index, mien_profile profile,
                                  mien_template **t, mien_face *face, size_t *found)
{
    mien_image_options opt = cli_image_options();
    mien_image *img = NULL;
    mien_error err;
    mien_status st;
    *t = NULL;
    st = mien_image_decode(bytes, size, &opt, &img, &err);
    if (st != MIEN_OK) {
        cli_error(NULL, name, st, &err);
        return st;
    }
    st = template_of_image(s, name, img, face_index, profile, t, face, found);
    mien_image_free(img);
    return st;
}

void cli_face_json(FILE *f, const mien_face *face)
{
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
            mien_quality_class_name(q->klass), q->interocular_px,
            q->sharpness, q->yaw, q->pitch, q->roll, q->detector_score, q->landmark_score);
}
