/*
 * Deployments, the fault timeline, failure detection, re-planning and model updates
 * (emu_session.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emu_internal.h"
#include "emu_session_internal.h"
#include "emu_stage.h"
#include "model_exec.h"
#include "model_zoo.h"

#define STOP_GRACE_S 1.0
#define WATCH_S      0.5  /* how often the watched model file is looked at */
#define PLAN_RETRY_S 1.0  /* with no plan and no node change, try again this often */
#define CUT_BPS      1.0  /* a cut link's bandwidth in a re-plan */

/* ---- model versions ---- */

/* The images and the whole model's outputs for them (emu_config.tensors_path). */
static int real_save(const char *path, const struct version *v, int64_t in_n,
		     struct ep_error *err)
{
	FILE *f = fopen(path, "wb");
	bool ok = f != NULL;

	for (int i = 0; ok && i < v->n_img; i++)
		ok = fwrite(v->img[i], sizeof(float), (size_t)in_n, f) == (size_t)in_n &&
		     fwrite(v->ref[i], sizeof(float), (size_t)v->out_elems, f) ==
			     (size_t)v->out_elems;
	if (f && fclose(f) != 0)
		ok = false;
	if (!ok)
		return ep_error_set(err, EP_EIO, "cannot write the tensors to '%s': %s", path,
				    strerror(errno));
	return EP_OK;
}

/*
 * Real compute: the version's weights (kept by the controller; the stage processes see them
 * through fork), its synthetic images and the whole model's output for each, computed here
 * once, before any stage runs.
 */
static int real_prepare(struct emu_session *s, struct version *v, const struct model_graph *g,
			const char *spec, struct ep_error *err)
{
	const struct model_profile *pr = v->pp->profile;
	struct model_exec_options eo = MODEL_EXEC_OPTIONS_DEFAULT;
	struct model_stage *whole = NULL;
	int rc, k = s->cfg.real_inputs > 0 ? s->cfg.real_inputs : 1;
	int64_t in_n;

	rc = model_zoo_weights_open(spec, g, s->cfg.seed, &v->w, err);
	if (rc)
		return rc;
	eo.threads = s->cfg.threads > 0 ? s->cfg.threads : 1;
	rc = model_stage_create(v->w, pr->cuts[0].layer, pr->cuts[pr->n_cuts - 1].layer, &eo,
				&whole, err);
	if (rc)
		return rc;
	in_n = model_stage_input_elements(whole);
	v->out_elems = model_stage_output_elements(whole);
	v->input_bytes = (size_t)in_n * sizeof(float);
	v->img = calloc((size_t)k, sizeof(float *));
	v->ref = calloc((size_t)k, sizeof(float *));
	v->ref_max = calloc((size_t)k, sizeof(double));
	if (!v->img || !v->ref || !v->ref_max) {
		model_stage_destroy(whole);
		return ep_error_set(err, EP_ENOMEM, "out of memory for the reference outputs");
	}
	v->n_img = k;
	for (int i = 0; i < k && rc == EP_OK; i++) {
		v->img[i] = malloc((size_t)in_n * sizeof(float));
		v->ref[i] = malloc((size_t)v->out_elems * sizeof(float));
		if (!v->img[i] || !v->ref[i]) {
			rc = ep_error_set(err, EP_ENOMEM, "out of memory for the reference outputs");
			break;
		}
		model_exec_synthetic_input(v->img[i], (size_t)in_n,
					   s->cfg.seed * 1000003u + (uint64_t)i);
		rc = model_stage_run(whole, v->img[i], v->ref[i], err);
		for (int64_t j = 0; rc == EP_OK && j < v->out_elems; j++)
			v->ref_max[i] = fmax(v->ref_max[i], fabs((double)v->ref[i][j]));
	}
	model_stage_destroy(whole);
	if (rc == EP_OK && s->cfg.tensors_path && s->dpl.n_vers == 1)
		rc = real_save(s->cfg.tensors_path, v, in_n, err);
	return rc;
}

static int add_version(struct emu_session *s, const char *name, const struct problem *borrowed,
		       const struct model_profile *profile, struct model_graph *graph,
		       struct model_profile *owned, struct ep_error *err)
{
	struct version *v;
	int rc;

	if (s->dpl.n_vers == s->dpl.cap_vers) {
		int cap = s->dpl.cap_vers ? 2 * s->dpl.cap_vers : 4;
		struct version *nv = realloc(s->dpl.vers, (size_t)cap * sizeof(*nv));

		if (!nv)
			return ep_error_set(err, EP_ENOMEM, "out of memory for a model version");
		s->dpl.vers = nv;
		s->dpl.cap_vers = cap;
		/* version 0 points into the run's problem; the others at themselves */
		for (int i = 0; i < s->dpl.n_vers; i++)
			if (s->dpl.vers[i].p_init)
				s->dpl.vers[i].pp = &s->dpl.vers[i].p;
	}
	v = &s->dpl.vers[s->dpl.n_vers];
	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s", name);
	if (borrowed) {
		v->pp = borrowed;
	} else {
		rc = problem_init(&v->p, profile, s->cl, &s->p0->options, err);
		if (rc)
			return rc;
		v->p_init = true;
		v->pp = &v->p;
	}
	v->graph = graph;
	v->profile = owned;
	v->g = graph ? graph : borrowed ? s->cfg.graph : s->cfg.update_graph;
	s->dpl.n_vers++; /* from here on, emu_recovery_release frees it */
	if (s->cfg.real) {
		if (!v->g)
			return ep_error_set(err, EP_EINVAL, "real compute of %s: no model graph",
					    name);
		return real_prepare(s, v, v->g,
				    graph ? s->cfg.watch_path
				    : borrowed ? s->cfg.model_spec : s->cfg.update_spec, err);
	}
	{
		int64_t shape[EMU_CODEC_MAX_RANK];
		int rank;
		double bytes;

		emu_version_cut_shape(s, v, 0, shape, &rank, &bytes);
		v->input_bytes = (size_t)bytes;
	}
	v->input = malloc(v->input_bytes ? v->input_bytes : 1);
	if (!v->input)
		return ep_error_set(err, EP_ENOMEM, "out of memory for an input tensor");
	emu_tensor_fill(v->input, v->input_bytes, s->cfg.seed + (uint64_t)(s->dpl.n_vers - 1), false);
	return EP_OK;
}

