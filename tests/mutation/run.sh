#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Mutation check of the test suite: plant each defect listed in
# tests/mutation/defects.bash, one at a time, in a scratch copy of the source
# tree, build it, run the tests that should catch it, and say whether they
# did. Not part of CI (it runs end-to-end tests: root, a kernel with
# PAGEMAP_SCAN and WP_ASYNC, minutes per e2e-heavy defect).
#
# usage: tests/mutation/run.sh [OPTION]... [NAME-REGEX]
#   NAME-REGEX     only the defects whose names match (default: all)
#   --list         list the defects and exit
#   --first        stop a defect's runs at the first that fails (faster;
#                  default: every run, so each guarding test shows it fails)
#   --no-baseline  skip the check that every run passes on the unmutated copy
#   --build-only   plant and build each defect, run no test (checks the list)
#   --keep         keep the scratch directory
#   --dir DIR      scratch directory (default: a new one under ${TMPDIR:-/tmp};
#                  the copy is DIR/src, the build DIR/build, the logs DIR/logs)
#
# The copy is the working tree as it is (tracked files and untracked ones
# git does not ignore), so uncommitted changes are tested too. One build
# directory serves every mutant: configured once, then each mutant rebuilds
# what its file touches. A defect is:
#   caught    at least one of its test runs failed (the table names them)
#   SURVIVED  all of its test runs passed: the suite cannot see it
#   INVALID   its sed matched nothing, or the mutant does not build
# The last line gives the kill rate (caught / all) and the time taken; the
# exit status is 0 only when every defect was caught.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
first=0 baseline=1 keep=0 list=0 build_only=0 dir='' only=''
while (($#)); do
    case $1 in
    --list) list=1 ;;
    --first) first=1 ;;
    --no-baseline) baseline=0 ;;
    --build-only) build_only=1 baseline=0 ;;
    --keep) keep=1 ;;
    --dir) dir=$2; shift ;;
    -h | --help) sed -n '3,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 64 ;;
    *) only=$1 ;;
    esac
    shift
done

# ---- the list -----------------------------------------------------------------------

D_NAME=() D_FILE=() D_WHAT=() D_SEDS=() D_RUNS=()
SEP=$'\x1f'   # separates the -e expressions and the runs inside one field

