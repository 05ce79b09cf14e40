/*
 * edgepipe emu: plan a model with one algorithm, run the plan in the emulator (emu/
 * emu_session.h) through the fault timeline, and print the analytic bottleneck, the simulated
 * throughput of the same plan and workload (sim/, without faults) and the emulated throughput
 * side by side, with the latencies, faults and recoveries. --db records everything in SQLite.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "cli.h"
#include "ep_util.h"
#include "emu_codec.h"
#include "timeline.h"
#include "emu_registry.h"
#include "emu_session.h"
#include "ep_units.h"
#include "model_zoo.h"
#include "sim_pipeline.h"


/* In parts: C99 compilers need only accept string literals of 4095 characters. */
static const char *const emu_usage[] = {
	"usage: edgepipe emu --model NAME|FILE --mem SIZE[,SIZE...] [--nodes N] [options]\n\n"
	"Plan the model with one algorithm and run the plan in the emulator: a network namespace\n"
	"per node and one for the dispatcher, every ordered pair's bandwidth shaped with HTB, a\n"
	"stage process per plan stage in its node's namespace and cgroup, real TCP between them.\n"
	"Faults are injected on a timeline; dead or cut-off stages are detected by heartbeats, the\n"
	"plan is re-planned on the surviving nodes and redeployed, and unanswered requests are sent\n"
	"again, so every request is answered exactly once. Prints the analytic bottleneck, the\n"
	"simulated throughput of the same plan and workload (no faults) and the emulated one side\n"
	"by side. Needs root. Everything the run creates is removed at its end, on SIGINT and\n"
	"SIGTERM; after a SIGKILL, 'edgepipe clean' removes it.\n\n"
	CLI_INSTANCE_USAGE
	"algorithm (the plan, and every re-plan after a failure or an update):\n",
	cli_usage_algorithms,
	CLI_METRIC_USAGE,
	CLI_CODEC_DEVICE_USAGE,
	CLI_RUN_WORKLOAD_USAGE
	"                             (emu: --requests 200 by default)\n"
	"stages:\n"
	"  --compute model|real|none  model: each stage busy-works FLOPs / node speed (default;\n"
	"                             with --speed, the node's cgroup gets CPU share = speed / host\n"
	"                             speed); real: each stage holds its layers' weights (an ONNX\n"
	"                             file's initializers, a model file's weights file, else seeded)\n"
	"                             inside its node's memory cap and runs them on the real tensor\n"
	"                             (XNNPACK); the dispatcher checks every answer against the\n"
	"                             whole model's output; a node gets its --speed-factor of one\n"
	"                             core; none: stages forward at once\n"
	"  --compute flops|profile:FILE  with real compute, what the planner counts as a stage's\n"
	"                             compute time: FLOPs / --speed (default), or its layers'\n"
	"                             measured times in FILE ('edgepipe profile') / the node's\n"
	"                             --speed-factor (give both --compute options)\n"
	"  --speed-factor F[,F...]    real compute: each node's CPU share of one core, one for\n"
	"                             every node or one per node (default 1: no cap); with a\n"
	"                             profile also the planner's node speed\n"
	"  --threads T                real compute: executor threads per stage (default 1)\n"
	"  --save-tensors FILE        real compute: write each input image (H, W, C) and the whole\n"
	"                             model's output for it, raw float32, image after image\n"
	"  --compress CODEC           code tensors on the wire, every sender encoding and every\n"
	"                             receiver decoding (default none): none, lz4, zstd[:LEVEL],\n"
	"                             zfp (reversible), zfp+lz4, and the lossy zfp:precision=P,\n"
	"                             zfp:accuracy=TOL\n",
	CLI_RUN_TIMELINE_USAGE
	"                             (emu: one update; when --model is a file, a change of\n"
	"                             that file is rolled out too; heartbeats every 100ms, timeout\n"
	"                             500ms; a request unanswered after the retry timeout is resent,\n"
	"                             the timeout doubling; default: ten times the expected\n"
	"                             latency, at least 30s)\n"
	"  --deploy-timeout D         a deployment not connected within D is given up (default 10s);\n"
	"                             at the start, heartbeats get 10 s more after bring-up\n"
	"  --give-up D                end the run when no plan exists for D (default 10s)\n"
	CLI_RUN_OUTPUT_USAGE
	"                             (emu: --series also prints every event)\n"
	"  --probes N                 start-up probes measuring the path latency (default 5)\n"
	"  --progress                 one line per step and incident on stderr (default when\n"
	"                             stderr is a terminal)\n"
	"  --state-dir DIR            run registries (default " EMU_STATE_DIR_DEFAULT ")\n",
	CLI_SCENARIO_USAGE,
	NULL,
};

static void print_usage(FILE *f)
{
	cli_usage_write(f, emu_usage, "NAME", "seifer");
}

struct emu_cmd {
	struct cli_instance_opts o;
	struct emu_config cfg;
	struct cli_run_opts r;
	bool progress;
	bool compute_model;        /* busy work, or (with cfg.real) the cost model's compute */
	const char *state_dir;
	char command[2048];
	char codec[64];            /* --compress, canonical */
	const struct cli_emu_plan *given; /* dispatch --plan FILE; NULL: plan */
};

static const char *codec_name(const struct emu_cmd *c)
{
	return c->cfg.codec ? c->cfg.codec : "none";
}

static const char *compute_name(const struct emu_cmd *c)
{
	return c->cfg.real ? "real" : c->compute_model ? "model" : "none";
}

/* ---- parsing ---- */

static bool parse_time(const char *opt, const char *s, double min_s, double *out)
{
	struct ep_error err;

	if (ep_parse_duration(s, out, &err))
		return cli_fail(2, "%s: %s", opt, err.msg) == 0;
	if (!(*out >= min_s) || *out > 1e7)
		return cli_fail(2, "%s '%s': expected a time from %g s to 1e7 s", opt, s, min_s) == 0;
	return true;
}

