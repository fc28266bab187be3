# SPDX-License-Identifier: MIT
# Installation of the man page, the shell completions, the copyright and the
# changelog, and the Debian package (CPack DEB). Included at the end of the
# top-level CMakeLists.txt; the binary's own install rule is in
# src/CMakeLists.txt.
#
# Every destination is relative to CMAKE_INSTALL_PREFIX, so both
# `cmake --install BUILD --prefix P` and DESTDIR=... are honoured.
#
# The version is CMake's project version, and only that: the binary gets it
# as PAGESCAN_VERSION (top-level CMakeLists.txt: --version, the JSON
# "pagescan" field, the SVG), the man page here (@PROJECT_VERSION@ in the
# .TH line of man/pagescan.1), the package below.

include(GNUInstallDirs)

set(PAGESCAN_DIST_DIR ${CMAKE_CURRENT_LIST_DIR}/..)

# ---- Generated at configure time, into the build tree ----------------------
# BUILD/man/pagescan.1     man/pagescan.1 with @PROJECT_VERSION@ replaced
# BUILD/man/pagescan.1.gz  that, gzip -9n (Debian policy 12.1; -n: no name or
#                          time stamp in the header, so the bytes are
#                          reproducible)
# BUILD/doc/changelog.gz   CHANGELOG.md, gzip -9n (policy 12.7)
# Configure time, not build time: the files exist as soon as cmake has run,
# also in a tree configured only to install (tests/e2e/docs.bats). Editing
# either source re-runs cmake at the next build (CMAKE_CONFIGURE_DEPENDS).
find_program(PAGESCAN_GZIP gzip REQUIRED)

# _ps_gzip IN OUT: OUT = gzip -9n IN, redone only when IN is newer.
function(_ps_gzip in out)
  if(NOT EXISTS "${out}" OR "${in}" IS_NEWER_THAN "${out}")
    execute_process(COMMAND "${PAGESCAN_GZIP}" -9 -n -c "${in}"
                    OUTPUT_FILE "${out}" RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      file(REMOVE "${out}")
      message(FATAL_ERROR "pagescan: gzip ${in} failed (${rc})")
    endif()
  endif()
endfunction()

set(PAGESCAN_MAN_PAGE ${PROJECT_BINARY_DIR}/man/pagescan.1)
set(_ps_man_src ${PAGESCAN_DIST_DIR}/man/pagescan.1)
set(_ps_changelog_src ${PAGESCAN_DIST_DIR}/CHANGELOG.md)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${_ps_man_src} ${_ps_changelog_src})

file(READ ${_ps_man_src} _ps_man)
string(FIND "${_ps_man}" "@PROJECT_VERSION@" _ps_at)
if(_ps_at LESS 0)
  message(FATAL_ERROR "pagescan: man/pagescan.1 has no @PROJECT_VERSION@ "
          "(its .TH line takes the version from CMake's project version)")
endif()
string(REPLACE "@PROJECT_VERSION@" "${PROJECT_VERSION}" _ps_man "${_ps_man}")
# Rewritten only when it changes, so that the .gz is not redone for nothing.
set(_ps_old "")
if(EXISTS ${PAGESCAN_MAN_PAGE})
  file(READ ${PAGESCAN_MAN_PAGE} _ps_old)
endif()
if(NOT _ps_old STREQUAL _ps_man)
  file(WRITE ${PAGESCAN_MAN_PAGE} "${_ps_man}")
endif()
_ps_gzip(${PAGESCAN_MAN_PAGE} ${PAGESCAN_MAN_PAGE}.gz)

file(MAKE_DIRECTORY ${PROJECT_BINARY_DIR}/doc)
_ps_gzip(${_ps_changelog_src} ${PROJECT_BINARY_DIR}/doc/changelog.gz)

