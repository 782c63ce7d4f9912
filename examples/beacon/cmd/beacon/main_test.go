package main

import (
	"strings"
	"testing"
)

func TestSelfCheck(t *testing.T) {
	line, err := selfCheck()
	if err != nil {
		t.Fatal(err)
	}
	want := "beacon: crc32=0xcbf43926 fib(40)=102334155 frame=15B ["
	if !strings.HasPrefix(line, want) {
		t.Fatalf("selfCheck() = %q, want it to start with %q", line, want)
	}
}
