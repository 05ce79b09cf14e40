/*
 * compare (experiments/compare.h) without the emulator: the analytic and simulated columns on
 * an instance small enough to derive by hand, a kill fault's detection and recovery, and the
 * table's writers (CSV, JSON read back with jansson, the SQLite tables, the figure).
 *
 * The instance (tests/sim_fixture.h, as tests/test_sim_faults.c): 3 cut points, two segments
 * of 1 GFLOP and 10 parameter bytes each, 125000-byte (1 Mbit) tensors at every cut (the input
 * and the output too), 3 nodes of 1 GFLOP/s and 15 bytes (one segment each), links of 1 Mbit/s
 * and no latency; the full metric. The plan: stage 0 (cuts 0..1) on node 0, stage 1 on node 1.
 * As the emulator runs it (dispatcher hops on), a request crosses five servers of 1 s each:
 * the hop dispatcher -> 0, stage 0, hop 0 -> 1, stage 1, hop 1 -> dispatcher. So plan_cost's
 * bottleneck is B = 1 s (throughput 1 /s), the round trip R = 5 s, and the busiest server's
 * time b = 1 s.
 */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "check.h"
#include "compare.h"
#include "instance.h"
#include "plot.h"
#include "sim_fixture.h"

/* A comparison and what it borrows: the fixture as an instance, the trial, the workload. */
struct run {
	struct instance inst;
	struct instance_spec spec;
	struct trial_setup t;
	struct trial_workload w;
	struct compare_options o;
	struct algo_result res;
	struct compare *c;
};

/*
 * firstfit plans the fixture as the comment above says (stage 0 on node 0, stage 1 on node 1:
 * a node's 15 bytes hold one segment of 10). Window 5, `requests`, the faults; heartbeats the
 * emulator's (0.1 s, timeout 0.5 s: trial_emu_options_init's emu_config_default).
 */
static int run(struct run *r, struct fixture *f, int requests, const struct timeline_fault *flt,
	       int n_faults)
{
	struct ep_error err;
	int rc;

	memset(r, 0, sizeof(*r));
	r->inst.profile = &f->profile;
	r->inst.cluster = &f->cluster;
	r->inst.problem = f->problem;
	r->spec.model = "three";
	r->spec.seed = 1;
	r->spec.cluster.n = 3;
	r->t = (struct trial_setup){.inst = &r->inst,
				    .spec = &r->spec,
				    .algo = &algo_firstfit,
				    .algo_options = ALGO_OPTIONS_DEFAULT,
				    .scenario_text = "model: tiny\n"};
	trial_workload_init(&r->w);
	r->w.window = 5;
	r->w.requests = requests;
	/* The first five answers waited behind each other at the first hop (latencies 5..9 s,
	 * below); from the sixth on every request takes exactly R. */
	r->w.warmup_requests = 5;
	r->w.bin_s = 1;
	r->w.faults = flt;
	r->w.n_faults = n_faults;
	trial_emu_options_init(&r->o.emu);
	r->o.emu.command = "test";
	r->o.emulate = false;
	algo_result_init(&r->res);
	rc = compare_run(&r->t, &r->w, &r->o, &r->res, &r->c, &err);
	if (rc)
		fprintf(stderr, "compare_run: %s\n", err.msg);
	else if (!r->c)
		fprintf(stderr, "compare_run: no plan: %s\n", r->res.reason);
	if (rc || !r->c)
		algo_result_release(&r->res);
	return rc ? rc : r->c ? 0 : EP_EINFEASIBLE;
}

static void run_release(struct run *r)
{
	compare_destroy(r->c);
	algo_result_release(&r->res);
}

/*
 * No fault, window W = 5 = R / b, 40 requests. Analytic: throughput 1 / B = 1 /s, latency
 * max(R, W b) = 5 s. Simulated: the five first requests, issued at 0, queue at the first hop:
 * request k (0..4) answers at k + 5; each answer issues the next request, which finds every
 * server free just in time, so requests 5.. take 5 s each, request k answering at k + 5. With
 * the first 5 answers as warm-up the interval runs from 9 s (request 4) to 44 s (request 39):
 * 35 answers in 35 s = 1 /s, every latency 5 s.
 */
