"""Helpers for the authentication end-to-end tests (tests/integration/auth).

What it is for: driving the real parts the auth tests need — `wardenctl` (dev keys, minted
JWTs, personal access tokens, revocations), a throw-away redis-server, a test certificate
authority made with the `openssl` command, and a local HTTPS identity provider (OIDC discovery
and a JWKS, with per-path request counts) — plus small JWT helpers built on the standard
library (base64url, tampering, HS256 forgery).

What it owns: the temporary directories and child processes it creates (each class has a
close()/stop()). Threads: the HTTPS IdP serves on its own daemon threads; everything else runs
on the caller's thread.
"""

import base64
import collections
import hashlib
import hmac
import http.server
import json
import os
import socket
import ssl
import subprocess
import threading
import time

import conftest as base  # tests/integration/conftest.py (imported by pytest as "conftest")

WARDEN_BIN = base.WARDEN_BIN
WARDENCTL = os.environ.get("WARDENCTL_BIN") or os.path.join(os.path.dirname(WARDEN_BIN), "wardenctl")
SANITIZED = base.SANITIZED

# The route the authentication tests send their requests to: getServerInfo, which Warden's
# route table opens to every authenticated principal. It is forwarded as the client's own request
# (no look-up, no filtering), so what reaches the upstream is exactly what authentication made
# of it, whatever the user's grants (these tests' users are not admins). Authorisation is
# tested in test_enforce_*.py.
API = "/api/3.0/mlflow/server-info"


# --- wardenctl -------------------------------------------------------------------------------
def ctl(*args, stdin=None, check=True):
    """Run wardenctl; returns the CompletedProcess (text). Fails the test on a non-zero exit."""
    p = subprocess.run([WARDENCTL] + [str(a) for a in args], input=stdin, capture_output=True,
                       text=True, timeout=30)
    if check and p.returncode != 0:
        raise AssertionError("wardenctl %s failed (%d): %s %s" % (" ".join(map(str, args)),
                                                                 p.returncode, p.stdout, p.stderr))
    return p


class DevIssuer:
    """A development issuer: `wardenctl dev-key` signing key + JWKS file, tokens by `wardenctl mint`."""

    def __init__(self, directory, iss="https://dev.warden.test", audience="mlflow", alg="ES256"):
        self.dir = directory
        self.iss = iss
        self.audience = audience
        out = ctl("dev-key", "--out", directory, "--alg", alg).stdout
        self.kid = out.split("key id:", 1)[1].split()[0]
        self.key_path = os.path.join(directory, "signing-key.pem")
        self.jwks_path = os.path.join(directory, "jwks.json")
        with open(self.jwks_path) as f:
            self.jwks = json.load(f)

    def mint(self, user="alice", ttl="1h", audience=None, iss=None, kid=None, jti=None, groups=()):
        args = ["mint", "--key", self.key_path, "--issuer", iss or self.iss,
                "--audience", audience or self.audience, "--user", user, "--ttl", ttl]
        if kid:
            args += ["--kid", kid]
        if jti:
            args += ["--jti", jti]
        for g in groups:
            args += ["--group", g]
        tok = ctl(*args).stdout.strip()
        assert tok.count(".") == 2, tok
        return tok

    def issuer_section(self, **extra):
        """Body of an `[issuer NAME]` section (the conftest renders {"issuer NAME": body})."""
        sec = {"issuer": self.iss, "audiences": self.audience, "jwks_file": self.jwks_path}
        sec.update(extra)
        return sec


def pat_create(pat_file, user, ttl="1d", redis=None, groups=()):
    """`wardenctl pat create`; returns (token, id)."""
    args = ["pat", "create", "--user", user, "--ttl", ttl, "--file", pat_file]
    if redis:
        args += ["--redis", redis]
    for g in groups:
        args += ["--group", g]
    p = ctl(*args)
    token = p.stdout.strip().splitlines()[0]
    assert token.startswith("wdn_pat_"), p.stdout
    pid = p.stderr.split("created ", 1)[1].split()[0]
    return token, pid


def sha256_hex(s):
    return hashlib.sha256(s.encode() if isinstance(s, str) else s).hexdigest()


