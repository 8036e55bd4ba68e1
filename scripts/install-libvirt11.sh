#!/usr/bin/env bash
# Installs libvirt 11.x (Debian 13 "trixie") into a separate root for the real-daemon tests of the second
# generation (test/harness/libvirtd.ts with generation '11'): `debootstrap --variant=minbase trixie ROOT`, then
# libvirtd, virtlogd, virtlockd and virt-admin inside it. The host's own libvirt (9.0.0) is not touched.
#
# The root is cached on the machine (default /var/cache/libvirt-admin-gateway/trixie, or $LIBVIRT11_ROOT) and
# a marker file records what was installed; a second run that finds the same request satisfied only checks the
# binaries (seconds). A root without a matching marker (an interrupted run, another package list) is built again
# from scratch, in a staging folder that replaces the old root only once complete.
# The mirror is the one apt uses on this machine ($LIBVIRT11_MIRROR overrides it). Never skips: any failure
# exits non-zero with the reason. Run as root.
set -euo pipefail
trap 'echo "[install-libvirt11] FAILED (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR

SUITE=trixie
ROOT=${LIBVIRT11_ROOT:-/var/cache/libvirt-admin-gateway/trixie}
PACKAGES=(libvirt-daemon libvirt-clients libvirt-daemon-driver-qemu libvirt-daemon-log libvirt-daemon-lock)
# Commands the harness runs inside the root.
COMMANDS=(/usr/sbin/libvirtd /usr/sbin/virtlogd /usr/sbin/virtlockd /usr/bin/virt-admin)
MARKER_NAME=.libvirt-admin-gateway-root
# Bump when the way the root is prepared changes, so cached roots are rebuilt.
RECIPE=1

log() { echo "[install-libvirt11] $*"; }
die() { echo "[install-libvirt11] ERROR: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot and mounts need it)"
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

# The first Debian archive URI of apt's own sources (deb822 .sources files, then sources.list): the registry
# this machine is known to reach.
apt_mirror() {
  local uri
  uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
    awk 'tolower($1)=="uris:" { for (i = 2; i <= NF; i++) print $i }' |
    grep -E '/debian/?$' | head -n 1 || true)
  if [ -z "$uri" ]; then
    uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk '$1=="deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' |
      grep -E '/debian/?$' | head -n 1 || true)
  fi
  echo "${uri%/}"
}

MIRROR=${LIBVIRT11_MIRROR:-$(apt_mirror)}
[ -n "$MIRROR" ] || die "no Debian mirror found in /etc/apt/sources.list{,.d}; set LIBVIRT11_MIRROR"

# What the marker must say for the cached root to count as this install.
wanted_marker() {
  printf 'recipe=%s\nsuite=%s\nmirror=%s\npackages=%s\n' "$RECIPE" "$SUITE" "$MIRROR" "${PACKAGES[*]}"
}

# The root is usable when the marker matches and every command runs and reports libvirt 11.
check_root() {
  local root=$1 cmd version
  [ -f "$root/$MARKER_NAME" ] || return 1
  diff -q <(wanted_marker) <(sed -n '1,4p' "$root/$MARKER_NAME") >/dev/null || return 1
  for cmd in "${COMMANDS[@]}"; do
    [ -x "$root$cmd" ] || { log "missing in the cached root: $cmd"; return 1; }
  done
  version=$(chroot "$root" /usr/sbin/libvirtd --version) || { log "libvirtd in the cached root does not run"; return 1; }
  [[ "$version" =~ \ 11\.[0-9]+\.[0-9]+ ]] || { log "unexpected version in the cached root: $version"; return 1; }
}

mkdir -p "$(dirname "$ROOT")"
# Two runs at once (CI and a developer) must not build the same root together.
exec 9>"$(dirname "$ROOT")/.install-libvirt11.lock"
flock 9

