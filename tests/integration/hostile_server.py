#!/usr/bin/python3
"""A hostile server for evcat's client: SSE and WebSocket peers that break
the protocol, never stop, stall or vanish, written with raw sockets so that
nothing between us and evcat tidies up what is sent. The path picks the
case (see CASES; GET / lists them). Where it makes sense a case first sends
one complete event or message ("before") so a test can check that what
arrived before the fault was not lost.

Endless cases stream fast (64 KiB writes) and stop when the client goes
away (or after END_AFTER bytes or seconds, whichever comes first); nothing
a client does kills the server. For the WebSocket violations the server
reads the client's answer and logs the close code it got, one line per
connection on stderr: "PATH closed 1002", "PATH closed none" (a test can
grep it).

usage: hostile_server.py PORT [--tls CERT KEY]
"""
import base64
import hashlib
import socket
import ssl
import struct
import sys
import threading
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CHUNK = 64 * 1024
END_AFTER_BYTES = 1 << 30  # an endless stream ends here even if nobody reads it
END_AFTER_SECONDS = 60
IO_TIMEOUT = 10  # a client that stops reading (or talking) for this long is gone


class Gone(Exception):
    """The client went away, or the case gave up on it."""


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.rest = b""  # bytes read past the request head
        self.path = "/"
        self.headers = {}

    # -- I/O --
    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        try:
            self.sock.sendall(data)
        except (OSError, ValueError) as e:
            raise Gone() from e

    def recv(self, n=65536):
        try:
            return self.sock.recv(n)
        except (OSError, ValueError):
            return b""

    def read_request(self):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.recv()
            if not chunk or len(data) > 65536:
                return False
            data += chunk
            if data[:1] == b"\x16":  # a TLS ClientHello: answer as plain HTTP servers do
                self.send("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                          "Connection: close\r\n\r\n")
                return False
        head, _, self.rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) < 2:
            return False
        self.path = parts[1].split("?")[0]
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        return True

    def reset(self):
        """Close with RST: a broken connection, not an end of stream."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def endless(self, piece):
        """Sends piece (about CHUNK bytes) again and again until the client
        goes away or the stream has gone on long enough."""
        sent, start = 0, time.monotonic()
        while sent < END_AFTER_BYTES and time.monotonic() - start < END_AFTER_SECONDS:
            self.send(piece)
            sent += len(piece)

    # -- SSE --
    def sse_head(self, ctype="text/event-stream"):
        self.send("HTTP/1.1 200 OK\r\nContent-Type: %s\r\nCache-Control: no-cache\r\n"
                  "Connection: close\r\n\r\n" % ctype)

    # -- WebSocket --
    def accept_key(self):
        key = self.headers.get("sec-websocket-key", "")
        return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()

    def upgrade(self, accept=None, extra=""):
        self.send("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s\r\n"
                  % (accept or self.accept_key(), extra))

    def read_frame(self):
        """One frame from the client: (opcode, payload), unmasked."""
        def need(n):
            while len(self.rest) < n:
                chunk = self.recv()
                if not chunk:
                    raise Gone()
                self.rest += chunk
            out, self.rest = self.rest[:n], self.rest[n:]
            return out
        b0, b1 = need(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", need(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", need(8))[0]
        if n > 1 << 20:
            raise Gone()
        key = need(4) if b1 & 0x80 else b"\0\0\0\0"
        p = need(n)
        return b0 & 0x0F, bytes(c ^ key[i % 4] for i, c in enumerate(p))

    def log_close(self):
        """Reads the client's frames until its close (answered) or the end
        of the connection, and logs the close code."""
        code = "none"
        try:
            while True:
                op, p = self.read_frame()
                if op == 8:
                    code = str(struct.unpack("!H", p[:2])[0]) if len(p) >= 2 else "1005"
                    try:
                        self.send(frame(8, p[:2]))
                    except Gone:
                        pass
                    break
        except Gone:
            pass
        log("%s closed %s" % (self.path, code))


LOG_LOCK = threading.Lock()


def log(line):
    with LOG_LOCK:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


def frame(opcode, payload=b"", fin=True, rsv=0, mask=False, length=None):
    """A frame as the server writes it; length overrides the announced
    payload length (the payload sent stays what is given)."""
    if isinstance(payload, str):
        payload = payload.encode()
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload) if length is None else length
    m = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, m | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, m | 126, n)
    else:
        head = struct.pack("!BBQ", b0, m | 127, n)
    if mask:
        key = b"\x37\xfa\x21\x3d"
        payload = bytes(c ^ key[i % 4] for i, c in enumerate(payload))
        head += key
    return head + payload


BEFORE_SSE = "id: 1\ndata: before\n\n"
BEFORE_WS = frame(1, "before")


# ---- SSE cases ----

def sse_ok(c):
    """A well-behaved stream (the control for the TLS cases): one event,
    then silence until the client leaves."""
    c.sse_head()
    c.send(BEFORE_SSE)
    c.recv()


def sse_endless_line(c):
    c.sse_head()
    c.send(BEFORE_SSE + "data: ")
    c.endless(b"a" * CHUNK)


def sse_endless_event(c):
    """Short lines, but the blank line that would end the event never comes."""
    c.sse_head()
    c.send(BEFORE_SSE)
    c.endless(("data: " + "b" * 1017 + "\n").encode() * 64)


def sse_endless_head(c):
    """A 200 whose header lines never end."""
    c.send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n")
    line = b"X-Filler: " + b"f" * 1012 + b"\r\n"
    c.endless(line * 64)


def sse_slow_head(c):
    """A status line, then one header line a second: never an event."""
    c.send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n")
    for i in range(END_AFTER_SECONDS * 10):
        c.send("X-Wait-%d: 1\r\n" % i)
        time.sleep(0.1)


def sse_redirect_loop(c):
    """To itself, on a kept-alive connection (handle() reads the next request)."""
    c.send("HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n" % c.path)


def sse_reset_mid_event(c):
    c.sse_head()
    c.send("retry: 100\n\n" + BEFORE_SSE + "id: 2\ndata: half an ev")
    time.sleep(0.05)
    c.reset()


def sse_drip(c):
    """An event, then one byte every 50 ms that never make a line."""
    c.sse_head()
    c.send(BEFORE_SSE)
    for _ in range(END_AFTER_SECONDS * 20):
        c.send(b"x")
        time.sleep(0.05)


def sse_short_body(c):
    """A Content-Length the body never reaches: the connection ends early."""
    body = BEFORE_SSE + "data: cut"
    c.send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: %d\r\n"
           "\r\n%s" % (len(body) + 100, body))
    c.sock.shutdown(socket.SHUT_WR)
    c.recv()


def sse_bad_chunked(c):
    """Chunked encoding: a good chunk, then a chunk size that is not hex."""
    c.send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
           "Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\nzz-not-hex\r\ndata: x\n\n\r\n"
           % (len(BEFORE_SSE), BEFORE_SSE))
    c.recv()


def sse_not_http(c):
    c.send("SSH-2.0-OpenSSH_9.2p1\r\n" + "x" * 200 + "\r\n\r\n")
    c.recv()


# ---- WebSocket cases ----

def ws_ok(c):
    """A well-behaved server (the control for wss): one message, then it
    waits for the client's close."""
    c.upgrade()
    c.send(BEFORE_WS)
    c.log_close()


