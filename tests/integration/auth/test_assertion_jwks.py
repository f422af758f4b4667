"""Issue 7 item 4: upstream identity modes. In `assert` mode (the default) Warden signs a
short-lived assertion JWT for every forwarded request (X-Warden-Assertion) and publishes the
key set on its admin port (GET /.well-known/jwks.json and /jwks.json); an upstream holding only
that key set accepts a genuine assertion and rejects a tampered or expired one (verified here
with the `cryptography` package, independently of Warden's code). In `passthrough` mode the
client's own Authorization reaches the upstream and no key set is published.

Assertions come from `wardenctl assertion mint --config` (the daemon's key file and claims
code) and, once the request path sends them, from the echo upstream's view of real requests.
Tests that need the request-path wiring (main.c publishing the key set, conn.c sending the
header) skip with "waiting for gate wiring" while it is absent, and run as soon as it is there.
"""

import json
import os
import time

import pytest
import requests

from . import assertkit, authkit
from .conftest import auth_overrides

WIRING = "waiting for gate wiring: "


def _keys(tmp_path, alg="ES256"):
    d = str(tmp_path / ("keys-" + alg))
    out = authkit.ctl("dev-key", "--out", d, "--alg", alg).stdout
    return os.path.join(d, "signing-key.pem"), out.split("key id:", 1)[1].split()[0]


def _warden(warden_factory, echo, creds, **upstream):
    return warden_factory(echo.url, auth_overrides(creds, upstream=upstream))


def _jwks_or_skip(w):
    r = assertkit.fetch_jwks(w)
    if r.status_code == 404 and "no assertion key" in r.text:
        pytest.skip(WIRING + "main.c does not publish the assertion key set (admin_set_jwks)")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/jwk-set+json"
    return r.json()


def test_key_set_verifies_the_assertion(echo, warden_factory, creds, tmp_path):
    key, kid = _keys(tmp_path)
    w = _warden(warden_factory, echo, creds, assertion_key_file=key,
                assertion_issuer="https://warden.test", assertion_audience="mlflow-upstream",
                assertion_lifetime="30s")
    jwks = _jwks_or_skip(w)
    assert [k["kid"] for k in jwks["keys"]] == [kid]
    (k,) = jwks["keys"]
    assert k["kty"] == "EC" and k["crv"] == "P-256" and k["alg"] == "ES256" and k["use"] == "sig"
    assert "d" not in k  # public parts only
    assert assertkit.fetch_jwks(w, "/jwks.json").json() == jwks
    # wardenctl prints the same key set from the same configuration.
    assert json.loads(authkit.ctl("assertion", "jwks", "--config", w.conf_path).stdout) == jwks

    tok = authkit.ctl("assertion", "mint", "--config", w.conf_path, "--user", "alice@acme.example",
                      "--group", "risk", "--group", "ml", "--scope", "mlflow:read", "--act",
                      "sp:notebook-agent", "--act", "erin@acme.example").stdout.strip()
    claims = assertkit.verify(jwks, tok, "https://warden.test", "mlflow-upstream")
    assert claims["sub"] == "alice@acme.example"
    assert claims["groups"] == ["risk", "ml"]
    assert claims["scope"] == "mlflow:read"
    assert assertkit.act_chain(claims) == ["sp:notebook-agent", "erin@acme.example"]
    assert claims["exp"] - claims["iat"] == 30
    assert len(claims["jti"]) == 32
    header = json.loads(assertkit.b64d(tok.split(".")[0]))
    assert header == {"alg": "ES256", "typ": "JWT", "kid": kid}

    # Tampered: another subject, an extra group, a different actor, a flipped signature bit, a
    # foreign key id, an unsigned token: all rejected by the published key set.
    for bad in (assertkit.tamper_claims(tok, sub="root@acme.example"),
                assertkit.tamper_claims(tok, groups=["risk", "ml", "platform-admins"]),
                assertkit.tamper_claims(tok, act={"sub": "sp:other"}),
                assertkit.flip_signature(tok),
                assertkit.b64e(json.dumps({"alg": "ES256", "kid": "0000000000000000"}).encode())
                + "." + tok.split(".", 1)[1],
                assertkit.b64e(b'{"alg":"none"}') + "." + tok.split(".")[1] + "."):
        with pytest.raises(assertkit.InvalidAssertion):
            assertkit.verify(jwks, bad, "https://warden.test", "mlflow-upstream")
    # Expired: the same genuine token once its exp has passed.
    with pytest.raises(assertkit.InvalidAssertion, match="expired"):
        assertkit.verify(jwks, tok, "https://warden.test", "mlflow-upstream", now=claims["exp"])
    # Another instance's key set does not verify it.
    other = _warden(warden_factory, echo, creds)
    with pytest.raises(assertkit.InvalidAssertion, match="unknown key id"):
        assertkit.verify(_jwks_or_skip(other), tok, "https://warden.test", "mlflow-upstream")


