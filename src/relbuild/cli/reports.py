"""Every JSON report a command prints, by name: `relbuild schema NAME`
exports its JSON Schema, and each carries ``schema_version``
(relbuild.system.ui.REPORT_SCHEMA_VERSION, added where it is printed).

The models live with the code that makes each report; the few shapes that
are only what a command says it wrote are in cli/shapes.py. Nothing is
imported until a schema is asked for: `relbuild --help` stays instant."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import BaseModel


REPORTS: dict[str, str] = {
    "abi": "relbuild.abi.model:AbiReport",
    "build": "relbuild.pipeline.model:BuildResult",
    "ci": "relbuild.cli.shapes:Workflow",
    "diff": "relbuild.proofs.diff:DiffReport",
    "doctor": "relbuild.project.doctor:DoctorReport",
    "history-add": "relbuild.series.ingest:AddReport",
    "history-check": "relbuild.series.check:CheckReport",
    "history-list": "relbuild.cli.shapes:HistoryList",
    "history-verify": "relbuild.verify.series:SeriesReport",
    "init": "relbuild.cli.shapes:InitWritten",
    "keygen": "relbuild.cli.shapes:KeysWritten",
    "matrix": "relbuild.cli.shapes:Matrix",
    "merge": "relbuild.ci.merge:MergeReport",
    "plan": "relbuild.pipeline.model:Plan",
    "repro": "relbuild.proofs.repro:ReproReport",
    "report": "relbuild.series.report:ReportResult",
    "rollback-test": "relbuild.proofs.rollback:RollbackReport",
    "sign": "relbuild.cli.shapes:SignedFiles",
    "size": "relbuild.verify.size:SizeReport",
    "test": "relbuild.verify.smoke:SmokeReport",
    "unit": "relbuild.pipeline.unit:UnitReport",
    "verify": "relbuild.verify.findings:VerifyReport",
    "verify-rebuild": "relbuild.proofs.rebuild:VerifyRebuildReport",
}
"""Report name -> "module:Model". `manifest --json` prints the manifest
(`relbuild schema manifest`), which has carried its own schema_version all along."""


def model(name: str) -> type[BaseModel]:
    module, _, attr = REPORTS[name].partition(":")
    found: type[BaseModel] = getattr(importlib.import_module(module), attr)
    return found
