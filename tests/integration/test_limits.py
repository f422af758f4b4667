"""Connection limits: the per-worker upstream connection cap answers 503 (MLflow-shaped JSON,
connection kept for the next request), and the per-worker client connection cap closes new
connections at once without disturbing the open ones.
"""

import socket
import time

from conftest import auth_headers
from echo_upstream import EchoUpstream

import httpraw
from httpraw import art
import requests


def test_upstream_max_conns_answers_503(warden_factory):
    echo = EchoUpstream(mode="hang")
    try:
        w = warden_factory(echo.url, {"server": {"workers": 1},
                                      "upstream": {"max_conns": 1, "max_idle": 1},
                                      "timeouts": {"upstream_first_byte": "3s"}})
        busy = httpraw.connect(w.port)
        busy.sendall(httpraw.req("GET", art("holds-the-only-connection")))
        deadline = time.time() + 3
        while echo.count() < 1 and time.time() < deadline:
            time.sleep(0.02)
        assert echo.count() == 1
        resp, s, r = httpraw.exchange(w.port, httpraw.req("GET", art("second")))
        assert resp.status == 503, resp
        body = resp.json()
        assert body["error_code"] == "TEMPORARILY_UNAVAILABLE"
        assert "limit" in body["message"]
        assert resp.header("X-Request-Id")
        # the refused request left no trace upstream, and its connection stays usable
        assert [q.target for q in echo.requests()] == [art("holds-the-only-connection")]
        s.sendall(httpraw.req("GET", art("third")))
        again = r.response()
        assert again.status == 503
        s.close()
        busy.close()
        assert 'warden_requests_total{class="5xx"} 2' in w.metrics_text()
    finally:
        echo.close()


def test_client_max_connections_per_worker(echo, warden_factory):
    w = warden_factory(echo.url, {"server": {"workers": 1}, "limits": {"max_connections": 2}})
    a = httpraw.connect(w.port)
    b = httpraw.connect(w.port)
    time.sleep(0.2)
    c = httpraw.connect(w.port)  # accepted by the kernel, closed by Warden at once
    c.settimeout(3)
    try:
        assert c.recv(1) == b""
    except ConnectionResetError:
        pass
    # the two open ones still work
    for s in (a, b):
        s.sendall(httpraw.req("GET", art("ok")))
        assert httpraw.Reader(s).response().status == 200
    a.close()
    time.sleep(0.3)
    r = requests.get(w.url + art("after-close"), headers=auth_headers(), timeout=5)
    assert r.status_code == 200
    b.close()
    c.close()
