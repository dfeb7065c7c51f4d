#!/usr/bin/env bash
# evcat bench with SSE streams as requests (evcat(1), BENCH, "Streams as
# requests"), against two servers whose delays are known: evcat serve's
# POST /v1/chat/completions (--first-token, --token-interval) and an
# independent aiohttp stand-in (llm_peer.py). The measured time to first
# event and gaps between events must match the configured delays within
# scheduling noise; the streams' counts, the kinds of their failures, the
# open loop's dropped arrivals, kept-alive connections, worker processes and
# shards (merged exactly), --assert, and the usage errors.
. "$(dirname "$0")/lib.sh"

# within NAME VALUE LO HI: LO <= VALUE <= HI as numbers
within() {
    if $PY -c 'import sys; v, lo, hi = map(float, sys.argv[1:]); sys.exit(0 if lo <= v <= hi else 1)' "$2" "$3" "$4"; then
        pass "$1 ($2 in [$3, $4])"
    else
        fail "$1 ($2 not in [$3, $4])"
    fi
}
# Scheduling noise allowed above a delay, in ms: evcat under valgrind is many
# times slower to see each event, the medians stay close otherwise.
TOL=$(under_valgrind && echo 150 || echo 25)
TOL99=$(under_valgrind && echo 400 || echo 80)

B() { "$EVCAT" bench -q "$@"; }

# ---- usage errors: exit 2, one line ----
expect_usage "arrival rate with a ws URL" bench --arrival-rate 10 ws://127.0.0.1:1/
expect_usage "data with a ws URL" bench -d '{"a":1}' ws://127.0.0.1:1/
expect_usage "--data with a ws URL" bench --data x ws://127.0.0.1:1/
expect_usage "method with a ws URL" bench -X POST ws://127.0.0.1:1/
expect_usage "requests with a ws URL" bench --requests 5 ws://127.0.0.1:1/
expect_usage "end data with a carriage return" bench --requests 1 --end-data $'a\rb' http://127.0.0.1:1/
expect_usage "end data over 4096 bytes" bench --requests 1 --end-data "$(printf '%05000d' 0)" http://127.0.0.1:1/
expect_usage "end data without streams" bench --end-data x http://127.0.0.1:1/
expect_usage "idle timeout without streams" bench --idle-timeout 5s http://127.0.0.1:1/
expect_usage "arrival rate with connect rate" bench --arrival-rate 5 --connect-rate 5 http://127.0.0.1:1/
expect_usage "publish with streams" bench --requests 5 --publish http://127.0.0.1:1/p http://127.0.0.1:1/
expect_usage "zero requests" bench --requests 0 http://127.0.0.1:1/
expect_usage "zero arrival rate" bench --arrival-rate 0 http://127.0.0.1:1/
expect_usage "bad method" bench -X 'GE T' http://127.0.0.1:1/
expect_usage "unreadable body file" bench -d "@$TMP/missing.json" http://127.0.0.1:1/
expect_usage "data twice" bench -d a --data b http://127.0.0.1:1/
expect_usage "-d with a digit and no unit" bench -d 10sec http://127.0.0.1:1/
expect_usage "shard without requests" bench -c 2 --requests 1 --shard 0/2 http://127.0.0.1:1/
expect_usage "merge with --requests" bench merge --requests 5 "$TMP/none.json"
expect_usage "serve: zero tokens" serve --tokens 0
expect_usage "serve: bad first token" serve --first-token soon
expect_usage "serve: token interval over 1h" serve --token-interval 2h

# ---- evcat serve's POST /v1/chat/completions, by curl ----
start_serve -q --tick 0 --tokens 10 --first-token 60ms --token-interval 15ms
CHAT=$SERVE_URL/v1/chat/completions
out=$(curl -sN -X POST -H 'Content-Type: application/json' -d '{"max_tokens":3,"model":"m1"}' "$CHAT")
expect_eq "serve: max_tokens 3: 3 tokens, the final chunk and [DONE]" 5 "$(grep -c '^data: ' <<<"$out")"
expect_eq "serve: ends with [DONE]" "data: [DONE]" "$(grep '^data: ' <<<"$out" | tail -1)"
check "serve: finish_reason length" grep -q '"delta":{},"finish_reason":"length"' <<<"$out"
check "serve: the model echoed" grep -q '"model":"m1"' <<<"$out"
out=$(curl -sN -X POST -d '{}' "$CHAT")
expect_eq "serve: no max_tokens: --tokens 10" 12 "$(grep -c '^data: ' <<<"$out")"
check "serve: finish_reason stop" grep -q '"finish_reason":"stop"' <<<"$out"
code=$(curl -s -o "$TMP/400.json" -w '%{http_code}' -X POST -d '{"max_tokens":"x"}' "$CHAT")
expect_eq "serve: a bad body is a 400" 400 "$code"
expect_eq "serve: OpenAI's error object" invalid_request_error "$(jv "$TMP/400.json" error.type)"
expect_eq "serve: naming the parameter" max_tokens "$(jv "$TMP/400.json" error.param)"

