"""What a dist's own supply-chain files say, read back: the contents of
each artifact from ``sbom.cdx.json`` and the config reference from
``provenance.intoto.json``.

`relbuild merge` has no source tree (a part came back from a runner), so
it rebuilds the merged release's SBOM and provenance from the parts' own,
with the same functions a build writes them with: the merged files are
then the bytes a one-machine build writes.
"""

from __future__ import annotations

from typing import Any

from relbuild.attest import load_json
from relbuild.attest.contents import Contents, Package
from relbuild.attest.provenance import ConfigRef


class ReadbackError(ValueError):
    """Why a supply-chain file cannot be read back (one sentence)."""


def _doc(data: bytes, what: str) -> dict[str, Any]:
    try:
        doc = load_json(data, ReadbackError)
    except ReadbackError as exc:
        raise ReadbackError(f"{what} is {exc}") from None
    if not isinstance(doc, dict):
        raise ReadbackError(f"{what} is not a JSON object")
    return doc


def _props(component: dict[str, Any]) -> dict[str, str]:
    out = {}
    for p in component.get("properties") or []:
        if isinstance(p, dict) and str(p.get("name", "")).startswith("relbuild:"):
            out[str(p["name"]).removeprefix("relbuild:")] = str(p.get("value", ""))
    return out


def contents_from_sbom(data: bytes) -> dict[str, Contents]:
    """{artifact path: Contents} as ``make_sbom`` wrote them."""
    doc = _doc(data, "sbom.cdx.json")
    graph: dict[str, list[str]] = {}
    for dep in doc.get("dependencies") or []:
        if isinstance(dep, dict) and isinstance(dep.get("ref"), str):
            graph[dep["ref"]] = [str(r) for r in dep.get("dependsOn") or []]
    artifacts: dict[str, dict[str, Any]] = {}
    for comp in doc.get("components") or []:
        if not isinstance(comp, dict):
            raise ReadbackError("sbom.cdx.json: a component is not an object")
        props = _props(comp)
        if "path" in props:
            artifacts[props["path"]] = comp
    out: dict[str, Contents] = {}
    for path, comp in artifacts.items():
        packages = []
        for child in comp.get("components") or []:
            ref = str(child.get("bom-ref", ""))
            prefix = f"{path}#"
            if not ref.startswith(prefix):
                raise ReadbackError(
                    f"sbom.cdx.json: {ref!r} is nested under {path} but not named so"
                )
            key = ref.removeprefix(prefix)
            ecosystem = key.partition(":")[0]
            if ecosystem not in ("cargo", "golang"):
                raise ReadbackError(f"sbom.cdx.json: {ref!r} is neither a crate nor a Go module")
            props = _props(child)
            sha256 = next(
                (h.get("content") for h in child.get("hashes") or [] if h.get("alg") == "SHA-256"),
                None,
            )
            packages.append(
                Package(
                    ecosystem="cargo" if ecosystem == "cargo" else "golang",
                    name=str(child.get("name", "")),
                    version=str(child.get("version", "")),
                    source=props.get("source", ""),
                    digest=sha256 if ecosystem == "cargo" else props.get("h1"),
                    features=tuple(f for f in props.get("features", "").split(",") if f),
                    depends=tuple(r.removeprefix(prefix) for r in graph.get(ref, [])),
                    location=props.get("location"),
                    replaces=props.get("replaces"),
                )
            )
        uses = graph.get(path, [])
        direct = tuple(r.removeprefix(f"{path}#") for r in uses if r.startswith(f"{path}#"))
        # An archive's links to what it packs are derived from the manifest again.
        kind = _props(comp).get("kind")
        links = () if kind == "archive" else tuple(r for r in uses if r in artifacts)
        out[path] = Contents(packages=tuple(packages), direct=direct, links=links)
    return out


def config_from_statement(data: bytes) -> ConfigRef | None:
    """The config reference of a provenance statement, if it names one."""
    doc = _doc(data, "provenance.intoto.json")
    try:
        config = doc["predicate"]["buildDefinition"]["externalParameters"].get("config")
    except (KeyError, AttributeError, TypeError):
        raise ReadbackError("provenance.intoto.json has no buildDefinition") from None
    if config is None:
        return None
    try:
        return ConfigRef(str(config["path"]), str(config["digest"]["sha256"]))
    except (KeyError, TypeError):
        raise ReadbackError("provenance.intoto.json: config needs a path and a sha256") from None
