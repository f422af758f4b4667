"""Denials (issue 5, Build item 8): how Warden says no.

Every denial is a 403 with MLflow's error JSON, {"error_code": "PERMISSION_DENIED", "message":
"<user> lacks <PRIV> on <kind> <name>"}; the MLflow client turns it into an MlflowException
with that code. An object that does not exist and one the caller may not see get the same
status and error code, and the message names the id as the caller gave it (never the name of
an object the caller may not browse), so existence does not leak. Also: a denial must not
break the client's keep-alive connection.
"""

import socket

import pytest

import enforcekit as kit
from enforcekit import As, warden, world  # noqa: F401 - fixtures

MISSING_RUN = "0123456789abcdef0123456789abcdef"


def test_denial_shape_names_user_privilege_object(warden, world):
    bob = As(warden, "bob")
    # by id, bob may not even browse the experiment: the message names the id he gave
    r = bob.get("/api/2.0/mlflow/experiments/get", {"experiment_id": world.exp})
    assert r.headers["Content-Type"].startswith("application/json")
    assert kit.assert_denied(r, "bob", "READ", "experiment", world.exp) == \
        "bob@acme.example lacks READ on experiment %s" % world.exp
    # by name: the caller named the securable, so the message shows it in policy language
    r = bob.get("/api/2.0/mlflow/experiments/get-by-name", {"experiment_name": world.exp_name})
    msg = kit.denial_message(r)
    assert msg.startswith("bob@acme.example lacks ")
    assert kit.securable(world.exp_name) in msg, msg
    # a user who may browse (carol owns catalog risk) sees the securable named
    r = As(warden, "carol").get("/api/2.0/mlflow/experiments/get", {"experiment_id": world.exp})
    assert kit.assert_denied(r, "carol", "READ", "experiment", kit.securable(world.exp_name)) == \
        "carol@acme.example lacks READ on experiment %s" % kit.securable(world.exp_name)


def test_denial_through_the_mlflow_client(warden, world):
    bob = As(warden, "bob")
    msg = kit.client_denied(bob.c.get_run, world.run)
    assert "bob@acme.example lacks READ on run %s" % world.run in msg
    msg = kit.client_denied(bob.c.get_registered_model, world.model_name)
    assert "bob@acme.example lacks " in msg and kit.securable(world.model_name, False) in msg


@pytest.mark.parametrize("who", ["bob", "mallory"])
def test_nonexistent_and_forbidden_alike(warden, world, who):
    u = As(warden, who)
    cases = [
        ("/api/2.0/mlflow/experiments/get", "experiment_id", world.exp, "987654321", "experiment", "READ"),
        ("/api/2.0/mlflow/runs/get", "run_id", world.run, MISSING_RUN, "run", "READ"),
        ("/api/2.0/mlflow/metrics/get-history", "run_id", world.run, MISSING_RUN, "run", "READ"),
        ("/api/3.0/mlflow/traces/get", "trace_id", world.trace, "tr-" + MISSING_RUN, "trace", "READ"),
    ]
    for path, field, real, fake, kind, priv in cases:
        a = u.get(path, {field: real})
        b = u.get(path, {field: fake})
        assert (a.status_code, a.json()["error_code"]) == (b.status_code, b.json()["error_code"]) == \
            (403, "PERMISSION_DENIED"), (path, a.text, b.text)
        assert a.json()["message"] == "%s lacks %s on %s %s" % (kit.email(who), priv, kind, real)
        assert b.json()["message"] == "%s lacks %s on %s %s" % (kit.email(who), priv, kind, fake)
    # path ids: logged model, trace info, dataset
    for tmpl, real, fake, kind in [
        ("/api/2.0/mlflow/logged-models/%s", world.logged_model, "m-" + MISSING_RUN, "logged-model"),
        ("/api/3.0/mlflow/traces/%s", world.trace, "tr-" + MISSING_RUN, "trace"),
        ("/api/3.0/mlflow/datasets/%s", world.dataset, "d-" + MISSING_RUN, "dataset"),
    ]:
        a, b = u.get(tmpl % real), u.get(tmpl % fake)
        assert a.status_code == b.status_code == 403, (a.text, b.text)
        assert a.json()["error_code"] == b.json()["error_code"] == "PERMISSION_DENIED"
        assert real in a.json()["message"] and fake in b.json()["message"]
        assert kit.securable(world.exp_name) not in a.json()["message"]


def test_missing_object_visible_to_reader_is_mlflow_answer(warden, world):
    """For a caller allowed on the parent, MLflow's own not-found goes through unchanged."""
    alice = As(warden, "alice")
    r = alice.get("/api/2.0/mlflow/registered-models/get", {"name": "risk.credit.%s-nope" % world.P})
    kit.assert_allowed(r, ok=(404,))
    assert r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_unknown_route_and_permission_api(warden):
    alice = As(warden, "alice")
    r = alice.get("/api/2.0/mlflow/experiments/nope")
    assert r.status_code == 404 and r.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    for who in ("alice", "root"):
        r = As(warden, who).get("/api/2.0/mlflow/users/get", {"username": "x"})
        assert r.status_code == 403 and r.json()["error_code"] == "PERMISSION_DENIED", r.text
        r = As(warden, who).post("/api/3.0/mlflow/users/permissions/grant", {})
        assert r.status_code == 403 and r.json()["error_code"] == "PERMISSION_DENIED", r.text


def _keepalive_pair(warden, first, timeout=4.0):
    """Send `first` then a valid GET on ONE keep-alive connection; returns (status1, status2 or
    'no answer')."""
    tok = As(warden, "dave").token
    s = socket.create_connection(("127.0.0.1", warden.port), timeout=timeout)
    try:
        s.sendall(first)
        r = kit.httpraw.Reader(s)
        a = r.response()
        # server-info: any authenticated caller may ask (dave has no right on experiment 0)
        s.sendall(("GET /api/3.0/mlflow/server-info HTTP/1.1\r\nHost: x\r\n"
                   "Authorization: Bearer %s\r\n\r\n" % tok).encode())
        try:
            b = r.response().status
        except (socket.timeout, TimeoutError, kit.httpraw.Closed, ConnectionError, AssertionError) as e:
            b = "no answer (%s)" % type(e).__name__
        return a.status, b
    finally:
        s.close()


def test_keepalive_after_denial_with_body(warden, world):
    """A POST denied after Warden read its body (the MLflow client keeps its connection): the
    next request on that connection must be answered."""
    tok = As(warden, "alice").token
    body = ('{"run_id":"%s","key":"m","value":1,"timestamp":1,"step":0}' % world.run).encode()
    first = ("POST /api/2.0/mlflow/runs/log-metric HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (tok, len(body))).encode() + body
    assert _keepalive_pair(warden, first) == (403, 200)


def test_keepalive_after_denial_after_lookup(warden, world):
    """A GET denied after a look-up Warden had to wait for: same requirement."""
    tok = As(warden, "bob").token
    first = ("GET /api/2.0/mlflow/experiments/get?experiment_id=876543 HTTP/1.1\r\nHost: x\r\n"
             "Authorization: Bearer %s\r\n\r\n" % tok).encode()
    assert _keepalive_pair(warden, first) == (403, 200)


def test_keepalive_after_bad_body(warden):
    tok = As(warden, "alice").token
    body = b'{"experiment_id":"1","experiment_id":"2"}'
    first = ("POST /api/2.0/mlflow/experiments/delete HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (tok, len(body))).encode() + body
    assert _keepalive_pair(warden, first) == (400, 200)
