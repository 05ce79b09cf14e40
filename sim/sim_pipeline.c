/*
 * The pipeline simulation: configuration, the dispatcher's workload, and requests moving
 * through stages and links. Crashes and deployments are in sim_recovery.c, measurements in
 * sim_stats.c.
 */
#include "sim_pipeline.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "ep_util.h"
#include "sim_internal.h"
#include "workload.h"

#define POOL_CHUNK 1024
/* Simulated times are int64 ns; configured times must stay far below 2^63 ns (292 years). */
#define MAX_TIME_S 1e9

static const char *const dist_names[] = { "det", "exp", "lognormal" };
static const char *const arrival_names[] = { "closed", "poisson", "constant" };

const char *sim_dist_name(enum sim_dist d)
{
	return (unsigned)d < 3 ? dist_names[d] : "?";
}

int sim_dist_parse(const char *option, const char *s, enum sim_dist *d, double *cv,
		   struct ep_error *err)
{
	double v = 1;
	char *end;

	if (strcmp(s, "det") == 0 || strcmp(s, "exp") == 0) {
		*d = s[0] == 'd' ? SIM_DIST_DET : SIM_DIST_EXP;
		return EP_OK;
	}
	if (strncmp(s, "lognormal:", 10) == 0) {
		v = strtod(s + 10, &end);
		if (end == s + 10 || *end || !(v > 0 && v < 1e3))
			return ep_error_set(err, EP_EINVAL,
					    "%s '%s': the coefficient of variation "
					    "must be a positive number",
					    option, s);
	} else if (strcmp(s, "lognormal") != 0) {
		return ep_error_set(err, EP_EINVAL, "%s '%s': expected det, exp or lognormal[:CV]",
				    option, s);
	}
	*d = SIM_DIST_LOGNORMAL;
	*cv = v;
	return EP_OK;
}

const char *sim_arrival_name(enum sim_arrival a)
{
	return (unsigned)a < 3 ? arrival_names[a] : "?";
}

struct sim_config sim_config_default_terms(bool compute, bool dispatcher_hops)
{
	struct sim_config c;

	memset(&c, 0, sizeof(c));
	c.arrival = SIM_CLOSED;
	c.window = 1;
	c.rate = 1;
	c.requests = 1000;
	c.service = SIM_DIST_DET;
	c.service_cv = 1;
	c.transfer = SIM_DIST_DET;
	c.transfer_cv = 1;
	c.compute = compute;
	c.dispatcher_hops = dispatcher_hops;
	c.heartbeat_period_s = 1;
	c.heartbeat_timeout_s = 3;
	c.retry_timeout_s = 4; /* the heartbeat timeout + a period */
	c.algo_options = ALGO_OPTIONS_DEFAULT;
	c.bin_s = 1;
	c.seed = 1;
	return c;
}

struct sim_config sim_config_default(const struct problem *p)
{
	return sim_config_default_terms(p->options.count_compute, p->options.count_dispatcher);
}

/* ---- errors, trace, time ----------------------------------------------------------------- */

void sim_fail(struct sim_pipeline *sp, int code, const char *fmt, ...)
{
	va_list ap;

	if (sp->err_code == EP_OK) {
		sp->err_code = code;
		sp->err.code = code;
		va_start(ap, fmt);
		vsnprintf(sp->err.msg, sizeof(sp->err.msg), fmt, ap);
		va_end(ap);
	}
	sim_engine_stop(sp->eng);
}

void sim_trace(struct sim_pipeline *sp, const char *fmt, ...)
{
	va_list ap;

	if (!sp->cfg.trace)
		return;
	fprintf(sp->cfg.trace, "%" PRId64 " ", sim_engine_now(sp->eng));
	va_start(ap, fmt);
	vfprintf(sp->cfg.trace, fmt, ap);
	va_end(ap);
	fputc('\n', sp->cfg.trace);
}

int64_t sim_now(const struct sim_pipeline *sp)
{
	return sim_engine_now(sp->eng);
}

void sim_schedule(struct sim_pipeline *sp, int64_t time_ns, sim_event_fn fn, void *ctx,
		  uint64_t arg, struct sim_event_ref *ref)
{
	struct ep_error e;
	int rc = sim_engine_schedule(sp->eng, time_ns, fn, ctx, arg, ref, &e);

	if (rc)
		sim_fail(sp, rc, "%s", e.msg);
}

/* "D" for the dispatcher, else the node number. */
static const char *node_label(const struct sim_pipeline *sp, int node, char *buf, size_t size)
{
	if (node == sp->n)
		return "D";
	snprintf(buf, size, "%d", node);
	return buf;
}

/* A draw of `d` with mean `mean_ns`. */
static int64_t draw(gsl_rng *r, enum sim_dist d, double cv, int64_t mean_ns)
{
	double x, s2;

	if (mean_ns <= 0 || d == SIM_DIST_DET)
		return mean_ns;
	if (d == SIM_DIST_EXP) {
		x = gsl_ran_exponential(r, (double)mean_ns);
	} else {
		s2 = log1p(cv * cv);
		x = gsl_ran_lognormal(r, log((double)mean_ns) - s2 / 2, sqrt(s2));
	}
	return x < (double)INT64_MAX / 4 ? (int64_t)llround(x) : INT64_MAX / 4;
}

/* ---- pools --------------------------------------------------------------------------------- */

static void *chunk_alloc(struct sim_pipeline *sp, size_t size)
{
	void *c;

	if (sp->n_chunks == sp->cap_chunks) {
		int cap = sp->cap_chunks ? 2 * sp->cap_chunks : 16;
		void **v = realloc(sp->chunks, (size_t)cap * sizeof(*v));

		if (!v)
			return NULL;
		sp->chunks = v;
		sp->cap_chunks = cap;
	}
	c = calloc(POOL_CHUNK, size);
	if (c)
		sp->chunks[sp->n_chunks++] = c;
	return c;
}

static struct sim_token *token_alloc(struct sim_pipeline *sp)
{
	struct sim_token *t;

	if (!sp->free_tokens) {
		struct sim_token *c = chunk_alloc(sp, sizeof(*c));

		if (!c) {
			sim_fail(sp, EP_ENOMEM, "out of memory for requests in flight");
			return NULL;
		}
		for (int i = POOL_CHUNK; i-- > 0;) {
			c[i].next = sp->free_tokens;
			sp->free_tokens = &c[i];
		}
	}
	t = sp->free_tokens;
	sp->free_tokens = t->next;
	memset(t, 0, sizeof(*t));
	sp->tokens_live++;
	return t;
}

static void token_free(struct sim_pipeline *sp, struct sim_token *t)
{
	t->req = NULL;
	t->dep = NULL;
	t->next = sp->free_tokens;
	sp->free_tokens = t;
	sp->tokens_live--;
}

static struct sim_req *req_alloc(struct sim_pipeline *sp)
{
	struct sim_req *r;

