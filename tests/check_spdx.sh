#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every source, header, script and test file of pagescan says its license:
# an "SPDX-License-Identifier: MIT" line within its first 5 lines.
#
# usage: tests/check_spdx.sh [--fix | --list] [SOURCE_DIR]
#   (no option)  check: name every file that lacks the line; exit 1 if any
#                does, or if a file is of no known kind (add a rule below)
#   --fix        add the line to every file that lacks it, in the comment
#                syntax of the file's kind, and say which; idempotent
#   --list       print the kind of every file (c, hash, man, exempt)
# SOURCE_DIR defaults to the directory above this script. The files are
# those git knows there (tracked, and untracked ones it does not ignore);
# without git (a source tarball), every file outside .git and build*/.
#
# Kinds (the first rule that matches wins; see kind_of):
#   c       *.c *.h                       /* SPDX-License-Identifier: MIT */
#                                         as the first line
#   man     man/*.[1-9]                   .\" SPDX-License-Identifier: MIT
#                                         first (after a '\" preprocessor line)
#   hash    *.sh *.bash *.bats *.py *.cmake CMakeLists.txt, .ci/*, the shell
#           completions, packaging/lintian-overrides, and any other file
#           that starts with #!           # SPDX-License-Identifier: MIT
#                                         after the lines that must stay
#                                         first: #!, #compdef/#autoload, an
#                                         Emacs -*- line, a Python coding line
#   exempt  not source: LICENSE and packaging/copyright (they are the
#           license), Markdown, JSON, JSON Lines, CSV, images, other *.txt,
#           the fuzzing corpora and saved crash inputs (tests/fuzz/corpus,
#           tests/fuzz/regress), tool configuration dotfiles (.gitignore,
#           .editorconfig, .clang-tidy, .cppcheck-suppressions)
set -euo pipefail

mode=check
case ${1:-} in
--fix) mode=fix; shift ;;
--list) mode=list; shift ;;
-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
-*) echo "check_spdx.sh: unknown option $1 (--fix, --list)" >&2; exit 64 ;;
esac
src=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$src"

SPDX='SPDX-License-Identifier: MIT'
# MIT exactly (not MIT-0), then the end of the line, a blank or a comment end.
SPDX_RE='SPDX-License-Identifier: MIT($|[[:space:]]|\*/)'

# kind_of PATH: c, hash, man, exempt, or unknown.
kind_of() {
    local p=$1 b=${1##*/}
    case $p in
    LICENSE | packaging/copyright) echo exempt; return ;;
    tests/fuzz/corpus/* | tests/fuzz/regress/*) echo exempt; return ;;
    esac
    case $b in
    .gitignore | .editorconfig | .clang-tidy | .cppcheck-suppressions) echo exempt; return ;;
    CMakeLists.txt) echo hash; return ;;
    *.md | *.json | *.jsonl | *.csv | *.png | *.svg | *.txt) echo exempt; return ;;
    *.c | *.h) echo c; return ;;
    *.sh | *.bash | *.bats | *.py | *.cmake | *.fish) echo hash; return ;;
    esac
    case $p in
    man/*.[1-9]) echo man; return ;;
    .ci/* | completions/* | packaging/lintian-overrides) echo hash; return ;;
    esac
    if [[ $(head -c 2 -- "$p") == '#!' ]]; then
        echo hash
    else
        echo unknown
    fi
}

# list_files: the files to look at, NUL-separated, sorted.
list_files() {
    if [[ -e .git ]] && command -v git >/dev/null &&
        git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git ls-files -z --cached --others --exclude-standard
    else
        find . \( -name .git -o -path './build*' \) -prune -o -type f -print0 |
            sed -z 's|^\./||'
    fi | sort -zu
}

# has_spdx FILE: the line is within the first 5 lines.
has_spdx() {
    head -n 5 -- "$1" | grep -Eq "$SPDX_RE"
}

# keep_first FILE KIND: how many leading lines must stay in front of the
# SPDX line.
keep_first() {
    local f=$1 kind=$2 l1 l2 n=0
    l1=$(sed -n 1p -- "$f")
    l2=$(sed -n 2p -- "$f")
    case $kind in
    c) ;;
    man) [[ $l1 == "'\\\""* ]] && n=1 ;;
    hash)
        # a shebang, a zsh completion tag or an Emacs mode line: line 1 only
        if [[ $l1 == '#!'* || $l1 == '#compdef'* || $l1 == '#autoload'* || $l1 == *'-*-'*'-*-'* ]]; then
            n=1
        fi
        # a Python source encoding (PEP 263) must be on line 1 or 2
        local coding='^[[:space:]]*#.*coding[:=][[:space:]]*[-_.a-zA-Z0-9]+'
        if [[ $l1 =~ $coding ]]; then
            n=1
        elif ((n == 1)) && [[ $l2 =~ $coding ]]; then
            n=2
        fi
        ;;
    esac
    echo "$n"
}

# add_spdx FILE KIND: insert the line, keeping the file's inode and mode.
add_spdx() {
    local f=$1 kind=$2 line n tmp
    case $kind in
    c) line="/* $SPDX */" ;;
    man) line=".\\\" $SPDX" ;;
    hash) line="# $SPDX" ;;
    *) return 1 ;;
    esac
    n=$(keep_first "$f" "$kind")
    tmp=$(mktemp)
    # ENVIRON, not -v: awk would interpret the backslash of the man comment
    SPDX_LINE=$line awk -v k="$n" '
        NR == k + 1 { print ENVIRON["SPDX_LINE"] }
        { print }
        END { if (NR <= k) print ENVIRON["SPDX_LINE"] }' "$f" >"$tmp"
    cat "$tmp" >"$f"
    rm -f "$tmp"
}

missing=() unknown=() fixed=()
declare -A count=()
while IFS= read -r -d '' f; do
    [[ -f $f && ! -L $f ]] || continue   # deleted from the work tree, or a link
    kind=$(kind_of "$f")
    count[$kind]=$((${count[$kind]:-0} + 1))
    if [[ $mode == list ]]; then
        printf '%-7s %s\n' "$kind" "$f"
        continue
    fi
    case $kind in
    exempt) continue ;;
    unknown) unknown+=("$f"); continue ;;
    esac
    has_spdx "$f" && continue
    if [[ $mode == fix ]]; then
        add_spdx "$f" "$kind"
        has_spdx "$f" || { echo "check_spdx.sh: could not add the line to $f" >&2; exit 1; }
        fixed+=("$f")
    else
        missing+=("$f ($kind)")
    fi
done < <(list_files)

[[ $mode == list ]] && exit 0

summary="c ${count[c]:-0}, hash ${count[hash]:-0}, man ${count[man]:-0}, exempt ${count[exempt]:-0}"
status=0
if ((${#unknown[@]})); then
    printf 'no rule for these files: give their kind in kind_of() in %s\n' "${BASH_SOURCE[0]##*/}" >&2
    printf '  %s\n' "${unknown[@]}" >&2
    status=1
fi
if [[ $mode == fix ]]; then
    printf 'added "%s" to %d files:\n' "$SPDX" "${#fixed[@]}"
    ((${#fixed[@]} == 0)) || printf '  %s\n' "${fixed[@]}"
elif ((${#missing[@]})); then
    printf '%d files lack "%s" in their first 5 lines (tests/check_spdx.sh --fix adds it):\n' \
        "${#missing[@]}" "$SPDX" >&2
    printf '  %s\n' "${missing[@]}" >&2
    status=1
fi
echo "files by kind: $summary"
exit "$status"
