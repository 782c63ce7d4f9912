// greet_static links the Rust static library by its path. Build it by
// file, as `go build greet_static.go`: greet_linked.go beside it is
// another main, and there is no go.mod.
package main

// The -ldl is for the dlsym that Rust's std refers to.

/*
#cgo LDFLAGS: ./lib/libgreet.a -ldl
#include "./lib/greet.h"
#include <stdlib.h>
*/
import "C"

import (
	"fmt"
	"unsafe"
)

func main() {
	name := C.CString("world")
	msg := C.CString("greet_static.go: linked with ./lib/libgreet.a")
	defer C.free(unsafe.Pointer(name))
	defer C.free(unsafe.Pointer(msg))

	fmt.Println("main: greet_static")
	C.greet(name)
	C.whisper(msg)
	C.count_greetings(2)
}
