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

	s->reqs = calloc((size_t)n, sizeof(*s->reqs));
	s->pend = malloc((size_t)n * sizeof(*s->pend));
	s->probe_rtt = calloc((size_t)(2 * s->cfg.probes + 1), sizeof(double));
	s->rng_arrival = gsl_rng_alloc(gsl_rng_mt19937);
	if (!s->reqs || !s->pend || !s->probe_rtt || !s->rng_arrival)
		return ep_error_set(err, EP_ENOMEM, "out of memory for %lld requests",
				    (long long)n);
	gsl_rng_set(s->rng_arrival, (unsigned long)(s->cfg.seed * 2654435761u + 17));
	for (int64_t i = 0; i < n; i++)
		s->reqs[i].deploy = s->reqs[i].answered_by = -1;
	return EP_OK;
}

void emu_dispatch_release(struct emu_session *s)
{
	free(s->reqs);
	free(s->pend);
	free(s->probe_rtt);
	free(s->hr);
	if (s->rng_arrival)
		gsl_rng_free(s->rng_arrival);
	s->reqs = NULL;
	s->pend = NULL;
	s->probe_rtt = NULL;
	s->hr = NULL;
	s->rng_arrival = NULL;
}

void emu_dispatch_queue(struct emu_session *s, int64_t r, bool front)
{
	int64_t cap = s->cfg.requests;

	if (s->pend_count == cap)
		return; /* cannot happen: a request is queued at most once */
	if (front) {
		s->pend_head = (s->pend_head - 1 + cap) % cap;
		s->pend[s->pend_head] = r;
	} else {
		s->pend[(s->pend_head + s->pend_count) % cap] = r;
	}
	s->pend_count++;
}

static int64_t pend_pop(struct emu_session *s)
{
	int64_t r = s->pend[s->pend_head];

	s->pend_head = (s->pend_head + 1) % s->cfg.requests;
	s->pend_count--;
	return r;
}

static void issue(struct emu_session *s, double now)
{
	int64_t r = s->issued++;

	s->reqs[r].issue_s = now;
	s->reqs[r].deploy = -1;
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
	struct req *q = &s->reqs[r];
	const struct version *v = &s->vers[d->version];
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
	if (s->codec && v->input_bytes > 0) {
		int64_t shape[EMU_CODEC_MAX_RANK];
		int rank;
		double bytes, t0 = emu_now_s();
		size_t cap, k = 0;
		struct ep_error e;

		emu_version_cut_shape(s, v, 0, shape, &rank, &bytes);
		cap = emu_codec_bound(s->codec, shape, rank);
		owned = cap && bytes == (double)v->input_bytes ? malloc(cap) : NULL;
		if (!owned || emu_codec_encode(s->codec, (const float *)payload, shape, rank, owned,
					       cap, &k, &e) != EP_OK) {
			free(owned);
			emu_dispatch_queue(s, r, true); /* out of memory: try again later */
			return;
		}
		d->in_encode_s += emu_now_s() - t0;
		h.wire_bytes = k;
		h.codec = (uint16_t)emu_codec_id(s->codec);
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
			while (s->issued < s->cfg.requests &&
			       s->issued - s->answered < s->cfg.window)
				issue(s, now);
		} else {
			while (s->issued < s->cfg.requests && now >= s->next_arrival_s) {
				issue(s, now);
				s->next_arrival_s += s->cfg.arrival == EMU_CONSTANT
							   ? 1 / s->cfg.rate
							   : gsl_ran_exponential(s->rng_arrival,
										 1 / s->cfg.rate);
			}
		}
	}
	for (int k = 0; k < s->n_deps; k++) {
		struct deploy *d = &s->deps[k];

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
	while (t->out.count < MAX_QUEUED_SENDS && s->pend_count > 0) {
		int64_t r = pend_pop(s);

		if (!s->reqs[r].answered)
			send_attempt(s, t, r, now);
	}
	flush_in(s, t, now);
}

