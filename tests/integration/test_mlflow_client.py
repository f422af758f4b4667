"""The real MLflow Python client driven through Warden and directly: results must be equal.

Each test runs one scenario (experiments, runs, artifacts, model registry, traces) twice
against the same MLflow server: once with the tracking URI pointing at MLflow itself and once
pointing at Warden. Object names carry a per-run prefix; the scenario returns only facts that
must not depend on the path taken (names with the prefix replaced, values, statuses, error
codes, artifact bytes), never ids or timestamps, which differ by construction. Warden's
/metrics proves that the second run actually went through Warden.

One difference is by design: Warden records the creator of an experiment or registered model
as its owner in a reserved tag (`warden.owner`) stamped on create. Through Warden those tags
must be present with the test user's name wherever the scenario reads the tags of an object it
created; with them taken out, both results must be equal.
"""

import hashlib
import os
import random
import tempfile
import uuid

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException

import promtext
from conftest import credentials

os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"
os.environ["MLFLOW_ENABLE_ASYNC_LOGGING"] = "false"


def _client(uri):
    # Warden authenticates every request; MLflow itself (no auth app) ignores the header.
    os.environ["MLFLOW_TRACKING_TOKEN"] = credentials()[0]
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    os.environ["MLFLOW_TRACKING_URI"] = uri
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _err(fn, *args, **kwargs):
    """Call fn and return the MLflow error code it raised (the call must fail)."""
    try:
        fn(*args, **kwargs)
    except MlflowException as e:
        return e.error_code
    return "NO ERROR"


def _user_tags(tags):
    return {k: v for k, v in tags.items() if not k.startswith("mlflow.") or k == "mlflow.runName"}


def _pages(search, **kw):
    """Follow page tokens; return a list of pages (each a list of items)."""
    pages, token = [], None
    while True:
        page = search(page_token=token, **kw)
        pages.append(list(page))
        token = page.token
        if not token:
            return pages
        assert len(pages) < 50, "pagination does not end"


# --- scenarios ----------------------------------------------------------------------------------
def scenario_experiments(c, p):
    out = {}
    ids = []
    for i in range(5):
        ids.append(c.create_experiment("%s-exp-%d" % (p, i), tags={"team": "t%d" % (i % 2), "i": str(i)}))
    e = c.get_experiment(ids[3])
    out["get"] = (e.name, e.lifecycle_stage, dict(e.tags))
    e = c.get_experiment_by_name("%s-exp-4" % p)
    out["get_by_name"] = (e.name, e.experiment_id == ids[4], dict(e.tags))
    out["get_by_name_missing"] = c.get_experiment_by_name("%s-nope" % p)
    out["get_missing"] = _err(c.get_experiment, "987654321")
    out["create_duplicate"] = _err(c.create_experiment, "%s-exp-0" % p)
    out["pages"] = [[x.name for x in page] for page in _pages(
        c.search_experiments, filter_string="name LIKE '%s-exp-%%'" % p, max_results=2,
        order_by=["name DESC"])]
    out["filter_tag"] = sorted(x.name for x in c.search_experiments(
        filter_string="name LIKE '%s-%%' AND tags.team = 't1'" % p))
    c.rename_experiment(ids[0], "%s-renamed" % p)
    out["renamed"] = c.get_experiment(ids[0]).name
    c.set_experiment_tag(ids[0], "team", "changed")
    out["tag_set"] = c.get_experiment(ids[0]).tags["team"]
    c.delete_experiment(ids[1])
    out["deleted_stage"] = c.get_experiment(ids[1]).lifecycle_stage
    out["deleted_only"] = sorted(x.name for x in c.search_experiments(
        view_type=ViewType.DELETED_ONLY, filter_string="name LIKE '%s-%%'" % p))
    out["active_only"] = sorted(x.name for x in c.search_experiments(
        view_type=ViewType.ACTIVE_ONLY, filter_string="name LIKE '%s-%%'" % p))
    c.restore_experiment(ids[1])
    out["restored_stage"] = c.get_experiment(ids[1]).lifecycle_stage
    return out


