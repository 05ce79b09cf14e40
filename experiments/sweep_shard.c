/*
 * The shard of a sweep from --shard or a scheduler's environment (rules in sweep_shard.h).
 */
#include "sweep_shard.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#define SHARD_COUNT_MAX 1000000

static const char *const source_names[SWEEP_SHARD_SOURCE_COUNT_] = {
	[SWEEP_SHARD_WHOLE] = "whole",
	[SWEEP_SHARD_FLAG] = "flag",
	[SWEEP_SHARD_SLURM] = "slurm",
	[SWEEP_SHARD_K8S] = "k8s",
	[SWEEP_SHARD_PARALLEL] = "parallel",
};

const char *sweep_shard_source_name(enum sweep_shard_source source)
{
	return (unsigned)source < SWEEP_SHARD_SOURCE_COUNT_ ? source_names[source] : "?";
}

/* A decimal integer in [lo, hi] and nothing else; `what` names it in the message. */
static int parse_int(const char *what, const char *s, long lo, long hi, long *out,
		     struct ep_error *err)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi || s[0] == ' ' || s[0] == '+')
		return ep_error_set(err, EP_EINVAL,
				    "%s='%s': expected an integer from %ld to %ld", what, s, lo,
				    hi);
	*out = v;
	return EP_OK;
}

/* An optional variable: EP_OK with *present false when unset. */
static int env_int(sweep_env_fn *env, void *ctx, const char *name, long lo, long hi,
		   bool *present, long *out, struct ep_error *err)
{
	const char *s = env(ctx, name);

	*present = s != NULL;
	return s ? parse_int(name, s, lo, hi, out, err) : EP_OK;
}

static int parse_flag(const char *flag, struct sweep_shard *out, struct ep_error *err)
{
	int i, n;
	char tail;

	if (sscanf(flag, "%d/%d%c", &i, &n, &tail) != 2 || n < 1 || n > SHARD_COUNT_MAX ||
	    i < 0 || i >= n)
		return ep_error_set(err, EP_EINVAL, "--shard '%s': expected I/N with 0 <= I < N",
				    flag);
	out->index = i;
	out->count = n;
	out->source = SWEEP_SHARD_FLAG;
	snprintf(out->detail, sizeof(out->detail), "flag --shard %d/%d", i, n);
	return EP_OK;
}

/* The shard count from --shard-count and EDGEPIPE_SHARD_COUNT: 0 when neither is given. */
static int explicit_count(int count_flag, sweep_env_fn *env, void *ctx, long *count,
			  struct ep_error *err)
{
	bool present;
	long v;
	int rc = env_int(env, ctx, "EDGEPIPE_SHARD_COUNT", 1, SHARD_COUNT_MAX, &present, &v, err);

	if (rc)
		return rc;
	if (present && count_flag && v != count_flag)
		return ep_error_set(err, EP_EINVAL,
				    "--shard-count %d and EDGEPIPE_SHARD_COUNT=%ld disagree",
				    count_flag, v);
	*count = count_flag ? count_flag : present ? v : 0;
	return EP_OK;
}

static int from_slurm(const char *id_text, long count, sweep_env_fn *env, void *ctx,
		      struct sweep_shard *out, struct ep_error *err)
{
	long id, min, max, step = 1, n;
	bool has_min, has_max, has_step, has_n;
	int rc = parse_int("SLURM_ARRAY_TASK_ID", id_text, 0, INT_MAX, &id, err);

	if (rc)
		return rc;
	if (count) {
		/* With a count, the task id is the shard number. */
		if (id >= count)
			return ep_error_set(err, EP_EINVAL,
					    "SLURM_ARRAY_TASK_ID=%ld is not a shard number below "
					    "the shard count %ld (with a count, array indices are "
					    "the shard numbers 0..%ld)",
					    id, count, count - 1);
		out->index = (int)id;
		out->count = (int)count;
		snprintf(out->detail, sizeof(out->detail),
			 "slurm SLURM_ARRAY_TASK_ID=%ld, count %ld", id, count);
		return EP_OK;
	}
	if ((rc = env_int(env, ctx, "SLURM_ARRAY_TASK_MIN", 0, INT_MAX, &has_min, &min, err)) ||
	    (rc = env_int(env, ctx, "SLURM_ARRAY_TASK_MAX", 0, INT_MAX, &has_max, &max, err)) ||
	    (rc = env_int(env, ctx, "SLURM_ARRAY_TASK_STEP", 1, INT_MAX, &has_step, &step, err)) ||
	    (rc = env_int(env, ctx, "SLURM_ARRAY_TASK_COUNT", 1, SHARD_COUNT_MAX, &has_n, &n, err)))
		return rc;
	if (!has_min || !has_max || !has_n)
		return ep_error_set(err, EP_EINVAL,
				    "SLURM_ARRAY_TASK_ID=%ld without SLURM_ARRAY_TASK_MIN, _MAX and "
				    "_COUNT: pass --shard-count N (the task id is then the shard "
				    "number)",
				    id);
	if (max < min || (max - min) % step || (max - min) / step + 1 != n)
		return ep_error_set(err, EP_EINVAL,
				    "the Slurm array is sparse (SLURM_ARRAY_TASK_COUNT=%ld over "
				    "indices %ld..%ld step %ld), so the number of shards is unknown: "
				    "pass --shard-count N or set EDGEPIPE_SHARD_COUNT (the task id "
				    "is then the shard number)",
				    n, min, max, step);
	if (id < min || id > max || (id - min) % step)
		return ep_error_set(err, EP_EINVAL,
				    "SLURM_ARRAY_TASK_ID=%ld is not an index of the array %ld..%ld "
				    "step %ld",
				    id, min, max, step);
	out->index = (int)((id - min) / step);
	out->count = (int)n;
	snprintf(out->detail, sizeof(out->detail),
		 "slurm SLURM_ARRAY_TASK_ID=%ld of %ld..%ld step %ld", id, min, max, step);
	return EP_OK;
}

