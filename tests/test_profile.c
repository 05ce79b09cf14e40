/*
 * The cut-point profile under both accountings, on a small residual model whose every figure is
 * computed by hand below, and on one ResNet50 cut against the published formula.
 */
#include <igraph.h>

#include "check.h"
#include "model_profile.h"
#include "model_zoo.h"

/*
 * in 4x4x1 -> c: Conv2D 3x3 same, 2 filters, bias -> r: ReLU -> c2: Conv2D 3x3 same, 2 filters,
 * no bias -> s: Add(r, c2) -> g: GlobalAveragePooling2D -> fc: Dense 3, bias.
 * Elements: in 16, c 32, r 32, c2 32, s 32, g 2, fc 3.
 * Parameters: c 3*3*1*2 + 2 = 20; c2 3*3*2*2 = 36; fc 2*3 + 3 = 9.
 * FLOPs: c 2*32*9 + 32 = 608; r 32; c2 2*32*18 = 1152; s 32; g 32; fc 2*2*3 + 3 = 15.
 * Cut points: in, c, r, s, g, fc (c2 is bypassed by r -> s). r is read by c2 and s.
 */
static struct model_graph *small_model(void)
{
	struct model_graph *g = model_graph_create("small");
	int x, r, c2, xs[2];

	x = model_add_input(g, "in", 4, 4, 1);
	x = model_add_conv2d(g, "c", x, 2, 3, 3, 1, MODEL_PAD_SAME, true, MODEL_ACT_LINEAR);
	r = model_add_activation(g, "r", x, MODEL_ACT_RELU);
	c2 = model_add_conv2d(g, "c2", r, 2, 3, 3, 1, MODEL_PAD_SAME, false, MODEL_ACT_LINEAR);
	xs[0] = r;
	xs[1] = c2;
	x = model_add_add(g, "s", xs, 2);
	x = model_add_global_avg_pool(g, "g", x, false);
	model_add_dense(g, "fc", x, 3, true, MODEL_ACT_LINEAR);
	return g;
}

