"""The notebook pipeline: every chapter of _toc.yml executes (profile ``ci``) and reproduces itself.

For each chapter, in toc order: papermill executes it with ``profile="ci"`` into a temporary
folder, then ``pytest --nbval`` re-executes the executed notebook in a subprocess and compares
every cell's output with the one just produced, after the sanitizers of
``tests/nbval_sanitize.cfg`` (timings, host line, memory addresses, tqdm bars). All chapters share
one temporary ``NBUTILS_CACHE``: chapter 01_setup trains the ci networks, later chapters and the
nbval re-runs load them. Chapters 2-6 and 10 run with ``NBUTILS_RESULTS_ONLY=1`` after
:func:`nbutils.precompute.precompute_all`: what they read must be exactly what it computes (the
shipped paper-profile results rely on it). Both runs use the temporary folder as the kernel's
working directory (nbval always starts the kernel in the notebook's folder), so a chapter must
not depend on it.

The fast tests at the end pin down the pipeline itself and what nbval compares (tiny synthetic
notebooks, no data needed).
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from nbutils import chapters
from nbutils.pipeline import ChapterError, execute_chapters, execution_order, list_chapters, main
from nbutils.precompute import precompute_all

from conftest import data_unavailable, skip_or_fail

ROOT = Path(__file__).resolve().parent.parent
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"
# in the pipeline's order: the claims dashboard reads the executed chapters, so it runs last
CHAPTERS = [c.name for c in execution_order(list_chapters(ROOT, must_exist=False))]


# ---------------------------------------------------------------------------------------------
# helpers

def run_nbval(notebook: Path, cwd: Path, env: dict[str, str] | None = None,
              timeout: float = 3600) -> subprocess.CompletedProcess:
    """``python -m pytest --nbval NOTEBOOK`` with the book's sanitizers, in a subprocess."""
    cmd = [sys.executable, "-m", "pytest", "--nbval", str(notebook),
           "--nbval-sanitize-with", str(SANITIZE), "--nbval-current-env",
           "-p", "no:cacheprovider", "-q"]
    return subprocess.run(cmd, cwd=cwd, env=env if env is not None else os.environ.copy(),
                          capture_output=True, text=True, timeout=timeout)


def report(proc: subprocess.CompletedProcess) -> str:
    return (f"exit code {proc.returncode}\n--- stdout ---\n{proc.stdout[-30000:]}\n"
            f"--- stderr ---\n{proc.stderr[-5000:]}")


# ---------------------------------------------------------------------------------------------
# the chapters

@pytest.fixture(scope="session")
def chapter_run(tmp_path_factory):
    """A temporary output folder and a fresh cache shared by every chapter of this session."""
    reason = data_unavailable()
    if reason:
        skip_or_fail(reason)   # in CI a chapter run without data fails instead of skipping
    folder = tmp_path_factory.mktemp("chapters")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NBUTILS_CACHE", str(folder / "cache"))
        mp.delenv("NBUTILS_RESULTS", raising=False)  # results live in the fresh cache too
        yield folder


# the chapters whose results nbutils.precompute computes (they run from those results alone)
FROM_RESULTS = chapters.from_results()   # each chapter module says whether it runs from results


@pytest.fixture(scope="session")
def precomputed(chapter_run):
    """Every result of nbutils.precompute at profile ci, in the chapters' shared cache."""
    precompute_all("ci", log=lambda _: None)
    return chapter_run


@pytest.mark.parametrize("name", CHAPTERS, ids=CHAPTERS)
def test_chapter_executes_and_reproduces(name, chapter_run, request, monkeypatch):
    source = ROOT / "book" / f"{name}.ipynb"
    assert source.is_file(), f"_toc.yml lists {name} but {source} does not exist"
    if name in FROM_RESULTS:
        request.getfixturevalue("precomputed")
        monkeypatch.setenv("NBUTILS_RESULTS_ONLY", "1")   # papermill's and nbval's kernels
    runs = execute_chapters("ci", chapter_run, [name], root=ROOT, cwd=chapter_run)
    proc = run_nbval(runs[0].output, cwd=chapter_run)
    assert proc.returncode == 0, f"nbval failed for {name} ({runs[0].output}):\n{report(proc)}"


def test_chapter_runs_a_configuration_the_paper_did_not_show(chapter_run):
    """Chapter 5 with an extra panel, sigmoid + BatchNorm + Dropout ablated to the mean."""
    params = {"activation": "sigmoid", "regularizer": "bn_dropout", "ablation_value": "mean"}
    runs = execute_chapters("ci", chapter_run / "extra", ["05_layerwise_mnist"], params,
                            root=ROOT, cwd=chapter_run)
    text = printed(runs[0].output) + html_and_plain(runs[0].output)
    assert "(extra) MNIST" in text and "sigmoid" in text.lower()
    assert "BatchNorm" in text or "batch norm" in text.lower()


# ---------------------------------------------------------------------------------------------
# the pipeline on a tiny synthetic book

