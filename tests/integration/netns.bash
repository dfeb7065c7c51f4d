# Test hosts as network namespaces (sourced after lib.sh, or by
# scripts/bench-cluster; not a test itself, hence not *.sh).
#
# netns_up HOSTS [SOURCES] builds, for this process only:
#   - a bridge in the root namespace, without an address (nothing is routed
#     there: the hosts reach each other and nobody else);
#   - namespaces $NETNS_CTL (the scheduler's host), $NETNS_TARGET (the server)
#     and NETNS_HOSTS[0..HOSTS-1] (the load generators), each joined to the
#     bridge by a veth pair whose inner end is eth0;
#   - addresses from 198.18.0.0/15 (RFC 2544) only, all on link (/15):
#       ctl      198.18.0.1
#       target   198.18.0.2 (TARGET_ADDR)
#       host i   198.18.(i+1).1 .. 198.18.(i+1).SOURCES (HOST_ADDR[i], and
#                HOST_SOURCES[i]: the comma-separated list of all of them)
# Names carry this shell's PID (ec<PID>...), so parallel runs do not meet.
# netns_down deletes all of it and stops, by PID, whatever still runs inside
# (it says so: a test must stop its own daemons first). netns_leftovers prints
# what of this run remains (nothing, after netns_down).
#
# in_ns NS CMD... runs CMD in namespace NS with nsenter --net (not
# `ip netns exec`, which remounts /sys and hides /sys/fs/cgroup from slurmd).
# A daemon whose PID is to be its own: `nsenter --net=/run/netns/NS CMD &`
# directly (nsenter execs CMD; in_ns in the background would be a subshell).

NETNS_ID="ec$$"
NETNS_PREFIX="evcat-$$-"
NETNS_BR="${NETNS_ID}br"
NETNS_CTL="${NETNS_PREFIX}ctl"
NETNS_TARGET="${NETNS_PREFIX}target"
NETNS_HOSTS=()
NETNS_ALL=()
HOST_ADDR=()
HOST_SOURCES=()
CTL_ADDR=198.18.0.1
TARGET_ADDR=198.18.0.2
NETNS_MADE=0

netns_err() { echo "netns: $*" >&2; }

# netns_possible: can this process make namespaces and links? (root, iproute2, nsenter)
netns_possible() {
    [ "$(id -u)" -eq 0 ] || { NETNS_WHY="needs root (ip netns, veth, bridge)"; return 1; }
    command -v ip >/dev/null || { NETNS_WHY="needs iproute2 (ip)"; return 1; }
    command -v nsenter >/dev/null || { NETNS_WHY="needs nsenter (util-linux)"; return 1; }
    local probe="${NETNS_PREFIX}probe"
    if ! ip netns add "$probe" 2>/dev/null; then
        NETNS_WHY="'ip netns add' is not permitted here"
        return 1
    fi
    ip netns del "$probe"
    return 0
}

in_ns() {
    local ns=$1
    shift
    nsenter --net="/run/netns/$ns" "$@"
}

# _netns_join NS INDEX ADDR...: namespace NS on the bridge, eth0 with ADDRs (/15).
_netns_join() {
    local ns=$1 i=$2 a
    shift 2
    local outer="${NETNS_ID}v$i" inner="${NETNS_ID}p$i"
    ip netns add "$ns" || return 1
    NETNS_ALL+=("$ns")
    ip link add "$outer" type veth peer name "$inner" || return 1
    ip link set "$inner" netns "$ns" || return 1
    ip link set "$outer" master "$NETNS_BR" up || return 1
    in_ns "$ns" ip link set lo up || return 1
    in_ns "$ns" ip link set "$inner" name eth0 || return 1
    for a in "$@"; do
        in_ns "$ns" ip addr add "$a/15" dev eth0 || return 1
    done
    in_ns "$ns" ip link set eth0 up || return 1
}

