# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Names the target controls, made hostile: a target (tests/targets/namemap)
# whose command name and mapped files' names hold terminal escapes, invalid
# UTF-8 and a newline. Loaded by security.bats (every output format) and
# heatmap.bats (the live heatmap in a terminal).

# Mapping file names and a command name with terminal escapes (OSC, CSI,
# a C1 CSI in UTF-8, BEL, ESC alone), invalid UTF-8 and a newline.
HOSTILE=(
    $'osc\e]0;owned\a'
    $'csi\e[2J\e[31mred'
    $'c1\xc2\x9b31m'
    $'bad\xff\xfe\xc0'
    $'nl\nesc\e'
)

# hostile_start: namemap, started under a command name with escapes, with
# one mapping per HOSTILE name; sets VPID, VCMD_FD, VREPLY_FD.
hostile_start() {
    local i files=() bin
    [[ -x $TARGETS/namemap ]] || fail "test target $TARGETS/namemap is not built"
    HDIR=$BATS_TEST_TMPDIR/names
    mkdir -p "$HDIR"
    for i in "${!HOSTILE[@]}"; do
        : >"$HDIR/${HOSTILE[$i]}"
        files+=("$HDIR/${HOSTILE[$i]}")
    done
    # the command name (comm) the target shows: 15 bytes of its file name
    bin=$BATS_TEST_TMPDIR/$'n\e]0;x\a\e[1m"'
    cp "$TARGETS/namemap" "$bin"
    VDIR=$BATS_TEST_TMPDIR/victim
    mkdir -p "$VDIR"
    mkfifo "$VDIR/cmd" "$VDIR/reply"
    "$bin" "$VDIR/cmd" "$VDIR/reply" "${files[@]}" </dev/null >"$VDIR/stdout" 2>"$VDIR/stderr" 3>&- &
    VPID=$!
    exec {VCMD_FD}<>"$VDIR/cmd"
    exec {VREPLY_FD}<>"$VDIR/reply"
    vcmd "addr 0"
}
