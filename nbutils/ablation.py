"""Cumulative ablation (Sec. V): ablate the first ``k`` neurons of an ordering, for every ``k`` of
a grid, and measure the test accuracy of every member (seed) of an ensemble.

Conventions:

- ``layer`` is a 0-based *hidden*-layer index: ``layer=0`` is the paper's "layer 1".
- An ordering is a LongTensor ``(M, n)``: row ``m`` lists the neurons of member ``m``, the one
  ablated first comes first. Whole-network orderings index the hidden neurons of all layers
  concatenated (layer 0 first, then layer 1, ...; see :func:`flat_index`).
- Ablating a neuron replaces its output ``t_j`` by a value ``v_j``: ``"zero"`` (the paper's
  default, following Morcos et al.; claim S6), ``"mean"`` (its mean output on the *training* set,
  :func:`mean_outputs`), or explicit values.
- Evaluation is in eval mode (Dropout off, batch norm with running statistics); the model's
  mode is restored afterwards.

The engine is exact and fast. The outputs ``t`` of the lowest ablated layer ``b`` are computed once
per chunk of test samples; ablating neuron ``j`` of that layer changes the (batch-normalised)
pre-activation of layer ``b+1`` by a rank-one term,

    u += (v_j - t_j) (outer) W_{b+1}[j, :],

so walking along the ordering costs one update per step plus the layers above ``b`` (nothing but
the logits when ``b`` is the last hidden layer). ``u`` is kept in float64: it equals the from-scratch
value to ~1e-15 relative, far below float32 rounding, so the predictions match those of the
mask-and-forward reference :func:`naive_ablation_curve` (ties between float32 logits aside).
Whole-network orderings use the same update for layer-0 neurons and masks for neurons of higher
layers, whose outputs are recomputed at every ``k``.
"""
from __future__ import annotations

import operator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from .ensemble import BN_EPS, EnsembleMLP, activation_fn

ABLATION_VALUES = ("zero", "mean")
_WORK_ELEMENTS = 2 ** 21  # float64 elements of the per-chunk pre-activation (~16 MB, cache-sized)

Values = str | Tensor | Sequence[Tensor]


# ------------------------------------------------------------------------------ orderings
def order_by(values: Tensor, descending: bool = False) -> Tensor:
    """Ordering ``(M, n)`` that ablates neurons with the smallest (or largest) ``values`` first.

    Ties are broken deterministically by neuron index, ascending, in both directions (a stable
    sort), so equal values are ablated in index order.
    """
    values = torch.as_tensor(values)
    if values.ndim != 2:
        raise ValueError(f"values must have shape (M, n), got {tuple(values.shape)}")
    if values.is_floating_point() and torch.isnan(values).any():
        raise ValueError("values contains NaN; cannot rank neurons")
    return torch.sort(values, dim=-1, descending=descending, stable=True).indices


def random_orders(n_members: int, n: int, draws: int, seed: int) -> Tensor:
    """``draws`` random orderings per member, ``(M, draws, n)``, reproducible from ``seed``."""
    for name, value in (("n_members", n_members), ("n", n), ("draws", draws)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name}={value!r} must be a positive integer")
    gen = torch.Generator().manual_seed(seed)
    keys = torch.rand(n_members, draws, n, generator=gen, dtype=torch.float64)
    return torch.argsort(keys, dim=-1, stable=True)


# ------------------------------------------------------------------ whole-network indexing
def flat_index(hidden_widths: Sequence[int], layer: int | Tensor, neuron: int | Tensor):
    """Index of neuron ``neuron`` of hidden layer ``layer`` among all hidden neurons."""
    offsets = torch.tensor([0, *hidden_widths]).cumsum(0)
    return offsets[torch.as_tensor(layer)] + torch.as_tensor(neuron)


def unflatten(hidden_widths: Sequence[int], flat: int | Tensor) -> tuple[Tensor, Tensor]:
    """Inverse of :func:`flat_index`: ``(layer, neuron)`` of each flat index."""
    flat = torch.as_tensor(flat)
    ends = torch.tensor(hidden_widths).cumsum(0)
    layer = torch.bucketize(flat, ends, right=True)
    starts = torch.cat([ends.new_zeros(1), ends])
    return layer, flat - starts[layer]


def source_layers(hidden_widths: Sequence[int], order: Tensor) -> Tensor:
    """Hidden layer ``(M, T)`` of the k-th ablated neuron of a whole-network ordering."""
    return unflatten(hidden_widths, order)[0]


