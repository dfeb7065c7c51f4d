#!/usr/bin/env bash
# evcat bench --replay FILE: every connection plays a recorded WebSocket
# conversation (evcat(1), BENCH, "Conversations"). Against `evcat serve`'s
# /echo and python3-websockets peers: the counts of a conversation (with -p
# 2 too), per-reply latency against a server that answers 200 ms late,
# --expect's mismatch counting and its one-line first difference, {{conn}}
# and {{seq}} unique across -c, -p 2 and --shard, the test id following the
# recording's content, and the usage errors (an SSE URL, a bad file naming
# its line).
. "$(dirname "$0")/lib.sh"

# between LO X HI: LO <= X <= HI as numbers
between() { $PY -c 'import sys; a, x, b = map(float, sys.argv[1:]); sys.exit(0 if a <= x <= b else 1)' "$@"; }

# Recorded offsets are stretched under valgrind, where a connection takes
# long to open: the conversation must start inside the measurement.
SC=1
under_valgrind && SC=5
t() { $PY -c "print(round($1 * $SC, 6))"; }
# dur S: a --duration of S seconds, scaled the same way
dur() { $PY -c "print(str(int($1 * $SC * 1000)) + 'ms')"; }

TS='"ts":"2026-01-01T00:00:00.000000Z","proto":"ws"'
# rec FILE LINE...: a WebSocket recording; each LINE is DIR TYPE T [FIELDS],
# e.g. 'out text 0.1 "data":"hi"' (T scaled by SC).
rec() {
    local f=$1 l dir type tt rest
    shift
    printf '{"evcat_recording":1,"url":"ws://127.0.0.1:1/","proto":"ws","started":"2026-01-01T00:00:00Z"}\n' >"$f"
    for l in "$@"; do
        read -r dir type tt rest <<<"$l"
        printf '{%s,"dir":"%s","type":"%s"%s,"t":%s}\n' "$TS" "$dir" "$type" "${rest:+,$rest}" "$(t "$tt")" >>"$f"
    done
}

start_serve --tick 0 -q
ECHO=ws://127.0.0.1:$SERVE_PORT/echo

# Peers nobody here wrote: python3-websockets.
cat >"$TMP/peer.py" <<'PY'
import asyncio, sys
import websockets

LOG = sys.argv[2]

async def handler(ws, path):
    if path == "/delay":        # every message back, 200 ms late
        async for msg in ws:
            await asyncio.sleep(0.2)
            await ws.send(msg)
    elif path == "/upper":      # echo, uppercased
        async for msg in ws:
            await ws.send(msg.upper() if isinstance(msg, str) else msg)
    elif path.startswith("/log/"):  # echo, and a line per text message in LOG-NAME
        with open(LOG + "-" + path[5:], "a") as f:
            async for msg in ws:
                if isinstance(msg, str):
                    f.write(msg + "\n")
                    f.flush()
                await ws.send(msg)

async def main():
    async with websockets.serve(handler, "127.0.0.1", int(sys.argv[1]), max_queue=None):
        await asyncio.Future()

asyncio.run(main())
PY
PPORT=$(free_port)
bg $PY "$TMP/peer.py" "$PPORT" "$TMP/log"
wait_port "$PPORT"
PEER=ws://127.0.0.1:$PPORT

# ---- usage errors: exit 2, one line ----
rec "$TMP/conv.jsonl" \
    'out text 0.3 "data":"q1 {{conn}}"' 'in text 0.31 "data":"q1 {{conn}}"' \
    'out ping 0.4 "data_b64":"cGluZw=="' 'in pong 0.41 "data_b64":"cGluZw=="' \
    'out text 0.5 "data":"q2 {{seq}}"' 'in text 0.51 "data":"q2 {{seq}}"' \
    'out binary 0.6 "data_b64":"AAEC"' 'in binary 0.61 "data_b64":"AAEC"' \
    'out close 0.7 "code":1000,"reason":""' 'in close 0.71 "code":1000,"reason":""'
