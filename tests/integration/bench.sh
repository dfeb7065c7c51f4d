#!/usr/bin/env bash
# evcat bench against real servers on loopback (evcat serve, nginx + nchan),
# with small numbers (at most 2,000 connections): the JSON summary's counts,
# latencies and errors by kind, thresholds and exit codes, worker processes,
# two URLs side by side, interruption, usage errors.
. "$(dirname "$0")/lib.sh"

# ge A B: A >= B as numbers
ge() { $PY -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)' "$1" "$2"; }

B() { "$EVCAT" bench -q "$@"; }

# ---- usage errors: exit 2, one line ----
expect_usage "no URL" bench
expect_usage "three URLs" bench ws://127.0.0.1:1/ ws://127.0.0.1:1/ ws://127.0.0.1:1/
expect_usage "not a URL" bench ftp://127.0.0.1/
expect_usage "size below the stamp" bench --size 10 ws://127.0.0.1:1/
expect_usage "assert without a unit" bench --assert 'p99<50' ws://127.0.0.1:1/
expect_usage "assert unknown metric" bench --assert 'p42<5ms' ws://127.0.0.1:1/
expect_usage "echo needs ws" bench --mode echo http://127.0.0.1:1/
expect_usage "message rate needs echo" bench -r 5 http://127.0.0.1:1/
expect_usage "publish rate needs publish" bench --publish-rate 5 http://127.0.0.1:1/
expect_usage "publish timeout needs publish" bench --publish-timeout 5s http://127.0.0.1:1/
expect_usage "publish timeout of 0" bench --publish-timeout 0 --publish http://127.0.0.1:1/p http://127.0.0.1:1/
expect_usage "proxy refused" bench -x http://127.0.0.1:3128 ws://127.0.0.1:1/
expect_usage "zero connections" bench -c 0 ws://127.0.0.1:1/
expect_usage "bad duration" bench -d forever ws://127.0.0.1:1/
expect_usage "source of another family" bench --source ::1 ws://127.0.0.1:1/
# An address no interface has: named as such before the run, not counted
# as running out of ports (bind() says EADDRNOTAVAIL for both). A bind
# test sends nothing. With --shard, only this shard's slice is checked.
expect_usage "source not on this machine" bench -c 3 -d 300ms --source 203.0.113.7 ws://127.0.0.1:1/
grep -q "source 203.0.113.7: not an address of this machine" "$TMP/err" &&
    pass "  named as not this machine's" || fail "  named as not this machine's: $(cat "$TMP/err")"
expect_rc "--shard: another shard's --source is not checked" 1 \
    B -c 2 -d 100ms --source 203.0.113.7,127.0.0.1 --shard 1/2 ws://127.0.0.1:1/
expect_usage "publish not http" bench --publish ws://x/ http://127.0.0.1:1/
expect_usage "sse driver unknown" bench --sse-driver wget http://127.0.0.1:1/
expect_usage "sse driver needs SSE" bench --sse-driver curl ws://127.0.0.1:1/
expect_usage "sse driver not for streams" bench --sse-driver curl --requests 5 http://127.0.0.1:1/
# shards (the cluster and k8s tests run and merge them)
expect_usage "shard index past its count" bench --shard 2/2 ws://127.0.0.1:1/
expect_usage "shard not I/N" bench --shard 1 ws://127.0.0.1:1/
expect_usage "shard count 0" bench --shard 0/0 ws://127.0.0.1:1/
expect_usage "shard of two URLs" bench --shard 0/2 ws://127.0.0.1:1/ ws://127.0.0.1:2/
expect_usage "shard with no connection" bench -c 1 --shard 1/2 ws://127.0.0.1:1/
expect_usage "start-at not a time" bench --start-at soon ws://127.0.0.1:1/
expect_usage "start-at long past" bench --start-at 2020-01-01T00:00:00Z ws://127.0.0.1:1/
expect_usage "partial outside merge" bench --partial ws://127.0.0.1:1/
expect_usage "merge without files" bench merge
expect_usage "merge with a run option" bench merge -c 5 "$TMP/none.json"
expect_usage "merge of a missing file" bench merge "$TMP/none.json"
printf 'not a shard\n' >"$TMP/noshard.json"
expect_usage "merge of a file without a shard" bench merge "$TMP/noshard.json"
grep -q -- "--assert" <("$EVCAT" bench --help) && pass "help lists --assert" || fail "help lists --assert"

