/*
 * ep_units: parsing and printing the quantities users type: sizes ("64MiB"), bit rates
 * ("2Mbit", "100Mbit/s"), durations ("20s", "150ms") and speeds ("5GFLOPS"). Shared by every
 * command and the emulator's fault timeline.
 *
 * Suffixes are case-sensitive where SI and binary prefixes differ: k, M, G, T are powers of
 * 1000; Ki, Mi, Gi, Ti powers of 1024. A bare number is in the base unit (bytes, bit/s, seconds,
 * FLOP/s).
 */
#ifndef EDGEPIPE_EP_UNITS_H
#define EDGEPIPE_EP_UNITS_H

#include <stddef.h>

#include "ep_error.h"

/* "64MiB", "1.5GB", "4096", "512KiB", "2kB" -> bytes. EP_EINVAL names the text. */
int ep_parse_bytes(const char *s, double *bytes, struct ep_error *err);
/* "2Mbit", "2Mbit/s", "100kbit", "1Gbps", "5e6" -> bit/s. */
int ep_parse_bitrate(const char *s, double *bps, struct ep_error *err);
/* "20s", "150ms", "2us", "500ns", "1.5min", "3" (seconds) -> seconds. */
int ep_parse_duration(const char *s, double *seconds, struct ep_error *err);
/* "5GFLOPS", "200MFLOPS", "1e9" -> FLOP/s. */
int ep_parse_flops(const char *s, double *flops, struct ep_error *err);
/*
 * A duration option's value (ep_parse_duration) in [min_s, max_s]. EP_EINVAL naming `option`:
 * "OPTION: <the unit's message>", or "OPTION 'S': expected a time from MIN s to MAX s" (MAX
 * written without the exponent's sign and leading zeros: 1e7); *seconds is then the value read.
 */
int ep_parse_duration_in(const char *option, const char *s, double min_s, double max_s,
			 double *seconds, struct ep_error *err);

/* "64 MiB", "1.50 GiB", "512 B": a short human form with a binary prefix. */
const char *ep_format_bytes(double bytes, char *buf, size_t size);

#endif
