/*
 * deploy_k8s_run: `edgepipe deploy --k8s` from the options as given (deploy_k8s.h): the plan
 * the dispatcher will make, checked against a plan file, and the manifests that run it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy_k8s.h"
#include "model_zoo.h"
#include "trial.h"

/* Everything deploy_k8s_run allocates, released in one place. */
struct run {
	struct instance *inst;
	struct algo_result r;
	struct plan file_plan;
	char plan_algo[64];
	char *names_buf;
	const char **names, **args;
	struct deploy_k8s_file *files;
	char model_key[32], model_arg[64];
};

/* The names of "A,B,C" into run->names (the copy is cut in place): their count or EP_ENOMEM. */
static int split_names(struct run *run, const char *s, struct ep_error *err)
{
	int n = 1;

	run->names_buf = strdup(s);
	if (!run->names_buf)
		return ep_error_set(err, EP_ENOMEM, "out of memory");
	for (const char *p = s; *p; p++)
		n += *p == ',';
	run->names = calloc((size_t)n, sizeof(*run->names));
	if (!run->names)
		return ep_error_set(err, EP_ENOMEM, "out of memory");
	n = 0;
	for (char *p = run->names_buf, *q; p; p = q) {
		q = strchr(p, ',');
		if (q)
			*q++ = '\0';
		run->names[n++] = p;
	}
	return n;
}

/* A file the dispatcher's arguments name, into the ConfigMap under `key`: a later one of the
 * same key replaces it (the last --model is the instance's, as for every option). */
static void file_add(struct deploy_k8s_spec *k, struct deploy_k8s_file *files, const char *key,
		     const char *path)
{
	int i = 0;

	while (i < k->n_files && strcmp(files[i].key, key) != 0)
		i++;
	files[i] = (struct deploy_k8s_file){key, path};
	if (i == k->n_files)
		k->n_files++;
}

/* The ConfigMap's files (a model file, the --cluster-file) and the dispatcher's arguments: the
 * instance options as given, files renamed to their ConfigMap paths, --algo from the plan
 * file when not given, then the caller's own. */
static int build_args(const struct deploy_k8s_request *req, struct run *run,
		      struct deploy_k8s_spec *k, struct ep_error *err)
{
	int n = 0;

	run->files = calloc((size_t)req->n_given + 1, sizeof(*run->files));
	run->args = calloc((size_t)(2 * req->n_given + req->n_extra + 2), sizeof(*run->args));
	if (!run->files || !run->args)
		return ep_error_set(err, EP_ENOMEM, "out of memory");
	for (int i = 0; i < req->n_given; i++) {
		const struct deploy_k8s_arg *g = &req->given[i];

		run->args[n++] = g->opt;
		if (!g->value)
			continue;
		if (strcmp(g->opt, "--model") == 0 && !model_zoo_find(g->value)) {
			const char *dot = strrchr(g->value, '.'), *slash = strrchr(g->value, '/');
			const char *ext =
				dot && (!slash || dot > slash) && strlen(dot) < 16 ? dot : "";

			snprintf(run->model_key, sizeof(run->model_key), "model%s", ext);
			snprintf(run->model_arg, sizeof(run->model_arg), "/config/%s",
				 run->model_key);
			file_add(k, run->files, run->model_key, g->value);
			run->args[n++] = run->model_arg;
		} else if (strcmp(g->opt, "--cluster-file") == 0) {
			file_add(k, run->files, "cluster.csv", g->value);
			run->args[n++] = "/config/cluster.csv";
		} else {
			run->args[n++] = g->value;
		}
	}
	if (!req->algo_given && run->plan_algo[0]) {
		run->args[n++] = "--algo";
		run->args[n++] = run->plan_algo;
	}
	for (int i = 0; i < req->n_extra; i++)
		run->args[n++] = req->extra[i];
	k->files = run->files;
	k->args = run->args;
	k->n_args = n;
	return EP_OK;
}

/* --plan FILE's plan is the one these options make: EP_OK, or EP_EINVAL naming the first stage
 * that differs. */
