"""Counts read off measures and ablation curves (chapter 7) and the rules that judge them."""
import numpy as np
import pytest

from nbutils import counts
from nbutils.verdicts import (
    ABOUT_FACTOR,
    LINEAR_R2,
    MANY_SHARE,
    about_verdict,
    is_almost_linear,
    is_many,
)


def test_active_count_and_zero_share():
    mi = np.array([[0.0, 1e-13, 0.5, 0.0], [0.0, 0.0, 0.0, 0.2]])
    kl = np.array([[0.0, 0.0, 0.0, 0.3], [0.0, 1e-13, 0.0, 0.1]])
    assert counts.active_count(mi, kl).tolist() == [2, 1]   # MI and/or KL positive
    assert counts.inactive_share(mi, kl) == pytest.approx(100 * 5 / 8)
    h = np.array([[0.0, 1e-13, 0.5, 1.0], [0.0, 0.0, 0.0, 0.2]])
    assert counts.zero_share(h) == pytest.approx(100 * 5 / 8)
    with pytest.raises(ValueError, match="mi and kl"):
        counts.active_count(mi[0], kl[0])
    with pytest.raises(ValueError, match="mi and kl"):
        counts.active_count(mi, kl[:, :2])


def grid_curves():
    ks = [0, 1, 2, 5, 10, 20]
    high = np.array([[0.9, 0.8, 0.5, 0.2, 0.1, 0.1], [0.9, 0.7, 0.4, 0.12, 0.1, 0.1]])
    low = np.array([[0.9, 0.9, 0.895, 0.89, 0.85, 0.1], [0.9, 0.9, 0.885, 0.86, 0.8, 0.1]])
    return ks, high, low


def test_strip_count_is_the_first_grid_k_at_chance():
    ks, high, _ = grid_curves()
    # mean accuracy at k = 5 is 16 %: not within 5 points of 10 %; at k = 10 it is 10 %
    assert counts.strip_count(high, ks, 10) == 10
    assert counts.strip_count(high, ks, 10, margin=6.5) == 5
    assert np.isnan(counts.strip_count(np.full((2, 6), 0.9), ks, 10))


def test_keep_count_is_the_fewest_top_neurons_within_a_small_loss():
    ks, _, low = grid_curves()
    # mean loss: k=2 1.0, k=5 2.5, k=10 7.5 points: k = 2 is the largest within 2 points
    assert counts.keep_count(low, ks, 20) == 18
    assert counts.keep_count(low, ks, 20, small=3.0) == 15
    with pytest.raises(ValueError, match="width"):
        counts.keep_count(low, ks, 25)


def test_curves_must_match_the_grid():
    ks, high, _ = grid_curves()
    with pytest.raises(ValueError, match="grid"):
        counts.strip_count(high[:, :-1], ks, 10)
    with pytest.raises(ValueError, match="increasing"):
        counts.strip_count(high, [0, 2, 1, 5, 10, 20], 10)


def test_window_gain_is_a_paired_gap_between_two_grid_points():
    ks = [0, 10, 20, 30]
    c = np.array([[0.9, 0.3, 0.4, 0.2], [0.9, 0.2, 0.35, 0.2], [0.9, 0.25, 0.3, 0.2]])
    gap = counts.window_gain(c, ks, 10, 20)
    assert gap.k == 20 and gap.n == 3
    assert gap.mg == pytest.approx(100 * np.mean([0.1, 0.15, 0.05]))
    assert gap.p == pytest.approx(0.25)          # 3 seeds, all positive: the exact floor
    with pytest.raises(ValueError, match="start"):
        counts.window_gain(c, ks, 15, 20)
    with pytest.raises(ValueError, match="stop"):
        counts.window_gain(c, ks, 20, 10)


def test_linearity_uses_every_k_not_the_grid_density():
    ks = [0, 1, 2, 3, 100]
    line = 1 - np.asarray(ks) / 100
    assert counts.linearity(line, ks) == pytest.approx(1.0)
    # a step: flat, then a drop at the very end; the dense start must not make it look straight
    step_ks = [0, 1, 2, 3, 99, 100]
    step = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.0])
    assert counts.linearity(step, step_ks) < 0.95
    # the same points read as if each grid point weighed the same would look straighter
    assert counts.linearity(step[[0, 4, 5]], [0, 99, 100]) == pytest.approx(
        counts.linearity(step, step_ks))
    assert counts.linearity(np.full(5, 0.5), ks) == 1.0
    ks_full = list(range(101))
    curve = np.where(np.arange(101) < 50, 1.0, 0.1)
    assert counts.linearity(curve, ks_full) < 0.8


def test_about_verdict_bands():
    assert ABOUT_FACTOR == 1.5
    assert about_verdict(70, 70) == "reproduced"
    assert about_verdict(105, 70) == "reproduced" and about_verdict(106, 70) == "partly"
    assert about_verdict(47, 70) == "reproduced" and about_verdict(46, 70) == "partly"
    assert about_verdict(157, 70) == "partly" and about_verdict(158, 70) == "not reproduced"
    assert about_verdict(32, 70) == "partly" and about_verdict(31, 70) == "not reproduced"
    assert about_verdict(float("nan"), 70) == "not reproduced"


def test_many_and_linear_thresholds():
    assert is_many(MANY_SHARE) and not is_many(MANY_SHARE - 0.1)
    assert is_almost_linear(LINEAR_R2) and not is_almost_linear(LINEAR_R2 - 1e-6)
