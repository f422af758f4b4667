/*
 * body: the strict JSON body gate of the JSON API routes (DESIGN.md §1 "Forward exactly what
 * was authorised", mlflow-api.md (b) "JSON bodies", "Protobuf JSON mapping", security-cases.md
 * §3.6). Pure: no I/O, clocks or globals beyond the constant tables of body_protos.c; any
 * thread. It owns nothing but the body_result it fills.
 *
 * body_canonicalize() reads a request body the way only one reading is possible, or refuses
 * it (400; 413 when larger than the caller's limit), and returns:
 *   - the canonical re-serialisation that Warden forwards instead of the client's bytes, so
 *     MLflow acts on exactly the values that were authorised;
 *   - the values of the id fields the route's checks name (copies owned by the result).
 *
 * Parsing (jansson, JSON_REJECT_DUPLICATES, no JSON_DECODE_ANY, EOF check on, no NUL):
 * refused are bytes that are not well-formed UTF-8 (overlongs, encoded surrogates,
 * > U+10FFFF), a byte order mark, a top-level value that is not an object (so no double-
 * encoded string bodies, no `null`), nesting deeper than the limit (default 64), duplicate
 * keys, NaN/Infinity, comments, trailing commas or garbage, "\u0000" and lone surrogate
 * escapes in strings, integers outside int64 and reals that overflow a double. Python's json
 * accepts every one of these and reads some differently (last duplicate wins, big ints kept,
 * BOM stripped), so refusing them is what makes the two readings agree. An empty body (0
 * bytes) is read as {} as MLflow does.
 *
 * Protobuf RPC routes (spec->msg >= 0): the body is walked with the request message's schema
 * (body_protos.c, generated from the pinned MLflow's descriptors) at every nesting level,
 * arrays of messages and map values included:
 *   - a key equal to a field's json_name (camelCase) is folded to the proto field name
 *     (snake_case); both spellings of one field are refused ("both experimentId and
 *     experiment_id given"), as are two members of one oneof and, in messages that have
 *     both, run_id and run_uuid with different values (MLflow uses `run_id or run_uuid`; a
 *     lone run_uuid is forwarded as run_id);
 *   - every value is type-checked the way protobuf's ParseDict converts it, and anything
 *     ParseDict would fail on is refused. This matters: ParseDict stops at the first bad
 *     value and MLflow keeps the fields set before it, so a bad value placed before an id
 *     would make MLflow act on an unset (default) id while Warden checked the given one.
 *     Strings must be JSON strings; bools true/false; integers JSON integers in the field's
 *     range or canonical decimal strings; floats numbers or "NaN"/"Infinity"/"-Infinity"/a
 *     JSON-number string; enums names ([A-Za-z_][A-Za-z0-9_]*; unknown names are ignored by
 *     ParseDict, numbers are refused); bytes base64 text; Timestamp RFC 3339 with 'T' and
 *     'Z' or an offset; Duration "<seconds>[.<1-9 digits>]s"; FieldMask [A-Za-z0-9.,]*;
 *     repeated fields arrays without null elements; maps objects without null values;
 *     google.protobuf.Value any JSON, Struct an object, ListValue an array. null clears a
 *     field (ParseDict does the same) and is kept.
 *   - unknown fields are dropped (ParseDict ignores them anyway; dropping means nothing
 *     Warden did not check reaches MLflow), unless limits->keep_unknown; a key starting with
 *     '[' (protobuf extension syntax, a ParseDict error) is always refused.
 * Other JSON routes (FastAPI/pydantic, Flask routes reading request.json; spec->msg < 0):
 * strict parse and re-serialisation only; keys are kept as sent.
 *
 * Cost: one pass over the bytes, jansson's parse, a schema walk that copies only the objects
 * whose keys change (a body already in canonical form is validated in place), jansson's
 * compact dump, and one allocation for the ids. About 1.1-1.2x jansson parse+dump (figures
 * from tests/tools/bench_body.c in the commit log and the issue notes).
 *
 * Numbers are re-serialised by jansson: integers exactly (int64; larger ones were refused),
 * reals with 17 significant digits, which reads back (in Python too) as the same double, so
 * the value MLflow computes is bit-identical to the one Warden parsed ("0.1" is forwarded as
 * 0.10000000000000001, the same double). Keys keep their order; output is compact UTF-8 with
 * no escaping beyond JSON's. Canonicalising the canonical output returns it unchanged.
 *
 * Ids: each checked path is a dotted field path where "name[]" walks every element of an
 * array of messages ("locations[].mlflow_experiment.experiment_id"); a final repeated field
 * gives every element ("experiment_ids"), and a final array is accepted only for a check
 * marked `many` (route_check.many), so a singular id never silently becomes a list. Values
 * must be JSON strings; experiment ids must be canonical decimal: ^(0|[1-9][0-9]{0,18})$, no
 * sign, no whitespace, no leading zero, no '_' (MLflow's store converts with int(), which
 * reads " 1", "+1", "01", "1_0" and non-ASCII digits; grants compare strings). An absent or
 * null field is reported as not present; an empty array as present with no values; the
 * caller decides what absence means (e.g. "0" for CreateRun).
 */
