/*
 * deploy_k8s: the manifests of `edgepipe deploy --k8s` (see deploy_k8s.h), emitted event by
 * event through libyaml so that every string is quoted as YAML requires.
 */
#include "deploy_k8s.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <yaml.h>

#include "emu_remote.h"
#include "ep_json.h"
#include "ep_util.h"
#include "model_graph.h"

#define CONFIGMAP_MAX_BYTES (1024 * 1024) /* Kubernetes refuses a larger ConfigMap */
#define NAME_MAX_LEN 40                   /* leaves room for "-controller", "-host-9999" */

/* One entry of the ConfigMap. */
struct cm_entry {
	char key[64];
	char *data;
	size_t len;
	bool binary; /* not printable ASCII text: binaryData, base64 */
};

struct cm {
	struct cm_entry e[8];
	int n;
	uint64_t hash; /* FNV-1a 64 over keys and contents: the pods' config-hash annotation */
};

/* ---- checks ---------------------------------------------------------------------------- */

/* An RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most max characters. */
static bool dns_label(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* A node name that is also a label value (kubernetes.io/hostname): dot-separated DNS labels,
 * at most 63 characters in all. */
static bool node_name_ok(const char *s)
{
	char buf[64];
	char *save = NULL;
	size_t n = strlen(s);

	if (n == 0 || n > 63 || s[0] == '.' || s[n - 1] == '.' || strstr(s, ".."))
		return false;
	memcpy(buf, s, n + 1);
	for (char *p = strtok_r(buf, ".", &save); p; p = strtok_r(NULL, ".", &save))
		if (!dns_label(p, 63))
			return false;
	return true;
}

int deploy_k8s_check(const struct deploy_k8s_spec *spec, const struct instance *inst,
		     const struct plan *plan, struct ep_error *err)
{
	int n = inst->cluster->n;

	if (!spec->name || !dns_label(spec->name, NAME_MAX_LEN))
		return ep_error_set(err, EP_EINVAL,
				    "name '%s': expected a DNS label (lower-case letters, digits, "
				    "'-') of at most %d characters",
				    spec->name ? spec->name : "", NAME_MAX_LEN);
	if (spec->namespace_ && !dns_label(spec->namespace_, 63))
		return ep_error_set(err, EP_EINVAL, "namespace '%s': expected a DNS label",
				    spec->namespace_);
	if (!spec->image || !*spec->image || strpbrk(spec->image, " \t\n"))
		return ep_error_set(err, EP_EINVAL, "image '%s': expected an image reference",
				    spec->image ? spec->image : "");
	if (spec->port == 0 || spec->port > 65535 - EMU_REMOTE_DATA_SLOTS ||
	    spec->dispatch_port == 0)
		return ep_error_set(err, EP_EINVAL, "port %u: expected 1..%d (data = port + 1 .. "
				    "port + %d)", spec->port, 65535 - EMU_REMOTE_DATA_SLOTS,
				    EMU_REMOTE_DATA_SLOTS);
	if (spec->n_nodes != n)
		return ep_error_set(err, EP_EINVAL,
				    "%d node name(s) for a cluster of %d nodes: node i of the plan "
				    "runs on the i-th name, so give one per node",
				    spec->n_nodes, n);
	for (int i = 0; i < n; i++) {
		if (!node_name_ok(spec->node_names[i]))
			return ep_error_set(err, EP_EINVAL,
					    "node name '%s': expected a Kubernetes node name (DNS "
					    "labels separated by '.', at most 63 characters)",
					    spec->node_names[i]);
		for (int j = 0; j < i; j++)
			if (strcmp(spec->node_names[i], spec->node_names[j]) == 0)
				return ep_error_set(err, EP_EINVAL,
						    "node name '%s' given twice (nodes %d and %d)",
						    spec->node_names[i], j, i);
	}
	for (int s = 0; s < plan->n_stages; s++)
		if (plan->stages[s].node < 0 || plan->stages[s].node >= n)
			return ep_error_set(err, EP_EINVAL,
					    "stage %d: node %d is not one of the %d named nodes", s,
					    plan->stages[s].node, n);
	if (plan->n_stages < 1)
		return ep_error_set(err, EP_EINVAL, "the plan has no stages");
	return plan_check(&inst->problem, plan, NULL, err);
}

/* ---- the ConfigMap's content ---------------------------------------------------------- */

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static size_t longest_line(const char *s, size_t len)
{
	size_t max = 0, cur = 0;

	for (size_t i = 0; i < len; i++) {
		cur = s[i] == '\n' ? 0 : cur + 1;
		max = cur > max ? cur : max;
	}
	return max;
}

static int cm_add(struct cm *cm, const char *key, char *data, size_t len, struct ep_error *err)
{
	struct cm_entry *e;

	if (cm->n == (int)(sizeof(cm->e) / sizeof(cm->e[0])))
		return ep_error_set(err, EP_EINVAL, "too many files for the ConfigMap");
	e = &cm->e[cm->n++];
	snprintf(e->key, sizeof(e->key), "%s", key);
	e->data = data;
	e->len = len;
	/* A literal block keeps text as it is, within yamllint's 100 columns when its lines are
	 * at most 90 long; anything else goes as base64 in lines of 76. */
	e->binary = longest_line(data, len) > 90;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];

		if ((c < 0x20 && c != '\n' && c != '\t') || c >= 0x7f)
			e->binary = true;
	}
	return EP_OK;
}

