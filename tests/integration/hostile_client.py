#!/usr/bin/python3
"""Hostile clients of evcat serve (issue 6), on raw sockets: what a broken or
malicious client does to a server. Every mode is bounded in time and prints
what it observed, one line per case, for serve_hostile.sh to compare with
what RFC 9112 / RFC 6455 and evcat(1) say the server must do.

  hostile_client.py malformed PORT        malformed and smuggling-ish request
                                          heads, one connection each:
                                          "NAME STATUS closed|open"
  hostile_client.py oversized-head PORT   heads over the server's bounds, same
                                          format
  hostile_client.py ws-upgrade PORT       malformed WebSocket upgrades:
                                          "NAME STATUS closed|open [v13]" (v13:
                                          the answer carries
                                          Sec-WebSocket-Version: 13)
  hostile_client.py ws-frames PORT MAX    frames RFC 6455 forbids, after a good
                                          upgrade (MAX: the server's
                                          --max-message): "NAME close CODE
                                          closed|open"
  hostile_client.py slowloris PORT N SECONDS GAP
                                          N connections sending a request head
                                          one byte every GAP seconds; waits up
                                          to SECONDS: "slowloris closed K/N
                                          max T.Ts status S" (S: the statuses
                                          seen, e.g. 408x50)
  hostile_client.py silent PORT N SECONDS N connections that send nothing:
                                          "silent closed K/N max T.Ts bytes B"
  hostile_client.py non-reader PORT NSSE NWS FLAG SECONDS
                                          NSSE /sse and NWS /ws subscribers
                                          with a tiny SO_RCVBUF that do not
                                          read; prints "ready", holds until
                                          the file FLAG exists (at most
                                          SECONDS), then reads: "sse dropped
                                          K/N", "ws dropped K/N" and "ws close
                                          CODES" (the close codes the dropped
                                          /ws clients found at the end)
  hostile_client.py abort-mid-frame PORT ROUNDS
                                          connections reset (SO_LINGER 0) in
                                          the middle of a WebSocket frame, a
                                          request body, a head, a stream:
                                          "NAME ROUNDS" for each case run
  hostile_client.py ping-flood PORT PATH SECONDS
                                          a WebSocket client (PATH /ws or
                                          /echo) that pings without reading
                                          the pongs: "ping-flood PATH sent B
                                          open|ended"
  hostile_client.py flood PORT N HOLD     N subscribers at once; holds the ones
                                          admitted HOLD seconds: "200 A 503 B
                                          closed C retry-after D other E"
"""
import base64
import os
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sse_peer import closed_after, connect  # noqa: E402  (the raw-socket peer's helpers)

HOST = "127.0.0.1"


