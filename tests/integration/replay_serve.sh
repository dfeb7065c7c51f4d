#!/usr/bin/env bash
# evcat replay FILE --serve: recordings written by hand (JSON Lines, evcat(1)
# RECORDINGS) played to clients nobody here wrote as well as to evcat
# listen: curl, the npm `eventsource` package, python3-websockets. Events
# with their event/id/data fields, timing (a 1 s gap, --speed 2,
# --no-timing), each client its own playback, Last-Event-ID resume and 204
# at the end, the WebSocket side (binary round trip, close 1000 or the
# recorded server close, 1001 on SIGINT), wrong requests (405, 400, 426),
# SIGINT exits 0.
. "$(dirname "$0")/lib.sh"

# start_replay FILE [ARGS...]: evcat replay FILE --serve on a free port;
# sets R_PORT, R_PID, R_URL; stderr in $TMP/replay.$R_PORT.err
start_replay() {
    local f=$1
    shift
    R_PORT=$(free_port)
    bg "$EVCAT" replay "$f" --serve --listen "127.0.0.1:$R_PORT" -v "$@" \
        2>"$TMP/replay.$R_PORT.err"
    R_PID=$BG_PID
    R_URL=http://127.0.0.1:$R_PORT
    wait_port "$R_PORT"
    # The listening line comes just after listen(): under valgrind a client
    # can connect before it is written.
    wait_until 2 grep -q "replaying" "$TMP/replay.$R_PORT.err"
}
# stop_replay NAME: SIGINT, and the exit code must be 0.
stop_replay() {
    kill -INT "$R_PID"
    wait "$R_PID"
    expect_eq "$1: SIGINT exits 0" 0 "$?"
}

# ------------------------------------------------------------- SSE
SSE=$TMP/sse.jsonl
cat >"$SSE" <<'EOF'
{"evcat_recording":1,"url":"http://example.test/events","proto":"sse","started":"2026-11-23T10:00:00.000000Z"}
{"ts":"2026-11-23T10:00:00.100000Z","proto":"sse","event":"message","data":"first","id":"","t":0.1}
{"ts":"2026-11-23T10:00:00.300000Z","proto":"sse","event":"tick","data":"a\nb","id":"7","t":0.3}
{"ts":"2026-11-23T10:00:01.300000Z","proto":"sse","event":"message","data":"last","id":"8","t":1.3}
EOF

start_replay "$SSE"
expect_match "listening line names the recording, the count, the kind and the address" \
    "\* replaying http://example.test/events \(3 messages, SSE\) on http://127.0.0.1:$R_PORT/" \
    "$(cat "$TMP/replay.$R_PORT.err")"

# Two clients at once, on any path: each gets its own full playback.
bg "$EVCAT" listen -o json --no-reconnect "$R_URL/any/path?x=1" >"$TMP/l1.out" 2>"$TMP/l1.err"
L1=$BG_PID
bg "$EVCAT" listen -o json --no-reconnect "$R_URL/" >"$TMP/l2.out" 2>"$TMP/l2.err"
L2=$BG_PID
wait "$L1"
expect_eq "listen --no-reconnect exits 0 when the playback ends" 0 "$?"
wait "$L2"
expect_eq "a second client at the same time: exit 0" 0 "$?"
check_events() {
    $PY -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
got = [(e["event"], e["id"], e["data"]) for e in ev]
want = [("message", "", "first"), ("tick", "7", "a\nb"), ("message", "8", "last")]
assert got == want, got
' "$1"
}
check "client 1: the events with their event, id and data (multi-line joined)" check_events "$TMP/l1.out"
check "client 2: its own full playback" check_events "$TMP/l2.out"
# ts of the events: 0.2 s then 1 s apart, as recorded.
gaps() {
    $PY -c '
import json, sys, datetime
ts = [datetime.datetime.strptime(json.loads(l)["ts"], "%Y-%m-%dT%H:%M:%S.%fZ") for l in open(sys.argv[1])]
print(" ".join("%.3f" % (b - a).total_seconds() for a, b in zip(ts, ts[1:])))' "$1"
}
in_range() { $PY -c 'import sys; v=float(sys.argv[1]); sys.exit(0 if float(sys.argv[2]) <= v <= float(sys.argv[3]) else 1)' "$@"; }
g=$(gaps "$TMP/l1.out")
check "a 1 s gap takes ~1 s (got ${g#* })" in_range "${g#* }" 0.85 1.4
check "a 0.2 s gap takes ~0.2 s (got ${g% *})" in_range "${g% *}" 0.1 0.6

