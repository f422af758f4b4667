/*
 * graphql_schema: the constant tables of MLflow's GraphQL schema (see graphql_schema.h).
 * Generated from the installed mlflow==3.17.2 (graphene's schema.graphql_schema type map,
 * introspection and built-in scalar types left out, types sorted by name) and checked
 * against it by tests/unit/test_graphql.c with tests/unit/fixtures/graphql/schema.txt
 * (regenerate that file with gen_schema.py in the same directory). Constant data; any thread.
 */
#include "mlflow/graphql_schema.h"

#include "mlflow/graphql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N(a)    (sizeof(a) / sizeof((a)[0]))
#define OBJ(a)  .fields = (a), .nfields = N(a)
#define INP(a)  .inputs = (a), .ninputs = N(a)
#define ENUM(a) .values = (a), .nvalues = N(a)

static const struct gs_field f_ApiError[] = {
    {"code", "String", NULL, NULL},
    {"message", "String", NULL, NULL},
    {"helpUrl", "String", NULL, NULL},
    {"traceId", "String", NULL, NULL},
    {"errorDetails", "[ErrorDetail]", NULL, NULL},
};
static const struct gs_field f_ErrorDetail[] = {
    {"field", "String", NULL, NULL},
    {"message", "String", NULL, NULL},
};
static const struct gs_field f_MlflowDataset[] = {
    {"name", "String", NULL, NULL},       {"digest", "String", NULL, NULL},
    {"sourceType", "String", NULL, NULL}, {"source", "String", NULL, NULL},
    {"schema", "String", NULL, NULL},     {"profile", "String", NULL, NULL},
};
static const struct gs_field f_MlflowDatasetInput[] = {
    {"tags", "[MlflowInputTag!]", NULL, NULL},
    {"dataset", "MlflowDataset", NULL, NULL},
};
static const struct gs_field f_MlflowDatasetSummary[] = {
    {"experimentId", "String", NULL, NULL},
    {"name", "String", NULL, NULL},
    {"digest", "String", NULL, NULL},
    {"context", "String", NULL, NULL},
};
static const struct gs_field f_MlflowExperiment[] = {
    {"experimentId", "String", NULL, NULL},
    {"name", "String", NULL, NULL},
    {"artifactLocation", "String", NULL, NULL},
    {"lifecycleStage", "String", NULL, NULL},
    {"lastUpdateTime", "LongString", NULL, NULL},
    {"creationTime", "LongString", NULL, NULL},
    {"tags", "[MlflowExperimentTag!]", NULL, NULL},
    {"effectiveTraceArchivalRetention", "String", NULL, NULL},
    {"workspace", "String", NULL, NULL},
};
static const struct gs_field f_MlflowExperimentTag[] = {
    {"key", "String", NULL, NULL},
    {"value", "String", NULL, NULL},
};
static const struct gs_field f_MlflowFileInfo[] = {
    {"path", "String", NULL, NULL},
    {"isDir", "Boolean", NULL, NULL},
    {"fileSize", "LongString", NULL, NULL},
};
static const struct gs_field f_MlflowGetExperimentResponse[] = {
    {"experiment", "MlflowExperiment", NULL, NULL},
    {"apiError", "ApiError", NULL, NULL},
};
static const struct gs_field f_MlflowGetMetricHistoryBulkIntervalResponse[] = {
    {"metrics", "[MlflowMetricWithRunId!]", NULL, NULL},
    {"apiError", "ApiError", NULL, NULL},
};
static const struct gs_field f_MlflowGetRunResponse[] = {
    {"run", "MlflowRunExtension", NULL, NULL},
    {"apiError", "ApiError", NULL, NULL},
};
static const struct gs_field f_MlflowInputTag[] = {
    {"key", "String", NULL, NULL},
    {"value", "String", NULL, NULL},
};
static const struct gs_field f_MlflowListArtifactsResponse[] = {
    {"rootUri", "String", NULL, NULL},
    {"files", "[MlflowFileInfo!]", NULL, NULL},
    {"nextPageToken", "String", NULL, NULL},
    {"apiError", "ApiError", NULL, NULL},
};
static const struct gs_field f_MlflowMetricExtension[] = {
    {"key", "String", NULL, NULL},           {"value", "Float", NULL, NULL},
    {"timestamp", "LongString", NULL, NULL}, {"step", "LongString", NULL, NULL},
    {"datasetName", "String", NULL, NULL},   {"datasetDigest", "String", NULL, NULL},
    {"modelId", "String", NULL, NULL},       {"runId", "String", NULL, NULL},
};
static const struct gs_field f_MlflowMetricWithRunId[] = {
    {"key", "String", NULL, NULL},           {"value", "Float", NULL, NULL},
    {"timestamp", "LongString", NULL, NULL}, {"step", "LongString", NULL, NULL},
    {"runId", "String", NULL, NULL},
};
static const struct gs_field f_MlflowModelInput[] = {
    {"modelId", "String", NULL, NULL},
};
static const struct gs_field f_MlflowModelMetric[] = {
    {"key", "String", NULL, NULL},           {"value", "Float", NULL, NULL},
    {"timestamp", "LongString", NULL, NULL}, {"step", "LongString", NULL, NULL},
    {"datasetName", "String", NULL, NULL},   {"datasetDigest", "String", NULL, NULL},
    {"modelId", "String", NULL, NULL},       {"runId", "String", NULL, NULL},
};
static const struct gs_field f_MlflowModelOutput[] = {
    {"modelId", "String", NULL, NULL},
    {"step", "LongString", NULL, NULL},
};
static const struct gs_field f_MlflowModelParam[] = {
    {"name", "String", NULL, NULL},
    {"value", "String", NULL, NULL},
};
static const struct gs_field f_MlflowModelVersion[] = {
    {"name", "String", NULL, NULL},
    {"version", "String", NULL, NULL},
    {"creationTimestamp", "LongString", NULL, NULL},
    {"lastUpdatedTimestamp", "LongString", NULL, NULL},
    {"userId", "String", NULL, NULL},
    {"currentStage", "String", NULL, NULL},
    {"description", "String", NULL, NULL},
    {"source", "String", NULL, NULL},
    {"runId", "String", NULL, NULL},
    {"status", "MlflowModelVersionStatus", NULL, NULL},
    {"statusMessage", "String", NULL, NULL},
    {"tags", "[MlflowModelVersionTag!]", NULL, NULL},
    {"runLink", "String", NULL, NULL},
    {"aliases", "[String]", NULL, NULL},
    {"modelId", "String", NULL, NULL},
    {"modelParams", "[MlflowModelParam!]", NULL, NULL},
    {"modelMetrics", "[MlflowModelMetric!]", NULL, NULL},
    {"deploymentJobState", "MlflowModelVersionDeploymentJobState", NULL, NULL},
};
static const struct gs_field f_MlflowModelVersionDeploymentJobState[] = {
    {"jobId", "String", NULL, NULL},
    {"runId", "String", NULL, NULL},
    {"jobState", "MlflowDeploymentJobConnectionState", NULL, NULL},
    {"runState", "MlflowModelVersionDeploymentJobStateDeploymentJobRunState", NULL, NULL},
    {"currentTaskName", "String", NULL, NULL},
};
static const struct gs_field f_MlflowModelVersionTag[] = {
    {"key", "String", NULL, NULL},
    {"value", "String", NULL, NULL},
};
static const struct gs_field f_MlflowParam[] = {
    {"key", "String", NULL, NULL},
    {"value", "String", NULL, NULL},
};
static const struct gs_field f_MlflowRunData[] = {
    {"metrics", "[MlflowMetricExtension!]", NULL, NULL},
    {"params", "[MlflowParam!]", NULL, NULL},
    {"tags", "[MlflowRunTag!]", NULL, NULL},
};
static const struct gs_field f_MlflowRunExtension[] = {
    {"info", "MlflowRunInfo", NULL, NULL},
    {"data", "MlflowRunData", NULL, NULL},
    {"inputs", "MlflowRunInputs", NULL, NULL},
    {"outputs", "MlflowRunOutputs", NULL, NULL},
    {"experiment", "MlflowExperiment", NULL, NULL},
    {"modelVersions", "[MlflowModelVersion!]", NULL, NULL},
};
static const struct gs_field f_MlflowRunInfo[] = {
    {"runId", "String", NULL, NULL},         {"runUuid", "String", NULL, NULL},
    {"runName", "String", NULL, NULL},       {"experimentId", "String", NULL, NULL},
    {"userId", "String", NULL, NULL},        {"status", "MlflowRunStatus", NULL, NULL},
    {"startTime", "LongString", NULL, NULL}, {"endTime", "LongString", NULL, NULL},
    {"artifactUri", "String", NULL, NULL},   {"lifecycleStage", "String", NULL, NULL},
};
static const struct gs_field f_MlflowRunInputs[] = {
    {"datasetInputs", "[MlflowDatasetInput!]", NULL, NULL},
    {"modelInputs", "[MlflowModelInput!]", NULL, NULL},
};
static const struct gs_field f_MlflowRunOutputs[] = {
    {"modelOutputs", "[MlflowModelOutput!]", NULL, NULL},
};
static const struct gs_field f_MlflowRunTag[] = {
    {"key", "String", NULL, NULL},
    {"value", "String", NULL, NULL},
};
static const struct gs_field f_MlflowSearchDatasetsResponse[] = {
    {"datasetSummaries", "[MlflowDatasetSummary!]", NULL, NULL},
    {"apiError", "ApiError", NULL, NULL},
};
static const struct gs_field f_MlflowSearchModelVersionsResponse[] = {
    {"modelVersions", "[MlflowModelVersion!]", NULL, NULL},
    {"nextPageToken", "String", NULL, NULL},
    {"apiError", "ApiError", NULL, NULL},
};
static const struct gs_field f_MlflowSearchRunsResponse[] = {
    {"runs", "[MlflowRunExtension!]", NULL, NULL},
    {"nextPageToken", "String", NULL, NULL},
    {"apiError", "ApiError", NULL, NULL},
};
static const struct gs_field f_Mutation[] = {
    {"mlflowSearchDatasets", "MlflowSearchDatasetsResponse", "input", "MlflowSearchDatasetsInput"},
    {"mlflowSearchRuns", "MlflowSearchRunsResponse", "input", "MlflowSearchRunsInput"},
    {"testMutation", "TestMutation", "inputString", "String"},
};
static const struct gs_field f_Query[] = {
    {"mlflowGetExperiment", "MlflowGetExperimentResponse", "input", "MlflowGetExperimentInput"},
    {"mlflowGetMetricHistoryBulkInterval", "MlflowGetMetricHistoryBulkIntervalResponse", "input",
     "MlflowGetMetricHistoryBulkIntervalInput"},
    {"mlflowGetRun", "MlflowGetRunResponse", "input", "MlflowGetRunInput"},
    {"mlflowListArtifacts", "MlflowListArtifactsResponse", "input", "MlflowListArtifactsInput"},
    {"mlflowSearchModelVersions", "MlflowSearchModelVersionsResponse", "input",
     "MlflowSearchModelVersionsInput"},
    {"test", "Test", "inputString", "String"},
    {"mlflowSearchRuns", "MlflowSearchRunsResponse", "input", "MlflowSearchRunsInput"},
};
static const struct gs_field f_Test[] = {
    {"output", "String", NULL, NULL},
};
static const struct gs_field f_TestMutation[] = {
    {"output", "String", NULL, NULL},
};
static const struct gs_input_field i_MlflowGetExperimentInput[] = {
    {"experimentId", "String", false},
};
static const struct gs_input_field i_MlflowGetMetricHistoryBulkIntervalInput[] = {
    {"runIds", "[String]", false}, {"metricKey", "String", false}, {"startStep", "Int", false},
    {"endStep", "Int", false},     {"maxResults", "Int", false},
};
static const struct gs_input_field i_MlflowGetRunInput[] = {
    {"runId", "String", false},
    {"runUuid", "String", false},
};
static const struct gs_input_field i_MlflowListArtifactsInput[] = {
    {"runId", "String", false},
    {"runUuid", "String", false},
    {"path", "String", false},
    {"pageToken", "String", false},
};
static const struct gs_input_field i_MlflowSearchDatasetsInput[] = {
    {"experimentIds", "[String]", false},
};
static const struct gs_input_field i_MlflowSearchModelVersionsInput[] = {
    {"filter", "String", false},
    {"maxResults", "LongString", false},
    {"orderBy", "[String]", false},
    {"pageToken", "String", false},
};
static const struct gs_input_field i_MlflowSearchRunsInput[] = {
    {"experimentIds", "[String]", false},    {"filter", "String", false},
    {"runViewType", "MlflowViewType", true}, {"maxResults", "Int", false},
    {"orderBy", "[String]", false},          {"pageToken", "String", false},
};
static const char *const e_MlflowDeploymentJobConnectionState[] = {
    "DEPLOYMENT_JOB_CONNECTION_STATE_UNSPECIFIED", "NOT_SET_UP", "CONNECTED", "NOT_FOUND",
    "REQUIRED_PARAMETERS_CHANGED"};
