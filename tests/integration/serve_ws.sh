#!/usr/bin/env bash
# evcat serve, the WebSocket side, against independent clients:
# python3-websockets (ws_peer.py), curl for the HTTP side and the npm `ws`
# package as a second client.
. "$(dirname "$0")/lib.sh"

PEER=("$PY" "$(dirname "$0")/ws_peer.py")

# ------------------------------------------------------------ W1: /echo
start_serve --tick 0 --max-message 8M --max-queue 16M -v 2>"$TMP/w1.err"
W1=$SERVE_PORT W1_PID=$SERVE_PID
WS1="ws://127.0.0.1:$W1"

wait_until 2 grep -q "serving WebSocket on ws://127.0.0.1:$W1/ws (the channel) and ws://127.0.0.1:$W1/echo" "$TMP/w1.err"
check "listening line names the WebSocket endpoints" grep -q "serving WebSocket on $WS1/ws" "$TMP/w1.err"

out=$(timeout 60 "${PEER[@]}" echo "$WS1/echo" 2>&1)
expect_eq "echo: every check passed" "" "$(printf '%s\n' "$out" | grep -v '^ok ')"
expect_eq "echo: 20 checks ran" 20 "$(printf '%s\n' "$out" | grep -c '^ok ')"
# -H Host replaces evcat's own: one Host header, which serve takes (two
# would be a 400, RFC 9112).
expect_eq "send -H Host: one Host header, the echo comes back" "hi" \
    "$(timeout 10 "$EVCAT" send -n 1 -o raw -H "Host: localhost:$W1" "$WS1/echo" hi 2>/dev/null)"

for code in 1000 1001 1012 4000; do
    got=$(timeout 10 "${PEER[@]}" close "$WS1/echo" "$code" "reason $code" 2>&1)
    expect_eq "client close $code: the server answers with the same code" "$code" "$got"
done
check "-v logs the client's close code and reason" grep -q "WebSocket close from the client: 4000 (private use) reason 4000" "$TMP/w1.err"

# The npm ws client (an independent implementation) against /echo.
if [ ! -d "$NODE_PATH/ws" ]; then
    npm install --prefix "$EVCAT_SRC/tests" --no-package-lock --no-audit --no-fund >/dev/null 2>&1
