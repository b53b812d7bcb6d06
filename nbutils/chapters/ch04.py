"""Chapter 4, Fig. 2: ablation across the whole network (claims F2a-F2d, C1)."""
from __future__ import annotations

from .. import analysis
from ..config import CHAPTER_CONFIGS
from . import Config, Request, layer_curves

NOTEBOOK = "04_whole_network_ablation"
CONFIGS: tuple[Config, ...] = CHAPTER_CONFIGS["fig2"]   # panels (a)-(f)
FROM_RESULTS = True


def requests(config: Config) -> list[Request]:
    """A Fig. 2 panel: whole-network curves, and layer 1's (the Simpson's paradox check)."""
    if config not in CONFIGS:
        return []
    return [Request("whole network (chapter 4)",
                    lambda e: analysis.whole_network_curves(e, "zero")),
            Request("layer 1 curves (chapter 4)", layer_curves(0))]
