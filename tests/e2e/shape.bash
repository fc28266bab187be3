# SPDX-License-Identifier: MIT
# Helpers for fault_shapes.bats and soak.bats: the shape_target process
# (tests/targets/shape_target.c), "left as it was" snapshots, and a
# background watch read through a fifo. Load after common:
# `load common` then `load shape`.

NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)

# ---------------------------------------------------------------------------
# shape_target

# shape_start [WRAPPER... --] [TARGET-OPTION...]: start shape_target with
# its command channels passed as inherited fds (fd:N), so a target running
# as another uid needs no access to $BATS_TEST_TMPDIR. WRAPPER (setpriv,
# prlimit) must exec the target, so $! is its pid. Sets SPID.
shape_start() {
    local -a pre=() opts=()
    if [[ " $* " == *" -- "* ]]; then
        while [[ $1 != -- ]]; do pre+=("$1"); shift; done
        shift
    fi
    opts=("$@")
    SDIR=$BATS_TEST_TMPDIR/shape
    mkdir -p "$SDIR"
    rm -f "$SDIR/cmd" "$SDIR/reply"
    mkfifo "$SDIR/cmd" "$SDIR/reply"
    exec {SCMD_FD}<>"$SDIR/cmd" {SREPLY_FD}<>"$SDIR/reply"
    # 3>&-: bats waits for fd 3 to close; the target must not hold it.
    "${pre[@]}" "$TARGETS/shape_target" "${opts[@]}" "fd:$SCMD_FD" "fd:$SREPLY_FD" \
        </dev/null >"$SDIR/stdout" 2>"$SDIR/stderr" 3>&- &
    SPID=$!
    declare -gA SSTART=() SEND=()
    SLAST=
}

shape_alive() {
    [[ -n ${SPID:-} ]] && kill -0 "$SPID" 2>/dev/null &&
        [[ $(awk '{print $3}' "/proc/$SPID/stat" 2>/dev/null) != Z || -n ${SZOMBIE:-} ]]
}

# ssend CMD / sreply / scmd CMD: like vsend/vreply/vcmd for the victim;
# the reply goes to SREPLY; "err ..." fails the test.
ssend() {
    SLAST=$1
    printf '%s\n' "$1" >&"$SCMD_FD"
}

sreply() {
    local t=${STIMEOUT:-60} i part=
    SREPLY=
    # One-second reads: a dead target fails the test at once. A read that
    # times out in the middle of a line keeps what it read in $part (bash
    # consumed those bytes), so the next read continues the line: on a
    # loaded machine the timeout can fire after the first byte ("ok ..."
    # read as "k ...").
    for ((i = 0; ; i++)); do
        if IFS= read -r -t 1 part <&"$SREPLY_FD"; then
            SREPLY+=$part
            break
        fi
        SREPLY+=$part
        if ((i >= t)) || ! kill -0 "$SPID" 2>/dev/null; then
            fail "shape_target: no reply to '$SLAST' within ${i}s (alive: $(kill -0 "$SPID" 2>/dev/null && echo yes || echo no); stderr: $(cat "$SDIR/stderr" 2>/dev/null))"
            return 1
        fi
    done
    if [[ $SREPLY != ok* ]]; then
        fail "shape_target: '$SLAST' -> '$SREPLY'"
        return 1
    fi
}

scmd() {
    ssend "$1" || return 1
    sreply
}

# smap NAME PAGES: map and remember SSTART[NAME], SEND[NAME].
smap() {
    scmd "map $1 $2" || return 1
    local -a w
    read -r -a w <<<"$SREPLY"
    SSTART[$1]=${w[1]}
    SEND[$1]=${w[2]}
}

# sremap NAME: mremap it elsewhere; SSTART/SEND follow.
sremap() {
    scmd "mremap $1" || return 1
    local -a w
    read -r -a w <<<"$SREPLY"
    SSTART[$1]=${w[1]}
    SEND[$1]=${w[2]}
}

# swin NAME...: "0xS-0xE" windows of the named mappings.
swin() {
    local n
    for n in "$@"; do
        printf '%s-%s ' "${SSTART[$n]}" "${SEND[$n]}"
    done
}

# saddr NAME PAGE: address of page PAGE of NAME.
saddr() {
    printf '0x%x\n' $((SSTART[$1] + $2 * PAGE_SIZE))
}

