#!/usr/bin/python3
"""Fan-out latency and memory of `evcat serve`, measured from outside.

Opens --subs SSE subscribers spread over --procs worker processes (epoll),
then publishes --rate events per second for --seconds over one keep-alive
connection, each carrying {"ts_ns": publish time}. Every subscriber records
receive time - ts_ns. Prints latency percentiles, delivery counts, and the
server's RSS before and after the subscribers connected (--pid).

  scripts/bench_serve_fanout.py --port 8080 --pid $(pidof evcat) --subs 1000

Start the server with --tick 0 so only the measured events flow. The
latency includes the client's own scheduling (Python): a floor, not noise
to blame on the server.
"""
import argparse
import json
import multiprocessing as mp
import select
import socket
import time


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def worker(port, n, connected, go_stop, out):
    """n subscribers on one epoll: raw reads, and only the ts_ns parsed, so
    the client adds as little of its own latency as Python allows."""
    ep = select.epoll()
    conns = {}
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /sse HTTP/1.1\r\nHost: bench\r\n\r\n")
        s.setblocking(False)
        ep.register(s.fileno(), select.EPOLLIN)
        conns[s.fileno()] = [s, b"", False]
    heads = 0
    lat = []
    key = b'{"ts_ns":'
    while not go_stop.is_set():
        for fd, _ in ep.poll(0.1):
            now = time.time_ns()
            c = conns[fd]
            try:
                data = c[0].recv(262144)
            except BlockingIOError:
                continue
            if not data:
                ep.unregister(fd)
                continue
            buf = c[1] + data
            if not c[2]:
                if b"\r\n\r\n" not in buf:
                    c[1] = buf
                    continue
                buf = buf.split(b"\r\n\r\n", 1)[1]
                c[2] = True
                heads += 1
                if heads == n:
                    connected.set()
            i = buf.find(key)
            while i >= 0:
                j = buf.find(b",", i)
                if j < 0:
                    break
                lat.append((now - int(buf[i + len(key):j])) / 1e6)
                i = buf.find(key, j)
            c[1] = buf[i:] if i >= 0 else buf[-16:]
    out.put(lat)


def publish(port, rate, seconds):
    s = socket.create_connection(("127.0.0.1", port))
    n = int(rate * seconds)
    t0 = time.monotonic()
    for i in range(n):
        due = t0 + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        body = json.dumps({"ts_ns": time.time_ns(), "i": i}).encode()
        s.sendall(b"POST /publish HTTP/1.1\r\nHost: bench\r\nContent-Length: %d\r\n\r\n%s"
                  % (len(body), body))
        resp = b""
        while b"}\n" not in resp:
            chunk = s.recv(4096)
            if not chunk:
                raise SystemExit("publish connection closed: %r (--max-connections?)" % resp[:80])
            resp += chunk
    s.close()
    return n


def pct(xs, p):
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))] if xs else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--pid", type=int, default=0)
    ap.add_argument("--subs", type=int, default=1000)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--rate", type=float, default=20)
    ap.add_argument("--seconds", type=float, default=5)
    a = ap.parse_args()

    rss0 = rss_kb(a.pid) if a.pid else 0
    out, stop = mp.Queue(), mp.Event()
    flags, procs = [], []
    per = [a.subs // a.procs + (1 if i < a.subs % a.procs else 0) for i in range(a.procs)]
    for n in per:
        ev = mp.Event()
        p = mp.Process(target=worker, args=(a.port, n, ev, stop, out), daemon=True)
        p.start()
        flags.append(ev)
        procs.append(p)
    for ev in flags:
        if not ev.wait(60):
            raise SystemExit("subscribers did not all connect")
    time.sleep(0.5)
    rss1 = rss_kb(a.pid) if a.pid else 0
    sent = publish(a.port, a.rate, a.seconds)
    time.sleep(1)
    stop.set()
    lat = []
    for _ in procs:
        lat += out.get()
    for p in procs:
        p.join()
    lat.sort()
    print("subscribers %d, events published %d (%.0f/s), deliveries %d of %d"
          % (a.subs, sent, a.rate, len(lat), sent * a.subs))
    print("latency ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f"
          % (pct(lat, 50), pct(lat, 90), pct(lat, 99), lat[-1] if lat else float("nan")))
    if a.pid:
        print("server RSS: %d KiB before, %d KiB with %d idle subscribers (%.1f KiB each)"
              % (rss0, rss1, a.subs, (rss1 - rss0) / max(1, a.subs)))


if __name__ == "__main__":
    main()
