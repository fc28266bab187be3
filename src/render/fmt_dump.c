/* SPDX-License-Identifier: MIT */
/* dump and engage output: text for people, JSON Lines for programs. */
#include <string.h>

#include "pagescan/model/category.h"
#include "pagescan/render/fmt.h"
#include "pagescan/model/utf8.h"
#include "pagescan/model/util.h"
#include "line.h"

/* Text addresses are padded to 12 hex digits (user space on x86-64 is 47
 * bits) so columns line up; JSON carries them unpadded. */
static void hex12(struct ps_out *o, uint64_t v)
{
	char buf[20];
	ps_out_mem(o, buf, (size_t)(ps_put_hex(buf, v, 12) - buf));
}

static void label_json(struct ps_out *o, const char *label)
{
	ps_out_json_str(o, label, strlen(label));
}

static void octal_escape(struct ps_out *o, unsigned char c)
{
	char b[5] = { '\\', (char)('0' + (c >> 6)), (char)('0' + ((c >> 3) & 7)), (char)('0' + (c & 7)), 0 };
	ps_out_str(o, b);
}

/* Names the target controls are printed as the kernel shows them; control
 * characters could still drive a terminal, so text output escapes them
 * (\ooo, like /proc): C0 and DEL, and the C1 controls U+0080..U+009F in
 * their UTF-8 form (c2 80..c2 9f). Bytes that are not valid UTF-8 are
 * escaped the same way, so that text output is always valid UTF-8 and a
 * reader can tell the bytes apart (a terminal would show each as U+FFFD). */
void ps_fmt_label_text(struct ps_out *o, const char *s)
{
	while (*s) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				octal_escape(o, c);
			else
				ps_out_chr(o, (char)c);
			s++;
			continue;
		}
		size_t n = ps_utf8_seq((const unsigned char *)s, strnlen(s, 4));
		if (n == 0 || (c == 0xc2 && (unsigned char)s[1] <= 0x9f)) {
			/* invalid: this byte; C1: both */
			for (size_t k = n ? n : 1; k--; s++)
				octal_escape(o, (unsigned char)*s);
			continue;
		}
		ps_out_mem(o, s, n);
		s += n;
	}
}

static const char *vma_label(const struct ps_vma *v)
{
	return v ? ps_vma_label(v) : "[unmapped]";
}

/* The hot path of a dump: one call per region (hundreds of thousands), so
 * each line is built in a local buffer and appended at once; category lists
 * and the escaped mapping name are computed once and reused. */
#define NCATSETS (PS_CAT_ALL + 1)
static char cat_text[NCATSETS][80];   /* "written,present" */
static char cat_json[NCATSETS][112];  /* "\"written\",\"present\"" */
static unsigned char cat_ready[NCATSETS];

static void cat_fill(uint64_t cats)
{
	size_t i = cats & PS_CAT_ALL;
	if (cat_ready[i])
		return;
	ps_categories_format(i, cat_text[i], sizeof(cat_text[i]));
	char *p = cat_json[i];
	for (size_t k = 0; k < ps_ncategories; k++) {
		if (!(i & ps_categories[k].bit))
			continue;
		if (p != cat_json[i])
			*p++ = ',';
		*p++ = '"';
		size_t l = strlen(ps_categories[k].name);
		memcpy(p, ps_categories[k].name, l);
		p += l;
		*p++ = '"';
	}
	*p = 0;
	cat_ready[i] = 1;
}

const struct ps_out *ps_label_cache_get(struct ps_label_cache *c, const struct ps_vma *vma, bool json)
{
	if (c->valid && c->vma == vma && c->json == json)
		return &c->buf;
	if (!c->buf.buf && !c->buf.cap)
		ps_out_init(&c->buf, -1);
	c->buf.len = 0;
	const char *l = vma_label(vma);
	if (json)
		ps_out_json_str(&c->buf, l, strlen(l));
	else
		ps_fmt_label_text(&c->buf, l);
	c->json = json;
	c->vma = vma;
	c->valid = true;
	return &c->buf;
}

void ps_label_cache_reset(struct ps_label_cache *c)
{
	c->valid = false;
	c->vma = NULL;
}

void ps_label_cache_free(struct ps_label_cache *c)
{
	ps_out_free(&c->buf);
	ps_label_cache_reset(c);
}

