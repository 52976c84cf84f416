/* health.c - placeholder until the module lands. */
#include "config.h"
#include "health.h"
