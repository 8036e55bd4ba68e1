#!/usr/bin/env bash
# Installs what the real-daemon tests need (test/harness/libvirtd.ts): libvirtd 9.0.0 and virtlogd,
# virt-admin, libvirt's headers and a C compiler (the benchmark's C baseline), util-linux for
# unshare/nsenter/mount, iproute2 (ss: the embedded daemon's peer credentials), systemd (systemd-analyze
# verifies the unit), unzip (the chart test's Helm binary), openssl (test certificates), chromium with a
# font (the dashboard's browser tests drive Debian's Chromium through playwright-core; they fail without it),
# and prometheus for its promtool (the metrics test runs `promtool check metrics`; under CI=true it fails
# without it). Only promtool is used: a Prometheus server the package's install may have started is stopped.
# Idempotent: installed packages are left alone and apt-get update runs only when something is missing.
# Run as root.
set -euo pipefail
trap 'echo "[install-libvirt] FAILED (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR

PACKAGES=(libvirt-daemon libvirt-clients libvirt-dev gcc util-linux iproute2 systemd unzip openssl chromium fonts-dejavu-core prometheus)
COMMANDS=(libvirtd virtlogd virt-admin gcc unshare nsenter mount ss systemd-analyze unzip openssl chromium promtool)

log() { echo "[install-libvirt] $*"; }
die() { echo "[install-libvirt] ERROR: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (it installs packages and creates a system user)"

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
  log "apt-get install ${PACKAGES[*]}"
  apt-get install -y --no-install-recommends "${PACKAGES[@]}"
fi

# The prometheus package enables its server where systemd runs; the tests want only promtool.
if [ -d /run/systemd/system ] && systemctl is-enabled --quiet prometheus 2>/dev/null; then
  log "stopping and disabling the prometheus service (only promtool is needed)"
  systemctl disable --now prometheus
fi

# System-mode libvirtd refuses to start when its default QEMU user is unknown; Debian creates that user
# in libvirt-daemon-system, which we do not install.
if getent group libvirt-qemu >/dev/null; then
  log "group libvirt-qemu exists"
else
  log "creating system group libvirt-qemu"
  groupadd --system libvirt-qemu
fi
if getent passwd libvirt-qemu >/dev/null; then
  log "user libvirt-qemu exists"
else
  log "creating system user libvirt-qemu"
  useradd --system --gid libvirt-qemu --no-create-home --home-dir /var/lib/libvirt \
    --shell /usr/sbin/nologin libvirt-qemu
fi

export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
for cmd in "${COMMANDS[@]}"; do
  command -v "$cmd" >/dev/null || die "$cmd not found after installation"
done
log "$(libvirtd --version)"
log "$(virtlogd --version)"
log "$(promtool --version 2>&1 | head -n 1)"
log "done"
