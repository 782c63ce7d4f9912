"""relbuild: reproducible release builds for projects that mix Go and Rust."""

__version__ = "0.1.0"
