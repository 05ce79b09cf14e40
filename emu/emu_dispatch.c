/*
 * The dispatcher (emu_session.h): issues the workload, sends each request's input tensor to the
 * live deployment's first stage, collects the answers (held for the return link's latency when
 * the transport adds it), completes each request once, and resends what a failed deployment
 * or a timeout left unanswered. Also the start-up probes.
 */
#include <errno.h>
#include <linux/sockios.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gsl/gsl_randist.h>

#include "emu_internal.h"
#include "emu_session_internal.h"
#include "emu_stage.h"

#define RECONNECT_S      0.01 /* connect to stage 0 again after a refusal */
#define RETRY_SCAN_S     0.1
#define PENDING_TIMEOUT  10.0 /* a result connection that never says who it is */
#define MAX_QUEUED_SENDS 2    /* frames handed to the socket queue at once (see below) */

int emu_dispatch_init(struct emu_session *s, struct ep_error *err)
{
	int64_t n = s->cfg.requests;

	s->disp.reqs = calloc((size_t)n, sizeof(*s->disp.reqs));
	s->disp.pend = malloc((size_t)n * sizeof(*s->disp.pend));
	s->disp.probe_rtt = calloc((size_t)(2 * s->cfg.probes + 1), sizeof(double));
	s->disp.rng_arrival = gsl_rng_alloc(gsl_rng_mt19937);
	if (!s->disp.reqs || !s->disp.pend || !s->disp.probe_rtt || !s->disp.rng_arrival)
		return ep_error_set(err, EP_ENOMEM, "out of memory for %lld requests",
				    (long long)n);
	gsl_rng_set(s->disp.rng_arrival, (unsigned long)(s->cfg.seed * 2654435761u + 17));
	for (int64_t i = 0; i < n; i++)
		s->disp.reqs[i].deploy = s->disp.reqs[i].answered_by = -1;
	return EP_OK;
}

int emu_dispatch_codec_create(struct emu_session *s, struct ep_error *err)
{
	const char *spec = s->cfg.codec;

	if (spec && strcmp(spec, "none") != 0)
		EP_CHECK(emu_codec_create(spec, &s->disp.codec, err));
	snprintf(s->rep.codec, sizeof(s->rep.codec), "%s",
		 s->disp.codec ? emu_codec_spec(s->disp.codec) : "none");
	s->rep.codec_lossy = s->disp.codec && !emu_codec_lossless(s->disp.codec);
	return EP_OK;
}

void emu_dispatch_release(struct emu_session *s)
{
	emu_dispatch_close(s);
	emu_codec_destroy(s->disp.codec);
	free(s->disp.dec);
	s->disp.codec = NULL;
	s->disp.dec = NULL;
	s->disp.dec_cap = 0;
	free(s->disp.reqs);
	free(s->disp.pend);
	free(s->disp.probe_rtt);
	free(s->disp.hr);
	if (s->disp.rng_arrival)
		gsl_rng_free(s->disp.rng_arrival);
	s->disp.reqs = NULL;
	s->disp.pend = NULL;
	s->disp.probe_rtt = NULL;
	s->disp.hr = NULL;
	s->disp.rng_arrival = NULL;
}

void emu_dispatch_close(struct emu_session *s)
{
	for (int i = 0; i < s->disp.n_pc; i++) {
		close(s->disp.pc[i].fd);
		emu_frame_reader_release(&s->disp.pc[i].rd);
	}
	s->disp.n_pc = 0;
}

void emu_dispatch_start(struct emu_session *s, double now)
{
	s->disp.next_arrival_s = now;
	s->disp.next_retry_scan_s = now;
}

void emu_dispatch_pending_tidy(struct emu_session *s)
{
	for (int i = 0; i < s->disp.n_pc;) {
		if (s->disp.pc[i].fd >= 0) {
			i++;
			continue;
		}
		s->disp.pc[i] = s->disp.pc[--s->disp.n_pc];
	}
}

