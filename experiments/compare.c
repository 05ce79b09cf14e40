/*
 * compare: the three back ends on one plan and one timeline (compare.h). This file runs them
 * and fills the table and the series; compare_write.c, compare_db.c and compare_plot.c write
 * them out.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compare.h"
#include "compare_internal.h"
#include "emu_caps.h"
#include "model_zoo.h"
#include "trial_internal.h"
#include "workload.h"

static const char *const backend_names[COMPARE_BACKEND_COUNT_] = { "analytic", "sim", "emu" };

const char *compare_backend_name(enum compare_backend b)
{
	return (unsigned)b < COMPARE_BACKEND_COUNT_ ? backend_names[b] : "?";
}

static void row_clear(struct compare_row *r, enum compare_backend b)
{
	memset(r, 0, sizeof(*r));
	r->backend = b;
	r->throughput = r->latency_p50_s = r->latency_p95_s = r->latency_p99_s = NAN;
	r->detection_s = r->recovery_s = NAN;
	r->issued = r->answered = r->resent = r->lost = r->duplicated = -1;
}

static int mark_add(struct compare *c, int backend, double t_s, const char *kind,
		    const char *text)
{
	struct compare_mark *m;

	if (c->n_marks == c->cap_marks) {
		int cap = c->cap_marks ? 2 * c->cap_marks : 16;
		struct compare_mark *v = realloc(c->marks, (size_t)cap * sizeof(*v));

		if (!v)
			return EP_ENOMEM;
		c->marks = v;
		c->cap_marks = cap;
	}
	m = &c->marks[c->n_marks++];
	m->backend = backend;
	m->t_s = t_s;
	snprintf(m->kind, sizeof(m->kind), "%s", kind);
	snprintf(m->text, sizeof(m->text), "%s", text);
	return EP_OK;
}

/* The timeline's faults, their ends and the update, as the user wrote them. */
static int timeline_marks(struct compare *c, const struct emu_config *e)
{
	char text[TIMELINE_TEXT_MAX + 8];
	int rc = EP_OK;

	for (int i = 0; i < e->n_faults && !rc; i++) {
		const struct timeline_fault *f = &e->faults[i];

		rc = mark_add(c, -1, f->at_s, "fault", f->text);
		if (!rc && f->for_s > 0) {
			snprintf(text, sizeof(text), "end: %s", f->text);
			rc = mark_add(c, -1, f->at_s + f->for_s, "end", text);
		}
	}
	if (!rc && e->update_profile) {
		snprintf(text, sizeof(text), "update %s", e->update_profile->model);
		rc = mark_add(c, -1, e->update_at_s, "fault", text);
	}
	return rc;
}

/* ---- analytic ---- */

static int run_analytic(struct compare *c, const struct problem *p, const struct plan *plan,
			const struct emu_config *e, struct ep_error *err)
{
	struct compare_row *row = &c->rep.rows[COMPARE_ANALYTIC];
	struct workload_model m = { e->compute, true, true };
	struct workload_terms t;
	struct plan_cost cost;
	double lat;

	plan_cost(p, plan, &cost, NULL, NULL);
	EP_CHECK(workload_plan_terms(p, plan, &m, &t, err));
	c->rep.analytic_bottleneck_s = cost.bottleneck_s;
	row->ran = true;
	row->throughput = cost.throughput;
	if (e->arrival == EMU_CLOSED) {
		lat = fmax(t.round_trip_s, e->window * t.busy_s);
		snprintf(row->note, sizeof(row->note), "throughput 1 / plan_cost's bottleneck; "
			 "latency max(round trip %.6g s, window %d x busiest %.6g s)",
			 t.round_trip_s, e->window, t.busy_s);
	} else {
		/* An open loop below capacity carries its rate. */
		row->throughput = fmin(e->rate, cost.throughput);
		lat = t.round_trip_s;
		snprintf(row->note, sizeof(row->note), "throughput min(rate, 1 / plan_cost's "
			 "bottleneck); latency the unloaded round trip");
	}
	row->latency_p50_s = row->latency_p95_s = row->latency_p99_s = lat;
	return EP_OK;
}

/* A step of the analytic line: from t_s on, the plan in force gives `tp` per second. */
struct step {
	double t_s, tp;
};

