/* egd.h - the EGD server (placeholder until the module lands). */
#ifndef HRNG_EGD_H
#define HRNG_EGD_H
#endif
