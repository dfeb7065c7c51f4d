#!/usr/bin/env bash
# deploy/kubernetes without a Kubernetes server: the manifests against the
# Kubernetes schemas (npm kubernetes-models), then the Indexed Job's exact
# container command (deploy/kubernetes/submit --render, expanded as the
# kubelet does) run once per index with JOB_COMPLETION_INDEX set, each from
# a host namespace of its own, against `evcat serve` in the target namespace;
# their output, concatenated as `kubectl logs` gives it, goes through
# deploy/kubernetes/collect's merge. The namespace part needs root.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns.bash"
. "$(dirname "$0")/shards.bash"

K8S=$EVCAT_SRC/deploy/kubernetes
VJ=("$(command -v node)" "$(dirname "$0")/validate_job.mjs")
SHARDS=3
CONNS=300
PORT=8080
WS_URL="ws://$TARGET_ADDR:$PORT/ws"
PUB_URL="http://$TARGET_ADDR:$PORT/publish"
START_IN=3
under_valgrind && START_IN=15

# ------------------------------------------------ the manifests, as written
out=$("${VJ[@]}" check "$K8S/evcat-bench.yaml" "$K8S/target.yaml" 2>&1)
expect_eq "kubernetes-models: the manifests as committed are valid" 0 $?
expect_match "... the Job is Indexed, 4 shards" "Job evcat-bench: valid \(Indexed, 4 shards\)" "$out"
expect_match "... the target's Deployment and Service" "Deployment evcat-target: valid.*Service evcat-target: valid" "${out//$'\n'/ }"
no_start() { sed '/name: EVCAT_START_AT/{n;d}' "$@"; }
check "submit --render without options changes only the start time" \
    diff <("$K8S/submit" --render | no_start) <(no_start "$K8S/evcat-bench.yaml")

# What the schema catches, and what only our checks do.
sed 's/completionMode: Indexed/completionMode: Indexd/' "$K8S/evcat-bench.yaml" >"$TMP/typo-value.yaml"
out=$("${VJ[@]}" check "$TMP/typo-value.yaml" 2>&1)
expect_eq "completionMode: Indexd is rejected" 1 $?
expect_match "... by Job.validate() (the schema's enum)" "rejected by kubernetes-models: .*completionMode must be equal to one of the allowed values" "$out"
sed 's/completionMode: Indexed/completionMod: Indexed/' "$K8S/evcat-bench.yaml" >"$TMP/typo-key.yaml"
out=$("${VJ[@]}" check "$TMP/typo-key.yaml" 2>&1)
expect_eq "a misspelled key (completionMod) is rejected" 1 $?
expect_match "... not by the schema (it allows unknown fields), by evcat's check" \
    "valid Kubernetes, but: spec.completionMode is undefined, not \"Indexed\"" "$out"
sed 's/^  parallelism: 4/  parallelism: 2/' "$K8S/evcat-bench.yaml" >"$TMP/par.yaml"
expect_match "parallelism != completions is rejected" "spec.parallelism \(2\) is not spec.completions \(4\)" \
    "$("${VJ[@]}" check "$TMP/par.yaml" 2>&1)"
sed 's|\$(JOB_COMPLETION_INDEX)/4|$(JOB_COMPLETION_INDEX)/5|' "$K8S/evcat-bench.yaml" >"$TMP/n.yaml"
expect_match "--shard .../5 with 4 completions is rejected" "--shard \.\.\./5 but spec.completions is 4" \
    "$("${VJ[@]}" check "$TMP/n.yaml" 2>&1)"
sed 's/^  completions: 4/  completions: "4"/' "$K8S/evcat-bench.yaml" >"$TMP/str.yaml"
expect_match "completions as a string is rejected by the schema" "rejected by kubernetes-models: .*completions must be integer" \
    "$("${VJ[@]}" check "$TMP/str.yaml" 2>&1)"

# The kubelet's $(VAR) expansion, as the emulation does it.
expect_eq 'expansion: $(VAR), $$, an undefined $(X), a lone $' 'a 7 $(X) $(VAR) b$ $' \
    "$("${VJ[@]}" expand 'a $(VAR) $(X) $$(VAR) b$ $' VAR=7)"

