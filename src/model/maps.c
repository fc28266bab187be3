/* SPDX-License-Identifier: MIT */
/* /proc/PID/maps parser. The kernel's format (show_map_vma) is
 * "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu " then, for named mappings,
 * padding spaces and the name up to the newline. Anything else is refused:
 * a misparsed snapshot would put write tracking on the wrong addresses. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pagescan/model/maps.h"
#include "pagescan/model/util.h"

/* Cap for the text read from /proc (vm.max_map_count lines fit easily). */

/* Position within one line. */
struct cursor {
	const char *p, *end;   /* current position, end of this line */
};

/* 1 to maxdigits hex digits; false on none, too many or overflow. */
static bool get_hex(struct cursor *c, unsigned maxdigits, uint64_t *ret)
{
	uint64_t v = 0;
	unsigned nd = 0;
	int d;

	while (c->p < c->end && (d = ps_hex_value(*c->p)) >= 0) {
		if (++nd > maxdigits)
			return false;
		v = v << 4 | (uint64_t)d;
		c->p++;
	}
	/* "12g" is a bad number, not a number and a bad separator */
	if (nd == 0 || (c->p < c->end && isalnum((unsigned char)*c->p)))
		return false;
	*ret = v;
	return true;
}

static bool get_dec(struct cursor *c, uint64_t *ret)
{
	uint64_t v = 0;
	unsigned nd = 0;

	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		unsigned d = (unsigned)(*c->p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
		nd++;
		c->p++;
	}
	if (nd == 0 || (c->p < c->end && isalnum((unsigned char)*c->p)))
		return false;
	*ret = v;
	return true;
}

/* A separator; at the end of the line a field is missing. */
#define EXPECT(c, ch, why) do { \
		if ((c)->p == (c)->end) \
			return "too few fields"; \
		if (!get_chr(c, ch)) \
			return why; \
	} while (0)

static bool get_chr(struct cursor *c, char ch)
{
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return true;
	}
	return false;
}

static enum ps_vma_kind classify(const char *name)
{
	static const struct {
		const char *name;
		enum ps_vma_kind kind;
	} special[] = {
		{ "[heap]", PS_VMA_HEAP },
		{ "[stack]", PS_VMA_STACK },
		{ "[vdso]", PS_VMA_VDSO },
		{ "[vvar]", PS_VMA_VVAR },
		{ "[vvar_vclock]", PS_VMA_VVAR },
		{ "[vsyscall]", PS_VMA_VSYSCALL },
	};
	static const char *const shm_prefix[] = { "/SYSV", "/memfd:", "/dev/shm/" };

	if (name[0] == '\0')
		return PS_VMA_ANON;
	if (name[0] == '[') {
		for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
			if (strcmp(name, special[i].name) == 0)
				return special[i].kind;
		return PS_VMA_SPECIAL;
	}
	/* MAP_SHARED|MAP_ANONYMOUS is backed by an unlinked shmem "/dev/zero" */
	if (strcmp(name, "/dev/zero (deleted)") == 0)
		return PS_VMA_SHMEM;
	for (size_t i = 0; i < sizeof(shm_prefix) / sizeof(shm_prefix[0]); i++)
		if (strncmp(name, shm_prefix[i], strlen(shm_prefix[i])) == 0)
			return PS_VMA_SHMEM;
	return PS_VMA_FILE;
}

/* One line (without its newline) into *v; NULL or a reason for the message. */
static const char *parse_line(char *line, char *end, struct ps_vma *v)
{
	struct cursor c = { line, end };
	uint64_t dev;
	const char *perm;

	if (line == end)
		return "empty line";
	if (memchr(line, '\0', (size_t)(end - line)))
		return "NUL byte";
	if (!get_hex(&c, 16, &v->start))
		return "bad start address";
	EXPECT(&c, '-', "expected '-' after the start address");
	if (!get_hex(&c, 16, &v->end))
		return "bad end address";
	EXPECT(&c, ' ', "expected a space after the address range");
	if (c.p == c.end)
		return "too few fields";
	if (end - c.p < 4)
		return "bad permissions";
	perm = c.p;
	v->prot = 0;
	if (perm[0] == 'r')
		v->prot |= PS_VMA_READ;
	else if (perm[0] != '-')
		return "bad permissions";
	if (perm[1] == 'w')
		v->prot |= PS_VMA_WRITE;
	else if (perm[1] != '-')
		return "bad permissions";
	if (perm[2] == 'x')
		v->prot |= PS_VMA_EXEC;
	else if (perm[2] != '-')
		return "bad permissions";
	if (perm[3] == 's')
		v->prot |= PS_VMA_SHARED;
	else if (perm[3] != 'p')
		return "bad permissions";
	c.p += 4;
	EXPECT(&c, ' ', "expected a space after the permissions");
	if (!get_hex(&c, 16, &v->offset))
		return "bad offset";
	EXPECT(&c, ' ', "expected a space after the offset");
	if (!get_hex(&c, 8, &dev))
		return "bad device major";
	v->dev_major = (unsigned)dev;
	EXPECT(&c, ':', "expected ':' in the device");
	if (!get_hex(&c, 8, &dev))
		return "bad device minor";
	v->dev_minor = (unsigned)dev;
	EXPECT(&c, ' ', "expected a space after the device");
	if (c.p == c.end)
		return "too few fields";
	if (!get_dec(&c, &v->inode))
		return "bad inode";
	/* The inode ends the line (anonymous, with or without the kernel's
	 * trailing space) or a run of spaces precedes the name. */
	if (c.p < c.end && *c.p != ' ')
		return "junk after the inode";
	while (c.p < c.end && *c.p == ' ')
		c.p++;
	*end = '\0';
	v->name = c.p;
	v->kind = classify(v->name);

	if (v->start >= v->end)
		return "start address not below end address";
	if ((v->start | v->end) & (PS_PAGE_SIZE - 1))
		return "address not page aligned";
	return NULL;
}

