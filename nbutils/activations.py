"""The hidden-layer nonlinearities of the paper (claim S2): the one table every module reads.

Each entry holds the function ``sigma`` of Eq. (1), the ``torch.nn`` module of the reference
MLP, the threshold of the paper's one-bit quantizer (Sec. V intro: 0 for ReLU, 0.5 for
sigmoid) and the name shown in figures.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .checks import choice


@dataclass(frozen=True)
class Activation:
    """One nonlinearity: function, ``torch.nn`` module class, one-bit threshold, display name."""

    name: str
    fn: Callable[[torch.Tensor], torch.Tensor]
    module: type[nn.Module]
    threshold: float
    display: str


ACTIVATION_TABLE: dict[str, Activation] = {
    a.name: a for a in (
        Activation("relu", torch.relu, nn.ReLU, 0.0, "ReLU"),
        Activation("sigmoid", torch.sigmoid, nn.Sigmoid, 0.5, "sigmoid"),
    )
}
ACTIVATIONS: tuple[str, ...] = tuple(ACTIVATION_TABLE)


def get_activation(name: str, parameter: str = "activation") -> Activation:
    """The table entry of ``name`` (case ignored); ``ValueError`` naming the allowed ones."""
    return ACTIVATION_TABLE[choice(name, ACTIVATIONS, parameter)]
