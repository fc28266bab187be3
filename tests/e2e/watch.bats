#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# pagescan watch: every interval's written pages against the victim's own
# record, round by round; new and vanished mappings; how a watch ends
# (count, duration, signals, target exit and exec, SIGKILL of pagescan);
# JSON, CSV and text output, also with hostile mapping names; a second
# watch refused; --accumulate; late ticks.
#
# Interval boundaries are deterministic: each round is written while
# pagescan is stopped idle in poll() (w_pause/w_round in watch_helpers),
# so it lands in exactly the next interval.

# shellcheck disable=SC2153,SC2154 # WDIR, WSEQ...: watch_helpers; status, stderr: bats
load common
load watch_helpers

setup_file() {
    kernel_supports
}

teardown() {
    w_cleanup
    common_teardown
}

# watch_json ARGS...: start a JSON watch of the victim, 100 ms ticks.
watch_json() {
    w_start watch "$VPID" -i 100ms -f json "$@"
}

# The victim holds no userfaultfd while watched: pagescan has the only one.
assert_transient() {
    assert_equal "$(uffd_count "$VPID")" 0
}

# rounds_kind KIND PAGES: several write rounds into a KIND mapping (and a
# small anonymous neighbour), 1 and 8 writer threads; each round is
# exactly the test mappings' part of its own interval, every other interval
# has nothing there, and the union is what was written.
rounds_kind() {
    local kind=$1 n=$2
    victim_start
    vmap x "$kind" "$n"
    vmap y anon 32
    if [[ $kind == thp ]]; then
        vcmd "thp x"
        ((${REPLY_LINE#ok } > 0)) || fail "test premise: mapping is not THP-backed (${REPLY_LINE#ok } kB)"
    fi
    # written before the watch: never reported
    vcmd "write x 0-$((n / 4))"
    vcmd "write y all"
    watch_json
    assert_transient
    w_round 1 "write x 1,3,$((n / 2))-$((n / 2 + 9)),$((n - 1))"
    w_round 2 "threads 8 x rand:$((n / 4)):7"
    w_round 3 "write x every:5" "read x all" "write y 0-3"
    w_round 4 "read x all"
    w_round 5 "threads 8 x all" "threads 8 y every:2:1"
    w_round 6 "threads 1 x 7" "write x 7,8"
    assert_transient
    # the last round goes into the final interval that SIGINT triggers
    w_pause
    vcmd mark
    vcmd "threads 8 x every:3:1"
    victim_truth "$WDIR/round.7"
    echo "$((WPAUSED + 1)) $WDIR/round.7" >>"$WDIR/rounds"
    w_signal INT
    assert_equal "$WSTATUS" 0
    w_check --windows "$(w_windows)" --rounds "$WDIR/rounds" --reason signal
    # the union too, against the rounds' union
    cat "$WDIR"/round.* | ranges_merge >"$WDIR/union"
    w_check --windows "$(w_windows)" --union "$WDIR/union" --reason signal
    assert_equal "$(w_end_field intervals)" "$WSEQ"
    no_uffd_left "$VPID"
    vcmd "check x"
    vcmd "check y"
    victim_stop
}

@test "watch: private anonymous memory, 1 and 8 writers: each round exactly in its interval" {
    require_zero_page # its reads are reads only where the kernel maps the zero page
    rounds_kind anon 512
}

@test "watch: shared anonymous memory, 1 and 8 writers: each round exactly in its interval" {
    rounds_kind shared 256
}

@test "watch: private file mapping, 1 and 8 writers: each round exactly in its interval" {
    rounds_kind file 256
}

@test "watch: shared /dev/shm file mapping, 1 and 8 writers: each round exactly in its interval" {
    rounds_kind shmfile 256
}

@test "watch: THP-backed memory, 1 and 8 writers: each round exactly in its interval" {
    if grep -q '\[never\]' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null; then
        skip "transparent huge pages are disabled on this machine"
    fi
    rounds_kind thp 1024
}

# engaged_of SEQ / dropped_of SEQ: that interval's spans as "0xS 0xE" lines.
spans_of() {
    jq -r --argjson s "$2" "select(.type == \"interval\" and .seq == \$s) | .$1[] | \"\\(.start) \\(.end)\"" "$WLOG" |
        ranges_merge
}

# assert_covers FILE S E: the range set in FILE covers [S, E).
assert_covers() {
    local got
    got=$(ranges_clip "$2" "$3" <"$1")
    [[ $got == "$2 $3" ]] || fail "$2-$3 is not covered by $(basename "$1"): $(tr '\n' ' ' <"$1")"
}

@test "watch: mappings made during the watch are tracked from the next tick, with their earlier writes; unmapped ones are dropped" {
    victim_start
    vmap a anon 64
    watch_json
    # new threads: their stacks are tracked, the new ones engaged at the
    # next tick (glibc may hand a thread a cached stack, tracked already)
    local before
    before=$(ls "/proc/$VPID/task")
    w_pause
    vcmd "spawnthreads 3"
    w_resume
    local s0=$WSEQ tid sp page new=0
    spans_of engaged "$s0" >"$WDIR/eng0"
    { jq -r 'select(.type == "start") | .engaged[] | "\(.start) \(.end)"' "$WLOG"; cat "$WDIR/eng0"; } |
        ranges_merge >"$WDIR/tracked0"
    for tid in /proc/"$VPID"/task/*; do
        tid=${tid##*/}
        grep -qx "$tid" <<<"$before" && continue
        read -r _ _ _ _ _ _ _ sp _ <"/proc/$VPID/task/$tid/syscall"
        page=$(printf '0x%x' $((sp & ~4095)))
        assert_covers "$WDIR/tracked0" "$page" "$(printf '0x%x' $((page + PAGE_SIZE)))"
        [[ -z $(ranges_clip "$page" "$(printf '0x%x' $((page + PAGE_SIZE)))" <"$WDIR/eng0") ]] || new=$((new + 1))
    done
    ((new >= 1)) || fail "no new thread stack was engaged at interval $s0: $(tr '\n' ' ' <"$WDIR/eng0")"
    w_round 1 "write a 0-3"
    # mapped and written while pagescan waits: counted at the tick that
    # engages them (anonymous and private file pages; shared pages written
    # before registration cannot be told from read ones, so none here)
    w_pause
    vcmd mark
    vmap n anon 128
    vmap f file 32
    vmap s shared 32
    vmap m shmfile 16
    vcmd "write n 5-9,100"
    vcmd "threads 8 n 20-60"
    vcmd "write f 2-4"
    vcmd "read s all"
    vcmd "write a 10"
    victim_truth "$WDIR/round.2"
    echo "$((WPAUSED + 1)) $WDIR/round.2" >>"$WDIR/rounds"
    w_resume
    local s1=$WSEQ
    spans_of engaged "$s1" >"$WDIR/eng1"
    local k
    for k in n f s m; do
        assert_covers "$WDIR/eng1" "${MSTART[$k]}" "${MEND[$k]}"
    done
    # from then on, all kinds exact
    w_round 3 "write n all" "write f 0,31" "write s 1-3" "write m 0-15"
    w_round 4 "threads 8 s all" "write n 0"
    local wins nstart=${MSTART[n]} nend=${MEND[n]}
    wins=$(w_windows)
    # unmapped while pagescan waits: dropped at the next tick, no error
    w_pause
    vcmd mark
    vunmap n
    vcmd "write a 20"
    victim_truth "$WDIR/round.5"
    echo "$((WPAUSED + 1)) $WDIR/round.5" >>"$WDIR/rounds"
    w_resume
    spans_of dropped "$WSEQ" >"$WDIR/drop"
    assert_covers "$WDIR/drop" "$nstart" "$nend"
    w_round 6 "write a 30" "write s 0" "write f 9"
    w_signal TERM
    assert_equal "$WSTATUS" 0
    w_check --windows "$wins" --rounds "$WDIR/rounds" --reason signal
    vcmd "check a"
    vcmd "check f"
    vcmd "check s"
    vcmd "check m"
}

@test "watch: the target's exit ends the watch with reason target-exit" {
    victim_start
    vmap a anon 32
    watch_json
    w_round 1 "write a 1-4"
    local wins
    wins=$(w_windows)
    victim_stop
    w_finish
    assert_equal "$WSTATUS" 0
    w_check --windows "$wins" --rounds "$WDIR/rounds" --reason target-exit
}

@test "watch: the exit of a target with a big address space is target-exit, not target-exec" {
    # Its mm is gone (exit_mm) long before its pidfd is signalled: tearing
    # down 256 MiB of 4 KiB pages takes tens of ms, and 10 ms ticks fall
    # in between. The process is dying, not running a new program.
    victim_start
    vmap big anon 65536
    vcmd "write big all"
    w_start watch "$VPID" -i 10ms -f json
    w_until_seq 2
    victim_stop
    w_finish
    assert_equal "$WSTATUS" 0
    w_check --reason target-exit
}

@test "watch: the target's exec ends the watch with reason target-exec" {
    mkfifo "$BATS_TEST_TMPDIR/go"
    # sh blocks reading the fifo, then becomes sleep
    sh -c 'read x <"$1"; exec sleep 60' sh "$BATS_TEST_TMPDIR/go" </dev/null >/dev/null 2>&1 3>&- &
    local pid=$!
    bg_track "$pid"
    local go
    exec {go}>"$BATS_TEST_TMPDIR/go"
    w_start watch "$pid" -i 100ms -f json
    w_until_seq 1
    echo exec >&"$go"
    exec {go}>&-
    w_finish
    assert_equal "$WSTATUS" 0
    w_check --reason target-exec
    # the new program runs on, untouched
    assert_equal "$(cat "/proc/$pid/comm")" sleep
    no_uffd_left "$pid"
}

# signal_end SIG: SIG ends the watch after a last interval that holds the
# writes since the previous tick.
signal_end() {
    victim_start
    vmap a anon 64
    vmap m shmfile 16
    watch_json
    w_round 1 "write a 0-9"
    w_pause
    vcmd mark
    vcmd "write a 30-40"
    vcmd "threads 8 m all"
    victim_truth "$WDIR/round.2"
    echo "$((WPAUSED + 1)) $WDIR/round.2" >>"$WDIR/rounds"
    w_signal "$1"
    assert_equal "$WSTATUS" 0
    assert_equal "$WSEQ" "$((WPAUSED + 1))"
    w_check --windows "$(w_windows)" --rounds "$WDIR/rounds" --reason signal
    no_uffd_left "$VPID"
    vcmd "check a"
    vcmd "check m"
}

@test "watch: SIGINT ends the watch (reason signal) with a last interval of the latest writes" {
    signal_end INT
}

@test "watch: SIGTERM ends the watch (reason signal) with a last interval of the latest writes" {
    signal_end TERM
}

@test "watch: SIGKILL of pagescan: the target runs on without userfaultfd, memory intact, a new watch is exact" {
    victim_start
    vmap a anon 128
    vmap s shared 32
    vmap f file 16
    watch_json
    w_round 1 "write a 0-9" "write s 1" "write f 2"
    w_until_seq $((WSEQ + 1))
    w_kill KILL
    local st=0
    wait "$WPID" || st=$?
    WPID=
    exec {WFD}<&-
    WFD=
    assert_equal "$st" 137
    victim_alive || fail "the victim died with pagescan"
    no_uffd_left "$VPID"
    vcmd "write a 10-20"
    vcmd "threads 8 s all"
    vcmd "write f all"
    vcmd "check a"
    vcmd "check s"
    vcmd "check f"
    # a new watch works and is exact
    watch_json
    assert_transient
    w_round 1 "write a 0-5,100"
    w_round 2 "threads 8 s every:2" "write f 3"
    w_signal INT
    assert_equal "$WSTATUS" 0
    w_check --windows "$(w_windows)" --rounds "$WDIR/rounds" --reason signal
    no_uffd_left "$VPID"
}

@test "watch: a second watch of the same process is refused; the first stays exact" {
    victim_start
    vmap a anon 64
    watch_json
    w_round 1 "write a 0-3"
    # refused while the first watch has a round pending...
    w_pause
    vcmd mark
    vcmd "write a 10-20"
    run --separate-stderr "$PAGESCAN" watch "$VPID" -n 1 -i 100ms -f json
    assert_equal "$status" 1
    [[ $stderr == *"already tracked"* ]] || fail "second watch: no 'already tracked' message: $stderr"
    [[ $stderr == *"$VPID"* ]] || fail "second watch: the message does not name the process: $stderr"
    assert_equal "$(uffd_count "$VPID")" 0
    vcmd "write a 21"
    victim_truth "$WDIR/round.2"
    echo "$((WPAUSED + 1)) $WDIR/round.2" >>"$WDIR/rounds"
    w_resume
    # ...and while it runs
    run --separate-stderr "$PAGESCAN" watch "$VPID" -n 1 -i 100ms -f json
    assert_equal "$status" 1
    [[ $stderr == *"already tracked"* ]] || fail "second watch: no 'already tracked' message: $stderr"
    w_round 3 "write a 30-40" "threads 8 a 50-63"
    w_signal INT
    w_check --windows "$(w_windows)" --rounds "$WDIR/rounds" --reason signal
    vcmd "check a"
}

@test "watch --accumulate: each interval is the union of everything written so far; counts never decrease" {
    require_zero_page # its reads are reads only where the kernel maps the zero page
    victim_start
    vmap a anon 256
    vmap m shmfile 32
    vcmd "write a 0-9"
    watch_json --accumulate
    w_round 1 "write a 1-5"
    w_round 2 "threads 8 a rand:50:7" "write m 3"
    w_round 3 "read a all"
    w_round 4 "write a 1-5"
    w_round 5 "write m all" "write a 255"
    w_signal INT
    assert_equal "$WSTATUS" 0
    w_check --accumulate --windows "$(w_windows)" --rounds "$WDIR/rounds" --reason signal
    # written_pages never decreases
    run jq -rs '[.[] | select(.type == "interval") | .written_pages] | . == sort' "$WLOG"
    assert_output true
}

@test "watch -n COUNT: exactly COUNT intervals, reason count; JSON and CSV" {
    victim_start
    vmap a anon 16
    ps_ok "$BATS_TEST_TMPDIR/n.json" watch "$VPID" -n 3 -i 100ms -f json
    w_check --log "$BATS_TEST_TMPDIR/n.json" --reason count
    assert_equal "$(jq -s '[.[] | select(.type == "interval")] | length' "$BATS_TEST_TMPDIR/n.json")" 3
    ps_ok "$BATS_TEST_TMPDIR/n.csv" watch "$VPID" -n 4 -i 100ms -f csv
    w_check_csv "$BATS_TEST_TMPDIR/n.csv"
    assert_equal "$(wc -l <"$BATS_TEST_TMPDIR/n.csv")" 5
    no_uffd_left "$VPID"
    vcmd "write a all"
    vcmd "check a"
}

@test "watch -f csv: a CSV parser reads a constant column count; rows follow the intervals" {
    victim_start
    vmap a anon 64
    vmap m shmfile 64
    w_start watch "$VPID" -i 100ms -f csv
    w_round 1 "write a 0-9"
    w_round 2 "threads 8 m all"
    w_round 3 "write a 5"
    w_signal INT
    assert_equal "$WSTATUS" 0
    w_check_csv "$WLOG"
    # the rows of the rounds have a top mapping; round 2's is m, 64 pages
    local seq pages
    while read -r seq _; do
        pages=$(awk -F, -v s="$seq" '$1 == s { print $13 }' "$WLOG")
        ((pages >= 1)) || fail "CSV row $seq: top mapping pages '$pages'"
    done <"$WDIR/rounds"
    seq=$(sed -n 2p "$WDIR/rounds" | cut -d' ' -f1)
    assert_equal "$(awk -F, -v s="$seq" '$1 == s { print $12 " " $13 }' "$WLOG")" "${MPATH[m]} 64"
}

@test "watch -d DURATION: reason duration, text report to -o FILE has the expected shape" {
    victim_start
    vmap a anon 32
    local t0 t1
    t0=$(date +%s%N)
    ps_ok "$BATS_TEST_TMPDIR/stdout" watch "$VPID" -d 1s -i 300ms -o "$BATS_TEST_TMPDIR/out.txt"
    t1=$(date +%s%N)
    assert_equal "$(cat "$BATS_TEST_TMPDIR/stdout")" ""
    ((t1 - t0 >= 1000000000)) || fail "a 1 s watch took $(((t1 - t0) / 1000000)) ms"
    w_check_text "$BATS_TEST_TMPDIR/out.txt"
    grep -qE '^end: duration after [1-4] intervals?, [1-9][0-9]*\.[0-9]{3}s$' "$BATS_TEST_TMPDIR/out.txt" ||
        fail "end line: $(grep '^end:' "$BATS_TEST_TMPDIR/out.txt")"
    # JSON: the same end, the last interval ends at the duration
    ps_ok "$BATS_TEST_TMPDIR/d.json" watch "$VPID" -d 600ms -i 200ms -f json
    w_check --log "$BATS_TEST_TMPDIR/d.json" --reason duration
    run jq -r 'select(.type == "end") | .duration_s >= 0.6 and .duration_s < 5' "$BATS_TEST_TMPDIR/d.json"
    assert_output true
    run jq -rs '[.[] | select(.type == "interval")] | last | .time_s >= 0.59' "$BATS_TEST_TMPDIR/d.json"
    assert_output true
}

@test "watch: text output with regions has the expected shape" {
    victim_start
    vmap a anon 64
    w_start watch "$VPID" -i 100ms
    w_round 1 "write a 0-9,20"
    w_pause
    vmap b anon 16
    w_resume
    w_round 2 "write b 1" "write a 3"
    w_signal INT
    w_check_text "$WLOG"
    # round 1: the regions of a, in text
    local s1
    s1=$(head -n 1 "$WDIR/rounds" | cut -d' ' -f1)
    awk -v s="#$s1" '$1 ~ /^#/ { on = ($1 == s); next } on && /^    0x/' "$WLOG" >"$WDIR/regions1"
    grep -qF "$(printf '0x%012x-0x%012x  %dK  [anon]' "${MSTART[a]}" $((MSTART[a] + 10 * PAGE_SIZE)) $((10 * PAGE_SIZE / 1024)))" "$WDIR/regions1" ||
        fail "round 1 regions in text: $(cat "$WDIR/regions1")"
    grep -q '^  + tracking  ' "$WLOG" || fail "the new mapping is not shown as tracked"
    grep -q '^end: signal' "$WLOG" || fail "no end line with reason signal"
}

@test "watch -q: JSON without region lists keeps exact counts per interval and mapping; report refuses it" {
    require_zero_page # its reads are reads only where the kernel maps the zero page
    victim_start
    vmap a anon 64
    vmap b shmfile 32
    w_start watch "$VPID" -i 100ms -f json -q
    w_round 1 "write a 0-9,20"
    w_round 2 "threads 8 a every:2" "write b 3-7"
    w_round 3 "read a all"
    w_signal INT
    assert_equal "$WSTATUS" 0
    w_jq_lines
    run jq -r 'select(.type == "start") | .region_lists' "$WLOG"
    assert_output false
    run jq -r 'select(.type == "interval" and has("regions")) | .seq' "$WLOG"
    assert_output ""
    # every round (round 3 only reads: 0): the per-mapping counts of a and b
    # are the victim's truth
    local seq file name want got
    while read -r seq file; do
        for name in a b; do
            want=$(ranges_clip "${MSTART[$name]}" "${MEND[$name]}" <"$file" >"$WDIR/clip" && ranges_pages "$WDIR/clip")
            got=$(jq -r --argjson s "$seq" --arg st "$(printf '0x%x' "${MSTART[$name]}")" \
                'select(.type == "interval" and .seq == $s) | [.mappings[] | select(.start == $st) | .written_pages] | add // 0' "$WLOG")
            assert_equal "interval $seq mapping $name: $got" "interval $seq mapping $name: $want"
        done
    done <"$WDIR/rounds"
    # a recording without region lists cannot give working sets over windows
    run --separate-stderr "$PAGESCAN" report "$WLOG"
    assert_failure 1
    [[ $stderr == *"watch -q"*"record again without -q"* ]] || fail "unclear refusal: $stderr"
    no_uffd_left "$VPID"
    vcmd "check a"
    vcmd "check b"
}

@test "watch: a late tick reports its true elapsed_s" {
    victim_start
    vmap a anon 16
    w_start watch "$VPID" -i 200ms -f json
    w_until_seq 1
    w_pause
    local t0 t1
    t0=$(date +%s%N)
    # keep pagescan stopped for a while: its next tick falls late
    sleep 1.2
    t1=$(date +%s%N)
    w_resume
    local late=$WSEQ
    w_until_seq $((late + 1))
    w_signal INT
    w_check --reason signal
    run jq -r --argjson s "$late" --argjson min "$(((t1 - t0) / 1000000))" \
        'select(.type == "interval" and .seq == $s) | .elapsed_s * 1000 >= $min' "$WLOG"
    assert_output true
    # the tick after it is an ordinary one: no catch-up burst of fake intervals
    run jq -r --argjson s "$((late + 1))" 'select(.type == "interval" and .seq == $s) | .elapsed_s < 1' "$WLOG"
    assert_output true
}

# --- mapping names ------------------------------------------------------------

# Hostile file names, as bytes (bash $'...'): quotes, backslashes, spaces and
# commas, a newline (/proc shows \012), control characters, invalid UTF-8
# (stray bytes, a truncated sequence, a surrogate, an overlong form, a
# code point above U+10FFFF) and valid multi-byte UTF-8.
NAMES=(
    $'q"uo"te'
    $'back\\slash\\'
    'sp ace, comma'
    $'new\nline'
    $'inv\xff\xfeutf8'
    $'trunc\xe2\x82end'
    $'ctl\x01\x1f\ttab\x7f'
    $'utf8-\xc3\xa9-\xe2\x82\xac-\xf0\x9f\x98\x80'
    $'surr\xed\xa0\x80over\xc0\xafbig\xf4\x90\x80\x80'
)

# namemap_start: the namemap target with one file per NAMES entry; sets
# VPID, VDIR, the victim fifos (vcmd works), NADDR[i] "0xS 0xE".
namemap_start() {
    local i
    [[ -x $TARGETS/namemap ]] || fail "test target $TARGETS/namemap is not built"
    NDIR=$BATS_TEST_TMPDIR/names
    mkdir -p "$NDIR"
    NDIR=$(realpath "$NDIR")
    local files=()
    for i in "${!NAMES[@]}"; do
        : >"$NDIR/${NAMES[$i]}"
        files+=("$NDIR/${NAMES[$i]}")
    done
    VDIR=$BATS_TEST_TMPDIR/victim
    mkdir -p "$VDIR"
    mkfifo "$VDIR/cmd" "$VDIR/reply"
    "$TARGETS/namemap" "$VDIR/cmd" "$VDIR/reply" "${files[@]}" \
        </dev/null >"$VDIR/stdout" 2>"$VDIR/stderr" 3>&- &
    VPID=$!
    # the victim's fifo variables: vcmd talks to namemap
    # shellcheck disable=SC2034
    exec {VCMD_FD}<>"$VDIR/cmd"
    # shellcheck disable=SC2034
    exec {VREPLY_FD}<>"$VDIR/reply"
    declare -gA MSTART=() MEND=() MPATH=()
    NADDR=()
    for i in "${!NAMES[@]}"; do
        vcmd "addr $i"
        NADDR[i]=${REPLY_LINE#ok }
    done
}

# check_names FILE FORMAT: the mapping names in a JSON or CSV report of a
# namemap watch whose intervals $WDIR/rounds lists (one per name, in
# order) are /proc's names, with invalid UTF-8 replaced by U+FFFD.
check_names() {
    local out n hex=()
    for n in "${NAMES[@]}"; do
        hex+=("$(printf '%s' "$n" | od -An -tx1 -v | tr -d ' \n')")
    done
    if ! out=$(python3 -S -c '
import csv, json, re, sys
report, fmt, ndir, rounds, addrs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
names = [bytes.fromhex(h) for h in sys.argv[6:]]
seqs = [int(l.split()[0]) for l in open(rounds) if l.strip()]
addrs = [tuple(int(x, 16) for x in a.split()) for a in addrs.split(",")]
def expect(name):
    p = ndir.encode() + b"/" + name
    # /proc/PID/maps escapes a newline as \012
    return p.replace(b"\n", b"\\012").decode("utf-8", errors="replace")
def norm(s):
    # how many U+FFFD per invalid sequence is a policy; a run of them is one
    return re.sub("\ufffd+", "\ufffd", s)
problems = []
if fmt == "json":
    recs = [json.loads(l.decode("utf-8")) for l in open(report, "rb").read().splitlines()]
    start = recs[0]
    ivs = {r["seq"]: r for r in recs if r.get("type") == "interval"}
    for k, name in enumerate(names):
        s, e = addrs[k]
        want = expect(name)
        eng = [x for x in start["engaged"] if int(x["start"], 16) <= s and int(x["end"], 16) >= e]
        if len(eng) != 1 or norm(eng[0]["mapping"]) != norm(want):
            problems.append("start: engaged name for %r is %r, want %r" % (name, [x["mapping"] for x in eng], want))
        iv = ivs.get(seqs[k])
        regs = [r for r in iv["regions"] if s <= int(r["start"], 16) < e]
        if sum(r["pages"] for r in regs) != 8:
            problems.append("interval %d: %d pages in %r, want 8" % (seqs[k], sum(r["pages"] for r in regs), name))
        for r in regs:
            if norm(r["mapping"]) != norm(want):
                problems.append("interval %d: region name %r, want %r" % (seqs[k], r["mapping"], want))
        ms = [m for m in iv["mappings"] if int(m["start"], 16) == s]
        if len(ms) != 1 or norm(ms[0]["mapping"]) != norm(want) or ms[0]["written_pages"] != 8:
            problems.append("interval %d: mappings entry %r, want %r with 8 pages" % (seqs[k], ms, want))
else:
    with open(report, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, strict=True))
    byseq = {int(r[0]): r for r in rows[1:]}
    for k, name in enumerate(names):
        r = byseq.get(seqs[k])
        want = expect(name)
        if r is None or norm(r[11]) != norm(want) or r[12] != "8":
            problems.append("CSV row %d: top mapping %r, want %r with 8 pages" % (seqs[k], r[11:] if r else None, want))
if problems:
    print("\n".join(problems)); sys.exit(1)
' "$1" "$2" "$NDIR" "$WDIR/rounds" "$(IFS=,; echo "${NADDR[*]}")" "${hex[@]}" 2>&1); then
        fail "$(printf 'mapping names in the %s report:\n%s' "$2" "$out")"
        return 1
    fi
}

# names_watch FORMAT: one interval per name, each writing that file's 8 pages.
names_watch() {
    local i
    w_start watch "$VPID" -i 100ms -f "$1"
    for i in "${!NAMES[@]}"; do
        w_pause
        vcmd "write $i"
        echo "$((WPAUSED + 1)) -" >>"$WDIR/rounds"
        w_resume
    done
    w_signal INT
    assert_equal "$WSTATUS" 0
}

@test "watch: mapping names with quotes, backslashes, newlines, control bytes and invalid UTF-8 give valid JSON and CSV" {
    namemap_start
    names_watch json
    # jq and a strict UTF-8 JSON parser read every line; names are right
    w_check --reason signal
    check_names "$WLOG" json
    # the text report keeps one line per record (no raw control bytes)
    names_watch csv
    w_check_csv "$WLOG"
    check_names "$WLOG" csv
    vcmd exit
}

@test "watch text: mapping names with control bytes are shown escaped everywhere (regions, per mapping, hottest)" {
    namemap_start
    w_start watch "$VPID" -n 2 -i 100ms
    w_pause
    # two mappings in one interval: the per-mapping line is printed
    vcmd "write 3"
    vcmd "write 6"
    w_resume
    w_finish
    assert_equal "$WSTATUS" 0
    w_check_text "$WLOG"
    # the region lines escape them (\001 ...): so must every other line
    grep -qF 'ctl\001\037\011tab\177' "$WLOG" || fail "no escaped name in the region lines"
    if LC_ALL=C grep -n $'[\x01-\x09\x0b-\x1f\x7f]' "$WLOG" >"$WDIR/ctl"; then
        fail "$(printf 'text report has raw control bytes (a name with ESC could drive the terminal):\n%s' "$(cat -A "$WDIR/ctl" | cut -c1-160)")"
    fi
    vcmd exit
}

@test "watch: a harvest of more written runs than a classification batch (16,384 runs): exact" {
    # 60,000 single-page runs: classified in batches, the candidate pass
    # going on where the last batch stopped
    VICTIM_PROG=overhead_writer victim_start
    vcmd "map 120000"
    local ws we d=$BATS_TEST_TMPDIR fd line
    read -r _ ws we <<<"$REPLY_LINE"
    mkfifo "$d/o"
    "$PAGESCAN" watch "$VPID" -r "$ws-$we" -i 100ms -f json --max-overhead off >"$d/o" 2>"$d/err" 3>&- &
    local ps=$!
    exec {fd}<"$d/o"
    IFS= read -r line <&"$fd" || fail "no start record (stderr: $(cat "$d/err"))"
    # the rest (region lists of megabytes) read at full speed
    cat <&"$fd" >"$d/out.json" &
    local cat=$!
    exec {fd}<&-
    # pagescan stopped while the writer stores: its next harvest gets all
    # of them (the kernel resolves the faults without it)
    kill -STOP "$ps"
    vcmd "sparse 2 $d/truth"
    kill -CONT "$ps"
    kill -INT "$ps"
    local st=0
    wait "$ps" || st=$?
    wait "$cat"
    assert_equal "$st" 0
    # the sum: a store racing a harvest counts in two intervals (the kernel
    # re-faults the retried store: docs/kernel-interfaces.md, 1-2 pages of
    # 65,536 seen), never more than a few; the union is exact
    local sum
    sum=$(jq -s '[.[] | select(.type == "interval") | .written_pages] | add' "$d/out.json")
    ((sum >= 60000 && sum <= 60060)) || fail "written_pages sum $sum, want 60000 (+ a few racing stores)"
    assert_equal "$(jq -s '[.[] | select(.type == "interval") | .written_pages] | max' "$d/out.json")" 60000
    jq -r 'select(.type == "interval") | .regions[] | "\(.start) \(.end)"' "$d/out.json" | ranges_merge >"$d/got"
    assert_ranges_equal "$d/truth" "$d/got"
}
