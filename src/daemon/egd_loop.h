/* egd_loop.h - the EGD server as a handler on the daemon's loop (loop.h).
 *
 * egd_loop_add() registers a server made with egd_server_new(): its
 * listeners and clients are waited for with everything else, served when
 * ready, and its statistics logged on SIGUSR1.  A server whose byte source
 * has died for good stops the loop with status 1, as failing seeds do.
 */
#ifndef HRNG_EGD_LOOP_H
#define HRNG_EGD_LOOP_H

#include "egd.h"
#include "loop.h"

/* Returns loop_add()'s result. */
int egd_loop_add(struct egd_server *s, struct loop *l);

#endif
