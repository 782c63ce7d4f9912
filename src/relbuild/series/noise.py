"""The verdict on one measure of a release against its baseline.

Sizes (bytes of an artifact, flash and RAM of a firmware) are exact: the
same sources give the same bytes, so any growth over the limit counts.
Times are noisy, above all on a shared machine, so a time *fails* only when
its growth over the baseline's median is over the limit **and** over
``k`` times the baseline's spread, the median absolute deviation scaled by
1.4826 (for normal noise, an estimate of the standard deviation that a
single outlier in the baseline does not inflate). With fewer than
:data:`MIN_SPREAD_SAMPLES` releases in the baseline the spread is unknown
and a time can only warn. A shrinking measure is never a regression.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from relbuild.config.series import Limit

MAD_SCALE = 1.4826
MIN_SPREAD_SAMPLES = 3
Level = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Verdict:
    level: Level
    baseline: float  # the median of the baseline
    now: float
    limit: str  # the limit that was passed, or the fail limit
    noise: float | None  # k x scaled MAD, for times with enough samples
    note: str = ""

    @property
    def change(self) -> float:
        return self.now - self.baseline


def mad(values: Sequence[float]) -> float:
    """Median absolute deviation from the median."""
    mid = statistics.median(values)
    return statistics.median(abs(v - mid) for v in values)


def noise_of(values: Sequence[float], k: float) -> float | None:
    if len(values) < MIN_SPREAD_SAMPLES:
        return None
    return k * MAD_SCALE * mad(values)


def _over(limit: Limit | None, base: float, growth: float) -> bool:
    return limit is not None and growth > limit.allowed(base)


def judge(
    baseline: Sequence[float],
    now: float,
    warn: Limit | None,
    fail: Limit | None,
    *,
    exact: bool,
    k: float = 3.0,
) -> Verdict:
    """The verdict on ``now`` against ``baseline`` (one value or more)."""
    if not baseline:
        raise ValueError("an empty baseline")
    base = statistics.median(baseline)
    growth = now - base
    shown_limit = str(fail or warn or "")
    if exact:
        if _over(fail, base, growth):
            return Verdict("fail", base, now, str(fail), None)
        if _over(warn, base, growth):
            return Verdict("warn", base, now, str(warn), None)
        return Verdict("ok", base, now, shown_limit, None)
    noise = noise_of(baseline, k)
    beyond_noise = noise is None or growth > noise
    if _over(fail, base, growth) and beyond_noise:
        if noise is None:
            note = f"fewer than {MIN_SPREAD_SAMPLES} releases in the baseline: a time only warns"
            return Verdict("warn", base, now, str(fail), None, note)
        return Verdict("fail", base, now, str(fail), noise)
    if _over(warn, base, growth) and beyond_noise:
        return Verdict("warn", base, now, str(warn), noise)
    note = ""
    if _over(fail or warn, base, growth):
        note = "within the baseline's noise"
    return Verdict("ok", base, now, shown_limit, noise, note)
