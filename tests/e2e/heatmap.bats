#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The live heatmap in a real terminal (tmux), its text frames, and `demo`.
#
# Each test runs pagescan in a private tmux server (its own socket, no
# config, no status line) and reads the screen with capture-pane; waiting
# for the screen polls it with a bounded retry loop. The target
# (tests/targets/heat_target) writes one area over and over and never
# touches another, and says where they are through a fifo.

# shellcheck disable=SC2154 # status/output/stderr are set by bats' run
# shellcheck disable=SC2030,SC2031 # each @test runs in its own subshell: SCREEN is per test
load common
load shape
load hostile
load family
load tmux

setup_file() {
    kernel_supports
    if ! command -v tmux >/dev/null; then
        [[ ${PAGESCAN_MUST_WORK:-0} != 1 ]] || { echo "tmux is missing (PAGESCAN_MUST_WORK=1)" >&2; return 1; }
        skip "tmux is not installed"
    fi
    [[ -x $TARGETS/heat_target ]] || { echo "heat_target not built in $TARGETS" >&2; return 1; }
}

setup() {
    TSOCK=pagescan-heat-$$-$BATS_TEST_NUMBER
    RCF=$BATS_TEST_TMPDIR/rc
}

teardown() {
    TM kill-server 2>/dev/null || true
    family_cleanup
    shape_cleanup
    common_teardown
}

# ---- the target ------------------------------------------------------------------

# target_start: heat_target with 256 hot and 256 cold pages; sets TPID,
# HOT, COLD (start addresses as pagescan prints them).
target_start() {
    local fifo=$BATS_TEST_TMPDIR/ready fd word
    mkfifo "$fifo"
    "$TARGETS/heat_target" "$fifo" 256 256 </dev/null >/dev/null 2>"$BATS_TEST_TMPDIR/target.err" 3>&- &
    TPID=$!
    bg_track "$TPID"
    # Read-write: the open never blocks, a dead target shows as a timeout.
    exec {fd}<>"$fifo"
    if ! read -r -t 30 word _ HOT COLD <&"$fd" || [[ $word != ready ]]; then
        exec {fd}>&-
        fail "heat_target did not get ready: $(cat "$BATS_TEST_TMPDIR/target.err")"
        return 1
    fi
    exec {fd}>&-
}

# ---- the terminal ----------------------------------------------------------------

# tm_type TEXT: type TEXT and Enter.
tm_type() {
    TM send-keys -t t -l "$1"
    TM send-keys -t t Enter
}

# tm_pagescan ARGS: run pagescan ARGS in the terminal; its exit status goes
# to $RCF, the terminal modes it left to $BATS_TEST_TMPDIR/stty.
tm_pagescan() {
    rm -f "$RCF"
    tm_type "$* ; echo \$? >$RCF.tmp; stty -a >$BATS_TEST_TMPDIR/stty; mv $RCF.tmp $RCF"
}

# seq_at N (N < 10): a regex for the header of interval N or a later one (at
# 200 ms an interval is on screen too briefly to wait for that one only).
seq_at() {
    echo "#([$1-9]|[1-9][0-9]+) at "
}

# tm_wait_exit: until pagescan exited; sets RC; checks the terminal is back
# to normal (no alternate screen, echo and canonical mode on).
tm_wait_exit() {
    local i
    for ((i = 0; i < 300; i++)); do
        [[ -s $RCF ]] && break
        sleep 0.1
    done
    [[ -s $RCF ]] || fail "$(printf 'pagescan did not exit; the screen shows:\n%s' "$(tm_screen)")"
    RC=$(<"$RCF")
    [[ $(TM display -p -t t '#{alternate_on}') == 0 ]] || fail "the terminal is still on the alternate screen"
    local modes
    modes=$(<"$BATS_TEST_TMPDIR/stty")
    [[ $modes =~ (^|[[:space:]])echo([[:space:]]|$) && $modes =~ (^|[[:space:]])icanon([[:space:]]|$) ]] ||
        fail "terminal modes not restored: $modes"
    # and the shell works: a command and its output
    local word=shell-ok-$RANDOM nl=$'\n'
    tm_type "echo $word"
    tm_wait "(^|$nl)$word($nl|\$)"
}

