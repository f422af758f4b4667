/*
 * ctl_policy: wardenctl check / explain / test / grants (see ctl_policy.h). Argument parsing,
 * the expected-decisions table format (policies/README.md "Testing policies") and output
 * formatting live here; every decision comes from policy_decide/policy_explain.
 */
#include "tools/ctl_policy.h"

#include "policy/policy.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PATHS  256
#define MAX_GROUPS 128

static const char usage[] =
    "policy commands:\n"
    "  check   [--policy PATH]... [PATH...]\n"
    "          compile the policy files (a directory contributes its *.policy files in\n"
    "          lexical order) and list every error as file:line:column: message\n"
    "  explain --policy PATH... --user PRINCIPAL [--groups G1,G2] --privilege PRIV\n"
    "          --on TYPE NAME [--owner PRINCIPAL] [--actor PRINCIPAL [--actor-groups G1,G2]]\n"
    "          [--scopes S1,S2]\n"
    "          print the decision and its chain of reasoning (exit 0 allow, 1 deny); with\n"
    "          --actor (an agent acting for the user) or --scopes (the token's scopes, e.g.\n"
    "          mlflow:read), the on-behalf-of decision: delegations and scopes too\n"
    "  test    --policy PATH... TABLE...\n"
    "          check a table of expected decisions; every mismatch is explained\n"
    "  grants  --policy PATH... (--on TYPE NAME | --principal PRINCIPAL [--groups G1,G2])\n"
    "          SHOW GRANTS: direct and inherited grants on a securable, or everything a\n"
    "          principal holds directly or through its groups; then the GRANT DELEGATION\n"
    "          statements that apply there or that name the principal (as actor or subject)\n"
    "PRINCIPAL: alice@example.com, user:name, sp:name, group:name.  PRIV: READ, USE_SCHEMA,\n"
    "'CREATE MODEL', ...  TYPE: CATALOG, SCHEMA, EXPERIMENT, MODEL.\n";

const char *ctl_policy_usage(void)
{
    return usage;
}

bool ctl_policy_handles(const char *sub)
{
    return sub && (!strcmp(sub, "check") || !strcmp(sub, "explain") || !strcmp(sub, "test") ||
                   !strcmp(sub, "grants"));
}

struct opts {
    const char *paths[MAX_PATHS];
    size_t npaths;
    const char *args[MAX_PATHS]; /* positional */
    size_t nargs;
    const char *user, *groups, *privilege, *on_type, *on_name, *owner, *principal;
    const char *actor, *actor_groups, *scopes;
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "wardenctl: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s", usage);
    return 2;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof(*o));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (!strcmp(a, "--policy")) {
            if (i + 1 >= argc)
                return usage_error("%s needs a value", a);
            if (o->npaths == MAX_PATHS)
                return usage_error("too many %s paths", a);
            o->paths[o->npaths++] = argv[++i];
            continue;
        }
        if (!strcmp(a, "--on")) {
            if (i + 2 >= argc)
                return usage_error("%s needs TYPE and NAME", a);
            o->on_type = argv[++i];
            o->on_name = argv[++i];
            continue;
        }
        if (!strcmp(a, "--user"))
            slot = &o->user;
        else if (!strcmp(a, "--groups"))
            slot = &o->groups;
        else if (!strcmp(a, "--privilege"))
            slot = &o->privilege;
        else if (!strcmp(a, "--owner"))
            slot = &o->owner;
        else if (!strcmp(a, "--principal"))
            slot = &o->principal;
        else if (!strcmp(a, "--actor"))
            slot = &o->actor;
        else if (!strcmp(a, "--actor-groups"))
            slot = &o->actor_groups;
        else if (!strcmp(a, "--scopes"))
            slot = &o->scopes;
        if (slot) {
            if (i + 1 >= argc)
                return usage_error("%s needs a value", a);
            *slot = argv[++i];
            continue;
        }
        if (a[0] == '-' && a[1] == '-')
            return usage_error("unknown option %s", a);
        if (o->nargs == MAX_PATHS)
            return usage_error("too many arguments");
        o->args[o->nargs++] = a;
    }
    return 0;
}

