/*
 * compare: one experiment, three back ends, side by side (`edgepipe compare`). The plan that
 * `edgepipe plan` prints for a trial (trial_plan), and one fault and update timeline, go through
 *
 * - the analytic model: plan_cost's bottleneck B of the plan (throughput 1 / B, the problem's
 *   metric) and a closed-form latency for the emulator's model of the running pipeline
 *   (workload.h terms: round trip R and the busiest server's time b): open loop R (no
 *   queueing), closed loop of window W max(R, W b) (Little's law at the saturated rate 1 / b);
 *   every percentile equals it (a deterministic pipeline). Over time (the figure), the plan
 *   in force: the first plan's 1 / B until a re-plan or an update, 0 from a crash that the
 *   simulator re-planned for (or a stall or cut it detected and re-planned around) until the
 *   new plan went live, then that plan's 1 / B (the
 *   bottleneck the SIMULATOR recorded for the plan it made: sim_incident.bottleneck_s, full
 *   cluster); link faults (bandwidth, loss, cuts) and stalls do not change a plan and are not
 *   in this line. Without a simulator run, the first plan's line throughout.
 * - the simulator (trial_sim_run, as `edgepipe sim` runs it) configured as the emulator runs
 *   (trial_sim_as_emu, the one translation, also of `emu`'s reference): the emulator's workload
 *   (the same window, requests, warm-up, arrivals and seed), stages computing when the
 *   emulator's do, the dispatcher's hops taking time, a link's latency delaying without
 *   occupying it (latency_pipelined), a new deployment live as soon as it is made (the
 *   emulator forks its stages with their weights: none cross a link; local_weights), the
 *   emulator's heartbeat period and timeout, the same
 *   re-planning algorithm, the timeline's faults and update. Its retry rule is its own
 *   (resend what detection says may be lost: workload_retry_detected_s). A fault the simulator
 *   refuses (today: stalls and cuts as long as the heartbeat timeout) leaves its row empty with
 *   the simulator's message as the note; the run goes on.
 * - the emulator (emu_session.h), when `emulate` is set, the process is root and the kernel can
 *   build an emulated network (emu_caps); otherwise its row says why it was skipped and the
 *   other two are still run. A host that refuses a fault's mechanism (EP_EIO from the session)
 *   is a skip too, with the session's message.
 *
 * The table, per back end: throughput over the measured interval (answers after the warm-up
 * / that time; the analytic: 1 / B), latency p50, p95, p99, detection and recovery time, and
 * requests resent, lost and duplicated:
 * - detection = the first detection a fault caused minus the fault's time (the simulator's
 *   crash, stall and cut incidents: detected_s - at_s; the emulator's fault records:
 *   detection_s); recovery
 *   = the redeployment it caused going live minus the fault's time; without a detected fault
 *   but with an update, recovery is the update's roll-out (live - at) and detection is empty;
 *   empty (NAN) when nothing was detected.
 * - resent = requests sent more than once; lost = requests never answered; duplicated = the
 *   simulator's cancelled or discarded attempts of answered requests, the emulator's answers
 *   after a request's first. The analytic row has none of these (-1).
 *
 * Stored (compare_db_write): the emulator's run through emu_db_write (its emu_* tables), the
 * simulator's through trial_sim_db_write (its sim_* tables, as `sim --db` writes them), and
 *   compare_meta(key PRIMARY KEY, value)     'schema' -> COMPARE_DB_SCHEMA_VERSION
 *   compare_runs(compare_id PRIMARY KEY, started_utc, version, command, scenario_path,
 *       scenario_text, model, nodes, algo, seed, workload, requests, faults, emu_run_id,
 *       analytic_bottleneck_s, bin_s)
 *   compare_rows(compare_id, backend, ran, note, throughput, latency_p50_s, latency_p95_s,
 *       latency_p99_s, detection_s, recovery_s, issued, answered, resent, lost, duplicated)
 *   compare_series(compare_id, backend, bin, start_s, throughput)
 *   compare_events(compare_id, seq, backend, t_s, kind, text)
 * compare_id is a fresh random id ("cmp" + 8 characters); emu_run_id (NULL without an
 * emulator run) is the key of its emu_runs row. Values not measured are NULL.
 *
 * The figure (compare_plot): throughput over time, one line per back end that ran, the
 * timeline's faults and their ends as labelled vertical lines, each back end's detections and
 * go-lives as short marks in its colour.
 */
#ifndef EDGEPIPE_COMPARE_H
#define EDGEPIPE_COMPARE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "emu_db.h"
#include "emu_session.h"
#include "ep_error.h"
#include "plan.h"
#include "problem.h"
#include "sim_pipeline.h"
#include "trial.h"

enum compare_backend { COMPARE_ANALYTIC = 0, COMPARE_SIM, COMPARE_EMU, COMPARE_BACKEND_COUNT_ };

/* "analytic", "sim", "emu". */
const char *compare_backend_name(enum compare_backend b);

#define COMPARE_DB_SCHEMA_VERSION 1