void emu_version_cut_shape(const struct emu_session *s, const struct version *v, int cut,
			   int64_t *shape, int *rank, double *bytes)
{
	const struct model_profile *pr = v->pp->profile;
	double b = floor(v->pp->transfer_bits[cut] / 8);
	const struct model_layer *l = v->g ? model_graph_layer(v->g, (size_t)pr->cuts[cut].layer)
					   : NULL;

	*rank = 0;
	*bytes = b;
	if (l && l->rank <= EMU_CODEC_MAX_RANK &&
	    (s->cfg.real || (double)model_layer_elements(l) * sizeof(float) == b)) {
		/* The cut tensor as the model lays it out (H x W x C), which ZFP codes best. */
		*rank = l->rank;
		for (int i = 0; i < l->rank; i++)
			shape[i] = l->shape[i];
		*bytes = (double)model_layer_elements(l) * sizeof(float);
	} else if (b >= sizeof(float)) {
		/* No graph, or an accounting whose transfer is not the float32 tensor: a vector,
		 * to whole floats when coded (a codec codes floats). */
		*rank = 1;
		shape[0] = (int64_t)ceil(b / sizeof(float));
		if (s->disp.codec)
			*bytes = (double)shape[0] * sizeof(float);
	}
}

static void real_release(struct version *v)
{
	for (int i = 0; i < v->n_img; i++) {
		free(v->img ? v->img[i] : NULL);
		free(v->ref ? v->ref[i] : NULL);
	}
	free(v->img);
	free(v->ref);
	free(v->ref_max);
	model_weights_destroy(v->w);
	v->img = v->ref = NULL;
	v->ref_max = NULL;
	v->w = NULL;
	v->n_img = 0;
}

/* ---- init and release ---- */

int emu_recovery_init(struct emu_session *s, struct ep_error *err)
{
	int nf = s->cfg.n_faults, v = s->n + 1;
	int rc;

	s->cut = calloc((size_t)v * (size_t)v, sizeof(bool));
	s->frec = calloc((size_t)nf + 1, sizeof(*s->frec));
	s->f_skipped = calloc((size_t)nf + 1, sizeof(bool));
	s->f_redeploy = calloc((size_t)nf + 1, sizeof(bool));
	s->dpl.rng_plan = gsl_rng_alloc(gsl_rng_mt19937);
	if (!s->cut || !s->frec || !s->f_skipped || !s->f_redeploy || !s->dpl.rng_plan)
		return ep_error_set(err, EP_ENOMEM, "out of memory for the fault timeline");
	gsl_rng_set(s->dpl.rng_plan, (unsigned long)(s->cfg.seed * 0x9e3779b97f4a7c15u + 7));
	for (int i = 0; i < nf; i++) {
		const struct timeline_fault *f = &s->cfg.faults[i];

		s->frec[i] = (struct timeline_fault_record){ .fault = i, .node = -1, .peer = -1,
							 .scheduled_s = f->at_s,
							 .end_scheduled_s = f->for_s > 0
										    ? f->at_s + f->for_s
										    : -1,
							 .at_s = -1, .end_s = -1, .detected_s = -1,
							 .live_s = -1, .detection_s = -1,
							 .recovery_s = -1 };
	}
	rc = add_version(s, s->p0->profile->model, s->p0, NULL, NULL, NULL, err);
	if (rc)
		return rc;
	if (s->cfg.watch_path) {
		struct stat st;

		if (stat(s->cfg.watch_path, &st) == 0) {
			s->dpl.watch_mtime = st.st_mtim;
			s->dpl.watch_size = st.st_size;
		}
	}
	s->dpl.noplan_since_s = -1;
	return EP_OK;
}

void emu_recovery_release(struct emu_session *s)
{
	for (int k = 0; k < s->dpl.n_deps; k++) {
		struct deploy *d = &s->dpl.deps[k];

		plan_release(&d->plan);
		emu_out_release(&d->out);
		emu_frame_reader_release(&d->res);
		free(d->pid);
		free(d->ctl);
		free(d->ready);
		free(d->exited);
		free(d->status);
		free(d->rec);
	}
	free(s->dpl.deps);
	s->dpl.deps = NULL;
	s->dpl.n_deps = 0;
	for (int i = 0; i < s->dpl.n_vers; i++) {
		if (s->dpl.vers[i].p_init)
			problem_release(&s->dpl.vers[i].p);
		model_profile_destroy(s->dpl.vers[i].profile);
		model_graph_destroy(s->dpl.vers[i].graph);
		free(s->dpl.vers[i].input);
		real_release(&s->dpl.vers[i]);
	}
	free(s->dpl.vers);
	s->dpl.vers = NULL;
	s->dpl.n_vers = 0;
	free(s->cut);
	free(s->frec);
	free(s->f_skipped);
	free(s->f_redeploy);
	free(s->nodes);
	s->cut = NULL;
	s->frec = NULL;
	s->f_skipped = s->f_redeploy = NULL;
	s->nodes = NULL;
	if (s->dpl.rng_plan)
		gsl_rng_free(s->dpl.rng_plan);
	s->dpl.rng_plan = NULL;
}

/* ---- deployments ---- */

struct deploy *emu_deploy_target(struct emu_session *s)
{
	for (int k = s->dpl.n_deps - 1; k >= 0; k--)
		if (s->dpl.deps[k].state == DEP_LIVE)
			return &s->dpl.deps[k];
	return NULL;
}

static bool active(const struct deploy *d)
{
	return d->state == DEP_STARTING || d->state == DEP_LIVE || d->state == DEP_DRAINING;
}

static bool uses_node(const struct deploy *d, int node)
{
	for (int i = 0; i < d->n; i++)
		if (d->plan.stages[i].node == node)
			return true;
	return false;
}

/* Does d send anything over a -> b or b -> a? */
static bool uses_link(const struct emu_session *s, const struct deploy *d, int a, int b)
{
	for (int h = 0; h <= d->n; h++) {
		int from = h == 0 ? s->n : d->plan.stages[h - 1].node;
		int to = h == d->n ? s->n : d->plan.stages[h].node;

		if ((from == a && to == b) || (from == b && to == a))
			return true;
	}
	return false;
}

/* A new deployment of `plan` (version `version`), STARTING, its arrays allocated; NULL when out
 * of memory (fatal set; a half-made one stays in the array as FAILED for teardown). */
