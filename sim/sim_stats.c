/*
 * Measurements of the pipeline simulation: the warm-up cut, latencies, time averages, the
 * throughput series and the report (definitions in sim_pipeline.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "sim_internal.h"

/* The throughput series' limit (8 GiB of counts): a run that needs more has too fine a bin. */
#define MAX_BINS (1 << 30)

static void acc_restart(struct sim_acc *a, int64_t now, int n)
{
	a->last_ns = now;
	a->busy_ns = 0;
	a->area = 0;
	a->max = n;
	a->served = 0;
	a->bits = 0;
}

void sim_stats_start(struct sim_pipeline *sp)
{
	int64_t now = sim_now(sp);

	sp->warm = true;
	sp->warm_ns = now;
	sim_hist_reset(sp->lat);
	sp->lat_sum_s = 0;
	sp->n_batches = 0;
	sp->batch_n = 1;
	sp->cur_n = 0;
	sp->cur_sum = 0;
	for (int i = 0; i < sp->n; i++)
		acc_restart(&sp->cpu[i].acc, now, sp->cpu[i].n);
	for (int i = 0; i < sp->n_links; i++)
		acc_restart(&sp->links[i]->acc, now, sp->links[i]->n);
	for (int i = 0; sp->media && i <= sp->n; i++)
		acc_restart(&sp->media[i].acc, now, sp->media[i].n);
	acc_restart(&sp->sys_acc, now, (int)sp->outstanding);
	SIM_TRACE(sp, "warmup_end");
}

void sim_stats_complete(struct sim_pipeline *sp, struct sim_req *req)
{
	int64_t now = sim_now(sp), bin = now / sp->bin_ns;

	sp->report.completed++;
	if (sp->first_answer_ns < 0)
		sp->first_answer_ns = now;
	if (sp->warm) {
		double lat_s = (double)(now - req->issue_ns) / NS_PER_S;

		sim_hist_record(sp->lat, now - req->issue_ns);
		sp->lat_sum_s += lat_s;
		sp->cur_sum += lat_s;
		if (++sp->cur_n == sp->batch_n) {
			sp->batch_sum[sp->n_batches++] = sp->cur_sum;
			sp->cur_sum = 0;
			sp->cur_n = 0;
			if (sp->n_batches == 2 * SIM_BATCHES) {
				for (int k = 0; k < SIM_BATCHES; k++)
					sp->batch_sum[k] = sp->batch_sum[2 * k] +
							   sp->batch_sum[2 * k + 1];
				sp->n_batches = SIM_BATCHES;
				sp->batch_n *= 2;
			}
		}
	}
	if (bin >= sp->cap_bins) {
		int cap = sp->cap_bins ? sp->cap_bins : 64;
		int64_t *v;

		if (bin >= MAX_BINS) {
			sim_fail(sp, EP_EINVAL, "bin %g s: more than %d bins by t = %g s; use a "
				 "larger --bin", sp->cfg.bin_s, MAX_BINS, (double)now / NS_PER_S);
			return;
		}
		while (cap <= bin) /* a power of 2 times 64, so at most MAX_BINS */
			cap *= 2;
		if (!(v = realloc(sp->series, (size_t)cap * sizeof(*v)))) {
			sim_fail(sp, EP_ENOMEM, "out of memory for the throughput series (%d bins of "
				 "%g s)", cap, sp->cfg.bin_s);
			return;
		}
		memset(v + sp->cap_bins, 0, (size_t)(cap - sp->cap_bins) * sizeof(*v));
		sp->series = v;
		sp->cap_bins = cap;
	}
	sp->series[bin]++;
	if (bin >= sp->n_bins)
		sp->n_bins = (int)bin + 1;
	if (sp->cfg.on_complete)
		sp->cfg.on_complete(sp->cfg.on_complete_ctx, req->id, req->issue_ns, now);
}

static void latency_stats(struct sim_pipeline *sp, struct sim_report *r)
{
	int64_t n = sim_hist_count(sp->lat);
	int nb = sp->n_batches;

	r->latency_mean_s = r->latency_ci95_s = NAN;
	r->latency_p50_s = r->latency_p95_s = r->latency_p99_s = r->latency_max_s = NAN;
	if (n == 0)
		return;
	r->latency_mean_s = sp->lat_sum_s / (double)n;
	if (n >= 2 * SIM_BATCHES) {
		/* Batch means over the nb (SIM_BATCHES to 2 SIM_BATCHES - 1) complete batches. */
		double mm = 0, var = 0, b = (double)sp->batch_n;

		for (int k = 0; k < nb; k++)
			mm += sp->batch_sum[k] / b;
		mm /= nb;
		for (int k = 0; k < nb; k++)
			var += (sp->batch_sum[k] / b - mm) * (sp->batch_sum[k] / b - mm);
		var /= nb - 1;
		r->latency_ci95_s = gsl_cdf_tdist_Pinv(0.975, nb - 1) * sqrt(var / nb);
	}
	r->latency_p50_s = (double)sim_hist_quantile(sp->lat, 0.50) / NS_PER_S;
	r->latency_p95_s = (double)sim_hist_quantile(sp->lat, 0.95) / NS_PER_S;
	r->latency_p99_s = (double)sim_hist_quantile(sp->lat, 0.99) / NS_PER_S;
	r->latency_max_s = (double)sim_hist_max(sp->lat) / NS_PER_S;
}

