#!/usr/bin/env bash
# What a user installs: `cmake --install` into a scratch prefix puts the
# binary, the man page and the bash, zsh and fish completions where
# GNUInstallDirs and the shells look (without root), and they work from there;
# `cpack -G DEB` builds a .deb whose Depends are the runtime libraries (no -dev
# package), holding those files and nothing else (no test or fuzz program).
# The .deb is installed with dpkg into a scratch root with its own package
# database, and apt-get resolves its Depends against this system in simulation
# only: nothing here installs into the real system.
. "$(dirname "$0")/lib.sh"

BUILD=${EVCAT_BUILD:-$EVCAT_SRC/build}
CMAKE=${CMAKE:-cmake}
CPACK=${CPACK:-cpack}
VERSION=$(sed -n 's/^project(evcat VERSION \([0-9.]*\).*/\1/p' "$EVCAT_SRC/CMakeLists.txt")
check "project version read from CMakeLists.txt" test -n "$VERSION"

# The files, relative to the prefix, and the source each comes from.
FILES=(bin/evcat
       share/man/man1/evcat.1
       share/bash-completion/completions/evcat
       share/zsh/vendor-completions/_evcat
       share/fish/vendor_completions.d/evcat.fish
       share/doc/evcat/copyright)
declare -A SOURCE=([share/man/man1/evcat.1]=man/evcat.1
                   [share/bash-completion/completions/evcat]=completions/evcat.bash
                   [share/zsh/vendor-completions/_evcat]=completions/_evcat
                   [share/fish/vendor_completions.d/evcat.fish]=completions/evcat.fish
                   [share/doc/evcat/copyright]=LICENSE)
expected=$(printf '%s\n' "${FILES[@]}" | sort)

# check_tree NAME DIR: DIR holds exactly FILES, each like its source, and the
# evcat there runs and reports the project's version.
check_tree() {
    local name=$1 dir=$2 f
    expect_eq "$name: exactly the installed files" "$expected" \
        "$(cd "$dir" && find . -type f -o -type l | sed 's|^\./||' | sort)"
    for f in "${!SOURCE[@]}"; do
        check "$name: $f is ${SOURCE[$f]}" cmp -s "$dir/$f" "$EVCAT_SRC/${SOURCE[$f]}"
    done
    check "$name: bin/evcat is executable" test -x "$dir/bin/evcat"
    expect_match "$name: evcat --version" "^evcat $VERSION"$'\n' "$("$dir/bin/evcat" --version 2>&1)"
    local out warnings
    out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$dir/share/man/man1/evcat.1" 2>"$TMP/man.err")
    warnings=$(cat "$TMP/man.err")
    expect_match "$name: the man page renders" "NAME.*evcat +- +command-line" "$(tr "\n" " " <<<"$out")"
    expect_eq "$name: the man page renders without warnings" "" "$warnings"
}

# 1. cmake --install into a prefix of one's own, as a user would to ~/.local.
PREFIX=$TMP/prefix
expect_rc "cmake --install --prefix (no root needed)" 0 "$CMAKE" --install "$BUILD" --prefix "$PREFIX"
check_tree "install" "$PREFIX"
# Where the shells and man look for them given only PATH (and zsh's fpath).
expect_eq "man finds the page from PATH" "$PREFIX/share/man/man1/evcat.1" \
    "$(env -u MANPATH PATH="$PREFIX/bin:$PATH" man -w evcat 2>&1)"
if command -v zsh >/dev/null; then
    expect_eq "zsh: compinit picks up _evcat from vendor-completions" "_evcat" \
        "$(zsh -f -c 'fpath=("$1" $fpath); autoload -Uz compinit; compinit -D; print -r -- $_comps[evcat]' \
            _ "$PREFIX/share/zsh/vendor-completions" 2>&1)"
else
    skip "zsh is not installed"
fi
if command -v fish >/dev/null; then
    # XDG_DATA_HOME=PREFIX/share: fish looks in its fish/vendor_completions.d
    # (for ~/.local, the default).
    expect_match "fish autoloads the completion" "^--max-connections" \
        "$(PATH="$PREFIX/bin:$PATH" XDG_DATA_HOME="$PREFIX/share" XDG_CONFIG_HOME="$TMP/fishconf" \
            fish -c 'complete -C "evcat serve --max-c"' 2>&1)"
else
    skip "fish is not installed"
fi
expect_match "bash completion completes from its installed place" "--idle-timeout" \
    "$(bash -c '. "$1"; COMP_WORDS=(evcat listen --idle); COMP_CWORD=2; _evcat; echo "${COMPREPLY[*]}"' \
        _ "$PREFIX/share/bash-completion/completions/evcat" 2>&1)"