def scenario_runs(c, p):
    out = {}
    exp = c.create_experiment("%s-runs" % p)
    runs = []
    for i in range(5):
        r = c.create_run(exp, run_name="run-%d" % i, tags={"k": "v%d" % i})
        runs.append(r.info.run_id)
        c.log_param(r.info.run_id, "p", "%02d" % i)
        c.log_param(r.info.run_id, "lr", str(0.1 * (i + 1)))
        for step in range(3):
            c.log_metric(r.info.run_id, "loss", 1.0 / (i + step + 1), timestamp=1000 + step, step=step)
        c.set_tag(r.info.run_id, "stage", "even" if i % 2 == 0 else "odd")
    c.log_batch(runs[0],
                metrics=[Metric("acc", 0.5 + 0.01 * s, 2000 + s, s) for s in range(20)],
                params=[Param("bp%d" % j, "x" * (j + 1)) for j in range(10)],
                tags=[RunTag("bt", "batch"), RunTag("unicode", "värde ✓")])
    run = c.get_run(runs[0])
    out["run0"] = {
        "name": run.info.run_name, "status": run.info.status, "stage": run.info.lifecycle_stage,
        "params": run.data.params, "metrics": run.data.metrics, "tags": _user_tags(run.data.tags),
    }
    out["history_acc"] = [(m.key, m.value, m.step, m.timestamp) for m in c.get_metric_history(runs[0], "acc")]
    out["history_loss"] = [(m.value, m.step) for m in c.get_metric_history(runs[2], "loss")]
    out["search_pages"] = [[r.info.run_name for r in page] for page in _pages(
        c.search_runs, experiment_ids=[exp], filter_string="params.p != '99'",
        order_by=["params.p DESC"], max_results=2)]
    out["search_metric"] = [r.info.run_name for r in c.search_runs(
        [exp], filter_string="metrics.loss < 0.3 and tags.stage = 'even'", order_by=["params.p ASC"])]
    c.delete_run(runs[1])
    out["deleted_stage"] = c.get_run(runs[1]).info.lifecycle_stage
    out["deleted_only"] = [r.info.run_name for r in c.search_runs(
        [exp], run_view_type=ViewType.DELETED_ONLY)]
    out["active_count"] = len(c.search_runs([exp], run_view_type=ViewType.ACTIVE_ONLY))
    c.restore_run(runs[1])
    out["restored_stage"] = c.get_run(runs[1]).info.lifecycle_stage
    c.set_terminated(runs[2], "FINISHED")
    c.set_terminated(runs[3], "FAILED")
    out["statuses"] = [c.get_run(r).info.status for r in runs]
    out["finished_has_end"] = c.get_run(runs[2]).info.end_time is not None
    out["missing_run"] = _err(c.get_run, "0" * 32)
    out["bad_param_overwrite"] = _err(c.log_param, runs[0], "p", "changed")
    c.delete_tag(runs[4], "stage")
    out["tag_deleted"] = "stage" in c.get_run(runs[4]).data.tags
    return out


def _make_tree(root):
    """A directory with nested dirs, text and binary files (deterministic content)."""
    rnd = random.Random(1234)
    files = {
        "a.txt": b"hello artifact\n",
        "sub/b.json": b'{"k": [1, 2, 3]}',
        "sub/deeper/c.bin": bytes(rnd.getrandbits(8) for _ in range(300_000)),
        "sub/deeper/empty.txt": b"",
        "other dir/name with spaces.txt": b"spaces ok\n",
        "big.bin": rnd.randbytes(3 * 1024 * 1024 + 17),
    }
    for rel, data in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    return files


def _tree_digest(root):
    out = {}
    for dirpath, _, names in os.walk(root):
        for n in names:
            full = os.path.join(dirpath, n)
            with open(full, "rb") as f:
                out[os.path.relpath(full, root)] = hashlib.sha256(f.read()).hexdigest()
    return out


