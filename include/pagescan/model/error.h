/* SPDX-License-Identifier: MIT */
/* Errors from the core: a negative errno for the caller's logic and one
 * human line (cause and remedy) for main() to print. The core never prints. */
#ifndef PAGESCAN_ERROR_H
#define PAGESCAN_ERROR_H

#include <errno.h>
#include <stddef.h>

struct ps_err {
	int code;        /* positive errno value, 0 when unset */
	char msg[512];   /* one line, no trailing newline, no "pagescan:" prefix */
};

/* Set *err (if not NULL) and return -code (-EIO when code is 0: never success).
 * Later calls overwrite earlier ones. */
int ps_errf(struct ps_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix the existing message with "<what>: " (keeps the code); returns -code. */
int ps_err_prefix(struct ps_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Non-fatal notes for the user ("warning: ..." lines), in order, collected
 * by code that must not print; main prints them. Past PS_NOTES_MAX only
 * the count grows (main says how many were left out). */
#define PS_NOTES_MAX 20
struct ps_notes {
	size_t n;                    /* notes made, possibly > PS_NOTES_MAX */
	char msg[PS_NOTES_MAX][512];
};
void ps_note(struct ps_notes *notes, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Both always return a negative errno. Say so where every caller sees it,
 * so compilers and static analysers never follow a "success" path out of an
 * error return (a GNU statement expression; the project is gnu11). */
#define ps_errf(...) \
	({ int ps_r_ = ps_errf(__VA_ARGS__); ps_r_ < 0 ? ps_r_ : -EIO; })
#define ps_err_prefix(...) \
	({ int ps_r_ = ps_err_prefix(__VA_ARGS__); ps_r_ < 0 ? ps_r_ : -EIO; })

#endif
