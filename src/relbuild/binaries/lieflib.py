"""LIEF, loaded on first use.

Importing LIEF takes a third of a second, and only Mach-O files (and the
symbol tables of PE and Mach-O programs) need it: a Linux build, and every
`relbuild` command that reads no such file, starts without it.
"""

from __future__ import annotations

import functools
from types import ModuleType


@functools.cache
def lief() -> ModuleType:
    # Imported here for start-up speed (see the module's docstring).
    import lief as module

    # LIEF logs what it cannot parse; a malformed file is reported by its caller.
    module.logging.disable()
    return module
