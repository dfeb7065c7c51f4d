#!/usr/bin/env bash
# --record FILE: what listen (SSE, stdin, WebSocket), send and ws write, read
# back with Python's json module (a reader evcat did not write): the header,
# every message in order with "t", both directions of a WebSocket session
# (against evcat serve and python3-websockets), an interruption, and the
# failures (a path that cannot be created, a full disk).
. "$(dirname "$0")/lib.sh"

# rec.py FILE [JSON_OUT [--exact]]: checks FILE is a recording (every line
# JSON, the header first, "t" a number that never decreases) and prints
# "PROTO URL" then one summary line per message. With JSON_OUT (what
# `-o json` printed in the same run): every output line must be, in order,
# a recorded line with its "t" taken out, byte for byte; with --exact the
# recorded lines not printed may only be the pings and closes evcat sent.
cat >"$TMP/rec.py" <<'PY'
import json, re, sys
path = sys.argv[1]
lines = open(path, encoding="utf-8").read().split("\n")
if lines[-1] != "":
    sys.exit("last line has no newline")
lines = lines[:-1]
objs = [json.loads(l) for l in lines]
h = objs[0]
if h.get("evcat_recording") != 1 or set(h) != {"evcat_recording", "url", "proto", "started"}:
    sys.exit("bad header: %r" % h)
if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", h["started"]):
    sys.exit("bad started: %r" % h["started"])
print(h["proto"], h["url"])
last = 0
for l, o in zip(lines[1:], objs[1:]):
    t = o["t"]
    if not isinstance(t, (int, float)) or t < last or "evcat_recording" in o:
        sys.exit("bad t in %r" % l)
    last = t
    if o["proto"] != h["proto"]:
        sys.exit("proto differs from the header's: %r" % l)
    if o["proto"] == "sse":
        print("%s:%s:%s" % (o["event"], o["id"], o["data"]))
    elif o["type"] == "text":
        print("%s:text:%s" % (o["dir"], o["data"]))
    elif o["type"] == "close":
        print("%s:close:%d:%s" % (o["dir"], o["code"], o["reason"]))
    else:
        print("%s:%s:%s" % (o["dir"], o["type"], o["data_b64"]))
if len(sys.argv) > 2:
    out = open(sys.argv[2], encoding="utf-8").read().split("\n")[:-1]
    stripped = [re.sub(r',"t":[0-9.e+-]+}$', "}", l) for l in lines[1:]]
    i = 0
    for k, s in enumerate(stripped):
        if i < len(out) and s == out[i]:
            i += 1
        elif len(sys.argv) > 3:
            o = objs[k + 1]
            if not (o.get("dir") == "out" and o.get("type") in ("ping", "close")):
                sys.exit("recorded but not printed: %r" % lines[k + 1])
    if i != len(out):
        sys.exit("printed but not recorded as such: %r" % out[i])
    print("output matches")
PY
rec() { $PY "$TMP/rec.py" "$@" 2>&1; }
# outs_first: rec's summary with the incoming lines moved last (each direction
# keeps its order; how the two interleave depends on timing).
outs_first() { awk '/^in:/ {ins = ins $0 "\n"; next} {print} END {printf "%s", ins}'; }
# lines_ge FILE N: FILE has at least N lines.
lines_ge() { [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]; }

start_serve --tick 0
S=$SERVE_URL
W=ws://127.0.0.1:$SERVE_PORT

# --- SSE: listen ---
R=$TMP/sse.jsonl
"$EVCAT" listen -o json --event x -n 2 --record "$R" "$S/sse" >"$TMP/out" 2>"$TMP/bg1.err" &
pid=$!
wait_until 5 grep -qs "connected" "$TMP/bg1.err"
for e in y x y x; do
    curl -s -o /dev/null -d "$e data" "$S/publish?event=$e"
done
wait $pid
expect_eq "listen SSE: exit 0 at --count" 0 $?
expect_eq "listen SSE: header and every event received, --event filter or not" \
    "sse $S/sse
y:1:y data
x:2:x data
y:3:y data
x:4:x data
output matches" "$(rec "$R" "$TMP/out")"
check "listen SSE: each recorded line ends with t" \
    bash -c "tail -n +2 '$R' | grep -vqE ',\"t\":[0-9]+\\.[0-9]{6}}\$' && exit 1 || exit 0"

