#!/usr/bin/env bash
# Errors that teach: "did you mean" for commands and options (long options
# written in full), a slip in a URL's scheme part named as a usage error in
# every command that takes URLs, one wording for a refused connection on the
# SSE and WebSocket paths (and bench --publish's first error), no libcurl
# "Failure writing output" line under -v at a clean exit, bench -o json.
. "$(dirname "$0")/lib.sh"

# expect_line NAME WANT ARGS...: evcat ARGS exits 2 with exactly the line
# WANT on stderr.
expect_line() {
    local name=$1 want=$2
    shift 2
    "$EVCAT" "$@" >/dev/null 2>"$TMP/err" </dev/null
    local rc=$?
    if [ "$rc" -eq 2 ] && [ "$(cat "$TMP/err")" == "$want" ]; then
        pass "$name"
    else
        fail "$name (exit $rc)"
        printf '  expected: %s\n  actual:   %s\n' "$want" "$(cat "$TMP/err")"
    fi
}

# ---- did you mean: commands ----
expect_line "command: lisen" "evcat: unknown command 'lisen'; did you mean 'listen'?" lisen http://127.0.0.1:1/
expect_line "command: bnech (a transposition)" "evcat: unknown command 'bnech'; did you mean 'bench'?" bnech
expect_line "command: server" "evcat: unknown command 'server'; did you mean 'serve'?" server
expect_line "help lisen" "evcat: unknown command 'lisen'; did you mean 'listen'?" help lisen
for w in help --help; do
    out=$("$EVCAT" help $w 2>&1); rc=$?
    expect_eq "help $w: the command list, exit 0" "0/Usage: evcat COMMAND [OPTIONS] [ARGS]" "$rc/$(printf '%s\n' "$out" | head -1)"
done
expect_line "command: nothing close" "evcat: unknown command 'frobnicate' (see 'evcat --help')" frobnicate
expect_line "a URL where the command goes" \
    "evcat: 'http://127.0.0.1:1/sse' is not a command: the command comes first, e.g. 'evcat listen http://127.0.0.1:1/sse' (see 'evcat --help')" \
    http://127.0.0.1:1/sse
expect_line "an option before the command" \
    "evcat: '-v' goes after the command: 'evcat listen -v ...' (see 'evcat listen --help')" \
    -v listen http://127.0.0.1:1/
expect_line "evcat --verison" "evcat: unknown option '--verison'; did you mean '--version'?" --verison

# ---- did you mean: options, only those the command takes ----
expect_line "listen --evnt" "evcat: listen: unknown option '--evnt'; did you mean '--event'?" \
    listen --evnt x http://127.0.0.1:1/
expect_line "listen --evnt=x" "evcat: listen: unknown option '--evnt'; did you mean '--event'?" \
    listen --evnt=x http://127.0.0.1:1/
expect_line "bench --rate" "evcat: bench: unknown option '--rate'; did you mean '--message-rate'?" \
    bench --rate 5 ws://127.0.0.1:1/
expect_line "ws --pign (a slip in the start)" \
    "evcat: ws: unknown option '--pign'; did you mean '--ping-interval'?" ws --pign 1s ws://127.0.0.1:1/
expect_line "option: nothing close" "evcat: listen: unknown option '--bogus' (see 'evcat listen --help')" \
    listen --bogus http://127.0.0.1:1/
expect_line "option of another command" \
    "evcat: listen: unknown option '--connections' (an option of bench; see 'evcat listen --help')" \
    listen --connections 5 http://127.0.0.1:1/
expect_line "a flag given a value" "evcat: listen: --no-reconnect takes no value, got '--no-reconnect=1'" \
    listen --no-reconnect=1 http://127.0.0.1:1/
# getopt_long would take these abbreviations; evcat names the whole option
expect_line "no abbreviation: --conn" "evcat: bench: unknown option '--conn'; did you mean '--connections'?" \
    bench --conn 5 ws://127.0.0.1:1/
expect_line "no abbreviation: --max-ret=3" \
    "evcat: listen: unknown option '--max-ret'; did you mean '--max-retries'?" \
    listen --max-ret=3 http://127.0.0.1:1/
expect_line "no abbreviation, value missing" "evcat: listen: unknown option '--idle'; did you mean '--idle-timeout'?" \
    listen http://127.0.0.1:1/ --idle
