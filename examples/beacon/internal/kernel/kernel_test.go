package kernel

import (
	"bytes"
	"testing"
)

// The same vectors as the Rust tests, so both backends are held to them.
func TestCRC32CheckValue(t *testing.T) {
	if got := CRC32(Sample); got != 0xCBF43926 {
		t.Fatalf("CRC32(%q) = %#x, want 0xcbf43926 (%s)", Sample, got, Backend)
	}
	if got := CRC32(nil); got != 0 {
		t.Fatalf("CRC32(nil) = %#x, want 0", got)
	}
}

func TestFib(t *testing.T) {
	cases := map[uint32]uint64{0: 0, 1: 1, 40: 102334155, 93: 12200160415121876738, 200: ^uint64(0)}
	for n, want := range cases {
		if got := Fib(n); got != want {
			t.Errorf("Fib(%d) = %d, want %d (%s)", n, got, want, Backend)
		}
	}
}

func TestEncodeFrame(t *testing.T) {
	got, err := EncodeFrame([]byte("hi"))
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0x7E, 2, 'h', 'i', 0xac, 0x2a, 0x93, 0xd8}
	if !bytes.Equal(got, want) {
		t.Fatalf("EncodeFrame(hi) = % x, want % x", got, want)
	}
	if _, err := EncodeFrame(make([]byte, 300)); err != ErrTooLong {
		t.Fatalf("EncodeFrame(300 bytes) err = %v, want ErrTooLong", err)
	}
	if ABIVersion() != 1 {
		t.Fatalf("ABIVersion() = %d, want 1", ABIVersion())
	}
}
