"""Chapter 6's claims (:func:`nbutils.chapters.ch06.claims`) on tiny hand-made results.

Every network has 6 seeds (the smallest two-sided Wilcoxon p is then 2/2^6 = 0.031 < 0.05) and
layers of 5 neurons, so the gaps are read at k = 4 (80 %). A curve falls linearly from 90 %
(k = 0) to its value at k = 4 and stays there; the same for every seed unless a test gives one
value per seed. :func:`results` builds a run in which every claim is reproduced; each test
changes what one claim reads.

Verdicts a claim cannot take by its rules are not tested: F1a and F1d count networks, and F1c,
F4b and F4c combine their gaps with a part that is always testable (finer quantizers alike by
KS, the order of the separations, "weaker"), so none of them is ever *not testable*.
"""
from __future__ import annotations

import numpy as np
import pytest

from nbutils.chapters import ch06
from nbutils.measures import MEASURES

SEEDS, WIDTH, K = 6, 5, 4
PAPER = "at the paper's scale"


def acc(at_k, n: int = SEEDS) -> np.ndarray:
    """Accuracies (n, WIDTH + 1): 0.9 at k = 0, linear to ``at_k`` (one value or one per seed)
    at k = K, flat after."""
    at_k = np.broadcast_to(np.asarray(at_k, dtype=float), (n,))
    return np.stack([0.9 + (at_k - 0.9) * min(j, K) / K for j in range(WIDTH + 1)], axis=1)


def layer(random: float, gaps: dict[str, float], n: int = SEEDS) -> dict[str, np.ndarray]:
    """One layer's curves: random ablation reaches ``random`` at k = 4, each ordering
    ``random + gaps[ordering]`` (missing orderings: like random)."""
    out = {o: acc(random + np.asarray(gaps.get(o, 0.0)), n) for o in ch06.ORDERINGS}
    out["random"] = acc(random, n)
    return out


def positive(low: float, n_ent: float | None = None, n_mi: float | None = None):
    """Low first better than random by ``low`` and high first worse by as much, every measure
    (entropy and MI may differ)."""
    size = {"entropy": n_ent or low, "mi": n_mi or low, "kl": low}
    return {f"{m}-{d}": size[m] * (1 if d == "low" else -1) for m in MEASURES
            for d in ("low", "high")}


def measures(offset: float, n: int = SEEDS) -> list[dict[str, np.ndarray]]:
    """Two layers of 3 neurons: entropy and MI grow from layer 1 to layer 2; ``offset`` is
    added to MI (Dropout networks: larger)."""
    return [{"entropy": np.full((n, 3), 0.2 + 0.1 * l), "mi": np.full((n, 3), 0.1 + 0.1 * l
                                                                        + offset),
             "kl": np.full((n, 3), 0.3)} for l in range(2)]


def results(n: int = SEEDS) -> dict:
    """The parts of a run in which every claim is reproduced."""
    curves = {
        # (a) large L2: layer 1 hurts more than layer 2 (F4a); KL low better, high worse and
        # separations entropy 10 < KL 20 < MI 40 points (F4b); random loses 40 points
        ("a", 0): layer(0.5, positive(0.10, n_ent=0.05, n_mi=0.20), n),
        ("a", 1): layer(0.8, {}, n),
        # (b) small L2: positive (F4c), weaker (separation 4 < 23.3), random loses 60 points
        ("b", 0): layer(0.3, positive(0.02), n),
        ("b", 1): layer(0.8, {}, n),
        # (c) small Dropout: loses 30 points, KL low worse and KL high better; layer 2 overlaps
        ("c", 0): layer(0.6, {"kl-low": -0.1, "kl-high": 0.1}, n),
        ("c", 1): layer(0.7, {o: 0.005 for o in ch06.ORDERINGS if o != "mi-low"}
                        | {"mi-low": 0.2}, n),
        # (d) large without regularizer: positive (F4b, no regularizer)
        ("d", 0): layer(0.5, positive(0.1), n),
        ("d", 1): layer(0.8, {}, n),
    }
    meas = {"a": measures(0.0, n), "b": measures(0.0, n), "c": measures(0.05, n),
            "d": measures(0.0, n), ch06.LARGE_DROPOUT: measures(0.05, n)}
    one_bit = [{"entropy": np.tile([0.0, 0.5, 0.5], (n, 1)), "kl": np.full((n, 3), 0.3)},
               {"entropy": np.full((n, 3), 0.5), "kl": np.full((n, 3), 0.1)}]
    fine = [{"entropy": np.full((n, 3), 1.0), "kl": np.tile([0.1, 0.2, 0.3], (n, 1))}
            for _ in range(2)]
    quantized = {"one-bit": one_bit, "uniform-8": fine, "quantile-8": fine}
    # S6: ablation to the mean keeps 5 points more in one case, the same in another
    s6 = {("Fig. 3(a)", 0): {"zero": acc(0.5, n), "mean": acc(0.55, n)},
          ("Fig. 3(a)", 1): {"zero": acc(0.5, n), "mean": acc(0.5, n)}}
    return {"curves": curves, "measures": meas, "quantized": quantized, "s6": s6}