# row_grid ADDR: the grid part ("[@@@..." up to "]") of the screen row
# labelled with ADDR, from $SCREEN.
row_grid() {
    local line
    line=$(grep -E "^[ >]+$1 " <<<"$SCREEN" | head -n 1)
    [[ -n $line ]] || { echo "(no row labelled $1)"; return 0; }
    # the grid starts at the last '[' that is followed by ramp glyphs
    grep -oE '\[[.:=+*#%@-]*\]?[[:space:]]*$' <<<"$line" | sed 's/[[:space:]]*$//'
}

# check_hot_cold: the hot area drawn hot, the cold one cold.
check_hot_cold() {
    local hot cold
    hot=$(row_grid "$HOT")
    cold=$(row_grid "$COLD")
    [[ $hot =~ ^\[@+\]?$ ]] || fail "$(printf 'hot area %s not drawn hot: "%s"\n%s' "$HOT" "$hot" "$SCREEN")"
    [[ $cold =~ ^\[\.+\]?$ ]] || fail "$(printf 'cold area %s not drawn cold: "%s"\n%s' "$COLD" "$cold" "$SCREEN")"
}

# focused: the address of the focused row in $SCREEN.
focused() {
    grep -oE '^> *0x[0-9a-f]+' <<<"$SCREEN" | head -n 1 | grep -oE '0x[0-9a-f]+'
}

# until_focus_moves ADDR: poll the screen until the focus is on another row.
until_focus_moves() {
    local i
    for ((i = 0; i < 300; i++)); do
        SCREEN=$(tm_screen)
        [[ $(focused) != "$1" ]] && return 0
        sleep 0.1
    done
    fail "the focus did not move from $1"
}

# Colour SGR parameters: 30-37/40-47/90-97/100-107 and 38;5 / 48;5 / 38;2.
COLOR_SGR=$'\e\\[([0-9]*;)*(3[0-7]|4[0-7]|9[0-7]|10[0-7]|[34]8;[25];[0-9;]+)(;[0-9]*)*m'

# ---- tests -----------------------------------------------------------------------

@test "heatmap: header, labels, legend; the written area hot, the untouched one cold; q exits 0" {
    target_start
    tm_start 100 30
    tm_pagescan "TERM=screen-256color $PAGESCAN watch $TPID --heatmap -i 200ms"
    tm_wait "$(seq_at 3)"
    assert_regex "$SCREEN" "pagescan heatmap  pid $TPID \\(heat_target\\)  every 200ms"
    assert_regex "$SCREEN" "written [0-9]+ pages \\([^)]+\\)  [0-9.k]+ pages/s  [0-9.]+ MiB/s \\| wss [0-9]+ pages"
    assert_regex "$SCREEN" "harvest [0-9.]+(us|ms) \\([0-9.]+%\\)"
    assert_regex "$SCREEN" "1 cell = [0-9]+ pages? \\([0-9.]+[KMG]\\), auto \\| interval view, fading x0.5"
    assert_regex "$SCREEN" '\. 0%  : >0%  - >12\.5%  = >25%  \+ >37\.5%  \* >50%  # >62\.5%  % >75%  @ >87\.5% of a cell written'
    assert_regex "$SCREEN" "hottest mappings"
    assert_regex "$SCREEN" "q quit  space pause"
    # every row is labelled: the target's own data (small and idle: folded
    # by default, its own row in address order) and its two areas
    TM send-keys -t t o
    tm_wait $'\n'" +0x[0-9a-f]+ heat_target +\\["
    TM send-keys -t t o
    assert_regex "$SCREEN" $'\n'" +$HOT \\[anon\\] +\\[@"
    assert_regex "$SCREEN" $'\n'" +$COLD \\[anon\\] +\\[\\."
    check_hot_cold
    # the hot area tops the table: 256 pages every interval
    local top
    top=$(grep -A1 'hottest mappings' <<<"$SCREEN" | tail -n 1)
    assert_regex "$top" " 256 +256 +100\\.0%  $HOT \\[anon\\]"
    # 256 colours: hot cells on red
    TM capture-pane -e -p -t t | grep -q $'\e\\[[0-9;]*48;5;196' || fail "no 256-colour red in the heatmap"

    TM send-keys -t t q
    tm_wait_exit
    assert_equal "$RC" 0
    assert_regex "$(tm_screen)" "end: quit after [0-9]+ intervals"
}

