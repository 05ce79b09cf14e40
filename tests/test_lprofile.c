/*
 * The measured layer profile format (models/model_lprofile.h): a profile of a zoo model with
 * made-up times survives write + read field for field and writes back byte for byte; the
 * statistics are the median and interquartile range; a profile of another model, a changed
 * graph or a malformed file is refused with a message naming the values (PATH:LINE for the
 * file); the measured times become cumulative times per cut point.
 *
 * Where the expected values come from: the round trip compares with what was written; the
 * statistics are worked out by hand beside each call; the malformed files' line numbers are
 * counted in the texts (line 1 is the first line); the cut times of the four-layer chain are
 * sums of the times written in the test.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <igraph.h>

#include "check.h"
#include "model_lprofile.h"
#include "model_zoo.h"

static FILE *open_text(const char *text)
{
	size_t len = strlen(text);

	if (len == 0)
		return fopen("/dev/null", "r");
	return fmemopen((void *)(uintptr_t)text, len, "r");
}

static int read_text(const char *text, struct model_lprofile **out, struct ep_error *err)
{
	FILE *f = open_text(text);
	int rc;

	*out = NULL;
	if (!f) {
		fprintf(stderr, "cannot open a memory stream: %s\n", strerror(errno));
		check_failures++;
		return EP_EIO;
	}
	rc = model_lprofile_read(f, "t.lprof", out, err);
	fclose(f);
	return rc;
}

static char *write_text(const struct model_lprofile *lp)
{
	char *text = NULL;
	size_t len = 0;
	struct ep_error err;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	CHECK_INT(model_lprofile_write(lp, f, &err), EP_OK);
	fclose(f);
	return text;
}

static void test_stats(void)
{
	double a[5] = { 5, 1, 4, 2, 3 }, b[4] = { 4, 1, 3, 2 }, c[1] = { 7 }, med, spread;

	/* 1..5: median the 3rd value; quartiles at positions 1 and 3 (0-based) = 2 and 4. */
	model_lprofile_stats(a, 5, &med, &spread);
	CHECK_NEAR(med, 3, 0);
	CHECK_NEAR(spread, 2, 0);
	/* 1..4: median at position 1.5 = 2.5; quartiles at 0.75 = 1.75 and 2.25 = 3.25. */
	model_lprofile_stats(b, 4, &med, &spread);
	CHECK_NEAR(med, 2.5, 1e-15);
	CHECK_NEAR(spread, 1.5, 1e-15);
	/* One sample: itself, no spread. */
	model_lprofile_stats(c, 1, &med, &spread);
	CHECK_NEAR(med, 7, 0);
	CHECK_NEAR(spread, 0, 0);
}

