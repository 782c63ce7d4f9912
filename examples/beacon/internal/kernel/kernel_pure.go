//go:build !cgo

package kernel

import (
	"encoding/binary"
	"hash/crc32"
	"math"
)

// Backend names the implementation in use.
const Backend = "pure Go fallback"

// ABIVersion mirrors the Rust library's ABI version.
func ABIVersion() uint32 { return 1 }

// CRC32 is CRC-32/ISO-HDLC of data.
func CRC32(data []byte) uint32 { return crc32.ChecksumIEEE(data) }

// Fib is the nth Fibonacci number, saturating at the largest uint64.
func Fib(n uint32) uint64 {
	var a, b uint64 = 0, 1
	for i := uint32(0); i < n; i++ {
		next := a + b
		if next < a {
			next = math.MaxUint64
		}
		a, b = b, next
	}
	return a
}

// EncodeFrame frames payload: sync byte, length, payload, CRC-32 LE.
func EncodeFrame(payload []byte) ([]byte, error) {
	if len(payload) > 255 {
		return nil, ErrTooLong
	}
	out := make([]byte, 0, len(payload)+6)
	out = append(out, 0x7E, byte(len(payload)))
	out = append(out, payload...)
	return binary.LittleEndian.AppendUint32(out, CRC32(payload)), nil
}