install(FILES ${PAGESCAN_MAN_PAGE}.gz
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# /usr/share/doc/pagescan: the DEP-5 copyright file (policy 12.5) and the
# changelog. A native package's changelog.gz (no Debian revision in the
# version) is this project's own: lintian then reads it as a Debian
# changelog, which it is not (see packaging/lintian-overrides).
install(FILES ${PAGESCAN_DIST_DIR}/packaging/copyright
              ${PROJECT_BINARY_DIR}/doc/changelog.gz
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PAGESCAN_DIST_DIR}/packaging/lintian-overrides
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/lintian/overrides RENAME pagescan)

# bash: bash-completion's own directory when its pkg-config file is there.
# It is usually absolute (/usr/share/bash-completion/completions); below its
# pkg-config prefix (or /usr) it is made relative to our prefix, so that an
# install elsewhere (or into a package) does not write to the system.
set(PAGESCAN_BASH_COMPLETION_DIR "" CACHE STRING
    "where to install the bash completion (default: from bash-completion.pc, else share/bash-completion/completions)")
set(_ps_bash_dir "${PAGESCAN_BASH_COMPLETION_DIR}")
if(NOT _ps_bash_dir)
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_get_variable(_ps_bc_dir bash-completion completionsdir)
    pkg_get_variable(_ps_bc_prefix bash-completion prefix)
  endif()
  if(_ps_bc_dir)
    if(_ps_bc_prefix AND _ps_bc_dir MATCHES "^${_ps_bc_prefix}/(.+)$")
      set(_ps_bash_dir "${CMAKE_MATCH_1}")
    elseif(_ps_bc_dir MATCHES "^/usr/(.+)$")
      set(_ps_bash_dir "${CMAKE_MATCH_1}")
    else()
      set(_ps_bash_dir "${_ps_bc_dir}")
    endif()
  else()
    set(_ps_bash_dir "${CMAKE_INSTALL_DATAROOTDIR}/bash-completion/completions")
  endif()
endif()
message(STATUS "pagescan: bash completion goes to ${_ps_bash_dir}")
install(FILES ${PAGESCAN_DIST_DIR}/completions/pagescan.bash
        DESTINATION ${_ps_bash_dir} RENAME pagescan)

# zsh: Debian's directory for packaged completions (in zsh's default fpath).
install(FILES ${PAGESCAN_DIST_DIR}/completions/_pagescan
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/zsh/vendor-completions)

# fish: the directory fish reads packaged completions from.
install(FILES ${PAGESCAN_DIST_DIR}/completions/pagescan.fish
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/fish/vendor_completions.d)

# ---- Debian package: `cpack -G DEB` in the build tree -----------------------

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pagescan)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_DESCRIPTION
"pagescan reports exactly which memory pages a running process writes,
using userfaultfd asynchronous write-protect and the PAGEMAP_SCAN ioctl
(Linux 6.7 or later). It dumps page categories, watches a process's writes
and dirty rate interval by interval (text, JSON Lines, CSV, live heatmap),
runs a command under tracking from its first instruction, and analyses
recordings: write working set over time windows and a live-migration
pre-copy convergence estimate.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(PAGESCAN_DEB_MAINTAINER "pagescan maintainers <maintainers@pagescan.org>" CACHE STRING
    "Maintainer field of the Debian package")
# Build trees configured before this default cached an address at localhost,
# which lintian rejects (bogus-mail-host): replace that old default.
if(PAGESCAN_DEB_MAINTAINER STREQUAL "pagescan maintainers <pagescan@localhost>")
  set(PAGESCAN_DEB_MAINTAINER "pagescan maintainers <maintainers@pagescan.org>" CACHE STRING
      "Maintainer field of the Debian package" FORCE)
endif()
set(CPACK_PACKAGE_CONTACT "${PAGESCAN_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${PAGESCAN_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# pagescan_<version>_<arch>.deb
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Runtime dependencies (libc6, libbsd0, libncursesw6, libtinfo6) come from
# dpkg-shlibdeps (package dpkg-dev); without it, name them by hand.
find_program(PAGESCAN_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(PAGESCAN_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  message(WARNING "pagescan: dpkg-shlibdeps not found (install dpkg-dev); "
                  "the .deb will list its dependencies by hand")
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6 (>= 2.34), libbsd0, libncursesw6, libtinfo6")
endif()

include(CPack)
