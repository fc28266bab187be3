# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# tests/targets/family for the workload, run, report and heatmap tests: a parent that forks
# children on command; every member writes what it is told into a private
# anonymous mapping (each process's own pages) or a memfd mapped MAP_SHARED
# (one page per file offset, whoever writes it). Commands and replies go
# through two fifos, so a test knows each write is done when fcmd returns.
# The test's teardown calls family_cleanup.

# family_start PAGES [FILE]: the family (a parent that forks children on
# command, each writing what it is told into a private anonymous mapping and
# a memfd mapped MAP_SHARED, PAGES pages each; with FILE also that regular
# file, made PAGES pages long and mapped MAP_SHARED). Sets FPID, ANON,
# SHARED, FILEMAP (with FILE), RANGES (-r for anon and shared), KID=().
family_start() {
    family_fifos
    "$TARGETS/family" "$FDIR/cmd" "$FDIR/reply" "$@" </dev/null >"$FDIR/stdout" 2>"$FDIR/stderr" 3>&- &
    FPID=$!
    family_connect "$1"
}

# family_fifos: FDIR with the command and reply fifos, for a family started
# by the caller (family_start, or pagescan run).
family_fifos() {
    FDIR=$BATS_TEST_TMPDIR/family
    mkdir -p "$FDIR"
    mkfifo "$FDIR/cmd" "$FDIR/reply"
}

# family_connect PAGES: open the fifos and ask the family where its mappings
# are; sets ANON, SHARED, FILEMAP (empty without a file), FPAGES, RANGES,
# KID=().
# FAMILY_STDERR: the file its failures are explained by (default: the
# family's own stderr).
family_connect() {
    exec {FCMD_FD}<>"$FDIR/cmd"
    exec {FREPLY_FD}<>"$FDIR/reply"
    KID=()
    fcmd where || return 1
    local -a w
    read -r -a w <<<"$F_REPLY"
    ANON=${w[1]} SHARED=${w[2]} FILEMAP=${w[3]:-} FPAGES=$1
    RANGES=(-r "$ANON+$(($1 * PAGE_SIZE))" -r "$SHARED+$(($1 * PAGE_SIZE))")
}

# fcmd CMD: one command to the family, its reply in F_REPLY; fails unless "ok".
fcmd() {
    printf '%s\n' "$1" >&"$FCMD_FD"
    if ! IFS= read -r -t 30 F_REPLY <&"$FREPLY_FD"; then
        fail "family: no reply to '$1' (stderr: $(cat "${FAMILY_STDERR:-$FDIR/stderr}"))"
        return 1
    fi
    [[ $F_REPLY == ok* ]] || {
        fail "family: '$1' -> '$F_REPLY'"
        return 1
    }
}

# ffork: a new child; its pid in KID[K] (K from 1).
ffork() {
    fcmd fork || return 1
    local -a w
    read -r -a w <<<"$F_REPLY"
    KID[w[2]]=${w[1]}
}

family_cleanup() {
    if [[ -n ${FPID:-} ]]; then
        # Its children die with it (PR_SET_PDEATHSIG).
        is_our_child "$FPID" && kill -KILL "$FPID" 2>/dev/null || true
        wait "$FPID" 2>/dev/null || true
        FPID=
    fi
    [[ -z ${FCMD_FD:-} ]] || exec {FCMD_FD}>&- {FREPLY_FD}>&- 2>/dev/null || true
    FCMD_FD='' FREPLY_FD=''
}
