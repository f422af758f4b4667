"""OIDC discovery over HTTPS with CA verification (issue 3, test 4), against a local HTTPS
identity provider (authkit.HttpsIdP: Python http.server + ssl, certificate from a test CA made
with `openssl`): tokens signed by the IdP's key are accepted, key rotation is followed with one
refetch, a flood of unknown kids costs the IdP a bounded number of JWKS fetches, and an IdP whose
certificate the configured CA did not sign is refused."""

import concurrent.futures
import os
import secrets
import time

import pytest
import requests

from . import authkit
from .authkit import bearer

API = authkit.API
JWKS = "/jwks"
DISCOVERY = "/.well-known/openid-configuration"


@pytest.fixture(scope="module")
def idp_cert(test_ca):
    return test_ca.issue("localhost", "DNS:localhost,IP:127.0.0.1")


@pytest.fixture
def idp(idp_cert):
    s = authkit.HttpsIdP(*idp_cert)
    yield s
    s.close()


def oidc_warden(warden_factory, echo, creds, idp, ca_file, **issuer):
    sec = {"issuer": idp.issuer, "audiences": "mlflow", "discovery_url": idp.discovery_url,
           "ca_file": ca_file, "fetch_timeout": "3s"}
    sec.update(issuer)
    return warden_factory(echo.url, {"auth": {"pat_file": creds.pat_file}, "issuer idp": sec})


def get(w, tok):
    return requests.get(w.url + API, headers=bearer(tok), timeout=15)


def assert_unknown_kid(r):
    assert r.status_code == 401, (r.status_code, r.text)
    assert r.headers["WWW-Authenticate"] == (
        'Bearer realm="warden", error="invalid_token", error_description="unknown key id"')
    assert r.json() == {"error_code": "UNAUTHENTICATED", "message": "Invalid credentials: unknown key id"}


def test_discovery_and_rotation(warden_factory, echo, creds, idp, test_ca, tmp_path):
    k1 = authkit.DevIssuer(str(tmp_path / "k1"), iss=idp.issuer)
    k2 = authkit.DevIssuer(str(tmp_path / "k2"), iss=idp.issuer, alg="RS256")
    idp.set_jwks(k1.jwks)
    w = oidc_warden(warden_factory, echo, creds, idp, test_ca.cert)
    # Start-up fetched the discovery document and the key set once each.
    assert (idp.count(DISCOVERY), idp.count(JWKS)) == (1, 1)
    t1 = k1.mint("alice")
    assert get(w, t1).status_code == 200
    assert echo.wait_requests(1)[0].target == API
    # Rotation: the IdP now publishes only the new key; a token with the new kid makes Warden
    # refetch once (the request waits for it) and is accepted.
    idp.set_jwks(k2.jwks)
    t2 = k2.mint("bob")
    assert authkit.jwt_decode(t2)[0]["kid"] == k2.kid != k1.kid
    r = get(w, t2)
    assert r.status_code == 200, r.text
    assert idp.count(JWKS) == 2
    assert "auth: issuer idp: unknown key id seen, refetching keys" in w.stderr
    assert authkit.metric(w, "warden_auth_key_refetches_total") == 1
    for _ in range(5):
        assert get(w, t2).status_code == 200
    # The old key is gone from the set: its (previously cached) token is refused, with no
    # further fetch inside refetch_min_interval.
    assert_unknown_kid(get(w, t1))
    assert idp.count(JWKS) == 2


def test_unknown_kid_flood_is_rate_limited(warden_factory, echo, creds, idp, test_ca, tmp_path):
    k1 = authkit.DevIssuer(str(tmp_path / "k1"), iss=idp.issuer)
    idp.set_jwks(k1.jwks)
    w = oidc_warden(warden_factory, echo, creds, idp, test_ca.cert, refetch_min_interval="30s")
    good = k1.mint("alice")
    hdr, pl = authkit.jwt_decode(good)
    sig = good.split(".")[2]
    toks = [authkit.jwt_unsigned(dict(hdr, kid=secrets.token_hex(8)), pl, sig) for _ in range(200)]
    fetches0 = idp.count(JWKS) + idp.count(DISCOVERY)
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        results = list(ex.map(lambda t: get(w, t), toks))
    took = time.monotonic() - t0
    for r in results:
        assert_unknown_kid(r)
    fetched = idp.count(JWKS) + idp.count(DISCOVERY) - fetches0
    refetches = authkit.metric(w, "warden_auth_key_refetches_total")
    authkit.base.record_figure("auth: 200 random-kid requests in %.2f s caused %d IdP fetches "
                               "(%d refetch)" % (took, fetched, refetches))
    # One refetch (discovery + JWKS) for the whole flood: single-flight, rate limited.
    assert refetches == 1
    assert idp.count(JWKS) - 1 == 1 and fetched <= 2
    assert echo.count() == 0
    assert get(w, good).status_code == 200  # the real key still works


def test_untrusted_idp_certificate(warden_factory, echo, creds, test_ca, other_ca, tmp_path):
    cert = other_ca.issue("localhost", "DNS:localhost,IP:127.0.0.1")
    bad = authkit.HttpsIdP(*cert)
    try:
        k1 = authkit.DevIssuer(str(tmp_path / "k1"), iss=bad.issuer)
        bad.set_jwks(k1.jwks)
        w = oidc_warden(warden_factory, echo, creds, bad, test_ca.cert, refetch_min_interval="1s")
        tok = k1.mint("alice")
        assert_unknown_kid(get(w, tok))
        time.sleep(1.1)
        assert_unknown_kid(get(w, tok))
        # No HTTP request ever completed on the untrusted connection.
        assert (bad.count(DISCOVERY), bad.count(JWKS)) == (0, 0)
        err = w.stderr
        assert "issuer idp: discovery: TLS handshake with localhost failed" in err, err[-2000:]
        assert echo.count() == 0
    finally:
        bad.close()


def test_idp_host_name_checked(warden_factory, echo, creds, test_ca, tmp_path):
    """A certificate from the right CA but for another host name is refused too."""
    cert = test_ca.issue("idp.example.org", "DNS:idp.example.org")
    bad = authkit.HttpsIdP(*cert)
    try:
        k1 = authkit.DevIssuer(str(tmp_path / "k1"), iss=bad.issuer)
        bad.set_jwks(k1.jwks)
        w = oidc_warden(warden_factory, echo, creds, bad, test_ca.cert)
        assert_unknown_kid(get(w, k1.mint("alice")))
        assert (bad.count(DISCOVERY), bad.count(JWKS)) == (0, 0)
        assert "issuer idp: discovery: TLS handshake with localhost failed" in w.stderr
    finally:
        bad.close()
