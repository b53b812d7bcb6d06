"""Pruning with bias balancing (the technical note; claims P1-P4): physically smaller networks.

A network here is one member of an ensemble as an ordinary ``torch.nn.Sequential``
(:meth:`nbutils.ensemble.EnsembleMLP.member`): ``Linear, [BatchNorm1d], activation, [Dropout]``
per hidden layer, then ``Linear``. :func:`prune_layer` removes neurons of one hidden layer and
returns a new, smaller ``Sequential`` (sliced ``Linear`` / ``BatchNorm1d`` layers), with one of
two surgeries:

- ``"remove"``: the neurons are cut out; the next layer no longer sees them (the same network
  as ablation to zero);
- ``"balance"``: the note's *bias balancing*: when neuron ``j`` of hidden layer ``i`` goes, each
  neuron ``k`` of layer ``i+1`` gets ``b_k += w_jk * mean_l t_j(x_l)``, the mean over the
  training set (the same network as ablation to the training-set mean, for a one-layer change).

:func:`course_mask` is the course replication's reading of bias balancing, a multiplicative mask
``t_j -> P(T_j = 1) t_j`` on the kept neuron (folded into the next layer's weights; nothing is
removed), kept for comparison.

The orderings (claims P2, P4) are the entries of :data:`nbutils.orderings.PRUNING`: the paper's
measures (one bit, on the validation set D), random, and He et al.'s two criteria (ICASSP 2014):
the entropy of the activation (:data:`HE_BINS` equal-width bins of each neuron's observed range,
:func:`nbutils.measures.uniform_bins`; He et al. split at 0.5) and the norm of the outgoing
weights (:func:`outgoing_weight_norm`). Each scores a :class:`MemberLayer`; the lowest score is
pruned first.

Why this module runs its own networks beside the ensemble engine: the note prunes *physically
smaller* networks (the point of claims P1-P4 and of the latency table), one ordinary
``torch.nn.Sequential`` per member whose widths change with every surgery (a layer may even go
to width 0), evaluated in float64. :class:`nbutils.ensemble.EnsembleMLP` stacks members of one
architecture (equal widths, the paper's layout), runs them through its own batched kernels and
counts accuracies in float32, so its forward (:meth:`~nbutils.ensemble.EnsembleMLP.accuracy`,
:meth:`~nbutils.ensemble.EnsembleMLP.layer_output`) and :func:`nbutils.train.train_ensemble`
(which trains a configuration from its initialisation) cannot run these networks without changing
the chapter's method and numbers; :func:`layer_outputs`, :func:`accuracy` and :func:`finetune`
are therefore the few lines that run a ``Sequential``. What is shared: the members come from
:meth:`~nbutils.ensemble.EnsembleMLP.member`, the measures from :mod:`nbutils.measures`, the
sample order of fine-tuning from :func:`nbutils.train.epoch_order`, and the parameter and FLOP
counts of a plain MLP from :func:`nbutils.ensemble.param_count` and
:func:`nbutils.ensemble.forward_flops_per_sample` (also read by :mod:`nbutils.cost`).
"""
from __future__ import annotations

import copy
import logging
import time
import warnings
from collections.abc import Sequence
from functools import cached_property

import torch
from torch import Tensor, nn

from . import checks, orderings
from .ensemble import forward_flops_per_sample, param_count
from .measures import neuron_measures
from .train import epoch_order

SURGERIES: tuple[str, ...] = ("remove", "balance")
PRUNING_ORDERINGS = orderings.PRUNING   # names (and entries) of the pruning orderings, live
HE_BINS = 10


def hidden_layers(mlp: nn.Sequential) -> list[list[int]]:
    """Module indices of each hidden layer's block (``Linear`` up to the next ``Linear``)."""
    linear = [i for i, m in enumerate(mlp) if isinstance(m, nn.Linear)]
    if len(linear) < 2:
        raise ValueError("mlp must be a Sequential with at least one hidden Linear layer")
    ends = [*linear[1:], len(mlp)]
    return [list(range(a, b)) for a, b in zip(linear[:-1], ends[:-1])]


