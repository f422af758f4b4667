"""Experiments, runs and run artifacts through Warden with the real MLflow client (issue 5).

Roles on dave's experiment risk.credit.<P>-exp (policies/10-risk.policy):
  owner    dave   ALL PRIVILEGES on schema risk.credit (everything but MANAGE) + creator (owner
                  stamp `warden.owner`), so MANAGE too
  reader   alice  group risk: READ, EXECUTE, BROWSE on catalog risk
  outsider bob    group marketing: nothing in catalog risk
  admin    root   platform-admins
and creation (CREATE EXPERIMENT on the schema, the creator stamped as owner, the stamp only
changeable with MANAGE), `/Users/<user>/` homes, and the identity Warden writes into runs.
"""

import os
import tempfile
import uuid

import mlflow
import pytest
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException

import enforcekit as kit
from enforcekit import As, warden, world  # noqa: F401 - fixtures


@pytest.fixture(scope="module")
def u(warden):
    class U:
        pass

    x = U()
    for n in ("dave", "alice", "bob", "mallory", "root", "carol", "trainer", "erin"):
        setattr(x, n, As(warden, n))
    return x


def _name(world, schema, tag):
    return "%s.%s-%s-%s" % (schema, world.P, tag, uuid.uuid4().hex[:6])


# --- experiments ---------------------------------------------------------------------------------
def test_experiment_read_roles(u, world):
    for who in (u.dave, u.alice, u.root):
        e = who.c.get_experiment(world.exp)
        assert e.name == world.exp_name
        assert who.c.get_experiment_by_name(world.exp_name).experiment_id == world.exp
    for who in (u.bob, u.mallory):
        kit.assert_client_denied(who.who, who.c.get_experiment, world.exp, priv="READ",
                                 kind="experiment", name=world.exp)
        msg = kit.client_denied(who.c.get_experiment_by_name, world.exp_name)
        assert who.user + " lacks " in msg and kit.securable(world.exp_name) in msg
    # carol owns catalog risk: she may browse and manage, not read (no data privilege)
    kit.assert_client_denied("carol", u.carol.c.get_experiment, world.exp, priv="READ",
                             kind="experiment", name=kit.securable(world.exp_name))


def test_experiment_tags_need_modify(u, world):
    u.dave.c.set_experiment_tag(world.exp, "stage", "dev")
    u.root.c.set_experiment_tag(world.exp, "reviewed", "yes")
    kit.assert_client_denied("alice", u.alice.c.set_experiment_tag, world.exp, "stage", "prod",
                             priv="MODIFY", kind="experiment", name=kit.securable(world.exp_name))
    kit.assert_client_denied("bob", u.bob.c.set_experiment_tag, world.exp, "stage", "prod",
                             priv="MODIFY")
    kit.assert_client_denied("alice", u.alice.c.delete_experiment_tag, world.exp, "stage", priv="MODIFY")
    u.dave.c.delete_experiment_tag(world.exp, "stage")
    assert "stage" not in u.alice.c.get_experiment(world.exp).tags


def test_rename_delete_restore_need_manage(u, world):
    name = _name(world, "risk.credit", "mine")
    eid = u.dave.c.create_experiment(name)
    kit.assert_client_denied("alice", u.alice.c.rename_experiment, eid, name + "-x", priv="MANAGE")
    kit.assert_client_denied("alice", u.alice.c.delete_experiment, eid, priv="MANAGE")
    u.dave.c.rename_experiment(eid, name + "-renamed")
    assert u.alice.c.get_experiment(eid).name == name + "-renamed"
    u.dave.c.delete_experiment(eid)
    assert u.alice.c.get_experiment(eid).lifecycle_stage == "deleted"
    kit.assert_client_denied("alice", u.alice.c.restore_experiment, eid, priv="MANAGE")
    u.dave.c.restore_experiment(eid)
    assert u.alice.c.get_experiment(eid).lifecycle_stage == "active"


