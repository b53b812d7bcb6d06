"""Chapter 9's claims rows (P1-P4) on hand-made results: the note's network as a few settings,
and the gaps the claims read written down directly (8 seeds: the exact Wilcoxon test can give
p = 2/256; 5 seeds: it cannot go below 0.0625, not testable), so that each verdict of each claim
comes out; then the functions that compute those gaps, on tiny curves."""
from __future__ import annotations

import numpy as np
import pytest

from nbutils.chapters import ch09
from nbutils.stats import Gap

FLOOR8 = 2 / 256


def gap(mg: float, p: float = FLOOR8, n: int = 8, k: int = 100) -> Gap:
    return Gap(k, mg, p, n, "Wilcoxon signed-rank (exact)", "", p)


NOTE = ch09.Network((784, 200, 200, 10), "sigmoid", "adam", 1e-3, 32, 1e-4,
                    (50000, 10000, 10000), np.array([0.98, 0.97] * 4))
P2 = {m: gap(20.0, k=200) for m in ("entropy", "mi", "kl")}
P3 = {f"layer {l}, k = {k}": (gap(10.0, k=k), gap(-1.0, k=k)) for l in (1, 2) for k in (100, 150)}
P4 = {f"layer {l}, {m} vs {c}": gap(1.0) for l in (1, 2) for m in ("mi", "kl")
      for c in ("he-entropy", "he-weight")}


def claims(network=NOTE, p2=None, p3=None, p4=None, profile="quick"):
    results = ch09.Results(network, p2 or P2, p3 or P3, p4 or P4, 1, 4.0)
    return {c.id: c for c in ch09.claims(results, profile)}


def test_everything_as_the_note_says():
    rows = claims()
    assert {i: c.verdict for i, c in rows.items()} == dict.fromkeys(("P1", "P2", "P3", "P4"),
                                                                     "reproduced")
    assert all(c.why == "" for c in rows.values())
    assert rows["P1"].ours == ("trained as stated: 784-200-200-10, sigmoid, Adam, lr 1e-3, "
                               "batch 32, cross-entropy + L2, 50 000 / 10 000 / 10 000; 8 seeds, "
                               "test accuracy 97.50 ± 0.50 %")
    assert rows["P2"].ours.startswith("200 of 400 hidden neurons removed with bias balancing, "
                                      "layer by layer minus network-wide: entropy: MG@200 = "
                                      "20.0, p = 7.81e-3; mi: ")
    assert rows["P3"].ours.startswith("lowest-MI neurons removed; bias balancing minus removal "
                                      "/ minus removal + 1 epoch(s) of fine-tuning: layer 1, "
                                      "k = 100: MG@100 = 10.0, p = 7.81e-3 / MG@100 = -1.0, ")
    assert rows["P3"].ours.endswith("; fine-tuning took 4 s per network on this run's machine")
    assert rows["P4"].ours.startswith("100 of 200 neurons of one layer removed with bias "
                                      "balancing, measure minus criterion: layer 1, mi vs "
                                      "he-entropy: MG@100 = 1.0")


# ---------------------------------------------------------------------------------- P1

def test_p1_partly_and_not_reproduced():
    from dataclasses import replace

    small = replace(NOTE, split=(2048, 1000, 1000))                  # 5 of 6 settings
    p1 = claims(small, profile="ci")["P1"]
    assert p1.verdict == "partly"
    assert [r.kind for r in p1.reasons] == ["scale", "note"]
    assert p1.why.startswith("ci profile: ")
    assert p1.why.endswith("; not as the note: 50 000 / 10 000 / 10 000")
    other = replace(small, activation="relu", optimizer="rmsprop", batch_size=64)  # 2 of 6
    p1 = claims(other)["P1"]
    assert p1.verdict == "not reproduced"
    assert p1.reasons[-1].text == ("not as the note: sigmoid, Adam, lr 1e-3, batch 32, "
                                   "50 000 / 10 000 / 10 000")


# ---------------------------------------------------------------------------------- P2

@pytest.mark.parametrize("gaps, verdict", [
    ((20.0, 3.0, -1.0), "partly"),          # 2 of 3 measures better layer by layer
    ((-20.0, -3.0, 1.0), "not reproduced"),  # network-wide better for two
])
def test_p2_partly_and_not_reproduced(gaps, verdict):
    p2 = claims(p2={m: gap(g, k=200) for m, g in zip(("entropy", "mi", "kl"), gaps)})["P2"]
    assert p2.verdict == verdict
    assert p2.reasons[0].kind == "significant"   # quick, every failing case significant
    assert "we do not know what differs" in p2.why


