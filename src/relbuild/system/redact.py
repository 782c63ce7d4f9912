"""Replacing machine-specific absolute paths with ${PLACEHOLDERS}.

What a step ran is recorded in the manifest, which must be the same bytes on
any machine and in any folder; the placeholders keep it so while still saying
which path went where.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


class Redactor:
    def __init__(self, places: Mapping[str, str]) -> None:
        # Longest first, so a cache inside the project becomes ${CACHE}, not
        # ${ROOT}/.relbuild.
        self._pairs = sorted(
            ((path.rstrip("/"), name) for name, path in places.items() if path not in ("", "/")),
            key=lambda pair: len(pair[0]),
            reverse=True,
        )

    def __call__(self, text: str) -> str:
        for path, name in self._pairs:
            text = text.replace(path, "${" + name + "}")
        return text

    def all(self, items: Iterable[str]) -> list[str]:
        return [self(i) for i in items]
