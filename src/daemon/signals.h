/* signals.h - the process's signal handling: the flags the handlers set,
 * and which signals do what in each mode.
 *
 * sig_stop holds the signal that ends a run (0 while running); sig_usr1 is
 * set by SIGUSR1 once the daemon has asked for it (statistics).
 */
#ifndef HRNG_SIGNALS_H
#define HRNG_SIGNALS_H

#include <signal.h>

extern volatile sig_atomic_t sig_stop, sig_usr1;

/* SIGTERM, SIGINT, SIGHUP stop a run; SIGPIPE is ignored. */
void signals_install(void);
/* SIGTERM, SIGINT and SIGHUP call handler, without SA_RESTART. */
void signals_catch_stop(void (*handler)(int));
/* File mode: every other signal that would end the process stops the run. */
void signals_install_file(void);
/* The daemon: SIGUSR1 sets sig_usr1; the stop signals and SIGUSR1 are
 * blocked, the mask to sleep with (all of them let in) goes to *wait. */
void signals_block_daemon(sigset_t *wait);

#endif
