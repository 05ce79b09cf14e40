/*
 * trial: one plan run by the simulator or the emulator (trial.h). What the command line's sim
 * and emu did before they were thin: the plan, the sizes that depend on it, the emulator's
 * reference simulation, and the session.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gsl/gsl_rng.h>

#include "emu_db.h"
#include "emu_registry.h"
#include "ep_units.h"
#include "ep_util.h"
#include "model_zoo.h"
#include "trial.h"
#include "trial_internal.h"

/* The back ends' bounds on the sizes (what the command line allows for each). */
#define SIM_MAX_WINDOW 1000000
#define SIM_MIN_BIN_S 1e-9
#define EMU_MAX_WINDOW 100000
#define EMU_MIN_BIN_S 0.05

void trial_workload_init(struct trial_workload *w)
{
	memset(w, 0, sizeof(*w));
	w->arrival = WORKLOAD_CLOSED;
	w->retry_timeout_s = -1;
}

const char *trial_metric_name(const struct trial_setup *t)
{
	return t->spec->problem.count_compute || t->spec->problem.count_dispatcher ? "full"
										    : "published";
}

int trial_plan(const struct trial_setup *t, struct algo_result *res, struct ep_error *err)
{
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	int rc;

	if (!rng)
		return ep_error_set(err, EP_ENOMEM, "out of memory");
	/* The same plan as `edgepipe plan` prints for these options (the seed folded alike). */
	gsl_rng_set(rng, ep_seed32(instance_algo_seed(t->spec, t->algo->name)));
	rc = algo_run(t->algo, &t->inst->problem, &t->algo_options, rng, res, err);
	gsl_rng_free(rng);
	return rc;
}

/* Pieces the cut profile needs on nodes of `cap` bytes (greedy, longest first piece: optimal
 * for contiguous pieces); INT_MAX when one segment between two cut points does not fit. */
static int pieces_for(const struct problem *p, double cap)
{
	int pieces = 0;

	for (int a = 0; a < p->m - 1;) {
		int b = a + 1;

		if (!(problem_stage_mem(p, a, b) <= cap))
			return INT_MAX;
		while (b + 1 <= p->m - 1 && problem_stage_mem(p, a, b + 1) <= cap)
			b++;
		pieces++;
		a = b;
	}
	return pieces;
}

/* The smallest cap whose greedy cover needs at most n pieces (trial.h). */
void trial_memory_remedy(const struct problem *p, char *buf, size_t size)
{
	int n = p->cluster->n, k;
	double cap = INFINITY, lo = 0, hi = p->cum_mem[p->m - 1], slack;
	char x[32], y[32];

	buf[0] = '\0';
	for (int i = 0; i < n; i++)
		cap = fmin(cap, p->cluster->mem_bytes[i]);
	/* The strict test (published metric) needs mem < cap: a byte more. */
	slack = p->options.strict_memory ? 1 : 0;
	k = pieces_for(p, cap - slack);
	if (k <= n)
		return;
	for (int it = 0; it < 64 && hi - lo > 1024; it++) {
		double mid = (lo + hi) / 2;

		if (pieces_for(p, mid) <= n)
			hi = mid;
		else
			lo = mid;
	}
	hi = ceil((hi + slack) / 1048576) * 1048576; /* whole MiB, so that --mem takes it */
	if (k == INT_MAX)
		snprintf(buf, size, "%s has %s per node and a single layer span of %s needs "
			 "more; on %d nodes it needs at least %s per node (try --mem %.0fMiB)",
			 p->profile->model, ep_format_bytes(cap, x, sizeof(x)),
			 p->profile->model, n, ep_format_bytes(hi, y, sizeof(y)), hi / 1048576);
	else
		snprintf(buf, size, "%s needs %d pieces of at most %s; on %d nodes it needs at "
			 "least %s per node (try --mem %.0fMiB), or %d nodes of %s (--nodes %d)",
			 p->profile->model, k, ep_format_bytes(cap, x, sizeof(x)), n,
			 ep_format_bytes(hi, y, sizeof(y)), hi / 1048576, k,
			 ep_format_bytes(cap, x, sizeof(x)), k);
}

