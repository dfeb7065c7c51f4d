#!/usr/bin/env bash
# evcat serve, the SSE side, driven from outside: curl for streams and
# publishes, sse_peer.py (raw sockets) for what curl cannot do.
. "$(dirname "$0")/lib.sh"

PEER=("$PY" "$(dirname "$0")/sse_peer.py")
hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
# events_of FILE: the events of a captured stream, one JSON object a line
events_of() { "${PEER[@]}" parse "$1"; }
# json_field JSON_LINES FIELD INDEX: one field of one event (-1: the last)
json_field() {
    printf '%s\n' "$1" | $PY -c 'import json,sys; ev=[json.loads(l) for l in sys.stdin if l.strip()]; print(ev[int(sys.argv[2])][sys.argv[1]] if ev else "")' "$2" "$3"
}

# ---------------------------------------------------------------- usage
out=$("$EVCAT" serve --help 2>/dev/null)
expect_eq "--help exits 0" 0 "$?"
expect_match "--help prints usage on stdout" "^Usage: evcat serve" "$out"
out=$("$EVCAT" help serve 2>/dev/null)
expect_match "evcat help serve" "--max-queue" "$out"

bad_args=("--bogus" "-x" "--tick abc" "--tick" "--listen nonsense" "--listen 127.0.0.1:99999"
    "--listen ::1:80" "--retry -1" "--history many" "--max-message 0" "--max-queue 1"
    "--max-connections 0" "--header-timeout 0" "--tls only-cert" "unexpected-operand"
    "--tls $TMP/missing.pem $TMP/missing.key")
for a in "${bad_args[@]}"; do
    # shellcheck disable=SC2086
    err=$("$EVCAT" serve $a 2>&1 >/dev/null)
    rc=$?
    expect_eq "serve $a: exit 2" 2 "$rc"
    expect_match "serve $a: one line naming the problem" "^evcat: serve: [^"$'\n'"]+$" "$err"
done

# ---------------------------------------------------------------- S1: ticks
start_serve --tick 200ms --retry 1500 -v 2>"$TMP/s1.err"
S1_PORT=$SERVE_PORT S1_URL=$SERVE_URL S1_PID=$SERVE_PID

wait_until 2 grep -q "serving SSE on http://127.0.0.1:$S1_PORT/sse" "$TMP/s1.err"
expect_match "listening line" "\* serving SSE on http://127.0.0.1:$S1_PORT/sse \(publish: POST http://127.0.0.1:$S1_PORT/publish\)" "$(cat "$TMP/s1.err")"

# Port in use: exit 1 naming the address.
err=$("$EVCAT" serve --listen "127.0.0.1:$S1_PORT" 2>&1)
rc=$?
expect_eq "port in use: exit 1" 1 "$rc"
expect_match "port in use: names the address" "^evcat: serve: cannot listen on 127.0.0.1:$S1_PORT: Address already in use$" "$err"

first=$(curl -sN --max-time 1 "$S1_URL/sse" | head -n 1)
expect_eq "retry line comes first" "retry: 1500" "$first"

curl -s -D "$TMP/h1" -o /dev/null --max-time 0.5 "$S1_URL/sse"
h=$(tr -d '\r' <"$TMP/h1")
expect_match "200 OK" "^HTTP/1.1 200 OK" "$h"
expect_match "Content-Type: text/event-stream" $'\n''Content-Type: text/event-stream'$'\n' "$h"
expect_match "Cache-Control: no-cache" $'\n''Cache-Control: no-cache'$'\n' "$h"
expect_match "CORS header on the stream" $'\n''Access-Control-Allow-Origin: \*'$'\n' "$h"
check "no Content-Length on the stream" bash -c "! grep -qi '^content-length' '$TMP/h1'"

ticks=$("${PEER[@]}" events "$S1_PORT" 3)
check "ticks: 3 tick events with consecutive ids and seq, ts_ns near now" $PY -c '
import json, sys, time
ev = [json.loads(l) for l in sys.argv[1].splitlines()]
assert len(ev) == 3, ev
assert all(e["event"] == "tick" for e in ev), ev
d = [json.loads(e["data"]) for e in ev]
assert sorted(d[0]) == ["seq", "ts_ns"], d
ids = [int(e["id"]) for e in ev]
assert ids[1] == ids[0] + 1 and ids[2] == ids[1] + 1, ids
assert d[1]["seq"] == d[0]["seq"] + 1 and d[2]["seq"] == d[1]["seq"] + 1, d
assert all(abs(x["ts_ns"] - time.time_ns()) < 5e9 for x in d), d
gap = (d[2]["ts_ns"] - d[0]["ts_ns"]) / 1e6
assert 300 < gap < 600, gap
' "$ticks"

