"""Tests of nbutils.measures against a plain per-neuron reference (loops, math.log2)."""
import math
import warnings

import numpy as np
import pytest
import torch

from nbutils import measures as ms


# ---------------------------------------------------------------- plain reference, one neuron
def ref_codes(values, activation, scheme, n_bins):
    """Quantize one neuron's list of outputs; a code counts the edges strictly below the value."""
    if scheme == "one_bit":
        edges = [{"relu": 0.0, "sigmoid": 0.5}[activation]]
    elif scheme == "uniform":
        lo, hi = min(values), max(values)
        edges = [lo + (hi - lo) * (b / n_bins) for b in range(1, n_bins)]
    else:  # quantile: order statistic number ceil(b N / n_bins)
        s = sorted(values)
        edges = [s[math.ceil(b * len(s) / n_bins) - 1] for b in range(1, n_bins)]
    return [sum(v > e for e in edges) for v in values]


def ref_measures(codes, labels, n_bins, n_classes):
    """Entropy, MI, KL selectivity and spectrum (NaN for absent classes) from one neuron's codes."""
    n = len(codes)
    joint = [[0] * n_classes for _ in range(n_bins)]
    for t, y in zip(codes, labels):
        joint[t][y] += 1
    p_t = [sum(row) / n for row in joint]
    p_y = [sum(joint[t][y] for t in range(n_bins)) / n for y in range(n_classes)]
    h = -sum(p * math.log2(p) for p in p_t if p > 0)
    h_cond = 0.0
    spectrum = []
    for y in range(n_classes):
        if p_y[y] == 0:
            spectrum.append(math.nan)
            continue
        cond = [joint[t][y] / n / p_y[y] for t in range(n_bins)]
        h_cond -= p_y[y] * sum(q * math.log2(q) for q in cond if q > 0)
        spectrum.append(sum(q * math.log2(q / p_t[t]) for t, q in enumerate(cond) if q > 0))
    kl = max(d for d in spectrum if not math.isnan(d))
    return h, h - h_cond, kl, spectrum


def random_acts(gen, m, n_samples, n_neurons, activation):
    """Outputs with ties, exact zeros, constant and dead neurons mixed in."""
    acts = gen.normal(size=(m, n_samples, n_neurons))
    if activation == "sigmoid":
        acts = 1.0 / (1.0 + np.exp(-acts))
    else:
        acts = np.maximum(acts, 0.0)
    acts[:, ::3, 0] = acts[:, :1, 0]  # many ties
    if n_neurons > 1:
        acts[:, :, 1] = np.round(acts[:, :, 1], 1)  # discrete values
    if n_neurons > 2:
        acts[:, :, 2] = 0.0  # dead / constant
    return torch.tensor(acts, dtype=torch.float64)


CASES = [(a, s, b) for a in ("relu", "sigmoid")
         for s, b in (("one_bit", 2), ("uniform", 4), ("quantile", 4), ("quantile", 3))]


@pytest.mark.parametrize("activation,scheme,n_bins", CASES)
@pytest.mark.parametrize("seed", range(4))
def test_matches_reference_on_random_inputs(activation, scheme, n_bins, seed):
    gen = np.random.default_rng(seed)
    m, n_samples, n_neurons = gen.integers(1, 4), gen.integers(1, 80), gen.integers(1, 6)
    n_classes = int(gen.integers(2, 11))
    labels = torch.tensor(gen.integers(0, n_classes, n_samples))
    acts = random_acts(gen, m, n_samples, n_neurons, activation)
    got = ms.neuron_measures(acts, labels, activation, scheme, n_bins, n_classes)
    codes = ms.quantize(acts, activation, scheme, n_bins)
    for i in range(m):
        for j in range(n_neurons):
            values = acts[i, :, j].tolist()
            ref_c = ref_codes(values, activation, scheme, n_bins)
            assert codes[i, :, j].tolist() == ref_c
            h, mi, kl, spec = ref_measures(ref_c, labels.tolist(), n_bins, n_classes)
            assert got.entropy[i, j].item() == pytest.approx(h, abs=1e-9)
            assert got.mi[i, j].item() == pytest.approx(mi, abs=1e-9)
            assert got.kl[i, j].item() == pytest.approx(kl, abs=1e-9)
            np.testing.assert_allclose(got.spectrum[i, j].numpy(), spec, atol=1e-9, rtol=0)
    for t in (got.entropy, got.mi, got.kl, got.spectrum):
        assert t.dtype == torch.float64
    assert got.spectrum.shape == (m, n_neurons, n_classes)


