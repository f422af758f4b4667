"""The MLflow UI's own requests, as a reader (issue 5, Tests: "the UI's ajax routes called as a
reader"). Each request below has the shape the bundled UI of mlflow 3.17.2 sends
(mlflow/server/js/build/static/js/main.*.js): /ajax-api twins of the RPCs, the UI-only routes
(metrics bulk, get-trace-artifact, logged-model artifact files, search-datasets, get-artifact
with run_uuid) and the GraphQL queries of the run and experiment pages.

alice reads dave's experiment risk.credit.<P>-exp (group risk: READ on catalog risk) and must
get what the UI needs; bob (marketing) must get nothing of it.
"""

import pytest

import enforcekit as kit
from enforcekit import As, warden, world  # noqa: F401 - fixtures


@pytest.fixture(scope="module")
def ab(warden):
    return As(warden, "alice"), As(warden, "bob")


def test_experiment_list_and_page(ab, world):
    alice, bob = ab
    body = {"max_results": 25, "order_by": ["last_update_time DESC"], "view_type": "ACTIVE_ONLY",
            "filter": "name ILIKE '%%%s%%'" % world.P}
    names = [e["name"] for e in kit.ok_json(alice.post("/ajax-api/2.0/mlflow/experiments/search", body))
             .get("experiments", [])]
    assert world.exp_name in names and world.mexp_name not in names
    names = [e["name"] for e in kit.ok_json(bob.post("/ajax-api/2.0/mlflow/experiments/search", body))
             .get("experiments", [])]
    assert world.exp_name not in names and world.mexp_name in names
    e = kit.ok_json(alice.get("/ajax-api/2.0/mlflow/experiments/get", {"experiment_id": world.exp}))
    assert e["experiment"]["name"] == world.exp_name
    kit.assert_denied(bob.get("/ajax-api/2.0/mlflow/experiments/get", {"experiment_id": world.exp}), "bob", "READ")
    e = kit.ok_json(alice.get("/ajax-api/2.0/mlflow/experiments/get-by-name", {"experiment_name": world.exp_name}))
    assert e["experiment"]["experiment_id"] == world.exp


def test_runs_table(ab, world):
    alice, bob = ab
    body = {"experiment_ids": [world.exp], "filter": "", "run_view_type": "ACTIVE_ONLY", "max_results": 100,
            "order_by": ["attributes.start_time DESC"]}
    runs = kit.ok_json(alice.post("/ajax-api/2.0/mlflow/runs/search", body))["runs"]
    assert world.run in [r["info"]["run_id"] for r in runs]
    kit.assert_denied(bob.post("/ajax-api/2.0/mlflow/runs/search", body), "bob", "READ")
    r = kit.ok_json(alice.get("/ajax-api/2.0/mlflow/runs/get", {"run_id": world.run}))
    assert r["run"]["info"]["run_id"] == world.run
    kit.assert_denied(bob.get("/ajax-api/2.0/mlflow/runs/get", {"run_id": world.run}), "bob", "READ")


def test_metric_charts(ab, world):
    alice, bob = ab
    # sampled charts: run_ids repeated (qs arrayFormat "repeat")
    q = {"run_ids": [world.run], "metric_key": "loss", "max_results": "320"}
    j = kit.ok_json(alice.get("/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval", q))
    assert len(j["metrics"]) == 3
    kit.assert_denied(bob.get("/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval", q), "bob", "READ")
    q = {"run_ids": [world.run, world.mrun], "metric_key": "loss"}
    kit.assert_denied(alice.get("/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval", q), "alice", "READ",
                      "run", world.mrun)
    j = kit.ok_json(alice.get("/ajax-api/2.0/mlflow/metrics/get-history-bulk",
                              {"run_id": world.run, "metric_key": "loss"}))
    assert len(j["metrics"]) == 3
    kit.assert_denied(bob.get("/ajax-api/2.0/mlflow/metrics/get-history-bulk",
                              {"run_id": world.run, "metric_key": "loss"}), "bob", "READ")


def test_metric_history_as_the_ui_asks(ab, world):
    """getMetricHistoryApi sends run_uuid (not run_id) and metric_key."""
    alice, bob = ab
    r = alice.get("/ajax-api/2.0/mlflow/metrics/get-history", {"run_uuid": world.run, "metric_key": "loss"})
    assert len(kit.ok_json(r)["metrics"]) == 3
    kit.assert_denied(bob.get("/ajax-api/2.0/mlflow/metrics/get-history",
                              {"run_uuid": world.run, "metric_key": "loss"}), "bob", "READ")


