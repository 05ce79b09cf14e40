/*
 * Frames on the wire, synthetic tensors, and the busy work that stands for compute.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "emu_frame.h"
#include "ep_error.h"

uint64_t emu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- reading ---- */

int emu_frame_read(struct emu_frame_reader *r, int fd, double *bytes)
{
	for (;;) {
		size_t hdr = sizeof(r->hdr), want;
		char sink[1];
		char *dst;
		ssize_t k;

		if (r->got < hdr) {
			dst = (char *)&r->hdr + r->got;
			want = hdr - r->got;
		} else {
			size_t off = r->got - hdr;
			bool drop = r->discard && r->hdr.codec == 0;

			if (r->got == hdr) {
				if (r->hdr.magic != EMU_FRAME_MAGIC ||
				    (double)r->hdr.wire_bytes > EMU_FRAME_MAX_BYTES ||
				    (double)r->hdr.raw_bytes > EMU_FRAME_MAX_BYTES)
					return -2;
				if (!drop && r->hdr.wire_bytes > r->cap) {
					char *nb = realloc(r->buf, r->hdr.wire_bytes);

					if (!nb)
						return -2;
					r->buf = nb;
					r->cap = r->hdr.wire_bytes;
				}
			}
			if (off == r->hdr.wire_bytes)
				return 1;
			want = r->hdr.wire_bytes - off;
			dst = drop ? NULL : r->buf + off;
		}
		/* MSG_TRUNC: consumed in the kernel, nothing written to the buffer. The raw
		 * syscall, because a sanitizer's recv would count `want` bytes as written. */
		k = dst ? recv(fd, dst, want, 0)
			: syscall(SYS_recvfrom, fd, sink, want, MSG_TRUNC, NULL, NULL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (k <= 0) {
			if (k == 0)
				errno = 0;
			return -1;
		}
		r->got += (size_t)k;
		if (bytes)
			*bytes += (double)k;
	}
}

void emu_frame_reader_next(struct emu_frame_reader *r)
{
	r->got = 0;
}

void emu_frame_reader_release(struct emu_frame_reader *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

/* ---- writing ---- */

struct emu_out_frame *emu_out_at(struct emu_out_queue *q, int i)
{
	return &q->v[(q->head + i) % q->cap];
}

int emu_out_push(struct emu_out_queue *q, const struct emu_frame_hdr *hdr, const char *payload,
		 char *owned)
{
	struct emu_out_frame *f;

	if (q->count == q->cap) {
		int cap = q->cap ? 2 * q->cap : 8;
		struct emu_out_frame *nv = malloc((size_t)cap * sizeof(*nv));

		if (!nv) {
			free(owned);
			return EP_ENOMEM;
		}
		for (int i = 0; i < q->count; i++)
			nv[i] = *emu_out_at(q, i);
		free(q->v);
		q->v = nv;
		q->cap = cap;
		q->head = 0;
	}
	f = &q->v[(q->head + q->count) % q->cap];
	f->hdr = *hdr;
	f->payload = owned ? owned : payload;
	f->owned = owned;
	f->off = 0;
	q->count++;
	return EP_OK;
}

bool emu_out_pop_back(struct emu_out_queue *q, struct emu_out_frame *out)
{
	struct emu_out_frame *f;

	if (q->count == 0)
		return false;
	f = emu_out_at(q, q->count - 1);
	if (f->off > 0)
		return false;
	*out = *f;
	q->count--;
	return true;
}

int emu_out_flush(struct emu_out_queue *q, int fd, double *bytes)
{
	int done = 0;

	while (q->count > 0) {
		struct emu_out_frame *f = emu_out_at(q, 0);
		size_t hdr = sizeof(f->hdr), total = hdr + f->hdr.wire_bytes;
		struct iovec iov[2];
		struct msghdr mh = { .msg_iov = iov };
		ssize_t k;

		if (f->off < hdr) {
			iov[0].iov_base = (char *)&f->hdr + f->off;
			iov[0].iov_len = hdr - f->off;
			iov[1].iov_base = (void *)(uintptr_t)f->payload;
			iov[1].iov_len = f->hdr.wire_bytes;
			mh.msg_iovlen = f->hdr.wire_bytes ? 2 : 1;
		} else {
			iov[0].iov_base = (char *)(uintptr_t)f->payload + (f->off - hdr);
			iov[0].iov_len = total - f->off;
			mh.msg_iovlen = 1;
		}
		k = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (k < 0)
			return -1;
		f->off += (size_t)k;
		if (bytes)
			*bytes += (double)k;
		if (f->off < total)
			break;
		free(f->owned);
		q->head = (q->head + 1) % q->cap;
		q->count--;
		done++;
	}
	return done;
}

void emu_out_release(struct emu_out_queue *q)
{
	for (int i = 0; i < q->count; i++)
		free(emu_out_at(q, i)->owned);
	free(q->v);
	memset(q, 0, sizeof(*q));
}

/* ---- tensors ---- */

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double unit(uint64_t *s)
{
	return (double)(splitmix64(s) >> 11) * (1.0 / 9007199254740992.0);
}

void emu_tensor_fill(void *buf, size_t bytes, uint64_t seed, bool dense)
{
	size_t n = bytes / sizeof(float);
	float *v = buf;
	uint64_t s = seed ^ 0x5eed5eedu;

	memset((char *)buf + n * sizeof(float), 0, bytes - n * sizeof(float));
	for (size_t i = 0; i < n;) {
		size_t row = n - i < 56 ? n - i : 56;

		if (dense) {
			for (size_t k = 0; k < row; k++)
				v[i + k] = (float)(unit(&s) * 2e-3);
		} else if (unit(&s) < 0.25) {
			memset(v + i, 0, row * sizeof(float));
		} else {
			double x = unit(&s) - 0.5;

			for (size_t k = 0; k < row; k++) {
				x += (unit(&s) - 0.5) * 0.8;
				v[i + k] = x > 0 ? (float)(x * 1.7) : 0.0f;
			}
		}
		i += row;
	}
}

/* ---- busy work ---- */

double emu_work_run(double iters)
{
	double x0 = 1, x1 = 2, x2 = 3, x3 = 4;
	const double a = 0.9999999, b = 1e-7;
	long n = (long)(iters / 4);

	for (long i = 0; i < n; i++) {
		x0 = x0 * a + b;
		x1 = x1 * a + b;
		x2 = x2 * a + b;
		x3 = x3 * a + b;
	}
	return x0 + x1 + x2 + x3;
}

double emu_work_calibrate(double seconds)
{
	volatile double sink = 0;
	double best = 0, iters = 1e6;

	/* Grow a run until it takes a tenth of the budget, then time three of them. */
	for (;;) {
		uint64_t t0 = emu_now_ns();
		double dt;

		sink += emu_work_run(iters);
		dt = (double)(emu_now_ns() - t0) * 1e-9;
		if (dt >= seconds / 10 || iters > 1e12) {
			best = iters / (dt > 0 ? dt : 1e-9);
			break;
		}
		iters *= 2;
	}
	iters = best * seconds / 3;
	for (int k = 0; k < 3; k++) {
		uint64_t t0 = emu_now_ns();
		double dt;

		sink += emu_work_run(iters);
		dt = (double)(emu_now_ns() - t0) * 1e-9;
		if (dt > 0 && iters / dt > best)
			best = iters / dt;
	}
	(void)sink;
	return best;
}
