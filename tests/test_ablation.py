"""The incremental cumulative-ablation engine equals the mask-and-forward reference exactly.

Exact equality is CPU-independent here: both engines evaluate the network in float64 (the
float32 weights are exact in float64), where the two summation orders differ by ~1e-15 relative,
and a prediction can only differ when two logits agree to ~15 digits (exact ties, built on
purpose in one test, go to the first class in both). The small nets below are trained in
float32, so their weights differ slightly from CPU to CPU, but every comparison uses the same
weights on both sides.
"""
import copy

import pytest
import torch

from nbutils import ablation
from nbutils.ablation import (
    ablation_curve,
    ablation_predictions,
    flat_index,
    layer_counts,
    mean_outputs,
    naive_ablation_curve,
    source_layers,
    unflatten,
    whole_network_curve,
)
from nbutils.ensemble import EnsembleMLP
from nbutils.orderings import order_by, random_orders

from conftest import SMALL_MEMBERS as M
from conftest import SMALL_WIDTHS as WIDTHS
from conftest import small_data as _data

N_TEST = 300


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small tensors: one thread is faster, and far faster when other jobs share the CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _test_set():
    return _data(N_TEST, seed=3)


def _order(model, layer, seed):
    return random_orders(M, model.hidden_widths[layer], 1, seed)[:, 0]


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
@pytest.mark.parametrize("batch_norm", [False, True])
def test_nets_are_meaningful(activation, batch_norm, small_ensemble):
    model = small_ensemble(activation, batch_norm)
    x, y = _test_set()
    assert (model.accuracy(x, y) > 0.6).all()


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("layer", [0, 1, 3])
@pytest.mark.parametrize("values", ["zero", "mean"])
def test_layerwise_equals_naive(activation, batch_norm, layer, values, small_ensemble):
    model = small_ensemble(activation, batch_norm)
    x, y = _test_set()
    x_train = _data(500, seed=4)[0]
    order = _order(model, layer, seed=layer)
    kw = dict(values=values, x_train=x_train)
    fast = ablation_predictions(model, x, layer, order, **kw)
    slow = ablation_predictions(model, x, layer, order, naive=True, **kw)
    assert fast.shape == (M, model.hidden_widths[layer] + 1, N_TEST)
    assert torch.equal(fast, slow)
    assert (fast != fast[:, :1]).any(), "ablation never changes a prediction"
    acc, per_class = ablation_curve(model, x, y, layer, order, per_class=True, **kw)
    ref, ref_class = naive_ablation_curve(model, x, y, layer, order, per_class=True, **kw)
    assert torch.equal(acc, ref) and torch.equal(per_class, ref_class)
    assert acc.shape == (M, model.hidden_widths[layer] + 1)
    assert per_class.shape == (M, model.hidden_widths[layer] + 1, 10)
    assert (acc.amax(1) > acc.amin(1)).all(), "accuracy curve is constant"
    assert torch.allclose(acc[:, 0], model.accuracy(x, y).double())


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("values", ["zero", "mean"])
def test_whole_network_equals_naive(activation, batch_norm, values, small_ensemble):
    model = small_ensemble(activation, batch_norm)
    x, y = _test_set()
    T = sum(model.hidden_widths)
    order = random_orders(M, T, 1, seed=7)[:, 0]
    assert (source_layers(model.hidden_widths, order)[:, :10].unique().numel() > 1)  # mixed
    kw = dict(values=values, x_train=_data(500, seed=4)[0])
    fast = ablation_predictions(model, x, None, order, **kw)
    assert torch.equal(fast, ablation_predictions(model, x, None, order, naive=True, **kw))
    acc, per_class = whole_network_curve(model, x, y, order, per_class=True, **kw)
    ref, ref_class = naive_ablation_curve(model, x, y, None, order, per_class=True, **kw)
    assert acc.shape == (M, T + 1)
    assert torch.equal(acc, ref) and torch.equal(per_class, ref_class)
    assert (acc.amax(1) > acc.amin(1)).all()


def test_sparse_unsorted_ks_and_chunks(small_ensemble):
    model = small_ensemble("relu", True)
    x, y = _test_set()
    T = sum(model.hidden_widths)
    order = random_orders(M, T, 1, seed=8)[:, 0]
    full = whole_network_curve(model, x, y, order)
    ks = [30, 0, 5, 5, T, 11]
    assert torch.equal(whole_network_curve(model, x, y, order, ks=ks, chunk=7), full[:, ks])
    assert torch.equal(naive_ablation_curve(model, x, y, None, order, ks=ks), full[:, ks])
    layer_full = ablation_curve(model, x, y, 1, _order(model, 1, 0))
    assert torch.equal(ablation_curve(model, x, y, 1, _order(model, 1, 0), ks=torch.tensor([16, 3]),
                                      chunk=50), layer_full[:, [16, 3]])


