"""Neuron-importance scores beyond the paper's information measures, for layer-wise cumulative
ablation ordered by each of them (the book's chapter beyond the paper).

Every score maps one hidden layer of a trained ensemble to a value per member and neuron,
``(M, n)``, larger meaning "more important" by that score's own logic. The scores are
entries of the one registry of orderings, :data:`nbutils.orderings.ORDERINGS` (label, short name,
colour and the function of a :class:`LayerView`); :data:`SCORES` selects the paper's measures
(Eqs. 3-5, one-bit quantization) and the field's usual scores:

- ``selectivity``: the class selectivity index of Morcos et al. (2018),
  ``(mu_max - mu_rest) / (mu_max + mu_rest)`` with ``mu_max`` the largest class-conditional mean
  output and ``mu_rest`` the mean of the other classes' means (0 where both are 0);
- ``mean`` and ``variance`` of the output on the validation set;
- ``w_in`` and ``w_out``: the Euclidean norms of a neuron's incoming and outgoing weights (He et
  al. 2014 rank neurons by the outgoing one);
- ``taylor``: the first-order Taylor score of Molchanov et al. (2017), the validation mean of
  ``|t_j(x) * dL/dt_j(x)|`` with ``L`` the cross-entropy of sample ``x``;
- ``oracle``: the validation accuracy lost (points) when the neuron alone is ablated to zero.

Adding a score is one entry of kind ``"score"`` in :mod:`nbutils.orderings` (plus a test against
a plain implementation). All of them are computed in float64 on the validation set, never on the
test set that ablation curves are read on. Scores see the layer through :class:`LayerView`, which
computes the outputs, the gradients and the single-neuron drops once and only when a score asks
for them.
"""
from __future__ import annotations

import copy
from functools import cached_property

import torch
import torch.nn.functional as F
from torch import Tensor

from . import checks, orderings
from .ensemble import EnsembleMLP
from .measures import neuron_measures
from .orderings import Ordering


class LayerView:
    """Hidden layer ``layer`` (0-based) of ``model`` seen on inputs ``x`` with labels ``y``
    (the validation set), in float64 and eval mode. Everything is computed on first use."""

    def __init__(self, model: EnsembleMLP, x: Tensor, y: Tensor, layer: int,
                 n_classes: int | None = None, chunk: int = 4096):
        checks.index(layer, model.n_hidden, "layer", "0 = the first hidden layer")
        self.model = copy.deepcopy(model).double().eval()   # the caller's model is left as is
        self.x = checks.tensor(x, "x", ndim=2, kind="float", shape="(N, d)").double()
        self.y = torch.as_tensor(y)
        if self.y.shape != (self.x.shape[0],):
            raise ValueError(f"y must hold one label per row of x ({self.x.shape[0]}), got shape "
                             f"{tuple(self.y.shape)}")
        self.layer = layer
        self.n_classes = int(n_classes if n_classes is not None else model.widths[-1])
        self.chunk = checks.positive_int(chunk, "chunk")

    def _outputs(self, start: int) -> Tensor:
        """The layer's outputs for samples ``start..start+chunk``."""
        return self.model.layer_output(self.x[start:start + self.chunk], self.layer)

    def _rest(self, t: Tensor) -> Tensor:
        """Logits ``(M, B, C)`` from the layer's outputs ``t`` ``(M, B, n)``."""
        return self.model.logits_from(t, self.layer)

    @cached_property
    def outputs(self) -> Tensor:
        """The layer's outputs ``(M, N, n)``."""
        with torch.no_grad():
            return torch.cat([self._outputs(s) for s in range(0, len(self.x), self.chunk)], 1)

    @cached_property
    def gradients(self) -> Tensor:
        """``dL/dt`` ``(M, N, n)``: the gradient of each sample's own cross-entropy with respect
        to the layer's outputs (eval mode: no Dropout, batch norm with running statistics)."""
        parts = []
        for start in range(0, len(self.x), self.chunk):
            with torch.no_grad():
                t = self._outputs(start)
            t.requires_grad_(True)
            logits = self._rest(t)
            y = self.y[start:start + self.chunk]
            loss = F.cross_entropy(logits.flatten(0, 1), y.repeat(logits.shape[0]),
                                   reduction="sum")
            (grad,) = torch.autograd.grad(loss, t)
            parts.append(grad)
        return torch.cat(parts, 1)

    @cached_property
    def single_drops(self) -> Tensor:
        """Accuracy lost (percentage points) ``(M, n)`` when each neuron alone outputs zero."""
        t = self.outputs
        with torch.no_grad():
            intact = (self._rest(t).argmax(-1) == self.y).double().mean(1)
            drops = torch.empty(t.shape[0], t.shape[2], dtype=torch.float64)
            ablated = t.clone()
            for j in range(t.shape[2]):
                ablated[:, :, j] = 0
                acc = (self._rest(ablated).argmax(-1) == self.y).double().mean(1)
                ablated[:, :, j] = t[:, :, j]
                drops[:, j] = 100.0 * (intact - acc)
        return drops

    @property
    def weights_in(self) -> Tensor:
        """Incoming weights ``(M, n_prev, n)``."""
        return self.model.weights[self.layer].detach()

    @property
    def weights_out(self) -> Tensor:
        """Outgoing weights ``(M, n, n_next)``."""
        return self.model.weights[self.layer + 1].detach()

    @property
    def selectivity(self) -> Tensor:
        """Morcos et al.'s class selectivity index ``(M, n)`` (:func:`class_selectivity`)."""
        return class_selectivity(self.outputs, self.y, self.n_classes)

    def information(self, measure: str) -> Tensor:
        """One of the paper's measures (one-bit quantization), ``(M, n)`` in bits."""
        return self._measures[measure]

    @cached_property
    def _measures(self):
        return neuron_measures(self.outputs, self.y, self.model.activation,
                               n_classes=self.n_classes)


