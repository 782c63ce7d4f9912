// Package readings holds the sample meter readings and pure-Go versions of
// the Rust kernels, shared by meterd (cgo) and meterctl (pure Go).
package readings

import (
	"fmt"
	"sort"
	"strings"
)

// Reading is one sample of one meter.
type Reading struct {
	Meter string
	Value uint32
}

// Sample is the fixed input both commands report on.
var Sample = []Reading{
	{"cpu", 40}, {"io", 7}, {"cpu", 60}, {"mem", 900}, {"io", 13}, {"cpu", 50},
}

// Alpha is the EWMA weight, in percent, of each new sample.
const Alpha = 30

// Values returns the samples of one meter, in order.
func Values(rs []Reading, meter string) []uint32 {
	var out []uint32
	for _, r := range rs {
		if r.Meter == meter {
			out = append(out, r.Value)
		}
	}
	return out
}

// EWMA mirrors gauge_ewma.
func EWMA(samples []uint32, alphaPct uint32) uint32 {
	if len(samples) == 0 {
		return 0
	}
	alpha := uint64(min(alphaPct, 100))
	acc := uint64(samples[0])
	for _, s := range samples[1:] {
		acc = (alpha*uint64(s) + (100-alpha)*acc + 50) / 100
	}
	return uint32(acc)
}

// Peak mirrors gauge_peak.
func Peak(samples []uint32) uint32 {
	var m uint32
	for _, s := range samples {
		m = max(m, s)
	}
	return m
}

// Summary mirrors ledger_summary: "name=total/count,..." in name order.
func Summary(rs []Reading) string {
	type acc struct {
		total uint64
		n     uint32
	}
	by := map[string]*acc{}
	for _, r := range rs {
		a := by[r.Meter]
		if a == nil {
			a = &acc{}
			by[r.Meter] = a
		}
		a.total += uint64(r.Value)
		a.n++
	}
	names := make([]string, 0, len(by))
	for k := range by {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s=%d/%d", k, by[k].total, by[k].n)
	}
	return strings.Join(parts, ",")
}