def test_explicit_values_and_mean_outputs(small_ensemble):
    model = small_ensemble("sigmoid", True)
    x, y = _test_set()
    x_train = _data(500, seed=4)[0]
    means = mean_outputs(model, x_train)
    acts = model.hidden_activations(x_train)
    for m, a in zip(means, acts):
        assert m.dtype == torch.float64 and torch.allclose(m, a.double().mean(dim=1), atol=1e-6)
    order = _order(model, 2, seed=1)
    by_name = ablation_curve(model, x, y, 2, order, "mean", x_train=x_train)
    assert torch.equal(by_name, ablation_curve(model, x, y, 2, order, means))
    assert torch.equal(by_name, ablation_curve(model, x, y, 2, order, means[2]))
    zero = torch.zeros(M, model.hidden_widths[2])
    assert torch.equal(ablation_curve(model, x, y, 2, order, zero),
                       ablation_curve(model, x, y, 2, order))
    T = sum(model.hidden_widths)
    flat = torch.cat(means, dim=1)
    order = random_orders(M, T, 1, seed=2)[:, 0]
    assert torch.equal(whole_network_curve(model, x, y, order, flat),
                       whole_network_curve(model, x, y, order, "mean", x_train=x_train))


def test_batch_of_orderings_equals_one_by_one(small_ensemble):
    model = small_ensemble("relu", True)
    x, y = _test_set()
    orders = random_orders(M, model.hidden_widths[1], 3, seed=5)
    acc, per_class = ablation_curve(model, x, y, 1, orders, "mean", per_class=True,
                                    x_train=_data(500, seed=4)[0])
    assert acc.shape == (M, 3, 17) and per_class.shape == (M, 3, 17, 10)
    for r in range(3):
        one = ablation_curve(model, x, y, 1, orders[:, r], "mean", per_class=True,
                             x_train=_data(500, seed=4)[0])
        assert torch.equal(acc[:, r], one[0]) and torch.equal(per_class[:, r], one[1])
    T = sum(model.hidden_widths)
    orders = random_orders(M, T, 2, seed=6)
    pred = ablation_predictions(model, x, None, orders, ks=[0, 9, 40])
    assert pred.shape == (M, 2, 3, N_TEST)
    assert torch.equal(pred, ablation_predictions(model, x, None, orders, ks=[0, 9, 40],
                                                  naive=True))
    acc = whole_network_curve(model, x, y, orders, ks=[0, 9, 40])
    assert torch.equal(acc[:, 1],
                       naive_ablation_curve(model, x, y, None, orders[:, 1], ks=[0, 9, 40]))


def test_exact_logit_ties_go_to_the_first_class(small_ensemble):
    model = copy.deepcopy(small_ensemble("relu", False))
    with torch.no_grad():  # class 7 duplicates class 2: their logits are always equal
        model.weights[-1][:, :, 7] = model.weights[-1][:, :, 2]
        model.biases[-1][:, :, 7] = model.biases[-1][:, :, 2]
    x, _ = _test_set()
    for layer in (0, 3):
        pred = ablation_predictions(model, x, layer, _order(model, layer, 0))
        assert torch.equal(pred, ablation_predictions(model, x, layer, _order(model, layer, 0),
                                                      naive=True))
        assert (pred == 2).any() and not (pred == 7).any()


def test_float32_reference_runs(small_ensemble):
    model = small_ensemble("sigmoid", True)
    x, y = _test_set()
    order = _order(model, 0, 0)
    acc32 = naive_ablation_curve(model, x, y, 0, order, dtype=torch.float32)
    assert torch.allclose(acc32, ablation_curve(model, x, y, 0, order), atol=2 / N_TEST)


def test_zero_ablating_last_layer_leaves_the_bias(small_ensemble):
    model = small_ensemble("relu", False)
    x, _ = _test_set()
    pred = ablation_predictions(model, x, 3, _order(model, 3, 0))
    assert torch.equal(pred[:, -1], model.biases[-1][:, 0].argmax(-1)[:, None].expand(M, N_TEST))


def test_eval_mode_is_used_and_restored(small_ensemble):
    model = small_ensemble("relu", True)
    x, y = _test_set()
    order = _order(model, 0, 0)
    expected = ablation_curve(model, x, y, 0, order)
    model.train()
    try:
        assert torch.equal(ablation_curve(model, x, y, 0, order), expected)
        assert torch.equal(naive_ablation_curve(model, x, y, 0, order), expected)
        assert model.training
    finally:
        model.eval()