	if (!sp->free_reqs) {
		struct sim_req *c = chunk_alloc(sp, sizeof(*c));

		if (!c) {
			sim_fail(sp, EP_ENOMEM, "out of memory for requests");
			return NULL;
		}
		for (int i = POOL_CHUNK; i-- > 0;) {
			c[i].id = -1;
			c[i].next_free = sp->free_reqs;
			sp->free_reqs = &c[i];
		}
	}
	r = sp->free_reqs;
	sp->free_reqs = r->next_free;
	return r;
}

static void req_free(struct sim_pipeline *sp, struct sim_req *r)
{
	r->id = -1;
	r->next_free = sp->free_reqs;
	sp->free_reqs = r;
}

/* ---- servers: processors and dedicated links ----------------------------------------------- */

static void advance(struct sim_pipeline *sp, struct sim_token *t);

/* An attempt of a request that has been answered (by another attempt): the dispatcher has told
 * the stages, which drop it instead of working on it. */
static inline bool token_stale(const struct sim_token *t)
{
	return t->req->id != t->req_id;
}

static void token_cancel(struct sim_pipeline *sp, struct sim_token *t)
{
	sp->report.duplicates++;
	SIM_TRACE(sp, "cancel req=%" PRId64 " epoch=%d", t->req_id, t->dep->epoch);
	token_free(sp, t);
}

static inline int token_stage(const struct sim_token *t)
{
	return t->step / 2;
}

static inline const struct sim_hop *token_hop(const struct sim_token *t)
{
	return &t->dep->hops[t->step / 2];
}

static void ev_server_done(struct sim_engine *e, void *ctx, uint64_t arg);

static void server_start(struct sim_pipeline *sp, struct sim_server *srv)
{
	struct sim_token *t;
	char a[16], b[16];
	int64_t d;

	/* Attempts of answered requests leave the queue without service. (The callers have
	 * brought the statistics up to now.) */
	while ((t = srv->head) && token_stale(t)) {
		srv->head = t->next;
		if (!srv->head)
			srv->tail = NULL;
		srv->n--;
		token_cancel(sp, t);
	}
	if (!t)
		return;
	srv->busy = true;
	if (srv->is_link) {
		const struct sim_hop *h = token_hop(t);

		d = draw(sp->rng_transfer, sp->cfg.transfer, sp->cfg.transfer_cv, h->busy_ns);
		SIM_TRACE(sp, "link_start req=%" PRId64 " hop=%d from=%s to=%s", t->req_id,
			  t->step / 2, node_label(sp, h->from, a, sizeof(a)),
			  node_label(sp, h->to, b, sizeof(b)));
	} else {
		d = draw(sp->rng_service, sp->cfg.service, sp->cfg.service_cv,
			 t->dep->stage_ns[token_stage(t)]);
		SIM_TRACE(sp, "stage_start req=%" PRId64 " stage=%d node=%d epoch=%d", t->req_id,
			  token_stage(t), srv->from, t->dep->epoch);
	}
	d = sim_faults_delay(sp, srv, srv->is_link ? token_hop(t) : NULL, d);
	srv->done_ns = sim_now(sp) + d;
	if (srv->done_ns >= SIM_NEVER_NS) {
		srv->done_ns = SIM_NEVER_NS; /* behind a cut without an end: a purge ends it */
		return;
	}
	sim_schedule(sp, srv->done_ns, ev_server_done, srv, 0, &srv->done);
}

static void server_push(struct sim_pipeline *sp, struct sim_server *srv, struct sim_token *t)
{
	sim_acc_touch(&srv->acc, sim_now(sp), srv->n, srv->busy);
	t->next = NULL;
	if (srv->tail)
		srv->tail->next = t;
	else
		srv->head = t;
	srv->tail = t;
	sim_acc_max(&srv->acc, ++srv->n);
	if (!srv->busy)
		server_start(sp, srv);
}

static void ev_arrive(struct sim_engine *e, void *ctx, uint64_t arg)
{
	advance(ctx, (struct sim_token *)(uintptr_t)arg);
}

/* A token has crossed its hop's link: on to the next stage, now or after the latency. */
static void link_finished(struct sim_pipeline *sp, struct sim_token *t)
{
	const struct sim_hop *h = token_hop(t);

	if (sp->cfg.latency_pipelined && h->lat_ns > 0)
		sim_schedule(sp, sim_now(sp) + h->lat_ns, ev_arrive, sp, (uintptr_t)t, &t->ev);
	else
		advance(sp, t);
}

static void ev_server_done(struct sim_engine *e, void *ctx, uint64_t arg)
{
	struct sim_server *srv = ctx;
	struct sim_pipeline *sp = srv->sp;
	struct sim_token *t = srv->head;
	char a[16], b[16];

	srv->done = (struct sim_event_ref){ 0, 0 };
	sim_acc_touch(&srv->acc, sim_now(sp), srv->n, srv->busy);
	srv->head = t->next;
	if (!srv->head)
		srv->tail = NULL;
	srv->n--;
	srv->busy = false;
	srv->acc.served++;
	if (srv->is_link)
		srv->acc.bits += token_hop(t)->bits;
	if (srv->is_link)
		SIM_TRACE(sp, "link_end req=%" PRId64 " hop=%d from=%s to=%s", t->req_id,
			  t->step / 2, node_label(sp, srv->from, a, sizeof(a)),
			  node_label(sp, srv->to, b, sizeof(b)));
	else
		SIM_TRACE(sp, "stage_end req=%" PRId64 " stage=%d node=%d", t->req_id,
			  token_stage(t), srv->from);
	if (srv->head)
		server_start(sp, srv);
	if (srv->is_link)
		link_finished(sp, t);
	else
		advance(sp, t);
}

void sim_server_done_ev(struct sim_engine *e, void *ctx, uint64_t arg)
{
	ev_server_done(e, ctx, arg);
}

/*
 * Remove from `srv` the tokens of `dep` (every token when dep is NULL) and lose them; the
 * request in service, if removed, is abandoned and the next one starts.
 */
void sim_server_purge(struct sim_pipeline *sp, struct sim_server *srv,
		      const struct sim_deploy *dep)
{
	struct sim_token *t = srv->head, *prev = NULL, *lost = NULL, *lost_tail = NULL;

	sim_acc_touch(&srv->acc, sim_now(sp), srv->n, srv->busy);
	while (t) {
		struct sim_token *next = t->next;

		if (dep && t->dep != dep) {
			prev = t;
			t = next;
			continue;
		}
		if (t == srv->head && srv->busy) {
			sim_engine_cancel(sp->eng, &srv->done);
			srv->busy = false;
		}
		if (prev)
			prev->next = next;
		else
			srv->head = next;
		if (srv->tail == t)
			srv->tail = prev;
		srv->n--;
		t->next = NULL;
		if (lost_tail)
			lost_tail->next = t;
		else
			lost = t;
		lost_tail = t;
		t = next;
	}
	while (lost) {
		struct sim_token *next = lost->next;

		sim_lose(sp, lost, dep ? "dropped" : "crash");
		lost = next;
	}
	if (!srv->busy && srv->head)
		server_start(sp, srv);
}

