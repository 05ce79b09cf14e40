/*
 * bench_emu: how long the emulated network takes to come up and go down with full pairwise
 * shaping (every ordered pair of nodes and dispatcher its own HTB class and u32 filter), at
 * 10, 50 and 100 nodes; how long reshaping every pair in place takes; and, on unshaped links,
 * a plain TCP transfer's rate beside a stage relay's (the emulator's stage transport moving
 * real cut tensors between two stage processes, uncompressed and with LZ4).
 *
 * For scale: Mininet needs about 3 s to bring up 50 hosts on one switch on this machine, with
 * no shaping at all.
 *
 * "down" is what the controller waits for (namespaces unmounted, registry cleaned); the kernel
 * then destroys the namespaces in the background, and "released" is when the last node's veth
 * has gone from the switch (watched through a handle kept on the switch namespace).
 *
 * Needs root; exits 77 otherwise. Usage: bench_emu [N ...] (default 10 50 100).
 */
#include <fcntl.h>
#include <gsl/gsl_rng.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "emu_caps.h"
#include "emu_net.h"
#include "emu_probe.h"
#include "emu_registry.h"
#include "emu_session.h"
#include "instance.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Interfaces in the namespace nsfd, counted from inside it. */
static int count_links_in(int nsfd, int self)
{
	struct if_nameindex *ifs;
	int n = 0;

	if (setns(nsfd, CLONE_NEWNET) != 0)
		return -1;
	ifs = if_nameindex();
	for (struct if_nameindex *p = ifs; p && p->if_index; p++)
		n++;
	if (ifs)
		if_freenameindex(ifs);
	if (setns(self, CLONE_NEWNET) != 0)
		return -1;
	return n;
}

static int bench(const struct emu_caps *caps, const char *state_dir, int n)
{
	struct cluster_spec spec = cluster_spec_default(n, 1e9);
	struct emu_registry *reg = NULL;
	struct cluster *c = NULL;
	struct emu_net *net = NULL;
	struct emu_net_stats st;
	struct ep_error err;
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	double t0, up, reshape, down, released = -1;
	int rc = 1, sw = -1, self = -1;
	char path[128];

	/* Distinct rates for every pair: uniform in [1, 100] Mbit/s, asymmetric. */
	spec.kind = CLUSTER_UNIFORM;
	spec.bw_min_bps = 1e6;
	spec.bw_max_bps = 100e6;
	spec.symmetric = false;
	gsl_rng_set(rng, (unsigned long)cluster_trial_seed(1, 0, n));
	if (cluster_create(&spec, rng, &c, &err) != EP_OK ||
	    emu_registry_create(state_dir, &reg, &err) != EP_OK)
		goto out;
	t0 = now_s();
	if (emu_net_create(reg, caps, c, NULL, &net, &err) != EP_OK)
		goto out;
	up = now_s() - t0;
	emu_net_get_stats(net, &st);

	t0 = now_s();
	for (int i = 0; i <= n; i++)
		for (int j = 0; j <= n; j++)
			if (i != j && emu_link_shape(net, i, j, cluster_bw(c, j, i), &err) != EP_OK)
				goto out;
	reshape = now_s() - t0;

	/* The switch namespace is "<run id>-s" (emu_net.h). */
	snprintf(path, sizeof(path), "%s/%s-s", EMU_NETNS_DIR, emu_registry_run_id(reg));
	sw = open(path, O_RDONLY | O_CLOEXEC);
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	t0 = now_s();
	emu_net_destroy(net);
	net = NULL;
	if (emu_registry_clean(reg, 0, NULL, NULL, NULL, &err) != EP_OK)
		goto out;
	down = now_s() - t0;
	/* lo and the bridge stay while we hold the switch; the ports go with their nodes. */
	if (sw >= 0 && self >= 0) {
		while (now_s() - t0 < 30 && count_links_in(sw, self) > 2)
			usleep(2000);
		released = now_s() - t0;
	}
	printf("%4d nodes  up %6.3f s (namespaces %.3f, links %.3f, shaping %.3f; %5d classes, "
	       "%5d filters)  reshape all %6.3f s  down %6.3f s  released %6.3f s\n",
	       n, up, st.netns_s, st.links_s, st.shaping_s, st.classes, st.filters, reshape, down,
	       released);
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "bench_emu: %d nodes: %s\n", n, err.msg);
	if (sw >= 0)
		close(sw);
	if (self >= 0)
		close(self);
	emu_net_destroy(net);
	if (reg) {
		emu_registry_clean(reg, 0, NULL, NULL, NULL, NULL);
		emu_registry_destroy(reg);
	}
	cluster_destroy(c);
	gsl_rng_free(rng);
	return rc;
}

/*
 * A stage relay on unshaped links: ResNet50 cut in two at its largest tensor (conv1's output,
 * 3.06 MiB), stage 0 on node 0 and stage 1 on node 1, no compute, a window of 4. Stage 0
 * receives each input from the dispatcher and relays the cut tensor through its transport
 * (framing, non-blocking sockets, the event loop) to stage 1; the rate of that hop is the
 * pipeline's throughput times the tensor's size. Returns the rate in bit/s (0 on failure).
 */
