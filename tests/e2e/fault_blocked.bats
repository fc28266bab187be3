#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Fault matrix, part 1: pagescan injecting (docs/remote-syscalls.md) into a
# target that is blocked in a system call, busy in user mode or in an rseq
# critical section, and signals that arrive around the injection (to the
# target or to pagescan). Process shapes, seccomp, permissions and the soak
# are in fault_shapes.bats.
#
# After every case the target is alive (unless the case is its own death)
# and answers, its fd count and SigBlk/SigIgn/SigCgt are as before, its
# memory is what it wrote (`check`), and no userfaultfd is left in it. The
# victim's blocking commands make the raw system call with known values in
# every register the kernel preserves and check them afterwards, so each
# blocked case also proves the registers came back intact.
#
# PAGESCAN_TEST_INJECT_HOOK=delay:MS makes pagescan hold the target stopped
# with injection registers loaded for MS ms (exit: _exit(99) there);
# wait_hook finds that window by pagescan's injection thread sleeping.
#
# Outcomes on Linux 6.18, x86-64 (each is one test below):
#   read() on a fifo, nanosleep(), clock_nanosleep() (relative and
#   TIMER_ABSTIME), poll() with a timeout, futex wait (with and without a
#   timeout), accept(): works; the call continues as if nothing happened,
#   timeouts keep their remaining time across a 0.5 s hold.
#   epoll_wait(): any ptrace stop makes it return EINTR (signal(7)); no
#   protocol avoids it. pagescan warns, naming epoll_wait and EINTR, when it
#   has to stop such a thread, and picks another thread when there is one
#   (then no EINTR).
#   User-mode loop with live registers, rseq critical section: works (the
#   rseq section resumes at its abort handler).
#   Signal to the target during the injection: delivered once, exactly as
#   without pagescan (EINTR without SA_RESTART, restart with it); signals
#   it ignores change nothing; SIGTSTP leaves it stopped; injection works.
#   Job-control stopped target: works, and it stays stopped.
#   SIGTERM/SIGKILL to the target during the injection: pagescan exits 1
#   with "process PID was killed by signal N"/"exited"; during watch: the
#   watch ends with reason target-exit, exit 0.
#   pagescan killed during the injection: the target dies by SIGKILL
#   (PTRACE_O_EXITKILL), never by SIGSEGV/SIGBUS, never runs on with
#   foreign registers. pagescan killed during watch: the target is
#   untouched and a new watch works. SIGTERM/INT/HUP/QUIT/PIPE to pagescan
#   during the injection: deferred (blocked), the injection completes.
#   Any other signal that would terminate pagescan (SIGUSR1, SIGUSR2,
#   SIGALRM, ...) is blocked during the injection too, so it cannot make
#   EXITKILL kill the target. A target killed while watched (even when its
#   address space vanishes before its pidfd turns readable) ends the watch
#   with target-exit, never target-exec.
#   Another thread forks while the injection thread is held between the
#   injected userfaultfd() and close(): the child's copy of the descriptor
#   is closed in the child (it would keep the userfaultfd alive). Another
#   thread execs while pagescan holds the injection thread (before
#   userfaultfd(), or between it and close()): that thread dies with the
#   exec, pagescan exits 1 saying the process exec'd, and the new program
#   runs untraced, with no userfaultfd. An exec between pagescan's first
#   look (the syscall instruction it will use) and its stop: pagescan
#   finds the new program at the stop and changes nothing; engage exits 1
#   saying so, watch engages the new program; it runs on (it used to be
#   sent to the old address and die of SIGSEGV).

# The hook is compiled only into the test twin of pagescan,
# BUILD/test-hooks/pagescan (CMake option PAGESCAN_TEST_HOOKS, ON in a tree
# that builds the tests; cmake/TestHooks.cmake); CTest points PAGESCAN at
# it for this file, and so does a run by hand when the twin is there.
: "${BUILD_DIR:=$BATS_TEST_DIRNAME/../../build}"
if [[ -z ${PAGESCAN:-} && -x $BUILD_DIR/test-hooks/pagescan ]]; then
    PAGESCAN=$BUILD_DIR/test-hooks/pagescan
fi

load common

setup_file() {
    kernel_supports
    # Whether this binary has the hook: its variable's name is in it only then.
    if grep -qaF PAGESCAN_TEST_INJECT_HOOK "$PAGESCAN"; then
        export FB_HOOK_MISSING=
    else
        export FB_HOOK_MISSING="$PAGESCAN was built without the test hook (PAGESCAN_TEST_INJECT_HOOK): configure with -DPAGESCAN_TEST_HOOKS=ON and run BUILD/test-hooks/pagescan"
    fi
}

# fb_uses_hook FUNCTION: whether FUNCTION, or a function it calls, sets
# PAGESCAN_TEST_INJECT_HOOK (FB_SEEN: the functions already looked at).
fb_uses_hook() {
    local body w
    FB_SEEN[$1]=1
    body=$(declare -f "$1") || return 1
    [[ $body == *PAGESCAN_TEST_INJECT_HOOK=* ]] && return 0
    for w in $(grep -oE '\b[a-z_][a-z0-9_]*\b' <<<"$body" | sort -u); do
        [[ $w != bats_* && $w != batslib_* && -z ${FB_SEEN[$w]:-} ]] && declare -F "$w" >/dev/null || continue
        fb_uses_hook "$w" && return 0
    done
    return 1
}

# Each test that holds or kills pagescan through the hook skips, saying
# why, when the binary has no hook; the others run anyway.
setup() {
    common_setup
    if [[ -n ${FB_HOOK_MISSING:-} ]]; then
        # not this file's own setup and search, nor bats' helpers
        declare -gA FB_SEEN=([fb_uses_hook]=1 [setup]=1 [teardown]=1 [setup_file]=1 [fail]=1 [skip]=1 [run]=1)
        if fb_uses_hook "$BATS_TEST_NAME"; then
            skip "$FB_HOOK_MISSING"
        fi
    fi
}

teardown() {
    common_teardown
}

