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
load tmux

setup_file() {
    kernel_supports
}

teardown() {
    [[ -z ${TSOCK:-} ]] || TM kill-server 2>/dev/null || true
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

# near_map_limit: bring the target to 28 mappings below the point where
# pagescan stops engaging (vm.max_map_count - max(vm.max_map_count / 16, 32),
# docs/kernel-interfaces.md) by giving it one-page mappings; FP_LIMIT is the
# limit, T_MAPS the target's count. The limit is per process but its setting
# is system-wide: lowering it would make every other process on the machine
# (a test running beside this one, a QEMU of the vm tests) fail its mmap
# calls, so the target is filled instead. Only a limit far above the default
# (1048576 on some distributions) is set to the default for the test, and
# restored by teardown.
near_map_limit() {
    FP_LIMIT=$(cat /proc/sys/vm/max_map_count)
    if ((FP_LIMIT > 262144)); then
        FP_OLD_MAX_MAP_COUNT=$FP_LIMIT
        FP_LIMIT=65530
        echo "$FP_LIMIT" >/proc/sys/vm/max_map_count
    fi
    local reserve=$((FP_LIMIT / 16 > 32 ? FP_LIMIT / 16 : 32))
    FP_HOLD=$((FP_LIMIT - reserve))
    local round
    for round in 1 2 3 4 5 6 7 8; do # a first mapping may merge with a neighbour
        t_maps
        ((T_MAPS < FP_HOLD - 28)) || break
        t_cmd "mmaps $((FP_HOLD - 28 - T_MAPS))"
        assert_equal "$T_REPLY" 0
    done
    assert_equal "$T_MAPS" $((FP_HOLD - 28))
}

# t_maps: T_MAPS (the target's mappings) and T_HEAP ([heap] lines), by the target itself.
t_maps() {
    t_cmd maps || return 1
    read -r T_MAPS T_HEAP <<<"$T_REPLY"
}

# check_pages JSON TRUTH MAPPING [EXTENT]: the pages the watch reported in
# MAPPING ("*": any) are exactly the truth (every written page, none more:
# judged between the truth's first and last page, or inside the ranges of
# the file EXTENT), and no page was reported twice when the truth wrote each
# once.
check_pages() {
    run python3 - "$@" <<'EOF'
import json, os, sys
js, truth, mapping = sys.argv[1:4]
PAGE = int(os.environ.get("PAGE_SIZE", "4096"))  # the kernel's (common.bash)
inside = None
if len(sys.argv) > 4:
    inside = set()
    for line in open(sys.argv[4]):
        s, e = (int(x, 16) for x in line.split())
        inside.update(range(s, e, PAGE))
tp = set()
for line in open(truth):
    s, e = (int(x, 16) for x in line.split())
    tp.update(range(s, e, PAGE))
rep, writes, twrites = set(), 0, 0
for line in open(js):
    o = json.loads(line)
    if o.get("type") != "interval":
        continue
    for r in o.get("regions", []):
        if mapping != "*" and r["mapping"] != mapping:
            continue
        p = set(range(int(r["start"], 16), int(r["end"], 16), PAGE))
        rep |= p
        writes += len(p)
        twrites += len(p & tp)
lo, hi = (min(tp), max(tp)) if tp else (0, 0)
extra = {p for p in rep if (lo <= p <= hi if inside is None else p in inside)} - tp
print(f"truth {len(tp)} reported {len(rep)} missing {len(tp - rep)} extra {len(extra)} page_writes {writes} truth_page_writes {twrites}")
for what, pages in (("missing", tp - rep), ("extra", extra)):
    if pages:
        print(what + ":", " ".join(hex(p) for p in sorted(pages)[:10]))
sys.exit(0 if tp and not (tp - rep) and not extra else 1)
EOF
    echo "$output"
    assert_success
}

@test "footprint: run -i 10ms, heap grown by sbrk every 10 ms: at most one more [heap] line while tracked, every page reported once" {
    # without pagescan: one [heap] line
    "$TARGETS/brk_grow" --run 20 0 "$BATS_TEST_TMPDIR/truth0" "$BATS_TEST_TMPDIR/info0"
    read -r _ heap0 _ <"$BATS_TEST_TMPDIR/info0"
    assert_equal "$heap0" 1
    # 700 steps at 10 ms (about 8 s): before the tail, one [heap] line per tick
    run "$PAGESCAN" run -i 10ms -f json -o "$BATS_TEST_TMPDIR/run.json" -- \
        "$TARGETS/brk_grow" --run 700 10 "$BATS_TEST_TMPDIR/truth" "$BATS_TEST_TMPDIR/info"
    assert_success
    read -r maps heap _ <"$BATS_TEST_TMPDIR/info"
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

# The other ways a private anonymous mapping grows (docs/kernel-interfaces.md#merging):
# growth the kernel would merge, made a mapping of its own by the
# registered neighbour. The documented bound, per growing mapping: the
# heap (brk) and an arena below a PROT_NONE reservation (glibc's thread
# arenas, grown by mprotect) keep a tail from the start, +1 while tracked
# and none after; growth pagescan learns of (mmaps placed right below,
# mmap MAP_FIXED right after the end) costs one mapping at its first step
# and a head or tail from then on: +2 while tracked, +1 after.
declare -gA FP_WHILE=([brk]=1 [arena]=1 [down]=2 [fixed]=2) FP_AFTER=([brk]=0 [arena]=0 [down]=1 [fixed]=1)

@test "footprint: run -i 10ms, an arena grown by mprotect, top-down mmaps, MAP_FIXED growth: bounded, every page reported once" {
    local kind info
    for kind in arena down fixed; do
        "$TARGETS/brk_grow" --run 300 0 "$BATS_TEST_TMPDIR/truth0" "$BATS_TEST_TMPDIR/info0" "$kind"
        local vmas0 runs0 vmas runs
        read -r _ _ vmas0 runs0 <"$BATS_TEST_TMPDIR/info0"
        run "$PAGESCAN" run -i 10ms -f json -o "$BATS_TEST_TMPDIR/$kind.json" -- \
            "$TARGETS/brk_grow" --run 300 10 "$BATS_TEST_TMPDIR/truth.$kind" "$BATS_TEST_TMPDIR/info.$kind" "$kind"
        assert_success
        # runs: the top-down mmaps fill gaps between the libraries first,
        # each gap a growing mapping of its own (1 for the other kinds)
        read -r _ _ vmas runs <"$BATS_TEST_TMPDIR/info.$kind"
        echo "$kind: the grown region is $vmas mappings in $runs runs while tracked, $vmas0 in $runs0 without pagescan"
        ((vmas <= runs * (1 + FP_WHILE[$kind]))) ||
            fail "$kind: $vmas mappings in $runs runs while tracked (bound: 1 + ${FP_WHILE[$kind]} a run)"
        info=()
        [[ $kind != down ]] || info=("$BATS_TEST_TMPDIR/info.$kind.extent")
        check_pages "$BATS_TEST_TMPDIR/$kind.json" "$BATS_TEST_TMPDIR/truth.$kind" '*' "${info[@]}"
        [[ $output =~ truth\ ([0-9]+).*truth_page_writes\ ([0-9]+) ]] && ((BASH_REMATCH[1] == BASH_REMATCH[2])) ||
            fail "$kind: pages reported more than once: $output"
    done
}

# region_vmas KIND: the mappings of the target's KIND region now, in T_REPLY.
region_vmas() {
    t_cmd "vmas ${FP_START[$1]} ${FP_END[$1]}"
}

@test "footprint: watch -i 100ms of an arena grown by mprotect, top-down mmaps and MAP_FIXED growth: bounded while tracked and after" {
    declare -A FP_START FP_END
    local kind adjacent
    t_start
    # each region made, and the arena's thread stack cached, before the
    # watch; the down mappings are 16 pages each, too large for the small
    # gaps between the libraries (each gap would be a growing mapping of
    # its own)
    t_cmd "arena 0 0 1"
    read -r FP_START[arena] FP_END[arena] <<<"$T_REPLY"
    t_cmd "fixed 0 0 1"
    read -r FP_START[fixed] FP_END[fixed] <<<"$T_REPLY"
    t_cmd "down 1 0 16"
    t_maps
    local maps0=$T_MAPS
    w_start watch "$TPID" -i 100ms -f json
    w_until_seq 1
    for kind in arena down fixed; do
        t_cmd mark
        t_cmd "$kind 150 10 $([[ $kind == down ]] && echo 16 || echo 1)"
        read -r FP_START[$kind] FP_END[$kind] adjacent <<<"$T_REPLY"
        [[ $kind != down ]] || echo "down: $adjacent of 150 mmaps right below the one before"
        t_cmd truth
        cp "$TDIR/truth" "$TDIR/truth.$kind"
    done
    t_cmd "extent $TDIR/extent.down"
    # The down mappings' runs of adjacent ones: a run that filled a gap
    # between other mappings is a growing mapping of its own, and one more
    # mapping without pagescan too.
    local runs vmas
    t_cmd downvmas
    read -r runs vmas <<<"$T_REPLY"
    echo "down: $vmas mappings in $runs runs while tracked"
    ((vmas <= runs * (1 + FP_WHILE[down]))) || fail "down: $vmas mappings in $runs runs while tracked (bound: 1 + ${FP_WHILE[down]} a run)"
    t_maps
    echo "while tracked: $T_MAPS mappings, $maps0 before, $T_HEAP [heap] lines"
    ((T_HEAP <= 1 + FP_WHILE[brk])) || fail "[heap] is $T_HEAP mappings while tracked (bound: 1 + ${FP_WHILE[brk]})"
    local sum=$((runs - 1 + FP_WHILE[brk] + FP_WHILE[arena] + runs * FP_WHILE[down] + FP_WHILE[fixed]))
    ((T_MAPS <= maps0 + sum)) || fail "$T_MAPS mappings while tracked, $maps0 before (bound: +$sum)"
    for kind in arena fixed; do
        region_vmas "$kind"
        echo "$kind: $T_REPLY mappings while tracked"
        ((T_REPLY <= 1 + FP_WHILE[$kind])) || fail "$kind: $T_REPLY mappings while tracked (bound: 1 + ${FP_WHILE[$kind]})"
    done
    w_until_seq $((WSEQ + 2))
    w_signal INT
    assert_equal "$WSTATUS" 0
    t_maps
    echo "after: $T_MAPS mappings, $maps0 before, $T_HEAP [heap] lines"
    assert_equal "$T_HEAP" 1
    sum=$((runs - 1 + FP_AFTER[brk] + FP_AFTER[arena] + runs * FP_AFTER[down] + FP_AFTER[fixed]))
    ((T_MAPS <= maps0 + sum)) || fail "$T_MAPS mappings after the watch, $maps0 before (bound: +$sum)"
    t_cmd downvmas
    read -r runs vmas <<<"$T_REPLY"
    echo "down: $vmas mappings in $runs runs after"
    ((vmas <= runs * (1 + FP_AFTER[down]))) || fail "down: $vmas mappings in $runs runs after (bound: 1 + ${FP_AFTER[down]} a run)"
    for kind in arena fixed; do
        region_vmas "$kind"
        echo "$kind: $T_REPLY mappings after"
        ((T_REPLY <= 1 + FP_AFTER[$kind])) || fail "$kind: $T_REPLY mappings after the watch (bound: 1 + ${FP_AFTER[$kind]})"
    done
    check_pages "$WLOG" "$TDIR/truth.arena" '*'
    check_pages "$WLOG" "$TDIR/truth.down" '*' "$TDIR/extent.down"
    check_pages "$WLOG" "$TDIR/truth.fixed" '*'
    t_cmd quit
}

# Many growing mappings at once (Go and JVM heaps, the malloc arenas of many
# threads): past PS_TAILS_MAX (256, src/kernel/tracker.c) a growing mapping
# has no tail; its growth is left unengaged and engaged 1, 3, 7, 15...
# syncs after it began (docs/kernel-interfaces.md#merging). The documented
# bound, per growing mapping, after n syncs of growth: a tail's +2 while
# tracked and +1 after, or, past the cap, 1 + floor(log2(n + 1)) pieces and
# the growth left unengaged. Each step here is seen by a sync of its own:
# the worst case (before: one mapping more per step past the cap).
@test "footprint: watch -i 200ms of 300 mappings growing at once (past the 256 tails): bounded while tracked and after, every page reported once" {
    local k=300 steps=30 i most all most_after all_after maps0 maps_after seq0 n bound
    t_start
    t_cmd "many $k 0 0"
    t_cmd manyvmas
    assert_equal "$T_REPLY" "1 $k"
    t_maps
    maps0=$T_MAPS
    # 200 ms: reading a record (tens of kB here) keeps up with the watch
    w_start watch "$TPID" -i 200ms -f json
    w_until_seq 1
    seq0=$WSEQ
    t_cmd mark
    for ((i = 0; i < steps; i++)); do
        t_cmd "many 0 1 0"
        w_until_seq $((WSEQ + 2))
    done
    t_cmd truth
    w_until_seq $((WSEQ + 2))
    t_cmd manyvmas
    read -r most all <<<"$T_REPLY"
    w_signal INT
    assert_equal "$WSTATUS" 0
    t_cmd manyvmas
    read -r most_after all_after <<<"$T_REPLY"
    t_maps
    maps_after=$T_MAPS
    # n: the syncs since the growth began (all the watch's intervals after
    # seq0, read to its end: at least as many as there were); the bound
    # past the cap, 1 + 1 + floor(log2(n + 1))
    n=$((WSEQ - seq0))
    bound=1
    while (((1 << bound) <= n + 1)); do bound=$((bound + 1)); done
    bound=$((1 + bound))
    echo "while tracked: the most mappings of one slot $most (bound $bound after $n syncs), all $all ($k before)"
    echo "after: the most mappings of one slot $most_after, all $all_after; the target: $maps_after mappings, $maps0 before"
    ((most <= bound)) || fail "a mapping grown $steps times is $most mappings while tracked (bound: $bound)"
    ((all <= 3 * 256 + (k - 256) * bound)) ||
        fail "$all mappings in the slots while tracked (bound: 256 tails at 3, $((k - 256)) more at $bound)"
    ((most_after <= bound)) || fail "a mapping grown $steps times is $most_after mappings after the watch (bound: $bound)"
    ((all_after <= 2 * 256 + (k - 256) * bound)) ||
        fail "$all_after mappings in the slots after the watch (bound: 256 tails at 2, $((k - 256)) more at $bound)"
    ((maps_after <= maps0 + all_after - k)) ||
        fail "$maps_after mappings after the watch, $maps0 before, $((all_after - k)) more in the slots"
    check_pages "$WLOG" "$TDIR/truth" '*'
    [[ $output =~ truth\ ([0-9]+).*truth_page_writes\ ([0-9]+) ]] && ((BASH_REMATCH[1] == BASH_REMATCH[2] && BASH_REMATCH[1] == k * steps)) ||
        fail "not every page reported exactly once ($((k * steps)) written): $output"
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
    near_map_limit
    local maps0=$T_MAPS limit=$FP_LIMIT
    # pagescan holds from maps0+28 on
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
    [[ $WSTDERR == *"close to vm.max_map_count ($limit)"*"engages no new mappings or growth"* ]] ||
        fail "no word about the map-count limit: $WSTDERR"
    # no interval after the hold engaged anything
    run jq -r --argjson s "$seq_held" 'select(.type == "interval" and .seq > $s) | .engaged | length' "$WLOG"
    assert_success
    refute_output --regexp '[1-9]'
    # released: the room left up to the limit is the target's own
    t_maps
    t_cmd "mmaps $((limit - T_MAPS - 1))"
    assert_equal "$T_REPLY" 0
    t_cmd quit
}

@test "footprint: under the heatmap the map-count note goes to its key line, not over the screen, and to stderr when it closes" {
    command -v tmux >/dev/null || skip "tmux is not installed"
    t_start
    near_map_limit
    local limit=$FP_LIMIT
    TSOCK=pagescan-fp-$$-$BATS_TEST_NUMBER
    tm_start 220 40
    # standard error is the terminal, as for anyone who runs it
    TM send-keys -t t -l "TERM=screen-256color $PAGESCAN watch $TPID --heatmap -i 100ms; echo rc=\$?"
    TM send-keys -t t Enter
    tm_wait "pagescan heatmap  pid $TPID"
    t_cmd "mmaps 40"
    assert_equal "$T_REPLY" 0
    tm_wait "warning \\(repeated when the heatmap closes\\): process $TPID has [0-9]+ mappings, close to vm.max_map_count"
    [[ $SCREEN != *"pagescan: warning:"* ]] || fail "$(printf 'a warning was written over the heatmap:\n%s' "$SCREEN")"
    # still the heatmap: its header and its grid
    [[ $SCREEN == *"pagescan heatmap  pid $TPID"* ]] || fail "the heatmap is gone: $SCREEN"
    # a key hides the line, the key help is back
    TM send-keys -t t a
    tm_wait "q quit"
    TM send-keys -t t q
    tm_wait $'\n'"rc=0"
    # back on the normal screen: the summary, then the warning in full
    [[ $SCREEN =~ pagescan:\ warning:\ process\ $TPID\ has\ [0-9]+\ mappings,\ close\ to\ vm.max_map_count\ \($limit\) ]] ||
        fail "$(printf 'the warning was not printed after the heatmap closed:\n%s' "$SCREEN")"
    t_cmd quit
}
