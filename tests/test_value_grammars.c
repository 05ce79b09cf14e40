/*
 * The value grammars in the libraries that own them (issue 17: one grammar per concept, the
 * command line only prints the message): durations in a range (ep_units.h), lists
 * (ep_util.h), a cluster's memory, speed factors and bandwidth range (cluster.h), the
 * workload (workload.h), the metric and the codec profile (problem.h, with the emulator's
 * codec names, emu_codec.h), the simulator's distributions (sim_pipeline.h). Every message names
 * the option and the value, as the command line printed them before the grammars moved
 * (tests/cli_errors.sh checks the same texts end to end).
 */
#include "check.h"
#include "cluster.h"
#include "emu_codec.h"
#include "ep_units.h"
#include "ep_util.h"
#include "problem.h"
#include "sim_pipeline.h"
#include "workload.h"

static void test_duration_in(void)
{
	struct ep_error err;
	double s = -1;

	CHECK_INT(ep_parse_duration_in("--mtbf", "150ms", 1e-9, 1e9, &s, &err), EP_OK);
	CHECK_NEAR(s, 0.150, 1e-15);
	/* the bounds are inclusive */
	CHECK_INT(ep_parse_duration_in("--bin", "1e9", 0, 1e9, &s, &err), EP_OK);
	CHECK_INT(ep_parse_duration_in("--bin", "0", 0, 1e9, &s, &err), EP_OK);
	/* out of range: MAX without the exponent's sign and zeros (1e9, 1e7), MIN as %g */
	CHECK_INT(ep_parse_duration_in("--heartbeat", "2e9s", 1e-9, 1e9, &s, &err), EP_EINVAL);
	CHECK_STR(err.msg, "--heartbeat '2e9s': expected a time from 1e-09 s to 1e9 s");
	CHECK_INT(ep_parse_duration_in("--give-up", "0", 0.01, 1e7, &s, &err), EP_EINVAL);
	CHECK_STR(err.msg, "--give-up '0': expected a time from 0.01 s to 1e7 s");
	/* a malformed value: ep_parse_duration's message after the option */
	CHECK_INT(ep_parse_duration_in("--latency", "5xs", 0, 1, &s, &err), EP_EINVAL);
	CHECK_STR(err.msg, "--latency: duration '5xs': unknown unit 'xs'");
}

static void test_lists(void)
{
	struct ep_error err;
	double v[4];
	char big[EP_LIST_MAX_CHARS + 1];
	int n = -1;

	CHECK_INT(cluster_mem_list_parse("--mem", "64MiB,1GB", v, 4, &n, &err), EP_OK);
	CHECK_INT(n, 2);
	CHECK(v[0] == 64.0 * 1048576 && v[1] == 1e9);
	CHECK_INT(cluster_mem_list_parse("--mem", "64MiB,0", v, 4, &n, &err), EP_EINVAL);
	CHECK_STR(err.msg, "--mem '64MiB,0': memory must be positive");
	CHECK_INT(cluster_mem_list_parse("--mem", "64XB", v, 4, &n, &err), EP_EINVAL);
	CHECK_STR(err.msg, "--mem '64XB': size '64XB': unknown unit 'XB'");
	CHECK_INT(cluster_mem_list_parse("--mem", "1,,2", v, 4, &n, &err), EP_EINVAL);
	CHECK_STR(err.msg, "--mem '1,,2': element 2 is empty");
	CHECK_INT(cluster_mem_list_parse("--mem", "1,2,3,4,5", v, 4, &n, &err), EP_EINVAL);
	CHECK_STR(err.msg, "--mem: more than 4 values");
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_INT(cluster_mem_list_parse("--mem", big, v, 4, &n, &err), EP_EINVAL);
	CHECK_STR(err.msg, "--mem: list too long");
	CHECK_INT(cluster_speed_factor_list_parse("--speed-factor", "0.5,2", v, 4, &n, &err),
		  EP_OK);
	CHECK(n == 2 && v[0] == 0.5 && v[1] == 2);
	CHECK_INT(cluster_speed_factor_list_parse("--speed-factor", "1,a", v, 4, &n, &err),
		  EP_EINVAL);
	CHECK_STR(err.msg, "--speed-factor '1,a': 'a' is not a positive number");
}

static void test_bw_range(void)
{
	struct ep_error err;
	double lo = 0, hi = 0;

	CHECK_INT(cluster_bw_range_parse("--bw-range", "1Mbit:100Mbit", &lo, &hi, &err), EP_OK);
	CHECK(lo == 1e6 && hi == 100e6);
	CHECK_INT(cluster_bw_range_parse("--bw-range", "5:1", &lo, &hi, &err), EP_EINVAL);
	CHECK_STR(err.msg, "--bw-range '5:1': need 0 < MIN <= MAX");
	CHECK_INT(cluster_bw_range_parse("--bw-range", "5", &lo, &hi, &err), EP_EINVAL);
	CHECK_STR(err.msg, "--bw-range '5': expected MIN:MAX, e.g. 1Mbit:100Mbit");
	CHECK_INT(cluster_bw_range_parse("--bw-range", "x:5", &lo, &hi, &err), EP_EINVAL);
	CHECK_STR(err.msg, "--bw-range: bit rate 'x': expected a non-negative number with a unit");
}

