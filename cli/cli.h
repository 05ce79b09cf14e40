/*
 * cli: the edgepipe command line. Each subcommand is one function with the signature below,
 * listed in main.c's table. Exit status: 0 success, 1 failure, 2 bad input (usage, values,
 * files), as cli_exit_code maps library codes.
 */
#ifndef EDGEPIPE_CLI_H
#define EDGEPIPE_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "algo.h"
#include "ep_error.h"
#include "ep_util.h"
#include "instance.h"
#include "power.h"
#include "timeline.h"
#include "trial.h"
#include "workload.h"

enum cli_format { CLI_TEXT = 0, CLI_CSV, CLI_JSON };

/* Exit status for a library code: EP_EINVAL and EP_ENOTFOUND are the user's input (2). */
int cli_exit_code(int code);

/* Print "edgepipe: <msg>" to stderr and return `status`. */
int cli_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* As cli_fail, returning -1: an option parser's "bad value, said" (cli_instance_opts_parse). */
int cli_opt_bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parse --format's value; false (with a message printed) if unknown. */
bool cli_parse_format(const char *s, enum cli_format *out);

/* The command line as run ("edgepipe" and the arguments from the subcommand's name, those with
 * blanks or quotes in single quotes), cut to fit buf: what a database records. */
void cli_command_line(char *buf, size_t size, int argc, char **argv);

/* Parse an integer option value in [min, max]; on failure print "OPT 'S': ..." and return
 * false. */
bool cli_parse_int(const char *opt, const char *s, long min, long max, long *out);
bool cli_parse_u64(const char *opt, const char *s, unsigned long long *out);
/* A number in [min, max]. */
bool cli_parse_double(const char *opt, const char *s, double min, double max, double *out);
/*
 * The value grammars live in the libraries that own them (cluster_mem_list_parse,
 * workload_arrival_parse, problem_codec_parse, ep_parse_duration_in...), whose messages name
 * the option: cli_parsed gives such a parser's code in the option parsers' convention, 1 for
 * EP_OK, else -1 with the message printed (cli_fail).
 */
int cli_parsed(int rc, const struct ep_error *err);
/* A duration option's value in [min_s, max_s] (ep_parse_duration_in); false with the message
 * printed. */
bool cli_parse_time(const char *opt, const char *s, double min_s, double max_s, double *out);

/*
 * The options that describe an instance and the algorithm that plans it, shared by the
 * commands that build one (plan, sim, emu; cli/instance_opts.c). A command puts
 * CLI_INSTANCE_OPTIONS in its getopt_long table, numbers its own options from
 * CLI_O_INSTANCE_END, adds the algorithms' options with cli_options_with_algos, passes every
 * option to cli_instance_opts_parse, and calls cli_instance_opts_finish after the loop. Its
 * --help text (cli_usage_write) includes CLI_INSTANCE_USAGE, cli_usage_algorithms (--algo,
 * --variant and every algorithm with its options, from the registry) and CLI_METRIC_USAGE.
 */
#define CLI_INSTANCE_MAX_MEM 4096

struct cli_instance_opts {
	struct instance_spec spec;
	struct algo_options algo;
	const char *algo_name;  /* default "seifer" */
	const char *accounting, *cuts, *metric; /* applied by finish, over the variant's */
	bool parallel;          /* --parallel: the problem's shared_nodes, set by finish */
	bool have_mem, have_nodes, have_speed, have_speed_factor;
	bool real_compute;      /* emu --compute real: --speed-factor is a CPU share, no profile needed */
	double mem_list[CLI_INSTANCE_MAX_MEM]; /* --mem's values (spec.cluster points here) */
	double speed_factors[CLI_INSTANCE_MAX_MEM]; /* --speed-factor's values */
	/* --codec-profile: applied to spec.problem.codec by finish (after the metric) */
	struct problem_codec codec;
	/* --device: the modelled power of every node (algorithms/power.h); the one parser of it
	 * for plan, sim and emu */
	bool have_power;
	struct power_model power;
};