@test "heatmap: resize redraws; a too small window says so; q exits 0" {
    target_start
    tm_start 100 30
    tm_pagescan "$PAGESCAN watch $TPID --heatmap -i 200ms"
    tm_wait "$(seq_at 2)"
    # address order: the target's own small data mapping gets its row
    TM send-keys -t t o
    # 100 columns: 16 for names
    tm_wait ' heat_target +\['

    assert_regex "$SCREEN" " heat_target +\\["
    check_hot_cold

    TM resize-window -t t -x 70 -y 20
    # 70 columns: names cut to 10, the short key line
    tm_wait 'heat_targ~ \['
    assert_regex "$SCREEN" "q quit  space pause  \\+/- zoom  arrows scroll  Tab focus  \\? help"
    check_hot_cold
    local w
    w=$(awk '{ if (length($0) > m) m = length($0) } END { print m }' <<<"$SCREEN")
    ((w <= 70)) || fail "a line is $w columns wide in a 70-column window"

    TM resize-window -t t -x 40 -y 10
    tm_wait 'terminal too small: 40x10'
    assert_regex "$SCREEN" "needs at least 60x12"

    TM resize-window -t t -x 100 -y 30
    tm_wait ' heat_target +\['
    check_hot_cold

    TM send-keys -t t q
    tm_wait_exit
    assert_equal "$RC" 0
}

@test "heatmap: NO_COLOR=1 draws no colour, the glyphs still show the heat" {
    target_start
    tm_start 100 30
    tm_pagescan "NO_COLOR=1 TERM=screen-256color $PAGESCAN watch $TPID --heatmap -i 200ms"
    tm_wait "$(seq_at 2)"
    check_hot_cold
    local esc
    esc=$(TM capture-pane -e -p -t t)
    if grep -qP "$COLOR_SGR" <<<"$esc"; then
        fail "$(printf 'colour sequences with NO_COLOR=1:\n%s' "$(grep -oP "$COLOR_SGR" <<<"$esc" | sort -u | cat -v | head)")"
    fi
    # attributes instead: the hottest cells in reverse video
    grep -q $'\e\\[[0-9;]*7m@' <<<"$esc" || fail "no reverse-video hot cells in monochrome"
    TM send-keys -t t q
    tm_wait_exit
    assert_equal "$RC" 0
}

@test "heatmap: hostile mapping and command names (terminal escapes, invalid UTF-8, newline) are drawn escaped: the terminal's title, screen and colours stay pagescan's" {
    local i title esc
    hostile_start
    tm_start 160 40
    title=$(TM display -p -t t '#{pane_title}')
    # monochrome, so that any colour on the screen came from a name
    tm_pagescan "NO_COLOR=1 TERM=screen-256color $PAGESCAN watch $VPID --heatmap -i 200ms"
    tm_wait "$(seq_at 1)"
    # written during the watch: every hostile mapping in the hottest table
    for i in "${!HOSTILE[@]}"; do
        vcmd "write $i"
    done
    # the last one written is on screen, so all are
    tm_wait 'nl\\012esc'
    # the header names the command, escaped; the screen was not cleared
    # under it (CSI 2J) and no escape of a name set the title (OSC 0)
    # (each control byte shows as "?")
    assert_regex "$SCREEN" "pagescan heatmap  pid $VPID \\(n\\?\\]0;x\\?\\?\\[1m\"\\)"
    assert_regex "$SCREEN" "csi\\?\\[2J\\?\\[31mred"
    assert_equal "$(TM display -p -t t '#{pane_title}')" "$title"
    esc=$(TM capture-pane -e -p -t t)
    if grep -qP "$COLOR_SGR" <<<"$esc"; then
        fail "$(printf 'colour from a name on a NO_COLOR screen:\n%s' "$(grep -oP "$COLOR_SGR" <<<"$esc" | sort -u | cat -v | head)")"
    fi
    grep -q 'owned' <<<"$SCREEN" || fail "the OSC name is not on the screen at all"
    TM send-keys -t t q
    tm_wait_exit
    assert_equal "$RC" 0
    vcmd exit
}

@test "heatmap: an 8-colour terminal gets the 8-colour ramp" {
    target_start
    tm_start 100 30
    tm_pagescan "TERM=screen $PAGESCAN watch $TPID --heatmap -i 200ms"
    tm_wait "$(seq_at 2)"
    check_hot_cold
    local esc
    esc=$(TM capture-pane -e -p -t t)
    grep -qE $'\e\\[([0-9]*;)*41(;[0-9]*)*m@' <<<"$esc" || fail "hot cells are not on red (41)"
    if grep -qE $'\e\\[[0-9;]*[34]8;5;' <<<"$esc"; then
        fail "256-colour sequences on an 8-colour terminal"
    fi
    TM send-keys -t t q
    tm_wait_exit
    assert_equal "$RC" 0
}