start_serve --tick 100ms --max-connections 5000 -q
WS=ws://127.0.0.1:$SERVE_PORT
HTTP=$SERVE_URL

# ---- WebSocket echo ----
expect_rc "echo: 200 connections, exit 0" 0 \
    "$EVCAT" bench -q -c 200 --connect-rate 2000 -d 2s -r 5 --json "$TMP/echo.json" "$WS/echo"
J=$TMP/echo.json
expect_eq "echo: target" 200 "$(jv "$J" connections.target)"
expect_eq "echo: established" 200 "$(jv "$J" connections.established)"
expect_eq "echo: failed" 0 "$(jv "$J" connections.failed)"
expect_eq "echo: dropped" 0 "$(jv "$J" connections.dropped)"
expect_eq "echo: no errors" "{}" "$(jv "$J" errors)"
expect_eq "echo: mode" echo "$(jv "$J" mode)"
sent=$(jv "$J" messages.sent)
recv=$(jv "$J" messages.received)
# 200 x 5/s x 2 s = 2000 in the window, give or take the edges
check "echo: about 2000 sent ($sent)" ge "$sent" 1800
check "echo: not more than asked ($sent)" ge 2200 "$sent"
check "echo: echoes came back ($recv)" ge "$recv" 1800
check "echo: a latency sample per echo" ge "$(jv "$J" latency_ms.samples)" 1800
check "echo: p50 > 0" ge "$(jv "$J" latency_ms.p50)" 0.001
check "echo: p99 >= p50" ge "$(jv "$J" latency_ms.p99)" "$(jv "$J" latency_ms.p50)"
check "echo: max >= p999" ge "$(jv "$J" latency_ms.max)" "$(jv "$J" latency_ms.p999)"
check "echo: connect p99 > 0" ge "$(jv "$J" connect_ms.p99)" 0.001
check "echo: recv_rate ~1000/s" ge "$(jv "$J" messages.recv_rate)" 900
check "echo: bytes = 64 x sent" test "$(jv "$J" bytes.sent)" -eq $((sent * 64))
check "echo: cpu measured" ge "$(jv "$J" cpu_seconds)" 0.000001
check "echo: peak rss" ge "$(jv "$J" peak_rss_bytes)" 1000000
expect_eq "echo: one process" 1 "$(jv "$J" procs)"
expect_eq "echo: not interrupted" false "$(jv "$J" interrupted)"

# the text summary
"$EVCAT" bench -q -c 20 -d 500ms -r 10 --size 100 --binary "$WS/echo" >"$TMP/sum.txt" 2>"$TMP/sum.err"
check "summary: connections line" grep -q "connections  20/20 established, 0 failed, 0 dropped" "$TMP/sum.txt"
check "summary: latency line" grep -qE "latency +p50 .* p99 .* max " "$TMP/sum.txt"
check "summary: errors none" grep -qE "errors +none" "$TMP/sum.txt"
check "summary: nothing on stderr with -q" test ! -s "$TMP/sum.err"

# progress lines (not a terminal: one plain line per second)
"$EVCAT" bench -c 10 -d 2500ms "$WS/echo" >/dev/null 2>"$TMP/prog.err"
n=$(grep -c '^\[ *[0-9]*s\] ' "$TMP/prog.err")
check "progress: a line per second ($n)" test "$n" -ge 2 -a "$n" -le 4
check "progress: no carriage returns in a log" bash -c "! grep -q $'\r' '$TMP/prog.err'"

# ---- thresholds ----
expect_rc "assert: passing ones, exit 0" 0 \
    B -c 20 -d 500ms -r 10 --assert 'connected==20' --assert 'errors==0' --assert 'p99<5s' "$WS/echo"
expect_rc "assert: failing one, exit 3" 3 \
    B -c 20 -d 500ms -r 10 --assert 'p99<1us' --assert 'errors==0' --assert 'recv_rate>=1000000000' "$WS/echo"
