#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# report: a real watch of the victim recorded (watch -f json through a
# fifo, so the test knows when an interval has been reported) and
# analysed; the SVG checked with xmllint and rendered with rsvg-convert;
# the --prom-file output checked (promtool when installed, else a format
# check) while a reader keeps reading it during the watch.

# shellcheck disable=SC2154 # status/output/stderr are set by bats' run
load common
load family

setup_file() {
    kernel_supports
}

teardown() {
    family_cleanup
    common_teardown
}

# ---- recording a watch -------------------------------------------------------------

# watch_start ARGS...: `pagescan watch ARGS -f json` in the background,
# its output read through a fifo; every record read is appended to $REC.
# Returns after the start record. Sets WPID, WOUT_FD, REC.
watch_start() {
    local fifo=$BATS_TEST_TMPDIR/watch.out
    REC=$BATS_TEST_TMPDIR/rec.jsonl
    : >"$REC"
    rm -f "$fifo"
    mkfifo "$fifo"
    "$PAGESCAN" watch "$@" -f json >"$fifo" 2>"$BATS_TEST_TMPDIR/watch.err" 3>&- &
    WPID=$!
    bg_track "$WPID"
    exec {WOUT_FD}<"$fifo"
    next_record start
}

# next_record [TYPE]: read one record into LINE (appended to $REC).
next_record() {
    if ! IFS= read -r -t 60 LINE <&"$WOUT_FD"; then
        fail "the watch output ended or stalled (waiting for ${1:-a record}): $(cat "$BATS_TEST_TMPDIR/watch.err")"
        return 1
    fi
    printf '%s\n' "$LINE" >>"$REC"
    if [[ -n ${1:-} && $LINE != "{\"type\":\"$1\""* ]]; then
        fail "expected a $1 record, got: ${LINE:0:120}"
        return 1
    fi
}

# settle: two more intervals, so everything written before is harvested.
settle() {
    next_record interval && next_record interval
}

# watch_finish: SIGINT, read the rest (the end record), reap the watch.
watch_finish() {
    kill -INT "$WPID"
    while IFS= read -r -t 60 LINE <&"$WOUT_FD"; do
        printf '%s\n' "$LINE" >>"$REC"
    done
    wait "$WPID" || true
    exec {WOUT_FD}<&-
    if [[ $(tail -n 1 "$REC") != '{"type":"end"'* ]]; then
        fail "the recording does not end with an end record: $(tail -c 300 "$REC")"
        return 1
    fi
}

# record_victim [WATCH OPTION...]: the victim writes in two mappings over
# several intervals, watched with -i 50ms on those mappings only. Sets REC
# and TRUTH (the victim's own list of the pages it wrote).
record_victim() {
    victim_start
    vmap a anon 256
    vmap b anon 64
    watch_start "$VPID" -i 50ms -r "${MSTART[a]}-${MEND[a]}" -r "${MSTART[b]}-${MEND[b]}" "$@"
    vcmd mark
    vcmd "write a 0-99"
    settle
    vcmd "write a 50-149"
    settle
    vcmd "write b every:2"
    settle
    vcmd "write a rand:40:7"
    vcmd "write a 0-9"
    settle
    TRUTH=$BATS_TEST_TMPDIR/truth
    victim_truth "$TRUTH"
    watch_finish
}

# recorded_union: the union of all regions of all interval records, as ranges.
recorded_union() {
    jq -r 'select(.type == "interval") | .regions[] | "\(.start) \(.end)"' "$REC" | ranges_merge
}

# ---- the report ----------------------------------------------------------------------

@test "report: unique pages written equal the union of what the victim wrote" {
    record_victim
    recorded_union >"$BATS_TEST_TMPDIR/union"
    assert_ranges_equal "$TRUTH" "$BATS_TEST_TMPDIR/union"
    local want
    want=$(ranges_pages "$TRUTH")
    [[ $want -gt 150 ]] || fail "the victim wrote only $want pages"

    run --separate-stderr "$PAGESCAN" report "$REC" -f json
    assert_success
    [[ -z $stderr ]] || fail "unexpected warnings: $stderr"
    [[ $(jq -r .summary.unique_pages <<<"$output") == "$want" ]] ||
        fail "report says $(jq -r .summary.unique_pages <<<"$output") unique pages, the victim wrote $want"
    # per mapping: the written pages add up, and nothing was written outside a and b
    [[ $(jq '[.mappings[].written_pages] | add' <<<"$output") == "$want" ]] ||
        fail "per-mapping written pages add up to $(jq '[.mappings[].written_pages] | add' <<<"$output"), not $want"
    # the window over the whole recording is the same set
    [[ $(jq -r '.windows[-1].max_pages' <<<"$output") == "$want" ]] || fail "last window: $(jq -c '.windows[-1]' <<<"$output")"
    [[ $(jq -r '.windows[-1].intervals' <<<"$output") == $(jq -r .recording.intervals <<<"$output") ]]
    # the text report says the same
    run --separate-stderr "$PAGESCAN" report "$REC"
    assert_success
    assert_line --regexp "^unique pages written: $want \\("
    assert_line --regexp "^write working set by window length"
}

