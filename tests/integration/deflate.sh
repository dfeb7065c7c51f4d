#!/usr/bin/env bash
# permessage-deflate (RFC 7692): evcat's client (--compress on listen, send,
# bench) and evcat serve against peers nobody here wrote, python3-websockets
# and Node's ws, each way round; evcat against itself, with the parameters
# shown by -v on both sides; a decompression bomb (a small message that
# inflates past --max-message: 1009, without the memory); servers that
# answer outside RFC 7692 (one line, exit 1); bench's wire bytes, deflate
# row and zlib memory per connection.
. "$(dirname "$0")/lib.sh"
PEER=$EVCAT_SRC/tests/integration/deflate_peer.py

# jq-like: the value of a Python expression over the JSON in file $1 (j).
jget() {
    $PY -c 'import json,sys; j=json.load(open(sys.argv[1])); v=eval(sys.argv[2])
print(" ".join(map(str, v)) if isinstance(v, tuple) else v)' "$@"
}

SPORT=$(free_port)
bg "$EVCAT" serve --listen "127.0.0.1:$SPORT" --tick 0 -v 2>"$TMP/serve.err"
wait_port "$SPORT"
S=ws://127.0.0.1:$SPORT
NPORT=$(free_port)
bg "$EVCAT" serve --listen "127.0.0.1:$NPORT" --tick 0 --no-compress 2>/dev/null
wait_port "$NPORT"

# --- evcat against evcat serve ---
out=$("$EVCAT" send --compress -v -o raw -n 3 "$S/echo" one "twö" three 2>"$TMP/err"); rc=$?
expect_eq "send --compress: echoes intact, exit 0" $'one\ntwö\nthree/0' "$out/$rc"
check "the offer: permessage-deflate with client_max_window_bits" \
    grep -q '^> Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits$' "$TMP/err"
check "-v shows what was agreed (serve keeps contexts within 4 KiB windows)" \
    grep -q '^permessage-deflate: server_max_window_bits=12; client_max_window_bits=12$' "$TMP/err"
check "serve -v shows it too" \
    grep -q 'permessage-deflate: server_max_window_bits=12; client_max_window_bits=12' "$TMP/serve.err"
