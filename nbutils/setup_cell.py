"""The setup cell of every chapter: a notebook opened outside the book's environment (Colab, a
fresh Jupyter) installs what it needs before its first ``import nbutils``.

The cell is the same in every chapter (:func:`source`), stands just before the ``parameters``
cell and is hidden in the rendered book (tag ``remove-cell``); the downloaded notebook keeps it.
Where ``nbutils`` imports (the book's own environment, CI) it does nothing. Elsewhere it gets the
book's repository (the package, its pinned dependencies, and the shipped results the chapters
read), installs it, and moves into its ``book/`` folder, where the chapter's relative links and
paths hold. The repository comes from ``NBUTILS_SOURCE`` (a git URL or a folder holding a copy)
or else from the book's public address, ``repository.url`` in ``_config.yml`` (empty until the
book has one: then the cell stops with a message that says what to set).

``python -m nbutils.setup_cell`` writes (or refreshes) the cell in every chapter of ``_toc.yml``;
``tests/test_setup_cell.py`` checks that each committed chapter carries it, unchanged.
"""
from __future__ import annotations

import sys
from pathlib import Path

import yaml

TAG = "setup-cell"
ROOT = Path(__file__).resolve().parent.parent

TEMPLATE = '''\
# Setup outside the book's environment (Colab, a fresh Jupyter): hidden in the rendered book.
# Where nbutils imports, this cell does nothing. Elsewhere it installs the book's repository
# (its pinned dependencies and shipped results) from NBUTILS_SOURCE (a git URL or a folder) or
# the book's public address, then works in its book/ folder. Written by nbutils.setup_cell.
import importlib.util
import os
import subprocess
import sys

REPOSITORY = {repository!r}   # _config.yml, repository.url
if importlib.util.find_spec("nbutils") is None:
    source = os.environ.get("NBUTILS_SOURCE", REPOSITORY)
    if not source:
        raise ModuleNotFoundError(
            "nbutils is not installed and the book has no public repository address yet: set "
            "NBUTILS_SOURCE to a git URL of the book's repository or to a folder holding a copy "
            "(os.environ['NBUTILS_SOURCE'] = ...), then run this cell again")
    folder = source
    if not os.path.isdir(source):
        folder = os.path.abspath("nbutils-book")
        if not os.path.isdir(folder):
            subprocess.run(["git", "clone", "--depth", "1", source, folder], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", folder], check=True)
    sys.path.insert(0, os.path.abspath(folder))
    os.chdir(os.path.join(folder, "book"))
'''


def repository_url(root: Path = ROOT) -> str:
    """The book's public repository address, ``repository.url`` of ``_config.yml`` ("" if
    none is set)."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    return str((config.get("repository") or {}).get("url") or "")


def source(root: Path = ROOT) -> str:
    """The setup cell's code, with the repository address of ``root``'s ``_config.yml``."""
    return TEMPLATE.format(repository=repository_url(root))


def write_setup_cell(nb, code: str) -> bool:
    """Put ``code`` in ``nb``'s setup cell, created just before its ``parameters`` cell.
    Returns whether the notebook changed; a notebook without a ``parameters`` cell is left
    alone (returns False)."""
    import nbformat

    cell = next((c for c in nb.cells if TAG in c.metadata.get("tags", [])), None)
    if cell is not None:
        changed = cell.source != code
        cell.source = code
        return changed
    params = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                   and "parameters" in c.metadata.get("tags", [])), None)
    if params is None:
        return False
    cell = nbformat.v4.new_code_cell(code, metadata={"tags": [TAG, "remove-cell"]})
    cell.id = TAG
    nb.cells.insert(params, cell)
    return True


def main(argv: list[str] | None = None) -> int:
    """Write the setup cell into every chapter of the book (``_toc.yml``); print what changed."""
    import argparse

    import nbformat

    from .cache import atomic_write_bytes
    from .pipeline import list_chapters

    parser = argparse.ArgumentParser(prog="python -m nbutils.setup_cell", description=(
        "Write the setup cell (Colab and fresh environments) into every chapter."))
    parser.add_argument("--root", type=Path, default=ROOT, help="the book's root (_toc.yml)")
    args = parser.parse_args(argv)
    code = source(args.root)
    for chapter in list_chapters(args.root):
        nb = nbformat.read(chapter.path, as_version=4)
        if write_setup_cell(nb, code):
            atomic_write_bytes(chapter.path, nbformat.writes(nb).encode("utf-8"))
            print(f"{chapter.path}: setup cell written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
