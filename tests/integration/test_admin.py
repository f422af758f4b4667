"""The admin listener: /healthz, /readyz (upstream reachable), /metrics (Prometheus text)."""

import math
import time

import requests

import httpraw
import promtext
from conftest import auth_headers, closed_port
from httpraw import req, art

REQUIRED = ["warden_requests_total", "warden_active_connections", "warden_upstream_errors_total",
            "warden_request_duration_seconds_bucket", "warden_request_duration_seconds_sum",
            "warden_request_duration_seconds_count"]


def metrics(w):
    r = requests.get(w.admin_url + "/metrics", timeout=5)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain"), r.headers
    return promtext.parse(r.text)


def test_healthz(warden_echo):
    r = requests.get(warden_echo.admin_url + "/healthz", timeout=5)
    assert r.status_code == 200
    assert r.text.strip() == "ok"


def test_readyz_follows_upstream(echo, warden_factory):
    w = warden_factory(echo.url)
    assert requests.get(w.admin_url + "/readyz", timeout=5).status_code == 200
    echo.close()
    time.sleep(0.2)
    deadline = time.time() + 5
    status = None
    while time.time() < deadline:
        status = requests.get(w.admin_url + "/readyz", timeout=5).status_code
        if status == 503:
            break
        time.sleep(0.2)
    assert status == 503


def test_readyz_upstream_down_from_start(warden_factory):
    w = warden_factory("http://127.0.0.1:%d" % closed_port())
    assert requests.get(w.admin_url + "/readyz", timeout=5).status_code == 503
    assert requests.get(w.admin_url + "/healthz", timeout=5).status_code == 200


def test_admin_unknown_path_404(warden_echo):
    assert requests.get(warden_echo.admin_url + "/nope", timeout=5).status_code == 404


def test_admin_not_on_data_listener(warden_echo, echo):
    """/metrics on the data listener is just proxied (the admin plane is a separate port): it is
    MLflow's own metrics route, admin-only in Warden's route table (the test user is an admin)."""
    r = requests.get(warden_echo.url + "/metrics", headers=auth_headers(), timeout=5)
    assert r.json()["echo"] is True


def test_metrics_format_and_required_series(warden_echo):
    samples, types = metrics(warden_echo)
    names = {n for n, _ in samples}
    for name in REQUIRED:
        assert name in names, "missing %s in /metrics" % name
    assert types.get("warden_requests_total") == "counter"
    assert types.get("warden_active_connections") == "gauge"
    assert types.get("warden_upstream_errors_total") == "counter"
    assert types.get("warden_request_duration_seconds") == "histogram"


def _check_histogram(samples):
    buckets = sorted(((float(dict(lbl)["le"]) if dict(lbl)["le"] not in ("+Inf",) else math.inf), v)
                     for (n, lbl), v in samples.items() if n == "warden_request_duration_seconds_bucket")
    assert buckets and buckets[-1][0] == math.inf
    values = [v for _, v in buckets]
    assert values == sorted(values), "histogram buckets are not cumulative"
    assert buckets[-1][1] == promtext.value(samples, "warden_request_duration_seconds_count")


def test_metrics_counters_move(warden_echo, echo):
    w = warden_echo
    s0, _ = metrics(w)
    for i in range(7):
        assert requests.get(w.url + art("m%d" % i), headers=auth_headers(), timeout=5).status_code == 200
    resp, s, r = httpraw.exchange(w.port, req("GET", art("bad"), [("A B", "c")]))
    s.close()
    assert resp.status == 400
    s1, _ = metrics(w)
    d2 = promtext.value(s1, "warden_requests_total", **{"class": "2xx"}) - (
        promtext.value(s0, "warden_requests_total", **{"class": "2xx"}) or 0)
    d4 = promtext.value(s1, "warden_requests_total", **{"class": "4xx"}) - (
        promtext.value(s0, "warden_requests_total", **{"class": "4xx"}) or 0)
    assert d2 == 7, d2
    assert d4 == 1, d4
    c0 = promtext.value(s0, "warden_request_duration_seconds_count")
    c1 = promtext.value(s1, "warden_request_duration_seconds_count")
    assert c1 - c0 >= 7
    assert promtext.value(s1, "warden_request_duration_seconds_sum") > 0
    _check_histogram(s1)


def test_metrics_upstream_errors_and_5xx(warden_factory):
    w = warden_factory("http://127.0.0.1:%d" % closed_port())
    s0, _ = metrics(w)
    for _ in range(3):
        assert requests.get(w.url + art(), headers=auth_headers(), timeout=5).status_code == 502
    s1, _ = metrics(w)
    assert promtext.total(s1, "warden_upstream_errors_total") - promtext.total(s0, "warden_upstream_errors_total") >= 3
    assert promtext.value(s1, "warden_requests_total", **{"class": "5xx"}) - (
        promtext.value(s0, "warden_requests_total", **{"class": "5xx"}) or 0) == 3


def test_metrics_active_connections(warden_echo):
    w = warden_echo
    base = promtext.value(metrics(w)[0], "warden_active_connections")
    socks = []
    for _ in range(5):
        s = httpraw.connect(w.port)
        s.sendall(req("GET", art("hold")))
        assert httpraw.Reader(s).response().status == 200
        socks.append(s)
    held = promtext.value(metrics(w)[0], "warden_active_connections")
    assert held - base >= 5, (base, held)
    for s in socks:
        s.close()
    deadline = time.time() + 3
    while time.time() < deadline:
        now = promtext.value(metrics(w)[0], "warden_active_connections")
        if now <= base:
            break
        time.sleep(0.1)
    assert now <= base, (base, now)
