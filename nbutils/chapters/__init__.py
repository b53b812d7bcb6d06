"""The book layer: one module per chapter, holding what that chapter needs and judges.

Each chapter module states, once:

- ``NOTEBOOK``: its notebook in ``book/`` (without ``.ipynb``);
- ``CONFIGS``: the networks it shows (from :data:`nbutils.config.CHAPTER_CONFIGS`, the one
  source of the paper's configurations);
- ``FROM_RESULTS``: whether it runs from stored results alone (the test suite runs it with
  ``NBUTILS_RESULTS_ONLY=1`` after :func:`nbutils.precompute.precompute_all`);
- ``NO_INPUT_IMAGES`` (optional, default false): its networks are constructed, not trained on
  images, so a reading of the input pixels does not apply to its claims (chapter 8);
- ``requests(config)``: the results it reads about one configuration, as :class:`Request` s,
  which :mod:`nbutils.precompute` computes and ships;
- ``claims(...)``: its claims rows (:class:`nbutils.claims.Claim`) from its results, by the
  rules of :mod:`nbutils.verdicts`; unit-tested on small synthetic results in
  ``tests/test_chapter_claims_*.py``.

The notebook keeps the prose, the method's calls, the figures and one call that renders the
claims.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import import_module
from types import ModuleType

import pandas as pd

from .. import analysis, style
from ..config import ARCHITECTURES
from ..stats import format_p

style.use()   # every chapter imports its module: its figures are SVG (nbutils.style)

Config = tuple[str, str, str]


@dataclass(frozen=True)
class Request:
    """One result a chapter reads about a configuration: a label for the log, and the step
    that asks :mod:`nbutils.analysis` for it (memoized) from the trained ensemble."""
    label: str
    compute: Callable[[object], object]


MODULES = ("ch01", "ch02", "ch03", "ch04", "ch05", "ch06", "ch07", "ch08", "ch09", "ch10",
           "ch11")


def chapters() -> list[ModuleType]:
    """Every chapter module, in the book's order."""
    return [import_module(f"{__name__}.{name}") for name in MODULES]


def requests(config: Config, modules: Sequence[str] = MODULES) -> list[Request]:
    """Every result the chapters ``modules`` (default: all, :data:`MODULES`) read about
    ``config``, without repeats (by label), in the book's order.

    Raises:
        ValueError: a name of ``modules`` that is not one of :data:`MODULES`.
    """
    unknown = [m for m in modules if m not in MODULES]
    if unknown:
        raise ValueError(f"chapters={unknown}: allowed: {list(MODULES)}")
    seen: dict[str, Request] = {}
    for name, chapter in zip(MODULES, chapters()):
        if name not in modules:
            continue
        for request in chapter.requests(config):
            seen.setdefault(request.label, request)
    return list(seen.values())


def input_free() -> tuple[str, ...]:
    """The notebooks whose networks take no input images (``NO_INPUT_IMAGES``)."""
    return tuple(ch.NOTEBOOK for ch in chapters() if getattr(ch, "NO_INPUT_IMAGES", False))


def from_results() -> tuple[str, ...]:
    """The notebooks that run from stored results alone (``FROM_RESULTS``)."""
    return tuple(ch.NOTEBOOK for ch in chapters() if ch.FROM_RESULTS)


K_FRACTION = 0.8   # chapters 2 and 5-7 read layer-wise gaps after ablating 80 % of a layer


def hidden(config: Config) -> tuple[int, ...]:
    """The hidden widths of ``config``'s architecture."""
    return ARCHITECTURES[config[0]].hidden


def layer_curves(layer: int, value: str = "zero") -> Callable[[object], object]:
    """The step that asks for the ablation curves of hidden ``layer`` (0-based), neurons set to
    ``value`` (:func:`nbutils.analysis.layer_curves`)."""
    return lambda ens: analysis.layer_curves(ens, layer, value)


def pivot_gaps(rows: list[dict]) -> tuple[object, object]:
    """Gap rows ``{"panel", "layer", "k", "ordering", "MG", "p"}`` as two tables indexed by
    (panel, layer, k), one column per ordering in the order met: the mean gaps (points) and
    their p-values (formatted)."""

    gaps = pd.DataFrame(rows)
    orderings = list(gaps["ordering"].unique())
    index = ["panel", "layer", "k"]
    mg = gaps.pivot(index=index, columns="ordering", values="MG")[orderings]
    p = gaps.pivot(index=index, columns="ordering", values="p")[orderings]
    return mg, p.map(format_p)