static int cmp_step(const void *a, const void *b)
{
	const struct step *x = a, *y = b;

	return x->t_s < y->t_s ? -1 : x->t_s > y->t_s;
}

/* The analytic line over time (compare.h), averaged over each bin. */
static int analytic_series(struct compare *c, const struct emu_config *e)
{
	const struct sim_report *s = c->rep.sim;
	double tp0 = c->rep.rows[COMPARE_ANALYTIC].throughput, bin = c->rep.bin_s;
	int n = 1, cap = 1 + 2 * (s ? s->n_incidents : 0);
	struct step *st = malloc((size_t)cap * sizeof(*st));
	double *v = malloc((size_t)(c->rep.n_bins > 0 ? c->rep.n_bins : 1) * sizeof(*v));

	if (!st || !v) {
		free(st);
		free(v);
		return EP_ENOMEM;
	}
	st[0] = (struct step){ 0, tp0 };
	for (int i = 0; s && i < s->n_incidents; i++) {
		const struct sim_incident *in = &s->incidents[i];
		double tp = in->bottleneck_s > 0 ? 1 / in->bottleneck_s : tp0;

		if (e->arrival != EMU_CLOSED)
			tp = fmin(tp, e->rate);
		/* A crash, stall or cut that broke the plan: nothing until the new one is live. */
		if (in->kind != SIM_INCIDENT_UPDATE && in->replanned)
			st[n++] = (struct step){ in->at_s, 0 };
		if (in->replanned && in->live_s >= 0)
			st[n++] = (struct step){ in->live_s, tp };
	}
	qsort(st + 1, (size_t)(n - 1), sizeof(*st), cmp_step);
	for (int b = 0; b < c->rep.n_bins; b++) {
		double lo = b * bin, hi = lo + bin, sum = 0;

		for (int k = 0; k < n; k++) {
			double a = fmax(lo, st[k].t_s), z = fmin(hi, k + 1 < n ? st[k + 1].t_s : hi);

			if (z > a)
				sum += st[k].tp * (z - a);
		}
		v[b] = sum / bin;
	}
	free(st);
	c->series[COMPARE_ANALYTIC] = v;
	return EP_OK;
}

/* ---- the simulator ---- */

static void sim_row(struct compare *c)
{
	const struct sim_report *r = c->rep.sim;
	struct compare_row *row = &c->rep.rows[COMPARE_SIM];
	const struct sim_incident *first = NULL, *upd = NULL;

	row->ran = true;
	row->throughput = r->throughput;
	row->latency_p50_s = r->latency_p50_s;
	row->latency_p95_s = r->latency_p95_s;
	row->latency_p99_s = r->latency_p99_s;
	row->issued = r->issued;
	row->answered = r->completed;
	row->resent = r->requests_retried;
	row->lost = r->incomplete;
	row->duplicated = r->duplicates;
	for (int i = 0; i < r->n_incidents; i++) {
		const struct sim_incident *in = &r->incidents[i];

		if (in->kind != SIM_INCIDENT_UPDATE && in->detected_s >= 0 &&
		    (!first || in->at_s < first->at_s))
			first = in;
		if (in->kind == SIM_INCIDENT_UPDATE && !upd)
			upd = in;
	}
	if (first) {
		row->detection_s = first->detected_s - first->at_s;
		row->recovery_s = first->recovery_s >= 0 ? first->recovery_s : NAN;
	} else if (upd && upd->live_s >= 0) {
		row->recovery_s = upd->live_s - upd->at_s;
	}
	if (r->no_plan)
		snprintf(row->note, sizeof(row->note), "the run stopped at %.6g s: no plan fits on "
			 "the surviving nodes", r->sim_end_s);
}

static int sim_marks(struct compare *c)
{
	const struct sim_report *r = c->rep.sim;
	char text[64];
	int rc = EP_OK;

	for (int i = 0; i < r->n_incidents && !rc; i++) {
		const struct sim_incident *in = &r->incidents[i];

		if (in->detected_s >= 0 && in->kind != SIM_INCIDENT_UPDATE) {
			snprintf(text, sizeof(text), "sim: %s of node%d detected",
				 sim_incident_kind_name(in->kind), in->node);
			rc = mark_add(c, COMPARE_SIM, in->detected_s, "detect", text);
		}
		if (!rc && in->replanned && in->live_s >= 0) {
			snprintf(text, sizeof(text), "sim: new plan live (%d stages)", in->stages);
			rc = mark_add(c, COMPARE_SIM, in->live_s, "live", text);
		}
	}
	return rc;
}

