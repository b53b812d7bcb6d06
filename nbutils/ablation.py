"""Cumulative ablation (Sec. V): ablate the first ``k`` neurons of an ordering, for every ``k`` of
a grid, and measure the test accuracy of every member (seed) of an ensemble.

Conventions:

- ``layer`` is a 0-based *hidden*-layer index: ``layer=0`` is the paper's "layer 1".
- An ordering is a LongTensor ``(M, n)``: row ``m`` lists the neurons of member ``m``, the one
  ablated first comes first. A batch of ``R`` orderings ``(M, R, n)`` is evaluated in one call
  (results get an ``R`` axis after ``M``). Whole-network orderings index the hidden neurons of all
  layers concatenated (layer 0 first, then layer 1, ...; see :func:`flat_index`).
- Ablating a neuron replaces its output ``t_j`` by a value ``v_j``: ``"zero"`` (the paper's
  default, following Morcos et al.; claim S6), ``"mean"`` (its mean output on the *training* set,
  :func:`mean_outputs`), or explicit values.
- Evaluation is in eval mode: Dropout off, batch norm with its running statistics.

Exactness. Ablation is evaluated on the network computed in float64 (the float32 weights are
exact in float64). This matters: in float32 a logit near-tie flips with the order of summation, so
two correct float32 implementations disagree on a few predictions in a million (we measured 3 in
8 million on MNIST nets). In float64 both this engine and the mask-and-forward reference
:func:`naive_ablation_curve` are within ~1e-15 of the real-number network and give identical
predictions unless two logits agree to ~15 digits.

Speed. The outputs ``t`` of the lowest ablated layer ``b`` are computed once per chunk of test
samples. Ablating neuron ``j`` of layer ``b`` changes the (batch-normalised) pre-activation ``u``
of layer ``b+1`` by a rank-one term,

    u += (v_j - t_j) (outer) W_{b+1}[j, :],

so walking along the ordering costs one update per step plus the layers above ``b`` (only the
logits when ``b`` is the last hidden layer). Whole-network orderings use the update for layer-0
neurons and replace the outputs of ablated higher-layer neurons while recomputing those layers.
Tensors are kept samples-last, ``(M, n, rows)``: on the CPU the narrow products into the
10 logits and the maximum over classes are several times faster in that layout.
"""
from __future__ import annotations

import copy
import operator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn.functional import one_hot

from . import checks
from .ensemble import BN_EPS, EnsembleMLP

ABLATION_VALUES: tuple[str, ...] = ("zero", "mean")  # claim S6; explicit values also allowed
# Samples per chunk of the incremental sweep: about this many float64 elements in ``u``. On the
# 2-core development CPU, 100 samples x 50 members x 100 neurons (4 MB) ran fastest. The layers
# below the ablated one are computed for OUTER times as many samples at once (bigger products).
_WORK_ELEMENTS = 2 ** 19
_OUTER = 8
# On a CUDA device the chunk follows the memory free there instead: as many samples as a share
# of it holds (estimated from the tensors of one chunk, twice over), at most _GPU_MAX_CHUNK
# (on an H200, layer 1 of 35 Funnel nets: 7.1 s with the CPU's chunk, 2.2 s with 2000 or 10 000).
_GPU_MEMORY_SHARE = 0.5
_GPU_MAX_CHUNK = 4096

Values = str | Tensor | Sequence[Tensor]


# ------------------------------------------------------------------------------ indexing
def flat_index(hidden_widths: Sequence[int], layer: int | Tensor, neuron: int | Tensor) -> Tensor:
    """Index of neuron ``neuron`` of hidden layer ``layer`` (0-based) among all hidden neurons,
    counted layer 0 first: ``flat = sum(hidden_widths[:layer]) + neuron``."""
    layer, neuron = torch.as_tensor(layer), torch.as_tensor(neuron)
    widths = torch.tensor(hidden_widths, device=layer.device)
    if ((layer < 0) | (layer >= len(widths))).any():
        raise ValueError(f"layer must lie in 0..{len(widths) - 1} (0-based hidden layer index)")
    if ((neuron < 0) | (neuron >= widths[layer])).any():
        raise ValueError(f"neuron must lie in 0..width-1 of its layer "
                         f"(widths {tuple(hidden_widths)})")
    return widths.cumsum(0)[layer] - widths[layer] + neuron


