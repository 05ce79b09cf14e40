/*
 * emu_internal: helpers shared by the emulator's modules (not part of the public API).
 *
 * Namespaces are entered per thread (setns), and every helper that enters one returns to the
 * namespace it started in before it returns, whatever happens in between.
 */
#ifndef EDGEPIPE_EMU_INTERNAL_H
#define EDGEPIPE_EMU_INTERNAL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ep_error.h"

struct nl_sock;

/* CLOCK_MONOTONIC in seconds. */
double emu_now_s(void);

/* `host`'s IPv4 address (a name through getaddrinfo, or a dotted quad); "" or NULL is
 * INADDR_ANY. false if it does not resolve. For the real-host transport (stage, dispatch). */
bool emu_resolve4(const char *host, struct in_addr *out);

/* EMU_NETNS_DIR "/" name into buf; false if it does not fit. */
bool emu_netns_path(const char *name, char *buf, size_t size);

/* Open a named namespace (O_RDONLY | O_CLOEXEC); -errno on failure. */
int emu_netns_open(const char *name);

/* True if `path` is a namespace file (nsfs), i.e. a live bind mount of a namespace. */
bool emu_is_nsfs(const char *path);

/*
 * A netlink route socket that lives in the namespace `nsfd` (-1: the caller's). The calling
 * thread enters the namespace only for the socket's creation. `what` names the namespace in
 * error messages. Errors: EP_EIO, EP_ENOMEM.
 */
int emu_nl_open(int nsfd, const char *what, struct nl_sock **out, struct ep_error *err);
void emu_nl_close(struct nl_sock *sk); /* accepts NULL */

/* libnl's message for a (negative or positive) libnl error code. */
const char *emu_nl_strerror(int nlerr);

/*
 * Run argv (argv[0] looked up in PATH, then /usr/sbin and /sbin) inside the named namespace
 * (NULL: the caller's) and wait for it. Its stdout and stderr are captured into out (may be
 * NULL; truncated, always terminated). *status is the wait status. Errors: EP_EIO (fork or
 * pipe failed; a command that runs and fails is not an error: look at *status).
 */
int emu_run(const char *ns, char *const argv[], char *out, size_t out_size, int *status,
	    struct ep_error *err);

/* The start time of a process (field 22 of /proc/<pid>/stat); false if it does not exist or
 * no longer runs (a zombie waiting to be reaped). */
bool emu_proc_starttime(pid_t pid, unsigned long long *out);

/* Write / read a small file in one call; -errno on failure, else bytes. */
int emu_write_file(const char *path, const char *text);
int emu_read_file(const char *path, char *buf, size_t size);

/* Fill buf with `n` random base-36 characters (lowercase) and a terminating NUL. */
void emu_random_base36(char *buf, size_t n);

/* Copy src into dst[size], truncating, always terminated. Returns false if truncated. */
bool emu_copy(char *dst, size_t size, const char *src);

/* Sleep for `s` seconds (restarting on EINTR). */
void emu_sleep_s(double s);

/*
 * Traffic control through libnl (emu_tc.c). Each *_msg function builds one request into *out
 * (the caller sends it: nl_send_sync, or an emu_nl_batch) and returns 0 or a negative libnl
 * code; callers turn codes into an ep_error naming what they were shaping. `ifindex` is in the
 * namespace of the socket the request goes to.
 */
struct in_addr;
struct nl_msg;

/* HTB root qdisc 1: (unclassified traffic goes unshaped, as HTB's "direct" traffic). */
int emu_tc_htb_root_msg(int ifindex, struct nl_msg **out);
/* HTB class 1:minor with rate = ceil = bytes_per_s, burst and quantum from the rate (see
 * emu_tc_burst_bytes); `create` false changes an existing class in place. */
int emu_tc_htb_class_msg(int ifindex, unsigned minor, double bytes_per_s, bool create,
			 struct nl_msg **out);
/* u32 filter (prio 1) sending IPv4 packets for `dst` to class 1:minor. */
int emu_tc_u32_dst_msg(int ifindex, const struct in_addr *dst, unsigned minor,
		       struct nl_msg **out);
/* netem as the leaf of class 1:minor (handle minor+1:), with delay and loss (0..1);
 * `create` false changes it in place. */
int emu_tc_netem_leaf_msg(int ifindex, unsigned minor, double delay_s, double loss,
			  double bytes_per_s, bool create, struct nl_msg **out);
/* TBF root qdisc (used by capability detection only). */
int emu_tc_tbf_root_msg(int ifindex, double bytes_per_s, struct nl_msg **out);
/* netem root qdisc (used by capability detection only). */
int emu_tc_netem_root_msg(int ifindex, double delay_s, struct nl_msg **out);

/* Send a built request and wait for its acknowledgement; frees msg. */
int emu_nl_send(struct nl_sock *sk, struct nl_msg *msg);

/*
 * Pipelined requests on one socket: up to EMU_NL_WINDOW requests in flight, their
 * acknowledgements collected as they come (the kernel answers in order). Bring-up sends
 * thousands of classes and filters; waiting for each answer in turn doubles the time.
 * The first failure is kept with the caller's tag for the request.
 */
#define EMU_NL_WINDOW 64

struct emu_nl_batch {
	struct nl_sock *sk;
	unsigned seq[EMU_NL_WINDOW];
	int tag[EMU_NL_WINDOW];
	int head, count;
	int err, err_tag; /* first failure (negative libnl code) and its tag */
};

void emu_nl_batch_init(struct emu_nl_batch *b, struct nl_sock *sk);
/* Send msg (freed here, also on failure) tagged `tag`. Returns 0 or the first failure so far. */
int emu_nl_batch_add(struct emu_nl_batch *b, struct nl_msg *msg, int tag);
/* Wait for every answer. Returns 0 or the first failure; *tag (may be NULL) gets its tag. */
int emu_nl_batch_finish(struct emu_nl_batch *b, int *tag);

/* The HTB burst and quantum the emulator uses for a rate, in bytes. */
unsigned emu_tc_burst_bytes(double bytes_per_s);
unsigned emu_tc_quantum_bytes(double bytes_per_s);

#endif
