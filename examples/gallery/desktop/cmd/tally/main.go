// Command tally prints the summary the Rust staticlib computes, linked
// through cgo.
package main

/*
#cgo LDFLAGS: -ltally
#include <stdlib.h>
#include "tally.h"
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"unsafe"
)

const sample = "the quick brown fox jumps over the lazy dog and the cat"

func main() {
	text := sample
	if len(os.Args) > 1 {
		text = strings.Join(os.Args[1:], " ")
	}
	cs := C.CString(text)
	defer C.free(unsafe.Pointer(cs))
	r := C.tally_summary(cs)
	if r == nil {
		fmt.Fprintln(os.Stderr, "tally: invalid input")
		os.Exit(1)
	}
	defer C.tally_free(r)
	fmt.Printf("tally: abi=%d %s [rust via cgo, %s/%s]\n", uint32(C.tally_abi_version()), C.GoString(r), runtime.GOOS, runtime.GOARCH)
}
