"""The 12 parser differentials of MLflow's own auth (shared/mlflow-api.md (c), "Gaps and
differentials"), each tried through Warden against the real MLflow 3.17.2: the attacker must not
reach an object it has no right to. Where the attack is a write, the victim object is checked
afterwards as root; where it is a read, the victim's bytes must not come back.

Attackers: bob (group marketing: nothing in catalog risk), alice (reads risk.credit, writes only
risk.fraud). Victims: dave's objects in risk.credit (world fixture) or disposable ones.
"""

import json
import os
import time
import urllib.parse
import uuid

import pytest

import enforcekit as kit
from enforcekit import As, warden, world  # noqa: F401 - fixtures


@pytest.fixture(scope="module")
def u(warden):
    class U:
        pass

    x = U()
    for n in ("dave", "alice", "bob", "root", "mallory"):
        setattr(x, n, As(warden, n))
    return x


def _model_exists(root, name):
    r = root.get("/api/2.0/mlflow/registered-models/get", {"name": name})
    return r.status_code == 200


def _no_secret(resp, secret=kit.SECRET):
    st = kit.status_of(resp)
    assert st != 200, "attack answered 200: %r" % kit.body_of(resp)[:300]
    assert secret not in kit.body_of(resp)


# --- 1. DELETE: query vs body -------------------------------------------------------------------
@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", None])
def test_1_delete_reads_the_body_not_the_query(u, world, ctype):
    """MLflow's validator read the query of a non-JSON DELETE, the handler the body:
    DELETE registered-models/delete?name=<mine> with body {"name": <victim>}."""
    victim = "risk.credit.%s-victim-%s" % (world.P, uuid.uuid4().hex[:6])
    kit.ok_json(u.dave.post("/api/2.0/mlflow/registered-models/create", {"name": victim}))
    mine = "marketing.campaigns.%s-bobs-%s" % (world.P, uuid.uuid4().hex[:6])
    kit.ok_json(u.bob.post("/api/2.0/mlflow/registered-models/create", {"name": mine}))
    headers = {"Content-Type": ctype} if ctype else {}
    r = u.bob.req("DELETE", "/api/2.0/mlflow/registered-models/delete", params={"name": mine},
                  data=json.dumps({"name": victim}).encode(), headers=headers)
    assert r.status_code in (400, 403, 415), r.text
    assert _model_exists(u.root, victim), "the victim model was deleted"
    # and the alias route
    kit.ok_json(u.dave.post("/api/2.0/mlflow/model-versions/create", {
        "name": victim, "source": "mlflow-artifacts:/%s/%s/artifacts" % (world.exp, world.run),
        "run_id": world.run}))
    kit.ok_json(u.dave.post("/api/2.0/mlflow/registered-models/alias", {"name": victim, "alias": "prod",
                                                                       "version": "1"}))
    r = u.bob.req("DELETE", "/api/2.0/mlflow/registered-models/alias", params={"name": mine, "alias": "prod"},
                  data=json.dumps({"name": victim, "alias": "prod"}).encode(), headers=headers)
    assert r.status_code in (400, 403, 415), r.text
    assert u.root.get("/api/2.0/mlflow/registered-models/alias", {"name": victim, "alias": "prod"}).status_code == 200


def test_1_delete_query_only_is_not_an_id(u, world):
    """A DELETE naming the victim only in the query: MLflow reads the (empty) body, Warden must
    not decide on the query either (nothing is deleted, the victim survives)."""
    victim = "risk.credit.%s-victim-%s" % (world.P, uuid.uuid4().hex[:6])
    kit.ok_json(u.dave.post("/api/2.0/mlflow/registered-models/create", {"name": victim}))
    r = u.bob.req("DELETE", "/api/2.0/mlflow/registered-models/delete", params={"name": victim})
    assert r.status_code in (400, 403), r.text
    assert _model_exists(u.root, victim)


