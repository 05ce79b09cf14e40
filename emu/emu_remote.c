/*
 * The session on real hosts (emu_remote.h, cfg.remote): the dispatcher's sockets on a real
 * address, the node sessions that start the hosts' heartbeats, and stage assignments over
 * TCP in place of forks into namespaces.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "emu_internal.h"
#include "emu_remote.h"
#include "emu_session_internal.h"
#include "emu_stage.h"
#include "model_lprofile.h"

struct emu_remote_state {
	struct sockaddr_in *ctl;   /* [n] each host's control address */
	uint16_t *data_port;       /* [n] */
	int *sess;                 /* [n] node session connections; -1 closed */
	bool *connecting;          /* [n] sess is a connect in progress (re-opening) */
	double *since;             /* [n] when that connect began */
	int *slot_dep;             /* [n x EMU_REMOTE_DATA_SLOTS] the deployment on each data
				    * port of each host; -1 none */
	double next_step;
	uint16_t port;             /* the result listener's and heartbeat socket's */
};

/* A TCP connection to `to` within EMU_REMOTE_CONNECT_S, non-blocking afterwards; -1 with
 * errno set. */
static int connect_to(const struct sockaddr_in *to)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1, e = 0;
	socklen_t len = sizeof(e);
	struct pollfd p;

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)to, sizeof(*to)) != 0 && errno != EINPROGRESS)
		goto fail;
	p = (struct pollfd){ .fd = fd, .events = POLLOUT };
	if (poll(&p, 1, (int)(EMU_REMOTE_CONNECT_S * 1000)) <= 0) {
		errno = ETIMEDOUT;
		goto fail;
	}
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len);
	if (e != 0) {
		errno = e;
		goto fail;
	}
	return fd;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

/* One record on a fresh connection: the socket buffer takes it whole. */
static bool send_msg(int fd, const struct emu_remote_msg *m)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	size_t off = 0;

	while (off < sizeof(*m)) {
		ssize_t k = send(fd, (const char *)m + off, sizeof(*m) - off, MSG_NOSIGNAL);

		if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (poll(&p, 1, (int)(EMU_REMOTE_CONNECT_S * 1000)) <= 0)
				return false;
			continue;
		}
		if (k <= 0)
			return false;
		off += (size_t)k;
	}
	return true;
}

static const char *host_label(const struct emu_session *s, int node, char *buf, size_t size)
{
	const struct emu_remote_host *h = &s->cfg.remote->hosts[node];

	snprintf(buf, size, "host %s (%s:%u)", h->name, h->host, h->port);
	return buf;
}

static void hello_msg(const struct emu_session *s, int node, struct emu_remote_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->magic = EMU_REMOTE_MAGIC;
	m->kind = EMU_REMOTE_HELLO;
	m->node = node;
	m->hb_port = s->remote->port;
	m->hb_period_s = s->cfg.heartbeat_period_s;
}

void emu_remote_step(struct emu_session *s, double now)
{
	struct emu_remote_state *st = s->remote;

	if (!st || now < st->next_step)
		return;
	st->next_step = now + EMU_REMOTE_SESSION_RETRY_S;
	for (int i = 0; i < s->n; i++) {
		int fd = st->sess[i];
		char b[400];

		if (fd >= 0 && !st->connecting[i]) {
			char c;
			ssize_t k = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

			if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
				close(fd);
				st->sess[i] = -1;
				emu_sess_event(s, "session", i, -1, -1, "%s: node session closed",
					       host_label(s, i, b, sizeof(b)));
			}
			continue;
		}
		if (fd < 0) {
			fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (fd < 0)
				continue;
			if (connect(fd, (struct sockaddr *)&st->ctl[i], sizeof(st->ctl[i])) != 0 &&
			    errno != EINPROGRESS) {
				close(fd);
				continue;
			}
			st->sess[i] = fd;
			st->connecting[i] = true;
			st->since[i] = now;
		}
		{
			/* A re-opening connect: done, failed, or still under way. */
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			struct emu_remote_msg m;
			socklen_t len = sizeof(int);
			int e = 0;

			if (poll(&p, 1, 0) <= 0) {
				/* A silent host (no RST): give up this try, start another. */
				if (now - st->since[i] > EMU_REMOTE_CONNECT_S) {
					close(fd);
					st->sess[i] = -1;
					st->connecting[i] = false;
				}
				continue;
			}
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len);
			hello_msg(s, i, &m);
			st->connecting[i] = false;
			/* A fresh socket's buffer takes the one record whole. */
			if (e != 0 || send(fd, &m, sizeof(m), MSG_NOSIGNAL | MSG_DONTWAIT) !=
					      (ssize_t)sizeof(m)) {
				close(fd);
				st->sess[i] = -1;
				continue;
			}
			emu_sess_event(s, "session", i, -1, -1, "%s: node session open again",
				       host_label(s, i, b, sizeof(b)));
		}
	}
}

