#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The observer effect (docs/overhead.md): the estimate of what tracking
# costs the target, in every output format; --max-overhead stretching the
# interval under a heavy writer and bringing it back to -i when the writer
# stops, with every page still reported (truth from the writer);
# --max-overhead off keeping fixed intervals; bad values refused.
#
# The writer (tests/targets/overhead_writer) stores into every page of its
# mapping, pass after pass, between "start" and "stop" on its fifo; -r
# limits tracking to that mapping, so its pages are all a record holds.

# shellcheck disable=SC2153,SC2154 # WDIR, WLOG...: watch_helpers; status, output: bats
load common
load watch_helpers

WPAGES=4096

setup_file() {
    kernel_supports
}

# writer_start: the writer with its mapping mapped (WS-WE).
writer_start() {
    VICTIM_PROG=overhead_writer victim_start
    vcmd "map $WPAGES"
    read -r _ WS WE <<<"$REPLY_LINE"
}

teardown() {
    w_cleanup
    common_teardown
}

# jq_iv FILTER: FILTER over the interval records read so far.
jq_iv() {
    jq -c "select(.type == \"interval\") | $1" "$WLOG"
}

@test "--max-overhead stretches the interval under a heavy writer, back to -i when it stops; nothing lost" {
    writer_start
    # 20 ms ticks and a 2 % budget: a pass over 4096 pages is at least 4096
    # write-protect faults an interval, well over 2 % of 20 ms on any machine.
    w_start watch "$VPID" -r "$WS-$WE" -i 20ms -f json --max-overhead 2
    assert_equal "$(jq -r 'select(.type == "start") | .max_overhead' "$WLOG")" 0.02
    vcmd start
    # A stretched interval that holds every page of the mapping: it lasted
    # longer than a pass, and its harvest got all of them.
    local i full=''
    for ((i = 0; i < 200 && !full; i++)); do
        w_line || fail "no interval record (stderr: $(cat "$WDIR/stderr"))"
        full=$(jq -r --arg s "$WS" --arg e "$WE" \
            'select(.type == "interval" and .stretched and ([.regions[] | [.start, .end]] == [[$s, $e]])) | .seq' <<<"$W_LINE")
    done
    [[ -n $full ]] || fail "no stretched interval reported the whole mapping: $(jq_iv '[.seq, .interval_s, .written_pages]' | tail -n 5)"
    vcmd stop
    # Paused idle with every record read, then resumed: the writer's last
    # pass is in interval WPAUSED+1 at the latest; the next one, still
    # stretched (the budget relaxes by halves), gets the sparse writes.
    w_pause
    w_resume
    local after=$WPAUSED
    vcmd "sparse 7 $BATS_TEST_TMPDIR/truth"
    local back=''
    for ((i = 0; i < 200 && !back; i++)); do
        w_line || fail "no interval record (stderr: $(cat "$WDIR/stderr"))"
        back=$(jq -r 'select(.type == "interval" and (.stretched | not) and .interval_s == 0.02) | .seq' <<<"$W_LINE")
    done
    [[ -n $back ]] || fail "the interval did not come back to -i: $(jq_iv '[.seq, .interval_s, .target_overhead.share]' | tail -n 8)"
    w_signal INT
    assert_equal "$WSTATUS" 0

    # Stretched while writing, each stretched interval at most 64 x -i and
    # said so; elapsed_s stays the true length (within the tick's lateness).
    jq_iv 'select(.stretched) | [.interval_s, .elapsed_s]' >"$BATS_TEST_TMPDIR/stretched"
    [[ -s $BATS_TEST_TMPDIR/stretched ]] || fail "no stretched interval"
    run jq -s -r 'map(select(.[0] <= 0.02 or .[0] > 1.28 or .[1] < 0.5 * .[0])) | length' "$BATS_TEST_TMPDIR/stretched"
    assert_output 0
    # The sparse writes landed in a stretched interval, and all the records
    # after the stop's interval hold exactly them: nothing lost, nothing else.
    assert_equal "$(jq_iv "select(.seq == $((after + 2))) | .stretched")" true
    jq -r "select(.type == \"interval\" and .seq > $((after + 1))) | .regions[] | \"\(.start) \(.end)\"" "$WLOG" |
        ranges_merge >"$BATS_TEST_TMPDIR/got"
    assert_ranges_equal "$BATS_TEST_TMPDIR/truth" "$BATS_TEST_TMPDIR/got"
    # The estimate in every interval; the end record sums it.
    assert_equal "$(jq_iv 'select(.target_overhead.share | type != "number")' | wc -l)" 0
    run jq -r 'select(.type == "end") | .target_overhead | "\(.stretched_intervals > 0) \(.max_share > 0.02) \(.longest_interval_s > 0.02)"' "$WLOG"
    assert_output "true true true"
}

