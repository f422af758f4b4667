/*
 * conn: one client connection and the exchanges on it, from accept to close. Runs on its
 * worker's event loop only. It owns the client bufferevent, its timer and, while a request is
 * in flight, the upstream connection it borrowed from the worker's pool.
 */
#ifndef WARDEN_NET_CONN_H
#define WARDEN_NET_CONN_H

#include <openssl/ssl.h>
#include <sys/socket.h>

struct worker;
struct conn;

/* Take ownership of an accepted socket. tls is the listener's context, or NULL; auth_mask the
 * credentials the listener accepts. Returns 0, or -1 after closing fd. */
int conn_new(struct worker *w, int fd, const struct sockaddr *peer, socklen_t peerlen, SSL_CTX *tls,
             unsigned auth_mask);

/* Free a connection now (worker shutdown). */
void conn_free(struct conn *c);

/* Ask a connection to finish: idle ones close now, busy ones after their current response. */
void conn_drain(struct conn *c);

/* The next connection in the worker's list (for iteration while draining). */
struct conn *conn_next(const struct conn *c);

#endif