def layer_counts(hidden_widths: Sequence[int], order: Tensor) -> Tensor:
    """``(M, T + 1, H)``: how many neurons of each hidden layer the first k ablations remove."""
    onehot = torch.nn.functional.one_hot(source_layers(hidden_widths, order), len(hidden_widths))
    counts = onehot.cumsum(dim=1)
    return torch.cat([counts.new_zeros(counts.shape[0], 1, counts.shape[2]), counts], dim=1)


# -------------------------------------------------------------------------- ablation values
@torch.no_grad()
def mean_outputs(model: EnsembleMLP, x_train: Tensor, chunk: int = 4096) -> list[Tensor]:
    """Mean eval-mode output ``(M, n_l)`` of every hidden neuron on the training inputs (S6)."""
    x_train = _check_x(model, x_train, "x_train")
    sums = [torch.zeros(model.n_members, n, dtype=torch.float64, device=x_train.device)
            for n in model.hidden_widths]
    with _eval_mode(model):
        for start in range(0, x_train.shape[0], chunk):
            h = x_train[start:start + chunk]
            for l in range(model.n_hidden):
                h = model.hidden_output(model.affine(h, l), l)
                sums[l] += h.sum(dim=1, dtype=torch.float64)
    dtype = model.weights[0].dtype
    return [(s / x_train.shape[0]).to(dtype) for s in sums]


# --------------------------------------------------------------------------- public curves
def ablation_curve(model: EnsembleMLP, x_test: Tensor, y_test: Tensor, layer: int,
                   order: Tensor, values: Values = "zero", ks: Sequence[int] | None = None,
                   per_class: bool = False, *, x_train: Tensor | None = None,
                   chunk: int | None = None) -> Tensor | tuple[Tensor, Tensor]:
    """Test accuracy ``(M, len(ks))`` after ablating the first ``k`` neurons of ``order`` in
    hidden layer ``layer`` (0-based), for each ``k`` in ``ks`` (default: 0 .. width).

    ``values``: ``"zero"``, ``"mean"`` (needs ``x_train``), a tensor ``(M, n)`` or the list
    returned by :func:`mean_outputs`. With ``per_class=True`` also returns the accuracy on each
    class, ``(M, len(ks), C)`` (NaN for a class absent from ``y_test``).
    """
    plan = _layer_plan(model, layer, order, values, x_train)
    return _curve(model, x_test, y_test, plan, ks, per_class, chunk, naive=False)


def whole_network_curve(model: EnsembleMLP, x_test: Tensor, y_test: Tensor, order: Tensor,
                        values: Values = "zero", ks: Sequence[int] | None = None,
                        per_class: bool = False, *, x_train: Tensor | None = None,
                        chunk: int | None = None) -> Tensor | tuple[Tensor, Tensor]:
    """Like :func:`ablation_curve` for an ordering ``(M, T)`` of all ``T`` hidden neurons
    (flat indices, :func:`flat_index`), as in Sec. V-B; ``values`` may also be ``(M, T)``."""
    plan = _network_plan(model, order, values, x_train)
    return _curve(model, x_test, y_test, plan, ks, per_class, chunk, naive=False)


def naive_ablation_curve(model: EnsembleMLP, x_test: Tensor, y_test: Tensor, layer: int | None,
                         order: Tensor, values: Values = "zero", ks: Sequence[int] | None = None,
                         per_class: bool = False, *, x_train: Tensor | None = None,
                         chunk: int | None = None) -> Tensor | tuple[Tensor, Tensor]:
    """Reference for both curves (``layer=None``: whole network): for each ``k``, mask the
    ablated outputs and run the whole network (batched over members)."""
    plan = (_network_plan(model, order, values, x_train) if layer is None
            else _layer_plan(model, layer, order, values, x_train))
    return _curve(model, x_test, y_test, plan, ks, per_class, chunk, naive=True)


