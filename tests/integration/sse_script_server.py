#!/usr/bin/python3
"""A scripted SSE server for evcat's integration tests.

Each path is a scenario (see SCENARIOS). Every request is logged as one JSON
line (time, method, path, headers, body) to the log file, so a test can check
what evcat sent (Last-Event-ID, auth, body) and when (reconnect timing).

usage: sse_script_server.py PORT LOGFILE
"""
import json
import socket
import socketserver
import struct
import sys
import threading
import time

LOG_LOCK = threading.Lock()
LOG_PATH = None
COUNTERS = {}


def log(entry):
    with LOG_LOCK:
        with open(LOG_PATH, "a") as f:
            f.write(json.dumps(entry) + "\n")


def count(key):
    with LOG_LOCK:
        COUNTERS[key] = COUNTERS.get(key, 0) + 1
        return COUNTERS[key]


class Handler(socketserver.BaseRequestHandler):
    def read_request(self):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.request.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        while len(rest) < n:
            chunk = self.request.recv(65536)
            if not chunk:
                break
            rest += chunk
        return method, target, headers, rest[:n]

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.request.sendall(data)

    def head(self, status="200 OK", ctype="text/event-stream", extra=""):
        self.send(f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n"
                  f"Cache-Control: no-cache\r\nConnection: close\r\n{extra}\r\n")

    def reset(self):
        # SO_LINGER 0: close sends RST, a broken stream rather than an end.
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.request.close()

    def handle(self):
        req = self.read_request()
        if req is None:
            return
        method, target, headers, body = req
        path, _, query = target.partition("?")
        log({"t": time.time(), "method": method, "path": path, "query": query,
             "headers": headers, "body": body.decode("utf-8", "replace")})
        fn = SCENARIOS.get(path)
        if fn is None and path.startswith("/status/"):
            fn = scenario_status
        if fn is None and path.startswith("/stall/"):
            fn = scenario_stall
        if fn is None:
            self.send("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found")
            return
        try:
            fn(self, method, path, query, headers, body)
        except (BrokenPipeError, ConnectionResetError):
            pass


def scenario_basic(h, *_):
    h.head()
    h.send("retry: 5000\n\n: a comment\n\nid: 1\ndata: one\n\n"
           "event: greeting\nid: 2\ndata: two\ndata: lines\n\n"
           "data: three\n\n"
           "id: 4\nevent: tick\ndata: {\"n\":4}\n\n")


def scenario_stream_then_close(h, method, path, query, headers, body):
    """Two events per connection with ids continuing from Last-Event-ID, a
    short retry, then a clean close (the client should reconnect)."""
    last = int(headers.get("last-event-id", "0") or "0")
    h.head()
    h.send("retry: 200\n\n")
    for i in (last + 1, last + 2):
        h.send(f"id: {i}\ndata: event {i}\n\n")
    h.send("id: 999\ndata: unterminated")  # dropped at end of stream, id too


def scenario_drop(h, *_):
    """An event, then a reset in the middle of the next one."""
    h.head()
    h.send("retry: 100\n\nid: 7\ndata: whole\n\nid: 8\ndata: half")
    time.sleep(0.1)
    h.reset()


def scenario_fail_after_first(h, method, path, query, headers, body):
    """First connection streams; later ones answer 503 (a fatal status)."""
    if count(path) == 1:
        h.head()
        h.send("retry: 100\n\nid: 1\ndata: first\n\n")
    else:
        h.send("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbusy")


def scenario_204(h, *_):
    h.send("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")


def scenario_204_after_first(h, method, path, query, headers, body):
    if count(path) == 1:
        h.head()
        h.send("retry: 100\n\ndata: only\n\n")
    else:
        h.send("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")


def scenario_status(h, method, path, *_):
    code = path.split("/")[2]
    msg = '{"error":"quota exceeded"}'
    h.send(f"HTTP/1.1 {code} Whatever\r\nContent-Type: application/json\r\n"
           f"Content-Length: {len(msg)}\r\nConnection: close\r\n\r\n{msg}")


def scenario_wrong_type(h, *_):
    h.head(ctype="text/plain")
    h.send("data: not really\n\n")


def scenario_type_with_params(h, *_):
    h.head(ctype="Text/Event-Stream; charset=utf-8")
    h.send("data: ok\n\n")


