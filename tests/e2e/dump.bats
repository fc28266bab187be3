#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# pagescan dump: page sets against /proc/PID/pagemap, output shape, -r, -M.
# The victim is idle (blocked reading its command fifo) while pagescan and
# the reference reader look at it, so its page tables do not change.

load common

setup_file() {
    kernel_supports
}

teardown() {
    common_teardown
}

# A victim with 48,000 anonymous pages, every other one written: 24,000
# one-page regions in that mapping alone.
big_victim() {
    victim_start
    vmap big anon 48000
    vcmd "write big every:2"
}

@test "dump -m present over 24,000 regions equals /proc/PID/pagemap" {
    big_victim
    local w=${MSTART[big]}-${MEND[big]}
    ps_ok "$BATS_TEST_TMPDIR/out" dump "$VPID" -m present -r "$w" -f json
    check_dump_json "$BATS_TEST_TMPDIR/out"
    check_regions_in_maps "$VPID" "$BATS_TEST_TMPDIR/out"
    ps_regions_to_ranges <"$BATS_TEST_TMPDIR/out" >"$BATS_TEST_TMPDIR/got"
    pagemap_present "$VPID" "${MSTART[big]}" "${MEND[big]}" >"$BATS_TEST_TMPDIR/exp"
    assert_equal "$(wc -l <"$BATS_TEST_TMPDIR/exp")" 24000
    assert_ranges_equal "$BATS_TEST_TMPDIR/exp" "$BATS_TEST_TMPDIR/got"
    assert_equal "$(json_summary "$BATS_TEST_TMPDIR/out" regions)" 24000
    assert_equal "$(json_summary "$BATS_TEST_TMPDIR/out" pages)" 24000
    assert_equal "$(json_summary "$BATS_TEST_TMPDIR/out" truncated)" false
}

@test "dump -m present of the whole process equals /proc/PID/pagemap" {
    big_victim
    vmap f file 64
    vmap m shmfile 32
    vmap s shared 32
    vcmd "write s 3-9"
    vmap h thp 512
    ps_ok "$BATS_TEST_TMPDIR/out" dump "$VPID" -m present -f json
    check_dump_json "$BATS_TEST_TMPDIR/out"
    check_regions_in_maps "$VPID" "$BATS_TEST_TMPDIR/out"
    jq -c 'select(.type != "region" or (.mapping | test("^\\[vvar") | not))' \
        "$BATS_TEST_TMPDIR/out" | ps_regions_to_ranges >"$BATS_TEST_TMPDIR/got"
    pagemap_present "$VPID" >"$BATS_TEST_TMPDIR/exp"
    assert_ranges_equal "$BATS_TEST_TMPDIR/exp" "$BATS_TEST_TMPDIR/got"
    # more than 20,000 regions in one scan
    (($(json_summary "$BATS_TEST_TMPDIR/out" regions) > 24000))
}

@test "dump with the default mask reports present and swapped pages" {
    big_victim
    ps_ok "$BATS_TEST_TMPDIR/out" dump "$VPID" -f json
    check_dump_json "$BATS_TEST_TMPDIR/out"
    # every region is present or swapped
    run jq -r 'select(.type == "region") | select((.categories | index("present")) == null
        and (.categories | index("swapped")) == null) | .start' "$BATS_TEST_TMPDIR/out"
    assert_output ''
    jq -c 'select(.type != "region" or (.mapping | test("^\\[vvar") | not))' \
        "$BATS_TEST_TMPDIR/out" | ps_regions_to_ranges >"$BATS_TEST_TMPDIR/got"
    { pagemap_present "$VPID"; "$TARGETS/pagemap_truth" -b 62 -x '[vvar]' -x '[vvar_vclock]' "$VPID"; } |
        ranges_merge >"$BATS_TEST_TMPDIR/exp"
    assert_ranges_equal "$BATS_TEST_TMPDIR/exp" "$BATS_TEST_TMPDIR/got"
}

