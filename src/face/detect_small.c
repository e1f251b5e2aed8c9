/* detect_small.c — faces down to 20 px in large pictures (mien_detect_options.small_faces).
 *
 * The normal pass (detect.c) sees the whole picture resized to UltraFace's 320×240 input, so
 * a face smaller than about 20 detector pixels — 125 px in a 2000-px photo, 30 px in a 500-px
 * one — is lost. Two remedies were implemented and measured on dlib's 9 annotated VOC photos
 * and synthetic large pictures (docs/detection.md has the numbers and the choice):
 *
 *  (a) tiling: UltraFace over overlapping 320×240 tiles of a pyramid of the picture whose
 *      finest level is native resolution (2× for small pictures), each level responsible for
 *      the faces the next coarser one sees too small; face_detect_tiles.
 *  (b) the MTCNN cascade (Zhang et al., "Joint Face Detection and Alignment using Multi-task
 *      Cascaded Convolutional Networks", 2016): P-Net over an image pyramid (factor 0.709,
 *      minimum face 20 px), R-Net on the candidates; face_detect_mtcnn. The boxes then go to
 *      O-Net for landmarks like every other box (pipeline.c).
 *
 * Both are bounded: the pyramid's finest level is lowered until the total input stays under
 * a pixel budget, so a 40-Mpx photo costs about what a 3-Mpx one does (the smallest face
 * found grows instead).
 *
 * MTCNN's weights come from the authors' Caffe models, which were trained on transposed
 * (column-major, MATLAB) images: P-Net and R-Net are fed the transposed image, exactly like
 * O-Net (landmarks.c); tensor row = image x. test_detect_small.c checks the orientation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "face/catalog.h"
#include "face/face.h"
#include "face/session.h"

/* ---- shared --------------------------------------------------------------------------------- */

/* Appends a box to a growable list. */
static mien_status push_box(face_box **list, size_t *n, size_t *cap, const float box[4],
                            float score, mien_error *err)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 64;
        face_box *grown = realloc(*list, c * sizeof(*grown));
        if (grown == NULL) {
            return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
        }
        *list = grown;
        *cap = c;
    }
    memcpy((*list)[*n].box, box, sizeof((*list)[*n].box));
    (*list)[*n].score = score;
    (*n)++;
    return MIEN_OK;
}

/* ---- (a) tiled UltraFace ----------------------------------------------------------------- */

#define TILE_W 320        /* UltraFace's input, fr_detect.onnx [1,3,240,320] (detect.c) */
#define TILE_H 240
/* Overlap of neighbouring tiles, in level pixels: a level is responsible for faces up to
 * twice the smallest it finds (TILE_MIN_FACE; larger ones are the next level's), and every
 * face no larger than the overlap lies whole inside some tile. 64 leaves a margin for boxes
 * larger than the face. */
#define TILE_OVERLAP 64
#define TILE_MIN_FACE 20  /* smallest face (level px) trusted at a level: UltraFace's anchors
                             start at 10 px (min_boxes {10,16,24}), recall drops below ~20 */
/* A detection within this many pixels of an inner tile edge may be a cut face; the
 * neighbouring tile sees it whole. */
#define TILE_EDGE 2
/* Budget of detector input over all levels (pixels; 40 tiles ≈ 4 G multiply-adds). */
#define TILE_MAX_PIXELS 3000000.0
/* A picture whose shorter side is below this is tiled at 2× (faces of 20 px become 40). */
#define TILE_UPSAMPLE_BELOW 720

/* Runs UltraFace on the region [x0, x0+rw) × [y0, y0+rh) of `img` (may reach outside: black)
 * resized to 320×240, and appends boxes with score >= min_score that do not touch an inner
 * edge of the region (edges on the picture's border are kept). */
