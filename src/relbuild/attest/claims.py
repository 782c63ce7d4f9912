"""The one cross-check of a release's claims: what provenance.intoto.json
and sbom.cdx.json say must be what manifest.json records.

Both documents are functions of the manifest (and, for the SBOM, of what
each artifact contains): the check writes them again from the manifest,
with the functions a build writes them with, and compares field by field.
So every fact they share with the manifest is held against it: the source
revision, dirty flag and epoch, the project's name and version, the config
digest, the targets and steps, the toolchains with their digests, every
locked crate and Go module, the builder and its version, and each artifact
once with its digests. A document that holds anything else (a field
relbuild never writes) differs as well.

What the manifest does not record is checked as far as it can be:

- the config's file name (the manifest has its digest only) must be a
  plain file name;
- the packages nested under an artifact in the SBOM (the manifest records
  the locked dependencies, not which artifact holds which) must each be a
  locked dependency of the manifest with the same digest, of the language
  of the step that built the artifact; headers and archives hold none.
  Crates of the project itself (source "path") and Go modules replaced by a
  local folder are not locked, so the manifest cannot name them.

The subjects of the provenance (digests of the files themselves) are
:mod:`relbuild.verify.attestations`'s.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from relbuild.attest import (
    MAX_SBOM_VALUES,
    MAX_STATEMENT_VALUES,
    PROVENANCE_NAME,
    SBOM_NAME,
    load_json,
)
from relbuild.attest.contents import Contents
from relbuild.attest.provenance import ConfigRef, make_statement
from relbuild.attest.readback import ReadbackError, contents_from_sbom
from relbuild.attest.sbom import make_sbom
from relbuild.release.dist import Manifest

# Differences reported per document; the rest are counted.
MAX_CLAIMS = 20

_ABSENT = object()
# A list of objects is compared by the first of these that names each of
# its entries once (subjects, components, dependencies, hashes, properties,
# targets); any other list entry by entry.
_LIST_KEYS = ("bom-ref", "ref", "uri", "name", "alg", "triple")
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_@:+#-]+")
_CONFIG_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,254}")


@dataclass(frozen=True)
class Claim:
    """A claim of ``file`` that the manifest does not back: ``field`` is its
    place in the document, ``detail`` what it says and what is recorded."""

    file: str
    field: str
    detail: str


class _ClaimError(ValueError):
    pass


def claims(manifest: Manifest, provenance: bytes | None, sbom: bytes | None) -> list[Claim]:
    """Every claim of the two documents (None: absent) the manifest does not
    back, and a document without the other."""
    out: list[Claim] = []
    if sbom is not None and provenance is None:
        out.append(Claim(PROVENANCE_NAME, "", f"missing, though {SBOM_NAME} is there"))
    if provenance is not None:
        if sbom is None:
            out.append(Claim(SBOM_NAME, "", f"missing, though {PROVENANCE_NAME} is there"))
        out += provenance_claims(manifest, provenance)
    if sbom is not None:
        out += sbom_claims(manifest, sbom)
    return out


# --- the provenance ------------------------------------------------------------------


def provenance_claims(
    manifest: Manifest, statement: bytes, where: str = PROVENANCE_NAME
) -> list[Claim]:
    """The statement's claims the manifest does not back (its subjects
    aside). A statement that is not a JSON object gives none: reading its
    subjects says why it is unusable."""
    try:
        doc = load_json(statement, _ClaimError, max_values=MAX_STATEMENT_VALUES)
    except _ClaimError:
        return []
    if not isinstance(doc, dict):
        return []
    got = json.loads(json.dumps(doc))  # a copy to trim
    out: list[Claim] = []
    predicate = got.get("predicate")
    run = predicate.get("runDetails") if isinstance(predicate, dict) else None
    if isinstance(run, dict) and "metadata" in run:
        # The run's id and times differ on every build (`--run-metadata`).
        meta = run.pop("metadata")
        if not (
            isinstance(meta, dict)
            and set(meta) <= {"invocationId", "startedOn", "finishedOn"}
            and all(isinstance(v, str) for v in meta.values())
        ):
            out.append(
                Claim(where, "predicate.runDetails.metadata", "not an invocation id and two times")
            )
    name = _config_name(got)
    if name is not None and not _CONFIG_NAME.fullmatch(name):
        out.append(
            Claim(
                where,
                "predicate.buildDefinition.externalParameters.config.path",
                f"{_show(name)} is not a plain file name (a build names its config file so)",
            )
        )
    config = None
    if manifest.config_digest is not None:
        config = ConfigRef(name or "", manifest.config_digest)
    want = json.loads(make_statement(manifest, {}, config))
    # The subjects are held against the files themselves, elsewhere.
    got.pop("subject", None)
    want.pop("subject", None)
    out += _claims_of(where, want, got)
    return out


def _config_name(doc: dict[str, Any]) -> str | None:
    try:
        name = doc["predicate"]["buildDefinition"]["externalParameters"]["config"]["path"]
    except (KeyError, TypeError):
        return None
    return name if isinstance(name, str) else None


# --- the SBOM ----------------------------------------------------------------------


def sbom_claims(manifest: Manifest, sbom: bytes) -> list[Claim]:
    """The SBOM's claims the manifest does not back."""
    try:
        contents = contents_from_sbom(sbom)
        got = load_json(sbom, _ClaimError, max_values=MAX_SBOM_VALUES)
    except (ReadbackError, _ClaimError) as exc:
        return [Claim(SBOM_NAME, "", f"unusable: {str(exc).removeprefix(SBOM_NAME + ': ')}")]
    if not isinstance(got, dict) or got.get("bomFormat") != "CycloneDX":
        return [Claim(SBOM_NAME, "bomFormat", "not a CycloneDX document")]
    listed = {a.path for a in manifest.artifacts}
    mine = {path: held for path, held in contents.items() if path in listed}
    out = package_claims(manifest, mine)
    try:
        want = json.loads(make_sbom(manifest, mine))
    except (ValueError, TypeError, KeyError) as exc:
        # A name the purl or CycloneDX models refuse.
        return [*out, Claim(SBOM_NAME, "components", f"cannot be written again: {exc}"[:300])]
    return out + _claims_of(SBOM_NAME, want, got)


