"""Echo upstream for Warden's integration tests.

What it is for: a tiny HTTP/1.1 origin server (raw sockets, one thread per connection) that
records every byte Warden sends it, split into requests, so the framing suite can assert what
reached the upstream (and that refused requests never did).

What it owns: its listening socket, its connection threads and the recorded traffic. Requests
are parsed with the framing Warden must produce (Content-Length or chunked); the raw bytes of
each request (head + body as received) are kept together with the parsed head and the decoded
body. Bytes it cannot parse are kept too (`garbage`) and make the connection close.

Threads: accept loop on one daemon thread, one daemon thread per upstream connection. The
recorded data is guarded by a lock; tests read it through the accessors.

Modes (attribute `mode`, may be changed by a test at any time):
  "normal"  answer every request with 200 and a small JSON body after reading its body
  "hang"    read the request and never answer (upstream first-byte timeout tests)
  "early"   answer 400 as soon as the head arrived, before reading the body, then keep reading
            the body on the same connection with the request's own framing (X5)
  "slow"    answer 200 after `delay` seconds (graceful-shutdown tests)
  "close"   close the connection as soon as the head arrived, without answering
  "stall"   send a response head announcing `big_size` bytes and 10 body bytes, then nothing
  "big"     answer 200 with a body of `big_size` bytes (client write-idle tests)
"""

import json
import socket
import threading
import time


class Request:
    """One request as it arrived at the upstream."""

    def __init__(self, conn_id, head_raw):
        self.conn_id = conn_id
        self.head_raw = head_raw  # bytes up to and including the blank line
        self.raw = bytearray(head_raw)  # head + body bytes exactly as received
        self.body = bytearray()  # decoded body
        self.complete = False
        lines = head_raw[:-4].split(b"\r\n")
        self.request_line = lines[0]
        parts = lines[0].split(b" ")
        self.method = parts[0].decode("latin-1")
        self.target = parts[1].decode("latin-1") if len(parts) > 1 else ""
        self.version = parts[2].decode("latin-1") if len(parts) > 2 else ""
        self.headers = []  # [(name, value)] as str, in order, names as sent
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            self.headers.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))

    def header(self, name):
        """All values of header `name` (case-insensitive), in order."""
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def header_names(self):
        return [n.lower() for n, _ in self.headers]

    def __repr__(self):
        return "<Request %s %s %r body=%d>" % (self.method, self.target, self.headers, len(self.body))


class _ParseError(Exception):
    pass


