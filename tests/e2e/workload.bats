#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# pagescan watch of a workload: several PIDs, --tree, --cgroup. The target
# is tests/targets/family: a parent that forks children on command, each
# writing the pages it is told into a private anonymous mapping (each
# process's own pages) and a memfd mapped MAP_SHARED (one page per file
# offset, whoever writes it). Per process and in total, pagescan must say
# exactly what the commands wrote, with the shared pages once in the total.
#
# Interval boundaries are deterministic as in watch.bats: each round is
# written while pagescan is stopped idle in poll() (w_pause/w_resume), so
# it lands in exactly the next interval. -r keeps tracking to the two test
# mappings, so every figure is exact (the rest of the processes, stack and
# stdio buffers, is not watched).

# shellcheck disable=SC2153,SC2154 # WDIR, WSEQ...: watch_helpers; status, stderr: bats
load common
load watch_helpers
load family

setup_file() {
    kernel_supports
}

teardown() {
    w_cleanup
    family_cleanup
    cgroup_cleanup
    common_teardown
}

# ---------------------------------------------------------------------------
# Reading the records

# iv_field SEQ JQPATH: a field of interval SEQ.
iv_field() {
    jq -r --argjson s "$1" "select(.type == \"interval\" and .seq == \$s) | $2" "$WLOG"
}

# proc_field SEQ PID FIELD: a field of process PID in interval SEQ (empty
# when it is not in the interval).
proc_field() {
    jq -r --argjson s "$1" --argjson p "$2" \
        "select(.type == \"interval\" and .seq == \$s) | .processes[] | select(.pid == \$p) | .$3" "$WLOG"
}

# proc_ranges SEQ PID: the written regions of process PID in interval SEQ
# as "0xS 0xE" lines.
proc_ranges() {
    jq -r --argjson s "$1" --argjson p "$2" \
        'select(.type == "interval" and .seq == $s) | .processes[] | select(.pid == $p) | .regions[] | "\(.start) \(.end)"' \
        "$WLOG" | ranges_merge
}

# pages_at BASE FIRST N: the range line of pages FIRST..FIRST+N-1 of BASE.
pages_at() {
    printf '0x%x 0x%x\n' $(($1 + $2 * PAGE_SIZE)) $(($1 + ($2 + $3) * PAGE_SIZE))
}

# w_until_line REGEX: read pagescan's output until a line matches.
w_until_line() {
    while [[ ! $W_LINE =~ $1 ]]; do
        w_line || {
            fail "pagescan: no line matching '$1' (last: $(tail -n 1 "$WLOG"); stderr: $(cat "$WDIR/stderr"))"
            return 1
        }
    done
}

# no_uffd_anywhere PID...: none of the processes holds a userfaultfd (one
# find for them all: a readlink per descriptor is slow for 50 processes).
no_uffd_anywhere() {
    local p held
    local -a dirs=()
    for p in "$@"; do
        dirs+=("/proc/$p/fd")
    done
    held=$(find "${dirs[@]}" -maxdepth 1 -lname 'anon_inode:\[userfaultfd\]' 2>/dev/null)
    [[ -z $held ]] || fail "userfaultfds left: $held"
}

