"""The ABI boundary check: a staticlib's C header, its real exports (symbol
table and DWARF) and the cgo declarations of the Go programs that link it,
held against each other per target. See docs/abi.md.

A library below the pipeline: the pipeline's abi stage (pipeline/abi.py)
hands it the staticlibs and the cgo steps; it may import backends (to list
a Go program's packages), binaries, release, config and system."""