@test "report -: reads standard input; --accumulate recordings give the same unique pages" {
    record_victim --accumulate
    local want
    want=$(ranges_pages "$TRUTH")
    run --separate-stderr "$PAGESCAN" report - -f json <"$REC"
    assert_success
    [[ $(jq -r .summary.unique_pages <<<"$output") == "$want" ]] ||
        fail "report says $(jq -r .summary.unique_pages <<<"$output") unique pages, the victim wrote $want"
    [[ $(jq -r .recording.mode <<<"$output") == accumulate ]]
    [[ $stderr == *"--accumulate"* ]] || fail "no lower-bound warning for an --accumulate recording: $stderr"
}

@test "report: a recording cut off mid-line, or with unknown fields, is read with a warning" {
    record_victim
    local size want
    want=$(ranges_pages "$TRUTH")
    # cut in the middle of the end record
    size=$(stat -c %s "$REC")
    head -c $((size - 25)) "$REC" >"$BATS_TEST_TMPDIR/cut.jsonl"
    run --separate-stderr "$PAGESCAN" report "$BATS_TEST_TMPDIR/cut.jsonl" -f json
    assert_success
    [[ $stderr == *"warning: line "*" is cut off"* ]] || fail "no cut-off warning: $stderr"
    [[ $stderr == *"no end record"* ]] || fail "no missing-end warning: $stderr"
    [[ $(jq -r .summary.unique_pages <<<"$output") == "$want" ]]
    [[ $(jq -r .recording.end_reason <<<"$output") == null ]]
    # cut in the middle of an interval record: read up to there
    local n
    n=$(grep -c '"type":"interval"' "$REC")
    head -n 5 "$REC" >"$BATS_TEST_TMPDIR/cut2.jsonl"
    sed -n 6p "$REC" | head -c 100 >>"$BATS_TEST_TMPDIR/cut2.jsonl"
    run --separate-stderr "$PAGESCAN" report "$BATS_TEST_TMPDIR/cut2.jsonl"
    assert_success
    [[ $stderr == *"warning: line 6 is cut off"* ]] || fail "no cut-off warning: $stderr"
    assert_line --regexp "^recording: .* 4 intervals "
    [[ $n -gt 5 ]]
    # unknown fields and record types
    jq -c 'if .type == "interval" then .future_field = {"x": [1, 2]} else . end' "$REC" >"$BATS_TEST_TMPDIR/unk.jsonl"
    sed -i '3i {"type":"annotation","text":"hello"}' "$BATS_TEST_TMPDIR/unk.jsonl"
    run --separate-stderr "$PAGESCAN" report "$BATS_TEST_TMPDIR/unk.jsonl" -f json
    assert_success
    [[ $stderr == *'unknown field "future_field"'* ]] || fail "no unknown-field warning: $stderr"
    [[ $stderr == *'unknown record type "annotation"'* ]] || fail "no unknown-record warning: $stderr"
    [[ $(grep -c 'future_field' <<<"$stderr") == 1 ]] || fail "the unknown field is warned about more than once: $stderr"
    [[ $(jq -r .summary.unique_pages <<<"$output") == "$want" ]]
    [[ $(jq -r '.warnings | length' <<<"$output") -ge 2 ]]
}

