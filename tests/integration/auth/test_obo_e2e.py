"""Issue 7, test 1: an agent acting for alice and for bob through the real MLflow client does
exactly the intersection of rights (the user's grants ∩ the token scopes ∩ the agent's
delegation), each denial says which side lacked what, and runs carry the user as mlflow.user
and the agent as the actor.

The agent is the service principal sp:notebook-agent (a personal access token); the users
carry JWTs from the test issuer. Both on-behalf-of forms are driven with the MLflow client
(obo_scenario.py, in a fresh interpreter): the header form (agent PAT in Authorization, the
user's token in X-Warden-Subject-Token through a request header provider) and the exchange
form (one token whose act claim names the agent, as MLFLOW_TRACKING_TOKEN).

Policy (written per test): alice (token group ds) may create, read and modify experiments in
ml.team; bob may only read there; the agent may act for both with LIMIT READ, MODIFY, CREATE
EXPERIMENT; sp:rogue-agent has no delegation at all.

Needs the request path to call authn_check_obo and policy_decide_obo: skipped with "waiting for
gate wiring" while an exchanged token is still refused as a plain credential.
"""

import http.client
import json
import os
import subprocess
import time
import uuid

import pytest
import requests

from . import authkit
from .conftest import auth_overrides

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = os.path.join(authkit.base.VENV_BIN, "python")

POLICY = """
SET ADMIN GROUP admins;
GRANT USE CATALOG ON CATALOG ml TO `group:ds`, `bob@acme.example`;
GRANT USE SCHEMA, CREATE EXPERIMENT, READ, MODIFY ON SCHEMA ml.team TO `group:ds`;
GRANT USE SCHEMA, READ ON SCHEMA ml.team TO `bob@acme.example`;
GRANT DELEGATION FOR `group:ds`, `bob@acme.example` TO `sp:notebook-agent`
    LIMIT READ, MODIFY, CREATE EXPERIMENT;
"""


@pytest.fixture
def obo_warden(mlflow_server, warden_factory, creds, tmp_path):
    pol = tmp_path / "agents.policy"
    pol.write_text(POLICY)
    w = warden_factory(mlflow_server.url, auth_overrides(
        creds, auth={"leeway": "0s"}, policy={"paths": str(pol)},
        timeouts={"upstream_first_byte": "120s"}))
    agent = authkit.pat_create(creds.pat_file, "sp:notebook-agent")[0]
    rogue = authkit.pat_create(creds.pat_file, "sp:rogue-agent")[0]
    for tok in (agent, rogue):  # the PAT file is re-read on change
        assert authkit.wait_for(lambda: requests.get(
            w.url + "/version", headers=authkit.bearer(tok), timeout=10).status_code == 200,
            5) is not None
    exchanged = _exchanged(creds, "alice@acme.example", ("ds",))
    r = requests.get(w.url + "/version", headers=authkit.bearer(exchanged), timeout=10)
    if r.status_code == 401 and "act claim" in r.text:
        pytest.skip("waiting for gate wiring: the gate does not call authn_check_obo (an "
                    "exchanged token is refused as a plain credential)")
    assert r.status_code == 200, r.text
    w.agent, w.rogue = agent, rogue
    return w


def _exchanged(creds, user, groups=(), scope=None):
    args = ["mint", "--key", creds.issuer.key_path, "--issuer", creds.issuer.iss, "--audience",
            creds.issuer.audience, "--user", user, "--act", "sp:notebook-agent", "--ttl", "1h"]
    for g in groups:
        args += ["--group", g]
    if scope:
        args += ["--scope", scope]
    return authkit.ctl(*args).stdout.strip()


