"""Shared helpers of scripts/bench-scale and scripts/bench-compare.

Process bookkeeping (every child is started in a session of its own and
stopped, group and all, on exit or on a signal), free ports, the servers
(`evcat serve`, nginx + nchan), `evcat bench` runs with a JSON summary, and
CPU / RSS measurement of a process tree from /proc.

Only the standard library of /usr/bin/python3.
"""
import atexit
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NCHAN_MODULE = "/usr/lib/nginx/modules/ngx_nchan_module.so"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

_children = []      # Popen objects still to stop
_tmpdirs = []       # scratch folders to remove
PROG = os.path.basename(sys.argv[0])


class CannotRun(Exception):
    """Something the benchmark needs could not run: exit 1."""


def log(msg):
    print("%s: %s" % (PROG, msg), file=sys.stderr, flush=True)


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


# ---- processes ----------------------------------------------------------

def spawn(argv, **kw):
    """Starts argv in a session (process group) of its own and remembers it."""
    kw.setdefault("stdin", subprocess.DEVNULL)
    p = subprocess.Popen(argv, start_new_session=True, **kw)
    _children.append(p)
    return p


def stop(p, sig=signal.SIGTERM, grace=5.0):
    """Stops p's process group: sig, then SIGKILL after grace seconds."""
    if p is None:
        return
    if p.poll() is None:
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(grace)
        except subprocess.TimeoutExpired:
            pass
    # whatever is left of the group (workers of nginx, shards of evcat bench)
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        p.wait(2)
    except subprocess.TimeoutExpired:
        pass
    if p in _children:
        _children.remove(p)


def stop_all():
    for p in list(_children):
        stop(p, grace=3.0)
    for d in list(_tmpdirs):
        shutil.rmtree(d, ignore_errors=True)
        _tmpdirs.remove(d)


def _on_signal(signum, frame):
    # KeyboardInterrupt unwinds through every finally; atexit then stops
    # whatever is still running.
    raise KeyboardInterrupt()


def install_cleanup():
    atexit.register(stop_all)
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)


def scratch(prefix):
    d = tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("TMPDIR", "/tmp"))
    _tmpdirs.append(d)
    return d


