"""`warden --check` and `warden -c` on good and bad configurations (config-spec.md).

Every error is printed as `file:line:column: message`, every error in the file is reported
(not only the first), and the exit status is 1. The example conf/warden.conf passes.
"""

import os
import re
import subprocess
import textwrap

import pytest

from conftest import ROOT, WARDEN_BIN, SANITIZER_MARKERS, credentials

ERR_RE = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?P<col>\d+): (?P<msg>.+)$", re.M)


def run(*args, timeout=30):
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    p = subprocess.run([WARDEN_BIN, *args], capture_output=True, text=True, timeout=timeout, env=env)
    out = p.stdout + p.stderr
    for m in SANITIZER_MARKERS:
        assert m not in out, out
    return p.returncode, out


def write(tmp_path, text, name="w.conf"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n").replace("@PAT_FILE@", credentials()[1]))
    return str(path)


AUTH = "[auth]\npat_file = @PAT_FILE@\n"


GOOD = """
    # a comment line
    [server]
    workers = 2                   # trailing comment
    log_format = json
    log_level = "debug"
    shutdown_timeout = 500ms
    ready_file = /tmp/warden-ready-check.json

    [listener]
    address = 127.0.0.1:0

    [listener]
    address = 127.0.0.1:0

    [upstream]
    url = http://127.0.0.1:5000
    host = "localhost:5000"
    max_idle = 8
    max_conns = 64

    [limits]
    request_line = 8k
    header_bytes = 32k
    headers = 100
    max_connections = 1000

    [timeouts]
    client_header = 10s
    client_body_idle = 30s
    keepalive_idle = 1m
    upstream_connect = 5s
    upstream_first_byte = 2m
    upstream_idle = 1h
    client_write_idle = 60s

    [admin]
    address = 127.0.0.1:0

    [auth]
    pat_file = @PAT_FILE@
"""


def test_version():
    rc, out = run("--version")
    assert rc == 0 and out.strip()


def test_check_good(tmp_path):
    rc, out = run("--check", write(tmp_path, GOOD))
    assert rc == 0, out
    assert not ERR_RE.search(out), out


def test_check_example_config():
    path = os.path.join(ROOT, "conf", "warden.conf")
    assert os.path.exists(path), "conf/warden.conf is missing"
    rc, out = run("--check", path)
    assert rc == 0, out


# Each bad line and the columns an error may point at (the key's or the value's).
BAD = """
    [server]
    workers = two
    log_format = xml
    shutdown_timeout = 10parsecs
    bogus_key = 1
    [listener]
    address = 127.0.0.1:99999
    [upstream]
    url = http://127.0.0.1:5000
    max_idle = -3
    [limits]
    header_bytes = 12Q
    header_bytes = 4k
    [timeouts]
    keepalive_idle = forever
    [admin]
    address = nowhere
    [made_up_section]
"""
BAD_LINES = {
    2: ("workers", "two"),
    3: ("log_format", "xml"),
    4: ("shutdown_timeout", "10parsecs"),
    5: ("bogus_key", None),
    7: ("address", "127.0.0.1:99999"),
    10: ("max_idle", "-3"),
    12: ("header_bytes", "12Q"),
    13: ("header_bytes", None),  # duplicate key
    15: ("keepalive_idle", "forever"),
    17: ("address", "nowhere"),
    18: ("[made_up_section]", "made_up_section"),
}


def test_check_reports_every_error_with_position(tmp_path):
    path = write(tmp_path, BAD)
    lines = open(path).read().split("\n")
    rc, out = run("--check", path)
    assert rc == 1, out
    errors = [m.groupdict() for m in ERR_RE.finditer(out)]
    by_line = {}
    for e in errors:
        assert e["file"] == path, e
        by_line.setdefault(int(e["line"]), []).append(e)
    missing = sorted(set(BAD_LINES) - set(by_line))
    assert not missing, "no error reported for lines %s:\n%s" % (missing, out)
    for lineno, (key, value) in BAD_LINES.items():
        text = lines[lineno - 1]
        allowed = {text.index(key) + 1}
        if value is not None:
            allowed.add(text.index(value, text.index(key) + 1) + 1)
        cols = {int(e["col"]) for e in by_line[lineno]}
        assert cols & allowed, "line %d %r: column %s, want one of %s" % (lineno, text, cols, allowed)
    unexpected = sorted(set(by_line) - set(BAD_LINES) - {1})
    assert not unexpected, "errors on lines that are fine: %s\n%s" % (unexpected, out)


def test_run_with_bad_config_refuses_to_start(tmp_path):
    path = write(tmp_path, BAD)
    rc, out = run("-c", path)
    assert rc == 1, out
    assert len(ERR_RE.findall(out)) >= len(BAD_LINES)


@pytest.mark.parametrize("text,line", [
    ("[server]\nworkers 2\n", 2),
    ("[server\nworkers = 2\n", 1),
    ("[server]\nlog_level = \"info\n", 2),
    ("[server]\nworkers =\n", 2),
    ("[upstream]\nurl = http://127.0.0.1:5000\n[server]\nworkers = 99999999999999999999\n", 4),
    ("[timeouts]\nclient_header = -5s\n", 2),
    ("[limits]\nheaders = 1.5\n", 2),
    ("[server]\nlog_level = loud\n", 2),
], ids=["no-equals", "unclosed-section", "unclosed-quote", "empty-value", "int-overflow",
        "negative-duration", "fraction", "bad-enum"])
def test_check_single_errors(tmp_path, text, line):
    body = "[listener]\naddress = 127.0.0.1:0\n[upstream]\nurl = http://127.0.0.1:5000\n" + AUTH
    if "[upstream]" in text:
        body = "[listener]\naddress = 127.0.0.1:0\n" + AUTH
    path = write(tmp_path, text + body)
    rc, out = run("--check", path)
    assert rc == 1, out
    lines = [int(m.group("line")) for m in ERR_RE.finditer(out)]
    assert line in lines, out


def test_check_missing_file(tmp_path):
    rc, out = run("--check", str(tmp_path / "nope.conf"))
    assert rc == 1
    assert "nope.conf" in out


def test_check_binary_garbage(tmp_path):
    path = tmp_path / "garbage.conf"
    path.write_bytes(bytes(range(256)) * 4 + b"\n[server]\x00\nworkers = \xff\n")
    rc, out = run("--check", str(path))
    assert rc == 1, out


def test_check_tls_files_missing(tmp_path):
    path = write(tmp_path, """
        [listener]
        address = 127.0.0.1:0
        tls_cert = /nonexistent/cert.pem
        tls_key = /nonexistent/key.pem
        [upstream]
        url = http://127.0.0.1:5000
        [auth]
        pat_file = @PAT_FILE@
    """)
    rc, out = run("--check", path)
    assert rc == 1, out
    # the [listener] section (line 1) or the tls_cert/tls_key line
    assert {int(m.group("line")) for m in ERR_RE.finditer(out)} & {1, 3, 4}, out


def test_check_tls_cert_without_key(tmp_path):
    path = write(tmp_path, """
        [listener]
        address = 127.0.0.1:0
        tls_cert = /etc/ssl/certs/ca-certificates.crt
        [upstream]
        url = http://127.0.0.1:5000
        [auth]
        pat_file = @PAT_FILE@
    """)
    rc, out = run("--check", path)
    assert rc == 1, out