# The bytes on the wire: the head, then events in SSE form ("message"
# not named, one data: line per line).
curl -sN --max-time 5 -D "$TMP/h" "$R_URL/sse" >"$TMP/body"
h=$(tr -d '\r' <"$TMP/h")
expect_match "200 with Content-Type: text/event-stream" \
    "^HTTP/1.1 200 OK.*"$'\n''Content-Type: text/event-stream'$'\n' "$h"
expect_eq "the event stream, byte for byte" \
    $'data: first\n\nid: 7\nevent: tick\ndata: a\ndata: b\n\nid: 8\ndata: last\n\n.' \
    "$(cat "$TMP/body"; echo .)"

# Resume: Last-Event-ID 7 gets what followed it; after the last id, 204.
out=$(curl -sN --max-time 5 -H 'Last-Event-ID: 7' "$R_URL/x")
expect_eq "Last-Event-ID 7: the events after it" $'id: 8\ndata: last' "$out"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H 'Last-Event-ID: 8' "$R_URL/x")
expect_eq "Last-Event-ID of the last event: 204 (an EventSource stops)" 204 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H 'Last-Event-ID: nope' "$R_URL/x")
expect_eq "an unknown Last-Event-ID: the whole playback" 200 "$code"
# HEAD: the head a GET gets, then the end (no body, no playback).
h=$(exec 3<>"/dev/tcp/127.0.0.1/$R_PORT"; printf 'HEAD /x HTTP/1.1\r\nHost: t\r\n\r\n' >&3
    timeout 30 cat <&3; echo "rc=$?")
h=$(tr -d '\r' <<<"$h")
expect_match "HEAD: GET's head" "^HTTP/1.1 200 OK"$'\n'".*Content-Type: text/event-stream"$'\n' "$h"
expect_eq "HEAD: no body after the head, then the server closes" "rc=0" "${h#*$'\n\n'}"