# --- helpers -----------------------------------------------------------------

# fb_start: a victim with mapping "a" partly written; FB_BEFORE is its
# status line (fd count, SigBlk, SigIgn, SigCgt).
fb_start() {
    victim_start
    vmap a anon 64
    vcmd "write a 0-15,40"
    vcmd status
    FB_BEFORE=$REPLY_LINE
}

# fb_intact: the victim answers with the same fds and signal masks, holds
# no userfaultfd, its memory is what it wrote, and it can still write.
fb_intact() {
    victim_alive || { fail "victim $VPID is gone"; return 1; }
    no_uffd_left "$VPID" || return 1
    vcmd status
    assert_equal "$REPLY_LINE" "$FB_BEFORE"
    fb_memory_intact
}

# fb_memory_intact: the victim's memory is what it wrote, and it can still
# write.
fb_memory_intact() {
    vcmd "check a"
    vcmd "write a 16-20,63"
    vcmd "check a"
}

# engage_held MS / release_held MS: engage / release, holding the target
# stopped MS ms with the injection registers loaded.
engage_held() {
    PAGESCAN_TEST_INJECT_HOOK=delay:$1 ps_ok "$BATS_TEST_TMPDIR/engage.out" engage "$VPID"
}

release_held() {
    PAGESCAN_TEST_INJECT_HOOK=delay:$1 ps_ok "$BATS_TEST_TMPDIR/release.out" release "$VPID"
}

# fd_of PID PATH: the number of PID's fd open on PATH.
fd_of() {
    local f want
    want=$(realpath "$2")
    for f in /proc/"$1"/fd/*; do
        if [[ $(readlink "$f" 2>/dev/null) == "$want" ]]; then
            echo "${f##*/}"
            return 0
        fi
    done
    return 1
}

# wait_read_on PID PATH: wait (up to 10 s) until PID's main thread is
# blocked in read() on its fd of PATH (not on the command fifo).
wait_read_on() {
    local pid=$1 path=$2 i fd line=
    for ((i = 0; i < 1000; i++)); do
        if fd=$(fd_of "$pid" "$path"); then
            read -r line <"/proc/$pid/syscall" 2>/dev/null || line=
            [[ $line == "${PS_NR[read]} $(printf '0x%x' "$fd") "* ]] && return 0
        fi
        sleep 0.01
    done
    fail "process $pid did not block in read() on $path (last: '$line')"
}

# proc_state PID: the one-letter state of PID.
proc_state() {
    awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null
}

# wait_state PID STATE: wait (up to 10 s) for that state.
wait_state() {
    local i
    for ((i = 0; i < 1000; i++)); do
        [[ $(proc_state "$1") == "$2" ]] && return 0
        sleep 0.01
    done
    fail "process $1 never reached state $2 (state: $(proc_state "$1"))"
}

# ps_bg OUT ARGS...: start pagescan in the background (stdout to OUT,
# stderr to OUT.err); PSPID, PSOUT.
ps_bg() {
    PSOUT=$1
    shift
    "$PAGESCAN" "$@" >"$PSOUT" 2>"$PSOUT.err" 3>&- &
    PSPID=$!
    bg_track "$PSPID"
}

# ps_reap: wait for PSPID; sets status and stderr.
ps_reap() {
    status=0
    wait "$PSPID" || status=$?
    stderr=$(<"$PSOUT.err")
    local p keep=()
    for p in "${BG_PIDS[@]}"; do
        [[ $p == "$PSPID" ]] || keep+=("$p")
    done
    BG_PIDS=("${keep[@]}")
}