@test "--max-overhead off: fixed intervals under the same writer" {
    writer_start
    vcmd start
    w_start watch "$VPID" -r "$WS-$WE" -i 20ms -n 8 -f json --max-overhead off
    w_finish
    assert_equal "$WSTATUS" 0
    vcmd stop
    assert_equal "$(jq -r 'select(.type == "start") | .max_overhead' "$WLOG")" null
    assert_equal "$(jq_iv 'select(.stretched or .interval_s != 0.02)' | wc -l)" 0
    # ... though the estimate says a budget would have stretched them
    [[ $(jq_iv 'select(.target_overhead.share > 0.02) | .seq' | wc -l) -gt 0 ]] ||
        fail "no interval over 2 %: $(jq_iv '.target_overhead')"
    assert_equal "$(w_end_field target_overhead | jq .stretched_intervals)" 0
}

@test "the estimate in text, JSON, CSV, Prometheus and the heatmap header" {
    writer_start
    local fmt
    for fmt in text json csv; do
        run --separate-stderr "$PAGESCAN" watch "$VPID" -r "$WS-$WE" -i 20ms -n 2 -f "$fmt" \
            --prom-file "$BATS_TEST_TMPDIR/m.prom"
        assert_success
        case $fmt in
        text)
            assert_equal "$(grep -c '^#[0-9].*  overhead ~[0-9.]*%' <<<"$output")" 2
            assert_line --regexp '^target overhead \(estimated\): [0-9.]+% of the time, worst interval [0-9.]+%.* \([0-9.]+us a fault, (calibrated|default)\)$'
            assert_line --regexp '^budget 10%: 0 intervals stretched, the longest 0.020s$'
            ;;
        json)
            assert_equal "$(jq -c 'select(.type == "interval") | .target_overhead | keys' <<<"$output" | sort -u)" \
                '["cpu_share","fault_s","faults","share"]'
            assert_equal "$(jq -r 'select(.type == "start") | "\(.max_overhead) \(.wp_fault_ns > 0)"' <<<"$output")" "0.1 true"
            assert_equal "$(jq -c 'select(.type == "end") | .target_overhead | keys' <<<"$output")" \
                '["cpu_share","fault_s","longest_interval_s","max_share","share","stretched_intervals"]'
            ;;
        csv)
            assert_line --index 0 --partial ',thp_filled_pages,remapped_pages,interval_s,stretched,overhead_faults,overhead_fault_s,overhead_share,overhead_cpu_share'
            assert_equal "$(grep -cE ',0\.020,0,[0-9]+,[0-9.]+,[0-9.]+,[0-9.]*$' <<<"$output")" 2
            ;;
        esac
    done
    run grep -E '^pagescan_(target_overhead_ratio|target_overhead_seconds_total|interval_target_seconds|interval_stretched)\{' "$BATS_TEST_TMPDIR/m.prom"
    assert_equal "${#lines[@]}" 4
    COLUMNS=120 LINES=20 run --separate-stderr "$PAGESCAN" watch "$VPID" -r "$WS-$WE" --heatmap=text -i 20ms -n 2
    assert_success
    assert_output --regexp '\| harvest [0-9.]+(us|ms) \([0-9.]+%\) \| overhead ~[0-9.]+%'
}

@test "--max-overhead: bad values exit 64 with the fix" {
    local v
    for v in 0 -5 101 abc 10x ''; do
        run --separate-stderr "$PAGESCAN" watch 1 --max-overhead "$v"
        assert_failure 64
        assert_equal "${stderr%%$'\n'*}" "pagescan watch: invalid --max-overhead \"$v\": give a percentage of the interval above 0 and up to 100 (e.g. 10), or off"
    done
}
