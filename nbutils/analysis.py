"""What the chapters compute from a trained ensemble, memoized in the results cache.

- :func:`activity`: which hidden neurons are dead or always on (on the training data and on D);
- :func:`measures`: the information measures of every hidden neuron on the validation set D
  (Eqs. 2-5);
- :func:`layer_curves`: layer-wise cumulative ablation (Sec. V-C), on every k or on a grid
  (:func:`layer_grid`, for layers of more than 100 neurons);
- :func:`whole_network_curves`: whole-network cumulative ablation (Sec. V-B);
- :func:`dead_matched_curves`: the dead-matched random baseline (dead neurons first, then
  random; beyond the paper's protocol);
- :func:`quantizer_curves`: layer-wise ablation ordered by the measures of a finer quantizer
  (claim S5);
- :func:`member_model`: one member of the ensemble (its weights are a small result, so a chapter
  that inspects one network runs without the ensemble's weights);
- :func:`scores` and :func:`score_curves`: the neuron-importance scores of
  :mod:`nbutils.importance` and layer-wise ablation ordered by each (chapter 10);
- :func:`pruning_curves` and the other pruning results (chapter 9, :mod:`nbutils.prune`).

Each result is computed by one function decorated with :func:`result`, which stores it under a
key of that function's own arguments (the ensemble's key, the parameters) and of the registry it
reads (the set of measures and orderings, :mod:`nbutils.orderings`), so a chapter whose results
were computed elsewhere (say on a GPU machine, the results folder copied back) runs without the
weights, and a changed set of measures is recomputed instead of read half. The weights (and the
training data, for ablation to the mean) are only touched when a result is missing. Every result
is memoized through :meth:`~nbutils.experiment.TrainedEnsemble.memoize`: it records the training
it was computed from and is used only with results of that same training (never, say, measures
of one training ordering the neurons of another).
"""
from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import torch

from . import ablation, checks, importance, prune, shards
from . import activity as nbutils_activity
from .ensemble import EnsembleMLP
from .experiment import TrainedEnsemble
from .measures import MEASURES, neuron_measures, one_bit
from .orderings import (
    ORDERINGS,
    RANDOM,
    SCORE,
    dead_first,
    dead_last,
    measure_orders,
    order_by,
    ordering_names,
    random_orders,
    split_ordering,
)
from .train import derive_seed

MeasuresPerLayer = list[dict[str, np.ndarray]]
Arrays = dict[str, np.ndarray]

# kind of result -> whether its arrays all have the member first (nbutils.merge joins them)
RESULT_KINDS: dict[str, bool] = {}


def result(kind: str, *, per_member: bool = True, **extra) -> Callable:
    """Memoize ``compute(ens, ...) -> (arrays, meta)`` as a result of kind ``kind``.

    The decorated function returns the arrays. They are stored under
    ``ens.result_path(kind, **key)``, the key holding every argument of ``compute`` but ``ens``
    (by name; an argument that is ``None`` is left out, so a new optional argument keeps the old
    keys) and ``extra``: name -> a value, or a function of no arguments called at each call (the
    registry's orderings, which then enter the key). The arguments must be what determines the
    result, already checked and normalized by the caller (a list of ``k`` sorted, ``"zero"``
    lower-cased). ``decorated.path(ens, ...)`` gives the path without computing anything.

    Args:
        kind: the file name's prefix (``"layer"``, ``"measures"``, ...).
        per_member: every array has the member first (:mod:`nbutils.merge` then joins the
            shards' arrays along it); ``False`` for a result with a merge rule of its own.
        extra: key entries beyond the arguments.

    Returns:
        The decorator.
    """
    def decorate(compute: Callable[..., tuple[Arrays, dict]]) -> Callable[..., Arrays]:
        signature = inspect.signature(compute)
        clash = sorted(set(extra) & set(signature.parameters))
        if clash:
            raise TypeError(f"result({kind!r}): {clash} are both arguments and extra key entries")

        def bind(ens, *args, **kwargs):
            bound = signature.bind(ens, *args, **kwargs)
            bound.apply_defaults()
            key = {name: value for name, value in list(bound.arguments.items())[1:]
                   if value is not None}
            key.update({name: value() if callable(value) else value
                        for name, value in extra.items()})
            return bound, ens.result_path(kind, **key)

        @functools.wraps(compute)
        def memoized(ens: TrainedEnsemble, *args, **kwargs) -> Arrays:
            bound, path = bind(ens, *args, **kwargs)
            arrays, _ = ens.memoize(path, lambda: compute(*bound.args, **bound.kwargs))
            return arrays

        def path(ens: TrainedEnsemble, *args, **kwargs) -> Path:
            return bind(ens, *args, **kwargs)[1]

        memoized.kind, memoized.path = kind, path
        RESULT_KINDS[kind] = per_member
        return memoized
    return decorate


