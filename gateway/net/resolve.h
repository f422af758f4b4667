/*
 * resolve: the facts authorisation needs about MLflow objects, fetched from MLflow with
 * Warden's own requests (net/subreq), cached per worker and coalesced (DESIGN.md §4
 * "Lookups"). Glue between mlflow/lookup (what to ask, how to read the answer), mlflow/rcache
 * (the cache and its waiter lists) and the worker's loop. Thread: the worker's loop only.
 *
 * resolve_get() answers at once from the cache (RESOLVE_OK with a view of the cached facts,
 * valid until the caller returns to the loop), or starts / joins the look-up for the key and
 * returns RESOLVE_PENDING: the callback then runs exactly once, from the loop, with the
 * outcome, unless the caller cancels its wait first. A look-up answered "does not exist"
 * gives RESOLVE_NOT_FOUND (not cached: an object created a moment later must resolve); any
 * other failure (connection, timeout, 5xx, an answer Warden cannot read) RESOLVE_ERROR.
 */
#ifndef WARDEN_NET_RESOLVE_H
#define WARDEN_NET_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>

#include "mlflow/routes.h"

struct worker;
struct resolve_wait;
struct resolve_cache;

enum resolve_rc {
    RESOLVE_OK = 0,
    RESOLVE_NOT_FOUND,
    RESOLVE_ERROR,
    RESOLVE_PENDING,
};

/* What is known about one object. Strings are NUL-terminated; absent ones are "" / 0. */
struct resolve_facts {
    const char *experiment_id; /* parent experiment (runs, traces, ...); the id itself for
                                  experiments */
    const char *name;          /* experiment or registered model name */
    const char *owner;         /* the warden.owner stamp, "" when none or unusable */
    bool owner_tagged;         /* the object carries a stamp (usable or not): then the home user of
                                  its name is not its owner */
    const char *const *experiment_ids; /* datasets: every experiment the dataset belongs to */
    size_t nexperiment_ids;
};

typedef void (*resolve_fn)(void *arg, enum resolve_rc rc, const struct resolve_facts *f,
                           const char *err);

/* Per-worker cache; created with the worker. */
struct resolve_cache *resolve_cache_new(void);
void resolve_cache_free(struct resolve_cache *c);

/* Which object kinds resolve_get() understands. */
bool resolve_supported(enum route_object kind);

enum resolve_rc resolve_get(struct worker *w, enum route_object kind, const char *id,
                            const char *request_id, struct resolve_facts *out, resolve_fn fn,
                            void *arg, struct resolve_wait **wait, char *err, size_t errlen);

/* Facts already in the cache (no look-up started); false when absent or expired. */
bool resolve_peek(struct worker *w, enum route_object kind, const char *id,
                  struct resolve_facts *out);

/* Stop waiting: the callback will not run. NULL is a no-op. */
void resolve_cancel(struct worker *w, struct resolve_wait *wait);

/* Forget what is cached about an object (Warden forwarded a write that may change it); the
 * other workers of this process forget everything they cached at their next look-up. */
void resolve_invalidate(struct worker *w, enum route_object kind, const char *id);
/* Forget everything cached by this worker (renames and deletions: name-keyed entries of the
 * old name cannot be found from the id). */
void resolve_clear(struct worker *w);

#endif
