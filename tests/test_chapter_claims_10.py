"""Chapter 10's findings rows (B1-B3) on tiny hand-made results: curves of 6 seeds (the exact
Wilcoxon test can then give p = 2/64 < 0.05) and 3 points k = 0, 1, 2, each score's curves a
hand-set distance from random, so that each verdict of each finding comes out; 5 seeds make
every gap untestable."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nbutils.chapters import ch10

RANDOM = np.array([0.9, 0.6, 0.3])
MEASURES = ("entropy", "mi", "kl")


def shifted(shift: float, seeds: int = 6) -> np.ndarray:
    """Random shifted by ``shift * d_i`` after k = 0, with d_i = 0.01 (i + 1) for seed i."""
    d = 0.01 * np.arange(1, seeds + 1)[:, None]
    out = np.tile(RANDOM, (seeds, 1))
    out[:, 1:] += shift * d
    return out


def case_curves(scores: dict[str, tuple[float, float]], seeds: int = 6) -> dict:
    """``{score: (high shift, low shift)}`` -> the curves of one case."""
    out = {}
    for name, (high, low) in scores.items():
        out[f"{name}-high"], out[f"{name}-low"] = shifted(high, seeds), shifted(low, seeds)
    return out


def results(cases: list[dict], seeds: int = 6):
    """The separation table and the best-of-families table of one network's layers."""
    curves = {("net", l): case_curves(c, seeds) for l, c in enumerate(cases)}
    random = {case: shifted(0.0, seeds) for case in curves}
    table = ch10.separation_table(curves, random)
    return table, ch10.best_of_families(table, curves)


def oracle(agreeing: int) -> pd.DataFrame:
    """B3's table from tiny scores: the first ``agreeing`` measures rank 4 neurons as the
    single-neuron drop does, the others in reverse."""
    up, down = np.array([[1.0, 2.0, 3.0, 4.0]] * 3), np.array([[4.0, 3.0, 2.0, 1.0]] * 3)
    scores = {("net", 0): {"oracle": up,
                           **{m: up if i < agreeing else down for i, m in enumerate(MEASURES)}}}
    return ch10.oracle_rho(ch10.rank_correlations(scores))


GOOD, PARTLY, BAD = (-2.0, 2.0), (-2.0, 0.0), (2.0, -2.0)   # (high, low) shifts
WEAK = (-1.0, 0.0)                                          # separates less than any layer()


def findings(cases, seeds=6, agreeing=3, profile="paper"):
    table, best = results(cases, seeds)
    return ch10.findings(table, best, oracle(agreeing), [seeds], profile)


@pytest.mark.parametrize("measures, verdict, counts", [
    ((GOOD, GOOD, GOOD), "holds", "3 holds, 0 partly, 0 does not hold"),
    ((GOOD, PARTLY, BAD), "partly", "1 holds, 1 partly, 1 does not hold"),
    ((PARTLY, BAD, BAD), "does not hold", "0 holds, 1 partly, 2 does not hold"),
])
def test_b1_better_than_random(measures, verdict, counts):
    b1 = findings([dict(zip(MEASURES, measures), w_out=GOOD)])[0]
    assert (b1.id, b1.verdict) == ("B1", verdict)
    assert b1.ours == f"of 3 (measure, network, layer) cases: {counts}"
    assert b1.note.startswith("at the paper's scale")


def test_b1_not_testable_with_five_seeds():
    b1 = findings([dict(zip(MEASURES, (GOOD,) * 3), w_out=GOOD)], seeds=5,
                  profile="quick")[0]
    assert b1.verdict == "not testable"
    assert b1.ours == "of 3 (measure, network, layer) cases: 0 holds, 0 partly, 0 does not " \
                      "hold, 3 not testable"
    assert b1.note == "quick profile: 5 seeds instead of 50 (less power)"


def layer(measure: float, field: float) -> dict:
    """A case whose best measure separates with (-measure, +measure) shifts and whose best field
    score with (-field, +field)."""
    return {"entropy": (-measure, measure), "mi": WEAK, "kl": WEAK,
            "w_out": (-field, field), "mean": (0.0, 0.0)}


@pytest.mark.parametrize("cases, verdict, ours", [
    ([layer(3, 2), layer(2, 2)], "holds", "not worse in 2 of 2 (network, layer) cases, "
                                          "significantly better in 1"),
    ([layer(3, 2), layer(3, 2), layer(1, 2)], "partly",
     "not worse in 2 of 3 (network, layer) cases, significantly better in 2"),
    ([layer(1, 2), layer(3, 2)], "does not hold",
     "not worse in 1 of 2 (network, layer) cases, significantly better in 1"),
])
def test_b2_best_measure_against_best_field_score(cases, verdict, ours):
    table, best = results(cases)
    assert list(best["best measure"]) == ["Entropy"] * len(cases)
    assert list(best["best field score"]) == ["Outgoing weight norm"] * len(cases)
    b2 = ch10.findings(table, best, oracle(3), [6], "paper")[1]
    assert (b2.id, b2.verdict, b2.ours) == ("B2", verdict, ours)
    assert b2.note.startswith("the best score of each family is picked on the same run that "
                              "tests it, and the maximum over more scores is the more favoured "
                              "by chance: here the field's, the best of 2 scores against the "
                              "best of 3 measures; at the paper's scale")


def test_b2_not_testable_without_cases():
    table, _ = results([layer(3, 2)])
    best = pd.DataFrame(columns=["not worse", "better"])
    b2 = ch10.findings(table, best, oracle(3), [6], "paper")[1]
    assert b2.verdict == "not testable"
    assert b2.ours == "not worse in 0 of 0 (network, layer) cases, significantly better in 0"


@pytest.mark.parametrize("agreeing, verdict, ours", [
    (3, "holds", "entropy 1.00, MI 1.00, KL selectivity 1.00"),
    (2, "partly", "entropy 1.00, MI 1.00, KL selectivity -1.00"),
    (1, "does not hold", "entropy 1.00, MI -1.00, KL selectivity -1.00"),
])
def test_b3_agreement_with_the_single_neuron_drop(agreeing, verdict, ours):
    b3 = findings([layer(3, 2)], agreeing=agreeing)[2]
    assert (b3.id, b3.verdict, b3.ours) == ("B3", verdict, ours)
    assert b3.note == "a mean over seeds and the network-layer cases of this chapter"


def test_separation_table_ranks_and_view():
    table, _ = results([layer(3, 2)])
    ranks = table.set_index("score")["rank"]
    assert ranks["entropy"] == 1 and ranks["w_out"] == 2 and ranks["mean"] == 5
    assert list(ch10.mean_ranks(table).index[:2]) == ["entropy", "w_out"]
    view = ch10.separation_view(table)
    assert view.loc[("net", 1, "Entropy"), "p (high)"] == "0.031"
