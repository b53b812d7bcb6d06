"""Numbers of neurons read off measures and ablation curves, for the claims of Sec. V-E that
speak in counts ("about 70 active neurons", "the top 200 nearly disable the net", "100 suffice
for full accuracy"). The thresholds (chance, a small loss) are those of :mod:`nbutils.report`.

Curves are test accuracies ``(M, len(ks))`` (fractions, one row per seed) on a grid ``ks`` of
numbers of ablated neurons (:func:`nbutils.analysis.layer_grid`); the readings use the mean
over seeds and return grid values.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from numpy.typing import ArrayLike

from .stats import Gap, mean_gap
from .verdicts import CHANCE_MARGIN, SMALL_GAP, ZERO_TOL


def _grid_curve(curves: ArrayLike, ks: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    arr = np.asarray(curves, dtype=np.float64)
    grid = np.asarray(ks)
    if arr.ndim != 2 or arr.shape[1] != grid.size or grid.size == 0:
        raise ValueError(f"curves must be (seeds, {grid.size}) for a grid of {grid.size} "
                         f"values of k, got {arr.shape}")
    if np.any(np.diff(grid) <= 0) or grid[0] != 0:
        raise ValueError("ks must start at 0 and be strictly increasing")
    return arr.mean(axis=0), grid


def active_count(mi: ArrayLike, kl: ArrayLike) -> np.ndarray:
    """Active neurons of a layer per seed, in the paper's words (Sec. V-E) "characterized by
    positive mutual information and/or KL selectivity values": mutual information (Eq. 4) or
    KL selectivity (Eq. 5) above :data:`nbutils.verdicts.ZERO_TOL` bits. Both are ``(M, n)``."""
    mi, kl = np.asarray(mi, dtype=np.float64), np.asarray(kl, dtype=np.float64)
    if mi.ndim != 2 or mi.shape != kl.shape:
        raise ValueError(f"mi and kl must be (seeds, neurons) of one shape, got {mi.shape} and "
                         f"{kl.shape}")
    return ((mi > ZERO_TOL) | (kl > ZERO_TOL)).sum(axis=1)


def inactive_share(mi: ArrayLike, kl: ArrayLike) -> float:
    """Percentage of neurons (all seeds pooled) that are not active (:func:`active_count`):
    zero mutual information and zero KL selectivity, "inactive or uninformative"."""
    mi = np.asarray(mi, dtype=np.float64)
    return float(100.0 * (1.0 - active_count(mi, kl).sum() / mi.size))


def zero_share(entropy: ArrayLike) -> float:
    """Percentage of a layer's neurons (all seeds pooled) with zero entropy: constant outputs,
    which carry no information about the class (their MI and KL selectivity are zero too)."""
    h = np.asarray(entropy, dtype=np.float64)
    return float(100.0 * np.mean(h <= ZERO_TOL))


def strip_count(high_first: ArrayLike, ks: Sequence[int], n_classes: int,
                margin: float = CHANCE_MARGIN) -> float:
    """How many top-ranked neurons must be ablated to strip the net of its accuracy: the
    smallest grid ``k`` at which the mean accuracy of the high-first ordering is within
    ``margin`` points of chance (``100 / n_classes`` %); NaN if it never gets there."""
    mean, grid = _grid_curve(high_first, ks)
    hits = np.flatnonzero(100.0 * mean <= 100.0 / n_classes + margin)
    return float(grid[hits[0]]) if hits.size else float("nan")


def keep_count(low_first: ArrayLike, ks: Sequence[int], width: int,
               small: float = SMALL_GAP) -> float:
    """How many top-ranked neurons suffice for full accuracy: ``width - k`` for the largest grid
    ``k`` at which the mean accuracy of the low-first ordering (the ``k`` lowest-ranked neurons
    ablated, the top ``width - k`` kept) is less than ``small`` points below the intact
    network's (``k = 0``)."""
    mean, grid = _grid_curve(low_first, ks)
    if grid[-1] != width:
        raise ValueError(f"the grid must end at the layer's width {width}, got {grid[-1]}")
    full = np.flatnonzero(100.0 * (mean[0] - mean) < small)
    return float(width - grid[full[-1]])


def window_gain(curves: ArrayLike, ks: Sequence[int], start: int, stop: int) -> Gap:
    """Accuracy gained (points, per seed, paired Wilcoxon test) while the ordering ablates
    neurons ``start + 1 .. stop``: accuracy at ``k = stop`` minus accuracy at ``k = start``."""
    arr = np.asarray(curves, dtype=np.float64)
    grid = list(np.asarray(ks))
    for name, k in (("start", start), ("stop", stop)):
        if k not in grid:
            raise ValueError(f"{name}={k} is not a point of the grid ks")
    if stop <= start:
        raise ValueError(f"stop={stop} must be larger than start={start}")
    gap = mean_gap(arr[:, [grid.index(stop)]], arr[:, [grid.index(start)]], 0)
    return replace(gap, k=stop)


def linearity(curve: ArrayLike, ks: Sequence[int]) -> float:
    """How straight a mean ablation curve is: R² of the least-squares line through it, over
    every ``k`` from 0 to the grid's end (linear interpolation between grid points, so a dense
    part of the grid does not weigh more). 1 for a straight line; a constant curve counts as
    straight (R² = 1)."""
    mean, grid = _grid_curve(np.atleast_2d(curve), ks)
    k = np.arange(grid[-1] + 1)
    y = np.interp(k, grid, mean)
    total = np.sum((y - y.mean()) ** 2)
    if total <= 1e-24:
        return 1.0
    slope, intercept = np.polyfit(k, y, 1)
    return float(1.0 - np.sum((y - (slope * k + intercept)) ** 2) / total)
