/*
 * The workload's plan-dependent sizes (workload.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "workload.h"

const char *workload_arrival_name(enum workload_arrival a)
{
	switch (a) {
	case WORKLOAD_CLOSED: return "closed";
	case WORKLOAD_POISSON: return "poisson";
	case WORKLOAD_CONSTANT: return "constant";
	}
	return "?";
}

int workload_plan_terms(const struct problem *p, const struct plan *plan,
			const struct workload_model *m, struct workload_terms *out,
			struct ep_error *err)
{
	int k = plan->n_stages, disp = CLUSTER_DISPATCHER(p->cluster);
	double *stage_s = malloc((2 * (size_t)k + 1) * sizeof(double)), *hop_s;
	struct plan_cost cost;

	out->round_trip_s = out->busy_s = 0;
	if (!stage_s)
		return ep_error_set(err, EP_ENOMEM, "out of memory");
	hop_s = stage_s + k;
	plan_cost(p, plan, &cost, stage_s, hop_s);
	for (int s = 0; s < k && m->compute; s++) {
		out->round_trip_s += stage_s[s];
		out->busy_s = fmax(out->busy_s, stage_s[s]);
	}
	for (int h = 0; h <= k; h++) {
		int from = h == 0 ? disp : plan->stages[h - 1].node;
		int to = h == k ? disp : plan->stages[h].node;
		double lat = fmin(cluster_latency(p->cluster, from, to), hop_s[h]);

		if (((h == 0 || h == k) && !m->dispatcher_hops) || !(hop_s[h] > 0))
			continue;
		out->round_trip_s += hop_s[h];
		out->busy_s = fmax(out->busy_s, m->latency_pipelined ? hop_s[h] - lat : hop_s[h]);
	}
	free(stage_s);
	return EP_OK;
}

int workload_window(const struct workload_terms *t, int max_window)
{
	return t->busy_s > 0 ? (int)fmin(ceil(t->round_trip_s / t->busy_s) + 1, max_window) : 1;
}

double workload_run_s(enum workload_arrival arrival, double rate, int64_t requests,
		      double duration_s, const struct workload_terms *t)
{
	double run_s;

	if (arrival == WORKLOAD_CLOSED)
		run_s = requests > 0 ? (double)requests * t->busy_s : duration_s;
	else
		run_s = requests > 0 ? (double)requests / rate : duration_s;
	if (duration_s > 0 && (run_s <= 0 || duration_s < run_s))
		run_s = duration_s;
	return run_s;
}

double workload_bin_s(const struct workload_terms *t, double run_s, double min_bin_s)
{
	double bin = t->busy_s > 0 ? 10 * t->busy_s : run_s > 0 ? run_s / 50 : 1;

	return fmin(fmax(fmax(bin, run_s / 10000), fmax(min_bin_s, 1e-6)), 1e8);
}

double workload_retry_detected_s(double heartbeat_period_s, double heartbeat_timeout_s,
				 double max_s)
{
	return fmin(heartbeat_timeout_s + heartbeat_period_s, max_s);
}

double workload_retry_blind_s(const struct workload_terms *t, enum workload_arrival arrival,
			      int window)
{
	double turn = arrival == WORKLOAD_CLOSED ? window * t->busy_s : 0;

	return fmax(30, 10 * fmax(t->round_trip_s, turn));
}

int workload_arrival_parse(const char *option, const char *s, double max_window, double max_rate,
			   enum workload_arrival *kind, double *value, struct ep_error *err)
{
	const char *colon = strchr(s, ':');
	char *end;
	double v;

	if (!colon)
		goto bad;
	v = strtod(colon + 1, &end);
	if (end == colon + 1 || (*end && strcmp(end, "/s") != 0) || !isfinite(v) || v <= 0)
		goto bad;
	if (strncmp(s, "closed:", 7) == 0) {
		if (v != floor(v) || v > max_window)
			goto bad;
		*kind = WORKLOAD_CLOSED;
	} else if (strncmp(s, "poisson:", 8) == 0 || strncmp(s, "constant:", 9) == 0) {
		if (v >= max_rate)
			goto bad;
		*kind = s[0] == 'p' ? WORKLOAD_POISSON : WORKLOAD_CONSTANT;
	} else {
		goto bad;
	}
	*value = v;
	return EP_OK;
bad:
	return ep_error_set(err, EP_EINVAL,
			    "%s '%s': expected closed:W (a whole number of "
			    "requests in flight), poisson:RATE or constant:RATE (requests per "
			    "second)",
			    option, s);
}
