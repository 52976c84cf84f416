/* listeners.c - the EGD server's listeners (see listeners.h). */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "listeners.h"

/* The listening sockets systemd handed over: descriptors FDS_LISTEN_FIRST
 * on, and their names for messages. */
static int n_inherited;
static char inherited_name[FDS_LISTEN_MAX][sizeof(((struct sockaddr_un *)0)->sun_path) + 16];

/* Name inherited socket i "unix:PATH" (what --egd would say for it) when it
 * is a UNIX socket with a path, else "fd:N". */
static void inherited_names(void)
{
	int i;

	for (i = 0; i < n_inherited; i++) {
		struct sockaddr_un sa;
		socklen_t len = sizeof(sa);
		int fd = FDS_LISTEN_FIRST + i;

		memset(&sa, 0, sizeof(sa));
		if (getsockname(fd, (struct sockaddr *)&sa, &len) == 0 &&
		    sa.sun_family == AF_UNIX && sa.sun_path[0] &&
		    len > offsetof(struct sockaddr_un, sun_path))
			snprintf(inherited_name[i], sizeof(inherited_name[i]), "unix:%.*s",
				 (int)(len - offsetof(struct sockaddr_un, sun_path)), sa.sun_path);
		else
			snprintf(inherited_name[i], sizeof(inherited_name[i]), "fd:%d", fd);
	}
}

int listeners_inherit(bool keep, char *err, size_t errlen)
{
	n_inherited = fds_listeners(err, errlen);
	if (n_inherited < 0)
		return n_inherited;
	if (!keep)
		n_inherited = 0;
	fds_close_inherited(n_inherited);
	inherited_names();
	return n_inherited;
}

size_t listeners_merge(const char *const *egd, unsigned n_egd, struct egd_listener_cfg *l)
{
	bool used[FDS_LISTEN_MAX] = { false };
	size_t n = 0;
	unsigned i;
	int j;

	for (i = 0; i < n_egd; i++, n++) {
		l[n] = (struct egd_listener_cfg){ .spec = egd[i] };
		for (j = 0; j < n_inherited; j++) {
			if (!used[j] && strcmp(egd[i], inherited_name[j]) == 0) {
				l[n].inherited = used[j] = true;
				l[n].fd = FDS_LISTEN_FIRST + j;
				break;
			}
		}
	}
	for (j = 0; j < n_inherited; j++)
		if (!used[j])
			l[n++] = (struct egd_listener_cfg){ .spec = inherited_name[j],
							    .inherited = true,
							    .fd = FDS_LISTEN_FIRST + j };
	return n;
}
