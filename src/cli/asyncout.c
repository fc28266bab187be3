/* SPDX-License-Identifier: MIT */
/* run's output queue and its writer thread (asyncout.h). The writer takes
 * the whole queue at once (swapping buffers), so the loop appends to the
 * other buffer while it writes; the lock is never held across write(2). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "asyncout.h"
#include "pagescan/render/outbuf.h"

struct ps_asyncout {
	pthread_mutex_t mu;
	pthread_cond_t cv;      /* bytes queued, or the end asked */
	pthread_t thread;
	int fd;
	size_t cap;
	char *buf;              /* the queue: buf[0..len) */
	size_t len, size;
	size_t inflight;        /* the batch the writer is writing */
	bool stop;              /* finish: exit once drained */
	bool refused;           /* a write was refused: over the cap */
	int error;              /* the writer's first error, -errno; sticky */
};

static void *writer(void *arg)
{
	struct ps_asyncout *q = arg;
	char *spare = NULL;
	size_t spare_size = 0;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!q->len && !q->stop)
			pthread_cond_wait(&q->cv, &q->mu);
		if (!q->len)
			break; /* stopped and drained */
		char *b = q->buf;
		size_t n = q->len, size = q->size;
		q->buf = spare;
		q->size = spare_size;
		q->len = 0;
		q->inflight = n;
		pthread_mutex_unlock(&q->mu);

		int e = ps_write_all(q->fd, b, n);

		spare = b;
		spare_size = size;
		pthread_mutex_lock(&q->mu);
		q->inflight = 0;
		if (e) {
			/* nothing more will be written: the loop hears it at its next write */
			q->error = e;
			q->len = 0;
			break;
		}
	}
	pthread_mutex_unlock(&q->mu);
	free(spare);
	return NULL;
}

struct ps_asyncout *ps_asyncout_start(int fd, size_t cap)
{
	struct ps_asyncout *q = calloc(1, sizeof(*q));
	sigset_t all, old;
	int e;

	if (!q)
		return NULL;
	q->fd = fd;
	q->cap = cap ? cap : PS_ASYNCOUT_CAP;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	/* Every signal stays with the event loop's thread (its signalfd). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	e = pthread_create(&q->thread, NULL, writer, q);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e) {
		pthread_cond_destroy(&q->cv);
		pthread_mutex_destroy(&q->mu);
		free(q);
		errno = e;
		return NULL;
	}
	return q;
}

int ps_asyncout_write(void *ctx, const void *buf, size_t n)
{
	struct ps_asyncout *q = ctx;
	size_t waiting;
	int r = 0;

	pthread_mutex_lock(&q->mu);
	waiting = q->len + q->inflight;
	if (q->error) {
		r = q->error;
	} else if (n > q->cap || waiting > q->cap - n) {
		q->refused = true;
		r = -ENOBUFS;
	} else {
		if (q->len + n > q->size) {
			size_t size = q->size ? q->size : (size_t)64 << 10;
			while (size < q->len + n)
				size *= 2;
			char *p = realloc(q->buf, size);
			if (!p) {
				r = -ENOMEM;
				goto out;
			}
			q->buf = p;
			q->size = size;
		}
		memcpy(q->buf + q->len, buf, n);
		q->len += n;
		pthread_cond_signal(&q->cv);
	}
out:
	pthread_mutex_unlock(&q->mu);
	return r;
}

void ps_asyncout_uncap(struct ps_asyncout *q)
{
	pthread_mutex_lock(&q->mu);
	q->cap = SIZE_MAX;
	pthread_mutex_unlock(&q->mu);
}

bool ps_asyncout_refused(struct ps_asyncout *q)
{
	pthread_mutex_lock(&q->mu);
	bool r = q->refused;
	pthread_mutex_unlock(&q->mu);
	return r;
}

size_t ps_asyncout_pending(struct ps_asyncout *q)
{
	size_t n;

	pthread_mutex_lock(&q->mu);
	n = q->len + q->inflight;
	pthread_mutex_unlock(&q->mu);
	return n;
}

int ps_asyncout_finish(struct ps_asyncout *q)
{
	int r;

	if (!q)
		return 0;
	pthread_mutex_lock(&q->mu);
	q->stop = true;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->thread, NULL);
	r = q->error;
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q->buf);
	free(q);
	return r;
}