"$EVCAT" send -v -n 1 "$S/echo" plain >/dev/null 2>"$TMP/err"
check "without --compress nothing is offered" bash -c "! grep -q 'Sec-WebSocket-Extensions' '$TMP/err'"
big=$($PY -c 'print("{\"k\":\"value\",\"n\":12345}" * 40000)')
out=$(printf '%s\n' "$big" | "$EVCAT" send --compress -o raw -n 1 "$S/echo" - 2>/dev/null | wc -c)
expect_eq "a 920 KB message there and back compressed" $((${#big} + 1)) "$out"
head -c 300000 /dev/urandom | base64 -w0 >"$TMP/b64"
want=$(base64 -w0 <"$TMP/b64" | sha256sum)
got=$( (cat "$TMP/b64"; echo) | "$EVCAT" send --compress --binary -o raw -n 1 "$S/echo" - 2>/dev/null |
    tr -d '\n' | sha256sum)
expect_eq "incompressible binary there and back" "$want" "$got"
"$EVCAT" send --compress -n 1 --record "$TMP/rec.jsonl" "$S/echo" recorded >/dev/null 2>&1
check "--record keeps messages as sent and received, inflated" \
    bash -c "grep -c '\"data\":\"recorded\"' '$TMP/rec.jsonl' | grep -qx 2"
cat >"$TMP/conv.jsonl" <<REC
{"evcat_recording":1,"url":"$S/echo","proto":"ws","started":"2026-12-06T14:52:41.731931Z"}
{"ts":"2026-12-06T14:52:41.733886Z","proto":"ws","dir":"out","type":"text","data":"compress me, compress me","t":0}
{"ts":"2026-12-06T14:52:41.734018Z","proto":"ws","dir":"in","type":"text","data":"compress me, compress me","t":0.001}
{"ts":"2026-12-06T14:52:42.234023Z","proto":"ws","dir":"out","type":"close","code":1000,"reason":"","t":0.3}
REC
expect_rc "replay --compress --expect: the echo as recorded" 0 "$EVCAT" replay --compress -v --expect \
    "$TMP/conv.jsonl"
check "replay offered it too" grep -q '^permessage-deflate: ' "$TMP/rc.err"
out=$("$EVCAT" send --compress -v -o raw -n 1 "ws://127.0.0.1:$NPORT/echo" declined 2>"$TMP/err"); rc=$?
expect_eq "serve --no-compress: uncompressed, fine" "declined/0" "$out/$rc"
check "-v says the server declined" grep -q 'the server declined permessage-deflate' "$TMP/err"
expect_usage "listen --compress with an SSE URL" listen --compress "http://127.0.0.1:$SPORT/sse"
expect_usage "bench --compress with an SSE URL" bench --compress -c 1 "http://127.0.0.1:$SPORT/sse"
expect_usage "replay --serve takes no --compress" replay --serve --compress "$TMP/rec.jsonl"

# --- python3-websockets as a client of evcat serve ---
out=$($PY "$PEER" client "$S/echo" 2>&1)
expect_match "python client, its default offer: contexts kept, windows narrowed to 12" \
    'remote_no_context_takeover=False, local_no_context_takeover=False, remote_max_window_bits=12, local_max_window_bits=12.*echoed 5' \
    "$(echo $out)"
out=$($PY "$PEER" client "$S/echo" no-takeover 2>&1)
expect_match "python client asking for no context takeover: granted both ways" \
    'remote_no_context_takeover=True, local_no_context_takeover=True, remote_max_window_bits=15.*echoed 5' \
    "$(echo $out)"
out=$($PY "$PEER" client "ws://127.0.0.1:$NPORT/echo" 2>&1)
expect_match "python client against serve --no-compress: nothing agreed" 'agreed \[\].*echoed 5' \
    "$(echo $out)"
# The channel to both kinds at once: one shared compressed frame, and one
# compressed per connection through its own context.
$PY "$PEER" client "$S/ws" >"$TMP/sub1" 2>&1 &
s1=$!
$PY "$PEER" client "$S/ws" no-takeover >"$TMP/sub2" 2>&1 &
s2=$!
wait_until 10 bash -c "grep -q agreed '$TMP/sub1' && grep -q agreed '$TMP/sub2'"
for m in first 'second, the same again and again and again'; do
    curl -s -o /dev/null --data-binary "$m" "http://127.0.0.1:$SPORT/publish"
done
wait $s1 $s2
expect_eq "/ws subscriber keeping contexts gets the channel" \
    $'got first\ngot second, the same again and again and again' "$(grep '^got' "$TMP/sub1")"
expect_eq "/ws subscriber without context takeover gets it too" \
    $'got first\ngot second, the same again and again and again' "$(grep '^got' "$TMP/sub2")"

# --- python3-websockets as a server ---
PPORT=$(free_port)
bg $PY "$PEER" server "$PPORT"
QPORT=$(free_port)
bg $PY "$PEER" server "$QPORT" narrow
wait_port "$PPORT"
wait_port "$QPORT"
out=$("$EVCAT" listen --compress -v -o raw "ws://127.0.0.1:$PPORT/info" 2>"$TMP/err")
expect_match "python server agreed (its default: windows of 12)" \
    'remote_max_window_bits=12, local_max_window_bits=12' "$out"
check "-v: what python answered" \
    grep -q '^permessage-deflate: server_max_window_bits=12; client_max_window_bits=12$' "$TMP/err"
out=$(printf 'a\n%s\nc\n' "$big" | "$EVCAT" ws --compress -o raw "ws://127.0.0.1:$PPORT/echo" 2>/dev/null |
    wc -c)
expect_eq "ws --compress through python's echo, a large message among small" $((${#big} + 5)) "$out"
out=$("$EVCAT" listen --compress -o raw "ws://127.0.0.1:$PPORT/big" 2>/dev/null | wc -c)
expect_eq "a 200 KB message from python, inflated" 200101 "$out"
out=$("$EVCAT" send --compress -v -o raw -n 3 "ws://127.0.0.1:$QPORT/echo" x yy zzz 2>"$TMP/err"); rc=$?
expect_eq "python forcing no context takeover and window 10: honoured" $'x\nyy\nzzz/0' "$out/$rc"
check "-v: the parameters python forced" grep -q \
    '^permessage-deflate: server_no_context_takeover; server_max_window_bits=10; client_no_context_takeover; client_max_window_bits=15$' \
    "$TMP/err"

# --- Node's ws, both ways ---
WPORT=$(free_port)
bg node -e '
const { WebSocketServer } = require("ws");
const wss = new WebSocketServer({ host: "127.0.0.1", port: Number(process.argv[1]),
                                  perMessageDeflate: { threshold: 0 } });
wss.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.send("extensions: " + ws.extensions);
});' "$WPORT"
wait_port "$WPORT"
out=$("$EVCAT" send --compress -o raw -n 3 "ws://127.0.0.1:$WPORT/" "to node" "to node again" 2>/dev/null)
rc=$?
expect_eq "Node ws server: deflate agreed, echoes intact" \
    $'extensions: permessage-deflate\nto node\nto node again/0' "$out/$rc"
cat >"$TMP/node_client.js" <<'JS'
const WebSocket = require("ws");
const opts = process.argv[3] === "no-takeover"
  ? { threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true }
  : { threshold: 0 };
const ws = new WebSocket(process.argv[2], { perMessageDeflate: opts });
ws.on("upgrade", (res) => console.log("answer: " + res.headers["sec-websocket-extensions"]));
const msgs = ["hello", "héllo ".repeat(3000), Buffer.from("binary ".repeat(500))];
let i = 0;
ws.on("open", () => { console.log("extensions: " + ws.extensions); ws.send(msgs[0]); });
ws.on("message", (data, isBinary) => {
  const want = msgs[i];
  const same = isBinary ? Buffer.compare(data, want) === 0 : data.toString() === want;
  if (!same) { console.log("MISMATCH " + i); process.exit(1); }
  if (++i === msgs.length) { console.log("echoed " + i); ws.close(1000); return; }
  ws.send(msgs[i]);
});
ws.on("error", (e) => { console.log("error " + e.message); process.exit(1); });
JS
out=$(timeout 20 node "$TMP/node_client.js" "$S/echo" 2>&1)
expect_eq "Node ws client to serve: what was agreed, echoes intact" \
    $'answer: permessage-deflate; server_max_window_bits=12; client_max_window_bits=12\nextensions: permessage-deflate\necho'"ed 3" "$out"
out=$(timeout 20 node "$TMP/node_client.js" "$S/echo" no-takeover 2>&1)
expect_eq "Node ws client without context takeover" \
    $'answer: permessage-deflate; server_no_context_takeover; client_no_context_takeover\nextensions: permessage-deflate\necho'"ed 3" "$out"

# --- a decompression bomb, and answers outside RFC 7692 ---
RPORT=$(free_port)
bg $PY "$PEER" raw "$RPORT" 2>"$TMP/raw.err"
wait_port "$RPORT"
R=ws://127.0.0.1:$RPORT
"$EVCAT" listen --compress --max-message 64k "$R/bomb" >/dev/null 2>"$TMP/err"; rc=$?
expect_eq "bomb: exit 1" 1 "$rc"
check "bomb: named, closed with 1009" \
    grep -q 'message larger than --max-message (65536 bytes) once inflated (closed with 1009)' "$TMP/err"
wait_until 5 grep -q '^/bomb closed 1009$' "$TMP/raw.err"
check "bomb: the server got 1009" grep -q '^/bomb closed 1009$' "$TMP/raw.err"
if ! under_valgrind; then
    kib=$(max_rss_kib "$EVCAT" listen --compress --max-message 1M "$R/bomb")
    check_rss "bomb of 64 MiB against --max-message 1M: never held in full" "$kib" 40000
fi
"$EVCAT" bench -q --compress --mode subscribe -c 3 -d 3s --json "$TMP/bomb.json" "$R/bomb" >/dev/null 2>&1
expect_eq "bench: each connection's bomb is a too_big error" 3 "$(jget "$TMP/bomb.json" 'j["errors"].get("too_big", 0)')"
bad() { # NAME ANSWER [plain]: the server answers with ANSWER; exit 1, one line
    local name=$1 ext=$2 rc offer=(--compress)
    [ "${3:-}" = plain ] && offer=()
    "$EVCAT" listen "${offer[@]}" -n 1 "$R/answer?ext=$ext" >/dev/null 2>"$TMP/err"; rc=$?
    if [ "$rc" -eq 1 ] && [ "$(grep -c '^evcat: ' "$TMP/err")" -eq 1 ]; then
        pass "answer outside RFC 7692 fails the handshake: $name"
    else
        fail "answer outside RFC 7692 fails the handshake: $name (exit $rc: $(cat "$TMP/err"))"
    fi
}
bad "an extension not offered" x-webkit-deflate-frame
bad "permessage-deflate twice" "permessage-deflate,%20permessage-deflate"
bad "an unknown parameter" "permessage-deflate;%20bogus"
bad "a window of 16" "permessage-deflate;%20client_max_window_bits=16"
bad "a window of 7" "permessage-deflate;%20server_max_window_bits=7"
bad "a value where none may be" "permessage-deflate;%20server_no_context_takeover=1"
bad "permessage-deflate without an offer" permessage-deflate plain
check "the reason names what was wrong" grep -q 'extension "permessage-deflate" that was not offered' "$TMP/err"

# --- bench: wire bytes, the deflate row, zlib per connection ---
"$EVCAT" bench -c 40 -d 1s -r 10 --size 2k --compress --json "$TMP/z.json" "$S/echo" >"$TMP/z.out" 2>&1
expect_eq "bench --compress: every connection agreed" 40 "$(jget "$TMP/z.json" 'j["deflate"]["connections"]')"
# (the summary counts what was sent and received during the measurement:
# echoes still on their way at its end are missing, and echoes of messages
# sent during a slow ramp (valgrind, a loaded machine) arrive inside it, so
# received is within a fifth of sent either way, not equal)
expect_eq "bench --compress: no errors, the echoes back" "0 True" \
    "$(jget "$TMP/z.json" 'j["errors_total"], abs(j["messages"]["received"] - j["messages"]["sent"]) <= j["messages"]["sent"] * 0.2')"
expect_eq "bench --compress: far fewer bytes on the wire than payload" "True True" \
    "$(jget "$TMP/z.json" 'j["wire"]["sent"] * 3 < j["wire"]["payload_sent"], j["wire"]["received"] * 3 < j["wire"]["payload_received"]')"
check "summary: the wire and deflate rows" \
    bash -c "grep -qE '^  wire +sent .* of payload' '$TMP/z.out' && grep -qE '^  deflate +40/40 connections, zlib peak' '$TMP/z.out'"
"$EVCAT" bench -c 200 -t 1 -d 1s -r 1 --compress --json "$TMP/z1.json" "$S/echo" >/dev/null 2>&1
expect_eq "no context takeover: zlib shared per thread, at most 2 KiB per connection" True \
    "$(jget "$TMP/z1.json" '0 < j["deflate"]["zlib_bytes_per_connection"] <= 2048')"
"$EVCAT" bench -c 20 -t 1 -d 1s -r 10 --compress-takeover --json "$TMP/zt.json" "$S/echo" >/dev/null 2>&1
expect_eq "--compress-takeover: each connection its own zlib state (windows of 12: ~50 KB)" \
    "True 20" "$(jget "$TMP/zt.json" '40000 < j["deflate"]["zlib_bytes_per_connection"] < 70000, j["deflate"]["connections"]')"
"$EVCAT" bench -c 10 -d 1s --compress --json "$TMP/two.json" "$S/echo" \
    "ws://127.0.0.1:$NPORT/echo" >"$TMP/two.out" 2>&1
expect_eq "two URLs, compression on and off side by side" "10 0" \
    "$(jget "$TMP/two.json" 'j[0]["deflate"]["connections"], j[1]["deflate"]["connections"]')"
check "the one that declined is named" grep -q "the server declined permessage-deflate" "$TMP/two.out"
"$EVCAT" bench -c 10 -d 1s --json "$TMP/off.json" "$S/echo" >/dev/null 2>&1
expect_eq "without --compress: nothing agreed, more wire than payload" "0 True" \
    "$(jget "$TMP/off.json" 'j["deflate"]["connections"], j["wire"]["sent"] > j["wire"]["payload_sent"]')"
"$EVCAT" bench -c 5 -d 1s -r 5 --compress --json "$TMP/py.json" "ws://127.0.0.1:$PPORT/echo" >/dev/null 2>&1
expect_eq "bench --compress against python: agreed, no errors" "5 0" \
    "$(jget "$TMP/py.json" 'j["deflate"]["connections"], j["errors_total"]')"
"$EVCAT" bench -c 5 -d 1s -r 5 --compress --json "$TMP/node.json" "ws://127.0.0.1:$WPORT/" >/dev/null 2>&1
expect_eq "bench --compress against Node ws: agreed, no errors" "5 0" \
    "$(jget "$TMP/node.json" 'j["deflate"]["connections"], j["errors_total"]')"

check "nothing went wrong inside the raw server" bash -c "! grep -q Traceback '$TMP/raw.err'"
finish
