// Command meterctl reports on the sample readings in pure Go (built with
// CGO_ENABLED=0); its numbers must match meterd's.
package main

import (
	"fmt"

	"example.com/meterd/internal/readings"
)

func main() {
	cpu := readings.Values(readings.Sample, "cpu")
	fmt.Printf("meterctl: ledger=%s cpu-ewma=%d cpu-peak=%d [pure go]\n",
		readings.Summary(readings.Sample), readings.EWMA(cpu, readings.Alpha), readings.Peak(cpu))
}
