"""Issue 3 item 9: the verified principal reaches the upstream only in headers Warden writes
(X-Warden-User, -Groups, -Scopes, -Auth-Method, -Issuer, -Token-Id); every client-sent copy is
removed, whatever its case, and so is every header whose name holds '_' (WSGI would fold
X_Warden_User into X-Warden-User).
"""

import hashlib
import time

import requests

from . import authkit

API = authkit.API

SPOOFS = {
    "X-Warden-User": "root@acme.example",
    "x-warden-groups": "platform-admins",
    "X-WARDEN-AUTH-METHOD": "mtls",
    "X_Warden_User": "root@acme.example",
    "x_warden_groups": "platform-admins",
    "X-Warden_User": "root@acme.example",
}


def test_identity_headers_from_jwt(auth_warden, echo, creds):
    w = auth_warden()
    tok = creds.issuer.mint("alice@acme.example", groups=("risk", "ml"))
    echo.reset()
    r = requests.get(w.url + API, headers=dict(SPOOFS, Authorization="Bearer " + tok), timeout=10)
    assert r.status_code == 200, r.text
    (q,) = echo.wait_requests(1)
    names = [n.lower() for n, _ in q.headers]
    assert q.header("X-Warden-User") == ["alice@acme.example"], q.headers
    assert q.header("X-Warden-Groups") == ["risk,ml"]
    assert q.header("X-Warden-Auth-Method") == ["jwt"]
    assert q.header("X-Warden-Issuer") == [creds.issuer.iss]
    assert q.header("X-Warden-Token-Id") == [hashlib.sha256(tok.encode()).hexdigest()]
    assert not any("_" in n for n in names), q.headers
    assert names.count("x-warden-user") == 1 and names.count("x-warden-groups") == 1
    assert "root@acme.example" not in bytes(q.raw).decode("latin-1")


def test_identity_headers_from_pat(auth_warden, echo, creds):
    w = auth_warden()
    pat = authkit.pat_create(creds.pat_file, "bob@acme.example")[0]
    accepted = False
    for _ in range(100):  # the PAT file is re-read on change
        r = requests.get(w.url + API, headers={"Authorization": "Bearer " + pat}, timeout=10)
        if r.status_code == 200:
            accepted = True
            break
        time.sleep(0.05)
    assert accepted, r.text
    q = echo.wait_requests(1)[-1]
    assert q.header("X-Warden-User") == ["bob@acme.example"]
    assert q.header("X-Warden-Auth-Method") == ["pat"]
    assert q.header("X-Warden-Issuer") == ["pat"]
    assert q.header("X-Warden-Groups") == []  # no groups: no header
