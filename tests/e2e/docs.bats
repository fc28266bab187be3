#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The man page, the shell completions, the install rules and the Debian
# package, checked against the real command line: every option of every
# command's --help must be in the man page and offered by each completion,
# and nothing else may be (drift either way fails). The completions are
# driven for real: bash through _pagescan with COMP_WORDS/COMP_CWORD, zsh
# through its completion system in a zpty, fish through `complete -C`.

load common

: "${SRC_DIR:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
# The man page as built: man/pagescan.1 with the project version in its .TH
# line (cmake/Install.cmake writes it at configure time).
MAN=$BUILD_DIR/man/pagescan.1
BASH_COMP=$SRC_DIR/completions/pagescan.bash
ZSH_COMP=$SRC_DIR/completions/_pagescan
FISH_COMP=$SRC_DIR/completions/pagescan.fish
COMMANDS="dump engage release watch run demo report"

setup_file() {
    if [[ ! -x $PAGESCAN ]]; then
        echo "pagescan binary not found at '$PAGESCAN' (build it, or set PAGESCAN)" >&2
        return 1
    fi
    write_zsh_driver "$BATS_FILE_TMPDIR"
}

teardown() {
    common_teardown
    if [[ -n ${DEB_INSTALLED:-} ]]; then
        apt-get remove -y pagescan >/dev/null 2>&1 || dpkg -r pagescan >/dev/null 2>&1 || true
        DEB_INSTALLED=
    fi
}

# ---------------------------------------------------------------------------
# What the program itself says

# help_opts [CMD]: every option in `pagescan [CMD] --help`, one per line
# ("-m", "--mask", ...), from the option column only.
help_opts() {
    "$PAGESCAN" $1 --help | awk '
        /^  -|^      --/ {
            s = $0; sub(/^ +/, "", s); sub(/  .*/, "", s)
            n = split(s, a, /, /)
            for (i = 1; i <= n; i++) { o = a[i]; sub(/[=[].*/, "", o); print o }
        }'
}

# help_pairs CMD: "SHORT LONG" per option ("-" for a missing form).
help_pairs() {
    "$PAGESCAN" "$1" --help | awk '
        /^  -|^      --/ {
            s = $0; sub(/^ +/, "", s); sub(/  .*/, "", s)
            n = split(s, a, /, /); sh = "-"; lo = "-"
            for (i = 1; i <= n; i++) { o = a[i]; sub(/[=[].*/, "", o); if (o ~ /^--/) lo = o; else sh = o }
            print sh, lo
        }'
}

# The commands listed by `pagescan --help`.
top_commands() {
    "$PAGESCAN" --help | awk '/^Commands:/ { f = 1; next } f && /^  [a-z]/ { print $1 } f && /^$/ { exit }'
}

# The category names listed by `pagescan dump --help`.
help_categories() {
    "$PAGESCAN" dump --help | tr '\n' ' ' | sed -n 's/.*Categories: \([^.]*\)\..*/\1/p' | tr ' ' '\n' | grep -v '^$'
}

# valid_values ARGS...: the values pagescan lists when ARGS give it a bad
# one ("...; valid: text, json"), one per line. It must be a usage error.
valid_values() {
    local out st=0
    out=$("$PAGESCAN" "$@" 2>&1) || st=$?
    if [[ $st != 64 ]]; then
        echo "pagescan $* exited $st, expected 64: $out" >&2
        return 1
    fi
    sed -n 's/.*valid: //p' <<<"$out" | head -n 1 | tr -d ' ' | tr ',' '\n'
}

# format_values CMD: the values of -f for CMD.
format_values() {
    case $1 in
    demo | report) valid_values "$1" -f bogus ;;
    *) valid_values "$1" -f bogus 1 ;;
    esac
}

# assert_same_set WHAT EXPECTED GOT: equal as sets of lines.
assert_same_set() {
    local d
    if ! d=$(diff <(sort -u <<<"$2" | grep -v '^$') <(sort -u <<<"$3" | grep -v '^$')); then
        fail "$(printf '%s: sets differ (< expected from pagescan, > found)\n%s' "$1" "$d")"
        return 1
    fi
}

# assert_line_in WHAT LINE TEXT: TEXT has LINE as a whole line.
assert_line_in() {
    if ! grep -qxF -- "$2" <<<"$3"; then
        fail "$(printf '%s: "%s" missing from:\n%s' "$1" "$2" "$(head -n 40 <<<"$3")")"
        return 1
    fi
}

only_options() {
    grep -E '^--?[A-Za-z?]' | grep -vx -- '--' || true
}

# ---------------------------------------------------------------------------
# The man page

