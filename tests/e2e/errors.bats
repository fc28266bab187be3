#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Error handling of dump / engage / release: exit status (64 usage, 1
# runtime) and a message that names the problem. Key words only: the
# wording may be polished.

# shellcheck disable=SC2154 # stderr is set by bats' run --separate-stderr
load common

setup_file() {
    kernel_supports
}

teardown() {
    common_teardown
}

# usage_error ARGS...: pagescan ARGS exits 64 with a "pagescan: " message
# (argp spells it "pagescan COMMAND: ", then a "Try ... --help" line).
usage_error() {
    run --separate-stderr "$PAGESCAN" "$@"
    [[ $status == 64 ]] || fail "pagescan $* exited $status, want 64 (usage error); stderr: $stderr"
    [[ $stderr =~ ^pagescan(\ [a-z]+)?:\  ]] || fail "pagescan $*: stderr does not start with 'pagescan: ': $stderr"
}

# runtime_error ARGS...: pagescan ARGS exits 1 with exactly one stderr line
# "pagescan: <cause>..." and nothing on stdout.
runtime_error() {
    run --separate-stderr "$PAGESCAN" "$@"
    [[ $status == 1 ]] || fail "pagescan $* exited $status, want 1; stderr: $stderr"
    [[ $stderr == pagescan:\ * ]] || fail "pagescan $*: stderr does not start with 'pagescan: ': $stderr"
    [[ $(wc -l <<<"$stderr") == 1 ]] || fail "pagescan $*: want one line on stderr, got: $stderr"
}

# a pid that belonged to a process that has exited and been reaped
gone_pid() {
    local p
    sleep 0 &
    p=$!
    wait "$p"
    echo "$p"
}

@test "no such process: exit 1, says so" {
    local p
    p=$(gone_pid)
    runtime_error dump "$p"
    assert_regex "$stderr" "no such process"
    assert_regex "$stderr" "$p"
    runtime_error engage "$p"
    assert_regex "$stderr" "no such process"
    runtime_error release "$p"
    assert_regex "$stderr" "no such process"
}

@test "missing or malformed PID: exit 64" {
    usage_error dump
    assert_regex "$stderr" '[Pp][Ii][Dd]'
    usage_error engage
    assert_regex "$stderr" '[Pp][Ii][Dd]'
    usage_error release
    assert_regex "$stderr" '[Pp][Ii][Dd]'
    usage_error dump abc
    assert_regex "$stderr" 'abc'
    usage_error dump 12abc
    assert_regex "$stderr" '12abc'
    usage_error dump -- -5
    usage_error dump 0
    usage_error dump 99999999999999999999
    usage_error engage xyz
    assert_regex "$stderr" 'xyz'
}

@test "bad mask: exit 64, the message names the bad term" {
    victim_start
    usage_error dump "$VPID" -m bogus
    assert_regex "$stderr" 'bogus'
    usage_error dump "$VPID" -m 'present,nosuchcat'
    assert_regex "$stderr" 'nosuchcat'
    usage_error dump "$VPID" -m ''
    usage_error dump "$VPID" -m 'written,!written'
    assert_regex "$stderr" 'written'
    usage_error dump "$VPID" -m 'present,,file'
}

@test "bad range: exit 64, the message names the range" {
    victim_start
    usage_error dump "$VPID" -r 0x2000-0x1000
    assert_regex "$stderr" '0x2000-0x1000'
    usage_error dump "$VPID" -r 0x1000-0x1000
    assert_regex "$stderr" '0x1000-0x1000'
    usage_error dump "$VPID" -r 0xzz-0x2000
    assert_regex "$stderr" '0xzz'
    usage_error dump "$VPID" -r 0x1000+
    assert_regex "$stderr" '0x1000\+'
    usage_error dump "$VPID" -r 0x1000+12Q
    assert_regex "$stderr" '12Q'
    usage_error dump "$VPID" -r ''
    usage_error dump "$VPID" -r 0xffffffffffffffff+1M
    usage_error engage "$VPID" -r 0x2000-0x1000
    assert_regex "$stderr" '0x2000-0x1000'
    # nothing was engaged by the refused command
    assert_equal "$(uffd_count "$VPID")" 0
}

