# SPDX-License-Identifier: MIT
# Shared helpers for pagescan's end-to-end tests; every tests/e2e/*.bats
# starts with `load common`.
#
# Environment (CTest sets these; the defaults fit a manual run from a tree
# built in ./build):
#   PAGESCAN   the pagescan binary           (default BUILD_DIR/src/pagescan)
#   TARGETS    directory of the test targets (default BUILD_DIR/tests/targets)
#   BUILD_DIR  build tree                    (default <source>/build)
#   PAGESCAN_MUST_WORK=1  turn "kernel lacks a feature" skips into failures
#
# Victim protocol: see the comment at the top of tests/targets/victim.c.

bats_require_minimum_version 1.5.0

load /usr/lib/bats/bats-support/load.bash
load /usr/lib/bats/bats-assert/load.bash
load /usr/lib/bats/bats-file/load.bash

: "${BUILD_DIR:=$BATS_TEST_DIRNAME/../../build}"
: "${PAGESCAN:=$BUILD_DIR/src/pagescan}"
: "${TARGETS:=$BUILD_DIR/tests/targets}"
# A hung victim or pagescan must fail one test, not stall the suite.
: "${BATS_TEST_TIMEOUT:=240}"
export PAGESCAN TARGETS BUILD_DIR BATS_TEST_TIMEOUT

# The kernel's page size (4, 16 or 64 KiB; the arm64 guest has no getconf).
PAGE_SIZE=$(awk '/^KernelPageSize:/ { print $2 * 1024; exit }' /proc/self/smaps 2>/dev/null)
[[ $PAGE_SIZE =~ ^[1-9][0-9]*$ ]] || PAGE_SIZE=$(getconf PAGESIZE)
export PAGE_SIZE
export PAGE_SIZE
export PAGE_SIZE
export PAGE_SIZE
export PAGE_SIZE
export PAGE_SIZE
export PAGE_SIZE
export PAGE_SIZE
# Syscall numbers the tests read from /proc/PID/syscall, by name (ps_nr).
# aarch64 has no poll or epoll_wait: its libc uses ppoll and epoll_pwait.
declare -gA PS_NR
case $(uname -m) in
aarch64) PS_NR=([read]=63 [nanosleep]=101 [clock_nanosleep]=115 [poll]=73 [ppoll]=73
    [restart_syscall]=128 [futex]=98 [epoll_wait]=22 [accept]=202 [accept4]=242) ;;
*) PS_NR=([read]=0 [nanosleep]=35 [clock_nanosleep]=230 [poll]=7 [ppoll]=271
    [restart_syscall]=219 [futex]=202 [epoll_wait]=232 [accept]=43 [accept4]=288 [vfork]=58) ;;
esac
PS_NR_POLL=${PS_NR[poll]} PS_NR_PPOLL=${PS_NR[ppoll]}
# Category names in the order of ps_categories[] (src/model/category.c).
PS_CATEGORIES="written present swapped file pfnzero huge soft-dirty guard wpallowed"

# ---------------------------------------------------------------------------
# Feature probe

# Call from setup_file: checks the binaries exist, then skips the whole file
# when the kernel lacks PAGEMAP_SCAN or async uffd-wp (fails instead under
# PAGESCAN_MUST_WORK=1). Bats 1.8 cannot skip from setup_file, so the
# reason is exported and the default setup() below skips each test.
kernel_supports() {
    local out
    if [[ ! -x $PAGESCAN ]]; then
        echo "pagescan binary not found at '$PAGESCAN' (build it, or set PAGESCAN)" >&2
        return 1
    fi
    if [[ ! -x $TARGETS/kfeatures || ! -x $TARGETS/victim ]]; then
        echo "test targets not found in '$TARGETS' (build them, or set TARGETS)" >&2
        return 1
    fi
    if ! out=$("$TARGETS/kfeatures" 2>&1); then
        if [[ ${PAGESCAN_MUST_WORK:-0} == 1 ]]; then
            echo "kernel lacks what pagescan needs: $out (PAGESCAN_MUST_WORK=1, so this fails)" >&2
            return 1
        fi
        export PAGESCAN_SKIP_REASON="kernel lacks what pagescan needs: $out"
    fi
}