def judge(parts: dict, n: int = SEEDS, profile: str = "paper") -> dict:
    rows = ch06.claims(ch06.Results(**parts), profile, [n] * 6)
    return {c.id: c for c in rows}


def test_every_claim_is_reproduced_on_the_hand_made_run():
    claims = judge(results())
    assert list(claims) == ["F1a (FashionMNIST)", "F1c", "F1d (FashionMNIST)", "F4a", "F4b",
                            "F4b (no regularizer)", "F4c", "F4d", "S6"]
    assert {c.verdict for c in claims.values()} == {"reproduced"}
    assert all(c.why == "" for c in claims.values())
    exact = "(exact; normal approximation 0.014)"
    assert claims["F4b"].ours == (f"KL low MG@4 = 10.0, p = 0.031 {exact}; KL high MG@4 = "
                                  f"-10.0, p = 0.031 {exact}; separation (low - high) Entropy "
                                  "10.0, Mutual information 40.0, KL selectivity 20.0")
    assert claims["F4a"].ours == "MG@4 = -30.0, p = 2.16e-3 (KS)"


def test_the_tables_read_the_same_results():
    parts = results()
    sep = ch06.separations(parts["curves"])
    assert sep.loc["a", "mean"] == pytest.approx(70 / 3)
    assert ch06.f1a_table(parts["measures"], {})["increases"].all()
    assert ch06.f1d_table(parts["measures"])["Dropout larger"].all()
    mg, p = ch06.gap_tables(parts["curves"])
    assert mg.loc[("a", 1, K), "mi-low"] == pytest.approx(20.0)
    assert p.loc[("a", 1, K), "mi-low"] == "0.031"


# --------------------------------------------------------------------- F1a, F1d: counts

def test_f1a_partly_when_one_pair_of_ten_does_not_increase():
    parts = results()
    parts["measures"]["d"][1]["mi"] = np.full((SEEDS, 3), 0.05)   # MI falls in (d)
    claim = judge(parts)["F1a (FashionMNIST)"]
    assert claim.verdict == "partly"
    assert claim.ours == "layer medians increase in 9 of 10 (network, measure) pairs"
    assert claim.why.startswith(PAPER)
    assert "no increase in d Mutual information: 0.100 -> 0.050" in claim.why


def test_f1a_not_reproduced_when_nothing_increases():
    parts = results()
    for per_layer in parts["measures"].values():
        per_layer.reverse()
    assert judge(parts)["F1a (FashionMNIST)"].verdict == "not reproduced"


@pytest.mark.parametrize("swapped, verdict", [(("c",), "partly"),
                                              (("c", ch06.LARGE_DROPOUT), "not reproduced")])
def test_f1d_counts_the_layers_where_dropout_has_more_mi(swapped, verdict):
    parts = results()
    for key in swapped:   # Dropout no longer above L2 in either layer of that network
        parts["measures"][key] = measures(-0.05)
    parts["measures"]["c"][0]["mi"] = np.full((SEEDS, 3), 0.2)   # (c) layer 1 still above
    claim = judge(parts)["F1d (FashionMNIST)"]
    assert claim.verdict == verdict
    assert "not in small layer 2" in claim.why


# --------------------------------------------------------------------- F1c

def test_f1c_partly_when_finer_quantizers_still_differ():
    parts = results()
    parts["quantized"]["uniform-8"] = [
        {"entropy": np.full((SEEDS, 3), 1.0), "kl": np.full((SEEDS, 3), 0.1 + 0.3 * l)}
        for l in range(2)]
    claim = judge(parts)["F1c"]
    assert claim.verdict == "partly"
    assert "uniform-8: median difference = 0.3" in claim.why
    assert "the paper does not say which finer quantizer it used" in claim.why


