/* fds.h - the descriptors a process starts with.
 *
 * fds_std_open() opens /dev/null on whichever of 0, 1 and 2 is closed, so
 * that nothing opened later (an output file, /dev/random, a socket) takes
 * their place and receives messages or is replaced by a dup2().  main()
 * calls it before anything else.  Returns 0, or -1 if /dev/null cannot be
 * opened (there is then nowhere to say so).
 *
 * fds_close_inherited() closes every descriptor above 2: what the daemon
 * inherits from whoever started it (a shell's redirection, a caller's
 * pipe), which it would otherwise hold open for its whole life.
 */
#ifndef HRNG_FDS_H
#define HRNG_FDS_H

int fds_std_open(void);
void fds_close_inherited(void);

#endif
