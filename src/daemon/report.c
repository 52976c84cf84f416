/* report.c - start-up lines the file modes and the daemon share (see
 * report.h). */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "collector.h"
#include "log.h"
#include "report.h"

/* EAGAIN is what a thread whose stack cannot be mapped gives, so it is
 * named for what it usually is. */
int report_gen_failed(int err)
{
	if (err == -EAGAIN)
		log_errx("cannot start the generator's threads: out of memory for their stacks, "
			 "or over the limit on processes (ulimit -v, ulimit -u)");
	else if (err < 0 && err != -EIO)
		log_errx("cannot start the generator: %s", strerror(-err));
	return err < 0 ? err : 0;
}

void report_layout(struct generator *g)
{
	struct collector_layout l;

	if (!log_verbose(VERB_LOOP | VERB_CODE))
		return;
	gen_get_layout(g, &l);
	if (log_verbose(VERB_LOOP))
		log_info("walk: %u of %u copies run, %zu of %zu bytes of code, table %zu words%s",
			 l.copies_run, l.copies_built, l.code_run, l.code_built,
			 l.table_words, l.measured ? "" : " (layout unmeasured)");
	if (log_verbose(VERB_CODE))
		log_info("walk code at %p", l.code_start);
}
