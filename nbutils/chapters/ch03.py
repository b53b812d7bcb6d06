"""Chapter 3, Fig. 1: the measures of every neuron, layer by layer (claims F1a-F1e)."""
from __future__ import annotations

from .. import analysis
from ..config import CHAPTER_CONFIGS
from . import Config, Request

NOTEBOOK = "03_fig1_violins"
CONFIGS: tuple[Config, ...] = CHAPTER_CONFIGS["fig1"]
FROM_RESULTS = True


def requests(config: Config) -> list[Request]:
    """Every configuration: the one-bit measures of its neurons (also read by chapters 2, 6, 7)."""
    return [Request("measures (chapters 2, 3, 6)", analysis.measures)]