static void no_fault(struct fixture *f)
{
	struct run x;
	const struct compare_report *r;

	if (run(&x, f, 40, NULL, 0))
		return;
	r = compare_get_report(x.c);
	CHECK_NEAR(r->analytic_bottleneck_s, 1, 1e-12);
	CHECK_NEAR(r->rows[COMPARE_ANALYTIC].throughput, 1, 1e-12);
	CHECK_NEAR(r->rows[COMPARE_ANALYTIC].latency_p99_s, 5, 1e-12);
	CHECK(r->rows[COMPARE_SIM].ran);
	CHECK_NEAR(r->rows[COMPARE_SIM].throughput, 1, 1e-9);
	CHECK_NEAR(r->rows[COMPARE_SIM].latency_p50_s, 5, 1e-9);
	CHECK_NEAR(r->rows[COMPARE_SIM].latency_p99_s, 5, 1e-9);
	CHECK_INT(r->rows[COMPARE_SIM].answered, 40);
	CHECK_INT(r->rows[COMPARE_SIM].lost, 0);
	CHECK(isnan(r->rows[COMPARE_SIM].detection_s));
	/* The emulator was not asked for: its row says so, and nothing is in it. */
	CHECK(!r->rows[COMPARE_EMU].ran);
	CHECK(strcmp(r->rows[COMPARE_EMU].note, "not asked for") == 0);
	CHECK(r->series[COMPARE_EMU] == NULL);
	/* Bins of 1 s: answers at 5, 6, ... 44 s: one a bin from bin 5 to bin 44. */
	CHECK_INT(r->n_bins, 45);
	if (r->n_bins == 45) {
		CHECK_NEAR(r->series[COMPARE_SIM][4], 0, 1e-12);
		CHECK_NEAR(r->series[COMPARE_SIM][20], 1, 1e-12);
		CHECK_NEAR(r->series[COMPARE_ANALYTIC][20], 1, 1e-12);
	}
	run_release(&x);
}

/* The writers: CSV (a header and three rows), JSON (read back), the database (the comparison's
 * tables and the simulator's run in its sim_* tables, as `sim --db` writes it) and the figure. */
static void writers(const struct compare *c)
{
	const struct compare_report *r = compare_get_report(c);
	char path[] = "/tmp/test_compare_XXXXXX", file[64], line[512], gp[256];
	struct ep_error err;
	json_error_t jerr;
	json_t *j;
	const char *sp;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	FILE *f;
	int lines = 0;

	if (!mkdtemp(path))
		return;
	snprintf(file, sizeof(file), "%s/t.csv", path);
	f = fopen(file, "w+");
	CHECK(f && compare_write_csv(f, r) == EP_OK);
	for (rewind(f); f && fgets(line, sizeof(line), f);)
		lines++;
	CHECK_INT(lines, 4);
	fclose(f);
	snprintf(file, sizeof(file), "%s/t.json", path);
	f = fopen(file, "w");
	CHECK(f && compare_write_json(f, r, "title", "s.yaml", "model: tiny\n") == EP_OK);
	fclose(f);
	j = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
	CHECK(j != NULL);
	CHECK_INT(json_array_size(json_object_get(j, "rows")), 3);
	sp = json_string_value(json_object_get(json_object_get(j, "scenario"), "path"));
	CHECK(sp && strcmp(sp, "s.yaml") == 0);
	CHECK_NEAR(json_real_value(json_object_get(json_array_get(json_object_get(j, "rows"), 1),
						   "throughput")), r->rows[COMPARE_SIM].throughput, 1e-12);
	json_decref(j);
	snprintf(file, sizeof(file), "%s/t.db", path);
	CHECK(compare_db_write(c, file, NULL, &err) == EP_OK);
	CHECK(compare_db_write(c, file, NULL, &err) == EP_OK); /* appended */
	CHECK(sqlite3_open(file, &db) == SQLITE_OK);
	CHECK(sqlite3_prepare_v2(db, "SELECT count(*), sum(ran), (SELECT count(*) FROM "
				 "compare_runs WHERE scenario_text = 'model: tiny\n') FROM "
				 "compare_rows", -1, &st, NULL) == SQLITE_OK);
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		CHECK_INT(sqlite3_column_int(st, 0), 6);
		CHECK_INT(sqlite3_column_int(st, 1), 4); /* analytic and sim, twice */
		CHECK_INT(sqlite3_column_int(st, 2), 2);
	}
	sqlite3_finalize(st);
	st = NULL;
	/* The simulator's runs, twice: its throughput is the table's sim row's. */
	CHECK(sqlite3_prepare_v2(db,
				 "SELECT count(*), min(s.sim_throughput), "
				 "max(s.sim_throughput), min(r.command) FROM sim_runs r JOIN "
				 "sim_summary s USING (run_id)",
				 -1, &st, NULL) == SQLITE_OK);
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		CHECK_INT(sqlite3_column_int(st, 0), 2);
		CHECK_NEAR(sqlite3_column_double(st, 1), r->rows[COMPARE_SIM].throughput, 1e-12);
		CHECK_NEAR(sqlite3_column_double(st, 2), r->rows[COMPARE_SIM].throughput, 1e-12);
		CHECK(sqlite3_column_text(st, 3) &&
		      strcmp((const char *)sqlite3_column_text(st, 3), "test") == 0);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	/* The figure, where gnuplot is installed. */
	if (plot_gnuplot_find(gp, sizeof(gp), &err) == EP_OK) {
		snprintf(file, sizeof(file), "%s/fig.svg", path);
		CHECK(compare_plot(r, file, "a; b", &err) == EP_OK);
		CHECK(access(file, R_OK) == 0);
		snprintf(file, sizeof(file), "%s/fig.gif", path);
		CHECK(compare_plot(r, file, NULL, &err) == EP_EINVAL);
	}
	snprintf(line, sizeof(line), "rm -rf %s", path);
	CHECK(system(line) == 0);
}

