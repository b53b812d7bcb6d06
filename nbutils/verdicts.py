"""The verdict rules and thresholds of the book: every rule a chapter applies to a claim, fixed
before the numbers it judges were read (the book states them on its page ``book/verdicts.md``,
"How claims are judged", which ``tests/test_verdicts.py`` keeps in step with the constants below).

This module is the bottom of the house: numbers in, verdict words out (numpy and the gaps of
:mod:`nbutils.stats`; no torch, no rendering). What a claim says and why it differs is
:mod:`nbutils.claims`; how a table looks is :mod:`nbutils.report`.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike

from .stats import Gap, ks_floor, wilcoxon_floor

VERDICTS = ("reproduced", "partly", "not reproduced", "not testable")


def is_provisional(profile: str, seeds: Iterable[int] = (), paper_seeds: int = 50) -> bool:
    """A chapter's verdicts are provisional if it ran below the paper's scale: a profile other
    than ``"paper"``, or fewer seeds for some network than the paper's ``paper_seeds`` (50; 35
    for CIFAR-10)."""
    return profile != "paper" or any(n < paper_seeds for n in seeds)


ALPHA = 0.05              # significance level of every test
SMALL_GAP = 2.0           # percentage points: below this, a gap (or a cost) is "small"
MOST_SHARE = 50.0         # percent: "most" means more than this share
ALMOST_ONLY_SHARE = 90.0  # percent: "almost only" means at least this share
SMALL_COST_RATIO = 0.5    # a cost is "only" small if below this fraction of a reference cost
LARGE_DROP = 30.0         # percentage points: an ablation that costs at least this "matters"
CHANCE_MARGIN = 5.0       # percentage points: an accuracy this close to 100 / C % is "chance"
ZERO_TOL = 1e-12          # bits: a measure at most this is zero (and bounds hold up to it)
AGREE_TOL = 1e-9          # two computations of one number agree if they differ by less


# --- claims about a mean gap (Wilcoxon or KS p-value, nbutils.stats)

def p_floor(gap: Gap) -> float | None:
    """The smallest p the test of ``gap`` can give with its seeds: :func:`nbutils.stats.
    wilcoxon_floor` (exact below 25 seeds) for a Wilcoxon test, :func:`nbutils.stats.ks_floor`
    for a Kolmogorov-Smirnov test; NaN with fewer than 2 seeds (no test); None for another test.
    Both floors fall as the seeds grow and are below 1e-9 at 50, so from 50 on the floor of 50
    stands in (an upper bound: the exact KS test of thousands of values would be slow)."""
    test = gap.test.lower()
    if gap.n < 2:
        return math.nan
    if "wilcoxon" in test:
        return wilcoxon_floor(min(gap.n, 50))
    if "kolmogorov" in test:
        return ks_floor(min(gap.n, 50))
    return None


def is_testable(gap: Gap, alpha: float = ALPHA) -> bool:
    """Whether the comparison could have been significant with its seeds: ``p < alpha``, or the
    smallest p its test allows (:func:`p_floor`) is below ``alpha``. With fewer seeds (5 or fewer
    for the exact Wilcoxon test, 3 or fewer for the KS test, fewer than 2 for any) no result can
    be significant, and a comparison is *not testable*."""
    if gap.p < alpha:
        return True
    floor = p_floor(gap)
    return floor is None or bool(floor < alpha)


def direction_verdict(gap: Gap, sign: int, alpha: float = ALPHA) -> str:
    """A claimed direction (``sign`` +1: better than random, -1: worse): *not testable* if its
    seeds cannot give ``p < alpha`` (:func:`is_testable`); else *reproduced* with that sign and
    ``p < alpha``, *partly* with the sign only, *not reproduced* with the other sign (or a gap of
    exactly zero)."""
    if not is_testable(gap, alpha):
        return "not testable"
    if np.sign(gap.mg) != sign:
        return "not reproduced"
    return "reproduced" if gap.p < alpha else "partly"


def is_small_gap(points: float, small: float = SMALL_GAP) -> bool:
    """A gap or cost in percentage points is small (negligible) if ``|points| < small``."""
    return bool(abs(points) < small)


def similar_verdict(gap: Gap, p_floor: float | None = None, alpha: float = ALPHA,
                    small: float = SMALL_GAP) -> str:
    """A claimed similarity, the paper's rule (small gap or ``p > alpha``): *reproduced* if
    ``|MG| < small`` or the gap is not significant although it could have been (``p_floor``:
    the smallest p the seeds allow; None: :func:`nbutils.stats.wilcoxon_floor` of ``gap.n``);
    *not testable* if the gap is not small and the seeds cannot give ``p < alpha``; else *not
    reproduced*."""
    if p_floor is None:
        p_floor = wilcoxon_floor(gap.n) if gap.n >= 2 else math.nan
    if is_small_gap(gap.mg, small) or (gap.p > alpha and p_floor < alpha):
        return "reproduced"
    return "not testable" if not p_floor < alpha else "not reproduced"


# --- claims made of several parts, or over several cases

def combine(*verdicts: str) -> str:
    """A claim of several different parts ("A, and B"): *reproduced* if all parts are, *not
    reproduced* if none is, else *partly*. Parts that are *not testable* say nothing either way:
    the others decide, but the claim is at most *partly* reproduced; all not testable: *not
    testable*."""
    testable = [v for v in verdicts if v != "not testable"]
    if not testable:
        return "not testable"
    if all(v == "reproduced" for v in verdicts):
        return "reproduced"
    return "not reproduced" if all(v == "not reproduced" for v in testable) else "partly"


def cases_verdict(verdicts: Iterable[str]) -> str:
    """One statement claimed for several cases (networks, measures, panels, seeds), one verdict
    per case: *reproduced* if every case is, *partly* if more than half of the cases are at least
    partly reproduced, else *not reproduced*; no case: *not testable*. Cases that are *not
    testable* are left out of the count, and the claim is then at most *partly* reproduced; all
    not testable: *not testable*."""
    verdicts = list(verdicts)
    testable = [v for v in verdicts if v != "not testable"]
    if not testable:
        return "not testable"
    if all(v == "reproduced" for v in verdicts):
        return "reproduced"
    holding = sum(v in ("reproduced", "partly") for v in testable)
    return "partly" if holding > len(testable) / 2 else "not reproduced"


def some_cases_verdict(gaps: Iterable[Gap], sign: int, alpha: float = ALPHA) -> str:
    """A direction claimed "in a few cases" (some of several, not all): *reproduced* if at least
    one case is significant in the claimed direction and none in the other; *partly* if some
    case is significant in the claimed direction and some in the other, or if no case is
    significant but more than half have the claimed sign; else *not reproduced*; no case, or no
    case testable (:func:`is_testable`): *not testable* (cases that are not are left out)."""
    gaps = [g for g in gaps if is_testable(g, alpha)]
    if not gaps:
        return "not testable"
    verdicts = [direction_verdict(g, sign, alpha) for g in gaps]
    claimed = sum(v == "reproduced" for v in verdicts)
    opposite = sum(direction_verdict(g, -sign, alpha) == "reproduced" for g in gaps)
    if claimed:
        return "partly" if opposite else "reproduced"
    with_sign = sum(v == "partly" for v in verdicts)
    return "partly" if not opposite and with_sign > len(gaps) / 2 else "not reproduced"


def count_verdict(count: int, total: int) -> str:
    """:func:`cases_verdict` for yes/no cases, ``count`` of ``total`` holding: all *reproduced*,
    more than half *partly*, fewer *not reproduced*; no case: *not testable*."""
    if total == 0:
        return "not testable"
    if count == total:
        return "reproduced"
    return "partly" if count > total / 2 else "not reproduced"


def verdict_from(condition: bool, partial: bool = False) -> str:
    """A yes/no check: *reproduced* if ``condition``; else *partly* when ``partial`` (e.g. the
    run matches the claim only at a reduced scale); else *not reproduced*."""
    if condition:
        return "reproduced"
    return "partly" if partial else "not reproduced"


# --- pruning (chapter 9, claims P2-P4): where the curves are read, fixed with the rules
P2_SHARE = 0.5            # P2: half of all hidden neurons removed (layer by layer vs network-wide)
P3_SHARES = (0.5, 0.75)   # P3: half and three quarters of one layer removed, then fine-tuned
P4_SHARE = 0.5            # P4: half of one layer removed (measures vs He et al.'s criteria)

def layer_by_layer_verdict(gap: Gap, alpha: float = ALPHA) -> str:
    """Claim P2 for one measure: pruning layer by layer keeps more accuracy than pruning the
    same number of neurons network-wide. ``gap`` pairs, seed by seed, layer-by-layer minus
    network-wide accuracy: :func:`direction_verdict` with sign +1."""
    return direction_verdict(gap, +1, alpha)


def balancing_verdict(helps: Gap, versus_retrained: Gap, alpha: float = ALPHA,
                      small: float = SMALL_GAP) -> str:
    """Claim P3 for one case (layer, neurons removed): bias balancing "partly replaces
    retraining without significant loss" read as two parts, combined (:func:`combine`):
    balancing beats plain removal (``helps`` = balanced minus removed, :func:`direction_verdict`
    +1), and balancing without retraining is similar to removal followed by fine-tuning
    (``versus_retrained`` = balanced minus removed-and-fine-tuned, :func:`similar_verdict`)."""
    return combine(direction_verdict(helps, +1, alpha),
                   similar_verdict(versus_retrained, alpha=alpha, small=small))


def not_worse_verdict(gap: Gap, alpha: float = ALPHA, small: float = SMALL_GAP) -> str:
    """Claim P4 for one case: an information measure prunes no worse than a criterion of He et
    al. (``gap`` = measure minus criterion). *Not reproduced* if the measure is worse by at
    least ``small`` points and significantly so; *partly* if worse by that much but not
    significantly (*not testable* if the seeds cannot give ``p < alpha``); else
    *reproduced*."""
    if gap.mg > -small:
        return "reproduced"
    if not is_testable(gap, alpha):
        return "not testable"
    return "not reproduced" if gap.p < alpha else "partly"


# --- counts (chapter 7, claims F1b and F5a-F5g), fixed before the CIFAR-10 runs were read
ABOUT_FACTOR = 1.5    # "about N" neurons: a count within N / 1.5 .. 1.5 N
MANY_SHARE = 25.0     # percent: "many" neurons means at least this share of them
LINEAR_R2 = 0.95      # a mean curve is "almost linear" if a straight line has R² at least this
EARLY_SHARE = 0.05    # "at once": after ablating this share of a layer (25 of 500 neurons)


def about_verdict(ours: float, paper: float, factor: float = ABOUT_FACTOR) -> str:
    """A count the paper gives as "about N": *reproduced* if ours lies within ``N / factor ..
    N * factor``, *partly* within ``N / factor² .. N * factor²``, else (or NaN: never reached)
    *not reproduced*."""
    if not np.isfinite(ours):
        return "not reproduced"
    ratio = ours / paper
    if 1 / factor <= ratio <= factor:
        return "reproduced"
    return "partly" if 1 / factor**2 <= ratio <= factor**2 else "not reproduced"


def is_many(share: float) -> bool:
    """"Many" neurons: a share (percent) of at least :data:`MANY_SHARE`."""
    return bool(share >= MANY_SHARE)


def is_almost_linear(r2: float) -> bool:
    """A curve is "almost linear" if the R² of its least-squares line
    (:func:`nbutils.counts.linearity`) is at least :data:`LINEAR_R2`."""
    return bool(r2 >= LINEAR_R2)


# --- chapter 10 (beyond the paper): our own findings, fixed before its runs were read.
# They are questions the book asks, not claims of the paper, so their verdicts have words of
# their own; each maps onto a claim verdict for the badges (FINDING_BADGES).
FINDING_VERDICTS = ("holds", "partly", "does not hold", "not testable")
FINDING_BADGES = dict(zip(FINDING_VERDICTS, VERDICTS))
AGREE_RHO = 0.5       # a score "agrees" with another if their mean Spearman rho is at least this


def fewer_dead(share: float, reference: float) -> bool:
    """Chapter 11's rule for one configuration: a reading leaves *fewer dead* first-layer
    neurons than the reference reading when its dead share (percent) is smaller, or both are
    zero (nothing left to improve)."""
    return share < reference or (share == 0 and reference == 0)


def finding_verdict(claim_verdict: str) -> str:
    """The words of a finding for a verdict given by a claim rule (*reproduced* -> *holds*)."""
    return dict(zip(VERDICTS, FINDING_VERDICTS))[claim_verdict]


def orders_better_than_random(high: Gap, low: Gap, alpha: float = ALPHA) -> str:
    """A score orders a layer's neurons better than random if ablating its high-ranked neurons
    first loses more than random (area MG < 0, p < alpha) and ablating its low-ranked ones first
    loses less (MG > 0, p < alpha): *holds* if both, *partly* if one, else *does not hold*;
    *not testable* if the seeds can make neither significant (:func:`is_testable`)."""
    if not (is_testable(high, alpha) or is_testable(low, alpha)):
        return "not testable"
    hits = (direction_verdict(high, -1, alpha) == "reproduced",
            direction_verdict(low, 1, alpha) == "reproduced")
    return "holds" if all(hits) else "partly" if any(hits) else "does not hold"


def not_worse_than(gap: Gap, alpha: float = ALPHA) -> bool:
    """A (paired) difference of separations, first minus second score: the first is not worse
    unless the difference is negative with p < alpha."""
    return not (gap.mg < 0 and gap.p < alpha)


def agrees(rho: float, threshold: float = AGREE_RHO) -> bool:
    """Two rankings agree if their mean Spearman rank correlation is at least :data:`AGREE_RHO`."""
    return bool(rho >= threshold)


# --- words for sizes and shares

def is_most(share: float) -> bool:
    """"Most": a share (percent) above :data:`MOST_SHARE`."""
    return bool(share > MOST_SHARE)


def is_almost_only(share: float) -> bool:
    """"Almost only": a share (percent) of at least :data:`ALMOST_ONLY_SHARE`."""
    return bool(share >= ALMOST_ONLY_SHARE)


def is_small_cost(cost: float, reference: float) -> bool:
    """A cost (points lost) is "only" small next to ``reference``, the cost of the same ablation
    in a comparable network, if it is below ``SMALL_COST_RATIO * reference``."""
    return bool(cost < SMALL_COST_RATIO * reference)


# --- checks of constructed examples (chapter 8) and of computations (chapter 2)

def costs_nothing(intact: ArrayLike, ablated: ArrayLike) -> bool:
    """Ablation costs nothing: every draw's accuracy (fraction) equals the intact one (to
    :data:`AGREE_TOL`)."""
    return bool(np.all(np.abs(np.asarray(ablated) - np.asarray(intact)) < AGREE_TOL))


def _points(fraction: ArrayLike) -> np.ndarray:
    """Accuracies (fractions) in percentage points, rounded to 1e-9 points like the gaps of
    :mod:`nbutils.stats`: float noise does not move a value across a threshold."""
    return np.round(100.0 * np.asarray(fraction, dtype=np.float64), 9)


def is_large_drop(intact: ArrayLike, ablated: ArrayLike) -> bool:
    """Ablation matters: every draw loses at least :data:`LARGE_DROP` points of accuracy
    (accuracies as fractions)."""
    return bool(np.all(_points(np.asarray(intact) - np.asarray(ablated)) >= LARGE_DROP))


def is_chance(accuracy: ArrayLike, n_classes: int) -> bool:
    """Every draw's accuracy (fraction) is within :data:`CHANCE_MARGIN` points of chance,
    ``100 / n_classes`` percent."""
    return bool(np.all(np.abs(_points(accuracy) - _points(1 / n_classes)) <= CHANCE_MARGIN))


def is_zero(bits: ArrayLike) -> bool:
    """Every value (bits) is zero up to rounding: ``|value| <= ZERO_TOL``."""
    return bool(np.all(np.abs(np.asarray(bits)) <= ZERO_TOL))


def agree(a: ArrayLike, b: ArrayLike = 0.0) -> bool:
    """Two computations of the same numbers agree: every difference below :data:`AGREE_TOL`
    (with ``b`` left out, ``a`` is the difference)."""
    return bool(np.all(np.abs(np.asarray(a) - np.asarray(b)) < AGREE_TOL))
