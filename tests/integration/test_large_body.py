"""Large bodies through Warden via MLflow's artifact proxy, with bounded memory.

A 1 GiB artifact is uploaded (Content-Length, streamed from a generator) and downloaded
(streamed to a hash) through Warden via PUT/GET /api/2.0/mlflow-artifacts/artifacts/...;
a 256 MiB chunked upload follows the same path. Warden's RSS is sampled from /proc during the
transfers; the growth over the baseline must stay <= 32 MiB for the non-sanitized build (the
ASan build's figure is printed only: its allocator keeps quarantined memory by design).
"""

import hashlib
import os
import random
import uuid

import pytest
import requests

from conftest import SANITIZED, RssSampler, auth_headers, record_figure

GIB = 1 << 30
MIB = 1 << 20
LIMIT_MIB = 32
BLOCK = 1 << 20


class Payload:
    """Deterministic pseudo-random bytes produced block by block; knows its length and sha256."""

    def __init__(self, size, seed, with_len=True):
        self.size = size
        self.seed = seed
        self.with_len = with_len
        self._block = random.Random(seed).randbytes(BLOCK)
        self.sha256 = hashlib.sha256()

    def __len__(self):
        if not self.with_len:
            raise TypeError("no length: sent chunked")
        return self.size

    def __iter__(self):
        left = self.size
        i = 0
        while left > 0:
            n = min(left, BLOCK)
            block = i.to_bytes(8, "big") + self._block[8:n] if n >= 8 else self._block[:n]
            self.sha256.update(block)
            yield block
            left -= n
            i += 1


def _url(w, exp, name):
    return "%s/api/2.0/mlflow-artifacts/artifacts/%s/%s" % (w.url, exp, name)


def _download_sha(url):
    h = hashlib.sha256()
    n = 0
    with requests.get(url, stream=True, headers=auth_headers(), timeout=300) as r:
        assert r.status_code == 200, r.text[:300]
        for chunk in r.iter_content(BLOCK):
            h.update(chunk)
            n += len(chunk)
    return n, h.hexdigest()


def _figure(label, sampler):
    growth = max(sampler.peak_kib, sampler.hwm_kib) - sampler.baseline_kib
    record_figure("warden peak RSS growth (%s): %.1f MiB (baseline %.1f MiB, peak VmRSS %.1f MiB, VmHWM %.1f MiB)"
                  % (label, growth / 1024, sampler.baseline_kib / 1024, sampler.peak_kib / 1024,
                     sampler.hwm_kib / 1024))
    return growth / 1024


@pytest.fixture(scope="module")
def exp_path():
    # MLflow's proxied artifact paths start with the experiment id (its artifact root is
    # mlflow-artifacts:/<experiment id>); the test user is an admin, so Warden does not look it up.
    return "0/large-%s" % uuid.uuid4().hex[:8]


def test_1gib_upload_and_download_bounded_memory(warden_mlflow, mlflow_server, exp_path):
    w = warden_mlflow
    payload = Payload(GIB, "one-gib")
    url = _url(w, exp_path, "big.bin")
    with RssSampler(w.pid) as up:
        r = requests.put(url, data=payload, headers=dict(auth_headers(), **{"Content-Type": "application/octet-stream"}),
                         timeout=600)
    assert r.status_code == 200, r.text[:500]
    want = payload.sha256.hexdigest()
    on_disk = os.path.join(mlflow_server.artifacts, exp_path, "big.bin")
    assert os.path.getsize(on_disk) == GIB
    with RssSampler(w.pid) as down:
        n, got = _download_sha(url)
    assert n == GIB
    assert got == want, "downloaded bytes differ from uploaded"
    g_up = _figure("1 GiB upload", up)
    g_down = _figure("1 GiB download", down)
    if not SANITIZED:
        assert g_up <= LIMIT_MIB, "upload grew RSS by %.1f MiB" % g_up
        assert g_down <= LIMIT_MIB, "download grew RSS by %.1f MiB" % g_down
    os.unlink(on_disk)


def test_large_chunked_upload(warden_mlflow, mlflow_server, exp_path):
    w = warden_mlflow
    payload = Payload(256 * MIB, "chunked", with_len=False)
    url = _url(w, exp_path, "chunked.bin")
    with RssSampler(w.pid) as up:
        r = requests.put(url, data=iter(payload), headers=auth_headers(), timeout=600)  # no length: Transfer-Encoding: chunked
    assert r.status_code == 200, r.text[:500]
    want = payload.sha256.hexdigest()
    on_disk = os.path.join(mlflow_server.artifacts, exp_path, "chunked.bin")
    with open(on_disk, "rb") as f:
        h = hashlib.sha256()
        for block in iter(lambda: f.read(BLOCK), b""):
            h.update(block)
    assert h.hexdigest() == want
    n, got = _download_sha(url)
    assert (n, got) == (256 * MIB, want)
    g = _figure("256 MiB chunked upload", up)
    if not SANITIZED:
        assert g <= LIMIT_MIB
    os.unlink(on_disk)
