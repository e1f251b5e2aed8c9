/* rekognition.h — the Amazon Rekognition-compatible face API of `mien serve`
 * (docs/rekognition.md): the AWS JSON 1.1 protocol on the same listener as the native API —
 * `POST /` with `X-Amz-Target: RekognitionService.<Operation>`, signed with AWS Signature
 * Version 4 by a mien API key (access key id = the key's id; secret access key from
 * `mien keys create`, mien_key_aws_secret) — so that code written for Rekognition's face
 * operations runs against mien with only its endpoint changed, with mien's accountability
 * underneath (every call audited, searches reviewed).
 *
 * http.c hands a request over when srv_rekognition_is_call() says so; from there this module
 * answers it like the native routes do: operations without inference in the HTTP thread,
 * the others as a job on the inference pool (the same workers and queue as /v1). */
#ifndef MIEN_SERVER_REKOGNITION_H
#define MIEN_SERVER_REKOGNITION_H

#include <stdbool.h>

#include "internal.h"

struct rek_call;

/* Whether this request is a Rekognition call: POST to "/" with an X-Amz-Target header. */
bool srv_rekognition_is_call(struct MHD_Connection *conn, const char *method, const char *url);

/* The first call of a Rekognition request (headers only, no body read yet), in the HTTP
 * thread: attaches r->rek (freed by srv_rekognition_call_free at completion), sets r->route
 * (for metrics) and checks what of the SigV4 signature needs no body: its form, X-Amz-Date
 * within 15 minutes, the scope, and that the key exists and is not revoked. False when it
 * replied (the request is refused before its body is read). */
bool srv_rekognition_begin(request *r);

/* The final call (body complete), after srv_rekognition_begin accepted the headers: checks the
 * signature over the body, the operation, the key's role and the parameters, then either
 * answers (an operation without inference, or an error in Rekognition's shape) and returns
 * false, or fills r->job (fn, arg) for the inference pool and returns true. */
bool srv_rekognition_prepare(request *r);

/* The inference queue was full: ThrottlingException (the AWS SDKs retry it with back-off). */
void srv_rekognition_reply_throttled(request *r);

/* Frees what srv_rekognition_prepare attached to a request. NULL is a no-op. */
void srv_rekognition_call_free(struct rek_call *c);

#endif