static void cm_release(struct cm *cm)
{
	for (int i = 0; i < cm->n; i++)
		free(cm->e[i].data);
	cm->n = 0;
}

static int read_file(const char *path, char **out, size_t *len, struct ep_error *err)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long size;

	*out = NULL;
	if (!f)
		return ep_error_set(err, errno == ENOENT ? EP_ENOTFOUND : EP_EIO,
				    "cannot open '%s': %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return ep_error_set(err, EP_EIO, "cannot read '%s': %s", path, strerror(errno));
	}
	if (size > CONFIGMAP_MAX_BYTES) {
		fclose(f);
		return ep_error_set(err, EP_EINVAL,
				    "'%s' has %ld bytes: a ConfigMap holds at most 1 MiB; put the "
				    "file in the image and name its path there instead",
				    path, size);
	}
	buf = malloc((size_t)size + 1);
	if (!buf) {
		fclose(f);
		return ep_error_set(err, EP_ENOMEM, "out of memory");
	}
	if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
		free(buf);
		fclose(f);
		return ep_error_set(err, EP_EIO, "cannot read '%s'", path);
	}
	fclose(f);
	buf[size] = '\0';
	*out = buf;
	*len = (size_t)size;
	return EP_OK;
}

/* The plan as JSON, indented for a reader of the ConfigMap (its plan.json). */
static int plan_json(const struct deploy_k8s_spec *spec, const struct instance *inst,
		     const struct plan *plan, char **out, size_t *len, struct ep_error *err)
{
	const struct model_profile *p = inst->profile;
	json_t *o, *nodes = json_array(), *stages = json_array();
	struct plan_cost cost;

	plan_cost(&inst->problem, plan, &cost, NULL, NULL);
	for (int i = 0; nodes && i < spec->n_nodes; i++)
		json_array_append_new(nodes, ep_json_str(spec->node_names[i]));
	for (int s = 0; stages && s < plan->n_stages; s++) {
		const struct plan_stage *st = &plan->stages[s];
		size_t first = (size_t)p->cuts[st->first_cut].layer + 1;
		size_t last = (size_t)p->cuts[st->end_cut].layer;

		json_array_append_new(
			stages, json_pack("{s:i, s:i, s:o, s:i, s:i, s:o, s:o}", "stage", s, "node",
					  st->node, "node_name",
					  ep_json_str(spec->node_names[st->node]), "first_cut",
					  st->first_cut, "end_cut", st->end_cut, "first_layer",
					  ep_json_str(model_graph_layer(inst->graph, first)->name),
					  "last_layer",
					  ep_json_str(model_graph_layer(inst->graph, last)->name)));
	}
	o = json_pack("{s:o, s:o, s:o, s:o, s:o}", "model", ep_json_str(p->model), "algo",
		      ep_json_str(spec->algo ? spec->algo : ""), "bottleneck_s",
		      ep_json_num(cost.bottleneck_s), "nodes", nodes ? nodes : json_null(),
		      "stages", stages ? stages : json_null());
	*out = o ? json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) : NULL;
	json_decref(o);
	if (!*out)
		return ep_error_set(err, EP_ENOMEM, "out of memory");
	*len = strlen(*out);
	return EP_OK;
}

static int cm_build(const struct deploy_k8s_spec *spec, const struct instance *inst,
		    const struct plan *plan, struct cm *cm, struct ep_error *err)
{
	size_t total = 0, len = 0;
	char *buf = NULL;
	FILE *f;
	int rc;

	rc = plan_json(spec, inst, plan, &buf, &len, err);
	if (rc || (rc = cm_add(cm, "plan.json", buf, len, err)))
		goto fail;
	buf = NULL;
	f = open_memstream(&buf, &len);
	if (!f)
		return ep_error_set(err, EP_ENOMEM, "out of memory");
	for (int i = 0; i < spec->n_args; i++)
		fprintf(f, "%s\n", spec->args[i]);
	if (fclose(f)) {
		buf = NULL;
		rc = ep_error_set(err, EP_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = cm_add(cm, "args", buf, len, err)))
		goto fail;
	buf = NULL;
	for (int i = 0; i < spec->n_files; i++) {
		const char *k = spec->files[i].key;

		if (!*k || strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
				  "-._") != strlen(k) || strlen(k) >= sizeof(cm->e[0].key)) {
			rc = ep_error_set(err, EP_EINVAL, "ConfigMap key '%s': expected [-._a-zA-Z0-9]+",
					  k);
			goto fail;
		}
		rc = read_file(spec->files[i].path, &buf, &len, err);
		if (rc || (rc = cm_add(cm, k, buf, len, err)))
			goto fail;
		buf = NULL;
	}
	cm->hash = 0xcbf29ce484222325ull;
	for (int i = 0; i < cm->n; i++) {
		/* A new model (and its plan) is rolled out by the running dispatcher, which watches
		 * its model file: only the rest restarts the pods. */
		bool rolled = strcmp(cm->e[i].key, "plan.json") == 0 ||
			      strncmp(cm->e[i].key, "model.", 6) == 0;

		total += strlen(cm->e[i].key) + (cm->e[i].binary ? (cm->e[i].len + 2) / 3 * 4
								  : cm->e[i].len);
		if (rolled)
			continue;
		cm->hash = fnv1a(cm->hash, cm->e[i].key, strlen(cm->e[i].key) + 1);
		cm->hash = fnv1a(cm->hash, cm->e[i].data, cm->e[i].len);
	}
	if (total > CONFIGMAP_MAX_BYTES)
		return ep_error_set(err, EP_EINVAL,
				    "the ConfigMap would hold %zu bytes: Kubernetes takes at most 1 "
				    "MiB; put the model in the image and name its path instead",
				    total);
	return EP_OK;
