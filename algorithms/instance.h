/*
 * instance: everything one trial needs, built from a description: the model graph (zoo name or
 * model file), its profile, the trial's cluster and the problem. The command line, the sweep,
 * the simulator and the emulator all build their instances here, so that the same description
 * and seed give the same instance everywhere.
 */
#ifndef EDGEPIPE_INSTANCE_H
#define EDGEPIPE_INSTANCE_H

#include <stdint.h>
#include <stdio.h>

#include "algo.h"
#include "cluster.h"
#include "ep_error.h"
#include "model_graph.h"
#include "model_profile.h"
#include "problem.h"

struct instance_spec {
	const char *model;                    /* zoo name or model file */
	struct model_profile_options profile; /* cut rule, accounting, dtype, compression */
	struct cluster_spec cluster;          /* kind, n, memory ... */
	struct problem_options problem;       /* metric (its compute source is set from
						 compute_profile) */
	/* A measured layer profile of the model (model_lprofile.h): stage compute times from it
	 * and the nodes' speed factors (cluster.speed_factor...). NULL: FLOPs / speed. */
	const char *compute_profile;
	uint64_t seed;                        /* the run's seed */
	int trial;                            /* the cluster is drawn from (seed, trial, n) */
};

/*
 * The settings of a variant: published = the notebooks' accounting and cut rule, the published
 * metric (inter-stage hops only, strict memory test) and 2^20-bit Mbit in the geometric
 * bandwidths; corrected = exact accounting and cut rule, the full metric. Only these fields of
 * `spec` are changed.
 */
void instance_spec_set_variant(struct instance_spec *spec, enum algo_variant variant);

struct instance {
	struct model_graph *graph;
	struct model_profile *profile;
	struct cluster *cluster;
	struct problem problem;
	uint64_t cluster_seed; /* cluster_trial_seed(seed, trial, n) */
};

/* Build an instance; *out is owned by the caller. Errors from the model, profile, layer
 * profile (a profile of another model: EP_EINVAL naming both), cluster or problem are passed
 * on. Complexity: O(layers + n^2). */
int instance_create(const struct instance_spec *spec, struct instance **out, struct ep_error *err);
void instance_destroy(struct instance *inst);

/* Replace the cluster (and problem) by the one of another (seed, trial): the sweep's inner loop
 * keeps the model and profile. */
int instance_set_trial(struct instance *inst, const struct instance_spec *spec,
		       struct ep_error *err);

/*
 * The seed of algorithm `name`'s generator in a trial: a hash of (seed, name, trial, n), so an
 * algorithm draws the same numbers whether it runs alone, beside others, or in a sweep.
 */
uint64_t instance_algo_seed(const struct instance_spec *spec, const char *name);

/*
 * Write the instance as JSON: the model, the options, the cut points (layer, cumulative memory
 * and FLOPs, transfer bits), the nodes (memory, speed), the bandwidth and latency matrices with
 * the dispatcher last, so another solver or tool can check any result. EP_OK or EP_EIO.
 */
int instance_write_json(const struct instance *inst, FILE *f, struct ep_error *err);

#endif
