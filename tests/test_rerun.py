"""The box "Rerun this chapter" (nbutils.rerun): its command reproduces the run the page shows,
its times add up, and every committed chapter carries the box its run parameters give."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import nbformat
import pytest

from nbutils import pipeline, rerun
from nbutils.chapters import chapters

BOOK = Path(__file__).resolve().parents[1] / "book"
CHAPTERS = [ch.NOTEBOOK for ch in chapters()]


def _box_cell(nb):
    return [c for c in nb.cells if rerun.TAG in c.metadata.get("tags", [])]


@pytest.mark.parametrize("name", CHAPTERS)
def test_committed_chapter_carries_the_box_of_its_run(name):
    nb = nbformat.read(BOOK / f"{name}.ipynb", as_version=4)
    cells = _box_cell(nb)
    assert len(cells) == 1, "exactly one box per chapter"
    assert nb.cells.index(cells[0]) == 1, "the box follows the chapter's first cell"
    expected = rerun.box(name, nb.metadata["papermill"]["parameters"])
    assert cells[0].source == expected, (
        f"stale box in {name}: run python -m nbutils.pipeline --show-parameters book/{name}.ipynb")


@pytest.mark.parametrize("name", CHAPTERS)
def test_command_names_only_parameters_the_chapter_declares(name):
    nb = nbformat.read(BOOK / f"{name}.ipynb", as_version=4)
    params = nb.metadata["papermill"]["parameters"]
    line = rerun.command(name, params, results_only=False)
    words = shlex.split(line)
    assert words[:3] == [".venv/bin/python", "-m", "nbutils.pipeline"]
    assert words[words.index("--profile") + 1] == params["profile"]
    assert words[words.index("--chapters") + 1] == name
    given = {words[i + 1]: words[i + 2] for i, w in enumerate(words) if w == "-p"}
    declared = pipeline.declared_parameters(BOOK / f"{name}.ipynb")
    assert set(given) <= set(declared)
    # the values read back as the pipeline reads -p values
    assert {k: pipeline.parse_value(v) for k, v in given.items()} == {
        k: v for k, v in params.items() if k != "profile"}


def test_results_only_at_paper_and_for_the_shipped_screen():
    paper = rerun.box("05_layerwise_mnist", {"profile": "paper"})
    quick = rerun.box("05_layerwise_mnist", {"profile": "quick"})
    assert "NBUTILS_RESULTS_ONLY=1 .venv" in paper
    assert "NBUTILS_RESULTS_ONLY=1" not in quick
    assert "NBUTILS_RESULTS_ONLY=1 .venv" in rerun.box("11_unstated_choices",
                                                       {"profile": "quick"})
    # chapter 8 trains its own small networks: never "trains nothing"
    assert "trains nothing" not in rerun.box("08_counterexamples", {"profile": "paper"})


def _seconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+) (s|min|h)", text).groups()
    return float(value) * {"s": 1, "min": 60, "h": 3600}[unit]


def test_table_total_is_the_sum_of_its_rows():
    configs = next(ch for ch in chapters() if ch.NOTEBOOK == "04_whole_network_ablation").CONFIGS
    rows = rerun._times_table(configs)
    assert len(rows) == 2 + len(configs) + 1
    exact = sum(rerun.PAPER_TIMES[rerun.config_name(c)].cpu_training
                + rerun.PAPER_TIMES[rerun.config_name(c)].cpu_results for c in configs)
    total = rows[-1].split("|")[2].strip()
    assert abs(_seconds(total) - exact) <= 0.05 * 3600   # rounded to 0.1 h
    # one configuration without a GPU measurement: the total says so instead of a sum
    assert "not measured for all" in rows[-1]


def test_unmeasured_configuration_says_so():
    rows = rerun._times_table((("cifar10_funnel", "relu", "dropout"),))
    assert rows[-1] == "| `cifar10_funnel-relu-dropout` | not measured | not measured |"


def test_unknown_notebook_is_refused_with_the_allowed_names():
    with pytest.raises(ValueError, match=r"notebook must be one of the chapters \(01_setup"):
        rerun.box("12_missing", {"profile": "paper"})


def test_show_rerun_box_is_idempotent_and_skips_pages():
    nb = nbformat.read(BOOK / "05_layerwise_mnist.ipynb", as_version=4)
    n = len(nb.cells)
    assert rerun.show_rerun_box(nb, "05_layerwise_mnist")
    assert rerun.show_rerun_box(nb, "05_layerwise_mnist")
    assert len(nb.cells) == n and len(_box_cell(nb)) == 1
    nb.cells.remove(_box_cell(nb)[0])
    assert rerun.show_rerun_box(nb, "05_layerwise_mnist")
    assert nb.cells[1].id == rerun.TAG and len(nb.cells) == n
    nbformat.validate(nb)
    page = nbformat.read(BOOK / "claims.ipynb", as_version=4)
    assert not rerun.show_rerun_box(page, "claims")
    assert not _box_cell(page)