# ---- bench against evcat serve: closed loop ----
J=$TMP/serve.json
expect_rc "serve: 20 x 200 streams, exit 0" 0 \
    B -c 20 --requests 200 -X POST -d '{"max_tokens":8}' --json "$J" "$CHAT"
expect_eq "serve: mode" streams "$(jv "$J" mode)"
expect_eq "serve: 200 completed" 200 "$(jv "$J" streams.completed)"
expect_eq "serve: none failed" 0 "$(jv "$J" streams.failed)"
expect_eq "serve: none dropped (closed loop)" 0 "$(jv "$J" streams.dropped)"
expect_eq "serve: none unfinished" 0 "$(jv "$J" streams.unfinished)"
expect_eq "serve: no errors" "{}" "$(jv "$J" errors)"
expect_eq "serve: a connection per slot, kept alive" 20 "$(jv "$J" streams.connections_opened)"
expect_eq "serve: 200 requests sent" 200 "$(jv "$J" messages.sent)"
expect_eq "serve: 8 tokens and the final chunk per stream" 9 "$(jv "$J" streams.events_per_stream.p50)"
expect_eq "serve: events_per_stream max" 9 "$(jv "$J" streams.events_per_stream.max)"
expect_eq "serve: events" 1800 "$(jv "$J" streams.events)"
expect_eq "serve: a first-event sample per stream" 200 "$(jv "$J" streams.first_event_ms.samples)"
expect_eq "serve: a gap sample per later event" 1600 "$(jv "$J" streams.event_gap_ms.samples)"
within "serve: first event p50 is --first-token" "$(jv "$J" streams.first_event_ms.p50)" 59.5 $((60 + TOL))
within "serve: first event p99" "$(jv "$J" streams.first_event_ms.p99)" 59.5 $((60 + TOL99))
within "serve: event gap p50 is --token-interval" "$(jv "$J" streams.event_gap_ms.p50)" 12 $((15 + TOL))
within "serve: stream p50 is 60 + 8 x 15 ms" "$(jv "$J" streams.stream_ms.p50)" 179.5 $((180 + TOL * 2))
within "serve: about 20 / 0.18 s a second" "$(jv "$J" streams.rate)" 40 112
expect_eq "serve: concurrency" 20 "$(jv "$J" streams.concurrency)"
expect_eq "serve: closed loop" 0 "$(jv "$J" streams.arrival_rate)"

# the text summary
B -c 4 --requests 8 -d '{"max_tokens":2}' "$CHAT" >"$TMP/summary.txt" 2>&1
check "summary: a streams line" grep -qE '^  streams +8 completed \([0-9.]+/s\), 0 failed$' "$TMP/summary.txt"
check "summary: first event" grep -qE '^  first event +p50 [0-9.]+ms  p90 ' "$TMP/summary.txt"
check "summary: event gap" grep -qE '^  event gap +p50 ' "$TMP/summary.txt"
check "summary: stream" grep -qE '^  stream +p50 ' "$TMP/summary.txt"
check "summary: events per stream" grep -qE '^  events +p50 3  p90 3  p99 3  max 3 per stream' "$TMP/summary.txt"
check "summary: concurrency" grep -qE '^  concurrency +4 streams at once \(closed loop\); 4 connections opened' "$TMP/summary.txt"
check "summary: no empty latency line" bash -c "! grep -q 'latency' '$TMP/summary.txt'"

# --assert
expect_rc "assert: met, exit 0" 0 B -c 4 --requests 8 -d '{"max_tokens":2}' \
    --assert 'first_event_p99<5s' --assert 'event_gap_p99<5s' --assert 'streams_failed==0' "$CHAT"
expect_rc "assert: first_event_p99 below --first-token fails, exit 3" 3 B -c 4 --requests 8 \
    -d '{"max_tokens":2}' --assert 'first_event_p99<10ms' "$CHAT"
check "assert: names the one that failed" grep -q 'first_event_p99 < 10ms failed: first_event_p99 was' "$TMP/rc.err"
expect_rc "assert: streams_failed, exit 3" 3 B -c 2 --requests 4 -d '{"max_tokens":1}' \
    --assert 'streams_failed>0' "$CHAT"
check "assert: streams_failed was 0" grep -q 'streams_failed > 0 failed: streams_failed was 0' "$TMP/rc.err"
expect_rc "no stream completed (400s): exit 1" 1 B -c 2 --requests 4 -d '{"max_tokens":0}' \
    --assert 'streams_failed==4' --json "$TMP/400s.json" "$CHAT"
