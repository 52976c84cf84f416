/* filesink.h */
#ifndef HRNG_FILESINK_H
#define HRNG_FILESINK_H
#endif
