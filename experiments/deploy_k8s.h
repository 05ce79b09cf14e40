/*
 * deploy_k8s: Kubernetes manifests that run a plan on real devices (`edgepipe deploy --k8s`),
 * with the stage host and dispatcher of `edgepipe stage` and `edgepipe dispatch`.
 *
 * What is written (YAML through libyaml's emitter, so quoting follows the YAML spec), for a
 * cluster of n nodes whose node i is the Kubernetes node names[i]:
 *
 *   config.yaml      ConfigMap NAME-config: "plan.json" (the plan: model, algorithm, every
 *                    stage's node, node name, cut points and layers, the bottleneck), "args"
 *                    (the dispatcher's arguments, one per line, for reading), and the files the
 *                    instance options name, copied in: the model file when the model is not a
 *                    zoo name ("model" + the file's extension; as binaryData, base64 in lines of
 *                    76, when it is not ASCII text or has lines over 90 characters, which a
 *                    literal block would carry past yamllint's 100 columns) and the bandwidth matrix of --cluster file ("cluster.csv").
 *                    Mounted at /config in every pod; the dispatcher's arguments name them there.
 *   stages.yaml      for every node i: a single-replica Deployment NAME-host-i running
 *                    `edgepipe stage --listen 0.0.0.0:PORT --name names[i]`, pinned to its node
 *                    with the nodeSelector kubernetes.io/hostname: names[i], resources
 *                    requested = limited (Guaranteed QoS) to the node's memory and CPU (below),
 *                    the Deployment (not its pods) annotated with the plan's stage it starts
 *                    with ("0".."k-1", or "spare"); and a headless Service NAME-host-i (ports
 *                    PORT control, PORT+1 data, PORT+2 the data port of a model update's new
 *                    stage, not-ready addresses published) whose name is the stable next hop.
 *   controller.yaml  ServiceAccount, Role and RoleBinding NAME-controller and the controller
 *                    Deployment NAME-controller: `edgepipe dispatch --hosts
 *                    names[0]=NAME-host-0:PORT,... --listen 0.0.0.0:DISPATCH_PORT --plan
 *                    /config/plan.json` (the plan deployed is the plan run) with the
 *                    instance options and the caller's extra arguments; an init container
 *                    (`kubectl wait`) holds it until the stage hosts' Deployments are available
 *                    (at most wait_s, then it starts with those that are).
 *
 * Every node gets a stage host, not only the plan's: the dispatcher plans over all n hosts
 * (node i = hosts[i], the same plan as these options give `edgepipe plan`), and when a host
 * stops heartbeating it re-plans over the survivors and sends them new stage assignments
 * (emu_remote.h). Stages therefore move between already-running hosts without the Kubernetes
 * API; a Deployment stays pinned to its node, and its pod returns when the node does.
 *
 * The controller's RBAC (DEPLOY_K8S_VERBS): get, list, watch on the stage hosts' Deployments,
 * by name (resourceNames), in the manifests' namespace, for `kubectl wait`. Nothing else: no
 * nodes or pods (failure is detected by heartbeats), no patch (stages move by assignment), no
 * configmap access (a new model version is a new `edgepipe deploy` and `kubectl apply`, below).
 *
 * A new model version. The pod templates carry a hash of the ConfigMap's content except the
 * model file ("model.*") and plan.json. So manifests for another model file of the same kind
 * (same key) differ from the running ones in the ConfigMap alone: `kubectl apply` restarts no
 * pod, the kubelets update every pod's /config volume (a projected ConfigMap, not a subPath,
 * within about a minute, each node at its own time), and the running dispatcher, which watches
 * its model file as `edgepipe emu` does, rolls the new version out without losing a request:
 * planned on the live hosts, started beside the old stages, the old drained (emu_remote.h; a
 * host whose /config is still the old model waits for its copy). Anything else that changes
 * (the dispatcher's arguments, the bandwidth file, a zoo model's name) changes the hash and
 * restarts every pod: a new run. During a switch a host runs both versions' stages, within the
 * one memory limit, as an emulated node does within its cgroup.
 *
 * Resources. Memory: the node's memory (bytes), the plan's memory bound. CPU: a node's speed
 * factor is its speed / core_flops (the FLOP/s one core of the device achieves, e.g. from
 * `edgepipe profile` on it), the emulator's CPU share without its cap at one core; its CPU
 * limit is that many cores, rounded up to a millicore. Without a node speed (compute not
 * modelled) or core_flops, there is no CPU request or limit.
 *
 * The directory is written whole or not at all: into a new temporary directory beside it,
 * renamed to `dir` at the end; an existing `dir` is an error.
 */
#ifndef EDGEPIPE_DEPLOY_K8S_H
#define EDGEPIPE_DEPLOY_K8S_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "algo.h"
#include "ep_error.h"
#include "instance.h"
#include "plan.h"

/* The controller Role's verbs on apps/deployments, in this order (the README's table). */
#define DEPLOY_K8S_VERBS "get", "list", "watch"

/* A file copied into the ConfigMap under `key`, which the dispatcher's arguments name as
 * /config/<key>. */
struct deploy_k8s_file {
	const char *key;  /* [-._a-zA-Z0-9]+ */
	const char *path; /* read at write time */
};

