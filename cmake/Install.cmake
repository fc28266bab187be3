# Installation of the man page and the shell completions, and the Debian
# package (CPack DEB). Included at the end of the top-level CMakeLists.txt;
# the binary's own install rule is in src/CMakeLists.txt.
#
# Every destination is relative to CMAKE_INSTALL_PREFIX, so both
# `cmake --install BUILD --prefix P` and DESTDIR=... are honoured.

include(GNUInstallDirs)

set(PAGESCAN_DIST_DIR ${CMAKE_CURRENT_LIST_DIR}/..)

install(FILES ${PAGESCAN_DIST_DIR}/man/pagescan.1
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

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
set(PAGESCAN_DEB_MAINTAINER "pagescan maintainers <pagescan@localhost>" CACHE STRING
    "Maintainer field of the Debian package")
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