static void save_command(struct emu_cmd *c, int argc, char **argv)
{
	size_t used = (size_t)snprintf(c->command, sizeof(c->command), "edgepipe");

	for (int i = 0; i < argc && used < sizeof(c->command); i++) {
		bool quote = strpbrk(argv[i], " \t\"'") != NULL;

		used += (size_t)snprintf(c->command + used, sizeof(c->command) - used,
					 quote ? " '%s'" : " %s", argv[i]);
	}
}

/* ---- output ---- */

static const char *num(double v, const char *fmt, char *buf, size_t size)
{
	if (!isfinite(v))
		return "-";
	snprintf(buf, size, fmt, v);
	return buf;
}

static const char *opt_time(double v, char *buf, size_t size)
{
	return v < 0 ? "-" : num(v, "%.3f", buf, size);
}

static const char *node_name(int node, int n, char *buf, size_t size)
{
	if (node < 0)
		return "-";
	if (node == n)
		return "D";
	snprintf(buf, size, "%d", node);
	return buf;
}

static const char *cg_name(int v)
{
	return v == 2 ? "cgroup v2" : v == 1 ? "cgroup v1" : "none";
}

/* Modelled energy (--device): per active node and in total, beside the simulator's. */
static void print_energy(const struct emu_cmd *c, const struct trial_sim_ref *sim,
			 const struct emu_report *r)
{
	const struct power_model *pm = &c->o.power;
	char x[32], y[32], z[32];

	if (!c->o.have_power)
		return;
	if (!r->energy) {
		printf("\nMODELLED energy: not available (no cgroup CPU accounting on this host, or "
		       "no measured interval)\n");
		return;
	}
	printf("\nMODELLED energy (device %s: %.4g W idle, %.4g W busy, %.4g nJ/bit sent, %.4g "
	       "nJ/bit received; nothing is measured: u from each node's cgroup CPU time / its "
	       "share), over %.6g s:\n", pm->name, pm->idle_w, pm->max_w, pm->tx_j_per_bit * 1e9,
	       pm->rx_j_per_bit * 1e9, r->energy_interval_s);
	printf("%-6s %10s %8s %12s %8s %14s %14s %16s %10s\n", "node", "cpu_s", "share",
	       "busy_s", "u", "Mbit_sent", "Mbit_received", "J_per_inference", "mean_W");
	for (int i = 0; i < r->n_energy; i++) {
		const struct emu_node_energy *e = &r->energy[i];

		if (e->active)
			printf("%-6d %10.4f %8.3f %12.4f %8.3f %14.6g %14.6g %16s %10s\n", i,
			       e->cpu_s, e->share, e->busy_s, e->utilisation, e->bits_sent / 1e6,
			       e->bits_received / 1e6,
			       num(e->energy_per_inference_j, "%.6g", x, sizeof(x)),
			       num(e->power_w, "%.4g", y, sizeof(y)));
	}
	printf("total over the active nodes: %s J per inference, %s W; simulated: %s J per "
	       "inference\n", num(r->energy_per_inference_j, "%.6g", x, sizeof(x)),
	       num(r->power_w, "%.4g", y, sizeof(y)),
	       num(sim->energy_per_inference_j, "%.6g", z, sizeof(z)));
}

