/*
 * The model file format (models/model_file.h): every zoo model survives write + read unchanged
 * and writes back byte for byte; a hand-written file reads into exactly the layers it spells
 * out; malformed files are refused with EP_EINVAL and a message "PATH:LINE: ..." that names the
 * problem; load and save report missing paths and failing writes.
 *
 * Where the expected values come from: the zoo round trip compares the reader's graph with the
 * builder's (model_graph_equal) and the second text with the first; the hand-written file's
 * values are the numbers written in it, each worked out by hand beside the file under the
 * FLOP convention of model_graph.h; the malformed files' line numbers are counted in the texts
 * below (line 1 is the first line of the text).
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <igraph.h>

#include "check.h"
#include "model_file.h"
#include "model_zoo.h"

/* A FILE reading `len` bytes of `text`. fmemopen refuses a zero size on some C libraries, so
 * the empty file comes from /dev/null. */
static FILE *open_text(const char *text, size_t len)
{
	if (len == 0)
		return fopen("/dev/null", "r");
	return fmemopen((void *)(uintptr_t)text, len, "r");
}

/* Read `text` as the model file `path`; returns the reader's code, graph in *out. */
static int read_text(const char *path, const char *text, size_t len, struct model_graph **out,
		     struct ep_error *err)
{
	FILE *f = open_text(text, len);
	int rc;

	*out = NULL;
	if (!f) {
		fprintf(stderr, "cannot open a memory stream for %s: %s\n", path, strerror(errno));
		check_failures++;
		return EP_EIO;
	}
	rc = model_file_read(f, path, out, err);
	fclose(f);
	return rc;
}

/* Write `g` into a new heap buffer (*text, *len, owned by the caller). */
static int write_text(const struct model_graph *g, char **text, size_t *len)
{
	struct ep_error err;
	FILE *f = open_memstream(text, len);
	int rc;

	if (!f) {
		*text = NULL;
		*len = 0;
		return EP_ENOMEM;
	}
	rc = model_file_write(g, f, &err);
	fclose(f);
	if (rc)
		fprintf(stderr, "model_file_write('%s'): %s\n", model_graph_name(g), err.msg);
	return rc;
}

/* ---- (a) the zoo round trip ----------------------------------------------------------- */

static void test_zoo_round_trip(void)
{
	for (size_t i = 0; i < model_zoo_count; i++) {
		const char *name = model_zoo[i].name;
		struct model_graph *g = NULL, *back = NULL;
		char *text1 = NULL, *text2 = NULL, path[128];
		size_t len1 = 0, len2 = 0;
		struct ep_error err;
		int rc, before = check_failures;

		rc = model_zoo_build(name, &g, &err);
		CHECK_INT(rc, EP_OK);
		if (rc)
			goto next;
		CHECK_INT(write_text(g, &text1, &len1), EP_OK);
		/* The header is the first line (model_file.h, format version 1). */
		CHECK(len1 > 17 && memcmp(text1, "edgepipe-model 1\n", 17) == 0);
		snprintf(path, sizeof(path), "zoo/%s.model", name);
		rc = read_text(path, text1, len1, &back, &err);
		CHECK_INT(rc, EP_OK);
		if (rc) {
			fprintf(stderr, "  %s\n", err.msg);
			goto next;
		}
		CHECK(model_graph_equal(g, back));
		CHECK_STR(model_graph_name(back), name);
		CHECK_INT(model_graph_layer_count(back), model_graph_layer_count(g));
		CHECK_INT(model_graph_params(back), model_graph_params(g));
		CHECK_INT(model_graph_flops(back), model_graph_flops(g));
		CHECK_INT(write_text(back, &text2, &len2), EP_OK);
		CHECK_INT(len2, len1);
		CHECK(len1 == len2 && memcmp(text1, text2, len1) == 0);
next:
		if (check_failures != before)
			fprintf(stderr, "  in the round trip of zoo model '%s'\n", name);
		free(text1);
		free(text2);
		model_graph_destroy(g);
		model_graph_destroy(back);
	}
}

/*
 * model_graph_equal must be able to say no, or the round trip above proves nothing: a different
 * model, and the same text with one FLOP count changed, compare unequal.
 */
