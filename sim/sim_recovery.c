/*
 * Deployments, crashes, failure detection, re-planning on the surviving nodes, redeployment and
 * the model update (the model is described in sim_pipeline.h).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "sim_internal.h"

/* A cut link's bandwidth in a re-plan: the emulator's (emu_recovery.c CUT_BPS), so that the
 * algorithms, which know no missing link, see it as one no plan should use. */
#define CUT_BPS 1.0

static const char *const incident_names[] = { "crash", "update", "stall", "cut" };

const char *sim_incident_kind_name(enum sim_incident_kind k)
{
	return (unsigned)k < 4 ? incident_names[k] : "?";
}

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

/* Does `d` send anything over a -> b or b -> a (the dispatcher hops included, whether or not
 * they take time: the emulator sends them over the link)? */
static bool deploy_uses_link(const struct sim_deploy *d, int a, int b)
{
	for (int h = 0; h <= d->k; h++)
		if ((d->hops[h].from == a && d->hops[h].to == b) ||
		    (d->hops[h].from == b && d->hops[h].to == a))
			return true;
	return false;
}

/* The outstanding requests whose last attempt is in a deployment, not dropped, that uses `node`
 * (or, with node < 0, sends over a <-> b): those a detection there makes known lost, to be
 * sent again. Requests waiting at the dispatcher are not in any. */
static int64_t attempts_through(const struct sim_pipeline *sp, int node, int a, int b)
{
	int64_t n = 0;

	for (const struct sim_req *r = sp->out_head; r; r = r->next)
		if (!r->held && r->dep && !r->dep->dropped &&
		    (node >= 0 ? deploy_uses(r->dep, node) : deploy_uses_link(r->dep, a, b)))
			n++;
	return n;
}

/* The hop of `plan` (nodes of the full cluster of n nodes) that crosses a pair marked cut:
 * its index, or -1. */
