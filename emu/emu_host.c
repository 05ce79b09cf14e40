/*
 * The stage host (emu_remote.h): a control listener, node sessions with their heartbeats,
 * and stage processes (emu_stage_main) forked per assignment, their control sockets relayed
 * to the dispatcher's TCP connections.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emu_internal.h"
#include "emu_remote.h"
#include "emu_stage.h"
#include "model_lprofile.h"
#include "model_weights.h"
#include "model_zoo.h"

#define HOST_MAX_CONN  32
#define HELLO_WAIT_S   5.0  /* the first record of a connection must come by then */
#define CALIBRATE_S    0.15

/* C_WAIT: a stage assignment whose model file here is not yet the dispatcher's version. */
enum conn_kind { C_NEW = 0, C_SESSION, C_STAGE, C_WAIT };

struct conn {
	int fd;
	enum conn_kind kind;
	double since;
	struct sockaddr_in peer;
	/* session */
	struct sockaddr_in hb_to;
	double hb_period_s, next_hb;
	uint64_t hb_seq;
	int node;
	/* stage */
	pid_t pid;      /* the stage process; -1 none */
	int ctl;        /* its control socket (our end); -1 closed */
	int deployment, index;
	uint16_t data_port;
	/* C_WAIT: the assignment, tried again at retry_at */
	struct emu_remote_msg wait_msg;
	double retry_at;
	bool wait_said;
};

/* A model loaded for real compute, kept for the next assignments. */
struct loaded_model {
	char model[EMU_REMOTE_MODEL_MAX];
	uint64_t seed, fingerprint;
	struct model_graph *graph;
	struct model_weights *w;
	uint64_t used; /* the host's use counter when last used: the oldest is replaced */
};

struct host {
	const struct emu_stage_host_config *cfg;
	int ls, hb_fd;
	struct in_addr listen_addr;
	uint16_t data_port;
	struct conn c[HOST_MAX_CONN];
	int n;
	double work_rate;
	pid_t self;
	int stages_ended;
	struct loaded_model models[EMU_REMOTE_MODEL_CACHE];
	uint64_t use;
};

static void say(struct host *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct host *h, const char *fmt, ...)
{
	va_list ap;

	if (!h->cfg->log)
		return;
	fprintf(h->cfg->log, "edgepipe stage%s%s: ", h->cfg->name ? " " : "",
		h->cfg->name ? h->cfg->name : "");
	va_start(ap, fmt);
	vfprintf(h->cfg->log, fmt, ap);
	va_end(ap);
	fputc('\n', h->cfg->log);
	fflush(h->cfg->log);
}

/* ---- parsing ---- */

int emu_remote_addr_parse(const char *s, char *host, size_t size, uint16_t *port,
			  bool allow_zero, struct ep_error *err)
{
	const char *colon = strrchr(s, ':'), *h = s;
	size_t hl;
	char *end;
	long p;

	if (!colon)
		return ep_error_set(err, EP_EINVAL, "'%s': expected HOST:PORT", s);
	hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		h = s + 1;
		hl -= 2;
	}
	if (hl == 0 || hl >= size)
		return ep_error_set(err, EP_EINVAL, "'%s': expected HOST:PORT (host empty or too "
				    "long)", s);
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || p < (allow_zero ? 0 : 1) || p > 65535)
		return ep_error_set(err, EP_EINVAL, "'%s': port '%s' is not %d..65535", s,
				    colon + 1, allow_zero ? 0 : 1);
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (uint16_t)p;
	return EP_OK;
}

/* One --hosts item, NAME=HOST:PORT or HOST:PORT (named nodeK, the item's index), into *hh. */
static int host_item_parse(const char *item, int k, struct emu_remote_host *hh,
			   struct ep_error *err)
{
	const char *eq = strchr(item, '=');
	int rc;

