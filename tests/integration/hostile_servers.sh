#!/usr/bin/env bash
# evcat listen against hostile servers (hostile_server.py, plain and TLS):
# lines, events, messages and heads that never end, redirect loops, resets
# mid-event and mid-frame, a server that drips, broken handshakes, frames
# RFC 6455 forbids, pings never read, bad certificates. Every case is
# checked the same way (see hostile): exit 1, one clear error line, bounded
# memory and time, no sanitizer report, and what came before the fault kept.
. "$(dirname "$0")/lib.sh"

RSS_LIMIT_KIB=131072
SERVER=$EVCAT_SRC/tests/integration/hostile_server.py

# measure OUT ERR KILL_MS CMD...: runs CMD (stdout to OUT, stderr to ERR),
# killed after KILL_MS; sets RC ("hang" when killed), RSS (its peak, KiB)
# and MS (wall clock).
measure() {
    local res
    res=$($PY - "$@" <<'PYEOF'
import resource, subprocess, sys, time
out, err, limit = sys.argv[1], sys.argv[2], int(sys.argv[3]) / 1000
start = time.monotonic()
with open(out, "wb") as o, open(err, "wb") as e:
    p = subprocess.Popen(sys.argv[4:], stdin=subprocess.DEVNULL, stdout=o, stderr=e)
    try:
        rc = p.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        rc = "hang"
ms = int((time.monotonic() - start) * 1000)
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, ms)
PYEOF
)
    read -r RC RSS MS <<<"$res"
}

