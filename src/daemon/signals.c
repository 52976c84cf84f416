/* signals.c - the process's signal handling (see signals.h). */
#include "config.h"

#include <string.h>

#include "signals.h"

volatile sig_atomic_t sig_stop, sig_usr1;

static void on_stop(int sig)
{
	sig_stop = sig;
}

/* No SA_RESTART: a blocked write() or wait returns EINTR, so the caller
 * sees the flag promptly. */
void signals_catch_stop(void (*handler)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* SIGTERM and SIGINT end a run (haveged ignores them in file mode), and
 * the run ends promptly (signals_catch_stop()).  A closed pipe shows up as
 * EPIPE instead of killing us. */
void signals_install(void)
{
	signals_catch_stop(on_stop);
	signal(SIGPIPE, SIG_IGN);
}

/* File mode: every other signal whose default action ends the process
 * stops the run the same way (128 + signal), so that none leaves the
 * temporary file behind.  Only SIGKILL (and a crash) still can. */
void signals_install_file(void)
{
	static const int fatal[] = { SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF,
				     SIGXCPU, SIGXFSZ, SIGPOLL, SIGPWR, SIGSTKFLT };
	struct sigaction sa;
	size_t i;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		sigaction(fatal[i], &sa, NULL);
	for (sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
		sigaction(sig, &sa, NULL);
}

static void on_usr1(int sig)
{
	(void)sig;
	sig_usr1 = 1;
}

/* The stop signals and SIGUSR1 are blocked except while the daemon sleeps
 * in ppoll(), which unblocks them atomically: none can slip in between a
 * look at the flags and the sleep.  Threads started later inherit the
 * blocked mask, so signals always reach the main thread. */
void signals_block_daemon(sigset_t *wait)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, wait);
}
