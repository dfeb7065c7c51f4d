#!/usr/bin/env bash
# Issue 12 on a real scheduler: one bench test as 3 shards from 3 hosts,
# run by deploy/slurm (a job array and a merge job after it) on a Slurm
# cluster this test starts, and merged exactly.
#
# The hosts are network namespaces (netns.bash: a bridge, 198.18.0.0/15),
# each with its own slurmd (slurm.bash); `evcat serve` runs in the target
# namespace. Needs root; everything it creates it deletes, and every daemon
# it starts it stops by PID (checked at the end: no namespace, link or
# process of this run is left).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns.bash"
. "$(dirname "$0")/slurm.bash"
. "$(dirname "$0")/shards.bash"

HOSTS=3
CONNS=600          # 200 per shard
PORT=8080
WS_URL="ws://$TARGET_ADDR:$PORT/ws"
PUB_URL="http://$TARGET_ADDR:$PORT/publish"
START_IN=3         # seconds from submission to the shards' common start
JOB_LIMIT=60       # the whole Slurm run, bounded
if under_valgrind; then START_IN=15; JOB_LIMIT=240; fi

if ! netns_possible; then
    skip "cluster: $NETNS_WHY"
    echo "$TEST_NAME: skipped"
    exit 0
fi
if ! slurm_possible; then
    fail "cluster: $SLURM_WHY (scripts/deps.sh installs it)"
    finish
fi
shards_setup || exit 1

SERVE_NS_PID=""
TORN_DOWN=0
teardown() {
    [ "$TORN_DOWN" = 1 ] && return 0
    TORN_DOWN=1
    if [ -n "${SUBMIT_PID:-}" ]; then
        kill "$SUBMIT_PID" 2>/dev/null
        wait "$SUBMIT_PID" 2>/dev/null
    fi
    slurm_down
    if [ -n "$SERVE_NS_PID" ]; then
        kill -TERM "$SERVE_NS_PID" 2>/dev/null
        wait "$SERVE_NS_PID" 2>/dev/null
        SERVE_RC=$?
        SERVE_NS_PID=""
    fi
    LEFT_PIDS=$(netns_pids | tr '\n' ' ')
    netns_down
}
trap 'teardown; cleanup' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}'; }

# ---------------------------------------------------------------- bring-up
t=$(now)
if ! netns_up "$HOSTS" 1; then fail "bring-up: the namespaces"; finish; fi
pass "bring-up: $HOSTS host namespaces, a target and a controller on one bridge"
NETNS_UP_S=$(since "$t")
expect_eq "bring-up: host addresses in 198.18.0.0/15" "198.18.1.1 198.18.2.1 198.18.3.1" "${HOST_ADDR[*]}"
check "bring-up: no address outside 198.18.0.0/15 in the hosts" bash -c '
    for ns in "$@"; do
        nsenter --net=/run/netns/$ns ip -4 -o addr show | awk "{print \$4}" | grep -v "^127\." | grep -v "^198\.1[89]\." && exit 1
    done; exit 0' _ "${NETNS_ALL[@]}"

bg nsenter --net="/run/netns/$NETNS_TARGET" "$EVCAT" serve --listen "$TARGET_ADDR:$PORT" --tick 0 -v 2>"$TMP/serve.err"
SERVE_NS_PID=$BG_PID
wait_until 10 grep -q "serving WebSocket" "$TMP/serve.err"
check "evcat serve listens in the target namespace" grep -q "serving WebSocket on $WS_URL" "$TMP/serve.err"

if ! slurm_up "$TMP/slurm"; then fail "Slurm: bring-up"; finish; fi
pass "Slurm: slurmctld and $HOSTS slurmd (one per host namespace) up, nodes idle"
DAEMONS=("${SLURM_PIDS[@]}" "$SLURM_MUNGE_PID" "$SERVE_NS_PID")