check "assert: each failure named" grep -q "p99 < 1us failed" "$TMP/rc.err"
check "assert: rate failure named" grep -q "recv_rate >= " "$TMP/rc.err"
check "assert: passing one not named" bash -c "! grep -q 'errors == 0' '$TMP/rc.err'"
B -c 5 -d 1s -r 20 --assert 'p99<1us' --assert 'connected>=5' --json "$TMP/as.json" "$WS/echo" 2>/dev/null
# Streams whose events carry no timestamp: not one latency sample.
expect_rc "assert: no samples is a failure" 3 B -c 2 -d 500ms --latency-field nosuch --assert 'p99<3600s' "$HTTP/sse"
check "assert: no samples named" grep -q "p99 < 3600s failed: no latency samples" "$TMP/rc.err"
expect_eq "assert: outcomes in JSON" '[["p99 < 1us", false], ["connected >= 5", true, 5, "5"]]' \
    "$($PY -c 'import json,sys; a=json.load(open(sys.argv[1]))["assertions"]; print(json.dumps([[a[0]["expr"], a[0]["ok"]], [a[1]["expr"], a[1]["ok"], a[1]["value"], a[1]["measured"]]]))' "$TMP/as.json")"
check "assert: a failed time's value in ms" $PY -c 'import json,sys; a=json.load(open(sys.argv[1]))["assertions"][0]; sys.exit(0 if a["value"] > 0.001 and a["measured"].endswith("us") else 1)' "$TMP/as.json"

# ---- failures by kind ----
dead=$(free_port)
expect_rc "refused: no connection, exit 1" 1 B -c 30 -d 1s --json "$TMP/ref.json" "ws://127.0.0.1:$dead/"
check "refused: named on stderr" grep -q "no connection could be established" "$TMP/rc.err"
expect_eq "refused: counted by kind" 30 "$(jv "$TMP/ref.json" errors.refused)"
expect_eq "refused: failed" 30 "$(jv "$TMP/ref.json" connections.failed)"
# SSE subscribers send their request right after connect(): a refusal
# seen there is still "refused", not a reset.
expect_rc "SSE refused: exit 1" 1 B -c 30 -d 1s --json "$TMP/ref2.json" "http://127.0.0.1:$dead/sse"
expect_eq "SSE refused: counted by kind" 30 "$(jv "$TMP/ref2.json" errors.refused)"
# A listener that never accepts, its queue full: the first connections
# complete TCP and get no answer, the rest stay unconnected (SYNs dropped),
# so the request goes right after connect() for some and after waiting for
# writability for others; all end at --connect-timeout.
mute=$(free_port)
$PY -c 'import socket,sys,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(60)' "$mute" &
mute_pid=$!
wait_port "$mute"
for u in "ws://127.0.0.1:$mute/" "http://127.0.0.1:$mute/sse"; do
    expect_rc "no answer ($u): exit 1" 1 B -c 12 --connect-timeout 1s -d 200ms --json "$TMP/mute.json" "$u"
    expect_eq "no answer ($u): connect_timeout" 12 "$(jv "$TMP/mute.json" errors.connect_timeout)"
done
kill "$mute_pid" 2>/dev/null; wait "$mute_pid" 2>/dev/null
expect_rc "404 instead of 101: exit 1" 1 B -c 10 -d 1s --json "$TMP/hs.json" "$WS/nothing"
expect_eq "404: handshake errors" 10 "$(jv "$TMP/hs.json" errors.handshake)"
expect_rc "SSE 404: exit 1" 1 B -c 10 -d 1s --json "$TMP/st.json" "$HTTP/nothing"
expect_eq "SSE 404: http_status errors" 10 "$(jv "$TMP/st.json" errors.http_status)"
expect_rc "SSE URL that is WebSocket: exit 1" 1 B -c 5 -d 1s --json "$TMP/st2.json" "$HTTP/echo"
check "SSE on /echo: http_status" ge "$(jv "$TMP/st2.json" errors.http_status)" 5

# ---- many connections from one --source address: warned ----
timeout -s INT 2 "$EVCAT" bench -c 12001 --connect-rate 10 --source 127.0.0.5 ws://127.0.0.1:1/ \
    2>"$TMP/src.err" >/dev/null
check "12,001 connections from one --source: warned" grep -q "connect() slows down past ~12000 an address" "$TMP/src.err"
timeout -s INT 2 "$EVCAT" bench -c 12001 --connect-rate 10 --source 127.0.0.5,127.0.0.6 ws://127.0.0.1:1/ \
    2>"$TMP/src2.err" >/dev/null
check "12,001 connections from two: no warning" test -z "$(grep "slows down" "$TMP/src2.err")"

