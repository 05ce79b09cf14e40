#include "sweep.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gsl/gsl_rng.h>

#include "ep_units.h"
#include "ep_util.h"
#include "instance.h"
#include "model_lprofile.h"
#include "model_zoo.h"
#include "partition.h"
#include "sim_pipeline.h"

/* Workers send rows through pipes in single writes, which are atomic up to PIPE_BUF. */
_Static_assert(sizeof(struct store_row) <= 4096, "a store_row must fit in PIPE_BUF");

void sweep_grid_init(struct sweep_grid *g)
{
	memset(g, 0, sizeof(*g));
	g->cluster_base = cluster_spec_default(1, 1);
	g->cluster_base.bw_min_bps = 1e6;
	g->cluster_base.bw_max_bps = 100e6;
	g->cluster_base.classes = 4;
	g->algo_base = ALGO_OPTIONS_DEFAULT;
	g->clusters[0] = CLUSTER_GEOMETRIC;
	g->n_clusters = 1;
	g->variants[0] = ALGO_CORRECTED;
	g->n_variants = 1;
	g->bw_classes[0] = algo_option_find(algo_registry, "bw-classes")
				   ? (int)algo_option_find(algo_registry, "bw-classes")->def.i
				   : 0;
	g->n_bw_classes = 1;
	g->trials = 1;
	g->seed = 1;
	g->sim_requests = 1000;
	g->shard_count = 1;
	g->jobs = 1;
}

static bool parse_int(const char *s, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return *s && !*end && !errno;
}

int sweep_parse_ints(const char *axis, const char *s, int min, int max, int *out,
		     struct ep_error *err)
{
	char buf[1024], *tok, *save;
	int n = 0;

	if (strlen(s) >= sizeof(buf) || !*s)
		return ep_error_set(err, EP_EINVAL, "%s '%s': empty or too long", axis, s);
	if (ep_list_check(axis, s, err))
		return EP_EINVAL;
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		long a, b = 0, step = 1;
		char *c1 = strchr(tok, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (c1)
			*c1 = '\0';
		if (c2)
			*c2 = '\0';
		if (!parse_int(tok, &a) || (c1 && !parse_int(c1 + 1, &b)) ||
		    (c2 && !parse_int(c2 + 1, &step)) || step < 1 || (c1 && b < a))
			return ep_error_set(err, EP_EINVAL, "%s '%s': expected integers or ranges "
					    "START:END[:STEP]", axis, s);
		if (!c1)
			b = a;
		for (long v = a; v <= b; v += step) {
			if (v < min || v > max)
				return ep_error_set(err, EP_EINVAL, "%s '%s': %ld is outside %d..%d",
						    axis, s, v, min, max);
			if (n == SWEEP_MAX_AXIS)
				return ep_error_set(err, EP_EINVAL, "%s '%s': more than %d values",
						    axis, s, SWEEP_MAX_AXIS);
			for (int k = 0; k < n; k++)
				if (out[k] == v)
					return ep_error_set(err, EP_EINVAL, "%s '%s': %ld is given "
							    "twice", axis, s, v);
			out[n++] = (int)v;
		}
	}
	return n;
}

int sweep_parse_sizes(const char *axis, const char *s, double *out, struct ep_error *err)
{
	char buf[1024], *tok, *save;
	int n = 0;

	if (strlen(s) >= sizeof(buf) || !*s)
		return ep_error_set(err, EP_EINVAL, "%s '%s': empty or too long", axis, s);
	if (ep_list_check(axis, s, err))
		return EP_EINVAL;
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct ep_error e;

		if (n == SWEEP_MAX_AXIS)
			return ep_error_set(err, EP_EINVAL, "%s '%s': more than %d values", axis, s,
					    SWEEP_MAX_AXIS);
		if (ep_parse_bytes(tok, &out[n], &e) || !(out[n] > 0))
			return ep_error_set(err, EP_EINVAL, "%s '%s': '%s' is not a positive size "
					    "such as 64MiB", axis, s, tok);
		for (int k = 0; k < n; k++)
			if (out[k] == out[n])
				return ep_error_set(err, EP_EINVAL, "%s '%s': '%s' is given twice",
						    axis, s, tok);
		n++;
	}
	return n;
}

int sweep_parse_list(const char *axis, char *buf, const char **out, int max, struct ep_error *err)
{
	int n = 0;
	char *save;

	EP_CHECK(ep_list_check(axis, buf, err));
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (n == max)
			return ep_error_set(err, EP_EINVAL, "%s: more than %d values", axis, max);
		for (int k = 0; k < n; k++)
			if (strcmp(out[k], t) == 0)
				return ep_error_set(err, EP_EINVAL, "%s: '%s' is given twice", axis,
						    t);
		out[n++] = t;
	}
	return n;
}

