/*
 * edgepipe measure's engine (emu/emu_measure.h) on hosts whose links are known: three emulated
 * nodes, every ordered pair shaped to its own rate, an agent in each node's namespace, and the
 * controller in the dispatcher's. The measured matrix equals the configured one within 5 % (the
 * criterion test_emu_net holds the emulator's shaping to, measured there with emu_probe), and
 * the written file reads back as a --cluster file with the same bandwidths. A host without an
 * agent is an EP_EIO that names it.
 *
 * Expected values: the configured rates (payload rates, as emu_net shapes them).
 */
#include <arpa/inet.h>
#include <sys/mman.h>

#include "check.h"
#include "emu_harness.h"
#include "emu_measure.h"
#include "emu_net.h"

#define N 3

/* Mbit/s of each ordered pair, all different, so a transposed or shifted matrix fails. */
static const double rate_mbit[N][N] = { { 0, 8, 24 }, { 16, 0, 20 }, { 12, 10, 0 } };

static volatile sig_atomic_t agent_stop;

static void agent_on_term(int sig)
{
	(void)sig;
	agent_stop = 1;
}

struct agent_arg {
	struct emu_measure_host host;
};

static int agent_main(void *p)
{
	struct agent_arg *a = p;
	struct sigaction sa = { .sa_handler = agent_on_term };
	struct ep_error err;

	sigaction(SIGTERM, &sa, NULL);
	if (emu_measure_serve(&a->host, &agent_stop, &err)) {
		fprintf(stderr, "agent %s: %s\n", a->host.addr, err.msg);
		return 1;
	}
	return 0;
}

/* The controller's result, in memory shared with the parent. */
struct shared {
	double bw[N * N];
	int rc, rc_missing;
	char msg[512], msg_missing[512];
};

struct ctl_arg {
	struct emu_measure_host hosts[N + 1]; /* the last one runs no agent */
	struct shared *out;
};

static int controller_main(void *p)
{
	struct ctl_arg *a = p;
	struct emu_measure_options o = { .warmup_s = 0.3, .window_s = 0.7, .timeout_s = 3 };
	struct ep_error err;
	double rate;

	a->out->rc = emu_measure_matrix(a->hosts, N, &o, a->out->bw, NULL, NULL, &err);
	if (a->out->rc)
		snprintf(a->out->msg, sizeof(a->out->msg), "%s", err.msg);
	a->out->rc_missing = emu_measure_pair(&a->hosts[0], &a->hosts[N], &o, &rate, &err);
	snprintf(a->out->msg_missing, sizeof(a->out->msg_missing), "%s", err.msg);
	return 0;
}

static void check_file(const double *bw)
{
	char path[] = "/tmp/test_emu_measure.XXXXXX";
	int fd = mkstemp(path);
	struct cluster_spec spec = cluster_spec_default(0, 64.0 * 1024 * 1024);
	struct cluster *c = NULL;
	struct ep_error err;

	if (fd < 0)
		return;
	close(fd);
	spec.kind = CLUSTER_FILE;
	spec.path = path;
	CHECK_INT(cluster_file_write(path, N, bw, "test\nsecond line", &err), EP_OK);
	if (cluster_create(&spec, NULL, &c, &err)) {
		fprintf(stderr, "reading back: %s\n", err.msg);
		check_failures++;
	}
	if (c) {
		CHECK_INT(c->n, N);
		for (int i = 0; i < N; i++)
			for (int j = 0; j < N; j++)
				if (i != j) /* %.6g keeps 6 significant digits */
					CHECK(fabs(cluster_bw(c, i, j) / bw[i * N + j] - 1) < 1e-5);
	}
	cluster_destroy(c);
	unlink(path);
}

static int body(const char *state_dir, const struct emu_caps *caps)
{
	struct emu_registry *reg = NULL;
	struct cluster *c = emu_test_cluster(N, 100e6);
	struct emu_net *net = NULL;
	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct agent_arg agents[N];
	struct ctl_arg ctl = { .out = sh };
	pid_t agent_pid[N] = { 0 }, ctl_pid = 0;
	struct ep_error err;
	int rc, status;

	rc = emu_registry_create(state_dir, &reg, &err);
	CHECK_INT(rc, EP_OK);
	if (rc || !c || sh == MAP_FAILED)
		goto out;
	for (int i = 0; i < N; i++)
		for (int j = 0; j < N; j++)
			if (i != j)
				c->bw_bps[i * (N + 1) + j] = rate_mbit[i][j] * 1e6;
	rc = emu_net_create(reg, caps, c, NULL, &net, &err);
	CHECK_INT(rc, EP_OK);
	if (rc) {
		fprintf(stderr, "%s\n", err.msg);
		goto out;
	}
	for (int i = 0; i <= N; i++) {
		emu_net_addr_str(net, i, ctl.hosts[i].addr, sizeof(ctl.hosts[i].addr));
		ctl.hosts[i].port = EMU_MEASURE_PORT;
	}
	for (int i = 0; i < N; i++) {
		agents[i].host = ctl.hosts[i];
		CHECK_INT(emu_net_spawn(net, i, NULL, agent_main, &agents[i], &agent_pid[i], &err),
			  EP_OK);
	}
	emu_test_sleep(0.3); /* the agents listen */
	/* The controller in the dispatcher's namespace; "host N" is the dispatcher's own
	 * address, where no agent listens. */
	CHECK_INT(emu_net_spawn(net, N, NULL, controller_main, &ctl, &ctl_pid, &err), EP_OK);
	if (ctl_pid > 0)
		waitpid(ctl_pid, &status, 0);
	CHECK_INT(sh->rc, EP_OK);
	if (sh->rc)
		fprintf(stderr, "measure: %s\n", sh->msg);
	for (int i = 0; i < N && !sh->rc; i++)
		for (int j = 0; j < N; j++) {
			double got = sh->bw[i * N + j] / 1e6, want = rate_mbit[i][j];

			if (i == j) {
				CHECK(got == 0);
				continue;
			}
			printf("%d -> %d configured %5.1f Mbit/s, measured %7.3f (%+.2f %%)\n", i, j,
			       want, got, (got / want - 1) * 100);
			CHECK(fabs(got / want - 1) <= 0.05);
		}
	if (!sh->rc)
		check_file(sh->bw);
	CHECK_INT(sh->rc_missing, EP_EIO);
	printf("no agent: %s\n", sh->msg_missing);
	CHECK(strstr(sh->msg_missing, ctl.hosts[N].addr) != NULL);
out:
	for (int i = 0; i < N; i++)
		if (agent_pid[i] > 0) {
			kill(agent_pid[i], SIGTERM);
			waitpid(agent_pid[i], &status, 0);
			CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		}
	emu_net_destroy(net);
	if (reg && emu_registry_clean(reg, 0, NULL, NULL, NULL, &err) != EP_OK) {
		fprintf(stderr, "clean: %s\n", err.msg);
		check_failures++;
	}
	emu_registry_destroy(reg);
	cluster_destroy(c);
	if (sh != MAP_FAILED)
		munmap(sh, sizeof(*sh));
	return check_exit();
}

int main(void)
{
	return emu_test_main("test_emu_measure", body, 60);
}
