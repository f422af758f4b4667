"""Issue 7, test 2: passthrough in front of an MLflow server started with its own basic-auth app.
MLflow sees and accepts the user's credential, and Warden's policy still applies first.

Set-up (once per module, basicauthkit.py): a real `mlflow server --app-name basic-auth` with
default_permission = NO_PERMISSIONS (a user sees only what MLflow granted them; the creator of
an experiment gets MANAGE on it), a recording relay (the tap) between Warden and MLflow, and the
example organisation's users. Each user has one credential, `Authorization: Basic
base64(user:PAT)`: Warden accepts it as Basic with a personal access token as the password (the
Basic user name is not checked by Warden), and MLflow accepts it because the MLflow user was
created with that PAT as its password. A fresh Warden per test ([upstream] identity =
passthrough, service_credential_file = MLflow's admin credential, policies/ of the repository).

Users (policies/*.policy): alice and carol in group risk (READ on catalog risk, CREATE
EXPERIMENT and MODIFY in risk.fraud), alice also in data-scientists; bob in marketing
(marketing.campaigns only); dave in group risk in Warden, whose MLflow password is not his PAT.

What each test shows:
  * alice's experiment created through Warden is alice's in MLflow (MLflow granted MANAGE to the
    user it authenticated), the tap saw alice's Authorization unchanged and no assertion;
  * Warden's policy applies first: alice in marketing.campaigns gets Warden's 403 (MLflow would
    have allowed the read: it granted her READ there), and nothing with her credential reached
    MLflow;
  * MLflow's own authorisation applies after Warden's: carol, whom Warden lets read risk, gets
    MLflow's 403 on alice's experiment until MLflow grants her READ; dave, whose credential
    MLflow does not accept, gets MLflow's 401;
  * Warden's look-ups carry the service credential, the pages of a filtered search carry the
    client's credential, and a search returns exactly what both allow.
"""

import os
import re
import tempfile
import uuid

import pytest
import requests
from mlflow.exceptions import MlflowException

from . import basicauthkit as kit

ROOT = kit.base.ROOT
POLICY_DIR = os.path.join(ROOT, "policies")

ALICE, CAROL, BOB, DAVE = ("alice@acme.example", "carol@acme.example", "bob@acme.example",
                           "dave@acme.example")
GROUPS = {ALICE: ["risk", "data-scientists"], CAROL: ["risk"], BOB: ["marketing"], DAVE: ["risk"]}


class World:
    pass


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = World()
    d = str(tmp_path_factory.mktemp("pt-basic-auth"))
    w.pat_file = os.path.join(d, "pats.jsonl")
    w.pats = {u: kit.pat_create(w.pat_file, u, g) for u, g in GROUPS.items()}
    w.mlflow = kit.BasicAuthMlflow(tempfile.mkdtemp(prefix="mlflow-basic-", dir=d))
    w.mlflow.start()
    for u in (ALICE, CAROL, BOB):
        w.mlflow.create_user(u, w.pats[u])
    w.mlflow.create_user(DAVE, "not-his-warden-pat-" + uuid.uuid4().hex)
    w.tap = kit.Tap(w.mlflow.port)
    w.service_credential_file = os.path.join(d, "service-credential")
    with open(w.service_credential_file, "w") as f:
        f.write(w.mlflow.admin_auth + "\n")
    yield w
    w.tap.close()
    w.mlflow.stop()


@pytest.fixture
def warden(world, warden_factory):
    return warden_factory(world.tap.url, {
        "upstream": {"identity": "passthrough",
                     "service_credential_file": world.service_credential_file},
        "policy": {"paths": POLICY_DIR},
        "auth": {"pat_file": world.pat_file},
        "timeouts": {"upstream_first_byte": "120s"},
    })


def as_user(warden, world, user):
    return kit.User(warden.url, user, world.pats[user])


def uid():
    return uuid.uuid4().hex[:10]