# --- 2. camelCase aliases --------------------------------------------------------------------------
def test_2_camelcase_conflict_refused(u, world):
    victim = kit.ok_json(u.dave.post("/api/2.0/mlflow/experiments/create", {
        "name": "risk.credit.%s-v2-%s" % (world.P, uuid.uuid4().hex[:6])}))["experiment_id"]
    r = u.bob.post("/api/2.0/mlflow/experiments/delete", {"experiment_id": world.mexp, "experimentId": victim})
    assert r.status_code in (400, 403), r.text
    r2 = u.bob.post("/api/2.0/mlflow/experiments/delete", {"experimentId": victim, "experiment_id": world.mexp})
    assert r2.status_code in (400, 403), r2.text
    assert u.root.get("/api/2.0/mlflow/experiments/get", {"experiment_id": victim}).json()[
        "experiment"]["lifecycle_stage"] == "active"
    assert u.root.get("/api/2.0/mlflow/experiments/get", {"experiment_id": world.mexp}).json()[
        "experiment"]["lifecycle_stage"] == "active"


def test_2_camelcase_alone_is_the_same_field(u, world):
    r = u.bob.post("/api/2.0/mlflow/experiments/set-experiment-tag", {"experimentId": world.exp, "key": "pwned",
                                                                      "value": "1"})
    kit.assert_denied(r, "bob", "MODIFY", "experiment", world.exp)
    r = u.bob.post("/api/2.0/mlflow/runs/log-metric", {"runId": world.run, "key": "pwned", "value": 1,
                                                       "timestamp": 1})
    kit.assert_denied(r, "bob", "MODIFY", "run", world.run)
    r = u.bob.get("/api/2.0/mlflow/runs/get", params={"runId": world.run})
    assert r.status_code in (400, 403) and kit.SECRET not in r.content
    assert "pwned" not in u.root.c.get_experiment(world.exp).tags
    assert "pwned" not in u.root.c.get_run(world.run).data.metrics


