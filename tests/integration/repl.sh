#!/usr/bin/env bash
# The evcat ws REPL on a real terminal (tmux): type a message and see it come
# back, /ping with a round-trip time, /binary, /close 4000 bye, history
# across two sessions, and a message arriving while a line is half typed.
. "$(dirname "$0")/lib.sh"

command -v tmux >/dev/null || { fail "tmux is needed (scripts/test installs it)"; finish; }
export XDG_STATE_HOME=$TMP/state
SOCK=$TMP/tmux.sock
T="tmux -S $SOCK"
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
start() { # start URL: a REPL in a fresh tmux session
    $T kill-session -t repl 2>/dev/null
    $T new-session -d -s repl -x 120 -y 30 "'$EVCAT' ws --color never '$1'; echo EXIT=\$?; sleep 30"
    wait_for '^connected'
}

start "ws://127.0.0.1:$PORT/echo"
$T send-keys -t repl "hello repl" Enter
check "a typed line comes back from the echo server" wait_for '^[0-9:.]+ < hello repl$'
$T send-keys -t repl "/ping probe" Enter
check "/ping shows the pong with a round-trip time" wait_for '< \[pong\] [0-9.]+ ms probe'
$T send-keys -t repl "/binary 48 69" Enter
check "/binary sends binary (shown sent and echoed)" wait_for '< \[binary 2 bytes\] SGk='
$T send-keys -t repl "/help" Enter
check "/help lists the commands" wait_for '/close \[code \[reason\]\]'
$T send-keys -t repl "/close 4000 bye" Enter
check "/close 4000 bye: the server answers, exit 0" wait_for '^EXIT=0$'
check "history was saved" grep -q "hello" "$XDG_STATE_HOME/evcat/history"

start "ws://127.0.0.1:$PORT/echo"
$T send-keys -t repl C-p C-p C-p C-p C-p
check "history from the first session is recalled" wait_for '^> hello repl$'
$T send-keys -t repl Enter
check "and sent again" wait_for '< hello repl$'
$T send-keys -t repl C-d
check "Ctrl-D closes cleanly: exit 0" wait_for '^EXIT=0$'

start "ws://127.0.0.1:$SPORT/drip"
$T send-keys -t repl "half typ"
sleep 0.6
check "messages keep arriving above the prompt" wait_for '< msg [0-9]+$'
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

finish