static double bench_relay(const char *state_dir, bool lz4)
{
	struct instance_spec spec;
	struct instance *inst = NULL;
	struct emu_session *sess = NULL;
	struct emu_config cfg = emu_config_default();
	struct plan plan;
	struct ep_error err;
	double rate = 0, bits = 0;
	int m, k = 1;

	memset(&spec, 0, sizeof(spec));
	spec.model = "resnet50";
	spec.profile = MODEL_PROFILE_OPTIONS_DEFAULT;
	spec.cluster = cluster_spec_default(2, 1e12);
	spec.cluster.kind = CLUSTER_UNIFORM;
	spec.cluster.bw_min_bps = spec.cluster.bw_max_bps = 1e9;
	spec.problem = PROBLEM_OPTIONS_FULL;
	spec.seed = 1;
	plan_init(&plan);
	if (instance_create(&spec, &inst, &err) != EP_OK)
		goto out;
	m = inst->problem.m;
	for (int c = 1; c < m - 1; c++)
		if (inst->problem.transfer_bits[c] > inst->problem.transfer_bits[k])
			k = c;
	bits = inst->problem.transfer_bits[k];
	if (plan_push(&plan, 0, k, 0) != EP_OK || plan_push(&plan, k, m - 1, 1) != EP_OK)
		goto out;
	cfg.window = 4;
	cfg.requests = 150;
	cfg.warmup_requests = 15;
	cfg.compute = false;
	cfg.lz4 = lz4;
	cfg.probes = 0;
	cfg.algo = algo_find("greedy");
	cfg.state_dir = state_dir;
	cfg.net.unshaped = true;
	if (emu_session_create(&inst->problem, &plan, &cfg, &sess, &err) != EP_OK ||
	    emu_session_run(sess, &err) != EP_OK)
		goto out;
	rate = emu_session_report(sess)->throughput * bits;
	printf("unshaped link, stage relay (%s, %.2f MiB tensors, %s): %.0f Mbit/s of tensor, "
	       "%.0f frames/s\n", inst->profile->model, bits / 8 / 1048576,
	       lz4 ? "lz4" : "uncompressed", rate / 1e6, emu_session_report(sess)->throughput);
out:
	if (rate == 0)
		fprintf(stderr, "bench_emu: relay: %s\n", err.msg);
	emu_session_destroy(sess);
	plan_release(&plan);
	instance_destroy(inst);
	return rate;
}

/* A plain TCP transfer over an unshaped veth pair through the bridge. */
static int bench_unshaped(const struct emu_caps *caps, const char *state_dir)
{
	struct cluster_spec spec = cluster_spec_default(2, 1e9);
	struct emu_net_options opt = { .unshaped = true };
	struct emu_probe_options popt = { .warmup_s = 0.3, .duration_s = 1.0 };
	struct emu_probe_result r;
	struct emu_registry *reg = NULL;
	struct cluster *c = NULL;
	struct emu_net *net = NULL;
	struct ep_error err;
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	int rc = 1;

	gsl_rng_set(rng, 1);
	if (cluster_create(&spec, rng, &c, &err) != EP_OK ||
	    emu_registry_create(state_dir, &reg, &err) != EP_OK ||
	    emu_net_create(reg, caps, c, &opt, &net, &err) != EP_OK ||
	    emu_probe_run(net, 0, 1, &popt, &r, &err) != EP_OK)
		goto out;
	printf("unshaped link, plain TCP transfer (probe): %.0f Mbit/s\n", r.rate_bps / 1e6);
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "bench_emu: unshaped: %s\n", err.msg);
	emu_net_destroy(net);
	if (reg) {
		emu_registry_clean(reg, 0, NULL, NULL, NULL, NULL);
		emu_registry_destroy(reg);
	}
	cluster_destroy(c);
	gsl_rng_free(rng);
	return rc;
}

int main(int argc, char **argv)
{
	static const int sizes[] = { 10, 50, 100 };
	char state_dir[] = "/tmp/edgepipe-bench.XXXXXX";
	struct emu_caps caps;
	struct ep_error err;
	int rc = 0, lock;

	if (geteuid() != 0) {
		printf("bench_emu: skipped: needs root\n");
		return 77;
	}
	if (emu_caps_detect(&caps, &err) != EP_OK || emu_caps_require_net(&caps, &err) != EP_OK) {
		printf("bench_emu: skipped: %s\n", err.msg);
		return 77;
	}
	if (!mkdtemp(state_dir)) {
		perror("mkdtemp");
		return 1;
	}
	/* Take turns with the emulator tests (tests/emu_harness.h): they compare the host's
	 * namespaces before and after, and this makes a hundred. */
	lock = open("/run/lock/edgepipe-emu-tests.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lock >= 0)
		flock(lock, LOCK_EX);
	printf("bench_emu: bring-up and teardown with full pairwise shaping "
	       "(Mininet: about 3 s for 50 hosts, unshaped)\n");
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			rc |= bench(&caps, state_dir, atoi(argv[i]));
	} else {
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
			rc |= bench(&caps, state_dir, sizes[i]);
	}
	rc |= bench_unshaped(&caps, state_dir);
	rc |= bench_relay(state_dir, false) > 0 ? 0 : 1;
	rc |= bench_relay(state_dir, true) > 0 ? 0 : 1;
	rmdir(state_dir);
	if (lock >= 0)
		close(lock);
	return rc;
}
