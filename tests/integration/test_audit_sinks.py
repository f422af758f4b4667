"""The audit pipeline end to end: a real Warden in front of the real MLflow server, auditing
to every sink kind at once — JSON and OCSF files, syslog over TCP and over TLS to a real
rsyslog, Redis Streams (read back through a consumer group), an HTTP collector.

  * every request and every lifecycle event (startup, reload, shutdown) reaches every sink,
    once each in a clean run, in sequence order; the request id in each record is the one
    the client got back; the file verifies with its signed checkpoints; OCSF lines carry
    OCSF's required API Activity attributes;
  * outage under load: rsyslog, Redis and the collector are stopped for a few seconds while
    requests keep coming, then restarted; every sequence number arrives at each, in order,
    at least once; spool and backlog figures are reported;
  * overflow = deny: a spool that fills because its only sink is down makes Warden answer 503
    (and not forward); when the sink returns, requests pass again and a record says how many
    were refused;
  * the HTTP sink over TLS verifies the collector's certificate (an untrusted one gets
    nothing, and the sink reports itself down).
"""

import json
import os
import shutil
import signal
import tempfile
import time

import pytest
import requests

import auditkit as ak
from conftest import auth_headers, closed_port, record_figure

pytestmark = pytest.mark.skipif(not os.path.exists(ak.RSYSLOGD), reason="rsyslog not installed")


