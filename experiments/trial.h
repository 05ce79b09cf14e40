/*
 * trial: one plan run by one back end, the simulator (sim/) or the emulator (emu/), from a
 * problem instance, a plan and a workload with its fault and update timeline. The command line's
 * `sim` and `emu` and `compare` call these entry points; they size what depends on the plan
 * (the closed window, the series bin, the retry timeout) through algorithms/workload.h, so
 * every caller sizes the same experiment alike.
 *
 *     struct trial_setup t = { inst, &spec, algo, options, power, NULL, NULL };
 *     trial_plan(&t, &res, &err);                    the plan `edgepipe plan` prints
 *     trial_sim_run(&t, &res, &w, &so, &sim, &err);  a simulation of it
 *     trial_emu_run(&t, &res, &w, &eo, &emu, &err);  an emulation (root), with its reference
 *                                                    simulation (trial_emu_reference)
 *
 * Everything passed in is borrowed and must outlive the trial objects.
 */
#ifndef EDGEPIPE_TRIAL_H
#define EDGEPIPE_TRIAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "algo.h"
#include "emu_session.h"
#include "ep_error.h"
#include "instance.h"
#include "power.h"
#include "sim_pipeline.h"
#include "timeline.h"
#include "workload.h"

/* What a trial runs on. */
struct trial_setup {
	const struct instance *inst;      /* problem, profile, cluster, graph */
	const struct instance_spec *spec; /* what inst was made from: seed, trial, cluster kind */
	const struct algo *algo;          /* the plan's and every re-plan's */
	struct algo_options algo_options;
	const struct power_model *power;  /* modelled energy; NULL: none */
	const char *scenario_text;        /* the scenario file's text; NULL: none */
	const char *scenario_path;        /* its path; NULL: none */
};

/* The workload and the timeline both back ends share (the library form of the command line's
 * run options). */
#define TRIAL_MAX_UPDATES 16
struct trial_workload {
	enum workload_arrival arrival;
	int window;                 /* closed: requests in flight; 0: sized to the plan (the
				       simulator re-sizes it to each plan that goes live) */
	double rate;                /* open: requests per second */
	int64_t requests, warmup_requests;
	double duration_s;          /* the simulator only; 0: none */
	double bin_s;               /* the series' bin; 0: sized to the plan */
	double heartbeat_period_s, heartbeat_timeout_s; /* 0: the back end's default */
	double retry_timeout_s;     /* < 0: the back end's rule (workload.h); 0: off */
	const struct timeline_fault *faults; /* resolved (timeline_resolve); n_faults */
	int n_faults;
	int n_updates;              /* the simulator at most TRIAL_MAX_UPDATES, the emulator 1 */
	const char *update_model[TRIAL_MAX_UPDATES]; /* zoo name or model file */
	const char *update_spec[TRIAL_MAX_UPDATES];  /* as given ("resnet101 at 40s") */
	double update_at_s[TRIAL_MAX_UPDATES];
};

/* Closed loop sized to the plan, no requests, no faults, the back ends' defaults. */
void trial_workload_init(struct trial_workload *w);

/* "full" or "published": what the problem's metric counts. */
const char *trial_metric_name(const struct trial_setup *t);

/*
 * The plan `edgepipe plan` prints for these options: t->algo on t->inst's problem with the
 * generator seeded from instance_algo_seed. res (initialised) gets the result; EP_OK with
 * res->status saying whether a plan was found; errors are algo_run's.
 */
int trial_plan(const struct trial_setup *t, struct algo_result *res, struct ep_error *err);

/*
 * When the smallest node's memory is what makes the problem infeasible, write what would do
 * into buf: the memory per node that fits the model's cut profile on this many nodes, and the
 * nodes this memory needs (the memory bound only: an algorithm may need more). "" when memory
 * is not the reason.
 */
void trial_memory_remedy(const struct problem *p, char *buf, size_t size);

/* How a report is written: text for a reader, CSV (a header and one row), JSON (one object on
 * one line, ep_json.h). */
enum trial_format { TRIAL_TEXT = 0, TRIAL_CSV, TRIAL_JSON };

/* ---- the simulator ---- */

/* The simulator's own options (trial_sim_options_default gives the defaults). */
struct trial_sim_options {
	enum sim_dist service, transfer;
	double service_cv, transfer_cv;  /* lognormal only */
	bool shared_medium, latency_pipelined;
	int compute, dispatcher_hops;    /* 0 or 1; -1: as the problem's metric counts them */
	double warmup_s;                 /* no measurement before this time */
	double mtbf_s;                   /* random crashes; 0: none */
	FILE *trace;                     /* one line per event; NULL: none */
	const char *trace_path;		 /* trial_sim_plan_run: the trace into this file,
					    opened after the plan (NULL: none) */
	bool window_per_plan;            /* closed loop, no window given: re-size it to each plan
					    that goes live (the default); false: the first plan's,
					    fixed, as the emulator keeps it */
	bool local_weights;              /* a new deployment goes live when made (its stages have
					    their weights, as the emulator forks them); false: the
					    weights cross the links first */
};

