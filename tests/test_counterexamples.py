"""The explicit networks of nbutils.counterexamples really show the failures of Examples 1-4."""
import numpy as np
import pytest
import torch

from nbutils import ablation
from nbutils import counterexamples as cx

N = 400
SEEDS = (0, 1, 2)


def _curve(ex, neurons):
    return ex.curve(ex.order(neurons))[0]


# ------------------------------------------------------------------------ construction
def test_explicit_mlp_computes_eq1_with_the_given_weights():
    model = cx.explicit_mlp([([[1.0, -1.0], [2.0, 0.0]], [0.5, 0.0]),
                             ([[1.0], [3.0]], [-1.0])])
    x = torch.tensor([[1.0, 1.0], [-2.0, 0.5]])
    hidden = torch.relu(x @ torch.tensor([[1.0, -1.0], [2.0, 0.0]]) + torch.tensor([0.5, 0.0]))
    expected = hidden @ torch.tensor([[1.0], [3.0]]) - 1.0
    assert model.widths == (2, 2, 1)
    assert torch.allclose(model(x)[0], expected)
    assert torch.equal(model.hidden_activations(x)[0][0], hidden)


def test_explicit_mlp_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="layer 1"):
        cx.explicit_mlp([([[1.0, 0.0]], [0.0, 0.0]), ([[1.0, 0.0, 0.0]], [0.0])])


@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_builders_are_deterministic_and_validate_arguments(number):
    a, b = cx.EXAMPLES[number](n=N, seed=3), cx.EXAMPLES[number](n=N, seed=3)
    c = cx.EXAMPLES[number](n=N, seed=4)
    assert torch.equal(a.x_val, b.x_val) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.x_val, c.x_val)
    assert not torch.equal(a.x_val, a.x_test)  # D and the test set are different draws
    assert len(a.roles) == a.width and a.accuracy() > 0.9
    for bad in (7, 0, 4.0):
        with pytest.raises(ValueError, match="n="):
            cx.EXAMPLES[number](n=bad)
    with pytest.raises(ValueError, match="seed="):
        cx.EXAMPLES[number](n=N, seed=-1)


@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_fast_ablation_engine_agrees_with_the_naive_one(number):
    """No ties between logits: the incremental and the mask-and-forward engine agree."""
    ex = cx.EXAMPLES[number](n=N, seed=0)
    for order in cx.information_orders(ex.measures()).values():
        fast = ex.curve(order)
        naive = ablation.naive_ablation_curve(ex.model, ex.x_test, ex.y_test, ex.layer, order)
        assert torch.equal(fast, naive)


# -------------------------------------------------------------------------- Example 1
@pytest.mark.parametrize("seed", SEEDS)
def test_example1_entropy_cannot_tell_dead_from_always_active(seed):
    ex = cx.example1(n=N, seed=seed)
    acts = ex.activations()[0]
    assert (acts[:, 1] == 0).all() and (acts[:, 0] > 0).all()  # dead / always active
    m = ex.measures()
    assert m.entropy[0, 0] == 0 and m.entropy[0, 1] == 0 and m.entropy[0, 2] > 0.9
    intact = ex.accuracy()
    assert intact == 1.0
    assert _curve(ex, (1, 0, 2))[1] == intact                 # ablating the dead one: nothing
    share_of_class0 = float((ex.y_test == 0).float().mean())
    assert _curve(ex, (0, 1, 2))[1] == pytest.approx(share_of_class0)  # always class 0
    assert _curve(ex, (2, 1, 0))[2] == intact                 # irrelevant + dead: nothing
    fine = ex.measures("uniform", 4)                          # finer bins separate the two
    assert fine.entropy[0, 0] > 1.5 and fine.mi[0, 0] > 0.8 and fine.entropy[0, 1] == 0