/* Kubernetes and GNU parallel: a number that needs the count from outside. */
static int from_index(const char *var, const char *text, long base, long count,
		      struct sweep_shard *out, struct ep_error *err)
{
	long v;
	int rc = parse_int(var, text, base, INT_MAX, &v, err);

	if (rc)
		return rc;
	if (!count)
		return ep_error_set(err, EP_EINVAL,
				    "%s=%s gives this task's number but not the number of shards: "
				    "pass --shard-count N or set EDGEPIPE_SHARD_COUNT",
				    var, text);
	if (v - base >= count)
		return ep_error_set(err, EP_EINVAL, "%s=%s is past the shard count %ld", var,
				    text, count);
	out->index = (int)(v - base);
	out->count = (int)count;
	snprintf(out->detail, sizeof(out->detail), "%s %s=%s, count %ld",
		 sweep_shard_source_name(out->source), var, text, count);
	return EP_OK;
}

int sweep_shard_resolve(const char *flag, int count_flag, sweep_env_fn *env, void *ctx,
			struct sweep_shard *out, struct ep_error *err)
{
	static const struct {
		const char *var;
		enum sweep_shard_source source;
	} schedulers[] = {
		{ "SLURM_ARRAY_TASK_ID", SWEEP_SHARD_SLURM },
		{ "JOB_COMPLETION_INDEX", SWEEP_SHARD_K8S },
		{ "PARALLEL_SEQ", SWEEP_SHARD_PARALLEL },
	};
	const char *found = NULL, *text = NULL;
	long count = 0;
	int rc;

	*out = (struct sweep_shard){ .index = 0, .count = 1, .source = SWEEP_SHARD_WHOLE };
	snprintf(out->detail, sizeof(out->detail), "whole grid");
	if (count_flag < 0 || count_flag > SHARD_COUNT_MAX)
		return ep_error_set(err, EP_EINVAL, "--shard-count %d: expected 1 to %d",
				    count_flag, SHARD_COUNT_MAX);
	if (flag) {
		if ((rc = parse_flag(flag, out, err)))
			return rc;
		if (count_flag && count_flag != out->count)
			return ep_error_set(err, EP_EINVAL,
					    "--shard %s and --shard-count %d disagree", flag,
					    count_flag);
		return EP_OK;
	}
	if ((rc = explicit_count(count_flag, env, ctx, &count, err)))
		return rc;
	for (size_t i = 0; i < sizeof(schedulers) / sizeof(schedulers[0]); i++) {
		const char *v = env(ctx, schedulers[i].var);

		if (!v)
			continue;
		if (found)
			return ep_error_set(err, EP_EINVAL,
					    "both %s and %s are set: which scheduler gives the "
					    "shard is ambiguous; pass --shard I/N",
					    found, schedulers[i].var);
		found = schedulers[i].var;
		text = v;
		out->source = schedulers[i].source;
	}
	switch (out->source) {
	case SWEEP_SHARD_SLURM:
		return from_slurm(text, count, env, ctx, out, err);
	case SWEEP_SHARD_K8S:
		return from_index(found, text, 0, count, out, err);
	case SWEEP_SHARD_PARALLEL:
		return from_index(found, text, 1, count, out, err);
	default:
		if (count > 1)
			return ep_error_set(err, EP_EINVAL,
					    "a shard count of %ld was given but no shard: pass "
					    "--shard I/N or run under a scheduler",
					    count);
		return EP_OK;
	}
}
