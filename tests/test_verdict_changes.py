"""Verdict changes between runs (nbutils.chapters.changes): the table on hand-made verdicts, the
runs found from folder names, and, from the shipped results, the paper run's rows against the
committed chapters."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from nbutils import cache, dashboard
from nbutils.chapters import changes
from nbutils.chapters.changes import NO_RESULT, Comparison, Run

ROOT = Path(__file__).resolve().parent.parent

FEW, MANY, OTHER = "quick, [0, 1]", "paper, [0, 1]", "quick, per channel"
COMPARED = [Comparison(FEW, MANY, "seeds"), Comparison(FEW, OTHER, "reading")]
VERDICTS = {
    FEW: {("04_x", "F2a"): "partly", ("04_x", "F2b"): "reproduced",
          ("04_x", "F2c"): "not reproduced"},
    MANY: {("04_x", "F2a"): "reproduced", ("04_x", "F2b"): "reproduced"},
    OTHER: {("04_x", "F2a"): "partly", ("04_x", "F2b"): "reproduced",
            ("04_x", "F2c"): "partly", ("05_y", "F3a"): "reproduced"},
}
ORDER = [("04_x", "F2a"), ("04_x", "F2b"), ("04_x", "F2c")]


def test_the_table_says_changed_unchanged_and_no_result():
    table = changes.verdict_table(VERDICTS, ORDER, COMPARED)
    assert list(table.columns) == ["chapter", "claim", FEW, MANY, OTHER, "changed?",
                                   changes.OTHER_SEEDS]
    assert set(table[changes.OTHER_SEEDS]) == {""}     # every reading compared at equal seeds
    lines = table.set_index("claim")
    # F2a: partly -> reproduced with more seeds, the same under the other reading
    assert lines.loc["F2a", "changed?"] == f"{FEW} \u2192 {MANY}"
    assert lines.loc["F2b", "changed?"] == "no"
    # F2c: no result with many seeds; compared under the other reading only, where it changes
    assert lines.loc["F2c", MANY] == NO_RESULT
    assert lines.loc["F2c", "changed?"] == f"{FEW} \u2192 {OTHER}"
    # F3a: only one run has it (added after the order given): nothing to compare
    assert list(table["claim"]) == ["F2a", "F2b", "F2c", "F3a"]
    assert lines.loc["F3a", FEW] == NO_RESULT and lines.loc["F3a", "changed?"] == NO_RESULT

    counts = changes.change_counts(table, COMPARED)
    assert counts.loc[f"{FEW} \u2192 {MANY}"].tolist() == ["seeds", 2, 1, 2]
    assert counts.loc[f"{FEW} \u2192 {OTHER}"].tolist() == ["reading", 3, 1, 1]


def test_a_reading_at_other_seeds_compares_nothing():
    """A comparison of readings whose runs judge a chapter on networks with other seeds does
    not compare its lines (a difference could come from the seeds); a comparison of seeds is
    one by definition."""
    def same_seeds(key, c):
        return key[1] != "F2c"

    table = changes.verdict_table(VERDICTS, ORDER, COMPARED, same_seeds)
    lines = table.set_index("claim")
    assert lines.loc["F2c", "changed?"] == changes.OTHER_SEEDS   # only the reading had both
    assert lines.loc["F2c", changes.OTHER_SEEDS] == f"{FEW} \u2192 {OTHER}"
    assert lines.loc["F2a", "changed?"] == f"{FEW} \u2192 {MANY}"   # seeds: compared
    reading = COMPARED[1]
    assert changes.compared_in(table, reading)["claim"].tolist() == ["F2a", "F2b"]
    assert changes.change_counts(table, COMPARED).loc[reading.label].tolist() == \
        ["reading", 2, 0, 2]
    # the record names the run whose verdict is at other seeds, for the dashboard
    import json
    rep = _Report([Run("quick", "unit"), Run("paper", "unit"), Run("quick", "standardized")],
                  VERDICTS)
    rep.table, rep.compared = table, COMPARED
    lines = {x["claim"]: x for x in json.loads(changes.record(rep))["lines"]}
    assert lines["F2c"]["other_seeds"] == [OTHER] and lines["F2a"]["other_seeds"] == []


def test_a_report_compares_the_seeds_each_chapter_read():
    runs = (Run("paper", "unit", {"cifar10-relu-l2": 35, "mnist-relu-l2": 50}),
            Run("paper", "standardized", {"cifar10-relu-l2": 6, "mnist-relu-l2": 50}))
    from nbutils.claims import Claim
    row = Claim("F", "p", "o", "partly")
    outcomes = {runs[0].name: (changes.Outcome("04_x", (row,), read=("mnist-relu-l2",)),
                               changes.Outcome("07_z", (row,), read=("cifar10-relu-l2",))),
                runs[1].name: (changes.Outcome("04_x", (row,), read=("mnist-relu-l2",)),
                               changes.Outcome("07_z", (row,), read=("cifar10-relu-l2",)))}
    rep = changes.Report(runs, outcomes, tuple(changes.comparisons(runs)), ())
    [reading] = rep.compared
    assert rep.seeds_read("07_z", runs[1].name) == {"cifar10-relu-l2": 6}
    assert rep.same_seeds(("04_x", "F"), reading)
    assert not rep.same_seeds(("07_z", "F"), reading)
    table = rep.table.set_index("chapter")
    assert table.loc["04_x", "changed?"] == "no"
    assert table.loc["07_z", "changed?"] == changes.OTHER_SEEDS


def test_a_row_that_names_its_networks_is_compared_on_their_seeds():
    a, b = "cifar10-relu-l2", "cifar10_funnel-relu-l2"
    runs = (Run("paper", "unit", {a: 35, b: 35}), Run("paper", "standardized", {a: 35, b: 6}))
    from nbutils.claims import Claim
    rows = (Claim("F5c", "p", "o", "partly", networks=(a,)),
            Claim("F5d", "p", "o", "partly", networks=(b,)), Claim("S4", "p", "o", "partly"))
    outcomes = {run.name: (changes.Outcome("07_z", rows, read=(a, b)),) for run in runs}
    rep = changes.Report(runs, outcomes, tuple(changes.comparisons(runs)), ())
    [reading] = rep.compared
    assert rep.seeds_read("07_z", runs[1].name, "F5c") == {a: 35}
    assert rep.seeds_read("07_z", runs[1].name) == {a: 35, b: 6}
    assert rep.same_seeds(("07_z", "F5c"), reading)
    assert not rep.same_seeds(("07_z", "F5d"), reading)
    assert not rep.same_seeds(("07_z", "S4"), reading)      # no networks named: the chapter's
    table = rep.table.set_index("claim")
    assert table.loc["F5c", "changed?"] == "no"
    assert table.loc["F5d", "changed?"] == table.loc["S4", "changed?"] == changes.OTHER_SEEDS


def test_a_comparison_of_a_run_not_in_the_table_is_refused():
    with pytest.raises(ValueError, match="compared: runs"):
        changes.verdict_table(VERDICTS, ORDER, [Comparison(FEW, "ci, [0, 1]", "seeds")])


def test_the_html_links_each_claim_and_badges_each_verdict():
    table = changes.verdict_table(VERDICTS, ORDER, COMPARED)
    runs = [Run("quick", "unit", {"mnist-relu-l2": 3}), Run("paper", "unit", {"mnist-relu-l2": 50}),
            Run("quick", "standardized", {"mnist-relu-l2": 3})]
    assert [r.name for r in runs] == [FEW, MANY, OTHER]
    text = changes.html(table, runs, {("04_x", "F2a"): "04_x.html#claim-f2a"},
                        {"04_x": "4. Fig. 2: whole network"})
    assert text.startswith('<table class="dashboard-table changes-table">')
    assert '<tr id="changes-f2a">' in text and '<tr id="changes-f3a">' in text
    assert '<a href="04_x.html#claim-f2a">F2a</a> <span class="profile">chapter 4</span>' in text
    assert f'<td data-label="verdict, {MANY}"><span class="verdict verdict-reproduced">' in text
    assert text.count('class="verdict verdict-no-result">no result</span>') == 3
    assert f"<strong>{FEW} \u2192 {MANY}</strong>" in text     # a change stands out
    assert "<th>paper, [0, 1] <span class=\"profile\">50 seeds</span></th>" in text


def test_runs_are_found_from_the_shipped_folder_names(tmp_path):
    for name in ("mnist-relu-l2-paper-50seeds-92793c243b",
                 "cifar10-relu-l2-paper-35seeds-b8bab81760",
                 "mnist-relu-bn_dropout-std-quick-3seeds-2688f97ad3",
                 "mnist-relu-l2-quick-3seeds-972566eb1a",
                 "mnist-relu-l2-pix-quick-3seeds-d8e46917a4",
                 "mnist-relu-l2-paper-seeds6-10-0123456789",      # a shard: not a run
                 "mnist-relu-l2-quick-8seeds-0123456789"):        # the larger count wins
        (tmp_path / name).mkdir()
    (tmp_path / "mnist-relu-l2-ci-3seeds-0123456789").write_text("")   # a file, not a folder
    runs = changes.shipped_runs(tmp_path)
    assert [r.name for r in runs] == [MANY, FEW, OTHER, "quick, per pixel"]
    assert runs[0].seeds == {"mnist-relu-l2": 50, "cifar10-relu-l2": 35}
    assert runs[0].scale == "50 seeds (CIFAR-10: 35)"
    assert runs[1].seeds == {"mnist-relu-l2": 8}
    assert runs[2].seeds == {"mnist-relu-bn_dropout": 3}
    assert runs[2].reading == "standardized per channel"
    with pytest.raises(changes.NoResultError, match="no results of mnist-relu-l2 shipped"):
        runs[2].seeds_of(("mnist", "relu", "l2"))
    assert changes.comparisons(runs) == [Comparison(FEW, MANY, "seeds"),
                                         Comparison(FEW, OTHER, "reading"),
                                         Comparison(FEW, "quick, per pixel", "reading")]


def test_an_unknown_chapter_is_refused():
    with pytest.raises(ValueError, match=r"chapters=\['ch08'\]: allowed"):
        changes.run_claims(Run("paper", "unit"), ["ch08"])


def test_shipped_only_reads_no_cache_and_restores_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(cache.ENV_RESULTS, str(tmp_path))
    monkeypatch.delenv(cache.ENV_RESULTS_ONLY, raising=False)
    with changes.shipped_only():
        assert cache.results_only()
        assert cache.results_dir() != tmp_path and not any(cache.results_dir().iterdir())
    assert os.environ[cache.ENV_RESULTS] == str(tmp_path)
    assert cache.ENV_RESULTS_ONLY not in os.environ


def test_the_paper_run_recomputes_the_committed_chapters_rows(real_root):
    """From the shipped results (seconds): chapters 4 and 5 at the paper profile, claim and
    verdict as the committed notebooks record them; the screen's quick run shipped no curves."""
    runs = {r.name: r for r in changes.shipped_runs()}
    outcomes = changes.run_claims(runs[MANY], ["ch04", "ch05"])
    for outcome in outcomes:
        recorded = dashboard.read_records(ROOT / "book" / f"{outcome.chapter}.ipynb")
        assert recorded and outcome.missing == ""
        assert [(c.id, c.verdict) for c in outcome.rows] == \
            [(r.claim, r.verdict) for r in recorded]
    [quick] = changes.run_claims(runs[FEW], ["ch04"])
    assert quick.rows == () and quick.missing.startswith("no whole-network curves shipped (")


