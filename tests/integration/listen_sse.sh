#!/usr/bin/env bash
# evcat listen (SSE) against a scripted server: parsing to output formats,
# EventSource reconnects with retry and Last-Event-ID, statuses and content
# types, SSE over POST, filters, counts, timeouts, limits, signals, usage errors.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
LOG=$TMP/requests.jsonl
bg $PY "$EVCAT_SRC/tests/integration/sse_script_server.py" "$PORT" "$LOG"
wait_port "$PORT"
U=http://127.0.0.1:$PORT

# requests PATH FIELD: one line per logged request to PATH: the field's value.
requests() {
    $PY - "$LOG" "$1" "$2" <<'PYEOF'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["path"] == sys.argv[2]:
        v = r
        for k in sys.argv[3].split("."):
            v = v.get(k, "") if isinstance(v, dict) else ""
        print(v)
PYEOF
}


# --- output formats ---
out=$("$EVCAT" listen --no-reconnect -o raw "$U/basic" 2>"$TMP/err"); rc=$?
expect_eq "raw: data of each event, one per line" $'one\ntwo\nlines\nthree\n{"n":4}' "$out"
expect_eq "stream ended cleanly with --no-reconnect: exit 0" 0 "$rc"
check "lifecycle goes to stderr" grep -q "connected to" "$TMP/err"

"$EVCAT" listen --no-reconnect -o json "$U/basic" >"$TMP/json" 2>/dev/null
verdict=$($PY - "$TMP/json" <<'PYEOF'
import json, re, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
want = [("message", "one", "1"), ("greeting", "two\nlines", "2"), ("message", "three", "2"),
        ("tick", '{"n":4}', "4")]
got = [(e["event"], e["data"], e["id"]) for e in evs]
ts_ok = all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", e["ts"]) for e in evs)
keys_ok = all(list(e) == ["ts", "proto", "event", "data", "id"] and e["proto"] == "sse" for e in evs)
print("ok" if got == want and ts_ok and keys_ok else f"bad {got} ts={ts_ok} keys={keys_ok}")
PYEOF
)
expect_eq "json: ts/proto/event/data/id, id persists, type defaults to message" ok "$verdict"

out=$("$EVCAT" listen --no-reconnect -o pretty --color never "$U/basic" 2>/dev/null | sed -n 2,3p)
expect_match "pretty: time, type, #id, data; continuation lines indented" \
    '^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} greeting #2 two'$'\n''             lines$' "$out"

out=$("$EVCAT" listen --no-reconnect -o raw --event greeting --event tick "$U/basic" 2>/dev/null)
expect_eq "--event filters by type (repeatable)" $'two\nlines\n{"n":4}' "$out"

out=$("$EVCAT" listen --no-reconnect -o raw "$U/type-params" 2>/dev/null); rc=$?
expect_eq "content type with parameters and other case is accepted" "ok/0" "$out/$rc"