void ps_fmt_dump_region(struct ps_dump_fmt *f, const struct ps_region *piece, const struct ps_vma *vma)
{
	struct ps_out *o = f->o;
	uint64_t pages = (piece->end - piece->start) >> PS_PAGE_SHIFT;
	size_t ci = piece->cats & PS_CAT_ALL;
	char line[256], *p = line;

	f->regions++;
	f->pages += pages;
	cat_fill(ci);
	const struct ps_out *label = ps_label_cache_get(&f->label, vma, f->kind == PS_OUT_JSON);
	if (f->kind == PS_OUT_JSON) {
		p = PS_PUT_LIT(p, "{\"type\":\"region\",\"start\":\"");
		p = ps_put_hex(p, piece->start, 0);
		p = PS_PUT_LIT(p, "\",\"end\":\"");
		p = ps_put_hex(p, piece->end, 0);
		p = PS_PUT_LIT(p, "\",\"pages\":");
		p = ps_put_u64(p, pages, 0);
		p = PS_PUT_LIT(p, ",\"categories\":[");
		p = ps_put_mem(p, cat_json[ci], strlen(cat_json[ci]));
		p = PS_PUT_LIT(p, "],\"mapping\":");
		ps_out_mem(o, line, (size_t)(p - line));
		ps_out_mem(o, label->buf, label->len);
		ps_out_mem(o, "}\n", 2);
		return;
	}
	p = ps_put_hex(p, piece->start, 12);
	*p++ = '-';
	p = ps_put_hex(p, piece->end, 12);
	*p++ = ' ';
	*p++ = ' ';
	p = ps_put_u64(p, pages, 9);
	*p++ = ' ';
	*p++ = ' ';
	p = ps_put_mem(p, cat_text[ci], strlen(cat_text[ci]));
	*p++ = ' ';
	*p++ = ' ';
	ps_out_mem(o, line, (size_t)(p - line));
	ps_out_mem(o, label->buf, label->len);
	ps_out_mem(o, "\n", 1);
}

void ps_fmt_dump_done(struct ps_dump_fmt *f)
{
	ps_label_cache_free(&f->label);
}

void ps_fmt_dump_summary(struct ps_dump_fmt *f, bool truncated)
{
	struct ps_out *o = f->o;
	uint64_t bytes = f->pages * PS_PAGE_SIZE;
	if (f->kind == PS_OUT_JSON) {
		ps_out_str(o, "{\"type\":\"summary\",\"regions\":");
		ps_out_u64(o, f->regions);
		ps_out_str(o, ",\"pages\":");
		ps_out_u64(o, f->pages);
		ps_out_str(o, ",\"bytes\":");
		ps_out_u64(o, bytes);
		ps_out_str(o, truncated ? ",\"truncated\":true}\n" : ",\"truncated\":false}\n");
		return;
	}
	char h[16];
	ps_out_u64(o, f->regions);
	ps_out_str(o, f->regions == 1 ? " region, " : " regions, ");
	ps_out_u64(o, f->pages);
	ps_out_str(o, f->pages == 1 ? " page (" : " pages (");
	ps_out_str(o, ps_human_bytes(bytes, h, sizeof(h)));
	ps_out_str(o, truncated ? "), truncated by --max-pages\n" : ")\n");
}

static void span_json(struct ps_out *o, const struct ps_span *s, bool with_reason)
{
	ps_out_str(o, "{\"start\":\"");
	ps_out_hex(o, s->start);
	ps_out_str(o, "\",\"end\":\"");
	ps_out_hex(o, s->end);
	ps_out_str(o, "\",\"pages\":");
	ps_out_u64(o, (s->end - s->start) >> PS_PAGE_SHIFT);
	ps_out_str(o, ",\"mapping\":");
	label_json(o, s->mapping ? s->mapping : "");
	if (with_reason) {
		ps_out_str(o, ",\"reason\":");
		label_json(o, s->reason ? s->reason : "");
	}
	ps_out_chr(o, '}');
}

void ps_fmt_spans_json(struct ps_out *o, const struct ps_span *v, size_t n, bool with_reason)
{
	ps_out_chr(o, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			ps_out_chr(o, ',');
		span_json(o, &v[i], with_reason);
	}
	ps_out_chr(o, ']');
}