static mien_status tile_pass(mien_session *s, const image_rgb *img, double x0, double y0,
                             double rw, double rh, float min_score, float *x, face_box **list,
                             size_t *n, size_t *cap, mien_error *err)
{
    static const int64_t dims[4] = {1, 3, TILE_H, TILE_W};
    image_rgb crop = {0}, small = {0};
    const float *scores, *boxes;
    nn_shape shape;
    mien_status st;
    int cx = (int)floor(x0), cy = (int)floor(y0);
    int cw = (int)ceil(x0 + rw) - cx, ch = (int)ceil(y0 + rh) - cy;
    if ((st = image_alloc(&crop, cw, ch, err)) != MIEN_OK) {
        return st;
    }
    if ((st = image_alloc(&small, TILE_W, TILE_H, err)) != MIEN_OK) {
        image_release(&crop);
        return st;
    }
    image_crop(img, cx, cy, &crop);
    image_resize_bilinear(&crop, &small);
    image_release(&crop);
    face_input_tensor(FACE_MODEL_DETECTOR, &small, FACE_LAYOUT_CHW, x);
    image_release(&small);
    if ((st = face_run_model(s, FACE_MODEL_DETECTOR, x, dims, 4, err)) != MIEN_OK) {
        return st;
    }
    scores = face_model_output(s, FACE_MODEL_DETECTOR, 0, &shape);
    boxes = face_model_output(s, FACE_MODEL_DETECTOR, 1, NULL);
    if (scores == NULL || boxes == NULL) {
        return base_error_set(err, MIEN_ERR_INTERNAL, "detector produced no output");
    }
    for (int64_t i = 0; i < shape.dims[1] && st == MIEN_OK; i++) {
        const float *b = boxes + 4 * i;
        float box[4];
        double ex = TILE_EDGE / (double)TILE_W, ey = TILE_EDGE / (double)TILE_H;
        bool cut = (b[0] < ex && cx > 0) || (b[1] < ey && cy > 0) ||
                   (b[2] > 1 - ex && cx + cw < img->w) || (b[3] > 1 - ey && cy + ch < img->h);
        if (scores[2 * i + 1] < min_score || cut) {
            continue;
        }
        box[0] = (float)(cx + b[0] * cw);
        box[1] = (float)(cy + b[1] * ch);
        box[2] = (float)(cx + b[2] * cw);
        box[3] = (float)(cy + b[3] * ch);
        st = push_box(list, n, cap, box, scores[2 * i + 1], err);
    }
    return st;
}

/* Start offsets of tiles of `tile` pixels with `overlap` covering [0, len): evenly spread,
 * the last one flush with the end. Returns the count (>= 1). */
static int tile_count(double len, double tile, double overlap)
{
    if (len <= tile) {
        return 1;
    }
    return 1 + (int)ceil((len - tile) / (tile - overlap));
}