# require_zero_page: skip a test of reads unless a read fault into
# never-touched private anonymous memory maps the shared zero page. Some
# kernels allocate a page instead (this project's CI guest has booted with
# pvm_no_zero_page=1); pagescan cannot tell such a read from a write there
# (docs/memory-events.md#reads-that-allocate).
require_zero_page() {
    local why
    why=$("$TARGETS/kfeatures" zeropage) || skip "$why"
}

# What pagescan says, once per command that attaches, on such a kernel
# (the test "11 a kernel that maps no zero page..." in e2e/memevents checks
# it); without_machine_notes TEXT drops that line from TEXT, for the tests
# that compare a command's whole stderr.
ZERO_PAGE_NOTE='pagescan: warning: this kernel maps no zero page on a read fault'
without_machine_notes() {
    grep -v "^$ZERO_PAGE_NOTE" <<<"$1" || true
}

# wait_gone PID SECONDS: wait, on a pidfd, until PID has exited (0), or
# fail to after SECONDS (1). A process already gone counts as exited.
wait_gone() {
    python3 - "$1" "$2" <<'PY'
import os, select, sys
try:
    fd = os.pidfd_open(int(sys.argv[1]))
except ProcessLookupError:
    sys.exit(0)
sys.exit(0 if select.select([fd], [], [], float(sys.argv[2]))[0] else 1)
PY
}

# Default per-test setup (a file may define its own and call this).
common_setup() {
    if [[ -n ${PAGESCAN_SKIP_REASON:-} ]]; then
        skip "$PAGESCAN_SKIP_REASON"
    fi
}

setup() {
    common_setup
}

# ---------------------------------------------------------------------------
# The victim process

# victim_start: start tests/targets/victim with its fifos in
# $BATS_TEST_TMPDIR; sets VPID, VDIR. Its files go to $VDIR.
# VICTIM_PROG=NAME: another target of the same fifo protocol (memevents).
victim_start() {
    VDIR=$BATS_TEST_TMPDIR/victim
    mkdir -p "$VDIR"
    rm -f "$VDIR/cmd" "$VDIR/reply"
    mkfifo "$VDIR/cmd" "$VDIR/reply"
    # VICTIM_OWN_PGRP=1: in a process group of its own (python3 setpgid,
    # then exec: same pid), which is never orphaned: its parent, this
    # shell, is in another group of the same session. The kernel discards
    # SIGTSTP/SIGTTIN/SIGTTOU in an orphaned group, and the suite's own
    # group is orphaned whenever whatever started it has exited (nohup, a
    # detached CI runner).
    local -a wrap=()
    [[ -z ${VICTIM_OWN_PGRP:-} ]] ||
        wrap=(python3 -c 'import os, sys; os.setpgid(0, 0); os.execv(sys.argv[1], sys.argv[1:])')
    # 3>&-: bats waits for fd 3 to close; the victim must not hold it.
    TMPDIR=$VDIR "${wrap[@]}" "$TARGETS/${VICTIM_PROG:-victim}" "$VDIR/cmd" "$VDIR/reply" \
        </dev/null >"$VDIR/stdout" 2>"$VDIR/stderr" 3>&- &
    VPID=$!
    # Opened read-write: never blocks, even if the victim died at start;
    # a dead victim then shows up as a reply timeout, not a hang.
    exec {VCMD_FD}<>"$VDIR/cmd"
    exec {VREPLY_FD}<>"$VDIR/reply"
    # shellcheck disable=SC2034 # MPATH is for the .bats files
    declare -gA MSTART=() MEND=() MPATH=()
    VLAST=
}

victim_alive() {
    [[ -n ${VPID:-} ]] && kill -0 "$VPID" 2>/dev/null &&
        [[ $(awk '{print $3}' "/proc/$VPID/stat" 2>/dev/null) != Z ]]
}

# vsend "CMD": send one command without waiting for the reply.
vsend() {
    VLAST=$1
    printf '%s\n' "$1" >&"$VCMD_FD"
}

