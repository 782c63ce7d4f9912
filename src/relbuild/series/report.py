"""`relbuild report`: the history as one self-contained HTML file.

Plots over the series (size per artifact; flash and RAM per firmware
against its budget; build CPU time per target and step; checksum time),
the releases as a table, and the latest release against the one before as
a changelog. No script, no network: a Content-Security-Policy forbids any
fetch, and every plot is inline SVG. The same history gives the same bytes.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, computed_field

from relbuild.errors import UsageError
from relbuild.series import check, plots
from relbuild.series.changelog import Changelog, changelog
from relbuild.series.store import Release
from relbuild.system.escaping import shown
from relbuild.system.fsutil import atomic_write

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1,h2,h3{font-weight:600} table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border-bottom:1px solid #ddd;padding:.25em .7em;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums} figure.plot{margin:1em 0}
figure.plot svg{max-width:100%;height:auto} .added{color:#075} .removed{color:#b00}
.changed{color:#a60} code{font-size:90%}
"""


class ReportResult(BaseModel):
    out: str
    releases: int
    plots: int
    bytes: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return True


def report(db_path: Path, out: Path) -> ReportResult:
    releases = check.load(db_path)
    if not releases:
        raise UsageError(f"{shown(db_path)}: the history holds no release to report on")
    project = releases[-1].manifest.project.name
    series = [r for r in releases if r.manifest.project.name == project]
    text, count = render(series)
    data = text.encode()
    atomic_write(out, data)
    return ReportResult(out=str(out), releases=len(series), plots=count, bytes=len(data))


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _plots(series: list[Release]) -> list[tuple[str, str]]:
    """(id, inline SVG) of each plot the history has data for."""
    versions = [r.version for r in series]
    out: list[tuple[str, str]] = []
    sizes = [check.sizes(r) for r in series]
    by = {
        m: plots.by_release(series, [{s: v for (mm, s), v in x.items() if mm == m} for x in sizes])
        for m in ("size", "flash", "ram")
    }
    out.append(
        ("sizes", plots.line_plot("Size per artifact", "KiB", versions, by["size"], scale=1024))
    )
    latest_fp = {
        check.artifact_key(a, series[-1].version): a.footprint
        for r in series[-1:]
        for a in r.manifest.artifacts
        if a.footprint is not None
    }
    for measure, label in (("flash", "Flash"), ("ram", "RAM")):
        if by[measure]:
            budgets = {
                k: float(b)
                for k, fp in latest_fp.items()
                if (b := fp.flash_budget if measure == "flash" else fp.ram_budget)
            }
            title = f"{label} per firmware (dashed: its budget)"
            out.append((measure, plots.line_plot(title, "bytes", versions, by[measure], budgets)))
    cpu = [{f"{s.target} {s.component}": s.cpu_seconds for s in r.measured.steps} for r in series]
    if any(cpu):
        title = "Build CPU time per target and step (user + system, its process tree)"
        out.append(
            ("build-cpu", plots.line_plot(title, "s", versions, plots.by_release(series, cpu)))
        )
    sums = [
        {
            k: v
            for k, v in (
                ("wall", r.measured.checksum_seconds),
                ("CPU", r.measured.checksum_cpu),
            )
            if v is not None
        }
        for r in series
    ]
    if any(sums):
        title = "Checksum time: SHA-256 and SHA-512 of the dist"
        out.append(
            ("checksum-time", plots.line_plot(title, "s", versions, plots.by_release(series, sums)))
        )
    return out


def _num(x: float | None, fmt: str = "{:.2f}") -> str:
    return "-" if x is None else fmt.format(x)


def _releases_table(series: list[Release]) -> str:
    rows = []
    for r in series:
        m, got = r.manifest, r.measured
        date = datetime.fromtimestamp(m.source.source_date_epoch, UTC) if m.source else None
        rows.append(
            "<tr>"
            f"<td>{_e(r.version)}</td>"
            f"<td><code>{_e((m.source.revision or '-')[:12] if m.source else '-')}</code></td>"
            f"<td>{_e(date.strftime('%Y-%m-%d %H:%M') if date else '-')}</td>"
            f"<td class=n>{len(m.artifacts)}</td>"
            f"<td class=n>{sum(a.size for a in m.artifacts):,}</td>"
            f"<td class=n>{_num(got.build_seconds)}</td>"
            f"<td class=n>{_num(got.build_cpu)}</td>"
            f"<td class=n>{_num(got.checksum_seconds, '{:.4f}')}</td>"
            f"<td>{_e(r.machine_class or '-')}</td></tr>"
        )
    head = (
        "<tr><th>version</th><th>revision</th><th>date (SOURCE_DATE_EPOCH)</th>"
        "<th>artifacts</th><th>bytes</th><th>build s</th><th>build CPU s</th>"
        "<th>checksum s</th><th>machine</th></tr>"
    )
    return f"<table id=releases>{head}{''.join(rows)}</table>"


def _changelog(log: Changelog) -> str:
    parts = [f"<h2 id=changelog>Changes from {_e(log.older)} to {_e(log.newer)}</h2>"]
    for title, changes in log.sections:
        parts.append(f"<h3>{_e(title)}</h3>")
        if not changes:
            parts.append("<p>No change.</p>")
            continue
        rows = "".join(
            f"<tr class={c.what}><td class={c.what}>{c.what}</td><td>{_e(c.subject)}</td>"
            f"<td>{_e(c.before)}</td><td>{_e(c.after)}</td></tr>"
            for c in changes
        )
        parts.append(
            f"<table><tr><th></th><th></th><th>{_e(log.older)}</th><th>{_e(log.newer)}</th></tr>"
            f"{rows}</table>"
        )
    return "\n".join(parts)


def render(series: list[Release]) -> tuple[str, int]:
    """The HTML text and the number of plots (pure: same series, same text)."""
    project = series[-1].manifest.project.name
    figures = _plots(series)
    body = [
        f"<h1>{_e(project)}: {len(series)} release(s), {_e(series[0].version)} to "
        f"{_e(series[-1].version)}</h1>",
        "<h2>Releases</h2>",
        _releases_table(series),
        "<h2>Over the series</h2>",
        *(f'<figure class="plot" id="plot-{k}">{svg}</figure>' for k, svg in figures),
    ]
    if len(series) > 1:
        body.append(_changelog(changelog(series[-2], series[-1])))
    else:
        body.append("<p>One release: no changelog yet.</p>")
    doc = (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>{_e(project)} releases</title><style>{CSS}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
    return doc, len(figures)
