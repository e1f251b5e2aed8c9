/* service.h — the library calls both HTTP APIs make (the native routes, api.c, and the
 * Rekognition-compatible ones, rekognition.c), each timed into the server's metrics one way:
 * inference by the library's own stage clock (mien_session_stage_times), store calls under
 * the store mutex by the wall clock around them. Replies stay with each API: they differ in
 * shape, not in what they run. */
#ifndef MIEN_SERVER_SERVICE_H
#define MIEN_SERVER_SERVICE_H

#include "internal.h"

/* Monotonic seconds (mien_now_ms), for request deadlines and store timings. */
static inline double srv_now_s(void)
{
    return mien_now_ms() / 1e3;
}

/* Runs `call`, a library call on srv->store, under the store mutex (one handle: one call at
 * a time), its status into st. */
#define SRV_LOCKED(srv, st, call)                  \
    do {                                           \
        pthread_mutex_lock(&(srv)->store_lock);    \
        (st) = (call);                             \
        pthread_mutex_unlock(&(srv)->store_lock);  \
    } while (0)

/* Decodes an upload (mien_image_options_faces, at most cfg.max_body bytes), timed as
 * "decode". *out owned by the caller: mien_image_free(). */
mien_status srv_decode(server *srv, const uint8_t *bytes, size_t len, mien_image **out,
                       mien_error *err);

/* mien_detect, timed as "detect". */
mien_status srv_detect(server *srv, mien_session *s, const mien_image *img,
                       const mien_detect_options *opt, mien_face **faces, size_t *n,
                       mien_error *err);

/* mien_embed of one face, timed as "embed". */
mien_status srv_embed(server *srv, mien_session *s, const mien_image *img, const mien_face *face,
                      mien_profile profile, mien_template **out, mien_error *err);

/* mien_face_find (detect, choose), timed as "detect". The caller frees pick->faces in every
 * case. */
mien_status srv_face_find(server *srv, mien_session *s, const mien_image *img, int choice,
                          mien_face_pick *pick, mien_error *err);

/* mien_embed_face (detect, choose, embed), timed as "detect" and "embed". The caller frees
 * pick->faces in every case. */
mien_status srv_embed_face(server *srv, mien_session *s, const mien_image *img, int choice,
                           mien_profile profile, mien_face_pick *pick, mien_template **out,
                           mien_error *err);

/* mien_enroll, mien_search and mien_verify under the store mutex, timed as "store", "search"
 * and "verify". */
mien_status srv_enroll(server *srv, const char *collection, const mien_enrollment *e,
                       const mien_context *ctx, int64_t *face_id, mien_error *err);
mien_status srv_search(server *srv, const char *collection, const mien_template *probe,
                       const mien_search_options *opt, const mien_context *ctx,
                       mien_search_result *out, mien_error *err);
/* mien_search_subject under the store mutex, timed as "search". */
mien_status srv_search_subject(server *srv, const char *collection, const char *subject,
                               const mien_search_options *opt, const mien_context *ctx,
                               mien_search_result *out, mien_error *err);
mien_status srv_verify(server *srv, const char *collection, const char *subject,
                       const mien_template *probe, double max_fmr, const mien_context *ctx,
                       mien_verification *out, mien_error *err);

/* mien_group (no store), timed as "group"; mien_group_faces under the store mutex, timed
 * as "group" too. */
mien_status srv_group(server *srv, const mien_template *const *t, size_t n,
                      const mien_group_options *opt, mien_grouping *out, mien_error *err);
mien_status srv_group_faces(server *srv, const char *collection, const int64_t *face_ids,
                            size_t n, const mien_group_options *opt, const mien_context *ctx,
                            mien_grouping *out, mien_error *err);

#endif
