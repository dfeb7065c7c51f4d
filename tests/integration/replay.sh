#!/usr/bin/env bash
# evcat replay FILE [URL] as a WebSocket client: recordings written by hand
# (JSON Lines, evcat(1), RECORDINGS) played to `evcat serve`'s /echo and to
# python3-websockets peers; --expect (match, difference, missing, extra,
# close codes), --speed and --no-timing timing, binary payloads, --timeout,
# and the usage errors.
. "$(dirname "$0")/lib.sh"

start_serve --tick 0
ECHO=ws://127.0.0.1:$SERVE_PORT/echo

# Peers nobody here wrote: python3-websockets.
cat >"$TMP/peer.py" <<'PY'
import asyncio, sys
import websockets

async def handler(ws, path):
    if path == "/upper":        # echo, uppercased
        async for msg in ws:
            await ws.send(msg.upper() if isinstance(msg, str) else msg)
    elif path == "/silent":     # never answers
        async for msg in ws:
            pass
    elif path == "/restart":    # one reply, then close 1012
        await ws.recv()
        await ws.send("going down")
        await ws.close(1012, "service restart")
    elif path == "/bye":        # echo one, then close 1000
        msg = await ws.recv()
        await ws.send(msg)
        await ws.close(1000, "bye")

async def main():
    async with websockets.serve(handler, "127.0.0.1", int(sys.argv[1])):
        await asyncio.Future()

asyncio.run(main())
PY
PPORT=$(free_port)
bg $PY "$TMP/peer.py" "$PPORT"
wait_port "$PPORT"
PEER=ws://127.0.0.1:$PPORT

TS='"ts":"2026-01-01T00:00:00.000000Z","proto":"ws"'
# rec FILE URL LINE...: a WebSocket recording; each LINE is DIR TYPE T [FIELDS]
# e.g. 'out text 0.1 "data":"hi"'.
rec() {
    local f=$1 url=$2
    shift 2
    printf '{"evcat_recording":1,"url":"%s","proto":"ws","started":"2026-01-01T00:00:00Z"}\n' "$url" >"$f"
    local l dir type t rest
    for l in "$@"; do
        read -r dir type t rest <<<"$l"
        printf '{%s,"dir":"%s","type":"%s"%s,"t":%s}\n' "$TS" "$dir" "$type" "${rest:+,$rest}" "$t" >>"$f"
    done
}

# --- --expect against evcat serve's /echo (pings and pongs are sent, not compared) ---
rec "$TMP/echo.jsonl" "$ECHO" \
    'out ping 0 "data_b64":"cDE="' 'in pong 0.001 "data_b64":"cDE="' 'in ping 0.002 "data_b64":""' \
    'out text 0.01 "data":"hello"' 'in text 0.02 "data":"hello"' \
    'out text 0.05 "data":"wörld \"quoted\""' 'in text 0.06 "data":"wörld \"quoted\""'
out=$("$EVCAT" replay -o raw "$TMP/echo.jsonl" --expect 2>"$TMP/err"); rc=$?
expect_eq "a matching replay exits 0" 0 "$rc"
expect_eq "and prints what came back, like evcat ws" $'hello\nwörld "quoted"' "$out"
check "no error line" test "$(grep -c '^evcat: ' "$TMP/err")" -eq 0

expect_rc "the URL argument overrides the recording's" 0 \
    "$EVCAT" replay --expect "$TMP/echo.jsonl" "ws://127.0.0.1:$SERVE_PORT/echo"

# by_dir: the message types of JSON lines on stdin, each direction in its
# order. Only 40 ms separate an echo from the next send in this recording:
# on a loaded machine the two directions may interleave either way.
by_dir() {
    $PY -c 'import json, sys
m = [json.loads(l) for l in sys.stdin if l.strip()]
m = [x for x in m if "dir" in x]
print(" | ".join(d + ": " + " ".join(x["type"] for x in m if x["dir"] == d) for d in ("out", "in")))'
}
out=$("$EVCAT" replay -o json "$TMP/echo.jsonl" 2>/dev/null | by_dir)
expect_eq "-o json shows both directions (and the answer to our close)" "out: ping text text | in: pong text text close" "$out"

rec "$TMP/differ.jsonl" "$ECHO" \
    'out text 0 "data":"one"' 'in text 0.01 "data":"one"' \
    'out text 0.02 "data":"two"' 'in text 0.03 "data":"TWO"'
expect_rc "a difference exits 3" 3 "$EVCAT" replay --expect "$TMP/differ.jsonl"
expect_eq "one line naming the message, what was expected and what came" \
    'evcat: replay: message 2 differs: expected text "TWO", got text "two"' "$(grep '^evcat: ' "$TMP/rc.err")"