@test "report: a recording from a newer format_version is refused clearly" {
    record_victim
    sed '1s/"format_version":1,/"format_version":3,/' "$REC" >"$BATS_TEST_TMPDIR/v3.jsonl"
    run --separate-stderr "$PAGESCAN" report "$BATS_TEST_TMPDIR/v3.jsonl"
    assert_failure 1
    [[ -z $output ]] || fail "a report was printed: $output"
    [[ $stderr == "pagescan: "*"format_version 3"*"newer"* ]] || fail "unclear refusal: $stderr"
    # not a recording at all
    printf 'hello\n' >"$BATS_TEST_TMPDIR/hello.txt"
    run --separate-stderr "$PAGESCAN" report "$BATS_TEST_TMPDIR/hello.txt"
    assert_failure 1
    [[ $stderr == *"not a pagescan recording"* ]] || fail "unclear refusal: $stderr"
    run --separate-stderr "$PAGESCAN" report "$BATS_TEST_TMPDIR/nonexistent.jsonl"
    assert_failure 1
    [[ $stderr == *"nonexistent.jsonl"* ]]
}

@test "report: a recording whose every interval record is invalid: each reason warned, then the error names the first" {
    local ex=$BATS_TEST_DIRNAME/../../docs/example-recording.jsonl n
    n=$(grep -c '"type":"interval"' "$ex")
    # a bad address in every interval
    sed -E '/"type":"interval"/s/"regions":\[\{"start":"0x/"regions":[{"start":"0xg/' "$ex" >"$BATS_TEST_TMPDIR/hex.jsonl"
    run --separate-stderr "$PAGESCAN" report "$BATS_TEST_TMPDIR/hex.jsonl"
    assert_failure 1
    [[ -z $output ]] || fail "a report was printed: $output"
    [[ $(grep -c '^pagescan: warning: line [0-9]*: interval [0-9]*, region 1: start or end is not a "0x..." address (interval ignored)$' <<<"$stderr") == "$n" ]] ||
        fail "not one warning per interval: $stderr"
    [[ $(tail -n 1 <<<"$stderr") == "pagescan: $BATS_TEST_TMPDIR/hex.jsonl: the recording has no valid interval records: nothing to report (line 2: interval 1, region 1: start or end is not a \"0x...\" address; $((n - 1)) more records left out)" ]] ||
        fail "the error, last, does not name the first reason: $stderr"
    # a misspelt record type: the unknown-type warning, once
    sed 's/"type":"interval"/"type":"intervalX"/' "$ex" >"$BATS_TEST_TMPDIR/typex.jsonl"
    run --separate-stderr "$PAGESCAN" report - <"$BATS_TEST_TMPDIR/typex.jsonl"
    assert_failure 1
    [[ $(grep -c 'warning: line 2: unknown record type "intervalX" (ignored; recorded by a newer pagescan?)' <<<"$stderr") == 1 ]] ||
        fail "no (or more than one) unknown-type warning: $stderr"
    [[ $(tail -n 1 <<<"$stderr") == "pagescan: standard input: the recording has no valid interval records: nothing to report (line 2: unknown record type \"intervalX\"; $((n - 1)) more records left out)" ]] ||
        fail "unclear error: $stderr"
    # elapsed_s 0 everywhere: refused, not a dirty rate of 0
    sed -E 's/"elapsed_s":[0-9.]+/"elapsed_s":0/' "$ex" >"$BATS_TEST_TMPDIR/el0.jsonl"
    run --separate-stderr "$PAGESCAN" report "$BATS_TEST_TMPDIR/el0.jsonl"
    assert_failure 1
    [[ $stderr == *"warning: line 2: interval 1: elapsed_s 0 is out of range (above 0, at most 10000000 s) (ignored)"* ]] || fail "$stderr"
    # interval_s 1e308: refused, no 300-digit interval
    sed '1s/"interval_s":[0-9.]*/"interval_s":1e308/' "$ex" >"$BATS_TEST_TMPDIR/iv.jsonl"
    run --separate-stderr "$PAGESCAN" report "$BATS_TEST_TMPDIR/iv.jsonl"
    assert_failure 1
    [[ $stderr == *"line 1: the start record's interval_s 1e+308 is out of range (above 0, at most 10000000 s)"* ]] || fail "$stderr"
}