check "no stream completed: said so" grep -q 'no stream completed' "$TMP/rc.err"
expect_eq "no stream completed: 4 http_status" '{"http_status": 4}' "$(jv "$TMP/400s.json" errors)"

# worker processes and shards merge exactly
J=$TMP/procs.json
expect_rc "-p 2: exit 0" 0 B -p 2 -c 6 --requests 61 -d '{"max_tokens":2}' --json "$J" "$CHAT"
expect_eq "-p 2: 61 completed in all" 61 "$(jv "$J" streams.completed)"
expect_eq "-p 2: 61 first-event samples" 61 "$(jv "$J" streams.first_event_ms.samples)"
expect_eq "-p 2: two processes" 2 "$(jv "$J" procs)"
# A process whose part of --requests is none runs nothing (its 0 is not
# "no bound": it used to run until killed).
expect_rc "-p 2, --requests 1: ends, exit 0" 0 timeout 30 "$EVCAT" bench -q -p 2 -t 1 -c 4 --requests 1 \
    -d '{"max_tokens":2}' --json "$J" "$CHAT"
expect_eq "  1 completed" 1 "$(jv "$J" streams.completed)"
for i in 0 1 2; do
    B -c 3 --requests 20 --shard "$i/3" -d '{"max_tokens":2}' --json "$TMP/shard$i.json" "$CHAT" >/dev/null 2>&1
done
expect_rc "shards: merge, exit 0" 0 "$EVCAT" bench merge --json "$TMP/merged.json" \
    "$TMP/shard0.json" "$TMP/shard1.json" "$TMP/shard2.json"
J=$TMP/merged.json
expect_eq "shards: 20 completed in all" 20 "$(jv "$J" streams.completed)"
expect_eq "shards: 40 gap samples in all" 40 "$(jv "$J" streams.event_gap_ms.samples)"
expect_eq "shards: mode" streams "$(jv "$J" mode)"
within "shards: merged first event p50" "$(jv "$J" streams.first_event_ms.p50)" 59.5 $((60 + TOL))

# open loop against serve: 2 slots cannot keep up with 40/s of 0.2 s streams
J=$TMP/open.json
expect_rc "open loop: exit 0" 0 B -c 2 --arrival-rate 40 --requests 40 -d '{"max_tokens":8}' --json "$J" "$CHAT"
done_n=$(( $(jv "$J" streams.completed) + $(jv "$J" streams.failed) + $(jv "$J" streams.dropped) ))
expect_eq "open loop: every arrival completed, failed or dropped" 40 "$done_n"
within "open loop: most were dropped" "$(jv "$J" streams.dropped)" 25 38
expect_eq "open loop: the rate asked" 40 "$(jv "$J" streams.arrival_rate)"
# Dropped streams are what streams_dropped asserts on (k6's dropped
# iterations); dropped counts connections lost, and there are none.
expect_rc "open loop: streams_dropped==0 fails, exit 3" 3 B -c 2 --arrival-rate 40 --requests 40 \
    -d '{"max_tokens":8}' --assert 'streams_dropped==0' --assert 'dropped==0' "$CHAT"
J=$TMP/open_ok.json
t0=$(date +%s%N)
expect_rc "open loop with room: exit 0" 0 B -c 20 --arrival-rate 25 --requests 25 -d '{"max_tokens":2}' --json "$J" "$CHAT"
t1=$(date +%s%N)
expect_eq "open loop with room: none dropped" 0 "$(jv "$J" streams.dropped)"
expect_eq "open loop with room: 25 completed" 25 "$(jv "$J" streams.completed)"
within "open loop with room: the schedule's second (ms)" $(( (t1 - t0) / 1000000 )) 1000 "$(slow 3500)"

# without --requests, the duration ends the run
J=$TMP/duration.json
expect_rc "duration: exit 0" 0 B -c 3 -d 1s --data '{"max_tokens":100}' --json "$J" "$CHAT"
check "duration: streams in flight at the end are unfinished" test "$(jv "$J" streams.unfinished)" -ge 1
expect_eq "duration: cut streams are not failures" 0 "$(jv "$J" streams.failed)"

# a plain SSE bench is as it was: no streams
J=$TMP/plain.json
B -c 2 -d 1s --json "$J" "$SERVE_URL/sse" >/dev/null 2>&1
expect_eq "plain SSE: mode sse" sse "$(jv "$J" mode)"
check "plain SSE: no streams object" bash -c "! grep -q '\"streams\"' '$J'"
kill "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null

