// Package main is built as a C archive (go build -buildmode=c-archive) for
// the Rust program in the parent folder; cgo writes libgosum.h beside it.
package main

import "C"

import (
	"strconv"
	"strings"
)

//export GoDigitSum
func GoDigitSum(n int64) int64 {
	if n < 0 {
		n = -n
	}
	var s int64
	for ; n > 0; n /= 10 {
		s += n % 10
	}
	return s
}

// GoSumFields adds the integers in a space-separated list and returns
// "a+b+c=total" as a C string that the caller frees with free().
//
//export GoSumFields
func GoSumFields(list string) *C.char {
	fields := strings.Fields(list)
	var total int64
	for _, f := range fields {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return C.CString("not a number: " + f)
		}
		total += v
	}
	return C.CString(strings.Join(fields, "+") + "=" + strconv.FormatInt(total, 10))
}

func main() {}