static void server_stats(const struct sim_acc *a, int64_t now, int n, bool busy,
			 double interval_ns, struct sim_server_stats *out)
{
	struct sim_acc x = *a;

	sim_acc_touch(&x, now, n, busy);
	out->utilisation = interval_ns > 0 ? x.busy_ns / interval_ns : 0;
	out->mean_queue = interval_ns > 0 ? x.area / interval_ns : 0;
	out->max_queue = x.max;
	out->served = x.served;
	out->bits = x.bits;
}

/* Throughput before the update, lowest during the roll-out, after (sim_pipeline.h). */
static void update_dip(struct sim_pipeline *sp, struct sim_report *r, int64_t t_end)
{
	const struct sim_deploy *d = sp->update_deploy;
	int64_t bin = sp->bin_ns, t_u;
	int64_t t_a, b_u, b_a, last_full = t_end / bin - 1; /* bins wholly before t_end */
	double before = 0, after = 0, low = INFINITY, bs = (double)bin / NS_PER_S;
	int nb = 0, na = 0;

	r->update_before = r->update_min = r->update_after = r->update_dip = NAN;
	if (!d)
		return;
	t_u = sim_to_ns(sp->cfg.updates[sp->dip_update].at_s);
	t_a = d->first_answer_ns >= 0 ? d->first_answer_ns : t_end;
	b_u = t_u / bin;
	b_a = t_a / bin;
	/* Before: the answers after the first (the pipeline has filled), warm-up or not, up to
	 * the update, over that time. */
	if (sp->first_answer_ns >= 0 && sp->first_answer_ns < t_u && sp->answers_at_update > 1) {
		before = (double)(sp->answers_at_update - 1) /
			 ((double)(t_u - sp->first_answer_ns) / NS_PER_S);
		nb = 1;
	}
	for (int64_t i = b_u; i <= last_full && i < sp->n_bins; i++) {
		double rate = (double)sp->series[i] / bs;

		if (i <= b_a + 1) {
			if (rate < low)
				low = rate;
		} else {
			after += rate;
			na++;
		}
	}
	if (nb)
		r->update_before = before;
	if (isfinite(low))
		r->update_min = low;
	if (na)
		r->update_after = after / na;
	if (nb && isfinite(low) && before > 0)
		r->update_dip = 1 - r->update_min / r->update_before;
}

int sim_stats_report(struct sim_pipeline *sp, struct ep_error *err)
{
	struct sim_report *r = &sp->report;
	int64_t now = sim_now(sp), t_w = sp->warm ? sp->warm_ns : now;
	double interval = (double)(now - t_w);

	r->measured = sim_hist_count(sp->lat);
	r->incomplete = sp->outstanding;
	r->in_flight = sp->tokens_live;
	r->window_end = sp->cfg.arrival == SIM_CLOSED ? sp->window : 0;
	r->waiting = sim_backlog_waiting(sp);
	r->warmup_end_s = (double)t_w / NS_PER_S;
	r->end_s = (double)now / NS_PER_S;
	r->throughput = interval > 0 ? (double)r->measured / (interval / NS_PER_S)
				     : r->measured > 0 ? INFINITY : 0;
	{
		struct sim_acc x = sp->sys_acc;

		sim_acc_touch(&x, now, (int)sp->outstanding, false);
		r->mean_in_system = interval > 0 ? x.area / interval : 0;
	}
	latency_stats(sp, r);
	for (int i = 0; i < sp->n; i++) {
		server_stats(&sp->cpu[i].acc, now, sp->cpu[i].n, sp->cpu[i].busy, interval,
			     &sp->node_stats[i]);
		sp->node_stats[i].from = sp->node_stats[i].to = i;
	}
	r->nodes = sp->node_stats;
	r->n_nodes = sp->n;
	free(sp->link_stats);
	sp->link_stats = calloc((size_t)sp->n_links + 1, sizeof(*sp->link_stats));
	if (!sp->link_stats)
		return ep_error_set(err, EP_ENOMEM, "out of memory for the report");
	for (int i = 0; i < sp->n_links; i++) {
		const struct sim_server *l = sp->links[i];

		server_stats(&l->acc, now, l->n, l->busy, interval, &sp->link_stats[i]);
		sp->link_stats[i].from = l->from;
		sp->link_stats[i].to = l->to;
	}
	r->links = sp->link_stats;
	r->n_links = sp->n_links;
	for (int i = 0; sp->media && i <= sp->n; i++) {
		server_stats(&sp->media[i].acc, now, sp->media[i].n, sp->media[i].busy, interval,
			     &sp->media_stats[i]);
		sp->media_stats[i].from = sp->media_stats[i].to = i;
	}
	r->media = sp->media_stats;
	r->n_media = sp->media ? sp->n + 1 : 0;
	if (sim_energy_report(sp, interval / NS_PER_S, err))
		return err ? err->code : EP_ENOMEM;
	r->incidents = sp->incidents;
	r->n_incidents = sp->n_incidents;
	update_dip(sp, r, now);
	r->bin_s = sp->cfg.bin_s;
	r->series = sp->series;
	r->n_bins = sp->n_bins;
	r->events = sim_engine_events_run(sp->eng);
	r->sim_end_s = (double)now / NS_PER_S;
	r->no_plan = sp->state == SIM_FAILED;
	r->final_plan = &sp->live->plan;
	r->final_profile = sp->live->problem->profile;
	r->final_cost = sp->live->cost;
	return EP_OK;
}
