#!/usr/bin/env bash
# evcat listen against nginx + nchan, a real SSE pub/sub server nobody here
# wrote: every published message arrives in order with nchan's ids, and a
# restarted evcat resumes with --last-event-id where it left off. And bench's
# SSE subscribers over TLS on both drivers (native HTTP/1.1, libcurl with
# HTTP/2 by ALPN).
. "$(dirname "$0")/lib.sh"

EXTRA_SUB="nchan_subscriber_first_message newest;"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 2 \
    -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
NCHAN_CERT=$TMP/cert.pem NCHAN_KEY=$TMP/key.pem start_nchan || exit 1
U=http://127.0.0.1:$NCHAN_PORT

publish() { curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary "$1" "$U/pub"; }
# connected FILE N: evcat's stderr in FILE announced N connections (publish
# only to a subscriber nchan has).
connected() { [ "$(grep -cE '^\* (re)?connected to' "$1" 2>/dev/null)" -ge "$2" ]; }

# A subscriber first, then 20 messages.
"$EVCAT" listen -o json -n 20 --timeout 20s "$U/sub" >"$TMP/first" 2>"$TMP/err" &
sub=$!
wait_until 10 connected "$TMP/err" 1
codes=""
for i in $(seq 1 20); do
    codes+=$(publish "message $i")" "
done
wait $sub; rc=$?
accepted=$(echo "$codes" | tr ' ' '\n' | grep -cE '^20[12]$')
expect_eq "20 publishes accepted by nchan (201 creates the channel, then 202)" 20 "$accepted"
expect_eq "listen got all 20 (exit 0 at -n)" 0 "$rc"
verdict=$($PY - "$TMP/first" <<'PYEOF'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
ok = [e["data"] for e in evs] == [f"message {i}" for i in range(1, 21)]
ids = [e["id"] for e in evs]
print("ok" if ok and all(ids) and len(set(ids)) == 20 else f"bad {[(e['data'], e['id']) for e in evs]}")
PYEOF
)
expect_eq "in order, each with an nchan id" ok "$verdict"

# evcat "restarts": resume after the 10th message's id, get 11..20 from nchan's buffer.
tenth=$($PY -c 'import json,sys; print([json.loads(l)["id"] for l in open(sys.argv[1])][9])' "$TMP/first")
out=$("$EVCAT" listen -o raw -n 10 --timeout 10s --last-event-id "$tenth" "$U/sub" 2>/dev/null); rc=$?
expect_eq "--last-event-id resumes from nchan's buffer" "$(seq -f 'message %g' 11 20)" "$out"
expect_eq "resume run exits 0" 0 "$rc"

# Multi-line data and a reconnect: nchan ends no stream itself, so kill the
# subscriber connection by restarting nginx while evcat keeps listening.
"$EVCAT" listen -o json -n 2 --timeout 20s "$U/sub" >"$TMP/multi" 2>"$TMP/err2" &
sub=$!
wait_until 10 connected "$TMP/err2" 1
publish $'line one\nline two' >/dev/null
wait_until 10 grep -q "line two" "$TMP/multi"
restart_nchan
wait_until 10 connected "$TMP/err2" 2   # evcat's reconnect after nchan's default retry
publish "after restart" >/dev/null
wait $sub; rc=$?
expect_eq "reconnected after the server restarted and kept receiving" 0 "$rc"
verdict=$($PY -c 'import json,sys
d=[json.loads(l)["data"] for l in open(sys.argv[1])]
print("ok" if d==["line one\nline two","after restart"] else repr(d))' "$TMP/multi")
expect_eq "multi-line data and the post-restart message" ok "$verdict"
check "the reconnect was announced" grep -q "reconnect" "$TMP/err2"

# EventSource over HTTP/2 (TLS, ALPN) with nginx.
"$EVCAT" listen -v -o raw -n 1 --timeout 10s --http2 --cacert "$TMP/cert.pem" \
    "https://localhost:$NCHAN_TLS_PORT/sub" >"$TMP/h2" 2>"$TMP/h2err" &
sub=$!
wait_until 10 grep -q "^< HTTP/2 200" "$TMP/h2err"
publish "over h2" >/dev/null
wait $sub; rc=$?
expect_eq "--http2 over TLS: the event arrives" "over h2/0" "$(cat "$TMP/h2")/$rc"
check "and HTTP/2 was used" grep -q "^< HTTP/2 200" "$TMP/h2err"

# bench's SSE subscribers over TLS, on each driver, with a publisher.
jv() { $PY -c 'import json,sys; v=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): v=v[k]
print(json.dumps(v) if isinstance(v,dict) else v)' "$1" "$2"; }
for drv in native curl; do
    "$EVCAT" bench -q -c 50 --connect-rate 1000 -d 2s --sse-driver $drv --cacert "$TMP/cert.pem" \
        --publish "$U/pub" --publish-rate 10 --json "$TMP/b$drv.json" \
        "https://localhost:$NCHAN_TLS_PORT/sub" >/dev/null 2>"$TMP/b$drv.err"
    expect_eq "bench https $drv: exit 0" 0 $?
    expect_eq "bench https $drv: 50 established" 50 "$(jv "$TMP/b$drv.json" connections.established)"
    pub=$(jv "$TMP/b$drv.json" messages.sent)
    recv=$(jv "$TMP/b$drv.json" messages.received)
    check "bench https $drv: fan-out ($recv of $pub published)" test "$recv" -ge $((50 * (pub - 2))) -a "$pub" -ge 10
    expect_eq "bench https $drv: no errors" "{}" "$(jv "$TMP/b$drv.json" errors)"
done
# without --cacert the self-signed certificate is refused: tls errors
"$EVCAT" bench -q -c 3 -d 200ms --json "$TMP/bv.json" "https://localhost:$NCHAN_TLS_PORT/sub" \
    >/dev/null 2>&1
expect_eq "bench https native: unverified certificate is a tls error" 3 "$(jv "$TMP/bv.json" errors.tls)"

finish
