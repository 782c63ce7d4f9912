"""The report's plots: matplotlib figures written as SVG text, the same
bytes for the same history (a fixed hash salt for element ids, no date in
the metadata, text kept as text rather than glyph outlines)."""

from __future__ import annotations

import io
import re
from typing import Any

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from relbuild.series.store import Release

MAX_LINES = 10  # lines per plot: the largest subjects, the rest named as left out
STYLE: Any = {
    "svg.hashsalt": "relbuild-report",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    # Names come from the history, which may be hostile: never read as math.
    "text.parse_math": False,
}
_PROLOG = re.compile(rb"^.*?(?=<svg)", re.S)

Series = dict[str, list[float | None]]


def svg(fig: Figure) -> str:
    """The figure as an <svg> element to inline (no XML prolog or doctype)."""
    buf = io.BytesIO()
    with mpl.rc_context(STYLE):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    return _PROLOG.sub(b"", buf.getvalue(), count=1).decode()


def _figure(title: str, ylabel: str) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(9, 3.6), layout="constrained")
    ax: Axes = fig.subplots()
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    return fig, ax


def line_plot(
    title: str,
    ylabel: str,
    versions: list[str],
    series: Series,
    limits: dict[str, float] | None = None,
    scale: float = 1.0,
) -> str:
    """One line per subject over the releases (None: not in that release);
    ``limits``: a dashed level per subject (a budget). The ``MAX_LINES``
    subjects largest in the latest release are drawn."""
    with mpl.rc_context(STYLE):
        fig, ax = _figure(title, ylabel)
        latest = {
            k: next((v for v in reversed(vals) if v is not None), 0.0) for k, vals in series.items()
        }
        chosen = sorted(series, key=lambda k: (-(latest[k] or 0.0), k))[:MAX_LINES]
        xs = list(range(len(versions)))
        for name in sorted(chosen):
            ys = [v / scale if v is not None else float("nan") for v in series[name]]
            (line,) = ax.plot(xs, ys, marker="o", markersize=3, label=name)
            if limits and name in limits:
                ax.axhline(
                    limits[name] / scale, linestyle="--", color=line.get_color(), linewidth=1
                )
        ax.set_xticks(xs, versions, rotation=60 if len(versions) > 8 else 0, fontsize=7)
        left = len(series) - len(chosen)
        if chosen:
            ax.legend(
                fontsize=7,
                loc="upper left",
                bbox_to_anchor=(1.01, 1),
                title=f"{left} more not drawn" if left else None,
            )
        return svg(fig)


def by_release(releases: list[Release], values: list[dict[str, float]]) -> Series:
    """Per-release dicts of subject -> value, as one list per subject."""
    names = sorted({k for v in values for k in v})
    return {n: [v.get(n) for v in values] for n in names}
