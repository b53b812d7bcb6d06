"""Chapter 8, the counterexamples (Examples 1-4, claim M3): constructed networks, no training."""
from __future__ import annotations

from . import Config, Request

NOTEBOOK = "08_counterexamples"
CONFIGS: tuple[Config, ...] = ()
FROM_RESULTS = False


def requests(config: Config) -> list[Request]:
    """None: the examples are built by hand, not trained."""
    return []
