/*
 * naming: which securable an MLflow experiment or registered-model name stands for
 * (DESIGN.md §4 "Naming"; the rules are documented for operators in policies/README.md,
 * section "Naming"). Pure functions over the caller's bytes: no I/O, clocks, globals or
 * allocation; any thread.
 *
 * The rules, tried in this order (r = the configured struct naming_rules):
 *   (a) qualified: "catalog.schema.rest", where catalog and schema are bare words of the
 *       policy language ([A-Za-z0-9_]+, case-sensitive) and rest is non-empty (it may hold
 *       dots, slashes, spaces: "risk.fraud.a.b" is risk.fraud.`a.b`), maps to itself.
 *   (b) home (experiments only): "/Users/<user>/<rest>", user and rest non-empty, user
 *       without '/' or ':', maps to r->home_catalog.<user>.<rest>.
 *   (c) default: anything else maps to r->default_catalog.r->default_schema.<whole name>.
 * Every schema of the home catalog is a user's home: whenever the result lies in
 * r->home_catalog (rule (b), or rule (a) naming that catalog), home_user is the schema name.
 * The caller passes it as the owner of the schema when deciding CREATE EXPERIMENT / CREATE
 * MODEL there, and as the object's owner when the object carries no creator stamp
 * (lookup_owner() in mlflow/lookup.h).
 *
 * A name is refused (-1) when it is empty, not valid UTF-8, or contains a control character
 * (C0, DEL or C1: U+0000-U+001F, U+007F-U+009F). Everything else maps to exactly one
 * securable; near-misses of (a) and (b) fall to (c): "a..b", "a.b.", ".a.b", "a-b.c.d",
 * "/Users//x", "/Users/alice/", "/Users/alice", "/users/alice/x" and
 * "/Users/group:x/y" are all main.default.`<name>` with the default rules. Different MLflow
 * names can stand for the same securable ("x" and "main.default.x", "/Users/bob/x" and
 * "users.bob.x"): grants are on securables, owners on objects.
 */
#ifndef WARDEN_MLFLOW_NAMING_H
#define WARDEN_MLFLOW_NAMING_H

#include "policy/policy.h"

#include <stdbool.h>
#include <stddef.h>

/* The [policy] configuration (gateway/config.h struct policy_conf). Each string is a bare
 * word ([A-Za-z0-9_]+); home_catalog differs from default_catalog (naming_rules_check). */
struct naming_rules {
    const char *default_catalog; /* "main" */
    const char *default_schema;  /* "default" */
    const char *home_catalog;    /* "users" */
};

enum naming_what {
    NAMING_EXPERIMENT = 0,
    NAMING_MODEL, /* registered model or prompt; also AI-gateway endpoint names */
};

enum naming_rule {
    NAMING_RULE_QUALIFIED = 0, /* (a) */
    NAMING_RULE_HOME,          /* (b) */
    NAMING_RULE_DEFAULT,       /* (c) */
};

/* Views into the mapped name or into the rules' strings (valid while both are). */
struct naming_result {
    enum naming_rule rule;
    struct policy_str catalog, schema, name;
    struct policy_str home_user; /* len 0 when the securable is not in the home catalog */
};

/* Whether s is a bare word of the policy language: [A-Za-z0-9_]+. */
bool naming_is_bare_word(const char *s, size_t len);

/* Whether s is valid UTF-8 without control characters (C0, DEL, C1), and non-empty. */
bool naming_is_clean_text(const char *s, size_t len);

/* Checks the configured rules (each string a bare word, home_catalog != default_catalog).
 * Returns 0, or -1 with a message in err. Call it when loading the configuration. */
int naming_rules_check(const struct naming_rules *r, char *err, size_t errlen);

/* Maps an MLflow name (len bytes, need not be NUL-terminated) to its securable. Returns 0
 * with *out filled, or -1 with a message in err: invalid rules, empty name, invalid UTF-8 or
 * a control character. */
int naming_map(const struct naming_rules *r, enum naming_what what, const char *name, size_t len,
               struct naming_result *out, char *err, size_t errlen);

/* The securable as a policy object: kind EXPERIMENT or MODEL, owner as given (len 0 = none;
 * see lookup_owner()). Views as in res. */
void naming_object(const struct naming_result *res, enum naming_what what, struct policy_str owner,
                   struct policy_object *obj);

/* The schema the securable lives in (kind SCHEMA), owned by res->home_user when that is set:
 * the object to decide CREATE EXPERIMENT / CREATE MODEL on. */
void naming_schema_object(const struct naming_result *res, struct policy_object *obj);

/* Writes the securable's name in the policy language (policy_name_format: parts quoted with
 * backticks when they are not bare words) into buf, NUL-terminated and truncated to buflen.
 * Returns the length the full name needs (excluding the NUL). */
size_t naming_format(const struct naming_result *res, char *buf, size_t buflen);

#endif
