/*
 * A 4-node ResNet50 pipeline in the emulator, end to end through `edgepipe emu`: every
 * request is answered exactly once, and the emulated throughput is within 15 % of the
 * simulator's for the same plan and workload (the criterion). A second run, a
 * compute-bound MobileNetV2 pipeline whose stages busy-work under cgroup CPU shares, is held to
 * the same bound, and so is a third whose stages sit idle between requests.
 *
 * Expected values: the simulated throughput of the same plan (`edgepipe sim`'s pipeline model
 * with the emulator's settings: deterministic times, the dispatcher's hops counted, latency not
 * occupying a link), which the command computes and stores beside the emulated one.
 *
 * Which way they differ, and why: the emulated throughput is expected at or slightly BELOW
 * the simulated one, never far above it. The simulator's links and nodes are ideal servers:
 * a tensor occupies its link for exactly bits / bandwidth, and a stage starts the next
 * request the instant the previous one left. In the emulator every transfer is TCP through
 * an HTB class: each frame carries a 64-byte header, HTB's rate is exact only on average
 * (its burst lets a transfer start a little faster, its token refill makes it end a little
 * later), and every hand-off (socket to compute to socket, the dispatcher's loop) waits for
 * a scheduler wake-up on a 2-core host that also runs the kernel's network processing for
 * every namespace. With compute, the stage's CPU quota (a cgroup share over 50 ms periods)
 * also pays for its own socket I/O, so a stage computes a little slower than FLOPs / speed.
 * Measured on this machine: -0.0 % (network-bound ResNet50) and -2.7 % (compute-bound
 * MobileNetV2, 3 stages at 0.48 CPU each).
 *
 * Usage: test_emu_pipeline PATH_TO_EDGEPIPE
 */
#include "check.h"
#include "emu_cli.h"
#include "emu_harness.h"

static const char *edgepipe;

/* max_above: how far above the simulated throughput the emulated may be (see body()). */
static void check_run(const char *state_dir, const char *name, const char *args, int requests,
		      double max_above)
{
	char cmd[4096], db[512], out[65536], q[256];
	double sim, emu, dev;
	int rc;

	snprintf(db, sizeof(db), "%s/%s.db", state_dir, name);
	snprintf(cmd, sizeof(cmd), "%s emu %s --requests %d --state-dir %s --db %s", edgepipe,
		 args, requests, state_dir, db);
	rc = emu_cli_run(cmd, out, sizeof(out));
	CHECK_INT(rc, 0);
	if (rc != 0)
		return;
	/* Every request answered, once. */
	CHECK_INT(emu_db_num(db, "SELECT issued FROM emu_summary"), requests);
	CHECK_INT(emu_db_num(db, "SELECT answered FROM emu_summary"), requests);
	CHECK_INT(emu_db_num(db, "SELECT incomplete FROM emu_summary"), 0);
	CHECK_INT(emu_db_num(db, "SELECT count(*) FROM emu_requests WHERE done_s IS NOT NULL"),
		  requests);
	CHECK_INT(emu_db_num(db, "SELECT count(DISTINCT request) FROM emu_requests"), requests);
	/* No fault: nothing was sent twice, no answer came twice. */
	CHECK_INT(emu_db_num(db, "SELECT duplicates + requests_resent FROM emu_summary"), 0);
	/* Every stage saw every request. */
	snprintf(q, sizeof(q), "SELECT count(*) FROM emu_stages WHERE frames_out = %d", requests);
	CHECK_INT(emu_db_num(db, q), emu_db_num(db, "SELECT stages FROM emu_summary"));
	sim = emu_db_num(db, "SELECT sim_throughput FROM emu_summary");
	emu = emu_db_num(db, "SELECT emu_throughput FROM emu_summary");
	dev = emu / sim - 1;
	printf("%s: analytic %.4f /s, simulated %.4f /s, emulated %.4f /s: emulated %+.2f %% vs "
	       "simulated (%s)\n", name,
	       emu_db_num(db, "SELECT analytic_throughput FROM emu_summary"), sim, emu, 100 * dev,
	       dev <= 0 ? "below, as expected" : "above");
	CHECK(fabs(dev) <= 0.15);
	/* Slightly below or equal, as the header explains; never clearly above. */
	CHECK(dev <= max_above);
}

static int body(const char *state_dir, const struct emu_caps *caps)
{
	/* Network-bound: 4 stages at 80 MiB, links of 100 to 200 Mbit/s, no compute modelled. */
	check_run(state_dir, "resnet50",
		  "--model resnet50 --nodes 4 --mem 80MiB --cluster uniform "
		  "--bw-range 100Mbit:200Mbit --seed 1 --probes 2",
		  40, 0.02);
	/* Compute-bound: the stages busy-work under their nodes' CPU shares. */
	if (caps->have[EMU_CAP_CGROUP_CPU])
		check_run(state_dir, "mobilenetv2",
			  "--model mobilenetv2 --nodes 3 --mem 40MiB --cluster uniform "
			  "--bw-range 100Mbit:200Mbit --speed 2GFLOPS --seed 1 --probes 2",
			  16, 0.02);
	/* Idle stages under CPU shares: one request at a time, so every stage waits between
	 * frames and starts each with its period's quota unused (6 stages of 22 to 107 ms at a
	 * share of about 0.48). Without the floor on a frame's compute (emu_stage.h
	 * min_compute_s) each ran up to (1 - share) x 50 ms short: measured 13.7 ms of compute
	 * per frame against 22.3 for stage 0, the emulated throughput +29.0 % above the
	 * simulated; with it -2.9 %, -0.3 % and, in one CI run on a quiet machine, +2.2 % (cause
	 * not established; every hop is on this closed loop's critical path). Its ceiling is
	 * therefore 5 %, which still separates the defect's +20 % to +29 % from the fix. */
	if (caps->have[EMU_CAP_CGROUP_CPU])
		check_run(state_dir, "mobilenetv2-idle",
			  "--model mobilenetv2 --nodes 6 --mem 20MiB --cluster uniform "
			  "--bw-range 1Gbit:1Gbit --speed 2GFLOPS --seed 1 --probes 0 "
			  "--workload closed:1",
			  12, 0.05);
	else
		printf("no cpu cgroup controller: the compute-bound runs are skipped\n");
	return check_exit();
}

int main(int argc, char **argv)
{
	if (argc != 2 || access(argv[1], X_OK) != 0) {
		fprintf(stderr, "usage: test_emu_pipeline PATH_TO_EDGEPIPE\n");
		return 2;
	}
	edgepipe = argv[1];
	return emu_test_main("test_emu_pipeline", body, 60);
}