def warden_denial(exc_or_resp):
    """Warden's own 403: PERMISSION_DENIED with Warden's message (the user lacks ...)."""
    if isinstance(exc_or_resp, MlflowException):
        assert exc_or_resp.error_code == "PERMISSION_DENIED", exc_or_resp.message
        msg = exc_or_resp.message
        return msg[len("PERMISSION_DENIED: "):] if msg.startswith("PERMISSION_DENIED: ") else msg
    r = exc_or_resp
    assert r.status_code == 403, "%s %r" % (r.status_code, r.text[:400])
    assert "uvicorn" not in r.headers.get("server", ""), "MLflow answered, not Warden: %r" % r.text
    j = r.json()
    assert j.get("error_code") == "PERMISSION_DENIED", j
    return j["message"]


BARE = re.compile(r"[A-Za-z0-9_]+")


def securable(name):
    """The policy-language name Warden gives a qualified MLflow experiment name (catalog.schema.x)."""
    cat, sch, rest = name.split(".", 2)
    return "%s.%s.%s" % (cat, sch, rest if BARE.fullmatch(rest) else "`%s`" % rest.replace("`", "``"))


def with_credential(reqs, authorization):
    return [r for r in reqs if r["authorization"] == authorization]


def lookups(reqs):
    return [r for r in reqs if r["user_agent"] == "warden-lookup"]


# --- MLflow sees and accepts the user's credential ---------------------------------------------
def test_mlflow_accepts_the_users_credential(world, warden):
    alice = as_user(warden, world, ALICE)
    name = "risk.fraud.pt-%s" % uid()
    m = world.tap.mark()
    exp_id = alice.c.create_experiment(name)
    creates = [r for r in world.tap.since(m) if r["path"] == "/api/2.0/mlflow/experiments/create"]
    assert len(creates) == 1, creates
    # passthrough: alice's own Authorization, byte for byte, and no assertion (Warden's identity
    # headers may accompany it, naming the same user)
    assert creates[0]["authorization"] == alice.authorization, creates[0]
    assert not creates[0]["assertion"] and creates[0]["warden_user"] in (None, ALICE), creates[0]

    # MLflow's side: its basic-auth app granted MANAGE on the new experiment to the user it
    # authenticated on that request, alice, and to nobody else
    assert world.mlflow.permission(ALICE, exp_id) == "MANAGE"
    assert world.mlflow.permission(CAROL, exp_id) == "NO_PERMISSIONS"
    mine = [g for g in world.mlflow.grants(ALICE)
            if g["resource_type"] == "experiment" and g["resource_pattern"] == exp_id]
    assert [g["permission"] for g in mine] == ["MANAGE"], world.mlflow.grants(ALICE)
    assert world.mlflow.experiment_by_name(name)["experiment_id"] == exp_id

    # alice works in it through Warden: every call passes both Warden's policy and MLflow's
    # checks of alice (MLflow's default is NO_PERMISSIONS: only her MANAGE lets these through)
    run = alice.c.create_run(exp_id)
    alice.c.log_metric(run.info.run_id, "auc", 0.91)
    alice.c.set_terminated(run.info.run_id)
    got = alice.c.get_run(run.info.run_id)
    assert got.data.metrics == {"auc": 0.91}
    assert alice.c.get_experiment(exp_id).name == name
    assert alice.c.get_experiment_by_name(name).experiment_id == exp_id
    forwarded = [r for r in world.tap.since(m) if r["user_agent"] != "warden-lookup"]
    assert forwarded and all(r["authorization"] == alice.authorization for r in forwarded), \
        [(r["method"], r["target"], kit.basic_user(r["authorization"])) for r in forwarded]


def test_mlflow_refuses_a_credential_it_does_not_know(world, warden):
    """dave's PAT is valid for Warden (group risk may create in risk.fraud) but is not his MLflow
    password: Warden forwards the request and MLflow's 401 reaches the client."""
    dave = as_user(warden, world, DAVE)
    name = "risk.fraud.pt-dave-%s" % uid()
    m = world.tap.mark()
    r = dave.post("/api/2.0/mlflow/experiments/create", {"name": name})
    assert r.status_code == 401, "%s %r" % (r.status_code, r.text[:400])
    assert "uvicorn" in r.headers.get("server", ""), "want MLflow's 401: %r" % r.text[:400]
    assert "not authenticated" in r.text, r.text[:400]
    sent = [x for x in world.tap.since(m) if x["path"] == "/api/2.0/mlflow/experiments/create"]
    assert [x["authorization"] for x in sent] == [dave.authorization], sent
    assert world.mlflow.experiment_by_name(name) is None


