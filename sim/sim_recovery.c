/*
 * Deployments, crashes, failure detection, re-planning on the surviving nodes, redeployment and
 * the model update (the model is described in sim_pipeline.h).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "sim_internal.h"

/* ---- deployments --------------------------------------------------------------------------- */

void sim_deploy_destroy(struct sim_deploy *d)
{
	if (!d)
		return;
	plan_release(&d->plan);
	free(d->stage_ns);
	free(d->hops);
	free(d);
}

int sim_deploy_build(struct sim_pipeline *sp, const struct problem *p, const struct plan *plan,
		     struct sim_deploy **out, struct ep_error *err)
{
	const struct sim_config *c = &sp->cfg;
	const struct cluster *cl = p->cluster;
	int k = plan->n_stages;
	struct sim_deploy *d = calloc(1, sizeof(*d));
	double *terms = malloc((2 * (size_t)k + 1) * sizeof(double)); /* stage_s[k], hop_s[k+1] */
	double *stage_s = terms, *hop_s = terms ? terms + k : NULL;

	*out = NULL;
	if (!d || !terms)
		goto nomem;
	plan_init(&d->plan);
	d->problem = p;
	d->k = k;
	d->first_answer_ns = -1;
	d->stage_ns = calloc((size_t)k, sizeof(*d->stage_ns));
	d->hops = calloc((size_t)k + 1, sizeof(*d->hops));
	if (!d->stage_ns || !d->hops || plan_copy(&d->plan, plan))
		goto nomem;
	/* Every term, counted by the metric or not; the configuration says which take time. */
	plan_cost(p, &d->plan, &d->cost, stage_s, hop_s);
	for (int s = 0; s < k; s++)
		d->stage_ns[s] = c->compute ? sim_to_ns(stage_s[s]) : 0;
	/* The hops as plan_cost numbers them: hop h goes into stage h, hop k back out. */
	for (int h = 0; h <= k; h++) {
		struct sim_hop *hop = &d->hops[h];
		int64_t total_ns;

		hop->from = h == 0 ? CLUSTER_DISPATCHER(cl) : plan->stages[h - 1].node;
		hop->to = h == k ? CLUSTER_DISPATCHER(cl) : plan->stages[h].node;
		if ((h == 0 || h == k) && !c->dispatcher_hops)
			continue;
		total_ns = sim_to_ns(hop_s[h]);
		if (total_ns <= 0)
			continue;
		hop->lat_ns = sim_to_ns(cluster_latency(cl, hop->from, hop->to));
		if (hop->lat_ns > total_ns)
			hop->lat_ns = total_ns;
		hop->busy_ns = c->latency_pipelined ? total_ns - hop->lat_ns : total_ns;
		hop->bits = p->wire_bits[h == 0 ? 0 : plan->stages[h - 1].end_cut];
		if (!(hop->link = sim_link_get(sp, hop->from, hop->to)))
			goto nomem;
	}
	if (sp->n_deploys == sp->cap_deploys) {
		int cap = sp->cap_deploys ? 2 * sp->cap_deploys : 8;
		struct sim_deploy **v = realloc(sp->deploys, (size_t)cap * sizeof(*v));

		if (!v)
			goto nomem;
		sp->deploys = v;
		sp->cap_deploys = cap;
	}
	free(terms);
	d->epoch = sp->n_deploys;
	sp->deploys[sp->n_deploys++] = d;
	*out = d;
	return EP_OK;
nomem:
	free(terms);
	sim_deploy_destroy(d);
	return ep_error_set(err, EP_ENOMEM, "out of memory for a deployment");
}

static bool deploy_uses(const struct sim_deploy *d, int node)
{
	if (!d)
		return false;
	for (int s = 0; s < d->k; s++)
		if (d->plan.stages[s].node == node)
			return true;
	return false;
}

