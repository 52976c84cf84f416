#include "config.h"
#include "collector.h"