static void print_text(const struct emu_cmd *c, const struct instance *inst,
		       const struct algo *a, const struct algo_result *res,
		       const struct trial_sim_ref *sim, const struct timeline_fault *faults,
		       const struct emu_report *r)
{
	int n = inst->cluster->n;
	char mem[32], x[32], y[32], z[32], w[32];

	printf("%s on %d nodes (%s cluster, seed %" PRIu64 ", trial %d), %s%s per node; %s "
	       "variant, %s accounting, %s metric\n",
	       inst->profile->model, n, cluster_kind_name(c->o.spec.cluster.kind), c->o.spec.seed,
	       c->o.spec.trial, ep_format_bytes(inst->cluster->mem_bytes[0], mem, sizeof(mem)),
	       c->o.spec.cluster.mem_list ? " (and others)" : "",
	       algo_variant_name(c->o.algo.variant),
	       model_accounting_name(c->o.spec.profile.accounting),
	       c->o.spec.problem.count_compute || c->o.spec.problem.count_dispatcher ? "full"
										     : "published");
	if (c->cfg.remote) {
		/* edgepipe dispatch: nothing emulated; node i is the i-th host. */
		printf("run %s on real hosts:", r->run_id);
		for (int i = 0; i < c->cfg.remote->n; i++)
			printf(" node%d=%s(%s:%u)", i, c->cfg.remote->hosts[i].name,
			       c->cfg.remote->hosts[i].host, c->cfg.remote->hosts[i].port);
		printf("; dispatcher %.3g GFLOP/s per core (busy loop)\n", r->host_flops / 1e9);
	} else {
		printf("run %s: bandwidth %s, latency %s, loss %s, link down %s; cpu %s, memory %s; "
		       "host %.3g GFLOP/s per core (busy loop)\n", r->run_id,
		       emu_mech_name(r->mech[EMU_PROP_BANDWIDTH]),
		       emu_mech_name(r->mech[EMU_PROP_LATENCY]),
		       emu_mech_name(r->mech[EMU_PROP_LOSS]), emu_mech_name(r->mech[EMU_PROP_DOWN]),
		       cg_name(r->cgroup_cpu_version), cg_name(r->cgroup_memory_version),
		       r->host_flops / 1e9);
	}
	if (r->missing[0]) {
		const char *p = r->missing;

		while (*p) {
			const char *nl = strchr(p, '\n');
			int len = nl ? (int)(nl - p) : (int)strlen(p);

			printf("  %.*s\n", len, p);
			p += len + (nl != NULL);
		}
	}
	printf("plan (%s, %d stages, cuts..cuts@node): ", a->name, res->plan.n_stages);
	for (int s = 0; s < res->plan.n_stages; s++)
		printf("%s%d..%d@%d", s ? " " : "", res->plan.stages[s].first_cut,
		       res->plan.stages[s].end_cut, res->plan.stages[s].node);
	if (c->cfg.arrival == EMU_CLOSED)
		printf("\nworkload: closed loop, window %d", c->cfg.window);
	else
		printf("\nworkload: %s arrivals at %g /s", emu_arrival_name(c->cfg.arrival),
		       c->cfg.rate);
	printf(", %" PRId64 " requests, warm-up %" PRId64 " answers; compute %s; compress %s; "
	       "heartbeats %g ms, timeout %g ms\n", c->cfg.requests, c->cfg.warmup_requests,
	       compute_name(c), codec_name(c),
	       c->cfg.heartbeat_period_s * 1e3, c->cfg.heartbeat_timeout_s * 1e3);

	printf("\n%-22s %12s %12s %12s\n", "", "analytic", "simulated", "emulated");
	printf("%-22s %12.6g %12s %12s", "throughput (/s)", res->cost.throughput,
	       num(sim->throughput, "%.6g", x, sizeof(x)), num(r->throughput, "%.6g", y, sizeof(y)));
	if (isfinite(sim->throughput) && isfinite(r->throughput))
		printf("   emulated %+.1f %% vs simulated", 100 * (r->throughput / sim->throughput - 1));
	printf("\n%-22s %12.6f\n", "bottleneck (ms)", res->cost.bottleneck_s * 1e3);
	printf("%-22s %12s %12s %12s\n", "latency mean (ms)", "",
	       num(sim->latency_mean_s * 1e3, "%.6g", x, sizeof(x)),
	       num(r->latency_mean_s * 1e3, "%.6g", y, sizeof(y)));
	printf("%-22s %12s %12s %12s\n", "latency p50 (ms)", "", "",
	       num(r->latency_p50_s * 1e3, "%.6g", x, sizeof(x)));
	printf("%-22s %12s %12s %12s\n", "latency p95 (ms)", "", "",
	       num(r->latency_p95_s * 1e3, "%.6g", x, sizeof(x)));
	printf("%-22s %12s %12s %12s\n", "latency p99 (ms)", "", "",
	       num(r->latency_p99_s * 1e3, "%.6g", x, sizeof(x)));
	printf("%-22s %12s %12s %12s\n", "latency max (ms)", "", "",
	       num(r->latency_max_s * 1e3, "%.6g", x, sizeof(x)));
	if (r->probes > 0)
		printf("path latency: configured %.3f ms, added %s ms (median of %d probe round "
		       "trips with the %s latency, %s ms, minus %d without, %s ms)\n",
		       r->path_latency_configured_s * 1e3,
		       num(r->path_latency_measured_s * 1e3, "%.3f", x, sizeof(x)), r->probes,
		       emu_mech_name(r->mech[EMU_PROP_LATENCY]),
		       num(r->probe_rtt_hold_s * 1e3, "%.3f", y, sizeof(y)), r->probes,
		       num(r->probe_rtt_nohold_s * 1e3, "%.3f", z, sizeof(z)));
	if (r->path_latency_clamped)
		printf("  (the difference was %.3f ms: below the probes' jitter, and a hold never "
		       "shortens a path, so it is shown as 0)\n", r->path_latency_raw_s * 1e3);
	printf("\nrequests: %" PRId64 " issued, %" PRId64 " answered (each once), %" PRId64
	       " never answered; %" PRId64 " sent again (%" PRId64 " resends), %" PRId64
	       " duplicate answers discarded; measured %" PRId64 " from %.3f s to %.3f s\n",
	       r->issued, r->answered, r->incomplete, r->requests_resent, r->resends,
	       r->duplicates, r->measured, r->warmup_end_s, r->end_s);
	if (c->cfg.real)
		printf("answers checked against the whole model's output: %" PRId64 ", mismatches "
		       "%" PRId64 " (largest difference %.3g of the output's magnitude, tolerance "
		       "%g)\n", r->checked, r->mismatches, r->max_diff, EMU_REAL_TOLERANCE);
	if (c->cfg.real && r->checked > 0)
		printf("the codec's effect (%s%s): largest absolute output difference %.6g, top-1 "
		       "class as the whole model's in %" PRId64 " of %" PRId64 " answers (%.1f %%)\n",
		       r->codec, r->codec_lossy ? ", lossy: a mismatch is another top-1 "
		       "class" : "", r->max_abs_diff, r->top1_agree, r->checked,
		       100.0 * (double)r->top1_agree / (double)r->checked);
	printf("tensor bytes on the links: %s before coding, %s on the wire (codec %s, ratio "
	       "%.3f); coding %.3f s, decoding %.3f s in all\n",
	       ep_format_bytes(r->raw_bytes, x, sizeof(x)),
	       ep_format_bytes(r->wire_bytes, y, sizeof(y)), r->codec,
	       r->wire_bytes > 0 ? r->raw_bytes / r->wire_bytes : 1.0, r->encode_s, r->decode_s);
	print_energy(c, sim, r);
	if (r->interrupted)
		printf("INTERRUPTED: the run was stopped and everything it created removed\n");
	if (r->gave_up)
		printf("GAVE UP: no plan on the surviving nodes\n");

	printf("\n%-4s %-16s %-9s %9s %9s %9s %12s  %s\n", "dep", "model", "state", "started",
	       "live", "ended", "bottleneck", "plan (cuts..cuts@node)");
	for (int i = 0; i < r->n_deploys; i++) {
		const struct emu_deploy_record *d = &r->deploys[i];

		printf("%-4d %-16s %-9s %9.3f %9s %9s %9.3f ms  %s%s%s\n", d->id, d->model, d->state,
		       d->started_s, num(d->live_s, "%.3f", x, sizeof(x)),
		       num(d->ended_s, "%.3f", y, sizeof(y)), d->bottleneck_s * 1e3, d->plan,
		       d->reason[0] ? "  -- " : "", d->reason);
	}
	printf("\n%-4s %-5s %-4s %-7s %9s %9s %10s %10s %10s %8s %8s\n", "dep", "stage", "node",
	       "cuts", "frames_in", "frames_out", "compute_s", "MiB_out", "MiB_wire", "cpu",
	       "hold_ms");
	for (int i = 0; i < r->n_stages; i++) {
		const struct emu_stage_record *s = &r->stages[i];
		char cuts[24];

		snprintf(cuts, sizeof(cuts), "%d..%d", s->first_cut, s->end_cut);
		printf("%-4d %-5d %-4d %-7s %9" PRId64 " %9" PRId64 " %10.3f %10.2f %10.2f %8s %8.3f\n",
		       s->deployment, s->stage, s->node, cuts, s->c.frames_in, s->c.frames_out,
		       s->c.compute_s, s->c.bytes_out_raw / 1048576, s->c.bytes_out_wire / 1048576,
		       s->cpu_share > 0 ? num(s->cpu_share, "%.3f", w, sizeof(w)) : "-",
		       s->hold_s * 1e3);
	}
	printf("\n%-4s %-4s %-10s %8s %12s %12s %10s %10s\n", "dep", "hop", "link", "frames",
	       "MiB_raw", "MiB_wire", "encode_ms", "decode_ms");
	for (int i = 0; i < r->n_links; i++) {
		const struct emu_link_record *l = &r->links[i];
		char name[72];

		snprintf(name, sizeof(name), "%s->%s", node_name(l->from, n, x, sizeof(x)),
			 node_name(l->to, n, y, sizeof(y)));
		printf("%-4d %-4d %-10s %8" PRId64 " %12.3f %12.3f %10.3f %10.3f\n", l->deployment,
		       l->hop, name, l->frames, l->raw_bytes / 1048576, l->wire_bytes / 1048576,
		       l->encode_s * 1e3, l->decode_s * 1e3);
	}
	if (r->n_faults > 0) {
		printf("\nfaults and recoveries (seconds from the first request; applied = when the "
		       "action took effect, + its delay after the scheduled time):\n");
		for (int i = 0; i < r->n_faults; i++) {
			const struct timeline_fault_record *f = &r->faults[i];

			printf("  '%s': applied %s", faults[f->fault].text,
			       opt_time(f->at_s, x, sizeof(x)));
			if (f->at_s >= 0)
				printf(" (+%.1f ms)", (f->at_s - f->scheduled_s) * 1e3);
			if (f->end_s >= 0)
				printf(", undone %s (+%.1f ms)", opt_time(f->end_s, y, sizeof(y)),
				       (f->end_s - f->end_scheduled_s) * 1e3);
			if (f->detected_s >= 0)
				printf("; detected %s (+%.3f s)", opt_time(f->detected_s, z, sizeof(z)),
				       f->detection_s);
			if (f->live_s >= 0)
				printf("; redeployed, live %s: recovery %.3f s; %" PRId64
				       " request(s) sent again",
				       opt_time(f->live_s, w, sizeof(w)), f->recovery_s, f->resent);
			if (f->note[0])
				printf(" [%s]", f->note);
			printf("\n");
		}
	}
	if (r->n_updates > 0) {
		printf("\nupdates:\n");
		for (int i = 0; i < r->n_updates; i++) {
			const struct emu_update_record *u = &r->updates[i];

			printf("  to %s at %.3f s: live %s (roll-out %s s), old deployment drained "
			       "%s\n", u->model, u->at_s, opt_time(u->live_s, x, sizeof(x)),
			       opt_time(u->rollout_s, y, sizeof(y)),
			       opt_time(u->drained_s, z, sizeof(z)));
		}
	}
	if (c->r.series) {
		printf("\nthroughput series (/s, bins of %g s):", r->bin_s);
		for (int i = 0; i < r->n_bins; i++)
			printf("%s%.6g", i % 10 ? " " : "\n  ", (double)r->series[i] / r->bin_s);
		printf("\n\nevents:\n");
		for (int i = 0; i < r->n_events; i++)
			printf("  %9.3f s  %-9s %s\n", r->events[i].t_s, r->events[i].kind,
			       r->events[i].text);
	}
	printf("\nset-up %.3f s, teardown %.3f s\n", r->setup_s, r->teardown_s);
}

