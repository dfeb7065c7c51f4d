# Which evcat the deploy recipes run in the cluster and k8s tests (sourced
# after lib.sh; not a test itself, hence not *.sh).
#
# Issue 12's C side (bench --shard, --start-at, bench merge) is the switch:
# once $EVCAT has `bench --shard` and `bench merge`, the recipes run $EVCAT
# itself and the tests' checks_waiting_for_c_side run; until then they run
# tests/integration/preshard_evcat, a stand-in that turns each shard's final
# command line into plain `evcat bench` with the shard's share, and those
# checks are skipped, saying so. EVCAT_SHARDS=real or EVCAT_SHARDS=stand-in
# forces one.
#
# shards_setup sets SHARD_MODE (real or stand-in), SHARD_EVCAT (the program
# to hand the recipes as evcat) and SHARD_BIN (a directory whose `evcat` is
# SHARD_EVCAT, to put first on PATH), and exports what the stand-in needs.

# shards_landed: does $EVCAT have bench --shard and bench merge?
shards_landed() {
    "$EVCAT" bench --shard 0/1 --help >/dev/null 2>&1 &&
        "$EVCAT" bench merge --help >/dev/null 2>&1
}

shards_setup() {
    local here
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    SHARD_MODE=${EVCAT_SHARDS:-}
    if [ -z "$SHARD_MODE" ]; then
        if shards_landed; then SHARD_MODE=real; else SHARD_MODE=stand-in; fi
    fi
    SHARD_BIN=$TMP/shard-bin
    mkdir -p "$SHARD_BIN"
    case $SHARD_MODE in
    real)
        SHARD_EVCAT=$EVCAT
        ;;
    stand-in)
        export EVCAT_REAL_BIN=$EVCAT
        SHARD_EVCAT=$here/preshard_evcat
        echo "# $EVCAT has no 'bench --shard' and 'bench merge' yet (issue 12):" \
            "the recipes run the stand-in tests/integration/preshard_evcat (plain bench per shard)"
        ;;
    *)
        echo "EVCAT_SHARDS must be real or stand-in, not '$SHARD_MODE'" >&2
        return 1
        ;;
    esac
    ln -sf "$SHARD_EVCAT" "$SHARD_BIN/evcat"
}

# c_side_checks NAME FUNCTION [ARGS...]: run the checks that need issue 12's
# C side, or skip them, saying so. (EVCAT_C_SIDE_CHECKS=1 runs them against
# the stand-in too, to work on the checks themselves: the stand-in lacks much
# of what they check, so some fail.)
c_side_checks() {
    local name=$1
    shift
    if [ "$SHARD_MODE" = real ] || [ "${EVCAT_C_SIDE_CHECKS:-}" = 1 ]; then
        "$@"
    else
        skip "$name: waiting for the C side (evcat bench --shard, --start-at, bench merge; $1 in $(basename "$0"))"
    fi
}

# jq_py FILE EXPR: a value of a JSON file, EXPR in Python over `o` (e.g. o["connections"]["established"]).
jq_py() {
    "$PY" -c 'import json, sys
o = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' "$1" "$2" 2>/dev/null
}