# struth FILE / sever NAME FILE: the target's truth ("truth": written since
# the last mark; "ever NAME": pages of NAME holding data) as range lines.
ranges_from_reply() {
    local -a w
    read -r -a w <<<"$SREPLY"
    local i
    for ((i = 2; i + 1 < ${#w[@]}; i += 2)); do
        printf '%s %s\n' "${w[i]}" "${w[i + 1]}"
    done
}

struth() {
    scmd truth || return 1
    ranges_from_reply >"$1"
}

sever() {
    scmd "ever $1" || return 1
    ranges_from_reply >"$2"
}

# shape_stop: ask it to exit 0 and reap it.
shape_stop() {
    local st=0
    scmd "exit 0" || return 1
    wait "$SPID" || st=$?
    SPID=
    [[ $st == 0 ]] || { fail "shape_target exited with status $st"; return 1; }
}

shape_cleanup() {
    if [[ -n ${SPID:-} ]]; then
        kill -KILL "$SPID" 2>/dev/null || true
        wait "$SPID" 2>/dev/null || true
        SPID=
    fi
    [[ -z ${SCMD_FD:-} ]] || exec {SCMD_FD}>&- 2>/dev/null || true
    [[ -z ${SREPLY_FD:-} ]] || exec {SREPLY_FD}>&- 2>/dev/null || true
    SCMD_FD='' SREPLY_FD=''
}

# ---------------------------------------------------------------------------
# "Left as it was"

# live_task PID: a live thread of PID (the leader unless it is a zombie):
# a zombie leader's /proc/PID/fd and maps are empty.
live_task() {
    local t st
    for t in /proc/"$1"/task/*; do
        st=$(awk '{print $3}' "$t/stat" 2>/dev/null) || continue
        [[ $st == Z || $st == X || -z $st ]] && continue
        echo "${t##*/}"
        return 0
    done
    return 1
}

# snapshot PID: what must not change across pagescan runs: every fd and what
# it refers to, per thread the state and blocked mask, the process's
# ignored/caught/pending signals, seccomp, no-new-privs, tracer.
snapshot() {
    local pid=$1 t fd
    t=$(live_task "$pid") || { echo "no live thread"; return 0; }
    for fd in /proc/"$pid"/task/"$t"/fd/*; do
        printf 'fd %s -> %s\n' "${fd##*/}" "$(readlink "$fd" 2>/dev/null)"
    done | sort -V
    for t in /proc/"$pid"/task/*; do
        awk -v t="${t##*/}" '/^(State|SigBlk|SigPnd):/ { s = s " " $1 $2 } END { print "task " t s }' "$t/status"
    done
    grep -E '^(SigIgn|SigCgt|ShdPnd|Seccomp|Seccomp_filters|NoNewPrivs|TracerPid|Threads):' "/proc/$pid/status"
}

# assert_snapshot PID BEFORE: the snapshot now equals BEFORE.
assert_snapshot() {
    local now d
    now=$(snapshot "$1")
    if ! d=$(diff -u --label before --label after <(printf '%s\n' "$2") <(printf '%s\n' "$now")); then
        fail "process $1 changed: $d"
        return 1
    fi
}