def widths(mlp: nn.Sequential) -> list[int]:
    """Layer widths ``[d, n_1, ..., n_H, C]`` of an MLP."""
    lin = [m for m in mlp if isinstance(m, nn.Linear)]
    return [lin[0].in_features, *(m.out_features for m in lin)]


def layer_outputs(mlp: nn.Sequential, x: Tensor, layer: int, chunk: int = 8192) -> Tensor:
    """Outputs ``t`` ``(N, n)`` of hidden ``layer`` (0-based, eval mode) for inputs ``x``: the
    ``Sequential``'s own modules (a pruned network has widths no ``EnsembleMLP`` holds)."""
    blocks = hidden_layers(mlp)
    checks.index(layer, len(blocks), "layer", "0 = the first hidden layer")
    stop = blocks[layer][-1] + 1
    mlp = mlp.eval()
    with torch.no_grad():
        return torch.cat([mlp[:stop](x[i:i + chunk]) for i in range(0, x.shape[0], chunk)])


def outgoing_weight_norm(mlp: nn.Sequential, layer: int, p: float = 1.0) -> Tensor:
    """He et al. (ICASSP 2014)'s weight criterion: the ``p``-norm of each neuron's outgoing
    weights, ``(n,)`` for hidden ``layer`` (prune the smallest first). ``p = 1`` (default): the
    sum of absolute outgoing weights."""
    blocks = hidden_layers(mlp)
    checks.index(layer, len(blocks), "layer", "0 = the first hidden layer")
    nxt = mlp[blocks[layer][-1] + 1]
    return torch.linalg.vector_norm(nxt.weight.detach(), ord=p, dim=0)


def _kept(n: int, neurons: Sequence[int] | Tensor, name: str = "neurons") -> Tensor:
    idx = torch.as_tensor(neurons, dtype=torch.long).reshape(-1)
    if idx.numel() and (idx.min() < 0 or idx.max() >= n):
        raise ValueError(f"{name} must be neuron indices in 0..{n - 1}, got {idx.tolist()}")
    if idx.unique().numel() != idx.numel():
        raise ValueError(f"{name} has repeated indices: {idx.tolist()}")
    keep = torch.ones(n, dtype=torch.bool)
    keep[idx] = False
    return keep


def prune_layer(mlp: nn.Sequential, layer: int, neurons: Sequence[int] | Tensor,
                surgery: str = "balance", x_train: Tensor | None = None,
                means: Tensor | None = None) -> nn.Sequential:
    """A copy of ``mlp`` without ``neurons`` of hidden ``layer`` (0-based), physically smaller.

    Args:
        mlp: an MLP as built by :func:`nbutils.ensemble.build_reference_mlp` (or a member of an
            ensemble), not modified.
        layer: the hidden layer, ``0..H-1``.
        neurons: indices of the neurons to remove (distinct; all of them leaves a layer of
            width 0, and the network then outputs a constant).
        surgery: ``"remove"`` or ``"balance"`` (:data:`SURGERIES`).
        x_train: training inputs ``(N, d)`` for the means of bias balancing.
        means: the removed layer's mean outputs ``(n,)`` instead of ``x_train``.

    Returns:
        A new ``nn.Sequential`` in eval mode whose hidden ``layer`` has ``n - len(neurons)``
        neurons (kept in their original order).

    Raises:
        ValueError: an unknown ``surgery``, a ``layer`` outside the network, bad ``neurons``,
            or ``"balance"`` without ``x_train`` or ``means``.
    """
    checks.choice(surgery, SURGERIES, "surgery")
    blocks = hidden_layers(mlp)
    checks.index(layer, len(blocks), "layer", "0 = the first hidden layer")
    block = blocks[layer]
    n = mlp[block[0]].out_features
    keep = _kept(n, neurons)
    if surgery == "balance":
        if means is None:
            if x_train is None:
                raise ValueError("surgery='balance' needs x_train (or means): bias balancing "
                                 "adds w_jk * mean t_j over the training set")
            means = layer_outputs(mlp, x_train, layer).mean(dim=0)
        means = torch.as_tensor(means, dtype=mlp[block[0]].weight.dtype).reshape(-1)
        if means.numel() != n:
            raise ValueError(f"means must have one value per neuron of layer {layer} ({n}), "
                             f"got {means.numel()}")
    out = nn.Sequential(*[_copy(m) for m in mlp])
    with torch.no_grad():
        first = out[block[0]]
        out[block[0]] = _linear(first.weight[keep], first.bias[keep])
        for i in block[1:]:
            if isinstance(out[i], nn.BatchNorm1d):
                out[i] = _batch_norm(out[i], keep)
        nxt_i = block[-1] + 1
        nxt = out[nxt_i]
        bias = nxt.bias.clone()
        if surgery == "balance":
            bias += nxt.weight[:, ~keep] @ means[~keep]
        out[nxt_i] = _linear(nxt.weight[:, keep], bias)
    return out.eval()


