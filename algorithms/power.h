/*
 * power: a device's modelled power and energy, from its CPU utilisation and the bits it sends
 * and receives. Nothing here measures watts: every figure this module gives is MODELLED energy,
 * and the outputs say so.
 *
 * The model (linear in utilisation, the usual first-order model of a single-board computer):
 *
 *     P(u) = P_idle + (P_max - P_idle) x u,      u in [0, 1] the CPU utilisation
 *     E    = P_idle x T + (P_max - P_idle) x busy_s + e_tx x bits_sent + e_rx x bits_received
 *
 * where busy_s = u x T is the CPU time the node's work took, in seconds of the whole device
 * (all its cores busy for 1 s is busy_s = 1). The simulator takes busy_s from the busy time of
 * the node's servers; the emulator from the node's cgroup CPU time divided by its CPU share.
 *
 * Presets, with their sources (idle and full CPU load, measured at the 5 V supply):
 *     rpi4     Raspberry Pi 4 Model B: P_idle 2.7 W, P_max 6.4 W. RasPi.TV's measurements of
 *              the Pi 4B (A. Eames, 2019): 540 mA idle and 1280 mA under `stress --cpu 4`,
 *              at 5 V; a later independent measurement (chipwired.com, 2022) found 2.7 W at
 *              baseline and 6.3 W at high load with a watt meter.
 *     none     P_idle = P_max = 0: energy from bits only, or nothing.
 * The per-bit energies of the presets are 0: no source we could check gives a Pi's network
 * energy per bit apart from its CPU's, and the CPU time of sending is already in busy_s. Give
 * them with a custom model when you have a figure for your radio or NIC.
 *
 * Custom model text: "IDLE_W:MAX_W[:TX_NJ_PER_BIT:RX_NJ_PER_BIT]", for example "2.7:6.4:5:5"
 * (nanojoules per bit). Invariants: 0 <= P_idle <= P_max, per-bit energies >= 0, all finite.
 */
#ifndef EDGEPIPE_POWER_H
#define EDGEPIPE_POWER_H

#include "ep_error.h"
#include "plan.h"
#include "problem.h"

struct power_model {
	char name[32];
	double idle_w, max_w;        /* 0 <= idle_w <= max_w */
	double tx_j_per_bit, rx_j_per_bit; /* >= 0 */
};

/*
 * A preset by name ("rpi4", "none") or a custom model text (above). Errors: EP_EINVAL (an
 * unknown preset, a malformed number, P_max < P_idle, a negative value; the message names it
 * and lists the presets).
 */
int power_model_parse(const char *text, struct power_model *out, struct ep_error *err);

/* The preset names, NULL-terminated. */
extern const char *const power_preset_names[];

/* Modelled power at utilisation u (clamped to [0, 1]), in watts. */
double power_model_watts(const struct power_model *m, double u);

/*
 * Modelled energy in joules of a device that was on for span_s seconds, of which its CPU was
 * busy busy_s (clamped to [0, span_s]), and that sent and received the given bits.
 */
double power_model_energy(const struct power_model *m, double span_s, double busy_s,
			  double bits_sent, double bits_received);

/*
 * The analytic modelled energy of `plan` (structurally sound for p) per inference, with every
 * node on `m`: the pipeline runs saturated at its bottleneck B (plan_cost), so each inference
 * takes B seconds of every node of the plan, of which its CPU is busy its stages' compute times
 * as the metric counts them (problem_compute_s: u = stage time / B), and the node sends and
 * receives the wire bits of the counted hops (the dispatcher's two only when the metric counts
 * them); so per node E = P_idle B + (P_max - P_idle) compute_s + e_tx bits_out + e_rx bits_in.
 * A saturated deterministic simulation of the plan gives the same figure (sim_pipeline.h,
 * tests/test_sim_energy.c). Nodes outside the plan are taken to be off. node_j (may be NULL;
 * [cluster n]) gets each node's joules per inference, 0 off the plan; *total_j their sum over
 * the plan's nodes (the mean power of the plan is *total_j / B). Errors: EP_EINVAL when B is 0
 * (nothing takes time: no rate to spend energy at), EP_ENOMEM.
 * Complexity: O(stages + nodes) (O(stages^2) with shared nodes, as plan_cost).
 */
int power_plan_energy(const struct power_model *m, const struct problem *p,
		      const struct plan *plan, double *node_j, double *total_j,
		      struct ep_error *err);

#endif