@test "bad format or option: exit 64, the message names it" {
    victim_start
    usage_error dump "$VPID" -f xml
    assert_regex "$stderr" 'xml'
    usage_error dump "$VPID" -f ''
    usage_error dump "$VPID" --no-such-option
    assert_regex "$stderr" 'no-such-option'
    usage_error dump "$VPID" -M abc
    assert_regex "$stderr" 'abc'
    usage_error dump "$VPID" -M -5
    usage_error dump "$VPID" "$VPID"
    usage_error engage "$VPID" -f xml
    assert_regex "$stderr" 'xml'
}

@test "dump --clear without written in the mask: exit 64" {
    victim_start
    usage_error dump "$VPID" --clear
    assert_regex "$stderr" 'written'
    usage_error dump "$VPID" -m present --clear
    assert_regex "$stderr" 'written'
    # with written it is accepted
    run --separate-stderr "$PAGESCAN" dump "$VPID" -m written --clear -f json
    assert_success
}

@test "engage twice: exit 1, already tracked, suggests release; the first stays intact" {
    victim_start
    vmap a anon 32
    ps_ok "$BATS_TEST_TMPDIR/engage.out" engage "$VPID"
    runtime_error engage "$VPID"
    assert_regex "$stderr" 'already tracked'
    assert_regex "$stderr" "release"
    assert_equal "$(uffd_count "$VPID")" 1
    # the first engage still tracks exactly
    vcmd mark
    vcmd "write a 4-6"
    victim_truth "$BATS_TEST_TMPDIR/truth"
    ps_ok "$BATS_TEST_TMPDIR/out" dump "$VPID" -m written -f json
    victim_ranges <"$BATS_TEST_TMPDIR/out" >"$BATS_TEST_TMPDIR/got"
    assert_ranges_equal "$BATS_TEST_TMPDIR/truth" "$BATS_TEST_TMPDIR/got"
    ps_ok "$BATS_TEST_TMPDIR/release.out" release "$VPID"
    no_uffd_left "$VPID"
}

@test "release when not engaged: exit 1, not engaged" {
    victim_start
    vcmd status
    local before=$REPLY_LINE
    runtime_error release "$VPID"
    assert_regex "$stderr" 'not engaged'
    # and again after a release
    ps_ok "$BATS_TEST_TMPDIR/engage.out" engage "$VPID"
    ps_ok "$BATS_TEST_TMPDIR/release.out" release "$VPID"
    runtime_error release "$VPID"
    assert_regex "$stderr" 'not engaged'
    vcmd status
    assert_equal "$REPLY_LINE" "$before"
}

@test "kernel thread (pid 2): refused with exit 1" {
    [[ $(cat /proc/2/comm 2>/dev/null) == kthreadd ]] || skip "pid 2 is not kthreadd here"
    runtime_error dump 2
    assert_regex "$stderr" '[Kk]ernel'
    runtime_error engage 2
    assert_regex "$stderr" '[Kk]ernel'
    runtime_error release 2
}

