#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Safe to run as root (docs/threat-model.md): the files pagescan creates
# under names it invents never follow or truncate what someone planted in
# the directory; the files the user names behave like the shell's `>`;
# `run --user` runs the command with the user's ids while pagescan keeps
# its privileges, and tracks it exactly; names the target controls (its
# mappings' file names, its command name) never reach a terminal or a
# parser as raw control bytes. The test hook is checked in package.bats
# (the packaged binary) and used by fault_blocked.bats (the test twin).

# shellcheck disable=SC2153,SC2154 # WDIR, WSEQ...: watch_helpers; status, stderr: bats
load common
load watch_helpers
load hostile

setup_file() {
    kernel_supports
}

teardown() {
    w_cleanup
    common_teardown
    if [[ -n ${ND:-} && $ND == /tmp/pagescan-sec.* ]]; then
        rm -rf "$ND"
    fi
    ND=
}

PRECIOUS=precious

# plant DIR BASE: a file "precious" and, in DIR, a symbolic link to it
# under every name a program might use for the temporary file of BASE
# (BASE.tmp, .BASE.tmp, BASE~, BASE.new, BASE.swp, ...), plus a hard link.
# Sets PFILE (the precious file, outside DIR) and PLANTED (the names).
plant() {
    local dir=$1 base=$2 n
    PFILE=$BATS_TEST_TMPDIR/precious-file
    printf '%s\n' "$PRECIOUS" >"$PFILE"
    PLANTED=("$base.tmp" ".$base.tmp" "$base~" "$base.new" "$base.swp" ".$base.swp"
        ".#$base" "$base.part" "$base.lock" "$base.0" "$base.tmp.0" ".$base")
    for n in "${PLANTED[@]}"; do
        ln -s "$PFILE" "$dir/$n"
    done
    ln "$PFILE" "$dir/$base.hardlink"
    PLANTED+=("$base.hardlink")
}

# planted_intact DIR: the precious file still holds "precious", every
# planted name is still what it was, and the directory holds nothing else
# but the names given after DIR.
planted_intact() {
    local dir=$1 n
    shift
    assert_equal "$(cat "$PFILE")" "$PRECIOUS"
    for n in "${PLANTED[@]}"; do
        if [[ $n == *.hardlink ]]; then
            [[ $dir/$n -ef $PFILE ]] || fail "$n is no longer the hard link"
        else
            [[ -L $dir/$n && $(readlink "$dir/$n") == "$PFILE" ]] || fail "the symlink $n was replaced or removed"
        fi
    done
    local want got
    want=$(printf '%s\n' "${PLANTED[@]}" "$@" | sort)
    got=$(cd "$dir" && find . -mindepth 1 -maxdepth 1 -printf '%P\n' | sort)
    assert_equal "$got" "$want"
}

# prom_ok FILE PID: a complete metrics file of a watch that has ended.
prom_ok() {
    [[ -f $1 && ! -L $1 ]] || fail "$1 is not a regular file"
    grep -Eq '^pagescan_watch_running\{pid="'"$2"'",command="victim"\} 0$' "$1" ||
        fail "no final metrics in $1: $(head -c 400 "$1")"
    grep -Eq '^pagescan_intervals_total\{[^}]*\} [0-9]+$' "$1" || fail "no intervals_total in $1"
}

# nobody_dir: a directory the user nobody owns, outside the bats temporary
# tree (which only root may enter); sets ND, removed by teardown.
nobody_dir() {
    ND=$(mktemp -d /tmp/pagescan-sec.XXXXXX)
    chown nobody: "$ND"
    chmod 0755 "$ND"
}

# runprog_window TRUTH PAGES: "0xS-0xE" of runprog's mapping.
runprog_window() {
    local s
    read -r s _ <"$1"
    printf '%s-0x%x' "$s" $((s + $2 * PAGE_SIZE))
}

# ---- files with invented names: --prom-file's temporary files ---------------