# submit --render: N in all three places, the start time, the bench arguments verbatim.
# render START_AT: the test's Job, starting START_AT (into $TMP/job.yaml).
render() {
    "$K8S/submit" --render --shards "$SHARDS" --start-at "$1" --name evcat-k8s-test -- \
        -c "$CONNS" --connect-rate $((CONNS * 2)) -d 1s --mode subscribe \
        --publish "$PUB_URL" --publish-rate 20 -H 'X-Note: a $(JOB_COMPLETION_INDEX) "quoted" \ value' \
        "$WS_URL" >"$TMP/job.yaml"
}
START_AT=$(date -u -d "@$(($(date +%s) + 3600))" +%Y-%m-%dT%H:%M:%SZ)
render "$START_AT"
expect_eq "submit --render: exit 0" 0 $?
out=$("${VJ[@]}" check "$TMP/job.yaml" 2>&1)
expect_eq "the rendered Job is valid" "$TMP/job.yaml: Job evcat-k8s-test: valid (Indexed, $SHARDS shards)" "$out"
mapfile -d '' ARGV1 < <("${VJ[@]}" argv "$TMP/job.yaml" 1)
expect_eq "pod 1's command: --shard 1/$SHARDS --start-at $START_AT" "--shard 1/$SHARDS --start-at $START_AT" \
    "${ARGV1[6]} ${ARGV1[7]} ${ARGV1[8]} ${ARGV1[9]}"
has_arg() { local want=$1; shift; printf '%s\n' "$@" | grep -qxF -- "$want"; }
check "pod 1's command: a bench argument with \$(...), quotes and a backslash arrives verbatim" \
    has_arg 'X-Note: a $(JOB_COMPLETION_INDEX) "quoted" \ value' "${ARGV1[@]}"

# -------------------------------------- the pods, from the namespace hosts
if ! netns_possible; then
    skip "the Job's pods from namespace hosts: $NETNS_WHY"
    finish
fi
shards_setup || exit 1
SERVE_NS_PID=""
teardown() {
    if [ -n "$SERVE_NS_PID" ]; then
        kill -TERM "$SERVE_NS_PID" 2>/dev/null
        wait "$SERVE_NS_PID" 2>/dev/null
        SERVE_NS_PID=""
    fi
    netns_down
}
trap 'teardown; cleanup' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

if ! netns_up "$SHARDS" 1; then fail "namespaces"; finish; fi
bg nsenter --net="/run/netns/$NETNS_TARGET" "$EVCAT" serve --listen "$TARGET_ADDR:$PORT" --tick 0 -v 2>"$TMP/serve.err"
SERVE_NS_PID=$BG_PID
wait_until 10 grep -q "serving WebSocket" "$TMP/serve.err"
check "evcat serve listens in the target namespace" grep -q "serving WebSocket on $WS_URL" "$TMP/serve.err"

# Pod I: the container's environment and command for index I, with evcat on
# PATH (the image's), in host namespace I; stdout and stderr both in its log,
# as kubectl logs shows them.
render "$(date -u -d "@$(($(date +%s) + START_IN))" +%Y-%m-%dT%H:%M:%SZ)"
mkdir -p "$TMP/pods"
"${VJ[@]}" pods "$TMP/job.yaml" "$TMP/pods"
for ((i = 0; i < SHARDS; i++)); do
    mapfile -d '' envs <"$TMP/pods/pod-$i.env"
    mapfile -d '' argv <"$TMP/pods/pod-$i.argv"
    in_ns "${NETNS_HOSTS[i]}" env PATH="$SHARD_BIN:$PATH" "${envs[@]}" "${argv[@]}" >"$TMP/pod-$i.log" 2>&1 &
    POD[i]=$!
done
for ((i = 0; i < SHARDS; i++)); do
    wait "${POD[i]}"
    rc=$?
    expect_eq "pod $i: exit 0" 0 "$rc"
    [ "$rc" -eq 0 ] || sed 's/^/  log: /' "$TMP/pod-$i.log" | tail -n 5
    expect_eq "pod $i: the log starts with the marker line" "### evcat bench shard $i" "$(head -n 1 "$TMP/pod-$i.log")"
    expect_eq "pod $i: then its shard as one JSON line" 1 "$(tail -n +2 "$TMP/pod-$i.log" | grep -c '^{.*}$')"
    tail -n +2 "$TMP/pod-$i.log" | grep '^{' >"$TMP/shard-$i.json"
    est[i]=$(jq_py "$TMP/shard-$i.json" 'o["connections"]["established"]')
    expect_eq "pod $i: serve saw its ${est[i]:-?} connections from ${HOST_ADDR[i]}" "${est[i]:-x}" \
        "$(grep -c "^${HOST_ADDR[i]}:[0-9]* GET /ws 101" "$TMP/serve.err")"
done
expect_eq "the pods' established add up to -c $CONNS" "$CONNS" $((est[0] + est[1] + est[2]))

# kubectl logs of the Job's pods, one after the other, with a line of noise
# before a marker, into collect's merge.
{ echo "a line before the marker"; cat "$TMP"/pod-*.log; } >"$TMP/logs.txt"
"$K8S/collect" --stdin --evcat "$SHARD_EVCAT" --json "$TMP/merged.json" <"$TMP/logs.txt" >"$TMP/collect.out" 2>&1
expect_eq "collect --stdin: exit 0" 0 $?
check "collect wrote the merged JSON" test -s "$TMP/merged.json"

