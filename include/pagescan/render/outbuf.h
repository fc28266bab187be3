/* SPDX-License-Identifier: MIT */
/* A growable output buffer with direct formatters (no printf per region:
 * one printf per region costs a third of a whole-process scan), JSON and
 * CSV string escaping. Flushes to an fd with write(2). */
#ifndef PAGESCAN_OUTBUF_H
#define PAGESCAN_OUTBUF_H

#include <stddef.h>
#include <stdint.h>

struct ps_out {
	char *buf;
	size_t len, cap;
	int fd;          /* flush target, -1 = keep in memory (tests) */
	int error;       /* first write error (positive errno), sticky */
	/* Optional: where a flush hands the bytes instead of ps_write_all(fd)
	 * (run's output queue, src/cli/asyncout.h): 0 or -errno. */
	int (*write)(void *ctx, const void *buf, size_t n);
	void *write_ctx;
};

/* All n bytes of buf to fd: 0, or -errno (a write of 0 bytes is -EIO).
 * Retries after EINTR; on EAGAIN (a non-blocking fd, e.g. a stdout left so
 * by another program) waits in poll(2) until fd is writable instead of
 * dropping output. */
int ps_write_all(int fd, const void *buf, size_t n);

void ps_out_init(struct ps_out *o, int fd);
void ps_out_free(struct ps_out *o);
/* 0 or -errno (EPIPE included); through o->write when set, else to fd. */
int ps_out_flush(struct ps_out *o);

/* A size in bytes as people read it ("1.5M", "512K", "0B"; ps_human_bytes). */
void ps_out_human(struct ps_out *o, uint64_t bytes);
void ps_out_mem(struct ps_out *o, const void *p, size_t n);
void ps_out_str(struct ps_out *o, const char *s);
void ps_out_chr(struct ps_out *o, char c);
void ps_out_u64(struct ps_out *o, uint64_t v);             /* decimal */
void ps_out_i64(struct ps_out *o, int64_t v);
void ps_out_hex(struct ps_out *o, uint64_t v);             /* "0x7f12..." lowercase, no padding */
void ps_out_fixed(struct ps_out *o, double v, int decimals); /* "12.345"; NaN/inf print as 0 */
void ps_out_printf(struct ps_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ps_out_pad(struct ps_out *o, size_t from_len, size_t width); /* spaces until len-from_len == width */

/* JSON string with quotes. Control characters \uXXXX, '"' and '\\' escaped;
 * bytes that are not valid UTF-8 become U+FFFD so the output is always valid. */
void ps_out_json_str(struct ps_out *o, const char *s, size_t n);
/* CSV field (RFC 4180): quoted when it contains , " CR LF or leading/trailing
 * space; invalid UTF-8 also becomes U+FFFD. */
void ps_out_csv_str(struct ps_out *o, const char *s, size_t n);

#endif