struct trial_sim_options trial_sim_options_default(void);

struct trial_sim;

/*
 * Simulate plan res->plan (res->status EP_OK) under workload w: the update models are opened
 * and profiled with t->spec's profile options; the window (per plan when not given), the bin
 * and the retry timeout (workload_retry_detected_s) are sized when not given. *out (owned by
 * the caller, trial_sim_destroy) holds the finished run. Errors: an update model's (the
 * message starts "--update: "), sim_pipeline_create's and _run's; EP_EINVAL when o->warmup_s
 * leaves nothing measured; EP_ENOMEM.
 */
int trial_sim_run(const struct trial_setup *t, const struct algo_result *res,
		  const struct trial_workload *w, const struct trial_sim_options *o,
		  struct trial_sim **out, struct ep_error *err);
/* trial_sim_run in two steps: create (every check, the configuration, the sizes and
 * sim_pipeline_create: its EP_EINVAL is a configuration the simulator refuses) and exec (the
 * run, and the warm-up's check). On an error of exec, s stays the caller's to destroy. */
int trial_sim_create(const struct trial_setup *t, const struct algo_result *res,
		     const struct trial_workload *w, const struct trial_sim_options *o,
		     struct trial_sim **out, struct ep_error *err);
int trial_sim_exec(struct trial_sim *s, struct ep_error *err);
/*
 * trial_plan, then trial_sim_run of that plan (`edgepipe sim`): the plan into res
 * (initialised); EP_OK with *out NULL when no plan was found (res->status and res->reason say
 * why). With o->trace_path, the trace goes to that file, opened once there is a plan
 * (EP_EINVAL "--trace 'PATH': cannot open for writing") and closed by trial_sim_trace_close
 * (EP_EIO "--trace 'PATH': write failed") or trial_sim_destroy. Errors: trial_plan's,
 * trial_sim_run's.
 */
int trial_sim_plan_run(const struct trial_setup *t, const struct trial_workload *w,
		       const struct trial_sim_options *o, struct algo_result *res,
		       struct trial_sim **out, struct ep_error *err);
int trial_sim_trace_close(struct trial_sim *s, struct ep_error *err);
const struct sim_report *trial_sim_report(const struct trial_sim *s);
/* The configuration as run, with the sizes filled in. */
const struct sim_config *trial_sim_config(const struct trial_sim *s);
/* sim_plan_bottleneck of the first plan under that configuration. */
double trial_sim_bound_s(const struct trial_sim *s);
/* The wall-clock time of the run, seconds. */
double trial_sim_wall_s(const struct trial_sim *s);
/* A warning about the options ("" when none), e.g. a retry timeout below the round trip. */
const char *trial_sim_warning(const struct trial_sim *s);
void trial_sim_destroy(struct trial_sim *s);

/*
 * Append the simulation s to the SQLite database at path (created if new), in one
 * transaction, in the shape of the emulator's (emu_db.h): same column names where the quantity
 * is the same, tables prefixed sim_ (schema version TRIAL_SIM_DB_SCHEMA_VERSION in sim_meta):
 *   sim_runs(run_id PRIMARY KEY, started_utc, version, command, model, nodes, cluster, seed,
 *            trial, algo, variant, metric, workload, win, rate, requests, warmup, compute
 *            ('on'|'off'), dispatcher_hops, service, transfer, shared_medium,
 *            heartbeat_period_s, heartbeat_timeout_s, retry_timeout_s, faults ('; '-joined
 *            specs), update_spec, mtbf_s, codec, device)
 *   sim_summary(run_id PRIMARY KEY, stages, analytic_bottleneck_s, analytic_throughput,
 *            sim_throughput, latency_mean_s, latency_p50_s, latency_p95_s, latency_p99_s,
 *            latency_max_s, issued, answered, incomplete, duplicates, resends,
 *            requests_resent, lost, measured, warmup_end_s, end_s, no_plan,
 *            final_analytic_throughput, window_end, energy_per_inference_j, power_w, events,
 *            sim_end_s, bin_s)                     answered = completed, resends = retries
 *   sim_series(run_id, bin, start_s, answers, throughput)          as emu_series
 *   sim_energy(run_id, node, active, busy_s, bits_sent, bits_received, energy_j,
 *            energy_per_inference_j, power_w)      modelled (--device); no rows without
 *   sim_faults(run_id, fault, spec, kind, node, peer, at_s, detected_s, live_s, detection_s,
 *            recovery_s, back_s, replanned, stages, bottleneck_s, deploy_s, model, reason)
 *            one row per incident (crash, stall, cut, update), columns as emu_faults'
 *   sim_scenarios(run_id PRIMARY KEY, path, text)  as emu_scenarios; a row only with one
 * Unmeasured values and times that never came are NULL. run_id: "s" and 6 base-36 digits.
 * Errors: EP_EIO (names the file and SQLite's message), EP_EINVAL (another schema version).
 */
#define TRIAL_SIM_DB_SCHEMA_VERSION 1
int trial_sim_db_write(const struct trial_sim *s, const char *path, const char *command,
		       struct ep_error *err);
