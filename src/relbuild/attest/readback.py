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

from relbuild.attest import MAX_SBOM_VALUES, MAX_STATEMENT_VALUES, load_json
from relbuild.attest.contents import Contents, Package
from relbuild.attest.provenance import ConfigRef


class ReadbackError(ValueError):
    """Why a supply-chain file cannot be read back (one sentence)."""


def _doc(data: bytes, what: str, max_values: int) -> dict[str, Any]:
    try:
        doc = load_json(data, ReadbackError, max_values=max_values)
    except ReadbackError as exc:
        raise ReadbackError(f"{what} is {exc}") from None
    if not isinstance(doc, dict):
        raise ReadbackError(f"{what} is not a JSON object")
    return doc


def _list(value: object, what: str) -> list[Any]:
    """A JSON array (absent or null: empty), else why not."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ReadbackError(f"sbom.cdx.json: {what} is not a list")
    return value


def _objects(value: object, what: str) -> list[dict[str, Any]]:
    items = _list(value, what)
    for item in items:
        if not isinstance(item, dict):
            raise ReadbackError(f"sbom.cdx.json: an entry of {what} is not an object")
    return items


def _text(component: dict[str, Any], key: str, what: str) -> str:
    value = component.get(key, "")
    if not isinstance(value, str):
        raise ReadbackError(f"sbom.cdx.json: {key} of {what} is not a string")
    return value


def _props(component: dict[str, Any], what: str) -> dict[str, str]:
    out = {}
    for p in _objects(component.get("properties"), f"the properties of {what}"):
        name, value = p.get("name"), p.get("value", "")
        if not isinstance(name, str) or not isinstance(value, str):
            raise ReadbackError(f"sbom.cdx.json: a property of {what} is not a name and a value")
        if name.startswith("relbuild:"):
            out[name.removeprefix("relbuild:")] = value
    return out


def _sha256(component: dict[str, Any], what: str) -> str | None:
    found = None
    for h in _objects(component.get("hashes"), f"the hashes of {what}"):
        alg, content = h.get("alg"), h.get("content")
        if not isinstance(alg, str) or not isinstance(content, str):
            raise ReadbackError(f"sbom.cdx.json: a hash of {what} is not an alg and a content")
        if alg == "SHA-256" and found is None:
            found = content
    return found


def _graph(doc: dict[str, Any]) -> dict[str, list[str]]:
    graph: dict[str, list[str]] = {}
    for dep in _objects(doc.get("dependencies"), "dependencies"):
        ref = dep.get("ref")
        if not isinstance(ref, str):
            raise ReadbackError("sbom.cdx.json: an entry of dependencies has no ref")
        uses = _list(dep.get("dependsOn"), f"dependsOn of {ref!r}")
        if not all(isinstance(r, str) for r in uses):
            raise ReadbackError(f"sbom.cdx.json: dependsOn of {ref!r} holds a non-string")
        graph[ref] = uses
    return graph


def contents_from_sbom(data: bytes) -> dict[str, Contents]:
    """{artifact path: Contents} as ``make_sbom`` wrote them. Any other shape
    is a ReadbackError (one sentence), whatever the document holds; what is
    read is what ``make_sbom`` needs, so it can write the document again
    (and a document that reads back but is not what it writes differs from
    that, which :mod:`relbuild.attest.claims` reports)."""
    doc = _doc(data, "sbom.cdx.json", MAX_SBOM_VALUES)
    graph = _graph(doc)
    artifacts: dict[str, dict[str, Any]] = {}
    for comp in _objects(doc.get("components"), "components"):
        props = _props(comp, "a component")
        if "path" in props:
            artifacts[props["path"]] = comp
    out: dict[str, Contents] = {}
    for path, comp in artifacts.items():
        packages: dict[str, Package] = {}
        prefix = f"{path}#"
        for child in _objects(comp.get("components"), f"the components of {path!r}"):
            ref = _text(child, "bom-ref", f"a component under {path!r}")
            if not ref.startswith(prefix):
                raise ReadbackError(
                    f"sbom.cdx.json: {ref!r} is nested under {path!r} but not named so"
                )
            key = ref.removeprefix(prefix)
            ecosystem = key.partition(":")[0]
            if ecosystem not in ("cargo", "golang"):
                raise ReadbackError(f"sbom.cdx.json: {ref!r} is neither a crate nor a Go module")
            props = _props(child, repr(ref))
            name, version = _text(child, "name", repr(ref)), _text(child, "version", repr(ref))
            if not name or not version:
                raise ReadbackError(f"sbom.cdx.json: {ref!r} needs a name and a version")
            depends = []
            for r in graph.get(ref, []):
                if not r.startswith(prefix):
                    raise ReadbackError(
                        f"sbom.cdx.json: {ref!r} depends on {r!r}, which is not under {path!r}"
                    )
                depends.append(r.removeprefix(prefix))
            package = Package(
                ecosystem="cargo" if ecosystem == "cargo" else "golang",
                name=name,
                version=version,
                source=props.get("source", ""),
                digest=_sha256(child, repr(ref)) if ecosystem == "cargo" else props.get("h1"),
                features=tuple(f for f in props.get("features", "").split(",") if f),
                depends=tuple(depends),
                location=props.get("location"),
                replaces=props.get("replaces"),
            )
            if package.key != key:
                raise ReadbackError(
                    f"sbom.cdx.json: {ref!r} is named {package.name!r} {package.version!r}, "
                    "not what its bom-ref says"
                )
            packages[key] = package
        uses = graph.get(path, [])
        direct = tuple(r.removeprefix(prefix) for r in uses if r.startswith(prefix))
        for key in (*direct, *(d for p in packages.values() for d in p.depends)):
            if key not in packages:
                raise ReadbackError(
                    f"sbom.cdx.json: {prefix + key!r} is used under {path!r} but not nested there"
                )
        # An archive's links to what it packs are derived from the manifest again.
        kind = _props(comp, repr(path)).get("kind")
        links = () if kind == "archive" else tuple(r for r in uses if r in artifacts)
        out[path] = Contents(packages=tuple(packages.values()), direct=direct, links=links)
    return out


def config_from_statement(data: bytes) -> ConfigRef | None:
    """The config reference of a provenance statement, if it names one."""
    doc = _doc(data, "provenance.intoto.json", MAX_STATEMENT_VALUES)
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