# members_exact SEQ WHO...: in interval SEQ each family member WHO (0: the
# parent, K: child K) has exactly the pages its own truth says it wrote
# since its last truth (regions, written_pages, shared_written_pages), the
# interval lists exactly these members, and its totals are their private
# pages plus their shared pages (memfd, file) once. One python3 for it all
# (a process per member is slow on a busy machine).
# SEQ "all" (run, which tracks whole processes): over the whole report,
# each member's regions inside the family's mappings are its truth, and
# the distinct pages there are its private pages plus the shared ones once.
members_exact() {
    local s=$1 out t=$BATS_TEST_TMPDIR/truths
    shift
    (($# == 0)) || members_truths "$@" || return 1
    out=$(python3 -S -c "$MEMBERS_PY" "$WLOG" "$s" "$t" "$PAGE_SIZE" "$FPAGES" "$ANON" \
        "memfd=$SHARED" "file=$FILEMAP" "file=${FILE2:-}" 2>&1) ||
        fail "interval $s is not the members' truth:
$out"
}

# members_truths WHO...: the members' truths for members_exact (taken
# beforehand when they are about to exit).
members_truths() {
    local who pid t=$BATS_TEST_TMPDIR/truths
    : >"$t"
    for who; do
        if ((who == 0)); then pid=$FPID; else pid=${KID[who]}; fi
        fcmd "truth $who" || return 1
        printf '%s %s\n' "$pid" "$F_REPLY" >>"$t"
    done
}

MEMBERS_PY='
import json, sys
log, seq, truths, page, npages = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
whole = seq == "all"
anon = (int(sys.argv[6], 16), int(sys.argv[6], 16) + npages * page)
# the shared mappings, each with what backs it: a page of one is (object,
# offset), whichever process wrote it at whatever address
shared_windows = []
for a in sys.argv[7:]:
    obj, _, base = a.partition("=")
    if base:
        shared_windows.append((int(base, 16), int(base, 16) + npages * page, obj))
def pages_of(spans):
    out = set()
    for s, e in spans:
        out.update(range(s, e, page))
    return out
def backing(p):
    for s, e, obj in shared_windows:
        if s <= p < e:
            return (obj, (p - s) // page)
    return None
def is_shared(p):
    return backing(p) is not None
def in_family(p):
    return anon[0] <= p < anon[1] or is_shared(p)
iv, procs, distinct = None, {}, set()
for ln in open(log):
    o = json.loads(ln)
    if o.get("type") != "interval":
        continue
    if whole:
        for p in o.get("processes", []):
            got = {x for x in pages_of([(int(r["start"], 16), int(r["end"], 16)) for r in p["regions"]]) if in_family(x)}
            procs.setdefault(p["pid"], {"pages": set()})["pages"] |= got
            distinct |= {backing(x) or (p["pid"], x) for x in got}
    elif o.get("seq") == int(seq):
        iv = o
if not whole:
    if iv is None:
        sys.exit("no interval %s" % seq)
    procs = {p["pid"]: p for p in iv.get("processes", [])}
    for p in procs.values():
        p["pages"] = pages_of([(int(r["start"], 16), int(r["end"], 16)) for r in p["regions"]])
bad, want_priv, want_shared = [], 0, set()
want_pids = set()
for ln in open(truths):
    w = ln.split()
    pid, n = int(w[0]), int(w[2])
    want_pids.add(pid)
    truth = set() if w[3] == "-" else pages_of([(int(a, 16), int(b, 16)) for a, b in (x.split("-") for x in w[3].split(","))])
    if len(truth) != n:
        bad.append("pid %d: the truth says %d pages but lists %d" % (pid, n, len(truth)))
    p = procs.get(pid)
    if p is None:
        bad.append("pid %d: not in the interval" % pid); continue
    got = p["pages"]
    sh = {x for x in truth if is_shared(x)}
    if got != truth:
        bad.append("pid %d: %d pages, its truth %d; missing %s; extra %s" % (pid, len(got), len(truth),
                   sorted(hex(x) for x in truth - got)[:8], sorted(hex(x) for x in got - truth)[:8]))
    if not whole and (p["written_pages"], p["shared_written_pages"]) != (len(truth), len(sh)):
        bad.append("pid %d: written_pages %d shared_written_pages %d, its truth %d and %d" % (pid, p["written_pages"],
                   p["shared_written_pages"], len(truth), len(sh)))
    want_priv += len(truth) - len(sh)
    want_shared |= {backing(x) for x in sh}
if set(procs) != want_pids:
    bad.append("the interval lists pids %s, the members are %s" % (sorted(procs), sorted(want_pids)))
if whole:
    if len(distinct) != want_priv + len(want_shared):
        bad.append("distinct pages of the workload in the family mappings: %d; the truths: %d private + %d shared once" % (len(distinct), want_priv, len(want_shared)))
elif (iv["written_pages"], iv["shared_written_pages"]) != (want_priv + len(want_shared), len(want_shared)):
    tot = (iv["written_pages"], iv["shared_written_pages"])
    bad.append("totals: written_pages %d shared_written_pages %d; the truths: %d private + %d shared once" % (tot[0], tot[1], want_priv, len(want_shared)))
if bad:
    sys.exit("\n".join(bad[:20]))
'

# ---------------------------------------------------------------------------
# A big workload's pagescan, its output into a file
#
# With 50 processes an interval record is 16 KB: more than this shell reads
# line by line from a fifo on a busy machine, and `run` must never block on
# its output while the family forks (a fork stop waits for pagescan). So
# pagescan writes into a regular file, and the pauses read it from there
# (it writes each record whole, at once).

# f_start ARGS...: "$PAGESCAN ARGS..." in the background, its standard output
# into WLOG; returns once the start record is there.
f_start() {
    WDIR=$BATS_TEST_TMPDIR/w
    mkdir -p "$WDIR"
    WLOG=$WDIR/out
    : >"$WLOG"
    WSEQ=0 WPAUSED='' WSTATUS=''
    "$PAGESCAN" "$@" >"$WLOG" 2>"$WDIR/stderr" 3>&- &
    WPID=$! W_PARENT=$BASHPID
    f_until '[[ -s $WLOG ]]' "a start record"
}

# f_until CONDITION WHAT: wait (up to 30 s) until the bash CONDITION holds.
f_until() {
    local i
    for ((i = 0; i < 6000; i++)); do
        eval "$1" && return 0
        [[ -n $(w_state "$WPID") ]] || {
            fail "pagescan ended before $2: $(cat "$WDIR/stderr")"
            return 1
        }
        sleep 0.005
    done
    fail "no $2 from pagescan in 30 s (stderr: $(cat "$WDIR/stderr"))"
}

# f_seq: the seq of the last interval record in WLOG, into WSEQ.
f_seq() {
    local l
    l=$(tac "$WLOG" | grep -m 1 '^{"type":"interval","seq":') || true
    [[ $l =~ ^\{\"type\":\"interval\",\"seq\":([0-9]+) ]] && WSEQ=${BASH_REMATCH[1]}
    return 0
}

# f_pause: stop pagescan idle in poll(): everything written later falls
# in interval WPAUSED+1 or later (as w_pause).
f_pause() {
    local i nr
    local -a f
    for ((i = 0; i < 200; i++)); do
        w_kill STOP || {
            fail "pagescan is gone: $(cat "$WDIR/stderr")"
            return 1
        }
        w_wait_stopped "$WPID" || return 1
        read -r -a f <"/proc/$WPID/syscall" 2>/dev/null || f=()
        nr=${f[0]:-}
        if [[ $nr == "$PS_NR_POLL" || $nr == "$PS_NR_PPOLL" ]]; then
            f_seq
            WPAUSED=$WSEQ
            return 0
        fi
        w_kill CONT
        sleep 0.01
    done
    fail "could not catch pagescan idle in poll() in 200 tries"
}

# f_resume: let pagescan go on until interval WPAUSED+1 is written.
f_resume() {
    w_kill CONT
    f_until 'f_seq; ((WSEQ > WPAUSED))' "interval $((WPAUSED + 1))"
}

# f_finish [SIG]: send SIG (if given) to pagescan, also when paused; wait for
# its end. Sets WSTATUS and WSTDERR.
f_finish() {
    if [[ -n ${1:-} ]]; then
        w_kill "$1"
        w_kill CONT || true
    fi
    WSTATUS=0
    wait "$WPID" || WSTATUS=$?
    WPID=
    WSTDERR=$(cat "$WDIR/stderr")
}

# ---------------------------------------------------------------------------

@test "watch PID PID PID: exact per process and in total, shared pages counted once" {
    family_start 64
    ffork
    ffork
    w_start watch "$FPID" "${KID[1]}" "${KID[2]}" -i 100ms -f json "${RANGES[@]}"
    assert_equal "$(jq -r 'select(.type == "start") | "\(.format_version) \(.workload) \(.processes)"' "$WLOG")" "2 pids 3"

    # Round 1: the same private pages in the parent and child 1 (two
    # processes' own pages), memfd pages 0-4 by child 1 and 3-7 by child 2
    # (8 distinct), page 7 again by the parent.
    w_pause
    fcmd "write 0 anon 0 4"
    fcmd "write 1 anon 0 3"
    fcmd "write 2 anon 10 2"
    fcmd "write 1 shared 0 5"
    fcmd "write 2 shared 3 5"
    fcmd "write 0 shared 7 1"
    w_resume
    local s=$((WPAUSED + 1))
    assert_equal "$(proc_field $s "$FPID" written_pages) $(proc_field $s "$FPID" shared_written_pages)" "5 1"
    assert_equal "$(proc_field $s "${KID[1]}" written_pages) $(proc_field $s "${KID[1]}" shared_written_pages)" "8 5"
    assert_equal "$(proc_field $s "${KID[2]}" written_pages) $(proc_field $s "${KID[2]}" shared_written_pages)" "7 5"
    # private 4 + 3 + 2, shared 8 once
    assert_equal "$(iv_field $s '"\(.written_pages) \(.shared_written_pages) \(.wss_pages) \(.shared_wss_pages)"')" "17 8 17 8"
    # Child 2's regions, page for page.
    { pages_at "$ANON" 10 2; pages_at "$SHARED" 3 5; } | ranges_merge >"$BATS_TEST_TMPDIR/want"
    proc_ranges $s "${KID[2]}" >"$BATS_TEST_TMPDIR/got"
    assert_ranges_equal "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"

    # Round 2: child 1 rewrites its 3 private pages, child 2 memfd page 0
    # (child 1's): written again, nothing new to the working set.
    w_pause
    fcmd "write 1 anon 0 3"
    fcmd "write 2 shared 0 1"
    w_resume
    s=$((WPAUSED + 1))
    assert_equal "$(iv_field $s '"\(.written_pages) \(.wss_pages)"')" "4 17"
    assert_equal "$(proc_field $s "$FPID" written_pages)" 0

    w_kill INT
    w_finish
    assert_equal "$WSTATUS" 0
    assert_equal "$(jq -r 'select(.type == "end") | "\(.reason) \(.wss_pages) \(.shared_wss_pages) \(.processes) \(.untracked_processes)"' "$WLOG")" \
        "signal 17 8 3 0"
    # One start event per process, nothing left in any of them.
    assert_equal "$(jq -r 'select(.type == "process" and .event == "start") | .pid' "$WLOG" | sort -n | tr '\n' ' ')" \
        "$(printf '%s\n' "$FPID" "${KID[1]}" "${KID[2]}" | sort -n | tr '\n' ' ')"
    no_uffd_anywhere "$FPID" "${KID[@]}"
}

@test "watch --tree: a child forked during the watch is tracked from the next tick, an exiting one reported" {
    family_start 32
    ffork
    w_start watch --tree "$FPID" -i 100ms -f json "${RANGES[@]}"
    assert_equal "$(jq -r 'select(.type == "start") | "\(.workload) \(.processes)"' "$WLOG")" "tree 2"

    # A new child: engaged at the tick after its fork.
    w_pause
    ffork
    w_resume
    w_until_line "\"event\":\"start\",\"pid\":${KID[2]},"

    w_pause
    fcmd "write 2 anon 0 6"
    fcmd "write 1 shared 0 2"
    fcmd "write 2 shared 1 2"
    w_resume
    local s=$((WPAUSED + 1))
    assert_equal "$(proc_field $s "${KID[2]}" written_pages)" 8
    assert_equal "$(proc_field $s "${KID[1]}" written_pages)" 2
    assert_equal "$(iv_field $s '"\(.written_pages) \(.wss_pages) \(.shared_wss_pages)"')" "9 9 3"

    # Child 1 exits: reported with what it wrote (its 2 memfd pages), and
    # gone from the intervals after.
    w_pause
    fcmd "exit 1"
    w_resume
    s=$((WPAUSED + 1))
    assert_equal "$(jq -r --argjson p "${KID[1]}" 'select(.type == "process" and .event == "exit" and .pid == $p) | "\(.reason) \(.wss_pages)"' "$WLOG")" \
        "exit 2"
    assert_equal "$(proc_field $s "${KID[1]}" written_pages)" ""
    assert_equal "$(iv_field $s '.processes | length')" 2
    # Its pages stay in the working set.
    assert_equal "$(iv_field $s .wss_pages)" 9

    w_kill TERM
    w_finish
    assert_equal "$(jq -r 'select(.type == "end") | "\(.wss_pages) \(.processes)"' "$WLOG")" "9 3"
    no_uffd_anywhere "$FPID" "${KID[2]}"
}

@test "watch --tree: a process sharing the parent's address space (CLONE_VM) is tracked once" {
    family_start 16
    fcmd clonevm
    local vm=${F_REPLY#ok }
    w_start watch --tree "$FPID" -i 100ms -f json -n 2 "${RANGES[@]}"
    w_finish
    assert_equal "$WSTATUS" 0
    assert_equal "$(jq -r --argjson p "$vm" 'select(.type == "process" and .pid == $p) | .event' "$WLOG")" skipped
    run jq -r --argjson p "$vm" 'select(.type == "process" and .pid == $p) | .reason' "$WLOG"
    assert_output "shares its address space with process $FPID (CLONE_VM), tracked once as $FPID"
    assert_equal "$(jq -r 'select(.type == "end") | "\(.processes) \(.untracked_processes)"' "$WLOG")" "1 0"
    # Not a failure to warn about.
    [[ $WSTDERR != *"$vm"* ]] || fail "warned about the CLONE_VM process: $WSTDERR"
}

@test "watch --max-processes: the processes over the limit are not tracked, and the output says so" {
    family_start 16
    ffork
    ffork
    ffork
    run --separate-stderr "$PAGESCAN" watch --tree "$FPID" --max-processes 2 -n 1 -i 100ms -f json "${RANGES[@]}"
    assert_success
    [[ $stderr == *"more than 2 processes (--max-processes)"*"raise --max-processes"* ]] || fail "stderr: $stderr"
    assert_equal "$(without_machine_notes "$stderr" | grep -c 'pagescan: warning')" 1
    assert_equal "$(jq -r 'select(.type == "process" and .event == "start") | .pid' <<<"$output" | wc -l)" 2
    assert_equal "$(jq -r 'select(.type == "process" and .event == "skipped") | .reason' <<<"$output" | sort -u)" \
        "over --max-processes 2"
    assert_equal "$(jq -r 'select(.type == "process" and .event == "skipped") | .pid' <<<"$output" | wc -l)" 2
    assert_equal "$(jq -r 'select(.type == "end") | "\(.processes) \(.untracked_processes)"' <<<"$output")" "2 2"

    run --separate-stderr "$PAGESCAN" watch "$FPID" "${KID[1]}" "${KID[2]}" --max-processes 2
    assert_failure 64
    [[ $stderr == *"3 PIDs given but --max-processes 2: raise --max-processes"* ]] || fail "stderr: $stderr"
}

@test "watch PID PID: a process that cannot be tracked is skipped with its reason, the rest go on" {
    family_start 16
    ffork
    ffork
    # Child 1 is watched already: its userfaultfd write-protect is taken.
    w_start watch "${KID[1]}" -i 100ms -f json
    run --separate-stderr "$PAGESCAN" watch "$FPID" "${KID[1]}" "${KID[2]}" -n 1 -i 100ms -f json "${RANGES[@]}"
    assert_success
    [[ $stderr == *"process ${KID[1]} (family) is not tracked: "* ]] || fail "stderr: $stderr"
    assert_equal "$(grep -c "is not tracked" <<<"$stderr")" 1
    assert_equal "$(jq -r 'select(.type == "process" and .event == "skipped") | .pid' <<<"$output")" "${KID[1]}"
    assert_equal "$(jq -r 'select(.type == "end") | "\(.processes) \(.untracked_processes)"' <<<"$output")" "2 1"

    # None at all: a clear failure.
    run --separate-stderr "$PAGESCAN" watch "${KID[1]}" 999999999 -n 1
    assert_failure 1
    [[ $stderr == *"none of the 2 processes could be tracked"* ]] || fail "stderr: $stderr"
}

# The cgroup v2 hierarchy (unified or hybrid), or skip.
cgroup2_dir() {
    CG_ROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
    [[ -n $CG_ROOT ]] || skip "no cgroup v2 hierarchy mounted"
    CG=$CG_ROOT/pagescan-test-$$-$BATS_TEST_NUMBER
    mkdir "$CG" 2>/dev/null || skip "cannot create a cgroup under $CG_ROOT"
}

# cg_move PID DIR: move PID into the cgroup DIR.
cg_move() {
    echo "$1" >"$2/cgroup.procs"
}

# cgroup_cleanup: every process back to where this shell is, the test cgroup removed.
cgroup_cleanup() {
    [[ -n ${CG:-} && -d $CG ]] || return 0
    local p home
    home=$CG_ROOT$(awk -F: '$1 == "0" { print $3 }' /proc/$$/cgroup)
    while read -r p; do
        echo "$p" >"$home/cgroup.procs" 2>/dev/null || true
    done <"$CG/cgroup.procs"
    rmdir "$CG" 2>/dev/null || true
    CG=
}

@test "watch --cgroup: processes moved in are tracked from the next tick, moved out dropped" {
    cgroup2_dir
    local home
    home=$CG_ROOT$(awk -F: '$1 == "0" { print $3 }' /proc/$$/cgroup)
    family_start 16
    ffork
    cg_move "$FPID" "$CG"
    w_start watch --cgroup "$CG" -i 100ms -f json "${RANGES[@]}"
    assert_equal "$(jq -r 'select(.type == "start") | "\(.workload) \(.cgroup) \(.processes)"' "$WLOG")" "cgroup $CG 1"

    # Child 1 moves in.
    w_pause
    cg_move "${KID[1]}" "$CG"
    w_resume
    w_until_line "\"event\":\"start\",\"pid\":${KID[1]},"
    w_pause
    fcmd "write 1 anon 0 2"
    fcmd "write 0 shared 0 1"
    fcmd "write 1 shared 0 1"
    w_resume
    local s=$((WPAUSED + 1))
    assert_equal "$(proc_field $s "${KID[1]}" written_pages)" 3
    assert_equal "$(iv_field $s '"\(.written_pages) \(.wss_pages)"')" "3 3"

    # ... and out again: dropped at the next tick, its writes no longer seen.
    w_pause
    cg_move "${KID[1]}" "$home"
    w_resume
    w_until_line "\"event\":\"exit\",\"pid\":${KID[1]},"
    [[ $W_LINE == *'"reason":"left the cgroup"'* ]] || fail "exit event: $W_LINE"
    w_pause
    fcmd "write 1 anon 5 4"
    fcmd "write 0 anon 0 1"
    w_resume
    s=$((WPAUSED + 1))
    assert_equal "$(iv_field $s '"\(.written_pages) \(.processes | length)"')" "1 1"

    w_kill INT
    w_finish
    assert_equal "$(jq -r 'select(.type == "end") | "\(.wss_pages) \(.processes)"' "$WLOG")" "4 2"
}

@test "watch PID PID: text is one line per interval with the total and the busiest processes; CSV a row of totals and one per process" {
    family_start 16
    ffork
    ffork
    w_start watch "$FPID" "${KID[1]}" "${KID[2]}" -i 100ms "${RANGES[@]}"
    [[ $W_LINE == "watching 3 processes (from $FPID (family); at most 64): 96 pages (384K) tracked, every 0.100s" ]] ||
        fail "start line: $W_LINE"
    w_pause
    fcmd "write 2 anon 0 3"
    fcmd "write 1 anon 0 1"
    fcmd "write 2 shared 0 2"
    fcmd "write 1 shared 0 2"
    w_resume
    [[ $W_LINE =~ ^#$((WPAUSED + 1))\ .*written\ 6\ pages\ .*\ wss\ 6\ pages\ \(shared\ 2\).*\ \ 3\ processes:\ ${KID[2]}\ family\ 5,\ ${KID[1]}\ family\ 3,\ $FPID\ family\ 0$ ]] ||
        fail "interval line: $W_LINE"
    w_kill INT
    w_finish
    grep -q "^processes: 3 tracked; shared pages in the write working set: 2 (counted once)$" "$WLOG" ||
        fail "no processes line: $(tail -n 5 "$WLOG")"

    run --separate-stderr "$PAGESCAN" watch "$FPID" "${KID[1]}" -n 2 -i 100ms -f csv "${RANGES[@]}"
    assert_success
    [[ ${lines[0]} == seq,*,pid,command ]] || fail "header: ${lines[0]}"
    # Per interval: the totals (pid empty), then one row per process.
    assert_equal "${#lines[@]}" 7
    [[ ${lines[1]} == 1,*,, && ${lines[2]} == 1,*,"$FPID",family && ${lines[3]} == 1,*,"${KID[1]}",family ]] ||
        fail "rows: ${lines[*]}"
}

@test "watch PID: one process alone gives the records it always did" {
    family_start 16
    run --separate-stderr "$PAGESCAN" watch "$FPID" -n 1 -i 100ms -f json "${RANGES[@]}"
    assert_success
    assert_equal "$(jq -r 'select(.type == "start") | "\(.format_version) \(has("workload")) \(has("engaged"))"' <<<"$output")" \
        "1 false true"
    assert_equal "$(jq -r 'select(.type == "interval") | "\(has("processes")) \(has("regions")) \(has("mappings"))"' <<<"$output")" \
        "false true true"
    assert_equal "$(jq -c 'select(.type == "process")' <<<"$output")" ""
    assert_equal "$(jq -r 'select(.type == "end") | has("processes")' <<<"$output")" false
    run --separate-stderr "$PAGESCAN" watch "$FPID" -n 1 -i 100ms "${RANGES[@]}"
    assert_success
    [[ ${lines[0]} == "watching process $FPID (family): 2 ranges, 32 pages (128K) tracked, every 0.100s" ]] ||
        fail "start line: ${lines[0]}"
}

@test "watch: bad workload options exit 64 naming the fix" {
    # (watch PID PID --heatmap is a workload's heatmap now: heatmap.bats)
    run --separate-stderr "$PAGESCAN" watch --cgroup "$BATS_TEST_TMPDIR"
    assert_failure 64
    [[ $stderr == *"is not a cgroup v2 directory (not on a cgroup2 file system)"*"cgroup v2 mount"* ]] || fail "$stderr"
    run --separate-stderr "$PAGESCAN" watch --cgroup /sys/fs/cgroup 1
    assert_failure 64
    [[ $stderr == *"--cgroup takes no PID"* ]] || fail "$stderr"
    run --separate-stderr "$PAGESCAN" watch 1 1
    assert_failure 64
    [[ $stderr == *"PID 1 given twice"* ]] || fail "$stderr"
    run --separate-stderr "$PAGESCAN" watch --tree
    assert_failure 64
    [[ $stderr == *"missing PID"* ]] || fail "$stderr"
}

@test "watch PID PID --prom-file: the workload's totals and a series per process" {
    family_start 16
    ffork
    local prom=$BATS_TEST_TMPDIR/w.prom
    w_start watch "$FPID" "${KID[1]}" -i 100ms -f json --prom-file "$prom" "${RANGES[@]}"
    w_pause
    fcmd "write 1 anon 0 3"
    fcmd "write 1 shared 0 2"
    fcmd "write 0 shared 0 2"
    w_resume
    # The file is rewritten after each interval record: read it with
    # pagescan stopped (later intervals wrote nothing; the working sets stay).
    w_pause
    grep -qx "pagescan_process_wss_pages{pid=\"${KID[1]}\",command=\"family\"} 5" "$prom" || fail "$(cat "$prom")"
    grep -qx "pagescan_process_wss_pages{pid=\"$FPID\",command=\"family\"} 2" "$prom" || fail "$(cat "$prom")"
    grep -qx "pagescan_write_working_set_pages{pid=\"$FPID\",command=\"family\"} 5" "$prom" || fail "$(cat "$prom")"
    assert_equal "$(grep -c '^pagescan_process_written_pages{' "$prom")" 2
    grep -qx "pagescan_workload_processes{pid=\"$FPID\",command=\"family\"} 2" "$prom" || fail "$(cat "$prom")"
    grep -qx "pagescan_workload_shared_wss_pages{pid=\"$FPID\",command=\"family\"} 2" "$prom" || fail "$(cat "$prom")"
    assert_equal "$(grep -c '^# TYPE pagescan_process_wss_pages gauge$' "$prom")" 1
    w_kill CONT
    w_kill INT
    w_finish
    grep -qx "pagescan_watch_running{pid=\"$FPID\",command=\"family\"} 0" "$prom" || fail "$(cat "$prom")"
}

@test "watch --tree --accumulate: written is the workload's cumulative set, shared pages once" {
    family_start 16
    ffork
    w_start watch --tree "$FPID" -i 100ms -f json --accumulate "${RANGES[@]}"
    w_pause
    fcmd "write 0 shared 0 4"
    fcmd "write 1 shared 2 4"
    fcmd "write 1 anon 0 2"
    w_resume
    local s=$((WPAUSED + 1))
    assert_equal "$(iv_field $s '"\(.written_pages) \(.wss_pages) \(.shared_wss_pages)"')" "8 8 6"
    w_pause
    fcmd "write 0 anon 0 1"
    fcmd "write 0 shared 0 1"
    w_resume
    s=$((WPAUSED + 1))
    assert_equal "$(iv_field $s '"\(.written_pages) \(.wss_pages)"')" "9 9"
    assert_equal "$(proc_field $s "$FPID" written_pages) $(proc_field $s "${KID[1]}" written_pages)" "5 6"
    w_kill INT
    w_finish
    assert_equal "$(jq -r 'select(.type == "end") | .wss_pages' "$WLOG")" 9
}

@test "watch --tree: SIGKILL to pagescan leaves every process running, with no userfaultfd" {
    family_start 16
    ffork
    ffork
    w_start watch --tree "$FPID" -i 100ms -f json "${RANGES[@]}"
    w_until_seq 2
    w_kill KILL
    wait "$WPID" 2>/dev/null || true
    WPID=
    # Every member runs on and writes as before.
    fcmd "write 0 anon 0 2"
    fcmd "write 1 anon 0 2"
    fcmd "write 2 shared 0 2"
    no_uffd_anywhere "$FPID" "${KID[@]}"
    # And can be watched again at once.
    run --separate-stderr "$PAGESCAN" watch --tree "$FPID" -n 1 -i 100ms -f json "${RANGES[@]}"
    assert_success
    assert_equal "$(jq -r 'select(.type == "end") | "\(.processes) \(.untracked_processes)"' <<<"$output")" "3 0"
}

@test "watch --tree on make -j2 building a small C project: the workload's working set is the sum of its processes'" {
    command -v make >/dev/null && command -v cc >/dev/null || skip "needs make and cc"
    local proj=$BATS_TEST_TMPDIR/proj i k
    mkdir -p "$proj"
    # Each compiler runs for many intervals (~0.3 s: 600 statements at -O2),
    # however fast the machine: a process that exits between two ticks
    # leaves nothing to harvest (the address space is gone).
    for i in 1 2 3 4 5 6; do
        {
            printf 'static int big[1 << 16];\nint f%d(int x) {\n' "$i"
            for ((k = 0; k < 600; k++)); do
                printf '  x = x * %d + big[(x + %d) & 65535]; big[x & 65535] = x;\n' $((k % 7 + 3)) $((k + i))
            done
            printf '  return x;\n}\n'
        } >"$proj/f$i.c"
    done
    printf 'int main(void) { return 0; }\n' >"$proj/main.c"
    printf 'OBJS = f1.o f2.o f3.o f4.o f5.o f6.o main.o\nprog: $(OBJS)\n\tcc -o $@ $(OBJS)\n%%.o: %%.c\n\tcc -O2 -c $<\n' \
        >"$proj/Makefile"
    # make starts once pagescan has its first snapshot: it waits on a fifo.
    mkfifo "$BATS_TEST_TMPDIR/go"
    (read -r _ <"$BATS_TEST_TMPDIR/go" && cd "$proj" && exec make -j2 >/dev/null 2>&1) 3>&- &
    local mp=$!
    bg_track "$mp"
    w_start watch --tree "$mp" -i 50ms -f json -q
    echo go >"$BATS_TEST_TMPDIR/go"
    w_finish
    assert_equal "$WSTATUS" 0
    [[ -x $proj/prog ]] || fail "make did not build prog"
    run jq -r 'select(.type == "end") | "\(.reason) \(.detail)"' "$WLOG"
    assert_output "target-exit no process left"
    # No shared mapping was written: the workload's working set is exactly
    # the sum of what each process had written when it left.
    local wss sum n
    wss=$(jq -r 'select(.type == "end") | .wss_pages' "$WLOG")
    sum=$(jq -s '[.[] | select(.type == "process" and .event == "exit") | .wss_pages] | add' "$WLOG")
    n=$(jq -r 'select(.type == "end") | .processes' "$WLOG")
    assert_equal "$(jq -r 'select(.type == "end") | .shared_wss_pages' "$WLOG")" 0
    assert_equal "$wss" "$sum"
    ((n >= 3 && wss > 100)) || fail "too little seen: $n processes, $wss pages"
    # make itself, after the subshell's exec (the old image leaves as
    # "exec", the new one is tracked under the same pid), and the compilers
    # it ran.
    run jq -r --argjson p "$mp" 'select(.type == "process" and .pid == $p) | "\(.event) \(.command) \(.reason)"' "$WLOG"
    assert_output "start bash null
exit bash exec
start make null
exit make exit"
    jq -r 'select(.type == "process" and .event == "start") | .command' "$WLOG" | grep -qE '^(cc|cc1|as|ld|collect2)$' ||
        fail "no compiler tracked"
}

@test "watch --tree of a parent and 50 children: every child engaged, each exact against its own truth, the total exact; --max-processes below the tree says so" {
    local k n=50
    family_start 64
    for ((k = 1; k <= n; k++)); do
        ffork
    done
    f_start watch --tree "$FPID" -i 100ms -f json "${RANGES[@]}"
    assert_equal "$(jq -r 'select(.type == "start") | "\(.workload) \(.processes)"' "$WLOG")" "tree $((n + 1))"

    # One round: each child its own private pages (overlapping addresses:
    # each process's own) and memfd pages overlapping its neighbours'.
    f_pause
    assert_equal "$(jq -r 'select(.type == "process" and .event == "start") | .pid' "$WLOG" | sort -n)" \
        "$(printf '%s\n' "$FPID" "${KID[@]}" | sort -n)"
    for ((k = 1; k <= n; k++)); do
        fcmd "write $k anon $((k % 40)) $((k % 7 + 1))"
        fcmd "write $k shared $((k % 48)) $((k % 3 + 1))"
    done
    fcmd "write 0 anon 0 3"
    f_resume
    # (checked with pagescan stopped: its records would pile up meanwhile)
    local s=$((WPAUSED + 1))
    f_pause
    members_exact $s $(seq 0 $n)
    assert_equal "$(iv_field $s '.processes | length')" $((n + 1))

    # A second round by every other child only: the rest report 0.
    for ((k = 2; k <= n; k += 2)); do
        fcmd "write $k anon $((k % 50)) 2"
    done
    f_resume
    s=$((WPAUSED + 1))
    f_pause
    members_exact $s $(seq 0 $n)
    f_finish INT
    assert_equal "$WSTATUS" 0
    assert_equal "$(jq -r 'select(.type == "end") | "\(.processes) \(.untracked_processes)"' "$WLOG")" "$((n + 1)) 0"
    no_uffd_anywhere "$FPID" "${KID[@]}"

    # A tree larger than --max-processes: the first 20 tracked, the others
    # listed with the reason, one warning naming the fix.
    run --separate-stderr "$PAGESCAN" watch --tree "$FPID" --max-processes 20 -n 1 -i 100ms -f json "${RANGES[@]}"
    assert_success
    [[ $stderr == *"more than 20 processes (--max-processes)"*"raise --max-processes"* ]] || fail "stderr: $stderr"
    assert_equal "$(without_machine_notes "$stderr" | grep -c 'pagescan: warning')" 1
    assert_equal "$(jq -r 'select(.type == "process" and .event == "start") | .pid' <<<"$output" | wc -l)" 20
    assert_equal "$(jq -r 'select(.type == "process" and .event == "skipped") | .reason' <<<"$output" | sort | uniq -c | awk '{ print $1, $2, $3, $4 }')" \
        "$((n + 1 - 20)) over --max-processes 20"
    assert_equal "$(jq -r 'select(.type == "end") | "\(.processes) \(.untracked_processes)"' <<<"$output")" "20 $((n + 1 - 20))"
}

@test "watch --tree: pagescan raises its soft limit of open files (41 processes under a soft 128); under a hard 160 the processes past it are listed with the fix, the watch goes on, and the members it reads without kept descriptors are exact" {
    local k n=40 hard
    hard=$(ulimit -Hn)
    [[ $hard == unlimited || $hard -ge 512 ]] || skip "this shell's hard limit of open files is $hard; the test needs 512"
    family_start 16
    for ((k = 1; k <= n; k++)); do
        ffork
    done
    # About 7 descriptors a process: 41 need more than 128. Its soft
    # limit is raised to the hard one (that of the commands it runs is not:
    # run.bats).
    run --separate-stderr bash -c 'ulimit -Sn 128 && exec "$@"' _ "$PAGESCAN" watch --tree "$FPID" -n 1 -i 100ms -f json "${RANGES[@]}"
    assert_success
    assert_equal "$(jq -r 'select(.type == "end") | "\(.reason) \(.processes) \(.untracked_processes)"' <<<"$output")" "count $((n + 1)) 0"
    assert_equal "$(without_machine_notes "$stderr")" ""

    # A hard limit: it keeps 32 descriptors free (a process more, its own)
    # and tracks what fits; the rest are listed with the reason, said once.
    run --separate-stderr bash -c 'ulimit -n 160 && exec "$@"' _ "$PAGESCAN" watch --tree "$FPID" -n 1 -i 100ms -f json "${RANGES[@]}"
    assert_success
    local tracked untracked
    read -r tracked untracked < <(jq -r 'select(.type == "end") | "\(.processes) \(.untracked_processes)"' <<<"$output")
    ((tracked >= 8 && untracked >= 8 && tracked + untracked == n + 1)) || fail "tracked $tracked, untracked $untracked"
    assert_equal "$(jq -r 'select(.type == "end") | .reason' <<<"$output")" count
    assert_equal "$(jq -r 'select(.type == "process" and .event == "skipped") | .reason' <<<"$output" | sort -u)" \
        "pagescan is near its limit of 160 open files (RLIMIT_NOFILE; it keeps about 7 per tracked process): raise its hard limit (ulimit -Hn, LimitNOFILE= in a service) or lower --max-processes"
    assert_equal "$(without_machine_notes "$stderr" | grep -c 'pagescan: warning: process .* is not tracked, nor others while this lasts (the output lists them): pagescan is near its limit of 160 open files')" 1
    assert_equal "$(without_machine_notes "$stderr" | wc -l)" 1
    no_uffd_anywhere "$FPID" "${KID[@]}"

    # Near that limit a member that is engaged with fewer descriptors free
    # than it keeps has its maps and stat read anew each time, none kept.
    # Which member that is depends on the limit modulo the ~7 descriptors a
    # member keeps: one of 7 limits in a row has such a member. Exact too.
    local real=$PAGESCAN k who p lim
    local -a tracked_pids=() kept=() unkept=()
    for ((lim = 160; lim < 167; lim++)); do
        PAGESCAN=bash f_start -c 'ulimit -n "$1" && shift && exec "$@"' _ "$lim" "$real" watch --tree "$FPID" -i 100ms -f json "${RANGES[@]}"
        f_pause
        mapfile -t tracked_pids < <(jq -r 'select(.type == "process" and .event == "start") | .pid' "$WLOG")
        kept=() unkept=()
        for p in "${tracked_pids[@]}"; do
            if find "/proc/$WPID/fd" -maxdepth 1 -lname "/proc/$p/maps" | grep -q .; then kept+=("$p"); else unkept+=("$p"); fi
        done
        ((${#kept[@]} > 0 && ${#unkept[@]} > 0)) && break
        f_finish INT
    done
    ((lim < 167)) || fail "under limits 160-166 pagescan kept maps open for every member it tracked"
    local -a whos=()
    for p in "${tracked_pids[@]}"; do
        who=-1
        [[ $p == "$FPID" ]] && who=0
        for ((k = 1; k <= n; k++)); do
            [[ ${KID[k]} == "$p" ]] && who=$k
        done
        ((who >= 0)) || fail "pagescan tracks $p, not of the family"
        whos+=("$who")
        fcmd "write $who anon $((who % 9)) $((who % 7 + 1))"
        fcmd "write $who shared $((who % 12)) $((who % 3 + 1))"
    done
    f_resume
    local s=$((WPAUSED + 1))
    f_pause
    members_exact $s "${whos[@]}"
    f_finish INT
    assert_equal "$WSTATUS" 0
    no_uffd_anywhere "$FPID" "${KID[@]}"
}

@test "watch PID PID PID: a MAP_SHARED file written by all three (one through a mapping of its own elsewhere) counts once, by file offset; copy-on-write private pages after fork are each process's own" {
    family_start 32 "$BATS_TEST_TMPDIR/data"
    [[ -n $FILEMAP ]] || fail "the family has no file mapping"
    # Written before the fork: after it, the private pages are shared
    # copy-on-write until either writes them, the file's are one page each.
    fcmd "write 0 anon 0 4"
    fcmd "write 0 file 20 2"
    ffork
    ffork
    fcmd "truth 0"
    # Child 2 maps the file a second time, at an address of its own.
    fcmd "mapfile 2"
    FILE2=${F_REPLY#ok }
    [[ $FILE2 != "$FILEMAP" ]] || fail "the second mapping of the file is at the same address"
    w_start watch "$FPID" "${KID[1]}" "${KID[2]}" -i 100ms -f json "${RANGES[@]}" -r "$FILEMAP+$((32 * PAGE_SIZE))" \
        -r "$FILE2+$((32 * PAGE_SIZE))"
    w_pause
    # file pages 0-5 by the parent, 3-9 by the child (3-5 by both), 20 by
    # both; the same 4 private pages by both (a copy each); 2 memfd pages
    fcmd "write 0 file 0 6"
    fcmd "write 1 file 3 7"
    fcmd "write 0 file 20 1"
    fcmd "write 1 file 20 1"
    fcmd "write 0 anon 0 4"
    fcmd "write 1 anon 0 4"
    fcmd "write 1 shared 0 2"
    # file pages 8-11 through child 2's own mapping of it: 8 and 9 are
    # child 1's pages too, by file offset
    fcmd "write 2 file2 8 4"
    w_resume
    local s=$((WPAUSED + 1))
    w_pause
    members_exact $s 0 1 2
    # private 4 + 4, shared: file 0-11 and 20 (13) + memfd 2, each once
    assert_equal "$(iv_field $s '"\(.written_pages) \(.shared_written_pages) \(.wss_pages) \(.shared_wss_pages)"')" "23 15 23 15"
    assert_equal "$(proc_field $s "$FPID" written_pages) $(proc_field $s "$FPID" shared_written_pages)" "11 7"
    assert_equal "$(proc_field $s "${KID[1]}" written_pages) $(proc_field $s "${KID[1]}" shared_written_pages)" "14 10"
    assert_equal "$(proc_field $s "${KID[2]}" written_pages) $(proc_field $s "${KID[2]}" shared_written_pages)" "4 4"
    # The file is named in every process's mappings.
    assert_equal "$(jq -r --argjson s $s 'select(.type == "interval" and .seq == $s) | .processes[].mappings[] | select(.mapping | endswith("/data")) | .written_pages' "$WLOG" | sort -n | tr '\n' ' ')" \
        "4 7 8 "

    # Again: nothing new to the working set, written pages still counted.
    fcmd "write 1 file 0 2"
    fcmd "write 0 file 8 2"
    fcmd "write 2 file2 0 1"
    w_resume
    s=$((WPAUSED + 1))
    w_pause
    members_exact $s 0 1 2
    assert_equal "$(iv_field $s '"\(.written_pages) \(.wss_pages)"')" "4 23"
    w_signal INT
    assert_equal "$WSTATUS" 0
    assert_equal "$(jq -r 'select(.type == "end") | "\(.wss_pages) \(.shared_wss_pages)"' "$WLOG")" "23 15"
}

@test "watch --tree: a child exiting between ticks keeps what was harvested up to its last tick; zombies (at the start, during the watch) are dropped without a warning" {
    family_start 32
    ffork
    ffork
    ffork
    fcmd "die 3"
    [[ $(w_state "${KID[3]}") == Z ]] || fail "child 3 is not a zombie: $(w_state "${KID[3]}")"
    w_start watch --tree "$FPID" -i 100ms -f json "${RANGES[@]}"
    assert_equal "$(jq -r 'select(.type == "start") | .processes' "$WLOG")" 3
    w_pause
    # The zombie is listed, with why.
    run jq -r --argjson p "${KID[3]}" 'select(.type == "process" and .pid == $p) | "\(.event) \(.reason)"' "$WLOG"
    assert_output "skipped process ${KID[3]} is a zombie (it exited and its parent has not reaped it); there is nothing to track"
    fcmd "write 1 anon 0 4"
    fcmd "write 1 shared 0 2"
    fcmd "write 2 anon 8 3"
    w_resume
    local s=$((WPAUSED + 1))
    w_pause
    members_exact $s 0 1 2

    # Child 1 writes and exits (reaped), child 2 writes and exits unreaped,
    # both before the next tick: what they wrote since is gone with them.
    fcmd "write 1 anon 10 5"
    fcmd "exit 1"
    fcmd "write 2 anon 20 2"
    fcmd "die 2"
    fcmd "write 0 anon 30 1"
    w_resume
    s=$((WPAUSED + 1))
    w_pause
    assert_equal "$(jq -r 'select(.type == "process" and .event == "exit") | "\(.pid) \(.reason) \(.wss_pages)"' "$WLOG" | sort -n)" \
        "$(printf '%s exit 6\n%s exit 3\n' "${KID[1]}" "${KID[2]}" | sort -n)"
    assert_equal "$(iv_field $s '"\(.written_pages) \(.wss_pages) \([.processes[].pid])"')" "1 10 [$FPID]"
    fcmd "reap 2"
    # A tick sees the zombie gone for good: nothing more about it.
    w_resume
    w_pause
    w_signal INT
    assert_equal "$WSTATUS" 0
    assert_equal "$(jq -r 'select(.type == "end") | "\(.wss_pages) \(.processes) \(.untracked_processes)"' "$WLOG")" "10 3 0"
    assert_equal "$(jq -r --argjson p "${KID[2]}" 'select(.type == "process" and .pid == $p) | .event' "$WLOG" | tr '\n' ' ')" "start exit "
    [[ $WSTDERR != *"not tracked"* && $WSTDERR != *zombie* && $WSTDERR != *dropped* ]] || fail "stderr: $WSTDERR"
}

@test "watch --tree on a process in a PID namespace of its own (a container's init): its children are engaged by their host PIDs, exact" {
    command -v unshare >/dev/null || skip "unshare (util-linux) is not installed"
    unshare --pid --fork --mount-proc true 2>/dev/null || skip "cannot create a PID namespace here"
    local u k h ns
    family_fifos
    # unshare forks the family into the new namespaces (pid 1 there) and
    # waits for it; --kill-child: it dies with unshare (the teardown kills it)
    unshare --pid --fork --kill-child --mount-proc "$TARGETS/family" "$FDIR/cmd" "$FDIR/reply" 32 \
        </dev/null >"$FDIR/stdout" 2>"$FDIR/stderr" 3>&- &
    u=$!
    bg_track "$u"
    family_connect 32
    FPID=$(<"/proc/$u/task/$u/children")
    FPID=${FPID//[^0-9]/}
    [[ $FPID =~ ^[0-9]+$ ]] || fail "no family under unshare $u ('$FPID')"
    [[ $(readlink "/proc/$FPID/ns/pid") != "$(readlink /proc/self/ns/pid)" ]] || fail "the family is in our PID namespace"
    assert_equal "$(awk '/^NSpid:/ { print $3 }' "/proc/$FPID/status")" 1
    ffork
    ffork
    # "fork" answers with the namespace's pids: the host's are its children
    declare -A host=()
    for h in $(<"/proc/$FPID/task/$FPID/children"); do
        ns=$(awk '/^NSpid:/ { print $3 }' "/proc/$h/status")
        host[$ns]=$h
    done
    for k in 1 2; do
        [[ -n ${host[${KID[k]}]:-} ]] || fail "no host pid for the namespace's ${KID[k]}"
        KID[k]=${host[${KID[k]}]}
    done

    w_start watch --tree "$FPID" -i 100ms -f json "${RANGES[@]}"
    assert_equal "$(jq -r 'select(.type == "start") | "\(.pid) \(.processes)"' "$WLOG")" "$FPID 3"
    w_pause
    fcmd "write 0 anon 0 2"
    fcmd "write 1 anon 0 3"
    fcmd "write 1 shared 0 4"
    fcmd "write 2 shared 2 4"
    w_resume
    local s=$((WPAUSED + 1))
    w_pause
    members_exact $s 0 1 2
    assert_equal "$(iv_field $s '"\(.written_pages) \(.shared_written_pages)"')" "11 6"
    # A child forked in the namespace during the watch: engaged at the next
    # tick by its host pid.
    ffork
    w_resume
    w_until_line '"event":"start"'
    h=$(jq -r 'select(.type == "process" and .event == "start") | .pid' "$WLOG" | tail -n 1)
    assert_equal "$(awk '/^NSpid:/ { print $3 }' "/proc/$h/status")" "${KID[3]}"
    KID[3]=$h
    w_pause
    fcmd "write 3 anon 5 5"
    w_resume
    s=$((WPAUSED + 1))
    w_pause
    members_exact $s 0 1 2 3
    w_signal INT
    assert_equal "$WSTATUS" 0
    assert_equal "$(jq -r 'select(.type == "end") | "\(.wss_pages) \(.processes) \(.untracked_processes)"' "$WLOG")" "16 4 0"
    no_uffd_anywhere "$FPID" "${KID[@]}"
}

@test "run: a parent forking 50 children, each exact from its first instruction against its own truth, the workload's distinct pages exact" {
    local k n=50
    family_fifos
    f_start run -i 100ms -f json -- "$TARGETS/family" "$FDIR/cmd" "$FDIR/reply" 64
    FPID=$(jq -r 'select(.type == "start") | .pid' "$WLOG")
    FAMILY_STDERR=$WDIR/stderr
    family_connect 64
    for ((k = 1; k <= n; k++)); do
        ffork
        # at once, before it is harvested once
        fcmd "write $k anon $((k % 40)) $((k % 7 + 1))"
    done
    for ((k = 1; k <= n; k++)); do
        fcmd "write $k shared $((k % 48)) $((k % 3 + 1))"
    done
    fcmd "write 0 anon 0 3"
    # Every member's truth, then all exit (each harvested at its exit stop).
    members_truths $(seq 0 $n)
    printf 'quit\n' >&"$FCMD_FD"
    f_finish
    assert_equal "$WSTATUS" 0
    assert_equal "$(jq -r 'select(.type == "end") | "\(.reason) \(.processes) \(.untracked_processes) \(.exit_status)"' "$WLOG")" \
        "target-exit $((n + 1)) 0 0"
    assert_equal "$(jq -r 'select(.type == "process" and .event == "exit") | .pid' "$WLOG" | sort -n)" \
        "$(printf '%s\n' "$FPID" "${KID[@]}" | sort -n)"
    members_exact all
}
