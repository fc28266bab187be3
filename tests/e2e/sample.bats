#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Sampled write tracking (docs/sampling.md): watch --sample 1/16 estimates
# each interval's written pages with a 95 % confidence interval. The victim
# writes a known number of random pages per interval (its truth); over many
# intervals the stated interval contains the truth about as often as it
# claims, every page reported as seen written was written (no false
# positives), and the records say "estimated" in every format and in
# `report`, the live heatmap's header included (in a private tmux server,
# tests/e2e/tmux.bash). Bad --sample values exit 64 with the fix.
#
# Interval boundaries as in watch.bats: pagescan is paused idle in poll()
# while the victim writes a round (w_round), so the round is exactly the
# next interval's writes.

# shellcheck disable=SC2153,SC2154 # WDIR, WLOG...: watch_helpers; status, output: bats
load common
load watch_helpers
load tmux

MPAGES=16384 # 64 MiB: 1024 blocks of 16 pages, about 64 sampled an interval
WRITES=2048  # pages written per round: an eighth of the mapping

setup_file() {
    kernel_supports
}

teardown() {
    [[ -z ${TSOCK:-} ]] || TM kill-server 2>/dev/null || true
    w_cleanup
    common_teardown
}

# victim_mapped: the victim with mapping m populated (written before the watch).
victim_mapped() {
    victim_start
    vmap m anon "$MPAGES"
    vcmd "write m all"
    vcmd mark
}

@test "--sample 1/16: the 95 % interval covers the truth as often as it claims; no page reported that was not written" {
    victim_mapped
    w_start watch "$VPID" -r "${MSTART[m]}-${MEND[m]}" -i 50ms -f json --max-overhead off --sample 1/16 --seed 11
    run jq -r 'select(.type == "start") | "\(.estimated) \(.sample.fraction) \(.sample.seed)"' "$WLOG"
    assert_output "true 0.0625 11"
    local k rounds=50 covered=0 seq lo hi est n seen misses=''
    for ((k = 1; k <= rounds; k++)); do
        w_round "$k" "write m rand:$WRITES:$k"
        seq=$((WPAUSED + 1))
        grep -m1 "^{\"type\":\"interval\",\"seq\":$seq," "$WLOG" >"$BATS_TEST_TMPDIR/iv" || fail "no record for interval $seq"
        read -r lo hi est n seen < <(jq -r '"\(.written_pages_ci95[0]) \(.written_pages_ci95[1]) \(.written_pages) \(.sample.sampled_pages) \(.sample.seen_written_pages)"' "$BATS_TEST_TMPDIR/iv")
        [[ -n $lo ]] || fail "no record for interval $seq"
        if ((lo <= WRITES && WRITES <= hi)); then
            covered=$((covered + 1))
        else
            misses+=" #$seq:$est[$lo,$hi]"
        fi
        # Every page seen written was written in this round (the sample
        # holds no page that merely reads written).
        jq -r '.regions[] | "\(.start) \(.end)"' "$BATS_TEST_TMPDIR/iv" |
            cat - "$WDIR/round.$k" | ranges_merge >"$BATS_TEST_TMPDIR/union"
        assert_ranges_equal "$WDIR/round.$k" "$BATS_TEST_TMPDIR/union"
        # About a sixteenth of the mapping sampled, an eighth of it written.
        ((n > MPAGES / 32 && n < MPAGES / 8)) || fail "interval $seq sampled $n pages of $MPAGES"
        ((seen <= n)) || fail "interval $seq: $seen seen written in a sample of $n"
    done
    w_signal INT
    assert_equal "$WSTATUS" 0
    # 95 %: about 47.5 of 50; fewer than 42 happens by chance once in a
    # thousand runs (binomial).
    ((covered >= 42)) || fail "the 95 % interval covered the truth in $covered of $rounds intervals; misses:$misses"
    # ... and not by being uselessly wide: the mean half-width is well
    # under the truth (about 20 % of it with 64 blocks).
    run jq -s -r "[.[] | select(.type == \"interval\" and .written_pages > 0) |
        (.written_pages_ci95[1] - .written_pages_ci95[0]) / 2 / $WRITES] | add / length < 0.4" "$WLOG"
    assert_output true
    # Intervals without writes estimate none.
    run jq -r 'select(.type == "interval" and .sample.seen_written_pages == 0) | .written_pages' "$WLOG"
    refute_output --regexp '[1-9]'
    # The end record: estimated, with bounds of the write working set.
    run jq -r 'select(.type == "end") | "\(.estimated) \(.wss_pages_bounds[0] <= .wss_pages_bounds[1]) \(.wss_pages > 0)"' "$WLOG"
    assert_output "true true true"
}