def class_selectivity(outputs: Tensor, labels: Tensor, n_classes: int) -> Tensor:
    """Morcos et al.'s class selectivity index ``(M, n)`` of outputs ``(M, N, n)``: classes
    absent from ``labels`` are left out; 0 where the largest and the other means are both 0."""
    present = [c for c in range(n_classes) if bool((labels == c).any())]
    if len(present) < 2:
        raise ValueError("class selectivity needs at least two classes among the labels")
    means = torch.stack([outputs[:, labels == c].mean(1) for c in present], -1)   # (M, n, C)
    top = means.max(-1).values
    rest = (means.sum(-1) - top) / (len(present) - 1)
    denom = top + rest
    return torch.where(denom.abs() > 0, (top - rest) / denom.where(denom.abs() > 0, 1.0),
                       torch.zeros_like(top))


SCORES = orderings.SCORES   # the paper's measures and the field's scores (a live view)
Score = Ordering            # deprecated: a score is an Ordering of the registry


def importance_scores(model: EnsembleMLP, x: Tensor, y: Tensor, layer: int,
                      names: list[str] | None = None, n_classes: int | None = None
                      ) -> dict[str, Tensor]:
    """Neuron-importance scores of one hidden layer, on the validation set.

    Args:
        model: the trained ensemble of ``M`` members (left unchanged: a float64 copy is used).
        x: validation inputs ``(N, d)``.
        y: validation labels ``(N,)``.
        layer: the hidden layer, 0-based.
        names: scores of :data:`SCORES` to compute; default ``None``: all of them.
        n_classes: C; default: the model's number of outputs.

    Returns:
        Score name -> ``(M, n)`` float64 tensor (larger: more important by that score).

    Raises:
        ValueError: an unknown score name, ``layer`` out of range, or ``y`` of the wrong length.
    """
    names = list(SCORES) if names is None else [checks.choice(n, SCORES, "names") for n in names]
    view = LayerView(model, x, y, layer, n_classes)
    return {name: SCORES[name].fn(view).detach().double() for name in names}
