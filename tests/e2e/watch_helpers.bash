# SPDX-License-Identifier: MIT
# Helpers for the watch/run end-to-end suites (watch.bats, run.bats).
# Load after common: `load common` then `load watch_helpers`.
#
# A watch runs in the background with its standard output into a fifo that
# this shell reads line by line (w_line), so a test knows which intervals
# pagescan has reported. Interval boundaries are made deterministic by
# pausing pagescan (SIGSTOP) while it is idle in poll(), with every record
# so far read: the victim then writes a round, and the next harvest (the
# next interval, seq+1) starts only after SIGCONT. No sleeps for
# synchronisation: waits are on fifo reads (with a timeout) and on
# /proc/PID/stat state changes.

# ---------------------------------------------------------------------------
# Background pagescan with its output read through a fifo

# w_start ARGS...: run "$PAGESCAN ARGS..." in the background (stdout into a
# fifo read by this shell, stderr into $WDIR/stderr); read its first line.
# Sets WPID, WFD, WLOG (every line read, in order), WSEQ (last interval seq
# seen), WEND (set once an end record is read), WEOF.
w_start() {
    WDIR=$BATS_TEST_TMPDIR/w
    mkdir -p "$WDIR"
    WLOG=$WDIR/out
    : >"$WLOG"
    : >"$WDIR/rounds"
    rm -f "$WDIR/fifo"
    mkfifo "$WDIR/fifo"
    WSEQ=0 WEND='' WEOF='' WPAUSED='' WSTATUS=''
    # 3>&-: bats waits for fd 3 to close; pagescan must not hold it.
    "$PAGESCAN" "$@" >"$WDIR/fifo" 2>"$WDIR/stderr" 3>&- &
    WPID=$! W_PARENT=$BASHPID
    # Blocks until the background shell opened the write end (always: the
    # redirection happens before pagescan runs).
    exec {WFD}<"$WDIR/fifo"
    w_line || {
        fail "pagescan $* printed nothing (stderr: $(cat "$WDIR/stderr"))"
        return 1
    }
}

