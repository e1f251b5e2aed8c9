/* service.c — the timed library calls of both HTTP APIs (service.h says why one place).
 *
 * Inference time comes from the session's stage clock, the library's own measurement of
 * its stages, read before and after each call: "detect" is the detector and O-Net, "embed"
 * the alignment and the embedders. A plain detect also counts its quality chips' alignment
 * as "detect" (what the caller waited for). The stages a call did not reach (no face found:
 * no embedding) are not observed. A session belongs to one worker, so the two readings
 * bracket exactly this call. */
#include "service.h"

/* The stage clock of s now (zeros when it cannot be read: a NULL session, refused below). */
static mien_stage_times stage_clock(const mien_session *s)
{
    mien_stage_times t;
    mien_session_stage_times(s, &t);
    return t;
}

/* Observes what a call spent between clock readings a and b. */
static void observe_stages(server *srv, const mien_stage_times *a, const mien_stage_times *b,
                           bool align_is_detect)
{
    double detect = (b->detect_ms - a->detect_ms) + (b->landmarks_ms - a->landmarks_ms);
    double embed = b->embed_ms - a->embed_ms, align = b->align_ms - a->align_ms;
    if (align_is_detect) {
        detect += align;
    } else {
        embed += align;
    }
    if (b->images > a->images) {
        srv_metrics_inference(srv->metrics, "detect", detect / 1e3);
    }
    if (b->faces_embedded > a->faces_embedded) {
        srv_metrics_inference(srv->metrics, "embed", embed / 1e3);
    }
}

mien_status srv_decode(server *srv, const uint8_t *bytes, size_t len, mien_image **out,
                       mien_error *err)
{
    mien_image_options io = mien_image_options_faces();
    double t0 = mien_now_ms();
    mien_status st;
    io.max_bytes = srv->cfg.max_body;
    st = mien_image_decode(bytes, len, &io, out, err);
    srv_metrics_inference(srv->metrics, "decode", (mien_now_ms() - t0) / 1e3);
    return st;
}

mien_status srv_detect(server *srv, mien_session *s, const mien_image *img,
                       const mien_detect_options *opt, mien_face **faces, size_t *n,
                       mien_error *err)
{
    mien_stage_times a = stage_clock(s), b;
    mien_status st = mien_detect(s, img, opt, faces, n, err);
    b = stage_clock(s);
    observe_stages(srv, &a, &b, true);
    return st;
}

mien_status srv_embed(server *srv, mien_session *s, const mien_image *img, const mien_face *face,
                      mien_profile profile, mien_template **out, mien_error *err)
{
    mien_stage_times a = stage_clock(s), b;
    mien_status st = mien_embed(s, img, face, profile, out, err);
    b = stage_clock(s);
    observe_stages(srv, &a, &b, false);
    return st;
}

mien_status srv_face_find(server *srv, mien_session *s, const mien_image *img, int choice,
                          mien_face_pick *pick, mien_error *err)
{
    mien_stage_times a = stage_clock(s), b;
    mien_status st = mien_face_find(s, img, choice, pick, err);
    b = stage_clock(s);
    observe_stages(srv, &a, &b, true);
    return st;
}

mien_status srv_embed_face(server *srv, mien_session *s, const mien_image *img, int choice,
                           mien_profile profile, mien_face_pick *pick, mien_template **out,
                           mien_error *err)
{
    mien_stage_times a = stage_clock(s), b;
    mien_status st = mien_embed_face(s, img, choice, profile, pick, out, err);
    b = stage_clock(s);
    observe_stages(srv, &a, &b, false);
    return st;
}

/* The store calls: one handle, so one call at a time; the time includes the wait for the
 * mutex (what the request spent on the store). */
#define UNDER_STORE_LOCK(srv, stage, call)                                           \
    do {                                                                             \
        double t0_ = mien_now_ms();                                                  \
        SRV_LOCKED(srv, st, call);                                                   \
        srv_metrics_inference((srv)->metrics, (stage), (mien_now_ms() - t0_) / 1e3); \
    } while (0)

mien_status srv_enroll(server *srv, const char *collection, const mien_enrollment *e,
                       const mien_context *ctx, int64_t *face_id, mien_error *err)
{
    mien_status st;
    UNDER_STORE_LOCK(srv, "store", mien_enroll(srv->store, collection, e, ctx, face_id, err));
    return st;
}

mien_status srv_search(server *srv, const char *collection, const mien_template *probe,
                       const mien_search_options *opt, const mien_context *ctx,
                       mien_search_result *out, mien_error *err)
{
    mien_status st;
    UNDER_STORE_LOCK(srv, "search",
                     mien_search(srv->store, collection, probe, opt, ctx, out, err));
    return st;
}

mien_status srv_search_subject(server *srv, const char *collection, const char *subject,
                               const mien_search_options *opt, const mien_context *ctx,
                               mien_search_result *out, mien_error *err)
{
    mien_status st;
    UNDER_STORE_LOCK(srv, "search",
                     mien_search_subject(srv->store, collection, subject, opt, ctx, out, err));
    return st;
}

mien_status srv_verify(server *srv, const char *collection, const char *subject,
                       const mien_template *probe, double max_fmr, const mien_context *ctx,
                       mien_verification *out, mien_error *err)
{
    mien_status st;
    UNDER_STORE_LOCK(srv, "verify",
                     mien_verify(srv->store, collection, subject, probe, max_fmr, ctx, out, err));
    return st;
}

mien_status srv_group(server *srv, const mien_template *const *t, size_t n,
                      const mien_group_options *opt, mien_grouping *out, mien_error *err)
{
    double t0 = mien_now_ms();
    mien_status st = mien_group(t, n, opt, out, err);
    srv_metrics_inference(srv->metrics, "group", (mien_now_ms() - t0) / 1e3);
    return st;
}

mien_status srv_group_faces(server *srv, const char *collection, const int64_t *face_ids,
                            size_t n, const mien_group_options *opt, const mien_context *ctx,
                            mien_grouping *out, mien_error *err)
{
    mien_status st;
    UNDER_STORE_LOCK(srv, "group",
                     mien_group_faces(srv->store, collection, face_ids, n, opt, ctx, out, err));
    return st;
}