/*
 * The bytes of the weights of the stage after cut a through cut b: its parameters times their
 * element size, whatever the accounting. The exact accounting's parameter bytes are that (each
 * layer's dtype, or the profile's); the published one's are the parameter count (defect D3),
 * so the count is multiplied by the profile's dtype, or float32 (the zoo's, and the
 * notebooks') when the layers keep their own, which the profile does not record.
 */
static double stage_weight_bytes(const struct model_profile *prof, int a, int b)
{
	enum model_dtype dtype = prof->options.dtype;
	double params = 0;

	if (prof->options.accounting == MODEL_ACCOUNT_EXACT)
		return prof->cuts[b].cum_param_bytes - prof->cuts[a].cum_param_bytes;
	for (int k = a + 1; k <= b; k++)
		params += (double)prof->cuts[k].seg_params;
	return params * model_dtype_size(dtype == MODEL_DTYPE_DEFAULT ? MODEL_DTYPE_FLOAT32 : dtype);
}

/*
 * The time to send `d`'s weights from the dispatcher: in parallel over its links (the longest),
 * or one after the other when the dispatcher's medium is shared. A live node that already runs
 * the same stage of the same model keeps its weights. None with local_weights.
 */
static int64_t deploy_time_ns(const struct sim_pipeline *sp, const struct sim_deploy *d)
{
	const struct cluster *cl = d->problem->cluster;
	const struct model_profile *prof = d->problem->profile;
	const struct sim_deploy *live = sp->live;
	int disp = CLUSTER_DISPATCHER(cl);
	double total = 0, longest = 0;

	if (sp->cfg.local_weights)
		return 0;
	for (int s = 0; s < d->k; s++) {
		const struct plan_stage *st = &d->plan.stages[s];
		double bytes = stage_weight_bytes(prof, st->first_cut, st->end_cut);
		bool kept = false;
		double t;

		for (int q = 0; live && !live->dropped && live->problem == d->problem && q < live->k;
		     q++) {
			const struct plan_stage *o = &live->plan.stages[q];

			kept |= o->node == st->node && o->first_cut == st->first_cut &&
				o->end_cut == st->end_cut;
		}
		if (kept || bytes <= 0)
			continue;
		t = bytes * 8 / cluster_bw(cl, disp, st->node) + cluster_latency(cl, disp, st->node);
		total += t;
		if (t > longest)
			longest = t;
	}
	return sim_to_ns(sp->cfg.shared_medium ? total : longest);
}

/*
 * Plan `full`'s model on the nodes the dispatcher has not declared dead, with the run's
 * algorithm: a cluster of those nodes (and the dispatcher) is built, the algorithm runs on the
 * problem over it, and the plan's nodes are mapped back. EP_OK with the plan in `out`;
 * EP_EINFEASIBLE (or the algorithm's other status) with the reason in `reason`; or an error.
 */
static int plan_on_alive(struct sim_pipeline *sp, const struct problem *full, struct plan *out,
			 char *reason, size_t reason_size, struct ep_error *err)
{
	const struct cluster *cl = full->cluster;
	int n = cl->n, m = 0, rc;
	int *map = malloc((size_t)n * sizeof(int));
	struct cluster *sub = NULL;
	struct problem p;
	struct algo_result r;
	bool have_p = false;

	algo_result_init(&r);
	if (!map) {
		rc = ep_error_set(err, EP_ENOMEM, "out of memory re-planning");
		goto out;
	}
	for (int i = 0; i < n; i++)
		if (!sp->nodes[i].known_dead)
			map[m++] = i;
	if (!sp->cfg.algo || m == 0) {
		snprintf(reason, reason_size, "%s", m == 0 ? "no node is left" :
			 "no algorithm to re-plan with");
		rc = EP_EINFEASIBLE;
		goto out;
	}
	/* Node i of `sub` is node map[i] of the full cluster. */
	rc = cluster_subset(cl, map, m, &sub, err);
	if (rc)
		goto out;
	rc = problem_init(&p, full->profile, sub, &full->options, err);
	if (rc)
		goto out;
	have_p = true;
	rc = algo_run(sp->cfg.algo, &p, &sp->cfg.algo_options, sp->rng_plan, &r, err);
	if (rc)
		goto out;
	if (r.status != EP_OK) {
		snprintf(reason, reason_size, "%s on %d surviving node(s): %.400s", sp->cfg.algo->name,
			 m, r.reason);
		rc = r.status;
		goto out;
	}
	plan_clear(out);
	for (int s = 0; s < r.plan.n_stages; s++) {
		const struct plan_stage *st = &r.plan.stages[s];

		if (plan_push(out, st->first_cut, st->end_cut, map[st->node])) {
			rc = ep_error_set(err, EP_ENOMEM, "out of memory re-planning");
			goto out;
		}
	}
	rc = EP_OK;
out:
	algo_result_release(&r);
	if (have_p)
		problem_release(&p);
	cluster_destroy(sub);
	free(map);
	return rc;
}

