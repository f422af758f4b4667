/*
 * admin: the admin plane listener (loopback by default), served by its own thread and event
 * loop with libevent's evhttp (fine here: small bodies, trusted network, never on the data
 * path). Endpoints: GET /healthz, GET /readyz, GET /metrics, POST /reload, and the upstream
 * assertion key set at GET /.well-known/jwks.json (and /jwks.json). It also runs the policy
 * file watcher on its loop.
 */
#ifndef WARDEN_ADMIN_ADMIN_H
#define WARDEN_ADMIN_ADMIN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct admin;
struct evhttp_request;
struct reload_ctx;

/* reload (may hold NULL members) gives POST /reload, the policy file watcher (every
 * watch_ms; 0 = off) and the policy/authentication figures in /metrics. */
struct admin *admin_new(const char *address, const struct sockaddr *upstream, socklen_t uplen,
                        const struct reload_ctx *reload, int64_t watch_ms, char *err,
                        size_t errlen);
/* Serve json (copied) at GET /.well-known/jwks.json and /jwks.json: the key set that
 * verifies Warden's upstream identity assertions (auth/assertion.h,
 * assertion_signer_jwks). Call before admin_start(). Without it those paths answer 404. */
int admin_set_jwks(struct admin *a, const char *json, size_t len);
/* The port actually bound (address may ask for port 0). */
int admin_port(const struct admin *a);
int admin_start(struct admin *a);
void admin_stop(struct admin *a); /* thread-safe; joins the thread */
void admin_free(struct admin *a);

#endif