# ---- a slow publish endpoint: the answers to the last POSTs are waited for ----
SLOW_PORT=$(free_port)
bg "$PY" "$(dirname "$0")/slow_publish.py" "$SLOW_PORT" 0.8 >"$TMP/slow.log"
SLOW_PID=$BG_PID
wait_port "$SLOW_PORT"
for procs in 1 2; do
    : >"$TMP/slow.log"
    expect_rc "slow publisher, -p $procs: exit 0" 0 B -p "$procs" -c 4 -d 1s --mode subscribe \
        --publish "http://127.0.0.1:$SLOW_PORT/publish" --publish-rate 4 --json "$TMP/slow$procs.json" "$WS/ws"
    posted=$(grep -c '^POST' "$TMP/slow.log")
    check "slow publisher, -p $procs: POSTs made ($posted)" ge "$posted" 4
    expect_eq "slow publisher, -p $procs: sent = the POSTs the endpoint took (answered 0.8 s later)" \
        "$posted" "$(jv "$TMP/slow$procs.json" messages.sent)"
done
expect_rc "slow publisher, --publish-timeout 300ms: exit 0" 0 B -c 4 -d 1s --mode subscribe \
    --publish "http://127.0.0.1:$SLOW_PORT/publish" --publish-rate 4 --publish-timeout 300ms \
    --json "$TMP/slowt.json" "$WS/ws"
expect_eq "--publish-timeout 300ms: nothing counted as sent" 0 "$(jv "$TMP/slowt.json" messages.sent)"
check "--publish-timeout 300ms: publish errors" ge "$(jv "$TMP/slowt.json" errors.publish)" 4
kill "$SLOW_PID"

# ---- subscribers: SSE and WebSocket, with a publisher ----
# SSE on each driver: the native HTTP/1.1 one (default) and libcurl
for drv in native curl; do
    expect_rc "sse $drv: 300 streams with --publish" 0 \
        B -c 300 --connect-rate 3000 -d 2s --sse-driver $drv --publish "$HTTP/publish" \
        --publish-rate 20 --json "$TMP/sse.json" "$HTTP/sse"
    J=$TMP/sse.json
    expect_eq "sse $drv: established" 300 "$(jv "$J" connections.established)"
    expect_eq "sse $drv: mode" sse "$(jv "$J" mode)"
    pub=$(jv "$J" messages.sent)
    check "sse $drv: ~40 published ($pub)" ge "$pub" 30
    # ticks (10/s) and published messages (20/s) reach every stream
    check "sse $drv: fan-out received" ge "$(jv "$J" messages.received)" $((300 * 50))
    check "sse $drv: latency samples" ge "$(jv "$J" latency_ms.samples)" $((300 * 50))
    expect_eq "sse $drv: no errors" "{}" "$(jv "$J" errors)"
done
"$EVCAT" bench -v -c 2 -d 200ms "$HTTP/sse" 2>&1 | grep -q "SSE subscribers on the native HTTP/1.1 driver" &&
    pass "-v names the native driver" || fail "-v names the native driver"
"$EVCAT" bench -v -c 2 -d 200ms --sse-driver curl "$HTTP/sse" 2>&1 | grep -q "SSE subscribers on libcurl" &&
    pass "-v names libcurl" || fail "-v names libcurl"
# the default thread count follows the load (echo): 40 msg/s is one
# thread whatever the cores; 4 x 60,000 msg/s needs 3 (100,000 a thread),
# as many as there are cores; -t overrides it; subscribe takes every core
"$EVCAT" bench -v -c 4 -r 10 -d 200ms --json "$TMP/t1.json" "$WS/echo" >/dev/null 2>"$TMP/t1.err"
grep -q "threads per process: 1 (-t not given; echo needs 1 (40 msg/s" "$TMP/t1.err" &&
    pass "-v: a small echo load gets 1 thread, and why" || fail "-v: a small echo load gets 1 thread: $(grep threads "$TMP/t1.err")"
expect_eq "a small echo load runs 1 thread" 1 "$(jv "$TMP/t1.json" threads)"
want=$(nproc); [ "$want" -gt 3 ] && want=3
"$EVCAT" bench -v -c 4 -r 60000 -d 100ms --json "$TMP/t3.json" "$WS/echo" >/dev/null 2>"$TMP/t3.err"
grep -q "threads per process: $want (-t not given; echo needs 3 (240000 msg/s" "$TMP/t3.err" &&
    pass "-v: a big echo load gets min(3, cores) threads" || fail "-v: a big echo load: $(grep threads "$TMP/t3.err")"
