"""Chapter 5, Fig. 3: layer-wise ablation in MNIST networks (claims F3a-F3g, S6, C3)."""
from __future__ import annotations

from ..config import CHAPTER_CONFIGS, FIG3_ABLATION_VALUES
from . import Config, Request, hidden, layer_curves

NOTEBOOK = "05_layerwise_mnist"
CONFIGS: tuple[Config, ...] = CHAPTER_CONFIGS["fig3"]   # panels (a)-(d)
STRONG: Config = ("mnist", "relu", "l2")                # claim C3: not a Fig. 3 panel
FROM_RESULTS = True


def requests(config: Config) -> list[Request]:
    """A Fig. 3 panel: every layer's curves, ablated to the panel's value; claim C3's network:
    its layer 1."""
    out = []
    if config in CONFIGS:
        value = FIG3_ABLATION_VALUES[CONFIGS.index(config)]
        out += [Request(f"layer {l + 1} curves, {value} (chapter 5)", layer_curves(l, value))
                for l in range(len(hidden(config)))]
    if config == STRONG:
        out.append(Request("layer 1 curves (chapter 5, C3)", layer_curves(0)))
    return out