class _Conn:
    def __init__(self, server, sock, conn_id):
        self.server = server
        self.sock = sock
        self.id = conn_id
        self.buf = bytearray()
        self.closed = False

    def _recv_more(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.server._account(self.id, data)
        self.buf += data

    def _read_line(self, req):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[: i + 2])
                del self.buf[: i + 2]
                if req is not None:
                    req.raw += line
                return line[:-2]
            if len(self.buf) > 65536:
                raise _ParseError("line too long")
            self._recv_more()

    def _read_exact(self, n, req):
        while n > 0:
            if not self.buf:
                self._recv_more()
            take = bytes(self.buf[:n])
            del self.buf[: len(take)]
            req.raw += take
            req.body += take
            n -= len(take)

    def _read_head(self):
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                head = bytes(self.buf[: i + 4])
                del self.buf[: i + 4]
                return head
            if len(self.buf) > 1 << 20:
                raise _ParseError("head too long")
            self._recv_more()

    def _read_body(self, req):
        te = [v.lower() for v in req.header("transfer-encoding")]
        cl = req.header("content-length")
        if te:
            if te != ["chunked"]:
                raise _ParseError("unexpected transfer-encoding %r" % te)
            while True:
                line = self._read_line(req)
                size_txt = line.split(b";")[0].strip()
                size = int(size_txt, 16)
                if size == 0:
                    while self._read_line(req) != b"":  # trailers
                        pass
                    break
                self._read_exact(size, req)
                if self._read_line(req) != b"":
                    raise _ParseError("missing CRLF after chunk data")
        elif cl:
            if len(cl) != 1 or not cl[0].isdigit():
                raise _ParseError("bad content-length %r" % cl)
            self._read_exact(int(cl[0]), req)

    def _respond(self, req, status=200, reason="OK", extra=b""):
        body = json.dumps(
            {"echo": True, "method": req.method, "target": req.target, "n": self.server.count()}
        ).encode()
        if req.method == "HEAD":
            payload = b""
        else:
            payload = body
        head = (
            "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
            % (status, reason, len(body))
        ).encode()
        self.sock.sendall(head + extra + b"\r\n" + payload)

    def _send_big(self, mode):
        size = self.server.big_size
        self.sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                          b"Content-Length: %d\r\n\r\n" % size)
        if mode == "stall":
            self.sock.sendall(b"0123456789")
            self.server.sent_bytes += 10
            while True:
                self._recv_more()
        block = b"b" * 65536
        left = size
        while left > 0:
            n = min(left, len(block))
            self.sock.sendall(block[:n])
            self.server.sent_bytes += n
            left -= n

    def serve(self):
        try:
            while True:
                head = self._read_head()
                req = Request(self.id, head)
                self.server._add(req)
                mode = self.server.mode
                if mode == "close":
                    return
                if mode == "early":
                    self._respond(req, 400, "Bad Request")
                self._read_body(req)
                req.complete = True
                if mode == "hang":
                    while True:  # keep the connection open, answer nothing
                        self._recv_more()
                if mode == "slow":
                    time.sleep(self.server.delay)
                if mode in ("normal", "slow"):
                    self._respond(req)
                if mode in ("stall", "big"):
                    self._send_big(mode)
        except (EOFError, OSError):
            pass
        except (_ParseError, ValueError, IndexError) as e:
            self.server._garbage(self.id, str(e), bytes(self.buf))
        finally:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass


class EchoUpstream:
    def __init__(self, mode="normal", delay=2.0, big_size=64 << 20):
        self.mode = mode
        self.delay = delay
        self.big_size = big_size
        self.sent_bytes = 0  # body bytes written in "big"/"stall" mode
        self._lock = threading.Lock()
        self._requests = []
        self._bytes = {}  # conn_id -> bytearray of everything received
        self._garbage_list = []
        self._conns = []
        self._next_id = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(512)
        self.port = self._sock.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self._stop = False
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    # --- recording -------------------------------------------------------------------
    def _account(self, conn_id, data):
        with self._lock:
            self._bytes.setdefault(conn_id, bytearray()).extend(data)

    def _add(self, req):
        with self._lock:
            self._requests.append(req)

    def _garbage(self, conn_id, why, rest):
        with self._lock:
            self._garbage_list.append((conn_id, why, rest))

    def count(self):
        with self._lock:
            return len(self._requests)

    def requests(self):
        with self._lock:
            return list(self._requests)

    def garbage(self):
        with self._lock:
            return list(self._garbage_list)

    def total_bytes(self):
        with self._lock:
            return sum(len(b) for b in self._bytes.values())

    def all_bytes(self):
        with self._lock:
            return b"".join(bytes(b) for b in self._bytes.values())

    def connections(self):
        with self._lock:
            return len(self._conns)

    def wait_requests(self, n, timeout=5.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.count() >= n and all(r.complete for r in self.requests()):
                return self.requests()
            time.sleep(0.01)
        return self.requests()

    def reset(self):
        with self._lock:
            self._requests.clear()
            self._bytes.clear()
            self._garbage_list.clear()

    # --- serving ---------------------------------------------------------------------
    def _accept_loop(self):
        while not self._stop:
            try:
                s, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                cid = self._next_id
                self._next_id += 1
                c = _Conn(self, s, cid)
                self._conns.append(c)
                self._bytes.setdefault(cid, bytearray())
            threading.Thread(target=c.serve, daemon=True).start()

    def close(self):
        self._stop = True
        try:
            self._sock.close()
        except OSError:
            pass
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
