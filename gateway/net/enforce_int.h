/*
 * enforce_int: the per-request state shared by enforce.c (routing, ids, decisions) and
 * enforce_filter.c (filtered searches). Private to those two files.
 */
#ifndef WARDEN_NET_ENFORCE_INT_H
#define WARDEN_NET_ENFORCE_INT_H

#include "mlflow/body.h"
#include "mlflow/filter.h"
#include "mlflow/graphql.h"
#include "mlflow/naming.h"
#include "auth/obo.h"
#include "net/enforce.h"
#include "net/resolve.h"

#define ENFORCE_MAGIC 0x454e4643u
#define MAX_ITEMS     1100 /* SearchRuns accepts many experiment ids; bounded all the same */
#define MAX_ID_LEN    4096
#define PREFETCH_MAX  1000

struct item {
    enum route_object obj;  /* what id names now (climbs: run -> experiment) */
    enum route_object orig; /* what the client named */
    enum policy_priv priv;
    char *id;       /* current id (owned) */
    char *orig_id;  /* as the client gave it (owned) */
    bool absent_ok; /* an id that names nothing is fine (a new OTLP trace) */
};

enum phase { PH_HEAD = 0, PH_BODY, PH_RESOLVE, PH_FILTER, PH_DONE };

struct enforce {
    unsigned magic;
    struct worker *w;
    const struct authn_identity *id; /* borrowed from the connection */
    struct authn_policy_view view;   /* subject, actor and scope mask for policy_decide_obo */
    const char *actor;               /* the current actor's id (on behalf of), or NULL */
    const struct policy_snapshot *snap;
    struct policy_subject who;
    const char *user; /* p->user without an "sp:" prefix */
    char request_id[129];
    enforce_fn done;
    void *done_arg;
    enum phase phase;
    const struct route *route;
    enum http1_method method;
    bool admin;

    struct item *items;
    size_t nitems, cap, cur;

    /* body */
    struct body_result *body;
    char *fwd; /* stamped body or the OTLP bytes (owned), else body->json is forwarded */
    size_t fwd_len;
    bool otlp_json;     /* OTLP body in JSON (else protobuf) */
    char fwd_type[128]; /* Content-Type of the forwarded body */

    /* look-up in flight */
    struct resolve_wait *wait;
    struct subreq *sub;

    /* GraphQL (non-admins): what the document touches */
    struct graphql_plan *gql;

    /* filtered search */
    const struct filter_spec *fspec;
    struct planner *planner;
    char *path;           /* the raw path as sent (forwarded as is) */
    char *raw_query;      /* GET: the raw query without '?' */
    char *client_headers; /* identity lines for requests made for the client (pages) */
    char *binding;        /* what a page token is tied to: user, route, query minus paging */
    size_t binding_len;
    long client_max;    /* the client's max_results, -1 when none */
    char *client_token; /* the client's page_token, NULL when none */
    char **prefetch;    /* keys of the current page still to resolve */
    size_t nprefetch, prefetch_cur;
    char *page; /* the upstream page being prefetched for (owned) */
    size_t page_len;

    /* outcome */
    int status;
    char *answer;
    size_t answer_len;
    char action[64];
    char obj_kind[24];
    char obj_name[384];
    const char *priv_name;
    char grant[256];       /* the grant or ownership that allowed the last decision */
    char late_denial[400]; /* refused once every item was allowed (a model version's source) */
    const char *reason;
    bool allowed;
};

extern struct filter_key g_enforce_page_key;

__attribute__((format(printf, 4, 5))) enum enforce_verdict
enforce_fail(struct enforce *e, int status, const char *reason, const char *fmt, ...);
enum enforce_verdict enforce_allow(struct enforce *e);
/* Decide BROWSE-style visibility of a named object without answering: true when allowed. */
bool enforce_visible(struct enforce *e, enum naming_what what, const char *name, size_t len,
                     const char *owner, bool owner_tagged, enum policy_priv priv);

void enforce_prefetch_clear(struct enforce *e);
enum enforce_verdict enforce_filter_start(struct enforce *e);
enum enforce_verdict enforce_filter_resume(struct enforce *e, enum resolve_rc rc,
                                           const struct resolve_facts *f);
/* The resolve callback of every look-up an enforce starts. */
void enforce_on_resolved(void *arg, enum resolve_rc rc, const struct resolve_facts *f,
                         const char *err);

#endif