static void json_num(double v)
{
	if (isfinite(v))
		printf("%.17g", v);
	else
		printf("null");
}

static void json_time(double v)
{
	json_num(v < 0 ? NAN : v);
}

static void print_json(const struct emu_cmd *c, const struct instance *inst,
		       const struct algo *a, const struct algo_result *res,
		       const struct trial_sim_ref *sim, const struct timeline_fault *faults,
		       const struct emu_report *r)
{
	printf("{\"run_id\": \"%s\", \"model\": ", r->run_id);
	ep_json_string(stdout, inst->profile->model);
	printf(", \"algo\": \"%s\", \"variant\": \"%s\", \"nodes\": %d, \"seed\": %" PRIu64
	       ", \"trial\": %d,\n", a->name, algo_variant_name(c->o.algo.variant),
	       inst->cluster->n, c->o.spec.seed, c->o.spec.trial);
	printf(" \"workload\": \"%s\", \"window\": %d, \"rate\": ",
	       emu_arrival_name(c->cfg.arrival), c->cfg.window);
	json_num(c->cfg.arrival == EMU_CLOSED ? NAN : c->cfg.rate);
	printf(", \"requests\": %" PRId64 ", \"warmup\": %" PRId64 ", \"compute\": \"%s\", "
	       "\"compress\": \"%s\",\n", c->cfg.requests, c->cfg.warmup_requests,
	       compute_name(c), codec_name(c));
	printf(" \"mechanisms\": {\"bandwidth\": \"%s\", \"latency\": \"%s\", \"loss\": \"%s\", "
	       "\"link_down\": \"%s\", \"cgroup_cpu\": %d, \"cgroup_memory\": %d},\n",
	       emu_mech_name(r->mech[EMU_PROP_BANDWIDTH]), emu_mech_name(r->mech[EMU_PROP_LATENCY]),
	       emu_mech_name(r->mech[EMU_PROP_LOSS]), emu_mech_name(r->mech[EMU_PROP_DOWN]),
	       r->cgroup_cpu_version, r->cgroup_memory_version);
	printf(" \"host_flops\": ");
	json_num(r->host_flops);
	printf(", \"plan\": [");
	for (int s = 0; s < res->plan.n_stages; s++)
		printf("%s{\"node\": %d, \"first_cut\": %d, \"end_cut\": %d}", s ? ", " : "",
		       res->plan.stages[s].node, res->plan.stages[s].first_cut,
		       res->plan.stages[s].end_cut);
	printf("],\n \"analytic_bottleneck_s\": ");
	json_num(res->cost.bottleneck_s);
	printf(", \"analytic_throughput\": ");
	json_num(res->cost.throughput);
	printf(", \"sim_throughput\": ");
	json_num(sim->throughput);
	printf(", \"throughput\": ");
	json_num(r->throughput);
	printf(",\n \"sim_latency_mean_s\": ");
	json_num(sim->latency_mean_s);
	printf(", \"latency_mean_s\": ");
	json_num(r->latency_mean_s);
	printf(", \"latency_p50_s\": ");
	json_num(r->latency_p50_s);
	printf(", \"latency_p95_s\": ");
	json_num(r->latency_p95_s);
	printf(", \"latency_p99_s\": ");
	json_num(r->latency_p99_s);
	printf(", \"latency_max_s\": ");
	json_num(r->latency_max_s);
	printf(",\n \"path_latency_configured_s\": ");
	json_num(r->path_latency_configured_s);
	printf(", \"path_latency_measured_s\": ");
	json_num(r->path_latency_measured_s);
	printf(",\n \"issued\": %" PRId64 ", \"answered\": %" PRId64 ", \"incomplete\": %" PRId64
	       ", \"duplicates\": %" PRId64 ", \"resends\": %" PRId64 ", \"requests_resent\": %"
	       PRId64 ", \"measured\": %" PRId64 ", \"warmup_end_s\": %.17g, \"end_s\": %.17g,\n",
	       r->issued, r->answered, r->incomplete, r->duplicates, r->resends,
	       r->requests_resent, r->measured, r->warmup_end_s, r->end_s);
	printf(" \"threads\": %d, \"checked\": %" PRId64 ", \"mismatches\": %" PRId64
	       ", \"max_diff\": ", c->cfg.real ? c->cfg.threads : 0, r->checked, r->mismatches);
	json_num(r->checked > 0 ? r->max_diff : NAN);
	printf(", \"max_abs_diff\": ");
	json_num(r->checked > 0 ? r->max_abs_diff : NAN);
	printf(", \"top1_agreement\": ");
	json_num(r->checked > 0 ? (double)r->top1_agree / (double)r->checked : NAN);
	printf(",\n");
	printf(" \"raw_bytes\": %.17g, \"wire_bytes\": %.17g, \"encode_s\": %.17g, \"decode_s\": "
	       "%.17g, \"interrupted\": %s, \"gave_up\": %s,\n", r->raw_bytes, r->wire_bytes,
	       r->encode_s, r->decode_s, r->interrupted ? "true" : "false",
	       r->gave_up ? "true" : "false");
	printf(" \"power_model\": ");
	ep_json_string(stdout, r->power_model);
	printf(", \"energy_interval_s\": ");
	json_num(r->energy_interval_s);
	printf(", \"energy_j\": ");
	json_num(r->energy_j);
	printf(", \"energy_per_inference_j\": ");
	json_num(r->energy_per_inference_j);
	printf(", \"power_w\": ");
	json_num(r->power_w);
	printf(", \"sim_energy_per_inference_j\": ");
	json_num(sim->energy_per_inference_j);
	printf(", \"sim_power_w\": ");
	json_num(sim->power_w);
	printf(",\n \"energy\": [");
	for (int i = 0; i < r->n_energy; i++) {
		const struct emu_node_energy *e = &r->energy[i];

		printf("%s{\"node\": %d, \"active\": %s, \"cpu_s\": ", i ? ", " : "", e->node,
		       e->active ? "true" : "false");
		json_num(e->cpu_s);
		printf(", \"share\": %.17g, \"busy_s\": ", e->share);
		json_num(e->busy_s);
		printf(", \"bits_sent\": %.17g, \"bits_received\": %.17g, \"energy_j\": ",
		       e->bits_sent, e->bits_received);
		json_num(e->energy_j);
		printf(", \"energy_per_inference_j\": ");
		json_num(e->energy_per_inference_j);
		printf(", \"power_w\": ");
		json_num(e->power_w);
		printf("}");
	}
	printf("],\n");
	printf(" \"links\": [");
	for (int i = 0; i < r->n_links; i++) {
		const struct emu_link_record *l = &r->links[i];

		printf("%s{\"deployment\": %d, \"hop\": %d, \"from\": %d, \"to\": %d, \"frames\": "
		       "%" PRId64 ", \"raw_bytes\": %.17g, \"wire_bytes\": %.17g, \"encode_s\": "
		       "%.17g, \"decode_s\": %.17g}", i ? ", " : "", l->deployment, l->hop, l->from,
		       l->to, l->frames, l->raw_bytes, l->wire_bytes, l->encode_s, l->decode_s);
	}
	printf("],\n");
	printf(" \"deployments\": [");
	for (int i = 0; i < r->n_deploys; i++) {
		const struct emu_deploy_record *d = &r->deploys[i];

		printf("%s{\"id\": %d, \"model\": ", i ? ", " : "", d->id);
		ep_json_string(stdout, d->model);
		printf(", \"plan\": ");
		ep_json_string(stdout, d->plan);
		printf(", \"state\": \"%s\", \"bottleneck_s\": %.17g, \"live_s\": ", d->state,
		       d->bottleneck_s);
		json_num(d->live_s);
		printf(", \"reason\": ");
		ep_json_string(stdout, d->reason);
		printf("}");
	}
	printf("],\n \"faults\": [");
	for (int i = 0; i < r->n_faults; i++) {
		const struct timeline_fault_record *f = &r->faults[i];

		printf("%s{\"spec\": ", i ? ", " : "");
		ep_json_string(stdout, faults[f->fault].text);
		printf(", \"node\": %d, \"peer\": %d, \"scheduled_s\": ", f->node, f->peer);
		json_time(f->scheduled_s);
		printf(", \"at_s\": ");
		json_time(f->at_s);
		printf(", \"end_scheduled_s\": ");
		json_time(f->end_scheduled_s);
		printf(", \"end_s\": ");
		json_time(f->end_s);
		printf(", \"detected_s\": ");
		json_time(f->detected_s);
		printf(", \"live_s\": ");
		json_time(f->live_s);
		printf(", \"detection_s\": ");
		json_time(f->detection_s);
		printf(", \"recovery_s\": ");
		json_time(f->recovery_s);
		printf(", \"resent\": %" PRId64 ", \"note\": ", f->resent);
		ep_json_string(stdout, f->note);
		printf("}");
	}
	printf("],\n \"updates\": [");
	for (int i = 0; i < r->n_updates; i++) {
		const struct emu_update_record *u = &r->updates[i];

		printf("%s{\"model\": ", i ? ", " : "");
		ep_json_string(stdout, u->model);
		printf(", \"at_s\": %.17g, \"live_s\": ", u->at_s);
		json_time(u->live_s);
		printf(", \"drained_s\": ");
		json_time(u->drained_s);
		printf(", \"rollout_s\": ");
		json_time(u->rollout_s);
		printf("}");
	}
	printf("],\n \"bin_s\": %.17g, \"series\": [", r->bin_s);
	for (int i = 0; i < r->n_bins; i++)
		printf("%s%" PRId64, i ? ", " : "", r->series[i]);
	printf("]}\n");
}

