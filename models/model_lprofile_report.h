/*
 * model_lprofile_report: what 'edgepipe profile' prints of a measured layer profile
 * (model_lprofile.h): a table per layer (op, kernel, FLOPs, median and spread of its time, the
 * achieved GFLOP/s) and a summary per layer kind (op): layers, FLOPs, time, share of the sum of
 * the layer medians, and GFLOP/s over the layers of the kind that took time.
 */
#ifndef EDGEPIPE_MODEL_LPROFILE_REPORT_H
#define EDGEPIPE_MODEL_LPROFILE_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "ep_error.h"
#include "model_lprofile.h"
#include "model_report.h"

/*
 * Write the report of `lp` to `f`: text (a summary line, the layer table, the kind table, the
 * sum of the layer medians beside `whole_median_s`, the median of a whole run), CSV (one row
 * per layer, or with `by_kind` one per layer kind) or one JSON object (the profile's header,
 * whole_run_median_s, "layers" and "kinds"). EP_OK, EP_ENOMEM, EP_EIO (a failed write).
 * Complexity: O(layers x kinds).
 */
int model_lprofile_report_write(FILE *f, enum model_report_format fmt,
				const struct model_lprofile *lp, double whole_median_s,
				bool by_kind, struct ep_error *err);

#endif
