#include "config.h"
#include "generator.h"