static struct deploy *deploy_add(struct emu_session *s, const struct plan *plan, int version,
				 double now)
{
	int n = plan->n_stages;
	struct deploy *d;

	/* The timeline's workers walk the deployments to signal a node's processes. */
	pthread_mutex_lock(&s->tl.mu);
	if (s->dpl.n_deps == s->dpl.cap_deps) {
		int cap = s->dpl.cap_deps ? 2 * s->dpl.cap_deps : 8;
		struct deploy *nv = realloc(s->dpl.deps, (size_t)cap * sizeof(*nv));

		if (!nv) {
			pthread_mutex_unlock(&s->tl.mu);
			emu_sess_fail(s, EP_ENOMEM, "out of memory for a deployment");
			return NULL;
		}
		s->dpl.deps = nv;
		s->dpl.cap_deps = cap;
	}
	d = &s->dpl.deps[s->dpl.n_deps];
	memset(d, 0, sizeof(*d));
	plan_init(&d->plan);
	d->id = s->dpl.n_deps;
	d->version = version;
	d->n = n;
	d->state = DEP_STARTING;
	d->started_s = now;
	d->in_fd = d->res_fd = -1;
	d->in_retry_s = now;
	d->pid = calloc((size_t)n, sizeof(pid_t));
	d->ctl = malloc((size_t)n * sizeof(int));
	d->ready = calloc((size_t)n, sizeof(bool));
	d->exited = calloc((size_t)n, sizeof(bool));
	d->status = malloc((size_t)n * sizeof(int));
	d->rec = calloc((size_t)n, sizeof(*d->rec));
	s->dpl.n_deps++; /* from here on, teardown sees it */
	if (!d->pid || !d->ctl || !d->ready || !d->exited || !d->status || !d->rec ||
	    plan_copy(&d->plan, plan) != EP_OK) {
		emu_sess_fail(s, EP_ENOMEM, "out of memory for a deployment");
		d->n = 0;
		d->state = DEP_FAILED;
		pthread_mutex_unlock(&s->tl.mu);
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		d->ctl[i] = -1;
		d->status[i] = 0;
		d->pid[i] = -1;
	}
	pthread_mutex_unlock(&s->tl.mu);
	return d;
}

/* What stage i of deployment d (version v) is told: addresses, ports, tensor shapes, the codec,
 * its busy work or layers; and its record. *flops gets the stage's FLOPs. */
static void stage_spec_fill(struct emu_session *s, const struct version *v, struct deploy *d,
			    int i, bool transport, struct emu_stage_spec *sp, double *flops)
{
	const struct problem *p = v->pp;
	const struct plan_stage *st = &d->plan.stages[i];
	int n = d->n, node = st->node, next = i + 1 < n ? d->plan.stages[i + 1].node : s->n;
	int prev = i > 0 ? d->plan.stages[i - 1].node : s->n;
	double speed = s->cl->speed_flops[node];

	*flops = p->cum_flops[st->end_cut] - p->cum_flops[st->first_cut];
	memset(sp, 0, sizeof(*sp));
	sp->deployment = d->id;
	sp->index = i;
	sp->n_stages = n;
	sp->node = node;
	sp->next_node = next;
	if (!s->cfg.remote) {
		sp->listen_addr = emu_net_addr(s->net, node);
		sp->next_addr = emu_net_addr(s->net, next);
	}
	sp->listen_port = (uint16_t)(EMU_STAGE_PORT_BASE + d->id % EMU_STAGE_PORT_SPAN);
	sp->next_port = next == s->n ? EMU_RESULT_PORT : sp->listen_port;
	emu_version_cut_shape(s, v, st->first_cut, sp->in_shape, &sp->in_rank, &sp->out_bytes);
	emu_version_cut_shape(s, v, st->end_cut, sp->out_shape, &sp->out_rank, &sp->out_bytes);
	if (s->disp.codec)
		snprintf(sp->codec, sizeof(sp->codec), "%s", emu_codec_spec(s->disp.codec));
	sp->work_iters = s->cfg.compute && speed > 0
				 ? *flops / speed * s->nodes[node].share_eff * s->work_rate
				 : 0;
	sp->work_rate = s->work_rate;
	if (sp->work_iters > 0 && s->nodes[node].share > 0)
		sp->min_compute_s = *flops / speed;
	sp->hold_s = transport ? cluster_latency(s->cl, prev, node) : 0;
	sp->dense_output = i == n - 1;
	if (s->cfg.real) {
		sp->weights = v->w;
		sp->first_layer = p->profile->cuts[st->first_cut].layer;
		sp->last_layer = p->profile->cuts[st->end_cut].layer;
		sp->threads = s->cfg.threads;
		sp->work_iters = 0;
		sp->min_compute_s = 0;
	}
	sp->report_period_s = s->cfg.heartbeat_period_s;
	sp->stuck_timeout_s = s->cfg.heartbeat_timeout_s;
	sp->seed = s->cfg.seed + (uint64_t)d->id * 131u;
	sp->controller = s->self;
	d->rec[i] = (struct emu_stage_record){
		.deployment = d->id, .stage = i, .node = node, .first_cut = st->first_cut,
		.end_cut = st->end_cut, .flops = *flops, .cpu_share = s->nodes[node].share,
		.work_iters = sp->work_iters, .hold_s = sp->hold_s,
	};
}

/* Fork stage i of d in its node's namespace and cgroup, its control socket a socketpair.
 * false: fatal set. */
static bool stage_start_local(struct emu_session *s, struct deploy *d, int i,
			      struct emu_stage_spec *sp)
{
	int node = sp->node, sv[2], rc;
	struct ep_error e;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		emu_sess_fail(s, EP_EIO, "socketpair: %s", strerror(errno));
		return false;
	}
	sp->ctl_fd = sv[1];
	if ((rc = emu_net_spawn(s->net, node, s->nodes[node].cg, emu_stage_main, sp, &pid,
				&e)) != EP_OK) {
		close(sv[0]);
		close(sv[1]);
		emu_sess_fail(s, rc, "deployment %d, stage %d: %.400s", d->id, i, e.msg);
		return false;
	}
	close(sv[1]);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	d->ctl[i] = sv[0];
	/* The ground truth: a dead node runs nothing, a stalled one runs nothing yet. A kill or
	 * stall fired since the fork did not see this pid: it is applied here, under the lock the
	 * timeline's workers take. */
	pthread_mutex_lock(&s->tl.mu);
	d->pid[i] = pid;
	d->status[i] = -1;
	if (s->nodes[node].killed)
		kill(pid, SIGKILL);
	else if (s->nodes[node].stalled)
		kill(pid, SIGSTOP);
	pthread_mutex_unlock(&s->tl.mu);
	return true;
}