static void test_round_trip(void)
{
	struct model_graph *g = NULL, *other = NULL;
	struct model_lprofile *lp = NULL, *back = NULL, *back2 = NULL;
	struct ep_error err;
	char *text = NULL, *text2 = NULL;

	if (model_zoo_build("mobilenetv2", &g, &err) ||
	    model_zoo_build("resnet50", &other, &err)) {
		fprintf(stderr, "zoo: %s\n", err.msg);
		check_failures++;
		goto out;
	}
	CHECK_INT(model_lprofile_create(g, &lp, &err), EP_OK);
	CHECK_STR(lp->model, "mobilenetv2");
	CHECK_INT(lp->n_layers, model_graph_layer_count(g));
	lp->threads = 2;
	lp->repeat = 9;
	strcpy(lp->host, "box-1");
	/* Times that exercise the printing: a third, tiny and zero values. */
	for (size_t i = 0; i < lp->n_layers; i++) {
		lp->layers[i].median_s = i % 7 == 0 ? 0.0 : (double)(i + 1) / 3.0 * 1e-5;
		lp->layers[i].spread_s = (double)i * 1e-9;
		strcpy(lp->layers[i].kernel, i % 2 ? "xnnpack" : "plain");
	}
	text = write_text(lp);
	CHECK(text != NULL);
	if (!text)
		goto out;
	CHECK_INT(read_text(text, &back, &err), EP_OK);
	if (!back) {
		fprintf(stderr, "read back: %s\n", err.msg);
		goto out;
	}
	CHECK_STR(back->model, lp->model);
	CHECK(back->fingerprint == lp->fingerprint);
	CHECK_INT(back->threads, 2);
	CHECK_INT(back->repeat, 9);
	CHECK_STR(back->host, "box-1");
	CHECK_INT(back->n_layers, lp->n_layers);
	for (size_t i = 0; i < lp->n_layers && i < back->n_layers; i++) {
		CHECK_STR(back->layers[i].name, lp->layers[i].name);
		CHECK_STR(back->layers[i].op, lp->layers[i].op);
		CHECK_STR(back->layers[i].kernel, lp->layers[i].kernel);
		CHECK_INT(back->layers[i].flops, lp->layers[i].flops);
		CHECK(back->layers[i].median_s == lp->layers[i].median_s);
		CHECK(back->layers[i].spread_s == lp->layers[i].spread_s);
	}
	text2 = write_text(back);
	CHECK(text2 && strcmp(text, text2) == 0);

	/* It is mobilenetv2's and not resnet50's: the message names both. */
	CHECK_INT(model_lprofile_check(back, g, "m.lprof", &err), EP_OK);
	CHECK_INT(model_lprofile_check(back, other, "m.lprof", &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "'m.lprof'");
	CHECK_CONTAINS(err.msg, "'mobilenetv2'");
	CHECK_CONTAINS(err.msg, "'resnet50'");

	/* The same name with another structure (a layer's FLOPs changed in the file's graph is
	 * not possible through the API, so change the profile's fingerprint instead). */
	back->fingerprint ^= 1;
	CHECK_INT(model_lprofile_check(back, g, "m.lprof", &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "fingerprint");
	back->fingerprint ^= 1;
	/* A renamed layer. */
	strcpy(back->layers[3].name, "renamed");
	CHECK_INT(model_lprofile_check(back, g, "m.lprof", &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "'renamed'");

	/* Fingerprints of the zoo models differ, and a graph's is stable. */
	CHECK(model_lprofile_fingerprint(g) != model_lprofile_fingerprint(other));
	CHECK(model_lprofile_fingerprint(g) == lp->fingerprint);

	/* save + load through a file. */
	{
		char path[] = "/tmp/test_lprofile_XXXXXX";
		int fd = mkstemp(path);

		CHECK(fd >= 0);
		if (fd >= 0) {
			close(fd);
			CHECK_INT(model_lprofile_save(lp, path, &err), EP_OK);
			CHECK_INT(model_lprofile_load(path, &back2, &err), EP_OK);
			CHECK(back2 && back2->n_layers == lp->n_layers);
			model_lprofile_destroy(back2);
			back2 = NULL;
			unlink(path);
		}
		CHECK_INT(model_lprofile_load("/nonexistent/x.lprof", &back2, &err),
			  EP_ENOTFOUND);
		CHECK_CONTAINS(err.msg, "/nonexistent/x.lprof");
		CHECK_INT(model_lprofile_save(lp, "/nonexistent/x.lprof", &err), EP_EIO);
	}
out:
	free(text);
	free(text2);
	model_lprofile_destroy(lp);
	model_lprofile_destroy(back);
	model_lprofile_destroy(back2);
	model_graph_destroy(g);
	model_graph_destroy(other);
}

#define HEAD "edgepipe-lprofile 1\nmodel m\nfingerprint 00000000000000ff\nthreads 1\n" \
	     "repeat 3\nhost h\n"

static void expect_bad(const char *text, const char *part)
{
	struct model_lprofile *lp = NULL;
	struct ep_error err;

	ep_error_clear(&err);
	CHECK_INT(read_text(text, &lp, &err), EP_EINVAL);
	CHECK(lp == NULL);
	CHECK_CONTAINS(err.msg, part);
	model_lprofile_destroy(lp);
}

static void test_bad_files(void)
{
	struct model_lprofile *lp = NULL;
	struct ep_error err;

	/* A good minimal file first, so that the bad ones below fail for their one reason. */
	CHECK_INT(read_text(HEAD "layer in InputLayer none 0 0 0 -\n"
				 "layer d Dense xnnpack 2000 1e-6 0 2\n", &lp, &err), EP_OK);
	CHECK(lp && lp->n_layers == 2 && lp->fingerprint == 0xff);
	model_lprofile_destroy(lp);

	expect_bad("", "t.lprof:0: empty file");
	expect_bad("edgepipe-model 1\n", "t.lprof:1: expected the header");
	expect_bad("# c\nedgepipe-lprofile 2\n", "t.lprof:2: format version '2'");
	expect_bad(HEAD, "t.lprof:0: no layers");
	expect_bad("edgepipe-lprofile 1\nmodel m\nlayer a InputLayer none 0 0 0 -\n",
		   "t.lprof:3: layer before the 'fingerprint' line");
	expect_bad(HEAD "model n\n", "t.lprof:7: 'model' given twice");
	expect_bad(HEAD "layer a InputLayer none 0 0 0 -\nhost x\n",
		   "t.lprof:8: 'host' after the first layer line");
	expect_bad(HEAD "colour blue\n", "t.lprof:7: unknown line 'colour'");
	expect_bad("edgepipe-lprofile 1\nfingerprint 12\n", "t.lprof:2: fingerprint '12'");
	expect_bad("edgepipe-lprofile 1\nthreads 0\n", "t.lprof:2: threads '0'");
	expect_bad("edgepipe-lprofile 1\nrepeat -3\n", "t.lprof:2: repeat '-3'");
	expect_bad("edgepipe-lprofile 1\nhost a b\n", "t.lprof:2: 'host' takes one value");
	expect_bad(HEAD "layer a InputLayer none 0 0 0\n", "t.lprof:7: 7 field(s)");
	expect_bad(HEAD "layer a Dense x -5 1 0 -\n", "t.lprof:7: layer 'a': FLOPs '-5'");
	expect_bad(HEAD "layer a Dense x 5 -1 0 -\n", "t.lprof:7: layer 'a': median '-1'");
	expect_bad(HEAD "layer a Dense x 5 nan 0 -\n", "t.lprof:7: layer 'a': median 'nan'");
	expect_bad(HEAD "layer a Dense x 5 1 1s -\n", "t.lprof:7: layer 'a': spread '1s'");
	/* 2000 FLOPs in 1 us is 2 GFLOP/s, not 3; and not '-'. */
	expect_bad(HEAD "layer a Dense x 2000 1e-6 0 3\n", "t.lprof:7: layer 'a': GFLOP/s 3");
	expect_bad(HEAD "layer a Dense x 2000 1e-6 0 -\n", "t.lprof:7: layer 'a': GFLOP/s is '-'");
	expect_bad("edgepipe-lprofile 1\nmodel m\nfingerprint 00000000000000ff\nthreads 1\n"
		   "repeat 3\nlayer a InputLayer none 0 0 0 -\n",
		   "t.lprof:6: layer before the 'host' line");
	{
		static const char nul[] = "edgepipe-lprofile 1\nmo\0del m\n";
		FILE *f = fmemopen((void *)(uintptr_t)nul, sizeof(nul) - 1, "r");

		CHECK(f != NULL);
		if (f) {
			CHECK_INT(model_lprofile_read(f, "t.lprof", &lp, &err), EP_EINVAL);
			CHECK_CONTAINS(err.msg, "t.lprof:2: contains a NUL byte");
			fclose(f);
		}
	}
}

/* input -> conv -> relu -> dense: a chain, so every layer is a cut point. */
static void test_apply(void)
{
	struct model_graph *g = model_graph_create("chain"), *g2 = NULL;
	struct model_lprofile *lp = NULL;
	struct model_profile *prof = NULL;
	struct model_profile_options opt = MODEL_PROFILE_OPTIONS_DEFAULT;
	struct ep_error err;
	int x;
	/* Measured medians in seconds, made up: the cumulative sums are 0, 3, 3.5, 4.5 ms. */
	static const double t[4] = { 0, 3e-3, 0.5e-3, 1e-3 };

	CHECK(g != NULL);
	if (!g)
		return;
	x = model_add_input(g, NULL, 8, 8, 3);
	x = model_add_conv2d(g, NULL, x, 4, 3, 3, 1, MODEL_PAD_SAME, true, MODEL_ACT_LINEAR);
	x = model_add_relu(g, NULL, x, 0);
	x = model_add_flatten(g, NULL, x);
	CHECK(x >= 0);
	CHECK_INT(model_graph_validate(g, &err), EP_OK);
	CHECK_INT(model_profile_create(g, &opt, &prof, &err), EP_OK);
	CHECK_INT(model_lprofile_create(g, &lp, &err), EP_OK);
	if (!prof || !lp)
		goto out;
	CHECK_INT(prof->n_cuts, 4);
	CHECK(!prof->has_measured);
	for (int i = 0; i < 4; i++)
		lp->layers[i].median_s = t[i];
	CHECK_INT(model_lprofile_apply(lp, g, "c.lprof", prof, &err), EP_OK);
	CHECK(prof->has_measured);
	CHECK_NEAR(prof->cuts[0].cum_measured_s, 0, 0);
	CHECK_NEAR(prof->cuts[1].cum_measured_s, 3e-3, 1e-15);
	CHECK_NEAR(prof->cuts[2].cum_measured_s, 3.5e-3, 1e-15);
	CHECK_NEAR(prof->cuts[3].cum_measured_s, 4.5e-3, 1e-15);

	/* A graph with the same name and layers but one more filter: another fingerprint. */
	g2 = model_graph_create("chain");
	x = model_add_input(g2, NULL, 8, 8, 3);
	x = model_add_conv2d(g2, NULL, x, 5, 3, 3, 1, MODEL_PAD_SAME, true, MODEL_ACT_LINEAR);
	x = model_add_relu(g2, NULL, x, 0);
	x = model_add_flatten(g2, NULL, x);
	CHECK(x >= 0);
	CHECK(model_lprofile_fingerprint(g2) != lp->fingerprint);
	CHECK_INT(model_lprofile_apply(lp, g2, "c.lprof", prof, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "'c.lprof'");
	CHECK_CONTAINS(err.msg, "fingerprint");
out:
	model_profile_destroy(prof);
	model_lprofile_destroy(lp);
	model_graph_destroy(g);
	model_graph_destroy(g2);
}

int main(void)
{
	igraph_set_error_handler(igraph_error_handler_ignore);
	igraph_set_warning_handler(igraph_warning_handler_ignore);
	test_stats();
	test_round_trip();
	test_bad_files();
	test_apply();
	return check_exit();
}
