#!/usr/bin/env bash
# The evcat ws REPL on a real terminal (tmux): type a message and see it come
# back, /ping with a round-trip time, /binary, /close 4000 bye, history
# across two sessions, a message arriving while a line is half typed, and a
# 300-character line typed into an 80-column pane while messages arrive.
. "$(dirname "$0")/lib.sh"

command -v tmux >/dev/null || { fail "tmux is needed (scripts/test installs it)"; finish; }
export XDG_STATE_HOME=$TMP/state
SOCK=$TMP/tmux.sock
T="tmux -u -S $SOCK"
PORT=$(free_port)
bg $PY "$EVCAT_SRC/tests/integration/ws_peer_server.py" "$PORT"
wait_port "$PORT"
SPORT=$(free_port)
bg $PY "$EVCAT_SRC/tests/integration/ws_script_server.py" "$SPORT"
wait_port "$SPORT"
trap '$T kill-server 2>/dev/null; cleanup' EXIT
# A session that outlives the REPL sessions: killing the last session ends
# the tmux server, and a new-session racing that exit fails with "server
# exited unexpectedly".
$T new-session -d -s keep "sleep 600"

screen() { $T capture-pane -p -t repl | grep -v '^$'; }
# wait_for REGEX: until the screen shows it (5 s; longer under valgrind).
wait_for() {
    local i
    for i in $(seq $(($(slow 5000) / 100))); do
        screen | grep -qE "$1" && return 0
        sleep 0.1
    done
    echo "--- screen:"; screen; return 1
}
start() { # start URL [OPTION]: a REPL in a fresh tmux session
    $T kill-session -t repl 2>/dev/null
    $T new-session -d -s repl -x 120 -y 30 "'$EVCAT' ws --color never ${2:-} '$1'; echo EXIT=\$?; sleep 30"
    wait_for '\(/help for commands, Ctrl-D to close\)$'
}

start "ws://127.0.0.1:$PORT/echo"
check "connecting shows one line" \
    eval "screen | head -1 | grep -qx '\* connected to ws://127.0.0.1:$PORT/echo (/help for commands, Ctrl-D to close)' && ! screen | grep -q '^connected'"
$T send-keys -t repl "hello repl" Enter
check "a typed line comes back from the echo server" wait_for '^[0-9:.]+ < hello repl$'
$T send-keys -t repl "/ping probe" Enter
check "/ping shows the pong with a round-trip time" wait_for '< \[pong\] [0-9.]+ ms probe'
$T send-keys -t repl "/ping" Enter
check "a bare /ping's pong shows its count, readable" wait_for '< \[pong\] [0-9.]+ ms 1$'
$T send-keys -t repl "/binary 48 69" Enter
check "/binary sends binary (shown sent and echoed)" wait_for '< \[binary 2 bytes\] 48 69  Hi$'
$T send-keys -t repl "/binary 48656c6c6f" Enter
check "binary comes back as hex with its ASCII" wait_for '^[0-9:.]+ < \[binary 5 bytes\] 48 65 6c 6c 6f  Hello$'
$T send-keys -t repl "/help" Enter
check "/help lists the commands" wait_for '/close \[code \[reason\]\]'
$T send-keys -t repl "/close 4000 bye" Enter
check "/close 4000 bye: the server answers, exit 0" wait_for '^EXIT=0$'
check "the closing line is on its own row, not on the prompt" \
    eval "screen | grep -qx '\* closed: 4000 .*' && ! screen | grep -q '^> .*\* '"
check "history was saved" grep -q "hello" "$XDG_STATE_HOME/evcat/history"

start "ws://127.0.0.1:$PORT/echo"
$T send-keys -t repl C-p C-p C-p C-p C-p C-p C-p
check "history from the first session is recalled" wait_for '^> hello repl$'
$T send-keys -t repl Enter
check "and sent again" wait_for '< hello repl$'
$T send-keys -t repl C-d
check "Ctrl-D closes cleanly: exit 0" wait_for '^EXIT=0$'