def test_2_camelcase_nested(u, world):
    """StartTraceV3: the experiment is four levels down; both spellings at every level."""
    tid = "tr-" + uuid.uuid4().hex
    loc_own = {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": world.mexp}}
    loc_victim = {"type": "MLFLOW_EXPERIMENT", "mlflowExperiment": {"experimentId": world.exp}}
    for info in ({"trace_id": tid, "trace_location": loc_own, "traceLocation": loc_victim,
                  "request_time": "2024-01-01T00:00:00Z", "state": "OK"},
                 {"trace_id": tid, "trace_location": {"type": "MLFLOW_EXPERIMENT",
                                                       "mlflow_experiment": {"experiment_id": world.mexp,
                                                                             "experimentId": world.exp}},
                  "request_time": "2024-01-01T00:00:00Z", "state": "OK"},
                 {"trace_id": tid, "traceLocation": loc_victim, "request_time": "2024-01-01T00:00:00Z",
                  "state": "OK"}):
        r = u.bob.post("/api/3.0/mlflow/traces", {"trace": {"trace_info": info}})
        assert r.status_code in (400, 403), r.text
    r = u.root.get("/api/3.0/mlflow/traces/get", {"trace_id": tid})
    assert r.status_code != 200 or r.json()["trace"]["trace_info"]["trace_location"]["mlflow_experiment"][
        "experiment_id"] != world.exp


# --- 3. upload-artifact: run_id vs run_uuid ------------------------------------------------------
def test_3_upload_artifact_uses_run_uuid(u, world):
    name = "up-%s.txt" % uuid.uuid4().hex[:6]
    r = u.alice.req("POST", "/ajax-api/2.0/mlflow/upload-artifact",
                    params={"run_uuid": world.run, "run_id": world.arun, "path": name}, data=b"evil")
    kit.assert_denied(r, "alice", "MODIFY")
    r = u.alice.req("POST", "/ajax-api/2.0/mlflow/upload-artifact",
                    params={"run_id": world.arun, "run_uuid": world.run, "path": name}, data=b"evil")
    kit.assert_denied(r, "alice", "MODIFY")
    assert name not in [f.path for f in u.root.c.list_artifacts(world.run)]
    # her own run in run_uuid (the field MLflow writes to): allowed, lands in her run
    r = u.alice.req("POST", "/ajax-api/2.0/mlflow/upload-artifact",
                    params={"run_uuid": world.arun, "path": name}, data=b"mine")
    kit.assert_allowed(r)
    assert name in [f.path for f in u.root.c.list_artifacts(world.arun)]


# --- 4. artifact path encodings ------------------------------------------------------------------
def _encodings(world):
    exp, rest = world.exp, world.secret_path[len(world.exp):]
    first = "%%25%02X" % ord(exp[0])
    return [
        first + exp[1:] + rest,                    # %2537/... : decoded once to %37/...
        "%" + "%02X" % ord(exp[0]) + exp[1:] + rest,  # %37/... : decoded once to 7/... (fine)
        "./" + world.secret_path,                  # dot segment
        "%2E/" + world.secret_path,
        "%20" + world.secret_path,                 # leading space
        "0" + world.secret_path,                   # 07/...
        "+" + world.secret_path,
        world.secret_path.replace("/", "//", 1),
        world.secret_path.replace("/", "%2F", 1),
        world.mexp + "/../" + world.secret_path,   # bob's experiment, then up
        world.mexp + "/%2E%2E/" + world.secret_path,
        world.mexp + "/%252E%252E/" + world.secret_path,
    ]


@pytest.mark.parametrize("i", range(12))
def test_4_artifact_path_encodings(u, world, i):
    p = _encodings(world)[i]
    for prefix in ("/api/2.0/mlflow-artifacts/artifacts/", "/ajax-api/2.0/mlflow-artifacts/artifacts/",
                   "/api/2.0/mlflow-artifacts/presigned/"):
        _no_secret(u.bob.raw("GET", prefix + p))
    r = u.bob.raw("GET", "/api/2.0/mlflow-artifacts/artifacts?path=" + urllib.parse.quote(
        os.path.dirname(p), safe="/%"))
    _no_secret(r)
    assert b"secret.txt" not in r.body


def test_4_presigned_checked_like_download(u, world):
    r = u.bob.get("/api/2.0/mlflow-artifacts/presigned/" + world.secret_path)
    kit.assert_denied(r, "bob", "READ")
    r = u.alice.get("/api/2.0/mlflow-artifacts/presigned/" + world.secret_path)
    kit.assert_allowed(r, ok=None)


# --- 5. HEAD ---------------------------------------------------------------------------------------
def test_5_head_is_checked_like_get(u, world):
    targets = [
        "/api/2.0/mlflow-artifacts/artifacts/" + world.secret_path,
        "/get-artifact?run_id=%s&path=secret.txt" % world.run,
        "/get-artifact?run_uuid=%s&path=secret.txt" % world.run,
        "/model-versions/get-artifact?name=%s&version=%s&path=secret.txt" % (
            urllib.parse.quote(world.model_name), world.model_version),
        "/ajax-api/2.0/mlflow/get-trace-artifact?request_id=%s" % world.trace,
        "/ajax-api/3.0/mlflow/get-trace-artifact?request_id=%s" % world.trace,
        "/ajax-api/2.0/mlflow/metrics/get-history-bulk?run_id=%s&metric_key=loss" % world.run,
        "/ajax-api/2.0/mlflow/logged-models/%s/artifacts/files?artifact_file_path=x" % world.logged_model,
        "/api/2.0/mlflow/runs/get?run_id=%s" % world.run,
    ]
    for t in targets:
        r = u.bob.raw("HEAD", t)
        assert r.status in (400, 403), (t, r.status, r.headers)
        hdr = {k.lower(): v for k, v in r.headers}
        assert "content-disposition" not in hdr, (t, hdr)
        assert hdr.get("content-length") != str(len(kit.SECRET)), (t, hdr)
    r = u.alice.raw("HEAD", "/api/2.0/mlflow-artifacts/artifacts/" + world.secret_path)
    assert r.status == 200


# --- 6. routes MLflow's auth leaves open ---------------------------------------------------------
OPEN = {
    "get-history-bulk-interval": lambda w: ("GET", "/api/2.0/mlflow/metrics/get-history-bulk-interval",
                                            {"run_ids": w.run, "metric_key": "loss"}, None),
    "log-inputs": lambda w: ("POST", "/api/2.0/mlflow/runs/log-inputs", None, {"run_id": w.run, "datasets": []}),
    "log-outputs": lambda w: ("POST", "/api/2.0/mlflow/runs/outputs", None, {"run_id": w.run, "models": []}),
    "presigned-upload-url": lambda w: ("POST", "/api/2.0/mlflow/artifacts/presigned-upload-url", None,
                                       {"run_id": w.run, "path": "x"}),
    "dataset-get": lambda w: ("GET", "/api/3.0/mlflow/datasets/" + w.dataset, None, None),
    "dataset-records": lambda w: ("GET", "/api/3.0/mlflow/datasets/%s/records" % w.dataset, None, None),
    "trace-info-v3": lambda w: ("GET", "/api/3.0/mlflow/traces/" + w.trace, None, None),
    "trace-get": lambda w: ("GET", "/api/3.0/mlflow/traces/get", {"trace_id": w.trace}, None),
    "assessment-create": lambda w: ("POST", "/api/3.0/mlflow/traces/%s/assessments" % w.trace, None, {
        "assessment": {"assessment_name": "x", "source": {"source_type": "HUMAN", "source_id": "b"},
                       "feedback": {"value": 1}}}),
    "trace-artifact-3.0": lambda w: ("GET", "/ajax-api/3.0/mlflow/get-trace-artifact", {"request_id": w.trace},
                                     None),
    "scorer-invoke": lambda w: ("POST", "/ajax-api/3.0/mlflow/scorer/invoke", None, {
        "experiment_id": w.exp, "serialized_scorer": kit.SCORER_JSON, "trace_ids": [w.trace]}),
    "fastapi-job-get": lambda w: ("GET", "/ajax-api/3.0/jobs/" + w.ids["job"], None, None),
    "flask-job-get": lambda w: ("GET", "/ajax-api/3.0/mlflow/jobs/" + w.ids["job"], None, None),
    "fastapi-job-search": lambda w: ("POST", "/ajax-api/3.0/jobs/search", None, {}),
    "fastapi-job-submit": lambda w: ("POST", "/ajax-api/3.0/jobs/", None,
                                     {"function_fullname": "os.system", "params": {}}),
    "demo-generate": lambda w: ("POST", "/ajax-api/3.0/mlflow/demo/generate", None, {}),
    "demo-delete": lambda w: ("POST", "/ajax-api/3.0/mlflow/demo/delete", None, {}),
    "gateway-proxy": lambda w: ("GET", "/ajax-api/2.0/mlflow/gateway-proxy", {"gateway_path": "api/2.0/x"}, None),
    "online-configs-get": lambda w: ("GET", "/api/3.0/mlflow/scorers/online-configs", {"scorer_ids": "x"}, None),
    "online-config-put": lambda w: ("PUT", "/api/3.0/mlflow/scorers/online-config", None, {
        "experiment_id": w.exp, "scorer_name": "probe_scorer", "sample_rate": 1.0}),
    "issues-invoke": lambda w: ("POST", "/ajax-api/3.0/mlflow/issues/invoke", None,
                                {"experiment_id": w.exp, "secret_id": "s"}),
    "issue-get": lambda w: ("GET", "/api/3.0/mlflow/issues/" + w.ids["issue"], None, None),
    "budgets-list": lambda w: ("GET", "/api/3.0/mlflow/gateway/budgets/list", None, None),
    "guardrails-list": lambda w: ("GET", "/api/3.0/mlflow/gateway/guardrails/list", None, None),
    "endpoints-list": lambda w: ("GET", "/api/3.0/mlflow/gateway/endpoints/list", None, None),
    "secrets-list": lambda w: ("GET", "/api/3.0/mlflow/gateway/secrets/list", None, None),
}


@pytest.mark.parametrize("name", sorted(OPEN))
def test_6_routes_mlflow_leaves_open(u, world, name):
    method, path, params, body = OPEN[name](world)
    r = u.bob.req(method, path, params=params, json=body)
    msg = kit.denial_message(r)
    assert msg.startswith("bob@acme.example lacks "), msg


def test_6_dataset_search_without_experiments_is_filtered(u, world):
    r = u.bob.post("/api/3.0/mlflow/datasets/search", {"max_results": 1000})
    assert r.status_code in (200, 403), r.text
    if r.status_code == 200:
        assert world.dataset not in r.text


# --- 7. experiment ids -----------------------------------------------------------------------------
def _variants(e):
    fw = "".join(chr(0xFF10 + int(c)) for c in e)
    return ["0" + e, " " + e, "+" + e, e + "\n", e + " ", e[:1] + "_" + e[1:] if len(e) > 1 else e + "_0",
            fw, e + ".0", "\t" + e, "0x" + format(int(e), "x")]


def test_7_experiment_id_spellings(u, world):
    for v in _variants(world.exp):
        r = u.bob.get("/api/2.0/mlflow/experiments/get", {"experiment_id": v})
        assert r.status_code in (400, 403), (v, r.status_code, r.text)
        assert world.exp_name not in r.text
        r = u.bob.post("/api/2.0/mlflow/runs/create", {"experiment_id": v})
        assert r.status_code in (400, 403), (v, r.status_code, r.text)
        r = u.bob.post("/api/2.0/mlflow/runs/search", {"experiment_ids": [world.mexp, v]})
        assert r.status_code in (400, 403), (v, r.status_code, r.text)
        r = u.bob.post("/api/2.0/mlflow/experiments/set-experiment-tag", {"experiment_id": v, "key": "p",
                                                                          "value": "1"})
        assert r.status_code in (400, 403), (v, r.status_code, r.text)
    # a JSON number is decided on the experiment it names (or refused), never forwarded unchecked
    r = u.bob.post("/api/2.0/mlflow/runs/create", {"experiment_id": int(world.exp)})
    assert r.status_code in (400, 403), r.text
    assert [x for x in u.root.c.search_runs([world.exp]) if x.info.user_id == "bob@acme.example"] == []


def test_7_missing_experiment_id_means_default(u, world):
    """CreateRun without experiment_id creates in experiment 0 (Default, main.default.Default):
    decided as such."""
    r = u.bob.post("/api/2.0/mlflow/runs/create", {})
    assert r.status_code in (400, 403), r.text
    if r.status_code == 403:
        kit.assert_denied(r, "bob", "MODIFY")
    assert [x for x in u.root.c.search_runs(["0"]) if x.info.user_id == "bob@acme.example"] == []


# --- 8. sources pointing at other experiments' artifacts -------------------------------------------
def _sources(world, mlflow_server):
    local = os.path.join(mlflow_server.artifacts, world.exp, world.run, "artifacts")
    return [
        "mlflow-artifacts:/%s/%s/artifacts" % (world.exp, world.run),
        "runs:/%s/" % world.run,
        "models:/%s/%s" % (world.model_name, world.model_version),
        local,
        "file://" + local,
        "mlflow-artifacts:/%s/../%s/%s/artifacts" % (world.mexp, world.exp, world.run),
    ]


@pytest.mark.parametrize("i", range(6))
def test_8_model_version_source_of_another_experiment(u, world, mlflow_server, i):
    """bob may register versions of his own marketing model; a version whose source is dave's
    run artifacts would then serve them through /model-versions/get-artifact. (MLflow 3.17.2
    itself refuses sources that do not lie under the request's run_id with a 400, so Warden may
    leave these to MLflow; what matters is that no such version exists afterwards.)"""
    src = _sources(world, mlflow_server)[i]
    r = u.bob.post("/api/2.0/mlflow/model-versions/create", {"name": world.mmodel_name, "source": src,
                                                             "run_id": world.mrun})
    if r.status_code == 200:
        v = r.json()["model_version"]["version"]
        got = u.bob.get("/model-versions/get-artifact", {"name": world.mmodel_name, "version": v,
                                                          "path": "secret.txt"})
        assert kit.SECRET not in got.content, "bob read dave's artifact through version %s (%s)" % (v, src)
        r2 = u.bob.get("/api/2.0/mlflow/model-versions/get-download-uri", {"name": world.mmodel_name,
                                                                           "version": v})
        raise AssertionError("CreateModelVersion with source %r was forwarded (version %s, download "
                             "uri %s)" % (src, v, r2.text[:200]))
    assert r.status_code in (400, 403), r.text


def test_8_model_version_run_id_of_another_experiment(u, world):
    r = u.bob.post("/api/2.0/mlflow/model-versions/create", {
        "name": world.mmodel_name, "source": "mlflow-artifacts:/%s/%s/artifacts" % (world.mexp, world.mrun),
        "run_id": world.run})
    kit.assert_denied(r, "bob", "READ", "run", world.run)


def test_8_experiment_artifact_location(u, world):
    for loc in ("mlflow-artifacts:/%s" % world.exp, "file:///tmp", "s3://bucket/x"):
        name = "marketing.campaigns.%s-loc-%s" % (world.P, uuid.uuid4().hex[:6])
        r = u.bob.post("/api/2.0/mlflow/experiments/create", {"name": name, "artifact_location": loc})
        assert r.status_code in (400, 403), (loc, r.text)
        r = u.bob.post("/api/2.0/mlflow/experiments/create", {"name": name, "artifactLocation": loc})
        assert r.status_code in (400, 403), (loc, r.text)


# --- 9. AttachModelToGatewayEndpoint ---------------------------------------------------------------
def test_9_attach_model_to_endpoint_is_admin_only(u):
    for body in ({"endpoint_id": "e", "model_config": {"model_definition_id": "d", "linkage_type": "PRIMARY"}},
                 {"endpoint_id": "e", "modelConfig": {"modelDefinitionId": "d"}},
                 {"endpoint_id": "e", "model_configs": [{"model_definition_id": "d"}]}):
        for who in (u.alice, u.bob):
            r = who.post("/api/3.0/mlflow/gateway/endpoints/models/attach", body)
            assert "lacks admin rights for attachModelToEndpoint" in kit.denial_message(r)
    r = u.root.post("/api/3.0/mlflow/gateway/endpoints/models/attach", {"endpoint_id": "nope"})
    kit.assert_allowed(r, ok=None)


# --- 10. assistant and X-Forwarded-For -------------------------------------------------------------
ASSISTANT = [("POST", "/ajax-api/3.0/mlflow/assistant/message"),
             ("GET", "/ajax-api/3.0/mlflow/assistant/sessions/s1/stream"),
             ("GET", "/ajax-api/3.0/mlflow/assistant/config"),
             ("PUT", "/ajax-api/3.0/mlflow/assistant/config"),
             ("POST", "/ajax-api/3.0/mlflow/assistant/skills/install"),
             ("GET", "/ajax-api/3.0/mlflow/assistant/providers")]


@pytest.mark.parametrize("method,path", ASSISTANT)
def test_10_assistant_denied_even_from_loopback(u, method, path):
    for who in (u.root, u.alice):
        r = who.req(method, path, json={} if method != "GET" else None,
                    headers={"X-Forwarded-For": "127.0.0.1", "Forwarded": "for=127.0.0.1"})
        assert "is not available through Warden" in kit.denial_message(r)


def test_10_forwarded_for_is_warden_s(echo):
    """The client's X-Forwarded-For / Forwarded never reach MLflow (uvicorn trusts them from
    127.0.0.1): the upstream sees the peer address Warden saw, once."""
    w = kit.start_warden(echo.url)
    try:
        r = As(w, "alice").get("/version", headers={"X-Forwarded-For": "10.9.8.7", "Forwarded": "for=10.9.8.7",
                                                    "X-Real-IP": "10.9.8.7"})
        assert r.status_code == 200
        req = echo.requests()[-1]
        assert req.header("X-Forwarded-For") == ["127.0.0.1"], req.headers
        assert req.header("Forwarded") == []
        assert "10.9.8.7" not in req.head_raw.decode("latin-1")
    finally:
        kit.stop_warden(w)


@pytest.fixture
def echo():
    from echo_upstream import EchoUpstream

    up = EchoUpstream()
    yield up
    up.close()


# --- 11. /v1/traces upserts into existing traces ---------------------------------------------------
def _otlp_json(trace_hex, name):
    now = time.time_ns()
    return json.dumps({"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{
        "scope": {"name": "x"}, "spans": [{"traceId": trace_hex, "spanId": os.urandom(8).hex(), "name": name,
                                           "startTimeUnixNano": str(now), "endTimeUnixNano": str(now + 1000),
                                           "kind": 1}]}]}]}).encode()