enum {
	CLI_O_MODEL = 256, CLI_O_NODES, CLI_O_MEM, CLI_O_CLUSTER, CLI_O_CLUSTER_FILE,
	CLI_O_BW_RANGE, CLI_O_LINK_CLASSES, CLI_O_LATENCY, CLI_O_SPEED, CLI_O_SEED, CLI_O_TRIAL,
	CLI_O_ALGO, CLI_O_VARIANT, CLI_O_ACCOUNTING, CLI_O_CUTS, CLI_O_DTYPE, CLI_O_COMPRESSION,
	CLI_O_METRIC, CLI_O_COMPUTE, CLI_O_SPEED_FACTOR, CLI_O_PARALLEL, CLI_O_CODEC_PROFILE,
	CLI_O_DEVICE, CLI_O_DISPATCHER_BW, CLI_O_INSTANCE_END,
};

/*
 * The algorithms' options (algo.h), from the registry: option i of algo_option_list has the
 * getopt code CLI_O_ALGO_OPTION + i, above any command's own codes.
 */
#define CLI_O_ALGO_OPTION 0x4000
#define CLI_MAX_ALGO_OPTIONS 256

/*
 * A getopt_long table: `own` (ended by a zero entry) followed by every algorithm option whose
 * name is not among them. NULL when out of memory; free() it.
 */
struct option *cli_options_with_algos(const struct option *own);
/* Take getopt code `opt` into `o` if it is an algorithm option: 1, or -1 if the value is bad
 * (the message, naming it, printed), or 0 if `opt` is not one (cli_instance_opts_parse calls it). */
int cli_algo_option_parse(struct algo_options *o, int opt, const char *arg);

/* The widest line of a --help text (ep_help_write lays every help out to it). */
#define CLI_HELP_WIDTH 80

/*
 * --help in parts, laid out to CLI_HELP_WIDTH columns: write each of `parts` (ended by NULL); the part cli_usage_algorithms (this
 * very pointer) stands for the algorithm options generated from the registry: "--algo
 * `algo_arg`" (e.g. "NAME" or "NAME|all"), --variant, then each algorithm with its summary and
 * options, `default_algo` marked.
 */
extern const char cli_usage_algorithms[];
void cli_usage_write(FILE *f, const char *const *parts, const char *algo_arg,
		     const char *default_algo);

/* The algorithm `name` (NULL, with "--algo 'x': unknown algorithm (random, ...)" printed, if
 * none; the list ends with ", or all" when `all` is accepted). */
const struct algo *cli_algo_find(const char *name, bool all);

/*
 * --scenario FILE (cli/scenario_opts.c; the format in experiments/scenario.h): an experiment's
 * options in a YAML file, one key per long option (`nodes: 4`, `fault: [...]` for a repeated
 * option). plan, sim, emu and compare put CLI_SCENARIO_OPTION in their getopt_long table and
 * CLI_SCENARIO_USAGE in their help, and call cli_scenario_expand after building the table and
 * before getopt_long.
 */
#define CLI_O_SCENARIO (CLI_O_ALGO_OPTION - 1)
#define CLI_SCENARIO_OPTION { "scenario", required_argument, NULL, CLI_O_SCENARIO }
#define CLI_SCENARIO_USAGE                                                                     \
	"scenario:\n"                                                                          \
	"  --scenario FILE            the experiment as a YAML file: 'OPTION: VALUE' per line,\n" \
	"                             the long options' names (nodes: 4, fault: [...] repeats\n" \
	"                             --fault); flags given too override it; keys of other\n"   \
	"                             commands of plan, sim, emu and compare are ignored;\n"    \
	"                             the file is recorded whole in the output and --db\n"     \
	"                             (README: Scenarios)\n"

/*
 * If argv (getopt_long's, argv[0] the command) holds --scenario FILE, read FILE and replace
 * *argc and *argv by argv[0], one "--KEY=VALUE" per value of every key that `opts` (the
 * command's table) takes, in the file's order, then argv[1..] unchanged: a flag comes after
 * and overrides. A key that another of plan, sim, emu and compare takes is left out; an unknown
 * key, a list for an option that does not repeat, a bad switch value or a malformed file: the
 * message "FILE:LINE: KEY: ..." printed and 2 returned. 0 otherwise (*argv untouched without
 * --scenario). The new vector lives until exit. `cmd` names the command in messages.
 */
