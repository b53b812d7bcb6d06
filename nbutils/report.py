"""What chapters show: claims tables and the verdict rules behind them, timings."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .config import get_profile
from .stats import Gap, format_gap

VERDICTS = ("reproduced", "partly", "not reproduced", "not testable")


@dataclass(frozen=True)
class Claim:
    """One row of a chapter's claims table (ids from the book's claims register)."""

    id: str
    paper: str
    ours: str
    verdict: str
    why: str = ""

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict={self.verdict!r}; allowed: {list(VERDICTS)}")


class ClaimsTable(pd.DataFrame):
    """A DataFrame that always displays its cells in full (claims are sentences: pandas would
    cut them at ``display.max_colwidth`` characters)."""

    @property
    def _constructor(self):
        return ClaimsTable

    def _repr_html_(self) -> str | None:
        with pd.option_context("display.max_colwidth", None):
            return super()._repr_html_()

    def __repr__(self) -> str:
        with pd.option_context("display.max_colwidth", None):
            return self.to_string()


def claims_table(claims: list[Claim]) -> ClaimsTable:
    """The claims table every chapter ends with: id, paper, this book, verdict, why they differ."""
    return ClaimsTable(
        [(c.id, c.paper, c.ours, c.verdict, c.why) for c in claims],
        columns=["claim", "paper reports", "this book measured", "verdict", "why they differ"],
    ).set_index("claim")


# ------------------------------------------------------------------------- verdict rules
# The rules every chapter applies to a claim (stated in the chapters' "Claims" sections).
ALPHA = 0.05      # significance level
SMALL_GAP = 2.0   # percentage points: our reading of the paper's "small" mean gap


def direction_verdict(gap: Gap, sign: int, alpha: float = ALPHA) -> str:
    """A claimed direction (``sign`` +1: better than random, -1: worse): *reproduced* with that
    sign and ``p < alpha``, *partly* with the sign only, *not reproduced* with the other sign."""
    if np.sign(gap.mg) != sign:
        return "not reproduced"
    return "reproduced" if gap.p < alpha else "partly"


def similar_verdict(gap: Gap, p_floor: float, alpha: float = ALPHA,
                    small: float = SMALL_GAP) -> str:
    """A claimed similarity, the paper's rule (small gap or ``p > alpha``): *reproduced* if
    ``|MG| < small`` or the gap is not significant although it could have been (``p_floor``:
    the smallest p the seeds allow, :func:`nbutils.stats.wilcoxon_floor`); *partly* if it is not
    significant only because the seeds are too few; else *not reproduced*."""
    if abs(gap.mg) < small or (gap.p > alpha and p_floor < alpha):
        return "reproduced"
    return "partly" if gap.p > alpha else "not reproduced"


def combine(*verdicts: str) -> str:
    """A claim of several parts: *reproduced* if all are, *not reproduced* if none is."""
    if all(v == "reproduced" for v in verdicts):
        return "reproduced"
    return "not reproduced" if all(v == "not reproduced" for v in verdicts) else "partly"


def count_verdict(count: int, total: int) -> str:
    """A claim over ``total`` cases of which ``count`` agree: all, a majority, or fewer."""
    if total == 0:
        return "not testable"
    if count == total:
        return "reproduced"
    return "partly" if count > total / 2 else "not reproduced"


def gap_reasons(named_gaps: dict[str, Gap], verdict_of: Callable[[Gap], str],
                alpha: float = ALPHA) -> str:
    """Why the parts of a claim that are not reproduced fail, each with its own numbers."""
    reasons = []
    for name, gap in named_gaps.items():
        verdict = verdict_of(gap)
        if verdict == "partly":
            reasons.append(f"{name}: {format_gap(gap)}, not significant (p > {alpha})")
        elif verdict == "not reproduced":
            reasons.append(f"{name} differs: {format_gap(gap)}")
    return "; ".join(reasons)


def scale_note(profile: str, seed_counts: Iterable[int], p_floor: float | None = None) -> str:
    """How a run differs in scale from the paper, for the "why they differ" column."""
    seeds = " or ".join(str(n) for n in sorted(set(seed_counts)))
    floor = "" if p_floor is None else f" (p cannot fall below {p_floor:.2g})"
    ci = get_profile("ci")
    return {"ci": f"ci profile: {seeds} seeds{floor}, {ci.epochs} training epoch(s) on "
                  f"{ci.limit_train} images, {ci.limit_val} validation and {ci.limit_test} test "
                  "images",
            "quick": f"quick profile: {seeds} seeds instead of 50 (less power)",
            "paper": "at the paper's scale; remaining differences: our epochs (the paper gives "
                     "only 8-30) and training details the paper does not state"}[profile]


def why(verdict: str, scale: str, extra: str = "") -> str:
    """The "why they differ" cell: ``extra`` alone for a reproduced claim, else the scale note
    first."""
    return extra if verdict == "reproduced" else "; ".join(p for p in (scale, extra) if p)


def verdict_from(condition: bool, partial: bool = False) -> str:
    """``reproduced`` if ``condition``; else ``partly`` when ``partial``; else ``not reproduced``."""
    if condition:
        return "reproduced"
    return "partly" if partial else "not reproduced"


@contextmanager
def timed(label: str):
    """Print ``label [time: 12.3 s]`` after the block (the test suite sanitizes the time)."""
    start = time.perf_counter()
    yield
    print(f"{label} [time: {time.perf_counter() - start:.1f} s]")


def pm(mean: float, std: float, digits: int = 2) -> str:
    """``mean ± std`` formatted."""
    return f"{mean:.{digits}f} ± {std:.{digits}f}"
