/*
 * The bandwidth matrix of real hosts (emu_measure.h): agents, the pair protocol, the matrix.
 */
#include "emu_measure.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emu_internal.h"

#define CHUNK (256 * 1024)
#define LINE_MAX_ 640 /* a line carries an ep_error message (512) and a little more */

int emu_measure_host_parse(const char *text, struct emu_measure_host *out, struct ep_error *err)
{
	const char *colon = strrchr(text, ':');
	size_t len = colon ? (size_t)(colon - text) : strlen(text);

	out->port = EMU_MEASURE_PORT;
	if (colon) {
		char *end;
		long p = strtol(colon + 1, &end, 10);

		if (end == colon + 1 || *end || p < 1 || p > 65535)
			return ep_error_set(err, EP_EINVAL,
					    "host '%s': the port must be 1 to 65535", text);
		out->port = (int)p;
	}
	if (len == 0 || len >= sizeof(out->addr))
		return ep_error_set(err, EP_EINVAL, "host '%s': expected ADDR[:PORT]", text);
	memcpy(out->addr, text, len);
	out->addr[len] = '\0';
	return EP_OK;
}

static void options_fill(const struct emu_measure_options *in, struct emu_measure_options *o)
{
	*o = in ? *in : (struct emu_measure_options){ 0 };
	if (o->warmup_s <= 0)
		o->warmup_s = 0.3;
	if (o->window_s <= 0)
		o->window_s = 1.0;
	if (o->timeout_s <= 0)
		o->timeout_s = 10.0;
}

static void set_timeouts(int fd, double timeout_s)
{
	struct timeval tv = { (time_t)timeout_s, (long)((timeout_s - (time_t)timeout_s) * 1e6) };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A connected TCP socket to host:port, or -1 with err set. */
static int connect_to(const char *addr, int port, double timeout_s, struct ep_error *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res, *ai;
	char service[16];
	int fd = -1, rc, saved = 0;

	snprintf(service, sizeof(service), "%d", port);
	rc = getaddrinfo(addr, service, &hints, &res);
	if (rc) {
		ep_error_set(err, EP_EIO, "cannot resolve '%s': %s", addr, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		set_timeouts(fd, timeout_s);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		ep_error_set(err, EP_EIO, "cannot connect to %s:%d: %s (is 'edgepipe measure "
			     "--serve' running there?)", addr, port, strerror(saved ? saved : EIO));
	return fd;
}

static bool write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* One line (without its newline) read a byte at a time, so no bulk byte is taken with it. */
static bool read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size) {
		ssize_t r = recv(fd, buf + n, 1, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return true;
		}
		n++;
	}
	return false;
}

/* The receiving side: count what arrives in the window, then report it to the sender. */
static void agent_sink(int fd, double warmup_s, double window_s)
{
	char *buf = malloc(CHUNK), line[LINE_MAX_];
	double first = -1, start, end, last = -1, bytes = 0;

	if (!buf)
		return;
	for (;;) {
		ssize_t r = recv(fd, buf, CHUNK, 0);
		double now;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		now = emu_now_s();
		if (first < 0)
			first = now;
		start = first + warmup_s;
		end = start + window_s;
		/* A read is counted in the window it ends in: its bytes arrived by `now`. */
		if (now > start && now <= end) {
			bytes += (double)r;
			last = now;
		}
	}
	free(buf);
	if (first < 0 || last < 0 || bytes <= 0)
		snprintf(line, sizeof(line), "error no payload arrived in the %.3f s window\n",
			 window_s);
	else
		snprintf(line, sizeof(line), "rate %.0f %.0f %.6f\n",
			 bytes * 8 / (last - (first + warmup_s)), bytes, last - (first + warmup_s));
	write_all(fd, line, strlen(line));
}

/* The sending side: bulk bytes to the named sink, then relay its report to the controller. */
static void agent_send(int ctl, const char *addr, int port, double warmup_s, double window_s)
{
	struct ep_error err;
	char line[LINE_MAX_], reply[LINE_MAX_];
	char *buf = NULL;
	int fd = connect_to(addr, port, 10.0, &err);
	double until;

	if (fd < 0) {
		snprintf(reply, sizeof(reply), "error %s\n", err.msg);
		goto out;
	}
	buf = calloc(1, CHUNK);
	snprintf(line, sizeof(line), "sink %.0f %.0f\n", warmup_s * 1e3, window_s * 1e3);
	if (!buf || !write_all(fd, line, strlen(line))) {
		snprintf(reply, sizeof(reply), "error cannot start the transfer to %s:%d\n", addr,
			 port);
		goto out;
	}
	/* The sink's window starts at its first byte: send a little past warm-up + window. */
	until = emu_now_s() + warmup_s + window_s + 0.2;
	while (emu_now_s() < until)
		if (!write_all(fd, buf, CHUNK)) {
			snprintf(reply, sizeof(reply), "error the transfer to %s:%d broke: %s\n", addr,
				 port, strerror(errno));
			goto out;
		}
	shutdown(fd, SHUT_WR);
	if (!read_line(fd, line, sizeof(line)))
		snprintf(reply, sizeof(reply), "error no report from %s:%d\n", addr, port);
	else
		snprintf(reply, sizeof(reply), "%s\n", line);
out:
	write_all(ctl, reply, strlen(reply));
	free(buf);
	if (fd >= 0)
		close(fd);
}

/* One connection, in its own process. */
static void agent_connection(int fd)
{
	char line[LINE_MAX_], addr[256];
	double warm_ms, win_ms;
	int port;

	set_timeouts(fd, 30.0);
	if (!read_line(fd, line, sizeof(line)))
		return;
	if (sscanf(line, "sink %lf %lf", &warm_ms, &win_ms) == 2 && warm_ms >= 0 && win_ms > 0)
		agent_sink(fd, warm_ms / 1e3, win_ms / 1e3);
	else if (sscanf(line, "send %255s %d %lf %lf", addr, &port, &warm_ms, &win_ms) == 4 &&
		 port > 0 && port < 65536 && warm_ms >= 0 && win_ms > 0 && win_ms <= 600e3)
		agent_send(fd, addr, port, warm_ms / 1e3, win_ms / 1e3);
	else
		write_all(fd, "error unknown request\n", 22);
}

int emu_measure_serve(const struct emu_measure_host *listen_on, volatile sig_atomic_t *stop,
		      struct ep_error *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE },
			*res;
	struct sigaction ign = { .sa_handler = SIG_IGN, .sa_flags = SA_NOCLDWAIT }, old;
	char service[16];
	int fd, one = 1, rc;

	snprintf(service, sizeof(service), "%d", listen_on->port);
	rc = getaddrinfo(listen_on->addr, service, &hints, &res);
	if (rc)
		return ep_error_set(err, EP_EIO, "cannot resolve '%s': %s", listen_on->addr,
				    gai_strerror(rc));
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 16)) {
		rc = ep_error_set(err, EP_EIO, "cannot listen on %s:%d: %s", listen_on->addr,
				  listen_on->port, strerror(errno));
		freeaddrinfo(res);
		if (fd >= 0)
			close(fd);
		return rc;
	}
	freeaddrinfo(res);
	/* Children are reaped by the kernel: an agent runs for days. */
	sigaction(SIGCHLD, &ign, &old);
	while (!*stop) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int c;
		pid_t pid;

		if (poll(&p, 1, 200) <= 0)
			continue;
		c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		pid = fork();
		if (pid == 0) {
			close(fd);
			agent_connection(c);
			close(c);
			_exit(0);
		}
		close(c);
	}
	sigaction(SIGCHLD, &old, NULL);
	close(fd);
	return EP_OK;
}

