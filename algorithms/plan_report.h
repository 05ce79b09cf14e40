/*
 * plan_report: what 'edgepipe plan' prints of one instance planned by one algorithm or by all
 * of them side by side.
 *
 * One algorithm, text: a header (the instance and its options), the plan's stages (node, cuts,
 * layers, memory, compute, transfer, the hop after it), the bottleneck and where it is, what an
 * exact algorithm proved, and the MODELLED energy with a device power model (power.h). Several
 * algorithms, text: the header, then a line per algorithm with its gap to the proven optimum.
 * CSV: a row per stage of each algorithm's plan (one row without a plan). JSON: an array with
 * an object per algorithm (its stages, bottleneck, bound, energy, codec, the scenario).
 *
 * A result has a plan to show when it solved, or when a time limit struck with a best plan so
 * far (status EP_ELIMIT): its status then reads "limit".
 */
#ifndef EDGEPIPE_PLAN_REPORT_H
#define EDGEPIPE_PLAN_REPORT_H

#include <stdio.h>

#include <gsl/gsl_rng.h>

#include "algo.h"
#include "ep_error.h"
#include "instance.h"
#include "power.h"

enum plan_report_format { PLAN_REPORT_TEXT, PLAN_REPORT_CSV, PLAN_REPORT_JSON };

/* What the report shows; everything borrowed. */
struct plan_report {
	const struct instance *inst;
	const struct instance_spec *spec;  /* the instance's description (seed, trial, cluster
					      kind and memory list, metric, compute profile) */
	enum algo_variant variant;	   /* the algorithms' */
	const struct power_model *power;   /* --device; NULL: no modelled energy */
	const struct algo *const *algos;   /* n_algos algorithms ... */
	const struct algo_result *results; /* ... and their results, in the same order */
	int n_algos;			   /* >= 1 */
	const char *scenario_path, *scenario_text; /* the scenario file; NULL: none */
};

/*
 * Run each of the n_algos algorithms on inst's problem with options `o`, into results[i]
 * (initialised by the caller, released by the caller even on error), each with a generator
 * seeded from instance_algo_seed(spec, name): the same plan whether an algorithm runs alone or
 * beside the others. `rng` is the caller's (reseeded for each). Errors: algo_run's (EP_ENOMEM,
 * EP_EINTERNAL); an infeasible instance is a result, not an error.
 * Complexity: the algorithms'.
 */
int plan_report_solve(const struct instance *inst, const struct instance_spec *spec,
		      const struct algo_options *o, const struct algo *const *algos, int n_algos,
		      gsl_rng *rng, struct algo_result *results, struct ep_error *err);

/* Write the report to `f` in `fmt` (above). EP_OK; EP_ENOMEM or EP_EIO (a failed write).
 * Complexity: O(algorithms x (stages + nodes)). */
int plan_report_write(FILE *f, enum plan_report_format fmt, const struct plan_report *r,
		      struct ep_error *err);

#endif