# vreply: read one reply line into REPLY_LINE; fails the test on "err" or
# when no reply comes within VTIMEOUT seconds (default 60).
vreply() {
    local t=${VTIMEOUT:-60}
    REPLY_LINE=
    if ! IFS= read -r -t "$t" REPLY_LINE <&"$VREPLY_FD"; then
        fail "victim: no reply to '$VLAST' within ${t}s (alive: $(victim_alive && echo yes || echo no); stderr: $(cat "$VDIR/stderr" 2>/dev/null))"
        return 1
    fi
    if [[ $REPLY_LINE != ok* ]]; then
        fail "victim: '$VLAST' -> '$REPLY_LINE'"
        return 1
    fi
}

# vcmd "CMD": send one command and read its reply into REPLY_LINE.
vcmd() {
    vsend "$1" || return 1
    vreply
}

# vmap NAME KIND PAGES: map and remember MSTART[NAME], MEND[NAME], MPATH[NAME].
vmap() {
    vcmd "map $1 $2 $3" || return 1
    local -a w
    read -r -a w <<<"$REPLY_LINE"
    MSTART[$1]=${w[1]}
    MEND[$1]=${w[2]}
    # shellcheck disable=SC2034
    MPATH[$1]=${w[3]:-}
}

# vunmap NAME: unmap and forget NAME.
vunmap() {
    vcmd "unmap $1" || return 1
    unset "MSTART[$1]" "MEND[$1]" "MPATH[$1]"
}

# vaddr NAME PAGE: address (hex) of page PAGE of mapping NAME.
vaddr() {
    printf '0x%x\n' $((MSTART[$1] + $2 * PAGE_SIZE))
}

