#!/usr/bin/env bash
# evcat serve against hostile clients (issue 6): malformed and oversized
# heads, malformed WebSocket upgrades and frames, slowloris and silent
# connections, subscribers that never read, connections reset in the middle
# of a frame or a body, a flood beyond --max-connections — one after the
# other, then several at once. Throughout, two well-behaved witnesses (evcat
# listen on /sse and on /ws, -o json) must keep receiving every tick on time,
# serve's memory must stay bounded, every hostile connection must be gone
# when its bound says so, and serve must end with exit 0 and no sanitizer
# report. hostile_client.py does the hostile part and prints what it saw.
. "$(dirname "$0")/lib.sh"

HOSTILE=("$PY" "$(dirname "$0")/hostile_client.py")
PEER=("$PY" "$(dirname "$0")/sse_peer.py")
MAX_CONN=200
MAX_MESSAGE=65536
RSS_LIMIT_KIB=$((64 * 1024))
GAP_LIMIT_MS=$(slow 1000)
# seconds SECONDS_NORMALLY: the same, or 20 times it under valgrind.
secs() { echo $(($(slow "$(($1 * 1000))") / 1000)); }
now() { date +%s.%N; }

# expect_lines PHASE EXPECTED_FILE ACTUAL_FILE: each expected line is
# "NAME WHAT..."; the actual line of NAME must say exactly the same.
expect_lines() {
    local phase=$1 name want got
    while read -r name want; do
        [ -z "$name" ] && continue
        got=$(awk -v n="$name" '$1 == n { $1 = ""; sub(/^ /, ""); print; exit }' "$3")
        expect_eq "$phase: $name: $want" "$want" "$got"
    done <"$2"
}

