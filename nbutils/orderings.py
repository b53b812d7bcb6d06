"""Orderings of neurons for cumulative ablation: the one place their names and tensors are built.

An ordering is named ``"<measure>-<direction>"`` (``"mi-low"``: smallest mutual information
first, ``"kl-high"``: largest KL selectivity first) for every measure of
:data:`nbutils.measures.MEASURES`, or ``"random"``. Experiments (:mod:`nbutils.analysis`), the
constructed examples (:mod:`nbutils.counterexamples`) and the figures (:mod:`nbutils.plots`)
all read names and tensors from here.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import Tensor

from .checks import positive_int
from .measures import MEASURES

DIRECTIONS: tuple[str, ...] = ("low", "high")
RANDOM = "random"


def ordering_names(measures: Iterable[str] = MEASURES, random: bool = True) -> list[str]:
    """``entropy-low``, ``entropy-high``, ..., ``kl-high`` and (with ``random``) ``random``."""
    return [f"{m}-{d}" for m in measures for d in DIRECTIONS] + ([RANDOM] if random else [])


def split_ordering(name: str) -> tuple[str | None, str | None]:
    """``"mi-low"`` -> ``("mi", "low")``; ``"random"`` -> ``(None, None)``."""
    if name == RANDOM:
        return None, None
    measure, _, direction = str(name).partition("-")
    if measure not in MEASURES or direction not in DIRECTIONS:
        raise ValueError(f"ordering={name!r} is not allowed: 'random' or '<measure>-<low|high>' "
                         f"with measure in {list(MEASURES)}")
    return measure, direction


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


def measure_orders(values: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Low-first and high-first orderings ``(M, n)`` for every registered measure in ``values``
    (a mapping measure -> ``(M, n)``), in the order of :func:`ordering_names`."""
    orders = {}
    for name in ordering_names(random=False):
        measure, direction = split_ordering(name)
        orders[name] = order_by(torch.as_tensor(values[measure]), descending=direction == "high")
    return orders