int emu_deploy_spawn(struct emu_session *s, const struct plan *plan, int version, double now)
{
	const struct version *v = &s->dpl.vers[version];
	bool transport = !s->cfg.remote &&
			 emu_net_mech(s->net, EMU_PROP_LATENCY) == EMU_MECH_TRANSPORT;
	struct deploy *d = deploy_add(s, plan, version, now);
	int n = plan->n_stages;
	char desc[512], unreachable[400] = "";
	int unreachable_node = -1;
	size_t used = 0;

	if (!d)
		return -1;
	plan_cost(v->pp, &d->plan, &d->cost, NULL, NULL);
	d->hold_res_s = transport ? cluster_latency(s->cl, plan->stages[n - 1].node, s->n) : 0;
	for (int i = 0; i < n; i++) {
		struct emu_stage_spec sp;
		double flops;

		stage_spec_fill(s, v, d, i, transport, &sp, &flops);
		if (s->cfg.remote) {
			/* A real host: the assignment over TCP; the connection is the control
			 * socket (emu_remote.h). An unreachable host fails the deployment. */
			struct emu_remote_assign_extra x = { flops, s->cl->speed_flops[sp.node] };

			if (!unreachable[0] &&
			    (d->ctl[i] = emu_remote_assign(s, &sp, &x, unreachable,
							   sizeof(unreachable))) < 0)
				unreachable_node = sp.node;
		} else if (!stage_start_local(s, d, i, &sp)) {
			return -1;
		}
	}
	for (int i = 0; i < n; i++) {
		const struct plan_stage *st = &plan->stages[i];

		used += (size_t)snprintf(desc + used, used < sizeof(desc) ? sizeof(desc) - used : 0,
					 "%s%d..%d@%d", i ? " " : "", st->first_cut, st->end_cut,
					 st->node);
	}
	emu_sess_event(s, "deploy", -1, -1, d->id,
		       "deployment %d of %s: %.160s (bottleneck %.3f ms)", d->id, v->name, desc,
		       d->cost.bottleneck_s * 1e3);
	if (unreachable[0]) {
		/* A host that refuses its control port has no stage host running: the management
		 * plane's word, as good as silence (its heartbeats, if any still come, bring it
		 * back). Without this, each re-plan before the heartbeat timeout would pick it
		 * again. */
		struct node_st *nd = &s->nodes[unreachable_node];

		if (!nd->dead && s->phase >= PH_RUN) {
			nd->dead = true;
			s->dpl.node_gen++;
			emu_sess_event(s, "detect", unreachable_node, -1, d->id,
				       "node %d: %s: declared dead", unreachable_node, unreachable);
		}
		emu_deploy_fail(s, d, now, "%s", unreachable);
	}
	return d->id;
}

void emu_deploy_kill(struct emu_session *s, struct deploy *d)
{
	(void)s;
	for (int i = 0; i < d->n; i++) {
		if (d->pid[i] > 0 && d->status[i] == -1) {
			kill(d->pid[i], SIGKILL);
			kill(d->pid[i], SIGCONT);
		}
		if (d->ctl[i] >= 0)
			close(d->ctl[i]);
		d->ctl[i] = -1;
	}
	if (d->in_fd >= 0)
		close(d->in_fd);
	if (d->res_fd >= 0)
		close(d->res_fd);
	d->in_fd = d->res_fd = -1;
	d->in_conn = d->in_connecting = false;
	emu_out_release(&d->out);
	emu_frame_reader_release(&d->res);
}

int64_t emu_deploy_fail(struct emu_session *s, struct deploy *d, double now, const char *fmt, ...)
{
	va_list ap;
	int64_t n = 0;

	if (!active(d))
		return 0;
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
	if (s->phase < PH_RUN)
		emu_sess_fail(s, EP_EIO, "deployment %d failed before the workload started: %s",
			      d->id, d->reason);
	emu_deploy_kill(s, d);
	d->state = DEP_FAILED;
	d->ended_s = now;
	/* Its requests go back to the front of the queue, oldest first. */
	n = emu_dispatch_requeue(s, d->id);
	d->in_flight = 0;
	emu_sess_event(s, "failed", -1, -1, d->id,
		       "deployment %d torn down (%s); %lld request(s) to "
		       "send again",
		       d->id, d->reason, (long long)n);
	return n;
}

void emu_deploy_stop(struct emu_session *s, struct deploy *d, double now)
{
	struct emu_ctl_msg m;

	(void)s;
	memset(&m, 0, sizeof(m));
	m.type = EMU_CTL_STOP;
	for (int i = 0; i < d->n; i++)
		if (d->ctl[i] >= 0)
			send(d->ctl[i], &m, sizeof(m), MSG_NOSIGNAL | MSG_DONTWAIT);
	d->state = DEP_STOPPING;
	d->stop_sent_s = now;
	if (d->in_fd >= 0)
		close(d->in_fd);
	d->in_fd = -1;
	d->in_conn = d->in_connecting = false;
	emu_out_release(&d->out);
}

static void go_live(struct emu_session *s, struct deploy *d, double now)
{
	double rel = now - s->t0_s;

	d->state = DEP_LIVE;
	d->live_s = now;
	emu_sess_event(s, "live", -1, -1, d->id, "deployment %d connected, %.3f s after it started",
		       d->id, now - d->started_s);
	/* Older live deployments drain: what they have not begun to send goes to this one. */
	for (int k = 0; k < s->dpl.n_deps; k++) {
		struct deploy *o = &s->dpl.deps[k];
		struct emu_out_frame f;

		if (o == d || o->state != DEP_LIVE)
			continue;
		o->state = DEP_DRAINING;
		while (emu_out_pop_back(&o->out, &f)) {
			free(f.owned);
			if (f.hdr.type != EMU_FRAME_DATA || !emu_dispatch_unsend(s, f.hdr.request))
				continue;
			o->in_flight--;
			o->in_frames--;
			o->in_raw -= (double)f.hdr.raw_bytes;
			o->in_wire -= (double)f.hdr.wire_bytes;
		}
		emu_sess_event(s, "draining", -1, -1, o->id, "deployment %d drains %lld request(s)",
			       o->id, (long long)o->in_flight);
	}
	if (s->phase < PH_RUN)
		return;
	for (int i = 0; i < s->cfg.n_faults; i++)
		if (s->f_redeploy[i] && s->frec[i].detected_s >= 0 && s->frec[i].live_s < 0)
			s->frec[i].live_s = rel;
	for (int i = 0; i < s->n_urec; i++)
		if (s->urec[i].version == d->version && s->urec[i].live_s < 0) {
			s->urec[i].live_s = rel;
			s->urec[i].rollout_s = rel - s->urec[i].at_s;
		}
}

static void reap(struct emu_session *s)
{
	pthread_mutex_lock(&s->tl.mu);
	for (int k = 0; k < s->dpl.n_deps; k++) {
		struct deploy *d = &s->dpl.deps[k];

		for (int i = 0; i < d->n; i++) {
			int st;

			if (d->pid[i] > 0 && d->status[i] == -1 &&
			    waitpid(d->pid[i], &st, WNOHANG) == d->pid[i]) {
				d->status[i] = st;
				d->exited[i] = true;
			}
		}
	}
	for (int i = 0; i < s->n; i++) {
		int st;

		if (s->nodes[i].hb_pid > 0 && waitpid(s->nodes[i].hb_pid, &st, WNOHANG) > 0)
			s->nodes[i].hb_pid = -1;
	}
	pthread_mutex_unlock(&s->tl.mu);
}