@test "zombie process: refused with exit 1" {
    victim_start
    vcmd zombie
    local z=${REPLY_LINE#ok }
    [[ $(awk '{ print $3 }' "/proc/$z/stat") == Z ]] || fail "test premise: $z is not a zombie"
    runtime_error dump "$z"
    assert_regex "$stderr" '[Zz]ombie|exited|defunct'
    runtime_error engage "$z"
    assert_regex "$stderr" '[Zz]ombie|exited|defunct'
    runtime_error release "$z"
}

@test "a -r that selects nothing: engage and watch say so and name the closest mappings; nothing is left behind" {
    victim_start
    run --separate-stderr "$PAGESCAN" engage -r libc.so "$VPID"
    [[ $status == 1 ]] || fail "engage -r libc.so exited $status; stderr: $stderr"
    assert_regex "$stderr" "-r libc\.so matches no mapping of the process; closest names it has: libc\.so\.6"
    assert_regex "$stderr" "nothing in process $VPID could be tracked"
    assert_equal "$(uffd_count "$VPID")" 0
    run --separate-stderr "$PAGESCAN" watch -n 1 -i 100ms -r 0x1000+4K "$VPID"
    [[ $status == 1 ]] || fail "watch -r 0x1000+4K exited $status; stderr: $stderr"
    assert_regex "$stderr" "-r 0x1000-0x2000 covers no mapping of the process"
    assert_equal "$(uffd_count "$VPID")" 0
}

@test "watch --prom-file DIR, -o /dev/full: exit 1, the message names the option and the path; a directory before attaching" {
    victim_start
    mkdir "$BATS_TEST_TMPDIR/dir"
    runtime_error watch "$VPID" -q -d 30ms --prom-file="$BATS_TEST_TMPDIR/dir"
    assert_regex "$stderr" "--prom-file $BATS_TEST_TMPDIR/dir: $BATS_TEST_TMPDIR/dir is a directory"
    # refused before attaching: no header, no end line (once with the
    # system's uptime as its duration), nothing left in the target
    assert_equal "$output" ""
    assert_equal "$(uffd_count "$VPID")" 0
    run --separate-stderr "$PAGESCAN" watch "$VPID" -q -d 30ms -o /dev/full
    [[ $status == 1 ]] || fail "watch -o /dev/full exited $status; stderr: $stderr"
    assert_equal "$(without_machine_notes "$stderr")" "pagescan: cannot write the report to /dev/full: No space left on device"
    assert_equal "$(uffd_count "$VPID")" 0
}

@test "--sample below 1/65536: exit 64, the message names the minimum" {
    local v
    for v in 0.0000001 1/99999999999999999999 1/65537; do
        usage_error watch 1 --sample="$v"
        assert_equal "${stderr%%$'\n'*}" "pagescan watch: invalid --sample \"$v\": the smallest fraction is 1/65536 (0.0015%); a smaller one samples nothing in most intervals"
    done
    # the minimum itself is accepted (the parse goes on to the PID check)
    usage_error watch --sample=1/65536
    assert_regex "$stderr" 'missing PID'
}

@test "watch --cgroup of a cgroup v1 hierarchy, of another file system, or empty: exit 64, names cgroup v2" {
    usage_error watch --cgroup=""
    assert_equal "${stderr%%$'\n'*}" "pagescan watch: --cgroup needs a cgroup v2 directory, e.g. /sys/fs/cgroup/system.slice/NAME.service"
    usage_error watch --cgroup="$BATS_TEST_TMPDIR"
    assert_regex "$stderr" "--cgroup $BATS_TEST_TMPDIR is not a cgroup v2 directory \(not on a cgroup2 file system\)"
    local v1
    v1=$(awk '$3 == "cgroup" { print $2; exit }' /proc/mounts)
    [[ -n $v1 ]] || skip "no cgroup v1 hierarchy mounted"
    usage_error watch --cgroup="$v1" -n 1
    assert_regex "$stderr" "--cgroup $v1 is not a cgroup v2 directory \(it is in a cgroup v1 hierarchy\)"
}

@test "an empty file name (-o, --prom-file, report, --svg): exit 64, says a file name is needed" {
    usage_error watch 1 -o ""
    assert_equal "${stderr%%$'\n'*}" "pagescan watch: -o needs a file name (an empty one was given)"
    usage_error run -o "" -- true
    assert_equal "${stderr%%$'\n'*}" "pagescan run: -o needs a file name (an empty one was given)"
    usage_error watch 1 --prom-file=""
    assert_equal "${stderr%%$'\n'*}" "pagescan watch: --prom-file needs a file name (an empty one was given)"
    usage_error report ""
    assert_equal "${stderr%%$'\n'*}" "pagescan report: the recording's file name is empty: give FILE, or - for standard input"
    usage_error report - --svg ""
    assert_equal "${stderr%%$'\n'*}" "pagescan report: --svg needs a file name (an empty one was given)"
}

@test "a thread id that is not a process: exit 1, names its process" {
    # 3>&-: bats waits for fd 3 to close; the process must not hold it.
    python3 -c 'import threading, time; threading.Thread(target=time.sleep, args=(600,)).start(); time.sleep(600)' \
        </dev/null >/dev/null 2>&1 3>&- &
    local p=$! tid= i
    for i in $(seq 50); do
        tid=$(ls "/proc/$p/task" | grep -vx "$p" | head -n 1)
        [[ -n $tid ]] && break
        sleep 0.1
    done
    [[ -n $tid ]] || { kill "$p"; fail "no second thread in process $p"; }
    local c
    for c in dump engage release watch; do
        runtime_error "$c" "$tid"
        assert_equal "$stderr" "pagescan: $tid is a thread of process $p, not a process: give $p"
    done
    kill "$p"
    wait "$p" || true
}

@test "pagescan's own pid: exit 1, cannot track pagescan itself" {
    # exec: the shell's own $$ becomes pagescan's pid
    # shellcheck disable=SC2016 # the shell's $$
    run --separate-stderr sh -c 'exec "$1" watch -n 1 $$' sh "$PAGESCAN"
    assert_equal "$status" 1
    assert_regex "$stderr" '^pagescan: cannot track pagescan itself \(process [0-9]+ is this pagescan\)$'
    # shellcheck disable=SC2016
    run --separate-stderr sh -c 'exec "$1" engage $$' sh "$PAGESCAN"
    assert_equal "$status" 1
    assert_regex "$stderr" '^pagescan: cannot track pagescan itself \(process [0-9]+ is this pagescan\)$'
}

@test "release --fd of an fd the target does not have: exit 1, says it has no such fd" {
    victim_start
    [[ ! -e /proc/$VPID/fd/1000 ]] || skip "the victim has an fd 1000"
    runtime_error release "$VPID" --fd=1000
    assert_equal "$stderr" "pagescan: process $VPID has no fd 1000"
    # an fd it has that is something else
    runtime_error release "$VPID" --fd=1
    assert_equal "$stderr" "pagescan: fd 1 of process $VPID is not a userfaultfd"
}

@test "--seed parses as the other integer options: decimal digits only, 0 to 2^64-1" {
    local v
    for v in 0x10 " 5" +5 1e3 ""; do
        usage_error watch 1 --sample 1/16 --seed="$v"
        assert_equal "${stderr%%$'\n'*}" "pagescan watch: invalid --seed \"$v\": $( [[ -z $v ]] && echo "empty number" || echo "invalid number \"$v\": expected a decimal integer")"
    done
    usage_error watch 1 --sample 1/16 --seed=-5
    assert_equal "${stderr%%$'\n'*}" "pagescan watch: invalid --seed \"-5\": number -5 is too small (minimum 0)"
    usage_error watch 1 --sample 1/16 --seed=18446744073709551616
    assert_regex "$stderr" 'too large \(maximum 18446744073709551615\)'
    # 010 is ten, not octal eight; the largest is taken
    victim_start
    ps_ok "$BATS_TEST_TMPDIR/out" watch "$VPID" -n 1 -i 10ms -f json --sample 1/16 --seed=010
    assert_equal "$(jq -r 'select(.type == "start") | .sample.seed' "$BATS_TEST_TMPDIR/out")" 10
    ps_ok "$BATS_TEST_TMPDIR/out" watch "$VPID" -n 1 -i 10ms -f json --sample 1/16 --seed=18446744073709551615
    # (not through jq: its numbers are doubles)
    assert_equal "$(head -n 1 "$BATS_TEST_TMPDIR/out" | grep -o '"seed":[0-9]*')" '"seed":18446744073709551615'
}

