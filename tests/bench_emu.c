/*
 * bench_emu: how long the emulated network takes to come up and go down with full pairwise
 * shaping (every ordered pair of nodes and dispatcher its own HTB class and u32 filter), at
 * 10, 50 and 100 nodes; how long reshaping every pair in place takes; and, on unshaped links,
 * the stage path against iperf3-grade baselines: a bulk TCP transfer (large blocking writes
 * and reads, no per-frame work) and iperf3 itself, beside a stage relay (the emulator's stage
 * transport moving real cut tensors between two stage processes, uncompressed and with LZ4).
 *
 * For scale: Mininet needs about 3 s to bring up 50 hosts on one switch on this machine, with
 * no shaping at all.
 *
 * "down" is what the controller waits for (namespaces unmounted, registry cleaned); the kernel
 * then destroys the namespaces in the background, and "released" is when the last node's veth
 * has gone from the switch (watched through a handle kept on the switch namespace).
 *
 * Needs root; exits 77 otherwise. Usage: bench_emu [N ...] (default 10 50 100), or
 * bench_emu transport (the stage path only).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
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
	cfg.codec = lz4 ? "lz4" : NULL;
	cfg.graph = inst->graph;
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

/*
 * The baselines of the stage path, on the same kind of link (an unshaped net of 2 nodes: node
 * 0 -> bridge -> node 1):
 *   bulk    what a bulk transfer gets: 1 MiB blocking writes, 1 MiB blocking reads into one
 *           buffer, nothing else per read (what iperf3 does with its 128 kB default blocks);
 *   iperf3  iperf3 itself (Debian's), when installed: its receiver's rate over 2 s.
 */
#define BULK_BLOCK (1 << 20)
#define BULK_PORT  5301

struct bulk_arg {
	struct in_addr addr; /* the receiver's */
	double seconds;      /* sender: how long to send */
	int fd;              /* receiver: where to report bytes and seconds */
};

static int bulk_receiver(void *arg)
{
	const struct bulk_arg *a = arg;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(BULK_PORT) };
	char *buf = malloc(BULK_BLOCK);
	double r[2] = { 0, 0 }, t0 = 0, t1 = 0, warm = 0;
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), cs, one = 1;

	sa.sin_addr = a->addr;
	if (!buf || ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 1))
		return 1;
	if (write(a->fd, r, 1) != 1) /* listening */
		return 1;
	cs = accept(ls, NULL, NULL);
	if (cs < 0)
		return 1;
	for (;;) {
		ssize_t k = read(cs, buf, BULK_BLOCK);

		if (k <= 0)
			break;
		t1 = now_s();
		if (t0 == 0)
			t0 = t1;
		if (t1 - t0 < 0.3) { /* slow start and the first scheduling */
			warm = t1;
			continue;
		}
		r[0] += (double)k;
	}
	r[1] = t1 - warm;
	return write(a->fd, r, sizeof(r)) == sizeof(r) ? 0 : 1;
}

static int bulk_sender(void *arg)
{
	const struct bulk_arg *a = arg;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(BULK_PORT) };
	char *buf = calloc(1, BULK_BLOCK);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	double t0 = now_s();

	sa.sin_addr = a->addr;
	if (!buf || s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)))
		return 1;
	while (now_s() - t0 < a->seconds)
		if (send(s, buf, BULK_BLOCK, MSG_NOSIGNAL) <= 0)
			return 1;
	close(s);
	return 0;
}

static double bench_bulk(const struct emu_net *net)
{
	struct bulk_arg a = { .addr = emu_net_addr(net, 1), .seconds = 2.3 };
	struct ep_error err;
	double r[2] = { 0, 0 };
	pid_t rx = -1, tx = -1;
	int fds[2];
	char c;

	if (pipe(fds))
		return 0;
	a.fd = fds[1];
	if (emu_net_spawn(net, 1, NULL, bulk_receiver, &a, &rx, &err) != EP_OK ||
	    read(fds[0], &c, 1) != 1 ||
	    emu_net_spawn(net, 0, NULL, bulk_sender, &a, &tx, &err) != EP_OK ||
	    read(fds[0], r, sizeof(r)) != sizeof(r))
		r[0] = 0;
	if (tx > 0)
		waitpid(tx, NULL, 0);
	if (rx > 0)
		waitpid(rx, NULL, 0);
	close(fds[0]);
	close(fds[1]);
	return r[1] > 0 ? r[0] * 8 / r[1] : 0;
}

