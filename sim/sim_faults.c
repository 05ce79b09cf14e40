/*
 * The timeline's faults in the simulator (sim_pipeline.h, "Faults of the timeline"): stage
 * targets resolved when a fault fires, stalls that hold a node's work, short link cuts that
 * hold a pair's transfers until TCP retransmits after the link is back, bandwidth changes and
 * loss for the transfers that start after them.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "sim_internal.h"

/* Resolve a target to a node of the full cluster at this instant; -1: none (a stage the live
 * plan lacks, or no live plan). The dispatcher is n. */
static int resolve(const struct sim_pipeline *sp, const struct timeline_target *t)
{
	const struct sim_deploy *d = sp->live;

	switch (t->kind) {
	case TIMELINE_NODE: return t->index;
	case TIMELINE_DISPATCHER: return sp->n;
	case TIMELINE_STAGE: return d && t->index < d->k ? d->plan.stages[t->index].node : -1;
	}
	return -1;
}

static inline int pair(const struct sim_pipeline *sp, int from, int to)
{
	return from * (sp->n + 1) + to;
}

/* Push a server's work under way back by `by_ns` (a stall or a cut that began while it ran). */
static void hold_server(struct sim_pipeline *sp, struct sim_server *srv, int64_t until_ns)
{
	if (!srv || !srv->busy || srv->done_ns >= INT64_MAX / 2)
		return;
	sim_engine_cancel(sp->eng, &srv->done);
	srv->done_ns += until_ns - sim_now(sp);
	sim_schedule(sp, srv->done_ns, sim_server_done_ev, srv, 0, &srv->done);
}

/*
 * TCP after a cut: the sender's first unacknowledged segment is retransmitted at RTO, 2 RTO,
 * 4 RTO... after it was sent (exponential backoff from Linux's minimum RTO); the transfer goes
 * on at the first retransmission after the link is back up.
 */
static int64_t tcp_resume_ns(int64_t sent_ns, int64_t up_ns)
{
	int64_t rto = sim_to_ns(SIM_TCP_MIN_RTO_S), t = sent_ns + rto;

	while (t < up_ns) {
		rto *= 2;
		t += rto;
	}
	return t;
}

int64_t sim_faults_delay(struct sim_pipeline *sp, const struct sim_server *srv,
			 const struct sim_hop *h, int64_t d)
{
	int64_t now = sim_now(sp), start = now;

	if (!sp->pair_bw)
		return d;
	if (!srv->is_link) {
		if (sp->stall_until_ns[srv->from] > now)
			start = sp->stall_until_ns[srv->from];
		return d + (start - now);
	}
	{
		int k = pair(sp, h->from, h->to);
		double bw = sp->pair_bw[k], p = sp->pair_loss[k];

		if (sp->pair_down_until_ns[k] > now)
			start = tcp_resume_ns(now, sp->pair_down_until_ns[k]);
		if ((bw > 0 || p > 0) && h->bits > 0 && h->busy_ns > 0) {
			const struct cluster *cl = sp->base->cluster;
			double base_bw = cluster_bw(cl, h->from, h->to);
			double lat = cluster_latency(cl, h->from, h->to), rate = bw > 0 ? bw : base_bw;
			double mean_before = (double)h->busy_ns, mean_after;

			if (p > 0) {
				/* Mathis et al. (1997): TCP's throughput at random loss p is at most
				 * about MSS / (RTT sqrt(2p/3)); an approximation for p well below 1.
				 * The RTT is the pair's two latencies, at least SIM_TCP_MIN_RTT_S. */
				double rtt = fmax(2 * lat, SIM_TCP_MIN_RTT_S);

				rate = fmin(rate, SIM_TCP_MSS_BYTES * 8 / (rtt * sqrt(2 * p / 3)));
			}
			mean_after = h->bits / rate * NS_PER_S +
				     (sp->cfg.latency_pipelined ? 0 : lat * NS_PER_S) +
				     /* a lost last segment waits for the retransmission timeout */
				     p * SIM_TCP_MIN_RTO_S * NS_PER_S;
			d = (int64_t)llround((double)d * mean_after / mean_before);
		}
	}
	return d + (start - now);
}

static void set_pair(struct sim_pipeline *sp, int a, int b, const struct timeline_fault *f,
		     bool end)
{
	int k[2] = { pair(sp, a, b), pair(sp, b, a) };
	int64_t now = sim_now(sp);

	for (int i = 0; i < 2; i++) {
		switch (f->kind) {
		case TIMELINE_BANDWIDTH: sp->pair_bw[k[i]] = end ? 0 : f->value; break;
		case TIMELINE_LOSS: sp->pair_loss[k[i]] = end ? 0 : f->value; break;
		case TIMELINE_LINK_DOWN: {
			int64_t up = now + sim_to_ns(f->for_s);

			if (end)
				break;
			sp->pair_down_until_ns[k[i]] = up;
			/* A transfer under way stops too; TCP resends after the link is back. */
			for (int l = 0; l < sp->n_links; l++)
				if (sp->links[l]->from == (i ? b : a) && sp->links[l]->to == (i ? a : b) &&
				    sp->links[l]->busy)
					hold_server(sp, sp->links[l], tcp_resume_ns(now, up));
			break;
		}
		default: break;
		}
	}
}

