#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# pagescan watch of a workload: several PIDs, --tree, --cgroup. The target
# is tests/targets/family: a parent that forks children on command, each
# writing the pages it is told into a private anonymous mapping (each
# process's own pages) and a memfd mapped MAP_SHARED (one page per file
# offset, whoever writes it). Per process and in total, pagescan must say
# exactly what the commands wrote, with the shared pages once in the total.
#
# Interval boundaries are deterministic as in watch.bats: each round is
# written while pagescan is stopped idle in poll() (w_pause/w_resume), so
# it lands in exactly the next interval. -r keeps tracking to the two test
# mappings, so every figure is exact (the rest of the processes, stack and
# stdio buffers, is not watched).

# shellcheck disable=SC2153,SC2154 # WDIR, WSEQ...: watch_helpers; status, stderr: bats
load common
load watch_helpers
load family

setup_file() {
    kernel_supports
}

teardown() {
    w_cleanup
    family_cleanup
    cgroup_cleanup
    common_teardown
}

# ---------------------------------------------------------------------------
# Reading the records

# iv_field SEQ JQPATH: a field of interval SEQ.
iv_field() {
    jq -r --argjson s "$1" "select(.type == \"interval\" and .seq == \$s) | $2" "$WLOG"
}

# proc_field SEQ PID FIELD: a field of process PID in interval SEQ (empty
# when it is not in the interval).
proc_field() {
    jq -r --argjson s "$1" --argjson p "$2" \
        "select(.type == \"interval\" and .seq == \$s) | .processes[] | select(.pid == \$p) | .$3" "$WLOG"
}

# proc_ranges SEQ PID: the written regions of process PID in interval SEQ
# as "0xS 0xE" lines.
proc_ranges() {
    jq -r --argjson s "$1" --argjson p "$2" \
        'select(.type == "interval" and .seq == $s) | .processes[] | select(.pid == $p) | .regions[] | "\(.start) \(.end)"' \
        "$WLOG" | ranges_merge
}

# pages_at BASE FIRST N: the range line of pages FIRST..FIRST+N-1 of BASE.
pages_at() {
    printf '0x%x 0x%x\n' $(($1 + $2 * PAGE_SIZE)) $(($1 + ($2 + $3) * PAGE_SIZE))
}

# w_until_line REGEX: read pagescan's output until a line matches.
w_until_line() {
    while [[ ! $W_LINE =~ $1 ]]; do
        w_line || {
            fail "pagescan: no line matching '$1' (last: $(tail -n 1 "$WLOG"); stderr: $(cat "$WDIR/stderr"))"
            return 1
        }
    done
}

# no_uffd_anywhere PID...: none of the processes holds a userfaultfd.
no_uffd_anywhere() {
    local p
    for p in "$@"; do
        no_uffd_left "$p" || return 1
    done
}

# ---------------------------------------------------------------------------

