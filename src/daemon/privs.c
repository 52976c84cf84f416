/* privs.c - capabilities, no-new-privileges, seccomp (see privs.h). */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/prctl.h>

#include <cap-ng.h>
#include <linux/random.h>
#include <seccomp.h>

#include "log.h"
#include "privs.h"
#include "seams.h"

bool privs_have_admin(void)
{
	capng_get_caps_process();
	return capng_have_capability(CAPNG_EFFECTIVE, CAP_SYS_ADMIN) != 0;
}

int privs_drop(bool keep_admin)
{
	capng_clear(CAPNG_SELECT_BOTH);
	if ((keep_admin &&
	     capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_SYS_ADMIN) < 0) ||
	    capng_apply(CAPNG_SELECT_BOTH) < 0) {
		log_errx("cannot drop capabilities");
		return -EPERM;          /* libcap-ng gives no errno */
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		int e = errno;

		log_err("cannot set no-new-privileges");
		return -e;
	}
	return 0;
}

/*
 * What the daemon does after start-up, and so all it may do: compute,
 * allocate, sleep in ppoll, talk to the kernel's pool through two ioctls,
 * serve EGD clients on sockets opened before, read the clock, log (syslog
 * socket or stderr), tell systemd, handle signals, remove its pidfile and
 * socket files, and exit.  Anything else fails with EPERM
 * (not a kill: a missing entry shows up as a logged error, which is how
 * haveged's unit, with no error number, came to kill it on ARM).
 */
static const int allowed[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(writev), SCMP_SYS(close),
	SCMP_SYS(ppoll), SCMP_SYS(poll), SCMP_SYS(getrandom),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
	SCMP_SYS(gettimeofday),
	SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(brk),
	SCMP_SYS(madvise), SCMP_SYS(mprotect), SCMP_SYS(mlock),
	SCMP_SYS(futex), SCMP_SYS(sched_yield),
	/* a thread started just before the filter may still be registering
	 * itself with glibc when the filter lands */
	SCMP_SYS(rseq), SCMP_SYS(set_robust_list),
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(tgkill),
	SCMP_SYS(socket), SCMP_SYS(connect), SCMP_SYS(sendto), SCMP_SYS(sendmsg),
	/* the EGD server */
	SCMP_SYS(accept4), SCMP_SYS(recvfrom), SCMP_SYS(getsockname), SCMP_SYS(shutdown),
	SCMP_SYS(getsockopt), SCMP_SYS(fcntl), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(unlink), SCMP_SYS(exit), SCMP_SYS(exit_group),
};

/* Allow ioctl(2) with this request (its second argument) and no other. */
static int allow_ioctl(scmp_filter_ctx ctx, unsigned long request)
{
	struct scmp_arg_cmp cmp = { .arg = 1, .op = SCMP_CMP_EQ,
				    .datum_a = (scmp_datum_t)request, .datum_b = 0 };

	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, &cmp);
}

int privs_seccomp(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	size_t i;
	int r = 0;

	if (!ctx) {
		log_errx("cannot set up the seccomp filter");
		return -ENOMEM;         /* seccomp_init() fails only for memory */
	}
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]) && r == 0; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	/* ioctl: only the two requests the feeder makes */
	if (r == 0)
		r = allow_ioctl(ctx, RNDGETENTCNT);
	if (r == 0)
		r = allow_ioctl(ctx, RNDADDENTROPY);
	if (r == 0)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0) {
		log_errx("cannot install the seccomp filter: %s", strerror(-r));
		return r;               /* libseccomp's -errno */
	}
	seam_probe_filter();
	return 0;
}