fail:
	free(buf);
	return rc;
}

/* ---- YAML through libyaml's emitter ----------------------------------------------------- */

struct y {
	yaml_emitter_t e;
	bool failed;
	bool first_doc;
};

static void y_emit(struct y *y, yaml_event_t *ev, int ok)
{
	if (!ok) {
		y->failed = true;
		return;
	}
	if (y->failed) {
		yaml_event_delete(ev);
		return;
	}
	if (!yaml_emitter_emit(&y->e, ev))
		y->failed = true;
}

/* Would a plain `s` be read back as something other than a string (YAML 1.1 or 1.2: a
 * number, a boolean, null, a base-60 integer)? Such strings are emitted quoted. */
static bool plain_is_not_string(const char *s)
{
	static const char *const words[] = { "y", "Y", "yes", "Yes", "YES", "n", "N", "no",
					     "No", "NO", "true", "True", "TRUE", "false", "False",
					     "FALSE", "on", "On", "ON", "off", "Off", "OFF", "null",
					     "Null", "NULL", "~", ".inf", ".Inf", ".INF", "-.inf",
					     "+.inf", ".nan", ".NaN", ".NAN", "<<", "=" };

	if (!*s)
		return true;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(s, words[i]) == 0)
			return true;
	/* Numbers of every base and base 60 are made of these; a few strings that are not
	 * numbers get quoted too, which costs nothing. */
	return strchr("0123456789+-.", s[0]) &&
	       strspn(s, "0123456789abcdefABCDEFxXoO:._+-") == strlen(s);
}

static void y_scalar(struct y *y, const char *s, size_t len, bool string, yaml_scalar_style_t st)
{
	yaml_event_t ev;
	int plain = !string || !plain_is_not_string(s);

	y_emit(y, &ev,
	       yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)(uintptr_t)s, (int)len, plain, 1,
					    st));
}

static void y_str(struct y *y, const char *s)
{
	y_scalar(y, s, strlen(s), true, YAML_ANY_SCALAR_STYLE);
}

static void y_strf(struct y *y, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void y_strf(struct y *y, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	y_str(y, buf);
}

static void y_int(struct y *y, long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", v);
	y_scalar(y, buf, strlen(buf), false, YAML_PLAIN_SCALAR_STYLE);
}

static void y_bool(struct y *y, bool v)
{
	y_scalar(y, v ? "true" : "false", v ? 4 : 5, false, YAML_PLAIN_SCALAR_STYLE);
}

static void y_map(struct y *y)
{
	yaml_event_t ev;

	y_emit(y, &ev,
	       yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE));
}

static void y_seq(struct y *y)
{
	yaml_event_t ev;

	y_emit(y, &ev,
	       yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
						    YAML_BLOCK_SEQUENCE_STYLE));
}

static void y_end_map(struct y *y)
{
	yaml_event_t ev;

	y_emit(y, &ev, yaml_mapping_end_event_initialize(&ev));
}

static void y_end_seq(struct y *y)
{
	yaml_event_t ev;

	y_emit(y, &ev, yaml_sequence_end_event_initialize(&ev));
}

/* key: "value" */
static void y_kv(struct y *y, const char *k, const char *v)
{
	y_str(y, k);
	y_str(y, v);
}

static void y_doc_start(struct y *y)
{
	yaml_event_t ev;

	y_emit(y, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, y->first_doc));
	y->first_doc = false;
}

static void y_doc_end(struct y *y)
{
	yaml_event_t ev;

	y_emit(y, &ev, yaml_document_end_event_initialize(&ev, 1));
}

static int y_open(struct y *y, FILE *f)
{
	yaml_event_t ev;

	memset(y, 0, sizeof(*y));
	if (!yaml_emitter_initialize(&y->e))
		return EP_ENOMEM;
	yaml_emitter_set_output_file(&y->e, f);
	yaml_emitter_set_unicode(&y->e, 1);
	yaml_emitter_set_indent(&y->e, 2);
	yaml_emitter_set_width(&y->e, 72); /* folded lines stay under yamllint's 100 */
	y->first_doc = true;
	y_emit(y, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING));
	return EP_OK;
}

static int y_close(struct y *y)
{
	yaml_event_t ev;
	bool failed;

	y_emit(y, &ev, yaml_stream_end_event_initialize(&ev));
	if (!y->failed && !yaml_emitter_flush(&y->e))
		y->failed = true;
	failed = y->failed;
	yaml_emitter_delete(&y->e);
	return failed ? EP_EINTERNAL : EP_OK;
}

