/*
 * test_emu_session_create: a session created and destroyed without running (a bad codec spec
 * refused by emu_session_create, or a caller that never runs it) releases only what it made.
 * Regression: the fault timeline's wake pipe started as {0, 0} (calloc) and was "closed" on
 * release, so destroying a session that never ran closed the process's standard input.
 * No namespaces: runs as any user.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "algo.h"
#include "check.h"
#include "emu_session.h"
#include "plan.h"
#include "tiny_instance.h"

/* Whether descriptor fd is open. */
static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

int main(void)
{
	struct problem_options opt = { 0 };
	struct emu_config cfg = emu_config_default();
	struct emu_session *s = NULL;
	struct ep_error err;
	struct plan plan;
	struct tiny t;
	int fd0;

	/* Descriptor 0 is ours to watch: a pipe's read end whatever ctest gave us. */
	{
		int p[2];

		CHECK_INT(pipe(p), 0);
		CHECK_INT(dup2(p[0], 0), 0);
		close(p[0]);
		fd0 = p[1]; /* kept open so that 0 stays a live pipe */
	}
	/* Two nodes of 1 KiB, three cut points of one byte each (hand-made: any valid instance). */
	tiny_clear(&t, 3, 2);
	for (int c = 0; c < 3; c++) {
		t.cuts[c].cum_mem_bytes = (double)(c + 1);
		t.cuts[c].cum_flops = 100 * c;
		t.cuts[c].transfer_bytes = 1;
	}
	for (int i = 0; i < 2; i++) {
		t.mem[i] = 1024;
		t.speed[i] = 1e9;
	}
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			t.bw[i * 3 + j] = i == j ? 0 : 1e9;
	CHECK_INT(tiny_ready(&t, &opt), EP_OK);
	plan_init(&plan);
	CHECK_INT(plan_push(&plan, 0, 2, 0), EP_OK);
	cfg.requests = 10;
	cfg.warmup_requests = 0;
	cfg.probes = 0;
	cfg.algo = algo_find("greedy");

	/* Refused at creation: the session made so far is destroyed inside. */
	cfg.codec = "lz5";
	CHECK_INT(emu_session_create(&t.p, &plan, &cfg, &s, &err), EP_EINVAL);
	CHECK(s == NULL);
	CHECK_CONTAINS(err.msg, "lz5");
	CHECK(fd_open(0));

	/* Created, never run, destroyed. */
	cfg.codec = "lz4";
	CHECK_INT(emu_session_create(&t.p, &plan, &cfg, &s, &err), EP_OK);
	emu_session_destroy(s);
	CHECK(fd_open(0));
	CHECK(fd_open(fd0));

	plan_release(&plan);
	problem_release(&t.p);
	close(fd0);
	return check_exit();
}
