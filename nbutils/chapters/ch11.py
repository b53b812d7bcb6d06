"""Chapter 11 (beyond the paper): what the paper left unsaid, the input preprocessing and its
screen (:mod:`nbutils.protocol`)."""
from __future__ import annotations

from . import Config, Request

NOTEBOOK = "11_unstated_choices"
CONFIGS: tuple[Config, ...] = ()
FROM_RESULTS = False


def requests(config: Config) -> list[Request]:
    """None through :mod:`nbutils.precompute`: the screen ships its own ensembles."""
    return []
