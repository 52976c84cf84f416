/* collector.h */
#ifndef HRNG_COLLECTOR_H
#define HRNG_COLLECTOR_H
#endif
