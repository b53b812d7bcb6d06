"""The dead-matched random baseline (issue #24, beyond the paper's protocol): random orderings
that take the dead neurons first (nbutils.orderings.dead_first) or last (dead_last), and its
ablation curves (nbutils.analysis.dead_matched_curves)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from nbutils import ablation, analysis
from nbutils.orderings import dead_first, dead_last, random_orders


def test_dead_first_by_hand():
    orders = torch.tensor([[[0, 5, 3, 1, 2, 4], [5, 0, 3, 4, 2, 1]]])
    dead = torch.tensor([[False, True, False, False, True, False]])
    assert dead_first(orders, dead).tolist() == [[[1, 4, 0, 5, 3, 2], [4, 1, 5, 0, 3, 2]]]


def test_dead_first_keeps_permutations_and_the_random_order_within_groups():
    orders = random_orders(3, 40, 5, seed=7)
    gen = torch.Generator().manual_seed(1)
    dead = torch.rand(3, 40, generator=gen) < 0.3
    out = dead_first(orders, dead)
    for m in range(3):
        n_dead = int(dead[m].sum())
        for r in range(5):
            row, src = out[m, r], orders[m, r]
            assert sorted(row.tolist()) == list(range(40))            # a permutation
            assert dead[m, row[:n_dead]].all() and not dead[m, row[n_dead:]].any()
            assert row[:n_dead].tolist() == [i for i in src.tolist() if dead[m, i]]
            assert row[n_dead:].tolist() == [i for i in src.tolist() if not dead[m, i]]
    # nothing dead, or everything dead: the random orderings themselves
    assert torch.equal(dead_first(orders, torch.zeros(3, 40, dtype=torch.bool)), orders)
    assert torch.equal(dead_first(orders, torch.ones(3, 40, dtype=torch.bool)), orders)


def test_dead_last_by_hand_is_the_mirror_of_dead_first():
    orders = torch.tensor([[[0, 5, 3, 1, 2, 4], [5, 0, 3, 4, 2, 1]]])
    dead = torch.tensor([[False, True, False, False, True, False]])
    assert dead_last(orders, dead).tolist() == [[[0, 5, 3, 2, 1, 4], [5, 0, 3, 2, 4, 1]]]
    many = random_orders(2, 30, 4, seed=3)
    mask = torch.rand(2, 30, generator=torch.Generator().manual_seed(2)) < 0.4
    assert torch.equal(dead_last(many, mask), dead_first(many, ~mask))
    with pytest.raises(ValueError, match=r"dead must have shape"):
        dead_last(many, torch.zeros(2, 29, dtype=torch.bool))


def test_dead_first_refuses_a_mask_of_another_shape():
    with pytest.raises(ValueError, match=r"dead must have shape \(M, n\) = \(2, 6\)"):
        dead_first(random_orders(2, 6, 3, 1), torch.zeros(2, 5, dtype=torch.bool))


def test_dead_matched_curves_of_a_real_ensemble(cache_dir):
    from nbutils.experiment import TrainedEnsemble

    from conftest import TINY

    ens = TrainedEnsemble("mnist", "relu", "l2", profile=TINY, device="cpu")
    dead = [a["dead"] for a in analysis.activity(ens)]
    layer = analysis.dead_matched_curves(ens, 0)
    n = ens.config.architecture.hidden[0]
    assert layer["dead_matched"].shape == (2, n + 1)
    assert layer["dead"].tolist() == dead[0].sum(axis=1).tolist()
    # with nothing ablated, the intact network's accuracy
    intact = analysis.layer_curves(ens, 0)["random"][:, 0]
    np.testing.assert_allclose(layer["dead_matched"][:, 0], intact)
    whole = analysis.dead_matched_curves(ens)
    total = sum(ens.config.architecture.hidden)
    assert whole["dead_matched"].shape == (2, total + 1)
    assert whole["dead"].tolist() == np.concatenate(dead, axis=1).sum(axis=1).tolist()
    # the curve is the mean over the draws of ablation in dead-first orders, recomputed here
    orders = dead_first(analysis._random_orders(ens, n, "dead-matched-layer0"),
                        torch.as_tensor(dead[0]))
    d = ens.data
    again = ablation.ablation_curve(ens.model, d.x_test, d.y_test, 0, orders, "zero").mean(1)
    np.testing.assert_allclose(layer["dead_matched"], again.double().numpy(), atol=1e-12)
    # memoized: a second call reads the stored result
    assert np.array_equal(analysis.dead_matched_curves(ens, 0)["dead_matched"],
                          layer["dead_matched"])
    with pytest.raises(ValueError, match="layer"):
        analysis.dead_matched_curves(ens, 5)


def test_dead_last_curves_of_a_real_ensemble(cache_dir):
    from nbutils.experiment import TrainedEnsemble

    from conftest import TINY

    ens = TrainedEnsemble("mnist", "relu", "l2", profile=TINY, device="cpu")
    dead = analysis.activity(ens)[1]["dead"]
    last = analysis.dead_matched_curves(ens, 1, dead="last")
    n = ens.config.architecture.hidden[1]
    assert last["dead_matched"].shape == (2, n + 1)
    assert last["dead"].tolist() == dead.sum(axis=1).tolist()
    orders = dead_last(analysis._random_orders(ens, n, "dead-last-layer1"), torch.as_tensor(dead))
    d = ens.data
    again = ablation.ablation_curve(ens.model, d.x_test, d.y_test, 1, orders, "zero").mean(1)
    np.testing.assert_allclose(last["dead_matched"], again.double().numpy(), atol=1e-12)
    # its own result kind: the dead-first baseline of the same layer is another file
    assert (analysis._dead_last.path(ens, 1).name.startswith("dead_last-")
            and analysis._dead_last.path(ens, 1) != analysis._dead_matched.path(ens, 1))
    with pytest.raises(ValueError, match=r"dead must be one of \('first', 'last'\), got 'middle'"):
        analysis.dead_matched_curves(ens, 1, dead="middle")