def _dashboard_lines(*lines):
    """A dashboard table (nbutils.dashboard.dashboard) of hand-made lines:
    (chapter notebook, claim, verdict, profile)."""
    import pandas as pd
    return pd.DataFrame([{"claim": claim, "id": claim.split()[0], "statement": "s",
                          "verdict": verdict, "provisional": False, "control": False,
                          "chapter": chapter, "title": "4. T", "profile": profile,
                          "reason": "", "link": ""}
                         for chapter, claim, verdict, profile in lines])


def _record_page(tmp_path, rep):
    """An executed page holding the verdict-changes record of ``rep`` (as the page glues it)."""
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "from myst_nb import glue\n"
        f"glue({dashboard.CHANGES_RECORD!r}, {changes.record(rep)!r}, display=False)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    path = tmp_path / dashboard.CHANGES_NOTEBOOK
    nbformat.write(nb, path)
    return path


class _Report:
    """A stand-in for changes.Report with a hand-made table."""
    def __init__(self, runs, verdicts):
        self.runs = runs
        self.compared = []
        self.table = changes.verdict_table(verdicts, ORDER, [])


def test_the_dashboard_says_whether_a_verdict_holds_under_both_readings(tmp_path):
    runs = (Run("paper", "unit"), Run("paper", "standardized"), Run("quick", "standardized"))
    names = [r.name for r in runs]
    verdicts = {names[0]: {("04_x", "F2a"): "reproduced", ("04_x", "F2b"): "partly",
                           ("04_x", "F2c"): "partly"},
                names[1]: {("04_x", "F2a"): "reproduced", ("04_x", "F2b"): "not reproduced"},
                names[2]: {("04_x", "F2c"): "not reproduced"}}
    page = _record_page(tmp_path, _Report(runs, verdicts))
    record = dashboard.read_changes(page)
    assert [r.name for r in record.runs] == names
    table = _dashboard_lines(("04_x.ipynb", "F2a", "reproduced", "paper"),
                             ("04_x.ipynb", "F2b", "partly", "paper"),
                             # F2c: only a quick run under the other reading, not the profile
                             ("04_x.ipynb", "F2c", "partly", "paper"),
                             ("05_y.ipynb", "F3a", "partly", "paper"))
    out = dashboard.both_readings(table, record, "unit")
    assert out[dashboard.BOTH_READINGS].tolist() == [
        "yes", "no: not reproduced (paper, per channel)", dashboard.NOT_COMPARED,
        dashboard.NOT_COMPARED]
    assert out["readings link"].tolist()[:2] == ["verdict_changes.html#changes-f2a",
                                                 "verdict_changes.html#changes-f2b"]
    html = dashboard.html(out)
    assert f"<th>{dashboard.BOTH_READINGS}</th>" in html
    assert '<a href="verdict_changes.html#changes-f2b">no: not reproduced' in html
    assert dashboard.readings_summary(out).startswith(
        "Under another reading of the input pixels (column 'same under both readings?'), 2 of "
        "the 4 lines have a verdict at their own profile and seeds: 1 keeps it and 1 change "
        "(F2b); 2 have no result")


