#!/bin/sh
# mkimage.sh ROOTFS.tar.zst OUTDIR
#
# Turns the rootfs tarball from rootfs/build-rootfs.sh into a bootable guest
# in OUTDIR (which must not exist yet):
#   vmlinux                  uncompressed PVH ELF kernel (for qemu -kernel)
#   initramfs.cpio           tiny newc cpio: static busybox, virtio modules, init
#   root.qcow2               ext4 root filesystem, 2 GiB virtual size
#   id_ed25519[.pub]         fresh client key pair, root's authorized key
#   ssh_host_ed25519_key.pub the guest's (fresh) host key, for pinning
#   kernel-release           the guest kernel version, one line
# It also installs guest-config/overlay/ into the root (owned by root; mode
# 0755 if executable in the checkout, else 0644) and sets hostname, hosts,
# fstab and root's shell (klibc's sh, see below), and the YakirOS Step-11 test
# components and services (components/, runtime-components/, services/).
#
# No loop mounts: the ext4 image is made with `mkfs.ext4 -d`. Not root: the
# whole script re-runs itself inside one fakeroot session, so ownership,
# device nodes and setuid bits survive from the tarball into the image.
# Output goes to OUTDIR.tmp-PID and is renamed at the end. Progress lines
# start with "[image]".
set -eu
umask 022

log() { printf '[image] %s\n' "$*" >&2; }
die() { printf '[image] error: %s\n' "$*" >&2; exit 1; }