def test_generated_key_and_rsa_key(echo, warden_factory, creds, tmp_path):
    a = _warden(warden_factory, echo, creds)
    b = _warden(warden_factory, echo, creds)
    ja, jb = _jwks_or_skip(a), _jwks_or_skip(b)
    assert ja["keys"][0]["alg"] == "ES256" and ja["keys"][0]["crv"] == "P-256"
    assert ja["keys"][0]["kid"] != jb["keys"][0]["kid"]  # generated at start, per instance
    # wardenctl cannot sign for a generated key.
    p = authkit.ctl("assertion", "mint", "--config", a.conf_path, "--user", "u", check=False)
    assert p.returncode == 1 and "assertion_key_file" in p.stderr
    key, kid = _keys(tmp_path, "RS256")
    r = _warden(warden_factory, echo, creds, assertion_key_file=key)
    jr = _jwks_or_skip(r)
    assert jr["keys"][0]["kty"] == "RSA" and jr["keys"][0]["alg"] == "RS256"
    tok = authkit.ctl("assertion", "mint", "--config", r.conf_path, "--user", "bob").stdout.strip()
    claims = assertkit.verify(jr, tok, "warden", "mlflow")
    assert claims["sub"] == "bob" and "act" not in claims
    with pytest.raises(assertkit.InvalidAssertion):
        assertkit.verify(jr, assertkit.tamper_claims(tok, sub="alice"), "warden", "mlflow")


def test_passthrough_publishes_no_key_set(echo, warden_factory, creds):
    w = _warden(warden_factory, echo, creds, identity="passthrough")
    r = assertkit.fetch_jwks(w)
    assert r.status_code == 404
    assert "identity is not assert" in r.json()["message"]


def _version(w, echo, headers):
    echo.reset()
    r = requests.get(w.url + "/version", headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    (q,) = echo.wait_requests(1)
    return q


def test_assertion_reaches_the_upstream(echo, warden_factory, creds, tmp_path):
    key, kid = _keys(tmp_path)
    w = _warden(warden_factory, echo, creds, assertion_key_file=key)
    tok = creds.issuer.mint("alice@acme.example", groups=("risk",))
    q = _version(w, echo, {"Authorization": "Bearer " + tok,
                           "X-Warden-Assertion": "forged", "x_warden_assertion": "forged"})
    got = q.header("X-Warden-Assertion")
    if not got:
        pytest.skip(WIRING + "conn.c does not send X-Warden-Assertion upstream")
    jwks = _jwks_or_skip(w)
    assert len(got) == 1 and got[0] != "forged", q.headers
    assert "forged" not in bytes(q.raw).decode("latin-1")
    assert q.header("Authorization") == []  # assert mode: the client credential is removed
    claims = assertkit.verify(jwks, got[0], "warden", "mlflow")
    assert claims["sub"] == "alice@acme.example" and claims["groups"] == ["risk"]
    assert claims["amr"] == ["jwt"] and "act" not in claims
    assert claims["exp"] - claims["iat"] == 60
    # The next request of the same identity reuses the signed assertion (per-worker cache;
    # with two workers, one of a few requests lands on the same worker).
    seen = [got[0]] + [_version(w, echo, {"Authorization": "Bearer " + tok})
                       .header("X-Warden-Assertion")[0] for _ in range(4)]
    assert len(set(seen)) < len(seen)
    # Another user gets another assertion.
    q = _version(w, echo, {"Authorization": "Bearer " + creds.issuer.mint("bob@acme.example")})
    assert assertkit.verify(jwks, q.header("X-Warden-Assertion")[0], "warden", "mlflow")["sub"] \
        == "bob@acme.example"


def test_assertion_on_behalf_of_a_user(echo, warden_factory, creds, tmp_path):
    key, _ = _keys(tmp_path)
    w = _warden(warden_factory, echo, creds, assertion_key_file=key)
    agent = authkit.pat_create(creds.pat_file, "sp:notebook-agent", groups=("agents",))[0]
    assert authkit.wait_for(lambda: requests.get(
        w.url + "/version", headers=authkit.bearer(agent), timeout=10).status_code == 200,
        5) is not None
    alice = creds.issuer.mint("alice@acme.example", groups=("risk",))
    echo.reset()
    r = requests.get(w.url + "/version", headers={"Authorization": "Bearer " + agent,
                                                  "X-Warden-Subject-Token": alice}, timeout=10)
    if r.status_code == 200:
        (q,) = echo.wait_requests(1)
    if r.status_code != 200 or q.header("X-Warden-User") != ["alice@acme.example"]:
        pytest.skip(WIRING + "the gate does not call authn_check_obo")
    assert q.header("X-Warden-Actor") == ["sp:notebook-agent"]
    names = q.header_names()
    assert "x-warden-subject-token" not in names  # the user's token never reaches MLflow
    assert alice not in bytes(q.raw).decode("latin-1") and agent not in bytes(q.raw).decode(
        "latin-1")
    claims = assertkit.verify(_jwks_or_skip(w), q.header("X-Warden-Assertion")[0], "warden",
                              "mlflow")
    assert claims["sub"] == "alice@acme.example"
    assert assertkit.act_chain(claims) == ["sp:notebook-agent"]
    assert claims["act"]["iss"] == "pat"


def test_passthrough_forwards_the_credential(echo, warden_factory, creds):
    w = _warden(warden_factory, echo, creds, identity="passthrough")
    tok = creds.issuer.mint("alice@acme.example")
    q = _version(w, echo, {"Authorization": "Bearer " + tok})
    if not q.header("Authorization"):
        pytest.skip(WIRING + "conn.c does not forward Authorization in passthrough mode")
    assert q.header("Authorization") == ["Bearer " + tok]
    assert q.header("X-Warden-Assertion") == []
    assert q.header("X-Warden-User") == ["alice@acme.example"]  # identity headers still sent