static void test_equal_can_fail(void)
{
	struct model_graph *a = NULL, *b = NULL, *c = NULL;
	struct ep_error err;
	char *text = NULL, *p;
	size_t len = 0;

	CHECK_INT(model_zoo_build("resnet50", &a, &err), EP_OK);
	CHECK_INT(model_zoo_build("resnet101", &b, &err), EP_OK);
	if (!a || !b)
		goto out;
	CHECK(!model_graph_equal(a, b));
	CHECK_INT(write_text(a, &text, &len), EP_OK);
	/* ResNet50's conv1_conv line: 2 * (112*112*64) * (7*7*3) + 112*112*64 (bias)
	 * = 236027904 + 802816 = 236830720 FLOPs. Turning its last digit 0 into 1 must make the
	 * graphs differ. */
	p = text ? strstr(text, " 236830720 ") : NULL;
	CHECK(p != NULL);
	if (!p)
		goto out;
	p[9] = '1';
	CHECK_INT(read_text("zoo/resnet50-edited.model", text, len, &c, &err), EP_OK);
	CHECK(c && !model_graph_equal(a, c));
out:
	free(text);
	model_graph_destroy(a);
	model_graph_destroy(b);
	model_graph_destroy(c);
}

/* ---- (b) a hand-written file ------------------------------------------------------------ */

/*
 * A tiny residual network: input 8x8x4 -> Conv2D 3x3 same, 4 filters, bias -> BatchNorm ->
 * relu -> Add(relu, input) -> GlobalAveragePooling2D -> a custom op -> Dense 10 softmax.
 * Hand calculations under model_graph.h's convention (output elements E = 8*8*4 = 256):
 * - conv2d: params 3*3*4*4 + 4 = 148; FLOPs 2 * 256 * (3*3*4) + 256 (bias) = 18688;
 * - batch_normalization: gamma + beta 2*4 = 8 trainable, moving mean + variance 2*4 = 8 not;
 *   FLOPs 2 * 256 = 512;
 * - activation: 1 * 256; add: (2 - 1) * 256; global_average_pooling2d: 1 per input = 256;
 * - my_custom: an op edgepipe does not know, 0 params and 0 FLOPs as written;
 * - predictions: params 4*10 + 10 = 50; FLOPs 2*4*10 + 10 (bias) + 10 (softmax) = 100.
 * Totals: params 148 + 16 + 50 = 214, of which 148 + 8 + 50 = 206 trainable;
 * FLOPs 18688 + 512 + 3*256 + 100 = 20068.
 * The text mixes blanks and tabs, comments, a trailing comment, a blank line of blanks and a
 * CRLF line ending, all of which the format ignores.
 */
static const char tiny_text[] =
	"# A tiny residual network, written by hand for test_model_file.\n"
	"\n"
	"edgepipe-model 1\t# the header may carry a comment too\n"
	"model tiny_resnet\n"
	"# name op inputs shape params flops dtype [attributes]\n"
	"input_1\tInputLayer\t-\t8x8x4\t0\t0\tfloat32\n"
	"conv2d Conv2D input_1 8x8x4 148 18688 float32 filters=4 kernel=3,3 strides=1,1 "
	"padding=same use_bias=true   # the 3x3 convolution\n"
	" \t \n"
	"batch_normalization  BatchNormalization conv2d\t8x8x4 8+8 512 float32 axis=-1 "
	"center=true scale=true\n"
	"activation Activation batch_normalization 8x8x4 0 256 float32 activation=relu\r\n"
	"add Add activation,input_1 8x8x4 0 256 float32\n"
	"global_average_pooling2d GlobalAveragePooling2D add 4 0 256 float16\n"
	"my_custom MyCustomOp global_average_pooling2d 4 0 0 int8 scale_value=0.5\n"
	"predictions Dense my_custom 10 50 100 float32 units=10 use_bias=true activation=softmax\n";

struct want_layer {
	const char *name;
	const char *op_name;
	enum model_op op;
	int n_inputs;
	int inputs[2];
	int rank;
	int64_t shape[3];
	int64_t params_trainable, params_non_trainable, flops;
	enum model_dtype dtype;
	struct model_attrs attrs;
};

