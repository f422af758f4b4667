"""Every connection state has a timeout (config-spec.md [timeouts]); short ones keep this fast.

Client side: header read deadline (total, not per byte), body idle, keep-alive idle, client not
reading the response. Upstream side: connect failure (502), connect timeout (502/504), first
byte (504), body stall (close). And slow clients must not hold up a normal one.
"""

import json
import socket
import threading
import time

import pytest

from conftest import SANITIZED, closed_port
from echo_upstream import EchoUpstream
import httpraw
from httpraw import req, art, upload

SLACK = 3.0 if SANITIZED else 2.0
SHORT = {"client_header": "1s", "client_body_idle": "1s", "keepalive_idle": "1s",
         "upstream_connect": "1s", "upstream_first_byte": "1s", "upstream_idle": "1s",
         "client_write_idle": "1s"}


@pytest.fixture
def short(echo, warden_factory):
    return warden_factory(echo.url, {"timeouts": SHORT})


def wait_answer_or_close(sock, limit):
    """Read until EOF/reset or `limit` seconds; return (elapsed, bytes received)."""
    sock.settimeout(limit)
    t0 = time.time()
    got = b""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                break
            got += data
    except ConnectionResetError:
        pass
    except socket.timeout:
        pytest.fail("connection still open after %.1fs (got %r)" % (limit, got[:200]))
    return time.time() - t0, got


def assert_408_or_plain_close(got):
    if got:
        r = httpraw.Reader(None)
        r.buf = bytearray(got)
        r.eof = True
        resp = r.response()
        assert resp.status == 408, resp
        body = json.loads(resp.body)
        assert body["error_code"] and body["message"]


def test_client_header_timeout(short, echo):
    s = httpraw.connect(short.port)
    s.sendall(b"GET %s HTTP/1.1\r\nHost: localhost\r\n" % art("slow-head").encode())
    elapsed, got = wait_answer_or_close(s, 1 + SLACK)
    assert elapsed >= 0.7, "closed after %.2fs, before the 1s header timeout" % elapsed
    assert_408_or_plain_close(got)
    assert echo.total_bytes() == 0


def test_client_header_timeout_is_total_not_per_byte(short, echo):
    s = httpraw.connect(short.port)
    s.sendall(b"GET %s HTTP/1.1\r\nHost: localhost\r\n" % art("trickle").encode())
    t0 = time.time()
    closed = False
    try:
        for _ in range(int((1 + SLACK) / 0.2)):
            s.sendall(b"X")  # one byte every 200 ms: a per-byte timer would never fire
            time.sleep(0.2)
            if time.time() - t0 > 1 + SLACK:
                break
    except (BrokenPipeError, ConnectionResetError):
        closed = True
    if not closed:
        elapsed, got = wait_answer_or_close(s, 0.5)
        assert_408_or_plain_close(got)
    assert time.time() - t0 <= 1 + SLACK + 0.7
    assert echo.total_bytes() == 0


def test_idle_new_connection_closed(short):
    s = httpraw.connect(short.port)
    elapsed, got = wait_answer_or_close(s, 1 + SLACK)
    assert got == b"" or got.startswith(b"HTTP/1.1 408"), got


def test_client_body_idle_timeout(short, echo):
    s = httpraw.connect(short.port)
    s.sendall(b"POST %s HTTP/1.1\r\n" % upload("slow-body").encode() + httpraw.host_auth() + b"Content-Length: 100\r\n\r\n0123456789")
    elapsed, got = wait_answer_or_close(s, 1 + SLACK)
    assert elapsed >= 0.7
    assert_408_or_plain_close(got)
    time.sleep(0.3)
    assert not [q for q in echo.requests() if q.complete], "upstream got a complete request"


def test_client_body_idle_is_idle_not_total(short, echo):
    """Body bytes every 400 ms for ~3 s with a 1 s idle timeout: the request completes."""
    s = httpraw.connect(short.port, timeout=10)
    s.sendall(b"POST %s HTTP/1.1\r\n" % upload("drip").encode() + httpraw.host_auth() + b"Content-Length: 8\r\n\r\n")
    for b in b"abcdefgh":
        time.sleep(0.4)
        s.sendall(bytes([b]))
    resp = httpraw.Reader(s).response()
    assert resp.status == 200, resp
    assert bytes(echo.wait_requests(1)[0].body) == b"abcdefgh"


def test_keepalive_idle_close(short):
    s = httpraw.connect(short.port)
    r = httpraw.Reader(s)
    s.sendall(req("GET", art("ka")))
    assert r.response().status == 200
    elapsed, got = wait_answer_or_close(s, 1 + SLACK)
    assert got == b"", got
    assert elapsed >= 0.7


def test_upstream_connect_refused_502(warden_factory):
    w = warden_factory("http://127.0.0.1:%d" % closed_port(), {"timeouts": SHORT})
    resp, s, r = httpraw.exchange(w.port, req("GET", art("down")))
    s.close()
    assert resp.status == 502, resp
    body = json.loads(resp.body)
    assert body["error_code"] and body["message"]
    assert resp.header("X-Request-Id")