# --- hostile text: terminals are protected in pretty mode only ---
"$EVCAT" listen --no-reconnect -o pretty --color never "$U/hostile" >"$TMP/pretty" 2>/dev/null
check "pretty: ESC and BEL are shown, not sent" bash -c "! grep -q $'\x1b' '$TMP/pretty' && grep -q 'esc^\[\[31mred^Gbell' '$TMP/pretty'"
"$EVCAT" listen --no-reconnect -o json "$U/hostile" >"$TMP/hj" 2>/dev/null
verdict=$($PY -c 'import json,sys
e=[json.loads(l)["data"] for l in open(sys.argv[1])]
print("ok" if e==["esc\x1b[31mred\x07bell","bad \ufffd\ufffd utf8","nul\x00inside"] else repr(e))' "$TMP/hj")
expect_eq "json: control chars escaped, invalid UTF-8 as U+FFFD, NUL kept" ok "$verdict"

# --- reconnect: retry, Last-Event-ID, unterminated event dropped ---
: >"$LOG"
out=$("$EVCAT" listen -o raw -n 5 "$U/stream" 2>"$TMP/err"); rc=$?
expect_eq "reconnects and resumes after the last complete event" \
    $'event 1\nevent 2\nevent 3\nevent 4\nevent 5' "$out"
expect_eq "-n reached: exit 0" 0 "$rc"
expect_eq "Last-Event-ID sent on reconnects (never the unterminated event's id)" \
    $'\n2\n4' "$(requests /stream headers.last-event-id)"
gaps=$($PY - "$LOG" <<'PYEOF'
import json, sys
t = [json.loads(l)["t"] for l in open(sys.argv[1]) if json.loads(l)["path"] == "/stream"]
print(" ".join("ok" if 0.19 <= b - a <= 0.40 else f"bad:{b-a:.3f}" for a, b in zip(t, t[1:])))
PYEOF
)
expect_eq "reconnect waits the server's retry (200 ms, + up to 20% jitter)" "ok ok" "$gaps"
check "reconnect announced on stderr" grep -q "reconnecting in" "$TMP/err"

: >"$LOG"
out=$("$EVCAT" listen -o raw -n 1 --last-event-id 41 "$U/stream" 2>/dev/null)
expect_eq "--last-event-id sent on the first connect" "event 42/41" "$out/$(requests /stream headers.last-event-id)"
: >"$LOG"
out=$("$EVCAT" listen -o raw -n 3 -H 'Last-Event-ID: 41' "$U/stream" 2>/dev/null)
expect_eq "-H Last-Event-ID starts the stream, reconnects send the stream's own id" \
    $'event 42\nevent 43\nevent 44/41\n43' "$out/$(requests /stream headers.last-event-id)"

out=$("$EVCAT" listen -o raw --no-reconnect "$U/drop" 2>"$TMP/err"); rc=$?
expect_eq "reset mid-event with --no-reconnect: complete events kept, exit 1" "whole/1" "$out/$rc"
: >"$LOG"
out=$("$EVCAT" listen -o raw --max-retries 2 "$U/drop" 2>"$TMP/err"); rc=$?
expect_eq "--max-retries 2: three connections, then exit 1" "3/1" "$(echo "$out" | grep -c whole)/$rc"
check "giving up is explained" grep -q "giving up after 2 reconnection attempts" "$TMP/err"

out=$("$EVCAT" listen -o raw "$U/fail-after-first" 2>"$TMP/err"); rc=$?
expect_eq "a non-200 answer on reconnect fails without retrying" "first/1" "$out/$rc"
check "the status is named" grep -q "HTTP 503" "$TMP/err"

# --- statuses and content types ---
expect_rc "204 ends cleanly: exit 0" 0 "$EVCAT" listen -q "$U/204"
out=$("$EVCAT" listen -o raw "$U/204-after-first" 2>/dev/null); rc=$?
expect_eq "204 on reconnect ends cleanly" "only/0" "$out/$rc"
for code in 401 404 500; do
    "$EVCAT" listen "$U/status/$code" >"$TMP/out" 2>"$TMP/err"; rc=$?
    expect_eq "HTTP $code: exit 1" 1 "$rc"
    check "HTTP $code: status and the server's explanation on one line" \
        bash -c "[ \$(wc -l <'$TMP/err') -eq 1 ] && grep -q 'HTTP $code.*quota exceeded' '$TMP/err'"
    check "HTTP $code: nothing on stdout" test ! -s "$TMP/out"
done
"$EVCAT" listen "$U/wrong-type" >/dev/null 2>"$TMP/err"; rc=$?
expect_eq "wrong content type: exit 1" 1 "$rc"
check "wrong content type is named" grep -q "text/plain" "$TMP/err"
# A bad response whose body stalls fails at once (its head says enough),
# with or without reconnects, and is never retried (not even by
# --idle-timeout).
for spec in "503:HTTP 503.*busy" "json:application/json" "head:HTTP 500"; do
    kind=${spec%%:*}
    for opts in --no-reconnect "--idle-timeout 200ms"; do
        start=$(date +%s%N)
        # shellcheck disable=SC2086
        timeout 20 "$EVCAT" listen $opts "$U/stall/$kind" >/dev/null 2>"$TMP/err"; rc=$?
        ms=$((($(date +%s%N) - start) / 1000000))
        expect_eq "a $kind response that stalls ($opts): exit 1" 1 "$rc"
        check "  within a second or two (${ms} ms), named in one line" \
            bash -c "[ $ms -lt $(slow 2500) ] && [ \$(wc -l <'$TMP/err') -eq 1 ] && grep -q '${spec#*:}' '$TMP/err'"
    done
done

# --- requests: headers, auth, POST ---
: >"$LOG"
"$EVCAT" listen --no-reconnect -o raw -H 'X-Custom: yes' --bearer s3cr3t-token -v "$U/headers" \
    >"$TMP/out" 2>"$TMP/err"
expect_eq "Accept, Cache-Control, -H and --bearer reach the server" \
    "text/event-stream|no-cache|Bearer s3cr3t-token|yes" \
    "$(sed -n 1,4p "$TMP/out" | paste -sd'|')"
check "-v shows the request" grep -q "^> GET /headers" "$TMP/err"
check "-v redacts the bearer token" bash -c "! grep -q s3cr3t '$TMP/err' && grep -q 'Authorization: \[redacted\]' '$TMP/err'"
# libcurl's own trace lines name URLs with their userinfo: a redirect's
# target (with -u) and the proxy taken from http_proxy.
"$EVCAT" listen --no-reconnect -o raw -n 1 -u al:SECRETPW -v "$U/redirect-auth" >/dev/null 2>"$TMP/err"
check "-v: -u's password is not in the redirect's trace line" \
    bash -c "! grep -q SECRETPW '$TMP/err' && grep -q 'al:\*\*\*@' '$TMP/err'"
http_proxy=http://pu:PROXYSECRET@127.0.0.1:${U##*:} no_proxy= NO_PROXY= \
    "$EVCAT" listen --no-reconnect -v http://proxied.invalid/x >/dev/null 2>"$TMP/err"
check "-v: the password of http_proxy is not in the trace" \
    bash -c "! grep -q PROXYSECRET '$TMP/err' && grep -q 'pu:\*\*\*@' '$TMP/err'"
"$EVCAT" listen --no-reconnect -o raw -u alice:pa55word -v "$U/headers" >"$TMP/out" 2>"$TMP/err"
expect_eq "-u sends basic auth" "Basic $(printf alice:pa55word | base64)" "$(sed -n 3p "$TMP/out")"
check "-v redacts basic auth" bash -c "! grep -q -e pa55word -e '$(printf alice:pa55word | base64)' '$TMP/err'"
"$EVCAT" listen --no-reconnect -o raw -H 'Accept: application/x-custom' "$U/headers" >"$TMP/out" 2>/dev/null
expect_eq "a user's Accept replaces the default" "application/x-custom" "$(sed -n 1p "$TMP/out")"

out=$("$EVCAT" listen --no-reconnect -o raw -H 'Content-Type: application/json' \
    -d '{"prompt":"hi"}' "$U/echo" 2>/dev/null)
expect_eq "SSE over POST (-d): method, type, body, streamed tokens" \
    'POST|application/json|{"prompt":"hi"}|{"token": "Hel"}|{"token": "lo"}|{"token": " wor"}|{"token": "ld"}|[DONE]' \
    "$(echo "$out" | paste -sd'|')"
printf 'line1\nline2' >"$TMP/body"
out=$("$EVCAT" listen --no-reconnect -o raw -X PUT -d @"$TMP/body" "$U/echo" 2>/dev/null | sed -n '1p;3,4p' | paste -sd'|')
expect_eq "-X PUT with -d @FILE" "PUT|line1|line2" "$out"

# --- counts, timeouts, idle ---
out=$("$EVCAT" listen -o raw -n 3 "$U/bulk" 2>/dev/null); rc=$?
expect_eq "-n 3 out of a 1000-event burst prints exactly 3" $'1\n2\n3/0' "$out/$rc"
out=$("$EVCAT" listen -o raw -n 2 --event even "$U/slow" 2>/dev/null)
expect_eq "-n counts only events that pass --event" $'2\n4' "$out"
start=$(date +%s%N)
"$EVCAT" listen -o raw -n 1000 --timeout 400ms "$U/slow" >"$TMP/out" 2>"$TMP/err"; rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
expect_eq "--timeout before --count: exit 4" 4 "$rc"
check "--timeout keeps what arrived" test -s "$TMP/out"
check "--timeout is on time (${ms} ms)" test "$ms" -lt "$(slow 1500)"
expect_rc "--timeout without --count: exit 0" 0 "$EVCAT" listen -q -o raw --timeout 300ms "$U/slow"
"$EVCAT" listen -o raw --idle-timeout 300ms --no-reconnect "$U/silent" >"$TMP/out" 2>"$TMP/err"; rc=$?
expect_eq "--idle-timeout: silence is a drop (exit 1 with --no-reconnect)" "hello/1" "$(cat "$TMP/out")/$rc"
check "idle timeout explained" grep -q "idle-timeout" "$TMP/err"
expect_rc "a server dripping bytes without events trips --idle-timeout" 1 \
    "$EVCAT" listen -q --idle-timeout 300ms --no-reconnect "$U/drip"

# --- limits ---
"$EVCAT" listen --max-event-size 1M "$U/longline" >/dev/null 2>"$TMP/err"; rc=$?
expect_eq "a line beyond --max-event-size: exit 1" 1 "$rc"
check "the limit is named" grep -q "max-event-size" "$TMP/err"
rss=$(max_rss_kib "$EVCAT" listen "$U/longline")
check_rss "an endless line stays bounded with default limits" "$rss" 131072
"$EVCAT" listen --max-event-size 2M "$U/longevent" >/dev/null 2>"$TMP/err"; rc=$?
expect_eq "an event that never ends: exit 1 at --max-event-size" 1 "$rc"
check "named" grep -q "max-event-size" "$TMP/err"
rss=$(max_rss_kib "$EVCAT" listen "$U/longevent")
check_rss "an endless event stays bounded with default limits" "$rss" 131072

# --- redirects, connection errors ---
out=$("$EVCAT" listen --no-reconnect -o raw -n 1 "$U/redirect" 2>/dev/null)
expect_eq "redirects are followed" "one" "$out"
out=$("$EVCAT" listen --no-reconnect -o raw -n 1 "HTTP://127.0.0.1:$PORT/basic" 2>/dev/null)
expect_eq "the scheme is case-insensitive (HTTP://)" "one" "$out"
"$EVCAT" listen "$U/loop" >/dev/null 2>"$TMP/err"; rc=$?
expect_eq "a redirect loop: exit 1" 1 "$rc"
check "redirect loop named in one line" bash -c "[ \$(wc -l <'$TMP/err') -eq 1 ] && grep -qi redirect '$TMP/err'"
dead=$(free_port)
"$EVCAT" listen "http://127.0.0.1:$dead/sse" >/dev/null 2>"$TMP/err"; rc=$?
expect_eq "nothing listening: exit 1" 1 "$rc"
check "connection refused named" grep -qi "connect" "$TMP/err"

# --- live output and signals ---
start=$(date +%s%N)
first=$(timeout 5 "$EVCAT" listen -o raw "$U/slow" 2>/dev/null | head -1)
ms=$((($(date +%s%N) - start) / 1000000))
expect_eq "piped output is flushed per event (head -1 returns)" "1" "$first"
check "and promptly (${ms} ms)" test "$ms" -lt "$(slow 3000)"
"$EVCAT" listen -o raw "$U/slow" >"$TMP/int.out" 2>/dev/null &
pid=$!
wait_until 10 bash -c "[ \$(wc -l <'$TMP/int.out') -ge 5 ]"
kill -INT $pid
wait $pid; rc=$?
expect_eq "SIGINT: exit 130" 130 "$rc"
check "SIGINT: what arrived is on stdout" test "$(wc -l <"$TMP/int.out")" -ge 5

# --- standard input ---
out=$(printf '\xef\xbb\xbfdata: a\r\n\r\nid: 3\rdata: b\n\ndata: lost' | "$EVCAT" listen -o json - 2>/dev/null)
expect_eq "listen - parses stdin (BOM, CRLF, CR) and drops an unterminated event" \
    '"a" "" "b" "3"' "$(echo "$out" | $PY -c 'import json,sys
print(" ".join(json.dumps(v) for l in sys.stdin for v in (json.loads(l)["data"], json.loads(l)["id"])))')"
printf 'data: x\n\ndata: y\n\n' >"$TMP/cap"
expect_eq "listen - reads a regular file" $'x\ny' "$("$EVCAT" listen -o raw - <"$TMP/cap")"
"$EVCAT" listen -o raw - <"$TMP/cap" >/dev/full 2>"$TMP/err"; rc=$?
expect_eq "a full disk on stdout: exit 1" 1 "$rc"
check "named on one line" bash -c "[ \$(wc -l <'$TMP/err') -eq 1 ] && grep -q 'No space left' '$TMP/err'"
expect_eq "options may follow the URL" $'x\ny' "$("$EVCAT" listen - -o raw <"$TMP/cap")"

# --- usage errors: one line, exit 2 ---
expect_usage "no URL" listen
expect_usage "two URLs" listen "$U/a" "$U/b"
expect_usage "unknown option" listen --bogus "$U/basic"
expect_usage "missing value" listen "$U/basic" --timeout
expect_usage "bad scheme" listen ftp://127.0.0.1/x
expect_usage "bad URL" listen 'http://[::1'
expect_usage "bad duration" listen --timeout soon "$U/basic"
expect_usage "bad count" listen -n 0 "$U/basic"
expect_usage "bad size" listen --max-event-size 12Q "$U/basic"
expect_usage "bad header" listen -H 'no colon' "$U/basic"
expect_usage "header injection" listen -H $'X: a\r\nY: b' "$U/basic"
expect_usage "unreadable --cacert" listen --cacert /nonexistent.pem "$U/basic"
expect_usage "unreadable -d @file" listen -d @/nonexistent "$U/basic"
expect_usage "bad format" listen -o xml "$U/basic"
expect_usage "bad color" listen --color sometimes "$U/basic"
expect_usage "-d with stdin" listen -d x -
# Options only a connection uses are refused with -, not ignored.
for o in "--last-event-id 5" "--max-retries 2" "--no-reconnect" "--idle-timeout 1s" "--http2" \
    "-H X:1" "--cacert /dev/null" "--reconnect"; do
    # shellcheck disable=SC2086 # the option and its value are two words
    expect_usage "$o with stdin" listen $o - </dev/null
done
check "  the error names the option" grep -q '^evcat: listen: --reconnect needs a URL' "$TMP/err"
out=$(printf 'event: a\ndata: 1\n\nevent: b\ndata: 2\n\n' | "$EVCAT" listen -o raw --event b -n 1 -)
expect_eq "what does apply to - still works (--event, -n, -o)" "2" "$out"
expect_usage "unknown command" frobnicate
expect_rc "--help: exit 0" 0 "$EVCAT" listen --help
check "--help lists shared and own options" bash -c "'$EVCAT' listen --help | grep -q -- '--bearer' && '$EVCAT' listen --help | grep -q -- '--idle-timeout'"

# ---- JSON payloads: --parse-json, coloured like jq, --indent ----
printf 'data: {"price": 1.5e2, "tags": ["a", "b"], "ok": true}\n\ndata: plain\n\ndata: [1,\ndata:  2]\n\n' >"$TMP/json.cap"
"$EVCAT" listen -o json --parse-json - <"$TMP/json.cap" >"$TMP/pj.out" 2>/dev/null
expect_eq "--parse-json: the payload as a value beside data" "150.0 ['a', 'b'] True" \
    "$($PY -c 'import json,sys; o=json.loads(open(sys.argv[1]).readline()); print(o["json"]["price"], o["json"]["tags"], o["json"]["ok"])' "$TMP/pj.out")"
expect_eq "--parse-json: data unchanged" '{"price": 1.5e2, "tags": ["a", "b"], "ok": true}' \
    "$($PY -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["data"])' "$TMP/pj.out")"
expect_eq "--parse-json: the value as it was spelled (1.5e2)" 1 "$(grep -c '"json":{"price":1.5e2,"tags":\["a","b"\],"ok":true}' "$TMP/pj.out")"
expect_eq "--parse-json: no json for a payload that is not JSON" 0 "$(sed -n 2p "$TMP/pj.out" | grep -c '"json"')"
expect_eq "--parse-json: multi-line data that is JSON" '[1, 2]' \
    "$($PY -c 'import json,sys; print(json.loads(open(sys.argv[1]).readlines()[2])["json"])' "$TMP/pj.out")"
expect_eq "without --parse-json: no json" 0 "$("$EVCAT" listen -o json - <"$TMP/json.cap" 2>/dev/null | grep -c '"json"')"
"$EVCAT" listen -o pretty --color always - <"$TMP/json.cap" >"$TMP/col.out" 2>/dev/null
check "pretty, colour: keys blue, strings green, as jq" \
    grep -qF $'\e[34;1m"price"\e[0m\e[1;39m:\e[0m \e[0;39m1.5e2\e[0m' "$TMP/col.out"
check "pretty, colour: strings green" grep -qF $'\e[0;32m"a"\e[0m' "$TMP/col.out"
check "pretty, colour: text that is not JSON unchanged" grep -qF ' plain' "$TMP/col.out"
expect_eq "pretty without colour or --indent: the payload as it came" 1 \
    "$("$EVCAT" listen -o pretty --color never - <"$TMP/json.cap" 2>/dev/null | grep -c '{"price": 1.5e2, "tags": \["a", "b"\], "ok": true}$')"
"$EVCAT" listen -o pretty --color never --indent - <"$TMP/json.cap" >"$TMP/ind.out" 2>/dev/null
expect_eq "--indent: a member a line under the payload's column" $'               "price": 1.5e2,\n               "tags": [' \
    "$(sed -n 2,3p "$TMP/ind.out")"
"$EVCAT" listen --indent -o raw - <"$TMP/json.cap" >/dev/null 2>"$TMP/w.err"
check "--indent with raw output: said, not silently dropped" grep -q "warning: listen: --indent applies to -o pretty; the output here is raw" "$TMP/w.err"
"$EVCAT" listen --parse-json -o pretty - <"$TMP/json.cap" >/dev/null 2>"$TMP/w.err"
check "--parse-json with pretty output and no --record: said" grep -q "warning: listen: --parse-json applies to -o json and --record" "$TMP/w.err"
"$EVCAT" listen --record "$TMP/pj.rec" --parse-json -o raw - <"$TMP/json.cap" >/dev/null 2>"$TMP/w.err"
check "--parse-json with --record: no warning" test ! -s "$TMP/w.err"
expect_eq "--record --parse-json: the recording carries json" 2 "$(grep -c '"json":' "$TMP/pj.rec")"
RP=$(free_port)
bg "$EVCAT" replay --serve --no-timing --listen "127.0.0.1:$RP" "$TMP/pj.rec"
RP_PID=$BG_PID
wait_port "$RP"
expect_eq "... and is played back by replay --serve" $'{"price": 1.5e2, "tags": ["a", "b"], "ok": true}\nplain' \
    "$("$EVCAT" listen -o raw -n 2 --timeout 5s "http://127.0.0.1:$RP/sse" 2>/dev/null)"
kill "$RP_PID"

finish
