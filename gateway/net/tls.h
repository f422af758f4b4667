/*
 * tls: server-side TLS contexts for listeners (OpenSSL 3). One SSL_CTX per TLS listener,
 * created at start-up and shared read-only by all workers (SSL_new per connection is
 * thread-safe). TLS 1.2 minimum, no compression, no renegotiation, server cipher preference.
 */
#ifndef WARDEN_NET_TLS_H
#define WARDEN_NET_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <openssl/ssl.h>

/* Build a context from PEM cert chain and key files. With client_ca, client certificates are
 * requested and verified against it (required: a handshake without one fails). NULL with a
 * message in err on failure. */
SSL_CTX *tls_server_ctx_new(const char *cert_file, const char *key_file, const char *client_ca,
                            bool required, char *err, size_t errlen);
void tls_server_ctx_free(SSL_CTX *ctx);

#endif