@test "regions never span two mappings" {
    victim_start
    # One VMA split in three by mprotect: same page categories on both
    # sides of each boundary, so the kernel hands back merged regions that
    # pagescan must cut at the mapping boundaries.
    vmap a anon 48
    vcmd "write a all"
    vcmd "protect a 16-31 r"
    ps_ok "$BATS_TEST_TMPDIR/out" dump "$VPID" -m present -r "${MSTART[a]}-${MEND[a]}" -f json
    check_dump_json "$BATS_TEST_TMPDIR/out"
    check_regions_in_maps "$VPID" "$BATS_TEST_TMPDIR/out"
    run jq -r 'select(.type == "region") | "\(.start) \(.end)"' "$BATS_TEST_TMPDIR/out"
    assert_output "$(printf '%s %s\n%s %s\n%s %s' \
        "$(vaddr a 0)" "$(vaddr a 16)" "$(vaddr a 16)" "$(vaddr a 32)" "$(vaddr a 32)" "$(vaddr a 48)")"
}

@test "text output: one line per region with columns, then the summary line" {
    big_victim
    vmap f file 16
    vmap a anon 8
    vcmd "write a 0-3"
    ps_ok "$BATS_TEST_TMPDIR/text" dump "$VPID" -m present
    ps_ok "$BATS_TEST_TMPDIR/json" dump "$VPID" -m present -f json
    local t=$BATS_TEST_TMPDIR/text
    # region lines: start-end, pages, categories, mapping label
    run awk 'NR > 1 && prev != "" { if (prev !~ /^0x[0-9a-f]+-0x[0-9a-f]+ +[0-9]+ +[a-z-]+(,[a-z-]+)* +[^ ].*$/) print "bad region line: " prev }
             { prev = $0 }' "$t"
    assert_output ''
    # the summary line, last
    run tail -n 1 "$t"
    assert_output --regexp '^[0-9]+ regions?, [0-9]+ pages? \([0-9.]+ ?[KMGT]?i?B?\)'
    local nreg npages
    nreg=$(tail -n 1 "$t" | awk '{ print $1 }')
    npages=$(tail -n 1 "$t" | awk '{ print $3 }')
    assert_equal "$nreg" "$(($(wc -l <"$t") - 1))"
    assert_equal "$npages" "$(head -n -1 "$t" | awk '{ n += $2 } END { print n + 0 }')"
    # the same regions as -f json: start-end, pages, categories, mapping
    jq -r 'select(.type == "region") | "\(.start)-\(.end) \(.pages) \(.categories | join(",")) \(.mapping)"' \
        "$BATS_TEST_TMPDIR/json" >"$BATS_TEST_TMPDIR/from-json"
    head -n -1 "$t" | awk '{ line = $1 " " $2 " " $3; for (i = 4; i <= NF; i++) line = line " " $i; print line }' \
        >"$BATS_TEST_TMPDIR/from-text"
    run diff -u "$BATS_TEST_TMPDIR/from-json" "$BATS_TEST_TMPDIR/from-text"
    assert_success
    assert_equal "$nreg" "$(json_summary "$BATS_TEST_TMPDIR/json" regions)"
    assert_equal "$npages" "$(json_summary "$BATS_TEST_TMPDIR/json" pages)"
    # the mappings are named as in /proc/PID/maps
    grep -qF " ${MPATH[f]}" "$t"
    grep -qF ' [anon]' "$t"
}

@test "JSON lines all parse and the summary counts equal the sum of the regions" {
    victim_start
    vmap a anon 64
    vmap f file 32
    vmap m shmfile 16
    vcmd "write a every:3"
    ps_ok "$BATS_TEST_TMPDIR/out" dump "$VPID" -f json
    check_dump_json "$BATS_TEST_TMPDIR/out"
    check_regions_in_maps "$VPID" "$BATS_TEST_TMPDIR/out"
    # every line on its own is one JSON object
    local n=0 line
    while IFS= read -r line; do
        jq -e 'type == "object"' >/dev/null <<<"$line" || fail "not a JSON object: $line"
        n=$((n + 1))
    done <"$BATS_TEST_TMPDIR/out"
    ((n >= 2))
    run jq -rs --argjson ps "$PAGE_SIZE" '[.[] | select(.type == "region")] as $r | .[-1]
        | [.regions == ($r | length), .pages == ([$r[].pages] | add), .bytes == .pages * $ps] | all' \
        "$BATS_TEST_TMPDIR/out"
    assert_output true
}

