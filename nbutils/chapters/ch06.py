"""Chapter 6, Fig. 4: layer-wise ablation in FashionMNIST networks (claims F4a-F4d, F1c, S6)."""
from __future__ import annotations

from .. import analysis
from ..config import CHAPTER_CONFIGS
from ..measures import FINE_QUANTIZERS, QUANTIZERS
from . import Config, Request, hidden, layer_curves

NOTEBOOK = "06_layerwise_fashionmnist"
CONFIGS: tuple[Config, ...] = CHAPTER_CONFIGS["fig4"]
QUANTIZED: Config = CONFIGS[2]     # claim F1c under finer quantizers: Fig. 4(c)
# claim S6 (ablation to zero vs to the mean) is read on the networks of Fig. 3 and Fig. 4(a)-(c)
S6_CONFIGS: tuple[Config, ...] = CHAPTER_CONFIGS["fig3"] + CONFIGS[:3]
FROM_RESULTS = True


def requests(config: Config) -> list[Request]:
    """A Fig. 4 network: every layer's curves; Fig. 4(c): its measures under the finer
    quantizers; the S6 networks: every layer's curves ablated to zero and to the mean."""
    layers = range(len(hidden(config)))
    out = []
    if config in CONFIGS:
        out += [Request(f"layer {l + 1} curves (chapter 6)", layer_curves(l)) for l in layers]
    if config == QUANTIZED:
        out += [Request(f"measures, {name} (chapter 6)",
                        lambda e, q=QUANTIZERS[name]: analysis.measures(e, *q))
                for name in FINE_QUANTIZERS]
    if config in S6_CONFIGS:
        out += [Request(f"layer {l + 1} curves, {value} (chapter 6, S6)", layer_curves(l, value))
                for value in ("zero", "mean") for l in layers]
    return out
