/*
 * The fault timeline's threads (emu_session_internal.h, struct timeline): a scheduler that
 * sleeps until each fault event is due, and one worker per event that applies it.
 *
 * Why threads: the event loop used to apply a fault when it came round to it, between its
 * other steps, and some of those block for a long time: re-planning, forking a deployment's
 * stage processes, and faults themselves (a node-wide loss runs iptables twice per link, about
 * 10 ms each: 0.4 s on 20 nodes). A cut scheduled at 8.002 s was applied at 8.392 s, and a kill
 * fired 70-150 ms late during a redeploy. Here each event fires on its own clock, and the
 * time recorded is when its action took effect (after the netlink request or the iptables
 * command returned, and the signals were sent), beside the time it was scheduled for.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "emu_internal.h"
#include "emu_session_internal.h"

struct worker_arg {
	struct emu_session *s;
	int ev;
};

/*
 * The timeline's threads run at the lowest real-time priority when the host allows it (root
 * does): on a busy host a normal thread waits tens of milliseconds for a CPU after its timer
 * fires (66 ms measured at a load of 18 on 2 cores), a real-time one microseconds. The
 * commands it runs (iptables) inherit the priority, so a cut is not queued behind the load
 * either. Priorities: the scheduler 3, a worker 2, and 1 while it runs link changes (and the
 * commands they fork), so that two iptables commands cannot keep a kill or a stall due
 * meanwhile off both CPUs. The kernel's real-time throttling keeps the rest of the host
 * running. Where it is refused, the threads run as they are.
 */
enum { PRIO_COMMANDS = 1, PRIO_WORKER = 2, PRIO_SCHEDULER = 3 };

static void realtime(int prio)
{
	struct sched_param sp = { .sched_priority = prio };

	pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
}

static struct timespec abs_ts(double t)
{
	struct timespec ts;

	if (t < 0)
		t = 0;
	ts.tv_sec = (time_t)t;
	ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static int cmp_fev(const void *a, const void *b)
{
	const struct fault_ev *x = a, *y = b;

	if (x->t_s != y->t_s)
		return x->t_s < y->t_s ? -1 : 1;
	if (x->end != y->end)
		return x->end ? -1 : 1; /* an end before a start at the same time */
	return x->fault - y->fault;
}

int emu_timeline_init(struct emu_session *s, struct ep_error *err)
{
	struct timeline *tl = &s->tl;
	pthread_condattr_t ca;
	int nf = s->cfg.n_faults, ne;

	tl->wake[0] = tl->wake[1] = -1;
	tl->inited = true; /* from here on, emu_timeline_release has something to release */
	/* Each fault's start and end (a fault with a duration) in time order. */
	tl->fev = calloc(2 * (size_t)nf + 1, sizeof(*tl->fev));
	if (!tl->fev)
		return ep_error_set(err, EP_ENOMEM, "out of memory for the fault timeline");
	for (int i = 0; i < nf; i++) {
		const struct timeline_fault *f = &s->cfg.faults[i];

		tl->fev[tl->n_fev++] = (struct fault_ev){ f->at_s, i, false };
		if (f->for_s > 0)
			tl->fev[tl->n_fev++] = (struct fault_ev){ f->at_s + f->for_s, i, true };
	}
	qsort(tl->fev, (size_t)tl->n_fev, sizeof(*tl->fev), cmp_fev);
	ne = tl->n_fev;
	tl->live_n = 0;
	tl->live_dep = -1;
	tl->worker = calloc((size_t)ne + 1, sizeof(*tl->worker));
	tl->has_worker = calloc((size_t)ne + 1, sizeof(bool));
	tl->done = calloc((size_t)ne + 1, sizeof(*tl->done));
	tl->is_done = calloc((size_t)ne + 1, sizeof(bool));
	tl->taken = calloc((size_t)ne + 1, sizeof(bool));
	tl->pending = calloc((size_t)ne + 1, sizeof(bool));
	tl->live_node = calloc((size_t)s->n + 1, sizeof(int));
	tl->start_ev = calloc((size_t)nf + 1, sizeof(int));
	tl->ev_node = calloc(2 * (size_t)ne + 1, sizeof(int));
	tl->active = calloc((size_t)ne + 1, sizeof(bool));
	if (!tl->worker || !tl->has_worker || !tl->done || !tl->is_done || !tl->taken ||
	    !tl->pending || !tl->live_node || !tl->start_ev || !tl->ev_node || !tl->active)
		return ep_error_set(err, EP_ENOMEM, "out of memory for the fault timeline");
	for (int i = 0; i < ne; i++)
		if (!s->tl.fev[i].end)
			tl->start_ev[s->tl.fev[i].fault] = i;
	if (pthread_condattr_init(&ca) != 0)
		return ep_error_set(err, EP_ENOMEM, "fault timeline: no condition attributes");
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_mutex_init(&tl->mu, NULL) != 0 || pthread_mutex_init(&tl->net_mu, NULL) != 0 ||
	    pthread_cond_init(&tl->cv, &ca) != 0 || pthread_cond_init(&tl->cv_done, NULL) != 0) {
		pthread_condattr_destroy(&ca);
		return ep_error_set(err, EP_ENOMEM, "fault timeline: no mutex");
	}
	pthread_condattr_destroy(&ca);
	tl->mu_init = true;
	if (pipe2(tl->wake, O_CLOEXEC | O_NONBLOCK) != 0)
		return ep_error_set(err, EP_EIO, "fault timeline: pipe: %s", strerror(errno));
	return EP_OK;
}

