/*
 * compare's internals, shared by its run (compare.c), its database (compare_db.c) and its
 * writers (compare_write.c).
 */
#ifndef EDGEPIPE_COMPARE_INTERNAL_H
#define EDGEPIPE_COMPARE_INTERNAL_H

#include "compare.h"
#include "trial.h"

/* A comparison: what it ran on (borrowed), the emulator's configuration that both back ends
 * run (trial_emu_configure), the back ends' runs, the table and the series. */
struct compare {
	const struct trial_setup *t;
	const struct trial_workload *w;
	struct algo_result *res; /* the caller's, planned into by compare_run */
	const char *command;	 /* recorded by compare_db_write; NULL: none */
	struct emu_config cfg;
	struct model_graph *ug; /* the update, for the emulator (NULL without one) */
	struct model_profile *up;
	struct compare_report rep;
	struct trial_sim *ts;
	struct emu_session *es;
	double *series[COMPARE_BACKEND_COUNT_];
	struct compare_mark *marks;
	int n_marks, cap_marks;
	char faults_text[4096]; /* the timeline as written, "; "-joined */
	char title[1024];
};

#endif