/* The window (closed loop, when not given) and the bin (when not given) of a plan whose
 * per-request times are t. */
static void size_run(const struct trial_workload *w, const struct workload_terms *t,
		     int max_window, double min_bin_s, int *window, double *bin_s)
{
	double run_s;

	if (w->arrival == WORKLOAD_CLOSED)
		*window = w->window > 0 ? w->window : workload_window(t, max_window);
	run_s = workload_run_s(w->arrival, w->rate, w->requests, w->duration_s, t);
	*bin_s = w->bin_s > 0 ? w->bin_s : workload_bin_s(t, run_s, min_bin_s);
}

int trial_updates_open(const struct trial_setup *t, const struct trial_workload *w, int n,
		       struct model_graph **g, struct model_profile **p, struct ep_error *err)
{
	for (int i = 0; i < n; i++) {
		int rc = model_zoo_open(w->update_model[i], &g[i], err);

		if (!rc)
			rc = model_profile_create(g[i], &t->spec->profile, &p[i], err);
		if (rc) {
			char msg[sizeof(err->msg)];

			snprintf(msg, sizeof(msg), "%s", err->msg);
			return ep_error_set(err, rc, "--update: %s", msg);
		}
	}
	return EP_OK;
}

/* ---- the simulator ---- */

struct trial_sim_options trial_sim_options_default(void)
{
	struct sim_config d = sim_config_default_terms(false, false);
	struct trial_sim_options o = {
		.service = d.service, .transfer = d.transfer,
		.service_cv = d.service_cv, .transfer_cv = d.transfer_cv,
		.shared_medium = d.shared_medium, .latency_pipelined = d.latency_pipelined,
		.compute = -1, .dispatcher_hops = -1,
		.warmup_s = d.warmup_s, .mtbf_s = d.mtbf_s, .trace = NULL,
		.window_per_plan = true, .local_weights = d.local_weights,
	};

	return o;
}

/* The simulator's configuration from the options and the workload, before the sizes. */
static void sim_configure(struct trial_sim *s, const struct trial_setup *t,
			  const struct trial_workload *w, const struct trial_sim_options *o)
{
	struct sim_config *cfg = &s->cfg;

	*cfg = sim_config_default(&t->inst->problem);
	/* What the metric counts, unless the options say otherwise. */
	if (o->compute >= 0)
		cfg->compute = o->compute;
	if (o->dispatcher_hops >= 0)
		cfg->dispatcher_hops = o->dispatcher_hops;
	cfg->service = o->service;
	cfg->service_cv = o->service_cv;
	cfg->transfer = o->transfer;
	cfg->transfer_cv = o->transfer_cv;
	cfg->shared_medium = o->shared_medium;
	cfg->latency_pipelined = o->latency_pipelined;
	cfg->warmup_s = o->warmup_s;
	cfg->mtbf_s = o->mtbf_s;
	cfg->local_weights = o->local_weights;
	cfg->trace = o->trace;
	cfg->faults = w->faults;
	cfg->n_faults = w->n_faults;
	cfg->algo = t->algo;
	cfg->algo_options = t->algo_options;
	cfg->updates = s->updates;
	cfg->n_updates = s->n_updates;
	cfg->seed = t->spec->seed;
	cfg->arrival = (enum sim_arrival)w->arrival;
	cfg->window = w->window > 0 ? w->window : 1;
	cfg->rate = w->rate;
	cfg->requests = w->requests;
	cfg->duration_s = w->duration_s;
	cfg->warmup_requests = w->warmup_requests;
	if (w->heartbeat_period_s > 0)
		cfg->heartbeat_period_s = w->heartbeat_period_s;
	if (w->heartbeat_timeout_s > 0)
		cfg->heartbeat_timeout_s = w->heartbeat_timeout_s;
	if (w->retry_timeout_s >= 0)
		cfg->retry_timeout_s = w->retry_timeout_s;
	cfg->power = t->power;
}

