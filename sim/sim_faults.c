/*
 * The timeline's faults in the simulator (sim_pipeline.h, "Faults of the timeline"): stage
 * targets resolved when a fault fires, stalls that hold a node's work, link cuts that hold a
 * pair's transfers until TCP retransmits after the link is back, bandwidth changes and loss
 * for the transfers that start after them; and how the dispatcher detects the long ones, as
 * the emulator does: a node whose heartbeats stop for the heartbeat timeout (stalled, or cut
 * from the dispatcher), a link whose sender finds it STUCK.
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
	if (!srv || !srv->busy || srv->done_ns >= SIM_NEVER_NS)
		return;
	sim_engine_cancel(sp->eng, &srv->done);
	if (until_ns >= SIM_NEVER_NS) {
		srv->done_ns = SIM_NEVER_NS; /* parked: a purge ends it */
		return;
	}
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

	if (up_ns >= SIM_NEVER_NS)
		return SIM_NEVER_NS;
	while (t < up_ns) {
		rto *= 2;
		t += rto;
	}
	return t;
}

int64_t sim_faults_silent_until(const struct sim_pipeline *sp, int node)
{
	int64_t now = sim_now(sp), until = now, up;

	if (!sp->pair_bw)
		return now;
	if (sp->stall_until_ns[node] > until)
		until = sp->stall_until_ns[node];
	up = sp->pair_down_until_ns[pair(sp, node, sp->n)];
	if (up >= SIM_NEVER_NS)
		return SIM_NEVER_NS;
	if (up > now) {
		/* heartbeats leave at multiples of the period; the first after the cut passes */
		up = (up + sp->period_ns - 1) / sp->period_ns * sp->period_ns;
		if (up > until)
			until = up;
	}
	return until;
}

/* The heartbeat check for a node that has just gone silent (stalled, or cut from the
 * dispatcher): its last heartbeat left at the last multiple of the period, and the dispatcher
 * declares it dead the heartbeat timeout later if none has come since. */
static void ev_silent(struct sim_engine *e, void *ctx, uint64_t arg)
{
	struct sim_pipeline *sp = ctx;
	int f = (int)(arg >> 32), node = (int)(arg & 0xffffffffu);
	const struct sim_node *nd = &sp->nodes[node];

	(void)e;
	if (nd->dead || nd->away || nd->known_dead || sim_faults_silent_until(sp, node) <= sim_now(sp))
		return;
	sim_node_away(sp, node, sp->cfg.faults[f].kind == TIMELINE_STALL ? SIM_INCIDENT_STALL
									   : SIM_INCIDENT_CUT, f);
}

static void watch_silence(struct sim_pipeline *sp, int node, int fault)
{
	int64_t now = sim_now(sp), check = now / sp->period_ns * sp->period_ns + sp->timeout_ns;

	if (sim_faults_silent_until(sp, node) > check)
		sim_schedule(sp, check, ev_silent, sp, ((uint64_t)fault << 32) | (uint64_t)node,
			     NULL);
}

/* The STUCK check of a pair between two nodes (emu_stage.h): its sender's data has waited
 * unacknowledged for the heartbeat timeout, and TCP has timed out SIM_TCP_STUCK_RTOS times in
 * a row: 0.2 + 0.4 + 0.8 s after the first unacknowledged send. */
static void ev_stuck(struct sim_engine *e, void *ctx, uint64_t arg)
{
	struct sim_pipeline *sp = ctx;
	int k = (int)arg, from = k / (sp->n + 1), to = k % (sp->n + 1);
	struct sim_server *l = NULL;

	(void)e;
	sp->stuck_ns[k] = -1;
	for (int i = 0; i < sp->n_links && !l; i++)
		if (sp->links[i]->from == from && sp->links[i]->to == to)
			l = sp->links[i];
	/* Still cut, and still data of a deployment waiting to cross it. */
	if (sp->pair_cut[k] || sp->pair_down_until_ns[k] <= sim_now(sp) || !l || !l->busy)
		return;
	sim_link_found_cut(sp, from, to, sp->pair_fault[k]);
}

