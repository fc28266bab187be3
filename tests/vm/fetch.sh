#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Get what tests/vm/vm.sh needs, as root on Debian 12: QEMU, busybox, the
# arm64 cross compiler and libraries, Debian 12's newest 6.12 (amd64, arm64,
# arm64 16K pages) and 6.1 kernels, and a small arm64 root filesystem made of
# Debian's arm64 packages. Everything goes to PAGESCAN_VM_CACHE (default
# /var/cache/pagescan-vm); a second run only fills in what is missing.
#
# Usage: fetch.sh [KERNEL...]   (default: all four)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/lib.bash
. "$here/lib.bash"

kernels=("$@")
((${#kernels[@]})) || kernels=(6.12-amd64 6.1-amd64 6.12-arm64 6.12-arm64-16k)

export DEBIAN_FRONTEND=noninteractive
need_arm64=0
for k in "${kernels[@]}"; do
    [[ $(vm_kernel_arch "$k") == arm64 ]] && need_arm64=1
done
if ((need_arm64)) && ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
    apt-get update -qq
fi
pkgs=(qemu-system-x86 busybox-static cpio xz-utils binutils)
((need_arm64)) && pkgs+=(qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross
    libbsd-dev:arm64 libncurses-dev:arm64)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi

mkdir -p "$VM_CACHE"
cd "$VM_CACHE"

# Newest package matching a pattern (versions move: never a fixed one).
newest() { apt-cache search --names-only "$1" | awk '{print $1}' | sort -V | tail -1; }

fetch_kernel() {
    local k=$1 arch pkg dir tmp m f
    arch=$(vm_kernel_arch "$k")
    dir=$(vm_kernel_dir "$k")
    [[ -e $dir/vmlinuz ]] && return 0
    pkg=$(newest "$(vm_kernel_pattern "$k")")
    [[ -n $pkg ]] || { echo "fetch.sh: no package for kernel $k in the apt sources" >&2; return 1; }
    tmp=$(mktemp -d "$VM_CACHE/.tmp.XXXXXX")
    (cd "$tmp" && apt-get download -qq "$pkg:$arch" 2>/dev/null)
    dpkg-deb -x "$tmp"/*.deb "$tmp/x"
    mkdir -p "$tmp/k/modules"
    cp "$tmp"/x/boot/vmlinuz-* "$tmp/k/vmlinuz"
    cp "$tmp"/x/boot/config-* "$tmp/k/config"
    # The modules that mount the host's files (virtio-pci, 9p), with what
    # they depend on, in load order (the package has no modules.dep: read
    # each module's own depends= field).
    declare -A path=() done=()
    while IFS= read -r f; do
        m=${f##*/} m=${m%%.ko*}
        path[$m]=$f
    done < <(find "$tmp/x/lib/modules" -name '*.ko*')
    load() {
        local m=$1 d deps
        [[ -n ${done[$m]:-} ]] && return 0
        done[$m]=1
        [[ -n ${path[$m]:-} ]] || return 0 # built in
        deps=$(unpack "${path[$m]}" | strings | sed -n 's/^depends=//p' | tr ',' ' ')
        for d in $deps; do load "$d"; done
        unpack "${path[$m]}" >"$tmp/k/modules/$m.ko"
        echo "$m" >>"$tmp/k/modules/order"
    }
    unpack() { case $1 in *.xz) xz -dc "$1" ;; *) cat "$1" ;; esac; }
    for m in "${VM_MODULES[@]}"; do
        load "$m"
    done
    [[ -s $tmp/k/modules/order ]] || { echo "fetch.sh: $pkg has no 9p modules" >&2; return 1; }
    echo "$pkg" >"$tmp/k/package"
    rm -rf "$dir"
    mv "$tmp/k" "$dir"
    rm -rf "$tmp"
    echo "fetch.sh: $k = $pkg"
}

