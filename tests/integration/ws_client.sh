#!/usr/bin/env bash
# evcat's WebSocket client (listen ws://, send, ws) against a raw scripted
# server that writes frames by hand: the Autobahn categories that apply to a
# client (framing and lengths, ping/pong, reserved bits and opcodes,
# fragmentation, UTF-8, close handling), handshake failures, limits, and the
# commands' options and exit codes.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
SLOG=$TMP/server.log
bg $PY "$EVCAT_SRC/tests/integration/ws_script_server.py" "$PORT" 2>"$SLOG"
wait_port "$PORT"
U=ws://127.0.0.1:$PORT

# closed_with PATH: the close code the server saw from evcat for PATH.
closed_with() {
    local i
    for i in $(seq 50); do
        grep -q "client closed /$1 " "$SLOG" && break
        sleep 0.05
    done
    grep "client closed /$1 " "$SLOG" | tail -1 | awk '{print $NF}'
}


# --- framing and lengths ---
for n in 0 125 126 65535 65536; do
    out=$("$EVCAT" listen -o raw "$U/len/$n" 2>/dev/null); rc=$?
    expect_eq "a $n-byte text message arrives whole (exit 0 on close 1000)" "$n/0" "${#out}/$rc"
done
out=$("$EVCAT" listen -o raw "$U/binary" 2>/dev/null)
expect_eq "binary in raw output is base64" "$($PY -c 'import base64; print(base64.b64encode(bytes(range(256))*4).decode())')" "$out"
out=$("$EVCAT" listen -o json "$U/binary" 2>/dev/null | head -1)
expect_match "binary in json has data_b64" '"dir":"in","type":"binary","data_b64":"AAECAwQF' "$out"

# --- ping/pong ---
expect_eq "a 125-byte ping is answered with the same payload" "pong ok" "$("$EVCAT" listen -o raw "$U/ping125" 2>/dev/null)"
out=$("$EVCAT" listen -o json "$U/unsolicited-pong" 2>/dev/null | $PY -c 'import json,sys; print(" ".join(json.loads(l)["type"] for l in sys.stdin))')
expect_eq "an unsolicited pong is shown, not an error" "pong text close" "$out"
out=$("$EVCAT" listen -o raw "$U/frag-ping" 2>/dev/null); rc=$?
expect_eq "fragments with a ping in between: one message, ping answered" $'Hello world\npong:mid/0' "$out/$rc"

# --- protocol violations: close 1002 and exit 1 ---
for case in rsv opcode orphan frag-control masked close-bad-code; do
    "$EVCAT" listen "$U/$case" >/dev/null 2>"$TMP/err"; rc=$?
    expect_eq "$case: exit 1, closed with 1002" "1/1002" "$rc/$(closed_with $case)"
    check "$case: one error line, naming the violation" \
        bash -c "[ \$(grep -c '^evcat: ' '$TMP/err') -eq 1 ] && grep -q 'closed with 1002' '$TMP/err'"
done

# --- UTF-8 ---
expect_eq "valid UTF-8 split across fragments" "café €" "$("$EVCAT" listen -o raw "$U/utf8-split" 2>/dev/null)"
for case in utf8-bad utf8-split-bad; do
    "$EVCAT" listen --record "$TMP/$case.jsonl" "$U/$case" >/dev/null 2>"$TMP/err"; rc=$?
    expect_eq "$case: exit 1, closed with 1007" "1/1007" "$rc/$(closed_with $case)"
    check "$case: explained" grep -qi "utf-8" "$TMP/err"
    check "$case: our close 1007 is in the recording, like every close we send" \
        grep -q '"dir":"out","type":"close","code":1007' "$TMP/$case.jsonl"
done