# defect NAME FILE WHAT -e EXPR... -t REGEX [-f FILTER]...
defect() {
    local name=$1 file=$2 what=$3 seds=() runs=()
    shift 3
    while (($#)); do
        case $1 in
        -e) seds+=("$2"); shift 2 ;;
        -t) runs+=("$2"$'\t'); shift 2 ;;
        -f)
            ((${#runs[@]})) || { echo "defects.bash: $name: -f before any -t" >&2; exit 2; }
            runs[-1]+=$2
            shift 2
            ;;
        *) echo "defects.bash: $name: unexpected '$1'" >&2; exit 2 ;;
        esac
    done
    ((${#seds[@]} && ${#runs[@]})) || { echo "defects.bash: $name needs -e and -t" >&2; exit 2; }
    D_NAME+=("$name") D_FILE+=("$file") D_WHAT+=("$what")
    D_SEDS+=("$(IFS=$SEP; echo "${seds[*]}")")
    D_RUNS+=("$(IFS=$SEP; echo "${runs[*]}")")
}

# shellcheck source=tests/mutation/defects.bash
. "$here/defects.bash"

sel=()
for i in "${!D_NAME[@]}"; do
    [[ -z $only || ${D_NAME[i]} =~ $only ]] && sel+=("$i")
done
((${#sel[@]})) || { echo "run.sh: no defect matches '$only'" >&2; exit 2; }

if ((list)); then
    for i in "${sel[@]}"; do
        printf '%-32s %s\n    %s\n' "${D_NAME[i]}" "${D_FILE[i]}" "${D_WHAT[i]}"
        IFS=$SEP read -r -a runs <<<"${D_RUNS[i]}"
        for r in "${runs[@]}"; do
            f=${r#*$'\t'}
            printf '    test: %s%s\n' "${r%%$'\t'*}" "${f:+ [filter: $f]}"
        done
    done
    exit 0
fi

# ---- the scratch copy and its build --------------------------------------------------

t_start=$SECONDS
if [[ -z $dir ]]; then
    dir=$(mktemp -d "${TMPDIR:-/tmp}/pagescan-mutation.XXXXXX") || exit 1
fi
mkdir -p "$dir"
src=$dir/src build=$dir/build logs=$dir/logs pristine=$dir/pristine
mkdir -p "$logs" "$pristine"
cleanup() {
    if ((keep)); then
        echo "scratch directory kept: $dir"
    else
        rm -rf "$dir"
    fi
}
trap cleanup EXIT

now() { date +%H:%M:%S; }
say() { printf '%s %s\n' "$(now)" "$*"; }

say "copying the working tree of $root to $src"
rm -rf "$src"
mkdir -p "$src"
(cd "$root" && git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [[ -f $f ]] && printf '%s\0' "$f"; done |
    tar --null -T - -cf -) | tar -xf - -C "$src" || { echo "run.sh: copying the tree failed" >&2; exit 1; }

# Warnings are not errors here: a mutant may leave a function unused.
say "configuring $build"
if ! cmake -S "$src" -B "$build" -DPAGESCAN_WERROR=OFF >"$logs/configure.log" 2>&1; then
    tail -20 "$logs/configure.log"
    echo "run.sh: configure failed (log: $logs/configure.log)" >&2
    exit 1
fi

build_tree() {
    cmake --build "$build" -j"$(nproc)" >"$1" 2>&1
}

# run_tests LOG REGEX FILTER: one ctest run; 0 if it passed.
run_tests() {
    local log=$1 regex=$2 filter=$3
    PAGESCAN_BATS_FILTER=$filter ctest --test-dir "$build" -R "$regex" --output-on-failure \
        --no-tests=error >"$log" 2>&1
}

# failed_names LOG: the CTest tests that failed, with the first failing bats test.
failed_names() {
    local log=$1 names
    names=$(sed -n 's/^[[:space:]]*[0-9]* - \([^ ]*\) (.*)$/\1/p' "$log" | paste -sd, -)
    local t
    t=$(grep -m1 -E '^not ok [0-9]+ ' "$log" | sed -E 's/^not ok [0-9]+ (- )?//; s/ in [0-9]+ms$//')
    if [[ -n $t ]]; then
        printf '%s [%s]' "$names" "${t:0:70}"
    else
        printf '%s' "${names:-?}"
    fi
}

say "building the unmutated copy"
if ! build_tree "$logs/build-base.log"; then
    grep -E 'error' "$logs/build-base.log" | head -20
    echo "run.sh: the unmutated copy does not build (log: $logs/build-base.log)" >&2
    exit 1
fi

# ---- baseline: every run passes without a defect --------------------------------------

if ((baseline)); then
    declare -A seen=()
    n=0
    for i in "${sel[@]}"; do
        IFS=$SEP read -r -a runs <<<"${D_RUNS[i]}"
        for r in "${runs[@]}"; do
            [[ -n ${seen[$r]:-} ]] && continue
            seen[$r]=1
            n=$((n + 1))
            regex=${r%%$'\t'*} filter=${r#*$'\t'}
            t0=$SECONDS
            if ! run_tests "$logs/baseline-$n.log" "$regex" "$filter"; then
                say "baseline FAILED: $regex${filter:+ [$filter]} (log: $logs/baseline-$n.log)"
                sed -n '/^not ok/,+6p' "$logs/baseline-$n.log" | head -30
                echo "run.sh: a test run fails without any defect: fix that first (or --no-baseline)" >&2
                keep=1
                exit 1
            fi
            say "baseline ok: $regex${filter:+ [$filter]} ($((SECONDS - t0))s)"
        done
    done
fi

# ---- the mutants ------------------------------------------------------------------------

declare -a R_NAME=() R_RESULT=() R_BY=() R_TIME=()
caught=0 survived=0 invalid=0
for i in "${sel[@]}"; do
    name=${D_NAME[i]} file=${D_FILE[i]}
    t0=$SECONDS
    say "[$name] $file: ${D_WHAT[i]}"
    f=$src/$file
    if [[ ! -f $f ]]; then
        say "[$name] INVALID: $file does not exist"
        R_NAME+=("$name") R_RESULT+=(INVALID) R_BY+=("no such file") R_TIME+=(0)
        invalid=$((invalid + 1))
        continue
    fi
    mkdir -p "$pristine/$(dirname "$file")"
    cp "$f" "$pristine/$file"
    result='' by=''
    IFS=$SEP read -r -a seds <<<"${D_SEDS[i]}"
    k=0
    for e in "${seds[@]}"; do
        k=$((k + 1))
        cp "$f" "$dir/before"
        if ! sed -i -e "$e" "$f" 2>"$logs/$name.sed.log" || cmp -s "$f" "$dir/before"; then
            result=INVALID by="sed expression $k matched nothing in $file: $e"
            break
        fi
    done
    if [[ -z $result ]]; then
        diff -u "$pristine/$file" "$f" >"$logs/$name.diff"
        touch "$f"
        if ! build_tree "$logs/$name.build.log"; then
            result=INVALID by="does not build (log: $logs/$name.build.log)"
        fi
    fi
    if [[ -z $result ]] && ((build_only)); then
        result=built by="(no test run: --build-only)"
    fi
    if [[ -z $result ]]; then
        IFS=$SEP read -r -a runs <<<"${D_RUNS[i]}"
        k=0 fails=()
        for r in "${runs[@]}"; do
            k=$((k + 1))
            regex=${r%%$'\t'*} filter=${r#*$'\t'}
            log=$logs/$name.test-$k.log
            if run_tests "$log" "$regex" "$filter"; then
                say "[$name]   passed: $regex${filter:+ [$filter]}"
            else
                fails+=("$(failed_names "$log")")
                say "[$name]   FAILED: ${fails[-1]}"
                ((first)) && break
            fi
        done
        if ((${#fails[@]})); then
            result=caught by=$(IFS=';'; echo "${fails[*]}")
        else
            result=SURVIVED by="every run passed"
        fi
    fi
    # Put the file back, newer than any object built from the mutant.
    cp "$pristine/$file" "$f"
    touch "$f"
    case $result in
    caught | built) caught=$((caught + 1)) ;;
    SURVIVED) survived=$((survived + 1)) ;;
    INVALID) invalid=$((invalid + 1)); say "[$name] INVALID: $by" ;;
    esac
    R_NAME+=("$name") R_RESULT+=("$result") R_BY+=("$by") R_TIME+=($((SECONDS - t0)))
    say "[$name] $result ($((SECONDS - t0))s)"
done

# ---- the table -----------------------------------------------------------------------------

total=${#R_NAME[@]}
elapsed=$((SECONDS - t_start))
echo
printf '%-32s %-9s %6s  %s\n' defect result time 'caught by'
for j in "${!R_NAME[@]}"; do
    printf '%-32s %-9s %5ss  %s\n' "${R_NAME[j]}" "${R_RESULT[j]}" "${R_TIME[j]}" "${R_BY[j]}"
done
echo
if ((build_only)); then
    printf 'built: %d of %d planted and built, %d invalid; %dm%02ds (logs: %s)\n' \
        "$caught" "$total" "$invalid" $((elapsed / 60)) $((elapsed % 60)) "$logs"
else
    printf 'kill rate: %d of %d caught (%d%%); %d survived, %d invalid; %dm%02ds in all (logs: %s)\n' \
        "$caught" "$total" $((total ? 100 * caught / total : 0)) "$survived" "$invalid" \
        $((elapsed / 60)) $((elapsed % 60)) "$logs"
fi
((survived || invalid)) && keep=1
((caught == total))
