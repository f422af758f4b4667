"""Helpers for the audit integration tests (tests/integration/test_audit_*.py).

What it is for: the real collectors Warden's audit sinks talk to, started and stopped by the
tests (for outages): rsyslog (Debian's rsyslogd, its own configuration, imtcp on a loopback
port for plain TCP and one with the ossl stream driver for TLS, writing every raw message to a
file), redis-server (append-only file with fsync always, so a restart keeps what it
acknowledged) with a small RESP client for XREADGROUP, and an HTTP collector (a Python thread
that records every POSTed JSON line and can answer 503 on demand). Also a throwaway test CA
made with the openssl command line, readers for the records each collector received, the
in-order/at-least-once check, a load generator and the audit configuration sections.
"""

import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from conftest import WARDENCTL_BIN, auth_headers, free_port

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def wait_port(port, timeout=10.0, host="127.0.0.1"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def wait_until(cond, timeout=20.0, interval=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(interval)
    return cond()


# --- test CA ---------------------------------------------------------------------------
def make_ca(d):
    """A CA and a server certificate for localhost / 127.0.0.1 in d; returns their paths."""
    os.makedirs(d, exist_ok=True)
    ca, ca_key = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
    cert, key = os.path.join(d, "server.pem"), os.path.join(d, "server.key")
    csr, ext = os.path.join(d, "server.csr"), os.path.join(d, "ext.cnf")

    def run(*args):
        p = subprocess.run(["openssl"] + list(args), capture_output=True, text=True)
        if p.returncode != 0:
            pytest.fail("openssl %s: %s" % (args[0], p.stderr))

    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=Warden audit test CA")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
        "-out", csr, "-subj", "/CN=localhost")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
        "-days", "2", "-extfile", ext)
    return {"ca": ca, "cert": cert, "key": key}


def ossl_driver_available():
    return any(os.path.exists(os.path.join(d, "lmnsd_ossl.so"))
               for d in ("/usr/lib/x86_64-linux-gnu/rsyslog", "/usr/lib/rsyslog"))