static int plan_cut_hop(const struct sim_pipeline *sp, const struct plan *plan)
{
	int n = sp->n, k = plan->n_stages;

	if (!sp->pair_cut)
		return -1;
	for (int h = 0; h <= k; h++) {
		int from = h == 0 ? n : plan->stages[h - 1].node, to = h == k ? n : plan->stages[h].node;

		if (sp->pair_cut[from * (n + 1) + to])
			return h;
	}
	return -1;
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
 * the same stage of the same model keeps its weights, also when that deployment was torn down
 * (a stall or a cut detected: the processes are gone, the weights stay on the node). None
 * with local_weights.
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

		for (int q = 0; live && live->problem == d->problem && q < live->k; q++) {
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
 * algorithm, as the emulator does (emu_recovery.c plan_on_alive): a cluster of those nodes
 * (and the dispatcher) is built, with the pairs found cut at CUT_BPS, the algorithm runs on
 * the problem over it, and the plan's nodes are mapped back; if the plan still crosses a cut
 * pair, the hop's receiving node (its sender, for the hop back into the dispatcher) is left
 * out too and the algorithm runs again. EP_OK with the plan in `out`; EP_EINFEASIBLE (or the
 * algorithm's other status) with the reason in `reason`; or an error.
 */
static int plan_once(struct sim_pipeline *sp, const struct problem *full, const bool *excl,
		     struct plan *out, char *reason, size_t reason_size, struct ep_error *err);

static int plan_on_alive(struct sim_pipeline *sp, const struct problem *full, struct plan *out,
			 char *reason, size_t reason_size, struct ep_error *err)
{
	int n = full->cluster->n, rc = EP_OK;
	bool *excl = calloc((size_t)n, sizeof(bool));

	if (!excl)
		return ep_error_set(err, EP_ENOMEM, "out of memory re-planning");
	for (int i = 0; i < n; i++)
		excl[i] = sp->nodes[i].known_dead;
	for (int round = 0; round <= n; round++) {
		int h;

		rc = plan_once(sp, full, excl, out, reason, reason_size, err);
		if (rc || (h = plan_cut_hop(sp, out)) < 0)
			break;
		/* The plan crosses a cut pair: leave one of its nodes out and try again. */
		excl[h == out->n_stages ? out->stages[h - 1].node : out->stages[h].node] = true;
		rc = EP_EINFEASIBLE;
		snprintf(reason, reason_size, "every plan crosses a cut link");
	}
	free(excl);
	return rc;
}

static int plan_once(struct sim_pipeline *sp, const struct problem *full, const bool *excl,
		     struct plan *out, char *reason, size_t reason_size, struct ep_error *err)
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
		if (!excl[i])
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
	for (int i = 0; sp->pair_cut && i <= m; i++)
		for (int j = 0; j <= m; j++) {
			int a = i == m ? n : map[i], b = j == m ? n : map[j];

			if (i != j && sp->pair_cut[a * (n + 1) + b])
				sub->bw_bps[(size_t)i * (size_t)(m + 1) + (size_t)j] = CUT_BPS;
		}
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
	in->peer = in->fault = -1;
	in->at_s = (double)sim_now(sp) / NS_PER_S;
	in->detected_s = in->detection_s = in->back_s = in->live_s = in->recovery_s = -1;
	in->deploy_s = in->bottleneck_s = -1;
	return in;
}

static void ev_golive(struct sim_engine *e, void *ctx, uint64_t arg);
static int declare_crashed_in(struct sim_pipeline *sp, const struct sim_deploy *d);

/*
 * The pipeline is down and no plan was found for incident `incident`. A node declared dead
 * that will heartbeat again (a stall's end, a cut's end) may make one: the dispatcher waits
 * for it, as the emulator's re-plans on a node's return do; otherwise the run stops.
 */
static void no_plan_left(struct sim_pipeline *sp, int incident)
{
	for (int i = 0; i < sp->n; i++)
		if (sp->nodes[i].away && sp->nodes[i].back_ns < SIM_NEVER_NS) {
			sp->state = SIM_DOWN;
			sp->pending = NULL;
			sp->wait_incident = incident;
			SIM_TRACE(sp, "wait no_plan node=%d back_ns=%" PRId64, i,
				  sp->nodes[i].back_ns);
			return;
		}
	sp->state = SIM_FAILED;
	SIM_TRACE(sp, "end no_plan");
	sim_engine_stop(sp->eng);
}
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
	in->reason[0] = '\0'; /* a plan after all (a node came back) */
	if (sp->wait_incident == incident)
		sp->wait_incident = -1;
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
			no_plan_left(sp, incident);
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
	struct sim_incident *in = &sp->incidents[sp->nodes[node].incident];

	sp->nodes[node].known_dead = true;
	in->detected_s = (double)sim_now(sp) / NS_PER_S;
	in->detection_s = in->detected_s - in->at_s;
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
		sp->incidents[sp->nodes[i].incident].resent = attempts_through(sp, i, -1, -1);
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
		no_plan_left(sp, first);
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
	if (sp->nodes[node].away) {
		/* Declared dead already, its deployments gone: it just never comes back. */
		sp->nodes[node].away = false;
		sp->nodes[node].incident = sp->n_incidents - 1;
		in->detected_s = in->at_s;
		in->detection_s = 0;
		return;
	}
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

/* ---- stalls and cuts that the dispatcher detects ------------------------------------------- */

/*
 * Tear down, as the emulator does when it declares a node dead or a link cut, every
 * deployment that uses node `node` (or, with node < 0, sends over the pair a <-> b): its
 * requests are lost where they are, and resent. If the running or the pending deployment was
 * among them, re-plan for `incident`.
 */
static void tear_down(struct sim_pipeline *sp, int node, int a, int b, int incident)
{
	bool live = false, pending = false;

	sp->incidents[incident].resent = attempts_through(sp, node, a, b);
	for (int i = 0; i < sp->n_deploys; i++) {
		struct sim_deploy *d = sp->deploys[i];

		if (d->dropped || (node >= 0 ? !deploy_uses(d, node) : !deploy_uses_link(d, a, b)))
			continue;
		if (d == sp->pending)
			pending = true;
		else if (d == sp->live && sp->state == SIM_UP)
			live = true;
		SIM_TRACE(sp, "teardown epoch=%d", d->epoch);
		drop_deploy(sp, d);
	}
	if (!live && !pending) {
		sim_resend_known_lost(sp);
		return;
	}
	sp->incidents[incident].replanned = true;
	sp->state = SIM_DOWN;
	sp->pending = NULL;
	sim_resend_known_lost(sp);
	if (!replan(sp, true, incident) && sp->err_code == EP_OK)
		no_plan_left(sp, incident);
}

static void ev_back(struct sim_engine *e, void *ctx, uint64_t arg)
{
	struct sim_pipeline *sp = ctx;
	int node = (int)arg;
	struct sim_node *nd = &sp->nodes[node];
	int64_t until = sim_faults_silent_until(sp, node);

	(void)e;
	if (nd->dead || !nd->away)
		return;
	if (until > sim_now(sp)) {
		/* silent longer than foreseen (another stall or cut came) */
		nd->back_ns = until;
		if (until < SIM_NEVER_NS)
			sim_schedule(sp, until, ev_back, sp, (uint64_t)node, NULL);
		return;
	}
	nd->away = nd->known_dead = false;
	sp->incidents[nd->incident].back_s = (double)sim_now(sp) / NS_PER_S;
	SIM_TRACE(sp, "back node=%d", node);
	/* As the emulator: a node back is one more node for the next re-plan; only a dispatcher
	 * left without any plan re-plans at once. */
	if (sp->state == SIM_DOWN && !sp->pending && sp->wait_incident >= 0) {
		int in = sp->wait_incident;

		if (!replan(sp, true, in) && sp->err_code == EP_OK)
			no_plan_left(sp, in);
	}
}

void sim_node_away(struct sim_pipeline *sp, int node, enum sim_incident_kind kind, int fault)
{
	struct sim_node *nd = &sp->nodes[node];
	struct sim_incident *in;
	int incident;

	if (!(in = incident_add(sp, kind, node)))
		return;
	incident = sp->n_incidents - 1;
	in->fault = fault;
	in->at_s = sp->cfg.faults[fault].at_s;
	in->peer = kind == SIM_INCIDENT_CUT ? sp->n : -1;
	nd->away = true;
	nd->incident = incident;
	nd->detect_ns = sim_now(sp);
	nd->back_ns = sim_faults_silent_until(sp, node);
	declare_dead(sp, node);
	SIM_TRACE(sp, "detect node=%d why=%s back_ns=%" PRId64, node,
		  sim_incident_kind_name(kind), nd->back_ns);
	if (nd->back_ns < SIM_NEVER_NS)
		sim_schedule(sp, nd->back_ns, ev_back, sp, (uint64_t)node, NULL);
	if (sp->state != SIM_FAILED)
		tear_down(sp, node, -1, -1, incident);
}

void sim_link_found_cut(struct sim_pipeline *sp, int from, int to, int fault)
{
	int v = sp->n + 1, incident;
	struct sim_incident *in;

	sp->pair_cut[from * v + to] = sp->pair_cut[to * v + from] = true;
	if (!(in = incident_add(sp, SIM_INCIDENT_CUT, from)))
		return;
	incident = sp->n_incidents - 1;
	in->peer = to;
	in->fault = fault;
	if (fault >= 0)
		in->at_s = sp->cfg.faults[fault].at_s;
	in->detected_s = (double)sim_now(sp) / NS_PER_S;
	in->detection_s = in->detected_s - in->at_s;
	SIM_TRACE(sp, "detect link from=%d to=%d why=stuck", from, to);
	if (sp->state != SIM_FAILED)
		tear_down(sp, -1, from, to, incident);
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
	no_plan_left(sp, incident);
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
