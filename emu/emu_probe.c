/*
 * The bulk-transfer probe: a TCP receiver and sender forked into two nodes' namespaces.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emu_internal.h"
#include "emu_probe.h"

#define BUF_BYTES (256 * 1024)

struct emu_probe {
	pid_t rx, tx;
	int result_fd;
	struct emu_probe_options opt;
	int from, to;
};

/* What the receiver reports through its pipe. */
struct rx_report {
	int port;      /* after listen(); 0 on failure */
	char msg[200]; /* why, on failure */
};

struct child_args {
	struct emu_probe_options opt;
	struct in_addr addr; /* receiver: listen here; sender: connect here */
	int port;
	int fd; /* the pipe's write end (receiver) */
};

static void report(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t k = write(fd, p, len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return;
		p += k;
		len -= (size_t)k;
	}
}

/* Read connection cs until the sender stops, a read waits timeout_ms, or the window
 * (warmup_s after the first byte, duration_s long) is over: every byte into the total and its
 * bin, the window's into res->bytes and res->seconds. */
static void rx_measure(int cs, char *buf, const struct emu_probe_options *opt, int timeout_ms,
		       struct emu_probe_result *res)
{
	struct pollfd pfd = {.fd = cs, .events = POLLIN};
	double win_t0 = 0, win_t1 = 0;
	bool win = false;

	for (;;) {
		ssize_t k;
		double t, ws;
		int bin;

		if (poll(&pfd, 1, timeout_ms) != 1)
			break;
		k = read(cs, buf, BUF_BYTES);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		t = emu_now_s();
		if (res->total_bytes == 0)
			res->start_mono_s = t;
		res->total_bytes += (double)k;
		bin = (int)((t - res->start_mono_s) / opt->interval_s);
		if (bin >= 0 && bin < EMU_PROBE_MAX_BINS) {
			res->bin_bytes[bin] += (double)k;
			if (bin + 1 > res->n_bins)
				res->n_bins = bin + 1;
		}
		ws = res->start_mono_s + opt->warmup_s;
		if (t > ws + opt->duration_s)
			break;
		if (t < ws)
			continue;
		/* The first read in the window opens it: its bytes arrived before, not in it. */
		if (!win) {
			win = true;
			win_t0 = win_t1 = t;
			continue;
		}
		res->bytes += (double)k;
		win_t1 = t;
	}
	res->seconds = win_t1 - win_t0;
}