static struct sim_incident *incident_add(struct sim_pipeline *sp, enum sim_incident_kind kind,
					 int node)
{
	struct sim_incident *in;

	if (sp->n_incidents == sp->cap_incidents) {
		int cap = sp->cap_incidents ? 2 * sp->cap_incidents : 8;
		struct sim_incident *v = realloc(sp->incidents, (size_t)cap * sizeof(*v));

		if (!v) {
			sim_fail(sp, EP_ENOMEM, "out of memory for incidents");
			return NULL;
		}
		sp->incidents = v;
		sp->cap_incidents = cap;
	}
	in = &sp->incidents[sp->n_incidents++];
	memset(in, 0, sizeof(*in));
	in->kind = kind;
	in->node = node;
	in->at_s = (double)sim_now(sp) / NS_PER_S;
	in->detected_s = in->live_s = in->recovery_s = -1;
	in->deploy_s = in->bottleneck_s = -1;
	return in;
}

static void ev_golive(struct sim_engine *e, void *ctx, uint64_t arg);
static int declare_crashed_in(struct sim_pipeline *sp, const struct sim_deploy *d);
static void incident_share(struct sim_pipeline *sp, int from, int to);
static void incidents_share(struct sim_pipeline *sp, int first);

/*
 * Plan the target model on the nodes not declared dead and start deploying it. `recovery`: the
 * running deployment is broken and is dropped when the new one is live; otherwise (an update)
 * it keeps serving until then and drains afterwards. Returns false if no plan was found.
 */
static bool replan(struct sim_pipeline *sp, bool recovery, int incident)
{
	struct sim_incident *in;
	struct sim_deploy *d;
	struct ep_error e;
	struct plan plan;
	char reason[512] = "";
	int64_t dep_ns;
	int rc;

	plan_init(&plan);
	rc = plan_on_alive(sp, sp->target, &plan, reason, sizeof(reason), &e);
	in = &sp->incidents[incident];
	if (rc == EP_ENOMEM || rc == EP_EINTERNAL || (rc && reason[0] == '\0')) {
		sim_fail(sp, rc, "%s", e.msg);
		plan_release(&plan);
		return false;
	}
	if (rc) {
		snprintf(in->reason, sizeof(in->reason), "%s", reason);
		SIM_TRACE(sp, "no_plan model=%s why=\"%s\"", sp->target->profile->model, reason);
		plan_release(&plan);
		return false;
	}
	rc = sim_deploy_build(sp, sp->target, &plan, &d, &e);
	plan_release(&plan);
	if (rc) {
		sim_fail(sp, rc, "%s", e.msg);
		return false;
	}
	d->drop_previous = recovery;
	d->incident = incident;
	dep_ns = deploy_time_ns(sp, d);
	sp->pending = d;
	in->replanned = true;
	in->deploy_s = (double)dep_ns / NS_PER_S;
	in->bottleneck_s = d->cost.bottleneck_s;
	in->stages = d->k;
	if (sp->cfg.trace) {
		char buf[1024];
		size_t len = 0;

		buf[0] = '\0';
		for (int s = 0; s < d->k && len < sizeof(buf) - 32; s++)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%d..%d@%d",
						s ? "," : "", d->plan.stages[s].first_cut,
						d->plan.stages[s].end_cut, d->plan.stages[s].node);
		SIM_TRACE(sp, "replan epoch=%d model=%s plan=%s deploy_ns=%" PRId64, d->epoch,
			  d->problem->profile->model, buf, dep_ns);
	}
	sim_schedule(sp, sim_now(sp) + dep_ns, ev_golive, sp, (uintptr_t)d, NULL);
	return true;
}

