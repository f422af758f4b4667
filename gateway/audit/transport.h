/*
 * audit/transport: a blocking stream connection (TCP, optionally TLS) for the audit sink
 * threads. Every operation takes a deadline and waits with poll(2), so a dead collector costs
 * a sink thread at most its timeout and never touches a worker. TLS: 1.2 or later, the peer
 * verified against ca_file (or the system store) and server_name, an optional client
 * certificate; no renegotiation.
 *
 * For sinks whose protocol has no acknowledgement (syslog), audit_conn_acked tells how many
 * of the bytes written the peer's TCP stack has acknowledged (bytes written minus the kernel
 * send queue, SIOCOUTQ) and whether the peer has closed or reset the connection. Used on one
 * sink thread at a time.
 */
#ifndef WARDEN_AUDIT_TRANSPORT_H
#define WARDEN_AUDIT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/ssl.h>

struct audit_conn;

/* A TLS client context: verification against ca_file (NULL: system store), optional client
 * certificate and key. NULL with err. */
SSL_CTX *audit_tls_client_ctx(const char *ca_file, const char *cert, const char *key, char *err,
                              size_t errlen);

/* Connect to host:port (resolving host), then TLS-handshake if tls is not NULL, checking the
 * certificate names server_name (NULL: host). NULL with err. */
struct audit_conn *audit_conn_open(const char *host, int port, SSL_CTX *tls,
                                   const char *server_name, int timeout_ms, char *err,
                                   size_t errlen);
void audit_conn_free(struct audit_conn *c);

/* Write all n bytes within timeout_ms. 0 or -1. */
int audit_conn_write(struct audit_conn *c, const void *buf, size_t n, int timeout_ms, char *err,
                     size_t errlen);

/* Read what is available (waiting up to timeout_ms): >0 bytes, 0 at end of stream, -1 on
 * error or timeout. */
ssize_t audit_conn_read(struct audit_conn *c, void *buf, size_t cap, int timeout_ms, char *err,
                        size_t errlen);

/* Bytes written to the socket so far (TLS: record bytes), and how many of them the peer has
 * acknowledged. *alive is false when the peer closed or reset the connection (any data it
 * sends is read and discarded). */
uint64_t audit_conn_written(const struct audit_conn *c);
uint64_t audit_conn_acked(struct audit_conn *c, bool *alive);

/* Close our sending side (TLS close_notify, then FIN) and wait for the peer to close: when it
 * does, it has read everything we sent. 0 if it closed cleanly within timeout_ms, else -1. */
int audit_conn_finish(struct audit_conn *c, int timeout_ms);

#endif
