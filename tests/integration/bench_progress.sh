#!/usr/bin/env bash
# evcat bench's last progress line, "measured Ns: msgs out X/s in Y/s (the
# summary's rates)": the man page promises the summary's own rates, so its
# length and rates must be the JSON's duration_s, sent_rate and recv_rate,
# printed the way the line prints them: with streams as requests (closed
# and open loop, where the measurement starts with the run, before any
# progress line) and with worker processes (whose shards measure over
# windows of their own, which the parent's view of their counters cannot
# add up).
. "$(dirname "$0")/lib.sh"

start_serve --tick 0 --first-token 0 --token-interval 20ms
WS="ws://127.0.0.1:$SERVE_PORT"

# agree NAME STDERR JSON: the last "measured" line against the JSON.
agree() {
    local want got
    want=$($PY - "$3" <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1]))
def short(v):  # cmd_bench_progress.c's short_num
    if v is None:
        v = 0
    if v >= 1e6:
        return "%.1fM" % (v / 1e6)
    if v >= 1e4:
        return "%.1fk" % (v / 1e3)
    return "%.0f" % v
m = j["messages"]
print("%.1fs: out %s/s in %s/s" % (j["duration_s"], short(m["sent_rate"]), short(m["recv_rate"])))
PYEOF
)
    got=$(sed -n 's/.*measured \([0-9.]*s\): msgs [a-z]* \([^ ]*\) in \([^ ]*\) (the summary.s rates)$/\1: out \2 in \3/p' "$2" | tail -1)
    expect_eq "$1" "$want" "$got"
    [ "$want" == "$got" ] || sed 's/^/  stderr: /' "$2" | tail -4
}

BODY='{"max_tokens":2}'
CT='Content-Type: application/json'

# Streams as requests, closed loop: the measurement is the whole run.
"$EVCAT" bench -c 2 -t 1 -d 1500ms --data "$BODY" -H "$CT" --json "$TMP/s.json" \
    "$SERVE_URL/v1/chat/completions" >/dev/null 2>"$TMP/s.err"
agree "streams: the last line gives the summary's length and rates" "$TMP/s.err" "$TMP/s.json"

# Open loop: the same.
"$EVCAT" bench -c 2 -t 1 -d 1500ms --arrival-rate 10 --data "$BODY" -H "$CT" \
    --json "$TMP/a.json" "$SERVE_URL/v1/chat/completions" >/dev/null 2>"$TMP/a.err"
agree "arrival rate: the last line gives the summary's length and rates" "$TMP/a.err" "$TMP/a.json"

# Worker processes whose measurements start apart: 3 connections at 2/s
# over 2 processes, one with 2 connections (a ramp of 0.75 s), one with 1
# (none): the summary adds each one's whole measurement.
"$EVCAT" bench -c 3 -p 2 -t 1 --connect-rate 2 -d 1s -r 10 --json "$TMP/p.json" \
    "$WS/echo" >/dev/null 2>"$TMP/p.err"
agree "worker processes: the last line gives the summary's length and rates" "$TMP/p.err" "$TMP/p.json"

# The same load as one process: the line is unchanged there.
"$EVCAT" bench -c 3 -t 2 -d 1s -r 10 --json "$TMP/t.json" "$WS/echo" >/dev/null 2>"$TMP/t.err"
agree "threads: the last line gives the summary's length and rates" "$TMP/t.err" "$TMP/t.json"

# -q: no progress, no last line.
"$EVCAT" bench -q -c 1 -d 300ms -r 10 "$WS/echo" >/dev/null 2>"$TMP/q.err"
expect_eq "quiet: no measured line" "" "$(grep -c measured "$TMP/q.err" | grep -v '^0$')"

echo "# $PASSES passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