static struct policy_snapshot *load(const char *const *paths, size_t n)
{
    struct policy_diag d;
    policy_diag_init(&d);
    struct policy_snapshot *s = policy_compile(paths, n, &d);
    for (size_t i = 0; i < d.count; i++)
        fprintf(stderr, "%s\n", d.v[i].text);
    if (!s)
        fprintf(stderr, "policy refused: %zu error(s)\n", d.count);
    policy_diag_deinit(&d);
    return s;
}

/* Splits "a,b,c" into groups (modifies a copy held by the caller). "-" or "" means none. */
static size_t split_groups(char *list, const char **out, size_t max)
{
    size_t n = 0;
    if (!list || !*list || !strcmp(list, "-"))
        return 0;
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t && n < max;
         t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        if (*t)
            out[n++] = t;
    }
    return n;
}

/* Parses a subject principal: users and service principals only. */
static int parse_subject(const char *text, struct policy_subject *who, char *buf, size_t buflen,
                         char *err, size_t errlen)
{
    enum policy_principal_kind k;
    struct policy_str name;
    if (policy_principal_parse(text, strlen(text), &k, &name, err, errlen) < 0)
        return -1;
    if (k == POLICY_PRINCIPAL_GROUP) {
        snprintf(err, errlen, "the subject must be a user or sp:, not a group (use --groups)");
        return -1;
    }
    if (name.len >= buflen) {
        snprintf(err, errlen, "principal too long");
        return -1;
    }
    memcpy(buf, name.ptr, name.len);
    buf[name.len] = '\0';
    who->user = buf;
    who->service_principal = k == POLICY_PRINCIPAL_SP;
    return 0;
}

static int parse_priv(const char *text, enum policy_priv *p, char *err, size_t errlen)
{
    if (policy_priv_parse(text, strlen(text), p) < 0 || *p == POLICY_PRIV_ALL_PRIVILEGES) {
        snprintf(err, errlen, "unknown privilege '%s'", text);
        return -1;
    }
    return 0;
}

static int parse_target(const char *type, const char *name, char *buf, struct policy_object *obj,
                        char *err, size_t errlen)
{
    enum policy_kind k;
    if (policy_kind_parse(type, strlen(type), &k) < 0) {
        snprintf(err, errlen, "unknown securable type '%s' (CATALOG, SCHEMA, EXPERIMENT, MODEL)",
                 type);
        return -1;
    }
    return policy_name_parse(k, name, strlen(name), buf, obj, err, errlen);
}

/* ---- check ---- */

static int cmd_check(struct opts *o)
{
    for (size_t i = 0; i < o->nargs && o->npaths < MAX_PATHS; i++)
        o->paths[o->npaths++] = o->args[i];
    if (o->npaths == 0)
        return usage_error("check needs --policy PATH");
    struct policy_snapshot *s = load(o->paths, o->npaths);
    if (!s)
        return 1;
    printf("policy OK: %zu file(s), %zu grant(s), %zu owner(s), %zu group membership(s), "
           "%zu delegation(s); admin group %s\nversion %s\n",
           policy_snapshot_file_count(s), policy_snapshot_grant_count(s),
           policy_snapshot_owner_count(s), policy_snapshot_member_count(s),
           policy_snapshot_delegation_count(s),
           policy_snapshot_admin_group(s) ? policy_snapshot_admin_group(s) : "(none)",
           policy_snapshot_version(s));
    policy_snapshot_unref(s);
    return 0;
}

/* ---- explain ---- */

/* The token scopes of --scopes / scopes=: "a,b" -> privilege mask (POLICY_SCOPES_ALL for
 * none). */