# wait_hook: wait (up to 10 s) until pagescan PSPID sits in its injection
# hook (its injection thread sleeps in clock_nanosleep; nothing else in
# pagescan sleeps) with the victim stopped under it.
wait_hook() {
    local i f nr
    for ((i = 0; i < 1000; i++)); do
        for f in /proc/"$PSPID"/task/*/syscall; do
            read -r nr _ <"$f" 2>/dev/null || continue
            if [[ $nr == "${PS_NR[clock_nanosleep]}" || $nr == "${PS_NR[nanosleep]}" ]]; then
                # traced by pagescan's injection thread
                local tracer
                tracer=$(awk '$1 == "TracerPid:" { print $2 }' "/proc/$VPID/status")
                [[ $tracer != 0 && -d /proc/$PSPID/task/$tracer ]] ||
                    fail "victim not traced by pagescan $PSPID in the hook (TracerPid $tracer)"
                return 0
            fi
        done
        if ! kill -0 "$PSPID" 2>/dev/null; then
            fail "pagescan ended before its injection hook: $(cat "$PSOUT.err")"
            return 1
        fi
        sleep 0.01
    done
    fail "pagescan $PSPID never reached its injection hook"
}

# victim_reap: wait for the victim; sets VSTATUS; forgets it.
victim_reap() {
    VSTATUS=0
    wait "$VPID" || VSTATUS=$?
    VPID=
    exec {VCMD_FD}>&- {VREPLY_FD}>&-
    VCMD_FD='' VREPLY_FD=''
}

# fifo_put PATH DATA: write DATA into a fifo without ever blocking (the
# fifo is opened read-write, so a reader is never needed).
fifo_put() {
    printf '%s' "$2" 1<>"$1"
}

# ms_since T0: milliseconds since T0 ($EPOCHREALTIME).
ms_since() {
    awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d\n", (b - a) * 1000 }'
}

# between T LO HI: LO <= T <= HI (decimals).
between() {
    awk -v t="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(t >= lo && t <= hi) }'
}

# held_timeout CMD NR...: CMD blocks for 4 s in syscall NR; 1 s into it,
# engage and then release each hold the target stopped 0.5 s. The kernel's
# restart keeps the remaining time, so the call ends 4 s after it began
# (the target's own CLOCK_MONOTONIC), or, on a machine so slow that the
# release ends later than that, right after the release; EINTR would end it
# early (an error reply). A restart from scratch would end it 4 s after the
# last injection let the thread go: at least HELD + 4 s, HELD (>= 2 s) being
# the time from the start of the call to the end of the release. The bound
# max(4, HELD) + 1 s leaves 1 s for scheduling delays on a loaded machine
# and still lies 1 s below that.
held_timeout() {
    local cmd=$1 t0 held e
    shift
    fb_start
    vsend "$cmd"
    wait_syscall "$VPID" "$@"
    t0=$EPOCHREALTIME
    sleep 1
    engage_held 500
    assert_equal "$(uffd_count "$VPID")" 1
    # still asleep: in the call again, or in restart_syscall when the kernel
    # continues it from its restart block. Checked only when at least 1.5 s
    # of the 4 s are left: a slow machine (arm64 under TCG) that took longer
    # to get here may see the call end before it looks, and wait for it in
    # vain.
    e=$(ms_since "$t0")
    ((e > 2500)) || wait_syscall "$VPID" "$@" restart_syscall
    release_held 500
    held=$(ms_since "$t0")
    ((held >= 2000)) || fail "test premise: the target was held only $held ms into the call"
    vreply
    local t=${REPLY_LINE#ok }
    awk -v t="$t" -v h="$held" 'BEGIN { h /= 1000; exit !(t >= 3.999 && t < (h > 4 ? h : 4) + 1) }' ||
        fail "'$cmd' took $t s with two 0.5 s holds 1 s into it, the release ending $held ms into it (want 4 s, or just after the release if that ended later; a restart from scratch ends at least 4 s after the release)"
    fb_intact
}

# watch_fifo ARGS...: pagescan watch "$VPID" ARGS... -f json in the
# background, its output through a fifo read on WFD.
watch_fifo() {
    local f=$BATS_TEST_TMPDIR/watch.$RANDOM
    mkfifo "$f"
    ps_bg "$f" watch "$VPID" -f json "$@"
    exec {WFD}<"$f"
    rm -f "$f"
}

# watch_line TYPE: read watch lines (up to 20 s) until one of TYPE; it is
# left in WLINE and every line read is appended to $BATS_TEST_TMPDIR/watch.
watch_line() {
    local type
    while IFS= read -r -t 20 WLINE <&"$WFD"; do
        printf '%s\n' "$WLINE" >>"$BATS_TEST_TMPDIR/watch"
        # JSON Lines lead with "type" (docs/FORMAT.md); jq only otherwise
        if [[ $WLINE =~ ^\{\"type\":\"([a-z]+)\" ]]; then
            type=${BASH_REMATCH[1]}
        else
            type=$(jq -r .type <<<"$WLINE")
        fi
        [[ $type == "$1" ]] && return 0
    done
    fail "watch ended or stalled before a '$1' line; stderr: $(cat "$PSOUT.err" 2>/dev/null)"
}

watch_close() {
    exec {WFD}<&-
}

# --- blocked in a system call --------------------------------------------------

@test "blocked in read() on a fifo: engage and release, each held 0.5 s; it reads its data exactly" {
    fb_start
    local d=$BATS_TEST_TMPDIR/data
    mkfifo "$d"
    vsend "readfifo $d"
    wait_read_on "$VPID" "$d"
    engage_held 500
    assert_equal "$(uffd_count "$VPID")" 1
    wait_read_on "$VPID" "$d"
    release_held 500
    wait_read_on "$VPID" "$d"
    fifo_put "$d" 'exactly-these-27-bytes-here'
    vreply
    assert_equal "$REPLY_LINE" "ok read 27 exactly-these-27-bytes-here"
    fb_intact
}

@test "blocked in nanosleep(4 s), held 2 x 0.5 s: it sleeps 4 s in total" {
    held_timeout "sleep 4" nanosleep
}

@test "blocked in clock_nanosleep(CLOCK_MONOTONIC, 4 s), held 2 x 0.5 s: 4 s in total" {
    held_timeout "clocksleep 4" clock_nanosleep
}

@test "blocked in clock_nanosleep(TIMER_ABSTIME, now + 4 s), held 2 x 0.5 s: 4 s in total" {
    held_timeout "clocksleep 4 abs" clock_nanosleep
}

@test "blocked in poll(timeout 4 s), held 2 x 0.5 s: the timeout stays 4 s" {
    held_timeout "poll 4" poll
}

@test "blocked in futex wait (untimed and timed): still waiting after engage/release, woken once, no spurious return" {
    fb_start
    local w=$BATS_TEST_TMPDIR/wake spec
    mkfifo "$w"
    for spec in "" " 30"; do
        vsend "futex $w$spec"
        wait_syscall "$VPID" futex
        engage_held 500
        # a timed wait continues in restart_syscall (219)
        wait_syscall "$VPID" futex restart_syscall
        release_held 500
        wait_syscall "$VPID" futex restart_syscall
        fifo_put "$w" x
        vreply
        # exactly one FUTEX_WAIT call, which returned 0 (woken)
        assert_equal "$REPLY_LINE" "ok futex 0"
    done
    fb_intact
}

@test "blocked in epoll_wait(): a ptrace stop makes it return EINTR; pagescan warns naming epoll_wait and EINTR" {
    # Documented limitation (signal(7)): epoll_wait is never restarted after
    # a stop, so no injection protocol can hide it; pagescan says so.
    fb_start
    local e=$BATS_TEST_TMPDIR/ev
    mkfifo "$e"
    vsend "epoll $e"
    wait_syscall "$VPID" epoll_wait
    ps_ok "$BATS_TEST_TMPDIR/engage.out" engage "$VPID"
    [[ $stderr == *warning* && $stderr == *epoll_wait* && $stderr == *EINTR* ]] ||
        fail "engage of a thread blocked in epoll_wait printed no warning naming epoll_wait and EINTR; stderr: '$stderr'"
    assert_equal "$(uffd_count "$VPID")" 1
    vreply
    assert_equal "$REPLY_LINE" "ok epoll EINTR"
    # now idle in read(): no warning on release
    ps_ok "$BATS_TEST_TMPDIR/release.out" release "$VPID"
    [[ $stderr != *EINTR* ]] || fail "release warned needlessly: $stderr"
    fb_intact
}

@test "blocked in epoll_wait() with a second, idle thread: pagescan injects there, no EINTR" {
    fb_start
    vcmd "spawnthreads 1"
    local e=$BATS_TEST_TMPDIR/ev
    mkfifo "$e"
    vsend "epoll $e"
    wait_syscall "$VPID" epoll_wait
    engage_held 200
    stderr=$(without_machine_notes "$stderr")
    [[ $stderr != *EINTR* && $stderr != *warning* ]] || fail "unexpected warning: $stderr"
    assert_equal "$(uffd_count "$VPID")" 1
    wait_syscall "$VPID" epoll_wait
    release_held 200
    stderr=$(without_machine_notes "$stderr")
    [[ $stderr != *warning* ]] || fail "unexpected warning: $stderr"
    wait_syscall "$VPID" epoll_wait
    fifo_put "$e" 'event'
    vreply
    assert_equal "$REPLY_LINE" "ok epoll 1 event"
    fb_intact
}

@test "blocked in accept() on a listening socket: the connection is still accepted afterwards" {
    fb_start
    vcmd listen
    local port=${REPLY_LINE#ok } s
    vsend accept
    wait_syscall "$VPID" accept4
    engage_held 500
    wait_syscall "$VPID" accept4
    release_held 500
    wait_syscall "$VPID" accept4
    exec {s}<>"/dev/tcp/127.0.0.1/$port"
    printf 'hello-accept' >&"$s"
    exec {s}>&-
    vreply
    assert_equal "$REPLY_LINE" "ok accept 12 hello-accept"
    fb_intact
}

# --- busy in user mode ---------------------------------------------------------------

# fb_cycles N: N engage/release cycles, or a few under emulation (the
# kernel matrix's guests, PAGESCAN_VM: a cycle takes seconds there).
fb_cycles() {
    if [[ -n ${PAGESCAN_VM:-} ]]; then echo 3; else echo "$1"; fi
}

@test "user-mode loop with live values in registers: 25 engage/release cycles, no corruption" {
    fb_start
    local n=$BATS_TEST_TMPDIR/notify s=$BATS_TEST_TMPDIR/stop nfd line i cycles
    cycles=$(fb_cycles 25)
    mkfifo "$n" "$s"
    exec {nfd}<>"$n"
    vsend "spin 900 $n $s"
    read -r -t 20 line <&"$nfd" || fail "spin never started"
    assert_equal "$line" spinning
    for ((i = 0; i < cycles; i++)); do
        ps_ok "$BATS_TEST_TMPDIR/engage.out" engage "$VPID"
        ps_ok "$BATS_TEST_TMPDIR/release.out" release "$VPID"
    done
    # still spinning in user mode: "running", or -1 (no syscall) when
    # it happens to be off the CPU
    read -r line _ <"/proc/$VPID/syscall"
    [[ $line == running || $line == -1 ]] || fail "spin loop left user mode: syscall '$line'"
    fifo_put "$s" x
    vreply
    [[ $REPLY_LINE == "ok spin clean "* ]] || fail "spin loop: $REPLY_LINE"
    exec {nfd}>&-
    fb_intact
}

# fb_vector_loop KIND: the victim's KIND (sve, sme) loop holds its vector
# state live in user mode through 25 engage/release cycles; skips when the
# victim says this CPU or kernel has no such state to lose.
fb_vector_loop() {
    local kind=$1 n=$BATS_TEST_TMPDIR/notify s=$BATS_TEST_TMPDIR/stop nfd line i
    fb_start
    # one chunk of the loop: whether there is state to lose here
    vsend "$kind 0"
    IFS= read -r -t 60 REPLY_LINE <&"$VREPLY_FD" || fail "victim: no reply to '$kind 0'"
    [[ $REPLY_LINE == "err $kind unusable: "* ]] && skip "${REPLY_LINE#"err $kind unusable: "}"
    [[ $REPLY_LINE == "ok $kind clean "* ]] || fail "$kind 0: $REPLY_LINE"
    mkfifo "$n" "$s"
    exec {nfd}<>"$n"
    vsend "$kind 900 $n $s"
    read -r -t 20 line <&"$nfd" || fail "$kind loop never started"
    assert_equal "$line" spinning
    for ((i = 0; i < $(fb_cycles 25); i++)); do
        ps_ok "$BATS_TEST_TMPDIR/engage.out" engage "$VPID"
        ps_ok "$BATS_TEST_TMPDIR/release.out" release "$VPID"
    done
    fifo_put "$s" x
    vreply
    [[ $REPLY_LINE == "ok $kind clean "* ]] || fail "$kind loop: $REPLY_LINE"
    exec {nfd}>&-
    fb_intact
}

@test "SVE registers live in a user-mode loop (aarch64): 25 engage/release cycles, no corruption" {
    fb_vector_loop sve
}

@test "SME streaming mode and ZA live in a user-mode loop (aarch64): 25 engage/release cycles, no corruption" {
    # An injected svc leaves streaming mode (zeroing the streaming Z/P
    # registers); pagescan puts NT_ARM_SSVE, NT_ARM_ZA and NT_ARM_ZT back.
    fb_vector_loop sme
}

@test "rseq critical section: 50 engage/release cycles, zero sections continued without abort" {
    fb_start
    local n=$BATS_TEST_TMPDIR/notify s=$BATS_TEST_TMPDIR/stop nfd line i
    mkfifo "$n" "$s"
    exec {nfd}<>"$n"
    vsend "rseq $n $s"
    read -r -t 20 line <&"$nfd" || fail "rseq loop never started: $(cat "$VDIR/stderr")"
    assert_equal "$line" rseq
    for ((i = 0; i < $(fb_cycles 50); i++)); do
        ps_ok "$BATS_TEST_TMPDIR/engage.out" engage "$VPID"
        ps_ok "$BATS_TEST_TMPDIR/release.out" release "$VPID"
    done
    fifo_put "$s" x
    vreply
    exec {nfd}>&-
    local -a w
    read -r -a w <<<"$REPLY_LINE"
    # ok rseq commits C aborts A violations V
    assert_equal "${w[1]} ${w[2]} ${w[4]} ${w[6]}" "rseq commits aborts violations"
    ((w[3] > 0)) || fail "no section ever committed: $REPLY_LINE"
    # each injection that stopped it inside a section must abort that section
    ((w[5] > 0)) || fail "test premise: no injection hit a critical section: $REPLY_LINE"
    ((w[7] == 0)) || fail "$((w[7])) sections went on after an injection without their abort: $REPLY_LINE"
    fb_intact
}

# --- signals -----------------------------------------------------------------------------

@test "SIGUSR1 (handler without SA_RESTART) during the injection: handler once, read() EINTR as without pagescan, engage works" {
    fb_start
    local d=$BATS_TEST_TMPDIR/data
    mkfifo "$d"
    # control, without pagescan
    vsend "sigread $d"
    wait_read_on "$VPID" "$d"
    kill -USR1 "$VPID"
    vreply
    assert_equal "$REPLY_LINE" "ok sigread EINTR handler 1"
    # the same signal while pagescan holds the thread with injection registers
    vsend "sigread $d"
    wait_read_on "$VPID" "$d"
    PAGESCAN_TEST_INJECT_HOOK=delay:500 ps_bg "$BATS_TEST_TMPDIR/engage.out" engage "$VPID"
    wait_hook
    kill -USR1 "$VPID"
    ps_reap
    assert_equal "$status" 0
    assert_equal "$(uffd_count "$VPID")" 1
    # had read() been restarted, this would be its data
    fifo_put "$d" 'late'
    vreply
    assert_equal "$REPLY_LINE" "ok sigread EINTR handler 1"
    ps_ok "$BATS_TEST_TMPDIR/release.out" release "$VPID"
    fb_intact
}

@test "SIGUSR1 (handler with SA_RESTART) during the release injection: handler once, read() restarted, release works" {
    fb_start
    local d=$BATS_TEST_TMPDIR/data
    mkfifo "$d"
    ps_ok "$BATS_TEST_TMPDIR/engage.out" engage "$VPID"
    vsend "sigread $d restart"
    wait_read_on "$VPID" "$d"
    PAGESCAN_TEST_INJECT_HOOK=delay:500 ps_bg "$BATS_TEST_TMPDIR/release.out" release "$VPID"
    wait_hook
    kill -USR1 "$VPID"
    ps_reap
    assert_equal "$status" 0
    no_uffd_left "$VPID"
    # the read was restarted: still blocked on the same fifo
    wait_read_on "$VPID" "$d"
    fifo_put "$d" 'data'
    vreply
    assert_equal "$REPLY_LINE" "ok sigread read 4 data handler 1"
    fb_intact
}

# pgrp_orphaned PID: true when no member of PID's process group has its
# parent in another group of the same session (POSIX: an orphaned group,
# where the kernel discards SIGTSTP).
pgrp_orphaned() {
    local pgid p ppid sid st
    pgid=$(awk '{ print $5 }' "/proc/$1/stat")
    sid=$(awk '{ print $6 }' "/proc/$1/stat")
    for p in $(ps -e -o pid= -o pgid= | awk -v g="$pgid" '$2 == g { print $1 }'); do
        ppid=$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null) || continue
        read -r -a st <"/proc/$ppid/stat" 2>/dev/null || continue
        [[ ${st[4]} != "$pgid" && ${st[5]} == "$sid" ]] && return 1
    done
    return 0
}

@test "SIGTSTP during the injection: engage works, the target ends stopped, SIGCONT resumes its read()" {
    # its own process group: never orphaned, so SIGTSTP is not discarded
    VICTIM_OWN_PGRP=1 fb_start
    ! pgrp_orphaned "$VPID" || fail "test premise: the victim's process group is orphaned"
    local d=$BATS_TEST_TMPDIR/data
    mkfifo "$d"
    vsend "readfifo $d"
    wait_read_on "$VPID" "$d"
    PAGESCAN_TEST_INJECT_HOOK=delay:1000 ps_bg "$BATS_TEST_TMPDIR/engage.out" engage "$VPID"
    wait_hook
    kill -TSTP "$VPID"
    ps_reap
    assert_equal "$status" 0
    assert_equal "$(uffd_count "$VPID")" 1
    wait_state "$VPID" T
    kill -CONT "$VPID"
    wait_read_on "$VPID" "$d"
    fifo_put "$d" 'after-tstp'
    vreply
    assert_equal "$REPLY_LINE" "ok read 10 after-tstp"
    ps_ok "$BATS_TEST_TMPDIR/release.out" release "$VPID"
    fb_intact
}

@test "signals the target ignores (SIGWINCH, SIGCHLD, SIGURG, SIGCONT) during the injection: its read() just goes on" {
    fb_start
    local d=$BATS_TEST_TMPDIR/data sig
    mkfifo "$d"
    vsend "readfifo $d"
    wait_read_on "$VPID" "$d"
    for sig in WINCH CHLD URG CONT; do
        PAGESCAN_TEST_INJECT_HOOK=delay:400 ps_bg "$BATS_TEST_TMPDIR/engage.out" engage "$VPID"
        wait_hook
        kill "-$sig" "$VPID"
        ps_reap
        assert_equal "$status" 0
        assert_equal "$(uffd_count "$VPID")" 1
        ps_ok "$BATS_TEST_TMPDIR/release.out" release "$VPID"
        wait_read_on "$VPID" "$d"
    done
    fifo_put "$d" 'still-here'
    vreply
    assert_equal "$REPLY_LINE" "ok read 10 still-here"
    fb_intact
}

# signals_to_pagescan SIG...: each SIG to pagescan while it holds the
# target (blocked in read()) with injection registers: the target must
# survive intact, engaged or not, and its read() go on.
signals_to_pagescan() {
    fb_start
    local d=$BATS_TEST_TMPDIR/data sig n
    mkfifo "$d"
    vsend "readfifo $d"
    wait_read_on "$VPID" "$d"
    for sig in "$@"; do
        PAGESCAN_TEST_INJECT_HOOK=delay:400 ps_bg "$BATS_TEST_TMPDIR/engage.out" engage "$VPID"
        wait_hook
        kill "-$sig" "$PSPID"
        ps_reap
        victim_alive || fail "SIG$sig to pagescan during the injection killed the target (pagescan status $status)"
        # no crash of pagescan (a signal's own termination is fine)
        ((status != 134 && status != 135 && status != 139)) || fail "pagescan crashed ($status) on SIG$sig: $stderr"
        n=$(uffd_count "$VPID")
        if ((status == 0)); then
            assert_equal "$n" 1
        fi
        if ((n > 0)); then
            ps_ok "$BATS_TEST_TMPDIR/release.out" release "$VPID"
        fi
        wait_read_on "$VPID" "$d"
    done
    fifo_put "$d" 'survived'
    vreply
    assert_equal "$REPLY_LINE" "ok read 8 survived"
    fb_intact
}

@test "SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE to pagescan during the injection: deferred, the target is intact" {
    signals_to_pagescan TERM INT HUP QUIT PIPE
}

@test "SIGUSR1, SIGUSR2, SIGALRM to pagescan during the injection: the target survives intact" {
    signals_to_pagescan USR1 USR2 ALRM
}

@test "job-control stopped target (SIGSTOP) stays stopped through engage, release and watch; SIGCONT resumes it" {
    fb_start
    kill -STOP "$VPID"
    wait_state "$VPID" T
    ps_ok "$BATS_TEST_TMPDIR/engage.out" engage "$VPID"
    assert_equal "$(proc_state "$VPID")" T
    assert_equal "$(uffd_count "$VPID")" 1
    ps_ok "$BATS_TEST_TMPDIR/release.out" release "$VPID"
    assert_equal "$(proc_state "$VPID")" T
    no_uffd_left "$VPID"
    ps_ok "$BATS_TEST_TMPDIR/watch.out" watch "$VPID" -n 2 -i 50ms -f json
    assert_equal "$(proc_state "$VPID")" T
    assert_equal "$(jq -r 'select(.type == "end") | .reason' "$BATS_TEST_TMPDIR/watch.out")" count
    no_uffd_left "$VPID"
    # a command sent while stopped is answered once it continues
    vsend status
    assert_equal "$(proc_state "$VPID")" T
    kill -CONT "$VPID"
    vreply
    assert_equal "$REPLY_LINE" "$FB_BEFORE"
    fb_intact
}

# target_killed_in_injection SIG CODE [window]: SIG to the target while
# pagescan holds it with injection registers, before its first injected
# call (or, with "window", between the injected userfaultfd() and close()):
# pagescan exits 1 naming the death, no crash; the target died of SIG (wait
# status CODE), nothing else.
target_killed_in_injection() {
    fb_start
    PAGESCAN_TEST_INJECT_HOOK=delay:2000 ps_bg "$BATS_TEST_TMPDIR/engage.out" watch "$VPID" -n 1 -i 100ms
    if [[ ${3:-} == window ]]; then wait_uffd_window; else wait_hook; fi
    kill "-$1" "$VPID"
    ps_reap
    assert_equal "$status" 1
    [[ $stderr == *"process $VPID"* && ($stderr == *"killed by signal"* || $stderr == *exited*) ]] ||
        fail "pagescan did not report the target's death: '$stderr'"
    [[ $stderr != *Sanitizer* && $stderr != *"runtime error"* ]] || fail "pagescan: $stderr"
    victim_reap
    assert_equal "$VSTATUS" "$2"
}

@test "SIGTERM to the target during the injection: it dies of SIGTERM, pagescan reports it and exits 1" {
    target_killed_in_injection TERM 143
}

@test "SIGKILL to the target during the injection: it dies of SIGKILL, pagescan reports it and exits 1" {
    target_killed_in_injection KILL 137
}

@test "SIGKILL to the target between the injected userfaultfd() and close(): it dies of SIGKILL, pagescan reports it and exits 1" {
    target_killed_in_injection KILL 137 window
}

# --- another thread forks or execs during the injection --------------------

# victim_children: the pids of the victim's children (forked by any thread).
victim_children() {
    cat /proc/"$VPID"/task/*/children 2>/dev/null | tr ' ' '\n' | grep .
}