mien_status face_detect_tiles(mien_session *s, const image_rgb *img, float min_score,
                              face_box **out, size_t *n, mien_error *err)
{
    face_box *list = NULL;
    size_t count = 0, cap = 0;
    float *x = NULL;
    mien_status st = MIEN_OK;
    double top, pixels = 0;
    int levels = 0;
    *out = NULL;
    *n = 0;
    /* Levels: scale top, top/2, top/4, ... while the level is larger than about one frame
     * (the whole-image pass covers the rest). The finest scale is lowered until the total
     * input fits the budget. */
    top = (img->w < TILE_UPSAMPLE_BELOW || img->h < TILE_UPSAMPLE_BELOW) ? 2.0 : 1.0;
    for (;;) {
        pixels = 0;
        levels = 0;
        for (double sc = top; img->w * sc > 1.5 * TILE_W || img->h * sc > 1.5 * TILE_H;
             sc /= 2) {
            double lw = img->w * sc, lh = img->h * sc;
            pixels += (double)tile_count(lw, TILE_W, TILE_OVERLAP) *
                      tile_count(lh, TILE_H, TILE_OVERLAP) * TILE_W * TILE_H;
            levels++;
        }
        if (pixels <= TILE_MAX_PIXELS || levels == 0) {
            break;
        }
        top *= 0.8;
    }
    if (levels == 0) {
        return MIEN_OK;
    }
    x = malloc((size_t)TILE_W * TILE_H * 3 * sizeof(*x));
    if (x == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    for (int l = 0; l < levels && st == MIEN_OK; l++) {
        double sc = top / (double)(1 << l);
        double lw = img->w * sc, lh = img->h * sc;
        int nx = tile_count(lw, TILE_W, TILE_OVERLAP), ny = tile_count(lh, TILE_H, TILE_OVERLAP);
        for (int ty = 0; ty < ny && st == MIEN_OK; ty++) {
            for (int tx = 0; tx < nx && st == MIEN_OK; tx++) {
                /* tile origin in level pixels: spread evenly, last flush with the end */
                double ox = nx == 1 ? 0 : (lw - TILE_W) * tx / (nx - 1);
                double oy = ny == 1 ? 0 : (lh - TILE_H) * ty / (ny - 1);
                if (lw < TILE_W) {
                    ox = 0;
                }
                if (lh < TILE_H) {
                    oy = 0;
                }
                st = tile_pass(s, img, ox / sc, oy / sc, TILE_W / sc, TILE_H / sc, min_score,
                               x, &list, &count, &cap, err);
            }
        }
    }
    free(x);
    if (st != MIEN_OK) {
        free(list);
        return st;
    }
    count = face_nms(list, count, 0.4f);
    if (count == 0) {
        free(list);
        list = NULL;
    }
    *out = list;
    *n = count;
    return MIEN_OK;
}

/* ---- (b) MTCNN P-Net + R-Net ------------------------------------------------------------- */

#define MTCNN_FACTOR 0.709f    /* pyramid factor (Zhang et al. 2016; facenet detect_face) */
#define MTCNN_MIN_FACE 20.0f   /* minimum face side, pixels (DESIGN.md §4) */
#define PNET_CELL 12           /* P-Net's receptive field: a 12×12 window ... */
#define PNET_STRIDE 2          /* ... every 2 pixels (generateBoundingBox) */
#define PNET_THRESHOLD 0.6f    /* MTCNN thresholds 0.6 / 0.7 / 0.7 (DESIGN.md §4) */
#define RNET_THRESHOLD 0.7f
#define PNET_NMS_SCALE 0.5f    /* facenet detect_face: NMS 0.5 per scale, 0.7 over all */
#define PNET_NMS_ALL 0.7f
#define RNET_NMS 0.7f
#define SMALL_MERGE_IOU 0.4f   /* detect.c's NMS threshold (fr_detect.js nms_threshold) */
#define SMALL_MERGE_INSIDE 0.5f /* a box half inside another is the same face (overlaps()) */
#define RNET_SIDE 24           /* R-Net input 24×24×3 */
#define RNET_BATCH 32          /* patches per R-Net run (the last batch is zero-padded) */
/* Budget of P-Net input over the whole pyramid (pixels; ≈ 2 × the finest level since
 * 0.709² ≈ 1/2). 3 Mpx: a 12-Mpx picture in 0.4 s, a 40-Mpx one in 0.55 s (one thread,
 * docs/detection.md); the smallest face found grows to 34 and 62 px. */
#define PNET_MAX_PIXELS 3000000.0

/* Applies MTCNN's box regression reg (dx1, dy1, dx2, dy2 as fractions of the side) to box. */
static void regress(float box[4], const float reg[4])
{
    float w = box[2] - box[0], h = box[3] - box[1];
    float x1 = box[0] + reg[0] * w, y1 = box[1] + reg[1] * h;
    float x2 = box[2] + reg[2] * w, y2 = box[3] + reg[3] * h;
    box[0] = x1;
    box[1] = y1;
    box[2] = x2;
    box[3] = y2;
}

/* MTCNN's rerec: the square of side max(w, h) with the same centre. */
static void square(float box[4])
{
    float w = box[2] - box[0], h = box[3] - box[1], l = fmaxf(w, h);
    float cx = box[0] + 0.5f * w, cy = box[1] + 0.5f * h;
    box[0] = cx - 0.5f * l;
    box[1] = cy - 0.5f * l;
    box[2] = cx + 0.5f * l;
    box[3] = cy + 0.5f * l;
}

/* P-Net on one pyramid level `lvl` (the picture scaled by sx, sy): appends the windows with
 * face probability >= PNET_THRESHOLD, in picture pixels, after per-level NMS. Unlike the
 * reference (facenet detect_face), which regresses after the global NMS, each window is
 * regressed at once, so both NMS steps compare refined boxes. */
static mien_status pnet_level(mien_session *s, const image_rgb *lvl, double sx, double sy,
                              bool transposed, face_box **list, size_t *n, size_t *cap,
                              mien_error *err)
{
    int64_t dims[4] = {1, transposed ? lvl->w : lvl->h, transposed ? lvl->h : lvl->w, 3};
    size_t first = *n;
    const float *prob, *reg;
    nn_shape ps, rs;
    mien_status st;
    float *x = malloc((size_t)lvl->w * lvl->h * 3 * sizeof(*x));
    if (x == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    face_input_tensor(FACE_MODEL_PNET, lvl, transposed ? FACE_LAYOUT_WHC : FACE_LAYOUT_HWC, x);
    st = face_run_model(s, FACE_MODEL_PNET, x, dims, 4, err);
    free(x);
    if (st != MIEN_OK) {
        return st;
    }
    /* outputs: prob1 [1,h',w',2] (index 1 = face) and conv4-2 [1,h',w',4] box regression
     * (NHWC; tensor rows are image columns when transposed); told apart by channel count */
    reg = face_model_output(s, FACE_MODEL_PNET, 0, &rs);
    prob = face_model_output(s, FACE_MODEL_PNET, 1, &ps);
    if (reg != NULL && prob != NULL && rs.rank == 4 && rs.dims[3] == 2) {
        const float *t = reg;
        nn_shape ts = rs;
        reg = prob;
        rs = ps;
        prob = t;
        ps = ts;
    }
    if (reg == NULL || prob == NULL || ps.rank != 4 || rs.rank != 4 || ps.dims[3] != 2 ||
        rs.dims[3] != 4 || ps.dims[1] != rs.dims[1] || ps.dims[2] != rs.dims[2]) {
        return base_error_set(err, MIEN_ERR_INTERNAL, "P-Net outputs have unexpected shapes");
    }
    for (int64_t r = 0; r < ps.dims[1] && st == MIEN_OK; r++) {
        for (int64_t c = 0; c < ps.dims[2] && st == MIEN_OK; c++) {
            int64_t at = r * ps.dims[2] + c;
            float p = prob[2 * at + 1], box[4];
            int64_t gx = transposed ? r : c, gy = transposed ? c : r;
            if (p < PNET_THRESHOLD) {
                continue;
            }
            /* generateBoundingBox: the window [stride*g + 1, stride*g + cell] (1-based
             * MATLAB pixels) back in picture pixels */
            box[0] = (float)((PNET_STRIDE * gx) / sx);
            box[1] = (float)((PNET_STRIDE * gy) / sy);
            box[2] = (float)((PNET_STRIDE * gx + PNET_CELL) / sx);
            box[3] = (float)((PNET_STRIDE * gy + PNET_CELL) / sy);
            regress(box, reg + 4 * at);
            st = push_box(list, n, cap, box, p, err);
        }
    }
    if (st == MIEN_OK) {
        *n = first + face_nms(*list + first, *n - first, PNET_NMS_SCALE);
    }
    return st;
}

mien_status face_detect_pnet(mien_session *s, const image_rgb *img, bool transposed,
                             face_box **out, size_t *n, mien_error *err)
{
    face_box *list = NULL;
    size_t count = 0, cap = 0;
    image_rgb lvl = {0}, next = {0};
    mien_status st = MIEN_OK;
    double m = PNET_CELL / MTCNN_MIN_FACE, total = 0, area = (double)img->w * img->h;
    *out = NULL;
    *n = 0;
    /* the pyramid's total area is about area·m² / (1 - 0.709²) */
    for (double a = area * m * m; a >= PNET_CELL * PNET_CELL; a *= MTCNN_FACTOR * MTCNN_FACTOR) {
        total += a;
    }
    if (total > PNET_MAX_PIXELS) {
        m *= sqrt(PNET_MAX_PIXELS / total);
    }
    /* Each level is resized from the previous one (factor 0.709: bilinear does not alias). */
    for (double sc = m; st == MIEN_OK; sc *= MTCNN_FACTOR) {
        int w = (int)ceil(img->w * sc), h = (int)ceil(img->h * sc);
        const image_rgb *from = lvl.data != NULL ? &lvl : img;
        if (w < PNET_CELL || h < PNET_CELL) {
            break;
        }
        if ((st = image_alloc(&next, w, h, err)) != MIEN_OK) {
            break;
        }
        image_resize_bilinear(from, &next);
        image_release(&lvl);
        lvl = next;
        next.data = NULL;
        st = pnet_level(s, &lvl, (double)w / img->w, (double)h / img->h, transposed, &list,
                        &count, &cap, err);
    }
    image_release(&lvl);
    if (st != MIEN_OK) {
        free(list);
        return st;
    }
    count = face_nms(list, count, PNET_NMS_ALL);
    for (size_t i = 0; i < count; i++) {
        square(list[i].box);
    }
    if (count == 0) {
        free(list);
        list = NULL;
    }
    *out = list;
    *n = count;
    return MIEN_OK;
}

/* R-Net on cand[0..n): keeps those with face probability >= RNET_THRESHOLD, regressed and
 * squared, compacting cand in place; returns the number kept in *kept. */
static mien_status rnet_filter(mien_session *s, const image_rgb *img, face_box *cand, size_t n,
                               size_t *kept, mien_error *err)
{
    static const int64_t dims[4] = {RNET_BATCH, RNET_SIDE, RNET_SIDE, 3};
    enum { PATCH = RNET_SIDE * RNET_SIDE * 3 };
    image_rgb crop = {0}, patch = {0};
    float *x = NULL;
    mien_status st;
    size_t k = 0;
    *kept = 0;
    x = malloc((size_t)RNET_BATCH * PATCH * sizeof(*x));
    if (x == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    if ((st = image_alloc(&patch, RNET_SIDE, RNET_SIDE, err)) != MIEN_OK) {
        goto done;
    }
    for (size_t b0 = 0; b0 < n; b0 += RNET_BATCH) {
        size_t nb = n - b0 < RNET_BATCH ? n - b0 : RNET_BATCH;
        const float *prob, *reg;
        nn_shape ps, rs;
        memset(x, 0, (size_t)RNET_BATCH * PATCH * sizeof(*x));
        for (size_t i = 0; i < nb; i++) {
            const float *b = cand[b0 + i].box;
            int x0 = (int)floorf(b[0]), y0 = (int)floorf(b[1]);
            int side = (int)ceilf(b[2] - b[0]) + 1;
            if (side < 2 || side > 16384) {
                continue; /* a degenerate box: its zero patch scores as no face */
            }
            if ((st = image_alloc(&crop, side, side, err)) != MIEN_OK) {
                goto done;
            }
            image_crop(img, x0, y0, &crop);
            image_resize_bilinear(&crop, &patch);
            image_release(&crop);
            face_input_tensor(FACE_MODEL_RNET, &patch, FACE_LAYOUT_WHC, x + i * PATCH);
        }
        if ((st = face_run_model(s, FACE_MODEL_RNET, x, dims, 4, err)) != MIEN_OK) {
            goto done;
        }
        /* outputs: prob1 [N,2] (index 1 = face) and conv5-2 [N,4] regression, told apart by
         * width */
        reg = face_model_output(s, FACE_MODEL_RNET, 0, &rs);
        prob = face_model_output(s, FACE_MODEL_RNET, 1, &ps);
        if (reg != NULL && prob != NULL && rs.dims[rs.rank - 1] == 2) {
            const float *t = reg;
            reg = prob;
            prob = t;
            ps = rs;
        }
        if (reg == NULL || prob == NULL || ps.dims[ps.rank - 1] != 2) {
            st = base_error_set(err, MIEN_ERR_INTERNAL, "R-Net outputs have unexpected shapes");
            goto done;
        }
        for (size_t i = 0; i < nb; i++) {
            face_box c = cand[b0 + i];
            if (prob[2 * i + 1] < RNET_THRESHOLD) {
                continue;
            }
            c.score = prob[2 * i + 1];
            regress(c.box, reg + 4 * i);
            square(c.box);
            cand[k++] = c; /* k <= b0 + i: never overwrites an unread candidate */
        }
    }
    k = face_nms(cand, k, RNET_NMS);
    *kept = k;
done:
    image_release(&crop);
    image_release(&patch);
    free(x);
    return st;
}

mien_status face_detect_mtcnn(mien_session *s, const image_rgb *img, face_box **out, size_t *n,
                              mien_error *err)
{
    face_box *list = NULL;
    size_t count = 0, kept = 0;
    mien_status st;
    *out = NULL;
    *n = 0;
    if ((st = face_detect_pnet(s, img, true, &list, &count, err)) != MIEN_OK) {
        return st;
    }
    if (count > 0 && (st = rnet_filter(s, img, list, count, &kept, err)) != MIEN_OK) {
        free(list);
        return st;
    }
    if (kept == 0) {
        free(list);
        return MIEN_OK;
    }
    *out = list;
    *n = kept;
    return MIEN_OK;
}

/* ---- the small-faces pass ---------------------------------------------------------------- */

/* Whether two boxes are the same face: IoU > SMALL_MERGE_IOU, or most (> SMALL_MERGE_INSIDE) of
 * the smaller lies inside the larger. The second test catches what IoU misses: UltraFace's
 * tall box around MTCNN's square one, or a box around a whole head and shoulders
 * (measured on the dlib photos: 5 of the 9 duplicates with either detector). */
static bool overlaps(const float a[4], const float b[4])
{
    float w = fminf(a[2], b[2]) - fmaxf(a[0], b[0]);
    float h = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
    float aa = (a[2] - a[0]) * (a[3] - a[1]), ab = (b[2] - b[0]) * (b[3] - b[1]);
    if (w <= 0.0f || h <= 0.0f) {
        return false;
    }
    return face_iou(a, b) > SMALL_MERGE_IOU || w * h > SMALL_MERGE_INSIDE * fminf(aa, ab);
}

mien_status face_detect_small(mien_session *s, const image_rgb *img, face_box **boxes, size_t *n,
                              mien_error *err)
{
    face_box *extra = NULL, *all;
    size_t n_extra = 0, added = 0;
    mien_status st;
    /* MTCNN, not tiling: same recall on the dlib photos, fewer false positives, half the
     * time, and all 16 faces of a 12-Mpx picture where tiling found 11 (docs/detection.md). */
    if ((st = face_detect_mtcnn(s, img, &extra, &n_extra, err)) != MIEN_OK) {
        return st;
    }
    /* The normal pass's boxes stay; an extra box (best first) is added only where it
     * duplicates neither them nor an extra already added (overlaps()). */
    for (size_t i = 0; i < n_extra; i++) {
        bool keep = true;
        for (size_t k = 0; k < *n && keep; k++) {
            keep = !overlaps((*boxes)[k].box, extra[i].box);
        }
        for (size_t k = 0; k < added && keep; k++) {
            keep = !overlaps(extra[k].box, extra[i].box);
        }
        if (keep) {
            extra[added++] = extra[i];
        }
    }
    if (added == 0) {
        free(extra);
        return MIEN_OK;
    }
    all = realloc(*boxes, (*n + added) * sizeof(*all));
    if (all == NULL) {
        free(extra);
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    memcpy(all + *n, extra, added * sizeof(*all));
    free(extra);
    *boxes = all;
    *n += added;
    /* best first again; face_nms with IoU 1 only sorts (stable) */
    *n = face_nms(all, *n, 1.0f);
    return MIEN_OK;
}