# ------------------------------------------ S1: errors while a subscriber receives
bg curl -sN --max-time 60 "$S1_URL/sse" -o "$TMP/ticks.out"
SUB_PID=$BG_PID
wait_until 3 grep -qs "event: tick" "$TMP/ticks.out"

code=$(curl -s -o "$TMP/body" -w '%{http_code}' "$S1_URL/nope")
expect_eq "unknown path: 404" 404 "$code"
code=$(curl -s -D "$TMP/h405" -o /dev/null -w '%{http_code}' -X PUT "$S1_URL/sse")
expect_eq "wrong method: 405" 405 "$code"
expect_match "405 carries Allow" "Allow: GET, HEAD, OPTIONS" "$(cat "$TMP/h405")"
code=$(curl -s -o /dev/null -w '%{http_code}' "$S1_URL/publish")
expect_eq "GET /publish: 405" 405 "$code"
r=$("${PEER[@]}" status "$S1_PORT" "$(hex $'GARBAGE\r\n\r\n')")
expect_eq "malformed request line: 400 and close" "400 closed" "$r"
r=$("${PEER[@]}" status "$S1_PORT" "$(hex $'GET /sse HTTP/1.1\r\nHost: t\r\nX-A: a\r\n folded\r\n\r\n')")
expect_eq "obs-fold: 400 and close" "400 closed" "$r"
r=$("${PEER[@]}" status "$S1_PORT" "$(hex $'GET /sse HTTP/1.1\r\n\r\n')")
expect_eq "HTTP/1.1 without Host: 400" "400 closed" "$r"
big=$(head -c 20000 /dev/zero | tr '\0' a)
r=$("${PEER[@]}" status "$S1_PORT" "$(hex $'GET /sse HTTP/1.1\r\nHost: t\r\nX-Big: '"$big"$'\r\n\r\n')")
expect_eq "head over 16 KiB: 431 and close" "431 closed" "$r"
r=$("${PEER[@]}" status "$S1_PORT" "$(hex $'GET /sse HTTP/2.0\r\nHost: t\r\n\r\n')")
expect_eq "HTTP/2.0 request line: 505" "505 closed" "$r"
r=$("${PEER[@]}" status "$S1_PORT" "$(hex $'POST /publish HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n')")
expect_eq "Content-Length with Transfer-Encoding: 400" "400 closed" "$r"
head -c 2000000 /dev/zero | tr '\0' b >"$TMP/big.bin"
code=$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$TMP/big.bin" "$S1_URL/publish")
expect_eq "body over --max-message: 413" 413 "$code"
code=$(printf 'bad \377 utf8' | curl -s -o "$TMP/body" -w '%{http_code}' --data-binary @- "$S1_URL/publish")
expect_eq "non-UTF-8 body: 400" 400 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' -d x "$S1_URL/publish?event=a%0D%0Ab")
expect_eq "event type with CR/LF: 400" 400 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' -d x "$S1_URL/sse")
expect_eq "POST /sse: 405" 405 "$code"

n1=$(grep -c "event: tick" "$TMP/ticks.out")
sleep 0.6
n2=$(grep -c "event: tick" "$TMP/ticks.out")
check "the subscriber kept receiving through every error ($n1 -> $n2 ticks)" test "$n2" -gt "$n1"
check "the subscriber is still connected" kill -0 "$SUB_PID"

# CORS preflight
curl -s -D "$TMP/hopt" -o /dev/null -X OPTIONS -H 'Origin: http://example.com' \
    -H 'Access-Control-Request-Method: POST' -H 'Access-Control-Request-Headers: content-type' \
    "$S1_URL/publish"
h=$(tr -d '\r' <"$TMP/hopt")
expect_match "OPTIONS: 204" "^HTTP/1.1 204" "$h"
expect_match "OPTIONS: allowed methods" "Access-Control-Allow-Methods: POST, OPTIONS" "$h"
expect_match "OPTIONS: allowed headers" "Access-Control-Allow-Headers: content-type" "$h"
expect_match "OPTIONS: any origin" "Access-Control-Allow-Origin: \*" "$h"