@test "report --bandwidth --downtime: the pre-copy rounds add up" {
    record_victim
    run --separate-stderr "$PAGESCAN" report "$REC" -f json --bandwidth 1M --downtime 100ms
    assert_success
    local pc
    pc=$(jq -c .precopy <<<"$output")
    [[ $(jq -r .bandwidth <<<"$pc") == 1048576 ]]
    [[ $(jq -r '.rounds[0].pages' <<<"$pc") == $(jq -r .summary.tracked_pages <<<"$output") ]] ||
        fail "round 0 does not send the tracked memory: $pc"
    # each round lasts its bytes / bandwidth and starts when the previous ended
    jq -e '[.rounds[] | (.duration_s - .bytes / 1048576) | fabs < 0.000002] | all' <<<"$pc" >/dev/null ||
        fail "round durations: $pc"
    jq -e '[range(1; .rounds | length) as $i | (.rounds[$i].start_s - .rounds[$i-1].start_s - .rounds[$i-1].duration_s) | fabs < 0.000002] | all' \
        <<<"$pc" >/dev/null || fail "round starts: $pc"
    case $(jq -r .outcome <<<"$pc") in
    converged)
        jq -e '.final_bytes <= 1048576 * 0.1 and .total_bytes == ([.rounds[].bytes] | add) + .final_bytes' <<<"$pc" >/dev/null ||
            fail "converged but the numbers do not add up: $pc" ;;
    out-of-data | max-rounds)
        jq -e '.needed_bandwidth == null or .needed_bandwidth > 1048576' <<<"$pc" >/dev/null || fail "$pc" ;;
    *) fail "unknown outcome: $pc" ;;
    esac
    run --separate-stderr "$PAGESCAN" report "$REC" --bandwidth 1M --downtime 100ms
    assert_success
    assert_line --regexp "^pre-copy simulation: bandwidth 1.0M/s, downtime budget 100.0 ms"
    run --separate-stderr "$PAGESCAN" report "$REC" --bandwidth 1M
    assert_failure 64
}