static void print_csv(const struct emu_cmd *c, const struct instance *inst,
		      const struct algo *a, const struct algo_result *res,
		      const struct trial_sim_ref *sim, const struct emu_report *r)
{
	double recovery = NAN;

	for (int i = 0; i < r->n_faults; i++)
		if (r->faults[i].recovery_s >= 0) {
			recovery = r->faults[i].recovery_s;
			break;
		}
	printf("run_id,model,algo,variant,nodes,seed,trial,workload,window,rate,requests,warmup,"
	       "compute,compress,stages,analytic_bottleneck_s,analytic_throughput,sim_throughput,"
	       "throughput,latency_mean_s,latency_p50_s,latency_p95_s,latency_p99_s,latency_max_s,"
	       "issued,answered,incomplete,duplicates,requests_resent,path_latency_configured_s,"
	       "path_latency_measured_s,first_recovery_s,raw_bytes,wire_bytes,encode_s,decode_s,"
	       "power_model,energy_per_inference_j,power_w,sim_energy_per_inference_j,"
	       "max_abs_diff,top1_agreement\n");
	printf("%s,", r->run_id);
	cli_csv_field(stdout, inst->profile->model);
	printf(",%s,%s,%d,%" PRIu64 ",%d,%s,%d,%.17g,%" PRId64 ",%" PRId64 ",%s,%s,%d,%.17g,%.17g,"
	       "%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%" PRId64 ",%" PRId64 ",%" PRId64
	       ",%" PRId64 ",%" PRId64 ",%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%s,%.17g,%.17g,"
	       "%.17g,%.17g,%.17g\n", a->name,
	       algo_variant_name(c->o.algo.variant), inst->cluster->n, c->o.spec.seed,
	       c->o.spec.trial, emu_arrival_name(c->cfg.arrival), c->cfg.window,
	       c->cfg.arrival == EMU_CLOSED ? 0 : c->cfg.rate, c->cfg.requests,
	       c->cfg.warmup_requests, compute_name(c),
	       codec_name(c), res->plan.n_stages, res->cost.bottleneck_s,
	       res->cost.throughput, sim->throughput, r->throughput, r->latency_mean_s,
	       r->latency_p50_s, r->latency_p95_s, r->latency_p99_s, r->latency_max_s, r->issued,
	       r->answered, r->incomplete, r->duplicates, r->requests_resent,
	       r->path_latency_configured_s, r->path_latency_measured_s, recovery, r->raw_bytes,
	       r->wire_bytes, r->encode_s, r->decode_s, r->power_model, r->energy_per_inference_j,
	       r->power_w, sim->energy_per_inference_j, r->checked > 0 ? r->max_abs_diff : NAN,
	       r->checked > 0 ? (double)r->top1_agree / (double)r->checked : NAN);
}

