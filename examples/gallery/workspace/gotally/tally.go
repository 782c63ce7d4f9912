// Package gotally summarizes a series of numbers with the Rust library
// tally, linked from the per-platform archive beside this file
// (libtally_linux_amd64.a, libtally_linux_arm64.a).
package gotally

/*
#include "tally.h"
*/
import "C"

import (
	"errors"
	"unsafe"
)

// Summary mirrors struct tally_summary.
type Summary struct {
	Count   uint64
	Min     float64
	Max     float64
	Sum     float64
	Mean    float64
	GeoMean float64
}

// ABIVersion is the version the linked library reports.
func ABIVersion() uint32 {
	return uint32(C.tally_abi_version())
}

// Summarize returns the summary of xs computed in Rust.
func Summarize(xs []float64) (Summary, error) {
	var out C.struct_tally_summary
	var p *C.double
	if len(xs) > 0 {
		p = (*C.double)(unsafe.Pointer(&xs[0]))
	}
	if C.tally_summarize(p, C.size_t(len(xs)), &out) != 0 {
		return Summary{}, errors.New("gotally: tally_summarize failed")
	}
	return Summary{
		Count:   uint64(out.count),
		Min:     float64(out.min),
		Max:     float64(out.max),
		Sum:     float64(out.sum),
		Mean:    float64(out.mean),
		GeoMean: float64(out.geomean),
	}, nil
}
