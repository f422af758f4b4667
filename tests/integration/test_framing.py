"""Raw-socket framing suite: Warden in front of the echo upstream.

Covers ../shared/security-cases.md §3.2 (S1-S12 request smuggling), §3.3 (H1-H6 hop-by-hop
headers), O4 of §3.8, X1-X5 of §3.9 (Expect: 100-continue), the request-line and header limits
(414/431), pipelining, chunked re-framing and the headers Warden sets for the upstream.

For every refused request the test asserts: the status, a JSON body {"error_code", "message"},
an X-Request-Id, `Connection: close`, that the connection is closed (a valid request sent after
it gets no answer), and that the echo upstream received nothing. Errors found in a chunked body
can only be seen after the head was accepted; for those Warden may already have opened the
upstream request, so the assertion there is that the upstream never received a complete request
and that the upstream connection carrying the partial one was closed, never reused.
"""

import json
import re
import select
import socket
import subprocess
import time

import pytest

from conftest import Warden, SANITIZED, WARDENCTL_BIN
from echo_upstream import EchoUpstream
import httpraw
from httpraw import req, art, upload, padded

SETTLE = 0.5 if SANITIZED else 0.25  # time for stray bytes to reach the echo upstream
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Warden routes every authenticated request through the MLflow route table (404 for anything
# else). Requests with a body use the UI artifact upload, whose body is streamed to MLflow
# unparsed, so the bytes the echo upstream records are the client's body re-framed; requests
# without one use the artifact proxy download. Hand-written request bytes without a
# credential keep a made-up path: they are refused before authentication and routing.
UPLOAD = upload()


@pytest.fixture(scope="module")
def env():
    echo = EchoUpstream()
    w = Warden(echo.url, {"timeouts": {"client_header": "3s", "client_body_idle": "3s",
                                       "upstream_first_byte": "5s"}})
    w.start()
    yield w, echo
    try:
        w.check_clean_exit()
    finally:
        echo.close()


@pytest.fixture
def we(env):
    w, echo = env
    assert w.alive(), "warden died during an earlier test:\n" + w.stderr[-3000:]
    time.sleep(0.05)
    echo.reset()
    return w, echo


def _assert_error_shape(resp, status, head=False):
    assert resp.status == status, "want %d, got %r" % (status, resp)
    rid = resp.header("X-Request-Id")
    assert rid and REQUEST_ID_RE.match(rid), resp
    if head:  # a response to HEAD carries no content (RFC 9110 §9.3.2)
        return None
    assert (resp.header("Content-Type") or "").startswith("application/json"), resp
    body = json.loads(resp.body)
    assert isinstance(body.get("error_code"), str) and body["error_code"], body
    assert isinstance(body.get("message"), str) and body["message"], body
    rid = resp.header("X-Request-Id")
    assert rid and REQUEST_ID_RE.match(rid), resp
    return body


def refused(w, echo, data, status=400, upstream_may_see_head=False, close=True):
    """Send `data` on a fresh connection; assert a clean refusal that never reached upstream."""
    before = echo.total_bytes()
    s = httpraw.connect(w.port)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = httpraw.Reader(s)
        head = data.startswith(b"HEAD ")
        try:
            resp = r.response(method="HEAD" if head else "GET")
        except httpraw.Closed:
            pytest.fail("connection closed without an error response for %r" % data[:200])
        body = _assert_error_shape(resp, status, head)
        if close:
            assert (resp.header("Connection") or "").lower() == "close", resp
            httpraw.assert_closed(s, r)
    finally:
        s.close()
    time.sleep(SETTLE)
    if upstream_may_see_head:
        reqs = echo.requests()
        assert not [q for q in reqs if q.complete], "upstream received a complete request: %r" % reqs
        for q in reqs:  # the partial request's upstream connection must have been closed
            assert _conn_closed(echo, q.conn_id), "upstream connection kept after a broken body"
    else:
        assert echo.total_bytes() == before, "upstream received bytes: %r" % echo.all_bytes()[-500:]
        assert echo.count() == 0
    return body


def _conn_closed(echo, conn_id, timeout=3.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for c in echo._conns:
            if c.id == conn_id and c.closed:
                return True
        time.sleep(0.02)
    return False


def ok(w, data, method="GET"):
    resp, s, r = httpraw.exchange(w.port, data, method=method)
    s.close()
    assert resp.status == 200, resp
    return resp


def one_upstream_request(echo):
    reqs = echo.wait_requests(1)
    assert len(reqs) == 1, reqs
    assert reqs[0].complete
    assert echo.garbage() == [], echo.garbage()
    return reqs[0]


HIDDEN = b"GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n"

# --- S1 CL.TE / TE.CL -----------------------------------------------------------------------
S1 = {
    "cl-then-te": req("POST", UPLOAD, [("Content-Length", str(5 + len(HIDDEN))),
                                     ("Transfer-Encoding", "chunked")], b"0\r\n\r\n" + HIDDEN),
    "te-then-cl": req("POST", UPLOAD, [("Transfer-Encoding", "chunked"), ("Content-Length", "4")],
                      b"5c\r\n" + HIDDEN + b"\r\n0\r\n\r\n"),
    "cl0-te": req("POST", UPLOAD, [("Content-Length", "0"), ("Transfer-Encoding", "chunked")],
                  b"0\r\n\r\n"),
}

# --- S2 TE obfuscation ----------------------------------------------------------------------
CHUNKED_BODY = b"5\r\nhello\r\n0\r\n\r\n"
S2 = {
    "xchunked": req("POST", UPLOAD, [("Transfer-Encoding", "xchunked")], CHUNKED_BODY),
    "chunked-identity": req("POST", UPLOAD, [("Transfer-Encoding", "chunked, identity")], CHUNKED_BODY),
    "identity-chunked": req("POST", UPLOAD, [("Transfer-Encoding", "identity, chunked")], CHUNKED_BODY),
    "quoted": req("POST", UPLOAD, [("Transfer-Encoding", '"chunked"')], CHUNKED_BODY),
    "vtab": req("POST", UPLOAD, [("Transfer-Encoding", "chunked\x0b")], CHUNKED_BODY),
    "htab-before-value": b"POST /x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding:\tchunked\r\n\r\n"
    + CHUNKED_BODY,
    "space-before-colon": b"POST /x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding : chunked\r\n\r\n"
    + CHUNKED_BODY,
    "twice-different": req("POST", UPLOAD, [("Transfer-Encoding", "chunked"),
                                          ("Transfer-encoding", "identity")], CHUNKED_BODY),
    "twice-same": req("POST", UPLOAD, [("Transfer-Encoding", "chunked"),
                                     ("Transfer-Encoding", "chunked")], CHUNKED_BODY),
    "gzip-chunked": req("POST", UPLOAD, [("Transfer-Encoding", "gzip, chunked")], CHUNKED_BODY),
    "with-params": req("POST", UPLOAD, [("Transfer-Encoding", "chunked;q=1")], CHUNKED_BODY),
}

# --- S3 obs-fold ----------------------------------------------------------------------------
S3 = {
    "te-fold": b"POST /x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding:\r\n chunked\r\n\r\n"
    + CHUNKED_BODY,
    "any-fold": b"GET /x HTTP/1.1\r\nHost: localhost\r\nX-Thing: a\r\n b\r\n\r\n",
    "tab-fold": b"GET /x HTTP/1.1\r\nHost: localhost\r\nX-Thing: a\r\n\tb\r\n\r\n",
}

# --- S4 duplicate Content-Length --------------------------------------------------------------
S4 = {
    "same": req("POST", UPLOAD, [("Content-Length", "5"), ("Content-Length", "5")], b"hello"),
    "different": req("POST", UPLOAD, [("Content-Length", "3"), ("Content-Length", "5")], b"hello"),
    "list": req("POST", UPLOAD, [("Content-Length", "5, 5")], b"hello"),
}

# --- S5 Content-Length forms ----------------------------------------------------------------
S5 = {
    "plus": req("POST", UPLOAD, [("Content-Length", "+5")], b"hello"),
    "leading-space": b"POST /x HTTP/1.1\r\nHost: localhost\r\nContent-Length:  5\r\n\r\nhello",
    "tab": b"POST /x HTTP/1.1\r\nHost: localhost\r\nContent-Length:\t5\r\n\r\nhello",
    "leading-zero": req("POST", UPLOAD, [("Content-Length", "05")], b"hello"),
    "hex": req("POST", UPLOAD, [("Content-Length", "0x5")], b"hello"),
    "negative": req("POST", UPLOAD, [("Content-Length", "-1")], b"hello"),
    "huge": req("POST", UPLOAD, [("Content-Length", "99999999999999999999")], b"hello"),
    "empty": b"POST /x HTTP/1.1\r\nHost: localhost\r\nContent-Length:\r\n\r\nhello",
    "trailing-garbage": req("POST", UPLOAD, [("Content-Length", "5x")], b"hello"),
}


def chunked(size_line, rest=b"hello\r\n0\r\n\r\n"):
    return req("POST", UPLOAD, [("Transfer-Encoding", "chunked")], size_line + b"\r\n" + rest)


# --- S6 chunk sizes (body-level) --------------------------------------------------------------
S6 = {
    "0x5": chunked(b"0x5"),
    "plus": chunked(b"+5"),
    "space": chunked(b" 5"),
    "minus-zero": chunked(b"-0", b"\r\n"),
    "17-hex-digits": chunked(b"00000000000000005"),
    "overflow": chunked(b"fffffffffffffffff"),
    "non-hex": chunked(b"5g"),
    "empty-size": chunked(b""),
}

# --- S7 chunk extensions and trailers --------------------------------------------------------
S7_REFUSE = {
    "bare-lf-size-line": req("POST", UPLOAD, [("Transfer-Encoding", "chunked")], b"5\nhello\r\n0\r\n\r\n"),
    "bare-lf-after-data": req("POST", UPLOAD, [("Transfer-Encoding", "chunked")], b"5\r\nhello\n0\r\n\r\n"),
    "missing-crlf-after-data": req("POST", UPLOAD, [("Transfer-Encoding", "chunked")],
                                   b"5\r\nhelloX0\r\n\r\n"),
    "data-longer-than-size": req("POST", UPLOAD, [("Transfer-Encoding", "chunked")],
                                 b"3\r\nhello\r\n0\r\n\r\n"),
}
S7_REFRAME = {  # refuse, or forward re-framed without the extension / trailer
    "extension": (b"5;a=b\r\nhello\r\n0\r\n\r\n", b";a=b"),
    "extension-quoted": (b'5;a="x y"\r\nhello\r\n0\r\n\r\n', b'"x y"'),
    "trailer-content-length": (b"5\r\nhello\r\n0\r\nContent-Length: 5\r\n\r\n", b"Content-Length: 5"),
    "trailer-te": (b"5\r\nhello\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n", b"Transfer-Encoding: chunked\r\n\r\n"),
}

# --- S8 TE on HTTP/1.0, body framing on GET/HEAD ----------------------------------------------
S8 = {
    "te-http10": req("POST", UPLOAD, [("Transfer-Encoding", "chunked")], CHUNKED_BODY, version="HTTP/1.0"),
    "te-get": req("GET", art(), [("Transfer-Encoding", "chunked")], CHUNKED_BODY),
    "cl-get": req("GET", art(), [("Content-Length", "5")], b"hello"),
    "te-head": req("HEAD", art(), [("Transfer-Encoding", "chunked")], CHUNKED_BODY),
    "cl-head": req("HEAD", art(), [("Content-Length", "5")], b"hello"),
}

# --- S9 request line ---------------------------------------------------------------------------
S9 = {
    "bare-lf-everywhere": b"GET /x HTTP/1.1\nHost: localhost\n\n",
    "bare-lf-request-line": b"GET /x HTTP/1.1\nHost: localhost\r\n\r\n",
    "bare-lf-header": b"GET /x HTTP/1.1\r\nHost: localhost\nX-A: b\r\n\r\n",
    "two-spaces-before-target": b"GET  /x HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "two-spaces-before-version": b"GET /x  HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "tab-separator": b"GET\t/x HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "http09": b"GET /\r\n\r\n",
    "lowercase-version": b"GET /x http/1.1\r\nHost: localhost\r\n\r\n",
    "leading-empty-line": b"\r\nGET /x HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "trailing-space": b"GET /x HTTP/1.1 \r\nHost: localhost\r\n\r\n",
    "no-host": b"GET /x HTTP/1.1\r\n\r\n",
    "two-hosts": b"GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
}

# --- S10 header bytes ------------------------------------------------------------------------
S10 = {
    "nul-in-value": b"GET /x HTTP/1.1\r\nHost: localhost\r\nX-User: alice\x00admin\r\n\r\n",
    "cr-in-value": b"GET /x HTTP/1.1\r\nHost: localhost\r\nX-User: alice\radmin\r\n\r\n",
    "lf-in-value": b"GET /x HTTP/1.1\r\nHost: localhost\r\nX-User: alice\nadmin\r\n\r\n",
    "ctl-in-value": b"GET /x HTTP/1.1\r\nHost: localhost\r\nX-User: alice\x01admin\r\n\r\n",
    "del-in-value": b"GET /x HTTP/1.1\r\nHost: localhost\r\nX-User: alice\x7fadmin\r\n\r\n",
    "space-in-name": b"GET /x HTTP/1.1\r\nHost: localhost\r\nX Auth User: a\r\n\r\n",
    "ctl-in-name": b"GET /x HTTP/1.1\r\nHost: localhost\r\nX-A\x01uth: a\r\n\r\n",
    "empty-name": b"GET /x HTTP/1.1\r\nHost: localhost\r\n: x\r\n\r\n",
    "no-colon": b"GET /x HTTP/1.1\r\nHost: localhost\r\nX-Auth\r\n\r\n",
    "nul-in-target": b"GET /x\x00y HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "ctl-in-method": b"G\x01T /x HTTP/1.1\r\nHost: localhost\r\n\r\n",
}

# --- H4, H5, O4 -------------------------------------------------------------------------------
H_REFUSE = {
    "H4-connection-content-length": req("POST", UPLOAD, [("Content-Length", "5"),
                                                       ("Connection", "Content-Length")], b"hello"),
    "H4-connection-transfer-encoding": req("POST", UPLOAD, [("Transfer-Encoding", "chunked"),
                                                          ("Connection", "Transfer-Encoding")], CHUNKED_BODY),
    "H5-h2c-upgrade": req("GET", art(), [("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c"),
                                        ("HTTP2-Settings", "AAMAAABkAAQAAP__")]),
    "H5-websocket-upgrade": req("GET", art(), [("Connection", "Upgrade"), ("Upgrade", "websocket"),
                                              ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                                              ("Sec-WebSocket-Version", "13")]),
}


def _cases(*dicts):
    out = []
    for prefix, d in dicts:
        for k, v in d.items():
            out.append(pytest.param(v, id="%s-%s" % (prefix, k)))
    return out


@pytest.mark.parametrize("data", _cases(("S1", S1), ("S2", S2), ("S3", S3), ("S4", S4), ("S5", S5),
                                        ("S8", S8), ("S9", S9), ("S10", S10), ("H", H_REFUSE)))
def test_head_level_refusal(we, data):
    w, echo = we
    refused(w, echo, data, 400)


@pytest.mark.parametrize("data", _cases(("S6", S6), ("S7", S7_REFUSE)))
def test_chunk_level_refusal(we, data):
    w, echo = we
    refused(w, echo, data, 400, upstream_may_see_head=True)


@pytest.mark.parametrize("name", list(S7_REFRAME))
def test_chunk_extension_or_trailer_never_forwarded_verbatim(we, name):
    w, echo = we
    body, forbidden = S7_REFRAME[name]
    data = req("POST", UPLOAD, [("Transfer-Encoding", "chunked")], body)
    s = httpraw.connect(w.port)
    s.sendall(data)
    r = httpraw.Reader(s)
    resp = r.response()
    s.close()
    if resp.status == 400:  # refused: must be clean
        _assert_error_shape(resp, 400)
        time.sleep(SETTLE)
        assert not [q for q in echo.requests() if q.complete]
        return
    assert resp.status == 200, resp
    q = one_upstream_request(echo)
    assert bytes(q.body) == b"hello"
    assert forbidden not in bytes(q.raw)[len(q.head_raw):], q.raw


def test_S11_refusal_after_valid_request_on_keepalive(we):
    w, echo = we
    s = httpraw.connect(w.port)
    r = httpraw.Reader(s)
    s.sendall(req("GET", art("first")))
    assert r.response().status == 200
    s.sendall(req("POST", UPLOAD, [("Content-Length", "5"), ("Transfer-Encoding", "chunked")],
                  b"0\r\n\r\n" + HIDDEN))
    resp = r.response()
    _assert_error_shape(resp, 400)
    httpraw.assert_closed(s, r)
    s.close()
    time.sleep(SETTLE)
    assert [q.target for q in echo.requests()] == [art("first")]
    assert echo.garbage() == []


def test_S11_smuggled_bytes_never_become_a_request(we):
    """CL.TE with a complete second request hidden in the body: nothing of it reaches upstream."""
    w, echo = we
    data = S1["cl-then-te"] + req("GET", art("after"))
    refused(w, echo, data, 400)


def test_S12_content_length_reframed(we):
    w, echo = we
    target = upload("a.txt")
    ok(w, req("POST", target, [("Content-Length", "11"), ("Content-Type", "text/plain")], b"hello world"))
    q = one_upstream_request(echo)
    assert q.method == "POST" and q.target == target
    assert bytes(q.body) == b"hello world"
    assert q.header("Content-Length") == ["11"]
    assert q.header("Transfer-Encoding") == []
    assert q.header("Content-Type") == ["text/plain"]


@pytest.mark.parametrize("chunks", [
    [b"h", b"el", b"lo w", b"orld"],
    [b"x" * 70000],
    [b"a" * 3, b"b" * 4096, b"c" * 17],
], ids=["small-chunks", "one-big-chunk", "mixed"])
def test_S12_chunked_reframed(we, chunks):
    w, echo = we
    body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    ok(w, req("PUT", art("art"), [("Transfer-Encoding", "chunked")], body))
    q = one_upstream_request(echo)
    assert bytes(q.body) == b"".join(chunks)
    te = q.header("Transfer-Encoding")
    cl = q.header("Content-Length")
    assert (te == ["chunked"] and cl == []) or (te == [] and cl == [str(len(b"".join(chunks)))]), q.headers
    assert q.header("Trailer") == [] and q.header("TE") == []


def test_S12_empty_chunked_body(we):
    w, echo = we
    ok(w, req("POST", upload("e"), [("Transfer-Encoding", "chunked")], b"0\r\n\r\n"))
    q = one_upstream_request(echo)
    assert bytes(q.body) == b""


def test_pipelined_requests(we):
    w, echo = we
    s = httpraw.connect(w.port)
    s.sendall(req("GET", art("one")) + req("POST", upload("two"), [("Content-Length", "3")], b"abc")
              + req("GET", art("three")))
    r = httpraw.Reader(s)
    bodies = [json.loads(r.response().body) for _ in range(3)]
    s.close()
    assert [b["target"] for b in bodies] == [art("one"), upload("two"), art("three")]
    reqs = echo.wait_requests(3)
    assert [(q.method, q.target, bytes(q.body)) for q in reqs] == [
        ("GET", art("one"), b""), ("POST", upload("two"), b"abc"), ("GET", art("three"), b"")]
    assert echo.garbage() == []


def test_keepalive_many_requests_one_connection(we):
    w, echo = we
    s = httpraw.connect(w.port)
    r = httpraw.Reader(s)
    for i in range(50):
        s.sendall(req("GET", art("k%d" % i)))
        assert json.loads(r.response().body)["target"] == art("k%d" % i)
    s.close()
    assert len(echo.wait_requests(50)) == 50


@pytest.mark.parametrize("first", [
    "/api/2.0/mlflow/experiments/search?max_results=1",  # filtered: Warden pages, answers 200
    "/api/2.0/mlflow/experiments/get?experiment_id=1",   # look-up fails on the echo: 503
], ids=["filtered-search", "lookup-answer"])
def test_keepalive_after_answer_that_waited(echo, warden_factory, tmp_path, first):
    """A non-admin's request whose answer Warden writes after waiting for its own requests to
    MLflow: the next request on the same connection is served (or the answer said close)."""
    pats = str(tmp_path / "pats.jsonl")
    token = subprocess.run([WARDENCTL_BIN, "pat", "create", "--user", "nobody", "--file", pats],
                           check=True, capture_output=True, text=True).stdout.strip()
    w = warden_factory(echo.url, {"auth": {"pat_file": pats}})
    auth = [("Authorization", "Bearer " + token)]
    s = httpraw.connect(w.port, timeout=3)
    r = httpraw.Reader(s)
    s.sendall(req("GET", first, auth, auth=False))
    resp = r.response()
    assert resp.status in (200, 503), resp
    if (resp.header("Connection") or "").lower() == "close":
        httpraw.assert_closed(s, r)
    else:
        s.sendall(req("GET", "/api/3.0/mlflow/server-info", auth, auth=False))
        try:
            nxt = r.response()
        except socket.timeout:
            pytest.fail("the next request on the keep-alive connection got no answer")
        assert nxt.status == 200 and json.loads(nxt.body)["target"] == "/api/3.0/mlflow/server-info"
    s.close()


def test_head_request_passthrough(we):
    w, echo = we
    s = httpraw.connect(w.port)
    r = httpraw.Reader(s)
    s.sendall(req("HEAD", art("h")))
    resp = r.response(method="HEAD")
    assert resp.status == 200 and resp.body == b""
    s.sendall(req("GET", art("after-head")))  # the connection stays in sync after a bodiless HEAD reply
    assert json.loads(r.response().body)["target"] == art("after-head")
    s.close()


# --- headers Warden sets ------------------------------------------------------------------------
def test_forwarded_headers_set_by_warden(we):
    w, echo = we
    resp = ok(w, req("GET", art("fw"), [
        ("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "evil"),
        ("Forwarded", "for=6.6.6.6;proto=https"), ("X-Real-IP", "6.6.6.6"),
        ("X-Forwarded-Port", "443")], host="client.example:8443"))
    q = one_upstream_request(echo)
    assert q.header("Host") == ["127.0.0.1:%d" % echo.port]
    assert q.header("X-Forwarded-For") == ["127.0.0.1"]
    assert q.header("X-Forwarded-Proto") == ["http"]
    assert q.header("X-Forwarded-Host") == ["client.example:8443"]
    assert q.header("Forwarded") == []
    assert q.header("X-Real-IP") == []
    assert "6.6.6.6" not in bytes(q.head_raw).decode("latin-1")
    rid = resp.header("X-Request-Id")
    assert rid and REQUEST_ID_RE.match(rid)
    assert q.header("X-Request-Id") == [rid]


def test_request_id_kept_when_well_formed(we):
    w, echo = we
    rid = "client-Req.42:abc"
    resp = ok(w, req("GET", art("rid"), [("X-Request-Id", rid)]))
    assert resp.header("X-Request-Id") == rid
    assert one_upstream_request(echo).header("X-Request-Id") == [rid]


@pytest.mark.parametrize("bad", ["has space", "a" * 129, "semi;colon", "slash/x", "ümlaut", ""],
                         ids=["space", "too-long", "semicolon", "slash", "non-ascii", "empty"])
def test_request_id_replaced_when_malformed(we, bad):
    w, echo = we
    resp = ok(w, req("GET", art("rid"), [("X-Request-Id", bad)]))
    rid = resp.header("X-Request-Id")
    assert rid and rid != bad and REQUEST_ID_RE.match(rid)
    assert one_upstream_request(echo).header("X-Request-Id") == [rid]


def test_request_ids_unique(we):
    w, echo = we
    ids = {ok(w, req("GET", art("u%d" % i))).header("X-Request-Id") for i in range(20)}
    assert len(ids) == 20


def test_underscore_header_names_dropped(we):
    w, echo = we
    ok(w, req("GET", art("us"), [("X_Forwarded_For", "6.6.6.6"), ("My_Header", "v"), ("X-Fine", "ok")]))
    q = one_upstream_request(echo)
    names = q.header_names()
    assert "x_forwarded_for" not in names and "my_header" not in names
    assert q.header("X-Fine") == ["ok"]
    assert q.header("X-Forwarded-For") == ["127.0.0.1"]


def test_H1_connection_cannot_remove_warden_headers(we):
    w, echo = we
    resp = ok(w, req("GET", art("h1"), [("Connection", "close, X-Request-Id, X-Forwarded-For, X-Auth-User")]))
    q = one_upstream_request(echo)
    assert q.header("X-Request-Id") == [resp.header("X-Request-Id")]
    assert q.header("X-Forwarded-For") == ["127.0.0.1"]
    assert q.header("X-Auth-User") == []
    assert q.header("Connection") in ([], ["keep-alive"], ["close"]), q.headers


def test_H2_connection_listing_forwarded_headers(we):
    w, echo = we
    ok(w, req("GET", art("h2"), [("Connection", "X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host"),
                             ("X-Forwarded-For", "6.6.6.6")], host="front.example"))
    q = one_upstream_request(echo)
    assert q.header("X-Forwarded-For") == ["127.0.0.1"]
    assert q.header("X-Forwarded-Proto") == ["http"]
    assert q.header("X-Forwarded-Host") == ["front.example"]


def test_H3_connection_authorization_whole_or_removed(we):
    """`Connection: Authorization`: the credential is either used and forwarded whole, used and
    removed, or removed before authentication (401) — never half-processed."""
    w, echo = we
    token = httpraw.DEFAULT_HEADERS[0][1]
    resp, s, r = httpraw.exchange(w.port, req("GET", art("h3"), [("Connection", "Authorization"),
                                                             ("Authorization", token)], auth=False))
    s.close()
    if resp.status == 401:
        time.sleep(SETTLE)
        assert echo.total_bytes() == 0
        return
    assert resp.status == 200, resp
    q = one_upstream_request(echo)
    assert q.header("Authorization") in ([], [token]), q.headers


def test_unauthenticated_request_refused(we):
    w, echo = we
    for extra in ([], [("Authorization", "Bearer wdn_pat_not-a-real-token")],
                  [("Authorization", "Basic Zm9vOmJhcg==")]):
        resp, s, r = httpraw.exchange(w.port, req("GET", "/api/2.0/mlflow/experiments/search", extra,
                                                  auth=False))
        s.close()
        body = _assert_error_shape(resp, 401)
        assert resp.header("WWW-Authenticate"), resp
        assert body["error_code"]
    time.sleep(SETTLE)
    assert echo.total_bytes() == 0


def test_X1_expect_without_credentials_gets_401_not_100(we):
    w, echo = we
    s = httpraw.connect(w.port)
    s.sendall(b"PUT /api/2.0/mlflow-artifacts/artifacts/0/x HTTP/1.1\r\nHost: localhost\r\n"
              b"Expect: 100-continue\r\nContent-Length: 10737418240\r\n\r\n")
    r = httpraw.Reader(s)
    first = r.response(keep_interim=True)
    assert first.status == 401, "got %r first" % first
    _assert_error_shape(first, 401)
    # the 10 GB body is never invited: the connection is closed (or drained within a bound)
    s.settimeout(5)
    try:
        s.sendall(b"x" * 65536)
        rest = s.recv(100)
        assert rest == b"", rest
    except (BrokenPipeError, ConnectionResetError):
        pass
    except socket.timeout:
        pytest.fail("connection neither closed nor answered after refusing an Expect upload")
    s.close()
    time.sleep(SETTLE)
    assert echo.total_bytes() == 0


def test_headers_named_in_connection_removed(we):
    w, echo = we
    ok(w, req("GET", art("named"), [("Connection", "keep-alive, X-Secret, x-other"), ("X-Secret", "1"),
                                ("X-Other", "2"), ("X-Kept", "3")]))
    q = one_upstream_request(echo)
    assert q.header("X-Secret") == [] and q.header("X-Other") == []
    assert q.header("X-Kept") == ["3"]


def test_H6_hop_by_hop_never_forwarded(we):
    w, echo = we
    ok(w, req("GET", art("h6"), [("Keep-Alive", "timeout=5"), ("TE", "trailers"), ("Trailer", "X-T"),
                             ("Proxy-Authorization", "Basic Zm9vOmJhcg=="), ("Proxy-Connection", "keep-alive"),
                             ("Connection", "keep-alive")]))
    q = one_upstream_request(echo)
    for h in ("Keep-Alive", "TE", "Trailer", "Proxy-Authorization", "Proxy-Connection"):
        assert q.header(h) == [], (h, q.headers)
    assert q.header("Connection") in ([], ["keep-alive"]), q.headers


def test_end_to_end_headers_kept_in_order(we):
    w, echo = we
    body = httpraw.log_metric_body()  # a JSON route: the body is read whole and re-serialised
    ok(w, req("POST", httpraw.LOG_METRIC, [("Content-Type", "application/json"), ("Accept", "*/*"),
                                           ("X-A", "1"), ("X-A", "2"), ("User-Agent", "t/1"),
                                           ("Content-Length", str(len(body)))], body))
    q = one_upstream_request(echo)
    assert json.loads(bytes(q.body)) == json.loads(body)
    assert q.header("Accept") == ["*/*"]
    assert q.header("X-A") == ["1", "2"]
    assert q.header("Content-Type") == ["application/json"]
    assert q.header("User-Agent") == ["t/1"]


def test_upstream_host_setting(echo, warden_factory):
    w = warden_factory(echo.url, {"upstream": {"host": "mlflow.internal:5000"}})
    ok(w, req("GET", art("host"), host="anything.example"))
    q = one_upstream_request(echo)
    assert q.header("Host") == ["mlflow.internal:5000"]
    assert q.header("X-Forwarded-Host") == ["anything.example"]


# --- O4 ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("data", [
    pytest.param(b"TRACE /x HTTP/1.1\r\nHost: localhost\r\n\r\n", id="TRACE"),
    pytest.param(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", id="CONNECT"),
    pytest.param(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", id="PRI-h2-preface"),
    pytest.param(b"GET * HTTP/1.1\r\nHost: localhost\r\n\r\n", id="asterisk-form"),
    pytest.param(b"BREW /x HTTP/1.1\r\nHost: localhost\r\n\r\n", id="unknown-method"),
])
def test_O4_methods_and_forms_refused(we, data):
    w, echo = we
    before = echo.total_bytes()
    s = httpraw.connect(w.port)
    s.sendall(data)
    r = httpraw.Reader(s)
    resp = r.response()
    assert resp.status in (400, 405, 501, 505), resp
    _assert_error_shape(resp, resp.status)
    s.close()
    time.sleep(SETTLE)
    assert echo.total_bytes() == before


# --- limits ----------------------------------------------------------------------------------------
def test_request_line_limit_default_414(we):
    w, echo = we
    refused(w, echo, req("GET", padded(art(), 9001)), 414)


def test_header_bytes_limit_default_431(we):
    w, echo = we
    hdrs = [("X-Pad-%d" % i, "v" * 1000) for i in range(40)]  # ~41 KB > 32k default
    refused(w, echo, req("GET", art(), hdrs), 431)


def test_header_count_limit_default_431(we):
    w, echo = we
    refused(w, echo, req("GET", art(), [("X-H%d" % i, "v") for i in range(120)]), 431)


def test_within_default_limits_ok(we):
    w, echo = we
    target = padded(art(), 7001)  # an artifact path is at most 1 KiB: the length is in the query
    ok(w, req("GET", target, [("X-H%d" % i, "v" * 200) for i in range(90)]))
    q = one_upstream_request(echo)
    assert len(q.target) == 7001 and q.target == target


def test_configured_limits(echo, warden_factory):
    w = warden_factory(echo.url, {"limits": {"request_line": "1k", "header_bytes": "4k", "headers": 10}})
    ok(w, req("GET", padded(art(), 901), [("X-H%d" % i, "v") for i in range(8)]))
    echo.reset()
    refused(w, echo, req("GET", padded(art(), 1101)), 414)
    refused(w, echo, req("GET", art(), [("X-Big", "v" * 5000)]), 431)
    refused(w, echo, req("GET", art(), [("X-H%d" % i, "v") for i in range(12)]), 431)


def test_limit_refusal_when_head_arrives_slowly(we):
    """The 431 must come as soon as the limit is crossed, without waiting for the end of the head."""
    w, echo = we
    s = httpraw.connect(w.port)
    s.sendall(b"GET /x HTTP/1.1\r\nHost: localhost\r\n")
    for i in range(60):  # one header line at a time until Warden answers
        s.sendall(b"X-Pad-%d: %s\r\n" % (i, b"v" * 1000))
        if select.select([s], [], [], 0.02)[0]:
            break
    else:
        pytest.fail("no answer after 60 KB of headers")
    r = httpraw.Reader(s)
    resp = r.response()
    _assert_error_shape(resp, 431)
    s.close()
    time.sleep(SETTLE)
    assert echo.total_bytes() == 0


# --- Expect: 100-continue ------------------------------------------------------------------------
def test_X1_refused_request_with_expect_gets_no_100(we):
    w, echo = we
    data = (b"PUT /api/2.0/mlflow-artifacts/artifacts/0/big HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\n"
            b"Content-Length: 10737418240\r\nX Bad Name: 1\r\n\r\n")
    s = httpraw.connect(w.port)
    s.sendall(data)
    r = httpraw.Reader(s)
    first = r.response(keep_interim=True)
    assert first.status == 400, "got %r before the refusal" % first
    _assert_error_shape(first, 400)
    httpraw.assert_closed(s, r)
    s.close()
    time.sleep(SETTLE)
    assert echo.total_bytes() == 0


def test_X2_100_continue_sent_by_warden_then_body_streamed(we):
    w, echo = we
    total = 10 * 1024 * 1024 * 1024
    s = httpraw.connect(w.port, timeout=10)
    s.sendall(b"PUT %s HTTP/1.1\r\n" % art("stream").encode() + httpraw.host_auth() + b"Expect: 100-continue\r\n"
              b"Content-Length: %d\r\n\r\n" % total)
    r = httpraw.Reader(s)
    interim = r.response(keep_interim=True)
    assert interim.status == 100, interim
    chunk = b"z" * 65536
    for _ in range(32):  # 2 MiB of 10 GiB: the upstream must see it before the body ends
        s.sendall(chunk)
    deadline = time.time() + 10
    while time.time() < deadline and echo.total_bytes() < 2 * 1024 * 1024:
        time.sleep(0.05)
    reqs = echo.requests()
    assert len(reqs) == 1 and not reqs[0].complete
    assert reqs[0].header("Expect") == []
    assert reqs[0].header("Content-Length") == [str(total)] or reqs[0].header("Transfer-Encoding") == ["chunked"]
    assert echo.total_bytes() >= 2 * 1024 * 1024, "body not streamed upstream (buffered?)"
    s.close()


def test_X3_expect_with_body_sent_immediately(we):
    w, echo = we
    s = httpraw.connect(w.port)
    s.sendall(b"POST %s HTTP/1.1\r\n" % upload("x3").encode() + httpraw.host_auth()
              + b"Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello" + req("GET", art("x3-next")))
    r = httpraw.Reader(s)
    a = r.response()  # a 100 Continue before it (if any) is skipped
    b = r.response()
    s.close()
    assert a.status == 200 and json.loads(a.body)["target"] == upload("x3")
    assert b.status == 200 and json.loads(b.body)["target"] == art("x3-next")
    reqs = echo.wait_requests(2)
    assert [(q.target, bytes(q.body)) for q in reqs] == [(upload("x3"), b"hello"), (art("x3-next"), b"")]
    assert all(q.header("Expect") == [] for q in reqs)
    assert echo.garbage() == []


def test_X4_unknown_expectation_417(we):
    w, echo = we
    s = httpraw.connect(w.port)
    s.sendall(req("GET", art("x4"), [("Expect", "something-else")]))
    r = httpraw.Reader(s)
    resp = r.response()
    _assert_error_shape(resp, 417)
    s.close()
    time.sleep(SETTLE)
    assert echo.total_bytes() == 0


def test_X4_unknown_expectation_with_body_closes(we):
    w, echo = we
    refused(w, echo, req("POST", upload("x4"), [("Expect", "something-else"), ("Content-Length", "5")], b"hello"
                         + req("GET", art("hidden"))), 417)


def test_X5_upstream_early_reply_not_reused_with_unread_body(warden_factory):
    echo = EchoUpstream(mode="early")
    try:
        w = warden_factory(echo.url, {"server": {"workers": 1}, "upstream": {"max_idle": 4},
                                      "timeouts": {"upstream_first_byte": "3s"}})
        body_len = 4 * 1024 * 1024
        s = httpraw.connect(w.port, timeout=10)
        s.sendall(b"POST %s HTTP/1.1\r\n" % upload("early").encode() + httpraw.host_auth() + b"Content-Length: %d\r\n\r\n" % body_len)
        s.sendall(b"q" * 65536)  # only part of the body
        r = httpraw.Reader(s)
        resp = r.response()
        assert resp.status == 400 and json.loads(resp.body)["target"] == upload("early")
        s.close()  # the client gives up; the rest of the body never comes
        echo.mode = "normal"
        # A new request must reach the upstream as a request of its own, never as body bytes of
        # the abandoned one on a reused connection.
        for i in range(3):
            resp = ok(w, req("GET", art("after-%d" % i)))
            assert json.loads(resp.body)["target"] == art("after-%d" % i)
        targets = [q.target for q in echo.requests()]
        assert targets[0] == upload("early") and targets[1:] == [art("after-%d" % i) for i in range(3)]
        assert echo.garbage() == []
    finally:
        echo.close()


@pytest.mark.parametrize("bad", [b"0x5\r\nhello\r\n", b"5\nhello\r\n", b"3\r\nhello\r\n"],
                         ids=["hex-prefix", "bare-lf", "overlong-data"])
def test_bad_chunk_after_streaming_started(we, bad):
    """A chunk error after part of the body was already streamed upstream: the client gets 400
    and a close, the upstream connection carrying the partial request is aborted (never
    completed, never reused)."""
    w, echo = we
    s = httpraw.connect(w.port)
    s.sendall(req("POST", upload("stream-bad"), [("Transfer-Encoding", "chunked")], b"5\r\nfirst\r\n"))
    deadline = time.time() + 5
    while time.time() < deadline and not echo.requests():
        time.sleep(0.02)
    s.sendall(bad + b"0\r\n\r\n")
    r = httpraw.Reader(s)
    resp = r.response()
    _assert_error_shape(resp, 400)
    assert (resp.header("Connection") or "").lower() == "close"
    httpraw.assert_closed(s, r)
    s.close()
    time.sleep(SETTLE)
    reqs = echo.requests()
    assert not [q for q in reqs if q.complete], reqs
    for q in reqs:
        assert _conn_closed(echo, q.conn_id), "upstream connection kept after a broken body"
    ok(w, req("GET", art("after-bad-chunk")))  # and the next request is served cleanly
    assert [q.target for q in echo.requests() if q.complete] == [art("after-bad-chunk")]
