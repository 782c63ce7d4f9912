"""The JSON shapes of the commands that only say what they wrote (init,
keygen, sign, ci, the history list, plan's matrix); the registry of every
report is relbuild.cli.reports."""

from __future__ import annotations

from pydantic import BaseModel


class InitWritten(BaseModel):
    """`relbuild init --json`."""

    config: str
    notes: list[str]


class KeysWritten(BaseModel):
    """`relbuild keygen --json`."""

    key_type: str
    private: str
    public: str
    encrypted: bool


class SignedFiles(BaseModel):
    """`relbuild sign --json`: the files written (none when the key had signed already)."""

    folder: str
    key_type: str
    written: list[str]


class Workflow(BaseModel):
    """`relbuild ci github|gitlab --json`: the workflow text and where it goes."""

    ci: str
    path: str
    text: str


class HistoryList(BaseModel):
    """`relbuild history list --json`."""

    releases: list[dict[str, object]]


class Matrix(BaseModel):
    """`relbuild plan --matrix --json`: the matrix, as the CI reads it."""

    ci: str
    matrix: dict[str, object]