/* sweep_parse_list over a copy of `s`, for the axes whose names do not outlive the parse:
 * *copy receives the copy (the caller frees it). */
static int split_copy(const char *axis, const char *s, char **copy, const char **out, int max,
		      struct ep_error *err)
{
	*copy = strdup(s);
	if (!*copy)
		return ep_error_set(err, EP_ENOMEM, "out of memory");
	return sweep_parse_list(axis, *copy, out, max, err);
}

int sweep_grid_parse_models(struct sweep_grid *g, char *list, struct ep_error *err)
{
	char *given = strdup(list);
	int n = given ? sweep_parse_list("--model", list, g->models, SWEEP_MAX_AXIS, err)
		      : ep_error_set(err, EP_ENOMEM, "out of memory");

	if (n == 0)
		n = ep_error_set(err, EP_EINVAL, "--model '%s': expected a list of models", given);
	free(given);
	if (n < 0)
		return n;
	g->n_models = n;
	return EP_OK;
}

int sweep_grid_parse_algos(struct sweep_grid *g, const char *s, struct ep_error *err)
{
	const char *names[SWEEP_MAX_AXIS];
	char *copy = NULL, known[1024];
	int n;

	if (strcmp(s, "all") == 0) {
		for (g->n_algos = 0; algo_registry[g->n_algos]; g->n_algos++)
			g->algos[g->n_algos] = algo_registry[g->n_algos];
		return EP_OK;
	}
	n = split_copy("--algo", s, &copy, names, SWEEP_MAX_AXIS, err);
	if (n == 0)
		n = ep_error_set(err, EP_EINVAL, "--algo: expected a list of algorithms");
	for (int i = 0; i < n; i++) {
		g->algos[i] = algo_find(names[i]);
		if (!g->algos[i]) {
			algo_names_format(algo_registry, NULL, known, sizeof(known));
			n = ep_error_set(err, EP_EINVAL,
					 "--algo '%s': unknown algorithm (%s, or all)", names[i],
					 known);
		}
	}
	free(copy);
	if (n < 0)
		return n;
	g->n_algos = n;
	return EP_OK;
}

int sweep_grid_parse_variants(struct sweep_grid *g, const char *s, struct ep_error *err)
{
	const char *names[4];
	char *copy = NULL;
	int n;

	if (strcmp(s, "both") == 0) {
		g->variants[0] = ALGO_CORRECTED;
		g->variants[1] = ALGO_PUBLISHED;
		g->n_variants = 2;
		return EP_OK;
	}
	n = split_copy("--variant", s, &copy, names, 2, err);
	if (n == 0)
		n = ep_error_set(err, EP_EINVAL,
				 "--variant: expected corrected, published or both");
	for (int i = 0; i < n; i++) {
		int v = algo_variant_from_name(names[i]);

		if (v < 0)
			n = ep_error_set(err, EP_EINVAL,
					 "--variant '%s': expected corrected or published",
					 names[i]);
		else
			g->variants[i] = (enum algo_variant)v;
	}
	free(copy);
	if (n < 0)
		return n;
	g->n_variants = n;
	return EP_OK;
}

int sweep_grid_parse_clusters(struct sweep_grid *g, const char *s, struct ep_error *err)
{
	const char *names[CLUSTER_KIND_COUNT_];
	char *copy = NULL;
	int n = split_copy("--cluster", s, &copy, names, CLUSTER_KIND_COUNT_, err);

	if (n == 0)
		n = ep_error_set(err, EP_EINVAL,
				 "--cluster: expected a list of geometric, uniform, classes, file");
	for (int i = 0; i < n; i++) {
		int k = cluster_kind_from_name(names[i]);

		if (k < 0)
			n = ep_error_set(err, EP_EINVAL,
					 "--cluster '%s': expected geometric, uniform, classes or "
					 "file",
					 names[i]);
		else
			g->clusters[i] = (enum cluster_kind)k;
	}
	free(copy);
	if (n < 0)
		return n;
	g->n_clusters = n;
	return EP_OK;
}

/*
 * The profile among `paths` measured on graph `g` (model_lprofile_check: same name and
 * fingerprint): *out points at its path. EP_EINVAL naming the model and the files when none is,
 * or the reader's error for a file that cannot be read.
 */