# -------------------------------------------------------------------------- Example 2
@pytest.mark.parametrize("seed", SEEDS)
def test_example2_kl_selectivity_keeps_only_the_easy_class(seed):
    ex = cx.example2(n=N, seed=seed)
    m = ex.measures()
    assert (m.spectrum[0].argmax(dim=1) == 0).all()           # Eq. (5) maximiser: class 0
    detectors, codes = slice(0, 3), slice(3, 6)
    assert m.kl[0, detectors].min() > m.kl[0, codes].max()    # detectors rank top by KL
    assert m.mi[0, detectors].max() < m.mi[0, codes].min()    # ... but bottom by MI
    orders = cx.information_orders(m)
    assert set(orders["kl-low"][0, :3].tolist()) == {3, 4, 5}
    acc, per_class = ex.curve(orders["kl-low"], per_class=True)
    assert per_class[0, 3].tolist() == [1.0, 0.0, 0.0, 0.0]   # only class 0 is recognised
    assert acc[0, 3] == pytest.approx(0.25)
    intact = ex.accuracy()
    assert ex.curve(orders["kl-high"])[0, 3] == pytest.approx(intact)  # detectors: redundant
    assert ex.curve(orders["mi-low"])[0, 3] == pytest.approx(intact)


def test_example2_spectrum_cover_keeps_every_class():
    ex = cx.example2(n=N, seed=0)
    order = cx.spectrum_cover_order(ex.measures().spectrum)[0].tolist()
    survivors = order[-4:]
    assert {3, 4, 5} <= set(survivors)                        # all three codes survive
    assert ex.curve(ex.order(order))[0, 2] == pytest.approx(ex.accuracy())


def test_spectrum_cover_order_by_hand():
    spectrum = torch.tensor([[[2.0, 0.1], [1.9, 0.2], [0.0, 0.5], [0.3, 0.4]]])
    # round 1: class 0 keeps neuron 0, class 1 keeps neuron 2; round 2: 1, then 3
    assert cx.spectrum_cover_order(spectrum).tolist() == [[3, 1, 2, 0]]
    nan_class = torch.tensor([[[1.0, float("nan")], [2.0, float("nan")], [0.5, float("nan")]]])
    assert sorted(cx.spectrum_cover_order(nan_class)[0].tolist()) == [0, 1, 2]
    with pytest.raises(ValueError, match="shape"):
        cx.spectrum_cover_order(torch.zeros(3, 2))


# -------------------------------------------------------------------------- Example 3
@pytest.mark.parametrize("seed", SEEDS)
def test_example3_duplicates_rank_top_yet_one_is_redundant(seed):
    ex = cx.example3(n=N, seed=seed)
    m = ex.measures()
    assert m.mi[0, 0] == pytest.approx(1.0) and m.mi[0, 1] == pytest.approx(1.0)
    assert set(cx.information_orders(m)["mi-high"][0, :2].tolist()) == {0, 1}
    curve = _curve(ex, (0, 1, 2, 3))
    assert curve[0] == 1.0 and curve[1] == 1.0 and curve[2] == pytest.approx(0.5)


# -------------------------------------------------------------------------- Example 4
@pytest.mark.parametrize("seed", SEEDS)
def test_example4_xor_pair_is_synergistic(seed):
    ex = cx.example4(n=N, seed=seed)
    m = ex.measures()
    assert m.mi[0, 0] < 1e-12 and m.mi[0, 1] < 1e-12 and m.kl[0, :2].max() < 1e-12
    assert m.mi[0, 2] > 0.1                                   # the noisy copy looks informative
    assert ex.label_entropy() == pytest.approx(1.0)
    assert ex.joint_mi(0, 1) == pytest.approx(ex.label_entropy())
    order = cx.information_orders(m)["mi-low"]
    assert order[0, :2].tolist() == [0, 1]
    curve = ex.curve(order)[0]
    assert curve[0] == 1.0 and curve[1] == pytest.approx(0.5)


# ------------------------------------------------------------------------- run_example
def test_run_example_shapes_and_determinism():
    a = cx.run_example(2, n=N, seeds=(0, 1))
    b = cx.run_example(2, n=N, seeds=(0, 1))
    assert a.measures["mi"].shape == (2, 6) and a.measures["spectrum"].shape == (2, 6, 4)
    assert a.curves["kl-low"].shape == (2, 7) and a.per_class["kl-low"].shape == (2, 7, 4)
    assert {"codes kept (detectors first)", "spectrum-cover", "entropy-low"} <= set(a.curves)
    for name in a.curves:
        np.testing.assert_array_equal(a.curves[name], b.curves[name])
    assert list(a.neuron_table()["role"])[:1] == ["class-0 detector"]
    assert a.curve_table(["kl-low"]).shape == (1, 7)
    with pytest.raises(ValueError, match="number"):
        cx.run_example(5)
    with pytest.raises(ValueError, match="seeds"):
        cx.run_example(1, seeds=())