/* apiVersion, kind, metadata {name, namespace, labels}; leaves the object's mapping open. */
/* An object's head; with `ann_key`, one annotation of the object (not of its pods). */
static void y_object_ann(struct y *y, const struct deploy_k8s_spec *spec, const char *api,
			 const char *kind, const char *name, const char *component, int node,
			 const char *ann_key, const char *ann_value)
{
	y_doc_start(y);
	y_map(y);
	y_kv(y, "apiVersion", api);
	y_kv(y, "kind", kind);
	y_str(y, "metadata");
	y_map(y);
	y_kv(y, "name", name);
	if (spec->namespace_)
		y_kv(y, "namespace", spec->namespace_);
	y_str(y, "labels");
	y_map(y);
	y_kv(y, "app.kubernetes.io/name", "edgepipe");
	y_kv(y, "app.kubernetes.io/instance", spec->name);
	if (component)
		y_kv(y, "app.kubernetes.io/component", component);
	if (node >= 0) {
		y_str(y, "edgepipe.io/node");
		y_strf(y, "%d", node);
	}
	y_end_map(y);
	if (ann_key) {
		y_str(y, "annotations");
		y_map(y);
		y_kv(y, ann_key, ann_value);
		y_end_map(y);
	}
	y_end_map(y);
}

static void y_object(struct y *y, const struct deploy_k8s_spec *spec, const char *api,
		     const char *kind, const char *name, const char *component, int node)
{
	y_object_ann(y, spec, api, kind, name, component, node, NULL, NULL);
}

static void y_end_object(struct y *y)
{
	y_end_map(y);
	y_doc_end(y);
}

static void y_selector_labels(struct y *y, const struct deploy_k8s_spec *spec,
			      const char *component, int node)
{
	y_map(y);
	y_kv(y, "app.kubernetes.io/instance", spec->name);
	y_kv(y, "app.kubernetes.io/component", component);
	if (node >= 0) {
		y_str(y, "edgepipe.io/node");
		y_strf(y, "%d", node);
	}
	y_end_map(y);
}

/* The ConfigMap volume, mounted read-only at /config (pod spec side). */
static void y_config_volume(struct y *y, const struct deploy_k8s_spec *spec)
{
	y_str(y, "volumes");
	y_seq(y);
	y_map(y);
	y_kv(y, "name", "config");
	y_str(y, "configMap");
	y_map(y);
	y_strf(y, "name");
	y_strf(y, "%s-config", spec->name);
	y_end_map(y);
	y_end_map(y);
	y_end_seq(y);
}

static void y_config_mount(struct y *y)
{
	y_str(y, "volumeMounts");
	y_seq(y);
	y_map(y);
	y_kv(y, "name", "config");
	y_kv(y, "mountPath", "/config");
	y_str(y, "readOnly");
	y_bool(y, true);
	y_end_map(y);
	y_end_seq(y);
}

/* Open a pod's containers list with its one container running `edgepipe SUBCOMMAND`: its name
 * (the subcommand), image and pull policy, and the args sequence left open after SUBCOMMAND. */
static void y_container_head(struct y *y, const struct deploy_k8s_spec *spec,
			     const char *subcommand)
{
	y_str(y, "containers");
	y_seq(y);
	y_map(y);
	y_kv(y, "name", subcommand);
	y_kv(y, "image", spec->image);
	y_kv(y, "imagePullPolicy", "IfNotPresent");
	y_str(y, "command");
	y_seq(y);
	y_str(y, "edgepipe");
	y_end_seq(y);
	y_str(y, "args");
	y_seq(y);
	y_str(y, subcommand);
}

static void y_security(struct y *y)
{
	y_str(y, "securityContext");
	y_map(y);
	y_str(y, "allowPrivilegeEscalation");
	y_bool(y, false);
	y_str(y, "runAsNonRoot");
	y_bool(y, true);
	y_end_map(y);
}

/* Close what y_container_head opened: the container (with the /config mount and the security
 * context), the containers list, the pod spec with its /config volume, the template, the
 * Deployment's spec and the object. */
static void y_pod_tail(struct y *y, const struct deploy_k8s_spec *spec)
{
	y_config_mount(y);
	y_security(y);
	y_end_map(y);
	y_end_seq(y);
	y_config_volume(y, spec);
	y_end_map(y); /* pod spec */
	y_end_map(y); /* template */
	y_end_map(y); /* spec */
	y_end_object(y);
}

/* The pod template's metadata: labels and the ConfigMap's hash (a change rolls the pod). */
static void y_template_meta(struct y *y, const struct deploy_k8s_spec *spec,
			    const struct cm *cm, const char *component, int node)
{
	y_str(y, "metadata");
	y_map(y);
	y_str(y, "labels");
	y_map(y);
	y_kv(y, "app.kubernetes.io/name", "edgepipe");
	y_kv(y, "app.kubernetes.io/instance", spec->name);
	y_kv(y, "app.kubernetes.io/component", component);
	if (node >= 0) {
		y_str(y, "edgepipe.io/node");
		y_strf(y, "%d", node);
	}
	y_end_map(y);
	y_str(y, "annotations");
	y_map(y);
	y_str(y, "edgepipe.io/config-hash");
	y_strf(y, "%016llx", (unsigned long long)cm->hash);
	y_end_map(y);
	y_end_map(y);
}