def test_artifact_browser_as_the_ui_asks(ab, world):
    """listArtifactsApi sends {run_uuid, path}; the file viewer fetches get-artifact?path=&run_uuid=."""
    alice, bob = ab
    r = alice.get("/ajax-api/2.0/mlflow/artifacts/list", {"run_uuid": world.run})
    assert [f["path"] for f in kit.ok_json(r)["files"]] == ["secret.txt"]
    kit.assert_denied(bob.get("/ajax-api/2.0/mlflow/artifacts/list", {"run_uuid": world.run}), "bob", "READ")
    r = alice.get("/get-artifact", {"path": "secret.txt", "run_uuid": world.run})
    kit.assert_allowed(r)
    assert r.content == kit.SECRET
    r = bob.get("/get-artifact", {"path": "secret.txt", "run_uuid": world.run})
    kit.assert_denied(r, "bob", "READ")


def test_artifact_browser_with_run_id(ab, world):
    alice, bob = ab
    r = alice.get("/ajax-api/2.0/mlflow/artifacts/list", {"run_id": world.run})
    assert [f["path"] for f in kit.ok_json(r)["files"]] == ["secret.txt"]
    r = alice.get("/get-artifact", {"path": "secret.txt", "run_id": world.run})
    assert r.content == kit.SECRET
    kit.assert_denied(bob.get("/get-artifact", {"path": "secret.txt", "run_id": world.run}), "bob", "READ")
    # the artifact proxy, as the UI's artifact repository uses it
    r = alice.get("/ajax-api/2.0/mlflow-artifacts/artifacts", {"path": "%s/%s/artifacts" % (world.exp, world.run)})
    assert [f["path"] for f in kit.ok_json(r)["files"]] == ["secret.txt"]
    assert alice.get("/ajax-api/2.0/mlflow-artifacts/artifacts/" + world.secret_path).content == kit.SECRET
    kit.assert_denied(bob.get("/ajax-api/2.0/mlflow-artifacts/artifacts/" + world.secret_path), "bob", "READ")


def test_traces_tab(ab, world):
    alice, bob = ab
    body = {"locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": world.exp}}],
            "max_results": 100}
    j = kit.ok_json(alice.post("/ajax-api/3.0/mlflow/traces/search", body))
    assert world.trace in [t["trace_id"] for t in j["traces"]]
    kit.assert_denied(bob.post("/ajax-api/3.0/mlflow/traces/search", body), "bob", "READ")
    assert kit.ok_json(alice.get("/ajax-api/3.0/mlflow/traces/" + world.trace))["trace"]["trace_info"][
        "trace_id"] == world.trace
    r = alice.get("/ajax-api/3.0/mlflow/get-trace-artifact", {"request_id": world.trace})
    kit.assert_allowed(r)
    assert b"credit-trace" in r.content
    kit.assert_denied(bob.get("/ajax-api/3.0/mlflow/get-trace-artifact", {"request_id": world.trace}), "bob",
                      "READ")
    r = alice.get("/ajax-api/3.0/mlflow/traces/batchGet", {"trace_ids": world.trace})
    kit.assert_allowed(r)


def test_models_tab(ab, world):
    alice, bob = ab
    j = kit.ok_json(alice.post("/ajax-api/2.0/mlflow/logged-models/search", {"experiment_ids": [world.exp]}))
    assert world.logged_model in [m["info"]["model_id"] for m in j["models"]]
    kit.assert_denied(bob.post("/ajax-api/2.0/mlflow/logged-models/search", {"experiment_ids": [world.exp]}),
                      "bob", "READ")
    r = alice.get("/ajax-api/2.0/mlflow/logged-models/%s/artifacts/directories" % world.logged_model)
    kit.assert_allowed(r)
    r = alice.get("/ajax-api/2.0/mlflow/logged-models/%s/artifacts/files" % world.logged_model,
                  {"artifact_file_path": "MLmodel"})
    kit.assert_allowed(r, ok=None)
    kit.assert_denied(bob.get("/ajax-api/2.0/mlflow/logged-models/%s/artifacts/files" % world.logged_model,
                              {"artifact_file_path": "MLmodel"}), "bob", "READ")