@test "heatmap: keys (help, pause, zoom, focus, cumulative view, reset)" {
    target_start
    tm_start 100 30
    tm_pagescan "$PAGESCAN watch $TPID --heatmap -i 200ms"
    tm_wait "$(seq_at 2)"
    TM send-keys -t t '?'
    tm_wait 'pagescan heatmap keys'
    assert_regex "$SCREEN" "r          reset the history"
    TM send-keys -t t x
    tm_wait_not 'pagescan heatmap keys'

    TM send-keys -t t Space
    tm_wait 'PAUSED \(live #[0-9]+\)'
    local frozen seq
    frozen=$(grep -oE '#[0-9]+ at [0-9.]+s' <<<"$SCREEN")
    # intervals keep coming (the live count moves), the picture stays
    seq=$(grep -oE 'live #[0-9]+' <<<"$SCREEN" | grep -oE '[0-9]+')
    tm_wait "live #$((seq + 2))"
    assert_regex "$SCREEN" "$frozen"
    TM send-keys -t t Space
    tm_wait '#[0-9]+ at [0-9.]+s'$'\n'

    # auto zoom at 1 page per cell; - zooms out, + back in, a: auto
    tm_wait '1 cell = 1 page \(4\.0K\), auto'
    TM send-keys -t t -
    tm_wait '1 cell = 2 pages \(8\.0K\) \|'
    TM send-keys -t t +
    tm_wait '1 cell = 1 page \(4\.0K\) \|'
    TM send-keys -t t a
    tm_wait '1 cell = 1 page \(4\.0K\), auto'

    # Tab focuses the first mapping, Right the next ones, up to the hot area
    local i cur
    TM send-keys -t t Tab
    tm_wait $'\n>'
    cur=$(focused)
    for ((i = 0; i < 20; i++)); do
        [[ $cur != "$HOT" ]] || break
        TM send-keys -t t Right
        tm_wait $'\n> *0x' || return 1
        until_focus_moves "$cur" || return 1
        cur=$(focused)
    done
    assert_equal "$cur" "$HOT"
    # the focused mapping leads the table
    assert_regex "$(grep -A1 'hottest mappings' <<<"$SCREEN" | tail -n 1)" "^>.* $HOT \\[anon\\]"
    TM send-keys -t t Escape
    tm_wait_not $'\n>'

    TM send-keys -t t c
    tm_wait 'cumulative view, since start'
    assert_regex "$SCREEN" "of a cell ever written"
    check_hot_cold
    TM send-keys -t t r
    tm_wait 'cumulative view, since reset'
    TM send-keys -t t c
    tm_wait 'interval view, fading'
    TM send-keys -t t q
    tm_wait_exit
    assert_equal "$RC" 0
}

@test "heatmap: Ctrl-C, SIGTERM and the target's exit restore the terminal" {
    target_start
    tm_start 100 30
    tm_pagescan "$PAGESCAN watch $TPID --heatmap -i 200ms"
    tm_wait "$(seq_at 2)"
    TM send-keys -t t C-c
    tm_wait_exit
    assert_equal "$RC" 0
    assert_regex "$(tm_screen)" "end: signal"

    tm_pagescan "$PAGESCAN watch $TPID --heatmap -i 200ms"
    tm_wait "$(seq_at 2)"
    local shell ps
    shell=$(TM display -p -t t '#{pane_pid}')
    ps=$(pgrep -P "$shell" -x pagescan)
    [[ -n $ps ]] || fail "cannot find pagescan under the pane's shell $shell"
    kill -TERM "$ps"
    tm_wait_exit
    assert_equal "$RC" 0
    assert_regex "$(tm_screen)" "end: signal \\(Terminated\\)"

    tm_pagescan "$PAGESCAN watch $TPID --heatmap -i 200ms"
    tm_wait "$(seq_at 2)"
    kill -KILL "$TPID"
    # the last frame stays until q (the test below looks closer)
    tm_wait 'press q to quit \| end: target-exit'
    TM send-keys -t t q
    tm_wait_exit
    assert_equal "$RC" 0
    assert_regex "$(tm_screen)" "end: target-exit"
}

