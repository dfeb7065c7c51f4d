# bash completion for evcat                                  -*- shell-script -*-
# Install: source this file, or copy it to
# /usr/share/bash-completion/completions/evcat.

_evcat() {
    local cur prev words cword
    _init_completion 2>/dev/null || {
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD-1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    }
    local commands="listen ws send replay bench serve help"
    local conn="-H --header -u --user --bearer --cacert --cert --key -k --insecure -x --proxy
        --connect-timeout -v --verbose -q --quiet -o --format --color --record -h --help"
    local ws_opts="--subprotocol --origin --ping-interval --on-open --binary --max-message
        --reconnect --max-retries -n --count --timeout"
    local listen_opts="$conn $ws_opts -X --request -d --data --event --last-event-id --no-reconnect
        --idle-timeout --http1.1 --http2 --max-event-size"
    local bench_opts="-H --header -u --user --bearer --cacert --cert --key -k --insecure
        --connect-timeout -v --verbose -q --quiet -h --help --subprotocol --origin --on-open
        --binary --max-message -c --connections --connect-rate -d --duration -t --threads
        -p --procs --source --mode -r --message-rate --size --latency-field --publish
        --publish-rate --json --assert"
    local replay_opts="$conn --subprotocol --origin --max-message --speed --no-timing --expect
        --timeout --serve --listen --tls"
    local serve_opts="--listen --tls --tick --retry --history --max-message --max-queue
        --max-connections --header-timeout --keepalive --idle-timeout -v --verbose -q --quiet -h --help"

    if [ "$cword" -eq 1 ]; then
        COMPREPLY=($(compgen -W "$commands --version --help" -- "$cur"))
        return
    fi
    local cmd=${words[1]}
    case $prev in
        -o|--format) COMPREPLY=($(compgen -W "pretty raw json" -- "$cur")); return ;;
        --color) COMPREPLY=($(compgen -W "auto always never" -- "$cur")); return ;;
        --cacert|--cert|--key|--tls|--json|--record) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --mode) COMPREPLY=($(compgen -W "echo subscribe" -- "$cur")); return ;;
        --assert)
            COMPREPLY=($(compgen -W "p50< p90< p99< p999< max< connect_p99< errors== connected>=
                failed== dropped== recv_rate>= sent_rate>=" -- "$cur"))
            return ;;
        -d|--data)
            [ "$cmd" = bench ] && return
            if [[ $cur == @* ]]; then
                COMPREPLY=($(compgen -f -- "${cur#@}" | sed 's/^/@/'))
            fi
            return ;;
        -X|--request) COMPREPLY=($(compgen -W "GET POST PUT PATCH" -- "$cur")); return ;;
        -H|--header|-u|--user|--bearer|-x|--proxy|--connect-timeout|--event|--last-event-id|\
        --max-retries|-n|--count|--timeout|--idle-timeout|--max-event-size|--listen|--tick|\
        --retry|--history|--max-message|--max-queue|--max-connections|--header-timeout|--keepalive|\
        --subprotocol|--origin|--ping-interval|--on-open|-c|--connections|--connect-rate|\
        --duration|-t|--threads|-p|--procs|--source|-r|--message-rate|--size|--latency-field|\
        --publish|--publish-rate|--speed)
            return ;;
    esac
    # --tls takes two files.
    if [ "$cword" -ge 3 ] && [ "${words[cword-2]}" = "--tls" ]; then
        COMPREPLY=($(compgen -f -- "$cur"))
        return
    fi
    case $cmd in
        listen) COMPREPLY=($(compgen -W "$listen_opts" -- "$cur")) ;;
        ws|send) COMPREPLY=($(compgen -W "$conn $ws_opts" -- "$cur")) ;;
        replay)
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "$replay_opts" -- "$cur"))
            else
                COMPREPLY=($(compgen -f -- "$cur"))
            fi ;;
        bench) COMPREPLY=($(compgen -W "$bench_opts" -- "$cur")) ;;
        serve) COMPREPLY=($(compgen -W "$serve_opts" -- "$cur")) ;;
        help) COMPREPLY=($(compgen -W "listen ws send replay bench serve" -- "$cur")) ;;
    esac
}
complete -F _evcat evcat