int64_t emu_dispatch_requeue(struct emu_session *s, int deploy)
{
	int64_t n = 0;

	for (int64_t r = s->disp.issued - 1; r >= 0; r--) {
		struct req *q = &s->disp.reqs[r];

		if (q->deploy == deploy && !q->answered) {
			q->deploy = -1;
			emu_dispatch_queue(s, r, true);
			n++;
		}
	}
	return n;
}

bool emu_dispatch_unsend(struct emu_session *s, uint64_t r)
{
	struct req *q;

	if (r >= (uint64_t)s->disp.issued)
		return false;
	q = &s->disp.reqs[r];
	q->attempts--;
	q->deploy = -1;
	emu_dispatch_queue(s, (int64_t)r, true);
	return true;
}

void emu_dispatch_queue(struct emu_session *s, int64_t r, bool front)
{
	int64_t cap = s->cfg.requests;

	if (s->disp.pend_count == cap)
		return; /* cannot happen: a request is queued at most once */
	if (front) {
		s->disp.pend_head = (s->disp.pend_head - 1 + cap) % cap;
		s->disp.pend[s->disp.pend_head] = r;
	} else {
		s->disp.pend[(s->disp.pend_head + s->disp.pend_count) % cap] = r;
	}
	s->disp.pend_count++;
}

static int64_t pend_pop(struct emu_session *s)
{
	int64_t r = s->disp.pend[s->disp.pend_head];

	s->disp.pend_head = (s->disp.pend_head + 1) % s->cfg.requests;
	s->disp.pend_count--;
	return r;
}

static void issue(struct emu_session *s, double now)
{
	int64_t r = s->disp.issued++;

	s->disp.reqs[r].issue_s = now;
	s->disp.reqs[r].deploy = -1;
	emu_dispatch_queue(s, r, false);
}

static double retry_after(const struct emu_session *s, int attempts)
{
	if (s->cfg.retry_timeout_s <= 0)
		return INFINITY;
	return s->cfg.retry_timeout_s * (double)(1 << (attempts - 1 < 6 ? attempts - 1 : 6));
}

/* Hand request r's next attempt to deployment d's socket queue. */
static void send_attempt(struct emu_session *s, struct deploy *d, int64_t r, double now)
{
	struct req *q = &s->disp.reqs[r];
	const struct version *v = &s->dpl.vers[d->version];
	/* Real compute: request r carries image r mod n_img (its reference is known). */
	const char *payload = v->img ? (const char *)v->img[r % v->n_img] : v->input;
	struct emu_frame_hdr h;
	char *owned = NULL;

	memset(&h, 0, sizeof(h));
	h.magic = EMU_FRAME_MAGIC;
	h.type = EMU_FRAME_DATA;
	h.deployment = (uint32_t)d->id;
	h.attempt = (uint32_t)(q->attempts + 1);
	h.request = (uint64_t)r;
	h.issue_ns = (uint64_t)(q->issue_s * 1e9);
	h.sent_ns = emu_now_ns();
	h.raw_bytes = h.wire_bytes = v->input_bytes;
	h.stage = -1;
	if (s->disp.codec && v->input_bytes > 0) {
		int64_t shape[EMU_CODEC_MAX_RANK];
		int rank;
		double bytes, t0 = emu_now_s();
		size_t cap, k = 0;
		struct ep_error e;

		emu_version_cut_shape(s, v, 0, shape, &rank, &bytes);
		cap = emu_codec_bound(s->disp.codec, shape, rank);
		owned = cap && bytes == (double)v->input_bytes ? malloc(cap) : NULL;
		if (!owned || emu_codec_encode(s->disp.codec, (const float *)payload, shape, rank, owned,
					       cap, &k, &e) != EP_OK) {
			free(owned);
			emu_dispatch_queue(s, r, true); /* out of memory: try again later */
			return;
		}
		d->in_encode_s += emu_now_s() - t0;
		h.wire_bytes = k;
		h.codec = (uint16_t)emu_codec_id(s->disp.codec);
	}
	if (emu_out_push(&d->out, &h, owned ? NULL : payload, owned) != EP_OK) {
		emu_dispatch_queue(s, r, true); /* out of memory: try again later */
		return;
	}
	q->attempts++;
	if (q->attempts == 1)
		q->first_sent_s = now;
	q->sent_s = now;
	q->deploy = d->id;
	q->deadline_s = now + retry_after(s, q->attempts);
	d->in_flight++;
	d->in_frames++;
	d->in_raw += (double)h.raw_bytes;
	d->in_wire += (double)h.wire_bytes;
}