def test_f1c_not_reproduced_when_layer_2_is_larger_under_every_quantizer():
    parts = results()
    larger = [{"entropy": np.full((SEEDS, 3), 1.0), "kl": np.full((SEEDS, 3), 0.1 + 0.3 * l)}
              for l in range(2)]
    parts["quantized"] = {"one-bit": [{**larger[0], "entropy": np.tile([0.0, 0.5, 0.5],
                                                                       (SEEDS, 1))}, larger[1]],
                          "uniform-8": larger, "quantile-8": larger}
    claim = judge(parts)["F1c"]
    assert claim.verdict == "not reproduced"
    # the one-bit case names what we checked: a third of layer 1 is constant on D
    assert "33 % of layer 1 is constant on D" in claim.why
    assert claim.ours.startswith("median KL layer 2 - layer 1: one-bit +0.300 bits")


# --------------------------------------------------------------------- F4a (KS test)

def test_f4a_partly_when_layer_1_is_worse_but_not_significantly():
    parts = results()
    parts["curves"]["a", 0]["random"] = acc(0.50 + 0.02 * np.arange(SEEDS))
    parts["curves"]["a", 1]["random"] = acc(0.51 + 0.02 * np.arange(SEEDS))
    claim = judge(parts)["F4a"]
    assert claim.verdict == "partly"
    assert "not significant (p > 0.05)" in claim.why


def test_f4a_not_reproduced_when_layer_2_hurts_more():
    parts = results()
    parts["curves"]["a", 1]["random"] = acc(0.2)
    claim = judge(parts)["F4a"]
    assert claim.verdict == "not reproduced"
    assert "so more seeds would not remove it: (a) random, layer 1 - layer 2" in claim.why


def test_f4a_and_the_wilcoxon_claims_are_not_testable_with_3_seeds():
    claims = judge(results(3), 3)
    for claim in ("F4a", "F4b (no regularizer)", "S6"):
        assert claims[claim].verdict == "not testable", claim
    assert "seeds cannot give p < 0.05" in claims["F4a"].why


# --------------------------------------------------------------------- F4b

def test_f4b_partly_when_the_measures_separate_in_another_order():
    parts = results()
    parts["curves"]["a", 0] = layer(0.5, positive(0.10, n_ent=0.30, n_mi=0.20))
    claim = judge(parts)["F4b"]
    assert claim.verdict == "partly"
    assert claim.why.endswith("the measures separate in another order than the paper's")


def test_f4b_not_reproduced_when_kl_is_reversed_and_the_order_too():
    parts = results()
    parts["curves"]["a", 0] = layer(0.5, positive(-0.10, n_ent=-0.01, n_mi=-0.20))
    assert judge(parts)["F4b"].verdict == "not reproduced"


# --------------------------------------------------------------------- F4b, no regularizer

def test_f4b_without_regularizer_partly_when_one_ordering_is_not_significant():
    parts = results()
    gaps = positive(0.1)
    gaps["entropy-low"] = np.array([0.05, 0.05, 0.05, -0.01, -0.01, -0.01])   # mixed signs
    parts["curves"]["d", 0] = layer(0.5, gaps)
    claim = judge(parts)["F4b (no regularizer)"]
    assert claim.verdict == "partly"
    assert "(d) entropy low: MG@4 = 2.0" in claim.why and "not significant" in claim.why


def test_f4b_without_regularizer_not_reproduced_when_reversed():
    parts = results()
    parts["curves"]["d", 0] = layer(0.5, positive(-0.1))
    assert judge(parts)["F4b (no regularizer)"].verdict == "not reproduced"


# --------------------------------------------------------------------- F4c

def test_f4c_partly_when_the_small_net_separates_better():
    parts = results()
    parts["curves"]["b", 0] = layer(0.3, positive(0.3))
    claim = judge(parts)["F4c"]
    assert claim.verdict == "partly"
    assert claim.why.endswith("the small net's separation is not weaker")


def test_f4c_not_reproduced_when_everything_is_reversed():
    parts = results()
    # negative in both nets (so "weaker" fails only if (a) separates worse: -60 < -20), and
    # (b) loses less than (a)
    parts["curves"]["a", 0] = layer(0.5, positive(-0.3))
    parts["curves"]["b", 0] = layer(0.7, positive(-0.1))
    claim = judge(parts)["F4c"]
    assert claim.verdict == "not reproduced"
    assert "median loss large - small +20.0 points" in claim.ours


