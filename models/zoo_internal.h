/*
 * zoo_internal: the builder functions behind the model_zoo registry. Each appends one Keras
 * application to an empty graph and returns EP_OK or model_graph_error_code(g).
 */
#ifndef EDGEPIPE_ZOO_INTERNAL_H
#define EDGEPIPE_ZOO_INTERNAL_H

#include "model_graph.h"

/*
 * Format a layer name into `buf` (MODEL_NAME_MAX bytes) and return it, so a builder can write
 * model_add_conv2d(g, zoo_name(n, "%s_1_conv", prefix), ...) as Keras writes name + "_1_conv".
 * A name too long for the buffer is cut, and the graph then reports it if it collides.
 */
const char *zoo_name(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Channels (last dimension) of layer `x`, or 0 when `x` is the -1 of an earlier failure: the
 * graph then already holds the error and rejects the next helper call whatever its arguments.
 */
int zoo_channels(const struct model_graph *g, int x);

int zoo_build_resnet50(struct model_graph *g);
int zoo_build_resnet101(struct model_graph *g);
int zoo_build_resnet152(struct model_graph *g);
int zoo_build_vgg16(struct model_graph *g);
int zoo_build_vgg19(struct model_graph *g);
int zoo_build_mobilenet(struct model_graph *g);
int zoo_build_mobilenet_v2(struct model_graph *g);
int zoo_build_inception_v3(struct model_graph *g);
int zoo_build_inception_resnet_v2(struct model_graph *g);
int zoo_build_xception(struct model_graph *g);
int zoo_build_densenet121(struct model_graph *g);
int zoo_build_densenet169(struct model_graph *g);
int zoo_build_densenet201(struct model_graph *g);
int zoo_build_efficientnet_b0(struct model_graph *g);
int zoo_build_efficientnet_b1(struct model_graph *g);

#endif