static const struct want_layer tiny_want[] = {
	{ "input_1", "InputLayer", MODEL_OP_INPUT, 0, { 0 }, 3, { 8, 8, 4 }, 0, 0, 0,
	  MODEL_DTYPE_FLOAT32, { 0 } },
	{ "conv2d", "Conv2D", MODEL_OP_CONV2D, 1, { 0 }, 3, { 8, 8, 4 }, 148, 0, 18688,
	  MODEL_DTYPE_FLOAT32,
	  { .filters = 4, .kernel = { 3, 3 }, .strides = { 1, 1 }, .padding = MODEL_PAD_SAME,
	    .use_bias = true } },
	{ "batch_normalization", "BatchNormalization", MODEL_OP_BATCH_NORM, 1, { 1 }, 3,
	  { 8, 8, 4 }, 8, 8, 512, MODEL_DTYPE_FLOAT32,
	  { .axis = -1, .center = true, .scale = true } },
	{ "activation", "Activation", MODEL_OP_ACTIVATION, 1, { 2 }, 3, { 8, 8, 4 }, 0, 0, 256,
	  MODEL_DTYPE_FLOAT32, { .activation = MODEL_ACT_RELU } },
	{ "add", "Add", MODEL_OP_ADD, 2, { 3, 0 }, 3, { 8, 8, 4 }, 0, 0, 256, MODEL_DTYPE_FLOAT32,
	  { 0 } },
	{ "global_average_pooling2d", "GlobalAveragePooling2D", MODEL_OP_GLOBAL_AVG_POOL2D, 1,
	  { 4 }, 1, { 4 }, 0, 0, 256, MODEL_DTYPE_FLOAT16, { 0 } },
	{ "my_custom", "MyCustomOp", MODEL_OP_OTHER, 1, { 5 }, 1, { 4 }, 0, 0, 0, MODEL_DTYPE_INT8,
	  { .scale_value = 0.5 } },
	{ "predictions", "Dense", MODEL_OP_DENSE, 1, { 6 }, 1, { 10 }, 50, 0, 100,
	  MODEL_DTYPE_FLOAT32,
	  { .units = 10, .use_bias = true, .activation = MODEL_ACT_SOFTMAX } },
};

/* Every field of `got` equals `want`; the zero fields too, so nothing is set by accident. */
static void check_attrs(const struct model_attrs *got, const struct model_attrs *want)
{
	CHECK_INT(got->filters, want->filters);
	CHECK_INT(got->units, want->units);
	CHECK_INT(got->groups, want->groups);
	CHECK_INT(got->depth_multiplier, want->depth_multiplier);
	CHECK_INT(got->axis, want->axis);
	CHECK_INT(got->padding, want->padding);
	CHECK_INT(got->activation, want->activation);
	CHECK_NEAR(got->max_value, want->max_value, 0);
	CHECK_NEAR(got->scale_value, want->scale_value, 0);
	CHECK_INT(got->use_bias, want->use_bias);
	CHECK_INT(got->center, want->center);
	CHECK_INT(got->scale, want->scale);
	CHECK_INT(got->keepdims, want->keepdims);
	CHECK_INT(got->target_rank, want->target_rank);
	for (int i = 0; i < 2; i++) {
		CHECK_INT(got->kernel[i], want->kernel[i]);
		CHECK_INT(got->strides[i], want->strides[i]);
		CHECK_INT(got->dilation[i], want->dilation[i]);
	}
	for (int i = 0; i < 4; i++) {
		CHECK_INT(got->pad[i], want->pad[i]);
		CHECK_INT(got->target[i], want->target[i]);
	}
}

static void check_layer(const struct model_graph *g, size_t i, const struct want_layer *w)
{
	const struct model_layer *l = model_graph_layer(g, i);
	int before = check_failures;

	CHECK_STR(l->name, w->name);
	CHECK_STR(l->op_name, w->op_name);
	CHECK_INT(l->op, w->op);
	CHECK_INT(l->n_inputs, w->n_inputs);
	for (int k = 0; k < w->n_inputs && k < l->n_inputs; k++)
		CHECK_INT(l->inputs[k], w->inputs[k]);
	CHECK_INT(l->rank, w->rank);
	for (int d = 0; d < w->rank && d < l->rank; d++)
		CHECK_INT(l->shape[d], w->shape[d]);
	CHECK_INT(l->params_trainable, w->params_trainable);
	CHECK_INT(l->params_non_trainable, w->params_non_trainable);
	CHECK_INT(l->flops, w->flops);
	CHECK_INT(l->dtype, w->dtype);
	check_attrs(&l->attrs, &w->attrs);
	if (check_failures != before)
		fprintf(stderr, "  in layer %zu ('%s') of the hand-written file\n", i, w->name);
}

static void test_hand_written(void)
{
	const size_t n = sizeof(tiny_want) / sizeof(tiny_want[0]);
	struct model_graph *g = NULL, *back = NULL;
	struct ep_error err;
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = read_text("hand/tiny.model", tiny_text, sizeof(tiny_text) - 1, &g, &err);
	CHECK_INT(rc, EP_OK);
	if (rc) {
		fprintf(stderr, "  %s\n", err.msg);
		return;
	}
	CHECK_STR(model_graph_name(g), "tiny_resnet"); /* the file's "model" line */
	CHECK_INT(model_graph_layer_count(g), n);
	for (size_t i = 0; i < n && i < model_graph_layer_count(g); i++)
		check_layer(g, i, &tiny_want[i]);
	CHECK_INT(model_graph_params(g), 214);           /* totals worked out above */
	CHECK_INT(model_graph_params_trainable(g), 206);
	CHECK_INT(model_graph_flops(g), 20068);
	CHECK_INT(model_graph_find(g, "my_custom"), 6);

	/* A graph read from a file round-trips too, the unknown op by its name. */
	CHECK_INT(write_text(g, &text, &len), EP_OK);
	CHECK(text && strstr(text, "\nmy_custom MyCustomOp global_average_pooling2d 4 0 0 int8 "
				   "scale_value=0.5\n"));
	CHECK_INT(read_text("hand/tiny-again.model", text, len, &back, &err), EP_OK);
	CHECK(back && model_graph_equal(g, back));
	free(text);
	model_graph_destroy(g);
	model_graph_destroy(back);
}

