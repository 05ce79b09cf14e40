/*
 * The shard of a sweep from --shard and from schedulers' environments (experiments/sweep_shard.h).
 * Each expected shard follows from the rules in that header: Slurm arrays of the forms users
 * submit (0-15, 1-16, 0-30:2, a sparse list with and without a count), Kubernetes Indexed Jobs,
 * GNU parallel, the flag winning, and every conflict or malformed value refused.
 */
#include <string.h>

#include "check.h"
#include "sweep_shard.h"

/* An environment: a NULL-terminated list of "NAME=value" strings. */
struct env {
	const char *const *vars;
};

static const char *table_get(void *ctx, const char *name)
{
	const struct env *env = ctx;
	size_t n = strlen(name);

	for (const char *const *e = env->vars; *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

/* Resolve and check index, count and source; -1 for index means "expect EP_EINVAL". */
static void expect(int line, const char *flag, int count_flag, const char *const *env,
		   int index, int count, enum sweep_shard_source source)
{
	struct sweep_shard s;
	struct ep_error err;
	struct env e = { env };
	int rc = sweep_shard_resolve(flag, count_flag, table_get, &e, &s, &err);

	if (index < 0) {
		if (rc != EP_EINVAL || !err.msg[0]) {
			fprintf(stderr, "line %d: expected EP_EINVAL with a message, got %d\n", line,
				rc);
			check_failures++;
		}
		return;
	}
	if (rc || s.index != index || s.count != count || s.source != source) {
		fprintf(stderr, "line %d: got rc %d shard %d/%d (%s), expected %d/%d (%s): %s\n",
			line, rc, s.index, s.count, sweep_shard_source_name(s.source), index, count,
			sweep_shard_source_name(source), rc ? err.msg : s.detail);
		check_failures++;
	}
}

#define E(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NONE ((const char *const[]){ NULL })

int main(void)
{
	/* Nothing: the whole grid. */
	expect(__LINE__, NULL, 0, NONE, 0, 1, SWEEP_SHARD_WHOLE);
	expect(__LINE__, "2/5", 0, NONE, 2, 5, SWEEP_SHARD_FLAG);

	/* Slurm --array=0-15: ids 0..15, shard = id. */
	expect(__LINE__, NULL, 0,
	       E("SLURM_ARRAY_TASK_ID=7", "SLURM_ARRAY_TASK_MIN=0", "SLURM_ARRAY_TASK_MAX=15",
		 "SLURM_ARRAY_TASK_STEP=1", "SLURM_ARRAY_TASK_COUNT=16"),
	       7, 16, SWEEP_SHARD_SLURM);
	/* --array=1-16: id 16 is the last shard, 15 of 16. STEP absent means 1. */
	expect(__LINE__, NULL, 0,
	       E("SLURM_ARRAY_TASK_ID=16", "SLURM_ARRAY_TASK_MIN=1", "SLURM_ARRAY_TASK_MAX=16",
		 "SLURM_ARRAY_TASK_COUNT=16"),
	       15, 16, SWEEP_SHARD_SLURM);
	/* --array=0-30:2: id 14 is (14 - 0) / 2 = shard 7 of (30 - 0) / 2 + 1 = 16. */
	expect(__LINE__, NULL, 0,
	       E("SLURM_ARRAY_TASK_ID=14", "SLURM_ARRAY_TASK_MIN=0", "SLURM_ARRAY_TASK_MAX=30",
		 "SLURM_ARRAY_TASK_STEP=2", "SLURM_ARRAY_TASK_COUNT=16"),
	       7, 16, SWEEP_SHARD_SLURM);
	/* An id off the step of the array. */
	expect(__LINE__, NULL, 0,
	       E("SLURM_ARRAY_TASK_ID=15", "SLURM_ARRAY_TASK_MIN=0", "SLURM_ARRAY_TASK_MAX=30",
		 "SLURM_ARRAY_TASK_STEP=2", "SLURM_ARRAY_TASK_COUNT=16"),
	       -1, 0, 0);
	/* The sparse resubmission --array=3,7 of a 10-shard sweep: 3 tasks over 3..7 do not fit
	 * (7 - 3) / 1 + 1 = 5, so without a count it is refused ... */
	expect(__LINE__, NULL, 0,
	       E("SLURM_ARRAY_TASK_ID=7", "SLURM_ARRAY_TASK_MIN=3", "SLURM_ARRAY_TASK_MAX=7",
		 "SLURM_ARRAY_TASK_COUNT=2"),
	       -1, 0, 0);
	/* ... and with the count (flag or environment) the id is the shard number. */
	expect(__LINE__, NULL, 10,
	       E("SLURM_ARRAY_TASK_ID=7", "SLURM_ARRAY_TASK_MIN=3", "SLURM_ARRAY_TASK_MAX=7",
		 "SLURM_ARRAY_TASK_COUNT=2"),
	       7, 10, SWEEP_SHARD_SLURM);
	expect(__LINE__, NULL, 0,
	       E("SLURM_ARRAY_TASK_ID=3", "SLURM_ARRAY_TASK_COUNT=2", "EDGEPIPE_SHARD_COUNT=10"), 3,
	       10, SWEEP_SHARD_SLURM);
	/* With a count the id must be below it. */
	expect(__LINE__, NULL, 10, E("SLURM_ARRAY_TASK_ID=10"), -1, 0, 0);
	/* Without the array's bounds and without a count. */
	expect(__LINE__, NULL, 0, E("SLURM_ARRAY_TASK_ID=1"), -1, 0, 0);
	/* Malformed values name the variable. */
	expect(__LINE__, NULL, 0,
	       E("SLURM_ARRAY_TASK_ID=x1", "SLURM_ARRAY_TASK_MIN=0", "SLURM_ARRAY_TASK_MAX=3",
		 "SLURM_ARRAY_TASK_COUNT=4"),
	       -1, 0, 0);
	expect(__LINE__, NULL, 0,
	       E("SLURM_ARRAY_TASK_ID=1", "SLURM_ARRAY_TASK_MIN=0", "SLURM_ARRAY_TASK_MAX=3",
		 "SLURM_ARRAY_TASK_COUNT=4", "SLURM_ARRAY_TASK_STEP=0"),
	       -1, 0, 0);

	/* Kubernetes Indexed Job: the index, and the count from outside. */
	expect(__LINE__, NULL, 0, E("JOB_COMPLETION_INDEX=3", "EDGEPIPE_SHARD_COUNT=4"), 3, 4,
	       SWEEP_SHARD_K8S);
	expect(__LINE__, NULL, 4, E("JOB_COMPLETION_INDEX=0"), 0, 4, SWEEP_SHARD_K8S);
	expect(__LINE__, NULL, 0, E("JOB_COMPLETION_INDEX=3"), -1, 0, 0);
	expect(__LINE__, NULL, 3, E("JOB_COMPLETION_INDEX=3"), -1, 0, 0);
	expect(__LINE__, NULL, 3, E("JOB_COMPLETION_INDEX=-1"), -1, 0, 0);

	/* GNU parallel: PARALLEL_SEQ counts from 1. */
	expect(__LINE__, NULL, 5, E("PARALLEL_SEQ=1"), 0, 5, SWEEP_SHARD_PARALLEL);
	expect(__LINE__, NULL, 5, E("PARALLEL_SEQ=5"), 4, 5, SWEEP_SHARD_PARALLEL);
	expect(__LINE__, NULL, 5, E("PARALLEL_SEQ=0"), -1, 0, 0);
	expect(__LINE__, NULL, 5, E("PARALLEL_SEQ=6"), -1, 0, 0);

	/* Conflicts: two schedulers; flag and environment counts disagreeing; a count alone. */
	expect(__LINE__, NULL, 4, E("JOB_COMPLETION_INDEX=1", "PARALLEL_SEQ=2"), -1, 0, 0);
	expect(__LINE__, NULL, 4, E("JOB_COMPLETION_INDEX=1", "EDGEPIPE_SHARD_COUNT=5"), -1, 0, 0);
	expect(__LINE__, NULL, 4, NONE, -1, 0, 0);
	/* The flag wins over the schedulers, even conflicting ones ... */
	expect(__LINE__, "1/3", 0, E("JOB_COMPLETION_INDEX=1", "PARALLEL_SEQ=2"), 1, 3,
	       SWEEP_SHARD_FLAG);
	/* ... but not over a --shard-count that contradicts it. */
	expect(__LINE__, "1/3", 4, NONE, -1, 0, 0);
	expect(__LINE__, "3/3", 0, NONE, -1, 0, 0);
	expect(__LINE__, "1/3x", 0, NONE, -1, 0, 0);
	return check_exit();
}