# peers_from ADDR [FROM_LINE]: WebSocket upgrades serve logged from ADDR (after line FROM_LINE).
peers_from() {
    tail -n +"$((${2:-0} + 1))" "$TMP/serve.err" | grep -c "^$1:[0-9]* GET /ws 101"
}

# ---------------------------------------------- plain bench from each host
for ((i = 0; i < HOSTS; i++)); do
    in_ns "${NETNS_HOSTS[i]}" "$EVCAT" bench -q -c 50 --connect-rate 500 -d 500ms --mode subscribe \
        --json "$TMP/plain-$i.json" "$WS_URL" >"$TMP/plain-$i.out" 2>&1 &
    PLAIN[i]=$!
done
for ((i = 0; i < HOSTS; i++)); do
    wait "${PLAIN[i]}"
    expect_eq "plain bench in host $i: exit 0" 0 $?
    expect_eq "plain bench in host $i: 50 established" 50 "$(jq_py "$TMP/plain-$i.json" 'o["connections"]["established"]')"
    expect_eq "plain bench in host $i: serve saw 50 upgrades from ${HOST_ADDR[i]}" 50 "$(peers_from "${HOST_ADDR[i]}")"
done
LOG_MARK=$(wc -l <"$TMP/serve.err")

# ---------------------------------------------------- deploy/slurm, for real
RUN=$TMP/run
t=$(now)
# (nsenter, not the slurm function, in the background: $! is submit itself)
SLURM_CONF="$SLURM_DIR/slurm.conf" nsenter --net="/run/netns/$NETNS_CTL" "$EVCAT_SRC/deploy/slurm/submit" -n "$HOSTS" --start-in "$START_IN" --out "$RUN" \
    --evcat "$SHARD_EVCAT" --wait --timeout "$JOB_LIMIT" -- \
    -c "$CONNS" --connect-rate $((CONNS * 2)) -d 2s --mode subscribe \
    --publish "$PUB_URL" --publish-rate 20 "$WS_URL" >"$TMP/submit.out" 2>&1 &
SUBMIT_PID=$!
wait "$SUBMIT_PID"   # (in the background: a SIGTERM to the test is handled at once)
rc=$?
SUBMIT_PID=""
JOBS_S=$(since "$t")
expect_eq "deploy/slurm/submit --wait: exit 0 (the merge job's status)" 0 "$rc"
[ "$rc" -eq 0 ] || sed 's/^/  submit: /' "$TMP/submit.out" | head -20
check "submit wrote the job ids" test -f "$RUN/jobs.env"
# shellcheck disable=SC1091
. "$RUN/jobs.env" 2>/dev/null || { ARRAY_JOB=none MERGE_JOB=none START_AT=""; }

# jobcomp ARRAY_JOB TASK FIELD (TASK "-" for a plain job ARRAY_JOB): from Slurm's job completion log.
jobcomp() {
    awk -v a="$1" -v t="$2" -v f="$3" '
        (t == "-" && $1 == "JobId=" a) || (t != "-" && index($0, " ArrayJobId=" a " ArrayTaskId=" t " ")) {
            for (i = 1; i <= NF; i++) if (index($i, f "=") == 1) print substr($i, length(f) + 2)
        }' "$SLURM_DIR/jobcomp.txt" 2>/dev/null
}
epoch() { date -d "$1" +%s 2>/dev/null || echo 0; }