static void write_configmap(struct y *y, const struct deploy_k8s_spec *spec, const struct cm *cm)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char name[64];
	bool any_binary = false;

	snprintf(name, sizeof(name), "%s-config", spec->name);
	y_object(y, spec, "v1", "ConfigMap", name, "config", -1);
	y_str(y, "data");
	y_map(y);
	for (int i = 0; i < cm->n; i++) {
		any_binary |= cm->e[i].binary;
		if (cm->e[i].binary)
			continue;
		y_str(y, cm->e[i].key);
		y_scalar(y, cm->e[i].data, cm->e[i].len, true, YAML_LITERAL_SCALAR_STYLE);
	}
	y_end_map(y);
	if (any_binary) {
		y_str(y, "binaryData");
		y_map(y);
		for (int i = 0; i < cm->n; i++) {
			const unsigned char *d = (const unsigned char *)cm->e[i].data;
			size_t n = cm->e[i].len, o = 0;
			char *enc;

			if (!cm->e[i].binary)
				continue;
			enc = malloc((n + 2) / 3 * 4 + (n + 56) / 57 + 1);
			if (!enc) {
				y->failed = true;
				return;
			}
			for (size_t j = 0; j < n; j += 3) {
				uint32_t v = (uint32_t)d[j] << 16 |
					     (j + 1 < n ? (uint32_t)d[j + 1] << 8 : 0) |
					     (j + 2 < n ? d[j + 2] : 0);

				enc[o++] = b64[v >> 18 & 63];
				enc[o++] = b64[v >> 12 & 63];
				enc[o++] = j + 1 < n ? b64[v >> 6 & 63] : '=';
				enc[o++] = j + 2 < n ? b64[v & 63] : '=';
				if (j % 57 == 54 || j + 3 >= n)
					enc[o++] = '\n'; /* 76 columns, as MIME; decoders skip it */
			}
			enc[o] = '\0';
			y_str(y, cm->e[i].key);
			y_scalar(y, enc, o, true, YAML_LITERAL_SCALAR_STYLE);
			free(enc);
		}
		y_end_map(y);
	}
	y_end_object(y);
}

/* CPU in millicores for node i (0: no limit). */
static long node_millicores(const struct deploy_k8s_spec *spec, const struct cluster *c, int i)
{
	double m;

	if (spec->core_flops <= 0 || c->speed_flops[i] <= 0)
		return 0;
	m = ceil(1000.0 * c->speed_flops[i] / spec->core_flops - 1e-9);
	return m < 1 ? 1 : m > (double)LONG_MAX / 2 ? LONG_MAX / 2 : (long)m;
}

static void y_quantity_mem(struct y *y, double bytes)
{
	double b = ceil(bytes);

	if (fmod(b, 1048576.0) == 0)
		y_strf(y, "%.0fMi", b / 1048576.0);
	else
		y_strf(y, "%.0f", b);
}

/* A single-replica Deployment's spec up to its pod spec, left open: replicas 1, strategy
 * Recreate (never two pods of one stage host, or two dispatchers, at a time), the selector and
 * the pod template's metadata. */
static void y_deployment_head(struct y *y, const struct deploy_k8s_spec *spec, const struct cm *cm,
			      const char *component, int node)
{
	y_str(y, "spec");
	y_map(y);
	y_str(y, "replicas");
	y_int(y, 1);
	y_str(y, "strategy");
	y_map(y);
	y_kv(y, "type", "Recreate");
	y_end_map(y);
	y_str(y, "selector");
	y_map(y);
	y_str(y, "matchLabels");
	y_selector_labels(y, spec, component, node);
	y_end_map(y);
	y_str(y, "template");
	y_map(y);
	y_template_meta(y, spec, cm, component, node);
	y_str(y, "spec");
	y_map(y);
}

/* The stage host's container ports: control, then its data ports. */
static void host_ports(struct y *y, const struct deploy_k8s_spec *spec)
{
	y_str(y, "ports");
	y_seq(y);
	y_map(y);
	y_kv(y, "name", "control");
	y_str(y, "containerPort");
	y_int(y, spec->port);
	y_end_map(y);
	for (int k = 1; k <= EMU_REMOTE_DATA_SLOTS; k++) {
		y_map(y);
		y_kv(y, "name", k == 1 ? "data" : "data-update");
		y_str(y, "containerPort");
		y_int(y, spec->port + k);
		y_end_map(y);
	}
	y_end_seq(y);
}

/* Node i's memory and CPU, requested = limited (Guaranteed QoS). */
static void host_resources(struct y *y, const struct deploy_k8s_spec *spec,
			   const struct instance *inst, int i)
{
	long mc = node_millicores(spec, inst->cluster, i);

	y_str(y, "resources");
	y_map(y);
	for (int k = 0; k < 2; k++) {
		y_str(y, k ? "limits" : "requests");
		y_map(y);
		if (mc > 0) {
			y_str(y, "cpu");
			y_strf(y, "%ldm", mc);
		}
		y_str(y, "memory");
		y_quantity_mem(y, inst->cluster->mem_bytes[i]);
		y_end_map(y);
	}
	y_end_map(y);
}