# uffds PID: userfaultfds open in PID (through a live thread).
uffds() {
    local t fd n=0
    t=$(live_task "$1") || { echo 0; return 0; }
    for fd in /proc/"$1"/task/"$t"/fd/*; do
        [[ $(readlink "$fd" 2>/dev/null) == "anon_inode:[userfaultfd]" ]] && n=$((n + 1))
    done
    echo "$n"
}

tracer_of() {
    awk '/^TracerPid:/ { print $2 }' "/proc/$1/status"
}

# ---------------------------------------------------------------------------
# pagescan helpers

# written_ranges OUT WINDOW...: `dump -m written -f json` of SPID clipped to
# the windows, as range lines in OUT.
written_ranges() {
    local out=$1
    shift
    ps_ok "$BATS_TEST_TMPDIR/dump.json" dump "$SPID" -m written -f json || return 1
    check_dump_json "$BATS_TEST_TMPDIR/dump.json" || return 1
    ps_regions_to_ranges "$@" <"$BATS_TEST_TMPDIR/dump.json" >"$out"
}

# exact_now NAME...: the target's truth (since the last mark) equals pagescan's
# written set on the named mappings.
exact_now() {
    local d=$BATS_TEST_TMPDIR
    struth "$d/truth.all" || return 1
    local -a w
    read -r -a w <<<"$(swin "$@")"
    ranges_clip_windows "${w[@]}" <"$d/truth.all" >"$d/truth"
    written_ranges "$d/got" "${w[@]}" || return 1
    assert_ranges_equal "$d/truth" "$d/got"
}

# ranges_clip_windows WINDOW... < ranges: clip range lines to windows, merged.
ranges_clip_windows() {
    local w s e in
    in=$(cat)
    for w in "$@"; do
        s=${w%-*} e=${w#*-}
        ranges_clip "$s" "$e" <<<"$in"
    done | ranges_merge
}

# ps_nobody OUT ARGS...: ps_to, with pagescan as uid/gid 65534.
ps_nobody() {
    local out=$1
    shift
    # shellcheck disable=SC2034 # status and stderr are for the .bats files
    {
        status=0
        "${NOBODY[@]}" "$PAGESCAN" "$@" >"$out" 2>"$BATS_TEST_TMPDIR/ps.stderr" || status=$?
    }
    # shellcheck disable=SC2034
    stderr=$(<"$BATS_TEST_TMPDIR/ps.stderr")
}

# ---------------------------------------------------------------------------
# A background watch read through a fifo

# sw_start ARGS...: "$PAGESCAN watch ARGS..." in the background, stdout into a
# fifo read here line by line; returns once the start record is read. Sets
# SWPID, SWLOG (all lines read), SWEND.
sw_start() {
    SWDIR=$BATS_TEST_TMPDIR/sw
    mkdir -p "$SWDIR"
    SWLOG=$SWDIR/out
    : >"$SWLOG"
    rm -f "$SWDIR/fifo"
    mkfifo "$SWDIR/fifo"
    SWEND=''
    "$PAGESCAN" watch "$@" >"$SWDIR/fifo" 2>"$SWDIR/stderr" 3>&- &
    SWPID=$!
    exec {SWFD}<"$SWDIR/fifo"
    sw_line || { fail "watch $* printed nothing (stderr: $(cat "$SWDIR/stderr"))"; return 1; }
    [[ $SW_LINE == '{"type":"start"'* ]] || { fail "watch: first line is not the start record: $SW_LINE"; return 1; }
}

# sw_line: one line into SW_LINE (timeout 30 s); 1 at EOF or timeout.
sw_line() {
    SW_LINE=
    IFS= read -r -t "${SWTIMEOUT:-30}" -u "$SWFD" SW_LINE || return 1
    printf '%s\n' "$SW_LINE" >>"$SWLOG"
    [[ $SW_LINE != '{"type":"end"'* ]] || SWEND=1
    return 0
}

# sw_catch_up: read (into SWLOG) the lines the watch has written so far,
# for at most 0.3 s (a watch at a short interval writes on and on), so that
# a test busy with the target never lets the watch's output fill the pipe
# and hold the watch up. A line is always read to its end.
sw_catch_up() {
    local part line= st deadline=$((${EPOCHREALTIME/./} + 300000))
    while [[ -n $line ]] || { ((${EPOCHREALTIME/./} < deadline)) && read -r -t 0 -u "$SWFD"; }; do
        st=0
        IFS= read -r -t 1 -u "$SWFD" part || st=$?
        line+=$part
        # a whole line; or the end of the output, with what came of a last line
        if ((st == 0 || (st <= 128 && ${#line}))); then
            printf '%s\n' "$line" >>"$SWLOG"
            [[ $line != '{"type":"end"'* ]] || SWEND=1
            line=
        fi
        ((st == 0 || st > 128)) || return 0 # the end of the output
    done
}

# jq: "0x1f" | hex -> 31 (addresses stay below 2^53: exact as doubles).
# shellcheck disable=SC2016 # jq, not shell, variables
SW_JQ_DEFS='def hex: ltrimstr("0x") | explode | reduce .[] as $c (0; . * 16 + (if $c >= 97 then $c - 87 else $c - 48 end));'

# sw_until JQ-CONDITION: read lines until one satisfies the condition (it
# may use hex).
sw_until() {
    local deadline=$((SECONDS + ${SWTIMEOUT:-30}))
    while :; do
        if ((SECONDS > deadline)); then
            fail "watch: no line with $1 within ${SWTIMEOUT:-30}s (last: $(tail -n 1 "$SWLOG" | cut -c1-300))"
            return 1
        fi
        if ! sw_line; then
            fail "watch: no line with $1 (stderr: $(cat "$SWDIR/stderr"); last: $(tail -n 1 "$SWLOG" | cut -c1-300))"
            return 1
        fi
        jq -e "$SW_JQ_DEFS $1" >/dev/null 2>&1 <<<"$SW_LINE" && return 0
        if [[ -n $SWEND ]]; then
            fail "watch ended before a line with $1: $SW_LINE"
            return 1
        fi
    done
}

# sw_drain: read to EOF, reap it; SWSTATUS is its exit status.
sw_drain() {
    while sw_line; do :; done
    # shellcheck disable=SC2034 # for the .bats files
    {
        SWSTATUS=0
        wait "$SWPID" || SWSTATUS=$?
    }
    SWPID=
    exec {SWFD}<&-
}

# sw_stop: SIGINT (a last interval, then the end record), then sw_drain.
sw_stop() {
    kill -INT "$SWPID"
    sw_drain
}

# sw_union WINDOW...: the union of all interval regions (a page may show in
# two intervals), clipped to the windows, as merged ranges.
sw_union() {
    jq -r 'select(.type == "interval") | .regions[] | "\(.start) \(.end)"' "$SWLOG" |
        ranges_clip_windows "$@"
}

sw_cleanup() {
    if [[ -n ${SWPID:-} ]]; then
        kill -KILL "$SWPID" 2>/dev/null || true
        wait "$SWPID" 2>/dev/null || true
        SWPID=
    fi
    [[ -z ${SWFD:-} ]] || exec {SWFD}<&- 2>/dev/null || true
    SWFD=''
}

shape_teardown() {
    sw_cleanup
    shape_cleanup
    common_teardown
}

# elapsed_since T0: seconds since T0 (from $EPOCHREALTIME), 3 decimals.
elapsed_since() {
    awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f\n", b - a }'
}
