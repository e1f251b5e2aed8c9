/* pipeline.c — the public face functions: detect (UltraFace → O-Net → quality), embed
 * (align → embedders → L2-normalised template), compare, and the calibrated false-match
 * rates that give a similarity its meaning.
 *
 * Coordinates cross the API in pixels of the original picture; inside, the decoded image's
 * pixels are used (they differ after a scaled JPEG decode by mien_image.scale). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "face/calibration.h"
#include "face/catalog.h"
#include "face/face.h"
#include "face/session.h"

#define TEMPLATE_MAGIC 0x746d706cu /* "tmpl" */
#define DIM_A 192                  /* MobileFaceNet.tflite "embeddings" */
#define DIM_B 512                  /* fr_feature.onnx "output" */
#define DEFAULT_MIN_SCORE 0.5f     /* the reference's LFW setting (fr_detect.js uses 0.65) */
/* small faces: O-Net face probability below which a box is dropped in small-faces mode
 * (docs/detection.md, measured with `mien eval detection --small-faces`) */
#define SMALL_FACE_MIN_ONET 0.5f
/* Every mode: a box both networks doubt — a weak detection (< 0.6) that O-Net, looking at
 * it closely, also rejects (< 0.1) — is not a face. On dlib's dogs.jpg the only box is such
 * a pair (0.54, 0.04); on 3,000 LFW images no prominent face has a detector score below 0.6
 * together with an O-Net score below 0.1 (`mien eval detection`, docs/detection.md). */
#define DOUBTED_DETECTOR_SCORE 0.6f
#define DOUBTED_ONET_SCORE 0.1f

struct mien_template {
    uint32_t magic;
    mien_profile profile;
    char model_a[17], model_b[17]; /* model ids (sha256 prefixes); b empty for `fast` */
    float a[DIM_A];                /* L2-normalised */
    float b[DIM_B];                /* L2-normalised; zeros for `fast` */
};

mien_detect_options mien_detect_options_default(void)
{
    mien_detect_options o;
    o.min_score = DEFAULT_MIN_SCORE;
    o.small_faces = false;
    o.max_faces = 0;
    return o;
}

void mien_faces_free(mien_face *faces)
{
    free(faces);
}

static bool image_ok(const mien_image *image)
{
    return image != NULL && image->rgb.data != NULL && image->rgb.w > 0 && image->rgb.h > 0;
}

/* Box area in square pixels of the original picture. */
static double box_area(const mien_face *f)
{
    return ((double)f->box[2] - f->box[0]) * ((double)f->box[3] - f->box[1]);
}

int mien_faces_prominent(const mien_face *faces, size_t count, const mien_image *image)
{
    double best = -INFINITY;
    int at = -1;
    double W = image != NULL ? image->orig_w : 0, H = image != NULL ? image->orig_h : 0;
    for (size_t i = 0; faces != NULL && i < count; i++) {
        const float *b = faces[i].box;
        double dx = ((double)b[0] + b[2]) / 2 - W / 2, dy = ((double)b[1] + b[3]) / 2 - H / 2;
        double v = box_area(&faces[i]) - 2 * (dx * dx + dy * dy);
        if (v > best) {
            best = v;
            at = (int)i;
        }
    }
    return at;
}

static int faces_largest(const mien_face *faces, size_t count)
{
    int at = -1;
    for (size_t i = 0; faces != NULL && i < count; i++) {
        if (at < 0 || box_area(&faces[i]) > box_area(&faces[at])) {
            at = (int)i;
        }
    }
    return at;
}

int mien_faces_choose(const mien_face *faces, size_t count, const mien_image *image, int choice)
{
    if (faces == NULL || count == 0) {
        return -1;
    }
    if (choice >= 0) {
        return (size_t)choice < count ? choice : -1;
    }
    if (choice == MIEN_FACE_PROMINENT) {
        return mien_faces_prominent(faces, count, image);
    }
    return choice == MIEN_FACE_LARGEST ? faces_largest(faces, count) : -1;
}

void mien_faces_by_area(const mien_face *faces, size_t count, size_t *order)
{
    if (faces == NULL || order == NULL) {
        return;
    }
    for (size_t i = 0; i < count; i++) {
        order[i] = i;
    }
    for (size_t i = 1; i < count; i++) { /* insertion sort, stable: count is a few hundred */
        size_t v = order[i], j = i;
        while (j > 0 && box_area(&faces[order[j - 1]]) < box_area(&faces[v])) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = v;
    }
}

mien_image_options mien_image_options_faces(void)
{
    mien_image_options o = mien_image_options_default();
    o.min_side = MIEN_FACE_DECODE_MIN_SIDE;
    return o;
}