#ifndef WARDEN_MLFLOW_BODY_H
#define WARDEN_MLFLOW_BODY_H

#include "mlflow/routes.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- generated schema (body_protos.c) ---- */

enum body_type {
    BODY_T_NONE = 0,
    BODY_T_STRING,
    BODY_T_BYTES,
    BODY_T_BOOL,
    BODY_T_INT32,
    BODY_T_INT64,
    BODY_T_UINT32,
    BODY_T_UINT64,
    BODY_T_FLOAT,
    BODY_T_DOUBLE,
    BODY_T_ENUM,
    BODY_T_MESSAGE,     /* msg = nested message index */
    BODY_T_MAP,         /* string keys; vtype (and msg for message values) describe values */
    BODY_T_JSON_ANY,    /* google.protobuf.Value */
    BODY_T_JSON_OBJECT, /* google.protobuf.Struct */
    BODY_T_JSON_ARRAY,  /* google.protobuf.ListValue */
    BODY_T_TIMESTAMP,   /* google.protobuf.Timestamp */
    BODY_T_DURATION,    /* google.protobuf.Duration */
    BODY_T_FIELDMASK,   /* google.protobuf.FieldMask */
};

struct body_pfield {
    const char *name;      /* proto field name (snake_case) */
    const char *json_name; /* ParseDict's other spelling (camelCase); may equal name */
    uint8_t type;          /* enum body_type */
    uint8_t vtype;         /* map value type, else BODY_T_NONE */
    int16_t msg;           /* message index for MESSAGE fields and message map values */
    bool repeated;
    int8_t oneof; /* oneof index within the message, -1 if none */
};

struct body_pmsg {
    const char *full_name;
    uint16_t first; /* index into body_pfields */
    uint16_t n;
};

struct body_rpc {
    const char *action; /* RPC name as route_table.c spells actions, sorted (strcmp) */
    int16_t msg;        /* request message */
};

extern const struct body_pfield body_pfields[];
extern const struct body_pmsg body_pmsgs[];
extern const size_t body_npmsgs;
extern const struct body_rpc body_rpcs[];
extern const size_t body_nrpcs;

/* Request message index of an RPC action ("createRun"), or -1. */
int body_rpc_message(const char *action);

/* ---- what to read ---- */

enum body_id_kind {
    BODY_ID_STRING = 0, /* any JSON string */
    BODY_ID_EXPERIMENT, /* canonical decimal experiment id */
};

#define BODY_MAX_IDS ROUTE_MAX_CHECKS

struct body_id_spec {
    const char *path; /* e.g. "experiment_ids", "models[].model_id" */
    enum body_id_kind kind;
    bool many; /* several values allowed; otherwise a final array is refused */
};

struct body_spec {
    int msg; /* protobuf request message index, or -1 for plain JSON */
    size_t nids;
    struct body_id_spec ids[BODY_MAX_IDS];
};

/* The spec for a route: its RPC's request message (none for FastAPI routes and routes
 * without an RPC) and every check whose id is in the body. Returns 0, or -1 with err set
 * (a body path in the table that does not exist in the message: a table bug). */
int body_spec_from_route(const struct route *r, struct body_spec *spec, char *err, size_t errlen);

#define BODY_DEFAULT_MAX_BYTES (8u * 1024u * 1024u)
#define BODY_DEFAULT_MAX_DEPTH 64u

struct body_limits {
    size_t max_bytes;   /* larger bodies: 413 */
    unsigned max_depth; /* nesting of objects and arrays; the top-level object is 1 */
    bool keep_unknown;  /* forward fields the message does not define (default: drop) */
};

/* ---- result ---- */

struct body_val {
    const char *s; /* NUL-terminated copy owned by the result */
    size_t len;
};

struct body_ids {
    bool present; /* some occurrence of the field was given with a non-null value */
    size_t n;
    const struct body_val *v;
};

struct body_result {
    char *json; /* canonical body, NUL-terminated, owned */
    size_t len;
    size_t nids; /* = spec->nids; ids[i] answers spec->ids[i] */
    struct body_ids ids[BODY_MAX_IDS];
    void *block; /* private: storage of the id values */
};

struct body_result *body_result_new(void);
void body_result_free(struct body_result *r);

/*
 * Canonicalises buf[0..len) for spec (limits NULL = defaults). Returns 0 with *out refilled
 * (earlier contents freed), or -1 with *status set to 400 or 413 (when status is not NULL)
 * and a client-safe reason in err, e.g. "duplicate key 'experiment_id'", "invalid UTF-8 at
 * byte 17", "both experimentId and experiment_id given", "experiment_id must be a canonical
 * decimal string". On -1, *out is left empty.
 */
int body_canonicalize(const struct body_spec *spec, const struct body_limits *limits,
                      const char *buf, size_t len, struct body_result *out, int *status, char *err,
                      size_t errlen);

/* ^(0|[1-9][0-9]{0,18})$ */
bool body_is_canonical_decimal(const char *s, size_t len);

#endif
