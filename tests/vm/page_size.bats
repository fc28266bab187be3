# SPDX-License-Identifier: MIT
# Run inside a VM whose kernel does not use 4 KiB pages (tests/vm/vm.sh
# 6.12-arm64-16k): pagescan refuses every command that reads a process, with
# one line naming the page size, and leaves the target alone. When run-time
# page sizes land (docs/porting.md#page-size), this file gives way to the
# exactness tests.

load ../e2e/common

# The kernel's page size (no getconf in the arm64 guest's root).
page_size() {
    awk '/^KernelPageSize:/ { print $2 * 1024; exit }' /proc/self/smaps
}

setup() {
    [[ $(page_size) != 4096 ]] ||
        skip "needs a kernel with pages other than 4 KiB; run it through tests/vm/vm.sh 6.12-arm64-16k"
}

@test "16 KiB pages: dump, engage, watch and run refuse, naming the page size; the target runs on" {
    local kib=$(($(page_size) / 1024)) cmd
    sleep 60 &
    local pid=$!
    for cmd in "dump -m present $pid" "engage $pid" "watch -n 1 $pid" "run -n 1 -- /bin/true"; do
        # shellcheck disable=SC2086
        run "$PAGESCAN" $cmd
        echo "$cmd: $status: $output"
        [[ $status == 1 ]]
        [[ $output == "pagescan: this kernel uses $kib KiB pages; pagescan supports 4 KiB pages only so far" ]]
    done
    kill -0 "$pid"
    ! ls -l "/proc/$pid/fd" | grep -q userfaultfd
    kill "$pid"
}