static int iperf3_server(void *arg)
{
	int null = open("/dev/null", O_WRONLY);

	(void)arg;
	if (null >= 0) {
		dup2(null, 1);
		dup2(null, 2);
	}
	execlp("iperf3", "iperf3", "-s", "-1", "-p", "5302", (char *)NULL);
	return 127;
}

/* iperf3 node 0 -> node 1 for 2 s: the receiver's bit/s; 0 when iperf3 is missing. */
static double bench_iperf3(const struct emu_net *net)
{
	char addr[INET_ADDRSTRLEN], *out = malloc(1 << 16), *p;
	char *argv[] = { "iperf3", "-c", addr, "-p", "5302", "-t", "2", "-O", "1", "-J", NULL };
	struct ep_error err;
	double bps = 0;
	pid_t srv = -1;
	int status;

	if (!out || system("command -v iperf3 >/dev/null 2>&1") != 0) {
		free(out);
		return 0;
	}
	emu_net_addr_str(net, 1, addr, sizeof(addr));
	if (emu_net_spawn(net, 1, NULL, iperf3_server, NULL, &srv, &err) != EP_OK) {
		free(out);
		return 0;
	}
	usleep(300000); /* the server listens */
	if (emu_net_run(net, 0, argv, out, 1 << 16, &status, &err) == EP_OK &&
	    WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    (p = strstr(out, "\"sum_received\"")) && (p = strstr(p, "\"bits_per_second\":")))
		bps = strtod(p + strlen("\"bits_per_second\":"), NULL);
	kill(srv, SIGKILL);
	waitpid(srv, NULL, 0);
	free(out);
	return bps;
}

/* The baselines over an unshaped link: bulk, iperf3. Returns the better, in bit/s. */
static double bench_baselines(const struct emu_caps *caps, const char *state_dir)
{
	struct cluster_spec spec = cluster_spec_default(2, 1e9);
	struct emu_net_options opt = { .unshaped = true };
	struct emu_registry *reg = NULL;
	struct cluster *c = NULL;
	struct emu_net *net = NULL;
	struct ep_error err;
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	double bulk = 0, ip = 0;

	gsl_rng_set(rng, 1);
	if (cluster_create(&spec, rng, &c, &err) != EP_OK ||
	    emu_registry_create(state_dir, &reg, &err) != EP_OK ||
	    emu_net_create(reg, caps, c, &opt, &net, &err) != EP_OK) {
		fprintf(stderr, "bench_emu: unshaped: %s\n", err.msg);
		goto out;
	}
	bulk = bench_bulk(net);
	ip = bench_iperf3(net);
	printf("unshaped link, bulk TCP (1 MiB blocking writes and reads): %.0f Mbit/s\n",
	       bulk / 1e6);
	if (ip > 0)
		printf("unshaped link, iperf3 (2 s, receiver): %.0f Mbit/s\n", ip / 1e6);
	else
		printf("unshaped link, iperf3: not installed or failed\n");
out:
	emu_net_destroy(net);
	if (reg) {
		emu_registry_clean(reg, 0, NULL, NULL, NULL, NULL);
		emu_registry_destroy(reg);
	}
	cluster_destroy(c);
	gsl_rng_free(rng);
	return fmax(bulk, ip);
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
	if (argc > 1 && strcmp(argv[1], "transport") == 0) {
		/* the stage path only */
	} else if (argc > 1) {
		for (int i = 1; i < argc; i++)
			rc |= bench(&caps, state_dir, atoi(argv[i]));
	} else {
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
			rc |= bench(&caps, state_dir, sizes[i]);
	}
	{
		double base = bench_baselines(&caps, state_dir);
		double relay = bench_relay(state_dir, false);

		rc |= base > 0 && relay > 0 ? 0 : 1;
		if (base > 0 && relay > 0)
			printf("stage relay / best baseline: %.2f\n", relay / base);
		rc |= bench_relay(state_dir, true) > 0 ? 0 : 1;
	}
	rmdir(state_dir);
	if (lock >= 0)
		close(lock);
	return rc;
}
