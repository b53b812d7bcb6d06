"""Small helpers for what chapters show: claims tables, timings, host lines."""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass

import pandas as pd

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