/* Without a "model" line the name is the file name without directory and last suffix
 * (model_file.h). */
static void test_default_name(void)
{
	static const char text[] = "edgepipe-model 1\n"
				   "in InputLayer - 3 0 0 float32\n"
				   "out Dense in 2 8 14 float32 units=2 use_bias=true\n";
	struct model_graph *g = NULL;
	struct ep_error err;

	CHECK_INT(read_text("some/dir/tiny.v1.model", text, sizeof(text) - 1, &g, &err), EP_OK);
	CHECK_STR(g ? model_graph_name(g) : NULL, "tiny.v1");
	model_graph_destroy(g);
	CHECK_INT(read_text("plain", text, sizeof(text) - 1, &g, &err), EP_OK);
	CHECK_STR(g ? model_graph_name(g) : NULL, "plain");
	model_graph_destroy(g);
}

/*
 * Every attribute key of model_file.h, each with a value that is not its default, read into
 * the field model_attrs names, and written back to an equal graph.
 */
static void test_all_attributes(void)
{
	static const char text[] =
		"edgepipe-model 1\n"
		"in InputLayer - 6x6x2 0 0 float64\n"
		"x Conv2D in 6x6x2 1 2 float64 filters=8 units=3 groups=2 depth_multiplier=5 "
		"axis=-1 target_rank=3 kernel=3,5 strides=2,1 dilation=1,4 pad=1,2,3,4 "
		"target=6,7,8 padding=same activation=swish max_value=6 scale_value=0.17 "
		"use_bias=true center=true scale=true keepdims=true\n";
	const struct model_attrs want = {
		.filters = 8, .units = 3, .groups = 2, .depth_multiplier = 5, .axis = -1,
		.target_rank = 3, .kernel = { 3, 5 }, .strides = { 2, 1 }, .dilation = { 1, 4 },
		.pad = { 1, 2, 3, 4 }, .target = { 6, 7, 8 }, .padding = MODEL_PAD_SAME,
		.activation = MODEL_ACT_SWISH, .max_value = 6, .scale_value = 0.17,
		.use_bias = true, .center = true, .scale = true, .keepdims = true,
	};
	struct model_graph *g = NULL, *back = NULL;
	struct ep_error err;
	char *out = NULL;
	size_t len = 0;

	CHECK_INT(read_text("hand/attrs.model", text, sizeof(text) - 1, &g, &err), EP_OK);
	if (!g)
		return;
	check_attrs(&model_graph_layer(g, 1)->attrs, &want);
	CHECK_INT(model_graph_layer(g, 1)->dtype, MODEL_DTYPE_FLOAT64);
	CHECK_INT(write_text(g, &out, &len), EP_OK);
	CHECK_INT(read_text("hand/attrs-again.model", out, len, &back, &err), EP_OK);
	CHECK(back && model_graph_equal(g, back));
	free(out);
	model_graph_destroy(g);
	model_graph_destroy(back);
}

/*
 * model_file.h: "Writing a graph and reading it back gives an equal graph." That holds for
 * every graph the reader accepts, including a Reshape target given without target_rank (the
 * reader keeps target[] = 16,12 and target_rank = 0).
 */
static void test_read_graph_round_trips(void)
{
	static const char text[] = "edgepipe-model 1\n"
				   "in InputLayer - 4x4x12 0 0 float32\n"
				   "r Reshape in 16x12 0 0 float32 target=16,12\n";
	struct model_graph *g = NULL, *back = NULL;
	struct ep_error err;
	char *out = NULL;
	size_t len = 0;

	CHECK_INT(read_text("hand/reshape.model", text, sizeof(text) - 1, &g, &err), EP_OK);
	if (!g)
		return;
	CHECK_INT(write_text(g, &out, &len), EP_OK);
	CHECK_INT(read_text("hand/reshape-again.model", out, len, &back, &err), EP_OK);
	CHECK(back && model_graph_equal(g, back));
	free(out);
	model_graph_destroy(g);
	model_graph_destroy(back);
}

