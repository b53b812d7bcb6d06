"""An executed chapter shows the parameters it ran with, not its defaults (nbutils.pipeline).

papermill runs a chapter's cell of defaults (tagged ``parameters``), then the values it injects
(a cell tagged ``injected-parameters``). The book used to show the defaults (``profile =
"quick"``) on pages that ran at ``paper`` and to hide the injected cell; now the injected cell
holds the whole parameters cell with the run's values in place and a comment naming the defaults
it replaced, shown where the defaults were, and the defaults are hidden.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from nbutils.pipeline import (
    DEFAULTS_HIDDEN,
    RUN_PARAMETERS_HEADER,
    execute_chapters,
    main,
    run_parameters_source,
    show_run_parameters,
)

DEFAULTS = textwrap.dedent('''\
    profile = "quick"      # "ci", "quick" or "paper"
    seeds = None           # None: the profile's default
    device = "auto"        # "auto", "cpu", "cuda", ...
    # which panels to draw
    panels = ["a", "b",
              "c"]
    label: str = "ünïcode"  # a non-ASCII default before a value that changes
    x = 1''')


def test_the_injected_values_replace_their_defaults_and_comments_stay():
    injected = '# Parameters\nprofile = "paper"\npanels = ["a", "b"]\ndevice = "auto"\nextra = 3\n'
    source = run_parameters_source(DEFAULTS, injected)
    lines = source.splitlines()
    assert lines[:2] == [
        f"{RUN_PARAMETERS_HEADER}; the chapter's defaults: profile = \"quick\", panels = "
        '["a",', '#   "b", "c"]']                      # wrapped at 99 characters, one line each
    assert 'profile = "paper"      # "ci", "quick" or "paper"' in lines
    assert 'panels = ["a", "b"]' in lines and '"c"]' not in "\n".join(lines[2:])
    assert 'device = "auto"        # "auto", "cpu", "cuda", ...' in lines   # unchanged value
    shorter = run_parameters_source(DEFAULTS, 'device = "cpu"\nseeds = 12345678901234567890')
    assert 'device = "cpu"         # "auto", "cpu", "cuda", ...' in shorter.splitlines()
    assert "seeds = 12345678901234567890 # None: the profile's default" in shorter.splitlines()
    assert 'label: str = "ünïcode"  # a non-ASCII default before a value that changes' in lines
    assert lines[-1] == "extra = 3"                 # a name the cell does not assign: appended
    namespace: dict = {}
    exec(source, namespace)
    assert (namespace["profile"], namespace["panels"], namespace["seeds"], namespace["x"]) == \
        ("paper", ["a", "b"], None, 1)


def test_no_changed_value_says_the_defaults_ran():
    source = run_parameters_source(DEFAULTS, 'profile = "quick"\n')
    assert source.splitlines()[0] == f"{RUN_PARAMETERS_HEADER}: the chapter's defaults"


def _executed(tags: list[str]) -> nbformat.NotebookNode:
    """A notebook as papermill leaves it: defaults, then the injected cell."""
    return new_notebook(cells=[
        new_markdown_cell("# 5. A chapter"),
        new_code_cell(DEFAULTS, metadata={"tags": ["parameters", *tags]}),
        new_code_cell('# Parameters\nprofile = "paper"\n',
                      metadata={"tags": ["injected-parameters"]}),
        new_code_cell("print(profile)")])


def test_the_run_parameters_are_shown_and_the_defaults_hidden_idempotently():
    nb = _executed([])
    assert show_run_parameters(nb)
    params, injected = nb.cells[1], nb.cells[2]
    assert params.source == DEFAULTS                     # papermill still finds its defaults
    assert params.metadata["tags"] == ["parameters", "remove-cell", DEFAULTS_HIDDEN]
    assert injected.metadata["tags"] == ["injected-parameters"]          # shown
    assert 'profile = "paper"' in injected.source and 'profile = "quick"' in injected.source
    first = nbformat.writes(nb)
    assert show_run_parameters(nb)
    assert nbformat.writes(nb) == first


def test_a_hidden_parameters_cell_stays_hidden_and_a_rerun_without_injection_restores_it():
    nb = _executed(["remove-cell"])                       # the claims page hides its cell
    show_run_parameters(nb)
    assert nb.cells[2].metadata["tags"] == ["injected-parameters", "remove-cell"]
    show_run_parameters(nb)
    assert nb.cells[2].metadata["tags"] == ["injected-parameters", "remove-cell"]
    del nb.cells[2]                                       # a run that injected nothing
    assert not show_run_parameters(nb)
    assert nb.cells[1].metadata["tags"] == ["parameters", "remove-cell"]
    assert "nbutils_defaults_tags" not in nb.cells[1].metadata


def _tiny_book(root: Path) -> Path:
    (root / "book").mkdir(parents=True)
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n"
                                   "  - file: book/01_a\n")
    (root / "book" / "intro.md").write_text("# Intro\n")
    nb = new_notebook(cells=[
        new_markdown_cell("# 1. A"),
        new_code_cell('profile = "quick"      # "ci", "quick" or "paper"\nseeds = None',
                      metadata={"tags": ["parameters"]}),
        new_code_cell("print(profile, seeds)")])
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3",
                              "language": "python"}
    nbformat.write(nb, root / "book" / "01_a.ipynb")
    return root


def test_the_pipeline_shows_what_a_chapter_ran_with_and_a_rerun_replaces_it(tmp_path):
    root = _tiny_book(tmp_path / "src")
    runs = execute_chapters("paper", tmp_path / "out", parameters={"seeds": 4}, root=root,
                            log=lambda _: None)
    nb = nbformat.read(runs[0].output, 4)
    shown = [c for c in nb.cells if c.cell_type == "code"
             and "remove-cell" not in c.metadata.get("tags", [])]
    assert shown[0].source.splitlines() == [
        f'{RUN_PARAMETERS_HEADER}; the chapter\'s defaults: profile = "quick", seeds = None',
        'profile = "paper"      # "ci", "quick" or "paper"', "seeds = 4"]
    assert "paper 4" in "".join(o.get("text", "") for o in shown[1].outputs)
    # the executed notebook runs again at another profile: papermill replaces the shown cell
    (root / "book" / "01_a.ipynb").write_bytes(runs[0].output.read_bytes())
    runs = execute_chapters("ci", tmp_path / "again", root=root, log=lambda _: None)
    again = nbformat.read(runs[0].output, 4)
    injected = [c for c in again.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and 'profile = "ci"' in injected[0].source


def test_show_parameters_on_the_command_line(tmp_path, capsys):
    path = tmp_path / "05.ipynb"
    nbformat.write(_executed([]), path)
    assert main(["--show-parameters", str(path)]) == 0
    assert "run parameters shown" in capsys.readouterr().out
    nb = nbformat.read(path, 4)
    assert nb.cells[2].source.startswith(RUN_PARAMETERS_HEADER)