/* The simulator as the emulator runs (trial_sim_as_emu), through trial_sim_run's two steps:
 * a configuration it refuses (a fault it does not model) empties its row, saying why. */
static int run_sim(struct compare *c, struct ep_error *err)
{
	struct trial_sim_options so;
	struct trial_workload sw;
	struct ep_error e2;
	int rc;

	trial_sim_as_emu(&c->cfg, c->cfg.compute, c->w, true, &sw, &so);
	rc = trial_sim_create(c->t, c->res, &sw, &so, &c->ts, &e2);
	if (rc == EP_EINVAL) {
		snprintf(c->rep.rows[COMPARE_SIM].note, sizeof(c->rep.rows[COMPARE_SIM].note),
			 "refused: %.480s", e2.msg);
		return EP_OK;
	}
	if (!rc)
		rc = trial_sim_exec(c->ts, &e2);
	if (rc)
		return ep_error_set(err, rc, "sim: %s", e2.msg);
	c->rep.sim = trial_sim_report(c->ts);
	sim_row(c);
	return sim_marks(c);
}

/* ---- the emulator ---- */

static void emu_row(struct compare *c)
{
	const struct emu_report *r = c->rep.emu;
	struct compare_row *row = &c->rep.rows[COMPARE_EMU];
	const struct timeline_fault_record *first = NULL;

	row->ran = true;
	row->throughput = r->throughput;
	row->latency_p50_s = r->latency_p50_s;
	row->latency_p95_s = r->latency_p95_s;
	row->latency_p99_s = r->latency_p99_s;
	row->issued = r->issued;
	row->answered = r->answered;
	row->resent = r->requests_resent;
	row->lost = r->incomplete;
	row->duplicated = r->duplicates;
	for (int i = 0; i < r->n_faults; i++) {
		const struct timeline_fault_record *f = &r->faults[i];

		if (f->detected_s >= 0 && (!first || f->scheduled_s < first->scheduled_s))
			first = f;
	}
	if (first) {
		row->detection_s = first->detection_s >= 0 ? first->detection_s : NAN;
		row->recovery_s = first->recovery_s >= 0 ? first->recovery_s : NAN;
	} else if (r->n_updates > 0 && r->updates[0].rollout_s >= 0) {
		row->recovery_s = r->updates[0].rollout_s;
	}
	snprintf(row->note, sizeof(row->note), "run %s%s%s", r->run_id,
		 r->interrupted ? ", interrupted" : "", r->gave_up ? ", gave up: no plan" : "");
}

static int emu_marks(struct compare *c)
{
	const struct emu_report *r = c->rep.emu;
	char text[64];
	int rc = EP_OK;

	for (int i = 0; i < r->n_faults && !rc; i++) {
		const struct timeline_fault_record *f = &r->faults[i];

		if (f->detected_s >= 0) {
			snprintf(text, sizeof(text), "emu: fault %d detected", f->fault);
			rc = mark_add(c, COMPARE_EMU, f->detected_s, "detect", text);
		}
		if (!rc && f->live_s >= 0) {
			snprintf(text, sizeof(text), "emu: new plan live after fault %d", f->fault);
			rc = mark_add(c, COMPARE_EMU, f->live_s, "live", text);
		}
	}
	for (int i = 0; i < r->n_updates && !rc; i++)
		if (r->updates[i].live_s >= 0)
			rc = mark_add(c, COMPARE_EMU, r->updates[i].live_s, "live",
				      "emu: updated model live");
	return rc;
}

/* Whether the emulator can run here; if not, *why says so. */
static bool emu_possible(char *why, size_t size)
{
	struct emu_caps caps;
	struct ep_error e;

	if (geteuid() != 0) {
		snprintf(why, size, "skipped: not root (the emulator makes network namespaces, "
			 "links and cgroups)");
		return false;
	}
	if (emu_caps_detect(&caps, &e) || emu_caps_require_net(&caps, &e)) {
		snprintf(why, size, "skipped: %.480s", e.msg);
		return false;
	}
	return true;
}

