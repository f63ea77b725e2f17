#!/usr/bin/env bash
# Builds what the microVM tier (`isolation: microvm`, docs/runtimes.md "microVM tier") boots:
#   DIR/jail/           the VMM's root inside the container: QEMU, socat and busybox with their
#                       libraries, nothing else of the host. Read-only, shared by every VM.
#   DIR/jail/vm/vmlinuz Debian's kernel (linux-image-amd64: its 9p and virtio drivers are modules)
#   DIR/jail/vm/initrd  busybox, socat, those modules, the guest init and its exec server (images/microvm/)
# Usage: scripts/microvm/build.sh DIR   (idempotent: rebuilds when an input changed)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DIR=${1:?usage: build.sh DIR}
QEMU=$(command -v qemu-system-x86_64 || true)
SOCAT=$(command -v socat || true)
BUSYBOX=/bin/busybox
[[ -x $QEMU && -x $SOCAT && -x $BUSYBOX ]] || { echo "microvm: needs qemu-system-x86, socat and busybox-static (apt-get install -y qemu-system-x86 socat busybox-static)" >&2; exit 1; }
# The newest Debian kernel that has the 9p modules (the cloud flavour has none).
KVER=$(for m in /lib/modules/*/kernel/fs/9p/9p.ko*; do [[ -e $m ]] && basename "$(dirname "$(dirname "$(dirname "$(dirname "$m")")")")"; done | sort -V | tail -1)
[[ -n $KVER && -f /boot/vmlinuz-$KVER ]] || { echo "microvm: no Debian kernel with 9p modules in /lib/modules (apt-get install -y linux-image-amd64)" >&2; exit 1; }

# Rebuilt only when an input changed: the kernel, the tools, the guest init and this script.
STAMP=$(cat "$HERE/build.sh" "$ROOT"/images/microvm/* | sha256sum | cut -c1-16)-$KVER-$(stat -c %Y "$QEMU" "$SOCAT" | tr "\n" -)
if [[ -f $DIR/jail/vm/stamp && $(cat "$DIR/jail/vm/stamp") == "$STAMP" ]]; then exit 0; fi

mkdir -p "$(dirname "$DIR")"
TMP=$(mktemp -d "${DIR%/}.build.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
JAIL=$TMP/jail
INITRD=$TMP/initrd

# a binary and the shared libraries it loads, at the same paths
copy_bin() { # ROOTDIR FILE
  local r=$1 f=$2 lib
  install -D -m 0755 "$f" "$r$f"
  for lib in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*' | sort -u); do
    [[ -e $r$lib ]] || install -D -m 0755 "$(readlink -f "$lib")" "$r$lib"
  done
}

# --- the jail: mount points for what runc mounts, the VMM and its firmware
mkdir -p "$JAIL"/{proc,dev,sys,tmp,guest,bin,etc,vm/ctl,vm/out,vm/run,vm/sock}
copy_bin "$JAIL" "$QEMU"
# QEMU loads its emulator (TCG) as a module
for f in /usr/lib/x86_64-linux-gnu/qemu/accel-*.so; do [[ -e $f ]] && copy_bin "$JAIL" "$f"; done
copy_bin "$JAIL" "$SOCAT"
install -m 0755 "$BUSYBOX" "$JAIL/bin/busybox"
ln -s busybox "$JAIL/bin/sh"
mkdir -p "$JAIL/usr/share/qemu"
for f in bios-microvm.bin qboot.rom linuxboot_dma.bin; do cp /usr/share/qemu/$f "$JAIL/usr/share/qemu/" 2>/dev/null || true; done
echo 'root:x:0:0::/:/bin/sh' > "$JAIL/etc/passwd"
install -m 0755 "$ROOT/images/microvm/launch" "$JAIL/vm/launch"
install -m 0755 "$ROOT/images/microvm/exec" "$JAIL/vm/exec"
cp "/boot/vmlinuz-$KVER" "$JAIL/vm/vmlinuz"

# --- the initramfs: busybox, socat, the modules for virtio-mmio, its console, 9p and net
mkdir -p "$INITRD"/{bin,dev,proc,sys,newroot,ctl,out,tmp,lib/modules}
install -m 0755 "$BUSYBOX" "$INITRD/bin/busybox"
ln -s busybox "$INITRD/bin/sh"
copy_bin "$INITRD" "$SOCAT"
install -m 0755 "$ROOT/images/microvm/init" "$INITRD/init"
install -m 0755 "$ROOT/images/microvm/exec-handler" "$INITRD/exec-handler"
MODDIR=/lib/modules/$KVER
: > "$INITRD/lib/modules/order"
# each wanted module after what it depends on (modules.dep lists dependencies, nearest first)
add_mod() {
  local path dep
  path=$(grep -E "(^|/)$1\.ko(\.[a-z]+)?:" "$MODDIR/modules.dep" | head -1 | cut -d: -f1) || true
  [[ -n $path ]] || return 0 # built in
  for dep in $(grep -E "^$path:" "$MODDIR/modules.dep" | cut -d: -f2); do add_mod "$(basename "$dep" | sed -E 's/\.ko(\.[a-z]+)?$//')"; done
  local name; name=$(basename "$path" | sed -E 's/\.ko(\.[a-z]+)?$//')
  grep -qx "$name.ko" "$INITRD/lib/modules/order" && return 0
  case $path in
    *.ko.xz) xz -dc "$MODDIR/$path" > "$INITRD/lib/modules/$name.ko" ;;
    *.ko.zst) zstd -qdc "$MODDIR/$path" > "$INITRD/lib/modules/$name.ko" ;;
    *) cp "$MODDIR/$path" "$INITRD/lib/modules/$name.ko" ;;
  esac
  echo "$name.ko" >> "$INITRD/lib/modules/order"
}
for m in virtio virtio_ring virtio_mmio virtio_console 9pnet 9pnet_virtio 9p virtio_net; do add_mod "$m"; done
mknod -m 0600 "$INITRD/dev/console" c 5 1
(cd "$INITRD" && find . | cpio -o -H newc --quiet | gzip -1) > "$JAIL/vm/initrd"

# KVM when the host's /dev/kvm boots this kernel, else QEMU's emulation (TCG): these machines'
# /dev/kvm is PVM (kvm_pvm), which runs only PVM-enabled guest kernels, and Debian's hangs under it
ACCEL=tcg
if [[ -r /dev/kvm ]] && timeout 20 "$QEMU" -M microvm,x-option-roms=off,isa-serial=on,pit=on,pic=on,rtc=on -accel kvm -cpu host \
    -m 128M -nodefaults -no-user-config -display none -no-reboot -kernel "$JAIL/vm/vmlinuz" -initrd "$JAIL/vm/initrd" \
    -append 'console=ttyS0 quiet panic=-1 reboot=t clawpod.probe=1' -serial stdio 2>/dev/null | grep -q CLAWPOD-VM-OK; then
  ACCEL=kvm
fi
echo $ACCEL > "$JAIL/vm/accel"
echo "$STAMP" > "$JAIL/vm/stamp"
chmod -R a+rX "$JAIL"
# runc gives a tmpfs the mode of the folder it covers: the VMM (the agent's uid) writes these two
chmod 1777 "$JAIL/vm/run" "$JAIL/vm/out"
rm -rf "$DIR/jail.old"
[[ -d $DIR/jail ]] && mv "$DIR/jail" "$DIR/jail.old"
mkdir -p "$DIR"
mv "$JAIL" "$DIR/jail"
# a running VM keeps its jail open: the old one goes once nothing uses it (next build)
rm -rf "$DIR/jail.old" 2>/dev/null || true
echo "microvm: kernel $KVER ($ACCEL), jail $(du -sh "$DIR/jail" | cut -f1), initrd $(du -h "$DIR/jail/vm/initrd" | cut -f1) in $DIR" >&2
