#!/usr/bin/env bash
# evcat serve's page (GET /) in a real browser: Debian's Chromium, headless,
# driven by npm playwright-core (tests/package.json) through browser.mjs,
# against evcat serve and evcat listen. A missing browser or driver is a
# failure, not a skip: scripts/deps.sh installs both. With
# EVCAT_SCREENSHOT=FILE.png the driver also saves the page as it looks
# (docs/serve-page.png comes from here, through pngquant).
. "$(dirname "$0")/lib.sh"

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
    fail "Chromium is needed at $CHROMIUM (apt-get install chromium; scripts/deps.sh)"
    finish
fi
if ! command -v node >/dev/null || [ ! -d "$NODE_PATH/playwright-core" ]; then
    fail "node and npm playwright-core are needed (npm install --prefix tests)"
    finish
fi
PORT=$(free_port)

start=$(date +%s%N)
node "$(dirname "$0")/browser.mjs" "$EVCAT" "$PORT" "$TMP" ${EVCAT_SCREENSHOT:+"$EVCAT_SCREENSHOT"} \
    >"$TMP/driver.out" 2>"$TMP/driver.err"
rc=$?
cat "$TMP/driver.out"
sed 's/^/  driver stderr: /' "$TMP/driver.err" | head -20
PASSES=$((PASSES + $(grep -c '^ok - ' "$TMP/driver.out")))
FAILS=$((FAILS + $(grep -c '^not ok - ' "$TMP/driver.out")))
expect_eq "the driver exits 0" 0 "$rc"
check "the driver checked something" grep -q '^ok - a published message shows in both panes' "$TMP/driver.out"
if [ "$FAILS" -gt 0 ]; then
    for f in "$TMP"/serve*.err; do sed "s|^|  $(basename "$f"): |" "$f" | tail -15; done
fi
echo "# browser test: $((($(date +%s%N) - start) / 1000000)) ms"
finish