@torch.no_grad()
def ablation_predictions(model: EnsembleMLP, x_test: Tensor, layer: int | None, order: Tensor,
                         values: Values = "zero", ks: Sequence[int] | None = None, *,
                         x_train: Tensor | None = None, chunk: int | None = None,
                         naive: bool = False) -> Tensor:
    """Predicted classes ``(M, len(ks), N)`` under ablation (``layer=None``: whole network)."""
    plan = (_network_plan(model, order, values, x_train) if layer is None
            else _layer_plan(model, layer, order, values, x_train))
    x_test = _check_x(model, x_test, "x_test")
    grid, where = _check_ks(ks, plan)
    out = torch.empty(model.n_members, len(grid), x_test.shape[0], dtype=torch.long,
                      device=x_test.device)
    for rows, pred in _sweep(model, x_test, plan, grid, chunk, naive):
        out[:, :, rows] = pred
    return out[:, where]


# ---------------------------------------------------------------------------------- plans
@dataclass
class _Plan:
    """What to ablate: the k-th step ablates neuron ``index[:, k]`` of hidden layer
    ``layer[:, k]`` (per member); ``rank[l]`` ``(M, n_l)`` is each neuron's step (``T`` if never);
    ``values[l]`` ``(M, n_l)``; ``base`` is the lowest layer with ablations."""

    base: int
    layer: Tensor
    index: Tensor
    rank: list[Tensor]
    values: list[Tensor]
    what: str  # for error messages

    @property
    def steps(self) -> int:
        return self.layer.shape[1]


def _layer_plan(model: EnsembleMLP, layer: int, order: Tensor, values: Values,
                x_train: Tensor | None) -> _Plan:
    H = model.n_hidden
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < H:
        raise ValueError(f"layer={layer!r} is out of range: allowed 0..{H - 1} (0-based hidden "
                         f"layer index; layer=0 is the paper's layer 1)")
    n = model.hidden_widths[layer]
    order = _check_order(model, order, n, f"hidden layer {layer} has {n} neurons")
    vals = _check_values(model, values, x_train)
    value = vals if isinstance(vals, Tensor) else vals[layer]
    _check_value_shape(model, value, n, f"layer {layer}")
    full = [value if l == layer else torch.zeros(model.n_members, w, dtype=value.dtype,
                                                  device=value.device)
            for l, w in enumerate(model.hidden_widths)]
    rank = [torch.full((model.n_members, w), n, dtype=torch.long, device=order.device)
            for w in model.hidden_widths]
    rank[layer] = torch.argsort(order, dim=1)
    return _Plan(layer, torch.full_like(order, layer), order, rank, full, f"layer {layer}")


def _network_plan(model: EnsembleMLP, order: Tensor, values: Values,
                  x_train: Tensor | None) -> _Plan:
    widths = model.hidden_widths
    T = sum(widths)
    order = _check_order(model, order, T, f"the network has {T} hidden neurons {widths}")
    vals = _check_values(model, values, x_train)
    if isinstance(vals, Tensor):
        _check_value_shape(model, vals, T, "the whole network")
        vals = list(vals.split(list(widths), dim=1))
    for l, v in enumerate(vals):
        _check_value_shape(model, v, widths[l], f"layer {l}")
    layer, index = unflatten(widths, order)
    rank_flat = torch.argsort(order, dim=1)
    return _Plan(0, layer, index, list(rank_flat.split(list(widths), dim=1)), list(vals),
                 "the whole network")


# -------------------------------------------------------------------------------- checks
def _dtype(model: EnsembleMLP) -> torch.dtype:
    return model.weights[0].dtype


def _check_x(model: EnsembleMLP, x: Tensor, name: str) -> Tensor:
    if not isinstance(x, Tensor) or x.ndim != 2 or x.shape[1] != model.widths[0]:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{name} must be a tensor of shape (N, {model.widths[0]}), got {shape}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a float tensor, got dtype {x.dtype}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or Inf")
    return x.to(_dtype(model))


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


def _check_order(model: EnsembleMLP, order: Tensor, n: int, context: str) -> Tensor:
    M = model.n_members
    if not isinstance(order, Tensor) or order.shape != (M, n):
        shape = tuple(order.shape) if isinstance(order, Tensor) else type(order).__name__
        raise ValueError(f"order must have shape (M, n) = ({M}, {n}) ({context}), got {shape}")
    if order.is_floating_point() or order.is_complex() or order.dtype == torch.bool:
        raise ValueError(f"order must be an integer tensor, got dtype {order.dtype}")
    arange = torch.arange(n, device=order.device)
    if not (order.sort(dim=1).values == arange).all():
        raise ValueError(f"order: every row must be a permutation of 0..{n - 1} ({context})")
    return order.long()


