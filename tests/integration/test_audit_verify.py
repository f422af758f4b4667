"""Tamper evidence of a real Warden audit file, checked with `wardenctl audit verify`: editing
one value, deleting a line, swapping two lines, inserting a copied line or cutting the file
mid-line is each reported at the first affected FILE:LINE with the reason; rewriting the
chain after an edit (every later hash recomputed, checkpoint fields adjusted) passes the
hash-chain check but not the signed checkpoints (--key). Rotated files verify in order.
"""

import hashlib
import json
import os
import re
import shutil
import signal
import tempfile
import time

import pytest
import requests

import auditkit as ak
from conftest import auth_headers


@pytest.fixture(scope="module")
def audit_log(echo_module):
    """A file written by Warden: lifecycle events, requests (allowed and denied), signed
    checkpoints; also its rotated pieces. Returns (dir, file, public key, lines)."""
    from conftest import Warden
    d = tempfile.mkdtemp(prefix="warden-audit-verify-")
    priv, pub = ak.keygen(os.path.join(d, "keys"))
    log = os.path.join(d, "audit.log")
    w = Warden(echo_module.url, ak.audit_sections(
        os.path.join(d, "journal"),
        files=[("main", {"path": log}),
               ("rot", {"path": os.path.join(d, "rot", "audit.log"), "max_size": "8k"})],
        checkpoint_key=priv, checkpoint_interval="1s"))
    os.makedirs(os.path.join(d, "rot"))
    w.start()
    s = requests.Session()
    for i in range(40):
        hdrs = auth_headers() if i % 2 else {}
        s.get(w.url + ak.SEARCH, headers=hdrs, timeout=10)
        if i == 20:
            time.sleep(1.2)  # a checkpoint in the middle
    w.check_clean_exit()
    with open(log) as f:
        lines = f.readlines()
    yield d, log, pub, lines
    shutil.rmtree(w.dir, ignore_errors=True)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def echo_module():
    from echo_upstream import EchoUpstream
    up = EchoUpstream()
    yield up
    up.close()


def verify(*files, key=None):
    args = ["audit", "verify"] + (["--key", key] if key else []) + list(files)
    return ak.wardenctl(*args)


def write(d, name, lines):
    p = os.path.join(d, name)
    with open(p, "w") as f:
        f.writelines(lines)
    return p


def broken_at(p, path, lineno, why):
    assert p.returncode == 1, p.stdout
    want = "%s:%d: " % (path, lineno)
    assert p.stderr.startswith(want), (p.stderr, want)
    assert why in p.stderr, p.stderr


def test_intact_and_signed(audit_log):
    d, log, pub, lines = audit_log
    assert len(lines) > 40
    p = verify(log, key=pub)
    assert p.returncode == 0, p.stderr
    assert "chain intact (first seq 1, last seq %d)" % len(lines) in p.stdout
    n_cp = sum('"action":"audit_checkpoint"' in l for l in lines)
    assert n_cp >= 2
    assert "%d checkpoints verified" % n_cp in p.stdout
    # The final checkpoint follows the shutdown event: everything before it is signed.
    assert "records up to seq %d are signed" % (len(lines) - 1) in p.stdout


def test_edit_one_value(audit_log):
    d, log, pub, lines = audit_log
    k = next(i for i, l in enumerate(lines) if '"status":401' in l)
    edited = list(lines)
    edited[k] = edited[k].replace('"status":401', '"status":200', 1)
    p = verify(write(d, "edit.log", edited))
    broken_at(p, os.path.join(d, "edit.log"), k + 1, "hash does not match the record's content")


def test_delete_line(audit_log):
    d, log, pub, lines = audit_log
    cut = lines[:10] + lines[11:]
    p = verify(write(d, "del.log", cut))
    broken_at(p, os.path.join(d, "del.log"), 11, "record(s) removed")


def test_swap_lines(audit_log):
    d, log, pub, lines = audit_log
    sw = list(lines)
    sw[5], sw[6] = sw[6], sw[5]
    p = verify(write(d, "swap.log", sw))
    broken_at(p, os.path.join(d, "swap.log"), 6, "seq 7 follows seq 5")


def test_insert_copy(audit_log):
    d, log, pub, lines = audit_log
    ins = lines[:8] + [lines[3]] + lines[8:]
    p = verify(write(d, "ins.log", ins))
    broken_at(p, os.path.join(d, "ins.log"), 9, "reordered, duplicated or inserted")


def test_cut_mid_line(audit_log):
    d, log, pub, lines = audit_log
    cut = lines[:12] + [lines[12][:100]]
    p = verify(write(d, "cut.log", cut))
    broken_at(p, os.path.join(d, "cut.log"), 13, "truncated record")


HEX64 = re.compile(r'"prev_hash":"([0-9a-f]{64})","hash":"([0-9a-f]{64})"\}$')


def rechain(lines, start):
    """What an attacker with write access does: recompute prev_hash and hash of every line
    from `start` on (and the checkpoints' signed_hash), so the hash chain is intact again."""
    out = list(lines)
    prev = HEX64.search(out[start - 1].rstrip("\n")).group(2)
    for i in range(start, len(out)):
        l = out[i].rstrip("\n")
        m = HEX64.search(l)
        body = l[:m.start()]
        if '"action":"audit_checkpoint"' in body:
            body = re.sub(r'"signed_hash":"[0-9a-f]{64}"', '"signed_hash":"%s"' % prev, body)
        unsealed = body + '"prev_hash":"%s","hash":""}' % prev
        h = hashlib.sha256(unsealed.encode()).hexdigest()
        out[i] = body + '"prev_hash":"%s","hash":"%s"}\n' % (prev, h)
        prev = h
    return out


def test_rewritten_chain_needs_the_key(audit_log):
    d, log, pub, lines = audit_log
    k = next(i for i, l in enumerate(lines) if '"user":"warden-test"' in l)
    forged = list(lines)
    forged[k] = forged[k].replace('"user":"warden-test"', '"user":"someone-else"', 1)
    forged = rechain(forged, k)
    path = write(d, "forged.log", forged)
    p = verify(path)
    assert p.returncode == 0, p.stderr  # the hash chain alone cannot tell
    first_cp = next(i for i in range(k, len(forged)) if '"action":"audit_checkpoint"' in forged[i])
    p = verify(path, key=pub)
    broken_at(p, path, first_cp + 1, "signature does not verify")
    # A different key is named as such.
    other_priv, other_pub = ak.keygen(os.path.join(d, "other-keys"))
    p = verify(log, key=other_pub)
    assert p.returncode == 1 and "not by the given key" in p.stderr


def test_rotated_files_in_order(audit_log):
    d, log, pub, lines = audit_log
    rdir = os.path.join(d, "rot")
    rotated = sorted(os.path.join(rdir, f) for f in os.listdir(rdir) if f != "audit.log")
    assert len(rotated) >= 3
    live = os.path.join(rdir, "audit.log")
    p = verify(*(rotated + [live]), key=pub)
    assert p.returncode == 0, p.stderr
    assert "last seq %d" % len(lines) in p.stdout
    # Out of order, or with a piece missing: the first line of the misplaced file is named.
    p = verify(*([rotated[1], rotated[0]] + rotated[2:] + [live]))
    assert p.returncode == 1 and p.stderr.startswith(rotated[0] + ":1: ")
    p = verify(*([rotated[0]] + rotated[2:] + [live]))
    assert p.returncode == 1 and "record(s) removed" in p.stderr