start "ws://127.0.0.1:$SPORT/drip" --no-time
$T send-keys -t repl "half typ"
sleep 0.6
check "messages keep arriving above the prompt (--no-time: no timestamps)" wait_for '^< msg [0-9]+$'
# A capture can land between a message and the prompt's redraw: look a few times.
prompt_intact() {
    local i
    for i in $(seq 20); do
        screen | tail -1 | grep -qx '> half typ' && return 0
        sleep 0.05
    done
    return 1
}
check "the half-typed line stays intact at the prompt" prompt_intact
$T send-keys -t repl "ed" Enter C-d
check "the completed line is sent whole" wait_for '^EXIT='

start "ws://127.0.0.1:$PORT/echo"
$T send-keys -t repl "keep me"
sleep 0.2
$T send-keys -t repl C-c
check "Ctrl-C: exit 130" wait_for '^EXIT=130$'
check "Ctrl-C leaves the typed line, and the lifecycle lines go under it" \
    eval "screen | grep -A1 -x '> keep me' | tail -1 | grep -q '^\* interrupted'"

# /close takes only what may go on the wire (RFC 6455 7.4).
start "ws://127.0.0.1:$PORT/echo"
for code in 1016 2999 1015 1005; do
    $T send-keys -t repl "/close $code" Enter
    check "/close $code is refused, the session goes on" wait_for '^! /close CODE: 1000-1003, 1007-1014 or 3000-4999$'
    $T send-keys -t repl C-u
    $T send-keys -t repl "/help" Enter
    wait_for '/quit' >/dev/null
    $T send-keys -t repl "clear" Enter
done
$T send-keys -t repl C-d
check "and closes cleanly after them" wait_for '^EXIT=0$'

# A paste longer than a typed line holds (libedit's line editing breaks
# past 1 KiB): cut at 1000 bytes with one note, and the REPL goes on.
start "ws://127.0.0.1:$PORT/echo" "--record $TMP/long.jsonl"
$T send-keys -t repl -l "$(head -c 1500 /dev/zero | tr '\0' x)"
check "a 1500-byte paste: one note that the line is full" wait_until "$(slow 10)" \
    bash -c "$T capture-pane -p -S - -t repl | grep -c '^! a typed line holds at most 1000 bytes' | grep -qx 1"