static int receiver(void *arg)
{
	struct child_args *a = arg;
	struct rx_report rep = {0};
	struct emu_probe_result *res = NULL;
	struct sockaddr_in sa = {0};
	socklen_t slen = sizeof(sa);
	int ls = -1, cs = -1, one = 1, rc = 1, timeout_ms = (int)(a->opt.timeout_s * 1000);
	char *buf = NULL;
	struct pollfd pfd;

	alarm((unsigned)ceil(a->opt.timeout_s * 2 + a->opt.warmup_s + a->opt.duration_s + 5));
	res = calloc(1, sizeof(*res));
	buf = malloc(BUF_BYTES);
	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sa.sin_family = AF_INET;
	sa.sin_addr = a->addr;
	if (!res || !buf || ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(ls, 1) != 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &slen) != 0) {
		snprintf(rep.msg, sizeof(rep.msg), "receiver cannot listen on %s: %s",
			 inet_ntoa(a->addr), strerror(errno));
		report(a->fd, &rep, sizeof(rep));
		goto out;
	}
	rep.port = ntohs(sa.sin_port);
	report(a->fd, &rep, sizeof(rep));
	pfd.fd = ls;
	pfd.events = POLLIN;
	/* Nobody came, or no connection: an empty result says so. */
	if (poll(&pfd, 1, timeout_ms) == 1 && (cs = accept4(ls, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		rx_measure(cs, buf, &a->opt, timeout_ms, res);
	res->rate_bps = res->seconds > 0 ? res->bytes * 8.0 / res->seconds : 0;
	report(a->fd, res, sizeof(*res));
	rc = 0;
out:
	if (cs >= 0)
		close(cs); /* the sender's next write fails: it stops */
	if (ls >= 0)
		close(ls);
	free(buf);
	free(res);
	return rc;
}

static int sender(void *arg)
{
	struct child_args *a = arg;
	struct sockaddr_in sa = { 0 };
	char *buf = calloc(1, BUF_BYTES);
	int s, rc = 1;

	alarm((unsigned)ceil(a->opt.timeout_s * 2 + a->opt.warmup_s + a->opt.duration_s + 5));
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sa.sin_family = AF_INET;
	sa.sin_addr = a->addr;
	sa.sin_port = htons((uint16_t)a->port);
	if (!buf || s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		goto out;
	for (;;) {
		ssize_t k = send(s, buf, BUF_BYTES, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			/* The receiver closing is how a transfer ends. */
			rc = errno == EPIPE || errno == ECONNRESET ? 0 : 1;
			break;
		}
	}
out:
	if (s >= 0)
		close(s);
	free(buf);
	return rc;
}

static bool read_full(int fd, void *buf, size_t len, int timeout_ms)
{
	char *p = buf;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	while (len > 0) {
		ssize_t k;

		if (timeout_ms >= 0 && poll(&pfd, 1, timeout_ms) != 1)
			return false;
		k = read(fd, p, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		p += k;
		len -= (size_t)k;
	}
	return true;
}

static void reap(pid_t pid, double grace_s)
{
	double deadline = emu_now_s() + grace_s;
	int status;

	if (pid <= 0)
		return;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (emu_now_s() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return;
		}
		emu_sleep_s(0.005);
	}
}

int emu_probe_start(const struct emu_net *net, int from, int to,
		    const struct emu_probe_options *opt, struct emu_probe **out,
		    struct ep_error *err)
{
	struct emu_probe *p = NULL;
	struct child_args a;
	struct rx_report rep = { 0 };
	int pipefd[2] = { -1, -1 }, rc = EP_OK, n = emu_net_node_count(net);

	*out = NULL;
	if (from < 0 || from > n || to < 0 || to > n || from == to)
		return ep_error_set(err, EP_EINVAL, "probe %d -> %d: nodes are 0..%d, and distinct",
				    from, to, n);
	p = calloc(1, sizeof(*p));
	if (!p)
		return ep_error_set(err, EP_ENOMEM, "out of memory for a probe");
	p->rx = p->tx = -1;
	p->result_fd = -1;
	p->from = from;
	p->to = to;
	if (opt)
		p->opt = *opt;
	if (p->opt.warmup_s <= 0)
		p->opt.warmup_s = 0.3;
	if (p->opt.duration_s <= 0)
		p->opt.duration_s = 1.0;
	if (p->opt.interval_s <= 0)
		p->opt.interval_s = 0.1;
	if (p->opt.timeout_s <= 0)
		p->opt.timeout_s = 5.0;
	if ((p->opt.warmup_s + p->opt.duration_s) / p->opt.interval_s > EMU_PROBE_MAX_BINS) {
		rc = ep_error_set(err, EP_EINVAL,
				  "probe: (warm-up %g s + duration %g s) / interval %g s exceeds "
				  "%d bins",
				  p->opt.warmup_s, p->opt.duration_s, p->opt.interval_s,
				  EMU_PROBE_MAX_BINS);
		goto fail;
	}
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		rc = ep_error_set(err, EP_EIO, "probe: pipe: %s", strerror(errno));
		goto fail;
	}
	memset(&a, 0, sizeof(a));
	a.opt = p->opt;
	a.addr = emu_net_addr(net, to);
	a.fd = pipefd[1];
	rc = emu_net_spawn(net, to, NULL, receiver, &a, &p->rx, err);
	if (rc != EP_OK)
		goto fail;
	close(pipefd[1]);
	pipefd[1] = -1;
	p->result_fd = pipefd[0];
	pipefd[0] = -1;
	if (!read_full(p->result_fd, &rep, sizeof(rep), 5000) || rep.port <= 0) {
		rc = ep_error_set(err, EP_EIO, "probe %d -> %d: %s", from, to,
				  rep.port <= 0 && rep.msg[0] ? rep.msg
							      : "the receiver did not start");
		goto fail;
	}
	a.port = rep.port;
	a.fd = -1;
	rc = emu_net_spawn(net, from, NULL, sender, &a, &p->tx, err);
	if (rc != EP_OK)
		goto fail;
	*out = p;
	return EP_OK;
fail:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (p->rx > 0)
		kill(p->rx, SIGKILL);
	reap(p->rx, 1.0);
	if (p->result_fd >= 0)
		close(p->result_fd);
	free(p);
	return rc;
}

int emu_probe_finish(struct emu_probe *p, struct emu_probe_result *res, struct ep_error *err)
{
	int rc = EP_OK;
	bool got;

	memset(res, 0, sizeof(*res));
	got = read_full(p->result_fd, res, sizeof(*res), -1);
	reap(p->rx, 2.0);
	reap(p->tx, 2.0); /* the receiver closed: the sender's writes fail at once */
	if (!got)
		rc = ep_error_set(err, EP_EIO, "probe %d -> %d: the receiver died without a result",
				  p->from, p->to);
	else if (res->total_bytes == 0)
		rc = ep_error_set(err, EP_EIO,
				  "probe %d -> %d: no byte arrived within %g s (link down?)",
				  p->from, p->to, p->opt.timeout_s);
	else if (res->seconds <= 0)
		rc = ep_error_set(err, EP_EIO,
				  "probe %d -> %d: the transfer stopped before the measured window "
				  "(%g bytes in all)",
				  p->from, p->to, res->total_bytes);
	close(p->result_fd);
	free(p);
	return rc;
}

int emu_probe_run(const struct emu_net *net, int from, int to,
		  const struct emu_probe_options *opt, struct emu_probe_result *res,
		  struct ep_error *err)
{
	struct emu_probe *p;
	int rc = emu_probe_start(net, from, to, opt, &p, err);

	if (rc != EP_OK) {
		memset(res, 0, sizeof(*res));
		return rc;
	}
	return emu_probe_finish(p, res, err);
}
