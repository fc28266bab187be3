#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Soak: 1,000 engage/release cycles and 200 watch start/stop
# cycles on one target leave it exactly as it was (fds, signal masks,
# state, memory, no userfaultfd, no write protection); pagescan's own
# memory stays flat over a long watch. Target: shape_target.
#
# SOAK_ENGAGE_CYCLES / SOAK_WATCH_CYCLES / SOAK_WATCH_INTERVALS override the
# counts (for a quick local run); CI uses the defaults.

load common
load shape

setup_file() {
    kernel_supports
}

teardown() {
    shape_teardown
}

# cycles N CMD...: run "CMD" N times in a plain subshell (no bats per-line
# tracing); stops at the first failure with its output in $BATS_TEST_TMPDIR/cycle.err.
cycles() {
    local n=$1
    shift
    PS_CYCLE_N=$n bash -c '
        n=$PS_CYCLE_N
        for ((i = 1; i <= n; i++)); do
            if ! out=$("$@" 2>&1); then
                printf "cycle %d: %s\n" "$i" "$out"
                exit 1
            fi
        done' cycles "$@" >"$BATS_TEST_TMPDIR/cycle.err" 2>&1
}

engage_release() {
    "$PAGESCAN" engage "$SPID" >/dev/null && "$PAGESCAN" release "$SPID" >/dev/null
}

# state_ok BEFORE: as before, nothing of pagescan left, memory intact.
state_ok() {
    no_uffd_left "$SPID"
    assert_equal "$(tracer_of "$SPID")" 0
    assert_snapshot "$SPID" "$1"
    ps_ok "$BATS_TEST_TMPDIR/wp.json" dump "$SPID" -m wpallowed -f json
    assert_equal "$(json_summary "$BATS_TEST_TMPDIR/wp.json" pages)" 0
    scmd "check a"
    scmd "check b"
}

@test "1000 engage/release cycles: target exactly as before, tracking exact at the end" {
    local n=${SOAK_ENGAGE_CYCLES:-1000}
    shape_start -t 2
    smap a 256
    smap b 64
    scmd "write a every:2"
    scmd "twrite b all"
    local before t0 el
    before=$(snapshot "$SPID")
    t0=$EPOCHREALTIME
    export -f engage_release
    export SPID PAGESCAN
    cycles "$n" engage_release || fail "$(cat "$BATS_TEST_TMPDIR/cycle.err")"
    el=$(elapsed_since "$t0")
    echo "# $n engage/release cycles: $el s" >&3
    state_ok "$before"
    # and the next engage is still exact
    ps_ok "$BATS_TEST_TMPDIR/engage.out" engage "$SPID"
    scmd mark
    scmd "write a 1,2,3,200-210"
    scmd "twrite b every:5"
    exact_now a b
    ps_ok "$BATS_TEST_TMPDIR/release.out" release "$SPID"
    state_ok "$before"
    shape_stop
}

@test "200 watch start/stop cycles (watch -n 1 -i 10ms): target exactly as before" {
    local n=${SOAK_WATCH_CYCLES:-200}
    shape_start -t 2
    smap a 256
    smap b 64
    scmd "write a every:3"
    local before t0 el
    before=$(snapshot "$SPID")
    t0=$EPOCHREALTIME
    cycles "$n" "$PAGESCAN" watch "$SPID" -n 1 -i 10ms -q || fail "$(cat "$BATS_TEST_TMPDIR/cycle.err")"
    el=$(elapsed_since "$t0")
    echo "# $n watch cycles: $el s" >&3
    state_ok "$before"
    # the next watch is exact
    sw_start "$SPID" -f json -i 100ms
    scmd mark
    scmd "write a 7-9,100"
    scmd "twrite b 0-3"
    sw_stop
    assert_equal "$SWSTATUS" 0
    struth "$BATS_TEST_TMPDIR/truth"
    # shellcheck disable=SC2046
    sw_union $(swin a b) >"$BATS_TEST_TMPDIR/got"
    assert_ranges_equal "$BATS_TEST_TMPDIR/truth" "$BATS_TEST_TMPDIR/got"
    state_ok "$before"
    shape_stop
}

# rss_kb PID FIELD: VmRSS / VmHWM of PID in kB.
rss_kb() {
    awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

@test "pagescan's memory is flat over a long watch: VmRSS after 500 intervals within 256 KiB of after 20" {
    local n=${SOAK_WATCH_INTERVALS:-500}
    # -t 1: glibc installs its own signal handlers with the first thread;
    # have them before the snapshot, not with the churn thread
    shape_start -t 1
    smap a 256
    smap b 64
    local before
    before=$(snapshot "$SPID")
    # a writing thread, so every interval has regions to report
    scmd "churn a on"
    # ASan keeps freed memory in quarantine: keep it out of the measurement
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0:thread_local_quarantine_size_kb=0 \
        sw_start "$SPID" -f json -i 10ms -n $((n + 20))
    local rss20 hwm20 rss hwm seq=0
    while ((seq < n)); do
        sw_line || fail "watch stopped after interval $seq: $(cat "$SWDIR/stderr")"
        [[ $SW_LINE =~ ^\{\"type\":\"interval\",\"seq\":([0-9]+) ]] || continue
        seq=${BASH_REMATCH[1]}
        if ((seq == 20)); then
            rss20=$(rss_kb "$SWPID" VmRSS)
            hwm20=$(rss_kb "$SWPID" VmHWM)
        fi
    done
    rss=$(rss_kb "$SWPID" VmRSS)
    hwm=$(rss_kb "$SWPID" VmHWM)
    sw_drain
    assert_equal "$SWSTATUS" 0
    assert_equal "$(jq -r 'select(.type == "end") | .reason' "$SWLOG")" count
    echo "# pagescan VmRSS ${rss20} -> ${rss} kB, VmHWM ${hwm20} -> ${hwm} kB (interval 20 -> $n)" >&3
    ((rss - rss20 <= 256)) || fail "pagescan's VmRSS grew from $rss20 kB (interval 20) to $rss kB (interval $n)"
    ((hwm - hwm20 <= 256)) || fail "pagescan's VmHWM grew from $hwm20 kB (interval 20) to $hwm kB (interval $n)"
    scmd "churn a off"
    state_ok "$before"
    shape_stop
}
