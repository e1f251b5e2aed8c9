/* pool.h — the inference pool: W worker threads, each with its own mien_session on one shared
 * mien_engine, fed by a bounded FIFO queue. A job is a function run on a worker with that
 * worker's session; submitting never blocks: a full queue is refused at once (the HTTP layer
 * answers 503 + Retry-After). DESIGN.md §8. */
#ifndef MIEN_SERVER_POOL_H
#define MIEN_SERVER_POOL_H

#include <stdbool.h>

#include "mien.h"
#include "metrics.h"

typedef struct server_pool server_pool;

/* A unit of work: fn(session, arg) runs on one worker. `next` is the pool's. */
typedef struct pool_job {
    void (*fn)(mien_session *session, void *arg);
    void *arg;
    struct pool_job *next;
} pool_job;

/* Starts `workers` threads with one session each on `engine` (which must outlive the pool),
 * and a queue of at most `queue` waiting jobs. `metrics` (may be NULL) gets the queue depth.
 * NULL with err filled when a session or a thread cannot be made (nothing left running). */
server_pool *srv_pool_new(mien_engine *engine, int workers, int queue, server_metrics *metrics,
                          mien_error *err);

/* Queues `job` (owned by the caller, alive until its fn has run). When the queue has room,
 * calls before(before_arg) with the pool lock held and returns true; fn then runs later on
 * a worker (`before` exists so that the HTTP layer suspends its connection before a worker
 * can resume it). False, without calling anything, when the queue is full or stopping. */
bool srv_pool_submit(server_pool *p, pool_job *job, void (*before)(void *), void *before_arg);

/* Runs what is queued, stops the workers, frees their sessions and the pool. NULL: no-op. */
void srv_pool_free(server_pool *p);

#endif