# netns_up HOSTS [SOURCES]: see the top. Returns non-zero (having said why) on failure.
netns_up() {
    local hosts=$1 sources=${2:-1} i j addrs list
    if [ "$hosts" -lt 1 ] || [ "$hosts" -gt 250 ] || [ "$sources" -lt 1 ] || [ "$sources" -gt 250 ]; then
        netns_err "netns_up: 1..250 hosts of 1..250 addresses each"
        return 1
    fi
    NETNS_MADE=1
    # No IP netfilter on bridged frames (br_netfilter may be loaded): this
    # bridge's traffic skips the root namespace's iptables and conntrack.
    ip link add "$NETNS_BR" type bridge nf_call_iptables 0 nf_call_ip6tables 0 nf_call_arptables 0 2>/dev/null ||
        ip link add "$NETNS_BR" type bridge || { netns_err "cannot create bridge $NETNS_BR"; return 1; }
    ip link set "$NETNS_BR" up || return 1
    _netns_join "$NETNS_CTL" c "$CTL_ADDR" || { netns_err "cannot set up $NETNS_CTL"; return 1; }
    _netns_join "$NETNS_TARGET" t "$TARGET_ADDR" || { netns_err "cannot set up $NETNS_TARGET"; return 1; }
    for ((i = 0; i < hosts; i++)); do
        addrs=()
        for ((j = 1; j <= sources; j++)); do addrs+=("198.18.$((i + 1)).$j"); done
        NETNS_HOSTS+=("${NETNS_PREFIX}h$i")
        HOST_ADDR+=("${addrs[0]}")
        list=$(IFS=,; echo "${addrs[*]}")
        HOST_SOURCES+=("$list")
        _netns_join "${NETNS_HOSTS[i]}" "$i" "${addrs[@]}" || { netns_err "cannot set up ${NETNS_HOSTS[i]}"; return 1; }
    done
    # Duplicate address detection and the bridge's learning: wait until the
    # target answers from every host (one ping each).
    for ((i = 0; i < hosts; i++)); do
        netns_wait_ping "${NETNS_HOSTS[i]}" "$TARGET_ADDR" || return 1
    done
    netns_wait_ping "$NETNS_CTL" "$TARGET_ADDR" || return 1
}

# netns_wait_ping NS ADDR: ADDR answers from NS within 5 s (a TCP connect to
# port 9 (discard) that is accepted or refused, not unanswered).
netns_wait_ping() {
    in_ns "$1" /usr/bin/python3 -c '
import socket, sys, time
end = time.monotonic() + 5
while time.monotonic() < end:
    s = socket.socket()
    s.settimeout(0.5)
    try:
        s.connect((sys.argv[1], 9))
        sys.exit(0)
    except ConnectionRefusedError:
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
    finally:
        s.close()
sys.exit(1)' "$2" && return 0
    netns_err "$2 does not answer from $1"
    return 1
}

# netns_pids: the PIDs of every process still in one of this run's namespaces.
netns_pids() {
    local ns
    for ns in "${NETNS_ALL[@]:-}"; do
        [ -n "$ns" ] && [ -e "/run/netns/$ns" ] && ip netns pids "$ns" 2>/dev/null
    done
}

# netns_down: stop what still runs inside (by PID, naming it), delete the
# namespaces, the veth pairs and the bridge. Safe to call twice.
netns_down() {
    [ "$NETNS_MADE" = 1 ] || return 0
    local p ns k left
    left=$(netns_pids)
    if [ -n "$left" ]; then
        for p in $left; do
            netns_err "still running at teardown, stopped: $p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-80)"
            kill "$p" 2>/dev/null
        done
        for ((k = 0; k < 40; k++)); do
            [ -z "$(netns_pids)" ] && break
            sleep 0.05
        done
        for p in $(netns_pids); do kill -KILL "$p" 2>/dev/null; done
    fi
    for ns in "${NETNS_ALL[@]:-}"; do
        [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
    done
    # A veth pair goes with its namespace; a leftover outer end is removed here.
    for p in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep "^${NETNS_ID}[vp]"); do
        ip link del "$p" 2>/dev/null
    done
    ip link del "$NETNS_BR" 2>/dev/null
    NETNS_MADE=0
    return 0
}

# netns_leftovers: this run's namespaces and links that still exist (empty when clean).
netns_leftovers() {
    ip netns list 2>/dev/null | awk '{print $1}' | grep -F -- "$NETNS_PREFIX" | sed 's/^/netns /'
    ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E "^${NETNS_ID}(br|[vp])" | sed 's/^/link /'
    return 0
}
