//go:build linux && arm64

package gotally

// The archive for this platform is committed beside the Go files.

/*
#cgo LDFLAGS: ${SRCDIR}/libtally_linux_arm64.a -lm
*/
import "C"
