"""Pairing the artifacts of two releases that were renamed between them.

A version bump renames every file (``tool-1.0-x86_64...`` becomes
``tool-1.1-...``), so a removed and an added artifact are the same one when
they are the only ones of their kind (target, component, kind) on each side.
Linear in the number of artifacts: counted once, looked up once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

T = TypeVar("T")


def pair_renamed(
    gone: Sequence[T], came: Sequence[T], key: Callable[[T], Hashable | None]
) -> tuple[list[tuple[T, T]], list[T], list[T]]:
    """(pairs, removed, added): each artifact of ``gone`` whose key no other
    artifact of ``gone`` has is paired with the one artifact of ``came`` with
    that key, if there is exactly one; a None key never pairs. Order is kept."""
    gone_keys = [key(a) for a in gone]
    came_keys = [key(b) for b in came]
    gone_count = Counter(k for k in gone_keys if k is not None)
    came_count = Counter(k for k in came_keys if k is not None)
    came_at = {k: i for i, k in enumerate(came_keys) if k is not None and came_count[k] == 1}
    pairs: list[tuple[T, T]] = []
    removed: list[T] = []
    taken: set[int] = set()
    for a, k in zip(gone, gone_keys, strict=True):
        if k is not None and gone_count[k] == 1 and k in came_at:
            taken.add(came_at[k])
            pairs.append((a, came[came_at[k]]))
        else:
            removed.append(a)
    added = [b for i, b in enumerate(came) if i not in taken]
    return pairs, removed, added