def reset(s):
    """Closes with a reset (SO_LINGER 0): the abrupt end of a crashed client."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    s.close()


def send_quietly(s, data):
    """Sends what the server takes; it may answer and close before the end."""
    try:
        s.sendall(data)
        return True
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        return False


def read_head(s, limit=5.0):
    """Reads up to the end of a response head: (head bytes, what followed)."""
    data = b""
    end = time.time() + limit
    while b"\r\n\r\n" not in data and time.time() < end:
        s.settimeout(max(0.01, end - time.time()))
        try:
            chunk = s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def status_of(head):
    parts = head.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.1"):
        return "none"
    return parts[1].decode(errors="replace")


def header_of(head, name):
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == name.lower().encode():
            return v.strip().decode(errors="replace")
    return None


def one_request(port, data, close_limit=3.0):
    """Sends data on a new connection: (status, closed, head)."""
    s = connect(port)
    send_quietly(s, data)
    head, _ = read_head(s)
    st = status_of(head)
    closed = closed_after(s, close_limit) if st != "none" else True
    s.close()
    return st, closed, head


def report(name, data, port, versions=False):
    """Prints "NAME STATUS closed|open" for one request; versions: with
    "v13" when the answer carries Sec-WebSocket-Version: 13."""
    # "ok-" cases must be served and the connection kept: a short look
    # suffices (and stays under --idle-timeout).
    st, closed, head = one_request(port, data, 0.5 if name.startswith("ok-") else 3.0)
    out = [name, st, "closed" if closed else "open"]
    if versions and header_of(head, "sec-websocket-version") == "13":
        out.append("v13")
    print(" ".join(out), flush=True)


# ------------------------------------------------------------ malformed heads

H = b"Host: t\r\n"
MALFORMED = [
    ("garbage-line", b"GARBAGE\r\n\r\n"),
    ("binary-garbage", bytes(range(256)) + b"\r\n\r\n"),
    # No line end in it: answered at the first byte that cannot start a
    # method, not at --header-timeout.
    ("tls-client-hello", bytes.fromhex("16030100c4010000c00303") + b"\x01" * 32 + b"\x00" * 8),
    ("nul-in-method", b"G\x00T /sse HTTP/1.1\r\n" + H + b"\r\n"),
    ("nul-in-target", b"GET /s\x00e HTTP/1.1\r\n" + H + b"\r\n"),
    ("nul-in-value", b"GET /sse HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n"),
    ("nul-in-name", b"GET /sse HTTP/1.1\r\n" + H + b"X\x00A: a\r\n\r\n"),
    ("bare-cr", b"GET /sse HTTP/1.1\r\n" + H + b"X-A: a\rb\r\n\r\n"),
    ("bare-cr-line-end", b"GET /sse HTTP/1.1\r" + H + b"\r\n"),
    ("obs-fold", b"GET /sse HTTP/1.1\r\n" + H + b"X-A: a\r\n folded\r\n\r\n"),
    ("obs-fold-tab", b"GET /sse HTTP/1.1\r\n" + H + b"X-A: a\r\n\tfolded\r\n\r\n"),
    ("space-before-colon", b"GET /sse HTTP/1.1\r\n" + H + b"X-A : a\r\n\r\n"),
    ("no-colon", b"GET /sse HTTP/1.1\r\n" + H + b"X-A a\r\n\r\n"),
    ("empty-name", b"GET /sse HTTP/1.1\r\n" + H + b": a\r\n\r\n"),
    ("no-host", b"GET /sse HTTP/1.1\r\n\r\n"),
    ("two-hosts", b"GET /sse HTTP/1.1\r\n" + H + H + b"\r\n"),
    ("double-space", b"GET  /sse HTTP/1.1\r\n" + H + b"\r\n"),
    ("tab-separator", b"GET\t/sse HTTP/1.1\r\n" + H + b"\r\n"),
    ("relative-target", b"GET sse HTTP/1.1\r\n" + H + b"\r\n"),
    ("star-with-get", b"GET * HTTP/1.1\r\n" + H + b"\r\n"),
    ("lowercase-version", b"GET /sse http/1.1\r\n" + H + b"\r\n"),
    ("version-garbage", b"GET /sse HTTP/1.x\r\n" + H + b"\r\n"),
    ("http-0.9", b"GET /sse\r\n\r\n"),
    ("http-0.9-version", b"GET /sse HTTP/0.9\r\n" + H + b"\r\n"),
    ("http2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
    ("http-2.0", b"GET /sse HTTP/2.0\r\n" + H + b"\r\n"),
    ("cl-and-te", b"POST /publish HTTP/1.1\r\n" + H +
     b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("te-and-cl", b"POST /publish HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"),
    ("cl-differs", b"POST /publish HTTP/1.1\r\n" + H +
     b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
    ("cl-list-differs", b"POST /publish HTTP/1.1\r\n" + H + b"Content-Length: 5, 6\r\n\r\nhello!"),
    ("cl-negative", b"POST /publish HTTP/1.1\r\n" + H + b"Content-Length: -5\r\n\r\nhello"),
    ("cl-plus", b"POST /publish HTTP/1.1\r\n" + H + b"Content-Length: +5\r\n\r\nhello"),
    ("cl-hex", b"POST /publish HTTP/1.1\r\n" + H + b"Content-Length: 0x5\r\n\r\nhello"),
    ("cl-empty", b"POST /publish HTTP/1.1\r\n" + H + b"Content-Length:\r\n\r\n"),
    ("cl-overflow", b"POST /publish HTTP/1.1\r\n" + H +
     b"Content-Length: 99999999999999999999999\r\n\r\nhello"),
    ("cl-huge", b"POST /publish HTTP/1.1\r\n" + H + b"Content-Length: 1000000000000\r\n\r\nhello"),
    ("te-not-chunked-last", b"POST /publish HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"),
    ("te-xchunked", b"POST /publish HTTP/1.1\r\n" + H + b"Transfer-Encoding: xchunked\r\n\r\n"),
    ("te-chunked-twice", b"POST /publish HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("te-gzip-chunked", b"POST /publish HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
    ("te-in-http-1.0", b"POST /publish HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("chunk-size-bad", b"POST /publish HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"),
    ("chunk-size-negative", b"POST /publish HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n"),
    ("chunk-size-overflow", b"POST /publish HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff1\r\nhello\r\n0\r\n\r\n"),
    ("chunk-data-too-long", b"POST /publish HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n"),
    ("chunk-bare-cr", b"POST /publish HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: chunked\r\n\r\n5\rhello\r\n0\r\n\r\n"),
    ("body-on-get", b"GET /sse HTTP/1.1\r\n" + H + b"Content-Length: 5\r\n\r\nhello"),
    ("expect-other", b"POST /publish HTTP/1.1\r\n" + H + b"Expect: 200-ok\r\n"
     b"Content-Length: 5\r\n\r\nhello"),
    ("bad-utf8-body", b"POST /publish HTTP/1.1\r\n" + H + b"Content-Length: 4\r\n\r\n\xff\xfe\xfd\xfc"),
    ("bad-escape-event", b"POST /publish?event=%zz HTTP/1.1\r\n" + H +
     b"Content-Length: 5\r\n\r\nhello"),
    # Controls: what RFC 9112 lets a server accept, and serve does.
    ("ok-bare-lf", b"OPTIONS /publish HTTP/1.1\n" + b"Host: t\n\n"),
    ("ok-leading-crlf", b"\r\n\r\nOPTIONS /publish HTTP/1.1\r\n" + H + b"\r\n"),
    ("ok-cl-repeated-same", b"POST /publish HTTP/1.1\r\n" + H +
     b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello"),
    ("ok-absolute-form", b"OPTIONS http://t/publish HTTP/1.1\r\n" + H + b"\r\n"),
    ("ok-http-1.9", b"OPTIONS /publish HTTP/1.9\r\n" + H + b"\r\n"),
]


def mode_malformed(port):
    for name, data in MALFORMED:
        report(name, data, port)


# ------------------------------------------------------------ oversized heads

def mode_oversized_head(port):
    big = b"a" * 20000
    report("one-header-20k", b"GET /sse HTTP/1.1\r\n" + H + b"X-Big: " + big + b"\r\n\r\n", port)
    many = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 200) for i in range(90))
    report("headers-total-18k", b"GET /sse HTTP/1.1\r\n" + H + many + b"\r\n", port)
    lots = b"".join(b"X-%d: v\r\n" % i for i in range(150))
    report("150-headers", b"GET /sse HTTP/1.1\r\n" + H + lots + b"\r\n", port)
    report("uri-20k", b"GET /" + big + b" HTTP/1.1\r\n" + H + b"\r\n", port)
    report("uri-20k-unfinished", b"GET /" + big, port)
    report("method-20k", b"A" * 20000 + b" /sse HTTP/1.1\r\n" + H + b"\r\n", port)
    report("method-20k-unfinished", b"A" * 20000, port)
    # A megabyte with no line end at all: answered at the bound, not buffered.
    report("no-line-end-1M", b"GET /sse HTTP/1.1\r\nX-Endless: " + b"e" * (1 << 20), port)
    report("empty-lines-20k", b"\r\n" * 10000 + b"GET /sse HTTP/1.1\r\n" + H + b"\r\n", port)
    # The bound itself is not an error: a head just under 16 KiB is served.
    fill = b"f" * (16384 - 200)
    report("ok-head-16k", b"OPTIONS /publish HTTP/1.1\r\n" + H + b"X-Fill: " + fill + b"\r\n\r\n",
           port)


# ------------------------------------------------------------ WebSocket

KEY = b"dGhlIHNhbXBsZSBub25jZQ=="


def upgrade_req(path=b"/echo", key=KEY, version=b"13", extra=b"", method=b"GET",
                http=b"HTTP/1.1", connection=b"Upgrade", upgrade=b"websocket"):
    h = method + b" " + path + b" " + http + b"\r\nHost: t\r\n"
    if upgrade is not None:
        h += b"Upgrade: " + upgrade + b"\r\n"
    if connection is not None:
        h += b"Connection: " + connection + b"\r\n"
    if key is not None:
        h += b"Sec-WebSocket-Key: " + key + b"\r\n"
    if version is not None:
        h += b"Sec-WebSocket-Version: " + version + b"\r\n"
    return h + extra + b"\r\n"


def mode_ws_upgrade(port):
    cases = [
        ("no-key", upgrade_req(key=None)),
        ("empty-key", upgrade_req(key=b"")),
        ("short-key", upgrade_req(key=b"c2hvcnQ=")),
        ("key-not-base64", upgrade_req(key=b"!!!!!!!!!!!!!!!!!!!!!!==")),
        ("key-17-bytes", upgrade_req(key=base64.b64encode(b"x" * 17))),
        ("two-keys", upgrade_req(extra=b"Sec-WebSocket-Key: " + KEY + b"\r\n")),
        ("no-version", upgrade_req(version=None)),
        ("version-8", upgrade_req(version=b"8")),
        ("version-14", upgrade_req(version=b"14")),
        ("version-garbage", upgrade_req(version=b"thirteen")),
        ("no-connection-upgrade", upgrade_req(connection=None)),
        ("connection-keep-alive", upgrade_req(connection=b"keep-alive")),
        ("upgrade-h2c", upgrade_req(upgrade=b"h2c")),
        ("no-upgrade", upgrade_req(upgrade=None, connection=None)),
        ("http-1.0", upgrade_req(http=b"HTTP/1.0")),
        ("post-upgrade", upgrade_req(method=b"POST")),
        ("upgrade-with-body", upgrade_req(extra=b"Content-Length: 5\r\n") + b"hello"),
        ("ws-no-key", upgrade_req(path=b"/ws", key=None)),
        ("ws-version-8", upgrade_req(path=b"/ws", version=b"8")),
        ("two-versions", upgrade_req(extra=b"Sec-WebSocket-Version: 8\r\n")),
        # Upgrade is a request a server may ignore (RFC 9110 section 7.8).
        ("ok-upgrade-on-sse", upgrade_req(path=b"/sse")),
        ("ok-upgrade-unknown-path", upgrade_req(path=b"/nope")),
    ]
    for name, data in cases:
        report(name, data, port, versions=True)


def frame(opcode, payload=b"", fin=True, mask=True, rsv=0, length=None):
    """A client frame; length: the announced payload length, when it lies."""
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload) if length is None else length
    m = 0x80 if mask else 0
    if n < 126:
        h = bytes([b0, m | n])
    elif n < 65536:
        h = bytes([b0, m | 126]) + struct.pack("!H", n)
    else:
        h = bytes([b0, m | 127]) + struct.pack("!Q", n)
    if not mask:
        return h + payload
    key = os.urandom(4)
    return h + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))


def ws_open(port, path=b"/echo", rcvbuf=None):
    s = connect(port, rcvbuf=rcvbuf)
    s.sendall(upgrade_req(path=path))
    head, rest = read_head(s)
    if status_of(head) != "101":
        raise RuntimeError("upgrade refused: %r" % head[:80])
    return s, rest


def read_close(s, rest, limit=5.0):
    """Reads server frames up to a close: (code or None, closed)."""
    buf = rest
    end = time.time() + limit
    while True:
        # Parse whatever complete frames are buffered.
        while len(buf) >= 2:
            op = buf[0] & 0x0F
            n = buf[1] & 0x7F
            off = 2
            if n == 126:
                if len(buf) < 4:
                    break
                n = struct.unpack("!H", buf[2:4])[0]
                off = 4
            elif n == 127:
                if len(buf) < 10:
                    break
                n = struct.unpack("!Q", buf[2:10])[0]
                off = 10
            if len(buf) < off + n:
                break
            payload = buf[off:off + n]
            buf = buf[off + n:]
            if op == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                # Answer it, as a client does; then the server closes.
                send_quietly(s, frame(0x8, payload[:2]))
                return code, closed_after(s, max(0.5, end - time.time()))
        if time.time() >= end:
            return None, False
        s.settimeout(max(0.01, end - time.time()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return None, False
        except ConnectionResetError:
            return None, True
        if not chunk:
            return None, True
        buf += chunk


def mode_ws_frames(port, max_message):
    big = max_message + 1
    cases = [
        ("unmasked-text", b"/echo", frame(0x1, b"hello", mask=False)),
        ("unmasked-text-ws", b"/ws", frame(0x1, b"hello", mask=False)),
        ("over-max-message", b"/echo", frame(0x2, length=big)),
        ("over-max-message-ws", b"/ws", frame(0x1, length=big)),
        ("over-max-fragmented", b"/echo",
         frame(0x2, b"x" * (max_message // 2 + 1), fin=False) +
         frame(0x0, b"x" * (max_message // 2 + 1))),
        ("length-msb-set", b"/echo",
         bytes([0x82, 0xFF]) + struct.pack("!Q", 1 << 63) + b"\x00\x00\x00\x00"),
        ("rsv1-set", b"/echo", frame(0x1, b"hello", rsv=4)),
        ("rsv3-set", b"/echo", frame(0x1, b"hello", rsv=1)),
        ("opcode-3", b"/echo", frame(0x3, b"hello")),
        ("opcode-b", b"/echo", frame(0xB, b"hello")),
        ("ping-126", b"/echo", frame(0x9, b"p" * 126)),
        ("ping-fragmented", b"/echo", frame(0x9, b"p", fin=False)),
        ("continuation-first", b"/echo", frame(0x0, b"hello")),
        ("new-message-mid-fragment", b"/echo",
         frame(0x1, b"hel", fin=False) + frame(0x1, b"lo")),
        ("bad-utf8", b"/echo", frame(0x1, b"\xff\xfe")),
        ("bad-utf8-fragmented", b"/echo",
         frame(0x1, b"\xe2\x82", fin=False) + frame(0x0, b"\x28")),
        ("close-1-byte", b"/echo", frame(0x8, b"\x03")),
        ("close-code-1005", b"/echo", frame(0x8, struct.pack("!H", 1005))),
        ("close-code-999", b"/echo", frame(0x8, struct.pack("!H", 999))),
        ("close-bad-utf8-reason", b"/echo", frame(0x8, struct.pack("!H", 1000) + b"\xff")),
        ("ok-close-1000", b"/echo", frame(0x8, struct.pack("!H", 1000))),
    ]
    for name, path, data in cases:
        try:
            s, rest = ws_open(port, path)
        except (OSError, RuntimeError) as e:
            print(name, "upgrade-failed", e, flush=True)
            continue
        send_quietly(s, data)
        code, closed = read_close(s, rest)
        print(name, "close", code if code is not None else "none",
              "closed" if closed else "open", flush=True)
        s.close()


# ------------------------------------------------------------ slow and silent

def mode_slowloris(port, n, seconds, gap):
    head = b"GET /sse HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"s" * 4000 + b"\r\n\r\n"
    socks = []
    for _ in range(n):
        s = connect(port)
        s.setblocking(False)
        socks.append({"s": s, "t0": time.time(), "sent": 0, "data": b"", "closed": None})
    end = time.time() + seconds
    next_send = 0.0
    while time.time() < end and any(c["closed"] is None for c in socks):
        now = time.time()
        if now >= next_send:
            for c in socks:
                if c["closed"] is None and c["sent"] < len(head):
                    try:
                        c["s"].send(head[c["sent"]:c["sent"] + 1])
                        c["sent"] += 1
                    except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                        pass
            next_send = now + gap
        live = [c for c in socks if c["closed"] is None]
        r, _, _ = select.select([c["s"] for c in live], [], [], max(0.0, min(next_send, end) - time.time()))
        for c in live:
            if c["s"] not in r:
                continue
            try:
                chunk = c["s"].recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except ConnectionResetError:
                chunk = b""
            if chunk:
                c["data"] += chunk
            else:
                c["closed"] = time.time() - c["t0"]
    closed = [c for c in socks if c["closed"] is not None]
    statuses = {}
    for c in socks:
        st = status_of(c["data"]) if c["data"] else "none"
        statuses[st] = statuses.get(st, 0) + 1
        c["s"].close()
    mx = max((c["closed"] for c in closed), default=0.0)
    sts = ",".join("%sx%d" % kv for kv in sorted(statuses.items()))
    complete = sum(1 for c in socks if c["sent"] >= len(head))
    print("slowloris closed %d/%d max %.1fs status %s completed %d"
          % (len(closed), n, mx, sts, complete), flush=True)


def mode_silent(port, n, seconds):
    socks = [connect(port) for _ in range(n)]
    t0 = time.time()
    for s in socks:
        s.setblocking(False)
    closed, got = {}, 0
    end = t0 + seconds
    while time.time() < end and len(closed) < n:
        live = [s for s in socks if s not in closed]
        r, _, _ = select.select(live, [], [], max(0.0, end - time.time()))
        for s in r:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                chunk = b""
            got += len(chunk)
            if not chunk:
                closed[s] = time.time() - t0
    print("silent closed %d/%d max %.1fs bytes %d"
          % (len(closed), n, max(closed.values(), default=0.0), got), flush=True)
    for s in socks:
        s.close()


# ------------------------------------------------------------ non-readers

def mode_non_reader(port, nsse, nws, flag, seconds):
    sse, ws = [], []
    for _ in range(nsse):
        s = connect(port, rcvbuf=2048)
        s.sendall(b"GET /sse HTTP/1.1\r\nHost: t\r\n\r\n")
        head, _ = read_head(s)
        if status_of(head) != "200":
            sys.exit("non-reader: /sse answered %r" % head[:60])
        sse.append(s)
    for _ in range(nws):
        s, _ = ws_open(port, b"/ws", rcvbuf=2048)
        ws.append(s)
    print("ready", flush=True)
    end = time.time() + seconds
    while time.time() < end and not os.path.exists(flag):
        time.sleep(0.05)
    # Now read: a dropped subscriber's stream ends (EOF or reset) soon; a
    # live one would go on with ticks until the deadline.
    result = {}
    codes = []
    for kind, socks in (("sse", sse), ("ws", ws)):
        for s in socks:
            s.setblocking(False)
            result[s] = (kind, b"")
    open_ = set(result)
    deadline = time.time() + 5
    ended = set()
    while open_ and time.time() < deadline:
        r, _, _ = select.select(list(open_), [], [], max(0.0, deadline - time.time()))
        for s in r:
            try:
                chunk = s.recv(1 << 20)
            except (BlockingIOError, InterruptedError):
                continue
            except ConnectionResetError:
                chunk = b""
            kind, tail = result[s]
            if chunk:
                result[s] = (kind, (tail + chunk)[-256:])
            else:
                ended.add(s)
                open_.discard(s)
    for s in ws:
        if s in ended:
            tail = result[s][1]
            # The last frame is our close, when it made it: 0x88 len code.
            i = tail.rfind(b"\x88")
            if i >= 0 and i + 4 <= len(tail) and (tail[i + 1] & 0x7F) >= 2:
                codes.append(str(struct.unpack("!H", tail[i + 2:i + 4])[0]))
            else:
                codes.append("none")
    print("sse dropped %d/%d" % (sum(1 for s in sse if s in ended), nsse), flush=True)
    print("ws dropped %d/%d" % (sum(1 for s in ws if s in ended), nws), flush=True)
    print("ws close " + (",".join(sorted(set(codes))) or "-"), flush=True)
    for s in sse + ws:
        s.close()


# ------------------------------------------------------------ abrupt ends

def abort_cases(port):
    def echo_half_header():
        s, _ = ws_open(port)
        s.sendall(b"\x81")
        reset(s)

    def echo_half_mask():
        s, _ = ws_open(port)
        s.sendall(b"\x81\x85\x01\x02")
        reset(s)

    def short_payload(path):
        def run():
            s, _ = ws_open(port, path)
            f = frame(0x1, b"y" * 60000)
            s.sendall(f[:1000])
            reset(s)
        return run

    def echo_big_unread():
        # A whole message whose echo is being written when the reset comes.
        s, _ = ws_open(port)
        s.sendall(frame(0x2, os.urandom(60000)))
        time.sleep(0.01)
        reset(s)

    def frame_before_101():
        s = connect(port)
        s.sendall(upgrade_req() + frame(0x1, b"early")[:4])
        reset(s)

    def ws_after_close_sent():
        s, _ = ws_open(port, b"/ws")
        s.sendall(frame(0x8, struct.pack("!H", 1000)) + frame(0x1, b"after close")[:3])
        reset(s)

    def publish_mid_body():
        s = connect(port)
        s.sendall(b"POST /publish HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n" +
                  b"b" * 1000)
        reset(s)

    def publish_mid_chunk():
        s = connect(port)
        s.sendall(b"POST /publish HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"1000\r\n" + b"c" * 100)
        reset(s)

    def publish_mid_chunk_size():
        s = connect(port)
        s.sendall(b"POST /publish HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"5\r\nhello\r\n10")
        reset(s)

    def mid_head():
        s = connect(port)
        s.sendall(b"GET /sse HTTP/1.1\r\nHo")
        reset(s)

    def sse_reset():
        s = connect(port)
        s.sendall(b"GET /sse HTTP/1.1\r\nHost: t\r\n\r\n")
        read_head(s)
        reset(s)

    def pipelined_reset():
        s = connect(port)
        s.sendall(b"OPTIONS /publish HTTP/1.1\r\nHost: t\r\n\r\n" * 50)
        reset(s)

    return [
        ("echo-half-header", echo_half_header),
        ("echo-half-mask", echo_half_mask),
        ("echo-short-payload", short_payload(b"/echo")),
        ("ws-short-payload", short_payload(b"/ws")),
        ("echo-big-unread", echo_big_unread),
        ("frame-before-101", frame_before_101),
        ("ws-after-close", ws_after_close_sent),
        ("publish-mid-body", publish_mid_body),
        ("publish-mid-chunk", publish_mid_chunk),
        ("publish-mid-chunk-size", publish_mid_chunk_size),
        ("mid-head", mid_head),
        ("sse-reset", sse_reset),
        ("pipelined-reset", pipelined_reset),
    ]


def mode_abort(port, rounds):
    for name, fn in abort_cases(port):
        done = 0
        for _ in range(rounds):
            try:
                fn()
                done += 1
            except (OSError, RuntimeError) as e:
                print(name, "error", e, flush=True)
                break
        print(name, done, flush=True)


# ------------------------------------------------------------ ping flood

def mode_ping_flood(port, path, seconds):
    """Pings as fast as the server takes them, never reading the pongs."""
    s, _ = ws_open(port, path.encode(), rcvbuf=2048)
    burst = frame(0x9, b"p" * 125) * 256
    s.settimeout(0.2)
    sent, ended = 0, False
    end = time.time() + seconds
    while time.time() < end:
        try:
            sent += s.send(burst)
        except socket.timeout:
            continue
        except (BrokenPipeError, ConnectionResetError):
            ended = True
            break
    print("ping-flood %s sent %d %s" % (path, sent, "ended" if ended else "open"), flush=True)
    reset(s)


# ------------------------------------------------------------ flood

def mode_flood(port, n, hold):
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect((HOST, port))
            s.sendall(b"GET /sse HTTP/1.1\r\nHost: t\r\n\r\n")
        except OSError:
            pass
        socks.append(s)
    counts = {"200": 0, "503": 0, "closed": 0, "retry-after": 0, "other": 0}
    admitted = []
    for s in socks:
        head, _ = read_head(s, 10)
        st = status_of(head)
        if st == "200":
            counts["200"] += 1
            admitted.append(s)
        elif st == "503":
            counts["503"] += 1
            if header_of(head, "retry-after") == "1":
                counts["retry-after"] += 1
            if closed_after(s, 5):
                counts["closed"] += 1
            s.close()
        else:
            counts["other"] += 1
            s.close()
    print("200 %(200)d 503 %(503)d closed %(closed)d retry-after %(retry-after)d other %(other)d"
          % counts, flush=True)
    time.sleep(hold)
    for s in admitted:
        s.close()


def main():
    mode, port, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    if mode == "malformed":
        mode_malformed(port)
    elif mode == "oversized-head":
        mode_oversized_head(port)
    elif mode == "ws-upgrade":
        mode_ws_upgrade(port)
    elif mode == "ws-frames":
        mode_ws_frames(port, int(args[0]))
    elif mode == "slowloris":
        mode_slowloris(port, int(args[0]), float(args[1]), float(args[2]))
    elif mode == "silent":
        mode_silent(port, int(args[0]), float(args[1]))
    elif mode == "non-reader":
        mode_non_reader(port, int(args[0]), int(args[1]), args[2], float(args[3]))
    elif mode == "abort-mid-frame":
        mode_abort(port, int(args[0]))
    elif mode == "ping-flood":
        mode_ping_flood(port, args[0], float(args[1]))
    elif mode == "flood":
        mode_flood(port, int(args[0]), float(args[1]))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