@test "--prom-file: symlinks and a hard link planted under every likely temporary name are left alone; the metrics are written" {
    local d=$BATS_TEST_TMPDIR/collector
    mkdir -p "$d"
    plant "$d" metrics.prom
    victim_start
    vmap a anon 16
    ps_ok "$BATS_TEST_TMPDIR/out" watch "$VPID" -i 20ms -n 3 -q --prom-file "$d/metrics.prom"
    prom_ok "$d/metrics.prom" "$VPID"
    # nothing but the metrics file was added (no temporary file left behind)
    planted_intact "$d" metrics.prom
    # the same with the file already there, through run (a command of ours)
    ps_ok "$BATS_TEST_TMPDIR/out" run -i 20ms -q --prom-file "$d/metrics.prom" -- "$TARGETS/runprog" "$BATS_TEST_TMPDIR/truth" 8
    grep -Eq '^pagescan_watch_running\{pid="[0-9]+",command="runprog"\} 0$' "$d/metrics.prom" ||
        fail "run did not replace the metrics: $(head -c 400 "$d/metrics.prom")"
    planted_intact "$d" metrics.prom
    victim_stop
}

@test "--prom-file PATH that is a symlink to a file: the link is replaced by the metrics file, its target is untouched" {
    local d=$BATS_TEST_TMPDIR/collector
    mkdir -p "$d"
    PFILE=$BATS_TEST_TMPDIR/precious-file
    printf '%s\n' "$PRECIOUS" >"$PFILE"
    ln -s "$PFILE" "$d/metrics.prom"
    victim_start
    ps_ok "$BATS_TEST_TMPDIR/out" watch "$VPID" -i 20ms -n 2 -q --prom-file "$d/metrics.prom"
    assert_equal "$(cat "$PFILE")" "$PRECIOUS"
    prom_ok "$d/metrics.prom" "$VPID"
    victim_stop
}

@test "--prom-file: every file pagescan creates is O_CREAT|O_EXCL|O_NOFOLLOW under a fresh name, relative to the directory it opened once (strace)" {
    command -v strace >/dev/null || skip "strace is not installed (.ci/deps installs it)"
    local d=$BATS_TEST_TMPDIR/collector log=$BATS_TEST_TMPDIR/strace.log
    mkdir -p "$d"
    victim_start
    vmap a anon 16
    # -f: pagescan's injection thread too (the victim is not our child).
    # LeakSanitizer cannot run under ptrace: off for an ASan build.
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq -o "$log" -e trace=open,openat,openat2,creat,rename,renameat,renameat2,link,linkat,unlink,unlinkat,symlink,symlinkat \
        "$PAGESCAN" watch "$VPID" -i 20ms -n 3 -q --prom-file "$d/m.prom" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" ||
        fail "pagescan under strace failed: $(cat "$BATS_TEST_TMPDIR/err")"
    prom_ok "$d/m.prom" "$VPID"
    # every creating open
    local creates bad
    creates=$(grep -E 'O_CREAT|creat\(' "$log" || true)
    [[ -n $creates ]] || fail "no file creation seen by strace: $(head -n 40 "$log")"
    bad=$(grep -vE '^[0-9]+ +openat\([0-9]+, "\.m\.prom\.[0-9a-f]{16}\.tmp", O_WRONLY\|O_CREAT\|O_EXCL\|O_NOCTTY\|O_NOFOLLOW\|O_CLOEXEC, 0644\) = [0-9]+$' <<<"$creates" || true)
    [[ -z $bad ]] || fail "$(printf 'a file created otherwise than O_EXCL|O_NOFOLLOW under a fresh name in the opened directory:\n%s' "$bad")"
    # fresh names: no name used twice (start check + start + 3 intervals + end)
    local names
    names=$(grep -oE '"\.m\.prom\.[0-9a-f]{16}\.tmp"' <<<"$creates")
    assert_equal "$(sort <<<"$names" | uniq -d)" ""
    (($(wc -l <<<"$names") >= 5)) || fail "only $(wc -l <<<"$names") files created: $creates"
    # the directory was opened once (O_PATH), and every rename is within it
    local dirfd
    dirfd=$(grep -F "\"$d\", " "$log" | grep -E 'O_PATH' | grep -E 'O_DIRECTORY' | sed -E 's/.* = ([0-9]+)$/\1/')
    [[ $dirfd =~ ^[0-9]+$ ]] || fail "$d was not opened exactly once with O_PATH|O_DIRECTORY: $(grep -F "\"$d" "$log")"
    bad=$(grep -E 'rename|link\(|linkat|symlink|unlink' "$log" |
        grep -vE "^[0-9]+ +(renameat2?\\($dirfd, \"\\.m\\.prom\\.[0-9a-f]{16}\\.tmp\", $dirfd, \"m\\.prom\"(, 0)?\\)|unlinkat\\($dirfd, \"\\.m\\.prom\\.[0-9a-f]{16}\\.tmp\", 0\\)) = 0$" || true)
    [[ -z $bad ]] || fail "$(printf 'other renames, links or unlinks:\n%s' "$bad")"
    victim_stop
}

