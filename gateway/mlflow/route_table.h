/*
 * route_table: the declarative MLflow route table (route_table.c) as routes.c consumes it.
 * Internal to gateway/mlflow; everyone else uses routes.h. Constant data, any thread.
 */
#ifndef WARDEN_MLFLOW_ROUTE_TABLE_H
#define WARDEN_MLFLOW_ROUTE_TABLE_H

#include "mlflow/routes.h"

/* Which concrete paths a spec stands for. */
enum route_family {
    ROUTE_FAM_BOTH = 0, /* "/api/V.0" + path and "/ajax-api/V.0" + path (every protobuf RPC) */
    ROUTE_FAM_API,      /* "/api/V.0" + path only */
    ROUTE_FAM_AJAX,     /* "/ajax-api/V.0" + path only (UI-only routes) */
    ROUTE_FAM_ROOT,     /* path as written */
};

/* Body handling; DEFAULT means NONE for GET and JSON for every other method. */
enum route_spec_body {
    ROUTE_SB_DEFAULT = 0,
    ROUTE_SB_NONE,
    ROUTE_SB_JSON,
    ROUTE_SB_STREAM,
    ROUTE_SB_OTLP,
};

struct route_spec {
    enum route_family fam;
    int ver; /* 2 or 3 for the /api families */
    enum http1_method method;
    const char *path;
    const char *action;
    enum route_access access;
    struct route_check checks[ROUTE_MAX_CHECKS];
    enum route_filter filter;
    enum route_spec_body body;
    bool fastapi; /* served by MLflow's FastAPI app (matched first, in table order) */
    const char *note;
};

extern const struct route_spec route_specs[];
extern const size_t route_specs_count;

#endif
