"""Statistics of cumulative ablation curves (Sec. V intro): mean gaps MG@k and their p-values.

A set of curves is an array of test accuracies as fractions in [0, 1], shape (S, K+1): one row per
seed, column k = accuracy after ablating k neurons.  If the columns are a coarser grid of k values,
pass that grid explicitly (``grid``, one k value per column).  Gaps are in percentage points.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats as _st

WILCOXON_METHODS = ("approx", "exact", "auto")


@dataclass(frozen=True)
class Gap:
    """MG@k in percentage points, its p-value, the number of seeds and the test used."""

    k: int
    mg: float
    p: float
    n: int
    test: str
    note: str = ""


def _check_curves(curves: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(curves, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty array of shape (seeds, K+1), got {arr.shape}")
    if not np.isfinite(arr).all() or arr.min() < 0.0 or arr.max() > 1.0:
        raise ValueError(f"{name} must hold finite accuracies as fractions in [0, 1]")
    return arr


def _column(k: int, n_columns: int, grid: ArrayLike | None) -> int:
    """Index of the column holding k (k itself unless an explicit grid of k values is given)."""
    if grid is None:
        if int(k) != k or not 0 <= k < n_columns:
            raise ValueError(f"k must be an integer in 0..{n_columns - 1}, got {k!r}")
        return int(k)
    grid = np.asarray(grid)
    if grid.shape != (n_columns,):
        raise ValueError(f"grid must have one k value per column ({n_columns}), got {grid.shape}")
    hits = np.flatnonzero(grid == k)
    if hits.size == 0:
        raise ValueError(f"k = {k!r} is not in grid (range {grid.min()}..{grid.max()})")
    return int(hits[0])


def mean_gap(ordered: ArrayLike, random: ArrayLike, k: int, grid: ArrayLike | None = None,
             method: str = "approx") -> Gap:
    """MG@k = mean over seeds of ordered[:, k] - random[:, k] in points, with a paired Wilcoxon p.

    Two-sided Wilcoxon signed-rank test on the per-seed differences, zero_method="wilcox" (zero
    differences dropped), no continuity correction and by default the normal approximation
    (method="approx"): this reproduces the paper's p = 7.55e-10 for 50 seeds whose differences all
    have the same sign (z = 637.5 / sqrt(50*51*101/24) = 6.154); the exact test would give 1.8e-15.
    Differences are rounded to 1e-9 points first, so that float noise makes no spurious non-zero
    differences or broken ties.  All differences zero: p = 1.  Fewer than 2 seeds: p = NaN (note).

    Args:
        ordered: test accuracies ``(M, K+1)`` of an information-ordered ablation, finite
            fractions in [0, 1], one row per seed (``M`` seeds), column ``k`` after ablating
            ``k`` neurons (or one column per entry of ``grid``).
        random: accuracies of random ablation, the same shape, paired with ``ordered`` row by
            row (seed by seed).
        k: the number of ablated neurons at which the gap is read: a column index in
            ``0..K``, or a value of ``grid`` when it is given.
        grid: the ``k`` of each column, shape ``(K+1,)``, for curves on a coarser grid;
            default ``None``: column ``j`` is ``k = j``.
        method: scipy's Wilcoxon method, ``"approx"`` (default, the paper's), ``"exact"`` or
            ``"auto"``.

    Returns:
        :class:`Gap` with ``k``, ``mg`` = MG@k in percentage points, the two-sided ``p``,
        ``n = M`` seeds, the ``test`` used and a ``note`` (why there is no test, or ``""``).

    Raises:
        ValueError: ``method`` not in :data:`WILCOXON_METHODS`; ``ordered`` or ``random`` not
            a non-empty 2-D array of fractions in [0, 1] or of different shapes; ``k`` not a
            column (or not in ``grid``); ``grid`` not of shape ``(K+1,)``.
    """
    ordered, random = _check_pair(ordered, random, ("ordered", "random"), method)
    col = _column(k, ordered.shape[1], grid)
    return _paired(k, 100.0 * (ordered[:, col] - random[:, col]), method)


def _check_pair(first: ArrayLike, second: ArrayLike, names: tuple[str, str],
                method: str) -> tuple[np.ndarray, np.ndarray]:
    """Two sets of curves of the same shape, paired seed by seed, and a Wilcoxon method."""
    if method not in WILCOXON_METHODS:
        raise ValueError(f"method must be one of {WILCOXON_METHODS}, got {method!r}")
    a, b = _check_curves(first, names[0]), _check_curves(second, names[1])
    if b.shape != a.shape:
        raise ValueError(f"{names[1]} has shape {b.shape}, {names[0]} has {a.shape}")
    return a, b


def _paired(k: int, diff: np.ndarray, method: str, note: str = "") -> Gap:
    """The mean of per-seed differences (points) with the two-sided Wilcoxon p of
    :func:`mean_gap`."""
    diff = np.round(diff, 9)
    n = diff.size
    test = f"Wilcoxon signed-rank ({method})"
    mg = float(diff.mean())
    if n < 2:
        return Gap(k, mg, math.nan, n, test, "fewer than 2 seeds: no test")
    if not diff.any():
        return Gap(k, 0.0, 1.0, n, test, "all differences are zero")
    res = _st.wilcoxon(diff, zero_method="wilcox", correction=False, method=method)
    return Gap(k, mg, float(res.pvalue), n, test, note)


def area_gap(curves_a: ArrayLike, curves_b: ArrayLike, method: str = "approx") -> Gap:
    """The area between two sets of curves of the same networks, in points per ablated neuron.

    Per seed, the mean over k = 0..K of ``curves_a[:, k] - curves_b[:, k]`` (the area between
    the two curves divided by the k range, so that it reads like a mean gap); over seeds its mean
    and the paired two-sided Wilcoxon p of :func:`mean_gap`. Used to compare two treatments of
    the same ensemble, e.g. ablation to the mean vs to zero (claim S6). ``k`` of the result is K.
    """
    a, b = _check_pair(curves_a, curves_b, ("curves_a", "curves_b"), method)
    return _paired(a.shape[1] - 1, 100.0 * (a - b).mean(axis=1), method,
                   f"area: mean over k = 0..{a.shape[1] - 1}")


def ks_gap(random_a: ArrayLike, random_b: ArrayLike, k: int,
           grid: ArrayLike | None = None) -> Gap:
    """Mean gap mean(random_a[:, k]) - mean(random_b[:, k]) and a two-sample Kolmogorov-Smirnov p.

    For two random-ablation curves of different scenarios (e.g. layer 1 vs layer 2), which are not
    paired.  Two-sided exact KS test (scipy ks_2samp, method="exact"): for 50 vs 50 fully separated
    samples p = 2 / C(100, 50) = 1.98e-29, the paper's value.  The seed counts may differ (n is the
    smaller); fewer than 2 seeds on either side: p = NaN (note).
    """
    a = _check_curves(random_a, "random_a")
    b = _check_curves(random_b, "random_b")
    if b.shape[1] != a.shape[1]:
        raise ValueError(f"random_b has {b.shape[1]} columns, random_a has {a.shape[1]}")
    col = _column(k, a.shape[1], grid)
    x, y = a[:, col], b[:, col]
    mg = float(100.0 * (x.mean() - y.mean()))
    n = min(x.size, y.size)
    test = "Kolmogorov-Smirnov two-sample (exact)"
    if n < 2:
        return Gap(k, mg, math.nan, n, test, "fewer than 2 seeds: no test")
    return Gap(k, mg, float(_st.ks_2samp(x, y, method="exact").pvalue), n, test)


def sample_gap(a: ArrayLike, b: ArrayLike) -> Gap:
    """Two samples of values (e.g. a measure of all neurons of two layers, seeds pooled): the
    difference of their medians ``median(a) - median(b)`` (in the values' unit, not points) and
    an exact two-sample Kolmogorov-Smirnov p; ``k`` is 0, ``n`` the smaller sample size."""
    x = np.asarray(a, dtype=np.float64).ravel()
    y = np.asarray(b, dtype=np.float64).ravel()
    if x.size == 0 or y.size == 0 or not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("a and b must be non-empty arrays of finite values")
    mg = float(np.median(x) - np.median(y))
    n = min(x.size, y.size)
    test = "Kolmogorov-Smirnov two-sample (exact), medians"
    if n < 2:
        return Gap(0, mg, math.nan, n, test, "fewer than 2 values: no test")
    return Gap(0, mg, float(_st.ks_2samp(x, y, method="exact").pvalue), n, test)


def wilcoxon_floor(n_seeds: int) -> float:
    """The smallest p :func:`mean_gap` can give with ``n_seeds`` seeds (all differences of one
    sign, no ties): no ordering can be significant below it."""
    ordered = 0.5 + 1e-3 * np.arange(1, n_seeds + 1)[:, None]
    return mean_gap(ordered, np.full((n_seeds, 1), 0.5), 0).p


def ks_floor(n_seeds: int) -> float:
    """The smallest p :func:`ks_gap` can give for two groups of ``n_seeds`` (fully separated)."""
    return ks_gap(np.ones((n_seeds, 1)), np.zeros((n_seeds, 1)), 0).p


def format_gap(gap: Gap) -> str:
    """The paper's notation, e.g. "MG@80 = 21.9, p = 7.56e-10" ("median difference = ..." for
    :func:`sample_gap`, "area gap = ..." for :func:`area_gap`).

    MG with 1 decimal (the paper once prints two: "-0.19"). p < 0.01 in e-notation rounded to
    3 significant digits without exponent padding (1.60e-5); p >= 0.01 with 2 decimals
    ("p = 0.93"). The paper's "7.55e-10" is the same p (7.5569e-10, all 50 differences of one
    sign) cut rather than rounded: we print 7.56e-10.
    """
    p = gap.p
    if math.isnan(p):
        p_text = "nan"
    elif p < 0.01:
        mantissa, exponent = f"{p:.2e}".split("e")
        p_text = f"{mantissa}e{int(exponent)}"
    else:
        p_text = f"{p:.2f}"
    if "medians" in gap.test:
        label = "median difference"
    elif gap.note.startswith("area"):
        label = "area gap"
    else:
        label = f"MG@{gap.k}"
    return f"{label} = {gap.mg:.1f}, p = {p_text}"


def mean_std(curves: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation over seeds (axis 0), population std (ddof=0; 0 for one seed)."""
    arr = _check_curves(curves, "curves")
    return arr.mean(axis=0), arr.std(axis=0, ddof=0)