	memset(hh, 0, sizeof(*hh));
	if (eq) {
		size_t nl = (size_t)(eq - item);

		if (nl == 0 || nl >= sizeof(hh->name))
			return ep_error_set(err, EP_EINVAL,
					    "--hosts item '%s': name empty or longer than %zu",
					    item, sizeof(hh->name) - 1);
		memcpy(hh->name, item, nl);
		hh->name[nl] = '\0';
	} else {
		snprintf(hh->name, sizeof(hh->name), "node%d", k);
	}
	rc = emu_remote_addr_parse(eq ? eq + 1 : item, hh->host, sizeof(hh->host), &hh->port, false,
				   err);
	if (rc) {
		char m[sizeof(err->msg)];

		snprintf(m, sizeof(m), "%s", err->msg);
		return ep_error_set(err, EP_EINVAL, "--hosts item %s", m);
	}
	return EP_OK;
}

int emu_remote_hosts_parse(const char *s, struct emu_remote_host **out, int *n,
			   struct ep_error *err)
{
	struct emu_remote_host *v = NULL;
	int cap = 0, k = 0, rc = EP_OK;
	const char *p = s;

	*out = NULL;
	*n = 0;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char item[EMU_REMOTE_HOST_MAX + 80];

		if (len == 0 || len >= sizeof(item)) {
			rc = ep_error_set(err, EP_EINVAL, "--hosts '%s': an empty or too long item", s);
			goto fail;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		if (k == cap) {
			int nc = cap ? 2 * cap : 8;
			struct emu_remote_host *nv = realloc(v, (size_t)nc * sizeof(*nv));

			if (!nv) {
				rc = ep_error_set(err, EP_ENOMEM, "out of memory for the hosts");
				goto fail;
			}
			v = nv;
			cap = nc;
		}
		rc = host_item_parse(item, k, &v[k], err);
		if (rc)
			goto fail;
		for (int j = 0; j < k; j++)
			if (strcmp(v[j].name, v[k].name) == 0) {
				rc = ep_error_set(err, EP_EINVAL,
						  "--hosts: the name '%s' is given twice",
						  v[k].name);
				goto fail;
			}
		k++;
		p += len;
		if (*p == ',' && !*++p) {
			rc = ep_error_set(err, EP_EINVAL, "--hosts '%s': ends with a comma", s);
			goto fail;
		}
	}
	if (k == 0) {
		rc = ep_error_set(err, EP_EINVAL, "--hosts '': expected NAME=HOST:PORT,...");
		goto fail;
	}
	*out = v;
	*n = k;
	return EP_OK;
fail:
	free(v);
	return rc;
}

/* ---- the host ---- */

static void conn_close(struct host *h, int i)
{
	struct conn *c = &h->c[i];

	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		h->stages_ended++;
		say(h, "deployment %d stage %d stopped", c->deployment, c->index);
	}
	if (c->ctl >= 0)
		close(c->ctl);
	if (c->fd >= 0)
		close(c->fd);
	if (c->kind == C_SESSION)
		say(h, "node session (node %d) closed", c->node);
	h->c[i] = h->c[--h->n];
}

/* Read one whole record of `size` bytes if the socket has it: 1 read, 0 not yet, -1 closed. */
static int read_record(int fd, void *buf, size_t size)
{
	ssize_t k = recv(fd, buf, size, MSG_PEEK | MSG_DONTWAIT);

	if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
		return -1;
	if (k < (ssize_t)size) {
		/* The rest is on its way, unless the peer has closed. */
		struct pollfd p = { .fd = fd, .events = POLLRDHUP };

		return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) ? -1 : 0;
	}
	return recv(fd, buf, size, MSG_DONTWAIT) == (ssize_t)size ? 1 : -1;
}

static void send_record(int fd, const void *buf, size_t size)
{
	size_t off = 0;

	/* Small records on a socket the peer reads: a short wait at most. */
	while (off < size) {
		ssize_t k = send(fd, (const char *)buf + off, size - off, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			if (poll(&p, 1, 1000) <= 0)
				return;
			continue;
		}
		if (k <= 0)
			return;
		off += (size_t)k;
	}
}

static void ctl_error(int fd, const char *fmt, const char *detail)
{
	struct emu_ctl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = EMU_CTL_ERROR;
	m.peer = -1;
	snprintf(m.text, sizeof(m.text), fmt, detail);
	send_record(fd, &m, sizeof(m));
}