@test "--prom-file: the directory is opened once; replacing it by a symlink during the watch does not redirect the writes" {
    local d=$BATS_TEST_TMPDIR/collector other=$BATS_TEST_TMPDIR/elsewhere fifo=$BATS_TEST_TMPDIR/rec
    mkdir -p "$d" "$other"
    victim_start
    vmap a anon 16
    mkfifo "$fifo"
    "$PAGESCAN" watch "$VPID" -i 20ms -f json -r "${MSTART[a]}-${MEND[a]}" --prom-file "$d/m.prom" \
        >"$fifo" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
    local wpid=$! line fd
    bg_track "$wpid"
    exec {fd}<"$fifo"
    # the prom sink runs after the JSON one: after interval 1's record,
    # the start version is there
    IFS= read -r -t 60 line <&"$fd" || fail "no start record: $(cat "$BATS_TEST_TMPDIR/err")"
    IFS= read -r -t 60 line <&"$fd" || fail "no interval: $(cat "$BATS_TEST_TMPDIR/err")"
    [[ -f $d/m.prom ]] || fail "no metrics file after the first interval"
    mv "$d" "$d.moved"
    ln -s "$other" "$d"
    # two more intervals: each replaced the file in the directory opened
    local i
    for i in 1 2 3; do
        IFS= read -r -t 60 line <&"$fd" || fail "the watch stopped: $(cat "$BATS_TEST_TMPDIR/err")"
    done
    kill -INT "$wpid"
    while IFS= read -r -t 60 line <&"$fd"; do :; done
    wait "$wpid" || fail "watch exited $?: $(cat "$BATS_TEST_TMPDIR/err")"
    exec {fd}<&-
    prom_ok "$d.moved/m.prom" "$VPID"
    assert_equal "$(ls -A "$other")" ""
    assert_equal "$(ls -A "$d.moved")" "m.prom"
    victim_stop
}

# ---- files the user names: -o and --svg, like the shell's `>` ----------------

@test "-o FILE and --svg FILE that are symlinks: written through the link like the shell's '>' (documented), nothing else touched" {
    local d=$BATS_TEST_TMPDIR
    victim_start
    vmap a anon 16
    printf 'old\n' >"$d/real-out"
    ln -s "$d/real-out" "$d/out-link"
    ps_ok "$d/stdout" watch "$VPID" -i 20ms -n 2 -f json -o "$d/out-link"
    [[ -L $d/out-link ]] || fail "-o replaced the symlink"
    w_jq_lines "$d/real-out"
    assert_equal "$(jq -r 'select(.type == "end") | .reason' "$d/real-out")" count
    assert_equal "$(cat "$d/stdout")" ""
    # --svg: the same
    printf 'old\n' >"$d/real.svg"
    ln -s "$d/real.svg" "$d/svg-link"
    ps_ok "$d/report.out" report "$d/real-out" --svg "$d/svg-link"
    [[ -L $d/svg-link ]] || fail "--svg replaced the symlink"
    head -c 200 "$d/real.svg" | grep -q '<svg' || fail "no SVG written through the link: $(head -c 200 "$d/real.svg")"
    victim_stop
}

