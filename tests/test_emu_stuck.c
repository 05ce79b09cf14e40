/*
 * The stuck rule's TCP count (emu_tcp_timeouts, emu/emu_stage.h): a receiver that is alive but
 * does not read (a stage computing its backlog, starved of CPU, or stopped) closes its window;
 * its kernel answers every window probe, so the count must stay below EMU_STUCK_RTOS however
 * long the window stays closed: the link is slow, not cut.
 *
 * Expected value: 0 unanswered retransmissions or probes on loopback, where nothing is lost.
 * The defect this guards: the count was max(tcpi_retransmits, tcpi_backoff), and Linux's
 * persist timer raises icsk_backoff for every window probe it sends, answered or not
 * (tcp_send_probe0): measured here 2 at 1 s, 3 at 2 s and 4 at 4 s of a closed window, with
 * tcpi_retransmits and tcpi_probes 0. A dispatcher or stage whose successor's window stayed
 * closed for the stuck timeout (3 s: a roll-out on a loaded host, stage_dispatch_update.sh)
 * marked the link cut and tore both deployments down.
 *
 * The cut itself (nothing answered: retransmissions, or probes when the window was closed) is
 * detected in test_emu_faults ('link stage0 stage1 down'). No root, loopback only; 2.5 s.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "emu_stage.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int ls = socket(AF_INET, SOCK_STREAM, 0), tx = socket(AF_INET, SOCK_STREAM, 0), rx = -1;
	int small = 4096, most = 0;
	static char buf[65536];
	double t0;

	if (ls < 0 || tx < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(ls, 1) != 0 || getsockname(ls, (struct sockaddr *)&sa, &len) != 0 ||
	    connect(tx, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    (rx = accept(ls, NULL, NULL)) < 0) {
		printf("skipped: no loopback TCP here (%s)\n", strerror(errno));
		return 77;
	}
	/* The receiver never reads: its window closes once its small buffer is full. */
	setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	t0 = now_s();
	while (now_s() - t0 < 2.5) {
		struct pollfd p = {.fd = tx, .events = POLLOUT};
		int k;

		if (poll(&p, 1, 10) == 1)
			(void)send(tx, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL);
		k = emu_tcp_timeouts(tx);
		if (k > most)
			most = k;
	}
	printf("closed window for 2.5 s, live receiver: at most %d timeouts in a row (stuck at "
	       "%d)\n",
	       most, EMU_STUCK_RTOS);
	CHECK(most < EMU_STUCK_RTOS);
	close(rx);
	close(tx);
	close(ls);
	return check_exit();
}