/* The sizes that depend on the plan: the window, the retry timeout and the bin. */
static int sim_size(struct trial_sim *s, const struct problem *p, const struct plan *plan,
		    const struct trial_workload *w, bool per_plan, struct ep_error *err)
{
	struct sim_config *cfg = &s->cfg;
	struct workload_model m = { cfg->compute, cfg->dispatcher_hops, cfg->latency_pipelined };
	struct workload_terms t;
	int rc = workload_plan_terms(p, plan, &m, &t, err);

	if (rc)
		return rc;
	size_run(w, &t, SIM_MAX_WINDOW, SIM_MIN_BIN_S, &cfg->window, &cfg->bin_s);
	/* Unless the window is given: each plan's own, re-sized when a new plan goes live
	 * (sim_plan_window). */
	if (cfg->arrival == SIM_CLOSED && w->window <= 0 && per_plan)
		cfg->window_per_plan = true;
	if (w->retry_timeout_s < 0)
		cfg->retry_timeout_s = workload_retry_detected_s(cfg->heartbeat_period_s,
								 cfg->heartbeat_timeout_s,
								 SIM_RETRY_TIMEOUT_MAX_S);
	else if (cfg->retry_timeout_s > 0 && cfg->retry_timeout_s < t.round_trip_s)
		snprintf(s->warning, sizeof(s->warning), "--retry-timeout %g s is shorter than an "
			 "unloaded request's round trip (%g s): a resend after a crash may overtake "
			 "an attempt that was not lost", cfg->retry_timeout_s, t.round_trip_s);
	return EP_OK;
}

int trial_sim_create(const struct trial_setup *t, const struct algo_result *res,
		     const struct trial_workload *w, const struct trial_sim_options *o,
		     struct trial_sim **out, struct ep_error *err)
{
	const struct problem *p = &t->inst->problem;
	struct trial_sim *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (!s)
		return ep_error_set(err, EP_ENOMEM, "out of memory");
	s->t = t;
	s->res = res;
	if (w->n_updates > TRIAL_MAX_UPDATES) {
		rc = ep_error_set(err, EP_EINVAL, "%d updates: the simulator takes at most %d",
				  w->n_updates, TRIAL_MAX_UPDATES);
		goto fail;
	}
	/* A fault at a stage the plan lacks would never fire (an update's plan may have it):
	 * refused, as trial_emu_run refuses it, so that one timeline means the same to both. */
	if (w->n_updates == 0 &&
	    (rc = timeline_check_stages(w->faults, w->n_faults, res->plan.n_stages, err)))
		goto fail;
	s->n_updates = w->n_updates;
	if ((rc = trial_updates_open(t, w, w->n_updates, s->ug, s->up, err)))
		goto fail;
	for (int i = 0; i < w->n_updates; i++) {
		s->updates[i].profile = s->up[i];
		s->updates[i].at_s = w->update_at_s[i];
	}
	sim_configure(s, t, w, o);
	s->bound_s = sim_plan_bottleneck(p, &res->plan, &s->cfg);
	if (isnan(s->bound_s)) {
		rc = ep_error_set(err, EP_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = sim_size(s, p, &res->plan, w, o->window_per_plan, err)))
		goto fail;
	if ((rc = sim_pipeline_create(p, &res->plan, &s->cfg, &s->sp, err)))
		goto fail;
	*out = s;
	return EP_OK;
fail:
	trial_sim_destroy(s);
	return rc;
}

int trial_sim_exec(struct trial_sim *s, struct ep_error *err)
{
	const struct sim_report *r;
	double t0 = ep_now_s();

	EP_CHECK(sim_pipeline_run(s->sp, err));
	s->wall_s = ep_now_s() - t0;
	r = sim_pipeline_report(s->sp);
	if (s->cfg.warmup_s > 0 && r->measured == 0 && !r->no_plan)
		return ep_error_set(err, EP_EINVAL,
				    "--warmup-time %g s: the run ended at %g s, "
				    "before the warm-up did; nothing was measured (shorten it, or "
				    "issue more requests)",
				    s->cfg.warmup_s, r->end_s);
	return EP_OK;
}

