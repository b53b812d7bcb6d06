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
EXACT_BELOW = 25  # seeds: below this many, "auto" uses the exact distribution (see mean_gap)


@dataclass(frozen=True)
class Gap:
    """MG@k in percentage points, its p-value, the number of seeds and the test used.

    ``p`` is the p-value verdicts use; ``p_approx`` the normal approximation of the same
    Wilcoxon test (the paper's method, for comparing with its p-values; NaN for other tests).
    """

    k: int
    mg: float
    p: float
    n: int
    test: str
    note: str = ""
    p_approx: float = math.nan

    @property
    def exact(self) -> bool:
        """Whether ``p`` comes from the exact Wilcoxon distribution."""
        return "(exact)" in self.test and "Wilcoxon" in self.test


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


def signed_rank_exact_p(diff: ArrayLike) -> float:
    """The exact two-sided p of the Wilcoxon signed-rank test on paired differences.

    Zero differences are dropped (zero_method="wilcox"); tied absolute differences get their
    mean rank. Under the null hypothesis every sign is + or - with probability 1/2, so the
    statistic T+ (sum of the ranks of the positive differences) has the distribution of a sum of
    independent ``rank * Bernoulli(1/2)``; it is computed exactly by convolution (ranks doubled to
    integers, so mean ranks of ties are exact) and p = P(|T+ - E T+| >= |t+ - E T+|). Without
    ties this is scipy's exact test; with ties it stays exact, where scipy's is not.
    """
    d = np.asarray(diff, dtype=np.float64).ravel()
    d = d[d != 0]
    n = d.size
    if n == 0:
        return 1.0
    ranks2 = np.rint(2 * _st.rankdata(np.abs(d))).astype(np.int64)  # doubled mean ranks
    total = int(ranks2.sum())
    counts = np.zeros(total + 1)
    counts[0] = 1.0
    for r in ranks2:  # counts[s]: number of sign patterns with 2 T+ = s (exact below 2**53)
        counts[r:] += counts[:-r].copy()
    t2 = int(ranks2[d > 0].sum())
    dev = abs(2 * t2 - total)
    s = np.arange(total + 1)
    return float(min(1.0, counts[np.abs(2 * s - total) >= dev].sum() / 2.0 ** n))