# ---- run --user ---------------------------------------------------------------

@test "run --user nobody: id -u prints nobody's uid; gid, groups, HOME/USER/LOGNAME/SHELL are nobody's; no capability is left" {
    local d=$BATS_TEST_TMPDIR want_gid want_home want_shell
    want_gid=$(id -g nobody)
    want_home=$(getent passwd nobody | cut -d: -f6)
    want_shell=$(getent passwd nobody | cut -d: -f7)
    ps_ok "$d/stdout" run -q -o "$d/report" --user nobody -- id -u
    assert_equal "$(cat "$d/stdout")" 65534
    # the report is about the command, which exited 0
    grep -q '^command exit status: 0$' "$d/report" || fail "$(cat "$d/report")"
    ps_ok "$d/stdout" run -q -o "$d/report" --user nobody -- sh -c \
        'echo "$(id -u) $(id -g) $(id -G)"; echo "$HOME|$USER|$LOGNAME|$SHELL"; grep -E "^Cap(Inh|Prm|Eff|Amb):" /proc/self/status'
    assert_equal "$(sed -n 1p "$d/stdout")" "65534 $want_gid $(id -G nobody)"
    assert_equal "$(sed -n 2p "$d/stdout")" "$want_home|nobody|nobody|$want_shell"
    run grep -c '0000000000000000$' <(sed -n '3,$p' "$d/stdout")
    assert_output 4
    # USER:GROUP, numbers too; --preserve-env keeps pagescan's HOME
    ps_ok "$d/stdout" run -q -o "$d/report" --user 65534:0 -- sh -c 'echo "$(id -u) $(id -g)"'
    assert_equal "$(cat "$d/stdout")" "65534 0"
    HOME=/pagescan-home ps_ok "$d/stdout" run -q -o "$d/report" --user nobody --preserve-env -- sh -c 'echo "$HOME $(id -u)"'
    assert_equal "$(cat "$d/stdout")" "/pagescan-home 65534"
}

@test "run --user nobody: the command's writes are exact from its first, as for a root command; pagescan stays root" {
    local d=$BATS_TEST_TMPDIR
    nobody_dir
    ps_ok "$d/stdout" run --user nobody -i 100ms -f json -o "$d/out.json" -- "$TARGETS/runprog" "$ND/truth" 300
    assert_equal "$(cat "$d/stdout")" ""
    # the command wrote its truth as nobody
    assert_equal "$(stat -c %U "$ND/truth")" nobody
    assert_equal "$(wc -l <"$ND/truth")" 100
    w_check --log "$d/out.json" --windows "$(runprog_window "$ND/truth" 300)" --union "$ND/truth" --once \
        --untracked-ok --reason target-exit
    assert_equal "$(w_end_field exit_status "$d/out.json")" 0
    # held alive, interval by interval, then status 3: pagescan (root) is
    # still its tracer for the last harvest at its exit
    mkfifo "$ND/hold"
    chown nobody: "$ND/hold"
    RUNPROG_HOLD=$ND/hold w_start run --user nobody -i 100ms -f json -- "$TARGETS/runprog" "$ND/truth2" 200 3
    w_until_seq 2
    [[ $(stat -c %u "/proc/$(pgrep -P "$WPID" -x runprog)") == 65534 ]] || fail "the command does not run as nobody"
    echo go >"$ND/hold"
    w_finish
    assert_equal "$WSTATUS" 3
    w_check --windows "$(runprog_window "$ND/truth2" 200)" --union "$ND/truth2" --once --untracked-ok --reason target-exit
}

