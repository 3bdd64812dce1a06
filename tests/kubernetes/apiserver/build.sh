#!/usr/bin/env bash
# Builds the test kube-apiserver once per set of inputs and keeps it in a cache outside the
# checkout, so a fresh clone on the same machine does not pay the multi-minute Go build again.
#   build.sh [OUT]   prints the cached binary's path on stdout; with OUT, also links (or copies)
#                    it there
# The cache key is the sha256 of go.mod, go.sum, main.go, this script (its build flags) and
# `go version`: any change to the pinned release, the flags or the toolchain builds a new binary.
# Go's own progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
if [ ! -x "$go" ]; then
  echo "build.sh: go not found (set GO or install it under /usr/local/go)" >&2
  exit 1
fi

key=$(cd "$here" && { sha256sum go.mod go.sum main.go build.sh; "$go" version; } | sha256sum)
key=${key:0:64}
cache=${TDS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tds}/kube-apiserver/$key
bin=$cache/kube-apiserver

# Links or copies $1 to $2 through a temporary name, so a reader of $2 never sees half a file.
# Nothing to do when $2 is already a link to $1 (mv refuses to rename one link onto another).
publish() {
  local src=$1 dst=$2 tmp
  if [ "$src" -ef "$dst" ]; then return 0; fi
  tmp=$(dirname "$dst")/.$(basename "$dst").tmp.$$
  rm -f "$tmp"
  ln "$src" "$tmp" 2>/dev/null || cp "$src" "$tmp"
  mv -f "$tmp" "$dst"
}

if [ ! -x "$bin" ]; then
  mkdir -p "$cache"
  # Two concurrent callers (two build dirs, or ctest and a script) build once: the second waits
  # for the lock and then finds the binary.
  exec 9>"$cache/lock"
  flock 9
  if [ ! -x "$bin" ]; then
    echo "build.sh: building kube-apiserver into $cache (a few minutes the first time)" >&2
    tmp=$cache/kube-apiserver.tmp.$$
    trap 'rm -f "$tmp"' EXIT
    start=$SECONDS
    # The release go.mod pins, stamped where `kube-apiserver --version` and GET /version read it
    # (a plain `go build` reports v0.0.0-master).
    version=$(sed -nE 's|^\s*k8s.io/kubernetes (v[0-9.]+)$|\1|p' "$here/go.mod")
    minor=$(echo "$version" | cut -d. -f2)
    ldflags="-s"
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
      ldflags+=" -X $pkg.gitTreeState=clean"
    done
    (cd "$here" && "$go" build -trimpath -buildvcs=false -ldflags="$ldflags" -o "$tmp" .)
    mv -f "$tmp" "$bin"
    trap - EXIT
    echo "build.sh: built in $((SECONDS - start)) s" >&2
  fi
  exec 9>&-
fi

if [ $# -ge 1 ]; then
  mkdir -p "$(dirname "$1")"
  publish "$bin" "$1"
fi
echo "$bin"