# w_line: read one line of pagescan's output (timeout WTIMEOUT, default 30 s)
# into W_LINE and append it to WLOG; track seq and end. Fails (returns 1)
# at EOF (WEOF=1) or on timeout (WEOF empty).
w_line() {
    local LC_ALL=C rc=0
    W_LINE=
    IFS= read -r -t "${WTIMEOUT:-30}" -u "$WFD" W_LINE || rc=$?
    if ((rc != 0)); then
        # A partial last line is kept for the format checks.
        [[ -z $W_LINE ]] || printf '%s' "$W_LINE" >>"$WLOG"
        ((rc > 128)) || WEOF=1
        return 1
    fi
    printf '%s\n' "$W_LINE" >>"$WLOG"
    if [[ $W_LINE =~ ^\{\"type\":\"interval\",\"seq\":([0-9]+) ]]; then
        WSEQ=${BASH_REMATCH[1]}
    elif [[ $W_LINE == '{"type":"end"'* || $W_LINE == 'end: '* ]]; then
        WEND=1
    elif [[ $W_LINE =~ ^([0-9]+), || $W_LINE =~ ^#([0-9]+)\  ]]; then
        WSEQ=${BASH_REMATCH[1]}
    fi
    return 0
}

# w_until_seq N: read until the interval with seq >= N has been read.
w_until_seq() {
    while ((WSEQ < $1)); do
        if [[ -n $WEND ]]; then
            fail "pagescan ended (after seq $WSEQ) before interval $1: $(tail -n 1 "$WLOG")"
            return 1
        fi
        w_line || {
            fail "pagescan: no interval $1 (last seq $WSEQ, $([[ -n $WEOF ]] && echo EOF || echo timeout); stderr: $(cat "$WDIR/stderr"))"
            return 1
        }
    done
}

# w_kill SIG: send SIG to pagescan, only if WPID is still our child (pid_max
# may be small: a reaped pid can soon name someone else's process).
w_kill() {
    local st ppid
    [[ -n ${WPID:-} ]] || return 1
    st=$(cat "/proc/$WPID/stat" 2>/dev/null) || return 1
    read -r _ ppid _ <<<"${st##*) }"
    [[ $ppid == "$W_PARENT" ]] || return 1
    kill "-$1" "$WPID" 2>/dev/null
}

# w_state PID: the state letter of /proc/PID/stat (empty when gone).
w_state() {
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    s=${s##*) }
    printf '%s' "${s%% *}"
}

# w_wait_stopped PID: wait (up to 10 s) until PID is in stopped state.
w_wait_stopped() {
    local i st
    for ((i = 0; i < 5000; i++)); do
        st=$(w_state "$1")
        [[ $st == T || $st == t ]] && return 0
        [[ -n $st && $st != Z ]] || { fail "process $1 is gone"; return 1; }
        sleep 0.002
    done
    fail "process $1 did not stop (state $st)"
}

# w_drain: read every line already in the fifo (only when pagescan cannot
# be in the middle of writing one).
w_drain() {
    while read -t 0 -u "$WFD" 2>/dev/null; do
        w_line || return 0
    done
}

# w_pause: stop pagescan while it waits in poll() between two ticks, with
# all its records so far read. Then nothing written from now on can be in
# interval WPAUSED (= WSEQ) or earlier, and all of it until w_resume is in
# interval WPAUSED+1 or later.
w_pause() {
    local i nr f idle_pc= pc
    for ((i = 0; i < 100; i++)); do
        if [[ $(uname -m) == aarch64 ]]; then
            # arm64 forgets the syscall of a thread that a signal stops in
            # it (the number reads -1, pc is moved back onto its svc):
            # remember where pagescan blocks in ppoll while it runs.
            read -r -a f <"/proc/$WPID/syscall" 2>/dev/null || f=()
            [[ ${f[0]:-} == "$PS_NR_PPOLL" ]] && idle_pc=$(printf '0x%x' $((f[8] - 4)))
        fi
        w_kill STOP || {
            fail "pagescan is gone: $(cat "$WDIR/stderr")"
            return 1
        }
        w_wait_stopped "$WPID" || return 1
        nr= pc=
        read -r -a f <"/proc/$WPID/syscall" 2>/dev/null || f=()
        nr=${f[0]:-}
        [[ $nr == -1 ]] && pc=${f[2]:-}
        # in poll or ppoll (PS_NR): all of the last tick's output is written
        if [[ $nr == "$PS_NR_POLL" || $nr == "$PS_NR_PPOLL" || (-n $idle_pc && $pc == "$idle_pc") ]]; then
            w_drain
            if [[ -n $WEND || -n $WEOF ]]; then
                fail "pagescan ended while being paused: $(tail -n 1 "$WLOG")"
                return 1
            fi
            WPAUSED=$WSEQ
            return 0
        fi
        # caught in a tick: let it finish it and try again
        w_kill CONT
        w_line || {
            fail "pagescan: no output after a pause (stderr: $(cat "$WDIR/stderr"))"
            return 1
        }
    done
    fail "could not catch pagescan idle in poll() in 100 tries"
}

# w_resume: let pagescan go on; wait for the interval after the pause.
w_resume() {
    w_kill CONT
    w_until_seq $((WPAUSED + 1))
}

# w_round K CMD...: a write round: with pagescan paused, mark, run the
# victim commands, save the truth to $WDIR/round.K, resume. Records
# "SEQ TRUTHFILE" in $WDIR/rounds: the round must be exactly the test
# mappings' part of interval SEQ.
w_round() {
    local k=$1 c
    shift
    w_pause || return 1
    vcmd mark || return 1
    for c in "$@"; do
        vcmd "$c" || return 1
    done
    victim_truth "$WDIR/round.$k" || return 1
    echo "$((WPAUSED + 1)) $WDIR/round.$k" >>"$WDIR/rounds"
    w_resume
}

# w_finish: read the rest of the output up to EOF, reap pagescan; sets
# WSTATUS (its exit status) and WSTDERR.
w_finish() {
    while [[ -z $WEOF ]]; do
        w_line || [[ -n $WEOF ]] || {
            fail "pagescan did not finish within ${WTIMEOUT:-30}s (last: $(tail -c 300 "$WLOG"))"
            return 1
        }
    done
    WSTATUS=0
    wait "$WPID" || WSTATUS=$?
    WPID=
    exec {WFD}<&-
    WFD=
    WSTDERR=$(cat "$WDIR/stderr")
}

# w_signal SIG: send SIG to pagescan (also when paused) and finish.
# SIGCONT goes only to a stopped pagescan: one that reaches it while it exits
# cancels the SIGSTOP of LeakSanitizer's stop-the-world in an ASan build,
# which then waits for that stop forever (the test times out after 30 s).
w_signal() {
    local state
    state=$(w_state "$WPID")
    if ! w_kill "$1"; then
        w_finish
        fail "pagescan exited (status $WSTATUS) before SIG$1 was sent; stderr: $WSTDERR; last: $(tail -c 300 "$WLOG")"
        return 1
    fi
    if [[ $state == T ]]; then
        w_kill CONT || true
    fi
    w_finish
}

# w_cleanup: for teardown.
w_cleanup() {
    if [[ -n ${WPID:-} ]]; then
        w_kill KILL || true
        wait "$WPID" 2>/dev/null || true
        WPID=
    fi
    if [[ -n ${WFD:-} ]]; then
        exec {WFD}<&- 2>/dev/null || true
        WFD=
    fi
}

# w_end_field KEY [FILE]: a field of the end record.
w_end_field() {
    jq -r --arg k "$1" 'select(.type == "end") | .[$k]' "${2:-$WLOG}"
}

# w_jq_lines [FILE]: every line is one JSON object (jq), no other output.
w_jq_lines() {
    local f=${1:-$WLOG} n v
    n=$(wc -l <"$f")
    if ! v=$(jq -c 'type' "$f" 2>&1); then
        fail "$(printf 'jq cannot parse %s: %s\nfirst lines:\n%s' "$f" "$v" "$(head -c 2000 "$f")")"
        return 1
    fi
    if [[ $(grep -cx '"object"' <<<"$v") != "$n" || $(wc -l <<<"$v") != "$n" ]]; then
        fail "$f: $n lines but $(grep -cx '"object"' <<<"$v") JSON objects"
        return 1
    fi
}

# ---------------------------------------------------------------------------
# The checker of a watch/run JSON Lines report (python3: exact sets)

# w_check [OPTION...]: check $WLOG (or --log FILE); fails the test with the
# problems found. Always: every line strict UTF-8 JSON (and jq parses it);
# start first, end last, intervals seq 1..N; fields, types, addresses
# (lowercase, unpadded hex), region pages, sorted disjoint regions; sums;
# time_s steps equal elapsed_s; rates equal pages/elapsed; wss_pages is the
# size of the union so far; end totals; tracked_pages follows engaged and
# dropped; every region lies in a tracked range (or was engaged at that
# tick). Options:
#   --windows "S-E ..."   the test mappings
#   --rounds FILE         lines "SEQ TRUTH": inside the windows, interval SEQ
#                         is exactly TRUTH, and intervals that are no
#                         round's are empty (cumulative with --accumulate)
#   --union FILE          the union of all intervals inside the windows is
#                         exactly FILE
#   --once                inside the windows no page is in two intervals
#   --accumulate          the report is --accumulate
#   --untracked-ok        allow regions outside tracked ranges (run: new
#                         read-only mappings like RELRO may hold pages
#                         written before they were made read-only)
#   --reason R            the end reason must be R
w_check() {
    local log=$WLOG a=() out
    while (($#)); do
        case $1 in
        --log) log=$2; shift 2 ;;
        *) a+=("$1"); shift ;;
        esac
    done
    w_jq_lines "$log" || return 1
    if ! out=$(python3 -S -c "$W_PYCHECK" "$log" "${a[@]}" 2>&1); then
        fail "$(printf 'watch report %s is wrong:\n%s' "$log" "$(head -n 60 <<<"$out")")"
        return 1
    fi
}

W_PYCHECK='
import bisect, json, math, os, re, sys

log = sys.argv[1]
opts = sys.argv[2:]
windows, rounds, union_file = [], [], None
once = accumulate = untracked_ok = False
want_reason = None
i = 0
while i < len(opts):
    o = opts[i]
    if o == "--windows":
        for w in opts[i + 1].split():
            s, e = w.split("-")
            windows.append((int(s, 16), int(e, 16)))
        i += 2
    elif o == "--rounds":
        for ln in open(opts[i + 1]):
            if ln.strip():
                seq, path = ln.split(None, 1)
                rounds.append((int(seq), path.strip()))
        i += 2
    elif o == "--union":
        union_file = opts[i + 1]; i += 2
    elif o == "--reason":
        want_reason = opts[i + 1]; i += 2
    elif o == "--once":
        once = True; i += 1
    elif o == "--accumulate":
        accumulate = True; i += 1
    elif o == "--untracked-ok":
        untracked_ok = True; i += 1
    else:
        sys.exit("w_check: unknown option " + o)

problems = []
def bad(msg):
    problems.append(msg)

PAGE = int(os.environ.get("PAGE_SIZE", "4096"))  # the page size of the kernel (common.bash)
HEX = re.compile(r"0x(0|[1-9a-f][0-9a-f]*)\Z")

def merge(rs):
    out = []
    for s, e in sorted(rs):
        if s >= e:
            continue
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1][1] = e
        else:
            out.append([s, e])
    return [tuple(r) for r in out]

def pages(rs):
    return sum(e - s for s, e in rs) // PAGE

def subtract(a, b):
    out = []
    for s, e in a:
        cur = s
        for bs, be in b:
            if be <= cur or bs >= e:
                continue
            if bs > cur:
                out.append((cur, bs))
            cur = max(cur, be)
        if cur < e:
            out.append((cur, e))
    return out

def intersect(a, b):
    out = []
    for s, e in a:
        for bs, be in b:
            lo, hi = max(s, bs), min(e, be)
            if lo < hi:
                out.append((lo, hi))
    return merge(out)

def covered(rs, s, e):
    starts = [r[0] for r in rs]
    k = bisect.bisect_right(starts, s) - 1
    return k >= 0 and rs[k][0] <= s and rs[k][1] >= e

def fmt(rs, n=6):
    t = " ".join("%#x-%#x" % r for r in rs[:n])
    return t + (" ... (%d ranges)" % len(rs) if len(rs) > n else "")

def read_truth(path):
    rs = []
    for ln in open(path):
        w = ln.split()
        if w:
            rs.append((int(w[0], 16), int(w[1], 16)))
    return merge(rs)

def addr(o, k, where):
    v = o.get(k)
    if not isinstance(v, str) or not HEX.match(v):
        bad("%s: %s is not lowercase unpadded hex: %r" % (where, k, v))
        return None
    return int(v, 16)

def isint(v):
    return isinstance(v, int) and not isinstance(v, bool)

def isnum(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)

def spans(lst, where, with_pages, with_reason):
    out = []
    if not isinstance(lst, list):
        bad("%s is not a list" % where)
        return out
    for x in lst:
        if not isinstance(x, dict):
            bad("%s: entry is not an object" % where); continue
        s, e = addr(x, "start", where), addr(x, "end", where)
        if not isinstance(x.get("mapping"), str):
            bad("%s: mapping is not a string: %r" % (where, x))
        if (with_pages or "pages" in x) and (not isint(x.get("pages")) or (s is not None and e is not None and x["pages"] != (e - s) // PAGE)):
            bad("%s: pages %r wrong for %r" % (where, x.get("pages"), x))
        if with_reason and not (isinstance(x.get("reason"), str) and x["reason"]):
            bad("%s: no reason in %r" % (where, x))
        if s is not None and e is not None:
            if s >= e or s % PAGE or e % PAGE:
                bad("%s: bad span %#x-%#x" % (where, s, e))
            else:
                out.append((s, e))
    return out

def reject_constant(c):
    raise ValueError("non-JSON constant " + c)

raw = open(log, "rb").read()
if not raw:
    print("empty report"); sys.exit(1)
if not raw.endswith(b"\n"):
    bad("the last line is not terminated by a newline")
recs = []
for n, b in enumerate(raw.split(b"\n")[:-1] if raw.endswith(b"\n") else raw.split(b"\n"), 1):
    try:
        t = b.decode("utf-8")
    except UnicodeDecodeError as ex:
        bad("line %d is not valid UTF-8: %s" % (n, ex)); continue
    try:
        o = json.loads(t, parse_constant=reject_constant)
    except ValueError as ex:
        bad("line %d is not JSON: %s: %r" % (n, ex, t[:200])); continue
    if not isinstance(o, dict):
        bad("line %d is not an object" % n); continue
    recs.append(o)
if problems:
    print("\n".join(problems)); sys.exit(1)

if not recs or recs[0].get("type") != "start":
    bad("the first record is not the start record")
if not recs or recs[-1].get("type") != "end":
    bad("the last record is not an end record")
if problems:
    print("\n".join(problems)); sys.exit(1)
start, end, ivs = recs[0], recs[-1], recs[1:-1]
for o in ivs:
    if o.get("type") != "interval":
        bad("unexpected record type %r between start and end" % o.get("type"))

# start record
if start.get("format_version") != 1: bad("start: format_version %r" % start.get("format_version"))
if not isinstance(start.get("pagescan"), str): bad("start: pagescan version missing")
if not isint(start.get("pid")) or start["pid"] <= 0: bad("start: pid %r" % start.get("pid"))
if not isinstance(start.get("command"), str): bad("start: command %r" % start.get("command"))
if not isnum(start.get("interval_s")) or start["interval_s"] <= 0: bad("start: interval_s %r" % start.get("interval_s"))
if start.get("page_size") != PAGE: bad("start: page_size %r" % start.get("page_size"))
if start.get("mode") != ("accumulate" if accumulate else "interval"): bad("start: mode %r" % start.get("mode"))
eng0 = spans(start.get("engaged"), "start engaged", True, False)
spans(start.get("skipped"), "start skipped", True, True)
tracked = merge(eng0)
ever = list(tracked)
if pages(tracked) != sum(e - s for s, e in eng0) // PAGE:
    bad("start: engaged spans overlap: %s" % fmt(sorted(eng0)))
if start.get("tracked_pages") != pages(tracked):
    bad("start: tracked_pages %r, engaged spans hold %d" % (start.get("tracked_pages"), pages(tracked)))

wins = merge(windows)
wss = []
wss_base = 0  # run: pages of the images before the last exec (other address spaces)
prev_time = 0.0
prev_wss = 0
prev_regs = []
got = {}
sum_in_windows = 0
rates = []
totals = {}
for j, o in enumerate(ivs, 1):
    w = "interval %d" % j
    if o.get("seq") != j:
        bad("%s: seq is %r" % (w, o.get("seq"))); break
    typeok = True
    for k in ("written_pages", "written_bytes", "harvest_us", "tracked_pages", "wss_pages",
              "discarded_pages", "zero_read_pages", "ksm_merged_pages", "thp_filled_pages",
              "remapped_pages"):
        if not isint(o.get(k)) or o[k] < 0:
            bad("%s: %s = %r" % (w, k, o.get(k))); typeok = False
    for k in ("time_s", "elapsed_s", "rate_pages_s", "rate_mib_s"):
        if not isnum(o.get(k)) or o[k] < 0:
            bad("%s: %s = %r" % (w, k, o.get(k))); typeok = False
    if not typeok:
        break
    wp, el = o["written_pages"], o["elapsed_s"]
    if o["written_bytes"] != wp * PAGE: bad("%s: written_bytes %d != %d pages * %d" % (w, o["written_bytes"], wp, PAGE))
    if el <= 0: bad("%s: elapsed_s %r" % (w, el))
    if abs(o["time_s"] - prev_time - el) > 3e-6:
        bad("%s: time_s %.6f - previous %.6f != elapsed_s %.6f" % (w, o["time_s"], prev_time, el))
    prev_time = o["time_s"]
    regs = []
    last_end = 0
    for r in o.get("regions") if isinstance(o.get("regions"), list) else []:
        s, e = addr(r, "start", w + " region"), addr(r, "end", w + " region")
        if s is None or e is None:
            continue
        if s >= e or s % PAGE or e % PAGE:
            bad("%s: bad region %#x-%#x" % (w, s, e)); continue
        if r.get("pages") != (e - s) // PAGE:
            bad("%s: region %#x-%#x says %r pages" % (w, s, e, r.get("pages")))
        if not isinstance(r.get("mapping"), str) or not r["mapping"]:
            bad("%s: region %#x-%#x has no mapping name" % (w, s, e))
        if s < last_end:
            bad("%s: region %#x-%#x overlaps or is out of order" % (w, s, e))
        last_end = e
        regs.append((s, e))
    if not isinstance(o.get("regions"), list): bad("%s: regions is not a list" % w)
    regs = merge(regs)
    if pages(regs) != wp:
        bad("%s: written_pages %d but the regions hold %d pages" % (w, wp, pages(regs)))
    msum = 0
    mprev = -1
    for m in o.get("mappings") if isinstance(o.get("mappings"), list) else []:
        ms = addr(m, "start", w + " mappings")
        if not isinstance(m.get("mapping"), str) or not isint(m.get("written_pages")) or m["written_pages"] <= 0:
            bad("%s: bad mappings entry %r" % (w, m)); continue
        if ms is not None:
            if ms < mprev: bad("%s: mappings not sorted by address" % w)
            mprev = ms
        msum += m["written_pages"]
        key = (m.get("start"), m["mapping"])
        totals[key] = totals.get(key, 0) + m["written_pages"]
    if msum != wp:
        bad("%s: mappings add up to %d pages, written_pages is %d" % (w, msum, wp))
    ex = o.get("exec")
    if ex is not None:
        if not isinstance(ex, dict) or not isint(ex.get("pid")) or ex["pid"] <= 0 or \
           not isinstance(ex.get("command"), str) or not isint(ex.get("execs")) or ex["execs"] < 1:
            bad("%s: bad exec %r" % (w, ex))
        else:
            # a new address space: tracking starts again from its first
            # snapshot, and the wss goes on as a sum over the images
            tracked = merge(spans(ex.get("engaged"), w + " exec engaged", True, False))
            spans(ex.get("skipped"), w + " exec skipped", True, True)
            ever = list(tracked)
            wss_base += pages(wss)
            wss, prev_regs = [], []
    eng = spans(o.get("engaged"), w + " engaged", True, False)
    drop = spans(o.get("dropped"), w + " dropped", False, False)
    # what may be reported: tracked before this tick, or engaged at it
    allowed = merge(tracked + eng)
    ever = merge(ever + eng)
    if not untracked_ok:
        for s, e in regs:
            if not covered(ever if accumulate else allowed, s, e):
                outside = subtract([(s, e)], ever if accumulate else allowed)
                bad("%s: pages outside every tracked range reported: %s" % (w, fmt(outside)))
    tracked = merge(subtract(tracked, merge(drop)) + eng)
    if o["tracked_pages"] != pages(tracked):
        bad("%s: tracked_pages %d, but start + engaged - dropped = %d pages" % (w, o["tracked_pages"], pages(tracked)))
    if accumulate:
        if subtract(prev_regs, regs):
            bad("%s: the cumulative set lost pages: %s" % (w, fmt(subtract(prev_regs, regs))))
        if o["wss_pages"] != wss_base + wp:
            bad("%s: accumulate: wss_pages %d != written_pages %d (+ %d before the last exec)" % (w, o["wss_pages"], wp, wss_base))
        fresh = o["wss_pages"] - prev_wss
        wss = regs
    else:
        wss = merge(wss + regs)
        if o["wss_pages"] != wss_base + pages(wss):
            bad("%s: wss_pages %d, the union of all intervals so far holds %d (+ %d before the last exec)" % (w, o["wss_pages"], pages(wss), wss_base))
        fresh = wp
    if o["wss_pages"] < prev_wss:
        bad("%s: wss_pages decreased (%d -> %d)" % (w, prev_wss, o["wss_pages"]))
    if el > 0:
        # elapsed_s is rounded to 1 us: the rate lies between these
        lo, hi = fresh / (el + 5e-7), fresh / max(el - 5e-7, 1e-9)
        r = o["rate_pages_s"]
        if r < lo * (1 - 1e-4) - 0.051 or r > hi * (1 + 1e-4) + 0.051:
            bad("%s: rate_pages_s %r, %d pages / %.6f s = %.3f" % (w, r, fresh, el, fresh / el))
        # both are rounded (0.001 MiB/s, 0.1 pages/s)
        if abs(o["rate_mib_s"] - o["rate_pages_s"] * PAGE / 1048576) > 0.0005 + 0.05 * PAGE / 1048576 + 1e-6 + 1e-6 * o["rate_mib_s"]:
            bad("%s: rate_mib_s %r does not match rate_pages_s %r" % (w, o["rate_mib_s"], o["rate_pages_s"]))
    rates.append(o["rate_pages_s"])
    prev_wss, prev_regs = o["wss_pages"], regs
    inside = intersect(regs, wins)
    got[j] = inside
    sum_in_windows += pages(inside)

# end record
n = len(ivs)
reasons = ("count", "duration", "signal", "target-exit", "target-exec", "error")
if end.get("reason") not in reasons: bad("end: reason %r" % end.get("reason"))
if want_reason and end.get("reason") != want_reason:
    bad("end: reason %r, expected %r (detail %r)" % (end.get("reason"), want_reason, end.get("detail")))
if end.get("intervals") != n: bad("end: intervals %r, %d interval records" % (end.get("intervals"), n))
if not isnum(end.get("duration_s")) or end["duration_s"] + 1e-6 < prev_time:
    bad("end: duration_s %r shorter than the last time_s %.6f" % (end.get("duration_s"), prev_time))
if not isint(end.get("wss_pages")) or end["wss_pages"] != wss_base + pages(wss):
    bad("end: wss_pages %r, the union of all intervals holds %d (+ %d before the last exec)" % (end.get("wss_pages"), pages(wss), wss_base))
elif end.get("wss_bytes") != end["wss_pages"] * PAGE:
    bad("end: wss_bytes %r" % end.get("wss_bytes"))
rs = end.get("rate_pages_s")
if not isinstance(rs, dict) or not all(isnum(rs.get(k)) for k in ("mean", "p50", "p95", "max")):
    bad("end: rate_pages_s %r" % rs)
elif rates:
    if abs(rs["max"] - max(rates)) > 0.051: bad("end: max rate %r, intervals max %r" % (rs["max"], max(rates)))
    # both sides are rounded to one decimal: up to 0.1 apart
    if abs(rs["mean"] - sum(rates) / len(rates)) > 0.1 + 1e-4 * rs["mean"]:
        bad("end: mean rate %r, intervals mean %.2f" % (rs["mean"], sum(rates) / len(rates)))
    if not (min(rates) - 0.051 <= rs["p50"] <= rs["p95"] + 1e-9 <= rs["max"] + 0.051):
        bad("end: rate percentiles out of order: %r" % rs)
hot = end.get("hottest")
if not isinstance(hot, list) or len(hot) > 5:
    bad("end: hottest %r" % hot)
else:
    for k, h in enumerate(hot):
        if not isinstance(h, dict) or not isint(h.get("written_pages")) or not isinstance(h.get("mapping"), str):
            bad("end: hottest entry %r" % h); continue
        addr(h, "start", "end hottest")
        # by distinct pages, then page-writes (written_pages keeps its old
        # meaning: summed over the intervals; accumulate: distinct)
        if not isint(h.get("distinct_pages")) or not 0 <= h["distinct_pages"] <= h["written_pages"]:
            bad("end: hottest %s: distinct_pages %r, written_pages %r" % (h["mapping"], h.get("distinct_pages"), h["written_pages"]))
        elif k and (h["distinct_pages"], h["written_pages"]) > (hot[k - 1].get("distinct_pages", 0), hot[k - 1].get("written_pages", 0)):
            bad("end: hottest not sorted by distinct pages, then page-writes")
        if not accumulate and h.get("page_writes") != h["written_pages"]:
            bad("end: hottest %s: page_writes %r, written_pages %r" % (h["mapping"], h.get("page_writes"), h["written_pages"]))
        if accumulate and "page_writes" in h:
            bad("end: accumulate: hottest has page_writes (re-writes are not seen)")
        if not accumulate:
            want = totals.get((h.get("start"), h["mapping"]))
            if want != h["written_pages"]:
                bad("end: hottest %s at %s: %d pages, the intervals add up to %r" % (h["mapping"], h.get("start"), h["written_pages"], want))
        else:
            # the cumulative count of that mapping, never more
            last = {}
            if ivs:
                for m in ivs[-1].get("mappings", []):
                    last[(m.get("start"), m.get("mapping"))] = m.get("written_pages")
            want = last.get((h.get("start"), h["mapping"]))
            if want is not None and h["written_pages"] != want:
                bad("end: accumulate: hottest %s at %s: %d pages, its cumulative count is %d" % (h["mapping"], h.get("start"), h["written_pages"], want))
    if not accumulate and totals and len(totals) <= 5:
        if sorted((h.get("start"), h["mapping"]) for h in hot if isinstance(h, dict)) != sorted(totals):
            bad("end: hottest %r, the written mappings are %r" % ([(h.get("start"), h.get("mapping")) for h in hot], sorted(totals)))
    if end.get("hottest_by") != "distinct_pages":
        bad("end: hottest_by %r" % end.get("hottest_by"))

# exact sets inside the test mappings
if rounds:
    byseq = {}
    for seq, path in rounds:
        byseq.setdefault(seq, []).extend(read_truth(path))
    for j in range(1, n + 1):
        if accumulate:
            exp = merge([r for seq, rs in byseq.items() if seq <= j for r in rs])
        else:
            exp = merge(byseq.get(j, []))
        g = got.get(j, [])
        if g != exp:
            bad("interval %d (inside the test mappings): expected %d pages, pagescan %d; missing %s; extra %s"
                % (j, pages(exp), pages(g), fmt(subtract(exp, g)) or "-", fmt(subtract(g, exp)) or "-"))
    for seq, _ in rounds:
        if seq > n:
            bad("round harvested at interval %d, but there are only %d intervals" % (seq, n))
if union_file:
    exp = read_truth(union_file)
    u = merge([r for rs in got.values() for r in rs])
    if u != exp:
        bad("union of all intervals (inside the test mappings): expected %d pages, pagescan %d; missing %s; extra %s"
            % (pages(exp), pages(u), fmt(subtract(exp, u)) or "-", fmt(subtract(u, exp)) or "-"))
if once:
    u = merge([r for rs in got.values() for r in rs])
    if sum_in_windows != pages(u):
        bad("pages written once are reported %d times in all, %d distinct" % (sum_in_windows, pages(u)))
if problems:
    print("\n".join(problems[:60]))
    sys.exit(1)
'

# w_windows [NAME...]: the victim mappings as one "S-E S-E ..." word list.
w_windows() {
    victim_windows "$@" | tr '\n' ' '
}

# ---------------------------------------------------------------------------
# CSV and text shape

# w_check_csv FILE: a CSV parser (python3 csv) reads the header and a
# constant 13 columns on every row; seq runs 1..N; numbers parse; bytes are
# pages * PAGE_SIZE. Prints the rows' top_mapping values to $FILE.top.
w_check_csv() {
    local out
    if ! out=$(python3 -S -c '
import csv, os, sys
f = sys.argv[1]
PAGE = int(os.environ.get("PAGE_SIZE", "4096"))
problems = []
hdr = "seq,time_s,elapsed_s,written_pages,written_bytes,rate_pages_s,rate_mib_s,harvest_us,tracked_pages,wss_pages,regions,top_mapping,top_mapping_pages,discarded_pages,zero_read_pages,ksm_merged_pages,thp_filled_pages,remapped_pages,interval_s,stretched,overhead_faults,overhead_fault_s,overhead_share,overhead_cpu_share,over_budget".split(",")
with open(f, encoding="utf-8", errors="strict", newline="") as fh:
    try:
        rows = list(csv.reader(fh, strict=True))
    except (csv.Error, UnicodeDecodeError) as ex:
        print("not parseable CSV: %s" % ex); sys.exit(1)
if not rows or rows[0] != hdr:
    problems.append("header is %r" % (rows[0] if rows else None))
tops = []
for n, r in enumerate(rows[1:], 1):
    if len(r) != len(hdr):
        problems.append("row %d has %d columns, not %d: %r" % (n, len(r), len(hdr), r)); continue
    d = dict(zip(hdr, r))
    try:
        if int(d["seq"]) != n: problems.append("row %d: seq %s" % (n, d["seq"]))
        for k in ("written_pages", "written_bytes", "harvest_us", "tracked_pages", "wss_pages", "regions", "top_mapping_pages",
                  "discarded_pages", "zero_read_pages", "ksm_merged_pages", "thp_filled_pages", "remapped_pages"):
            if int(d[k]) < 0: problems.append("row %d: %s negative" % (n, k))
        for k in ("time_s", "elapsed_s", "rate_pages_s", "rate_mib_s"):
            float(d[k])
        if int(d["written_bytes"]) != PAGE * int(d["written_pages"]): problems.append("row %d: bytes != pages*%d" % (n, PAGE))
        if int(d["written_pages"]) > 0 and (not d["top_mapping"] or int(d["top_mapping_pages"]) <= 0):
            problems.append("row %d: pages written but no top mapping" % n)
        if int(d["top_mapping_pages"]) > int(d["written_pages"]): problems.append("row %d: top mapping has more pages than written" % n)
    except ValueError as ex:
        problems.append("row %d: %s" % (n, ex))
    tops.append(d["top_mapping"])
if len(rows) < 2:
    problems.append("no rows")
with open(f + ".top", "w", encoding="utf-8") as t:
    for x in tops:
        t.write(repr(x) + "\n")
if problems:
    print("\n".join(problems[:40])); sys.exit(1)
' "$1" 2>&1); then
        fail "$(printf 'CSV report %s is wrong:\n%s\nfirst lines:\n%s' "$1" "$out" "$(head -n 5 "$1")")"
        return 1
    fi
}

# w_check_text FILE: the text report's shape: a "watching process" header,
# "#N" interval lines with seq 1..N, region / tracking lines indented, an
# "end:" line whose interval count matches, the summary lines.
w_check_text() {
    local out
    if ! out=$(LC_ALL=C awk '
        function bad(m) { print "line " NR ": " m ": " $0; nbad++ }
        NR == 1 { if ($0 !~ /^watching process [0-9]+ \(.*\): [0-9]+ ranges?, [0-9]+ pages? \(.*\) tracked, every [0-9]+\.[0-9][0-9][0-9]s(, cumulative)?$/) bad("bad header"); next }
        /^#[0-9]+ / {
            if (ended) bad("interval after the end")
            if ($0 !~ /^#[0-9]+ +[0-9]+\.[0-9][0-9][0-9]s  written [0-9]+ pages? \([^)]*\)  [0-9]+ pages\/s  [0-9]+\.[0-9][0-9] MiB\/s  wss [0-9]+ pages?  harvest [0-9]+us(  discarded [1-9][0-9]*)?(  zero-read [1-9][0-9]*)?(  ksm-merged [1-9][0-9]*)?(  thp-filled [1-9][0-9]*)?(  remapped [1-9][0-9]*)?(  overhead ~[0-9]+\.[0-9]%( \([0-9]+% of its CPU\))?)?(  stretched to [0-9]+\.[0-9][0-9][0-9]s)?$/) bad("bad interval line")
            n++; if (substr($1, 2) + 0 != n) bad("seq " substr($1, 2) " is not " n)
            next
        }
        /^end: / {
            if (ended++) bad("two end lines")
            if ($0 !~ /^end: [a-z-]+( \(.*\))? after [0-9]+ intervals?, [0-9]+\.[0-9][0-9][0-9]s$/) bad("bad end line")
            m = $0; sub(/.* after /, "", m); sub(/ .*/, "", m)
            if (m + 0 != n) bad("end says " m " intervals, " n " printed")
            next
        }
        ended {
            if ($0 ~ /^write working set: [0-9]+ pages? \(.*\)$/) { wss++; next }
            if ($0 ~ /^dirty rate \(pages\/s\): mean [0-9]+  p50 [0-9]+  p95 [0-9]+  max [0-9]+  \(mean [0-9]+\.[0-9][0-9] MiB\/s\)$/) next
            if ($0 ~ /^hottest mappings \(distinct pages written(; page-writes summed over the intervals)?\):$/ ||
                $0 ~ /^ +[0-9]+ pages  ( *[0-9]+ page-writes  )?0x[0-9a-f]+ .+$/) next
            if ($0 ~ /^classified pages:(  discarded [1-9][0-9]*)?(  zero-read [1-9][0-9]*)?(  ksm-merged [1-9][0-9]*)?(  thp-filled [1-9][0-9]*)?(  remapped [1-9][0-9]*)?$/) next
            if ($0 ~ /^command exit status: [0-9]+$/) next
            if ($0 ~ /^target overhead \(estimated\): [0-9]+\.[0-9]% of the time, worst interval [0-9]+\.[0-9]%(, [0-9]+% of its CPU time)? \([0-9]+\.[0-9][0-9]us a fault, (calibrated|default)\)$/ ||
                $0 ~ /^budget [0-9.]+%: [0-9]+ intervals? stretched, the longest [0-9]+\.[0-9][0-9][0-9]s$/) next
            bad("unexpected summary line")
            next
        }
        n == 0 && /^  (not tracked|skipped)/ { next }
        n > 0 && /^    0x[0-9a-f][0-9a-f]*-0x[0-9a-f][0-9a-f]*  [^ ]+  .+$/ { regions++; next }
        n > 0 && /^  [+-] (tracking|unmapped)  0x[0-9a-f][0-9a-f]*-0x[0-9a-f][0-9a-f]*  [^ ]+  .*$/ { next }
        n > 0 && /^  = written before it was made read-only \(not tracked\)  0x[0-9a-f]+-0x[0-9a-f]+  [^ ]+  .*$/ { next }
        n > 0 && /^  per mapping:( [^ ].*=[0-9]+)+$/ { next }
        { bad("unexpected line") }
        END {
            if (!ended) print "no end line"
            if (!wss) print "no write working set line"
            if (nbad || !ended || !wss) exit 1
            print n " intervals, " regions " region lines"
        }' "$1" 2>&1); then
        fail "$(printf 'text report %s has the wrong shape:\n%s' "$1" "$(head -n 30 <<<"$out")")"
        return 1
    fi
    # shellcheck disable=SC2034 # for the .bats files
    W_TEXT_SUMMARY=$out
}
