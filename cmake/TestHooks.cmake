# SPDX-License-Identifier: MIT
# Test-only fault injection lives in a twin of the pagescan binary, never in
# pagescan itself:
#
#   BUILD/src/pagescan          what is installed and packaged (cpack): no hook
#   BUILD/test-hooks/pagescan   the same sources compiled with
#                               -DPAGESCAN_TEST_HOOKS; only tests run it
#
# The hooks are environment variables read under #ifdef PAGESCAN_TEST_HOOKS:
# PAGESCAN_TEST_INJECT_HOOK (src/kernel/inject.c: the fault matrix,
# tests/e2e/fault_blocked.bats; delay:MS and exit with the target stopped,
# preseize:MS before it is seized), PAGESCAN_TEST_KERNEL_RELEASE
# (src/kernel/kwarn.c), PAGESCAN_TEST_OUTPUT_CAP, PAGESCAN_TEST_TICK_FAIL and
# PAGESCAN_TEST_BUDGET_MAX_MS (src/cli/loop.c: run's output queue, its way
# out of a failed watch, the budget's longest stretch).
#
# The option decides whether the twin is built. It is ON in a tree that
# builds the tests (the README's `cmake -S . -B build` + `ctest`), so the
# fault tests never skip there; OFF with -DBUILD_TESTING=OFF, or by hand
# (-DPAGESCAN_TEST_HOOKS=OFF), and then those tests skip, saying why. Either
# way no installed or packaged file contains the hook: tests/e2e/package.bats
# checks the .deb's binary. Included from the top-level CMakeLists.txt after
# src/ and before tests/.

if(BUILD_TESTING)
  set(_ps_hooks_default ON)
else()
  set(_ps_hooks_default OFF)
endif()
option(PAGESCAN_TEST_HOOKS
  "build the test twin of pagescan with the fault-injection hook (BUILD/test-hooks/pagescan; never installed)"
  ${_ps_hooks_default})

if(PAGESCAN_TEST_HOOKS)
  get_target_property(_ps_kernel_sources pagescan_kernel SOURCES)
  get_target_property(_ps_cli_sources pagescan SOURCES)
  add_library(pagescan_kernel_test_hooks STATIC EXCLUDE_FROM_ALL ${_ps_kernel_sources})
  target_compile_definitions(pagescan_kernel_test_hooks PRIVATE PAGESCAN_TEST_HOOKS=1)
  target_link_libraries(pagescan_kernel_test_hooks PUBLIC pagescan_model)

  add_executable(pagescan_test_hooks ${_ps_cli_sources})
  target_link_libraries(pagescan_test_hooks PRIVATE pagescan_kernel_test_hooks pagescan_render
                        PkgConfig::NCURSESW)
  # The CLI's hook: PAGESCAN_TEST_OUTPUT_CAP (src/cli/loop.c, run.bats).
  target_compile_definitions(pagescan_test_hooks PRIVATE PAGESCAN_TEST_HOOKS=1)
  # Named pagescan, like the real one (argp's messages use the program's
  # name), in a directory of its own; no install rule.
  set_target_properties(pagescan_test_hooks PROPERTIES
    OUTPUT_NAME pagescan
    RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/test-hooks)
endif()