# first_grid_row: line 4 of $SCREEN (the header takes 3).
first_grid_row() {
    sed -n 4p <<<"$SCREEN"
}

@test "heatmap: the busiest mapping is on the first screen, 30 idle small mappings folded; o: address order" {
    shape_start
    # the hot mapping first (mmap goes down: it lies above the small ones)
    smap hot 256
    local i n nl=$'\n'
    for ((i = 0; i < 30; i++)); do
        smap "s$i" 1 || return 1
    done
    scmd "churn hot on"
    tm_start 100 30
    tm_pagescan "$PAGESCAN watch $SPID --heatmap -i 200ms"
    tm_wait "$(seq_at 3)"
    # the first grid row is the hot mapping's, drawn written (the churn
    # writes 64 of its 256 pages over and over)
    tm_wait "$nl +${SSTART[hot]} \\[anon\\] +\\[[.:=+*#%@-]*[:=+*#%@-]"
    assert_regex "$(first_grid_row)" "^ +${SSTART[hot]} \\[anon\\] +\\[[.:=+*#%@-]*[:=+*#%@-]"
    # the idle small ones share one row
    assert_regex "$SCREEN" "\\.\\.\\. [0-9]+ idle mappings of <= 64 pages folded"
    n=$(grep -oE '\.\.\. [0-9]+ idle mappings' <<<"$SCREEN" | grep -oE '[0-9]+')
    ((n >= 30)) || fail "only $n mappings folded: $SCREEN"
    for ((i = 0; i < 30; i++)); do
        ! grep -qE "^[ >]+${SSTART[s$i]} " <<<"$SCREEN" || fail "idle mapping s$i has a row of its own: $SCREEN"
    done
    assert_regex "$SCREEN" "o order"

    # o: every mapping in address order; the small ones (below the hot one)
    # now push it off the first screen
    TM send-keys -t t o
    tm_wait "$nl +${SSTART[s29]} \\[anon\\] +\\[\\.\\]"
    ! grep -qE "^[ >]+${SSTART[hot]} " <<<"$SCREEN" || fail "$(printf 'the hot mapping is still on the first screen in address order:\n%s' "$SCREEN")"
    assert_regex "$SCREEN" "rows 1-[0-9]+ of [0-9]+"
    # o again: busiest first
    TM send-keys -t t o
    tm_wait "$nl +${SSTART[hot]} \\[anon\\] +\\["
    assert_regex "$(first_grid_row)" "^ +${SSTART[hot]} \\[anon\\]"
    TM send-keys -t t q
    tm_wait_exit
    assert_equal "$RC" 0
    scmd "churn hot off"
}

@test "heatmap: when the target exits, the last frame and the summary stay until q" {
    shape_start
    smap hot 256
    scmd "churn hot on"
    tm_start 100 30
    tm_pagescan "$PAGESCAN watch $SPID --heatmap -i 200ms"
    tm_wait "$(seq_at 3)"
    scmd "exit 0"
    local st=0
    wait "$SPID" || st=$?
    SPID=
    assert_equal "$st" 0
    tm_wait 'ended: target-exit'
    tm_wait 'press q to quit \| end: target-exit after [0-9]+ intervals'
    # the last picture: the hot mapping drawn written, the alternate screen on
    assert_regex "$SCREEN" " ${SSTART[hot]} \\[anon\\] +\\[[.:=+*#%@-]*[:=+*#%@-]"
    [[ $(TM display -p -t t '#{alternate_on}') == 1 ]] || fail "the heatmap left the screen when the target exited"
    [[ ! -e $RCF ]] || fail "pagescan exited without q"
    # still answering keys: the cumulative view of the last picture
    TM send-keys -t t c
    tm_wait 'cumulative view, since start'
    assert_regex "$SCREEN" 'press q to quit'
    [[ ! -e $RCF ]] || fail "pagescan exited on a key other than q"
    TM send-keys -t t q
    tm_wait_exit
    assert_equal "$RC" 0
    assert_regex "$(tm_screen)" "end: target-exit after [0-9]+ intervals"
}