# ---- against an independent server: aiohttp, 80 ms to the first event, then 25 ms ----
PEER_PORT=$(free_port)
bg $PY "$(dirname "$0")/llm_peer.py" "$PEER_PORT" 80 25 8
PEER_PID=$BG_PID
wait_port "$PEER_PORT"
PEER=http://127.0.0.1:$PEER_PORT
J=$TMP/peer.json
expect_rc "peer: 10 x 100 streams, exit 0" 0 B -c 10 --requests 100 -X POST \
    -H 'Content-Type: application/json' -d '{"max_tokens":6}' --json "$J" "$PEER/v1/chat/completions"
expect_eq "peer: 100 completed" 100 "$(jv "$J" streams.completed)"
expect_eq "peer: none failed" 0 "$(jv "$J" streams.failed)"
expect_eq "peer: 6 tokens and the final chunk" 7 "$(jv "$J" streams.events_per_stream.p50)"
within "peer: first event p50 is its 80 ms" "$(jv "$J" streams.first_event_ms.p50)" 79.5 $((80 + TOL))
within "peer: event gap p50 is its 25 ms" "$(jv "$J" streams.event_gap_ms.p50)" 22 $((25 + TOL))
within "peer: stream p50 is 80 + 6 x 25 ms" "$(jv "$J" streams.stream_ms.p50)" 229.5 $((230 + TOL * 2))
curl -s "$PEER/stats" >"$TMP/stats.json"
expect_eq "peer: it got 100 requests" 100 "$(jv "$TMP/stats.json" requests)"
expect_eq "peer: as POSTs" 100 "$(jv "$TMP/stats.json" methods.POST)"
expect_eq "peer: each with the JSON body" 100 "$(jv "$TMP/stats.json" json_bodies)"
expect_eq "peer: max_tokens as sent" 6 "$(jv "$TMP/stats.json" max_tokens)"
expect_eq "peer: the -H Content-Type" 100 "$(jv "$TMP/stats.json" content_types.application/json)"
expect_eq "peer: 10 connections, kept alive" 10 "$(jv "$TMP/stats.json" connections)"

# how each kind of ending counts
kinds() { # PATH KIND EXTRA...: 4 streams, each failing with KIND
    local path=$1 kind=$2
    shift 2
    B -c 2 --requests 4 -d '{}' --idle-timeout 300ms --json "$TMP/k.json" "$@" "$PEER$path" >/dev/null 2>&1
    expect_eq "peer $path: 4 failed" 4 "$(jv "$TMP/k.json" streams.failed)"
    expect_eq "peer $path: as $kind" "{\"$kind\": 4}" "$(jv "$TMP/k.json" errors)"
}
kinds /error sse_error
kinds /status http_status
kinds /cut incomplete
B -c 2 --requests 4 -d '{}' "$PEER/cut" >"$TMP/k.txt" 2>&1
grep -q "incomplete 4 (first: the response ended before its --end-data event)" "$TMP/k.txt" &&
    pass "peer /cut: the summary says what incomplete means" || fail "peer /cut: incomplete's example: $(grep incomplete "$TMP/k.txt")"
kinds /slow idle_timeout
B -c 2 --requests 4 -d '{}' --end-data '' --json "$TMP/k.json" "$PEER/cut" >/dev/null 2>&1
expect_eq "peer /cut with --end-data '': 4 completed" 4 "$(jv "$TMP/k.json" streams.completed)"
J=$TMP/get.json
B -c 2 --requests 5 --end-data '' --json "$J" "$PEER/feed" >/dev/null 2>&1
expect_eq "peer GET /feed: 5 completed" 5 "$(jv "$J" streams.completed)"
expect_eq "peer GET /feed: 8 events each" 8 "$(jv "$J" streams.events_per_stream.max)"
within "peer GET /feed: gaps of 25 ms" "$(jv "$J" streams.event_gap_ms.p50)" 22 $((25 + TOL))
curl -s "$PEER/stats" >"$TMP/stats.json"
expect_eq "peer: 5 GETs" 5 "$(jv "$TMP/stats.json" methods.GET)"

# open loop against the peer
J=$TMP/peer_open.json
expect_rc "peer open loop: exit 0" 0 B -c 3 --arrival-rate 30 --requests 30 -d '{}' --json "$J" "$PEER/v1/chat/completions"
done_n=$(( $(jv "$J" streams.completed) + $(jv "$J" streams.failed) + $(jv "$J" streams.dropped) ))
expect_eq "peer open loop: every arrival accounted" 30 "$done_n"
check "peer open loop: some dropped (3 slots, 0.3 s streams, 30/s)" test "$(jv "$J" streams.dropped)" -ge 10

kill "$PEER_PID"
wait "$PEER_PID" 2>/dev/null
finish
