"""The setup cell (nbutils.setup_cell): every chapter carries it, it does nothing where nbutils
imports, and elsewhere it installs the book's repository from the source it is given."""
from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path

import nbformat
import pytest

from nbutils import setup_cell
from nbutils.pipeline import list_chapters

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = [c.path for c in list_chapters(ROOT)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_carries_the_setup_cell_before_its_parameters(path):
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if setup_cell.TAG in c.metadata.get("tags", [])]
    assert len(cells) == 1, "run python -m nbutils.setup_cell"
    cell = cells[0]
    assert cell.source == setup_cell.source(ROOT), "stale: run python -m nbutils.setup_cell"
    assert "remove-cell" in cell.metadata["tags"]          # hidden in the rendered book
    following = nb.cells[nb.cells.index(cell) + 1]
    assert "parameters" in following.metadata.get("tags", [])
    # it runs before anything imports nbutils
    before = nb.cells[:nb.cells.index(cell)]
    assert not any(c.cell_type == "code" and "nbutils" in c.source for c in before)


class Calls:
    def __init__(self):
        self.run, self.chdir = [], []


@pytest.fixture
def outside(monkeypatch, tmp_path):
    """An environment where nbutils does not import; subprocess.run and os.chdir recorded."""
    calls = Calls()
    monkeypatch.chdir(tmp_path)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "nbutils" else real(name, *a))
    monkeypatch.setattr(subprocess, "run", lambda cmd, check: calls.run.append(cmd))
    monkeypatch.setattr(os, "chdir", calls.chdir.append)
    monkeypatch.delenv("NBUTILS_SOURCE", raising=False)
    return calls


def _run(code: str) -> None:
    exec(compile(code, "<setup cell>", "exec"), {"__name__": "__main__"})


def test_does_nothing_where_nbutils_imports(monkeypatch):
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a))
    _run(setup_cell.source(ROOT))
    assert calls == []


def test_without_a_source_says_what_to_set(outside):
    with pytest.raises(ModuleNotFoundError, match="set NBUTILS_SOURCE to a git URL"):
        _run(setup_cell.TEMPLATE.format(repository=""))
    assert outside.run == []


def test_installs_a_local_copy_and_works_in_its_book_folder(outside, monkeypatch, tmp_path):
    copy = tmp_path / "copy"
    (copy / "book").mkdir(parents=True)
    monkeypatch.setenv("NBUTILS_SOURCE", str(copy))
    _run(setup_cell.TEMPLATE.format(repository=""))
    assert len(outside.run) == 1 and outside.run[0][-2:] == ["-e", str(copy)]
    assert outside.run[0][1:4] == ["-m", "pip", "install"]
    assert outside.chdir == [os.path.join(str(copy), "book")]


def test_clones_the_public_repository(outside, tmp_path):
    url = "https://example.org/book.git"
    _run(setup_cell.TEMPLATE.format(repository=url))
    clone, install = outside.run
    target = str(tmp_path / "nbutils-book")
    assert clone == ["git", "clone", "--depth", "1", url, target]
    assert install[-2:] == ["-e", target]
    assert outside.chdir == [os.path.join(target, "book")]


def test_repository_url_comes_from_the_book_config(tmp_path):
    (tmp_path / "_config.yml").write_text("repository:\n  url: https://example.org/b.git\n")
    assert setup_cell.repository_url(tmp_path) == "https://example.org/b.git"
    assert "REPOSITORY = 'https://example.org/b.git'" in setup_cell.source(tmp_path)
    (tmp_path / "_config.yml").write_text("title: x\n")
    assert setup_cell.repository_url(tmp_path) == ""


def test_write_setup_cell_is_idempotent():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# t"),
                nbformat.v4.new_code_cell("profile = 'ci'", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("import nbutils")]
    assert setup_cell.write_setup_cell(nb, "pass")
    assert not setup_cell.write_setup_cell(nb, "pass")
    assert [c.id for c in nb.cells].count(setup_cell.TAG) == 1 and nb.cells[1].source == "pass"
    assert setup_cell.write_setup_cell(nb, "x = 1") and nb.cells[1].source == "x = 1"
    nbformat.validate(nb)
    bare = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    assert not setup_cell.write_setup_cell(bare, "pass")