static void test_exact(void)
{
	struct model_graph *g = small_model();
	struct model_profile_options opt = MODEL_PROFILE_OPTIONS_DEFAULT;
	struct model_profile *p;
	struct ep_error err;
	/* float32: segment memory = 4 * (parameters + output elements of its layers). */
	static const int layer[6] = { 0, 1, 2, 4, 5, 6 };
	static const int64_t params[6] = { 0, 20, 0, 36, 0, 9 };
	static const int64_t flops[6] = { 0, 608, 32, 1184, 32, 15 };
	static const double mem[6] = { 4 * 16, 4 * (20 + 32), 4 * 32, 4 * (36 + 64), 4 * 2,
				       4 * (9 + 3) };
	static const double transfer[6] = { 4 * 16, 4 * 32, 4 * 32, 4 * 32, 4 * 2, 4 * 3 };
	double cum = 0;

	CHECK_INT(model_profile_create(g, &opt, &p, &err), EP_OK);
	CHECK_INT(p->n_cuts, 6);
	for (size_t m = 0; m < 6 && m < p->n_cuts; m++) {
		cum += mem[m];
		CHECK_INT(p->cuts[m].layer, layer[m]);
		CHECK_INT(p->cuts[m].seg_params, params[m]);
		CHECK_INT(p->cuts[m].seg_flops, flops[m]);
		CHECK_NEAR(p->cuts[m].seg_mem_bytes, mem[m], 1e-12);
		CHECK_NEAR(p->cuts[m].cum_mem_bytes, cum, 1e-12);
		CHECK_NEAR(p->cuts[m].transfer_bytes, transfer[m], 1e-12);
	}
	CHECK_INT(p->cuts[2].consumers, 2);
	CHECK_INT(p->cuts[3].first_layer, 3);
	CHECK_INT(p->cuts[5].cum_flops, 608 + 32 + 1184 + 32 + 15);
	model_profile_destroy(p);

	/* float16 halves every byte figure, int8 quarters it; compression divides transfers. */
	opt.dtype = MODEL_DTYPE_FLOAT16;
	opt.compression = 2.0;
	CHECK_INT(model_profile_create(g, &opt, &p, &err), EP_OK);
	CHECK_NEAR(p->cuts[1].seg_mem_bytes, 2 * (20 + 32), 1e-12);
	CHECK_NEAR(p->cuts[1].transfer_bytes, 2 * 32 / 2.0, 1e-12);
	model_profile_destroy(p);
	opt.dtype = MODEL_DTYPE_INT8;
	opt.compression = 1.0;
	CHECK_INT(model_profile_create(g, &opt, &p, &err), EP_OK);
	CHECK_NEAR(p->cuts[3].seg_mem_bytes, 36 + 64, 1e-12);
	model_profile_destroy(p);

	opt.compression = 0.5;
	CHECK_INT(model_profile_create(g, &opt, &p, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "0.5");
	model_graph_destroy(g);
}

/*
 * Published accounting (shared/reference/seifer-2022.md): memory 4 x elements + parameter
 * count; transfer consumers x elements x 8 / 1.44 bytes; 0 for the output layer. The dtype
 * option does not apply.
 */
static void test_published(void)
{
	struct model_graph *g = small_model();
	struct model_profile_options opt = MODEL_PROFILE_OPTIONS_DEFAULT;
	struct model_profile *p;
	struct ep_error err;
	static const double mem[6] = { 4 * 16, 20 + 4 * 32, 4 * 32, 36 + 4 * 64, 4 * 2, 9 + 4 * 3 };
	static const double transfer[6] = { 16 * 8 / 1.44, 32 * 8 / 1.44, 2 * 32 * 8 / 1.44,
					    32 * 8 / 1.44, 2 * 8 / 1.44, 0 };

	opt.accounting = MODEL_ACCOUNT_PUBLISHED;
	opt.cuts = MODEL_CUTS_PUBLISHED;
	opt.dtype = MODEL_DTYPE_INT8;
	CHECK_INT(model_profile_create(g, &opt, &p, &err), EP_OK);
	CHECK_INT(p->n_cuts, 6);
	for (size_t m = 0; m < 6 && m < p->n_cuts; m++) {
		CHECK_NEAR(p->cuts[m].seg_mem_bytes, mem[m], 1e-12);
		CHECK_NEAR(p->cuts[m].transfer_bytes, transfer[m], 1e-12);
	}
	model_profile_destroy(p);
	model_graph_destroy(g);
}

/*
 * ResNet50's conv2_block1_out (56x56x256) is read by conv2_block2_1_conv and conv2_block2_add:
 * published transfer 2 x 802816 x 8 / 1.44 bytes = 8.5 Mbit per the notebooks' formula; exact
 * float32 transfer 802816 x 4 bytes.
 */
static void test_resnet50_cut(void)
{
	struct model_graph *g;
	struct model_profile_options opt = MODEL_PROFILE_OPTIONS_DEFAULT;
	struct model_profile *exact, *pub;
	struct ep_error err;
	int idx;

	CHECK_INT(model_zoo_build("resnet50", &g, &err), EP_OK);
	idx = model_graph_find(g, "conv2_block1_out");
	CHECK_INT(model_profile_create(g, &opt, &exact, &err), EP_OK);
	opt.accounting = MODEL_ACCOUNT_PUBLISHED;
	CHECK_INT(model_profile_create(g, &opt, &pub, &err), EP_OK);
	for (size_t m = 0; m < exact->n_cuts; m++) {
		if (exact->cuts[m].layer != idx)
			continue;
		CHECK_INT(exact->cuts[m].consumers, 2);
		CHECK_NEAR(exact->cuts[m].transfer_bytes, 802816.0 * 4, 1e-12);
		CHECK_NEAR(pub->cuts[m].transfer_bytes, 2 * 802816.0 * 8 / 1.44, 1e-12);
		idx = -1;
	}
	CHECK_INT(idx, -1); /* it is a cut point */
	/* Cumulative parameters at the output: the model's parameter count, in bytes. */
	CHECK_NEAR(exact->cuts[exact->n_cuts - 1].cum_param_bytes, 4.0 * 25636712, 1e-12);
	CHECK_NEAR(pub->cuts[pub->n_cuts - 1].cum_param_bytes, 25636712.0, 1e-12);
	model_profile_destroy(exact);
	model_profile_destroy(pub);
	model_graph_destroy(g);
}

int main(void)
{
	igraph_set_error_handler(igraph_error_handler_ignore);
	igraph_set_warning_handler(igraph_warning_handler_ignore);
	test_exact();
	test_published();
	test_resnet50_cut();
	return check_exit();
}
