#include "config.h"
#include "conditioner.h"
