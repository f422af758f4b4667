/*
 * https_fetch: a small blocking HTTPS GET client for the authentication control thread (OIDC
 * discovery documents and JWKS). Blocking is deliberate: it runs only on the control thread,
 * never on a worker, and every step is bounded by one overall deadline. TLS 1.2+, peer
 * certificate verified against ca_file (or the system store) and the URL's host name; no
 * redirects, no proxies, no plain http. Responses: status 200 only; Content-Length, chunked or
 * read-until-close bodies, at most max_body bytes.
 */
#ifndef WARDEN_AUTH_HTTPS_FETCH_H
#define WARDEN_AUTH_HTTPS_FETCH_H

#include <stddef.h>

/* Split https://host[:port]/path. host/path buffers get NUL-terminated copies. */
int https_url_split(const char *url, char *host, size_t hostlen, int *port, char *path,
                    size_t pathlen);

/* GET url. On success *body is a malloc'ed NUL-terminated buffer of *len bytes. */
int https_get(const char *url, const char *ca_file, int timeout_ms, size_t max_body, char **body,
              size_t *len, char *err, size_t errlen);

#endif
