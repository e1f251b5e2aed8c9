/* eval_embed.c — the embedding pass of `mien eval`: every image of a list decoded, its most
 * prominent face (mien_faces_prominent: the reference's pickCentral) detected and embedded,
 * once. The engine is shared read-only; each of N pthreads opens its own session and takes
 * images from a shared atomic index, so all cores work and the order of results does not
 * depend on scheduling (results land at the image's index).
 *
 * Timing follows the reference's eval-lfw.js: one warm-up image per worker is not counted
 * (its first run of each model plans the primitives); decode is timed here around the load,
 * detect / landmarks / align / embed come from mien_session_stage_times.
 *
 * Flip averaging (`eval flip`): the decoded picture is mirrored through mien_image_from_rgb,
 * the face mirrored with it (x → w − 1 − x in pixel-centre coordinates, left and right eyes
 * and mouth corners swapped), both embedded, and each embedder's two vectors averaged and
 * renormalised. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"

/* State every worker shares. */
typedef struct pass {
    const eval_embed_job *job;
    eval_image *images; /* job->n results, written at the image's index */
    atomic_size_t next; /* the next image to take */
    atomic_size_t done; /* images finished, for the progress lines */
    double t0_ms;       /* start of the pass */
} pass;

/* One worker thread: its session (opened by the main thread) and its own sums. */
typedef struct worker {
    pass *p;
    mien_session *session;
    double decode_ms;
    size_t timed;
    mien_stage_times base; /* stage times after the warm-up */
    mien_stage_times end;  /* stage times at the end */
} worker;

/* Copies the template's vectors into v (dim_a + dim_b floats). */
static void copy_vectors(const mien_template *t, float *v)
{
    const float *x;
    int dim, off = 0;
    for (int part = 0; mien_template_vector(t, part, &x, &dim) == MIEN_OK; part++) {
        memcpy(v + off, x, (size_t)dim * sizeof(*v));
        off += dim;
    }
}

/* Sum of the template's vector sizes. */
static int vector_size(const mien_template *t)
{
    const float *x;
    int dim, total = 0;
    for (int part = 0; mien_template_vector(t, part, &x, &dim) == MIEN_OK; part++) {
        total += dim;
    }
    return total;
}

/* Embeds the mirror image of `face` in `img` and writes its vectors to v. The mirrored
 * picture lives only during the call. Returns the library's status (message in err). */
static mien_status embed_mirrored(mien_session *s, const mien_image *img, const mien_face *face,
                                  mien_profile profile, float *v, mien_error *err)
{
    static const int swap[5] = {1, 0, 2, 4, 3}; /* left ↔ right eye, mouth corners */
    int w = mien_image_width(img), h = mien_image_height(img);
    const uint8_t *px = mien_image_pixels(img);
    /* Face coordinates are in original pixels; the mirrored picture is made of the decoded
     * ones (they differ after a scaled JPEG decode). */
    double sx = (double)mien_image_original_width(img) / w;
    double sy = (double)mien_image_original_height(img) / h;
    uint8_t *buf = malloc((size_t)w * (size_t)h * 3);
    mien_image *m = NULL;
    mien_template *t = NULL;
    mien_face g = *face;
    mien_status st;
    if (buf == NULL) {
        return MIEN_ERR_NOMEM;
    }
    for (int y = 0; y < h; y++) {
        const uint8_t *src = px + (size_t)y * (size_t)w * 3;
        uint8_t *dst = buf + (size_t)y * (size_t)w * 3;
        for (int x = 0; x < w; x++) {
            memcpy(dst + (size_t)(w - 1 - x) * 3, src + (size_t)x * 3, 3);
        }
    }
    st = mien_image_from_rgb(buf, w, h, (size_t)w * 3, &m, err);
    free(buf);
    if (st != MIEN_OK) {
        return st;
    }
    g.box[0] = (float)(w - face->box[2] / sx);
    g.box[2] = (float)(w - face->box[0] / sx);
    g.box[1] = (float)(face->box[1] / sy);
    g.box[3] = (float)(face->box[3] / sy);
    for (int k = 0; k < 5; k++) {
        g.landmarks[swap[k]][0] = (float)(w - 1 - face->landmarks[k][0] / sx);
        g.landmarks[swap[k]][1] = (float)(face->landmarks[k][1] / sy);
    }
    st = mien_embed(s, m, &g, profile, &t, err);
    if (st == MIEN_OK) {
        copy_vectors(t, v);
    }
    mien_template_free(t);
    mien_image_free(m);
    return st;
}

