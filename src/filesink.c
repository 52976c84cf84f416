#include "config.h"
#include "filesink.h"
