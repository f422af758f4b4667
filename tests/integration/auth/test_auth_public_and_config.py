"""Public endpoints and the configuration rules around authentication (issue 3, tests 7 and 8):
/health is anonymous only when `[server] public_endpoints = health`, and no other spelling of a
path is ever public; `warden --check` refuses a configuration that authenticates nobody and one
that tries to make the API public; warden_auth_total moves as expected."""

import os
import subprocess

import pytest
import requests

import httpraw
from . import authkit

API = authkit.API


def raw_get(w, target, method="GET"):
    resp, s, _ = httpraw.exchange(w.port, httpraw.req(method, target, auth=False), method=method)
    s.close()
    return resp


def test_health_public_when_configured(auth_warden, echo):
    w = auth_warden(server={"public_endpoints": "health"})
    for method in ("GET", "HEAD"):
        r = raw_get(w, "/health", method)
        assert r.status == 200, r
    assert [(q.method, q.target) for q in echo.wait_requests(2)] == [("GET", "/health"), ("HEAD", "/health")]
    for q in echo.requests():
        assert q.header("Authorization") == []


@pytest.mark.parametrize("target", [
    "/health/../api/2.0/mlflow/experiments/search?max_results=1",
    "/health/../api/2.0/mlflow/experiments/search",
    "/health/%2e%2e/api/2.0/mlflow/experiments/search",
    "/health%2F..%2Fapi/2.0/mlflow/experiments/search",
    "/%68ealth", "/%68%65%61%6c%74%68", "/health/", "/health/x", "//health", "/./health",
    "/HEALTH", "/health;x", "/healthz", "/health%00", "/api/2.0/mlflow/experiments/search",
    "/static-files/../api/2.0/mlflow/experiments/search",
])
def test_never_public(auth_warden, echo, target):
    w = auth_warden(server={"public_endpoints": "health, ui"})
    r = raw_get(w, target)
    assert r.status in (400, 401), r
    if r.status == 401:
        assert r.json()["error_code"] == "UNAUTHENTICATED"
    assert echo.count() == 0


def test_post_health_not_public(auth_warden, echo):
    w = auth_warden(server={"public_endpoints": "health"})
    resp, s, _ = httpraw.exchange(w.port, httpraw.req("POST", "/health", [("Content-Length", "0")], auth=False))
    s.close()
    assert resp.status == 401
    assert echo.count() == 0


def test_health_not_public_by_default(auth_warden, echo):
    w = auth_warden()
    r = raw_get(w, "/health")
    assert r.status == 401 and r.json()["error_code"] == "UNAUTHENTICATED"
    assert echo.count() == 0


def check(tmp_path, text):
    path = str(tmp_path / "w.conf")
    with open(path, "w") as f:
        f.write(text)
    p = subprocess.run([authkit.WARDEN_BIN, "--check", path], capture_output=True, text=True, timeout=30)
    return path, p


BASE = "[listener]\naddress = 127.0.0.1:0\n\n[upstream]\nurl = http://127.0.0.1:5000\n"


def test_check_refuses_no_authentication(tmp_path):
    path, p = check(tmp_path, "# no credentials anywhere\n" + BASE)
    assert p.returncode == 1
    assert p.stdout + p.stderr == (
        "%s:1:1: [auth] no authentication method is configured: add an [issuer] section, or "
        "pat_file/redis in [auth] (Warden never runs as an open proxy)\n"
        "%s: configuration refused (1 error)\n" % (path, path))
    # An [auth] section without any credential source is no better.
    path, p = check(tmp_path, BASE + "\n[auth]\nrealm = corp\nleeway = 10s\n")
    assert p.returncode == 1
    assert "%s:1:1: [auth] no authentication method is configured" % path in p.stderr


def test_check_refuses_public_api(tmp_path, creds):
    text = ("[server]\nworkers = 1\npublic_endpoints = health, api\n\n" + BASE +
            "\n[auth]\npat_file = %s\n" % creds.pat_file)
    path, p = check(tmp_path, text)
    assert p.returncode == 1
    # Reported at the [server] section header (line 1, column 1).
    assert p.stdout + p.stderr == (
        "%s:1:1: [server] public_endpoints: 'api' cannot be public (allowed: health, ui)\n"
        "%s: configuration refused (1 error)\n" % (path, path))
    path, p = check(tmp_path, text.replace("health, api", "health, ui"))
    assert (p.returncode, p.stdout + p.stderr) == (0, "%s: configuration ok\n" % path)


def test_check_refuses_mtls_without_client_ca(tmp_path, creds):
    path, p = check(tmp_path, BASE + "\n[auth]\nmethods = mtls, pat\npat_file = %s\n" % creds.pat_file)
    assert p.returncode == 1
    assert ("%s:1:1: [auth] method mtls is enabled but needs a TLS listener that requests client "
            "certificates\n" % path) in p.stderr


def test_auth_metrics(auth_warden, creds, echo):
    w = auth_warden()
    m = lambda result: authkit.metric(w, "warden_auth_total", result=result)  # noqa: E731
    start = {k: m(k) for k in ("cache_hit", "verified", "invalid", "pending")}
    assert start == {"cache_hit": 0, "verified": 0, "invalid": 0, "pending": 0}
    tok = creds.issuer.mint("alice")
    s = requests.Session()
    for _ in range(5):
        assert s.get(w.url + API, headers=authkit.bearer(tok), timeout=5).status_code == 200
    # Both workers may see the token first: one or two verifications, the rest cache hits.
    assert m("verified") in (1, 2)
    assert m("verified") + m("cache_hit") == 5
    for _ in range(3):
        assert requests.get(w.url + API, headers=authkit.bearer(tok), timeout=5).status_code == 200
    assert m("verified") in (1, 2) and m("verified") + m("cache_hit") == 8
    # Refused tokens count as invalid; a missing credential is not "invalid".
    assert requests.get(w.url + API, timeout=5).status_code == 401
    assert m("invalid") == 0
    bad = authkit.tamper_signature(tok)
    for _ in range(3):
        assert requests.get(w.url + API, headers=authkit.bearer(bad), timeout=5).status_code == 401
    assert m("invalid") == 3
    # An unknown kid parks the request while the key file is re-read: one pending, one refetch.
    unk = creds.issuer.mint("alice", kid="rotated-away")
    assert requests.get(w.url + API, headers=authkit.bearer(unk), timeout=5).status_code == 401
    assert m("pending") == 1 and m("invalid") == 4
    assert authkit.metric(w, "warden_auth_key_refetches_total") == 1
    assert m("verified") in (1, 2) and m("verified") + m("cache_hit") == 8