# The same through kubectl: a stand-in kubectl (it answers only what submit
# and collect ask, from the files above) shows what they ask and pass on.
mkdir -p "$TMP/kubectl-bin"
cat >"$TMP/kubectl-bin/kubectl" <<KUBECTL
#!/usr/bin/env bash
echo "\$*" >>"$TMP/kubectl.calls"
case "\$*" in
"create -f -") cat >"$TMP/created.yaml"; echo "job.batch/evcat-k8s-test created" ;;
"wait --for=condition=complete --timeout=5s job/evcat-k8s-test") echo "job.batch/evcat-k8s-test condition met" ;;
"get pods -l job-name=evcat-k8s-test -o name") for i in \$(seq 0 $((SHARDS - 1))); do echo "pod/evcat-k8s-test-\$i-x7k2p"; done ;;
"logs pod/evcat-k8s-test-"*) i=\${2#pod/evcat-k8s-test-}; cat "$TMP/pod-\${i%%-*}.log" ;;
*) echo "kubectl stand-in: not expected: \$*" >&2; exit 1 ;;
esac
KUBECTL
chmod +x "$TMP/kubectl-bin/kubectl"
PATH="$TMP/kubectl-bin:$PATH" "$K8S/collect" --wait 5 --evcat "$SHARD_EVCAT" evcat-k8s-test \
    --json "$TMP/merged-kubectl.json" >"$TMP/collect-kubectl.out" 2>&1
expect_eq "collect JOB through kubectl: exit 0" 0 $?
expect_eq "... it asks kubectl to wait for the Job, for its pods, and for each pod's log" \
    "wait --for=condition=complete --timeout=5s job/evcat-k8s-test|get pods -l job-name=evcat-k8s-test -o name|logs pod/evcat-k8s-test-0-x7k2p|logs pod/evcat-k8s-test-1-x7k2p|logs pod/evcat-k8s-test-2-x7k2p" \
    "$(paste -sd'|' "$TMP/kubectl.calls")"
expect_eq "... and merges the same shards as collect --stdin" \
    "$(jq_py "$TMP/merged.json" 'o["connections"]["established"]')" \
    "$(jq_py "$TMP/merged-kubectl.json" 'o["connections"]["established"]')"
PATH="$TMP/kubectl-bin:$PATH" "$K8S/submit" --shards "$SHARDS" --start-at "$START_AT" --name evcat-k8s-test -- \
    -c 10 "$WS_URL" >"$TMP/submit-kubectl.out" 2>&1
expect_eq "submit through kubectl: exit 0" 0 $?
quiet() { "$@" >/dev/null 2>&1; }
check "... it creates a valid Job with kubectl create -f -" quiet "${VJ[@]}" check "$TMP/created.yaml"
check "... and says how to collect it" grep -q "deploy/kubernetes/collect evcat-k8s-test" "$TMP/submit-kubectl.out"

# --------------------------------------- the pods' shards and their merge
check_merged() {
    local i
    for ((i = 0; i < SHARDS; i++)); do
        expect_eq "pod $i's shard is {index $i, count $SHARDS}" "$i/$SHARDS" \
            "$(jq_py "$TMP/shard-$i.json" 'str(o["shard"]["index"]) + "/" + str(o["shard"]["count"])')"
    done
    for key in '["connections"]["established"]' '["messages"]["received"]' '["latency_ms"]["samples"]'; do
        expect_eq "collect: merged$key = the sum of the pods'" \
            "$("$PY" -c "import json, sys; print(sum(json.load(open(f))$key for f in sys.argv[1:]))" "$TMP"/shard-*.json)" \
            "$(jq_py "$TMP/merged.json" "o$key")"
    done
    check "collect prints the summary of the whole test ($CONNS/$CONNS established)" \
        grep -qE "connections +$CONNS/$CONNS established" "$TMP/collect.out"
    cat "$TMP/pod-0.log" "$TMP/pod-2.log" | "$K8S/collect" --stdin --evcat "$SHARD_EVCAT" >/dev/null 2>"$TMP/missing.err"
    expect_eq "collect without pod 1's log: exit 2" 2 $?
    check "... naming the missing shard" grep -Eqi 'missing.*1|1.*missing' "$TMP/missing.err"
    cat "$TMP/pod-0.log" "$TMP/pod-2.log" | "$K8S/collect" --stdin --evcat "$SHARD_EVCAT" --partial --json "$TMP/partial.json" >/dev/null 2>&1
    expect_eq "collect --partial: shards 0 and 2" $((est[0] + est[2])) "$(jq_py "$TMP/partial.json" 'o["connections"]["established"]')"
}
check_merged

teardown
expect_eq "no namespace or link of this run left" "" "$(netns_leftovers)"
finish