static void model_unload(struct loaded_model *m)
{
	model_weights_destroy(m->w);
	model_graph_destroy(m->graph);
	memset(m, 0, sizeof(*m));
}

/*
 * Real compute: the model and its seeded weights, from the cache or loaded into its oldest
 * entry. With `fingerprint` (not 0) the model must have that structure: *other (when not
 * NULL) is set to the fingerprint found instead, and NULL is returned with no error.
 */
static struct loaded_model *load_model(struct host *h, const char *model, uint64_t seed,
				       uint64_t fingerprint, uint64_t *other, struct ep_error *err)
{
	struct loaded_model *m = &h->models[0];
	int rc;

	*other = 0;
	for (int i = 0; i < EMU_REMOTE_MODEL_CACHE; i++) {
		struct loaded_model *c = &h->models[i];

		if (c->w && strcmp(c->model, model) == 0 && c->seed == seed &&
		    (!fingerprint || c->fingerprint == fingerprint)) {
			c->used = ++h->use;
			return c;
		}
		if (c->used < m->used)
			m = c;
	}
	model_unload(m);
	/* The weights the dispatcher checks answers against (emu's real_prepare). */
	if ((rc = model_zoo_open(model, &m->graph, err)))
		return NULL;
	m->fingerprint = model_lprofile_fingerprint(m->graph);
	if (fingerprint && m->fingerprint != fingerprint) {
		/* The file here is another model (not yet the dispatcher's version). */
		*other = m->fingerprint;
		model_unload(m);
		return NULL;
	}
	if ((rc = model_zoo_weights_open(model, m->graph, seed, &m->w, err))) {
		model_unload(m);
		return NULL;
	}
	snprintf(m->model, sizeof(m->model), "%s", model);
	m->seed = seed;
	m->used = ++h->use;
	return m;
}

/* The stage's spec from assignment m on connection c, its compute as busy work (real compute
 * is attach_model's). false: the assignment is refused (the dispatcher is told why). */
static bool spec_fill(const struct host *h, const struct conn *c, const struct emu_remote_msg *m,
		      struct emu_stage_spec *sp)
{
	memset(sp, 0, sizeof(*sp));
	sp->deployment = m->deployment;
	sp->index = m->index;
	sp->n_stages = m->n_stages;
	sp->node = m->node;
	sp->next_node = m->next_node;
	sp->listen_addr = h->listen_addr;
	if (m->data_port < h->data_port ||
	    m->data_port >= (uint32_t)h->data_port + EMU_REMOTE_DATA_SLOTS) {
		char port[16];

		snprintf(port, sizeof(port), "%u", m->data_port);
		ctl_error(c->fd, "data port %s is not one of this host's", port);
		return false;
	}
	sp->listen_port = (uint16_t)m->data_port;
	if (m->next_host[0]) {
		char nh[EMU_REMOTE_HOST_MAX];

		snprintf(nh, sizeof(nh), "%.*s", (int)sizeof(m->next_host) - 1, m->next_host);
		if (!emu_resolve4(nh, &sp->next_addr)) {
			ctl_error(c->fd, "cannot resolve the next hop '%.120s'", nh);
			return false;
		}
	} else {
		sp->next_addr = c->peer.sin_addr;
	}
	sp->next_port = (uint16_t)m->next_port;
	sp->out_bytes = m->out_bytes;
	sp->work_rate = h->work_rate;
	sp->work_iters =
		m->speed_flops > 0 && m->flops > 0 ? m->flops / m->speed_flops * h->work_rate : 0;
	if (m->in_rank < 0 || m->in_rank > EMU_CODEC_MAX_RANK || m->out_rank < 0 ||
	    m->out_rank > EMU_CODEC_MAX_RANK) {
		ctl_error(c->fd, "tensor ranks out of range (%s)", "assignment");
		return false;
	}
	snprintf(sp->codec, sizeof(sp->codec), "%.*s", (int)sizeof(m->codec) - 1, m->codec);
	memcpy(sp->in_shape, m->in_shape, sizeof(sp->in_shape));
	memcpy(sp->out_shape, m->out_shape, sizeof(sp->out_shape));
	sp->in_rank = m->in_rank;
	sp->out_rank = m->out_rank;
	sp->dense_output = m->dense_output != 0;
	sp->report_period_s = m->report_period_s;
	sp->stuck_timeout_s = m->stuck_timeout_s;
	sp->seed = m->seed;
	return true;
}

