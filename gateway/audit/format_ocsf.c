/*
 * audit/format_ocsf: renders an audit record as an OCSF API Activity event (class_uid 6003)
 * on one line. Attribute names follow ocsf-schema 1.9.0-dev @ a5cfc68 (base_event, api_activity
 * and the objects actor, user, group, authorization, policy, api, service, request, response,
 * network_endpoint, http_request, http_response, url, resource_details, metadata, product);
 * the unit tests check every emitted name against that list. Pure; any thread.
 */
#include "audit/format.h"

#include <strings.h>
#include <string.h>

#define TEXT(w, f) audit_w_str((w), (f).s, (f).len)

int audit_ocsf_activity(const char *method, const char *action)
{
    /* MLflow tunnels most calls through POST and GET, so the RPC's verb says more than the
     * method; the method decides only when the action name does not start with a verb. */
    static const struct {
        const char *prefix;
        int id;
    } verbs[] = {
        {"Create", 1}, {"Log", 1},     {"Upload", 1},     {"Start", 1},    {"Get", 2},
        {"Search", 2}, {"List", 2},    {"Download", 2},   {"Update", 3},   {"Set", 3},
        {"Rename", 3}, {"Restore", 3}, {"Transition", 3}, {"Finalize", 3}, {"End", 3},
        {"Delete", 4}, {"Remove", 4},
    };
    if (action && action[0]) {
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
            size_t n = strlen(verbs[i].prefix);
            /* The verb must end at a word boundary: "Settings" is not "Set". */
            if (strncmp(action, verbs[i].prefix, n) == 0 &&
                (action[n] == '\0' || (action[n] >= 'A' && action[n] <= 'Z') || action[n] == '_'))
                return verbs[i].id;
        }
    }
    if (!method)
        return 99;
    if (strcasecmp(method, "POST") == 0)
        return 1;
    if (strcasecmp(method, "GET") == 0 || strcasecmp(method, "HEAD") == 0)
        return 2;
    if (strcasecmp(method, "PUT") == 0 || strcasecmp(method, "PATCH") == 0)
        return 3;
    if (strcasecmp(method, "DELETE") == 0)
        return 4;
    return 99;
}

static const char *activity_name(int id)
{
    switch (id) {
    case 1:
        return "Create";
    case 2:
        return "Read";
    case 3:
        return "Update";
    case 4:
        return "Delete";
    default:
        return "Other";
    }
}

/* severity_id: 1 Informational (served), 2 Low (client error or upstream failure),
 * 3 Medium (denied by authentication or policy). */
static int severity_id(const struct audit_record *r)
{
    if (r->decision.result == AUDIT_DECISION_DENY || r->status == 401 || r->status == 403)
        return 3;
    if (r->status >= 400 || r->status == 0)
        return 2;
    return 1;
}

static const char *severity_name(int id)
{
    return id == 1 ? "Informational" : id == 2 ? "Low" : "Medium";
}

