#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# pagescan run: a command's written pages are exact from its first
# instruction (the programs record their own truth); its exit status
# propagates (also death by signal); its stdin/stdout/stderr stay the
# user's; a command that cannot run fails clearly.

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

# runprog_window TRUTH PAGES: "0xS-0xE" of runprog's mapping (page 0 is
# always written, so the first truth range starts it).
runprog_window() {
    local s
    read -r s _ <"$1"
    printf '%s-0x%x' "$s" $((s + $2 * 4096))
}

# run_exact PAGES: runprog's pages, written at once after its mmap, are
# the run's union exactly, each in one interval only.
run_exact() {
    local d=$BATS_TEST_TMPDIR
    ps_ok "$d/stdout" run -i 100ms -f json -o "$d/out.json" -- "$TARGETS/runprog" "$d/truth" "$1"
    assert_equal "$(cat "$d/stdout")" ""
    assert_equal "$(wc -l <"$d/truth")" $((($1 + 2) / 3))
    w_check --log "$d/out.json" --windows "$(runprog_window "$d/truth" "$1")" --union "$d/truth" --once \
        --untracked-ok --reason target-exit
    assert_equal "$(w_end_field exit_status "$d/out.json")" 0
}

@test "run: a short program's writes to a fresh mapping are exact from its first write" {
    run_exact 300
}

@test "run: a one-page mapping written at once is reported" {
    run_exact 1
}

@test "run: writes to .bss and .data before any tick are exact (tracking engaged before the first instruction)" {
    local d=$BATS_TEST_TMPDIR
    ps_ok "$d/stdout" run -i 1h -f json -o "$d/out.json" -- "$TARGETS/runbss" "$d/truth" "$d/windows"
    assert_equal "$(wc -l <"$d/windows")" 2
    w_check --log "$d/out.json" --windows "$(tr '\n' ' ' <"$d/windows")" --union "$d/truth" --once \
        --untracked-ok --reason target-exit
    # one interval only: the one harvested at its exit
    assert_equal "$(w_end_field intervals "$d/out.json")" 1
}

@test "run: a program held alive is watched interval by interval; its new mapping is engaged; status 3 propagates" {
    local d=$BATS_TEST_TMPDIR
    mkfifo "$d/hold"
    RUNPROG_HOLD=$d/hold w_start run -i 100ms -f json -- "$TARGETS/runprog" "$d/truth" 200 3
    w_until_seq 3
    # opening the fifo waits for runprog: by then its truth is written
    echo go >"$d/hold"
    w_finish
    assert_equal "$WSTATUS" 3
    local win
    win=$(runprog_window "$d/truth" 200)
    w_check --windows "$win" --union "$d/truth" --once --untracked-ok --reason target-exit
    assert_equal "$(w_end_field exit_status)" 3
    # some interval engaged the whole mapping
    jq -r 'select(.type == "interval") | .engaged[] | "\(.start) \(.end)"' "$WLOG" | ranges_merge |
        ranges_clip "${win%-*}" "${win#*-}" >"$d/eng"
    assert_equal "$(cat "$d/eng")" "${win%-*} ${win#*-}"
}

