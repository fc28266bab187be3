#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# pagescan engage / dump -m written / release: exact written-page sets
# against the victim's own record, injection safety, and a clean release.

load common

setup_file() {
    kernel_supports
}

teardown() {
    common_teardown
}

# written_equals_truth [DUMP-OPTION...]: the victim's truth since the last
# mark equals `dump -m written -f json`, clipped to the victim's mappings
# (the rest of the process, stack and heap, is written too but is not ours
# to predict). Leaves the dump in $BATS_TEST_TMPDIR/written.json.
written_equals_truth() {
    local d=$BATS_TEST_TMPDIR
    victim_truth "$d/truth"
    ps_ok "$d/written.json" dump "$VPID" -m written "$@" -f json
    check_dump_json "$d/written.json"
    victim_ranges <"$d/written.json" >"$d/got"
    assert_ranges_equal "$d/truth" "$d/got"
}

engage_ok() {
    ps_ok "$BATS_TEST_TMPDIR/engage.out" engage "$VPID" "$@"
}

# exact_kind KIND PAGES: pages written before engage are not reported,
# pages written after are, exactly; reads and untouched pages are not.
exact_kind() {
    victim_start
    vmap x "$1" "$2"
    local n=$2
    vcmd "write x 0-$((n / 2 - 1))"
    engage_ok
    vcmd mark
    # some pages written before engage, some never; reads of both kinds
    vcmd "write x 1,3,$((n / 2 - 2))-$((n / 2 + 5)),$((n - 1))"
    vcmd "read x $((n / 2 + 10))-$((n - 2))"
    vcmd "read x 0-$((n / 2 - 1))"
    written_equals_truth
    # and the victim's memory is what it wrote
    vcmd "check x"
}

@test "engage: exact written pages in private anonymous memory" {
    exact_kind anon 256
}

@test "engage: exact written pages in shared anonymous memory" {
    exact_kind shared 128
}

@test "engage: exact written pages in a private file mapping" {
    exact_kind file 128
}

@test "engage: exact written pages in a shared /dev/shm file mapping" {
    exact_kind shmfile 128
}

