/*
 * The command line's options as the library's trial (experiments/trial.h): the setup from the
 * instance options, the workload and timeline from the run options; the stop pipe. Shared by
 * sim, emu and compare.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

void cli_trial_setup(const struct cli_instance_opts *o, const struct instance *inst,
		     const struct algo *a, struct trial_setup *t)
{
	*t = (struct trial_setup){
		.inst = inst,
		.spec = &o->spec,
		.algo = a,
		.algo_options = o->algo,
		.power = o->have_power ? &o->power : NULL,
		.scenario_text = cli_scenario_text(),
		.scenario_path = cli_scenario_path(),
	};
}

void cli_run_opts_workload(const struct cli_run_opts *o, const struct timeline_fault *faults,
			   int n_faults, struct trial_workload *w)
{
	trial_workload_init(w);
	w->arrival = o->arrival;
	w->window = o->arrival == WORKLOAD_CLOSED && o->have_window ? o->window : 0;
	w->rate = o->rate;
	w->requests = o->requests;
	w->warmup_requests = cli_run_opts_warmup(o);
	w->duration_s = o->duration_s;
	w->bin_s = o->have_bin ? o->bin_s : 0;
	w->heartbeat_period_s = o->heartbeat_period_s;
	w->heartbeat_timeout_s = o->heartbeat_timeout_s;
	w->retry_timeout_s = o->have_retry ? o->retry_timeout_s : -1;
	w->faults = faults;
	w->n_faults = n_faults;
	w->n_updates = o->n_updates < TRIAL_MAX_UPDATES ? o->n_updates : TRIAL_MAX_UPDATES;
	for (int i = 0; i < w->n_updates; i++) {
		w->update_model[i] = o->update_model[i];
		w->update_spec[i] = o->update_spec[i];
		w->update_at_s[i] = o->update_at_s[i];
	}
}

/* ---- SIGINT and SIGTERM make the stop pipe readable ---- */

static int stop_pipe[2] = { -1, -1 };
static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	int e = errno;
	char b = 1;

	stop_signal = sig;
	if (write(stop_pipe[1], &b, 1) < 0) {
		/* full already: the run stops anyway */
	}
	errno = e;
}

int cli_stop_install(void)
{
	struct sigaction sa;

	if (stop_pipe[0] < 0 && pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	return stop_pipe[0];
}

int cli_stop_signal(void)
{
	return stop_signal;
}
