/*
 * The simulation's modelled energy (sim_pipeline.h, "Modelled energy"): each node's busy time
 * and the bits of its links over the measurement interval, through the device power model
 * (power.h). Computed once, from the report's node and link statistics.
 */
#include <math.h>
#include <stdlib.h>

#include "sim_internal.h"

int sim_energy_report(struct sim_pipeline *sp, double interval_s, struct ep_error *err)
{
	struct sim_report *r = &sp->report;
	const struct power_model *pm = sp->cfg.power;
	double total = 0;
	bool any = false;

	r->energy = NULL;
	r->energy_j = r->energy_per_inference_j = r->power_w = NAN;
	if (!pm)
		return EP_OK;
	if (!sp->energy && !(sp->energy = calloc((size_t)sp->n, sizeof(*sp->energy))))
		return ep_error_set(err, EP_ENOMEM, "out of memory for the energy report");
	for (int i = 0; i < sp->n; i++) {
		struct sim_node_energy *e = &sp->energy[i];

		*e = (struct sim_node_energy){ .node = i };
		e->busy_s = r->nodes[i].utilisation * interval_s;
	}
	for (int i = 0; i < r->n_links; i++) {
		const struct sim_server_stats *l = &r->links[i];

		if (l->from < sp->n)
			sp->energy[l->from].bits_sent += l->bits;
		if (l->to < sp->n)
			sp->energy[l->to].bits_received += l->bits;
	}
	for (int i = 0; i < sp->n; i++) {
		struct sim_node_energy *e = &sp->energy[i];
		double on_s = interval_s;

		/* A crashed node draws nothing from its crash on. */
		if (sp->nodes[i].dead) {
			on_s = sp->incidents[sp->nodes[i].incident].at_s - r->warmup_end_s;
			on_s = on_s < 0 ? 0 : on_s > interval_s ? interval_s : on_s;
		}
		e->active = e->busy_s > 0 || e->bits_sent > 0 || e->bits_received > 0 ||
			    r->nodes[i].served > 0;
		e->energy_j = power_model_energy(pm, on_s, e->busy_s, e->bits_sent,
						 e->bits_received);
		e->energy_per_inference_j = r->measured > 0 ? e->energy_j / (double)r->measured
							    : NAN;
		e->power_w = interval_s > 0 ? e->energy_j / interval_s : NAN;
		if (e->active) {
			total += e->energy_j;
			any = true;
		}
	}
	r->energy = sp->energy;
	if (any) {
		r->energy_j = total;
		r->energy_per_inference_j = r->measured > 0 ? total / (double)r->measured : NAN;
		r->power_w = interval_s > 0 ? total / interval_s : NAN;
	}
	return EP_OK;
}