# --- Warden's policy applies first -------------------------------------------------------------
def test_warden_policy_applies_first(world, warden):
    alice = as_user(warden, world, ALICE)
    # an experiment in marketing.campaigns that MLflow itself would let alice read
    mk_name = "marketing.campaigns.pt-%s" % uid()
    mk_id = world.mlflow.create_experiment(mk_name)
    world.mlflow.grant(ALICE, mk_id, "READ")
    assert world.mlflow.permission(ALICE, mk_id) == "READ"

    m = world.tap.mark()
    new_name = "marketing.campaigns.pt-new-%s" % uid()
    with pytest.raises(MlflowException) as ei:
        alice.c.create_experiment(new_name)
    msg = warden_denial(ei.value)
    # group risk reaches catalog marketing (USE CATALOG) but not schema marketing.campaigns
    assert msg == (ALICE + " lacks USE SCHEMA on schema marketing.campaigns (needed for CREATE "
                   "EXPERIMENT on schema marketing.campaigns)"), msg

    with pytest.raises(MlflowException) as ei:
        alice.c.get_experiment_by_name(mk_name)
    msg = warden_denial(ei.value)
    assert msg.startswith(ALICE + " lacks ") and securable(mk_name) in msg, msg

    # by id: alice may not even browse it, so Warden names the id she gave
    with pytest.raises(MlflowException) as ei:
        alice.c.get_experiment(mk_id)
    assert warden_denial(ei.value) == "%s lacks READ on experiment %s" % (ALICE, mk_id)

    r = alice.post("/api/2.0/mlflow/runs/create", {"experiment_id": mk_id})
    assert warden_denial(r) == "%s lacks MODIFY on experiment %s" % (ALICE, mk_id)

    reqs = world.tap.since(m)
    # nothing carrying alice's credential reached MLflow; the only upstream requests were
    # Warden's own look-ups (id -> name), with the service credential
    assert with_credential(reqs, alice.authorization) == [], reqs
    assert all(r["user_agent"] == "warden-lookup" and
               r["authorization"] == world.mlflow.admin_auth for r in reqs), reqs
    assert world.mlflow.experiment_by_name(new_name) is None

    # the same read straight to MLflow with the same credential: MLflow allows it
    direct = requests.get(world.mlflow.url + "/api/2.0/mlflow/experiments/get",
                          params={"experiment_id": mk_id},
                          headers={"Authorization": alice.authorization, "Connection": "close"},
                          timeout=60)
    assert direct.status_code == 200 and direct.json()["experiment"]["name"] == mk_name


# --- MLflow's own authorisation applies after Warden's -----------------------------------------
def test_mlflow_authorisation_applies_after_warden(world, warden):
    alice = as_user(warden, world, ALICE)
    carol = as_user(warden, world, CAROL)
    name = "risk.fraud.pt-carol-%s" % uid()
    exp_id = alice.c.create_experiment(name)
    run = alice.c.create_run(exp_id)
    assert world.mlflow.permission(CAROL, exp_id) == "NO_PERMISSIONS"

    # Warden lets carol (group risk) read risk.fraud; MLflow does not: MLflow's 403 reaches her
    m = world.tap.mark()
    r = carol.get("/api/2.0/mlflow/experiments/get", {"experiment_id": exp_id})
    assert r.status_code == 403, "%s %r" % (r.status_code, r.text[:400])
    assert "uvicorn" in r.headers.get("server", ""), "want MLflow's 403, got Warden's: %r" % r.text
    assert r.text == "Permission denied", r.text[:400]
    fwd = with_credential(world.tap.since(m), carol.authorization)
    assert [(x["method"], x["path"]) for x in fwd] == [("GET", "/api/2.0/mlflow/experiments/get")]

    # with the MLflow client: an MlflowException carrying MLflow's 403 (not Warden's message)
    with pytest.raises(MlflowException) as ei:
        carol.c.get_run(run.info.run_id)
    assert "403" in ei.value.message and "Permission denied" in ei.value.message, ei.value.message
    assert "lacks" not in ei.value.message, ei.value.message
    # writing: Warden lets group risk MODIFY in risk.fraud, MLflow's NO_PERMISSIONS refuses
    with pytest.raises(MlflowException) as ei:
        carol.c.log_metric(run.info.run_id, "auc", 0.5)
    assert "403" in ei.value.message and "Permission denied" in ei.value.message, ei.value.message

    # MLflow grants carol READ: the read now passes both; a write still fails at MLflow
    world.mlflow.grant(CAROL, exp_id, "READ")
    assert carol.c.get_experiment(exp_id).name == name
    assert carol.c.get_run(run.info.run_id).info.experiment_id == exp_id
    with pytest.raises(MlflowException) as ei:
        carol.c.log_metric(run.info.run_id, "auc", 0.5)
    assert "403" in ei.value.message and "Permission denied" in ei.value.message, ei.value.message

    # bob: neither side allows; Warden answers first and MLflow never sees bob's credential
    bob = as_user(warden, world, BOB)
    m = world.tap.mark()
    with pytest.raises(MlflowException) as ei:
        bob.c.get_experiment(exp_id)
    assert warden_denial(ei.value) == "%s lacks READ on experiment %s" % (BOB, exp_id)
    assert with_credential(world.tap.since(m), bob.authorization) == []


