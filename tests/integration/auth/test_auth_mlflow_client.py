"""The real MLflow Python client through Warden with each kind of credential (issue 3, test 1),
and what it shows its user when the credential is missing or refused.

The client runs in a fresh interpreter per scenario (mlflow_scenario.py): it reads
MLFLOW_TRACKING_TOKEN / MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD from the
environment, so each test sets exactly the variables it means to test.

Warden enforces the catalog policy on every request; the integration tests' default policy
(fixtures/admin.policy) grants nothing but names `admins` the admin group. The scenario users are
in that group (a JWT `groups` claim, a PAT's groups), so this suite tests authentication with the
real client; a user outside it is refused with PERMISSION_DENIED, which the client shows its
user (test_denied_message_reaches_the_user). Grants themselves are tested in test_enforce_*.py.
"""

import json
import os
import subprocess
import sys
import uuid

import pytest

from . import authkit
from .conftest import auth_overrides

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = os.path.join(authkit.base.VENV_BIN, "python")


@pytest.fixture
def mlflow_warden(mlflow_server, warden_factory, creds):
    return warden_factory(mlflow_server.url, auth_overrides(
        creds, timeouts={"upstream_first_byte": "120s"}))


def run_client(w, env_extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update({"MLFLOW_TRACKING_URI": w.url, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
                "MLFLOW_HTTP_REQUEST_TIMEOUT": "60"})
    env.update(env_extra)
    name = "auth-it-" + uuid.uuid4().hex[:10]
    p = subprocess.run([PYTHON, os.path.join(HERE, "mlflow_scenario.py"), name], env=env,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    return name, json.loads(p.stdout.strip().splitlines()[-1])


def assert_scenario(name, out):
    assert out == {"ok": True, "experiment": name, "experiment_id_matches": True,
                   "params": {"alpha": "0.5", "layers": "3"}, "metrics": {"loss": 0.4},
                   "history": [[0, 0.9], [1, 0.7], [2, 0.4]], "status": "FINISHED",
                   "run_name": "run-" + name}, out


def test_jwt_bearer(mlflow_warden, creds):
    before = authkit.metric(mlflow_warden, "warden_auth_total", result="verified")
    tok = creds.issuer.mint("alice", groups=["risk", "admins"])
    name, out = run_client(mlflow_warden, {"MLFLOW_TRACKING_TOKEN": tok})
    assert_scenario(name, out)
    # One signature verification, every further request of the client a cache hit.
    assert authkit.metric(mlflow_warden, "warden_auth_total", result="verified") == before + 1
    assert authkit.metric(mlflow_warden, "warden_auth_total", result="cache_hit") >= 7


def test_pat_bearer(mlflow_warden, creds):
    tok = authkit.pat_create(creds.pat_file, "bob", groups=("admins",))[0]
    assert authkit.wait_for(lambda: _accepted(mlflow_warden, tok), 5) is not None
    name, out = run_client(mlflow_warden, {"MLFLOW_TRACKING_TOKEN": tok})
    assert_scenario(name, out)


def test_basic_with_pat_password(mlflow_warden, creds):
    tok = authkit.pat_create(creds.pat_file, "carol", groups=("admins",))[0]
    assert authkit.wait_for(lambda: _accepted(mlflow_warden, tok), 5) is not None
    name, out = run_client(mlflow_warden, {"MLFLOW_TRACKING_USERNAME": "carol",
                                           "MLFLOW_TRACKING_PASSWORD": tok})
    assert_scenario(name, out)


def _accepted(w, tok):
    import requests
    return requests.get(w.url + authkit.API, headers=authkit.bearer(tok), timeout=10).status_code == 200


def test_no_credential_message_reaches_the_user(mlflow_warden, mlflow_server):
    name, out = run_client(mlflow_warden, {})
    assert out["ok"] is False
    assert out["error_code"] == "UNAUTHENTICATED"
    assert "Authentication required: send Authorization: Bearer <token>" in out["message"]


def test_refused_token_message_reaches_the_user(mlflow_warden, creds):
    tok = creds.issuer.mint("alice", audience="somebody-else")
    name, out = run_client(mlflow_warden, {"MLFLOW_TRACKING_TOKEN": tok})
    assert out["ok"] is False
    assert out["error_code"] == "UNAUTHENTICATED"
    assert "Invalid credentials: audience not accepted" in out["message"]
    assert tok not in out["message"] and tok.split(".")[2] not in out["message"]


def test_denied_message_reaches_the_user(mlflow_warden, creds):
    """Authenticated but outside the admin group, with no grant: the first call (create the
    experiment) is refused by the policy and the client shows Warden's reason."""
    tok = creds.issuer.mint("dave", groups=["risk"])
    name, out = run_client(mlflow_warden, {"MLFLOW_TRACKING_TOKEN": tok})
    assert out["ok"] is False
    assert out["error_code"] == "PERMISSION_DENIED"
    assert "dave lacks USE CATALOG on catalog main" in out["message"], out
    assert tok not in out["message"]
