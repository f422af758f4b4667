/*
 * lookup: see lookup.h. Targets are built by hand into the caller's buffer; answers are parsed
 * with jansson (duplicate keys rejected) and walked by a small typed accessor per field, so a
 * field of the wrong type is an error rather than a silent default.
 */
#include "mlflow/lookup.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------- facts ---------------- */

void lookup_facts_init(struct lookup_facts *f)
{
    memset(f, 0, sizeof(*f));
}

void lookup_facts_clear(struct lookup_facts *f)
{
    if (!f)
        return;
    free(f->name);
    free(f->owner);
    free(f->experiments);
    lookup_facts_init(f);
}

static char *dup_bytes(const char *s, size_t len)
{
    char *p = malloc(len + 1);
    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

int lookup_facts_copy(struct lookup_facts *dst, const struct lookup_facts *src)
{
    lookup_facts_init(dst);
    *dst = *src;
    dst->name = NULL;
    dst->owner = NULL;
    dst->experiments = NULL;
    if (src->name && !(dst->name = dup_bytes(src->name, src->name_len)))
        goto fail;
    if (src->owner && !(dst->owner = dup_bytes(src->owner, src->owner_len)))
        goto fail;
    if (src->nexperiments > 0) {
        dst->experiments = malloc(src->nexperiments * sizeof(*dst->experiments));
        if (!dst->experiments)
            goto fail;
        memcpy(dst->experiments, src->experiments, src->nexperiments * sizeof(*src->experiments));
    }
    return 0;
fail:
    lookup_facts_clear(dst);
    return -1;
}

/* ---------------- kinds ---------------- */

bool lookup_supported(enum route_object kind)
{
    switch (kind) {
    case ROUTE_OBJ_EXPERIMENT:
    case ROUTE_OBJ_EXPERIMENT_NAME:
    case ROUTE_OBJ_RUN:
    case ROUTE_OBJ_TRACE:
    case ROUTE_OBJ_LOGGED_MODEL:
    case ROUTE_OBJ_DATASET:
    case ROUTE_OBJ_LABEL_SCHEMA:
    case ROUTE_OBJ_REVIEW_QUEUE:
    case ROUTE_OBJ_ISSUE:
    case ROUTE_OBJ_JOB:
    case ROUTE_OBJ_MODEL:
        return true;
    default:
        return false;
    }
}

bool lookup_gives_experiment(enum route_object kind)
{
    switch (kind) {
    case ROUTE_OBJ_RUN:
    case ROUTE_OBJ_TRACE:
    case ROUTE_OBJ_LOGGED_MODEL:
    case ROUTE_OBJ_LABEL_SCHEMA:
    case ROUTE_OBJ_REVIEW_QUEUE:
    case ROUTE_OBJ_ISSUE:
    case ROUTE_OBJ_JOB:
        return true;
    default:
        return false;
    }
}

bool lookup_is_experiment_id(const char *s, size_t len)
{
    static const char max[] = "9223372036854775807"; /* INT64_MAX */
    if (!s || len == 0 || len > sizeof(max) - 1)
        return false;
    if (s[0] == '0')
        return len == 1;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return len < sizeof(max) - 1 || memcmp(s, max, len) <= 0;
}

const char *lookup_status_name(enum lookup_status s)
{
    switch (s) {
    case LOOKUP_FOUND:
        return "found";
    case LOOKUP_NOT_FOUND:
        return "not-found";
    case LOOKUP_ERROR:
        return "error";
    }
    return "?";
}

/* ---------------- requests ---------------- */

enum id_place { IN_QUERY, IN_PATH };

struct req_shape {
    const char *prefix; /* up to the id */
    const char *suffix; /* after the id ("" for most) */
    enum id_place place;
};

static bool shape_of(enum route_object kind, struct req_shape *sh)
{
    sh->suffix = "";
    sh->place = IN_QUERY;
    switch (kind) {
    case ROUTE_OBJ_EXPERIMENT:
        sh->prefix = "/api/2.0/mlflow/experiments/get?experiment_id=";
        return true;
    case ROUTE_OBJ_EXPERIMENT_NAME:
        sh->prefix = "/api/2.0/mlflow/experiments/get-by-name?experiment_name=";
        return true;
    case ROUTE_OBJ_RUN:
        sh->prefix = "/api/2.0/mlflow/runs/get?run_id=";
        return true;
    case ROUTE_OBJ_TRACE:
        sh->prefix = "/api/3.0/mlflow/traces/";
        sh->place = IN_PATH;
        return true;
    case ROUTE_OBJ_LOGGED_MODEL:
        /* deleted logged models still belong to their experiment (MLflow serves them with
         * allow_deleted=true, so their look-up must find them too) */
        sh->prefix = "/api/2.0/mlflow/logged-models/";
        sh->suffix = "?allow_deleted=true";
        sh->place = IN_PATH;
        return true;
    case ROUTE_OBJ_DATASET:
        sh->prefix = "/api/3.0/mlflow/datasets/";
        sh->suffix = "/experiment-ids";
        sh->place = IN_PATH;
        return true;
    case ROUTE_OBJ_LABEL_SCHEMA:
        sh->prefix = "/api/3.0/mlflow/label-schemas/get?schema_id=";
        return true;
    case ROUTE_OBJ_REVIEW_QUEUE:
        sh->prefix = "/api/3.0/mlflow/review-queues/get?queue_id=";
        return true;
    case ROUTE_OBJ_ISSUE:
        sh->prefix = "/api/3.0/mlflow/issues/";
        sh->place = IN_PATH;
        return true;
    case ROUTE_OBJ_JOB:
        sh->prefix = "/ajax-api/3.0/jobs/";
        sh->place = IN_PATH;
        return true;
    case ROUTE_OBJ_MODEL:
        sh->prefix = "/api/2.0/mlflow/registered-models/get?name=";
        return true;
    default:
        return false;
    }
}

static bool unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

int lookup_request(enum route_object kind, const char *id, size_t len, char *buf, size_t buflen,
                   size_t *outlen, char *err, size_t errlen)
{
    static const char hexd[] = "0123456789ABCDEF";
    struct req_shape sh;
    if (!shape_of(kind, &sh)) {
        snprintf(err, errlen, "no look-up for %s", route_object_name(kind));
        return -1;
    }
    if (!id || len == 0 || len > LOOKUP_ID_MAX) {
        snprintf(err, errlen, "%s id is empty or longer than %d bytes", route_object_name(kind),
                 LOOKUP_ID_MAX);
        return -1;
    }
    if (kind == ROUTE_OBJ_EXPERIMENT) {
        if (!lookup_is_experiment_id(id, len)) {
            snprintf(err, errlen, "experiment id is not canonical decimal");
            return -1;
        }
    } else if (!naming_is_clean_text(id, len)) {
        snprintf(err, errlen, "%s id is not valid UTF-8 or contains a control character",
                 route_object_name(kind));
        return -1;
    }
    if (sh.place == IN_PATH) {
        if (memchr(id, '/', len) || (len == 1 && id[0] == '.') ||
            (len == 2 && id[0] == '.' && id[1] == '.')) {
            snprintf(err, errlen, "%s id cannot be a path segment ('/', '.' or '..')",
                     route_object_name(kind));
            return -1;
        }
    }
    size_t pl = strlen(sh.prefix), sl = strlen(sh.suffix), n = 0;
    size_t need = pl + sl + 1;
    for (size_t i = 0; i < len; i++)
        need += unreserved((unsigned char)id[i]) ? 1 : 3;
    if (!buf || need > buflen) {
        snprintf(err, errlen, "look-up target buffer too small");
        return -1;
    }
    memcpy(buf, sh.prefix, pl);
    n = pl;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)id[i];
        if (unreserved(c)) {
            buf[n++] = (char)c;
        } else {
            buf[n++] = '%';
            buf[n++] = hexd[c >> 4];
            buf[n++] = hexd[c & 15];
        }
    }
    memcpy(buf + n, sh.suffix, sl);
    n += sl;
    buf[n] = '\0';
    if (outlen)
        *outlen = n;
    return 0;
}

