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
FAILS=0
PASSES=0

cleanup() {
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

pass() { PASSES=$((PASSES + 1)); echo "ok - $*"; }
fail() { FAILS=$((FAILS + 1)); echo "not ok - $*"; }

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

# finish: the closing line, and the test's exit code.
finish() {
    echo "$TEST_NAME: $PASSES passed, $FAILS failed"
    [ "$FAILS" -eq 0 ] && [ "$PASSES" -gt 0 ]
    exit $?
}
