/*
 * Wire codecs in the emulator (--compress CODEC): every stage and the dispatcher encode what
 * they send and decode what they receive with the run's codec (emu_codec.h).
 *
 * 1. Real compute, MobileNetV2 on 3 nodes, the same plan and images under none and each
 *    lossless codec (lz4, zstd, zfp, zfp+lz4): every request answered, 0 mismatches, and the
 *    largest difference from the whole model's output EQUAL to the uncompressed pipeline's
 *    (a lossless codec gives every stage the bits it would have had; any changed bit of a
 *    real activation moves some output, so a different max_diff means a changed bit).
 *    The codec is what the database says it is, the tensors were coded (wire bytes differ
 *    from raw bytes on every link: smaller or larger, as the data allows; a cut tensor without
 *    a ReLU before it has no zeros and full mantissas, which ZFP's reversible mode expands),
 *    and the time coding was measured at both ends of every link that carried frames.
 *    A lossy codec, zfp:precision=8 (8 of a float's 32 bit planes): the answers differ from
 *    the whole model's by more than the uncompressed pipeline's (largest absolute
 *    difference stored), every link carries under half the raw bytes (ZFP's fixed-precision
 *    mode spends at most 8 bits a value plus a few bits of block header, against 32), and
 *    the stored top-1 agreement is the fraction of checked answers that are not mismatches
 *    (with a lossy codec a mismatch is an answer of another top-1 class).
 * 2. Synthetic tensors (--compute none) with zfp+lz4: the same per-link records, each link's
 *    raw bytes = frames x its tensor's bytes (the profile's transfer, as without a codec).
 *
 * Usage: test_emu_wire PATH_TO_EDGEPIPE
 */
#include "check.h"
#include "emu_cli.h"
#include "emu_harness.h"

static const char *edgepipe;

#define REAL "--model mobilenetv2 --mem 64MiB --nodes 3 --cluster uniform " \
	     "--bw-range 100Mbit:200Mbit --seed 1 --probes 0 --compute real --requests 6"

#define SYNTHETIC "--model mobilenetv2 --mem 64MiB --nodes 3 --cluster uniform " \
		  "--bw-range 100Mbit:200Mbit --seed 1 --probes 0 --compute none --requests 8"

static char out[65536]; /* the last run's output */

static int run(const char *state_dir, const char *db, const char *args, const char *codec)
{
	char cmd[4096];
	int rc;

	snprintf(cmd, sizeof(cmd), "%s emu %s --compress %s --state-dir %s --db %s", edgepipe,
		 args, codec, state_dir, db);
	rc = emu_cli_run(cmd, out, sizeof(out));
	if (rc != 0)
		fprintf(stderr, "%s\n%s\n", cmd, out);
	return rc;
}