expect_line "no abbreviation: serve --lis" "evcat: serve: unknown option '--lis'; did you mean '--listen'?" \
    serve --lis 127.0.0.1:0

# ---- a slip in a URL: a usage error naming it, never a DNS look-up ----
expect_line "listen http//host/x" "evcat: listen: 'http//host/x' is not a URL: missing ':' after 'http'?" \
    listen http//host/x
expect_line "listen http:/host" "evcat: listen: 'http:/host' is not a URL: missing '/' after 'http:/'?" \
    listen http:/host
expect_line "listen ws:/host" "evcat: listen: 'ws:/host' is not a URL: missing '/' after 'ws:/'?" \
    listen ws:/host
expect_line "listen ws//host" "evcat: listen: 'ws//host' is not a URL: missing ':' after 'ws'?" \
    listen ws//host
expect_line "listen htp://host" "evcat: listen: 'htp://host': unknown scheme 'htp'; did you mean 'http'?" \
    listen htp://host
expect_line "ws ws//host" "evcat: ws: 'ws//host' is not a URL: missing ':' after 'ws'?" ws ws//host
expect_line "send wss:/host" "evcat: send: 'wss:/host' is not a URL: missing '/' after 'wss:/'?" \
    send wss:/host hello
expect_line "send wws://host" "evcat: send: 'wws://host': unknown scheme 'wws'; did you mean 'ws' or 'wss'?" \
    send wws://host hello
printf '{"evcat_recording":1,"url":"ws://127.0.0.1:1/","proto":"ws","started":"2026-12-06T00:00:00Z"}\n' \
    >"$TMP/rec.jsonl"
expect_line "replay FILE ws:/host" "evcat: replay: 'ws:/host' is not a URL: missing '/' after 'ws:/'?" \
    replay "$TMP/rec.jsonl" ws:/host
expect_line "bench http//host" "evcat: bench: 'http//host' is not a URL: missing ':' after 'http'?" \
    bench http//host
expect_line "bench, second URL" "evcat: bench: 'ws:/host' is not a URL: missing '/' after 'ws:/'?" \
    bench ws://127.0.0.1:1/ ws:/host
expect_line "bench --publish http//host" \
    "evcat: bench: --publish 'http//host/publish' is not a URL: missing ':' after 'http'?" \
    bench --publish http//host/publish http://127.0.0.1:1/sse
expect_line "a password stays hidden" \
    "evcat: listen: 'http//user:***@host/' is not a URL: missing ':' after 'http'?" \
    listen http//user:secret@host/
# a bare host is still http:// (as curl reads it): not a slip
dead=$(free_port)
expect_rc "a bare host:port is not a slip" 1 "$EVCAT" listen "127.0.0.1:$dead/sse"

# ---- one wording for a refused connection, SSE and WebSocket ----
expect_rc "listen http:// refused: exit 1" 1 "$EVCAT" listen "http://127.0.0.1:$dead/sse"
expect_eq "listen http:// refused: the line" "evcat: http://127.0.0.1:$dead/sse: connection refused by 127.0.0.1:$dead" \
    "$(cat "$TMP/rc.err")"
expect_rc "listen ws:// refused: exit 1" 1 "$EVCAT" listen "ws://127.0.0.1:$dead/ws"
expect_eq "listen ws:// refused: the same words" "evcat: ws://127.0.0.1:$dead/ws: connection refused by 127.0.0.1:$dead" \
    "$(cat "$TMP/rc.err")"
expect_rc "send refused: exit 1" 1 "$EVCAT" send "ws://127.0.0.1:$dead/ws" hello
expect_eq "send refused: the same words" "evcat: ws://127.0.0.1:$dead/ws: connection refused by 127.0.0.1:$dead" \
    "$(cat "$TMP/rc.err")"
expect_rc "listen refused through a proxy" 1 "$EVCAT" listen -x "http://127.0.0.1:$dead" "http://127.0.0.1:1/sse"
expect_eq "proxy named, SSE" "evcat: http://127.0.0.1:1/sse: connection refused by proxy 127.0.0.1:$dead" \
    "$(cat "$TMP/rc.err")"
expect_rc "ws refused through a proxy" 1 "$EVCAT" ws -x "http://127.0.0.1:$dead" "ws://127.0.0.1:1/ws" </dev/null
expect_eq "proxy named, WebSocket" "evcat: ws://127.0.0.1:1/ws: connection refused by proxy 127.0.0.1:$dead" \
    "$(cat "$TMP/rc.err")"

