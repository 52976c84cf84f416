/* testspec.c - placeholder until the module lands. */
#include "config.h"
#include "testspec.h"
#include <stdio.h>
int testspec_parse(const char *text, struct testspec *spec, char *err, size_t errlen)
{ (void)text; (void)spec; snprintf(err, errlen, "not implemented"); return -1; }