/* ---- signals: SIGINT and SIGTERM make the stop pipe readable ---- */

static int stop_pipe[2] = { -1, -1 };
static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	int e = errno;
	char b = 1;

	stop_signal = sig;
	if (write(stop_pipe[1], &b, 1) < 0) {
		/* full already: the run stops anyway */
	}
	errno = e;
}

static bool install_stop(void)
{
	struct sigaction sa;

	if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		return false;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	return true;
}

/* ---- the run ---- */

/* The plan, or the message saying why none (with what memory would do). */
static int plan_emu(const struct emu_cmd *c, const struct trial_setup *t,
		    struct algo_result *res)
{
	struct ep_error err;
	char remedy[512];

	if (c->given) {
		/* A given plan (dispatch --plan): run it as it is, if it is one for this instance. */
		if (plan_check(&t->inst->problem, c->given->plan, &res->defects, &err))
			return cli_fail(2, "--plan '%s': %s", c->given->path, err.msg);
		if (plan_copy(&res->plan, c->given->plan))
			return cli_fail(1, "out of memory");
		plan_cost(&t->inst->problem, &res->plan, &res->cost, NULL, NULL);
		res->status = EP_OK;
		return 0;
	}
	if (trial_plan(t, res, &err))
		return cli_fail(1, "%s", err.msg);
	if (res->status == EP_OK)
		return 0;
	trial_memory_remedy(&t->inst->problem, remedy, sizeof(remedy));
	return cli_fail(1, "%s found no plan to emulate (%s): %s%s%s", t->algo->name,
			ep_strerror(res->status), res->reason, remedy[0] ? "\n  remedy: " : "",
			remedy);
}

