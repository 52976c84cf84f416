/* privs.h - keep only the privileges the daemon needs.
 *
 * RNDADDENTROPY checks CAP_SYS_ADMIN (in the initial user namespace) at
 * every call, so the daemon keeps exactly that capability and nothing else:
 *   privs_have_admin()  whether we hold CAP_SYS_ADMIN now
 *   privs_drop()        effective and permitted: CAP_SYS_ADMIN only (none
 *                       at all for an EGD-only daemon); inheritable and
 *                       bounding sets emptied; no-new-privileges set
 *   privs_seccomp()     a seccomp allow-list for the rest of the run, in
 *                       which ioctl is allowed only for RNDGETENTCNT and
 *                       RNDADDENTROPY; applied to every thread
 * Call privs_drop() before starting threads (capabilities are per thread)
 * and privs_seccomp() once start-up is done.  Each returns 0 or -errno
 * after logging one line.
 */
#ifndef HRNG_PRIVS_H
#define HRNG_PRIVS_H

#include <stdbool.h>

bool privs_have_admin(void);
int privs_drop(bool keep_admin);
int privs_seccomp(void);

#endif
