#!/usr/bin/env bash
# The man page's option sections and the completions are what scripts/gen-docs
# writes from src/cli/options.def (run it after editing the table); every
# option in each command's --help is in the man page and in the bash, zsh and
# fish completions; the completion scripts parse and complete; the man page
# renders without warnings.
. "$(dirname "$0")/lib.sh"

GEN=${EVCAT_BUILD:-$EVCAT_SRC/build}/evcat-gen-docs
expect_rc "evcat-gen-docs runs" 0 "$GEN" "$EVCAT_SRC" "$TMP/gen"
for f in man/evcat.1 completions/evcat.bash completions/_evcat completions/evcat.fish; do
    check "$f is as scripts/gen-docs writes it" \
        diff -u "$EVCAT_SRC/$f" "$TMP/gen/$f" --label "$f (committed)" --label "$f (generated)"
done

MAN=$EVCAT_SRC/man/evcat.1
COMP=$EVCAT_SRC/completions
commands=$("$EVCAT" --help | awk '/^Commands:/{on=1; next} on && /^  [a-z]/{print $1}' | grep -v '^help$')
check "commands listed by --help" test -n "$commands"

for cmd in $commands; do
    opts=$("$EVCAT" "$cmd" --help | grep -oE '(^|[ ,])--[a-z0-9][a-z0-9.-]*' | sed 's/^[ ,]*//' | sort -u)
    check "$cmd --help lists options" test -n "$opts"
    for o in $opts; do
        # The man page escapes '-' as '\-'.
        esc=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
        check "man page: $cmd $o" grep -q -- "$esc" "$MAN"
        check "bash: $cmd $o" grep -qw -- "$o" "$COMP/evcat.bash"
        check "zsh: $cmd $o" grep -qF -e "$o[" -e "$o}'[" "$COMP/_evcat"
        check "fish: $cmd $o" grep -qE -- "-l ${o#--}( |$)" "$COMP/evcat.fish"
    done
done

check "bash completion parses" bash -n "$COMP/evcat.bash"
if command -v zsh >/dev/null; then check "zsh completion parses" zsh -n "$COMP/_evcat"; fi
if command -v fish >/dev/null; then check "fish completion parses" fish -n "$COMP/evcat.fish"; fi
warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$MAN" 2>&1 >/dev/null)
expect_eq "man page renders without warnings" "" "$warnings"
warnings=$(groff -man -ww -z "$MAN" 2>&1)
expect_eq "groff -ww: no warnings" "" "$warnings"

# bash_complete WORD...: what the bash completion offers for the last word.
bash_complete() {
    bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _evcat; echo "${COMPREPLY[*]}"' \
        _ "$COMP/evcat.bash" "$@"
}
expect_eq "bash completes a listen option" "--idle-timeout" "$(bash_complete evcat listen --idle)"
expect_eq "bash completes --format's values" "pretty raw json" "$(bash_complete evcat ws -o '')"
expect_eq "bash completes --mode's values" "subscribe" "$(bash_complete evcat bench --mode s)"
expect_eq "bash: -d is --duration's value in bench" "" "$(bash_complete evcat bench -d '')"
expect_eq "bash completes -d @FILE in listen" "@$MAN" "$(bash_complete evcat listen -d "@$MAN")"
expect_eq "bash completes --tls's second file" "$MAN" "$(bash_complete evcat serve --tls a "$MAN")"
expect_eq "bash completes the recording of replay" "$MAN" "$(bash_complete evcat replay "$MAN")"
expect_eq "bash: no --proxy for bench" "--procs" "$(bash_complete evcat bench --pro)"
if command -v fish >/dev/null; then
    fish_complete() { fish -c "source '$COMP/evcat.fish'; complete -C '$1'" | cut -f1 | tr '\n' ' '; }
    expect_eq "fish completes --color's values" "always auto never " "$(fish_complete 'evcat listen --color ')"
    expect_eq "fish completes --assert's metrics" "p50< p90< p99< p999< " "$(fish_complete 'evcat bench --assert p')"
    expect_eq "fish completes a serve option" "--max-connections " "$(fish_complete 'evcat serve --max-c')"
fi

finish
