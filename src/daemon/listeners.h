/* listeners.h - the EGD server's listeners: every --egd, and the listening
 * sockets systemd hands over (socket activation, fds.h).
 *
 * listeners_inherit() runs first thing in the daemon: it takes over the
 * handed-over sockets (all but them closed) and names each "unix:PATH"
 * (what --egd would say for it) or "fd:N".  listeners_merge() then builds
 * the server's list: an --egd naming a handed-over socket serves on it
 * instead of binding; handed-over sockets no --egd names are served too.
 */
#ifndef HRNG_LISTENERS_H
#define HRNG_LISTENERS_H

#include <stdbool.h>
#include <stddef.h>

#include "egd.h"
#include "fds.h"

/* keep false (--once): close every inherited descriptor, keep none.
 * Returns how many sockets were taken over, or -EINVAL with one line in err
 * (it quotes LISTEN_PID and LISTEN_FDS). */
int listeners_inherit(bool keep, char *err, size_t errlen);
/* l has room for n_egd + FDS_LISTEN_MAX; returns how many it filled. */
size_t listeners_merge(const char *const *egd, unsigned n_egd, struct egd_listener_cfg *l);

#endif
