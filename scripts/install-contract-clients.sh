#!/usr/bin/env bash
# Installs the clients of the contract tests (test/contract/go-client.test.ts, perl-client.test.ts), from Debian's
# packages only: Go with kin-openapi (its sources and those of its dependencies land in /usr/share/gocode, built
# in GOPATH mode without any module download), and Perl's OpenAPI::Client (Mojolicious, JSON::Validator).
# Idempotent: installed packages are left alone and apt-get update runs only when something is missing.
# Run as root.
set -euo pipefail
trap 'echo "[install-contract-clients] FAILED (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR

PACKAGES=(golang-go golang-github-getkin-kin-openapi-dev libopenapi-client-perl)

log() { echo "[install-contract-clients] $*"; }
die() { echo "[install-contract-clients] ERROR: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (it installs packages)"

missing=()
for pkg in "${PACKAGES[@]}"; do
  if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    log "already installed: $pkg"
  else
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  log "apt-get update (missing: ${missing[*]})"
  apt-get update
  log "apt-get install ${missing[*]}"
  apt-get install -y --no-install-recommends "${missing[@]}"
fi

# What the tests rely on, checked here so that a broken install fails CI at this step, not as a test timeout.
command -v go >/dev/null || die "go is not on PATH after installing golang-go"
[ -d /usr/share/gocode/src/github.com/getkin/kin-openapi/openapi3 ] || die "kin-openapi sources missing in /usr/share/gocode"
perl -MOpenAPI::Client -e 1 || die "perl cannot load OpenAPI::Client"
log "go $(go env GOVERSION), kin-openapi $(dpkg-query -W -f='${Version}' golang-github-getkin-kin-openapi-dev), OpenAPI::Client $(perl -MOpenAPI::Client -e 'print $OpenAPI::Client::VERSION')"