def tiny_book(root: Path, names: list[str]) -> Path:
    """A book whose chapters record the parameters they received and the kernel's interpreter."""
    toc = "format: jb-book\nroot: book/intro\nchapters:\n" + "".join(
        f"  - file: book/{n}\n" for n in names)
    (root / "book").mkdir(parents=True)
    (root / "_toc.yml").write_text(toc)
    (root / "book" / "intro.md").write_text("# Intro\n")
    for n in names:
        params = new_code_cell('profile = "quick"\nseeds = None', metadata={"tags": ["parameters"]})
        body = new_code_cell(textwrap.dedent(f"""\
            import os, sys
            print({n!r}, profile, seeds, sys.prefix, os.getcwd())"""))
        nb = new_notebook(cells=[new_markdown_cell(f"# {n}"), params, body])
        nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3",
                                  "language": "python"}
        nbformat.write(nb, root / "book" / f"{n}.ipynb")
    return root


def printed(notebook: Path) -> str:
    nb = nbformat.read(notebook, as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def html_and_plain(notebook: Path) -> str:
    """The text/plain and text/html parts of every display output (tables, reprs)."""
    nb = nbformat.read(notebook, as_version=4)
    return "".join(o.get("data", {}).get(mime, "") for c in nb.cells if c.cell_type == "code"
                   for o in c.outputs for mime in ("text/plain", "text/html"))


def test_pipeline_runs_toc_order_with_parameters_and_this_interpreter(tmp_path):
    root = tiny_book(tmp_path / "src", ["02_b", "01_a"])
    lines = []
    runs = execute_chapters("ci", tmp_path / "out", ["01_a", "02_b"], {"seeds": 4},
                            root=root, log=lines.append)
    assert [r.name for r in runs] == ["02_b", "01_a"]  # toc order, not the order asked
    for r in runs:
        name, profile, seeds, prefix, cwd = printed(r.output).split()
        assert (name, profile, seeds) == (r.name, "ci", "4")
        assert Path(prefix).resolve() == Path(sys.prefix).resolve()  # kernel "python3" = us
        assert Path(cwd).resolve() == (root / "book").resolve()      # the notebook's folder
        nb = nbformat.read(r.output, 4)
        assert nb.metadata.papermill.output_path == str(r.output)
        [injected] = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
        [params] = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        # the book shows the parameters once: the run's values, in place of the defaults
        assert "remove-cell" not in injected.metadata.tags
        assert "remove-cell" in params.metadata.tags
    assert all("s ->" in line for line in lines[1:-1]) and lines[-1].startswith("[pipeline] done")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["01_a.ipynb", "02_b.ipynb"]


def test_pipeline_runs_the_claims_dashboard_last_on_its_output(tmp_path):
    root = tiny_book(tmp_path / "src", ["claims", "01_a"])
    nb = nbformat.read(root / "book" / "claims.ipynb", 4)
    nb.cells[1].source += '\nchapters_dir = "."'
    nb.cells[2].source = ("import pathlib\n"
                          "print(sorted(p.name for p in pathlib.Path(chapters_dir).iterdir()))")
    nbformat.write(nb, root / "book" / "claims.ipynb")
    runs = execute_chapters("ci", tmp_path / "out", None, root=root, log=lambda line: None)
    assert [r.name for r in runs] == ["01_a", "claims"]   # after the chapters it summarizes
    assert "01_a.ipynb" in printed(runs[-1].output)        # read from the pipeline's output


def test_markdown_pages_listed_without_suffix_are_not_chapters(tmp_path):
    root = tiny_book(tmp_path / "src", ["01_a"])
    (root / "book" / "refs.md").write_text("# References\n")
    with (root / "_toc.yml").open("a") as toc:
        toc.write("  - file: book/refs\n")
    assert [c.name for c in list_chapters(root)] == ["01_a"]


def test_pipeline_rejects_unknown_chapter_and_lists_the_available(tmp_path, capsys):
    root = tiny_book(tmp_path, ["01_a", "02_b"])
    with pytest.raises(ChapterError, match="available .*01_a, 02_b"):
        execute_chapters("ci", tmp_path / "out", ["01_a", "nope"], root=root)
    with pytest.raises(SystemExit) as exit_info:
        main(["--root", str(root), "--chapters", "nope"])
    assert exit_info.value.code == 2
    assert "unknown chapter(s) ['nope']" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_pipeline_keeps_a_failed_chapter_aside(tmp_path):
    import papermill

    root = tiny_book(tmp_path / "src", ["01_a"])
    nb_path = root / "book" / "01_a.ipynb"
    nb = nbformat.read(nb_path, 4)
    nb.cells.append(new_code_cell("raise RuntimeError('boom')"))
    nbformat.write(nb, nb_path)
    out = tmp_path / "out"
    with pytest.raises(papermill.PapermillExecutionError, match="boom"):
        execute_chapters("ci", out, root=root, log=lambda _: None)
    assert sorted(p.name for p in out.iterdir()) == ["01_a.failed.ipynb"]


def test_toc_lists_the_chapters_in_book_order():
    from nbutils.pipeline import SUMMARY_PAGES

    assert CHAPTERS[0] == "01_setup"
    numbered = [c for c in CHAPTERS if c not in SUMMARY_PAGES]
    assert numbered == sorted(numbered) and all(c[:2].isdigit() for c in numbered)
    # the summary pages last; the verdict changes before the dashboard, which reads its record
    assert CHAPTERS[len(numbered):] == ["verdict_changes", "claims", "findings"]


# ---------------------------------------------------------------------------------------------
# what nbval compares, and the sanitizers (synthetic notebooks with hand-written references)

def reference_notebook(path: Path, cells: list[tuple[str, list]]) -> Path:
    """A notebook whose code cells carry the given reference outputs (as if run before)."""
    nb = new_notebook(cells=[new_code_cell(src, execution_count=i + 1, outputs=outs)
                             for i, (src, outs) in enumerate(cells)])
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def stdout(text):
    return new_output("stream", name="stdout", text=text)


def stderr(text):
    return new_output("stream", name="stderr", text=text)


def test_nbval_passes_when_only_timings_hosts_addresses_tqdm_or_pngs_differ(tmp_path):
    old_bar = ("\rtrain:   0%|          | 0/3 [00:00<?, ?it/s]"
               "\rtrain: 100%|██████████| 3/3 [00:07<00:00,  0.41it/s]\n")
    nb = reference_notebook(tmp_path / "same.ipynb", [
        ("print('accuracy 97.50 [time: 812.3 s]')\nprint('[host: GPU NVIDIA H100, torch 2.14.1]')",
         [stdout("accuracy 97.50 [time: 0.1 s]\n[host: CPU Xeon (2 cores), torch 2.14.1]\n")]),
        ("object()",
         [new_output("execute_result", data={"text/plain": "<object at 0x7f00deadbeef>"},
                     execution_count=2)]),
        ("import sys\nfrom tqdm import tqdm\n"
         "for _ in tqdm(range(3), desc='train', file=sys.stderr):\n    pass", [stderr(old_bar)]),
        ("import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()",
         [new_output("display_data", data={"image/png": "iVBORw0KGgoAAAANSUhEUg==",
                                           "text/plain": "<Figure size 640x480 with 1 Axes>"})]),
    ])
    proc = run_nbval(nb, cwd=tmp_path)
    assert proc.returncode == 0, report(proc)
    assert "4 passed" in proc.stdout


def test_nbval_fails_on_a_changed_number_on_stdout_or_stderr(tmp_path):
    nb = reference_notebook(tmp_path / "changed.ipynb", [
        ("print('accuracy 97.51 [time: 1.0 s]')", [stdout("accuracy 97.50 [time: 1.0 s]\n")]),
        ("import sys\nprint('3 dead neurons', file=sys.stderr)",
         [stderr("4 dead neurons\n")]),
        ("print('unchanged')", [stdout("unchanged\n")]),
    ])
    proc = run_nbval(nb, cwd=tmp_path)
    assert proc.returncode == 1, report(proc)
    assert "2 failed, 1 passed" in proc.stdout, report(proc)
    assert "97.50" in proc.stdout and "97.51" in proc.stdout


def test_sanitizers_rewrite_only_what_they_should():
    import re

    from nbval.plugin import get_sanitize_patterns

    patterns = get_sanitize_patterns(SANITIZE.read_text())
    assert len(patterns) == 5

    def clean(text):
        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        return text

    assert clean("fit [time: 12.3 s]") == clean("fit [time: 0.4 s]")
    assert clean("[host: CPU x (2 cores)]") == clean("[host: GPU NVIDIA H200, torch 2.14.1]")
    assert clean("<Net at 0x7f3a>") == clean("<Net at 0x55ee12>")
    assert clean("e: 100%|##########| 9/9 [00:02<00:00, 4.1it/s]") == clean(
        "e: 100%|██████████| 9/9 [01:02<00:00,  1.10s/it]")
    assert clean("e: 100%|#| 9/9 [00:02<00:00]") != clean("e: 100%|#| 8/9 [00:02<00:00]")
    for kept in ("accuracy 97.50 ± 0.12", "MG@80 = -28.9, p = 1.98e-29", "[0.25, 0.5]",
                 "| claim | verdict |", "layer [1]", "50%"):
        assert clean(kept) == kept


def test_pipeline_in_place_gives_the_dashboard_no_machine_path(tmp_path):
    """Run in place (output = the book's folder), the dashboard keeps its default "." so the
    committed notebook names no folder of the machine that ran it."""
    root = tiny_book(tmp_path / "src", ["claims", "01_a"])
    nb = nbformat.read(root / "book" / "claims.ipynb", 4)
    nb.cells[1].source += '\nchapters_dir = "."'
    nb.cells[2].source = "print(chapters_dir)"
    nbformat.write(nb, root / "book" / "claims.ipynb")
    runs = execute_chapters("ci", root / "book", None, root=root, log=lambda line: None)
    assert printed(runs[-1].output).strip() == "."
    nb = nbformat.read(root / "book" / "claims.ipynb", 4)
    assert nb.metadata.papermill.parameters == {"profile": "ci"}
