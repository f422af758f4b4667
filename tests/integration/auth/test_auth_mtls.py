"""Client-certificate authentication (issue 3, test 6): a TLS listener with tls_client_ca, [auth]
methods including mtls. A certificate from the configured CA authenticates (the request reaches
the upstream, without the certificate's user being spoofable by headers); without one the
request is 401 (tls_client_cert = optional) or the handshake fails (required); a certificate
from another CA fails the handshake."""

import json
import socket
import ssl

import pytest

import httpraw
from . import authkit

API = authkit.API


@pytest.fixture(scope="module")
def pki(test_ca, other_ca):
    server = test_ca.issue("localhost", "DNS:localhost,IP:127.0.0.1")
    alice = test_ca.issue("alice", "email:alice@example.org", usage="clientAuth")
    mallory = other_ca.issue("mallory", "email:mallory@example.org", usage="clientAuth")
    return {"ca": test_ca.cert, "server": server, "alice": alice, "mallory": mallory}


def mtls_warden(auth_warden, pki, mode):
    crt, key = pki["server"]
    return auth_warden(auth={"methods": "mtls, pat, jwt", "mtls_groups": "cert-users"},
                       listener=[{"address": "127.0.0.1:0", "tls_cert": crt, "tls_key": key,
                                  "tls_client_ca": pki["ca"], "tls_client_cert": mode}])


def tls_request(w, pki, client=None, headers=()):
    """One GET over TLS; returns the Response, or the exception the TLS layer raised."""
    ctx = ssl.create_default_context(cafile=pki["ca"])
    if client:
        ctx.load_cert_chain(*pki[client])
    raw = socket.create_connection(("127.0.0.1", w.port), timeout=5)
    try:
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        s.sendall(httpraw.req("GET", API, list(headers), auth=False))
        return httpraw.Reader(s).response()
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError, httpraw.Closed) as e:
        return e
    finally:
        raw.close()


@pytest.mark.parametrize("mode", ["optional", "required"])
def test_client_certificate_authenticates(auth_warden, echo, pki, mode):
    w = mtls_warden(auth_warden, pki, mode)
    r = tls_request(w, pki, "alice")
    assert isinstance(r, httpraw.Response) and r.status == 200, r
    assert json.loads(r.body)["target"] == API
    q = echo.wait_requests(1)
    assert len(q) == 1 and q[0].target == API
    assert q[0].header("X-Forwarded-Proto") == ["https"]


def test_no_certificate_optional_is_401(auth_warden, echo, pki):
    w = mtls_warden(auth_warden, pki, "optional")
    r = tls_request(w, pki, None)
    assert isinstance(r, httpraw.Response), r
    assert r.status == 401
    # methods = mtls, pat, jwt: no Basic method, so no Basic challenge.
    assert r.header("WWW-Authenticate") == 'Bearer realm="warden"'
    assert r.json()["error_code"] == "UNAUTHENTICATED"
    # A bearer credential still works on the same listener.
    tok, _ = authkit.pat_create(w.sections["auth"]["pat_file"], "bob")
    assert authkit.wait_for(lambda: getattr(tls_request(w, pki, None, [("Authorization", "Bearer " + tok)]),
                                            "status", 0) == 200, 5) is not None
    assert [q.target for q in echo.requests()] == [API]


def test_no_certificate_required_fails_handshake(auth_warden, echo, pki):
    w = mtls_warden(auth_warden, pki, "required")
    r = tls_request(w, pki, None)
    assert not isinstance(r, httpraw.Response), "answered without a client certificate: %r" % r
    assert echo.count() == 0


@pytest.mark.parametrize("mode", ["optional", "required"])
def test_certificate_from_another_ca_fails_handshake(auth_warden, echo, pki, mode):
    w = mtls_warden(auth_warden, pki, mode)
    r = tls_request(w, pki, "mallory")
    assert not isinstance(r, httpraw.Response), "answered a foreign certificate: %r" % r
    assert echo.count() == 0


def test_revoked_certificate(auth_warden, echo, pki, creds):
    """A client certificate is revocable by the SHA-256 of its DER like a token."""
    w = mtls_warden(auth_warden, pki, "optional")
    assert tls_request(w, pki, "alice").status == 200
    der = ssl.PEM_cert_to_DER_cert(open(pki["alice"][0]).read())
    authkit.ctl("revoke", "--token-hash", authkit.sha256_hex(der), "--file", creds.revocation_file)
    assert authkit.wait_for(lambda: tls_request(w, pki, "alice").status == 401, 5) is not None
    n = echo.count()
    r = tls_request(w, pki, "alice")
    assert r.header("WWW-Authenticate") == (
        'Bearer realm="warden", error="invalid_token", error_description="certificate revoked"')
    assert echo.count() == n
