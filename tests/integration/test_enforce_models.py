"""Registered models, versions, aliases, prompts and logged models through Warden with the real
MLflow client (issue 5).

Roles on dave's model risk.credit.<P>-model: owner dave (creator; ALL PRIVILEGES on the schema
gives CREATE MODEL VERSION and APPLY TAG, the owner stamp gives MANAGE), reader alice (EXECUTE
on catalog risk), outsider bob (marketing), admin root. The fraud service principals:
sp:fraud-trainer registers versions of risk.fraud.scorer, sp:fraud-scorer only loads it.
Logged models belong to experiments: READ to read, MODIFY to write.
"""

import tempfile
import uuid

import mlflow
import pytest
from mlflow.exceptions import MlflowException

import enforcekit as kit
from enforcekit import As, warden, world  # noqa: F401 - fixtures


@pytest.fixture(scope="module")
def u(warden):
    class U:
        pass

    x = U()
    for n in ("dave", "alice", "bob", "mallory", "root", "carol", "trainer", "scorer"):
        setattr(x, n, As(warden, n))
    return x


def _model(world, schema="risk.credit", tag="m"):
    return "%s.%s-%s-%s" % (schema, world.P, tag, uuid.uuid4().hex[:6])


def _src(world):
    return "mlflow-artifacts:/%s/%s/artifacts" % (world.exp, world.run)


def test_create_model_needs_create_model_on_schema(u, world):
    kit.assert_client_denied("alice", u.alice.c.create_registered_model, _model(world),
                             priv="CREATE MODEL", kind="schema", name="risk.credit")
    kit.assert_client_denied("bob", u.bob.c.create_registered_model, _model(world))
    name = _model(world, "risk.fraud", "a")
    u.alice.c.create_registered_model(name)
    tags = u.alice.c.get_registered_model(name).tags
    assert tags["warden.owner"] == "alice@acme.example"
    with pytest.raises(MlflowException) as ei:
        u.alice.c.create_registered_model(_model(world, "risk.fraud", "f"), tags={"warden.owner": "x"})
    assert ei.value.error_code == "PERMISSION_DENIED"


def test_model_read_roles(u, world):
    for who in (u.dave, u.alice, u.root):
        m = who.c.get_registered_model(world.model_name)
        assert m.name == world.model_name
        assert who.c.get_model_version(world.model_name, world.model_version).version == world.model_version
        assert who.c.get_model_version_by_alias(world.model_name, "champion").version == world.model_version
        assert [v.version for v in who.c.get_latest_versions(world.model_name)] == [world.model_version]
        assert who.c.get_model_version_download_uri(world.model_name, world.model_version)
    sec = kit.securable(world.model_name, False)
    for who in (u.bob, u.mallory):
        for fn, args in [(who.c.get_registered_model, (world.model_name,)),
                         (who.c.get_model_version, (world.model_name, world.model_version)),
                         (who.c.get_model_version_by_alias, (world.model_name, "champion")),
                         (who.c.get_latest_versions, (world.model_name,)),
                         (who.c.get_model_version_download_uri, (world.model_name, world.model_version))]:
            msg = kit.client_denied(fn, *args)
            assert msg.startswith(who.user + " lacks ") and sec in msg and "EXECUTE" in msg, msg


def test_model_version_artifact_download(u, world):
    r = u.alice.get("/model-versions/get-artifact", {"name": world.model_name, "version": world.model_version,
                                                      "path": "secret.txt"})
    kit.assert_allowed(r)
    assert r.content == kit.SECRET
    r = u.bob.get("/model-versions/get-artifact", {"name": world.model_name, "version": world.model_version,
                                                    "path": "secret.txt"})
    kit.assert_denied(r, "bob")
    assert kit.SECRET not in r.content
    # the client's download path (models:/ URI)
    with u.alice.env():
        d = mlflow.artifacts.download_artifacts("models:/%s/%s" % (world.model_name, world.model_version),
                                                dst_path=tempfile.mkdtemp())
    with open(d.rstrip("/") + "/secret.txt", "rb") as f:
        assert f.read() == kit.SECRET