void emu_timeline_release(struct emu_session *s)
{
	struct timeline *tl = &s->tl;

	if (!tl->inited) /* never initialised: its descriptors are not -1 but 0 (calloc) */
		return;
	emu_timeline_stop(s);
	if (tl->mu_init) {
		pthread_mutex_destroy(&tl->mu);
		pthread_mutex_destroy(&tl->net_mu);
		pthread_cond_destroy(&tl->cv);
		pthread_cond_destroy(&tl->cv_done);
		tl->mu_init = false;
	}
	for (int i = 0; i < 2; i++)
		if (tl->wake[i] >= 0)
			close(tl->wake[i]);
	tl->wake[0] = tl->wake[1] = -1;
	free(tl->worker);
	free(tl->has_worker);
	free(tl->done);
	free(tl->is_done);
	free(tl->taken);
	free(tl->pending);
	free(tl->live_node);
	free(tl->start_ev);
	free(tl->ev_node);
	free(tl->active);
	tl->ev_node = NULL;
	tl->active = NULL;
	tl->worker = NULL;
	tl->has_worker = tl->is_done = tl->taken = tl->pending = NULL;
	tl->done = NULL;
	tl->live_node = tl->start_ev = NULL;
	free(tl->fev);
	tl->fev = NULL;
	tl->n_fev = 0;
	tl->inited = false;
}

void emu_timeline_publish(struct emu_session *s)
{
	struct timeline *tl = &s->tl;
	struct deploy *d = emu_deploy_target(s);
	int id = d ? d->id : -1;

	if (!tl->mu_init || id == tl->live_dep)
		return;
	pthread_mutex_lock(&tl->mu);
	tl->live_dep = id;
	tl->live_n = d ? d->n : 0;
	for (int i = 0; d && i < d->n && i < s->n; i++)
		tl->live_node[i] = d->plan.stages[i].node;
	pthread_mutex_unlock(&tl->mu);
}

bool emu_node_killed(struct emu_session *s, int node)
{
	bool v;

	pthread_mutex_lock(&s->tl.mu);
	v = s->nodes[node].killed;
	pthread_mutex_unlock(&s->tl.mu);
	return v;
}

bool emu_node_stalled(struct emu_session *s, int node)
{
	bool v;

	pthread_mutex_lock(&s->tl.mu);
	v = s->nodes[node].stalled;
	pthread_mutex_unlock(&s->tl.mu);
	return v;
}

/* ---- the actions (on a worker; tl.mu not held on entry) ---- */

