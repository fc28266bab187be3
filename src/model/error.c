/* SPDX-License-Identifier: MIT */
/* struct ps_err: one human line plus an errno. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pagescan/model/error.h"

/* The message size without an object (cppcheck takes sizeof(err->msg) for a
 * dereference of a possibly NULL err). */
#define MSG_SIZE sizeof(((struct ps_err *)0)->msg)

/* A positive errno from any code: callers may hold -errno, and an error must
 * never come back as 0 ("success"), e.g. from a stale errno of 0. */
static int positive_code(int code)
{
	if (code == 0 || code == INT_MIN)
		return EIO;
	return code < 0 ? -code : code;
}

/* A message that does not fit ends in "..." so a cut is never silent. */
static void mark_truncated(char *msg, size_t size)
{
	size_t cut = size - 4;  /* where "..." starts */

	if (size < 4)
		return;
	/* Don't leave half a UTF-8 sequence in front of the marker. */
	for (int i = 0; i < 3 && cut > 0 && ((unsigned char)msg[cut] & 0xc0) == 0x80; i++)
		cut--;
	memcpy(msg + cut, "...", 4);
}

static __attribute__((format(printf, 3, 0))) void format_into(char *msg, size_t size, const char *fmt, va_list ap)
{
	int r = vsnprintf(msg, size, fmt, ap);

	if (r < 0)
		snprintf(msg, size, "(unprintable error message)");
	else if ((size_t)r >= size)
		mark_truncated(msg, size);
}

/* (name): the header may wrap the call in a macro of the same name. */
int (ps_errf)(struct ps_err *err, int code, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	code = positive_code(code);
	if (err) {
		err->code = code;
		va_start(ap, fmt);
		format_into(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	errno = saved;
	return -code;
}

int (ps_err_prefix)(struct ps_err *err, const char *fmt, ...)
{
	char what[MSG_SIZE], old[MSG_SIZE];
	int saved = errno;
	va_list ap;
	int r;

	/* Without a record the code is lost; EIO is the honest "something failed". */
	if (!err)
		return -EIO;
	err->code = positive_code(err->code);

	va_start(ap, fmt);
	format_into(what, sizeof(what), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	old[sizeof(old) - 1] = '\0';

	if (old[0])
		r = snprintf(err->msg, sizeof(err->msg), "%s: %s", what, old);
	else
		r = snprintf(err->msg, sizeof(err->msg), "%s", what);
	if (r >= 0 && (size_t)r >= sizeof(err->msg))
		mark_truncated(err->msg, sizeof(err->msg));
	errno = saved;
	return -err->code;
}

void ps_note(struct ps_notes *notes, const char *fmt, ...)
{
	va_list ap;

	if (!notes)
		return;
	if (notes->n < PS_NOTES_MAX) {
		va_start(ap, fmt);
		vsnprintf(notes->msg[notes->n], sizeof(notes->msg[0]), fmt, ap);
		va_end(ap);
	}
	notes->n++;
}