/* A transfer from -> to waits behind a cut from now on: its sender will find the link STUCK
 * unless the cut ends first. Links to and from the dispatcher are left to the heartbeats,
 * which stop with the cut and declare the node dead first (the heartbeat timeout after the
 * last heartbeat before the cut, at most this check's time). */
static void arm_stuck(struct sim_pipeline *sp, int from, int to)
{
	int k = pair(sp, from, to);
	int64_t t = SIM_TCP_MIN_RTO_S * ((1 << SIM_TCP_STUCK_RTOS) - 1) * NS_PER_S;

	if (from == sp->n || to == sp->n || sp->stuck_ns[k] >= 0 || sp->pair_cut[k])
		return;
	t = sim_now(sp) + (sp->timeout_ns > t ? sp->timeout_ns : t);
	if (sp->pair_down_until_ns[k] <= t)
		return;
	sp->stuck_ns[k] = t;
	sim_schedule(sp, t, ev_stuck, sp, (uint64_t)k, NULL);
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

		if (sp->pair_down_until_ns[k] > now) {
			start = tcp_resume_ns(now, sp->pair_down_until_ns[k]);
			arm_stuck(sp, h->from, h->to);
		}
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

static void set_pair(struct sim_pipeline *sp, int a, int b, int fault, bool end)
{
	const struct timeline_fault *f = &sp->cfg.faults[fault];
	int k[2] = { pair(sp, a, b), pair(sp, b, a) };
	int64_t now = sim_now(sp);

	for (int i = 0; i < 2; i++) {
		switch (f->kind) {
		case TIMELINE_BANDWIDTH: sp->pair_bw[k[i]] = end ? 0 : f->value; break;
		case TIMELINE_LOSS: sp->pair_loss[k[i]] = end ? 0 : f->value; break;
		case TIMELINE_LINK_DOWN: {
			/* for 0: no end (the emulator's cut that a `link A B up` never ends) */
			int64_t up = f->for_s > 0 ? now + sim_to_ns(f->for_s) : SIM_NEVER_NS;

			if (end)
				break;
			if (up > sp->pair_down_until_ns[k[i]])
				sp->pair_down_until_ns[k[i]] = up;
			sp->pair_fault[k[i]] = fault;
			/* A transfer under way stops too; TCP resends after the link is back. */
			for (int l = 0; l < sp->n_links; l++)
				if (sp->links[l]->from == (i ? b : a) && sp->links[l]->to == (i ? a : b) &&
				    sp->links[l]->busy) {
					hold_server(sp, sp->links[l], tcp_resume_ns(now, up));
					arm_stuck(sp, sp->links[l]->from, sp->links[l]->to);
				}
			break;
		}
		default: break;
		}
	}
}

static void ev_fault(struct sim_engine *e, void *ctx, uint64_t arg)
{
	struct sim_pipeline *sp = ctx;
	int fi = (int)(arg >> 1);
	const struct timeline_fault *f = &sp->cfg.faults[fi];
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
	case TIMELINE_KILL: {
		int before = sp->n_incidents;

		sim_crash(sp, a);
		if (sp->n_incidents > before)
			sp->incidents[before].fault = fi;
		break;
	}
	case TIMELINE_STALL:
		if (!end && !sp->nodes[a].dead) {
			int64_t until = sim_now(sp) + sim_to_ns(f->for_s);

			if (until > sp->stall_until_ns[a])
				sp->stall_until_ns[a] = until;
			hold_server(sp, &sp->cpu[a], sp->stall_until_ns[a]);
			if (!sp->nodes[a].away)
				watch_silence(sp, a, fi);
		}
		break;
	case TIMELINE_LOSS:
		if (!f->pair) {
			for (int o = 0; o <= sp->n; o++)
				if (o != a)
					set_pair(sp, a, o, fi, end);
			break;
		}
		/* fall through */
	default:
		set_pair(sp, a, b, fi, end);
		/* A cut between a node and the dispatcher stops the node's heartbeats. */
		if (f->kind == TIMELINE_LINK_DOWN && !end && (a == sp->n) != (b == sp->n)) {
			int node = a == sp->n ? b : a;

			if (!sp->nodes[node].dead && !sp->nodes[node].away)
				watch_silence(sp, node, fi);
		}
		break;
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
		case TIMELINE_LINK_DOWN: break;
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