def gap_table(curves: dict[str, ArrayLike], random_key: str, k: int,
              grid: ArrayLike | None = None, method: str = "approx") -> pd.DataFrame:
    """One row per ordering (every key but random_key, in dict order): ordering, MG@k, p, text.

    Args:
        curves: ordering name -> test accuracies ``(M, K+1)`` (fractions in [0, 1], one row per
            seed), all of the same shape, including the random baseline.
        random_key: the key of the random-ablation curves every other ordering is compared to.
        k: the number of ablated neurons at which MG@k is read (see :func:`mean_gap`).
        grid: the ``k`` of each column, ``(K+1,)``; default ``None``: column ``j`` is ``k = j``.
        method: Wilcoxon method, ``"approx"`` (default), ``"exact"`` or ``"auto"``.

    Returns:
        ``pandas.DataFrame`` with one row per ordering but ``random_key`` (``len(curves) - 1``
        rows, dict order) and the columns ``"ordering"``, ``f"MG@{k}"`` (percentage points),
        ``"p"`` and ``"text"`` (:func:`format_gap`).

    Raises:
        ValueError: ``random_key`` not a key of ``curves``, or as :func:`mean_gap`.
    """
    if random_key not in curves:
        raise ValueError(f"random_key {random_key!r} is not a key of curves: {list(curves)}")
    rows = []
    for name, ordered in curves.items():
        if name == random_key:
            continue
        gap = mean_gap(ordered, curves[random_key], k, grid=grid, method=method)
        rows.append({"ordering": name, f"MG@{k}": gap.mg, "p": gap.p, "text": format_gap(gap)})
    return pd.DataFrame(rows, columns=["ordering", f"MG@{k}", "p", "text"])
