"""Comparing two dist folders bit for bit, with explanations."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from relbuild.attest import PROVENANCE_NAME, SBOM_NAME
from relbuild.proofs.explain import Explanation, explain
from relbuild.release.dist import MANIFEST_NAME, load_manifest


class Outcome(BaseModel):
    path: str
    identical: bool
    note: str = ""
    explanation: Explanation | None = None


class Comparison(BaseModel):
    artifacts: list[Outcome]
    manifest_identical: bool
    manifest_explanation: Explanation | None = None
    # The SBOM and the provenance, when the first dist has them: they
    # reproduce too (signatures need not: ECDSA's are randomized).
    documents: list[Outcome] = []

    @property
    def identical(self) -> bool:
        return self.manifest_identical and all(o.identical for o in self.artifacts + self.documents)

    @property
    def differing(self) -> list[Outcome]:
        return [o for o in self.artifacts + self.documents if not o.identical]


def compare_dists(
    a: Path,
    b: Path,
    *,
    report_dir: Path | None = None,
    hints: list[str] | None = None,
    explain_diffs: bool = True,
) -> Comparison:
    ma, mb = load_manifest(a / MANIFEST_NAME), load_manifest(b / MANIFEST_NAME)
    paths = list(dict.fromkeys([x.path for x in ma.artifacts] + [x.path for x in mb.artifacts]))
    outcomes: list[Outcome] = []
    for rel in paths:
        fa, fb = a / rel, b / rel
        if not fa.is_file() or not fb.is_file():
            which = "first" if not fa.is_file() else "second"
            outcomes.append(Outcome(path=rel, identical=False, note=f"missing in the {which}"))
            continue
        if _same_bytes(fa, fb):
            outcomes.append(Outcome(path=rel, identical=True))
            continue
        exp = explain(rel, fa, fb, report_dir, hints) if explain_diffs else None
        outcomes.append(Outcome(path=rel, identical=False, explanation=exp))
    documents = [
        Outcome(
            path=name,
            identical=(b / name).is_file() and _same_bytes(a / name, b / name),
            note="" if (b / name).is_file() else "missing in the second",
        )
        for name in (SBOM_NAME, PROVENANCE_NAME)
        if (a / name).is_file()
    ]
    same_manifest = (a / MANIFEST_NAME).read_bytes() == (b / MANIFEST_NAME).read_bytes()
    manifest_exp = None
    if not same_manifest and explain_diffs:
        manifest_exp = _manifest_diff(a / MANIFEST_NAME, b / MANIFEST_NAME)
    return Comparison(
        artifacts=outcomes,
        manifest_identical=same_manifest,
        manifest_explanation=manifest_exp,
        documents=documents,
    )


def _same_bytes(a: Path, b: Path, chunk: int = 1 << 20) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with a.open("rb") as fa, b.open("rb") as fb:
        while True:
            x, y = fa.read(chunk), fb.read(chunk)
            if x != y:
                return False
            if not x:
                return True


def _manifest_diff(a: Path, b: Path) -> Explanation:
    import difflib

    la = a.read_text().splitlines()
    lb = b.read_text().splitlines()
    lines = [
        ln
        for ln in difflib.unified_diff(la, lb, "first", "second", n=0, lineterm="")
        if ln.startswith(("+", "-")) and not ln.startswith(("+++", "---"))
    ]
    return Explanation(
        path=MANIFEST_NAME, summary=f"{len(lines)} changed line(s)", suspects=lines[:20]
    )
