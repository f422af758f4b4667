"""Revocation reaches tokens already cached by the workers (issue 3, test 3): through the
revocation file, through Redis (a real redis-server), and across two Warden instances sharing
one Redis (pub/sub), plus PATs created in Redis being honoured by every instance."""

import time

import pytest
import requests

from . import authkit
from .authkit import bearer

API = authkit.API
# Propagation bounds: the file poller runs every reload_interval (200ms here); pub/sub is
# immediate. Sanitized builds get more slack.
FILE_BOUND = 3.0 if authkit.SANITIZED else 2.0
PUBSUB_BOUND = 2.0 if authkit.SANITIZED else 1.0


def status(w, tok):
    return requests.get(w.url + API, headers=bearer(tok), timeout=10)


def warm(w, tok, n=8):
    """Use the token on fresh connections until both workers have it cached."""
    for _ in range(n):
        assert status(w, tok).status_code == 200


def time_until_revoked(w, tok, bound):
    t0 = time.monotonic()
    took = authkit.wait_for(lambda: status(w, tok).status_code == 401, bound + 2, interval=0.01)
    assert took is not None, "token still accepted %.1fs after revocation" % (bound + 2)
    took = time.monotonic() - t0
    r = status(w, tok)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == (
        'Bearer realm="warden", error="invalid_token", error_description="token revoked"')
    assert r.json() == {"error_code": "UNAUTHENTICATED", "message": "Invalid credentials: token revoked"}
    return took


def test_file_revocation_of_cached_jwt(auth_warden, creds, echo):
    w = auth_warden()
    tok = creds.issuer.mint("alice")
    other = creds.issuer.mint("alice")
    hits0 = authkit.metric(w, "warden_auth_total", result="cache_hit")
    warm(w, tok)
    warm(w, other, 2)
    assert authkit.metric(w, "warden_auth_total", result="cache_hit") >= hits0 + 6  # cached
    authkit.ctl("revoke", "--token-stdin", "--file", creds.revocation_file, stdin=tok + "\n")
    with open(creds.revocation_file) as f:
        assert "sha256:" + authkit.sha256_hex(tok) in f.read()
    took = time_until_revoked(w, tok, FILE_BOUND)
    authkit.base.record_figure("auth: file revocation of a cached JWT effective after %.0f ms" % (took * 1000))
    assert took < FILE_BOUND
    assert status(w, other).status_code == 200  # only that token


def test_file_revocation_of_cached_pat_by_hash(auth_warden, creds):
    tok, _ = authkit.pat_create(creds.pat_file, "bob")
    w = auth_warden()
    warm(w, tok)
    authkit.ctl("revoke", "--token-hash", authkit.sha256_hex(tok), "--file", creds.revocation_file)
    assert time_until_revoked(w, tok, FILE_BOUND) < FILE_BOUND


def announce(redis_server, entry):
    """Revoke the way CONFIG.md documents it: SADD <prefix>:revoked, PUBLISH <prefix>:events
    "revoke <entry>" (one message)."""
    assert redis_server.cmd("SADD", "warden:revoked", entry) == "1"
    redis_server.cmd("PUBLISH", "warden:events", "revoke " + entry)


def test_redis_revocation_of_cached_pat(auth_warden, creds, redis_server):
    tok, _ = authkit.pat_create(creds.pat_file, "bob")
    w = auth_warden(auth={"redis": redis_server.addr})
    warm(w, tok)
    announce(redis_server, "sha256:" + authkit.sha256_hex(tok))
    took = time_until_revoked(w, tok, PUBSUB_BOUND)
    authkit.base.record_figure("auth: redis revocation of a cached PAT effective after %.0f ms" % (took * 1000))
    assert took < PUBSUB_BOUND


@pytest.mark.parametrize("how", ["token-stdin", "jti"])
def test_wardenctl_revoke_via_redis(auth_warden, creds, redis_server, how):
    """`wardenctl revoke --redis` stores the entry and announces it: effective at once."""
    tok = creds.issuer.mint("alice", jti="ctl-jti")
    w = auth_warden(auth={"redis": redis_server.addr})
    warm(w, tok)
    if how == "jti":
        p = authkit.ctl("revoke", "--jti", "ctl-jti", "--redis", redis_server.addr, check=False)
        entry = "jti:ctl-jti"
    else:
        p = authkit.ctl("revoke", "--token-stdin", "--redis", redis_server.addr, stdin=tok, check=False)
        entry = "sha256:" + authkit.sha256_hex(tok)
    assert redis_server.cmd("SISMEMBER", "warden:revoked", entry) == "1"
    assert p.returncode == 0, "wardenctl revoke --redis failed: %s" % p.stderr.strip()
    assert time_until_revoked(w, tok, PUBSUB_BOUND) < PUBSUB_BOUND


def test_two_instances_share_redis(echo, warden_factory, creds, redis_server, tmp_path):
    from .conftest import auth_overrides
    ov = auth_overrides(creds, auth={"redis": redis_server.addr})
    w1 = warden_factory(echo.url, ov)
    w2 = warden_factory(echo.url, ov)
    # A PAT created in Redis only (its --file is a scratch file neither instance reads).
    scratch = str(tmp_path / "scratch-pats.jsonl")
    t0 = time.monotonic()
    pat, pid = authkit.pat_create(scratch, "dana", redis=redis_server.addr)
    for w in (w1, w2):
        took = authkit.wait_for(lambda: status(w, pat).status_code == 200, PUBSUB_BOUND + 2, 0.01)
        assert took is not None, "PAT created with --redis not accepted by %s" % w.url
    authkit.base.record_figure("auth: PAT created in redis accepted by both instances after %.0f ms"
                               % ((time.monotonic() - t0) * 1000))
    assert time.monotonic() - t0 < PUBSUB_BOUND
    jwt = creds.issuer.mint("erin", jti="shared-jti-1")
    for w in (w1, w2):
        warm(w, jwt, 4)
        warm(w, pat, 4)
    # A JWT revoked by jti, announced over pub/sub: both instances refuse it within the bound.
    t0 = time.monotonic()
    announce(redis_server, "jti:shared-jti-1")
    for w in (w1, w2):
        time_until_revoked(w, jwt, PUBSUB_BOUND)
    took = time.monotonic() - t0
    authkit.base.record_figure("auth: jti revocation via redis applied on 2 instances after %.0f ms"
                               % (took * 1000))
    assert took < PUBSUB_BOUND
    # The PAT, revoked through Redis by id with wardenctl.
    t0 = time.monotonic()
    authkit.ctl("pat", "revoke", pid, "--file", scratch, "--redis", redis_server.addr)
    for w in (w1, w2):
        time_until_revoked(w, pat, PUBSUB_BOUND)
    assert time.monotonic() - t0 < PUBSUB_BOUND


def test_revocations_survive_redis_restart(auth_warden, creds, redis_server):
    """Redis down: the last known revocations stay in force (a revoked token stays revoked)."""
    tok, _ = authkit.pat_create(creds.pat_file, "bob")
    w = auth_warden(auth={"redis": redis_server.addr})
    warm(w, tok)
    announce(redis_server, "sha256:" + authkit.sha256_hex(tok))
    time_until_revoked(w, tok, PUBSUB_BOUND)
    redis_server.stop()
    time.sleep(0.5)
    for _ in range(4):
        assert status(w, tok).status_code == 401
