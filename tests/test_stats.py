"""Tests of nbutils.stats: the paper's p-values from synthetic data, formatting, errors."""
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from nbutils import stats as st


@pytest.fixture(autouse=True)
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def curves(seed=0, seeds=50, k_max=100):
    gen = np.random.default_rng(seed)
    return np.clip(gen.uniform(0.3, 0.6, (seeds, k_max + 1)), 0, 1)


def test_wilcoxon_reproduces_paper_p_for_50_same_sign_differences():
    random = curves()
    ordered = random.copy()
    ordered[:, 80] += np.arange(1, 51) / 1000  # 50 distinct positive gaps, 0.1 .. 5.0 points
    gap = st.mean_gap(ordered, random, 80)
    assert gap.mg == pytest.approx(2.55)
    assert gap.p == pytest.approx(7.5569e-10, rel=1e-4)
    sd = math.sqrt(50 * 51 * 101 / 24)
    assert gap.p == pytest.approx(math.erfc(637.5 / sd / math.sqrt(2)), rel=1e-9)
    assert (gap.k, gap.n) == (80, 50) and "Wilcoxon" in gap.test
    assert st.format_gap(gap).endswith(", p = 7.56e-10")  # the paper cuts: 7.55e-10
    assert st.mean_gap(random, ordered, 80).p == gap.p  # two-sided
    assert st.mean_gap(ordered, random, 80, method="exact").p == pytest.approx(2 / 2**50, rel=1e-9)


def test_ks_reproduces_paper_p_for_50_vs_50_separated_samples():
    layer2 = curves(1)
    layer1 = layer2.copy()
    layer1[:, 80] = np.linspace(0.2, 0.28, 50)  # every layer-1 value below every layer-2 value
    gap = st.ks_gap(layer1, layer2, 80)
    assert gap.p == pytest.approx(2 / math.comb(100, 50), rel=1e-9)
    assert gap.mg == pytest.approx(100 * (layer1[:, 80].mean() - layer2[:, 80].mean()))
    assert gap.mg < 0 and "Kolmogorov" in gap.test
    assert st.format_gap(gap).endswith("p = 1.98e-29")


def test_identical_curves_give_p_one_and_zero_gap():
    c = curves()
    gap = st.mean_gap(c, c.copy(), 10)
    assert (gap.mg, gap.p) == (0.0, 1.0)
    assert st.format_gap(gap) == "MG@10 = 0.0, p = 1.0"


def test_float_noise_is_not_a_difference():
    random = np.full((5, 3), 0.3)
    ordered = np.full((5, 3), 0.1 + 0.2)  # 0.30000000000000004
    assert st.mean_gap(ordered, random, 2).p == 1.0


def test_single_seed_gives_nan_with_note():
    c = curves(seeds=1)
    for gap in (st.mean_gap(c, c * 0.5, 3), st.ks_gap(c, c * 0.5, 3)):
        assert math.isnan(gap.p) and gap.n == 1 and "fewer than 2" in gap.note
        assert st.format_gap(gap).endswith("p = nan")


def test_explicit_grid():
    c = curves(seeds=6, k_max=8)
    o = c.copy()
    o[:, 8] += 0.01
    grid = np.arange(0, 90, 10)
    gap = st.mean_gap(o, c, 80, grid=grid)
    assert gap.k == 80 and gap.mg == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"\bk\b"):
        st.mean_gap(o, c, 85, grid=grid)
    with pytest.raises(ValueError, match=r"\bgrid\b"):
        st.mean_gap(o, c, 80, grid=grid[:-1])


