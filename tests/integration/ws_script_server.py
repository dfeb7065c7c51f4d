#!/usr/bin/python3
"""A raw scripted WebSocket server for evcat's client tests: it does the
handshake itself and writes frames by hand, so it can send what a correct
library never would (reserved bits, bad UTF-8, masked frames, absurd
lengths). The path picks the scenario; see SCENARIOS.

usage: ws_script_server.py PORT
"""
import base64
import hashlib
import socket
import socketserver
import struct
import sys
import time
import urllib.parse

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(opcode, payload=b"", fin=True, rsv=0, mask=False, length=None):
    if isinstance(payload, str):
        payload = payload.encode()
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload) if length is None else length
    if n < 126:
        head = struct.pack("!BB", b0, (0x80 if mask else 0) | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, (0x80 if mask else 0) | 126, n)
    else:
        head = struct.pack("!BBQ", b0, (0x80 if mask else 0) | 127, n)
    if mask:
        key = b"\x01\x02\x03\x04"
        payload = bytes(c ^ key[i % 4] for i, c in enumerate(payload))
        head += key
    return head + payload


def close_frame(code=None, reason=b""):
    if code is None:
        return frame(8)
    if isinstance(reason, str):
        reason = reason.encode()
    return frame(8, struct.pack("!H", code) + reason)


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            data += chunk
        head, _, self.rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.path = lines[0].split(" ")[1]
        self.headers = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        key = self.headers.get("sec-websocket-key", "")
        self.accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
        name = self.path.split("?")[0].strip("/").split("/")[0]
        fn = SCENARIOS.get(name)
        if fn is None:
            self.send(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            return
        try:
            fn(self)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass

    def send(self, b):
        self.request.sendall(b)

    def upgrade(self, extra="", accept=None, first_frames=b""):
        self.send(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s\r\n"
                   % (accept or self.accept, extra)).encode() + first_frames)

    def arg(self, i, default=None):
        parts = self.path.split("?")[0].strip("/").split("/")
        return parts[i] if len(parts) > i else default

    def read_frame(self):
        """One frame from the client: (opcode, fin, payload), unmasked."""
        def need(n):
            while len(self.rest) < n:
                chunk = self.request.recv(65536)
                if not chunk:
                    raise ConnectionResetError
                self.rest += chunk
            out, self.rest = self.rest[:n], self.rest[n:]
            return out
        b0, b1 = need(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", need(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", need(8))[0]
        key = need(4) if b1 & 0x80 else None
        p = need(n)
        if key:
            p = bytes(c ^ key[i % 4] for i, c in enumerate(p))
        return b0 & 0x0F, bool(b0 & 0x80), p, bool(b1 & 0x80)

    def await_close(self):
        """Reads until the client's close; answers it. Returns its payload."""
        while True:
            op, fin, p, masked = self.read_frame()
            if op == 8:
                self.send(frame(8, p[:2]))
                return p

    def linger(self):
        try:
            while self.request.recv(4096):
                pass
        except OSError:
            pass


def s_len(h):
    h.upgrade()
    n = int(h.arg(1))
    h.send(frame(1, b"a" * n))
    h.send(close_frame(1000))
    h.await_close()


def s_binary(h):
    h.upgrade()
    h.send(frame(2, bytes(range(256)) * 4))
    h.send(close_frame(1000))
    h.await_close()


def s_ping125(h):
    h.upgrade()
    payload = bytes(range(125))
    h.send(frame(9, payload))
    op, fin, p, masked = h.read_frame()
    ok = op == 10 and p == payload and masked
    h.send(frame(1, "pong ok" if ok else "pong bad: op=%d len=%d" % (op, len(p))))
    h.send(close_frame(1000))
    h.await_close()


def s_unsolicited_pong(h):
    h.upgrade()
    h.send(frame(10, b"unasked"))
    h.send(frame(1, "after"))
    h.send(close_frame(1000))
    h.await_close()


def s_frag_ping(h):
    h.upgrade()
    h.send(frame(1, "Hel", fin=False) + frame(9, b"mid") + frame(0, "lo ", fin=False) +
           frame(0, "world"))
    op, fin, p, masked = h.read_frame()  # the pong, between fragments
    h.send(frame(1, "pong:" + p.decode()))
    h.send(close_frame(1000))
    h.await_close()


def expect_close(h, frames):
    """Sends frames; reports the client's close code as a text frame to
    nobody — the test reads it from evcat's stderr and our log instead."""
    h.upgrade()
    h.send(frames)
    try:
        p = h.await_close()
        code = struct.unpack("!H", p[:2])[0] if len(p) >= 2 else 1005
        sys.stderr.write("client closed %s with %d\n" % (h.path, code))
        sys.stderr.flush()
    except (ConnectionResetError, socket.timeout):
        sys.stderr.write("client closed %s without a close frame\n" % h.path)
        sys.stderr.flush()


def s_rsv(h): expect_close(h, frame(1, "x", rsv=4))
def s_opcode(h): expect_close(h, frame(3, "x"))
def s_orphan(h): expect_close(h, frame(0, "x"))
def s_frag_control(h): expect_close(h, frame(9, "x", fin=False) + frame(0, "y"))
def s_utf8_bad(h): expect_close(h, frame(1, b"bad \xff\xfe"))
def s_utf8_split_bad(h): expect_close(h, frame(1, b"\xe2\x82", fin=False) + frame(0, b"\x41"))
def s_masked(h): expect_close(h, frame(1, "masked", mask=True))
def s_close_bad_code(h): expect_close(h, close_frame(999))
def s_big(h): expect_close(h, frame(2, b"", length=1 << 62))