def course_mask(mlp: nn.Sequential, layer: int, neurons: Sequence[int] | Tensor,
                p_active: Tensor) -> nn.Sequential:
    """The course replication's reading of bias balancing: the outputs of ``neurons`` are scaled
    by their probability of being active, ``t_j -> p_j t_j`` (folded into the next layer's
    weights). Nothing is removed and no bias changes; returned for comparison with
    :func:`prune_layer`."""
    blocks = hidden_layers(mlp)
    checks.index(layer, len(blocks), "layer", "0 = the first hidden layer")
    n = mlp[blocks[layer][0]].out_features
    keep = _kept(n, neurons)
    p_active = torch.as_tensor(p_active, dtype=mlp[blocks[layer][0]].weight.dtype).reshape(-1)
    if p_active.numel() != n or (p_active < 0).any() or (p_active > 1).any():
        raise ValueError(f"p_active must be {n} probabilities in [0, 1]")
    out = nn.Sequential(*[_copy(m) for m in mlp])
    with torch.no_grad():
        nxt = out[blocks[layer][-1] + 1]
        nxt.weight[:, ~keep] *= p_active[~keep]
    return out.eval()


def prune_network(mlp: nn.Sequential, removed: dict[int, Sequence[int] | Tensor],
                  surgery: str = "balance", x_train: Tensor | None = None) -> nn.Sequential:
    """Remove ``removed[layer]`` (indices of the original network) from several hidden layers,
    first layer first; bias balancing uses the means of each layer on the network pruned so
    far (the layers below it already smaller)."""
    out = mlp
    for layer in sorted(removed):
        if len(removed[layer]):
            out = prune_layer(out, layer, removed[layer], surgery, x_train=x_train)
    return out.eval()


def select_per_layer(scores: Sequence[Tensor], counts: Sequence[int]) -> dict[int, Tensor]:
    """Layer by layer (claim P2): the ``counts[l]`` neurons of lowest score in each layer."""
    if len(counts) != len(scores):
        raise ValueError(f"counts must give one number per layer ({len(scores)}), got "
                         f"{len(counts)}")
    out = {}
    for l, (s, k) in enumerate(zip(scores, counts)):
        checks.non_negative_int(k, f"counts[{l}]")
        if k > s.numel():
            raise ValueError(f"counts[{l}] = {k}: layer {l} has only {s.numel()} neurons")
        out[l] = torch.argsort(s, stable=True)[:k]
    return out


