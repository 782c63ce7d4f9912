"""`relbuild check`: is the config ready to build, asked without touching a
toolchain (as `goreleaser check`)? It reads the config (the schema, the
cross-table rules and the paths it names: a ConfigError, exit 2, as every
command gives), then the locks each language needs:

- a Go module whose go.mod requires modules from outside the project needs
  its go.sum (an error: Go would stop at "missing go.sum entry");
- a Cargo workspace with no Cargo.lock is a warning: relbuild locks it once
  and records that lock's digest in the release (docs/repositories.md), but
  the dependencies are pinned only when a Cargo.lock is committed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, computed_field

from relbuild.backends.gomod_text import missing_go_sum
from relbuild.config import LoadedConfig


class Finding(BaseModel):
    level: Literal["error", "warning"]
    subject: str  # the component or file it is about
    message: str
    fix: str


class CheckReport(BaseModel):
    schema_version: Literal[1] = 1
    config: str
    components: int
    targets: int
    findings: list[Finding]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return not any(f.level == "error" for f in self.findings)


def check(loaded: LoadedConfig) -> CheckReport:
    config = loaded.config
    findings: list[Finding] = []
    workspaces: dict[str, list[str]] = {}
    for name, rust in config.rust.items():
        workspaces.setdefault(rust.path, []).append(name)
    for rel, names in sorted(workspaces.items()):
        lock = loaded.root / rel / "Cargo.lock"
        if not lock.is_file():
            findings.append(
                Finding(
                    level="warning",
                    subject=", ".join(names),
                    message=f"{lock} is missing: relbuild locks the workspace once and "
                    "records that lock in the release",
                    fix=f"run `cargo generate-lockfile` in {loaded.root / rel} and commit "
                    "Cargo.lock to pin the dependencies yourself",
                )
            )
    for name in config.go:
        problem = missing_go_sum(loaded, name)
        if problem is not None:
            findings.append(
                Finding(
                    level="error",
                    subject=name,
                    message=problem,
                    fix="run `go mod tidy` in the module's folder and commit go.sum",
                )
            )
    return CheckReport(
        config=str(loaded.path),
        components=len(config.rust) + len(config.go),
        targets=len(config.targets),
        findings=findings,
    )