def run_measured(argv, timeout, **kw):
    """Runs argv to its end (killed after timeout seconds) and returns
    (returncode, cpu_seconds, maxrss_bytes, wall_seconds, timed_out).
    cpu_seconds is user+system of the process and of all its descendants
    that it waited for (wait4's rusage); maxrss is the largest single
    process of them."""
    t0 = time.monotonic()
    p = spawn(argv, **kw)
    timed_out = False
    deadline = t0 + timeout
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            break
        if time.monotonic() >= deadline:
            timed_out = True
            try:
                os.killpg(p.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
            pid, status, ru = _wait4_timeout(p.pid, 10.0)
            if pid != p.pid:
                os.killpg(p.pid, signal.SIGKILL)
                pid, status, ru = os.wait4(p.pid, 0)
            break
        time.sleep(0.05)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p in _children:
        _children.remove(p)
    try:  # stray members of its group
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    return (p.returncode, ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024,
            time.monotonic() - t0, timed_out)


def _wait4_timeout(pid, secs):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        r = os.wait4(pid, os.WNOHANG)
        if r[0] == pid:
            return r
        time.sleep(0.05)
    return (0, 0, None)


# ---- /proc --------------------------------------------------------------

def _children_of():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        ppid = int(s[s.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def tree(pid):
    """pid and all its descendants."""
    kids = _children_of()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def proc_cpu_rss(pid):
    """(utime+stime seconds, rss bytes) of one process, or (0, 0)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return 0.0, 0
    f = s[s.rindex(")") + 2:].split()
    # fields after the comm: state(0) ppid(1) ... utime(11) stime(12) ... rss(21)
    return (int(f[11]) + int(f[12])) / CLK_TCK, int(f[21]) * PAGE


def tree_cpu_rss(pid):
    cpu = rss = 0
    for p in tree(pid):
        c, r = proc_cpu_rss(p)
        cpu += c
        rss += r
    return cpu, rss


class RssSampler:
    """Samples a process tree's summed RSS every interval seconds (in the
    background thread of a subprocess-free loop) and keeps the peak."""

    def __init__(self, pid, interval=0.25):
        import threading
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self.first = None
        self.cpu_first = None
        self.cpu_last = 0.0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop.is_set():
            cpu, rss = tree_cpu_rss(self.pid)
            if self.first is None:
                self.first = rss
                self.cpu_first = cpu
            self.cpu_last = max(self.cpu_last, cpu)
            self.peak = max(self.peak, rss)
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        self._t.join(2)
        return self.peak

    def cpu(self):
        """CPU seconds the tree used between the first and the last sample."""
        return self.cpu_last - (self.cpu_first or 0.0)


def listen_overflows():
    """The kernel's count of connections dropped at a full accept queue
    (TcpExt ListenOverflows: each costs the client a SYN retransmission,
    1 s on Linux), or None."""
    try:
        with open("/proc/net/netstat") as f:
            lines = f.readlines()
        for names, values in zip(lines[::2], lines[1::2]):
            if names.startswith("TcpExt:"):
                d = dict(zip(names.split()[1:], values.split()[1:]))
                return int(d["ListenOverflows"])
    except (OSError, ValueError, KeyError):
        pass
    return None


class Sysctl:
    """Sets /proc/sys/NAME to at least VALUE for a while (put back by
    restore(), also at exit); does nothing when it cannot write."""

    def __init__(self, name, value):
        self.path = "/proc/sys/" + name.replace(".", "/")
        self.was = None
        try:
            with open(self.path) as f:
                cur = f.read().strip()
            if int(cur) < value:
                with open(self.path, "w") as f:
                    f.write(str(value))
                self.was = cur
                atexit.register(self.restore)
        except (OSError, ValueError):
            pass

    def value(self):
        try:
            with open(self.path) as f:
                return f.read().strip()
        except OSError:
            return "?"

    def restore(self):
        if self.was is not None:
            try:
                with open(self.path, "w") as f:
                    f.write(self.was)
            except OSError:
                pass
            self.was = None


def time_wait_count():
    """TCP sockets in TIME_WAIT, all families (/proc/net/sockstat), or None."""
    try:
        with open("/proc/net/sockstat") as f:
            for line in f:
                if line.startswith("TCP:"):
                    fl = line.split()
                    return int(fl[fl.index("tw") + 1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def wait_time_wait(below, limit):
    """Waits up to `limit` seconds for TIME_WAIT sockets to drop under
    `below` (a previous run's closed connections hold local ports, and the
    next run's connect() searches past them). Returns (seconds waited,
    TIME_WAIT count at the end)."""
    t0 = time.monotonic()
    n = time_wait_count()
    while n is not None and n >= below and time.monotonic() - t0 < limit:
        time.sleep(1)
        n = time_wait_count()
    return time.monotonic() - t0, n


def time_wait_summary():
    """TIME_WAIT sockets (IPv4) by local address, busiest first: they hold
    local ports that new connections from the same address compete for."""
    counts = {}
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                fl = line.split()
                if fl[3] != "06":
                    continue
                h = fl[1].split(":")[0]
                ip = ".".join(str(int(h[i:i + 2], 16)) for i in (6, 4, 2, 0))
                counts[ip] = counts.get(ip, 0) + 1
    except OSError:
        return "?"
    if not counts:
        return "none"
    top = sorted(counts.items(), key=lambda kv: -kv[1])
    return "%d (%s)" % (sum(counts.values()), ", ".join("%s: %d" % kv for kv in top[:4]))


# ---- ports and servers --------------------------------------------------

def free_port():
    """A free TCP port on 127.0.0.1 below the local (ephemeral) port range,
    so no client connection can take it while a server is not yet there."""
    for _ in range(200):
        port = random.randint(20000, 32000)
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise CannotRun("no free port found")


def wait_port(port, secs=10.0, proc=None):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise CannotRun("server exited (status %s) before listening on %d" % (proc.returncode, port))
        s = socket.socket()
        s.settimeout(0.5)
        try:
            s.connect(("127.0.0.1", port))
            return
        except OSError:
            time.sleep(0.05)
        finally:
            s.close()
    raise CannotRun("nothing listens on 127.0.0.1:%d after %.0fs" % (port, secs))


def find_evcat(path):
    path = path or os.environ.get("EVCAT") or os.path.join(ROOT, "build", "evcat")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise CannotRun("%s is not an executable (build first: cmake -B build && cmake --build build, or --evcat PATH)" % path)
    return path


class Serve:
    """`evcat serve` on a free port."""

    def __init__(self, evcat, max_connections, tick="0", logdir=None):
        self.port = free_port()
        self.base = "127.0.0.1:%d" % self.port
        log_f = open(os.path.join(logdir, "serve-%d.log" % self.port), "w") if logdir else subprocess.DEVNULL
        self.proc = spawn([evcat, "serve", "--listen", self.base, "--tick", tick,
                           "--max-connections", str(max_connections), "-q"],
                          stdout=subprocess.DEVNULL, stderr=log_f)
        wait_port(self.port, proc=self.proc)
        self.name = "evcat serve"
        self.sse = "http://%s/sse" % self.base
        self.ws = "ws://%s/ws" % self.base
        self.echo = "ws://%s/echo" % self.base
        self.pub = "http://%s/publish" % self.base

    def pid(self):
        return self.proc.pid

    def stop(self):
        stop(self.proc)  # SIGTERM: closes every connection cleanly, exits 0


NCHAN_CONF = """load_module {module};
worker_processes {workers};
worker_rlimit_nofile {nofile};
pid {dir}/nginx.pid;
error_log {dir}/error.log error;
daemon off;
events {{ worker_connections {worker_connections}; multi_accept on; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    nchan_shared_memory_size {shm};
    server {{
        listen 127.0.0.1:{port} reuseport backlog={backlog};
        location = /pub {{
            nchan_publisher;
            nchan_channel_id bench;
            nchan_message_buffer_length 10;
        }}
        location = /sub {{
            nchan_subscriber;
            nchan_channel_id bench;
            nchan_subscriber_first_message newest;
        }}
    }}
}}
"""


class Nchan:
    """nginx + nchan in a scratch folder: /sub (EventSource and WebSocket
    subscribers), /pub (HTTP POST publisher), one channel. New subscribers
    get only messages published after they joined (first_message newest), so
    latency is never measured on a stale buffered message."""

    def __init__(self, workers=6, nofile=20000, worker_connections=20000, shm="512m", backlog=4096):
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.access(nginx, os.X_OK) or not os.path.isfile(NCHAN_MODULE):
            raise CannotRun("nginx-light and libnginx-mod-nchan are needed "
                            "(apt-get install nginx-light libnginx-mod-nchan)")
        self.dir = scratch("evcat-nchan.")
        self.port = free_port()
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(NCHAN_CONF.format(module=NCHAN_MODULE, workers=workers, nofile=nofile,
                                      worker_connections=worker_connections, shm=shm,
                                      dir=self.dir, port=self.port, backlog=backlog))
        os.chmod(self.dir, 0o755)  # workers may run as nobody when we are root
        self.proc = spawn([nginx, "-c", self.conf, "-p", self.dir],
                          stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "stderr.log"), "w"))
        try:
            wait_port(self.port, proc=self.proc)
        except CannotRun as e:
            raise CannotRun("%s; %s" % (e, self.errors() or "no error log"))
        self.workers = workers
        self.name = "nginx+nchan (%d workers)" % workers
        base = "127.0.0.1:%d" % self.port
        self.sse = "http://%s/sub" % base
        self.ws = "ws://%s/sub" % base
        self.pub = "http://%s/pub" % base

    def pid(self):
        return self.proc.pid

    def errors(self, n=5):
        out = []
        for name in ("error.log", "stderr.log"):
            try:
                with open(os.path.join(self.dir, name)) as f:
                    out += [l.rstrip() for l in f if l.strip()]
            except OSError:
                pass
        return " | ".join(out[-n:])

    def stop(self):
        stop(self.proc, sig=signal.SIGQUIT, grace=5.0)


# ---- evcat bench --------------------------------------------------------

def parse_duration(s):
    s = str(s).strip()
    for suf, mul in (("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)):
        if s.endswith(suf) and s[:-len(suf)].replace(".", "", 1).isdigit():
            return float(s[:-len(suf)]) * mul
    return float(s)


def evcat_bench(evcat, url, conns, rate, duration, extra, jsondir, tag, connect_timeout=10.0, verbose=False):
    """Runs `evcat bench` and returns (summary dict or None, info dict).
    info: rc, cpu (whole process tree, from wait4), maxrss, wall, timed_out,
    stderr tail, argv."""
    jf = os.path.join(jsondir, "%s.json" % tag)
    ef = os.path.join(jsondir, "%s.stderr" % tag)
    argv = [evcat, "bench", url, "-c", str(conns), "--connect-rate", str(rate),
            "-d", duration, "--json", jf] + list(extra)
    ramp = conns / float(rate) if rate else 0.0
    # ramp + a connect timeout and the bench's own settle second + the
    # duration + closing: then it is stuck.
    timeout = ramp + connect_timeout + 1 + parse_duration(duration) + 30
    if verbose:
        log("$ " + " ".join(argv))
    with open(ef, "w") as err:
        rc, cpu, maxrss, wall, timed_out = run_measured(argv, timeout, stdout=subprocess.DEVNULL, stderr=err)
    with open(ef) as f:
        tail = [l.rstrip() for l in f if l.strip() and not l.startswith("[")][-6:]
    with open(ef) as f:
        progress = [l.rstrip() for l in f if l.startswith("[")]
    info = {"rc": rc, "cpu": cpu, "maxrss": maxrss, "wall": wall, "timed_out": timed_out,
            "stderr": tail, "progress": progress, "argv": argv, "json_file": jf}
    summary = None
    try:
        with open(jf) as f:
            summary = json.load(f)
    except (OSError, ValueError):
        pass
    return summary, info


def fmt_bytes(n):
    if n is None:
        return "-"
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return ("%.0f %s" if unit == "B" else "%.1f %s") % (n, unit)
        n /= 1024.0


def fmt_rate(r):
    if r is None:
        return "-"
    if r >= 1000:
        return "%.1fk/s" % (r / 1000.0)
    return "%.1f/s" % r
