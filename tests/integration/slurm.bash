# A single-machine Slurm cluster on the namespace hosts of netns.bash
# (sourced after it; not a test itself, hence not *.sh).
#
# slurm_up DIR starts, with everything under DIR:
#   - munged -F, its key and socket in DIR (AuthInfo=socket=...);
#   - slurmctld -D in $NETNS_CTL (198.18.0.1);
#   - one slurmd -D -N nI per host NETNS_HOSTS[I], started with
#     nsenter --net (`ip netns exec` remounts /sys, and slurmd then dies
#     for lack of /sys/fs/cgroup); node nI is at HOST_ADDR[I] with 1 CPU;
# and waits until every node is idle. The daemons listen on 6817/6818 inside
# this run's own namespaces, where every port is free and nothing of another
# test can collide with them (and nothing reaches them from outside).
# Job completions (state, exit code, node) go to DIR/jobcomp.txt.
#
# slurm CMD... runs a Slurm client (sbatch, squeue, scontrol...) against it,
# from $NETNS_CTL. slurm_down stops it all: `scontrol shutdown` first (which
# stops slurmctld and every slurmd), then waits for their PIDs, then stops
# munged; a daemon still there after SLURM_STOP_WAIT seconds is killed by PID
# and named. SLURM_UP_S and SLURM_DOWN_S hold how long each took.

SLURM_DIR=""
SLURM_SOCK_DIR=""
SLURM_PIDS=()
SLURM_MUNGE_PID=""
SLURM_STOP_WAIT=${SLURM_STOP_WAIT:-15}
SLURM_UP_S=""
SLURM_DOWN_S=""

slurm_err() { echo "slurm: $*" >&2; }

# slurm_possible: the Debian packages are there (slurmctld slurmd slurm-client munge).
slurm_possible() {
    local b
    for b in munged mungekey slurmctld slurmd sbatch squeue scontrol sinfo; do
        command -v "$b" >/dev/null || { SLURM_WHY="$b not found (apt-get install slurmctld slurmd slurm-client munge)"; return 1; }
    done
}

slurm() { SLURM_CONF="$SLURM_DIR/slurm.conf" in_ns "$NETNS_CTL" "$@"; }

_slurm_now() { date +%s.%N; }
_slurm_since() { awk -v a="$1" -v b="$(_slurm_now)" 'BEGIN {printf "%.2f", b - a}'; }

_slurm_conf() {
    local i
    cat <<CONF
# Written by tests/integration/slurm.bash for one test run.
ClusterName=evcat$$
SlurmctldHost=$(hostname -s)($CTL_ADDR)
SlurmctldPort=6817
SlurmdPort=6818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$SLURM_SOCK_DIR/munge.socket
CredType=cred/munge
StateSaveLocation=$SLURM_DIR/state
SlurmdSpoolDir=$SLURM_DIR/spool/%n
SlurmctldPidFile=$SLURM_DIR/slurmctld.pid
SlurmdPidFile=$SLURM_DIR/slurmd.%n.pid
SlurmctldLogFile=$SLURM_DIR/slurmctld.log
SlurmdLogFile=$SLURM_DIR/slurmd.%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SlurmdParameters=config_overrides
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
MpiDefault=none
MailProg=/bin/true
JobCompType=jobcomp/filetxt
JobCompLoc=$SLURM_DIR/jobcomp.txt
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
KillWait=5
CONF
    for i in "${!NETNS_HOSTS[@]}"; do
        echo "NodeName=n$i NodeAddr=${HOST_ADDR[i]} CPUs=1 State=UNKNOWN"
    done
    echo "PartitionName=evcat Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
}