# victim_windows [NAME...]: "0xS-0xE" of the named mappings (default: all).
victim_windows() {
    local n names=("$@")
    ((${#names[@]})) || names=("${!MSTART[@]}")
    for n in "${names[@]}"; do
        printf '%s-%s\n' "${MSTART[$n]}" "${MEND[$n]}"
    done
}

# victim_truth FILE: the victim's written pages since the last mark.
victim_truth() {
    vcmd "truth $1"
}

# victim_stop: ask the victim to exit 0 and reap it.
victim_stop() {
    local st=0
    vcmd "exit 0" || return 1
    wait "$VPID" || st=$?
    VPID=
    exec {VCMD_FD}>&- {VREPLY_FD}>&-
    [[ $st == 0 ]] || { fail "victim exited with status $st"; return 1; }
}

# is_our_child PID: true while PID is a live child of this shell. pid_max is
# small and pids are reused quickly: never signal a pid that is not ours.
is_our_child() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    read -r _ ppid _ <<<"$stat"
    [[ $ppid == "$BASHPID" ]]
}

# victim_cleanup: for teardown; kills a victim still running (only ours).
victim_cleanup() {
    if [[ -n ${VPID:-} ]]; then
        is_our_child "$VPID" && kill -KILL "$VPID" 2>/dev/null || true
        wait "$VPID" 2>/dev/null || true
        rm -f /dev/shm/pagescan-victim-"$VPID"-* 2>/dev/null || true
        VPID=
    fi
    [[ -z ${VCMD_FD:-} ]] || exec {VCMD_FD}>&- 2>/dev/null || true
    [[ -z ${VREPLY_FD:-} ]] || exec {VREPLY_FD}>&- 2>/dev/null || true
    VCMD_FD='' VREPLY_FD=''
}

# bg_track PID: remember a background process for bg_cleanup.
bg_track() {
    BG_PIDS+=("$1")
}

# wait_untraced PID: wait (up to 10 s) until nothing ptraces PID
# (pagescan run lets its command go once tracking is released).
wait_untraced() {
    local i t= p=${1// /} # /proc/PID/task/TID/children ends with a space
    for ((i = 0; i < 1000; i++)); do
        t=$(awk '$1 == "TracerPid:" { print $2 }' "/proc/$p/status" 2>/dev/null) || t=
        [[ $t == 0 ]] && return 0
        sleep 0.01
    done
    fail "process $p is still traced (TracerPid: ${t:-gone})"
}

# uw_mappings PID: how many of PID's mappings are registered for
# userfaultfd write-protect (VmFlags "uw" in /proc/PID/smaps).
uw_mappings() {
    grep -c '^VmFlags:.* uw' "/proc/${1// /}/smaps" || true
}

# read_to_end FIFO FILE: copy the JSON lines pagescan writes to FIFO into
# FILE up to its end record (30 s at most); what may follow is drained in
# the background.
read_to_end() {
    local fd line=
    exec {fd}<"$1"
    while IFS= read -r -t 30 -u "$fd" line; do
        printf '%s\n' "$line" >>"$2"
        [[ $line == '{"type":"end"'* ]] && break
    done
    cat <&"$fd" >>"$2" &
    bg_track $!
    exec {fd}<&-
    [[ $line == '{"type":"end"'* ]] || fail "no end record within 30 s; the last lines: $(tail -n 3 "$2" 2>/dev/null)"
}

bg_cleanup() {
    local p
    for p in "${BG_PIDS[@]}"; do
        is_our_child "$p" && kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    BG_PIDS=()
}

# Default teardown for all files; a file may define its own and call these.
common_teardown() {
    bg_cleanup
    victim_cleanup
}

# wait_syscall PID NR...: wait (up to 10 s) until PID's main thread is
# (NR: a number, or a name in PS_NR)
# blocked in one of the syscalls NR (x86-64 numbers, /proc/PID/syscall).
wait_syscall() {
    local pid=$1 i f nr nrs=()
    shift
    for nr in "$@"; do
        nrs+=("${PS_NR[$nr]:-$nr}") # a name (PS_NR) or a number
    done
    for ((i = 0; i < 1000; i++)); do
        read -r f _ <"/proc/$pid/syscall" 2>/dev/null || f=
        for nr in "${nrs[@]}"; do
            [[ $f == "$nr" ]] && return 0
        done
        sleep 0.01
    done
    fail "process $pid did not block in syscall $* (last: '$f')"
}

# ---------------------------------------------------------------------------
# userfaultfd in the target

# uffd_count PID: number of userfaultfds open in PID.
uffd_count() {
    local fd n=0
    for fd in /proc/"$1"/fd/*; do
        [[ $(readlink "$fd" 2>/dev/null) == "anon_inode:[userfaultfd]" ]] && n=$((n + 1))
    done
    echo "$n"
}

# no_uffd_left PID: assert PID has no anon_inode:[userfaultfd] open.
no_uffd_left() {
    local n
    n=$(uffd_count "$1")
    if [[ $n != 0 ]]; then
        fail "process $1 still has $n userfaultfd(s) open"
        return 1
    fi
}

# ---------------------------------------------------------------------------
# Range sets: lines "0xSTART 0xEND", sorted, merged (the victim's truth format)

# awk helpers: hex <-> number. Addresses stay below 2^53, so doubles hold
# them exactly; printf "%.0f" prints them (mawk's print and %d do not).
PS_AWK_DEFS='
function hex2n(h,   i, n, c) {
    n = 0; h = tolower(h); sub(/^0x/, "", h)
    if (h == "") return -1
    for (i = 1; i <= length(h); i++) {
        c = index("0123456789abcdef", substr(h, i, 1))
        if (c == 0) return -1
        n = n * 16 + c - 1
    }
    return n
}
function n2hex(n,   s, d) {
    if (n == 0) return "0x0"
    s = ""
    while (n > 0) { d = n % 16; s = substr("0123456789abcdef", d + 1, 1) s; n = (n - d) / 16 }
    return "0x" s
}
'

# ps_regions_to_ranges [WINDOW...] < dump-json: the regions of a
# `pagescan dump -f json` output as merged range lines. Adjacent regions
# merge (also across mappings), so the result compares exactly with a
# truth file. WINDOWs ("0xS-0xE") clip the regions first. Overlapping
# regions are a pagescan bug: they print an "OVERLAP" line so the
# comparison fails.
ps_regions_to_ranges() {
    jq -r 'select(.type == "region") | "\(.start) \(.end)"' |
        awk -v wins="$*" "$PS_AWK_DEFS"'
            BEGIN {
                nw = split(wins, W, " ")
                for (i = 1; i <= nw; i++) { split(W[i], p, "-"); ws[i] = hex2n(p[1]); we[i] = hex2n(p[2]) }
            }
            {
                s = hex2n($1); e = hex2n($2)
                if (nw == 0) { printf "%.0f %.0f\n", s, e; next }
                for (i = 1; i <= nw; i++) {
                    cs = s > ws[i] ? s : ws[i]; ce = e < we[i] ? e : we[i]
                    if (cs < ce) printf "%.0f %.0f\n", cs, ce
                }
            }' |
        sort -n -k1,1 -k2,2 |
        awk "$PS_AWK_DEFS"'
            NR > 1 && $1 == ce { ce = $2 + 0; next }
            NR > 1 && $1 < ce { print "OVERLAP " n2hex($1 + 0) " " n2hex($2 + 0); if ($2 + 0 > ce) ce = $2 + 0; next }
            { if (NR > 1) print n2hex(cs) " " n2hex(ce); cs = $1 + 0; ce = $2 + 0 }
            END { if (NR > 0) print n2hex(cs) " " n2hex(ce) }'
}

# (Range helpers run in awk: bats' per-command debug trap makes shell loops
# over thousands of lines slow.)

# victim_ranges [NAME...] < dump-json: ps_regions_to_ranges clipped to the
# victim's mappings (default: all of them).
victim_ranges() {
    local -a wins
    mapfile -t wins < <(victim_windows "$@")
    ps_regions_to_ranges "${wins[@]}"
}

# ranges_clip S E < ranges: the part of a range set inside [S, E).
ranges_clip() {
    awk -v cs="$1" -v ce="$2" "$PS_AWK_DEFS"'
        BEGIN { cs = hex2n(cs); ce = hex2n(ce) }
        { s = hex2n($1); e = hex2n($2); if (s < cs) s = cs; if (e > ce) e = ce
          if (s < e) print n2hex(s) " " n2hex(e) }'
}

# ranges_head N < ranges: the first N pages of a range set.
ranges_head() {
    awk -v left="$1" "$PS_AWK_DEFS"'
        left > 0 { s = hex2n($1); e = hex2n($2); n = (e - s) / '"$PAGE_SIZE"'; if (n > left) n = left
                   print n2hex(s) " " n2hex(s + n * '"$PAGE_SIZE"'); left -= n }'
}

# ranges_merge < ranges: sort and merge arbitrary range lines.
ranges_merge() {
    awk "$PS_AWK_DEFS"'{ printf "%.0f %.0f\n", hex2n($1), hex2n($2) }' |
        sort -n -k1,1 -k2,2 |
        awk "$PS_AWK_DEFS"'
            NR > 1 && $1 <= ce { if ($2 + 0 > ce) ce = $2 + 0; next }
            { if (NR > 1) print n2hex(cs) " " n2hex(ce); cs = $1 + 0; ce = $2 + 0 }
            END { if (NR > 0) print n2hex(cs) " " n2hex(ce) }'
}

# ranges_pages FILE: number of pages in a range file.
ranges_pages() {
    awk "$PS_AWK_DEFS"'{ n += (hex2n($2) - hex2n($1)) / '"$PAGE_SIZE"' } END { printf "%.0f\n", n }' "$1"
}

# assert_ranges_equal EXPECTED GOT: byte-exact comparison of two range
# files, with a diff (first 80 lines) on failure.
assert_ranges_equal() {
    local exp=$1 got=$2 d
    if ! d=$(diff -u --label "expected ($exp)" --label "pagescan ($got)" "$exp" "$got"); then
        fail "$(printf 'page sets differ: expected %s pages in %s ranges, pagescan %s pages in %s ranges\n%s' \
            "$(ranges_pages "$exp")" "$(wc -l <"$exp")" \
            "$(ranges_pages "$got")" "$(wc -l <"$got")" \
            "$(head -n 80 <<<"$d")")${VPID:+
victim mappings: $(victim_layout)}"
        return 1
    fi
}

# ---------------------------------------------------------------------------
# Output shape checks

# check_dump_json FILE: every line is JSON; regions are well formed
# (lowercase unpadded hex, pages = (end-start)/PAGE_SIZE, known categories in
# table order, a mapping name), sorted and disjoint; one summary, last,
# whose counts equal the sums. Prints problems; fails if there are any.
check_dump_json() {
    local f=$1 problems nlines nvalues
    # JSON Lines: as many JSON objects as lines (no pretty-printing).
    nlines=$(wc -l <"$f")
    if ! nvalues=$(jq -r 'type' "$f" 2>&1); then
        fail "dump -f json output is not JSON: $nvalues"
        return 1
    fi
    if [[ $(grep -cvx object <<<"$nvalues") != 0 ]]; then
        fail "dump -f json: a value is not an object"
        return 1
    fi
    if [[ $(wc -l <<<"$nvalues") != "$nlines" ]]; then
        fail "dump -f json: $nlines lines but $(wc -l <<<"$nvalues") JSON values (one object per line expected)"
        return 1
    fi
    problems=$(jq -rs --arg cats "$PS_CATEGORIES" '
        ($cats | split(" ")) as $order
        | ([range(0; $order | length) as $k | {($order[$k]): $k}] | add) as $pos
        | def idx($c): $pos[$c];
        . as $all
        | [ $all[] | select(.type == "region") ] as $regs
        | [ $all[] | select(.type == "summary") ] as $sums
        | ( if ($sums | length) != 1 then "expected 1 summary, got \($sums | length)" else empty end ),
          ( if ($all | length) > 0 and ($all[-1].type != "summary") then "last line is not the summary" else empty end ),
          ( $all[] | select(.type != "region" and .type != "summary") | "unknown record type \(.type)" ),
          ( $regs[] | select((.start | type) != "string" or (.end | type) != "string")
            | "region addresses are not strings: \(.start)-\(.end)" ),
          ( $regs[] | select((.pages | type) != "number") | "region \(.start) pages is not a number" ),
          ( $regs[] | select((.mapping | type) != "string" or (.mapping | length) == 0)
            | "region \(.start)-\(.end) has no mapping name" ),
          ( $regs[] | select((.categories | type) != "array") | "region \(.start) categories not an array" ),
          ( $regs[] | select((.categories | type) == "array")
            | select(any(.categories[]; idx(.) == null)) | "region \(.start) unknown category in \(.categories)" ),
          ( $regs[] | select((.categories | type) == "array")
            | select([.categories[] | idx(.)] as $i | $i != ($i | sort) or $i != ($i | unique))
            | "region \(.start) categories not in table order: \(.categories)" ),
          ( if ($sums | length) == 1 then
                $sums[0] as $s
                | ( if $s.regions != ($regs | length) then "summary regions \($s.regions) != \($regs | length)" else empty end ),
                  ( if $s.pages != ([$regs[].pages] | add // 0) then "summary pages \($s.pages) != \([$regs[].pages] | add // 0)" else empty end ),
                  ( if $s.bytes != $s.pages * '"$PAGE_SIZE"' then "summary bytes \($s.bytes) != pages*'"$PAGE_SIZE"'" else empty end ),
                  ( if ($s.truncated | type) != "boolean" then "summary truncated is not a boolean" else empty end )
            else empty end)
    ' "$f" 2>&1) || { fail "jq failed on $f: $problems"; return 1; }
    # Numbers: pages = (end-start)/PAGE_SIZE, alignment, sorted and disjoint.
    problems+=$'\n'$(jq -r 'select(.type == "region") | "\(.start) \(.end) \(.pages)"' "$f" |
        awk "$PS_AWK_DEFS"'
            {
                if ($1 !~ /^0x(0|[1-9a-f][0-9a-f]*)$/ || $2 !~ /^0x(0|[1-9a-f][0-9a-f]*)$/) {
                    print "bad address format " $1 "-" $2 " (lowercase hex, no padding)"
                    next
                }
                s = hex2n($1); e = hex2n($2)
                if (e <= s) print "empty or reversed region " $1 "-" $2
                if (s % '"$PAGE_SIZE"' || e % '"$PAGE_SIZE"') print "unaligned region " $1 "-" $2
                else if ($3 != (e - s) / '"$PAGE_SIZE"') print "region " $1 "-" $2 " says " $3 " pages"
                if (NR > 1 && s < pe) print "region " $1 " overlaps or is out of order"
                pe = e
            }')
    problems=$(grep -v '^$' <<<"$problems" || true)
    if [[ -n $problems ]]; then
        fail "$(printf 'dump -f json problems in %s:\n%s' "$f" "$(head -n 40 <<<"$problems")")"
        return 1
    fi
}

# check_regions_in_maps PID FILE: every region of a dump -f json lies inside
# one mapping of /proc/PID/maps and carries its name ("[anon]" when
# unnamed). Run while the target's layout is unchanged.
check_regions_in_maps() {
    local pid=$1 f=$2 problems
    problems=$(jq -r 'select(.type == "region") | "\(.start) \(.end) \(.mapping)"' "$f" |
        awk "$PS_AWK_DEFS"'
            NR == FNR {
                split($1, a, "-"); ms[NR] = hex2n(a[1]); me[NR] = hex2n(a[2])
                name = ""; for (i = 6; i <= NF; i++) name = name (i > 6 ? " " : "") $i
                mn[NR] = name == "" ? "[anon]" : name; nm = NR; next
            }
            {
                s = hex2n($1); e = hex2n($2)
                label = ""; for (i = 3; i <= NF; i++) label = label (i > 3 ? " " : "") $i
                # regions come sorted: walk the mappings forward
                while (k < nm && me[k + 1] <= s) k++
                if (k >= nm || ms[k + 1] > s) { print "region " $1 "-" $2 " is in no mapping"; next }
                if (e > me[k + 1]) print "region " $1 "-" $2 " spans past its mapping end " n2hex(me[k + 1])
                else if (label != mn[k + 1]) print "region " $1 "-" $2 " named \"" label "\", maps says \"" mn[k + 1] "\""
            }' "/proc/$pid/maps" - 2>&1)
    if [[ -n $problems ]]; then
        fail "$(printf 'regions vs /proc/%s/maps:\n%s' "$pid" "$(head -n 40 <<<"$problems")")"
        return 1
    fi
}

# maps_range PID NAME: "0xS 0xE" of the first /proc/PID/maps line named NAME.
maps_range() {
    awk -v n="$2" '{ name = ""; for (i = 6; i <= NF; i++) name = name (i > 6 ? " " : "") $i }
        name == n { split($1, a, "-"); print "0x" a[1], "0x" a[2]; exit }' "/proc/$1/maps"
}

# json_summary FILE KEY: a field of the summary line.
json_summary() {
    jq -r --arg k "$2" 'select(.type == "summary") | .[$k]' "$1"
}

# ---------------------------------------------------------------------------
# Running pagescan

# ps_to FILE ARGS...: run "$PAGESCAN ARGS..." with stdout into FILE; sets
# status and stderr (like bats' run --separate-stderr, without holding big
# outputs in a variable).
ps_to() {
    local out=$1
    shift
    status=0
    "$PAGESCAN" "$@" >"$out" 2>"$BATS_TEST_TMPDIR/ps.stderr" || status=$?
    stderr=$(<"$BATS_TEST_TMPDIR/ps.stderr")
}

# ps_ok FILE ARGS...: ps_to, and fail unless it exited 0.
ps_ok() {
    ps_to "$@"
    if [[ $status != 0 ]]; then
        shift
        fail "pagescan $* exited $status; stderr: $stderr"
        return 1
    fi
}

# pagemap_present PID [START END]: present pages per /proc/PID/pagemap
# (the reference answer), [vvar] excluded: PAGEMAP_SCAN skips VM_PFNMAP.
pagemap_present() {
    "$TARGETS/pagemap_truth" -x '[vvar]' -x '[vvar_vclock]' "$@"
}

# maps_where PID AWK-CONDITION: "0xS 0xE" of the /proc/PID/maps lines for
# which the condition (on `name`, "" when anonymous) holds.
maps_where() {
    awk "{ name = \"\"; for (i = 6; i <= NF; i++) name = name (i > 6 ? \" \" : \"\") \$i }
        $2 { split(\$1, a, \"-\"); print \"0x\" a[1], \"0x\" a[2] }" "/proc/$1/maps"
}

# pagemap_present_over PID < ranges: present pages inside each range, merged.
pagemap_present_over() {
    local pid=$1 s e
    while read -r s e; do
        pagemap_present "$pid" "$s" "$e" || return 1
    done | ranges_merge
}

# victim_layout: "NAME=0xS-0xE ..." for failure messages.
victim_layout() {
    local n
    for n in "${!MSTART[@]}"; do
        printf '%s=%s-%s ' "$n" "${MSTART[$n]}" "${MEND[$n]}"
    done
}
