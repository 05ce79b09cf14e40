/*
 * onnx_internal: what the ONNX importer and exporter share (private to models/): reading a
 * file into a decoded ModelProto, reading tensors and attributes, and the layout mapping.
 */
#ifndef EDGEPIPE_ONNX_INTERNAL_H
#define EDGEPIPE_ONNX_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ep_error.h"
#include "model_graph.h"
#include "onnx.pb-c.h"

/* Read `path` whole and decode it as a ModelProto (*out, free with
 * onnx__model_proto__free_unpacked(m, NULL)). EP_ENOTFOUND/EP_EIO/EP_EINVAL ("not an ONNX
 * file": the bytes are not a protobuf ModelProto, or it has no graph). */
int onnx_model_read(const char *path, Onnx__ModelProto **out, struct ep_error *err);

/* Elements of a tensor (product of dims; 1 for a scalar), or -1 if a dimension is negative or
 * the product overflows. */
int64_t onnx_tensor_elements(const Onnx__TensorProto *t);
/* Check that the tensor's stored data holds exactly its elements, in float32 or int64
 * (`data_type`), not external. Returns EP_OK or EP_EINVAL with `what` in the message. */
int onnx_tensor_check(const Onnx__TensorProto *t, int32_t data_type, const char *what,
		      struct ep_error *err);
/* Element i of a checked float32 / int64 tensor. */
float onnx_tensor_float(const Onnx__TensorProto *t, int64_t i);
int64_t onnx_tensor_int64(const Onnx__TensorProto *t, int64_t i);

/* The ONNX dims of a layer's output, batch first: [1, C, H, W] for an image (H, W, C), else
 * [1, ...] (d holds MODEL_MAX_RANK + 1). Returns the rank, l->rank + 1. */
int onnx_layer_dims(const struct model_layer *l, int64_t *d);

const Onnx__AttributeProto *onnx_attr(const Onnx__NodeProto *n, const char *name);
int64_t onnx_attr_int(const Onnx__NodeProto *n, const char *name, int64_t def);
float onnx_attr_float(const Onnx__NodeProto *n, const char *name, float def);
/* The ints of attribute `name` (NULL and *count 0 when absent). */
const int64_t *onnx_attr_ints(const Onnx__NodeProto *n, const char *name, size_t *count);
/* The string of attribute `name` copied into buf (def when absent). */
const char *onnx_attr_string(const Onnx__NodeProto *n, const char *name, const char *def,
			     char *buf, size_t size);

#endif