# bench dials one resolved address: its last line says why nothing connected
expect_rc "bench refused, WebSocket: exit 1" 1 "$EVCAT" bench -q -c 3 -d 1s "ws://127.0.0.1:$dead/ws"
expect_eq "bench refused, WebSocket: the same words" \
    "evcat: bench: ws://127.0.0.1:$dead/ws: no connection could be established: connection refused by 127.0.0.1:$dead" \
    "$(cat "$TMP/rc.err")"
expect_rc "bench refused, SSE: exit 1" 1 "$EVCAT" bench -q -c 3 -d 1s "http://127.0.0.1:$dead/sse"
expect_eq "bench refused, SSE: the same words" \
    "evcat: bench: http://127.0.0.1:$dead/sse: no connection could be established: connection refused by 127.0.0.1:$dead" \
    "$(cat "$TMP/rc.err")"

start_serve --tick 100ms
# bench's first-error line for --publish (libcurl) says it the same way
expect_rc "bench --publish refused: the run still completes" 0 \
    "$EVCAT" bench -c 2 -d 1s --publish "http://127.0.0.1:$dead/publish" --publish-rate 20 "$SERVE_URL/sse"
check "bench --publish: first error worded as listen's" \
    grep -qF "POSTs failed, the first: connection refused by 127.0.0.1:$dead" "$TMP/rc.err"

# ---- -v at a clean exit: no libcurl "Failure writing output" ----
expect_rc "listen -v -n 2: exit 0" 0 "$EVCAT" listen -v -n 2 "$SERVE_URL/sse"
check "listen -v: verbose indeed" grep -q '^> GET /sse' "$TMP/rc.err"
check "listen -v -n 2: no 'Failure writing output'" bash -c "! grep -q 'Failure writing' '$TMP/rc.err'"
expect_rc "listen -v on a 404: exit 1" 1 "$EVCAT" listen -v "$SERVE_URL/nothing"
check "listen -v on a 404: no 'Failure writing output'" bash -c "! grep -q 'Failure writing' '$TMP/rc.err'"

# ---- bench -o json is --json - ----
expect_rc "bench -o json: exit 0" 0 "$EVCAT" bench -q -c 2 -d 1s -o json "$SERVE_URL/sse"
check "bench -o json: the JSON summary on stdout" \
    $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["connections"]["established"]==2 else 1)' \
    "$TMP/rc.out"
check "bench -o json: the text summary on stderr" grep -q 'connections  2/2 established' "$TMP/rc.err"
expect_rc "bench -o text: exit 0" 0 "$EVCAT" bench -q -c 2 -d 1s -o text "$SERVE_URL/sse"
check "bench -o text: the text summary on stdout" grep -q 'connections  2/2 established' "$TMP/rc.out"
expect_usage "bench -o json with --json FILE" bench -o json --json "$TMP/x.json" "$SERVE_URL/sse"
expect_line "bench -o raw" "evcat: bench: --format 'raw' is not text or json" bench -o raw "$SERVE_URL/sse"
expect_line "listen -o text (bench's only)" "evcat: listen: --format 'text' is not one of pretty, raw, json" \
    listen -o text "$SERVE_URL/sse"
for args in "-u a:b --bearer t" "--bearer t -u a:b"; do
    # shellcheck disable=SC2086
    expect_line "listen $args: one Authorization only" \
        "evcat: listen: --user and --bearer both set Authorization; give one" listen $args "$SERVE_URL/sse"
done

# A malformed -H is named by its name only (the rest may be a secret);
# curl's "Name;" (sent empty) is taken.
expect_line "-H without a colon: the name only" \
    "evcat: listen: --header 'Authorization...' is not of the form 'Name: value'" \
    listen -H 'Authorization HDRSECRET' "$SERVE_URL/sse"
expect_rc "-H 'Name;' is taken" 0 "$EVCAT" listen -n 1 -H 'X-Empty;' "$SERVE_URL/sse"
# Every error line masks a URL's password, whoever quotes it.
expect_line "send to an SSE URL with a password: masked" \
    "evcat: send: 'http://bob:***@127.0.0.1:1/sse' is an SSE URL; SSE is server-to-client, so there is nothing to send: use 'evcat listen' for it, or a ws:// or wss:// URL" \
    send http://bob:PASSWD@127.0.0.1:1/sse x

finish