static int match_profile(const struct model_graph *g, const char *const *paths, int n,
			 const char **out, struct ep_error *err)
{
	char names[1024] = "";
	size_t k = 0;

	*out = NULL;
	for (int i = 0; i < n; i++) {
		struct model_lprofile *lp = NULL;
		int rc = model_lprofile_load(paths[i], &lp, err);

		if (rc)
			return rc;
		if (strcmp(lp->model, model_graph_name(g)) == 0) {
			rc = model_lprofile_check(lp, g, paths[i], err);
			model_lprofile_destroy(lp);
			if (rc)
				return rc;
			*out = paths[i];
			return EP_OK;
		}
		if (k < sizeof(names))
			k += (size_t)snprintf(names + k, sizeof(names) - k, "%s'%s' (%s)",
					      i ? ", " : "", paths[i], lp->model);
		model_lprofile_destroy(lp);
	}
	return ep_error_set(err, EP_EINVAL, "no layer profile of model '%s' among %s",
			    model_graph_name(g), names);
}

int sweep_grid_set_models(struct sweep_grid *g, const char *const *profiles, int n_profiles,
			  struct ep_error *err)
{
	for (int i = 0; i < g->n_models; i++) {
		struct model_graph *mg;
		int rc = model_zoo_open(g->models[i], &mg, err);

		if (!rc && n_profiles)
			rc = match_profile(mg, profiles, n_profiles, &g->compute_profiles[i], err);
		model_graph_destroy(mg);
		if (rc)
			return rc;
	}
	return EP_OK;
}

/* FNV-1a over the bytes of a file. */
static int file_hash(const char *path, uint64_t *h, long *bytes, struct ep_error *err)
{
	FILE *f = fopen(path, "rb");
	int c;

	*h = 14695981039346656037ULL;
	*bytes = 0;
	if (!f)
		return ep_error_set(err, EP_EIO, "cannot read '%s': %s", path, strerror(errno));
	while ((c = getc(f)) != EOF) {
		*h = (*h ^ (uint64_t)(unsigned char)c) * 1099511628211ULL;
		(*bytes)++;
	}
	c = ferror(f);
	fclose(f);
	return c ? ep_error_set(err, EP_EIO, "cannot read '%s'", path) : EP_OK;
}

