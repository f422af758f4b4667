"""pytest fixtures for Warden's integration tests.

What it is for: starting the real parts the tests drive — a real MLflow tracking server (the
pinned version from tests/requirements.txt, SQLite backend, proxied artifacts), the echo
upstream (echo_upstream.py) and Warden itself (the binary named by $WARDEN_BIN, default
build/warden) with a configuration written per test — and tearing them down, checking on the
way out that Warden exited 0 and that its stderr holds no sanitizer report.

Environment:
  WARDEN_BIN        the warden binary to test (default <repo>/build/warden)
  WARDEN_SANITIZED  1 when WARDEN_BIN is an ASan+UBSan build (longer start-up deadlines,
                    memory figures reported but not asserted)
  WARDEN_FIGURES    file to which measured figures are appended (one line each)
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

from echo_upstream import EchoUpstream  # noqa: E402
import httpraw  # noqa: E402

WARDEN_BIN = os.environ.get("WARDEN_BIN") or os.path.join(ROOT, "build", "warden")
WARDENCTL_BIN = os.environ.get("WARDENCTL_BIN") or os.path.join(os.path.dirname(WARDEN_BIN), "wardenctl")
SANITIZED = os.environ.get("WARDEN_SANITIZED") == "1"
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer",
                     "ERROR: UndefinedBehaviorSanitizer")

_figures = []


def record_figure(line):
    """Print a measured figure now, repeat it in the terminal summary, append it to $WARDEN_FIGURES."""
    tag = "[%s] " % ("asan" if SANITIZED else "release")
    print(line, flush=True)
    _figures.append(tag + line)
    path = os.environ.get("WARDEN_FIGURES")
    if path:
        with open(path, "a") as f:
            f.write(tag + line + "\n")


def pytest_terminal_summary(terminalreporter):
    if _figures:
        terminalreporter.section("figures")
        for line in _figures:
            terminalreporter.write_line(line)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def closed_port():
    """A loopback port with nothing listening (bound then released, never listened on)."""
    return free_port()


# --- credentials ---------------------------------------------------------------------------
# Warden authenticates every request (it never runs as an open proxy): the tests use one
# personal access token, created once per session with `wardenctl pat create`.
_cred = {}


def credentials():
    """(token, pat_file) of the test user `warden-test` (group `admins`)."""
    if not _cred:
        d = tempfile.mkdtemp(prefix="warden-it-pat-")
        pat_file = os.path.join(d, "pats.jsonl")
        if not os.path.exists(WARDENCTL_BIN):
            raise pytest.UsageError("%s does not exist (build it or set WARDENCTL_BIN)" % WARDENCTL_BIN)
        p = subprocess.run([WARDENCTL_BIN, "pat", "create", "--user", "warden-test", "--group", "admins",
                            "--ttl", "never", "--file", pat_file], capture_output=True, text=True)
        token = p.stdout.strip().splitlines()[0] if p.returncode == 0 and p.stdout.strip() else ""
        if not token:
            raise pytest.UsageError("wardenctl pat create failed: %s %s" % (p.stdout, p.stderr))
        _cred.update(token=token, pat_file=pat_file)
        httpraw.DEFAULT_HEADERS[:] = [("Authorization", "Bearer " + token)]
    return _cred["token"], _cred["pat_file"]


def pytest_configure(config):
    # Test modules build request bytes at import: the credential must exist before that.
    credentials()


def auth_headers():
    """Headers that authenticate a `requests` call to Warden."""
    return {"Authorization": "Bearer " + credentials()[0]}


# --- RSS sampling ---------------------------------------------------------------------------
def proc_status_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


class RssSampler:
    """Samples VmRSS of a process every `interval` seconds on a thread; also reads VmHWM."""

    def __init__(self, pid, interval=0.05):
        self.pid = pid
        self.interval = interval
        self.baseline_kib = proc_status_kib(pid, "VmRSS")
        self.peak_kib = self.baseline_kib
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.peak_kib = max(self.peak_kib, proc_status_kib(self.pid, "VmRSS"))
            except (OSError, KeyError):
                return
            self._stop.wait(self.interval)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        try:
            self.hwm_kib = proc_status_kib(self.pid, "VmHWM")
        except (OSError, KeyError):
            self.hwm_kib = self.peak_kib


# --- Warden ---------------------------------------------------------------------------------
def render_config(sections):
    """INI text from {section: {key: value}}; a list of dicts for a section repeats it."""
    out = ["# written by tests/integration/conftest.py"]
    for name, body in sections.items():
        bodies = body if isinstance(body, list) else [body]
        for b in bodies:
            out.append("")
            out.append("[%s]" % name)
            for k, v in b.items():
                if v is None:
                    continue
                if isinstance(v, bool):
                    v = "on" if v else "off"
                out.append("%s = %s" % (k, v))
    return "\n".join(out) + "\n"


def merge_sections(base, overrides):
    merged = {k: (list(v) if isinstance(v, list) else dict(v)) for k, v in base.items()}
    for sec, vals in (overrides or {}).items():
        if isinstance(vals, list):
            merged[sec] = vals
        else:
            merged.setdefault(sec, {}).update(vals)
    return merged


class Warden:
    """One warden process started from a generated configuration."""

    def __init__(self, upstream_url, overrides=None, workdir=None, binary=None):
        self.dir = workdir or tempfile.mkdtemp(prefix="warden-it-")
        self.binary = binary or WARDEN_BIN
        self.ready_file = os.path.join(self.dir, "ready.json")
        self.conf_path = os.path.join(self.dir, "warden.conf")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        base = {
            "server": {"workers": 2, "log_level": "info", "shutdown_timeout": "5s",
                       "ready_file": self.ready_file},
            "listener": {"address": "127.0.0.1:0"},
            "upstream": {"url": upstream_url},
            "admin": {"address": "127.0.0.1:0"},
            "auth": {"pat_file": credentials()[1]},
            "policy": {"paths": os.path.join(HERE, "fixtures", "admin.policy")},
        }
        self.sections = merge_sections(base, overrides)
        with open(self.conf_path, "w") as f:
            f.write(render_config(self.sections))
        self.proc = None
        self.returncode = None

    def start(self, timeout=None):
        if not os.path.exists(self.binary):
            pytest.fail("warden binary %s does not exist (build it or set WARDEN_BIN)" % self.binary)
        timeout = timeout or (30 if SANITIZED else 10)
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1:abort_on_error=0")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([self.binary, "-c", self.conf_path], stdin=subprocess.DEVNULL,
                                     stdout=self._stderr, stderr=self._stderr, env=env)
        self.pid = self.proc.pid
        deadline = time.time() + timeout
        info = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                pytest.fail("warden exited with %s before becoming ready; stderr:\n%s"
                            % (self.proc.returncode, self.stderr))
            try:
                with open(self.ready_file) as f:
                    info = json.load(f)
                if info.get("listeners") and info.get("admin"):
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.02)
        else:
            self.proc.kill()
            self.proc.wait()
            pytest.fail("warden did not write %s within %ss; stderr:\n%s"
                        % (self.ready_file, timeout, self.stderr))
        self.info = info
        assert info["pid"] == self.pid, info
        self.listeners = info["listeners"]
        host, port = self.listeners[0].rsplit(":", 1)
        self.port = int(port)
        self.url = "http://127.0.0.1:%d" % self.port
        ahost, aport = info["admin"].rsplit(":", 1)
        self.admin_port = int(aport)
        self.admin_url = "http://127.0.0.1:%d" % self.admin_port
        return self

    @property
    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=None):
        """SIGTERM and wait; returns the exit status (negative = killed by a signal)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout or (30 if SANITIZED else 15))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.returncode = "hung"
                return self.returncode
        self.returncode = self.proc.returncode
        self._stderr.close()
        return self.returncode

    def check_clean_exit(self):
        """Stop (if still running) and fail unless exit status 0 and no sanitizer report."""
        rc = self.stop()
        err = self.stderr
        problems = []
        if rc != 0:
            problems.append("warden exit status %r (want 0 after SIGTERM)" % rc)
        for marker in SANITIZER_MARKERS:
            if marker in err:
                problems.append("sanitizer report in stderr (%s)" % marker)
        if problems:
            tail = err[-6000:]
            pytest.fail("; ".join(problems) + "\n--- warden stderr (tail) ---\n" + tail, pytrace=False)

    def metrics_text(self):
        return requests.get(self.admin_url + "/metrics", timeout=5).text


