"""Chapter 7, Fig. 5: layer-wise ablation in CIFAR-10 networks (claims F5a-F5g, F1b)."""
from __future__ import annotations

from .. import analysis
from ..config import CHAPTER_CONFIGS
from ..verdicts import EARLY_SHARE
from . import K_FRACTION, Config, Request, hidden

NOTEBOOK = "07_layerwise_cifar10"
CONFIGS: tuple[Config, ...] = CHAPTER_CONFIGS["fig5"]   # networks (a)-(c)
FROM_RESULTS = False
POINTS = (200, 500, 600)   # the chapter also reads its curves at these k (claims F5c-F5g)


def cifar_grid(ens, layer: int, dense: int | None = None, step: int | None = None) -> list[int]:
    """The grid of the curves of hidden ``layer`` (0-based): the profile's grid (``dense`` and
    ``step`` override it, as the chapter's parameters do) plus every point where the chapter
    reads a gap (80 % and 5 % of the layer, :data:`POINTS`)."""
    n = ens.config.architecture.hidden[layer]
    extra = [int(round(K_FRACTION * n)), int(round(EARLY_SHARE * n)), *POINTS]
    return analysis.layer_grid(ens, layer, dense, step, extra=extra)


def requests(config: Config) -> list[Request]:
    """A Fig. 5 network: every layer's curves on :func:`cifar_grid`."""
    if config not in CONFIGS:
        return []
    return [Request(f"layer {l + 1} curves (chapter 7)",
                    lambda e, l=l: analysis.layer_curves(e, l, ks=cifar_grid(e, l)))
            for l in range(len(hidden(config)))]
