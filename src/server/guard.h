/* guard.h — the slow-header guard of `mien serve` (issue 13 item 7): a connection that has
 * not delivered a complete request head within cfg.header_timeout_s of its accept, or of the
 * end of its previous request (keep-alive), is closed. libmicrohttpd's own timeout is an idle
 * timeout, reset by every byte, so a client sending one header byte a second would hold a
 * connection for ever; and MHD cannot answer 408 before the head is complete (it calls the
 * application only then), so the connection is closed without an answer (docs/deploy.md).
 *
 * MHD tells the guard of each connection (srv_guard_notify, MHD_OPTION_NOTIFY_CONNECTION);
 * http.c tells it when a request's head is complete and when the request ends; a thread wakes
 * a few times per timeout and shuts down (shutdown(2), so MHD sees the end of the stream and
 * frees the connection itself) those past their deadline. */
#ifndef MIEN_SERVER_GUARD_H
#define MIEN_SERVER_GUARD_H

#include <microhttpd.h>

#include "metrics.h"

typedef struct srv_guard srv_guard;

/* Starts the guard's thread; cuts are counted in m (may be NULL). NULL when out of memory or
 * the thread cannot start. */
srv_guard *srv_guard_new(int header_timeout_s, server_metrics *m);
/* Stops the thread and frees the guard. Call after MHD_stop_daemon (every connection is then
 * closed and forgotten). NULL is a no-op. */
void srv_guard_free(srv_guard *g);

/* MHD_OPTION_NOTIFY_CONNECTION's callback; cls is the guard. */
void srv_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                      enum MHD_ConnectionNotificationCode code);
/* The request on conn has its whole head (MHD's first call of the access handler; g NULL: a no-op): the
 * deadline no longer applies until the request ends. */
void srv_guard_request_started(srv_guard *g, struct MHD_Connection *conn);
/* The request on conn ended; the connection's next request head is due within the timeout. */
void srv_guard_request_ended(srv_guard *g, struct MHD_Connection *conn);

#endif
