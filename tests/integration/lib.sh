# Shared toolbox of the integration tests (sourced, not run).
# Each test: `. "$(dirname "$0")/lib.sh"`, then uses $EVCAT against peers on
# loopback. Background processes started with `bg` are killed on exit.
set -u
: "${EVCAT:?EVCAT must name the evcat binary (ctest sets it)}"
: "${EVCAT_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
PY=/usr/bin/python3           # Debian's, which sees python3-websockets
export NODE_PATH="$EVCAT_SRC/tests/node_modules"
TEST_NAME=$(basename "$0" .sh)
TMP=$(mktemp -d "/tmp/evcat-$TEST_NAME.XXXXXX")
BG_PIDS=()
TEST_SHELL=$BASHPID
FAILS=0
PASSES=0

cleanup() {
    # Only the test's own shell: a background job's subshell that is signalled
    # before it runs its command inherits this trap too.
    [ "$BASHPID" = "$TEST_SHELL" ] || return 0
    local p
    for p in "${BG_PIDS[@]:-}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null
    done
    for p in "${BG_PIDS[@]:-}"; do
        [ -n "$p" ] && wait "$p" 2>/dev/null
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

# bg CMD...: start in the background, remember the pid in $BG_PID.
bg() {
    "$@" &
    BG_PID=$!
    BG_PIDS+=("$BG_PID")
}

# free_port: a TCP port nobody listens on now.
free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_port PORT [SECONDS]: until something accepts on 127.0.0.1:PORT.
wait_port() {
    local port=$1 limit=${2:-10} i
    under_valgrind && limit=$((limit * 5))
    for ((i = 0; i < limit * 20; i++)); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    echo "port $port did not open within ${limit}s" >&2
    return 1
}

# start_serve [ARGS...]: evcat serve on a free port; sets SERVE_PORT, SERVE_PID, SERVE_URL.
start_serve() {
    SERVE_PORT=$(free_port)
    bg "$EVCAT" serve --listen "127.0.0.1:$SERVE_PORT" "$@"
    SERVE_PID=$BG_PID
    SERVE_URL="http://127.0.0.1:$SERVE_PORT"
    wait_port "$SERVE_PORT"
}

# wait_until SECONDS CMD...: polls CMD every 50 ms until it succeeds; fails after SECONDS.
wait_until() {
    local limit=$1 i
    under_valgrind && limit=$((limit * 5))
    shift
    for ((i = 0; i < limit * 20; i++)); do
        "$@" && return 0
        sleep 0.05
    done
    return 1
}

# rss_kb PID: resident set size of a process in KiB (0 when it is gone).
rss_kb() {
    awk '/^VmRSS:/ {print $2; found=1} END {if (!found) print 0}' "/proc/$1/status" 2>/dev/null || echo 0
}

# jv FILE PATH: a value of a JSON document, e.g. jv f connections.established
# ([0].url for arrays); integers print as integers, objects, arrays,
# booleans and null as JSON.
jv() {
    $PY - "$1" "$2" <<'PYEOF'
import json, sys
v = json.load(open(sys.argv[1]))
for part in sys.argv[2].replace('[', '.[').split('.'):
    if not part:
        continue
    v = v[int(part[1:-1])] if part.startswith('[') else v[part]
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)
PYEOF
}

pass() { PASSES=$((PASSES + 1)); echo "ok - $*"; }
fail() { FAILS=$((FAILS + 1)); echo "not ok - $*"; }
skip() { echo "ok - # skip $*"; }

# Under scripts/test's valgrind leg EVCAT_VALGRIND=1 and $EVCAT runs evcat
# under memcheck: every start costs about a second, everything runs many times
# slower, and a process's RSS is valgrind's. Checks of wall-clock bounds and of
# RSS use these; the other legs keep them exact.
under_valgrind() { [ -n "${EVCAT_VALGRIND:-}" ]; }

# slow MS: MS, or 20 x MS under valgrind (for bounds on how long evcat takes).
slow() {
    if under_valgrind; then echo $(($1 * 20)); else echo "$1"; fi
}

# check_rss NAME KIB LIMIT_KIB: KIB below LIMIT_KIB (skipped under valgrind).
check_rss() {
    if under_valgrind; then
        skip "$1 (RSS under valgrind is valgrind's)"
    elif [ "$2" -lt "$3" ]; then
        pass "$1 (${2} KiB)"
    else
        fail "$1 (${2} KiB, limit ${3} KiB)"
    fi
}