# wait_uffd_window: wait (up to 10 s) until the victim holds a userfaultfd
# while pagescan sits in its hook: between the injected userfaultfd() and
# the injected close() of the target's copy.
wait_uffd_window() {
    local i
    for ((i = 0; i < 1000; i++)); do
        if [[ $(uffd_count "$VPID") == 1 ]]; then
            wait_hook
            return
        fi
        kill -0 "$PSPID" 2>/dev/null || { fail "pagescan ended before the window: $(cat "$PSOUT.err")"; return 1; }
        sleep 0.01
    done
    fail "victim $VPID never held pagescan's userfaultfd"
}

@test "another thread forks between the injected userfaultfd() and close(): the child is left no copy of it" {
    local d=$BATS_TEST_TMPDIR/trigger child= i
    fb_start
    mkfifo "$d"
    vcmd "trigger $d fork"
    PAGESCAN_TEST_INJECT_HOOK=delay:2000 ps_bg "$BATS_TEST_TMPDIR/watch.out" watch "$VPID" -n 1 -i 100ms -f json
    wait_uffd_window
    fifo_put "$d" x
    for ((i = 0; i < 1000; i++)); do
        child=$(victim_children) && break
        sleep 0.01
    done
    [[ -n $child ]] || fail "the victim's thread did not fork"
    ps_reap
    assert_equal "$status" 0
    [[ -d /proc/$child ]] || fail "the child $child is gone"
    no_uffd_left "$child"
    no_uffd_left "$VPID"
    kill -KILL "$child"
    vcmd "check a"
}