check "verbose: one line per request with method, path, status, peer" \
    grep -qE '^127\.0\.0\.1:[0-9]+ PUT /sse 405$' "$TMP/s1.err"

# ---------------------------------------------------------------- S2: publish
start_serve --tick 0 --history 5 2>"$TMP/s2.err"
S2_PORT=$SERVE_PORT S2_URL=$SERVE_URL
bg curl -sN --max-time 60 "$S2_URL/sse" -o "$TMP/sub2.out"
wait_until 3 grep -qs "retry:" "$TMP/sub2.out"

resp=$(curl -s -d hello "$S2_URL/publish?event=greet")
expect_eq "publish answers 202 {\"id\":1}" '{"id":1}' "$resp"
code=$(curl -s -o /dev/null -w '%{http_code}' -d x "$S2_URL/publish")
expect_eq "publish status 202" 202 "$code"
curl -s --data-binary $'line one\nline two\r\nline three\n' "$S2_URL/publish" >/dev/null
printf 'sent in chunks' | curl -s -o "$TMP/body" -H 'Transfer-Encoding: chunked' --data-binary @- "$S2_URL/publish"
expect_eq "chunked publish" '{"id":4}' "$(cat "$TMP/body")"
t=$(head -c 4000 /dev/zero | tr '\0' c | curl -s -o /dev/null -w '%{time_total}' -H 'Expect: 100-continue' --data-binary @- "$S2_URL/publish")
check "Expect: 100-continue answered at once (${t}s)" $PY -c "import sys; sys.exit(float('$t') >= 0.9)"

wait_until 3 grep -qs "sent in chunks" "$TMP/sub2.out"
ev=$(events_of "$TMP/sub2.out")
expect_eq "subscriber: first event's id" 1 "$(json_field "$ev" id 0)"
expect_eq "subscriber: first event's type" greet "$(json_field "$ev" event 0)"
expect_eq "subscriber: first event's data" hello "$(json_field "$ev" data 0)"
expect_eq "subscriber: unnamed event is 'message'" message "$(json_field "$ev" event 1)"
# (as JSON: command substitution would eat the trailing newline)
expect_eq "multi-line data round-trips (CRLF, LF, trailing newline)" \
    '"line one\nline two\nline three\n"' \
    "$(printf '%s\n' "$ev" | sed -n 3p | $PY -c 'import json,sys; print(json.dumps(json.loads(sys.stdin.read())["data"]))')"
check "raw stream: event: omitted for type message" bash -c "grep -B1 -A1 '^data: x$' '$TMP/sub2.out' | grep -q '^id: 2$' && ! grep -B2 '^data: x$' '$TMP/sub2.out' | grep -q '^event:'"
check "raw stream: multi-line data as several data: lines" \
    grep -Pzq 'id: 3\ndata: line one\ndata: line two\ndata: line three\ndata: \n\n' "$TMP/sub2.out"

# Resume. Ids so far: 1 hello, 2 x, 3 lines, 4 chunks, 5 the 100-continue
# one, 6 five; history 5 holds 2..6.
curl -s -d five "$S2_URL/publish" >/dev/null
ev=$("${PEER[@]}" events "$S2_PORT" 4 "Last-Event-ID: 2")
expect_eq "Last-Event-ID 2: replay starts at 3" 3 "$(json_field "$ev" id 0)"
expect_eq "Last-Event-ID 2: ... and goes on to the newest (6)" "6 five" "$(json_field "$ev" id 3) $(json_field "$ev" data 3)"
curl -sN --max-time 0.5 "$S2_URL/sse?lastEventId=5" -o "$TMP/q.out"
ev=$(events_of "$TMP/q.out")
expect_eq "lastEventId query parameter: replays 6 only" "6:five" "$(json_field "$ev" id 0):$(json_field "$ev" data -1)"
curl -sN --max-time 0.5 -H 'Last-Event-ID: nonsense' "$S2_URL/sse" -o "$TMP/u.out"
expect_eq "unknown Last-Event-ID: nothing replayed" "" "$(events_of "$TMP/u.out")"
curl -sN --max-time 0.5 -H 'Last-Event-ID: 6' "$S2_URL/sse" -o "$TMP/u2.out"
expect_eq "up-to-date Last-Event-ID: nothing replayed" "" "$(events_of "$TMP/u2.out")"
for i in 7 8 9; do curl -s -d "m$i" "$S2_URL/publish" >/dev/null; done
ev=$("${PEER[@]}" events "$S2_PORT" 5 "Last-Event-ID: 1")
expect_eq "Last-Event-ID older than history: the whole history (5..9)" "5 m9" \
    "$(json_field "$ev" id 0) $(json_field "$ev" data 4)"