static int run_emu(struct compare *c, bool emulate, struct ep_error *err)
{
	struct compare_row *row = &c->rep.rows[COMPARE_EMU];
	struct ep_error e2;
	int rc;

	if (!emulate) {
		snprintf(row->note, sizeof(row->note), "not asked for");
		return EP_OK;
	}
	if (!emu_possible(row->note, sizeof(row->note)))
		return EP_OK;
	rc = emu_session_create(&c->t->inst->problem, &c->res->plan, &c->cfg, &c->es, &e2);
	if (!rc)
		rc = emu_session_run(c->es, &e2);
	if (rc == EP_EIO) {
		/* The host refused (a missing mechanism, named): the other two stand. */
		snprintf(row->note, sizeof(row->note), "skipped: the host refused: %.470s", e2.msg);
		return EP_OK;
	}
	if (rc)
		return ep_error_set(err, rc, "emu: %s", e2.msg);
	c->rep.emu = emu_session_report(c->es);
	emu_row(c);
	return emu_marks(c);
}

/* ---- the series ---- */

static int counts_series(struct compare *c, enum compare_backend b, const int64_t *counts,
			 int n)
{
	double *v = malloc((size_t)(c->rep.n_bins > 0 ? c->rep.n_bins : 1) * sizeof(*v));

	if (!v)
		return EP_ENOMEM;
	for (int i = 0; i < c->rep.n_bins; i++)
		v[i] = i < n ? (double)counts[i] / c->rep.bin_s : NAN;
	c->series[b] = v;
	return EP_OK;
}

static int make_series(struct compare *c, const struct emu_config *e)
{
	const struct sim_report *s = c->rep.sim;
	const struct emu_report *m = c->rep.emu;
	int rc;

	c->rep.bin_s = e->bin_s;
	c->rep.n_bins = 0;
	if (s && s->n_bins > c->rep.n_bins)
		c->rep.n_bins = s->n_bins;
	if (m && m->n_bins > c->rep.n_bins)
		c->rep.n_bins = m->n_bins;
	if (c->rep.n_bins == 0) {
		/* Only the analytic: the expected run at its rate, at most 10000 bins. */
		double tp = c->rep.rows[COMPARE_ANALYTIC].throughput;
		double run = tp > 0 && isfinite(tp) ? (double)e->requests / tp : 0;

		c->rep.n_bins = (int)fmin(10000, fmax(1, ceil(run / e->bin_s)));
	}
	rc = analytic_series(c, e);
	if (!rc && s)
		rc = counts_series(c, COMPARE_SIM, s->series, s->n_bins);
	if (!rc && m)
		rc = counts_series(c, COMPARE_EMU, m->series, m->n_bins);
	for (int b = 0; b < COMPARE_BACKEND_COUNT_; b++)
		c->rep.series[b] = c->series[b];
	return rc;
}

/* Append to buf (of `size`, *used so far) what fmt says, cut at the end of buf. */
static void append(char *buf, size_t size, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t size, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (*used >= size)
		return;
	va_start(ap, fmt);
	k = vsnprintf(buf + *used, size - *used, fmt, ap);
	va_end(ap);
	*used += k > 0 ? (size_t)k : 0;
}

/* The timeline as the user wrote it, and the title line: the instance, the plan, the workload
 * and the timeline. */
static void make_title(struct compare *c)
{
	const struct trial_setup *t = c->t;
	const struct emu_config *e = &c->cfg;
	const struct plan *plan = &c->res->plan;
	size_t used = 0, tsize = sizeof(c->title), fsize = sizeof(c->faults_text);

	c->faults_text[0] = '\0';
	for (int i = 0; i < c->w->n_faults; i++)
		append(c->faults_text, fsize, &used, "%s%s", i ? "; " : "", c->w->faults[i].text);
	for (int i = 0; i < c->w->n_updates; i++)
		append(c->faults_text, fsize, &used, "%supdate %s", used ? "; " : "",
		       c->w->update_spec[i]);
	used = 0;
	append(c->title, tsize, &used, "%s on %d nodes (%s cluster, seed %" PRIu64 "), %s plan",
	       t->inst->profile->model, t->inst->cluster->n,
	       cluster_kind_name(t->spec->cluster.kind), t->spec->seed, t->algo->name);
	for (int s = 0; s < plan->n_stages; s++)
		append(c->title, tsize, &used, " %d..%d@%d", plan->stages[s].first_cut,
		       plan->stages[s].end_cut, plan->stages[s].node);
	append(c->title, tsize, &used, "; %s %s %g, %" PRId64 " requests, compute %s",
	       workload_arrival_name((enum workload_arrival)e->arrival),
	       e->arrival == EMU_CLOSED ? "window" : "rate",
	       e->arrival == EMU_CLOSED ? (double)e->window : e->rate, e->requests,
	       !e->compute			  ? "none"
	       : t->spec->cluster.speed_flops > 0 ? "model"
						  : "model (speed 0: none)");
	append(c->title, tsize, &used, "; faults: %s", c->faults_text[0] ? c->faults_text : "none");
}