# exec_in_injection STEP: another thread of the victim execs sleep(1) while
# pagescan holds the main thread before its first injected call (1) or
# between userfaultfd() and close() (2).
exec_in_injection() {
    local d=$BATS_TEST_TMPDIR/trigger$1 exe
    fb_start
    mkfifo "$d"
    vcmd "trigger $d exec /bin/sleep 600"
    PAGESCAN_TEST_INJECT_HOOK=delay:2000 ps_bg "$BATS_TEST_TMPDIR/watch.out" watch "$VPID" -n 1 -i 100ms -f json
    if (($1 == 1)); then wait_hook; else wait_uffd_window; fi
    fifo_put "$d" x
    ps_reap
    assert_equal "$status" 1
    [[ $stderr == *"process $VPID"* && $stderr == *exec* ]] ||
        fail "pagescan did not say the target exec'd: '$stderr'"
    [[ $stderr != *Sanitizer* && $stderr != *"runtime error"* ]] || fail "pagescan: $stderr"
    exe=$(readlink "/proc/$VPID/exe")
    assert_equal "$exe" "$(readlink -f /bin/sleep)"
    assert_equal "$(awk '$1 == "TracerPid:" { print $2 }' "/proc/$VPID/status")" 0
    no_uffd_left "$VPID"
}

