"""Raw-socket HTTP/1.1 client helpers for Warden's integration tests.

What it is for: sending exact bytes to Warden (no client library normalises them) and reading
back responses, including interim 1xx responses, close-delimited bodies, and detecting that a
connection was closed. Pure helpers: no global state; every call takes the socket it works on.
"""

import json
import socket
import time


# Headers every request built by req() carries after Host (conftest puts the test credential
# here: Warden authenticates every request). req(..., auth=False) leaves them out.
DEFAULT_HEADERS = []


# Real MLflow routes for tests that exercise the proxy rather than a route (Warden answers 404
# to a path outside its route table). The test credential is in the policy's admin group, so
# these are forwarded without a look-up to whatever upstream the test runs.
def art(name="x", exp="0"):
    """The artifact proxy route (downloadArtifact for GET/HEAD, uploadArtifact for PUT, streamed
    body): /api/2.0/mlflow-artifacts/artifacts/<exp>/<name>."""
    return "/api/2.0/mlflow-artifacts/artifacts/%s/%s" % (exp, name)


def upload(name="x", run="r1"):
    """The UI's artifact upload (POST, body streamed to MLflow unparsed)."""
    return "/ajax-api/2.0/mlflow/upload-artifact?run_uuid=%s&path=%s" % (run, name)


def padded(target, length):
    """`target` with a `pad` query parameter that makes it exactly `length` bytes long."""
    sep = "&" if "?" in target else "?"
    fill = length - len(target) - len(sep) - len("pad=")
    assert fill >= 0, (target, length)
    return target + sep + "pad=" + "a" * fill


LOG_METRIC = "/api/2.0/mlflow/runs/log-metric"


def log_metric_body(run_id="r1", key="m", value=1.5, timestamp=1):
    """A valid JSON body for runs/log-metric (a JSON route: Warden reads it whole, checks it
    against MLflow's message and forwards its canonical serialisation)."""
    return json.dumps({"run_id": run_id, "key": key, "value": value, "timestamp": timestamp},
                      separators=(",", ":")).encode()


def host_auth(host="localhost"):
    """b"Host: ...\\r\\n" plus the default credential lines, for hand-written requests."""
    return ("Host: %s\r\n" % host + "".join("%s: %s\r\n" % hv for hv in DEFAULT_HEADERS)).encode("latin-1")


class Response:
    def __init__(self, status, reason, headers, body, raw):
        self.status = status
        self.reason = reason
        self.headers = headers  # [(name, value)]
        self.body = body
        self.raw = raw

    def header(self, name):
        vals = [v for n, v in self.headers if n.lower() == name.lower()]
        return vals[0] if vals else None

    def header_all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<Response %d %r %r>" % (self.status, self.headers, self.body[:200])


class Closed(Exception):
    """The peer closed the connection before a complete response arrived."""


def connect(port, timeout=5.0, host="127.0.0.1"):
    s = socket.create_connection((host, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class Reader:
    """Buffered reader over a socket (keeps bytes that belong to the next response)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()
        self.eof = False

    def _more(self):
        if self.eof:
            raise Closed("connection closed")
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
            raise Closed("connection closed")
        self.buf += data

    def line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                out = bytes(self.buf[:i])
                del self.buf[: i + 2]
                return out
            self._more()

    def exact(self, n):
        while len(self.buf) < n:
            self._more()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def until_eof(self):
        while True:
            try:
                self._more()
            except Closed:
                out = bytes(self.buf)
                self.buf.clear()
                return out

    def response(self, method="GET", keep_interim=False):
        """Read one final response (skipping 1xx unless keep_interim)."""
        while True:
            raw = bytearray()
            status_line = self.line()
            raw += status_line + b"\r\n"
            parts = status_line.split(b" ", 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
                raise AssertionError("bad status line %r" % status_line)
            status = int(parts[1])
            reason = parts[2].decode("latin-1") if len(parts) > 2 else ""
            headers = []
            while True:
                line = self.line()
                raw += line + b"\r\n"
                if line == b"":
                    break
                name, _, value = line.partition(b":")
                headers.append((name.decode("latin-1"), value.strip().decode("latin-1")))
            if 100 <= status < 200:
                if keep_interim:
                    return Response(status, reason, headers, b"", bytes(raw))
                continue
            break
        hdr = {n.lower(): v for n, v in headers}
        if method == "HEAD" or status in (204, 304):
            body = b""
        elif hdr.get("transfer-encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                size = int(self.line().split(b";")[0], 16)
                if size == 0:
                    while self.line() != b"":
                        pass
                    break
                body += self.exact(size)
                assert self.line() == b""
            body = bytes(body)
        elif "content-length" in hdr:
            body = self.exact(int(hdr["content-length"]))
        else:
            body = self.until_eof()
        return Response(status, reason, headers, body, bytes(raw) + body)


def exchange(port, data, timeout=5.0, method="GET"):
    """Send `data` on a new connection and read one response. Returns (response, sock, reader)."""
    s = connect(port, timeout)
    s.sendall(data)
    r = Reader(s)
    return r.response(method), s, r


def assert_closed(sock, reader=None, timeout=3.0, probe=True):
    """The server closed (or will promptly close) this connection and answers nothing more.

    Sends a valid request as a probe (when the socket is still writable) and expects EOF or a
    reset without a single response byte."""
    sock.settimeout(timeout)
    leftover = bytes(reader.buf) if reader is not None else b""
    assert leftover == b"", "unexpected bytes after the response: %r" % leftover[:200]
    if probe:
        try:
            sock.sendall(b"GET /probe-after-close HTTP/1.1\r\nHost: x\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            return
    deadline = time.time() + timeout
    got = b""
    while time.time() < deadline:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            return
        except socket.timeout:
            raise AssertionError("connection still open %.1fs after a refused request" % timeout)
        if not data:
            assert got == b"", "server answered on a connection it should have closed: %r" % got
            return
        got += data
    raise AssertionError("server answered on a connection it should have closed: %r" % got[:300])


def req(method="GET", target="/x", headers=(), body=b"", version="HTTP/1.1", host="localhost",
        auth=True):
    """Build request bytes. `headers` are (name, value) pairs, added after Host (and the default
    credential unless auth=False), verbatim."""
    lines = ["%s %s %s" % (method, target, version)]
    if host is not None:
        lines.append("Host: %s" % host)
    if auth:
        lines.extend("%s: %s" % hv for hv in DEFAULT_HEADERS)
    for n, v in headers:
        lines.append("%s: %s" % (n, v))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
