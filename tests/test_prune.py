"""Pruning with bias balancing (nbutils.prune): smaller networks equal to ablation."""
from pathlib import Path

import pytest
import torch
from torch import nn

from nbutils import ablation, prune
from nbutils.config import make_config
from nbutils.ensemble import EnsembleMLP


@pytest.fixture(scope="module")
def nets():
    """Two sigmoid members of the pruning net (784-200-200-10), float64, untrained weights plus a
    perturbation so that biases and means matter; random inputs."""
    cfg = make_config("pruning", "sigmoid", "l2", epochs=1)
    model = EnsembleMLP.from_config(cfg, [1, 2]).double().eval()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for b in model.biases:
            b.add_(torch.randn(b.shape, generator=g, dtype=b.dtype))
    x_train = torch.rand(500, 784, generator=g, dtype=torch.float64)
    x_test = torch.rand(300, 784, generator=g, dtype=torch.float64)
    return model, x_train, x_test


def masked_logits(mlp, x, layer, neurons, replace):
    """Forward with the outputs of ``neurons`` of ``layer`` replaced (``replace(t)`` -> t)."""
    blocks = prune.hidden_layers(mlp)
    stop = blocks[layer][-1] + 1
    t = mlp[:stop](x).clone()
    t[:, neurons] = replace(t)[:, neurons]
    return mlp[stop:](t)


@pytest.mark.parametrize("layer", [0, 1])
def test_balance_is_ablation_to_the_mean_and_remove_is_ablation_to_zero(nets, layer):
    model, x_train, x_test = nets
    neurons = [3, 17, 42, 150, 199]
    order = torch.tensor([neurons + [j for j in range(200) if j not in neurons]] * 2)
    for surgery, value in (("balance", "mean"), ("remove", "zero")):
        engine = ablation.ablation_predictions(model, x_test, layer, order, value,
                                               ks=[len(neurons)], x_train=x_train)[:, 0]
        for m in range(2):
            mlp = model.member(m).double()
            small = prune.prune_layer(mlp, layer, neurons, surgery, x_train=x_train)
            assert prune.widths(small)[layer + 1] == 200 - len(neurons)
            assert torch.equal(small(x_test).argmax(1), engine[m])
            means = prune.layer_outputs(mlp, x_train, layer).mean(0)
            ref = masked_logits(mlp, x_test, layer, neurons,
                                (lambda t, mu=means: mu.expand_as(t))
                                if surgery == "balance" else torch.zeros_like)
            torch.testing.assert_close(small(x_test), ref, rtol=1e-12, atol=1e-12)


def test_physically_smaller_and_counts(nets):
    model, x_train, _ = nets
    mlp = model.member(0).double()
    small = prune.prune_layer(mlp, 0, range(50), "remove")
    small = prune.prune_layer(small, 1, range(100), "balance", x_train=x_train)
    assert prune.widths(mlp) == [784, 200, 200, 10]
    assert prune.widths(small) == [784, 150, 100, 10]
    assert prune.parameter_count(small) == 784 * 150 + 150 + 150 * 100 + 100 + 100 * 10 + 10
    assert prune.flops_per_sample(small) == 2 * (784 * 150 + 150 * 100 + 100 * 10)
    assert all(isinstance(m, (nn.Linear, nn.Sigmoid, nn.Dropout)) for m in small)


def test_course_mask_scales_and_removes_nothing(nets):
    model, x_train, x_test = nets
    mlp = model.member(1).double()
    p = (prune.layer_outputs(mlp, x_train, 0) > 0.5).double().mean(0)
    masked = prune.course_mask(mlp, 0, [1, 2], p)
    assert prune.widths(masked) == prune.widths(mlp)
    ref = masked_logits(mlp, x_test, 0, [1, 2], lambda t: t * p)
    torch.testing.assert_close(masked(x_test), ref, rtol=1e-12, atol=1e-12)