@test "engage: exact written pages in THP-backed memory (4 KiB granularity)" {
    if grep -q '\[never\]' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null; then
        skip "transparent huge pages are disabled on this machine"
    fi
    victim_start
    vmap h thp 2048
    vcmd "thp h"
    local kb=${REPLY_LINE#ok }
    ((kb > 0)) || fail "test premise: mapping is not THP-backed (AnonHugePages $kb kB)"
    engage_ok
    vcmd mark
    vcmd "write h 1,2,600-620,1023,1024,2047"
    vcmd "read h 100-200"
    written_equals_truth
    vcmd "check h"
}

@test "engage: unpopulated and zero-page-read pages are never reported" {
    victim_start
    vmap u anon 512
    vmap z anon 512
    vcmd "read z all"
    engage_ok
    vcmd mark
    vcmd "read z all"
    vcmd "read u 0-99"
    vcmd "write u 300,301"
    written_equals_truth
    assert_equal "$(wc -l <"$BATS_TEST_TMPDIR/got")" 1
}

@test "engage: all memory kinds at once, adjacent mappings, exact" {
    victim_start
    vmap a anon 256
    vmap s shared 64
    vmap f file 64
    vmap m shmfile 64
    vmap b anon 64
    vmap n none 16
    vmap r ro 16
    vcmd "write a 0-127"
    vcmd "write s all"
    vcmd "write f 0-31"
    vcmd "write m every:2"
    vcmd "write b all"
    engage_ok
    vcmd mark
    vcmd "write a 5,7,100-140,255"
    vcmd "write s 3-9"
    vcmd "write f 30-40"
    vcmd "write m 1-5"
    vcmd "write b 0,63"
    vcmd "read a 200-254"
    vcmd "read r all"
    vcmd "threads 3 a rand:40:11"
    written_equals_truth
    for n in a s f m b r; do vcmd "check $n"; done
}

@test "dump -m written --clear: a second round reports only the second round" {
    victim_start
    vmap a anon 128
    vmap f file 32
    vmap m shmfile 32
    engage_ok
    vcmd mark
    vcmd "write a 0-9,50,127"
    vcmd "write f 1-3"
    vcmd "write m 7"
    written_equals_truth --clear
    vcmd mark
    vcmd "write a 5-20"
    vcmd "write f 10"
    written_equals_truth
    # a dump without --clear clears nothing
    written_equals_truth
    # --clear with nothing new written since: the same set, then empty
    written_equals_truth --clear
    vcmd mark
    written_equals_truth
    assert_equal "$(wc -c <"$BATS_TEST_TMPDIR/got")" 0
}

@test "many rounds of random writes and --clear stay exact" {
    victim_start
    vmap a anon 2048
    vmap s shared 256
    engage_ok
    local round
    for round in 1 2 3 4 5 6; do
        vcmd mark
        vcmd "write a rand:300:$round"
        vcmd "threads 4 s rand:50:$((round + 100))"
        written_equals_truth --clear
    done
}

@test "dump -m written on a target that was never engaged reports nothing" {
    victim_start
    vmap a anon 16
    vcmd "write a all"
    ps_ok "$BATS_TEST_TMPDIR/out" dump "$VPID" -m written -f json
    check_dump_json "$BATS_TEST_TMPDIR/out"
    assert_equal "$(json_summary "$BATS_TEST_TMPDIR/out" regions)" 0
    assert_equal "$(json_summary "$BATS_TEST_TMPDIR/out" pages)" 0
}

@test "engage -r tracks only that range: nothing else in the process is reported" {
    victim_start
    vmap a anon 64
    vmap b anon 64
    engage_ok -r "${MSTART[a]}-${MEND[a]}"
    vcmd mark
    vcmd "write a 1-5,60"
    vcmd "write b all"
    victim_truth "$BATS_TEST_TMPDIR/truth"
    ranges_clip "${MSTART[a]}" "${MEND[a]}" <"$BATS_TEST_TMPDIR/truth" >"$BATS_TEST_TMPDIR/exp"
    # the whole process, not clipped: stack, heap and b are not tracked
    ps_ok "$BATS_TEST_TMPDIR/out" dump "$VPID" -m written -f json
    check_dump_json "$BATS_TEST_TMPDIR/out"
    check_regions_in_maps "$VPID" "$BATS_TEST_TMPDIR/out"
    ps_regions_to_ranges <"$BATS_TEST_TMPDIR/out" >"$BATS_TEST_TMPDIR/got"
    assert_ranges_equal "$BATS_TEST_TMPDIR/exp" "$BATS_TEST_TMPDIR/got"
}

@test "dump -m written -r restricts the report" {
    victim_start
    vmap a anon 64
    vmap b anon 64
    engage_ok
    vcmd mark
    vcmd "write a 1-5,60"
    vcmd "write b 0-9"
    victim_truth "$BATS_TEST_TMPDIR/truth"
    ranges_clip "$(vaddr a 4)" "${MEND[a]}" <"$BATS_TEST_TMPDIR/truth" >"$BATS_TEST_TMPDIR/exp"
    ps_ok "$BATS_TEST_TMPDIR/out" dump "$VPID" -m written -r "$(vaddr a 4)-${MEND[a]}" -f json
    check_dump_json "$BATS_TEST_TMPDIR/out"
    ps_regions_to_ranges <"$BATS_TEST_TMPDIR/out" >"$BATS_TEST_TMPDIR/got"
    assert_ranges_equal "$BATS_TEST_TMPDIR/exp" "$BATS_TEST_TMPDIR/got"
}

# --- injection safety ------------------------------------------------------

@test "engage into a target blocked in read() on a fifo: it gets its data exactly" {
    victim_start
    vmap a anon 32
    mkfifo "$BATS_TEST_TMPDIR/data"
    vsend "readfifo $BATS_TEST_TMPDIR/data"
    wait_syscall "$VPID" read
    engage_ok
    # still blocked in read after the injection
    wait_syscall "$VPID" read
    printf 'exactly-these-27-bytes-here' >"$BATS_TEST_TMPDIR/data"
    vreply
    assert_equal "$REPLY_LINE" "ok read 27 exactly-these-27-bytes-here"
    vcmd mark
    vcmd "write a 3-7"
    written_equals_truth
}

# timed_engage CMD NR...: CMD sleeps 5 s in syscall NR; engage 2 s into it.
# The kernel's restart keeps the remaining time, so the call ends 5 s after
# it began (the target's own CLOCK_MONOTONIC), or, on a machine so slow that
# the engage ends later than that, right after it; EINTR would end it early
# (an error reply). A restart from scratch would end it 5 s after the
# injection let the thread go: at least HELD + 5 s, HELD (>= 2 s) being the
# time from the start of the call to the end of the engage. The bound
# max(5, HELD) + 1 s leaves 1 s for scheduling delays on a loaded machine
# and still lies 1 s below that.
timed_engage() {
    local cmd=$1 t0 held
    shift
    vsend "$cmd"
    wait_syscall "$VPID" "$@"
    t0=$EPOCHREALTIME
    sleep 2
    engage_ok
    held=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d\n", (b - a) * 1000 }')
    vreply
    local t=${REPLY_LINE#ok }
    awk -v t="$t" -v h="$held" 'BEGIN { h /= 1000; exit !(t >= 4.999 && t < (h > 5 ? h : 5) + 1) }' ||
        fail "'$cmd' took $t s with an engage 2 s into it that ended $held ms into it (want 5 s, or just after the engage if that ended later; a restart from scratch ends at least 5 s after the engage)"
}

@test "engage into a target in nanosleep(5 s): it sleeps 5 s in total" {
    victim_start
    vmap a anon 32
    timed_engage "sleep 5" nanosleep clock_nanosleep
    vcmd mark
    vcmd "write a 0,31"
    written_equals_truth
}

@test "engage into a target in poll(timeout 5 s): the timeout stays 5 s" {
    victim_start
    vmap a anon 32
    timed_engage "poll 5" poll ppoll
    vcmd mark
    vcmd "write a 1-2"
    written_equals_truth
}

@test "engage and release into a user-mode spin loop: registers intact" {
    victim_start
    vmap a anon 32
    mkfifo "$BATS_TEST_TMPDIR/spin"
    vsend "spin 5 $BATS_TEST_TMPDIR/spin"
    local line
    read -r line <"$BATS_TEST_TMPDIR/spin"
    assert_equal "$line" spinning
    # four injections while it spins
    engage_ok
    ps_ok "$BATS_TEST_TMPDIR/release.out" release "$VPID"
    engage_ok
    ps_ok "$BATS_TEST_TMPDIR/release.out" release "$VPID"
    vreply
    [[ $REPLY_LINE == "ok spin clean "* ]] || fail "spin loop: $REPLY_LINE"
    no_uffd_left "$VPID"
}

@test "multi-threaded target: engage, then 4 threads write at once, exact" {
    victim_start
    vmap a anon 1024
    vmap s shared 256
    vcmd "spawnthreads 4"
    assert_equal "$(find "/proc/$VPID/task" -mindepth 1 -maxdepth 1 | wc -l)" 5
    engage_ok
    vcmd mark
    vcmd "threads 4 a rand:400:3"
    vcmd "threads 4 s all"
    written_equals_truth
    vcmd "check a"
    vcmd "check s"
    assert_equal "$(find "/proc/$VPID/task" -mindepth 1 -maxdepth 1 | wc -l)" 5
}

# --- release ---------------------------------------------------------------

@test "engage leaves one userfaultfd in the target; release removes it and leaves it as it was" {
    victim_start
    vmap a anon 64
    vmap f file 16
    vmap m shmfile 16
    vcmd "write a every:3"
    vcmd "write f 1-4"
    vcmd status
    local before=$REPLY_LINE
    assert_equal "$(uffd_count "$VPID")" 0
    engage_ok
    assert_equal "$(uffd_count "$VPID")" 1
    vcmd mark
    vcmd "write a 0-9"
    vcmd "write f 5"
    vcmd "write m 0"
    written_equals_truth
    ps_ok "$BATS_TEST_TMPDIR/release.out" release "$VPID"
    no_uffd_left "$VPID"
    # it still answers, its memory is intact, fds and signal masks as before
    vcmd status
    assert_equal "$REPLY_LINE" "$before"
    vcmd "check a"
    vcmd "check f"
    vcmd "check m"
    # nothing is reported as written any more, anywhere in the process
    vcmd "write a 20-30"
    ps_ok "$BATS_TEST_TMPDIR/out" dump "$VPID" -m written -f json
    check_dump_json "$BATS_TEST_TMPDIR/out"
    assert_equal "$(json_summary "$BATS_TEST_TMPDIR/out" regions)" 0
    victim_stop
}

# unregister_pieces STRACE NAME: the UFFDIO_UNREGISTER calls in an strace -e
# ioctl log are paced (docs/kernel-interfaces.md#unregistering-in-pieces):
# each piece is sized from the CPU time per byte of the one before, to take
# about 1 ms, starting from 2 MiB and at most doubling per call. So a call
# that does not continue the one before (a range's first) covers at most
# 2 MiB, one that does at most twice as much as that one (or 4 MiB after a
# first piece cut short by alignment); every piece boundary inside mapping
# NAME is on a 2 MiB boundary (a cut through a THP would split it); and the
# pieces cover NAME exactly (so the close that follows has nothing left to
# un-protect under the target's mmap lock). Judged for the calls that
# overlap NAME (a range can start below it when mappings are adjacent).
# That the sizes follow the measured time is tests/unit/test_scan.c's part
# (ps_scan_pace_learn() on a fake clock); under strace the wall times are not
# the kernel's.
unregister_pieces() {
    local out
    out=$(awk -v ms="${MSTART[$2]}" -v me="${MEND[$2]}" "$PS_AWK_DEFS"'
        BEGIN { ms = hex2n(ms); me = hex2n(me); pmd = 2 * 1048576 }
        /UFFDIO_UNREGISTER, \{start=0x[0-9a-f]+, len=0x[0-9a-f]+\}\) = / {
            match($0, /start=0x[0-9a-f]+/); s = hex2n(substr($0, RSTART + 6, RLENGTH - 6))
            match($0, /len=0x[0-9a-f]+/); l = hex2n(substr($0, RSTART + 4, RLENGTH - 4))
            cont = s == pend; lim = cont ? 2 * (prev > pmd ? prev : pmd) : pmd
            pend = s + l; prev = l
            a = s > ms ? s : ms; b = s + l < me ? s + l : me
            if (a >= b || $0 !~ /\) = 0/) next
            cover += b - a
            if (l > lim) big++
            if (s + l < me && (s + l) % pmd) unaligned++
            n++
        }
        END { printf "%d calls, %d too large, %d unaligned, %.0f of %.0f bytes covered\n", n, big, unaligned, cover, me - ms }' "$1")
    [[ $out =~ ^[0-9]+\ calls,\ ([0-9]+)\ too\ large,\ ([0-9]+)\ unaligned,\ ([0-9]+)\ of\ ([0-9]+) ]] || fail "strace log: $out"
    ((BASH_REMATCH[1] == 0)) || fail "an unregister piece is too large (a range's first over 2 MiB, or a later one over twice the one before): $out"
    ((BASH_REMATCH[2] == 0)) || fail "an unregister piece does not end on a 2 MiB boundary: $out"
    [[ ${BASH_REMATCH[3]} == "${BASH_REMATCH[4]}" ]] || fail "the pieces do not cover the mapping: $out"
}

@test "release and the end of a watch unregister in paced pieces (2 MiB first, at most 2x larger each, on 2 MiB boundaries) before closing the userfaultfd" {
    victim_start
    vmap a anon 65536
    vcmd "write a every:64"
    engage_ok
    # (LeakSanitizer cannot work under ptrace: off for an ASan pagescan under strace)
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
        strace -f -qq -e trace=ioctl -o "$BATS_TEST_TMPDIR/release.strace" \
        "$PAGESCAN" release "$VPID" >/dev/null 2>"$BATS_TEST_TMPDIR/release.err" 3>&- ||
        fail "release failed: $(cat "$BATS_TEST_TMPDIR/release.err")"
    unregister_pieces "$BATS_TEST_TMPDIR/release.strace" a
    no_uffd_left "$VPID"
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
        strace -f -qq -e trace=ioctl -o "$BATS_TEST_TMPDIR/watch.strace" \
        "$PAGESCAN" watch "$VPID" -n 1 -i 100ms -q >/dev/null 2>"$BATS_TEST_TMPDIR/watch.err" 3>&- ||
        fail "watch failed: $(cat "$BATS_TEST_TMPDIR/watch.err")"
    unregister_pieces "$BATS_TEST_TMPDIR/watch.strace" a
    no_uffd_left "$VPID"
    vcmd "check a"
    victim_stop
}

@test "engage again after release: tracking is exact again" {
    victim_start
    vmap a anon 128
    engage_ok
    vcmd "write a 0-50"
    ps_ok "$BATS_TEST_TMPDIR/release.out" release "$VPID"
    no_uffd_left "$VPID"
    vcmd "write a 60-70"
    engage_ok
    assert_equal "$(uffd_count "$VPID")" 1
    vcmd mark
    vcmd "write a 1,2,100"
    written_equals_truth
    ps_ok "$BATS_TEST_TMPDIR/release.out" release "$VPID"
    no_uffd_left "$VPID"
    vcmd "check a"
}

@test "release of a multi-threaded target blocked in read(): still answers, state unchanged" {
    victim_start
    vmap a anon 16
    vcmd "spawnthreads 3"
    vcmd status
    local before=$REPLY_LINE
    engage_ok
    mkfifo "$BATS_TEST_TMPDIR/data"
    vsend "readfifo $BATS_TEST_TMPDIR/data"
    wait_syscall "$VPID" read
    ps_ok "$BATS_TEST_TMPDIR/release.out" release "$VPID"
    no_uffd_left "$VPID"
    printf 'after-release' >"$BATS_TEST_TMPDIR/data"
    vreply
    assert_equal "$REPLY_LINE" "ok read 13 after-release"
    vcmd status
    assert_equal "$REPLY_LINE" "$before"
    victim_stop
}

@test "engage -f json: valid JSON; the engaged ranges cover the writable mappings" {
    victim_start
    vmap a anon 64
    vmap s shared 16
    vmap f file 16
    vmap m shmfile 16
    vmap r ro 16
    ps_ok "$BATS_TEST_TMPDIR/engage.json" engage "$VPID" -f json
    run jq -r 'type' "$BATS_TEST_TMPDIR/engage.json"
    assert_success
    refute_output --regexp '^(array|string|number|boolean|null)$'
    # every writable mapping lies inside the union of the engaged ranges
    jq -c '.engaged[]? | {type: "region", start: .start, end: .end}' "$BATS_TEST_TMPDIR/engage.json" |
        ps_regions_to_ranges >"$BATS_TEST_TMPDIR/engaged"
    local n
    for n in a s f m; do
        ranges_clip "${MSTART[$n]}" "${MEND[$n]}" <"$BATS_TEST_TMPDIR/engaged" >"$BATS_TEST_TMPDIR/cover"
        assert_equal "$(cat "$BATS_TEST_TMPDIR/cover")" "${MSTART[$n]} ${MEND[$n]}"
    done
    # the special kernel mappings are skipped, each with a reason
    run jq -r '.skipped[]? | select(.mapping == "[vvar]") | .reason | length > 0' "$BATS_TEST_TMPDIR/engage.json"
    assert_output true
}

# uffd_fds PID: the fd numbers of PID's userfaultfds, one a line.
uffd_fds() {
    local fd
    for fd in /proc/"$1"/fd/*; do
        [[ $(readlink "$fd" 2>/dev/null) == "anon_inode:[userfaultfd]" ]] && echo "${fd##*/}"
    done
    return 0
}

