"""Fixtures for the authentication end-to-end tests (issue 3).

What it is for: per-test credentials material (a development issuer made by `wardenctl
dev-key`, a PAT file and a revocation file), a Warden configured with them in front of the echo
upstream or the real MLflow server (through tests/integration/conftest.py's warden_factory), a
throw-away redis-server and a test CA. Helpers live in authkit.py.
"""

import os

import pytest

from . import authkit


@pytest.fixture
def creds(tmp_path):
    """Credential sources of one test: .issuer (DevIssuer), .pat_file, .revocation_file."""
    class Creds:
        pass

    c = Creds()
    c.dir = str(tmp_path)
    c.issuer = authkit.DevIssuer(str(tmp_path / "keys"))
    c.pat_file = str(tmp_path / "pats.jsonl")
    c.revocation_file = str(tmp_path / "revoked.txt")
    with open(c.pat_file, "w") as f:
        f.write("")
    with open(c.revocation_file, "w") as f:
        f.write("# revoked credentials\n")
    return c


def auth_overrides(creds, auth=None, issuer=None, **sections):
    """Overrides for warden_factory: [auth] with the test's PAT and revocation files, and
    [issuer dev] from the test's development issuer."""
    a = {"pat_file": creds.pat_file, "revocation_file": creds.revocation_file,
         "reload_interval": "200ms"}
    a.update(auth or {})
    out = {"auth": a, "issuer dev": creds.issuer.issuer_section(**(issuer or {}))}
    out.update(sections)
    return out


@pytest.fixture
def auth_warden(echo, warden_factory, creds):
    """auth_warden(auth={...}, issuer={...}, **sections) -> Warden in front of the echo upstream."""
    def make(auth=None, issuer=None, upstream=None, **sections):
        return warden_factory(upstream or echo.url, auth_overrides(creds, auth, issuer, **sections))
    return make


@pytest.fixture
def redis_server(tmp_path):
    r = authkit.RedisServer(str(tmp_path))
    yield r
    r.stop()


@pytest.fixture(scope="module")
def test_ca(tmp_path_factory):
    return authkit.TestCA(str(tmp_path_factory.mktemp("ca")))


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory):
    return authkit.TestCA(str(tmp_path_factory.mktemp("other-ca")), name="Some Other CA")