@test "--heatmap is refused when standard output is not a terminal" {
    target_start
    run --separate-stderr "$PAGESCAN" watch "$TPID" --heatmap -i 200ms
    assert_equal "$status" 1
    assert_equal "$stderr" "pagescan: --heatmap needs a terminal on standard output; use --heatmap=text or -f json"
    assert_equal "$output" ""
    no_uffd_left "$TPID"
    run --separate-stderr "$PAGESCAN" run --heatmap -- true
    assert_equal "$status" 1
    assert_equal "$stderr" "pagescan: --heatmap needs a terminal on standard output; use --heatmap=text or -f json"
}

@test "--heatmap=text: one COLUMNS x LINES frame per interval and a summary line" {
    target_start
    COLUMNS=80 LINES=20 run --separate-stderr "$PAGESCAN" watch "$TPID" --heatmap=text -i 200ms -n 3
    assert_equal "$status" 0
    assert_equal "$(without_machine_notes "$stderr")" ""
    local nlines frames
    nlines=$(wc -l <<<"$output")
    frames=$(grep -c "^pagescan heatmap  pid $TPID (heat_target)  every 200ms" <<<"$output")
    assert_equal "$frames" 3
    assert_equal "$nlines" $((3 * 20 + 1))
    assert_regex "$(tail -n 1 <<<"$output")" "^end: count after 3 intervals \\([0-9.]+s\\); write working set [0-9]+ pages"
    local w
    w=$(head -n -1 <<<"$output" | awk '{ if (length($0) > m) m = length($0) } END { print m }')
    ((w <= 80)) || fail "a frame line is $w columns wide with COLUMNS=80"
    # the last frame: the hot area hot, the cold one cold
    SCREEN=$(tail -n 21 <<<"$output" | head -n 20)
    check_hot_cold
}

@test "run --heatmap=text: after the command's first fork the bands are grouped by process (each child's pages in its header)" {
    local d=$BATS_TEST_TMPDIR
    # The shell forks both programs; each writes every 3rd of its pages at once.
    COLUMNS=100 LINES=40 run --separate-stderr "$PAGESCAN" run --heatmap=text -i 100ms -- \
        sh -c "'$TARGETS/runprog' '$d/t1' 30 && '$TARGETS/runprog' '$d/t2' 90"
    assert_equal "$status" 0
    local out=$output p pid want s e
    for p in 1 2; do
        want=0
        while read -r s e; do want=$((want + (e - s) / PAGE_SIZE)); done <"$d/t$p"
        # the header of the process that ran runprog, its wss at least the truth's pages
        pid=$(grep -oE "^pid [0-9]+ \\(runprog\\): written [0-9]+ pages?, wss [0-9]+" <<<"$out" |
            awk -v w="$want" '$NF >= w { print $2 }' | sort -u)
        [[ -n $pid ]] || fail "no runprog header with wss >= $want pages for t$p: $(grep '^pid ' <<<"$out" | sort -u)"
    done
    # two runprog processes, each with its own header
    assert_equal "$(grep -oE '^pid [0-9]+ \(runprog\)' <<<"$out" | sort -u | wc -l)" 2
    assert_regex "$(tail -n 1 <<<"$out")" "^end: target-exit"
}

@test "demo --no-heatmap -n 3: the text watch of the workload, exit 0, workload gone" {
    run --separate-stderr "$PAGESCAN" demo --no-heatmap -n 3 -i 200ms
    assert_equal "$status" 0
    assert_regex "$output" "^watching process [0-9]+ \\(pagescan-demo\\)"
    assert_regex "$output" $'\n''#3 '
    assert_regex "$output" "end: count after 3 intervals"
    # the workload writes
    assert_regex "$output" "hottest mappings \\(distinct pages written; page-writes summed over the intervals\\):"
    local pid
    pid=$(head -n 1 <<<"$output" | grep -oE 'process [0-9]+' | grep -oE '[0-9]+')
    [[ ! -e /proc/$pid ]] || fail "the demo workload $pid still runs"
    # a machine format works too, and stdout not being a terminal is no error
    run --separate-stderr "$PAGESCAN" demo -n 2 -i 100ms -f json
    assert_equal "$status" 0
    assert_equal "$(jq -r .type <<<"$output" | tr '\n' ' ')" "start interval interval end "
}