@pytest.mark.parametrize("mg,p,text", [
    (21.94, 7.556929455863566e-10, "MG@80 = 21.9, p = 7.56e-10"),
    (-47.4, 7.55e-10, "MG@80 = -47.4, p = 7.55e-10"),
    (-0.19, 0.93, "MG@80 = -0.2, p = 0.93"),  # paper: "-0.19"; we always print 1 decimal
    (10.0, 1.6e-5, "MG@80 = 10.0, p = 1.60e-5"),
    (0.3, 0.7849, "MG@80 = 0.3, p = 0.78"),
    (-28.9, 1.9823306042836678e-29, "MG@80 = -28.9, p = 1.98e-29"),
    (1.0, 0.004, "MG@80 = 1.0, p = 4.00e-3"),
    (1.0, 0.0123, "MG@80 = 1.0, p = 0.012"),
    (1.0, 0.0499, "MG@80 = 1.0, p = 0.050"),
])
def test_format_gap(mg, p, text):
    assert st.format_gap(st.Gap(80, mg, p, 50, "test")) == text


@pytest.mark.parametrize("p,text", [(0.93, "0.93"), (0.0117, "0.012"), (0.055, "0.055"),
                                    (0.1, "0.10"), (1.0, "1.0"), (0.0078125, "7.81e-3"),
                                    (7.5569e-10, "7.56e-10"), (math.nan, "nan")])
def test_format_p_one_display(p, text):
    assert st.format_p(p) == text


def test_exact_wilcoxon_below_25_seeds_with_the_approximation_alongside():
    """8 seeds, differences -1..-8 points but +4 (T+ = 4): the normal approximation gives p = 0.0499
    (significant), the exact distribution 0.055 (not): "auto" judges by the exact one and keeps
    the approximation for comparisons with the paper's p-values."""
    random = np.full((8, 1), 0.5)
    ordered = random + np.array([-1, -2, -3, 4, -5, -6, -7, -8])[:, None] / 100
    gap = st.mean_gap(ordered, random, 0)
    assert gap.exact and gap.p == pytest.approx(14 / 256)   # 2 x 7 patterns with T+ <= 4
    assert gap.p_approx == pytest.approx(0.0499, abs=1e-4)
    assert st.mean_gap(ordered, random, 0, method="approx").p == gap.p_approx
    assert st.format_gap(gap) == ("MG@0 = -3.5, p = 0.055 (exact; normal approximation "
                                  "0.050)")
    big = np.full((30, 1), 0.5)
    assert not st.mean_gap(big + 0.01 * np.arange(1, 31)[:, None], big, 0).exact


def test_exact_p_handles_ties_and_zeros():
    """By hand: differences (0, 1, 1, -2): the zero is dropped, ranks 1.5, 1.5, 3; T+ = 3, its
    mean 3: every one of the 8 sign patterns is as extreme, p = 1. Differences (1, 1, 2): all
    positive, T+ = 6 is one of the 2 most extreme of 8 patterns: p = 2/8."""
    assert st.signed_rank_exact_p([0.0, 1.0, 1.0, -2.0]) == pytest.approx(1.0)
    assert st.signed_rank_exact_p([1.0, 1.0, 2.0]) == pytest.approx(0.25)
    from scipy import stats as sst
    d = np.random.default_rng(1).normal(size=9)
    assert st.signed_rank_exact_p(d) == pytest.approx(sst.wilcoxon(d, method="exact").pvalue)


def test_format_gap_other_k():
    assert st.format_gap(st.Gap(101, -51.23, 7.5569e-10, 50, "t")) == "MG@101 = -51.2, p = 7.56e-10"


def test_mean_std_uses_population_std():
    c = curves(seeds=7, k_max=4)
    mean, std = st.mean_std(c)
    np.testing.assert_allclose(mean, c.mean(0))
    np.testing.assert_allclose(std, c.std(0, ddof=0))
    assert np.all(st.mean_std(c[:1])[1] == 0)


def test_gap_table():
    random = curves(2, seeds=10, k_max=5)
    table = st.gap_table({"random": random, "mi low": random + 0.02, "mi high": random - 0.1},
                         "random", 5)
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns) == ["ordering", "MG@5", "p", "text"]
    assert table["ordering"].tolist() == ["mi low", "mi high"]
    assert table["MG@5"].tolist() == pytest.approx([2.0, -10.0])
    assert table["text"].iloc[1] == st.format_gap(st.mean_gap(random - 0.1, random, 5))
    with pytest.raises(ValueError, match="random_key"):
        st.gap_table({"a": random}, "random", 5)