# --- rsyslog ---------------------------------------------------------------------------
class Rsyslog:
    """rsyslogd in the foreground with imtcp on tcp_port (plain) and tls_port (TLS, ossl)."""

    def __init__(self, workdir, tls):
        self.dir = workdir
        os.makedirs(os.path.join(workdir, "work"), exist_ok=True)
        self.out = os.path.join(workdir, "received.log")
        self.conf = os.path.join(workdir, "rsyslog.conf")
        self.pidfile = os.path.join(workdir, "rsyslog.pid")
        self.log = os.path.join(workdir, "rsyslog.stderr")
        self.tcp_port = free_port()
        self.tls_port = free_port() if tls else None
        self.tls = tls
        self.proc = None
        lines = ['global(workDirectory="%s" maxMessageSize="64k"' % os.path.join(workdir, "work")]
        if tls:
            lines.append('  defaultNetstreamDriverCAFile="%s"' % tls["ca"])
            lines.append('  defaultNetstreamDriverCertFile="%s"' % tls["cert"])
            lines.append('  defaultNetstreamDriverKeyFile="%s"' % tls["key"])
        lines[-1] += ")"
        lines += [
            'template(name="raw" type="string" string="%rawmsg%\\n")',
            'module(load="imtcp" maxSessions="200")',
            'ruleset(name="audit") {',
            '  action(type="omfile" file="%s" template="raw" flushOnTXEnd="on")' % self.out,
            '}',
            'input(type="imtcp" address="127.0.0.1" port="%d" ruleset="audit")' % self.tcp_port,
        ]
        if tls:
            lines.append('input(type="imtcp" address="127.0.0.1" port="%d" ruleset="audit" '
                         'streamDriver.name="ossl" streamDriver.mode="1" '
                         'streamDriver.authMode="anon")' % self.tls_port)
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self):
        self._err = open(self.log, "ab")
        self.proc = subprocess.Popen([RSYSLOGD, "-n", "-f", self.conf, "-i", self.pidfile],
                                     stdin=subprocess.DEVNULL, stdout=self._err, stderr=self._err)
        ports = [self.tcp_port] + ([self.tls_port] if self.tls_port else [])
        for p in ports:
            if not wait_port(p):
                self.stop()
                pytest.fail("rsyslogd did not listen on %d: %s" % (p, self.stderr()))
        return self

    def stderr(self):
        try:
            with open(self.log, "rb") as f:
                return f.read()[-3000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        try:
            os.unlink(self.pidfile)
        except OSError:
            pass

    def messages(self):
        """Raw RFC 5424 messages received, in arrival order."""
        try:
            with open(self.out, "rb") as f:
                data = f.read().decode("utf-8", "replace")
        except OSError:
            return []
        return [l for l in data.split("\n") if l]


SD_SEQ = re.compile(r'\[warden@32473 seq="(\d+)" event_id="([0-9a-f-]{36})"\] ')


def syslog_records(messages):
    """(seq, record dict) for each RFC 5424 message carrying an audit record."""
    out = []
    for m in messages:
        s = SD_SEQ.search(m)
        if not s:
            continue
        payload = m[s.end():].lstrip("\ufeff")
        out.append((int(s.group(1)), json.loads(payload)))
    return out


# --- Redis ------------------------------------------------------------------------------
class RedisServer:
    """redis-server on a loopback port; append-only with fsync always (acknowledged = kept)."""

    def __init__(self, workdir):
        self.dir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.port = free_port()
        self.proc = None

    def start(self):
        self._log = open(os.path.join(self.dir, "redis.log"), "ab")
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--appendonly", "yes", "--appendfsync", "always", "--save", "",
             "--daemonize", "no", "--protected-mode", "yes"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log)
        if not wait_port(self.port) or not wait_until(lambda: self.ping(), 10):
            self.stop()
            pytest.fail("redis-server did not start")
        return self

    def ping(self):
        try:
            return resp(self.port, "PING") == "PONG"
        except (OSError, RuntimeError):  # RuntimeError: LOADING after a restart
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def _read_reply(f):
    line = f.readline()
    if not line:
        raise OSError("connection closed")
    kind, rest = line[:1], line[1:-2].decode()
    if kind == b"+":
        return rest
    if kind == b"-":
        raise RuntimeError(rest)
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_read_reply(f) for _ in range(n)]
    raise OSError("bad RESP reply %r" % line)