static void in_broken(struct emu_session *s, struct deploy *d, double now, const char *what)
{
	emu_deploy_fail(s, d, now, "the dispatcher's connection to stage 0 (node %d): %s",
			d->plan.stages[0].node, what);
}

static void flush_in(struct emu_session *s, struct deploy *d, double now)
{
	if (!d->in_conn || d->out.count == 0)
		return;
	if (emu_out_flush(&d->out, d->in_fd, &d->in_written) < 0)
		in_broken(s, d, now, strerror(errno));
}

/* Connect (again) to stage 0 of a starting deployment. */
static void connect_in(struct emu_session *s, struct deploy *d, double now)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int one = 1;

	d->in_fd = emu_sess_socket_d(s, SOCK_STREAM);
	if (d->in_fd < 0) {
		d->in_retry_s = now + RECONNECT_S;
		return;
	}
	setsockopt(d->in_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (s->cfg.remote) {
		emu_remote_data_addr(s, d->id, d->plan.stages[0].node, &sa);
	} else {
		sa.sin_addr = emu_net_addr(s->net, d->plan.stages[0].node);
		sa.sin_port = htons((uint16_t)(EMU_STAGE_PORT_BASE + d->id % EMU_STAGE_PORT_SPAN));
	}
	d->in_connect_t0_s = now; /* per attempt: refusals are progress, a silent SYN is not */
	d->in_connecting = true;
	if (connect(d->in_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EINPROGRESS)
		return;
	close(d->in_fd);
	d->in_fd = -1;
	d->in_retry_s = now + RECONNECT_S;
}

static void connect_done(struct emu_session *s, struct deploy *d, double now)
{
	struct emu_frame_hdr hello;
	int e = 0;
	socklen_t len = sizeof(e);

	getsockopt(d->in_fd, SOL_SOCKET, SO_ERROR, &e, &len);
	if (e != 0) {
		close(d->in_fd);
		d->in_fd = -1;
		d->in_retry_s = now + RECONNECT_S;
		return;
	}
	d->in_connecting = false;
	d->in_conn = true;
	d->in_progress_s = now;
	memset(&hello, 0, sizeof(hello));
	hello.magic = EMU_FRAME_MAGIC;
	hello.type = EMU_FRAME_HELLO;
	hello.deployment = (uint32_t)d->id;
	hello.stage = -1;
	emu_out_push(&d->out, &hello, NULL, NULL);
	flush_in(s, d, now);
}

/* The dispatcher's link to stage 0 looks cut, by the rule of emu_stage.h. */
static void check_in_stuck(struct emu_session *s, struct deploy *d, double now)
{
	double timeout = s->cfg.heartbeat_timeout_s;
	int outq = 0;

	if (d->in_connecting && d->in_fd >= 0 &&
	    now - d->in_connect_t0_s > fmax(timeout, EMU_CONNECT_STUCK_S)) {
		emu_detect_link(s, d, s->n, d->plan.stages[0].node, now - d->in_connect_t0_s, now);
		return;
	}
	if (!d->in_conn || ioctl(d->in_fd, SIOCOUTQ, &outq) != 0)
		return;
	if (outq == 0 && d->out.count == 0) {
		d->in_progress_s = now;
		return;
	}
	if (d->in_written - outq > d->in_acked) {
		d->in_acked = d->in_written - outq;
		d->in_progress_s = now;
		return;
	}
	if (now - d->in_progress_s > timeout && emu_tcp_timeouts(d->in_fd) >= EMU_STUCK_RTOS)
		emu_detect_link(s, d, s->n, d->plan.stages[0].node, now - d->in_progress_s, now);
}

void emu_dispatch_step(struct emu_session *s, double now)
{
	struct deploy *t;

	if (s->phase == PH_RUN) {
		if (s->cfg.arrival == EMU_CLOSED) {
			while (s->disp.issued < s->cfg.requests &&
			       s->disp.issued - s->disp.answered < s->cfg.window)
				issue(s, now);
		} else {
			while (s->disp.issued < s->cfg.requests && now >= s->disp.next_arrival_s) {
				issue(s, now);
				s->disp.next_arrival_s += s->cfg.arrival == EMU_CONSTANT
							   ? 1 / s->cfg.rate
							   : gsl_ran_exponential(s->disp.rng_arrival,
										 1 / s->cfg.rate);
			}
		}
	}
	for (int k = 0; k < s->dpl.n_deps; k++) {
		struct deploy *d = &s->dpl.deps[k];

		if (d->state != DEP_STARTING && d->state != DEP_LIVE && d->state != DEP_DRAINING)
			continue;
		if (d->in_fd < 0 && !d->in_conn && now >= d->in_retry_s)
			connect_in(s, d, now);
		if (d->state != DEP_STARTING || d->in_connecting)
			check_in_stuck(s, d, now);
	}
	/*
	 * At most MAX_QUEUED_SENDS frames are handed to the socket at once; the rest wait here.
	 * So a request's send time is close to when its first byte leaves, and requests waiting
	 * at the dispatcher can still go to a newer deployment.
	 */
	t = emu_deploy_target(s);
	if (!t || !t->in_conn || s->phase != PH_RUN)
		return;
	while (t->out.count < MAX_QUEUED_SENDS && s->disp.pend_count > 0) {
		int64_t r = pend_pop(s);

		if (!s->disp.reqs[r].answered)
			send_attempt(s, t, r, now);
	}
	flush_in(s, t, now);
}

static void hold_answer(struct emu_session *s, const struct emu_frame_hdr *h, double due)
{
	if (s->disp.hr_count == s->disp.hr_cap) {
		int cap = s->disp.hr_cap ? 2 * s->disp.hr_cap : 64;
		struct held_result *nv = malloc((size_t)cap * sizeof(*nv));

		if (!nv)
			return; /* lost: the retry timeout resends it */
		for (int i = 0; i < s->disp.hr_count; i++)
			nv[i] = s->disp.hr[(s->disp.hr_head + i) % s->disp.hr_cap];
		free(s->disp.hr);
		s->disp.hr = nv;
		s->disp.hr_cap = cap;
		s->disp.hr_head = 0;
	}
	s->disp.hr[(s->disp.hr_head + s->disp.hr_count) % s->disp.hr_cap] = (struct held_result){ due, *h };
	s->disp.hr_count++;
}

/*
 * Decode the result in d->res (coded: h->codec != 0) into s->disp.dec. false if it is not an
 * encoding of the prediction by the run's codec.
 */
static bool decode_result(struct emu_session *s, struct deploy *d)
{
	const struct emu_frame_hdr *h = &d->res.hdr;
	const struct version *v = &s->dpl.vers[d->version];
	int64_t shape[EMU_CODEC_MAX_RANK];
	int rank;
	double bytes, t0;
	struct ep_error e;
	bool ok;

	if (!s->disp.codec || h->codec != emu_codec_id(s->disp.codec))
		return false;
	emu_version_cut_shape(s, v, v->pp->profile->n_cuts - 1, shape, &rank, &bytes);
	if (rank == 0 || bytes != (double)h->raw_bytes)
		return false;
	if (h->raw_bytes > s->disp.dec_cap) {
		char *nb = realloc(s->disp.dec, h->raw_bytes);

		if (!nb)
			return false;
		s->disp.dec = nb;
		s->disp.dec_cap = h->raw_bytes;
	}
	t0 = emu_now_s();
	ok = emu_codec_decode(s->disp.codec, d->res.buf, h->wire_bytes, shape, rank, (float *)s->disp.dec,
			      &e) == EP_OK;
	d->res_decode_s += emu_now_s() - t0;
	return ok;
}

/*
 * Real compute: compare the answer `got` (decoded, or NULL: it did not decode) with the whole
 * model's output for its image. Every answer counts (a duplicate too: a wrong one is wrong
 * wherever it came from).
 */
static void check_answer(struct emu_session *s, struct deploy *d, const float *got, double now)
{
	const struct emu_frame_hdr *h = &d->res.hdr;
	const struct version *v = &s->dpl.vers[d->version];
	struct req *q;
	double diff = 0;
	int64_t top = 0, top_ref = 0;
	int img;
	bool bad, lossy = s->disp.codec && !emu_codec_lossless(s->disp.codec);

	if (h->request >= (uint64_t)s->disp.issued || !v->ref)
		return;
	q = &s->disp.reqs[h->request];
	img = (int)(h->request % (uint64_t)v->n_img);
	bad = !got || h->raw_bytes != (uint64_t)v->out_elems * sizeof(float);
	for (int64_t j = 0; !bad && j < v->out_elems; j++) {
		diff = fmax(diff, fabs((double)got[j] - (double)v->ref[img][j]));
		if (got[j] > got[top])
			top = j;
		if (v->ref[img][j] > v->ref[img][top_ref])
			top_ref = j;
	}
	if (!bad) {
		s->disp.max_abs_diff = fmax(s->disp.max_abs_diff, diff);
		s->disp.top1_agree += top == top_ref;
	}
	/* A lossy codec changes the answers by design: they are held to the reference's top-1
	 * class, not to the tolerance. */
	if (!bad && (lossy ? top != top_ref : !(diff <= EMU_REAL_TOLERANCE * v->ref_max[img])))
		bad = true;
	if (v->ref_max[img] > 0)
		s->disp.max_diff = fmax(s->disp.max_diff, diff / v->ref_max[img]);
	s->disp.checked++;
	if (bad && lossy && got) {
		s->disp.mismatches++;
		q->check = 2;
	} else if (bad) {
		s->disp.mismatches++;
		q->check = 2;
		emu_sess_event(s, "mismatch", -1, -1, d->id,
			       "request %llu: the answer differs from the "
			       "whole model's by %.3g (largest output magnitude %.3g)",
			       (unsigned long long)h->request, diff, v->ref_max[img]);
	} else if (q->check == 0) {
		q->check = 1;
	}
	(void)now;
}

static void take_result(struct emu_session *s, struct deploy *d, double now)
{
	const struct emu_frame_hdr *h = &d->res.hdr;

	if (h->type == EMU_FRAME_DATA) {
		const float *got = (const float *)d->res.buf;

		if (h->codec != 0)
			got = decode_result(s, d) ? (const float *)s->disp.dec : NULL;
		if (s->cfg.real)
			check_answer(s, d, got, now);
		d->res_frames++;
		d->res_raw += (double)h->raw_bytes;
		d->res_wire += (double)h->wire_bytes;
		hold_answer(s, h, now + d->hold_res_s);
	} else if (h->type == EMU_FRAME_PROBE) {
		hold_answer(s, h, now + (h->flags & EMU_FRAME_NOHOLD ? 0 : d->hold_res_s));
	}
}

void emu_dispatch_io(struct emu_session *s, struct deploy *d, short in_rev, short res_rev,
		     double now)
{
	if (in_rev && d->in_fd >= 0) {
		if (d->in_connecting) {
			if (in_rev & (POLLOUT | POLLERR | POLLHUP))
				connect_done(s, d, now);
		} else if (in_rev & (POLLERR | POLLHUP)) {
			in_broken(s, d, now, "closed");
		} else {
			if (in_rev & POLLIN) {
				char b[256];
				ssize_t k = recv(d->in_fd, b, sizeof(b), MSG_DONTWAIT);

				if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
					in_broken(s, d, now, k == 0 ? "closed" : strerror(errno));
					return;
				}
			}
			if (in_rev & POLLOUT)
				flush_in(s, d, now);
		}
	}
	if (res_rev && d->res_fd >= 0) {
		for (;;) {
			int k = emu_frame_read(&d->res, d->res_fd, NULL);

			if (k == 1) {
				take_result(s, d, now);
				emu_frame_reader_next(&d->res);
				continue;
			}
			if (k < 0) {
				close(d->res_fd);
				d->res_fd = -1;
				if (d->state == DEP_LIVE || d->state == DEP_DRAINING ||
				    d->state == DEP_STARTING)
					emu_deploy_fail(s, d, now,
							"the last stage's connection to the "
							"dispatcher %s",
							k == -2 ? "sent a malformed frame"
								: "closed");
			}
			break;
		}
	}
}