# Wrong requests.
code=$(curl -s -o "$TMP/b" -D "$TMP/h" -w '%{http_code}' -d x "$R_URL/publish")
expect_eq "POST: 405" 405 "$code"
check "405 names GET in Allow" grep -qi '^Allow: GET' "$TMP/h"
code=$(curl -s -o "$TMP/b" -w '%{http_code}' -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
    -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$R_URL/ws")
expect_eq "a WebSocket upgrade to an SSE recording: 400" 400 "$code"
expect_match "  with one line saying what is played" \
    "^400 Bad Request: this server plays an SSE recording[^"$'\n'"]*$" "$(cat "$TMP/b")"
out=$("$EVCAT" listen "ws://127.0.0.1:$R_PORT/" 2>&1)
expect_eq "evcat listen ws:// to an SSE recording: exit 1" 1 "$?"

# An independent client: npm eventsource. It gets the playback, and when the
# stream ends it reconnects with Last-Event-ID 8, gets 204 and stops.
if [ ! -d "$NODE_PATH/eventsource" ]; then
    npm install --prefix "$EVCAT_SRC/tests" --no-package-lock --no-audit --no-fund >/dev/null 2>&1
fi
if command -v node >/dev/null && [ -d "$NODE_PATH/eventsource" ]; then
    node "$(dirname "$0")/eventsource_client.mjs" "$R_URL/events" 6 >"$TMP/es.out" 2>"$TMP/es.err"
    check "eventsource: message, tick and message with their ids and data" $PY -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
got = [(e["type"], e["id"], e["data"]) for e in ev if e["kind"] == "event"]
assert got == [("message", "", "first"), ("tick", "7", "a\nb"), ("message", "8", "last")], got
reqs = [e["lastEventId"] for e in ev if e["kind"] == "request"]
assert reqs == [None, "8"], reqs
' "$TMP/es.out"
else
    fail "node and the npm eventsource package are needed (npm install --prefix tests)"
fi
stop_replay "SSE"

# --speed 2: the 1 s gap takes 0.5 s. --no-timing: all at once.
start_replay "$SSE" --speed 2
"$EVCAT" listen -o json --no-reconnect "$R_URL/" >"$TMP/s2.out" 2>/dev/null
g=$(gaps "$TMP/s2.out")
check "--speed 2: the 1 s gap takes ~0.5 s (got ${g#* })" in_range "${g#* }" 0.4 0.9
stop_replay "--speed 2"
start_replay "$SSE" --no-timing
start=$(date +%s%N)
"$EVCAT" listen -o json --no-reconnect "$R_URL/" >"$TMP/nt.out" 2>/dev/null
ms=$((($(date +%s%N) - start) / 1000000))
check "--no-timing: the 3 events" check_events "$TMP/nt.out"
check "--no-timing: at once (${ms} ms)" test "$ms" -lt "$(slow 700)"
stop_replay "--no-timing"

# --tls: the same playback over https.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 2 \
    -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
start_replay "$SSE" --tls "$TMP/cert.pem" "$TMP/key.pem" --no-timing
"$EVCAT" listen --cacert "$TMP/cert.pem" -o json --no-reconnect "https://127.0.0.1:$R_PORT/" \
    >"$TMP/tls.out" 2>/dev/null
expect_eq "--tls: evcat listen https:// exits 0" 0 "$?"
check "--tls: the 3 events" check_events "$TMP/tls.out"
stop_replay "--tls"

# ------------------------------------------------------------- WebSocket
WS=$TMP/ws.jsonl
cat >"$WS" <<'EOF'
{"evcat_recording":1,"url":"ws://example.test/chat","proto":"ws","started":"2026-11-23T10:00:00.000000Z"}
{"ts":"2026-11-23T10:00:00.000000Z","proto":"ws","dir":"out","type":"text","data":"subscribe","t":0.0}
{"ts":"2026-11-23T10:00:00.200000Z","proto":"ws","dir":"in","type":"text","data":"hi","t":0.2}
{"ts":"2026-11-23T10:00:00.300000Z","proto":"ws","dir":"in","type":"binary","data_b64":"AP8QgA==","t":0.3}
{"ts":"2026-11-23T10:00:00.350000Z","proto":"ws","dir":"in","type":"pong","data_b64":"","t":0.35}
{"ts":"2026-11-23T10:00:01.300000Z","proto":"ws","dir":"in","type":"text","data":"bye é","t":1.3}
EOF
start_replay "$WS"
expect_match "listening line: WebSocket, the incoming messages counted" \
    "\* replaying ws://example.test/chat \(3 messages, WebSocket\) on ws://127.0.0.1:$R_PORT/" \
    "$(cat "$TMP/replay.$R_PORT.err")"

"$EVCAT" listen -o json "ws://127.0.0.1:$R_PORT/anything" >"$TMP/w.out" 2>"$TMP/w.err"
expect_eq "evcat listen ws://: exit 0 after close 1000" 0 "$?"
check "evcat listen: text, binary, text, then close 1000 'end of recording'" $PY -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
got = [(e["type"], e.get("data", e.get("data_b64")), e.get("code")) for e in ev]
assert got == [("text", "hi", None), ("binary", "AP8QgA==", None), ("text", "bye é", None),
               ("close", None, 1000)], got
assert ev[-1]["reason"] == "end of recording", ev[-1]
' "$TMP/w.out"

# python3-websockets, two clients at once: each gets all of it, the binary
# bytes unchanged, and close 1000; the 1 s gap is kept.
cat >"$TMP/wsc.py" <<'PY'
import asyncio, sys, time
import websockets

async def one(url):
    t0 = time.monotonic()
    got, times = [], []
    async with websockets.connect(url, compression=None, ping_interval=None) as ws:
        async for m in ws:
            got.append(m)
            times.append(time.monotonic() - t0)
    return got, times, ws.close_code, ws.close_reason

async def main():
    res = await asyncio.gather(*(one(sys.argv[1]) for _ in range(int(sys.argv[2]))))
    for got, times, code, reason in res:
        ok = got == ["hi", b"\x00\xff\x10\x80", "bye \u00e9"] and code == 1000
        print("ok" if ok else f"bad {got!r} {code} {reason!r}", "%.2f" % (times[-1] - times[-2]))

asyncio.run(main())
PY
out=$(timeout 20 $PY "$TMP/wsc.py" "ws://127.0.0.1:$R_PORT/p" 2)
expect_match "python3-websockets, 2 at once: own playback each, binary intact, close 1000" \
    "^ok [0-9.]+"$'\n'"ok [0-9.]+$" "$out"
check "python3-websockets: the 1 s gap kept ($(echo $out | cut -d' ' -f2))" \
    in_range "$(echo "$out" | head -n 1 | cut -d' ' -f2)" 0.85 1.4

# the npm ws client
if command -v node >/dev/null && [ -d "$NODE_PATH/ws" ]; then
    out=$(timeout 20 node -e '
const WebSocket = require("ws");
const ws = new WebSocket(process.argv[1], { perMessageDeflate: false });
const got = [];
ws.on("message", (d, isBinary) => got.push(isBinary ? "bin " + d.toString("hex") : "text " + d.toString()));
ws.on("close", (code, reason) => { got.push("close " + code + " " + reason); console.log(got.join("\n")); });
ws.on("error", (e) => { console.log("error " + e.message); process.exit(1); });
' "ws://127.0.0.1:$R_PORT/node" 2>&1)
    expect_eq "npm ws: the playback, then close 1000" \
        "$(printf 'text hi\nbin 00ff1080\ntext bye \303\251\nclose 1000 end of recording')" "$out"
else
    fail "node and the npm ws package are needed (npm install --prefix tests)"
fi

code=$(curl -s -o "$TMP/b" -D "$TMP/h" -w '%{http_code}' "$R_URL/")
expect_eq "a plain GET to a WebSocket recording: 426" 426 "$code"
expect_match "  with one line saying what is played" \
    "^426 Upgrade Required: this server plays a WebSocket recording[^"$'\n'"]*$" "$(cat "$TMP/b")"
out=$("$EVCAT" listen --no-reconnect "$R_URL/" 2>&1)
expect_eq "evcat listen http:// to a WebSocket recording: exit 1" 1 "$?"
stop_replay "WebSocket"

# The recorded server closed first (4001): that close, at its time; what
# followed it is not played.
WSC=$TMP/wsclose.jsonl
cat >"$WSC" <<'EOF'
{"evcat_recording":1,"url":"ws://example.test/x","proto":"ws","started":"2026-11-23T10:00:00.000000Z"}
{"ts":"2026-11-23T10:00:00.100000Z","proto":"ws","dir":"in","type":"text","data":"one","t":0.1}
{"ts":"2026-11-23T10:00:00.600000Z","proto":"ws","dir":"in","type":"close","code":4001,"reason":"maintenance","t":0.6}
{"ts":"2026-11-23T10:00:00.600000Z","proto":"ws","dir":"out","type":"close","code":4001,"reason":"maintenance","t":0.6}
{"ts":"2026-11-23T10:00:00.700000Z","proto":"ws","dir":"in","type":"text","data":"after","t":0.7}
EOF
start_replay "$WSC"
cat >"$TMP/wsclose.py" <<'PY'
import asyncio, sys, time
import websockets

async def main():
    t0 = time.monotonic()
    got = []
    async with websockets.connect(sys.argv[1], compression=None, ping_interval=None) as ws:
        try:
            while True:
                got.append(await ws.recv())
        except websockets.ConnectionClosed:
            pass
    print(got, ws.close_code, ws.close_reason, "%.1f" % (time.monotonic() - t0))

asyncio.run(main())
PY
out=$(timeout 10 $PY "$TMP/wsclose.py" "ws://127.0.0.1:$R_PORT/")
# (timed from the client's start, so its connect is in it: under valgrind
# the server's handshake can add most of a second)
late='0\.[5-9]'
under_valgrind && late='(0\.[5-9]|1\.[0-9])'
expect_match "the recorded server close 4001 'maintenance' at 0.6 s, nothing after it" \
    "^\['one'\] 4001 maintenance $late$" "$out"
"$EVCAT" listen "ws://127.0.0.1:$R_PORT/" >/dev/null 2>&1
expect_eq "evcat listen: a 4001 close is exit 1, as from any server" 1 "$?"
stop_replay "recorded close"

# SIGINT in the middle of a playback: close 1001, exit 0.
WSL=$TMP/wslong.jsonl
cat >"$WSL" <<'EOF'
{"evcat_recording":1,"url":"ws://example.test/slow","proto":"ws","started":"2026-11-23T10:00:00.000000Z"}
{"ts":"2026-11-23T10:00:00.000000Z","proto":"ws","dir":"in","type":"text","data":"now","t":0}
{"ts":"2026-11-23T10:01:00.000000Z","proto":"ws","dir":"in","type":"text","data":"much later","t":60}
EOF
start_replay "$WSL"
bg "$EVCAT" listen -o json "ws://127.0.0.1:$R_PORT/" >"$TMP/long.out" 2>"$TMP/long.err"
LL=$BG_PID
wait_until 5 grep -q '"now"' "$TMP/long.out"
stop_replay "mid-playback"
wait "$LL"
expect_eq "the client in the middle of a playback: close 1001, exit 0" 0 "$?"
check "  and it saw 1001" grep -q '"code":1001' "$TMP/long.out"

finish