def scenario_artifacts(c, p):
    out = {}
    exp = c.create_experiment("%s-art" % p)
    run = c.create_run(exp).info.run_id
    with tempfile.TemporaryDirectory() as src, tempfile.TemporaryDirectory() as dst:
        files = _make_tree(os.path.join(src, "tree"))
        single = os.path.join(src, "single.txt")
        with open(single, "w") as f:
            f.write("single file\n")
        c.log_artifact(run, single)
        c.log_artifact(run, single, artifact_path="x/y")
        c.log_artifacts(run, os.path.join(src, "tree"), artifact_path="tree")
        out["root"] = sorted((f.path, f.is_dir, f.file_size) for f in c.list_artifacts(run))
        out["tree"] = sorted((f.path, f.is_dir, f.file_size) for f in c.list_artifacts(run, "tree"))
        out["deeper"] = sorted((f.path, f.is_dir, f.file_size) for f in c.list_artifacts(run, "tree/sub/deeper"))
        got = c.download_artifacts(run, "tree", os.path.join(dst, "t"))
        digest = _tree_digest(got)
        want = {rel: hashlib.sha256(d).hexdigest() for rel, d in files.items()}
        out["tree_bytes_equal"] = digest == want
        out["tree_digest"] = sorted(digest.items())
        one = c.download_artifacts(run, "x/y/single.txt", os.path.join(dst, "one"))
        with open(one) as f:
            out["single"] = f.read()
        out["missing"] = sorted(os.listdir(c.download_artifacts(run, "", os.path.join(dst, "all"))))
        out["text"] = mlflow.artifacts.load_text("runs:/%s/x/y/single.txt" % run)
    return out


def scenario_registry(c, p):
    out = {}
    exp = c.create_experiment("%s-reg" % p)
    run = c.create_run(exp).info.run_id
    with tempfile.TemporaryDirectory() as src:
        with open(os.path.join(src, "MLmodel"), "w") as f:
            f.write("artifact_path: model\n")
        c.log_artifacts(run, src, artifact_path="model")
    name = "%s-model" % p
    c.create_registered_model(name, tags={"owner": "ml"}, description="first")
    for extra in ("a", "b", "c"):
        c.create_registered_model("%s-model-%s" % (p, extra))
    src_uri = "runs:/%s/model" % run
    v1 = c.create_model_version(name, src_uri, run_id=run, tags={"v": "1"}, description="one")
    v2 = c.create_model_version(name, src_uri, run_id=run, tags={"v": "2"})
    out["versions"] = (v1.version, v2.version, v1.status, v2.status)
    c.set_registered_model_alias(name, "champion", v2.version)
    c.set_registered_model_alias(name, "old", v1.version)
    mv = c.get_model_version_by_alias(name, "champion")
    out["alias_version"] = (mv.version, sorted(mv.aliases), mv.tags)
    c.set_model_version_tag(name, v1.version, "checked", "yes")
    c.set_registered_model_tag(name, "domain", "fraud")
    c.update_registered_model(name, description="updated")
    c.update_model_version(name, v1.version, description="one, updated")
    rm = c.get_registered_model(name)
    out["model"] = (rm.name.replace(p, "P"), rm.description, rm.tags, sorted(rm.aliases.items()))
    mv1 = c.get_model_version(name, v1.version)
    out["v1"] = (mv1.description, mv1.tags, mv1.run_id == run, mv1.source.replace(run, "RUN"))
    out["search_pages"] = [[m.name.replace(p, "P") for m in page] for page in _pages(
        c.search_registered_models, filter_string="name LIKE '%s-model%%'" % p, max_results=2,
        order_by=["name ASC"])]
    out["search_versions"] = sorted((m.version, m.tags.get("v")) for m in c.search_model_versions("name='%s'" % name))
    c.delete_registered_model_alias(name, "old")
    out["alias_deleted"] = _err(c.get_model_version_by_alias, name, "old")
    c.delete_model_version(name, v1.version)
    out["after_delete_version"] = sorted(m.version for m in c.search_model_versions("name='%s'" % name))
    out["missing_version"] = _err(c.get_model_version, name, v1.version)
    c.rename_registered_model("%s-model-a" % p, "%s-model-renamed" % p)
    out["renamed"] = c.get_registered_model("%s-model-renamed" % p).name.replace(p, "P")
    c.delete_registered_model(name)
    out["deleted_model"] = _err(c.get_registered_model, name)
    out["duplicate_model"] = _err(c.create_registered_model, "%s-model-b" % p)
    return out