void ps_fmt_span_text(struct ps_out *o, const char *prefix, const struct ps_span *s)
{
	char h[16];
	ps_out_str(o, prefix);
	hex12(o, s->start);
	ps_out_chr(o, '-');
	hex12(o, s->end);
	ps_out_str(o, "  ");
	ps_out_str(o, ps_human_bytes(s->end - s->start, h, sizeof(h)));
	ps_out_str(o, "  ");
	ps_fmt_label_text(o, s->mapping ? s->mapping : "");
	if (s->reason) {
		ps_out_str(o, ": ");
		ps_out_str(o, s->reason);
	}
	ps_out_chr(o, '\n');
}

static bool special_skip(const struct ps_span *s)
{
	return s->mapping && s->mapping[0] == '[' && s->reason && strncmp(s->reason, "special", 7) == 0;
}

bool ps_fmt_skipped_text(struct ps_out *o, const struct ps_span *v, size_t n, bool specials)
{
	/* The kernel's own special mappings are always skipped: one line for them. */
	bool any = false;
	for (size_t i = 0; i < n && specials; i++) {
		if (!special_skip(&v[i]))
			continue;
		ps_out_str(o, any ? " " : "  not tracked (special kernel mappings): ");
		ps_out_str(o, v[i].mapping);
		any = true;
	}
	if (any)
		ps_out_chr(o, '\n');
	for (size_t i = 0; i < n; i++)
		if (!special_skip(&v[i]))
			ps_fmt_span_text(o, "  skipped  ", &v[i]);
	return any;
}

void ps_fmt_engage(struct ps_out *o, enum ps_fmt_kind kind, pid_t pid, const char *comm,
                   const struct ps_span *engaged, size_t nengaged,
                   const struct ps_span *skipped, size_t nskipped, uint64_t readonly_vmas)
{
	uint64_t pages = 0;
	for (size_t i = 0; i < nengaged; i++)
		pages += (engaged[i].end - engaged[i].start) >> PS_PAGE_SHIFT;
	if (kind == PS_OUT_JSON) {
		ps_out_str(o, "{\"type\":\"engage\",\"pid\":");
		ps_out_i64(o, pid);
		ps_out_str(o, ",\"command\":");
		label_json(o, comm);
		ps_out_str(o, ",\"tracked_pages\":");
		ps_out_u64(o, pages);
		ps_out_str(o, ",\"readonly_mappings\":");
		ps_out_u64(o, readonly_vmas);
		ps_out_str(o, ",\"engaged\":");
		ps_fmt_spans_json(o, engaged, nengaged, false);
		ps_out_str(o, ",\"skipped\":");
		ps_fmt_spans_json(o, skipped, nskipped, true);
		ps_out_str(o, "}\n");
		return;
	}
	char h[16];
	ps_out_printf(o, "engaged process %d (%s): %zu range%s, %llu pages (%s) tracked\n", (int)pid, comm,
	              nengaged, nengaged == 1 ? "" : "s", (unsigned long long)pages,
	              ps_human_bytes(pages * PS_PAGE_SIZE, h, sizeof(h)));
	for (size_t i = 0; i < nengaged; i++)
		ps_fmt_span_text(o, "  tracked  ", &engaged[i]);
	(void)ps_fmt_skipped_text(o, skipped, nskipped, true);
	if (readonly_vmas)
		ps_out_printf(o, "  (%llu read-only mapping%s not tracked: nothing can write them without mprotect)\n",
		              (unsigned long long)readonly_vmas, readonly_vmas == 1 ? "" : "s");
}

void ps_fmt_release(struct ps_out *o, enum ps_fmt_kind kind, pid_t pid, const char *comm, int fd,
                    const pid_t *copies, size_t ncopies)
{
	if (kind == PS_OUT_JSON) {
		ps_out_str(o, "{\"type\":\"release\",\"pid\":");
		ps_out_i64(o, pid);
		ps_out_str(o, ",\"command\":");
		label_json(o, comm);
		ps_out_str(o, ",\"fd\":");
		ps_out_i64(o, fd);
		ps_out_str(o, ",\"copies_closed\":[");
		for (size_t i = 0; i < ncopies; i++) {
			if (i)
				ps_out_chr(o, ',');
			ps_out_i64(o, copies[i]);
		}
		ps_out_str(o, "]}\n");
		return;
	}
	ps_out_printf(o, "released process %d (%s): closed userfaultfd fd %d", (int)pid, comm, fd);
	for (size_t i = 0; i < ncopies; i++)
		ps_out_printf(o, "%s%d", i ? ", " : " and its copies in processes ", (int)copies[i]);
	ps_out_printf(o, "%s; its pages are no longer write-protected\n", ncopies ? " (forked while engaged)" : "");
}
