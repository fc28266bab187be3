#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# watch/run --compare soft-dirty (docs/soft-dirty.md): each interval the
# pages the kernel's soft-dirty bits mark beside the pages written, and the
# false positives (soft-dirty, not written). The comparison needs a kernel
# built with CONFIG_MEM_SOFT_DIRTY: this machine's has none, Debian's 6.12
# amd64 kernel has, and vm/6.12-amd64 runs these tests there
# (tests/vm/CMakeLists.txt). Without it pagescan must refuse, exit 1.
# tests/targets/memevents writes, moves and maps on command and records the
# truth; every round runs while watch is paused between two harvests.

load common
load watch_helpers
load family

setup_file() {
    kernel_supports
}

setup() {
    common_setup
}

teardown() {
    w_cleanup
    family_cleanup
    common_teardown
}

# Does this kernel keep soft-dirty bits? A page of python's own, written,
# must read soft-dirty (bit 55) in /proc/self/pagemap; independent of
# pagescan's own probe.
soft_dirty_kernel() {
    python3 -S -c '
import ctypes, mmap, struct, sys
m = mmap.mmap(-1, mmap.PAGESIZE)
m[0:1] = b"x"
a = ctypes.addressof(ctypes.c_char.from_buffer(m))
with open("/proc/self/pagemap", "rb") as f:
    f.seek(a // mmap.PAGESIZE * 8)
    e = struct.unpack("<Q", f.read(8))[0]
sys.exit(0 if (e >> 55) & 1 else 1)'
}

need_soft_dirty() {
    soft_dirty_kernel || skip "kernel has no soft-dirty (CONFIG_MEM_SOFT_DIRTY); vm/6.12-amd64 runs this test"
}

mev_start() {
    VICTIM_PROG=memevents victim_start
}

# round_seq K: the interval of round K.
round_seq() {
    awk -v f="$WDIR/round.$1" '$2 == f { print $1 }' "$WDIR/rounds"
}

# sd_window K KIND NAME: pages of the interval of round K's soft_dirty KIND
# regions (false_regions, race_regions) inside mapping NAME's window.
sd_window() {
    local seq s e a b n=0
    seq=$(round_seq "$1")
    [[ -n $seq ]] || { fail "no round $1"; return 1; }
    a=$((MSTART[$3])) b=$((MEND[$3]))
    while read -r s e; do
        s=$((16#${s#0x})) e=$((16#${e#0x}))
        ((s < a)) && s=$a
        ((e > b)) && e=$b
        ((e > s)) && n=$((n + (e - s) / PAGE_SIZE))
    done < <(jq -r --argjson q "$seq" --arg k "$2" \
        'select(.type == "interval" and .seq == $q) | .soft_dirty[$k][] | "\(.start) \(.end)"' "$WLOG")
    echo "$n"
}

# sd_expect K NAME FALSE: in round K, NAME's window holds FALSE false
# positives and no page of the race (the rounds run while pagescan is
# paused: nothing is written between its soft-dirty read and its clear);
# on failure the interval's whole comparison and the mappings' places are
# shown.
sd_expect() {
    local got
    got="$(sd_window "$1" false_regions "$2") $(sd_window "$1" race_regions "$2")"
    [[ $got == "$3 0" ]] && return 0
    fail "$(printf 'round %s, mapping %s: false and race pages "%s", want "%s 0"\ninterval %s: %s\nmappings: %s' \
        "$1" "$2" "$got" "$3" "$(round_seq "$1")" \
        "$(jq -c --argjson s "$(round_seq "$1")" 'select(.type == "interval" and .seq == $s) | .soft_dirty' "$WLOG")" \
        "$(for n in "${!MSTART[@]}"; do printf '%s=%s-%s ' "$n" "${MSTART[$n]}" "${MEND[$n]}"; done)")"
}

# sd_consistent: in every interval the compared written pages are the
# interval's, the regions add up to the counts (false_regions: false_pages,
# race_regions: race_pages), the mappings add up to the totals, and the end
# sums the intervals.
sd_consistent() {
    local bad
    bad=$(jq -rs '
        [.[] | select(.type == "interval")] as $iv | (.[] | select(.type == "end")) as $e |
        ($iv[] | select(.soft_dirty.written_pages != .written_pages
            or ([.soft_dirty.mappings[].soft_dirty_pages] | add // 0) != .soft_dirty.soft_dirty_pages
            or ([.soft_dirty.mappings[].false_pages] | add // 0) != .soft_dirty.false_pages
            or ([.soft_dirty.mappings[].written_pages] | add // 0) != .soft_dirty.written_pages
            or ([.soft_dirty.mappings[].race_pages] | add // 0) != .soft_dirty.race_pages
            or ([.soft_dirty.false_regions[].pages] | add // 0) != .soft_dirty.false_pages
            or ([.soft_dirty.race_regions[].pages] | add // 0) != .soft_dirty.race_pages
            or .soft_dirty.false_pages + .soft_dirty.race_pages > .soft_dirty.soft_dirty_pages + .soft_dirty.written_pages)
            | "interval \(.seq): \(.soft_dirty | del(.mappings))"),
        (if ([$iv[].soft_dirty.false_pages] | add) != $e.soft_dirty.false_pages
            or ([$iv[].soft_dirty.soft_dirty_pages] | add) != $e.soft_dirty.soft_dirty_pages
            or ([$iv[].soft_dirty.race_pages] | add) != $e.soft_dirty.race_pages
         then "end: \($e.soft_dirty | del(.worst_mappings))" else empty end)' "$WLOG")
    [[ -z $bad ]] || fail "soft-dirty comparison inconsistent: $bad"
}

@test "soft-dirty: written exact, soft-dirty covers it, an mremap's moved pages are the false positives" {
    need_soft_dirty
    mev_start
    vmap m anon 64
    vmap g anon 32
    vcmd "write m all"
    vcmd "write g all"
    vcmd mark
    w_start watch "$VPID" -i 100ms -f json --compare soft-dirty
    jq -e 'select(.type == "start") | .compare == "soft-dirty"' "$WLOG" >/dev/null ||
        fail "the start record does not say soft-dirty is compared"
    # 1: plain writes: written and soft-dirty agree
    w_round 1 "write m 0-9"
    # 2: a move of g's 32 present pages: nothing written, every moved page
    # soft-dirty (mremap sets the bit on each moved entry)
    w_pause
    vcmd mark
    vcmd "mremap g 32"
    MSTART[g@2]=${MSTART[g]} MEND[g@2]=${MEND[g]}
    MSTART[g]=$(awk '{ print $2 }' <<<"$REPLY_LINE")
    MEND[g]=$(awk '{ print $3 }' <<<"$REPLY_LINE")
    vcmd "write m 20"
    victim_truth "$WDIR/round.2"
    echo "$((WPAUSED + 1)) $WDIR/round.2" >>"$WDIR/rounds"
    w_resume
    # 3: the moved mapping exact again (its bits were cleared); a new
    # mapping written before the tick engages it (counted written then); a
    # new anonymous mapping only read (the zero page: no data, not counted);
    # a new private file mapping only read: its 16 page-cache pages read
    # soft-dirty (a new mapping carries VM_SOFTDIRTY), none written; a
    # discard and a refault by a write
    w_pause
    vcmd mark
    vmap n anon 16
    vmap r anon 16
    vmap p pfile 16
    vcmd "write g 3"
    vcmd "write n 0-3"
    vcmd "read r all"
    vcmd "madv m 0-9 dontneed"
    vcmd "write m 0-1"
    victim_truth "$WDIR/round.3"
    echo "$((WPAUSED + 1)) $WDIR/round.3" >>"$WDIR/rounds"
    w_resume
    w_signal INT
    assert_equal "$WSTATUS" 0
    # written exact against the target's truth, every round
    w_check --windows "$(w_windows)" --rounds "$WDIR/rounds" --reason signal
    # soft-dirty ⊇ written (no page written and not soft-dirty), and its false positives
    # (soft-dirty - written) exactly the pages the target moved
    sd_expect 1 m 0
    sd_expect 2 m 0
    sd_expect 2 g 32
    sd_expect 3 m 0
    sd_expect 3 g 0
    sd_expect 3 n 0
    sd_expect 3 r 0
    sd_expect 3 p 16
    # nothing else in the process over-reported in those intervals
    run jq -r --argjson a "$(round_seq 1)" --argjson b "$(round_seq 2)" --argjson c "$(round_seq 3)" \
        'select(.type == "interval" and (.seq == $a or .seq == $b or .seq == $c)) |
         "\(.soft_dirty.false_pages) \(.soft_dirty.race_pages)"' "$WLOG"
    assert_output "$(printf '0 0\n32 0\n16 0')"
    sd_consistent
    # the end: the moved mapping is the worst, with its 32 false positives
    run jq -r 'select(.type == "end") | .soft_dirty.worst_mappings[0] | "\(.start) \(.false_pages)"' "$WLOG"
    local w=($output)
    assert_equal "${w[1]}" 32
    (($((16#${w[0]#0x})) <= $((MSTART[g])))) || fail "worst mapping ${w[0]} is not g's (${MSTART[g]})"
    jq -e 'select(.type == "end") | .soft_dirty.cost | test("fault")' "$WLOG" >/dev/null ||
        fail "the end record does not say what clearing costs the target"
    # report of the recording: the same comparison, interval by interval,
    # and the moved mapping the worst
    run --separate-stderr "$PAGESCAN" report "$WLOG" -f json
    assert_success
    local rep=$output
    assert_equal "$(jq -c '.soft_dirty | [.false_pages, .race_pages, .mappings[0].false_pages]' <<<"$rep")" \
        "$(jq -sc '(.[] | select(.type == "end") | .soft_dirty) as $e | [$e.false_pages, $e.race_pages, $e.worst_mappings[0].false_pages]' "$WLOG")"
    assert_equal "$(jq -c '[.soft_dirty.per_interval[] | [.seq, .false_pages]]' <<<"$rep")" \
        "$(jq -sc '[.[] | select(.type == "interval") | [.seq, .soft_dirty.false_pages]]' "$WLOG")"
    run --separate-stderr "$PAGESCAN" report "$WLOG"
    assert_success
    assert_line --regexp '^soft-dirty \(--compare soft-dirty\): [0-9]+ pages marked, [0-9]+ not written \(false positives, [0-9.]+% of soft-dirty\)'
    assert_line --regexp "^ +$(round_seq 2) +[0-9]+ +[0-9]+ +32 +[0-9.]+% +0\$"
    no_uffd_left "$VPID"
}

@test "soft-dirty: text, CSV, Prometheus and the text heatmap carry the comparison; run compares too" {
    need_soft_dirty
    mev_start
    vmap m anon 16
    "$PAGESCAN" watch "$VPID" -i 20ms -n 2 -f csv --compare soft-dirty --prom-file "$BATS_TEST_TMPDIR/p.prom" \
        >"$BATS_TEST_TMPDIR/out.csv"
    head -n 1 "$BATS_TEST_TMPDIR/out.csv" |
        grep -q ',soft_dirty_pages,soft_dirty_false_pages,soft_dirty_race_pages,soft_dirty_worst_mapping,soft_dirty_worst_false_pages$' ||
        fail "CSV header: $(head -n 1 "$BATS_TEST_TMPDIR/out.csv")"
    # counts, then the mapping with the most false positives (empty when none)
    assert_equal "$(tail -n +2 "$BATS_TEST_TMPDIR/out.csv" | grep -cE ',[0-9]+,[0-9]+,[0-9]+,("[^"]*"|[^,"]*),[0-9]*$')" 2
    grep -qE '^pagescan_soft_dirty_false_pages\{pid="[0-9]+",command="memevents"\} [0-9]+$' "$BATS_TEST_TMPDIR/p.prom" ||
        fail "no soft-dirty metrics: $(grep soft_dirty "$BATS_TEST_TMPDIR/p.prom")"
    grep -qE '^pagescan_soft_dirty_race_pages\{pid="[0-9]+",command="memevents"\} [0-9]+$' "$BATS_TEST_TMPDIR/p.prom" ||
        fail "no race metric: $(grep soft_dirty "$BATS_TEST_TMPDIR/p.prom")"
    # per mapping: a series per mapping (the 5 worst), labelled with its name and start
    grep -qx '# TYPE pagescan_soft_dirty_mapping_false_pages gauge' "$BATS_TEST_TMPDIR/p.prom" ||
        fail "no per-mapping metric: $(grep soft_dirty "$BATS_TEST_TMPDIR/p.prom")"
    ! grep -E '^pagescan_soft_dirty_mapping_false_pages\{' "$BATS_TEST_TMPDIR/p.prom" |
        grep -vE '^pagescan_soft_dirty_mapping_false_pages\{pid="[0-9]+",command="memevents",mapping="[^"]*",start="0x[0-9a-f]+"\} [0-9]+$' ||
        fail "a per-mapping sample is malformed: $(grep mapping_false "$BATS_TEST_TMPDIR/p.prom")"
    run "$PAGESCAN" watch "$VPID" -i 20ms -n 1 --compare soft-dirty
    assert_success
    assert_line --partial "comparing with soft-dirty (--compare soft-dirty): clear_refs write-protects"
    assert_line --regexp '^  soft-dirty [0-9]+ pages?, [0-9]+ not written \(false positives\)'
    assert_line --regexp '^soft-dirty compared: [0-9]+ written pages?, soft-dirty '
    # the heatmap: every frame's header and the summary line
    COLUMNS=160 LINES=16 run --separate-stderr "$PAGESCAN" watch "$VPID" --heatmap=text -i 20ms -n 2 --compare soft-dirty
    assert_success
    assert_equal "$(grep -cE '^written .* \| soft-dirty [0-9]+, [0-9]+ not written' <<<"$output")" 2
    # per mapping: the hottest-mappings table's column of false positives
    assert_line --regexp '^ +pages/s +MiB/s +now +since start % of map  sd false  address +hottest \(now\)$'
    assert_line --regexp '^end: count after 2 intervals .*; soft-dirty [0-9]+ pages?, [0-9]+ not written \(false positives\)$'
    run "$PAGESCAN" run --compare soft-dirty --no-follow-forks -f json -- "$TARGETS/runprog" \
        "$BATS_TEST_TMPDIR/truth" 30
    assert_success
    jq -e 'select(.type == "end") | .soft_dirty.written_pages >= 0 and .exit_status == 0' <<<"$output" >/dev/null ||
        fail "run: no comparison in the end record: $(tail -n 1 <<<"$output")"
}

# proc_sd SEQ PID: process PID's figures in interval SEQ: written_pages,
# then its soft_dirty's written, soft-dirty, false and race pages.
proc_sd() {
    jq -r --argjson s "$1" --argjson p "$2" 'select(.type == "interval" and .seq == $s) | .processes[] |
        select(.pid == $p) | "\(.written_pages) \(.soft_dirty | "\(.written_pages) \(.soft_dirty_pages) \(.false_pages) \(.race_pages)")"' "$WLOG"
}

# sd_sums_hold FILE: in every interval record of FILE with processes, the
# soft_dirty counts are the sums of its processes', each process's
# comparison is of its own written pages; the end record's are the sums of
# the intervals'. Prints what breaks.
sd_sums_hold() {
    jq -rs '
        def c: [.written_pages, .soft_dirty_pages, .false_pages, .race_pages];
        def add4: reduce .[] as $x ([0, 0, 0, 0]; [.[0] + $x[0], .[1] + $x[1], .[2] + $x[2], .[3] + $x[3]]);
        (.[] | select(.type == "interval" and (.processes | length) > 0) |
            (if (.soft_dirty | c) != ([.processes[].soft_dirty | c] | add4)
             then "interval \(.seq): \(.soft_dirty | c) is not the sum of its processes'"'"' \([.processes[].soft_dirty | c])" else empty end),
            (.seq as $s | .processes[] | select(.soft_dirty.written_pages != .written_pages) |
             "interval \($s): process \(.pid) compared \(.soft_dirty.written_pages) written pages, wrote \(.written_pages)")),
        ([.[] | select(.type == "interval") | .soft_dirty | c] | add4) as $sum |
        (.[] | select(.type == "end") | if (.soft_dirty | c) != $sum then "end: \(.soft_dirty | c), intervals: \($sum)" else empty end)' "$1"
}

@test "soft-dirty: several processes (watch PID PID, run following forks): each compared in its own record, the workload's counts their sums" {
    need_soft_dirty
    family_start 64
    ffork
    w_start watch "$FPID" "${KID[1]}" -i 100ms -f json --compare soft-dirty "${RANGES[@]}"
    # The parent: private pages 0-3, memfd pages 3-6; the child: private
    # 0-2, memfd 0-4. Soft-dirty is per page table entry: memfd pages 3 and
    # 4, written by both, are soft-dirty in both.
    w_pause
    fcmd "write 0 anon 0 4"
    fcmd "write 0 shared 3 4"
    fcmd "write 1 anon 0 3"
    fcmd "write 1 shared 0 5"
    w_resume
    local s=$((WPAUSED + 1))
    assert_equal "$(proc_sd $s "$FPID")" "8 8 8 0 0"
    assert_equal "$(proc_sd $s "${KID[1]}")" "8 8 8 0 0"
    # the workload: written pages with the shared ones once (7 + 7); the
    # comparison, per process, sums to 16
    assert_equal "$(iv_sd $s)" "14 16 16 0 0"
    w_signal INT
    assert_equal "$WSTATUS" 0
    run sd_sums_hold "$WLOG"
    assert_success
    assert_output ""
    assert_equal "$(jq -r 'select(.type == "start") | .compare' "$WLOG")" soft-dirty

    # run follows the command's fork: the shell and runprog, each compared
    run "$PAGESCAN" run --compare soft-dirty -i 20ms -f json -o "$BATS_TEST_TMPDIR/run.jsonl" -- \
        sh -c "\"$TARGETS/runprog\" \"$BATS_TEST_TMPDIR/truth\" 30; :"
    assert_success
    assert_equal "$(jq -r 'select(.type == "process" and .event == "start") | .pid' "$BATS_TEST_TMPDIR/run.jsonl" | sort -u | wc -l)" 2
    run sd_sums_hold "$BATS_TEST_TMPDIR/run.jsonl"
    assert_success
    assert_output ""
    # report of the workload's recording: the sums, as of one process
    local sdp fp
    read -r sdp fp < <(jq -r 'select(.type == "end") | "\(.soft_dirty.soft_dirty_pages) \(.soft_dirty.false_pages)"' \
        "$BATS_TEST_TMPDIR/run.jsonl")
    run --separate-stderr "$PAGESCAN" report "$BATS_TEST_TMPDIR/run.jsonl"
    assert_success
    assert_line --regexp "^soft-dirty \(--compare soft-dirty\): $sdp pages marked, $fp not written "
}

# iv_sd SEQ: interval SEQ's written_pages, then its soft_dirty's written,
# soft-dirty, false and race pages.
iv_sd() {
    jq -r --argjson s "$1" 'select(.type == "interval" and .seq == $s) |
        "\(.written_pages) \(.soft_dirty | "\(.written_pages) \(.soft_dirty_pages) \(.false_pages) \(.race_pages)")"' "$WLOG"
}

# sd_doctor IN OUT: a recording of a real watch made into one of
# --compare soft-dirty with known counts: interval k has its written pages,
# soft-dirty written + k, k false positives (in one mapping at 0x1000 per
# k, and k in mapping [anon] at the first engaged range), and k % 2 in the
# race; the end record sums them.
sd_doctor() {
    jq -c --slurp '
        (.[] | select(.type == "start") | .engaged[0].start) as $a |
        [.[] | if .type == "start" then . + {compare: "soft-dirty"}
        elif .type == "interval" then
            . + {soft_dirty: {written_pages: .written_pages, soft_dirty_pages: (.written_pages + .seq),
                 false_pages: .seq, race_pages: (.seq % 2),
                 mappings: [{mapping: "[anon]", start: $a, written_pages: .written_pages,
                             soft_dirty_pages: (.written_pages + .seq), false_pages: .seq, race_pages: (.seq % 2)}],
                 false_regions: [], race_regions: []}}
        else . end] as $r |
        ([$r[] | select(.type == "interval") | .soft_dirty] | {
            written_pages: (map(.written_pages) | add), soft_dirty_pages: (map(.soft_dirty_pages) | add),
            false_pages: (map(.false_pages) | add), race_pages: (map(.race_pages) | add)}) as $s |
        $r[] | if .type == "end" then . + {soft_dirty: ($s + {worst_mappings: [], cost: "c"})} else . end' "$1" >"$2"
}

@test "soft-dirty: report of a --compare soft-dirty recording shows the false positives per interval, per mapping and in the summary" {
    mev_start
    vmap m anon 16
    "$PAGESCAN" watch "$VPID" -i 20ms -n 3 -f json -o "$BATS_TEST_TMPDIR/plain.jsonl"
    sd_doctor "$BATS_TEST_TMPDIR/plain.jsonl" "$BATS_TEST_TMPDIR/rec.jsonl"
    local w s
    w=$(jq -s '[.[] | select(.type == "interval") | .written_pages] | add' "$BATS_TEST_TMPDIR/rec.jsonl")
    s=$((w + 6))
    run --separate-stderr "$PAGESCAN" report "$BATS_TEST_TMPDIR/rec.jsonl" -f json
    assert_success
    # read without a word about the comparison
    [[ $stderr != *soft* && $stderr != *compare* ]] || fail "warnings: $stderr"
    assert_equal "$(jq -c '.soft_dirty | [.intervals, .written_pages, .soft_dirty_pages, .false_pages, .race_pages]' <<<"$output")" \
        "[3,$w,$s,6,2]"
    jq -e --argjson s "$s" '.soft_dirty.false_share - 6 / $s | fabs < 0.0001' <<<"$output" >/dev/null ||
        fail "false_share: $(jq -c .soft_dirty <<<"$output")"
    assert_equal "$(jq -c '[.soft_dirty.per_interval[] | [.seq, .false_pages, .race_pages]]' <<<"$output")" \
        "[[1,1,1],[2,2,0],[3,3,1]]"
    assert_equal "$(jq -c '[.soft_dirty.mappings[] | [.mapping, .false_pages, .soft_dirty_pages]]' <<<"$output")" \
        "[[\"[anon]\",6,$s]]"
    run --separate-stderr "$PAGESCAN" report "$BATS_TEST_TMPDIR/rec.jsonl"
    assert_success
    assert_line "soft-dirty (--compare soft-dirty): $s pages marked, 6 not written (false positives, $(awk -v s="$s" 'BEGIN { printf "%.1f", 600 / s }')% of soft-dirty), 2 in the read-to-clear race"
    assert_line --regexp '^ +2 +[0-9]+ +[0-9]+ +2 +[0-9.]+% +0$'
    assert_line --regexp "^ +$w +$s +6 +[0-9.]+% +2  0x[0-9a-f]+ \[anon\]$"
    # without --compare: nothing of it
    run --separate-stderr "$PAGESCAN" report "$BATS_TEST_TMPDIR/plain.jsonl" -f json
    assert_success
    assert_equal "$(jq -c 'has("soft_dirty")' <<<"$output")" false
}

@test "soft-dirty: a kernel without soft-dirty bits refuses, naming the cause, exit 1" {
    if soft_dirty_kernel; then
        skip "kernel has soft-dirty: the refusal cannot be seen here"
    fi
    mev_start
    run "$PAGESCAN" watch "$VPID" -n 1 --compare soft-dirty
    assert_failure 1
    assert_output "pagescan: --compare soft-dirty: this kernel keeps no soft-dirty bits (built without CONFIG_MEM_SOFT_DIRTY, or an architecture without them such as arm64); run without --compare soft-dirty"
    no_uffd_left "$VPID"
    run "$PAGESCAN" run --compare soft-dirty --no-follow-forks -- true
    assert_failure 1
    assert_output --partial "CONFIG_MEM_SOFT_DIRTY"
}

@test "soft-dirty: --compare refuses what it cannot compare, exit 64" {
    run "$PAGESCAN" watch 1 --compare dirty
    assert_failure 64
    assert_line --partial 'unknown --compare "dirty"; valid: soft-dirty'
    run "$PAGESCAN" watch 1 --compare soft-dirty --accumulate
    assert_failure 64
    assert_line --partial "drop --accumulate"
}
