"""A library committed to the tree, against the one built from its source.

Repositories commit the archives their cgo directives name
(``gotally/libtally_linux_amd64.a``). The release links the archive relbuild
built from the crate; this says whether the committed file is the same
bytes, and if not, which archive members differ, so a committed binary that
does not come from its source is seen.
"""

from __future__ import annotations

from collections import Counter

from relbuild.binaries.elfcheck import AR_MAGIC, ar_members

MAX_SHOWN = 20


def _keyed(members: list[tuple[str, bytes]]) -> dict[str, bytes]:
    """Members by name; a name used twice gets '#2', '#3'..."""
    seen: Counter[str] = Counter()
    out: dict[str, bytes] = {}
    for name, data in members:
        seen[name] += 1
        out[name if seen[name] == 1 else f"{name}#{seen[name]}"] = data
    return out


def differing_members(committed: bytes, fresh: bytes) -> list[str]:
    """The members that differ ('name: only in the committed file', 'name:
    differs', ...), at most MAX_SHOWN (and a count of the rest); ['not an ar
    archive'] when either cannot be read as one."""
    if not (committed.startswith(AR_MAGIC) and fresh.startswith(AR_MAGIC)):
        return ["not both ar archives: the files differ"]
    old, new = _keyed(ar_members(committed)), _keyed(ar_members(fresh))
    # Members in both that differ say most; then what either lacks.
    found = [f"{n}: differs" for n in sorted(old.keys() & new.keys()) if old[n] != new[n]]
    found += [f"{n}: only in the committed file" for n in sorted(old.keys() - new.keys())]
    found += [f"{n}: only in the one built from source" for n in sorted(new.keys() - old.keys())]
    if not found:
        found = ["the members are the same; the archive's headers or order differ"]
    if len(found) > MAX_SHOWN:
        found = [*found[:MAX_SHOWN], f"and {len(found) - MAX_SHOWN} more"]
    return found