/* v ← normalise(v + u) for each embedder's part of the template layout of t. */
static void average_parts(const mien_template *t, float *v, const float *u)
{
    const float *x;
    int dim, off = 0;
    for (int part = 0; mien_template_vector(t, part, &x, &dim) == MIEN_OK; part++) {
        double n2 = 0;
        for (int k = off; k < off + dim; k++) {
            v[k] += u[k];
            n2 += (double)v[k] * v[k];
        }
        for (int k = off; k < off + dim && n2 > 0; k++) {
            v[k] = (float)(v[k] / sqrt(n2));
        }
        off += dim;
    }
}

/* Processes image i into *out (out->status says what happened; messages on stderr). Returns
 * MIEN_ERR_NOMEM only; a picture the library refuses is a failure of that image. */
static mien_status process(worker *w, size_t i, eval_image *out)
{
    const eval_embed_job *job = w->p->job;
    const char *path = job->paths[i];
    mien_image *img = NULL;
    mien_face_pick pick = {NULL, 0, -1};
    mien_error err;
    mien_status st;
    int size;
    double t0 = mien_now_ms();
    memset(out, 0, sizeof(*out));
    out->status = EVAL_IMAGE_UNREADABLE;
    st = cli_load_image(path, false, &img); /* prints why it failed */
    w->decode_ms += mien_now_ms() - t0;
    if (st != MIEN_OK) {
        return st == MIEN_ERR_NOMEM ? st : MIEN_OK;
    }
    st = mien_embed_face(w->session, img, MIEN_FACE_PROMINENT, job->profile, &pick, &out->t,
                         &err);
    if (st == MIEN_ERR_NOT_FOUND && pick.count == 0) {
        out->status = EVAL_IMAGE_NO_FACE;
        st = MIEN_OK;
        goto done;
    }
    if (st != MIEN_OK) {
        fprintf(stderr, "mien eval: %s: %s\n", path, err.message);
        goto done;
    }
    if (pick.index >= 0 && (size_t)pick.index < pick.count) {
        out->quality = pick.faces[pick.index].quality;
    }
    size = vector_size(out->t);
    out->vec = malloc((size_t)size * sizeof(*out->vec));
    if (out->vec == NULL) {
        st = MIEN_ERR_NOMEM;
        goto done;
    }
    copy_vectors(out->t, out->vec);
    if (job->flip) {
        float *u = malloc((size_t)size * sizeof(*u));
        out->flip = malloc((size_t)size * sizeof(*out->flip));
        if (u == NULL || out->flip == NULL) {
            free(u);
            st = MIEN_ERR_NOMEM;
            goto done;
        }
        memcpy(out->flip, out->vec, (size_t)size * sizeof(*u));
        st = embed_mirrored(w->session, img, &pick.faces[pick.index], job->profile, u, &err);
        if (st == MIEN_OK) {
            average_parts(out->t, out->flip, u);
        } else {
            fprintf(stderr, "mien eval: %s (mirrored): %s\n", path, err.message);
        }
        free(u);
        if (st != MIEN_OK) {
            goto done;
        }
    }
    out->status = EVAL_IMAGE_OK;
done:
    if (out->status != EVAL_IMAGE_OK) {
        mien_template_free(out->t);
        free(out->vec);
        free(out->flip);
        out->t = NULL;
        out->vec = out->flip = NULL;
    }
    mien_faces_free(pick.faces);
    mien_image_free(img);
    return st == MIEN_ERR_NOMEM ? st : MIEN_OK;
}

