/*
 * An emulator run: set-up, the event loop, teardown and the report (emu_session.h). The
 * dispatcher is in emu_dispatch.c, deployments, faults and recovery in emu_recovery.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emu_internal.h"
#include "emu_session_internal.h"
#include "emu_stage.h"

#define LOOP_MAX_WAIT_S 0.05  /* the loop looks around at least this often */
#define START_TIMEOUT_S 10.0  /* heartbeats and the first deployment */
#define STOP_GRACE_S    1.0   /* stages reporting their last counters */
#define CALIBRATE_S     0.15

static const char *const arrival_names[] = { "closed", "poisson", "constant" };

const char *emu_arrival_name(enum emu_arrival a)
{
	return (unsigned)a <= EMU_CONSTANT ? arrival_names[a] : "?";
}

struct emu_config emu_config_default(void)
{
	struct emu_config c;

	memset(&c, 0, sizeof(c));
	c.arrival = EMU_CLOSED;
	c.window = 1;
	c.rate = 1;
	c.requests = 100;
	c.compute = true;
	c.heartbeat_period_s = 0.1;
	c.heartbeat_timeout_s = 0.5;
	c.retry_timeout_s = 30;
	c.deploy_timeout_s = 10;
	c.giveup_s = 10;
	c.algo_options = ALGO_OPTIONS_DEFAULT;
	c.seed = 1;
	c.profile_options = MODEL_PROFILE_OPTIONS_DEFAULT;
	c.bin_s = 1;
	c.probes = 5;
	c.stop_fd = -1;
	c.status_period_s = 10;
	c.threads = 1;
	c.real_inputs = 4;
	return c;
}

static void event_v(struct emu_session *s, double t, const char *kind, int node, int peer,
		    int deploy, const char *fmt, va_list ap)
{
	struct emu_event *e;

	if (s->n_events == s->cap_events) {
		int cap = s->cap_events ? 2 * s->cap_events : 64;
		struct emu_event *nv = realloc(s->events, (size_t)cap * sizeof(*nv));

		if (!nv)
			return; /* an event lost to memory is not worth failing the run */
		s->events = nv;
		s->cap_events = cap;
	}
	e = &s->events[s->n_events++];
	e->t_s = t; /* absolute until the report */
	snprintf(e->kind, sizeof(e->kind), "%s", kind);
	e->node = node;
	e->peer = peer;
	e->deployment = deploy;
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	if (s->cfg.progress) {
		double t0 = s->t0_s > 0 ? s->t0_s : s->t_begin_s;

		fprintf(s->cfg.progress, "edgepipe emu: %8.3f s  %-9s %s\n", e->t_s - t0, kind,
			e->text);
		fflush(s->cfg.progress);
	}
}

void emu_sess_event(struct emu_session *s, const char *kind, int node, int peer, int deploy,
		    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	event_v(s, emu_now_s(), kind, node, peer, deploy, fmt, ap);
	va_end(ap);
}

void emu_sess_event_at(struct emu_session *s, double t, const char *kind, int node, int peer,
		       int deploy, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	event_v(s, t, kind, node, peer, deploy, fmt, ap);
	va_end(ap);
}

int emu_sess_socket_d(struct emu_session *s, int type)
{
	int fd, e;

	if (s->cfg.remote) /* real hosts: the dispatcher is where the controller is */
		return socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (setns(s->d_ns, CLONE_NEWNET) != 0)
		return -1;
	fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	e = errno;
	/* Back home: a failure here would leave the controller in the wrong namespace. */
	if (setns(s->self_ns, CLONE_NEWNET) != 0) {
		if (fd >= 0)
			close(fd);
		emu_sess_fail(s, EP_EIO, "returning to the controller's namespace: %s",
			      strerror(errno));
		return -1;
	}
	errno = e;
	return fd;
}

static bool stop_requested(const struct emu_session *s)
{
	struct pollfd p = { .fd = s->cfg.stop_fd, .events = POLLIN };

	return s->cfg.stop_fd >= 0 && poll(&p, 1, 0) == 1;
}

/* ---- create and destroy ---- */

static int check_config(const struct emu_config *c, const struct problem *p,
			struct ep_error *err)
{
	if (c->requests < 1)
		return ep_error_set(err, EP_EINVAL, "requests %lld: at least 1",
				    (long long)c->requests);
	if (c->warmup_requests < 0 || c->warmup_requests >= c->requests)
		return ep_error_set(err, EP_EINVAL, "warm-up %lld: must be below the %lld requests",
				    (long long)c->warmup_requests, (long long)c->requests);
	if (c->arrival == EMU_CLOSED && c->window < 1)
		return ep_error_set(err, EP_EINVAL, "window %d: at least 1", c->window);
	if (c->arrival != EMU_CLOSED && !(c->rate > 0 && isfinite(c->rate)))
		return ep_error_set(err, EP_EINVAL, "rate %g: must be positive", c->rate);
	if (!(c->heartbeat_period_s > 0) || !(c->heartbeat_timeout_s >= c->heartbeat_period_s))
		return ep_error_set(err, EP_EINVAL,
				    "heartbeat timeout %g s must be at least the period %g s (> 0)",
				    c->heartbeat_timeout_s, c->heartbeat_period_s);
	if (!(c->deploy_timeout_s > 0) || !(c->giveup_s > 0) || !(c->bin_s > 0) ||
	    c->retry_timeout_s < 0 || (c->status && !(c->status_period_s > 0)))
		return ep_error_set(err, EP_EINVAL, "deploy timeout, give-up time and bin must be "
						    "positive, the retry timeout not negative");
	if (c->real && (c->compute || !c->graph || c->threads < 1 || c->threads > 256 ||
			c->real_inputs < 1 || (c->update_profile && !c->update_graph)))
		return ep_error_set(err, EP_EINVAL, "real compute needs the model graph (and the "
				    "update's), 1 to 256 threads, at least one image, and no busy "
				    "work (threads %d, images %d)", c->threads, c->real_inputs);
	if (c->probes < 0 || c->probes > 1000)
		return ep_error_set(err, EP_EINVAL, "probes %d: 0 to 1000", c->probes);
	if (!c->algo)
		return ep_error_set(err, EP_EINVAL, "no algorithm to re-plan with");
	if (c->remote && c->remote->n != p->cluster->n)
		return ep_error_set(err, EP_EINVAL, "%d host(s) for a cluster of %d nodes: node i "
				    "runs on the i-th host", c->remote->n, p->cluster->n);
	if (c->remote && c->n_faults > 0)
		return ep_error_set(err, EP_EINVAL, "real hosts take no emulated faults");
	for (int i = 0; i < c->n_faults; i++) {
		const struct timeline_fault *f = &c->faults[i];

		if ((f->a.kind == TIMELINE_NODE && f->a.index >= p->cluster->n) ||
		    (f->pair && f->b.kind == TIMELINE_NODE && f->b.index >= p->cluster->n))
			return ep_error_set(err, EP_EINVAL, "fault '%s': the cluster has node0 .. "
							    "node%d", f->text, p->cluster->n - 1);
	}
	return EP_OK;
}

