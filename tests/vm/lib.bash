# SPDX-License-Identifier: MIT
# Shared by tests/vm/fetch.sh and tests/vm/vm.sh: where the kernels live,
# how the initramfs is built and how QEMU is started.

VM_CACHE=${PAGESCAN_VM_CACHE:-/var/cache/pagescan-vm}
# Modules the guest needs to mount the host's files over virtio-9p (fetch.sh
# adds what they depend on and writes the load order to modules/order).
VM_MODULES=(virtio_pci 9pnet_virtio 9p)

# KERNEL -> Debian architecture (amd64, arm64), or fail.
vm_kernel_arch() {
    case $1 in
    6.12-amd64 | 6.1-amd64) echo amd64 ;;
    6.12-arm64 | 6.12-arm64-16k) echo arm64 ;;
    *) return 1 ;;
    esac
}

# KERNEL -> the apt package name pattern of Debian 12's newest such kernel.
vm_kernel_pattern() {
    case $1 in
    6.12-amd64) echo '^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' ;;
    6.12-arm64) echo '^linux-image-6\.12\.[0-9]+\+deb12-arm64-unsigned$' ;;
    6.12-arm64-16k) echo '^linux-image-6\.12\.[0-9]+\+deb12-arm64-16k-unsigned$' ;;
    6.1-amd64) echo '^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$' ;;
    esac
}

vm_kernel_dir() { echo "$VM_CACHE/$1"; }

vm_qemu() {
    case $1 in
    amd64) echo qemu-system-x86_64 ;;
    arm64) echo qemu-system-aarch64 ;;
    esac
}

# vm_initramfs KERNEL ARCH KDIR WORK SRC BUILD: WORK/initrd.gz with a static
# busybox, the 9p modules and an /init that mounts the root share (the
# host's / for amd64, the arm64 root filesystem otherwise) plus SRC and
# BUILD, runs WORK/cmd.sh in it as root and powers off.
vm_initramfs() {
    local kernel=$1 arch=$2 kdir=$3 work=$4 src=$5 build=$6 ir=$4/ir m
    mkdir -p "$ir/bin" "$ir/modules" "$ir/proc" "$ir/sys" "$ir/dev" "$ir/root"
    if [[ $arch == amd64 ]]; then
        cp /bin/busybox "$ir/bin/busybox"
    else
        cp "$VM_CACHE/busybox-arm64" "$ir/bin/busybox"
    fi
    cp "$kdir"/modules/* "$ir/modules/"
    cp "$work/cmd.sh" "$ir/cmd.sh"
    cat >"$ir/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in \$(cat /modules/order); do insmod /modules/\$m.ko || echo "=== vm: insmod \$m failed"; done
r=/root
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 root \$r || echo "=== vm: no root share"
mount -t proc proc \$r/proc
mount -t sysfs sys \$r/sys
mount -t devtmpfs dev \$r/dev
mkdir -p \$r/dev/pts \$r/dev/shm
ln -sfn /proc/self/fd \$r/dev/fd
ln -sfn /proc/self/fd/0 \$r/dev/stdin
ln -sfn /proc/self/fd/1 \$r/dev/stdout
ln -sfn /proc/self/fd/2 \$r/dev/stderr
mount -t devpts devpts \$r/dev/pts
mount -t tmpfs tmpfs \$r/dev/shm
mount -t tmpfs tmpfs \$r/tmp
mount -t tmpfs tmpfs \$r/run
mount -t tmpfs tmpfs \$r/root
[ -d \$r/var/tmp ] && mount -t tmpfs tmpfs \$r/var/tmp
# The trees last, over the tmpfs mounts (a checkout under /tmp stays visible).
mkdir -p \$r$src \$r$build 2>/dev/null
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 src \$r$src
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 build \$r$build
hostname pagescan-vm
echo "=== vm: begin $kernel \$(uname -r) \$(uname -m) \$(grep -m1 KernelPageSize /proc/1/smaps)"
chroot \$r /usr/bin/bash /proc/1/root/cmd.sh
echo "=== vm: end status \$?"
poweroff -f
EOF
    chmod +x "$ir/init"
    (cd "$ir" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz"
}

# vm_boot ARCH KERNEL INITRD ROOT SRC BUILD: run the guest, console on stdout.
vm_boot() {
    local arch=$1 kernel=$2 initrd=$3 root=$4 src=$5 build=$6 qemu machine console
    qemu=$(vm_qemu "$arch")
    if [[ $arch == amd64 ]]; then
        machine=(-M q35 -cpu max) console=ttyS0
    else
        machine=(-M virt -cpu max) console=ttyAMA0
    fi
    local share=(
        -fsdev "local,id=root,path=$root,security_model=none,readonly=on,multidevs=remap"
        -device virtio-9p-pci,fsdev=root,mount_tag=root
        -fsdev "local,id=src,path=$src,security_model=none,readonly=on,multidevs=remap"
        -device virtio-9p-pci,fsdev=src,mount_tag=src
        -fsdev "local,id=build,path=$build,security_model=none,readonly=on,multidevs=remap"
        -device virtio-9p-pci,fsdev=build,mount_tag=build
    )
    timeout "${PAGESCAN_VM_TIMEOUT:-1500}" "$qemu" -accel tcg "${machine[@]}" -m 2048 -smp 2 \
        -nographic -no-reboot -kernel "$kernel" -initrd "$initrd" "${share[@]}" \
        -append "console=$console quiet panic=-1 transparent_hugepage=madvise" </dev/null 2>&1 |
        sed -u 's/\r$//'
}