def scenario_traces(c, p):
    out = {}
    exp = c.create_experiment("%s-traces" % p)
    mlflow.set_experiment(experiment_id=exp)

    @mlflow.trace(name="inner")
    def inner(x):
        return {"double": x * 2}

    for i in range(3):
        with mlflow.start_span(name="root-%d" % i) as span:
            span.set_inputs({"i": i, "text": "héllo"})
            span.set_attribute("attempt", i)
            res = inner(i)
            span.set_outputs(res)
    traces = c.search_traces(locations=[exp], order_by=["timestamp_ms ASC"], max_results=10, flush=True)
    out["count"] = len(traces)
    shapes = []
    for t in traces:
        full = c.get_trace(t.info.trace_id, display=False)
        spans = sorted((s.name, str(s.inputs), str(s.outputs), s.status.status_code) for s in full.data.spans)
        shapes.append((full.info.state, spans))
    out["traces"] = shapes
    page1 = c.search_traces(locations=[exp], order_by=["timestamp_ms ASC"], max_results=2)
    page2 = c.search_traces(locations=[exp], order_by=["timestamp_ms ASC"], max_results=2,
                            page_token=page1.token)
    out["pages"] = [len(page1), len(page2), page2.token is None]
    return out


SCENARIOS = {
    "experiments": scenario_experiments,
    "runs": scenario_runs,
    "artifacts": scenario_artifacts,
    "registry": scenario_registry,
    "traces": scenario_traces,
}


def run_scenario(area, uri):
    prefix = "it-%s" % uuid.uuid4().hex[:10]
    result = SCENARIOS[area](_client(uri), prefix)
    return _normalise(result, prefix)


def _normalise(obj, prefix):
    if isinstance(obj, str):
        return obj.replace(prefix, "P")
    if isinstance(obj, dict):
        return {_normalise(k, prefix): _normalise(v, prefix) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_normalise(x, prefix) for x in obj)
    return obj


OWNER_TAG = "warden.owner"
TEST_USER = "warden-test"  # the user of conftest.credentials()
STAMPED_AREAS = {"experiments", "registry"}  # scenarios that read tags of objects they created


def _take_owner_stamps(obj, found):
    """`obj` without OWNER_TAG keys in any dict; the values taken are appended to `found`."""
    if isinstance(obj, dict):
        if OWNER_TAG in obj:
            found.append(obj[OWNER_TAG])
        return {k: _take_owner_stamps(v, found) for k, v in obj.items() if k != OWNER_TAG}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_take_owner_stamps(x, found) for x in obj)
    return obj


def _requests_seen(w):
    samples, _ = promtext.parse(w.metrics_text())
    return promtext.total(samples, "warden_requests_total")


@pytest.mark.parametrize("area", list(SCENARIOS))
def test_results_equal_direct_and_through_warden(area, mlflow_server, warden_mlflow):
    direct = run_scenario(area, mlflow_server.url)
    before = _requests_seen(warden_mlflow)
    via = run_scenario(area, warden_mlflow.url)
    after = _requests_seen(warden_mlflow)
    assert after - before >= 5, "the scenario did not go through warden (%s -> %s)" % (before, after)
    direct_stamps, stamps = [], []
    direct = _take_owner_stamps(direct, direct_stamps)
    via = _take_owner_stamps(via, stamps)
    assert direct_stamps == [], "MLflow itself stamped %s" % OWNER_TAG
    assert set(stamps) <= {TEST_USER}, stamps
    if area in STAMPED_AREAS:
        assert stamps, "no %s tag on the objects created through warden" % OWNER_TAG
    for key in direct:
        assert via.get(key) == direct[key], "%s: %s differs through warden" % (area, key)
    assert via == direct
