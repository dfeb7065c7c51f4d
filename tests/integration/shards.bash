# What the cluster and k8s tests share (sourced after lib.sh; not a test
# itself, hence not *.sh).
#
# shards_setup sets SHARD_EVCAT (the evcat the deploy recipes run: $EVCAT,
# which under the valgrind leg is evcat under memcheck) and SHARD_BIN (a
# directory whose `evcat` is SHARD_EVCAT, to put first on PATH, as a pod's
# image or a cluster node would have it).
shards_setup() {
    SHARD_EVCAT=$EVCAT
    SHARD_BIN=$TMP/shard-bin
    mkdir -p "$SHARD_BIN"
    ln -sf "$SHARD_EVCAT" "$SHARD_BIN/evcat"
}

# jq_py FILE EXPR: a value of a JSON file, EXPR in Python over `o` (e.g. o["connections"]["established"]).
jq_py() {
    "$PY" -c 'import json, sys
o = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' "$1" "$2" 2>/dev/null
}