fi
if command -v node >/dev/null && [ -d "$NODE_PATH/ws" ]; then
    out=$(timeout 20 node -e '
const WebSocket = require("ws");
const ws = new WebSocket(process.argv[1], { perMessageDeflate: false });
const sent = ["hello", Buffer.from([0, 1, 2, 255]), "é".repeat(40000)];
const got = [];
ws.on("open", () => { for (const m of sent) ws.send(m); ws.ping("p"); });
// Close once the echoes and the pong are all in: the pong follows the last
// echo on the wire, and a close sent in between may lose it.
const done = () => got.filter((g) => !g.startsWith("pong")).length === sent.length &&
  got.some((g) => g.startsWith("pong"));
ws.on("pong", (d) => { got.push("pong " + d); if (done()) ws.close(1000, "bye"); });
ws.on("message", (d, isBinary) => {
  got.push((isBinary ? "bin " + d.toString("hex") : "text " + d.length));
  if (done()) ws.close(1000, "bye");
});
ws.on("close", (code) => { console.log(got.join("\n")); console.log("close " + code); });
ws.on("error", (e) => { console.log("error " + e.message); process.exit(1); });
' "$WS1/echo" 2>&1)
    expect_eq "npm ws: echo of text, binary and a 80 KB text, pong, close" \
        "$(printf 'bin 000102ff\nclose 1000\npong p\ntext 5\ntext 80000')" \
        "$(printf '%s\n' "$out" | sort)"
else
    fail "node and the npm ws package are needed (npm install --prefix tests)"
fi

# Over --max-message: close 1009, and the server says why with -v.
kill -TERM "$W1_PID"
wait "$W1_PID"
expect_eq "W1: exit 0 after SIGTERM" 0 "$?"

start_serve --tick 0 --max-message 1000 -v 2>"$TMP/w2.err"
W2=$SERVE_PORT W2_PID=$SERVE_PID
out=$(timeout 10 "${PEER[@]}" big "ws://127.0.0.1:$W2/echo" 1000 2>&1)
expect_eq "--max-message 1000: a 1000-byte message is echoed" "no close" "$out"
out=$(timeout 10 "${PEER[@]}" big "ws://127.0.0.1:$W2/echo" 1001 2>&1)
expect_eq "--max-message 1000: a 1001-byte message gets close 1009" "close 1009" "$out"
check "-v says why" grep -q "WebSocket closed with 1009: message larger than --max-message (1000 bytes)" "$TMP/w2.err"
out=$(timeout 10 "${PEER[@]}" big "ws://127.0.0.1:$W2/ws" 5000 2>&1)
expect_eq "--max-message applies to /ws too" "close 1009" "$out"

# ------------------------------------------------ malformed upgrades: 400/426
URL2="http://127.0.0.1:$W2"
bg "${PEER[@]}" recv "ws://127.0.0.1:$W2/ws" 1 10 >"$TMP/keeper.out" 2>&1
KEEPER=$BG_PID
wait_until 3 grep -q ready "$TMP/keeper.out"

status() { curl -s -o "$TMP/body" -D "$TMP/head" -w '%{http_code}' "$@"; }
UPG=(-H 'Upgrade: websocket' -H 'Connection: Upgrade' -H 'Sec-WebSocket-Version: 13')
KEY='Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='
expect_eq "plain GET /ws: 426" 426 "$(status "$URL2/ws")"
check "426 names what to do" grep -q "WebSocket endpoint" "$TMP/body"
check "426 carries Upgrade: websocket" grep -qi '^Upgrade: websocket' "$TMP/head"
expect_eq "bad key: 400" 400 "$(status "${UPG[@]}" -H 'Sec-WebSocket-Key: short' "$URL2/ws")"
check "400 says the key is wrong" grep -q "Sec-WebSocket-Key" "$TMP/body"
expect_eq "no key: 400" 400 "$(status "${UPG[@]}" "$URL2/echo")"
expect_eq "no Connection: Upgrade: 400" 400 \
    "$(status -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' -H "$KEY" "$URL2/ws")"
expect_eq "version 8: 426" 426 "$(status -H 'Upgrade: websocket' -H 'Connection: Upgrade' \
    -H 'Sec-WebSocket-Version: 8' -H "$KEY" "$URL2/ws")"
check "426 carries Sec-WebSocket-Version: 13" grep -qi '^Sec-WebSocket-Version: 13' "$TMP/head"
expect_eq "POST /ws: 405" 405 "$(status -X POST -d x "$URL2/ws")"
expect_eq "HTTP/1.0 upgrade: 400" 400 "$(status --http1.0 "${UPG[@]}" -H "$KEY" "$URL2/ws")"
curl -s -o /dev/null -X POST -d "still here" "$URL2/publish"
wait "$KEEPER"
expect_eq "a /ws client kept working through the bad upgrades" "$(printf 'ready\nstill here')" "$(cat "$TMP/keeper.out")"
kill -TERM "$W2_PID"
wait "$W2_PID"

# ------------------------------------------------ W3: the channel on /ws
start_serve --tick 300ms -v 2>"$TMP/w3.err"
W3=$SERVE_PORT W3_PID=$SERVE_PID URL3="http://127.0.0.1:$W3" WS3="ws://127.0.0.1:$W3"

# 20 messages: room for the ticks that pass while the Python peers start on a
# busy machine (8 ran out before the chat arrived under load).
bg "${PEER[@]}" recv "$WS3/ws" 20 10 >"$TMP/sub1.out" 2>&1
SUB1=$BG_PID
bg "${PEER[@]}" recv "$WS3/ws" 20 10 >"$TMP/sub2.out" 2>&1
SUB2=$BG_PID
bg curl -sN --max-time 10 "$URL3/sse" -o "$TMP/sse.out"
SSE=$BG_PID
wait_until 3 grep -q ready "$TMP/sub1.out"
wait_until 3 grep -q ready "$TMP/sub2.out"
wait_until 3 grep -q "^retry:" "$TMP/sse.out"
curl -s -o /dev/null -X POST --data-binary 'published by curl' "$URL3/publish?event=note"
"${PEER[@]}" sendbin "$WS3/ws" 00ff 2>&1
"${PEER[@]}" send "$WS3/ws" "chat: héllo" "line1
line2" 2>&1
wait_until 10 bash -c "[ \$(grep -c . '$TMP/sub2.out') -ge 21 ]"
wait "$SUB1" "$SUB2"
sub1=$(cat "$TMP/sub1.out")
expect_match "/ws: ticks as their JSON data" $'\n''\{"seq":[0-9]+,"ts_ns":[0-9]+\}' "$sub1"
expect_match "/ws: a message published with curl" $'\n''published by curl'$'\n' "$sub1"
expect_match "/ws: text sent by another /ws client" $'\n''chat: héllo'$'\n' "$sub1"
expect_match "/ws: a multi-line message arrives as one" $'\n''line1'$'\n''line2' "$sub1"
check "/ws: binary sent to /ws is not published" bash -c "! grep -q '^binary ' '$TMP/sub1.out'"
check "/ws: 'after binary' (sent after the binary message) arrived" grep -q '^after binary$' "$TMP/sub2.out"
expect_eq "/ws: both subscribers saw the same messages" "$(grep -v ts_ns "$TMP/sub1.out")" "$(grep -v ts_ns "$TMP/sub2.out")"
wait_until 3 grep -q "data: line2" "$TMP/sse.out"
sse=$(cat "$TMP/sse.out")
expect_match "/sse: text from a /ws client, event type message" $'\n''data: chat: héllo'$'\n' "$sse"
expect_match "/sse: the multi-line message as two data lines" 'data: line1'$'\n''data: line2' "$sse"
kill "$SSE" 2>/dev/null

# ------------------------------------------------ a /ws client that does not read
kill -TERM "$W3_PID"
wait "$W3_PID"
# --history 4: what the history holds is not what is measured here; nor is
# AddressSanitizer's quarantine of freed memory in a sanitized build.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1 \
    start_serve --tick 0 --max-queue 1M --history 4 -v 2>"$TMP/w4.err"
W4=$SERVE_PORT W4_PID=$SERVE_PID URL4="http://127.0.0.1:$W4"
bg "${PEER[@]}" stalled "ws://127.0.0.1:$W4/ws" 12 >"$TMP/stalled.out" 2>&1
STALLED=$BG_PID
bg "${PEER[@]}" recv "ws://127.0.0.1:$W4/ws" 300 20 >"$TMP/reader.out" 2>&1
READER=$BG_PID
wait_until 3 grep -q ready "$TMP/stalled.out"
wait_until 3 grep -q ready "$TMP/reader.out"
rss0=$(rss_kb "$W4_PID")
# Paced at 5 ms (12 MB/s): a reader on a loaded machine keeps up within the
# 1M queue, while 18 MB in 1.5 s is far past what the stalled one may hold.
$PY -c '
import sys, time, urllib.request
url = sys.argv[1]
for i in range(300):
    urllib.request.urlopen(urllib.request.Request(url, data=(("%04d " % i) + "x" * 60000).encode())).read()
    time.sleep(0.005)
' "$URL4/publish"
wait "$READER"
expect_eq "the reading /ws client got all 300 messages of 60 KB" 300 "$(grep -c 'xxxx' "$TMP/reader.out")"
wait_until 5 grep -q "dropped 1 subscriber that stopped reading" "$TMP/w4.err"
check "the stalled /ws client was dropped (warning)" grep -q "dropped 1 subscriber that stopped reading" "$TMP/w4.err"
rss1=$(rss_kb "$W4_PID")
check_rss "serve RSS bounded while 18 MB went to a stalled client (from ${rss0} KiB)" "$rss1" $((rss0 + 12000))
wait "$STALLED"
expect_eq "the stalled client saw the end" dropped "$(tail -n 1 "$TMP/stalled.out")"

# ------------------------------------------------ SIGTERM: close 1001
bg "${PEER[@]}" wait_close "ws://127.0.0.1:$W4/ws" 10 >"$TMP/c1.out" 2>&1
C1=$BG_PID
bg "${PEER[@]}" wait_close "ws://127.0.0.1:$W4/echo" 10 >"$TMP/c2.out" 2>&1
C2=$BG_PID
wait_until 3 grep -q ready "$TMP/c1.out"
wait_until 3 grep -q ready "$TMP/c2.out"
t0=$(date +%s%N)
kill -TERM "$W4_PID"
wait "$W4_PID"
rc=$?
t1=$(date +%s%N)
expect_eq "SIGTERM with WebSocket clients: exit 0" 0 "$rc"
check "SIGTERM: the server stopped within 2 s ($(((t1 - t0) / 1000000)) ms)" [ $(((t1 - t0) / 1000000)) -lt "$(slow 2000)" ]
wait "$C1" "$C2"
expect_eq "SIGTERM: /ws client got close 1001" "close 1001 server shutting down" "$(tail -n 1 "$TMP/c1.out")"
expect_eq "SIGTERM: /echo client got close 1001" "close 1001 server shutting down" "$(tail -n 1 "$TMP/c2.out")"
check "summary counts WebSocket connections and messages" grep -qE '; WebSocket: [0-9]+ connections, [0-9]+ messages received$' "$TMP/w4.err"

finish