@test "run --user: an unknown user or group, or a bad spec, is exit 64 with one line naming it; nothing runs" {
    local d=$BATS_TEST_TMPDIR spec
    for spec in pagescan-no-such-user nobody:pagescan-no-such-group '' ':root' 'nobody:'; do
        run --separate-stderr "$PAGESCAN" run --user "$spec" -- touch "$d/ran"
        [[ $status == 64 ]] || fail "--user '$spec': exit $status, want 64; stderr: $stderr"
        assert_equal "$(wc -l <<<"$stderr")" 1
        [[ $stderr == "pagescan: "* ]] || fail "--user '$spec': $stderr"
        assert_equal "$output" ""
        assert_file_not_exists "$d/ran"
    done
    run --separate-stderr "$PAGESCAN" run --user pagescan-no-such-user -- true
    assert_equal "$stderr" 'pagescan: --user: no such user "pagescan-no-such-user"'
    run --separate-stderr "$PAGESCAN" run --user nobody:pagescan-no-such-group -- true
    assert_equal "$stderr" 'pagescan: --user: no such group "pagescan-no-such-group"'
    # --preserve-env alone is a usage error too
    run --separate-stderr "$PAGESCAN" run --preserve-env -- true
    assert_equal "$status" 64
    [[ $stderr == *"--preserve-env goes with --user"* ]] || fail "$stderr"
}

@test "run --user without the privilege to switch (pagescan run by nobody): exit 1, the message says which step failed and why" {
    command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"
    local d=$BATS_TEST_TMPDIR
    run --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups \
        "$PAGESCAN" run -q -o /dev/null --user root -- true
    assert_equal "$status" 1
    assert_equal "$stderr" "pagescan: cannot run true as user root: setgroups failed: Operation not permitted (switching users needs root, or CAP_SETUID and CAP_SETGID)"
    # an exec the user may not do is named with the user
    run --separate-stderr "$PAGESCAN" run -q -o /dev/null --user nobody -- "$d/x"
    assert_equal "$status" 1
    [[ $stderr == "pagescan: cannot run $d/x as user nobody: "* ]] || fail "$stderr"
}

@test "pagescan installed set-uid root refuses to run (run as root or grant CAP_SYS_PTRACE instead)" {
    command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"
    nobody_dir
    cp "$PAGESCAN" "$ND/pagescan"
    chown root:root "$ND/pagescan"
    chmod 4755 "$ND/pagescan"
    [[ $(findmnt -no OPTIONS -T "$ND") != *nosuid* ]] || skip "$ND is on a nosuid file system"
    run --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups "$ND/pagescan" run --user root -- id -u
    assert_equal "$status" 1
    assert_equal "$stderr" "pagescan: refusing to run set-uid or set-gid; run it as root or grant CAP_SYS_PTRACE instead"
    assert_equal "$output" ""
}

# ---- a target in another user namespace ------------------------------------------

# ns_cycle [CMD...]: on a victim in namespaces of its own with mapping "a":
# engage, write (a 5,20-29,63 and CMDs), dump -m written equals the truth,
# release leaves no userfaultfd, a short watch gives valid JSON
# ($BATS_TEST_TMPDIR/watch.json) and leaves none either.
ns_cycle() {
    local c
    vcmd "write a 0-9"
    ps_ok "$BATS_TEST_TMPDIR/engage.out" engage "$VPID"
    vcmd mark
    vcmd "write a 5,20-29,63"
    for c in "$@"; do
        vcmd "$c"
    done
    vcmd "truth $VDIR/truth"
    ps_ok "$BATS_TEST_TMPDIR/written.json" dump "$VPID" -m written -f json
    victim_ranges <"$BATS_TEST_TMPDIR/written.json" >"$BATS_TEST_TMPDIR/got"
    assert_ranges_equal "$VDIR/truth" "$BATS_TEST_TMPDIR/got"
    ps_ok "$BATS_TEST_TMPDIR/release.out" release "$VPID"
    no_uffd_left "$VPID"
    ps_ok "$BATS_TEST_TMPDIR/watch.json" watch "$VPID" -i 20ms -n 2 -f json
    w_jq_lines "$BATS_TEST_TMPDIR/watch.json"
    no_uffd_left "$VPID"
}

