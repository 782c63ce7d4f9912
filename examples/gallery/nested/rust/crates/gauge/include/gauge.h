/* C ABI of gauge (no_std Rust). Link with -lgauge. */
#ifndef GAUGE_H
#define GAUGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GAUGE_ABI_VERSION 1u

uint32_t gauge_abi_version(void);

/* Integer EWMA of n samples, alpha_pct% weight on each new sample. */
uint32_t gauge_ewma(const uint32_t *samples, size_t n, uint32_t alpha_pct);

/* Largest of n samples; 0 when n is 0 or samples is NULL. */
uint32_t gauge_peak(const uint32_t *samples, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* GAUGE_H */
