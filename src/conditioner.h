/* conditioner.h */
#ifndef HRNG_CONDITIONER_H
#define HRNG_CONDITIONER_H
#endif