int cli_scenario_expand(const char *cmd, const struct option *opts, int *argc, char ***argv);
/* "FILE:LINE: KEY" when getopt_long's last option came from the scenario (cli_fail prefixes
 * its messages with it), else NULL. */
const char *cli_scenario_where(void);
/* The scenario's whole text and path as given, or NULL when none was read. */
const char *cli_scenario_text(void);
const char *cli_scenario_path(void);

#define CLI_INSTANCE_OPTIONS                                                                   \
	{ "model", required_argument, NULL, CLI_O_MODEL },                                     \
	{ "nodes", required_argument, NULL, CLI_O_NODES },                                     \
	{ "mem", required_argument, NULL, CLI_O_MEM },                                         \
	{ "cluster", required_argument, NULL, CLI_O_CLUSTER },                                 \
	{ "cluster-file", required_argument, NULL, CLI_O_CLUSTER_FILE },                       \
	{ "dispatcher-bw", required_argument, NULL, CLI_O_DISPATCHER_BW },                     \
	{ "bw-range", required_argument, NULL, CLI_O_BW_RANGE },                               \
	{ "link-classes", required_argument, NULL, CLI_O_LINK_CLASSES },                       \
	{ "latency", required_argument, NULL, CLI_O_LATENCY },                                 \
	{ "speed", required_argument, NULL, CLI_O_SPEED },                                     \
	{ "seed", required_argument, NULL, CLI_O_SEED },                                       \
	{ "trial", required_argument, NULL, CLI_O_TRIAL },                                     \
	{ "algo", required_argument, NULL, CLI_O_ALGO },                                       \
	{ "variant", required_argument, NULL, CLI_O_VARIANT },                                 \
	{ "accounting", required_argument, NULL, CLI_O_ACCOUNTING },                           \
	{ "cuts", required_argument, NULL, CLI_O_CUTS },                                       \
	{ "dtype", required_argument, NULL, CLI_O_DTYPE },                                     \
	{ "compression", required_argument, NULL, CLI_O_COMPRESSION },                         \
	{ "metric", required_argument, NULL, CLI_O_METRIC },                                   \
	{ "parallel", no_argument, NULL, CLI_O_PARALLEL },                                     \
	{ "codec-profile", required_argument, NULL, CLI_O_CODEC_PROFILE },                     \
	{ "device", required_argument, NULL, CLI_O_DEVICE }

/*
 * The compute source (problem.h): plan, sim and sweep put these in their tables beside
 * CLI_INSTANCE_OPTIONS (emu has its own --compute) and CLI_COMPUTE_USAGE in their help.
 * cli_instance_opts_parse returns 0 for `--compute on|off`, which only sim takes.
 */
#define CLI_COMPUTE_OPTIONS                                                                    \
	{ "compute", required_argument, NULL, CLI_O_COMPUTE },                                 \
	{ "speed-factor", required_argument, NULL, CLI_O_SPEED_FACTOR }

#define CLI_COMPUTE_USAGE                                                                      \
	"compute source:\n"                                                                     \
	"  --compute flops|profile:FILE  a stage's compute time is its FLOPs / --speed (default,\n" \
	"                             the published assumption), or the sum of its layers' measured\n" \
	"                             times in FILE ('edgepipe profile') / the node's speed factor\n" \
	"  --speed-factor F[,F...]    with a profile: node speed as a factor of the profiling host,\n" \
	"                             one for every node or one per node (default 1)\n"