@test "demo dies with pagescan (PR_SET_PDEATHSIG)" {
    local out=$BATS_TEST_TMPDIR/demo.out pid='' ps fd line seen=''
    mkfifo "$out"
    "$PAGESCAN" demo --no-heatmap -q -i 100ms >"$out" 2>&1 3>&- &
    ps=$!
    bg_track "$ps"
    exec {fd}<"$out"
    while IFS= read -r -t 30 -u "$fd" line; do
        seen+="$line"$'\n'
        [[ $line =~ ^watching\ process\ ([0-9]+) ]] && pid=${BASH_REMATCH[1]} && break
    done
    [[ -n $pid && -e /proc/$pid ]] || fail "demo did not start: $seen"
    kill -KILL "$ps"
    exec {fd}<&-
    wait_gone "$pid" 10 || fail "the workload $pid outlived pagescan"
}

@test "demo in a terminal: the heatmap of the workload; q exits 0" {
    tm_start 100 30
    tm_pagescan "$PAGESCAN demo -i 200ms"
    tm_wait "$(seq_at 3)"
    assert_regex "$SCREEN" "pagescan heatmap  pid [0-9]+ \\(pagescan-demo\\)  every 200ms"
    assert_regex "$SCREEN" " \\[anon\\] +\\["
    assert_regex "$SCREEN" "hottest mappings"
    # something is hot
    assert_regex "$SCREEN" '\[[.:=+*#%@-]*@'
    local pid
    pid=$(grep -oE 'pid [0-9]+ \(pagescan-demo\)' <<<"$SCREEN" | grep -oE '[0-9]+')
    TM send-keys -t t q
    tm_wait_exit
    assert_equal "$RC" 0
    assert_regex "$(tm_screen)" "end: quit after"
    [[ ! -e /proc/$pid ]] || fail "the demo workload $pid still runs"
}

# ---- a workload: tests/targets/family (family.bash) ---------------------------------

# heat_frame_until REGEX: read the text heatmap (fd HFD) frame by frame until
# a frame has a line matching REGEX; that frame's lines in FRAME (array).
heat_frame_until() {
    local line n=0 hit=0
    FRAME=()
    while IFS= read -r -t 30 line <&"$HFD"; do
        if [[ $line == "pagescan heatmap"* ]]; then
            ((hit)) && return 0
            FRAME=()
            n=$((n + 1))
            ((n < 200)) || break
        fi
        FRAME+=("$line")
        [[ ! $line =~ $1 ]] || hit=1
    done
    ((hit)) && return 0
    fail "no heatmap frame with a line matching '$1' (last frame: $(printf '%s\n' "${FRAME[@]}"); stderr: $(cat "$BATS_TEST_TMPDIR/heat.err"))"
    return 1
}

# band_after HEADER_REGEX K: the K-th line (from 1) after the frame line
# matching HEADER_REGEX.
band_after() {
    local i
    for i in "${!FRAME[@]}"; do
        if [[ ${FRAME[i]} =~ $1 ]]; then
            printf '%s\n' "${FRAME[i + $2]}"
            return 0
        fi
    done
    return 1
}

