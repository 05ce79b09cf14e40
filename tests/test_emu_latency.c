/*
 * Added latency: 10 ms on every link; the latency the emulator adds along the
 * pipeline's path is within 1 ms of the configured one (the criterion). On this
 * machine the kernel has no netem, so this is the transport fallback: each receiver holds a
 * frame for its incoming link's latency after the frame's last byte (the run records the
 * mechanism, checked here).
 *
 * How it is measured: the run's start-up probes, empty frames sent through the whole pipeline
 * one at a time (dispatcher -> stages -> dispatcher, 5 hops for 4 stages), alternately with
 * the latency hold and without it; the added latency is the difference of the medians of their
 * round trips, compared with the sum of the 5 hops' configured latencies. The requests' own
 * latencies are checked too: an unloaded request (window 1) takes at least that sum longer
 * than the same request without latency.
 *
 * Expected values: configured latency x hops (5 x 10 ms = 50 ms), and 0 without latency.
 *
 * (An unloaded request is faster in the emulator than bits / bandwidth says, by about 10 ms
 * per hop whatever the latency: an idle HTB class has a full bucket, 10 ms of its rate, which
 * leaves at veth speed (emu_tc.c). The difference of two runs cancels it.)
 *
 * Usage: test_emu_latency PATH_TO_EDGEPIPE
 */
#include "check.h"
#include "emu_cli.h"
#include "emu_harness.h"

static const char *edgepipe;

#define BASE "--model resnet50 --nodes 4 --mem 80MiB --cluster uniform " \
	     "--bw-range 100Mbit:200Mbit --seed 1 --compute none --workload closed:1 " \
	     "--requests 15 --warmup 0 --probes 24"

/* Runs with --latency `lat`; returns the mean request latency (s), NAN on failure. */
static double run(const char *state_dir, const char *lat, double configured_path_s)
{
	char cmd[4096], db[512], out[65536], mech[64];
	double conf, meas;
	int rc;

	snprintf(db, sizeof(db), "%s/latency-%s.db", state_dir, lat);
	snprintf(cmd, sizeof(cmd), "%s emu " BASE " --latency %s --state-dir %s --db %s",
		 edgepipe, lat, state_dir, db);
	rc = emu_cli_run(cmd, out, sizeof(out));
	CHECK_INT(rc, 0);
	if (rc != 0)
		return NAN;
	conf = emu_db_num(db, "SELECT path_latency_configured_s FROM emu_summary");
	meas = emu_db_num(db, "SELECT path_latency_measured_s FROM emu_summary");
	emu_db_text(db, "SELECT mechanism FROM emu_mechanisms WHERE property = 'latency'", mech,
		    sizeof(mech));
	printf("latency %s per link: path configured %.3f ms, added %.3f ms (error %+.3f ms), "
	       "mechanism %s\n", lat, conf * 1e3, meas * 1e3, (meas - conf) * 1e3, mech);
	CHECK_NEAR(conf, configured_path_s, 1e-9);
	CHECK(fabs(meas - conf) <= 1e-3);
	CHECK(strcmp(mech, "transport") == 0 || strcmp(mech, "netem") == 0);
	CHECK_INT(emu_db_num(db, "SELECT answered FROM emu_summary"), 15);
	return emu_db_num(db, "SELECT latency_mean_s FROM emu_summary");
}

static int body(const char *state_dir, const struct emu_caps *caps)
{
	double l0, l10;

	(void)caps;
	l0 = run(state_dir, "0ms", 0);
	l10 = run(state_dir, "10ms", 0.050);
	/* An unloaded request crosses the 5 hops once: 50 ms more, give or take a millisecond. */
	printf("request latency: %.3f ms without, %.3f ms with 10 ms links: %+.3f ms\n", l0 * 1e3,
	       l10 * 1e3, (l10 - l0) * 1e3);
	CHECK(fabs((l10 - l0) - 0.050) <= 2e-3);
	return check_exit();
}

int main(int argc, char **argv)
{
	if (argc != 2 || access(argv[1], X_OK) != 0) {
		fprintf(stderr, "usage: test_emu_latency PATH_TO_EDGEPIPE\n");
		return 2;
	}
	edgepipe = argv[1];
	return emu_test_main("test_emu_latency", body, 60);
}