/* What compare runs beside the trial and the workload. */
struct compare_options {
	/* The emulator's own options (trial_emu_options_init, then: cfg's deploy_timeout_s,
	 * giveup_s, state_dir, stop_fd, progress); compute_model: the stages compute FLOPs /
	 * speed in both back ends (false: none); command: recorded by compare_db_write. cfg.real
	 * is refused (the simulator has no real compute). */
	struct trial_emu_options emu;
	bool emulate;               /* run the emulator where the host allows it */
};

/* A table row (above). Times in seconds; NAN = not measured; counts -1 = not applicable. */
struct compare_row {
	enum compare_backend backend;
	bool ran;
	char note[512];             /* why it did not run, or what to know about its numbers */
	double throughput;          /* per second */
	double latency_p50_s, latency_p95_s, latency_p99_s;
	double detection_s, recovery_s;
	int64_t issued, answered, resent, lost, duplicated;
};

/* A mark on the figure: a timeline fault or its end (backend -1), or a back end's detection
 * ("detect") or go-live ("live"). */
struct compare_mark {
	int backend;                /* enum compare_backend, or -1: the timeline */
	double t_s;                 /* from the workload's start */
	char kind[16];              /* "fault", "end", "detect", "live" */
	char text[TIMELINE_TEXT_MAX];
};

struct compare_report {
	struct compare_row rows[COMPARE_BACKEND_COUNT_];
	double analytic_bottleneck_s;   /* plan_cost of the plan */
	double bin_s;
	int n_bins;                     /* the longest series */
	/* throughput per bin (answers / bin_s), [n_bins] each; NULL for a back end that did
	 * not run (shorter runs are padded with NAN) */
	const double *series[COMPARE_BACKEND_COUNT_];
	const struct compare_mark *marks;
	int n_marks;
	/* the back ends' own reports (NULL when not run), owned by the comparison */
	const struct sim_report *sim;
	const struct emu_report *emu;
};

struct compare;

/*
 * Compare trial t under workload w (above): the update model opened (its errors start
 * "--update: "), the plan into res (initialised; trial_plan), the timeline checked against it
 * (timeline_check_stages: EP_EINVAL), the workload sized as the emulator sizes it
 * (trial_emu_configure: the window, bin and retry timeout w leaves open; a model file is not
 * watched), then the three back ends. Returns EP_OK with *out (compare_destroy) when the
 * comparison was made (rows that could not run say why); EP_OK with *out NULL when no plan was
 * found (res->status and res->reason say why); EP_EINVAL (a bad configuration, named),
 * EP_ENOMEM, or a back end's error that is not a refusal (the message names the back end).
 * t, w, res and o's borrowed pointers must outlive *out. With the emulator,
 * o->emu.cfg.stop_fd readable stops it: the report's emu->interrupted says so.
 */
int compare_run(const struct trial_setup *t, const struct trial_workload *w,
		const struct compare_options *o, struct algo_result *res, struct compare **out,
		struct ep_error *err);
void compare_destroy(struct compare *c);
const struct compare_report *compare_get_report(const struct compare *c);
/* The title line: the instance, the plan, the workload and the timeline. */
const char *compare_title(const struct compare *c);

/*
 * The table: text (one column per back end, a header line naming `title` when not NULL),
 * CSV (one row per back end, a header line first) or JSON (an object: "title", "scenario":
 * {"path", "text"} (absent without a scenario text), "analytic_bottleneck_s", "rows" with one
 * object per back end, "bin_s", "series" per back end, "marks"), JSON through jansson.
 * Returns EP_OK, EP_EIO (a write failed) or EP_ENOMEM.
 */
int compare_write_text(FILE *f, const struct compare_report *r, const char *title);
int compare_write_csv(FILE *f, const struct compare_report *r);
int compare_write_json(FILE *f, const struct compare_report *r, const char *title,
		       const char *scenario_path, const char *scenario_text);
/* The comparison c in format fmt: text ("scenario: PATH" first when the trial has a scenario,
 * then the table under compare_title), CSV, or JSON with the title and the trial's scenario. */
int compare_write(FILE *f, enum trial_format fmt, const struct compare *c);

/*
 * Append the comparison c to the SQLite file at `path` (created if new): the emulator's run
 * (emu_db_write, when it ran), the tables above, and the simulator's run (trial_sim_db_write,
 * when it ran), in one file; each of the three in its own transaction. *id (may be NULL; 16
 * bytes) receives the compare_id. Errors: EP_EIO naming the file and SQLite's message,
 * EP_EINVAL (a file of another schema version).
 */
int compare_db_write(const struct compare *c, const char *path, char id[16], struct ep_error *err);

/*
 * The figure (above) at `path`, which ends in .png or .svg; PATH without the extension gets
 * .dat (the series, one block per back end, then the marks) and .gp (the script, which
 * re-plots with `gnuplot BASE.gp` from that directory). Written atomically. Errors:
 * EP_EINVAL (another extension, a directory that does not exist), EP_ENOTFOUND (no
 * gnuplot), EP_EIO (a write or gnuplot failed), EP_ENOMEM.
 */
int compare_plot(const struct compare_report *r, const char *path, const char *title,
		 struct ep_error *err);
/* compare_plot's checks of `path` alone (before a run): EP_OK or its EP_EINVAL. */
int compare_plot_check(const char *path, struct ep_error *err);

#endif