/* The update, the plan, the timeline's check against it and the emulator's configuration
 * (compare.h); 1 with EP_OK when no plan was found. */
static int prepare(struct compare *c, const struct compare_options *o, struct ep_error *err)
{
	const struct trial_setup *t = c->t;
	const struct trial_workload *w = c->w;

	if (w->n_updates > 1)
		return ep_error_set(err, EP_EINVAL, "%d updates: compare takes one", w->n_updates);
	if (o->emu.cfg.real)
		return ep_error_set(err, EP_EINVAL,
				    "compute 'real': the simulator has no real "
				    "compute to compare with (use compute model or none)");
	EP_CHECK(trial_updates_open(t, w, w->n_updates, &c->ug, &c->up, err));
	EP_CHECK(trial_plan(t, c->res, err));
	if (c->res->status != EP_OK)
		return 1;
	/* A fault at a stage the plan lacks would never fire (an update's plan may have it). */
	if (w->n_updates == 0)
		EP_CHECK(timeline_check_stages(w->faults, w->n_faults, c->res->plan.n_stages, err));
	EP_CHECK(trial_emu_configure(t, c->res, w, &o->emu, c->ug, c->up, &c->cfg, err));
	/* compare runs the model it planned: a model file is not watched. */
	c->cfg.watch_path = NULL;
	if (c->cfg.requests < 1)
		return ep_error_set(err, EP_EINVAL, "compare: %lld requests: at least one",
				    (long long)c->cfg.requests);
	return EP_OK;
}

int compare_run(const struct trial_setup *t, const struct trial_workload *w,
		const struct compare_options *o, struct algo_result *res, struct compare **out,
		struct ep_error *err)
{
	struct compare *c = calloc(1, sizeof(*c));
	int rc;

	*out = NULL;
	if (!c)
		return ep_error_set(err, EP_ENOMEM, "out of memory for a comparison");
	c->t = t;
	c->w = w;
	c->res = res;
	c->command = o->emu.command;
	for (int b = 0; b < COMPARE_BACKEND_COUNT_; b++)
		row_clear(&c->rep.rows[b], (enum compare_backend)b);
	rc = prepare(c, o, err);
	if (rc) {
		/* No plan (1): EP_OK with res->status saying why; or prepare's error. */
		compare_destroy(c);
		return rc == 1 ? EP_OK : rc;
	}
	make_title(c);
	EP_CHECK_GOTO(timeline_marks(c, &c->cfg), rc, fail);
	EP_CHECK_GOTO(run_analytic(c, &t->inst->problem, &res->plan, &c->cfg, err), rc, fail);
	EP_CHECK_GOTO(run_sim(c, err), rc, fail);
	EP_CHECK_GOTO(run_emu(c, o->emulate, err), rc, fail);
	EP_CHECK_GOTO(make_series(c, &c->cfg), rc, fail);
	c->rep.marks = c->marks;
	c->rep.n_marks = c->n_marks;
	*out = c;
	return EP_OK;
fail:
	if (rc == EP_ENOMEM)
		ep_error_set(err, rc, "out of memory for a comparison");
	compare_destroy(c);
	return rc;
}

void compare_destroy(struct compare *c)
{
	if (!c)
		return;
	trial_sim_destroy(c->ts);
	emu_session_destroy(c->es);
	model_profile_destroy(c->up);
	model_graph_destroy(c->ug);
	for (int b = 0; b < COMPARE_BACKEND_COUNT_; b++)
		free(c->series[b]);
	free(c->marks);
	free(c);
}

const struct compare_report *compare_get_report(const struct compare *c)
{
	return &c->rep;
}

const char *compare_title(const struct compare *c)
{
	return c->title;
}
