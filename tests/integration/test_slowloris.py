"""security-cases.md §3.10 L1 at full scale: 2,000 connections each trickling one header byte
every second. The header deadline (here client_header = 3s, counted for the whole head, not per
byte) must close every one of them, while a normal client keeps being served promptly; Warden's
memory stays bounded. Loopback only, bounded in count (2,000) and time (about 10 s).
"""

import resource
import selectors
import socket
import time

import requests

from conftest import auth_headers, proc_status_kib, record_figure

import httpraw
from httpraw import art

N = 2000


def test_L1_two_thousand_trickling_connections(echo, warden_factory):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < N + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, N + 500), hard))
    w = warden_factory(echo.url, {"timeouts": {"client_header": "3s"},
                                  "limits": {"max_connections": 20000}})
    rss0 = proc_status_kib(w.pid, "VmRSS")
    head = b"GET %s HTTP/1.1\r\n" % art("slowloris").encode() + httpraw.host_auth() + b"X-Trickle: "
    socks = []
    try:
        for _ in range(N):
            s = socket.create_connection(("127.0.0.1", w.port), timeout=5)
            s.setblocking(False)
            socks.append(s)
        t0 = time.time()
        sel = selectors.DefaultSelector()
        for s in socks:
            sel.register(s, selectors.EVENT_READ)
        sent = 0
        closed = set()
        normal_ok = 0
        while time.time() - t0 < 8 and len(closed) < N:
            # one more byte on every connection that is still open
            for s in socks:
                if s.fileno() in closed:
                    continue
                try:
                    s.send(head[sent:sent + 1] if sent < len(head) else b"a")
                except OSError:
                    closed.add(s.fileno())
            sent += 1
            # a normal client during the attack
            r = requests.get(w.url + art("normal"), headers=auth_headers(), timeout=2)
            assert r.status_code == 200
            normal_ok += 1
            # collect the closes (408 answers or EOF)
            deadline = time.time() + 1.0
            while time.time() < deadline:
                for key, _ in sel.select(timeout=0.1):
                    s = key.fileobj
                    try:
                        data = s.recv(4096)
                    except OSError:
                        data = b""
                    if not data or data.startswith(b"HTTP/1.1 408"):
                        if not data:
                            closed.add(s.fileno())
                            sel.unregister(s)
        elapsed = time.time() - t0
        rss1 = proc_status_kib(w.pid, "VmRSS")
        record_figure("L1: %d trickling connections closed by the header deadline within %.1f s; "
                      "warden RSS %.1f -> %.1f MiB" % (len(closed), elapsed, rss0 / 1024.0,
                                                       rss1 / 1024.0))
        assert len(closed) == N, "%d of %d connections outlived the 3 s header deadline" % (
            N - len(closed), N)
        assert elapsed < 8
        assert normal_ok >= 3
        # no trickled head ever reached the upstream; the normal requests did
        targets = [r.target for r in echo.requests()]
        assert not any(t.startswith(art("slowloris")) for t in targets), targets[:5]
        assert targets.count(art("normal")) == normal_ok
    finally:
        for s in socks:
            s.close()