int mien_face_chip_side(void)
{
    /* the embedders' input (catalog.c); both take the same chip */
    return face_catalog()[FACE_MODEL_EMBEDDER_A].input.width;
}

size_t face_chip_bytes(void)
{
    size_t side = (size_t)mien_face_chip_side();
    return side * side * 3;
}

mien_status mien_detect(mien_session *session, const mien_image *image,
                        const mien_detect_options *opt, mien_face **faces, size_t *count,
                        mien_error *err)
{
    mien_detect_options defaults = mien_detect_options_default();
    mien_stage_times *clock;
    face_box *boxes = NULL;
    mien_face *out = NULL;
    image_rgb chip = {0};
    size_t n = 0, kept = 0;
    mien_status st;
    double t0, t1;
    float scale;
    if (faces != NULL) {
        *faces = NULL;
    }
    if (count != NULL) {
        *count = 0;
    }
    if (session == NULL || faces == NULL || count == NULL || !image_ok(image)) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_detect: NULL or empty argument");
    }
    if (opt == NULL) {
        opt = &defaults;
    }
    clock = face_session_times(session);
    scale = image->scale > 0 ? image->scale : 1.0f;
    t0 = mien_now_ms();
    st = face_detect_ultraface(session, &image->rgb,
                               opt->min_score > 0 ? opt->min_score : DEFAULT_MIN_SCORE, &boxes, &n,
                               err);
    /* >>> small faces (detect_small.c): more boxes; every box must pass O-Net's check below */
    if (st == MIEN_OK && opt->small_faces) {
        st = face_detect_small(session, &image->rgb, &boxes, &n, err);
    }
    /* <<< small faces */
    t1 = mien_now_ms();
    clock->detect_ms += t1 - t0;
    clock->images++;
    if (st != MIEN_OK || n == 0) {
        free(boxes);
        return st;
    }
    if (opt->max_faces > 0 && n > (size_t)opt->max_faces) {
        n = (size_t)opt->max_faces;
    }
    out = calloc(n, sizeof(*out));
    if (out == NULL || (st = image_alloc(&chip, FACE_CHIP_SIZE, FACE_CHIP_SIZE, err)) != MIEN_OK) {
        st = out == NULL ? base_error_set(err, MIEN_ERR_NOMEM, "out of memory") : st;
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        float points[5][2], lm_score = 0.0f;
        double t2, t3;
        mien_face *f = &out[kept];
        t2 = mien_now_ms();
        st = face_landmarks_onet(session, &image->rgb, boxes[i].box, points, &lm_score, err);
        t3 = mien_now_ms();
        clock->landmarks_ms += t3 - t2;
        if (st == MIEN_ERR_ARG) {
            continue; /* a degenerate box: not a face we can use */
        }
        if (st != MIEN_OK) {
            goto fail;
        }
        if (opt->small_faces && lm_score < SMALL_FACE_MIN_ONET) {
            continue; /* small faces: a box O-Net does not confirm */
        }
        if (boxes[i].score < DOUBTED_DETECTOR_SCORE && lm_score < DOUBTED_ONET_SCORE) {
            continue;
        }
        face_align_chip(&image->rgb, (const float(*)[2])points, &chip);
        face_quality((const float(*)[2])points, scale, &chip, boxes[i].score, lm_score,
                     &f->quality);
        clock->align_ms += mien_now_ms() - t3;
        for (int k = 0; k < 4; k++) {
            f->box[k] = boxes[i].box[k] * scale;
        }
        for (int j = 0; j < 5; j++) {
            f->landmarks[j][0] = points[j][0] * scale;
            f->landmarks[j][1] = points[j][1] * scale;
        }
        f->score = boxes[i].score;
        kept++;
    }
    image_release(&chip);
    free(boxes);
    if (kept == 0) {
        free(out);
        return MIEN_OK;
    }
    *faces = out;
    *count = kept;
    return MIEN_OK;
fail:
    image_release(&chip);
    free(boxes);
    free(out);
    return st;
}

/* ---- templates ------------------------------------------------------------------------------ */

static void l2_normalise(float *v, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) {
        s += (double)v[i] * v[i];
    }
    s = sqrt(s);
    for (int i = 0; i < n && s > 0; i++) {
        v[i] = (float)(v[i] / s);
    }
}

/* Runs embedder `model` on the chip and writes its raw output (dim floats) to out. The two
 * models want different tensors (reference lib/embed.js; catalog.c's input specs): A is
 * [1,112,112,3] NHWC with (x − 127.5)/128; B is [1,3,112,112] NCHW with (x − 127)/128. */