/* Node i's stage host Deployment `name`, pinned to its node. */
static void host_deployment(struct y *y, const struct deploy_k8s_spec *spec,
			    const struct instance *inst, const struct plan *plan,
			    const struct cm *cm, int i, const char *name)
{
	char stage[16] = "spare";

	for (int s = 0; s < plan->n_stages; s++)
		if (plan->stages[s].node == i)
			snprintf(stage, sizeof(stage), "%d", s);
	/* The plan's stage on the Deployment, not its pods: a new plan rolls no pod. */
	y_object_ann(y, spec, "apps/v1", "Deployment", name, "stage-host", i,
		     "edgepipe.io/plan-stage", stage);
	y_deployment_head(y, spec, cm, "stage-host", i);
	y_str(y, "nodeSelector");
	y_map(y);
	y_kv(y, "kubernetes.io/hostname", spec->node_names[i]);
	y_end_map(y);
	y_str(y, "automountServiceAccountToken");
	y_bool(y, false);
	y_str(y, "terminationGracePeriodSeconds");
	y_int(y, 5);
	y_container_head(y, spec, "stage");
	y_str(y, "--listen");
	y_strf(y, "0.0.0.0:%u", spec->port);
	y_str(y, "--name");
	y_str(y, spec->node_names[i]);
	y_end_seq(y);
	host_ports(y, spec);
	host_resources(y, spec, inst, i);
	y_pod_tail(y, spec);
}

/* The headless Service `name`: a stable DNS name for node i's host pod, ready or not (the
 * dispatcher decides what is alive, by heartbeats). */
static void host_service(struct y *y, const struct deploy_k8s_spec *spec, int i, const char *name)
{
	y_object(y, spec, "v1", "Service", name, "stage-host", i);
	y_str(y, "spec");
	y_map(y);
	y_kv(y, "clusterIP", "None");
	y_str(y, "publishNotReadyAddresses");
	y_bool(y, true);
	y_str(y, "selector");
	y_selector_labels(y, spec, "stage-host", i);
	y_str(y, "ports");
	y_seq(y);
	for (int k = 0; k <= EMU_REMOTE_DATA_SLOTS; k++) {
		y_map(y);
		y_kv(y, "name", k == 0 ? "control" : k == 1 ? "data" : "data-update");
		y_kv(y, "protocol", "TCP");
		y_str(y, "port");
		y_int(y, spec->port + k);
		y_str(y, "targetPort");
		y_int(y, spec->port + k);
		y_end_map(y);
	}
	y_end_seq(y);
	y_end_map(y);
	y_end_object(y);
}

static void write_host(struct y *y, const struct deploy_k8s_spec *spec, const struct instance *inst,
		       const struct plan *plan, const struct cm *cm, int i)
{
	char name[64];

	snprintf(name, sizeof(name), "%s-host-%d", spec->name, i);
	host_deployment(y, spec, inst, plan, cm, i, name);
	host_service(y, spec, i, name);
}

/* The controller's Role `name`: DEPLOY_K8S_VERBS on the stage hosts' Deployments, by name. */
static void controller_role(struct y *y, const struct deploy_k8s_spec *spec, const char *name)
{
	static const char *const verbs[] = {DEPLOY_K8S_VERBS};

	y_object(y, spec, "rbac.authorization.k8s.io/v1", "Role", name, "controller", -1);
	y_str(y, "rules");
	y_seq(y);
	y_map(y);
	y_str(y, "apiGroups");
	y_seq(y);
	y_str(y, "apps");
	y_end_seq(y);
	y_str(y, "resources");
	y_seq(y);
	y_str(y, "deployments");
	y_end_seq(y);
	y_str(y, "resourceNames");
	y_seq(y);
	for (int i = 0; i < spec->n_nodes; i++)
		y_strf(y, "%s-host-%d", spec->name, i);
	y_end_seq(y);
	y_str(y, "verbs");
	y_seq(y);
	for (size_t v = 0; v < sizeof(verbs) / sizeof(verbs[0]); v++)
		y_str(y, verbs[v]);
	y_end_seq(y);
	y_end_map(y);
	y_end_seq(y);
	y_end_object(y);
}

/* The ServiceAccount `name`, its Role, and the RoleBinding between them. */
static void controller_rbac(struct y *y, const struct deploy_k8s_spec *spec, const char *name)
{
	y_object(y, spec, "v1", "ServiceAccount", name, "controller", -1);
	y_end_object(y);
	controller_role(y, spec, name);
	y_object(y, spec, "rbac.authorization.k8s.io/v1", "RoleBinding", name, "controller", -1);
	y_str(y, "subjects");
	y_seq(y);
	y_map(y);
	y_kv(y, "kind", "ServiceAccount");
	y_kv(y, "name", name);
	if (spec->namespace_)
		y_kv(y, "namespace", spec->namespace_);
	y_end_map(y);
	y_end_seq(y);
	y_str(y, "roleRef");
	y_map(y);
	y_kv(y, "apiGroup", "rbac.authorization.k8s.io");
	y_kv(y, "kind", "Role");
	y_kv(y, "name", name);
	y_end_map(y);
	y_end_object(y);
}