# man_opts [CMD]: the option tags of the OPTIONS subsections that name CMD,
# plus the common options.
man_opts() {
    awk -v cmd="$1" '
        /^\.SH / { insec = ($0 ~ /^\.SH OPTIONS/); next }
        !insec { next }
        /^\.SS / {
            t = $0; gsub(/"/, "", t); sub(/^\.SS /, "", t)
            n = split(t, w, /[ ,()]+/); ok = 0
            for (i = 1; i <= n; i++) if ((cmd != "" && w[i] == cmd) || w[i] == "Common") ok = 1
            next
        }
        /^\.TP/ { tag = 1; next }
        tag {
            tag = 0
            if (!ok) next
            s = $0; gsub(/\\-/, "-", s); gsub(/\\f[BIRP]/, "", s)
            while (match(s, /--?[A-Za-z?][A-Za-z-]*/)) { print substr(s, RSTART, RLENGTH); s = substr(s, RSTART + RLENGTH) }
        }' "$MAN"
}

# man_synopsis CMD: the options in CMD's SYNOPSIS entry.
man_synopsis() {
    awk -v cmd="$1" '
        /^\.SH / { insec = ($0 ~ /^\.SH SYNOPSIS/); next }
        !insec { next }
        $0 == ".B pagescan " cmd { on = 1; next }
        /^\.(PP|br)/ { on = 0 }
        on {
            s = $0; gsub(/\\-/, "-", s); gsub(/\\f[BIRP]/, "", s)
            while (match(s, /--?[A-Za-z?][A-Za-z-]*/)) { print substr(s, RSTART, RLENGTH); s = substr(s, RSTART + RLENGTH) }
        }' "$MAN"
}

# man_section_tags SECTION: the words of the .B tags of SECTION's .TP items.
man_section_tags() {
    awk -v sec="$1" '
        /^\.SH / { insec = ($0 == ".SH " sec); next }
        !insec { next }
        /^\.TP/ { tag = 1; next }
        tag { tag = 0; if ($1 == ".B") { s = $2; gsub(/\\-/, "-", s); print s } }' "$MAN"
}

@test "man page: mandoc -T lint and groff -ww report nothing" {
    run --separate-stderr mandoc -T lint "$MAN"
    [[ $status == 0 && -z $output && -z $stderr ]] ||
        fail "mandoc -T lint (status $status): $output $stderr"
    run --separate-stderr groff -ww -z -man "$MAN"
    [[ $status == 0 && -z $output && -z $stderr ]] ||
        fail "groff -ww -z -man (status $status): $output $stderr"
}

@test "man page: man -l renders it" {
    run --separate-stderr env MANWIDTH=80 MANPAGER=cat PAGER=cat man -l "$MAN"
    [[ $status == 0 && -z $stderr ]] || fail "man -l (status $status): $stderr"
    assert_line --regexp '^NAME$'
    assert_line --regexp '^ +pagescan .{1,3} exact written-page tracking for live Linux processes$'
    local s
    for s in SYNOPSIS DESCRIPTION COMMANDS OPTIONS MASKS RANGES OUTPUT 'EXIT STATUS' ENVIRONMENT \
        'PERMISSIONS AND REQUIREMENTS' CAVEATS EXAMPLES 'SEE ALSO'; do
        assert_line "$s"
    done
    # the version in the footer is the program's
    local v
    v=$("$PAGESCAN" --version)
    assert_line --regexp "^${v} .*PAGESCAN\(1\)$"
}

@test "man page: every option of every command, and no other" {
    local cmd exp got
    exp=$(help_opts "")
    got=$(man_opts "")
    assert_same_set "pagescan --help vs the man page's common options" "$exp" "$got"
    for cmd in $COMMANDS; do
        exp=$(help_opts "$cmd")
        got=$(man_opts "$cmd")
        assert_same_set "pagescan $cmd --help vs the man page's OPTIONS for $cmd" "$exp" "$got"
    done
}

@test "man page: each SYNOPSIS line lists its command's options, and no other" {
    local cmd sh lo syn all=
    for cmd in $COMMANDS; do
        syn=$(man_synopsis "$cmd")
        [[ -n $syn || $cmd == release ]] || fail "no SYNOPSIS entry for $cmd"
        all=
        while read -r sh lo; do
            case $lo in --help | --usage | --version) continue ;; esac
            all+="$sh $lo "
            if ! grep -qxF -- "$sh" <<<"$syn" && ! grep -qxF -- "$lo" <<<"$syn"; then
                fail "SYNOPSIS of $cmd lacks $sh/$lo"
            fi
        done < <(help_pairs "$cmd")
        while read -r o; do
            [[ -z $o || " $all " == *" $o "* ]] || fail "SYNOPSIS of $cmd shows $o, which pagescan $cmd does not have"
        done <<<"$syn"
    done
}