long=$(printf 'x%.0s' $(seq 200))
rec "$TMP/long.jsonl" "$ECHO" "out text 0 \"data\":\"$long\"" "in text 0.01 \"data\":\"${long}y\""
expect_rc "a long difference exits 3" 3 "$EVCAT" replay --expect "$TMP/long.jsonl"
expect_match "and its data is shortened" '^evcat: replay: message 1 differs: expected text "x{60}\.\.\.", got text "x{60}\.\.\."$' "$(grep '^evcat: ' "$TMP/rc.err")"

rec "$TMP/extra.jsonl" "$ECHO" \
    'out text 0 "data":"a"' 'in text 0.01 "data":"a"' 'out text 0.02 "data":"b"'
expect_rc "more messages than recorded exits 3" 3 "$EVCAT" replay --expect "$TMP/extra.jsonl"
expect_match "naming the one that was not in the recording" 'message 2 was not in the recording: got text "b"' "$(cat "$TMP/rc.err")"

expect_rc "without --expect the same replay exits 0" 0 "$EVCAT" replay "$TMP/differ.jsonl"

# --- binary ---
rec "$TMP/bin.jsonl" "$ECHO" \
    'out binary 0 "data_b64":"AAEC/4CBwg=="' 'in binary 0.01 "data_b64":"AAEC/4CBwg=="'
out=$("$EVCAT" replay -o raw --expect "$TMP/bin.jsonl" 2>"$TMP/err"); rc=$?
expect_eq "a binary message round trip matches (exit 0)" 0 "$rc"
expect_eq "and is printed as base64" "AAEC/4CBwg==" "$out"
rec "$TMP/bin2.jsonl" "$ECHO" \
    'out binary 0 "data_b64":"AAEC/4CBwg=="' 'in binary 0.01 "data_b64":"AAEC/4CBwQ=="'
expect_rc "a binary difference exits 3" 3 "$EVCAT" replay --expect "$TMP/bin2.jsonl"
expect_match "shown as base64" 'expected binary "AAEC/4CBwQ==", got binary "AAEC/4CBwg=="' "$(cat "$TMP/rc.err")"
rec "$TMP/type.jsonl" "$ECHO" 'out binary 0 "data_b64":"aGk="' 'in text 0.01 "data":"hi"'
expect_rc "text expected, binary came: exit 3" 3 "$EVCAT" replay --expect "$TMP/type.jsonl"

# --- timing ---
rec "$TMP/gap.jsonl" "$ECHO" \
    'out text 0 "data":"first"' 'in text 0.001 "data":"first"' \
    'out text 1.0 "data":"second"' 'in text 1.001 "data":"second"'
# gap SECONDS of the two incoming messages' receive times in -o json output
gap() {
    $PY -c 'import json, sys, datetime
ts = [datetime.datetime.strptime(json.loads(l)["ts"], "%Y-%m-%dT%H:%M:%S.%fZ") for l in sys.stdin if json.loads(l)["dir"] == "in" and json.loads(l)["type"] == "text"]
print("%.3f" % (ts[1] - ts[0]).total_seconds())' <"$1"
}
# The gap is between two echoes' arrivals: under valgrind the first one's
# cold path can be late by more than the tolerance, shrinking the gap.
lo2=0.45 hi2=0.8 lo05=1.9 hi05=2.5
under_valgrind && lo2=0.3 hi2=1.2 lo05=1.7 hi05=3.0
"$EVCAT" replay -o json --expect --speed 2 "$TMP/gap.jsonl" >"$TMP/out" 2>/dev/null; rc=$?
g=$(gap "$TMP/out")
check "--speed 2: a 1 s recorded gap takes $lo2-$hi2 s ($g s, exit $rc)" \
    $PY -c "import sys; sys.exit(not ($rc == 0 and $lo2 <= $g <= $hi2))"
"$EVCAT" replay -o json --expect --speed 0.5 "$TMP/gap.jsonl" >"$TMP/out" 2>/dev/null; rc=$?
g=$(gap "$TMP/out")
check "--speed 0.5: it takes $lo05-$hi05 s ($g s, exit $rc)" \
    $PY -c "import sys; sys.exit(not ($rc == 0 and $lo05 <= $g <= $hi05))"
"$EVCAT" replay -o json --expect --no-timing "$TMP/gap.jsonl" >"$TMP/out" 2>/dev/null; rc=$?
g=$(gap "$TMP/out")
check "--no-timing: under 0.3 s ($g s, exit $rc)" \
    $PY -c "import sys; sys.exit(not ($rc == 0 and $g < 0.3))"

