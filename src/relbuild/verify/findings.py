"""What `relbuild verify` reports: a finding (kind, path, detail), the
report, and the sink that keeps the first findings in bounded memory and
counts all of them. Every check of a dist (the folder walk, the artifact
and SUMS checks, the supply-chain files) adds to one sink.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

from pydantic import BaseModel, computed_field

FindingKind = Literal[
    "missing",
    "changed",
    "size",
    "extra",
    "mode",
    "sums",
    "unsafe-path",
    "not-a-file",
    "elf",
    "firmware",
    "duplicate",
    "leak",
    "signature",
    "subject",
    "attestation",
]

MAX_FINDINGS = 100


class Finding(BaseModel):
    kind: FindingKind
    path: str
    detail: str


class VerifyReport(BaseModel):
    folder: str
    manifest: str
    artifacts: int
    bytes_hashed: int
    findings: list[Finding]
    finding_count: int = 0
    finding_counts: dict[str, int] = {}
    leaks_scanned: bool = False  # --leaks: every artifact scanned for leaked paths
    signers: int = 0  # --key: the public keys the signatures were checked with

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return not self.findings and not self.finding_count

    @property
    def omitted(self) -> int:
        return self.finding_count - len(self.findings)


class Sink:
    """The first ``limit`` findings in the order they are added, and a count
    of all of them by kind: 420,000 missing files cost a counter, not
    420,000 objects."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.kept: list[Finding] = []
        self.counts: Counter[str] = Counter()

    def add(self, kind: FindingKind, path: str, detail: str) -> None:
        self.counts[kind] += 1
        if len(self.kept) < self.limit:
            self.kept.append(Finding(kind=kind, path=path, detail=detail))

    def add_many(self, kind: FindingKind, path: str, count: int, detail: str) -> None:
        """``count`` findings shown as one line."""
        self.add(kind, path, detail)
        self.counts[kind] += count - 1