/* ---- (c) malformed files ---------------------------------------------------------------- */

/*
 * Reading `text` (`len` bytes; -1 means up to the NUL) as `path` fails with EP_EINVAL and no
 * graph, and the message names the file, the line ("PATH:LINE:", model_file.h; `line` 0 when
 * the problem is the file as a whole and has no line), the offending value `value` (NULL if
 * none) and the problem `what`.
 */
static void check_invalid(const char *path, const char *text, long len, long line,
			  const char *value, const char *what)
{
	struct model_graph *g = NULL;
	struct ep_error err = { 0 };
	char where[256];
	int rc, before = check_failures;

	rc = read_text(path, text, len < 0 ? strlen(text) : (size_t)len, &g, &err);
	CHECK_INT(rc, EP_EINVAL);
	CHECK(g == NULL);
	CHECK_INT(err.code, EP_EINVAL);
	CHECK_CONTAINS(err.msg, path);
	if (line > 0) {
		snprintf(where, sizeof(where), "%s:%ld: ", path, line);
		CHECK_CONTAINS(err.msg, where);
	}
	if (value)
		CHECK_CONTAINS(err.msg, value);
	CHECK_CONTAINS(err.msg, what);
	if (check_failures != before)
		fprintf(stderr, "  in malformed file '%s'\n", path);
	model_graph_destroy(g);
}

#define HDR "edgepipe-model 1\n"
#define IN  "input_1 InputLayer - 8x8x3 0 0 float32\n"
/* A valid last layer reading `x`: Dense 10 on a vector of 3 would be 40 params; the numbers
 * do not matter here, only the syntax. */
#define OUT(x) "out Dense " x " 10 40 90 float32\n"

