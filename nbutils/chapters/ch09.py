"""Chapter 9, pruning with bias balancing (the technical note, claims P1-P4)."""
from __future__ import annotations

from ..config import CHAPTER_CONFIGS
from . import Config, Request

NOTEBOOK = "09_pruning"
CONFIGS: tuple[Config, ...] = CHAPTER_CONFIGS["pruning"]
FROM_RESULTS = False


def requests(config: Config) -> list[Request]:
    """None through :mod:`nbutils.precompute`: the chapter trains and prunes its network."""
    return []