@test "-r START-END restricts the output (hex, decimal, unaligned)" {
    big_victim
    local s=$((MSTART[big])) e
    # pages 8..19
    ps_ok "$BATS_TEST_TMPDIR/out" dump "$VPID" -m present -r "$(vaddr big 8)-$(vaddr big 20)" -f json
    check_dump_json "$BATS_TEST_TMPDIR/out"
    ps_regions_to_ranges <"$BATS_TEST_TMPDIR/out" >"$BATS_TEST_TMPDIR/got"
    pagemap_present "$VPID" "$(vaddr big 8)" "$(vaddr big 20)" >"$BATS_TEST_TMPDIR/exp"
    assert_equal "$(wc -l <"$BATS_TEST_TMPDIR/exp")" 6
    assert_ranges_equal "$BATS_TEST_TMPDIR/exp" "$BATS_TEST_TMPDIR/got"
    # the same in decimal
    ps_ok "$BATS_TEST_TMPDIR/out2" dump "$VPID" -m present -r "$((s + 8 * PAGE_SIZE))-$((s + 20 * PAGE_SIZE))" -f json
    ps_regions_to_ranges <"$BATS_TEST_TMPDIR/out2" >"$BATS_TEST_TMPDIR/got2"
    assert_ranges_equal "$BATS_TEST_TMPDIR/exp" "$BATS_TEST_TMPDIR/got2"
    # unaligned: start rounds down, end rounds up -> pages 2..8
    e=$((s + 8 * PAGE_SIZE + 1))
    ps_ok "$BATS_TEST_TMPDIR/out3" dump "$VPID" -m present -r "$(printf '0x%x-0x%x' $((s + 2 * PAGE_SIZE + 100)) "$e")" -f json
    ps_regions_to_ranges <"$BATS_TEST_TMPDIR/out3" >"$BATS_TEST_TMPDIR/got3"
    pagemap_present "$VPID" "$(vaddr big 2)" "$(vaddr big 9)" >"$BATS_TEST_TMPDIR/exp3"
    assert_ranges_equal "$BATS_TEST_TMPDIR/exp3" "$BATS_TEST_TMPDIR/got3"
}

@test "-r START+LENGTH restricts the output (K and M suffixes)" {
    big_victim
    ps_ok "$BATS_TEST_TMPDIR/out" dump "$VPID" -m present -r "$(vaddr big 100)+40K" -f json
    check_dump_json "$BATS_TEST_TMPDIR/out"
    ps_regions_to_ranges <"$BATS_TEST_TMPDIR/out" >"$BATS_TEST_TMPDIR/got"
    pagemap_present "$VPID" "$(vaddr big 100)" "$(vaddr big 110)" >"$BATS_TEST_TMPDIR/exp"
    assert_equal "$(wc -l <"$BATS_TEST_TMPDIR/exp")" 5
    assert_ranges_equal "$BATS_TEST_TMPDIR/exp" "$BATS_TEST_TMPDIR/got"

    ps_ok "$BATS_TEST_TMPDIR/out2" dump "$VPID" -m present -r "$(vaddr big 1000)+1M" -f json
    ps_regions_to_ranges <"$BATS_TEST_TMPDIR/out2" >"$BATS_TEST_TMPDIR/got2"
    pagemap_present "$VPID" "$(vaddr big 1000)" "$(vaddr big 1256)" >"$BATS_TEST_TMPDIR/exp2"
    assert_equal "$(ranges_pages "$BATS_TEST_TMPDIR/exp2")" 128
    assert_ranges_equal "$BATS_TEST_TMPDIR/exp2" "$BATS_TEST_TMPDIR/got2"
    assert_equal "$(json_summary "$BATS_TEST_TMPDIR/out2" pages)" 128
}

@test "several -r options: the union" {
    big_victim
    vmap f file 16
    ps_ok "$BATS_TEST_TMPDIR/out" dump "$VPID" -m present \
        -r "$(vaddr big 0)-$(vaddr big 10)" -r "$(vaddr big 40)+16K" -r "${MSTART[f]}-${MEND[f]}" -f json
    check_dump_json "$BATS_TEST_TMPDIR/out"
    ps_regions_to_ranges <"$BATS_TEST_TMPDIR/out" >"$BATS_TEST_TMPDIR/got"
    printf '%s %s\n' "$(vaddr big 0)" "$(vaddr big 10)" "$(vaddr big 40)" "$(vaddr big 44)" \
        "${MSTART[f]}" "${MEND[f]}" | pagemap_present_over "$VPID" >"$BATS_TEST_TMPDIR/exp"
    assert_ranges_equal "$BATS_TEST_TMPDIR/exp" "$BATS_TEST_TMPDIR/got"
}