# check NAME CMD...: pass when CMD succeeds.
check() {
    local name=$1
    shift
    if "$@"; then pass "$name"; else fail "$name"; fi
}

# expect_eq NAME EXPECTED ACTUAL
expect_eq() {
    if [ "$2" == "$3" ]; then
        pass "$1"
    else
        fail "$1"
        printf '  expected: %q\n  actual:   %q\n' "$2" "$3"
    fi
}

# expect_match NAME REGEX ACTUAL
expect_match() {
    if [[ "$3" =~ $2 ]]; then
        pass "$1"
    else
        fail "$1"
        printf '  expected to match: %s\n  actual: %q\n' "$2" "$3"
    fi
}

# expect_rc NAME EXPECTED_RC CMD...: runs CMD (its stdout and stderr kept in
# $TMP/rc.out and $TMP/rc.err), compares its exit code.
expect_rc() {
    local name=$1 want=$2 got
    shift 2
    "$@" >"$TMP/rc.out" 2>"$TMP/rc.err"
    got=$?
    if [ "$got" -eq "$want" ]; then
        pass "$name"
    else
        fail "$name (exit $got, wanted $want)"
        sed 's/^/  stderr: /' "$TMP/rc.err" | head -5
    fi
}

# expect_usage NAME ARGS...: evcat ARGS must fail with exit 2 and exactly one
# line on stderr (kept in $TMP/err).
expect_usage() {
    local name=$1
    shift
    "$EVCAT" "$@" >/dev/null 2>"$TMP/err"
    local rc=$?
    if [ "$rc" -eq 2 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -q '^evcat: ' "$TMP/err"; then
        pass "usage: $name"
    else
        fail "usage: $name (exit $rc: $(cat "$TMP/err"))"
    fi
}

# max_rss_kib CMD...: runs CMD (output discarded), prints its peak RSS in KiB.
max_rss_kib() {
    $PY -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"
}

# start_nchan: nginx + nchan on a free port with its own prefix under $TMP:
# POST /pub publishes, /sub subscribes (EventSource or WebSocket), one
# channel. Sets NCHAN_PORT, NCHAN_PID, NCHAN_CONF. EXTRA_SUB may add
# directives to /sub. With NCHAN_CERT and NCHAN_KEY set, the same locations
# are also served over TLS with HTTP/2 on NCHAN_TLS_PORT.
start_nchan() {
    local nginx mod
    nginx=$(command -v nginx || echo /usr/sbin/nginx)
    mod=/usr/lib/nginx/modules/ngx_nchan_module.so
    if [ ! -x "$nginx" ] || [ ! -f "$mod" ]; then
        echo "nginx-light and libnginx-mod-nchan are needed (scripts/test installs them)"
        return 1
    fi
    NCHAN_PORT=$(free_port)
    local tls=""
    if [ -n "${NCHAN_CERT:-}" ]; then
        NCHAN_TLS_PORT=$(free_port)
        tls="listen 127.0.0.1:$NCHAN_TLS_PORT ssl http2;
        ssl_certificate $NCHAN_CERT;
        ssl_certificate_key $NCHAN_KEY;"
    fi
    mkdir -p "$TMP/nginx/logs"
    NCHAN_CONF=$TMP/nginx/nginx.conf
    cat >"$NCHAN_CONF" <<CONF
load_module $mod;
worker_processes 1;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/logs/error.log warn;
daemon off;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $TMP/nginx/body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    server {
        listen 127.0.0.1:$NCHAN_PORT;
        $tls
        location = /pub { nchan_publisher; nchan_channel_id test; nchan_message_buffer_length 100; }
        location = /sub { nchan_subscriber; nchan_channel_id test; ${EXTRA_SUB:-} }
    }
}
CONF
    bg "$nginx" -c "$NCHAN_CONF" -p "$TMP/nginx"
    NCHAN_PID=$BG_PID
    wait_port "$NCHAN_PORT"
}

# restart_nchan: stop and start the same nginx (same port, same config).
restart_nchan() {
    kill "$NCHAN_PID"
    wait "$NCHAN_PID" 2>/dev/null
    bg "$(command -v nginx || echo /usr/sbin/nginx)" -c "$NCHAN_CONF" -p "$TMP/nginx"
    NCHAN_PID=$BG_PID
    wait_port "$NCHAN_PORT"
}

# finish: the closing line, and the test's exit code.
finish() {
    echo "$TEST_NAME: $PASSES passed, $FAILS failed"
    [ "$FAILS" -eq 0 ] && [ "$PASSES" -gt 0 ]
    exit $?
}
