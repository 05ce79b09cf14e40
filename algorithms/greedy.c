/*
 * greedy: the SEIFER notebooks' "joint optimization" baseline (shared/reference/seifer-2022.md,
 * "Baselines as published"). Cut with the partition DP (either variant), then place the K
 * pieces by a greedy walk: from every start node, go K - 1 times to the unvisited node with the
 * largest bandwidth from the current one; keep the start whose plan costs least under the
 * problem's cost function (plan_cost; the first such start among equals).
 *
 * The corrected DP cuts for the smallest node, so any node holds any piece; the published one
 * cuts for node 0, as the published work assumes equal capacities.
 *
 * Complexity: that of partition_dp, plus O(N^2 K) for the walks (N starts, K - 1 steps of O(N))
 * and O(N K) for costing them.
 */
#include <math.h>
#include <stdlib.h>

#include "algo_internal.h"
#include "partition.h"

static int greedy_solve(const struct problem *p, const struct algo_options *o, gsl_rng *rng,
			struct plan *out, struct ep_error *err)
{
	const struct cluster *c = p->cluster;
	int n = c->n, k, rc, best_start = -1;
	int *walk = NULL, *best = NULL;
	bool *visited = NULL;
	double best_s = INFINITY;
	struct plan trial;

	plan_init(&trial);
	rc = partition_dp(p, o->variant, 0, o->memo, out, err);
	if (rc)
		return rc;
	k = out->n_stages;
	if (k > n) /* the DP keeps K <= N; this guards the walk */
		return ep_error_set(err, EP_EINFEASIBLE, "%d pieces for %d nodes", k, n);
	walk = malloc((size_t)k * sizeof(int));
	best = malloc((size_t)k * sizeof(int));
	visited = malloc((size_t)n * sizeof(bool));
	if (!walk || !best || !visited || plan_copy(&trial, out)) {
		rc = ep_error_set(err, EP_ENOMEM, "out of memory for the greedy walk");
		goto out;
	}
	for (int start = 0; start < n; start++) {
		struct plan_cost cost;

		for (int v = 0; v < n; v++)
			visited[v] = false;
		walk[0] = start;
		visited[start] = true;
		for (int s = 1; s < k; s++) {
			int from = walk[s - 1], to = -1;

			for (int v = 0; v < n; v++)
				if (!visited[v] &&
				    (to < 0 || cluster_bw(c, from, v) > cluster_bw(c, from, to)))
					to = v;
			walk[s] = to;
			visited[to] = true;
		}
		for (int s = 0; s < k; s++)
			trial.stages[s].node = walk[s];
		plan_cost(p, &trial, &cost, NULL, NULL);
		if (best_start < 0 || cost.bottleneck_s < best_s) {
			best_start = start;
			best_s = cost.bottleneck_s;
			for (int s = 0; s < k; s++)
				best[s] = walk[s];
		}
	}
	for (int s = 0; s < k; s++)
		out->stages[s].node = best[s];
out:
	plan_release(&trial);
	free(walk);
	free(best);
	free(visited);
	return rc;
}

const struct algo algo_greedy = {
	.name = "greedy",
	.summary = "SEIFER's DP partition, then the best greedy highest-bandwidth walk",
	.solve = greedy_solve,
};