/* The init container that holds the dispatcher until the stage hosts' Deployments are
 * available (kubectl wait, at most wait_s). */
static void controller_wait(struct y *y, const struct deploy_k8s_spec *spec)
{
	y_str(y, "initContainers");
	y_seq(y);
	y_map(y);
	y_kv(y, "name", "wait-for-hosts");
	y_kv(y, "image", spec->image);
	y_kv(y, "imagePullPolicy", "IfNotPresent");
	y_str(y, "command");
	y_seq(y);
	y_str(y, "sh");
	y_str(y, "-c");
	y_str(y, "kubectl wait --namespace \"$POD_NAMESPACE\" --for=condition=Available "
		 "--timeout=\"$WAIT\" \"$@\" || echo 'edgepipe: not every stage host is "
		 "available; dispatching to those that are' >&2");
	y_str(y, "wait-for-hosts");
	for (int i = 0; i < spec->n_nodes; i++)
		y_strf(y, "deployment/%s-host-%d", spec->name, i);
	y_end_seq(y);
	y_str(y, "env");
	y_seq(y);
	y_map(y);
	y_kv(y, "name", "POD_NAMESPACE");
	y_str(y, "valueFrom");
	y_map(y);
	y_str(y, "fieldRef");
	y_map(y);
	y_kv(y, "fieldPath", "metadata.namespace");
	y_end_map(y);
	y_end_map(y);
	y_end_map(y);
	y_map(y);
	y_kv(y, "name", "WAIT");
	y_str(y, "value");
	y_strf(y, "%.0fs", ceil(spec->wait_s));
	y_end_map(y);
	y_end_seq(y);
	y_security(y);
	y_end_map(y);
	y_end_seq(y);
}

/* The dispatcher's container: `edgepipe dispatch` on the hosts' Services with the
 * ConfigMap's plan and the instance and extra arguments, and its two ports. */
static void controller_container(struct y *y, const struct deploy_k8s_spec *spec, const char *hosts)
{
	y_container_head(y, spec, "dispatch");
	y_str(y, "--hosts");
	y_str(y, hosts);
	y_str(y, "--listen");
	y_strf(y, "0.0.0.0:%u", spec->dispatch_port);
	y_str(y, "--plan"); /* the ConfigMap's: the plan deployed is the plan run */
	y_str(y, "/config/plan.json");
	for (int i = 0; i < spec->n_args; i++)
		y_str(y, spec->args[i]);
	y_end_seq(y);
	y_str(y, "ports");
	y_seq(y);
	for (int k = 0; k < 2; k++) {
		y_map(y);
		y_kv(y, "name", k ? "heartbeats" : "results");
		y_str(y, "containerPort");
		y_int(y, spec->dispatch_port);
		y_kv(y, "protocol", k ? "UDP" : "TCP");
		y_end_map(y);
	}
	y_end_seq(y);
}

static void write_controller(struct y *y, const struct deploy_k8s_spec *spec, const struct cm *cm)
{
	char name[64], *hosts = NULL;
	size_t hosts_len = 0;
	FILE *hf;

	snprintf(name, sizeof(name), "%s-controller", spec->name);
	controller_rbac(y, spec, name);
	/* --hosts: node i's name = its Service and control port. */
	hf = open_memstream(&hosts, &hosts_len);
	if (!hf) {
		y->failed = true;
		return;
	}
	for (int i = 0; i < spec->n_nodes; i++)
		fprintf(hf, "%s%s=%s-host-%d:%u", i ? "," : "", spec->node_names[i], spec->name, i,
			spec->port);
	if (fclose(hf)) {
		free(hosts);
		y->failed = true;
		return;
	}
	y_object(y, spec, "apps/v1", "Deployment", name, "controller", -1);
	y_deployment_head(y, spec, cm, "controller", -1);
	y_kv(y, "serviceAccountName", name);
	controller_wait(y, spec);
	controller_container(y, spec, hosts);
	y_pod_tail(y, spec);
	free(hosts);
}

/* ---- reading a plan file (JSON, through jansson) ----------------------------------------- */

/* An integer member of o that fits an int (a JSON integer, not a real). */
static bool member_int(const json_t *o, const char *key, int *out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < INT_MIN ||
	    json_integer_value(v) > INT_MAX)
		return false;
	*out = (int)json_integer_value(v);
	return true;
}

int deploy_k8s_plan_read(const char *path, struct plan *plan, char *algo, size_t size,
			 struct ep_error *err)
{
	json_error_t jerr;
	json_t *root, *obj, *stages, *a;
	int rc = EP_OK;
	size_t k;