# --- look-ups and filtered searches against the auth-protected MLflow --------------------------
def test_lookups_carry_the_service_credential(world, warden):
    alice = as_user(warden, world, ALICE)
    name = "risk.fraud.pt-lookup-%s" % uid()
    exp_id = world.mlflow.create_experiment(name)  # admin's: alice holds nothing in MLflow
    run_id = world.mlflow.admin_ok("POST", "/api/2.0/mlflow/runs/create",
                                   json={"experiment_id": exp_id})["run"]["info"]["run_id"]
    world.mlflow.grant(ALICE, exp_id, "READ")

    m = world.tap.mark()
    assert alice.c.get_experiment(exp_id).name == name
    assert alice.c.get_run(run_id).info.experiment_id == exp_id
    reqs = world.tap.since(m)
    looked = lookups(reqs)
    assert looked, "Warden made no look-up: %r" % reqs
    assert all(r["authorization"] == world.mlflow.admin_auth for r in looked), looked
    targets = [r["target"] for r in looked]
    assert "/api/2.0/mlflow/experiments/get?experiment_id=%s" % exp_id in targets, targets
    assert "/api/2.0/mlflow/runs/get?run_id=%s" % run_id in targets, targets
    client = [r for r in reqs if r["user_agent"] != "warden-lookup"]
    assert [(r["path"], r["authorization"]) for r in client] == [
        ("/api/2.0/mlflow/experiments/get", alice.authorization),
        ("/api/2.0/mlflow/runs/get", alice.authorization)], client


def test_lookup_without_service_credential_fails_closed(world, warden_factory):
    """Without service_credential_file, Warden's look-ups meet MLflow's 401: Warden cannot
    resolve the id and answers 503 TEMPORARILY_UNAVAILABLE rather than forward alice's request
    undecided (it does not fall back to the client's credential for its own look-ups)."""
    w = warden_factory(world.tap.url, {
        "upstream": {"identity": "passthrough"},
        "policy": {"paths": POLICY_DIR},
        "auth": {"pat_file": world.pat_file},
        "timeouts": {"upstream_first_byte": "120s"},
    })
    alice = as_user(w, world, ALICE)
    exp_id = world.mlflow.create_experiment("risk.fraud.pt-nocred-%s" % uid())
    world.mlflow.grant(ALICE, exp_id, "READ")
    m = world.tap.mark()
    r = alice.get("/api/2.0/mlflow/experiments/get", {"experiment_id": exp_id})
    assert r.status_code == 503, "%s %r" % (r.status_code, r.text[:400])
    assert "uvicorn" not in r.headers.get("server", ""), r.text[:400]
    j = r.json()
    assert j["error_code"] == "TEMPORARILY_UNAVAILABLE", j
    assert "experiment %s" % exp_id in j["message"] and "401" in j["message"], j
    reqs = world.tap.since(m)
    assert lookups(reqs) and all(x["authorization"] is None for x in lookups(reqs)), reqs
    assert with_credential(reqs, alice.authorization) == [], reqs