#define CLI_INSTANCE_USAGE                                                                     \
	"instance:\n"                                                                          \
	"  --model NAME|FILE          zoo model ('edgepipe models') or model file\n"           \
	"  --nodes N                  number of nodes (default 10; from the file with --cluster file)\n" \
	"  --mem SIZE[,SIZE...]       node memory, e.g. 64MiB; a list is used node by node in turn\n" \
	"  --cluster KIND             geometric (default, the published model), uniform, classes,\n" \
	"                             file\n"                                                  \
	"  --cluster-file CSV         with --cluster file: N x N bandwidths in Mbit/s\n"       \
	"  --dispatcher-bw RATE       with --cluster file: the dispatcher's links (default: the\n" \
	"                             mean of the file's)\n"                                  \
	"  --bw-range MIN:MAX         uniform and classes: bandwidth range (default 1Mbit:100Mbit)\n" \
	"  --link-classes C           classes: number of bandwidth levels (default 4)\n"       \
	"  --latency DURATION         every link's latency (default 0)\n"                      \
	"  --speed FLOPS              every node's speed, e.g. 5GFLOPS (default 0: compute not\n" \
	"                             modelled)\n"                                             \
	"  --seed S                   run seed (default 1); the cluster depends on (seed, trial, N)\n" \
	"  --trial T                  trial number (default 0)\n"

/* The wire codec and the device power model (plan, sim, emu): its own part of the help, as
 * the help texts are printed in parts of at most 4095 characters. */
#define CLI_CODEC_DEVICE_USAGE                                                                 \
	"wire codec and modelled energy:\n"                                                    \
	"  --codec-profile SPEC:RATIO:ENC_MBPS:DEC_MBPS\n"                                     \
	"                             the wire codec the plan is costed with (names as emu\n"   \
	"                             --compress: lz4, zstd:3, zfp, zfp+lz4...): every hop sends\n" \
	"                             its tensor / RATIO, and a stage also decodes its input and\n" \
	"                             encodes its output at ENC/DEC MB/s of raw bytes on the\n"   \
	"                             profiling host (/ the node's speed factor); the figures as\n" \
	"                             tests/bench_codec prints them (default: no codec)\n"      \
	"  --device PRESET|IDLE_W:MAX_W[:TX_NJ:RX_NJ]\n"                                        \
	"                             every node's power model, for the MODELLED energy: P = IDLE\n" \
	"                             + (MAX - IDLE) x CPU utilisation, plus nJ per bit sent and\n" \
	"                             received; presets: rpi4 (2.7 W idle, 6.4 W busy), none\n"

#define CLI_METRIC_USAGE                                                                       \
	"accounting and metric (override the variant's):\n"                                    \
	"  --accounting exact|published  --cuts exact|published\n"                             \
	"  --dtype default|float32|float16|int8|float64\n"                                     \
	"                             element type (default: each layer's own); the published\n" \
	"                             accounting's memory and transfers do not use it\n"       \
	"  --compression R            divide exact transfers by R >= 1\n"                      \
	"  --metric published|full|feltin  published: inter-stage hops only, and a stage must need\n" \
	"                             less than its node's memory (<); full: also compute and the\n" \
	"                             dispatcher hops, and a stage may fill its node (<=); feltin:\n" \
	"                             full without the dispatcher hops\n"                       \
	"  --parallel                 nodes may hold several stages, compute and hops add up\n"  \
	"                             (Feltin et al.'s model; not in sim and emu)\n"

/* The defaults: 10 nodes, geometric cluster, seed 1, seifer, corrected variant. */
void cli_instance_opts_init(struct cli_instance_opts *o);
/*
 * Take option `opt` (a getopt_long code) with argument `arg`: 1 if it was an instance option
 * and its value is good, 0 if `opt` is not an instance option, -1 if the value is bad (the
 * message, naming the value, has been printed).
 */
int cli_instance_opts_parse(struct cli_instance_opts *o, int opt, const char *arg);
/*
 * After the options: require --model and --mem (the message names `cmd`), apply the variant's
 * settings and then --accounting, --cuts and --metric. false with a message printed on bad
 * input.
 */
bool cli_instance_opts_finish(struct cli_instance_opts *o, const char *cmd);
/*
 * --compute has one grammar in plan, sim, emu and compare (so that one scenario serves them
 * all): the planner's compute source, flops or profile:FILE (cli_instance_opts_parse takes
 * them), or how a run's stages compute: cli_compute_mode gives CLI_COMPUTE_ON for "on" or
 * "model" (FLOPs / speed, or as profiled), CLI_COMPUTE_OFF for "off" or "none",
 * CLI_COMPUTE_REAL for "real" (the layers run: emu; the simulator models it as on), -1 for
 * anything else (no message). plan ignores a mode that comes from a scenario.
 */
