/*
 * check: the assertion macros of edgepipe's test executables. A failed check prints where and
 * what, and is counted; a test's main returns check_exit() so any failure fails the ctest entry.
 */
#ifndef EDGEPIPE_TEST_CHECK_H
#define EDGEPIPE_TEST_CHECK_H

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

static int check_failures;

/* Run `cmd` through the shell; its output (as the command line redirects it) into out,
 * truncated to size - 1 bytes. What does not fit is read and dropped: closing the pipe early
 * would kill the command with SIGPIPE (exit 141). Returns the exit status, or -1 if the command
 * did not run or died of a signal. */
static inline int check_shell(const char *cmd, char *out, size_t size)
{
	char sink[4096];
	FILE *fp = popen(cmd, "r");
	size_t k;
	int status;

	if (!fp)
		return -1;
	k = fread(out, 1, size - 1, fp);
	out[k] = '\0';
	while (fread(sink, 1, sizeof(sink), fp) > 0)
		;
	status = pclose(fp);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define CHECK(cond)                                                                          \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			check_failures++;                                                    \
		}                                                                            \
	} while (0)

#define CHECK_INT(got, want)                                                                 \
	do {                                                                                 \
		int64_t g_ = (int64_t)(got), w_ = (int64_t)(want);                           \
		if (g_ != w_) {                                                              \
			fprintf(stderr, "%s:%d: %s = %" PRId64 ", expected %" PRId64 "\n",   \
				__FILE__, __LINE__, #got, g_, w_);                           \
			check_failures++;                                                    \
		}                                                                            \
	} while (0)

/* As CHECK_INT, naming in `what` the model or layer the values belong to (for loops). */
#define CHECK_I64(what, got, want)                                                           \
	do {                                                                                 \
		int64_t g_ = (int64_t)(got), w_ = (int64_t)(want);                           \
		if (g_ != w_) {                                                              \
			fprintf(stderr, "%s:%d: %s: %s = %" PRId64 ", expected %" PRId64 "\n", \
				__FILE__, __LINE__, (what), #got, g_, w_);                   \
			check_failures++;                                                    \
		}                                                                            \
	} while (0)

/* |got - want| <= tol * max(1, |want|) */
#define CHECK_NEAR(got, want, tol)                                                           \
	do {                                                                                 \
		double g_ = (double)(got), w_ = (double)(want);                              \
		if (!(fabs(g_ - w_) <= (tol) * fmax(1.0, fabs(w_)))) {                       \
			fprintf(stderr, "%s:%d: %s = %.17g, expected %.17g\n", __FILE__,     \
				__LINE__, #got, g_, w_);                                     \
			check_failures++;                                                    \
		}                                                                            \
	} while (0)

#define CHECK_STR(got, want)                                                                 \
	do {                                                                                 \
		const char *g_ = (got), *w_ = (want);                                        \
		if (!g_ || strcmp(g_, w_) != 0) {                                            \
			fprintf(stderr, "%s:%d: %s = \"%s\", expected \"%s\"\n", __FILE__,    \
				__LINE__, #got, g_ ? g_ : "(null)", w_);                     \
			check_failures++;                                                    \
		}                                                                            \
	} while (0)

/* The message contains `part`. */
#define CHECK_CONTAINS(msg, part)                                                            \
	do {                                                                                 \
		const char *m_ = (msg), *p_ = (part);                                        \
		if (!m_ || !strstr(m_, p_)) {                                                \
			fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__,  \
				__LINE__, m_ ? m_ : "(null)", p_);                           \
			check_failures++;                                                    \
		}                                                                            \
	} while (0)

static inline int check_exit(void)
{
	if (check_failures)
		fprintf(stderr, "%d check(s) failed\n", check_failures);
	return check_failures ? 1 : 0;
}

#endif