static void test_malformed(void)
{
	char longname[200], longop[200], manyin[400], manyfields[600];
	static const char nul_text[] = HDR IN "d Dense input_1 10 40 90 float32\0 junk\n" OUT("d");

	/* Header problems. */
	check_invalid("bad/no-header.model", "# a model\n\n" IN OUT("input_1"), -1, 3, NULL,
		      "expected the header 'edgepipe-model 1'");
	check_invalid("bad/version.model", "edgepipe-model 2\n" IN OUT("input_1"), -1, 1, "'2'",
		      "version");
	check_invalid("bad/header-extra.model", "edgepipe-model 1 extra\n" IN OUT("input_1"), -1,
		      1, NULL, "header");
	check_invalid("bad/empty.model", "", -1, 0, NULL, "empty file");
	check_invalid("bad/only-comments.model", "# nothing\n\n   \n", -1, 0, NULL, "empty file");
	check_invalid("bad/no-layers.model", HDR "# no layers\n", -1, 0, NULL, "no layers");

	/* Field syntax. */
	check_invalid("bad/few-fields.model", HDR IN "d Dense input_1 10 40 90\n" OUT("d"), -1, 3,
		      "6 field(s)", "NAME OP INPUTS SHAPE PARAMS FLOPS DTYPE");
	check_invalid("bad/zero-dim.model", HDR IN "d Dense input_1 8x0x3 0 0 float32\n" OUT("d"),
		      -1, 3, "'8x0x3'", "zero dimension");
	check_invalid("bad/double-x.model", HDR IN "d Dense input_1 12xx3 0 0 float32\n" OUT("d"),
		      -1, 3, "'12xx3'", "positive integers joined by 'x'");
	check_invalid("bad/five-dims.model",
		      HDR IN "d Dense input_1 1x2x3x4x5 0 0 float32\n" OUT("d"), -1, 3,
		      "'1x2x3x4x5'", "1 to 4");
	check_invalid("bad/neg-dim.model", HDR IN "d Dense input_1 -3 0 0 float32\n" OUT("d"), -1,
		      3, "'-3'", "shape");
	check_invalid("bad/neg-params.model", HDR IN "d Dense input_1 10 -40 90 float32\n" OUT("d"),
		      -1, 3, "'-40'", "parameters");
	check_invalid("bad/word-params.model",
		      HDR IN "d Dense input_1 10 forty 90 float32\n" OUT("d"), -1, 3, "'forty'",
		      "parameters");
	check_invalid("bad/neg-nontrainable.model",
		      HDR IN "d Dense input_1 10 8+-8 90 float32\n" OUT("d"), -1, 3, "'8+-8'",
		      "parameters");
	check_invalid("bad/float-flops.model",
		      HDR IN "d Dense input_1 10 40 1.5e3 float32\n" OUT("d"), -1, 3, "'1.5e3'",
		      "FLOPs");
	check_invalid("bad/neg-flops.model", HDR IN "d Dense input_1 10 40 -90 float32\n" OUT("d"),
		      -1, 3, "'-90'", "FLOPs");
	/* 2^63 does not fit an int64_t. */
	check_invalid("bad/huge-flops.model",
		      HDR IN "d Dense input_1 10 40 9223372036854775808 float32\n" OUT("d"), -1, 3,
		      "'9223372036854775808'", "FLOPs");
	check_invalid("bad/dtype.model", HDR IN "d Dense input_1 10 40 90 int4\n" OUT("d"), -1, 3,
		      "'int4'", "unknown dtype");
	/* "default" names no element type (model_graph.h: never stored in a layer). */
	check_invalid("bad/dtype-default.model", HDR IN "d Dense input_1 10 40 90 default\n"
		      OUT("d"), -1, 3, "'default'", "dtype");

	/* Attributes. */
	check_invalid("bad/attr-key.model",
		      HDR IN "d Dense input_1 10 40 90 float32 colour=red\n" OUT("d"), -1, 3,
		      "'colour'", "unknown attribute");
	check_invalid("bad/attr-padding.model",
		      HDR IN "d Dense input_1 10 40 90 float32 padding=diagonal\n" OUT("d"), -1, 3,
		      "padding=diagonal", "valid or same");
	check_invalid("bad/attr-kernel.model",
		      HDR IN "d Dense input_1 10 40 90 float32 kernel=3\n" OUT("d"), -1, 3,
		      "kernel=3", "expected 2");
	check_invalid("bad/attr-bool.model",
		      HDR IN "d Dense input_1 10 40 90 float32 use_bias=yes\n" OUT("d"), -1, 3,
		      "use_bias=yes", "true or false");
	check_invalid("bad/attr-activation.model",
		      HDR IN "d Dense input_1 10 40 90 float32 activation=gelu\n" OUT("d"), -1, 3,
		      "activation=gelu", "unknown activation");
	check_invalid("bad/attr-no-value.model",
		      HDR IN "d Dense input_1 10 40 90 float32 use_bias\n" OUT("d"), -1, 3,
		      "'use_bias'", "KEY=VALUE");
	check_invalid("bad/attr-int.model",
		      HDR IN "d Dense input_1 10 40 90 float32 units=ten\n" OUT("d"), -1, 3,
		      "units=ten", "integer");
	check_invalid("bad/attr-nan.model",
		      HDR IN "d Dense input_1 10 40 90 float32 max_value=nan\n" OUT("d"), -1, 3,
		      "max_value=nan", "number");
	/* A shape has at most MODEL_MAX_RANK = 4 dimensions, so a Reshape target too. */
	check_invalid("bad/attr-target-rank.model",
		      HDR IN "d Reshape input_1 192 0 0 float32 target_rank=9 target=192\n"
		      OUT("d"), -1, 3, NULL, "target_rank=9");

	/* Names and references. */
	check_invalid("bad/duplicate.model",
		      HDR IN "d Dense input_1 10 40 90 float32\n"
		      "d Dense input_1 10 40 90 float32\n" OUT("d"), -1, 4, "'d'", "duplicate");
	check_invalid("bad/unknown-input.model", HDR IN OUT("nosuch"), -1, 3, "'nosuch'",
		      "not an earlier layer");
	check_invalid("bad/forward-ref.model",
		      HDR IN "a Dense b 10 40 90 float32\n"
		      "b Dense input_1 10 40 90 float32\n" OUT("a,b"), -1, 3, "'b'",
		      "not an earlier layer");
	check_invalid("bad/empty-input.model", HDR IN OUT("input_1,,input_1"), -1, 3, "''",
		      "not an earlier layer");
	memset(longname, 'n', 64);
	snprintf(longname + 64, sizeof(longname) - 64, " Dense input_1 10 40 90 float32\n");
	{
		char text[400];

		snprintf(text, sizeof(text), HDR IN "%s" OUT("d"), longname);
		check_invalid("bad/long-name.model", text, -1, 3, NULL, "longer than 63");
	}
	{
		char text[400];

		/* 32 characters, one more than MODEL_OP_MAX - 1. */
		memset(longop, 'O', 32);
		longop[32] = '\0';
		snprintf(text, sizeof(text), HDR IN "d %s input_1 10 40 90 float32\n" OUT("d"),
			 longop);
		check_invalid("bad/long-op.model", text, -1, 3, NULL, "longer than 31");
	}
	{
		/* MODEL_MAX_INPUTS = 16; the 17th is one too many. */
		char text[600];
		size_t k = 0;

		for (int i = 0; i < 17; i++)
			k += (size_t)snprintf(manyin + k, sizeof(manyin) - k, "%sinput_1",
					      i ? "," : "");
		snprintf(text, sizeof(text), HDR IN "d Add %s 8x8x3 0 0 float32\n" OUT("d"), manyin);
		check_invalid("bad/many-inputs.model", text, -1, 3, "'d'", "more than 16 inputs");
	}
	{
		/* 7 fields and 58 attributes: 65 fields, one more than the reader's limit of 64. */
		char text[800];
		size_t k = 0;

		for (int i = 0; i < 58; i++)
			k += (size_t)snprintf(manyfields + k, sizeof(manyfields) - k, " units=%d", i);
		snprintf(text, sizeof(text), HDR IN "d Dense input_1 10 40 90 float32%s\n" OUT("d"),
			 manyfields);
		check_invalid("bad/many-fields.model", text, -1, 3, NULL, "more than 64 fields");
	}
	{
		char text[400];

		snprintf(text, sizeof(text), HDR "model %s\n" IN OUT("input_1"),
			 "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm");
		check_invalid("bad/long-model-name.model", text, -1, 2, NULL, "longer than 63");
	}

	/* The graph's structure (model_graph_validate), reported at the offending layer's line. */
	check_invalid("bad/second-input.model",
		      HDR IN "d Dense input_1 10 40 90 float32\n"
		      "stray Dense - 10 40 90 float32\n" OUT("d,stray"), -1, 4, "'stray'",
		      "no inputs");
	check_invalid("bad/dead-end.model",
		      HDR IN "side Dense input_1 10 40 90 float32\n" OUT("input_1"), -1, 3, "'side'",
		      "feeds no other layer");
	check_invalid("bad/one-layer.model", HDR IN, -1, 0, NULL, "1 layer(s)");

	/* Sizes (issue 9, item 9): a product of dimensions past int64_t was accepted and planned
	 * (bottleneck 1.5e16 ms, signed overflow under UBSan); every count is bounded by 2^53. */
	check_invalid("bad/huge-shape.model",
		      HDR "input_1 InputLayer - 8x877777777777777777x3 0 0 float32\n" OUT("input_1"),
		      -1, 2, "'input_1'", "8x877777777777777777x3 has more than 2^53 elements");
	/* 2^27 x 2^27 = 2^54 elements: no overflow yet, still past the bound */
	check_invalid("bad/big-shape.model",
		      HDR IN "d Dense input_1 134217728x134217728 0 0 float32\n" OUT("d"), -1, 3,
		      "'d'", "more than 2^53");
	/* 2^53 FLOPs in one layer pass; one more in the next layer takes the total past */
	check_invalid("bad/flops-total.model",
		      HDR IN "a Dense input_1 10 40 9007199254740992 float32\n"
		      "b Dense a 10 40 1 float32\n" OUT("b"), -1, 4, "'b'", "past 2^53");
	check_invalid("bad/params-total.model",
		      HDR IN "a Dense input_1 10 9007199254740990+2 0 float32\n"
		      "b Dense a 10 1 0 float32\n" OUT("b"), -1, 4, "'b'", "past 2^53");

	/* Shapes per op kind (issue 9, item 9): an Add of 8x8x4 and 4x4x4 was planned. */
	check_invalid("bad/add-shapes.model",
		      HDR "input_1 InputLayer - 8x8x4 0 0 float32\n"
		      "a Conv2D input_1 8x8x4 100 1000 float32\n"
		      "b Conv2D input_1 4x4x4 100 1000 float32\n"
		      "c Add a,b 8x8x4 0 256 float32\n" OUT("c"), -1, 5, "'c'",
		      "'b' of shape 4x4x4 does not broadcast");
	/* inputs that broadcast, but to another shape than the output's */
	check_invalid("bad/multiply-output.model",
		      HDR "input_1 InputLayer - 8x8x4 0 0 float32\n"
		      "s GlobalAveragePooling2D input_1 1x1x4 0 0 float32\n"
		      "c Multiply input_1,s 8x8x8 0 256 float32\n" OUT("c"), -1, 4, "8x8x8",
		      "inputs give 8x8x4");
	check_invalid("bad/concat-spatial.model",
		      HDR "input_1 InputLayer - 8x8x4 0 0 float32\n"
		      "a MaxPooling2D input_1 4x4x4 0 0 float32\n"
		      "c Concatenate input_1,a 8x8x8 0 0 float32 axis=-1\n" OUT("c"), -1, 4, "'a'",
		      "more than the concatenation axis");
	check_invalid("bad/concat-sum.model",
		      HDR IN "c Concatenate input_1,input_1 8x8x7 0 0 float32 axis=-1\n" OUT("c"),
		      -1, 3, "add up to 6", "7");
	check_invalid("bad/concat-rank.model",
		      HDR IN "f Flatten input_1 192 0 0 float32\n"
		      "c Concatenate input_1,f 8x8x3 0 0 float32\n" OUT("c"), -1, 4, "'f'", "rank 1");
	check_invalid("bad/batchnorm-shape.model",
		      HDR IN "bn BatchNormalization input_1 8x8x4 8+8 0 float32\n" OUT("bn"), -1, 3,
		      "'bn'", "8x8x3 and the output 8x8x4");
	check_invalid("bad/flatten-elements.model",
		      HDR IN "f Flatten input_1 190 0 0 float32\n" OUT("f"), -1, 3, "192",
		      "190");

	/* A NUL byte: the text after it must not be silently dropped (sizeof - 1 keeps the
	 * embedded NUL). */
	check_invalid("bad/nul.model", nul_text, (long)sizeof(nul_text) - 1, 3, NULL, "NUL");
}