static const char *const e_MlflowModelVersionDeploymentJobStateDeploymentJobRunState[] = {
    "DEPLOYMENT_JOB_RUN_STATE_UNSPECIFIED",
    "NO_VALID_DEPLOYMENT_JOB_FOUND",
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
    "PENDING",
    "APPROVAL"};
static const char *const e_MlflowModelVersionStatus[] = {"PENDING_REGISTRATION",
                                                         "FAILED_REGISTRATION", "READY"};
static const char *const e_MlflowRunStatus[] = {"RUNNING", "SCHEDULED", "FINISHED", "FAILED",
                                                "KILLED"};
static const char *const e_MlflowViewType[] = {"ACTIVE_ONLY", "DELETED_ONLY", "ALL"};

static const struct gs_type types[] = {
    {"ApiError", GS_OBJECT, OBJ(f_ApiError)},
    {"Boolean", GS_SCALAR, .fields = NULL},
    {"ErrorDetail", GS_OBJECT, OBJ(f_ErrorDetail)},
    {"Float", GS_SCALAR, .fields = NULL},
    {"Int", GS_SCALAR, .fields = NULL},
    {"LongString", GS_SCALAR, .fields = NULL},
    {"MlflowDataset", GS_OBJECT, OBJ(f_MlflowDataset)},
    {"MlflowDatasetInput", GS_OBJECT, OBJ(f_MlflowDatasetInput)},
    {"MlflowDatasetSummary", GS_OBJECT, OBJ(f_MlflowDatasetSummary)},
    {"MlflowDeploymentJobConnectionState", GS_ENUM, ENUM(e_MlflowDeploymentJobConnectionState)},
    {"MlflowExperiment", GS_OBJECT, OBJ(f_MlflowExperiment)},
    {"MlflowExperimentTag", GS_OBJECT, OBJ(f_MlflowExperimentTag)},
    {"MlflowFileInfo", GS_OBJECT, OBJ(f_MlflowFileInfo)},
    {"MlflowGetExperimentInput", GS_INPUT, INP(i_MlflowGetExperimentInput)},
    {"MlflowGetExperimentResponse", GS_OBJECT, OBJ(f_MlflowGetExperimentResponse)},
    {"MlflowGetMetricHistoryBulkIntervalInput", GS_INPUT,
     INP(i_MlflowGetMetricHistoryBulkIntervalInput)},
    {"MlflowGetMetricHistoryBulkIntervalResponse", GS_OBJECT,
     OBJ(f_MlflowGetMetricHistoryBulkIntervalResponse)},
    {"MlflowGetRunInput", GS_INPUT, INP(i_MlflowGetRunInput)},
    {"MlflowGetRunResponse", GS_OBJECT, OBJ(f_MlflowGetRunResponse)},
    {"MlflowInputTag", GS_OBJECT, OBJ(f_MlflowInputTag)},
    {"MlflowListArtifactsInput", GS_INPUT, INP(i_MlflowListArtifactsInput)},
    {"MlflowListArtifactsResponse", GS_OBJECT, OBJ(f_MlflowListArtifactsResponse)},
    {"MlflowMetricExtension", GS_OBJECT, OBJ(f_MlflowMetricExtension)},
    {"MlflowMetricWithRunId", GS_OBJECT, OBJ(f_MlflowMetricWithRunId)},
    {"MlflowModelInput", GS_OBJECT, OBJ(f_MlflowModelInput)},
    {"MlflowModelMetric", GS_OBJECT, OBJ(f_MlflowModelMetric)},
    {"MlflowModelOutput", GS_OBJECT, OBJ(f_MlflowModelOutput)},
    {"MlflowModelParam", GS_OBJECT, OBJ(f_MlflowModelParam)},
    {"MlflowModelVersion", GS_OBJECT, OBJ(f_MlflowModelVersion)},
    {"MlflowModelVersionDeploymentJobState", GS_OBJECT,
     OBJ(f_MlflowModelVersionDeploymentJobState)},
    {"MlflowModelVersionDeploymentJobStateDeploymentJobRunState", GS_ENUM,
     ENUM(e_MlflowModelVersionDeploymentJobStateDeploymentJobRunState)},
    {"MlflowModelVersionStatus", GS_ENUM, ENUM(e_MlflowModelVersionStatus)},
    {"MlflowModelVersionTag", GS_OBJECT, OBJ(f_MlflowModelVersionTag)},
    {"MlflowParam", GS_OBJECT, OBJ(f_MlflowParam)},
    {"MlflowRunData", GS_OBJECT, OBJ(f_MlflowRunData)},
    {"MlflowRunExtension", GS_OBJECT, OBJ(f_MlflowRunExtension)},
    {"MlflowRunInfo", GS_OBJECT, OBJ(f_MlflowRunInfo)},
    {"MlflowRunInputs", GS_OBJECT, OBJ(f_MlflowRunInputs)},
    {"MlflowRunOutputs", GS_OBJECT, OBJ(f_MlflowRunOutputs)},
    {"MlflowRunStatus", GS_ENUM, ENUM(e_MlflowRunStatus)},
    {"MlflowRunTag", GS_OBJECT, OBJ(f_MlflowRunTag)},
    {"MlflowSearchDatasetsInput", GS_INPUT, INP(i_MlflowSearchDatasetsInput)},
    {"MlflowSearchDatasetsResponse", GS_OBJECT, OBJ(f_MlflowSearchDatasetsResponse)},
    {"MlflowSearchModelVersionsInput", GS_INPUT, INP(i_MlflowSearchModelVersionsInput)},
    {"MlflowSearchModelVersionsResponse", GS_OBJECT, OBJ(f_MlflowSearchModelVersionsResponse)},
    {"MlflowSearchRunsInput", GS_INPUT, INP(i_MlflowSearchRunsInput)},
    {"MlflowSearchRunsResponse", GS_OBJECT, OBJ(f_MlflowSearchRunsResponse)},
    {"MlflowViewType", GS_ENUM, ENUM(e_MlflowViewType)},
    {"Mutation", GS_OBJECT, OBJ(f_Mutation)},
    {"Query", GS_OBJECT, OBJ(f_Query)},
    {"String", GS_SCALAR, .fields = NULL},
    {"Test", GS_OBJECT, OBJ(f_Test)},
    {"TestMutation", GS_OBJECT, OBJ(f_TestMutation)},
};