def mean_gap(ordered: ArrayLike, random: ArrayLike, k: int, grid: ArrayLike | None = None,
             method: str = "auto") -> Gap:
    """MG@k = mean over seeds of ordered[:, k] - random[:, k] in points, with a paired Wilcoxon p.

    Two-sided Wilcoxon signed-rank test on the per-seed differences, zero differences dropped
    (zero_method="wilcox"). Two ways to compute p:

    - ``"approx"``, the normal approximation without continuity correction: the paper's method.
      It reproduces the paper's p = 7.55e-10 for 50 seeds whose differences all have the same
      sign (z = 637.5 / sqrt(50*51*101/24) = 6.154); the exact test would give 1.8e-15.
    - ``"exact"``, the exact distribution (:func:`signed_rank_exact_p`). With few seeds the
      approximation is poor near the significance level (8 seeds: the approximation gives 0.0499
      where the exact test gives 0.055), so verdicts use it below :data:`EXACT_BELOW` seeds:
      ``"auto"`` (the default) is exact below that and the approximation from there on.

    The result always carries the approximation as ``p_approx`` too, for comparisons with the
    paper's p-values. Differences are rounded to 1e-9 points first, so that float noise makes no
    spurious non-zero differences or broken ties. All differences zero: p = 1. Fewer than 2
    seeds: p = NaN (note).

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
        method: ``"auto"`` (default: exact below :data:`EXACT_BELOW` seeds, else the normal
            approximation), ``"approx"`` (the paper's) or ``"exact"``.

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
    if method == "auto":
        method = "exact" if n < EXACT_BELOW else "approx"
    test = f"Wilcoxon signed-rank ({method})"
    mg = float(diff.mean())
    if n < 2:
        return Gap(k, mg, math.nan, n, test, "fewer than 2 seeds: no test")
    if not diff.any():
        return Gap(k, 0.0, 1.0, n, test, "all differences are zero", 1.0)
    approx = float(_st.wilcoxon(diff, zero_method="wilcox", correction=False,
                                method="approx").pvalue)
    p = signed_rank_exact_p(diff) if method == "exact" else approx
    return Gap(k, mg, p, n, test, note, approx)


def area_gap(curves_a: ArrayLike, curves_b: ArrayLike, method: str = "auto") -> Gap:
    """The area between two sets of curves of the same networks, in points per ablated neuron.

    Per seed, the mean over k = 0..K of ``curves_a[:, k] - curves_b[:, k]`` (the area between
    the two curves divided by the k range, so that it reads like a mean gap); over seeds its mean
    and the paired two-sided Wilcoxon p of :func:`mean_gap`. Used to compare two treatments of
    the same ensemble, e.g. ablation to the mean vs to zero (claim S6). ``k`` of the result is K.
    """
    a, b = _check_pair(curves_a, curves_b, ("curves_a", "curves_b"), method)
    return _paired(a.shape[1] - 1, 100.0 * (a - b).mean(axis=1), method,
                   f"area: mean over k = 0..{a.shape[1] - 1}")


def separation_area(low: ArrayLike, high: ArrayLike) -> np.ndarray:
    """Per seed, the area between a score's low-first and high-first curves (points per ablated
    neuron: the mean over k of ``low - high``); larger: the score tells important neurons from
    unimportant ones better. Random ablation cancels out."""
    lo, hi = _check_pair(low, high, ("low", "high"), "auto")
    return 100.0 * (lo - hi).mean(axis=1)


def separation_gap(first: tuple[ArrayLike, ArrayLike], second: tuple[ArrayLike, ArrayLike],
                   method: str = "auto") -> Gap:
    """The separation (:func:`separation_area`) of the ``first`` score's ``(low, high)`` curves
    minus the ``second``'s, per seed, with the paired two-sided Wilcoxon p of :func:`mean_gap`
    (the same networks, so the pairs are seeds)."""
    if method not in WILCOXON_METHODS:
        raise ValueError(f"method must be one of {WILCOXON_METHODS}, got {method!r}")
    a, b = separation_area(*first), separation_area(*second)
    if a.shape != b.shape:
        raise ValueError(f"first and second must have the same seeds, got {a.shape} and "
                         f"{b.shape}")
    k = np.asarray(first[0]).shape[1] - 1
    return _paired(k, a - b, method, f"separation: mean over k = 0..{k}")


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


def per_seed_gap(a: ArrayLike, b: ArrayLike, keep_a: ArrayLike | None = None,
                 keep_b: ArrayLike | None = None, method: str = "auto") -> Gap:
    """Two layers of the same networks compared network by network: per seed, the median of
    ``a`` (over the neurons ``keep_a`` marks) minus the median of ``b``, in the values' unit;
    the mean of those differences and a paired two-sided Wilcoxon p over seeds (as
    :func:`mean_gap`). Unlike :func:`sample_gap`, the seeds, not the pooled neurons, are the
    independent samples. A seed with no neuron kept in either layer is left out (note).

    Args:
        a: values ``(M, n_a)`` of the first layer's neurons, one row per seed.
        b: values ``(M, n_b)`` of the second layer's, the same seeds.
        keep_a: bool ``(M, n_a)``, the neurons of ``a`` to compare; default ``None``: all.
        keep_b: the same for ``b``.
        method: as in :func:`mean_gap`.

    Returns:
        :class:`Gap` with ``k = 0``, ``mg`` the mean per-seed difference of medians, ``p``,
        ``n`` the seeds compared.

    Raises:
        ValueError: shapes that do not match, non-finite values, or an unknown ``method``.
    """
    if method not in WILCOXON_METHODS:
        raise ValueError(f"method must be one of {WILCOXON_METHODS}, got {method!r}")
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise ValueError(f"a {x.shape} and b {y.shape} must be (seeds, neurons) with the same "
                         "seeds")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("a and b must hold finite values")
    ka = np.ones(x.shape, bool) if keep_a is None else np.asarray(keep_a, bool)
    kb = np.ones(y.shape, bool) if keep_b is None else np.asarray(keep_b, bool)
    if ka.shape != x.shape or kb.shape != y.shape:
        raise ValueError(f"keep_a {ka.shape} / keep_b {kb.shape} must match a {x.shape} / "
                         f"b {y.shape}")
    both = ka.any(axis=1) & kb.any(axis=1)
    diff = np.array([np.median(x[s][ka[s]]) - np.median(y[s][kb[s]])
                     for s in np.flatnonzero(both)])
    left_out = int((~both).sum())
    note = f"{left_out} seeds without neurons to compare left out" if left_out else ""
    if diff.size == 0:
        return Gap(0, math.nan, math.nan, 0, "Wilcoxon signed-rank", "no seed to compare")
    return _paired(0, diff, method, note)


def wilcoxon_floor(n_seeds: int, method: str = "auto") -> float:
    """The smallest p :func:`mean_gap` can give with ``n_seeds`` seeds (all differences of one
    sign, no ties): no ordering can be significant below it. ``method`` as in :func:`mean_gap`
    (50 seeds, ``"approx"``: 7.56e-10, the paper's recurring 7.55e-10)."""
    ordered = 0.5 + 1e-3 * np.arange(1, n_seeds + 1)[:, None]
    return mean_gap(ordered, np.full((n_seeds, 1), 0.5), 0, method=method).p


def ks_floor(n_seeds: int) -> float:
    """The smallest p :func:`ks_gap` can give for two groups of ``n_seeds`` (fully separated)."""
    return ks_gap(np.ones((n_seeds, 1)), np.zeros((n_seeds, 1)), 0).p


def format_p(p: float) -> str:
    """One display of p-values for the whole book: two significant digits from 0.01 on
    ("0.93", "0.055", "0.012"), below that three in e-notation without exponent padding
    ("7.81e-3", "7.56e-10"; the paper cuts the last to "7.55e-10"); "nan" without a test."""
    if math.isnan(p):
        return "nan"
    if p >= 0.01:
        return f"{p:#.2g}".rstrip(".") if p < 1 else "1.0"
    mantissa, exponent = f"{p:.2e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def format_gap(gap: Gap) -> str:
    """The paper's notation, e.g. "MG@80 = 21.9, p = 7.56e-10" ("median difference = ..." for
    :func:`sample_gap`, "area gap = ..." for :func:`area_gap`); MG with 1 decimal, p as
    :func:`format_p`. An exact Wilcoxon p is followed by the normal approximation, the paper's
    method, where the two differ in display: "p = 0.055 (exact; normal approximation 0.050)".
    """
    p_text = format_p(gap.p)
    if gap.exact and not math.isnan(gap.p_approx) and format_p(gap.p_approx) != p_text:
        p_text += f" (exact; normal approximation {format_p(gap.p_approx)})"
    if "medians" in gap.test:
        label = "median difference"
    elif gap.note.startswith("area"):
        label = "area gap"
    else:
        label = f"MG@{gap.k}"
    return f"{label} = {gap.mg:.1f}, p = {p_text}"


def signed_rank_normal_p(t_plus: float, n: int) -> float:
    """The two-sided p of a signed-rank sum ``t_plus`` of ``n`` non-zero paired differences under
    the normal approximation without continuity correction (the paper's method; e.g. n = 50:
    t_plus = 0 gives the floor 7.56e-10, t_plus = 4 gives 9.63e-10)."""
    mean = n * (n + 1) / 4
    sd = math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
    return math.erfc(abs(t_plus - mean) / sd / math.sqrt(2))


def accuracy_drop(curves: ArrayLike, k: int, grid: ArrayLike | None = None) -> np.ndarray:
    """Accuracy lost per seed (percentage points) after ablating ``k`` neurons, relative to
    nothing ablated (column 0): ``100 * (curves[:, 0] - curves[:, k])``."""
    arr = _check_curves(curves, "curves")
    return 100.0 * (arr[:, 0] - arr[:, _column(k, arr.shape[1], grid)])


def separation(curves: dict[str, ArrayLike], measure: str, k: int,
               grid: ArrayLike | None = None, random_key: str = "random") -> float:
    """How well ``measure`` separates important from unimportant neurons of a layer:
    MG@k(low first) - MG@k(high first), in points (large: low-first keeps much more accuracy
    than high-first).

    Args:
        curves: ordering name -> accuracies ``(M, K+1)``, with ``f"{measure}-low"``,
            ``f"{measure}-high"`` and ``random_key`` among the names.
        measure: a measure name, e.g. ``"mi"``.
        k: the number of ablated neurons at which the gaps are read.
        grid: the ``k`` of each column; default ``None``: column ``j`` is ``k = j``.
        random_key: the random baseline's name; default ``"random"``.

    Returns:
        The separation in percentage points.

    Raises:
        KeyError: an ordering missing from ``curves``; ValueError: as :func:`mean_gap`.
    """
    low = mean_gap(curves[f"{measure}-low"], curves[random_key], k, grid)
    high = mean_gap(curves[f"{measure}-high"], curves[random_key], k, grid)
    return low.mg - high.mg


def mean_std(curves: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation over seeds (axis 0), population std (ddof=0; 0 for one seed)."""
    arr = _check_curves(curves, "curves")
    return arr.mean(axis=0), arr.std(axis=0, ddof=0)


def gap_table(curves: dict[str, ArrayLike], random_key: str, k: int,
              grid: ArrayLike | None = None, method: str = "auto") -> pd.DataFrame:
    """One row per ordering (every key but random_key, in dict order): ordering, MG@k, p, text.

    Args:
        curves: ordering name -> test accuracies ``(M, K+1)`` (fractions in [0, 1], one row per
            seed), all of the same shape, including the random baseline.
        random_key: the key of the random-ablation curves every other ordering is compared to.
        k: the number of ablated neurons at which MG@k is read (see :func:`mean_gap`).
        grid: the ``k`` of each column, ``(K+1,)``; default ``None``: column ``j`` is ``k = j``.
        method: Wilcoxon method, ``"auto"`` (default), ``"approx"`` or ``"exact"``.

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
