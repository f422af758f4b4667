"""Traces, assessments, evaluation datasets and scorers through Warden with the real MLflow
client (issue 5): they belong to experiments, so READ reads them, MODIFY writes them and
MANAGE deletes traces. Roles as in test_enforce_experiments.py: dave owns risk.credit.<P>-exp,
alice reads it, bob and mallory are outsiders, root is an admin.
"""

import pytest
import mlflow
from mlflow.entities import AssessmentSource
from mlflow.exceptions import MlflowException

import enforcekit as kit
from enforcekit import As, warden, world  # noqa: F401 - fixtures


@pytest.fixture(scope="module")
def u(warden):
    class U:
        pass

    x = U()
    for n in ("dave", "alice", "bob", "mallory", "root"):
        setattr(x, n, As(warden, n))
    return x


def test_trace_read_roles(u, world):
    for who in (u.dave, u.alice, u.root):
        t = who.c.get_trace(world.trace)
        assert t.info.trace_id == world.trace
        assert t.data.spans and t.data.spans[0].name == "credit-trace"
        ids = [x.info.trace_id for x in who.c.search_traces(experiment_ids=[world.exp])]
        assert world.trace in ids
    for who in (u.bob, u.mallory):
        msg = kit.client_denied(who.c.get_trace, world.trace)
        assert msg.startswith(who.user + " lacks READ on trace " + world.trace), msg
        kit.assert_client_denied(who.who, who.c.search_traces, experiment_ids=[world.exp], priv="READ")
    # several experiments: READ on each
    kit.assert_client_denied("alice", u.alice.c.search_traces, experiment_ids=[world.exp, world.mexp],
                             priv="READ")
    r = u.alice.get("/api/3.0/mlflow/traces/batchGet", {"trace_ids": [world.trace, world.mtrace]})
    kit.assert_denied(r, "alice", "READ", "trace", world.mtrace)


def test_trace_writes(u, world):
    tid = kit.make_trace(u.dave, world.exp, "write-me")
    u.dave.c.set_trace_tag(tid, "k", "v")
    kit.assert_client_denied("alice", u.alice.c.set_trace_tag, tid, "k", "x", priv="MODIFY")
    kit.assert_client_denied("alice", u.alice.c.delete_trace_tag, tid, "k", priv="MODIFY")
    kit.assert_client_denied("bob", u.bob.c.set_trace_tag, tid, "k", "x", priv="MODIFY")
    assert u.alice.c.get_trace(tid).info.tags["k"] == "v"
    u.dave.c.delete_trace_tag(tid, "k")
    # starting a trace in someone else's experiment
    # the client only sends a trace when it ends: the export is refused and nothing lands
    span = u.alice.c.start_trace("intruder", experiment_id=world.exp)
    try:
        u.alice.c.end_trace(span.trace_id)
    except MlflowException as e:
        assert e.error_code == "PERMISSION_DENIED"
    with pytest.raises(MlflowException):
        u.dave.c.get_trace(span.trace_id)
    # linking: MODIFY on the run, READ on every trace
    u.dave.c.link_traces_to_run([tid], world.run)
    own = kit.make_trace(u.alice, world.aexp, "alices")
    kit.assert_client_denied("alice", u.alice.c.link_traces_to_run, [own], world.run, priv="MODIFY")
    kit.assert_client_denied("alice", u.alice.c.link_traces_to_run, [world.mtrace], world.arun, priv="READ")
    u.alice.c.link_traces_to_run([own, tid], world.arun)  # READ on dave's trace is enough


