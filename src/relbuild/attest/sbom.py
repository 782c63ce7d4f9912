"""`sbom.cdx.json`: one CycloneDX 1.6 document per release.

- ``metadata.component`` is the project; ``metadata.tools`` names relbuild;
  ``metadata.timestamp`` is SOURCE_DATE_EPOCH, never the clock.
- One top-level component per artifact of the manifest, bom-ref = its path
  in the dist, name = its file name, with its SHA-256 and SHA-512; firmware
  and its images are typed ``firmware``, programs ``application``, static
  libraries ``library``, headers and archives ``file``.
- Nested under each artifact (``components``: what it contains), the
  packages it really holds (see :mod:`relbuild.attest.contents`), bom-ref
  ``<artifact path>#<ecosystem>:<name>@<version>``; purls ``pkg:cargo/...``
  for crates.io crates, ``pkg:golang/...`` for Go modules.
- ``dependencies`` holds the graph: artifact -> its direct packages and the
  artifacts it links (a Go program -> its Rust staticlib), package -> the
  packages it uses, archive -> the artifacts it packs.
- Toolchains are top-level components too (``toolchain:<name>``).
- ``serialNumber`` is a UUID derived from the rest of the document, so the
  same release gives the same bytes.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

from relbuild.attest.contents import Contents, Package
from relbuild.attest.provenance import relbuild_version
from relbuild.release.dist import ArtifactRecord, Manifest

# Serial numbers are uuid5 in this namespace of the document's digest.
SERIAL_NAMESPACE = uuid.UUID("0f0a5b8e-6a1c-5c4e-9a7e-72656c627569")

_TYPES = {
    "executable": "application",
    "staticlib": "library",
    "header": "file",
    "firmware": "firmware",
    "image": "firmware",
    "archive": "file",
    "file": "file",
}


def make_sbom(manifest: Manifest, contents: Mapping[str, Contents]) -> bytes:
    """The SBOM of a release: ``contents`` maps an artifact's path to what
    it holds (artifacts without an entry hold nothing relbuild knows of)."""
    from cyclonedx.model import HashAlgorithm, HashType, Property
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output.json import JsonV1Dot6
    from packageurl import PackageURL

    def prop(name: str, value: str | None) -> list[Property]:
        return [Property(name=f"relbuild:{name}", value=value)] if value else []

    def package_component(art: ArtifactRecord, pkg: Package) -> Component:
        hashes = []
        if pkg.ecosystem == "cargo" and pkg.digest:
            hashes.append(HashType(alg=HashAlgorithm.SHA_256, content=pkg.digest))
        props = [
            *prop("source", pkg.source),
            *prop("location", pkg.location),
            *prop("features", ",".join(pkg.features)),
            *prop("h1", pkg.digest if pkg.ecosystem == "golang" else None),
            *prop("replaces", pkg.replaces),
        ]
        return Component(
            type=ComponentType.LIBRARY,
            name=pkg.name,
            version=pkg.version,
            bom_ref=f"{art.path}#{pkg.key}",
            purl=PackageURL.from_string(pkg.purl) if pkg.purl else None,
            hashes=hashes,
            properties=props,
        )

    bom = Bom()
    bom.serial_number = uuid.UUID(int=0)
    project = manifest.project
    bom.metadata.component = root = Component(
        type=ComponentType.APPLICATION,
        name=project.name,
        version=project.version,
        bom_ref=f"project:{project.name}@{project.version}",
        properties=[
            *prop("source.revision", manifest.source.revision if manifest.source else None),
            *prop("source.dirty", str(manifest.source.dirty).lower() if manifest.source else None),
        ],
    )
    bom.metadata.tools.components.add(
        Component(
            type=ComponentType.APPLICATION,
            name="relbuild",
            version=relbuild_version(manifest),
            bom_ref="tool:relbuild",
            purl=PackageURL(type="pypi", name="relbuild", version=relbuild_version(manifest)),
        )
    )
    if manifest.source is not None:
        bom.metadata.timestamp = datetime.fromtimestamp(manifest.source.source_date_epoch, tz=UTC)

    for name, tool in sorted(manifest.toolchains.items()):
        bom.components.add(
            Component(
                type=ComponentType.APPLICATION,
                name=name,
                version=tool.release,
                bom_ref=f"toolchain:{name}",
                description="toolchain that built the artifacts",
                # The SHA-256 of its main executable (rustc, go, zig).
                hashes=[HashType(alg=HashAlgorithm.SHA_256, content=tool.sha256)]
                if tool.sha256
                else [],
                properties=[*prop("role", "toolchain"), *prop("commit", tool.commit)],
            )
        )

    by_path: dict[str, Component] = {}
    for art in manifest.artifacts:
        comp = Component(
            type=ComponentType(_TYPES[art.kind]),
            name=art.path.rsplit("/", 1)[-1],
            version=project.version,
            bom_ref=art.path,
            hashes=[
                HashType(alg=HashAlgorithm.SHA_256, content=art.sha256),
                HashType(alg=HashAlgorithm.SHA_512, content=art.sha512),
            ],
            properties=[
                *prop("path", art.path),
                *prop("kind", art.kind),
                *prop("target", art.target),
                *prop("component", art.component),
            ],
        )
        by_path[art.path] = comp
        bom.components.add(comp)

    for art in manifest.artifacts:
        comp = by_path[art.path]
        held = contents.get(art.path, Contents())
        nested = {pkg.key: package_component(art, pkg) for pkg in held.packages}
        for child in nested.values():
            comp.components.add(child)
        for pkg in held.packages:
            bom.register_dependency(nested[pkg.key], [nested[k] for k in pkg.depends])
        uses = [nested[k] for k in held.direct]
        uses += [by_path[p] for p in held.links if p in by_path]
        if art.kind == "archive":
            uses += [
                by_path[a.path]
                for a in manifest.artifacts
                if a.target == art.target and a.kind != "archive"
            ]
        bom.register_dependency(comp, uses)

    bom.register_dependency(root, list(by_path.values()))

    def render() -> bytes:
        return (JsonV1Dot6(bom).output_as_string(indent=2) + "\n").encode()

    # The serial number is derived from everything else in the document.
    bom.serial_number = uuid.uuid5(SERIAL_NAMESPACE, hashlib.sha256(render()).hexdigest())
    return render()