# The report of run cannot be written (/dev/full, a file system that fills,
# a reader that went away): the command runs to its end untracked; a write
# error is reported after it (exit 1, one line), a reader that went away is
# not (the usual `| head`: run exits with the command's status).
run_cmd() { # run_cmd FIFO MARK: a command that waits on FIFO, forks 200 times, marks its end and exits 3
    # shellcheck disable=SC2016 # the command's own $i
    printf 'read x <%s; i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i+1)); done; echo ran >%s; exit 3' "$1" "$2"
}

# release_and_end PID STATUS STDERR: let run_cmd go on (failing when nobody
# reads $fifo, the command killed, instead of hanging), wait for pagescan
# PID: the command ran to its end, pagescan exited STATUS saying STDERR.
release_and_end() {
    timeout 20 sh -c 'echo go >"$1"' sh "$fifo" || fail "the command is gone: nobody reads $fifo"
    local st=0
    wait "$1" || st=$?
    assert_equal "$(cat "$mark")" ran
    assert_equal "$st" "$2"
    assert_equal "$(without_machine_notes "$(cat "$d/stderr")")" "$3"
}

@test "run with an unwritable report (/dev/full): the command runs to its end; then exit 1, says so" {
    local d=$BATS_TEST_TMPDIR fifo=$BATS_TEST_TMPDIR/go mark=$BATS_TEST_TMPDIR/mark
    mkfifo "$fifo"
    "$PAGESCAN" run -i 10ms -f json -- sh -c "$(run_cmd "$fifo" "$mark")" >/dev/full 2>"$d/stderr" &
    release_and_end $! 1 "pagescan: cannot write the report: No space left on device"
}

