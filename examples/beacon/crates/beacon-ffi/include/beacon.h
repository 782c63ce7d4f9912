/* C ABI of the beacon kernel (crate beacon-ffi). Link with -lbeacon. */
#ifndef BEACON_H
#define BEACON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of this ABI; bumped on any incompatible change. */
#define BEACON_ABI_VERSION 1u

uint32_t beacon_abi_version(void);

/* CRC-32 (ISO-HDLC) of len bytes at data; 0 when data is NULL. */
uint32_t beacon_crc32(const uint8_t *data, size_t len);

/* The nth Fibonacci number, saturating at UINT64_MAX. */
uint64_t beacon_fib(uint32_t n);

/* Writes payload as a frame into out (capacity out_cap) and returns the
 * frame's length, or a negative error: -1 too long, -2 no room, -3 NULL. */
int32_t beacon_encode_frame(const uint8_t *payload, size_t len, uint8_t *out, size_t out_cap);

#ifdef __cplusplus
}
#endif

#endif /* BEACON_H */