# The URL in the header is redacted.
R=$TMP/redact.jsonl
"$EVCAT" listen -o json -n 1 --record "$R" "http://user:secret@127.0.0.1:$SERVE_PORT/sse" \
    >/dev/null 2>"$TMP/bg2.err" &
pid=$!
wait_until 5 grep -qs "connected" "$TMP/bg2.err"
curl -s -o /dev/null -d "one" "$S/publish"
wait $pid
expect_eq "the header's URL has no password" \
    "sse http://user:***@127.0.0.1:$SERVE_PORT/sse" "$(rec "$R" | head -1)"
check "the password is nowhere in the file" bash -c "! grep -q secret '$R'"

# --- SSE: standard input ---
R=$TMP/stdin.jsonl
printf 'data: a\n\nevent: t\nid: 7\ndata: b\ndata: c\n\n' |
    "$EVCAT" listen -o json --record "$R" - >"$TMP/out" 2>/dev/null
expect_eq "listen -: recorded with url \"-\"" "sse -
message::a
t:7:b
c
output matches" "$(rec "$R" "$TMP/out" --exact)"

# --- WebSocket: send and ws against evcat serve's /echo ---
R=$TMP/send.jsonl
"$EVCAT" send -o json -n 2 --record "$R" "$W/echo" hello world >"$TMP/out" 2>/dev/null
expect_eq "send: exit 0" 0 $?
expect_eq "send: both directions and both closes" "ws $W/echo
out:text:hello
out:text:world
out:close:1000:
output matches
in:text:hello
in:text:world
in:close:1000:" "$(rec "$R" "$TMP/out" --exact | outs_first)"

R=$TMP/listenws.jsonl
"$EVCAT" listen -o json -n 1 --record "$R" --on-open 'sub' "$W/echo" >"$TMP/out" 2>/dev/null
expect_eq "listen ws://: --on-open and the echo recorded" "ws $W/echo
out:text:sub
in:text:sub
out:close:1000:
in:close:1000:
output matches" "$(rec "$R" "$TMP/out" --exact)"

