/* modes.h - the program's modes other than the daemon (service.h), each
 * from the parsed options:
 *
 *   mode_info()   -r 1: the configuration and the noise source as
 *                 calibrated here and now, on stdout
 *   mode_raw()    --raw-samples: raw timer deltas for SP 800-90B assessment
 *   mode_file()   -n / -r > 1: conditioned bytes to a file or stdout
 *
 * Each returns 0 done, -EINTR when stopped by sig_stop (signals.h), or
 * another -errno after the error was logged in one line; main.c makes
 * these exit statuses.  mode_gen_config() is the generator the options
 * ask for, which the daemon builds too.
 */
#ifndef HRNG_MODES_H
#define HRNG_MODES_H

#include "cpu.h"
#include "generator.h"
#include "options.h"

void mode_gen_config(struct gen_config *gc, const struct options *o,
		     const struct cache_geom *geom);
int mode_info(const struct options *o);
int mode_raw(const struct options *o, const struct cache_geom *geom);
int mode_file(const struct options *o, const struct cache_geom *geom);

#endif
