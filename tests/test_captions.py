"""Every replica of a paper's figure links its caption to the paper (its DOI in the book's
bibliography)."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIB = (ROOT / "book" / "references.bib").read_text(encoding="utf-8")
PAPER = BIB.split("@article{amjad2021understanding", 1)[1].split("\n}", 1)[0]
DOI = re.search(r"doi\s*=\s*\{([^}]+)\}", PAPER).group(1)
CAPTION = re.compile(r"(?m)^(?!:alt:).*Replica of the paper's (.*)$")
NOTEBOOKS = sorted((ROOT / "book").glob("0*.ipynb"))


def captions(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [m.group(1) for c in nb.cells if c.cell_type == "markdown"
            for m in CAPTION.finditer(c.source)]


def test_the_replicas_are_found():
    assert sum(len(captions(p)) for p in NOTEBOOKS) >= 7   # Figs. 1-5, Fig. 1 in parts


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_replica_captions_link_to_the_paper(path):
    for words in captions(path):
        assert re.match(r"\[Fig\. \d+(\([a-z]\))?\]\(https://doi\.org/" + re.escape(DOI) + r"\)",
                        words), f"{path.name}: caption 'Replica of the paper's {words}'"
