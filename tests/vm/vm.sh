#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Boot one of Debian's kernels under QEMU (TCG) and run part of pagescan's
# end-to-end suite inside it; see tests/vm/README.md.
#
# Usage: vm.sh KERNEL BUILD_DIR BATS_FILE...
#   KERNEL     6.12-amd64 | 6.1-amd64 | 6.12-arm64 | 6.12-arm64-16k
#   BUILD_DIR  a build tree of pagescan for the kernel's architecture
#   BATS_FILE  bats files to run in the guest, each optionally followed by
#              :REGEX to run only the tests whose names match
#
# Prints the guest's TAP output and one summary line per bats file, and exits
# 0 when every file passed, 1 when one failed or the guest did not report,
# and 77 (CTest's "skipped") when QEMU or the kernel is missing, saying how to
# get them. PAGESCAN_VM_CACHE (default /var/cache/pagescan-vm) holds the
# kernels that tests/vm/fetch.sh downloads.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
# shellcheck source=tests/vm/lib.bash
. "$here/lib.bash"

(($# >= 3)) || { echo "usage: vm.sh KERNEL BUILD_DIR BATS_FILE..." >&2; exit 64; }
kernel=$1 build=$2
shift 2

vm_kernel_arch "$kernel" >/dev/null || { echo "vm.sh: unknown kernel $kernel" >&2; exit 64; }
arch=$(vm_kernel_arch "$kernel")
qemu=$(vm_qemu "$arch")
if ! command -v "$qemu" >/dev/null; then
    echo "vm: $qemu is not installed; install QEMU and the kernels with tests/vm/fetch.sh (as root)"
    exit 77
fi
kdir=$(vm_kernel_dir "$kernel")
if [[ ! -e $kdir/vmlinuz ]]; then
    echo "vm: kernel $kernel is not in $VM_CACHE; fetch it with tests/vm/fetch.sh (as root)"
    exit 77
fi
if [[ $build == arm64:* ]]; then
    # Cross-build pagescan, its test twin and the test programs for the
    # guest (not the unit tests and benchmarks).
    build=${build#arm64:}
    if ! command -v aarch64-linux-gnu-gcc >/dev/null; then
        echo "vm: no aarch64 cross compiler; install it and the kernels with tests/vm/fetch.sh (as root)"
        exit 77
    fi
    cmake -S "$src" -B "$build" --toolchain "$src/cmake/aarch64-linux-gnu.cmake" >"$build.log" 2>&1 &&
        cmake --build "$build" -j2 --target vm_programs >>"$build.log" 2>&1 ||
        { echo "vm: the arm64 cross-build failed:"; tail -n 20 "$build.log"; exit 1; }
fi
build=$(cd "$build" && pwd)
root=/
if [[ $arch == arm64 ]]; then
    root=$VM_CACHE/rootfs-arm64
    if [[ ! -x $root/usr/bin/bash ]]; then
        echo "vm: no arm64 root filesystem in $root; build it with tests/vm/fetch.sh (as root)"
        exit 77
    fi
    mkdir -p "$root$src" "$root$build"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/pagescan-vm.XXXXXX")
trap '[[ -n ${PAGESCAN_VM_KEEP:-} ]] || rm -rf "$work"' EXIT

# The guest's command: each bats file through the suite's own runner, with
# the environment CTest gives it on the host. Guest paths equal host paths
# (the host's root, or the arm64 root with the source and build trees bound
# in at the same places).
{
    echo "export BATS=/usr/bin/bats SRC_DIR=$src BUILD_DIR=$build"
    echo "export PAGESCAN=$build/src/pagescan TARGETS=$build/tests/targets"
    echo "export PAGESCAN_VM=$kernel TMPDIR=/tmp HOME=/root LANG=C.UTF-8 TERM=xterm"
    echo "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    echo 'rc=0'
    for spec in "$@"; do
        file=${spec%%:*} filter=
        [[ $spec == *:* ]] && filter=${spec#*:}
        [[ $file == /* ]] || file=$src/$file
        printf 'echo "=== vm: %s"\n' "${file#"$src"/}"
        # The fault matrix runs the test twin with the injection hook, as
        # on the host (tests/CMakeLists.txt).
        bin=$build/src/pagescan
        [[ $file == */fault_blocked.bats && -x $build/test-hooks/pagescan ]] && bin=$build/test-hooks/pagescan
        printf 'PAGESCAN=%q PAGESCAN_BATS_FILTER=%q bash %q %q; r=$?\n' "$bin" "$filter" "$src/tests/e2e/run_bats.sh" "$file"
        printf 'echo "=== vm: %s: status $r"\n' "${file#"$src"/}"
        echo '[ $r = 0 ] || [ $r = 77 ] || rc=1'
    done
    echo 'exit $rc'
} >"$work/cmd.sh"

vm_initramfs "$kernel" "$arch" "$kdir" "$work" "$src" "$build"
log=$work/console.log
set +e
vm_boot "$arch" "$kdir/vmlinuz" "$work/initrd.gz" "$root" "$src" "$build" | tee "$log" |
    sed -n '/=== vm: begin/,/=== vm: end/p' | sed 's/^.*=== vm: begin/=== vm: begin/'
set -e
rc=$(sed -n 's/^.*=== vm: end status \([0-9]*\).*/\1/p' "$log" | tail -1)
if [[ -z $rc ]]; then
    echo "vm: the guest did not report a result; the last lines of its console:"
    tail -n 30 "$log" | sed 's/^/  | /'
    exit 1
fi
grep -E '^# .*: [0-9]+ of [0-9]+ tests ran' "$log" | sed "s/^# /# $kernel: /" || true
exit "$rc"