# --- closes ---
rec "$TMP/close.jsonl" "$ECHO" \
    'out text 0 "data":"x"' 'in text 0.01 "data":"x"' \
    'out close 0.02 "code":4000,"reason":"done"' 'in close 0.03 "code":4000,"reason":"done"'
"$EVCAT" replay -o json --expect "$TMP/close.jsonl" >"$TMP/out" 2>"$TMP/err"; rc=$?
expect_eq "the recorded close is sent and its echo matches (exit 0)" 0 "$rc"
check "our close 4000 is shown" grep -q '"dir":"out","type":"close","code":4000,"reason":"done"' "$TMP/out"

rec "$TMP/restart.jsonl" "$PEER/restart" \
    'out text 0 "data":"hi"' 'in text 0.01 "data":"going down"' \
    'in close 0.02 "code":1012,"reason":"service restart"' 'out close 0.02 "code":1012'
expect_rc "the server's recorded close 1012 matches: exit 0" 0 "$EVCAT" replay --expect "$TMP/restart.jsonl"
rec "$TMP/restart2.jsonl" "$PEER/restart" \
    'out text 0 "data":"hi"' 'in text 0.01 "data":"going down"' 'in close 0.02 "code":1000'
expect_rc "a different close code: exit 3" 3 "$EVCAT" replay --expect "$TMP/restart2.jsonl"
expect_match "named as a difference" 'message 2 differs: expected close 1000 "", got close 1012 "service restart"' "$(cat "$TMP/rc.err")"
rec "$TMP/restart3.jsonl" "$PEER/restart" \
    'out text 0 "data":"hi"' 'in text 0.01 "data":"going down"' 'in text 0.02 "data":"more"'
expect_rc "the server closed before the last expected message: exit 3" 3 "$EVCAT" replay --expect "$TMP/restart3.jsonl"
expect_match "naming the missing one" 'message 2 is missing \(expected text "more"\): the server closed with 1012 first' "$(cat "$TMP/rc.err")"
rec "$TMP/bye.jsonl" "$PEER/bye" 'out text 0 "data":"hi"' 'in text 0.01 "data":"hi"' 'out text 0.5 "data":"more"'
expect_rc "an unrecorded close by the server: exit 3" 3 "$EVCAT" replay --expect "$TMP/bye.jsonl"
expect_match "named as not in the recording" 'message 2 was not in the recording: got close 1000 "bye"' "$(cat "$TMP/rc.err")"

# --- a peer nobody here wrote ---
rec "$TMP/upper.jsonl" "$PEER/upper" 'out text 0 "data":"abc"' 'in text 0.01 "data":"abc"'
expect_rc "python3-websockets echoing uppercased: exit 3" 3 "$EVCAT" replay --expect "$TMP/upper.jsonl"
expect_match "the difference named" 'message 1 differs: expected text "abc", got text "ABC"' "$(cat "$TMP/rc.err")"
rec "$TMP/upper2.jsonl" "$PEER/upper" 'out text 0 "data":"abc"' 'in text 0.01 "data":"ABC"'
expect_rc "and matching what it does: exit 0" 0 "$EVCAT" replay --expect "$TMP/upper2.jsonl"

# --- --timeout ---
rec "$TMP/silent.jsonl" "$PEER/silent" 'out text 0 "data":"anyone?"' 'in text 0.01 "data":"yes"'
start=$(date +%s.%N)
expect_rc "--timeout before the expected messages: exit 4" 4 "$EVCAT" replay --expect --timeout 1s "$TMP/silent.jsonl"
took=$($PY -c "print('%.1f' % ($(date +%s.%N) - $start))")
expect_match "naming the missing message" 'message 1 is missing \(expected text "yes"\): --timeout reached' "$(cat "$TMP/rc.err")"
check "within about the timeout (${took}s)" $PY -c "import sys; sys.exit(not $took < 3.5)"
expect_rc "--timeout without --expect: exit 0" 0 "$EVCAT" replay --timeout 1s "$TMP/silent.jsonl"

# --- recordings that are not quite right ---
rec "$TMP/trunc.jsonl" "$ECHO" 'out text 0 "data":"kept"' 'in text 0.01 "data":"kept"'
printf '{"ts":"2026-01-01T00:00:00.000000Z","proto":"ws","dir":"out","ty' >>"$TMP/trunc.jsonl"
out=$("$EVCAT" replay -o raw --expect "$TMP/trunc.jsonl" 2>"$TMP/err"); rc=$?
expect_eq "a truncated recording is played (exit 0)" "kept/0" "$out/$rc"
check "with a warning" grep -q "warning: replay: .*cut short" "$TMP/err"