static void describe_status(int st, char *buf, size_t size)
{
	if (WIFEXITED(st))
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, size, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		snprintf(buf, size, "ended (status %#x)", st);
}

/* A draining deployment whose last request came back is drained: recorded (the update it made
 * way for) and stopped. */
static void drain_check(struct emu_session *s, struct deploy *d, double now)
{
	if (d->state != DEP_DRAINING || d->in_flight > 0)
		return;
	emu_sess_event(s, "drained", -1, -1, d->id, "deployment %d drained", d->id);
	for (int i = 0; i < s->n_urec; i++)
		if (s->urec[i].drained_s < 0 && s->urec[i].live_s >= 0 &&
		    s->urec[i].version > d->version)
			s->urec[i].drained_s = now - s->t0_s;
	emu_deploy_stop(s, d, now);
}

void emu_deploy_drains(struct emu_session *s, double now)
{
	for (int k = 0; k < s->dpl.n_deps; k++)
		drain_check(s, &s->dpl.deps[k], now);
}

void emu_deploy_step(struct emu_session *s, double now)
{
	reap(s);
	for (int k = 0; k < s->dpl.n_deps; k++) {
		struct deploy *d = &s->dpl.deps[k];
		bool all_ready = true, all_gone = true;

		if (active(d)) {
			/* A stage that ended on its own: the management plane saw it. (Those the
			 * fault timeline killed or stopped are left to the heartbeats.) */
			for (int i = 0; i < d->n; i++) {
				int node = d->plan.stages[i].node;
				char why[96];

				if (!d->exited[i] || emu_node_killed(s, node) ||
				    emu_node_stalled(s, node))
					continue;
				describe_status(d->status[i], why, sizeof(why));
				/* The kernel's OOM killer is the one SIGKILL no one here sends. */
				if (s->cfg.real && WIFSIGNALED(d->status[i]) &&
				    WTERMSIG(d->status[i]) == SIGKILL)
					emu_deploy_fail(
						s, d, now,
						"stage %d (node %d) %s: its layers' weights, "
						"activations and workspace do not fit the node's "
						"memory (%.1f MiB)",
						i, node, why, s->cl->mem_bytes[node] / 1048576);
				else
					emu_deploy_fail(s, d, now, "stage %d (node %d) %s", i, node,
							why);
				break;
			}
		}
		switch (d->state) {
		case DEP_STARTING:
			for (int i = 0; i < d->n; i++)
				all_ready = all_ready && d->ready[i];
			if (all_ready && d->in_conn && d->res_fd >= 0)
				go_live(s, d, now);
			else if (now - d->started_s > s->cfg.deploy_timeout_s)
				emu_deploy_fail(s, d, now,
						"not connected within %.3g s (--deploy-timeout)",
						s->cfg.deploy_timeout_s);
			break;
		case DEP_DRAINING: drain_check(s, d, now); break;
		case DEP_STOPPING:
			for (int i = 0; i < d->n; i++)
				all_gone = all_gone && (d->status[i] != -1 || d->pid[i] <= 0);
			if (all_gone || now - d->stop_sent_s > STOP_GRACE_S) {
				emu_deploy_kill(s, d);
				d->state = DEP_STOPPED;
				d->ended_s = now;
			}
			break;
		default: break;
		}
	}
}

void emu_deploy_ctl(struct emu_session *s, struct deploy *d, int i, double now)
{
	for (;;) {
		struct emu_ctl_msg m;
		ssize_t k;

		if (d->ctl[i] < 0)
			return;
		if (s->cfg.remote) {
			/* A host's TCP connection: whole records only. */
			int got = emu_remote_ctl_recv(d->ctl[i], &m);

			k = got > 0 ? (ssize_t)sizeof(m) : got;
			if (got == 0)
				return;
		} else {
			k = recv(d->ctl[i], &m, sizeof(m), MSG_DONTWAIT);
			if (k < 0 && (errno == EAGAIN || errno == EINTR))
				return;
		}
		if (k <= 0) {
			close(d->ctl[i]);
			d->ctl[i] = -1;
			/* A host's stage ends its connection: the management plane saw it. */
			if (s->cfg.remote && active(d))
				emu_deploy_fail(s, d, now,
						"stage %d (node %d): the control connection to "
						"its host closed",
						i, d->plan.stages[i].node);
			return;
		}
		if (k != (ssize_t)sizeof(m))
			continue;
		switch (m.type) {
		case EMU_CTL_READY: d->ready[i] = true; break;
		case EMU_CTL_COUNTERS: d->rec[i].c = m.c; break;
		case EMU_CTL_STUCK:
			d->rec[i].c = m.c;
			emu_detect_link(s, d, d->plan.stages[i].node, m.peer, m.value, now);
			break;
		case EMU_CTL_ERROR:
			m.text[sizeof(m.text) - 1] = '\0';
			emu_sess_event(s, "error", d->plan.stages[i].node, -1, d->id,
				       "stage %d: %s", i, m.text);
			if (active(d)) {
				int f = s->phase == PH_RUN
						? emu_fault_attribute(s, d->plan.stages[i].node, -1,
								      now)
						: -1;
				int64_t n = emu_deploy_fail(s, d, now, "stage %d (node %d): %s", i,
							    d->plan.stages[i].node, m.text);

				if (f >= 0) {
					s->frec[f].resent += n;
					s->f_redeploy[f] = true;
				}
			}
			break;
		default: break;
		}
	}
}

/* ---- detection ---- */

static bool fault_involves(const struct emu_session *s, int f, int a, int b)
{
	const struct timeline_fault_record *r = &s->frec[f];

	return (a >= 0 && (r->node == a || r->peer == a)) ||
	       (b >= 0 && (r->node == b || r->peer == b));
}

static bool disruptive(const struct timeline_fault *f)
{
	return f->kind == TIMELINE_KILL || f->kind == TIMELINE_STALL ||
	       f->kind == TIMELINE_LINK_DOWN;
}

