#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# pagescan's footprint on the target's address space (issue 14, points 1-2):
# a heap grown by sbrk while tracked stays within the documented number of
# mappings (README "What it costs"), during and after, with every written
# page reported; huge pages that tracking split are counted and collapsed
# again at the end; near vm.max_map_count pagescan engages nothing new and
# says so, and the target's own mmap calls go on succeeding.
#
# The target is tests/targets/brk_grow (commands over fifos; it records the
# truth of what it wrote). Synchronisation: fifo replies and the watch's
# interval records, never sleeps.

# shellcheck disable=SC2153,SC2154 # WDIR, WSEQ...: watch_helpers; status, output: bats
load common
load watch_helpers

setup_file() {
    kernel_supports
}

teardown() {
    w_cleanup
    if [[ -n ${FP_OLD_MAX_MAP_COUNT:-} ]]; then
        echo "$FP_OLD_MAX_MAP_COUNT" >/proc/sys/vm/max_map_count
        FP_OLD_MAX_MAP_COUNT=
    fi
    if [[ -n ${TPID:-} ]]; then
        kill -KILL "$TPID" 2>/dev/null || true
        wait "$TPID" 2>/dev/null || true
        TPID=
    fi
    common_teardown
}

# t_start: start brk_grow with its fifos; sets TPID, TDIR.
t_start() {
    TDIR=$BATS_TEST_TMPDIR/t
    mkdir -p "$TDIR"
    mkfifo "$TDIR/cmd" "$TDIR/reply"
    "$TARGETS/brk_grow" "$TDIR/cmd" "$TDIR/reply" "$TDIR/truth" </dev/null >"$TDIR/stdout" 2>"$TDIR/stderr" 3>&- &
    TPID=$!
    exec {TCMD_FD}<>"$TDIR/cmd"
    exec {TREPLY_FD}<>"$TDIR/reply"
}

