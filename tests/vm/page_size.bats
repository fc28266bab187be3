# SPDX-License-Identifier: MIT
# Run inside a VM whose kernel does not use 4 KiB pages (tests/vm/vm.sh
# 6.12-arm64-16k), with the exactness tests of the core set: every size
# pagescan prints is in the kernel's pages. A recording of run says
# page_size; its regions, pages and bytes are in those pages and its union
# is the program's truth; report (text, JSON, SVG) and the text heatmap
# count in them; dump's summary too. (A recording read on a machine with other pages: the unit
# test test_page_size.)

load ../e2e/common
load ../e2e/watch_helpers

setup_file() {
    kernel_supports
}

setup() {
    [[ $PAGE_SIZE != 4096 ]] ||
        skip "needs a kernel with pages other than 4 KiB; run it through tests/vm/vm.sh 6.12-arm64-16k"
}

teardown() {
    w_cleanup
    common_teardown
}

@test "pages of the kernel's size: run's recording, report's text, JSON and SVG, dump's summary" {
    local d=$BATS_TEST_TMPDIR kib=$((PAGE_SIZE / 1024)) s
    ps_ok "$d/stdout" run -i 100ms -f json -o "$d/rec.json" -- "$TARGETS/runprog" "$d/truth" 30
    read -r s _ <"$d/truth"
    # page_size, region pages = (end - start) / PAGE_SIZE, bytes = pages x
    # PAGE_SIZE, and the union in runprog's mapping is its truth.
    assert_equal "$(jq -r 'select(.type == "start") | .page_size' "$d/rec.json")" "$PAGE_SIZE"
    w_check --log "$d/rec.json" --windows "$(printf '%s-0x%x' "$s" $((s + 30 * PAGE_SIZE)))" --union "$d/truth" \
        --once --untracked-ok --reason target-exit
    assert_equal "$(ranges_pages "$d/truth")" 10

    # report: the recording's distinct pages, in its pages
    local all
    all=$(jq -r 'select(.type == "interval") | .regions[] | "\(.start) \(.end)"' "$d/rec.json" | ranges_merge >"$d/all"
          ranges_pages "$d/all")
    ps_ok "$d/rep.json" report "$d/rec.json" -f json --svg "$d/rep.svg"
    assert_equal "$(jq -r '.summary.unique_pages' "$d/rep.json")" "$all"
    assert_equal "$(jq -r '.summary.unique_bytes' "$d/rep.json")" $((all * PAGE_SIZE))
    assert_equal "$(jq -r '.summary.tracked_bytes / .summary.tracked_pages' "$d/rep.json")" "$PAGE_SIZE"
    grep -qF "PAGEMAP_SCAN), $kib KiB pages</text>" "$d/rep.svg" || fail "the SVG does not say $kib KiB pages"
    ps_ok "$d/rep.txt" report "$d/rec.json"
    grep -q "^unique pages written: $all (" "$d/rep.txt" || fail "report text: $(head -n 5 "$d/rep.txt")"

    # dump: bytes = pages x PAGE_SIZE in the summary (check_dump_json), and a
    # -r range inside one page rounds to that page.
    ps_ok "$d/dump.json" dump "$$" -m present -f json
    check_dump_json "$d/dump.json"
    local stk
    stk=$(awk '$NF == "[stack]" { split($1, a, "-"); print a[2]; exit }' "/proc/$$/maps")
    ps_ok "$d/dump1.json" dump "$$" -m present -f json -r "$(printf '0x%x-0x%x' $((0x$stk - 100)) $((0x$stk - 50)))"
    assert_equal "$(jq -r 'select(.type == "region") | "\(.start) \(.end) \(.pages)"' "$d/dump1.json")" \
        "$(printf '0x%x 0x%x 1' $((0x$stk - PAGE_SIZE)) $((0x$stk)))"
}

@test "pages of the kernel's size: watch of a running process, each round exactly in its interval" {
    # A small rounds_kind (watch.bats): the attach path, 1 and 8 writers.
    victim_start
    vmap x anon 64
    vmap y anon 8
    vcmd "write x 0-15"
    w_start watch "$VPID" -i 100ms -f json
    w_round 1 "write x 1,3,30-39,63"
    w_round 2 "threads 8 x rand:16:7" "write y 0-3"
    w_round 3 "write x every:5" "read x all"
    w_pause
    vcmd mark
    vcmd "threads 8 x every:3:1"
    victim_truth "$WDIR/round.4"
    echo "$((WPAUSED + 1)) $WDIR/round.4" >>"$WDIR/rounds"
    w_signal INT
    assert_equal "$WSTATUS" 0
    w_check --windows "$(w_windows)" --rounds "$WDIR/rounds" --reason signal
    no_uffd_left "$VPID"
    vcmd "check x"
    victim_stop
}

@test "pages of the kernel's size: the text heatmap's cells and its summary" {
    local d=$BATS_TEST_TMPDIR kib=$((PAGE_SIZE / 1024))
    COLUMNS=100 LINES=24 ps_ok "$d/heat.txt" run --heatmap=text -i 100ms -- "$TARGETS/runprog" "$d/truth" 30
    assert_equal "$(ranges_pages "$d/truth")" 10
    # the scale line: N pages a cell, N x PAGE_SIZE
    local scale
    scale=$(grep -m 1 '^1 cell = ' "$d/heat.txt") || fail "no scale line: $(head -n 4 "$d/heat.txt")"
    [[ $scale =~ ^1\ cell\ =\ ([0-9]+)\ pages?\ \(([^\)]+)\) ]] || fail "scale line: $scale"
    local per=${BASH_REMATCH[1]} size=${BASH_REMATCH[2]}
    ((per * kib >= 1000)) || assert_equal "$size" "$((per * kib))K"
    # the summary: the write working set, at least the program's 10 pages, in the kernel's pages
    local end
    end=$(grep '^end: ' "$d/heat.txt") || fail "no summary line"
    [[ $end =~ write\ working\ set\ ([0-9]+)\ pages\ \(([^\)]+)\) ]] || fail "summary: $end"
    local n=${BASH_REMATCH[1]}
    size=${BASH_REMATCH[2]}
    ((n >= 10)) || fail "write working set $n pages, the program alone wrote 10: $end"
    ((n * kib >= 1000)) || assert_equal "$size" "$((n * kib))K"
}
