/*
 * The layer-graph builder: shapes, parameter counts and FLOPs of each op against closed forms
 * computed by hand here, Keras's generated names, the sticky error, validation, and Keras's
 * model.layers order.
 */
#include <igraph.h>

#include "check.h"
#include "model_graph.h"

static const struct model_layer *L(const struct model_graph *g, int i)
{
	return model_graph_layer(g, (size_t)i);
}

static void test_shapes_and_counts(void)
{
	struct model_graph *g = model_graph_create("ops");
	int x, c1, c2, d, s, bn, gp, fl, de, z, p, a, m, cat, nrm, gpk, r;
	int xs[2];

	x = model_add_input(g, NULL, 7, 7, 4);
	CHECK_STR(L(g, x)->name, "input_1"); /* Keras numbers inputs from 1 */

	/* 3x3 "same" stride 2 on 7x7x4 -> ceil(7/2) = 4; params 3*3*4*8 + 8 = 296;
	 * FLOPs 2*(4*4*8)*(3*3*4) + 4*4*8 (bias) = 9216 + 128 = 9344, + 128 for the fused relu. */
	c1 = model_add_conv2d(g, NULL, x, 8, 3, 3, 2, MODEL_PAD_SAME, true, MODEL_ACT_RELU);
	CHECK_STR(L(g, c1)->name, "conv2d");
	CHECK_INT(L(g, c1)->rank, 3);
	CHECK_INT(L(g, c1)->shape[0], 4);
	CHECK_INT(L(g, c1)->shape[1], 4);
	CHECK_INT(L(g, c1)->shape[2], 8);
	CHECK_INT(L(g, c1)->params_trainable, 296);
	CHECK_INT(L(g, c1)->flops, 9344 + 128);

	/* 3x3 "valid" stride 2 on 7x7x4 -> (7-3)/2 + 1 = 3; no bias: 3*3*4*5 = 180 params;
	 * FLOPs 2*(3*3*5)*(3*3*4) = 3240. */
	c2 = model_add_conv2d(g, NULL, x, 5, 3, 3, 2, MODEL_PAD_VALID, false, MODEL_ACT_LINEAR);
	CHECK_STR(L(g, c2)->name, "conv2d_1");
	CHECK_INT(L(g, c2)->shape[0], 3);
	CHECK_INT(L(g, c2)->params_trainable, 180);
	CHECK_INT(L(g, c2)->flops, 3240);

	/* Depthwise 3x3 same stride 1, multiplier 2 on 4x4x8 -> 4x4x16; params 3*3*16 = 144;
	 * FLOPs 2*(4*4*16)*9 = 4608. */
	d = model_add_depthwise(g, "dw", c1, 3, 3, 1, MODEL_PAD_SAME, 2, false);
	CHECK_INT(L(g, d)->shape[2], 16);
	CHECK_INT(L(g, d)->params_trainable, 144);
	CHECK_INT(L(g, d)->flops, 4608);

	/* Separable 3x3 same, 16 -> 32 with bias on 4x4: params 9*16 + 16*32 + 32 = 688;
	 * FLOPs 2*16*16*9 + 2*16*16*32 + 16*32 = 4608 + 16384 + 512 = 21504. */
	s = model_add_separable(g, "sep", d, 32, 3, 3, 1, MODEL_PAD_SAME, true);
	CHECK_INT(L(g, s)->params_trainable, 688);
	CHECK_INT(L(g, s)->flops, 21504);

	/* BatchNorm without gamma (Inception's scale=False): beta 32 trainable, 64 moving. */
	bn = model_add_batch_norm(g, NULL, s, true, false);
	CHECK_STR(L(g, bn)->name, "batch_normalization");
	CHECK_INT(L(g, bn)->params_trainable, 32);
	CHECK_INT(L(g, bn)->params_non_trainable, 64);
	CHECK_INT(L(g, bn)->flops, 2 * 4 * 4 * 32);

	gp = model_add_global_avg_pool(g, NULL, bn, false);
	CHECK_INT(L(g, gp)->rank, 1);
	CHECK_INT(L(g, gp)->shape[0], 32);
	CHECK_INT(L(g, gp)->flops, 4 * 4 * 32);
	gpk = model_add_global_avg_pool(g, NULL, bn, true);
	CHECK_STR(L(g, gpk)->name, "global_average_pooling2d_1");
	CHECK_INT(L(g, gpk)->rank, 3);
	CHECK_INT(L(g, gpk)->shape[0], 1);

	/* Dense 32 -> 10 with bias and softmax: 330 params; FLOPs 2*320 + 10 + 10. */
	de = model_add_dense(g, "fc", gp, 10, true, MODEL_ACT_SOFTMAX);
	CHECK_INT(L(g, de)->params_trainable, 330);
	CHECK_INT(L(g, de)->flops, 660);

	/* ZeroPadding (1,2,3,4) on 7x7x4 -> 10x14x4; MaxPool 3 stride 2 valid -> 4x6x4 with 9
	 * FLOPs per output element. */
	z = model_add_zero_pad(g, NULL, x, 1, 2, 3, 4);
	CHECK_INT(L(g, z)->shape[0], 10);
	CHECK_INT(L(g, z)->shape[1], 14);
	p = model_add_pool(g, NULL, MODEL_OP_MAX_POOL2D, z, 3, 2, MODEL_PAD_VALID);
	CHECK_STR(L(g, p)->name, "max_pooling2d");
	CHECK_INT(L(g, p)->shape[0], 4);
	CHECK_INT(L(g, p)->shape[1], 6);
	CHECK_INT(L(g, p)->flops, 9 * 4 * 6 * 4);

	/* Multiply broadcasts (4,4,8) x (1,1,8); Concatenate adds channels. */
	r = model_add_conv2d(g, NULL, gpk, 8, 1, 1, 1, MODEL_PAD_VALID, true, MODEL_ACT_SIGMOID);
	m = model_add_multiply(g, NULL, c1, r);
	CHECK_INT(L(g, m)->shape[0], 4);
	CHECK_INT(L(g, m)->shape[2], 8);
	xs[0] = c1;
	xs[1] = d;
	cat = model_add_concat(g, NULL, xs, 2);
	CHECK_INT(L(g, cat)->shape[2], 24);
	xs[1] = m;
	a = model_add_add(g, NULL, xs, 2);
	CHECK_INT(L(g, a)->flops, 4 * 4 * 8);

	/* Normalization: mean and variance per channel and a count, 2*4 + 1. */
	nrm = model_add_normalization(g, NULL, x);
	CHECK_INT(L(g, nrm)->params_non_trainable, 9);
	CHECK_INT(L(g, nrm)->params_trainable, 0);

	fl = model_add_flatten(g, NULL, c1);
	CHECK_INT(L(g, fl)->shape[0], 128);
	CHECK(model_graph_error(g) == NULL);
	CHECK_INT(model_graph_consumers(g, (size_t)x), 4); /* c1, c2, z, nrm */
	CHECK_INT(model_graph_consumers(g, (size_t)c1), 5); /* d, m, cat, a, fl */
	model_graph_destroy(g);
}