def package_claims(manifest: Manifest, contents: dict[str, Contents]) -> list[Claim]:
    """Each package nested under an artifact must be a locked dependency of
    the manifest, with its digest, of the language the artifact was built
    with."""
    crates = {(d.name, d.version, d.source): d.checksum for d in manifest.dependencies.rust}
    modules = {(d.path, d.version): d.sum for d in manifest.dependencies.go}
    languages = _languages(manifest)
    out: list[Claim] = []
    for art in manifest.artifacts:
        held = contents.get(art.path)
        if held is None:
            continue
        allowed = languages.get((art.target, art.component)) or languages.get(
            (None, art.component), {"cargo", "golang"}
        )
        if art.kind in ("header", "archive"):
            allowed = set()
        for pkg in held.packages:
            field = f"components[{_seg(art.path)}].components[{_seg(f'{art.path}#{pkg.key}')}]"
            if pkg.ecosystem not in allowed:
                what = ", ".join(sorted(allowed)) or "no packages"
                out.append(
                    Claim(
                        SBOM_NAME,
                        field,
                        f"a {pkg.ecosystem} package under a {art.kind} the manifest records as "
                        f"built with {what}",
                    )
                )
                continue
            if pkg.ecosystem == "cargo":
                if pkg.source == "path":
                    continue  # the project's own crate: not locked
                key = (pkg.name, pkg.version, pkg.source)
                if key not in crates:
                    out.append(
                        Claim(
                            SBOM_NAME,
                            field,
                            f"crate {_show(pkg.name)} {_show(pkg.version)} from "
                            f"{_show(pkg.source)} is not in the manifest's dependencies",
                        )
                    )
                elif crates[key] != pkg.digest:
                    out.append(_digest_claim(field, pkg.digest, crates[key]))
            else:
                if pkg.digest is None and pkg.replaces is None:
                    continue  # replaced by a local folder: go.sum has no sum
                if (pkg.name, pkg.version) not in modules:
                    out.append(
                        Claim(
                            SBOM_NAME,
                            field,
                            f"Go module {_show(pkg.name)} {_show(pkg.version)} is not in the "
                            "manifest's dependencies",
                        )
                    )
                elif modules[(pkg.name, pkg.version)] != pkg.digest:
                    out.append(_digest_claim(field, pkg.digest, modules[(pkg.name, pkg.version)]))
    return out[:MAX_CLAIMS]


