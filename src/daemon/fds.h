/* fds.h - the descriptors a process starts with.
 *
 * fds_std_open() opens /dev/null on whichever of 0, 1 and 2 is closed, so
 * that nothing opened later (an output file, /dev/random, a socket) takes
 * their place and receives messages or is replaced by a dup2().  main()
 * calls it before anything else.  Returns 0, or -errno if /dev/null cannot
 * be opened (there is then nowhere to say so).
 *
 * fds_close_inherited(keep) closes every descriptor from 3 + keep on: what
 * the daemon inherits from whoever started it (a shell's redirection, a
 * caller's pipe), which it would otherwise hold open for its whole life.
 * keep is the number of listening sockets handed over (fds_listeners()).
 *
 * fds_listeners() takes the listening sockets of systemd's socket
 * activation (sd_listen_fds(3): LISTEN_PID, LISTEN_FDS, descriptors from 3
 * on).  Returns how many (0 when LISTEN_FDS is not set), or -EINVAL with a
 * one-line reason in err (it quotes the variables' values): LISTEN_PID not
 * this process, a count that is not 1..FDS_LISTEN_MAX, or a descriptor
 * that is not a listening stream socket.
 * The variables (and LISTEN_FDNAMES) are removed either way, so nothing
 * the daemon might start inherits them; each socket is made non-blocking
 * and close-on-exec.
 */
#ifndef HRNG_FDS_H
#define HRNG_FDS_H

#include <stddef.h>

enum { FDS_LISTEN_FIRST = 3, FDS_LISTEN_MAX = 16 };

int fds_std_open(void);
void fds_close_inherited(int keep);
int fds_listeners(char *err, size_t errlen);

#endif