# hostile NAME REGEX STDOUT MAX_MS ARGS...: `evcat listen -o raw ARGS...`
# must exit 1 within MAX_MS (slowed under valgrind) with
#   - under -q, exactly one stderr line: "evcat: ..." matching REGEX
#     (case-insensitive);
#   - without -q, that same line last, and the only "evcat: " line
#     (lifecycle lines may come before it);
#   - STDOUT exactly on stdout (what was complete before the fault), both times;
#   - no sanitizer report; peak RSS under RSS_LIMIT_KIB.
# With CLOSE=CODE set, the server must have seen evcat's close with CODE.
hostile() {
    local name=$1 re=$2 want=$3 max_ms=$4 line last
    shift 4
    local bound
    bound=$(slow "$max_ms")
    measure "$TMP/q.out" "$TMP/q.err" $((bound * 3 + 5000)) "$EVCAT" listen -q -o raw "$@"
    line=$(cat "$TMP/q.err")
    if [ "$RC" = 1 ] && [ "$(wc -l <"$TMP/q.err")" -eq 1 ] && [[ $line == "evcat: "* ]] &&
        grep -Eqi -- "$re" "$TMP/q.err"; then
        pass "$name: exit 1, one line: ${line#evcat: }"
    else
        fail "$name: exit $RC, wanted 1 and one line matching /$re/"
        sed 's/^/  stderr: /' "$TMP/q.err" | head -5
    fi
    expect_eq "$name: what came before the fault is on stdout" "$want" "$(cat "$TMP/q.out")"
    check "$name: within ${bound} ms (${MS} ms)" test "$MS" -lt "$bound"
    check_rss "$name: bounded memory" "$RSS" "$RSS_LIMIT_KIB"

    measure "$TMP/v.out" "$TMP/v.err" $((bound * 3 + 5000)) "$EVCAT" listen -o raw "$@"
    last=$(tail -n 1 "$TMP/v.err")
    if [ "$RC" = 1 ] && [ "$last" == "$line" ] && [ "$(grep -c '^evcat: ' "$TMP/v.err")" -eq 1 ]; then
        pass "$name: without -q the same error comes last, once"
    else
        fail "$name: without -q: exit $RC"
        sed 's/^/  stderr: /' "$TMP/v.err" | head -8
    fi
    expect_eq "$name: without -q, stdout too" "$want" "$(cat "$TMP/v.out")"
    if grep -Eq 'Sanitizer|runtime error|LeakSanitizer' "$TMP/q.err" "$TMP/v.err"; then
        fail "$name: a sanitizer report"
        grep -h -A3 -E 'Sanitizer|runtime error' "$TMP/q.err" "$TMP/v.err" | head -20
    else
        pass "$name: no sanitizer report"
    fi
    if [ -n "${CLOSE:-}" ]; then
        local path=${*: -1}
        path=/${path#*://*/}
        wait_until "$(slow 2)" bash -c "[ \$(grep -c '^$path closed' '$SLOG') -ge 2 ]"
        expect_eq "$name: the server saw evcat close with $CLOSE" \
            "$CLOSE $CLOSE" "$(grep "^$path closed" "$SLOG" | awk '{print $NF}' | paste -sd' ')"
    fi
}

# start_hostile [--tls CERT KEY]: a hostile server on a free port; sets PORT.
start_hostile() {
    PORT=$(free_port)
    bg $PY "$SERVER" "$PORT" "$@" 2>>"$SLOG"
    wait_port "$PORT"
}

SLOG=$TMP/server.log
: >"$SLOG"
start_hostile
PLAIN_PID=$BG_PID
H=http://127.0.0.1:$PORT
W=ws://127.0.0.1:$PORT

# --- SSE ---
hostile "sse endless line" 'max-event-size' before 3000 --no-reconnect "$H/sse/endless-line"
hostile "sse endless line, reconnecting: the limit is fatal, not retried" 'max-event-size' \
    before 3000 "$H/sse/endless-line"
hostile "sse endless event" 'max-event-size' before 3000 --no-reconnect "$H/sse/endless-event"
hostile "sse endless response head" 'header' "" 3000 --no-reconnect "$H/sse/endless-head"
hostile "sse response head dripping (--idle-timeout)" 'idle-timeout' "" 2000 \
    --no-reconnect --idle-timeout 300ms "$H/sse/slow-head"
hostile "sse redirect loop" 'redirect' "" 3000 --no-reconnect "$H/sse/redirect-loop"
hostile "sse reset mid-event" 'reset' before 3000 --no-reconnect "$H/sse/reset-mid-event"
hostile "sse reset mid-event, --max-retries 2" 'giving up after 2 reconnection attempts' \
    $'before\nbefore\nbefore' 4000 --max-retries 2 "$H/sse/reset-mid-event"
hostile "sse drip, one byte at a time (--idle-timeout)" 'idle-timeout' before 2000 \
    --no-reconnect --idle-timeout 300ms "$H/sse/drip"
hostile "sse body shorter than its Content-Length" 'remaining' before 3000 --no-reconnect \
    "$H/sse/short-body"
hostile "sse broken chunked encoding" 'chunked' before 3000 --no-reconnect "$H/sse/bad-chunked"
hostile "sse not HTTP at all" 'HTTP' "" 3000 --no-reconnect "$H/sse/not-http"

# --- WebSocket ---
CLOSE=1009 hostile "ws absurd announced length" 'max-message.*1009' before 3000 "$W/ws/absurd-length"
CLOSE=1002 hostile "ws length with the top bit set" 'protocol error.*1002' before 3000 "$W/ws/length-top-bit"
CLOSE=1002 hostile "ws length not in its shortest form" 'shortest form.*1002' before 3000 \
    "$W/ws/non-minimal-length"
hostile "ws message that never ends in fragments" 'max-message.*1009' before 3000 \
    "$W/ws/endless-fragments"
hostile "ws response head that never ends" 'head longer than' "" 3000 "$W/ws/endless-head"
hostile "ws response head dripping (--connect-timeout)" 'no handshake response' "" 2500 \
    --connect-timeout 500ms "$W/ws/slow-head"
hostile "ws response head cut short" 'closed the connection during the handshake' "" 3000 \
    "$W/ws/head-cut"
hostile "ws wrong Sec-WebSocket-Accept" 'Sec-WebSocket-Accept' "" 3000 "$W/ws/wrong-accept"
hostile "ws 200 instead of 101" 'HTTP 200' "" 3000 "$W/ws/non-101"
hostile "ws not HTTP at all" 'not an HTTP' "" 3000 "$W/ws/not-http"
hostile "ws extension that was not offered" 'extension' "" 3000 "$W/ws/unoffered-extension"
hostile "ws subprotocol that was not offered" 'subprotocol' "" 3000 "$W/ws/unoffered-subprotocol"
CLOSE=1002 hostile "ws masked server frame" 'masked.*1002' before 3000 "$W/ws/masked"
CLOSE=1002 hostile "ws RSV bits without an extension" 'reserved bits.*1002' before 3000 "$W/ws/rsv"
CLOSE=1002 hostile "ws reserved data opcode" 'reserved opcode.*1002' before 3000 "$W/ws/reserved-opcode"
CLOSE=1002 hostile "ws reserved control opcode" 'reserved opcode.*1002' before 3000 \
    "$W/ws/reserved-control-opcode"
CLOSE=1002 hostile "ws fragmented ping" 'fragmented control frame.*1002' before 3000 \
    "$W/ws/fragmented-ping"
CLOSE=1002 hostile "ws ping over 125 bytes" 'over 125 bytes.*1002' before 3000 "$W/ws/oversized-ping"
CLOSE=1002 hostile "ws continuation without a message" 'continuation.*1002' before 3000 \
    "$W/ws/orphan-continuation"
CLOSE=1002 hostile "ws new message inside a fragmented one" 'inside a fragmented message.*1002' \
    before 3000 "$W/ws/message-in-message"
CLOSE=1007 hostile "ws invalid UTF-8 in text" 'UTF-8.*1007' before 3000 "$W/ws/bad-utf8"
CLOSE=1002 hostile "ws close code 1005 on the wire" 'invalid close code.*1002' before 3000 \
    "$W/ws/bad-close-code"
hostile "ws reset mid-frame" 'reset' before 3000 "$W/ws/reset-mid-frame"
hostile "ws end of stream without a close" 'without a close frame' before 3000 "$W/ws/no-close"
hostile "ws ping flood, pongs never read, then a reset" 'reset' before 6000 "$W/ws/ping-flood"

# --- TLS: untrusted, another host's, expired; and a server that is not TLS ---
openssl_quiet() { openssl "$@" >/dev/null 2>&1; }
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
openssl_quiet req -x509 "${ec[@]}" -keyout "$TMP/self.key" -out "$TMP/self.pem" -days 2 \
    -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1"
openssl_quiet req -x509 "${ec[@]}" -keyout "$TMP/ca.key" -out "$TMP/ca.pem" -days 2 -subj /CN=evcat-test-ca
openssl_quiet req "${ec[@]}" -keyout "$TMP/other.key" -out "$TMP/other.csr" -subj /CN=other.test \
    -addext "subjectAltName=DNS:other.test"
openssl_quiet x509 -req -in "$TMP/other.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" -set_serial 2 \
    -days 2 -copy_extensions copy -out "$TMP/other.pem"
# Expired: OpenSSL 3.0's x509 has no -not_after; its ca command takes any
# -startdate/-enddate, with a minimal configuration of its own.
: >"$TMP/index.txt"
echo 1000 >"$TMP/serial"
cat >"$TMP/ca.cnf" <<CNF
[ca]
default_ca = test
[test]
database = $TMP/index.txt
new_certs_dir = $TMP
serial = $TMP/serial
default_md = sha256
policy = any
copy_extensions = copy
[any]
commonName = supplied
CNF
openssl_quiet req "${ec[@]}" -keyout "$TMP/expired.key" -out "$TMP/expired.csr" -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1"
openssl_quiet ca -batch -config "$TMP/ca.cnf" -cert "$TMP/ca.pem" -keyfile "$TMP/ca.key" \
    -in "$TMP/expired.csr" -out "$TMP/expired.pem" -startdate 20200101000000Z \
    -enddate 20200102000000Z -notext
check "the expired certificate expired on 2 January 2020" \
    bash -c "openssl x509 -in '$TMP/expired.pem' -noout -enddate | grep -q 'Jan  2 00:00:00 2020'"

for kind in self other expired; do
    start_hostile --tls "$TMP/$kind.pem" "$TMP/$kind.key"
    printf -v "TLS_${kind}" %s "$PORT"
done
for proto in sse ws; do
    s=https
    [ $proto = ws ] && s=wss
    recon=()
    [ $proto = sse ] && recon=(--no-reconnect)
    hostile "$s untrusted certificate" 'certificate.*--cacert' "" 3000 "${recon[@]}" \
        "$s://localhost:$TLS_self/$proto/ok"
    hostile "$s certificate for another host name" "host name.*localhost|localhost.*host name" "" \
        3000 "${recon[@]}" --cacert "$TMP/ca.pem" "$s://localhost:$TLS_other/$proto/ok"
    hostile "$s expired certificate" 'certificate has expired' "" 3000 "${recon[@]}" \
        --cacert "$TMP/ca.pem" "$s://localhost:$TLS_expired/$proto/ok"
    check "$s expired: no advice to trust it (--cacert would not help)" \
        bash -c "! grep -q -- '--cacert' '$TMP/q.err'"
    hostile "$s to a server that does not speak TLS" 'wrong version number' "" 3000 "${recon[@]}" \
        "$s://127.0.0.1:${H##*:}/$proto/ok"
    # Controls: the same servers are fine once the certificate is accepted.
    out=$("$EVCAT" listen -q -o raw -n 1 -k "$s://localhost:$TLS_expired/$proto/ok"); rc=$?
    expect_eq "$s control: -k takes the expired server's stream" "before/0" "$out/$rc"
    out=$("$EVCAT" listen -q -o raw -n 1 --cacert "$TMP/self.pem" "$s://localhost:$TLS_self/$proto/ok"); rc=$?
    expect_eq "$s control: --cacert trusts the self-signed one" "before/0" "$out/$rc"
done

# --- the server survived every client ---
check "the hostile server is still running" kill -0 "$PLAIN_PID"
out=$("$EVCAT" listen -q -o raw -n 1 "$H/sse/ok"); rc=$?
expect_eq "and still answers" "before/0" "$out/$rc"
check "nothing went wrong inside the server" bash -c "! grep -q 'hostile_server:\|Traceback\|Exception in thread' '$SLOG'"

finish
