/* egd.c - placeholder */
#include "config.h"
#include "egd.h"