# dump_selector SELECTOR AWK-CONDITION: -r SELECTOR gives exactly the
# present pages of the mappings for which the condition holds.
dump_selector() {
    ps_ok "$BATS_TEST_TMPDIR/out" dump "$VPID" -m present -r "$1" -f json
    check_dump_json "$BATS_TEST_TMPDIR/out"
    check_regions_in_maps "$VPID" "$BATS_TEST_TMPDIR/out"
    ps_regions_to_ranges <"$BATS_TEST_TMPDIR/out" >"$BATS_TEST_TMPDIR/got"
    maps_where "$VPID" "$2" | pagemap_present_over "$VPID" >"$BATS_TEST_TMPDIR/exp"
    [[ -s $BATS_TEST_TMPDIR/exp ]] || fail "selector $1: test premise: no present pages expected"
    assert_ranges_equal "$BATS_TEST_TMPDIR/exp" "$BATS_TEST_TMPDIR/got"
}

@test "-r selectors: file basename, path, [heap], [stack], anon, shm" {
    victim_start
    vmap a anon 32
    vcmd "write a 0-9"
    vmap f file 16
    vmap m shmfile 16
    vmap s shared 16
    vcmd "write s 0-3"
    local base=${MPATH[f]##*/}
    dump_selector "$base" "name == \"${MPATH[f]}\""
    dump_selector "${MPATH[f]}" "name == \"${MPATH[f]}\""
    dump_selector '[heap]' 'name == "[heap]"'
    dump_selector '[stack]' 'name == "[stack]"'
    dump_selector anon 'name == ""'
    dump_selector shm 'name ~ /^\/dev\/shm\// || name ~ /^\/dev\/zero \(deleted\)$/ || name ~ /^\/SYSV/ || name ~ /^\/memfd:/'
    # the shm selection holds both our shared mappings, the anon one none
    ps_regions_to_ranges "${MSTART[m]}-${MEND[m]}" <"$BATS_TEST_TMPDIR/out" | grep -q .
    ps_regions_to_ranges "${MSTART[s]}-${MEND[s]}" <"$BATS_TEST_TMPDIR/out" | grep -q .
    run ps_regions_to_ranges "${MSTART[a]}-${MEND[a]}" <"$BATS_TEST_TMPDIR/out"
    assert_output ''
}

@test "-M N stops at exactly N pages and the summary says truncated" {
    big_victim
    local w=${MSTART[big]}-${MEND[big]}
    ps_ok "$BATS_TEST_TMPDIR/out" dump "$VPID" -m present -r "$w" -M 100 -f json
    check_dump_json "$BATS_TEST_TMPDIR/out"
    assert_equal "$(json_summary "$BATS_TEST_TMPDIR/out" pages)" 100
    assert_equal "$(json_summary "$BATS_TEST_TMPDIR/out" truncated)" true
    ps_regions_to_ranges <"$BATS_TEST_TMPDIR/out" >"$BATS_TEST_TMPDIR/got"
    pagemap_present "$VPID" "${MSTART[big]}" "${MEND[big]}" | ranges_head 100 >"$BATS_TEST_TMPDIR/exp"
    assert_ranges_equal "$BATS_TEST_TMPDIR/exp" "$BATS_TEST_TMPDIR/got"
    # --max-pages, long form, in text mode
    ps_ok "$BATS_TEST_TMPDIR/text" dump "$VPID" -m present -r "$w" --max-pages 7
    assert_equal "$(($(wc -l <"$BATS_TEST_TMPDIR/text") - 1))" 7
    run tail -n 1 "$BATS_TEST_TMPDIR/text"
    assert_output --regexp '^7 regions?, 7 pages?'
    assert_output --regexp '[Tt]runcated'
}

# The kernel walks on after max_pages is reached, and a call that refilled
# its 512-entry bounce buffer leaves walk_end at the refill point
# (docs/kernel-interfaces.md#the-vector-cap): with more than 512 regions
# asked per call, -M equal to the number of matching pages would read as
# truncated. 48,200 pages, every second one written: 24,100 regions.
@test "-M equal to the number of matching pages (24,100 one-page regions): all of them, not truncated" {
    victim_start
    vmap big anon 48200
    vcmd "write big every:2"
    local w=${MSTART[big]}-${MEND[big]}
    ps_ok "$BATS_TEST_TMPDIR/out" dump "$VPID" -m present -r "$w" -M 24100 -f json
    check_dump_json "$BATS_TEST_TMPDIR/out"
    assert_equal "$(json_summary "$BATS_TEST_TMPDIR/out" truncated)" false
    assert_equal "$(json_summary "$BATS_TEST_TMPDIR/out" pages)" 24100
    assert_equal "$(json_summary "$BATS_TEST_TMPDIR/out" regions)" 24100
    ps_regions_to_ranges <"$BATS_TEST_TMPDIR/out" >"$BATS_TEST_TMPDIR/got"
    pagemap_present "$VPID" "${MSTART[big]}" "${MEND[big]}" >"$BATS_TEST_TMPDIR/exp"
    assert_ranges_equal "$BATS_TEST_TMPDIR/exp" "$BATS_TEST_TMPDIR/got"
    # one page fewer: truncated, the first 24,099
    ps_ok "$BATS_TEST_TMPDIR/out" dump "$VPID" -m present -r "$w" -M 24099 -f json
    assert_equal "$(json_summary "$BATS_TEST_TMPDIR/out" truncated)" true
    assert_equal "$(json_summary "$BATS_TEST_TMPDIR/out" pages)" 24099
    # one page more than there is: all of them, not truncated
    ps_ok "$BATS_TEST_TMPDIR/out" dump "$VPID" -m present -r "$w" -M 24101 -f json
    assert_equal "$(json_summary "$BATS_TEST_TMPDIR/out" truncated)" false
    assert_equal "$(json_summary "$BATS_TEST_TMPDIR/out" pages)" 24100
}

# -M is one limit over the whole selection, also when it is scanned in
# several runs (two -r ranges that do not touch). Once a bug: when the runs
# before used up exactly N pages, the next ones were scanned without a limit
# (max_pages 0 means none) and "truncated" stayed false.
@test "-M 4 over two -r ranges, the first holding exactly 4 matching pages: 4 pages, truncated" {
    victim_start
    vmap b anon 16
    vcmd "write b 0-3,8-12"
    local r1 r2
    r1=$(vaddr b 0)-$(vaddr b 4) r2=$(vaddr b 8)-${MEND[b]}
    # premise: without -M both ranges report, 4 + 5 pages
    ps_ok "$BATS_TEST_TMPDIR/all" dump "$VPID" -m present -r "$r1" -r "$r2" -f json
    assert_equal "$(json_summary "$BATS_TEST_TMPDIR/all" pages)" 9
    ps_ok "$BATS_TEST_TMPDIR/out" dump "$VPID" -m present -r "$r1" -r "$r2" -M 4 -f json
    check_dump_json "$BATS_TEST_TMPDIR/out"
    assert_equal "$(json_summary "$BATS_TEST_TMPDIR/out" pages)" 4
    assert_equal "$(json_summary "$BATS_TEST_TMPDIR/out" truncated)" true
    ps_regions_to_ranges <"$BATS_TEST_TMPDIR/out" >"$BATS_TEST_TMPDIR/got"
    printf '%s %s\n' "$(vaddr b 0)" "$(vaddr b 4)" >"$BATS_TEST_TMPDIR/exp"
    assert_ranges_equal "$BATS_TEST_TMPDIR/exp" "$BATS_TEST_TMPDIR/got"
    # -M 9, all there is: not truncated; -M 5: one page of the second range
    ps_ok "$BATS_TEST_TMPDIR/out" dump "$VPID" -m present -r "$r1" -r "$r2" -M 9 -f json
    assert_equal "$(json_summary "$BATS_TEST_TMPDIR/out" pages)" 9
    assert_equal "$(json_summary "$BATS_TEST_TMPDIR/out" truncated)" false
    ps_ok "$BATS_TEST_TMPDIR/out" dump "$VPID" -m present -r "$r1" -r "$r2" -M 5 -f json
    assert_equal "$(json_summary "$BATS_TEST_TMPDIR/out" pages)" 5
    assert_equal "$(json_summary "$BATS_TEST_TMPDIR/out" truncated)" true
}

@test "-M N cuts a region in the middle" {
    victim_start
    vmap c anon 32
    vcmd "write c all"
    ps_ok "$BATS_TEST_TMPDIR/out" dump "$VPID" -m present -r "${MSTART[c]}-${MEND[c]}" -M 5 -f json
    check_dump_json "$BATS_TEST_TMPDIR/out"
    run jq -r 'select(.type == "region") | "\(.start) \(.end) \(.pages)"' "$BATS_TEST_TMPDIR/out"
    assert_output "$(vaddr c 0) $(vaddr c 5) 5"
    assert_equal "$(json_summary "$BATS_TEST_TMPDIR/out" truncated)" true
    # without -M: the whole run, not truncated
    ps_ok "$BATS_TEST_TMPDIR/out2" dump "$VPID" -m present -r "${MSTART[c]}-${MEND[c]}" -f json
    run jq -r 'select(.type == "region") | "\(.start) \(.end) \(.pages)"' "$BATS_TEST_TMPDIR/out2"
    assert_output "$(vaddr c 0) $(vaddr c 32) 32"
    assert_equal "$(json_summary "$BATS_TEST_TMPDIR/out2" truncated)" false
}

@test "categories: written-then-read pages are present, zero-page reads pfnzero, files file" {
    require_zero_page # its reads are reads only where the kernel maps the zero page
    victim_start
    vmap a anon 8
    vmap f file 4
    vcmd "write a 0-1"
    vcmd "read a 4-5"
    ps_ok "$BATS_TEST_TMPDIR/out" dump "$VPID" -m present -r "${MSTART[a]}-${MEND[a]}" -r "${MSTART[f]}-${MEND[f]}" -f json
    check_dump_json "$BATS_TEST_TMPDIR/out"
    run jq -r 'select(.type == "region") | "\(.start) \(.end) \(.categories | map(select(. == "present" or . == "pfnzero" or . == "file")) | join(","))"' \
        "$BATS_TEST_TMPDIR/out"
    assert_output "$(printf '%s %s present\n%s %s present,pfnzero\n%s %s present,file\n' \
        "$(vaddr a 0)" "$(vaddr a 2)" "$(vaddr a 4)" "$(vaddr a 6)" "${MSTART[f]}" "${MEND[f]}" | sort)"
}

@test "dump -m written of a process that is not engaged: 0 regions, exit 0, and stderr says how to engage" {
    victim_start
    vmap a anon 16
    vcmd "write a 0-3"
    run --separate-stderr "$PAGESCAN" dump "$VPID" -m written
    assert_equal "$status" 0
    assert_equal "$output" "0 regions, 0 pages (0B)"
    assert_equal "$stderr" "pagescan: warning: no page of process $VPID is tracked for writes, so \"written\" matches nothing: engage it first (pagescan engage $VPID), and dump -m written then shows the pages written since; or follow it live with pagescan watch $VPID"
    # engaged: the pages written since, and no hint
    ps_ok "$BATS_TEST_TMPDIR/engage.out" engage "$VPID"
    vcmd "write a 5-6"
    run --separate-stderr "$PAGESCAN" dump "$VPID" -m written -r "${MSTART[a]}-${MEND[a]}" -f json
    assert_equal "$status" 0
    assert_equal "$stderr" ""
    assert_equal "$(ps_regions_to_ranges <<<"$output")" "$(printf '0x%x 0x%x' $((MSTART[a] + 5 * PAGE_SIZE)) $((MSTART[a] + 7 * PAGE_SIZE)))"
    # engaged, nothing written in the selection: a valid empty answer, no hint
    run --separate-stderr "$PAGESCAN" dump "$VPID" -m written -r "${MSTART[a]}+16K"
    assert_equal "$status" 0
    assert_equal "$output" "0 regions, 0 pages (0B)"
    assert_equal "$stderr" ""
    ps_ok "$BATS_TEST_TMPDIR/release.out" release "$VPID"
}

@test "-r that selects nothing: 0 regions, exit 0, and stderr names the closest mappings (libc.so -> libc.so.6)" {
    victim_start
    grep -q '/libc\.so\.6$' "/proc/$VPID/maps" || skip "the victim does not map libc.so.6"
    run --separate-stderr "$PAGESCAN" dump "$VPID" -r libc.so
    assert_equal "$status" 0
    assert_equal "$output" "0 regions, 0 pages (0B)"
    assert_regex "$stderr" "^pagescan: warning: -r libc\\.so matches no mapping of the process; closest names it has: libc\\.so\\.6, [^,]+, [^,]+\$"
    run --separate-stderr "$PAGESCAN" dump "$VPID" -r nosuchlib.so -r '[heap]'
    assert_equal "$status" 0
    assert_regex "$stderr" "^pagescan: warning: -r nosuchlib\\.so matches no mapping of the process; closest names it has: "
    # a selector that matches says nothing
    run --separate-stderr "$PAGESCAN" dump "$VPID" -r libc.so.6
    assert_equal "$status" 0
    assert_equal "$stderr" ""
}