static uint32_t scope_mask_of(const char *list)
{
    char buf[1024];
    const char *v[64];
    if (!list)
        return POLICY_SCOPES_ALL;
    snprintf(buf, sizeof(buf), "%s", list);
    size_t n = split_groups(buf, v, 64);
    return policy_scope_mask(v, n);
}

static int cmd_explain(struct opts *o)
{
    char err[512], user[1024], auser[1024], *groups = NULL, *agroups = NULL, *namebuf = NULL,
                                            *text = NULL;
    const char *glist[MAX_GROUPS], *aglist[MAX_GROUPS];
    struct policy_subject who = {0}, actor = {0};
    bool obo = o->actor || o->scopes;
    struct policy_object obj;
    enum policy_priv priv;
    struct policy_decision d;
    int rc = 2;
    if (o->npaths == 0 || !o->user || !o->privilege || !o->on_type)
        return usage_error("explain needs --policy, --user, --privilege and --on");
    if (parse_subject(o->user, &who, user, sizeof(user), err, sizeof(err)) < 0 ||
        parse_priv(o->privilege, &priv, err, sizeof(err)) < 0 ||
        (o->actor && parse_subject(o->actor, &actor, auser, sizeof(auser), err, sizeof(err)) < 0))
        goto bad;
    if (o->actor_groups && !o->actor) {
        snprintf(err, sizeof(err), "--actor-groups needs --actor");
        goto bad;
    }
    namebuf = malloc(strlen(o->on_name) + 1);
    groups = o->groups ? strdup(o->groups) : NULL;
    agroups = o->actor_groups ? strdup(o->actor_groups) : NULL;
    if (!namebuf || (o->groups && !groups) || (o->actor_groups && !agroups))
        goto out;
    actor.ngroups = split_groups(agroups, aglist, MAX_GROUPS);
    actor.groups = aglist;
    if (parse_target(o->on_type, o->on_name, namebuf, &obj, err, sizeof(err)) < 0)
        goto bad;
    if (o->owner) {
        obj.owner.ptr = o->owner;
        obj.owner.len = strlen(o->owner);
    }
    who.ngroups = split_groups(groups, glist, MAX_GROUPS);
    who.groups = glist;
    struct policy_snapshot *s = load(o->paths, o->npaths);
    if (!s) {
        rc = 1;
        goto out;
    }
    if (obo) {
        struct policy_obo_decision od;
        const struct policy_subject *act = o->actor ? &actor : NULL;
        uint32_t sm = scope_mask_of(o->scopes);
        size_t need = policy_explain_obo(s, &who, act, sm, priv, &obj, NULL, 0, &od);
        text = malloc(need + 1);
        if (text) {
            policy_explain_obo(s, &who, act, sm, priv, &obj, text, need + 1, &od);
            fputs(text, stdout);
            rc = od.side == POLICY_OBO_INVALID ? 2 : od.allowed ? 0 : 1;
        }
    } else {
        size_t need = policy_explain(s, &who, priv, &obj, NULL, 0, &d);
        text = malloc(need + 1);
        if (text) {
            policy_explain(s, &who, priv, &obj, text, need + 1, &d);
            fputs(text, stdout);
            rc = d.reason == POLICY_REASON_INVALID ? 2 : d.allowed ? 0 : 1;
        }
    }
    policy_snapshot_unref(s);
    goto out;
bad:
    fprintf(stderr, "wardenctl explain: %s\n", err);
out:
    free(text);
    free(groups);
    free(agroups);
    free(namebuf);
    return rc;
}

/* ---- test ---- */

/* Splits a table line into whitespace-separated fields; backtick-quoted runs may contain
 * spaces. Returns the number of fields. */
static size_t split_fields(char *line, char **f, size_t max)
{
    size_t n = 0;
    char *p = line;
    while (*p && n < max) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '#')
            break;
        f[n++] = p;
        bool q = false;
        while (*p && (q || (*p != ' ' && *p != '\t'))) {
            if (*p == '`')
                q = !q;
            p++;
        }
        if (*p)
            *p++ = '\0';
    }
    return n;
}