int audit_format_ocsf(const struct audit_record *r, const char *product_version, char *buf,
                      size_t cap, size_t *out_len)
{
    struct audit_writer w = {.buf = buf, .cap = cap};
    if (cap == 0)
        return -1;
    buf[0] = '\0';
    char method[AUDIT_METHOD_MAX];
    char action[AUDIT_ACTION_MAX];
    memcpy(method, r->method.s, r->method.len);
    method[r->method.len] = '\0';
    memcpy(action, r->action.s, r->action.len);
    action[r->action.len] = '\0';
    int act = audit_ocsf_activity(method, action);
    int sev = severity_id(r);
    bool ok = r->status > 0 && r->status < 400 && r->decision.result != AUDIT_DECISION_DENY;
    int status_id = r->status == 0 ? 0 : ok ? 1 : 2;

    audit_w_lit(&w, "{\"class_uid\":6003,\"class_name\":\"API Activity\",\"category_uid\":6,"
                    "\"category_name\":\"Application Activity\",\"activity_id\":");
    audit_w_u64(&w, (unsigned)act);
    audit_w_lit(&w, ",\"activity_name\":\"");
    audit_w_lit(&w, activity_name(act));
    audit_w_lit(&w, "\",\"type_uid\":");
    audit_w_u64(&w, 600300u + (unsigned)act);
    audit_w_lit(&w, ",\"type_name\":\"API Activity: ");
    audit_w_lit(&w, activity_name(act));
    audit_w_lit(&w, "\",\"severity_id\":");
    audit_w_u64(&w, (unsigned)sev);
    audit_w_lit(&w, ",\"severity\":\"");
    audit_w_lit(&w, severity_name(sev));
    audit_w_lit(&w, "\",\"time\":");
    audit_w_i64(&w, r->time_ms);
    audit_w_lit(&w, ",\"duration\":");
    audit_w_u64(&w, r->latency_us / 1000);
    audit_w_lit(&w, ",\"status_id\":");
    audit_w_u64(&w, (unsigned)status_id);
    audit_w_lit(&w, status_id == 1   ? ",\"status\":\"Success\""
                    : status_id == 2 ? ",\"status\":\"Failure\""
                                     : ",\"status\":\"Unknown\"");
    audit_w_lit(&w, ",\"status_code\":\"");
    audit_w_i64(&w, r->status);
    audit_w_lit(&w, "\",\"status_detail\":");
    TEXT(&w, r->decision.reason);

    audit_w_lit(&w, ",\"metadata\":{\"version\":\"1.9.0-dev\",\"uid\":");
    audit_w_str(&w, r->event_id, strnlen(r->event_id, sizeof(r->event_id)));
    audit_w_lit(&w, ",\"correlation_uid\":");
    TEXT(&w, r->request_id);
    audit_w_lit(&w, ",\"sequence\":");
    audit_w_u64(&w, r->seq);
    audit_w_lit(&w, r->truncated ? ",\"is_truncated\":true" : ",\"is_truncated\":false");
    audit_w_lit(&w, ",\"product\":{\"name\":\"Warden\",\"vendor_name\":\"Warden\",\"version\":");
    audit_w_str(&w, product_version ? product_version : "",
                product_version ? strlen(product_version) : 0);
    audit_w_lit(&w, "}}");

    audit_w_lit(&w, ",\"actor\":{\"user\":{\"name\":");
    TEXT(&w, r->subject.user);
    audit_w_lit(&w, ",\"uid\":");
    TEXT(&w, r->subject.user);
    if (r->subject.token_id.len) {
        audit_w_lit(&w, ",\"credential_uid\":");
        TEXT(&w, r->subject.token_id);
    }
    audit_w_lit(&w, ",\"groups\":[");
    for (uint8_t i = 0; i < r->subject.n_groups && i < AUDIT_GROUPS; i++) {
        audit_w_lit(&w, i ? ",{\"name\":" : "{\"name\":");
        TEXT(&w, r->subject.groups[i].name);
        audit_w_raw(&w, "}", 1);
    }
    audit_w_lit(&w, "]}");
    if (r->decision.result != AUDIT_DECISION_NONE) {
        audit_w_lit(&w, ",\"authorizations\":[{\"decision\":\"");
        audit_w_lit(&w, r->decision.result == AUDIT_DECISION_ALLOW ? "allow" : "deny");
        audit_w_lit(&w, "\",\"policy\":{\"name\":");
        TEXT(&w, r->decision.grant);
        audit_w_lit(&w, ",\"version\":");
        TEXT(&w, r->decision.policy_version);
        audit_w_lit(&w, ",\"desc\":");
        TEXT(&w, r->decision.reason);
        audit_w_lit(&w, "}}]");
    }
    if (r->n_actors) {
        /* The outermost caller (an agent or app acting for the user). */
        audit_w_lit(&w, ",\"app_name\":");
        TEXT(&w, r->actors[0].id);
    }
    audit_w_raw(&w, "}", 1);

    audit_w_lit(&w, ",\"api\":{\"operation\":");
    TEXT(&w, r->action);
    audit_w_lit(&w, ",\"service\":{\"name\":");
    TEXT(&w, r->service);
    audit_w_lit(&w, "},\"request\":{\"uid\":");
    TEXT(&w, r->request_id);
    audit_w_lit(&w, "},\"response\":{\"code\":");
    audit_w_i64(&w, r->status);
    audit_w_lit(&w, "}}");

    audit_w_lit(&w, ",\"src_endpoint\":{\"ip\":");
    TEXT(&w, r->src_ip);
    audit_w_lit(&w, ",\"port\":");
    audit_w_u64(&w, r->src_port);
    audit_w_lit(&w, "},\"http_request\":{\"http_method\":");
    TEXT(&w, r->method);
    audit_w_lit(&w, ",\"url\":{\"path\":");
    TEXT(&w, r->path);
    audit_w_lit(&w, "},\"user_agent\":");
    TEXT(&w, r->user_agent);
    audit_w_lit(&w, ",\"uid\":");
    TEXT(&w, r->request_id);
    audit_w_lit(&w, ",\"length\":");
    audit_w_u64(&w, r->bytes_in);
    audit_w_lit(&w, "},\"http_response\":{\"code\":");
    audit_w_i64(&w, r->status);
    audit_w_lit(&w, ",\"length\":");
    audit_w_u64(&w, r->bytes_out);
    audit_w_lit(&w, ",\"latency\":");
    audit_w_u64(&w, r->latency_us / 1000);
    audit_w_raw(&w, "}", 1);

    audit_w_lit(&w, ",\"resources\":[");
    if (r->resource.kind.len || r->resource.name.len || r->resource.n_ids) {
        audit_w_lit(&w, "{\"type\":");
        TEXT(&w, r->resource.kind);
        audit_w_lit(&w, ",\"name\":");
        TEXT(&w, r->resource.name);
        if (r->resource.n_ids) {
            audit_w_lit(&w, ",\"uid\":");
            TEXT(&w, r->resource.ids[0].value);
        }
        audit_w_lit(&w, ",\"data\":{");
        for (uint8_t i = 0; i < r->resource.n_ids && i < AUDIT_RES_IDS; i++) {
            if (i)
                audit_w_raw(&w, ",", 1);
            TEXT(&w, r->resource.ids[i].key);
            audit_w_raw(&w, ":", 1);
            TEXT(&w, r->resource.ids[i].value);
        }
        audit_w_lit(&w, "}}");
    }
    audit_w_raw(&w, "]", 1);

    /* Warden-specific fields with no OCSF attribute. */
    audit_w_lit(&w, ",\"unmapped\":{\"warden_schema\":");
    audit_w_u64(&w, AUDIT_SCHEMA_VERSION);
    audit_w_lit(&w, ",\"seq\":");
    audit_w_u64(&w, r->seq);
    audit_w_lit(&w, ",\"auth_method\":");
    TEXT(&w, r->subject.auth_method);
    audit_w_lit(&w, ",\"groups_omitted\":");
    audit_w_u64(&w, r->subject.groups_omitted);
    audit_w_lit(&w, ",\"actors\":[");
    audit_w_actors(&w, r);
    audit_w_lit(&w, "],\"privilege\":");
    TEXT(&w, r->decision.privilege);
    audit_w_lit(&w, ",\"upstream_status\":");
    audit_w_i64(&w, r->upstream_status);
    audit_w_lit(&w, ",\"params\":{");
    for (uint8_t i = 0; i < r->n_params && i < AUDIT_PARAMS; i++) {
        if (i)
            audit_w_raw(&w, ",", 1);
        TEXT(&w, r->params[i].key);
        audit_w_raw(&w, ":", 1);
        TEXT(&w, r->params[i].value);
    }
    audit_w_lit(&w, r->redacted ? "},\"redacted\":true" : "},\"redacted\":false");
    audit_w_lit(&w, ",\"params_dropped\":");
    audit_w_u64(&w, r->params_dropped);
    audit_w_lit(&w, ",\"latency_us\":");
    audit_w_u64(&w, r->latency_us);
    audit_w_lit(&w, ",\"prev_hash\":");
    audit_w_str(&w, r->prev_hash, strnlen(r->prev_hash, sizeof(r->prev_hash)));
    audit_w_lit(&w, ",\"hash\":");
    audit_w_str(&w, r->hash, strnlen(r->hash, sizeof(r->hash)));
    audit_w_lit(&w, "}}");
    if (w.over)
        return -1;
    if (out_len)
        *out_len = w.len;
    return 0;
}