# Keep-alive and pipelining.
out=$("${PEER[@]}" pipeline "$S2_PORT" 5 pipe)
expect_eq "5 pipelined publishes on one connection, then another request" \
    "$(printf '202 10\n202 11\n202 12\n202 13\n202 14\nthen 204')" "$out"
wait_until 3 grep -qs "pipelined 4" "$TMP/sub2.out"
check "pipelined events reach the subscriber with their type" \
    grep -Pzq 'id: 14\nevent: pipe\ndata: pipelined 4\n\n' "$TMP/sub2.out"
reuse=$(curl -sv -d a "$S2_URL/publish" -d a "$S2_URL/publish" 2>&1 | grep -c 'Re-using existing connection')
check "curl reuses the connection for a second publish" test "$reuse" -ge 1
out=$(curl -0 -s -D - -o /dev/null --max-time 0.5 "$S2_URL/sse" | tr -d '\r' | head -n 1)
expect_eq "HTTP/1.0 client gets a stream" "HTTP/1.1 200 OK" "$out"
out=$(curl -0 -s -H 'Connection: keep-alive' -D - -d x "$S2_URL/publish" | tr -d '\r' | grep -i '^connection')
expect_eq "HTTP/1.0 keep-alive publish: Connection: keep-alive" "Connection: keep-alive" "$out"

# ---------------------------------------------- S3: a subscriber that stops reading
start_serve --tick 0 --max-queue 256k -v 2>"$TMP/s3.err"
S3_PORT=$SERVE_PORT S3_URL=$SERVE_URL S3_PID=$SERVE_PID
bg curl -sN --max-time 60 "$S3_URL/sse" -o "$TMP/good.out"
wait_until 3 grep -qs "retry:" "$TMP/good.out"
"${PEER[@]}" stalled "$S3_PORT" 5 >"$TMP/stalled.out" &
STALLED=$!
BG_PIDS+=("$STALLED")
sleep 0.3
rss0=$(rss_kb "$S3_PID")
flood=$("${PEER[@]}" flood "$S3_PORT" 600 16384)
expect_eq "600 publishes of 16 KiB accepted" "600 600" "$flood"
wait_until 5 grep -qs '^id: 600$' "$TMP/good.out"
check "the reading subscriber got all 600 events" grep -q '^id: 600$' "$TMP/good.out"
rss1=$(rss_kb "$S3_PID")
wait "$STALLED"
expect_match "the stalled subscriber was dropped" "^dropped" "$(cat "$TMP/stalled.out")"
check "drop warned once: 'dropped 1 subscriber'" grep -q 'warning: serve: dropped 1 subscriber that stopped reading' "$TMP/s3.err"
# History holds up to 1000 x 16 KiB here (about 20 MiB in two forms); what
# must not happen is the stalled subscriber's queue growing with the flood.
check_rss "serve's RSS stayed bounded (from ${rss0} KiB)" "$rss1" $((rss0 + 60000))

# ------------------------------------------------------ S4: hostile clients
start_serve --tick 0 --header-timeout 1s --idle-timeout 1s --max-connections 2 -v 2>"$TMP/s4.err"
S4_PORT=$SERVE_PORT S4_URL=$SERVE_URL
out=$("${PEER[@]}" slowloris "$S4_PORT" 0.3)
expect_match "slowloris cut off by --header-timeout" "^closed after (1|2)\.[0-9]s$" "$out"
check "408 logged" grep -qE '^127\.0\.0\.1:[0-9]+ - - 408 request head not received' "$TMP/s4.err"
r=$(timeout 5 "${PEER[@]}" raw "$S4_PORT" "")
expect_eq "a silent connection is closed quietly" "" "$r"
r=$("${PEER[@]}" status "$S4_PORT" "$(hex $'POST /publish HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx')")
expect_eq "an idle keep-alive publisher is closed after --idle-timeout" "202 closed" "$r"
r=$("${PEER[@]}" status "$S4_PORT" "$(hex $'POST /publish HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nx')")
expect_eq "a stalled body gets 408" "408 closed" "$r"
bg curl -sN --max-time 30 "$S4_URL/sse" -o "$TMP/c1.out"
C1=$BG_PID
bg curl -sN --max-time 30 "$S4_URL/sse" -o "$TMP/c2.out"
C2=$BG_PID
wait_until 3 grep -qs retry "$TMP/c2.out"
wait_until 3 grep -qs retry "$TMP/c1.out"
code=$(curl -s -D "$TMP/h503" -o /dev/null -w '%{http_code}' --max-time 3 "$S4_URL/sse")
expect_eq "over --max-connections: 503" 503 "$code"
check "503 says Retry-After" grep -q 'Retry-After: 1' "$TMP/h503"
kill "$C1" "$C2" 2>/dev/null
wait "$C1" "$C2" 2>/dev/null
wait_until 3 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -d x '$S4_URL/publish')\" = 202 ]"
check "capacity comes back when subscribers leave" true