def _check_values(model: EnsembleMLP, values: Values,
                  x_train: Tensor | None) -> Tensor | list[Tensor | None]:
    """Resolve ``values`` to one tensor or a per-layer list (checked for NaN/Inf)."""
    if isinstance(values, str):
        if values == "zero":
            return [torch.zeros(model.n_members, n, dtype=_dtype(model),
                                device=model.weights[0].device) for n in model.hidden_widths]
        if values == "mean":
            if x_train is None:
                raise ValueError('values="mean" needs x_train (the training inputs), or pass '
                                 "mean_outputs(model, x_train) as values")
            return mean_outputs(model, x_train)
    elif isinstance(values, Tensor):
        if not values.is_floating_point() or not torch.isfinite(values).all():
            raise ValueError("values must be a finite float tensor (no NaN or Inf)")
        return values.to(_dtype(model))
    elif isinstance(values, (list, tuple)) and len(values) == model.n_hidden \
            and all(isinstance(v, Tensor) for v in values):
        if not all(v.is_floating_point() and torch.isfinite(v).all() for v in values):
            raise ValueError("values must be finite float tensors (no NaN or Inf)")
        return [v.to(_dtype(model)) for v in values]
    raise ValueError(f"values={values!r} is not allowed: choose 'zero', 'mean', a tensor of "
                     f"shape (M, n) or one (M, n_l) tensor per hidden layer")


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
class _eval_mode:
    """Context manager: eval mode inside, the previous mode restored afterwards."""

    def __init__(self, model: EnsembleMLP):
        self.model, self.was_training = model, model.training

    def __enter__(self):
        self.model.eval()

    def __exit__(self, *exc):
        self.model.train(self.was_training)


@torch.no_grad()
def _curve(model: EnsembleMLP, x: Tensor, y: Tensor, plan: _Plan, ks: Sequence[int] | None,
           per_class: bool, chunk: int | None, naive: bool) -> Tensor | tuple[Tensor, Tensor]:
    x = _check_x(model, x, "x_test")
    y = _check_y(model, y, x.shape[0]).to(x.device)
    grid, where = _check_ks(ks, plan)
    M, C = model.n_members, model.widths[-1]
    onehot = torch.nn.functional.one_hot(y, C).to(torch.float64)          # (N, C)
    correct = torch.zeros(M, len(grid), C, dtype=torch.float64, device=x.device)
    for rows, pred in _sweep(model, x, plan, grid, chunk, naive):
        correct += (pred == y[rows]).to(torch.float64) @ onehot[rows]     # per-class counts
    correct = correct[:, where]
    accuracy = correct.sum(-1) / x.shape[0]
    if not per_class:
        return accuracy
    return accuracy, correct / onehot.sum(0)               # 0/0 = NaN for an absent class