def test_versions_need_create_model_version(u, world):
    name = _model(world)
    u.dave.c.create_registered_model(name)
    v = u.dave.c.create_model_version(name, _src(world), run_id=world.run)
    assert v.version == "1"
    kit.assert_client_denied("alice", u.alice.c.create_model_version, name, _src(world),
                             priv="CREATE MODEL VERSION", kind="model", name=kit.securable(name, False))
    kit.assert_client_denied("bob", u.bob.c.create_model_version, name, _src(world))


def test_model_tags_need_apply_tag(u, world):
    name = world.model_name
    u.dave.c.set_registered_model_tag(name, "stage", "dev")
    u.dave.c.set_model_version_tag(name, world.model_version, "validated", "yes")
    for fn, args in [(u.alice.c.set_registered_model_tag, (name, "stage", "prod")),
                     (u.alice.c.delete_registered_model_tag, (name, "stage")),
                     (u.alice.c.set_model_version_tag, (name, world.model_version, "validated", "no")),
                     (u.alice.c.delete_model_version_tag, (name, world.model_version, "validated"))]:
        kit.assert_client_denied("alice", fn, *args, priv="APPLY TAG")
    u.dave.c.delete_model_version_tag(name, world.model_version, "validated")
    u.dave.c.delete_registered_model_tag(name, "stage")
    # the owner stamp is MANAGE's: alice may not touch it, dave (the owner) may
    kit.assert_client_denied("alice", u.alice.c.set_registered_model_tag, name, "warden.owner",
                             "alice@acme.example", priv="MANAGE")
    u.dave.c.set_registered_model_tag(name, "warden.owner", "dave@acme.example")
    assert u.alice.c.get_registered_model(name).tags["warden.owner"] == "dave@acme.example"


def test_manage_actions(u, world):
    name = _model(world)
    u.dave.c.create_registered_model(name)
    u.dave.c.create_model_version(name, _src(world), run_id=world.run)
    for fn, args in [(u.alice.c.set_registered_model_alias, (name, "prod", "1")),
                     (u.alice.c.delete_registered_model_alias, (name, "prod")),
                     (u.alice.c.update_registered_model, (name, "desc")),
                     (u.alice.c.update_model_version, (name, "1", "desc")),
                     (u.alice.c.transition_model_version_stage, (name, "1", "Staging")),
                     (u.alice.c.delete_model_version, (name, "1")),
                     (u.alice.c.rename_registered_model, (name, name + "-x")),
                     (u.alice.c.delete_registered_model, (name,))]:
        kit.assert_client_denied("alice", fn, *args, priv="MANAGE")
    u.dave.c.set_registered_model_alias(name, "prod", "1")
    assert u.alice.c.get_model_version_by_alias(name, "prod").version == "1"
    u.dave.c.delete_registered_model_alias(name, "prod")
    u.dave.c.update_registered_model(name, "desc")
    u.dave.c.update_model_version(name, "1", "desc")
    u.dave.c.transition_model_version_stage(name, "1", "Staging")
    u.root.c.update_registered_model(name, "root was here")
    u.dave.c.rename_registered_model(name, name + "-r")
    assert u.alice.c.get_registered_model(name + "-r").description == "root was here"
    u.dave.c.delete_model_version(name + "-r", "1")
    u.dave.c.delete_registered_model(name + "-r")


def test_rename_needs_create_model_at_destination(u, world):
    name = _model(world)
    u.dave.c.create_registered_model(name)
    msg = kit.client_denied(u.dave.c.rename_registered_model, name, "marketing.campaigns.%s-moved" % world.P)
    assert msg.startswith("dave@acme.example lacks ") and "marketing" in msg, msg
    assert u.root.c.get_registered_model(name).name == name


def test_model_owner_transfer_needs_manage(u, world):
    name = _model(world, "risk.fraud", "x")
    u.alice.c.create_registered_model(name)
    # dave has APPLY TAG on risk.fraud (group risk) but not MANAGE on alice's model
    u.dave.c.set_registered_model_tag(name, "note", "hi")
    kit.assert_client_denied("dave", u.dave.c.set_registered_model_tag, name, "warden.owner",
                             "dave@acme.example", priv="MANAGE")
    u.alice.c.update_registered_model(name, "alice manages it")
    u.alice.c.set_registered_model_tag(name, "warden.owner", "dave@acme.example")
    u.dave.c.update_registered_model(name, "dave manages it now")
    kit.assert_client_denied("alice", u.alice.c.update_registered_model, name, "x", priv="MANAGE")
    u.dave.c.delete_registered_model(name)