# ------------------------------------------- out of descriptors (EMFILE)
PORT5=$(free_port)
(
    ulimit -n 40
    exec "$EVCAT" serve --listen "127.0.0.1:$PORT5" --tick 0 --max-connections 100
) 2>"$TMP/emfile.err" &
EM=$!
BG_PIDS+=("$EM")
wait_port "$PORT5"
"${PEER[@]}" hold "$PORT5" 60 3 >"$TMP/hold.out" &
HOLD=$!
sleep 1
t0=$(awk '{print $14 + $15}' "/proc/$EM/stat")
sleep 1
t1=$(awk '{print $14 + $15}' "/proc/$EM/stat")
check "EMFILE: accepts pause instead of spinning ($((t1 - t0)) cpu ticks in 1 s)" test $((t1 - t0)) -le 10
wait "$HOLD"
check "EMFILE: warned once" test "$(grep -c 'accept: Too many open files' "$TMP/emfile.err")" -eq 1
wait_until 3 bash -c "curl -sN --max-time 0.5 'http://127.0.0.1:$PORT5/sse' | grep -q retry"
check "EMFILE: accepting again once descriptors are free" \
    bash -c "curl -sN --max-time 0.5 'http://127.0.0.1:$PORT5/sse' | grep -q retry"
kill -TERM "$EM"
wait "$EM"
expect_eq "EMFILE: still exits 0" 0 "$?"

# --------------------------------------------- keepalive comments, no ticks
start_serve --tick 0 --keepalive 200ms 2>/dev/null
curl -sN --max-time 1 "$SERVE_URL/sse" -o "$TMP/ka.out"
n=$(grep -c '^: keepalive$' "$TMP/ka.out")
check "--tick 0: a ': keepalive' comment every --keepalive ($n in 1 s)" test "$n" -ge 3
check "--tick 0: no tick events" bash -c "! grep -q tick '$TMP/ka.out'"

# ---------------------------------------------------------------- signals
for sig in TERM INT; do
    start_serve --tick 100ms 2>"$TMP/sig$sig.err"
    bg curl -sN --max-time 30 "$SERVE_URL/sse" -o "$TMP/sig$sig.out"
    CURL=$BG_PID
    wait_until 3 grep -qss "event: tick" "$TMP/sig$sig.out"
    kill -"$sig" "$SERVE_PID"
    wait "$SERVE_PID"
    expect_eq "SIG$sig: serve exits 0" 0 "$?"
    wait "$CURL"
    expect_eq "SIG$sig: the stream ends cleanly (curl exits 0)" 0 "$?"
    check "SIG$sig: summary line" grep -qE '^\* served [0-9]+ connections?, [0-9]+ requests?; published 0 events \(\+[0-9]+ ticks\); dropped 0 slow subscribers; WebSocket: 0 connections, 0 messages received$' "$TMP/sig$sig.err"
done
start_serve -q --tick 100ms 2>"$TMP/quiet.err"
curl -s -d x "$SERVE_URL/publish" >/dev/null
kill -TERM "$SERVE_PID"
wait "$SERVE_PID"
expect_eq "-q: nothing on stderr" "" "$(cat "$TMP/quiet.err")"

