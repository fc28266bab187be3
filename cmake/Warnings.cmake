# SPDX-License-Identifier: MIT
include(CheckCCompilerFlag)
set(PAGESCAN_WARNINGS -Wall -Wextra)
foreach(flag -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
             -Wpointer-arith -Wimplicit-fallthrough -Wno-missing-field-initializers
             -Wundef -Wvla)
  string(MAKE_C_IDENTIFIER "HAVE${flag}" var)
  check_c_compiler_flag(${flag} ${var})
  if(${var})
    list(APPEND PAGESCAN_WARNINGS ${flag})
  endif()
endforeach()
if(PAGESCAN_WERROR)
  list(APPEND PAGESCAN_WARNINGS -Werror)
endif()
if(CMAKE_BUILD_TYPE MATCHES "Rel" AND NOT PAGESCAN_SANITIZE)
  list(APPEND PAGESCAN_WARNINGS -D_FORTIFY_SOURCE=2)
endif()