static void image_release(eval_image *im)
{
    mien_template_free(im->t);
    free(im->vec);
    free(im->flip);
    memset(im, 0, sizeof(*im));
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    pass *p = w->p;
    const eval_embed_job *job = p->job;
    eval_image scratch;
    /* Warm-up, not timed: the first image plans every model's primitives. */
    if (process(w, 0, &scratch) == MIEN_OK) {
        image_release(&scratch);
    }
    w->decode_ms = 0;
    mien_session_stage_times(w->session, &w->base);
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1), done;
        if (i >= job->n) {
            break;
        }
        if (process(w, i, &p->images[i]) != MIEN_OK) {
            fprintf(stderr, "mien eval: %s: out of memory\n", job->paths[i]);
        }
        w->timed++;
        done = atomic_fetch_add(&p->done, 1) + 1;
        if (done % 1000 == 0 || done == job->n) {
            fprintf(stderr, "  %s %zu/%zu (%.0f s)\n", job->label ? job->label : "images", done,
                    job->n, (mien_now_ms() - p->t0_ms) / 1e3);
        }
    }
    mien_session_stage_times(w->session, &w->end);
    return NULL;
}

mien_status eval_embed_run(mien_engine *engine, const eval_embed_job *job,
                           eval_embed_result *res)
{
    pass p;
    worker *ws = NULL;
    pthread_t *tids = NULL;
    int nt = job->threads < 1 ? 1 : job->threads, started = 0, opened = 0;
    mien_status st = MIEN_OK;
    mien_error err;
    memset(res, 0, sizeof(*res));
    if (job->n == 0) {
        return MIEN_OK;
    }
    if ((size_t)nt > job->n) {
        nt = (int)job->n;
    }
    memset(&p, 0, sizeof(p));
    p.job = job;
    atomic_init(&p.next, 0);
    atomic_init(&p.done, 0);
    p.images = calloc(job->n, sizeof(*p.images));
    ws = calloc((size_t)nt, sizeof(*ws));
    tids = calloc((size_t)nt, sizeof(*tids));
    if (p.images == NULL || ws == NULL || tids == NULL) {
        st = MIEN_ERR_NOMEM;
        goto fail_alloc;
    }
    /* Sessions are opened here, one after the other, not concurrently in the workers. */
    for (opened = 0; opened < nt; opened++) {
        ws[opened].p = &p;
        st = mien_session_new(engine, &ws[opened].session, &err);
        if (st != MIEN_OK) {
            fprintf(stderr, "mien eval: cannot open a session: %s\n", err.message);
            goto fail_sessions;
        }
    }
    p.t0_ms = mien_now_ms();
    for (started = 0; started < nt; started++) {
        if (pthread_create(&tids[started], NULL, worker_main, &ws[started]) != 0) {
            break;
        }
    }
    if (started == 0) {
        fprintf(stderr, "mien eval: cannot start a worker thread\n");
        st = MIEN_ERR_INTERNAL;
        goto fail_sessions;
    }
    for (int k = 0; k < started; k++) {
        pthread_join(tids[k], NULL);
    }
    res->wall_s = (mien_now_ms() - p.t0_ms) / 1e3;
    res->images = p.images;
    res->n = job->n;
    res->threads = started;
    for (int k = 0; k < started; k++) {
        const worker *w = &ws[k];
        res->decode_ms += w->decode_ms;
        res->detect_ms += w->end.detect_ms - w->base.detect_ms;
        res->landmarks_ms += w->end.landmarks_ms - w->base.landmarks_ms;
        res->align_ms += w->end.align_ms - w->base.align_ms;
        res->embed_ms += w->end.embed_ms - w->base.embed_ms;
        res->timed_images += w->timed;
    }
    for (size_t i = 0; i < job->n; i++) {
        const eval_image *im = &p.images[i];
        if (im->status == EVAL_IMAGE_NO_FACE) {
            res->no_face++;
        } else if (im->status == EVAL_IMAGE_UNREADABLE) {
            res->unreadable++;
        } else if (res->dim_a == 0) {
            const float *x;
            mien_template_vector(im->t, 0, &x, &res->dim_a);
            if (mien_template_vector(im->t, 1, &x, &res->dim_b) != MIEN_OK) {
                res->dim_b = 0;
            }
        }
    }
    p.images = NULL; /* now the result's */
fail_sessions:
    for (int k = opened - 1; k >= 0; k--) {
        mien_session_free(ws[k].session);
    }
fail_alloc:
    free(tids);
    free(ws);
    free(p.images);
    return st;
}

void eval_embed_result_free(eval_embed_result *res)
{
    if (res == NULL) {
        return;
    }
    for (size_t i = 0; res->images != NULL && i < res->n; i++) {
        image_release(&res->images[i]);
    }
    free(res->images);
    memset(res, 0, sizeof(*res));
}
