/*
 * Real compute in the emulator (--compute real): every stage runs its layers with the XNNPACK
 * executor on the tensor it receives and sends what it computes; the dispatcher checks every
 * answer against the whole model's output for the same image, computed once at the start.
 *
 * 1. MobileNetV2 on 4 nodes of 64 MiB, with a node killed mid-run: every request answered,
 *    0 mismatches, also for the requests resent to the redeployed plan.
 * 2. ResNet50 on 4 nodes of 69 MiB (the least its cut profile fits in, tests/emu_cli.sh), rolled
 *    over to MobileNetV2 by --update: 0 mismatches before and after the update, each answer
 *    checked against the reference of the model that answered it.
 * 3. A stage that does not fit its node's memory cap is killed there, as on a device, and the
 *    run says so: planned with int8 accounting (a quarter of the bytes the float32 executor
 *    holds) on nodes of 8 MiB.
 * 4. Nodes of different CPU shares (--speed-factor 0.5,0.25,0.5: each node's cgroup gets that
 *    share of one core) and a plan made with the layer profile that `edgepipe profile` measured
 *    (--compute profile:FILE beside --compute real), with a node killed: every stage's recorded
 *    share is its node's factor, the re-plan on the nodes left is made with the profile too (it
 *    found no plan, "the cluster has no speed factors", before the surviving nodes kept them),
 *    and the answers are right.
 *
 * Expected values: mismatches 0 and every request answered (the executor's stages equal the
 * whole model to EMU_REAL_TOLERANCE of the output's magnitude, model_exec.h); the number of
 * answers checked is at least the number of requests (duplicates are checked too).
 *
 * Usage: test_emu_real PATH_TO_EDGEPIPE
 */
#include "check.h"
#include "emu_cli.h"
#include "emu_harness.h"

static const char *edgepipe;

/* The least memory ResNet50's cut profile fits in on 4 nodes (tests/emu_cli.sh). AddressSanitizer
 * keeps freed memory in quarantine and pads every block, so a stage needs far more than its
 * layers there: a sanitizer build gives the nodes room (the plan then has fewer stages). */
#if defined(__SANITIZE_ADDRESS__)
#define RESNET_MEM "256MiB"
#else
#define RESNET_MEM "69MiB"
#endif

#define CLUSTER "--nodes 4 --cluster uniform --bw-range 100Mbit:200Mbit --seed 1 --probes 0 " \
		"--compute real"

static void check_answers(const char *db, int requests)
{
	CHECK_INT(emu_db_num(db, "SELECT answered FROM emu_summary"), requests);
	CHECK_INT(emu_db_num(db, "SELECT incomplete FROM emu_summary"), 0);
	CHECK_INT(emu_db_num(db, "SELECT mismatches FROM emu_summary"), 0);
	CHECK(emu_db_num(db, "SELECT checked FROM emu_summary") >= requests);
	CHECK_INT(emu_db_num(db, "SELECT count(*) FROM emu_requests WHERE mismatch = 0"),
		  requests);
	CHECK_INT(emu_db_num(db, "SELECT threads FROM emu_runs"), 1);
}

static int body(const char *state_dir, const struct emu_caps *caps)
{
	char cmd[4096], db[512], out[65536];
	int rc;

	/* 1: a kill, a re-plan on the 3 nodes left, the requests in flight sent again */
	snprintf(db, sizeof(db), "%s/mnv2.db", state_dir);
	snprintf(cmd, sizeof(cmd), "%s emu --model mobilenetv2 --mem 64MiB " CLUSTER
		 " --requests 16 --state-dir %s --db %s --fault 'kill stage1 at 0.3s'",
		 edgepipe, state_dir, db);
	rc = emu_cli_run(cmd, out, sizeof(out));
	CHECK_INT(rc, 0);
	if (rc == 0) {
		check_answers(db, 16);
		/* Redeployed, and the requests caught in the dead plan were sent again and
		 * answered right by the new one (under a sanitizer the first plan may answer
		 * none before the kill). */
		CHECK(emu_db_num(db, "SELECT count(*) FROM emu_deployments") >= 2);
		CHECK(emu_db_num(db, "SELECT requests_resent FROM emu_summary") >= 1);
	}
	/* 2: ResNet50, then MobileNetV2 */
	snprintf(db, sizeof(db), "%s/resnet.db", state_dir);
	snprintf(cmd, sizeof(cmd), "%s emu --model resnet50 --mem " RESNET_MEM " " CLUSTER
		 " --requests 8 --state-dir %s --db %s --update 'mobilenetv2 at 0.5s'",
		 edgepipe, state_dir, db);
	rc = emu_cli_run(cmd, out, sizeof(out));
	CHECK_INT(rc, 0);
	if (rc == 0) {
		check_answers(db, 8);
		/* answered by both models */
		CHECK_INT(emu_db_num(db, "SELECT count(DISTINCT d.version) FROM emu_requests r "
					 "JOIN emu_deployments d ON d.run_id = r.run_id AND "
					 "d.deployment = r.deployment"),
			  2);
	}
	/* 3: does not fit */
	snprintf(cmd, sizeof(cmd), "%s emu --model mobilenetv2 --mem 8MiB --dtype int8 "
		 CLUSTER " --requests 2 --state-dir %s", edgepipe, state_dir);
	rc = emu_cli_run(cmd, out, sizeof(out));
	CHECK(rc != 0);
	CHECK(strstr(out, "do not fit the node's memory (8.0 MiB)") != NULL);
	/* 4: CPU shares and a measured profile */
	snprintf(db, sizeof(db), "%s/shares.db", state_dir);
	snprintf(cmd, sizeof(cmd), "%s profile mobilenetv2 --repeat 1 --warmup 0 -o %s/mnv2.prof",
		 edgepipe, state_dir);
	rc = emu_cli_run(cmd, out, sizeof(out));
	CHECK_INT(rc, 0);
	snprintf(cmd, sizeof(cmd), "%s emu --model mobilenetv2 --mem 64MiB --nodes 3 --cluster "
		 "uniform --bw-range 100Mbit:200Mbit --seed 1 --probes 0 --compute real --compute "
		 "profile:%s/mnv2.prof --speed-factor 0.5,0.25,0.5 --algo optimal --requests 24 "
		 "--fault 'kill stage0 at 0.3s' --state-dir %s --db %s", edgepipe, state_dir,
		 state_dir, db);
	rc = rc ? rc : emu_cli_run(cmd, out, sizeof(out));
	CHECK_INT(rc, 0);
	if (rc == 0) {
		check_answers(db, 24);
		CHECK(emu_db_num(db, "SELECT count(*) FROM emu_deployments") >= 2);
		if (caps->have[EMU_CAP_CGROUP_CPU]) {
			/* every stage of both deployments */
			CHECK(emu_db_num(db, "SELECT count(*) FROM emu_stages") >
			      emu_db_num(db, "SELECT stages FROM emu_summary"));
			CHECK_INT(emu_db_num(db, "SELECT count(*) FROM emu_stages WHERE "
						 "cpu_share = (CASE node WHEN 1 THEN 0.25 ELSE "
						 "0.5 END)"),
				  emu_db_num(db, "SELECT count(*) FROM emu_stages"));
		}
	}
	return check_exit();
}

int main(int argc, char **argv)
{
	if (argc != 2 || access(argv[1], X_OK) != 0) {
		fprintf(stderr, "usage: test_emu_real PATH_TO_EDGEPIPE\n");
		return 2;
	}
	edgepipe = argv[1];
	return emu_test_main("test_emu_real", body, 110);
}
