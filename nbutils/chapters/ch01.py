"""Chapter 1, setup (Sec. III and V): the networks, their training and accuracies (claims S1-S4)."""
from __future__ import annotations

from .. import analysis
from ..config import all_chapter_configs
from . import Config, Request

NOTEBOOK = "01_setup"
CONFIGS: tuple[Config, ...] = tuple(all_chapter_configs())
FROM_RESULTS = False


def requests(config: Config) -> list[Request]:
    """Every configuration: its training summary, and its dead and always-on neurons."""
    return [Request("summary (chapter 1)", lambda e: e.summary()),
            Request("dead and always-on neurons", analysis.activity)]
