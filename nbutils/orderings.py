"""Orderings of neurons: the one registry of what ranks them, and the names and tensors built
from it.

:data:`ORDERINGS` holds every way the book ranks the neurons of a layer, each an
:class:`Ordering` with its label, short name and colour, which every table, legend and figure
reads (:mod:`nbutils.plots` among them):

- the paper's measures (kind ``"measure"``), read from :data:`nbutils.measures.MEASURES` each
  time (adding a measure there adds it here, to the ablation, the pruning and chapter 10);
- ``random`` (kind ``"random"``), the baseline;
- the field's neuron-importance scores (kind ``"score"``, chapter 10,
  :mod:`nbutils.importance`);
- He et al.'s pruning criteria (kind ``"criterion"``, chapter 9, :mod:`nbutils.prune`).

A score's ``fn`` maps a view of one hidden layer to a value per neuron, larger meaning "more
important" by that score's own logic (low values are ablated or pruned first). Measures and the
field's scores read a :class:`nbutils.importance.LayerView` (the ensemble, ``(M, n)``); measures
and He et al.'s criteria read a :class:`nbutils.prune.MemberLayer` (one pruned network,
``(n,)``). The selections :data:`SCORES` (chapter 10) and :data:`PRUNING` (chapter 9) are live
views of the registry.

An ablation ordering is named ``"<name>-<direction>"`` (``"mi-low"``: smallest mutual information
first, ``"kl-high"``: largest KL selectivity first), or ``"random"``. Experiments
(:mod:`nbutils.analysis`), the constructed examples (:mod:`nbutils.counterexamples`) and the
figures (:mod:`nbutils.plots`) all read names and tensors from here.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

import torch
from torch import Tensor

from .checks import positive_int
from .measures import MEASURES, Measure

DIRECTIONS: tuple[str, ...] = ("low", "high")
RANDOM = "random"
RANDOM_COLOR = "black"
MEASURE, SCORE, CRITERION = "measure", "score", "criterion"
KINDS: tuple[str, ...] = (MEASURE, RANDOM, SCORE, CRITERION)   # random is its own kind


@dataclass(frozen=True)
class Ordering:
    """One way to rank the neurons of a layer, and how the book shows it."""

    name: str
    kind: str       # one of KINDS
    label: str      # axis labels and table headers: "Mutual information"
    short: str      # legends: "MI, high first"
    color: str      # its colour in every figure
    source: str     # where it comes from: "the paper, Eq. (4)", "He et al. (2014)"
    fn: Callable[[object], Tensor] | None = None   # the score of a layer view (module doc)


def _information(name: str) -> Callable[[object], Tensor]:
    return lambda view: view.information(name)


def _from_measure(m: Measure) -> Ordering:
    return Ordering(m.name, MEASURE, m.label, m.short, m.color, f"the paper, {m.equation}",
                    _information(m.name))


# Everything but the measures, in the registry's order (which is the order of every selection,
# and so of the cache keys that list them: append new entries at the end of their kind).
OTHER_ORDERINGS: tuple[Ordering, ...] = (
    Ordering(RANDOM, RANDOM, "random", "random", RANDOM_COLOR, "a random permutation"),
    # the field's scores (chapter 10), of an importance.LayerView
    Ordering("selectivity", SCORE, "Class selectivity", "selectivity", "tab:purple",
             "Morcos et al. (2018)", lambda v: v.selectivity),
    Ordering("mean", SCORE, "Mean output", "mean", "tab:brown", "validation mean",
             lambda v: v.outputs.mean(1)),
    Ordering("variance", SCORE, "Output variance", "variance", "tab:pink",
             "validation variance", lambda v: v.outputs.var(1, unbiased=False)),
    Ordering("w_in", SCORE, "Incoming weight norm", "incoming norm", "tab:olive",
             "L2 norm of the incoming weights", lambda v: v.weights_in.norm(dim=1)),
    Ordering("w_out", SCORE, "Outgoing weight norm", "outgoing norm", "tab:cyan",
             "He et al. (2014)", lambda v: v.weights_out.norm(dim=2)),
    Ordering("taylor", SCORE, "Taylor score", "Taylor", "tab:orange",
             "Molchanov et al. (2017)", lambda v: (v.outputs * v.gradients).abs().mean(1)),
    Ordering("oracle", SCORE, "Single-neuron drop", "single drop", "black",
             "accuracy lost when the neuron alone is ablated", lambda v: v.single_drops),
    # He et al.'s pruning criteria (chapter 9), of a prune.MemberLayer
    Ordering("he-entropy", CRITERION, "He et al.: activation entropy", "He: activation entropy",
             "tab:purple", "He et al. (2014), entropy of the output in equal-width bins",
             lambda v: v.binned_entropy),
    Ordering("he-weight", CRITERION, "He et al.: weight norm", "He: weight norm", "tab:brown",
             "He et al. (2014), L1 norm of the outgoing weights",
             lambda v: v.outgoing_weight_norm),
)


class Registry(Mapping):
    """Orderings by name (the measures of :data:`nbutils.measures.MEASURES` first, read when
    asked, then the others), restricted to ``kinds`` (``None``: all). Read ``ORDERINGS["mi"]``;
    :meth:`of` gives a live selection."""

    def __init__(self, kinds: Iterable[str] | None = None):
        self.kinds = None if kinds is None else tuple(kinds)
        unknown = [k for k in self.kinds or () if k not in KINDS]
        if unknown:
            raise ValueError(f"kinds {unknown} are not allowed: choose from {list(KINDS)}")

    def _entries(self) -> dict[str, Ordering]:
        every = [*(_from_measure(m) for m in MEASURES.values()), *OTHER_ORDERINGS]
        return {o.name: o for o in every if self.kinds is None or o.kind in self.kinds}

    def __getitem__(self, name: str) -> Ordering:
        entries = self._entries()
        if name not in entries:
            raise KeyError(f"unknown ordering {name!r}; choose from {list(entries)}")
        return entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries())

    def __len__(self) -> int:
        return len(self._entries())

    def __repr__(self) -> str:
        return f"Registry({list(self)})"

    def of(self, *kinds: str) -> Registry:
        """The entries of ``kinds``, in the registry's order (a live view)."""
        return Registry(kinds)