@test "target in a user namespace of its own (uid 0 there, nobody outside): engage and dump are exact, watch works, release leaves nothing" {
    command -v unshare >/dev/null && command -v setpriv >/dev/null || skip "unshare/setpriv (util-linux) are not installed"
    nobody_dir
    setpriv --reuid=nobody --regid=nogroup --clear-groups unshare --user --map-root-user true 2>/dev/null ||
        skip "this kernel does not let an unprivileged user create a user namespace"
    VDIR=$ND
    mkfifo "$VDIR/cmd" "$VDIR/reply"
    chown nobody: "$VDIR/cmd" "$VDIR/reply"
    # unshare execs the victim: same pid
    TMPDIR=$VDIR setpriv --reuid=nobody --regid=nogroup --clear-groups \
        unshare --user --map-root-user "$TARGETS/victim" "$VDIR/cmd" "$VDIR/reply" \
        </dev/null >/dev/null 2>"$BATS_TEST_TMPDIR/victim.err" 3>&- &
    VPID=$!
    exec {VCMD_FD}<>"$VDIR/cmd"
    exec {VREPLY_FD}<>"$VDIR/reply"
    declare -gA MSTART=() MEND=() MPATH=()
    vmap a anon 64
    [[ $(readlink "/proc/$VPID/ns/user") != "$(readlink /proc/self/ns/user)" ]] || fail "the victim is in our user namespace"
    assert_equal "$(awk '/^Uid:/ { print $2 }' "/proc/$VPID/status")" 65534
    ns_cycle
    vcmd "check a"
    vcmd "exit 0"
}