def s_utf8_split(h):
    h.upgrade()
    h.send(frame(1, b"caf\xc3", fin=False) + frame(0, b"\xa9 \xe2\x82", fin=False) + frame(0, b"\xac"))
    h.send(close_frame(1000))
    h.await_close()


def s_nofin(h):
    h.upgrade()
    h.send(frame(1, "x" * 1000, fin=False))
    for _ in range(100000):
        h.send(frame(0, "x" * 65536, fin=False))


def s_close(h):
    h.upgrade()
    code = int(h.arg(1))
    reason = urllib.parse.unquote(h.arg(2, ""))  # %1B: an ESC in the reason
    h.send(frame(1, "before close"))
    h.send(close_frame(code, reason))
    h.await_close()


def s_close_empty(h):
    h.upgrade()
    h.send(close_frame())
    h.await_close()


def s_close_123(h):
    h.upgrade()
    h.send(close_frame(1000, "r" * 123))
    h.await_close()


def s_no_close(h):
    h.upgrade()
    h.send(frame(1, "then gone"))
    h.request.shutdown(socket.SHUT_WR)
    h.linger()


def s_reset(h):
    h.upgrade()
    h.send(frame(1, "whole") + frame(1, "x" * 1000)[:500])
    time.sleep(0.1)
    h.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.request.close()


def s_bad_accept(h):
    h.upgrade(accept="AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    h.linger()


def s_status(h):
    code = h.arg(1)
    h.send(("HTTP/1.1 %s Nope\r\nContent-Length: 0\r\n\r\n" % code).encode())
    h.linger()


def s_head_forever(h):
    h.send(b"HTTP/1.1 101 Switching Protocols\r\n")
    for i in range(100000):
        h.send(b"X-Filler-%d: %s\r\n" % (i, b"f" * 100))
        time.sleep(0.001)


def s_proto(h):
    offered = h.headers.get("sec-websocket-protocol", "")
    pick = h.arg(1) or offered.split(",")[0].strip()
    h.upgrade(extra="Sec-WebSocket-Protocol: %s\r\n" % pick)
    h.send(frame(1, "protocol " + pick + " offered " + offered))
    h.send(close_frame(1000))
    h.await_close()


def s_ext(h):
    h.upgrade(extra="Sec-WebSocket-Extensions: permessage-deflate\r\n")
    h.linger()


def s_with_101(h):
    h.upgrade(first_frames=frame(1, "in the same packet") + close_frame(1000))
    h.await_close()


def s_headers(h):
    h.upgrade()
    for k in ("origin", "authorization", "x-custom", "sec-websocket-version", "sec-websocket-extensions"):
        h.send(frame(1, "%s=%s" % (k, h.headers.get(k, "-"))))
    h.send(close_frame(1000))
    h.await_close()


def s_auth(h):
    """/auth/B64: 401 unless "Authorization: Basic B64"; then a WebSocket
    that waits for the close, or (no Upgrade) an event stream held open."""
    if h.headers.get("authorization") != "Basic " + (h.arg(1) or ""):
        h.send(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
        return
    if h.headers.get("upgrade", "").lower() == "websocket":
        h.upgrade()
        h.await_close()
        return
    h.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n: hello\n\n")
    h.linger()


def s_subscribe(h):
    """Answers each client message with "ack: <msg>" until the client closes."""
    h.upgrade()
    while True:
        op, fin, p, masked = h.read_frame()
        if op == 8:
            h.send(frame(8, p[:2]))
            return
        if op in (1, 2):
            h.send(frame(op, b"ack: " + p))


def s_silent(h):
    """Never answers pings, never sends."""
    h.upgrade()
    time.sleep(30)


def s_drip(h):
    h.upgrade()
    for i in range(1, 100000):
        h.send(frame(1, "msg %d" % i))
        time.sleep(0.05)


SCENARIOS = {
    "len": s_len, "binary": s_binary, "ping125": s_ping125, "unsolicited-pong": s_unsolicited_pong,
    "frag-ping": s_frag_ping, "rsv": s_rsv, "opcode": s_opcode, "orphan": s_orphan,
    "frag-control": s_frag_control, "utf8-bad": s_utf8_bad, "utf8-split": s_utf8_split,
    "utf8-split-bad": s_utf8_split_bad, "masked": s_masked, "close-bad-code": s_close_bad_code,
    "big": s_big, "nofin": s_nofin, "close": s_close, "close-empty": s_close_empty,
    "close-123": s_close_123, "no-close": s_no_close, "reset": s_reset, "bad-accept": s_bad_accept,
    "status": s_status, "head-forever": s_head_forever, "proto": s_proto, "ext": s_ext,
    "with-101": s_with_101, "headers": s_headers, "subscribe": s_subscribe, "silent": s_silent,
    "drip": s_drip, "auth": s_auth,
}


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    with Server(("127.0.0.1", int(sys.argv[1])), Handler) as srv:
        srv.serve_forever()