static void print_indented(const char *text)
{
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        printf("    %.*s\n", (int)n, p);
        p += n + (nl ? 1 : 0);
    }
}

#define ROW_OPTIONS "[owner=PRINCIPAL] [actor=PRINCIPAL] [actor-groups=G1,G2] [scopes=S1,S2]"

/* deny:SIDE expectations of on-behalf-of rows (policy_obo_side_name). */
static int deny_side(const char *expect, enum policy_obo_side *side)
{
    if (strncasecmp(expect, "deny:", 5) != 0)
        return 0;
    for (int k = POLICY_OBO_NO_DELEGATION; k < POLICY_OBO_INVALID; k++)
        if (!strcmp(expect + 5, policy_obo_side_name((enum policy_obo_side)k))) {
            *side = (enum policy_obo_side)k;
            return 1;
        }
    return -1;
}

/* One table row: expect subject groups privilege TYPE NAME [options]. Returns 0 pass,
 * 1 mismatch, 2 malformed row. */
static int run_row(const struct policy_snapshot *s, const char *file, unsigned lineno, char **f,
                   size_t nf)
{
    char err[512], user[1024], auser[1024], namebuf[4096], text[16384];
    const char *glist[MAX_GROUPS], *aglist[MAX_GROUPS];
    struct policy_subject who = {0}, actor = {0};
    struct policy_object obj;
    enum policy_priv priv;
    struct policy_decision d;
    const char *expect = f[0];
    const char *owner = NULL, *act = NULL, *agroups = NULL, *scopes = NULL;
    bool want_allow = !strcasecmp(expect, "allow"), want_admin = !strcasecmp(expect, "admin");
    enum policy_obo_side want_side = POLICY_OBO_OK;
    int ds = deny_side(expect, &want_side);
    if (nf < 6) {
        fprintf(stderr,
                "%s:%u: expected: allow|deny|deny:SIDE|admin SUBJECT GROUPS PRIVILEGE TYPE NAME "
                "%s\n",
                file, lineno, ROW_OPTIONS);
        return 2;
    }
    if (ds < 0 || (!want_allow && !want_admin && !ds && strcasecmp(expect, "deny"))) {
        fprintf(stderr,
                "%s:%u: expectation must be allow, deny, admin or deny:SIDE (no-delegation, "
                "limit, scope, subject), not '%s'\n",
                file, lineno, expect);
        return 2;
    }
    for (size_t i = 6; i < nf; i++) {
        static const char *const keys[] = {"owner=", "actor=", "actor-groups=", "scopes="};
        const char **slots[] = {&owner, &act, &agroups, &scopes};
        size_t k = 0;
        while (k < 4 && strncmp(f[i], keys[k], strlen(keys[k])) != 0)
            k++;
        if (k == 4 || *slots[k]) {
            fprintf(stderr, "%s:%u: unknown or repeated option '%s' (options: %s)\n", file, lineno,
                    f[i], ROW_OPTIONS);
            return 2;
        }
        *slots[k] = f[i] + strlen(keys[k]);
    }
    bool obo = act || scopes || ds;
    if ((agroups && !act) ||
        (act && parse_subject(act, &actor, auser, sizeof(auser), err, sizeof(err)) < 0)) {
        fprintf(stderr, "%s:%u: %s\n", file, lineno, act ? err : "actor-groups= needs actor=");
        return 2;
    }
    if (strlen(f[5]) >= sizeof(namebuf) ||
        parse_subject(f[1], &who, user, sizeof(user), err, sizeof(err)) < 0 ||
        parse_priv(f[3], &priv, err, sizeof(err)) < 0 ||
        parse_target(f[4], f[5], namebuf, &obj, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s:%u: %s\n", file, lineno,
                strlen(f[5]) >= sizeof(namebuf) ? "name too long" : err);
        return 2;
    }
    if (owner) {
        obj.owner.ptr = owner;
        obj.owner.len = strlen(owner);
    }
    who.ngroups = split_groups(f[2], glist, MAX_GROUPS);
    who.groups = glist;
    char abuf[1024];
    snprintf(abuf, sizeof(abuf), "%s", agroups ? agroups : "");
    actor.ngroups = split_groups(abuf, aglist, MAX_GROUPS);
    actor.groups = aglist;
    if (obo) {
        struct policy_obo_decision od;
        policy_explain_obo(s, &who, act ? &actor : NULL, scope_mask_of(scopes), priv, &obj, text,
                           sizeof(text), &od);
        if (od.side == POLICY_OBO_INVALID) {
            fprintf(stderr, "%s:%u: invalid query: %s", file, lineno, text);
            return 2;
        }
        bool got_admin = od.allowed && od.subject.reason == POLICY_REASON_ADMIN;
        bool pass = want_admin   ? got_admin
                    : want_allow ? (od.allowed && !got_admin)
                    : ds         ? (!od.allowed && od.side == want_side)
                                 : !od.allowed;
        if (pass)
            return 0;
        printf("%s:%u: MISMATCH: expected %s, got %s%s\n", file, lineno, expect,
               got_admin    ? "admin"
               : od.allowed ? "allow"
                            : "deny:",
               od.allowed ? "" : policy_obo_side_name(od.side));
        print_indented(text);
        return 1;
    }
    policy_explain(s, &who, priv, &obj, text, sizeof(text), &d);
    if (d.reason == POLICY_REASON_INVALID) {
        fprintf(stderr, "%s:%u: invalid query: %s", file, lineno, text);
        return 2;
    }
    bool got_admin = d.reason == POLICY_REASON_ADMIN;
    bool pass = want_admin ? got_admin : want_allow ? (d.allowed && !got_admin) : !d.allowed;
    if (pass)
        return 0;
    printf("%s:%u: MISMATCH: expected %s, got %s\n", file, lineno, expect,
           got_admin   ? "admin"
           : d.allowed ? "allow"
                       : "deny");
    print_indented(text);
    return 1;
}