static bool name_is(const char *s, const char *name, size_t len)
{
    return strncmp(s, name, len) == 0 && s[len] == '\0';
}

const struct gs_type *gs_type_find(const char *name, size_t len)
{
    size_t lo = 0, hi = N(types);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strncmp(types[mid].name, name, len);
        if (c == 0 && types[mid].name[len] != '\0')
            c = 1; /* the table's name is longer: it sorts after */
        if (c == 0)
            return &types[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct gs_field *gs_field_find(const struct gs_type *t, const char *name, size_t len)
{
    for (size_t i = 0; t && i < t->nfields; i++)
        if (name_is(t->fields[i].name, name, len))
            return &t->fields[i];
    return NULL;
}

const struct gs_input_field *gs_input_find(const struct gs_type *t, const char *name, size_t len)
{
    for (size_t i = 0; t && i < t->ninputs; i++)
        if (name_is(t->inputs[i].name, name, len))
            return &t->inputs[i];
    return NULL;
}

bool gs_enum_has(const struct gs_type *t, const char *name, size_t len)
{
    for (size_t i = 0; t && i < t->nvalues; i++)
        if (name_is(t->values[i], name, len))
            return true;
    return false;
}

/* graphql_schema_dump (graphql.h): the tables in the format of fixtures/graphql/schema.txt */
static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void graphql_schema_dump(FILE *f)
{
    size_t n = 0, cap = 0;
    char **lines = NULL;
    for (size_t i = 0; i < N(types); i++) {
        const struct gs_type *t = &types[i];
        size_t k = t->kind == GS_OBJECT  ? t->nfields
                   : t->kind == GS_INPUT ? t->ninputs
                   : t->kind == GS_ENUM  ? 1
                                         : (strcmp(t->name, "LongString") == 0);
        for (size_t j = 0; j < k; j++) {
            char buf[512];
            if (t->kind == GS_OBJECT && t->fields[j].arg)
                snprintf(buf, sizeof(buf), "type %s.%s(%s: %s): %s", t->name, t->fields[j].name,
                         t->fields[j].arg, t->fields[j].arg_type, t->fields[j].type);
            else if (t->kind == GS_OBJECT)
                snprintf(buf, sizeof(buf), "type %s.%s: %s", t->name, t->fields[j].name,
                         t->fields[j].type);
            else if (t->kind == GS_INPUT)
                snprintf(buf, sizeof(buf), "input %s.%s: %s%s", t->name, t->inputs[j].name,
                         t->inputs[j].type, t->inputs[j].default_null ? " = null" : "");
            else if (t->kind == GS_ENUM) {
                size_t o = (size_t)snprintf(buf, sizeof(buf), "enum %s: ", t->name);
                for (size_t v = 0; v < t->nvalues && o < sizeof(buf); v++)
                    o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", v ? "|" : "",
                                          t->values[v]);
            } else
                snprintf(buf, sizeof(buf), "scalar %s", t->name);
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 64;
                char **nl = realloc(lines, nc * sizeof(*nl));
                if (!nl)
                    goto out;
                lines = nl;
                cap = nc;
            }
            if (!(lines[n] = strdup(buf)))
                goto out;
            n++;
        }
    }
    if (n == cap) {
        char **nl = realloc(lines, (cap + 1) * sizeof(*nl));
        if (!nl)
            goto out;
        lines = nl;
    }
    char d[128];
    snprintf(d, sizeof(d), "directive @%s(%s: %s) on QUERY|MUTATION", GS_DIRECTIVE,
             GS_DIRECTIVE_ARG, GS_DIRECTIVE_ARG_TYPE);
    if (!(lines[n] = strdup(d)))
        goto out;
    n++;
    qsort(lines, n, sizeof(*lines), cmp_line);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s\n", lines[i]);
out:
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
}