expect_eq "a big echo load runs min(3, cores) threads" "$want" "$(jv "$TMP/t3.json" threads)"
"$EVCAT" bench -v -t 2 -c 4 -r 10 -d 100ms --json "$TMP/t2.json" "$WS/echo" >/dev/null 2>"$TMP/t2.err"
expect_eq "-t 2 is taken as given" 2 "$(jv "$TMP/t2.json" threads)"
if grep -q "threads per process" "$TMP/t2.err"; then fail "-t given: no thread rule line"; else pass "-t given: no thread rule line"; fi
"$EVCAT" bench -v --mode subscribe -c 4 -d 100ms "$WS/ws" 2>&1 >/dev/null |
    grep -q "threads per process: $(nproc) (-t not given; one per core" &&
    pass "-v: subscribe takes every core" || fail "-v: subscribe takes every core"
for drv in native curl; do
    B -v -c 5 -d 300ms --sse-driver $drv --json "$TMP/404.json" "$HTTP/nosuch" >"$TMP/404.txt" 2>"$TMP/404.err"
    expect_eq "sse $drv: a 404 is http_status" 5 "$(jv "$TMP/404.json" errors.http_status)"
    # Both drivers name the status and type, show the exchange with -v and
    # say why on the last line.
    grep -q "http_status 5 (first: 404, Content-Type text/plain; charset=utf-8, from /nosuch)" "$TMP/404.txt" &&
        pass "sse $drv: the summary names the status and type" ||
        fail "sse $drv: the summary names the status and type: $(grep errors "$TMP/404.txt")"
    grep -q "^< HTTP 404" "$TMP/404.err" && grep -q "^> GET /nosuch HTTP/1.1" "$TMP/404.err" &&
        pass "sse $drv: -v shows the first failed exchange" ||
        fail "sse $drv: -v shows the first failed exchange: $(cat "$TMP/404.err")"
    grep -q "no connection could be established: http_status: 404, Content-Type text/plain" "$TMP/404.err" &&
        pass "sse $drv: the last line says why" || fail "sse $drv: the last line says why: $(tail -1 "$TMP/404.err")"
done
# The first failed exchange keeps no secret: not on -v, not in a shard's JSON.
B -v -c 2 -d 300ms --shard 0/2 --json "$TMP/sec.json" --bearer BSECRET -H 'Cookie: CSECRET' \
    "$WS/nosuch" >/dev/null 2>"$TMP/sec.err"
grep -q "^> Authorization: \[redacted\]" "$TMP/sec.err" && grep -q "^> Cookie: \[redacted\]" "$TMP/sec.err" &&
    ! grep -q SECRET "$TMP/sec.err" "$TMP/sec.json" && pass "bench -v: the failed exchange's secrets are redacted" ||
    fail "bench -v: the failed exchange's secrets are redacted: $(grep -h SECRET "$TMP/sec.err" "$TMP/sec.json")"
B -c 3 -d 300ms "$WS/nosuch" >/dev/null 2>"$TMP/ws404.err"
grep -q "no connection could be established: handshake: server answered HTTP 404" "$TMP/ws404.err" &&
    pass "ws 404: the last line says why" || fail "ws 404: the last line says why: $(cat "$TMP/ws404.err")"

expect_rc "ws subscribe: 300 with --publish" 0 \
    B -c 300 --connect-rate 3000 -d 2s --mode subscribe --publish "$HTTP/publish" --publish-rate 20 \
    --json "$TMP/sub.json" "$WS/ws"
J=$TMP/sub.json
expect_eq "ws subscribe: established" 300 "$(jv "$J" connections.established)"
check "ws subscribe: fan-out received" ge "$(jv "$J" messages.received)" $((300 * 50))
expect_eq "ws subscribe: mode" subscribe "$(jv "$J" mode)"

expect_rc "no latency field: counted, exit 0" 0 \
    B -c 10 -d 1s --latency-field nosuch --json "$TMP/nf.json" "$HTTP/sse"