/* Shapes the per-op checks accept: an SE block's broadcast Multiply (8x8x4 by 1x1x4), an Add
 * of equal shapes, a channel Concatenate, a Reshape that keeps the elements. */
static void test_valid_op_shapes(void)
{
	static const char text[] = HDR "input_1 InputLayer - 8x8x4 0 0 float32\n"
				   "s GlobalAveragePooling2D input_1 1x1x4 0 0 float32\n"
				   "m Multiply input_1,s 8x8x4 0 256 float32\n"
				   "a Add m,input_1 8x8x4 0 256 float32\n"
				   "c Concatenate a,m,input_1 8x8x12 0 0 float32 axis=-1\n"
				   "r Reshape c 64x12 0 0 float32 target_rank=2 target=64,12\n"
				   OUT("r");
	struct model_graph *g = NULL;
	struct ep_error err = { 0, "" };

	CHECK_INT(read_text("ok/shapes.model", text, sizeof(text) - 1, &g, &err), EP_OK);
	if (err.code)
		fprintf(stderr, "  %s\n", err.msg);
	CHECK_INT(model_graph_layer_count(g), 7);
	model_graph_destroy(g);
}

/* ---- load and save --------------------------------------------------------------------- */

static void test_load_save(void)
{
	char dir[] = "/tmp/test_model_file.XXXXXX", path[256], missing[256];
	struct model_graph *g = NULL, *back = NULL;
	struct ep_error err = { 0 };
	FILE *full;

	if (!mkdtemp(dir)) {
		fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
		check_failures++;
		return;
	}
	snprintf(path, sizeof(path), "%s/mobilenet.model", dir);
	snprintf(missing, sizeof(missing), "%s/no-such-file.model", dir);

	/* A missing file is EP_ENOTFOUND (model_file.h) and the message names it. */
	CHECK_INT(model_file_load(missing, &back, &err), EP_ENOTFOUND);
	CHECK(back == NULL);
	CHECK_CONTAINS(err.msg, missing);

	/* Save + load gives an equal graph. */
	CHECK_INT(model_zoo_build("mobilenet", &g, &err), EP_OK);
	if (g) {
		CHECK_INT(model_file_save(g, path, &err), EP_OK);
		CHECK_INT(model_file_load(path, &back, &err), EP_OK);
		CHECK(back && model_graph_equal(g, back));
		model_graph_destroy(back);
		back = NULL;

		/* Saving into a directory that does not exist is EP_EIO naming the path. */
		CHECK_INT(model_file_save(g, "/nonexistent-edgepipe-dir/m.model", &err), EP_EIO);
		CHECK_CONTAINS(err.msg, "/nonexistent-edgepipe-dir/m.model");

		/* A full device refuses the write: EP_EIO, not a silent success. */
		full = fopen("/dev/full", "w");
		if (full) {
			CHECK_INT(model_file_write(g, full, &err), EP_EIO);
			fclose(full);
		}
	}

	/* A directory opens on Linux but cannot be read: EP_EIO. */
	CHECK_INT(model_file_load(dir, &back, &err), EP_EIO);
	CHECK(back == NULL);
	CHECK_CONTAINS(err.msg, dir);

	model_graph_destroy(g);
	model_graph_destroy(back);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	igraph_set_error_handler(igraph_error_handler_ignore);
	igraph_set_warning_handler(igraph_warning_handler_ignore);
	test_zoo_round_trip();
	test_equal_can_fail();
	test_hand_written();
	test_default_name();
	test_all_attributes();
	test_read_graph_round_trips();
	test_malformed();
	test_valid_op_shapes();
	test_load_save();
	return check_exit();
}