/* Record, print, and the exit status of a finished run. */
static int report_emu(struct emu_cmd *c, const struct instance *inst, const struct algo *a,
		      const struct algo_result *res, const struct timeline_fault *faults,
		      const struct trial_emu *e)
{
	const struct emu_report *r = trial_emu_report(e);
	struct ep_error err;
	int rc;

	if (r->interrupted) {
		fprintf(stderr, "edgepipe: emu: interrupted by %s: every namespace, link and "
			"cgroup of run %s removed\n", stop_signal == SIGTERM ? "SIGTERM" : "SIGINT",
			r->run_id);
		return 128 + (stop_signal ? stop_signal : SIGINT);
	}
	if (c->r.db_path && trial_emu_db_write(e, c->r.db_path, &err))
		return cli_fail(1, "%s", err.msg);
	c->cfg = *trial_emu_config(e);
	if (c->r.fmt == CLI_TEXT)
		print_text(c, inst, a, res, trial_emu_reference(e), faults, r);
	else if (c->r.fmt == CLI_JSON)
		print_json(c, inst, a, res, trial_emu_reference(e), faults, r);
	else
		print_csv(c, inst, a, res, trial_emu_reference(e), r);
	rc = r->incomplete > 0 || r->gave_up || r->mismatches > 0 ? 1 : 0;
	if (r->incomplete > 0 || r->gave_up)
		cli_fail(1, "emu: %" PRId64 " request(s) never answered", r->incomplete);
	if (r->mismatches > 0)
		cli_fail(1, "emu: %" PRId64 " answer(s) differ from the whole model's output",
			 r->mismatches);
	return rc;
}

static int run_emu(struct emu_cmd *c)
{
	const struct algo *a = cli_algo_find(c->o.algo_name, false);
	struct instance *inst = NULL;
	struct trial_emu *e = NULL;
	struct timeline_fault *faults = NULL;
	struct trial_emu_options eo;
	struct trial_workload w;
	struct trial_setup t;
	struct algo_result res;
	struct ep_error err;
	int n_faults = 0, rc;

	algo_result_init(&res);
	if (!a) {
		rc = 2; /* cli_algo_find said why */
		goto out;
	}
	rc = instance_create(&c->o.spec, &inst, &err);
	if (rc) {
		rc = cli_fail(cli_exit_code(rc), "%s", err.msg);
		goto out;
	}
	/* Every fault against this cluster, before anything is created. */
	if ((rc = cli_run_opts_timeline(&c->r, inst->cluster->n, &faults, &n_faults)))
		goto out;
	cli_trial_setup(&c->o, inst, a, &t);
	cli_run_opts_workload(&c->r, faults, n_faults, &w);
	if ((rc = plan_emu(c, &t, &res)))
		goto out;
	if (!install_stop()) {
		rc = cli_fail(1, "pipe: %s", strerror(errno));
		goto out;
	}
	trial_emu_options_init(&eo);
	eo.cfg = c->cfg;
	eo.compute_model = c->compute_model;
	eo.command = c->command;
	eo.cfg.state_dir = c->state_dir;
	eo.cfg.stop_fd = stop_pipe[0];
	eo.cfg.progress = c->progress || isatty(STDERR_FILENO) ? stderr : NULL;
	/* Say what the run will take, and report progress now and then whatever stderr is. */
	eo.cfg.status = stderr;
	rc = trial_emu_run(&t, &res, &w, &eo, &e, &err);
	if (rc)
		rc = cli_fail(cli_exit_code(rc), "%s", err.msg);
	else
		rc = report_emu(c, inst, a, &res, faults, e);
out:
	trial_emu_destroy(e);
	algo_result_release(&res);
	instance_destroy(inst);
	free(faults);
	return rc;
}

int cmd_emu(int argc, char **argv)
{
	return cli_emu_run(argc, argv, NULL, NULL);
}

