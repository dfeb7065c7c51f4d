#!/usr/bin/env bash
# Adding an option is one entry in src/cli/options.def: in a copy of the
# tree with one more OPT entry (and no other edit), the evcat built there
# lists it in --help, and scripts/gen-docs puts it in the man page and the
# bash, zsh and fish completions, leaving everything else as it was.
. "$(dirname "$0")/lib.sh"

TREE=$TMP/tree
mkdir -p "$TREE"
cp -r "$EVCAT_SRC/CMakeLists.txt" "$EVCAT_SRC/LICENSE" "$EVCAT_SRC/src" "$EVCAT_SRC/man" "$EVCAT_SRC/completions" \
    "$EVCAT_SRC/scripts" "$TREE/"
# A listen option with a value completed from a list, among the SSE options.
entry='OPT(PROBE_ZZ, 0, "probe-zz", "LEVEL", C_LISTEN, G_SSE,
    .help = "a probe the tests add", .dflt = "low",
    .value = V_WORDS, .words = "low high", .sec = M_SSE,
    .man = "A probe option that only the test suite adds.")'
DEF=$TREE/src/cli/options.def
awk -v entry="$entry" '/^OPT\(HELP,/ { print entry } { print }' "$DEF" >"$DEF.new" && mv "$DEF.new" "$DEF"
check "the entry is in the copy's options.def" grep -q 'OPT(PROBE_ZZ' "$DEF"

BUILD=$TMP/build
if ! cmake -S "$TREE" -B "$BUILD" -DEVCAT_TESTS=OFF -DCMAKE_BUILD_TYPE=Debug >"$TMP/cmake.log" 2>&1 ||
    ! cmake --build "$BUILD" --target evcat -j"$(nproc)" >>"$TMP/cmake.log" 2>&1; then
    fail "the copy builds"
    tail -30 "$TMP/cmake.log"
    finish
fi
pass "the copy builds"
expect_rc "scripts/gen-docs runs in the copy" 0 "$TREE/scripts/gen-docs" --build "$BUILD"

help=$("$BUILD/evcat" listen --help)
expect_match "--help lists it with its value and default" \
    "--probe-zz LEVEL +a probe the tests add \(default low\)" "$help"
expect_match "--help lists it under SSE options" "SSE options:.*--probe-zz.*WebSocket options:" \
    "$(printf '%s' "$help" | tr '\n' ' ')"
check "man page: an entry" grep -q '^\\fB\\-\\-probe\\-zz\\fR \\fILEVEL\\fR$' "$TREE/man/evcat.1"
check "man page: its text" grep -q '^A probe option that only the test suite adds\.$' "$TREE/man/evcat.1"
warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$TREE/man/evcat.1" 2>&1 >/dev/null)
expect_eq "man page renders without warnings" "" "$warnings"
rendered=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$TREE/man/evcat.1" 2>/dev/null |
    sed -n '/^SSE OPTIONS OF listen/,/^OPTIONS OF listen FOR BOTH/p')
expect_match "man page: in SSE OPTIONS OF listen" "--probe-zz LEVEL" "$rendered"

COMP=$TREE/completions
out=$(bash -c '. "$1"; COMP_WORDS=(evcat listen --probe); COMP_CWORD=2; _evcat; echo "${COMPREPLY[*]}"' \
    _ "$COMP/evcat.bash")
expect_eq "bash completes the option" "--probe-zz" "$out"
out=$(bash -c '. "$1"; COMP_WORDS=(evcat listen --probe-zz h); COMP_CWORD=3; _evcat; echo "${COMPREPLY[*]}"' \
    _ "$COMP/evcat.bash")
expect_eq "bash completes its value" "high" "$out"
check "zsh: in _evcat_listen" grep -q "^    '--probe-zz\[a probe the tests add\]:LEVEL:(low high)' \\\\$" \
    "$COMP/_evcat"
if command -v zsh >/dev/null; then check "zsh completion parses" zsh -n "$COMP/_evcat"; fi
check "fish: a line for it" grep -q "^complete -c evcat -n '__fish_seen_subcommand_from listen' -l probe-zz -x -a 'low high'" \
    "$COMP/evcat.fish"
if command -v fish >/dev/null; then
    out=$(fish -c "source '$COMP/evcat.fish'; complete -C 'evcat listen --probe-zz '" | cut -f1 | tr '\n' ' ')
    expect_eq "fish completes its value" "high low " "$out"
fi

# Nothing else changed: with the probe's name taken out of the lines that
# list it among others, no committed line is missing from the generated file.
for f in man/evcat.1 completions/evcat.bash completions/_evcat completions/evcat.fish; do
    lost=$(diff "$EVCAT_SRC/$f" <(sed 's/ --probe-zz//' "$TREE/$f") | grep '^<')
    expect_eq "$f: lines only added" "" "$lost"
done

finish