@test "report --svg: one well-formed, self-contained SVG that renders to PNG" {
    command -v xmllint >/dev/null || skip "xmllint is not installed (libxml2-utils)"
    command -v rsvg-convert >/dev/null || skip "rsvg-convert is not installed (librsvg2-bin)"
    record_victim
    local svg=$BATS_TEST_TMPDIR/r.svg png=$BATS_TEST_TMPDIR/r.png
    run --separate-stderr "$PAGESCAN" report "$REC" --svg "$svg"
    assert_success
    assert_line --regexp "^unique pages written"
    run xmllint --noout "$svg"
    assert_success
    # self-contained: no links, scripts, external fonts or images
    run grep -E -c 'href|<script|<image|@import|url\(|<foreignObject' "$svg"
    [[ $output == 0 ]] || fail "external references in the SVG: $(grep -E -o 'href[^ ]*|<script|<image|@import|url\(' "$svg" | head)"
    grep -q '<title>pagescan report: process' "$svg"
    # the two mappings are labelled
    [[ $(grep -c '>\[anon\]</text>' "$svg") -ge 1 ]] || fail "no mapping band labels"
    run rsvg-convert -o "$png" "$svg"
    assert_success
    [[ -s $png ]]
    [[ $(head -c 8 "$png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "not a PNG"
    # PNG width and height from the IHDR chunk
    local w h
    w=$(od -An -tu1 -j16 -N4 "$png" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }')
    h=$(od -An -tu1 -j20 -N4 "$png" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }')
    [[ $w -ge 800 && $h -ge 400 ]] || fail "PNG is ${w}x${h}"
    [[ $(stat -c %s "$png") -gt 10000 ]] || fail "PNG suspiciously small: $(stat -c %s "$png") bytes"
    # an unwritable SVG path is an error, not a crash
    run --separate-stderr "$PAGESCAN" report "$REC" --svg /nonexistent/dir/r.svg
    assert_failure 1
    [[ $stderr == *"/nonexistent/dir/r.svg"* ]]
}

# ---- --prom-file -----------------------------------------------------------------------

# prom_check FILE: problems with a Prometheus text exposition file, one per
# line (nothing when fine): line syntax, HELP and TYPE before each sample,
# the metrics pagescan writes all present, a final newline.
PROM_METRICS="pagescan_watch_running pagescan_intervals_total pagescan_interval_seconds
pagescan_written_pages pagescan_written_bytes pagescan_written_pages_total
pagescan_dirty_rate_pages_per_second pagescan_dirty_rate_bytes_per_second
pagescan_write_working_set_pages pagescan_write_working_set_bytes pagescan_tracked_pages
pagescan_tracked_bytes pagescan_harvest_seconds pagescan_harvest_seconds_total
pagescan_discarded_pages pagescan_zero_read_pages pagescan_ksm_merged_pages pagescan_thp_filled_pages
pagescan_remapped_pages"
prom_check() {
    if [[ ! -s $1 ]]; then
        echo "empty file"
        return
    fi
    [[ $(tail -c 1 "$1" | od -An -tx1 | tr -d ' ') == 0a ]] || echo "no final newline"
    awk -v want="$PROM_METRICS" '
        BEGIN { n = split(want, w, /[ \n]+/); for (i = 1; i <= n; i++) need[w[i]] = 1 }
        /^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* ./ { help[$3] = 1; next }
        /^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|untyped)$/ { type[$3] = $4; next }
        /^#/ { print "bad comment line " NR ": " $0; next }
        /^[a-zA-Z_:][a-zA-Z0-9_:]*\{pid="[0-9]+",command="([^"\\]|\\.)*"\} -?[0-9]+(\.[0-9]+)?$/ {
            name = $0; sub(/\{.*/, "", name)
            if (!help[name] || !type[name]) print "sample before HELP/TYPE: " name
            if (type[name] == "counter" && name !~ /_total$/) print "counter without _total: " name
            seen[name] = 1; next
        }
        { print "bad line " NR ": " $0 }
        END { for (m in need) if (!seen[m]) print "missing metric " m }' "$1"
}

@test "watch --prom-file: every version of the file is complete and valid" {
    victim_start
    vmap a anon 128
    local prom=$BATS_TEST_TMPDIR/pagescan.prom stop=$BATS_TEST_TMPDIR/stop res=$BATS_TEST_TMPDIR/reader
    watch_start "$VPID" -i 20ms -r "${MSTART[a]}-${MEND[a]}" --prom-file "$prom"
    # the JSON sink writes first: after its first interval record, the
    # prom sink has written its start version
    next_record interval
    [[ -s $prom ]] || fail "no prom file after the first interval"
    # A reader that keeps taking snapshots (one open each) and checks them.
    (
        reads=0 bad=0
        declare -A versions=()
        while [[ ! -e $stop ]]; do
            cat "$prom" >"$res.snap" 2>/dev/null || { bad=$((bad + 1)); continue; }
            p=$(prom_check "$res.snap")
            if [[ -n $p ]]; then
                bad=$((bad + 1))
                cp "$res.snap" "$res.bad"
                printf '%s\n' "$p" >"$res.badwhy"
            fi
            v=$(awk '/^pagescan_intervals_total/ { print $2 }' "$res.snap")
            versions[$v]=1
            reads=$((reads + 1))
            echo "$reads ${#versions[@]}" >"$res.progress.tmp" && mv "$res.progress.tmp" "$res.progress"
        done
        echo "$reads $bad ${#versions[@]}" >"$res"
    ) 3>&- &
    local rpid=$!
    bg_track "$rpid"
    # At least 15 intervals, and on until the reader has seen enough (a
    # loaded machine gives it little time): paced by the watch's records.
    local i got_reads=0 got_versions=0
    for ((i = 0; i < 1000; i++)); do
        vcmd "write a rand:20:$i"
        next_record interval
        [[ -e $res.progress ]] && read -r got_reads got_versions <"$res.progress"
        ((i >= 14 && got_reads >= 5 && got_versions >= 3)) && break
    done
    touch "$stop"
    wait "$rpid"
    watch_finish
    local reads bad versions
    read -r reads bad versions <"$res"
    [[ $bad == 0 ]] || fail "$bad of $reads reads saw a broken file: $(cat "$res.badwhy"); file: $(head -c 600 "$res.bad")"
    [[ $reads -ge 5 && $versions -ge 3 ]] || fail "the reader saw only $reads reads of $versions versions"
    # The final file: the watch ended, the counts are those of the last interval.
    run prom_check "$prom"
    [[ -z $output ]] || fail "final file: $output"
    grep -Eq '^pagescan_watch_running\{pid="'"$VPID"'",command="victim"\} 0$' "$prom" || fail "$(cat "$prom")"
    local last
    last=$(jq -r 'select(.type == "interval") | .seq' "$REC" | tail -n 1)
    grep -Eq "^pagescan_intervals_total\\{[^}]*\\} $last\$" "$prom" || fail "intervals_total is not $last: $(grep intervals_total "$prom")"
    local wss
    wss=$(jq -r 'select(.type == "interval") | .wss_pages' "$REC" | tail -n 1)
    grep -Eq "^pagescan_write_working_set_pages\\{[^}]*\\} $wss\$" "$prom" || fail "wss is not $wss"
    [[ ! -e $prom.tmp ]] || fail "the temporary file was left behind"
    local promtool=${PROMTOOL:-$(command -v promtool || true)}
    if [[ -n $promtool ]]; then
        run "$promtool" check metrics <"$prom"
        assert_success
    fi
}

@test "watch --prom-file in an unwritable directory: refused before attaching" {
    victim_start
    run --separate-stderr "$PAGESCAN" watch "$VPID" -i 50ms -n 1 --prom-file /nonexistent/dir/x.prom
    assert_failure 1
    [[ $stderr == *"/nonexistent/dir/x.prom"* ]] || fail "$stderr"
    no_uffd_left "$VPID"
}

@test "report of a run of a dynamically linked program: no warning; the loader's early writes into read-only libc are listed as such" {
    local rec=$BATS_TEST_TMPDIR/run.jsonl truth=$BATS_TEST_TMPDIR/truth
    [[ $(readelf -l "$TARGETS/runprog" 2>/dev/null) == *GNU_RELRO* && $(readelf -d "$TARGETS/runprog") == *NEEDED* ]] ||
        skip "runprog is not dynamically linked with RELRO"
    run --separate-stderr "$PAGESCAN" run -f json -o "$rec" -- "$TARGETS/runprog" "$truth" 64
    assert_equal "$status" 0
    # libc's RELRO pages: written by the loader, then made read-only before
    # the first tick; counted in an interval and named in its readonly_written
    jq -e -s '[.[] | select(.type == "interval") | .readonly_written[] | select(.mapping | test("/libc\\.so\\.6$"))] | length > 0' \
        "$rec" >/dev/null || fail "$(printf 'no readonly_written libc mapping in the recording:\n%s' "$(cat "$rec")")"
    # each readonly_written range holds written pages of its interval
    jq -e -s '[.[] | select(.type == "interval") | . as $iv | .readonly_written[] | . as $ro |
               [$iv.regions[] | select(.start == $ro.start or (.mapping == $ro.mapping and .start >= $ro.start))] | length > 0] | all' \
        "$rec" >/dev/null || fail "a readonly_written range without written pages"
    run --separate-stderr "$PAGESCAN" report "$rec"
    assert_equal "$status" 0
    assert_equal "$stderr" ""
    assert_regex "$output" "libc\\.so\\.6 \\(read-only: written before it was protected, not tracked\\)"
    run --separate-stderr "$PAGESCAN" report "$rec" -f json
    assert_equal "$status" 0
    assert_equal "$(jq -c '.warnings' <<<"$output")" "[]"
    assert_equal "$(jq '[.mappings[] | select(.readonly_written)] | length > 0' <<<"$output")" true
    # every page the program wrote is in the report's unique pages
    assert_equal "$(jq '.summary.unique_pages' <<<"$output")" "$(jq -s '.[-1].wss_pages' "$rec")"
    # and what the program says it wrote is all in the recording
    jq -r 'select(.type == "interval") | .regions[] | "\(.start) \(.end)"' "$rec" | ranges_merge >"$BATS_TEST_TMPDIR/got"
    local s e
    assert_equal "$(wc -l <"$truth")" 22
    while read -r s e; do
        [[ $(ranges_clip "$s" "$e" <"$BATS_TEST_TMPDIR/got") == "$s $e" ]] ||
            fail "the program wrote $s-$e; the recording misses it"
    done <"$truth"
}

