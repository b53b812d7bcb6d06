"""Pruning with bias balancing (nbutils.prune): smaller networks equal to ablation."""
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
    (dict(layer=0, neurons=list(range(200))), "neurons"),
    (dict(layer=0, neurons=[1], surgery="retrain"), "surgery"),
    (dict(layer=0, neurons=[1], surgery="balance"), "x_train"),
])
def test_bad_input_names_the_parameter(nets, kwargs, match):
    model, _, _ = nets
    args = dict(surgery="remove") | kwargs
    with pytest.raises(ValueError, match=match):
        prune.prune_layer(model.member(0), args.pop("layer"), args.pop("neurons"), **args)
