"""Helpers for the passthrough test against MLflow's own basic-auth app (issue 7).

What it is for: the real parts of tests/integration/auth/test_passthrough_basic_auth.py —

  * BasicAuthMlflow: a real MLflow tracking server started with `--app-name basic-auth` in a
    temporary directory of its own (tracking and auth SQLite databases, proxied artifacts), an
    auth ini with a known admin password and `default_permission = NO_PERMISSIONS`, so that
    MLflow's own authorisation is real: a user sees only what MLflow granted them (the creator
    of an experiment gets MANAGE on it). Admin helpers talk to MLflow directly (not through
    Warden): create users, grant and read permissions, look experiments up.
  * Tap: a recording TCP relay put between Warden and MLflow. It forwards bytes unchanged both
    ways and parses the request heads Warden sends (Content-Length and chunked bodies are
    skipped), recording method, target, Authorization and User-Agent of each. It is the
    counter that shows which credential each upstream request carried and that a request
    Warden denied never reached MLflow.
  * pat_create(): a Warden personal access token made with `wardenctl pat create`.
  * User: one person with one credential, `Authorization: Basic base64(user:PAT)`, accepted by
    Warden (Basic with a PAT as the password) and by MLflow (the MLflow user was created with
    that PAT as its password). `.c` is an MlflowClient whose calls run with
    MLFLOW_TRACKING_USERNAME/PASSWORD set to it; `.get/.post` send raw requests.

What it owns: the MLflow process group and its directory, the tap's listening socket and relay
threads (each class has stop()/close()). Threads: the tap relays on daemon threads (two per
connection) and appends records under a lock; everything else runs on the caller's thread.
"""

import base64
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import threading
import time

import requests

import conftest as base  # tests/integration/conftest.py (imported by pytest as "conftest")

os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
os.environ.pop("MLFLOW_TRACKING_TOKEN", None)

from mlflow import MlflowClient  # noqa: E402

WARDENCTL = base.WARDENCTL_BIN
ADMIN_USER = "mlflow-admin"


def basic(user, password):
    """The value of an `Authorization: Basic` header."""
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def basic_user(authorization):
    """The user name inside a Basic Authorization value; None for anything else."""
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        return base64.b64decode(authorization[6:].strip()).decode().split(":", 1)[0]
    except (ValueError, UnicodeDecodeError):
        return None


def pat_create(pat_file, user, groups):
    """A Warden personal access token for `user` with `groups` (appended to pat_file)."""
    args = [WARDENCTL, "pat", "create", "--user", user, "--ttl", "never", "--file", pat_file]
    for g in groups:
        args += ["--group", g]
    p = subprocess.run(args, capture_output=True, text=True, timeout=30)
    tok = p.stdout.strip().splitlines()[0] if p.returncode == 0 and p.stdout.strip() else ""
    if not tok:
        raise AssertionError("wardenctl pat create failed: %s %s" % (p.stdout, p.stderr))
    return tok


