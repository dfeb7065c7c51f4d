#!/usr/bin/env bash
# evcat listen over https (evcat serve --tls with a certificate made here):
# --cacert, an untrusted certificate, -k, a wrong host name; and SSE through
# an HTTP proxy (tinyproxy) with -x and http_proxy, bypassed by no_proxy.
. "$(dirname "$0")/lib.sh"

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 2 \
    -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
start_serve --tls "$TMP/cert.pem" "$TMP/key.pem" --tick 100ms -q
S=https://localhost:$SERVE_PORT/sse

out=$("$EVCAT" listen -o json -n 2 --cacert "$TMP/cert.pem" "$S" 2>/dev/null); rc=$?
expect_eq "https with --cacert: two ticks" "2/0" "$(echo "$out" | grep -c '"event":"tick"')/$rc"
"$EVCAT" listen -n 1 "$S" >/dev/null 2>"$TMP/err"; rc=$?
expect_eq "an untrusted certificate: exit 1, no retry" 1 "$rc"
check "the certificate problem is named on one line" \
    bash -c "[ \$(grep -c '^evcat: ' '$TMP/err') -eq 1 ] && grep -qi 'certificate' '$TMP/err'"
expect_rc "-k accepts it" 0 "$EVCAT" listen -k -n 1 "$S"
# A certificate that does not verify is final for WebSocket too: no
# reconnecting (waiting would not fix it), as SSE does.
t0=$(date +%s%N)
timeout 20 "$EVCAT" listen --reconnect "wss://localhost:$SERVE_PORT/echo" >/dev/null 2>"$TMP/err"
expect_eq "wss --reconnect, an untrusted certificate: exit 1" 1 "$?"
check "  at once, not retried" bash -c "[ $(( ($(date +%s%N) - t0) / 1000000 )) -lt $(slow 3000) ] && ! grep -q reconnecting '$TMP/err'"
# bench says why the handshakes failed, in listen's words, on each path.
for a in "$S" "--sse-driver curl $S" "wss://localhost:$SERVE_PORT/echo"; do
    # shellcheck disable=SC2086 # options and URL on purpose
    "$EVCAT" bench -q -c 2 -d 300ms $a >"$TMP/out" 2>"$TMP/err"
    check "bench ${a%% *}: the TLS failure in words" bash -c \
        "grep -q 'tls 2 (first: TLS: certificate verify failed: self-signed certificate (use --cacert FILE or -k))' '$TMP/out' &&
         grep -q 'no connection could be established: tls: TLS: certificate verify failed' '$TMP/err'"
done
# A certificate for another name, trusted: the name check alone must fail it.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key2.pem" -out "$TMP/cert2.pem" -days 2 \
    -subj /CN=other.test -addext "subjectAltName=DNS:other.test" 2>/dev/null
start_serve --tls "$TMP/cert2.pem" "$TMP/key2.pem" --tick 100ms -q
"$EVCAT" listen -n 1 --cacert "$TMP/cert2.pem" "https://localhost:$SERVE_PORT/sse" >/dev/null 2>"$TMP/err"; rc=$?
expect_eq "a trusted certificate for another name: exit 1" 1 "$rc"
check "the name mismatch is named" grep -qi "localhost" "$TMP/err"

# Unusable certificate or key files: exit 2, the file and what is wrong
# with it in words (not OpenSSL's "PEM lib" or "system lib").
echo junk >"$TMP/junk.pem"
for spec in "$TMP/none.pem|$TMP/key.pem|$TMP/none.pem: No such file or directory" \
    "$TMP/junk.pem|$TMP/key.pem|$TMP/junk.pem: not a PEM certificate" \
    "$TMP|$TMP/key.pem|$TMP: is a directory" \
    "$TMP/cert.pem|$TMP/junk.pem|$TMP/junk.pem: not a PEM private key" \
    "$TMP/cert.pem|$TMP/key2.pem|$TMP/key2.pem: does not match the certificate"; do
    IFS='|' read -r c k want <<<"$spec"
    expect_usage "serve --tls $(basename "$c") $(basename "$k")" serve --listen 127.0.0.1:1 --tls "$c" "$k"
    check "  says '$want'" grep -qF "serve: --tls: $want" "$TMP/err"
done