/* ---------------- answers: classification ---------------- */

/* ASCII case-insensitive substring search in a NUL-free view. */
static bool contains_ci(const char *hay, size_t len, const char *needle)
{
    size_t nl = strlen(needle);
    for (size_t i = 0; i + nl <= len; i++)
        if (strncasecmp(hay + i, needle, nl) == 0)
            return true;
    return false;
}

enum lookup_status lookup_classify(int http_status, const char *body, size_t len)
{
    if (http_status >= 200 && http_status <= 299)
        return LOOKUP_FOUND;
    if (http_status < 400 || http_status > 499 || !body)
        return LOOKUP_ERROR;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    enum lookup_status st = LOOKUP_ERROR;
    if (!json_is_object(root))
        goto done;
    json_t *code = json_object_get(root, "error_code");
    json_t *msg = json_object_get(root, "message");
    if (json_is_string(code)) {
        const char *c = json_string_value(code);
        if (strcmp(c, "RESOURCE_DOES_NOT_EXIST") == 0) {
            st = LOOKUP_NOT_FOUND;
        } else if (http_status == 404) {
            st = LOOKUP_NOT_FOUND; /* MLflow's error body, whatever the code */
        } else if (strcmp(c, "INVALID_PARAMETER_VALUE") == 0 && json_is_string(msg)) {
            const char *m = json_string_value(msg);
            size_t ml = json_string_length(msg);
            if (contains_ci(m, ml, "not found") || contains_ci(m, ml, "does not exist"))
                st = LOOKUP_NOT_FOUND;
        }
    } else if (http_status == 404 && json_is_string(json_object_get(root, "detail"))) {
        st = LOOKUP_NOT_FOUND; /* FastAPI's HTTPException (the job API) */
    }
done:
    json_decref(root);
    return st;
}