@test "report: a doctored recording with written pages outside every engaged range still warns" {
    local rec=$BATS_TEST_TMPDIR/run.jsonl truth=$BATS_TEST_TMPDIR/truth doc=$BATS_TEST_TMPDIR/doctored.jsonl
    run --separate-stderr "$PAGESCAN" run -f json -o "$rec" -- "$TARGETS/runprog" "$truth" 64
    assert_equal "$status" 0
    # two pages at 0x10000, where nothing was engaged or listed read-only
    jq -c 'if .type == "interval" and .seq == 1 then
             .regions = [{"start":"0x10000","end":"0x12000","pages":2,"mapping":"[anon]"}] + .regions |
             .written_pages += 2 else . end' "$rec" >"$doc"
    run --separate-stderr "$PAGESCAN" report "$doc"
    assert_equal "$status" 0
    assert_regex "$stderr" "warning: 2 written pages lie outside every engaged range of the recording"
    # so does one whose read-only list was removed (the loader's pages are then unexplained)
    jq -c 'del(.readonly_written)' "$rec" >"$doc"
    run --separate-stderr "$PAGESCAN" report "$doc"
    assert_equal "$status" 0
    assert_regex "$stderr" "warning: [0-9]+ written pages lie outside every engaged range of the recording"
}

# ---- a workload: tests/targets/family (family.bash) under watch --tree ---------------