# ---------------------------------------------------------------- measures and activity
@result("measures", measures=lambda: list(MEASURES))
def _measures(ens: TrainedEnsemble, scheme: str, n_bins: int):
    d = ens.data
    arrays = {}
    for l, acts in enumerate(ens.model.hidden_activations(d.x_val)):
        m = neuron_measures(acts.cpu(), d.y_val.cpu(), ens.config.activation, scheme=scheme,
                            n_bins=n_bins, n_classes=d.n_classes)
        for name in (*MEASURES, "spectrum"):
            arrays[f"{name}_{l}"] = m[name].numpy()
    return arrays, {"scheme": scheme, "n_bins": n_bins}


def measures(ens: TrainedEnsemble, scheme: str = "one_bit", n_bins: int = 2) -> MeasuresPerLayer:
    """Per hidden layer: every registered measure ``(M, n)`` and ``spectrum`` ``(M, n, C)``,
    computed on the validation set D (Eqs. 2-5)."""
    arrays = _measures(ens, scheme, n_bins)
    return [{name: arrays[f"{name}_{l}"] for name in (*MEASURES, "spectrum")}
            for l in range(len(ens.config.architecture.hidden))]


ACTIVITY = ("dead", "always_on", "dead_d", "always_on_d")


@result("activity")
def _activity(ens: TrainedEnsemble):
    d = ens.data
    arrays = {}
    for part, x in (("", d.x_train), ("_d", d.x_val)):
        for l, (dead, on) in enumerate(nbutils_activity.layer_activity(ens.model, x)):
            arrays[f"dead{part}_{l}"], arrays[f"always_on{part}_{l}"] = dead, on
    return arrays, {"inputs": "training data (dead, always_on), D (*_d)"}


def activity(ens: TrainedEnsemble) -> list[dict[str, np.ndarray]]:
    """Per hidden layer, bool arrays ``(M, n)``: ``dead`` and ``always_on`` over the training
    data, ``dead_d`` and ``always_on_d`` over the validation set D
    (:mod:`nbutils.activity`)."""
    arrays = _activity(ens)
    return [{name: arrays[f"{name}_{l}"].astype(bool) for name in ACTIVITY}
            for l in range(len(ens.config.architecture.hidden))]


# ---------------------------------------------------------------------------- ablation
def check_ablation_value(value: str) -> str:
    """``"zero"`` or ``"mean"`` (claim S6), checked without touching weights or data."""
    return checks.choice(value, ablation.ABLATION_VALUES, "ablation value")


def ablation_values(ens: TrainedEnsemble, value: str, layer: int | None = None):
    """What ablated neurons are set to: ``"zero"``, or for ``"mean"`` their mean output on the
    training set (per hidden layer, or the one of ``layer``). Loads the model for ``"mean"``."""
    if check_ablation_value(value) == "zero":
        return "zero"
    means = ablation.mean_outputs(ens.model, ens.data.x_train)
    return means if layer is None else means[layer]


def _orders(ens: TrainedEnsemble, values: dict[str, np.ndarray], n: int,
            stream: str) -> dict[str, torch.Tensor]:
    """Every ordering of :func:`nbutils.orderings.ordering_names`; ``random`` holds
    ``profile.random_draws`` draws per member ``(M, draws, n)`` from a seed of the ensemble's
    key and ``stream``, or for a shard (:mod:`nbutils.shards`) each member's from a stream of
    its own seed, so that merged shards mean what one run does (a merged ensemble never
    computes: it has no weights)."""
    orders = measure_orders(values)
    orders[RANDOM] = _random_orders(ens, n, stream)
    return orders


def _random_orders(ens: TrainedEnsemble, n: int, stream: str) -> torch.Tensor:
    """``profile.random_draws`` random orderings of ``n`` neurons per member, ``(M, draws, n)``,
    from ``stream`` (see :func:`_orders`)."""
    if ens.shard is not None:
        return shards.member_random_orders(ens, n, stream)
    seed = derive_seed(int(ens.key[:12], 16), stream) % (2**62)
    return random_orders(len(ens.seeds), n, ens.profile.random_draws, seed)


