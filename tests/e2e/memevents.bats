#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Exact under memory events (issue 15): swap, reclaim, madvise, THP,
# hugetlb, KSM, mremap/mprotect/munmap, fork, kernel-side writes, mlock,
# MAP_POPULATE, memfd_secret, guard regions, untouched reservations.
# tests/targets/memevents performs each event on command and records the
# truth (the pages it stored to, itself or through the kernel); every round
# runs while `watch` is paused idle between two harvests (w_round), so each
# round must be exactly one interval. The outcome of every event is in
# docs/memory-events.md; a round whose expected set is not the truth says
# why (the kernel's answer differs) next to it.
# Tests that change the machine (swap, hugetlb pages, ksmd) restore it in
# teardown and skip only when the feature is missing.

load common
load watch_helpers

setup_file() {
    kernel_supports
}

setup() {
    common_setup
    RESTORE=()
}

teardown() {
    w_cleanup
    common_teardown
    local c
    local i
    for ((i = ${#RESTORE[@]} - 1; i >= 0; i--)); do
        eval "${RESTORE[i]}" || true
    done
}

# mev_start: start tests/targets/memevents in place of the victim (same
# line protocol: vcmd, vmap, victim_truth work on it).
mev_start() {
    VICTIM_PROG=memevents victim_start
}

# vtry CMD: send CMD; REPLY_LINE is the reply, "ok" or "err" (no failure).
vtry() {
    vsend "$1"
    IFS= read -r -t 60 REPLY_LINE <&"$VREPLY_FD" || fail "memevents: no reply to '$1'"
}

watch_json() {
    w_start watch "$VPID" -i 100ms -f json "$@"
}

# w_round_expect K EXPECTED-FILE CMD...: like w_round, but the interval
# must be EXPECTED-FILE (the kernel's answer, documented) instead of the
# truth; the truth is kept in $WDIR/truth.K for the test to compare.
w_round_expect() {
    local k=$1 exp=$2 c
    shift 2
    w_pause || return 1
    vcmd mark || return 1
    for c in "$@"; do
        vcmd "$c" || return 1
    done
    victim_truth "$WDIR/truth.$k" || return 1
    cp "$exp" "$WDIR/round.$k"
    echo "$((WPAUSED + 1)) $WDIR/round.$k" >>"$WDIR/rounds"
    w_resume
}

# pages_file NAME FIRST LAST > FILE: the range line of pages FIRST..LAST of NAME.
pages_file() {
    printf '0x%x 0x%x\n' $((MSTART[$1] + $2 * PAGE_SIZE)) $((MSTART[$1] + ($3 + 1) * PAGE_SIZE))
}

# w_done: end the watch with SIGINT and check every round.
w_done() {
    w_signal INT
    assert_equal "$WSTATUS" 0
    w_check --windows "$(w_windows)" --rounds "$WDIR/rounds" --reason signal
}

# round_counts K: the classification counts of round K's interval record
# (after w_done): "discarded D zero Z ksm M thp T".
round_counts() {
    local seq
    seq=$(awk -v f="$WDIR/round.$1" '$2 == f { print $1 }' "$WDIR/rounds")
    [[ -n $seq ]] || fail "no round $1"
    jq -r --argjson s "$seq" 'select(.type == "interval" and .seq == $s) |
        "discarded \(.discarded_pages) zero \(.zero_read_pages) ksm \(.ksm_merged_pages) thp \(.thp_filled_pages)"' "$WLOG"
}

# status_kb PID FIELD: a kB field of /proc/PID/status.
status_kb() {
    awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# ---------------------------------------------------------------------------
# 1. swap

# swap_setup: a zram swap device for the test (removed in teardown).
swap_setup() {
    [[ $EUID == 0 ]] || skip "needs root to swapon"
    if [[ -n $(swapon --noheadings --show=NAME 2>/dev/null) ]]; then
        SWAPDEV=
        return 0 # swap exists already: use it
    fi
    if [[ ! -e /sys/class/zram-control/hot_add ]]; then
        modprobe zram num_devices=0 2>/dev/null || true
        [[ -e /sys/class/zram-control/hot_add ]] || skip "no zram (CONFIG_ZRAM) to swap to"
        RESTORE+=("rmmod zram")
    fi
    local id
    id=$(cat /sys/class/zram-control/hot_add) || skip "cannot add a zram device"
    SWAPDEV=/dev/zram$id
    RESTORE+=("swapoff $SWAPDEV 2>/dev/null; echo $id > /sys/class/zram-control/hot_remove")
    echo 64M >"/sys/block/zram$id/disksize"
    mkswap "$SWAPDEV" >/dev/null
    swapon "$SWAPDEV"
}

@test "1 swap: written pages swapped out and in, between two harvests and across one" {
    swap_setup
    mev_start
    vmap x anon 64
    vcmd "write x all"
    vcmd mark
    watch_json
    # written, then swapped out before the harvest: still written
    w_round 1 "write x 0-9" "madv x all pageout"
    local swapped
    swapped=$(status_kb "$VPID" VmSwap)
    ((swapped >= 200)) || fail "test premise: pages were not swapped out (VmSwap $swapped kB)"
    # swapped in by a read: not a write
    w_round 2 "read x all"
    # swapped out across a harvest, then swapped in by a write
    w_round 3 "madv x all pageout" "write x 20-25" "write x 63"
    w_done
}

# ---------------------------------------------------------------------------
# 2. file reclaim

@test "2 reclaim: clean file pages of shared and private mappings dropped, read and written again" {
    [[ $EUID == 0 ]] || skip "needs root to drop caches"
    mev_start
    vmap f file 64
    vmap p pfile 64
    watch_json
    w_round 1 "write f 0-3" "write p 0-3"
    # every way of dropping clean page cache, then reads: nothing written
    w_pause
    vcmd mark
    vcmd "madv f all pageout"
    vcmd "madv p all pageout"
    vcmd "fadvise f"
    vcmd "fadvise p"
    sync
    echo 1 >/proc/sys/vm/drop_caches
    vcmd "read f all"
    vcmd "read p all"
    victim_truth "$WDIR/round.2"
    echo "$((WPAUSED + 1)) $WDIR/round.2" >>"$WDIR/rounds"
    w_resume
    w_round 3 "write f 10-12" "write p 10-12" "write p 0"
    w_done
}

# ---------------------------------------------------------------------------
# 3. MADV_DONTNEED / MADV_FREE / MADV_REMOVE

@test "3 madvise: DONTNEED, FREE, REMOVE on 4 KiB runs: zapped and re-read pages are not writes" {
    require_zero_page # its reads are reads only where the kernel maps the zero page
    mev_start
    vmap x anon 64
    vmap s shm 64
    vcmd "write x all"
    vcmd "write s all"
    vcmd mark
    watch_json
    # clean pages zapped, some read back (the zero page): no write
    w_round 1 "write x 0-3" "madv x 8-15 dontneed" "read x 8-11"
    # zapped pages written again: written
    w_round 2 "write x 12-13" "read x 14-15"
    # MADV_FREE: lazily freed clean pages, two written again
    w_round 3 "madv x 20-39 free" "write x 30-31" "read x 20-29"
    # shared memory hole punched (MADV_REMOVE), read and written back
    w_round 4 "madv s 0-7 remove" "read s 0-3" "write s 4-5"
    w_done
    # what the harvest classified (docs/memory-events.md): 8-15 zapped, of
    # which 8-11 read back (the zero page), 12-15 left empty: discarded
    assert_equal "$(round_counts 1)" "discarded 4 zero 4 ksm 0 thp 0"
    # 12-13 written, 14-15 (empty since the last harvest) read: zero page
    assert_equal "$(round_counts 2)" "discarded 0 zero 2 ksm 0 thp 0"
    # MADV_FREEd pages stay present and protected: nothing to classify
    assert_equal "$(round_counts 3)" "discarded 0 zero 0 ksm 0 thp 0"
    # the end record sums the intervals
    local total
    total=$(jq -r 'select(.type == "end") | "\(.discarded_pages) \(.zero_read_pages)"' "$WLOG")
    local sum
    sum=$(jq -rs '[.[] | select(.type == "interval")] | "\(map(.discarded_pages) | add) \(map(.zero_read_pages) | add)"' "$WLOG")
    assert_equal "$total" "$sum"
}

@test "3 madvise: a written page zapped before the harvest is not reported (the kernel cannot tell)" {
    mev_start
    vmap x anon 32
    vcmd "write x all"
    vcmd mark
    watch_json
    # pages 0-3 written, 2-3 then zapped: the kernel shows an empty entry,
    # the same as a never-written zapped page. pagescan reports 0-1 and
    # counts 2-3 as discarded (docs/memory-events.md).
    pages_file x 0 1 >"$WDIR/exp.1"
    w_round_expect 1 "$WDIR/exp.1" "write x 0-3" "madv x 2-3 dontneed"
    assert_equal "$(ranges_pages "$WDIR/truth.1")" 4
    w_round 2 "write x 3"
    w_done
    assert_equal "$(round_counts 1)" "discarded 2 zero 0 ksm 0 thp 0"
    # page 2 was already empty at the last harvest: not discarded again
    assert_equal "$(round_counts 2)" "discarded 0 zero 0 ksm 0 thp 0"
}

@test "3 madvise: MADV_DONTNEED of a whole 2 MiB THP, then reads and a write" {
    require_zero_page # its reads are reads only where the kernel maps the zero page
    mev_start
    vmap t thpfull 1024
    vcmd mark
    watch_json
    w_round 1 "madv t 0-511 dontneed" "read t 0-9"
    w_round 2 "write t 5" "read t 512-1023"
    # a write into the empty 2 MiB range: the fault allocates a whole huge
    # page, all 512 pages read written and the kernel does not say which
    # 4 KiB was stored to: reported whole (docs/memory-events.md#thp)
    pages_file t 512 1023 >"$WDIR/exp.3"
    w_round_expect 3 "$WDIR/exp.3" "madv t 512-1023 dontneed" "write t 600"
    assert_equal "$(ranges_pages "$WDIR/truth.3")" 1
    # then 4 KiB exact again (the write splits the huge page)
    w_round 4 "write t 601" "write t 1000"
    w_done
}

@test "3 madvise: dump -m written after engage: zapped and zero-page entries are not written, --clear keeps holes" {
    require_zero_page # its reads are reads only where the kernel maps the zero page
    local d=$BATS_TEST_TMPDIR
    mev_start
    vmap x anon 64
    vcmd "write x all"
    ps_ok "$d/engage.out" engage "$VPID"
    vcmd mark
    # zapped pages read back map the zero page; the others stay empty: the
    # kernel reports both written, dump does not
    vcmd "write x 0-3"
    vcmd "madv x 8-15 dontneed"
    vcmd "read x 8-11"
    victim_truth "$d/truth"
    ps_ok "$d/w.json" dump "$VPID" -m written -f json
    check_dump_json "$d/w.json"
    victim_ranges <"$d/w.json" >"$d/got"
    assert_ranges_equal "$d/truth" "$d/got"
    # --clear re-protects the written pages and no hole; a later write into
    # a hole is a new page: reported
    ps_ok "$d/w.json" dump "$VPID" -m written --clear -f json
    victim_ranges <"$d/w.json" >"$d/got"
    assert_ranges_equal "$d/truth" "$d/got"
    vcmd mark
    vcmd "write x 14"
    vcmd "read x 15"
    victim_truth "$d/truth"
    ps_ok "$d/w.json" dump "$VPID" -m written -f json
    victim_ranges <"$d/w.json" >"$d/got"
    assert_ranges_equal "$d/truth" "$d/got"
    # a mask whose any-of group may match holes cannot be combined with --clear
    run --separate-stderr "$PAGESCAN" dump "$VPID" -m 'written,!present|swapped' --clear
    assert_failure 1
    [[ $stderr == *"could write-protect empty entries"* ]] || fail "no reason given: $stderr"
}

# ---------------------------------------------------------------------------
# 4. transparent huge pages

@test "4 THP: huge zero page read, one 4 KiB of a PMD-mapped THP written, MADV_COLLAPSE" {
    [[ -r /sys/kernel/mm/transparent_hugepage/enabled ]] || skip "no transparent huge pages"
    mev_start
    vmap z thp 1024
    vmap t thpfull 512
    vcmd mark
    local huge
    huge=$(awk '/^AnonHugePages:/ { print $2 }' "/proc/$VPID/smaps_rollup")
    ((huge >= 2048)) || skip "no THP backing here (AnonHugePages $huge kB)"
    watch_json
    w_round 1 "read z all"
    w_round 2 "write z 3" "write t 100"
    # collapse while tracked: whatever the kernel does, nothing was written
    w_pause
    vcmd mark
    vtry "madv t all collapse"
    echo "collapse: $REPLY_LINE" >&3
    victim_truth "$WDIR/round.3"
    echo "$((WPAUSED + 1)) $WDIR/round.3" >>"$WDIR/rounds"
    w_resume
    w_round 4 "write t 101" "write t 400"
    w_done
}

# ---------------------------------------------------------------------------
# 5. hugetlb

@test "5 hugetlb: a write reports its whole 2 MiB huge page (the kernel's granularity)" {
    [[ $EUID == 0 ]] || skip "needs root for vm.nr_hugepages"
    [[ -w /proc/sys/vm/nr_hugepages ]] || skip "no hugetlb (CONFIG_HUGETLBFS)"
    local old
    old=$(cat /proc/sys/vm/nr_hugepages)
    RESTORE+=("echo $old > /proc/sys/vm/nr_hugepages")
    echo $((old + 4)) >/proc/sys/vm/nr_hugepages
    (($(cat /proc/sys/vm/nr_hugepages) >= old + 2)) || skip "could not reserve huge pages"
    mev_start
    vmap h hugetlb 1024
    # populated before tracking (no unpopulated hugetlb entries to arm)
    vcmd "write h every:512"
    vcmd mark
    watch_json
    pages_file h 0 511 >"$WDIR/exp.1"
    w_round_expect 1 "$WDIR/exp.1" "write h 3"
    w_round 2 "read h all"
    w_done
    assert_equal "$(ranges_pages "$WDIR/truth.1")" 1
    # and pagescan says so, once
    assert_equal "$(grep -c "maps hugetlb memory (/anon_hugepage (deleted) at ${MSTART[h]})" "$WDIR/stderr")" 1
}

# ---------------------------------------------------------------------------
# 6. KSM

# ksm_setup: skip without root or KSM; restore ksmd's settings in teardown.
ksm_setup() {
    [[ $EUID == 0 ]] || skip "needs root for ksmd and /proc/kpageflags"
    [[ -w /sys/kernel/mm/ksm/run ]] || skip "no KSM (CONFIG_KSM)"
    local k=/sys/kernel/mm/ksm v
    # Stopped (run 0), ksmd keeps the stable nodes of what it merged:
    # pages_shared stays above 0 after the victim is gone, and pagescan
    # then reads every process's ksm_stat at each harvest. When nothing was
    # merged before, unmerge all (run 2) once the settings are back.
    if [[ $(<"$k/run") == 0 && $(<"$k/pages_shared") == 0 ]]; then
        RESTORE+=("echo 2 > $k/run; echo 0 > $k/run")
    fi
    for v in run pages_to_scan sleep_millisecs; do
        RESTORE+=("echo $(cat $k/$v) > $k/$v")
    done
}

# ksm_pages PID ADDR N: how many of the N pages from ADDR are KSM pages now
# (/proc/PID/pagemap frame numbers, /proc/kpageflags bit 21).
ksm_pages() {
    python3 -S - "$@" <<'PY'
import os, struct, sys
pid, addr, n = int(sys.argv[1]), int(sys.argv[2], 0), int(sys.argv[3])
page = int(os.environ.get("PAGE_SIZE", "4096"))
k = 0
with open("/proc/%d/pagemap" % pid, "rb") as pm, open("/proc/kpageflags", "rb") as kf:
    for i in range(n):
        pm.seek((addr // page + i) * 8)
        e = struct.unpack("<Q", pm.read(8))[0]
        if not e >> 63 or not e & ((1 << 55) - 1):
            continue
        kf.seek((e & ((1 << 55) - 1)) * 8)
        k += struct.unpack("<Q", kf.read(8))[0] >> 21 & 1
print(k)
PY
}

# ksm_merge ADDR N WANT: run ksmd fast until WANT of the N pages from ADDR
# are KSM pages (a test premise: fails after 20 s).
ksm_merge() {
    local k=/sys/kernel/mm/ksm i n=0
    echo 1000 >$k/pages_to_scan
    echo 10 >$k/sleep_millisecs
    echo 1 >$k/run
    for ((i = 0; i < 400; i++)); do
        n=$(ksm_pages "$VPID" "$1" "$2")
        ((n == $3)) && return 0
        sleep 0.05
    done
    fail "test premise: ksmd merged $n of the $2 pages from $1 (want $3)"
}

@test "6 KSM: merged pages are not writes; a write to a merged page is" {
    ksm_setup
    local k=/sys/kernel/mm/ksm
    mev_start
    vmap k anon 256
    vcmd "fill k all 0x42"
    vcmd mark
    watch_json
    w_pause
    vcmd mark
    vcmd "madv k all mergeable"
    echo 1000 >$k/pages_to_scan
    echo 10 >$k/sleep_millisecs
    echo 1 >$k/run
    local i m=0
    for ((i = 0; i < 400; i++)); do
        m=$(awk '$1 == "ksm_merging_pages" { print $2 }' "/proc/$VPID/ksm_stat")
        ((m >= 200)) && break
        sleep 0.05
    done
    ((m >= 200)) || fail "test premise: ksmd merged only $m pages"
    victim_truth "$WDIR/round.1"
    echo "$((WPAUSED + 1)) $WDIR/round.1" >>"$WDIR/rounds"
    w_resume
    w_round 2 "write k 5-6" "read k all"
    w_done
    # the merges are counted, not reported, and said once on stderr
    local merged
    merged=$(round_counts 1)
    merged=${merged#*ksm }
    merged=${merged%% *}
    ((merged >= 200)) || fail "round 1 counts $(round_counts 1): fewer than 200 KSM-merged pages"
    assert_equal "$(grep -c 'KSM merged' "$WDIR/stderr")" 1
}

@test "6 KSM: a page written and merged again within one interval reads as a merge (the kernel keeps no trace of the store)" {
    ksm_setup
    mev_start
    vmap k anon 64
    vcmd "fill k all 0x42"
    vcmd "madv k all mergeable"
    ksm_merge "${MSTART[k]}" 64 64
    vcmd mark
    watch_json
    w_round 1 "read k all"
    # stores of the same bytes into pages 5-6 break the sharing (copy on
    # write: private pages, written); ksmd then merges them again before
    # the harvest: the merge replaces the entry without the write-protect
    # bit and frees the written copy, so the entry of a page written and
    # merged again is the entry of a page merged without a store
    w_pause
    vcmd mark
    vcmd "fill k 5-6 0x42"
    # (a KSM page is mapped read-only: each store faulted and copied it;
    # ksmd may have merged the copies again already)
    ksm_merge $((MSTART[k] + 5 * PAGE_SIZE)) 2 2
    victim_truth "$WDIR/truth.2"
    : >"$WDIR/round.2"
    echo "$((WPAUSED + 1)) $WDIR/round.2" >>"$WDIR/rounds"
    w_resume
    # a store that stays (different bytes) is seen
    w_round 3 "fill k 7 0x43"
    w_done
    assert_equal "$(ranges_pages "$WDIR/truth.2")" 2
    local c
    c=$(round_counts 2)
    c=${c#*ksm }
    assert_equal "${c%% *}" 2
}

# page_frames PID ADDR N: the frame number of each of the N pages from ADDR,
# one per line (0: not present).
page_frames() {
    python3 -S - "$@" <<'PY'
import os, struct, sys
pid, addr, n = int(sys.argv[1]), int(sys.argv[2], 0), int(sys.argv[3])
page = int(os.environ.get("PAGE_SIZE", "4096"))
with open("/proc/%d/pagemap" % pid, "rb") as pm:
    for i in range(n):
        pm.seek((addr // page + i) * 8)
        e = struct.unpack("<Q", pm.read(8))[0]
        print(e & ((1 << 55) - 1) if e >> 63 else 0)
PY
}

@test "6 KSM: pages merged and unmerged (MADV_UNMERGEABLE) within one interval read as written" {
    ksm_setup
    local k=/sys/kernel/mm/ksm n=0
    mev_start
    vmap k anon 64
    vcmd "fill k all 0x42"
    vcmd mark
    watch_json
    w_round 1 "read k all"
    w_pause
    vcmd mark
    page_frames "$VPID" "${MSTART[k]}" 64 >"$WDIR/frames.before"
    vcmd "madv k all mergeable"
    ksm_merge "${MSTART[k]}" 64 64
    echo 0 >$k/run
    page_frames "$VPID" "${MSTART[k]}" 64 >"$WDIR/frames.merged"
    # the unmerge copies each KSM page (an unsharing fault, which keeps the
    # entry's write-protect bit: the merge left none on the pages it
    # replaced)
    vcmd "madv k all unmergeable"
    n=$(ksm_pages "$VPID" "${MSTART[k]}" 64)
    ((n == 0)) || fail "test premise: $n of 64 pages still KSM pages after MADV_UNMERGEABLE"
    victim_truth "$WDIR/truth.2"
    # expected: the pages whose frame the merge replaced (all but the one
    # ksmd made the KSM page in place, which kept its bit)
    paste "$WDIR/frames.before" "$WDIR/frames.merged" | awk '$1 != $2 { print NR - 1 }' |
        while read -r i; do pages_file k "$i" "$i"; done >"$WDIR/round.2"
    n=$(wc -l <"$WDIR/round.2")
    ((n >= 32)) || fail "test premise: the merge replaced only $n of 64 frames"
    echo "$((WPAUSED + 1)) $WDIR/round.2" >>"$WDIR/rounds"
    w_resume
    w_round 3 "write k 7"
    # merged in one interval, unmerged in the next: the harvest between
    # them re-protected the KSM pages, so the copies keep their bit: exact
    w_pause
    vcmd mark
    vcmd "madv k all mergeable"
    ksm_merge "${MSTART[k]}" 64 63
    echo 0 >$k/run
    victim_truth "$WDIR/round.4"
    echo "$((WPAUSED + 1)) $WDIR/round.4" >>"$WDIR/rounds"
    w_resume
    w_round 5 "madv k all unmergeable"
    w_done
    assert_equal "$(ranges_pages "$WDIR/truth.2")" 0
}

# ---------------------------------------------------------------------------
# 7. mremap, mprotect, munmap

@test "7 mprotect read-only and back, munmap of part: exact, registration follows" {
    mev_start
    vmap m anon 64
    vcmd "write m all"
    vcmd mark
    watch_json
    w_round 1 "write m 0-9"
    w_round 2 "protect m 0-9 r" "read m 0-9"
    w_round 3 "protect m 0-9 rw" "write m 5" "write m 20"
    w_round 4 "unmap m 30-39" "write m 40" "write m 29"
    w_done
    no_uffd_left "$VPID"
}

@test "7 munmap: pages stored to and unmapped before the next tick are not reported (their memory is gone)" {
    mev_start
    vmap m anon 64
    vcmd "write m all"
    vcmd mark
    watch_json
    w_round 1 "write m 0-9"
    # Round 2: pages 40-49 stored to and unmapped in one interval, page 20
    # stored to: the interval holds page 20 alone (a work buffer that a
    # program maps, fills and unmaps between two ticks is never seen).
    w_pause
    vcmd mark
    vcmd "write m 40-49"
    vcmd "unmap m 40-49"
    vcmd "write m 20"
    pages_file m 20 20 >"$WDIR/round.2"
    echo "$((WPAUSED + 1)) $WDIR/round.2" >>"$WDIR/rounds"
    w_resume
    w_round 3 "write m 50" "write m 30"
    w_done
    no_uffd_left "$VPID"
}

# mremap_round K NAME PAGES EXPECTED-FIRST-LAST|- CMD...: round K moves NAME
# to a new place with PAGES pages, then runs CMD...; the interval must be
# the pages FIRST-LAST of NAME at its new place (or nothing: -) instead of
# the truth, which is kept in $WDIR/truth.K (docs/memory-events.md#mremap).
mremap_round() {
    local k=$1 name=$2 pages=$3 exp=$4 c
    shift 4
    w_pause || return 1
    vcmd mark || return 1
    vcmd "mremap $name $pages" || return 1
    MSTART[$name@$k]=${MSTART[$name]} MEND[$name@$k]=${MEND[$name]}
    MSTART[$name]=$(awk '{ print $2 }' <<<"$REPLY_LINE")
    MEND[$name]=$(awk '{ print $3 }' <<<"$REPLY_LINE")
    for c in "$@"; do
        vcmd "$c" || return 1
    done
    victim_truth "$WDIR/truth.$k" || return 1
    if [[ $exp == - ]]; then
        : >"$WDIR/round.$k"
    else
        pages_file "$name" "${exp%-*}" "${exp#*-}" >"$WDIR/round.$k"
    fi
    echo "$((WPAUSED + 1)) $WDIR/round.$k" >>"$WDIR/rounds"
    w_resume
}

# round_remapped K: remapped_pages of round K's interval record (after w_done).
round_remapped() {
    local seq
    seq=$(awk -v f="$WDIR/round.$1" '$2 == f { print $1 }' "$WDIR/rounds")
    [[ -n $seq ]] || fail "no round $1"
    jq -r --argjson s "$seq" 'select(.type == "interval" and .seq == $s) | .remapped_pages' "$WLOG"
}

@test "7 mremap: moved pages are remapped, not written; pages written past the old length or into holes are writes" {
    mev_start
    vmap m anon 64
    vcmd "write m all"
    # 4 MiB with 68 pages populated: 2 MiB stretches without a page table
    vmap g anon 1024
    vcmd "write g 0-63"
    vcmd "write g 1020-1023"
    vcmd mark
    watch_json
    w_round 1 "write m 0-9"
    # a move: nothing stored; the 64 present pages were moved, not written
    mremap_round 2 m 64 -
    # the new place is tracked: exact again
    w_round 3 "write m 3" "read m 10"
    # grow with a move: the 64 moved pages are remapped; 70-71, past the
    # old length, were written after the move
    mremap_round 4 m 80 70-71 "write m 70-71"
    # a move, then stores to two moved pages and to one that was a hole:
    # the kernel keeps no trace of a store to a moved page (the move
    # cleared every write-protect bit), so pages 5-6 are counted with the
    # 66 remapped ones, not as writes; page 75, empty at the last harvest,
    # is a write
    mremap_round 5 m 80 75-75 "write m 5-6" "write m 75"
    w_round 6 "write m 79" "write m 0"
    # a sparse mapping moved, with a store past the old length: its 68
    # pages are remapped (stretches that had no page table are no trace
    # of pages that vanished)
    mremap_round 7 g 1100 1050-1050 "write g 1050"
    w_round 8 "write g 10" "write g 500"
    w_done
    assert_equal "$(ranges_pages "$WDIR/truth.5")" 3
    assert_equal "$(round_remapped 1) $(round_remapped 2) $(round_remapped 3)" "0 64 0"
    assert_equal "$(round_remapped 4) $(round_remapped 5) $(round_remapped 6)" "64 66 0"
    assert_equal "$(round_remapped 7) $(round_remapped 8)" "68 0"
    # said once on stderr
    assert_equal "$(grep -c 'moved a tracked mapping (mremap)' "$WDIR/stderr")" 1
    # the end record sums them
    assert_equal "$(w_end_field remapped_pages)" 262
    no_uffd_left "$VPID"
}

# shared_rounds KIND: a shared mapping (shm or file) whose pages lose their
# entries without a write-protect marker: later reads there are not writes.
shared_rounds() {
    mev_start
    vmap s "$1" 64
    vcmd "write s all"
    vcmd mark
    watch_json
    # a written page loses its entry to MADV_DONTNEED (no marker is left
    # in it: it was not protected); its data stays in the file
    : >"$WDIR/none"
    w_round_expect 1 "$WDIR/none" "write s 3" "madv s 3 dontneed"
    # shrinking unmaps the tail with its markers; growing back in place
    # keeps the registration, and the entries come back without markers
    w_round 2 "resize s 16" "resize s 64"
    w_round 3 "read s all"
    w_round 4 "write s 40" "read s 3"
    w_done
}

@test "7 shared memory: zapped after a write, shrunk and grown again in place in one interval: later reads are not writes" {
    shared_rounds shm
}

@test "7 a shared file: zapped after a write, shrunk and grown again in place in one interval: later reads are not writes" {
    shared_rounds file
}

@test "7 mremap: an munmap and a new mmap in one tick are no move: the new mapping's writes are exact" {
    mev_start
    vmap m anon 64
    vcmd "write m all"
    vcmd mark
    watch_json
    w_round 1 "write m 0-9"
    # a new mapping of the same size and protection (placed while m is
    # still mapped: elsewhere), m unmapped, stores into the new one in
    # the same tick: m held 64 pages, the new one has 10: no move
    w_pause
    vcmd mark
    vmap n anon 64
    vcmd "unmap m all"
    vcmd "write n 0-9"
    victim_truth "$WDIR/round.2"
    echo "$((WPAUSED + 1)) $WDIR/round.2" >>"$WDIR/rounds"
    w_resume
    w_round 3 "write n 5" "write n 25"
    # a new mapping in n's very place (mmap MAP_FIXED over it), stores
    w_round 4 "fresh n" "write n 20-29"
    w_round 5 "write n 5" "write n 25"
    w_done
    assert_equal "$(round_remapped 2) $(round_remapped 3) $(round_remapped 4)" "0 0 0"
    [[ $(cat "$WDIR/stderr") != *"(mremap)"* ]] || fail "a move was reported: $(cat "$WDIR/stderr")"
}

# ---------------------------------------------------------------------------
# 8. fork

@test "8 fork: the parent's copy-on-write breaks are its writes, the child's are not" {
    mev_start
    vmap f anon 64
    vcmd "write f all"
    vcmd mark
    watch_json
    w_round 1 "fork f 0-3 10-13"
    w_round 2 "write f 10" "read f all"
    w_done
    no_uffd_left "$VPID"
}

# ---------------------------------------------------------------------------
# 9. kernel-side writes

@test "9 kernel writes: read(2), O_DIRECT, vmsplice, process_vm_writev into populated and unpopulated pages" {
    mev_start
    vmap b anon 64
    vmap c anon 64
    vcmd "write b all"
    vcmd mark
    watch_json
    w_round 1 "sysread b 0-1" "direct b 2-3" "vmsplice b 4-5" "pvwrite b 6-7"
    w_round 2 "sysread c 0-1" "direct c 2-3" "vmsplice c 4-5" "pvwrite c 6-7"
    w_done
}

@test "9 io_uring: a buffer registered while tracked reads written once; later fixed reads are invisible" {
    mev_start
    vmap u anon 16
    vcmd "write u all"
    vcmd mark
    watch_json
    w_pause
    vcmd mark
    vtry "uring_reg u"
    [[ $REPLY_LINE == ok* ]] || { w_signal INT; skip "io_uring unavailable: $REPLY_LINE"; }
    victim_truth "$WDIR/truth.1"
    # registering pins with FOLL_WRITE: a write fault on every page
    pages_file u 0 15 >"$WDIR/round.1"
    echo "$((WPAUSED + 1)) $WDIR/round.1" >>"$WDIR/rounds"
    w_resume
    # the kernel writes through its own mapping of the pinned pages: no
    # page table entry changes, nothing to see (docs/memory-events.md)
    : >"$WDIR/none"
    w_round_expect 2 "$WDIR/none" "uring_read u 0-3"
    assert_equal "$(ranges_pages "$WDIR/truth.2")" 4
    w_done
}

@test "9 io_uring: a buffer pinned before tracking started, written by I/O afterwards, is invisible" {
    mev_start
    vmap u anon 16
    vcmd "write u all"
    vtry "uring_reg u"
    [[ $REPLY_LINE == ok* ]] || skip "io_uring unavailable: $REPLY_LINE"
    vcmd mark
    watch_json
    : >"$WDIR/none"
    w_round_expect 1 "$WDIR/none" "uring_read u 0-3"
    assert_equal "$(ranges_pages "$WDIR/truth.1")" 4
    # a store by the program itself is seen
    w_round 2 "write u 9"
    w_done
}

# ---------------------------------------------------------------------------
# 10. mlock, MAP_POPULATE, memfd_secret, guard regions

@test "10 mlock and MAP_POPULATE: exact" {
    mev_start
    vmap l locked 32
    vmap p populate 32
    vcmd "write l all"
    vcmd mark
    watch_json
    w_round 1 "write l 3" "read p all" "write p 7"
    w_round 2 "read l all" "write p 0-1"
    w_done
}

@test "10 memfd_secret: refused with a reason, or exact" {
    mev_start
    vtry "map s secret 8"
    [[ $REPLY_LINE == ok* ]] || skip "no memfd_secret here: $REPLY_LINE"
    read -r _ MSTART[s] MEND[s] <<<"$REPLY_LINE"
    watch_json
    w_round 1 "write s 1"
    w_done
}

@test "10 guard regions: installed and removed while tracked, never writes" {
    require_zero_page # its reads are reads only where the kernel maps the zero page
    mev_start
    vmap g anon 32
    vcmd "write g all"
    vcmd mark
    vtry "madv g 30 guard_install"
    [[ $REPLY_LINE == ok* ]] || skip "no MADV_GUARD_INSTALL: $REPLY_LINE"
    vcmd "madv g 30 guard_remove"
    watch_json
    w_round 1 "madv g 0-3 guard_install" "write g 10"
    w_round 2 "write g 11"
    w_round 3 "madv g 0-3 guard_remove" "read g 0-1"
    w_round 4 "write g 2"
    w_done
}

# ---------------------------------------------------------------------------
# issue 14 point 3: untouched memory costs nothing

@test "64 GiB untouched reservation: page tables bounded while watched and after, reads not writes, writes exact" {
    require_zero_page # its reads are reads only where the kernel maps the zero page
    mev_start
    vmap r reserve 16777216
    vcmd "write r 0"
    vcmd mark
    local before during after
    before=$(status_kb "$VPID" VmPTE)
    watch_json
    w_round 1 "read r 1000-1009" "write r 5000" "write r 16777215"
    w_round 2 "read r 5000" "read r 200000-200009"
    during=$(status_kb "$VPID" VmPTE)
    # idle intervals: the harvest of the idle reservation is cheap
    w_until_seq $((WSEQ + 3))
    local idle
    idle=$(jq -r 'select(.type == "interval") | .harvest_us' "$WLOG" | tail -n 2 | sort -n | head -n 1)
    w_done
    after=$(status_kb "$VPID" VmPTE)
    echo "VmPTE before $before during $during after $after kB; idle harvest $idle us" >&3
    # the pages touched need a few page tables of their own (reads map the
    # zero page): allow 64 kB; arming holes would cost 131,072 kB
    ((during - before < 1024)) || fail "VmPTE grew by $((during - before)) kB while watched"
    ((after - before < 1024)) || fail "VmPTE grew by $((after - before)) kB after the watch"
    ((idle < 5000)) || fail "idle harvest of the reservation took $idle us"
    # reads of holes map the zero page: zero-page reads, not writes; a read
    # of a written page is nothing
    assert_equal "$(round_counts 1)" "discarded 0 zero 10 ksm 0 thp 0"
    assert_equal "$(round_counts 2)" "discarded 0 zero 10 ksm 0 thp 0"
}

# memcg_cap BYTES: move the victim into a memory cgroup of its own limited
# to BYTES (cgroup v2 memory.max, or v1 memory.limit_in_bytes); removed in
# teardown. Page tables are charged to it, so a regression that armed holes
# again would end the victim, not the machine. Skips without a memory
# controller.
memcg_cap() {
    local root= d
    root=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
    if [[ -n $root && -w $root && " $(cat "$root/cgroup.subtree_control" 2>/dev/null) " == *" memory "* ]]; then
        d=$root/pagescan-memcg-$$-$BATS_TEST_NUMBER
        mkdir "$d" && RESTORE+=("rmdir $d")
        echo "$1" >"$d/memory.max"
    else
        root=$(awk '$9 == "cgroup" && $NF ~ /(^|,)memory(,|$)/ { print $5; exit }' /proc/self/mountinfo)
        [[ -n $root && -w $root ]] || skip "no memory cgroup controller to cap the target with"
        d=$root/pagescan-memcg-$$-$BATS_TEST_NUMBER
        mkdir "$d" && RESTORE+=("rmdir $d")
        echo "$1" >"$d/memory.limit_in_bytes"
    fi
    echo "$VPID" >"$d/cgroup.procs"
}

@test "an AddressSanitizer-built program (14 TiB of writable shadow reserved): watched exactly, page tables bounded while watched and after" {
    require_zero_page # its reads are reads only where the kernel maps the zero page
    [[ -x $TARGETS/victim_asan ]] || skip "the compiler cannot build with -fsanitize=address (no victim_asan)"
    ASAN_OPTIONS=detect_leaks=0 VICTIM_PROG=victim_asan victim_start
    memcg_cap $((1 << 30))
    vmap a anon 256
    vcmd "write a 0-9"
    # the premise: a writable reservation of terabytes (ASan's shadow)
    local big
    big=$(python3 -S -c 'import sys
print(max(int(b, 16) - int(a, 16) for a, b in (l.split()[0].split("-") for l in open(sys.argv[1]) if l.split()[1].startswith("rw"))))' "/proc/$VPID/maps")
    ((big >= 1 << 40)) || fail "victim_asan has no writable reservation of 1 TiB or more (largest: $big bytes)"
    local before during after
    before=$(status_kb "$VPID" VmPTE)
    # each harvest walks the 14 TiB (tens of ms): room to catch it idle
    watch_json -i 300ms
    w_round 1 "write a 5,20-29" "read a 100-109"
    w_round 2 "write a 255" "threads 4 a 30-99"
    during=$(status_kb "$VPID" VmPTE)
    w_done
    after=$(status_kb "$VPID" VmPTE)
    local harvest
    harvest=$(jq -r 'select(.type == "interval") | .harvest_us' "$WLOG" | sort -n | tail -n 1)
    echo "VmPTE before $before during $during after $after kB; slowest harvest $harvest us" >&3
    # arming the shadow would need about 28 GiB of page tables
    ((during - before < 2048)) || fail "VmPTE grew by $((during - before)) kB while watched"
    ((after - before < 2048)) || fail "VmPTE grew by $((after - before)) kB after the watch"
    vcmd "check a"
}

# ---------------------------------------------------------------------------
# 12. edge pages of growing mappings (followed by their bytes)

@test "12 edge pages: an arena's last page discarded is not written; written and made PROT_NONE in one interval, it is" {
    mev_start
    # the last page of a writable piece right below a PROT_NONE reservation
    # is kept unregistered and followed by its bytes (docs/kernel-interfaces.md#merging)
    vmap a arena 16
    vcmd "write a 0-14"
    vcmd mark
    watch_json
    w_round 1 "write a 3" "write a 15"
    # a discard zeroes the page: bytes changed, but nothing was stored
    w_round 2 "madv a 12-15 dontneed"
    w_round 3 "write a 15"
    # written, then cut off as a PROT_NONE mapping of its own: compared once more
    # (through /proc/PID/mem: process_vm_readv cannot read it)
    w_round 4 "write a 15" "protect a 15 none"
    w_round 5 "protect a 15 rw"
    w_round 6 "write a 15" "write a 2"
    w_done
}

@test "12 edge pages: the first page of a mapping placed right below another, discarded (MADV_DONTNEED, MADV_FREE and reclaim) is not written; written and made PROT_NONE in one interval, it is" {
    mev_start
    vmap x anon 32
    vcmd "write x all"
    vcmd mark
    watch_json
    # top-down placement: learned as growth at the next sync, its first
    # page kept unregistered (a head) and followed by its bytes
    w_pause
    vmap m below:x 8
    vcmd mark
    w_resume
    w_round 1 "write m all"
    w_round 2 "madv m 0-3 dontneed"
    w_round 3 "write m 0"
    w_round 4 "madv m 0 free" "madv m 0 pageout"
    w_round 5 "write m 0" "write m 5" "protect m all none"
    w_round 6 "protect m all rw"
    w_round 7 "write m 0" "write m 6"
    w_done
}

# ---------------------------------------------------------------------------
# 11. known kernel bugs

@test "11 kernel versions with known PAGEMAP_SCAN/uffd-wp bugs: warned once, naming the version and the fix" {
    local twin=$BUILD_DIR/test-hooks/pagescan
    [[ -x $twin ]] || skip "no test twin at $twin (configure with -DPAGESCAN_TEST_HOOKS=ON)"
    mev_start
    vmap x anon 8
    PAGESCAN_TEST_KERNEL_RELEASE=6.8.9-300.fc40.x86_64 run -0 --separate-stderr \
        "$twin" watch "$VPID" -i 100ms -n 2 -q
    [[ $stderr == *"Linux 6.8.9-300.fc40.x86_64 has a known kernel bug: closing the userfaultfd"* ]] ||
        fail "no warning about the close bug on 6.8.9: $stderr"
    [[ $stderr == *"c88033efe9a3"*"in 6.9 and 6.8.10"* ]] || fail "the fix is not named: $stderr"
    assert_equal "$(grep -c 'closing the userfaultfd' <<<"$stderr")" 1
    # 6.8.10 has the close bug fixed, not the huge zero page one (6.12.36)
    PAGESCAN_TEST_KERNEL_RELEASE=6.8.10 run -0 --separate-stderr "$twin" watch "$VPID" -i 100ms -n 2 -q
    [[ $stderr != *"closing the userfaultfd"* ]] || fail "warned about the close bug on 6.8.10: $stderr"
    assert_equal "$(grep -c 'known kernel bug' <<<"$stderr")" 1
    [[ $stderr == *"Linux 6.8.10 has a known kernel bug: the huge zero page"*"4a5e85f4eb8f"*"6.15.5 and 6.12.36"* ]] ||
        fail "no warning about the huge zero page on 6.8.10: $stderr"
    PAGESCAN_TEST_KERNEL_RELEASE=6.12.36 run -0 --separate-stderr "$twin" watch "$VPID" -i 100ms -n 2 -q
    [[ $stderr != *"known kernel bug"* ]] || fail "warned on a fixed kernel: $stderr"
    # a watch of several processes says it once too, not once more for its first process
    PAGESCAN_TEST_KERNEL_RELEASE=6.8.10 run -0 --separate-stderr "$twin" watch --tree "$VPID" -i 100ms -n 1 -q
    assert_equal "$(grep -c 'known kernel bug' <<<"$stderr")" 1
    # the real kernel: this one is not listed
    run -0 --separate-stderr "$PAGESCAN" watch "$VPID" -i 100ms -n 1 -q
    [[ $stderr != *"known kernel bug"* ]] || fail "warned on $(uname -r): $stderr"
}

@test "11 a kernel that maps no zero page on a read fault is named once per command, and only such a kernel" {
    mev_start
    vmap x anon 8
    # the real kernel, against the test program's own probe of it
    run -0 --separate-stderr "$PAGESCAN" watch "$VPID" -i 100ms -n 1 -q
    local want=1 why
    why=$("$TARGETS/kfeatures" zeropage) && want=0
    assert_equal "$(grep -c "$ZERO_PAGE_NOTE" <<<"$stderr")" "$want"
    local twin=$BUILD_DIR/test-hooks/pagescan
    [[ -x $twin ]] || skip "no test twin at $twin (configure with -DPAGESCAN_TEST_HOOKS=ON)"
    # told there is none: once, with where to read more, in watch, watch --tree and run
    for cmd in "watch $VPID -i 100ms -n 1 -q" "watch --tree $VPID -i 100ms -n 1 -q" "run -q -- true"; do
        # shellcheck disable=SC2086 # the words of cmd are arguments
        PAGESCAN_TEST_NO_ZERO_PAGE=1 run -0 --separate-stderr "$twin" $cmd
        assert_equal "$(grep -c "$ZERO_PAGE_NOTE" <<<"$stderr")" 1
        [[ $stderr == *"a read of never-touched private memory allocates a page, and pagescan reports it as written (docs/memory-events.md#reads-that-allocate)"* ]] ||
            fail "$cmd: the note does not say what it means: $stderr"
    done
    # engage says it too; a command that fails says only why, in one line
    PAGESCAN_TEST_NO_ZERO_PAGE=1 run -0 --separate-stderr "$twin" engage "$VPID"
    assert_equal "$(grep -c "$ZERO_PAGE_NOTE" <<<"$stderr")" 1
    PAGESCAN_TEST_NO_ZERO_PAGE=1 run -1 --separate-stderr "$twin" engage "$VPID"
    assert_regex "$stderr" "^pagescan: process $VPID is already tracked by pagescan engage [^"$'\n'"]*\$"
    run -0 "$PAGESCAN" release "$VPID"
}
