"""Graceful shutdown: SIGTERM/SIGINT stop accepting, let in-flight requests finish within
server.shutdown_timeout, then exit 0 (config-spec.md, Signals)."""

import json
import signal
import socket
import threading
import time

import pytest

from conftest import SANITIZED
from echo_upstream import EchoUpstream
import httpraw
from httpraw import req, art

SLACK = 3.0 if SANITIZED else 1.5


def _in_flight(w, path, results):
    def go():
        try:
            resp, s, r = httpraw.exchange(w.port, req("GET", path), timeout=30)
            s.close()
            results.append(resp)
        except Exception as e:  # noqa: BLE001 - reported by the test
            results.append(e)

    t = threading.Thread(target=go)
    t.start()
    return t


def _refused(port):
    """True when a new connection gets no service: refused, reset, or closed without an answer."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
    except (ConnectionRefusedError, ConnectionResetError):
        return True
    try:
        s.sendall(req("GET", art("late")))
        s.settimeout(2)
        data = s.recv(100)
        return data == b"" or data.startswith(b"HTTP/1.1 503")
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    finally:
        s.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_inflight_request_completes(warden_factory, sig):
    echo = EchoUpstream(mode="slow", delay=2.0)
    try:
        w = warden_factory(echo.url, {"server": {"shutdown_timeout": "10s"}})
        results = []
        t = _in_flight(w, art("slow"), results)
        echo.wait_requests(1)
        deadline = time.time() + 5
        while time.time() < deadline and echo.count() < 1:
            time.sleep(0.02)
        assert echo.count() == 1
        t0 = time.time()
        w.signal(sig)
        time.sleep(0.3)
        assert w.alive(), "warden exited with a request in flight"
        assert _refused(w.port), "new connection accepted and served during shutdown"
        t.join(15)
        assert results and not isinstance(results[0], Exception), results
        assert results[0].status == 200 and json.loads(results[0].body)["target"] == art("slow")
        assert w.proc.wait(10) == 0
        assert time.time() - t0 < 2.0 + SLACK + 2, "exit took too long after the request finished"
    finally:
        echo.close()


def test_shutdown_deadline_bounds_hung_request(warden_factory):
    echo = EchoUpstream(mode="hang")
    try:
        w = warden_factory(echo.url, {"server": {"shutdown_timeout": "1s"},
                                      "timeouts": {"upstream_first_byte": "60s"}})
        results = []
        t = _in_flight(w, art("hang"), results)
        deadline = time.time() + 5
        while time.time() < deadline and echo.count() < 1:
            time.sleep(0.02)
        t0 = time.time()
        w.signal(signal.SIGTERM)
        rc = w.proc.wait(1 + SLACK + 3)
        elapsed = time.time() - t0
        assert rc == 0
        assert 0.8 <= elapsed <= 1 + SLACK + 1, elapsed
        t.join(5)
        r = results[0] if results else None
        assert isinstance(r, httpraw.Closed) or (hasattr(r, "status") and r.status in (502, 503, 504)), r
    finally:
        echo.close()


def test_idle_keepalive_connections_do_not_delay_exit(warden_echo):
    w = warden_echo
    socks = []
    for i in range(5):
        s = httpraw.connect(w.port)
        s.sendall(req("GET", art("idle-%d" % i)))
        resp = httpraw.Reader(s).response()
        assert resp.status == 200 and (resp.header("Connection") or "").lower() != "close", resp
        socks.append(s)
    t0 = time.time()
    w.signal(signal.SIGTERM)
    assert w.proc.wait(10) == 0
    assert time.time() - t0 < 1 + SLACK, "idle keep-alive connections held up the exit"
    for s in socks:
        s.settimeout(2)
        try:
            assert s.recv(100) == b""
        except ConnectionResetError:
            pass
        s.close()


def test_exit_promptly_when_idle(warden_echo):
    t0 = time.time()
    warden_echo.signal(signal.SIGTERM)
    assert warden_echo.proc.wait(10) == 0
    assert time.time() - t0 < 1 + SLACK