struct sim_server *sim_link_get(struct sim_pipeline *sp, int from, int to)
{
	struct sim_server *l;

	/* Deployments are rare and use few links: a linear search is enough. */
	for (int i = 0; i < sp->n_links; i++)
		if (sp->links[i]->from == from && sp->links[i]->to == to)
			return sp->links[i];
	if (sp->n_links == sp->cap_links) {
		int cap = sp->cap_links ? 2 * sp->cap_links : 16;
		struct sim_server **v = realloc(sp->links, (size_t)cap * sizeof(*v));

		if (!v)
			return NULL;
		sp->links = v;
		sp->cap_links = cap;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->sp = sp;
	l->is_link = true;
	l->from = from;
	l->to = to;
	l->acc.last_ns = sim_now(sp);
	sp->links[sp->n_links++] = l;
	return l;
}

/* ---- shared media -------------------------------------------------------------------------- */

static void ev_medium_done(struct sim_engine *e, void *ctx, uint64_t arg);

/* Which of its two lists links `t` into medium `node`'s: 0 as sender, 1 as receiver. */
static inline int wait_side(const struct sim_token *t, int node)
{
	return token_hop(t)->from == node ? 0 : 1;
}

static void wait_unlink(struct sim_pipeline *sp, struct sim_token *t)
{
	const struct sim_hop *h = token_hop(t);
	int ends[2] = { h->from, h->to };

	for (int side = 0; side < 2; side++) {
		struct sim_medium *m = &sp->media[ends[side]];
		struct sim_token *prev = t->wprev[side], *next = t->wnext[side];

		if (prev)
			prev->wnext[wait_side(prev, ends[side])] = next;
		else
			m->whead = next;
		if (next)
			next->wprev[wait_side(next, ends[side])] = prev;
		else
			m->wtail = prev;
		t->wprev[side] = t->wnext[side] = NULL;
	}
}

static void media_set(struct sim_pipeline *sp, const struct sim_hop *h, struct sim_token *t)
{
	int64_t now = sim_now(sp);
	struct sim_medium *a = &sp->media[h->from], *b = &sp->media[h->to];

	sim_acc_touch(&a->acc, now, a->n, a->busy);
	sim_acc_touch(&b->acc, now, b->n, b->busy);
	a->busy = b->busy = t != NULL;
	a->current = b->current = t;
	if (t) {
		a->acc.served++;
		b->acc.served++;
	}
}

static void medium_start(struct sim_pipeline *sp, struct sim_token *t)
{
	const struct sim_hop *h = token_hop(t);
	struct sim_server *l = h->link;
	char a[16], b[16];
	int64_t d;

	media_set(sp, h, t);
	sim_acc_touch(&l->acc, sim_now(sp), l->n, l->busy);
	l->busy = true;
	d = draw(sp->rng_transfer, sp->cfg.transfer, sp->cfg.transfer_cv, h->busy_ns);
	SIM_TRACE(sp, "link_start req=%" PRId64 " hop=%d from=%s to=%s", t->req_id, t->step / 2,
		  node_label(sp, h->from, a, sizeof(a)), node_label(sp, h->to, b, sizeof(b)));
	sim_schedule(sp, sim_now(sp) + d, ev_medium_done, sp, (uintptr_t)t, &t->ev);
}

/* A transfer joins (+1) or leaves (-1) the media of link l's two ends. */
static void media_count(struct sim_pipeline *sp, const struct sim_server *l, int delta)
{
	int ends[2] = { l->from, l->to };

	for (int i = 0; i < 2; i++) {
		struct sim_medium *m = &sp->media[ends[i]];

		sim_acc_touch(&m->acc, sim_now(sp), m->n, m->busy);
		m->n += delta;
		sim_acc_max(&m->acc, m->n);
	}
}

/* The link's (and its media's) statistics when hop h's transfer leaves it (done or lost). */
static void link_leave(struct sim_pipeline *sp, const struct sim_hop *h, bool was_running)
{
	struct sim_server *l = h->link;

	media_count(sp, l, -1);
	sim_acc_touch(&l->acc, sim_now(sp), l->n, l->busy);
	l->n--;
	if (was_running) {
		l->busy = false;
		l->acc.served++;
		l->acc.bits += h->bits;
	}
}

/* Start the earliest transfer waiting for medium `node` whose other medium is free. */
static void medium_try_start(struct sim_pipeline *sp, int node)
{
	struct sim_medium *m = &sp->media[node];

	if (m->busy)
		return;
	for (struct sim_token *t = m->whead; t;) {
		const struct sim_hop *h = token_hop(t);
		int side = wait_side(t, node);
		int other = side == 0 ? h->to : h->from;

		if (token_stale(t)) {
			struct sim_token *next = t->wnext[side];

			wait_unlink(sp, t);
			link_leave(sp, h, false);
			token_cancel(sp, t);
			t = next;
			continue;
		}
		if (!sp->media[other].busy && !t->dep->dropped) {
			wait_unlink(sp, t);
			medium_start(sp, t);
			return;
		}
		t = t->wnext[side];
	}
}

static void medium_send(struct sim_pipeline *sp, struct sim_token *t, const struct sim_hop *h)
{
	struct sim_server *l = h->link;
	int ends[2] = { h->from, h->to };

	sim_acc_touch(&l->acc, sim_now(sp), l->n, l->busy);
	sim_acc_max(&l->acc, ++l->n);
	media_count(sp, l, +1);
	if (!sp->media[h->from].busy && !sp->media[h->to].busy) {
		medium_start(sp, t);
		return;
	}
	for (int side = 0; side < 2; side++) {
		struct sim_medium *m = &sp->media[ends[side]];

		t->wnext[side] = NULL;
		t->wprev[side] = m->wtail;
		if (m->wtail)
			m->wtail->wnext[wait_side(m->wtail, ends[side])] = t;
		else
			m->whead = t;
		m->wtail = t;
	}
}

static void ev_medium_done(struct sim_engine *e, void *ctx, uint64_t arg)
{
	struct sim_pipeline *sp = ctx;
	struct sim_token *t = (struct sim_token *)(uintptr_t)arg;
	const struct sim_hop *h = token_hop(t);
	char a[16], b[16];

	t->ev = (struct sim_event_ref){ 0, 0 };
	media_set(sp, h, NULL);
	link_leave(sp, h, true);
	SIM_TRACE(sp, "link_end req=%" PRId64 " hop=%d from=%s to=%s", t->req_id, t->step / 2,
		  node_label(sp, h->from, a, sizeof(a)), node_label(sp, h->to, b, sizeof(b)));
	medium_try_start(sp, h->from);
	medium_try_start(sp, h->to);
	link_finished(sp, t);
}

void sim_media_purge(struct sim_pipeline *sp, int node, const struct sim_deploy *dep)
{
	struct sim_medium *m = &sp->media[node];
	struct sim_token *t = m->current;

	if (t && (!dep || t->dep == dep)) {
		const struct sim_hop *h = token_hop(t);

		sim_engine_cancel(sp->eng, &t->ev);
		media_set(sp, h, NULL);
		link_leave(sp, h, true);
		sim_lose(sp, t, dep ? "dropped" : "crash");
	}
	for (t = m->whead; t;) {
		const struct sim_hop *h = token_hop(t);
		struct sim_token *next = t->wnext[wait_side(t, node)];

		if (!dep || t->dep == dep) {
			wait_unlink(sp, t);
			link_leave(sp, h, false);
			sim_lose(sp, t, dep ? "dropped" : "crash");
		}
		t = next;
	}
}

void sim_media_restart(struct sim_pipeline *sp)
{
	for (int i = 0; i <= sp->n; i++)
		medium_try_start(sp, i);
}

/* ---- requests through the pipeline --------------------------------------------------------- */

void sim_lose(struct sim_pipeline *sp, struct sim_token *t, const char *why)
{
	sp->report.lost++;
	SIM_TRACE(sp, "lost req=%" PRId64 " epoch=%d why=%s", t->req_id, t->dep->epoch, why);
	token_free(sp, t);
}

static void check_end(struct sim_pipeline *sp)
{
	if (sp->issuing_done && sp->outstanding == 0) {
		SIM_TRACE(sp, "end");
		sim_engine_stop(sp->eng);
	}
}

static void maybe_warm(struct sim_pipeline *sp)
{
	if (!sp->warm && sp->report.completed >= sp->cfg.warmup_requests &&
	    sim_now(sp) >= sim_to_ns(sp->cfg.warmup_s))
		sim_stats_start(sp);
}

#define issue_closed sim_issue_closed

static void complete(struct sim_pipeline *sp, struct sim_token *t)
{
	struct sim_req *req = t->req;
	bool duplicate = req->id != t->req_id;
	int64_t id = t->req_id;

	if (t->dep->first_answer_ns < 0)
		t->dep->first_answer_ns = sim_now(sp);
	token_free(sp, t);
	if (duplicate) {
		sp->report.duplicates++;
		SIM_TRACE(sp, "duplicate req=%" PRId64, id);
		return;
	}
	sim_engine_cancel(sp->eng, &req->timer);
	SIM_TRACE(sp, "complete req=%" PRId64 " latency_ns=%" PRId64, id,
		  sim_now(sp) - req->issue_ns);
	sim_stats_complete(sp, req);
	if (req->prev)
		req->prev->next = req->next;
	else
		sp->out_head = req->next;
	if (req->next)
		req->next->prev = req->prev;
	else
		sp->out_tail = req->prev;
	sim_acc_touch(&sp->sys_acc, sim_now(sp), (int)sp->outstanding, false);
	sp->outstanding--;
	req_free(sp, req);
	maybe_warm(sp);
	if (sp->cfg.arrival == SIM_CLOSED)
		issue_closed(sp);
	check_end(sp);
}

static bool node_dead(const struct sim_pipeline *sp, int node)
{
	return node < sp->n && (sp->nodes[node].dead || sp->nodes[node].away);
}

/* Move `t` to its next hop or stage; hops that take no time are crossed at once. */
static void advance(struct sim_pipeline *sp, struct sim_token *t)
{
	struct sim_deploy *d = t->dep;

	t->ev = (struct sim_event_ref){ 0, 0 };
	for (;;) {
		if (d->dropped) {
			sim_lose(sp, t, "dropped");
			return;
		}
		if (token_stale(t)) {
			token_cancel(sp, t);
			return;
		}
		t->step++;
		if (t->step > 2 * d->k) {
			complete(sp, t);
			return;
		}
		if (t->step % 2 == 0) {
			const struct sim_hop *h = &d->hops[t->step / 2];

			if (!h->link)
				continue;
			if (node_dead(sp, h->from) || node_dead(sp, h->to)) {
				sim_lose(sp, t, "dead_node");
				return;
			}
			if (sp->cfg.shared_medium)
				medium_send(sp, t, h);
			else
				server_push(sp, h->link, t);
			return;
		}
		int node = d->plan.stages[token_stage(t)].node;

		if (node_dead(sp, node)) {
			sim_lose(sp, t, "dead_node");
			return;
		}
		server_push(sp, &sp->cpu[node], t);
		return;
	}
}

/* Whether the dispatcher knows that `req`'s last attempt may be lost: its deployment has been
 * dropped, or it runs through a node the dispatcher has declared dead. It does not know more:
 * an attempt merely queueing in a healthy deployment is not resent. */
static bool attempt_known_lost(const struct sim_pipeline *sp, const struct sim_req *req)
{
	const struct sim_deploy *d = req->dep;

	if (!d || d->dropped)
		return true;
	for (int s = 0; s < d->k; s++)
		if (sp->nodes[d->plan.stages[s].node].known_dead)
			return true;
	return false;
}

static void ev_retry(struct sim_engine *e, void *ctx, uint64_t arg)
{
	struct sim_pipeline *sp = ctx;
	struct sim_req *req = (struct sim_req *)(uintptr_t)arg;

	req->timer = (struct sim_event_ref){ 0, 0 };
	if (attempt_known_lost(sp, req)) {
		SIM_TRACE(sp, "timeout req=%" PRId64, req->id);
		sim_send_request(sp, req);
		return;
	}
	/* Still in a healthy deployment: only slow. It is not looked at again unless failure
	 * detection learns of a loss (sim_resend_known_lost). */
	SIM_TRACE(sp, "check req=%" PRId64 " alive", req->id);
}

void sim_resend_known_lost(struct sim_pipeline *sp)
{
	int64_t now = sim_now(sp);

	if (sp->retry_ns <= 0)
		return;
	for (struct sim_req *req = sp->out_head; req; req = req->next) {
		int64_t at;

		/* Waiting already, or its check is still to come (it will see the loss). */
		if (req->held || req->timer.seq != 0 || !attempt_known_lost(sp, req))
			continue;
		/* No sooner than the retry timeout after the last send. */
		at = req->sent_ns + sp->retry_ns > now ? req->sent_ns + sp->retry_ns : now;
		sim_schedule(sp, at, ev_retry, sp, (uintptr_t)req, &req->timer);
	}
}

static int backlog_push(struct sim_pipeline *sp, struct sim_req *req)
{
	if (sp->bl_len == sp->bl_cap) {
		size_t cap = sp->bl_cap ? 2 * sp->bl_cap : 64;
		struct sim_backlog_entry *v = malloc(cap * sizeof(*v));

		if (!v)
			return EP_ENOMEM;
		for (size_t i = 0; i < sp->bl_len; i++)
			v[i] = sp->backlog[(sp->bl_head + i) % sp->bl_cap];
		free(sp->backlog);
		sp->backlog = v;
		sp->bl_cap = cap;
		sp->bl_head = 0;
	}
	sp->backlog[(sp->bl_head + sp->bl_len++) % sp->bl_cap] =
		(struct sim_backlog_entry){ req, req->id };
	return EP_OK;
}

/* Put an attempt of `req` into the live deployment and arm its retry timer. */
static void dispatch(struct sim_pipeline *sp, struct sim_req *req)
{
	struct sim_token *t;

	if (!(t = token_alloc(sp)))
		return;
	t->req = req;
	t->req_id = req->id;
	t->dep = sp->live;
	t->step = -1;
	req->dep = sp->live;
	req->sent_ns = sim_now(sp);
	SIM_TRACE(sp, "send req=%" PRId64 " attempt=%d epoch=%d", req->id, req->attempts,
		  sp->live->epoch);
	if (sp->retry_ns > 0) {
		sim_engine_cancel(sp->eng, &req->timer);
		sim_schedule(sp, sim_now(sp) + sp->retry_ns, ev_retry, sp, (uintptr_t)req,
			     &req->timer);
	}
	advance(sp, t);
}

void sim_backlog_flush(struct sim_pipeline *sp)
{
	/* Requests sent now may come back to the backlog only if the pipeline goes down again
	 * during the flush, which cannot happen at one instant; bound the loop anyway. */
	for (size_t n = sp->bl_len; n > 0 && sp->bl_len > 0 && sp->state == SIM_UP; n--) {
		struct sim_backlog_entry b = sp->backlog[sp->bl_head];

		sp->bl_head = (sp->bl_head + 1) % sp->bl_cap;
		sp->bl_len--;
		if (b.req->id == b.id) { /* else it completed meanwhile */
			b.req->held = false;
			dispatch(sp, b.req);
		}
	}
}

int64_t sim_backlog_waiting(const struct sim_pipeline *sp)
{
	int64_t n = 0;

	for (size_t i = 0; i < sp->bl_len; i++) {
		const struct sim_backlog_entry *b = &sp->backlog[(sp->bl_head + i) % sp->bl_cap];

		n += b->req->id == b->id;
	}
	return n;
}

void sim_send_request(struct sim_pipeline *sp, struct sim_req *req)
{
	if (req->held)
		return; /* already waiting for the pipeline */
	req->attempts++;
	if (req->attempts > 1) {
		sp->report.retries++;
		if (req->attempts == 2)
			sp->report.requests_retried++;
	}
	if (sp->state != SIM_UP) {
		SIM_TRACE(sp, "hold req=%" PRId64, req->id);
		if (backlog_push(sp, req))
			sim_fail(sp, EP_ENOMEM, "out of memory for the dispatcher's backlog");
		req->held = true;
		return;
	}
	dispatch(sp, req);
}

static bool can_issue(const struct sim_pipeline *sp)
{
	const struct sim_config *c = &sp->cfg;

	return (c->requests == 0 || sp->next_id < c->requests) &&
	       (c->duration_s == 0 || sim_now(sp) < sp->duration_ns);
}

static void new_request(struct sim_pipeline *sp)
{
	struct sim_req *req = req_alloc(sp);

	if (!req)
		return;
	req->id = sp->next_id++;
	req->issue_ns = sim_now(sp);
	req->attempts = 0;
	req->held = false;
	/* Outstanding requests are listed oldest first (appended; the tail is the newest). */
	req->next = NULL;
	req->prev = sp->out_tail;
	if (sp->out_tail)
		sp->out_tail->next = req;
	else
		sp->out_head = req;
	sp->out_tail = req;
	req->dep = NULL;
	req->timer = (struct sim_event_ref){ 0, 0 };
	sp->report.issued++;
	sim_acc_touch(&sp->sys_acc, sim_now(sp), (int)sp->outstanding, false);
	sp->outstanding++;
	sim_acc_max(&sp->sys_acc, (int)sp->outstanding);
	SIM_TRACE(sp, "issue req=%" PRId64, req->id);
	sim_send_request(sp, req);
}

/* Keep `window` requests in flight. Iterative, so that requests answered at once (a pipeline
 * that takes no time) do not recurse. */
void sim_issue_closed(struct sim_pipeline *sp)
{
	if (sp->in_issue)
		return; /* called back from complete(): the loop below goes on */
	sp->in_issue = true;
	while (!sp->issuing_done && sp->outstanding < sp->window && sp->err_code == EP_OK) {
		if (!can_issue(sp)) {
			sp->issuing_done = true;
			break;
		}
		new_request(sp);
	}
	sp->in_issue = false;
}

static void ev_arrival(struct sim_engine *e, void *ctx, uint64_t arg)
{
	struct sim_pipeline *sp = ctx;
	const struct sim_config *c = &sp->cfg;
	int64_t next;

	new_request(sp);
	if (c->arrival == SIM_POISSON)
		next = sim_now(sp) + (int64_t)llround(gsl_ran_exponential(sp->rng_arrival,
									  NS_PER_S / c->rate));
	else
		next = (int64_t)llround((double)(arg + 1) * NS_PER_S / c->rate);
	if ((c->requests == 0 || sp->next_id < c->requests) &&
	    (c->duration_s == 0 || next < sp->duration_ns))
		sim_schedule(sp, next, ev_arrival, sp, arg + 1, NULL);
	else
		sp->issuing_done = true;
	check_end(sp);
}

static void ev_start(struct sim_engine *e, void *ctx, uint64_t arg)
{
	struct sim_pipeline *sp = ctx;
	const struct sim_config *c = &sp->cfg;

	maybe_warm(sp);
	if (c->arrival == SIM_CLOSED) {
		issue_closed(sp);
		check_end(sp);
	} else if (c->arrival == SIM_POISSON) {
		sim_schedule(sp, (int64_t)llround(gsl_ran_exponential(sp->rng_arrival,
								      NS_PER_S / c->rate)),
			     ev_arrival, sp, 0, NULL);
	} else {
		ev_arrival(e, ctx, 0);
	}
}

static void ev_warmup(struct sim_engine *e, void *ctx, uint64_t arg)
{
	maybe_warm(ctx);
}

/* ---- the closed-loop window ------------------------------------------------------------------ */


int sim_deploy_window(const struct sim_pipeline *sp, const struct sim_deploy *d)
{
	double sum = 0, largest = 0;

	for (int s = 0; s < d->k; s++) {
		sum += (double)d->stage_ns[s];
		largest = fmax(largest, (double)d->stage_ns[s]);
	}
	for (int h = 0; h <= d->k; h++) {
		const struct sim_hop *hop = &d->hops[h];

		if (!hop->link)
			continue;
		sum += (double)hop->busy_ns + (sp->cfg.latency_pipelined ? (double)hop->lat_ns : 0);
		largest = fmax(largest, (double)hop->busy_ns);
	}
	return workload_window(&(struct workload_terms){ sum, largest }, 1000000);
}

int sim_plan_window(const struct problem *p, const struct plan *plan,
		    const struct sim_config *cfg)
{
	struct workload_model m = { cfg->compute, cfg->dispatcher_hops, cfg->latency_pipelined };
	struct workload_terms t;
	struct ep_error err;

	if (workload_plan_terms(p, plan, &m, &t, &err))
		return -1;
	return workload_window(&t, 1000000);
}

double sim_plan_bottleneck(const struct problem *p, const struct plan *plan,
			   const struct sim_config *cfg)
{
	int k = plan->n_stages, n = p->cluster->n, disp = CLUSTER_DISPATCHER(p->cluster);
	double *stage_s = malloc((2 * (size_t)k + 1) * sizeof(double)), *hop_s;
	double *medium = calloc((size_t)n + 1, sizeof(double)), largest = 0;
	struct plan_cost cost;

	if (!stage_s || !medium) {
		free(stage_s);
		free(medium);
		return NAN;
	}
	hop_s = stage_s + k;
	plan_cost(p, plan, &cost, stage_s, hop_s);
	for (int s = 0; s < k && cfg->compute; s++)
		largest = fmax(largest, stage_s[s]);
	for (int h = 0; h <= k; h++) {
		int from = h == 0 ? disp : plan->stages[h - 1].node;
		int to = h == k ? disp : plan->stages[h].node;
		double busy = hop_s[h];

		if (((h == 0 || h == k) && !cfg->dispatcher_hops) || !(busy > 0))
			continue;
		if (cfg->latency_pipelined)
			busy -= fmin(cluster_latency(p->cluster, from, to), busy);
		if (cfg->shared_medium) {
			medium[from] += busy;
			medium[to] += busy;
		} else {
			largest = fmax(largest, busy);
		}
	}
	for (int i = 0; cfg->shared_medium && i <= n; i++)
		largest = fmax(largest, medium[i]);
	free(stage_s);
	free(medium);
	return largest;
}

/* ---- create, run, destroy ------------------------------------------------------------------ */

/* splitmix64: independent seeds for the streams from the run's seed. */
static uint64_t stream_seed(uint64_t seed, uint64_t stream)
{
	return ep_mix64(seed + 0x9e3779b97f4a7c15ULL * (stream + 1));
}

static bool time_ok(double s)
{
	return isfinite(s) && s >= 0 && s <= MAX_TIME_S;
}

/* The plan runs on the problem, one stage per node. */
static int check_plan(const struct problem *p, const struct plan *plan, struct ep_error *err)
{
	struct plan_defects d;
	struct ep_error e;
	int rc = plan_check(p, plan, &d, &e);

	if (rc == EP_ENOMEM)
		return ep_error_set(err, rc, "%s", e.msg);
	if (d.structural)
		return ep_error_set(err, EP_EINVAL, "the plan cannot run: %s", e.msg);
	if (d.repeated_nodes)
		return ep_error_set(err, EP_EINVAL, "the plan puts two stages on one node; the "
				    "simulator needs distinct nodes");
	return EP_OK;
}

static int check_power(const struct sim_config *c, struct ep_error *err)
{
	if (c->power && !(c->power->idle_w >= 0 && c->power->max_w >= c->power->idle_w &&
			  isfinite(c->power->max_w) && c->power->tx_j_per_bit >= 0 &&
			  c->power->rx_j_per_bit >= 0 && isfinite(c->power->tx_j_per_bit) &&
			  isfinite(c->power->rx_j_per_bit)))
		return ep_error_set(err, EP_EINVAL, "power model '%s': P_idle %g W, P_max %g W, "
				    "%g and %g J/bit: expected 0 <= P_idle <= P_max and per-bit "
				    "energies >= 0, all finite", c->power->name, c->power->idle_w,
				    c->power->max_w, c->power->tx_j_per_bit, c->power->rx_j_per_bit);
	return EP_OK;
}

/* The workload: window or rate, the run's end, the warm-up, and the time distributions. */
static int check_workload(const struct sim_config *c, struct ep_error *err)
{
	if (c->arrival == SIM_CLOSED && !c->window_per_plan && c->window < 1)
		return ep_error_set(err, EP_EINVAL, "window %d: at least 1 request must be in "
				    "flight", c->window);
	if (c->arrival != SIM_CLOSED && !(isfinite(c->rate) && c->rate > 0 && c->rate < 1e9))
		return ep_error_set(err, EP_EINVAL, "rate %g: expected a positive number of "
				    "requests per second", c->rate);
	if (c->requests < 0 || !time_ok(c->duration_s))
		return ep_error_set(err, EP_EINVAL, "requests %" PRId64 ", duration %g s: expected "
				    "non-negative values", c->requests, c->duration_s);
	if (c->requests == 0 && c->duration_s == 0)
		return ep_error_set(err, EP_EINVAL, "neither a number of requests nor a duration "
				    "is given: the run would not end");
	if (c->warmup_requests < 0 || !time_ok(c->warmup_s))
		return ep_error_set(err, EP_EINVAL, "warm-up %" PRId64 " requests, %g s: expected "
				    "non-negative values", c->warmup_requests, c->warmup_s);
	if (c->requests > 0 && c->warmup_requests >= c->requests)
		return ep_error_set(err, EP_EINVAL, "a warm-up of %" PRId64 " requests leaves none "
				    "of the %" PRId64 " to measure", c->warmup_requests, c->requests);
	if ((unsigned)c->service > SIM_DIST_LOGNORMAL || (unsigned)c->transfer > SIM_DIST_LOGNORMAL)
		return ep_error_set(err, EP_EINVAL, "unknown distribution");
	if ((c->service == SIM_DIST_LOGNORMAL && !(c->service_cv > 0 && c->service_cv < 1e3)) ||
	    (c->transfer == SIM_DIST_LOGNORMAL && !(c->transfer_cv > 0 && c->transfer_cv < 1e3)))
		return ep_error_set(err, EP_EINVAL, "lognormal coefficient of variation %g: expected "
				    "a positive number", c->service == SIM_DIST_LOGNORMAL ?
				    c->service_cv : c->transfer_cv);
	return EP_OK;
}

/* Crashes and their recovery: the failure list, the MTBF, heartbeats and the retry timeout. */
static int check_recovery(const struct problem *p, const struct sim_config *c, struct ep_error *err)
{
	if (c->n_failures < 0 || (c->n_failures > 0 && !c->failures))
		return ep_error_set(err, EP_EINVAL, "%d failures given without a list",
				    c->n_failures);
	for (int i = 0; i < c->n_failures; i++) {
		if (c->failures[i].node < 0 || c->failures[i].node >= p->cluster->n)
			return ep_error_set(err, EP_EINVAL, "failure of node %d: the cluster has "
					    "nodes 0 to %d", c->failures[i].node, p->cluster->n - 1);
		if (!time_ok(c->failures[i].at_s))
			return ep_error_set(err, EP_EINVAL, "failure of node %d at %g s: expected a "
					    "time from 0 to %g s", c->failures[i].node,
					    c->failures[i].at_s, MAX_TIME_S);
	}
	if (!time_ok(c->mtbf_s))
		return ep_error_set(err, EP_EINVAL, "MTBF %g s: expected a non-negative time",
				    c->mtbf_s);
	if (!time_ok(c->heartbeat_period_s) || sim_to_ns(c->heartbeat_period_s) <= 0 ||
	    !time_ok(c->heartbeat_timeout_s) || c->heartbeat_timeout_s < c->heartbeat_period_s)
		return ep_error_set(err, EP_EINVAL, "heartbeat period %g s, timeout %g s: expected "
				    "0 < period <= timeout", c->heartbeat_period_s,
				    c->heartbeat_timeout_s);
	if (!(isfinite(c->retry_timeout_s) && c->retry_timeout_s >= 0 &&
	      c->retry_timeout_s <= SIM_RETRY_TIMEOUT_MAX_S))
		return ep_error_set(err, EP_EINVAL, "retry timeout %g s: expected a time from 0 to "
				    "%g s", c->retry_timeout_s, SIM_RETRY_TIMEOUT_MAX_S);
	return EP_OK;
}

/* Model updates: each with a model and a time, and an algorithm to plan the new model. */
static int check_updates(const struct sim_config *c, struct ep_error *err)
{
	if (c->n_updates < 0 || (c->n_updates > 0 && !c->updates))
		return ep_error_set(err, EP_EINVAL, "%d updates given without a list", c->n_updates);
	for (int i = 0; i < c->n_updates; i++) {
		if (!c->updates[i].profile)
			return ep_error_set(err, EP_EINVAL, "update %d has no model", i + 1);
		if (!time_ok(c->updates[i].at_s))
			return ep_error_set(err, EP_EINVAL, "update at %g s: expected a time from 0 "
					    "to %g s", c->updates[i].at_s, MAX_TIME_S);
	}
	if (c->n_updates > 0 && !c->algo)
		return ep_error_set(err, EP_EINVAL, "a model update needs an algorithm to plan the "
				    "new model");
	return EP_OK;
}

/* The whole configuration, in the order its errors are reported: the first one found. */
static int check_config(const struct problem *p, const struct plan *plan,
			const struct sim_config *c, struct ep_error *err)
{
	EP_CHECK(check_plan(p, plan, err));
	if ((unsigned)c->arrival > SIM_CONSTANT)
		return ep_error_set(err, EP_EINVAL, "unknown arrival process %d", (int)c->arrival);
	EP_CHECK(check_power(c, err));
	EP_CHECK(check_workload(c, err));
	EP_CHECK(sim_faults_check(p, c, err));
	EP_CHECK(check_recovery(p, c, err));
	EP_CHECK(check_updates(c, err));
	if (!time_ok(c->bin_s) || sim_to_ns(c->bin_s) <= 0)
		return ep_error_set(err, EP_EINVAL, "series bin %g s: expected a positive time",
				    c->bin_s);
	return EP_OK;
}

/* The pipeline's settings from the configuration, times in nanoseconds. */
static void pipeline_init(struct sim_pipeline *sp, const struct problem *p,
			  const struct sim_config *cfg)
{
	sp->base = p;
	sp->target = p;
	sp->cfg = *cfg;
	sp->n = p->cluster->n;
	sp->update_incident = -1;
	sp->wait_incident = -1;
	sp->dip_update = -1;
	sp->window = cfg->window;
	sp->first_answer_ns = -1;
	sp->period_ns = sim_to_ns(cfg->heartbeat_period_s);
	sp->timeout_ns = sim_to_ns(cfg->heartbeat_timeout_s);
	sp->retry_ns = sim_to_ns(cfg->retry_timeout_s);
	sp->bin_ns = sim_to_ns(cfg->bin_s);
	sp->duration_ns = sim_to_ns(cfg->duration_s);
	sp->batch_n = 1;
}

/* The five random streams, each seeded from the run's seed and its own number. Returns
 * EP_OK or EP_ENOMEM. */
static int pipeline_rngs(struct sim_pipeline *sp, uint64_t seed)
{
	gsl_rng **rngs[] = {&sp->rng_arrival, &sp->rng_service, &sp->rng_transfer, &sp->rng_failure,
			    &sp->rng_plan};

	for (int i = 0; i < 5; i++) {
		*rngs[i] = gsl_rng_alloc(gsl_rng_mt19937);
		if (!*rngs[i])
			return EP_ENOMEM;
		gsl_rng_set(*rngs[i], ep_seed32(stream_seed(seed, (uint64_t)i)));
	}
	return EP_OK;
}

/* Per node: its state, its CPU server, its statistics, and with a shared medium each node's
 * medium and the dispatcher's. Returns EP_OK or EP_ENOMEM. */
static int pipeline_alloc_nodes(struct sim_pipeline *sp, bool shared_medium)
{
	sp->nodes = calloc((size_t)sp->n, sizeof(*sp->nodes));
	sp->cpu = calloc((size_t)sp->n, sizeof(*sp->cpu));
	sp->node_stats = calloc((size_t)sp->n, sizeof(*sp->node_stats));
	if (!sp->nodes || !sp->cpu || !sp->node_stats)
		return EP_ENOMEM;
	for (int i = 0; i < sp->n; i++) {
		sp->cpu[i].sp = sp;
		sp->cpu[i].from = sp->cpu[i].to = i;
	}
	if (shared_medium) {
		sp->media = calloc((size_t)sp->n + 1, sizeof(*sp->media));
		sp->media_stats = calloc((size_t)sp->n + 1, sizeof(*sp->media_stats));
		if (!sp->media || !sp->media_stats)
			return EP_ENOMEM;
	}
	return EP_OK;
}

/* The problem of each update's model on the same cluster, and the earliest update (the one
 * whose dip the report measures). */
static int pipeline_updates(struct sim_pipeline *sp, const struct problem *p,
			    const struct sim_config *cfg, struct ep_error *err)
{
	if (cfg->n_updates <= 0)
		return EP_OK;
	sp->update_problems = calloc((size_t)cfg->n_updates, sizeof(*sp->update_problems));
	if (!sp->update_problems)
		return ep_error_set(err, EP_ENOMEM, "out of memory for the simulation");
	for (int i = 0; i < cfg->n_updates; i++) {
		EP_CHECK(problem_init(&sp->update_problems[i], cfg->updates[i].profile, p->cluster,
				      &p->options, err));
		sp->n_update_problems++;
		if (sp->dip_update < 0 || cfg->updates[i].at_s < cfg->updates[sp->dip_update].at_s)
			sp->dip_update = i;
	}
	return EP_OK;
}

/* The fault timeline's state: per node its stall, per ordered pair (dispatcher included) its
 * bandwidth, loss, cut and open fault. Returns EP_OK or EP_ENOMEM. */
static int pipeline_alloc_faults(struct sim_pipeline *sp, int n_faults)
{
	size_t v = ((size_t)sp->n + 1) * ((size_t)sp->n + 1);

	if (n_faults <= 0)
		return EP_OK;
	sp->stall_until_ns = calloc((size_t)sp->n, sizeof(*sp->stall_until_ns));
	sp->pair_bw = calloc(v, sizeof(*sp->pair_bw));
	sp->pair_loss = calloc(v, sizeof(*sp->pair_loss));
	sp->pair_down_until_ns = calloc(v, sizeof(*sp->pair_down_until_ns));
	sp->fault_node = calloc(2 * (size_t)n_faults, sizeof(*sp->fault_node));
	sp->pair_cut = calloc(v, sizeof(*sp->pair_cut));
	sp->pair_fault = malloc(v * sizeof(*sp->pair_fault));
	sp->stuck_ns = malloc(v * sizeof(*sp->stuck_ns));
	if (!sp->stall_until_ns || !sp->pair_bw || !sp->pair_loss || !sp->pair_down_until_ns ||
	    !sp->fault_node || !sp->pair_cut || !sp->pair_fault || !sp->stuck_ns)
		return EP_ENOMEM;
	for (size_t i = 0; i < v; i++) {
		sp->pair_fault[i] = -1;
		sp->stuck_ns[i] = -1;
	}
	return EP_OK;
}

int sim_pipeline_create(const struct problem *p, const struct plan *plan,
			const struct sim_config *cfg, struct sim_pipeline **out,
			struct ep_error *err)
{
	struct sim_pipeline *sp;
	struct sim_deploy *d;
	int rc;