@test "watch PID PID PID: exact per process and in total, shared pages counted once" {
    family_start 64
    ffork
    ffork
    w_start watch "$FPID" "${KID[1]}" "${KID[2]}" -i 100ms -f json "${RANGES[@]}"
    assert_equal "$(jq -r 'select(.type == "start") | "\(.format_version) \(.workload) \(.processes)"' "$WLOG")" "2 pids 3"

    # Round 1: the same private pages in the parent and child 1 (two
    # processes' own pages), memfd pages 0-4 by child 1 and 3-7 by child 2
    # (8 distinct), page 7 again by the parent.
    w_pause
    fcmd "write 0 anon 0 4"
    fcmd "write 1 anon 0 3"
    fcmd "write 2 anon 10 2"
    fcmd "write 1 shared 0 5"
    fcmd "write 2 shared 3 5"
    fcmd "write 0 shared 7 1"
    w_resume
    local s=$((WPAUSED + 1))
    assert_equal "$(proc_field $s "$FPID" written_pages) $(proc_field $s "$FPID" shared_written_pages)" "5 1"
    assert_equal "$(proc_field $s "${KID[1]}" written_pages) $(proc_field $s "${KID[1]}" shared_written_pages)" "8 5"
    assert_equal "$(proc_field $s "${KID[2]}" written_pages) $(proc_field $s "${KID[2]}" shared_written_pages)" "7 5"
    # private 4 + 3 + 2, shared 8 once
    assert_equal "$(iv_field $s '"\(.written_pages) \(.shared_written_pages) \(.wss_pages) \(.shared_wss_pages)"')" "17 8 17 8"
    # Child 2's regions, page for page.
    { pages_at "$ANON" 10 2; pages_at "$SHARED" 3 5; } | ranges_merge >"$BATS_TEST_TMPDIR/want"
    proc_ranges $s "${KID[2]}" >"$BATS_TEST_TMPDIR/got"
    assert_ranges_equal "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"

    # Round 2: child 1 rewrites its 3 private pages, child 2 memfd page 0
    # (child 1's): written again, nothing new to the working set.
    w_pause
    fcmd "write 1 anon 0 3"
    fcmd "write 2 shared 0 1"
    w_resume
    s=$((WPAUSED + 1))
    assert_equal "$(iv_field $s '"\(.written_pages) \(.wss_pages)"')" "4 17"
    assert_equal "$(proc_field $s "$FPID" written_pages)" 0

    w_kill INT
    w_finish
    assert_equal "$WSTATUS" 0
    assert_equal "$(jq -r 'select(.type == "end") | "\(.reason) \(.wss_pages) \(.shared_wss_pages) \(.processes) \(.untracked_processes)"' "$WLOG")" \
        "signal 17 8 3 0"
    # One start event per process, nothing left in any of them.
    assert_equal "$(jq -r 'select(.type == "process" and .event == "start") | .pid' "$WLOG" | sort -n | tr '\n' ' ')" \
        "$(printf '%s\n' "$FPID" "${KID[1]}" "${KID[2]}" | sort -n | tr '\n' ' ')"
    no_uffd_anywhere "$FPID" "${KID[@]}"
}

@test "watch --tree: a child forked during the watch is tracked from the next tick, an exiting one reported" {
    family_start 32
    ffork
    w_start watch --tree "$FPID" -i 100ms -f json "${RANGES[@]}"
    assert_equal "$(jq -r 'select(.type == "start") | "\(.workload) \(.processes)"' "$WLOG")" "tree 2"

    # A new child: engaged at the tick after its fork.
    w_pause
    ffork
    w_resume
    w_until_line "\"event\":\"start\",\"pid\":${KID[2]},"

    w_pause
    fcmd "write 2 anon 0 6"
    fcmd "write 1 shared 0 2"
    fcmd "write 2 shared 1 2"
    w_resume
    local s=$((WPAUSED + 1))
    assert_equal "$(proc_field $s "${KID[2]}" written_pages)" 8
    assert_equal "$(proc_field $s "${KID[1]}" written_pages)" 2
    assert_equal "$(iv_field $s '"\(.written_pages) \(.wss_pages) \(.shared_wss_pages)"')" "9 9 3"

    # Child 1 exits: reported with what it wrote (its 2 memfd pages), and
    # gone from the intervals after.
    w_pause
    fcmd "exit 1"
    w_resume
    s=$((WPAUSED + 1))
    assert_equal "$(jq -r --argjson p "${KID[1]}" 'select(.type == "process" and .event == "exit" and .pid == $p) | "\(.reason) \(.wss_pages)"' "$WLOG")" \
        "exit 2"
    assert_equal "$(proc_field $s "${KID[1]}" written_pages)" ""
    assert_equal "$(iv_field $s '.processes | length')" 2
    # Its pages stay in the working set.
    assert_equal "$(iv_field $s .wss_pages)" 9

    w_kill TERM
    w_finish
    assert_equal "$(jq -r 'select(.type == "end") | "\(.wss_pages) \(.processes)"' "$WLOG")" "9 3"
    no_uffd_anywhere "$FPID" "${KID[2]}"
}

