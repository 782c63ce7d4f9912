// Command meterd reports on the sample readings with the Rust gauge (no_std)
// and ledger (std) staticlibs, both linked through cgo.
package main

/*
#cgo LDFLAGS: -lgauge -lledger
#include <stdlib.h>
#include "gauge.h"
#include "ledger.h"
*/
import "C"

import (
	"fmt"
	"os"
	"unsafe"

	"example.com/meterd/internal/readings"
)

func summary(rs []readings.Reading) (string, error) {
	l := C.ledger_new()
	defer C.ledger_free(l)
	for _, r := range rs {
		name := C.CString(r.Meter)
		rc := C.ledger_record(l, name, C.uint64_t(r.Value))
		C.free(unsafe.Pointer(name))
		if rc != 0 {
			return "", fmt.Errorf("ledger_record(%q) = %d", r.Meter, rc)
		}
	}
	s := C.ledger_summary(l)
	if s == nil {
		return "", fmt.Errorf("ledger_summary failed")
	}
	defer C.ledger_free_string(s)
	return C.GoString(s), nil
}

func main() {
	sum, err := summary(readings.Sample)
	if err != nil {
		fmt.Fprintln(os.Stderr, "meterd:", err)
		os.Exit(1)
	}
	cpu := readings.Values(readings.Sample, "cpu")
	p := (*C.uint32_t)(unsafe.Pointer(&cpu[0]))
	ewma := C.gauge_ewma(p, C.size_t(len(cpu)), readings.Alpha)
	peak := C.gauge_peak(p, C.size_t(len(cpu)))
	fmt.Printf("meterd: ledger=%s cpu-ewma=%d cpu-peak=%d abi=%d/%d [rust gauge+ledger via cgo]\n",
		sum, uint32(ewma), uint32(peak), uint32(C.gauge_abi_version()), uint32(C.ledger_abi_version()))
}