def ws_violation(frames):
    """A message, then frames that break RFC 6455; logs the close code."""
    def case(c):
        c.upgrade()
        c.send(BEFORE_WS + frames)
        c.log_close()
    return case


def ws_endless_fragments(c):
    c.upgrade()
    c.send(BEFORE_WS + frame(1, b"c" * 100, fin=False))
    c.endless(frame(0, b"c" * (CHUNK - 4), fin=False))


def ws_endless_head(c):
    c.send("HTTP/1.1 101 Switching Protocols\r\n")
    c.endless(b"X-Filler: " + b"f" * 1012 + b"\r\n")


def ws_slow_head(c):
    c.send("HTTP/1.1 101 Switching Protocols\r\n")
    for i in range(END_AFTER_SECONDS * 10):
        c.send("X-Wait-%d: 1\r\n" % i)
        time.sleep(0.1)


def ws_wrong_accept(c):
    c.upgrade(accept=base64.b64encode(hashlib.sha1(b"not your key").digest()).decode())
    c.send(BEFORE_WS)
    c.recv()


def ws_non_101(c):
    body = "<html><body>no WebSocket here</body></html>"
    c.send("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s"
           % (len(body), body))
    c.recv()


def ws_not_http(c):
    c.send("SSH-2.0-OpenSSH_9.2p1\r\n\r\n")
    c.recv()


def ws_head_cut(c):
    """Half a response head, then the end of the connection."""
    c.send("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n")
    c.sock.shutdown(socket.SHUT_WR)
    c.recv()


def ws_unoffered_extension(c):
    c.upgrade(extra="Sec-WebSocket-Extensions: permessage-deflate\r\n")
    c.send(frame(1, b"\xf2\x48\xcd\xc9\xc9\x07\x00", rsv=4))
    c.recv()


def ws_unoffered_subprotocol(c):
    c.upgrade(extra="Sec-WebSocket-Protocol: mqtt\r\n")
    c.send(BEFORE_WS)
    c.recv()