def test_float32_input_and_shapes():
    gen = torch.Generator().manual_seed(0)
    acts = torch.randn(2, 50, 7, generator=gen)
    labels = torch.randint(0, 3, (50,), generator=gen)
    got = ms.neuron_measures(acts, labels, "relu")
    ref = ms.neuron_measures(acts.double(), labels, "relu")
    assert got.entropy.shape == got.mi.shape == got.kl.shape == (2, 7)
    assert torch.equal(got.mi, ref.mi) and got.mi.dtype == torch.float64
    assert torch.equal(got["kl"], got.kl)


def test_uniform_bins_agree_with_histogram():
    acts = torch.randn(1, 500, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    codes = ms.uniform_bins(acts, 5)
    expected, _ = np.histogram(acts.flatten().numpy(), bins=5)
    assert np.bincount(codes.flatten().numpy(), minlength=5).tolist() == expected.tolist()


def test_quantile_bins_are_balanced_and_match_numpy_quantiles():
    acts = torch.randn(1, 103, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    codes = ms.quantile_bins(acts, 4)
    counts = np.bincount(codes.flatten().numpy(), minlength=4)
    assert counts.tolist() == [26, 26, 26, 25]
    x = acts.flatten().numpy()
    edges = np.quantile(x, [0.25, 0.5, 0.75], method="inverted_cdf")
    assert codes.flatten().numpy().tolist() == [int((v > edges).sum()) for v in x]


def test_one_bit_threshold_tie_goes_to_zero():
    acts = torch.tensor([[[-1.0], [0.0], [1e-7], [0.5], [0.6]]])
    assert ms.one_bit(acts, "relu").flatten().tolist() == [0, 0, 1, 1, 1]
    assert ms.one_bit(acts, "sigmoid").flatten().tolist() == [0, 0, 0, 0, 1]


# ---------------------------------------------------------------- constructed inputs
@pytest.mark.parametrize("scheme,n_bins", [("one_bit", 2), ("uniform", 4), ("quantile", 4)])
@pytest.mark.parametrize("value", [0.0, 0.7, 3.0])
def test_constant_neuron_has_zero_measures(scheme, n_bins, value):
    labels = torch.arange(60) % 3
    acts = torch.full((2, 60, 3), value)
    got = ms.neuron_measures(acts, labels, "relu", scheme, n_bins)
    for name in ms.MEASURES:
        assert torch.all(got[name] == 0.0), name


def test_dead_and_always_active_relu_both_have_zero_entropy():  # Example 1
    gen = torch.Generator().manual_seed(3)
    labels = torch.randint(0, 10, (200,), generator=gen)
    pre = torch.randn(1, 200, 2, generator=gen)
    acts = torch.stack([torch.relu(pre[..., 0] - 10), torch.relu(pre[..., 1] + 10)], dim=-1)
    got = ms.neuron_measures(acts, labels, "relu")
    assert torch.all(got.entropy == 0) and torch.all(got.mi == 0) and torch.all(got.kl == 0)


def test_class_indicator_neuron():
    labels = torch.tensor([0] * 10 + [1] * 30 + [2] * 60)
    acts = (labels == 0).double().view(1, -1, 1) * 2.0  # active iff class 0, P(0) = 0.1
    got = ms.neuron_measures(acts, labels, "relu")
    h = -(0.1 * math.log2(0.1) + 0.9 * math.log2(0.9))
    assert got.entropy.item() == pytest.approx(h, abs=1e-12)
    assert got.mi.item() == pytest.approx(h, abs=1e-12)
    assert got.kl.item() == pytest.approx(math.log2(1 / 0.1), abs=1e-12)
    assert got.spectrum[0, 0].tolist() == pytest.approx([math.log2(10)] + [math.log2(1 / 0.9)] * 2)


def test_absent_class_is_nan_in_spectrum_and_skipped_in_kl():
    labels = torch.tensor([0, 0, 2, 2])
    acts = torch.tensor([[[1.0], [1.0], [0.0], [0.0]]])
    got = ms.neuron_measures(acts, labels, "relu", n_classes=4)
    spec = got.spectrum[0, 0]
    assert math.isnan(spec[1]) and math.isnan(spec[3])
    assert spec[0].item() == pytest.approx(1.0) and got.kl.item() == pytest.approx(1.0)
    assert got.mi.item() == pytest.approx(1.0)


def test_joint_counts_layout():
    codes = torch.tensor([[[0, 1], [1, 1], [1, 0]]])  # (M=1, N=3, n=2)
    labels = torch.tensor([0, 2, 2])
    counts = ms.joint_counts(codes, labels, 2, 3)
    assert counts.shape == (1, 2, 2, 3) and counts.dtype == torch.float64
    assert counts[0, 0].tolist() == [[1, 0, 0], [0, 0, 2]]
    assert counts[0, 1].tolist() == [[0, 0, 1], [1, 0, 1]]


# ---------------------------------------------------------------- claim M2 on random tables
def random_tables(count=500, seed=0):
    gen = np.random.default_rng(seed)
    for i in range(count):
        n_bins, n_classes = int(gen.integers(2, 6)), int(gen.integers(2, 11))
        kind = i % 5
        if kind == 0:  # independent: outer product, I = 0 exactly in theory
            table = np.outer(gen.integers(0, 6, n_bins), gen.integers(1, 6, n_classes))
        elif kind == 1:  # sparse
            mask = gen.random((n_bins, n_classes)) < 0.2
            table = gen.integers(0, 20, (n_bins, n_classes)) * mask
        elif kind == 2:  # degenerate: one occupied bin or one occupied class
            table = np.zeros((n_bins, n_classes), dtype=int)
            if gen.random() < 0.5:
                table[gen.integers(n_bins)] = gen.integers(0, 9, n_classes)
            else:
                table[:, gen.integers(n_classes)] = gen.integers(0, 9, n_bins)
        elif kind == 3:  # deterministic T = f(Y)
            table = np.zeros((n_bins, n_classes), dtype=int)
            rows = gen.integers(0, n_bins, n_classes)
            table[rows, np.arange(n_classes)] = gen.integers(1, 30, n_classes)
        else:
            table = gen.integers(0, 30, (n_bins, n_classes))
        if table.sum() == 0:
            table[0, 0] = 1
        yield torch.tensor(table, dtype=torch.float64)


def test_claim_m2_properties_on_random_tables():
    zero_cases = nonzero_cases = 0
    for table in random_tables():
        h, mi = ms.entropy(table).item(), ms.mutual_information(table).item()
        spec, kl = ms.specific_information(table), ms.kl_selectivity(table).item()
        assert 0.0 <= mi <= h + 1e-12 and h <= math.log2(table.shape[0]) + 1e-12
        assert mi <= kl + 1e-12
        assert np.nanmax(spec.numpy()) == kl
        p_y = (table.sum(0) / table.sum()).numpy()
        assert mi == pytest.approx(float(np.nansum(p_y * spec.numpy())), abs=1e-12)  # I = E_y D_y
        assert (mi < 1e-10) == (kl < 1e-10)
        zero_cases += mi < 1e-10
        nonzero_cases += mi >= 1e-10
    assert zero_cases > 50 and nonzero_cases > 50


def test_measures_broadcast_over_leading_axes():
    tables = torch.randint(0, 5, (4, 3, 2, 6), generator=torch.Generator().manual_seed(4)) + 1.0
    for fn in (ms.entropy, ms.mutual_information, ms.kl_selectivity):
        out = fn(tables)
        assert out.shape == (4, 3)
        assert out[2, 1].item() == fn(tables[2, 1]).item()


# ---------------------------------------------------------------- Example 4, XOR synergy
def test_xor_pair_is_synergistic():
    a = torch.tensor([0, 0, 1, 1] * 25)
    b = torch.tensor([0, 1, 0, 1] * 25)
    y = a ^ b
    counts = ms.joint_counts(torch.stack([a, b], -1).unsqueeze(0), y, 2, 2)
    assert ms.mutual_information(counts).abs().max().item() < 1e-12
    assert ms.joint_mutual_information(a, b, y).item() == pytest.approx(1.0, abs=1e-12)
    batched = ms.joint_mutual_information(a.view(1, -1, 1), b.view(1, -1, 1), y)
    assert batched.shape == (1, 1) and batched.item() == pytest.approx(1.0, abs=1e-12)


# ---------------------------------------------------------------- bad input
GOOD_ACTS = torch.randn(2, 6, 3)
GOOD_LABELS = torch.tensor([0, 1, 2, 0, 1, 2])
BAD_CALLS = [
    ("acts", lambda: ms.neuron_measures(torch.full((2, 6, 3), math.nan), GOOD_LABELS, "relu")),
    ("acts", lambda: ms.neuron_measures(torch.full((2, 6, 3), math.inf), GOOD_LABELS, "relu")),
    ("acts", lambda: ms.neuron_measures(GOOD_ACTS[0], GOOD_LABELS, "relu")),
    ("acts", lambda: ms.neuron_measures(torch.zeros(2, 0, 3), torch.zeros(0, dtype=torch.long),
                                        "relu")),
    ("acts", lambda: ms.quantile_bins(torch.zeros(2, 0, 3), 2)),
    ("labels", lambda: ms.neuron_measures(GOOD_ACTS, GOOD_LABELS, "relu", n_classes=2)),
    ("labels", lambda: ms.neuron_measures(GOOD_ACTS, -GOOD_LABELS, "relu")),
    ("labels", lambda: ms.neuron_measures(GOOD_ACTS, GOOD_LABELS[:5], "relu")),
    ("labels", lambda: ms.neuron_measures(GOOD_ACTS, GOOD_LABELS.float(), "relu")),
    ("n_bins", lambda: ms.neuron_measures(GOOD_ACTS, GOOD_LABELS, "relu", "uniform", 1)),
    ("n_bins", lambda: ms.quantile_bins(GOOD_ACTS, 0)),
    ("n_bins", lambda: ms.quantize(GOOD_ACTS, "relu", "one_bit", 4)),
    ("activation", lambda: ms.neuron_measures(GOOD_ACTS, GOOD_LABELS, "tanh")),
    ("activation", lambda: ms.one_bit(GOOD_ACTS, "ReLU6")),
    ("scheme", lambda: ms.neuron_measures(GOOD_ACTS, GOOD_LABELS, "relu", "kmeans")),
    ("codes", lambda: ms.joint_counts(torch.full((1, 6, 1), 2), GOOD_LABELS, 2)),
    ("codes_b", lambda: ms.joint_mutual_information(torch.zeros(6, dtype=torch.long),
                                                    torch.zeros(5, dtype=torch.long),
                                                    GOOD_LABELS)),
]


@pytest.mark.parametrize("name,call", BAD_CALLS,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(BAD_CALLS)])
def test_bad_input_raises_value_error_naming_argument(name, call):
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        call()


def test_no_warnings_on_degenerate_input():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ms.neuron_measures(torch.zeros(1, 4, 2), torch.tensor([0, 0, 1, 1]), "relu", n_classes=5)


def test_measure_registry():
    assert list(ms.MEASURES) == ["entropy", "mi", "kl"]
    assert [m.label for m in ms.MEASURES.values()] == [
        "Entropy", "Mutual information", "KL selectivity"]
    assert len({m.color for m in ms.MEASURES.values()}) == len(ms.MEASURES)
    counts = torch.tensor([[[3.0, 1.0], [1.0, 3.0]]])  # one neuron, |T| = 2, C = 2
    for name, m in ms.MEASURES.items():
        assert m.name == name and m.fn(counts).shape == (1,)


def test_a_registered_measure_reaches_neuron_measures(monkeypatch):
    """Adding a measure is one registry entry: neuron_measures computes it with the others."""
    def active_fraction(counts):  # P(T = 1), a toy measure on the joint counts
        return counts[..., 1, :].sum(-1) / counts.sum((-2, -1))

    monkeypatch.setitem(ms.MEASURES, "active", ms.Measure(
        "active", active_fraction, "Active fraction", "active", "tab:gray", "-"))
    acts = torch.tensor([[[0.0], [1.0], [2.0], [0.0]]])   # (M=1, N=4, n=1)
    got = ms.neuron_measures(acts, torch.tensor([0, 1, 1, 0]), "relu")
    assert set(got) == {"entropy", "mi", "kl", "active", "spectrum"}
    assert got["active"].tolist() == [[0.5]] and got.active.tolist() == [[0.5]]
