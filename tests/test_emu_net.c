/*
 * The emulated network: the rate between two emulated nodes, measured by the run's own probe,
 * is within 5 % of the configured rate at 1, 10 and 100 Mbit/s (the criterion); two
 * pairs from one sender get their own rates at the same time (one class per destination);
 * a rate changed in place while traffic flows takes effect without breaking the transfer;
 * nothing is routed out of the namespaces; bad values are refused by name and a refused
 * network creates nothing.
 *
 * Expected values: the configured rates themselves (the probe measures TCP payload, and
 * emu_net's default rates are payload rates).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>

#include "check.h"
#include "emu_harness.h"
#include "emu_net.h"
#include "emu_probe.h"

static const struct emu_probe_options probe_opt = {
	.warmup_s = 0.3, .duration_s = 1.0, .interval_s = 0.1,
};

static void check_rate(struct emu_net *net, int from, int to, double bps)
{
	struct emu_probe_result r;
	struct ep_error err;
	int rc;

	rc = emu_link_shape(net, from, to, bps, &err);
	CHECK_INT(rc, EP_OK);
	if (rc) {
		fprintf(stderr, "%s\n", err.msg);
		return;
	}
	rc = emu_probe_run(net, from, to, &probe_opt, &r, &err);
	CHECK_INT(rc, EP_OK);
	if (rc) {
		fprintf(stderr, "%s\n", err.msg);
		return;
	}
	printf("%d -> %d configured %8.3f Mbit/s, measured %8.3f Mbit/s (%+.2f %%)\n", from, to,
	       bps / 1e6, r.rate_bps / 1e6, (r.rate_bps / bps - 1) * 100);
	CHECK(fabs(r.rate_bps / bps - 1) <= 0.05);
}

/* Two transfers from node 0 at once, to node 1 and to the dispatcher, at their own rates. */
static void check_concurrent(struct emu_net *net)
{
	struct emu_probe *p1 = NULL, *p2 = NULL;
	struct emu_probe_result r1, r2;
	struct ep_error err;
	int d = emu_net_node_count(net);

	CHECK_INT(emu_link_shape(net, 0, 1, 12e6, &err), EP_OK);
	CHECK_INT(emu_link_shape(net, 0, d, 4e6, &err), EP_OK);
	CHECK_INT(emu_probe_start(net, 0, 1, &probe_opt, &p1, &err), EP_OK);
	CHECK_INT(emu_probe_start(net, 0, d, &probe_opt, &p2, &err), EP_OK);
	if (p1)
		CHECK_INT(emu_probe_finish(p1, &r1, &err), EP_OK);
	if (p2)
		CHECK_INT(emu_probe_finish(p2, &r2, &err), EP_OK);
	if (!p1 || !p2)
		return;
	printf("concurrent: 0 -> 1 %.3f Mbit/s (12 configured), 0 -> dispatcher %.3f (4)\n",
	       r1.rate_bps / 1e6, r2.rate_bps / 1e6);
	CHECK(fabs(r1.rate_bps / 12e6 - 1) <= 0.05);
	CHECK(fabs(r2.rate_bps / 4e6 - 1) <= 0.05);
}

/* The mean rate of the bins whose start lies in [t0, t1) seconds after the first byte. */
static double bins_rate(const struct emu_probe_result *r, double interval, double t0, double t1)
{
	double bytes = 0;
	int n = 0;

	for (int k = 0; k < r->n_bins; k++)
		if (k * interval >= t0 - 1e-9 && k * interval < t1 - 1e-9) {
			bytes += r->bin_bytes[k];
			n++;
		}
	return n ? bytes * 8 / (n * interval) : 0;
}

/* 20 Mbit/s, then 5 Mbit/s one second into the transfer, on the same connection. */
static void check_change_in_place(struct emu_net *net)
{
	struct emu_probe_options opt = { .warmup_s = 0.2, .duration_s = 2.3, .interval_s = 0.1 };
	struct emu_probe *p = NULL;
	struct emu_probe_result r;
	struct ep_error err;
	double before, after, t_change;

	CHECK_INT(emu_link_shape(net, 1, 0, 20e6, &err), EP_OK);
	CHECK_INT(emu_probe_start(net, 1, 0, &opt, &p, &err), EP_OK);
	if (!p)
		return;
	emu_test_sleep(1.1);
	t_change = emu_test_now();
	CHECK_INT(emu_link_shape(net, 1, 0, 5e6, &err), EP_OK);
	CHECK_INT(emu_probe_finish(p, &r, &err), EP_OK);
	t_change -= r.start_mono_s; /* seconds after the first byte */
	before = bins_rate(&r, 0.1, 0.3, t_change - 0.1);
	after = bins_rate(&r, 0.1, t_change + 0.3, 2.4);
	printf("in place: change at %.2f s; before %.3f Mbit/s (20 configured), after %.3f "
	       "(5 configured), one connection, %.0f bytes\n",
	       t_change, before / 1e6, after / 1e6, r.total_bytes);
	CHECK(t_change > 0.5 && t_change < 1.5);
	CHECK(fabs(before / 20e6 - 1) <= 0.05);
	CHECK(fabs(after / 5e6 - 1) <= 0.05);
	CHECK(r.seconds > 2.0); /* the transfer ran through the change */
}