static void drop_deploy(struct sim_pipeline *sp, struct sim_deploy *d)
{
	d->dropped = true;
	for (int i = 0; i < sp->n; i++)
		sim_server_purge(sp, &sp->cpu[i], d);
	if (sp->cfg.shared_medium) {
		for (int i = 0; i <= sp->n; i++)
			sim_media_purge(sp, i, d);
		sim_media_restart(sp);
	} else {
		for (int i = 0; i < sp->n_links; i++)
			sim_server_purge(sp, sp->links[i], d);
	}
}

static void ev_golive(struct sim_engine *e, void *ctx, uint64_t arg)
{
	struct sim_pipeline *sp = ctx;
	struct sim_deploy *d = (struct sim_deploy *)(uintptr_t)arg;
	int incident;

	if (d != sp->pending || sp->state == SIM_FAILED)
		return; /* superseded by a later plan */
	/* A node of the new plan that has crashed did not take its weights (or does not answer
	 * the go-live): the dispatcher declares it dead now and plans again. */
	incident = declare_crashed_in(sp, d);
	if (incident >= 0) {
		sim_resend_known_lost(sp);
		sp->pending = NULL;
		SIM_TRACE(sp, "deploy_failed epoch=%d", d->epoch);
		bool ok = replan(sp, d->drop_previous, incident);

		incidents_share(sp, incident);
		if (ok)
			incident_share(sp, incident, d->incident);
		else if (sp->err_code == EP_OK) {
			if (sp->state == SIM_UP) {
				/* An update with no plan: the running deployment goes on. */
				sp->target = sp->live->problem;
				return;
			}
			sp->state = SIM_FAILED;
			SIM_TRACE(sp, "end no_plan");
			sim_engine_stop(sp->eng);
		}
		return;
	}
	if (d->drop_previous)
		for (int i = 0; i < d->epoch; i++)
			if (!sp->deploys[i]->dropped)
				drop_deploy(sp, sp->deploys[i]);
	sp->live = d;
	sp->pending = NULL;
	sp->state = SIM_UP;
	if (sp->dip_update >= 0 && d->problem == &sp->update_problems[sp->dip_update] &&
	    !sp->update_deploy)
		sp->update_deploy = d;
	SIM_TRACE(sp, "live epoch=%d", d->epoch);
	if (sp->cfg.window_per_plan && sp->cfg.arrival == SIM_CLOSED) {
		sp->window = sim_deploy_window(sp, d);
		SIM_TRACE(sp, "window %d", sp->window);
	}
	for (int i = 0; i < sp->n_incidents; i++) {
		struct sim_incident *in = &sp->incidents[i];

		if (in->replanned && in->live_s < 0) {
			in->live_s = (double)sim_now(sp) / NS_PER_S;
			in->recovery_s = in->live_s - in->at_s;
		}
	}
	sim_backlog_flush(sp);
	if (d->drop_previous)
		sim_resend_known_lost(sp);
	if (sp->cfg.arrival == SIM_CLOSED)
		sim_issue_closed(sp); /* the window may have grown */
}

/* ---- crashes and their detection ----------------------------------------------------------- */