# cells LINE: the glyphs between [ and ] of a band line.
cells() {
    local c=${1##*\[}
    printf '%s\n' "${c%\]*}"
}

@test "--heatmap=text of watch --tree: bands grouped under a header per process, the busiest process first, its busiest mapping first" {
    family_start 16
    ffork
    ffork
    mkfifo "$BATS_TEST_TMPDIR/heat.out"
    COLUMNS=100 LINES=30 "$PAGESCAN" watch --tree "$FPID" --heatmap=text -i 100ms "${RANGES[@]}" \
        >"$BATS_TEST_TMPDIR/heat.out" 2>"$BATS_TEST_TMPDIR/heat.err" 3>&- &
    local hpid=$!
    bg_track "$hpid"
    exec {HFD}<"$BATS_TEST_TMPDIR/heat.out"
    # Every process has its header once the first interval is drawn.
    heat_frame_until "^pid ${KID[2]} \\(family\\): "
    # Child 1 writes 12 private pages, child 2 3 private and 5 memfd pages.
    fcmd "write 1 anon 0 12"
    fcmd "write 2 anon 0 3"
    fcmd "write 2 shared 0 5"
    heat_frame_until "^pid ${KID[1]} \\(family\\): written [0-9]+ pages?, wss 12 pages "
    kill -INT "$hpid"
    cat <&"$HFD" >/dev/null
    exec {HFD}<&-
    wait "$hpid" || fail "pagescan exit status $?: $(cat "$BATS_TEST_TMPDIR/heat.err")"

    [[ ${FRAME[0]} == "pagescan heatmap  3 processes (first $FPID family)  every 100ms"* ]] || fail "title: ${FRAME[0]}"
    # The headers, busiest first: child 1 (12 pages), child 2 (3 + 5), the parent (none).
    local -a heads
    mapfile -t heads < <(printf '%s\n' "${FRAME[@]}" | grep '^pid ')
    assert_equal "${#heads[@]}" 3
    [[ ${heads[0]} =~ ^pid\ ${KID[1]}\ \(family\):\ .*wss\ 12\ pages ]] || fail "first: ${heads[0]}"
    [[ ${heads[1]} =~ ^pid\ ${KID[2]}\ \(family\):\ .*wss\ 8\ pages ]] || fail "second: ${heads[1]}"
    [[ ${heads[2]} =~ ^pid\ $FPID\ \(family\):\ .*wss\ 0\ pages ]] || fail "third: ${heads[2]}"
    # Under each header its two mappings, busiest first, 1 page per cell:
    # child 1's [anon] with pages 0-11 written.
    local b c
    b=$(band_after "^pid ${KID[1]} " 1)
    [[ $b == *"[anon]"* ]] || fail "child 1's first band: $b"
    c=$(cells "$b")
    assert_equal "${#c}" 16
    [[ ${c:0:12} != *.* && ${c:12} == .... ]] || fail "child 1's [anon] cells: $c"
    [[ $(band_after "^pid ${KID[1]} " 2) == *memfd:family* ]] || fail "child 1's second band"
    # child 2: the memfd (5 pages) before [anon] (3 pages)
    b=$(band_after "^pid ${KID[2]} " 1)
    [[ $b == *memfd:family* ]] || fail "child 2's first band: $b"
    c=$(cells "$b")
    [[ ${c:0:5} != *.* && ${c:5} == ........... ]] || fail "child 2's memfd cells: $c"
    b=$(band_after "^pid ${KID[2]} " 2)
    [[ $b == *"[anon]"* ]] || fail "child 2's second band: $b"
    c=$(cells "$b")
    [[ ${c:0:3} != *.* && ${c:3} == ............. ]] || fail "child 2's [anon] cells: $c"
    # the parent wrote nothing: both bands cold
    c=$(cells "$(band_after "^pid $FPID " 1)")$(cells "$(band_after "^pid $FPID " 2)")
    assert_equal "$c" "................................"
    # the address column shows the processes' addresses (the same in all: forked)
    [[ $(band_after "^pid ${KID[1]} " 1) == " $(printf '0x%x' "$ANON") "* ]] || fail "address: $(band_after "^pid ${KID[1]} " 1)"
}

@test "heatmap of watch --tree in a terminal: a header per process, the busiest first; o: as first seen; q exits 0" {
    family_start 16
    ffork
    ffork
    tm_start 100 30
    tm_pagescan "TERM=screen-256color $PAGESCAN watch --tree $FPID --heatmap -i 100ms ${RANGES[*]}"
    tm_wait $'\n'"pid ${KID[2]} \\(family\\): "
    assert_regex "$SCREEN" "pagescan heatmap  3 processes \\(first $FPID family\\)  every 100ms"
    fcmd "write 2 anon 0 12"
    tm_wait $'\n'"pid ${KID[2]} \\(family\\): written [0-9]+ pages?, wss 12 pages"
    local -a heads
    mapfile -t heads < <(grep '^pid ' <<<"$SCREEN")
    assert_equal "${#heads[@]}" 3
    [[ ${heads[0]} == "pid ${KID[2]} (family): "* ]] || fail "the busiest process is not first: ${heads[*]}"
    # its [anon] band right under its header, pages 0-11 written
    assert_regex "$SCREEN" "pid ${KID[2]} \\(family\\): [^"$'\n'"]*"$'\n'" +$(printf '0x%x' "$ANON") \\[anon\\] +\\[[^.]{12}\\.{4}\\]"
    # o: the processes as first seen (the parent first), mappings by address
    TM send-keys -t t o
    tm_wait $'\n'"pid $FPID \\(family\\): [^"$'\n'"]*"$'\n'" +0x[0-9a-f]+ [^"$'\n'"]*"$'\n'" +0x[0-9a-f]+ [^"$'\n'"]*"$'\n'"pid ${KID[1]} \\(family\\)"
    TM send-keys -t t q
    tm_wait_exit
    assert_equal "$RC" 0
    assert_regex "$(tm_screen)" "end: quit after [0-9]+ intervals"
}