def ws_reset_mid_frame(c):
    c.upgrade()
    c.send(BEFORE_WS + frame(1, b"d" * 1000)[:500])
    time.sleep(0.05)
    c.reset()


def ws_no_close(c):
    c.upgrade()
    c.send(BEFORE_WS)
    c.sock.shutdown(socket.SHUT_WR)
    c.recv()


def ws_ping_flood(c):
    """Pings as fast as the client takes them, never reading the pongs,
    then a reset: the pongs the client cannot send must not pile up."""
    c.upgrade()
    c.send(BEFORE_WS)
    piece = frame(9, b"p" * 125) * (CHUNK // 127)
    c.sock.settimeout(1)  # the client stopped reading: that is the end
    start = time.monotonic()
    try:
        while time.monotonic() - start < 3:
            c.send(piece)
    except Gone:
        pass
    c.reset()


CASES = {
    "/sse/ok": sse_ok,
    "/sse/endless-line": sse_endless_line,
    "/sse/endless-event": sse_endless_event,
    "/sse/endless-head": sse_endless_head,
    "/sse/slow-head": sse_slow_head,
    "/sse/redirect-loop": sse_redirect_loop,
    "/sse/reset-mid-event": sse_reset_mid_event,
    "/sse/drip": sse_drip,
    "/sse/short-body": sse_short_body,
    "/sse/bad-chunked": sse_bad_chunked,
    "/sse/not-http": sse_not_http,
    "/ws/ok": ws_ok,
    "/ws/absurd-length": ws_violation(frame(2, b"x" * 16, length=1 << 62)),
    "/ws/length-top-bit": ws_violation(frame(2, b"x" * 16, length=(1 << 63) + 16)),
    "/ws/non-minimal-length": ws_violation(frame(1, b"x" * 16, length=16)[:1] + b"\x7e\x00\x10" + b"x" * 16),
    "/ws/endless-fragments": ws_endless_fragments,
    "/ws/endless-head": ws_endless_head,
    "/ws/slow-head": ws_slow_head,
    "/ws/head-cut": ws_head_cut,
    "/ws/wrong-accept": ws_wrong_accept,
    "/ws/unoffered-extension": ws_unoffered_extension,
    "/ws/unoffered-subprotocol": ws_unoffered_subprotocol,
    "/ws/non-101": ws_non_101,
    "/ws/not-http": ws_not_http,
    "/ws/masked": ws_violation(frame(1, "masked", mask=True)),
    "/ws/rsv": ws_violation(frame(1, "deflated?", rsv=4)),
    "/ws/reserved-opcode": ws_violation(frame(3, "x")),
    "/ws/reserved-control-opcode": ws_violation(frame(0xB, "x")),
    "/ws/fragmented-ping": ws_violation(frame(9, "pi", fin=False) + frame(0, "ng")),
    "/ws/oversized-ping": ws_violation(frame(9, b"p" * 126)),
    "/ws/orphan-continuation": ws_violation(frame(0, "x")),
    "/ws/message-in-message": ws_violation(frame(1, "a", fin=False) + frame(1, "b")),
    "/ws/bad-utf8": ws_violation(frame(1, b"caf\xc3\x28")),
    "/ws/bad-close-code": ws_violation(frame(8, struct.pack("!H", 1005))),
    "/ws/reset-mid-frame": ws_reset_mid_frame,
    "/ws/no-close": ws_no_close,
    "/ws/ping-flood": ws_ping_flood,
}


def handle(sock, ctx):
    c = None
    try:
        sock.settimeout(IO_TIMEOUT)
        if ctx is not None:
            sock = ctx.wrap_socket(sock, server_side=True)
        c = Conn(sock)
        while c.read_request():
            fn = CASES.get(c.path)
            if fn is None:
                body = "".join(p + "\n" for p in CASES)
                c.send("HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
                       "Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
                break
            fn(c)
            if fn is not sse_redirect_loop:
                break
            c.headers = {}
            if c.rest:  # a pipelined request: no
                break
    except Gone:
        pass
    except Exception as e:  # a TLS handshake the client refused, a reset...
        if not isinstance(e, (OSError, ValueError)):
            log("hostile_server: %s: %r" % (c.path if c else "?", e))
    finally:
        try:
            sock.close()
        except OSError:
            pass


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-") or (len(args) > 1 and (args[1] != "--tls" or len(args) != 4)):
        sys.exit("usage: hostile_server.py PORT [--tls CERT KEY]")
    ctx = None
    if len(args) == 4:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args[2], args[3])
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", int(args[0])))
    srv.listen(128)
    while True:
        try:
            sock, _ = srv.accept()
        except OSError:  # EMFILE and the like: wait and go on
            time.sleep(0.05)
            continue
        threading.Thread(target=handle, args=(sock, ctx), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