# slurm_up DIR: see the top. Returns non-zero (having said why) on failure.
slurm_up() {
    SLURM_DIR=$1
    local t0 i k want state
    t0=$(_slurm_now)
    mkdir -p "$SLURM_DIR/state" "$SLURM_DIR/spool" || return 1
    # munged wants every directory above its socket searchable by all; the
    # test's own folder is not: the socket gets a folder of its own in /tmp.
    SLURM_SOCK_DIR=$(mktemp -d /tmp/evcat-munge.XXXXXX) && chmod 755 "$SLURM_SOCK_DIR" || return 1
    mungekey --create --keyfile="$SLURM_DIR/munge.key" 2>"$SLURM_DIR/mungekey.err" ||
        { slurm_err "mungekey failed: $(cat "$SLURM_DIR/mungekey.err")"; return 1; }
    munged -F --key-file="$SLURM_DIR/munge.key" --socket="$SLURM_SOCK_DIR/munge.socket" \
        --pid-file="$SLURM_DIR/munged.pid" --log-file="$SLURM_DIR/munged.log" \
        --seed-file="$SLURM_DIR/munged.seed" 2>"$SLURM_DIR/munged.err" &
    SLURM_MUNGE_PID=$!
    for ((k = 0; k < 100; k++)); do
        [ -S "$SLURM_SOCK_DIR/munge.socket" ] && break
        kill -0 "$SLURM_MUNGE_PID" 2>/dev/null || break
        sleep 0.05
    done
    [ -S "$SLURM_SOCK_DIR/munge.socket" ] || { slurm_err "munged did not start: $(tail -n 2 "$SLURM_DIR/munged.err")"; return 1; }
    for i in "${!NETNS_HOSTS[@]}"; do mkdir -p "$SLURM_DIR/spool/n$i"; done
    _slurm_conf >"$SLURM_DIR/slurm.conf"
    export SLURM_CONF="$SLURM_DIR/slurm.conf"
    nsenter --net="/run/netns/$NETNS_CTL" slurmctld -D -i 2>"$SLURM_DIR/slurmctld.err" &
    SLURM_PIDS+=($!)
    for i in "${!NETNS_HOSTS[@]}"; do
        nsenter --net="/run/netns/${NETNS_HOSTS[i]}" slurmd -D -N "n$i" 2>"$SLURM_DIR/slurmd.n$i.err" &
        SLURM_PIDS+=($!)
    done
    want="idle ${#NETNS_HOSTS[@]}"
    for ((k = 0; k < 300; k++)); do
        state=$(slurm sinfo -h -o '%T %D' 2>/dev/null)
        [ "$state" = "$want" ] && break
        for i in "${SLURM_PIDS[@]}"; do
            kill -0 "$i" 2>/dev/null || { slurm_err "a daemon exited at start (pid $i): $(tail -qn 1 "$SLURM_DIR"/*.err | tr '\n' ' ')"; return 1; }
        done
        sleep 0.1
    done
    [ "$state" = "$want" ] || { slurm_err "nodes not idle after 30 s: '$state'"; return 1; }
    SLURM_UP_S=$(_slurm_since "$t0")
}

# slurm_wait_gone SECONDS JOB...: polls squeue until no JOB is in the queue.
slurm_wait_gone() {
    local limit=$1 k q rc ids
    shift
    ids=$(IFS=,; echo "$*")
    for ((k = 0; k < limit * 10; k++)); do
        q=$(slurm squeue -h -j "$ids" -o %i 2>&1)
        rc=$?
        [ $rc -eq 0 ] && [ -z "$q" ] && return 0
        [ $rc -ne 0 ] && [[ $q == *"Invalid job id"* ]] && return 0
        sleep 0.1
    done
    return 1
}

# slurm_jobcomp JOBID FIELD: FIELD of the jobcomp record of job (or array task) JOBID.
slurm_jobcomp() {
    tr ' ' '\n' <"$SLURM_DIR/jobcomp.txt" 2>/dev/null |
        awk -F= -v id="$1" -v f="$2" '$1 == "JobId" {j = $2} j == id && $1 == f {print substr($0, length(f) + 2)}'
}

# _slurm_wait_pids SECONDS PID...: until every PID has exited.
_slurm_wait_pids() {
    local limit=$1 k p alive
    shift
    for ((k = 0; k < limit * 20; k++)); do
        alive=0
        for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && return 0
        sleep 0.05
    done
    return 1
}

slurm_down() {
    [ -n "$SLURM_DIR" ] || return 0
    local t0 p
    t0=$(_slurm_now)
    if [ ${#SLURM_PIDS[@]} -gt 0 ]; then
        # Jobs still queued or running (a test that failed half-way): cancel
        # them and let their steps end before the daemons go.
        local left
        left=$(slurm squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ')
        if [ -n "${left// /}" ]; then
            slurm_err "jobs left at teardown, cancelled: $left"
            # shellcheck disable=SC2086
            slurm scancel $left >/dev/null 2>&1
            slurm_wait_gone 15 $left
        fi
        slurm scontrol shutdown >/dev/null 2>&1
        if ! _slurm_wait_pids "$SLURM_STOP_WAIT" "${SLURM_PIDS[@]}"; then
            for p in "${SLURM_PIDS[@]}"; do
                kill -0 "$p" 2>/dev/null || continue
                slurm_err "pid $p ($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)) still running ${SLURM_STOP_WAIT}s after 'scontrol shutdown': killed"
                kill -KILL "$p" 2>/dev/null
            done
        fi
        for p in "${SLURM_PIDS[@]}"; do wait "$p" 2>/dev/null; done
        SLURM_PIDS=()
    fi
    if [ -n "$SLURM_MUNGE_PID" ]; then
        kill "$SLURM_MUNGE_PID" 2>/dev/null
        wait "$SLURM_MUNGE_PID" 2>/dev/null
        SLURM_MUNGE_PID=""
    fi
    [ -n "$SLURM_SOCK_DIR" ] && rm -rf "$SLURM_SOCK_DIR"
    SLURM_SOCK_DIR=""
    SLURM_DOWN_S=$(_slurm_since "$t0")
    return 0
}