int emu_session_create(const struct problem *p, const struct plan *plan,
		       const struct emu_config *cfg, struct emu_session **out,
		       struct ep_error *err)
{
	struct emu_session *s;
	int rc;

	*out = NULL;
	if ((rc = check_config(cfg, p, err)))
		return rc;
	if ((rc = plan_check(p, plan, NULL, err)))
		return rc;
	s = calloc(1, sizeof(*s));
	if (!s)
		return ep_error_set(err, EP_ENOMEM, "out of memory for a session");
	s->cfg = *cfg;
	s->p0 = p;
	s->cl = p->cluster;
	s->n = p->cluster->n;
	s->self_ns = s->d_ns = s->hb_fd = s->res_ls = -1;
	plan_init(&s->plan0);
	if (plan_copy(&s->plan0, plan) != EP_OK) {
		emu_session_destroy(s);
		return ep_error_set(err, EP_ENOMEM, "out of memory for a session");
	}
	if ((rc = emu_dispatch_codec_create(s, err))) {
		emu_session_destroy(s);
		return rc;
	}
	*out = s;
	return EP_OK;
}

void emu_session_destroy(struct emu_session *s)
{
	if (!s)
		return;
	emu_timeline_release(s);
	emu_dispatch_release(s);
	emu_recovery_release(s);
	plan_release(&s->plan0);
	free(s->cpu_a);
	free(s->cpu_b);
	free(s->energy);
	free(s->events);
	free(s->urec);
	free(s->series);
	free(s->rreq);
	free(s->rstage);
	free(s->rlink);
	free(s->rdep);
	free(s);
}

const struct emu_report *emu_session_report(const struct emu_session *s)
{
	return &s->rep;
}

/* ---- set-up ---- */

/* The cgroup of each node: CPU share from its speed, memory cap = its memory. */
static int make_cgroups(struct emu_session *s, struct ep_error *err)
{
	bool cpu = s->caps.have[EMU_CAP_CGROUP_CPU], mem = s->caps.have[EMU_CAP_CGROUP_MEMORY];
	double host = 2 * s->work_rate; /* FLOP/s of one core */
	int rc;

	s->rep.cgroup_cpu_version = 0;
	s->rep.cgroup_memory_version = 0;
	for (int i = 0; i < s->n; i++) {
		double speed = s->cl->speed_flops[i];

		s->nodes[i].share = cpu && speed > 0 ? fmin(1.0, speed / host) : 0;
		/* Real compute: a node of speed factor f gets f of one core. */
		if (s->cfg.real)
			s->nodes[i].share = cpu && s->cl->speed_factor && s->cl->speed_factor[i] > 0
						    ? fmin(1.0, s->cl->speed_factor[i])
						    : 0;
		if (s->nodes[i].share >= 1.0)
			s->nodes[i].share = 0; /* a node as fast as a core or faster: no cap */
		s->nodes[i].share_eff = s->nodes[i].share > 0 ? s->nodes[i].share : 1.0;
	}
	if (!cpu && !mem)
		return EP_OK;
	rc = emu_cgroups_create(s->reg, &s->caps, &s->cgs, err);
	if (rc)
		return rc;
	for (int i = 0; i < s->n; i++) {
		struct emu_cgroup_limits lim = { 0 };
		char name[16];

		lim.cpu_share = s->nodes[i].share;
		lim.mem_bytes = mem ? s->cl->mem_bytes[i] : 0;
		snprintf(name, sizeof(name), "n%d", i);
		rc = emu_cgroup_create(s->cgs, name, &lim, &s->nodes[i].cg, err);
		if (rc)
			return rc;
		if (lim.cpu_share > 0)
			s->rep.cgroup_cpu_version = emu_cgroup_cpu_version(s->nodes[i].cg);
		if (lim.mem_bytes > 0)
			s->rep.cgroup_memory_version = emu_cgroup_memory_version(s->nodes[i].cg);
	}
	return EP_OK;
}

