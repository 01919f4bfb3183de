#!/bin/sh
# build-rootfs.sh OUT.tar.zst
#
# Builds the guest root filesystem as a zstd tarball with
#   mmdebstrap --variant=minbase  (Debian bookworm + packages.txt)
# using only the mirrors that the host's apt already uses (nothing else is
# downloaded). Everything that decides the tarball's content lives in this
# folder (rootfs/), which the harness hashes for its rootfs cache key.
#
# Mode: root -> --mode=root; otherwise --mode=fakechroot if fakechroot is
# installed, else --mode=unshare if user namespaces and /etc/subuid work;
# else exit 3 with an explanation.
# The tarball is written to a temp file and renamed, so a killed build never
# leaves a half tarball behind. Progress lines start with "[rootfs]".
set -eu

log() { printf '[rootfs] %s\n' "$*" >&2; }
die() { printf '[rootfs] error: %s\n' "$*" >&2; exit 1; }

[ $# -eq 1 ] || { echo "usage: $0 OUT.tar.zst" >&2; exit 2; }
OUT=$1
case $OUT in *.tar.zst) ;; *) die "output name must end in .tar.zst: $OUT" ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
SUITE=bookworm

command -v mmdebstrap >/dev/null 2>&1 ||
    die "mmdebstrap not found: sudo apt-get install mmdebstrap"
command -v zstd >/dev/null 2>&1 || die "zstd not found: sudo apt-get install zstd"

# ---- mode ------------------------------------------------------------------
if [ "$(id -u)" -eq 0 ]; then
    MODE=root
elif command -v fakechroot >/dev/null 2>&1 && command -v fakeroot >/dev/null 2>&1; then
    MODE=fakechroot
elif command -v newuidmap >/dev/null 2>&1 && command -v newgidmap >/dev/null 2>&1 &&
     unshare -U --map-root-user true 2>/dev/null &&
     { grep -q "^$(id -un):" /etc/subuid 2>/dev/null || grep -q "^$(id -u):" /etc/subuid 2>/dev/null; } &&
     { grep -q "^$(id -un):" /etc/subgid 2>/dev/null || grep -q "^$(id -u):" /etc/subgid 2>/dev/null; }; then
    MODE=unshare
else
    cat >&2 <<EOF
[rootfs] error: cannot build the guest root filesystem as uid $(id -u): it needs
files owned by root, and none of the ways to get them works here. This is not
root, fakechroot/fakeroot are not installed, and unshare mode is unavailable
(newuidmap is missing, or 'unshare -U --map-root-user true' fails, or
/etc/subuid and /etc/subgid have no range for user $(id -un)). Fix one of: run
the build as root; or 'sudo apt-get install fakechroot fakeroot' (simplest);
or 'sudo apt-get install uidmap' and add ranges, e.g. 'sudo usermod
--add-subuids 100000-165535 --add-subgids 100000-165535 $(id -un)'.
EOF
    exit 3
fi

# ---- mirrors: whatever the host's apt uses ---------------------------------
# deb822 (*.sources: "URIs:" lines) and one-line sources.list ("deb URI ...").
uris=$(
    { cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs:[[:space:]]*//p' | tr ' \t' '\n\n'
      cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
          sed -n 's/^[[:space:]]*deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]*\)\{0,1\}\([^[:space:]]*\).*/\2/p'
    } | grep -E '^(https?|file)://' | sed 's:/*$::' || true)
MIRROR=$(printf '%s\n' "$uris" | grep -v security | grep -E '/debian$' | head -n1 || true)
SECMIRROR=$(printf '%s\n' "$uris" | grep -E '/debian-security$' | head -n1 || true)
if [ -z "$MIRROR" ]; then
    MIRROR=http://deb.debian.org/debian
    log "no Debian mirror in the host's apt sources; using $MIRROR"
fi
[ -n "$SECMIRROR" ] || SECMIRROR=${MIRROR%/debian}/debian-security
log "mirror $MIRROR, security $SECMIRROR, suite $SUITE"

# ---- package list ------------------------------------------------------------
PKGS=$(sed 's/#.*//' "$HERE/packages.txt" | tr -s ' \t\n' '\n' | grep -v '^$' | paste -sd, -)
[ -n "$PKGS" ] || die "no packages in $HERE/packages.txt"

# ---- build --------------------------------------------------------------------
mkdir -p "$(dirname "$OUT")"
TMP="${OUT%.tar.zst}.tmp-$$.tar.zst"
trap 'rm -f "$TMP"' EXIT
trap 'exit 130' INT TERM HUP

log "mmdebstrap --mode=$MODE --variant=minbase, packages: $PKGS"
start=$(date +%s)
# The doc/man/locale excludes are not passed as --dpkgopt: mmdebstrap then
# filters every essential .deb through its Python mmtarfilter, which cost
# ~26 s here. Instead dpkg-excludes.cfg goes into dpkg.cfg.d before dpkg
# first runs (setup hook), and the few files that the essential extraction
# put there anyway are deleted at the end (customize hook).
# Hooks:
#  essential: configure tiny-initramfs before the kernel's postinst runs it:
#    no probing of the build host's devices, just the virtio disk modules.
#  customize: drop usrmerge and the perl it pulled in (~50 MB), and the
#    generated host keys (mkimage.sh makes fresh ones per image); record the
#    installed package versions in /etc/yakiros-packages.txt.
export YAKIROS_ROOTFS_DIR="$HERE"
# shellcheck disable=SC2016  # $1 is expanded by mmdebstrap's hook shell
mmdebstrap \
    --mode="$MODE" --variant=minbase \
    --include="$PKGS" \
    --aptopt='Apt::Install-Recommends "false"' \
    --setup-hook='mkdir -p "$1/etc/dpkg/dpkg.cfg.d" &&
        cp "$YAKIROS_ROOTFS_DIR/dpkg-excludes.cfg" "$1/etc/dpkg/dpkg.cfg.d/90yakiros-excludes"' \
    --essential-hook='mkdir -p "$1/etc/tiny-initramfs" &&
        printf "AUTO_MODULES=no\nINCLUDE_MODULES=virtio_pci,virtio_blk\nMICROCODE=no\n" \
            > "$1/etc/tiny-initramfs/tiny-initramfs.conf"' \
    --customize-hook='chroot "$1" dpkg --purge usrmerge libfile-find-rule-perl \
        libnumber-compare-perl libtext-glob-perl perl libperl5.36 perl-modules-5.36' \
    --customize-hook='cd "$1/usr/share" && rm -rf man/* info/* &&
        find locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} + &&
        find doc -mindepth 1 ! -type d ! -name copyright -delete &&
        find doc -mindepth 1 -depth -type d -empty -delete' \
    --customize-hook='rm -f "$1"/etc/ssh/ssh_host_*' \
    --customize-hook='chroot "$1" dpkg-query -W -f "\${Package} \${Version}\n" > "$1/etc/yakiros-packages.txt"' \
    "$SUITE" "$TMP" \
    "deb $MIRROR $SUITE main" \
    "deb $MIRROR $SUITE-updates main" \
    "deb $SECMIRROR $SUITE-security main"

mv -f "$TMP" "$OUT"
trap - EXIT
log "done in $(( $(date +%s) - start )) s: $OUT ($(du -h "$OUT" | cut -f1))"
