#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The observer effect (docs/overhead.md): the estimate of what tracking
# costs the target, in every output format; --max-overhead stretching the
# interval under a heavy writer and bringing it back to -i when the writer
# stops, with every page still reported (truth from the writer); a budget
# that cannot be kept even at the longest stretch (60 s) said plainly (a
# note once, over_budget, the end summary); --max-overhead off keeping
# fixed intervals; bad values refused.
#
# The writer (tests/targets/overhead_writer) stores into every page of its
# mapping, pass after pass, between "start" and "stop" on its fifo; -r
# limits tracking to that mapping, so its pages are all a record holds.

# shellcheck disable=SC2153,SC2154 # WDIR, WLOG...: watch_helpers; status, output: bats
load common
load watch_helpers

WPAGES=16384

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
    # 20 ms ticks and the default 10 % budget: a pass over 16384 pages is
    # 16384 write-protect faults an interval (7 ms at 0.45 us a fault, the
    # fastest seen; 4096 pages came to 9 %, under the budget), well over
    # 10 % of 20 ms on any machine. The writer gets only part of
    # a CPU on a busy machine, and the budget counts the share of its CPU
    # time: intervals then stretch to several seconds (waits up to 90 s).
    local WTIMEOUT=90
    w_start watch "$VPID" -r "$WS-$WE" -i 20ms -f json
    assert_equal "$(jq -r 'select(.type == "start") | .max_overhead' "$WLOG")" 0.1
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
    # pass is in interval WPAUSED+1 at the latest; the sparse writes come in
    # the next one (stretched or back at -i: the budget relaxes as soon as
    # an interval is under a third of it).
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

    # Stretched while writing, each stretched interval at most 60 s and
    # said so; elapsed_s stays the true length (within the tick's lateness;
    # the last record, cut short by the signal, left out: the sparse writes
    # may stretch the interval after the one back at -i).
    jq -s -c 'map(select(.type == "interval")) | .[:-1][] | select(.stretched) | [.seq, .interval_s, .elapsed_s]' \
        "$WLOG" >"$BATS_TEST_TMPDIR/stretched"
    [[ -s $BATS_TEST_TMPDIR/stretched ]] || fail "no stretched interval"
    run jq -s -c 'map(select(.[1] <= 0.02 or .[1] > 60 or .[2] < 0.5 * .[1]))' "$BATS_TEST_TMPDIR/stretched"
    [[ $output == '[]' ]] || fail "stretched intervals [seq, asked, elapsed] out of bounds: $output; all: $(jq_iv '[.seq, .interval_s, .elapsed_s]' | tr '\n' ' ')"
    # All the records after the stop's interval hold exactly the sparse
    # writes: nothing lost, nothing else.
    jq -r "select(.type == \"interval\" and .seq > $((after + 1))) | .regions[] | \"\(.start) \(.end)\"" "$WLOG" |
        ranges_merge >"$BATS_TEST_TMPDIR/got"
    assert_ranges_equal "$BATS_TEST_TMPDIR/truth" "$BATS_TEST_TMPDIR/got"
    # The estimate in every interval; the end record sums it.
    assert_equal "$(jq_iv 'select(.target_overhead.share | type != "number")' | wc -l)" 0
    run jq -r 'select(.type == "end") | .target_overhead | "\(.stretched_intervals > 0) \(.max_share > 0.02) \(.longest_interval_s > 0.02)"' "$WLOG"
    assert_output "true true true"
    # The budget could be kept: never over it.
    assert_equal "$(jq_iv 'select(.over_budget)' | wc -l)" 0
    refute_regex "$(cat "$WDIR/stderr")" 'cannot be kept'
}

