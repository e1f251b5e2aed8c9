/* pool.c — the inference pool (pool.h): a mutex-protected singly linked FIFO with a bound,
 * one condition variable the workers sleep on, W threads each owning one session. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "pool.h"

struct server_pool {
    pthread_mutex_t lock;
    pthread_cond_t wake;    /* a job arrived, or stopping */
    pool_job *head, *tail;  /* the queue, oldest first */
    int depth, capacity;
    bool stopping;
    int n_workers;
    pthread_t *threads;
    mien_session **sessions;
    server_metrics *metrics;
};

static void *worker_main(void *arg)
{
    server_pool *p = arg;
    int self = -1;
    pthread_mutex_lock(&p->lock);
    for (int i = 0; i < p->n_workers; i++) {
        if (pthread_equal(p->threads[i], pthread_self())) {
            self = i;
        }
    }
    for (;;) {
        pool_job *job;
        while (p->head == NULL && !p->stopping) {
            pthread_cond_wait(&p->wake, &p->lock);
        }
        if (p->head == NULL) { /* stopping and drained */
            break;
        }
        job = p->head;
        p->head = job->next;
        if (p->head == NULL) {
            p->tail = NULL;
        }
        p->depth--;
        if (p->metrics != NULL) {
            srv_metrics_queue_depth(p->metrics, p->depth);
        }
        pthread_mutex_unlock(&p->lock);
        job->next = NULL;
        job->fn(p->sessions[self], job->arg); /* job may be freed by now */
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Stops the pool and waits for its first n workers (they run what is still queued first). */
static void stop_workers(server_pool *p, int n)
{
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < n; i++) {
        pthread_join(p->threads[i], NULL);
    }
}

/* Frees the sessions (of p->n_workers; NULL ones are skipped), the arrays, the lock and p. */
static void release(server_pool *p)
{
    for (int i = 0; p->sessions != NULL && i < p->n_workers; i++) {
        mien_session_free(p->sessions[i]);
    }
    free(p->sessions);
    free(p->threads);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

server_pool *srv_pool_new(mien_engine *engine, int workers, int queue, server_metrics *metrics,
                          mien_error *err)
{
    server_pool *p = calloc(1, sizeof(*p));
    int started = 0;
    if (p == NULL || workers < 1 || queue < 1) {
        if (err != NULL) {
            err->code = p == NULL ? MIEN_ERR_NOMEM : MIEN_ERR_ARG;
            snprintf(err->message, sizeof(err->message), "pool: %s",
                     p == NULL ? "out of memory" : "workers and queue must be >= 1");
        }
        free(p);
        return NULL;
    }
    p->capacity = queue;
    p->n_workers = workers;
    p->metrics = metrics;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->threads = calloc((size_t)workers, sizeof(*p->threads));
    p->sessions = calloc((size_t)workers, sizeof(*p->sessions));
    if (p->threads == NULL || p->sessions == NULL) {
        if (err != NULL) {
            err->code = MIEN_ERR_NOMEM;
            snprintf(err->message, sizeof(err->message), "pool: out of memory");
        }
        goto fail;
    }
    for (int i = 0; i < workers; i++) {
        if (mien_session_new(engine, &p->sessions[i], err) != MIEN_OK) {
            goto fail;
        }
    }
    /* Hold the lock while starting so that each worker finds its own index in threads[]. */
    pthread_mutex_lock(&p->lock);
    for (; started < workers; started++) {
        if (pthread_create(&p->threads[started], NULL, worker_main, p) != 0) {
            break;
        }
    }
    if (started < workers) {
        p->n_workers = started; /* only those that run look themselves up */
        pthread_mutex_unlock(&p->lock);
        stop_workers(p, started);
        p->n_workers = workers;
        if (err != NULL) {
            err->code = MIEN_ERR_NOMEM;
            snprintf(err->message, sizeof(err->message), "pool: cannot start thread %d",
                     started);
        }
        goto fail;
    }
    pthread_mutex_unlock(&p->lock);
    return p;
fail:
    release(p);
    return NULL;
}

bool srv_pool_submit(server_pool *p, pool_job *job, void (*before)(void *), void *before_arg)
{
    pthread_mutex_lock(&p->lock);
    if (p->stopping || p->depth >= p->capacity) {
        pthread_mutex_unlock(&p->lock);
        return false;
    }
    if (before != NULL) {
        before(before_arg);
    }
    job->next = NULL;
    if (p->tail != NULL) {
        p->tail->next = job;
    } else {
        p->head = job;
    }
    p->tail = job;
    p->depth++;
    if (p->metrics != NULL) {
        srv_metrics_queue_depth(p->metrics, p->depth);
    }
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    return true;
}

void srv_pool_free(server_pool *p)
{
    if (p == NULL) {
        return;
    }
    stop_workers(p, p->n_workers);
    release(p);
}