def test_rename_into_foreign_schema_refused(u, world):
    """A rename moves the experiment to the securable of its new name: like a creation there,
    it needs CREATE EXPERIMENT on the destination schema (route table note of
    updateExperiment). dave owns the experiment but has no privilege in marketing.campaigns."""
    name = _name(world, "risk.credit", "mv")
    eid = u.dave.c.create_experiment(name)
    msg = kit.client_denied(u.dave.c.rename_experiment, eid, "marketing.campaigns.%s-moved" % world.P)
    assert msg.startswith("dave@acme.example lacks "), msg
    assert u.root.c.get_experiment(eid).name == name


def test_owner_stamp_is_what_grants_manage(u, world):
    """dave holds ALL PRIVILEGES on risk.credit, which excludes MANAGE: he manages only what he
    created (the owner stamp), not an experiment root created in the same schema."""
    eid = u.root.c.create_experiment(_name(world, "risk.credit", "roots"))
    assert u.root.c.get_experiment(eid).tags["warden.owner"] == "root@acme.example"
    u.dave.c.set_experiment_tag(eid, "k", "v")  # MODIFY: yes
    kit.assert_client_denied("dave", u.dave.c.delete_experiment, eid, priv="MANAGE")
    mine = u.dave.c.create_experiment(_name(world, "risk.credit", "daves"))
    u.dave.c.delete_experiment(mine)


# --- creation ------------------------------------------------------------------------------------
def test_create_needs_create_experiment_on_schema(u, world):
    kit.assert_client_denied("alice", u.alice.c.create_experiment, _name(world, "risk.credit", "a"),
                             priv="CREATE EXPERIMENT", kind="schema", name="risk.credit")
    msg = kit.client_denied(u.bob.c.create_experiment, _name(world, "risk.fraud", "b"))
    assert msg == ("bob@acme.example lacks USE CATALOG on catalog risk (needed for CREATE EXPERIMENT"
                   " on schema risk.fraud)"), msg
    kit.assert_client_denied("mallory", u.mallory.c.create_experiment, "no-schema-" + world.P)
    eid = u.alice.c.create_experiment(_name(world, "risk.fraud", "a"))
    assert eid.isdigit()


def test_creator_becomes_owner(u, world):
    name = _name(world, "risk.fraud", "own")
    eid = u.alice.c.create_experiment(name, tags={"team": "fraud"})
    tags = u.alice.c.get_experiment(eid).tags
    assert tags["warden.owner"] == "alice@acme.example"
    assert tags["team"] == "fraud"
    # alice (MODIFY on risk.fraud, no MANAGE) manages it because she owns it
    u.alice.c.rename_experiment(eid, name + "-r")
    # another risk member with the same grants does not
    kit.assert_client_denied("dave", u.dave.c.delete_experiment, eid, priv="MANAGE")
    # the schema's owner (carol) does, without being able to read or write it
    kit.assert_client_denied("carol", u.carol.c.set_experiment_tag, eid, "audited", "yes", priv="MODIFY")
    u.carol.c.delete_experiment(eid)
    assert u.alice.c.get_experiment(eid).lifecycle_stage == "deleted"


@pytest.mark.parametrize("tag", ["warden.owner", "warden.anything"])
def test_client_cannot_assert_owner_at_creation(u, world, tag):
    with pytest.raises(MlflowException) as ei:
        u.alice.c.create_experiment(_name(world, "risk.fraud", "fake"), tags={tag: "mallory@acme.example"})
    assert ei.value.error_code == "PERMISSION_DENIED", ei.value.message
    assert not [e for e in u.root.c.search_experiments(filter_string="name LIKE '%%%s-fake-%%'" % world.P)]