static mien_status run_embedder(mien_session *s, int model, const image_rgb *chip, float *out,
                                int dim, mien_error *err)
{
    enum { PIXELS = FACE_CHIP_SIZE * FACE_CHIP_SIZE };
    float x[PIXELS * 3];
    const float *y;
    nn_shape shape;
    mien_status st;
    face_input_tensor(model, chip, face_catalog()[model].input.layout, x);
    st = face_run_model(s, model, x, face_catalog()[model].bench_dims, 4, err);
    if (st != MIEN_OK) {
        return st;
    }
    y = face_model_output(s, model, 0, &shape);
    if (y == NULL || nn_shape_elems(&shape) != dim) {
        return base_error_set(err, MIEN_ERR_INTERNAL, "embedder output has the wrong size");
    }
    memcpy(out, y, (size_t)dim * sizeof(float));
    return MIEN_OK;
}

/* The face's landmarks in pixels of the decoded image (the API's are in pixels of the
 * original picture), for the chip's alignment; MIEN_ERR_ARG when one is not finite. */
static mien_status chip_points(const mien_image *image, const mien_face *face,
                               float points[5][2], mien_error *err)
{
    float scale = image->scale > 0 ? image->scale : 1.0f;
    for (int j = 0; j < 5; j++) {
        points[j][0] = face->landmarks[j][0] / scale;
        points[j][1] = face->landmarks[j][1] / scale;
        if (!isfinite(points[j][0]) || !isfinite(points[j][1])) {
            return base_error_set(err, MIEN_ERR_ARG, "face landmarks are not finite");
        }
    }
    return MIEN_OK;
}

mien_status mien_embed(mien_session *session, const mien_image *image, const mien_face *face,
                       mien_profile profile, mien_template **out, mien_error *err)
{
    image_rgb chip = {0};
    mien_template *t = NULL;
    float points[5][2];
    mien_stage_times *clock;
    mien_status st;
    double t0, t1;
    if (out != NULL) {
        *out = NULL;
    }
    if (session == NULL || out == NULL || face == NULL || !image_ok(image)) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_embed: NULL or empty argument");
    }
    if (profile != MIEN_PROFILE_FAST && profile != MIEN_PROFILE_ACCURATE) {
        return base_error_set(err, MIEN_ERR_ARG, "unknown profile %d", (int)profile);
    }
    clock = face_session_times(session);
    if ((st = chip_points(image, face, points, err)) != MIEN_OK) {
        return st;
    }
    t = calloc(1, sizeof(*t));
    if (t == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    if ((st = image_alloc(&chip, FACE_CHIP_SIZE, FACE_CHIP_SIZE, err)) != MIEN_OK) {
        goto fail;
    }
    t0 = mien_now_ms();
    face_align_chip(&image->rgb, (const float(*)[2])points, &chip);
    t1 = mien_now_ms();
    clock->align_ms += t1 - t0;
    t->magic = TEMPLATE_MAGIC;
    t->profile = profile;
    memcpy(t->model_a, face_model_id(session, FACE_MODEL_EMBEDDER_A), sizeof(t->model_a));
    if ((st = run_embedder(session, FACE_MODEL_EMBEDDER_A, &chip, t->a, DIM_A, err)) != MIEN_OK) {
        goto fail;
    }
    l2_normalise(t->a, DIM_A);
    if (profile == MIEN_PROFILE_ACCURATE) {
        memcpy(t->model_b, face_model_id(session, FACE_MODEL_EMBEDDER_B), sizeof(t->model_b));
        if ((st = run_embedder(session, FACE_MODEL_EMBEDDER_B, &chip, t->b, DIM_B, err)) !=
            MIEN_OK) {
            goto fail;
        }
        l2_normalise(t->b, DIM_B);
    }
    clock->embed_ms += mien_now_ms() - t1;
    clock->faces_embedded++;
    image_release(&chip);
    *out = t;
    return MIEN_OK;
fail:
    image_release(&chip);
    free(t);
    return st;
}

mien_status mien_face_find(mien_session *session, const mien_image *image, int choice,
                           mien_face_pick *pick, mien_error *err)
{
    if (pick == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_face_find: NULL argument");
    }
    *pick = (mien_face_pick){NULL, 0, -1};
    mien_status st = mien_detect(session, image, NULL, &pick->faces, &pick->count, err);
    if (st != MIEN_OK) {
        return st;
    }
    pick->index = mien_faces_choose(pick->faces, pick->count, image, choice);
    if (pick->count == 0) {
        return base_error_set(err, MIEN_ERR_NOT_FOUND, "no face found");
    }
    if (pick->index < 0) {
        return base_error_set(err, MIEN_ERR_NOT_FOUND, "no face %d (found %zu)", choice,
                              pick->count);
    }
    return MIEN_OK;
}