DRAWS = "random_draws"  # the random baseline's single draws, (M, draws, K+1)
SECONDS = "compute_seconds"  # wall time of the computation, stored with the curves


def _check_layer(ens: TrainedEnsemble, layer: int) -> None:
    checks.index(layer, len(ens.config.architecture.hidden), "layer",
                 "0 = the paper's first hidden layer")


def layer_grid(ens: TrainedEnsemble, layer: int, dense: int | None = None,
               step: int | None = None, extra: Iterable[int] = ()) -> list[int]:
    """The numbers of ablated neurons at which a chapter reads hidden ``layer``'s curves:
    :func:`nbutils.ablation.k_grid` plus the points where the chapter reads gaps.

    Args:
        ens: the trained ensemble (its profile gives the default grid, ``ablation_grid``).
        layer: the hidden layer, 0-based.
        dense: every ``k`` in the first and last ``dense`` neurons (every k for a layer of at
            most ``2 * dense``); ``None``: the profile's.
        step: every ``step``-th ``k`` in between; ``None``: the profile's.
        extra: points to add (non-negative; those beyond the layer's width are left out).

    Returns:
        The grid, sorted, from 0 to the layer's width.

    Raises:
        ValueError: ``layer`` out of range, ``dense``/``step`` not positive, ``extra`` negative.
    """
    hidden = ens.config.architecture.hidden
    _check_layer(ens, layer)
    default_dense, default_step = ens.profile.ablation_grid
    grid = ablation.k_grid(hidden[layer], default_dense if dense is None else dense,
                           default_step if step is None else step)
    extra = [checks.non_negative_int(k, "extra") for k in extra]
    return sorted({*grid, *(k for k in extra if k <= hidden[layer])})


def layer_curves(ens: TrainedEnsemble, layer: int, value: str = "zero",
                 ks: list[int] | None = None) -> dict[str, np.ndarray]:
    """Layer-wise cumulative ablation (Sec. V-C): test accuracy ``(M, len(ks))`` after ablating
    the first k neurons of hidden ``layer`` (0-based) for each ordering and each ``k`` in ``ks``
    (default ``None``: every k = 0..n); ``random`` is the mean over the profile's random draws
    (:func:`layer_random_draws` gives the single draws)."""
    arrays = _layer_arrays(ens, layer, value, ks)
    return {name: arrays[name] for name in ordering_names()}


def layer_random_draws(ens: TrainedEnsemble, layer: int, value: str = "zero",
                       ks: list[int] | None = None) -> np.ndarray:
    """The single random orderings behind the ``random`` curve of :func:`layer_curves`,
    ``(M, draws, len(ks))`` (the paper ablates one random ordering per network; we average
    ``profile.random_draws`` of them)."""
    return _layer_arrays(ens, layer, value, ks)[DRAWS]


def layer_seconds(ens: TrainedEnsemble, layer: int, value: str = "zero",
                  ks: list[int] | None = None) -> float:
    """How long the curves of :func:`layer_curves` took to compute where they were computed
    (stored with them in the cache; NaN for results cached before the time was recorded)."""
    return float(_layer_arrays(ens, layer, value, ks).get(SECONDS, np.nan))


def _layer_arrays(ens: TrainedEnsemble, layer: int, value: str,
                  ks: list[int] | None = None) -> Arrays:
    _check_layer(ens, layer)
    value = check_ablation_value(value)
    width = ens.config.architecture.hidden[layer]
    if ks is not None:
        ks = ablation.check_k_grid(ks, width)
        if ks == list(range(width + 1)):
            ks = None   # the full range: the same result (and cache entry) as no grid
    return _layer(ens, layer, value, ks)


@result("layer", orderings=ordering_names, draws_kept=True)
def _layer(ens: TrainedEnsemble, layer: int, value: str, ks: list[int] | None = None):
    start = time.perf_counter()
    meas = measures(ens)[layer]
    orders = _orders(ens, meas, meas["spectrum"].shape[1], f"layer{layer}")
    d, vals = ens.data, ablation_values(ens, value, layer)
    curves = {}
    for name, order in orders.items():
        # random: (M, draws, n) orderings in one batched call, averaged over the draws
        acc = ablation.ablation_curve(ens.model, d.x_test, d.y_test, layer,
                                      order.to(ens.device), vals, ks=ks)
        if order.ndim == 3:
            curves[DRAWS] = acc.cpu().numpy().astype(np.float64)
            acc = acc.mean(dim=1)
        curves[name] = acc.cpu().numpy().astype(np.float64)
    curves[SECONDS] = np.float64(time.perf_counter() - start)
    return curves, {"layer": layer, "value": value}