struct deploy_k8s_spec {
	const char *name;        /* object name prefix, a DNS label of at most 40 characters */
	const char *namespace_;  /* NULL: none (kubectl's current namespace) */
	const char *image;       /* the stage image (Dockerfile), e.g. "edgepipe:0.1" */
	const char *const *node_names; /* [n] Kubernetes node names, node i first; distinct */
	int n_nodes;             /* = the instance's cluster size */
	uint16_t port;           /* stage hosts' control port; data = port + 1 */
	uint16_t dispatch_port;  /* the dispatcher's result and heartbeat port */
	double core_flops;       /* FLOP/s of one device core; 0: no CPU limits */
	double wait_s;           /* the controller's wait for the stage hosts */
	const char *algo;        /* the plan's algorithm (for plan.json) */
	const char *const *args; /* the dispatcher's instance and extra arguments, in order */
	int n_args;
	const struct deploy_k8s_file *files; /* copied into the ConfigMap */
	int n_files;
};

/*
 * Read a plan file: the JSON of `edgepipe plan --format json` (an array of one algorithm's
 * result) or the ConfigMap's plan.json (one object), each with "stages": [{"node",
 * "first_cut", "end_cut"}...] (other fields are ignored), read with jansson (a key given
 * twice is refused).
 * `plan` (initialised) receives the stages, unchecked; `algo` (size bytes) the "algo" field
 * or "". Errors: EP_ENOTFOUND (no file), EP_EINVAL (not JSON, no plan, several plans, a
 * field not an integer: "PATH: ..." naming it), EP_ENOMEM.
 */
int deploy_k8s_plan_read(const char *path, struct plan *plan, char *algo, size_t size,
			 struct ep_error *err);

/*
 * Check `spec` against the instance and plan: n_nodes equals the cluster's size, every node
 * name a valid DNS subdomain and label value (at most 63 characters) and listed once, name a
 * DNS label, every plan stage on a node in range. Errors: EP_EINVAL naming the value.
 */
int deploy_k8s_check(const struct deploy_k8s_spec *spec, const struct instance *inst,
		     const struct plan *plan, struct ep_error *err);

/*
 * Check as deploy_k8s_check does, then write the manifests for `plan` into the new directory
 * `dir` (see above). Nothing is left behind on failure. Errors: EP_EINVAL (a bad spec; `dir`
 * exists; a file over the ConfigMap's 1 MiB; named), EP_ENOTFOUND (a file to copy is
 * missing), EP_EIO (the file system, naming the path), EP_EINTERNAL (the YAML emitter),
 * EP_ENOMEM. Complexity: O(n + stages + file sizes).
 */
int deploy_k8s_write(const struct deploy_k8s_spec *spec, const struct instance *inst,
		     const struct plan *plan, const char *dir, struct ep_error *err);

/* An instance option as given, passed on to the dispatcher ("--mem", "64MiB"; value NULL: a
 * flag). */
struct deploy_k8s_arg {
	const char *opt, *value;
};

/* `edgepipe deploy --k8s` as given. */
struct deploy_k8s_request {
	/* name, namespace_, image, port, dispatch_port, core_flops, wait_s; the rest (node names,
	 * algorithm, arguments, files) is filled in by deploy_k8s_run */
	struct deploy_k8s_spec k;
	const struct instance_spec *instance;
	const char *algo; /* the algorithm's name: --algo's, or the default */
	bool algo_given;  /* --algo was given; if not, a plan file's algorithm takes its place */
	struct algo_options algo_options;
	const char *plan_file;		    /* --plan FILE, or NULL */
	const char *node_names;		    /* "A,B,..." */
	const struct deploy_k8s_arg *given; /* the instance options in their order */
	int n_given;
	char *const *extra; /* the dispatcher's own arguments (after "--") */
	int n_extra;
	const char *dir;
};

/* What deploy_k8s_run wrote. */
struct deploy_k8s_result {
	const char *dir;
	int n_stages, n_nodes;
	char model[MODEL_NAME_MAX];
	char algo[64];
};

/*
 * Deploy: read the plan file (if any), make the plan the dispatcher will make (the algorithm's
 * run as `edgepipe plan` does it), check the file's plan is that one, and write the manifests
 * into req->dir (deploy_k8s_write). The dispatcher's arguments are the instance options as
 * given, a model file's path (a --model that is not a zoo name) and --cluster-file's replaced by
 * their ConfigMap paths (/config/model.EXT, /config/cluster.csv; the files copied in, the last
 * of a key when given twice), then --algo from the plan file when --algo was not given, then the
 * extra arguments. Errors: the plan file's, EP_EINVAL (an unknown algorithm; no plan for these
 * options, naming the algorithm and its reason; a file's plan that is another, naming the first
 * stage that differs; a bad spec), the instance's and deploy_k8s_write's, EP_ENOMEM.
 */
int deploy_k8s_run(const struct deploy_k8s_request *req, struct deploy_k8s_result *res,
		   struct ep_error *err);

/* One line: the directory, stages, model, nodes and algorithm of what deploy_k8s_run wrote. */
void deploy_k8s_result_write(FILE *f, const struct deploy_k8s_result *res);

#endif
