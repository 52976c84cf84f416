/* cpu.c - placeholder until the module lands. */
#include "config.h"
#include "cpu.h"