# settle_workload: two more interval records (process events in between are
# kept), so everything written before is harvested.
settle_workload() {
    local n=0
    while ((n < 2)); do
        next_record || return 1
        [[ $LINE != '{"type":"interval"'* ]] || n=$((n + 1))
    done
}

# rfield JQ: a field of the JSON report in $output.
rfield() {
    jq -r "$1" <<<"$output"
}

@test "report of a watch --tree recording: per-process and workload working sets as the family wrote them, shared pages once" {
    family_start 16
    ffork
    ffork
    watch_start --tree "$FPID" -i 50ms "${RANGES[@]}"
    [[ $LINE == *'"format_version":2,'* ]] || fail "not a workload recording: $LINE"
    # Round 1: private pages of three processes (each its own), memfd pages
    # 0-4 by child 1, 3-7 by child 2, 7 by the parent (8 distinct).
    fcmd "write 0 anon 0 4"
    fcmd "write 1 anon 0 3"
    fcmd "write 2 anon 10 2"
    fcmd "write 1 shared 0 5"
    fcmd "write 2 shared 3 5"
    fcmd "write 0 shared 7 1"
    settle_workload
    # Child 2 exits; child 1 writes 2 new private pages and memfd page 0 again.
    fcmd "exit 2"
    settle_workload
    fcmd "write 1 anon 5 2"
    fcmd "write 1 shared 0 1"
    settle_workload
    watch_finish

    # What the family wrote: parent 4 + 1 pages, child 1 5 + 5, child 2 2 + 5;
    # the workload: private 4 + 5 + 2, the memfd's pages 0-7 once.
    local p0=5 p1=10 p2=7 total=19 shared=8
    # ... and what the records say.
    assert_equal "$(jq -r 'select(.type == "end") | "\(.wss_pages) \(.shared_wss_pages)"' "$REC")" "$total $shared"
    assert_equal "$(jq -r --argjson p "${KID[2]}" 'select(.type == "process" and .event == "exit" and .pid == $p) | .wss_pages' "$REC")" "$p2"

    run --separate-stderr "$PAGESCAN" report "$REC" -f json --bandwidth 1M --downtime 10ms
    assert_success
    [[ -z $stderr ]] || fail "unexpected warnings: $stderr"
    assert_equal "$(rfield '"\(.summary.unique_pages) \(.workload.shared_unique_pages) \(.workload.kind) \(.workload.processes)"')" \
        "$total $shared tree 3"
    # The workload's window of one interval: the largest interval record.
    assert_equal "$(rfield '.windows[0].max_pages')" \
        "$(jq -s '[.[] | select(.type == "interval") | .written_pages] | max' "$REC")"
    # page-writes: the sum of the interval records' written_pages.
    assert_equal "$(rfield '.summary.page_writes')" \
        "$(jq -s '[.[] | select(.type == "interval") | .written_pages] | add' "$REC")"
    # Per process, busiest first: child 1, child 2, the parent.
    assert_equal "$(rfield '[.processes[] | "\(.pid):\(.unique_pages)"] | join(" ")')" \
        "${KID[1]}:$p1 ${KID[2]}:$p2 $FPID:$p0"
    assert_equal "$(jq -r --argjson p "${KID[2]}" '.processes[] | select(.pid == $p) | .exit_reason' <<<"$output")" exit
    # each process's page-writes: the sum of its entries' written_pages
    local pid
    for pid in "$FPID" "${KID[1]}" "${KID[2]}"; do
        assert_equal "$(jq -r --argjson p "$pid" '.processes[] | select(.pid == $p) | .page_writes' <<<"$output")" \
            "$(jq -s --argjson p "$pid" '[.[] | select(.type == "interval") | .processes[] | select(.pid == $p) | .written_pages] | add' "$REC")"
    done
    # Pre-copy of the workload as a whole: round 0 sends every tracked page.
    assert_equal "$(rfield '.precopy.rounds[0].pages')" "$(jq -r 'select(.type == "start") | .tracked_pages' "$REC")"

    # The text report: the workload, then a line per process, busiest first.
    run --separate-stderr "$PAGESCAN" report "$REC"
    assert_success
    assert_line --regexp "^recording: workload of 3 processes \\(the tree of $FPID \\(family\\)\\), "
    assert_line --regexp "^unique pages written: $total \\("
    assert_line --regexp "^of the workload, pages of shared mappings counted once: $shared of them shared"
    local -a rows
    mapfile -t rows < <(sed -n '/^per process/,/^$/p' <<<"$output" | sed -n '3,5p')
    [[ ${rows[0]} =~ ^\ +${KID[1]}\ +$p1\ .*family$ ]] || fail "row 1: ${rows[0]}"
    [[ ${rows[1]} =~ ^\ +${KID[2]}\ +$p2\ .*family\ \(gone:\ exit\)$ ]] || fail "row 2: ${rows[1]}"
    [[ ${rows[2]} =~ ^\ +$FPID\ +$p0\ .*family$ ]] || fail "row 3: ${rows[2]}"
    assert_line "process ${KID[1]} (family)"

    # The SVG: well-formed, a band per process's mapping and the memfd once.
    run --separate-stderr "$PAGESCAN" report "$REC" --svg "$BATS_TEST_TMPDIR/w.svg"
    assert_success
    if command -v xmllint >/dev/null; then
        xmllint --noout "$BATS_TEST_TMPDIR/w.svg" || fail "SVG not well-formed"
    fi
    grep -q "pages written by a workload of 3 processes" "$BATS_TEST_TMPDIR/w.svg" || fail "SVG title"
    assert_equal "$(grep -c '>shared /memfd:family (deleted)<' "$BATS_TEST_TMPDIR/w.svg")" 1
}

