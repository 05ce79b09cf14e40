/*
 * Capability detection and the fallbacks: this kernel has no netem, which detection must
 * report (with the reason and what is done instead); then latency is left to the transport
 * (EMU_MECH_TRANSPORT, readable per pair) and loss is an iptables statistic rule at the
 * receiver (EMU_MECH_IPTABLES), whose effect is measured: of 2000 UDP datagrams at loss 0.5,
 * about half arrive (binomial: mean 1000, sd 22; the bounds below are +-7 sd). Link down drops
 * everything, link up restores it. On a kernel with netem the test checks that netem is used.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>

#include "check.h"
#include "emu_harness.h"
#include "emu_net.h"

#define DATAGRAMS 2000
#define UDP_PORT  47000

struct udp_args {
	struct in_addr dst;
	int report_fd; /* receiver: where the count goes */
};

static int udp_receiver(void *arg)
{
	struct udp_args *a = arg;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(UDP_PORT) };
	struct pollfd pfd;
	int s = socket(AF_INET, SOCK_DGRAM, 0), count = 0, big = 4 << 20;
	char buf[64];

	sa.sin_addr = a->dst;
	setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return 1;
	if (write(a->report_fd, &count, sizeof(count)) != sizeof(count)) /* ready */
		return 1;
	pfd.fd = s;
	pfd.events = POLLIN;
	/* Until 300 ms pass without a datagram. */
	while (poll(&pfd, 1, 300) == 1)
		if (recv(s, buf, sizeof(buf), 0) > 0)
			count++;
	return write(a->report_fd, &count, sizeof(count)) == sizeof(count) ? 0 : 1;
}