	*out = NULL;
	rc = check_config(p, plan, cfg, err);
	if (rc)
		return rc;
	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return ep_error_set(err, EP_ENOMEM, "out of memory for the simulation");
	pipeline_init(sp, p, cfg);
	if (pipeline_rngs(sp, cfg->seed))
		goto nomem;
	/* Room for every request's events at once in a closed loop (the pool grows if needed). */
	rc = sim_engine_create(cfg->arrival == SIM_CLOSED && cfg->window < 16384
				       ? 4 * (size_t)cfg->window + 64
				       : 1024,
			       &sp->eng, err);
	if (rc)
		goto fail;
	if (pipeline_alloc_nodes(sp, cfg->shared_medium))
		goto nomem;
	rc = pipeline_updates(sp, p, cfg, err);
	if (rc)
		goto fail;
	if (pipeline_alloc_faults(sp, cfg->n_faults))
		goto nomem;
	rc = sim_hist_create(&sp->lat, err);
	if (rc)
		goto fail;
	rc = sim_deploy_build(sp, p, plan, &d, err);
	if (rc)
		goto fail;
	sp->live = d;
	sp->state = SIM_UP;
	if (cfg->window_per_plan)
		sp->window = sim_deploy_window(sp, d);
	sp->report.window_start = cfg->arrival == SIM_CLOSED ? sp->window : 0;
	*out = sp;
	return EP_OK;
nomem:
	rc = ep_error_set(err, EP_ENOMEM, "out of memory for the simulation");
fail:
	sim_pipeline_destroy(sp);
	return rc;
}

void sim_pipeline_destroy(struct sim_pipeline *sp)
{
	if (!sp)
		return;
	sim_engine_destroy(sp->eng);
	gsl_rng_free(sp->rng_arrival);
	gsl_rng_free(sp->rng_service);
	gsl_rng_free(sp->rng_transfer);
	gsl_rng_free(sp->rng_failure);
	gsl_rng_free(sp->rng_plan);
	for (int i = 0; i < sp->n_deploys; i++)
		sim_deploy_destroy(sp->deploys[i]);
	free(sp->deploys);
	for (int i = 0; i < sp->n_links; i++)
		free(sp->links[i]);
	free(sp->links);
	for (int i = 0; i < sp->n_chunks; i++)
		free(sp->chunks[i]);
	free(sp->chunks);
	for (int i = 0; i < sp->n_update_problems; i++)
		problem_release(&sp->update_problems[i]);
	free(sp->update_problems);
	free(sp->nodes);
	free(sp->cpu);
	free(sp->media);
	free(sp->backlog);
	sim_hist_destroy(sp->lat);
	free(sp->series);
	free(sp->incidents);
	free(sp->node_stats);
	free(sp->link_stats);
	free(sp->media_stats);
	free(sp->energy);
	free(sp->stall_until_ns);
	free(sp->pair_bw);
	free(sp->pair_loss);
	free(sp->pair_down_until_ns);
	free(sp->fault_node);
	free(sp->pair_cut);
	free(sp->pair_fault);
	free(sp->stuck_ns);
	free(sp);
}

int sim_pipeline_run(struct sim_pipeline *sp, struct ep_error *err)
{
	int64_t warm_ns = sim_to_ns(sp->cfg.warmup_s);
	int rc;

	if (sp->ran)
		return ep_error_set(err, EP_EINVAL, "a simulation runs once");
	sp->ran = true;
	rc = sim_recovery_start(sp, err);
	if (rc)
		return rc;
	rc = sim_engine_schedule(sp->eng, 0, ev_start, sp, 0, NULL, err);
	if (!rc && warm_ns > 0)
		rc = sim_engine_schedule(sp->eng, warm_ns, ev_warmup, sp, 0, NULL, err);
	if (rc)
		return rc;
	/* Ends with the last event, or stopped: by the end of the run or by sim_fail. A run to
	 * SIM_TIME_MAX with events left after it would be a clock gone wrong. */
	if (sim_engine_run(sp->eng, SIM_TIME_MAX) == SIM_RUN_UNTIL && !sp->err_code)
		sim_fail(sp, EP_EINTERNAL, "the simulation's clock passed its end with events left");
	if (sp->err_code) {
		if (err)
			*err = sp->err;
		return sp->err_code;
	}
	rc = sim_stats_report(sp, err);
	if (rc)
		return rc;
	if (sp->cfg.trace && (fflush(sp->cfg.trace) || ferror(sp->cfg.trace)))
		return ep_error_set(err, EP_EIO, "writing the event trace failed");
	return EP_OK;
}

const struct sim_report *sim_pipeline_report(const struct sim_pipeline *sp)
{
	return &sp->report;
}