/* The dispatcher's heartbeat socket and result listener. */
static int make_sockets(struct emu_session *s, struct ep_error *err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char a[INET_ADDRSTRLEN];
	int one = 1;

	s->self_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	s->d_ns = emu_netns_open(emu_net_ns_name(s->net, s->n));
	if (s->self_ns < 0 || s->d_ns < 0)
		return ep_error_set(err, EP_EIO, "opening the namespaces of the controller and the "
						 "dispatcher: %s", strerror(s->d_ns < 0 ? -s->d_ns
										       : errno));
	sa.sin_addr = emu_net_addr(s->net, s->n);
	emu_net_addr_str(s->net, s->n, a, sizeof(a));
	s->hb_fd = emu_sess_socket_d(s, SOCK_DGRAM);
	sa.sin_port = htons(EMU_HEARTBEAT_PORT);
	if (s->hb_fd < 0 || bind(s->hb_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return ep_error_set(err, EP_EIO, "heartbeat socket on %s:%d: %s", a,
				    EMU_HEARTBEAT_PORT, strerror(errno));
	s->res_ls = emu_sess_socket_d(s, SOCK_STREAM);
	sa.sin_port = htons(EMU_RESULT_PORT);
	if (s->res_ls < 0 ||
	    setsockopt(s->res_ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(s->res_ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(s->res_ls, 16) != 0)
		return ep_error_set(err, EP_EIO, "result listener on %s:%d: %s", a, EMU_RESULT_PORT,
				    strerror(errno));
	return EP_OK;
}

static int spawn_heartbeaters(struct emu_session *s, struct ep_error *err)
{
	for (int i = 0; i < s->n; i++) {
		struct emu_heartbeat_spec hs = {
			.node = i,
			.to = emu_net_addr(s->net, s->n),
			.port = EMU_HEARTBEAT_PORT,
			.period_s = s->cfg.heartbeat_period_s,
			.controller = s->self,
		};
		int rc = emu_net_spawn(s->net, i, s->nodes[i].cg, emu_heartbeat_main, &hs,
				       &s->nodes[i].hb_pid, err);

		if (rc)
			return rc;
		s->nodes[i].last_hb_s = emu_now_s();
	}
	return EP_OK;
}

/* Faults the host cannot emulate are refused before anything is created. */
static int check_faults(struct emu_session *s, struct ep_error *err)
{
	bool ipt = s->caps.have[EMU_CAP_IPTABLES_STATISTIC], netem = s->caps.have[EMU_CAP_NETEM];

	for (int i = 0; i < s->cfg.n_faults; i++) {
		const struct timeline_fault *f = &s->cfg.faults[i];

		if (f->kind == TIMELINE_LINK_DOWN && !ipt)
			return ep_error_set(err, EP_EIO, "fault '%s': a link cut needs iptables (%s)",
					    f->text, s->caps.why[EMU_CAP_IPTABLES_STATISTIC]);
		if (f->kind == TIMELINE_LOSS && !ipt && !netem)
			return ep_error_set(err, EP_EIO, "fault '%s': loss needs netem or the iptables "
							 "statistic match, and both are missing",
					    f->text);
	}
	return EP_OK;
}

static int setup(struct emu_session *s, struct ep_error *err)
{
	int rc;

	s->self = getpid();
	s->old_slack = prctl(PR_GET_TIMERSLACK);
	prctl(PR_SET_TIMERSLACK, 1UL); /* the answers' latency holds, as in the stages */
	if (s->cfg.remote) {
		/* Real hosts: no namespaces, links, cgroups or registry. */
		s->work_rate = emu_work_calibrate(CALIBRATE_S);
		s->rep.host_flops = 2 * s->work_rate;
		emu_random_base36(s->rep.run_id, 8);
		return emu_remote_setup(s, err);
	}
	if (emu_registry_note_stale(s->cfg.state_dir, s->rep.stale_note,
				    sizeof(s->rep.stale_note), NULL) > 0 && s->cfg.progress)
		fprintf(s->cfg.progress, "edgepipe emu: %s\n", s->rep.stale_note);
	if ((rc = emu_caps_detect(&s->caps, err)) || (rc = emu_caps_require_net(&s->caps, err)))
		return rc;
	emu_caps_describe(&s->caps, s->rep.missing, sizeof(s->rep.missing));
	if ((rc = check_faults(s, err)))
		return rc;
	/* Before any process of ours competes for the CPU. */
	s->work_rate = emu_work_calibrate(CALIBRATE_S);
	s->rep.host_flops = 2 * s->work_rate;
	if (stop_requested(s))
		return EP_OK;
	if ((rc = emu_registry_create(s->cfg.state_dir, &s->reg, err)))
		return rc;
	snprintf(s->rep.run_id, sizeof(s->rep.run_id), "%s", emu_registry_run_id(s->reg));
	if ((rc = emu_net_create(s->reg, &s->caps, s->cl, &s->cfg.net, &s->net, err)))
		return rc;
	for (int p = 0; p < EMU_PROP_COUNT_; p++)
		s->rep.mech[p] = emu_net_mech(s->net, (enum emu_prop)p);
	if (stop_requested(s))
		return EP_OK;
	if ((rc = make_cgroups(s, err)) || (rc = make_sockets(s, err)))
		return rc;
	if (stop_requested(s))
		return EP_OK;
	if ((rc = spawn_heartbeaters(s, err)))
		return rc;
	return EP_OK;
}

/* Stages that busy-work more CPU than the host has are slower than FLOPs / speed: say so. */
static void warn_cpu(struct emu_session *s)
{
	double want = 0;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (!s->cfg.compute)
		return;
	for (int i = 0; i < s->plan0.n_stages; i++) {
		int node = s->plan0.stages[i].node;

		if (s->cl->speed_flops[node] > 0)
			want += s->nodes[node].share_eff;
	}
	/* Half a core is left for the controller and the kernel's network processing. */
	if (cpus > 0 && want > (double)cpus - 0.5)
		emu_sess_event(
			s, "warning", -1, -1, 0,
			"the stages' busy work needs %.2f CPUs and the "
			"host has %ld: compute will be slower than FLOPs / speed (lower --speed)",
			want, cpus);
}

/* ---- teardown ---- */

/* Ask the running deployments to stop, and collect their last counters for a moment. */
static void stop_stages(struct emu_session *s)
{
	double now = emu_now_s(), deadline = now + STOP_GRACE_S;

	for (int k = 0; k < s->dpl.n_deps; k++) {
		enum dep_state st = s->dpl.deps[k].state;

		if (st == DEP_STARTING || st == DEP_LIVE || st == DEP_DRAINING)
			emu_deploy_stop(s, &s->dpl.deps[k], now);
	}
	for (;;) {
		struct pollfd pfd[256];
		int who[256][2], np = 0;

		for (int k = 0; k < s->dpl.n_deps; k++)
			for (int i = 0; i < s->dpl.deps[k].n && np < 256; i++)
				if (s->dpl.deps[k].ctl[i] >= 0 && !s->nodes[s->dpl.deps[k].plan.stages[i].node]
									  .stalled) {
					pfd[np] = (struct pollfd){ .fd = s->dpl.deps[k].ctl[i],
								   .events = POLLIN };
					who[np][0] = k;
					who[np++][1] = i;
				}
		now = emu_now_s();
		if (np == 0 || now >= deadline)
			break;
		if (poll(pfd, (nfds_t)np, (int)ceil((deadline - now) * 1000)) <= 0)
			break;
		for (int j = 0; j < np; j++)
			if (pfd[j].revents)
				emu_deploy_ctl(s, &s->dpl.deps[who[j][0]], who[j][1], now);
	}
}

static void teardown(struct emu_session *s)
{
	double t = emu_now_s();

	emu_recovery_kill_all(s);
	if (s->hb_fd >= 0)
		close(s->hb_fd);
	if (s->res_ls >= 0)
		close(s->res_ls);
	emu_dispatch_close(s);
	s->hb_fd = s->res_ls = -1;
	emu_remote_teardown(s);
	if (s->nodes)
		for (int i = 0; i < s->n; i++) {
			emu_cgroup_destroy(s->nodes[i].cg);
			s->nodes[i].cg = NULL;
		}
	emu_cgroups_destroy(s->cgs);
	s->cgs = NULL;
	emu_net_destroy(s->net);
	s->net = NULL;
	if (s->reg) {
		struct ep_error e;

		if (emu_registry_clean(s->reg, 0, NULL, NULL, NULL, &e) != EP_OK && s->cfg.progress)
			fprintf(s->cfg.progress, "edgepipe emu: cleaning up: %s\n", e.msg);
		emu_registry_destroy(s->reg);
		s->reg = NULL;
	}
	if (s->self_ns >= 0)
		close(s->self_ns);
	if (s->d_ns >= 0)
		close(s->d_ns);
	s->self_ns = s->d_ns = -1;
	s->rep.teardown_s = emu_now_s() - t;
	if (s->old_slack > 0)
		prctl(PR_SET_TIMERSLACK, (unsigned long)s->old_slack);
}

/* ---- the loop ---- */

enum tag { T_STOP = 0, T_HB, T_LISTEN, T_PENDING, T_CTL, T_DEP, T_TIMELINE };

struct pfd_tag {
	enum tag tag;
	int a, b;
};

static void start_phase_check(struct emu_session *s, double now)
{
	bool all = true;

	for (int i = 0; i < s->n; i++)
		all = all && s->nodes[i].seen;
	if (all && s->dpl.n_deps > 0 && s->dpl.deps[0].state == DEP_LIVE) {
		emu_sess_event(s, "ready", -1, -1, 0,
			       "%d heartbeaters and %d stage(s) up in %.3f s", s->n, s->dpl.deps[0].n,
			       now - s->t_begin_s);
		s->rep.setup_s = now - s->t_begin_s;
		if (s->cfg.probes > 0) {
			s->phase = PH_PROBE;
		} else {
			s->phase = PH_RUN;
			s->t0_s = now;
			emu_dispatch_start(s, now);
			emu_sess_event(s, "start", -1, -1, -1, "the workload starts: %lld requests",
				       (long long)s->cfg.requests);
		}
		return;
	}
	/* Counted from the end of bring-up: building the network for hundreds of nodes takes
	 * tens of seconds, which used to eat the whole allowance before the first heartbeat was
	 * even read (and the first node was then blamed). */
	if (now - s->t_up_s > START_TIMEOUT_S + s->cfg.deploy_timeout_s) {
		int missing = 0, first = -1;

		for (int i = 0; i < s->n; i++)
			if (!s->nodes[i].seen && missing++ == 0)
				first = i;
		if (missing > 0)
			emu_sess_fail(s, EP_EIO,
				 "no heartbeat from %d of the %d nodes (node %d%s) within %.0f s of the "
				 "end of bring-up (%.0f s + --deploy-timeout %.3g s; raise "
				 "--deploy-timeout on a slow or busy host)", missing, s->n, first,
				 missing > 1 ? " and others" : "", now - s->t_up_s, START_TIMEOUT_S,
				 s->cfg.deploy_timeout_s);
		else
			emu_sess_fail(s, EP_EIO,
				 "the first deployment was not connected within %.0f s of the end of "
				 "bring-up (%.0f s + --deploy-timeout %.3g s)", now - s->t_up_s,
				 START_TIMEOUT_S, s->cfg.deploy_timeout_s);
	}
}

/* Every status period of the workload: answered so far, the rate, and the time left at it. */
static void status_line(struct emu_session *s, double now)
{
	double el = now - s->t0_s, rate;

	if (!s->cfg.status)
		return;
	if (s->next_status_s <= 0)
		s->next_status_s = s->t0_s + s->cfg.status_period_s;
	if (now < s->next_status_s)
		return;
	s->next_status_s = now + s->cfg.status_period_s;
	rate = el > 0 ? (double)s->disp.answered / el : 0;
	fprintf(s->cfg.status, "edgepipe emu: %8.1f s  progress  %lld/%lld answered (%.3g /s)",
		el, (long long)s->disp.answered, (long long)s->cfg.requests, rate);
	if (rate > 0)
		fprintf(s->cfg.status, ", about %.0f s left",
			(double)(s->cfg.requests - s->disp.answered) / rate);
	fprintf(s->cfg.status, "\n");
	fflush(s->cfg.status);
}

/* Every node's cgroup CPU seconds into v[n] (NAN where unknown); *t = now. */
static void cpu_sample(struct emu_session *s, double *v, double *t)
{
	for (int i = 0; i < s->n; i++) {
		struct ep_error e;

		v[i] = NAN;
		if (s->nodes[i].cg)
			emu_cgroup_cpu_seconds(s->nodes[i].cg, &v[i], &e);
	}
	*t = emu_now_s();
}

/* The energy interval's ends: the warm-up's last answer (the start without warm-up) and the
 * last answer. */
static void cpu_mark(struct emu_session *s, bool end)
{
	if (!s->cpu_a || s->phase != PH_RUN)
		return;
	if (s->t_cpu_a_s == 0 && s->disp.answered >= s->cfg.warmup_requests)
		cpu_sample(s, s->cpu_a, &s->t_cpu_a_s);
	if (end && s->t_cpu_a_s > 0 && s->t_cpu_b_s == 0)
		cpu_sample(s, s->cpu_b, &s->t_cpu_b_s);
}

/* The poll set, grown as deployments come (never shrunk): descriptors and what each is. */
struct poll_set {
	struct pollfd *pfd;
	struct pfd_tag *tag;
	int n, cap;
};

static void poll_add(struct poll_set *ps, int fd, short events, enum tag tag, int a, int b)
{
	ps->pfd[ps->n] = (struct pollfd){ .fd = fd, .events = events };
	ps->tag[ps->n++] = (struct pfd_tag){ tag, a, b };
}

/* One pass's work before polling, phase by phase. false: the run is over (done, given up, or
 * a fatal error). */
static bool loop_steps(struct emu_session *s, double now)
{
	emu_deploy_step(s, now);
	if (s->fatal.code)
		return false;
	/* The faults applied since the last pass are recorded before the detections they may
	 * have caused. */
	if (s->phase == PH_RUN)
		emu_timeline_step(s, now);
	emu_heartbeat_check(s, now);
	if (s->cfg.remote)
		emu_remote_step(s, now);
	if (s->phase == PH_START)
		start_phase_check(s, now);
	if (s->phase == PH_PROBE)
		emu_probe_step(s, now);
	if (s->phase == PH_RUN)
		emu_recovery_replan(s, now);
	if (s->fatal.code)
		return false;
	emu_dispatch_step(s, now);
	emu_dispatch_answers(s, now);
	emu_deploy_drains(s, now);
	cpu_mark(s, s->disp.answered == s->cfg.requests);
	if ((s->phase == PH_RUN && s->disp.answered == s->cfg.requests) || s->rep.gave_up) {
		s->phase = PH_DONE;
		return false;
	}
	if (s->phase == PH_RUN)
		status_line(s, now);
	return true;
}

/* Every descriptor the loop waits on. false: out of memory (fatal set). */
static bool poll_build(struct emu_session *s, struct poll_set *ps)
{
	int need = 5 + s->disp.n_pc;

	for (int k = 0; k < s->dpl.n_deps; k++)
		need += s->dpl.deps[k].n + 2;
	if (need > ps->cap) {
		struct pollfd *np2 = realloc(ps->pfd, (size_t)need * 2 * sizeof(*ps->pfd));
		struct pfd_tag *nt = realloc(ps->tag, (size_t)need * 2 * sizeof(*ps->tag));

		if (np2)
			ps->pfd = np2;
		if (nt)
			ps->tag = nt;
		if (!np2 || !nt) {
			emu_sess_fail(s, EP_ENOMEM, "out of memory in the event loop");
			return false;
		}
		ps->cap = need * 2;
	}
	ps->n = 0;
	if (s->cfg.stop_fd >= 0)
		poll_add(ps, s->cfg.stop_fd, POLLIN, T_STOP, 0, 0);
	poll_add(ps, s->hb_fd, POLLIN, T_HB, 0, 0);
	if (s->tl.wake[0] >= 0)
		poll_add(ps, s->tl.wake[0], POLLIN, T_TIMELINE, 0, 0);
	poll_add(ps, s->res_ls, POLLIN, T_LISTEN, 0, 0);
	for (int i = 0; i < s->disp.n_pc; i++)
		poll_add(ps, s->disp.pc[i].fd, POLLIN, T_PENDING, i, 0);
	for (int k = 0; k < s->dpl.n_deps; k++) {
		struct deploy *d = &s->dpl.deps[k];

		for (int i = 0; i < d->n; i++)
			if (d->ctl[i] >= 0)
				poll_add(ps, d->ctl[i], POLLIN, T_CTL, k, i);
		if (d->in_fd >= 0)
			poll_add(ps, d->in_fd,
				 (short)(POLLIN | (d->in_connecting || d->out.count > 0 ? POLLOUT : 0)),
				 T_DEP, k, 0);
		if (d->res_fd >= 0)
			poll_add(ps, d->res_fd, POLLIN, T_DEP, k, 1);
	}
	return true;
}

/* When the loop must wake up at the latest: the dispatcher's, the timeline's, the heartbeat
 * check's and the status line's next times, and at most LOOP_MAX_WAIT_S from now. */
static double loop_wake(const struct emu_session *s, double now)
{
	double wake = now + LOOP_MAX_WAIT_S;

	wake = fmin(wake, emu_dispatch_next_time(s, now));
	if (s->phase == PH_RUN)
		wake = fmin(wake, emu_timeline_next_time(s));
	wake = fmin(wake, s->next_hb_check_s);
	if (s->cfg.status && s->phase == PH_RUN && s->next_status_s > 0)
		wake = fmin(wake, s->next_status_s);
	return wake;
}

/* Hand each descriptor that polled ready to its owner. */
static void poll_dispatch(struct emu_session *s, const struct poll_set *ps, double now)
{
	for (int j = 0; j < ps->n; j++) {
		const struct pfd_tag *tg = &ps->tag[j];
		short rev = ps->pfd[j].revents;

		if (!rev)
			continue;
		switch (tg->tag) {
		case T_STOP:
			s->rep.interrupted = true;
			s->phase = PH_DONE;
			break;
		case T_HB: emu_heartbeat_read(s, now); break;
		case T_TIMELINE: break; /* recorded at the top of the next pass */
		case T_LISTEN: emu_dispatch_accept(s, now); break;
		case T_PENDING: emu_dispatch_pending_io(s, tg->a, now); break;
		case T_CTL: emu_deploy_ctl(s, &s->dpl.deps[tg->a], tg->b, now); break;
		case T_DEP:
			emu_dispatch_io(s, &s->dpl.deps[tg->a], tg->b == 0 ? rev : 0,
					tg->b == 1 ? rev : 0, now);
			break;
		}
	}
	emu_dispatch_pending_tidy(s);
}

/* The event loop, as libuv's uv_run: steps, poll set, wait until the next due time, hand what
 * is ready to its owner; one clock reading per phase. Returns the fatal error's code or EP_OK. */
static int run_loop(struct emu_session *s)
{
	struct poll_set ps = { 0 };

	while (s->phase != PH_DONE && !s->fatal.code) {
		double now = emu_now_s(), wake;
		struct timespec ts;
		int rc;

		if (!loop_steps(s, now) || !poll_build(s, &ps))
			break;
		wake = loop_wake(s, now);
		now = emu_now_s(); /* the steps above took some of the wait */
		ts.tv_sec = 0;
		ts.tv_nsec = wake > now ? (long)((wake - now) * 1e9) : 0;
		rc = ppoll(ps.pfd, (nfds_t)ps.n, &ts, NULL);
		if (rc < 0 && errno != EINTR) {
			emu_sess_fail(s, EP_EIO, "ppoll: %s", strerror(errno));
			break;
		}
		if (rc <= 0)
			continue;
		poll_dispatch(s, &ps, emu_now_s());
	}
	free(ps.pfd);
	free(ps.tag);
	return s->fatal.code;
}

/* ---- the report ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(const double *v, int64_t n, double q)
{
	int64_t k;

	if (n == 0)
		return NAN;
	k = (int64_t)ceil(q * (double)n) - 1;
	if (k < 0)
		k = 0;
	if (k >= n)
		k = n - 1;
	return v[k];
}

static void plan_str(const struct plan *plan, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < plan->n_stages && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%d..%d@%d", i ? " " : "",
					 plan->stages[i].first_cut, plan->stages[i].end_cut,
					 plan->stages[i].node);
}

static void report_workload(struct emu_session *s)
{
	struct emu_report *r = &s->rep;
	int64_t n = s->cfg.requests, k = 0, m = 0;
	double *done = malloc((size_t)n * sizeof(double)), *lat = malloc((size_t)n * sizeof(double));
	double t0 = s->t0_s;

	s->rreq = calloc((size_t)n, sizeof(*s->rreq));
	r->issued = s->disp.issued;
	r->answered = s->disp.answered;
	r->checked = s->disp.checked;
	r->mismatches = s->disp.mismatches;
	r->max_diff = s->disp.max_diff;
	r->max_abs_diff = s->disp.max_abs_diff;
	r->top1_agree = s->disp.top1_agree;
	r->incomplete = s->disp.issued - s->disp.answered;
	if (!done || !lat || !s->rreq || !s->disp.reqs) {
		free(done);
		free(lat);
		return;
	}
	for (int64_t i = 0; i < n; i++) {
		const struct req *q = &s->disp.reqs[i];
		struct emu_request_record *o = &s->rreq[i];

		o->issue_s = i < s->disp.issued ? q->issue_s - t0 : -1;
		o->first_sent_s = q->attempts > 0 ? q->first_sent_s - t0 : -1;
		o->sent_s = q->attempts > 0 ? q->sent_s - t0 : -1;
		o->done_s = q->answered ? q->done_s - t0 : -1;
		o->attempts = q->attempts;
		o->deployment = q->answered ? q->answered_by : -1;
		o->duplicates = q->dups;
		o->mismatch = q->check == 0 ? -1 : q->check == 2;
		r->duplicates += q->dups;
		if (q->attempts > 1) {
			r->resends += q->attempts - 1;
			r->requests_resent++;
		}
		if (q->answered)
			done[k++] = q->done_s;
	}
	r->requests = s->rreq;
	r->n_requests = s->disp.issued;
	qsort(done, (size_t)k, sizeof(double), cmp_double);
	r->warmup_end_s = 0;
	r->end_s = k > 0 ? done[k - 1] - t0 : 0;
	if (s->cfg.warmup_requests > 0 && k >= s->cfg.warmup_requests)
		r->warmup_end_s = done[s->cfg.warmup_requests - 1] - t0;
	for (int64_t i = 0; i < s->disp.issued; i++) {
		const struct req *q = &s->disp.reqs[i];

		if (q->answered && (s->cfg.warmup_requests == 0 || q->done_s - t0 > r->warmup_end_s))
			lat[m++] = q->done_s - q->issue_s;
	}
	r->measured = m;
	r->throughput = r->end_s > r->warmup_end_s ? (double)m / (r->end_s - r->warmup_end_s)
						   : NAN;
	qsort(lat, (size_t)m, sizeof(double), cmp_double);
	r->latency_mean_s = NAN;
	if (m > 0) {
		double sum = 0;

		for (int64_t i = 0; i < m; i++)
			sum += lat[i];
		r->latency_mean_s = sum / (double)m;
	}
	r->latency_p50_s = pct(lat, m, 0.50);
	r->latency_p95_s = pct(lat, m, 0.95);
	r->latency_p99_s = pct(lat, m, 0.99);
	r->latency_max_s = m > 0 ? lat[m - 1] : NAN;
	free(done);
	free(lat);
}

/* The median of v (sorted here), the upper one of an even count as before. */
static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return v[n / 2];
}

double emu_path_latency_added(double *held, int n_held, double *nohold, int n_nohold,
			      bool transport, double *raw, bool *clamped)
{
	double d;

	if (raw)
		*raw = NAN;
	if (clamped)
		*clamped = false;
	if (n_held <= 0 || (transport && n_nohold <= 0))
		return NAN;
	d = transport ? median(held, n_held) - median(nohold, n_nohold) : median(held, n_held);
	if (raw)
		*raw = d;
	if (d < 0) {
		if (clamped)
			*clamped = true;
		d = 0;
	}
	return d;
}

static void report_probes(struct emu_session *s)
{
	struct emu_report *r = &s->rep;
	const struct plan *pl = &s->plan0;
	int P = s->cfg.probes, disp = s->n, k = pl->n_stages;
	double held[1000], free_[1000];
	int nh = 0, nf = 0;

	r->probes = P;
	r->path_latency_configured_s = 0;
	for (int h = 0; h <= k; h++) {
		int from = h == 0 ? disp : pl->stages[h - 1].node;
		int to = h == k ? disp : pl->stages[h].node;

		r->path_latency_configured_s += cluster_latency(s->cl, from, to);
	}
	r->probe_rtt_hold_s = r->probe_rtt_nohold_s = r->path_latency_measured_s = NAN;
	r->path_latency_raw_s = NAN;
	if (!s->disp.probe_rtt)
		return;
	for (int i = 0; i < s->disp.probe_k && i < 2 * P; i++) {
		if (!isfinite(s->disp.probe_rtt[i]))
			continue; /* lost */
		if (i % 2 == 0)
			held[nh++] = s->disp.probe_rtt[i];
		else
			free_[nf++] = s->disp.probe_rtt[i];
	}
	if (nh > 0)
		r->probe_rtt_hold_s = median(held, nh);
	if (nf > 0)
		r->probe_rtt_nohold_s = median(free_, nf);
	r->path_latency_measured_s =
		emu_path_latency_added(held, nh, free_, nf,
				       r->mech[EMU_PROP_LATENCY] == EMU_MECH_TRANSPORT,
				       &r->path_latency_raw_s, &r->path_latency_clamped);
}

static void report_deploys(struct emu_session *s)
{
	struct emu_report *r = &s->rep;
	int ns = 0, nl = 0;
	double t0 = s->t0_s;

	for (int k = 0; k < s->dpl.n_deps; k++) {
		ns += s->dpl.deps[k].n;
		nl += s->dpl.deps[k].n + 1;
	}
	s->rstage = calloc((size_t)ns + 1, sizeof(*s->rstage));
	s->rlink = calloc((size_t)nl + 1, sizeof(*s->rlink));
	s->rdep = calloc((size_t)s->dpl.n_deps + 1, sizeof(*s->rdep));
	if (!s->rstage || !s->rlink || !s->rdep)
		return;
	ns = nl = 0;
	r->raw_bytes = r->wire_bytes = r->encode_s = r->decode_s = 0;
	for (int k = 0; k < s->dpl.n_deps; k++) {
		const struct deploy *d = &s->dpl.deps[k];
		struct emu_deploy_record *o = &s->rdep[k];
		static const char *const names[] = { "starting", "live", "draining", "stopping",
						     "stopped", "failed" };

		o->id = d->id;
		o->version = d->version;
		o->n_stages = d->n;
		snprintf(o->model, sizeof(o->model), "%s", s->dpl.vers[d->version].name);
		plan_str(&d->plan, o->plan, sizeof(o->plan));
		o->bottleneck_s = d->cost.bottleneck_s;
		o->started_s = d->started_s - t0;
		o->live_s = d->live_s > 0 ? d->live_s - t0 : NAN;
		o->ended_s = d->ended_s > 0 ? d->ended_s - t0 : NAN;
		snprintf(o->state, sizeof(o->state), "%s", names[d->state]);
		snprintf(o->reason, sizeof(o->reason), "%s", d->reason);
		for (int i = 0; i < d->n; i++)
			s->rstage[ns++] = d->rec[i];
		for (int h = 0; h <= d->n; h++) {
			struct emu_link_record *l = &s->rlink[nl++];

			l->deployment = d->id;
			l->hop = h;
			l->from = h == 0 ? s->n : d->plan.stages[h - 1].node;
			l->to = h == d->n ? s->n : d->plan.stages[h].node;
			if (h == 0) {
				l->frames = d->in_frames;
				l->raw_bytes = d->in_raw;
				l->wire_bytes = d->in_wire;
				l->encode_s = d->in_encode_s;
			} else {
				l->frames = d->rec[h - 1].c.frames_out;
				l->raw_bytes = d->rec[h - 1].c.bytes_out_raw;
				l->wire_bytes = d->rec[h - 1].c.bytes_out_wire;
				l->encode_s = d->rec[h - 1].c.encode_s;
			}
			l->decode_s = h == d->n ? d->res_decode_s : d->rec[h].c.decode_s;
			r->raw_bytes += l->raw_bytes;
			r->wire_bytes += l->wire_bytes;
			r->encode_s += l->encode_s;
			r->decode_s += l->decode_s;
		}
	}
	r->stages = s->rstage;
	r->n_stages = ns;
	r->links = s->rlink;
	r->n_links = nl;
	r->deploys = s->rdep;
	r->n_deploys = s->dpl.n_deps;
}

static void report_energy(struct emu_session *s)
{
	struct emu_report *r = &s->rep;
	const struct power_model *pm = s->cfg.power;
	double T = s->t_cpu_b_s - s->t_cpu_a_s, scale, total = 0;
	bool any = false;

	r->energy = NULL;
	r->n_energy = 0;
	r->energy_interval_s = r->energy_j = r->energy_per_inference_j = r->power_w = NAN;
	snprintf(r->power_model, sizeof(r->power_model), "%s", pm ? pm->name : "");
	if (!pm || !s->cpu_a || !s->cpu_b || s->t_cpu_a_s <= 0 || s->t_cpu_b_s <= 0 || !s->nodes)
		return;
	s->energy = calloc((size_t)s->n, sizeof(*s->energy));
	if (!s->energy)
		return;
	r->energy_interval_s = T;
	scale = s->disp.answered > 0 ? (double)r->measured / (double)s->disp.answered : 0;
	for (int i = 0; i < s->n; i++) {
		struct emu_node_energy *e = &s->energy[i];

		e->node = i;
		e->cpu_s = s->cpu_b[i] - s->cpu_a[i];
		e->share = s->nodes[i].share_eff;
		e->busy_s = e->cpu_s / e->share;
		e->utilisation = T > 0 ? e->busy_s / T : NAN;
	}
	for (int k = 0; k < s->dpl.n_deps; k++)
		for (int i = 0; i < s->dpl.deps[k].n; i++)
			s->energy[s->dpl.deps[k].plan.stages[i].node].active = true;
	for (int i = 0; i < r->n_links; i++) {
		const struct emu_link_record *l = &r->links[i];

		if (l->from < s->n)
			s->energy[l->from].bits_sent += 8 * l->wire_bytes * scale;
		if (l->to < s->n)
			s->energy[l->to].bits_received += 8 * l->wire_bytes * scale;
	}
	for (int i = 0; i < s->n; i++) {
		struct emu_node_energy *e = &s->energy[i];

		if (!isfinite(e->cpu_s)) {
			e->energy_j = e->energy_per_inference_j = e->power_w = NAN;
			continue;
		}
		e->energy_j = power_model_energy(pm, T, e->busy_s, e->bits_sent, e->bits_received);
		e->energy_per_inference_j = r->measured > 0 ? e->energy_j / (double)r->measured
							    : NAN;
		e->power_w = T > 0 ? e->energy_j / T : NAN;
		if (e->active) {
			total += e->energy_j;
			any = true;
		}
	}
	r->energy = s->energy;
	r->n_energy = s->n;
	if (any) {
		r->energy_j = total;
		r->energy_per_inference_j = r->measured > 0 ? total / (double)r->measured : NAN;
		r->power_w = T > 0 ? total / T : NAN;
	}
}

static void build_report(struct emu_session *s)
{
	struct emu_report *r = &s->rep;
	double t0;

	if (s->t0_s <= 0)
		s->t0_s = s->t_end_s > 0 ? s->t_end_s : emu_now_s();
	t0 = s->t0_s;
	report_workload(s);
	report_probes(s);
	report_deploys(s);
	report_energy(s);
	for (int i = 0; i < s->n_events; i++)
		s->events[i].t_s -= t0;
	r->events = s->events;
	r->n_events = s->n_events;
	if (s->frec) {
		for (int i = 0; i < s->cfg.n_faults; i++) {
			struct timeline_fault_record *f = &s->frec[i];

			f->detection_s = f->detected_s >= 0 ? f->detected_s - f->at_s : -1;
			f->recovery_s = f->live_s >= 0 ? f->live_s - f->at_s : -1;
		}
		r->faults = s->frec;
		r->n_faults = s->cfg.n_faults;
	}
	r->updates = s->urec;
	r->n_updates = s->n_urec;
	r->bin_s = s->cfg.bin_s;
	r->series = s->series;
	r->n_bins = s->n_bins;
}

/* ---- run ---- */

void emu_sess_fail(struct emu_session *s, int code, const char *fmt, ...)
{
	va_list ap;

	if (s->fatal.code)
		return;
	s->fatal.code = code ? code : EP_EINTERNAL;
	va_start(ap, fmt);
	vsnprintf(s->fatal.msg, sizeof(s->fatal.msg), fmt, ap);
	va_end(ap);
}

int emu_session_run(struct emu_session *s, struct ep_error *err)
{
	int rc;

	if (s->ran)
		return ep_error_set(err, EP_EINVAL, "a session runs once");
	s->ran = true;
	s->t_begin_s = emu_now_s();
	s->phase = PH_START;
	s->nodes = calloc((size_t)s->n, sizeof(*s->nodes));
	if (!s->nodes) {
		rc = ep_error_set(err, EP_ENOMEM, "out of memory for the nodes");
		goto out;
	}
	for (int i = 0; i < s->n; i++)
		s->nodes[i].hb_pid = -1;
	if ((rc = emu_recovery_init(s, err)) || (rc = emu_timeline_init(s, err)) ||
	    (rc = emu_dispatch_init(s, err)))
		goto out;
	if ((rc = setup(s, err)))
		goto out;
	if (stop_requested(s)) {
		s->rep.interrupted = true;
		goto out;
	}
	if (emu_deploy_spawn(s, &s->plan0, 0, emu_now_s()) < 0) {
		rc = ep_error_set(err, s->fatal.code, "%s", s->fatal.msg);
		goto out;
	}
	warn_cpu(s);
	s->t_up_s = emu_now_s();
	s->next_hb_check_s = s->t_up_s;
	if (s->cfg.power && s->cgs) {
		s->cpu_a = calloc((size_t)s->n, sizeof(double));
		s->cpu_b = calloc((size_t)s->n, sizeof(double));
	}
	rc = run_loop(s);
	if (s->t_cpu_a_s > 0 && s->t_cpu_b_s == 0) {
		/* Interrupted, given up, or requests left unanswered: the interval ends here. */
		s->phase = PH_RUN;
		cpu_mark(s, true);
		s->phase = PH_DONE;
	}
	emu_timeline_stop(s);
	if (rc)
		ep_error_set(err, rc, "%s", s->fatal.msg);
	s->t_end_s = emu_now_s();
	if (!s->rep.interrupted)
		stop_stages(s);
out:
	if (s->t_end_s <= 0)
		s->t_end_s = emu_now_s();
	teardown(s);
	build_report(s);
	return rc;
}