# --- limits ---
"$EVCAT" listen "$U/big" >/dev/null 2>"$TMP/err"; rc=$?
expect_eq "an absurd announced length: exit 1, closed with 1009" "1/1009" "$rc/$(closed_with big)"
rss=$(max_rss_kib "$EVCAT" listen "$U/big")
check_rss "and nothing of it was allocated" "$rss" 65536
"$EVCAT" listen --max-message 1M "$U/nofin" >/dev/null 2>"$TMP/err"; rc=$?
expect_eq "a message that never ends: exit 1 at --max-message" 1 "$rc"
check "the limit is named" grep -q "max-message" "$TMP/err"

# --- close handling ---
for spec in "1000/0" "1001/0" "1012/1" "4000/1"; do
    code=${spec%/*}
    "$EVCAT" listen -o json "$U/close/$code/bye" >"$TMP/out" 2>"$TMP/err"; rc=$?
    expect_eq "server closes with $code: exit ${spec#*/}" "${spec#*/}" "$rc"
    check "close $code shown with its code and reason" grep -q "\"type\":\"close\",\"code\":$code,\"reason\":\"bye\"" "$TMP/out"
done
"$EVCAT" listen "$U/close/1012/x" >/dev/null 2>"$TMP/err"
check "1012 is shown with its name on stderr" grep -q "closed by the server with 1012 (service restart): x" "$TMP/err"
"$EVCAT" listen -o pretty "$U/close/4001/x%1B%5B2J%0Dy" >"$TMP/out" 2>"$TMP/err"
check "a close reason's control characters do not reach the terminal (stderr)" \
    bash -c "grep -q '4001 (private use): x?\[2J?y\$' '$TMP/err' && ! grep -q \$'\x1b' '$TMP/err'"
check "  nor stdout (pretty shows them as ^X)" bash -c "! grep -q \$'\x1b' '$TMP/out'"
expect_rc "a close without a code (1005) is a normal end" 0 "$EVCAT" listen "$U/close-empty"
out=$("$EVCAT" listen -o json "$U/close-123" 2>/dev/null | $PY -c 'import json,sys; print(len(json.loads(sys.stdin.readline())["reason"]))')
expect_eq "a 123-byte close reason arrives whole" 123 "$out"
out=$("$EVCAT" listen -o raw "$U/no-close" 2>"$TMP/err"); rc=$?
expect_eq "end of stream without a close: what arrived is kept, exit 1" "then gone/1" "$out/$rc"
out=$("$EVCAT" listen -o raw "$U/reset" 2>/dev/null); rc=$?
expect_eq "a reset mid-frame: exit 1" "whole/1" "$out/$rc"

# --- handshake ---
"$EVCAT" listen "$U/bad-accept" >/dev/null 2>"$TMP/err"; rc=$?
expect_eq "a wrong Sec-WebSocket-Accept: exit 1" 1 "$rc"
check "named" grep -qi "accept" "$TMP/err"
"$EVCAT" listen "$U/status/403" >/dev/null 2>"$TMP/err"; rc=$?
expect_eq "a 403 instead of 101: exit 1" 1 "$rc"
check "the status is named" grep -q "403" "$TMP/err"
"$EVCAT" listen "$U/nothing-here" >/dev/null 2>"$TMP/err"; rc=$?
expect_eq "a 404: exit 1" "1" "$rc"
"$EVCAT" listen --connect-timeout 5s "$U/head-forever" >/dev/null 2>"$TMP/err"; rc=$?
expect_eq "a response head that never ends: exit 1" 1 "$rc"
expect_eq "frames in the same packet as the 101 are not lost" "in the same packet" \
    "$("$EVCAT" listen -o raw "$U/with-101" 2>/dev/null)"
out=$("$EVCAT" listen -o raw --subprotocol chat --subprotocol superchat "$U/proto" 2>/dev/null)
expect_eq "subprotocols offered in order, the chosen one accepted" "protocol chat offered chat, superchat" "$out"
expect_rc "a subprotocol that was not offered: exit 1" 1 "$EVCAT" listen --subprotocol chat "$U/proto/bogus"
expect_rc "an extension that was not offered: exit 1" 1 "$EVCAT" listen "$U/ext"
"$EVCAT" listen -o raw -v --origin http://example.test -H 'X-Custom: 1' --bearer t0ken "$U/headers" >"$TMP/out" 2>"$TMP/err"
expect_eq "Origin, -H, --bearer, version 13, no extension offered" \
    "origin=http://example.test|authorization=Bearer t0ken|x-custom=1|sec-websocket-version=13|sec-websocket-extensions=-" \
    "$(paste -sd'|' "$TMP/out")"
check "-v shows the handshake" bash -c "grep -q '^> GET /headers HTTP/1.1' '$TMP/err' && grep -q '^< HTTP/1.1 101' '$TMP/err'"
check "-v redacts the bearer token" bash -c "! grep -q t0ken '$TMP/err'"
out=$("$EVCAT" listen -o raw -v -u alice:s3cret "$U/headers" 2>"$TMP/err" | sed -n 2p)
expect_eq "-u sends basic auth in the handshake" "authorization=Basic $(printf alice:s3cret | base64)" "$out"
check "-v redacts it" bash -c "! grep -q -e s3cret -e '$(printf alice:s3cret | base64)' '$TMP/err'"
# Credentials in the URL: Basic, as curl and wscat send them (decoded: %40
# is '@'); -u wins over them; never on -v or in an error line.
UC=ws://bob:p%40ss@127.0.0.1:$PORT
out=$("$EVCAT" listen -o raw -v "$UC/headers" 2>"$TMP/err" | sed -n 2p)
expect_eq "a URL's user:password is sent as Basic" "authorization=Basic $(printf bob:p@ss | base64)" "$out"
check "  -v shows neither" bash -c "! grep -q -e 'p%40ss' -e 'p@ss' -e '$(printf bob:p@ss | base64)' '$TMP/err'"
out=$("$EVCAT" listen -o raw -u alice:s3cret "$UC/headers" 2>/dev/null | sed -n 2p)
expect_eq "  -u comes first" "authorization=Basic $(printf alice:s3cret | base64)" "$out"
out=$("$EVCAT" listen -o raw "ws://carol@127.0.0.1:$PORT/headers" 2>/dev/null | sed -n 2p)
expect_eq "  a user alone is \"user:\"" "authorization=Basic $(printf carol: | base64)" "$out"
# bench: the URL's credentials on both SSE drivers and on WebSocket.
B64=$(printf bob:p@ss | base64)
for u in "ws://bob:p%40ss@127.0.0.1:$PORT/auth/$B64 --mode subscribe" \
    "http://bob:p%40ss@127.0.0.1:$PORT/auth/$B64" "http://bob:p%40ss@127.0.0.1:$PORT/auth/$B64 --sse-driver curl"; do
    # shellcheck disable=SC2086 # the options after the URL split on purpose
    "$EVCAT" bench -q -c 3 -d 300ms --json "$TMP/auth.json" $u >/dev/null 2>&1
    expect_eq "bench ${u%% *} ${u#* }: the URL's credentials are sent" 3 "$(jv "$TMP/auth.json" connections.established)"
done
expect_rc "bench: without them, 401: exit 1" 1 "$EVCAT" bench -q -c 2 -d 300ms "http://127.0.0.1:$PORT/auth/$B64"
# echo against an endpoint that answers, but not with the stamps: said.
"$EVCAT" bench -c 2 -r 20 -d 500ms "$U/subscribe" >/dev/null 2>"$TMP/err"
grep -q "none of the [0-9]* messages sent came back with its stamp (is it an echo endpoint?)" "$TMP/err" &&
    pass "bench echo: no stamped echo is said" || fail "bench echo: no stamped echo is said: $(cat "$TMP/err")"
"$EVCAT" send "ws://bob:hunter2@127.0.0.1:$PORT:99999/" x >/dev/null 2>"$TMP/err"
expect_eq "  a bad port: exit 2" 2 "$?"
check "  the error line masks the password" bash -c "grep -q 'bob:\*\*\*@' '$TMP/err' && ! grep -q hunter2 '$TMP/err'"
dead=$(free_port)
expect_rc "nothing listening: exit 1" 1 "$EVCAT" listen "ws://127.0.0.1:$dead/"

# --- commands: on-open, count, timeout, send, ws pipe ---
out=$("$EVCAT" listen -o raw --on-open 'sub:a' --on-open 'sub:b' -n 2 "$U/subscribe" 2>/dev/null); rc=$?
expect_eq "--on-open messages are sent after the handshake; -n 2" $'ack: sub:a\nack: sub:b/0' "$out/$rc"
out=$("$EVCAT" listen -o raw -n 3 "$U/drip" 2>/dev/null); rc=$?
expect_eq "-n 3" $'msg 1\nmsg 2\nmsg 3/0' "$out/$rc"
expect_rc "--timeout before --count: exit 4" 4 "$EVCAT" listen -n 1000 --timeout 300ms "$U/drip"
expect_rc "--timeout without --count: exit 0" 0 "$EVCAT" listen --timeout 300ms "$U/drip"
"$EVCAT" listen --ping-interval 300ms "$U/silent" >/dev/null 2>"$TMP/err"; rc=$?
expect_eq "a peer that never answers pings is dead: exit 1" 1 "$rc"
check "and named" grep -q "no pong" "$TMP/err"
out=$("$EVCAT" send -o raw -n 2 "$U/subscribe" hello world 2>/dev/null); rc=$?
expect_eq "send MSG...: -n waits for the replies" $'ack: hello\nack: world/0' "$out/$rc"
out=$("$EVCAT" send -o raw "$U/subscribe" a b c d e 2>/dev/null); rc=$?
expect_eq "send without -n: no replies printed, whatever arrived before the close" "/0" "$out/$rc"
out=$("$EVCAT" send -o json --parse-json -n 1 "$U/subscribe" '{"n": [1, 2]}' 2>/dev/null | grep '"dir":"in","type":"text"')
expect_match "send -o json --parse-json: an incoming text that is not JSON: data, no json" '"data":"ack: \{\\"n\\": \[1, 2\]\}"\}$' "$out"
out=$("$EVCAT" send -o json --parse-json -n 1 "$U/subscribe" '{"n": [1, 2]}' 2>/dev/null | grep '"dir":"out"')
expect_match "send -o json --parse-json: an outgoing JSON text as a value" ',"json":\{"n":\[1,2\]\}\}$' "$out"
out=$(printf 'one\ntwo\r\nthree' | "$EVCAT" send -o raw -n 3 "$U/subscribe" - 2>/dev/null); rc=$?
expect_eq "send -: lines of stdin (CRLF and a last line without newline)" $'ack: one\nack: two\nack: three/0' "$out/$rc"
out=$("$EVCAT" send --binary -o json -n 1 "$U/subscribe" hi 2>/dev/null | grep '"dir":"in"')
expect_match "send --binary sends binary frames" '"type":"binary","data_b64":"YWNrOiBoaQ=="' "$out"
out=$(printf 'a\nb\n' | "$EVCAT" ws -o raw "$U/subscribe" 2>/dev/null); rc=$?
expect_eq "ws in a pipe: lines out, messages in, clean close at EOF" $'ack: a\nack: b/0' "$out/$rc"
"$EVCAT" listen -o raw "$U/drip" >"$TMP/int.out" 2>/dev/null &
pid=$!
wait_until 10 bash -c "[ \$(wc -l <'$TMP/int.out') -ge 3 ]"
kill -INT $pid
wait $pid; rc=$?
expect_eq "SIGINT: exit 130" 130 "$rc"
check "SIGINT: what arrived is on stdout" test "$(wc -l <"$TMP/int.out")" -ge 3

start=$(date +%s%N)
out=$("$EVCAT" listen -o raw --reconnect -n 2 "$U/close/1000/bye" 2>"$TMP/err"); rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
expect_eq "--reconnect: a new connection after the server's close" $'before close\nbefore close/0' "$out/$rc"
check "the reconnect waits about a second (${ms} ms) and says so" \
    bash -c "[ $ms -ge 900 ] && [ $ms -lt $(slow 4000) ] && grep -q 'reconnecting in' '$TMP/err'"
# --max-retries 2: three connections (each closed by the server), then
# "giving up" and exit 1.
out=$("$EVCAT" listen -o raw --reconnect --max-retries 2 "$U/close/1000/bye" 2>"$TMP/err"); rc=$?
expect_eq "--reconnect --max-retries 2: three connections, then exit 1" \
    $'before close\nbefore close\nbefore close/1' "$out/$rc"
expect_match "  and one line saying it gave up" \
    "evcat: [^"$'\n'"]*giving up after 2 reconnection attempts$" "$(cat "$TMP/err")"
# (standard input held open: its end would be our own close, exit 0)
out=$("$EVCAT" ws --reconnect --max-retries 0 "$U/close/1000/bye" < <(sleep 5) 2>"$TMP/err"); rc=$?
expect_eq "ws --reconnect --max-retries 0: no reconnection, exit 1" "1" "$rc"
if $PY -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
    V6=$(free_port)
    bg "$EVCAT" serve -q --listen "[::1]:$V6" --tick 0
    for i in $(seq 50); do (exec 3<>"/dev/tcp/::1/$V6") 2>/dev/null && break; sleep 0.1; done
    out=$("$EVCAT" send -o raw -n 1 "ws://[::1]:$V6/echo" over-v6 2>/dev/null)
    expect_eq "an IPv6 literal URL (ws://[::1]:port)" "over-v6" "$out"
fi

# --- usage errors: one line, exit 2 ---
expect_usage "send to an http URL says SSE is server-to-client" send http://127.0.0.1:1/ hi
check "  ... and says so" grep -q "server-to-client" "$TMP/err"
expect_usage "send without a message" send "$U/subscribe"
expect_usage "ws with a message" ws "$U/subscribe" hello
expect_usage "ws --max-retries without --reconnect" ws --max-retries 2 "$U/subscribe"
expect_usage "send --max-retries without --reconnect" send --max-retries 2 "$U/subscribe" hi
expect_usage "listen ws:// --max-retries without --reconnect" listen --max-retries 2 "$U/subscribe"
expect_usage "listen --max-retries with --no-reconnect" listen --no-reconnect --max-retries 2 http://127.0.0.1:1/
expect_usage "--max-retries not a number" ws --reconnect --max-retries two "$U/subscribe"
expect_usage "an SSE option with ws://" listen --event x "$U/drip"
expect_usage "a WebSocket option with http://" listen --subprotocol x http://127.0.0.1:1/
expect_usage "bad --ping-interval" listen --ping-interval never "$U/drip"
expect_usage "bad --max-message" listen --max-message 1Q "$U/drip"
expect_usage "bad ws URL" listen 'ws://[::1'
expect_usage "a ws URL without host" send ws:// hi
# -x that is no proxy URL: a usage error on every path, naming the problem
# without the value (it may hold a password); libcurl's own words quoting a
# proxy URL have its password masked.
for c in "send -n 1 $U/echo hi" "listen -n 1 http://127.0.0.1:1/sse"; do
    # shellcheck disable=SC2086 # a command line on purpose
    expect_usage "${c%% *}: -x with a bad port" ${c%% *} -x 'http://u:PXSECRET@127.0.0.1:99999' ${c#* }
    check "  the password is not shown" bash -c "! grep -q PXSECRET '$TMP/err'"
done
expect_usage "-x with an unknown scheme" listen -x 'ftp://u:PXSECRET@h:1' http://127.0.0.1:1/sse
http_proxy='http://u:PXSECRET@[bad' "$EVCAT" listen -n 1 http://127.0.0.1:1/sse >/dev/null 2>"$TMP/err"
expect_eq "a bad http_proxy: exit 1" 1 "$?"
check "  libcurl's words about it mask the password" bash -c "grep -q 'u:\*\*\*@' '$TMP/err' && ! grep -q PXSECRET '$TMP/err'"

finish