$T send-keys -t repl Enter
$T send-keys -t repl "after" Enter
check "the REPL goes on" wait_for '< after$'
$T send-keys -t repl C-d
check "  and exits 0" wait_for '^EXIT=0$'
got=$($PY -c 'import json,sys
print(" ".join(str(len(j["data"])) for j in map(json.loads, list(open(sys.argv[1]))[1:]) if j.get("dir") == "out" and j.get("type") == "text"))' "$TMP/long.jsonl")
expect_eq "  the line went out cut at 1000 bytes, then the next one" "1000 5" "$got"

out=$("$EVCAT" send --no-time -o pretty --color never -n 1 "ws://127.0.0.1:$PORT/echo" hi 2>/dev/null)
expect_eq "send --no-time: pretty lines without timestamps" $'> hi\n< hi\n< [close 1000]' "$out"

# ---- a long line, wrapped over 4 rows of an 80-column pane, typed while
# messages are published to the channel: each message lands above the prompt
# and the line stays whole, the cursor where it was.
start_serve --tick 0
bg "$EVCAT" listen -q -o raw "$SERVE_URL/sse" >"$TMP/sse.out"
$T kill-session -t repl 2>/dev/null
$T new-session -d -s repl -x 80 -y 40 \
    "LC_ALL=C.UTF-8 '$EVCAT' ws --color never 'ws://127.0.0.1:$SERVE_PORT/ws'; echo EXIT=\$?; sleep 30"
wait_for '\(/help for commands, Ctrl-D to close\)$' || fail "the REPL on /ws did not start"
LONG=$(for i in $(seq 0 59); do printf 'k%03d-' "$i"; done) # 300 characters
publish() { curl -s -o /dev/null -d "$1" "$SERVE_URL/publish"; }
NEWS=0
for chunk in $(seq 0 29 299); do
    $T send-keys -t repl -l -- "${LONG:$chunk:29}"
    NEWS=$((NEWS + 1))
    publish "news $NEWS"
    wait_for "< news $NEWS\$" >/dev/null || break
done
# Three characters back, one more message, then type there: the cursor must
# be where libedit believes it is, or the insertion lands elsewhere.
$T send-keys -t repl Left Left Left
sleep 0.2
NEWS=$((NEWS + 1))
publish "news $NEWS"
wait_for "< news $NEWS\$" >/dev/null
$T send-keys -t repl -l "Z"
TYPED="${LONG:0:297}Z${LONG:297}"
# screen_ok: the typed line, joined across its rows, is the last thing on
# the screen, whole; above it only the messages (all of them, in order) and
# lifecycle lines, no fragment of an earlier drawing of the line.
screen_ok() {
    $T capture-pane -p -t repl >"$TMP/pane"
    $PY - "$TMP/pane" "> $TYPED" "$NEWS" <<'PY'
import re, sys
rows = [r.rstrip() for r in open(sys.argv[1])]
while rows and not rows[-1]:
    rows.pop()
want, news = sys.argv[2], int(sys.argv[3])
starts = [i for i, r in enumerate(rows) if r.startswith("> ")]
if not starts:
    sys.exit("no prompt on the screen")
p = starts[-1]
typed = "".join(rows[p:])
if typed != want:
    sys.exit("the typed line is not intact:\n  %r\n  %r" % (typed, want))
seen = []
for r in rows[:p]:
    m = re.fullmatch(r"[0-9:.]+ < news (\d+)", r)
    if m:
        seen.append(int(m.group(1)))
    elif r and not r.startswith("* "):
        sys.exit("a stray row above the prompt: %r" % r)
if seen != list(range(1, news + 1)):
    sys.exit("messages above the prompt: %r" % seen)
PY
}
ok=false
for i in $(seq $(($(slow 2000) / 100))); do # a capture can land mid-redraw: look a few times
    screen_ok 2>"$TMP/why" && { ok=true; break; }
    sleep 0.1
done
check "a 300-character line typed while $NEWS messages arrive stays whole, messages above it" $ok
$ok || { cat "$TMP/why"; echo "--- pane:"; cat "$TMP/pane"; }
cp "$TMP/pane" "${REPL_PANE_OUT:-/dev/null}" 2>/dev/null
$T send-keys -t repl Enter
check "the long line reaches the channel whole" \
    wait_until "$(slow 5)" grep -qxF "$TYPED" "$TMP/sse.out"
# UTF-8, wide characters included, at the margin of a wrapped line.
UTF=$(printf 'héllo wörld 日本語 €%.0s' 1 2 3 4 5)
$T send-keys -t repl -l "$UTF"
NEWS=$((NEWS + 1))
publish "news $NEWS"
wait_for "< news $NEWS\$" >/dev/null
utf8_ok() {
    screen >"$TMP/pane"
    $PY - "$TMP/pane" "> $UTF" <<'PY'
import sys
rows = [r.rstrip("\n") for r in open(sys.argv[1], encoding="utf-8")]
p = max(i for i, r in enumerate(rows) if r.startswith("> "))
sys.exit("".join(rows[p:]) != sys.argv[2])
PY
}
check "a wrapped UTF-8 line with wide characters stays whole" wait_until "$(slow 2)" utf8_ok
$T send-keys -t repl Enter
check "and reaches the channel whole" wait_until "$(slow 5)" grep -qxF "$UTF" "$TMP/sse.out"
$T send-keys -t repl C-d
check "Ctrl-D after it: exit 0" wait_for '^EXIT=0$'

finish
