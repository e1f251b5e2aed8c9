/* session.h — what the face layer needs from an engine and a session beyond the public API:
 * running a catalogue model by index and reading its outputs, the stage clock, and the
 * engine's model identities (for templates). */
#ifndef MIEN_FACE_SESSION_H
#define MIEN_FACE_SESSION_H

#include "mien.h"
#include "nn/graph.h"

/* Runs catalogue model `model` (FACE_MODEL_*) on one input; see mien_session_run_model. */
mien_status face_run_model(mien_session *s, int model, const float *input, const int64_t *dims,
                           int rank, mien_error *err);

/* The same for a 4-D NCHW model fed channels-last: input holds dims[0] × dims[2] × dims[3] ×
 * dims[1] floats (NHWC) for the logical NCHW shape dims. */
mien_status face_run_model_nhwc(mien_session *s, int model, const float *input,
                                const int64_t *dims, mien_error *err);

/* Output `index` of the last run of `model` (borrowed, valid until its next run) and its
 * shape; NULL if it has not run. */
const float *face_model_output(mien_session *s, int model, int index, nn_shape *shape);

/* The session's stage clock (mien_session_stage_times), to add to. */
mien_stage_times *face_session_times(mien_session *s);

/* First 16 hex digits of the sha256 of catalogue model `model` (a template's model id). */
const char *face_model_id(const mien_session *s, int model);

#endif
