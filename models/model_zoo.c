#include "model_zoo.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "model_file.h"
#include "model_onnx.h"
#include "model_weights.h"
#include "zoo_internal.h"

const char *zoo_name(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, MODEL_NAME_MAX, fmt, ap);
	va_end(ap);
	return buf;
}

int zoo_channels(const struct model_graph *g, int x)
{
	const struct model_layer *l;

	if (x < 0)
		return 0;
	l = model_graph_layer(g, (size_t)x);
	return (int)l->shape[l->rank - 1];
}

const struct model_zoo_entry model_zoo[] = {
	{ "resnet50", "ResNet50", zoo_build_resnet50 },
	{ "resnet101", "ResNet101", zoo_build_resnet101 },
	{ "resnet152", "ResNet152", zoo_build_resnet152 },
	{ "inceptionv3", "InceptionV3", zoo_build_inception_v3 },
	{ "inceptionresnetv2", "InceptionResNetV2", zoo_build_inception_resnet_v2 },
	{ "xception", "Xception", zoo_build_xception },
	{ "vgg16", "VGG16", zoo_build_vgg16 },
	{ "vgg19", "VGG19", zoo_build_vgg19 },
	{ "mobilenet", "MobileNet", zoo_build_mobilenet },
	{ "mobilenetv2", "MobileNetV2", zoo_build_mobilenet_v2 },
	{ "densenet121", "DenseNet121", zoo_build_densenet121 },
	{ "densenet169", "DenseNet169", zoo_build_densenet169 },
	{ "densenet201", "DenseNet201", zoo_build_densenet201 },
	{ "efficientnetb0", "EfficientNetB0", zoo_build_efficientnet_b0 },
	{ "efficientnetb1", "EfficientNetB1", zoo_build_efficientnet_b1 },
};

const size_t model_zoo_count = sizeof(model_zoo) / sizeof(model_zoo[0]);

const struct model_zoo_entry *model_zoo_find(const char *name)
{
	for (size_t i = 0; i < model_zoo_count; i++)
		if (strcasecmp(model_zoo[i].name, name) == 0 ||
		    strcasecmp(model_zoo[i].keras_name, name) == 0)
			return &model_zoo[i];
	return NULL;
}

int model_zoo_build(const char *name, struct model_graph **out, struct ep_error *err)
{
	const struct model_zoo_entry *e = model_zoo_find(name);
	struct model_graph *g;
	int rc;

	*out = NULL;
	if (!e) {
		char known[400] = "";

		for (size_t i = 0; i < model_zoo_count; i++) {
			strncat(known, i ? ", " : "", sizeof(known) - strlen(known) - 1);
			strncat(known, model_zoo[i].name, sizeof(known) - strlen(known) - 1);
		}
		return ep_error_set(err, EP_ENOTFOUND, "unknown model '%s' (the zoo has: %s)", name,
				    known);
	}
	g = model_graph_create(e->name);
	if (!g)
		return ep_error_set(err, EP_ENOMEM, "out of memory building '%s'", e->name);
	rc = e->build(g);
	if (rc == EP_OK)
		rc = model_graph_sort_keras(g, err);
	else
		ep_error_set(err, rc, "building '%s': %s", e->name,
			     model_graph_error(g) ? model_graph_error(g) : ep_strerror(rc));
	if (rc) {
		model_graph_destroy(g);
		return rc;
	}
	*out = g;
	return EP_OK;
}

int model_zoo_open(const char *spec, struct model_graph **out, struct ep_error *err)
{
	FILE *f;
	int rc;

	if (model_zoo_find(spec))
		return model_zoo_build(spec, out, err);
	if (model_onnx_is_path(spec))
		return model_onnx_load(spec, NULL, out, err);
	f = fopen(spec, "r");
	if (!f) {
		struct ep_error zoo;

		model_zoo_build(spec, out, &zoo); /* for the message that lists the zoo */
		return ep_error_set(err, EP_ENOTFOUND, "%s, and there is no model file '%s'",
				    zoo.msg, spec);
	}
	rc = model_file_read(f, spec, out, err);
	fclose(f);
	return rc;
}

int model_zoo_weights_open(const char *spec, const struct model_graph *g, uint64_t seed,
			   struct model_weights **out, struct ep_error *err)
{
	struct model_weights *w = NULL;
	int rc;

	*out = NULL;
	if (!spec || model_zoo_find(spec) || !model_onnx_is_path(spec))
		return model_weights_open(g, seed, out, err);
	rc = model_weights_create(g, &w, err);
	if (!rc)
		rc = model_onnx_read_weights(spec, w, err);
	if (rc) {
		model_weights_destroy(w);
		return rc;
	}
	*out = w;
	return EP_OK;
}

int model_zoo_open_weights(const char *spec, const char *weights_path, uint64_t seed,
			   struct model_graph **graph, struct model_weights **weights,
			   struct ep_error *err)
{
	struct model_graph *g = NULL;
	struct model_weights *w = NULL;
	int rc;

	*graph = NULL;
	*weights = NULL;
	if (!weights_path && !model_zoo_find(spec) && model_onnx_is_path(spec))
		return model_onnx_load_weights(spec, NULL, graph, weights, err);
	rc = model_zoo_open(spec, &g, err);
	if (!rc && weights_path) {
		rc = model_weights_create(g, &w, err);
		if (!rc)
			rc = model_weights_load(w, weights_path, err);
	} else if (!rc) {
		rc = model_weights_open(g, seed, &w, err);
	}
	if (rc) {
		model_weights_destroy(w);
		model_graph_destroy(g);
		return rc;
	}
	*graph = g;
	*weights = w;
	return EP_OK;
}