static void ev_fault(struct sim_engine *e, void *ctx, uint64_t arg)
{
	struct sim_pipeline *sp = ctx;
	const struct timeline_fault *f = &sp->cfg.faults[arg >> 1];
	bool end = arg & 1;
	int a = sp->fault_node[2 * (arg >> 1)], b = sp->fault_node[2 * (arg >> 1) + 1];

	(void)e;
	if (!end) {
		/* Stage targets name the live plan's node now; an end acts on the same nodes. */
		a = sp->fault_node[2 * (arg >> 1)] = resolve(sp, &f->a);
		b = sp->fault_node[2 * (arg >> 1) + 1] = f->pair ? resolve(sp, &f->b) : -1;
	}
	if (a < 0 || (f->pair && b < 0)) {
		if (!end)
			SIM_TRACE(sp, "fault skipped spec='%s' why=no_such_stage", f->text);
		return;
	}
	SIM_TRACE(sp, "fault_%s kind=%s a=%d b=%d spec='%s'", end ? "end" : "start",
		  timeline_kind_name(f->kind), a, b, f->text);
	switch (f->kind) {
	case TIMELINE_KILL: sim_crash(sp, a); break;
	case TIMELINE_STALL:
		if (!end && !sp->nodes[a].dead) {
			sp->stall_until_ns[a] = sim_now(sp) + sim_to_ns(f->for_s);
			hold_server(sp, &sp->cpu[a], sp->stall_until_ns[a]);
		}
		break;
	case TIMELINE_LOSS:
		if (!f->pair) {
			for (int o = 0; o <= sp->n; o++)
				if (o != a)
					set_pair(sp, a, o, f, end);
			break;
		}
		/* fall through */
	default: set_pair(sp, a, b, f, end); break;
	}
}

int sim_faults_start(struct sim_pipeline *sp, struct ep_error *err)
{
	const struct sim_config *c = &sp->cfg;
	int rc = EP_OK;

	for (int i = 0; i < c->n_faults && !rc; i++) {
		const struct timeline_fault *f = &c->faults[i];

		rc = sim_engine_schedule(sp->eng, sim_to_ns(f->at_s), ev_fault, sp,
					 (uint64_t)i << 1, NULL, err);
		/* A stall and a cut end by themselves (their events test the time); a bandwidth
		 * change and a loss end with an event. */
		if (!rc && f->for_s > 0 && (f->kind == TIMELINE_BANDWIDTH || f->kind == TIMELINE_LOSS))
			rc = sim_engine_schedule(sp->eng, sim_to_ns(f->at_s + f->for_s), ev_fault, sp,
						 ((uint64_t)i << 1) | 1, NULL, err);
	}
	return rc;
}

int sim_faults_check(const struct problem *p, const struct sim_config *c, struct ep_error *err)
{
	if (c->n_faults < 0 || (c->n_faults > 0 && !c->faults))
		return ep_error_set(err, EP_EINVAL, "%d faults given without a list", c->n_faults);
	for (int i = 0; i < c->n_faults; i++) {
		const struct timeline_fault *f = &c->faults[i];
		const struct timeline_target *t[2] = { &f->a, f->pair ? &f->b : NULL };

		for (int k = 0; k < 2; k++)
			if (t[k] && t[k]->kind == TIMELINE_NODE &&
			    (t[k]->index < 0 || t[k]->index >= p->cluster->n))
				return ep_error_set(err, EP_EINVAL, "fault '%s': node %d: the cluster "
						    "has nodes 0 to %d", f->text, t[k]->index,
						    p->cluster->n - 1);
		if (!(f->at_s >= 0 && f->at_s <= 1e9) || !(f->for_s >= 0 && f->for_s <= 1e9))
			return ep_error_set(err, EP_EINVAL, "fault '%s': times from 0 to 1e9 s",
					    f->text);
		switch (f->kind) {
		case TIMELINE_KILL:
		case TIMELINE_BANDWIDTH:
		case TIMELINE_LOSS: break;
		case TIMELINE_STALL:
			if (f->for_s >= c->heartbeat_timeout_s)
				return ep_error_set(err, EP_EINVAL, "fault '%s': a stall of %g s is "
						    "not below the heartbeat timeout (%g s): the node "
						    "would be declared dead and come back, which the "
						    "simulator does not model yet", f->text, f->for_s,
						    c->heartbeat_timeout_s);
			break;
		case TIMELINE_LINK_DOWN:
			if (f->for_s == 0 || f->for_s >= c->heartbeat_timeout_s)
				return ep_error_set(err, EP_EINVAL, "fault '%s': a cut %s is not below "
						    "the heartbeat timeout (%g s): it would be detected "
						    "and re-planned around, which the simulator does not "
						    "model yet", f->text,
						    f->for_s == 0 ? "with no end" : "of that length",
						    c->heartbeat_timeout_s);
			break;
		default:
			return ep_error_set(err, EP_EINVAL, "fault '%s': a '%s' is resolved before "
					    "the simulation (timeline_resolve)", f->text,
					    timeline_kind_name(f->kind));
		}
		if (c->shared_medium && f->kind != TIMELINE_KILL && f->kind != TIMELINE_STALL)
			return ep_error_set(err, EP_EINVAL, "fault '%s': link faults are not "
					    "simulated with a shared medium yet", f->text);
	}
	return EP_OK;
}