def test_the_dashboard_does_not_compare_a_verdict_at_other_seeds():
    runs = (dashboard.ReadingRun("paper, [0, 1]", "paper", "unit"),
            dashboard.ReadingRun("paper, per channel", "paper", "standardized"))
    key_a, key_b = ("07_z", "F5a"), ("04_x", "F2a")
    record = dashboard.ChangesRecord(
        runs, {key_a: {"paper, [0, 1]": "partly", "paper, per channel": "reproduced"},
               key_b: {"paper, [0, 1]": "partly", "paper, per channel": "partly"}},
        {key_a: "changes-f5a", key_b: "changes-f2a"}, {key_a: frozenset({"paper, per channel"})})
    table = _dashboard_lines(("07_z.ipynb", "F5a", "partly", "paper"),
                             ("04_x.ipynb", "F2a", "partly", "paper"))
    out = dashboard.both_readings(table, record, "unit")
    assert out[dashboard.BOTH_READINGS].tolist() == [
        "at other seeds: reproduced (paper, per channel)", "yes"]
    assert dashboard.readings_summary(out) == (
        "Under another reading of the input pixels (column 'same under both readings?'), 1 of "
        "the 2 lines have a verdict at their own profile and seeds: 1 keeps it; 0 have no result "
        "under it yet, their networks not yet trained under it at that scale; 1 has one on "
        "networks with other seeds, not compared.")