@test "another thread execs while pagescan holds the target before userfaultfd(): exit 1 naming the exec; the new program runs untraced, no userfaultfd" {
    exec_in_injection 1
}

@test "another thread execs while pagescan holds the target between userfaultfd() and close(): exit 1 naming the exec; the new program runs untraced, no userfaultfd" {
    exec_in_injection 2
}

# in_preseize: pagescan sleeps in its preseize hook (before it seizes the
# victim, which is not traced yet).
in_preseize() {
    local f nr
    for f in /proc/"$PSPID"/task/*/syscall; do
        read -r nr _ <"$f" 2>/dev/null || continue
        [[ $nr == "${PS_NR[clock_nanosleep]}" || $nr == "${PS_NR[nanosleep]}" ]] && return 0
    done
    return 1
}

# wait_preseize: wait until in_preseize.
wait_preseize() {
    local i
    for ((i = 0; i < 1000; i++)); do
        in_preseize && return 0
        kill -0 "$PSPID" 2>/dev/null || { fail "pagescan ended before its hook: $(cat "$PSOUT.err")"; return 1; }
        sleep 0.01
    done
    fail "pagescan $PSPID never reached its preseize hook"
}

# exec_before_stop ARGS...: the victim's (fb_start) other thread execs sleep(1) while
# pagescan, run with ARGS, sleeps between its first look at the victim (the
# system call instruction it will use) and seizing it; pagescan's output in
# $BATS_TEST_TMPDIR/ps.out, status and stderr set. The victim runs sleep then.
exec_before_stop() {
    local d=$BATS_TEST_TMPDIR/trigger
    rm -f "$d"
    mkfifo "$d"
    vcmd "trigger $d exec /bin/sleep 600"
    exec_in_window "$d" "$VPID" "$@"
}

# exec_in_window FIFO PID ARGS...: pagescan, run with ARGS, sleeps between
# its first look and its stop; a byte on FIFO then makes PID exec sleep.
# Waits for the exec, then for pagescan (status and stderr set).
exec_in_window() {
    local fifo=$1 pid=$2 i
    shift 2
    PAGESCAN_TEST_INJECT_HOOK=preseize:700 ps_bg "$BATS_TEST_TMPDIR/ps.out" "$@"
    wait_preseize
    fifo_put "$fifo" x
    for ((i = 0; i < 1000; i++)); do
        [[ $(readlink "/proc/$pid/exe") == "$(readlink -f /bin/sleep)" ]] && break
        sleep 0.01
    done
    ps_reap
}

# exec_survived [PID]: PID (the victim) runs sleep, untraced, without a
# userfaultfd.
exec_survived() {
    local pid=${1:-$VPID}
    [[ $(proc_state "$pid") == [RSD] ]] || fail "the new program (pid $pid) is gone"
    assert_equal "$(readlink "/proc/$pid/exe")" "$(readlink -f /bin/sleep)"
    assert_equal "$(awk '$1 == "TracerPid:" { print $2 }' "/proc/$pid/status")" 0
    no_uffd_left "$pid"
}

@test "engage: the target execs between pagescan's first look and its stop: the new program runs on unharmed (it used to die of SIGSEGV), pagescan exits 1 naming the exec" {
    fb_start
    exec_before_stop engage "$VPID"
    assert_equal "$status" 1
    [[ $stderr == *"process $VPID called exec while pagescan was attaching to it"* ]] ||
        fail "pagescan did not say the target exec'd: '$stderr'"
    exec_survived
}

@test "watch PID, watch --tree PID: the target execs between pagescan's first look and its stop: its new program is engaged at once" {
    local how out=$BATS_TEST_TMPDIR/ps.out
    for how in "" --tree; do
        fb_start
        exec_before_stop watch $how "$VPID" -n 2 -i 100ms -f json
        ((status == 0)) || fail "watch $how: pagescan exited $status: $stderr"
        assert_equal "$(jq -r 'select(.type == "start") | "\(.pid) \(.command)"' "$out")" "$VPID sleep"
        assert_equal "$(jq -r 'select(.type == "end") | .reason' "$out")" count
        [[ -z $how ]] || assert_equal "$(jq -r 'select(.type == "end") | "\(.processes) \(.untracked_processes)"' "$out")" "1 0"
        exec_survived
        kill -KILL "$VPID"
        victim_reap
    done
}

@test "engage a vfork child that execs between pagescan's first look and its stop (its old address space lives on in the parent): the new program runs on unharmed, the parent untouched, exit 1 naming the exec" {
    local d=$BATS_TEST_TMPDIR/go child
    fb_start
    mkfifo "$d"
    vcmd "vfork $d /bin/sleep 600"
    child=${REPLY_LINE#ok }
    exec_in_window "$d" "$child" engage "$child"
    assert_equal "$status" 1
    [[ $stderr == *"process $child called exec while pagescan was attaching to it"* ]] ||
        fail "pagescan did not say the child exec'd: '$stderr'"
    exec_survived "$child"
    victim_alive || fail "the parent $VPID is gone"
    no_uffd_left "$VPID"
    fb_memory_intact
    kill -KILL "$child"
}

@test "engage: the target dies between pagescan's first look and its stop and stays a zombie: exit 1 saying it exited, not a permission error" {
    local parent child= i sleep
    sleep=$(readlink -f /bin/sleep)
    # sleep 601 never reaps its child: killed, sleep 600 stays a zombie,
    # and the kernel refuses to attach to it with EPERM. (--pdeathsig: it
    # ends with sleep 601, which teardown kills, whatever happens.)
    sh -c 'setpriv --pdeathsig KILL sleep 600 & exec sleep 601' </dev/null >/dev/null 2>&1 3>&- &
    parent=$!
    bg_track "$parent"
    for ((i = 0; i < 1000; i++)); do
        [[ $(readlink "/proc/$parent/exe") == "$sleep" ]] &&
            child=$(<"/proc/$parent/task/$parent/children") && child=${child// /} &&
            [[ -n $child && $(readlink "/proc/$child/exe") == "$sleep" ]] && break
        sleep 0.01
    done
    [[ -n $child && $(readlink "/proc/$child/exe") == "$sleep" ]] || fail "sleep 600 did not start"
    PAGESCAN_TEST_INJECT_HOOK=preseize:700 ps_bg "$BATS_TEST_TMPDIR/ps.out" engage "$child"
    wait_preseize
    kill -KILL "$child"
    wait_state "$child" Z
    in_preseize || fail "test premise: the target was a zombie only after pagescan's stop (a loaded machine: run again)"
    ps_reap
    assert_equal "$status" 1
    [[ $stderr == *"process $child exited"* && $stderr != *permission* ]] ||
        fail "pagescan did not say the target exited: '$stderr'"
    kill -KILL "$parent"
}

# target_killed_in_watch SIG CODE: SIG to the target while a watch runs
# (engaged, between ticks): the watch ends with target-exit and exit 0; the
# target died of SIG.
target_killed_in_watch() {
    fb_start
    watch_fifo -i 1s
    watch_line start
    kill "-$1" "$VPID"
    watch_line end
    assert_equal "$(jq -r .reason <<<"$WLINE")" target-exit
    watch_close
    ps_reap
    assert_equal "$status" 0
    victim_reap
    assert_equal "$VSTATUS" "$2"
}

@test "SIGTERM to the target during watch: the watch ends with target-exit, exit 0" {
    target_killed_in_watch TERM 143
}

@test "SIGKILL to the target during watch: the watch ends with target-exit, exit 0" {
    target_killed_in_watch KILL 137
}

@test "SIGKILL/SIGTERM to a target with 512 MiB written, watched every 10 ms: target-exit, never target-exec" {
    # Tearing down a big address space takes a while: ticks in that window
    # find the mm gone before the pidfd says the process exited.
    local sig code round
    for round in 1 2; do
        for sig in KILL TERM; do
            victim_start
            vmap big anon 131072
            vcmd "write big all"
            : >"$BATS_TEST_TMPDIR/watch"
            watch_fifo -i 10ms
            watch_line start
            watch_line interval
            kill "-$sig" "$VPID"
            watch_line end
            watch_close
            ps_reap
            assert_equal "$status" 0
            assert_equal "$(jq -r .reason <<<"$WLINE") (SIG$sig, round $round)" "target-exit (SIG$sig, round $round)"
            victim_reap
            code=137
            [[ $sig == TERM ]] && code=143
            assert_equal "$VSTATUS" "$code"
        done
    done
}

@test "pagescan dies during the injection (hook exit): the target dies by SIGKILL, never SIGSEGV/SIGBUS" {
    fb_start
    PAGESCAN_TEST_INJECT_HOOK="exit" ps_to "$BATS_TEST_TMPDIR/engage.out" engage "$VPID"
    assert_equal "$status" 99
    victim_reap
    assert_equal "$VSTATUS" 137
}

@test "SIGKILL to pagescan during the injection: the target dies by SIGKILL (PTRACE_O_EXITKILL)" {
    fb_start
    local d=$BATS_TEST_TMPDIR/data
    mkfifo "$d"
    vsend "readfifo $d"
    wait_read_on "$VPID" "$d"
    PAGESCAN_TEST_INJECT_HOOK=delay:10000 ps_bg "$BATS_TEST_TMPDIR/engage.out" engage "$VPID"
    wait_hook
    kill -KILL "$PSPID"
    ps_reap
    assert_equal "$status" 137
    victim_reap
    assert_equal "$VSTATUS" 137
}

@test "SIGKILL to pagescan during watch: target untouched, no userfaultfd left, a new watch is exact" {
    fb_start
    watch_fifo -i 50ms
    watch_line start
    watch_line interval
    vcmd "write a 21-25"
    watch_line interval
    kill -KILL "$PSPID"
    watch_close
    ps_reap
    assert_equal "$status" 137
    fb_intact
    # a new watch: exactly the pages written during it
    : >"$BATS_TEST_TMPDIR/watch"
    watch_fifo -i 50ms
    watch_line start
    vcmd mark
    vcmd "write a 30-35,50"
    kill -TERM "$PSPID"
    watch_line end
    assert_equal "$(jq -r .reason <<<"$WLINE")" signal
    watch_close
    ps_reap
    assert_equal "$status" 0
    victim_truth "$BATS_TEST_TMPDIR/truth"
    jq -c 'select(.type == "interval") | .regions[] | {type: "region", start: .start, "end": .end}' "$BATS_TEST_TMPDIR/watch" |
        victim_ranges a >"$BATS_TEST_TMPDIR/got"
    assert_ranges_equal "$BATS_TEST_TMPDIR/truth" "$BATS_TEST_TMPDIR/got"
    no_uffd_left "$VPID"
    vcmd "check a"
}