def test_outgoing_weight_norm_by_hand(nets):
    model, _, _ = nets
    mlp = model.member(0).double()
    w = mlp[2].weight.detach() if isinstance(mlp[2], nn.Linear) else [
        m for m in mlp if isinstance(m, nn.Linear)][1].weight.detach()
    torch.testing.assert_close(prune.outgoing_weight_norm(mlp, 0), w.abs().sum(0))
    torch.testing.assert_close(prune.outgoing_weight_norm(mlp, 0, p=2), w.pow(2).sum(0).sqrt())


@pytest.mark.parametrize("kwargs,match", [
    (dict(layer=2, neurons=[0]), "layer"),
    (dict(layer=-1, neurons=[0]), "layer"),
    (dict(layer=0, neurons=[200]), "neurons"),
    (dict(layer=0, neurons=[-1]), "neurons"),
    (dict(layer=0, neurons=[4, 4]), "neurons"),
    (dict(layer=0, neurons=list(range(201))), "neurons"),
    (dict(layer=0, neurons=[1], surgery="retrain"), "surgery"),
    (dict(layer=0, neurons=[1], surgery="balance"), "x_train"),
])
def test_bad_input_names_the_parameter(nets, kwargs, match):
    model, _, _ = nets
    args = dict(surgery="remove") | kwargs
    with pytest.raises(ValueError, match=match):
        prune.prune_layer(model.member(0), args.pop("layer"), args.pop("neurons"), **args)


def test_layer_by_layer_and_network_wide_selection():
    scores = [torch.tensor([0.5, 0.1, 0.9, 0.3]), torch.tensor([0.2, 0.05, 0.7])]
    per_layer = prune.select_per_layer(scores, [2, 1])
    assert per_layer[0].tolist() == [1, 3] and per_layer[1].tolist() == [1]
    wide = prune.select_network_wide(scores, 3)        # 0.05 (l2), 0.1 (l1), 0.2 (l2)
    assert wide[0].tolist() == [1] and sorted(wide[1].tolist()) == [0, 1]
    assert prune.select_network_wide(scores, 6)[1].numel() == 3   # a whole layer may go
    with pytest.raises(ValueError, match=r"counts\[0\]"):
        prune.select_per_layer(scores, [5, 0])
    with pytest.raises(ValueError, match="counts"):
        prune.select_per_layer(scores, [1])
    with pytest.raises(ValueError, match=r"\bk\b"):
        prune.select_network_wide(scores, -1)


def test_prune_network_first_layer_first(nets):
    model, x_train, x_test = nets
    mlp = model.member(0).double()
    both = prune.prune_network(mlp, {1: [0, 1], 0: [5]}, "balance", x_train=x_train)
    step = prune.prune_layer(prune.prune_layer(mlp, 0, [5], "balance", x_train=x_train), 1,
                             [0, 1], "balance", x_train=x_train)
    torch.testing.assert_close(both(x_test), step(x_test), rtol=0, atol=0)
    assert prune.widths(both) == [784, 199, 198, 10]


def test_finetune_is_deterministic_and_learns(nets):
    model, x_train, _ = nets
    y = (x_train[:, :392].sum(1) > x_train[:, 392:].sum(1)).long()
    mlp = prune.prune_layer(model.member(0).double(), 0, range(100), "remove")
    a, seconds = prune.finetune(mlp, x_train, y, epochs=2, seed=3)
    b, _ = prune.finetune(mlp, x_train, y, epochs=2, seed=3)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    loss = nn.functional.cross_entropy
    with torch.no_grad():
        assert loss(a(x_train), y) < loss(mlp(x_train), y)
    assert seconds > 0
    with pytest.raises(ValueError, match="epochs"):
        prune.finetune(mlp, x_train, y, epochs=0, seed=3)


def test_latency_is_measured(nets):
    model, _, _ = nets
    mlp = model.member(0).float()
    small = prune.prune_layer(mlp, 0, range(150), "remove")
    assert 0 < prune.latency(small, 1, min_run_time=0.05) < 1.0
    with pytest.raises(ValueError, match="batch_size"):
        prune.latency(small, 0)


