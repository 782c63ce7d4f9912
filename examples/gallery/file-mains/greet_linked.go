// greet_linked links the same Rust library through a search path and a
// library name. Build it by file, as `go build greet_linked.go`.
package main

/*
#cgo LDFLAGS: -L./lib -lgreet -ldl
#include "./lib/greet.h"
#include <stdlib.h>
*/
import "C"

import (
	"fmt"
	"unsafe"
)

func main() {
	name := C.CString("gopher")
	msg := C.CString("greet_linked.go: linked with -L./lib -lgreet")
	defer C.free(unsafe.Pointer(name))
	defer C.free(unsafe.Pointer(msg))

	fmt.Println("main: greet_linked")
	C.greet(name)
	C.whisper(msg)
	C.count_greetings(1)
}
