/* guard.c — closes connections whose request head comes too slowly (guard.h). The connections
 * are one list under one mutex: MHD's close notice takes the mutex before MHD closes the
 * socket, so a descriptor the guard shuts down is always the connection's own, never one the
 * kernel has handed to a newer connection. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "guard.h"

typedef struct tracked {
    struct tracked *prev, *next;
    MHD_socket fd;
    double since;  /* monotonic seconds: accept, or the end of the previous request */
    bool busy;     /* between a request's complete head and its end */
    bool cut;      /* shut down already */
} tracked;

struct srv_guard {
    pthread_mutex_t mu;
    pthread_cond_t cv;  /* CLOCK_MONOTONIC; signalled to stop */
    pthread_t thread;
    bool stop;
    double timeout_s;
    tracked *head;
    server_metrics *metrics;
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One pass: shuts down every idle connection past its deadline. Under g->mu. */
static void cut_late(srv_guard *g, double now)
{
    for (tracked *t = g->head; t != NULL; t = t->next) {
        if (!t->busy && !t->cut && now - t->since > g->timeout_s) {
            shutdown(t->fd, SHUT_RDWR);
            t->cut = true;
            srv_metrics_slow_headers_cut(g->metrics);
        }
    }
}

/* Wakes four times per timeout (at most once a second), so a connection is cut within 25% of
 * its deadline. */
static void *guard_main(void *arg)
{
    srv_guard *g = arg;
    double period = g->timeout_s / 4.0 < 1.0 ? g->timeout_s / 4.0 : 1.0;
    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        struct timespec ts;
        double until;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        until = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9 + period;
        ts.tv_sec = (time_t)until;
        ts.tv_nsec = (long)((until - (double)ts.tv_sec) * 1e9);
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
        if (!g->stop) {
            cut_late(g, mono_s());
        }
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

srv_guard *srv_guard_new(int header_timeout_s, server_metrics *m)
{
    srv_guard *g = calloc(1, sizeof(*g));
    pthread_condattr_t ca;
    if (g == NULL) {
        return NULL;
    }
    g->timeout_s = header_timeout_s;
    g->metrics = m;
    pthread_mutex_init(&g->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&g->thread, NULL, guard_main, g) != 0) {
        pthread_cond_destroy(&g->cv);
        pthread_mutex_destroy(&g->mu);
        free(g);
        return NULL;
    }
    return g;
}

void srv_guard_free(srv_guard *g)
{
    if (g == NULL) {
        return;
    }
    pthread_mutex_lock(&g->mu);
    g->stop = true;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->thread, NULL);
    while (g->head != NULL) { /* none once MHD has stopped; kept for safety */
        tracked *t = g->head;
        g->head = t->next;
        free(t);
    }
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

void srv_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                      enum MHD_ConnectionNotificationCode code)
{
    srv_guard *g = cls;
    tracked *t = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        t = ci != NULL ? calloc(1, sizeof(*t)) : NULL;
        *socket_context = t;
        if (t == NULL) {
            return; /* untracked: MHD's idle timeout still applies */
        }
        t->fd = ci->connect_fd;
        t->since = mono_s();
        pthread_mutex_lock(&g->mu);
        t->next = g->head;
        if (g->head != NULL) {
            g->head->prev = t;
        }
        g->head = t;
        pthread_mutex_unlock(&g->mu);
        return;
    }
    if (t == NULL) {
        return;
    }
    pthread_mutex_lock(&g->mu);
    if (t->prev != NULL) {
        t->prev->next = t->next;
    } else {
        g->head = t->next;
    }
    if (t->next != NULL) {
        t->next->prev = t->prev;
    }
    pthread_mutex_unlock(&g->mu);
    free(t);
    *socket_context = NULL;
}

/* The guard's record of conn; NULL when it is not tracked. */
static tracked *record_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci != NULL ? ci->socket_context : NULL;
}

/* Marks conn's request as started or ended; either way its clock restarts. */
static void set_busy(srv_guard *g, struct MHD_Connection *conn, bool busy)
{
    tracked *t = record_of(conn);
    if (g == NULL || t == NULL) {
        return;
    }
    pthread_mutex_lock(&g->mu);
    t->busy = busy;
    t->since = mono_s();
    pthread_mutex_unlock(&g->mu);
}

void srv_guard_request_started(srv_guard *g, struct MHD_Connection *conn)
{
    set_busy(g, conn, true);
}

void srv_guard_request_ended(srv_guard *g, struct MHD_Connection *conn)
{
    set_busy(g, conn, false);
}