expect_usage "replay refuses an SSE URL" bench --replay "$TMP/conv.jsonl" "http://127.0.0.1:$SERVE_PORT/sse"
check "the SSE refusal says why" grep -q "plays a WebSocket conversation: 'http://127.0.0.1:$SERVE_PORT/sse' is an SSE URL" "$TMP/err"
expect_usage "replay refuses an SSE URL among two" bench --replay "$TMP/conv.jsonl" "$ECHO" "https://127.0.0.1:1/"
expect_usage "a missing recording" bench --replay "$TMP/none.jsonl" "$ECHO"
check "the missing file is named" grep -q "cannot open $TMP/none.jsonl" "$TMP/err"
{ head -2 "$TMP/conv.jsonl"; echo '{"ts":"x","dir":"out","type":"text","data":"q","t":"soon"}'; } >"$TMP/bad.jsonl"
expect_usage "a bad recording" bench --replay "$TMP/bad.jsonl" "$ECHO"
check "the bad file and line are named" grep -q "bench: --replay $TMP/bad.jsonl: line 3: \"t\" is not a number" "$TMP/err"
printf '{"evcat_recording":1,"url":"http://x/","proto":"sse","started":""}\n{"event":"message","data":"x","id":"","t":0}\n' >"$TMP/sse.jsonl"
expect_usage "an SSE recording" bench --replay "$TMP/sse.jsonl" "$ECHO"
check "the SSE recording is named" grep -q "$TMP/sse.jsonl: an SSE recording" "$TMP/err"
long=$(printf '%0180d' 0)
rec "$TMP/big.jsonl" 'out text 0 "data":"x"' "out text 0 \"data\":\"$long{{conn}}\""
expect_usage "a template that may outgrow --max-message" bench --template --max-message 199 --replay "$TMP/big.jsonl" "$ECHO"
check "the line that may outgrow it is named" grep -q "big.jsonl: line 3: with --template this message may grow to 200 bytes, over --max-message (199)" "$TMP/err"
expect_rc "without --template it is sent as it is" 1 "$EVCAT" bench -q -c 1 -d 100ms --max-message 199 --replay "$TMP/big.jsonl" "ws://127.0.0.1:$(free_port)/"
expect_usage "--expect without --replay" bench --expect "$ECHO"
expect_usage "--template without --replay" bench --template "$ECHO"
expect_usage "--speed with --no-timing" bench --replay "$TMP/conv.jsonl" --speed 2 --no-timing "$ECHO"
expect_usage "--speed not a number" bench --replay "$TMP/conv.jsonl" --speed fast "$ECHO"
expect_usage "--replay with --mode" bench --replay "$TMP/conv.jsonl" --mode echo "$ECHO"
expect_usage "--replay with --message-rate" bench --replay "$TMP/conv.jsonl" -r 5 "$ECHO"
expect_usage "--replay with --publish" bench --replay "$TMP/conv.jsonl" --publish "http://127.0.0.1:1/publish" "$ECHO"
expect_usage "merge takes no --replay" bench merge --replay "$TMP/conv.jsonl" "$TMP/none.json"

# ---- a conversation against evcat serve's /echo ----
D=$(dur 2)
expect_rc "echo: 20 connections play it, exit 0" 0 \
    "$EVCAT" bench -q -c 20 -d "$D" --replay "$TMP/conv.jsonl" --expect --template \
    --assert 'errors==0' --json "$TMP/echo.json" "$ECHO"
J=$TMP/echo.json
expect_eq "echo: mode" replay "$(jv "$J" mode)"
expect_eq "echo: established" 20 "$(jv "$J" connections.established)"
expect_eq "echo: no errors" "{}" "$(jv "$J" errors)"
# three messages each (the ping is not a message, the close is not played)
expect_eq "echo: sent" 60 "$(jv "$J" messages.sent)"
expect_eq "echo: received" 60 "$(jv "$J" messages.received)"
expect_eq "echo: a latency sample per reply" 60 "$(jv "$J" latency_ms.samples)"
check "echo: p99 well under the gaps" between 0.001 "$(jv "$J" latency_ms.p99)" "$(slow 90)"
# "q1 0".."q1 19" (90 bytes), "q2 2" (4), 3 binary bytes
expect_eq "echo: bytes as expanded" $((90 + 20 * 4 + 20 * 3)) "$(jv "$J" bytes.sent)"

expect_rc "echo with -p 2: exit 0" 0 \
    "$EVCAT" bench -q -p 2 -c 20 -d "$D" --replay "$TMP/conv.jsonl" --expect --template \
    --json "$TMP/echo2.json" "$ECHO"