/* ---------------- answers: parsing ---------------- */

struct pctx {
    char *err;
    size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int fail(struct pctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* The member `key` of o, which must be an object. */
static json_t *get_obj(struct pctx *c, json_t *o, const char *key, bool required)
{
    json_t *v = json_object_get(o, key);
    if (!v) {
        if (required)
            fail(c, "answer lacks '%s'", key);
        return NULL;
    }
    if (!json_is_object(v)) {
        fail(c, "'%s' is not an object", key);
        return NULL;
    }
    return v;
}

/* Reads an experiment id member into dst. Returns 1 when set, 0 when absent (or null, or
 * "" with allow_empty) and not required, -1 on error. */
static int get_exp_id(struct pctx *c, json_t *o, const char *key, bool required,
                      char dst[LOOKUP_EXP_ID_MAX])
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (required)
            return fail(c, "answer lacks '%s'", key);
        return 0;
    }
    if (!json_is_string(v))
        return fail(c, "'%s' is not a string", key);
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len == 0 && !required)
        return 0;
    if (!lookup_is_experiment_id(s, len))
        return fail(c, "'%s' is not a canonical experiment id", key);
    memcpy(dst, s, len + 1);
    return 1;
}

static int get_str(struct pctx *c, json_t *o, const char *key, const char **s, size_t *len)
{
    *s = "";
    *len = 0;
    json_t *v = json_object_get(o, key);
    if (!v)
        return fail(c, "answer lacks '%s'", key);
    if (!json_is_string(v))
        return fail(c, "'%s' is not a string", key);
    *s = json_string_value(v);
    *len = json_string_length(v);
    return 0;
}

static bool owner_usable(const char *s, size_t len)
{
    enum policy_principal_kind k;
    struct policy_str name;
    char perr[64];
    return len <= LOOKUP_OWNER_MAX && naming_is_clean_text(s, len) &&
           policy_principal_parse(s, len, &k, &name, perr, sizeof(perr)) == 0;
}

/* Reads the tags array of an experiment or model ([{key, value}]; value absent = ""),
 * looking for the owner stamp and the prompt marker. Each may appear once. */
static int read_tags(struct pctx *c, json_t *o, struct lookup_facts *f)
{
    json_t *tags = json_object_get(o, "tags");
    if (!tags)
        return 0;
    if (!json_is_array(tags))
        return fail(c, "'%s' is not an array", "tags");
    bool seen_prompt = false;
    size_t i;
    json_t *t;
    json_array_foreach(tags, i, t)
    {
        if (!json_is_object(t))
            return fail(c, "a tag is not an object");
        json_t *k = json_object_get(t, "key"), *v = json_object_get(t, "value");
        if (!json_is_string(k))
            return fail(c, "a tag has no string '%s'", "key");
        if (v && !json_is_string(v))
            return fail(c, "a tag's '%s' is not a string", "value");
        const char *val = v ? json_string_value(v) : "";
        size_t vlen = v ? json_string_length(v) : 0;
        if (strcmp(json_string_value(k), LOOKUP_OWNER_TAG) == 0 &&
            json_string_length(k) == strlen(LOOKUP_OWNER_TAG)) {
            if (f->owner_tagged)
                return fail(c, "tag '%s' appears twice", LOOKUP_OWNER_TAG);
            f->owner_tagged = true;
            if (owner_usable(val, vlen)) {
                if (!(f->owner = dup_bytes(val, vlen)))
                    return fail(c, "out of memory");
                f->owner_len = vlen;
            }
        } else if (strcmp(json_string_value(k), LOOKUP_PROMPT_TAG) == 0 &&
                   json_string_length(k) == strlen(LOOKUP_PROMPT_TAG)) {
            if (seen_prompt)
                return fail(c, "tag '%s' appears twice", LOOKUP_PROMPT_TAG);
            seen_prompt = true;
            f->is_prompt = vlen == 4 && strncasecmp(val, "true", 4) == 0;
        }
    }
    return 0;
}