def _span_names(root, trace_id):
    r = root.get("/api/3.0/mlflow/traces/get", {"trace_id": trace_id})
    return [s["name"] for s in r.json()["trace"]["spans"]] if r.status_code == 200 else []


@pytest.mark.parametrize("victim", ["readable", "foreign"])
def test_11_otlp_spans_cannot_join_another_experiments_trace(u, world, victim):
    """alice may write her own experiment; she posts spans whose trace id is a trace of dave's
    experiment (which she may only read) or of bob's (which she may not see)."""
    trace = world.trace if victim == "readable" else world.mtrace
    before = _span_names(u.root, trace)
    assert before
    r = u.alice.req("POST", "/v1/traces", data=_otlp_json(trace[3:], "injected-" + victim),
                    headers={"Content-Type": "application/json", "X-Mlflow-Experiment-Id": world.aexp})
    time.sleep(0.5)
    after = _span_names(u.root, trace)
    assert "injected-" + victim not in after, "span landed in %s (HTTP %s)" % (trace, r.status_code)
    assert r.status_code in (400, 403), r.text


def test_11_otlp_new_trace_in_own_experiment_works(u, world):
    th = uuid.uuid4().hex
    r = u.alice.req("POST", "/v1/traces", data=_otlp_json(th, "fresh"),
                    headers={"Content-Type": "application/json", "X-Mlflow-Experiment-Id": world.aexp})
    kit.assert_allowed(r)
    assert kit.wait_for(lambda: _span_names(u.root, "tr-" + th) == ["fresh"], 5)