int emu_fault_attribute(struct emu_session *s, int a, int b, double now)
{
	int best = -1;

	/* 1: the earliest undetected fault at these nodes; 2: the latest detected one there (a
	 * second symptom of it); 3: the earliest undetected fault anywhere. */
	for (int pass = 1; pass <= 3 && best < 0; pass++)
		for (int i = 0; i < s->cfg.n_faults; i++) {
			const struct timeline_fault_record *r = &s->frec[i];
			bool undetected = r->detected_s < 0;

			if (!disruptive(&s->cfg.faults[i]) || r->at_s < 0 || s->f_skipped[i])
				continue;
			if (pass == 1 && undetected && fault_involves(s, i, a, b)) {
				best = i;
				break;
			}
			if (pass == 2 && !undetected && fault_involves(s, i, a, b))
				best = i; /* keeps the latest */
			if (pass == 3 && undetected) {
				best = i;
				break;
			}
		}
	if (best >= 0 && s->frec[best].detected_s < 0)
		s->frec[best].detected_s = now - s->t0_s;
	return best;
}

static const char *label(const struct emu_session *s, int node, char *buf, size_t size)
{
	if (node == s->n)
		snprintf(buf, size, "dispatcher");
	else
		snprintf(buf, size, "node %d", node);
	return buf;
}

void emu_detect_link(struct emu_session *s, struct deploy *d, int from, int to, double stuck_s,
		     double now)
{
	int v = s->n + 1, f;
	char a[24], b[24];

	if (!active(d) || to < 0 || to > s->n)
		return;
	s->cut[from * v + to] = s->cut[to * v + from] = true;
	emu_sess_event(s, "detect", from, to, d->id,
		       "link %s -> %s acknowledged nothing for %.3f s: marked cut",
		       label(s, from, a, sizeof(a)), label(s, to, b, sizeof(b)), stuck_s);
	f = s->phase == PH_RUN
		    ? emu_fault_attribute(s, from == s->n ? -1 : from, to == s->n ? -1 : to, now)
		    : -1;
	for (int k = 0; k < s->dpl.n_deps; k++) {
		struct deploy *o = &s->dpl.deps[k];
		int64_t n;

		if (!active(o) || (o != d && !uses_link(s, o, from, to)))
			continue;
		n = emu_deploy_fail(s, o, now, "link %s -> %s cut", a, b);
		if (f >= 0) {
			s->frec[f].resent += n;
			s->f_redeploy[f] = true;
		}
	}
}

void emu_heartbeat_read(struct emu_session *s, double now)
{
	for (;;) {
		struct emu_heartbeat_msg m;
		ssize_t k = recv(s->hb_fd, &m, sizeof(m), MSG_DONTWAIT);
		struct node_st *nd;

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return;
		if (k != (ssize_t)sizeof(m) || m.magic != EMU_HEARTBEAT_MAGIC || m.node < 0 ||
		    m.node >= s->n)
			continue;
		nd = &s->nodes[m.node];
		nd->last_hb_s = now;
		nd->seen = true;
		if (nd->dead) {
			nd->dead = false;
			s->dpl.node_gen++;
			emu_sess_event(s, "node-back", m.node, -1, -1,
				       "node %d: heartbeats again: alive", m.node);
		}
	}
}

void emu_heartbeat_check(struct emu_session *s, double now)
{
	if (now < s->next_hb_check_s)
		return;
	s->next_hb_check_s = now + s->cfg.heartbeat_period_s / 2;
	for (int i = 0; i < s->n; i++) {
		struct node_st *nd = &s->nodes[i];
		int f, used = 0;

		if (!nd->seen || nd->dead || now - nd->last_hb_s <= s->cfg.heartbeat_timeout_s)
			continue;
		nd->dead = true;
		s->dpl.node_gen++;
		emu_sess_event(s, "detect", i, -1, -1,
			       "node %d: no heartbeat for %.3f s: declared dead", i,
			       now - nd->last_hb_s);
		f = s->phase == PH_RUN ? emu_fault_attribute(s, i, -1, now) : -1;
		for (int k = 0; k < s->dpl.n_deps; k++) {
			struct deploy *d = &s->dpl.deps[k];
			int64_t n;

			if (!active(d) || !uses_node(d, i))
				continue;
			used++;
			n = emu_deploy_fail(s, d, now, "node %d declared dead", i);
			if (f >= 0) {
				s->frec[f].resent += n;
				s->f_redeploy[f] = true;
			}
		}
		if (f >= 0 && !used && !s->frec[f].note[0])
			snprintf(s->frec[f].note, sizeof(s->frec[f].note),
				 "node %d hosted no stage: nothing to redeploy", i);
	}
}

/* ---- re-planning ---- */

/* Fill *sub (zeroed) with the m nodes map[0..m) of the cluster and the dispatcher (map[m] = n),
 * links found cut at CUT_BPS. EP_ENOMEM: the caller destroys what was made. */
static int sub_cluster_fill(const struct emu_session *s, struct cluster *sub, const int *map,
			    int m)
{
	const struct cluster *cl = s->cl;
	int v = s->n + 1;

	sub->n = m;
	sub->mem_bytes = malloc((size_t)m * sizeof(double));
	sub->speed_flops = malloc((size_t)m * sizeof(double));
	/* A measured profile's compute scales by the speed factors (problem.h). */
	sub->speed_factor = malloc((size_t)m * sizeof(double));
	sub->bw_bps = malloc((size_t)(m + 1) * (size_t)(m + 1) * sizeof(double));
	sub->latency_s = malloc((size_t)(m + 1) * (size_t)(m + 1) * sizeof(double));
	if (!sub->mem_bytes || !sub->speed_flops || !sub->speed_factor || !sub->bw_bps ||
	    !sub->latency_s)
		return EP_ENOMEM;
	for (int i = 0; i < m; i++) {
		sub->mem_bytes[i] = cl->mem_bytes[map[i]];
		sub->speed_flops[i] = cl->speed_flops[map[i]];
		sub->speed_factor[i] = cl->speed_factor ? cl->speed_factor[map[i]] : 1.0;
	}
	for (int i = 0; i <= m; i++)
		for (int j = 0; j <= m; j++) {
			bool cut = i != j && s->cut[map[i] * v + map[j]];

			sub->bw_bps[i * (m + 1) + j] =
				i == j ? 0 : cut ? CUT_BPS : cluster_bw(cl, map[i], map[j]);
			sub->latency_s[i * (m + 1) + j] = cluster_latency(cl, map[i], map[j]);
		}
	return EP_OK;
}

/* The first hop of plan `out` (dispatcher n, stages, dispatcher) over a cut link: its nodes
 * into *from and *to. false: none is cut. */
static bool plan_cut_hop(const struct emu_session *s, const struct plan *out, int *from, int *to)
{
	int n = s->n, v = n + 1;

	for (int h = 0; h <= out->n_stages; h++) {
		int a = h == 0 ? n : out->stages[h - 1].node;
		int b = h == out->n_stages ? n : out->stages[h].node;

		if (s->cut[a * v + b]) {
			*from = a;
			*to = b;
			return true;
		}
	}
	return false;
}