def unflatten(hidden_widths: Sequence[int], flat: int | Tensor) -> tuple[Tensor, Tensor]:
    """Inverse of :func:`flat_index`: ``(layer, neuron)`` of each flat index."""
    flat = torch.as_tensor(flat).contiguous()
    widths = torch.tensor(hidden_widths, device=flat.device)
    ends = widths.cumsum(0)
    if ((flat < 0) | (flat >= ends[-1])).any():
        raise ValueError(f"flat indices must lie in 0..{int(ends[-1]) - 1}")
    layer = torch.bucketize(flat, ends, right=True)
    return layer, flat - (ends - widths)[layer]         # minus the first flat index of its layer


def source_layers(hidden_widths: Sequence[int], order: Tensor) -> Tensor:
    """Hidden layer of the k-th ablated neuron of a whole-network ordering (shape of ``order``)."""
    return unflatten(hidden_widths, order)[0]


def layer_counts(hidden_widths: Sequence[int], order: Tensor) -> Tensor:
    """``(..., T + 1, H)``: how many neurons of each hidden layer the first k ablations remove."""
    counts = one_hot(source_layers(hidden_widths, order), len(hidden_widths)).cumsum(dim=-2)
    return torch.cat([torch.zeros_like(counts[..., :1, :]), counts], dim=-2)


# -------------------------------------------------------------------------- ablation values
@torch.no_grad()
def mean_outputs(model: EnsembleMLP, x_train: Tensor, chunk: int = 4096) -> list[Tensor]:
    """Mean eval-mode output ``(M, n_l)`` of every hidden neuron on the training inputs (claim
    S6), float64."""
    x_train = _check_x(model, x_train, "x_train")
    net = _Net64(model)
    sums = [0.0] * model.n_hidden
    for start in range(0, x_train.shape[0], chunk):
        h = x_train[start:start + chunk].T
        for l in range(model.n_hidden):
            h = net.sigma_(net.pre(h, l))
            sums[l] = sums[l] + h.sum(dim=2)
    return [s / x_train.shape[0] for s in sums]


# ------------------------------------------------------------------------------- k grids
def k_grid(width: int, dense: int = 50, step: int = 10) -> list[int]:
    """The numbers of ablated neurons at which a wide layer's curve is evaluated: every ``k``
    up to ``dense`` and in the last ``dense`` (where cumulative-ablation curves bend), every
    ``step``-th in between, and ``width`` itself. Exact at every grid point (the incremental
    engine walks the ordering neuron by neuron; the grid only says where accuracy is read).
    A layer no wider than ``2 * dense`` gets every ``k``."""
    width = checks.positive_int(width, "width")
    dense = checks.positive_int(dense, "dense")
    step = checks.positive_int(step, "step")
    if width <= 2 * dense:
        return list(range(width + 1))
    middle = range(dense + step - dense % step, width - dense, step)
    return sorted({*range(dense + 1), *middle, *range(width - dense, width + 1)})


def check_k_grid(ks: Sequence[int], width: int, name: str = "ks") -> list[int]:
    """A grid a chapter asks for: integers, strictly increasing, within ``0..width``."""
    try:
        ks = [operator.index(k) for k in ks]
    except TypeError:
        raise ValueError(f"{name} must be a list of integers, got {ks!r}") from None
    if not ks or ks[0] < 0 or ks[-1] > width:
        raise ValueError(f"{name} must lie within 0..{width} (the layer's width), got "
                         f"{ks[:3]}...{ks[-3:]}")
    if any(b <= a for a, b in zip(ks, ks[1:])):
        raise ValueError(f"{name} must be strictly increasing")
    return ks