static int udp_sender(void *arg)
{
	struct udp_args *a = arg;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(UDP_PORT) };
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	char buf[64] = "x";

	sa.sin_addr = a->dst;
	for (int i = 0; i < DATAGRAMS; i++) {
		if (sendto(s, buf, sizeof(buf), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return 1;
		if (i % 50 == 49)
			emu_test_sleep(0.001); /* stay far below the link's rate */
	}
	return 0;
}

/* Send DATAGRAMS from `from` to `to`; return how many arrived (-1 on failure). */
static int udp_count(struct emu_net *net, int from, int to)
{
	struct udp_args a = { .dst = emu_net_addr(net, to) };
	struct ep_error err;
	int fds[2], count = -1, status;
	pid_t rx, tx;

	if (pipe(fds) != 0)
		return -1;
	a.report_fd = fds[1];
	if (emu_net_spawn(net, to, NULL, udp_receiver, &a, &rx, &err) != EP_OK)
		goto out;
	if (read(fds[0], &count, sizeof(count)) != sizeof(count))
		goto out;
	if (emu_net_spawn(net, from, NULL, udp_sender, &a, &tx, &err) != EP_OK)
		goto out;
	waitpid(tx, &status, 0);
	if (read(fds[0], &count, sizeof(count)) != sizeof(count))
		count = -1;
	waitpid(rx, &status, 0);
out:
	close(fds[0]);
	close(fds[1]);
	return count;
}

static int body(const char *state_dir, const struct emu_caps *caps)
{
	struct emu_registry *reg = NULL;
	struct cluster *c = emu_test_cluster(2, 50e6);
	struct emu_net *net = NULL;
	struct emu_link_state st;
	struct ep_error err;
	char text[2048], out[2048];
	char *list[] = { "iptables", "-S", "INPUT", NULL };
	int rc, n, status;

	n = emu_caps_describe(caps, text, sizeof(text));
	printf("missing (%d):\n%s", n, text);
	for (int k = 0; k < EMU_CAP_COUNT_; k++)
		printf("  %-20s %s\n", emu_cap_name(k), caps->have[k] ? "yes" : "no");
	printf("cgroup cpu v%d at %s, memory v%d at %s\n", caps->cgroup_cpu_version,
	       caps->cgroup_cpu_root, caps->cgroup_memory_version, caps->cgroup_memory_root);
	CHECK(caps->have[EMU_CAP_NETNS] && caps->have[EMU_CAP_VETH] && caps->have[EMU_CAP_HTB]);
	CHECK_INT(emu_caps_require_net(caps, &err), EP_OK);
	if (!caps->have[EMU_CAP_NETEM]) {
		CHECK_CONTAINS(text, "netem missing");
		CHECK_CONTAINS(caps->why[EMU_CAP_NETEM], "netem");
		CHECK_CONTAINS(text, "latency added by the stage transport");
	}
	if (!caps->have[EMU_CAP_IPTABLES_STATISTIC]) {
		printf("no iptables statistic match: the loss fallback cannot be tested here\n");
		cluster_destroy(c);
		return check_exit();
	}

	c->latency_s[0 * 3 + 1] = 0.020; /* 20 ms from node 0 to node 1 */
	rc = emu_registry_create(state_dir, &reg, &err);
	CHECK_INT(rc, EP_OK);
	if (rc == EP_OK)
		rc = emu_net_create(reg, caps, c, NULL, &net, &err);
	CHECK_INT(rc, EP_OK);
	if (rc) {
		fprintf(stderr, "%s\n", err.msg);
		goto out;
	}
	printf("mechanisms: bandwidth %s, latency %s, loss %s, link down %s\n",
	       emu_mech_name(emu_net_mech(net, EMU_PROP_BANDWIDTH)),
	       emu_mech_name(emu_net_mech(net, EMU_PROP_LATENCY)),
	       emu_mech_name(emu_net_mech(net, EMU_PROP_LOSS)),
	       emu_mech_name(emu_net_mech(net, EMU_PROP_DOWN)));
	CHECK_INT(emu_net_mech(net, EMU_PROP_BANDWIDTH), EMU_MECH_HTB);
	CHECK_INT(emu_net_mech(net, EMU_PROP_LATENCY),
		  caps->have[EMU_CAP_NETEM] ? EMU_MECH_NETEM : EMU_MECH_TRANSPORT);
	CHECK_INT(emu_net_mech(net, EMU_PROP_LOSS),
		  caps->have[EMU_CAP_NETEM] ? EMU_MECH_NETEM : EMU_MECH_IPTABLES);
	CHECK_INT(emu_link_get(net, 0, 1, &st, &err), EP_OK);
	CHECK_NEAR(st.latency_s, 0.020, 1e-12);
	CHECK_INT(emu_link_set_latency(net, 1, 0, 0.005, &err), EP_OK);
	CHECK_INT(emu_link_get(net, 1, 0, &st, &err), EP_OK);
	CHECK_NEAR(st.latency_s, 0.005, 1e-12);

	/* No loss: everything arrives. */
	n = udp_count(net, 0, 1);
	printf("no loss: %d of %d datagrams\n", n, DATAGRAMS);
	CHECK_INT(n, DATAGRAMS);

	/* Loss 0.5 on 0 -> 1 only. */
	CHECK_INT(emu_link_set_loss(net, 0, 1, 0.5, &err), EP_OK);
	if (!caps->have[EMU_CAP_NETEM]) {
		CHECK_INT(emu_net_run(net, 1, list, out, sizeof(out), &status, &err), EP_OK);
		CHECK_CONTAINS(out, "statistic");
		CHECK_CONTAINS(out, "198.18.0.1/32");
	}
	n = udp_count(net, 0, 1);
	printf("loss 0.5: %d of %d datagrams arrived\n", n, DATAGRAMS);
	CHECK(n >= 850 && n <= 1150);
	n = udp_count(net, 2, 1);
	printf("loss 0.5 on 0 -> 1 only; dispatcher -> 1: %d of %d\n", n, DATAGRAMS);
	CHECK_INT(n, DATAGRAMS);
	/* Changed in place, then removed. */
	CHECK_INT(emu_link_set_loss(net, 0, 1, 0.1, &err), EP_OK);
	n = udp_count(net, 0, 1);
	printf("loss 0.1: %d of %d datagrams arrived\n", n, DATAGRAMS);
	CHECK(n >= 1720 && n <= 1880); /* mean 1800, sd 13.4 */
	CHECK_INT(emu_link_set_loss(net, 0, 1, 0, &err), EP_OK);
	if (!caps->have[EMU_CAP_NETEM]) {
		CHECK_INT(emu_net_run(net, 1, list, out, sizeof(out), &status, &err), EP_OK);
		CHECK(!strstr(out, "statistic"));
	}
	CHECK_INT(udp_count(net, 0, 1), DATAGRAMS);

	/* Link down, then up. */
	CHECK_INT(emu_link_set_up(net, 0, 1, false, &err), EP_OK);
	CHECK_INT(emu_link_get(net, 0, 1, &st, &err), EP_OK);
	CHECK(!st.up);
	n = udp_count(net, 0, 1);
	printf("link down: %d arrived\n", n);
	CHECK_INT(n, 0);
	CHECK_INT(emu_link_set_up(net, 0, 1, true, &err), EP_OK);
	CHECK_INT(udp_count(net, 0, 1), DATAGRAMS);

	/* Errors name the value. */
	CHECK_INT(emu_link_set_loss(net, 0, 1, 1.5, &err), EP_EINVAL);
	CHECK_CONTAINS(err.msg, "1.5");
	CHECK_INT(emu_link_set_latency(net, 0, 1, -1, &err), EP_EINVAL);
	CHECK_INT(emu_link_set_up(net, 3, 1, true, &err), EP_EINVAL);
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
	return emu_test_main("test_emu_caps", body, 40);
}