def test_double_precision_model(small_ensemble):
    model = small_ensemble("sigmoid", False)
    double = EnsembleMLP(WIDTHS, "sigmoid", M).double()
    double.load_state_dict({k: v.double() for k, v in model.state_dict().items()})
    x, y = _test_set()
    order = _order(model, 1, 3)
    assert torch.equal(ablation_curve(double.eval(), x, y, 1, order),
                       naive_ablation_curve(double, x.double(), y, 1, order))


def test_per_class_absent_class_is_nan(small_ensemble):
    model = small_ensemble("relu", False)
    x, y = _test_set()
    keep = y != 4
    acc, per_class = ablation_curve(model, x[keep], y[keep], 0, _order(model, 0, 0), per_class=True)
    assert per_class[..., 4].isnan().all() and not per_class[..., 3].isnan().any()
    counts = torch.bincount(y[keep], minlength=10).double()
    weighted = (per_class.nan_to_num() * counts).sum(-1) / counts.sum()
    assert torch.allclose(weighted, acc)


# ---------------------------------------------------------------------------- orderings
def test_order_by_breaks_ties_by_index():
    values = torch.tensor([[0.5, 0.1, 0.5, 0.1, 0.9, 0.5], [1.0, 1.0, 1.0, 0.0, 0.0, 2.0]])
    assert order_by(values).tolist() == [[1, 3, 0, 2, 5, 4], [3, 4, 0, 1, 2, 5]]
    assert order_by(values, descending=True).tolist() == [[4, 0, 2, 5, 1, 3], [5, 0, 1, 2, 3, 4]]
    ties = torch.zeros(2, 1000)  # long rows: stable whatever the sort algorithm
    assert torch.equal(order_by(ties, descending=True), torch.arange(1000).expand(2, -1))


def test_random_orders_reproducible():
    a = random_orders(3, 50, 4, seed=11)
    assert a.shape == (3, 4, 50)
    assert torch.equal(a.sort(dim=-1).values, torch.arange(50).expand(3, 4, -1))
    assert torch.equal(a, random_orders(3, 50, 4, seed=11))
    assert not torch.equal(a, random_orders(3, 50, 4, seed=12))
    assert not torch.equal(a[:, 0], a[:, 1])


def test_flat_indexing():
    widths = (20, 16, 12, 8)
    flat = torch.arange(sum(widths))
    layer, neuron = unflatten(widths, flat)
    assert layer.bincount().tolist() == list(widths)
    assert torch.equal(flat_index(widths, layer, neuron), flat)
    assert int(flat_index(widths, 2, 5)) == 41
    order = torch.tensor([[20, 0, 48, 35]])  # layer 1, 0, 3, 1
    assert source_layers((20, 16, 12, 8), order).tolist() == [[1, 0, 3, 1]]
    counts = layer_counts((20, 16, 12, 8), order)
    assert counts[0].tolist() == [[0, 0, 0, 0], [0, 1, 0, 0], [1, 1, 0, 0], [1, 1, 0, 1],
                                  [1, 2, 0, 1]]


# ---------------------------------------------------------------------------- bad inputs
def _bad_calls(small_ensemble):
    model = small_ensemble("relu", False)
    x, y = _test_set()
    order = _order(model, 0, 0)
    T = sum(model.hidden_widths)
    dup = order.clone()
    dup[0, 1] = dup[0, 0]
    nan_x = x.clone()
    nan_x[3, 4] = float("nan")
    inf_values = torch.zeros(M, 20)
    inf_values[0, 0] = float("inf")
    return {
        "layer high": (lambda: ablation_curve(model, x, y, 4, order), r"layer=4.*0\.\.3"),
        "layer negative": (lambda: ablation_curve(model, x, y, -1, order), r"layer=-1.*0\.\.3"),
        "k beyond width": (lambda: ablation_curve(model, x, y, 0, order, ks=[0, 21]),
                           r"ks.*0\.\.20"),
        "ks not integer": (lambda: ablation_curve(model, x, y, 0, order, ks=[1.5]), "ks"),
        "order shape": (lambda: ablation_curve(model, x, y, 0, order[:, :-1]), "order"),
        "order duplicate": (lambda: ablation_curve(model, x, y, 0, dup), "order.*permutation"),
        "order float": (lambda: ablation_curve(model, x, y, 0, order.float()), "order"),
        "whole order shape": (lambda: whole_network_curve(model, x, y, order), f"order.*{T}"),
        "unknown value": (lambda: ablation_curve(model, x, y, 0, order, "median"),
                          "values.*'zero', 'mean'"),
        "value shape": (lambda: ablation_curve(model, x, y, 0, order, torch.zeros(M, 19)),
                        "values"),
        "value inf": (lambda: ablation_curve(model, x, y, 0, order, inf_values), "values"),
        "mean without data": (lambda: ablation_curve(model, x, y, 0, order, "mean"), "x_train"),
        "nan x_train": (lambda: ablation_curve(model, x, y, 0, order, "mean", x_train=nan_x),
                        "x_train"),
        "nan x_test": (lambda: ablation_curve(model, nan_x, y, 0, order), "x_test"),
        "x_test width": (lambda: ablation_curve(model, x[:, :-1], y, 0, order), "x_test"),
        "label too big": (lambda: ablation_curve(model, x, torch.full_like(y, 10), 0, order),
                          r"y_test.*0\.\.9"),
        "label negative": (lambda: ablation_curve(model, x, y - 1, 0, order), "y_test"),
        "label length": (lambda: ablation_curve(model, x, y[:-1], 0, order), "y_test"),
        "chunk": (lambda: ablation_curve(model, x, y, 0, order, chunk=0), "chunk"),
        "naive layer": (lambda: naive_ablation_curve(model, x, y, 9, order), "layer=9"),
        "order_by nan": (lambda: order_by(torch.tensor([[0.0, float("nan")]])), "values"),
        "draws": (lambda: random_orders(3, 5, 0, seed=1), "draws"),
        "flat index": (lambda: unflatten((3, 4), 7), "flat"),
    }