BASH_COMPLETION=/usr/share/bash-completion/bash_completion
if [ -f "$BASH_COMPLETION" ]; then
    # bash-completion loads completions/evcat from $XDG_DATA_HOME (for
    # ~/.local, the default) when evcat is first completed.
    expect_eq "bash-completion loads it from XDG_DATA_HOME" "complete -F _evcat evcat" \
        "$(XDG_DATA_HOME="$PREFIX/share" bash -c '. "$1"; __load_completion evcat; complete -p evcat' \
            _ "$BASH_COMPLETION" 2>&1)"
else
    skip "bash-completion is not installed"
fi

# 2. The .deb, built into a scratch directory.
PKG=$TMP/pkg
mkdir -p "$PKG"
expect_rc "cpack -G DEB" 0 "$CPACK" --config "$BUILD/CPackConfig.cmake" -G DEB -B "$PKG"
check "cpack: no CMake warning" bash -c '! grep -h -A5 "CMake Warning" "$@"' _ "$TMP/rc.out" "$TMP/rc.err"
expect_eq "one package: evcat_VERSION_ARCH.deb" "evcat_${VERSION}_$(dpkg --print-architecture).deb" \
    "$(cd "$PKG" && ls -- *.deb 2>&1)"
DEB=$PKG/evcat_${VERSION}_$(dpkg --print-architecture).deb
if [ ! -f "$DEB" ]; then
    fail "no .deb to check"
    finish
fi

field() { dpkg-deb --field "$DEB" "$1"; }
expect_eq "Package" "evcat" "$(field Package)"
expect_eq "Version is the project's" "$VERSION" "$(field Version)"
expect_eq "Section" "net" "$(field Section)"
expect_eq "Architecture" "$(dpkg --print-architecture)" "$(field Architecture)"
check "Maintainer set" test -n "$(field Maintainer)"
expect_match "Description" "SSE and WebSocket" "$(field Description)"
depends=$(field Depends)
echo "# Depends: $depends"
# The package names in Depends, one a line, without versions or alternatives' bars.
names=$(printf '%s\n' "$depends" | tr ',|' '\n\n' | sed 's/(.*)//; s/[[:space:]]//g' | grep -v '^$')
for lib in libc6 libcurl4 libwslay1 libcjson1 libedit2 libssl3; do
    check "Depends: $lib" grep -qx "$lib" <<<"$names"
done
check "Depends: no -dev package" bash -c '! grep -q -- "-dev$" <<<"$1"' _ "$names"
expect_eq "no maintainer scripts" "" \
    "$(dpkg-deb --ctrl-tarfile "$DEB" | tar -t | grep -E 'preinst|postinst|prerm|postrm')"

# The file list: the same files under /usr, owned by root, nothing else.
contents=$(dpkg-deb --contents "$DEB")
expect_eq "dpkg-deb --contents: exactly the installed files" "$expected" \
    "$(awk '$1 !~ /^d/ {print $6}' <<<"$contents" | sed 's|^\./usr/||' | sort)"
check "dpkg-deb --contents: all owned by root" bash -c '! awk "{print \$2}" <<<"$1" | grep -vqx root/root' _ "$contents"

# 3. Installed with dpkg into a scratch root with its own database and log
# (its Depends are not there: --force-depends; step 4 checks them), then run
# from there with the system's libraries.
ROOT=$TMP/root
mkdir -p "$ROOT/var/lib/dpkg/info" "$ROOT/var/lib/dpkg/updates" "$ROOT/var/log"
: >"$ROOT/var/lib/dpkg/status"
if [ "$(id -u)" -eq 0 ]; then
    expect_rc "dpkg --root installs it into a scratch root" 0 \
        dpkg --root="$ROOT" --log="$ROOT/var/log/dpkg.log" --force-depends -i "$DEB"
    expect_match "the scratch database has it installed" "^install ok installed" \
        "$(dpkg-query --admindir="$ROOT/var/lib/dpkg" -W -f='${Status}' evcat 2>&1)"
else
    # dpkg --root wants root to set owners; unpacking is what it does here.
    skip "dpkg --root needs root: unpacking with dpkg-deb -x instead"
    expect_rc "dpkg-deb -x into a scratch root" 0 dpkg-deb -x "$DEB" "$ROOT"
fi
check_tree "deb" "$ROOT/usr"
check "the packaged evcat is stripped" bash -c '! readelf -S "$1" | grep -q "\.debug_info"' _ "$ROOT/usr/bin/evcat"
check "ldd: every library found on this system" bash -c '! ldd "$1" | grep -q "not found"' _ "$ROOT/usr/bin/evcat"

# 4. `apt-get install ./evcat_*.deb` would succeed here: apt resolves the
# Depends against this system's packages, simulating only (-s: no lock, no
# change).
expect_rc "apt-get install -s ./evcat_*.deb resolves its Depends" 0 \
    apt-get install -s -o Debug::NoLocking=1 "$DEB"
check "apt-get -s would install evcat" grep -q "^Inst evcat " "$TMP/rc.out"

finish