int cli_emu_run(int argc, char **argv, const struct emu_remote *remote,
		const struct cli_emu_plan *given)
{
	enum {
		O_COMPUTE = CLI_O_RUN_END, O_COMPRESS, O_DEPLOY, O_GIVEUP,
		O_PROBES, O_PROGRESS, O_STATE_DIR, O_THREADS, O_SAVE_TENSORS, O_HELP,
	};
	static const struct option own[] = {
		CLI_INSTANCE_OPTIONS,
		CLI_RUN_OPTIONS,
		{ "compute", required_argument, NULL, O_COMPUTE },
		{ "compress", required_argument, NULL, O_COMPRESS },
		{ "speed-factor", required_argument, NULL, CLI_O_SPEED_FACTOR },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "save-tensors", required_argument, NULL, O_SAVE_TENSORS },
		{ "deploy-timeout", required_argument, NULL, O_DEPLOY },
		{ "give-up", required_argument, NULL, O_GIVEUP },
		{ "probes", required_argument, NULL, O_PROBES },
		{ "progress", no_argument, NULL, O_PROGRESS },
		{ "state-dir", required_argument, NULL, O_STATE_DIR },
		CLI_SCENARIO_OPTION,
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct option *opts = cli_options_with_algos(own);
	struct emu_cmd *c = calloc(1, sizeof(*c));
	long v;
	int opt, rc = 2;

	if (!c || !opts) {
		free(c);
		free(opts);
		return cli_fail(1, "out of memory");
	}
	cli_instance_opts_init(&c->o);
	c->cfg = emu_config_default();
	cli_run_opts_init(&c->r, &(struct cli_run_limits){
		.cmd = "emu", .max_time_s = 1e7, .min_heartbeat_s = 1e-3, .min_bin_s = 0.05,
		.max_window = 1e5, .max_rate = 1e6, .min_requests = 1, .max_requests = 100000000L,
		.requests = 200, .heartbeat_period_s = c->cfg.heartbeat_period_s,
		.heartbeat_timeout_s = c->cfg.heartbeat_timeout_s, .max_updates = 1,
		.duration = false, .db = true });
	c->cfg.remote = remote;
	c->given = given;
	c->compute_model = true;
	save_command(c, argc, argv);
	optind = 1;
	if ((opt = cli_scenario_expand("emu", opts, &argc, &argv)) != 0) {
		rc = opt;
		goto out;
	}
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (cli_instance_opts_parse(&c->o, opt, optarg)) {
		case 1: continue;
		case -1: goto out;
		}
		switch (cli_run_opts_parse(&c->r, opt, optarg)) {
		case 1: continue;
		case -1: goto out;
		}
		switch (opt) {
		case O_COMPUTE:
			if (strcmp(optarg, "model") == 0 || strcmp(optarg, "none") == 0 ||
			    strcmp(optarg, "real") == 0) {
				c->compute_model = optarg[0] != 'n';
				c->cfg.real = optarg[0] == 'r';
			} else if (strcmp(optarg, "flops") == 0 || strncmp(optarg, "profile:", 8) == 0) {
				/* The planner's compute source, beside how the stages compute. */
				if (cli_instance_opts_parse(&c->o, CLI_O_COMPUTE, optarg) != 1)
					goto out;
			} else {
				cli_fail(2, "--compute '%s': expected model, real or none (how the "
					 "stages compute), or flops or profile:FILE (the planner's)",
					 optarg);
				goto out;
			}
			break;
		case O_THREADS:
			if (!cli_parse_int("--threads", optarg, 1, 256, &v))
				goto out;
			c->cfg.threads = (int)v;
			break;
		case O_SAVE_TENSORS: c->cfg.tensors_path = optarg; break;
		case O_COMPRESS:
		{
			struct emu_codec *codec;
			struct ep_error e;

			if (emu_codec_create(optarg, &codec, &e) != EP_OK) {
				cli_fail(2, "--compress: %s", e.msg);
				goto out;
			}
			snprintf(c->codec, sizeof(c->codec), "%s", emu_codec_spec(codec));
			c->cfg.codec = c->codec;
			emu_codec_destroy(codec);
			break;
		}
		case O_DEPLOY:
			if (!parse_time("--deploy-timeout", optarg, 0.01, &c->cfg.deploy_timeout_s))
				goto out;
			break;
		case O_GIVEUP:
			if (!parse_time("--give-up", optarg, 0.01, &c->cfg.giveup_s))
				goto out;
			break;
		case O_PROBES:
			if (!cli_parse_int("--probes", optarg, 0, 1000, &v))
				goto out;
			c->cfg.probes = (int)v;
			break;
		case O_PROGRESS: c->progress = true; break;
		case O_STATE_DIR:
			if (!optarg[0]) {
				cli_fail(2, "--state-dir '': expected a directory");
				goto out;
			}
			c->state_dir = optarg;
			break;
		case O_HELP:
			print_usage(stdout);
			rc = 0;
			goto out;
		default:
			print_usage(stderr);
			goto out;
		}
	}
	if (optind < argc) {
		cli_fail(2, "emu: unexpected argument '%s'", argv[optind]);
		goto out;
	}
	/* With real compute a speed factor is each node's CPU share, with or without a profile. */
	c->o.real_compute = c->cfg.real;
	if (!cli_instance_opts_finish(&c->o, "emu") || !cli_run_opts_finish(&c->r))
		goto out;
	if (c->o.spec.compute_profile && !c->cfg.real) {
		cli_fail(2, "--compute profile:%s: a measured profile plans stages that run for real; "
			 "add --compute real", c->o.spec.compute_profile);
		goto out;
	}
	if (c->o.spec.compute_profile && c->r.n_updates > 0) {
		cli_fail(2, "--update '%s' with --compute profile:%s: the profile measures one model",
			 c->r.update_spec[0], c->o.spec.compute_profile);
		goto out;
	}
	if (strcmp(c->o.algo_name, "all") == 0) {
		cli_fail(2, "--algo 'all': emu runs one algorithm's plan; name one");
		goto out;
	}
	if (c->cfg.tensors_path && !c->cfg.real) {
		cli_fail(2, "--save-tensors '%s': needs --compute real", c->cfg.tensors_path);
		goto out;
	}
	/* The planner's codec is the one on the wire, or the plan is chosen for another. */
	if (c->o.codec.ratio > 0 && strcmp(c->o.codec.spec, codec_name(c)) != 0) {
		cli_fail(2, "--codec-profile '%s': the emulator codes with --compress %s; give the "
			 "profile of that codec (or --compress %s)", c->o.codec.spec, codec_name(c),
			 c->o.codec.spec);
		goto out;
	}
	c->cfg.arrival = (enum emu_arrival)c->r.arrival;
	c->cfg.window = c->r.window;
	c->cfg.rate = c->r.rate;
	c->cfg.requests = c->r.requests;
	c->cfg.warmup_requests = cli_run_opts_warmup(&c->r);
	c->cfg.heartbeat_period_s = c->r.heartbeat_period_s;
	c->cfg.heartbeat_timeout_s = c->r.heartbeat_timeout_s;
	if (c->o.spec.cluster.n > EMU_NET_MAX_NODES) {
		cli_fail(2, "--nodes %d: the emulator runs at most %d nodes", c->o.spec.cluster.n,
			 EMU_NET_MAX_NODES);
		goto out;
	}
	rc = run_emu(c);
out:
	free(c);
	free(opts);
	return rc;
}