def select_network_wide(scores: Sequence[Tensor], k: int) -> dict[int, Tensor]:
    """Network-wide (what claim P2 warns against): the ``k`` neurons of lowest score over all
    hidden layers ranked together (ties: lower layer, then lower index, first)."""
    checks.non_negative_int(k, "k")
    flat = torch.cat([s.reshape(-1) for s in scores])
    layer_of = torch.cat([torch.full((s.numel(),), l) for l, s in enumerate(scores)])
    index_of = torch.cat([torch.arange(s.numel()) for s in scores])
    if k > flat.numel():
        raise ValueError(f"k = {k}: the network has {flat.numel()} hidden neurons")
    chosen = torch.argsort(flat, stable=True)[:k]
    return {l: index_of[chosen][layer_of[chosen] == l] for l in range(len(scores))}


def finetune(mlp: nn.Sequential, x_train: Tensor, y_train: Tensor, epochs: int, seed: int, *,
             lr: float = 1e-3, weight_decay: float = 1e-4,
             batch_size: int = 32) -> tuple[nn.Sequential, float]:
    """Fine-tune a (pruned) MLP with the note's optimizer: Adam, cross-entropy + L2, batches of
    32, the sample order drawn from ``seed``. The retraining bias balancing is meant to replace.

    Not :func:`nbutils.train.train_ensemble`: that trains a configuration's networks from their
    initialisation as one ensemble of equal widths, drawing each member's sample order from
    ``derive_seed(seed, "order")``; here one pruned ``Sequential`` goes on from its own weights,
    its sample order drawn from ``seed`` itself (by :func:`nbutils.train.epoch_order`, as training
    draws it). Running it through the ensemble would change the fine-tuned networks, and so claim
    P3's numbers.

    Args:
        mlp: the network, not modified.
        x_train: training inputs ``(N, d)``.
        y_train: integer labels ``(N,)``.
        epochs: number of epochs (positive).
        seed: seed of the sample order (positive).
        lr: Adam's learning rate; default 1e-3 (the note's).
        weight_decay: the L2 weight; default 1e-4 (the paper's).
        batch_size: default 32.

    Returns:
        ``(model, seconds)``: the fine-tuned copy in eval mode and the wall time it took.
    """
    checks.positive_int(epochs, "epochs")
    checks.positive_int(seed, "seed")
    model = copy.deepcopy(mlp).train()
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    with torch.random.fork_rng():
        torch.manual_seed(seed)   # Dropout masks, if the network has Dropout
        for _ in range(epochs):
            order = epoch_order(gen, x_train.shape[0])
            for i in range(0, order.numel(), batch_size):
                idx = order[i:i + batch_size]
                loss = nn.functional.cross_entropy(model(x_train[idx]), y_train[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
    return model.eval(), time.perf_counter() - start


def latency(mlp: nn.Sequential, batch_size: int, min_run_time: float = 0.5) -> float:
    """Median seconds of one forward pass on ``batch_size`` inputs on the CPU, measured with
    ``torch.utils.benchmark`` (which handles warm-up and threads)."""
    # torch.utils.benchmark imports torch.utils.cpp_extension, which logs a warning about a
    # missing CUDA runtime on CPU-only machines: irrelevant to a CPU timing, and noise in a book
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
    from torch.utils import benchmark

    checks.positive_int(batch_size, "batch_size")
    x = torch.rand(batch_size, widths(mlp)[0], dtype=next(mlp.parameters()).dtype)
    model = mlp.eval()
    timer = benchmark.Timer(stmt="with torch.no_grad(): model(x)",
                            globals={"model": model, "x": x, "torch": torch})
    return float(timer.blocked_autorange(min_run_time=min_run_time).median)


class MemberLayer:
    """Hidden ``layer`` (0-based) of one network ``mlp`` seen on the validation set ``x, y``:
    what the pruning orderings score (:data:`nbutils.orderings.PRUNING`), each ``(n,)`` in
    float64, computed on first use."""

    def __init__(self, mlp: nn.Sequential, x: Tensor, y: Tensor, activation: str, layer: int):
        self.mlp, self.x, self.y, self.activation, self.layer = mlp, x, y, activation, layer

    @cached_property
    def outputs(self) -> Tensor:
        """The layer's outputs ``(1, N, n)`` (one member, as :mod:`nbutils.measures` reads)."""
        return layer_outputs(self.mlp, self.x, self.layer).unsqueeze(0)

    @cached_property
    def _one_bit(self):
        return neuron_measures(self.outputs, self.y, self.activation)

    def information(self, measure: str) -> Tensor:
        """One of the paper's measures (one-bit quantization) in bits."""
        return self._one_bit[measure][0]

    @cached_property
    def binned_entropy(self) -> Tensor:
        """He et al.'s activation entropy: :data:`HE_BINS` equal-width bins of each neuron's
        observed range."""
        return neuron_measures(self.outputs, self.y, self.activation, scheme="uniform",
                               n_bins=HE_BINS)["entropy"][0]

    @property
    def outgoing_weight_norm(self) -> Tensor:
        """He et al.'s weight criterion (:func:`outgoing_weight_norm`, ``p = 1``)."""
        return outgoing_weight_norm(self.mlp, self.layer).to(torch.float64)


def pruning_scores(mlp: nn.Sequential, x_val: Tensor, y_val: Tensor, activation: str,
                   seed: int) -> list[dict[str, Tensor]]:
    """Per hidden layer, a score ``(n,)`` for every ordering of :data:`PRUNING_ORDERINGS`
    (the lowest is pruned first; ``random``: a permutation, one draw per layer).

    Args:
        mlp: the network.
        x_val: validation inputs (the set D of the measures).
        y_val: validation labels.
        activation: ``"relu"`` or ``"sigmoid"`` (the one-bit threshold).
        seed: seed of the ``random`` ordering (a permutation, as scores).

    Returns:
        One dict per hidden layer, ordering name -> float64 scores ``(n,)``.
    """
    checks.positive_int(seed, "seed")
    gen = torch.Generator().manual_seed(seed)
    out = []
    for layer in range(len(hidden_layers(mlp))):
        view = MemberLayer(mlp, x_val, y_val, activation, layer)
        out.append({name: (torch.randperm(view.outputs.shape[2], generator=gen)
                           .to(torch.float64) if o.kind == orderings.RANDOM else o.fn(view))
                    for name, o in PRUNING_ORDERINGS.items()})
    return out


def accuracy(mlp: nn.Sequential, x: Tensor, y: Tensor, chunk: int = 8192) -> float:
    """Test accuracy (fraction, correct / N exactly) of one ``Sequential`` (not
    :meth:`nbutils.ensemble.EnsembleMLP.accuracy`, which counts in float32: module docstring)."""
    mlp = mlp.eval()
    with torch.no_grad():
        correct = sum(int((mlp(x[i:i + chunk]).argmax(1) == y[i:i + chunk]).sum())
                      for i in range(0, x.shape[0], chunk))
    return correct / x.shape[0]


def pruning_curve(mlp: nn.Sequential, layer: int, score: Tensor, counts: Sequence[int],
                  surgery: str, x_train: Tensor, x_test: Tensor, y_test: Tensor) -> list[float]:
    """Test accuracy after removing the ``k`` lowest-scored neurons of ``layer``, for each
    ``k`` of ``counts``, each time from the intact network (physically smaller networks).

    Args:
        mlp: the intact network.
        layer: the hidden layer (0-based).
        score: ``(n,)``, lowest pruned first (ties: lower index first).
        counts: numbers of neurons to remove, each in ``0..n``.
        surgery: ``"remove"`` or ``"balance"``.
        x_train: training inputs for the means of bias balancing.
        x_test: test inputs ``(N, d)``.
        y_test: test labels ``(N,)``.

    Returns:
        One accuracy (fraction) per entry of ``counts``.
    """
    order = torch.argsort(torch.as_tensor(score), stable=True)
    means = layer_outputs(mlp, x_train, layer).mean(dim=0) if surgery == "balance" else None
    accs = []
    for k in counts:
        checks.non_negative_int(k, "counts")
        small = prune_layer(mlp, layer, order[:k], surgery, means=means) if k else mlp
        accs.append(accuracy(small, x_test, y_test))
    return accs


def parameter_count(mlp: nn.Sequential) -> int:
    """Number of parameters (weights, biases, batch-norm affine parameters) the network holds;
    for a plain MLP :func:`nbutils.ensemble.param_count` of its :func:`widths`."""
    return sum(p.numel() for p in mlp.parameters())


def flops_per_sample(mlp: nn.Sequential) -> int:
    """Multiply-adds of one forward pass of the ``Linear`` layers, times 2
    (:func:`nbutils.ensemble.forward_flops_per_sample` of its :func:`widths`)."""
    return forward_flops_per_sample(widths(mlp))


# ------------------------------------------------------------------------------ helpers
def _copy(module: nn.Module) -> nn.Module:
    return copy.deepcopy(module)


def _linear(weight: Tensor, bias: Tensor) -> nn.Linear:
    with warnings.catch_warnings():   # a layer of width 0 (pruned entirely) has empty weights
        warnings.filterwarnings("ignore", "Initializing zero-element tensors is a no-op")
        lin = nn.utils.skip_init(nn.Linear, weight.shape[1], weight.shape[0],
                                 dtype=weight.dtype, device=weight.device)
    lin.weight.copy_(weight)
    lin.bias.copy_(bias)
    return lin


def _batch_norm(bn: nn.BatchNorm1d, keep: Tensor) -> nn.Module:
    """``bn`` restricted to the ``keep`` features; for none, ``nn.Identity`` (a batch norm of
    zero features cannot run, and there is nothing to normalize)."""
    if not keep.any():
        return nn.Identity()
    new = nn.BatchNorm1d(int(keep.sum()), eps=bn.eps, momentum=bn.momentum,
                         dtype=bn.weight.dtype, device=bn.weight.device)
    new.weight.copy_(bn.weight[keep])
    new.bias.copy_(bn.bias[keep])
    new.running_mean.copy_(bn.running_mean[keep])
    new.running_var.copy_(bn.running_var[keep])
    return new.eval()


def size_after(widths_: Sequence[int], removed: dict[int, int]) -> tuple[int, int]:
    """Parameters and FLOPs per sample (2 x multiply-adds of the ``Linear`` layers) of a plain
    MLP of layer widths ``widths_`` (input, hidden..., output; no batch norm) after removing
    ``removed[layer]`` neurons of hidden layer ``layer``, without building it
    (:func:`nbutils.ensemble.param_count`, :func:`nbutils.ensemble.forward_flops_per_sample`)."""
    w = list(widths_)
    for layer, k in removed.items():
        checks.index(layer, len(w) - 2, "layer", "0 = the first hidden layer")
        checks.non_negative_int(k, "removed")
        if k > w[layer + 1]:
            raise ValueError(f"removed: {k} neurons of hidden layer {layer}, which has "
                             f"{w[layer + 1]}")
        w[layer + 1] -= k
    return param_count(w), forward_flops_per_sample(w)


def largest_within(accuracy_: Sequence[float], counts: Sequence[int], intact: float,
                   points: float = 1.0) -> int:
    """The largest ``k`` of ``counts`` (increasing) such that every ``k' <= k`` of ``counts``
    keeps the mean accuracy within ``points`` percentage points of ``intact`` (fractions in,
    e.g. the mean of a pruning curve over seeds); 0 if none does."""
    best = 0
    for k, acc in zip(counts, accuracy_):
        if 100.0 * (intact - acc) > points:
            break
        best = k
    return int(best)