def _sweep(model: EnsembleMLP, x: Tensor, plan: _Plan, grid: list[int], chunk: int | None,
           naive: bool) -> Iterator[tuple[slice, Tensor]]:
    """Yield ``(sample slice, predictions (M, len(grid), rows))`` chunk by chunk."""
    if chunk is None:
        width = max(model.widths[1:])
        chunk = max(64, _WORK_ELEMENTS // (model.n_members * max(width, plan.steps)))
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk <= 0:
        raise ValueError(f"chunk={chunk!r} must be a positive integer")
    run = _naive_chunk if naive else _incremental_chunk
    with _eval_mode(model):
        for start in range(0, x.shape[0], chunk):
            rows = slice(start, min(start + chunk, x.shape[0]))
            yield rows, run(model, x[rows], plan, grid)


def _naive_chunk(model: EnsembleMLP, x: Tensor, plan: _Plan, grid: list[int]) -> Tensor:
    """Mask-and-forward: for each k, run the whole network with the ablated outputs replaced."""
    ablated = [bool((r < plan.steps).any()) for r in plan.rank]
    pred = torch.empty(model.n_members, len(grid), x.shape[0], dtype=torch.long, device=x.device)
    for i, k in enumerate(grid):
        h = x
        for l in range(model.n_hidden):
            h = model.hidden_output(model.affine(h, l), l)
            if ablated[l]:
                h = torch.where((plan.rank[l] < k)[:, None, :], plan.values[l][:, None, :], h)
        pred[:, i] = model.affine(h, model.n_hidden).argmax(-1)
    return pred


def _folded_affine(model: EnsembleMLP, l: int) -> tuple[Tensor, Tensor]:
    """Float64 ``W^T (M, n_l, n_{l-1})``, ``b^T (M, n_l, 1)`` of ``t -> BN(t W_l + b_l)``, batch
    norm in eval mode folded in (the plain affine map for the logits or without batch norm)."""
    W, b = model.weights[l].double(), model.biases[l].double()
    if model.batch_norm and l < model.n_hidden:
        scale = model.bn_weight[l].double() * torch.rsqrt(model.running_var(l).double() + BN_EPS)
        W = W * scale
        b = (b - model.running_mean(l).double()) * scale + model.bn_bias[l].double()
    return W.transpose(1, 2), b.transpose(1, 2)


def _first_argmax(logits: Tensor) -> Tensor:
    """``logits.argmax(1)`` (first maximum on ties) for ``(M, C, rows)``; faster on the CPU."""
    C = logits.shape[1]
    is_max = logits == logits.amax(dim=1, keepdim=True)
    weight = torch.arange(C, 0, -1, device=logits.device, dtype=torch.uint8)[:, None]
    return C - (is_max * weight).amax(dim=1).long()


def _incremental_chunk(model: EnsembleMLP, x: Tensor, plan: _Plan, grid: list[int]) -> Tensor:
    """Exact incremental sweep of one chunk of samples (see the module docstring).

    Tensors are kept transposed, samples last: ``u`` is ``(M, n_{b+1}, rows)``, which makes the
    narrow products (e.g. into C = 10 logits) and the reductions over classes fast on the CPU.
    """
    b, rows = plan.base, x.shape[0]
    h = x
    for l in range(b + 1):                                   # outputs of the base layer, once
        h = model.hidden_output(model.affine(h, l), l)
    t = h.transpose(1, 2).double()                           # (M, n_b, rows)
    W, bias = _folded_affine(model, b + 1)
    u = torch.baddbmm(bias, W, t)                            # k = 0, from scratch
    # Step j of the ordering adds  steps[:, j] (outer) cols[:, j]  to u (zero for other layers).
    in_base = (plan.layer == b).double()[..., None]          # (M, T, 1)
    index = torch.where(plan.layer == b, plan.index, 0)[..., None]
    steps = (plan.values[b][..., None] - t).gather(1, index.expand(-1, -1, rows)) * in_base
    cols = W.gather(2, index.transpose(1, 2).expand(-1, W.shape[1], -1)) * in_base.transpose(1, 2)
    head = _Head(model, plan, b + 1)
    pred = torch.empty(model.n_members, len(grid), rows, dtype=torch.long, device=x.device)
    done = 0
    for i, k in enumerate(grid):
        if k == done + 1:                                    # one rank-one update
            u.addcmul_(cols[:, :, done:k], steps[:, done:k])
        elif k > done:                                       # several at once
            u.baddbmm_(cols[:, :, done:k], steps[:, done:k])
        done = k
        pred[:, i] = _first_argmax(head(u, k))
    return pred


class _Head:
    """Logits ``(M, C, rows)`` from the pre-activation ``u`` of layer ``first``: the layers above
    the base layer, with the outputs of the neurons ablated there replaced by their values."""

    def __init__(self, model: EnsembleMLP, plan: _Plan, first: int):
        self.plan, self.first, self.H = plan, first, model.n_hidden
        activation_fn(model.activation)                      # validates the name
        self.sigma_ = getattr(torch, f"{model.activation}_")  # in place: relu_ or sigmoid_
        self.dtype = _dtype(model)
        self.masked = [bool((r < plan.steps).any()) for r in plan.rank]
        self.values = [v.to(self.dtype)[..., None] for v in plan.values]            # (M, n, 1)
        self.affine = {}                                     # l -> (b^T, W^T) in model dtype
        for l in range(first + 1, self.H + 1):
            W, b = _folded_affine(model, l)
            self.affine[l] = (b.to(self.dtype), W.to(self.dtype).contiguous())

    def __call__(self, u: Tensor, k: int) -> Tensor:
        if self.first == self.H:                             # u are the logits
            return u
        h = u.to(self.dtype)
        for l in range(self.first, self.H):
            if l > self.first:
                h = torch.baddbmm(*self.affine[l], h)
            h = self.sigma_(h)
            if self.masked[l]:
                h = torch.where((self.plan.rank[l] < k)[..., None], self.values[l], h)
        return torch.baddbmm(*self.affine[self.H], h)