R=$TMP/pipe.jsonl
printf 'one\n{"two":2}\n' | "$EVCAT" ws -o json --record "$R" "$W/echo" >"$TMP/out" 2>/dev/null
expect_eq "ws pipe: exit 0" 0 $?
expect_eq "ws pipe: lines out, echoes in, closes" "ws $W/echo
out:text:one
out:text:{\"two\":2}
out:close:1000:
output matches
in:text:one
in:text:{\"two\":2}
in:close:1000:" "$(rec "$R" "$TMP/out" --exact | outs_first)"

# --- WebSocket against python3-websockets ---
PPORT=$(free_port)
bg $PY "$EVCAT_SRC/tests/integration/ws_peer_server.py" "$PPORT"
wait_port "$PPORT"
P=ws://127.0.0.1:$PPORT

R=$TMP/py.jsonl
"$EVCAT" send -o json --binary -n 1 --record "$R" "$P/echo" 'bin' >"$TMP/out" 2>/dev/null
expect_eq "python peer, binary: both directions, closes" "ws $P/echo
out:binary:Ymlu
in:binary:Ymlu
out:close:1000:
in:close:1000:
output matches" "$(rec "$R" "$TMP/out" --exact)"

R=$TMP/pyping.jsonl
"$EVCAT" listen -o json --record "$R" "$P/ping" >"$TMP/out" 2>/dev/null
expect_eq "python peer pings: its ping in, its close in, our answer out" "ws $P/ping
in:ping:YXJlIHlvdSB0aGVyZQ==
in:text:pong received
in:close:1000:
out:close:1000:
output matches" "$(rec "$R" "$TMP/out" --exact)"

R=$TMP/pyrestart.jsonl
"$EVCAT" listen -o json --record "$R" "$P/restart" >"$TMP/out" 2>/dev/null
expect_eq "python peer closes 1012: exit 1" 1 $?
expect_eq "the peer's close and our echo of its code" "ws $P/restart
in:text:going down
in:close:1012:service restart
out:close:1012:
output matches" "$(rec "$R" "$TMP/out" --exact)"

R=$TMP/keepalive.jsonl
# 1.5 s of session (6 s under valgrind, where the start alone takes a
# second): at least 3 pings at 300 ms.
gap=1.5; under_valgrind && gap=6
bash -c "sleep $gap; echo bye" | "$EVCAT" ws -o json --ping-interval 300ms --record "$R" "$P/echo" \
    >"$TMP/out" 2>/dev/null
out=$(rec "$R" "$TMP/out" --exact)
check "keepalive pings out and pongs in are recorded" \
    bash -c "[ \$(grep -c '^out:ping:' <<<'$out') -ge 3 ] && [ \$(grep -c '^in:pong:' <<<'$out') -ge 3 ]"
# A keepalive ping may go out after the echo, and its pong come back after
# our close (seen under valgrind): pings and pongs may fall anywhere there.
expect_match "and the rest of the session" \
    $'\nout:text:bye\n((out:ping|in:pong):[^\n]*\n)*in:text:bye\n((out:ping|in:pong):[^\n]*\n)*out:close:1000:\n(in:pong:[^\n]*\n)*in:close:1000:\noutput matches$' "$out"

# --- interrupted ---
R=$TMP/int.jsonl
"$EVCAT" listen -o json --record "$R" "$S/sse" >"$TMP/out" 2>"$TMP/bg3.err" &
pid=$!
wait_until 5 grep -qs "connected" "$TMP/bg3.err"
curl -s -o /dev/null -d "a" "$S/publish"
curl -s -o /dev/null -d "b" "$S/publish"
wait_until 5 lines_ge "$R" 3
kill -INT $pid
wait $pid
expect_eq "SSE, SIGINT while recording: exit 130" 130 $?
expect_match "SSE, SIGINT: the file parses and holds what had arrived" \
    "^sse $S/sse
message:[0-9]+:a
message:[0-9]+:b
output matches\$" "$(rec "$R" "$TMP/out" --exact)"

R=$TMP/intws.jsonl
bash -c 'echo hi; sleep 3' | "$EVCAT" ws -o json --record "$R" "$W/echo" >"$TMP/out" 2>/dev/null &
pid=$!
wait_until 5 lines_ge "$R" 3
kill -INT $pid
wait $pid
expect_eq "ws, SIGINT while recording: exit 130" 130 $?
out=$(rec "$R" "$TMP/out" --exact)
expect_match "ws, SIGINT: the file parses and holds the exchange and our close 1001" \
    $'^ws '"$W"$'/echo\nout:text:hi\nin:text:hi\nout:close:1001:' "$out"

"$EVCAT" listen -o json --record "$TMP/term.jsonl" "$S/sse" >/dev/null 2>"$TMP/bg4.err" &
pid=$!
wait_until 5 grep -qs "connected" "$TMP/bg4.err"
kill -TERM $pid
wait $pid
expect_eq "SIGTERM: exit 143" 143 $?
expect_eq "SIGTERM: the header is there" "sse $S/sse" "$(rec "$TMP/term.jsonl")"

# --- failures ---
expect_usage "listen: --record into a missing directory" listen --record "$TMP/no/such/dir/r.jsonl" "$S/sse"
check "naming the file" grep -q "cannot create recording $TMP/no/such/dir/r.jsonl" "$TMP/err"
expect_usage "send: --record into a missing directory" send --record "$TMP/no/r.jsonl" "$W/echo" x
expect_usage "ws: --record into a missing directory" ws --record "$TMP/no/r.jsonl" "$W/echo"
expect_usage "listen ws://: --record into a missing directory" listen --record "$TMP/no/r.jsonl" "$W/echo"
expect_usage "listen -: --record into a missing directory" listen --record "$TMP/no/r.jsonl" -
expect_usage "bench does not take --record" bench --record "$TMP/b.jsonl" "$W/echo"
check "bench wrote no file" test ! -e "$TMP/b.jsonl"

if [ -w /dev/full ]; then
    "$EVCAT" send --record /dev/full "$W/echo" x >/dev/null 2>"$TMP/err"
    expect_eq "/dev/full: exit 1" 1 $?
    expect_eq "/dev/full: the write error, once" \
        "evcat: writing the recording /dev/full failed: No space left on device" \
        "$(grep '^evcat: ' "$TMP/err")"
    echo "data: x" | "$EVCAT" listen --record /dev/full - >/dev/null 2>"$TMP/err"
    expect_eq "/dev/full, listen -: exit 1" 1 $?
    "$EVCAT" listen --record /dev/full -o json "$S/sse" >/dev/null 2>"$TMP/bg5.err" &
    pid=$!
    wait_until 5 grep -qs "connected" "$TMP/bg5.err"
    kill -INT $pid
    wait $pid
    expect_eq "/dev/full and SIGINT: exit 130 stays" 130 $?
    check "and the write error is still reported" grep -q "writing the recording /dev/full failed" "$TMP/bg5.err"
fi

finish