mien_status mien_embed_face(mien_session *session, const mien_image *image, int choice,
                            mien_profile profile, mien_face_pick *pick, mien_template **out,
                            mien_error *err)
{
    mien_face_pick found = {NULL, 0, -1};
    mien_status st;
    if (out != NULL) {
        *out = NULL;
    }
    if (pick != NULL) {
        *pick = found;
    }
    if (out == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_embed_face: NULL argument");
    }
    st = mien_face_find(session, image, choice, &found, err);
    if (st == MIEN_OK) {
        st = mien_embed(session, image, &found.faces[found.index], profile, out, err);
    }
    if (pick != NULL) {
        *pick = found;
    } else {
        mien_faces_free(found.faces);
    }
    return st;
}

void mien_template_free(mien_template *t)
{
    if (t != NULL) {
        t->magic = 0;
        free(t);
    }
}

mien_profile mien_template_profile(const mien_template *t)
{
    return t != NULL ? t->profile : MIEN_PROFILE_FAST;
}

static float dot(const float *a, const float *b, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) {
        s += (double)a[i] * b[i];
    }
    return (float)s;
}

mien_status mien_template_compare(const mien_template *a, const mien_template *b,
                                  float *similarity, mien_error *err)
{
    if (similarity != NULL) {
        *similarity = 0.0f;
    }
    if (a == NULL || b == NULL || similarity == NULL || a->magic != TEMPLATE_MAGIC ||
        b->magic != TEMPLATE_MAGIC) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_template_compare: not templates");
    }
    if (a->profile != b->profile) {
        return base_error_set(err, MIEN_ERR_ARG,
                              "templates of different profiles (%s, %s) cannot be compared",
                              mien_profile_name(a->profile), mien_profile_name(b->profile));
    }
    if (strcmp(a->model_a, b->model_a) != 0 || strcmp(a->model_b, b->model_b) != 0) {
        return base_error_set(err, MIEN_ERR_ARG,
                              "templates were made by different models (%s vs %s)", a->model_a,
                              b->model_a);
    }
    if (a->profile == MIEN_PROFILE_FAST) {
        *similarity = dot(a->a, b->a, DIM_A);
    } else {
        /* Weighted fusion of the two cosines (weights in calibration.h, chosen on LFW's
         * development lists: docs/calibration.md). */
        *similarity = CALIBRATION_FUSION_WEIGHT_A * dot(a->a, b->a, DIM_A) +
                      (1.0f - CALIBRATION_FUSION_WEIGHT_A) * dot(a->b, b->b, DIM_B);
    }
    return MIEN_OK;
}

mien_status mien_template_vector(const mien_template *t, int part, const float **data, int *dim)
{
    if (data == NULL || dim == NULL) {
        return MIEN_ERR_ARG;
    }
    *data = NULL;
    *dim = 0;
    if (t == NULL || t->magic != TEMPLATE_MAGIC) {
        return MIEN_ERR_ARG;
    }
    if (part == 0) {
        *data = t->a;
        *dim = DIM_A;
    } else if (part == 1 && t->profile == MIEN_PROFILE_ACCURATE) {
        *data = t->b;
        *dim = DIM_B;
    } else {
        return MIEN_ERR_NOT_FOUND;
    }
    return MIEN_OK;
}

/* ---- template bytes ------------------------------------------------------------------------
 * Layout (little-endian): "MTPL" | version 1 (u8) | profile (u8) | 0 (u16) | model_a (16
 * ASCII hex) | model_b (16, zero-filled for `fast`) | dim_a (u16) | dim_b (u16) | dim_a then
 * dim_b float32. Versioned so a later layout can still read old stores. */
#define TEMPLATE_BYTES_MAGIC "MTPL"
#define TEMPLATE_BYTES_VERSION 1
#define TEMPLATE_HEADER 44

static size_t template_bytes_len(const mien_template *t)
{
    return TEMPLATE_HEADER +
           (size_t)(DIM_A + (t->profile == MIEN_PROFILE_ACCURATE ? DIM_B : 0)) * sizeof(float);
}

static void put_u16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v & 0xff);
    p[1] = (uint8_t)(v >> 8);
}

static unsigned get_u16(const uint8_t *p)
{
    return (unsigned)p[0] | ((unsigned)p[1] << 8);
}