def test_owner_tag_changes_need_manage(u, world):
    eid = u.alice.c.create_experiment(_name(world, "risk.fraud", "xfer"))
    # dave may write the experiment (MODIFY via group risk) but not change its owner
    u.dave.c.set_experiment_tag(eid, "note", "hi")
    kit.assert_client_denied("dave", u.dave.c.set_experiment_tag, eid, "warden.owner",
                             "dave@acme.example", priv="MANAGE")
    kit.assert_client_denied("dave", u.dave.c.delete_experiment_tag, eid, "warden.owner", priv="MANAGE")
    # other warden.* keys are nobody's to set
    with pytest.raises(MlflowException) as ei:
        u.alice.c.set_experiment_tag(eid, "warden.actor", "x")
    assert ei.value.error_code == "PERMISSION_DENIED"
    # the owner (MANAGE) hands it over: from then on dave manages it and alice does not
    u.alice.c.set_experiment_tag(eid, "warden.owner", "dave@acme.example")
    assert u.root.c.get_experiment(eid).tags["warden.owner"] == "dave@acme.example"
    kit.assert_client_denied("alice", u.alice.c.delete_experiment, eid, priv="MANAGE")
    u.dave.c.delete_experiment(eid)


def test_owner_transfer_seen_by_every_worker(u, world):
    """Once Warden forwarded the transfer of warden.owner, no request of the former owner may
    be decided on the old owner by any of Warden's workers (each has its own look-up cache;
    every request here opens its own connection, so both workers take some)."""
    with kit.fresh_connections():
        name = _name(world, "risk.fraud", "w")
        eid = u.alice.c.create_experiment(name)
        u.alice.c.rename_experiment(eid, name + "-0")
        for i in range(10):  # reads: every worker caches the experiment's facts, "owner alice"
            u.alice.c.get_experiment(eid)
        u.alice.c.set_experiment_tag(eid, "warden.owner", "dave@acme.example")
        allowed = []
        for i in range(8):
            try:
                u.alice.c.rename_experiment(eid, "%s-after-%d" % (name, i))
                allowed.append(i)
            except MlflowException as e:
                assert e.error_code == "PERMISSION_DENIED"
        assert not allowed, "%d of 8 renames (MANAGE) by the former owner allowed after the transfer" % len(allowed)


def test_client_chosen_artifact_location_refused(u, world):
    """CreateExperiment with artifact_location pointing at another experiment's artifacts
    (mlflow-api.md (c) 8): refused, so no experiment can read or write there."""
    target = "mlflow-artifacts:/%s" % world.exp
    name = _name(world, "risk.fraud", "loc")
    r = u.alice.post("/api/2.0/mlflow/experiments/create", {"name": name, "artifact_location": target})
    assert r.status_code in (400, 403), r.text
    assert u.root.c.get_experiment_by_name(name) is None


def test_home_experiments(u, world):
    mine = "/Users/alice@acme.example/%s/notes" % world.P
    eid = u.alice.c.create_experiment(mine)
    assert u.alice.c.get_experiment(eid).tags["warden.owner"] == "alice@acme.example"
    kit.assert_client_denied("bob", u.bob.c.get_experiment, eid, priv="READ")
    kit.assert_client_denied("bob", u.bob.c.create_experiment, "/Users/alice@acme.example/%s/bobs" % world.P,
                             priv="CREATE EXPERIMENT", kind="schema", name="users.`alice@acme.example`")
    # bob's own home needs no grant of its own
    u.bob.c.create_experiment("/Users/bob@acme.example/%s/notes" % world.P)
    # alice shares churn/baseline with bob (40-users.policy): READ, not MODIFY
    shared = "/Users/alice@acme.example/churn/baseline"
    e = u.alice.c.get_experiment_by_name(shared)
    sid = e.experiment_id if e else u.alice.c.create_experiment(shared)
    assert u.bob.c.get_experiment(sid).name == shared
    kit.assert_client_denied("bob", u.bob.c.create_run, sid, priv="MODIFY")
    kit.assert_client_denied("erin", u.erin.c.get_experiment, sid, priv="READ")


