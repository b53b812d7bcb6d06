"""Chapter 2, the measures (Sec. IV, Eqs. 1-5): entropy, mutual information, KL selectivity, their
bounds and quantizers (claims M1, M2, S5)."""
from __future__ import annotations

from .. import analysis
from ..measures import FINE_QUANTIZERS, QUANTIZERS
from . import K_FRACTION, Config, Request, hidden, layer_curves

NOTEBOOK = "02_measures"
NETWORK: Config = ("mnist", "relu", "dropout")   # the chapter's default network
CONFIGS: tuple[Config, ...] = (NETWORK,)
FROM_RESULTS = True


def requests(config: Config) -> list[Request]:
    """The default network: its measures under every quantizer, member 0's weights, each
    layer's curves, and the orderings by the finer quantizers at k = 80 % of the layer."""
    if config != NETWORK:
        return []
    out = [Request(f"measures, {name} (chapter 2)",
                   lambda e, s=scheme, b=bins: analysis.measures(e, s, b))
           for name, (scheme, bins) in QUANTIZERS.items()]
    out.append(Request("member 0 (chapter 2)", lambda e: analysis.member_model(e, 0)))
    for layer, width in enumerate(hidden(config)):
        k = int(round(K_FRACTION * width))
        out.append(Request(f"layer {layer + 1} curves (chapter 2)", layer_curves(layer)))
        for name in FINE_QUANTIZERS:
            out.append(Request(f"layer {layer + 1}, ordered by {name} (chapter 2)",
                               lambda e, l=layer, k=k, q=QUANTIZERS[name]:
                               analysis.quantizer_curves(e, l, *q, ks=[0, k])))
    return out
