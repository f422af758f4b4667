"""Authentication failures end to end (issue 3): what a client without a valid credential gets.

Every refused request must be answered by Warden itself — 401 with the MLflow-shaped JSON body
and a WWW-Authenticate challenge naming the precise reason — and never reach the upstream; the
reason never echoes the token. Also: the client's Authorization header is never forwarded, two
Authorization headers are refused (400), and X1 of security-cases §3.9 (Expect: 100-continue
without a token: 401, no 100 Continue, connection closed, nothing upstream).
"""

import json
import os
import socket
import subprocess
import time

import pytest
import requests

import httpraw
from . import authkit
from .authkit import bearer

NO_CRED_MESSAGE = ("Authentication required: send Authorization: Bearer <token> (a JWT from your "
                   "identity provider or a personal access token), or Basic credentials with a "
                   "token as the password")
API = authkit.API


def assert_invalid(resp, description, token=None):
    """Exact 401 for an invalid credential; the token (and its signature) never echoed."""
    assert resp.status_code == 401, (resp.status_code, resp.text)
    assert resp.headers["WWW-Authenticate"] == (
        'Bearer realm="warden", error="invalid_token", error_description="%s"' % description)
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.json() == {"error_code": "UNAUTHENTICATED",
                           "message": "Invalid credentials: " + description}
    if token:
        for part in [token] + [p for p in token.split(".") if len(p) > 8]:
            assert part not in resp.text and part not in resp.headers["WWW-Authenticate"]


@pytest.fixture
def w(auth_warden):
    return auth_warden(auth={"leeway": "0s"})


def get(w, token=None, headers=None, path=API):
    h = dict(headers or {})
    if token is not None:
        h.update(bearer(token))
    return requests.get(w.url + path, headers=h, timeout=10)


def await_accepted(w, tok, timeout=5):
    """A PAT written after start is picked up within reload_interval (200ms here)."""
    took = authkit.wait_for(lambda: get(w, tok).status_code == 200, timeout)
    assert took is not None, "token not accepted within %ss" % timeout
    return took


def test_no_credential(w, echo):
    r = get(w)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="warden", Basic realm="warden"'
    assert r.json() == {"error_code": "UNAUTHENTICATED", "message": NO_CRED_MESSAGE}
    # A body-less refusal keeps the connection usable: the next request on it authenticates.
    s = requests.Session()
    assert s.get(w.url + API, timeout=5).status_code == 401
    tok = authkit.pat_create(w.sections["auth"]["pat_file"], "alice")[0]
    await_accepted(w, tok)
    echo.reset()
    assert s.get(w.url + API, headers=bearer(tok), timeout=5).status_code == 200
    assert [q.target for q in echo.requests()] == [API]


def test_valid_jwt_and_pat_reach_upstream_without_authorization(w, echo, creds):
    jwt = creds.issuer.mint("alice")
    pat = authkit.pat_create(creds.pat_file, "bob")[0]
    basic = requests.auth.HTTPBasicAuth("bob", pat)
    await_accepted(w, pat)
    echo.reset()
    assert get(w, jwt).status_code == 200
    assert get(w, pat).status_code == 200
    assert requests.get(w.url + API, auth=basic, timeout=10).status_code == 200
    reqs = echo.wait_requests(3)
    assert len(reqs) == 3
    for q in reqs:
        assert q.header("Authorization") == [], q.headers  # the credential stays at Warden
        assert jwt.encode() not in bytes(q.raw) and pat.encode() not in bytes(q.raw)


def test_expired(w, echo, creds):
    tok = creds.issuer.mint("alice", ttl="1s")
    exp = authkit.jwt_decode(tok)[1]["exp"]
    while time.time() < exp + 0.05:  # leeway = 0s: expired from exp on
        time.sleep(0.05)
    assert_invalid(get(w, tok), "token expired at %s" % time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                     time.gmtime(exp)), tok)
    assert echo.count() == 0


def test_expired_after_being_cached(w, echo, creds):
    """A cached allow does not outlive the token's exp (+ leeway)."""
    tok = creds.issuer.mint("alice", ttl="2s")
    exp = authkit.jwt_decode(tok)[1]["exp"]
    assert get(w, tok).status_code == 200
    assert get(w, tok).status_code == 200
    while time.time() < exp + 0.05:
        time.sleep(0.05)
    assert_invalid(get(w, tok), "token expired at %s" % time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                     time.gmtime(exp)), tok)
    assert echo.count() == 2


@pytest.mark.parametrize("case", ["wrong-audience", "unknown-issuer", "issuer-trailing-slash",
                                  "bad-signature", "unknown-kid"])
def test_invalid_jwt(w, echo, creds, case):
    iss = creds.issuer
    tok, desc = {
        "wrong-audience": lambda: (iss.mint(audience="not-mlflow"), "audience not accepted"),
        "unknown-issuer": lambda: (iss.mint(iss="https://evil.example"), "unknown issuer"),
        "issuer-trailing-slash": lambda: (iss.mint(iss=iss.iss + "/"), "unknown issuer"),
        "bad-signature": lambda: (authkit.tamper_signature(iss.mint()), "invalid token signature"),
        "unknown-kid": lambda: (iss.mint(kid="no-such-kid"), "unknown key id"),
    }[case]()
    assert_invalid(get(w, tok), desc, tok)
    assert echo.count() == 0


def test_alg_none_and_unsigned(w, echo, creds):
    good = creds.issuer.mint("alice")
    hdr, pl = authkit.jwt_decode(good)
    sig = good.split(".")[2]
    for alg in ("none", "None", "NONE"):
        tok = authkit.jwt_unsigned(dict(hdr, alg=alg), pl, sig)
        assert_invalid(get(w, tok), "unsigned tokens (alg none) are not accepted", tok)
        tok = authkit.jwt_unsigned(dict(hdr, alg=alg), pl, "")
        assert_invalid(get(w, tok), "token is not signed", tok)
    stripped = good.rsplit(".", 1)[0] + "."
    assert_invalid(get(w, stripped), "token is not signed", stripped)
    assert echo.count() == 0


