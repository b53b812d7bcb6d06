"""Examples 1-4 of the paper (Sec. IV) as small explicit networks on explicit datasets.

Each builder returns a :class:`Counterexample`: a one-member :class:`~nbutils.ensemble.EnsembleMLP`
whose weights are set by hand, a validation set D (on which the measures are computed) and a test
set (on which ablation is evaluated), both drawn from the same generator, and the role of every
neuron of the analysed hidden layer. The constructions are chosen so that the failure each example
describes actually happens:

1. :func:`example1` - a ReLU layer with a dead neuron and an always-active one: one-bit entropy is 0
   for both, yet the network's decision runs through the always-active one.
2. :func:`example2` - four classes, class 0 easy: three clean class-0 detectors and three noisy
   neurons that jointly separate classes 1-3. Every neuron's maximiser in Eq. (5) is class 0; the
   detectors have the largest KL selectivity although the network can do without them.
3. :func:`example3` - two identical neurons carry all the class information: both rank at the top
   by mutual information, one alone suffices.
4. :func:`example4` - XOR: two binary neurons each independent of Y whose pair determines Y.

:func:`run_example` evaluates an example over several data draws: measures on D for every neuron
and cumulative-ablation curves (via :mod:`nbutils.ablation`) for the information orderings, the
example's own hand-picked orderings and :func:`spectrum_cover_order` (the remedy for Example 2
suggested in Sec. VI).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from . import ablation, checks
from .ensemble import EnsembleMLP
from .measures import MEASURES, NeuronMeasures, joint_mutual_information, neuron_measures, one_bit
from .orderings import measure_orders

# Validation (= test) set size per profile: the examples are tiny, only the sample noise shrinks.
SAMPLES = {"ci": 400, "quick": 2000, "paper": 4000}


@dataclass(frozen=True)
class Counterexample:
    """An explicit network, its datasets and the roles of the neurons of hidden layer ``layer``."""

    number: int
    title: str
    model: EnsembleMLP
    layer: int
    roles: tuple[str, ...]
    x_val: Tensor
    y_val: Tensor
    x_test: Tensor
    y_test: Tensor
    n_classes: int
    named_orders: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def width(self) -> int:
        return self.model.hidden_widths[self.layer]

    def activations(self, x: Tensor | None = None) -> Tensor:
        """Outputs ``(1, N, n)`` of the analysed layer on ``x`` (default: D)."""
        x = self.x_val if x is None else x
        return self.model.hidden_activations(x)[self.layer]

    def codes(self, x: Tensor | None = None) -> Tensor:
        """One-bit codes ``(1, N, n)`` of the analysed layer on ``x`` (default: D)."""
        return one_bit(self.activations(x).cpu(), self.model.activation)

    def measures(self, scheme: str = "one_bit", n_bins: int = 2) -> NeuronMeasures:
        """Entropy, MI, KL selectivity and spectrum of every neuron of the layer, on D."""
        return neuron_measures(self.activations().cpu(), self.y_val.cpu(), self.model.activation,
                               scheme=scheme, n_bins=n_bins, n_classes=self.n_classes)

    def joint_mi(self, j: int, k: int) -> float:
        """I(T_j T_k; Y) in bits on D (one-bit codes of neurons j and k)."""
        codes = self.codes()[0]
        return float(joint_mutual_information(codes[:, j], codes[:, k], self.y_val.cpu(),
                                              n_bins=2, n_classes=self.n_classes))

    def label_entropy(self) -> float:
        """H(Y) in bits on D."""
        p = torch.bincount(self.y_val.cpu(), minlength=self.n_classes).double()
        p = p[p > 0] / p.sum()
        return float(-(p * torch.log2(p)).sum())

    def order(self, neurons: Sequence[int]) -> Tensor:
        """An ablation ordering ``(1, n)`` from a list of neuron indices (a permutation)."""
        order = torch.tensor([list(neurons)], dtype=torch.long)
        return order.to(self.x_test.device)

    def curve(self, order: Tensor, per_class: bool = False):
        """Test accuracy after ablating (to zero) the first k = 0..n neurons of ``order``."""
        return ablation.ablation_curve(self.model, self.x_test, self.y_test, self.layer,
                                       order.to(self.x_test.device), "zero", per_class=per_class)

    def accuracy(self) -> float:
        """Test accuracy of the intact network."""
        return float(self.model.accuracy(self.x_test, self.y_test)[0])


# ------------------------------------------------------------------------- construction
def explicit_mlp(layers: Sequence[tuple[Sequence[Sequence[float]], Sequence[float]]],
                 activation: str = "relu", device: str | torch.device = "cpu") -> EnsembleMLP:
    """A one-member :class:`EnsembleMLP` with the given weights: ``layers[l] = (W, b)`` with
    ``W`` of shape ``(n_l, n_{l+1})`` (``t W + b`` as in Eq. 1) and ``b`` of length ``n_{l+1}``."""
    mats = [torch.as_tensor(W, dtype=torch.float32) for W, _ in layers]
    vecs = [torch.as_tensor(b, dtype=torch.float32) for _, b in layers]
    widths = [mats[0].shape[0]] + [W.shape[1] for W in mats]
    for l, (W, b) in enumerate(zip(mats, vecs)):
        if W.ndim != 2 or W.shape[0] != widths[l] or b.shape != (W.shape[1],):
            raise ValueError(f"layer {l}: W has shape {tuple(W.shape)} and b {tuple(b.shape)}; "
                             f"expected ({widths[l]}, n) and (n,)")
    model = EnsembleMLP(widths, activation, 1)
    with torch.no_grad():
        for l, (W, b) in enumerate(zip(mats, vecs)):
            model.weight_t[l].copy_(W.T[None])
            model.biases[l].copy_(b[None, None])
    return model.to(device).eval()


def _generator(number: int, seed: int) -> torch.Generator:
    checks.non_negative_int(seed, "seed")
    return torch.Generator().manual_seed(1000 * number + seed)


def _check_n(n: int, multiple: int) -> None:
    if not checks.is_int(n) or n < 4 * multiple or n % multiple:
        raise checks.fail("n", n, f"an integer multiple of {multiple}, at least {4 * multiple}")


def _balanced(n: int, k: int, gen: torch.Generator) -> Tensor:
    """``n`` labels, each of 0..k-1 exactly n/k times, in random order."""
    return (torch.arange(n) % k)[torch.randperm(n, generator=gen)]


def _build(number, title, layers, activation, layer, roles, sample, n, seed, n_classes,
           device, named_orders=None) -> Counterexample:
    gen = _generator(number, seed)
    x_val, y_val = sample(n, gen)
    x_test, y_test = sample(n, gen)
    model = explicit_mlp(layers, activation, device)
    return Counterexample(number, title, model, layer, tuple(roles),
                          x_val.float().to(device), y_val.long().to(device),
                          x_test.float().to(device), y_test.long().to(device), n_classes,
                          dict(named_orders or {}))


def example1(n: int = 2000, seed: int = 0, device: str | torch.device = "cpu") -> Counterexample:
    """Example 1: a dead and an always-active ReLU neuron both have one-bit entropy 0.

    Inputs ``x = (x1, x2)`` with ``x1 ~ U(1, 3)``, ``x2 ~ N(0, 1)``; the class is ``y = [x1 > 2]``.
    Hidden neurons: ``t0 = relu(x1)`` (always active, the decision runs through it),
    ``t1 = relu(-x1)`` (dead: always 0, even though it has outgoing weights) and
    ``t2 = relu(x2)`` (active half of the time, irrelevant: no outgoing weights).
    Output logits ``(0.5 t1, t0 - 2 - 0.3 t1)``: class 1 iff ``x1 > 2``.
    """
    _check_n(n, 2)

    def sample(m, gen):
        x1 = 1.0 + 2.0 * torch.rand(m, generator=gen)
        x2 = torch.randn(m, generator=gen)
        return torch.stack([x1, x2], dim=1), (x1 > 2.0).long()

    W1 = [[1.0, -1.0, 0.0],
          [0.0, 0.0, 1.0]]
    W2 = [[0.0, 1.0],       # always active -> logit of class 1
          [0.5, -0.3],      # dead: its weights never matter
          [0.0, 0.0]]       # irrelevant
    return _build(1, "dead vs always active", [(W1, [0.0, 0.0, 0.0]), (W2, [0.0, -2.0])],
                  "relu", 0, ("always active", "dead", "irrelevant"), sample, n, seed, 2,
                  device, {"dead first": (1, 0, 2), "always-active first": (0, 1, 2)})


def example2(n: int = 2000, seed: int = 0, flip: float = 0.02,
             device: str | torch.device = "cpu") -> Counterexample:
    """Example 2: KL selectivity singles out the easy class 0 of C = 4 (balanced) classes.

    The inputs are six bits copied by an identity ReLU layer: neurons ``d1..d3`` fire exactly for
    class 0 (clean, "easy"); neuron ``g_c`` (c = 1, 2, 3) fires for the classes in {1, 2, 3}
    other than c, each bit flipped with probability ``flip`` for samples of classes 1-3 (never for
    class 0). The pattern of ``(g1, g2, g3)`` alone identifies all four classes. The output layer
    scores class 0 by ``3 - sum g + sum d`` and class c by ``1 - g_c + sum_{c' != c} g_{c'}``
    (minus ``0.01 c`` against exact ties).
    """
    _check_n(n, 4)
    if not 0.0 <= flip < 0.25:
        raise ValueError(f"flip={flip!r} must lie in [0, 0.25)")

    def sample(m, gen):
        y = _balanced(m, 4, gen)
        d = (y == 0).float()[:, None].expand(m, 3)
        g = torch.stack([((y != 0) & (y != c)).float() for c in (1, 2, 3)], dim=1)
        flips = (torch.rand(m, 3, generator=gen) < flip) & (y != 0)[:, None]
        g = torch.where(flips, 1.0 - g, g)
        return torch.cat([d, g], dim=1), y

    W1 = torch.eye(6).tolist()
    W2 = [[1.0, 0.0, 0.0, 0.0]] * 3 + [[-1.0, -1.0, 1.0, 1.0],
                                       [-1.0, 1.0, -1.0, 1.0],
                                       [-1.0, 1.0, 1.0, -1.0]]
    b2 = [3.0, 1.0 - 0.01, 1.0 - 0.02, 1.0 - 0.03]
    roles = ("class-0 detector",) * 3 + ("code g1 (not 0, 1)", "code g2 (not 0, 2)",
                                         "code g3 (not 0, 3)")
    return _build(2, "KL selectivity and an easy class", [(W1, [0.0] * 6), (W2, b2)], "relu", 0,
                  roles, sample, n, seed, 4, device,
                  {"detectors kept (codes first)": (3, 4, 5, 0, 1, 2),
                   "codes kept (detectors first)": (0, 1, 2, 3, 4, 5)})


def example3(n: int = 2000, seed: int = 0, device: str | torch.device = "cpu") -> Counterexample:
    """Example 3: two identical neurons, both maximally informative, each one redundant.

    Inputs ``x = (x1, x2, x3)``: ``x1 = s (0.2 + 0.8 u)`` with a balanced random sign ``s`` and
    ``u ~ U(0, 1)``, the class is ``y = [s > 0]``; ``x2, x3 ~ N(0, 1)`` are irrelevant.
    Hidden neurons ``t0 = t1 = relu(x1)`` (duplicates), ``t2 = relu(x2)``, ``t3 = relu(x3)``
    (no outgoing weights). Logits ``(0.1, t0 + t1)``: one duplicate alone still clears 0.1.
    """
    _check_n(n, 2)

    def sample(m, gen):
        y = _balanced(m, 2, gen)
        x1 = (2.0 * y - 1.0) * (0.2 + 0.8 * torch.rand(m, generator=gen))
        noise = torch.randn(m, 2, generator=gen)
        return torch.cat([x1[:, None], noise], dim=1), y

    W1 = [[1.0, 1.0, 0.0, 0.0],
          [0.0, 0.0, 1.0, 0.0],
          [0.0, 0.0, 0.0, 1.0]]
    W2 = [[0.0, 1.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0]]
    return _build(3, "duplicated neurons", [(W1, [0.0] * 4), (W2, [0.1, 0.0])], "relu", 0,
                  ("duplicate A", "duplicate B", "irrelevant", "irrelevant"), sample, n, seed, 2,
                  device, {"one duplicate": (0, 2, 3, 1), "both duplicates": (0, 1, 2, 3)})


def example4(n: int = 2000, seed: int = 0, noise: float = 0.25,
             device: str | torch.device = "cpu") -> Counterexample:
    """Example 4: XOR. Two binary neurons with I(T;Y) = 0 each determine Y jointly.

    Inputs are four bits: ``x1, x2`` uniform over the four combinations (each exactly n/4
    times), the class is ``y = x1 XOR x2``; ``x3`` is ``y`` flipped with probability ``noise``
    (individually informative, unused by the network); ``x4`` is a fair coin (irrelevant).
    Hidden layer 1 copies the bits (identity ReLU); hidden layer 2 computes
    ``s = relu(t0 + t1)`` and ``a = relu(t0 + t1 - 1)`` (AND); logits ``(0, s - 2a - 0.5)``.
    """
    _check_n(n, 4)
    if not 0.0 <= noise <= 0.5:
        raise ValueError(f"noise={noise!r} must lie in [0, 0.5]")

    def sample(m, gen):
        combo = _balanced(m, 4, gen)
        x1, x2 = combo // 2, combo % 2
        y = x1 ^ x2
        x3 = torch.where(torch.rand(m, generator=gen) < noise, 1 - y, y)
        x4 = (torch.rand(m, generator=gen) < 0.5).long()
        return torch.stack([x1, x2, x3, x4], dim=1).float(), y

    W1 = torch.eye(4).tolist()
    W2 = [[1.0, 1.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0]]
    W3 = [[0.0, 1.0], [0.0, -2.0]]
    return _build(4, "XOR (synergy)", [(W1, [0.0] * 4), (W2, [0.0, -1.0]), (W3, [0.0, -0.5])],
                  "relu", 0, ("XOR input x1", "XOR input x2", "noisy copy of y", "irrelevant"),
                  sample, n, seed, 2, device, {"XOR pair first": (0, 1, 2, 3)})


EXAMPLES: dict[int, Callable[..., Counterexample]] = {
    1: example1, 2: example2, 3: example3, 4: example4}


# ------------------------------------------------------------------------------ orderings
def spectrum_cover_order(spectrum: Tensor) -> Tensor:
    """Ablation ordering ``(M, n)`` that keeps every class represented (Sec. VI, Example 2).

    Neurons are *kept* in rounds: in each round, every class y = 0..C-1 in turn claims the
    not-yet-kept neuron with the largest specific information D(P_{T|Y=y} || P_T) (ties: lowest
    index; NaN entries count as -inf). Ablation removes neurons in the reverse of that order, so
    the last survivors include, for every class, the neuron most informative about it.
    """
    spectrum = torch.as_tensor(spectrum, dtype=torch.float64)
    if spectrum.ndim != 3:
        raise ValueError(f"spectrum must have shape (M, n, C), got {tuple(spectrum.shape)}")
    M, n, C = spectrum.shape
    values = spectrum.nan_to_num(nan=-torch.inf)
    orders = []
    for m in range(M):
        kept: list[int] = []
        free = torch.ones(n, dtype=torch.bool)
        while len(kept) < n:
            for y in range(C):
                if len(kept) == n:
                    break
                column = torch.where(free, values[m, :, y], -torch.inf)
                best = int(torch.nonzero(column == column.max())[0, 0])
                # a column of -inf everywhere (absent class) still claims the lowest free index
                best = best if free[best] else int(torch.nonzero(free)[0, 0])
                kept.append(best)
                free[best] = False
        orders.append(kept[::-1])
    return torch.tensor(orders, dtype=torch.long)


def information_orders(meas: NeuronMeasures) -> dict[str, Tensor]:
    """``entropy-low``, ``entropy-high``, ..., ``kl-high`` orderings and ``spectrum-cover``."""
    orders = measure_orders(meas)
    orders["spectrum-cover"] = spectrum_cover_order(meas.spectrum)
    return orders


# ------------------------------------------------------------------------------ evaluation
@dataclass(frozen=True)
class ExampleRun:
    """An example evaluated over several data draws (one row per draw in every array).

    ``measures[name]``: ``(S, n)`` for entropy, mi, kl and ``(S, n, C)`` for spectrum;
    ``curves[ordering]``: test accuracy ``(S, n+1)``; ``per_class[ordering]``: ``(S, n+1, C)``;
    ``orders[ordering]``: the neuron ablated k-th, ``(S, n)``; ``intact``: accuracy ``(S,)``.
    """

    example: Counterexample              # the draw with the first seed (for its roles etc.)
    seeds: tuple[int, ...]
    measures: dict[str, np.ndarray]
    curves: dict[str, np.ndarray]
    per_class: dict[str, np.ndarray]
    orders: dict[str, np.ndarray]
    intact: np.ndarray
    extra: dict[str, np.ndarray]

    def neuron_table(self):
        """Per neuron: role, and mean over draws of H, I, KL (bits)."""
        import pandas as pd
        rows = {"role": list(self.example.roles)}
        for name in MEASURES:
            rows[f"{name} (bits)"] = self.measures[name].mean(axis=0) + 0.0  # no -0.0
        table = pd.DataFrame(rows)
        table.index.name = "neuron"
        return table

    def curve_table(self, names: Sequence[str] | None = None):
        """Mean test accuracy (%) over draws after ablating k neurons, one row per ordering."""
        import pandas as pd
        names = list(self.curves) if names is None else list(names)
        table = pd.DataFrame({name: 100.0 * self.curves[name].mean(axis=0) for name in names}).T
        table.columns = [f"k={k}" for k in range(table.shape[1])]
        table.index.name = "ordering"
        return table


def run_example(number: int, n: int = 2000, seeds: Sequence[int] = (0,),
                device: str | torch.device = "cpu", **kwargs) -> ExampleRun:
    """Build example ``number`` once per data seed; measures on D, ablation curves on the test
    set for the information orderings, ``spectrum-cover`` and the example's named orderings.

    ``extra`` holds, per draw, the entropy and MI with 4 uniform bins (``uniform4_entropy``,
    ``uniform4_mi``, per neuron), the pair information ``joint_mi`` = I(T_0 T_1; Y) of neurons 0
    and 1 (the XOR pair of Example 4) and ``label_entropy`` = H(Y), all on D.
    """
    if number not in EXAMPLES:
        raise ValueError(f"number={number!r}; the examples are {list(EXAMPLES)}")
    seeds = tuple(seeds)
    if not seeds:
        raise ValueError("seeds is empty")
    meas_rows, curve_rows, class_rows, order_rows = [], {}, {}, {}
    extra = {"uniform4_entropy": [], "uniform4_mi": [], "joint_mi": [], "label_entropy": []}
    first = None
    for seed in seeds:
        ex = EXAMPLES[number](n=n, seed=seed, device=device, **kwargs)
        if first is None:
            first = ex
        meas = ex.measures()
        meas_rows.append({name: meas[name][0].numpy() for name in (*MEASURES, "spectrum")})
        fine = ex.measures("uniform", 4)
        extra["uniform4_entropy"].append(fine.entropy[0].numpy())
        extra["uniform4_mi"].append(fine.mi[0].numpy())
        extra["joint_mi"].append(ex.joint_mi(0, 1))
        extra["label_entropy"].append(ex.label_entropy())
        orders = information_orders(meas)
        orders.update({name: ex.order(o) for name, o in ex.named_orders.items()})
        for name, order in orders.items():
            acc, per_class = ex.curve(order, per_class=True)
            curve_rows.setdefault(name, []).append(acc[0].cpu().numpy())
            class_rows.setdefault(name, []).append(per_class[0].cpu().numpy())
            order_rows.setdefault(name, []).append(order[0].cpu().numpy())
    measures = {name: np.stack([r[name] for r in meas_rows]) for name in (*MEASURES, "spectrum")}
    curves = {k: np.stack(v) for k, v in curve_rows.items()}
    intact = curves["entropy-low"][:, 0]  # k = 0: nothing ablated (float64, like the curves)
    return ExampleRun(first, seeds, measures, curves,
                      {k: np.stack(v) for k, v in class_rows.items()},
                      {k: np.stack(v) for k, v in order_rows.items()},
                      intact, {k: np.asarray(v) for k, v in extra.items()})