[ $# -eq 2 ] || { echo "usage: $0 ROOTFS.tar.zst OUTDIR" >&2; exit 2; }

for tool in tar zstd lz4 cpio modprobe mkfs.ext4 qemu-img ssh-keygen; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (apt-get install" \
        "qemu-utils e2fsprogs kmod cpio zstd lz4 openssh-client)"
done

if [ "$(id -u)" -ne 0 ] && [ -z "${FAKEROOTKEY:-}" ]; then
    command -v fakeroot >/dev/null 2>&1 ||
        die "not root and fakeroot is not installed: sudo apt-get install fakeroot"
    log "not root: re-running inside fakeroot"
    exec fakeroot -- sh "$0" "$@"
fi

HERE=$(cd "$(dirname "$0")" && pwd)
ROOTFS=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
OUT=$2
[ -f "$ROOTFS" ] || die "no such rootfs tarball: $ROOTFS"
[ ! -e "$OUT" ] || die "$OUT already exists"
mkdir -p "$(dirname "$OUT")"
OUT=$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")
TMP=$OUT.tmp-$$
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM HUP
mkdir "$TMP"
STAGE=$TMP/stage
start=$(date +%s)

# ---- unpack -------------------------------------------------------------------
log "unpacking $ROOTFS"
mkdir "$STAGE"
tar -C "$STAGE" --zstd --numeric-owner -xpf "$ROOTFS"

KVER=$(ls "$STAGE/usr/lib/modules")
[ "$(printf '%s\n' "$KVER" | wc -l)" -eq 1 ] || die "expected one kernel in the rootfs, found: $KVER"
[ -f "$STAGE/boot/vmlinuz-$KVER" ] || die "missing /boot/vmlinuz-$KVER"
echo "$KVER" > "$TMP/kernel-release"
log "kernel $KVER"

# ---- vmlinux: the uncompressed ELF inside the bzImage ---------------------------
# As Linux's scripts/extract-vmlinux does: find every occurrence of a
# compressor's magic, decompress from there (trailing garbage makes the
# decompressor complain; the output is still complete), keep the first result
# that is an ELF file. The `tr` maps the magic's first byte to a newline and
# its other bytes to placeholders, so `grep -abo '^xxx'` prints the offsets.
is_elf() { [ "$(head -c 4 "$1" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; }
try_decompress() { # MAGIC(octal escapes) PLACEHOLDER DECOMPRESSOR...
    magic=$1 ph=$2; shift 2
    for pos in $(tr "$magic\n$ph" "\n$ph=" < "$VMLINUZ" | grep -abo "^$ph"); do
        pos=${pos%%:*}
        tail -c "+$pos" "$VMLINUZ" | "$@" > "$TMP/vmlinux" 2>/dev/null || true
        if is_elf "$TMP/vmlinux"; then return 0; fi
    done
    rm -f "$TMP/vmlinux"
    return 1
}
VMLINUZ=$STAGE/boot/vmlinuz-$KVER
# lz4 legacy (the cloud kernel), then zstd, xz (generic kernel), gzip
try_decompress '\002\041\114\030' xxx lz4 -dc ||
    try_decompress '(\265/\375' xxx zstd -dcq ||
    try_decompress '\3757zXZ\000' abcde xz -dc ||
    try_decompress '\037\213\010' xy gzip -dc ||
    die "could not extract an ELF vmlinux from $VMLINUZ"
log "vmlinux: $(($(wc -c < "$TMP/vmlinux") / 1048576)) MiB ELF"

# ---- overlay and configuration ---------------------------------------------------
log "installing overlay/ and configuration"
(cd "$HERE/overlay" && find . -mindepth 1 | LC_ALL=C sort) | while IFS= read -r p; do
    src=$HERE/overlay/$p dst=$STAGE/$p
    if [ -L "$src" ]; then
        rm -rf "$dst"; cp -P "$src" "$dst"; chown -h 0:0 "$dst"
    elif [ -d "$src" ]; then
        [ -d "$dst" ] || { mkdir -p "$dst"; chown 0:0 "$dst"; chmod 0755 "$dst"; }
    else
        rm -rf "$dst"; cp "$src" "$dst"; chown 0:0 "$dst"
        if [ -x "$src" ]; then chmod 0755 "$dst"; else chmod 0644 "$dst"; fi
    fi
done

echo yakiros-vm > "$STAGE/etc/hostname"
cat > "$STAGE/etc/hosts" <<'EOF'
127.0.0.1	localhost
127.0.1.1	yakiros-vm
::1		localhost ip6-localhost ip6-loopback
EOF
: > "$STAGE/etc/fstab"
# root's login shell runs every harness command (sshd execs `SHELL -c CMD` per
# channel). klibc's sh is a POSIX dash without glibc's dynamic loading: under
# TCG it starts in ~11 ms against ~45 ms for /bin/sh (dash), so a command on
# the persistent connection takes ~25 ms instead of ~70 ms. Humans who get in
# can type `bash`. A "!" (locked) password field would make sshd refuse even
# key logins with UsePAM no, so make it "*" (no password).
ROOT_SHELL=/usr/lib/klibc/bin/sh
[ -x "$STAGE$ROOT_SHELL" ] || die "$ROOT_SHELL missing: is klibc-utils in rootfs/packages.txt?"
grep -qx "$ROOT_SHELL" "$STAGE/etc/shells" 2>/dev/null || echo "$ROOT_SHELL" >> "$STAGE/etc/shells"
sed -i "s|^root:\([^:]*:[^:]*:[^:]*:[^:]*:[^:]*\):[^:]*\$|root:\1:$ROOT_SHELL|" "$STAGE/etc/passwd"
sed -i 's|^root:![^:]*:|root:*:|' "$STAGE/etc/shadow"
grep -q "^root:[^:]*:0:0:[^:]*:/root:$ROOT_SHELL\$" "$STAGE/etc/passwd" || die "could not set root's shell"

# ---- YakirOS Step-11 test components and services ---------------------------------
# components/*.toml -> /etc/graph.d (the boot set, 0644); runtime-components/*.toml
# -> /usr/share/yakiros-tests/runtime-components (tests copy them into
# /etc/graph.d at run time); services/* -> /usr/lib/yakiros-tests/bin (0755).
# All owned by root. /run/yakiros-tests is made by the services at run time,
# never baked into the image.
TESTS_BIN=/usr/lib/yakiros-tests/bin
TESTS_RUNTIME=/usr/share/yakiros-tests/runtime-components
for d in /etc/graph.d /usr/lib/yakiros-tests $TESTS_BIN /usr/share/yakiros-tests $TESTS_RUNTIME; do
    [ -d "$STAGE$d" ] || { mkdir -p "$STAGE$d"; chown 0:0 "$STAGE$d"; chmod 0755 "$STAGE$d"; }
done
install_files() { # MODE DESTDIR FILE... (regular files only)
    mode=$1 dest=$2; shift 2
    for f in "$@"; do
        [ -f "$f" ] || continue
        rm -rf "$STAGE$dest/${f##*/}"
        cp "$f" "$STAGE$dest/"; chown 0:0 "$STAGE$dest/${f##*/}"; chmod "$mode" "$STAGE$dest/${f##*/}"
    done
}
install_files 0644 /etc/graph.d "$HERE"/components/*.toml
install_files 0644 "$TESTS_RUNTIME" "$HERE"/runtime-components/*.toml
install_files 0755 "$TESTS_BIN" "$HERE"/services/*
rm -rf "$STAGE/run/yakiros-tests"
log "test components: $(ls "$STAGE/etc/graph.d" | grep -c '\.toml$') in /etc/graph.d," \
    "$(ls "$STAGE$TESTS_RUNTIME" | wc -l) in $TESTS_RUNTIME, $(ls "$STAGE$TESTS_BIN" | wc -l) in $TESTS_BIN"

# ---- SSH keys ------------------------------------------------------------------------
log "generating SSH keys"
rm -f "$STAGE"/etc/ssh/ssh_host_*
ssh-keygen -q -t ed25519 -N '' -C root@yakiros-vm -f "$STAGE/etc/ssh/ssh_host_ed25519_key"
chown 0:0 "$STAGE"/etc/ssh/ssh_host_ed25519_key*
chmod 0600 "$STAGE/etc/ssh/ssh_host_ed25519_key"
cp "$STAGE/etc/ssh/ssh_host_ed25519_key.pub" "$TMP/"
ssh-keygen -q -t ed25519 -N '' -C yakiros-harness -f "$TMP/id_ed25519"
mkdir -p "$STAGE/root/.ssh"
cp "$TMP/id_ed25519.pub" "$STAGE/root/.ssh/authorized_keys"
chown -R 0:0 "$STAGE/root/.ssh"
chmod 0700 "$STAGE/root/.ssh"
chmod 0600 "$STAGE/root/.ssh/authorized_keys"

# ---- initramfs ------------------------------------------------------------------------
# virtio_mmio is there for -M microvm; it costs nothing on -M pc.
MODULES="virtio_pci virtio_mmio virtio_blk virtio_net"
log "initramfs: busybox + $MODULES (+ dependencies)"
IRD=$TMP/initramfs
mkdir -p "$IRD/bin" "$IRD/lib/modules" "$IRD/dev" "$IRD/proc" "$IRD/sys" "$IRD/newroot"
cp "$STAGE/usr/bin/busybox" "$IRD/bin/busybox"
ln -s busybox "$IRD/bin/sh"
cp "$HERE/initramfs/init" "$IRD/init"
chmod 0755 "$IRD/init" "$IRD/bin/busybox"
# "insmod /path/x.ko" lines in load order; shared dependencies appear once
# per requested module, so keep only the first occurrence.
# shellcheck disable=SC2086
modprobe -d "$STAGE" -S "$KVER" --show-depends -a $MODULES |
    awk '$1 == "insmod" && !seen[$2]++ { print $2 }' > "$TMP/modpaths"
: > "$IRD/lib/modules/load-order"
while IFS= read -r m; do
    case $m in "$STAGE"/*) ;; *) m=$STAGE$m ;; esac
    name=$(basename "$m" .ko)
    cp "$m" "$IRD/lib/modules/$name.ko"
    echo "$name" >> "$IRD/lib/modules/load-order"
done < "$TMP/modpaths"
[ -s "$IRD/lib/modules/load-order" ] || die "modprobe found none of: $MODULES"
(cd "$IRD" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) > "$TMP/initramfs.cpio"
log "initramfs.cpio: $(($(wc -c < "$TMP/initramfs.cpio") / 1024)) KiB; load order:" \
    "$(tr '\n' ' ' < "$IRD/lib/modules/load-order")"
rm -rf "$IRD" "$TMP/modpaths"

# ---- root filesystem --------------------------------------------------------------------
log "mkfs.ext4 -d (2 GiB virtual)"
truncate -s 2G "$TMP/root.raw"
mkfs.ext4 -q -F -L yakiros-root -m 0 -d "$STAGE" \
    -E lazy_itable_init=0,lazy_journal_init=0 "$TMP/root.raw"
rm -rf "$STAGE"
log "qemu-img convert -O qcow2"
qemu-img convert -O qcow2 "$TMP/root.raw" "$TMP/root.qcow2"
rm -f "$TMP/root.raw"

mv "$TMP" "$OUT"
trap - EXIT
log "done in $(( $(date +%s) - start )) s: $OUT"