def test_pruning_scores_and_curve(nets):
    model, x_train, x_test = nets
    mlp = model.member(0).double()
    y = torch.arange(x_test.shape[0]) % 10
    scores = prune.pruning_scores(mlp, x_test, y, "sigmoid", seed=4)
    assert len(scores) == 2 and set(scores[0]) == set(prune.PRUNING_ORDERINGS)
    assert all(s.shape == (200,) for layer in scores for s in layer.values())
    assert sorted(scores[1]["random"].long().tolist()) == list(range(200))
    torch.testing.assert_close(scores[0]["he-weight"],
                               prune.outgoing_weight_norm(mlp, 0).double())
    accs = prune.pruning_curve(mlp, 1, scores[1]["mi"], [0, 10, 50], "balance", x_train,
                               x_test, y)
    assert accs[0] == prune.accuracy(mlp, x_test, y) and len(accs) == 3
    order = torch.argsort(scores[1]["mi"], stable=True)
    small = prune.prune_layer(mlp, 1, order[:50], "balance", x_train=x_train)
    assert accs[2] == prune.accuracy(small, x_test, y)
    with pytest.raises(ValueError, match="counts"):
        prune.pruning_curve(mlp, 1, scores[1]["mi"], [-1], "remove", x_train, x_test, y)


def test_pruning_scores_are_what_they_were(nets):
    """Each ordering's score, from the registry's function of a MemberLayer, is bit for bit the
    score the hard-coded version computed (one-bit measures, He et al.'s binned entropy and
    weight norm, one permutation per layer from the seed's generator, layer 1 first)."""
    from nbutils.measures import neuron_measures

    model, _, x_test = nets
    mlp = model.member(1).double()
    y = torch.arange(x_test.shape[0]) % 10
    scores = prune.pruning_scores(mlp, x_test, y, "sigmoid", seed=5)
    gen = torch.Generator().manual_seed(5)
    for layer in range(2):
        t = prune.layer_outputs(mlp, x_test, layer).unsqueeze(0)
        one_bit = neuron_measures(t, y, "sigmoid")
        binned = neuron_measures(t, y, "sigmoid", scheme="uniform", n_bins=prune.HE_BINS)
        old = {"entropy": one_bit["entropy"][0], "mi": one_bit["mi"][0], "kl": one_bit["kl"][0],
               "random": torch.randperm(200, generator=gen).to(torch.float64),
               "he-entropy": binned["entropy"][0],
               "he-weight": prune.outgoing_weight_norm(mlp, layer).to(torch.float64)}
        assert list(scores[layer]) == list(old)
        for name, value in old.items():
            assert torch.equal(scores[layer][name], value), (layer, name)


def test_a_layer_pruned_entirely_leaves_a_constant_network(nets):
    model, x_train, x_test = nets
    mlp = model.member(0).double()
    empty = prune.prune_layer(mlp, 1, range(200), "balance", x_train=x_train)
    assert prune.widths(empty) == [784, 200, 0, 10]
    out = empty(x_test)
    torch.testing.assert_close(out, out[:1].expand_as(out))   # the same logits for every input