BAD = [
    ("k", lambda c: st.mean_gap(c, c, 11)),
    ("k", lambda c: st.mean_gap(c, c, -1)),
    ("k", lambda c: st.mean_gap(c, c, 2.5)),
    ("k", lambda c: st.ks_gap(c, c, 11)),
    ("random", lambda c: st.mean_gap(c, c[:, :5], 2)),
    ("random", lambda c: st.mean_gap(c, c[:3], 2)),
    ("random_b", lambda c: st.ks_gap(c, c[:, :5], 2)),
    ("ordered", lambda c: st.mean_gap(c[0], c[0], 2)),
    ("ordered", lambda c: st.mean_gap(c * 100, c, 2)),
    ("ordered", lambda c: st.mean_gap(np.full_like(c, np.nan), c, 2)),
    ("method", lambda c: st.mean_gap(c, c, 2, method="asymptotic")),
    ("curves", lambda c: st.mean_std(c[0])),
]


@pytest.mark.parametrize("name,call", BAD, ids=[f"{n}-{i}" for i, (n, _) in enumerate(BAD)])
def test_bad_input_raises_value_error_naming_argument(name, call):
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        call(curves(seeds=4, k_max=10))


def test_floors_are_the_smallest_p_the_seeds_allow():
    from nbutils.stats import ks_floor, wilcoxon_floor
    assert wilcoxon_floor(8, "approx") == pytest.approx(0.0117, abs=1e-4)
    assert wilcoxon_floor(8) == 2 / 2**8                 # exact below 25 seeds
    assert wilcoxon_floor(35) == pytest.approx(2.48e-7, rel=1e-2)
    assert wilcoxon_floor(50) == pytest.approx(7.5569e-10, rel=1e-4)
    assert wilcoxon_floor(5) > 0.05 > wilcoxon_floor(6)           # exact: 2/32, 2/64
    assert wilcoxon_floor(4, "approx") > 0.05 > wilcoxon_floor(5, "approx")
    assert ks_floor(8) == pytest.approx(2 / 12870)      # 2 / C(16, 8), exact two-sided
    rng = np.random.default_rng(0)
    for _ in range(20):   # no sample of 8 paired differences gets below the floor
        a, b = rng.random((8, 1)), rng.random((8, 1))
        assert st.mean_gap(a, b, 0).p >= wilcoxon_floor(8) - 1e-12


def test_area_gap_by_hand():
    """Two seeds, k = 0..2, differences (0, 10, 20) and (0, 20, 40) points: per-seed means
    10 and 20 -> area gap 15."""
    a = np.array([[0.9, 0.8, 0.7], [0.9, 0.8, 0.6]])
    b = np.array([[0.9, 0.7, 0.5], [0.9, 0.6, 0.2]])
    gap = st.area_gap(a, b)
    assert gap.k == 2 and gap.n == 2
    assert gap.mg == pytest.approx(15.0)
    assert "area" in gap.note
    same = st.area_gap(a, a)
    assert (same.mg, same.p) == (0.0, 1.0)
    with pytest.raises(ValueError, match="curves_b"):
        st.area_gap(a, b[:, :2])


def test_area_gap_p_equals_mean_gap_p_on_the_same_differences():
    rng = np.random.default_rng(0)
    a = rng.uniform(0.5, 1.0, (8, 5))
    b = rng.uniform(0.5, 1.0, (8, 5))
    per_seed = (a - b).mean(axis=1)
    reference = st.mean_gap(0.5 + per_seed[:, None] / 2, 0.5 - per_seed[:, None] / 2, 0)
    assert st.area_gap(a, b).p == pytest.approx(reference.p)


def test_sample_gap_by_hand():
    """Medians 3 and 1; fully separated samples of 3 and 3: exact KS p = 2 / C(6, 3) = 0.1."""
    gap = st.sample_gap([2.0, 3.0, 4.0], [0.0, 1.0, 1.5])
    assert gap.mg == pytest.approx(2.0) and gap.n == 3
    assert gap.p == pytest.approx(0.1)
    assert st.sample_gap([1.0, 2.0], [1.0, 2.0]).p == pytest.approx(1.0)
    with pytest.raises(ValueError, match="finite"):
        st.sample_gap([1.0, float("nan")], [1.0])