check "no latency field: no_timestamp errors" ge "$(jv "$TMP/nf.json" errors.no_timestamp)" 50
expect_eq "no latency field: no samples" 0 "$(jv "$TMP/nf.json" latency_ms.samples)"
expect_eq "  its percentiles and mean are null, not 0 ms" "null null null" \
    "$(jv "$TMP/nf.json" latency_ms.p50) $(jv "$TMP/nf.json" latency_ms.max) $(jv "$TMP/nf.json" latency_ms.mean)"

# ---- two URLs side by side ----
"$EVCAT" bench -q -c 100 -d 1s --json "$TMP/two.json" "$HTTP/sse" "$WS/ws" >"$TMP/two.txt" 2>&1
expect_eq "two URLs: exit 0" 0 $?
expect_eq "two URLs: first is sse" sse "$(jv "$TMP/two.json" '[0].mode')"
expect_eq "two URLs: second subscribes" subscribe "$(jv "$TMP/two.json" '[1].mode')"
expect_eq "two URLs: second established" 100 "$(jv "$TMP/two.json" '[1].connections.established')"
check "two URLs: side by side" grep -qE "^  connections +100/100 established.*\| 100/100 established" "$TMP/two.txt"

# ---- worker processes: the merge is exact ----
expect_rc "-p 3: 1500 echo connections" 0 \
    B -c 1500 --connect-rate 5000 -p 3 -d 2s -r 2 --json "$TMP/p3.json" "$WS/echo"
J=$TMP/p3.json
expect_eq "-p 3: procs" 3 "$(jv "$J" procs)"
expect_eq "-p 3: target" 1500 "$(jv "$J" connections.target)"
expect_eq "-p 3: established" 1500 "$(jv "$J" connections.established)"
check "-p 3: messages merged" ge "$(jv "$J" messages.received)" 5000
check "-p 3: samples merged" ge "$(jv "$J" latency_ms.samples)" 5000
check "-p 3: cpu of the shards" ge "$(jv "$J" cpu_seconds)" 0.000001

expect_rc "--source: two loopback addresses" 0 \
    B -c 40 -d 500ms --source 127.0.0.2,127.0.0.3 --json "$TMP/src.json" "$WS/echo"
expect_eq "--source: established" 40 "$(jv "$TMP/src.json" connections.established)"

# ---- out of descriptors: counted by kind and named, not a hang ----
(ulimit -n 150; exec "$EVCAT" bench -q -c 300 -p 1 -t 1 -d 1s --json "$TMP/fd.json" "$WS/echo") \
    >"$TMP/fd.txt" 2>&1
expect_eq "fd limit: exit 0 (some connected)" 0 $?
check "fd limit: fd_limit errors" ge "$(jv "$TMP/fd.json" errors.fd_limit)" 100
check "fd limit: the rest established" ge "$(jv "$TMP/fd.json" connections.established)" 100
check "fd limit: the summary says what to do" grep -q "out of file descriptors" "$TMP/fd.txt"

# ---- out of local ports: in a network namespace of our own (root), whose
# port range is 100 ports, against a serve inside it ----
netns_ports() { ip link set lo up && echo "40000 40099" >/proc/sys/net/ipv4/ip_local_port_range; }
if unshare -n bash -c "$(declare -f netns_ports); netns_ports" 2>/dev/null; then
    unshare -n bash -c "$(declare -f netns_ports)"'
        netns_ports || exit 9
        "$1" serve -q --tick 0 --listen 127.0.0.1:8099 & s=$!
        for i in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/8099) 2>/dev/null && break; sleep 0.05; done
        "$1" bench -q -c 300 -p 1 -d 1s --json "$2/ports.json" ws://127.0.0.1:8099/echo >"$2/ports.txt" 2>&1
        rc=$?
        kill $s; wait $s
        exit $rc' _ "$EVCAT" "$TMP"
    expect_eq "port limit: exit 0 (some connected)" 0 $?
    check "port limit: ports errors" ge "$(jv "$TMP/ports.json" errors.ports)" 150
    check "port limit: the 100 ports were used" ge "$(jv "$TMP/ports.json" connections.established)" 90
    check "port limit: the summary says what to do" grep -q "out of local ports.*--source.*ip_local_port_range" "$TMP/ports.txt"
else
    skip "port limit: no network namespace with its own port range here (needs root)"
fi

