/*
 * ep_error: the error codes every edgepipe library returns, and one message with context.
 *
 * Functions return 0 (EP_OK) or a negative EP_E* code. Where a caller passes a
 * `struct ep_error *`, the layer that detected the problem writes one sentence into it that
 * names the offending value ("model file 'x.model', line 12: unknown op 'Conv3x'"); callers
 * propagate it unchanged. A NULL `struct ep_error *` is allowed everywhere and means "code only".
 *
 * The command line maps EP_EINVAL (bad input from the user) to exit status 2 and every other
 * code to exit status 1.
 */
#ifndef EDGEPIPE_EP_ERROR_H
#define EDGEPIPE_EP_ERROR_H

#include <stddef.h>

enum {
	EP_OK = 0,
	EP_EINVAL = -1,     /* bad input: a value, a file's content, an option */
	EP_ENOMEM = -2,     /* an allocation failed */
	EP_EIO = -3,        /* a file or the system refused */
	EP_ENOTFOUND = -4,  /* a named thing (model, algorithm, file) does not exist */
	EP_EINFEASIBLE = -5, /* a well-formed problem has no solution (reason in the message) */
	EP_ELIMIT = -6,     /* the instance is larger than the method accepts without being told */
	EP_EINTERNAL = -7,  /* a third-party library failed in a way we did not expect */
};

struct ep_error {
	int code;
	char msg[512];
};

/* The short name of a code ("invalid input", ...). Never NULL. */
const char *ep_strerror(int code);

/*
 * Record `code` and a printf-style message in `err` (if not NULL) and return `code`, so that
 * `return ep_error_set(err, EP_EINVAL, "...", ...);` reads as one statement.
 */
int ep_error_set(struct ep_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Clear `err` to EP_OK with an empty message. Accepts NULL. */
void ep_error_clear(struct ep_error *err);

/*
 * Check and propagate, in the manner of igraph's IGRAPH_CHECK: evaluate `expr`, an EP_* code,
 * once; if it is not EP_OK, pass it on. The callee has already written its message into the
 * `struct ep_error` both share, so the code and the message travel unchanged to the command
 * line's exit status.
 *
 * EP_CHECK(expr): return the code from the enclosing function (for functions that own nothing
 * yet). EP_CHECK_GOTO(expr, rc, label): store the code in `rc` and jump to `label`, the
 * function's cleanup (the house style, goto-cleanup):
 *
 *	rc = ep_parse_bytes(s, &bytes, err);        EP_CHECK_GOTO(model_zoo_open(name, &g, err),
 *	if (rc)                               ==                  rc, out);
 *		goto out;
 */
#define EP_CHECK(expr)                                                                         \
	do {                                                                                   \
		int ep_check_rc_ = (expr);                                                     \
		if (ep_check_rc_ != EP_OK)                                                     \
			return ep_check_rc_;                                                   \
	} while (0)

#define EP_CHECK_GOTO(expr, rc, label)                                                         \
	do {                                                                                   \
		if (((rc) = (expr)) != EP_OK)                                                  \
			goto label;                                                            \
	} while (0)

#endif
