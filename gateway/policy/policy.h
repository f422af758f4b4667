/*
 * policy: Warden's catalog-style authorization policy (Unity-Catalog shaped). This header is
 * the whole public API of the policy engine; the language itself is specified in
 * policies/README.md.
 *
 * Life cycle. policy_compile() reads policy files, parses and checks them and builds an
 * immutable, reference-counted snapshot. A policy set with any error is refused as a whole:
 * compile returns NULL and every error is listed in a struct policy_diag as
 * "file:line:column: message". A snapshot never changes after compile, so any number of
 * threads may call policy_decide()/policy_explain() on it concurrently; whoever holds a
 * reference (policy_snapshot_ref/unref) keeps it alive. policy_store (store.h) is the
 * thread-safe holder that swaps snapshots on reload.
 *
 * Decisions. policy_decide() answers "may this subject exercise this privilege on this
 * securable" with O(depth x principals) hash look-ups and no allocation: every principal and
 * securable name is interned at compile time and looked up at decision time by hashing the
 * caller's views. The decision says why (grant file:line and the level it was inherited from,
 * ownership, admin) or why not (the first missing privilege and where it was needed).
 * policy_explain() renders the full chain of reasoning as text (allocates; not for the hot
 * path). Thread: compile on a non-request thread; decide/explain on any thread.
 */
#ifndef WARDEN_POLICY_POLICY_H
#define WARDEN_POLICY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Securable types, from the top of the hierarchy down. */
enum policy_kind {
    POLICY_KIND_CATALOG = 0,
    POLICY_KIND_SCHEMA,
    POLICY_KIND_EXPERIMENT,
    POLICY_KIND_MODEL,
    POLICY_KIND_COUNT
};

enum policy_priv {
    POLICY_PRIV_USE_CATALOG = 0,
    POLICY_PRIV_USE_SCHEMA,
    POLICY_PRIV_BROWSE,
    POLICY_PRIV_CREATE_EXPERIMENT,
    POLICY_PRIV_CREATE_MODEL,
    POLICY_PRIV_READ,
    POLICY_PRIV_MODIFY,
    POLICY_PRIV_EXECUTE,
    POLICY_PRIV_APPLY_TAG,
    POLICY_PRIV_CREATE_MODEL_VERSION,
    POLICY_PRIV_MANAGE,
    POLICY_PRIV_ALL_PRIVILEGES, /* grantable; never a decision input */
    POLICY_PRIV_COUNT
};

enum policy_principal_kind {
    POLICY_PRINCIPAL_USER = 0, /* alice@example.com or user:name */
    POLICY_PRINCIPAL_GROUP,    /* group:name */
    POLICY_PRINCIPAL_SP,       /* sp:name (service principal) */
};

/* Why a decision came out the way it did. */
enum policy_reason {
    POLICY_REASON_GRANT = 0,    /* allowed: a grant on the securable or an ancestor */
    POLICY_REASON_OWNER,        /* allowed: the subject (or one of its groups) owns it */
    POLICY_REASON_PARENT_OWNER, /* allowed: owner of a containing catalog/schema (MANAGE,
                                   BROWSE, USE SCHEMA only) */
    POLICY_REASON_ADMIN,        /* allowed only because the subject is in the admin group */
    POLICY_REASON_NO_PRIVILEGE, /* denied: the requested privilege is not held */
    POLICY_REASON_NO_TRAVERSE,  /* denied: USE CATALOG / USE SCHEMA missing on a parent */
    POLICY_REASON_INVALID,      /* denied: malformed query (see policy_decide) */
};

/* A string view; need not be NUL-terminated. */
struct policy_str {
    const char *ptr;
    size_t len;
};

/* Who asks. user is the token subject; for a service principal set service_principal.
 * groups are the group names from the token's claims (no "group:" prefix). The engine adds
 * the groups the policy itself declares (CREATE GROUP), transitively. */