@test "target in PID and mount namespaces of its own (pid 1 there, its own /proc): engage and dump are exact, watch works, release leaves nothing" {
    command -v unshare >/dev/null || skip "unshare (util-linux) is not installed"
    local u i
    VDIR=$BATS_TEST_TMPDIR/ns
    mkdir -p "$VDIR"
    mkfifo "$VDIR/cmd" "$VDIR/reply"
    # unshare forks the victim into the new namespaces and waits for it;
    # --kill-child: it dies with unshare (the teardown kills unshare)
    TMPDIR=$VDIR unshare --pid --fork --kill-child --mount --mount-proc \
        "$TARGETS/victim" "$VDIR/cmd" "$VDIR/reply" </dev/null >/dev/null 2>"$BATS_TEST_TMPDIR/victim.err" 3>&- &
    u=$!
    bg_track "$u"
    exec {VCMD_FD}<>"$VDIR/cmd"
    exec {VREPLY_FD}<>"$VDIR/reply"
    declare -gA MSTART=() MEND=() MPATH=()
    vmap a anon 64
    # the victim answered, so unshare has forked it: its host pid
    VPID=$(<"/proc/$u/task/$u/children")
    VPID=${VPID//[^0-9]/}
    [[ $VPID =~ ^[0-9]+$ ]] || fail "no victim under unshare $u ('$VPID')"
    [[ $(readlink "/proc/$VPID/ns/pid") != "$(readlink /proc/self/ns/pid)" ]] || fail "the victim is in our PID namespace"
    [[ $(readlink "/proc/$VPID/ns/mnt") != "$(readlink /proc/self/ns/mnt)" ]] || fail "the victim is in our mount namespace"
    assert_equal "$(awk '/^NSpid:/ { print $3 }' "/proc/$VPID/status")" 1
    vmap f file 16
    ns_cycle "write f 3"
    run jq -r 'select(.type == "start") | .pid' "$BATS_TEST_TMPDIR/watch.json"
    assert_output "$VPID"
    no_uffd_left "$VPID"
    vcmd "check a"
    vcmd "check f"
    vcmd "exit 0"
    wait "$u" || true
    VPID=
}

# ---- very long mapping names -------------------------------------------------------

@test "very long mapping names (a 3.7 KiB path of 255-byte components with escapes): shown whole in dump JSON and text, watch JSON" {
    [[ -x $TARGETS/namemap ]] || fail "test target $TARGETS/namemap is not built"
    local d=$BATS_TEST_TMPDIR comp i p
    comp=$(printf 'x%.0s' {1..250})
    p=$d/long
    for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14; do
        p+=/$comp
    done
    mkdir -p "$p"
    p+=/$'e\e[2J'"${comp:0:240}"
    : >"$p"
    ((${#p} > 3700)) || fail "path only ${#p} bytes"
    VDIR=$d/victim
    mkdir -p "$VDIR"
    mkfifo "$VDIR/cmd" "$VDIR/reply"
    "$TARGETS/namemap" "$VDIR/cmd" "$VDIR/reply" "$p" </dev/null >"$VDIR/stdout" 2>"$VDIR/stderr" 3>&- &
    VPID=$!
    exec {VCMD_FD}<>"$VDIR/cmd"
    exec {VREPLY_FD}<>"$VDIR/reply"
    vcmd "addr 0"
    ps_ok "$d/dump.json" dump -f json "$VPID"
    check_dump_json "$d/dump.json"
    run jq -r --arg p "$p" 'select(.type == "region" and .mapping == $p) | .pages' "$d/dump.json"
    assert_output 8
    ps_ok "$d/dump.text" dump "$VPID"
    run grep -cF "${p%%$'\e'*}\033[2J${comp:0:240}" "$d/dump.text"
    assert_output 1
    w_start watch "$VPID" -i 100ms -f json
    w_pause
    vcmd "write 0"
    w_resume
    w_signal INT
    run jq -r --arg p "$p" 'select(.type == "interval") | .regions[] | select(.mapping == $p) | .pages' "$WLOG"
    assert_output 8
    vcmd exit
}

# ---- names the target controls: terminal escapes, invalid UTF-8 ------------------

# no_raw_controls FILE WHAT: no ESC, BEL, DEL or other C0 control but tab
# and newline in FILE (C1 controls: known_bug_c1_names.bats).
no_raw_controls() {
    local hits
    hits=$(LC_ALL=C grep -naP '[\x00-\x08\x0b-\x1f\x7f]' "$1" | cat -A | cut -c1-200 | head -n 5)
    [[ -z $hits ]] || fail "$(printf '%s has raw control bytes:\n%s' "$2" "$hits")"
}

# valid_utf8 FILE WHAT
valid_utf8() {
    python3 -S -c 'import sys; open(sys.argv[1], "rb").read().decode("utf-8")' "$1" 2>/dev/null ||
        fail "$2 is not valid UTF-8"
}

# hostile_watch FORMAT ARGS...: a watch of the hostile target in which
# every hostile mapping is written; its output in $WLOG.
hostile_watch() {
    local fmt=$1 i
    shift
    w_start watch "$VPID" -i 100ms "$@"
    w_pause
    for i in "${!HOSTILE[@]}"; do
        vcmd "write $i"
    done
    w_resume
    w_signal INT
    assert_equal "$WSTATUS" 0
    cp "$WLOG" "$BATS_TEST_TMPDIR/watch.$fmt"
}

@test "hostile mapping and command names (terminal escapes, invalid UTF-8, newline): no raw C0 control in dump, watch, heatmap, JSON and SVG; JSON, CSV, Prometheus and SVG parse" {
    local d=$BATS_TEST_TMPDIR f
    hostile_start
    # dump
    ps_ok "$d/dump.text" dump "$VPID"
    ps_ok "$d/dump.json" dump -f json "$VPID"
    grep -qF 'osc' "$d/dump.text" || fail "the hostile mappings are not in the dump: $(head -n 20 "$d/dump.text")"
    check_dump_json "$d/dump.json"
    # watch: text, JSON (a recording), CSV, text heatmap, the metrics file
    hostile_watch text
    hostile_watch json -f json --prom-file "$d/m.prom"
    hostile_watch csv -f csv
    COLUMNS=120 LINES=40 ps_ok "$d/heat.text" watch "$VPID" -i 50ms -n 2 --heatmap=text
    # report of the recording: JSON and SVG (its text output:
    # known_bug_text_escapes.bats)
    ps_ok "$d/report.json" report -f json "$d/watch.json" --svg "$d/report.svg"
    # the names did reach the outputs, so the checks below mean something
    grep -q 'osc' "$d/watch.text" || fail "no hostile name in the text watch"
    grep -q 'osc' "$d/watch.json" || fail "no hostile name in the JSON watch"
    grep -q 'csi' "$d/report.json" || fail "no hostile name in the JSON report"
    # what a terminal shows: no ESC, BEL or other C0 control
    for f in dump.text dump.json watch.text watch.json heat.text report.json report.svg; do
        no_raw_controls "$d/$f" "$f"
    done
    # what parsers read, and the text a terminal shows: valid UTF-8 (text
    # shows invalid bytes as \ooo), well formed
    for f in dump.text watch.text heat.text dump.json watch.json watch.csv m.prom report.json report.svg; do
        valid_utf8 "$d/$f" "$f"
    done
    w_jq_lines "$d/watch.json"
    w_jq_lines "$d/dump.json"
    w_jq_lines "$d/report.json"
    python3 -S -c 'import csv, sys; rows = list(csv.reader(open(sys.argv[1], encoding="utf-8", newline=""), strict=True)); assert len({len(r) for r in rows}) == 1, "ragged CSV"' "$d/watch.csv" ||
        fail "the CSV does not parse: $(head -n 3 "$d/watch.csv")"
    # Prometheus text: one sample per line, the command label escaped
    # (the newline-free comm still holds ESC and a quote)
    run grep -cvE '^(# (HELP|TYPE) .*|pagescan_[a-z_]+\{pid="[0-9]+",command="([^"\\]|\\["\\n])*"\} [0-9.e+-]+)$' "$d/m.prom"
    assert_output 0
    if command -v xmllint >/dev/null; then
        run xmllint --noout "$d/report.svg"
        assert_success
    fi
    vcmd exit
}

# A name holding an OSC title sequence, BEL and a UTF-8 encoded C1 CSI
# (U+009B): every text output shows it escaped, report's too.
@test "text outputs (run/watch text, report text) escape C0 and C1 controls in target-controlled names" {
    local d=$BATS_TEST_TMPDIR f problems=()
    # a command whose file name (so its comm and its mappings' name) holds
    # an OSC title sequence, BEL and a UTF-8 encoded C1 CSI
    local bin=$d/$'r\e]0;x\a\xc2\x9bz'
    cp "$TARGETS/runprog" "$bin"
    ps_ok "$d/run.text" run -i 1h -- "$bin" "$d/truth" 3
    ps_ok "$d/out" run -i 1h -f json -o "$d/rec.jsonl" -- "$bin" "$d/truth" 3
    ps_ok "$d/report.text" report "$d/rec.jsonl"
    for f in run.text report.text; do
        grep -qF 'r\033' "$d/$f" || LC_ALL=C grep -qaF $'r\e' "$d/$f" || fail "$f does not show the command's name at all"
        LC_ALL=C grep -qaP '[\x00-\x08\x0b-\x1f\x7f]' "$d/$f" && problems+=("$f: raw C0 controls (ESC, BEL)")
        LC_ALL=C grep -qaP '\xc2[\x80-\x9f]' "$d/$f" && problems+=("$f: raw C1 controls")
    done
    if ((${#problems[@]})); then
        fail "target-controlled names reach the terminal unescaped: $(IFS=';'; echo "${problems[*]}")"
    fi
}