serve_fds() { find "/proc/$SERVE_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
fds_back() { [ "$(serve_fds)" -le "$BASE_FDS" ]; }
# settled SECONDS PHASE: serve holds no connection beyond the witnesses'
# within SECONDS (a hostile one left open, or a slot leaked, fails it).
settled() {
    if wait_until "$1" fds_back; then
        pass "$2: every hostile connection is gone within $1 s"
    else
        fail "$2: $(($(serve_fds) - BASE_FDS)) connections still open after $1 s"
    fi
}
alive() { check "serve still running after $1" kill -0 "$SERVE_PID"; }

# drops: subscribers dropped so far, from -v's line for each.
drops() { grep -c 'dropped: [0-9]* bytes pending (over --max-queue)' "$TMP/serve.err"; }
# publish_until DROPS MAX_BATCHES: batches of 40 publishes of 16 KB until
# DROPS subscribers were dropped in all; the 202s add up in $PUBLISHED.
publish_until() {
    local i ok
    for ((i = 0; i < $2; i++)); do
        read -r ok _ <<<"$("${PEER[@]}" flood "$SERVE_PORT" 40 16000)"
        PUBLISHED=$((PUBLISHED + ok))
        [ "$(drops)" -ge "$1" ] && return 0
    done
    return 1
}

# ------------------------------------------------------------ the server
# Small bounds, so that each is reached with little traffic. --history 50:
# what history holds (two copies of the last 50 events) is not what is
# measured; nor is AddressSanitizer's quarantine of freed memory.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1 \
    start_serve --max-connections "$MAX_CONN" --header-timeout 1s --idle-timeout 2s \
    --max-queue 64k --max-message 64k --tick 50ms --history 50 -v 2>"$TMP/serve.err"
PORT=$SERVE_PORT

# RSS of serve every 100 ms, the largest so far in $TMP/rss.max.
rss_sampler() {
    local max=0 r
    while kill -0 "$SERVE_PID" 2>/dev/null; do
        r=$(rss_kb "$SERVE_PID")
        if [ "$r" -gt "$max" ]; then
            max=$r
            echo "$max" >"$TMP/rss.max"
        fi
        sleep 0.1
    done
}
bg rss_sampler

# ------------------------------------------------------------ witnesses
bg "$EVCAT" listen --no-reconnect -o json "$SERVE_URL/sse" >"$TMP/w_sse.jsonl" 2>"$TMP/w_sse.err"
W_SSE=$BG_PID
bg "$EVCAT" listen -o json "ws://127.0.0.1:$PORT/ws" >"$TMP/w_ws.jsonl" 2>"$TMP/w_ws.err"
W_WS=$BG_PID
check "SSE witness receives ticks" wait_until "$(secs 10)" grep -q '"event":"tick"' "$TMP/w_sse.jsonl"
check "WebSocket witness receives ticks" wait_until "$(secs 10)" grep -q 'seq' "$TMP/w_ws.jsonl"
sleep 0.3
BASE_FDS=$(serve_fds)
T_START=$(now)

# ------------------------------------------------------------ malformed heads
cat >"$TMP/malformed.want" <<'EOF'
garbage-line 400 closed
binary-garbage 400 closed
tls-client-hello 400 closed
nul-in-method 400 closed
nul-in-target 400 closed
nul-in-value 400 closed
nul-in-name 400 closed
bare-cr 400 closed
bare-cr-line-end 400 closed
obs-fold 400 closed
obs-fold-tab 400 closed
space-before-colon 400 closed
no-colon 400 closed
empty-name 400 closed
no-host 400 closed
two-hosts 400 closed
double-space 400 closed
tab-separator 400 closed
relative-target 400 closed
star-with-get 400 closed
lowercase-version 400 closed
version-garbage 400 closed
http-0.9 400 closed
http-0.9-version 505 closed
http2-preface 505 closed
http-2.0 505 closed
cl-and-te 400 closed
te-and-cl 400 closed
cl-differs 400 closed
cl-list-differs 400 closed
cl-negative 400 closed
cl-plus 400 closed
cl-hex 400 closed
cl-empty 400 closed
cl-overflow 400 closed
cl-huge 413 closed
te-not-chunked-last 400 closed
te-xchunked 400 closed
te-chunked-twice 400 closed
te-gzip-chunked 501 closed
te-in-http-1.0 400 closed
chunk-size-bad 400 closed
chunk-size-negative 400 closed
chunk-size-overflow 413 closed
chunk-data-too-long 400 closed
chunk-bare-cr 400 closed
body-on-get 400 closed
expect-other 417 closed
bad-utf8-body 400 closed
bad-escape-event 400 closed
ok-bare-lf 204 open
ok-leading-crlf 204 open
ok-cl-repeated-same 202 open
ok-absolute-form 204 open
ok-http-1.9 204 open
EOF
"${HOSTILE[@]}" malformed "$PORT" >"$TMP/malformed.out" 2>&1
expect_lines "malformed" "$TMP/malformed.want" "$TMP/malformed.out"

# RFC 9112 section 3: a request-target longer than the server parses is
# 414, a method longer than any it implements 501; the rest of a head over
# its bound 431.
cat >"$TMP/oversized.want" <<'EOF'
one-header-20k 431 closed
headers-total-18k 431 closed
150-headers 431 closed
uri-20k 414 closed
uri-20k-unfinished 414 closed
method-20k 501 closed
method-20k-unfinished 501 closed
no-line-end-1M 431 closed
empty-lines-20k 431 closed
ok-head-16k 204 open
EOF
"${HOSTILE[@]}" oversized-head "$PORT" >"$TMP/oversized.out" 2>&1
expect_lines "oversized head" "$TMP/oversized.want" "$TMP/oversized.out"

# ------------------------------------------------------------ WebSocket
# RFC 6455 section 4.2.2: an unsupported (or missing) version is answered
# 426 with Sec-WebSocket-Version: 13; any other bad upgrade 400.
cat >"$TMP/upgrade.want" <<'EOF'
no-key 400 closed
empty-key 400 closed
short-key 400 closed
key-not-base64 400 closed
key-17-bytes 400 closed
two-keys 400 closed
no-version 426 closed v13
version-8 426 closed v13
version-14 426 closed v13
version-garbage 426 closed v13
no-connection-upgrade 400 closed
connection-keep-alive 400 closed
upgrade-h2c 400 closed
no-upgrade 426 closed v13
http-1.0 400 closed
post-upgrade 405 closed
upgrade-with-body 400 closed
ws-no-key 400 closed
ws-version-8 426 closed v13
two-versions 400 closed
ok-upgrade-on-sse 200 open
ok-upgrade-unknown-path 404 open
EOF
"${HOSTILE[@]}" ws-upgrade "$PORT" >"$TMP/upgrade.out" 2>&1
expect_lines "WebSocket upgrade" "$TMP/upgrade.want" "$TMP/upgrade.out"

cat >"$TMP/frames.want" <<'EOF'
unmasked-text close 1002 closed
unmasked-text-ws close 1002 closed
over-max-message close 1009 closed
over-max-message-ws close 1009 closed
over-max-fragmented close 1009 closed
length-msb-set close 1002 closed
rsv1-set close 1002 closed
rsv3-set close 1002 closed
opcode-3 close 1002 closed
opcode-b close 1002 closed
ping-126 close 1002 closed
ping-fragmented close 1002 closed
continuation-first close 1002 closed
new-message-mid-fragment close 1002 closed
bad-utf8 close 1007 closed
bad-utf8-fragmented close 1007 closed
close-1-byte close 1002 closed
close-code-1005 close 1002 closed
close-code-999 close 1002 closed
close-bad-utf8-reason close 1007 closed
ok-close-1000 close 1000 closed
EOF
"${HOSTILE[@]}" ws-frames "$PORT" "$MAX_MESSAGE" >"$TMP/frames.out" 2>&1
expect_lines "WebSocket frames" "$TMP/frames.want" "$TMP/frames.out"
alive "malformed requests and frames"
settled "$(secs 5)" "malformed requests and frames"

# ------------------------------------------------------------ slowloris
# A head one byte every 200 ms never completes: --header-timeout (1 s)
# answers 408 and closes, whatever still trickles in. A connection that
# sends nothing is closed without a word.
bound=$((1 + $(secs 1)))
"${HOSTILE[@]}" slowloris "$PORT" 50 "$(secs 5)" 0.2 >"$TMP/slow.out" 2>&1 &
SLOW=$!
"${HOSTILE[@]}" silent "$PORT" 50 "$(secs 5)" >"$TMP/silent.out" 2>&1
wait "$SLOW"
read -r _ _ n _ t _ st _ <"$TMP/slow.out"
expect_eq "slowloris: all 50 closed" "50/50" "$n"
check "slowloris: closed within --header-timeout + slack (${t}, bound ${bound}s)" \
    $PY -c "import sys; sys.exit(float('${t%s}') > $bound)"
expect_eq "slowloris: each got 408" "408x50" "$st"
read -r _ _ n _ t _ b <"$TMP/silent.out"
expect_eq "silent: all 50 closed" "50/50" "$n"
check "silent: closed within --header-timeout + slack (${t}, bound ${bound}s)" \
    $PY -c "import sys; sys.exit(float('${t%s}') > $bound)"
expect_eq "silent: closed without a response" 0 "$b"
check "-v: the 408s are logged" grep -qE '^127\.0\.0\.1:[0-9]+ - - 408 request head not received' "$TMP/serve.err"
alive "slowloris"
settled "$(secs 4)" "slowloris"

# ------------------------------------------------------------ non-readers
# 5 SSE and 5 WebSocket subscribers with a 2 KiB receive buffer that never
# read, while the channel carries 16 KB events: once the kernel's buffers
# and --max-queue (64k) are full, each is dropped, counted and warned about;
# the witnesses, reading, are not.
PUBLISHED=0
"${HOSTILE[@]}" non-reader "$PORT" 5 5 "$TMP/nr1.flag" "$(secs 30)" >"$TMP/nr1.out" 2>&1 &
NR=$!
check "non-readers subscribed" wait_until "$(secs 5)" grep -qs ready "$TMP/nr1.out"
rss_nr0=$(rss_kb "$SERVE_PID")
check "10 non-readers dropped while publishing" publish_until 10 25
touch "$TMP/nr1.flag"
# The warning is rate-limited: the rest of a burst comes a second later.
# ("; 10 in all)": the warning reads "(over --max-queue 64k; 10 in all)".)
check "non-reader: the rest of the burst is warned about within $(secs 3) s" \
    wait_until "$(secs 3)" grep -qF '; 10 in all)' "$TMP/serve.err"
wait "$NR"
expect_eq "non-reader: every SSE one was dropped" "5/5" "$(awk '$1 == "sse" {print $3}' "$TMP/nr1.out")"
expect_eq "non-reader: every /ws one was dropped" "5/5" "$(awk '$1 == "ws" && $2 == "dropped" {print $3}' "$TMP/nr1.out")"
expect_eq "non-reader: /ws ones got close 1008" "1008" "$(awk '$1 == "ws" && $2 == "close" {print $3}' "$TMP/nr1.out")"
check "non-reader: counted in the warning ('10 in all')" \
    grep -qE 'warning: serve: dropped [0-9]+ subscribers? that stopped reading \(over --max-queue 64k; 10 in all\)' "$TMP/serve.err"
expect_eq "non-reader: -v names each drop" 10 "$(drops)"
rss_nr1=$(rss_kb "$SERVE_PID")
echo "# published $PUBLISHED events of 16 KB; serve RSS $rss_nr0 -> $rss_nr1 KiB"
alive "non-readers"
settled "$(secs 4)" "non-readers"

# ------------------------------------------------------------ abrupt ends
"${HOSTILE[@]}" abort-mid-frame "$PORT" 20 >"$TMP/abort.out" 2>&1
for c in echo-half-header echo-half-mask echo-short-payload ws-short-payload echo-big-unread \
    frame-before-101 ws-after-close publish-mid-body publish-mid-chunk publish-mid-chunk-size \
    mid-head sse-reset pipelined-reset; do
    expect_eq "reset mid-way: $c, 20 times" 20 "$(awk -v n="$c" '$1 == n {print $2}' "$TMP/abort.out")"
done
alive "connections reset mid-frame and mid-body"
settled "$(secs 4)" "resets"

# ------------------------------------------------------------ all at once
"${HOSTILE[@]}" non-reader "$PORT" 3 3 "$TMP/nr2.flag" "$(secs 30)" >"$TMP/nr2.out" 2>&1 &
NR=$!
wait_until "$(secs 5)" grep -qs ready "$TMP/nr2.out"
pids=()
"${HOSTILE[@]}" slowloris "$PORT" 30 "$(secs 5)" 0.2 >"$TMP/c_slow.out" 2>&1 &
pids+=($!)
"${HOSTILE[@]}" silent "$PORT" 20 "$(secs 5)" >"$TMP/c_silent.out" 2>&1 &
pids+=($!)
"${HOSTILE[@]}" abort-mid-frame "$PORT" 5 >"$TMP/c_abort.out" 2>&1 &
pids+=($!)
"${HOSTILE[@]}" malformed "$PORT" >"$TMP/c_malformed.out" 2>&1 &
pids+=($!)
"${HOSTILE[@]}" oversized-head "$PORT" >"$TMP/c_oversized.out" 2>&1 &
pids+=($!)
"${HOSTILE[@]}" ws-upgrade "$PORT" >"$TMP/c_upgrade.out" 2>&1 &
pids+=($!)
"${HOSTILE[@]}" ws-frames "$PORT" "$MAX_MESSAGE" >"$TMP/c_frames.out" 2>&1 &
pids+=($!)
check "all at once: 6 more non-readers dropped while publishing" publish_until 16 25
touch "$TMP/nr2.flag"
wait "${pids[@]}" "$NR"
expect_lines "all at once: malformed" "$TMP/malformed.want" "$TMP/c_malformed.out"
expect_lines "all at once: oversized" "$TMP/oversized.want" "$TMP/c_oversized.out"
expect_lines "all at once: upgrade" "$TMP/upgrade.want" "$TMP/c_upgrade.out"
expect_lines "all at once: frames" "$TMP/frames.want" "$TMP/c_frames.out"
expect_eq "all at once: slowloris" "slowloris closed 30/30 status 408x30" \
    "$(awk '{print $1, $2, $3, $6, $7}' "$TMP/c_slow.out")"
expect_eq "all at once: silent" "silent closed 20/20 bytes 0" "$(awk '{print $1, $2, $3, $6, $7}' "$TMP/c_silent.out")"
expect_eq "all at once: resets" 13 "$(awk '$2 == 5' "$TMP/c_abort.out" | wc -l)"
expect_eq "all at once: non-readers dropped" "sse dropped 3/3 ws dropped 3/3" \
    "$(awk '$2 == "dropped"' "$TMP/nr2.out" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "all at once: exactly the 6 non-readers dropped (-v)" 16 "$(drops)"
alive "everything at once"
settled "$(secs 5)" "everything at once"

# ------------------------------------------------------------ flood
# 300 subscribers at once against --max-connections 200, 2 taken by the
# witnesses: 198 admitted (so no slot leaked in all of the above), 102
# answered 503 with Retry-After and closed.
"${HOSTILE[@]}" flood "$PORT" 300 1 >"$TMP/flood.out" 2>&1
expect_eq "flood: 198 admitted, 102 refused with 503 + Retry-After and closed" \
    "200 198 503 102 closed 102 retry-after 102 other 0" "$(cat "$TMP/flood.out")"
check "flood: -v logs the 503s" grep -qE '^127\.0\.0\.1:[0-9]+ - - 503 too many connections' "$TMP/serve.err"
check "flood: refusals are warned about and counted" wait_until "$(secs 3)" \
    grep -qE 'warning: serve: refused [0-9]+ connections? over --max-connections 200 \(102 in all\)' "$TMP/serve.err"
alive "the flood"
settled "$(secs 4)" "the flood"

# ------------------------------------------------------------ afterwards
out=$("$EVCAT" listen -n 3 --timeout "$(secs 5)s" -o json "$SERVE_URL/sse" 2>&1)
expect_eq "afterwards: a new SSE client gets 3 events" 3 "$(printf '%s\n' "$out" | grep -c '"event":"tick"')"
out=$("$EVCAT" listen -n 3 --timeout "$(secs 5)s" -o json "ws://127.0.0.1:$PORT/ws" 2>&1)
expect_eq "afterwards: a new WebSocket client gets 3 messages" 3 "$(printf '%s\n' "$out" | grep -c 'seq')"
expect_match "afterwards: publishing works" '^\{"id":[0-9]+\}$' "$(curl -s -d after "$SERVE_URL/publish")"
T_END=$(now)
sleep 0.3 # a few ticks more: the witnesses' view must reach past T_END

check "witnesses still connected" kill -0 "$W_SSE" "$W_WS"
rss_max=$(cat "$TMP/rss.max" 2>/dev/null || echo 0)
echo "# serve's peak RSS: $rss_max KiB"
check_rss "serve's RSS stayed bounded throughout" "$rss_max" "$RSS_LIMIT_KIB"

kill -TERM "$SERVE_PID"
wait "$SERVE_PID"
expect_eq "serve exits 0 on SIGTERM" 0 "$?"
wait "$W_SSE"
expect_eq "SSE witness: the stream ended cleanly (exit 0)" 0 "$?"
wait "$W_WS"
expect_eq "WebSocket witness: close 1001 (exit 0)" 0 "$?"
check "summary: exactly the 16 non-readers dropped" grep -qE '; dropped 16 slow subscribers;' "$TMP/serve.err"
for f in serve w_sse w_ws; do
    check "no sanitizer report ($f)" bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|UndefinedBehaviorSanitizer' '$TMP/$f.err'"
done

# The witnesses' view: every tick, in order, none late, from before the
# first hostile client to after the last.
witness() { # witness FILE KIND
    $PY - "$1" "$2" "$T_START" "$T_END" <<'PY'
import datetime, json, sys
path, kind, t0, t1 = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
ts, seqs, load = [], [], 0
for line in open(path):
    r = json.loads(line)
    t = datetime.datetime.strptime(r["ts"], "%Y-%m-%dT%H:%M:%S.%fZ")
    ts.append(t.replace(tzinfo=datetime.timezone.utc).timestamp())
    data = r.get("data", "")
    if len(data) == 16000 and data.startswith("xxxx"):  # sse_peer.py flood's
        load += 1
    if (kind == "sse" and r.get("event") == "tick") or (kind == "ws" and data.startswith('{"seq"')):
        seqs.append(json.loads(data)["seq"])
gaps = [b - a for a, b in zip(seqs, seqs[1:]) if b != a + 1]
maxgap = max((b - a for a, b in zip(ts, ts[1:]) if b >= t0 and a <= t1), default=99)
print("contiguous" if seqs and not gaps else "gaps %s" % gaps[:5], "%d" % len(seqs),
      "%.0f" % (maxgap * 1000), "covers" if ts and ts[0] < t0 and ts[-1] > t1 else "short", load)
PY
}
for w in sse ws; do
    read -r contig nticks gap covers load <<<"$(witness "$TMP/w_$w.jsonl" "$w")"
    expect_eq "$w witness: tick sequence numbers contiguous ($nticks ticks)" contiguous "$contig"
    check "$w witness: longest silence ${gap} ms < ${GAP_LIMIT_MS} ms" test "$gap" -lt "$GAP_LIMIT_MS"
    expect_eq "$w witness: received from before the first hostile client to after the last" covers "$covers"
    expect_eq "$w witness: every published 16 KB event ($PUBLISHED)" "$PUBLISHED" "$load"
done

# ------------------------------------------------------------ ping floods
# A WebSocket client that pings without reading the pongs, on a server that
# broadcasts nothing (no ticks, no keepalive): reading it must stop at
# --max-queue instead of queueing pongs without end.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1 \
    start_serve --tick 0 --keepalive 0 --max-queue 64k -v 2>"$TMP/ping.err"
rss0=$(rss_kb "$SERVE_PID")
"${HOSTILE[@]}" ping-flood "$SERVE_PORT" /ws 2 >"$TMP/pf_ws.out" 2>&1 &
PF=$!
"${HOSTILE[@]}" ping-flood "$SERVE_PORT" /echo 2 >"$TMP/pf_echo.out" 2>&1
wait "$PF"
rss1=$(rss_kb "$SERVE_PID")
echo "# $(cat "$TMP/pf_ws.out"); $(cat "$TMP/pf_echo.out")"
check_rss "ping floods on /ws and /echo: serve's RSS grew less than 16 MiB ($rss0 -> $rss1 KiB)" \
    $((rss1 - rss0)) $((16 * 1024))
for p in ws echo; do
    sent=$(awk '{print $4}' "$TMP/pf_$p.out")
    check "ping flood on /$p: the server stopped reading (${sent} bytes taken)" test "${sent:-0}" -lt $((32 << 20))
done
expect_match "after the ping floods: publishing works" '^\{"id":[0-9]+\}$' "$(curl -s -d x "$SERVE_URL/publish")"
kill -TERM "$SERVE_PID"
wait "$SERVE_PID"
expect_eq "ping-flood server exits 0 on SIGTERM" 0 "$?"
check "no sanitizer report (ping-flood server)" bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|UndefinedBehaviorSanitizer' '$TMP/ping.err'"

finish
