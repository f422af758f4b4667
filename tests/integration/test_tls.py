"""TLS listeners (config-spec.md [listener] tls_cert/tls_key): TLS 1.2+ served, bad handshakes
closed without harm, X-Forwarded-Proto https, handshake stalls bounded (security-cases L3)."""

import json
import os
import socket
import ssl
import subprocess
import time

import pytest

from conftest import SANITIZED, credentials
import httpraw
from httpraw import req, art, upload

SLACK = 3.0 if SANITIZED else 2.0


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    crt, key = str(d / "cert.pem"), str(d / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return crt, key


@pytest.fixture
def tls_warden(echo, warden_factory, cert):
    crt, key = cert
    return warden_factory(echo.url, {
        "listener": [{"address": "127.0.0.1:0", "tls_cert": crt, "tls_key": key},
                     {"address": "127.0.0.1:0"}],
        "timeouts": {"client_header": "1s"}})


def _tls_port(w):
    return int(w.listeners[0].rsplit(":", 1)[1])


def _ctx(crt, version=None):
    ctx = ssl.create_default_context(cafile=crt)
    if version:
        ctx.minimum_version = version
        ctx.maximum_version = version
    return ctx


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3], ids=["tls1.2", "tls1.3"])
def test_https_request(tls_warden, echo, cert, version):
    assert len(tls_warden.listeners) == 2
    raw = socket.create_connection(("127.0.0.1", _tls_port(tls_warden)), timeout=5)
    s = _ctx(cert[0], version).wrap_socket(raw, server_hostname="localhost")
    assert s.version() == {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]
    r = httpraw.Reader(s)
    for i in range(3):  # keep-alive over TLS
        s.sendall(req("POST", upload("tls-%d" % i), [("Content-Length", "5")], b"hello"))
        resp = r.response()
        assert resp.status == 200 and json.loads(resp.body)["target"] == upload("tls-%d" % i)
    s.close()
    reqs = echo.wait_requests(3)
    assert [q.header("X-Forwarded-Proto") for q in reqs] == [["https"]] * 3
    assert all(bytes(q.body) == b"hello" for q in reqs)


def test_plain_listener_next_to_tls(tls_warden, echo):
    port = int(tls_warden.listeners[1].rsplit(":", 1)[1])
    resp, s, r = httpraw.exchange(port, req("GET", art("plain")))
    s.close()
    assert resp.status == 200
    assert echo.wait_requests(1)[0].header("X-Forwarded-Proto") == ["http"]


def test_old_tls_refused(tls_warden, cert):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        pytest.skip("this OpenSSL cannot offer TLS 1.1")
    raw = socket.create_connection(("127.0.0.1", _tls_port(tls_warden)), timeout=5)
    with pytest.raises((ssl.SSLError, ConnectionResetError, OSError)):
        ctx.wrap_socket(raw).sendall(req("GET", art("old")))
    raw.close()
    assert tls_warden.alive()


@pytest.mark.parametrize("junk", [
    req("GET", art("plaintext-on-tls-port")),
    b"\x16\x03\x01\x00\x05hello",  # a record header announcing a ClientHello, then garbage
    bytes(range(256)) * 8,
    b"\x16\x03\x03\xff\xff" + b"A" * 100,  # oversized record length
], ids=["plaintext", "bad-hello", "binary", "oversized-record"])
def test_bad_handshakes_closed(tls_warden, echo, cert, junk):
    s = socket.create_connection(("127.0.0.1", _tls_port(tls_warden)), timeout=1 + SLACK)
    try:
        s.sendall(junk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    data = b""
    try:
        while True:
            d = s.recv(4096)
            if not d:
                break
            data += d
    except ConnectionResetError:
        pass
    except socket.timeout:
        pytest.fail("connection still open after a bad handshake")
    s.close()
    assert b"HTTP/1.1 200" not in data
    # still serving
    raw = socket.create_connection(("127.0.0.1", _tls_port(tls_warden)), timeout=5)
    t = _ctx(cert[0]).wrap_socket(raw, server_hostname="localhost")
    t.sendall(req("GET", art("after-junk")))
    assert httpraw.Reader(t).response().status == 200
    t.close()
    assert [q.target for q in echo.requests()] == [art("after-junk")]


def test_stalled_handshake_closed(tls_warden):
    """L3: a ClientHello fragment then silence is closed by the header/handshake deadline."""
    s = socket.create_connection(("127.0.0.1", _tls_port(tls_warden)), timeout=1 + SLACK + 2)
    s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # first bytes of a ClientHello
    t0 = time.time()
    try:
        while s.recv(4096):
            pass
    except ConnectionResetError:
        pass
    except socket.timeout:
        pytest.fail("stalled TLS handshake not closed")
    assert time.time() - t0 <= 1 + SLACK + 1
    s.close()


def test_tls_config_errors(tmp_path, cert):
    from test_config import run, ERR_RE
    crt, key = cert
    bad_key = tmp_path / "bad.pem"
    bad_key.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    other = tmp_path / "other.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-out", str(other)], check=True, capture_output=True)
    for k in (str(bad_key), str(other)):  # unreadable key; key that does not match the cert
        conf = tmp_path / "tls.conf"
        conf.write_text("[listener]\naddress = 127.0.0.1:0\ntls_cert = %s\ntls_key = %s\n"
                        "[upstream]\nurl = http://127.0.0.1:5000\n[auth]\npat_file = %s\n"
                        % (crt, k, credentials()[1]))
        rc, out = run("--check", str(conf))
        assert rc == 1, (k, out)
        lines = {int(m.group("line")) for m in ERR_RE.finditer(out)}
        assert lines & {1, 3, 4}, "want an error on the [listener] or tls_cert/tls_key line: %s" % out
        assert os.path.exists(crt)
