/*
 * The stage process and the node heartbeater (emu_stage.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "emu_internal.h"
#include "emu_stage.h"
#include "model_exec.h"

#define SLICE_S     0.0005 /* busy work between two looks at the sockets */
#define RETRY_S     0.01   /* connect again after a refusal */
#define MAX_UP      4      /* upstream connections (one is expected) */
/* A latency hold sleeps until this long before its deadline and spins the rest: a wake-up
 * from ppoll comes tens of microseconds late, and every hop of a path would add that. */
#define SPIN_S      150e-6

int emu_tcp_timeouts(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
		return 0;
	/* Not tcpi_backoff: the persist timer raises it for every window probe, answered or not,
	 * so a live receiver whose window stays closed reached 3 in 2 s (test_emu_stuck). */
	return ti.tcpi_retransmits > ti.tcpi_probes ? ti.tcpi_retransmits : ti.tcpi_probes;
}

bool emu_child_setup(int keep, pid_t controller)
{
	struct sigaction sa;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* Latency holds wake at their deadline, not up to 50 us after (the default slack). */
	prctl(PR_SET_TIMERSLACK, 1UL);
	if (getppid() != controller)
		return false; /* it died before the line above */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	if (keep < 0) {
		close_range(3, ~0U, 0);
	} else {
		if (keep > 3)
			close_range(3, (unsigned)keep - 1, 0);
		close_range((unsigned)keep + 1, ~0U, 0);
	}
	return true;
}

static double ts_s(const struct timespec *ts)
{
	return (double)ts->tv_sec + (double)ts->tv_nsec * 1e-9;
}

static struct timespec to_ts(double s)
{
	struct timespec ts;