enum attach { ATTACH_OK, ATTACH_WAIT, ATTACH_FAIL };

/* Real compute: the model's weights and layers into *sp. ATTACH_WAIT: the model file here is
 * not yet the dispatcher's version, connection i waits (C_WAIT) and tries again until it is,
 * or until the dispatcher gives this deployment up (closes the connection). ATTACH_FAIL: the
 * assignment is refused (the dispatcher is told why). */
static enum attach attach_model(struct host *h, int i, const struct emu_remote_msg *m,
				struct emu_stage_spec *sp)
{
	struct conn *c = &h->c[i];
	char model[EMU_REMOTE_MODEL_MAX];
	const struct loaded_model *lm;
	struct ep_error e;
	uint64_t other;

	snprintf(model, sizeof(model), "%.*s", (int)sizeof(m->model) - 1, m->model);
	lm = load_model(h, model, m->seed, m->fingerprint, &other, &e);
	if (!lm && other) {
		if (c->kind != C_WAIT)
			c->wait_msg = *m;
		if (!c->wait_said)
			say(h,
			    "deployment %d stage %d: '%s' here is model %016llx, not the "
			    "dispatcher's %016llx: waiting for it to change",
			    m->deployment, m->index, model, (unsigned long long)other,
			    (unsigned long long)m->fingerprint);
		c->wait_said = true;
		c->kind = C_WAIT;
		c->retry_at = emu_now_s() + EMU_REMOTE_MODEL_RETRY_S;
		return ATTACH_WAIT;
	}
	if (!lm) {
		ctl_error(c->fd, "cannot load the model: %.160s", e.msg);
		return ATTACH_FAIL;
	}
	sp->weights = lm->w;
	sp->first_layer = m->first_layer;
	sp->last_layer = m->last_layer;
	sp->threads = h->cfg->threads > 0 ? h->cfg->threads : m->threads > 0 ? m->threads : 1;
	sp->work_iters = 0;
	return ATTACH_OK;
}

/* A data port runs one stage: the one on `port` (other than connection i's) gives it up (a
 * stage of another deployment on another port, the old version during an update, goes on). */
static void port_take_over(struct host *h, int i, uint16_t port)
{
	for (int j = 0; j < h->n; j++) {
		struct conn *o = &h->c[j];

		if (j == i || o->kind != C_STAGE || o->pid <= 0 || o->data_port != port)
			continue;
		say(h, "deployment %d stage %d replaced", o->deployment, o->index);
		kill(o->pid, SIGKILL);
		waitpid(o->pid, NULL, 0);
		o->pid = -1;
		h->stages_ended++;
		close(o->fd); /* its dispatcher sees the stage go */
		o->fd = -1;
	}
}

/* Fork the stage process of spec sp for assignment m on connection i, its control socket kept
 * here (the relay's). false: the assignment is refused (the dispatcher is told why). */
static bool stage_fork(struct host *h, int i, const struct emu_remote_msg *m,
		       struct emu_stage_spec *sp)
{
	struct conn *c = &h->c[i];
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		ctl_error(c->fd, "socketpair: %s", strerror(errno));
		return false;
	}
	sp->ctl_fd = sv[1];
	sp->controller = h->self;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		ctl_error(c->fd, "fork: %s", strerror(errno));
		return false;
	}
	if (pid == 0)
		_exit(emu_stage_main(sp));
	close(sv[1]);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	c->kind = C_STAGE;
	c->pid = pid;
	c->ctl = sv[0];
	c->deployment = m->deployment;
	c->index = m->index;
	c->data_port = sp->listen_port;
	say(h, "deployment %d stage %d of %d (node %d): layers %d..%d, data port %u, next %s:%u",
	    m->deployment, m->index, m->n_stages, m->node, m->first_layer, m->last_layer,
	    sp->listen_port, m->next_host[0] ? m->next_host : "dispatcher", m->next_port);
	return true;
}