static void declare_dead(struct sim_pipeline *sp, int node)
{
	sp->nodes[node].known_dead = true;
	sp->incidents[sp->nodes[node].incident].detected_s = (double)sim_now(sp) / NS_PER_S;
}

/* The re-plan made for incident `from` answers incident `to` too. */
static void incident_share(struct sim_pipeline *sp, int from, int to)
{
	const struct sim_incident *a = &sp->incidents[from];
	struct sim_incident *b = &sp->incidents[to];

	if (from == to)
		return;
	b->replanned = a->replanned;
	b->reason[0] = '\0';
	b->deploy_s = a->deploy_s;
	b->bottleneck_s = a->bottleneck_s;
	b->stages = a->stages;
	b->live_s = b->recovery_s = -1;
}

/*
 * Declare dead the crashed nodes of `d` not yet declared: their weights did not arrive (or the
 * go-live was not acknowledged). Returns the incident of the first such node, or -1. (A node
 * declared earlier cannot be in a pending deployment: its detection replaced it.)
 */
static int declare_crashed_in(struct sim_pipeline *sp, const struct sim_deploy *d)
{
	int first = -1;

	for (int s = 0; s < d->k; s++) {
		int node = d->plan.stages[s].node;

		if (!sp->nodes[node].dead || sp->nodes[node].known_dead)
			continue;
		declare_dead(sp, node);
		SIM_TRACE(sp, "declare node=%d why=deploy", node);
		if (first < 0)
			first = sp->nodes[node].incident;
		else
			sp->incidents[sp->nodes[node].incident].replanned = true;
	}
	return first;
}

/* After a re-plan for incident `first`, or its failure: the other incidents declared at this
 * instant and marked `replanned` (their nodes were used) share its outcome. */
static void incidents_share(struct sim_pipeline *sp, int first)
{
	const struct sim_incident *a = &sp->incidents[first];

	for (int i = 0; i < sp->n_incidents; i++) {
		struct sim_incident *b = &sp->incidents[i];

		if (i == first || b->kind != SIM_INCIDENT_CRASH || !b->replanned ||
		    b->detected_s != a->detected_s || b->live_s >= 0 || b->stages > 0)
			continue;
		incident_share(sp, first, i);
		snprintf(b->reason, sizeof(b->reason), "%s", a->reason);
	}
}

static void ev_detect(struct sim_engine *e, void *ctx, uint64_t arg)
{
	struct sim_pipeline *sp = ctx;
	int64_t now = sim_now(sp);
	int first = -1, node = (int)arg;

	if (sp->nodes[node].known_dead)
		return; /* declared at a failed go-live, or with another node at this instant */
	/* Every node whose heartbeats stopped long enough is declared at this instant (nodes
	 * that crashed in the same heartbeat period together), so that one re-plan excludes
	 * them all. */
	for (int i = 0; i < sp->n; i++) {
		bool used;

		if (!sp->nodes[i].dead || sp->nodes[i].known_dead || sp->nodes[i].detect_ns > now)
			continue;
		declare_dead(sp, i);
		/* While the pipeline is down its running deployment is being replaced anyway. */
		used = (sp->state == SIM_UP && deploy_uses(sp->live, i)) ||
		       deploy_uses(sp->pending, i);
		SIM_TRACE(sp, "detect node=%d used=%s", i, used ? "yes" : "no");
		if (used && first < 0)
			first = sp->nodes[i].incident;
		else if (used)
			sp->incidents[sp->nodes[i].incident].replanned = true; /* shared below */
	}
	sim_resend_known_lost(sp);
	if (first < 0 || sp->state == SIM_FAILED)
		return;
	sp->state = SIM_DOWN;
	sp->pending = NULL;
	if (replan(sp, true, first)) {
		incidents_share(sp, first);
	} else if (sp->err_code == EP_OK) {
		incidents_share(sp, first);
		sp->state = SIM_FAILED;
		SIM_TRACE(sp, "end no_plan");
		sim_engine_stop(sp->eng);
	}
}