enum { CLI_COMPUTE_OFF = 0, CLI_COMPUTE_ON, CLI_COMPUTE_REAL };
int cli_compute_mode(const char *arg);
/* The compute options agree (finish calls it; sweep, which has no finish, too): --speed goes
 * with FLOPs, --speed-factor with a profile. false with the message printed. */
bool cli_compute_check(const struct cli_instance_opts *o);

/*
 * The options of a run, shared by the commands that run a plan (sim, emu; cli/run_opts.c): the
 * workload, the timeline (updates), failure detection and the output. A command fills
 * cli_run_limits with its back end's bounds and defaults, calls cli_run_opts_init, puts
 * CLI_RUN_OPTIONS in its getopt_long table (numbering its own options from CLI_O_RUN_END),
 * passes every option to cli_run_opts_parse, calls cli_run_opts_finish after the loop, and
 * includes CLI_RUN_WORKLOAD_USAGE, CLI_RUN_TIMELINE_USAGE and CLI_RUN_OUTPUT_USAGE in its help
 * (each back end adds lines of its own after each). The sizes that depend on the plan
 * (window, bin, retry timeout) come from algorithms/workload.h when not given.
 */
#define CLI_RUN_MAX_UPDATES 16
#define CLI_RUN_MAX_FAULTS 256

struct cli_run_limits {
	const char *cmd;           /* "sim", "emu": in messages */
	double max_time_s;         /* every duration option */
	double min_heartbeat_s, min_bin_s;
	double max_window, max_rate;
	long min_requests, max_requests;
	int64_t requests;          /* the default --requests */
	double heartbeat_period_s, heartbeat_timeout_s; /* the back end's defaults */
	int max_updates;           /* <= CLI_RUN_MAX_UPDATES */
	bool duration, db;         /* the back end takes --duration, --db */
};

struct cli_run_opts {
	struct cli_run_limits lim;
	/* workload */
	enum workload_arrival arrival;
	int window;                /* closed, with have_window */
	double rate;               /* open */
	int64_t requests, warmup;  /* warmup: with have_warmup, else a tenth of requests */
	double duration_s;         /* 0: none */
	bool have_window, have_requests, have_warmup;
	/* timeline */
	char update_spec[CLI_RUN_MAX_UPDATES][TIMELINE_TEXT_MAX]; /* as given (cut) */
	char update_model[CLI_RUN_MAX_UPDATES][1024];
	double update_at_s[CLI_RUN_MAX_UPDATES];
	int n_updates;
	const char *fault_spec[CLI_RUN_MAX_FAULTS], *fault_opt[CLI_RUN_MAX_FAULTS]; /* --fault,
							    --fail: the spec, the option */
	const char *fault_where[CLI_RUN_MAX_FAULTS]; /* a scenario's "FILE:LINE: KEY" (the
							 timeline's where), NULL for a flag */
	bool fault_fail[CLI_RUN_MAX_FAULTS]; /* given as --fail */
	int n_fault_specs;
	const char *faults_file;   /* --faults */
	/* detection and recovery */
	double heartbeat_period_s, heartbeat_timeout_s;
	double retry_timeout_s;    /* with have_retry; 0 = off (never resent on a timeout) */
	bool have_retry;
	/* output */
	enum cli_format fmt;
	const char *db_path;       /* NULL: none */
	double bin_s;              /* with have_bin */
	bool have_bin, series;
};

enum {
	CLI_O_WORKLOAD = CLI_O_INSTANCE_END, CLI_O_REQUESTS, CLI_O_DURATION, CLI_O_WARMUP,
	CLI_O_UPDATE, CLI_O_HEARTBEAT, CLI_O_HB_TIMEOUT, CLI_O_RETRY, CLI_O_FORMAT, CLI_O_DB,
	CLI_O_BIN, CLI_O_SERIES, CLI_O_FAULT, CLI_O_FAIL, CLI_O_FAULTS,
	CLI_O_RUN_END,
};