# --------------------------------------------------------------------------- public curves
def ablation_curve(model: EnsembleMLP, x_test: Tensor, y_test: Tensor, layer: int,
                   order: Tensor, values: Values = "zero", ks: Sequence[int] | None = None,
                   per_class: bool = False, *, x_train: Tensor | None = None,
                   chunk: int | None = None) -> Tensor | tuple[Tensor, Tensor]:
    """Test accuracy ``(M, len(ks))`` after ablating the first ``k`` neurons of ``order`` in
    hidden layer ``layer`` (0-based), for each ``k`` in ``ks`` (default: 0 .. width).

    ``values``: ``"zero"``, ``"mean"`` (needs ``x_train``), a tensor ``(M, n)`` or the list
    returned by :func:`mean_outputs`. With ``per_class=True`` also returns the accuracy on each
    class, ``(M, len(ks), C)`` (NaN for a class absent from ``y_test``). An ``order`` of shape
    ``(M, R, n)`` gives ``(M, R, len(ks))`` (and ``(M, R, len(ks), C)``).

    Args:
        model: the trained ensemble of ``M`` members (evaluated in eval mode, in float64).
        x_test: float test inputs ``(N, d)``, non-empty, no NaN or Inf.
        y_test: integer test labels ``(N,)`` in ``0..C-1``.
        layer: 0-based hidden-layer index in ``0..H-1`` (``layer=0`` is the paper's layer 1);
            ``n`` below is its width.
        order: integer ordering ``(M, n)``, each row a permutation of ``0..n-1`` listing the
            neurons of member ``m``, the one ablated first first; or ``R`` orderings at once,
            ``(M, R, n)``.
        values: what an ablated neuron outputs: ``"zero"`` (default, the paper's), ``"mean"``
            (its mean output on ``x_train``, :func:`mean_outputs`), a finite float tensor
            ``(M, n)``, or a list of ``H`` tensors ``(M, n_l)``, one per hidden layer (as
            :func:`mean_outputs` returns; only entry ``layer`` is used).
        ks: the numbers ``k`` of ablated neurons, integers in ``0..n`` in any order, repeats
            allowed (a tensor of integers also works); default ``None``: every ``k`` in
            ``0..n``.
        per_class: also return the accuracy on each class; default ``False``.
        x_train: float training inputs ``(N_train, d)``; needed only for ``values="mean"``.
        chunk: test samples per chunk of the incremental sweep, a positive integer; default
            ``None``: chosen from ``M`` and the widths (about ``2**19`` float64 elements).

    Returns:
        Test accuracy, float64 fractions in [0, 1], ``(M, len(ks))`` (``(M, R, len(ks))`` for
        ``R`` orderings); entry ``[m, i]`` is member ``m`` with ``ks[i]`` neurons ablated. With
        ``per_class=True`` the tuple ``(accuracy, per_class_accuracy)``, the latter
        ``(M, len(ks), C)`` (``(M, R, len(ks), C)``), NaN for a class absent from ``y_test``.

    Raises:
        ValueError: ``layer`` out of range; ``order`` of the wrong shape or dtype or not a
            permutation; ``values`` not allowed, of the wrong shape or with NaN/Inf, or
            ``"mean"`` without ``x_train``; ``ks`` empty or outside ``0..n``; ``chunk`` not a
            positive integer; ``x_test``/``y_test`` of the wrong shape, dtype or range.
    """
    plans = _layer_plans(model, layer, order, values, x_train)
    return _curve(model, x_test, y_test, plans, order.ndim == 3, ks, per_class, chunk, None)


def whole_network_curve(model: EnsembleMLP, x_test: Tensor, y_test: Tensor, order: Tensor,
                        values: Values = "zero", ks: Sequence[int] | None = None,
                        per_class: bool = False, *, x_train: Tensor | None = None,
                        chunk: int | None = None) -> Tensor | tuple[Tensor, Tensor]:
    """Like :func:`ablation_curve` for an ordering ``(M, T)`` (or ``(M, R, T)``) of all ``T``
    hidden neurons (flat indices, :func:`flat_index`), as in Sec. V-B; ``values`` may also be
    ``(M, T)``.

    Args:
        model: the trained ensemble of ``M`` members, ``T`` hidden neurons in all layers.
        x_test: float test inputs ``(N, d)``, non-empty, no NaN or Inf.
        y_test: integer test labels ``(N,)`` in ``0..C-1``.
        order: integer ordering ``(M, T)`` of flat hidden-neuron indices (layer 0 first, see
            :func:`flat_index`), each row a permutation of ``0..T-1``, the neuron ablated first
            first; or ``R`` orderings at once, ``(M, R, T)``.
        values: what an ablated neuron outputs: ``"zero"`` (default), ``"mean"`` (needs
            ``x_train``), a finite float tensor ``(M, T)`` in flat order, or a list of ``H``
            tensors ``(M, n_l)``, one per hidden layer (as :func:`mean_outputs` returns).
        ks: the numbers ``k`` of ablated neurons, integers in ``0..T`` in any order, repeats
            allowed; default ``None``: every ``k`` in ``0..T``.
        per_class: also return the accuracy on each class; default ``False``.
        x_train: float training inputs ``(N_train, d)``; needed only for ``values="mean"``.
        chunk: test samples per chunk, a positive integer; default ``None``: chosen
            automatically (as in :func:`ablation_curve`).

    Returns:
        Test accuracy, float64 fractions, ``(M, len(ks))`` (``(M, R, len(ks))`` for ``R``
        orderings). With ``per_class=True`` the tuple ``(accuracy, per_class_accuracy)``, the
        latter ``(M, len(ks), C)`` (``(M, R, len(ks), C)``), NaN for a class absent from
        ``y_test``.

    Raises:
        ValueError: as :func:`ablation_curve`, for ``order``, ``values``, ``ks``, ``chunk``
            and the test set.
    """
    plans = _network_plans(model, order, values, x_train)
    return _curve(model, x_test, y_test, plans, order.ndim == 3, ks, per_class, chunk, None)