struct policy_subject {
    const char *user; /* NUL-terminated */
    bool service_principal;
    const char *const *groups; /* NUL-terminated names */
    size_t ngroups;
};

/* What is touched. catalog is always needed; schema for SCHEMA/EXPERIMENT/MODEL; name for
 * EXPERIMENT/MODEL. owner (optional, len 0 = none) is the owner recorded on the object itself
 * (the MLflow creator stamp), in principal notation ("alice@x", "sp:x", "group:x"); an owner
 * declared in the policy with ALTER ... OWNER TO takes precedence. */
struct policy_object {
    enum policy_kind kind;
    struct policy_str catalog, schema, name;
    struct policy_str owner;
};

/* Where a grant was written. */
struct policy_source {
    const char *file; /* path as given to policy_compile; owned by the snapshot */
    unsigned line, col;
};

struct policy_decision {
    bool allowed;
    bool admin;                /* the subject is in the admin group (whatever the outcome) */
    enum policy_reason reason; /* see enum */
    enum policy_priv needed;   /* the privilege asked for */
    /* Allowed by grant: the grant statement, the privilege it named (can be ALL PRIVILEGES),
     * the principal it named and the securable level it sits on (inherited_from ==
     * the object's own kind when granted directly). Allowed by owner: source = the
     * ALTER ... OWNER TO statement (file NULL if the owner came from the request). */
    struct policy_source source;
    enum policy_priv matched;
    enum policy_kind inherited_from;
    const char *principal; /* display form, e.g. "group:risk"; owned by the snapshot; NULL
                              when the owner came from the request (policy_object.owner) */
    /* Denied (or allowed via admin): the first missing privilege and the securable it was
     * needed on (missing_on is CATALOG for USE CATALOG, SCHEMA for USE SCHEMA, ...). */
    enum policy_priv missing;
    enum policy_kind missing_on;
    const char *version; /* policy version: SHA-256 hex; owned by the snapshot */
};

/* Diagnostics: every error of a compile, in order. */
struct policy_diag_entry {
    char *file;
    unsigned line, col;
    char *message; /* without location */
    char *text;    /* "file:line:col: message" */
};

struct policy_diag {
    struct policy_diag_entry *v;
    size_t count, cap;
};

#define POLICY_DIAG_MAX 500 /* errors beyond this collapse into one "too many errors" */