/* A STAGE assignment on connection i: set up and fork the stage. false: close it. */
static bool start_stage(struct host *h, int i, const struct emu_remote_msg *m)
{
	struct emu_stage_spec sp;

	if (!spec_fill(h, &h->c[i], m, &sp))
		return false;
	if (m->real) {
		enum attach a = attach_model(h, i, m, &sp);

		if (a != ATTACH_OK)
			return a == ATTACH_WAIT;
	}
	port_take_over(h, i, sp.listen_port);
	return stage_fork(h, i, m, &sp);
}

/* The first record of connection i. false: close it. */
static bool first_record(struct host *h, int i)
{
	struct conn *c = &h->c[i];
	struct emu_remote_msg m;
	int k = read_record(c->fd, &m, sizeof(m));

	if (k == 0)
		return true;
	if (k < 0 || m.magic != EMU_REMOTE_MAGIC)
		return false;
	m.next_host[sizeof(m.next_host) - 1] = '\0';
	m.model[sizeof(m.model) - 1] = '\0';
	if (m.kind == EMU_REMOTE_HELLO) {
		if (!(m.hb_period_s > 0) || m.hb_port == 0 || m.hb_port > 65535)
			return false;
		c->kind = C_SESSION;
		c->node = m.node;
		c->hb_to = c->peer;
		c->hb_to.sin_port = htons((uint16_t)m.hb_port);
		c->hb_period_s = m.hb_period_s;
		c->next_hb = emu_now_s();
		say(h, "node session: node %d, heartbeats every %g s to %s:%u", m.node,
		    m.hb_period_s, inet_ntoa(c->peer.sin_addr), m.hb_port);
		return true;
	}
	if (m.kind == EMU_REMOTE_STAGE)
		return start_stage(h, i, &m);
	return false;
}

