#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# What a release hands to users and distributions: one version (CMake's
# project version) everywhere, the license, the changelog, and a Debian
# package that lintian accepts. The package is built the way
# docs/RELEASING.md says (`cpack -G DEB` in the build tree), into a
# temporary directory. tests/e2e/docs.bats checks the package's control
# fields, file list and installation; this file checks what makes it a
# release. The SPDX lines are checked by tests/check_spdx.sh (CTest
# license/spdx); its --fix mode is tested here on a scratch tree.

load common

: "${SRC_DIR:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"

setup_file() {
    if [[ ! -x $PAGESCAN ]]; then
        echo "pagescan binary not found at '$PAGESCAN' (build it, or set PAGESCAN)" >&2
        return 1
    fi
    if [[ ! -f $BUILD_DIR/CMakeCache.txt ]]; then
        echo "no CMakeCache.txt in BUILD_DIR '$BUILD_DIR'" >&2
        return 1
    fi
}

teardown() {
    common_teardown
}

# project_version: CMake's project version, as the build tree has it.
project_version() {
    sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$BUILD_DIR/CMakeCache.txt"
}

# deb_path: build the package once per run of this file (the documented
# command, into a temporary directory) and print its path.
deb_path() {
    local d=$BATS_FILE_TMPDIR/deb v
    v=$(project_version)
    if [[ ! -f $d/pagescan_${v}_$(dpkg --print-architecture).deb ]]; then
        mkdir -p "$d"
        (cd "$BUILD_DIR" && cpack -G DEB -B "$d" >"$d/cpack.log" 2>&1) || {
            echo "cpack -G DEB failed:" >&2
            tail -n 30 "$d/cpack.log" >&2
            return 1
        }
    fi
    echo "$d/pagescan_${v}_$(dpkg --print-architecture).deb"
}

# deb_tree: the package's files, unpacked once; prints the directory.
deb_tree() {
    local deb t=$BATS_FILE_TMPDIR/deb-tree
    deb=$(deb_path) || return 1
    if [[ ! -d $t ]]; then
        dpkg-deb -x "$deb" "$t.tmp" && mv "$t.tmp" "$t" || return 1
    fi
    echo "$t"
}

# assert_gzip_9n FILE: compressed with gzip -9 -n (Debian policy 12.1, 12.7;
# no file name or time stamp in the header).
assert_gzip_9n() {
    local info
    info=$(file -b "$1")
    [[ $info == *"gzip compressed data"*"max compression"* ]] ||
        fail "$1 is not gzip -9: $info"
    [[ $info != *'was "'* && $info != *"last modified"* ]] ||
        fail "$1 has a name or time stamp in its gzip header (use gzip -n): $info"
}

