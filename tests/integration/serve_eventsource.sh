#!/usr/bin/env bash
# evcat serve against an independent client: the npm `eventsource` package
# (tests/package.json) receives ticks and named events, and after the server
# restarts it reconnects with Last-Event-ID and resumes from history.
. "$(dirname "$0")/lib.sh"

if [ ! -d "$NODE_PATH/eventsource" ]; then
    npm install --prefix "$EVCAT_SRC/tests" --no-package-lock --no-audit --no-fund >/dev/null 2>&1
fi
if ! command -v node >/dev/null || [ ! -d "$NODE_PATH/eventsource" ]; then
    fail "node and the npm eventsource package are needed (npm install --prefix tests)"
    finish
fi

CLIENT="$(dirname "$0")/eventsource_client.mjs"
OUT="$TMP/client.jsonl"
# events TYPE: "id data" of each event of TYPE the client got, in order
events() {
    $PY -c '
import json, sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    if o["kind"] == "event" and o["type"] == sys.argv[2]:
        print(o["id"], o["data"])' "$OUT" "$1"
}

start_serve --tick 300ms --retry 5000 -v 2>"$TMP/serve1.err"
PORT=$SERVE_PORT
bg node "$CLIENT" "$SERVE_URL/sse" 40 >"$OUT" 2>"$TMP/client.err"
CLIENT_PID=$BG_PID

wait_until 5 bash -c "[ \$(grep -c '\"type\":\"tick\"' '$OUT') -ge 2 ]"
check "the client opened the stream" grep -q '"kind":"open"' "$OUT"
ticks=$(events tick)
check "ticks arrive through addEventListener('tick') with JSON data" $PY -c '
import json, sys
lines = sys.argv[1].splitlines()
assert len(lines) >= 2, lines
for l in lines:
    id_, data = l.split(" ", 1)
    d = json.loads(data)
    assert set(d) == {"seq", "ts_ns"}, d
' "$ticks"

gid=$(curl -s -d 'hello node' "$SERVE_URL/publish?event=greet" | sed 's/[^0-9]//g')
mid=$(curl -s --data-binary $'two\nlines' "$SERVE_URL/publish" | sed 's/[^0-9]//g')
wait_until 5 grep -q 'two\\nlines' "$OUT"
expect_eq "named event 'greet' through addEventListener" "$gid hello node" "$(events greet)"
expect_eq "unnamed event through onmessage, multi-line data joined" \
    "$mid two"$'\n'"lines" "$(events message | head -n 2)"

# Restart the server on the same port. The client sees its stream end,
# waits the retry (5 s: time enough, on a loaded machine too, to publish
# past that id) and reconnects with the last id it got; the new server has
# published more than that id by then, so the resume is exact.
kill -TERM "$SERVE_PID"
wait "$SERVE_PID"
expect_eq "serve exits 0 on SIGTERM" 0 "$?"
last=$($PY -c '
import json, sys
ids = [json.loads(l)["id"] for l in open(sys.argv[1]) if json.loads(l)["kind"] == "event"]
print(ids[-1])' "$OUT")
bg "$EVCAT" serve --listen "127.0.0.1:$PORT" --tick 0 --retry 5000 -v 2>"$TMP/serve2.err"
SERVE2=$BG_PID
wait_port "$PORT"
n=$((last + 3))
for ((i = 1; i <= n; i++)); do
    curl -s -d "new-$i" "http://127.0.0.1:$PORT/publish" >/dev/null
done
wait_until 15 grep -q "\"new-$n\"" "$OUT"

check "the client reported the dropped stream (error event)" grep -q '"kind":"error"' "$OUT"
reqs=$($PY -c '
import json, sys
print(" ".join(str(json.loads(l)["lastEventId"]) for l in open(sys.argv[1]) if json.loads(l)["kind"] == "request"))' "$OUT")
expect_eq "reconnected once, sending Last-Event-ID $last" "None $last" "$reqs"
check "the server saw Last-Event-ID $last and replayed 3" \
    grep -qE "GET /sse 200 last-event-id=$last replay=3$" "$TMP/serve2.err"
after=$(events message | grep ' new-' | tr '\n' ' ')
expect_eq "resumed exactly after id $last (nothing before, nothing lost)" \
    "$((last + 1)) new-$((last + 1)) $((last + 2)) new-$((last + 2)) $((last + 3)) new-$((last + 3)) " "$after"

kill -TERM "$SERVE2"
wait "$SERVE2"
kill "$CLIENT_PID" 2>/dev/null
finish