# --- JWT helpers (standard library only) ------------------------------------------------------
def b64u(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_decode(tok):
    """(header, payload) of a compact JWS, unverified."""
    h, p, _ = tok.split(".")
    return json.loads(b64u_decode(h)), json.loads(b64u_decode(p))


def jwt_unsigned(header, payload, sig=""):
    return "%s.%s.%s" % (b64u(json.dumps(header, separators=(",", ":"))),
                         b64u(json.dumps(payload, separators=(",", ":"))), sig)


def jwt_hs256(header, payload, key):
    signing = "%s.%s" % (b64u(json.dumps(header, separators=(",", ":"))),
                         b64u(json.dumps(payload, separators=(",", ":"))))
    sig = hmac.new(key, signing.encode(), hashlib.sha256).digest()
    return signing + "." + b64u(sig)


def tamper_signature(tok):
    """Flip one byte of the signature (decoded), re-encode: same length, invalid signature."""
    h, p, s = tok.split(".")
    raw = bytearray(b64u_decode(s))
    raw[len(raw) // 2] ^= 0x01
    return "%s.%s.%s" % (h, p, b64u(bytes(raw)))


def wait_for(pred, timeout, interval=0.02):
    """Poll pred() until true; returns the seconds it took, or None on timeout."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return time.monotonic() - t0
        time.sleep(interval)
    return None


# --- redis-server ----------------------------------------------------------------------------
class RedisServer:
    """A redis-server on a free loopback port, no persistence; stop() ends it."""

    def __init__(self, workdir):
        self.port = base.free_port()
        self.addr = "127.0.0.1:%d" % self.port
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", workdir],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if wait_for(lambda: self._ping(), 10) is None:
            self.stop()
            raise AssertionError("redis-server did not answer PING on %s" % self.addr)

    def _ping(self):
        try:
            return self.cmd("PING") == "PONG"
        except OSError:
            return False

    def cmd(self, *args):
        p = subprocess.run(["redis-cli", "-p", str(self.port), "--raw"] + [str(a) for a in args],
                           capture_output=True, text=True, timeout=10)
        if p.returncode != 0:
            raise OSError(p.stderr)
        return p.stdout.strip()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --- a test certificate authority (openssl command) -------------------------------------------
class TestCA:
    """A CA made by `openssl`; issue() makes leaf certificates signed by it."""

    def __init__(self, directory, name="Warden Test CA"):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.cert = os.path.join(directory, "ca.pem")
        self.key = os.path.join(directory, "ca.key")
        self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                      "-nodes", "-keyout", self.key, "-out", self.cert, "-days", "2",
                      "-subj", "/CN=" + name,
                      "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        self._n = 0

    @staticmethod
    def _openssl(*args):
        p = subprocess.run(["openssl"] + list(args), capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError("openssl %s failed: %s" % (" ".join(args), p.stderr))

    def issue(self, cn, san=None, usage="serverAuth"):
        """(cert_path, key_path) of a leaf for `cn`; san like 'DNS:localhost,IP:127.0.0.1'."""
        self._n += 1
        stem = os.path.join(self.dir, "leaf%d" % self._n)
        key, csr, crt, ext = stem + ".key", stem + ".csr", stem + ".pem", stem + ".ext"
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=%s\n" % usage)
            if san:
                f.write("subjectAltName=%s\n" % san)
        self._openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                      "-keyout", key, "-out", csr, "-subj", "/CN=" + cn)
        self._openssl("x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key,
                      "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext)
        return crt, key


# --- a local HTTPS identity provider ------------------------------------------------------------
class HttpsIdP:
    """OIDC discovery + JWKS over HTTPS on 127.0.0.1 (host name `localhost` in URLs).

    .jwks is the document served at /jwks (replace it to rotate keys); .counts[path] counts
    requests per path; .issuer is https://localhost:PORT."""

    def __init__(self, cert, key):
        self.jwks = {"keys": []}
        self.counts = collections.Counter()
        self.lock = threading.Lock()
        idp = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                with idp.lock:
                    idp.counts[path] += 1
                    if path == "/.well-known/openid-configuration":
                        doc = {"issuer": idp.issuer, "jwks_uri": idp.issuer + "/jwks",
                               "id_token_signing_alg_values_supported": ["ES256", "RS256"]}
                    elif path == "/jwks":
                        doc = idp.jwks
                    else:
                        doc = None
                body = json.dumps(doc).encode() if doc is not None else b"not found"
                self.send_response(200 if doc is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True,
                                            do_handshake_on_connect=False)
        self.port = self.httpd.server_address[1]
        self.issuer = "https://localhost:%d" % self.port
        self.discovery_url = self.issuer + "/.well-known/openid-configuration"
        self._t = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._t.start()

    def count(self, path):
        with self.lock:
            return self.counts[path]

    def set_jwks(self, doc):
        with self.lock:
            self.jwks = doc

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# --- talking to Warden --------------------------------------------------------------------------
def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def metric(w, name, **labels):
    """Value of one sample of Warden's /metrics (0 if absent)."""
    import promtext
    samples, _ = promtext.parse(w.metrics_text())
    v = promtext.value(samples, name, **labels)
    return 0.0 if v is None else v