def run(w, token, steps, subject=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update({"MLFLOW_TRACKING_URI": w.url, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
                "MLFLOW_HTTP_REQUEST_TIMEOUT": "60", "MLFLOW_TRACKING_TOKEN": token})
    env.pop("OBO_SUBJECT_TOKEN", None)
    if subject:
        env["OBO_SUBJECT_TOKEN"] = subject
    p = subprocess.run([PYTHON, os.path.join(HERE, "obo_scenario.py"), json.dumps(steps)],
                       env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


def denied(result, *fragments):
    assert not result["ok"], result
    assert result["error_code"] == "PERMISSION_DENIED", result
    for f in fragments:
        assert f in result["message"], (f, result["message"])


def test_agent_acts_for_alice_and_bob(obo_warden, creds):
    w = obo_warden
    name = "ml.team.obo-" + uuid.uuid4().hex[:8]
    alice = creds.issuer.mint("alice@acme.example", groups=("ds",))
    bob = creds.issuer.mint("bob@acme.example")

    # For alice: create, log, read; the run is alice's, made by the agent. Deleting needs
    # MANAGE: alice owns the experiment she created, but the delegation's LIMIT stops it.
    create, runr, get, delete = run(w, w.agent, [["create", name], ["run", name], ["get", name],
                                                 ["delete", name]], subject=alice)
    assert create["ok"], create
    assert runr["ok"], runr
    assert runr["value"]["tags"].get("mlflow.user") == "alice@acme.example", runr
    assert runr["value"]["metrics"] == {"loss": 0.25}
    assert "sp:notebook-agent" in runr["value"]["tags"].values(), runr  # actor recorded
    assert get == {"ok": True, "value": create["value"]}
    denied(delete, "delegation of sp:notebook-agent for alice@acme.example limits to",
           "MANAGE needed")

    # For bob: reading is within both his rights and the delegation; writing is not in his
    # rights, so the user's side is named. (One refused write per client session, last: the
    # session is not what is tested here.)
    getb, searchb, runb = run(w, w.agent, [["get", name], ["search", ""], ["run", name]],
                              subject=bob)
    assert getb == {"ok": True, "value": create["value"]}
    assert searchb["ok"] and name in searchb["value"], searchb
    denied(runb, "bob@acme.example lacks MODIFY")
    (createb,) = run(w, w.agent, [["create", name + "-bob"]], subject=bob)
    denied(createb, "bob@acme.example lacks CREATE EXPERIMENT")

    # An agent without a delegation is refused, and says so; searches show it nothing.
    searchr, getr = run(w, w.rogue, [["search", ""], ["get", name]], subject=alice)
    denied(getr, "agent sp:rogue-agent has no delegation to act for alice@acme.example")
    assert searchr["ok"] and name not in searchr["value"], searchr

    # The token's scopes bound it too: a read-only user token.
    alice_ro = authkit.ctl("mint", "--key", creds.issuer.key_path, "--issuer", creds.issuer.iss,
                           "--audience", creds.issuer.audience, "--user", "alice@acme.example",
                           "--group", "ds", "--scope", "mlflow:read").stdout.strip()
    getro, runro = run(w, w.agent, [["get", name], ["run", name]], subject=alice_ro)
    assert getro["ok"], getro
    denied(runro, "the token's scopes allow READ, EXECUTE; MODIFY needed")


def test_exchanged_tokens(obo_warden, creds):
    w = obo_warden
    name = "ml.team.xchg-" + uuid.uuid4().hex[:8]
    alice = _exchanged(creds, "alice@acme.example", ("ds",))
    bob = _exchanged(creds, "bob@acme.example")
    create, runr = run(w, alice, [["create", name], ["run", name]])
    assert create["ok"] and runr["ok"], (create, runr)
    assert runr["value"]["tags"].get("mlflow.user") == "alice@acme.example", runr
    assert "sp:notebook-agent" in runr["value"]["tags"].values(), runr
    getb, runb = run(w, bob, [["get", name], ["run", name]])
    assert getb == {"ok": True, "value": create["value"]}
    denied(runb, "bob@acme.example lacks MODIFY")
    # An exchanged token naming another agent is bound by that agent's (absent) delegation.
    other = authkit.ctl("mint", "--key", creds.issuer.key_path, "--issuer", creds.issuer.iss,
                        "--audience", creds.issuer.audience, "--user", "alice@acme.example",
                        "--group", "ds", "--act", "sp:rogue-agent",
                        "--act", "sp:notebook-agent").stdout.strip()
    (geto,) = run(w, other, [["get", name]])
    denied(geto, "agent sp:rogue-agent has no delegation to act for alice@acme.example")


def test_refusals_name_the_token(obo_warden, creds):
    w = obo_warden
    expired = authkit.ctl("mint", "--key", creds.issuer.key_path, "--issuer", creds.issuer.iss,
                          "--audience", creds.issuer.audience, "--user", "alice@acme.example",
                          "--ttl", "1s").stdout.strip()
    time.sleep(2.2)
    r = requests.get(w.url + "/api/2.0/mlflow/experiments/search?max_results=1",
                     headers={"Authorization": "Bearer " + w.agent,
                              "X-Warden-Subject-Token": expired}, timeout=10)
    assert r.status_code == 401, r.text
    assert "subject token (X-Warden-Subject-Token): token expired" in r.json()["message"]
    r = requests.get(w.url + "/version", headers={"X-Warden-Subject-Token": expired}, timeout=10)
    assert r.status_code == 401 and "needs the caller's own credential" in r.text, r.text
    # Two subject tokens (any spelling): refused, never "the first wins".
    c = http.client.HTTPConnection("127.0.0.1", w.port, timeout=10)
    c.putrequest("GET", "/version")
    c.putheader("Authorization", "Bearer " + w.agent)
    c.putheader("X-Warden-Subject-Token", expired)
    c.putheader("x-warden-subject-token", expired)
    c.endheaders()
    r = c.getresponse()
    body = r.read().decode()
    c.close()
    assert r.status == 400 and "repeated X-Warden-Subject-Token header" in body, body
