// Command greet is a pure Go program (cgo off): it prints a greeting with
// the platform it was built for and a random token, which on Windows needs
// ProcessPrng (bcryptprimitives.dll).
package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"runtime"
)

var version = "dev"

func main() {
	token := make([]byte, 4)
	if _, err := rand.Read(token); err != nil {
		fmt.Fprintln(os.Stderr, "greet:", err)
		os.Exit(1)
	}
	name := "world"
	if len(os.Args) > 1 {
		name = os.Args[1]
	}
	fmt.Printf("greet: hello %s from %s/%s version=%s token=%d\n", name, runtime.GOOS, runtime.GOARCH, version, len(token))
}
