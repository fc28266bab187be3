/* SPDX-License-Identifier: MIT */
/* The argp help filter that puts the category table into help text. */
#include <stdlib.h>
#include <string.h>

#include "help.h"
#include "pagescan/model/category.h"

char *ps_help_filter(int key, const char *text, void *input)
{
	static const char ph[] = PS_HELP_CATEGORIES;
	const size_t phlen = sizeof(ph) - 1;
	const char *names = ps_category_names();
	const size_t nlen = strlen(names);
	const char *p, *hit;
	size_t count = 0;
	char *out, *q;

	(void)key;
	(void)input;
	/* argp's contract: the same pointer means "unchanged"; ARGP_KEY_HELP_EXTRA
	 * comes with NULL. The cast only hands text back, argp never writes it. */
	if (!text || !strstr(text, ph))
		return (char *)text;
	for (p = text; (hit = strstr(p, ph)); p = hit + phlen)
		count++;
	out = malloc(strlen(text) - count * phlen + count * nlen + 1);
	if (!out)
		return (char *)text;
	for (p = text, q = out; (hit = strstr(p, ph)); p = hit + phlen) {
		q = mempcpy(q, p, (size_t)(hit - p));
		q = mempcpy(q, names, nlen);
	}
	memcpy(q, p, strlen(p) + 1);
	return out;
}