/* One round of plan_on_alive: plan problem `full` on the sub-cluster of the m nodes map[0..m)
 * and the dispatcher (map[m]), the plan's nodes mapped back into *out. */
static int plan_on_nodes(struct emu_session *s, const struct problem *full, const int *map, int m,
			 struct plan *out, char *reason, size_t rsize)
{
	struct cluster *sub = calloc(1, sizeof(*sub));
	struct algo_result r;
	struct problem p;
	struct ep_error err;
	bool have_p = false;
	int rc;

	algo_result_init(&r);
	if (!sub) {
		snprintf(reason, rsize, "out of memory");
		return EP_ENOMEM;
	}
	if (sub_cluster_fill(s, sub, map, m) != EP_OK) {
		snprintf(reason, rsize, "out of memory re-planning");
		cluster_destroy(sub);
		return EP_ENOMEM;
	}
	rc = problem_init(&p, full->profile, sub, &full->options, &err);
	have_p = rc == EP_OK;
	if (rc == EP_OK)
		rc = algo_run(s->cfg.algo, &p, &s->cfg.algo_options, s->dpl.rng_plan, &r, &err);
	if (rc != EP_OK) {
		snprintf(reason, rsize, "%s", err.msg);
	} else if (r.status != EP_OK) {
		snprintf(reason, rsize, "%s on %d node(s): %.400s", s->cfg.algo->name, m, r.reason);
		rc = r.status;
	} else {
		plan_clear(out);
		for (int i = 0; i < r.plan.n_stages && rc == EP_OK; i++) {
			const struct plan_stage *st = &r.plan.stages[i];

			rc = plan_push(out, st->first_cut, st->end_cut, map[st->node]);
		}
	}
	algo_result_release(&r);
	if (have_p)
		problem_release(&p);
	cluster_destroy(sub);
	return rc;
}

/*
 * Plan problem p on the nodes not declared dead: a sub-cluster of those nodes and the
 * dispatcher, cut links at CUT_BPS; the plan's nodes mapped back. If the plan still crosses a
 * cut link, the link's receiving node (or sending node, for a hop into the dispatcher) is left
 * out and the algorithm runs again.
 */
static int plan_on_alive(struct emu_session *s, const struct problem *full, struct plan *out,
			 char *reason, size_t rsize)
{
	int n = s->n, rc = EP_EINFEASIBLE;
	int *map = malloc((size_t)(n + 1) * sizeof(int));
	bool *excl = calloc((size_t)n, sizeof(bool));

	if (!map || !excl) {
		snprintf(reason, rsize, "out of memory re-planning");
		free(map);
		free(excl);
		return EP_ENOMEM;
	}
	for (int i = 0; i < n; i++)
		excl[i] = s->nodes[i].dead;
	for (int round = 0; round <= n; round++) {
		int m = 0, bad_from, bad_to;

		for (int i = 0; i < n; i++)
			if (!excl[i])
				map[m++] = i;
		if (m == 0) {
			snprintf(reason, rsize, "no node is left");
			rc = EP_EINFEASIBLE;
			break;
		}
		map[m] = n;
		rc = plan_on_nodes(s, full, map, m, out, reason, rsize);
		if (rc != EP_OK || !plan_cut_hop(s, out, &bad_from, &bad_to))
			break;
		/* The plan crosses a cut link: leave one of its nodes out and try again. */
		excl[bad_to == n ? bad_from : bad_to] = true;
		rc = EP_EINFEASIBLE;
		snprintf(reason, rsize, "every plan crosses a cut link");
	}
	free(map);
	free(excl);
	return rc;
}

void emu_recovery_replan(struct emu_session *s, double now)
{
	struct deploy *t;
	struct plan plan;
	char reason[512];
	int rc;

	for (int k = 0; k < s->dpl.n_deps; k++)
		if (s->dpl.deps[k].state == DEP_STARTING)
			return;
	t = emu_deploy_target(s);
	if (t && t->version == s->dpl.cur_ver) {
		s->dpl.noplan_since_s = -1;
		return;
	}
	if (s->dpl.noplan_since_s >= 0 && s->dpl.node_gen == s->dpl.noplan_gen && now < s->dpl.next_plan_try_s) {
		if (!t && now - s->dpl.noplan_since_s > s->cfg.giveup_s) {
			s->rep.gave_up = true;
			emu_sess_event(
				s, "give-up", -1, -1, -1,
				"no plan for %.3g s: the run ends with "
				"%lld request(s) unanswered",
				now - s->dpl.noplan_since_s,
				(long long)(s->disp.issued - s->disp.answered + s->cfg.requests - s->disp.issued));
		}
		return;
	}
	plan_init(&plan);
	rc = plan_on_alive(s, s->dpl.vers[s->dpl.cur_ver].pp, &plan, reason, sizeof(reason));
	if (rc == EP_OK) {
		emu_sess_event(s, "replan", -1, -1, s->dpl.n_deps,
			       "%s re-planned %s on the live nodes: %d "
			       "stage(s)",
			       s->cfg.algo->name, s->dpl.vers[s->dpl.cur_ver].name, plan.n_stages);
		if (emu_deploy_spawn(s, &plan, s->dpl.cur_ver, now) >= 0)
			s->dpl.noplan_since_s = -1;
	} else {
		if (s->dpl.noplan_since_s < 0 || s->dpl.node_gen != s->dpl.noplan_gen)
			emu_sess_event(s, "noplan", -1, -1, -1, "no plan for %s: %s%s",
				       s->dpl.vers[s->dpl.cur_ver].name, reason,
				       t ? " (the old model keeps serving)" : "");
		if (s->dpl.noplan_since_s < 0)
			s->dpl.noplan_since_s = now;
		s->dpl.noplan_gen = s->dpl.node_gen;
		s->dpl.next_plan_try_s = now + PLAN_RETRY_S;
		if (!t && now - s->dpl.noplan_since_s > s->cfg.giveup_s)
			s->rep.gave_up = true;
	}
	plan_release(&plan);
}

/* ---- the fault timeline ---- */