BAD_CASES = ("layer high", "layer negative", "k beyond width", "ks not integer", "order shape",
             "order duplicate", "order float", "whole order shape", "unknown value",
             "value shape", "value inf", "mean without data", "nan x_train", "nan x_test",
             "x_test width", "label too big", "label negative", "label length", "chunk",
             "naive layer", "order_by nan", "draws", "flat index")


def test_bad_cases_listed(small_ensemble):
    assert set(_bad_calls(small_ensemble)) == set(BAD_CASES)


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_inputs_raise(case, small_ensemble):
    call, pattern = _bad_calls(small_ensemble)[case]
    with pytest.raises(ValueError, match=pattern):
        call()


def test_k_grid_is_dense_where_curves_bend():
    from nbutils.ablation import check_k_grid, k_grid
    assert k_grid(100) == list(range(101))
    g = k_grid(1000, dense=50, step=10)
    assert g[:51] == list(range(51)) and g[-51:] == list(range(950, 1001))
    assert g[51:54] == [60, 70, 80] and all(b > a for a, b in zip(g, g[1:]))
    assert check_k_grid(g, 1000) == g
    with pytest.raises(ValueError, match="within 0..1000"):
        check_k_grid([0, 10, 1001], 1000)
    with pytest.raises(ValueError, match="increasing"):
        check_k_grid([0, 20, 10], 1000)
    with pytest.raises(ValueError, match="width"):
        k_grid(0)


def test_gpu_ablation_chunk_follows_free_memory(monkeypatch):
    """CPU: the cache-sized constant, as before. CUDA (free memory faked): what half the free
    memory holds, at most _GPU_MAX_CHUNK and the number of samples, at least the CPU's chunk."""
    model = EnsembleMLP((30, 2000, 10, 5), "relu", 3)
    order = torch.stack([torch.randperm(2000) for _ in range(3)])
    plans = ablation._layer_plans(model, 0, order, "zero", None)
    cpu = ablation.default_chunk(model, torch.device("cpu"), plans, 191, 10_000)
    assert cpu == max(32, ablation._WORK_ELEMENTS // (3 * 2000)) == 87
    per_sample = ablation.chunk_bytes_per_sample(model, plans, 191)
    cuda = torch.device("cuda")
    for free, n, expected in [(10 ** 13, 10_000, ablation._GPU_MAX_CHUNK),
                              (10 ** 13, 500, 500),
                              (2 * 150 * per_sample, 10_000, 150),
                              (2 * 10 * per_sample, 10_000, cpu)]:
        monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device, f=free: (f, 2 * f))
        assert ablation.default_chunk(model, cuda, plans, 191, n) == expected


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_ablation_equals_cpu_ablation(small_ensemble):
    """On a GPU (its own chunk, its own kernels) the curves are the CPU's, exactly."""
    model = small_ensemble("relu", True)
    x, y = _test_set()
    order = _order(model, 0, 4)
    cpu = ablation_curve(model, x, y, 0, order)
    gpu = ablation_curve(copy.deepcopy(model).cuda(), x.cuda(), y.cuda(), 0, order.cuda())
    assert torch.equal(cpu, gpu.cpu())