void emu_dispatch_accept(struct emu_session *s, double now)
{
	for (;;) {
		int fd = accept4(s->res_ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		if (s->disp.n_pc == MAX_PENDING_CONN) {
			close(fd);
			continue;
		}
		memset(&s->disp.pc[s->disp.n_pc], 0, sizeof(s->disp.pc[0]));
		s->disp.pc[s->disp.n_pc].fd = fd;
		s->disp.pc[s->disp.n_pc].since_s = now;
		s->disp.n_pc++;
	}
}

void emu_dispatch_pending_io(struct emu_session *s, int i, double now)
{
	struct pending_conn *pc = &s->disp.pc[i];
	int k = emu_frame_read(&pc->rd, pc->fd, NULL);

	if (k == 0 && now - pc->since_s < PENDING_TIMEOUT)
		return;
	if (k == 1 && pc->rd.hdr.type == EMU_FRAME_HELLO && (int)pc->rd.hdr.deployment < s->dpl.n_deps) {
		struct deploy *d = &s->dpl.deps[pc->rd.hdr.deployment];

		if (d->res_fd < 0 && (d->state == DEP_STARTING || d->state == DEP_LIVE)) {
			d->res_fd = pc->fd;
			emu_frame_reader_release(&d->res);
			emu_frame_reader_release(&pc->rd);
			pc->fd = -1;
			return;
		}
	}
	close(pc->fd);
	emu_frame_reader_release(&pc->rd);
	pc->fd = -1;
}

static void add_to_series(struct emu_session *s, double now)
{
	int b = (int)floor((now - s->t0_s) / s->cfg.bin_s);

	if (b < 0)
		b = 0;
	if (b >= s->cap_bins) {
		int cap = b + 64;
		int64_t *nv = realloc(s->series, (size_t)cap * sizeof(*nv));

		if (!nv)
			return;
		memset(nv + s->cap_bins, 0, (size_t)(cap - s->cap_bins) * sizeof(*nv));
		s->series = nv;
		s->cap_bins = cap;
	}
	s->series[b]++;
	if (b + 1 > s->n_bins)
		s->n_bins = b + 1;
}

static void complete(struct emu_session *s, const struct emu_frame_hdr *h, double now)
{
	struct req *q;

	if (h->request >= (uint64_t)s->disp.issued)
		return;
	q = &s->disp.reqs[h->request];
	if (q->answered) {
		q->dups++;
		return;
	}
	q->answered = true;
	q->done_s = now;
	q->answered_by = (int)h->deployment;
	s->disp.answered++;
	if (q->deploy >= 0 && q->deploy < s->dpl.n_deps)
		s->dpl.deps[q->deploy].in_flight--;
	q->deploy = -1;
	add_to_series(s, now);
}

static void probe_back(struct emu_session *s, const struct emu_frame_hdr *h, double now)
{
	if (s->phase != PH_PROBE || !s->disp.probe_out || h->request != (uint64_t)s->disp.probe_k)
		return;
	s->disp.probe_rtt[s->disp.probe_k++] = now - s->disp.probe_sent_s;
	s->disp.probe_out = false;
}

void emu_dispatch_answers(struct emu_session *s, double now)
{
	while (s->disp.hr_count > 0 && s->disp.hr[s->disp.hr_head].due_s <= now) {
		struct held_result hr = s->disp.hr[s->disp.hr_head];

		s->disp.hr_head = (s->disp.hr_head + 1) % s->disp.hr_cap;
		s->disp.hr_count--;
		if (hr.hdr.type == EMU_FRAME_PROBE)
			probe_back(s, &hr.hdr, now);
		else
			complete(s, &hr.hdr, now);
	}
	if (s->phase != PH_RUN || s->cfg.retry_timeout_s <= 0 || now < s->disp.next_retry_scan_s)
		return;
	s->disp.next_retry_scan_s = now + RETRY_SCAN_S;
	for (int64_t r = 0; r < s->disp.issued; r++) {
		struct req *q = &s->disp.reqs[r];

		if (q->answered || q->deploy < 0 || now < q->deadline_s)
			continue;
		emu_sess_event(s, "timeout", -1, -1, q->deploy,
			       "request %lld unanswered %.3f s after its attempt %d: sent again",
			       (long long)r, now - q->sent_s, q->attempts);
		s->dpl.deps[q->deploy].in_flight--;
		q->deploy = -1;
		emu_dispatch_queue(s, r, true);
	}
}

double emu_dispatch_next_time(const struct emu_session *s, double now)
{
	double t = INFINITY;

	/* Answers held for a latency: wake a little early and spin (see emu_stage.c). */
	if (s->disp.hr_count > 0)
		t = fmin(t, s->disp.hr[s->disp.hr_head].due_s - 150e-6);
	if (s->phase == PH_RUN && s->cfg.arrival != EMU_CLOSED && s->disp.issued < s->cfg.requests)
		t = fmin(t, s->disp.next_arrival_s);
	if (s->phase == PH_RUN && s->cfg.retry_timeout_s > 0)
		t = fmin(t, fmax(s->disp.next_retry_scan_s, now));
	for (int k = 0; k < s->dpl.n_deps; k++) {
		const struct deploy *d = &s->dpl.deps[k];

		if ((d->state == DEP_STARTING || d->state == DEP_LIVE) && d->in_fd < 0 &&
		    !d->in_conn)
			t = fmin(t, d->in_retry_s);
	}
	return t;
}

void emu_probe_step(struct emu_session *s, double now)
{
	struct deploy *d = emu_deploy_target(s);
	struct emu_frame_hdr h;

	if (s->disp.probe_out) {
		if (now - s->disp.probe_sent_s < 5.0)
			return;
		s->disp.probe_rtt[s->disp.probe_k++] = NAN; /* lost: a probe does not hold the run up */
		s->disp.probe_out = false;
	}
	if (s->disp.probe_k >= 2 * s->cfg.probes || !d || !d->in_conn) {
		if (s->disp.probe_k >= 2 * s->cfg.probes) {
			s->phase = PH_RUN;
			s->t0_s = now;
			s->disp.next_arrival_s = now;
			s->disp.next_retry_scan_s = now;
			emu_sess_event(s, "start", -1, -1, -1, "the workload starts: %lld requests",
				       (long long)s->cfg.requests);
		}
		return;
	}
	memset(&h, 0, sizeof(h));
	h.magic = EMU_FRAME_MAGIC;
	h.type = EMU_FRAME_PROBE;
	h.flags = s->disp.probe_k % 2 ? EMU_FRAME_NOHOLD : 0;
	h.deployment = (uint32_t)d->id;
	h.request = (uint64_t)s->disp.probe_k;
	h.sent_ns = emu_now_ns();
	h.stage = -1;
	if (emu_out_push(&d->out, &h, NULL, NULL) != EP_OK)
		return;
	s->disp.probe_out = true;
	s->disp.probe_sent_s = now;
	flush_in(s, d, now);
}