/* Record what the timeline's workers did (emu_timeline.c), at the times it took effect. */
static void record_faults(struct emu_session *s)
{
	bool *pend = s->tl.pending;

	if (!emu_timeline_take(s, pend))
		return;
	for (int i = 0; i < s->tl.n_fev; i++) {
		const struct fault_done *o = &s->tl.done[i];
		const struct timeline_fault *f;
		struct timeline_fault_record *r;
		int a = o->node, b = o->peer;
		char x[24], y[24];

		if (!pend[i])
			continue;
		f = &s->cfg.faults[s->tl.fev[i].fault];
		r = &s->frec[s->tl.fev[i].fault];
		if (s->tl.fev[i].end) {
			if (o->outcome == TL_APPLIED) {
				r->end_s = o->t_s - s->t0_s;
				emu_sess_event_at(s, o->t_s, "restore", a, b, -1, "'%s' is over",
						  f->text);
			} else if (o->outcome == TL_ERROR) {
				emu_sess_event_at(s, o->t_s, "error", a, b, -1, "undoing '%s': %s",
						  f->text, o->text);
			}
			continue;
		}
		if (o->outcome == TL_SKIPPED) {
			s->f_skipped[s->tl.fev[i].fault] = true;
			snprintf(r->note, sizeof(r->note), "skipped: %.180s", o->text);
			emu_sess_event_at(s, o->t_s, "skipped", -1, -1, -1, "'%s': %s", f->text,
					  r->note);
			continue;
		}
		r->node = a;
		r->peer = b;
		r->at_s = o->t_s - s->t0_s;
		if (f->a.kind == TIMELINE_STAGE || (f->pair && f->b.kind == TIMELINE_STAGE))
			snprintf(r->note, sizeof(r->note), "%s%s%s", label(s, a, x, sizeof(x)),
				 b >= 0 ? " - " : "", b >= 0 ? label(s, b, y, sizeof(y)) : "");
		if (o->outcome == TL_ERROR) {
			snprintf(r->note, sizeof(r->note), "not applied: %.180s", o->text);
			emu_sess_event_at(s, o->t_s, "error", a, b, -1, "'%s': %s", f->text, o->text);
			continue;
		}
		emu_sess_event_at(s, o->t_s, "fault", a, b, -1,
				  "'%s'%s%s (scheduled %.3f s, +%.1f ms)", f->text,
				  r->note[0] ? ": " : "", r->note, r->scheduled_s,
				  (r->at_s - r->scheduled_s) * 1e3);
	}
}

static void start_update(struct emu_session *s, const char *name,
			 const struct model_profile *profile, struct model_graph *graph,
			 struct model_profile *owned, double now)
{
	struct emu_update_record *u;
	struct ep_error e;

	int before = s->dpl.n_vers;

	if (add_version(s, name, NULL, profile, graph, owned, &e) != EP_OK) {
		if (s->dpl.n_vers == before) { /* else the version owns them, and is never used */
			model_profile_destroy(owned);
			model_graph_destroy(graph);
		}
		emu_sess_event(s, "error", -1, -1, -1, "update to %s: %s", name, e.msg);
		return;
	}
	s->dpl.cur_ver = s->dpl.n_vers - 1;
	if (s->n_urec == s->cap_urec) {
		int cap = s->cap_urec ? 2 * s->cap_urec : 4;
		struct emu_update_record *nv = realloc(s->urec, (size_t)cap * sizeof(*nv));

		if (!nv)
			return;
		s->urec = nv;
		s->cap_urec = cap;
	}
	u = &s->urec[s->n_urec++];
	memset(u, 0, sizeof(*u));
	u->version = s->dpl.cur_ver;
	snprintf(u->model, sizeof(u->model), "%s", name);
	u->at_s = now - s->t0_s;
	u->live_s = u->drained_s = u->rollout_s = -1;
	emu_sess_event(s, "update", -1, -1, -1, "model update to %s (version %d)", name,
		       s->dpl.cur_ver);
}

/* The watched model file changed (mtime or size): load it and roll it out. */
static void check_watch(struct emu_session *s, double now)
{
	struct model_graph *g = NULL;
	struct model_profile *pr = NULL;
	struct ep_error e;
	struct stat st;

	s->dpl.next_watch_s = now + WATCH_S;
	if (stat(s->cfg.watch_path, &st) != 0 ||
	    (st.st_mtim.tv_sec == s->dpl.watch_mtime.tv_sec &&
	     st.st_mtim.tv_nsec == s->dpl.watch_mtime.tv_nsec && st.st_size == s->dpl.watch_size))
		return;
	s->dpl.watch_mtime = st.st_mtim;
	s->dpl.watch_size = st.st_size;
	if (model_zoo_open(s->cfg.watch_path, &g, &e) != EP_OK ||
	    model_profile_create(g, &s->cfg.profile_options, &pr, &e) != EP_OK) {
		model_graph_destroy(g);
		emu_sess_event(s, "error", -1, -1, -1,
			       "the model file '%s' changed but does not load "
			       "(kept the running model): %s",
			       s->cfg.watch_path, e.msg);
		return;
	}
	start_update(s, pr->model, pr, g, pr, now);
}

void emu_timeline_step(struct emu_session *s, double now)
{
	double rel = now - s->t0_s;

	if (!s->tl.started && !s->tl.stop && !emu_timeline_start(s))
		return;
	emu_timeline_publish(s);
	record_faults(s);
	if (s->cfg.update_profile && !s->dpl.update_done && rel >= s->cfg.update_at_s) {
		s->dpl.update_done = true;
		start_update(s, s->cfg.update_profile->model, s->cfg.update_profile, NULL, NULL, now);
	}
	if (s->cfg.watch_path && now >= s->dpl.next_watch_s)
		check_watch(s, now);
}

double emu_timeline_next_time(const struct emu_session *s)
{
	double t = INFINITY;

	if (s->cfg.update_profile && !s->dpl.update_done)
		t = fmin(t, s->t0_s + s->cfg.update_at_s);
	if (s->cfg.watch_path)
		t = fmin(t, s->dpl.next_watch_s);
	return t;
}

void emu_recovery_kill_all(struct emu_session *s)
{
	for (int k = 0; k < s->dpl.n_deps; k++)
		emu_deploy_kill(s, &s->dpl.deps[k]);
	if (s->nodes)
		for (int i = 0; i < s->n; i++)
			if (s->nodes[i].hb_pid > 0) {
				kill(s->nodes[i].hb_pid, SIGKILL);
				kill(s->nodes[i].hb_pid, SIGCONT);
			}
	for (int k = 0; k < s->dpl.n_deps; k++) {
		struct deploy *d = &s->dpl.deps[k];

		for (int i = 0; i < d->n; i++)
			if (d->pid[i] > 0 && d->status[i] == -1) {
				waitpid(d->pid[i], &d->status[i], 0);
				d->exited[i] = true;
			}
		if (active(d) || d->state == DEP_STOPPING) {
			d->state = d->state == DEP_STOPPING ? DEP_STOPPED : d->state;
			if (d->ended_s <= 0)
				d->ended_s = emu_now_s();
		}
	}
	if (s->nodes)
		for (int i = 0; i < s->n; i++)
			if (s->nodes[i].hb_pid > 0) {
				waitpid(s->nodes[i].hb_pid, NULL, 0);
				s->nodes[i].hb_pid = -1;
			}
}