@test "watch --tree: a process sharing the parent's address space (CLONE_VM) is tracked once" {
    family_start 16
    fcmd clonevm
    local vm=${F_REPLY#ok }
    w_start watch --tree "$FPID" -i 100ms -f json -n 2 "${RANGES[@]}"
    w_finish
    assert_equal "$WSTATUS" 0
    assert_equal "$(jq -r --argjson p "$vm" 'select(.type == "process" and .pid == $p) | .event' "$WLOG")" skipped
    run jq -r --argjson p "$vm" 'select(.type == "process" and .pid == $p) | .reason' "$WLOG"
    assert_output "shares its address space with process $FPID (CLONE_VM), tracked once as $FPID"
    assert_equal "$(jq -r 'select(.type == "end") | "\(.processes) \(.untracked_processes)"' "$WLOG")" "1 0"
    # Not a failure to warn about.
    [[ $WSTDERR != *"$vm"* ]] || fail "warned about the CLONE_VM process: $WSTDERR"
}

@test "watch --max-processes: the processes over the limit are not tracked, and the output says so" {
    family_start 16
    ffork
    ffork
    ffork
    run --separate-stderr "$PAGESCAN" watch --tree "$FPID" --max-processes 2 -n 1 -i 100ms -f json "${RANGES[@]}"
    assert_success
    [[ $stderr == *"more than 2 processes (--max-processes)"*"raise --max-processes"* ]] || fail "stderr: $stderr"
    assert_equal "$(grep -c 'pagescan: warning' <<<"$stderr")" 1
    assert_equal "$(jq -r 'select(.type == "process" and .event == "start") | .pid' <<<"$output" | wc -l)" 2
    assert_equal "$(jq -r 'select(.type == "process" and .event == "skipped") | .reason' <<<"$output" | sort -u)" \
        "over --max-processes 2"
    assert_equal "$(jq -r 'select(.type == "process" and .event == "skipped") | .pid' <<<"$output" | wc -l)" 2
    assert_equal "$(jq -r 'select(.type == "end") | "\(.processes) \(.untracked_processes)"' <<<"$output")" "2 2"

    run --separate-stderr "$PAGESCAN" watch "$FPID" "${KID[1]}" "${KID[2]}" --max-processes 2
    assert_failure 64
    [[ $stderr == *"3 PIDs given but --max-processes 2: raise --max-processes"* ]] || fail "stderr: $stderr"
}

@test "watch PID PID: a process that cannot be tracked is skipped with its reason, the rest go on" {
    family_start 16
    ffork
    ffork
    # Child 1 is watched already: its userfaultfd write-protect is taken.
    w_start watch "${KID[1]}" -i 100ms -f json
    run --separate-stderr "$PAGESCAN" watch "$FPID" "${KID[1]}" "${KID[2]}" -n 1 -i 100ms -f json "${RANGES[@]}"
    assert_success
    [[ $stderr == *"process ${KID[1]} (family) is not tracked: "* ]] || fail "stderr: $stderr"
    assert_equal "$(grep -c "is not tracked" <<<"$stderr")" 1
    assert_equal "$(jq -r 'select(.type == "process" and .event == "skipped") | .pid' <<<"$output")" "${KID[1]}"
    assert_equal "$(jq -r 'select(.type == "end") | "\(.processes) \(.untracked_processes)"' <<<"$output")" "2 1"

    # None at all: a clear failure.
    run --separate-stderr "$PAGESCAN" watch "${KID[1]}" 999999999 -n 1
    assert_failure 1
    [[ $stderr == *"none of the 2 processes could be tracked"* ]] || fail "stderr: $stderr"
}

# The cgroup v2 hierarchy (unified or hybrid), or skip.
cgroup2_dir() {
    CG_ROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
    [[ -n $CG_ROOT ]] || skip "no cgroup v2 hierarchy mounted"
    CG=$CG_ROOT/pagescan-test-$$-$BATS_TEST_NUMBER
    mkdir "$CG" 2>/dev/null || skip "cannot create a cgroup under $CG_ROOT"
}

# cg_move PID DIR: move PID into the cgroup DIR.
cg_move() {
    echo "$1" >"$2/cgroup.procs"
}

# cgroup_cleanup: every process back to where this shell is, the test cgroup removed.
cgroup_cleanup() {
    [[ -n ${CG:-} && -d $CG ]] || return 0
    local p home
    home=$CG_ROOT$(awk -F: '$1 == "0" { print $3 }' /proc/$$/cgroup)
    while read -r p; do
        echo "$p" >"$home/cgroup.procs" 2>/dev/null || true
    done <"$CG/cgroup.procs"
    rmdir "$CG" 2>/dev/null || true
    CG=
}

@test "watch --cgroup: processes moved in are tracked from the next tick, moved out dropped" {
    cgroup2_dir
    local home
    home=$CG_ROOT$(awk -F: '$1 == "0" { print $3 }' /proc/$$/cgroup)
    family_start 16
    ffork
    cg_move "$FPID" "$CG"
    w_start watch --cgroup "$CG" -i 100ms -f json "${RANGES[@]}"
    assert_equal "$(jq -r 'select(.type == "start") | "\(.workload) \(.cgroup) \(.processes)"' "$WLOG")" "cgroup $CG 1"

    # Child 1 moves in.
    w_pause
    cg_move "${KID[1]}" "$CG"
    w_resume
    w_until_line "\"event\":\"start\",\"pid\":${KID[1]},"
    w_pause
    fcmd "write 1 anon 0 2"
    fcmd "write 0 shared 0 1"
    fcmd "write 1 shared 0 1"
    w_resume
    local s=$((WPAUSED + 1))
    assert_equal "$(proc_field $s "${KID[1]}" written_pages)" 3
    assert_equal "$(iv_field $s '"\(.written_pages) \(.wss_pages)"')" "3 3"

    # ... and out again: dropped at the next tick, its writes no longer seen.
    w_pause
    cg_move "${KID[1]}" "$home"
    w_resume
    w_until_line "\"event\":\"exit\",\"pid\":${KID[1]},"
    [[ $W_LINE == *'"reason":"left the cgroup"'* ]] || fail "exit event: $W_LINE"
    w_pause
    fcmd "write 1 anon 5 4"
    fcmd "write 0 anon 0 1"
    w_resume
    s=$((WPAUSED + 1))
    assert_equal "$(iv_field $s '"\(.written_pages) \(.processes | length)"')" "1 1"

    w_kill INT
    w_finish
    assert_equal "$(jq -r 'select(.type == "end") | "\(.wss_pages) \(.processes)"' "$WLOG")" "4 2"
}

@test "watch PID PID: text is one line per interval with the total and the busiest processes; CSV a row of totals and one per process" {
    family_start 16
    ffork
    ffork
    w_start watch "$FPID" "${KID[1]}" "${KID[2]}" -i 100ms "${RANGES[@]}"
    [[ $W_LINE == "watching 3 processes (from $FPID (family); at most 64): 96 pages (384K) tracked, every 0.100s" ]] ||
        fail "start line: $W_LINE"
    w_pause
    fcmd "write 2 anon 0 3"
    fcmd "write 1 anon 0 1"
    fcmd "write 2 shared 0 2"
    fcmd "write 1 shared 0 2"
    w_resume
    [[ $W_LINE =~ ^#$((WPAUSED + 1))\ .*written\ 6\ pages\ .*\ wss\ 6\ pages\ \(shared\ 2\).*\ \ 3\ processes:\ ${KID[2]}\ family\ 5,\ ${KID[1]}\ family\ 3,\ $FPID\ family\ 0$ ]] ||
        fail "interval line: $W_LINE"
    w_kill INT
    w_finish
    grep -q "^processes: 3 tracked; shared pages in the write working set: 2 (counted once)$" "$WLOG" ||
        fail "no processes line: $(tail -n 5 "$WLOG")"

    run --separate-stderr "$PAGESCAN" watch "$FPID" "${KID[1]}" -n 2 -i 100ms -f csv "${RANGES[@]}"
    assert_success
    [[ ${lines[0]} == seq,*,pid,command ]] || fail "header: ${lines[0]}"
    # Per interval: the totals (pid empty), then one row per process.
    assert_equal "${#lines[@]}" 7
    [[ ${lines[1]} == 1,*,, && ${lines[2]} == 1,*,"$FPID",family && ${lines[3]} == 1,*,"${KID[1]}",family ]] ||
        fail "rows: ${lines[*]}"
}

@test "watch PID: one process alone gives the records it always did" {
    family_start 16
    run --separate-stderr "$PAGESCAN" watch "$FPID" -n 1 -i 100ms -f json "${RANGES[@]}"
    assert_success
    assert_equal "$(jq -r 'select(.type == "start") | "\(.format_version) \(has("workload")) \(has("engaged"))"' <<<"$output")" \
        "1 false true"
    assert_equal "$(jq -r 'select(.type == "interval") | "\(has("processes")) \(has("regions")) \(has("mappings"))"' <<<"$output")" \
        "false true true"
    assert_equal "$(jq -c 'select(.type == "process")' <<<"$output")" ""
    assert_equal "$(jq -r 'select(.type == "end") | has("processes")' <<<"$output")" false
    run --separate-stderr "$PAGESCAN" watch "$FPID" -n 1 -i 100ms "${RANGES[@]}"
    assert_success
    [[ ${lines[0]} == "watching process $FPID (family): 2 ranges, 32 pages (128K) tracked, every 0.100s" ]] ||
        fail "start line: ${lines[0]}"
}

@test "watch: bad workload options exit 64 naming the fix" {
    # (watch PID PID --heatmap is a workload's heatmap now: heatmap.bats)
    run --separate-stderr "$PAGESCAN" watch --cgroup "$BATS_TEST_TMPDIR"
    assert_failure 64
    [[ $stderr == *"has no readable cgroup.procs"*"cgroup v2 mount"* ]] || fail "$stderr"
    run --separate-stderr "$PAGESCAN" watch --cgroup /sys/fs/cgroup 1
    assert_failure 64
    [[ $stderr == *"--cgroup takes no PID"* ]] || fail "$stderr"
    run --separate-stderr "$PAGESCAN" watch 1 1
    assert_failure 64
    [[ $stderr == *"PID 1 given twice"* ]] || fail "$stderr"
    run --separate-stderr "$PAGESCAN" watch --tree
    assert_failure 64
    [[ $stderr == *"missing PID"* ]] || fail "$stderr"
}

@test "watch PID PID --prom-file: the workload's totals and a series per process" {
    family_start 16
    ffork
    local prom=$BATS_TEST_TMPDIR/w.prom
    w_start watch "$FPID" "${KID[1]}" -i 100ms -f json --prom-file "$prom" "${RANGES[@]}"
    w_pause
    fcmd "write 1 anon 0 3"
    fcmd "write 1 shared 0 2"
    fcmd "write 0 shared 0 2"
    w_resume
    # The file is rewritten after each interval record: read it with
    # pagescan stopped (later intervals wrote nothing; the working sets stay).
    w_pause
    grep -qx "pagescan_process_wss_pages{pid=\"${KID[1]}\",command=\"family\"} 5" "$prom" || fail "$(cat "$prom")"
    grep -qx "pagescan_process_wss_pages{pid=\"$FPID\",command=\"family\"} 2" "$prom" || fail "$(cat "$prom")"
    grep -qx "pagescan_write_working_set_pages{pid=\"$FPID\",command=\"family\"} 5" "$prom" || fail "$(cat "$prom")"
    assert_equal "$(grep -c '^pagescan_process_written_pages{' "$prom")" 2
    grep -qx "pagescan_workload_processes{pid=\"$FPID\",command=\"family\"} 2" "$prom" || fail "$(cat "$prom")"
    grep -qx "pagescan_workload_shared_wss_pages{pid=\"$FPID\",command=\"family\"} 2" "$prom" || fail "$(cat "$prom")"
    assert_equal "$(grep -c '^# TYPE pagescan_process_wss_pages gauge$' "$prom")" 1
    w_kill CONT
    w_kill INT
    w_finish
    grep -qx "pagescan_watch_running{pid=\"$FPID\",command=\"family\"} 0" "$prom" || fail "$(cat "$prom")"
}

@test "watch --tree --accumulate: written is the workload's cumulative set, shared pages once" {
    family_start 16
    ffork
    w_start watch --tree "$FPID" -i 100ms -f json --accumulate "${RANGES[@]}"
    w_pause
    fcmd "write 0 shared 0 4"
    fcmd "write 1 shared 2 4"
    fcmd "write 1 anon 0 2"
    w_resume
    local s=$((WPAUSED + 1))
    assert_equal "$(iv_field $s '"\(.written_pages) \(.wss_pages) \(.shared_wss_pages)"')" "8 8 6"
    w_pause
    fcmd "write 0 anon 0 1"
    fcmd "write 0 shared 0 1"
    w_resume
    s=$((WPAUSED + 1))
    assert_equal "$(iv_field $s '"\(.written_pages) \(.wss_pages)"')" "9 9"
    assert_equal "$(proc_field $s "$FPID" written_pages) $(proc_field $s "${KID[1]}" written_pages)" "5 6"
    w_kill INT
    w_finish
    assert_equal "$(jq -r 'select(.type == "end") | .wss_pages' "$WLOG")" 9
}

@test "watch --tree: SIGKILL to pagescan leaves every process running, with no userfaultfd" {
    family_start 16
    ffork
    ffork
    w_start watch --tree "$FPID" -i 100ms -f json "${RANGES[@]}"
    w_until_seq 2
    w_kill KILL
    wait "$WPID" 2>/dev/null || true
    WPID=
    # Every member runs on and writes as before.
    fcmd "write 0 anon 0 2"
    fcmd "write 1 anon 0 2"
    fcmd "write 2 shared 0 2"
    no_uffd_anywhere "$FPID" "${KID[@]}"
    # And can be watched again at once.
    run --separate-stderr "$PAGESCAN" watch --tree "$FPID" -n 1 -i 100ms -f json "${RANGES[@]}"
    assert_success
    assert_equal "$(jq -r 'select(.type == "end") | "\(.processes) \(.untracked_processes)"' <<<"$output")" "3 0"
}

@test "watch --tree on make -j2 building a small C project: the workload's working set is the sum of its processes'" {
    command -v make >/dev/null && command -v cc >/dev/null || skip "needs make and cc"
    local proj=$BATS_TEST_TMPDIR/proj i
    mkdir -p "$proj"
    for i in 1 2 3 4 5 6; do
        printf 'static int big[1 << 16];\nint f%d(int x) { for (int i = 0; i < (1 << 16); i++) big[i] += x * i; return big[x]; }\n' \
            "$i" >"$proj/f$i.c"
    done
    printf 'int main(void) { return 0; }\n' >"$proj/main.c"
    printf 'OBJS = f1.o f2.o f3.o f4.o f5.o f6.o main.o\nprog: $(OBJS)\n\tcc -o $@ $(OBJS)\n%%.o: %%.c\n\tcc -O2 -c $<\n' \
        >"$proj/Makefile"
    # make starts once pagescan has its first snapshot: it waits on a fifo.
    mkfifo "$BATS_TEST_TMPDIR/go"
    (read -r _ <"$BATS_TEST_TMPDIR/go" && cd "$proj" && exec make -j2 >/dev/null 2>&1) 3>&- &
    local mp=$!
    bg_track "$mp"
    w_start watch --tree "$mp" -i 50ms -f json -q
    echo go >"$BATS_TEST_TMPDIR/go"
    w_finish
    assert_equal "$WSTATUS" 0
    [[ -x $proj/prog ]] || fail "make did not build prog"
    run jq -r 'select(.type == "end") | "\(.reason) \(.detail)"' "$WLOG"
    assert_output "target-exit no process left"
    # No shared mapping was written: the workload's working set is exactly
    # the sum of what each process had written when it left.
    local wss sum n
    wss=$(jq -r 'select(.type == "end") | .wss_pages' "$WLOG")
    sum=$(jq -s '[.[] | select(.type == "process" and .event == "exit") | .wss_pages] | add' "$WLOG")
    n=$(jq -r 'select(.type == "end") | .processes' "$WLOG")
    assert_equal "$(jq -r 'select(.type == "end") | .shared_wss_pages' "$WLOG")" 0
    assert_equal "$wss" "$sum"
    ((n >= 3 && wss > 100)) || fail "too little seen: $n processes, $wss pages"
    # make itself, after the subshell's exec (the old image leaves as
    # "exec", the new one is tracked under the same pid), and the compilers
    # it ran.
    run jq -r --argjson p "$mp" 'select(.type == "process" and .pid == $p) | "\(.event) \(.command) \(.reason)"' "$WLOG"
    assert_output "start bash null
exit bash exec
start make null
exit make exit"
    jq -r 'select(.type == "process" and .event == "start") | .command' "$WLOG" | grep -qE '^(cc|cc1|as|ld|collect2)$' ||
        fail "no compiler tracked"
}