@test "run whose report fills its file system: the command runs to its end; then exit 1, says so" {
    command -v unshare >/dev/null || skip "no unshare (util-linux)"
    local d=$BATS_TEST_TMPDIR fifo=$BATS_TEST_TMPDIR/go mark=$BATS_TEST_TMPDIR/mark
    mkdir "$d/small"
    mkfifo "$fifo"
    # A 16 KiB tmpfs in a mount namespace of the test's own (gone with it):
    # the records of the first intervals fill it.
    unshare --mount sh -c 'mount -t tmpfs -o size=16k none "$1" && exec "$2" run -i 10ms -f json -o "$1/out" -- sh -c "$3"' \
        sh "$d/small" "$PAGESCAN" "$(run_cmd "$fifo" "$mark")" >"$d/stdout" 2>"$d/stderr" &
    release_and_end $! 1 "pagescan: cannot write the report to $d/small/out: No space left on device"
}

@test "run whose tracking fails midway (test twin: a tick fails): the command runs to its end untracked; then exit 1, says so" {
    # PAGESCAN_TEST_TICK_FAIL=N, read only by the test twin
    # (cmake/TestHooks.cmake): the Nth tick fails as an internal error would.
    local twin=${BUILD_DIR:-}/test-hooks/pagescan d=$BATS_TEST_TMPDIR fifo=$BATS_TEST_TMPDIR/go mark=$BATS_TEST_TMPDIR/mark
    [[ -x $twin ]] || skip "no test twin $twin (configure with -DPAGESCAN_TEST_HOOKS=ON)"
    mkfifo "$fifo" "$d/out"
    # The command forks at once (its child waits on the fifo): the failure
    # comes at the 20th tick (0.2 s), in the loop that follows several
    # processes. Then it looks at itself and goes on.
    # shellcheck disable=SC2016 # the command's own $$ and $i
    PAGESCAN_TEST_TICK_FAIL=20 "$twin" run -i 10ms -f json -- sh -c "(read x <'$fifo') & wait \$!
        grep TracerPid /proc/\$\$/status >'$d/tracer'; grep -c '^VmFlags:.* uw' /proc/\$\$/smaps >'$d/uw'
        $(run_cmd /dev/null "$mark")" >"$d/out" 2>"$d/stderr" 3>&- &
    local ps=$! untraced=0
    read_to_end "$d/out" "$d/got" || true
    # (failing or not, the command is let go: never left waiting)
    wait_untraced "$(cat "/proc/$ps/task/$ps/children")" || untraced=1
    release_and_end "$ps" 1 \
        "pagescan: tick 20 failed (PAGESCAN_TEST_TICK_FAIL); tracking stopped there, the command ran on untracked and exited with status 3"
    assert_equal "$untraced" 0
    assert_equal "$(jq -r 'select(.type == "end") | .reason' "$d/got")" error
    # untracked from the failure on: no tracer, no write-protected mapping
    assert_equal "$(awk '{ print $2 }' "$d/tracer")" 0
    assert_equal "$(cat "$d/uw")" 0
}

@test "run whose reader goes away (| head -c 10): the command runs to its end, run exits with its status" {
    local d=$BATS_TEST_TMPDIR fifo=$BATS_TEST_TMPDIR/go mark=$BATS_TEST_TMPDIR/mark
    mkfifo "$fifo" "$d/out"
    "$PAGESCAN" run -i 10ms -f json -- sh -c "$(run_cmd "$fifo" "$mark")" >"$d/out" 2>"$d/stderr" &
    local ps=$!
    run head -c 10 "$d/out" # and the reader is gone
    assert_output '{"type":"s'
    release_and_end "$ps" 3 ""
}