if check_root "$ROOT"; then
  log "cached root is up to date: $ROOT"
  log "$(chroot "$ROOT" /usr/sbin/libvirtd --version)"
  log "done"
  exit 0
fi

if ! command -v debootstrap >/dev/null; then
  log "installing debootstrap"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends debootstrap
fi
command -v debootstrap >/dev/null || die "debootstrap not found after installation"
[ -e "/usr/share/debootstrap/scripts/$SUITE" ] || die "this debootstrap does not know the suite $SUITE"

STAGE="$ROOT.staging"
cleanup_stage() {
  # A failed run may leave mounts behind only inside its own mount namespace; nothing to unmount here.
  [ -d "$STAGE" ] && rm -rf --one-file-system -- "$STAGE"
  return 0
}
cleanup_stage

log "debootstrap --variant=minbase $SUITE $STAGE $MIRROR"
debootstrap --variant=minbase "$SUITE" "$STAGE" "$MIRROR" || { cleanup_stage; die "debootstrap failed"; }

# Inside the root: no service may start while packages install (there is no init), and apt uses the same
# mirror. /proc, /sys and /dev are mounted in a private mount namespace, so they vanish with it.
printf '#!/bin/sh\nexit 101\n' > "$STAGE/usr/sbin/policy-rc.d"
chmod 0755 "$STAGE/usr/sbin/policy-rc.d"
printf 'deb %s %s main\n' "$MIRROR" "$SUITE" > "$STAGE/etc/apt/sources.list"

log "apt-get install ${PACKAGES[*]} (inside the root)"
# shellcheck disable=SC2016 # expanded by the inner shell
unshare -m -- bash -euo pipefail -c '
  root=$1; shift
  mount --make-rprivate /
  mount -t proc proc "$root/proc"
  mount --rbind /sys "$root/sys"
  mount --rbind /dev "$root/dev"
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 \
    sh -ec "apt-get update && apt-get install -y --no-install-recommends \"\$@\" && apt-get clean" sh "$@"
' bash "$STAGE" "${PACKAGES[@]}" || { cleanup_stage; die "installing ${PACKAGES[*]} inside the root failed"; }

# System-mode libvirtd refuses to start when the QEMU driver's default user is unknown; Debian creates it in
# libvirt-daemon-system, which is not installed (as on the host, see install-libvirt.sh).
if ! chroot "$STAGE" getent group libvirt-qemu >/dev/null; then
  chroot "$STAGE" groupadd --system libvirt-qemu
fi
if ! chroot "$STAGE" getent passwd libvirt-qemu >/dev/null; then
  chroot "$STAGE" useradd --system --gid libvirt-qemu --no-create-home --home-dir /var/lib/libvirt \
    --shell /usr/sbin/nologin libvirt-qemu
fi
# The harness binds its own folders over these; they must exist as mount points.
mkdir -p "$STAGE/run/libvirt" "$STAGE/var/lib/libvirt" "$STAGE/var/cache/libvirt" "$STAGE/var/log/libvirt" \
  "$STAGE/run/lock" "$STAGE/tmp"

{
  wanted_marker
  echo "installed=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  chroot "$STAGE" dpkg-query -W -f='version ${Package}=${Version}\n' "${PACKAGES[@]}"
} > "$STAGE/$MARKER_NAME"

check_root "$STAGE" || { cleanup_stage; die "the new root failed its check"; }

if [ -e "$ROOT" ]; then
  log "replacing the outdated root $ROOT"
  rm -rf --one-file-system -- "$ROOT"
fi
mv -- "$STAGE" "$ROOT"
log "root ready: $ROOT"
sed -n 's/^version /  /p' "$ROOT/$MARKER_NAME"
log "$(chroot "$ROOT" /usr/sbin/libvirtd --version)"
log "$(chroot "$ROOT" /usr/sbin/virtlogd --version)"
log "$(chroot "$ROOT" /usr/sbin/virtlockd --version)"
log "done"