int emu_measure_pair(const struct emu_measure_host *from, const struct emu_measure_host *to,
		     const struct emu_measure_options *opt, double *rate_bps,
		     struct ep_error *err)
{
	struct emu_measure_options o;
	char line[LINE_MAX_];
	double rate, bytes, seconds;
	int fd, rc = EP_OK;

	options_fill(opt, &o);
	fd = connect_to(from->addr, from->port, o.timeout_s, err);
	if (fd < 0)
		return EP_EIO;
	/* The agent answers after the transfer: allow it the whole transfer on top. */
	set_timeouts(fd, o.timeout_s + o.warmup_s + o.window_s + 1);
	snprintf(line, sizeof(line), "send %s %d %.0f %.0f\n", to->addr, to->port,
		 o.warmup_s * 1e3, o.window_s * 1e3);
	if (!write_all(fd, line, strlen(line)) || !read_line(fd, line, sizeof(line)))
		rc = ep_error_set(err, EP_EIO, "%s:%d -> %s:%d: no answer from the sending agent",
				  from->addr, from->port, to->addr, to->port);
	else if (sscanf(line, "rate %lf %lf %lf", &rate, &bytes, &seconds) != 3 || !(rate > 0))
		rc = ep_error_set(err, EP_EIO, "%s:%d -> %s:%d: %s", from->addr, from->port,
				  to->addr, to->port,
				  strncmp(line, "error ", 6) == 0 ? line + 6 : line);
	else
		*rate_bps = rate;
	close(fd);
	return rc;
}

int emu_measure_matrix(const struct emu_measure_host *hosts, int n,
		       const struct emu_measure_options *opt, double *bw_bps,
		       emu_measure_progress_fn *progress, void *ctx, struct ep_error *err)
{
	int done = 0, total = n * (n - 1);

	if (n < 2)
		return ep_error_set(err, EP_EINVAL, "measuring needs at least 2 hosts, got %d", n);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++) {
			int rc;

			bw_bps[i * n + j] = 0;
			if (i == j)
				continue;
			rc = emu_measure_pair(&hosts[i], &hosts[j], opt, &bw_bps[i * n + j], err);
			if (rc)
				return rc;
			if (progress)
				progress(ctx, i, j, ++done, total, bw_bps[i * n + j]);
		}
	return EP_OK;
}
