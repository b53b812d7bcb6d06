"""Quantizers and the information measures of the paper, Sec. III-IV, Eqs. (2)-(5).

Conventions used throughout:

- ``acts`` is a tensor of shape (M, N, n): ensemble members (seeds), validation samples, neurons of
  one layer.  ``labels`` is an integer tensor of shape (N,) with values in 0..C-1.
- Every quantizer returns integer codes of the shape of ``acts``.  A code is the number of bin
  edges lying *strictly below* the value, so a value exactly on an edge goes to the lower bin;
  equal values always share a bin; a constant neuron always gets code 0.
- Measures are in bits, computed in float64, with 0 log 0 = 0.  The measure functions take joint
  counts (or probabilities) of shape (..., |T|, C) and reduce the last two axes.
- A class absent from the sample has an undefined P_{T|Y=y}: its entry in the specific information
  spectrum is NaN, and it is skipped in the maximum of Eq. (5).  It contributes nothing to H or I.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import torch

from . import checks
from .activations import get_activation

SCHEMES = ("one_bit", "uniform", "quantile")
# The quantizers the book compares (claim S5): name -> (scheme, bins). One bit is the paper's;
# the finer ones are ours. FINE_QUANTIZERS: the two finest, against which chapters 2 (ablation)
# and 6 (claim F1c) check one bit.
QUANTIZERS: dict[str, tuple[str, int]] = {
    "one-bit": ("one_bit", 2), "uniform-4": ("uniform", 4), "quantile-4": ("quantile", 4),
    "uniform-8": ("uniform", 8), "quantile-8": ("quantile", 8)}
FINE_QUANTIZERS: tuple[str, ...] = ("uniform-8", "quantile-8")


# ---------------------------------------------------------------- input checks
def _check_acts(acts: torch.Tensor) -> torch.Tensor:
    acts = checks.tensor(acts, "acts", ndim=3, kind="float", shape="(M, N, n)")
    if acts.shape[1] == 0:
        raise ValueError("acts has N == 0 validation samples (empty validation set)")
    return checks.tensor(acts, "acts", finite=True)


def _check_n_bins(n_bins: int) -> None:
    if not checks.is_int(n_bins) or n_bins < 2:
        raise checks.fail("n_bins", n_bins, "an integer >= 2")


def _check_labels(labels: torch.Tensor, n_samples: int, n_classes: int | None) -> int:
    """Validate labels against N; return the number of classes C."""
    labels = torch.as_tensor(labels)
    if labels.ndim != 1 or labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise ValueError(f"labels must be a 1-D integer tensor, got shape {tuple(labels.shape)}"
                         f" and dtype {labels.dtype}")
    if labels.shape[0] != n_samples:
        raise ValueError(f"labels has length {labels.shape[0]}, "
                         f"but there are N = {n_samples} samples")
    if n_samples == 0:
        raise ValueError("labels is empty (empty validation set)")
    if n_classes is None:
        n_classes = int(labels.max()) + 1
    if int(labels.min()) < 0 or int(labels.max()) >= n_classes:
        raise ValueError(f"labels must lie in 0..{n_classes - 1} (n_classes = {n_classes}), "
                         f"got range {int(labels.min())}..{int(labels.max())}")
    return int(n_classes)


# ---------------------------------------------------------------- quantizers
def _codes_from_edges(acts: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """Code = number of edges strictly below the value; edges has shape (M, n_bins-1, n)."""
    codes = torch.zeros(acts.shape, dtype=torch.long, device=acts.device)
    for b in range(edges.shape[1]):
        codes += acts > edges[:, b : b + 1, :]
    return codes


def one_bit(acts: torch.Tensor, activation: str) -> torch.Tensor:
    """The paper's one-bit quantizer (Sec. V intro), |T| = 2.

    Code 1 iff the output is strictly above the threshold (0 for ReLU, 0.5 for sigmoid); a value
    exactly at the threshold gets code 0, so a ReLU output of exactly 0 is "inactive" (Example 1).
    """
    threshold = get_activation(activation).threshold
    return (_check_acts(acts) > threshold).long()


def uniform_bins(acts: torch.Tensor, n_bins: int) -> torch.Tensor:
    """n_bins equal-width bins over the observed range [min, max] of each member and neuron.

    Edges are min + (max - min) * b / n_bins, b = 1..n_bins-1 (in the dtype of acts); a value on an
    edge goes to the lower bin, the minimum to bin 0, the maximum to bin n_bins-1; a constant
    neuron goes to bin 0.
    """
    acts = _check_acts(acts)
    _check_n_bins(n_bins)
    lo = acts.amin(dim=1, keepdim=True)
    hi = acts.amax(dim=1, keepdim=True)
    fractions = torch.arange(1, n_bins, dtype=acts.dtype, device=acts.device) / n_bins
    edges = lo + (hi - lo) * fractions.view(1, -1, 1)
    return _codes_from_edges(acts, edges)


def quantile_bins(acts: torch.Tensor, n_bins: int) -> torch.Tensor:
    """n_bins bins at the empirical quantiles of each member and neuron.

    Edge b (b = 1..n_bins-1) is the order statistic x_(ceil(b N / n_bins)) (the "inverted CDF"
    quantile).  Without ties every bin holds about N / n_bins samples.  Ties are never split: a
    value equal to an edge goes to the lower bin, so heavily tied outputs (e.g. the zeros of a
    ReLU) share one bin and some bins may stay empty; a constant neuron goes to bin 0.
    """
    acts = _check_acts(acts)
    _check_n_bins(n_bins)
    n_samples = acts.shape[1]
    ranks = [-(-b * n_samples // n_bins) - 1 for b in range(1, n_bins)]  # ceil(bN/n) - 1, 0-based
    edges = acts.sort(dim=1).values[:, ranks, :]
    return _codes_from_edges(acts, edges)


def quantize(acts: torch.Tensor, activation: str, scheme: str = "one_bit",
             n_bins: int = 2) -> torch.Tensor:
    """Dispatch to a quantizer Q: R -> T (Sec. III); scheme in SCHEMES.

    One-bit quantization (the paper's choice) requires n_bins == 2.
    """
    get_activation(activation)
    _check_n_bins(n_bins)
    if scheme == "one_bit":
        if n_bins != 2:
            raise ValueError(f"n_bins must be 2 for scheme='one_bit', got {n_bins}")
        return one_bit(acts, activation)
    if scheme == "uniform":
        return uniform_bins(acts, n_bins)
    if scheme == "quantile":
        return quantile_bins(acts, n_bins)
    raise checks.fail("scheme", scheme, f"one of {list(SCHEMES)}")


# ---------------------------------------------------------------- joint distribution, Eq. (2)
def joint_counts(codes: torch.Tensor, labels: torch.Tensor, n_bins: int,
                 n_classes: int | None = None) -> torch.Tensor:
    """Joint counts of (T, Y) per member and neuron, Eq. (2) before dividing by N.

    codes: (M, N, n) integers in 0..n_bins-1; labels: (N,).  Returns float64 (M, n, n_bins, C).
    One one-hot matmul per bin; peak extra memory is one float64 copy of codes.
    """
    codes = torch.as_tensor(codes)
    if codes.ndim != 3 or codes.dtype.is_floating_point:
        raise ValueError(f"codes must be an integer tensor of shape (M, N, n), got "
                         f"shape {tuple(codes.shape)} and dtype {codes.dtype}")
    _check_n_bins(n_bins)
    n_classes = _check_labels(labels, codes.shape[1], n_classes)
    if int(codes.min()) < 0 or int(codes.max()) >= n_bins:
        raise ValueError(f"codes must lie in 0..{n_bins - 1}")
    one_hot = torch.nn.functional.one_hot(torch.as_tensor(labels).to(codes.device).long(),
                                          n_classes).to(torch.float64)  # (N, C)
    per_bin = [torch.einsum("mln,lc->mnc", (codes == b).to(torch.float64), one_hot)
               for b in range(n_bins)]
    return torch.stack(per_bin, dim=2)


# ---------------------------------------------------------------- measures, Eqs. (3)-(5)
def _plogp(p: torch.Tensor) -> torch.Tensor:
    """p log2 p elementwise with 0 log 0 = 0."""
    return torch.special.xlogy(p, p) / math.log(2.0)


def _joint_probs(counts: torch.Tensor) -> torch.Tensor:
    counts = torch.as_tensor(counts, dtype=torch.float64)
    if counts.ndim < 2:
        raise ValueError(f"counts must have shape (..., |T|, C), got {tuple(counts.shape)}")
    if (counts < 0).any() or not torch.isfinite(counts).all():
        raise ValueError("counts must be finite and non-negative")
    total = counts.sum(dim=(-2, -1), keepdim=True)
    if (total == 0).any():
        raise ValueError("counts has an empty table (N == 0)")
    return counts / total


def entropy(counts: torch.Tensor) -> torch.Tensor:
    """H(T) in bits, Eq. (3), from joint counts (..., |T|, C)."""
    p_t = _joint_probs(counts).sum(dim=-1)
    return -_plogp(p_t).sum(dim=-1)


def mutual_information(counts: torch.Tensor) -> torch.Tensor:
    """I(T;Y) = H(T) - H(T|Y) in bits, Eq. (4); rounding below 0 is clipped to 0."""
    p = _joint_probs(counts)
    p_y = p.sum(dim=-2, keepdim=True)
    h_t = -_plogp(p.sum(dim=-1)).sum(dim=-1)
    # each term p(t,y) log p(t|y) <= 0 even in floating point, so I <= H exactly
    ratio = torch.where(p > 0, p / p_y.clamp(min=1e-300), 1.0)
    h_t_given_y = -(p * torch.log2(ratio)).sum(dim=(-2, -1))
    return (h_t - h_t_given_y).clamp(min=0.0)


def specific_information(counts: torch.Tensor) -> torch.Tensor:
    """Spectrum D(P_{T|Y=y} || P_T) in bits for every class y (Sec. IV, Sec. VI): (..., C).

    NaN for classes absent from the sample; rounding below 0 is clipped to 0.
    """
    p = _joint_probs(counts)
    p_y = p.sum(dim=-2, keepdim=True)
    p_t = p.sum(dim=-1, keepdim=True)
    p_t_given_y = p / p_y.clamp(min=1e-300)
    # p(t|y) > 0 implies p(t) > 0, so the ratio is only evaluated where it is finite.
    ratio = torch.where(p_t_given_y > 0, p_t_given_y / p_t.clamp(min=1e-300), 1.0)
    d = (p_t_given_y * torch.log2(ratio)).sum(dim=-2).clamp(min=0.0)
    return torch.where(p_y.squeeze(-2) > 0, d, torch.nan)


def kl_selectivity(counts: torch.Tensor) -> torch.Tensor:
    """KL selectivity max_y D(P_{T|Y=y} || P_T) in bits, Eq. (5), over classes present."""
    return specific_information(counts).nan_to_num(nan=0.0).amax(dim=-1)


# ---------------------------------------------------------------- the registry of measures
@dataclass(frozen=True)
class Measure:
    """One per-neuron importance measure: a function of the joint counts ``(..., |T|, C)``
    returning ``(...)``, and how the book shows it (label, short name, colour)."""

    name: str
    fn: Callable[[torch.Tensor], torch.Tensor]
    label: str      # axis labels and table headers: "Mutual information"
    short: str      # legends: "MI, high first"
    color: str      # one colour per measure in every figure
    equation: str   # where the paper defines it


# The registry: adding a measure is one entry here (plus its tests). Everything else (the cache
# keys, orderings, figures, chapters) reads this dict when it runs.
MEASURES: dict[str, Measure] = {
    m.name: m for m in (
        Measure("entropy", entropy, "Entropy", "entropy", "tab:blue", "Eq. (3)"),
        Measure("mi", mutual_information, "Mutual information", "MI", "tab:red", "Eq. (4)"),
        Measure("kl", kl_selectivity, "KL selectivity", "KL selectivity", "tab:green",
                "Eq. (5)"),
    )
}


class NeuronMeasures(Mapping):
    """Per-neuron measures: every registered measure ``(M, n)`` by name, and the specific
    information ``spectrum`` ``(M, n, C)``; read as ``meas["mi"]`` or ``meas.mi``."""

    def __init__(self, values: Mapping[str, torch.Tensor], spectrum: torch.Tensor):
        self._values = {**values, "spectrum": spectrum}

    def __getitem__(self, name: str) -> torch.Tensor:
        if name not in self._values:
            raise KeyError(f"unknown measure {name!r}; choose from {list(self._values)}")
        return self._values[name]

    def __getattr__(self, name: str) -> torch.Tensor:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def neuron_measures(acts: torch.Tensor, labels: torch.Tensor, activation: str,
                    scheme: str = "one_bit", n_bins: int = 2,
                    n_classes: int | None = None) -> NeuronMeasures:
    """Quantize acts (M, N, n) and return every registered measure (Eqs. 3-5) and the spectrum.

    Args:
        acts: float outputs ``(M, N, n)`` of one layer on the validation set D.
        labels: integer labels ``(N,)``.
        activation: ``"relu"`` or ``"sigmoid"`` (sets the one-bit threshold).
        scheme: a quantizer of :data:`SCHEMES`.
        n_bins: number of quantizer bins ``|T|`` (2 for one bit).
        n_classes: C; default ``max(labels) + 1``.

    Returns:
        :class:`NeuronMeasures`: each measure ``(M, n)`` in bits, the spectrum ``(M, n, C)``.
    """
    acts = _check_acts(acts)
    _check_labels(labels, acts.shape[1], n_classes)
    codes = quantize(acts, activation, scheme, n_bins)
    counts = joint_counts(codes, labels, n_bins, n_classes)
    return NeuronMeasures({name: m.fn(counts) for name, m in MEASURES.items()},
                          specific_information(counts))


def joint_mutual_information(codes_a: torch.Tensor, codes_b: torch.Tensor, labels: torch.Tensor,
                             n_bins: int = 2, n_classes: int | None = None) -> torch.Tensor:
    """I(T_j T_k; Y) of neuron pairs (Example 4), via the pair code a * n_bins + b.

    codes_a, codes_b: equal shapes, (N,) for one pair (returns a scalar) or (M, N, n) to pair
    neuron j of codes_a with neuron j of codes_b (returns (M, n)).

    Args:
        codes_a: integer quantizer codes in ``0..n_bins-1`` of the first neuron, ``(N,)``, or
            ``(M, N, n)`` for ``n`` neurons per member.
        codes_b: codes of the second neuron, the same shape as ``codes_a``.
        labels: integer labels ``(N,)`` in ``0..C-1``.
        n_bins: number of bins ``|T|`` of each code, an integer >= 2; default 2 (one bit).
        n_classes: ``C``; default ``None``: ``max(labels) + 1``.

    Returns:
        ``I(T_j T_k; Y)`` in bits, float64: a 0-d tensor for codes ``(N,)``, else ``(M, n)``.

    Raises:
        ValueError: codes of different shapes, not integer, empty, not ``(N,)`` or
            ``(M, N, n)``, or outside ``0..n_bins-1``; ``n_bins`` < 2; ``labels`` not a 1-D
            integer tensor of length ``N`` with values in ``0..n_classes-1``.
    """
    codes_a, codes_b = torch.as_tensor(codes_a), torch.as_tensor(codes_b)
    if codes_a.shape != codes_b.shape:
        raise ValueError(f"codes_b has shape {tuple(codes_b.shape)}, "
                         f"codes_a has {tuple(codes_a.shape)}")
    _check_n_bins(n_bins)
    for name, c in (("codes_a", codes_a), ("codes_b", codes_b)):
        if c.ndim not in (1, 3) or c.dtype.is_floating_point or c.numel() == 0:
            raise ValueError(f"{name} must be a non-empty integer tensor of shape (N,) "
                             "or (M, N, n)")
        if int(c.min()) < 0 or int(c.max()) >= n_bins:
            raise ValueError(f"{name} must lie in 0..{n_bins - 1}")
    pair = codes_a.long() * n_bins + codes_b.long()
    single = pair.ndim == 1
    if single:
        pair = pair.view(1, -1, 1)
    mi = mutual_information(joint_counts(pair, labels, n_bins * n_bins, n_classes))
    return mi[0, 0] if single else mi