	if (size)
		algo[0] = '\0';
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		if (access(path, R_OK) != 0)
			return ep_error_set(err, errno == ENOENT ? EP_ENOTFOUND : EP_EIO,
					    "plan file '%s': %s", path, strerror(errno));
		return ep_error_set(err, EP_EINVAL, "plan file '%s', line %d: %s", path, jerr.line,
				    jerr.text);
	}
	obj = root;
	if (json_is_array(root)) {
		if (json_array_size(root) != 1) {
			rc = ep_error_set(err, EP_EINVAL,
					  "plan file '%s' holds %zu plans: give one ('edgepipe "
					  "plan --algo NAME --format json')",
					  path, json_array_size(root));
			goto out;
		}
		obj = json_array_get(root, 0);
	}
	stages = json_object_get(obj, "stages");
	if (!json_is_array(stages)) {
		a = json_object_get(obj, "reason");
		rc = ep_error_set(err, EP_EINVAL, "plan file '%s' holds no plan (no \"stages\")%s%s",
				  path, json_is_string(a) ? ": " : "",
				  json_is_string(a) ? json_string_value(a) : "");
		goto out;
	}
	a = json_object_get(obj, "algo");
	if (json_is_string(a) && size)
		snprintf(algo, size, "%s", json_string_value(a));
	plan_clear(plan);
	for (k = 0; k < json_array_size(stages); k++) {
		const json_t *st = json_array_get(stages, k);
		int node, first, end;

		if (!member_int(st, "node", &node) || !member_int(st, "first_cut", &first) ||
		    !member_int(st, "end_cut", &end)) {
			rc = ep_error_set(err, EP_EINVAL,
					  "plan file '%s': stage %zu: expected integers \"node\", "
					  "\"first_cut\" and \"end_cut\"",
					  path, k);
			goto out;
		}
		if ((rc = plan_push(plan, first, end, node))) {
			ep_error_set(err, rc, "out of memory");
			goto out;
		}
	}
out:
	json_decref(root);
	return rc;
}

/* ---- the directory --------------------------------------------------------------------- */

enum { F_CONFIG, F_STAGES, F_CONTROLLER, F_COUNT };
static const char *const file_names[F_COUNT] = { "config.yaml", "stages.yaml",
						 "controller.yaml" };

static int write_one(const char *tmp, int which, const struct deploy_k8s_spec *spec,
		     const struct instance *inst, const struct plan *plan, const struct cm *cm,
		     struct ep_error *err)
{
	char path[PATH_MAX + 32];
	struct y y;
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", tmp, file_names[which]);
	f = fopen(path, "w");
	if (!f)
		return ep_error_set(err, EP_EIO, "cannot create '%s': %s", path, strerror(errno));
	if (y_open(&y, f)) {
		fclose(f);
		return ep_error_set(err, EP_ENOMEM, "out of memory");
	}
	if (which == F_CONFIG) {
		write_configmap(&y, spec, cm);
	} else if (which == F_STAGES) {
		for (int i = 0; i < spec->n_nodes; i++)
			write_host(&y, spec, inst, plan, cm, i);
	} else {
		write_controller(&y, spec, cm);
	}
	rc = y_close(&y);
	if (fclose(f) || rc)
		return rc ? ep_error_set(err, EP_EINTERNAL, "the YAML emitter failed on '%s': %s",
					 path, y.e.problem ? y.e.problem : "?")
			  : ep_error_set(err, EP_EIO, "cannot write '%s': %s", path,
					 strerror(errno));
	return EP_OK;
}

int deploy_k8s_write(const struct deploy_k8s_spec *spec, const struct instance *inst,
		     const struct plan *plan, const char *dir, struct ep_error *err)
{
	char tmp[PATH_MAX], path[PATH_MAX + 32];
	struct cm cm = { .n = 0 };
	struct stat st;
	bool made = false;
	size_t len;
	int rc;

	rc = deploy_k8s_check(spec, inst, plan, err);
	if (rc)
		return rc;
	if (!*dir || strlen(dir) + 16 >= sizeof(tmp))
		return ep_error_set(err, EP_EINVAL, "output directory '%s': bad path", dir);
	if (lstat(dir, &st) == 0)
		return ep_error_set(err, EP_EINVAL,
				    "output directory '%s' exists: give a new one (the manifests "
				    "are written whole or not at all)",
				    dir);
	rc = cm_build(spec, inst, plan, &cm, err);
	if (rc)
		goto out;
	/* "out/" names the directory "out": the temporary one goes beside it, not in it. */
	len = strlen(dir);
	while (len > 1 && dir[len - 1] == '/')
		len--;
	snprintf(tmp, sizeof(tmp), "%.*s.tmp-XXXXXX", (int)len, dir);
	if (!mkdtemp(tmp)) {
		rc = ep_error_set(err, EP_EIO, "cannot create a directory beside '%s': %s", dir,
				  strerror(errno));
		goto out;
	}
	made = true;
	for (int i = 0; i < F_COUNT && !rc; i++)
		rc = write_one(tmp, i, spec, inst, plan, &cm, err);
	if (rc)
		goto out;
	if (rename(tmp, dir)) {
		rc = ep_error_set(err, EP_EIO, "cannot rename '%s' to '%s': %s", tmp, dir,
				  strerror(errno));
		goto out;
	}
	made = false;
out:
	if (made) {
		for (int i = 0; i < F_COUNT; i++) {
			snprintf(path, sizeof(path), "%s/%s", tmp, file_names[i]);
			unlink(path);
		}
		rmdir(tmp);
	}
	cm_release(&cm);
	return rc;
}