static void test_workload(void)
{
	enum workload_arrival k = WORKLOAD_POISSON;
	struct ep_error err;
	double v = 0;

	CHECK_INT(workload_arrival_parse("--workload", "closed:3", 10, 100, &k, &v, &err), EP_OK);
	CHECK(k == WORKLOAD_CLOSED && v == 3);
	CHECK_INT(workload_arrival_parse("--workload", "constant:5/s", 10, 100, &k, &v, &err),
		  EP_OK);
	CHECK(k == WORKLOAD_CONSTANT && v == 5);
	/* a fraction of a request in flight, a window or rate past the back end's bounds */
	CHECK_INT(workload_arrival_parse("--workload", "closed:1.5", 10, 100, &k, &v, &err),
		  EP_EINVAL);
	CHECK_STR(err.msg, "--workload 'closed:1.5': expected closed:W (a whole number of requests "
			   "in flight), poisson:RATE or constant:RATE (requests per second)");
	CHECK_INT(workload_arrival_parse("--workload", "closed:11", 10, 100, &k, &v, &err),
		  EP_EINVAL);
	CHECK_INT(workload_arrival_parse("--workload", "poisson:100", 10, 100, &k, &v, &err),
		  EP_EINVAL);
}

static void test_problem(void)
{
	struct problem_options o = PROBLEM_OPTIONS_PUBLISHED;
	struct problem_codec c = {.ratio = 7};
	struct ep_error err;

	CHECK_INT(problem_metric_parse("--metric", "full", &o, &err), EP_OK);
	CHECK_STR(problem_metric_name(&o), "full");
	CHECK_INT(problem_metric_parse("--metric", "x", &o, &err), EP_EINVAL);
	CHECK_STR(err.msg, "--metric 'x': expected published, full or feltin");
	/* the numbers from the right, the spec in canonical form (zstd's level kept) */
	CHECK_INT(problem_codec_parse("--codec-profile", "zstd:3:2.5:800:2000",
				      emu_codec_spec_canon, &c, &err),
		  EP_OK);
	CHECK_STR(c.spec, "zstd:3");
	CHECK(c.ratio == 2.5);
	CHECK_NEAR(c.encode_s_per_byte, 1.0 / 800e6, 1e-24);
	CHECK_NEAR(c.decode_s_per_byte, 1.0 / 2000e6, 1e-24);
	/* without a checker, the spec as given */
	CHECK_INT(problem_codec_parse("--codec-profile", "anything:2:1:1", NULL, &c, &err), EP_OK);
	CHECK_STR(c.spec, "anything");
	/* a bad value leaves *out as it was */
	CHECK_INT(problem_codec_parse("--codec-profile", "lz4:2:x:2000", emu_codec_spec_canon, &c,
				      &err),
		  EP_EINVAL);
	CHECK_STR(err.msg, "--codec-profile 'lz4:2:x:2000': the encoding MB/s 'x' is not a "
			   "positive number");
	CHECK_STR(c.spec, "anything");
	CHECK_INT(problem_codec_parse("--codec-profile", "lz4:2:3", emu_codec_spec_canon, &c, &err),
		  EP_EINVAL);
	CHECK_STR(err.msg, "--codec-profile 'lz4:2:3': expected SPEC:RATIO:ENC_MBPS:DEC_MBPS, "
			   "e.g. lz4:2.5:800:2000");
	CHECK_INT(problem_codec_parse("--codec-profile", "bogus:2:800:2000", emu_codec_spec_canon,
				      &c, &err),
		  EP_EINVAL);
	CHECK_CONTAINS(err.msg, "--codec-profile 'bogus:2:800:2000': ");
	CHECK_CONTAINS(err.msg, "'bogus'");
}

static void test_sim_dist(void)
{
	enum sim_dist d = SIM_DIST_DET;
	struct ep_error err;
	double cv = 7;

	CHECK_INT(sim_dist_parse("--service", "exp", &d, &cv, &err), EP_OK);
	CHECK(d == SIM_DIST_EXP && cv == 7); /* the CV left alone */
	CHECK_INT(sim_dist_parse("--service", "lognormal", &d, &cv, &err), EP_OK);
	CHECK(d == SIM_DIST_LOGNORMAL && cv == 1);
	CHECK_INT(sim_dist_parse("--transfer", "lognormal:0.5", &d, &cv, &err), EP_OK);
	CHECK(d == SIM_DIST_LOGNORMAL && cv == 0.5);
	CHECK_INT(sim_dist_parse("--transfer", "lognormal:0", &d, &cv, &err), EP_EINVAL);
	CHECK_STR(err.msg, "--transfer 'lognormal:0': the coefficient of variation must be a "
			   "positive number");
	CHECK_INT(sim_dist_parse("--service", "gamma", &d, &cv, &err), EP_EINVAL);
	CHECK_STR(err.msg, "--service 'gamma': expected det, exp or lognormal[:CV]");
}

int main(void)
{
	test_duration_in();
	test_lists();
	test_bw_range();
	test_workload();
	test_problem();
	test_sim_dist();
	return check_exit();
}