@pytest.mark.parametrize("surgery", prune.SURGERIES)
def test_a_batch_norm_layer_pruned_entirely_leaves_a_constant_network(surgery):
    """The width-0 layer of a batch-norm network used to crash (``select(): index 0 out of
    range``); its output is the rest of the network applied to the removed layer's zeros
    (remove) or means (balance)."""
    from nbutils.ensemble import build_reference_mlp

    mlp = build_reference_mlp([4, 3, 3, 2], "relu", 1, batch_norm=True).double().eval()
    with torch.no_grad():
        mlp[1].running_mean.add_(0.5)             # make the batch norm matter
    x = torch.rand(7, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    empty = prune.prune_layer(mlp, 0, [0, 1, 2], surgery, x_train=x)
    assert prune.widths(empty) == [4, 0, 3, 2]
    out = empty(x)
    stop = prune.hidden_layers(mlp)[0][-1] + 1
    kept = (prune.layer_outputs(mlp, x, 0).mean(0, keepdim=True) if surgery == "balance"
            else torch.zeros(1, 3, dtype=torch.float64))
    torch.testing.assert_close(out, mlp[stop:](kept).expand_as(out), rtol=1e-12, atol=1e-12)
    again = prune.prune_layer(empty, 1, [0], "remove")   # the next layer can still be pruned
    assert prune.widths(again) == [4, 0, 2, 2]


def test_size_after_matches_the_pruned_network():
    mlp = nn.Sequential(nn.Linear(6, 5), nn.Sigmoid(), nn.Linear(5, 4), nn.Sigmoid(),
                        nn.Linear(4, 3))
    assert prune.size_after([6, 5, 4, 3], {}) == (prune.parameter_count(mlp),
                                                  prune.flops_per_sample(mlp))
    small = prune.prune_network(mlp, {0: [1, 3], 1: [0]}, "remove")
    assert prune.size_after([6, 5, 4, 3], {0: 2, 1: 1}) == (prune.parameter_count(small),
                                                            prune.flops_per_sample(small))
    with pytest.raises(ValueError, match="removed"):
        prune.size_after([6, 5, 4, 3], {0: 6})
    with pytest.raises(ValueError, match="layer"):
        prune.size_after([6, 5, 4, 3], {2: 1})


def test_largest_within_stops_at_the_first_larger_loss():
    counts = [0, 10, 20, 30, 40]
    acc = [0.980, 0.978, 0.968, 0.975, 0.90]   # 20 loses 1.2 points, 30 only 0.5
    assert prune.largest_within(acc, counts, intact=0.980) == 10
    assert prune.largest_within(acc, counts, intact=0.980, points=2.0) == 30
    assert prune.largest_within([0.5], [0], intact=0.98) == 0


def test_latency_prints_nothing():
    """Measuring latency writes nothing to stdout or stderr (a chapter's output stays clean),
    whatever torch.utils.benchmark imports (in a fresh interpreter, where the import happens)."""
    import subprocess
    import sys

    code = ("from torch import nn; from nbutils import prune; "
            "t = prune.latency(nn.Sequential(nn.Linear(8, 4)), 1, min_run_time=0.01); "
            "assert t > 0")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == "", proc.stderr


def test_he_entropy_uses_equal_bins_of_each_neurons_observed_range(nets):
    """He et al.'s activation entropy here: HE_BINS equal-width bins from each neuron's smallest
    to its largest output (not bins of [0, 1]), as chapter 9's text says."""
    import json

    model, _, x_test = nets
    mlp = model.member(0).double()
    y = torch.arange(x_test.shape[0]) % 10
    score = prune.pruning_scores(mlp, x_test, y, "sigmoid", 1)[0]["he-entropy"]
    t = prune.layer_outputs(mlp, x_test, 0)
    lo, hi = t.min(0).values, t.max(0).values
    codes = (((t - lo) / (hi - lo) * prune.HE_BINS).ceil() - 1).clamp(0, prune.HE_BINS - 1)
    p = torch.stack([(codes == b).double().mean(0) for b in range(prune.HE_BINS)])
    by_hand = -(p * torch.where(p > 0, p.log2(), 0.0)).sum(0)
    torch.testing.assert_close(score, by_hand, rtol=0, atol=1e-12)
    notebook = json.loads((Path(__file__).parent.parent / "book" / "09_pruning.ipynb").read_text())
    [text] = [" ".join("".join(c["source"]).split()) for c in notebook["cells"]
              if c["cell_type"] == "markdown" and "HE_BINS" in "".join(c["source"])]
    assert f"into {prune.HE_BINS} equal-width bins of their observed range" in text
    assert "[0, 1]" not in text