/* float32 <-> little-endian bytes (x86 is little-endian; the loop keeps it portable) */
static void put_f32s(uint8_t *p, const float *v, int n)
{
    for (int i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        for (int b = 0; b < 4; b++) {
            p[i * 4 + b] = (uint8_t)(u >> (8 * b));
        }
    }
}

static void get_f32s(const uint8_t *p, float *v, int n)
{
    for (int i = 0; i < n; i++) {
        uint32_t u = 0;
        for (int b = 0; b < 4; b++) {
            u |= (uint32_t)p[i * 4 + b] << (8 * b);
        }
        memcpy(&v[i], &u, 4);
    }
}

mien_status mien_template_serialize(const mien_template *t, uint8_t *buf, size_t size,
                                    size_t *len)
{
    size_t need;
    if (len == NULL || t == NULL || t->magic != TEMPLATE_MAGIC) {
        return MIEN_ERR_ARG;
    }
    need = template_bytes_len(t);
    *len = need;
    if (buf == NULL) {
        return MIEN_OK;
    }
    if (size < need) {
        return MIEN_ERR_ARG;
    }
    memset(buf, 0, TEMPLATE_HEADER);
    memcpy(buf, TEMPLATE_BYTES_MAGIC, 4);
    buf[4] = TEMPLATE_BYTES_VERSION;
    buf[5] = (uint8_t)t->profile;
    memcpy(buf + 8, t->model_a, 16);
    memcpy(buf + 24, t->model_b, strlen(t->model_b) < 16 ? strlen(t->model_b) : 16);
    put_u16(buf + 40, DIM_A);
    put_u16(buf + 42, t->profile == MIEN_PROFILE_ACCURATE ? DIM_B : 0);
    put_f32s(buf + TEMPLATE_HEADER, t->a, DIM_A);
    if (t->profile == MIEN_PROFILE_ACCURATE) {
        put_f32s(buf + TEMPLATE_HEADER + DIM_A * 4, t->b, DIM_B);
    }
    return MIEN_OK;
}

mien_status mien_template_deserialize(const uint8_t *buf, size_t len, mien_template **out,
                                      mien_error *err)
{
    mien_template *t;
    unsigned dim_a, dim_b;
    if (out != NULL) {
        *out = NULL;
    }
    if (buf == NULL || out == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_template_deserialize: NULL argument");
    }
    if (len < TEMPLATE_HEADER || memcmp(buf, TEMPLATE_BYTES_MAGIC, 4) != 0) {
        return base_error_set(err, MIEN_ERR_ARG, "not a mien template (%zu bytes)", len);
    }
    if (buf[4] != TEMPLATE_BYTES_VERSION) {
        return base_error_set(err, MIEN_ERR_UNSUPPORTED, "template version %u is not supported",
                              buf[4]);
    }
    dim_a = get_u16(buf + 40);
    dim_b = get_u16(buf + 42);
    if ((buf[5] != MIEN_PROFILE_FAST && buf[5] != MIEN_PROFILE_ACCURATE) || dim_a != DIM_A ||
        dim_b != (buf[5] == MIEN_PROFILE_ACCURATE ? DIM_B : 0) ||
        len != TEMPLATE_HEADER + (size_t)(dim_a + dim_b) * 4) {
        return base_error_set(err, MIEN_ERR_ARG, "template bytes are malformed");
    }
    t = calloc(1, sizeof(*t));
    if (t == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    t->magic = TEMPLATE_MAGIC;
    t->profile = (mien_profile)buf[5];
    memcpy(t->model_a, buf + 8, 16);
    memcpy(t->model_b, buf + 24, 16);
    get_f32s(buf + TEMPLATE_HEADER, t->a, DIM_A);
    if (dim_b) {
        get_f32s(buf + TEMPLATE_HEADER + DIM_A * 4, t->b, DIM_B);
    }
    *out = t;
    return MIEN_OK;
}

const char *mien_template_model(const mien_template *t, int part)
{
    if (t == NULL || t->magic != TEMPLATE_MAGIC) {
        return "";
    }
    return part == 0 ? t->model_a : (part == 1 ? t->model_b : "");
}

mien_status mien_face_chip(const mien_image *image, const mien_face *face, uint8_t *rgb,
                           mien_error *err)
{
    float points[5][2];
    image_rgb chip;
    if (!image_ok(image) || face == NULL || rgb == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "mien_face_chip: NULL or empty argument");
    }
    mien_status st = chip_points(image, face, points, err);
    if (st != MIEN_OK) {
        return st;
    }
    chip.w = FACE_CHIP_SIZE;
    chip.h = FACE_CHIP_SIZE;
    chip.data = rgb;
    face_align_chip(&image->rgb, (const float(*)[2])points, &chip);
    return MIEN_OK;
}
