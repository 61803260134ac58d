#!/usr/bin/env bash
# Lays out the operator image's base as a folder: the Debian packages of debian-packages.lock
# unpacked with `dpkg-deb -x` (no maintainer script runs), what those scripts or a base image
# would have added (the CA bundle, the users, /tmp), and, for image scanners, each package's
# control fields in /var/lib/dpkg/status.d/ as distroless images have them.
# Usage: tools/image/rootfs.sh OUT_DIR   (OUT_DIR is emptied first)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCK="$ROOT/tools/image/debian-packages.lock"
OUT="${1:?usage: rootfs.sh OUT_DIR}"

log() { printf '[image-rootfs] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
command -v dpkg-deb >/dev/null || die "dpkg-deb is not on PATH (it unpacks the Debian packages)"

DEBS_DIR="$("$ROOT/tools/image/fetch-debs.sh")"
umask 022
rm -rf "$OUT"
mkdir -p "$OUT/var/lib/dpkg/status.d"
while read -r name version arch _; do
  deb="$DEBS_DIR/${name}_${version//:/%3a}_${arch}.deb"
  dpkg-deb -x "$deb" "$OUT"
  { dpkg-deb -f "$deb"; echo 'Status: install ok installed'; } >"$OUT/var/lib/dpkg/status.d/$name"
done < <(grep -v '^#' "$LOCK")

# Documentation, except each package's copyright (its licence terms travel with the binaries).
find "$OUT/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
find "$OUT/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$OUT/usr/share/man" "$OUT/usr/share/info" "$OUT/usr/share/lintian" "$OUT/usr/share/bash-completion" \
  "$OUT/usr/share/gdb" "$OUT/usr/share/systemtap"

# What ca-certificates' postinst (update-ca-certificates) would build, in a fixed order. Debian's
# node reads it at start (NODE_EXTRA_CA_CERTS is compiled in).
mkdir -p "$OUT/etc/ssl/certs"
find "$OUT/usr/share/ca-certificates" -name '*.crt' -print0 | LC_ALL=C sort -z | xargs -0 cat >"$OUT/etc/ssl/certs/ca-certificates.crt"

# The manifests run the pods as 65532:65532 (runAsNonRoot), the non-root user of distroless.
printf '%s\n' 'root:x:0:0:root:/root:/usr/sbin/nologin' 'nonroot:x:65532:65532:nonroot:/home/nonroot:/usr/sbin/nologin' >"$OUT/etc/passwd"
printf '%s\n' 'root:x:0:' 'nonroot:x:65532:' >"$OUT/etc/group"
printf '%s\n' 'passwd: files' 'group: files' 'hosts: files dns' 'networks: files' 'protocols: files' 'services: files' >"$OUT/etc/nsswitch.conf"
mkdir -p "$OUT/home/nonroot" "$OUT/tmp"
chmod 1777 "$OUT/tmp"
log "unpacked $(grep -vc '^#' "$LOCK") packages into $OUT ($(du -sh "$OUT" | cut -f1))"
