/* ais31.h - AIS-31 procedures A and B as online tests (stub; see issue 3). */
#ifndef HRNG_AIS31_H
#define HRNG_AIS31_H
#include <stddef.h>
#include <stdint.h>
#include "testspec.h"
#endif
