#include "model_onnx.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "onnx_internal.h"

bool model_onnx_is_path(const char *path)
{
	size_t n = strlen(path);

	return n > 5 && strcasecmp(path + n - 5, ".onnx") == 0;
}

int onnx_model_read(const char *path, Onnx__ModelProto **out, struct ep_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	void *map = MAP_FAILED;
	int rc = EP_OK;

	*out = NULL;
	if (fd < 0)
		return ep_error_set(err, errno == ENOENT ? EP_ENOTFOUND : EP_EIO,
				    "cannot open ONNX file '%s': %s", path, strerror(errno));
	if (fstat(fd, &st)) {
		rc = ep_error_set(err, EP_EIO, "cannot read ONNX file '%s': %s", path,
				  strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		rc = ep_error_set(err, EP_EINVAL, "'%s' is not an ONNX file (%s)", path,
				  S_ISREG(st.st_mode) ? "empty" : "not a regular file");
		goto out;
	}
	/* Mapped, not read: protobuf-c copies what it keeps, so the file's bytes are never a
	 * second heap copy. */
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		rc = ep_error_set(err, EP_EIO, "cannot map ONNX file '%s': %s", path,
				  strerror(errno));
		goto out;
	}
	*out = onnx__model_proto__unpack(NULL, (size_t)st.st_size, map);
	if (!*out || !(*out)->graph) {
		if (*out)
			onnx__model_proto__free_unpacked(*out, NULL);
		*out = NULL;
		rc = ep_error_set(err, EP_EINVAL,
				  "'%s' is not an ONNX file (%lld bytes that do not decode as an "
				  "ONNX ModelProto with a graph; truncated?)", path,
				  (long long)st.st_size);
	}
out:
	if (map != MAP_FAILED)
		munmap(map, (size_t)st.st_size);
	close(fd);
	return rc;
}

int64_t onnx_tensor_elements(const Onnx__TensorProto *t)
{
	int64_t e = 1;

	for (size_t i = 0; i < t->n_dims; i++) {
		if (t->dims[i] < 0 || (t->dims[i] && e > INT64_MAX / t->dims[i]))
			return -1;
		e *= t->dims[i];
	}
	return e;
}

int onnx_tensor_check(const Onnx__TensorProto *t, int32_t data_type, const char *what,
		      struct ep_error *err)
{
	int64_t n = onnx_tensor_elements(t);
	int64_t have, size = data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ? 4 : 8;

	if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
		return ep_error_set(err, EP_EINVAL, "%s: tensor '%s' keeps its data in an external "
				    "file, which edgepipe does not read", what, t->name);
	if (t->data_type != data_type)
		return ep_error_set(err, EP_EINVAL, "%s: tensor '%s' has data type %d, %s is needed",
				    what, t->name, t->data_type,
				    size == 4 ? "float32 (1)" : "int64 (7)");
	if (n < 0)
		return ep_error_set(err, EP_EINVAL, "%s: tensor '%s' has a negative dimension", what,
				    t->name);
	if (t->has_raw_data)
		have = (int64_t)t->raw_data.len / size;
	else
		have = size == 4 ? (int64_t)t->n_float_data : (int64_t)t->n_int64_data;
	if ((t->has_raw_data && (int64_t)t->raw_data.len != n * size) || have != n)
		return ep_error_set(err, EP_EINVAL, "%s: tensor '%s' has dims giving %lld elements "
				    "but holds %lld", what, t->name, (long long)n, (long long)have);
	return EP_OK;
}

float onnx_tensor_float(const Onnx__TensorProto *t, int64_t i)
{
	float v;

	if (!t->has_raw_data)
		return t->float_data[i];
	memcpy(&v, t->raw_data.data + 4 * i, 4); /* little-endian hosts only, as ONNX is */
	return v;
}

int64_t onnx_tensor_int64(const Onnx__TensorProto *t, int64_t i)
{
	int64_t v;

	if (!t->has_raw_data)
		return t->int64_data[i];
	memcpy(&v, t->raw_data.data + 8 * i, 8);
	return v;
}

int onnx_layer_dims(const struct model_layer *l, int64_t *d)
{
	d[0] = 1;
	if (l->rank == 3) {
		d[1] = l->shape[2];
		d[2] = l->shape[0];
		d[3] = l->shape[1];
	} else {
		for (int i = 0; i < l->rank; i++)
			d[i + 1] = l->shape[i];
	}
	return l->rank + 1;
}

const Onnx__AttributeProto *onnx_attr(const Onnx__NodeProto *n, const char *name)
{
	for (size_t i = 0; i < n->n_attribute; i++)
		if (strcmp(n->attribute[i]->name, name) == 0)
			return n->attribute[i];
	return NULL;
}

int64_t onnx_attr_int(const Onnx__NodeProto *n, const char *name, int64_t def)
{
	const Onnx__AttributeProto *a = onnx_attr(n, name);

	return a && a->has_i ? a->i : def;
}

float onnx_attr_float(const Onnx__NodeProto *n, const char *name, float def)
{
	const Onnx__AttributeProto *a = onnx_attr(n, name);

	return a && a->has_f ? a->f : def;
}

const int64_t *onnx_attr_ints(const Onnx__NodeProto *n, const char *name, size_t *count)
{
	const Onnx__AttributeProto *a = onnx_attr(n, name);

	*count = a ? a->n_ints : 0;
	return a ? a->ints : NULL;
}

const char *onnx_attr_string(const Onnx__NodeProto *n, const char *name, const char *def,
			     char *buf, size_t size)
{
	const Onnx__AttributeProto *a = onnx_attr(n, name);

	if (!a || !a->has_s)
		return def;
	snprintf(buf, size, "%.*s", (int)a->s.len, (const char *)a->s.data);
	return buf;
}