def resp(port, *args, timeout=10):
    """One Redis command; returns the decoded reply (bulk strings as bytes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
        s.sendall(b"".join(parts))
        return _read_reply(s.makefile("rb"))


def redis_records(port, key, group="audit-test", consumer="c1"):
    """Read the whole stream through a consumer group (XREADGROUP), acknowledging each entry.
    Returns (seq, record dict) in stream order."""
    try:
        resp(port, "XGROUP", "CREATE", key, group, "0", "MKSTREAM")
    except RuntimeError as e:
        if "BUSYGROUP" not in str(e):
            raise
    out = []
    while True:
        reply = resp(port, "XREADGROUP", "GROUP", group, consumer, "COUNT", "1000", "STREAMS", key, ">")
        if not reply:
            break
        entries = reply[0][1]
        if not entries:
            break
        ids = []
        for entry_id, fields in entries:
            d = {fields[i].decode(): fields[i + 1] for i in range(0, len(fields), 2)}
            rec = json.loads(d["record"])
            assert int(d["seq"]) == seq_of(rec), (d["seq"], rec)
            assert d["event_id"].decode() == event_id_of(rec)
            out.append((int(d["seq"]), rec))
            ids.append(entry_id)
        resp(port, "XACK", key, group, *ids)
    return out


# --- HTTP collector -----------------------------------------------------------------------
class Collector:
    """HTTP collector: POST bodies of JSON lines, recorded in arrival order. Can be stopped and
    restarted on the same port, and told to answer 503. With tls (make_ca's paths) it serves
    HTTPS."""

    def __init__(self, port=None, tls=None):
        self.port = port or free_port()
        self.tls = tls
        self.lines = []
        self.batches = 0
        self.refuse = False
        self.lock = threading.Lock()
        self.server = None

    def start(self):
        coll = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                if coll.refuse:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                with coll.lock:
                    coll.batches += 1
                    coll.lines += [l for l in body.decode("utf-8").split("\n") if l]
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *a):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.tls["cert"], self.tls["key"])
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def records(self):
        with self.lock:
            lines = list(self.lines)
        return [(seq_of(r), r) for r in map(json.loads, lines)]


# --- records -------------------------------------------------------------------------------
def seq_of(rec):
    """Sequence number of a native (seq) or OCSF (metadata.sequence) record."""
    if "seq" in rec:
        return rec["seq"]
    return rec["metadata"]["sequence"]


def event_id_of(rec):
    return rec["event_id"] if "event_id" in rec else rec["metadata"]["uid"]


def file_records(path):
    with open(path) as f:
        return [(seq_of(r), r) for r in (json.loads(l) for l in f if l.strip())]


def check_delivery(pairs, first, last):
    """Every seq in first..last arrived at least once, and the first arrivals are in order
    (a replay after an outage repeats a suffix, never reorders). Returns (missing, reordered,
    duplicates)."""
    seen = set()
    firsts = []
    dups = 0
    for s, _ in pairs:
        if s in seen:
            dups += 1
            continue
        seen.add(s)
        firsts.append(s)
    missing = [s for s in range(first, last + 1) if s not in seen]
    reordered = sum(1 for a, b in zip(firsts, firsts[1:]) if b < a)
    return missing, reordered, dups


def metric(text, name):
    """Value of a Prometheus sample (exact name including labels), or None."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


def wardenctl(*args):
    return subprocess.run([WARDENCTL_BIN] + list(args), capture_output=True, text=True)


def keygen(d):
    p = wardenctl("audit", "keygen", "--out", d)
    assert p.returncode == 0, p.stderr
    return os.path.join(d, "audit-checkpoint.pem"), os.path.join(d, "audit-checkpoint.pub.pem")


# --- load -----------------------------------------------------------------------------------
SEARCH = "/api/2.0/mlflow/experiments/search?max_results=1"


class Load:
    """Threads sending requests to Warden until stopped; records acknowledged request ids.
    With authenticated=False the requests carry no credential: Warden answers 401 itself
    (still one audit record each), which loads the audit pipeline without the upstream."""

    def __init__(self, url, threads=4, path=SEARCH, authenticated=True):
        self.url, self.path, self.n = url, path, threads
        self.headers = auth_headers() if authenticated else {}
        self.stop_ev = threading.Event()
        self.acked = []  # (request id, status) of every response received
        self.errors = 0
        self.lock = threading.Lock()

    def _run(self):
        s = requests.Session()
        while not self.stop_ev.is_set():
            try:
                r = s.get(self.url + self.path, headers=self.headers, timeout=10)
                with self.lock:
                    self.acked.append((r.headers.get("X-Request-Id"), r.status_code))
            except requests.RequestException:
                with self.lock:
                    self.errors += 1
                time.sleep(0.01)

    def __enter__(self):
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(self.n)]
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop_ev.set()
        for t in self.threads:
            t.join(15)


def audit_sections(journal_dir, files=(), syslogs=(), redis=(), https=(), **audit):
    """Configuration overrides: [audit] plus named sink sections."""
    out = {"audit": dict({"journal_dir": journal_dir}, **audit)}
    for name, body in files:
        out["audit_file " + name] = body
    for name, body in syslogs:
        out["audit_syslog " + name] = body
    for name, body in redis:
        out["audit_redis " + name] = body
    for name, body in https:
        out["audit_http " + name] = body
    return out