ORDERINGS = Registry()
SCORES = ORDERINGS.of(MEASURE, SCORE)                   # chapter 10: measures and field scores
PRUNING = ORDERINGS.of(MEASURE, RANDOM, CRITERION)         # chapter 9: the note's and He's


def ordering_names(measures: Iterable[str] = MEASURES, random: bool = True) -> list[str]:
    """``entropy-low``, ``entropy-high``, ..., ``kl-high`` and (with ``random``) ``random``;
    ``measures``: any names of :data:`ORDERINGS` (default: the paper's measures)."""
    return [f"{m}-{d}" for m in measures for d in DIRECTIONS] + ([RANDOM] if random else [])


def split_ordering(name: str) -> tuple[str | None, str | None]:
    """``"mi-low"`` -> ``("mi", "low")``; ``"he-weight-high"`` -> ``("he-weight", "high")``;
    ``"random"`` -> ``(None, None)``."""
    if name == RANDOM:
        return None, None
    ranked = [n for n in ORDERINGS if n != RANDOM]
    base, _, direction = str(name).rpartition("-")
    if base not in ranked or direction not in DIRECTIONS:
        raise ValueError(f"ordering={name!r} is not allowed: 'random' or '<name>-<low|high>' "
                         f"with name in {ranked}")
    return base, direction


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
        positive_int(value, name)
    gen = torch.Generator().manual_seed(seed)
    keys = torch.rand(n_members, draws, n, generator=gen, dtype=torch.float64)
    return torch.argsort(keys, dim=-1, stable=True)


def dead_first(orders: Tensor, dead: Tensor) -> Tensor:
    """Random orderings ``(M, draws, n)`` rearranged so that each member's ``dead`` neurons
    (``(M, n)`` bool) come first: the dead ones in the order the random ordering gives them,
    then the others in theirs (a stable partition). The baseline of a low-first ordering that
    ablates the dead neurons first (their measures are zero), without its ranking of the rest:
    the *dead-matched* random baseline (issue #24; beyond the paper's protocol)."""
    orders, dead = torch.as_tensor(orders), torch.as_tensor(dead, dtype=torch.bool)
    if orders.ndim != 3 or dead.shape != (orders.shape[0], orders.shape[2]):
        raise ValueError(f"dead must have shape (M, n) = {(orders.shape[0], orders.shape[-1])} "
                         f"for orders of shape (M, draws, n), got {tuple(dead.shape)} and "
                         f"{tuple(orders.shape)}")
    alive = torch.gather(~dead, 1, orders.flatten(1)).view_as(orders)   # per position
    rank = torch.sort(alive.to(torch.int8), dim=-1, stable=True).indices
    return torch.gather(orders, -1, rank)


def dead_last(orders: Tensor, dead: Tensor) -> Tensor:
    """Random orderings ``(M, draws, n)`` rearranged so that each member's ``dead`` neurons
    (``(M, n)`` bool) come last, each group in the order the random ordering gives it: the
    dead-matched baseline of a *high-first* ordering, which ablates the dead neurons last
    (their measures are zero) and so removes every active neuron first (issue #24; beyond the
    paper's protocol). The mirror of :func:`dead_first`."""
    return dead_first(orders, ~torch.as_tensor(dead, dtype=torch.bool))


def measure_orders(values: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Low-first and high-first orderings ``(M, n)`` for every registered measure in ``values``
    (a mapping measure -> ``(M, n)``), in the order of :func:`ordering_names`."""
    orders = {}
    for name in ordering_names(random=False):
        measure, direction = split_ordering(name)
        orders[name] = order_by(torch.as_tensor(values[measure]), descending=direction == "high")
    return orders