@test "release -f json: one exact record (pid, command, the fd engage left, no copies); text unchanged" {
    victim_start
    vmap a anon 32
    vcmd "write a 0-3"
    local comm fd
    comm=$(<"/proc/$VPID/comm")
    [[ -n $comm ]] || fail "test premise: no comm for $VPID"
    engage_ok -f json
    fd=$(uffd_fds "$VPID")
    [[ $fd =~ ^[0-9]+$ ]] || fail "test premise: want one userfaultfd in $VPID after engage, got '$fd'"
    ps_ok "$BATS_TEST_TMPDIR/release.json" release "$VPID" -f json
    # exactly one line, and the whole record, field by field
    assert_equal "$(wc -l <"$BATS_TEST_TMPDIR/release.json")" 1
    run jq -e --argjson pid "$VPID" --arg comm "$comm" --argjson fd "$fd" \
        '. == {type: "release", pid: $pid, command: $comm, fd: $fd, copies_closed: []}' \
        "$BATS_TEST_TMPDIR/release.json"
    assert_success
    assert_output true
    run jq -r '.type, .pid, .command, .fd, (.copies_closed | type), (.copies_closed | length), (keys_unsorted | join(","))' \
        "$BATS_TEST_TMPDIR/release.json"
    assert_success
    assert_output "$(printf '%s\n' release "$VPID" "$comm" "$fd" array 0 type,pid,command,fd,copies_closed)"
    no_uffd_left "$VPID"
    # nothing is tracked any more
    vcmd "write a 10-20"
    ps_ok "$BATS_TEST_TMPDIR/out" dump "$VPID" -m written -f json
    check_dump_json "$BATS_TEST_TMPDIR/out"
    assert_equal "$(json_summary "$BATS_TEST_TMPDIR/out" regions)" 0
    # the text format (the default, and -f text) is unchanged
    local f
    for f in "" "-f text"; do
        engage_ok
        fd=$(uffd_fds "$VPID")
        [[ $fd =~ ^[0-9]+$ ]] || fail "test premise: want one userfaultfd in $VPID after engage, got '$fd'"
        # shellcheck disable=SC2086 # $f: no option, or two words
        ps_ok "$BATS_TEST_TMPDIR/release.out" release "$VPID" $f
        assert_equal "$(cat "$BATS_TEST_TMPDIR/release.out")" \
            "released process $VPID ($comm): closed userfaultfd fd $fd; its pages are no longer write-protected"
        no_uffd_left "$VPID"
    done
    vcmd "check a"
    victim_stop
}

@test "after engage: mprotect round trips keep tracking; unmapped and new mappings are handled" {
    victim_start
    vmap a anon 64
    vmap b anon 64
    engage_ok
    vcmd "protect a 0-15 r"
    vcmd "protect a 0-15 rw"
    vunmap b
    # a mapping made after engage is not tracked: its writes are never
    # reported as written (the kernel would call every page of it written)
    vmap c anon 16
    vcmd mark
    vcmd "write a 2-3,20"
    vcmd "write c all"
    victim_truth "$BATS_TEST_TMPDIR/truth"
    ranges_clip "${MSTART[a]}" "${MEND[a]}" <"$BATS_TEST_TMPDIR/truth" >"$BATS_TEST_TMPDIR/exp"
    ps_ok "$BATS_TEST_TMPDIR/out" dump "$VPID" -m written -f json
    check_dump_json "$BATS_TEST_TMPDIR/out"
    victim_ranges <"$BATS_TEST_TMPDIR/out" >"$BATS_TEST_TMPDIR/got"
    assert_ranges_equal "$BATS_TEST_TMPDIR/exp" "$BATS_TEST_TMPDIR/got"
    vcmd "check a"
}