int trial_sim_run(const struct trial_setup *t, const struct algo_result *res,
		  const struct trial_workload *w, const struct trial_sim_options *o,
		  struct trial_sim **out, struct ep_error *err)
{
	struct trial_sim *s;
	int rc;

	*out = NULL;
	EP_CHECK(trial_sim_create(t, res, w, o, &s, err));
	if ((rc = trial_sim_exec(s, err))) {
		trial_sim_destroy(s);
		return rc;
	}
	*out = s;
	return EP_OK;
}

const struct sim_report *trial_sim_report(const struct trial_sim *s)
{
	return sim_pipeline_report(s->sp);
}

const struct sim_config *trial_sim_config(const struct trial_sim *s)
{
	return &s->cfg;
}

double trial_sim_bound_s(const struct trial_sim *s)
{
	return s->bound_s;
}

double trial_sim_wall_s(const struct trial_sim *s)
{
	return s->wall_s;
}

const char *trial_sim_warning(const struct trial_sim *s)
{
	return s->warning;
}

int trial_sim_plan_run(const struct trial_setup *t, const struct trial_workload *w,
		       const struct trial_sim_options *o, struct algo_result *res,
		       struct trial_sim **out, struct ep_error *err)
{
	struct trial_sim_options so = *o;
	int rc;

	*out = NULL;
	EP_CHECK(trial_plan(t, res, err));
	if (res->status != EP_OK)
		return EP_OK;
	if (o->trace_path && !(so.trace = fopen(o->trace_path, "w")))
		return ep_error_set(err, EP_EINVAL, "--trace '%s': cannot open for writing",
				    o->trace_path);
	if ((rc = trial_sim_run(t, res, w, &so, out, err))) {
		if (so.trace)
			fclose(so.trace);
		return rc;
	}
	(*out)->trace = so.trace;
	(*out)->trace_path = o->trace_path;
	return EP_OK;
}

int trial_sim_trace_close(struct trial_sim *s, struct ep_error *err)
{
	FILE *f = s->trace;

	s->trace = NULL;
	if (f && fclose(f))
		return ep_error_set(err, EP_EIO, "--trace '%s': write failed", s->trace_path);
	return EP_OK;
}

void trial_sim_destroy(struct trial_sim *s)
{
	if (!s)
		return;
	if (s->trace)
		fclose(s->trace);
	sim_pipeline_destroy(s->sp);
	for (int i = 0; i < s->n_updates; i++) {
		model_profile_destroy(s->up[i]);
		model_graph_destroy(s->ug[i]);
	}
	free(s);
}

/* ---- the emulator ---- */

void trial_emu_options_init(struct trial_emu_options *o)
{
	memset(o, 0, sizeof(*o));
	o->cfg = emu_config_default();
	o->compute_model = true;
}

void trial_sim_as_emu(const struct emu_config *cfg, bool compute, const struct trial_workload *w,
		      bool timeline, struct trial_workload *sw, struct trial_sim_options *so)
{
	*so = trial_sim_options_default();
	/* What the emulator does (emu_session.h): stages busy-work FLOPs / speed when asked, the
	 * dispatcher's tensors cross its links, a latency delays without occupying a link, and
	 * the window stays the first plan's. */
	so->compute = compute;
	so->dispatcher_hops = 1;
	so->latency_pipelined = true;
	so->window_per_plan = false;
	/* Its stages are forked with their weights (or have none): no weights cross a link. */
	so->local_weights = true;
	/* The emulator's workload as it sized it, its detection, and the timeline when asked. */
	*sw = *w;
	sw->arrival = (enum workload_arrival)cfg->arrival;
	sw->window = cfg->window;
	sw->rate = cfg->rate;
	sw->requests = cfg->requests;
	sw->warmup_requests = cfg->warmup_requests;
	sw->duration_s = 0;
	sw->bin_s = cfg->bin_s;
	sw->heartbeat_period_s = cfg->heartbeat_period_s;
	sw->heartbeat_timeout_s = cfg->heartbeat_timeout_s;
	/* The simulator's own resend rule: only what detection says may be lost. */
	sw->retry_timeout_s = -1;
	if (!timeline) {
		sw->faults = NULL;
		sw->n_faults = 0;
		sw->n_updates = 0;
	}
}

