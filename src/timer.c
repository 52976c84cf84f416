#include "config.h"
#include "timer.h"