static void hold_answer(struct emu_session *s, const struct emu_frame_hdr *h, double due)
{
	if (s->hr_count == s->hr_cap) {
		int cap = s->hr_cap ? 2 * s->hr_cap : 64;
		struct held_result *nv = malloc((size_t)cap * sizeof(*nv));

		if (!nv)
			return; /* lost: the retry timeout resends it */
		for (int i = 0; i < s->hr_count; i++)
			nv[i] = s->hr[(s->hr_head + i) % s->hr_cap];
		free(s->hr);
		s->hr = nv;
		s->hr_cap = cap;
		s->hr_head = 0;
	}
	s->hr[(s->hr_head + s->hr_count) % s->hr_cap] = (struct held_result){ due, *h };
	s->hr_count++;
}

/*
 * Decode the result in d->res (coded: h->codec != 0) into s->dec. false if it is not an
 * encoding of the prediction by the run's codec.
 */
static bool decode_result(struct emu_session *s, struct deploy *d)
{
	const struct emu_frame_hdr *h = &d->res.hdr;
	const struct version *v = &s->vers[d->version];
	int64_t shape[EMU_CODEC_MAX_RANK];
	int rank;
	double bytes, t0;
	struct ep_error e;
	bool ok;

	if (!s->codec || h->codec != emu_codec_id(s->codec))
		return false;
	emu_version_cut_shape(s, v, v->pp->profile->n_cuts - 1, shape, &rank, &bytes);
	if (rank == 0 || bytes != (double)h->raw_bytes)
		return false;
	if (h->raw_bytes > s->dec_cap) {
		char *nb = realloc(s->dec, h->raw_bytes);

		if (!nb)
			return false;
		s->dec = nb;
		s->dec_cap = h->raw_bytes;
	}
	t0 = emu_now_s();
	ok = emu_codec_decode(s->codec, d->res.buf, h->wire_bytes, shape, rank, (float *)s->dec,
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
	const struct version *v = &s->vers[d->version];
	struct req *q;
	double diff = 0;
	int64_t top = 0, top_ref = 0;
	int img;
	bool bad, lossy = s->codec && !emu_codec_lossless(s->codec);

	if (h->request >= (uint64_t)s->issued || !v->ref)
		return;
	q = &s->reqs[h->request];
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
		s->max_abs_diff = fmax(s->max_abs_diff, diff);
		s->top1_agree += top == top_ref;
	}
	/* A lossy codec changes the answers by design: they are held to the reference's top-1
	 * class, not to the tolerance. */
	if (!bad && (lossy ? top != top_ref : !(diff <= EMU_REAL_TOLERANCE * v->ref_max[img])))
		bad = true;
	if (v->ref_max[img] > 0)
		s->max_diff = fmax(s->max_diff, diff / v->ref_max[img]);
	s->checked++;
	if (bad && lossy && got) {
		s->mismatches++;
		q->check = 2;
	} else if (bad) {
		s->mismatches++;
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
			got = decode_result(s, d) ? (const float *)s->dec : NULL;
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
		if (s->n_pc == MAX_PENDING_CONN) {
			close(fd);
			continue;
		}
		memset(&s->pc[s->n_pc], 0, sizeof(s->pc[0]));
		s->pc[s->n_pc].fd = fd;
		s->pc[s->n_pc].since_s = now;
		s->n_pc++;
	}
}