# --- 12. client-asserted identity ---------------------------------------------------------------
def test_12_run_identity(u, world):
    r = u.alice.post("/api/2.0/mlflow/runs/create", {"experiment_id": world.aexp, "user_id": "root@acme.example",
                                                     "tags": [{"key": "mlflow.user", "value": "root@acme.example"}]})
    rid = kit.ok_json(r)["run"]["info"]["run_id"]
    run = u.root.c.get_run(rid)
    assert run.info.user_id == "alice@acme.example"
    assert run.data.tags["mlflow.user"] == "alice@acme.example"
    r = u.alice.post("/api/2.0/mlflow/runs/create", {"experimentId": world.aexp, "userId": "root@acme.example"})
    if r.status_code == 200:
        assert r.json()["run"]["info"]["user_id"] == "alice@acme.example"
    else:
        assert r.status_code == 400


def test_12_issue_created_by(u, world):
    r = u.alice.post("/api/3.0/mlflow/issues", {"experiment_id": world.aexp, "name": "i", "description": "d",
                                                "created_by": "root@acme.example"})
    if r.status_code == 200:
        iid = r.json()["issue"]["issue_id"]
        got = kit.ok_json(u.root.get("/api/3.0/mlflow/issues/" + iid))["issue"]
        assert got.get("created_by") in (None, "alice@acme.example"), got
    else:
        assert r.status_code in (400, 403), r.text


def test_12_user_queue_is_the_callers(u, world):
    r = u.alice.post("/api/3.0/mlflow/review-queues/get-or-create-user", {"experiment_id": world.aexp,
                                                                         "user": "root@acme.example"})
    if r.status_code == 200:
        q = r.json()["review_queue"]
        assert q["name"] == "alice@acme.example", q
    else:
        assert r.status_code in (400, 403), r.text