@test "version: CMake's project version is --version's, the JSON pagescan field's, the man page's and the package's" {
    local v
    v=$(project_version)
    [[ $v =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "project version '$v' is not MAJOR.MINOR.PATCH"
    run "$PAGESCAN" --version
    assert_success
    assert_output "pagescan $v"
    # the "pagescan" field of the JSON output (report: no process needed)
    run bash -c '"$1" report "$2" -f json | jq -r "select(.type == \"report\") | .pagescan"' \
        _ "$PAGESCAN" "$SRC_DIR/docs/example-recording.jsonl"
    assert_success
    assert_output "$v"
    # the man page: the source leaves the version to CMake ...
    run grep -c '^\.TH PAGESCAN 1 [0-9-]* "pagescan @PROJECT_VERSION@" ' "$SRC_DIR/man/pagescan.1"
    assert_output 1
    # ... which writes it into the man page it installs
    run grep -c "^\\.TH PAGESCAN 1 [0-9-]* \"pagescan $v\" " "$BUILD_DIR/man/pagescan.1"
    assert_output 1
    gzip -dc "$BUILD_DIR/man/pagescan.1.gz" | cmp "$BUILD_DIR/man/pagescan.1" -
    # the package
    local deb
    deb=$(deb_path)
    assert_equal "$(dpkg-deb -f "$deb" Version)" "$v"
}

@test "changelog: CHANGELOG.md has Unreleased first, then the project version, dated" {
    local v cl=$SRC_DIR/CHANGELOG.md first
    v=$(project_version)
    assert_file_exists "$cl"
    run grep -nxF '## [Unreleased]' "$cl"
    assert_success
    # the version being built has its section (docs/RELEASING.md, step 2)
    run grep -nE "^## \\[${v//./\\.}\\] - [0-9]{4}-[0-9]{2}-[0-9]{2}\$" "$cl"
    assert_success
    # Unreleased comes before every version
    first=$(grep -nE '^## ' "$cl" | head -n 1)
    assert_equal "$first" "$(grep -nxF '## [Unreleased]' "$cl")"
    # every version heading: [X.Y.Z] - YYYY-MM-DD, newest first
    run bash -c 'grep -E "^## " "$1" | grep -vxF "## [Unreleased]" |
        grep -vE "^## \[[0-9]+\.[0-9]+\.[0-9]+\] - [0-9]{4}-[0-9]{2}-[0-9]{2}$"' _ "$cl"
    assert_output ''
    local vers
    vers=$(sed -n 's/^## \[\([0-9][0-9.]*\)\] - .*/\1/p' "$cl")
    assert_equal "$vers" "$(sort -t. -k1,1nr -k2,2nr -k3,3nr <<<"$vers")"
}

@test "license: LICENSE is MIT, README names it, packaging/copyright holds the same text" {
    local lic=$SRC_DIR/LICENSE cr=$SRC_DIR/packaging/copyright
    assert_equal "$(sed -n 1p "$lic")" "MIT License"
    run grep -cE '^Copyright \(c\) [0-9]{4}(-[0-9]{4})? The pagescan authors$' "$lic"
    assert_output 1
    run grep -E '^## License$' "$SRC_DIR/README.md"
    assert_success
    run grep -F 'MIT' "$SRC_DIR/README.md"
    assert_success
    # DEP-5: machine-readable, every file under the one license
    assert_equal "$(sed -n 1p "$cr")" "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
    run grep -cxE 'Copyright: [0-9]{4}(-[0-9]{4})? The pagescan authors' "$cr"
    assert_output 1
    # the license paragraph is LICENSE from "Permission" on, DEP-5 indented
    diff <(awk 'p { print } prev == "" && $0 == "License: Expat" { p = 1 } { prev = $0 }' "$cr" |
        sed 's/^ //; s/^\.$//') \
        <(sed -n '/^Permission/,$p' "$lic") ||
        fail "the License: Expat paragraph of packaging/copyright differs from LICENSE"
}

@test "deb: copyright, changelog.gz (CHANGELOG.md), the man page gzip -9n, and the lintian overrides" {
    local t doc
    t=$(deb_tree)
    doc=$t/usr/share/doc/pagescan
    cmp "$SRC_DIR/packaging/copyright" "$doc/copyright"
    assert_gzip_9n "$doc/changelog.gz"
    gzip -dc "$doc/changelog.gz" | cmp "$SRC_DIR/CHANGELOG.md" -
    assert_gzip_9n "$t/usr/share/man/man1/pagescan.1.gz"
    gzip -dc "$t/usr/share/man/man1/pagescan.1.gz" | cmp "$BUILD_DIR/man/pagescan.1" -
    assert_file_not_exists "$t/usr/share/man/man1/pagescan.1"
    cmp "$SRC_DIR/packaging/lintian-overrides" "$t/usr/share/lintian/overrides/pagescan"
    # the maintainer is the project's, not a local address
    local m
    m=$(dpkg-deb -f "$(deb_path)" Maintainer)
    [[ $m =~ ^[^\<]+\ \<[^@\>]+@[a-z0-9.-]+\.[a-z]+\>$ && $m != *localhost* && $m != *.invalid\> ]] ||
        fail "Maintainer is not a plausible project address: $m"
}

@test "deb: the packaged pagescan has no test hook: PAGESCAN_TEST_INJECT_HOOK is not in it and changes nothing" {
    local t bin
    t=$(deb_tree)
    bin=$t/usr/bin/pagescan
    assert_file_executable "$bin"
    # the hook reads its variable by name: no name, no hook (cmake/TestHooks.cmake)
    run grep -caF PAGESCAN_TEST_INJECT_HOOK "$bin"
    assert_output 0
    if command -v strings >/dev/null; then
        run bash -c 'strings -a "$1" | grep -c PAGESCAN_TEST' _ "$bin"
        assert_output 0
    fi
    # nor is it in the binary the build tree installs; only in its test twin
    run grep -caF PAGESCAN_TEST_INJECT_HOOK "$PAGESCAN"
    assert_output 0
    if grep -q '^PAGESCAN_TEST_HOOKS:BOOL=ON$' "$BUILD_DIR/CMakeCache.txt"; then
        grep -qaF PAGESCAN_TEST_INJECT_HOOK "$BUILD_DIR/test-hooks/pagescan" ||
            fail "the test twin $BUILD_DIR/test-hooks/pagescan has no hook: the fault matrix would skip"
    fi
    # Set, the variable changes nothing: with "exit" a binary with the hook
    # would _exit(99) in the middle of the injection (and the target die of
    # PTRACE_O_EXITKILL); the packaged one engages and releases normally.
    "$TARGETS/kfeatures" >/dev/null 2>&1 || skip "the kernel lacks what pagescan needs: $("$TARGETS/kfeatures" 2>&1)"
    victim_start
    vmap a anon 16
    vcmd "write a 0-3"
    PAGESCAN_TEST_INJECT_HOOK=exit run --separate-stderr "$bin" engage "$VPID"
    assert_success
    victim_alive || fail "the target died"
    assert_equal "$(uffd_count "$VPID")" 1
    PAGESCAN_TEST_INJECT_HOOK=delay:60000 run --separate-stderr timeout 30 "$bin" release "$VPID"
    assert_success
    no_uffd_left "$VPID"
    vcmd "check a"
    victim_stop
}

@test "deb: lintian reports no error and no warning (overrides: packaging/lintian-overrides)" {
    command -v lintian >/dev/null || skip "lintian is not installed (.ci/deps installs it)"
    local deb
    deb=$(deb_path)
    # -I: info tags are printed too (on failure), but only E:, W: and an
    # override that no longer matches anything fail the test.
    run --separate-stderr lintian -I --show-overrides --no-tag-display-limit "$deb"
    echo "lintian $(lintian --version | sed 's/^Lintian v//') on ${deb##*/} (status $status):"
    printf '%s\n' "$output"
    [[ -z $stderr ]] || printf 'stderr: %s\n' "$stderr"
    [[ $status == 0 ]] || fail "lintian exited $status"
    if grep -E '^[EW]: |unused-override|mismatched-override' <<<"$output"; then
        fail "lintian reports errors, warnings or stale overrides (above)"
    fi
}

@test "check_spdx.sh --fix: each kind's comment syntax, what must stay first stays first, idempotent" {
    local t=$BATS_TEST_TMPDIR/tree
    mkdir -p "$t"/{src,man,completions,tests,.ci,docs}
    printf '#include <stdio.h>\nint main(void) { return 0; }\n' >"$t/src/a.c"
    printf '#ifndef A_H\n#define A_H\n#endif\n' >"$t/src/a.h"
    printf '#!/usr/bin/env bash\necho hi\n' >"$t/tests/s.sh"
    printf 'helper() { :; }\n' >"$t/tests/common.bash"
    printf '#!/usr/bin/env python3\n# -*- coding: utf-8 -*-\n"""doc"""\n' >"$t/tests/c.py"
    printf '#compdef pagescan\n_pagescan() { :; }\n' >"$t/completions/_pagescan"
    printf '# bash completion   -*- shell-script -*-\n_x() { :; }\n' >"$t/completions/pagescan.bash"
    printf '.TH X 1\n.SH NAME\n' >"$t/man/x.1"
    printf "'\\\\\" t\n.TH Y 1\n" >"$t/man/y.1"
    printf '#!/bin/sh\n:\n' >"$t/.ci/run"
    printf 'cmake_minimum_required(VERSION 3.25)\n' >"$t/CMakeLists.txt"
    printf '/* SPDX-License-Identifier: MIT */\nint b;\n' >"$t/src/b.c"
    printf '# x\n' >"$t/docs/x.md"
    chmod 755 "$t/tests/s.sh" "$t/.ci/run"

    run "$SRC_DIR/tests/check_spdx.sh" "$t"
    assert_failure
    assert_output --partial '11 files lack'
    refute_output --partial 'src/b.c'
    refute_output --partial 'docs/x.md'

    run "$SRC_DIR/tests/check_spdx.sh" --fix "$t"
    assert_success
    assert_output --partial 'to 11 files'

    assert_equal "$(head -n 2 "$t/src/a.c")" $'/* SPDX-License-Identifier: MIT */\n#include <stdio.h>'
    assert_equal "$(head -n 1 "$t/src/a.h")" '/* SPDX-License-Identifier: MIT */'
    assert_equal "$(head -n 3 "$t/tests/s.sh")" $'#!/usr/bin/env bash\n# SPDX-License-Identifier: MIT\necho hi'
    assert_equal "$(head -n 1 "$t/tests/common.bash")" '# SPDX-License-Identifier: MIT'
    assert_equal "$(head -n 3 "$t/tests/c.py")" $'#!/usr/bin/env python3\n# -*- coding: utf-8 -*-\n# SPDX-License-Identifier: MIT'
    assert_equal "$(head -n 2 "$t/completions/_pagescan")" $'#compdef pagescan\n# SPDX-License-Identifier: MIT'
    assert_equal "$(sed -n 2p "$t/completions/pagescan.bash")" '# SPDX-License-Identifier: MIT'
    assert_equal "$(head -n 2 "$t/man/x.1")" $'.\\" SPDX-License-Identifier: MIT\n.TH X 1'
    assert_equal "$(head -n 2 "$t/man/y.1")" $'\'\\" t\n.\\" SPDX-License-Identifier: MIT'
    assert_equal "$(head -n 2 "$t/.ci/run")" $'#!/bin/sh\n# SPDX-License-Identifier: MIT'
    assert_equal "$(head -n 1 "$t/CMakeLists.txt")" '# SPDX-License-Identifier: MIT'
    assert_equal "$(cat "$t/src/b.c")" $'/* SPDX-License-Identifier: MIT */\nint b;'
    assert_equal "$(cat "$t/docs/x.md")" '# x'
    # modes kept
    assert_file_executable "$t/tests/s.sh"
    assert_file_executable "$t/.ci/run"
    # the shells still read their files
    run bash -n "$t/tests/s.sh"
    assert_success

    run "$SRC_DIR/tests/check_spdx.sh" "$t"
    assert_success
    run "$SRC_DIR/tests/check_spdx.sh" --fix "$t"
    assert_success
    assert_output --partial 'to 0 files'

    # a file of no known kind fails the check until it gets a rule
    printf 'data\n' >"$t/src/blob.xyz"
    run "$SRC_DIR/tests/check_spdx.sh" "$t"
    assert_failure
    assert_output --partial 'no rule for these files'
    assert_output --partial 'src/blob.xyz'
}
