# SPDX-License-Identifier: MIT
# Run inside a VM with a kernel older than 6.7 (tests/vm/vm.sh 6.1-amd64):
# every command that needs PAGEMAP_SCAN or asynchronous write-protect
# refuses with exit 1 and a message that names Linux 6.7, and the target is
# left alone.

load ../e2e/common

setup() {
    [[ $(uname -r) == 6.[0-6].* || $(uname -r) == [1-5].* ]] ||
        skip "needs a kernel older than 6.7 (this is $(uname -r)); run it through tests/vm/vm.sh 6.1-amd64"
}

# refuses CMD...: exit 1 and a one-line message naming Linux 6.7.
refuses() {
    run "$PAGESCAN" "$@"
    echo "$output"
    [[ $status == 1 ]]
    [[ $output == *"6.7"* ]]
    [[ $(wc -l <<<"$output") == 1 ]]
}

@test "old kernel: dump, engage, watch and run refuse, naming Linux 6.7; the target runs on" {
    sleep 60 &
    local pid=$!
    refuses dump -m present "$pid"
    refuses dump -m written "$pid"
    refuses engage "$pid"
    refuses watch -n 1 "$pid"
    refuses run -n 1 -- /bin/true
    kill -0 "$pid"
    [[ $(awk '{print $3}' "/proc/$pid/stat") == S ]]
    # No userfaultfd was left in the target.
    ! ls -l "/proc/$pid/fd" | grep -q userfaultfd
    kill "$pid"
}
