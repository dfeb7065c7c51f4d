#!/usr/bin/env bash
# Every option in each command's --help is in the man page and in the bash,
# zsh and fish completions; the completion scripts parse; the man page renders
# without warnings.
. "$(dirname "$0")/lib.sh"

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
out=$(bash -c ". '$COMP/evcat.bash'; COMP_WORDS=(evcat listen --idle); COMP_CWORD=2; _evcat; echo \${COMPREPLY[*]}")
expect_eq "bash completes a listen option" "--idle-timeout" "$out"

finish