const char *trial_emu_compute_name(const struct trial_emu_options *o)
{
	return o->cfg.real ? "real" : o->compute_model ? "model" : "none";
}

const char *trial_emu_codec_name(const struct trial_emu_options *o)
{
	return o->cfg.codec ? o->cfg.codec : "none";
}

/* The reference: the emulator's plan and workload simulated without faults. */
static int emu_reference(const struct trial_emu *e, bool compute_model, struct trial_sim_ref *out,
			 struct ep_error *err)
{
	struct trial_sim_options so;
	struct trial_workload sw;
	struct trial_sim *s = NULL;
	const struct sim_report *r;

	out->throughput = out->latency_mean_s = NAN;
	out->energy_per_inference_j = out->power_w = NAN;
	trial_sim_as_emu(&e->cfg, compute_model, e->w, false, &sw, &so);
	EP_CHECK(trial_sim_run(e->t, e->res, &sw, &so, &s, err));
	r = trial_sim_report(s);
	out->throughput = r->throughput;
	out->latency_mean_s = r->latency_mean_s;
	out->energy_per_inference_j = r->energy_per_inference_j;
	out->power_w = r->power_w;
	trial_sim_destroy(s);
	return EP_OK;
}

/* A model given as a file that exists (not a zoo name): watched, and its stages unchecked. */
static bool model_is_file(const char *spec)
{
	struct stat st;

	return !model_zoo_find(spec) && stat(spec, &st) == 0;
}

int trial_emu_configure(const struct trial_setup *t, const struct algo_result *res,
			const struct trial_workload *w, const struct trial_emu_options *o,
			struct model_graph *ug, struct model_profile *up, struct emu_config *cfg,
			struct ep_error *err)
{
	struct workload_model m = { o->compute_model, true, true };
	struct workload_terms terms;

	*cfg = o->cfg;
	cfg->arrival = (enum emu_arrival)w->arrival;
	cfg->rate = w->rate;
	cfg->requests = w->requests;
	cfg->warmup_requests = w->warmup_requests;
	if (w->heartbeat_period_s > 0)
		cfg->heartbeat_period_s = w->heartbeat_period_s;
	if (w->heartbeat_timeout_s > 0)
		cfg->heartbeat_timeout_s = w->heartbeat_timeout_s;
	/* The emulator's model, as trial_sim_as_emu gives it to the simulator. */
	EP_CHECK(workload_plan_terms(&t->inst->problem, &res->plan, &m, &terms, err));
	cfg->window = w->window > 0 ? w->window : 1;
	size_run(w, &terms, EMU_MAX_WINDOW, EMU_MIN_BIN_S, &cfg->window, &cfg->bin_s);
	cfg->retry_timeout_s = w->retry_timeout_s >= 0
			       ? w->retry_timeout_s
			       : workload_retry_blind_s(&terms, w->arrival, cfg->window);
	cfg->algo = t->algo;
	cfg->algo_options = t->algo_options;
	cfg->seed = t->spec->seed;
	cfg->compute = o->compute_model && !cfg->real;
	cfg->graph = t->inst->graph; /* real compute; the codec's shapes */
	cfg->power = t->power;
	cfg->update_graph = ug;
	if (cfg->real) {
		cfg->model_spec = t->spec->model;
		cfg->update_spec = w->n_updates > 0 ? w->update_model[0] : NULL;
		cfg->real_inputs = (int)(cfg->requests < 4 ? cfg->requests : 4);
	}
	cfg->faults = w->faults;
	cfg->n_faults = w->n_faults;
	cfg->update_profile = up;
	cfg->update_at_s = w->n_updates > 0 ? w->update_at_s[0] : 0;
	cfg->profile_options = t->spec->profile;
	/* A model given as a file is watched: a change is rolled out as an update. */
	if (model_is_file(t->spec->model))
		cfg->watch_path = t->spec->model;
	return EP_OK;
}