def test_the_reading_does_not_apply_to_a_chapter_without_input_images():
    runs = (dashboard.ReadingRun("paper, [0, 1]", "paper", "unit"),
            dashboard.ReadingRun("paper, per channel", "paper", "standardized"))
    key = ("04_x", "F2a")
    record = dashboard.ChangesRecord(
        runs, {key: {"paper, [0, 1]": "partly", "paper, per channel": "partly"}},
        {key: "changes-f2a"}, {})
    table = _dashboard_lines(("04_x.ipynb", "F2a", "partly", "paper"),
                             ("08_e.ipynb", "M3 (Ex. 1)", "reproduced", "paper"),
                             ("09_p.ipynb", "P1", "reproduced", "quick"))
    out = dashboard.both_readings(table, record, "unit", input_free=("08_e",))
    assert out[dashboard.BOTH_READINGS].tolist() == ["yes", dashboard.NO_INPUTS,
                                                     dashboard.NOT_COMPARED]
    assert dashboard.readings_summary(out) == (
        "Under another reading of the input pixels (column 'same under both readings?'), 1 of "
        "the 3 lines have a verdict at their own profile and seeds: 1 keeps it; 1 has no result "
        "under it yet, their networks not yet trained under it at that scale; for 1 the "
        "reading does not apply (constructed networks, no input images).")


def test_chapter_8_is_the_chapter_without_input_images():
    from nbutils.chapters import input_free
    assert input_free() == ("08_counterexamples",)


def test_a_page_without_the_changes_record_is_refused(tmp_path):
    import nbformat
    path = tmp_path / "verdict_changes.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), path)
    with pytest.raises(ValueError, match="no verdict-changes record"):
        dashboard.read_changes(path)