static int body(const char *state_dir, const struct emu_caps *caps)
{
	static const char *const lossless[] = { "lz4", "zstd", "zfp", "zfp+lz4" };
	char db[512], text[256], plan0[256];
	double diff0, abs0, tensor[3] = { 0, 0, 0 };
	int rc;

	(void)caps;
	/* 1: the uncompressed pipeline, then each lossless codec */
	snprintf(db, sizeof(db), "%s/none.db", state_dir);
	rc = run(state_dir, db, REAL, "none");
	CHECK_INT(rc, 0);
	if (rc != 0)
		return check_exit();
	CHECK_INT(emu_db_num(db, "SELECT mismatches FROM emu_summary"), 0);
	diff0 = emu_db_num(db, "SELECT max_diff FROM emu_summary");
	abs0 = emu_db_num(db, "SELECT max_abs_diff FROM emu_summary");
	CHECK(emu_db_num(db, "SELECT top1_agreement FROM emu_summary") == 1);
	snprintf(plan0, sizeof(plan0), "%s",
		 emu_db_text(db, "SELECT plan FROM emu_deployments", text, sizeof(text)));
	/* without a codec the wire carries the raw bytes */
	CHECK(emu_db_num(db, "SELECT sum(wire_bytes) - sum(raw_bytes) FROM emu_links") == 0);
	CHECK(emu_db_num(db, "SELECT sum(raw_bytes) FROM emu_links") > 0);
	for (size_t i = 0; i < sizeof(lossless) / sizeof(lossless[0]); i++) {
		char name[64];

		snprintf(db, sizeof(db), "%s/c%zu.db", state_dir, i);
		rc = run(state_dir, db, REAL, lossless[i]);
		CHECK_INT(rc, 0);
		if (rc != 0)
			continue;
		CHECK_INT(emu_db_num(db, "SELECT answered FROM emu_summary"), 6);
		CHECK_INT(emu_db_num(db, "SELECT mismatches FROM emu_summary"), 0);
		CHECK(emu_db_num(db, "SELECT max_diff FROM emu_summary") == diff0);
		CHECK(emu_db_num(db, "SELECT max_abs_diff FROM emu_summary") == abs0);
		CHECK(emu_db_num(db, "SELECT top1_agreement FROM emu_summary") == 1);
		/* the same plan as the uncompressed run (the comparison is of like with like) */
		CHECK(strcmp(emu_db_text(db, "SELECT plan FROM emu_deployments", text,
					 sizeof(text)), plan0) == 0);
		snprintf(name, sizeof(name), "%s", lossless[i]);
		if (strcmp(name, "zstd") == 0)
			snprintf(name, sizeof(name), "zstd:3"); /* the canonical spec */
		CHECK(strcmp(emu_db_text(db, "SELECT compress FROM emu_runs", text, sizeof(text)),
			     name) == 0);
		/* coded, and timed at both ends */
		CHECK_INT(emu_db_num(db, "SELECT count(*) FROM emu_links WHERE frames > 0 AND "
					 "NOT (wire_bytes <> raw_bytes AND encode_s > 0 AND "
					 "decode_s > 0)"),
			  0);
		CHECK(emu_db_num(db, "SELECT count(*) FROM emu_links WHERE frames > 0") >= 3);
		/* the summary is the links' sum */
		CHECK(fabs(emu_db_num(db, "SELECT s.wire_bytes - (SELECT sum(wire_bytes) FROM "
					  "emu_links) FROM emu_summary s")) < 0.5);
		CHECK(fabs(emu_db_num(db, "SELECT s.encode_s - (SELECT sum(encode_s) FROM "
					  "emu_links) FROM emu_summary s")) < 1e-9);
	}
	/* 1b: lossy */
	snprintf(db, sizeof(db), "%s/lossy.db", state_dir);
	rc = run(state_dir, db, REAL " --format json", "zfp:precision=8");
	CHECK_INT(rc, 0);
	if (rc == 0) {
		/* the JSON report names the compute and the codec (it said "none" for real
		 * compute) and gives the codec's effect */
		CHECK(strstr(out, "\"compute\": \"real\", \"compress\": \"zfp:precision=8\"") !=
		      NULL);
		CHECK(strstr(out, "\"top1_agreement\": ") != NULL);
		CHECK_INT(emu_db_num(db, "SELECT answered FROM emu_summary"), 6);
		CHECK(emu_db_num(db, "SELECT max_abs_diff FROM emu_summary") > abs0);
		CHECK_INT(emu_db_num(db, "SELECT count(*) FROM emu_links WHERE frames > 0 AND "
					 "NOT (2 * wire_bytes < raw_bytes)"),
			  0);
		CHECK(fabs(emu_db_num(db, "SELECT top1_agreement * checked - (checked - "
					  "mismatches) FROM emu_summary")) < 1e-9);
		CHECK(emu_db_num(db, "SELECT top1_agreement FROM emu_summary") >= 0);
	}
	/* 2: synthetic tensors, uncompressed and coded */
	snprintf(db, sizeof(db), "%s/synthetic-none.db", state_dir);
	rc = run(state_dir, db, SYNTHETIC, "none");
	CHECK_INT(rc, 0);
	for (int hop = 0; rc == 0 && hop < 3; hop++) {
		char q[160];

		snprintf(q, sizeof(q), "SELECT raw_bytes / frames FROM emu_links WHERE hop = %d",
			 hop);
		tensor[hop] = emu_db_num(db, q);
	}
	snprintf(db, sizeof(db), "%s/synthetic.db", state_dir);
	rc = run(state_dir, db, SYNTHETIC, "zfp+lz4");
	CHECK_INT(rc, 0);
	for (int hop = 0; rc == 0 && hop < 3; hop++) {
		char q[160];

		snprintf(q, sizeof(q), "SELECT raw_bytes / frames FROM emu_links WHERE hop = %d",
			 hop);
		CHECK(emu_db_num(db, q) == tensor[hop]);
	}
	if (rc == 0) {
		CHECK_INT(emu_db_num(db, "SELECT answered FROM emu_summary"), 8);
		CHECK_INT(emu_db_num(db, "SELECT count(*) FROM emu_links WHERE frames > 0 AND "
					 "NOT (wire_bytes <> raw_bytes AND encode_s > 0 AND "
					 "decode_s > 0)"),
			  0);
		/* the stages decoded every frame they received and coded every one they sent */
		CHECK_INT(emu_db_num(db, "SELECT count(*) FROM emu_stages WHERE frames_in = 0 OR "
					 "bytes_out_wire = bytes_out_raw"),
			  0);
	}
	return check_exit();
}

int main(int argc, char **argv)
{
	if (argc != 2 || access(argv[1], X_OK) != 0) {
		fprintf(stderr, "usage: test_emu_wire PATH_TO_EDGEPIPE\n");
		return 2;
	}
	edgepipe = argv[1];
	return emu_test_main("test_emu_wire", body, 150);
}
