/* C ABI of the tally library (Rust crate rust/tally, libtally.a). The Go
 * files of package gotally link the archive committed beside them:
 * libtally_linux_<arch>.a. */
#ifndef TALLY_H
#define TALLY_H

#include <stddef.h>
#include <stdint.h>

#define TALLY_ABI_VERSION 1u

struct tally_summary {
	uint64_t count;
	double min;
	double max;
	double sum;
	double mean;
	double geomean; /* 0 when a value is not positive */
};

uint32_t tally_abi_version(void);

/* Fills *out from the n doubles at xs; 0 on success, -1 on a NULL pointer. */
int32_t tally_summarize(const double *xs, size_t n, struct tally_summary *out);

#endif /* TALLY_H */
