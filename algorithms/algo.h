/*
 * algo: the partition and placement algorithms behind one interface, listed in one registry.
 *
 * Adding an algorithm is one file that defines a `const struct algo` and one line in
 * algo_registry (algo.c). An algorithm either fills a plan or says why there is none:
 * EP_EINFEASIBLE with the reason in `err` ("the model needs 3 stages of at most 64 MiB but the
 * cluster has 2 nodes"), never a fake cost. algo_run times the call, checks the plan with
 * plan_check (a corrected algorithm's invalid plan is a bug: EP_EINTERNAL) and costs it.
 */
#ifndef EDGEPIPE_ALGO_H
#define EDGEPIPE_ALGO_H

#include <stdbool.h>

#include <gsl/gsl_rng.h>

#include "ep_error.h"
#include "plan.h"
#include "problem.h"

enum algo_variant {
	ALGO_CORRECTED = 0, /* the method with the reference's defects fixed (default) */
	ALGO_PUBLISHED,     /* the SEIFER notebooks' behaviour, defects included */
};

const char *algo_variant_name(enum algo_variant v); /* "corrected", "published" */
int algo_variant_from_name(const char *name);        /* -1 if unknown */

/* The published DP's memo, global across a sweep (defect D2); see partition.h. */
struct partition_memo;

struct algo_options {
	enum algo_variant variant;
	int bw_classes;      /* seifer: C, the number of bandwidth classes (default 8) */
	int stages;          /* defer: K, the number of stages (0: as many as nodes) */
	double failure_prob; /* seifer corrected: colour coding's failure bound per path search */
	bool force;          /* optimal: let the subset DP go beyond its size limit; feltin:
			      * search beyond its work limit */
	/* published variant only: a memo shared by the calls of a sweep (NULL: a fresh one per
	 * call, which is what one `edgepipe plan` does). */
	struct partition_memo *memo;
	/* optimal: stop after this many seconds (0: never) with the best plan and bound so far */
	double time_limit_s;
	int max_split;       /* feltin: at most this many cuts (default 5) */
};

#define ALGO_OPTIONS_DEFAULT \
	((struct algo_options){ ALGO_CORRECTED, 8, 0, 1e-6, false, NULL, 0.0, 5 })

/* What an exact algorithm proved about an instance (algo_result.bound). */
struct algo_bound {
	bool has;	    /* the algorithm reported a bound (false: the fields are unset) */
	double lower_s;	    /* no valid plan has a smaller bottleneck; == the plan's when proven */
	long nodes;	    /* search nodes it expanded */
	const char *method; /* static string naming the exact method */
};

struct algo {
	const char *name;    /* "seifer" */
	const char *summary; /* one line for --help */
	/*
	 * Fill `out` (initialised and empty) with a plan for `p`, drawing any randomness from
	 * `rng`. Returns EP_OK, EP_EINFEASIBLE (reason in err), EP_ELIMIT (too large without
	 * o->force), EP_ENOMEM.
	 */
	int (*solve)(const struct problem *p, const struct algo_options *o, gsl_rng *rng,
		     struct plan *out, struct ep_error *err);
	/* The algorithm reads o->bw_classes: a sweep runs it once per class count. */
	bool uses_bw_classes;
	/*
	 * Optional, for exact methods: solve as `solve` does and also say what was proven in
	 * `bound` (never NULL). May return EP_ELIMIT with a plan in `out` (the best found when
	 * o->time_limit_s struck) and bound->has set: that plan is not proven optimal. algo_run
	 * calls it instead of `solve` when it is set.
	 */
	int (*solve_bounded)(const struct problem *p, const struct algo_options *o, gsl_rng *rng,
			     struct plan *out, struct algo_bound *bound, struct ep_error *err);
};

/* The registry, NULL-terminated, in the order `--algo all` prints them. */
extern const struct algo *const algo_registry[];

/* The algorithm called `name`, or NULL. */
const struct algo *algo_find(const char *name);

struct algo_result {
	int status;              /* EP_OK, EP_EINFEASIBLE, EP_ELIMIT ... */
	char reason[512];        /* when status != EP_OK */
	/* when status == EP_OK, or EP_ELIMIT with a best plan so far (plan.n_stages > 0) */
	struct plan plan;
	struct plan_defects defects;
	struct plan_cost cost;   /* when the plan is there */
	double solve_s;          /* wall time of solve() */
	struct algo_bound bound; /* from solve_bounded; has = false otherwise */
};

void algo_result_init(struct algo_result *r);
void algo_result_release(struct algo_result *r);

/*
 * Run `a` on `p` into `r` (initialised). Infeasibility and limits are results, not errors:
 * they are recorded in r->status and r->reason and the call returns EP_OK. A time limit with a
 * best plan so far keeps that plan, checked and costed, beside status EP_ELIMIT and r->bound. The call fails
 * (EP_EINTERNAL, EP_ENOMEM) only when something is wrong with the program: a corrected-variant
 * plan that plan_check rejects, or a published-variant plan that is structurally unusable.
 */
int algo_run(const struct algo *a, const struct problem *p, const struct algo_options *o,
	     gsl_rng *rng, struct algo_result *r, struct ep_error *err);

#endif