/* Every process on a node: its heartbeater and the stages of every deployment. Under mu. */
static void signal_node_locked(struct emu_session *s, int node, int sig)
{
	if (s->nodes[node].hb_pid > 0)
		kill(s->nodes[node].hb_pid, sig);
	for (int k = 0; k < s->dpl.n_deps; k++) {
		struct deploy *d = &s->dpl.deps[k];

		for (int i = 0; i < d->n; i++)
			if (d->plan.stages[i].node == node && d->pid[i] > 0 && d->status[i] == -1)
				kill(d->pid[i], sig);
	}
}

/* nodeN -> N, dispatcher -> n, stageK -> the node of stage K of the live plan (-1: none).
 * Under mu. */
static int resolve_locked(struct emu_session *s, const struct timeline_target *t)
{
	if (t->kind == TIMELINE_NODE)
		return t->index;
	if (t->kind == TIMELINE_DISPATCHER)
		return s->n;
	return t->index < s->tl.live_n ? s->tl.live_node[t->index] : -1;
}

/*
 * Link changes. Netlink requests (bandwidth, netem, a node's interface) go one at a time on
 * the net's sockets (net_mu). iptables rules (a cut, loss without netem) are a command each,
 * 5-20 ms here, and touch only their pair's state: those of different pairs run at once, so a
 * cut's two directions take the time of one command, and a node-wide loss (2n rules) does not
 * take 2n times as long. Two faults on one pair take its stripe lock in turn.
 */
#define PAR_THREADS 8
#define STRIPES     64

static pthread_mutex_t pair_stripe[STRIPES];
static pthread_once_t stripe_once = PTHREAD_ONCE_INIT;

static void stripe_init(void)
{
	for (int i = 0; i < STRIPES; i++)
		pthread_mutex_init(&pair_stripe[i], NULL);
}

/* As many commands at once as there are cores: more only queue for the CPU, and a kill or a
 * stall due meanwhile would wait for it too. */
static int par_threads(void)
{
	long c = sysconf(_SC_NPROCESSORS_ONLN);

	return c < 1 ? 1 : c > PAR_THREADS ? PAR_THREADS : (int)c;
}

struct link_job {
	int from, to, rc;
	struct ep_error e;
};

struct link_batch {
	struct emu_session *s;
	int kind;
	double value;
	bool up;
	struct link_job *jobs;
	int n;
	int next; /* under mu */
	pthread_mutex_t mu;
};

static bool netlink_kind(const struct emu_session *s, int kind)
{
	return kind == TIMELINE_BANDWIDTH ||
	       (kind == TIMELINE_LOSS && emu_net_mech(s->net, EMU_PROP_LOSS) == EMU_MECH_NETEM);
}

static int one_way(struct emu_session *s, int from, int to, int kind, double value, bool up,
		   struct ep_error *e)
{
	bool nl = netlink_kind(s, kind);
	pthread_mutex_t *mu = nl ? &s->tl.net_mu
				 : &pair_stripe[(unsigned)(from * (s->n + 1) + to) % STRIPES];
	int rc;

	pthread_once(&stripe_once, stripe_init);
	pthread_mutex_lock(mu);
	if (kind == TIMELINE_LINK_DOWN)
		rc = emu_link_set_up(s->net, from, to, up, e);
	else if (kind == TIMELINE_BANDWIDTH)
		rc = emu_link_shape(s->net, from, to, up ? cluster_bw(s->cl, from, to) : value, e);
	else
		rc = emu_link_set_loss(s->net, from, to, up ? 0 : value, e);
	pthread_mutex_unlock(mu);
	return rc;
}

static void *batch_main(void *arg)
{
	struct link_batch *b = arg;

	for (;;) {
		struct link_job *j;

		pthread_mutex_lock(&b->mu);
		j = b->next < b->n ? &b->jobs[b->next++] : NULL;
		pthread_mutex_unlock(&b->mu);
		if (!j)
			return NULL;
		j->rc = one_way(b->s, j->from, j->to, b->kind, b->value, b->up, &j->e);
	}
}

