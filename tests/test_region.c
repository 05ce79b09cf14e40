/*
 * The acceleration region (experiments/region.h): the solver's map against the closed forms
 * derived in region.h, on zoo models and on a hand-made chain, and the heat map's files.
 * - (2) partitioning pays at a point if and only if B / s > b* / W: the solver's "pays" equals
 *   the closed form at every grid point;
 * - (3) on 2 nodes the solver's optimum equals the closed-form two-node optimum;
 * - (4) on N nodes the speed-up lies between the two-node speed-up and the closed-form bound;
 * - only B / s matters: doubling both gives the same speed-up, bit for bit (every term is
 *   divided by a power of two more);
 * - a hand-made chain whose numbers are derived below.
 */
#include <gsl/gsl_errno.h>
#include <igraph.h>
#include <stdlib.h>
#include <unistd.h>

#include "algo.h"
#include "check.h"
#include "instance.h"
#include "region.h"

static struct instance *zoo_instance(const char *model)
{
	struct instance_spec is = { .model = model };
	struct instance *inst = NULL;
	struct ep_error err;

	is.profile = MODEL_PROFILE_OPTIONS_DEFAULT;
	is.cluster = cluster_spec_default(2, 1);
	is.problem = PROBLEM_OPTIONS_FELTIN;
	if (instance_create(&is, &inst, &err)) {
		fprintf(stderr, "%s: %s\n", model, err.msg);
		check_failures++;
	}
	return inst;
}

static struct region_spec spec_default(int nodes, int grid)
{
	struct region_spec s;

	memset(&s, 0, sizeof(s));
	s.nodes = nodes;
	s.algo_options = ALGO_OPTIONS_DEFAULT;
	s.bw_min_bps = 1e5;
	s.bw_max_bps = 1e10;
	s.speed_min_flops = 1e8;
	s.speed_max_flops = 1e12;
	s.n_bw = s.n_speed = grid;
	return s;
}

static void test_zoo(void)
{
	static const char *const models[] = { "mobilenetv2", "resnet50", "inceptionv3" };
	int points = 0, paying = 0, notpaying = 0;

	for (size_t mi = 0; mi < sizeof(models) / sizeof(models[0]); mi++) {
		struct instance *inst = zoo_instance(models[mi]);

		if (!inst)
			continue;
		for (int nodes = 2; nodes <= 4; nodes += 2) {
			struct region_spec s = spec_default(nodes, 9);
			struct region_point pts[81];
			struct ep_error err;

			CHECK_INT(region_compute(inst->profile, &s, pts, &err), EP_OK);
			for (int i = 0; i < 81; i++) {
				const struct region_point *pt = &pts[i];

				points++;
				CHECK_INT(pt->status, EP_OK);
				CHECK(pt->pays == pt->pays_closed);
				paying += pt->pays;
				notpaying += !pt->pays;
				CHECK_NEAR(pt->single_s, region_single_s(inst->profile, pt->speed_flops),
					   0);
				CHECK(pt->speedup >= 1);
				CHECK(pt->speedup <= pt->speedup_bound * (1 + 1e-12));
				if (nodes == 2)
					CHECK_NEAR(pt->best_s, pt->two_node_s, 1e-12);
				else
					CHECK(pt->best_s <= pt->two_node_s * (1 + 1e-12));
			}
		}
		instance_destroy(inst);
	}
	/* the grid spans both sides of every boundary */
	printf("zoo: %d points, %d pay, %d do not\n", points, paying, notpaying);
	CHECK(paying > 0 && notpaying > 0);
}

/* Only B / s matters: (B, s) and (2B, 2s) give the same speed-up, bit for bit. */
static void test_ratio(void)
{
	struct instance *inst = zoo_instance("resnet50");
	int same = 0;

	if (!inst)
		return;
	for (int i = 0; i < 5; i++)
		for (int j = 0; j < 5; j++) {
			struct region_spec a = spec_default(4, 1), b;
			struct region_point pa, pb;
			struct ep_error err;

			a.speed_min_flops = a.speed_max_flops = 1e9 * pow(7, i);
			a.bw_min_bps = a.bw_max_bps = 1e6 * pow(5, j);
			b = a;
			b.bw_min_bps = b.bw_max_bps = 2 * a.bw_min_bps;
			b.speed_min_flops = b.speed_max_flops = 2 * a.speed_min_flops;
			CHECK_INT(region_compute(inst->profile, &a, &pa, &err), EP_OK);
			CHECK_INT(region_compute(inst->profile, &b, &pb, &err), EP_OK);
			CHECK(pa.speedup == pb.speedup);
			CHECK_INT(pa.stages, pb.stages);
			same += pa.speedup == pb.speedup;
		}
	CHECK_INT(same, 25);
	instance_destroy(inst);
}

/*
 * A hand-made chain: 4 cut points, cumulative FLOPs 0, 100, 150, 200 (segments of 100, 50,
 * 50), transfers after cuts 1 and 2 of 10 and 2 bytes (80 and 16 bits). W = 200.
 * - (1) at s = 100 FLOP/s: T1 = 2 s.
 * - b* = 16 bits (cut 2, work 150 before and 50 after): pays iff 16 / B < 2, i.e. B > 8 bit/s.
 * - Two nodes at B = 16 bit/s: cut 1 gives max(1, 1, 80/16 = 5) = 5 s; cut 2 max(1.5, 0.5,
 *   1) = 1.5 s: T2 = 1.5 s, speed-up 4/3. At B = 80 bit/s: cut 1 max(1, 1, 1) = 1 s: speed-up 2.
 * - At B = 8 bit/s: cut 2's hop takes 16 / 8 = 2 s = T1: no gain (not strictly below).
 * - Three nodes at B = 160 bit/s: cuts 1 and 2: max(1, 0.5, 0.5, 0.5, 0.1) = 1 s; the first
 *   segment alone takes 1 s, so 1 s is the least (bound (4): W / w_max = 2): speed-up 2.
 */