# --- MLflow with its basic-auth app -----------------------------------------------------------
class BasicAuthMlflow:
    """`mlflow server --app-name basic-auth` on a free port, in `workdir`."""

    def __init__(self, workdir):
        self.dir = workdir
        self.port = base.free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.admin_password = "adm-" + secrets.token_urlsafe(18)
        self.admin_auth = basic(ADMIN_USER, self.admin_password)
        self.log_path = os.path.join(workdir, "mlflow-server.log")
        self.ini_path = os.path.join(workdir, "basic_auth.ini")
        self.proc = None
        with open(self.ini_path, "w") as f:
            f.write("[mlflow]\n"
                    "default_permission = NO_PERMISSIONS\n"
                    "database_uri = sqlite:///%s/basic_auth.db\n"
                    "admin_username = %s\n"
                    "admin_password = %s\n"
                    "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
                    "grant_default_workspace_access = false\n"
                    # successful password checks cached (PBKDF2 on every request is slow on a
                    # busy machine); a wrong password is still checked every time
                    "auth_cache_ttl_seconds = 600\n"
                    % (workdir, ADMIN_USER, self.admin_password))

    def start(self, timeout=240):
        mlflow = os.path.join(base.VENV_BIN, "mlflow")
        env = dict(os.environ)
        for k in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD",
                  "MLFLOW_TRACKING_TOKEN", "MLFLOW_AUTH_ADMIN_USERNAME", "MLFLOW_AUTH_ADMIN_PASSWORD"):
            env.pop(k, None)
        env["MLFLOW_AUTH_CONFIG_PATH"] = self.ini_path
        env["MLFLOW_FLASK_SERVER_SECRET_KEY"] = secrets.token_hex(24)
        env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"  # no job runner: quicker start/stop
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [mlflow, "server", "--app-name", "basic-auth", "--host", "127.0.0.1",
             "--port", str(self.port), "--backend-store-uri", "sqlite:///%s/mlflow.db" % self.dir,
             "--serve-artifacts", "--artifacts-destination", os.path.join(self.dir, "artifacts"),
             "--workers", "1"],
            cwd=self.dir, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log, env=env,
            start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("mlflow basic-auth server exited early:\n" + self.log_tail())
            try:
                # /health is open; an admin call proves the auth app is up and knows the admin
                if requests.get(self.url + "/health", timeout=2).status_code == 200 and \
                        self.admin("GET", "/api/2.0/mlflow/users/get",
                                   params={"username": ADMIN_USER}).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.5)
        self.stop()
        raise AssertionError("mlflow basic-auth server not ready after %ss:\n%s"
                             % (timeout, self.log_tail()))

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self):
        return self.log_text()[-4000:]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # uvicorn runs worker children
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc:
            self._log.close()

    # direct calls as MLflow's admin (never through Warden)
    def admin(self, method, path, **kw):
        kw.setdefault("timeout", 60)
        h = {"Authorization": self.admin_auth, "Connection": "close"}
        h.update(kw.pop("headers", {}))
        return requests.request(method, self.url + path, headers=h, **kw)

    def admin_ok(self, method, path, **kw):
        r = self.admin(method, path, **kw)
        assert r.status_code == 200, "MLflow admin %s %s: %s %r" % (method, path, r.status_code,
                                                                     r.text[:400])
        return r.json()

    def create_user(self, username, password):
        return self.admin_ok("POST", "/api/2.0/mlflow/users/create",
                             json={"username": username, "password": password})

    def create_experiment(self, name):
        return self.admin_ok("POST", "/api/2.0/mlflow/experiments/create",
                             json={"name": name})["experiment_id"]

    def grant(self, username, experiment_id, permission):
        return self.admin_ok("POST", "/api/3.0/mlflow/users/permissions/grant",
                             json={"username": username, "resource_type": "experiment",
                                   "resource_id": str(experiment_id), "permission": permission})

    def permission(self, username, experiment_id):
        """MLflow's effective permission of `username` on an experiment (e.g. MANAGE)."""
        return self.admin_ok("GET", "/api/3.0/mlflow/users/permissions/get",
                             params={"username": username, "resource_type": "experiment",
                                     "resource_id": str(experiment_id)})["permission"]

    def grants(self, username):
        """Every grant MLflow holds for `username`: [{resource_type, resource_pattern, permission}]."""
        return self.admin_ok("GET", "/api/3.0/mlflow/users/permissions/list",
                             params={"username": username})["permissions"]

    def experiment_by_name(self, name):
        """The experiment as MLflow's admin sees it, or None."""
        r = self.admin("GET", "/api/2.0/mlflow/experiments/get-by-name",
                       params={"experiment_name": name})
        if r.status_code == 404:
            return None
        assert r.status_code == 200, "%s %r" % (r.status_code, r.text[:400])
        return r.json()["experiment"]


