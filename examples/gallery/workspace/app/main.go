// Command app prints the summary of a series computed by the Rust library
// that example.com/gotally links (a module of the same go.work workspace).
package main

import (
	"fmt"
	"os"
	"strconv"

	"example.com/gotally"
)

var sample = []float64{1, 2, 4, 8, 16}

func main() {
	xs := sample
	if len(os.Args) > 1 {
		xs = xs[:0:0]
		for _, a := range os.Args[1:] {
			x, err := strconv.ParseFloat(a, 64)
			if err != nil {
				fmt.Fprintf(os.Stderr, "app: %q is not a number\n", a)
				os.Exit(2)
			}
			xs = append(xs, x)
		}
	}
	s, err := gotally.Summarize(xs)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("app: tally abi=%d via example.com/gotally (go.work)\n", gotally.ABIVersion())
	fmt.Printf("count=%d min=%g max=%g sum=%g mean=%.2f geomean=%.2f\n",
		s.Count, s.Min, s.Max, s.Sum, s.Mean, s.GeoMean)
}
