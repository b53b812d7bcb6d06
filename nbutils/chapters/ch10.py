"""Chapter 10 (beyond the paper): the information measures next to the field's importance scores
(findings B1-B4)."""
from __future__ import annotations

from .. import analysis
from ..config import CHAPTER_CONFIGS
from . import Config, Request, hidden, layer_curves

NOTEBOOK = "10_importance_measures"
CONFIGS: tuple[Config, ...] = CHAPTER_CONFIGS["importance"]
FROM_RESULTS = True


def requests(config: Config) -> list[Request]:
    """Each network: every layer's curves, the scores of its neurons, and the curves by score."""
    if config not in CONFIGS:
        return []
    out = []
    for l in range(len(hidden(config))):
        out += [Request(f"layer {l + 1} curves (chapter 10)", layer_curves(l)),
                Request(f"layer {l + 1} scores (chapter 10)",
                        lambda e, l=l: analysis.scores(e, l)),
                Request(f"layer {l + 1} curves by score (chapter 10)",
                        lambda e, l=l: analysis.score_curves(e, l))]
    return out