# t_cmd "CMD": one command; its reply in T_REPLY (without "ok"), fails on "err".
t_cmd() {
    printf '%s\n' "$1" >&"$TCMD_FD"
    local line
    IFS= read -r -t 120 line <&"$TREPLY_FD" || { fail "brk_grow: no reply to '$1' (stderr: $(cat "$TDIR/stderr"))"; return 1; }
    [[ $line == ok* ]] || { fail "brk_grow: '$1' -> '$line'"; return 1; }
    T_REPLY=${line#ok}
    T_REPLY=${T_REPLY# }
}

# t_maps: T_MAPS (the target's mappings) and T_HEAP ([heap] lines), by the target itself.
t_maps() {
    t_cmd maps || return 1
    read -r T_MAPS T_HEAP <<<"$T_REPLY"
}

# check_pages JSON TRUTH MAPPING: the pages the watch reported in MAPPING
# ("*": any) are exactly the truth (every written page, none more), and no
# page was reported twice when the truth wrote each once.
check_pages() {
    run python3 - "$@" <<'EOF'
import json, sys
js, truth, mapping = sys.argv[1:4]
rep, writes = set(), 0
for line in open(js):
    o = json.loads(line)
    if o.get("type") != "interval":
        continue
    for r in o.get("regions", []):
        if mapping != "*" and r["mapping"] != mapping:
            continue
        p = set(range(int(r["start"], 16), int(r["end"], 16), 4096))
        rep |= p
        writes += len(p)
tp = set()
for line in open(truth):
    s, e = (int(x, 16) for x in line.split())
    tp.update(range(s, e, 4096))
lo, hi = (min(tp), max(tp)) if tp else (0, 0)
extra = {p for p in rep if lo <= p <= hi} - tp
print(f"truth {len(tp)} reported {len(rep)} missing {len(tp - rep)} extra {len(extra)} page_writes {writes}")
sys.exit(0 if tp and not (tp - rep) and not extra else 1)
EOF
    echo "$output"
    assert_success
}

@test "footprint: run -i 10ms, heap grown by sbrk every 10 ms: at most one more [heap] line while tracked, every page reported once" {
    # without pagescan: one [heap] line
    "$TARGETS/brk_grow" --run 20 0 "$BATS_TEST_TMPDIR/truth0" "$BATS_TEST_TMPDIR/info0"
    read -r _ heap0 <"$BATS_TEST_TMPDIR/info0"
    assert_equal "$heap0" 1
    # 700 steps at 10 ms (about 8 s): before the tail, one [heap] line per tick
    run "$PAGESCAN" run -i 10ms -f json -o "$BATS_TEST_TMPDIR/run.json" -- \
        "$TARGETS/brk_grow" --run 700 10 "$BATS_TEST_TMPDIR/truth" "$BATS_TEST_TMPDIR/info"
    assert_success
    read -r maps heap <"$BATS_TEST_TMPDIR/info"
    echo "while tracked: $maps mappings, $heap [heap] lines"
    # the documented bound: the heap's unregistered last page, one more line
    ((heap <= 2)) || fail "[heap] is $heap mappings under run -i 10ms (bound: 2)"
    check_pages "$BATS_TEST_TMPDIR/run.json" "$BATS_TEST_TMPDIR/truth" '[heap]'
    # each page was written once: reported once
    [[ $output == *"page_writes 700"* ]] || fail "pages reported more than once: $output"
}

@test "footprint: watch -i 100ms of a growing heap: bounded while tracked, back to what it was after" {
    t_start
    t_maps
    local maps0=$T_MAPS heap0=$T_HEAP
    assert_equal "$heap0" 0
    w_start watch "$TPID" -i 100ms -f json
    w_until_seq 1
    t_cmd mark
    t_cmd "grow 300 10"
    t_maps
    echo "while tracked: $T_MAPS mappings, $T_HEAP [heap] lines (before: $maps0, $heap0)"
    ((T_HEAP <= 2)) || fail "[heap] is $T_HEAP mappings while watched (bound: 2)"
    ((T_MAPS <= maps0 + 2)) || fail "$T_MAPS mappings while watched, $maps0 before (bound: +1 heap, +1 tail)"
    t_cmd truth
    w_until_seq $((WSEQ + 2))
    w_signal INT
    assert_equal "$WSTATUS" 0
    t_maps
    echo "after: $T_MAPS mappings, $T_HEAP [heap] lines"
    # the heap the target made, as one mapping, as without pagescan
    assert_equal "$T_HEAP" 1
    assert_equal "$T_MAPS" $((maps0 + 1))
    check_pages "$WLOG" "$TDIR/truth" '[heap]'
    [[ $output == *"page_writes 300"* ]] || fail "pages reported more than once: $output"

    # A second watch, on a heap whose last page holds data: it cannot keep
    # that page out (it could not tell its writes), so the first growth
    # becomes a mapping of its own: at most one more, for good.
    t_cmd mark
    w_start watch "$TPID" -i 100ms -f json
    w_until_seq 1
    t_cmd "grow 200 10"
    t_maps
    echo "second watch, while tracked: $T_MAPS mappings, $T_HEAP [heap] lines"
    ((T_HEAP <= 3)) || fail "[heap] is $T_HEAP mappings during the second watch (bound: 3)"
    t_cmd truth
    w_until_seq $((WSEQ + 2))
    w_signal INT
    t_maps
    echo "second watch, after: $T_MAPS mappings, $T_HEAP [heap] lines"
    ((T_HEAP <= 2)) || fail "[heap] is $T_HEAP mappings after the second watch (bound: 2)"
    check_pages "$WLOG" "$TDIR/truth" '[heap]'
    t_cmd quit
}

# thp_start: the target with a 256 MiB THP-backed region; sets huge0 (its
# AnonHugePages, kB). Skips when the machine gives no huge pages.
thp_start() {
    local thp=/sys/kernel/mm/transparent_hugepage/enabled
    [[ -r $thp ]] || skip "no transparent huge pages in this kernel ($thp missing)"
    [[ $(cat "$thp") != *"[never]"* ]] || skip "transparent huge pages are disabled ($thp: $(cat "$thp"))"
    t_start
    t_cmd "thp 256"
    read -r _ _ huge0 <<<"$T_REPLY"
    ((huge0 > 0)) || skip "the kernel gave no huge page to a MADV_HUGEPAGE region (AnonHugePages 0 kB; fragmented memory?)"
}

@test "footprint: huge pages split by tracking are counted, and collapsed again at the end" {
    local huge0
    thp_start
    w_start watch "$TPID" -i 100ms -f json
    w_until_seq 1
    t_cmd mark
    t_cmd thpwrite
    t_cmd anonhuge
    echo "AnonHugePages before $huge0 kB, after the writes $T_REPLY kB"
    ((T_REPLY < huge0)) || fail "writes under tracking split no huge page (AnonHugePages $T_REPLY kB): the test's premise"
    t_cmd truth
    w_until_seq $((WSEQ + 2))
    w_signal INT
    assert_equal "$WSTATUS" 0
    echo "$WSTDERR"
    # counted: the split pages of the region (here: every one, 128)
    [[ $WSTDERR =~ tracking\ split\ ([0-9]+)\ of\ the\ ([0-9]+)\ huge\ pages ]] ||
        fail "no count of split huge pages on stderr: $WSTDERR"
    ((BASH_REMATCH[1] >= huge0 / 2048)) || fail "split count ${BASH_REMATCH[1]}, expected $((huge0 / 2048))"
    [[ $WSTDERR =~ MADV_COLLAPSE\ gave\ ([0-9]+)\ of\ ([0-9]+)\ back ]] || fail "no recollapse figure: $WSTDERR"
    t_cmd anonhuge
    echo "AnonHugePages after the watch: $T_REPLY kB"
    assert_equal "$T_REPLY" "$huge0"
    check_pages "$WLOG" "$TDIR/truth" '*'

    # --no-recollapse: left split, and said so
    t_cmd mark
    w_start watch "$TPID" -i 100ms -f json --no-recollapse
    w_until_seq 1
    t_cmd thpwrite
    t_cmd truth
    w_until_seq $((WSEQ + 2))
    w_signal INT
    [[ $WSTDERR == *"left split (--no-recollapse)"* ]] || fail "no word on the split pages left: $WSTDERR"
    t_cmd anonhuge
    ((T_REPLY < huge0)) || fail "AnonHugePages $T_REPLY kB: collapsed again despite --no-recollapse"
    check_pages "$WLOG" "$TDIR/truth" '*'
    t_cmd quit
}

@test "footprint: release collapses the huge pages engage's tracking split, unless --no-recollapse" {
    local huge0
    thp_start
    run "$PAGESCAN" engage "$TPID"
    assert_success
    t_cmd thpwrite
    t_cmd anonhuge
    ((T_REPLY < huge0)) || fail "writes under tracking split no huge page (AnonHugePages $T_REPLY kB): the test's premise"
    run --separate-stderr "$PAGESCAN" release "$TPID"
    assert_success
    echo "$stderr"
    [[ $stderr =~ tracking\ split\ ([0-9]+)\ huge\ pages.*MADV_COLLAPSE\ gave\ ([0-9]+)\ back ]] ||
        fail "no word on the split huge pages: $stderr"
    ((BASH_REMATCH[1] == huge0 / 2048)) || fail "found ${BASH_REMATCH[1]} split, the writes split $((huge0 / 2048))"
    t_cmd anonhuge
    assert_equal "$T_REPLY" "$huge0"
    # nothing split: nothing said, nothing done
    run "$PAGESCAN" engage "$TPID"
    assert_success
    run --separate-stderr "$PAGESCAN" release "$TPID"
    assert_success
    [[ $stderr != *"huge pages"* ]] || fail "release reported huge pages that nothing split: $stderr"
    # --no-recollapse
    run "$PAGESCAN" engage "$TPID"
    assert_success
    t_cmd thpwrite
    run --separate-stderr "$PAGESCAN" release --no-recollapse "$TPID"
    assert_success
    [[ $stderr != *MADV_COLLAPSE* ]] || fail "collapsed despite --no-recollapse: $stderr"
    t_cmd anonhuge
    ((T_REPLY < huge0)) || fail "AnonHugePages $T_REPLY kB: collapsed again despite --no-recollapse"
    t_cmd quit
}

@test "footprint: near vm.max_map_count pagescan engages nothing new and says so; the target's mmap calls succeed" {
    t_start
    # The limit is system-wide: keep it far above what pagescan itself maps
    # (about 140 mappings when built with AddressSanitizer) by giving the
    # target 400 mappings first.
    t_cmd "mmaps 400"
    assert_equal "$T_REPLY" 0
    t_maps
    local maps0=$T_MAPS
    FP_OLD_MAX_MAP_COUNT=$(cat /proc/sys/vm/max_map_count)
    # limit maps0+60: pagescan holds from limit-32 = maps0+28 on
    echo $((maps0 + 60)) >/proc/sys/vm/max_map_count
    w_start watch "$TPID" -i 100ms -f json
    w_until_seq 1
    t_cmd "mmaps 40"
    assert_equal "$T_REPLY" 0
    w_until_seq $((WSEQ + 2))
    local seq_held=$WSEQ
    # growth while held: not engaged
    t_cmd "grow 20 0"
    t_cmd "mmaps 15"
    assert_equal "$T_REPLY" 0
    t_maps
    ((T_MAPS <= maps0 + 57)) || fail "$T_MAPS mappings: more than the target made ($((maps0 + 56)))"
    w_until_seq $((WSEQ + 2))
    w_signal INT
    assert_equal "$WSTATUS" 0
    [[ $WSTDERR == *"close to vm.max_map_count ($((maps0 + 60)))"*"engages no new mappings or growth"* ]] ||
        fail "no word about the map-count limit: $WSTDERR"
    # no interval after the hold engaged anything
    run jq -r --argjson s "$seq_held" 'select(.type == "interval" and .seq > $s) | .engaged | length' "$WLOG"
    assert_success
    refute_output --regexp '[1-9]'
    echo "$FP_OLD_MAX_MAP_COUNT" >/proc/sys/vm/max_map_count
    FP_OLD_MAX_MAP_COUNT=
    t_cmd "mmaps 10"
    assert_equal "$T_REPLY" 0
    t_cmd quit
}