static int set_name(struct pctx *c, json_t *o, struct lookup_facts *f)
{
    const char *s;
    size_t len;
    if (get_str(c, o, "name", &s, &len) < 0)
        return -1;
    if (len == 0)
        return fail(c, "'%s' is empty", "name");
    if (!(f->name = dup_bytes(s, len)))
        return fail(c, "out of memory");
    f->name_len = len;
    return 0;
}

static int parse_experiment(struct pctx *c, json_t *root, struct lookup_facts *f)
{
    json_t *e = get_obj(c, root, "experiment", true);
    if (!e)
        return -1;
    if (get_exp_id(c, e, "experiment_id", true, f->experiment_id) < 0)
        return -1;
    f->has_experiment = true;
    if (set_name(c, e, f) < 0)
        return -1;
    const char *stage;
    size_t sl;
    if (get_str(c, e, "lifecycle_stage", &stage, &sl) < 0)
        return -1;
    if (strcmp(stage, "deleted") == 0 && sl == 7)
        f->deleted = true;
    else if (!(strcmp(stage, "active") == 0 && sl == 6))
        return fail(c, "unknown lifecycle_stage '%.32s'", stage);
    return read_tags(c, e, f);
}

static int parse_model(struct pctx *c, json_t *root, struct lookup_facts *f)
{
    json_t *m = get_obj(c, root, "registered_model", true);
    if (!m || set_name(c, m, f) < 0)
        return -1;
    return read_tags(c, m, f);
}

/* The experiment id at root.<a>.<b>...: a NULL-terminated path of objects, then the id. */
static int parse_exp_at(struct pctx *c, json_t *root, const char *const *path,
                        struct lookup_facts *f)
{
    json_t *o = root;
    for (; path[1]; path++)
        if (!(o = get_obj(c, o, path[0], true)))
            return -1;
    if (get_exp_id(c, o, path[0], true, f->experiment_id) < 0)
        return -1;
    f->has_experiment = true;
    return 0;
}

static int parse_trace(struct pctx *c, json_t *root, struct lookup_facts *f)
{
    json_t *t = get_obj(c, root, "trace", true);
    json_t *info = t ? get_obj(c, t, "trace_info", true) : NULL;
    json_t *loc = info ? get_obj(c, info, "trace_location", true) : NULL;
    if (!loc)
        return -1;
    json_t *type = json_object_get(loc, "type");
    if (type &&
        !(json_is_string(type) && strcmp(json_string_value(type), "MLFLOW_EXPERIMENT") == 0))
        return fail(c, "trace location is not an MLflow experiment");
    json_t *me = get_obj(c, loc, "mlflow_experiment", true);
    if (!me || get_exp_id(c, me, "experiment_id", true, f->experiment_id) < 0)
        return -1;
    f->has_experiment = true;
    return 0;
}

static int parse_dataset(struct pctx *c, json_t *root, struct lookup_facts *f)
{
    json_t *a = json_object_get(root, "experiment_ids");
    if (!a)
        return 0; /* proto3 JSON omits an empty list */
    if (!json_is_array(a))
        return fail(c, "'%s' is not an array", "experiment_ids");
    size_t n = json_array_size(a);
    if (n > LOOKUP_DATASET_MAX)
        return fail(c, "dataset lists more than %d experiments", LOOKUP_DATASET_MAX);
    if (n == 0)
        return 0;
    f->experiments = calloc(n, sizeof(*f->experiments));
    if (!f->experiments)
        return fail(c, "out of memory");
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (!json_is_string(v) ||
            !lookup_is_experiment_id(json_string_value(v), json_string_length(v)))
            return fail(c, "'%s' holds a non-canonical experiment id", "experiment_ids");
        memcpy(f->experiments[i], json_string_value(v), json_string_length(v) + 1);
        f->nexperiments = i + 1;
    }
    return 0;
}