def naive_ablation_curve(model: EnsembleMLP, x_test: Tensor, y_test: Tensor, layer: int | None,
                         order: Tensor, values: Values = "zero", ks: Sequence[int] | None = None,
                         per_class: bool = False, *, x_train: Tensor | None = None,
                         dtype: torch.dtype = torch.float64,
                         chunk: int | None = None) -> Tensor | tuple[Tensor, Tensor]:
    """Reference for both curves (``layer=None``: whole network): for each ``k``, replace the
    ablated outputs and run the whole network (batched over members), in ``dtype`` (float64
    matches the engine; float32 is the plain way to do it, up to near-ties).

    Args:
        model: the trained ensemble of ``M`` members (a copy in ``dtype`` is run, eval mode).
        x_test: float test inputs ``(N, d)``, non-empty, no NaN or Inf.
        y_test: integer test labels ``(N,)`` in ``0..C-1``.
        layer: 0-based hidden-layer index (as in :func:`ablation_curve`), or ``None`` for an
            ordering of the whole network (as in :func:`whole_network_curve`).
        order: integer ordering ``(M, n)`` of the ``n`` neurons of ``layer``, or ``(M, T)`` of
            flat indices of all ``T`` hidden neurons for ``layer=None``; each row a
            permutation; ``(M, R, n)`` / ``(M, R, T)`` for ``R`` orderings at once.
        values: ``"zero"`` (default), ``"mean"`` (needs ``x_train``), a finite float tensor
            ``(M, n)`` (``(M, T)`` for ``layer=None``), or a list of ``H`` tensors
            ``(M, n_l)``, one per hidden layer.
        ks: the numbers ``k`` of ablated neurons, integers in ``0..n`` (``0..T``) in any
            order, repeats allowed; default ``None``: every ``k``.
        per_class: also return the accuracy on each class; default ``False``.
        x_train: float training inputs ``(N_train, d)``; needed only for ``values="mean"``.
        dtype: floating dtype of the forward passes; default ``torch.float64``.
        chunk: a positive integer; the reference runs ``8 * chunk`` test samples at a time;
            default ``None``: chosen automatically.

    Returns:
        As :func:`ablation_curve`: accuracy ``(M, len(ks))`` (``(M, R, len(ks))``), float64
        fractions; with ``per_class=True`` also the per-class accuracy ``(M, len(ks), C)``
        (``(M, R, len(ks), C)``) as the second item of a tuple.

    Raises:
        ValueError: as :func:`ablation_curve` / :func:`whole_network_curve`.
    """
    plans = _plans(model, layer, order, values, x_train)
    return _curve(model, x_test, y_test, plans, order.ndim == 3, ks, per_class, chunk, dtype)