printf '{"evcat_recording":1,"url":"http://x/sse","proto":"sse","started":"2026-01-01T00:00:00Z"}\n{"ts":"2026-01-01T00:00:00.000000Z","proto":"sse","event":"message","data":"x","id":"","t":0}\n' >"$TMP/sse.jsonl"
expect_usage "an SSE recording without --serve" replay "$TMP/sse.jsonl"
check "says why" grep -q "an SSE recording can only be served (--serve): SSE flows from server to client" "$TMP/err"

rec "$TMP/bad.jsonl" "$ECHO" 'out text 0 "data":"a"'
echo '{"ts":"x","proto":"ws","dir":"out","type":"text","data":"b","t":' >>"$TMP/bad.jsonl"
echo '{"ts":"x","proto":"ws","dir":"out","type":"text","data":"c","t":1}' >>"$TMP/bad.jsonl"
expect_usage "a malformed line" replay "$TMP/bad.jsonl"
check "names the line" grep -q "line 3" "$TMP/err"

printf '{"evcat_recording":2,"url":"%s","proto":"ws","started":"2026-01-01T00:00:00Z"}\n' "$ECHO" >"$TMP/v2.jsonl"
expect_usage "version 2" replay "$TMP/v2.jsonl"
check "names the version" grep -q "2" "$TMP/err"
expect_usage "a missing file" replay "$TMP/nonexistent.jsonl"
expect_usage "no file" replay
expect_usage "--listen without --serve" replay --listen 127.0.0.1:9 "$TMP/echo.jsonl"
expect_usage "--tls without --serve" replay --tls a b "$TMP/echo.jsonl"
expect_usage "--serve with a URL" replay --serve "$TMP/echo.jsonl" "$ECHO"
expect_usage "--serve with --expect" replay --serve --expect "$TMP/echo.jsonl"
expect_usage "--speed 0" replay --speed 0 "$TMP/echo.jsonl"
expect_usage "--speed abc" replay --speed abc "$TMP/echo.jsonl"
expect_usage "an http URL" replay "$TMP/echo.jsonl" http://127.0.0.1/x
# A recording keeps its URL with the password masked (user:***@): taken as
# it is, "***" would go as the password. Refused unless -u replaces it.
rec "$TMP/masked.jsonl" "ws://bob:***@127.0.0.1:$SERVE_PORT/echo" 'out text 0 "data":"hi"' 'in text 0.001 "data":"hi"'
expect_usage "a recording's masked password" replay "$TMP/masked.jsonl"
grep -q "had its password masked: give the URL, or -u USER:PASSWORD" "$TMP/err" &&
    pass "  says so" || fail "  says so: $(cat "$TMP/err")"
expect_rc "  -u replaces it: exit 0" 0 "$EVCAT" replay -q --expect -u bob:pw "$TMP/masked.jsonl"
expect_usage "--reconnect is not a replay option" replay --reconnect "$TMP/echo.jsonl"
expect_rc "connection refused: exit 1" 1 "$EVCAT" replay --expect "$TMP/echo.jsonl" "ws://127.0.0.1:$(free_port)/"

# --- --record: the replay recorded, and that recording replayed ---
"$EVCAT" replay -q --expect --record "$TMP/again.jsonl" "$TMP/echo.jsonl"; rc=$?
expect_eq "a replay with --record exits 0" 0 "$rc"
out=$(by_dir <"$TMP/again.jsonl")
expect_eq "it holds both directions, with our close" "out: ping text text close | in: pong text text close" "$out"
expect_rc "and replays with --expect itself (exit 0)" 0 "$EVCAT" replay --expect "$TMP/again.jsonl"
expect_usage "--record onto the file being replayed" replay --record "$TMP/again.jsonl" "$TMP/again.jsonl"
check "which is left alone" grep -q '"evcat_recording":1' "$TMP/again.jsonl"

# --- --serve hands over to the server side (its own tests are elsewhere) ---
rec "$TMP/served.jsonl" "ws://example.invalid/feed" \
    'out text 0 "data":"sub"' 'in text 0.05 "data":"one"' 'in text 0.1 "data":"two"'
RPORT=$(free_port)
bg "$EVCAT" replay -q --serve --listen "127.0.0.1:$RPORT" "$TMP/served.jsonl"
RPID=$BG_PID
if wait_port "$RPORT"; then
    out=$(timeout 10 "$EVCAT" listen -q -o raw -n 2 "ws://127.0.0.1:$RPORT/" 2>&1)
    expect_eq "replay --serve plays the incoming side to a client" $'one\ntwo' "$out"
    kill -TERM "$RPID"
    wait "$RPID"
    expect_eq "and exits 0 on SIGTERM" 0 "$?"
else
    fail "replay --serve listens"
fi
expect_usage "--serve with --record" replay --serve --record "$TMP/x.jsonl" "$TMP/served.jsonl"

finish
