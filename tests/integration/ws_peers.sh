#!/usr/bin/env bash
# evcat's WebSocket client against peers nobody here wrote: python3-websockets
# (plain and TLS with a certificate made here), Node's ws, nginx + nchan's
# WebSocket subscriber, and tinyproxy as an HTTP CONNECT proxy.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
bg $PY "$EVCAT_SRC/tests/integration/ws_peer_server.py" "$PORT"
wait_port "$PORT"
U=ws://127.0.0.1:$PORT

# --- python3-websockets ---
out=$(printf 'hello\nwörld\n' | "$EVCAT" ws -o raw "$U/echo" 2>/dev/null); rc=$?
expect_eq "echo through ws in a pipe, UTF-8 intact, exit 0" $'hello\nwörld/0' "$out/$rc"
big=$($PY -c 'print("x" * (3 << 20))')
out=$(printf '%s\n' "$big" | "$EVCAT" send -o raw -n 1 "$U/echo" - 2>/dev/null | wc -c)
expect_eq "a 3 MiB text message goes and comes back whole" $(((3 << 20) + 1)) "$out"
head -c 786432 /dev/urandom | base64 -w0 >"$TMP/b64"   # a 1 MiB line
want=$(base64 -w0 <"$TMP/b64" | sha256sum)
got=$( (cat "$TMP/b64"; echo) | "$EVCAT" send --binary -o raw -n 1 "$U/echo" - 2>/dev/null | tr -d '\n' | sha256sum)
expect_eq "a 1 MiB binary message comes back whole (raw output: base64)" "$want" "$got"
# Standard input as a regular file is read a chunk per loop round, like a
# pipe: every line goes once, in order, and --max-message bounds each line.
seq -f 'line %g' 5000 >"$TMP/lines"
out=$("$EVCAT" send -o raw -n 5000 "$U/echo" - <"$TMP/lines" 2>/dev/null | sha256sum)
expect_eq "send - from a file: 5000 lines echoed once each, in order" "$(sha256sum <"$TMP/lines")" "$out"
out=$("$EVCAT" ws -o raw "$U/echo" <"$TMP/lines" 2>/dev/null | sha256sum)
expect_eq "ws from a file: 5000 lines echoed once each, in order" "$(sha256sum <"$TMP/lines")" "$out"
{ echo short; head -c 70000 /dev/zero | tr '\0' a; printf '\nafter\n'; } >"$TMP/long"
for cmd in ws send; do
    for how in file pipe; do
        args=("$cmd" -o raw --max-message 1k "$U/echo")
        [ "$cmd" = send ] && args+=(-)
        if [ $how = file ]; then
            "$EVCAT" "${args[@]}" <"$TMP/long" >"$TMP/out" 2>"$TMP/err"; rc=$?
        else
            cat "$TMP/long" | "$EVCAT" "${args[@]}" >"$TMP/out" 2>"$TMP/err"; rc=$?
        fi
        expect_eq "$cmd, stdin a $how: a 70,000-byte line over --max-message 1k: exit 2" 2 "$rc"
        check "  the line is named" grep -q "line 2 of standard input is longer than --max-message (1024 bytes)" "$TMP/err"
        check "  nothing but the first line's echo came back" bash -c "[ \"\$(tr -d '\n' <'$TMP/out')\" = '' ] || [ \"\$(cat '$TMP/out')\" = short ]"
    done
done
out=$({ echo ok; head -c 2000 /dev/zero | tr '\0' b; echo; } | "$EVCAT" send --max-message 1k "$U/echo" - 2>&1); rc=$?
expect_eq "send -: a whole 2000-byte line over --max-message 1k is refused, exit 2" 2 "$rc"
out=$("$EVCAT" listen -o json "$U/fragments" 2>/dev/null | head -1)
expect_match "a fragmented message arrives as one" '"type":"text","data":"fragmented"' "$out"
out=$("$EVCAT" listen -o raw "$U/ping" 2>/dev/null)
expect_eq "the server's ping is answered" "pong received" "$out"
"$EVCAT" listen -o json "$U/restart" >"$TMP/out" 2>"$TMP/err"; rc=$?
expect_eq "close 1012 from the server: exit 1" 1 "$rc"
check "1012 shown with its real code and reason" grep -q '"code":1012,"reason":"service restart"' "$TMP/out"
check "and on stderr" grep -q "1012" "$TMP/err"
out=$("$EVCAT" listen -o raw --subprotocol chat "$U/chat" 2>/dev/null)
expect_eq "subprotocol negotiated with websockets" "subprotocol chat" "$out"
expect_eq "without an offer, no subprotocol is chosen" "subprotocol None" "$("$EVCAT" listen -o raw "$U/chat" 2>/dev/null)"

