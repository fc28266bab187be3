#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# How CTest runs one bats file (tests/CMakeLists.txt): bats' TAP output as it
# comes, then one line saying how many of the file's tests ran and, for each
# skipped one, why. Exits 77 (the e2e tests' SKIP_RETURN_CODE) when every
# test was skipped, so that CTest's summary lists the file as not run
# instead of passed; otherwise with bats' status. A file in which no test
# ran at all (a filter that matched nothing) fails.
#
# Usage: run_bats.sh FILE.bats
# PAGESCAN_BATS_FILTER=REGEX: only the tests whose names match (bats
# --filter); tests/mutation/run.sh uses it to keep each mutant's run short.
set -u
file=$1
args=(--timing)
[[ -z ${PAGESCAN_BATS_FILTER:-} ]] || args+=(--filter "$PAGESCAN_BATS_FILTER")
log=$(mktemp) || exit 1
trap 'rm -f "$log"' EXIT

"${BATS:-bats}" "${args[@]}" "$file" | tee "$log"
rc=${PIPESTATUS[0]}

total=$(grep -cE '^(not )?ok [0-9]+ ' "$log")
skipped=$(grep -cE '^ok [0-9]+ .* # skip' "$log")
ran=$((total - skipped))
echo "# $(basename "$file"): $ran of $total tests ran, $skipped skipped${PAGESCAN_BATS_FILTER:+ (filter: $PAGESCAN_BATS_FILTER)}"
grep -E '^ok [0-9]+ .* # skip' "$log" | sed -E 's/^ok [0-9]+ (.*) in [0-9]+ms # skip ?(.*)$/#   skipped: \1: \2/'
if ((total == 0)); then
    echo "# no test ran${PAGESCAN_BATS_FILTER:+: the filter matched no test name}"
    exit 1
fi
if ((rc == 0 && ran == 0)); then
    exit 77
fi
exit "$rc"