/* Say what the run will take, and the stale registries, on the status stream. */
static void emu_announce(const struct trial_emu *e)
{
	const struct emu_config *cfg = &e->cfg;
	double tput = e->res->cost.throughput;
	char note[512];

	if (!cfg->status)
		return;
	if (tput > 0 && isfinite(tput)) {
		double s = (double)cfg->requests / tput;

		fprintf(cfg->status, "edgepipe emu: %lld requests at the plan's analytic %.4g /s: "
			"the workload takes about %.0f %s (plus set-up); progress every %g s\n",
			(long long)cfg->requests, tput, s >= 120 ? s / 60 : s,
			s >= 120 ? "min" : "s", cfg->status_period_s);
	}
	if (!cfg->remote && emu_registry_note_stale(cfg->state_dir, note, sizeof(note), NULL) > 0)
		fprintf(cfg->status, "edgepipe: note: %s\n", note);
}

int trial_emu_run(const struct trial_setup *t, const struct algo_result *res,
		  const struct trial_workload *w, const struct trial_emu_options *o,
		  struct trial_emu **out, struct ep_error *err)
{
	struct trial_emu *e = calloc(1, sizeof(*e));
	char msg[sizeof(err->msg)];
	int rc;

	*out = NULL;
	if (!e)
		return ep_error_set(err, EP_ENOMEM, "out of memory");
	e->t = t;
	e->res = res;
	e->w = w;
	e->command = o->command;
	e->compute_name = trial_emu_compute_name(o);
	e->sim = (struct trial_sim_ref){ NAN, NAN, NAN, NAN };
	if (w->n_updates > 1) {
		rc = ep_error_set(err, EP_EINVAL, "%d updates: the emulator takes one",
				  w->n_updates);
		goto fail;
	}
	if ((rc = trial_updates_open(t, w, w->n_updates, &e->ug, &e->up, err)))
		goto fail;
	/* A fault at a stage the plan lacks would never fire (with an update, or a watched
	 * model file, the new model's plan may have it). */
	if (w->n_updates == 0 && !model_is_file(t->spec->model) &&
	    (rc = timeline_check_stages(w->faults, w->n_faults, res->plan.n_stages, err)))
		goto fail;
	if (!o->cfg.remote && geteuid() != 0) {
		rc = ep_error_set(err, EP_EIO, "emu: the emulator needs root (it makes network "
				  "namespaces, links and cgroups)");
		goto fail;
	}
	if ((rc = trial_emu_configure(t, res, w, o, e->ug, e->up, &e->cfg, err)))
		goto fail;
	rc = emu_reference(e, o->compute_model, &e->sim, err);
	if (rc) {
		snprintf(msg, sizeof(msg), "%s", err->msg);
		rc = ep_error_set(err, rc, "simulating the plan: %s", msg);
		goto fail;
	}
	emu_announce(e);
	if ((rc = emu_session_create(&t->inst->problem, &res->plan, &e->cfg, &e->sess, err)))
		goto fail;
	*out = e;
	rc = emu_session_run(e->sess, err);
	if (rc) {
		snprintf(msg, sizeof(msg), "%s", err->msg);
		rc = ep_error_set(err, rc, "emu: %s", msg);
	}
	return rc;
fail:
	trial_emu_destroy(e);
	return rc;
}

/* A plan given as it is (trial_emu_plan_run), checked against t's problem and costed. */
static int plan_given(const struct trial_setup *t, const struct trial_plan_given *given,
		      struct algo_result *res, struct ep_error *err)
{
	char msg[sizeof(err->msg)];
	int rc = plan_check(&t->inst->problem, given->plan, &res->defects, err);