#define CLI_RUN_OPTIONS                                                                        \
	{ "workload", required_argument, NULL, CLI_O_WORKLOAD },                               \
	{ "requests", required_argument, NULL, CLI_O_REQUESTS },                               \
	{ "duration", required_argument, NULL, CLI_O_DURATION },                               \
	{ "warmup", required_argument, NULL, CLI_O_WARMUP },                                   \
	{ "update", required_argument, NULL, CLI_O_UPDATE },                                   \
	{ "heartbeat", required_argument, NULL, CLI_O_HEARTBEAT },                             \
	{ "heartbeat-timeout", required_argument, NULL, CLI_O_HB_TIMEOUT },                    \
	{ "retry-timeout", required_argument, NULL, CLI_O_RETRY },                             \
	{ "format", required_argument, NULL, CLI_O_FORMAT },                                   \
	{ "db", required_argument, NULL, CLI_O_DB },                                           \
	{ "bin", required_argument, NULL, CLI_O_BIN },                                         \
	{ "series", no_argument, NULL, CLI_O_SERIES },                                         \
	{ "fault", required_argument, NULL, CLI_O_FAULT },                                     \
	{ "fail", required_argument, NULL, CLI_O_FAIL },                                       \
	{ "faults", required_argument, NULL, CLI_O_FAULTS }

#define CLI_RUN_WORKLOAD_USAGE                                                                 \
	"workload:\n"                                                                           \
	"  --workload closed:W|poisson:RATE|constant:RATE\n"                                    \
	"                             W requests in flight, or RATE requests per second (default:\n" \
	"                             closed, the plan's window ceil(round trip / busiest server's\n" \
	"                             time) + 1, one more than a deterministic pipeline needs)\n" \
	"  --requests N               requests to issue\n"                                     \
	"  --duration DURATION        sim: issue no request after this time (--requests then\n" \
	"                             defaults to no limit)\n"                                   \
	"  --warmup N                 answers left out of the measurements (default a tenth of\n" \
	"                             --requests)\n"

#define CLI_RUN_TIMELINE_USAGE                                                                 \
	"timeline (one grammar for sim and emu: algorithms/timeline.h):\n"                    \
	"  --fault SPEC               (repeatable) one of\n"                                   \
	"                               kill TARGET at TIME         the node crashes\n"        \
	"                               stall TARGET at TIME for D  the node pauses for D\n"   \
	"                               link END END down at TIME [for D]\n"                   \
	"                               link END END up at TIME     ends an open cut\n"        \
	"                               bandwidth END END RATE at TIME [for D]\n"              \
	"                               loss TARGET|END END PERCENT at TIME [for D]\n"         \
	"                               update MODEL at TIME\n"                                \
	"                             TARGET = nodeN | stageK (the node of stage K of the live plan);\n" \
	"                             END = TARGET | dispatcher; times from the first request;\n" \
	"                             e.g. 'kill node3 at 10s', 'loss node4 5% at 40s for 10s'\n" \
	"  --fail \"node N at TIME\"    the older spelling of 'kill nodeN at TIME'\n"          \
	"  --faults FILE              more specs, one per line ('#' comments)\n"               \
	"  --update \"MODEL at TIME\"   switch to another model (zoo name or file) at TIME\n"    \
	"  --heartbeat PERIOD         nodes report every PERIOD\n"                             \
	"  --heartbeat-timeout D      a node is declared dead (a link cut) D after its last report\n" \
	"  --retry-timeout D|off      when a request is resent (below); off: never on a timeout\n"

#define CLI_RUN_OUTPUT_USAGE                                                                   \
	"output:\n"                                                                             \
	"  --format text|csv|json     (default text)\n"                                        \
	"  --db FILE                  write the run to an SQLite database (appended)\n"   \
	"  --bin DURATION             throughput series bins (default: ten times the busiest\n" \
	"                             server's time, about ten answers a bin, and at least the\n" \
	"                             expected run time / 10000)\n"                              \
	"  --series                   also print the throughput series\n"