# --------------------------------------------------------------------- F4d

def test_f4d_partly_when_a_layer_2_curve_does_not_overlap():
    parts = results()
    parts["curves"]["c", 1]["kl-high"] = acc(0.6)   # 10 points below random, significant
    claim = judge(parts)["F4d"]
    assert claim.verdict == "partly"
    assert claim.ours.endswith("layer 2, orderings other than MI low similar to random: 4 of 5")
    assert "(c) layer 2 kl-high: MG@4 = -10.0" in claim.why


def test_f4d_not_reproduced_when_dropout_is_less_robust_and_kl_reversed():
    parts = results()
    parts["curves"]["c", 0] = layer(0.1, {"kl-low": 0.1, "kl-high": -0.05})
    parts["curves"]["c", 1] = layer(0.7, {o: 0.2 for o in ch06.ORDERINGS})
    assert judge(parts)["F4d"].verdict == "not reproduced"


def test_f4d_not_testable_with_3_seeds_and_no_overlap():
    parts = results(3)
    parts["curves"]["c", 1] = layer(0.7, {o: 0.2 for o in ch06.ORDERINGS}, 3)
    assert judge(parts, 3)["F4d"].verdict == "not testable"


# F4d's control (beyond the paper's protocol): KL low against the dead-matched baseline of
# layer 1 of (c), which reaches ``baseline`` at k = 4
@pytest.mark.parametrize("kl_low, baseline, n, verdict", [
    (0.5, 0.6, SEEDS, "reproduced"),          # 10 points below the dead-matched baseline too
    (0.5, 0.45, SEEDS, "not reproduced"),     # above it: the dead neurons made KL low look worse
    (0.5, 0.6, 3, "not testable"),
])
def test_f4d_control_judges_kl_low_against_the_dead_matched_baseline(kl_low, baseline, n,
                                                                     verdict):
    parts = results(n)
    parts["curves"]["c", 0] = layer(0.6, {"kl-low": kl_low - 0.6, "kl-high": 0.1}, n)
    parts["dead_matched"] = {("c", 0): {"dead_matched": acc(baseline, n),
                                        "dead": np.full(n, 1.5)}}
    rows = judge(parts, n)
    assert list(rows)[7:9] == ["F4d", "F4d (dead-matched)"]
    row = rows["F4d (dead-matched)"]
    assert row.verdict == verdict
    assert row.paper.startswith("beyond the paper's protocol")
    assert row.ours.startswith(f"KL low vs dead-matched random: MG@4 = "
                               f"{100 * (kl_low - baseline):.1f}")
    assert row.ours.endswith("1.5 of 5 neurons of layer 1 dead per network (mean)")


# ... and KL high against the dead-last baseline (dead neurons ablated last, as KL high does)
@pytest.mark.parametrize("kl_high, baseline, n, verdict", [
    (0.7, 0.6, SEEDS, "reproduced"),          # 10 points above the dead-last baseline
    (0.5, 0.6, SEEDS, "not reproduced"),      # below it
    (0.7, 0.6, 3, "not testable"),
])
def test_f4d_control_judges_kl_high_against_the_dead_last_baseline(kl_high, baseline, n,
                                                                   verdict):
    parts = results(n)
    parts["curves"]["c", 0] = layer(0.6, {"kl-low": -0.1, "kl-high": kl_high - 0.6}, n)
    parts["dead_last"] = {("c", 0): {"dead_matched": acc(baseline, n), "dead": np.full(n, 2.0)}}
    rows = judge(parts, n)
    assert list(rows)[7:9] == ["F4d", "F4d (dead-last)"]
    row = rows["F4d (dead-last)"]
    assert row.verdict == verdict
    assert row.paper.startswith("beyond the paper's protocol: F4d's KL-high comparison")
    assert "dead neurons last, as KL high does; the paper: KL high better than random" in row.paper
    assert row.ours.startswith(f"KL high vs dead-last random: MG@4 = "
                               f"{100 * (kl_high - baseline):.1f}")
    assert row.ours.endswith("2.0 of 5 neurons of layer 1 dead per network (mean)")


