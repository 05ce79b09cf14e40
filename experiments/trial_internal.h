/*
 * trial's internals, shared by its run (trial.c) and its report writers (trial_report*.c).
 */
#ifndef EDGEPIPE_TRIAL_INTERNAL_H
#define EDGEPIPE_TRIAL_INTERNAL_H

#include "emu_db.h"
#include "trial.h"

/* A finished simulation: what it ran on (borrowed), its configuration and its pipeline. */
struct trial_sim {
	const struct trial_setup *t;
	const struct algo_result *res;
	struct sim_config cfg;
	struct sim_update updates[TRIAL_MAX_UPDATES];
	struct model_graph *ug[TRIAL_MAX_UPDATES];
	struct model_profile *up[TRIAL_MAX_UPDATES];
	int n_updates;
	struct sim_pipeline *sp;
	double bound_s, wall_s;
	char warning[512];
	FILE *trace; /* opened by trial_sim_plan_run; NULL: none or closed */
	const char *trace_path;
};

/* An emulation: what it ran on (borrowed), its configuration, the reference simulation and
 * the session. */
struct trial_emu {
	const struct trial_setup *t;
	const struct algo_result *res;
	const struct trial_workload *w;
	const char *command;
	struct emu_config cfg;
	const char *compute_name;
	struct model_graph *ug;
	struct model_profile *up;
	struct trial_sim_ref sim;
	struct emu_session *sess;
};

/*
 * The emulator's configuration of a trial into *cfg: o->cfg with the workload w, the sizes that
 * depend on res->plan when w leaves them open (window, bin, retry timeout:
 * workload_retry_blind_s), the algorithm, seed and power of t, the timeline and the update (ug
 * and up opened by the caller; NULL without one), and a model given as a file watched. Errors:
 * workload_plan_terms's. trial_emu_run and compare_run configure the emulator with it.
 */
int trial_emu_configure(const struct trial_setup *t, const struct algo_result *res,
			const struct trial_workload *w, const struct trial_emu_options *o,
			struct model_graph *ug, struct model_profile *up, struct emu_config *cfg,
			struct ep_error *err);

/* The update models of w (the first n), opened and profiled as the run's model is; the
 * message of an error starts "--update: ". The caller destroys what was opened. */
int trial_updates_open(const struct trial_setup *t, const struct trial_workload *w, int n,
		       struct model_graph **g, struct model_profile **p, struct ep_error *err);

/* The emulator's emu_runs row (emu_db.h) of a run configured as cfg, with its reference (or
 * the simulated figures beside it). */
struct emu_db_run trial_emu_db_run(const struct trial_setup *t, const struct algo_result *res,
				   const struct trial_workload *w, const struct emu_config *cfg,
				   const char *command, const char *compute_name,
				   const struct trial_sim_ref *sim);

/* The report writers' shared pieces (trial_report_sim.c). */
#include <jansson.h>

/* "cuts..cuts@node" per stage, space-separated. */
void trial_plan_line_write(FILE *f, const struct plan *plan);
/* The first lines of a text report: the scenario (when one), the instance. */
void trial_head_write(FILE *f, const struct trial_setup *t);
/* [{"node", "first_cut", "end_cut"}...]; NULL when out of memory. */
json_t *trial_plan_json(const struct plan *plan);
/* {"path", "text"} of the scenario; NULL without one (or out of memory). */
json_t *trial_scenario_json(const struct trial_setup *t);
/* The series' counts; NULL when out of memory. */
json_t *trial_series_json(const int64_t *series, int n);

#endif