void emu_dispatch_pending_io(struct emu_session *s, int i, double now)
{
	struct pending_conn *pc = &s->pc[i];
	int k = emu_frame_read(&pc->rd, pc->fd, NULL);

	if (k == 0 && now - pc->since_s < PENDING_TIMEOUT)
		return;
	if (k == 1 && pc->rd.hdr.type == EMU_FRAME_HELLO && (int)pc->rd.hdr.deployment < s->n_deps) {
		struct deploy *d = &s->deps[pc->rd.hdr.deployment];

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

	if (h->request >= (uint64_t)s->issued)
		return;
	q = &s->reqs[h->request];
	if (q->answered) {
		q->dups++;
		return;
	}
	q->answered = true;
	q->done_s = now;
	q->answered_by = (int)h->deployment;
	s->answered++;
	if (q->deploy >= 0 && q->deploy < s->n_deps)
		s->deps[q->deploy].in_flight--;
	q->deploy = -1;
	add_to_series(s, now);
}

static void probe_back(struct emu_session *s, const struct emu_frame_hdr *h, double now)
{
	if (s->phase != PH_PROBE || !s->probe_out || h->request != (uint64_t)s->probe_k)
		return;
	s->probe_rtt[s->probe_k++] = now - s->probe_sent_s;
	s->probe_out = false;
}

void emu_dispatch_answers(struct emu_session *s, double now)
{
	while (s->hr_count > 0 && s->hr[s->hr_head].due_s <= now) {
		struct held_result hr = s->hr[s->hr_head];

		s->hr_head = (s->hr_head + 1) % s->hr_cap;
		s->hr_count--;
		if (hr.hdr.type == EMU_FRAME_PROBE)
			probe_back(s, &hr.hdr, now);
		else
			complete(s, &hr.hdr, now);
	}
	if (s->phase != PH_RUN || s->cfg.retry_timeout_s <= 0 || now < s->next_retry_scan_s)
		return;
	s->next_retry_scan_s = now + RETRY_SCAN_S;
	for (int64_t r = 0; r < s->issued; r++) {
		struct req *q = &s->reqs[r];

		if (q->answered || q->deploy < 0 || now < q->deadline_s)
			continue;
		emu_sess_event(s, "timeout", -1, -1, q->deploy,
			       "request %lld unanswered %.3f s after its attempt %d: sent again",
			       (long long)r, now - q->sent_s, q->attempts);
		s->deps[q->deploy].in_flight--;
		q->deploy = -1;
		emu_dispatch_queue(s, r, true);
	}
}

double emu_dispatch_next_time(const struct emu_session *s, double now)
{
	double t = INFINITY;

	/* Answers held for a latency: wake a little early and spin (see emu_stage.c). */
	if (s->hr_count > 0)
		t = fmin(t, s->hr[s->hr_head].due_s - 150e-6);
	if (s->phase == PH_RUN && s->cfg.arrival != EMU_CLOSED && s->issued < s->cfg.requests)
		t = fmin(t, s->next_arrival_s);
	if (s->phase == PH_RUN && s->cfg.retry_timeout_s > 0)
		t = fmin(t, fmax(s->next_retry_scan_s, now));
	for (int k = 0; k < s->n_deps; k++) {
		const struct deploy *d = &s->deps[k];

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

	if (s->probe_out) {
		if (now - s->probe_sent_s < 5.0)
			return;
		s->probe_rtt[s->probe_k++] = NAN; /* lost: a probe does not hold the run up */
		s->probe_out = false;
	}
	if (s->probe_k >= 2 * s->cfg.probes || !d || !d->in_conn) {
		if (s->probe_k >= 2 * s->cfg.probes) {
			s->phase = PH_RUN;
			s->t0_s = now;
			s->next_arrival_s = now;
			s->next_retry_scan_s = now;
			emu_sess_event(s, "start", -1, -1, -1, "the workload starts: %lld requests",
				       (long long)s->cfg.requests);
		}
		return;
	}
	memset(&h, 0, sizeof(h));
	h.magic = EMU_FRAME_MAGIC;
	h.type = EMU_FRAME_PROBE;
	h.flags = s->probe_k % 2 ? EMU_FRAME_NOHOLD : 0;
	h.deployment = (uint32_t)d->id;
	h.request = (uint64_t)s->probe_k;
	h.sent_ns = emu_now_ns();
	h.stage = -1;
	if (emu_out_push(&d->out, &h, NULL, NULL) != EP_OK)
		return;
	s->probe_out = true;
	s->probe_sent_s = now;
	flush_in(s, d, now);
}