J=$TMP/echo2.json
expect_eq "-p 2: two processes" 2 "$(jv "$J" procs)"
expect_eq "-p 2: received" 60 "$(jv "$J" messages.received)"
expect_eq "-p 2: no mismatch" "{}" "$(jv "$J" errors)"

# ---- latency of each reply: a server 200 ms late ----
rec "$TMP/slow.jsonl" \
    'out text 0.2 "data":"one"' 'in text 0.4 "data":"one"' \
    'out text 0.8 "data":"two"' 'in text 1.0 "data":"two"' \
    'in text 1.1 "data":"not sent by the peer"'
expect_rc "delay: exit 0" 0 \
    "$EVCAT" bench -q -c 10 -d "$D" --replay "$TMP/slow.jsonl" --json "$TMP/slow.json" "$PEER/delay"
J=$TMP/slow.json
expect_eq "delay: a sample per reply" 20 "$(jv "$J" latency_ms.samples)"
# 200 ms, give or take the histogram's 0.8% and the machine's load
check "delay: p50 is the server's 200 ms ($(jv "$J" latency_ms.p50))" between 198 "$(jv "$J" latency_ms.p50)" "$((200 + $(slow 60)))"
check "delay: max is not far off ($(jv "$J" latency_ms.max))" between 198 "$(jv "$J" latency_ms.max)" "$((200 + $(slow 150)))"
expect_eq "delay: without --expect nothing is compared" "{}" "$(jv "$J" errors)"
# at --speed 2 the gaps halve; the server's delay does not
expect_rc "delay at --speed 2: exit 0" 0 \
    "$EVCAT" bench -q -c 10 -d "$D" --speed 2 --replay "$TMP/slow.jsonl" --json "$TMP/slow2.json" "$PEER/delay"
check "delay at --speed 2: p50 still 200 ms" between 198 "$(jv "$TMP/slow2.json" latency_ms.p50)" "$((200 + $(slow 60)))"

# ---- --expect: mismatches, one per connection, the first on one line ----
expect_rc "upper: differences, exit 0 without --assert" 0 \
    "$EVCAT" bench -c 8 -d "$D" --replay "$TMP/conv.jsonl" --expect --template --json "$TMP/up.json" "$PEER/upper"
J=$TMP/up.json
expect_eq "upper: one mismatch per connection" '{"mismatch": 8}' "$(jv "$J" errors)"
expect_match "upper: the first in the JSON" '^connection [0-7]: message 1 differs: expected text "q1 [0-7]", got text "Q1 [0-7]"$' "$(jv "$J" first_mismatch)"
expect_eq "upper: one line on stderr" 1 "$(grep -c 'differed from the recording' "$TMP/rc.err")"
expect_match "upper: that line" '^evcat: warning: bench: --expect: 8 connections differed from the recording, the first: connection [0-7]: message 1 differs: expected text "q1 [0-7]", got text "Q1 [0-7]"$' \
    "$(grep 'differed from the recording' "$TMP/rc.err")"
check "upper: the summary counts them" grep -qE "errors +mismatch 8" "$TMP/rc.out"
expect_rc "upper: --assert errors==0 fails (exit 3)" 3 \
    "$EVCAT" bench -q -c 4 -d "$D" --replay "$TMP/conv.jsonl" --expect --template --assert 'errors==0' "$PEER/upper"
# a reply the peer never sends: missing when the measurement ends
expect_rc "missing: exit 0" 0 \
    "$EVCAT" bench -c 3 -d "$D" --replay "$TMP/slow.jsonl" --expect --json "$TMP/miss.json" "$PEER/delay"
expect_eq "missing: one per connection" '{"mismatch": 3}' "$(jv "$TMP/miss.json" errors)"
expect_match "missing: named" 'message 3 is missing \(expected text "not sent by the peer"\): the measurement ended' \
    "$(jv "$TMP/miss.json" first_mismatch)"
# -p 2: the first difference crosses the worker processes
expect_rc "upper with -p 2" 0 \
    "$EVCAT" bench -q -p 2 -c 6 -d "$D" --replay "$TMP/conv.jsonl" --expect --template --json "$TMP/up2.json" "$PEER/upper"