@test "--max-overhead: a budget that cannot be kept at the longest stretch (60 s) is said plainly; nothing lost" {
    # The test twin (cmake/TestHooks.cmake) stretches to 2 s at most
    # (PAGESCAN_TEST_BUDGET_MAX_MS); pagescan itself to 60 s (a minute more).
    local twin=${BUILD_DIR:-}/test-hooks/pagescan bin=$PAGESCAN max=60
    if [[ -x $twin ]]; then
        bin=$twin max=2
        export PAGESCAN_TEST_BUDGET_MAX_MS=2000
    fi
    writer_start
    # 0.001 %: the writes of one interval cost more than that even in a 60 s one.
    PAGESCAN=$bin w_start watch "$VPID" -r "$WS-$WE" -i 20ms -f json --max-overhead 0.001 --prom-file "$BATS_TEST_TMPDIR/m.prom"
    vcmd "sparse 1 $BATS_TEST_TMPDIR/all"
    # The interval that got them: far over the budget, stretched to the longest at once.
    local i seq=''
    for ((i = 0; i < 50 && !seq; i++)); do
        w_line || fail "no interval record (stderr: $(cat "$WDIR/stderr"))"
        seq=$(jq -r 'select(.type == "interval" and .written_pages > 0) | .seq' <<<"$W_LINE")
    done
    [[ -n $seq ]] || fail "no interval with the writes: $(jq_iv '[.seq, .written_pages]' | tail -n 5)"
    assert_equal "$(jq -r '.over_budget' <<<"$W_LINE")" null
    # Writes in the longest interval: still over the budget there, and it
    # cannot stretch further: over_budget, a note on stderr, all reported.
    vcmd "sparse 7 $BATS_TEST_TMPDIR/truth"
    WTIMEOUT=90 w_line || fail "no record after the ${max} s interval (stderr: $(cat "$WDIR/stderr"))"
    run jq -r --argjson m "$max" '"\(.seq) \(.interval_s) \(.stretched) \(.over_budget) \(.elapsed_s >= $m - 1)"' <<<"$W_LINE"
    assert_output "$((seq + 1)) $max true true true"
    # (the first round may have ended in it too: every page of the second
    # is reported)
    jq -r '.regions[] | "\(.start) \(.end)"' <<<"$W_LINE" | ranges_merge >"$BATS_TEST_TMPDIR/got"
    cat "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/truth" | ranges_merge >"$BATS_TEST_TMPDIR/union"
    assert_ranges_equal "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/union"
    w_signal INT
    assert_equal "$WSTATUS" 0
    run grep -c "the --max-overhead budget (0.001%) cannot be kept: .* in a ${max}.0s interval, the longest the budget stretches to" "$WDIR/stderr"
    assert_output 1
    assert_equal "$(w_end_field target_overhead | jq -r '"\(.over_budget_intervals) \(.longest_interval_s)"')" "1 $max"
    # Prometheus: one interval over the budget
    run grep -E '^pagescan_over_budget_intervals_total\{' "$BATS_TEST_TMPDIR/m.prom"
    assert_output --regexp '\} 1$'
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
            refute_output --partial 'over budget'
            ;;
        json)
            assert_equal "$(jq -c 'select(.type == "interval") | .target_overhead | keys' <<<"$output" | sort -u)" \
                '["cpu_share","fault_ns","fault_s","faults","share"]'
            # the cost of a fault used: the calibrated one, or the target's own when larger
            assert_equal "$(jq -s '(.[0].wp_fault_ns | floor) as $c | [.[] | select(.type == "interval") | .target_overhead.fault_ns >= $c] | all' <<<"$output")" true
            assert_equal "$(jq -r 'select(.type == "start") | "\(.max_overhead) \(.wp_fault_ns > 0)"' <<<"$output")" "0.1 true"
            assert_equal "$(jq -c 'select(.type == "end") | .target_overhead | keys' <<<"$output")" \
                '["cpu_share","fault_s","longest_interval_s","max_share","share","stretched_intervals"]'
            assert_equal "$(jq -r 'select(.type == "interval") | .over_budget' <<<"$output" | sort -u)" null
            ;;
        csv)
            assert_line --index 0 --partial ',thp_filled_pages,remapped_pages,interval_s,stretched,overhead_faults,overhead_fault_s,overhead_share,overhead_cpu_share,over_budget'
            assert_equal "$(grep -cE ',0\.020,0,[0-9]+,[0-9.]+,[0-9.]+,[0-9.]*,0$' <<<"$output")" 2
            ;;
        esac
    done
    run grep -E '^pagescan_(target_overhead_ratio|target_overhead_seconds_total|interval_target_seconds|interval_stretched|over_budget|over_budget_intervals_total)\{' "$BATS_TEST_TMPDIR/m.prom"
    assert_equal "${#lines[@]}" 6
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