@torch.no_grad()
def ablation_predictions(model: EnsembleMLP, x_test: Tensor, layer: int | None, order: Tensor,
                         values: Values = "zero", ks: Sequence[int] | None = None, *,
                         x_train: Tensor | None = None, chunk: int | None = None,
                         naive: bool = False) -> Tensor:
    """Predicted classes ``(M, len(ks), N)`` (``(M, R, len(ks), N)`` for ``R`` orderings) under
    ablation (``layer=None``: whole network); ``naive=True`` uses the float64 reference.

    Args:
        model: the trained ensemble of ``M`` members.
        x_test: float inputs ``(N, d)``, non-empty, no NaN or Inf.
        layer: 0-based hidden-layer index, or ``None`` for a whole-network ordering.
        order: integer ordering ``(M, n)`` of the ``n`` neurons of ``layer`` (``(M, T)`` flat
            indices for ``layer=None``), each row a permutation; ``(M, R, n)`` / ``(M, R, T)``
            for ``R`` orderings at once.
        values: ``"zero"`` (default), ``"mean"`` (needs ``x_train``), a finite float tensor
            ``(M, n)`` (``(M, T)``), or a list of ``H`` tensors ``(M, n_l)``.
        ks: the numbers ``k`` of ablated neurons, integers in ``0..n`` (``0..T``) in any
            order, repeats allowed; default ``None``: every ``k``.
        x_train: float training inputs ``(N_train, d)``; needed only for ``values="mean"``.
        chunk: test samples per chunk, a positive integer; default ``None``: automatic.
        naive: use the float64 mask-and-forward reference of :func:`naive_ablation_curve`
            instead of the incremental engine; default ``False``.

    Returns:
        Long tensor of predicted classes in ``0..C-1``, ``(M, len(ks), N)``
        (``(M, R, len(ks), N)`` for ``R`` orderings); ``[m, i, s]`` is member ``m``'s
        prediction for sample ``s`` with ``ks[i]`` neurons ablated.

    Raises:
        ValueError: as :func:`ablation_curve`, for ``layer``, ``order``, ``values``, ``ks``,
            ``chunk`` and ``x_test``.
    """
    plans = _plans(model, layer, order, values, x_train)
    x_test = _check_x(model, x_test, "x_test")
    grid, where = _check_ks(ks, plans[0])
    out = torch.empty(len(plans), len(grid), model.n_members, x_test.shape[0], dtype=torch.long,
                      device=x_test.device)
    for rows, pred in _sweep(model, x_test, plans, grid, chunk, torch.float64 if naive else None):
        out[..., rows] = pred
    out = out[:, where].permute(2, 0, 1, 3)                  # (M, R, len(ks), N)
    return out if order.ndim == 3 else out[:, 0]


# ---------------------------------------------------------------------------------- plans
@dataclass
class _Plan:
    """One ordering: step ``j`` ablates neuron ``index[:, j]`` of hidden layer ``layer[:, j]``
    (per member); ``rank[l]`` ``(M, n_l)`` is each neuron's step (``T`` if never ablated);
    ``values[l]`` ``(M, n_l)`` float64; ``base`` is the lowest layer with ablations."""

    base: int
    layer: Tensor
    index: Tensor
    rank: list[Tensor]
    values: list[Tensor]
    what: str  # for error messages

    @property
    def steps(self) -> int:
        return self.layer.shape[1]


def _plans(model: EnsembleMLP, layer: int | None, order: Tensor, values: Values,
           x_train: Tensor | None) -> list[_Plan]:
    if layer is None:
        return _network_plans(model, order, values, x_train)
    return _layer_plans(model, layer, order, values, x_train)


def _layer_plans(model: EnsembleMLP, layer: int, order: Tensor, values: Values,
                 x_train: Tensor | None) -> list[_Plan]:
    H = model.n_hidden
    checks.index(layer, H, "layer", "0-based hidden layer index; layer=0 is the paper's layer 1")
    n = model.hidden_widths[layer]
    orders = _check_order(model, order, n, f"hidden layer {layer} has {n} neurons")
    vals = _check_values(model, values, x_train)
    value = vals if isinstance(vals, Tensor) else vals[layer]
    _check_value_shape(model, value, n, f"layer {layer}")
    full = [value if l == layer else torch.zeros_like(value[:, :1]).expand(-1, w)
            for l, w in enumerate(model.hidden_widths)]
    plans = []
    for o in orders:
        rank = [torch.full((model.n_members, w), n, dtype=torch.long, device=o.device)
                for w in model.hidden_widths]
        rank[layer] = torch.argsort(o, dim=1)
        plans.append(_Plan(layer, torch.full_like(o, layer), o, rank, full, f"layer {layer}"))
    return plans


def _network_plans(model: EnsembleMLP, order: Tensor, values: Values,
                   x_train: Tensor | None) -> list[_Plan]:
    widths = list(model.hidden_widths)
    T = sum(widths)
    orders = _check_order(model, order, T, f"the network has {T} hidden neurons {tuple(widths)}")
    vals = _check_values(model, values, x_train)
    if isinstance(vals, Tensor):
        _check_value_shape(model, vals, T, "the whole network")
        vals = list(vals.split(widths, dim=1))
    for l, v in enumerate(vals):
        _check_value_shape(model, v, widths[l], f"layer {l}")
    plans = []
    for o in orders:
        layer, index = unflatten(widths, o)
        rank = list(torch.argsort(o, dim=1).split(widths, dim=1))
        plans.append(_Plan(0, layer, index, rank, vals, "the whole network"))
    return plans


# -------------------------------------------------------------------------------- checks
def _check_x(model: EnsembleMLP, x: Tensor, name: str) -> Tensor:
    """``x`` as float64 ``(N, d)``."""
    if not isinstance(x, Tensor) or x.ndim != 2 or x.shape[1] != model.widths[0]:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{name} must be a tensor of shape (N, {model.widths[0]}), got {shape}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a float tensor, got dtype {x.dtype}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or Inf")
    return x.double()


