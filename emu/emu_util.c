/*
 * Helpers shared by the emulator's modules: clocks, namespace files, netlink sockets inside a
 * namespace, running a command inside a namespace, small files.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "emu_internal.h"
#include "emu_registry.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

double emu_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

bool emu_copy(char *dst, size_t size, const char *src)
{
	size_t len = strlen(src);

	if (size == 0)
		return false;
	if (len >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return false;
	}
	memcpy(dst, src, len + 1);
	return true;
}

void emu_sleep_s(double s)
{
	struct timespec ts, rem;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &rem) != 0 && errno == EINTR)
		ts = rem;
}

bool emu_netns_path(const char *name, char *buf, size_t size)
{
	int k = snprintf(buf, size, "%s/%s", EMU_NETNS_DIR, name);

	return k > 0 && (size_t)k < size;
}

int emu_netns_open(const char *name)
{
	char path[256];
	int fd;

	if (!emu_netns_path(name, path, sizeof(path)))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

bool emu_is_nsfs(const char *path)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && (unsigned long)sf.f_type == (unsigned long)NSFS_MAGIC;
}

const char *emu_nl_strerror(int nlerr)
{
	return nl_geterror(nlerr < 0 ? -nlerr : nlerr);
}

int emu_nl_open(int nsfd, const char *what, struct nl_sock **out, struct ep_error *err)
{
	struct nl_sock *sk = NULL;
	int self = -1, rc = EP_OK, nlrc;
	bool entered = false;

	*out = NULL;
	if (nsfd >= 0) {
		self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		if (self < 0) {
			rc = ep_error_set(err, EP_EIO, "cannot open this thread's namespace: %s",
					  strerror(errno));
			goto out;
		}
		if (setns(nsfd, CLONE_NEWNET) != 0) {
			rc = ep_error_set(err, EP_EIO, "cannot enter namespace %s: %s", what,
					  strerror(errno));
			goto out;
		}
		entered = true;
	}
	sk = nl_socket_alloc();
	if (!sk) {
		rc = ep_error_set(err, EP_ENOMEM, "out of memory for a netlink socket");
		goto out;
	}
	nlrc = nl_connect(sk, NETLINK_ROUTE);
	if (nlrc < 0) {
		rc = ep_error_set(err, EP_EIO, "netlink socket in namespace %s: %s", what,
				  emu_nl_strerror(nlrc));
		goto out;
	}
	*out = sk;
	sk = NULL;
out:
	if (entered && setns(self, CLONE_NEWNET) != 0 && rc == EP_OK) {
		/* Staying in the wrong namespace would misdirect everything after: fail loudly. */
		rc = ep_error_set(err, EP_EIO, "cannot return from namespace %s: %s", what,
				  strerror(errno));
		emu_nl_close(*out);
		*out = NULL;
	}
	if (self >= 0)
		close(self);
	if (sk)
		nl_socket_free(sk);
	return rc;
}

void emu_nl_close(struct nl_sock *sk)
{
	if (sk)
		nl_socket_free(sk); /* closes the socket too */
}

static void exec_anywhere(char *const argv[])
{
	static const char *const dirs[] = { "/usr/sbin", "/sbin", "/usr/bin", "/bin" };
	char path[512];

	execvp(argv[0], argv);
	if (strchr(argv[0], '/'))
		return;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], argv[0]);
		execv(path, argv);
	}
}

int emu_run(const char *ns, char *const argv[], char *out, size_t out_size, int *status,
	    struct ep_error *err)
{
	int pipefd[2] = { -1, -1 }, nsfd = -1, rc = EP_OK;
	size_t used = 0;
	pid_t pid;

