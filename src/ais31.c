/* ais31.c - placeholder until the module lands. */
#include "config.h"
#include "ais31.h"
