"""Every chapter refuses a parameter it cannot use before anything is loaded, trained or cached.

Each chapter of ``_toc.yml`` is run with papermill (as a reader would: ``papermill CHAPTER OUT
-p NAME VALUE``) with one refused parameter: a value outside what the chapter can draw, or a
name it does not define (papermill itself only warns about those). The chapter must stop with
one ``ParameterError`` naming the parameter, leave a non-empty results and weights cache
byte-identical, and read no data (``NBUTILS_DATA`` names a missing folder). Each case costs a
kernel start and the chapter's imports (5-20 s). The pipeline's own check of extra parameters
is tested at the end on a tiny synthetic book.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from nbutils import cache
from nbutils.pipeline import execute_chapters, execution_order, list_chapters, main

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = [c.name for c in execution_order(list_chapters(ROOT, must_exist=False))]

REFUSED = {   # chapter -> (papermill parameters, what the error must say)
    "01_setup": ({"chapters": ["fig1", "fig9"]}, "parameter 'chapters' = ['fig1', 'fig9']"),
    "02_measures": ({"regulariser": "l2"},
                    "unknown parameter 'regulariser' (did you mean 'regularizer'?)"),
    "03_fig1_violins": ({"activation": "tanh"}, "parameter 'activation' = 'tanh'"),
    "04_whole_network_ablation": ({"ablation_value": "median"},
                                  "parameter 'ablation_value' = 'median'"),
    "05_layerwise_mnist": ({"seeds": "three"}, "parameter 'seeds' = 'three'"),
    "06_layerwise_fashionmnist": (
        {"arch": "cifar10"}, "parameter 'arch' = 'cifar10' (type str) is not allowed: one of "
                             "['mnist', 'fashionmnist', 'fashionmnist_small', 'pruning']"),
    "07_layerwise_cifar10": ({"layers": [5]}, "parameter 'layers' = [5]"),
    "08_counterexamples": ({"seed": 3}, "unknown parameter 'seed' (did you mean 'seeds'?)"),
    "09_pruning": ({"finetune_epoch": 3},
                   "unknown parameter 'finetune_epoch' (did you mean 'finetune_epochs'?)"),
    "findings": ({"chapters_dir": "/nonexistent/chapters"}, "parameter 'chapters_dir'"),
    "10_importance_measures": ({"progres": True},
                               "unknown parameter 'progres' (did you mean 'progress'?)"),
    "11_unstated_choices": ({"profile": "paper"}, "parameter 'profile' = 'paper'"),
    "claims": ({"chapters_dir": "/nonexistent/chapters"}, "parameter 'chapters_dir'"),
    "verdict_changes": ({"chapters_dir": "/nonexistent/chapters"}, "parameter 'chapters_dir'"),
}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture
def filled_cache(tmp_path, monkeypatch) -> Path:
    """A results and weights cache with one file each, as the chapters' environment; no data."""
    root = tmp_path / "cache"
    cache.save_arrays(root / "results" / "net-ci-3seeds-0123456789" / "summary-abc.npz",
                      {"test_acc": np.array([0.9, 0.8])}, {"weights": "0" * 64})
    cache.save_state(root / "weights" / "net-ci-3seeds-0123456789.pt", {"key": "k"})
    monkeypatch.setenv("NBUTILS_CACHE", str(root))
    monkeypatch.delenv("NBUTILS_RESULTS", raising=False)
    monkeypatch.delenv("NBUTILS_RESULTS_ONLY", raising=False)
    monkeypatch.setenv("NBUTILS_DATA", str(tmp_path / "no-data"))
    return root


def test_every_chapter_has_a_refused_parameter_case():
    assert sorted(REFUSED) == sorted(CHAPTERS)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=CHAPTERS)
def test_a_refused_parameter_stops_the_chapter_and_leaves_the_cache_untouched(
        chapter, filled_cache, tmp_path):
    import papermill as pm

    params, message = REFUSED[chapter]
    before, shipped = snapshot(filled_cache), snapshot(cache.SHIPPED_RESULTS)
    with pytest.raises(pm.PapermillExecutionError) as err:
        pm.execute_notebook(str(ROOT / "book" / f"{chapter}.ipynb"), str(tmp_path / "out.ipynb"),
                            parameters={"profile": "ci", **params}, kernel_name="python3",
                            cwd=str(tmp_path), progress_bar=False)
    assert err.value.ename == "ParameterError", err.value.evalue
    assert message in err.value.evalue
    assert snapshot(filled_cache) == before
    assert snapshot(cache.SHIPPED_RESULTS) == shipped


# ------------------------------------------------------------------- the pipeline's extras
def small_book(root: Path) -> Path:
    """Two chapters: ``01_a`` defines ``seeds``, ``02_b`` does not."""
    (root / "book").mkdir(parents=True)
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n"
                                   "  - file: book/01_a\n  - file: book/02_b\n")
    (root / "book" / "intro.md").write_text("# Intro\n")
    for name, params in (("01_a", 'profile = "quick"\nseeds = None'), ("02_b", 'profile = "x"')):
        body = textwrap.dedent("""\
            from nbutils.params import check_parameters
            check_parameters(profile=profile)
            print(sorted(k for k in ("profile", "seeds") if k in globals()))""")
        nb = new_notebook(cells=[new_markdown_cell(f"# {name}"),
                                 new_code_cell(params, metadata={"tags": ["parameters"]}),
                                 new_code_cell(body)])
        nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3",
                                  "language": "python"}
        nbformat.write(nb, root / "book" / f"{name}.ipynb")
    return root


def test_pipeline_gives_each_chapter_only_the_parameters_it_defines(tmp_path):
    root = small_book(tmp_path / "src")
    runs = execute_chapters("ci", tmp_path / "out", None, {"seeds": 4}, root=root,
                            log=lambda _: None)
    injected = {r.name: nbformat.read(r.output, 4).metadata.papermill.parameters for r in runs}
    assert injected == {"01_a": {"profile": "ci", "seeds": 4}, "02_b": {"profile": "ci"}}


def test_pipeline_refuses_a_parameter_no_chapter_defines_before_running(tmp_path, capsys):
    from nbutils.params import ParameterError

    root = small_book(tmp_path / "src")
    with pytest.raises(ParameterError, match=r"'sedes' \(did you mean 'seeds'\?\)"):
        execute_chapters("ci", tmp_path / "out", None, {"sedes": 4}, root=root)
    with pytest.raises(SystemExit) as exit_info:
        main(["--root", str(root), "--out", str(tmp_path / "out"), "-p", "sedes", "4"])
    assert exit_info.value.code == 2
    assert "did you mean 'seeds'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------- missing data: skip or fail
def test_missing_data_skips_locally_and_fails_in_ci(monkeypatch):
    from conftest import skip_or_fail

    for value in ("", "0", "false"):
        monkeypatch.setenv("CI", value)
        with pytest.raises(pytest.skip.Exception, match="no data here"):
            skip_or_fail("no data here")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no data here.*CI is set"):
        skip_or_fail("no data here")


def test_make_test_prints_the_reasons_of_skips_and_ci_sets_ci():
    recipe = (ROOT / "Makefile").read_text().split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "pytest tests" in recipe and " -rs " in recipe
    assert "export CI=" in (ROOT / ".ci" / "run").read_text()
