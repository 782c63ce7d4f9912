// Command wordstat prints word statistics computed by a Rust std staticlib
// linked through cgo.
package main

/*
#cgo LDFLAGS: -lwordstat
#include <stdlib.h>
#include "wordstat.h"
*/
import "C"

import (
	"fmt"
	"os"
	"strings"
	"unsafe"
)

const sample = "The quick brown fox jumps over the lazy dog; the dog sleeps, the fox runs."

func report(text string) (string, bool) {
	cs := C.CString(text)
	defer C.free(unsafe.Pointer(cs))
	r := C.wordstat_report(cs)
	if r == nil {
		return "", false
	}
	defer C.wordstat_free(r)
	return C.GoString(r), true
}

func main() {
	text := sample
	if len(os.Args) > 1 {
		text = strings.Join(os.Args[1:], " ")
	}
	out, ok := report(text)
	if !ok {
		fmt.Fprintln(os.Stderr, "wordstat: invalid input")
		os.Exit(1)
	}
	fmt.Printf("wordstat: abi=%d %s [rust std via cgo]\n", uint32(C.wordstat_abi_version()), out)
}
