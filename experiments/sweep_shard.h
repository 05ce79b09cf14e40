/*
 * sweep_shard: which slice of a sweep this process runs, from `--shard I/N` or from the
 * environment that a cluster scheduler gives each task, so that one command line serves a
 * Slurm job array, a Kubernetes Indexed Job and GNU parallel without a wrapper script.
 *
 * A shard is (index, count) with 0 <= index < count; the sweep runs the cells whose number is
 * index modulo count (sweep.h). Resolution, in this order:
 *
 * 1. `--shard I/N` wins over everything. A `--shard-count` that differs from N is an error; the
 *    scheduler's variables are ignored.
 * 2. Otherwise at most one scheduler may be present; two are an error (which one is meant is
 *    not guessable: a Slurm task running GNU parallel, say), with a message naming both:
 *    - Slurm job arrays: SLURM_ARRAY_TASK_ID. With an explicit shard count (below), the task id
 *      IS the shard number, so `--array=0-15` with a count of 16 and a later resubmission of
 *      the failed tasks alone (`--array=3,7`) name the same shards. Without a count, the array
 *      must be regular: SLURM_ARRAY_TASK_MIN, _MAX, _STEP (default 1) and _COUNT must satisfy
 *      COUNT = (MAX - MIN) / STEP + 1, and then index = (ID - MIN) / STEP, count = COUNT
 *      (`--array=1-16` and `--array=0-30:2` both give 16 shards). A sparse list such as
 *      `--array=1,4,9` does not say how many shards the sweep has: it is refused, and the
 *      message asks for the count.
 *    - Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX is the shard number; Kubernetes does not
 *      put the completions count in the environment, so the count must be given.
 *    - GNU parallel: PARALLEL_SEQ (1-based) minus 1 is the shard number; the count must be
 *      given (parallel does not export the number of jobs).
 * 3. No flag and no scheduler: the whole grid, 0/1.
 *
 * The count comes from `--shard-count N` or, where a manifest can set it more easily, the
 * environment variable EDGEPIPE_SHARD_COUNT; when both are present they must agree.
 *
 * Every value is a decimal integer with nothing around it; a malformed one is an error that
 * names the variable and its value. All errors are EP_EINVAL.
 */
#ifndef EDGEPIPE_SWEEP_SHARD_H
#define EDGEPIPE_SWEEP_SHARD_H

#include "ep_error.h"

enum sweep_shard_source {
	SWEEP_SHARD_WHOLE = 0, /* no flag, no scheduler: 0/1 */
	SWEEP_SHARD_FLAG,      /* --shard I/N */
	SWEEP_SHARD_SLURM,
	SWEEP_SHARD_K8S,
	SWEEP_SHARD_PARALLEL,
	SWEEP_SHARD_SOURCE_COUNT_
};

/* A resolved shard. `detail` says where it came from, for the run record and the log,
 * e.g. "slurm SLURM_ARRAY_TASK_ID=4". */
struct sweep_shard {
	int index, count;
	enum sweep_shard_source source;
	char detail[128];
};

/* Reads one environment variable: NULL when it is not set. `ctx` is the caller's. */
typedef const char *sweep_env_fn(void *ctx, const char *name);

/*
 * Resolve the shard. `flag` is the text of `--shard` or NULL; `count_flag` is the value of
 * `--shard-count`, or 0 when it was not given; `env` reads the environment (the CLI passes a
 * wrapper of getenv; tests pass a table). Returns EP_OK with *out filled, or EP_EINVAL with a
 * message naming the offending flag or variable.
 */
int sweep_shard_resolve(const char *flag, int count_flag, sweep_env_fn *env, void *ctx,
			struct sweep_shard *out, struct ep_error *err);

/* "whole", "flag", "slurm", "k8s", "parallel". */
const char *sweep_shard_source_name(enum sweep_shard_source source);

#endif