	if (s < 0)
		s = 0;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* ---- the stage ---- */

struct held {
	struct emu_frame_hdr hdr;
	double due; /* delivered to compute at this time */
	char *buf;  /* real compute: the received tensor (raw bytes), owned */
};

struct stage {
	const struct emu_stage_spec *sp;
	int ls, down, ctl;
	int up[MAX_UP];
	struct emu_frame_reader rd[MAX_UP];
	int n_up;
	bool connected, connecting, ready_sent, stuck_sent;
	double retry_at, connect_started;
	struct emu_out_queue out;
	struct held *hold; /* ring */
	int hold_head, hold_count, hold_cap;
	bool computing;
	struct emu_frame_hdr cur;
	char *cur_buf;     /* real compute: the tensor being computed on, owned */
	struct model_stage *exec; /* real compute; NULL otherwise */
	size_t in_bytes;   /* real compute: the tensor the stage takes */
	double remaining, compute_t0;
	char *out_raw, *scratch;
	size_t scratch_cap;
	struct emu_codec *codec; /* NULL: raw bytes */
	int codec_id;
	struct emu_stage_counters c;
	double next_report;
	double written, last_acked, last_progress; /* for the stuck check */
	volatile double sink;
};

static void ctl_send(struct stage *st, uint32_t type, int peer, double value, const char *text)
{
	struct emu_ctl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.peer = peer;
	m.value = value;
	m.c = st->c;
	if (text)
		snprintf(m.text, sizeof(m.text), "%s", text);
	while (send(st->ctl, &m, sizeof(m), MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

static int fatal(struct stage *st, const char *fmt, const char *detail)
{
	char text[200];

	snprintf(text, sizeof(text), fmt, detail);
	ctl_send(st, EMU_CTL_ERROR, -1, 0, text);
	return 1;
}

static bool hold_push(struct stage *st, const struct emu_frame_hdr *hdr, double due, char *buf)
{
	if (st->hold_count == st->hold_cap) {
		int cap = st->hold_cap ? 2 * st->hold_cap : 16;
		struct held *nv = malloc((size_t)cap * sizeof(*nv));

		if (!nv)
			return false;
		for (int i = 0; i < st->hold_count; i++)
			nv[i] = st->hold[(st->hold_head + i) % st->hold_cap];
		free(st->hold);
		st->hold = nv;
		st->hold_cap = cap;
		st->hold_head = 0;
	}
	st->hold[(st->hold_head + st->hold_count) % st->hold_cap] = (struct held){ *hdr, due, buf };
	st->hold_count++;
	return true;
}

static int start_connect(struct stage *st, double now)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int one = 1;

	st->down = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (st->down < 0)
		return -1;
	setsockopt(st->down, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	sa.sin_addr = st->sp->next_addr;
	sa.sin_port = htons(st->sp->next_port);
	st->connect_started = now; /* per attempt: refusals are progress, a silent SYN is not */
	st->connecting = true;
	if (connect(st->down, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EINPROGRESS)
		return 0;
	/* Refused or unreachable at once: try again shortly. */
	close(st->down);
	st->down = -1;
	st->retry_at = now + RETRY_S;
	return 0;
}

/* The connect finished (POLLOUT): connected, or retry later. */
static int finish_connect(struct stage *st, double now)
{
	struct emu_frame_hdr hello;
	int e = 0;
	socklen_t len = sizeof(e);

	getsockopt(st->down, SOL_SOCKET, SO_ERROR, &e, &len);
	if (e != 0) {
		close(st->down);
		st->down = -1;
		st->retry_at = now + RETRY_S;
		return 0;
	}
	st->connecting = false;
	st->connected = true;
	st->last_progress = now;
	memset(&hello, 0, sizeof(hello));
	hello.magic = EMU_FRAME_MAGIC;
	hello.type = EMU_FRAME_HELLO;
	hello.deployment = (uint32_t)st->sp->deployment;
	hello.stage = st->sp->index;
	if (emu_out_push(&st->out, &hello, NULL, NULL) != EP_OK)
		return -1;
	if (!st->ready_sent) {
		ctl_send(st, EMU_CTL_READY, st->sp->next_node, 0, NULL);
		st->ready_sent = true;
	}
	return 0;
}

static size_t shape_bytes(const int64_t *shape, int rank)
{
	size_t n = rank > 0 ? sizeof(float) : 0;

	for (int i = 0; i < rank; i++)
		n *= (size_t)shape[i];
	return n;
}

/* Decode the payload `in` of the received frame h (the stage's input tensor) into out
 * (h->raw_bytes). Non-zero after a fatal error (reported). */
static int decode(struct stage *st, const struct emu_frame_hdr *h, const char *in, char *out)
{
	const struct emu_stage_spec *sp = st->sp;
	struct ep_error e;
	double t0;
	int rc;

	if (!st->codec || h->codec != st->codec_id) {
		char why[96];

		snprintf(why, sizeof(why), "codec %u, this stage's is %s", h->codec,
			 st->codec ? emu_codec_spec(st->codec) : "none");
		return fatal(st, "a received tensor is coded with %s", why);
	}
	if (h->raw_bytes != shape_bytes(sp->in_shape, sp->in_rank)) {
		char why[96];

		snprintf(why, sizeof(why), "%llu bytes, the codec's shape %zu",
			 (unsigned long long)h->raw_bytes, shape_bytes(sp->in_shape, sp->in_rank));
		return fatal(st, "a received coded tensor has %s", why);
	}
	t0 = emu_now_s();
	rc = emu_codec_decode(st->codec, in, h->wire_bytes, sp->in_shape, sp->in_rank,
			      (float *)out, &e);
	st->c.decode_s += emu_now_s() - t0;
	if (rc)
		return fatal(st, "decoding a received tensor: %.150s", e.msg);
	return 0;
}

/* A whole frame arrived on upstream connection u. */
static int take_frame(struct stage *st, int u, double now)
{
	struct emu_frame_reader *r = &st->rd[u];
	struct emu_frame_hdr h = r->hdr;
	double hold = 0;
	char *buf = NULL;

	if (h.type == EMU_FRAME_HELLO)
		return 0;
	if (h.type != EMU_FRAME_DATA && h.type != EMU_FRAME_PROBE)
		return fatal(st, "unknown frame type %s from the predecessor", "?");
	if (st->exec && h.type == EMU_FRAME_DATA) {
		/* Real compute: the frame keeps its tensor until computed on. */
		if (h.raw_bytes != st->in_bytes) {
			char why[96];

			snprintf(why, sizeof(why), "%llu bytes, the stage takes %zu",
				 (unsigned long long)h.raw_bytes, st->in_bytes);
			return fatal(st, "a received tensor has %s", why);
		}
		if (h.codec != 0) {
			buf = malloc(h.raw_bytes ? h.raw_bytes : 1);
			if (!buf)
				return fatal(st, "out of memory for a %s tensor", "received");
			if (decode(st, &h, r->buf, buf)) {
				free(buf);
				return 1;
			}
		} else {
			buf = r->buf; /* the reader allocates another for the next frame */
			r->buf = NULL;
			r->cap = 0;
		}
	} else if (h.codec != 0) {
		/* Synthetic tensors: decoded (it costs what it costs), then forgotten. */
		if (h.raw_bytes > st->scratch_cap) {
			char *nb = realloc(st->scratch, h.raw_bytes);

			if (!nb)
				return fatal(st, "out of memory for a %s tensor", "received");
			st->scratch = nb;
			st->scratch_cap = h.raw_bytes;
		}
		if (decode(st, &h, r->buf, st->scratch))
			return 1;
	}
	if (h.type == EMU_FRAME_DATA) {
		st->c.frames_in++;
		st->c.bytes_in_wire += (double)h.wire_bytes;
		st->c.bytes_in_raw += (double)h.raw_bytes;
	} else {
		st->c.probes++;
	}
	if (!(h.flags & EMU_FRAME_NOHOLD))
		hold = st->sp->hold_s;
	st->c.hold_s += hold;
	if (!hold_push(st, &h, now + hold, buf)) {
		free(buf);
		return fatal(st, "out of memory for the %s queue", "hold");
	}
	if (st->hold_count + st->out.count > st->c.max_backlog)
		st->c.max_backlog = st->hold_count + st->out.count;
	return 0;
}

/* The compute of st->cur is over: queue its output. */
static int emit(struct stage *st)
{
	struct emu_frame_hdr h = st->cur;
	char *owned = NULL;

	h.stage = st->sp->index;
	h.codec = 0;
	if (h.type == EMU_FRAME_DATA) {
		const char *src = st->out_raw;

		h.raw_bytes = (uint64_t)st->sp->out_bytes;
		h.wire_bytes = h.raw_bytes;
		if (st->exec) {
			/* The computed output is this frame's own: the next compute must not
			 * overwrite it while it waits to be sent. */
			struct ep_error e;
			int64_t n = model_stage_output_elements(st->exec);
			char *out = malloc(n > 0 ? (size_t)n * sizeof(float) : 1);

			if (!out)
				return fatal(st, "out of memory for the %s tensor", "output");
			if (model_stage_run(st->exec, (const float *)st->cur_buf, (float *)out, &e)) {
				free(out);
				return fatal(st, "the executor failed: %.150s", e.msg);
			}
			free(st->cur_buf);
			st->cur_buf = NULL;
			h.raw_bytes = h.wire_bytes = (uint64_t)n * sizeof(float);
			src = owned = out;
		}
		if (st->codec && h.raw_bytes > 0) {
			char *raw_out = owned;
			const struct emu_stage_spec *sp = st->sp;
			size_t cap = emu_codec_bound(st->codec, sp->out_shape, sp->out_rank), k = 0;
			double t0 = emu_now_s();
			struct ep_error e;
			int rc;

			if (h.raw_bytes != shape_bytes(sp->out_shape, sp->out_rank) || cap == 0) {
				free(raw_out);
				return fatal(st, "an output tensor does not have the shape the codec "
					     "was given (%s)", sp->codec);
			}
			owned = malloc(cap);
			if (!owned) {
				free(raw_out);
				return fatal(st, "out of memory coding a %s tensor", "sent");
			}
			rc = emu_codec_encode(st->codec, (const float *)src, sp->out_shape,
					      sp->out_rank, owned, cap, &k, &e);
			free(raw_out);
			st->c.encode_s += emu_now_s() - t0;
			if (rc) {
				free(owned);
				return fatal(st, "coding a sent tensor: %.150s", e.msg);
			}
			h.wire_bytes = k;
			h.codec = (uint16_t)st->codec_id;
		}
		st->c.frames_out++;
		st->c.bytes_out_raw += (double)h.raw_bytes;
		st->c.bytes_out_wire += (double)h.wire_bytes;
	} else {
		h.raw_bytes = h.wire_bytes = 0;
	}
	if (emu_out_push(&st->out, &h, owned ? NULL : st->out_raw, owned) != EP_OK)
		return fatal(st, "out of memory for the %s queue", "send");
	return 0;
}

/* STUCK when data waits for the successor and none of it was acknowledged for the timeout. */
static void check_stuck(struct stage *st, double now)
{
	int outq = 0;

	if (st->stuck_sent || st->sp->stuck_timeout_s <= 0)
		return;
	if (st->connecting) {
		if (st->down >= 0 && now - st->connect_started >
					     fmax(st->sp->stuck_timeout_s, EMU_CONNECT_STUCK_S)) {
			ctl_send(st, EMU_CTL_STUCK, st->sp->next_node, now - st->connect_started,
				 "connect");
			st->stuck_sent = true;
		}
		return;
	}
	if (!st->connected || ioctl(st->down, SIOCOUTQ, &outq) != 0)
		return;
	if (outq == 0 && st->out.count == 0) {
		st->last_progress = now;
		return;
	}
	if (st->written - outq > st->last_acked) {
		st->last_acked = st->written - outq;
		st->last_progress = now;
		return;
	}
	if (now - st->last_progress > st->sp->stuck_timeout_s &&
	    emu_tcp_timeouts(st->down) >= EMU_STUCK_RTOS) {
		ctl_send(st, EMU_CTL_STUCK, st->sp->next_node, now - st->last_progress, "send");
		st->stuck_sent = true;
	}
}

/* Compute: start the next frame whose hold is over; work one slice. *now moves on when a
 * frame's compute ends. Non-zero after a fatal error (reported). */
static int loop_compute(struct stage *st, double *now)
{
	const struct emu_stage_spec *sp = st->sp;
	double slice = sp->work_rate > 0 ? sp->work_rate * SLICE_S : 1e6;

	if (!st->computing && st->hold_count > 0 && st->hold[st->hold_head].due <= *now &&
	    st->out.count < EMU_STAGE_MAX_BACKLOG) {
		st->cur = st->hold[st->hold_head].hdr;
		st->cur_buf = st->hold[st->hold_head].buf;
		st->hold_head = (st->hold_head + 1) % st->hold_cap;
		st->hold_count--;
		st->computing = true;
		st->remaining = st->cur.type == EMU_FRAME_DATA ? sp->work_iters : 0;
		st->compute_t0 = *now;
	}
	if (st->computing) {
		double k = st->remaining < slice ? st->remaining : slice;

		if (k > 0)
			st->sink += emu_work_run(k);
		st->remaining -= k;
		if (st->remaining <= 0 && st->cur.type == EMU_FRAME_DATA &&
		    *now < st->compute_t0 + sp->min_compute_s)
			return 0; /* done early, with quota saved up while idle: wait (loop_wait) */
		if (st->remaining <= 0) {
			st->computing = false;
			if (emit(st)) /* real compute runs the layers here */
				return 1;
			*now = emu_now_s();
			st->c.compute_s += *now - st->compute_t0;
		}
	}
	return 0;
}

/* The rest of a pass before polling: send what is queued, report the counters (and whether
 * the send is stuck) when due, connect to the successor again when due. Non-zero after a fatal
 * error (reported). */
static int loop_steps(struct stage *st, double now)
{
	if (st->connected && st->out.count > 0) {
		double before = st->written;

		if (emu_out_flush(&st->out, st->down, &st->written) < 0) {
			char why[120];

			snprintf(why, sizeof(why), "%s", strerror(errno));
			return fatal(st, "sending to the successor: %s", why);
		}
		if (st->written > before && st->stuck_sent)
			st->stuck_sent = false;
	}
	if (now >= st->next_report) {
		check_stuck(st, now);
		ctl_send(st, EMU_CTL_COUNTERS, -1, 0, NULL);
		st->next_report = now + st->sp->report_period_s;
	}
	if (!st->connected && st->down < 0 && now >= st->retry_at && start_connect(st, now) != 0)
		return fatal(st, "socket: %s", strerror(errno));
	return 0;
}

/* How long to wait in ppoll: not at all while computing, else until the next hold, report or
 * retry, and 1 s at most. */
static double loop_wait(const struct stage *st, double now)
{
	double wait = 1.0;

	if (st->computing && st->remaining > 0)
		return 0;
	if (st->computing) {
		double due = st->compute_t0 + st->sp->min_compute_s - now;

		return due > SPIN_S ? due - SPIN_S : 0;
	}
	if (st->hold_count > 0 && st->out.count < EMU_STAGE_MAX_BACKLOG) {
		double due = st->hold[st->hold_head].due - now;

		wait = fmin(wait, due > SPIN_S ? due - SPIN_S : 0);
	}
	wait = fmin(wait, st->next_report - now);
	if (st->down < 0 && !st->connected)
		wait = fmin(wait, st->retry_at - now);
	return wait;
}

/* The stage's descriptors in poll order: control, listener, successor (when open), then the
 * upstream connections from index `up0`. */
struct stage_poll {
	struct pollfd pfd[3 + MAX_UP];
	int n, down, up0; /* down: the successor's index, -1 none */
};

static void poll_build(const struct stage *st, struct stage_poll *ps)
{
	ps->n = 0;
	ps->down = -1;
	ps->pfd[ps->n++] = (struct pollfd){.fd = st->ctl, .events = POLLIN};
	ps->pfd[ps->n++] = (struct pollfd){.fd = st->ls, .events = POLLIN};
	if (st->down >= 0) {
		ps->down = ps->n;
		ps->pfd[ps->n++] = (struct pollfd){
			.fd = st->down,
			.events = (short)(st->connecting || st->out.count > 0 ? POLLOUT : 0),
		};
	}
	ps->up0 = ps->n;
	/* Upstream: read only while the backlog has room (TCP pushes back on the sender). */
	for (int u = 0; u < st->n_up; u++)
		ps->pfd[ps->n++] = (struct pollfd){
			.fd = st->up[u],
			.events = (short)(st->hold_count + st->out.count < EMU_STAGE_MAX_BACKLOG
						  ? POLLIN
						  : 0),
		};
}

/* The controller's message: false when the stage must end (STOP, or the controller is gone). */
static bool ctl_read(struct stage *st)
{
	struct emu_ctl_msg m;
	ssize_t k = recv(st->ctl, &m, sizeof(m), MSG_DONTWAIT);

	if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
		return false; /* the controller is gone */
	if (k == (ssize_t)sizeof(m) && m.type == EMU_CTL_STOP) {
		ctl_send(st, EMU_CTL_COUNTERS, -1, 0, NULL);
		return false;
	}
	return true;
}

/* A predecessor connects (one is expected; past MAX_UP they are refused). */
static void up_accept(struct stage *st)
{
	int fd = accept4(st->ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd >= 0 && st->n_up < MAX_UP) {
		memset(&st->rd[st->n_up], 0, sizeof(st->rd[0]));
		/* Synthetic tensors: the contents are never looked at. */
		st->rd[st->n_up].discard = st->exec == NULL;
		st->up[st->n_up++] = fd;
	} else if (fd >= 0) {
		close(fd);
	}
}

/* Every whole frame upstream connection u has; a connection that ends is closed and marked
 * -1. Non-zero after a fatal error (reported). */
static int up_read(struct stage *st, int u)
{
	for (;;) {
		int k = emu_frame_read(&st->rd[u], st->up[u], NULL);

		if (k == 1) {
			if (take_frame(st, u, emu_now_s()))
				return 1;
			emu_frame_reader_next(&st->rd[u]);
			continue;
		}
		if (k < 0) {
			/* The predecessor went (a redeploy, the end): forget it. */
			close(st->up[u]);
			emu_frame_reader_release(&st->rd[u]);
			st->up[u] = -1;
		}
		return 0;
	}
}

/* Drop the upstream connections marked -1 (the pollfd indices are rebuilt next pass). */
static void up_compact(struct stage *st)
{
	for (int u = 0; u < st->n_up;) {
		if (st->up[u] >= 0) {
			u++;
			continue;
		}
		for (int w = u; w + 1 < st->n_up; w++) {
			st->up[w] = st->up[w + 1];
			st->rd[w] = st->rd[w + 1];
		}
		st->n_up--;
	}
}

/* Hand each descriptor that polled ready to its reader (the control socket is read first, by
 * the loop). Non-zero after a fatal error (reported). */
static int poll_dispatch(struct stage *st, const struct stage_poll *ps, double now)
{
	if (ps->pfd[1].revents & POLLIN)
		up_accept(st);
	if (ps->down >= 0 && ps->pfd[ps->down].revents) {
		if (st->connecting) {
			if (finish_connect(st, now) != 0)
				return fatal(st, "out of memory for the %s", "hello");
		} else if (ps->pfd[ps->down].revents & (POLLERR | POLLHUP)) {
			return fatal(st, "the connection to the successor %s", "broke");
		}
	}
	/* The connections polled: one accepted above is read from the next pass on. */
	for (int u = 0; u < ps->n - ps->up0; u++)
		if (ps->pfd[ps->up0 + u].revents && up_read(st, u))
			return 1;
	up_compact(st);
	return 0;
}

/* The stage's event loop, as the session's (emu_session.c run_loop): compute a slice, the
 * steps, wait until the next due time, hand what is ready to its reader. 0: stopped by the
 * controller (or it went); 1: a fatal error (reported). */
static int stage_loop(struct stage *st)
{
	struct stage_poll ps;

	for (;;) {
		double now = emu_now_s();
		struct timespec ts;
		int rc;

		if (loop_compute(st, &now) || loop_steps(st, now))
			return 1;
		ts = to_ts(loop_wait(st, now));
		poll_build(st, &ps);
		rc = ppoll(ps.pfd, (nfds_t)ps.n, &ts, NULL);
		if (rc < 0 && errno != EINTR)
			return fatal(st, "ppoll: %s", strerror(errno));
		if (rc <= 0)
			continue;
		now = emu_now_s();
		if (ps.pfd[0].revents && !ctl_read(st))
			return 0;
		if (poll_dispatch(st, &ps, now))
			return 1;
	}
}

int emu_stage_main(void *arg)
{
	const struct emu_stage_spec *sp = arg;
	struct stage st;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int one = 1, rc = 1;

	memset(&st, 0, sizeof(st));
	st.sp = sp;
	st.ls = st.down = -1;
	st.ctl = sp->ctl_fd;
	if (!emu_child_setup(sp->ctl_fd, sp->controller))
		return 0;
	if (sp->codec[0] && strcmp(sp->codec, "none") != 0) {
		struct ep_error e;

		if (emu_codec_create(sp->codec, &st.codec, &e) != EP_OK) {
			rc = fatal(&st, "%.180s", e.msg);
			goto out;
		}
		st.codec_id = emu_codec_id(st.codec);
	}
	if (sp->weights) {
		struct model_exec_options eo = MODEL_EXEC_OPTIONS_DEFAULT;
		struct ep_error e;

		/* Here, inside the node's cgroup: the packed weights, activations and workspace
		 * count against its memory cap, as on a device of that memory. */
		eo.threads = sp->threads > 0 ? sp->threads : 1;
		if (model_stage_create(sp->weights, sp->first_layer, sp->last_layer, &eo, &st.exec,
				       &e) != EP_OK) {
			rc = fatal(&st, "cannot set up its layers: %.150s", e.msg);
			goto out;
		}
		st.in_bytes = (size_t)model_stage_input_elements(st.exec) * sizeof(float);
	} else {
		st.out_raw = malloc(sp->out_bytes > 0 ? (size_t)sp->out_bytes : 1);
		if (!st.out_raw) {
			rc = fatal(&st, "out of memory for the %s tensor", "output");
			goto out;
		}
		emu_tensor_fill(st.out_raw, (size_t)sp->out_bytes,
				sp->seed * 1000003u + (uint64_t)sp->index, sp->dense_output);
	}
	st.ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	sa.sin_addr = sp->listen_addr;
	sa.sin_port = htons(sp->listen_port);
	if (st.ls < 0 || setsockopt(st.ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(st.ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(st.ls, 8) != 0) {
		char why[120];

		snprintf(why, sizeof(why), "port %u: %s", sp->listen_port, strerror(errno));
		rc = fatal(&st, "cannot listen on %s", why);
		goto out;
	}
	st.next_report = emu_now_s();
	rc = stage_loop(&st);
out:
	for (int u = 0; u < st.n_up; u++) {
		close(st.up[u]);
		emu_frame_reader_release(&st.rd[u]);
	}
	if (st.down >= 0)
		close(st.down);
	if (st.ls >= 0)
		close(st.ls);
	emu_out_release(&st.out);
	for (int i = 0; i < st.hold_count; i++)
		free(st.hold[(st.hold_head + i) % st.hold_cap].buf);
	free(st.cur_buf);
	model_stage_destroy(st.exec);
	free(st.hold);
	free(st.out_raw);
	free(st.scratch);
	emu_codec_destroy(st.codec);
	return rc;
}

/* ---- the heartbeater ---- */

int emu_heartbeat_main(void *arg)
{
	const struct emu_heartbeat_spec *hs = arg;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct emu_heartbeat_msg m = { .magic = EMU_HEARTBEAT_MAGIC };
	struct timespec next;
	int s;

	if (!emu_child_setup(-1, hs->controller))
		return 0;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return 1;
	sa.sin_addr = hs->to;
	sa.sin_port = htons(hs->port);
	m.node = hs->node;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		double t;

		m.seq++;
		m.sent_ns = emu_now_ns();
		/* A cut link or a full queue drops it; the next one may pass. */
		sendto(s, &m, sizeof(m), MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof(sa));
		t = ts_s(&next) + hs->period_s;
		next = to_ts(t);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
	}
}