/* The shortest of %.15g and %.17g that reads back as `v`: "0.005", not 0.0050000000000000001. */
static const char *num(double v, char *buf)
{
	snprintf(buf, 32, "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, 32, "%.17g", v);
	return buf;
}

static void opt_set(struct store_option *o, int *n, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void opt_set(struct store_option *o, int *n, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (*n >= STORE_MAX_OPTIONS)
		return;
	snprintf(o[*n].name, sizeof(o[*n].name), "%s", name);
	va_start(ap, fmt);
	vsnprintf(o[*n].value, sizeof(o[*n].value), fmt, ap);
	va_end(ap);
	(*n)++;
}

int sweep_options(const struct sweep_grid *g, struct store_option *o, struct ep_error *err)
{
	const struct cluster_spec *c = &g->cluster_base;
	const struct algo_option *list[STORE_MAX_OPTIONS];
	int n_list = algo_option_list(algo_registry, list, STORE_MAX_OPTIONS);
	char buf[256], x[32], y[32];
	size_t k = 0;
	int n = 0;

	opt_set(o, &n, "--speed", "%s FLOP/s", num(c->speed_flops, x));
	buf[0] = '\0';
	for (int i = 0; i < c->n_speed_factor_list && k < sizeof(buf); i++)
		k += (size_t)snprintf(buf + k, sizeof(buf) - k, "%s%s", i ? "," : "",
				      num(c->speed_factor_list[i], x));
	opt_set(o, &n, "--speed-factor", "%s", k ? buf : "");
	if (!k)
		snprintf(o[n - 1].value, sizeof(o[n - 1].value), "%s", num(c->speed_factor, x));
	opt_set(o, &n, "--latency", "%s s", num(c->latency_s, x));
	opt_set(o, &n, "--bw-range", "%s:%s bit/s", num(c->bw_min_bps, x), num(c->bw_max_bps, y));
	opt_set(o, &n, "--link-classes", "%d", c->classes);
	if (c->path) {
		uint64_t h;
		long bytes;

		EP_CHECK(file_hash(c->path, &h, &bytes, err));
		opt_set(o, &n, "--cluster-file", "content fnv1a %016llx, %ld bytes",
			(unsigned long long)h, bytes);
	} else {
		opt_set(o, &n, "--cluster-file", "none");
	}
	opt_set(o, &n, "(geometric side)", "%s", num(c->side, x));
	opt_set(o, &n, "(bits per Mbit)", "%s", num(c->mbit_bits, x));
	opt_set(o, &n, "(symmetric links)", "%s", c->symmetric ? "yes" : "no");
	opt_set(o, &n, "(dispatcher bandwidth)", "%s bit/s", num(c->dispatcher_bw_bps, x));
	/* every algorithm option as its registry entry formats it; the classes are a key */
	for (int i = 0; i < n_list && i < STORE_MAX_OPTIONS; i++) {
		char name[64], value[64];

		if (strcmp(list[i]->name, "bw-classes") == 0)
			continue;
		snprintf(name, sizeof(name), "--%s", list[i]->name);
		list[i]->format(list[i], algo_options_get(&g->algo_base, list[i]), value,
				sizeof(value));
		opt_set(o, &n, name, "%s", value);
	}
	opt_set(o, &n, "--parallel", "%s", g->parallel ? "on" : "off");
	if (g->sim)
		opt_set(o, &n, "--sim", "on, %lld requests", (long long)g->sim_requests);
	else
		opt_set(o, &n, "--sim", "off");
	k = 0;
	buf[0] = '\0';
	for (int i = 0; i < g->n_models; i++) {
		uint64_t h;
		long bytes;

		if (!g->compute_profiles[i])
			continue;
		EP_CHECK(file_hash(g->compute_profiles[i], &h, &bytes, err));
		if (k < sizeof(buf))
			k += (size_t)snprintf(buf + k, sizeof(buf) - k, "%s%s %016llx", k ? "," : "",
					      g->models[i], (unsigned long long)h);
	}
	opt_set(o, &n, "--compute", "%s", k ? buf : "flops");
	return n;
}

static bool uses_classes(const struct algo *a)
{
	return algo_option_of(a, "bw-classes") != NULL;
}

int sweep_rows_per_cell(const struct sweep_grid *g)
{
	int rows = 0;

	for (int i = 0; i < g->n_algos; i++)
		rows += uses_classes(g->algos[i]) ? g->n_bw_classes : 1;
	return rows;
}

long sweep_cells(const struct sweep_grid *g)
{
	return (long)g->n_models * g->n_mems * g->n_nodes * g->n_clusters * g->n_variants *
	       g->trials;
}

/* A cell's coordinates; trial varies fastest, then variant, cluster, nodes, memory, model. */
struct cell {
	int model, mem, nodes, cluster, variant, trial;
};

static struct cell cell_at(const struct sweep_grid *g, long c)
{
	struct cell x;

	x.trial = (int)(c % g->trials);
	c /= g->trials;
	x.variant = (int)(c % g->n_variants);
	c /= g->n_variants;
	x.cluster = (int)(c % g->n_clusters);
	c /= g->n_clusters;
	x.nodes = (int)(c % g->n_nodes);
	c /= g->n_nodes;
	x.mem = (int)(c % g->n_mems);
	x.model = (int)(c / g->n_mems);
	return x;
}

static void cell_spec(const struct sweep_grid *g, const struct cell *x, struct instance_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->model = g->models[x->model];
	s->profile = MODEL_PROFILE_OPTIONS_DEFAULT;
	s->cluster = g->cluster_base;
	s->cluster.kind = g->clusters[x->cluster];
	s->cluster.n = g->nodes[x->nodes];
	s->cluster.mem_bytes = g->mems[x->mem];
	s->cluster.mem_list = NULL;
	s->cluster.n_mem_list = 0;
	s->seed = g->seed;
	s->trial = x->trial;
	s->compute_profile = g->compute_profiles[x->model];
	instance_spec_set_variant(s, g->variants[x->variant]);
	s->problem.shared_nodes = g->parallel;
}

/* The key of row r (an index into the cell's algorithms x classes) of a cell. */
static void row_key(const struct sweep_grid *g, const struct cell *x, int r,
		    struct store_row *row, const struct algo **algo)
{
	memset(row, 0, sizeof(*row));
	for (int i = 0; i < g->n_algos; i++) {
		int k = uses_classes(g->algos[i]) ? g->n_bw_classes : 1;

		if (r < k) {
			*algo = g->algos[i];
			row->bw_classes = uses_classes(g->algos[i]) ? g->bw_classes[r] : 0;
			break;
		}
		r -= k;
	}
	snprintf(row->model, sizeof(row->model), "%s", g->models[x->model]);
	row->mem_bytes = g->mems[x->mem];
	row->nodes = g->nodes[x->nodes];
	snprintf(row->cluster, sizeof(row->cluster), "%s", cluster_kind_name(g->clusters[x->cluster]));
	snprintf(row->algo, sizeof(row->algo), "%s", (*algo)->name);
	snprintf(row->variant, sizeof(row->variant), "%s",
		 algo_variant_name(g->variants[x->variant]));
	row->trial = x->trial;
	row->seed = g->seed;
	if (g->compute_profiles[x->model]) {
		const char *path = g->compute_profiles[x->model], *base = strrchr(path, '/');

		snprintf(row->compute, sizeof(row->compute), "profile:%s", base ? base + 1 : path);
	} else {
		snprintf(row->compute, sizeof(row->compute), "flops");
	}
}

/* What a worker keeps between cells: the instance of the last cell and the published memos. */
struct worker {
	const struct sweep_grid *g;
	struct instance *inst;
	struct cell inst_cell;
	struct partition_memo *memo[SWEEP_MAX_AXIS]; /* per model, after the first call */
	gsl_rng *rng;
	struct algo_result result;
	int out_fd; /* -1: insert into `store` directly */
	struct store *store;
};

static bool same_instance(const struct cell *a, const struct cell *b)
{
	return a->model == b->model && a->mem == b->mem && a->nodes == b->nodes &&
	       a->cluster == b->cluster && a->variant == b->variant;
}

static int worker_instance(struct worker *w, const struct cell *x, struct instance_spec *spec,
			   struct ep_error *err)
{
	cell_spec(w->g, x, spec);
	if (w->inst && same_instance(&w->inst_cell, x)) {
		w->inst_cell = *x;
		return instance_set_trial(w->inst, spec, err);
	}
	instance_destroy(w->inst);
	w->inst = NULL;
	w->inst_cell = *x;
	return instance_create(spec, &w->inst, err);
}

/*
 * The published memo of a model, filled by the grid's first call for it (see sweep.h). That
 * first call fills every entry (partition.c, dp_published), so the calls after it only read
 * the memo and their order does not matter.
 */
static int worker_memo(struct worker *w, const struct cell *x, struct partition_memo **out,
		       struct ep_error *err)
{
	struct cell first = { x->model, 0, 0, 0, 0, 0 };
	struct instance_spec spec;
	struct instance *inst = NULL;
	struct plan plan;

	if (!w->memo[x->model]) {
		w->memo[x->model] = partition_memo_create();
		if (!w->memo[x->model])
			return ep_error_set(err, EP_ENOMEM, "out of memory");
		cell_spec(w->g, &first, &spec);
		instance_spec_set_variant(&spec, ALGO_PUBLISHED);
		EP_CHECK(instance_create(&spec, &inst, err));
		plan_init(&plan);
		/* Infeasible or not, the call leaves its suffixes in the memo. */
		partition_dp(&inst->problem, ALGO_PUBLISHED, spec.cluster.n, w->memo[x->model],
			     &plan, NULL);
		plan_release(&plan);
		instance_destroy(inst);
	}
	*out = w->memo[x->model];
	return EP_OK;
}

static void fill_row(struct store_row *row, const struct instance *inst,
		     const struct algo_result *r)
{
	size_t k = 0;

	row->cluster_seed = inst->cluster_seed;
	row->solve_s = r->solve_s;
	if (r->status != EP_OK) {
		snprintf(row->status, sizeof(row->status), "%s",
			 r->status == EP_EINFEASIBLE ? "infeasible"
			 : r->status == EP_ELIMIT    ? "limit"
						     : "failed");
		snprintf(row->reason, sizeof(row->reason), "%s", r->reason);
		/* A time limit's best plan so far is kept (its status says it is not proven). */
		if (!(r->status == EP_ELIMIT && r->plan.n_stages > 0))
			return;
	} else {
		snprintf(row->status, sizeof(row->status), "ok");
	}
	/* An exact method's proof goes into the reason of its ok rows. */
	if (r->status == EP_OK && r->bound.has)
		snprintf(row->reason, sizeof(row->reason),
			 "proven optimal (%s): no valid plan below %.17g s; %ld search nodes",
			 r->bound.method, r->bound.lower_s, r->bound.nodes);
	row->stages = r->plan.n_stages;
	for (int s = 0; s < r->plan.n_stages && k < sizeof(row->plan); s++) {
		const struct plan_stage *st = &r->plan.stages[s];
		int n = snprintf(row->plan + k, sizeof(row->plan) - k, "%s%d:%d-%d", s ? " " : "",
				 st->node, st->first_cut, st->end_cut);

		k += n > 0 ? (size_t)n : 0;
	}
	row->bottleneck_s = r->cost.bottleneck_s;
	row->throughput = r->cost.throughput;
	row->sum_transfer_bits = r->cost.sum_transfer_bits;
	row->gaps = r->defects.gaps;
	row->over_memory = r->defects.over_memory;
}

/*
 * Simulate the row's plan and fill its sim_* columns. A plan the simulator cannot run (a
 * published plan with an empty stage) or one whose hops all take no time (one stage under the
 * published metric) leaves them NULL: the row's own status says what the plan is.
 */
static void simulate(const struct sweep_grid *g, const struct instance *inst,
		     const struct plan *plan, struct store_row *row)
{
	struct sim_config cfg = sim_config_default(&inst->problem);
	struct sim_pipeline *sp = NULL;
	const struct sim_report *rep;

	cfg.window = 2 * plan->n_stages + 2;
	cfg.requests = g->sim_requests;
	cfg.warmup_requests = g->sim_requests / 10;
	cfg.seed = inst->cluster_seed;
	/* No failures are injected, so nothing needs a resend; a timeout shorter than a long
	 * plan's latency would only resend live requests and measure a retry storm. */
	cfg.retry_timeout_s = 0;
	if (sim_pipeline_create(&inst->problem, plan, &cfg, &sp, NULL) ||
	    sim_pipeline_run(sp, NULL)) {
		sim_pipeline_destroy(sp);
		return;
	}
	rep = sim_pipeline_report(sp);
	if (isfinite(rep->throughput) && rep->throughput > 0) {
		row->has_sim = true;
		row->sim_throughput = rep->throughput;
		row->sim_latency_mean_s = rep->latency_mean_s;
		row->sim_latency_p50_s = rep->latency_p50_s;
		row->sim_latency_p95_s = rep->latency_p95_s;
		row->sim_latency_p99_s = rep->latency_p99_s;
	}
	sim_pipeline_destroy(sp);
}

static int emit(struct worker *w, const struct store_row *row, struct ep_error *err)
{
	if (w->out_fd < 0)
		return store_insert(w->store, row, err);
	/* A row is smaller than PIPE_BUF, so the write is atomic. */
	if (write(w->out_fd, row, sizeof(*row)) != (ssize_t)sizeof(*row))
		return ep_error_set(err, EP_EIO, "worker: writing a result failed: %s",
				    strerror(errno));
	return EP_OK;
}

static int compute_cell(struct worker *w, long c, struct ep_error *err)
{
	const struct sweep_grid *g = w->g;
	struct cell x = cell_at(g, c);
	struct instance_spec spec;
	int rows = sweep_rows_per_cell(g), rc = worker_instance(w, &x, &spec, err);

	if (rc)
		return rc;
	for (int r = 0; r < rows; r++) {
		struct store_row row;
		const struct algo *a = NULL;
		struct algo_options o = g->algo_base;
		struct partition_memo *memo = NULL;

		row_key(g, &x, r, &row, &a);
		o.variant = g->variants[x.variant];
		if (row.bw_classes && algo_options_set_int(&o, "bw-classes", row.bw_classes))
			return ep_error_set(err, EP_ELIMIT, "too many algorithm options");
		if (o.variant == ALGO_PUBLISHED) {
			EP_CHECK(worker_memo(w, &x, &memo, err));
			o.memo = memo;
		}
		gsl_rng_set(w->rng, ep_seed32(instance_algo_seed(&spec, a->name)));
		EP_CHECK(algo_run(a, &w->inst->problem, &o, w->rng, &w->result, err));
		fill_row(&row, w->inst, &w->result);
		if (g->sim && w->result.status == EP_OK)
			simulate(g, w->inst, &w->result.plan, &row);
		EP_CHECK(emit(w, &row, err));
	}
	return EP_OK;
}

static void worker_release(struct worker *w)
{
	instance_destroy(w->inst);
	for (int i = 0; i < SWEEP_MAX_AXIS; i++)
		partition_memo_destroy(w->memo[i]);
	gsl_rng_free(w->rng);
	algo_result_release(&w->result);
}

static bool cell_done(const struct sweep_grid *g, struct store *store, long c)
{
	struct cell x = cell_at(g, c);
	int rows = sweep_rows_per_cell(g);

	for (int r = 0; r < rows; r++) {
		struct store_row row;
		const struct algo *a;

		row_key(g, &x, r, &row, &a);
		if (!store_has(store, &row))
			return false;
	}
	return true;
}

static void progress(const struct sweep_grid *g, long done, long total, double t0, bool last)
{
	double dt = ep_now_s() - t0, rate = dt > 0 ? (double)done / dt : 0;

	if (!g->progress)
		return;
	fprintf(stderr, "\rsweep: %ld/%ld rows (%.1f%%), %.0f rows/s, %.0f s left   ", done,
		total, total ? 100.0 * (double)done / (double)total : 100.0, rate,
		rate > 0 ? (double)(total - done) / rate : 0.0);
	if (last)
		fputc('\n', stderr);
}

long sweep_missing_rows(const struct sweep_grid *g, struct store *store)
{
	long cells = sweep_cells(g), missing = 0;
	int rows = sweep_rows_per_cell(g);

	for (long c = g->shard_index; c < cells; c += g->shard_count) {
		struct cell x = cell_at(g, c);

		for (int r = 0; r < rows; r++) {
			struct store_row row;
			const struct algo *a;

			row_key(g, &x, r, &row, &a);
			missing += !store_has(store, &row);
		}
	}
	return missing;
}

/* The cells of this shard that still miss rows. */
static long *todo_cells(const struct sweep_grid *g, struct store *store, long *n,
			struct ep_error *err)
{
	long cells = sweep_cells(g), k = 0;
	long *todo = malloc(((size_t)cells / (size_t)g->shard_count + 1) * sizeof(*todo));

	if (!todo) {
		ep_error_set(err, EP_ENOMEM, "out of memory for %ld cells", cells);
		return NULL;
	}
	for (long c = g->shard_index; c < cells; c += g->shard_count)
		if (!cell_done(g, store, c))
			todo[k++] = c;
	*n = k;
	return todo;
}

static int worker_init(struct worker *w, const struct sweep_grid *g, struct store *store,
		       int fd)
{
	memset(w, 0, sizeof(*w));
	w->g = g;
	w->store = store;
	w->out_fd = fd;
	w->rng = gsl_rng_alloc(gsl_rng_mt19937);
	algo_result_init(&w->result);
	return w->rng ? EP_OK : EP_ENOMEM;
}

static int run_here(const struct sweep_grid *g, struct store *store, const long *todo, long n,
		    long *done, struct ep_error *err)
{
	struct worker w;
	int rows = sweep_rows_per_cell(g), rc = worker_init(&w, g, store, -1);
	double t0 = ep_now_s(), shown = 0;

	for (long i = 0; i < n && !rc; i++) {
		rc = compute_cell(&w, todo[i], err);
		*done += rows;
		if (ep_now_s() - shown > 0.5) {
			shown = ep_now_s();
			progress(g, *done, n * rows, t0, false);
		}
	}
	progress(g, *done, n * rows, t0, true);
	worker_release(&w);
	return rc;
}

/* A child: compute cells i, i + jobs, ... of `todo` and write the rows to `fd`. */
static void worker_main(const struct sweep_grid *g, const long *todo, long n, int index,
			int fd)
{
	struct worker w;
	struct ep_error err;
	int rc = worker_init(&w, g, NULL, fd);

	for (long i = index; i < n && !rc; i += g->jobs)
		rc = compute_cell(&w, todo[i], &err);
	if (rc)
		fprintf(stderr, "\nsweep worker %d: %s\n", index, err.msg);
	worker_release(&w);
	close(fd);
	_exit(rc ? 1 : 0);
}

/* The worker processes of one run and what the parent has read of each one's current row. */
struct pool {
	int started, open;
	struct pollfd fds[256]; /* fd -1: that worker's pipe is closed */
	pid_t pids[256];
	size_t have[256]; /* bytes of buf[i] read so far */
	struct store_row buf[256];
};

/* Stop the workers already started: their rows would have no reader. */
static void pool_kill(struct pool *p)
{
	for (int i = 0; i < p->started; i++) {
		kill(p->pids[i], SIGKILL);
		close(p->fds[i].fd);
		waitpid(p->pids[i], NULL, 0);
	}
}

/* Fork `jobs` workers, each writing its rows into a pipe; on failure none is left running. */
static int pool_start(struct pool *p, const struct sweep_grid *g, const long *todo, long n,
		      int jobs, struct ep_error *err)
{
	int rc = EP_OK;

	fflush(NULL);
	for (int i = 0; i < jobs && !rc; i++) {
		int fd[2];

		if (pipe(fd) != 0) {
			rc = ep_error_set(err, EP_EIO, "pipe: %s", strerror(errno));
			break;
		}
		p->pids[i] = fork();
		if (p->pids[i] < 0) {
			rc = ep_error_set(err, EP_EIO, "fork: %s", strerror(errno));
			close(fd[0]);
			close(fd[1]);
			break;
		}
		if (p->pids[i] == 0) {
			close(fd[0]);
			for (int k = 0; k < i; k++)
				close(p->fds[k].fd);
			worker_main(g, todo, n, i, fd[1]);
		}
		close(fd[1]);
		p->fds[i] = (struct pollfd){.fd = fd[0], .events = POLLIN};
		p->have[i] = 0;
		p->started++;
		p->open++;
	}
	if (rc)
		pool_kill(p);
	return rc;
}

/* Read what worker i's pipe has; a whole row is inserted (after an error, only counted).
 * 1 when a row was completed, else 0. */
static int pool_read(struct pool *p, int i, struct store *store, int *rc, struct ep_error *err)
{
	ssize_t got;

	if (p->fds[i].fd < 0 || !(p->fds[i].revents & (POLLIN | POLLHUP)))
		return 0;
	got = read(p->fds[i].fd, (char *)&p->buf[i] + p->have[i], sizeof(p->buf[i]) - p->have[i]);
	if (got <= 0) {
		close(p->fds[i].fd);
		p->fds[i].fd = -1;
		p->open--;
		return 0;
	}
	p->have[i] += (size_t)got;
	if (p->have[i] < sizeof(p->buf[i]))
		return 0;
	p->have[i] = 0;
	if (!*rc)
		*rc = store_insert(store, &p->buf[i], err);
	return 1;
}

/* Wait for every worker; the first that did not exit 0 is an error (unless one came first). */
static int pool_wait(struct pool *p, int rc, struct ep_error *err)
{
	for (int i = 0; i < p->started; i++) {
		int status;

		if (waitpid(p->pids[i], &status, 0) == p->pids[i] && !rc &&
		    (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
			rc = ep_error_set(err, EP_EINTERNAL, "sweep worker %d failed (see above)",
					  i);
	}
	return rc;
}

static int run_workers(const struct sweep_grid *g, struct store *store, const long *todo, long n,
		       long *done, struct ep_error *err)
{
	struct pool *p = calloc(1, sizeof(*p));
	int rc, rows = sweep_rows_per_cell(g);
	double t0 = ep_now_s(), shown = 0;

	if (!p)
		return ep_error_set(err, EP_ENOMEM, "out of memory");
	rc = pool_start(p, g, todo, n, g->jobs > 256 ? 256 : g->jobs, err);
	if (rc) {
		free(p);
		return rc;
	}
	while (p->open > 0) {
		if (poll(p->fds, (nfds_t)p->started, 1000) < 0 && errno != EINTR) {
			rc = ep_error_set(err, EP_EIO, "poll: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < p->started; i++)
			*done += pool_read(p, i, store, &rc, err);
		if (ep_now_s() - shown > 0.5) {
			shown = ep_now_s();
			progress(g, *done, n * rows, t0, false);
		}
	}
	progress(g, *done, n * rows, t0, true);
	rc = pool_wait(p, rc, err);
	free(p);
	return rc;
}

int sweep_run(const struct sweep_grid *g, struct store *store, long *done,
	      struct ep_error *err)
{
	long n = 0, *todo;
	int rc;

	*done = 0;
	if (g->n_models < 1 || g->n_mems < 1 || g->n_nodes < 1 || g->n_algos < 1 ||
	    g->trials < 1 || g->shard_count < 1 || g->shard_index < 0 ||
	    g->shard_index >= g->shard_count || g->jobs < 1)
		return ep_error_set(err, EP_EINVAL, "the sweep grid is empty or its shard is out "
				    "of range");
	todo = todo_cells(g, store, &n, err);
	if (!todo)
		return EP_ENOMEM;
	if (g->jobs == 1 || n < 2)
		rc = run_here(g, store, todo, n, done, err);
	else
		rc = run_workers(g, store, todo, n, done, err);
	free(todo);
	if (!rc)
		rc = store_flush(store, err);
	return rc;
}

int sweep_run_file(const struct sweep_grid *g, const char *path, const char *command,
		   const char *shard_text, long *done, long *rows, bool *read_only,
		   struct ep_error *err)
{
	struct store *store = NULL;
	struct store_option options[STORE_MAX_OPTIONS];
	int n_options, rc;

	*done = *rows = 0;
	*read_only = false;
	/* The options that change numbers are the file's: a rerun with others is refused
	 * before anything is computed (store.h). */
	n_options = sweep_options(g, options, err);
	rc = n_options < 0 ? n_options : store_open_mode(path, STORE_WRITE_OR_READ, &store, err);
	if (!rc)
		rc = store_bind_options(store, options, n_options, err);
	if (!rc && store_read_only(store)) {
		/* A finished sweep on a read-only medium reads as finished; a missing row is
		 * refused before it is computed, since it could not be stored. */
		long missing = sweep_missing_rows(g, store);

		*read_only = missing == 0;
		if (missing)
			rc = ep_error_set(err, EP_EIO, "database '%s' is read-only: %ld row(s) of "
					  "this sweep are missing and could not be stored; copy it to "
					  "a writable place, or sweep into another file and merge",
					  path, missing);
		else
			*rows = store_count(store);
		store_close(store);
		return rc;
	}
	if (!rc)
		rc = store_begin_run(store, command, shard_text, err);
	if (!rc)
		rc = sweep_run(g, store, done, err);
	if (!rc)
		rc = store_end_run(store, err);
	if (!rc)
		*rows = store_count(store);
	store_close(store);
	return rc;
}