def _check_y(model: EnsembleMLP, y: Tensor, n: int) -> Tensor:
    C = model.widths[-1]
    if not isinstance(y, Tensor) or y.shape != (n,):
        shape = tuple(y.shape) if isinstance(y, Tensor) else type(y).__name__
        raise ValueError(f"y_test must be a tensor of shape ({n},) matching x_test, got {shape}")
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise ValueError(f"y_test must hold integer class labels, got dtype {y.dtype}")
    if y.min() < 0 or y.max() >= C:
        raise ValueError(f"y_test has labels outside 0..{C - 1}: "
                         f"min {int(y.min())}, max {int(y.max())}")
    return y.long()


def _check_order(model: EnsembleMLP, order: Tensor, n: int, context: str) -> list[Tensor]:
    """The orderings of an ``(M, n)`` or ``(M, R, n)`` tensor, each ``(M, n)`` long."""
    M = model.n_members
    if not isinstance(order, Tensor) or order.ndim not in (2, 3) or order.shape[0] != M \
            or order.shape[-1] != n or order.numel() == 0:
        shape = tuple(order.shape) if isinstance(order, Tensor) else type(order).__name__
        raise ValueError(f"order must have shape (M, n) = ({M}, {n}) or (M, R, n) ({context}), "
                         f"got {shape}")
    if order.is_floating_point() or order.is_complex() or order.dtype == torch.bool:
        raise ValueError(f"order must be an integer tensor, got dtype {order.dtype}")
    if not (order.sort(dim=-1).values == torch.arange(n, device=order.device)).all():
        raise ValueError(f"order: every row must be a permutation of 0..{n - 1} ({context})")
    order = order.long()
    return [order] if order.ndim == 2 else list(order.unbind(1))


def _check_values(model: EnsembleMLP, values: Values,
                  x_train: Tensor | None) -> Tensor | list[Tensor]:
    """Resolve ``values`` to one float64 tensor or a per-layer list (checked for NaN/Inf)."""
    device = model.weights[0].device
    if isinstance(values, str):
        if values == "zero":
            return [torch.zeros(model.n_members, n, dtype=torch.float64, device=device)
                    for n in model.hidden_widths]
        if values == "mean":
            if x_train is None:
                raise ValueError('values="mean" needs x_train (the training inputs), or pass '
                                 "mean_outputs(model, x_train) as values")
            return mean_outputs(model, x_train)
    elif isinstance(values, Tensor):
        if not values.is_floating_point() or not torch.isfinite(values).all():
            raise ValueError("values must be a finite float tensor (no NaN or Inf)")
        return values.double()
    elif isinstance(values, (list, tuple)) and len(values) == model.n_hidden \
            and all(isinstance(v, Tensor) for v in values):
        if not all(v.is_floating_point() and torch.isfinite(v).all() for v in values):
            raise ValueError("values must be finite float tensors (no NaN or Inf)")
        return [v.double() for v in values]
    raise ValueError(f"values={values!r} is not allowed: choose one of {list(ABLATION_VALUES)}, "
                     f"a tensor of shape (M, n) or one (M, n_l) tensor per hidden layer")


def _check_value_shape(model: EnsembleMLP, v: Tensor, n: int, what: str) -> None:
    if v.shape != (model.n_members, n):
        raise ValueError(f"values for {what} must have shape (M, n) = ({model.n_members}, {n}), "
                         f"got {tuple(v.shape)}")


def _check_ks(ks: Sequence[int] | None, plan: _Plan) -> tuple[list[int], Tensor]:
    """Sorted distinct grid to sweep, and where each requested ``k`` sits in it."""
    T = plan.steps
    ks = range(T + 1) if ks is None else ks
    if isinstance(ks, Tensor):
        ks = ks.reshape(-1).tolist()
    try:
        ks = [operator.index(k) for k in ks]
    except TypeError:
        raise ValueError(f"ks must be a sequence of integers, got {ks!r}") from None
    if not ks:
        raise ValueError("ks is empty")
    bad = [k for k in ks if not 0 <= k <= T]
    if bad:
        raise ValueError(f"ks contains {bad[0]}, beyond the {T} neurons of {plan.what} "
                         f"(allowed 0..{T})")
    grid = sorted(set(ks))
    position = {k: i for i, k in enumerate(grid)}
    return grid, torch.tensor([position[k] for k in ks])