@test "man page: COMMANDS, MASKS and the commands and categories of --help agree" {
    local got
    got=$(awk '/^\.SH COMMANDS/ { f = 1; next } /^\.SH / { f = 0 } f && prev ~ /^\.TP/ { s = $2; gsub(/"/, "", s); print s } { prev = $0 }' "$MAN")
    assert_same_set "commands in pagescan --help vs man COMMANDS" "$(top_commands)" "$got"
    assert_same_set "commands" "$(tr ' ' '\n' <<<"$COMMANDS")" "$(top_commands)"
    assert_same_set "categories in dump --help vs man MASKS" "$(help_categories)" "$(man_section_tags MASKS)"
    assert_same_set "categories in dump --help vs tests/e2e/common.bash" "$(help_categories)" "$(tr ' ' '\n' <<<"$PS_CATEGORIES")"
}

# ---------------------------------------------------------------------------
# bash

# bash_complete WORD...: COMPREPLY of _pagescan for these words, the cursor
# at the end of the last one (or at word BASH_CWORD), one per line.
bash_complete() {
    bash --norc --noprofile -c '
        source "$1" || exit 1
        shift
        COMP_WORDS=("$@")
        COMP_CWORD=${BASH_CWORD:-$(($# - 1))}
        COMP_LINE="$*"
        COMP_POINT=${#COMP_LINE}
        COMP_TYPE=${BASH_COMP_TYPE:-9}
        _pagescan
        ((${#COMPREPLY[@]} == 0)) || printf "%s\n" "${COMPREPLY[@]}"' _ "$BASH_COMP" "$@"
}

@test "bash: the completion file is valid and registers _pagescan" {
    run bash -n "$BASH_COMP"
    assert_success
    run bash --norc --noprofile -c 'source "$1" && complete -p pagescan' _ "$BASH_COMP"
    assert_success
    assert_output 'complete -F _pagescan pagescan'
}

@test "bash: commands and the options of every command, exactly" {
    local cmd got
    assert_same_set "bash: commands" "$(top_commands)" "$(bash_complete pagescan '')"
    assert_same_set "bash: pagescan -" "$(help_opts "")" "$(bash_complete pagescan -)"
    for cmd in $COMMANDS; do
        got=$(bash_complete pagescan "$cmd" -)
        assert_same_set "bash: pagescan $cmd -" "$(help_opts "$cmd")" "$(only_options <<<"$got")"
    done
    # a prefix narrows, after other options too
    assert_same_set "bash: watch --h" $'--heatmap\n--help' "$(bash_complete pagescan watch -q --h)"
    # run: the end of options
    assert_line_in "bash: run -" -- "$(bash_complete pagescan run -)"
}

@test "bash: -f values per command, and --heatmap= values" {
    local cmd
    for cmd in dump engage release watch run demo report; do
        assert_same_set "bash: $cmd -f" "$(format_values "$cmd")" "$(bash_complete pagescan "$cmd" -f '')"
        assert_same_set "bash: $cmd --format=" "$(format_values "$cmd")" "$(bash_complete pagescan "$cmd" --format = '')"
        assert_same_set "bash: $cmd -qf (cluster)" "$(format_values "$cmd")" "$(bash_complete pagescan "$cmd" -Vf '')"
    done
    assert_same_set "bash: watch --heatmap=" "$(valid_values watch --heatmap=bogus 1)" \
        "$(bash_complete pagescan watch --heatmap = '')"
    assert_same_set "bash: run --heatmap=t" "$(valid_values run --heatmap=bogus -- true)" \
        "$(bash_complete pagescan run --heatmap = t)"
    # --heatmap takes its mode only with '=': the next word is the PID
    run bash_complete pagescan watch --heatmap tu
    assert_output ''
}

@test "bash: mask names, inside comma lists and after ! and |" {
    local cats
    cats=$(help_categories)
    assert_same_set "bash: -m ''" "$cats" "$(bash_complete pagescan dump -m '')"
    assert_same_set "bash: --mask=" "$cats" "$(bash_complete pagescan dump --mask = '')"
    # after a comma: the names not used yet, the expression kept
    assert_same_set "bash: -m present," "$(grep -vx present <<<"$cats" | sed 's/^/present,/')" \
        "$(bash_complete pagescan dump -m present,)"
    # after '!': escaped for an unquoted shell word, verbatim inside quotes
    assert_same_set "bash: -m present,!fi" 'present,\!file' "$(bash_complete pagescan dump -m 'present,!fi')"
    assert_same_set "bash: -m present,\\!fi" 'present,\!file' "$(bash_complete pagescan dump -m 'present,\!fi')"
    assert_same_set "bash: -m 'present,!fi" 'present,!file' "$(bash_complete pagescan dump -m "'present,!fi")"
    assert_same_set "bash: -m '!w" $'!written\n!wpallowed' "$(bash_complete pagescan dump -m "'!w")"
    # after '|'
    assert_same_set "bash: -m 'present|sw" 'present|swapped' "$(bash_complete pagescan dump -m "'present|sw")"
    assert_same_set "bash: -m file,present|!sw" 'file,present\|\!swapped' \
        "$(bash_complete pagescan dump -m 'file,present\|!sw')"
    assert_same_set "bash: --mask=soft" 'soft-dirty' "$(bash_complete pagescan dump --mask = soft)"
}

@test "bash: mapping selectors, with the files the PID on the line maps" {
    local pid got base
    sleep 1000 &
    pid=$!
    bg_track "$pid"
    got=$(bash_complete pagescan dump "$pid" -r '')
    assert_line_in "bash: -r" '\[heap\]' "$got"
    assert_line_in "bash: -r" '\[stack\]' "$got"
    assert_line_in "bash: -r" anon "$got"
    assert_line_in "bash: -r" shm "$got"
    # every file sleep maps, by base name
    while read -r base; do
        assert_line_in "bash: -r (maps of $pid)" "$base" "$got"
    done < <(awk '$6 ~ /^\// && NF == 6 { n = split($6, p, "/"); print p[n] }' "/proc/$pid/maps" | sort -u)
    # full paths once the word starts with '/'; the PID may come later too
    local path
    path=$(awk '$6 ~ /^\// && NF == 6 { print $6; exit }' "/proc/$pid/maps")
    BASH_CWORD=3 run bash_complete pagescan dump -r "${path%?}" "$pid"
    assert_output "$path"
    # watch and engage too; an address range gets nothing
    assert_line_in "bash: watch -r" anon "$(bash_complete pagescan watch "$pid" --range '')"
    run bash_complete pagescan engage "$pid" -r 0x1000
    assert_output ''
}

@test "bash: PIDs, shown with their process names when several match" {
    local pid got
    sleep 1000 &
    pid=$!
    bg_track "$pid"
    # until the child has exec'd sleep (before that it is a copy of bash)
    local i
    for ((i = 0; i < 500; i++)); do
        [[ $(cat "/proc/$pid/comm" 2>/dev/null) == sleep ]] && break
        sleep 0.01
    done
    got=$(BASH_COMP_TYPE=63 bash_complete pagescan dump '')
    assert_line_in "bash: dump PID list" "$pid (sleep)" "$got"
    # kernel threads (no command line) are not offered
    if [[ -r /proc/2/cmdline && -z $(tr -d '\0' </proc/2/cmdline) ]]; then
        ! grep -q '^2 (' <<<"$got" || fail "kernel thread 2 offered: $(grep '^2 (' <<<"$got")"
    fi
    # the bare PID when it is the only match (longer PIDs may share its digits)
    got=$(bash_complete pagescan watch -n 3 "$pid")
    [[ $got == "$pid" ]] || assert_line_in "bash: watch PID" "$pid (sleep)" "$got"
    # no second PID
    run bash_complete pagescan release "$pid" ''
    assert_output ''
    # release --fd: only userfaultfds of the PID (sleep has none)
    BASH_CWORD=3 run bash_complete pagescan release --fd '' "$pid"
    assert_output ''
}

@test "bash: run completes the command and its arguments" {
    assert_line_in "bash: run -- ech" echo "$(bash_complete pagescan run -q -- ech)"
    assert_line_in "bash: run ech" echo "$(bash_complete pagescan run ech)"
    # report takes a file
    mkdir -p "$BATS_TEST_TMPDIR/d"
    : >"$BATS_TEST_TMPDIR/d/rec.jsonl"
    assert_line_in "bash: report FILE" "$BATS_TEST_TMPDIR/d/rec.jsonl" \
        "$(bash_complete pagescan report "$BATS_TEST_TMPDIR/d/re")"
}

# ---------------------------------------------------------------------------
# zsh

# write_zsh_driver DIR: DIR/zcomplete.zsh QUERY... prints, for each query, the
# matches zsh's completion system adds when TAB is pressed at its end, in an
# interactive zsh run in a pseudo-terminal (zpty).
write_zsh_driver() {
    cat >"$1/zinner.zsh" <<EOF
PS1='<zq> '
PROMPT_EOL_MARK=''
unsetopt autolist automenu listambiguous
setopt nobeep
fpath=("$SRC_DIR/completions" \$fpath)
autoload -Uz compinit
compinit -u -D
# Record every match added; calls that only ask for matches pass through.
compadd() {
  local a
  for a in "\$@"; do
    [[ \$a == -- ]] && break
    [[ \$a == -[OAD]* ]] && { builtin compadd "\$@"; return; }
  done
  local -a __hits
  builtin compadd -O __hits "\$@"
  (( \$#__hits )) && print -rl -- \$__hits >>\$ZCAP_OUT
  builtin compadd "\$@"
}
EOF
    cat >"$1/zcomplete.zsh" <<'EOF'
zmodload zsh/zpty || exit 1
out=$1; shift
: >$out
zpty z env TERM=xterm ZCAP_OUT=$out zsh -f -i
zpty -w z "source ${0:h}/zinner.zsh; print READY-\$((40+2))"
zpty -r z junk '*READY-42*'
# Type only at a prompt: zle discards input that arrives before it starts.
zpty -r z junk '*<zq> *'
n=0
for q in "$@"; do
  n=$((n + 1))
  print -r -- "=== $q" >>$out
  zpty -w -n z "$q"$'\t'
  zpty -w z $'\C-u'"print DONE-\$((1000+$n))"
  zpty -r z junk "*DONE-$((1000 + n))*"
  zpty -r z junk '*<zq> *'
done
zpty -d z
EOF
}

# zsh_complete QUERY: the matches for QUERY, one per line.
zsh_complete() {
    local f=$BATS_TEST_TMPDIR/zsh.out
    timeout 60 zsh -f "$BATS_FILE_TMPDIR/zcomplete.zsh" "$f" "$1" >/dev/null 2>&1 ||
        { echo "zsh completion of '$1' failed or timed out" >&2; return 1; }
    grep -v '^=== ' "$f" || true
}

# zsh_batch QUERY...: complete every QUERY in one zsh (compinit once, not
# once per query); zsh_got QUERY then gives one's matches.
zsh_batch() {
    ZSH_BATCH=$BATS_TEST_TMPDIR/zsh-batch.out
    timeout 120 zsh -f "$BATS_FILE_TMPDIR/zcomplete.zsh" "$ZSH_BATCH" "$@" >/dev/null 2>&1 ||
        { echo "zsh completion of $# queries failed or timed out" >&2; return 1; }
}

zsh_got() {
    # the query through the environment: awk -v would take its backslashes as escapes
    Q="=== $1" awk '$0 == ENVIRON["Q"] { on = 1; next } /^=== / { on = 0 } on' "$ZSH_BATCH"
}

@test "zsh: the completion file parses (zsh -n)" {
    run zsh -n "$ZSH_COMP"
    assert_success
    assert_output ''
}

@test "zsh: commands and the options of every command, exactly" {
    local cmd
    local -a q=('pagescan ' 'pagescan -')
    for cmd in $COMMANDS; do
        q+=("pagescan $cmd -")
    done
    zsh_batch "${q[@]}"
    assert_same_set "zsh: commands" "$(top_commands)" "$(zsh_got 'pagescan ')"
    assert_same_set "zsh: pagescan -" "$(help_opts "")" "$(zsh_got 'pagescan -' | only_options)"
    for cmd in $COMMANDS; do
        assert_same_set "zsh: pagescan $cmd -" "$(help_opts "$cmd")" "$(zsh_got "pagescan $cmd -" | only_options)"
    done
}

@test "zsh: -f values per command, --heatmap= values, mask names" {
    local cmd
    local -a q=()
    for cmd in dump engage release watch run demo report; do
        q+=("pagescan $cmd -f ")
    done
    q+=('pagescan watch --heatmap=' 'pagescan dump -m ' 'pagescan dump -m present,' "pagescan dump -m 'present,!fi"
        'pagescan dump -m present,\!' "pagescan dump --mask='file|sw")
    zsh_batch "${q[@]}"
    for cmd in dump engage release watch run demo report; do
        assert_same_set "zsh: $cmd -f" "$(format_values "$cmd")" "$(zsh_got "pagescan $cmd -f ")"
    done
    assert_same_set "zsh: watch --heatmap=" "$(valid_values watch --heatmap=bogus 1)" \
        "$(zsh_got 'pagescan watch --heatmap=')"
    assert_same_set "zsh: -m" "$(help_categories)" "$(zsh_got 'pagescan dump -m ')"
    assert_same_set "zsh: -m present," "$(help_categories | grep -vx present)" \
        "$(zsh_got 'pagescan dump -m present,')"
    assert_same_set "zsh: -m 'present,!fi" file "$(zsh_got "pagescan dump -m 'present,!fi")"
    assert_same_set "zsh: -m present,\\!" "$(help_categories | grep -vx present)" \
        "$(zsh_got 'pagescan dump -m present,\!')"
    assert_same_set "zsh: --mask='file|sw" swapped "$(zsh_got "pagescan dump --mask='file|sw")"
}

@test "zsh: PIDs and mapping selectors" {
    local pid got
    sleep 1000 &
    pid=$!
    bg_track "$pid"
    got=$(zsh_complete "pagescan dump $pid")
    assert_line_in "zsh: dump PID" "$pid" "$got"
    got=$(zsh_complete "pagescan dump $pid -r ")
    assert_line_in "zsh: -r" '[heap]' "$got"
    assert_line_in "zsh: -r" anon "$got"
    assert_line_in "zsh: -r" libc.so.6 "$got"
    got=$(zsh_complete "pagescan watch -i 1s $pid --range=/usr/")
    grep -q '^/usr/.*libc\.so\.6$' <<<"$got" || fail "zsh: --range=/usr/: no libc path in: $got"
    # run: the command
    assert_line_in "zsh: run -q -- ech" echo "$(zsh_complete 'pagescan run -q -- ech')"
}

# ---------------------------------------------------------------------------
# fish

# fish_complete LINE: the candidates of `complete -C LINE`, without descriptions.
fish_complete() {
    fish --no-config -c 'source $argv[1]; or exit 1; complete -C $argv[2]' "$FISH_COMP" "$1" | cut -f1
}

@test "fish: the completion file parses (fish -n)" {
    run fish --no-config -n "$FISH_COMP"
    assert_success
    assert_output ''
}

@test "fish: commands and the options of every command, exactly" {
    local cmd got
    assert_same_set "fish: commands" "$(top_commands)" "$(fish_complete 'pagescan ')"
    got=$(fish_complete 'pagescan -')
    assert_same_set "fish: pagescan -" "$(help_opts "")" "$(only_options <<<"$got")"
    for cmd in $COMMANDS; do
        # fish lists --heatmap= beside --heatmap for an optional value
        got=$(fish_complete "pagescan $cmd -" | sed 's/=$//')
        assert_same_set "fish: pagescan $cmd -" "$(help_opts "$cmd")" "$(only_options <<<"$got")"
    done
}

@test "fish: -f values per command, --heatmap= values, mask names" {
    local cmd
    for cmd in dump engage release watch run demo report; do
        assert_same_set "fish: $cmd -f" "$(format_values "$cmd")" "$(fish_complete "pagescan $cmd -f ")"
    done
    assert_same_set "fish: watch --heatmap=" "$(valid_values watch --heatmap=bogus 1 | sed 's/^/--heatmap=/')" \
        "$(fish_complete 'pagescan watch --heatmap=')"
    assert_same_set "fish: -m" "$(help_categories)" "$(fish_complete 'pagescan dump -m ')"
    assert_same_set "fish: -m present," "$(help_categories | grep -vx present | sed 's/^/present,/')" \
        "$(fish_complete 'pagescan dump -m present,')"
    assert_same_set "fish: -m present,!fi" 'present,!file' "$(fish_complete 'pagescan dump -m present,!fi')"
    assert_same_set "fish: -m 'file|sw" 'file|swapped' "$(fish_complete "pagescan dump -m 'file|sw")"
}

@test "fish: PIDs with their names, and mapping selectors" {
    local pid got
    sleep 1000 &
    pid=$!
    bg_track "$pid"
    got=$(fish --no-config -c 'source $argv[1]; complete -C $argv[2]' "$FISH_COMP" "pagescan dump $pid")
    assert_line_in "fish: dump PID" "$pid"$'\t'sleep "$got"
    got=$(fish_complete "pagescan dump $pid -r ")
    assert_line_in "fish: -r" '[heap]' "$got"
    assert_line_in "fish: -r" shm "$got"
    assert_line_in "fish: -r" libc.so.6 "$got"
    # the option's value is not a PID
    run fish_complete 'pagescan release --fd '
    assert_output ''
    # run: the command, with or without "--"
    assert_line_in "fish: run ech" echo "$(fish_complete 'pagescan run ech')"
    assert_line_in "fish: run -o f -- ech" echo "$(fish_complete 'pagescan run -o f -- ech')"
}

# ---------------------------------------------------------------------------
# The category table
#
# The page categories are one table, ps_categories[] in src/model/category.c.
# `dump --help` gets its list from it (the argp help filter in
# src/cli/help.c); the completions, the man page and README.md are written by
# hand, so this test compares their lists with the table. The table is read
# from the program, without any hidden option: for an unknown category,
# `pagescan dump -m` prints the valid names, and ps_mask_parse() takes them
# from ps_category_names(), which is expanded from the same list as the table.
# Adding a category to the table without adding it everywhere fails here.

# table_categories: the names of ps_categories[], one per line, table order.
table_categories() {
    "$PAGESCAN" dump -m % 2>&1 | sed -n 's/^pagescan dump: unknown category "%"; valid: //p' | tr ' ' '\n'
}

# readme_categories: the names after "Categories:" in README.md.
readme_categories() {
    tr '\n' ' ' <"$SRC_DIR/README.md" | sed -n 's/.*Categories: `\([^`]*\)`.*/\1/p' | tr -s ' ' '\n'
}

# assert_same_list WHAT EXPECTED GOT: equal line by line, in order.
assert_same_list() {
    local d
    d=$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$3")) ||
        fail "$(printf '%s: lists differ (< expected from the table, > found)\n%s' "$1" "$d")"
}

@test "categories: --help, the completions, the man page and README list the table's names" {
    local table
    table=$(table_categories)
    [[ -n $table ]] ||
        fail "no category list in \`pagescan dump -m %\`: $("$PAGESCAN" dump -m % 2>&1)"
    # in table order where the text lists them
    assert_same_list "pagescan dump --help" "$table" "$(help_categories)"
    assert_same_list "man page MASKS" "$table" "$(man_section_tags MASKS)"
    assert_same_list "README.md" "$table" "$(readme_categories)"
    assert_same_list "PS_CATEGORIES in tests/e2e/common.bash" "$table" "$(tr ' ' '\n' <<<"$PS_CATEGORIES")"
    # what each shell offers after -m
    assert_same_set "bash completion of -m" "$table" "$(bash_complete pagescan dump -m '')"
    assert_same_set "zsh completion of -m" "$table" "$(zsh_complete 'pagescan dump -m ')"
    assert_same_set "fish completion of -m" "$table" "$(fish_complete 'pagescan dump -m ')"
}

# ---------------------------------------------------------------------------
# Install and package

@test "install: DESTDIR and the prefix lay out every file" {
    local d=$BATS_TEST_TMPDIR/root p
    for p in /usr /opt/pagescan-test; do
        rm -rf "$d"
        run env DESTDIR="$d" cmake --install "$BUILD_DIR" --prefix "$p"
        assert_success
        assert_file_executable "$d$p/bin/pagescan"
        gzip -dc "$d$p/share/man/man1/pagescan.1.gz" | cmp "$MAN" -
        cmp "$BASH_COMP" "$d$p/share/bash-completion/completions/pagescan"
        cmp "$ZSH_COMP" "$d$p/share/zsh/vendor-completions/_pagescan"
        cmp "$FISH_COMP" "$d$p/share/fish/vendor_completions.d/pagescan.fish"
        run "$d$p/bin/pagescan" --version
        assert_output "$("$PAGESCAN" --version)"
        # nothing outside the prefix
        run find "$d" ! -type d ! -path "$d$p/*"
        assert_output ''
    done
}

# bash_dir_with PC-CONTENTS: where the bash completion is installed (below
# DESTDIR, prefix /opt/ps) when bash-completion.pc says PC-CONTENTS.
bash_dir_with() {
    local t=$BATS_TEST_TMPDIR/pc
    rm -rf "$t"
    mkdir -p "$t/pc" "$t/src"
    [[ -z $1 ]] || printf '%s\n' "$1" >"$t/pc/bash-completion.pc"
    cat >"$t/src/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.25)
project(pagescan VERSION 0.1.0 LANGUAGES NONE DESCRIPTION "install rules test")
include("$SRC_DIR/cmake/Install.cmake")
EOF
    PKG_CONFIG_PATH=$t/pc PKG_CONFIG_LIBDIR=$t/pc cmake -S "$t/src" -B "$t/build" \
        -DCMAKE_INSTALL_LIBDIR=lib >"$t/log" 2>&1 || { cat "$t/log" >&2; return 1; }
    DESTDIR=$t/root cmake --install "$t/build" --prefix /opt/ps >>"$t/log" 2>&1 || { cat "$t/log" >&2; return 1; }
    (cd "$t/root" && find . -name pagescan -path '*completion*' | sed 's|^\.||')
}

@test "install: the bash completion goes to bash-completion's pkg-config directory" {
    # the usual Debian file: relative to the prefix, so DESTDIR/--prefix apply
    run bash_dir_with $'prefix=/usr\ndatadir=${prefix}/share\ncompletionsdir=${datadir}/bash-completion/completions\nName: bash-completion\nDescription: x\nVersion: 2.11'
    assert_success
    assert_output /opt/ps/share/bash-completion/completions/pagescan
    # a /usr path with another pkg-config prefix
    run bash_dir_with $'prefix=/opt/bc\ncompletionsdir=/usr/share/bash-completion/compl2\nName: bash-completion\nDescription: x\nVersion: 2.11'
    assert_success
    assert_output /opt/ps/share/bash-completion/compl2/pagescan
    # elsewhere: taken as is (DESTDIR still applies)
    run bash_dir_with $'prefix=/usr\ncompletionsdir=/etc/bash_completion.d\nName: bash-completion\nDescription: x\nVersion: 2.11'
    assert_success
    assert_output /etc/bash_completion.d/pagescan
    # no bash-completion.pc at all
    run bash_dir_with ''
    assert_success
    assert_output /opt/ps/share/bash-completion/completions/pagescan
}

# build_deb DIR: build the package into DIR; sets DEB to its path.
build_deb() {
    command -v cpack >/dev/null || skip "cpack is not installed"
    command -v dpkg-deb >/dev/null || skip "dpkg-deb is not installed"
    command -v dpkg-shlibdeps >/dev/null || fail "dpkg-shlibdeps is missing (install dpkg-dev)"
    [[ -f $BUILD_DIR/CPackConfig.cmake ]] || fail "no CPackConfig.cmake in $BUILD_DIR (re-run cmake)"
    (cd "$BUILD_DIR" && cpack -G DEB -B "$1" >"$1/cpack.log" 2>&1) ||
        fail "cpack failed: $(tail -n 20 "$1/cpack.log")"
    local v
    v=$("$PAGESCAN" --version)
    v=${v#pagescan }
    DEB=$1/pagescan_${v}_$(dpkg --print-architecture).deb
    [[ -f $DEB ]] || fail "expected $DEB; cpack made: $(ls "$1")"
}

@test "deb: cpack builds pagescan_VERSION_ARCH.deb with its files and dependencies" {
    local d=$BATS_TEST_TMPDIR/deb
    mkdir -p "$d"
    build_deb "$d"
    local v
    v=$("$PAGESCAN" --version)
    assert_equal "$(dpkg-deb -f "$DEB" Package)" pagescan
    assert_equal "$(dpkg-deb -f "$DEB" Version)" "${v#pagescan }"
    assert_equal "$(dpkg-deb -f "$DEB" Section)" utils
    [[ -n $(dpkg-deb -f "$DEB" Maintainer) ]] || fail "no Maintainer"
    [[ -n $(dpkg-deb -f "$DEB" Description) ]] || fail "no Description"
    local deps lib
    deps=$(dpkg-deb -f "$DEB" Depends)
    for lib in libc6 libbsd0 libncursesw6 libtinfo6; do
        [[ ", $deps" == *", $lib "* || ", $deps," == *", $lib,"* ]] || fail "Depends lacks $lib: $deps"
    done
    run dpkg-deb -c "$DEB"
    assert_success
    local f
    for f in ./usr/bin/pagescan ./usr/share/man/man1/pagescan.1.gz \
        ./usr/share/bash-completion/completions/pagescan \
        ./usr/share/zsh/vendor-completions/_pagescan \
        ./usr/share/fish/vendor_completions.d/pagescan.fish; do
        assert_line --regexp " ${f//./\\.}\$"
    done
}

@test "deb: apt-get installs it, pagescan --version runs from /usr/bin, apt-get remove removes it" {
    if [[ $(id -u) != 0 ]] || [[ ${CI:-} != true && ${PAGESCAN_TEST_DEB:-} != 1 ]]; then
        skip "installs a package on this system: runs only as root with CI=true or PAGESCAN_TEST_DEB=1"
    fi
    command -v apt-get >/dev/null || skip "apt-get is not available"
    if dpkg-query -W -f='${Status}' pagescan 2>/dev/null | grep -q 'install ok installed'; then
        skip "a pagescan package is already installed; not replacing it"
    fi
    local d=$BATS_TEST_TMPDIR/deb
    mkdir -p "$d"
    build_deb "$d"
    DEB_INSTALLED=1
    run bash -c 'cd "$1" && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "./${2##*/}"' _ "$d" "$DEB"
    assert_success
    run /usr/bin/pagescan --version
    assert_success
    assert_output "$("$PAGESCAN" --version)"
    run man -w pagescan
    assert_success
    assert_output --regexp '^/usr/share/man/man1/pagescan\.1'
    # the files the package owns
    local files
    files=$(dpkg -L pagescan | while read -r f; do [[ -f $f && ! -L $f ]] && echo "$f"; done)
    assert_line_in "dpkg -L" /usr/bin/pagescan "$files"
    run env DEBIAN_FRONTEND=noninteractive apt-get remove -y pagescan
    assert_success
    DEB_INSTALLED=
    local f left=
    while read -r f; do
        [[ -e $f ]] && left+=" $f"
    done <<<"$files"
    [[ -z $left ]] || fail "left after apt-get remove:$left"
    run dpkg-query -W -f='${Status}' pagescan
    refute_output --partial 'install ok installed'
}