static int run_table(const struct policy_snapshot *s, const char *file, size_t *pass, size_t *fail)
{
    FILE *fp = fopen(file, "r");
    char *line = NULL;
    size_t cap = 0;
    unsigned lineno = 0;
    int rc = 0;
    if (!fp) {
        fprintf(stderr, "%s: %s\n", file, strerror(errno));
        return 2;
    }
    while (getline(&line, &cap, fp) >= 0) {
        char *f[12];
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        size_t nf = split_fields(line, f, 12);
        if (nf == 0)
            continue;
        int r = run_row(s, file, lineno, f, nf);
        if (r == 0)
            (*pass)++;
        else
            (*fail)++;
        if (r > rc)
            rc = r;
    }
    free(line);
    fclose(fp);
    return rc;
}

static int cmd_test(struct opts *o)
{
    size_t pass = 0, fail = 0;
    int rc = 0;
    if (o->npaths == 0 || o->nargs == 0)
        return usage_error("test needs --policy PATH and a TABLE file");
    struct policy_snapshot *s = load(o->paths, o->npaths);
    if (!s)
        return 1;
    for (size_t i = 0; i < o->nargs; i++) {
        int r = run_table(s, o->args[i], &pass, &fail);
        if (r > rc)
            rc = r;
    }
    printf("%zu passed, %zu failed (policy version %.12s)\n", pass, fail,
           policy_snapshot_version(s));
    policy_snapshot_unref(s);
    return rc ? (rc == 2 ? 2 : 1) : 0;
}

/* ---- grants ---- */