def _languages(manifest: Manifest) -> dict[tuple[str | None, str | None], set[str]]:
    """(target, component) -> the package ecosystems of the steps that built
    it; (None, component) -> those of any target."""
    ecosystem = {"cargo": "cargo", "go": "golang"}
    out: dict[tuple[str | None, str | None], set[str]] = {}
    for step in manifest.steps:
        eco = ecosystem.get(step.tool)
        if eco is not None:
            out.setdefault((step.target, step.component), set()).add(eco)
            out.setdefault((None, step.component), set()).add(eco)
    return out


def _digest_claim(field: str, got: str | None, want: str | None) -> Claim:
    return Claim(
        SBOM_NAME,
        field,
        f"digest {_show(got)} in {SBOM_NAME}, the manifest's dependencies record {_show(want)}",
    )


# --- comparing two documents ----------------------------------------------------------


def _claims_of(where: str, want: object, got: object) -> list[Claim]:
    out: list[Claim] = []
    count = 0
    for field, detail in _diff("", want, got, where):
        count += 1
        if count <= MAX_CLAIMS:
            out.append(Claim(where, field, detail))
    if count > MAX_CLAIMS:
        out.append(Claim(where, "", f"and {count - MAX_CLAIMS} more differences"))
    return out


def _diff(path: str, want: object, got: object, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(want, dict) and isinstance(got, dict):
        for key in sorted(want.keys() | got.keys()):
            yield from _diff(_join(path, key), want.get(key, _ABSENT), got.get(key, _ABSENT), where)
    elif isinstance(want, list) and isinstance(got, list):
        yield from _diff_list(path, want, got, where)
    elif not (type(want) is type(got) and want == got):
        if want is _ABSENT:
            yield path, f"{_show(got)} in {where}; the manifest gives nothing there"
        elif got is _ABSENT:
            yield path, f"missing from {where}; the manifest gives {_show(want)}"
        else:
            yield path, f"{_show(got)} in {where}; the manifest gives {_show(want)}"


def _diff_list(path: str, want: list[Any], got: list[Any], where: str) -> Iterator[tuple[str, str]]:
    key = _key_of(want)
    if key is None:
        if len(want) != len(got):
            yield path, f"{len(got)} entries in {where}, the manifest records {len(want)}"
        for i, (w, g) in enumerate(zip(want, got, strict=False)):
            yield from _diff(f"{path}[{i}]", w, g, where)
        return
    mine: dict[str, Any] = {}
    for i, item in enumerate(got):
        name = item.get(key) if isinstance(item, dict) else None
        if not isinstance(name, str):
            yield f"{path}[{i}]", f"an entry without a {key} in {where}"
        elif name in mine:
            yield f"{path}[{_seg(name)}]", f"listed more than once in {where}; the manifest: once"
        else:
            mine[name] = item
    for item in want:
        yield from _diff(f"{path}[{_seg(item[key])}]", item, mine.pop(item[key], _ABSENT), where)
    for name, item in mine.items():
        yield from _diff(f"{path}[{_seg(name)}]", _ABSENT, item, where)


def _key_of(items: list[Any]) -> str | None:
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in _LIST_KEYS:
        names = [i.get(key) for i in items]
        if all(isinstance(n, str) for n in names) and len(set(names)) == len(names):
            return key
    return None


def _seg(name: str) -> str:
    return name if _PLAIN_KEY.fullmatch(name.replace("/", "").replace(".", "")) else _show(name)


def _join(path: str, key: str) -> str:
    key = key if _PLAIN_KEY.fullmatch(key) else _show(key)
    return f"{path}.{key}" if path else key


def _show(value: object) -> str:
    """A value as JSON, ASCII only (no control character reaches a terminal),
    shortened."""
    if value is _ABSENT:
        return "nothing"
    text = json.dumps(value, ensure_ascii=True, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."
