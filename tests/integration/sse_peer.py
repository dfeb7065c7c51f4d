#!/usr/bin/python3
"""Raw-socket peer for the evcat serve integration tests: what curl cannot
do (pipelining, half-written heads, a subscriber that never reads, exact
bytes on the wire). Every mode is bounded in time and prints one result.

  sse_peer.py raw PORT HEX|-            send bytes (hex, or stdin), print the
                                        response until the server closes (max 5 s)
  sse_peer.py status PORT HEX           the status code of the first response,
                                        and whether the server then closed
  sse_peer.py pipeline PORT N [TYPE]    N POST /publish in one write on one
                                        connection; print "status id" per response
  sse_peer.py slowloris PORT SECONDS    send a head one byte at a time, slower
                                        than the server allows; print what happened
  sse_peer.py stalled PORT SECONDS      subscribe to /sse and never read; print
                                        "dropped" when the server drops us
  sse_peer.py events PORT N [HEADERS...] subscribe, print the first N events as
                                        JSON lines (id, event, data) (max 10 s)
  sse_peer.py parse FILE                the events of a captured stream (curl -N
                                        output) as JSON lines
  sse_peer.py hold PORT N SECONDS       open N subscribers, hold them SECONDS,
                                        close them; print how many got a 200
  sse_peer.py flood PORT N SIZE         N publishes of SIZE bytes, one after the
                                        other on one keep-alive connection; print
                                        the count of 202s and the last id
"""
import json
import socket
import sys
import time