static bool str_eq(struct policy_str a, struct policy_str b)
{
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

static int depth_of(enum policy_kind k)
{
    return k == POLICY_KIND_CATALOG ? 1 : k == POLICY_KIND_SCHEMA ? 2 : 3;
}

/* Whether a securable (kind, parts) is the target or one of its ancestors; *inherited is set
 * for ancestors. */
static bool covers(enum policy_kind k, struct policy_str c, struct policy_str sc,
                   struct policy_str n, const struct policy_object *t, bool *inherited)
{
    int d = depth_of(k), td = depth_of(t->kind);
    if (d > td || !str_eq(c, t->catalog))
        return false;
    if (d >= 2 && !str_eq(sc, t->schema))
        return false;
    if (d == 3 && (k != t->kind || !str_eq(n, t->name)))
        return false;
    *inherited = d < td;
    return true;
}

static void print_securable(enum policy_kind k, struct policy_str c, struct policy_str s,
                            struct policy_str n, char *buf, size_t len)
{
    struct policy_object o = {.kind = k, .catalog = c, .schema = s, .name = n};
    int w = snprintf(buf, len, "%s ", policy_kind_name(k));
    if (w > 0 && (size_t)w < len)
        policy_name_format(&o, buf + w, len - (size_t)w);
}

/* Whether the holder of a grant or ownership (display notation) is the principal asked
 * about, or a group it belongs to (by the policy, or through the --groups given); fills via
 * in the latter case. */
static bool holder_matches(const struct policy_snapshot *s, const struct opts *o,
                           enum policy_principal_kind pk, struct policy_str pname,
                           const char *const *glist, size_t ng, const char *holder, char *via,
                           size_t vialen)
{
    enum policy_principal_kind hk;
    struct policy_str hn;
    char e2[128], gname[1024];
    if (policy_principal_parse(holder, strlen(holder), &hk, &hn, e2, sizeof(e2)) < 0)
        return false;
    if (hk == pk && str_eq(hn, pname))
        return true;
    if (hk != POLICY_PRINCIPAL_GROUP)
        return false;
    snprintf(gname, sizeof(gname), "%.*s", (int)hn.len, hn.ptr);
    bool member = policy_snapshot_in_group(s, o->principal, gname);
    for (size_t k = 0; k < ng && !member; k++) {
        char tg[1100];
        snprintf(tg, sizeof(tg), "group:%s", glist[k]);
        member = policy_snapshot_in_group(s, tg, gname);
    }
    if (member)
        snprintf(via, vialen, "  (via %s)", holder);
    return member;
}

static int cmd_grants(struct opts *o)
{
    char err[512], sec[1200], *namebuf = NULL, *groups = NULL;
    const char *glist[MAX_GROUPS];
    size_t ng = 0;
    struct policy_object target;
    enum policy_principal_kind pk = POLICY_PRINCIPAL_USER;
    struct policy_str pname = {0};
    int rc = 2;
    if (o->npaths == 0 || (!o->on_type && !o->principal))
        return usage_error("grants needs --policy and --on TYPE NAME or --principal P");
    if (o->on_type) {
        namebuf = malloc(strlen(o->on_name) + 1);
        if (!namebuf)
            return 1;
        if (parse_target(o->on_type, o->on_name, namebuf, &target, err, sizeof(err)) < 0)
            goto bad;
    }
    if (o->principal && policy_principal_parse(o->principal, strlen(o->principal), &pk, &pname, err,
                                               sizeof(err)) < 0)
        goto bad;
    groups = o->groups ? strdup(o->groups) : NULL;
    ng = split_groups(groups, glist, MAX_GROUPS);
    struct policy_snapshot *s = load(o->paths, o->npaths);
    if (!s) {
        rc = 1;
        goto out;
    }
    printf("%-32s %-22s %-40s %s\n", "PRINCIPAL", "PRIVILEGE", "ON", "SOURCE");
    size_t shown = 0;
    for (size_t i = 0; i < policy_snapshot_grant_count(s); i++) {
        struct policy_grant_info g;
        bool inherited = false;
        char via[300] = "";
        policy_snapshot_grant(s, i, &g);
        if (o->on_type && !covers(g.kind, g.catalog, g.schema, g.name, &target, &inherited))
            continue;
        if (o->principal &&
            !holder_matches(s, o, pk, pname, glist, ng, g.principal, via, sizeof(via)))
            continue;
        print_securable(g.kind, g.catalog, g.schema, g.name, sec, sizeof(sec));
        printf("%-32s %-22s %-40s %s:%u%s%s\n", g.principal, policy_priv_name(g.priv), sec,
               g.source.file, g.source.line, inherited ? "  (inherited)" : "", via);
        shown++;
    }
    for (size_t i = 0; i < policy_snapshot_owner_count(s); i++) {
        struct policy_owner_info w;
        bool inherited = false;
        policy_snapshot_owner(s, i, &w);
        if (o->on_type && !covers(w.kind, w.catalog, w.schema, w.name, &target, &inherited))
            continue;
        char via[300] = "";
        if (o->principal &&
            !holder_matches(s, o, pk, pname, glist, ng, w.principal, via, sizeof(via)))
            continue;
        print_securable(w.kind, w.catalog, w.schema, w.name, sec, sizeof(sec));
        printf("%-32s %-22s %-40s %s:%u%s%s\n", w.principal, "OWNER", sec, w.source.file,
               w.source.line, inherited ? "  (owner of a parent)" : "", via);
        shown++;
    }
    size_t nd = 0;
    for (size_t i = 0; i < policy_snapshot_delegation_count(s); i++) {
        struct policy_delegation_info di;
        bool inherited = false;
        char via[300] = "", via2[300] = "", privs[300];
        policy_snapshot_delegation(s, i, &di);
        if (o->on_type && !di.everywhere &&
            !covers(di.kind, di.catalog, di.schema, di.name, &target, &inherited))
            continue;
        if (o->principal &&
            !holder_matches(s, o, pk, pname, glist, ng, di.actor, via, sizeof(via)) &&
            !holder_matches(s, o, pk, pname, glist, ng, di.subject, via2, sizeof(via2)))
            continue;
        if (nd++ == 0)
            printf("%-32s %-32s %-40s %s\n", "DELEGATION TO (ACTOR)", "FOR (SUBJECT)", "ON",
                   "LIMIT / SOURCE");
        if (di.everywhere)
            snprintf(sec, sizeof(sec), "everywhere");
        else
            print_securable(di.kind, di.catalog, di.schema, di.name, sec, sizeof(sec));
        policy_privs_format(di.mask, false, privs, sizeof(privs));
        printf("%-32s %-32s %-40s %s  %s:%u%s%s%s\n", di.actor, di.subject, sec, privs,
               di.source.file, di.source.line, inherited ? "  (inherited)" : "", via, via2);
    }
    printf("%zu row(s), %zu delegation(s); policy version %.12s\n", shown, nd,
           policy_snapshot_version(s));
    policy_snapshot_unref(s);
    rc = 0;
    goto out;
bad:
    fprintf(stderr, "wardenctl grants: %s\n", err);
out:
    free(namebuf);
    free(groups);
    return rc;
}

int ctl_policy_main(int argc, char **argv)
{
    struct opts o;
    if (argc < 1 || !ctl_policy_handles(argv[0]))
        return usage_error("unknown policy command '%s'", argc > 0 ? argv[0] : "");
    int rc = parse_opts(argc, argv, &o);
    if (rc)
        return rc;
    if (!strcmp(argv[0], "check"))
        return cmd_check(&o);
    if (!strcmp(argv[0], "explain"))
        return cmd_explain(&o);
    if (!strcmp(argv[0], "test"))
        return cmd_test(&o);
    return cmd_grants(&o);
}