@pytest.fixture
def warden_factory():
    """warden_factory(upstream_url, {section: {key: value}}) -> started Warden."""
    started = []

    def make(upstream_url, overrides=None, start=True):
        w = Warden(upstream_url, overrides)
        started.append(w)
        if start:
            w.start()
        return w

    yield make
    failures = []
    for w in started:
        try:
            w.check_clean_exit()
        except pytest.fail.Exception as e:  # report every instance, not just the first
            failures.append(str(e))
        finally:
            shutil.rmtree(w.dir, ignore_errors=True)
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)


@pytest.fixture
def echo():
    up = EchoUpstream()
    yield up
    up.close()


@pytest.fixture
def warden_echo(echo, warden_factory):
    """Warden (default settings) in front of the echo upstream."""
    return warden_factory(echo.url)


# --- MLflow ---------------------------------------------------------------------------------
class MlflowServer:
    def __init__(self, workdir):
        self.dir = workdir
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.artifacts = os.path.join(workdir, "artifacts")
        self.log_path = os.path.join(workdir, "mlflow-server.log")
        self.proc = None

    def start(self, timeout=120):
        mlflow = os.path.join(VENV_BIN, "mlflow")
        if not os.path.exists(mlflow):
            pytest.fail("%s missing: run tests/setup.sh" % mlflow)
        self._log = open(self.log_path, "wb")
        env = dict(os.environ)
        env.pop("MLFLOW_TRACKING_URI", None)
        self.proc = subprocess.Popen(
            [mlflow, "server", "--host", "127.0.0.1", "--port", str(self.port),
             "--backend-store-uri", "sqlite:///%s/mlflow.db" % self.dir,
             "--serve-artifacts", "--artifacts-destination", self.artifacts, "--workers", "1"],
            cwd=self.dir, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
            env=env, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                pytest.fail("mlflow server exited early:\n" + self.log_tail())
            try:
                if requests.get(self.url + "/health", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.3)
        self.stop()
        pytest.fail("mlflow server not healthy after %ss:\n%s" % (timeout, self.log_tail()))

    def log_tail(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-4000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # uvicorn runs worker children
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    srv = MlflowServer(str(tmp_path_factory.mktemp("mlflow")))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def warden_mlflow(mlflow_server):
    """Warden in front of the real MLflow server, shared by a test module."""
    w = Warden(mlflow_server.url, {"timeouts": {"upstream_first_byte": "120s"}})
    w.start()
    yield w
    try:
        w.check_clean_exit()
    finally:
        shutil.rmtree(w.dir, ignore_errors=True)