/* Run the jobs, at once where they are iptables commands; the first failure is returned. */
static int run_jobs(struct emu_session *s, struct link_job *jobs, int n, int kind,
		    double value, bool up, struct ep_error *e)
{
	struct link_batch b = { .s = s, .kind = kind, .value = value, .up = up, .jobs = jobs,
				.n = n };
	pthread_t th[PAR_THREADS];
	int nt = 0;

	pthread_mutex_init(&b.mu, NULL);
	realtime(PRIO_COMMANDS); /* the helpers inherit it */
	if (!netlink_kind(s, kind))
		for (; nt < par_threads() - 1 && nt < n - 1; nt++)
			if (pthread_create(&th[nt], NULL, batch_main, &b) != 0)
				break;
	batch_main(&b);
	for (int i = 0; i < nt; i++)
		pthread_join(th[i], NULL);
	realtime(PRIO_WORKER);
	pthread_mutex_destroy(&b.mu);
	for (int i = 0; i < n; i++)
		if (jobs[i].rc) {
			*e = jobs[i].e;
			return jobs[i].rc;
		}
	return EP_OK;
}

static int both_ways(struct emu_session *s, int a, int b, int kind, double value, bool up,
		     struct ep_error *e)
{
	struct link_job jobs[2] = { { .from = a, .to = b }, { .from = b, .to = a } };

	return run_jobs(s, jobs, 2, kind, value, up, e);
}

/* Every link into and out of node a (a node-wide loss). */
static int all_links(struct emu_session *s, int a, double value, bool up, struct ep_error *e)
{
	struct link_job *jobs = calloc(2 * (size_t)s->n, sizeof(*jobs));
	int n = 0, rc;

	if (!jobs)
		return ep_error_set(e, EP_ENOMEM, "out of memory for node %d's links", a);
	for (int j = 0; j <= s->n; j++)
		if (j != a) {
			jobs[n++] = (struct link_job){ .from = a, .to = j };
			jobs[n++] = (struct link_job){ .from = j, .to = a };
		}
	rc = run_jobs(s, jobs, n, TIMELINE_LOSS, value, up, e);
	free(jobs);
	return rc;
}

/* An end undoes what its start did, at the nodes its start resolved. */
static void apply_end(struct emu_session *s, int ev, struct fault_done *o)
{
	const struct timeline_fault *f = &s->cfg.faults[s->tl.fev[ev].fault];
	struct ep_error e;
	int a = s->tl.ev_node[2 * ev], b = s->tl.ev_node[2 * ev + 1], rc = EP_OK;

	e.msg[0] = '\0';
	if (f->kind == TIMELINE_STALL) {
		pthread_mutex_lock(&s->tl.mu);
		s->nodes[a].stalled = false;
		signal_node_locked(s, a, SIGCONT);
		pthread_mutex_unlock(&s->tl.mu);
	} else if (f->kind == TIMELINE_LOSS && !f->pair) {
		rc = all_links(s, a, 0, true, &e);
	} else {
		rc = both_ways(s, a, b, f->kind, f->value, true, &e);
	}
	o->t_s = emu_now_s();
	o->outcome = rc ? TL_ERROR : TL_APPLIED;
	snprintf(o->text, sizeof(o->text), "%s", rc ? e.msg : "");
}