# --- runs ----------------------------------------------------------------------------------------
def test_run_roles(u, world):
    run = u.dave.c.create_run(world.exp)
    rid = run.info.run_id
    u.dave.c.log_metric(rid, "acc", 0.9, step=1)
    u.dave.c.log_param(rid, "depth", "3")
    u.dave.c.set_tag(rid, "k", "v")
    u.dave.c.log_batch(rid, metrics=[Metric("acc", 0.95, 0, 2)], params=[Param("p2", "x")],
                       tags=[RunTag("t2", "y")])
    for who in (u.alice, u.root, u.dave):
        r = who.c.get_run(rid)
        assert r.data.metrics["acc"] == 0.95 and r.data.params["depth"] == "3"
        assert sorted((m.step, m.value) for m in who.c.get_metric_history(rid, "acc")) == [(1, 0.9), (2, 0.95)]
        assert rid in [x.info.run_id for x in who.c.search_runs([world.exp])]
    for who in (u.bob, u.mallory):
        kit.assert_client_denied(who.who, who.c.get_run, rid, priv="READ", kind="run", name=rid)
        kit.assert_client_denied(who.who, who.c.get_metric_history, rid, "acc", priv="READ")
        kit.assert_client_denied(who.who, who.c.search_runs, [world.exp], priv="READ")
    for fn, args in [(u.alice.c.log_metric, (rid, "acc", 0.1)), (u.alice.c.log_param, (rid, "x", "1")),
                     (u.alice.c.set_tag, (rid, "x", "1")), (u.alice.c.delete_tag, (rid, "k")),
                     (u.alice.c.log_batch, (rid, [Metric("acc", 0.0, 0, 3)])),
                     (u.alice.c.set_terminated, (rid,)), (u.alice.c.delete_run, (rid,)),
                     (u.alice.c.create_run, (world.exp,))]:
        kit.assert_client_denied("alice", fn, *args, priv="MODIFY")
    u.root.c.set_tag(rid, "admin", "was-here")
    u.dave.c.set_terminated(rid)
    u.dave.c.delete_run(rid)
    assert u.alice.c.get_run(rid).info.lifecycle_stage == "deleted"
    u.dave.c.restore_run(rid)
    assert u.alice.c.get_run(rid).info.lifecycle_stage == "active"


def test_search_runs_needs_read_on_every_experiment(u, world):
    ok = u.alice.c.search_runs([world.exp, world.aexp])
    assert world.run in [r.info.run_id for r in ok]
    kit.assert_client_denied("alice", u.alice.c.search_runs, [world.exp, world.mexp], priv="READ")
    kit.assert_client_denied("alice", u.alice.c.search_runs, [world.mexp, world.exp], priv="READ")
    r = u.alice.post("/api/2.0/mlflow/runs/search", {"experiment_ids": [world.exp, world.mexp]})
    kit.assert_denied(r, "alice", "READ", "experiment", world.mexp)


# --- identity written into runs (mlflow-api.md (c) 12) -------------------------------------------
def test_run_user_is_the_authenticated_user(u, world):
    run = u.alice.c.create_run(world.aexp, tags={"mlflow.user": "mallory@acme.example"})
    got = u.alice.c.get_run(run.info.run_id)
    assert got.data.tags["mlflow.user"] == "alice@acme.example"
    assert got.info.user_id == "alice@acme.example"
    # raw body with a forged user_id
    r = u.alice.post("/api/2.0/mlflow/runs/create", {"experiment_id": world.aexp, "user_id": "root",
                                                     "tags": [{"key": "mlflow.user", "value": "root"}]})
    info = kit.ok_json(r)["run"]["info"]
    assert info["user_id"] == "alice@acme.example"
    got = u.root.c.get_run(info["run_id"])
    assert got.data.tags["mlflow.user"] == "alice@acme.example"
    # the fluent API sends the OS login
    with u.alice.env():
        with mlflow.start_run(experiment_id=world.aexp) as fr:
            rid = fr.info.run_id
    assert u.alice.c.get_run(rid).data.tags["mlflow.user"] == "alice@acme.example"


