"""The neuron-importance scores of nbutils.importance, each against a plain implementation on
the ordinary torch.nn members of a small random ensemble (float64 throughout, so the two
computations agree to rounding)."""
import numpy as np
import pytest
import torch
import torch.nn as nn

from nbutils.ensemble import EnsembleMLP, build_reference_mlp
from nbutils.importance import SCORES, LayerView, class_selectivity, importance_scores
from nbutils.measures import MEASURES, neuron_measures

WIDTHS = (6, 5, 4, 3)   # two hidden layers, three classes


@pytest.fixture(scope="module", params=["relu", "sigmoid"])
def setup(request):
    activation = request.param
    mlps = [build_reference_mlp(WIDTHS, activation, seed) for seed in (1, 2)]
    model = EnsembleMLP.from_members(mlps, activation).eval()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, WIDTHS[0], generator=g)
    y = torch.arange(40) % 3
    return model, [m.double().eval() for m in (model.member(i) for i in range(2))], x, y


def hidden_outputs(mlp: nn.Sequential, x: torch.Tensor, layer: int) -> torch.Tensor:
    """Outputs of hidden ``layer`` of an ordinary MLP (Linear, activation per hidden layer)."""
    modules = list(mlp)
    return nn.Sequential(*modules[:2 * (layer + 1)])(x.double())


def rest(mlp: nn.Sequential, t: torch.Tensor, layer: int) -> torch.Tensor:
    return nn.Sequential(*list(mlp)[2 * (layer + 1):])(t)


@pytest.mark.parametrize("layer", [0, 1])
def test_outputs_weights_and_simple_statistics(setup, layer):
    model, members, x, y = setup
    scores = importance_scores(model, x, y, layer)
    assert set(scores) == set(SCORES)
    for i, mlp in enumerate(members):
        t = hidden_outputs(mlp, x, layer)
        linears = [m for m in mlp if isinstance(m, nn.Linear)]
        torch.testing.assert_close(scores["mean"][i], t.mean(0), rtol=0, atol=1e-12)
        torch.testing.assert_close(scores["variance"][i], t.var(0, unbiased=False),
                                   rtol=0, atol=1e-12)
        torch.testing.assert_close(scores["w_in"][i], linears[layer].weight.norm(dim=1),
                                   rtol=0, atol=1e-12)
        torch.testing.assert_close(scores["w_out"][i], linears[layer + 1].weight.norm(dim=0),
                                   rtol=0, atol=1e-12)


@pytest.mark.parametrize("layer", [0, 1])
def test_taylor_score_is_the_mean_of_activation_times_gradient(setup, layer):
    model, members, x, y = setup
    taylor = importance_scores(model, x, y, layer, ["taylor"])["taylor"]
    for i, mlp in enumerate(members):
        per_sample = []
        for n in range(len(x)):   # one sample at a time: the gradient of its own loss
            t = hidden_outputs(mlp, x[n:n + 1], layer).detach().requires_grad_(True)
            loss = nn.functional.cross_entropy(rest(mlp, t, layer), y[n:n + 1])
            (g,) = torch.autograd.grad(loss, t)
            per_sample.append((t * g).abs()[0].detach())
        torch.testing.assert_close(taylor[i], torch.stack(per_sample).mean(0), rtol=0,
                                   atol=1e-12)


@pytest.mark.parametrize("layer", [0, 1])
def test_oracle_drop_is_the_accuracy_lost_by_ablating_one_neuron(setup, layer):
    model, members, x, y = setup
    drops = importance_scores(model, x, y, layer, ["oracle"])["oracle"]
    for i, mlp in enumerate(members):
        t = hidden_outputs(mlp, x, layer).detach()
        intact = (rest(mlp, t, layer).argmax(1) == y).double().mean()
        for j in range(t.shape[1]):
            mask = torch.ones(t.shape[1], dtype=torch.float64)
            mask[j] = 0
            acc = (rest(mlp, t * mask, layer).argmax(1) == y).double().mean()
            assert drops[i, j].item() == pytest.approx(100 * (intact - acc).item(), abs=1e-9)


def test_class_selectivity_by_hand():
    # one member, two neurons, two classes; class means (2, 0) and (1, 1); (0, 0)
    outputs = torch.tensor([[[2.0, 1.0, 0.0], [2.0, 1.0, 0.0], [0.0, 1.0, 0.0],
                             [0.0, 1.0, 0.0]]], dtype=torch.float64)
    labels = torch.tensor([0, 0, 1, 1])
    si = class_selectivity(outputs, labels, 2)
    torch.testing.assert_close(si, torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64))
    # three classes with means (3, 1, 0): (3 - 0.5) / (3 + 0.5)
    three = torch.tensor([[[3.0], [1.0], [0.0]]], dtype=torch.float64)
    assert class_selectivity(three, torch.tensor([0, 1, 2]), 3).item() == pytest.approx(2.5 / 3.5)
    with pytest.raises(ValueError, match="two classes"):
        class_selectivity(three, torch.tensor([1, 1, 1]), 3)


def test_information_scores_are_the_papers_measures(setup):
    model, members, x, y = setup
    scores = importance_scores(model, x, y, 1, list(MEASURES))
    t = torch.stack([hidden_outputs(m, x, 1) for m in members]).detach()
    expected = neuron_measures(t, y, model.activation, n_classes=3)
    for name in MEASURES:
        np.testing.assert_allclose(scores[name].numpy(), expected[name].numpy(), rtol=0,
                                   atol=1e-12)


def test_bad_input_is_refused_and_the_model_left_alone(setup):
    model, _, x, y = setup
    dtype = model.weight_t[0].dtype
    with pytest.raises(ValueError, match="layer"):
        importance_scores(model, x, y, 2)
    with pytest.raises(ValueError, match="names"):
        importance_scores(model, x, y, 0, ["saliency"])
    with pytest.raises(ValueError, match="y must hold one label"):
        LayerView(model, x, y[:-1], 0)
    importance_scores(model, x, y, 0, ["taylor"])
    assert model.weight_t[0].dtype == dtype and not model.training
