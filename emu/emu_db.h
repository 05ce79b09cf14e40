/*
 * emu_db: an emulator run's record in SQLite (`edgepipe emu --db FILE`).
 *
 * One file may hold many runs: every table is keyed by the run id (the registry's, "ep3k9zq"),
 * and a run is written in one transaction, so a file never holds half a run. Times are seconds
 * from the start of the workload (the first request); negative before it. A value that was not
 * measured (a request never answered, a fault never detected) is NULL.
 *
 * Schema (version EMU_DB_SCHEMA_VERSION, in emu_meta):
 *
 *   emu_meta(key PRIMARY KEY, value)                       'schema' -> version
 *   emu_runs(run_id PRIMARY KEY, started_utc, version, command, model, nodes, cluster, seed,
 *            trial, algo, variant, metric, workload, win, rate, requests, warmup, compute,
 *            compress, heartbeat_period_s, heartbeat_timeout_s, retry_timeout_s, faults,
 *            update_spec, host_flops, setup_s, teardown_s, interrupted, gave_up, stale_note,
 *            threads)
 *       the run and its options; host_flops = the busy loop's FLOP/s on one core
 *   emu_mechanisms(run_id, property, mechanism, detail)    how each thing was emulated:
 *       bandwidth (htb | none), latency (netem | transport), loss (netem | iptables | none),
 *       link-down (iptables | none), cpu (cgroup-v1 | cgroup-v2 | none), memory (likewise),
 *       missing (mechanism '-', detail: what the kernel lacks and what is done instead)
 *   emu_requests(run_id, request, issue_s, first_sent_s, sent_s, done_s, latency_s, attempts,
 *            deployment, duplicates, mismatch)             one row per issued request;
 *       mismatch (real compute): 1 if an answer differed from the whole model's output, 0 if
 *       every answer matched, NULL unchecked
 *   emu_deployments(run_id, deployment, version, model, stages, plan, bottleneck_s,
 *            started_s, live_s, ended_s, state, reason)    every plan deployed
 *   emu_stages(run_id, deployment, stage, node, first_cut, end_cut, flops, cpu_share,
 *            work_iters, hold_s, frames_in, frames_out, probes, bytes_in_raw, bytes_in_wire,
 *            bytes_out_raw, bytes_out_wire, compute_s, hold_total_s, encode_s, decode_s,
 *            max_backlog)
 *       per-stage counters (the last ones each stage reported); encode_s: wall time coding
 *       what it sent, decode_s: decoding what it received
 *   emu_links(run_id, deployment, hop, from_node, to_node, frames, raw_bytes, wire_bytes,
 *            encode_s, decode_s)
 *       per-link tensor bytes before and after coding (emu_runs.compress names the codec), the
 *       sender's time encoding them and the receiver's decoding them; nodes by index, the
 *       dispatcher is `nodes`
 *   emu_energy(run_id, node, active, cpu_s, share, busy_s, utilisation, bits_sent,
 *            bits_received, energy_j, energy_per_inference_j, power_w)
 *       MODELLED energy per node (--device; emu_session.h struct emu_node_energy): cgroup CPU
 *       time over the energy interval, the device's busy time (/ its share), and the power
 *       model's joules; nothing is measured in watts. The summary's totals are over the
 *       active nodes (those that ran a stage), beside the simulator's for the same plan
 *   emu_events(run_id, seq, t_s, kind, node, peer, deployment, text)   the run's log
 *   emu_faults(run_id, fault, spec, kind, node, peer, scheduled_s, at_s, slip_s,
 *            end_scheduled_s, end_s, end_slip_s, detected_s, live_s, detection_s, recovery_s,
 *            resent, note)                                 each fault and its recovery:
 *       scheduled_s is the timeline's time, at_s when the action took effect (the netlink
 *       request or iptables command returned, the signals sent), slip_s = at_s - scheduled_s;
 *       likewise for the end of a fault with a duration
 *   emu_updates(run_id, version, model, at_s, live_s, drained_s, rollout_s)
 *   emu_series(run_id, bin, start_s, answers, throughput)  throughput over time
 *   emu_scenarios(run_id PRIMARY KEY, path, text)          the scenario file the run was
 *       described by (--scenario), whole; no row without one. Added to version 6 files as
 *       they are written to (a new table: readers of version 6 are unaffected)
 *   emu_summary(run_id PRIMARY KEY, stages, analytic_bottleneck_s, analytic_throughput,
 *            sim_throughput, emu_throughput, emu_vs_sim, emu_vs_analytic, latency_mean_s,
 *            latency_p50_s, latency_p95_s, latency_p99_s, latency_max_s, sim_latency_mean_s,
 *            issued, answered, incomplete, duplicates, resends, requests_resent, raw_bytes,
 *            wire_bytes, probes, path_latency_configured_s, path_latency_measured_s, checked,
 *            mismatches, max_diff, encode_s, decode_s, power_model, energy_interval_s,
 *            energy_j, energy_per_inference_j, power_w, sim_energy_per_inference_j,
 *            sim_power_w, max_abs_diff, top1_agreement)
 *       the analytic bottleneck (plan_cost), the simulated throughput of the same plan and
 *       workload without faults (computed by the caller), and the emulated throughput side by
 *       side; emu_vs_sim = emu / sim - 1; real compute: the answers checked against the
 *       whole model, those that differed, and the largest difference relative to the
 *       output's largest magnitude; the codec's effect: the largest absolute difference of an
 *       output from the whole model's and the fraction of answers with the reference's top-1
 *       class (with a lossy codec a mismatch is a different top-1 class)
 */
