"""The ABI boundary check: a staticlib's C header, its real exports (symbol
table and DWARF) and the cgo declarations of the Go programs that link it,
held against each other per target. See docs/abi.md."""