/*
 * kill node1 at 10.05 s. Heartbeats every 0.1 s (the emulator's), the last at 10.0 s; the
 * node is declared dead a timeout (0.5 s) later, at 10.5 s: detection 0.45 s. firstfit
 * re-plans on nodes 0 and 2: stage 0 stays on node 0, stage 1 goes to node 2, live at once as
 * in the emulator (its stages are forked with their weights; the simulator's default would
 * send node 2's 10 weight bytes over the dispatcher's 1 Mbit/s link first: 80 us later):
 * recovery 0.45 s. No request is lost; requests whose attempts went through node 1 are
 * resent, so some are.
 */
static void kill_fault(struct fixture *f)
{
	struct timeline_fault fault;
	struct run x;
	const struct compare_report *r;
	struct ep_error err;

	if (timeline_fault_parse("kill node1 at 10.05s", 3, &fault, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		check_failures++;
		return;
	}
	if (run(&x, f, 40, &fault, 1))
		return;
	r = compare_get_report(x.c);
	CHECK_NEAR(r->rows[COMPARE_SIM].detection_s, 0.45, 1e-9);
	CHECK_NEAR(r->rows[COMPARE_SIM].recovery_s, 0.45, 1e-9);
	CHECK_INT(r->rows[COMPARE_SIM].answered, 40);
	CHECK_INT(r->rows[COMPARE_SIM].lost, 0);
	CHECK(r->rows[COMPARE_SIM].resent > 0);
	/* The analytic line: 1 /s, 0 from the crash to the go-live, then the new plan's 1 /s:
	 * bin 10 is [10, 11): 0.05 s at 1, 0.45 s at 0, 0.5 s at 1. */
	CHECK_NEAR(r->series[COMPARE_ANALYTIC][9], 1, 1e-12);
	CHECK_NEAR(r->series[COMPARE_ANALYTIC][10], 0.05 + 0.5, 1e-9);
	CHECK_NEAR(r->series[COMPARE_ANALYTIC][12], 1, 1e-12);
	/* The marks: the fault (timeline), the simulator's detection and go-live. */
	CHECK_INT(r->n_marks, 3);
	if (r->n_marks == 3) {
		CHECK(r->marks[0].backend == -1 && strcmp(r->marks[0].kind, "fault") == 0);
		CHECK_NEAR(r->marks[1].t_s, 10.5, 1e-9);
		CHECK_NEAR(r->marks[2].t_s, 10.5, 1e-9);
	}
	writers(x.c);
	run_release(&x);
}

/* A stall as long as the heartbeat timeout: today's simulator refuses it (sim_pipeline.h), and
 * the comparison goes on without it, saying why. */
static void refused(struct fixture *f)
{
	struct timeline_fault fault;
	struct run x;
	struct ep_error err;

	if (timeline_fault_parse("stall node1 at 3s for 2s", 3, &fault, &err))
		return;
	if (run(&x, f, 20, &fault, 1))
		return;
	if (!compare_get_report(x.c)->rows[COMPARE_SIM].ran)
		CHECK(strncmp(compare_get_report(x.c)->rows[COMPARE_SIM].note, "refused: ", 9) ==
		      0);
	CHECK(compare_get_report(x.c)->rows[COMPARE_ANALYTIC].ran);
	run_release(&x);
}

int main(void)
{
	static const double flops[] = { 0, 1e9, 2e9 }, params[] = { 0, 10, 20 };
	static const double xfer[] = { 125000, 125000, 125000 }, speeds[] = { 1e9, 1e9, 1e9 };
	struct fixture f;
	struct run x;

	if (fixture_init(&f, "three", 3, flops, params, xfer, 3, speeds, 15, 1e6, 0,
			 PROBLEM_OPTIONS_FULL))
		return 1;
	no_fault(&f);
	kill_fault(&f);
	refused(&f);
	/* No requests: refused, nothing returned. */
	CHECK(run(&x, &f, 0, NULL, 0) == EP_EINVAL && x.c == NULL);
	fixture_release(&f);
	return check_exit();
}