int emu_remote_setup(struct emu_session *s, struct ep_error *err)
{
	const struct emu_remote *r = s->cfg.remote;
	struct emu_remote_state *st = calloc(1, sizeof(*st));
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int one = 1;

	if (!st)
		return ep_error_set(err, EP_ENOMEM, "out of memory for the hosts");
	s->remote = st;
	st->ctl = calloc((size_t)s->n, sizeof(*st->ctl));
	st->data_port = calloc((size_t)s->n, sizeof(*st->data_port));
	st->sess = malloc((size_t)s->n * sizeof(int));
	st->connecting = calloc((size_t)s->n, sizeof(bool));
	st->since = calloc((size_t)s->n, sizeof(double));
	st->slot_dep = malloc((size_t)s->n * EMU_REMOTE_DATA_SLOTS * sizeof(int));
	if (!st->ctl || !st->data_port || !st->sess || !st->connecting || !st->since ||
	    !st->slot_dep)
		return ep_error_set(err, EP_ENOMEM, "out of memory for the hosts");
	for (int i = 0; i < s->n; i++)
		st->sess[i] = -1;
	for (int i = 0; i < s->n * EMU_REMOTE_DATA_SLOTS; i++)
		st->slot_dep[i] = -1;
	for (int i = 0; i < s->n; i++) {
		const struct emu_remote_host *h = &r->hosts[i];
		char b[400];

		st->ctl[i].sin_family = AF_INET;
		st->ctl[i].sin_port = htons(h->port);
		st->data_port[i] = h->data_port ? h->data_port : (uint16_t)(h->port + 1);
		if (!emu_resolve4(h->host, &st->ctl[i].sin_addr))
			return ep_error_set(err, EP_EIO, "%s: the name does not resolve to an IPv4 "
					    "address", host_label(s, i, b, sizeof(b)));
	}
	/* The result listener, then the heartbeat socket on the same port number (UDP). */
	if (!emu_resolve4(r->listen_host, &sa.sin_addr))
		return ep_error_set(err, EP_EINVAL, "--listen '%s': not an IPv4 address or a name "
				    "that resolves to one", r->listen_host);
	sa.sin_port = htons(r->listen_port);
	s->res_ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->res_ls < 0 ||
	    setsockopt(s->res_ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(s->res_ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(s->res_ls, 16) != 0 ||
	    getsockname(s->res_ls, (struct sockaddr *)&sa, &len) != 0)
		return ep_error_set(err, EP_EIO, "result listener on %s:%u: %s",
				    inet_ntoa(sa.sin_addr), r->listen_port, strerror(errno));
	st->port = ntohs(sa.sin_port);
	s->hb_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->hb_fd < 0 || bind(s->hb_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return ep_error_set(err, EP_EIO, "heartbeat socket on %s:%u (UDP): %s",
				    inet_ntoa(sa.sin_addr), st->port, strerror(errno));
	/* Node sessions: each host heartbeats to us while its session is open. */
	for (int i = 0; i < s->n; i++) {
		struct emu_remote_msg m;
		char b[400];

		hello_msg(s, i, &m);
		st->sess[i] = connect_to(&st->ctl[i]);
		if (st->sess[i] < 0 || !send_msg(st->sess[i], &m))
			return ep_error_set(err, EP_EIO, "%s: cannot open its node session: %s "
					    "(is 'edgepipe stage --listen' running there?)",
					    host_label(s, i, b, sizeof(b)), strerror(errno));
		s->nodes[i].last_hb_s = emu_now_s();
		s->nodes[i].share_eff = 1;
	}
	if (s->cfg.progress)
		fprintf(s->cfg.progress, "edgepipe dispatch: %d host(s); results and heartbeats on "
			"port %u\n", s->n, st->port);
	return EP_OK;
}

void emu_remote_teardown(struct emu_session *s)
{
	struct emu_remote_state *st = s->remote;

	if (!st)
		return;
	for (int i = 0; st->sess && i < s->n; i++)
		if (st->sess[i] >= 0)
			close(st->sess[i]);
	free(st->sess);
	free(st->connecting);
	free(st->since);
	free(st->slot_dep);
	free(st->ctl);
	free(st->data_port);
	free(st);
	s->remote = NULL;
}

/*
 * The data port slot of deployment `dep` on `node` (emu_remote.h, "Data ports and updates"):
 * the one it holds, else a slot no running deployment holds (one being stopped next), else
 * the oldest deployment's there.
 */
static int slot_of(const struct emu_session *s, int dep, int node)
{
	int *sl = &s->remote->slot_dep[node * EMU_REMOTE_DATA_SLOTS];
	int best = -1, best_rank = 4;

	for (int k = 0; k < EMU_REMOTE_DATA_SLOTS; k++)
		if (sl[k] == dep)
			return k;
	for (int k = 0; k < EMU_REMOTE_DATA_SLOTS; k++) {
		enum dep_state st = sl[k] >= 0 ? s->dpl.deps[sl[k]].state : DEP_STOPPED;
		int rank = st == DEP_FAILED || st == DEP_STOPPED ? 0 : st == DEP_STOPPING ? 1 : 2;

		if (rank < best_rank || (rank == best_rank && rank == 2 && sl[k] < sl[best])) {
			best = k;
			best_rank = rank;
		}
	}
	sl[best] = dep;
	return best;
}

void emu_remote_data_addr(const struct emu_session *s, int dep, int node, struct sockaddr_in *sa)
{
	*sa = s->remote->ctl[node];
	sa->sin_port = htons((uint16_t)(s->remote->data_port[node] + slot_of(s, dep, node)));
}

/* The model spec of version v as add_version loaded it: the run's, a watched file's
 * (the version owns its graph), or the --update model's. */
static const char *version_spec(const struct emu_session *s, int v)
{
	if (v == 0)
		return s->cfg.model_spec;
	return s->dpl.vers[v].graph ? s->cfg.watch_path : s->cfg.update_spec;
}

int emu_remote_assign(struct emu_session *s, const struct emu_stage_spec *sp,
		      const struct emu_remote_assign_extra *x, char *why, size_t why_size)
{
	const struct emu_remote *r = s->cfg.remote;
	struct emu_remote_state *st = s->remote;
	struct emu_remote_msg m;
	char b[400];
	int fd;

	memset(&m, 0, sizeof(m));
	m.magic = EMU_REMOTE_MAGIC;
	m.kind = EMU_REMOTE_STAGE;
	m.node = sp->node;
	m.deployment = sp->deployment;
	m.index = sp->index;
	m.n_stages = sp->n_stages;
	m.next_node = sp->next_node;
	m.data_port = st->data_port[sp->node] + (uint32_t)slot_of(s, sp->deployment, sp->node);
	if (sp->next_node == s->n) {
		m.next_port = st->port; /* the host reaches us where its connection came from */
	} else {
		m.next_port = st->data_port[sp->next_node] +
			      (uint32_t)slot_of(s, sp->deployment, sp->next_node);
		snprintf(m.next_host, sizeof(m.next_host), "%s", r->hosts[sp->next_node].host);
	}
	m.out_bytes = sp->out_bytes;
	m.flops = x->flops;
	m.speed_flops = x->speed_flops;
	m.report_period_s = sp->report_period_s;
	m.stuck_timeout_s = sp->stuck_timeout_s;
	m.seed = sp->seed;
	snprintf(m.codec, sizeof(m.codec), "%s", sp->codec);
	memcpy(m.in_shape, sp->in_shape, sizeof(m.in_shape));
	memcpy(m.out_shape, sp->out_shape, sizeof(m.out_shape));
	m.in_rank = sp->in_rank;
	m.out_rank = sp->out_rank;
	m.dense_output = sp->dense_output;
	if (sp->weights) {
		int v = s->dpl.deps[sp->deployment].version;
		const char *spec = version_spec(s, v);

		m.real = 1;
		m.seed = s->cfg.seed; /* the weights' seed, as the dispatcher's reference */
		m.first_layer = sp->first_layer;
		m.last_layer = sp->last_layer;
		m.threads = sp->threads;
		/* The version's model: a host whose file is not that one yet waits for it. */
		m.fingerprint = s->dpl.vers[v].g ? model_lprofile_fingerprint(s->dpl.vers[v].g) : 0;
		snprintf(m.model, sizeof(m.model), "%s", spec ? spec : "");
	}
	fd = connect_to(&st->ctl[sp->node]);
	if (fd < 0 || !send_msg(fd, &m)) {
		snprintf(why, why_size, "%s: %s", host_label(s, sp->node, b, sizeof(b)),
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int emu_remote_ctl_recv(int fd, struct emu_ctl_msg *m)
{
	ssize_t k = recv(fd, m, sizeof(*m), MSG_PEEK | MSG_DONTWAIT);

	if (k < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (k <= 0)
		return -1;
	if (k < (ssize_t)sizeof(*m)) {
		/* The rest of the record is on its way, unless the peer has closed. */
		struct pollfd p = { .fd = fd, .events = POLLRDHUP };

		return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) ? -1 : 0;
	}
	return recv(fd, m, sizeof(*m), MSG_DONTWAIT) == (ssize_t)sizeof(*m) ? 1 : -1;
}
