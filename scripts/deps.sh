# Sourced by scripts/demo and scripts/test: install the Debian 12 packages that
# are missing (apt-get update once, only when something is missing).
# usage: install_missing PKG...
install_missing() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "==> installing: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

BUILD_PACKAGES=(build-essential cmake pkg-config libcurl4-openssl-dev libwslay-dev libssl-dev
                libcjson-dev libedit-dev libcmocka-dev zlib1g-dev curl ca-certificates)
TEST_PACKAGES=(clang libclang-rt-14-dev valgrind nginx-light libnginx-mod-nchan tinyproxy
               python3 python3-websockets python3-aiohttp openssl tmux procps iproute2 zsh fish man-db
               slurmctld slurmd slurm-client munge util-linux chromium)

# Node (20 on these machines) for the npm peers; Debian's nodejs only if none.
install_node() {
    command -v node >/dev/null && command -v npm >/dev/null && return 0
    install_missing nodejs npm
}

# The npm peers pinned in tests/package.json, into tests/node_modules.
install_npm_peers() {
    local root=$1
    local want have
    want=$(cd "$root/tests" && node -e 'const p=require("./package.json");console.log(Object.entries(p.dependencies).map(([k,v])=>k+"@"+v).join(" "))')
    have=$(cd "$root/tests" && node -e 'const p=require("./package.json");let ok=true;for(const [k,v] of Object.entries(p.dependencies)){try{if(require("./node_modules/"+k+"/package.json").version!==v)ok=false}catch(e){ok=false}};console.log(ok?"yes":"no")')
    [ "$have" = yes ] && return 0
    echo "==> npm install $want"
    (cd "$root/tests" && npm install --no-package-lock --no-audit --no-fund --loglevel=error >/dev/null)
}
