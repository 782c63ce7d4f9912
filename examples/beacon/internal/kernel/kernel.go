// Package kernel exposes the beacon kernel to Go.
//
// With cgo on, it calls the Rust kernel (crate beacon-ffi) through its C ABI;
// with cgo off, it falls back to an equivalent pure-Go implementation, so the
// tool still builds where no C cross compiler is at hand.
package kernel

// Sample is the payload every beacon sends first; the firmware reports the
// same bytes.
var Sample = []byte("123456789")
