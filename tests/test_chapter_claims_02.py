"""Chapter 2's claims (M1, M2, S5) on tiny hand-made results: one layer of five neurons, a few
seeds, measures and ablation curves chosen so that each verdict the rules allow can be read by
eye."""
from __future__ import annotations

import numpy as np
import pandas as pd

from nbutils.chapters import ch02
from nbutils.measures import FINE_QUANTIZERS, MEASURES

ORDERINGS = [f"{m}-{d}" for m in MEASURES for d in ("low", "high")]
WIDTH = 5                                   # k = 0.8 n = 4 neurons ablated
ONE_BIT = np.linspace(0.9, 0.5, WIDTH + 1)  # accuracy after ablating 0..5 neurons: 0.58 at k = 4


def measures(h=(0.5, 1.0, 0.0, 0.3, 0.8), i=(0.2, 0.5, 0.0, 0.1, 0.4),
             kl=(0.3, 0.9, 0.0, 0.2, 1.5), seeds=3):
    """One hidden layer, the same values in every seed: entropy, MI and KL selectivity (bits)."""
    return [{name: np.tile(np.asarray(v, dtype=float), (seeds, 1))
             for name, v in (("entropy", h), ("mi", i), ("kl", kl))}]


def ablation(seeds=8, lower=()):
    """The comparisons of S5: every finer quantizer reads the one-bit accuracy at k = 4, except
    the (quantizer, ordering) pairs in ``lower``, 10 points lower (plus 0.1 point per seed, so
    that the differences are not tied)."""
    one_bit = [{o: np.tile(ONE_BIT, (seeds, 1)) for o in ORDERINGS}]
    finer = {}
    for q in FINE_QUANTIZERS:
        finer[(0, q)] = {}
        for o in ORDERINGS:
            at_k = np.full(seeds, ONE_BIT[4])
            if (q, o) in lower:
                at_k = at_k - 0.10 - 0.001 * np.arange(seeds)
            finer[(0, q)][o] = np.column_stack([np.full(seeds, ONE_BIT[0]), at_k])
    return ch02.quantizer_ablation(one_bit, finer)


def cost(flops=(40.0, 40.0), change=(0.0, 0.0)):
    return pd.DataFrame({"N": [100, 200], "FLOPs / (N x neurons)": list(flops),
                         "largest change of a measure (bits)": list(change)})


def results(worked_diff=0.0, cost_table=None, meas=None, comparisons=None, seeds=8):
    meas = measures() if meas is None else meas
    rho = ch02.rank_correlations({"one-bit": meas, "uniform-8": meas})
    return ch02.Results(worked_diff, cost() if cost_table is None else cost_table,
                        ch02.bounds(meas), rho,
                        ablation(seeds) if comparisons is None else comparisons, seeds)


def claims(r, profile="paper"):
    return {c.id: c for c in ch02.claims(r, profile)}


def test_everything_agreeing_reproduces_m1_m2_s5():
    c = claims(results())
    assert {k: v.verdict for k, v in c.items()} == {"M1": "reproduced", "M2": "reproduced",
                                                    "S5": "reproduced"}
    assert c["M1"].ours == ("hand computation of Eqs. 2-5 for one neuron equals neuron_measures "
                            "(difference 0e+00 bits); 40 FLOPs per sample and neuron for "
                            "N = 100..200")
    assert c["M2"].ours == ("0 violations of I <= H <= 1 bit or I <= KL among 15 neurons x "
                            "seeds; I = 0 for 3, KL = 0 for 3, both for 3")
    assert c["S5"].ours == ("12 of 12 ablation results at k = 0.8 n similar to one-bit "
                            "(uniform/quantile, 8 bins); mean rank correlation of the MI "
                            "orderings 1.00..1.00 (4 and 8 bins)")
    assert all(not v.reasons for v in c.values())


def test_m1_not_reproduced():
    assert claims(results(worked_diff=1e-3))["M1"].verdict == "not reproduced"
    assert claims(results(cost_table=cost(flops=(40.0, 80.0))))["M1"].verdict == \
        "not reproduced"                                       # quadratic, not linear, in N
    assert claims(results(cost_table=cost(change=(0.0, 0.01))))["M1"].verdict == \
        "not reproduced"                                       # repeating D changed a measure