def test_hs256_signed_with_the_public_key(auth_warden, echo, tmp_path):
    """RS->HS confusion (security-cases J2): HS256 tokens whose HMAC key is the issuer's own
    public key material (PEM with and without newline, DER, the JWK's modulus) are refused."""
    rsa = authkit.DevIssuer(str(tmp_path / "rsa"), iss="https://rsa.warden.test", alg="RS256")
    w = auth_warden(**{"issuer dev": rsa.issuer_section()})
    pem = subprocess.run(["openssl", "pkey", "-in", rsa.key_path, "-pubout"], check=True,
                         capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-in", rsa.key_path, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    jwk = rsa.jwks["keys"][0]
    good = rsa.mint("alice")
    hdr, pl = authkit.jwt_decode(good)
    assert hdr["alg"] == "RS256" and hdr["kid"] == jwk["kid"]
    assert get(w, good).status_code == 200
    keys = [pem, pem.rstrip(b"\n"), der, authkit.b64u_decode(jwk["n"]),
            json.dumps(jwk).encode(), json.dumps(rsa.jwks).encode(), b""]
    for key in keys:
        tok = authkit.jwt_hs256(dict(hdr, alg="HS256"), pl, key)
        assert_invalid(get(w, tok), "algorithm HS256 not accepted for this issuer", tok)
    assert echo.count() == 1


def test_oversize_token(w, echo, creds):
    good = creds.issuer.mint("alice")
    hdr, pl = authkit.jwt_decode(good)
    big = authkit.jwt_unsigned(hdr, dict(pl, pad="x" * 9000), good.split(".")[2])
    assert len(big) > 8192
    assert_invalid(get(w, big), "token too large", big)
    huge = "A" * 20000
    assert_invalid(get(w, huge), "token too large", huge)
    assert echo.count() == 0


def test_revoked_pat(w, echo, creds):
    tok, pid = authkit.pat_create(creds.pat_file, "bob")
    await_accepted(w, tok)
    echo.reset()
    authkit.ctl("pat", "revoke", pid, "--file", creds.pat_file)
    assert authkit.wait_for(lambda: get(w, tok).status_code == 401, 5) is not None
    echo.reset()
    assert_invalid(get(w, tok), "token revoked", tok)
    # A never-known PAT and a malformed one.
    assert_invalid(get(w, "wdn_pat_" + "A" * 38), "malformed personal access token (bad length or "
                   "checksum)")
    other = authkit.pat_create(os.path.join(creds.dir, "elsewhere.jsonl"), "carol")[0]
    assert_invalid(get(w, other), "unknown personal access token", other)
    assert echo.count() == 0


def test_revoked_jwt_by_jti(w, echo, creds):
    tok = creds.issuer.mint("alice", jti="jti-to-revoke")
    keep = creds.issuer.mint("alice", jti="jti-kept")
    assert get(w, tok).status_code == 200
    authkit.ctl("revoke", "--jti", "jti-to-revoke", "--file", creds.revocation_file)
    assert authkit.wait_for(lambda: get(w, tok).status_code == 401, 5) is not None
    assert_invalid(get(w, tok), "token revoked", tok)
    assert get(w, keep).status_code == 200
    # A fresh token with the revoked jti is refused on first sight too.
    again = creds.issuer.mint("bob", jti="jti-to-revoke")
    assert_invalid(get(w, again), "token revoked", again)


def test_two_authorization_headers(w, echo, creds):
    tok = creds.issuer.mint("alice")
    for second in ("Bearer " + tok, "Bearer other", "Basic Zm9vOmJhcg=="):
        data = httpraw.req("GET", API, [("Authorization", "Bearer " + tok),
                                        ("Authorization", second)], auth=False)
        resp, s, r = httpraw.exchange(w.port, data)
        assert resp.status == 400, resp
        assert resp.json() == {"error_code": "BAD_REQUEST",
                               "message": "repeated authorization header"}
        assert tok.encode() not in resp.raw
        httpraw.assert_closed(s, r)
        s.close()
    assert echo.count() == 0


def test_expect_100_continue_without_token(w, echo):
    """security-cases X1: no 100 Continue, 401, connection closed, upstream saw nothing."""
    data = httpraw.req("POST", httpraw.upload(), [
        ("Expect", "100-continue"), ("Content-Type", "application/octet-stream"),
        ("Content-Length", str(10 * 1024 ** 3))], auth=False)
    s = httpraw.connect(w.port)
    t0 = time.monotonic()
    s.sendall(data)
    r = httpraw.Reader(s)
    resp = r.response(method="POST", keep_interim=True)
    assert time.monotonic() - t0 < 5
    assert resp.status == 401, resp  # the first thing on the wire is the 401, not a 100
    assert b"100 Continue" not in resp.raw
    assert resp.header("Connection") == "close"
    assert resp.header("WWW-Authenticate") == 'Bearer realm="warden", Basic realm="warden"'
    assert resp.json() == {"error_code": "UNAUTHENTICATED", "message": NO_CRED_MESSAGE}
    # Closed without waiting for (or reading) the 10 GB.
    s.settimeout(5)
    deadline = time.monotonic() + 5
    rest = b""
    closed = False
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            closed = True
            break
        if not chunk:
            closed = True
            break
        rest += chunk
    s.close()
    assert closed and rest == b"", rest[:200]
    time.sleep(0.2)
    assert echo.count() == 0 and echo.connections() == 0 and echo.total_bytes() == 0