def scenario_echo(h, method, path, query, headers, body):
    """SSE over POST: reports the request back as events, as LLM APIs stream."""
    h.head()
    h.send(f"event: method\ndata: {method}\n\n")
    h.send(f"event: content-type\ndata: {headers.get('content-type', '')}\n\n")
    h.send("event: body\n" + "".join(f"data: {l}\n" for l in body.decode().split("\n")) + "\n")
    for tok in ["Hel", "lo", " wor", "ld"]:
        h.send(f"data: {json.dumps({'token': tok})}\n\n")
        time.sleep(0.02)
    h.send("data: [DONE]\n\n")


def scenario_headers(h, method, path, query, headers, body):
    h.head()
    for k in ("accept", "cache-control", "authorization", "x-custom", "last-event-id",
              "user-agent"):
        h.send(f"event: {k}\ndata: {headers.get(k, '-')}\n\n")


def scenario_slow(h, *_):
    h.head()
    for i in range(1, 100000):
        h.send(f"id: {i}\nevent: {'odd' if i % 2 else 'even'}\ndata: {i}\n\n")
        time.sleep(0.05)


def scenario_silent(h, *_):
    h.head()
    h.send("retry: 100\n\ndata: hello\n\n")
    time.sleep(30)


def scenario_drip(h, *_):
    """Bytes keep coming, an event never completes."""
    h.head()
    for _ in range(600):
        h.send("x")
        time.sleep(0.05)


def scenario_longline(h, *_):
    h.head()
    h.send("data: ")
    chunk = "a" * 65536
    for _ in range(4096):  # up to 256 MiB, far beyond any sane limit
        h.send(chunk)


def scenario_longevent(h, *_):
    """Short lines, but the event never ends."""
    h.head()
    line = "data: " + "b" * 1000 + "\n"
    chunk = line * 64
    for _ in range(4096):  # up to 256 MiB
        h.send(chunk)


def scenario_stall(h, method, path, *_):
    """A bad response whose body never comes whole: its head, then silence
    with the connection open (what a proxy or API in trouble may do)."""
    kind = path.split("/")[2]
    if kind == "503":      # Content-Length promised, 4 bytes sent
        h.send("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
               "Content-Length: 100\r\n\r\nbusy")
    elif kind == "json":   # 200, not an event stream, chunked, never ended
        h.send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
               "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
    else:                  # the head alone
        h.send("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 10\r\n\r\n")
    time.sleep(30)


def scenario_redirect_auth(h, *_):
    h.send("HTTP/1.1 302 Found\r\nLocation: /basic\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


def scenario_redirect(h, *_):
    h.send("HTTP/1.1 302 Found\r\nLocation: /basic\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


def scenario_loop(h, *_):
    h.send("HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


def scenario_bulk(h, method, path, query, headers, body):
    """Many events in one write: -n must stop exactly, in order."""
    h.head()
    h.send("".join(f"id: {i}\ndata: {i}\n\n" for i in range(1, 1001)))
    time.sleep(5)


def scenario_hostile_text(h, *_):
    """Control characters a terminal would act on, and odd bytes."""
    h.head()
    h.send(b"data: esc\x1b[31mred\x07bell\n\n")
    h.send(b"data: bad \xff\xfe utf8\n\n")
    h.send(b"data: nul\x00inside\n\n")


SCENARIOS = {
    "/basic": scenario_basic,
    "/stream": scenario_stream_then_close,
    "/drop": scenario_drop,
    "/fail-after-first": scenario_fail_after_first,
    "/204": scenario_204,
    "/204-after-first": scenario_204_after_first,
    "/wrong-type": scenario_wrong_type,
    "/type-params": scenario_type_with_params,
    "/echo": scenario_echo,
    "/headers": scenario_headers,
    "/slow": scenario_slow,
    "/silent": scenario_silent,
    "/drip": scenario_drip,
    "/longline": scenario_longline,
    "/longevent": scenario_longevent,
    "/redirect": scenario_redirect,
    "/redirect-auth": scenario_redirect_auth,
    "/loop": scenario_loop,
    "/bulk": scenario_bulk,
    "/hostile": scenario_hostile_text,
}


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    port, LOG_PATH = int(sys.argv[1]), sys.argv[2]
    open(LOG_PATH, "w").close()
    with Server(("127.0.0.1", port), Handler) as srv:
        srv.serve_forever()