def test_m2_not_reproduced_and_its_note():
    above = measures(i=(0.6, 0.5, 0.0, 0.1, 0.4))             # I > H for the first neuron
    assert claims(results(meas=above))["M2"].verdict == "not reproduced"
    apart = measures(kl=(0.3, 0.9, 0.1, 0.2, 1.5))            # I = 0 but KL > 0
    m2 = claims(results(meas=apart))["M2"]
    assert m2.verdict == "not reproduced" and "I = 0 for 3, KL = 0 for 0" in m2.ours
    none_zero = measures(h=(0.5, 1.0, 0.1, 0.3, 0.8), i=(0.2, 0.5, 0.01, 0.1, 0.4),
                         kl=(0.3, 0.9, 0.02, 0.2, 1.5))
    m2 = claims(results(meas=none_zero))["M2"]
    assert m2.verdict == "reproduced"
    assert m2.why == ("no neuron with I = 0 here: the 'iff' is checked on the constructed "
                      "networks of chapter 8")


def test_s5_partly_and_not_reproduced():
    one = ablation(lower={("quantile-8", "mi-high")})
    s5 = claims(results(comparisons=one))["S5"]
    assert s5.verdict == "partly" and s5.ours.startswith("11 of 12")
    assert [r.kind for r in s5.reasons] == ["scale", "significant"]
    assert s5.reasons[1].cause == "finer bins reorder the neurons"
    assert s5.reasons[1].text.startswith("layer 1 mi-high quantile-8: MG@4 = -10.3, p = 7.81e-3")
    most = ablation(lower={(q, o) for q in FINE_QUANTIZERS for o in ORDERINGS[:4]})
    assert claims(results(comparisons=most))["S5"].verdict == "not reproduced"   # 8 of 12 differ


def test_s5_not_testable_with_three_seeds():
    # 3 seeds: no Wilcoxon test can give p < 0.05, and every gap is large
    every = {(q, o) for q in FINE_QUANTIZERS for o in ORDERINGS}
    s5 = claims(results(comparisons=ablation(seeds=3, lower=every), seeds=3), "quick")["S5"]
    assert s5.verdict == "not testable"
    assert s5.reasons[0].kind == "scale" and s5.reasons[0].text.startswith("quick profile: 3 "
                                                                          "seeds instead of 50")
    assert {r.kind for r in s5.reasons[1:]} == {"not testable"}


def test_the_tables_behind_the_prose():
    meas = measures()
    notes = ch02.bounds_notes(meas)
    assert notes["ch2_total"] == 15 and notes["ch2_violations"] == 0
    assert notes["ch2_i_zero_h_pos"] == 0
    assert notes["ch2_kl_above_h"] == 20.0   # the fifth neuron, KL 1.5 > H 0.8, in every seed
    assert notes["ch2_low_h_sentence"] == ("The 3 pairs with entropy below 0.1 bit have mutual "
                                           "information of at most 0.000 bits")
    assert np.isnan(ch02.rank_correlation(np.ones(3), np.arange(3.0)))  # a constant: no order
    assert ch02.rank_correlation(np.arange(3.0), -np.arange(3.0)) == -1.0
    medians = ch02.layer_medians({"one-bit": meas + meas, "uniform-8": meas + meas})
    assert ch02.depth_consistent(medians) == "entropy, mutual information, KL selectivity"
    spectrum = np.zeros((2, 3, 4))
    spectrum[:, :, 2] = 1.0                          # class 2 maximizes every neuron's spectrum
    counts = ch02.maximizers([{"spectrum": spectrum}])
    assert counts.loc["layer 1"].tolist() == [0, 0, 6, 0]
    top = ch02.maximizer_notes(counts)
    assert top["ch2_top_class"] == "2" and top["ch2_top_class_share"] == 100.0
    assert top["ch2_top_class_verdict"].startswith("one class dominates")