def test_f4d_names_a_control_in_its_reason_only_where_the_control_is_reproduced():
    parts = results()
    # KL low better and KL high worse than random: F4d fails on both (partly: the rest holds)
    parts["curves"]["c", 0] = layer(0.6, {"kl-low": 0.1, "kl-high": -0.1})
    # ... KL low is worse than its dead-matched baseline (reproduced), KL high is not better
    # than its dead-last baseline (not reproduced)
    parts["dead_matched"] = {("c", 0): {"dead_matched": acc(0.8), "dead": np.full(SEEDS, 2.0)}}
    parts["dead_last"] = {("c", 0): {"dead_matched": acc(0.55), "dead": np.full(SEEDS, 2.0)}}
    rows = judge(parts)
    assert [rows[r].verdict for r in ("F4d", "F4d (dead-matched)", "F4d (dead-last)")] == [
        "partly", "reproduced", "not reproduced"]
    why = rows["F4d"].why
    assert ("which KL low ablates first at no cost; against a random baseline that ablates them "
            "first too, KL low is worse than random as in the paper: MG@4 = -10.0") in why
    assert "(row F4d (dead-matched))" in why and "F4d (dead-last)" not in why
    assert "(c) KL high: MG@4 = -10.0" in why and "we do not know what differs" in why


def test_without_the_control_there_is_no_control_row():
    rows = judge(results())
    assert "F4d (dead-matched)" not in rows and "F4d (dead-last)" not in rows


# --------------------------------------------------------------------- S6

def test_s6_partly_when_the_mean_also_hurts_significantly():
    parts = results()
    parts["s6"]["Fig. 3(a)", 1] = {"zero": acc(0.5), "mean": acc(0.4)}
    claim = judge(parts)["S6"]
    assert claim.verdict == "partly"
    assert claim.ours == ("mean vs zero, random ablation, 2 (network, layer) cases: area "
                          "between the curves significantly positive in 1, significantly "
                          "negative in 1; largest area +2.9 points")
    assert "Fig. 3(a), layer 2: area gap = -5.8" in claim.why


def test_s6_not_reproduced_when_the_mean_never_helps():
    parts = results()
    parts["s6"]["Fig. 3(a)", 0] = {"zero": acc(0.5), "mean": acc(0.4)}
    assert judge(parts)["S6"].verdict == "not reproduced"


def test_s6_names_the_networks_by_their_titles():
    parts = results()
    parts["s6"]["Fig. 3(a)", 1] = {"zero": acc(0.5), "mean": acc(0.4)}
    names = {"Fig. 3(a)": "Fig. 3(a) MNIST, ReLU, Dropout"}
    claim = judge({**parts, "names": names})["S6"]
    assert "Fig. 3(a) MNIST, ReLU, Dropout, layer 2: area gap" in claim.why


def test_a_quick_run_leads_its_reasons_with_its_scale():
    parts = results()
    parts["curves"]["a", 1]["random"] = acc(0.2)
    claim = judge(parts, profile="quick")["F4a"]
    assert claim.reasons[0].kind == "significant"   # quick: the scale note explains no seeds
    claim = judge(parts, profile="ci")["F4a"]
    assert claim.reasons[0].kind == "scale" and claim.why.startswith("ci profile: 6 seeds")


def test_dead_matched_table_reads_both_baselines():
    parts = results()
    control = {("c", 0): {"dead_matched": acc(0.55), "dead": np.full(SEEDS, 2.0)}}
    table = ch06.dead_matched_table(parts["curves"], control, {"c": "(c) small, Dropout"})
    assert len(table) == 1
    row = table.loc[("(c) small, Dropout", 1, "KL low")]
    assert row["dead neurons (mean)"] == 2.0 and row["of"] == WIDTH
    assert row["dead in the baseline"] == "first"
    assert row["vs random: MG@4"] == -10.0          # 0.5 against 0.6
    assert row["vs dead-matched: MG@4"] == -5.0     # 0.5 against 0.55
    last = {("c", 0): {"dead_matched": acc(0.65), "dead": np.full(SEEDS, 2.0)}}
    table = ch06.dead_matched_table(parts["curves"], control, {"c": "(c) small, Dropout"}, last)
    row = table.loc[("(c) small, Dropout", 1, "KL high")]
    assert row["dead in the baseline"] == "last"
    assert row["vs random: MG@4"] == 10.0           # 0.7 against 0.6
    assert row["vs dead-matched: MG@4"] == 5.0      # 0.7 against 0.65