@pytest.fixture
def tmp():
    d = tempfile.mkdtemp(prefix="warden-audit-it-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def collectors(tmp):
    """rsyslog (TCP, and TLS when the ossl driver is installed), Redis and an HTTP collector."""
    tls = ak.make_ca(os.path.join(tmp, "ca")) if ak.ossl_driver_available() else None
    rs = ak.Rsyslog(os.path.join(tmp, "rsyslog"), tls).start()
    rd = ak.RedisServer(os.path.join(tmp, "redis")).start()
    co = ak.Collector().start()
    yield {"rsyslog": rs, "redis": rd, "collector": co, "tls": tls}
    co.stop()
    rd.stop()
    rs.stop()


def sink_sections(tmp, c, retry_max="30s", confirm_delay="2s"):
    files = [("json", {"path": os.path.join(tmp, "audit.log"), "fsync": "never"}),
             ("ocsf", {"path": os.path.join(tmp, "audit.ocsf.log"), "format": "ocsf"})]
    syslogs = [("rs-tcp", {"address": "127.0.0.1:%d" % c["rsyslog"].tcp_port,
                           "retry_min": "50ms", "retry_max": retry_max,
                           "confirm_delay": confirm_delay})]
    if c["tls"]:
        syslogs.append(("rs-tls", {"address": "127.0.0.1:%d" % c["rsyslog"].tls_port,
                                   "transport": "tls", "ca_file": c["tls"]["ca"],
                                   "server_name": "localhost", "format": "ocsf",
                                   "retry_min": "50ms", "retry_max": retry_max,
                                   "confirm_delay": confirm_delay}))
    redis = [("stream", {"address": "127.0.0.1:%d" % c["redis"].port, "key": "warden:audit:it",
                         "maxlen": 1000000, "retry_min": "50ms", "retry_max": retry_max})]
    https = [("collector", {"url": "http://127.0.0.1:%d/ingest" % c["collector"].port,
                            "retry_min": "50ms", "retry_max": retry_max, "batch_max": 200})]
    return files, syslogs, redis, https


def all_sinks(tmp, c):
    """{sink name: [(seq, record)]} as each collector holds it now."""
    syslog = ak.syslog_records(c["rsyslog"].messages())
    out = {
        "file": ak.file_records(os.path.join(tmp, "audit.log")),
        "file-ocsf": ak.file_records(os.path.join(tmp, "audit.ocsf.log")),
        # Both syslog sinks write to the same rsyslog file; tell them apart by payload.
        "syslog-tcp": [(s, r) for s, r in syslog if "v" in r],
        "redis": ak.redis_records(c["redis"].port, "warden:audit:it"),
        "http": c["collector"].records(),
    }
    if c["tls"]:
        out["syslog-tls"] = [(s, r) for s, r in syslog if "class_uid" in r]
    return out


OCSF_BASE_REQUIRED = ("activity_id", "category_uid", "class_uid", "metadata", "severity_id",
                      "time", "type_uid")
OCSF_API_REQUIRED = ("actor", "api", "src_endpoint")


def check_ocsf(rec):
    for k in OCSF_BASE_REQUIRED + OCSF_API_REQUIRED:
        assert k in rec, (k, rec)
    assert rec["class_uid"] == 6003 and rec["category_uid"] == 6
    assert rec["type_uid"] == 600300 + rec["activity_id"]
    assert rec["metadata"]["product"]["name"] == "Warden" and rec["metadata"]["version"]
    assert "operation" in rec["api"]


def test_every_sink_receives_every_record(mlflow_server, warden_factory, collectors, tmp):
    priv, pub = ak.keygen(os.path.join(tmp, "keys"))
    files, syslogs, redis, https = sink_sections(tmp, collectors)
    w = warden_factory(mlflow_server.url, ak.audit_sections(
        os.path.join(tmp, "journal"), files, syslogs, redis, https,
        checkpoint_key=priv, checkpoint_interval="1s"))
    s = requests.Session()
    ids = []
    for i in range(60):
        rid = "it-audit-%03d" % i
        r = s.get(w.url + ak.SEARCH, headers=dict(auth_headers(), **{"X-Request-Id": rid}), timeout=30)
        assert r.status_code == 200, r.text
        assert r.headers["X-Request-Id"] == rid
        ids.append(rid)
    # A denied request (no credential) is audited too.
    r = s.get(w.url + ak.SEARCH, headers={"X-Request-Id": "it-audit-anon"}, timeout=30)
    assert r.status_code == 401
    assert requests.post(w.admin_url + "/reload", timeout=10).status_code == 200
    w.signal(signal.SIGUSR1)
    time.sleep(1.2)  # a periodic checkpoint
    assert w.stop() == 0

    sinks = all_sinks(tmp, collectors)
    head = max(s for s, _ in sinks["file"])
    for name, pairs in sinks.items():
        missing, reordered, dups = ak.check_delivery(pairs, 1, head)
        assert not missing, "%s lacks seq %s" % (name, missing[:20])
        assert reordered == 0, name
        assert dups == 0, "%s: %d duplicates in a clean run" % (name, dups)
        assert len(pairs) == head, name
    recs = [r for _, r in sinks["file"]]
    by_rid = {r["request_id"]: r for r in recs if r["request_id"]}
    for rid in ids:
        assert rid in by_rid, "no record for request %s" % rid
        assert by_rid[rid]["status"] == 200 and by_rid[rid]["method"] == "GET"
        assert by_rid[rid]["subject"]["user"] == "warden-test"
        assert by_rid[rid]["path"] == "/api/2.0/mlflow/experiments/search"
    assert by_rid["it-audit-anon"]["status"] == 401
    actions = [r["action"] for r in recs if r["service"] == "warden"]
    assert actions[0] == "startup" and "config_reload" in actions and "shutdown" in actions
    assert actions[-1] == "audit_checkpoint", actions[-3:]
    assert actions.count("audit_checkpoint") >= 2
    # Every rendering carries the same record.
    for seq, o in sinks["file-ocsf"]:
        check_ocsf(o)
    ocsf_by_seq = dict(sinks["file-ocsf"])
    for seq, r in sinks["file"][:5]:
        assert ocsf_by_seq[seq]["metadata"]["uid"] == r["event_id"]
    assert dict(sinks["redis"]) == dict(sinks["file"])
    assert dict(sinks["http"]) == dict(sinks["file"])
    assert dict(sinks["syslog-tcp"]) == dict(sinks["file"])
    if collectors["tls"]:
        assert {s: o["metadata"]["uid"] for s, o in sinks["syslog-tls"]} == \
            {s: r["event_id"] for s, r in sinks["file"]}
    # The file verifies with its checkpoints.
    p = ak.wardenctl("audit", "verify", "--key", pub, os.path.join(tmp, "audit.log"))
    assert p.returncode == 0, p.stderr
    assert "chain intact (first seq 1, last seq %d)" % head in p.stdout
    assert "verified with key" in p.stdout and "are signed" in p.stdout
    # The journal (the spool) verifies too.
    segs = sorted(os.listdir(os.path.join(tmp, "journal")))
    segs = [os.path.join(tmp, "journal", f) for f in segs if f.startswith("journal-")]
    p = ak.wardenctl("audit", "verify", *segs)
    assert p.returncode == 0, p.stderr


def backlog(text):
    return sum(float(l.split()[-1]) for l in text.splitlines()
               if l.startswith("warden_audit_sink_backlog_records{"))


def test_outage_under_load(mlflow_server, warden_factory, collectors, tmp):
    files, syslogs, redis, https = sink_sections(tmp, collectors, retry_max="500ms",
                                                 confirm_delay="1s")
    w = warden_factory(mlflow_server.url, ak.audit_sections(
        os.path.join(tmp, "journal"), files, syslogs, redis, https))
    rs, rd, co = collectors["rsyslog"], collectors["redis"], collectors["collector"]
    # MLflow answers a search in ~0.2 s here; unauthenticated requests (401 from Warden, one
    # record each) add load on the audit pipeline itself.
    requests.get(w.url + ak.SEARCH, headers=auth_headers(), timeout=60)  # warm MLflow up
    with ak.Load(w.url, threads=2) as mlflow_load, ak.Load(w.url, threads=2,
                                                            authenticated=False) as load:
        time.sleep(2)
        t_down = time.time()
        rs.stop()
        rd.stop()
        co.stop()
        peak_spool = peak_backlog = 0
        while time.time() - t_down < 4:
            m = w.metrics_text()
            peak_spool = max(peak_spool, ak.metric(m, "warden_audit_spool_bytes") or 0)
            peak_backlog = max(peak_backlog, backlog(m))
            time.sleep(0.2)
        m = w.metrics_text()
        down = [l for l in m.splitlines() if l.startswith("warden_audit_sink_up{") and l.endswith(" 0")]
        assert len(down) >= 3, m
        rs.start()
        rd.start()
        co.start()
        t_up = time.time()
        time.sleep(2)
    served = len(load.acked) + len(mlflow_load.acked)
    assert mlflow_load.acked and served > 200, (served, load.errors)
    caught_up = ak.wait_until(lambda: backlog(w.metrics_text()) == 0, timeout=60)
    catch_up_s = time.time() - t_up
    m = w.metrics_text()
    assert caught_up, m
    record_figure("audit outage: %d requests in %.1f s under load (4 clients, 2 to MLflow); "
                  "sinks down 4 s: spool peaked at %.0f KB, backlog %.0f records, queue max "
                  "depth %.0f; every sink caught up %.1f s after the collectors returned"
                  % (served, time.time() - t_down + 2, peak_spool / 1024, peak_backlog,
                     ak.metric(m, "warden_audit_queue_max_depth") or 0, catch_up_s))
    assert w.stop() == 0
    sinks = all_sinks(tmp, collectors)
    head = max(s for s, _ in sinks["file"])
    assert head >= served
    for name, pairs in sinks.items():
        missing, reordered, dups = ak.check_delivery(pairs, 1, head)
        assert not missing, "%s lacks %d records, e.g. seq %s" % (name, len(missing), missing[:10])
        assert reordered == 0, "%s: first arrivals out of order" % name
        record_figure("audit outage: %s received %d records for %d sequence numbers (%d "
                      "repeated by replays)" % (name, len(pairs), head, dups))
    rids = {r["request_id"] for _, r in sinks["file"]}
    lost = [rid for rid, st in load.acked + mlflow_load.acked if rid not in rids]
    assert not lost, "acknowledged requests without a record: %s" % lost[:5]


def test_overflow_deny_answers_503(echo, warden_factory, tmp):
    """A full spool with overflow = deny: Warden refuses requests with 503 until the sink is
    back, then says in the log how many it refused."""
    co = ak.Collector(port=closed_port())
    w = warden_factory(echo.url, ak.audit_sections(
        os.path.join(tmp, "journal"), https=[("collector", {
            "url": "http://127.0.0.1:%d/" % co.port, "retry_min": "50ms", "retry_max": "200ms"})],
        spool_max="64k", overflow="deny"))
    s = requests.Session()
    statuses = []
    for _ in range(400):
        r = s.get(w.url + ak.SEARCH, headers=auth_headers(), timeout=10)
        statuses.append(r.status_code)
        if r.status_code == 503:
            break
    assert statuses[-1] == 503, statuses[-5:]
    assert "audit" in r.text
    # Refused requests never reach the upstream.
    before = echo.count()
    for _ in range(5):
        assert s.get(w.url + ak.SEARCH, headers=auth_headers(), timeout=10).status_code == 503
    assert echo.count() == before
    m = w.metrics_text()
    assert ak.metric(m, "warden_audit_spool_full") == 1
    assert ak.metric(m, "warden_audit_refused_total") >= 1
    co.start()
    try:
        assert ak.wait_until(lambda: s.get(w.url + ak.SEARCH, headers=auth_headers(),
                                           timeout=10).status_code != 503, timeout=30)
        assert ak.wait_until(lambda: any(r.get("action") == "audit_requests_refused"
                                         for _, r in co.records()), timeout=10)
        rec = [r for _, r in co.records() if r.get("action") == "audit_requests_refused"][0]
        assert "refused with 503" in rec["decision"]["reason"]
        assert w.stop() == 0
    finally:
        co.stop()


def test_https_collector(echo, warden_factory, tmp):
    """The HTTP sink over TLS: the collector's certificate is verified against ca_file; a
    collector the sink cannot verify gets nothing and the sink reports itself down."""
    tls = ak.make_ca(os.path.join(tmp, "ca"))
    good = ak.Collector(tls=tls).start()
    other = ak.make_ca(os.path.join(tmp, "other-ca"))
    bad = ak.Collector(tls=tls).start()
    try:
        w = warden_factory(echo.url, ak.audit_sections(
            os.path.join(tmp, "journal"), https=[
                ("good", {"url": "https://localhost:%d/in" % good.port, "ca_file": tls["ca"]}),
                ("untrusted", {"url": "https://127.0.0.1:%d/in" % bad.port,
                               "ca_file": other["ca"], "retry_min": "50ms"})]))
        s = requests.Session()
        for i in range(10):
            s.get(w.url + ak.SEARCH, headers={"X-Request-Id": "tls-%d" % i}, timeout=10)
        assert ak.wait_until(lambda: {"tls-%d" % i for i in range(10)} <=
                             {r.get("request_id") for _, r in good.records()}, timeout=20)
        m = w.metrics_text()
        assert ak.metric(m, 'warden_audit_sink_up{sink="good",kind="http"}') == 1
        assert ak.metric(m, 'warden_audit_sink_up{sink="untrusted",kind="http"}') == 0
        assert ak.metric(m, 'warden_audit_sink_failures_total{sink="untrusted",kind="http"}') >= 1
        assert bad.records() == []
        assert "certificate" in w.stderr
        assert w.stop() == 0
    finally:
        good.stop()
        bad.stop()
