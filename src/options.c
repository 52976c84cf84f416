/* options.c - placeholder until the module lands. */
#include "config.h"
#include "options.h"
