"""Policy hot reload in the running daemon (issue 4): on file change, on SIGHUP and through the
admin API; compiled off the request path; a policy set with any error is refused as a whole
and the previous snapshot stays in force; results show in the log, in /metrics and in the
admin API's answer. Also `warden --check` on a broken policy.
"""

import hashlib
import os
import re
import signal
import subprocess
import time

import pytest
import requests

from conftest import WARDEN_BIN, WARDENCTL_BIN

GOOD = b"""-- test policy
GRANT USE CATALOG ON CATALOG risk TO `group:risk`;
GRANT USE SCHEMA, READ ON SCHEMA risk.fraud TO `group:risk`;
"""
GOOD2 = GOOD + b"GRANT MODIFY ON EXPERIMENT risk.fraud.training TO `alice@acme.example`;\n"
BAD = GOOD + b"GRANT RAED ON SCHEMA risk.fraud TO `group:risk`;\nGRANT READ ON TABLE x TO `bob`;\n"


def version_of(*blobs):
    return hashlib.sha256(b"".join(blobs)).hexdigest()


def metric(w, name, labels=None):
    for line in w.metrics_text().splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"^(\w+)(\{[^}]*\})? (\S+)$", line)
        if m and m.group(1) == name and (labels is None or m.group(2) == labels):
            return m.group(2), float(m.group(3))
    return None


def policy_version(w):
    for line in w.metrics_text().splitlines():
        m = re.match(r'^warden_policy_info\{version="([0-9a-f]*)"\} 1$', line)
        if m:
            return m.group(1)
    return None


def wait_for(cond, timeout=10.0, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


@pytest.fixture
def policy_env(tmp_path):
    pdir = tmp_path / "policies"
    pdir.mkdir()
    (pdir / "10-main.policy").write_bytes(GOOD)
    pats = tmp_path / "pats.jsonl"
    token = subprocess.run([WARDENCTL_BIN, "pat", "create", "--user", "alice@acme.example",
                            "--file", str(pats)], check=True, capture_output=True,
                           text=True).stdout.strip()
    return pdir, pats, token


def start(warden_factory, echo, pdir, pats, watch):
    return warden_factory(echo.url, {"auth": {"pat_file": str(pats)},
                                     "policy": {"paths": str(pdir), "watch_interval": watch}})


def test_file_change_reloads_and_errors_keep_old_snapshot(warden_factory, echo, policy_env):
    pdir, pats, token = policy_env
    w = start(warden_factory, echo, pdir, pats, "200ms")
    assert policy_version(w) == version_of(GOOD)
    assert metric(w, "warden_policy_generation")[1] == 1

    # A valid change is picked up by the watcher and swapped in.
    (pdir / "10-main.policy").write_bytes(GOOD2)
    assert wait_for(lambda: policy_version(w) == version_of(GOOD2)), w.stderr
    assert metric(w, "warden_policy_generation")[1] == 2
    assert metric(w, "warden_policy_reloads_total", '{result="ok"}')[1] >= 2

    # A broken policy is refused as a whole: every error logged with file:line:column, the
    # previous version stays in force, the failure is counted.
    (pdir / "10-main.policy").write_bytes(BAD)
    assert wait_for(lambda: metric(w, "warden_policy_reloads_total", '{result="failed"}')[1] >= 1)
    assert policy_version(w) == version_of(GOOD2)
    path = str(pdir / "10-main.policy")
    assert re.search(re.escape(path) + r":4:7: unknown privilege 'RAED'", w.stderr), w.stderr
    assert re.search(re.escape(path) + r":5:\d+: ", w.stderr), w.stderr
    # An unchanged broken file is not recompiled on every tick.
    failed = metric(w, "warden_policy_reloads_total", '{result="failed"}')[1]
    time.sleep(1.0)
    assert metric(w, "warden_policy_reloads_total", '{result="failed"}')[1] == failed

    # Requests keep flowing throughout (authenticated with the PAT).
    r = requests.get(w.url + "/api/2.0/mlflow/experiments/search",
                     headers={"Authorization": "Bearer " + token}, timeout=5)
    assert r.status_code == 200, r.text
    # the answer went through the visibility filter under the policy in force: alice is no
    # admin and the echo upstream lists no experiment
    assert r.json()["experiments"] == [], r.text


def test_admin_api_and_sighup(warden_factory, echo, policy_env):
    pdir, pats, token = policy_env
    w = start(warden_factory, echo, pdir, pats, "0ms")  # watcher off: only explicit reloads

    # Nothing changed: the admin API says so.
    r = requests.post(w.admin_url + "/reload", timeout=10)
    assert r.status_code == 200
    body = r.json()
    assert body == {"ok": True, "changed": False, "version": version_of(GOOD), "errors": []}

    # Broken: 422 with every error, old version kept.
    (pdir / "10-main.policy").write_bytes(BAD)
    r = requests.post(w.admin_url + "/reload", timeout=10)
    assert r.status_code == 422
    body = r.json()
    assert body["ok"] is False and body["version"] == version_of(GOOD)
    assert len(body["errors"]) == 2, body
    assert body["errors"][0].startswith(str(pdir / "10-main.policy") + ":4:7: unknown privilege")
    assert policy_version(w) == version_of(GOOD)

    # Without the watcher, a fixed file is only taken on SIGHUP.
    (pdir / "10-main.policy").write_bytes(GOOD2)
    time.sleep(0.5)
    assert policy_version(w) == version_of(GOOD)
    w.signal(signal.SIGHUP)
    assert wait_for(lambda: policy_version(w) == version_of(GOOD2)), w.stderr
    assert "reload (SIGHUP)" in w.stderr


def test_check_refuses_broken_policy(tmp_path, policy_env):
    pdir, pats, _ = policy_env
    (pdir / "10-main.policy").write_bytes(BAD)
    conf = tmp_path / "w.conf"
    conf.write_text("[listener]\naddress = 127.0.0.1:0\n[upstream]\nurl = http://127.0.0.1:9\n"
                    "[auth]\npat_file = %s\n[policy]\npaths = %s\n" % (pats, pdir))
    p = subprocess.run([WARDEN_BIN, "--check", str(conf)], capture_output=True, text=True)
    assert p.returncode == 1
    assert str(pdir / "10-main.policy") + ":4:7: unknown privilege 'RAED'" in p.stderr
    assert "policy refused (2 errors)" in p.stderr
    (pdir / "10-main.policy").write_bytes(GOOD)
    p = subprocess.run([WARDEN_BIN, "--check", str(conf)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