def test_format_names_median_and_area_gaps():
    assert st.format_gap(st.sample_gap([2.0, 3.0, 4.0], [0.0, 1.0, 1.5])).startswith(
        "median difference = 2.0, p = 0.10")
    a = np.array([[0.9, 0.8, 0.7], [0.9, 0.8, 0.6]])
    b = np.array([[0.9, 0.7, 0.5], [0.9, 0.6, 0.2]])
    assert st.format_gap(st.area_gap(a, b)).startswith("area gap = 15.0, p = ")


def test_signed_rank_normal_p_reads_the_papers_p_values():
    """The paper's 9.63e-10 (F3f) is a 50-seed Wilcoxon test whose signed-rank sum is 4: one
    or two seeds with small differences of the other sign, i.e. a comparison of two curves that
    cross seed by seed (ordered vs random), not the loss from the intact network (all 50 of one
    sign would give the floor 7.56e-10)."""
    assert st.signed_rank_normal_p(0, 50) == pytest.approx(st.wilcoxon_floor(50), rel=1e-9)
    assert f"{st.signed_rank_normal_p(4, 50):.3g}" == "9.63e-10"
    from scipy import stats as sst
    d = np.arange(1, 11, dtype=float)
    d[[0, 2]] *= -1    # T+ = 55 - 4
    assert st.signed_rank_normal_p(51, 10) == pytest.approx(
        sst.wilcoxon(d, method="approx", correction=False).pvalue)


def test_accuracy_drop_and_separation_by_hand():
    c = {"random": np.array([[0.9, 0.7], [0.8, 0.6]]),
         "kl-low": np.array([[0.9, 0.8], [0.8, 0.7]]),
         "kl-high": np.array([[0.9, 0.5], [0.8, 0.3]])}
    np.testing.assert_allclose(st.accuracy_drop(c["kl-high"], 1), [40.0, 50.0])
    assert st.separation(c, "kl", 1) == pytest.approx(10.0 - (-25.0))


def test_separation_area_and_gap():
    from nbutils.stats import separation_area, separation_gap

    low = np.array([[0.9, 0.9, 0.8], [0.9, 0.8, 0.8]])
    high = np.array([[0.9, 0.6, 0.2], [0.9, 0.5, 0.2]])
    np.testing.assert_allclose(separation_area(low, high), [100 * 0.9 / 3, 100 * 0.9 / 3])
    same = separation_gap((low, high), (low, high))
    assert same.mg == 0 and same.p == 1.0
    worse = separation_gap((high, low), (low, high))
    assert worse.mg == pytest.approx(-60.0) and worse.n == 2
    with pytest.raises(ValueError, match="same seeds"):
        separation_gap((low, high), (low[:1], high[:1]))
    with pytest.raises(ValueError, match="method"):
        separation_gap((low, high), (low, high), method="t-test")


def test_per_seed_gap_by_hand():
    from nbutils.stats import per_seed_gap

    a = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 5.0], [1.0, 1.0, 1.0]])
    b = np.array([[0.0, 1.0], [1.0, 1.0], [2.0, 4.0]])
    g = per_seed_gap(a, b)   # medians a: 2, 0, 1; b: 0.5, 1, 3 -> 1.5, -1, -2
    assert g.n == 3 and g.mg == pytest.approx((1.5 - 1 - 2) / 3) and g.k == 0
    keep = np.array([[False, False, True], [False, False, True], [False, False, False]])
    g = per_seed_gap(a, b, keep_a=keep)   # seed 3 has no neuron kept: left out
    assert g.n == 2 and g.mg == pytest.approx(((3 - 0.5) + (5 - 1)) / 2)
    assert "1 seeds" in g.note
    with pytest.raises(ValueError, match="same seeds"):
        per_seed_gap(a, b[:2])