	if (rc == EP_ENOMEM)
		return rc;
	if (rc) {
		snprintf(msg, sizeof(msg), "%s", err->msg);
		return ep_error_set(err, EP_EINVAL, "--plan '%s': %s", given->path, msg);
	}
	if (plan_copy(&res->plan, given->plan))
		return ep_error_set(err, EP_ENOMEM, "out of memory");
	plan_cost(&t->inst->problem, &res->plan, &res->cost, NULL, NULL);
	res->status = EP_OK;
	return EP_OK;
}

int trial_emu_plan_run(const struct trial_setup *t, const struct trial_plan_given *given,
		       const struct trial_workload *w, const struct trial_emu_options *o,
		       struct algo_result *res, struct trial_emu **out, struct ep_error *err)
{
	*out = NULL;
	if (given) {
		EP_CHECK(plan_given(t, given, res, err));
	} else {
		EP_CHECK(trial_plan(t, res, err));
		if (res->status != EP_OK)
			return EP_OK;
	}
	return trial_emu_run(t, res, w, o, out, err);
}

const struct emu_report *trial_emu_report(const struct trial_emu *e)
{
	return emu_session_report(e->sess);
}

const struct trial_sim_ref *trial_emu_reference(const struct trial_emu *e)
{
	return &e->sim;
}

const struct emu_config *trial_emu_config(const struct trial_emu *e)
{
	return &e->cfg;
}

struct emu_db_run trial_emu_db_run(const struct trial_setup *t, const struct algo_result *res,
				   const struct trial_workload *w, const struct emu_config *cfg,
				   const char *command, const char *compute_name,
				   const struct trial_sim_ref *sim)
{
	return (struct emu_db_run){
		.command = command,
		.model = t->inst->profile->model,
		.cluster = cluster_kind_name(t->spec->cluster.kind),
		.algo = t->algo->name,
		.variant = algo_variant_name(t->algo_options.variant),
		.metric = trial_metric_name(t),
		.nodes = t->inst->cluster->n,
		.trial = t->spec->trial,
		.seed = t->spec->seed,
		.workload = emu_arrival_name(cfg->arrival),
		.window = cfg->window,
		.rate = cfg->rate,
		.requests = cfg->requests,
		.warmup = cfg->warmup_requests,
		.compute = compute_name,
		.threads = cfg->real ? cfg->threads : -1,
		.compress = cfg->codec ? cfg->codec : "none",
		.heartbeat_period_s = cfg->heartbeat_period_s,
		.heartbeat_timeout_s = cfg->heartbeat_timeout_s,
		.retry_timeout_s = cfg->retry_timeout_s,
		.faults = w->faults,
		.n_faults = w->n_faults,
		.update_spec = w->n_updates > 0 ? w->update_spec[0] : NULL,
		.stages = res->plan.n_stages,
		.analytic_bottleneck_s = res->cost.bottleneck_s,
		.analytic_throughput = res->cost.throughput,
		.sim_throughput = sim->throughput,
		.sim_latency_mean_s = sim->latency_mean_s,
		.sim_energy_per_inference_j = sim->energy_per_inference_j,
		.sim_power_w = sim->power_w,
		.scenario_path = t->scenario_path,
		.scenario_text = t->scenario_text,
	};
}

int trial_emu_db_write(const struct trial_emu *e, const char *path, struct ep_error *err)
{
	struct emu_db_run dr =
		trial_emu_db_run(e->t, e->res, e->w, &e->cfg, e->command, e->compute_name, &e->sim);

	return emu_db_write(path, &dr, trial_emu_report(e), err);
}

void trial_emu_destroy(struct trial_emu *e)
{
	if (!e)
		return;
	emu_session_destroy(e->sess);
	model_profile_destroy(e->up);
	model_graph_destroy(e->ug);
	free(e);
}