def connect(port, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    return s


def read_all(s, limit=5.0):
    data = b""
    end = time.time() + limit
    while time.time() < end:
        s.settimeout(max(0.01, end - time.time()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def closed_after(s, limit):
    """True when the server closes within limit seconds (reading what comes)."""
    end = time.time() + limit
    while time.time() < end:
        s.settimeout(max(0.01, end - time.time()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        if not chunk:
            return True
    return False


def parse_responses(data):
    """Splits pipelined responses with Content-Length bodies."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(b":")
            headers[k.strip().lower().decode()] = v.strip().decode()
        n = int(headers.get("content-length", "0"))
        out.append((status, headers, rest[:n]))
        data = rest[n:]
    return out


def mode_raw(port, arg):
    payload = sys.stdin.buffer.read() if arg == "-" else bytes.fromhex(arg)
    s = connect(port)
    s.sendall(payload)
    sys.stdout.buffer.write(read_all(s))


def mode_status(port, arg):
    s = connect(port)
    s.sendall(bytes.fromhex(arg))
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    status = data.split(b" ", 2)[1].decode() if data else "none"
    print(status, "closed" if closed_after(s, 3) else "open")


def mode_pipeline(port, n, etype=None):
    q = "?event=" + etype if etype else ""
    reqs = b""
    for i in range(n):
        body = ("pipelined %d" % i).encode()
        reqs += (b"POST /publish%s HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n%s"
                 % (q.encode(), len(body), body))
    s = connect(port)
    s.sendall(reqs)
    data = b""
    end = time.time() + 5
    while len(parse_responses(data)) < n and time.time() < end:
        s.settimeout(max(0.01, end - time.time()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    for status, headers, body in parse_responses(data):
        print(status, json.loads(body)["id"] if status == 202 else body.decode().strip())
    # The connection stays usable: one more request on it.
    s.sendall(b"OPTIONS /publish HTTP/1.1\r\nHost: t\r\n\r\n")
    more = read_all(s, 1.0)
    print("then", more.split(b" ", 2)[1].decode() if more else "nothing")


def mode_slowloris(port, seconds):
    head = b"GET /sse HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n"
    s = connect(port)
    start = time.time()
    for b in head:
        try:
            s.sendall(bytes([b]))
        except (BrokenPipeError, ConnectionResetError):
            break
        if closed_after(s, seconds):
            break
    else:
        print("completed the head: not cut off")
        return
    # Whatever the server answered before closing.
    print("closed after %.1fs" % (time.time() - start))


def mode_stalled(port, seconds):
    s = connect(port, rcvbuf=4096)
    s.sendall(b"GET /sse HTTP/1.1\r\nHost: t\r\n\r\n")
    time.sleep(seconds)
    # Read now: a dropped subscriber sees its stream end (or a reset) early.
    got = 0
    end = time.time() + 10
    s.settimeout(10)
    try:
        while time.time() < end:
            chunk = s.recv(1 << 20)
            if not chunk:
                print("dropped after %d bytes" % got)
                return
            got += len(chunk)
    except socket.timeout:
        print("still open after %d bytes" % got)
        return
    except ConnectionResetError:
        print("dropped (reset) after %d bytes" % got)
        return
    print("still open after %d bytes" % got)


def parse_events(stream):
    """WHATWG-style split into events (enough for our own server's output)."""
    events = []
    for block in stream.replace(b"\r\n", b"\n").split(b"\n\n"):
        ev = {"data": []}
        for line in block.split(b"\n"):
            if not line or line.startswith(b":"):
                continue
            k, _, v = line.partition(b":")
            v = v[1:] if v.startswith(b" ") else v
            if k == b"data":
                ev["data"].append(v.decode())
            elif k in (b"id", b"event", b"retry"):
                ev[k.decode()] = v.decode()
        if ev["data"]:
            events.append({"id": ev.get("id", ""), "event": ev.get("event", "message"),
                           "data": "\n".join(ev["data"])})
    return events


def mode_events(port, n, headers):
    s = connect(port)
    extra = "".join(h + "\r\n" for h in headers)
    s.sendall(("GET /sse HTTP/1.1\r\nHost: t\r\n%s\r\n" % extra).encode())
    data = b""
    end = time.time() + 10
    while time.time() < end:
        s.settimeout(max(0.01, end - time.time()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
        body = data.partition(b"\r\n\r\n")[2]
        # Complete events only: up to the last blank line.
        complete = body[: body.rfind(b"\n\n") + 2] if b"\n\n" in body else b""
        if len(parse_events(complete)) >= n:
            break
    body = data.partition(b"\r\n\r\n")[2]
    complete = body[: body.rfind(b"\n\n") + 2] if b"\n\n" in body else b""
    for ev in parse_events(complete)[:n]:
        print(json.dumps(ev))


def mode_parse(path):
    with open(path, "rb") as f:
        data = f.read()
    complete = data[: data.rfind(b"\n\n") + 2] if b"\n\n" in data else b""
    for ev in parse_events(complete):
        print(json.dumps(ev))


def mode_flood(port, n, size):
    s = connect(port)
    ok, last = 0, None
    body = b"x" * size
    pending = b""
    for i in range(n):
        s.sendall(b"POST /publish HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n%s"
                  % (len(body), body))
        while True:
            got = parse_responses(pending)
            if got:
                status, headers, rbody = got[0]
                head_len = pending.index(b"\r\n\r\n") + 4
                pending = pending[head_len + int(headers.get("content-length", "0")):]
                if status == 202:
                    ok += 1
                    last = json.loads(rbody)["id"]
                break
            chunk = s.recv(65536)
            if not chunk:
                print(ok, last)
                return
            pending += chunk
    print(ok, last)


def mode_hold(port, n, seconds):
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /sse HTTP/1.1\r\nHost: t\r\n\r\n")
        socks.append(s)
    time.sleep(seconds)
    ok = 0
    for s in socks:
        s.settimeout(0.01)
        try:
            ok += s.recv(64).startswith(b"HTTP/1.1 200")
        except OSError:
            pass
        s.close()
    print(ok)


def main():
    if sys.argv[1] == "parse":
        mode_parse(sys.argv[2])
        return
    mode, port = sys.argv[1], int(sys.argv[2])
    args = sys.argv[3:]
    if mode == "raw":
        mode_raw(port, args[0])
    elif mode == "status":
        mode_status(port, args[0])
    elif mode == "pipeline":
        mode_pipeline(port, int(args[0]), args[1] if len(args) > 1 else None)
    elif mode == "slowloris":
        mode_slowloris(port, float(args[0]))
    elif mode == "stalled":
        mode_stalled(port, float(args[0]))
    elif mode == "events":
        mode_events(port, int(args[0]), args[1:])
    elif mode == "hold":
        mode_hold(port, int(args[0]), float(args[1]))
    elif mode == "flood":
        mode_flood(port, int(args[0]), int(args[1]))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