def test_mlflow_user_tag_cannot_be_forged_later(u, world):
    rid = u.alice.c.create_run(world.aexp).info.run_id
    with pytest.raises(MlflowException) as ei:
        u.alice.c.set_tag(rid, "mlflow.user", "root@acme.example")
    assert ei.value.error_code == "PERMISSION_DENIED", ei.value.message
    with pytest.raises(MlflowException) as ei:
        u.alice.c.log_batch(rid, tags=[RunTag("mlflow.user", "root@acme.example")])
    assert ei.value.error_code == "PERMISSION_DENIED", ei.value.message
    u.alice.c.set_tag(rid, "mlflow.user", "alice@acme.example")  # what Warden writes anyway
    assert u.root.c.get_run(rid).data.tags["mlflow.user"] == "alice@acme.example"


def test_service_principal(u, world):
    e = u.root.c.get_experiment_by_name("risk.fraud.training")
    eid = e.experiment_id if e else u.root.c.create_experiment("risk.fraud.training")
    run = u.trainer.c.create_run(eid)
    u.trainer.c.log_metric(run.info.run_id, "auc", 0.8)
    assert u.trainer.c.get_run(run.info.run_id).data.tags["mlflow.user"] == "sp:fraud-trainer"
    kit.assert_client_denied("trainer", u.trainer.c.get_experiment, world.aexp, priv="READ")
    kit.assert_client_denied("trainer", u.trainer.c.create_run, world.aexp, priv="MODIFY")


# --- artifacts -----------------------------------------------------------------------------------
def _file(data, name="f.txt"):
    d = tempfile.mkdtemp(prefix="warden-e2e-")
    p = os.path.join(d, name)
    with open(p, "wb") as f:
        f.write(data)
    return p


def test_artifact_roles(u, world):
    rid = world.run
    for who in (u.alice, u.dave, u.root):
        assert [f.path for f in who.c.list_artifacts(rid)] == ["secret.txt"]
        with open(who.c.download_artifacts(rid, "secret.txt", tempfile.mkdtemp())) as f:
            assert f.read().encode() == kit.SECRET
    for who in (u.bob, u.mallory):
        kit.assert_client_denied(who.who, who.c.list_artifacts, rid, priv="READ")
        kit.assert_client_denied(who.who, who.c.download_artifacts, rid, "secret.txt", tempfile.mkdtemp(),
                                 priv="READ")
    # the proxy itself, as the client uses it
    path = "/api/2.0/mlflow-artifacts/artifacts/" + world.secret_path
    assert u.alice.get(path).content == kit.SECRET
    kit.assert_denied(u.bob.get(path), "bob", "READ")
    kit.assert_denied(u.bob.get("/api/2.0/mlflow-artifacts/artifacts",
                                {"path": "%s/%s/artifacts" % (world.exp, rid)}), "bob", "READ")


def test_artifact_writes(u, world):
    rid = u.dave.c.create_run(world.exp).info.run_id
    u.dave.c.log_artifact(rid, _file(b"v1", "model.txt"))
    kit.assert_client_denied("alice", u.alice.c.log_artifact, rid, _file(b"evil", "model.txt"),
                             priv="MODIFY")
    path = "/api/2.0/mlflow-artifacts/artifacts/%s/%s/artifacts/model.txt" % (world.exp, rid)
    kit.assert_denied(u.alice.req("PUT", path, data=b"evil"), "alice", "MODIFY")
    kit.assert_denied(u.alice.req("DELETE", path), "alice", "MANAGE")
    assert u.alice.get(path).content == b"v1"
    kit.assert_allowed(u.dave.req("DELETE", path))
    assert u.dave.get(path).status_code != 200