def test_owner_transfer_seen_by_every_worker(u, world):
    """After Warden forwarded an ownership transfer, no request of the former owner may still
    be decided on the old owner, whichever of Warden's workers (one look-up cache each) takes
    it. Each request below opens its own connection, so both workers see some."""
    with kit.fresh_connections():
        name = _model(world, "risk.fraud", "w")
        u.alice.c.create_registered_model(name)
        u.alice.c.update_registered_model(name, "mine")
        for i in range(10):  # reads: both workers now hold "owner alice" in their caches
            u.alice.c.get_registered_model(name)
        u.alice.c.set_registered_model_tag(name, "warden.owner", "dave@acme.example")
        allowed = 0
        for i in range(8):
            try:
                u.alice.c.update_registered_model(name, "still mine? %d" % i)
                allowed += 1
            except MlflowException as e:
                assert e.error_code == "PERMISSION_DENIED"
        assert allowed == 0, "%d of 8 MANAGE requests of the former owner were allowed after the transfer" % allowed


def test_search_registered_models_filtered(u, world):
    f = "name LIKE '%%%s%%'" % world.P
    def names(who):
        out, tok = [], None
        while True:
            page = who.c.search_registered_models(filter_string=f, max_results=3, page_token=tok)
            out += [m.name for m in page]
            tok = page.token
            if not tok:
                return out
    alice = names(u.alice)
    bob = names(u.bob)
    assert world.model_name in alice and world.mmodel_name not in alice
    assert world.mmodel_name in bob and world.model_name not in bob
    assert not [n for n in bob if n.startswith("risk.")]
    assert not [n for n in alice if n.startswith("marketing.campaigns")]
    assert names(u.mallory) == []
    root = names(u.root)
    assert set(alice) | set(bob) <= set(root)
    assert len(alice) == len(set(alice))


def test_search_model_versions_filtered(u, world):
    f = "name='%s'" % world.model_name
    assert [v.version for v in u.alice.c.search_model_versions(f)] == [world.model_version]
    assert list(u.bob.c.search_model_versions(f)) == []
    assert world.model_name not in [v.name for v in u.bob.c.search_model_versions("name LIKE '%%%s%%'" % world.P)]


def test_service_principals_on_the_scorer_model(u, world):
    if not u.root.c.search_registered_models("name='risk.fraud.scorer'"):
        u.root.c.create_registered_model("risk.fraud.scorer")
    e = u.root.c.get_experiment_by_name("risk.fraud.training")
    eid = e.experiment_id if e else u.root.c.create_experiment("risk.fraud.training")
    rid = u.trainer.c.create_run(eid).info.run_id
    v = u.trainer.c.create_model_version("risk.fraud.scorer", "mlflow-artifacts:/%s/%s/artifacts" % (eid, rid),
                                         run_id=rid)
    assert u.scorer.c.get_model_version("risk.fraud.scorer", v.version).run_id == rid
    kit.assert_client_denied("scorer", u.scorer.c.create_model_version, "risk.fraud.scorer", "x",
                             priv="CREATE MODEL VERSION")
    kit.assert_client_denied("trainer", u.trainer.c.get_registered_model, world.amodel_name)
    kit.assert_client_denied("scorer", u.scorer.c.get_registered_model, world.model_name)


