/*
 * emu_fault: the emulator's fault timeline, parsed from the command line (--fault, repeatable)
 * or a file (--faults FILE), one fault per spec or line.
 *
 * Grammar (times and rates in ep_units' syntax: "10s", "250ms", "2Mbit"):
 *
 *     kill      TARGET at TIME                          the node crashes for good
 *     stall     TARGET at TIME for DURATION             SIGSTOP, then SIGCONT (an IO stall)
 *     link      END END down at TIME [for DURATION]     both directions cut (silent drops)
 *     bandwidth END END RATE at TIME [for DURATION]     both directions reshaped in place
 *     loss      TARGET PERCENT at TIME [for DURATION]   every link into and out of the node
 *     loss      END END PERCENT at TIME [for DURATION]  both directions of one pair
 *
 *     TARGET = nodeN (0 <= N < nodes, the numbering of `edgepipe plan`)
 *            | stageK (the node of stage K of the plan live when the fault fires)
 *     END    = TARGET | dispatcher
 *     PERCENT = "5%", in [0 %, 100 %)
 *
 * Without "for", a link cut, bandwidth or loss change lasts to the end of the run; with it, the
 * link gets its configured state back (the cluster's bandwidth, no loss, up). Times count from
 * the start of the workload (the first request). In a file, '#' starts a comment and blank lines
 * are skipped.
 *
 * Errors name the spec and the offending token ("fault 'kill node9 at 1s': 'node9': the
 * cluster has node0 .. node3"); a file's errors also name the file and line. Parsing changes
 * nothing on the host.
 */
#ifndef EDGEPIPE_EMU_FAULT_H
#define EDGEPIPE_EMU_FAULT_H

#include <stdbool.h>

#include "ep_error.h"

#define EMU_FAULT_TEXT_MAX 160

enum emu_fault_kind {
	EMU_FAULT_KILL = 0,
	EMU_FAULT_STALL,
	EMU_FAULT_LINK_DOWN,
	EMU_FAULT_BANDWIDTH,
	EMU_FAULT_LOSS,
	EMU_FAULT_KIND_COUNT_
};

const char *emu_fault_kind_name(enum emu_fault_kind kind); /* "kill", "stall", "link", ... */

enum emu_target_kind { EMU_TARGET_NODE = 0, EMU_TARGET_STAGE, EMU_TARGET_DISPATCHER };

struct emu_target {
	enum emu_target_kind kind;
	int index; /* node or stage number; unused for the dispatcher */
};

struct emu_fault {
	enum emu_fault_kind kind;
	struct emu_target a, b; /* b: the other end (link, bandwidth, pair loss) */
	bool pair;              /* a and b are both used */
	double at_s;            /* >= 0, from the start of the workload */
	double for_s;           /* > 0; 0 = to the end of the run (kill: always 0) */
	double value;           /* bandwidth: bit/s (> 0); loss: probability in [0, 1) */
	char text[EMU_FAULT_TEXT_MAX]; /* the spec as given (trimmed) */
};

/*
 * Parse one spec for a cluster of n_nodes nodes into *out. Errors: EP_EINVAL with a message
 * that quotes the spec and names the token.
 */
int emu_fault_parse(const char *spec, int n_nodes, struct emu_fault *out, struct ep_error *err);

/*
 * Read a timeline file and append its faults to *v (realloc'ed; *v may be NULL with *n = 0).
 * Errors: EP_ENOTFOUND (no such file), EP_EIO (unreadable), EP_EINVAL ("FILE:LINE: ..."),
 * EP_ENOMEM. On error *v and *n keep what they had before the call.
 */
int emu_fault_read_file(const char *path, int n_nodes, struct emu_fault **v, int *n,
			struct ep_error *err);

/*
 * Refuse faults that name a stage the plan does not have (stageK with K >= n_stages): they
 * would never fire. Re-plans after a failure run on fewer nodes; the first plan bounds what
 * the timeline can hit, unless a model update brings another plan (the caller then skips this
 * check and the fault, if it finds no such stage when it fires, is recorded as skipped).
 * Errors: EP_EINVAL naming the spec and the stage.
 */
int emu_fault_check_stages(const struct emu_fault *v, int n, int n_stages, struct ep_error *err);

/* Write a target as the user writes it ("node3", "stage1", "dispatcher"). Returns buf. */
const char *emu_target_str(const struct emu_target *t, char *buf, int size);

#endif