static void test_errors(void)
{
	struct model_graph *g = model_graph_create("bad");
	struct ep_error err;
	int x, y, xs[2];

	x = model_add_input(g, "in", 5, 5, 3);
	/* A 7x7 "valid" window does not fit a 5x5 input. */
	y = model_add_conv2d(g, "big", x, 4, 7, 7, 1, MODEL_PAD_VALID, true, MODEL_ACT_LINEAR);
	CHECK_INT(y, -1);
	CHECK_INT(model_graph_error_code(g), EP_EINVAL);
	CHECK_CONTAINS(model_graph_error(g), "big");
	/* Later calls fail at once and keep the first message. */
	CHECK_INT(model_add_activation(g, "a", x, MODEL_ACT_RELU), -1);
	CHECK_CONTAINS(model_graph_error(g), "big");
	CHECK_INT(model_graph_validate(g, &err), EP_EINVAL);
	model_graph_destroy(g);

	g = model_graph_create("dup");
	x = model_add_input(g, "in", 5, 5, 3);
	model_add_activation(g, "in", x, MODEL_ACT_RELU);
	CHECK_CONTAINS(model_graph_error(g), "duplicate name");
	model_graph_destroy(g);

	g = model_graph_create("shapes");
	x = model_add_input(g, "in", 5, 5, 3);
	y = model_add_conv2d(g, "c", x, 4, 3, 3, 1, MODEL_PAD_VALID, true, MODEL_ACT_LINEAR);
	xs[0] = x;
	xs[1] = y;
	CHECK_INT(model_add_add(g, "sum", xs, 2), -1);
	CHECK_CONTAINS(model_graph_error(g), "differ in shape");
	model_graph_destroy(g);

	/* Validation: a layer feeding nothing before the end is a dead end. */
	g = model_graph_create("dead");
	x = model_add_input(g, "in", 5, 5, 3);
	model_add_activation(g, "dead_end", x, MODEL_ACT_RELU);
	model_add_activation(g, "out", x, MODEL_ACT_RELU);
	CHECK_INT(model_graph_validate(g, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "dead_end");
	model_graph_destroy(g);

	g = model_graph_create("one");
	model_add_input(g, "in", 5, 5, 3);
	CHECK_INT(model_graph_validate(g, &err), EP_EINVAL);
	model_graph_destroy(g);
}

/*
 * Keras's model.layers order on a hand-made graph. Call order: in, a1, a2, b1, add, out with
 * a1 -> a2 one branch, b1 the other, add(a2, b1). Distances to the output: in 4, a1 3, a2 2,
 * b1 2, add 1, out 0. The walk from out visits add, a2, a1, in, b1, so b1 comes after a2:
 * expected order in, a1, a2, b1, add, out. With add(b1, a2) the walk meets b1 first, so b1
 * comes before a2.
 */
static void test_sort_keras(void)
{
	static const char *const want[2][6] = {
		{ "in", "a1", "a2", "b1", "add", "out" },
		{ "in", "a1", "b1", "a2", "add", "out" },
	};

	for (int order = 0; order < 2; order++) {
		struct model_graph *g = model_graph_create("branches");
		struct ep_error err;
		int x, a1, a2, b1, s, xs[2];

		x = model_add_input(g, "in", 4, 4, 2);
		a1 = model_add_activation(g, "a1", x, MODEL_ACT_RELU);
		a2 = model_add_activation(g, "a2", a1, MODEL_ACT_RELU);
		b1 = model_add_activation(g, "b1", x, MODEL_ACT_RELU);
		xs[0] = order ? b1 : a2;
		xs[1] = order ? a2 : b1;
		s = model_add_add(g, "add", xs, 2);
		model_add_activation(g, "out", s, MODEL_ACT_RELU);
		CHECK_INT(model_graph_sort_keras(g, &err), EP_OK);
		for (int i = 0; i < 6; i++)
			CHECK_STR(L(g, i)->name, want[order][i]);
		/* Inputs were remapped: add reads the layers now called a2 and b1. */
		s = model_graph_find(g, "add");
		CHECK_STR(L(g, L(g, s)->inputs[order])->name, "a2");
		CHECK_STR(L(g, L(g, s)->inputs[1 - order])->name, "b1");
		CHECK_INT(model_graph_consumers(g, (size_t)model_graph_find(g, "in")), 2);
		model_graph_destroy(g);
	}
}

int main(void)
{
	igraph_set_error_handler(igraph_error_handler_ignore);
	igraph_set_warning_handler(igraph_warning_handler_ignore);
	test_shapes_and_counts();
	test_errors();
	test_sort_keras();
	return check_exit();
}
