/* egd_proto.c - the EGD request parser, egd_parse() (see egd.h): a pure
 * function over a byte buffer, linked alone into the fuzz target.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "egd.h"

/* egd_parse() decodes one request; it knows the length of every command
 * from its first bytes, so it never needs to look past the request. */
int egd_parse(const uint8_t *buf, size_t len, struct egd_request *req)
{
	size_t need;

	if (len == 0)
		return 0;
	memset(req, 0, sizeof(*req));
	switch (buf[0]) {
	case EGD_CMD_LEVEL:
	case EGD_CMD_PID:
		req->cmd = buf[0];
		return 1;
	case EGD_CMD_READ_NB:
	case EGD_CMD_READ:
		if (len < 2)
			return 0;
		req->cmd = buf[0];
		req->count = buf[1];
		return 2;
	case EGD_CMD_WRITE:
		if (len < 4)
			return 0;
		need = 4 + (size_t)buf[3];
		if (len < need)
			return 0;
		req->cmd = EGD_CMD_WRITE;
		req->bits = (uint16_t)(buf[1] << 8 | buf[2]);
		req->count = buf[3];
		req->data = buf + 4;
		return (int)need;
	default:
		return -EPROTO;
	}
}