def test_p2_not_testable_with_five_seeds():
    p2 = claims(p2={m: gap(20.0, p=0.0625, n=5, k=200) for m in ("entropy", "mi", "kl")})["P2"]
    assert p2.verdict == "not testable"
    assert [r.kind for r in p2.reasons] == ["scale", "not testable", "not testable",
                                            "not testable"]


def test_p2_partly_when_not_significant():
    p2 = claims(p2={m: gap(20.0, p=0.2, k=200) for m in ("entropy", "mi", "kl")})["P2"]
    assert p2.verdict == "partly"
    assert [r.kind for r in p2.reasons] == ["scale"] + ["not significant"] * 3


# ---------------------------------------------------------------------------------- P3

def p3(helps: float, versus: float, p: float = FLOOR8, n: int = 8) -> dict:
    return {f"layer {l}, k = {k}": (gap(helps, p, n, k), gap(versus, p, n, k))
            for l in (1, 2) for k in (100, 150)}


@pytest.mark.parametrize("cases, verdict", [
    (p3(10.0, -5.0), "partly"),            # balancing helps, but fine-tuning does better
    (p3(-10.0, -5.0), "not reproduced"),   # balancing hurts, and fine-tuning does better
    (p3(10.0, -5.0, p=0.0625, n=5), "not testable"),
])
def test_p3_verdicts(cases, verdict):
    row = claims(p3=cases)["P3"]
    assert row.verdict == verdict
    if verdict == "partly":   # the significant losses to fine-tuning, with what we cannot tell
        assert [r.kind for r in row.reasons] == ["significant"]
        assert row.reasons[0].n_cases == 4
        assert row.reasons[0].cause == ch09.p3_note(1)
        assert "we read it at 50 % and 75 % of a layer, against 1 epoch(s)" in row.why


# ---------------------------------------------------------------------------------- P4

@pytest.mark.parametrize("values, verdict", [
    ((1.0, -3.0, -1.9, 0.0) * 2, "partly"),   # -3: worse by 2 points or more, significantly
    ((-3.0,) * 8, "not reproduced"),
])
def test_p4_partly_and_not_reproduced(values, verdict):
    row = claims(p4=dict(zip(P4, (gap(v) for v in values))))["P4"]
    assert row.verdict == verdict


def test_p4_partly_when_worse_but_not_significant_and_not_testable_with_five_seeds():
    assert claims(p4={n: gap(-3.0, p=0.2) for n in P4})["P4"].verdict == "partly"
    assert claims(p4={n: gap(-3.0, p=0.0625, n=5) for n in P4})["P4"].verdict == "not testable"


# ---------------------------------------------------------------------- the gaps, on curves

def curves(level: float, seeds: int = 6) -> np.ndarray:
    """Accuracy ``level`` plus 0.001 * seed at every k (distinct per seed)."""
    return level + 0.001 * np.arange(seeds)[:, None] + np.zeros((seeds, 3))


def test_p2_gaps_pair_layer_by_layer_with_network_wide():
    even = {m: curves(0.9) for m in ("entropy", "mi", "kl")}
    wide = {m: curves(0.5) for m in ("entropy", "mi", "kl")}
    gaps = ch09.p2_gaps(even, wide, 200, [0, 200, 400])
    assert list(gaps) == ["entropy", "mi", "kl"]
    assert all(g.k == 200 and g.mg == pytest.approx(40.0) for g in gaps.values())


def test_p3_gaps_pair_balancing_with_removal_and_with_fine_tuning():
    tuned = [{"balance/before": curves(0.8)[:, :2], "remove/before": curves(0.7)[:, :2],
              "remove/after": curves(0.85)[:, :2]}] * 2
    gaps = ch09.p3_gaps(tuned, [100, 150])
    assert list(gaps) == ["layer 1, k = 100", "layer 1, k = 150", "layer 2, k = 100",
                          "layer 2, k = 150"]
    helps, versus = gaps["layer 2, k = 150"]
    assert (helps.k, versus.k) == (150, 150)
    assert helps.mg == pytest.approx(10.0) and versus.mg == pytest.approx(-5.0)


def test_p4_gaps_name_each_measure_and_criterion():
    layer = {"mi/balance": curves(0.9), "kl/balance": curves(0.8),
             "he-entropy/balance": curves(0.85), "he-weight/balance": curves(0.95)}
    gaps = ch09.p4_gaps([layer, layer], 100, [0, 100, 200])
    assert list(gaps)[:4] == ["layer 1, mi vs he-entropy", "layer 1, mi vs he-weight",
                              "layer 1, kl vs he-entropy", "layer 1, kl vs he-weight"]
    assert gaps["layer 2, kl vs he-weight"].mg == pytest.approx(-15.0)