/* The stage process's control messages to the dispatcher; false when it ended. */
static bool relay_up(struct host *h, int i)
{
	struct conn *c = &h->c[i];

	for (;;) {
		struct emu_ctl_msg m;
		ssize_t k = recv(c->ctl, &m, sizeof(m), MSG_DONTWAIT);

		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			return true;
		if (k <= 0) {
			int st = 0;

			waitpid(c->pid, &st, 0);
			say(h, "deployment %d stage %d ended (%s %d)", c->deployment, c->index,
			    WIFSIGNALED(st) ? "signal" : "status",
			    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
			c->pid = -1;
			h->stages_ended++;
			return false;
		}
		if (k == (ssize_t)sizeof(m) && c->fd >= 0)
			send_record(c->fd, &m, sizeof(m));
	}
}

/* The dispatcher's messages to the stage (STOP); false when the dispatcher closed. */
static bool relay_down(struct host *h, int i)
{
	struct conn *c = &h->c[i];

	(void)h;
	for (;;) {
		struct emu_ctl_msg m;
		int k = read_record(c->fd, &m, sizeof(m));

		if (k == 0)
			return true;
		if (k < 0)
			return false;
		if (c->ctl >= 0)
			send(c->ctl, &m, sizeof(m), MSG_NOSIGNAL | MSG_DONTWAIT);
	}
}

static void heartbeats(struct host *h, double now)
{
	for (int i = 0; i < h->n; i++) {
		struct conn *c = &h->c[i];
		struct emu_heartbeat_msg m = { .magic = EMU_HEARTBEAT_MAGIC };

		if (c->kind != C_SESSION || now < c->next_hb)
			continue;
		m.node = c->node;
		m.seq = ++c->hb_seq;
		m.sent_ns = emu_now_ns();
		sendto(h->hb_fd, &m, sizeof(m), MSG_DONTWAIT, (struct sockaddr *)&c->hb_to,
		       sizeof(c->hb_to));
		c->next_hb += c->hb_period_s;
		if (c->next_hb < now)
			c->next_hb = now + c->hb_period_s;
	}
}

static double next_wake(const struct host *h, double now)
{
	double t = now + 0.5;

	for (int i = 0; i < h->n; i++) {
		if (h->c[i].kind == C_SESSION)
			t = fmin(t, h->c[i].next_hb);
		if (h->c[i].kind == C_NEW)
			t = fmin(t, h->c[i].since + HELLO_WAIT_S);
		if (h->c[i].kind == C_WAIT)
			t = fmin(t, h->c[i].retry_at);
	}
	return t;
}

/* Connections that said nothing in time, assignments whose wait for their model is over
 * (tried again), stage connections whose process and dispatcher are both gone: closed. */
static void conns_tidy(struct host *h, double now)
{
	for (int i = 0; i < h->n;)
		if (h->c[i].kind == C_NEW && now - h->c[i].since > HELLO_WAIT_S)
			conn_close(h, i);
		else if (h->c[i].kind == C_WAIT && now >= h->c[i].retry_at &&
			 !start_stage(h, i, &h->c[i].wait_msg))
			conn_close(h, i);
		else if (h->c[i].kind == C_STAGE && h->c[i].pid <= 0 && h->c[i].fd < 0)
			conn_close(h, i);
		else
			i++;
}

/* Who a polled descriptor belongs to: WHO_STOP, WHO_LISTEN, or a connection's index with
 * `ctl` telling its stage's control socket from its TCP connection. */
enum { WHO_STOP = -1, WHO_LISTEN = -2 };

struct host_poll {
	struct pollfd pfd[2 + 2 * HOST_MAX_CONN];
	struct {
		int conn;
		bool ctl;
	} who[2 + 2 * HOST_MAX_CONN];
	int n;
};

static void host_poll_add(struct host_poll *ps, int fd, int conn, bool ctl)
{
	ps->pfd[ps->n] = (struct pollfd){.fd = fd, .events = POLLIN};
	ps->who[ps->n].conn = conn;
	ps->who[ps->n++].ctl = ctl;
}

static void host_poll_build(const struct host *h, struct host_poll *ps)
{
	ps->n = 0;
	if (h->cfg->stop_fd >= 0)
		host_poll_add(ps, h->cfg->stop_fd, WHO_STOP, false);
	host_poll_add(ps, h->ls, WHO_LISTEN, false);
	for (int i = 0; i < h->n; i++) {
		if (h->c[i].fd >= 0)
			host_poll_add(ps, h->c[i].fd, i, false);
		if (h->c[i].ctl >= 0)
			host_poll_add(ps, h->c[i].ctl, i, true);
	}
}

/* A new connection: its first record says what it is (first_record). */
static void host_accept(struct host *h)
{
	struct sockaddr_in peer;
	socklen_t len = sizeof(peer);
	int fd = accept4(h->ls, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int one = 1;

	if (fd < 0)
		return;
	if (h->n == HOST_MAX_CONN) {
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	h->c[h->n] = (struct conn){
		.fd = fd, .kind = C_NEW, .since = emu_now_s(), .peer = peer, .pid = -1, .ctl = -1};
	h->n++;
}

/* Connection i's descriptor polled ready with `revents` (its stage's control socket when ctl).
 * false: close the connection. */
static bool conn_ready(struct host *h, int i, bool ctl, short revents)
{
	struct conn *c = &h->c[i];

	if (ctl) {
		if (relay_up(h, i))
			return true;
		close(c->ctl);
		c->ctl = -1;
		return false; /* its dispatcher sees the stage go */
	}
	if (c->kind == C_NEW)
		return first_record(h, i);
	if (c->kind == C_SESSION) {
		char b[64];

		return !(recv(c->fd, b, sizeof(b), MSG_DONTWAIT) == 0 ||
			 (revents & (POLLERR | POLLHUP)));
	}
	return relay_down(h, i);
}

/* Hand each descriptor that polled ready to its owner. false: the stop descriptor is ready. */
static bool host_poll_dispatch(struct host *h, const struct host_poll *ps)
{
	/* Connection indices move when one closes: mark, then close. */
	bool drop[HOST_MAX_CONN] = {false};
	int n0 = h->n;

	for (int j = 0; j < ps->n; j++) {
		int i = ps->who[j].conn;

		if (!ps->pfd[j].revents)
			continue;
		if (i == WHO_STOP)
			return false;
		if (i == WHO_LISTEN)
			host_accept(h);
		else if (i < n0 && !drop[i] &&
			 !conn_ready(h, i, ps->who[j].ctl, ps->pfd[j].revents))
			drop[i] = true;
	}
	for (int i = n0 - 1; i >= 0; i--)
		if (drop[i])
			conn_close(h, i);
	return true;
}

/* The host's event loop: heartbeats and tidying, poll until the next due time, hand what is
 * ready to its owner. EP_OK: stopped (stop_fd, or max_stages ended); EP_EIO: poll failed. */
static int host_loop(struct host *h)
{
	struct host_poll ps;

	for (;;) {
		double now = emu_now_s(), wait;
		int rc;

		heartbeats(h, now);
		conns_tidy(h, now);
		if (h->cfg->max_stages > 0 && h->stages_ended >= h->cfg->max_stages)
			return EP_OK;
		host_poll_build(h, &ps);
		wait = next_wake(h, now) - now;
		rc = poll(ps.pfd, (nfds_t)ps.n, wait > 0 ? (int)ceil(wait * 1000) : 0);
		if (rc < 0 && errno != EINTR)
			return EP_EIO;
		if (rc <= 0)
			continue;
		if (!host_poll_dispatch(h, &ps))
			return EP_OK;
	}
}

int emu_stage_host_run(const struct emu_stage_host_config *cfg, struct ep_error *err)
{
	struct host *h = calloc(1, sizeof(*h));
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int one = 1, rc = EP_OK;

	if (!h)
		return ep_error_set(err, EP_ENOMEM, "out of memory for the stage host");
	h->cfg = cfg;
	h->ls = h->hb_fd = -1;
	h->self = getpid();
	h->data_port = cfg->data_port ? cfg->data_port : (uint16_t)(cfg->port + 1);
	if (cfg->port == 0 || h->data_port == 0 ||
	    (int)h->data_port > 65536 - EMU_REMOTE_DATA_SLOTS) {
		rc = ep_error_set(err, EP_EINVAL, "control port %u, data port %u: the control port "
				  "must be 1..65535, the data port 1..%d (its %d ports in range)",
				  cfg->port, h->data_port, 65536 - EMU_REMOTE_DATA_SLOTS,
				  EMU_REMOTE_DATA_SLOTS);
		goto out;
	}
	if (!emu_resolve4(cfg->listen_host, &h->listen_addr)) {
		rc = ep_error_set(err, EP_EINVAL, "--listen '%s': not an IPv4 address or a host "
				  "name that resolves to one", cfg->listen_host);
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	h->ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	sa.sin_addr = h->listen_addr;
	sa.sin_port = htons(cfg->port);
	if (h->ls < 0 || setsockopt(h->ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(h->ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(h->ls, 16) != 0) {
		rc = ep_error_set(err, EP_EIO, "cannot listen on %s:%u: %s", inet_ntoa(sa.sin_addr),
				  cfg->port, strerror(errno));
		goto out;
	}
	h->hb_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (h->hb_fd < 0) {
		rc = ep_error_set(err, EP_EIO, "heartbeat socket: %s", strerror(errno));
		goto out;
	}
	/* Busy work (--compute model) is FLOPs / the node's speed in this host's multiply-adds. */
	h->work_rate = emu_work_calibrate(CALIBRATE_S);
	say(h, "listening on %s:%u (control), data port %u", inet_ntoa(h->listen_addr), cfg->port,
	    h->data_port);
	rc = host_loop(h);
	if (rc)
		ep_error_set(err, rc, "poll: %s", strerror(errno));
out:
	while (h->n > 0)
		conn_close(h, h->n - 1);
	if (h->ls >= 0)
		close(h->ls);
	if (h->hb_fd >= 0)
		close(h->hb_fd);
	for (int i = 0; i < EMU_REMOTE_MODEL_CACHE; i++)
		model_unload(&h->models[i]);
	free(h);
	return rc;
}