def test_registry_pages(ab, world):
    alice, bob = ab
    q = {"filter": "name ILIKE '%%%s%%'" % world.P, "max_results": "25"}
    names = [m["name"] for m in kit.ok_json(alice.get("/ajax-api/2.0/mlflow/registered-models/search", q))
             .get("registered_models", [])]
    assert world.model_name in names
    names = [m["name"] for m in kit.ok_json(bob.get("/ajax-api/2.0/mlflow/registered-models/search", q))
             .get("registered_models", [])]
    assert world.model_name not in names
    q = {"filter": "name='%s'" % world.model_name}
    assert kit.ok_json(alice.get("/ajax-api/2.0/mlflow/model-versions/search", q))["model_versions"]
    assert not kit.ok_json(bob.get("/ajax-api/2.0/mlflow/model-versions/search", q)).get("model_versions")
    r = alice.get("/model-versions/get-artifact", {"path": "secret.txt", "name": world.model_name,
                                                   "version": world.model_version})
    assert r.content == kit.SECRET
    kit.assert_allowed(alice.get("/ajax-api/2.0/mlflow/registered-models/get", {"name": world.model_name}))
    kit.assert_denied(bob.get("/ajax-api/2.0/mlflow/registered-models/get", {"name": world.model_name}), "bob",
                      "EXECUTE")


def test_datasets_panel(ab, world):
    alice, bob = ab
    kit.assert_allowed(alice.post("/ajax-api/2.0/mlflow/experiments/search-datasets",
                                  {"experiment_ids": [world.exp]}))
    kit.assert_denied(bob.post("/ajax-api/2.0/mlflow/experiments/search-datasets",
                               {"experiment_ids": [world.exp]}), "bob", "READ")
    j = kit.ok_json(alice.post("/ajax-api/3.0/mlflow/datasets/search", {"experiment_ids": [world.exp]}))
    assert world.dataset in [d["dataset_id"] for d in j.get("datasets", [])]


def test_reader_cannot_write_through_the_ui(ab, world):
    alice, _ = ab
    r = alice.post("/ajax-api/2.0/mlflow/runs/set-tag", {"run_uuid": world.run, "key": "k", "value": "v"})
    kit.assert_denied(r, "alice", "MODIFY")
    r = alice.post("/ajax-api/2.0/mlflow/upload-artifact?run_uuid=%s&path=x.txt" % world.run, data=b"x")
    kit.assert_denied(r, "alice", "MODIFY")
    r = alice.post("/ajax-api/2.0/mlflow/experiments/update", {"experiment_id": world.exp, "new_name": "x"})
    kit.assert_denied(r, "alice", "MANAGE")


# --- GraphQL (the run and experiment pages) -----------------------------------------------------
GET_EXPERIMENT = """query MlflowGetExperimentQuery($input: MlflowGetExperimentInput!) {
  mlflowGetExperiment(input: $input) { experiment { experimentId name } }
}"""
GET_RUN = """query GetRun($data: MlflowGetRunInput!) {
  mlflowGetRun(input: $data) { run { info { runUuid experimentId } } }
}"""


def _gql(who, query, variables):
    return who.post("/graphql", {"query": query, "variables": variables})


def test_graphql_as_admin(warden, world):
    root = As(warden, "root")
    j = kit.ok_json(_gql(root, GET_EXPERIMENT, {"input": {"experimentId": world.exp}}))
    assert j["data"]["mlflowGetExperiment"]["experiment"]["name"] == world.exp_name


def test_graphql_get(ab, warden, world):
    """GET /graphql (query in the query string): same rules as POST. (MLflow 3.17.2 answers its
    GET route with a 500 whatever the query, so only Warden's decision is checked.)"""
    alice, bob = ab
    q = {"query": GET_EXPERIMENT, "variables": '{"input": {"experimentId": "%s"}}' % world.exp}
    kit.assert_allowed(As(warden, "root").get("/graphql", q), ok=None)
    # For everyone else Warden says what MLflow cannot: the document must be in a POST body
    # (MLflow reads the JSON body even on GET, and Warden refuses GET bodies).
    for who in (alice, bob):
        r = who.get("/graphql", q)
        assert r.status_code == 400 and "sent with POST" in r.text, r.text
        assert world.exp_name not in r.text


def test_graphql_as_reader(ab, world):
    """The UI's run and experiment pages query GraphQL: a reader gets what she may read."""
    alice, _ = ab
    j = kit.ok_json(_gql(alice, GET_EXPERIMENT, {"input": {"experimentId": world.exp}}))
    assert j["data"]["mlflowGetExperiment"]["experiment"]["name"] == world.exp_name
    j = kit.ok_json(_gql(alice, GET_RUN, {"data": {"runId": world.run}}))
    assert j["data"]["mlflowGetRun"]["run"]["info"]["runUuid"] == world.run


def test_graphql_as_outsider(ab, world):
    _, bob = ab
    for q, v in ((GET_EXPERIMENT, {"input": {"experimentId": world.exp}}), (GET_RUN, {"data": {"runId": world.run}})):
        r = _gql(bob, q, v)
        assert world.exp_name.encode() not in r.content and world.run.encode() not in r.content or \
            r.status_code == 403, r.text
