"""The tools that turn components into artifacts, one module each, behind
one Protocol (:class:`~relbuild.backends.base.Backend`), and the table that
maps a component's config table to its backend. zig is not a backend: it is
the C compiler of Go's cgo steps (``zig.py``)."""

from __future__ import annotations

from typing import Any

from relbuild.backends.base import Backend
from relbuild.backends.go import GoBackend
from relbuild.backends.rust import RustBackend

# In the order components build within a target: a Go program may link the
# Rust staticlib of the same target through cgo.
BACKENDS: dict[str, Backend[Any]] = {"rust": RustBackend(), "go": GoBackend()}
