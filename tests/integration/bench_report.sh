#!/usr/bin/env bash
# evcat bench's reports against evcat serve on loopback: --report (HTML),
# --hgrm and --junit with two URLs (one that works, one that answers 404),
# the summary's assertions and first error examples, -v's failed exchange,
# the same files from `bench merge`; then the HTML page rendered by
# Debian's chromium headless: its DOM (the charts, the assertion rows) and
# a screenshot whose pixels show both runs' colours and the ✓/✗ colours.
. "$(dirname "$0")/lib.sh"

# a file that cannot be written fails before the run, not after it
expect_usage "report in a missing directory" bench --report "$TMP/no/r.html" ws://127.0.0.1:1/
expect_usage "hgrm in a missing directory" bench --hgrm "$TMP/no/l.hgrm" ws://127.0.0.1:1/ ws://127.0.0.1:2/
expect_usage "merge: junit in a missing directory" bench merge --junit "$TMP/no/j.xml" "$TMP/none.json"

start_serve --tick 100ms -q
WS=ws://127.0.0.1:$SERVE_PORT

# ---- a run with two URLs ----
"$EVCAT" bench -v -c 20 --connect-rate 200 -d 2s -r 5 \
    --assert 'p99<5s' --assert 'errors==0' \
    --report "$TMP/r.html" --hgrm "$TMP/lat.hgrm" --junit "$TMP/j.xml" --json "$TMP/r.json" \
    "$WS/echo" "$WS/nope" >"$TMP/out" 2>"$TMP/err"
expect_eq "two URLs: exit 1 (none established on the second)" 1 $?
expect_match "summary: first example of handshake" "handshake 20 \(first: [^)]*404 Not Found[^)]* from /nope\)" "$(cat "$TMP/out")"
expect_match "summary: assertion held" "✓ p99 < 5s +[0-9.]+(us|ms|s) +\| ✗ no latency samples" "$(cat "$TMP/out")"
expect_match "summary: assertion failed, value shown" "✓ errors == 0 +0 +\| ✗ 20" "$(cat "$TMP/out")"
expect_match "-v: the failed request" "> GET /nope HTTP/1.1" "$(cat "$TMP/err")"
expect_match "-v: the response head" "< HTTP/1.1 404" "$(cat "$TMP/err")"
expect_eq "json: assertion value" 20 "$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))[1]["assertions"][1]["value"])' "$TMP/r.json")"
expect_eq "json: no samples, null value" None "$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))[1]["assertions"][0]["value"])' "$TMP/r.json")"

# the hgrm of each URL, as HdrHistogram's plotters parse it
check_hgrm() { # FILE MIN_ROWS
    $PY - "$1" "$2" <<'PYEOF'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
assert lines[0].split() == ["Value", "Percentile", "TotalCount", "1/(1-Percentile)"], lines[0]
rows = [l.split() for l in lines[2:] if l and not l.startswith("#")]
foot = [l for l in lines if l.startswith("#[")]
assert len(foot) == 3 and foot[0].startswith("#[Mean") and foot[2].startswith("#[Buckets"), foot
total = int(re.search(r"Total count\s*=\s*(\d+)", foot[1]).group(1))
assert len(rows) >= int(sys.argv[2]), len(rows)
prev = (-1.0, -1.0, -1)
for r in rows:
    v, p, c = float(r[0]), float(r[1]), int(r[2])
    assert len(r) == (3 if r is rows[-1] else 4), r
    assert v >= prev[0] and p > prev[1] and c >= prev[2], r
    if len(r) == 4:
        assert abs(float(r[3]) - 1 / (1 - p)) < 0.01 * float(r[3]) + 0.01, r
    prev = (v, p, c)
if rows:
    assert prev[1] == 1.0 and prev[2] == total, prev
print(len(rows))
PYEOF
}
rows=$(check_hgrm "$TMP/lat-1.hgrm" 20) && pass "hgrm of URL 1: $rows rows" || fail "hgrm of URL 1"
rows=$(check_hgrm "$TMP/lat-2.hgrm" 0) && pass "hgrm of URL 2: empty, valid" || fail "hgrm of URL 2"

# JUnit: well-formed, a testsuite per URL, a testcase per assertion
$PY - "$TMP/j.xml" "$WS" <<'PYEOF' && pass "junit: structure" || fail "junit: structure"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = root.findall("testsuite")
assert root.tag == "testsuites" and root.get("tests") == "4" and root.get("failures") == "2"
assert [s.get("name") for s in suites] == [sys.argv[2] + "/echo", sys.argv[2] + "/nope"]
cases = [[c.get("name") for c in s.findall("testcase")] for s in suites]
assert cases == [["p99 < 5s", "errors == 0"]] * 2, cases
fails = [c.find("failure") for c in suites[1].findall("testcase")]
assert fails[1].get("message") == "errors == 0 failed: errors was 20" and "20" in fails[1].text
assert suites[0].find("testcase/failure") is None
PYEOF

# ---- the same files from bench merge of two shards ----
for i in 0 1; do
    "$EVCAT" bench -q -c 10 --connect-rate 200 -d 1s -r 5 --shard $i/2 --json "$TMP/s$i.json" \
        "$WS/echo" >/dev/null 2>&1
done
"$EVCAT" bench merge -q --assert 'connected==10' --report "$TMP/m.html" --hgrm "$TMP/m.hgrm" \
    --junit "$TMP/m.xml" "$TMP/s0.json" "$TMP/s1.json" >"$TMP/mout"