	if (out && out_size)
		out[0] = '\0';
	*status = -1;
	if (ns) {
		nsfd = emu_netns_open(ns);
		if (nsfd < 0) {
			rc = ep_error_set(err, EP_EIO, "namespace %s: %s", ns, strerror(-nsfd));
			goto out;
		}
	}
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		rc = ep_error_set(err, EP_EIO, "pipe: %s", strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		rc = ep_error_set(err, EP_EIO, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		if (devnull >= 0)
			dup2(devnull, STDIN_FILENO);
		dup2(pipefd[1], STDOUT_FILENO);
		dup2(pipefd[1], STDERR_FILENO);
		if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET) != 0) {
			dprintf(STDERR_FILENO, "setns %s: %s\n", ns, strerror(errno));
			_exit(126);
		}
		exec_anywhere(argv);
		dprintf(STDERR_FILENO, "%s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	for (;;) {
		char buf[512];
		ssize_t k = read(pipefd[0], buf, sizeof(buf));

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		if (out && used + 1 < out_size) {
			size_t room = out_size - 1 - used;
			size_t take = (size_t)k < room ? (size_t)k : room;

			memcpy(out + used, buf, take);
			used += take;
			out[used] = '\0';
		}
	}
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
out:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (nsfd >= 0)
		close(nsfd);
	return rc;
}

bool emu_proc_starttime(pid_t pid, unsigned long long *out)
{
	char path[64], buf[1024], *p;
	int k;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	k = emu_read_file(path, buf, sizeof(buf));
	if (k <= 0)
		return false;
	/* The command name (field 2) may hold spaces and parentheses: skip to its last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return false;
	p++;
	/* Field 3 is the state: a zombie (Z) or dead (X) process no longer runs, although it
	 * keeps its entry until its parent reaps it (a SIGKILLed controller whose parent has not
	 * waited for it yet must not look alive to `edgepipe clean`). */
	while (*p == ' ')
		p++;
	if (*p == 'Z' || *p == 'X')
		return false;
	/* Fields 3..21 follow; field 22 is the start time. */
	for (int field = 3; field <= 22; field++) {
		while (*p == ' ')
			p++;
		if (field == 22)
			return sscanf(p, "%llu", out) == 1;
		while (*p && *p != ' ')
			p++;
	}
	return false;
}

int emu_write_file(const char *path, const char *text)
{
	size_t len = strlen(text);
	int fd = open(path, O_WRONLY | O_CLOEXEC), rc;
	ssize_t k;

	if (fd < 0)
		return -errno;
	k = write(fd, text, len);
	rc = k < 0 ? -errno : (int)k;
	if (close(fd) != 0 && rc >= 0)
		rc = -errno;
	return rc;
}

int emu_read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t used = 0;

	if (fd < 0)
		return -errno;
	while (used + 1 < size) {
		ssize_t k = read(fd, buf + used, size - 1 - used);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int e = errno;

			close(fd);
			return -e;
		}
		if (k == 0)
			break;
		used += (size_t)k;
	}
	buf[used] = '\0';
	close(fd);
	return (int)used;
}

void emu_random_base36(char *buf, size_t n)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	unsigned char r[32];
	size_t got = 0;

	if (n > sizeof(r))
		n = sizeof(r);
	while (got < n) {
		ssize_t k = getrandom(r + got, n - got, 0);

		if (k < 0) {
			/* No entropy source: fall back on the clock and pid, still unique enough
			 * since the caller checks for collisions. */
			unsigned long long x = (unsigned long long)(emu_now_s() * 1e9) ^
					       ((unsigned long long)getpid() << 32);

			for (; got < n; got++, x = x * 6364136223846793005ULL + 1)
				r[got] = (unsigned char)(x >> 56);
			break;
		}
		got += (size_t)k;
	}
	for (size_t i = 0; i < n; i++)
		buf[i] = digits[r[i] % 36];
	buf[n] = '\0';
}

bool emu_resolve4(const char *host, struct in_addr *out)
{
	struct addrinfo hints, *res = NULL;

	if (!host || !host[0]) {
		out->s_addr = htonl(INADDR_ANY);
		return true;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
		return false;
	*out = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
	freeaddrinfo(res);
	return true;
}
