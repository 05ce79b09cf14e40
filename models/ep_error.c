#include "ep_error.h"

#include <stdarg.h>
#include <stdio.h>

const char *ep_strerror(int code)
{
	switch (code) {
	case EP_OK: return "success";
	case EP_EINVAL: return "invalid input";
	case EP_ENOMEM: return "out of memory";
	case EP_EIO: return "input/output error";
	case EP_ENOTFOUND: return "not found";
	case EP_EINFEASIBLE: return "infeasible";
	case EP_ELIMIT: return "instance too large";
	case EP_EINTERNAL: return "internal error";
	default: return "unknown error";
	}
}

int ep_error_set(struct ep_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

void ep_error_clear(struct ep_error *err)
{
	if (!err)
		return;
	err->code = EP_OK;
	err->msg[0] = '\0';
}
