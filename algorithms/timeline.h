/*
 * timeline: the one fault and update grammar of an experiment, below both back ends (sim/ and
 * emu/ read the same timeline; DESIGN.md). Specs come from the command line (--fault and the
 * older --fail, repeatable), a file (--faults FILE, one per line) or a scenario file.
 *
 * Grammar (times and rates in ep_units' syntax: "10s", "250ms", "2Mbit"):
 *
 *     kill      TARGET at TIME                          the node crashes for good
 *     stall     TARGET at TIME for DURATION             the node's processes stop (SIGSTOP),
 *                                                       then go on (SIGCONT): an IO stall
 *     link      END END down at TIME [for DURATION]     both directions cut (silent drops)
 *     link      END END up at TIME                      ends the open cut of that pair
 *     bandwidth END END RATE at TIME [for DURATION]     both directions reshaped in place
 *     loss      TARGET PERCENT at TIME [for DURATION]   every link into and out of the node
 *     loss      END END PERCENT at TIME [for DURATION]  both directions of one pair
 *     update    MODEL at TIME                           roll out another model (zoo name or
 *                                                       model file), make before break
 *     node N at TIME                                    the older spelling of 'kill nodeN at
 *                                                       TIME' (sim --fail)
 *
 *     TARGET = nodeN (0 <= N < nodes, the numbering of `edgepipe plan`)
 *            | stageK (the node of stage K of the plan live when the fault fires)
 *     END    = TARGET | dispatcher
 *     PERCENT = "5%", in [0 %, 100 %)
 *
 * Without "for", a link cut, bandwidth or loss change lasts to the end of the run (or, for a
 * cut, to its 'link ... up'); with it, the link gets its configured state back (the cluster's
 * bandwidth, no loss, up). Times count from the start of the workload (the first request). In a
 * file, '#' starts a comment and blank lines are skipped.
 *
 * What each kind does, in both back ends (the emulator does it to real processes and links,
 * the simulator models the same; sim_pipeline.h and emu_session.h give the details):
 * - kill: everything at the node is lost; heartbeats stop; the node is declared dead a
 *   heartbeat timeout after its last heartbeat; the plan is re-planned without it.
 * - stall: the node holds its work (its queue and the request in service wait, nothing is
 *   lost) and sends no heartbeat; a stall longer than the heartbeat timeout gets the node
 *   declared dead, as a crash would.
 * - link down: transfers over the pair stop; a stage that cannot send for a heartbeat timeout
 *   is stuck (the emulator's STUCK rule, emu_stage.h), and the plan is re-planned with the cut
 *   link priced at 1 bit/s; when every plan still crosses it, without the link's receiving
 *   node (the dispatcher's end of a link is never left out: then its other node is). A link
 *   found cut stays cut for the rest of the run, `link A B up` included: the dispatcher has
 *   no probe that would tell it the link is back. A cut on no link of the plan changes nothing.
 * - bandwidth: transfers that start after the change take the new rate.
 * - loss: what TCP makes of random loss p: throughput at most about MSS / (RTT sqrt(2p/3))
 *   (Mathis et al., 1997: an approximation for p well below 1) plus retransmission delays; no
 *   request is lost (TCP retransmits).
 * - update: the model changes; the new plan goes live when its weights have arrived.
 *
 * Errors name the spec and the offending token ("fault 'kill node9 at 1s': 'node9': the
 * cluster has node0 .. node3"); a file's errors also name the file and line. Parsing changes
 * nothing on the host.
 */
#ifndef EDGEPIPE_TIMELINE_H
#define EDGEPIPE_TIMELINE_H

#include <stdbool.h>

#include "ep_error.h"

#define TIMELINE_TEXT_MAX 160

enum timeline_kind {
	TIMELINE_KILL = 0,
	TIMELINE_STALL,
	TIMELINE_LINK_DOWN,
	TIMELINE_BANDWIDTH,
	TIMELINE_LOSS,
	TIMELINE_LINK_UP, /* folded into the cut before it by timeline_resolve */
	TIMELINE_UPDATE,  /* taken out by timeline_resolve: the back ends get updates apart */
	TIMELINE_KIND_COUNT_
};

const char *timeline_kind_name(enum timeline_kind kind); /* "kill", "stall", "link", ...,
							   "link-up", "update" */

enum timeline_target_kind { TIMELINE_NODE = 0, TIMELINE_STAGE, TIMELINE_DISPATCHER };

struct timeline_target {
	enum timeline_target_kind kind;
	int index; /* node or stage number; unused for the dispatcher */
};

struct timeline_fault {
	enum timeline_kind kind;
	struct timeline_target a, b; /* b: the other end (link, bandwidth, pair loss) */
	bool pair;              /* a and b are both used */
	double at_s;            /* >= 0, from the start of the workload */
	double for_s;           /* > 0; 0 = to the end of the run (kill: always 0) */
	double value;           /* bandwidth: bit/s (> 0); loss: probability in [0, 1) */
	char text[TIMELINE_TEXT_MAX]; /* the spec as given (trimmed) */
	char model[TIMELINE_TEXT_MAX]; /* update: the model's zoo name or file */
	/* Where the spec was written, e.g. a scenario's "FILE:LINE: KEY" (the caller sets it
	 * after timeline_fault_parse and owns the string, which must outlive the fault); NULL:
	 * on the command line. timeline_resolve and timeline_check_stages begin their messages
	 * with it. */
	const char *where;
};

/*
 * Parse one spec for a cluster of n_nodes nodes into *out. Errors: EP_EINVAL with a message
 * that quotes the spec and names the token.
 */
int timeline_fault_parse(const char *spec, int n_nodes, struct timeline_fault *out, struct ep_error *err);

/*
 * Make a timeline of specs fit for a back end: fold each 'link A B up at T' into the latest
 * cut of the same pair before T that has no end yet (its for_s becomes T - its at_s), and move
 * the updates out, in order, to upd[0 .. *n_upd) (at most max_upd; upd may be NULL when
 * max_upd is 0). *n shrinks to the faults left (kill, stall, link down, bandwidth, loss), in
 * their order. Errors: EP_EINVAL naming the spec: an 'up' with no open cut of its pair
 * before it, more than max_upd updates.
 * Complexity: O(n^2).
 */
int timeline_resolve(struct timeline_fault *v, int *n, struct timeline_fault *upd, int max_upd,
		     int *n_upd, struct ep_error *err);

/*
 * Read a timeline file and append its faults to *v (realloc'ed; *v may be NULL with *n = 0).
 * Errors: EP_ENOTFOUND (no such file), EP_EIO (unreadable), EP_EINVAL ("FILE:LINE: ..."),
 * EP_ENOMEM. On error *v and *n keep what they had before the call.
 */
int timeline_read_file(const char *path, int n_nodes, struct timeline_fault **v, int *n,
			struct ep_error *err);

/*
 * Refuse faults that name a stage the plan does not have (stageK with K >= n_stages): they
 * would never fire. Re-plans after a failure run on fewer nodes; the first plan bounds what
 * the timeline can hit, unless a model update brings another plan (the caller then skips this
 * check and the fault, if it finds no such stage when it fires, is recorded as skipped).
 * Errors: EP_EINVAL naming the spec and the stage.
 */
int timeline_check_stages(const struct timeline_fault *v, int n, int n_stages, struct ep_error *err);

/* Write a target as the user writes it ("node3", "stage1", "dispatcher"). Returns buf. */
const char *timeline_target_str(const struct timeline_target *t, char *buf, int size);

#endif