def test_fluent_tracing_into_foreign_experiment_does_not_land(u, world):
    """mlflow.start_span exports through /v1/traces and StartTraceV3: as alice into dave's
    experiment both are refused, so no trace appears there."""
    before = {t.info.trace_id for t in u.dave.c.search_traces(experiment_ids=[world.exp])}
    with u.alice.env():
        mlflow.set_experiment(experiment_id=world.aexp)
        with mlflow.start_span("alice-own") as s:
            s.set_inputs({"q": 1})
        own = s.trace_id
    assert u.alice.c.get_trace(own).info.experiment_id == world.aexp
    r = u.alice.post("/api/3.0/mlflow/traces", {"trace": {"trace_info": {
        "trace_id": "tr-" + "a" * 32, "trace_location": {"type": "MLFLOW_EXPERIMENT",
                                                         "mlflow_experiment": {"experiment_id": world.exp}},
        "request_time": "2024-01-01T00:00:00Z", "state": "OK"}}})
    kit.assert_denied(r, "alice", "MODIFY")
    r = u.alice.req("POST", "/v1/traces", data=b"", headers={"Content-Type": "application/x-protobuf",
                                                             "X-Mlflow-Experiment-Id": world.exp})
    kit.assert_denied(r, "alice", "MODIFY", "experiment", kit.securable(world.exp_name))
    after = {t.info.trace_id for t in u.dave.c.search_traces(experiment_ids=[world.exp])}
    assert after == before


def test_delete_traces_needs_manage(u, world):
    tid = kit.make_trace(u.dave, world.exp, "delete-me")
    kit.assert_client_denied("alice", u.alice.c.delete_traces, world.exp, trace_ids=[tid], priv="MANAGE")
    assert u.dave.c.delete_traces(world.exp, trace_ids=[tid]) == 1


def test_assessments(u, world):
    tid = kit.make_trace(u.dave, world.exp, "assess-me")
    with u.dave.env():
        fb = mlflow.log_feedback(trace_id=tid, name="quality", value=5,
                                 source=AssessmentSource(source_type="HUMAN", source_id="dave"))
    aid = fb.assessment_id
    with u.alice.env():
        assert mlflow.get_assessment(tid, aid).value == 5
    with u.bob.env():
        kit.assert_client_denied("bob", mlflow.get_assessment, tid, aid, priv="READ")
    with u.alice.env():
        with pytest.raises(MlflowException) as ei:
            mlflow.log_feedback(trace_id=tid, name="quality", value=1)
    assert ei.value.error_code == "PERMISSION_DENIED"
    with u.alice.env():
        kit.assert_client_denied("alice", mlflow.delete_assessment, tid, aid, priv="MODIFY")
    with u.dave.env():
        mlflow.delete_assessment(tid, aid)
    # the path's trace decides (CreateAssessment overwrites the body's trace_id with the
    # path's): alice's own trace in the path, dave's in the body, lands on alice's
    own = kit.make_trace(u.alice, world.aexp, "alices")
    r = u.alice.post("/api/3.0/mlflow/traces/%s/assessments" % own, {"assessment": {
        "trace_id": tid, "assessment_name": "x",
        "source": {"source_type": "HUMAN", "source_id": "a"}, "feedback": {"value": 1}}})
    kit.assert_allowed(r)
    assert r.json()["assessment"]["trace_id"] == own
    assert [a.name for a in u.dave.c.get_trace(tid).info.assessments] == []
    r = u.alice.post("/api/3.0/mlflow/traces/%s/assessments" % tid, {"assessment": {
        "trace_id": own, "assessment_name": "x",
        "source": {"source_type": "HUMAN", "source_id": "a"}, "feedback": {"value": 1}}})
    kit.assert_denied(r, "alice", "MODIFY", "experiment", kit.securable(world.exp_name))


def test_trace_artifact_routes(u, world):
    for path in ("/ajax-api/2.0/mlflow/get-trace-artifact", "/ajax-api/3.0/mlflow/get-trace-artifact"):
        r = u.alice.get(path, {"request_id": world.trace})
        kit.assert_allowed(r)
        assert b"credit-trace" in r.content
        kit.assert_denied(u.bob.get(path, {"request_id": world.trace}), "bob", "READ", "trace", world.trace)