expect_eq "upper -p 2: counted in both" '{"mismatch": 6}' "$(jv "$TMP/up2.json" errors)"
expect_match "upper -p 2: the first kept" '^connection [0-5]: message 1 differs' "$(jv "$TMP/up2.json" first_mismatch)"

# ---- {{conn}} and {{seq}}: unique across -c, -p 2 and --shard ----
rec "$TMP/ids.jsonl" \
    'out text 0.2 "data":"login {{conn}} {{seq}}"' 'out text 0.3 "data":"sub {{conn}} {{seq}}"'
# ids LOG WORD: the {{conn}} values of WORD's lines, sorted; and their {{seq}}
conns() { awk -v w="$2" '$1 == w {print $2}' "$1" | sort -n | tr '\n' ' '; }
seqs() { awk -v w="$2" '$1 == w {print $3}' "$1" | sort -u | tr '\n' ' '; }
all40=$(seq 0 39 | tr '\n' ' ')
expect_rc "ids: 40 connections over -p 2" 0 \
    "$EVCAT" bench -q -p 2 -c 40 -d "$D" --replay "$TMP/ids.jsonl" --template --on-open 'hello {{conn}} {{seq}}' "$PEER/log/p2"
expect_eq "ids: each {{conn}} once, -p 2" "$all40" "$(conns "$TMP/log-p2" login)"
expect_eq "ids: the on-open ones too" "$all40" "$(conns "$TMP/log-p2" hello)"
expect_eq "ids: {{seq}} of the on-open message" "1 " "$(seqs "$TMP/log-p2" hello)"
expect_eq "ids: {{seq}} after it" "2 " "$(seqs "$TMP/log-p2" login)"
expect_eq "ids: {{seq}} of the next" "3 " "$(seqs "$TMP/log-p2" sub)"
expect_eq "ids: nothing else" 120 "$(wc -l <"$TMP/log-p2")"
expect_rc "ids: 40 connections over 4 threads" 0 \
    "$EVCAT" bench -q -t 4 -c 40 -d "$D" --replay "$TMP/ids.jsonl" --template "$PEER/log/t4"
expect_eq "ids: each {{conn}} once, -t 4" "$all40" "$(conns "$TMP/log-t4" sub)"
for i in 0 1 2; do
    expect_rc "ids: shard $i of 3" 0 \
        "$EVCAT" bench -q --shard $i/3 -p 2 -c 40 -d "$D" --replay "$TMP/ids.jsonl" --template \
        --json "$TMP/shard$i.json" "$PEER/log/shards"
done
expect_eq "ids: each {{conn}} once over 3 shards" "$all40" "$(conns "$TMP/log-shards" login)"
expect_rc "ids: the shards merge" 0 "$EVCAT" bench merge -q --json "$TMP/merged.json" "$TMP"/shard[012].json
expect_eq "ids: merged mode" replay "$(jv "$TMP/merged.json" mode)"

# ---- the test id follows the recording and the replay options ----
dead=$(free_port)
# test_id ARGS...: the test id a --shard run prints with -v (the run fails: nobody listens)
test_id() {
    "$EVCAT" bench -v --shard 0/2 -c 2 -d 100ms "$@" "ws://127.0.0.1:$dead/" 2>&1 |
        sed -n 's/.*of test \([0-9a-f]*\).*/\1/p' | head -1
}
id1=$(test_id --replay "$TMP/conv.jsonl")
check "test id: printed ($id1)" test -n "$id1"
cp "$TMP/conv.jsonl" "$TMP/conv-copy.jsonl"
expect_eq "test id: the same content, the same id" "$id1" "$(test_id --replay "$TMP/conv-copy.jsonl")"
sed 's/q2 {{seq}}/q3 {{seq}}/' "$TMP/conv.jsonl" >"$TMP/conv-other.jsonl"
id2=$(test_id --replay "$TMP/conv-other.jsonl")
check "test id: another message, another id ($id2)" test -n "$id2" -a "$id2" != "$id1"
id3=$(test_id --replay "$TMP/conv.jsonl" --speed 2)
check "test id: --speed changes it ($id3)" test -n "$id3" -a "$id3" != "$id1"
id4=$(test_id --replay "$TMP/conv.jsonl" --template)
check "test id: --template changes it ($id4)" test -n "$id4" -a "$id4" != "$id1"

finish
