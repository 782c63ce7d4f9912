//go:build cgo

package kernel

/*
#cgo LDFLAGS: -lbeacon
#include <stdlib.h>
#include "beacon.h"
*/
import "C"

import (
	"errors"
	"unsafe"
)

// Backend names the implementation in use.
const Backend = "rust kernel via cgo"

// ABIVersion is the C ABI version of the linked Rust library.
func ABIVersion() uint32 { return uint32(C.beacon_abi_version()) }

// CRC32 is CRC-32/ISO-HDLC of data.
func CRC32(data []byte) uint32 {
	if len(data) == 0 {
		return 0
	}
	return uint32(C.beacon_crc32((*C.uint8_t)(unsafe.Pointer(&data[0])), C.size_t(len(data))))
}

// Fib is the nth Fibonacci number, saturating at the largest uint64.
func Fib(n uint32) uint64 { return uint64(C.beacon_fib(C.uint32_t(n))) }

// EncodeFrame frames payload: sync byte, length, payload, CRC-32 LE.
func EncodeFrame(payload []byte) ([]byte, error) {
	out := make([]byte, len(payload)+6)
	var p *C.uint8_t
	if len(payload) > 0 {
		p = (*C.uint8_t)(unsafe.Pointer(&payload[0]))
	} else {
		p = (*C.uint8_t)(unsafe.Pointer(&out[0]))
	}
	n := C.beacon_encode_frame(p, C.size_t(len(payload)), (*C.uint8_t)(unsafe.Pointer(&out[0])), C.size_t(len(out)))
	switch {
	case n == -1:
		return nil, ErrTooLong
	case n < 0:
		return nil, errors.New("beacon: frame encoding failed")
	}
	return out[:n], nil
}
