// Command beacon frames telemetry payloads with the beacon kernel and prints
// the kernel's self-check, the same line the firmware prints.
package main

import (
	"fmt"
	"os"

	"example.com/beacon/internal/kernel"
	flag "github.com/spf13/pflag"
)

// version is set by the release build; the default marks a developer build.
var version = "dev"

func main() {
	frame := flag.StringP("frame", "f", "", "print the hex frame of this payload")
	showVersion := flag.BoolP("version", "V", false, "print the version and exit")
	flag.Parse()

	if *showVersion {
		fmt.Printf("beacon %s (%s, ABI %d)\n", version, kernel.Backend, kernel.ABIVersion())
		return
	}
	if *frame != "" {
		out, err := kernel.EncodeFrame([]byte(*frame))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("% x\n", out)
		return
	}
	line, err := selfCheck()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(line)
}

// selfCheck is the line the smoke test expects: the kernel's check values.
func selfCheck() (string, error) {
	out, err := kernel.EncodeFrame(kernel.Sample)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("beacon: crc32=0x%08x fib(40)=%d frame=%dB [%s]",
		kernel.CRC32(kernel.Sample), kernel.Fib(40), len(out), kernel.Backend), nil
}