/*
 * The option loop of the commands that run a plan (sim, emu, compare; cli/run_opts.c). The
 * command line is recorded (into command[command_size], when given), --scenario expanded,
 * and every option offered to cli_instance_opts_parse, cli_run_opts_parse and then the
 * command's `own` (as cli_instance_opts_parse: 1 taken, 0 not its option, -1 bad value, said);
 * --help (`help_opt`) prints `usage` on stdout, any other option nobody takes on stderr. After
 * the loop: no argument left, cli_instance_opts_finish, cli_run_opts_finish, then `check`
 * (the checks between the command's options, NULL for none; false with the message printed).
 * `ctx` is the command's, passed to own and check.
 */
struct cli_run_args {
	const char *cmd;	   /* "sim": messages, the scenario */
	const struct option *opts; /* the getopt_long table (cli_options_with_algos) */
	int help_opt;
	void (*usage)(FILE *f);
	struct cli_instance_opts *inst;
	struct cli_run_opts *run;
	void *ctx;
	int (*own)(void *ctx, int opt, const char *arg);
	bool (*check)(const void *ctx);
	char *command; /* NULL: not recorded */
	size_t command_size;
};

/* cli_run_args_parse's "all parsed, run the command"; otherwise it gives the exit status. */
#define CLI_GO_ON (-1)
/* CLI_GO_ON, or the exit status: 0 after --help, 2 for bad input, 1 out of memory. */
int cli_run_args_parse(const struct cli_run_args *a, int argc, char **argv);

/* Set the limits and the back end's defaults. */
void cli_run_opts_init(struct cli_run_opts *o, const struct cli_run_limits *lim);
/* As cli_instance_opts_parse: 1 taken, 0 not a run option, -1 bad value (message printed). */
int cli_run_opts_parse(struct cli_run_opts *o, int opt, const char *arg);
/* After the options: the checks between them (heartbeat timeout >= period, warm-up below the
 * requests, options the back end lacks, --db's directory writable). false with a message. */
bool cli_run_opts_finish(struct cli_run_opts *o);
/*
 * The timeline for a cluster of n_nodes: every --fault and --fail spec, then --faults FILE's,
 * parsed by the one grammar (timeline.h) and resolved (timeline_resolve); a scenario's fault
 * (and fail) list must be in time order, and its faults carry where they were written
 * (timeline_fault.where) into the back ends' checks: the faults in
 * *faults (malloc'ed, the caller frees; NULL when none), the updates appended to the --update
 * ones. 0, or the exit status with the message printed.
 */
int cli_run_opts_timeline(struct cli_run_opts *o, int n_nodes, struct timeline_fault **faults,
			  int *n_faults);
/* The warm-up: --warmup, or a tenth of the requests. */
int64_t cli_run_opts_warmup(const struct cli_run_opts *o);

/* The library's trial from the options (cli/cli_trial.c): the setup (borrowing o, inst, a)
 * and the workload with the timeline (borrowing o and faults). */
void cli_trial_setup(const struct cli_instance_opts *o, const struct instance *inst,
		     const struct algo *a, struct trial_setup *t);
void cli_run_opts_workload(const struct cli_run_opts *o, const struct timeline_fault *faults,
			   int n_faults, struct trial_workload *w);
/* SIGINT and SIGTERM make a pipe readable (and SIGPIPE is ignored): its read end, for
 * emu_config.stop_fd, or -1 when no pipe can be made. cli_stop_signal: the signal caught, 0
 * before one. */
int cli_stop_install(void);
int cli_stop_signal(void);

int cmd_models(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_region(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_model(int argc, char **argv);
int cmd_clean(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_emu(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_measure(int argc, char **argv);
int cmd_deploy(int argc, char **argv);
int cmd_stage(int argc, char **argv);
int cmd_dispatch(int argc, char **argv);

struct emu_remote;
/* edgepipe emu's option parsing and run; with `remote` (edgepipe dispatch) on real hosts;
 * with `given` (may be NULL) that plan, checked against the instance (trial_emu_plan_run:
 * exit 2). */
int cli_emu_run(int argc, char **argv, const struct emu_remote *remote,
		const struct trial_plan_given *given);

#endif
