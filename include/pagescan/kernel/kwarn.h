/* SPDX-License-Identifier: MIT */
/* Warnings about the running kernel's known PAGEMAP_SCAN / userfaultfd bugs
 * (model/kbugs.h), as notes for the CLI to print once per command. */
#ifndef PAGESCAN_KWARN_H
#define PAGESCAN_KWARN_H

#include "pagescan/model/error.h"

/* One note per known bug of the running kernel (uname release), and one
 * when a read fault of private anonymous memory does not map the zero page
 * (probed on a page of pagescan's own). In the test twin
 * (PAGESCAN_TEST_HOOKS) PAGESCAN_TEST_KERNEL_RELEASE replaces the release
 * and PAGESCAN_TEST_NO_ZERO_PAGE=1 makes the probe answer "no". */
void ps_note_kernel_bugs(struct ps_notes *notes);

#endif