expect_eq "merge: exit 0" 0 $?
expect_match "merge: assertion listed" "✓ connected == 10 +10" "$(cat "$TMP/mout")"
rows=$(check_hgrm "$TMP/m.hgrm" 10) && pass "merge: hgrm ($rows rows)" || fail "merge: hgrm"
grep -q '<testcase classname="evcat.bench" name="connected == 10"' "$TMP/m.xml" &&
    ! grep -q '<failure' "$TMP/m.xml" && pass "merge: junit" || fail "merge: junit"
grep -q 'shard</th><td>merged shards of test [0-9a-f]*</td>' "$TMP/m.html" && pass "merge: report shows the shard" ||
    fail "merge: report shows the shard"
# A shard's file after a pretty-printer (jq .) merges as it is, from a
# file and from standard input; the merge is the same.
/usr/bin/python3 -c 'import json, sys; json.dump(json.load(open(sys.argv[1])), open(sys.argv[2], "w"), indent=2)' \
    "$TMP/s0.json" "$TMP/s0p.json"
"$EVCAT" bench merge -q --json "$TMP/mp.json" "$TMP/s0p.json" "$TMP/s1.json" >/dev/null
expect_eq "merge: a pretty-printed shard file: exit 0" 0 $?
"$EVCAT" bench merge -q --json "$TMP/m1.json" "$TMP/s0.json" "$TMP/s1.json" >/dev/null
expect_eq "  the same messages as the one-line files" "$(jv "$TMP/m1.json" messages.received)" \
    "$(jv "$TMP/mp.json" messages.received)"
"$EVCAT" bench merge -q --partial --json "$TMP/mp0.json" - <"$TMP/s0p.json" >/dev/null 2>&1
expect_eq "  from standard input: shard 0 found" "$(jv "$TMP/s0.json" messages.received)" \
    "$(jv "$TMP/mp0.json" messages.received)"
# The merge's JSON says what it merged, and is no shard to merge again.
expect_eq "merge --json: merged" '{"shards": 2, "count": 2, "missing": []}' "$(jv "$TMP/m1.json" merged)"
expect_eq "  --partial: the missing index" '{"shards": 1, "count": 2, "missing": [1]}' "$(jv "$TMP/mp0.json" merged)"
expect_eq "  no shard of its own" "False False" "$($PY -c 'import json, sys; o = json.load(open(sys.argv[1])); print("shard" in o, "shard_result" in o)' "$TMP/m1.json")"
expect_usage "  merging a merge" bench merge "$TMP/m1.json" "$TMP/s1.json"
grep -q "is a merge, not a shard" "$TMP/err" && pass "  named as a merge" || fail "  named as a merge: $(cat "$TMP/err")"

# ---- the page: self-contained, then rendered ----
! grep -qiE '<script|<link|src=|@import|url\(' "$TMP/r.html" && pass "report: no script, nothing fetched" ||
    fail "report: no script, nothing fetched"
expect_eq "report: five charts" 5 "$(grep -o '<svg class="chart"' "$TMP/r.html" | wc -l)"
# p50 and p99 per second of the first URL: a line each (the second has no samples)
expect_eq "report: latency per second drawn" 2 \
    "$(sed -n '/<figure id="latency">/,/<\/figure>/p' "$TMP/r.html" | grep -c '<polyline class="series"')"

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
    skip "rendering: no chromium (apt-get install chromium)"
    finish
fi
chrome() {
    timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --user-data-dir="$TMP/chrome" --no-first-run "$@" 2>>"$TMP/chrome.log"
}
chrome --dump-dom "file://$TMP/r.html" >"$TMP/dom.html"
expect_eq "rendered: five chart SVGs" 5 "$(grep -o '<svg class="chart"' "$TMP/dom.html" | wc -l)"
expect_eq "rendered: assertion rows" 2 "$(grep -o '<td class="expr">' "$TMP/dom.html" | wc -l)"
expect_eq "rendered: ✓ cells" 2 "$(grep -o '<td class="pass">✓' "$TMP/dom.html" | wc -l)"
expect_eq "rendered: ✗ cells" 2 "$(grep -o '<td class="fail">✗' "$TMP/dom.html" | wc -l)"
expect_eq "rendered: the example in the errors table" 1 \
    "$(grep -c '<td class="example">[^<]*HTTP 404 Not Found[^<]* from /nope</td>' "$TMP/dom.html")"
chrome --window-size=1000,2600 --screenshot="$TMP/shot.png" "file://$TMP/r.html" >/dev/null
# The screenshot's pixels: both runs' colours (the legend and the lines) and
# the ✓/✗ colours are there.
$PY - "$TMP/shot.png" <<'PYEOF' && pass "screenshot: both runs and ✓/✗ drawn" || fail "screenshot"
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
pos, idat, w = 8, b"", 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        assert depth == 8 and ctype in (2, 6), (depth, ctype)
        bpp = 3 if ctype == 2 else 4
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw, stride = zlib.decompress(idat), w * bpp
prev, seen, i = bytearray(stride), set(), 0
for y in range(h):
    f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
    i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b, c = prev[x], prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp):
        seen.add(tuple(line[x:x + 3]))
    prev = line
def near(rgb):
    return any(all(abs(s[k] - rgb[k]) <= 12 for k in range(3)) for s in seen)
want = {"run 1": (0x1f, 0x6f, 0xb4), "run 2": (0xd0, 0x41, 0x2b),
        "pass": (0x17, 0x80, 0x3d), "fail": (0xc0, 0x26, 0x2d)}
missing = [k for k, v in want.items() if not near(v)]
assert not missing, missing
PYEOF
if [ -n "${EVCAT_REPORT_PNG:-}" ]; then
    cp "$TMP/shot.png" "$EVCAT_REPORT_PNG"
fi
finish