static int connect_out(void *arg)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
	int s = socket(AF_INET, SOCK_STREAM, 0), rc;

	(void)arg;
	inet_pton(AF_INET, "8.8.8.8", &sa.sin_addr);
	rc = connect(s, (struct sockaddr *)&sa, sizeof(sa));
	/* No default route: the kernel refuses at once. */
	return rc == 0 ? 1 : errno == ENETUNREACH ? 0 : 2;
}

/* Nothing leaves the namespaces: no default route, no way to a public address. */
static void check_isolation(struct emu_net *net)
{
	char *argv[] = { "ip", "-4", "route", "show", NULL };
	char out[1024];
	struct ep_error err;
	int status;
	pid_t pid;

	CHECK_INT(emu_net_run(net, 0, argv, out, sizeof(out), &status, &err), EP_OK);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_CONTAINS(out, "198.18.0.0/16");
	CHECK(!strstr(out, "default"));
	CHECK_INT(emu_net_spawn(net, 0, NULL, connect_out, NULL, &pid, &err), EP_OK);
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void check_errors(struct emu_registry *reg, const struct emu_caps *caps,
			 struct emu_net *net)
{
	struct cluster *bad = emu_test_cluster(2, 1e6);
	struct emu_net *none = NULL;
	struct ep_error err;
	struct emu_link_state st;
	char dir[128];

	CHECK_INT(emu_link_shape(net, 0, 0, 1e6, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "link 0 -> 0");
	CHECK_INT(emu_link_shape(net, 0, 9, 1e6, &err), EP_EINVAL);
	CHECK_INT(emu_link_shape(net, 0, 1, -5, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "-5");
	CHECK_INT(emu_link_shape(net, 0, 1, NAN, &err), EP_EINVAL);
	CHECK_INT(emu_link_get(net, 0, 1, &st, &err), EP_OK);
	CHECK(st.up && st.bandwidth_bps > 0);
	/* A bad cluster is refused before anything is created or registered. */
	if (bad) {
		bad->bw_bps[0 * 3 + 2] = 0;
		snprintf(dir, sizeof(dir), "%s/%s-n0", EMU_NETNS_DIR, emu_registry_run_id(reg));
		CHECK_INT(emu_net_create(reg, caps, bad, NULL, &none, &err), EP_EINVAL);
		CHECK_CONTAINS(err.msg, "link 0 -> 2");
		CHECK(none == NULL);
		bad->n = 0;
		CHECK_INT(emu_net_create(reg, caps, bad, NULL, &none, &err), EP_EINVAL);
		CHECK_CONTAINS(err.msg, "0 nodes");
		cluster_destroy(bad);
	}
}

static int body(const char *state_dir, const struct emu_caps *caps)
{
	struct emu_registry *reg = NULL;
	struct cluster *c = emu_test_cluster(2, 10e6);
	struct emu_net *net = NULL;
	struct emu_net_stats st;
	struct ep_error err;
	char a[INET_ADDRSTRLEN];
	int rc;

	rc = emu_registry_create(state_dir, &reg, &err);
	CHECK_INT(rc, EP_OK);
	if (rc || !c)
		goto out;
	rc = emu_net_create(reg, caps, c, NULL, &net, &err);
	CHECK_INT(rc, EP_OK);
	if (rc) {
		fprintf(stderr, "%s\n", err.msg);
		goto out;
	}
	emu_net_get_stats(net, &st);
	printf("2 nodes + dispatcher: %d classes, %d filters; node 0 is %s in %s\n", st.classes,
	       st.filters, emu_net_addr_str(net, 0, a, sizeof(a)), emu_net_ns_name(net, 0));
	CHECK_INT(st.classes, 6);
	CHECK_INT(st.filters, 6);
	CHECK_INT(strlen(emu_net_ns_name(net, 0)) < 15, 1);
	CHECK_STR(emu_net_addr_str(net, 2, a, sizeof(a)), "198.18.0.3");

	check_rate(net, 0, 1, 1e6);
	check_rate(net, 0, 1, 10e6);
	check_rate(net, 0, 1, 100e6);
	check_concurrent(net);
	check_change_in_place(net);
	check_isolation(net);
	check_errors(reg, caps, net);
out:
	emu_net_destroy(net);
	if (reg && emu_registry_clean(reg, 0, NULL, NULL, NULL, &err) != EP_OK) {
		fprintf(stderr, "clean: %s\n", err.msg);
		check_failures++;
	}
	emu_registry_destroy(reg);
	cluster_destroy(c);
	return check_exit();
}

int main(void)
{
	return emu_test_main("test_emu_net", body, 60);
}