# --- evaluation datasets -------------------------------------------------------------------------
def test_dataset_roles(u, world):
    ds = u.dave.c.create_dataset("%s-ds2" % world.P, experiment_id=[world.exp])
    with u.dave.env():
        ds.merge_records([{"inputs": {"q": "1+1"}, "expectations": {"a": "2"}}])
    u.dave.c.set_dataset_tags(ds.dataset_id, {"k": "v"})
    for who in (u.alice, u.root):
        got = who.c.get_dataset(ds.dataset_id)
        assert got.name == "%s-ds2" % world.P
        with who.env():
            assert len(got.to_df()) == 1
    for who in (u.bob, u.mallory):
        kit.assert_client_denied(who.who, who.c.get_dataset, ds.dataset_id, priv="READ", kind="dataset",
                                 name=ds.dataset_id)
    kit.assert_client_denied("alice", u.alice.c.create_dataset, "%s-ds3" % world.P, experiment_id=[world.exp],
                             priv="MODIFY")
    kit.assert_client_denied("alice", u.alice.c.set_dataset_tags, ds.dataset_id, {"k": "x"}, priv="MODIFY")
    kit.assert_client_denied("alice", u.alice.c.delete_dataset_tag, ds.dataset_id, "k", priv="MODIFY")
    with u.alice.env():
        mine = u.alice.c.get_dataset(ds.dataset_id)
        with pytest.raises(MlflowException) as ei:
            mine.merge_records([{"inputs": {"q": "evil"}}])
        assert ei.value.error_code == "PERMISSION_DENIED"
    # linking a dataset to experiments: MODIFY on the dataset and on each experiment
    kit.assert_client_denied("dave", u.dave.c.add_dataset_to_experiments, ds.dataset_id, [world.mexp],
                             priv="MODIFY")
    kit.assert_client_denied("alice", u.alice.c.add_dataset_to_experiments, ds.dataset_id, [world.aexp],
                             priv="MODIFY")
    kit.assert_client_denied("alice", u.alice.c.delete_dataset, ds.dataset_id, priv="MODIFY")
    u.dave.c.delete_dataset(ds.dataset_id)


def test_dataset_search_filtered(u, world):
    ids = [d.dataset_id for d in u.alice.c.search_datasets(experiment_ids=[world.exp])]
    assert world.dataset in ids
    kit.assert_client_denied("bob", u.bob.c.search_datasets, experiment_ids=[world.exp], priv="READ")
    # without experiment ids MLflow would list every dataset: Warden keeps the visible ones
    bob_all = [d.dataset_id for d in u.bob.c.search_datasets()]
    assert world.dataset not in bob_all
    alice_all = [d.dataset_id for d in u.alice.c.search_datasets()]
    assert world.dataset in alice_all


def test_dataset_created_by_is_the_caller(u, world):
    """CreateDataset's created_by is client-asserted in MLflow (mlflow-api.md (c) 12)."""
    r = u.dave.post("/api/3.0/mlflow/datasets/create", {"name": "%s-forged" % world.P,
                                                        "experiment_ids": [world.exp],
                                                        "created_by": "root@acme.example"})
    d = kit.ok_json(r)["dataset"]
    assert d.get("created_by") in (None, "dave@acme.example"), d


# --- scorers -------------------------------------------------------------------------------------
def test_scorer_roles(u, world):
    body = {"experiment_id": world.exp, "name": "judge", "serialized_scorer": kit.SCORER_JSON}
    kit.ok_json(u.dave.post("/api/3.0/mlflow/scorers/register", body))
    kit.assert_denied(u.alice.post("/api/3.0/mlflow/scorers/register", body), "alice", "MODIFY")
    r = u.alice.get("/api/3.0/mlflow/scorers/list", {"experiment_id": world.exp})
    assert "judge" in [s["scorer_name"] for s in kit.ok_json(r).get("scorers", [])]
    kit.assert_denied(u.bob.get("/api/3.0/mlflow/scorers/list", {"experiment_id": world.exp}), "bob", "READ")
    # an empty experiment id would list every experiment's scorers
    r = u.bob.get("/api/3.0/mlflow/scorers/list", {"experiment_id": ""})
    assert r.status_code in (400, 403), r.text
    kit.assert_denied(u.alice.delete("/api/3.0/mlflow/scorers/delete", {"experiment_id": world.exp,
                                                                       "name": "judge"}), "alice", "MODIFY")
    kit.assert_allowed(u.dave.delete("/api/3.0/mlflow/scorers/delete", {"experiment_id": world.exp,
                                                                       "name": "judge"}))
