/* generator.h */
#ifndef HRNG_GENERATOR_H
#define HRNG_GENERATOR_H
#endif
