"""Issue 3 item 1: which credentials a listener accepts is configurable per listener
(`[listener] auth_methods`), on top of the methods [auth] enables."""

import subprocess
import time

import requests

from conftest import WARDEN_BIN
from . import authkit

API = authkit.API


def test_listener_accepts_only_its_methods(auth_warden, echo, creds):
    w = auth_warden(listener=[{"address": "127.0.0.1:0", "auth_methods": "pat, basic-pat"}])
    jwt = creds.issuer.mint("alice")
    pat = authkit.pat_create(creds.pat_file, "bob")[0]
    for _ in range(100):  # the PAT file is re-read on change
        r = requests.get(w.url + API, headers={"Authorization": "Bearer " + pat}, timeout=5)
        if r.status_code == 200:
            break
        time.sleep(0.05)
    assert r.status_code == 200, r.text
    r = requests.get(w.url + API, auth=("bob", pat), timeout=5)
    assert r.status_code == 200, r.text
    echo.reset()
    r = requests.get(w.url + API, headers={"Authorization": "Bearer " + jwt}, timeout=5)
    assert r.status_code == 401
    assert r.json()["message"].endswith("this listener does not accept JWT credentials"), r.text
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    assert jwt not in r.text
    assert echo.count() == 0


def test_listener_methods_config_errors(tmp_path, creds):
    conf = tmp_path / "w.conf"
    conf.write_text("[listener]\naddress = 127.0.0.1:0\nauth_methods = pat, kerberos, mtls\n"
                    "[upstream]\nurl = http://127.0.0.1:9\n[auth]\npat_file = %s\n"
                    % creds.pat_file)
    p = subprocess.run([WARDEN_BIN, "--check", str(conf)], capture_output=True, text=True)
    assert p.returncode == 1
    assert ("%s:1:1: [listener] auth_methods: unknown method 'kerberos' (expected jwt, pat, "
            "basic-pat, basic-jwt, mtls)" % conf) in p.stderr, p.stderr
    assert "%s:1:1: [listener] auth_methods: mtls needs tls_client_ca on this listener" % conf \
        in p.stderr, p.stderr
