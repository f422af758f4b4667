/*
 * subreq: Warden's own requests to the upstream (MLflow), made on a worker's loop: parent
 * look-ups for authorisation (run -> experiment, experiment -> name and owner, ...) and the
 * extra pages a filtered search needs. A subrequest borrows a connection from the worker's
 * upstream pool, sends one small request with a body held in memory, reads the whole answer
 * into memory (bounded) and calls back once. Nothing is streamed: these answers are small JSON
 * documents Warden parses.
 *
 * Ownership: the subrequest owns its upstream connection and buffers until it calls back or is
 * cancelled; the callback's body pointer is valid only during the call. Exactly one of
 * (callback, subreq_cancel) ends a subrequest; after either, the handle is gone.
 * A pooled connection the upstream closed while idle is detected by an EOF before any byte of
 * the answer; the request is then sent once more on a fresh connection (every subrequest is a
 * read, so repeating it is safe). Thread: the worker's loop only.
 */
#ifndef WARDEN_NET_SUBREQ_H
#define WARDEN_NET_SUBREQ_H

#include <stddef.h>

struct worker;
struct subreq;

/* The upstream answered (status 100..599, body of len bytes) or failed (status 0: err says
 * why: connect refused, timeout, malformed answer, answer over the size limit). */
typedef void (*subreq_fn)(void *arg, int status, const char *body, size_t len, const char *err);

/*
 * Start "method target" (origin-form, already percent-encoded) with an optional JSON body
 * (body NULL or blen 0: none). request_id is sent as X-Request-Id so MLflow's logs tie the
 * look-up to the client request. headers: NULL for Warden's own look-ups (they carry the
 * [upstream] service credential, if any), or complete header lines ("Name: value\r\n"...)
 * for requests made for the client (the pages of a filtered search carry the client's
 * identity exactly as its forwarded requests do). Returns the handle, or NULL when the pool has no
 * connection to lend (max_conns reached) or memory ran out: then the callback is never called.
 */
struct subreq *subreq_start(struct worker *w, const char *method, const char *target,
                            const char *body, size_t blen, const char *request_id,
                            const char *headers, subreq_fn fn, void *arg);

/* Abandon a running subrequest: its connection is closed, the callback will not run. */
void subreq_cancel(struct subreq *s);

#endif