static int parse_job(struct pctx *c, json_t *root, struct lookup_facts *f)
{
    const char *id;
    size_t len;
    if (get_str(c, root, "job_id", &id, &len) < 0)
        return -1;
    json_t *params = get_obj(c, root, "params", true);
    if (!params)
        return -1;
    /* MLflow reads params.get("experiment_id") or None: absent, null and "" mean none. */
    int r = get_exp_id(c, params, "experiment_id", false, f->experiment_id);
    if (r < 0)
        return -1;
    f->has_experiment = r == 1;
    return 0;
}

int lookup_parse(enum route_object kind, const char *body, size_t len, struct lookup_facts *out,
                 char *err, size_t errlen)
{
    static const char *const run_path[] = {"run", "info", "experiment_id", NULL};
    static const char *const lm_path[] = {"model", "info", "experiment_id", NULL};
    static const char *const ls_path[] = {"label_schema", "experiment_id", NULL};
    static const char *const rq_path[] = {"review_queue", "experiment_id", NULL};
    static const char *const issue_path[] = {"issue", "experiment_id", NULL};
    struct pctx c = {err, errlen};
    json_error_t jerr;
    int r = -1;
    lookup_facts_init(out);
    out->kind = kind;
    if (!lookup_supported(kind)) {
        snprintf(err, errlen, "no look-up for %s", route_object_name(kind));
        return -1;
    }
    json_t *root = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!root) {
        snprintf(err, errlen, "answer is not JSON: %s", body ? jerr.text : "no body");
        goto done;
    }
    if (!json_is_object(root)) {
        snprintf(err, errlen, "answer is not a JSON object");
        goto done;
    }
    switch (kind) {
    case ROUTE_OBJ_EXPERIMENT:
    case ROUTE_OBJ_EXPERIMENT_NAME:
        r = parse_experiment(&c, root, out);
        break;
    case ROUTE_OBJ_RUN:
        r = parse_exp_at(&c, root, run_path, out);
        break;
    case ROUTE_OBJ_TRACE:
        r = parse_trace(&c, root, out);
        break;
    case ROUTE_OBJ_LOGGED_MODEL:
        r = parse_exp_at(&c, root, lm_path, out);
        break;
    case ROUTE_OBJ_DATASET:
        r = parse_dataset(&c, root, out);
        break;
    case ROUTE_OBJ_LABEL_SCHEMA:
        r = parse_exp_at(&c, root, ls_path, out);
        break;
    case ROUTE_OBJ_REVIEW_QUEUE:
        r = parse_exp_at(&c, root, rq_path, out);
        break;
    case ROUTE_OBJ_ISSUE:
        r = parse_exp_at(&c, root, issue_path, out);
        break;
    case ROUTE_OBJ_JOB:
        r = parse_job(&c, root, out);
        break;
    case ROUTE_OBJ_MODEL:
        r = parse_model(&c, root, out);
        break;
    default:
        break;
    }
done:
    json_decref(root);
    if (r < 0) {
        lookup_facts_clear(out);
        out->kind = kind;
    }
    return r;
}

enum lookup_status lookup_answer(enum route_object kind, const char *id, size_t idlen,
                                 int http_status, const char *body, size_t len,
                                 struct lookup_facts *out, char *err, size_t errlen)
{
    lookup_facts_init(out);
    out->kind = kind;
    enum lookup_status st = lookup_classify(http_status, body, len);
    if (st == LOOKUP_NOT_FOUND) {
        snprintf(err, errlen, "%s not found (upstream %d)", route_object_name(kind), http_status);
        return st;
    }
    if (st == LOOKUP_ERROR) {
        snprintf(err, errlen, "%s look-up failed: upstream answered %d%s", route_object_name(kind),
                 http_status,
                 http_status == 404 ? " without an MLflow error body (no such route?)" : "");
        return st;
    }
    if (lookup_parse(kind, body, len, out, err, errlen) < 0)
        return LOOKUP_ERROR;
    if (kind == ROUTE_OBJ_EXPERIMENT && !(id && strlen(out->experiment_id) == idlen &&
                                          memcmp(out->experiment_id, id, idlen) == 0)) {
        snprintf(err, errlen, "answer is about experiment %s, not the one asked for",
                 out->experiment_id);
        lookup_facts_clear(out);
        out->kind = kind;
        return LOOKUP_ERROR;
    }
    return LOOKUP_FOUND;
}

struct policy_str lookup_owner(const struct lookup_facts *f, const struct naming_result *n)
{
    struct policy_str none = {NULL, 0};
    if (f && f->owner_tagged) {
        if (f->owner) {
            struct policy_str s = {f->owner, f->owner_len};
            return s;
        }
        return none;
    }
    return n ? n->home_user : none;
}
