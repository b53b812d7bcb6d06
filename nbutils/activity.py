"""Which hidden neurons ever fire: dead, always-on and the rest.

A neuron is *active* on an input when its output is strictly above the one-bit quantizer's
threshold (0 for ReLU, 0.5 for sigmoid; :func:`nbutils.measures.one_bit`). Over a set of inputs
a neuron is

- **dead** when it is active on none of them (a ReLU that never fires: its output is 0 on every
  input, so ablating it changes nothing);
- **always on** when it is active on every one of them (for a ReLU: it acts as a linear unit);
- **varying** otherwise.

A neuron of zero entropy (Eq. 2) under the one-bit quantizer on the validation set D is dead or
always on *on D*; the paper says its zero-entropy Funnel neurons are "not inactive, but active
all the time", which only this split can check. The screen of the input preprocessing
(:mod:`nbutils.protocol`) reports the dead share on the *training* data, the inputs the
network was fitted to.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from .ensemble import EnsembleMLP
from .measures import one_bit


def activity_flags(acts: Tensor, activation: str) -> tuple[Tensor, Tensor]:
    """``(dead, always_on)``, two bool tensors ``(M, n)``, for hidden outputs ``acts``
    ``(M, N, n)`` (or ``(N, n)``, read as one member) of a layer with ``activation``."""
    if acts.dim() == 2:
        acts = acts[None]
    if acts.dim() != 3 or acts.shape[1] == 0:
        raise ValueError(f"acts must be (M, N, n) with N > 0 inputs; got {tuple(acts.shape)}")
    on = one_bit(acts, activation).bool()
    return ~on.any(dim=1), on.all(dim=1)


@torch.no_grad()
def layer_activity(model: EnsembleMLP, x: Tensor, chunk: int = 4096
                   ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per hidden layer, ``(dead, always_on)`` bool arrays ``(M, n)`` of every member over the
    inputs ``x`` ``(N, d)`` (eval mode; read in chunks of ``chunk`` inputs, so the training set
    of CIFAR-10 never sits in memory as activations)."""
    if x.shape[0] == 0:
        raise ValueError("x holds no inputs")
    dead: list[Tensor | None] = [None] * model.n_hidden
    always: list[Tensor | None] = [None] * model.n_hidden
    was_training = model.training
    model.eval()
    for start in range(0, x.shape[0], chunk):
        h = x[start:start + chunk]
        for l in range(model.n_hidden):
            h = model.hidden_output(model.affine(h, l), l)
            d, a = activity_flags(h, model.activation)
            dead[l] = d if dead[l] is None else dead[l] & d
            always[l] = a if always[l] is None else always[l] & a
    model.train(was_training)
    return [(d.cpu().numpy(), a.cpu().numpy()) for d, a in zip(dead, always)]


def shares(dead: np.ndarray, always_on: np.ndarray) -> dict[str, float]:
    """Percent of the neurons ``(M, n)`` (all members pooled) that are dead, always on and
    varying."""
    dead, always_on = np.asarray(dead, bool), np.asarray(always_on, bool)
    if dead.shape != always_on.shape or dead.size == 0:
        raise ValueError(f"dead {dead.shape} and always_on {always_on.shape} must be the same "
                         "non-empty shape")
    if np.any(dead & always_on):
        raise ValueError("a neuron cannot be dead and always on over the same inputs")
    d, a = 100.0 * dead.mean(), 100.0 * always_on.mean()
    return {"dead": float(d), "always_on": float(a), "varying": float(100.0 - d - a)}


def per_member_counts(flags: np.ndarray) -> np.ndarray:
    """Number of flagged neurons of each member: ``(M, n)`` bool -> ``(M,)`` int."""
    return np.asarray(flags, bool).sum(axis=-1)