@test "report: a version-1 recording gives the same report with a workload-aware reader (no workload fields)" {
    record_victim
    run --separate-stderr "$PAGESCAN" report "$REC" -f json
    assert_success
    assert_equal "$(rfield '.recording.pid')" "$VPID"
    assert_equal "$(rfield 'has("workload") or has("processes")')" false
    run --separate-stderr "$PAGESCAN" report "$REC"
    assert_success
    assert_line --regexp "^recording: process $VPID \\("
    refute_line --regexp "^per process"
}

@test "report of a run whose command forked after its first intervals: a workload's report, those intervals the command's own" {
    local d=$BATS_TEST_TMPDIR rec=$BATS_TEST_TMPDIR/rec.jsonl line n=0 rfd wss nint
    mkfifo "$d/go" "$d/out"
    # the shell waits on a fifo (a builtin read: no fork) before it runs runprog
    "$PAGESCAN" run -i 20ms -f json -- sh -c "read x <'$d/go'; '$TARGETS/runprog' '$d/truth' 30; :" \
        >"$d/out" 2>"$d/err" &
    local pid=$!
    exec {rfd}<"$d/out"
    : >"$rec"
    while IFS= read -r line <&"$rfd"; do
        printf '%s\n' "$line" >>"$rec"
        if [[ $line == '{"type":"interval"'* ]] && ((++n >= 2)); then
            break
        fi
    done
    ((n == 2)) || fail "no two intervals before the fork: $(cat "$d/err")"
    echo go >"$d/go"
    cat <&"$rfd" >>"$rec"
    exec {rfd}<&-
    wait "$pid" || fail "pagescan run failed: $(cat "$d/err")"
    # one process's records first, a workload's from the fork on
    assert_equal "$(jq -r 'select(.type == "interval" and .seq <= 2) | .processes | length' "$rec" | tr '\n' ' ')" "0 0 "
    grep -q '^{"type":"process"' "$rec" || fail "no process events: the command did not fork?"
    run --separate-stderr "$PAGESCAN" report "$rec"
    assert_success
    assert_equal "$stderr" ""
    assert_line --regexp '^recording: workload of 2 processes \(from [0-9]+ \(sh\)\)'
    wss=$(jq 'select(.type == "end") | .wss_pages' "$rec")
    assert_line --regexp "^unique pages written: $wss "
    # the shell's row counts every interval, its first two among them
    nint=$(jq -s '[.[] | select(.type == "interval")] | length' "$rec")
    assert_line --regexp "^ +[0-9]+ +[0-9]+ +[0-9]+ +0 +$nint +[0-9]+ +[0-9]+  sh \(gone: exit\)$"
}