/*
 * The simulator's report of s in format fmt to f: the plan, the analytic figures beside the
 * simulated ones, servers, energy, incidents (series: also the throughput series, text and
 * CSV; JSON always has it). The scenario (t->scenario_*), when set: text "scenario: PATH" first,
 * JSON member "scenario": {"path", "text"}. Errors: EP_EIO (a failed write), EP_ENOMEM.
 */
int trial_sim_write(FILE *f, enum trial_format fmt, const struct trial_sim *s, bool series,
		    struct ep_error *err);

/* ---- the emulator ---- */

/* The emulator's reference: the simulated run of the same plan and workload without faults,
 * under the emulator's model (compute as asked, dispatcher hops, latency overlapped). */
struct trial_sim_ref {
	double throughput, latency_mean_s;
	double energy_per_inference_j, power_w; /* modelled (t->power); NAN without */
};

/* The emulator's own options. */
struct trial_emu_options {
	/* emu_config_default() with the emulator's own options set: codec, real, threads,
	 * tensors_path, deploy_timeout_s, giveup_s, probes, remote, state_dir, stop_fd,
	 * progress, status. The workload, timeline and plan fields are set by trial_emu_run. */
	struct emu_config cfg;
	bool compute_model;  /* stages busy-work FLOPs / speed (or, real, the planner counts
				compute); false: stages forward at once */
	const char *command; /* the command line, recorded by trial_emu_db_write; NULL: none */
};

void trial_emu_options_init(struct trial_emu_options *o);

/*
 * The simulator's run of the experiment the emulator runs as cfg (configured and sized by
 * trial_emu_run, or compare_run), for trial_sim_run: *so the emulator's model (stages computing
 * FLOPs / speed when `compute`, the dispatcher's hops taking time, a latency delaying without
 * occupying a link, the first plan's window kept, weights local: a new deployment is live when
 * made, as the emulator forks its stages with their weights); *sw the workload w as cfg sized
 * it (arrivals, window, rate, requests, warm-up, bin, heartbeat period and timeout; no
 * duration) with the simulator's own retry rule (workload_retry_detected_s), and w's faults and
 * updates when `timeline` (none otherwise: the emulator's reference). The one translation of
 * the emulator's experiment into the simulator's, for both trial_emu_run's reference and
 * compare.
 */
void trial_sim_as_emu(const struct emu_config *cfg, bool compute, const struct trial_workload *w,
		      bool timeline, struct trial_workload *sw, struct trial_sim_options *so);

/* "model", "real" or "none"; the codec's spec or "none". */
const char *trial_emu_compute_name(const struct trial_emu_options *o);
const char *trial_emu_codec_name(const struct trial_emu_options *o);

struct trial_emu;

/*
 * Emulate plan res->plan under workload w: checks the timeline's stages against the plan,
 * needs root unless o->cfg.remote (EP_EIO otherwise: nothing is created), sizes the window,
 * bin and retry timeout (workload_retry_blind_s) when not given, simulates the reference,
 * then creates and runs the session. A model given as a file is watched (a change is rolled
 * out). Writes what the run will take, and a note on stale registries, to o->cfg.status when
 * set. *out is owned by the caller (trial_emu_destroy), also after an error of the session
 * (NULL before one exists). The report says whether a signal interrupted the run.
 */
int trial_emu_run(const struct trial_setup *t, const struct algo_result *res,
		  const struct trial_workload *w, const struct trial_emu_options *o,
		  struct trial_emu **out, struct ep_error *err);
/* A plan given as it is (`edgepipe dispatch --plan FILE`), and the file it came from. */
struct trial_plan_given {
	const struct plan *plan;
	const char *path;
};

/*
 * The plan, then trial_emu_run of it (`edgepipe emu`): `given` (may be NULL) checked against
 * t's problem (plan_check; EP_EINVAL "--plan 'PATH': ...") and costed as it is, else
 * trial_plan's into res (initialised): EP_OK with *out NULL when no plan was found
 * (res->status and res->reason say why; trial_memory_remedy what memory would do). Errors:
 * trial_plan's and trial_emu_run's (*out as there).
 */
int trial_emu_plan_run(const struct trial_setup *t, const struct trial_plan_given *given,
		       const struct trial_workload *w, const struct trial_emu_options *o,
		       struct algo_result *res, struct trial_emu **out, struct ep_error *err);
const struct emu_report *trial_emu_report(const struct trial_emu *e);
const struct trial_sim_ref *trial_emu_reference(const struct trial_emu *e);
/* The configuration as run, with the sizes filled in. */
const struct emu_config *trial_emu_config(const struct trial_emu *e);
/* Append the run to the SQLite database at path (emu_db.h). */
int trial_emu_db_write(const struct trial_emu *e, const char *path, struct ep_error *err);
void trial_emu_destroy(struct trial_emu *e);
/* The emulator's report of a finished run, as trial_sim_write (series: also the series and
 * every event in the text). */
int trial_emu_write(FILE *f, enum trial_format fmt, const struct trial_emu *e, bool series,
		    struct ep_error *err);

#endif