# ---------------------------------------------------------------- TLS
if openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
    -addext 'subjectAltName=IP:127.0.0.1,DNS:localhost' \
    -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null; then
    err=$("$EVCAT" serve --tls "$TMP/cert.pem" "$TMP/cert.pem" 2>&1)
    expect_eq "--tls with a certificate as key: exit 2" 2 "$?"
    expect_match "--tls bad key: one line" "^evcat: serve: --tls: " "$err"

    start_serve --tls "$TMP/cert.pem" "$TMP/key.pem" --tick 200ms 2>"$TMP/tls.err"
    TLS_URL="https://127.0.0.1:$SERVE_PORT"
    wait_until 2 grep -q serving "$TMP/tls.err"
    expect_match "TLS listening line says https" "serving SSE on https://127.0.0.1:$SERVE_PORT/sse" "$(cat "$TMP/tls.err")"
    bg curl -sN --cacert "$TMP/cert.pem" --max-time 30 "$TLS_URL/sse" -o "$TMP/tls.out"
    wait_until 3 grep -qs "event: tick" "$TMP/tls.out"
    expect_eq "https stream starts with retry" "retry: 3000" "$(head -n 1 "$TMP/tls.out")"
    resp=$(curl -s --cacert "$TMP/cert.pem" -d 'over tls' "$TLS_URL/publish?event=secure")
    expect_match "publish over https" '^\{"id":[0-9]+\}$' "$resp"
    wait_until 3 grep -qs "over tls" "$TMP/tls.out"
    check "https subscriber receives the published event" grep -Pzq 'event: secure\ndata: over tls\n\n' "$TMP/tls.out"
    big=$(head -c 300000 /dev/zero | tr '\0' t)
    printf '%s' "$big" | curl -s --cacert "$TMP/cert.pem" --data-binary @- "$TLS_URL/publish" >/dev/null
    whole() { awk 'length($0) == 300006 && /^data: t+$/ {found=1} END {exit !found}' "$TMP/tls.out"; }
    wait_until 3 whole
    check "a 300 KB event arrives whole over TLS" whole
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$SERVE_PORT/sse")
    check "plain HTTP on the TLS port fails without harm" test "$code" = 000
    resp=$(curl -s --cacert "$TMP/cert.pem" -d 'still fine' "$TLS_URL/publish")
    expect_match "the TLS server still works after that" '^\{"id":[0-9]+\}$' "$resp"
    kill -TERM "$SERVE_PID"
    wait "$SERVE_PID"
    expect_eq "TLS server exits 0 on SIGTERM" 0 "$?"
else
    fail "openssl could not make a test certificate"
fi

# ---------------------------------------------------------------- IPv6
if $PY -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
    bg "$EVCAT" serve --listen '[::1]:0' --tick 100ms 2>"$TMP/v6.err"
    V6=$BG_PID
    wait_until 3 grep -qs serving "$TMP/v6.err"
    port=$(sed -n 's|.*http://\[::1\]:\([0-9]*\)/sse.*|\1|p' "$TMP/v6.err")
    out=$(curl -sN -g --max-time 1 "http://[::1]:$port/sse" | grep -c 'event: tick')
    check "IPv6 --listen [::1]:0 serves ticks ($out)" test "$out" -ge 2
    kill -TERM "$V6"
    wait "$V6"
else
    echo "# no IPv6 loopback here: skipped"
fi

# ---- the descriptor limit: raised to the hard one, --max-connections follows it ----
# (valgrind keeps descriptors of its own at the top and shows its client a
# hard limit equal to the soft one: there the numbers are valgrind's)
if under_valgrind; then
    skip "descriptor limits under valgrind"
else
P=$(free_port)
(ulimit -Sn 1024 && ulimit -Hn 3000 && exec "$EVCAT" serve -v --listen "127.0.0.1:$P") 2>"$TMP/nofile.err" &
NOFILE_PID=$!
BG_PIDS+=("$NOFILE_PID")
wait_port "$P"
check "serve -v: soft descriptor limit raised to the hard one" \
    grep -q "serve: descriptor limit raised from 1024 to 3000 (the hard limit)" "$TMP/nofile.err"
check "serve: --max-connections defaults to the limit less 288" \
    grep -q "serve: at most 2712 connections (what the descriptor limit allows)" "$TMP/nofile.err"
kill "$NOFILE_PID"
wait "$NOFILE_PID" 2>/dev/null
(ulimit -Sn 1024 && ulimit -Hn 3000 && exec "$EVCAT" serve --max-connections 5000 --listen "127.0.0.1:$P") \
    2>"$TMP/nofile2.err" &
NOFILE_PID=$!
BG_PIDS+=("$NOFILE_PID")
wait_port "$P"
check "serve: --max-connections past the limit: warned" \
    grep -q "max-connections 5000 exceeds what 3000 descriptors allow (2712)" "$TMP/nofile2.err"
kill "$NOFILE_PID"
wait "$NOFILE_PID" 2>/dev/null
fi

finish