#ifndef EDGEPIPE_EMU_DB_H
#define EDGEPIPE_EMU_DB_H

#include <stdint.h>

#include "timeline.h"
#include "emu_session.h"
#include "ep_error.h"

#define EMU_DB_SCHEMA_VERSION 6

/* What the caller knows about the run (strings may be NULL). */
struct emu_db_run {
	const char *command;   /* the command line */
	const char *model, *cluster, *algo, *variant, *metric;
	int nodes, trial;
	uint64_t seed;
	const char *workload;  /* "closed", "poisson", "constant" */
	int window;
	double rate;
	int64_t requests, warmup;
	const char *compute;   /* "model" | "none" | "real" */
	const char *compress;  /* the codec's canonical spec (emu_codec.h): "none", "zstd:3", ... */
	int threads;           /* real compute: the executor's threads per stage; -1 otherwise */
	double heartbeat_period_s, heartbeat_timeout_s, retry_timeout_s;
	const struct timeline_fault *faults; /* the timeline (its specs go into emu_faults) */
	int n_faults;
	const char *update_spec;
	/* side by side */
	int stages;
	double analytic_bottleneck_s, analytic_throughput;
	double sim_throughput, sim_latency_mean_s; /* NAN: not simulated */
	double sim_energy_per_inference_j, sim_power_w; /* modelled; NAN: none */
	/* --scenario: the file's path as given and its whole text (emu_scenarios); NULL: none */
	const char *scenario_path, *scenario_text;
};

/*
 * Append the run to the database at `path` (created with the schema if new). Errors: EP_EIO
 * (cannot open or write; names the file and SQLite's message), EP_EINVAL (a database of
 * another schema version).
 */
int emu_db_write(const char *path, const struct emu_db_run *run, const struct emu_report *rep,
		 struct ep_error *err);

/*
 * The record writer behind emu_db_write, shared by the records kept beside the emulator's in
 * one file (the simulator's sim_* tables and compare's, experiments/): one transaction, and
 * the first error kept (rc; later calls do nothing).
 *
 * emu_db_open: open `path` (created when missing; a lock is waited for up to 10 s), begin,
 * create the `tables` (SQL), and check the version in `meta_table` (written when new; another
 * is EP_EINVAL "--db PATH: WHOSE schema version V; this edgepipe writes version VERSION").
 * `id` starts every row. Whatever it returns, emu_db_close must follow: it commits when no
 * error was kept (else rolls back), closes, and returns rc.
 *
 * emu_db_row: INSERT INTO `table` the id, then one value per letter of `types`: 's' text (a
 * NULL pointer is NULL), 'd' double (not finite: NULL), 'i' int64_t, 'I' int64_t (negative:
 * NULL), 'n' int, 'N' int (negative: NULL), 'u' uint64_t (stored as SQLite's int64).
 */
struct sqlite3;
struct emu_db_writer {
	struct sqlite3 *h;
	const char *path, *id;
	struct ep_error *err;
	int rc;
};
int emu_db_open(struct emu_db_writer *w, const char *path, const char *id, const char *tables,
		const char *meta_table, const char *whose, int version, struct ep_error *err);
int emu_db_exec(struct emu_db_writer *w, const char *sql, const char *what);
int emu_db_row(struct emu_db_writer *w, const char *table, const char *types, ...);
int emu_db_close(struct emu_db_writer *w);

#endif