@test "run: exit status propagates: 0, 3, and 128+N for death by signal N" {
    local d=$BATS_TEST_TMPDIR arg want
    for arg in 0:0 3:3 sig:9:137 sig:15:143 sig:10:138; do
        want=${arg##*:}
        arg=${arg%:*}
        ps_to "$d/stdout" run -i 100ms -f json -o "$d/out.$want" -- "$TARGETS/runprog" "$d/truth" 3 "$arg"
        [[ $status == "$want" ]] || fail "runprog $arg: pagescan run exited $status, want $want (stderr: $stderr)"
        w_check --log "$d/out.$want" --untracked-ok --reason target-exit
        assert_equal "$(w_end_field exit_status "$d/out.$want")" "$want"
    done
}

@test "run: the command's stdin, stdout and stderr stay the user's" {
    local d=$BATS_TEST_TMPDIR st=0
    # shellcheck disable=SC2016 # $x is for the inner shell
    printf 'hello world\n' | "$PAGESCAN" run -i 100ms -f json -o "$d/report" -- \
        sh -c 'read x; echo "got $x"; echo "to stderr" >&2; exit 4' >"$d/stdout" 2>"$d/stderr" || st=$?
    assert_equal "$st" 4
    assert_equal "$(cat "$d/stdout")" "got hello world"
    assert_equal "$(cat "$d/stderr")" "to stderr"
    w_check --log "$d/report" --untracked-ok --reason target-exit
    assert_equal "$(w_end_field exit_status "$d/report")" 4
    # without -o the text report shares stdout with the command's output
    st=0
    # shellcheck disable=SC2016
    printf 'line two\n' | "$PAGESCAN" run -q -i 100ms -- sh -c 'read x; echo "got $x"' >"$d/stdout2" 2>"$d/stderr2" || st=$?
    assert_equal "$st" 0
    grep -qx 'got line two' "$d/stdout2" || fail "command output missing: $(cat "$d/stdout2")"
    grep -q '^end: target-exit' "$d/stdout2" || fail "no end line in: $(cat "$d/stdout2")"
    grep -q '^command exit status: 0$' "$d/stdout2" || fail "no exit status line in: $(cat "$d/stdout2")"
}

@test "run: a command that does not exist fails clearly" {
    run --separate-stderr "$PAGESCAN" run -- "$BATS_TEST_TMPDIR/no-such-command"
    [[ $status == 1 || $status == 127 ]] || fail "exit status $status (want 1 or 127)"
    [[ $stderr == *"$BATS_TEST_TMPDIR/no-such-command"* ]] || fail "the message does not name the command: $stderr"
    run --separate-stderr "$PAGESCAN" run -f json -- pagescan-no-such-command-xyz
    [[ $status == 1 || $status == 127 ]] || fail "exit status $status (want 1 or 127)"
    [[ $stderr == *"pagescan-no-such-command-xyz"* ]] || fail "the message does not name the command: $stderr"
    # no report of a watch that never started
    [[ $output != *'"type":"interval"'* ]] || fail "intervals reported for a command that never ran: $output"
}

@test "run -n: the watch ends first, the command runs on untracked and its status still propagates" {
    local d=$BATS_TEST_TMPDIR
    mkfifo "$d/hold"
    RUNPROG_HOLD=$d/hold w_start run -n 2 -i 100ms -f json -- "$TARGETS/runprog" "$d/truth" 30 5
    w_until_seq 2
    while [[ -z $WEND ]]; do
        w_line || fail "no end record after 2 intervals"
    done
    # the command is still alive, and holds no userfaultfd
    local child
    child=$(cat "/proc/$WPID/task/$WPID/children")
    [[ -n $child ]] || fail "the command is gone before it was released"
    no_uffd_left "$child"
    echo go >"$d/hold"
    w_finish
    assert_equal "$WSTATUS" 5
    w_check --untracked-ok --reason count
}

@test "run: warns about a kernel with known bugs, once, like watch" {
    local twin=$BUILD_DIR/test-hooks/pagescan
    [[ -x $twin ]] || skip "no test twin at $twin (configure with -DPAGESCAN_TEST_HOOKS=ON)"
    PAGESCAN_TEST_KERNEL_RELEASE=6.8.9-300.fc40.x86_64 run -0 --separate-stderr "$twin" run -i 100ms -q -- true
    [[ $stderr == *"Linux 6.8.9-300.fc40.x86_64 has a known kernel bug: closing the userfaultfd"* ]] ||
        fail "no warning about the close bug on 6.8.9: $stderr"
    assert_equal "$(grep -c 'closing the userfaultfd' <<<"$stderr")" 1
    PAGESCAN_TEST_KERNEL_RELEASE=6.8.10 run -0 --separate-stderr "$twin" run -i 100ms -q -- true
    [[ $stderr != *"known kernel bug"* ]] || fail "warned on a fixed kernel: $stderr"
}
