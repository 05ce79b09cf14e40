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
#include <stddef.h>
#include <stdio.h>

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

/* A value of an algorithm option: integers and flags (1 when given) in `i`, reals in `d`. */
union algo_value {
	long i;
	double d;
};

/*
 * One option of an algorithm, `--NAME ARG`, listed in its registry entry (`options`). The CLI
 * builds its option tables, its --help and the sweep's options identity from these tables, so
 * an algorithm with an option is still one file and one registry line. An option of the same
 * name in several algorithms is one option (taken once, read by each of them): their argument
 * grammar, parser and default must agree (test_algo_options checks). Imitate seifer.c.
 */
struct algo_option {
	const char *name;  /* "max-split", the command line's --max-split */
	const char *arg;   /* the argument's grammar for the help ("S"); NULL: a flag */
	const char *usage; /* the help's text after the name and grammar; may hold '\n' */
	/*
	 * Parse `arg` (NULL for a flag) into `out`: EP_OK, or EP_EINVAL with a message naming
	 * the option and the value. The algo_option_parse_* below cover numbers and durations.
	 */
	int (*parse)(const struct algo_option *self, const char *arg, union algo_value *out,
		     struct ep_error *err);
	/* The value as the sweep's options identity records it (store.h), e.g. "5", "2 s". */
	void (*format)(const struct algo_option *self, union algo_value v, char *buf, size_t size);
	union algo_value def; /* the value when the option is not given */
	double min, max;      /* the accepted range, for the number parsers */
};

/* Integers in [min, max]; reals in [min, max]; durations ("2s", "150ms") > 0 in seconds;
 * flags (1). Their formats: "%d"; "%.17g"-style shortest round trip; "%s s"; "on"/"off". */
int algo_option_parse_int(const struct algo_option *self, const char *arg, union algo_value *out,
			  struct ep_error *err);
int algo_option_parse_real(const struct algo_option *self, const char *arg,
			   union algo_value *out, struct ep_error *err);
int algo_option_parse_duration(const struct algo_option *self, const char *arg,
			       union algo_value *out, struct ep_error *err);
int algo_option_parse_flag(const struct algo_option *self, const char *arg,
			   union algo_value *out, struct ep_error *err);
void algo_option_format_int(const struct algo_option *self, union algo_value v, char *buf,
			    size_t size);
void algo_option_format_real(const struct algo_option *self, union algo_value v, char *buf,
			     size_t size);
void algo_option_format_duration(const struct algo_option *self, union algo_value v, char *buf,
				 size_t size);
void algo_option_format_flag(const struct algo_option *self, union algo_value v, char *buf,
			     size_t size);

#define ALGO_OPTIONS_MAX 32

/*
 * What a run of an algorithm is asked for: the variant, the published memo, and the values of
 * the algorithm options that were given, by option name (the rest take their defaults). A
 * plain value: copy it freely; the names point to the registry's static tables.
 */
struct algo_options {
	enum algo_variant variant;
	/* published variant only: a memo shared by the calls of a sweep (NULL: a fresh one per
	 * call, which is what one `edgepipe plan` does). */
	struct partition_memo *memo;
	int n_values;
	struct {
		const char *name;
		union algo_value v;
	} values[ALGO_OPTIONS_MAX];
};

#define ALGO_OPTIONS_DEFAULT ((struct algo_options){ .variant = ALGO_CORRECTED })

/* Option `opt`'s value in `o`: the one given under its name, else its default. */
union algo_value algo_options_get(const struct algo_options *o, const struct algo_option *opt);
long algo_options_int(const struct algo_options *o, const struct algo_option *opt);
double algo_options_real(const struct algo_options *o, const struct algo_option *opt);
/* Give option `name` the value `v` (replacing an earlier one). `name` must outlive `o` (a
 * registry table's, or a literal). EP_ELIMIT when ALGO_OPTIONS_MAX names are set already. */
int algo_options_set(struct algo_options *o, const char *name, union algo_value v);
int algo_options_set_int(struct algo_options *o, const char *name, long v);
int algo_options_set_real(struct algo_options *o, const char *name, double v);
/* Parse `arg` with `opt`'s parser and set the value: EP_OK or EP_EINVAL (err names the value). */
int algo_options_parse(struct algo_options *o, const struct algo_option *opt, const char *arg,
		       struct ep_error *err);

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
	/*
	 * Its options, ended by an entry with a NULL name (NULL: none). An algorithm with an
	 * option "bw-classes" (seifer's C) is run by a sweep once per class count.
	 */
	const struct algo_option *options;
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
/* The same in another registry (NULL-terminated): the tests register algorithms of their own. */
const struct algo *algo_find_in(const struct algo *const *registry, const char *name);

/* Algorithm `a`'s option called `name`, or NULL. */
const struct algo_option *algo_option_of(const struct algo *a, const char *name);
/*
 * The distinct options of `registry`'s algorithms (first occurrence of each name, in registry
 * order) into out[0 .. max-1]; returns their count (more than max: only max written).
 */
int algo_option_list(const struct algo *const *registry, const struct algo_option **out,
		     int max);
/* The option called `name` of any algorithm of `registry`, or NULL. */
const struct algo_option *algo_option_find(const struct algo *const *registry, const char *name);

/*
 * The help, generated from `registry`: the names as "random, greedy, seifer (default), ..."
 * (`default_name` marked, may be NULL) into buf, and the usage block, each algorithm with its
 * summary and then its options, with their grammar and usage, to `f`:
 *   "  seifer     SEIFER: DP partition, then ...\n"
 *   "      --bw-classes C         bandwidth classes (default 8)\n"
 */
void algo_names_format(const struct algo *const *registry, const char *default_name, char *buf,
		       size_t size);
void algo_usage_write(FILE *f, const struct algo *const *registry, const char *default_name);

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