static void apply_start(struct emu_session *s, int ev, struct fault_done *o)
{
	const struct timeline_fault *f = &s->cfg.faults[s->tl.fev[ev].fault];
	struct ep_error e;
	int a = s->tl.ev_node[2 * ev], b = s->tl.ev_node[2 * ev + 1], rc = EP_OK;

	e.msg[0] = '\0';
	switch (f->kind) {
	case TIMELINE_KILL:
		/* Marked first: a stage the loop spawns there from now on is killed at once. */
		pthread_mutex_lock(&s->tl.mu);
		s->nodes[a].killed = true;
		pthread_mutex_unlock(&s->tl.mu);
		pthread_mutex_lock(&s->tl.net_mu);
		rc = emu_node_set_up(s->net, a, false, &e);
		pthread_mutex_unlock(&s->tl.net_mu);
		pthread_mutex_lock(&s->tl.mu);
		signal_node_locked(s, a, SIGKILL);
		pthread_mutex_unlock(&s->tl.mu);
		break;
	case TIMELINE_STALL:
		pthread_mutex_lock(&s->tl.mu);
		s->nodes[a].stalled = true;
		signal_node_locked(s, a, SIGSTOP);
		pthread_mutex_unlock(&s->tl.mu);
		break;
	case TIMELINE_LOSS:
		if (!f->pair) {
			rc = all_links(s, a, f->value, false, &e);
			break;
		}
		/* fall through */
	default: rc = both_ways(s, a, b, f->kind, f->value, false, &e); break;
	}
	o->t_s = emu_now_s();
	o->outcome = rc ? TL_ERROR : TL_APPLIED;
	snprintf(o->text, sizeof(o->text), "%s", rc ? e.msg : "");
}

static bool overlap(const struct timeline *tl, int i, int j)
{
	for (int x = 0; x < 2; x++)
		for (int y = 0; y < 2; y++)
			if (tl->ev_node[2 * i + x] >= 0 &&
			    tl->ev_node[2 * i + x] == tl->ev_node[2 * j + y])
				return true;
	return false;
}

/* Record event ev's outcome and wake the loop. Under mu. */
static void finish_locked(struct emu_session *s, int ev, const struct fault_done *o)
{
	char b = 1;

	s->tl.done[ev] = *o;
	s->tl.is_done[ev] = true;
	s->tl.active[ev] = false;
	pthread_cond_broadcast(&s->tl.cv_done);
	if (write(s->tl.wake[1], &b, 1) < 0) {
		/* the pipe is full: the loop is already woken */
	}
}

static void *worker_main(void *arg)
{
	struct worker_arg *w = arg;
	struct emu_session *s = w->s;
	struct timeline *tl = &s->tl;
	int ev = w->ev;
	struct fault_done o;

	free(w);
	prctl(PR_SET_TIMERSLACK, 1UL);
	realtime(PRIO_WORKER);
	memset(&o, 0, sizeof(o));
	/* Events at the same nodes happen in timeline order (an end before the next start on
	 * that link); others at once. */
	pthread_mutex_lock(&tl->mu);
	for (;;) {
		bool wait = false;

		for (int j = 0; j < ev && !wait; j++)
			wait = tl->active[j] && overlap(tl, j, ev);
		if (!wait)
			break;
		pthread_cond_wait(&tl->cv_done, &tl->mu);
	}
	pthread_mutex_unlock(&tl->mu);
	o.node = tl->ev_node[2 * ev];
	o.peer = tl->ev_node[2 * ev + 1];
	if (s->tl.fev[ev].end)
		apply_end(s, ev, &o);
	else
		apply_start(s, ev, &o);
	pthread_mutex_lock(&tl->mu);
	finish_locked(s, ev, &o);
	pthread_mutex_unlock(&tl->mu);
	return NULL;
}

/*
 * Resolve event i's nodes (at its time: a stage target is the live plan's) and start its
 * worker; an event with nothing to act on is finished here. Under mu.
 */