# ------------------------------------------------------------------------------ evaluation
@torch.no_grad()
def _curve(model: EnsembleMLP, x: Tensor, y: Tensor, plans: list[_Plan], batched: bool,
           ks: Sequence[int] | None, per_class: bool, chunk: int | None,
           naive: torch.dtype | None) -> Tensor | tuple[Tensor, Tensor]:
    x = _check_x(model, x, "x_test")
    y = _check_y(model, y, x.shape[0]).to(x.device)
    grid, where = _check_ks(ks, plans[0])
    onehot = one_hot(y, model.widths[-1]).double()                        # (N, C)
    correct = 0.0
    for rows, pred in _sweep(model, x, plans, grid, chunk, naive):        # (R, G, M, rows)
        correct = correct + (pred == y[rows]).double() @ onehot[rows]     # per-class counts
    correct = correct[:, where].permute(2, 0, 1, 3)                       # (M, R, len(ks), C)
    if not batched:
        correct = correct[:, 0]
    accuracy = correct.sum(-1) / x.shape[0]
    if not per_class:
        return accuracy
    return accuracy, correct / onehot.sum(0)               # 0/0 = NaN for an absent class


def _sweep(model: EnsembleMLP, x: Tensor, plans: list[_Plan], grid: list[int],
           chunk: int | None, naive: torch.dtype | None) -> Iterator[tuple[slice, Tensor]]:
    """Yield ``(sample slice, predictions (R, len(grid), M, rows))`` chunk by chunk; ``naive``:
    the reference in that dtype instead of the engine."""
    if chunk is None:
        chunk = default_chunk(model, x.device, plans, len(grid), x.shape[0])
    checks.positive_int(chunk, "chunk")
    if naive is not None:
        reference = copy.deepcopy(model).to(naive).eval()
        for start in range(0, x.shape[0], chunk * _OUTER):
            rows = slice(start, min(start + chunk * _OUTER, x.shape[0]))
            xs = x[rows].to(naive)
            yield rows, torch.stack([_naive_chunk(reference, xs, p, grid) for p in plans])
        return
    net = _Net64(model)
    base = plans[0].base
    for outer in range(0, x.shape[0], chunk * _OUTER):
        h = x[outer:outer + chunk * _OUTER].T                             # (d, rows)
        for l in range(base + 1):                    # outputs of the base layer, once
            h = net.sigma_(net.pre(h, l))
        for start in range(0, h.shape[2], chunk):
            t = h[:, :, start:start + chunk]
            rows = slice(outer + start, outer + start + t.shape[2])
            yield rows, torch.stack([_incremental_chunk(net, t, p, grid) for p in plans])


