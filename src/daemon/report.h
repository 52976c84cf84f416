/* report.h - start-up lines the file modes and the daemon share: why the
 * generator did not start, and where its walk is. */
#ifndef HRNG_REPORT_H
#define HRNG_REPORT_H

#include <stdbool.h>

#include "generator.h"

/* A gen_new() that failed (err < 0) says why in one line, unless the noise
 * source has said so already (-EIO).  Returns err (0 when it did not
 * fail). */
int report_gen_failed(int err);
/* -v 8: the walk's layout; -v 16: where its code is. */
void report_layout(struct generator *g);

#endif