void policy_diag_init(struct policy_diag *d);
void policy_diag_deinit(struct policy_diag *d);
void policy_diag_clear(struct policy_diag *d);
/* Adds one error (printf-style message). Returns 0, or -1 when out of memory. */
int policy_diag_add(struct policy_diag *d, const char *file, unsigned line, unsigned col,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* All entries joined by '\n' into buf (truncated to buflen). Returns the full length. */
size_t policy_diag_format(const struct policy_diag *d, char *buf, size_t buflen);

/* In-memory policy text, for policy_compile_buffers (tests, fuzzing, the admin API). */
struct policy_text {
    const char *name; /* file name used in diagnostics */
    const char *data;
    size_t len;
};

struct policy_snapshot;

/* Reads and compiles the policy files. Each path is a file, or a directory whose regular
 * files named *.policy are taken in byte-wise lexical order of their names (not recursive);
 * files are compiled in the order given. Returns a snapshot with one reference, or NULL with
 * the errors in diag (diag may be NULL). */
struct policy_snapshot *policy_compile(const char *const *paths, size_t npaths,
                                       struct policy_diag *diag);
/* Same, from memory: pure (no I/O, clocks or globals). */
struct policy_snapshot *policy_compile_buffers(const struct policy_text *texts, size_t ntexts,
                                               struct policy_diag *diag);
/* Expands the paths as policy_compile does into a NULL-terminated, malloc'd list of
 * malloc'd file names (free with policy_paths_free). Returns 0, or -1 with err set. */
int policy_paths_expand(const char *const *paths, size_t npaths, char ***out, size_t *nout,
                        char *err, size_t errlen);
void policy_paths_free(char **list, size_t n);

struct policy_snapshot *policy_snapshot_ref(struct policy_snapshot *s);
void policy_snapshot_unref(struct policy_snapshot *s); /* NULL is a no-op */
/* The policy version: lowercase SHA-256 hex of the bytes of all files, concatenated in
 * compile order (so `cat f1 f2 | sha256sum` gives the same value). */
const char *policy_snapshot_version(const struct policy_snapshot *s);
size_t policy_snapshot_file_count(const struct policy_snapshot *s);
const char *policy_snapshot_file(const struct policy_snapshot *s, size_t i);
/* Approximate heap bytes held by the snapshot. */
size_t policy_snapshot_memory(const struct policy_snapshot *s);

/*
 * Decides whether `who` holds `priv` on `obj` under the rules of policies/README.md and fills
 * *out. Returns 0 when the query was well-formed (out->allowed says the answer), or -1 when
 * it was not (NULL arguments, unknown kind, empty or missing name parts, ALL PRIVILEGES asked,
 * a privilege that does not apply to the object's type, too many principals): then out, if
 * not NULL, is a denial with reason POLICY_REASON_INVALID. Fail closed: anything but
 * (0, allowed) is a denial. Never allocates; thread-safe on a shared snapshot.
 */
int policy_decide(const struct policy_snapshot *s, const struct policy_subject *who,
                  enum policy_priv priv, const struct policy_object *obj,
                  struct policy_decision *out);

/* Writes the decision and its full chain of reasoning as multi-line text into buf
 * (NUL-terminated, truncated to buflen). Returns the length the full text needs; fills *out
 * too when out is not NULL. Return value semantics of the decision as for policy_decide,
 * reported through out->reason. */
size_t policy_explain(const struct policy_snapshot *s, const struct policy_subject *who,
                      enum policy_priv priv, const struct policy_object *obj, char *buf,
                      size_t buflen, struct policy_decision *out);

/* ---- on behalf of a user: delegation and token scopes ---- */

/*
 * A request made by an actor (an agent, usually a service principal) for a subject (the user
 * whose rights apply) is allowed when all three sides agree (policies/README.md, "Acting for
 * users"):
 *   - the subject holds the privilege (policy_decide on the subject, admin included);
 *   - the token's scopes cover it (policy_scope_mask; no mlflow: scope = not restricted);
 *   - a GRANT DELEGATION statement lets the actor (or one of its groups) act for the subject
 *     (or one of its groups), on the securable or a container of it (or everywhere), with a
 *     LIMIT that passes the privilege.
 * Without an actor only the first two apply: a downscoped token bounds its own holder too.
 */

/* Privileges a set of token scopes allows, one bit per enum policy_priv. Scopes in the
 * "mlflow:" namespace restrict the token: mlflow:read (USE CATALOG, USE SCHEMA, BROWSE, READ,
 * EXECUTE), mlflow:write (read + MODIFY, APPLY TAG, CREATE EXPERIMENT, CREATE MODEL, CREATE
 * MODEL VERSION), mlflow:manage (write + MANAGE); an unknown mlflow: scope adds nothing. A
 * token with no mlflow: scope is not restricted (POLICY_SCOPES_ALL): its other scopes belong
 * to other services. Pure; any thread. */
#define POLICY_SCOPES_ALL ((1u << POLICY_PRIV_COUNT) - 1)
uint32_t policy_scope_mask(const char *const *scopes, size_t n);

/* Which side of an on-behalf-of decision lacked the privilege. */
enum policy_obo_side {
    POLICY_OBO_OK = 0,        /* allowed */
    POLICY_OBO_NO_DELEGATION, /* no delegation lets the actor act for the subject (here) */
    POLICY_OBO_LIMIT,         /* delegations exist, but their LIMITs do not pass the privilege */
    POLICY_OBO_SCOPE,         /* the token's scopes do not cover the privilege */
    POLICY_OBO_SUBJECT,       /* the subject lacks it (subject.reason/missing say what) */
    POLICY_OBO_INVALID,       /* malformed query (as policy_decide's -1) */
};
#define POLICY_OBO_BIT(side) (1u << (side))

struct policy_obo_decision {
    bool allowed;
    enum policy_obo_side side;      /* the first lacking side, in enum order */
    unsigned lacking;               /* POLICY_OBO_BIT of every side that lacked */
    bool on_behalf;                 /* an actor was given */
    struct policy_decision subject; /* the subject's own decision (reason ADMIN included) */
    uint32_t scope_mask;            /* as passed */
    /* Delegation (on_behalf only): the privileges the matching statements pass together (with
     * USE CATALOG, USE SCHEMA and BROWSE implied), and the statement that passes the privilege
     * asked (or, when none does, the first that matched). */
    bool delegated; /* at least one statement matched actor, subject and securable */
    uint32_t delegation_mask;
    struct policy_source delegation;
    const char *delegation_actor; /* display forms of that statement's principals, e.g. */
    const char *delegation_for;   /* "sp:notebook-agent" and "group:data-scientists" */
    const char *version;
};

/*
 * Decides a request by actor (may be NULL: the subject acts itself) for subject, under the
 * token scopes' privilege mask (policy_scope_mask, POLICY_SCOPES_ALL for none). The actor's
 * user/service principal, token groups and policy groups are matched against delegation
 * statements; its own grants play no part. Returns 0 (out->allowed is the answer) or -1 for a
 * malformed query (out->side INVALID). Never allocates; thread-safe on a shared snapshot.
 */
int policy_decide_obo(const struct policy_snapshot *s, const struct policy_subject *subject,
                      const struct policy_subject *actor, uint32_t scope_mask,
                      enum policy_priv priv, const struct policy_object *obj,
                      struct policy_obo_decision *out);

/*
 * One client-safe sentence for a denial (or "allowed"), naming the side that lacked what, e.g.
 *   agent sp:notebook-agent has no delegation to act for alice@acme.example on EXPERIMENT ml.x.y
 *   delegation of sp:notebook-agent for alice@acme.example limits to READ, EXECUTE; MODIFY needed
 *   the token's scopes allow READ, EXECUTE; MODIFY needed
 *   alice@acme.example lacks MODIFY on EXPERIMENT ml.x.y
 * (USE CATALOG/USE SCHEMA/BROWSE are left out of the lists.) Returns the length needed.
 */
size_t policy_obo_message(const struct policy_obo_decision *d, const struct policy_subject *subject,
                          const struct policy_subject *actor, const struct policy_object *obj,
                          char *buf, size_t buflen);

/* policy_explain for an on-behalf-of decision: the subject's chain of reasoning, then the
 * token scopes and every delegation statement that names the actor, and whether it matched.
 * Returns the length the full text needs. */
size_t policy_explain_obo(const struct policy_snapshot *s, const struct policy_subject *subject,
                          const struct policy_subject *actor, uint32_t scope_mask,
                          enum policy_priv priv, const struct policy_object *obj, char *buf,
                          size_t buflen, struct policy_obo_decision *out);

const char *policy_obo_side_name(enum policy_obo_side side); /* "delegation", "limit", ... */
/* Comma-separated privilege names of mask into buf, skipping USE CATALOG, USE SCHEMA and
 * BROWSE when skip_implied; "nothing" for an empty list. Returns the length needed. */
size_t policy_privs_format(uint32_t mask, bool skip_implied, char *buf, size_t buflen);

/* ---- names and keywords ---- */

const char *policy_priv_name(enum policy_priv p);     /* "CREATE MODEL VERSION" */
const char *policy_kind_name(enum policy_kind k);     /* "EXPERIMENT" */
const char *policy_reason_name(enum policy_reason r); /* "grant", "no-privilege", ... */
/* Case-insensitive; words separated by spaces or underscores. Returns 0 or -1. */
int policy_priv_parse(const char *s, size_t len, enum policy_priv *out);
int policy_kind_parse(const char *s, size_t len, enum policy_kind *out);
/* Principal notation: "group:x", "sp:x", "user:x" (prefixes case-insensitive) or a bare user
 * name ("alice@example.com"; a ':' before any '@' needs the user: prefix). name is a view
 * into s. Returns 0, or -1 with a message in err. */
int policy_principal_parse(const char *s, size_t len, enum policy_principal_kind *kind,
                           struct policy_str *name, char *err, size_t errlen);
/* Whether privilege p may be granted on / asked about a securable of kind k. */
bool policy_priv_applies(enum policy_priv p, enum policy_kind k);

/* Parses a dotted securable name ("risk.fraud.`model v2`") with the policy language's
 * rules for kind k into obj->catalog/schema/name (views into the unescaped copy written to
 * buf, which needs len bytes). Returns 0, or -1 with a message in err. */
int policy_name_parse(enum policy_kind k, const char *s, size_t len, char *buf,
                      struct policy_object *obj, char *err, size_t errlen);
/* Formats obj's name in the policy language (parts backtick-quoted when needed) into buf.
 * Returns the length needed. */
size_t policy_name_format(const struct policy_object *obj, char *buf, size_t buflen);

/* ---- introspection (SHOW GRANTS, wardenctl) ---- */

struct policy_grant_info {
    enum policy_priv priv;
    enum policy_kind kind; /* securable */
    struct policy_str catalog, schema, name;
    enum policy_principal_kind principal_kind;
    const char *principal; /* display form ("group:risk") */
    struct policy_source source;
};

struct policy_owner_info {
    enum policy_kind kind;
    struct policy_str catalog, schema, name;
    enum policy_principal_kind principal_kind;
    const char *principal;
    struct policy_source source;
};

struct policy_group_info {
    const char *group;  /* name without prefix */
    const char *member; /* display form */
    struct policy_source source;
};

size_t policy_snapshot_grant_count(const struct policy_snapshot *s);
void policy_snapshot_grant(const struct policy_snapshot *s, size_t i,
                           struct policy_grant_info *out);
size_t policy_snapshot_owner_count(const struct policy_snapshot *s);
void policy_snapshot_owner(const struct policy_snapshot *s, size_t i,
                           struct policy_owner_info *out);
size_t policy_snapshot_member_count(const struct policy_snapshot *s);
void policy_snapshot_member(const struct policy_snapshot *s, size_t i,
                            struct policy_group_info *out);
/* GRANT DELEGATION statements, in statement order. securable kind/name are meaningful only
 * when everywhere is false. mask: the LIMIT as written (ALL PRIVILEGES kept as its bit). */
struct policy_delegation_info {
    enum policy_principal_kind actor_kind, subject_kind;
    const char *actor;   /* display form ("sp:notebook-agent") */
    const char *subject; /* display form ("group:data-scientists") */
    bool everywhere;
    enum policy_kind kind;
    struct policy_str catalog, schema, name;
    uint32_t mask;
    struct policy_source source;
};
size_t policy_snapshot_delegation_count(const struct policy_snapshot *s);
void policy_snapshot_delegation(const struct policy_snapshot *s, size_t i,
                                struct policy_delegation_info *out);
/* The admin group's name, or NULL when the policy sets none. */
const char *policy_snapshot_admin_group(const struct policy_snapshot *s);
/* Whether the principal (display notation, e.g. "alice@x" or "group:risk") is, directly or
 * transitively, a member of group (name without prefix) by the policy's CREATE GROUP
 * statements. A group is a member of itself. */
bool policy_snapshot_in_group(const struct policy_snapshot *s, const char *principal,
                              const char *group);

#endif