@test "--sample: estimated in text, JSON, CSV, Prometheus and report" {
    victim_mapped
    local fmt
    for fmt in text json csv; do
        run --separate-stderr "$PAGESCAN" watch "$VPID" -r "${MSTART[m]}-${MEND[m]}" -i 20ms -n 3 -f "$fmt" \
            --sample 1/16 -o "$BATS_TEST_TMPDIR/out.$fmt" --prom-file "$BATS_TEST_TMPDIR/m.prom"
        assert_success
        run cat "$BATS_TEST_TMPDIR/out.$fmt"
        case $fmt in
        text)
            assert_line --regexp '^sampling 1/16 of the tracked pages each interval \(seed [0-9]+\): written pages, rates and the write working set are estimates'
            assert_equal "$(grep -cE '^#[0-9]+ .*written ~[0-9]+ pages.*wss ~[0-9]+ page.*~estimated: written 95% CI [0-9]+\.\.[0-9]+ pages, [0-9]+ seen in a sample of [0-9]+$' <<<"$output")" 3
            assert_line --regexp '^estimated from a 1/16 sample: the write working set lies between [0-9]+ pages .* and [0-9]+ '
            ;;
        json)
            assert_equal "$(jq -r 'select(.type == "interval") | "\(.estimated) \(.written_pages_ci95 | length) \(.rate_pages_s_ci95 | length) \(.sample.fraction)"' <<<"$output" | sort -u)" \
                "true 2 2 0.0625"
            assert_equal "$(jq -r 'select(.type == "end") | .estimated' <<<"$output")" true
            ;;
        csv)
            assert_line --index 0 --partial ',estimated,written_pages_ci95_lo,written_pages_ci95_hi,sampled_pages,seen_written_pages'
            assert_equal "$(grep -cE ',1,[0-9]+,[0-9]+,[0-9]+,[0-9]+$' <<<"$output")" 3
            ;;
        esac
    done
    run grep -cE '^pagescan_(estimated|written_pages_ci95_low|written_pages_ci95_high)\{' "$BATS_TEST_TMPDIR/m.prom"
    assert_output 3
    # The heatmap's text frames (the live view draws the same header): wide,
    # the count with its 95 % half-width; narrower, in bytes, or the
    # fraction only. Never unmarked.
    local cols re
    for cols in 170 64; do
        COLUMNS=$cols LINES=20 run --separate-stderr "$PAGESCAN" watch "$VPID" -r "${MSTART[m]}-${MEND[m]}" \
            --heatmap=text -i 20ms -n 2 --sample 1/16
        assert_success
        case $cols in
        170) re='written ~[0-9]+ \(\+-[0-9]+, sampled 1/16\) pages \([^)]+\)  .* \| wss ~[0-9]+ pages' ;;
        64) re='written ~[0-9.]+[BKMGT] \((\+-[0-9.]+[BKMGT], )?sampled 1/16\) .*\| wss ~' ;;
        esac
        assert_equal "$(grep -cE "$re" <<<"$output")" 2
        refute_output --regexp 'written [0-9]'
    done
    # Exact stays the default: no estimate fields without --sample.
    run --separate-stderr "$PAGESCAN" watch "$VPID" -r "${MSTART[m]}-${MEND[m]}" -i 20ms -n 1 -f json
    assert_success
    refute_output --partial '"estimated"'
    # report says the figures are estimates.
    run --separate-stderr "$PAGESCAN" report "$BATS_TEST_TMPDIR/out.json"
    assert_success
    assert_line --regexp '^recording: .*recorded with --sample 0\.0625: dirty rates estimated'
    assert_line --partial 'only the pages seen in the samples, not estimates'
    run --separate-stderr "$PAGESCAN" report -f json "$BATS_TEST_TMPDIR/out.json"
    assert_success
    assert_equal "$(jq -r '.recording | "\(.estimated) \(.sample_fraction)"' <<<"$output")" "true 0.0625"
    # its dirty rate is that of the recorded estimates, not of the pages
    # seen (16 times too low), and a sampled interval's regions holding
    # fewer pages than its estimate is no inconsistency
    assert_equal "$(jq '.summary.rate_pages_s.mean | round' <<<"$output")" \
        "$(jq -s '[.[] | select(.type == "interval" and .elapsed_s > 0) | .written_pages / .elapsed_s] | add / length | round' "$BATS_TEST_TMPDIR/out.json")"
    [[ $stderr != *"regions hold"* ]] || fail "report warned: $stderr"
}