# The client's TLS files, judged alike on every path before connecting
# (libcurl's would take --key without --cert, and see a bad file only when
# it connects): exit 2, in the same words.
for cmd in "listen -n 1 https://127.0.0.1:1/sse" "listen -n 1 wss://127.0.0.1:1/ws" \
    "bench -c 1 -d 100ms https://127.0.0.1:1/sse" "bench -c 1 -d 100ms --sse-driver curl https://127.0.0.1:1/sse"; do
    for spec in "--key $TMP/key.pem|--key $TMP/key.pem: needs --cert" \
        "--cert $TMP/cert.pem --key $TMP/key2.pem|does not match the certificate" \
        "--cacert $TMP/junk.pem|--cacert $TMP/junk.pem: no certificate"; do
        IFS='|' read -r opts want <<<"$spec"
        # shellcheck disable=SC2086 # command lines on purpose
        expect_usage "${cmd% *} $opts" ${cmd%% *} $opts ${cmd#* }
        check "  says '$want'" grep -qF -- "$want" "$TMP/err"
    done
done
# --cacert is instead of the system's store: libcurl looks in no directory
# of it either (-v shows CApath when it does).
"$EVCAT" listen -v -n 1 --cacert "$TMP/cert.pem" "$S" >/dev/null 2>"$TMP/err"
check "--cacert on libcurl's path: no CApath" bash -c "! grep -q 'CApath: /' '$TMP/err'"

# https:// and wss:// to a server without TLS: one line that says so.
start_serve --tick 100ms -q
for u in "https://127.0.0.1:$SERVE_PORT/sse" "wss://127.0.0.1:$SERVE_PORT/ws"; do
    "$EVCAT" listen -n 1 "$u" >/dev/null 2>"$TMP/err"; rc=$?
    plain=http; [ "${u%%:*}" = wss ] && plain=ws
    expect_eq "${u%%:*} to a plain server: exit 1" 1 "$rc"
    check "  one line: the server does not speak TLS, $plain:// instead?" \
        bash -c "[ \$(wc -l <'$TMP/err') -eq 1 ] && grep -q 'does not speak TLS there: $plain:// instead of ${u%%:*}://' '$TMP/err'"
done

if command -v tinyproxy >/dev/null; then
    PPORT=$(free_port)
    cat >"$TMP/tinyproxy.conf" <<CONF
Port $PPORT
Listen 127.0.0.1
Timeout 30
Allow 127.0.0.1
LogLevel Info
LogFile "$TMP/tinyproxy.log"
PidFile "$TMP/tinyproxy.pid"
CONF
    bg tinyproxy -d -c "$TMP/tinyproxy.conf"
    wait_port "$PPORT"
    out=$("$EVCAT" listen -o raw -n 2 -x "http://127.0.0.1:$PPORT" "$SERVE_URL/sse" 2>/dev/null); rc=$?
    expect_eq "SSE through an HTTP proxy with -x" "2/0" "$(echo "$out" | grep -c seq)/$rc"
    check "the proxy carried it" grep -q "GET http://127.0.0.1:$SERVE_PORT/sse" "$TMP/tinyproxy.log"
    : >"$TMP/tinyproxy.log"
    out=$(http_proxy="http://127.0.0.1:$PPORT" "$EVCAT" listen -o raw -n 1 "$SERVE_URL/sse" 2>/dev/null)
    check "http_proxy from the environment is used" grep -q "GET http://127.0.0.1:$SERVE_PORT/sse" "$TMP/tinyproxy.log"
    : >"$TMP/tinyproxy.log"
    out=$(http_proxy="http://127.0.0.1:$PPORT" no_proxy=127.0.0.1 "$EVCAT" listen -o raw -n 1 "$SERVE_URL/sse" 2>/dev/null)
    check "no_proxy bypasses it" bash -c "! grep -q 'GET http' '$TMP/tinyproxy.log'"
    expect_eq "and the stream still arrives" 1 "$(echo "$out" | grep -c seq)"
    # A proxy that wants credentials: its 407 is named as the proxy's.
    APORT=$(free_port)
    sed -e "s/^Port .*/Port $APORT/" -e "s#tinyproxy.log#tinyproxy-auth.log#" \
        -e "s#tinyproxy.pid#tinyproxy-auth.pid#" "$TMP/tinyproxy.conf" >"$TMP/tinyproxy-auth.conf"
    echo "BasicAuth pxuser pxpass" >>"$TMP/tinyproxy-auth.conf"
    bg tinyproxy -d -c "$TMP/tinyproxy-auth.conf"
    wait_port "$APORT"
    "$EVCAT" listen -n 1 -x "http://127.0.0.1:$APORT" "$SERVE_URL/sse" >/dev/null 2>"$TMP/err"
    expect_eq "a proxy's 407: exit 1" 1 "$?"
    check "  named as the proxy's, with what to give" grep -q "the proxy answered HTTP 407: it wants credentials" "$TMP/err"
    out=$("$EVCAT" listen -o raw -n 1 -x "http://pxuser:pxpass@127.0.0.1:$APORT" "$SERVE_URL/sse" 2>/dev/null)
    expect_eq "  with -x user:password: the stream arrives" 1 "$(echo "$out" | grep -c seq)"
else
    fail "tinyproxy is not installed (scripts/test installs it)"
fi

finish