# --- the recording relay --------------------------------------------------------------------
class _HeadParser:
    """Finds the request heads in one client->server byte stream (HTTP/1.1 framing)."""

    def __init__(self, on_head):
        self.buf = b""
        self.state = "head"
        self.left = 0
        self.on_head = on_head

    def feed(self, data):
        self.buf += data
        while True:
            if self.state == "head":
                end = self.buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                head, self.buf = self.buf[:end].decode("latin-1"), self.buf[end + 4:]
                lines = head.split("\r\n")
                parts = lines[0].split(" ")
                hdrs = {}
                for line in lines[1:]:
                    k, _, v = line.partition(":")
                    hdrs.setdefault(k.strip().lower(), []).append(v.strip())
                self.on_head(parts[0], parts[1] if len(parts) > 1 else "", hdrs)
                te = ",".join(hdrs.get("transfer-encoding", [])).lower()
                if "chunked" in te:
                    self.state = "chunk-size"
                else:
                    self.left = int((hdrs.get("content-length") or ["0"])[0] or 0)
                    self.state = "body"
            elif self.state == "body":
                take = min(self.left, len(self.buf))
                self.buf, self.left = self.buf[take:], self.left - take
                if self.left:
                    return
                self.state = "head"
            elif self.state == "chunk-size":
                end = self.buf.find(b"\r\n")
                if end < 0:
                    return
                size = int(self.buf[:end].split(b";")[0], 16)
                self.buf = self.buf[end + 2:]
                if size == 0:
                    self.state = "trailers"
                else:
                    self.left = size + 2  # data and its CRLF
                    self.state = "chunk-data"
            elif self.state == "chunk-data":
                take = min(self.left, len(self.buf))
                self.buf, self.left = self.buf[take:], self.left - take
                if self.left:
                    return
                self.state = "chunk-size"
            elif self.state == "trailers":
                end = self.buf.find(b"\r\n")
                if end < 0:
                    return
                line, self.buf = self.buf[:end], self.buf[end + 2:]
                if not line:
                    self.state = "head"


class Tap:
    """A relay on a free loopback port to `upstream_port`; records every request head."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.requests = []
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        self.port = self._sock.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._closed:
            try:
                c, _ = self._sock.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
                u.settimeout(None)
            except OSError:
                c.close()
                continue
            parser = _HeadParser(self._record)
            threading.Thread(target=self._pump, args=(c, u, parser), daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c, None), daemon=True).start()

    def _record(self, method, target, hdrs):
        auth = hdrs.get("authorization", [])
        with self._lock:
            self.requests.append({
                "method": method, "target": target,
                "path": target.split("?", 1)[0],
                "authorization": auth[0] if len(auth) == 1 else (auth or None),
                "user_agent": (hdrs.get("user-agent") or [""])[0],
                "assertion": bool(hdrs.get("x-warden-assertion")),
                "warden_user": (hdrs.get("x-warden-user") or [None])[0],
                "warden_headers": sorted(k for k in hdrs if k.startswith("x-warden-")),
            })

    @staticmethod
    def _pump(src, dst, parser):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if parser:
                    parser.feed(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
                try:
                    s.shutdown(how)
                except OSError:
                    pass

    def mark(self):
        with self._lock:
            return len(self.requests)

    def since(self, mark):
        with self._lock:
            return list(self.requests[mark:])

    def close(self):
        self._closed = True
        try:
            self._sock.close()
        except OSError:
            pass


# --- one user, one credential ------------------------------------------------------------------
_env_lock = threading.RLock()


class _Client:
    """MlflowClient whose calls run with the user's Basic credential in the environment."""

    def __init__(self, who):
        self._who = who
        self._c = MlflowClient(tracking_uri=who.url, registry_uri=who.url)

    def __getattr__(self, name):
        a = getattr(self._c, name)
        if not callable(a):
            return a

        def call(*args, **kw):
            with self._who.env():
                return a(*args, **kw)

        return call


class User:
    """`name` as seen through the Warden at `url`, with the password `password` (the PAT)."""

    def __init__(self, url, name, password):
        self.url = url
        self.name = name
        self.password = password
        self.authorization = basic(name, password)
        self.c = _Client(self)

    @contextlib.contextmanager
    def env(self):
        keys = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN")
        with _env_lock:
            saved = {k: os.environ.get(k) for k in keys}
            os.environ["MLFLOW_TRACKING_USERNAME"] = self.name
            os.environ["MLFLOW_TRACKING_PASSWORD"] = self.password
            os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
            try:
                yield self
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v

    def req(self, method, path, **kw):
        h = {"Authorization": self.authorization}
        h.update(kw.pop("headers", {}))
        kw.setdefault("timeout", 60)
        return requests.request(method, self.url + path, headers=h, **kw)

    def get(self, path, params=None, **kw):
        return self.req("GET", path, params=params, **kw)

    def post(self, path, body=None, **kw):
        return self.req("POST", path, json=body, **kw)