# ---- the ramp follows --connect-rate ----
B -c 100 --connect-rate 50 -d 200ms --json "$TMP/ramp.json" "$WS/echo" >/dev/null 2>&1
r=$(jv "$TMP/ramp.json" ramp_s)
check "ramp: 100 at 50/s takes ~2 s ($r)" ge "$r" 1.9
check "ramp: not much more ($r)" ge 3.5 "$r"
# The ramp ends when its last handshake completes, not at the next 50 ms
# check: 18 at 100/s start within 0.17 s, and the checks fall on 0.2 s.
for u in "$WS/echo" "$HTTP/sse"; do
    B -c 18 --connect-rate 100 -d 100ms --json "$TMP/ramp2.json" "$u" >/dev/null 2>&1
    r=$(jv "$TMP/ramp2.json" ramp_s)
    check "ramp end: 18 at 100/s ($u, $r s)" ge "$r" 0.15
    under_valgrind || check "ramp end: at the last handshake, not the next check ($u, $r s)" ge 0.19 "$r"
done

# ---- the server goes away during the measurement: dropped ----
start_serve --tick 0 -q
WS2=ws://127.0.0.1:$SERVE_PORT
d=5 settle=1.5       # a 5 s measurement, the server killed 1.5 s into the run
under_valgrind && d=30 settle=10
"$EVCAT" bench -q -c 50 -d "${d}s" --json "$TMP/drop.json" "$WS2/echo" >/dev/null 2>&1 &
bpid=$!
sleep "$settle"
kill "$SERVE_PID"
wait "$bpid"
expect_eq "server gone: exit 0 (no assertion)" 0 $?
expect_eq "server gone: all dropped" 50 "$(jv "$TMP/drop.json" connections.dropped)"
check "server gone: measurement ended early" ge $((d - 1)) "$(jv "$TMP/drop.json" duration_s)"
check "server gone: kind named" ge "$(( $(jv "$TMP/drop.json" errors_total) ))" 50

# ---- Ctrl-C (and SIGTERM): summary and JSON still written, exit 130 (143) ----
for spec in INT:130:1 TERM:143:1 TERM:143:2; do
    IFS=: read -r sig code procs <<<"$spec"
    "$EVCAT" bench -q -c 20 -p "$procs" -d 30s --json "$TMP/int.json" "$WS/echo" >"$TMP/int.txt" 2>&1 &
    bpid=$!
    if under_valgrind; then sleep 10; else sleep 1.5; fi
    kill -"$sig" "$bpid"
    wait "$bpid"
    expect_eq "SIG$sig ($procs process(es)): exit $code" "$code" $?
    expect_eq "  interrupted in JSON" true "$(jv "$TMP/int.json" interrupted)"
    expect_eq "  connections counted" 20 "$(jv "$TMP/int.json" connections.established)"
    check "  summary printed" grep -q "(interrupted)" "$TMP/int.txt"
done

# ---- nginx + nchan: SSE and WebSocket subscribers, its publisher ----
if start_nchan; then
    N=http://127.0.0.1:$NCHAN_PORT
    for drv in native curl; do
        expect_rc "nchan sse $drv: 500 subscribers" 0 \
            B -c 500 --connect-rate 5000 -d 2s --sse-driver $drv --publish "$N/pub" --publish-rate 10 \
            --json "$TMP/n1.json" "$N/sub"
        J=$TMP/n1.json
        expect_eq "nchan sse $drv: established" 500 "$(jv "$J" connections.established)"
        pub=$(jv "$J" messages.sent)
        check "nchan sse $drv: published ($pub)" ge "$pub" 15
        # every subscriber sees what was published while it was there
        check "nchan sse $drv: fan-out" ge "$(jv "$J" messages.received)" $((500 * (pub - 2)))
        check "nchan sse $drv: latency samples" ge "$(jv "$J" latency_ms.samples)" $((500 * (pub - 2)))
    done
    expect_rc "nchan ws: 500 subscribers" 0 \
        B -c 500 --connect-rate 5000 -d 2s --mode subscribe --publish "$N/pub" --publish-rate 10 \
        --json "$TMP/n2.json" "ws://127.0.0.1:$NCHAN_PORT/sub"
    J=$TMP/n2.json
    expect_eq "nchan ws: established" 500 "$(jv "$J" connections.established)"
    pub=$(jv "$J" messages.sent)
    check "nchan ws: fan-out" ge "$(jv "$J" messages.received)" $((500 * (pub - 2)))
else
    fail "nginx + nchan could not start"
fi

finish
