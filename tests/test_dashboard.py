"""The claims dashboard reads what the chapters recorded (nbutils.dashboard)."""
import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from nbutils import dashboard
from nbutils.report import CLAIMS_RECORD

ROOT = Path(__file__).resolve().parent.parent
CLAIMS_MD = ROOT.parent / "shared" / "paper" / "CLAIMS.md"


def test_register_has_the_papers_43_claims():
    assert len(dashboard.REGISTER) == 43
    if CLAIMS_MD.is_file():   # the claims register beside the repository (CI has it)
        ids = re.findall(r"^- ([A-Z]\d[a-z]?) ", CLAIMS_MD.read_text(), flags=re.M)
        assert ids == list(dashboard.REGISTER)


def _recording_notebook(path, claims_source):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "from nbutils.report import Claim, claims_table\n"
        f"claims_table({claims_source}, profile='quick')")]
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("# 9. A chapter: its title"))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    nbformat.write(nb, path)


def test_a_chapter_records_its_claims_and_the_dashboard_reads_them(tmp_path):
    _recording_notebook(tmp_path / "09_x.ipynb",
                        "[Claim('F3a', 'paper', 'ours', 'partly', 'fewer seeds; and more'), "
                        "Claim('F1a (MNIST half)', 'p', 'o', 'reproduced')]")
    _recording_notebook(tmp_path / "03_y.ipynb",
                        "[Claim('F3a', 'p', 'o', 'not testable', 'judged elsewhere')]")
    rows = dashboard.collect([tmp_path / "missing", tmp_path], ["03_y.ipynb", "09_x.ipynb"])
    assert [(r.claim, r.verdict, r.profile, r.chapter) for r in rows] == [
        ("F3a", "not testable", "quick", "03_y.ipynb"),
        ("F3a", "partly", "quick", "09_x.ipynb"),
        ("F1a (MNIST half)", "reproduced", "quick", "09_x.ipynb")]
    assert rows[1].title == "9. A chapter: its title"
    table = dashboard.dashboard(rows)
    # every register id appears; the placeholder of chapter 3 gives way to the real verdict
    assert set(table["claim"].str.split().str[0]) == set(dashboard.REGISTER)
    f3a = table[table["claim"] == "F3a"]
    assert f3a["verdict"].tolist() == ["partly"] and f3a["reason"].tolist() == ["fewer seeds"]
    assert table.loc[table["claim"] == "P2", "verdict"].item() == dashboard.NO_CHAPTER
    counts = dashboard.counts(table)
    assert counts["partly"] == 1 and counts["reproduced"] == 1
    assert counts[dashboard.NO_CHAPTER] == len(dashboard.REGISTER) - 2
    text = dashboard.markdown(table)
    assert "| F3a | " in text and "[chapter 9](09_x.ipynb)" in text


def test_unknown_claim_and_missing_chapter_are_reported(tmp_path):
    with pytest.raises(ValueError, match="chapters"):
        dashboard.collect([tmp_path], ["nothing.ipynb"])
    row = dashboard.Row("Z9", "partly", "", "quick", "x.ipynb", "x")
    with pytest.raises(ValueError, match="Z9"):
        dashboard.dashboard([row])


def test_a_corrupt_record_is_reported(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [nbformat.v4.new_output(
        "display_data", data={"application/papermill.record/text/plain": "'{not json'"},
        metadata={"scrapbook": {"name": CLAIMS_RECORD, "mime_prefix": ""}})]
    nb.cells = [cell]
    nbformat.write(nb, tmp_path / "bad.ipynb")
    with pytest.raises(ValueError, match="bad.ipynb"):
        dashboard.read_records(tmp_path / "bad.ipynb")


def test_first_reason_cuts_at_a_word_and_skips_the_scale_note():
    assert dashboard.first_reason("a; b") == "a"
    assert dashboard.first_reason("quick profile: 8 seeds instead of 50; (c) differs") == \
        "(c) differs"
    assert dashboard.first_reason("at the paper's scale (remaining ...)") == \
        "at the paper's scale (remaining ...)"
    assert dashboard.first_reason("x: p = 0.031 (exact; normal approximation 0.036); y") == \
        "x: p = 0.031 (exact; normal approximation 0.036)"
    long = "word " * 60
    cut = dashboard.first_reason(long, limit=20)
    assert cut.endswith(" ...") and len(cut) <= 24


def test_verdict_changes_lists_changed_and_unmatched_rows_only():
    def row(claim, verdict, profile, ours="", chapter="05.ipynb"):
        return dashboard.Row(claim, verdict, "", profile, chapter, "5. x", ours)
    before = [row("F3a", "reproduced", "quick", "gap 20"),
              row("F3b", "partly", "quick", "p 0.01"),
              row("F3c", "reproduced", "quick"),
              row("F3c", "not testable", "quick", chapter="06")]
    after = [row("F3a", "reproduced", "paper", "gap 21"),
             row("F3b", "reproduced", "paper", "p 1e-9"),
             row("F3c", "reproduced", "paper"),
             row("F3d", "partly", "paper")]
    table = dashboard.verdict_changes(before, after)
    assert table[["chapter", "claim", "verdict before", "verdict after"]].values.tolist() == [
        ["05.ipynb", "F3b", "partly", "reproduced"],
        ["06", "F3c", "not testable", "not recorded"],
        ["05.ipynb", "F3d", "not recorded", "partly"]]
    assert table.loc[0, "measured before"] == "p 0.01"
    assert table.loc[0, "measured after"] == "p 1e-9"
    assert dashboard.verdict_changes(after, after).empty


def test_committed_book_records_every_chapter():
    """Every executed chapter of the book carries its claims record (the dashboard's source)."""
    from nbutils.pipeline import SUMMARY_PAGES, list_chapters
    for chapter in list_chapters(ROOT):
        if chapter.name in SUMMARY_PAGES:
            continue
        rows = dashboard.read_records(chapter.path)
        if chapter.name in dashboard.BEYOND_THE_PAPER:
            assert rows == [], f"{chapter.name} goes beyond the paper: it has no claims"
            continue
        assert rows, f"{chapter.name} records no claims"
        json.dumps([r.__dict__ for r in rows])