static void test_hand(void)
{
	static struct model_cut_profile cuts[4];
	static struct model_profile prof = { .model = "hand", .n_cuts = 4, .cuts = cuts };
	static const int64_t flops[4] = { 0, 100, 150, 200 };
	static const double tx[4] = { 50, 10, 2, 1 };
	static const double bw[3] = { 8, 16, 80 };
	struct region_spec s = spec_default(2, 3);
	struct region_point pts[3];
	struct ep_error err;
	int cut;

	for (int k = 0; k < 4; k++) {
		cuts[k].cum_flops = flops[k];
		cuts[k].transfer_bytes = tx[k];
		cuts[k].cum_mem_bytes = k;
	}
	CHECK_NEAR(region_min_cut_bits(&prof, &cut), 16, 0);
	CHECK_INT(cut, 2);
	CHECK_NEAR(region_single_s(&prof, 100), 2.0, 0);
	CHECK(!region_pays_closed(&prof, 8, 100, 2, 5));
	CHECK(region_pays_closed(&prof, 8.001, 100, 2, 5));
	CHECK(!region_pays_closed(&prof, 1e9, 100, 1, 5)); /* one node */
	CHECK(!region_pays_closed(&prof, 1e9, 100, 2, 0)); /* no cut allowed */
	s.n_speed = 1;
	s.speed_min_flops = s.speed_max_flops = 100;
	s.bw_min_bps = 8;
	s.bw_max_bps = 80;
	/* the axis: 8, sqrt(8 x 80), 80; pin the middle to 16 by computing it per point */
	for (int j = 0; j < 3; j++) {
		struct region_spec one = s;
		struct region_point pt;

		one.n_bw = 1;
		one.bw_min_bps = one.bw_max_bps = bw[j];
		CHECK_INT(region_compute(&prof, &one, &pt, &err), EP_OK);
		pts[j] = pt;
	}
	CHECK(!pts[0].pays);
	CHECK_NEAR(pts[0].speedup, 1.0, 0);
	CHECK(pts[1].pays);
	CHECK_NEAR(pts[1].best_s, 1.5, 1e-15);
	CHECK_NEAR(pts[1].speedup, 4.0 / 3.0, 1e-15);
	CHECK_NEAR(pts[2].best_s, 1.0, 1e-15);
	CHECK_INT(pts[2].stages, 2);
	s.nodes = 3;
	s.bw_min_bps = s.bw_max_bps = 160;
	s.n_bw = 1;
	CHECK_INT(region_compute(&prof, &s, pts, &err), EP_OK);
	CHECK_NEAR(pts[0].best_s, 1.0, 1e-15);
	CHECK_NEAR(pts[0].speedup_bound, 2.0, 1e-15);
	/* bad specs name the field */
	s.nodes = 0;
	CHECK_INT(region_compute(&prof, &s, pts, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "nodes 0");
	s.nodes = 2;
	s.bw_min_bps = -1;
	CHECK_INT(region_compute(&prof, &s, pts, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "bandwidth range -1");
}

/* The heat map's files (skipped without gnuplot). */
static int test_plot(void)
{
	struct instance *inst = zoo_instance("mobilenetv2");
	struct region_spec s = spec_default(3, 4);
	struct region_point pts[16];
	char dir[] = "/tmp/edgepipe-region.XXXXXX", base[128], path[256];
	struct ep_error err;
	int rc;

	if (!inst)
		return 0;
	CHECK(mkdtemp(dir) != NULL);
	CHECK_INT(region_compute(inst->profile, &s, pts, &err), EP_OK);
	rc = region_plot(inst->profile, &s, pts, dir, NULL, base, sizeof(base), &err);
	if (rc == EP_ENOTFOUND) {
		instance_destroy(inst);
		return 77;
	}
	CHECK_INT(rc, EP_OK);
	CHECK_STR(base, "region-mobilenetv2-N3");
	for (int f = 0; f < 4; f++) {
		static const char *const ext[] = { "dat", "gp", "png", "svg" };
		FILE *fp;

		snprintf(path, sizeof(path), "%s/%s.%s", dir, base, ext[f]);
		fp = fopen(path, "r");
		CHECK(fp != NULL);
		if (fp) {
			fseek(fp, 0, SEEK_END);
			CHECK(ftell(fp) > 0);
			fclose(fp);
		}
		unlink(path);
	}
	rmdir(dir);
	instance_destroy(inst);
	return 0;
}

int main(void)
{
	int skip;

	igraph_set_error_handler(igraph_error_handler_ignore);
	igraph_set_warning_handler(igraph_warning_handler_ignore);
	gsl_set_error_handler_off();
	test_hand();
	test_zoo();
	test_ratio();
	skip = test_plot();
	if (check_failures)
		return check_exit();
	return skip;
}