static int plans_agree(const char *path, const struct plan *file_plan, const struct plan *plan,
		       const char *algo, struct ep_error *err)
{
	for (int s = 0; s < file_plan->n_stages || s < plan->n_stages; s++) {
		const struct plan_stage *a = s < file_plan->n_stages ? &file_plan->stages[s] : NULL;
		const struct plan_stage *b = s < plan->n_stages ? &plan->stages[s] : NULL;

		if (a && b && a->node == b->node && a->first_cut == b->first_cut &&
		    a->end_cut == b->end_cut)
			continue;
		return ep_error_set(err, EP_EINVAL,
				    "plan file '%s': stage %d is %s, but %s with these options "
				    "makes %s; the dispatcher plans with the options, so give "
				    "those that made the file's plan",
				    path, s, a ? "on another node or cut" : "missing", algo,
				    b ? "another" : "fewer stages");
	}
	return EP_OK;
}

/* The algorithm: --algo, else the plan file's, else the default the request names. */
static int find_algo(const struct deploy_k8s_request *req, const struct run *run,
		     const struct algo **out, struct ep_error *err)
{
	const char *name = !req->algo_given && run->plan_algo[0] ? run->plan_algo : req->algo;
	char known[1024];

	*out = algo_find(name);
	if (*out)
		return EP_OK;
	algo_names_format(algo_registry, NULL, known, sizeof(known));
	return ep_error_set(err, EP_EINVAL, "--algo '%s': unknown algorithm (%s)", name, known);
}

/* The plan the dispatcher will make (trial_plan: the same as `edgepipe plan`), checked
 * against --plan FILE's when there is one. */
static int plan_checked(const struct deploy_k8s_request *req, struct run *run,
			const struct trial_setup *t, struct deploy_k8s_spec *k,
			struct ep_error *err)
{
	int rc;

	EP_CHECK(trial_plan(t, &run->r, err));
	if (run->r.status != EP_OK || run->r.plan.n_stages < 1)
		return ep_error_set(err, EP_EINVAL, "%s finds no plan for these options (%s): %s",
				    t->algo->name, ep_strerror(run->r.status), run->r.reason);
	if (!req->plan_file)
		return EP_OK;
	rc = deploy_k8s_check(k, run->inst, &run->file_plan, err);
	if (rc && err) {
		char msg[sizeof(err->msg)];

		snprintf(msg, sizeof(msg), "%s", err->msg);
		return ep_error_set(err, rc, "plan file '%s': %s", req->plan_file, msg);
	}
	if (rc)
		return rc;
	return plans_agree(req->plan_file, &run->file_plan, &run->r.plan, t->algo->name, err);
}

int deploy_k8s_run(const struct deploy_k8s_request *req, struct deploy_k8s_result *res,
		   struct ep_error *err)
{
	struct deploy_k8s_spec k = req->k;
	struct trial_setup t = {0};
	struct run run = {0};
	int rc, n;

	algo_result_init(&run.r);
	plan_init(&run.file_plan);
	if (req->plan_file)
		EP_CHECK_GOTO(deploy_k8s_plan_read(req->plan_file, &run.file_plan, run.plan_algo,
						   sizeof(run.plan_algo), err),
			      rc, out);
	EP_CHECK_GOTO(find_algo(req, &run, &t.algo, err), rc, out);
	EP_CHECK_GOTO(instance_create(req->instance, &run.inst, err), rc, out);
	if ((n = split_names(&run, req->node_names, err)) < 0) {
		rc = n;
		goto out;
	}
	k.node_names = run.names;
	k.n_nodes = n;
	k.algo = t.algo->name;
	t.inst = run.inst;
	t.spec = req->instance;
	t.algo_options = req->algo_options;
	EP_CHECK_GOTO(plan_checked(req, &run, &t, &k, err), rc, out);
	EP_CHECK_GOTO(build_args(req, &run, &k, err), rc, out);
	EP_CHECK_GOTO(deploy_k8s_write(&k, run.inst, &run.r.plan, req->dir, err), rc, out);
	res->dir = req->dir;
	res->n_stages = run.r.plan.n_stages;
	res->n_nodes = run.inst->cluster->n;
	snprintf(res->model, sizeof(res->model), "%s", run.inst->profile->model);
	snprintf(res->algo, sizeof(res->algo), "%s", t.algo->name);
out:
	free(run.args);
	free(run.files);
	free(run.names);
	free(run.names_buf);
	plan_release(&run.file_plan);
	algo_result_release(&run.r);
	instance_destroy(run.inst);
	return rc;
}

void deploy_k8s_result_write(FILE *f, const struct deploy_k8s_result *res)
{
	fprintf(f,
		"%s: %d stage(s) of %s on %d node(s) (%s), manifests for %d stage host(s) and the "
		"controller\n",
		res->dir, res->n_stages, res->model, res->n_nodes, res->algo, res->n_nodes);
}
