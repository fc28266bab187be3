/* SPDX-License-Identifier: MIT */
/* Warnings about the running kernel's known PAGEMAP_SCAN / userfaultfd bugs
 * (model/kbugs.h), as notes for the CLI to print once per command. */
#ifndef PAGESCAN_KWARN_H
#define PAGESCAN_KWARN_H

#include "pagescan/model/error.h"

/* One note per known bug of the running kernel (uname release). In the
 * test twin (PAGESCAN_TEST_HOOKS) PAGESCAN_TEST_KERNEL_RELEASE replaces
 * the release. */
void ps_note_kernel_bugs(struct ps_notes *notes);

#endif