def whole_network_curves(ens: TrainedEnsemble, value: str = "zero"
                         ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Whole-network cumulative ablation (Sec. V-B): all hidden neurons ranked together.

    Returns the curves ``(M, total+1)`` per ordering and, per ordering, the hidden layer
    (0-based) of the k-th ablated neuron ``(M, total)`` (for ``random``: of the first draw).
    """
    arrays = _whole(ens, check_ablation_value(value))
    names = ordering_names()
    return ({n: arrays[n] for n in names}, {n: arrays[f"layer_of_{n}"] for n in names})


@result("whole", orderings=ordering_names)
def _whole(ens: TrainedEnsemble, value: str):
    per_layer = measures(ens)
    values = {m: np.concatenate([layer[m] for layer in per_layer], axis=1) for m in MEASURES}
    orders = _orders(ens, values, sum(ens.config.architecture.hidden), "whole")
    d, vals = ens.data, ablation_values(ens, value)
    hidden = ens.config.architecture.hidden
    arrays = {}
    for name, order in orders.items():
        acc = ablation.whole_network_curve(ens.model, d.x_test, d.y_test,
                                           order.to(ens.device), vals)
        if order.ndim == 3:   # random: average the draws; show the first draw's layers
            acc, order = acc.mean(dim=1), order[:, 0]
        arrays[name] = acc.cpu().numpy().astype(np.float64)
        arrays[f"layer_of_{name}"] = ablation.source_layers(hidden, order.cpu()).numpy()
    return arrays, {"value": value}


def dead_matched_curves(ens: TrainedEnsemble, layer: int | None = None, dead: str = "first"
                        ) -> dict[str, np.ndarray]:
    """The dead-matched random baseline (issue #24, beyond the paper's protocol): cumulative
    ablation, to zero, in random orderings that take each network's dead neurons (never active
    on the training data, :func:`activity`) first, as a low-first ordering by a measure does
    (a dead neuron's measures are zero), and the other neurons after them in random order
    (:func:`nbutils.orderings.dead_first`); with ``dead="last"`` the baseline of a high-first
    ordering, which takes them last (:func:`nbutils.orderings.dead_last`).

    Args:
        ens: the trained ensemble.
        layer: a hidden layer (0-based): layer-wise ablation, every ``k``; ``None``: the whole
            network, all hidden neurons (as :func:`whole_network_curves`).
        dead: ``"first"`` (result kind ``dead_matched``) or ``"last"`` (kind ``dead_last``).

    Returns:
        ``"dead_matched"``: test accuracy ``(M, n + 1)``, the mean over the profile's random
        draws; ``"dead"``: the number of dead neurons of each member ``(M,)`` in the ablated
        layer(s).

    Raises:
        ValueError: ``dead`` is neither ``"first"`` nor ``"last"``, or ``layer`` is not a
            hidden layer of the ensemble.
    """
    if dead not in DEAD_POSITIONS:
        raise ValueError(f"dead must be one of {DEAD_POSITIONS}, got {dead!r}")
    if layer is not None:
        _check_layer(ens, layer)
    return (_dead_matched if dead == "first" else _dead_last)(ens, layer)


# Where the dead-matched baseline puts each network's dead neurons (dead_matched_curves)
DEAD_POSITIONS: tuple[str, ...] = ("first", "last")


def _dead_baseline(ens: TrainedEnsemble, layer: int | None, dead_last_: bool):
    """The arrays and meta of :func:`dead_matched_curves` (its two result kinds)."""
    flags = [a["dead"] for a in activity(ens)]
    dead = torch.as_tensor(np.concatenate(flags, axis=1) if layer is None else flags[layer])
    where = "whole" if layer is None else f"layer{layer}"
    stream = f"dead-last-{where}" if dead_last_ else f"dead-matched-{where}"
    arrange = dead_last if dead_last_ else dead_first
    orders = arrange(_random_orders(ens, dead.shape[1], stream), dead).to(ens.device)
    d = ens.data
    if layer is None:
        acc = ablation.whole_network_curve(ens.model, d.x_test, d.y_test, orders, "zero")
    else:
        acc = ablation.ablation_curve(ens.model, d.x_test, d.y_test, layer, orders, "zero")
    return ({"dead_matched": acc.mean(dim=1).cpu().numpy().astype(np.float64),
             "dead": dead.sum(dim=1).numpy().astype(np.int64)},
            {"layer": "whole network" if layer is None else layer, "value": "zero"})


@result("dead_matched")
def _dead_matched(ens: TrainedEnsemble, layer: int | None):
    return _dead_baseline(ens, layer, dead_last_=False)


@result("dead_last")
def _dead_last(ens: TrainedEnsemble, layer: int | None):
    return _dead_baseline(ens, layer, dead_last_=True)


def quantizer_curves(ens: TrainedEnsemble, layer: int, scheme: str, n_bins: int,
                     ks: list[int] | None = None) -> dict[str, np.ndarray]:
    """Layer-wise ablation to zero (Sec. V-C) ordered by the measures of another quantizer
    (claim S5).

    Args:
        ens: the trained ensemble.
        layer: the hidden layer, 0-based.
        scheme: the quantizer (:func:`nbutils.measures.quantize`) whose measures
            (:func:`measures`) order the neurons, e.g. ``"quantile"``.
        n_bins: its number of bins.
        ks: the numbers of ablated neurons to read (``None``: every k = 0..n).

    Returns:
        Test accuracy ``(M, len(ks))`` for every low- and high-first ordering (``"mi-low"``,
        ...); no random baseline (:func:`layer_curves` has it).
    """
    _check_layer(ens, layer)
    if ks is not None:
        ks = ablation.check_k_grid(ks, ens.config.architecture.hidden[layer])
    return dict(_quantizer(ens, layer, scheme, n_bins, ks))


@result("quantizer_layer", orderings=lambda: ordering_names(random=False))
def _quantizer(ens: TrainedEnsemble, layer: int, scheme: str, n_bins: int,
               ks: list[int] | None = None):
    orders = measure_orders({m: v for m, v in measures(ens, scheme, n_bins)[layer].items()
                             if m in MEASURES})
    d = ens.data
    return {name: ablation.ablation_curve(ens.model, d.x_test, d.y_test, layer,
                                          order.to(ens.device), "zero", ks=ks)
            .cpu().numpy().astype(np.float64) for name, order in orders.items()}, {}


def member_model(ens: TrainedEnsemble, member: int) -> EnsembleMLP:
    """Member ``member`` (0-based; seed ``ens.seeds[member]``) as a one-member
    :class:`~nbutils.ensemble.EnsembleMLP` on the ensemble's device, in eval mode. Its weights
    are memoized as a result (a few hundred kB for the MNIST networks)."""
    checks.index(member, len(ens.seeds), "member", "one per seed")
    arrays = _member(ens, member)
    c = ens.config
    model = EnsembleMLP(c.architecture.widths, c.activation, 1, dropout=c.dropout,
                        batch_norm=c.batch_norm)
    model.load_state_dict({name: torch.from_numpy(a) for name, a in arrays.items()})
    return model.to(ens.device).eval()


@result("member", per_member=False)   # merged by nbutils.merge under the member's new index
def _member(ens: TrainedEnsemble, member: int):
    return {name: t[member:member + 1].cpu().numpy()
            for name, t in ens.model.state_dict().items()}, {"seed": ens.seeds[member]}


# ------------------------------------------------------------ chapter 10: the field's scores
def scores(ens: TrainedEnsemble, layer: int) -> dict[str, np.ndarray]:
    """Every score of :data:`nbutils.importance.SCORES` for hidden ``layer`` (0-based),
    ``(M, n)``, on the validation set, in the registry's order. The paper's measures are those
    of :func:`measures` (the values the paper's chapters order by), the others are computed by
    :func:`nbutils.importance.importance_scores`."""
    _check_layer(ens, layer)
    arrays = _scores(ens, layer)
    info = measures(ens)[layer]
    return {name: np.asarray(info[name] if name in MEASURES else arrays[name], dtype=np.float64)
            for name in importance.SCORES}


def _field_scores() -> list[str]:
    """The field's scores (kind ``"score"`` of :data:`nbutils.orderings.ORDERINGS`)."""
    return list(ORDERINGS.of(SCORE))


@result("scores", scores=_field_scores)
def _scores(ens: TrainedEnsemble, layer: int):
    d = ens.data
    values = importance.importance_scores(ens.model, d.x_val, d.y_val, layer, _field_scores(),
                                          d.n_classes)
    return {name: v.cpu().numpy() for name, v in values.items()}, {"layer": layer}


PER_CLASS = "per_class"   # key prefix of the per-class curves in score_curves


def score_orderings() -> list[str]:
    """``"<score>-<low|high>"`` for every score of :data:`nbutils.importance.SCORES`."""
    return ordering_names(importance.SCORES, random=False)


def score_curves(ens: TrainedEnsemble, layer: int) -> dict[str, np.ndarray]:
    """Layer-wise cumulative ablation to zero (Sec. V-C) ordered by every score of
    :func:`scores`, low-first and high-first.

    Returns ``"<score>-<low|high>"`` -> test accuracy ``(M, n+1)`` (k = 0..n), and
    ``"per_class_<score>-<low|high>"`` -> the accuracy on each class, averaged over the members,
    ``(n+1, C)``. The random baseline is :func:`layer_curves`'s (``"random"``, to zero).
    """
    _check_layer(ens, layer)
    return {k: v for k, v in _score_curves(ens, layer).items() if k != SECONDS}


@result("score_layer", orderings=score_orderings)
def _score_curves(ens: TrainedEnsemble, layer: int):
    start = time.perf_counter()
    values = scores(ens, layer)
    d = ens.data
    arrays = {}
    for name in score_orderings():
        score, direction = split_ordering(name)
        order = order_by(torch.as_tensor(values[score]), descending=direction == "high")
        acc, per_class = ablation.ablation_curve(ens.model, d.x_test, d.y_test, layer,
                                                 order.to(ens.device), "zero", per_class=True)
        arrays[name] = acc.cpu().numpy().astype(np.float64)
        arrays[f"{PER_CLASS}_{name}"] = per_class.cpu().double().nanmean(0).numpy()
    arrays[SECONDS] = np.float64(time.perf_counter() - start)
    return arrays, {"layer": layer}


# ------------------------------------------------------------------- chapter 9: pruning
def _pruning_data(ens: TrainedEnsemble):
    """The ensemble's data for pruning on the CPU, inputs in float64 (as the members are run):
    ``x_train`` (means of bias balancing), ``x_val, y_val`` (scores), ``x_test, y_test``."""
    d = ens.data
    return (d.x_train.cpu().double(), d.x_val.cpu().double(), d.y_val.cpu(),
            d.x_test.cpu().double(), d.y_test.cpu())


def _layer_counts(ens: TrainedEnsemble, layer: int, counts: list[int]) -> list[int]:
    """``counts`` checked as numbers of neurons of hidden ``layer`` (0-based) to remove."""
    hidden = ens.config.architecture.hidden
    _check_layer(ens, layer)
    counts = [checks.non_negative_int(k, "counts") for k in counts]
    if any(k > hidden[layer] for k in counts):
        raise ValueError(f"counts must lie within 0..{hidden[layer]} (the width of layer "
                         f"{layer}), got {max(counts)}")
    return counts


def _pruning_orderings() -> list[str]:
    """The names of :data:`nbutils.prune.PRUNING_ORDERINGS` (they enter the pruning keys)."""
    return list(prune.PRUNING_ORDERINGS)


def _member_order(ens: TrainedEnsemble, m: int, x_val, y_val, layer: int, ordering: str):
    """Member ``m`` in float64 and its neurons of ``layer`` in pruning order (lowest
    ``ordering`` score first; the random ordering drawn from the member's seed)."""
    mlp = ens.model.member(m).double()
    score = prune.pruning_scores(mlp, x_val, y_val, ens.config.activation,
                                 ens.seeds[m])[layer][ordering]
    return mlp, torch.argsort(score, stable=True)


def pruning_curves(ens: TrainedEnsemble, layer: int, counts: list[int],
                   surgeries: tuple[str, ...] = ("remove", "balance")) -> dict[str, np.ndarray]:
    """Pruning of hidden ``layer`` (the technical note, claims P2-P4): test accuracy ``(M,
    len(counts))`` of the physically smaller networks after removing the ``k`` lowest-scored
    neurons, for every ordering of :data:`nbutils.prune.PRUNING_ORDERINGS` and surgery; keys
    ``"<ordering>/<surgery>"``. Scores on the validation set D, means for bias balancing on the
    training set; member ``m``'s random ordering is drawn from its seed."""
    counts = _layer_counts(ens, layer, counts)
    for s in surgeries:
        checks.choice(s, prune.SURGERIES, "surgeries")
    return _pruning(ens, layer, counts, list(surgeries))


@result("prune", orderings=_pruning_orderings)
def _pruning(ens: TrainedEnsemble, layer: int, counts: list[int], surgeries: list[str]):
    x_train, x_val, y_val, x_test, y_test = _pruning_data(ens)
    names = _pruning_orderings()
    out = {f"{o}/{s}": np.zeros((len(ens.seeds), len(counts))) for o in names for s in surgeries}
    for m, seed in enumerate(ens.seeds):
        mlp = ens.model.member(m).double()
        scores = prune.pruning_scores(mlp, x_val, y_val, ens.config.activation, seed)[layer]
        for o in names:
            for s in surgeries:
                out[f"{o}/{s}"][m] = prune.pruning_curve(mlp, layer, scores[o], counts, s,
                                                         x_train, x_test, y_test)
    return out, {"layer": layer, "counts": counts}


def _total_counts(ens: TrainedEnsemble, counts: list[int], surgery: str) -> list[int]:
    """``counts`` checked as numbers of hidden neurons of all layers to remove; ``surgery``
    checked."""
    total = sum(ens.config.architecture.hidden)
    counts = [checks.non_negative_int(k, "counts") for k in counts]
    if any(k > total for k in counts):
        raise ValueError(f"counts must lie within 0..{total} (the hidden neurons), got "
                         f"{max(counts)}")
    checks.choice(surgery, prune.SURGERIES, "surgery")
    return counts


def _multi_layer_pruning(ens: TrainedEnsemble, counts: list[int], surgery: str,
                         select: Callable) -> tuple[Arrays, dict]:
    """Pruning of several layers at once, ``select(scores per layer, k)`` choosing the neurons
    (a dict layer -> indices) for ``k`` in all."""
    x_train, x_val, y_val, x_test, y_test = _pruning_data(ens)
    names = _pruning_orderings()
    out = {o: np.zeros((len(ens.seeds), len(counts))) for o in names}
    for m, seed in enumerate(ens.seeds):
        mlp = ens.model.member(m).double()
        scores = prune.pruning_scores(mlp, x_val, y_val, ens.config.activation, seed)
        for o in names:
            for i, k in enumerate(counts):
                removed = select([s[o] for s in scores], k)
                small = prune.prune_network(mlp, removed, surgery, x_train=x_train)
                out[o][m, i] = prune.accuracy(small, x_test, y_test)
    return out, {"counts": counts, "surgery": surgery}


def network_wide_pruning_curves(ens: TrainedEnsemble, counts: list[int],
                                surgery: str = "balance") -> dict[str, np.ndarray]:
    """Network-wide pruning (what claim P2 warns against): the ``k`` lowest-scored hidden
    neurons of all layers ranked together are removed, for every ordering of
    :data:`nbutils.prune.PRUNING_ORDERINGS`; test accuracy ``(M, len(counts))``. A layer that
    loses every neuron leaves a network with a constant output."""
    return _network_wide(ens, _total_counts(ens, counts, surgery), surgery)


@result("prune-wide", orderings=_pruning_orderings)
def _network_wide(ens: TrainedEnsemble, counts: list[int], surgery: str):
    return _multi_layer_pruning(ens, counts, surgery, prune.select_network_wide)


def layer_by_layer_pruning_curves(ens: TrainedEnsemble, counts: list[int],
                                  surgery: str = "balance") -> dict[str, np.ndarray]:
    """Claim P2's alternative to :func:`network_wide_pruning_curves`: ``k`` hidden neurons in
    all, removed layer by layer, each layer losing its lowest-scored neurons in proportion to
    its width (``k * n_l / sum n``, rounded down, the remainder to the first layers); for every
    ordering of :data:`nbutils.prune.PRUNING_ORDERINGS`, test accuracy ``(M, len(counts))``."""
    return _layer_by_layer(ens, _total_counts(ens, counts, surgery), surgery)


@result("prune-layerwise", orderings=_pruning_orderings)
def _layer_by_layer(ens: TrainedEnsemble, counts: list[int], surgery: str):
    hidden = list(ens.config.architecture.hidden)
    total = sum(hidden)

    def select(scores, k: int):
        share = [k * n // total for n in hidden]
        for i in range(k - sum(share)):
            share[i] += 1
        return prune.select_per_layer(scores, share)

    return _multi_layer_pruning(ens, counts, surgery, select)


def finetuned_pruning(ens: TrainedEnsemble, layer: int, ordering: str, counts: list[int],
                      epochs: int) -> dict[str, np.ndarray]:
    """Pruning followed by fine-tuning (claim P3: the retraining bias balancing is meant to
    replace). For every member, every ``k`` of ``counts`` and both surgeries of
    :data:`nbutils.prune.SURGERIES`, the ``k`` lowest-``ordering`` neurons of hidden ``layer``
    are removed, the smaller network is fine-tuned for ``epochs`` epochs
    (:func:`nbutils.prune.finetune`, the note's optimizer, sample order from the member's seed)
    and tested.

    Args:
        ens: the trained ensemble.
        layer: the hidden layer (0-based).
        ordering: one of :data:`nbutils.prune.PRUNING_ORDERINGS` (lowest pruned first).
        counts: numbers of neurons removed, each in ``0..width``.
        epochs: epochs of fine-tuning (positive).

    Returns:
        Arrays ``(M, len(counts))``: ``"<surgery>/before"``, ``"<surgery>/after"`` (test
        accuracy, fractions) and ``"<surgery>/seconds"`` (wall time of the fine-tuning; it
        depends on the machine, the accuracies do not).
    """
    counts = _layer_counts(ens, layer, counts)
    checks.choice(ordering, prune.PRUNING_ORDERINGS, "ordering")
    checks.positive_int(epochs, "epochs")
    return _finetuned(ens, layer, ordering, counts, epochs)


@result("prune-finetune")
def _finetuned(ens: TrainedEnsemble, layer: int, ordering: str, counts: list[int], epochs: int):
    d = ens.data
    x_train, y_train = d.x_train.cpu(), d.y_train.cpu()
    x_val, y_val = d.x_val.cpu().double(), d.y_val.cpu()
    x_test, y_test = d.x_test.cpu(), d.y_test.cpu()
    shape = (len(ens.seeds), len(counts))
    out = {f"{s}/{what}": np.zeros(shape) for s in prune.SURGERIES
           for what in ("before", "after", "seconds")}
    for m, seed in enumerate(ens.seeds):
        mlp, order = _member_order(ens, m, x_val, y_val, layer, ordering)
        for s in prune.SURGERIES:
            for i, k in enumerate(counts):
                small = prune.prune_layer(mlp, layer, order[:k], s,
                                          x_train=x_train.double()).float()
                out[f"{s}/before"][m, i] = prune.accuracy(small, x_test, y_test)
                tuned, seconds = prune.finetune(
                    small, x_train, y_train, epochs,
                    derive_seed(seed, f"finetune:{layer}:{k}:{s}") or 1,
                    lr=ens.config.lr, weight_decay=ens.config.weight_decay,
                    batch_size=ens.config.batch_size)
                out[f"{s}/after"][m, i] = prune.accuracy(tuned, x_test, y_test)
                out[f"{s}/seconds"][m, i] = seconds
    return out, {"layer": layer, "ordering": ordering, "counts": counts, "epochs": epochs}


def course_mask_curves(ens: TrainedEnsemble, layer: int, ordering: str,
                       counts: list[int]) -> np.ndarray:
    """The course replication's reading of bias balancing (:func:`nbutils.prune.course_mask`:
    the ``k`` lowest-``ordering`` neurons of ``layer`` kept but scaled by their probability of
    being active on the training set, active as the one-bit quantizer
    :func:`nbutils.measures.one_bit` says): test accuracy ``(M, len(counts))``, to set beside
    the note's additive surgery (:func:`pruning_curves`, ``"<ordering>/balance"``)."""
    counts = _layer_counts(ens, layer, counts)
    checks.choice(ordering, prune.PRUNING_ORDERINGS, "ordering")
    return _course_mask(ens, layer, ordering, counts)["accuracy"]


@result("course-mask")
def _course_mask(ens: TrainedEnsemble, layer: int, ordering: str, counts: list[int]):
    x_train, x_val, y_val, x_test, y_test = _pruning_data(ens)
    out = np.zeros((len(ens.seeds), len(counts)))
    for m in range(len(ens.seeds)):
        mlp, order = _member_order(ens, m, x_val, y_val, layer, ordering)
        t = prune.layer_outputs(mlp, x_train, layer).unsqueeze(0)
        p_active = one_bit(t, ens.config.activation)[0].double().mean(0)
        for i, k in enumerate(counts):
            masked = prune.course_mask(mlp, layer, order[:k], p_active)
            out[m, i] = prune.accuracy(masked, x_test, y_test)
    return {"accuracy": out}, {"layer": layer, "ordering": ordering, "counts": counts}