NODES=()
last_end=0
total=0
for ((i = 0; i < HOSTS; i++)); do
    expect_eq "array task $i: COMPLETED, exit 0:0" "COMPLETED 0:0" \
        "$(jobcomp "$ARRAY_JOB" "$i" JobState) $(jobcomp "$ARRAY_JOB" "$i" ExitCode)"
    NODES[i]=$(jobcomp "$ARRAY_JOB" "$i" NodeList)
    e=$(epoch "$(jobcomp "$ARRAY_JOB" "$i" EndTime)")
    [ "$e" -gt "$last_end" ] && last_end=$e
    f=$RUN/shard-$i.json
    check "shard $i wrote $(basename "$f")" test -s "$f"
    est=$(jq_py "$f" 'o["connections"]["established"]')
    total=$((total + ${est:-0}))
    expect_eq "shard $i: nothing failed or dropped" "0 0" \
        "$(jq_py "$f" 'o["connections"]["failed"]') $(jq_py "$f" 'o["connections"]["dropped"]')"
    # The node the task ran on is a host namespace: its connections come from that host's address.
    k=${NODES[i]#n}
    if [[ $k =~ ^[0-9]+$ ]] && [ "$k" -lt "$HOSTS" ]; then
        expect_eq "shard $i ran on ${NODES[i]}: serve saw its $est connections from ${HOST_ADDR[k]}" \
            "${est:-x}" "$(peers_from "${HOST_ADDR[k]}" "$LOG_MARK")"
    else
        fail "shard $i: no node in the job completion log ('${NODES[i]}')"
    fi
done
expect_eq "one shard per node" "$HOSTS" "$(printf '%s\n' "${NODES[@]}" | sort -u | grep -c .)"
expect_eq "the shards' established add up to -c $CONNS" "$CONNS" "$total"
expect_eq "merge job: COMPLETED, exit 0:0" "COMPLETED 0:0" \
    "$(jobcomp "$MERGE_JOB" - JobState) $(jobcomp "$MERGE_JOB" - ExitCode)"
ms=$(epoch "$(jobcomp "$MERGE_JOB" - StartTime)")
check "merge job started after the last shard ended (afterok)" test "$ms" -ge "$last_end" -a "$last_end" -gt 0
check "merge job wrote merged.json" test -s "$RUN/merged.json"

# --------------------------------------- the shards and their merge
# Everything here depends on evcat bench --shard / --start-at / bench merge.
check_merged() {
    local i f sum_py start_s m
    sum_py='sum(json.load(open(f))%s for f in sys.argv[2:])'
    # shard identity and the common start
    start_s=$(epoch "$START_AT")
    for ((i = 0; i < HOSTS; i++)); do
        f=$RUN/shard-$i.json
        expect_eq "shard $i: \"shard\" is {index $i, count $HOSTS}" "$i/$HOSTS" \
            "$(jq_py "$f" 'str(o["shard"]["index"]) + "/" + str(o["shard"]["count"])')"
        check "shard $i: started_at within a second after --start-at $START_AT" "$PY" -c '
import datetime, json, sys
o = json.load(open(sys.argv[1]))
t = datetime.datetime.fromisoformat(o["started_at"].replace("Z", "+00:00")).timestamp()
sys.exit(not (int(sys.argv[2]) - 0.05 <= t < int(sys.argv[2]) + 1))' "$f" "$start_s"
    done
    expect_eq "the shards share one test_id" 1 \
        "$(for f in "$RUN"/shard-*.json; do jq_py "$f" 'o["test_id"]'; done | sort -u | grep -c .)"
    # merged = the sum of the shards = the test
    m=$RUN/merged.json
    for key in '["connections"]["target"]' '["connections"]["established"]' '["connections"]["failed"]' \
        '["connections"]["dropped"]' '["messages"]["sent"]' '["messages"]["received"]' \
        '["latency_ms"]["samples"]' '["errors_total"]'; do
        expect_eq "merged$key = the sum of the shards'" \
            "$("$PY" -c "import json, sys; print($(printf "$sum_py" "$key"))" x "$RUN"/shard-*.json)" \
            "$(jq_py "$m" "o$key")"
    done
    expect_eq "merged established = -c $CONNS" "$CONNS" "$(jq_py "$m" 'o["connections"]["established"]')"
    expect_eq "merged messages sent = the publishes serve accepted" \
        "$(tail -n +"$((LOG_MARK + 1))" "$TMP/serve.err" | grep -c 'POST /publish 202')" \
        "$(jq_py "$m" 'o["messages"]["sent"]')"
    check "merge's summary is a single run's ($CONNS/$CONNS established)" \
        grep -qE "connections +$CONNS/$CONNS established" "$RUN/merge.log"
    expect_rc "merge --assert connected==$CONNS: met, exit 0" 0 "$SHARD_EVCAT" bench merge \
        --assert "connected==$CONNS" "$RUN"/shard-*.json
    expect_rc "merge --assert connected==1: failed, exit 3" 3 "$SHARD_EVCAT" bench merge \
        --assert "connected==1" "$RUN"/shard-*.json
    # what merge refuses, and --partial, and - (shards concatenated on stdin)
    expect_rc "merge: a missing shard is exit 2" 2 "$SHARD_EVCAT" bench merge "$RUN/shard-0.json" "$RUN/shard-1.json"
    check "merge: ... naming what is missing (shard 2)" grep -Eqi 'missing.*2|2.*missing' "$TMP/rc.err"
    expect_rc "merge --partial: what is there" 0 "$SHARD_EVCAT" bench merge --partial --json "$TMP/partial.json" \
        "$RUN/shard-0.json" "$RUN/shard-1.json"
    expect_eq "merge --partial: established of shards 0 and 1" \
        $(($(jq_py "$RUN/shard-0.json" 'o["connections"]["established"]') + $(jq_py "$RUN/shard-1.json" 'o["connections"]["established"]'))) \
        "$(jq_py "$TMP/partial.json" 'o["connections"]["established"]')"
    expect_rc "merge: a shard given twice is exit 2" 2 "$SHARD_EVCAT" bench merge "$RUN/shard-0.json" "$RUN/shard-0.json" \
        "$RUN/shard-1.json" "$RUN/shard-2.json"
    check "merge: ... naming the file" grep -q "shard-0.json" "$TMP/rc.err"
    "$PY" -c '
import json, sys
o = json.load(open(sys.argv[1]))
other = ("f" if o["test_id"][0] != "f" else "0") + o["test_id"][1:]
o["test_id"] = o["shard_result"]["test_id"] = other  # as another test writes both
json.dump(o, open(sys.argv[2], "w"))' \
        "$RUN/shard-2.json" "$TMP/foreign-2.json"
    expect_rc "merge: a shard of another test is exit 2" 2 "$SHARD_EVCAT" bench merge "$RUN/shard-0.json" \
        "$RUN/shard-1.json" "$TMP/foreign-2.json"
    check "merge: ... naming the file" grep -q "foreign-2.json" "$TMP/rc.err"
    { echo "some log line"; cat "$RUN/shard-1.json"; echo "{\"not\":\"a shard\"}"; cat "$RUN/shard-0.json" "$RUN/shard-2.json"; } |
        "$SHARD_EVCAT" bench merge --json "$TMP/stdin.json" - >/dev/null 2>&1
    expect_eq "merge -: shards concatenated on stdin (other lines skipped)" \
        "$(jq_py "$m" 'o["connections"]["established"]')" "$(jq_py "$TMP/stdin.json" 'o["connections"]["established"]')"
}
check_merged

# ---------------------------------------------------------------- tear-down
t=$(now)
teardown
TEARDOWN_S=$(since "$t")
expect_eq "evcat serve stopped by PID: exit 0" 0 "${SERVE_RC:-x}"
expect_eq "no process left in the namespaces after scontrol shutdown" "" "${LEFT_PIDS// /}"
check "slurmctld, slurmd, munged and serve have exited (PIDs ${DAEMONS[*]})" \
    bash -c 'for p in "$@"; do kill -0 "$p" 2>/dev/null && exit 1; done; exit 0' _ "${DAEMONS[@]}"
expect_eq "no namespace or link of this run left" "" "$(netns_leftovers)"
echo "# timing: namespaces up ${NETNS_UP_S}s, Slurm up ${SLURM_UP_S}s, submit to merged ${JOBS_S}s," \
    "Slurm down ${SLURM_DOWN_S}s, all down ${TEARDOWN_S}s"
finish
