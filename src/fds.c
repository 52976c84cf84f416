/* fds.c - descriptors 0-2 open, inherited ones closed (see fds.h). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fds.h"

int fds_std_open(void)
{
	int fd;

	for (fd = 0; fd <= 2; fd++) {
		int nf;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* the lowest free number: this one, since those below are open */
		nf = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
		if (nf < 0)
			return -1;
		if (nf != fd) {
			close(nf);
			return -1;
		}
	}
	return 0;
}

/* Without close_range(2): every descriptor /proc lists, or failing that
 * every number up to the limit. */
static void close_each(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long max, fd;

	if (d) {
		while ((e = readdir(d)) != NULL) {
			char *end;

			fd = strtol(e->d_name, &end, 10);
			if (*end == '\0' && end != e->d_name && fd > 2 && fd != dirfd(d))
				close((int)fd);
		}
		closedir(d);
		return;
	}
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (fd = 3; fd < max; fd++)
		close((int)fd);
}

void fds_close_inherited(void)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3u, ~0u, 0u) == 0)
		return;
#endif
	close_each();
}