def _page_all(who, max_results):
    out, token = [], None
    pages = 0
    while True:
        page = who.c.search_experiments(max_results=max_results, page_token=token)
        out += [(e.experiment_id, e.name) for e in page]
        pages += 1
        token = page.token
        if not token:
            return out, pages
        assert pages < 200, "paging does not end"


def test_filtered_search_returns_what_both_allow(world, warden):
    alice = as_user(warden, world, ALICE)
    t = uid()
    # Warden allows (catalog risk) but MLflow does not (admin's, no grant to alice)
    hidden_by_mlflow = world.mlflow.create_experiment("risk.fraud.pt-s-%s-admin-only" % t)
    # MLflow allows (grant) but Warden does not (marketing)
    hidden_by_warden = world.mlflow.create_experiment("marketing.campaigns.pt-s-%s-granted" % t)
    world.mlflow.grant(ALICE, hidden_by_warden, "READ")
    # both allow: an admin's experiment MLflow grants alice READ on, and alice's own
    both = {world.mlflow.create_experiment("risk.credit.pt-s-%s-granted" % t)}
    world.mlflow.grant(ALICE, next(iter(both)), "READ")
    own = [alice.c.create_experiment("risk.fraud.pt-s-%s-alice-%d" % (t, i)) for i in range(3)]
    both.update(own)
    # neither
    world.mlflow.create_experiment("marketing.campaigns.pt-s-%s-none" % t)

    # ground truth from each side, independently of Warden's filter:
    everything = world.mlflow.admin_ok("GET", "/api/2.0/mlflow/experiments/search",
                                       params={"max_results": 1000})["experiments"]
    by_mlflow = {e["experiment_id"] for e in requests.get(
        world.mlflow.url + "/api/2.0/mlflow/experiments/search", params={"max_results": 1000},
        headers={"Authorization": alice.authorization, "Connection": "close"},
        timeout=60).json().get("experiments", [])}
    by_warden = {e["experiment_id"] for e in everything
                 if e["name"].startswith(("risk.", "shared."))}
    expected = by_mlflow & by_warden
    assert both <= expected and hidden_by_mlflow not in expected and \
        hidden_by_warden not in expected, (expected, both)

    m = world.tap.mark()
    got, pages = _page_all(alice, max_results=1000)
    assert {i for i, _ in got} == expected, got
    assert len(got) == len(expected), "duplicates: %r" % got
    reqs = world.tap.since(m)
    search_pages = [r for r in reqs if r["path"] == "/api/2.0/mlflow/experiments/search"]
    assert search_pages, reqs
    # the pages of the filtered search carry alice's own credential, not the service's
    assert all(r["authorization"] == alice.authorization for r in search_pages), search_pages

    # small pages: the same set, in pages Warden refills and chains with its own tokens
    got2, pages2 = _page_all(alice, max_results=2)
    assert sorted(got2) == sorted(got), (got2, got)
    assert pages2 >= (len(expected) + 1) // 2, (pages2, len(expected))

    # SearchRuns: Warden checks READ on each experiment named (look-ups with the service
    # credential) and forwards alice's search; MLflow drops the experiments it hides from her
    r_admin = world.mlflow.admin_ok("POST", "/api/2.0/mlflow/runs/create",
                                    json={"experiment_id": hidden_by_mlflow})["run"]["info"]["run_id"]
    mine = own[0]
    r_alice = alice.c.create_run(mine).info.run_id
    m = world.tap.mark()
    runs = alice.c.search_runs([mine, hidden_by_mlflow])
    assert {x.info.run_id for x in runs} == {r_alice}, [x.info.run_id for x in runs]
    assert r_admin not in {x.info.run_id for x in runs}
    reqs = world.tap.since(m)
    fwd = [x for x in reqs if x["path"] == "/api/2.0/mlflow/runs/search"]
    assert [x["authorization"] for x in fwd] == [alice.authorization], fwd
    assert all(x["authorization"] == world.mlflow.admin_auth for x in lookups(reqs)), reqs

    # and a search naming a marketing experiment is Warden's 403, unseen by MLflow
    m = world.tap.mark()
    with pytest.raises(MlflowException) as ei:
        alice.c.search_runs([mine, hidden_by_warden])
    assert warden_denial(ei.value) == "%s lacks READ on experiment %s" % (ALICE, hidden_by_warden)
    assert with_credential(world.tap.since(m), alice.authorization) == []