# --- prompts ---------------------------------------------------------------------------------------
def test_prompt_roles(u, world):
    with u.alice.env():
        p = mlflow.genai.load_prompt("prompts:/%s/%s" % (world.prompt_name, world.prompt_version),
                                     cache_ttl_seconds=0)
    assert p.template == "Hello {{name}}"
    with u.bob.env():
        with pytest.raises(MlflowException) as ei:
            # (no client-side cache: it would answer from alice's load)
            mlflow.genai.load_prompt("prompts:/%s/%s" % (world.prompt_name, world.prompt_version),
                                     cache_ttl_seconds=0)
    assert "PERMISSION_DENIED" in str(ei.value) or ei.value.error_code == "PERMISSION_DENIED", ei.value
    with u.alice.env():
        with pytest.raises(MlflowException) as ei:
            mlflow.genai.register_prompt(world.prompt_name, "Evil {{name}}")
    assert "PERMISSION_DENIED" in str(ei.value), ei.value
    with u.alice.env():
        with pytest.raises(MlflowException) as ei:
            mlflow.genai.register_prompt("risk.credit.%s-alices-prompt" % world.P, "x")
    assert "PERMISSION_DENIED" in str(ei.value), ei.value
    with u.dave.env():
        v2 = mlflow.genai.register_prompt(world.prompt_name, "Hello again {{name}}")
        mlflow.genai.set_prompt_alias(world.prompt_name, "prod", v2.version)
    with u.alice.env():
        assert mlflow.genai.load_prompt("prompts:/%s@prod" % world.prompt_name,
                                        cache_ttl_seconds=0).version == v2.version
        with pytest.raises(MlflowException):
            mlflow.genai.set_prompt_alias(world.prompt_name, "prod", 1)
    with u.alice.env():
        found = [p.name for p in mlflow.genai.search_prompts("name LIKE '%%%s%%'" % world.P)]
    assert world.prompt_name in found
    with u.bob.env():
        found = [p.name for p in mlflow.genai.search_prompts("name LIKE '%%%s%%'" % world.P)]
    assert world.prompt_name not in found


# --- logged models -----------------------------------------------------------------------------------
def test_logged_model_roles(u, world):
    lm = u.dave.c.create_logged_model(world.exp, name="m2", source_run_id=world.run, params={"a": "1"})
    mid = lm.model_id
    u.dave.c.set_logged_model_tags(mid, {"k": "v"})
    u.dave.c.log_model_params(mid, {"b": "2"})
    u.dave.c.finalize_logged_model(mid, "READY")
    for who in (u.alice, u.root):
        got = who.c.get_logged_model(mid)
        assert got.tags["k"] == "v" and got.params["b"] == "2"
        assert mid in [m.model_id for m in who.c.search_logged_models([world.exp])]
    for who in (u.bob, u.mallory):
        kit.assert_client_denied(who.who, who.c.get_logged_model, mid, priv="READ", kind="logged-model", name=mid)
        kit.assert_client_denied(who.who, who.c.search_logged_models, [world.exp], priv="READ")
    for fn, args in [(u.alice.c.create_logged_model, (world.exp,)),
                     (u.alice.c.set_logged_model_tags, (mid, {"k": "x"})),
                     (u.alice.c.delete_logged_model_tag, (mid, "k")),
                     (u.alice.c.log_model_params, (mid, {"c": "3"})),
                     (u.alice.c.finalize_logged_model, (mid, "FAILED")),
                     (u.alice.c.delete_logged_model, (mid,))]:
        kit.assert_client_denied("alice", fn, *args, priv="MODIFY")
    # a logged model in alice's experiment may not claim dave's run as its source... it may:
    # READ on the source run's experiment is what the table asks, and alice reads risk.credit
    mine = u.alice.c.create_logged_model(world.aexp, source_run_id=world.run)
    kit.assert_client_denied("bob", u.bob.c.create_logged_model, world.mexp, source_run_id=world.run,
                             priv="READ")
    u.dave.c.delete_logged_model_tag(mid, "k")
    u.dave.c.delete_logged_model(mid)
    u.alice.c.delete_logged_model(mine.model_id)


def test_log_metric_on_foreign_logged_model(u, world):
    """logMetric with a model_id needs READ on that model's experiment: bob may not attach his
    metric to dave's logged model."""
    r = u.bob.post("/api/2.0/mlflow/runs/log-metric", {"run_id": world.mrun, "key": "x", "value": 1,
                                                       "timestamp": 1, "model_id": world.logged_model})
    kit.assert_denied(r, "bob", "READ", "logged-model", world.logged_model)