static void launch_locked(struct emu_session *s, int i)
{
	struct timeline *tl = &s->tl;
	const struct fault_ev *fe = &s->tl.fev[i];
	const struct timeline_fault *f = &s->cfg.faults[fe->fault];
	struct fault_done o;
	struct worker_arg *w;
	int a, b = -1;

	memset(&o, 0, sizeof(o));
	if (fe->end) {
		int st = tl->start_ev[fe->fault];

		a = tl->ev_node[2 * st];
		b = tl->ev_node[2 * st + 1];
		if (!tl->is_done[st] ? a < 0 : tl->done[st].outcome != TL_APPLIED) {
			tl->ev_node[2 * i] = tl->ev_node[2 * i + 1] = -1;
			o.node = a;
			o.peer = b;
			o.t_s = emu_now_s();
			o.outcome = TL_SKIPPED;
			snprintf(o.text, sizeof(o.text), "nothing to undo");
			finish_locked(s, i, &o);
			return;
		}
	} else {
		a = resolve_locked(s, &f->a);
		if (f->pair)
			b = resolve_locked(s, &f->b);
		if (a < 0 || (f->pair && b < 0) || a == b) {
			tl->ev_node[2 * i] = tl->ev_node[2 * i + 1] = -1;
			o.node = a;
			o.peer = b;
			o.t_s = emu_now_s();
			o.outcome = TL_SKIPPED;
			snprintf(o.text, sizeof(o.text), "%s",
				 a == b && a >= 0 ? "both ends are the same node"
					       : "the live plan has no such stage (or none is live)");
			finish_locked(s, i, &o);
			return;
		}
	}
	tl->ev_node[2 * i] = a;
	tl->ev_node[2 * i + 1] = b;
	tl->active[i] = true;
	w = malloc(sizeof(*w));
	if (w) {
		w->s = s;
		w->ev = i;
	}
	if (!w || pthread_create(&tl->worker[i], NULL, worker_main, w) != 0) {
		free(w);
		o.node = a;
		o.peer = b;
		o.t_s = emu_now_s();
		o.outcome = TL_ERROR;
		snprintf(o.text, sizeof(o.text), "no thread to apply it");
		finish_locked(s, i, &o);
		return;
	}
	tl->has_worker[i] = true;
}

static void *sched_main(void *arg)
{
	struct emu_session *s = arg;
	struct timeline *tl = &s->tl;

	prctl(PR_SET_TIMERSLACK, 1UL);
	realtime(PRIO_SCHEDULER);
	pthread_mutex_lock(&tl->mu);
	for (int i = 0; i < s->tl.n_fev && !tl->stop; i++) {
		double due = s->t0_s + s->tl.fev[i].t_s;
		struct timespec ts = abs_ts(due);

		while (!tl->stop && emu_now_s() < due)
			pthread_cond_timedwait(&tl->cv, &tl->mu, &ts);
		if (tl->stop)
			break;
		launch_locked(s, i);
	}
	pthread_mutex_unlock(&tl->mu);
	return NULL;
}

bool emu_timeline_start(struct emu_session *s)
{
	struct timeline *tl = &s->tl;

	if (tl->started || s->tl.n_fev == 0)
		return true;
	if (pthread_create(&tl->sched, NULL, sched_main, s) != 0) {
		emu_sess_fail(s, EP_EIO, "starting the fault timeline's thread: %s",
			 strerror(errno));
		return false;
	}
	tl->started = true;
	return true;
}

void emu_timeline_stop(struct emu_session *s)
{
	struct timeline *tl = &s->tl;

	if (!tl->started) {
		tl->stop = true; /* and it never starts */
		return;
	}
	pthread_mutex_lock(&tl->mu);
	tl->stop = true;
	pthread_cond_signal(&tl->cv);
	pthread_mutex_unlock(&tl->mu);
	pthread_join(tl->sched, NULL);
	/* No new worker from here on; the running ones finish what they do. */
	for (int i = 0; i < s->tl.n_fev; i++)
		if (tl->has_worker[i]) {
			pthread_join(tl->worker[i], NULL);
			tl->has_worker[i] = false;
		}
	tl->started = false;
}

bool emu_timeline_take(struct emu_session *s, bool *pending)
{
	struct timeline *tl = &s->tl;
	char buf[64];
	bool any = false;

	while (tl->wake[0] >= 0 && read(tl->wake[0], buf, sizeof(buf)) > 0)
		any = true;
	if (!any || !tl->mu_init)
		return false;
	pthread_mutex_lock(&tl->mu);
	for (int i = 0; i < s->tl.n_fev; i++)
		pending[i] = tl->is_done[i] && !tl->taken[i];
	for (int i = 0; i < s->tl.n_fev; i++)
		tl->taken[i] = tl->taken[i] || pending[i];
	pthread_mutex_unlock(&tl->mu);
	return true;
}