static void ev_crash(struct sim_engine *e, void *ctx, uint64_t arg)
{
	sim_crash(ctx, (int)arg);
}

void sim_crash(struct sim_pipeline *sp, int node)
{
	struct sim_incident *in;
	int64_t last_beat, now = sim_now(sp);

	if (sp->nodes[node].dead)
		return;
	sp->nodes[node].dead = true;
	SIM_TRACE(sp, "crash node=%d", node);
	if (!(in = incident_add(sp, SIM_INCIDENT_CRASH, node)))
		return;
	sim_server_purge(sp, &sp->cpu[node], NULL);
	if (sp->cfg.shared_medium) {
		sim_media_purge(sp, node, NULL);
		sim_media_restart(sp);
	} else {
		for (int i = 0; i < sp->n_links; i++)
			if (sp->links[i]->from == node || sp->links[i]->to == node)
				sim_server_purge(sp, sp->links[i], NULL);
	}
	last_beat = now / sp->period_ns * sp->period_ns;
	sp->nodes[node].incident = sp->n_incidents - 1;
	sp->nodes[node].detect_ns = last_beat + sp->timeout_ns;
	sim_schedule(sp, sp->nodes[node].detect_ns, ev_detect, sp, (uint64_t)node, NULL);
}

/* ---- the update ---------------------------------------------------------------------------- */

static void ev_update(struct sim_engine *e, void *ctx, uint64_t arg)
{
	struct sim_pipeline *sp = ctx;
	const struct problem *previous = sp->target, *next = &sp->update_problems[arg];
	struct sim_incident *in;
	int incident;

	SIM_TRACE(sp, "update model=%s", next->profile->model);
	if (!(in = incident_add(sp, SIM_INCIDENT_UPDATE, -1)))
		return;
	in->model = next->profile->model;
	incident = sp->n_incidents - 1;
	if ((int)arg == sp->dip_update) {
		sp->update_incident = incident;
		sp->answers_at_update = sp->report.completed;
	}
	if (sp->state == SIM_FAILED) {
		snprintf(in->reason, sizeof(in->reason), "the pipeline is down for good");
		return;
	}
	sp->target = next;
	if (replan(sp, sp->state == SIM_DOWN, incident) || sp->err_code != EP_OK)
		return;
	if (sp->state == SIM_UP) {
		sp->target = previous; /* no plan for the new model: the old one keeps running */
		return;
	}
	/* Down, with the pending recovery superseded and no plan for the new model. */
	sp->state = SIM_FAILED;
	SIM_TRACE(sp, "end no_plan");
	sim_engine_stop(sp->eng);
}

int sim_recovery_start(struct sim_pipeline *sp, struct ep_error *err)
{
	const struct sim_config *c = &sp->cfg;
	int rc = EP_OK;

	for (int i = 0; i < c->n_failures && !rc; i++)
		rc = sim_engine_schedule(sp->eng, sim_to_ns(c->failures[i].at_s), ev_crash, sp,
					 (uint64_t)c->failures[i].node, NULL, err);
	/* Every node's time to failure is drawn now, in node order, whatever happens later. */
	for (int i = 0; c->mtbf_s > 0 && i < sp->n && !rc; i++) {
		double t = gsl_ran_exponential(sp->rng_failure, c->mtbf_s);

		if (t < 1e9)
			rc = sim_engine_schedule(sp->eng, sim_to_ns(t), ev_crash, sp, (uint64_t)i, NULL,
						 err);
	}
	for (int i = 0; i < c->n_updates && !rc; i++)
		rc = sim_engine_schedule(sp->eng, sim_to_ns(c->updates[i].at_s), ev_update, sp,
					 (uint64_t)i, NULL, err);
	if (!rc)
		rc = sim_faults_start(sp, err);
	return rc;
}