# The arm64 guest's root: bash, coreutils, bats and the tools the e2e tests
# call, unpacked from Debian's arm64 packages (no maintainer scripts run, so
# the few links they would make are made here).
ARM64_PKGS=(bash coreutils jq grep sed mawk findutils procps diffutils util-linux strace
    python3-minimal libpython3.11-stdlib libbsd0 libncursesw6 base-files tar gzip)
ALL_PKGS=(bats bats-assert bats-support bats-file)
fetch_rootfs() {
    local root=$VM_CACHE/rootfs-arm64 tmp list p a
    [[ -x $root/usr/bin/bash ]] && return 0
    tmp=$(mktemp -d "$VM_CACHE/.tmp.XXXXXX")
    list=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
        --no-replaces --no-enhances "${ARM64_PKGS[@]/%/:arm64}" "${ALL_PKGS[@]}" 2>/dev/null |
        grep -v '^[ <]' | sed 's/:arm64$//' | sort -u)
    # arm64 and architecture-independent packages only (one apt-cache call:
    # Package and Architecture of every candidate).
    local names=() archs
    declare -A arch_of=()
    archs=$(apt-cache show --no-all-versions $(sed 's/$/:arm64/' <<<"$list") 2>/dev/null |
        awk '/^Package: /{p=$2} /^Architecture: /{print p, $2}' || true)
    archs+=$'\n'$(apt-cache show --no-all-versions $list 2>/dev/null |
        awk '/^Package: /{p=$2} /^Architecture: all/{print p, "all"}' || true)
    while read -r p a; do
        [[ -n $p && -z ${arch_of[$p]:-} ]] && arch_of[$p]=$a
    done <<<"$archs"
    for p in $list; do
        case ${arch_of[$p]:-} in
        arm64) names+=("$p:arm64") ;;
        all) names+=("$p") ;;
        esac
    done
    # All at once; one at a time if that fails (apt-get download gives up
    # on the whole list for one package it cannot get).
    if ! (cd "$tmp" && apt-get download -qq "${names[@]}" 2>/dev/null); then
        for p in "${names[@]}"; do
            (cd "$tmp" && apt-get download -qq "$p" 2>/dev/null) || echo "fetch.sh: skipped $p"
        done
    fi
    mkdir -p "$tmp/root"
    for d in "$tmp"/*.deb; do dpkg-deb -x "$d" "$tmp/root"; done
    # Merged /usr, as on a Debian 12 system.
    for d in bin sbin lib; do
        if [[ -d $tmp/root/$d && ! -L $tmp/root/$d ]]; then
            mkdir -p "$tmp/root/usr/$d"
            cp -a "$tmp/root/$d/." "$tmp/root/usr/$d/"
            rm -rf "${tmp:?}/root/$d"
        fi
        ln -sfn "usr/$d" "$tmp/root/$d"
    done
    ln -sf mawk "$tmp/root/usr/bin/awk"
    mkdir -p "$tmp/root/tmp" "$tmp/root/proc" "$tmp/root/sys" "$tmp/root/dev" "$tmp/root/run" \
        "$tmp/root/root" "$tmp/root/var/tmp"
    cp /etc/passwd /etc/group "$tmp/root/etc/"
    for p in bash bats grep sed awk jq strace python3 ps timeout mkfifo od; do
        [[ -e $tmp/root/usr/bin/$p ]] || { echo "fetch.sh: the arm64 root has no $p" >&2; return 1; }
    done
    rm -rf "$root"
    mv "$tmp/root" "$root"
    (cd "$tmp" && apt-get download -qq busybox-static:arm64 2>/dev/null &&
        dpkg-deb -x busybox-static_*.deb bb && cp bb/bin/busybox "$VM_CACHE/busybox-arm64")
    rm -rf "$tmp"
    echo "fetch.sh: arm64 root filesystem in $root"
}

for k in "${kernels[@]}"; do
    fetch_kernel "$k"
done
((need_arm64)) && fetch_rootfs
exit 0