@test "--sample: the live heatmap's header says the figures are estimates: written ~N (+-M, sampled 1/16)" {
    if ! command -v tmux >/dev/null; then
        [[ ${PAGESCAN_MUST_WORK:-0} != 1 ]] || fail "tmux is missing (PAGESCAN_MUST_WORK=1)"
        skip "tmux is not installed"
    fi
    victim_mapped
    TSOCK=pagescan-sample-$$-$BATS_TEST_NUMBER
    tm_start 170 40
    TM send-keys -t t -l "TERM=screen-256color $PAGESCAN watch $VPID -r ${MSTART[m]}-${MEND[m]} --heatmap -i 300ms --max-overhead off --sample 1/16"
    TM send-keys -t t Enter
    tm_wait '#[0-9]+ at '
    assert_regex "$SCREEN" 'written ~[0-9]+ \(\+-[0-9]+, sampled 1/16\) pages \([^)]+\)  [0-9.k]+ pages/s  [0-9.]+ MiB/s \| wss ~[0-9]+ pages'
    # A round of writes: the next interval's header estimates them, with an
    # interval around the estimate (each round is on screen for 300 ms: the
    # screen is polled every 100 ms, and a round is written again when missed).
    local k i re='written ~[1-9][0-9]* \(\+-[1-9][0-9]*, sampled 1/16\) pages' hit=''
    for ((k = 1; k <= 20 && !hit; k++)); do
        vcmd "write m rand:$WRITES:$k"
        for ((i = 0; i < 10; i++)); do
            SCREEN=$(tm_screen)
            if [[ $SCREEN =~ $re ]]; then
                hit=1
                break
            fi
            sleep 0.1
        done
    done
    [[ -n $hit ]] || fail "$(printf 'no header with an estimate of the writes; the screen shows:\n%s' "$SCREEN")"
    refute_regex "$SCREEN" 'written [0-9]'
    TM send-keys -t t q
    tm_wait 'end: quit after [0-9]+ intervals'
}

@test "--sample: bad values exit 64 with the fix" {
    local v
    for v in 0 1 1/1 2 -0.5 x 1/0 150%; do
        run --separate-stderr "$PAGESCAN" watch 1 --sample "$v"
        assert_failure 64
        assert_equal "${stderr%%$'\n'*}" "pagescan watch: invalid --sample \"$v\": give the share of pages to sample each interval, above 0 and below 1 (e.g. 1/16, 0.05 or 5%)"
    done
    run --separate-stderr "$PAGESCAN" watch 1 --sample 1/16 --accumulate
    assert_failure 64
    assert_equal "${stderr%%$'\n'*}" "pagescan watch: --sample estimates each interval's writes: drop --accumulate"
    run --separate-stderr "$PAGESCAN" watch 1 2 --sample 1/16
    assert_failure 64
    assert_equal "${stderr%%$'\n'*}" "pagescan watch: --sample watches one process: give one PID, without --tree or --cgroup"
    run --separate-stderr "$PAGESCAN" watch 1 --seed 3
    assert_failure 64
    assert_equal "${stderr%%$'\n'*}" "pagescan watch: --seed goes with --sample FRACTION"
    run --separate-stderr "$PAGESCAN" run --sample 1/16 -- true
    assert_failure 64
    assert_equal "${stderr%%$'\n'*}" "pagescan run: --sample watches one process: add --no-follow-forks"
}