# --- wss with a certificate made here ---
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 2 \
    -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
TPORT=$(free_port)
bg $PY "$EVCAT_SRC/tests/integration/ws_peer_server.py" "$TPORT" "$TMP/cert.pem" "$TMP/key.pem"
wait_port "$TPORT"
out=$("$EVCAT" send -o raw -n 1 --cacert "$TMP/cert.pem" "wss://localhost:$TPORT/echo" secure 2>/dev/null); rc=$?
expect_eq "wss with --cacert" "secure/0" "$out/$rc"
"$EVCAT" send -n 1 "wss://localhost:$TPORT/echo" secure >/dev/null 2>"$TMP/err"; rc=$?
expect_eq "wss with an untrusted certificate: exit 1" 1 "$rc"
check "the verification failure is named" grep -qi "certificate" "$TMP/err"
expect_rc "-k accepts it" 0 "$EVCAT" send -k -n 1 "wss://localhost:$TPORT/echo" x
out=$("$EVCAT" send -o raw -n 1 --cacert "$TMP/cert.pem" "wss://127.0.0.1:$TPORT/echo" byip 2>/dev/null)
expect_eq "the certificate's IP SAN is checked for an address URL" "byip" "$out"

# --- through tinyproxy (HTTP CONNECT) ---
if command -v tinyproxy >/dev/null; then
    PPORT=$(free_port)
    cat >"$TMP/tinyproxy.conf" <<CONF
Port $PPORT
Listen 127.0.0.1
Timeout 30
Allow 127.0.0.1
ConnectPort $PORT
ConnectPort $TPORT
LogLevel Info
LogFile "$TMP/tinyproxy.log"
PidFile "$TMP/tinyproxy.pid"
CONF
    bg tinyproxy -d -c "$TMP/tinyproxy.conf"
    wait_port "$PPORT"
    out=$("$EVCAT" send -o raw -n 1 -x "http://127.0.0.1:$PPORT" "$U/echo" proxied 2>/dev/null); rc=$?
    expect_eq "ws through tinyproxy with -x" "proxied/0" "$out/$rc"
    out=$(https_proxy="http://127.0.0.1:$PPORT" "$EVCAT" send -o raw -n 1 --cacert "$TMP/cert.pem" \
        "wss://localhost:$TPORT/echo" tunnelled 2>/dev/null)
    expect_eq "wss through tinyproxy from https_proxy" "tunnelled" "$out"
    check "tinyproxy carried the CONNECTs" grep -q "CONNECT" "$TMP/tinyproxy.log"
    out=$(https_proxy="http://127.0.0.1:$PPORT" no_proxy=localhost "$EVCAT" send -o raw -n 1 \
        --cacert "$TMP/cert.pem" "wss://localhost:$TPORT/echo" direct 2>/dev/null)
    expect_eq "no_proxy bypasses the proxy" "direct" "$out"
else
    fail "tinyproxy is not installed (scripts/test installs it)"
fi

# --- Node's ws as a server ---
NPORT=$(free_port)
bg node -e '
const { WebSocketServer } = require("ws");
const wss = new WebSocketServer({ host: "127.0.0.1", port: Number(process.argv[1]) });
wss.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.send("hello from node");
});' "$NPORT"
wait_port "$NPORT"
out=$("$EVCAT" send -o raw -n 2 "ws://127.0.0.1:$NPORT/" ping-node 2>/dev/null); rc=$?
expect_eq "Node ws: greeting and echo, clean close" $'hello from node\nping-node/0' "$out/$rc"

# --- nginx + nchan's WebSocket subscriber ---
if start_nchan; then
    CPORT=$NCHAN_PORT
    "$EVCAT" listen -o raw -n 3 --timeout 10s "ws://127.0.0.1:$CPORT/sub" >"$TMP/nchan" 2>/dev/null &
    sub=$!
    sleep 0.7
    for i in 1 2 3; do curl -s -o /dev/null -X POST --data-binary "nchan $i" "http://127.0.0.1:$CPORT/pub"; done
    wait $sub; rc=$?
    expect_eq "nchan's WebSocket subscriber: every message in order" $'nchan 1\nnchan 2\nnchan 3/0' "$(cat "$TMP/nchan")/$rc"
else
    fail "nginx-light and libnginx-mod-nchan are needed"
fi

finish