def test_upstream_connect_timeout(warden_factory):
    """An upstream whose accept queue is full drops our SYNs: upstream_connect must fire."""
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(0)
    filler = socket.create_connection(hole.getsockname())  # fills the queue; SYNs now dropped
    try:
        w = warden_factory("http://127.0.0.1:%d" % hole.getsockname()[1], {"timeouts": SHORT})
        t0 = time.time()
        resp, s, r = httpraw.exchange(w.port, req("GET", art("blackhole")), timeout=1 + SLACK + 2)
        s.close()
        elapsed = time.time() - t0
        assert resp.status in (502, 504), resp
        assert json.loads(resp.body)["error_code"]
        assert 0.7 <= elapsed <= 1 + SLACK, elapsed
    finally:
        filler.close()
        hole.close()


def test_upstream_first_byte_timeout_504(warden_factory):
    echo = EchoUpstream(mode="hang")
    try:
        w = warden_factory(echo.url, {"timeouts": SHORT})
        t0 = time.time()
        resp, s, r = httpraw.exchange(w.port, req("GET", art("hang")), timeout=1 + SLACK + 2)
        s.close()
        assert resp.status == 504, resp
        assert json.loads(resp.body)["error_code"]
        assert 0.7 <= time.time() - t0 <= 1 + SLACK
        # the hung upstream connection is dropped, not returned to the pool
        deadline = time.time() + 2
        while time.time() < deadline and not all(c.closed for c in echo._conns):
            time.sleep(0.05)
        assert all(c.closed for c in echo._conns), "upstream connection kept after 504"
    finally:
        echo.close()


def test_upstream_body_stall_closes_client(warden_factory):
    echo = EchoUpstream(mode="stall", big_size=1000)
    try:
        w = warden_factory(echo.url, {"timeouts": SHORT})
        s = httpraw.connect(w.port, timeout=1 + SLACK + 2)
        s.sendall(req("GET", art("stall")))
        elapsed, got = wait_answer_or_close(s, 1 + SLACK + 1)
        assert got.startswith(b"HTTP/1.1 200"), got[:100]
        head, _, body = got.partition(b"\r\n\r\n")
        assert body == b"0123456789", "a truncated body must end with a close, nothing appended"
    finally:
        echo.close()


def test_client_not_reading_response_closed(warden_factory):
    echo = EchoUpstream(mode="big", big_size=1 << 30)
    try:
        w = warden_factory(echo.url, {"timeouts": SHORT})
        s = httpraw.connect(w.port)
        s.sendall(req("GET", art("big")))
        time.sleep(1 + SLACK + 1)  # we do not read: Warden must give up on us
        assert echo.sent_bytes < 64 << 20, "upstream body was not back-pressured"
        total = 0
        eof = False
        s.settimeout(2)
        deadline = time.time() + 10
        try:
            while time.time() < deadline:
                data = s.recv(1 << 20)
                if not data:
                    eof = True
                    break
                total += len(data)
        except ConnectionResetError:
            eof = True
        except socket.timeout:
            pass
        s.close()
        assert eof and total < (1 << 30), (
            "connection not closed for a client that stopped reading (read %d bytes after)" % total)
    finally:
        echo.close()


def test_slow_clients_do_not_block_normal_client(short, echo):
    slow = []
    for i in range(200):
        s = httpraw.connect(short.port)
        s.sendall(b"GET %s HTTP/1.1\r\n" % art("slowloris-%d" % i).encode() + httpraw.host_auth() + b"X-A: ")
        slow.append(s)
    t0 = time.time()
    for i in range(5):
        resp, s, r = httpraw.exchange(short.port, req("GET", art("normal-%d" % i)))
        s.close()
        assert resp.status == 200
    assert time.time() - t0 < 1.0, "normal requests were slowed down by slow clients"
    time.sleep(1 + SLACK)
    still_open = 0
    for s in slow:
        s.settimeout(0.2)
        try:
            data = s.recv(100)
            if data and not data.startswith(b"HTTP/1.1 408"):
                still_open += 1
        except (socket.timeout, BlockingIOError):
            still_open += 1
        except ConnectionResetError:
            pass
        s.close()
    assert still_open == 0, "%d slow connections outlived the header timeout" % still_open
    assert [q.target for q in echo.requests()] == [art("normal-%d" % i) for i in range(5)]


def test_concurrent_clients(warden_echo, echo):
    errors = []

    def worker(n):
        try:
            s = httpraw.connect(warden_echo.port)
            r = httpraw.Reader(s)
            for i in range(20):
                target = upload("c%d-%d" % (n, i))
                s.sendall(req("POST", target, [("Content-Length", "4")], b"data"))
                resp = r.response()
                assert resp.status == 200 and json.loads(resp.body)["target"] == target
            s.close()
        except Exception as e:  # noqa: BLE001 - collected and reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(echo.wait_requests(400)) == 400
