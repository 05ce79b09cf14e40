/*
 * Modelled device power and energy (power.h).
 */
#include "power.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct power_model presets[] = {
	{ "rpi4", 2.7, 6.4, 0, 0 },
	{ "none", 0, 0, 0, 0 },
};

const char *const power_preset_names[] = { "rpi4", "none", NULL };

/* One non-negative finite number ending at ':' or the end; *s moves past it. */
static bool take_number(const char **s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(*s, &end);
	if (errno || end == *s || !isfinite(*out) || *out < 0 || (*end && *end != ':') ||
	    (*end == ':' && end[1] == '\0'))
		return false;
	*s = *end ? end + 1 : end;
	return true;
}

int power_model_parse(const char *text, struct power_model *out, struct ep_error *err)
{
	const char *s = text;
	double v[4] = { 0, 0, 0, 0 };
	int n = 0;

	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
		if (strcmp(text, presets[i].name) == 0) {
			*out = presets[i];
			return EP_OK;
		}
	while (*s && n < 4)
		if (!take_number(&s, &v[n++]))
			return ep_error_set(err, EP_EINVAL,
					    "power model '%s': expected a preset (rpi4, none) or "
					    "IDLE_W:MAX_W[:TX_NJ_PER_BIT:RX_NJ_PER_BIT] with "
					    "non-negative numbers", text);
	if (*s || (n != 2 && n != 4))
		return ep_error_set(err, EP_EINVAL,
				    "power model '%s': expected a preset (rpi4, none) or "
				    "IDLE_W:MAX_W[:TX_NJ_PER_BIT:RX_NJ_PER_BIT]", text);
	if (v[1] < v[0])
		return ep_error_set(err, EP_EINVAL,
				    "power model '%s': P_max %g W is below P_idle %g W", text, v[1],
				    v[0]);
	snprintf(out->name, sizeof(out->name), "custom");
	out->idle_w = v[0];
	out->max_w = v[1];
	out->tx_j_per_bit = v[2] * 1e-9;
	out->rx_j_per_bit = v[3] * 1e-9;
	return EP_OK;
}

double power_model_watts(const struct power_model *m, double u)
{
	u = u < 0 ? 0 : u > 1 ? 1 : u;
	return m->idle_w + (m->max_w - m->idle_w) * u;
}

int power_plan_energy(const struct power_model *m, const struct problem *p,
		      const struct plan *plan, double *node_j, double *total_j,
		      struct ep_error *err)
{
	int n = p->cluster->n, k = plan->n_stages, disp = CLUSTER_DISPATCHER(p->cluster);
	double *stage_s = malloc((size_t)k * sizeof(double)), *busy = calloc((size_t)n + 1,
									     sizeof(double));
	double *sent = calloc((size_t)n + 1, sizeof(double)),
	       *received = calloc((size_t)n + 1, sizeof(double));
	unsigned char *on = calloc((size_t)n + 1, 1);
	struct plan_cost cost;
	int rc = EP_OK;

	*total_j = NAN;
	if (!stage_s || !busy || !sent || !received || !on) {
		rc = ep_error_set(err, EP_ENOMEM, "out of memory for a plan's energy");
		goto out;
	}
	plan_cost(p, plan, &cost, stage_s, NULL);
	if (!(cost.bottleneck_s > 0)) {
		rc = ep_error_set(err, EP_EINVAL, "the plan's bottleneck is 0 under the %s metric "
				  "(nothing takes time): no modelled energy per inference",
				  problem_metric_name(&p->options));
		goto out;
	}
	for (int s = 0; s < k; s++) {
		const struct plan_stage *st = &plan->stages[s];

		busy[st->node] += p->options.count_compute ? stage_s[s] : 0;
		on[st->node] = 1;
	}
	for (int h = 0; h <= k; h++) {
		int from = h == 0 ? disp : plan->stages[h - 1].node;
		int to = h == k ? disp : plan->stages[h].node;
		int cut = h == 0 ? 0 : plan->stages[h - 1].end_cut;

		if (((h == 0 || h == k) && !p->options.count_dispatcher) ||
		    !(problem_hop_s(p, cut, from, to) > 0))
			continue; /* a hop that takes no time carries nothing (as in sim) */
		sent[from] += p->wire_bits[cut];
		received[to] += p->wire_bits[cut];
	}
	*total_j = 0;
	for (int v = 0; v < n; v++) {
		double e = on[v] ? power_model_energy(m, cost.bottleneck_s, busy[v], sent[v],
						      received[v])
				 : 0;

		if (node_j)
			node_j[v] = e;
		*total_j += e;
	}
out:
	free(stage_s);
	free(busy);
	free(sent);
	free(received);
	free(on);
	return rc;
}

double power_model_energy(const struct power_model *m, double span_s, double busy_s,
			  double bits_sent, double bits_received)
{
	busy_s = busy_s < 0 ? 0 : busy_s > span_s ? span_s : busy_s;
	return m->idle_w * span_s + (m->max_w - m->idle_w) * busy_s +
	       m->tx_j_per_bit * bits_sent + m->rx_j_per_bit * bits_received;
}