/*
 * Parse text[0..len) in place (text[len] must be writable, it becomes the
 * NUL of the last line). Takes ownership of text on success only.
 */
int ps_maps_parse_owned(char *text, size_t len, struct ps_maps *ret, struct ps_err *err)
{
	struct ps_vma *v = NULL;
	size_t nlines = 0, n = 0, lineno = 0;
	char *p = text, *tend = text + len;

	/* Count lines first: one exact allocation, and the cap before any work. */
	for (const char *q = text; q < tend; nlines++) {
		const char *nl = memchr(q, '\n', (size_t)(tend - q));

		q = nl ? nl + 1 : tend;
		if (nlines >= PS_MAPS_MAX)
			return ps_errf(err, E2BIG, "maps: more than %u mappings", PS_MAPS_MAX);
	}
	if (nlines) {
		v = calloc(nlines, sizeof(*v));
		if (!v)
			return ps_errf(err, ENOMEM, "maps: out of memory for %zu mappings", nlines);
	}
	/* As many lines as counted above (the same split); bounding the loop by
	 * the count also shows that v is allocated whenever a line is parsed. */
	while (n < nlines) {
		char *nl = memchr(p, '\n', (size_t)(tend - p));
		char *lend = nl ? nl : tend;
		const char *why;

		lineno++;
		why = parse_line(p, lend, &v[n]);
		if (!why && n > 0 && v[n].start < v[n - 1].end)
			why = v[n].start < v[n - 1].start ? "mappings not sorted by address"
							   : "overlaps the previous mapping";
		if (why) {
			free(v);
			return ps_errf(err, EINVAL, "maps line %zu: %s", lineno, why);
		}
		n++;
		p = lend + 1;
	}
	text[len] = '\0';
	ret->v = v;
	ret->n = n;
	ret->text = text;
	return 0;
}

int ps_maps_parse(const char *text, size_t len, struct ps_maps *ret, struct ps_err *err)
{
	char *copy;
	int r;

	if (len >= PS_MAPS_TEXT_MAX)
		return ps_errf(err, EFBIG, "maps: text larger than %zu bytes", PS_MAPS_TEXT_MAX);
	copy = malloc(len + 1);
	if (!copy)
		return ps_errf(err, ENOMEM, "maps: out of memory for %zu bytes", len);
	if (len)
		memcpy(copy, text, len);
	copy[len] = '\0';
	r = ps_maps_parse_owned(copy, len, ret, err);
	if (r < 0)
		free(copy);
	return r;
}

void ps_maps_free(struct ps_maps *m)
{
	if (!m)
		return;
	free(m->v);
	free(m->text);
	m->v = NULL;
	m->text = NULL;
	m->n = 0;
}

size_t ps_maps_lower_bound(const struct ps_maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->v[mid].end > addr)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

long ps_maps_find(const struct ps_maps *m, uint64_t addr)
{
	size_t i = ps_maps_lower_bound(m, addr);

	if (i < m->n && m->v[i].start <= addr)
		return (long)i;
	return -1;
}

const char *ps_vma_label(const struct ps_vma *v)
{
	return v->name[0] ? v->name : "[anon]";
}

static bool ends_with(const char *s, size_t n, const char *suffix, size_t *ret_n)
{
	size_t k = strlen(suffix);

	if (n < k || memcmp(s + n - k, suffix, k) != 0)
		return false;
	*ret_n = n - k;
	return true;
}

bool ps_vma_match(const struct ps_vma *v, const char *sel)
{
	const char *base;
	size_t n;

	if (!sel || !sel[0])
		return false;
	if (strcmp(sel, "anon") == 0 || strcmp(sel, "[anon]") == 0)
		return v->kind == PS_VMA_ANON;
	if (strcmp(sel, "shm") == 0)
		return v->kind == PS_VMA_SHMEM;
	if (sel[0] == '[' || sel[0] == '/')
		return strcmp(v->name, sel) == 0;
	if (v->kind != PS_VMA_FILE && v->kind != PS_VMA_SHMEM)
		return false;
	base = strrchr(v->name, '/');
	base = base ? base + 1 : v->name;
	if (strcmp(base, sel) == 0)
		return true;
	/* an unlinked file still matches by its name */
	return ends_with(base, strlen(base), " (deleted)", &n) && strlen(sel) == n &&
	       memcmp(base, sel, n) == 0;
}