def default_chunk(model: EnsembleMLP, device: torch.device, plans: list[_Plan], n_grid: int,
                  n_samples: int) -> int:
    """Test samples per chunk of the sweep.

    Args:
        model: the ensemble swept.
        device: where the sweep runs.
        plans: its orderings (:class:`_Plan`).
        n_grid: the number of grid points.
        n_samples: the number of test samples.

    Returns:
        On the CPU the cache-sized constant (about ``_WORK_ELEMENTS`` float64 elements in
        ``u``); on a CUDA device as many samples as ``_GPU_MEMORY_SHARE`` of its free memory
        holds (:func:`chunk_bytes_per_sample`), at most ``_GPU_MAX_CHUNK`` and ``n_samples``, at
        least the CPU's chunk.
    """
    cpu = max(32, _WORK_ELEMENTS // (model.n_members * max(model.widths[1:])))
    if device.type != "cuda":
        return cpu
    free, _ = torch.cuda.mem_get_info(device)
    fits = int(free * _GPU_MEMORY_SHARE) // chunk_bytes_per_sample(model, plans, n_grid)
    return max(cpu, min(fits, _GPU_MAX_CHUNK, n_samples))


def chunk_bytes_per_sample(model: EnsembleMLP, plans: list[_Plan], n_grid: int) -> int:
    """An upper estimate of the device memory one test sample of a chunk needs in the sweep
    (twice the float64 elements of its largest tensors: the inputs and base-layer outputs ``8x``
    the chunk, the ablation steps ``(M, T)`` and their temporaries, the layers above, the
    predictions at every grid point of every ordering)."""
    M, R, T = model.n_members, len(plans), plans[0].steps
    widths, b = model.hidden_widths, plans[0].base
    below = model.widths[0] + 2 * M * max(widths[:b + 1])
    sweep = 3 * M * T + M * widths[b] + 3 * M * max(model.widths[b + 1:])
    results = 3 * R * n_grid * M
    return 2 * 8 * (_OUTER * below + sweep + results)


def _naive_chunk(model: EnsembleMLP, x: Tensor, plan: _Plan, grid: list[int]) -> Tensor:
    """Mask-and-forward: for each k, run the whole network with the ablated outputs replaced."""
    ablated = [bool((r < plan.steps).any()) for r in plan.rank]
    values = [v.to(x.dtype)[:, None, :] for v in plan.values]
    pred = torch.empty(len(grid), model.n_members, x.shape[0], dtype=torch.long, device=x.device)
    for i, k in enumerate(grid):
        h = x
        for l in range(model.n_hidden):
            h = model.hidden_output(model.affine(h, l), l)
            if ablated[l]:
                h = torch.where((plan.rank[l] < k)[:, None, :], values[l], h)
        pred[i] = model.affine(h, model.n_hidden).argmax(-1)
    return pred


class _Net64:
    """The ensemble in float64, samples last: layer ``l`` maps ``h (M, n_{l-1}, rows)`` (or a
    shared input ``(d, rows)``) to ``BN(W_l^T h + b_l)``, eval-mode batch norm folded in."""

    def __init__(self, model: EnsembleMLP):
        self.W, self.b = [], []                              # (M, n_l, n_{l-1}), (M, n_l, 1)
        for l in range(model.n_hidden + 1):
            W, b = model.weights[l].double(), model.biases[l].double()
            if model.batch_norm and l < model.n_hidden:
                scale = model.bn_weight[l].double() * torch.rsqrt(
                    model.running_var(l).double() + BN_EPS)
                W = W * scale
                b = (b - model.running_mean(l).double()) * scale + model.bn_bias[l].double()
            self.W.append(W.transpose(1, 2).contiguous())
            self.b.append(b.transpose(1, 2).contiguous())
        self.H = model.n_hidden
        self.sigma = {"relu": torch.relu, "sigmoid": torch.sigmoid}[model.activation]
        self.sigma_ = {"relu": torch.relu_, "sigmoid": torch.sigmoid_}[model.activation]

    def pre(self, h: Tensor, l: int) -> Tensor:
        if h.ndim == 2:
            return torch.matmul(self.W[l], h) + self.b[l]
        return torch.baddbmm(self.b[l], self.W[l], h)


def _incremental_chunk(net: _Net64, t: Tensor, plan: _Plan, grid: list[int]) -> Tensor:
    """Predictions ``(len(grid), M, rows)`` of one chunk from the base-layer outputs ``t``
    ``(M, n_b, rows)``, walking along the ordering (see the module docstring)."""
    b, H, rows = plan.base, net.H, t.shape[2]
    u = net.pre(t, b + 1)                                    # k = 0, from scratch
    # Step j adds  cols[:, :, j] (outer) steps[:, j]  to u (zero when it ablates another layer).
    in_base = (plan.layer == b).double()[..., None]          # (M, T, 1)
    index = torch.where(plan.layer == b, plan.index, 0)[..., None]
    steps = (plan.values[b][..., None] - t).gather(1, index.expand(-1, -1, rows)) * in_base
    W = net.W[b + 1]
    cols = W.gather(2, index.transpose(1, 2).expand(-1, W.shape[1], -1)) * in_base.transpose(1, 2)
    masked = [l for l in range(b + 1, H) if bool((plan.rank[l] < plan.steps).any())]
    values = [v[..., None] for v in plan.values]             # (M, n_l, 1)
    pred = torch.empty(len(grid), u.shape[0], rows, dtype=torch.long, device=t.device)
    top = torch.empty(u.shape[0], rows, dtype=u.dtype, device=t.device)
    done = 0
    for i, k in enumerate(grid):
        if k == done + 1:                                    # one rank-one update
            u.addcmul_(cols[:, :, done:k], steps[:, done:k])
        elif k > done:                                       # several at once
            u.baddbmm_(cols[:, :, done:k], steps[:, done:k])
        done = k
        logits = u
        if b + 1 < H:                                        # the layers above the base layer
            h = net.sigma(u)
            for l in range(b + 1, H):
                if l > b + 1:
                    h = net.sigma_(net.pre(h, l))
                if l in masked:
                    h = torch.where((plan.rank[l] < k)[..., None], values[l], h)
            logits = net.pre(h, H)
        # max over classes gives the first maximum on ties, like argmax, and is faster here
        torch.max(logits, dim=1, out=(top, pred[i]))
    return pred
