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
        "from nbutils.claims import Claim, Reason\nfrom nbutils.report import claims_table\n"
        f"claims_table({claims_source}, profile='quick')")]
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("# 9. A chapter: its title"))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    nbformat.write(nb, path)


def test_a_chapter_records_its_claims_and_the_dashboard_reads_them(tmp_path):
    _recording_notebook(tmp_path / "09_x.ipynb",
                        "[Claim('F3a', 'paper', 'ours', 'partly', "
                        "(Reason('scale', 'quick profile: 8 seeds'), "
                        "Reason('note', 'fewer seeds; and more'))), "
                        "Claim('F1a (MNIST half)', 'p', 'o', 'reproduced')]")
    _recording_notebook(tmp_path / "03_y.ipynb",
                        "[Claim('F3a', 'p', 'o', 'not testable', 'judged elsewhere')]")
    rows = dashboard.collect([tmp_path / "missing", tmp_path], ["03_y.ipynb", "09_x.ipynb"])
    assert [(r.claim, r.verdict, r.profile, r.chapter) for r in rows] == [
        ("F3a", "not testable", "quick", "03_y.ipynb"),
        ("F3a", "partly", "quick", "09_x.ipynb"),
        ("F1a (MNIST half)", "reproduced", "quick", "09_x.ipynb")]
    assert rows[1].title == "9. A chapter: its title"
    assert all(r.provisional for r in rows)                  # profile quick: provisional
    table = dashboard.dashboard(rows)
    # every register id appears; the placeholder of chapter 3 gives way to the real verdict
    assert set(table["claim"].str.split().str[0]) == set(dashboard.REGISTER)
    f3a = table[table["claim"] == "F3a"]
    assert f3a["verdict"].tolist() == ["partly"]
    assert f3a["reason"].tolist() == ["fewer seeds; and more"]
    assert rows[1].reasons[0].kind == "scale" and rows[1].why.startswith("quick profile")
    assert table.loc[table["claim"] == "P2", "verdict"].item() == dashboard.NO_CHAPTER
    counts = dashboard.counts(table)
    assert counts["partly"] == 1 and counts["reproduced"] == 1
    assert counts[dashboard.NO_CHAPTER] == len(dashboard.REGISTER) - 2
    text = dashboard.markdown(table)
    assert "| F3a | " in text and "[chapter 9](09_x.ipynb)" in text
    assert "| **partly** (provisional) |" in text


def _row(claim, verdict, chapter="05.ipynb", provisional=False):
    return dashboard.Row(claim, verdict, "", "quick" if provisional else "paper", chapter,
                         "5. x", "", provisional)


def test_a_placeholder_gives_way_only_to_the_part_it_stands_for():
    # chapter 1 judges S4 on its networks and leaves the CIFAR-10 part to chapter 7
    own = _row("S4 (MNIST, FashionMNIST)", "reproduced", "01.ipynb")
    cifar = _row("S4 (CIFAR-10)", "not testable", "01.ipynb")
    rows = [own, cifar, _row("S5", "not testable", "01.ipynb"), _row("S5", "partly", "02.ipynb")]
    assert dashboard.kept_rows(rows, "S4") == [own, cifar]   # no chapter judges CIFAR-10 yet
    assert [r.chapter for r in dashboard.kept_rows(rows, "S5")] == ["02.ipynb"]  # whole claim
    judged = _row("S4 (CIFAR-10)", "partly", "07.ipynb", provisional=True)
    assert dashboard.kept_rows(rows + [judged], "S4") == [own, judged]
    # a chapter's own "not testable" verdict (too few seeds) stays when nothing replaces it
    few = _row("F5b", "not testable", "07.ipynb", provisional=True)
    assert dashboard.kept_rows([few], "F5b") == [few]


def test_counts_count_claims_not_lines_and_mark_provisional_ones():
    rows = [_row("S4 (MNIST, FashionMNIST)", "reproduced", "01.ipynb"),
            _row("S4 (CIFAR-10)", "not testable", "01.ipynb"),
            _row("M3 (Ex. 1)", "reproduced", "08.ipynb"),
            _row("M3 (Ex. 2)", "reproduced", "08.ipynb"),
            _row("F1d", "partly", "03.ipynb"),
            _row("F1d (FashionMNIST)", "reproduced", "06.ipynb"),
            _row("F1b", "not testable", "03.ipynb"),
            _row("F1b", "reproduced", "07.ipynb", provisional=True),
            _row("F5b", "not testable", "07.ipynb", provisional=True),
            _row("F5c", "not reproduced", "07.ipynb", provisional=True),
            _row("F5c (more)", "not testable", "07.ipynb", provisional=True)]
    table = dashboard.dashboard(rows)
    per_claim = dashboard.claim_verdicts(table).set_index("claim")
    assert len(per_claim) == len(dashboard.REGISTER)
    assert per_claim.loc["S4", "verdict"] == "partly"       # a part not testable: at most partly
    assert per_claim.loc["M3", "verdict"] == "reproduced" and per_claim.loc["M3", "lines"] == 2
    assert per_claim.loc["F1d", "verdict"] == "partly"
    assert per_claim.loc["F1b", "verdict"] == "reproduced" and per_claim.loc["F1b", "lines"] == 1
    assert per_claim.loc["F5b", "verdict"] == "not testable"
    assert per_claim.loc["F5c", "verdict"] == "not reproduced"
    assert per_claim.loc["P1", "verdict"] == dashboard.NO_CHAPTER
    assert per_claim["provisional"].sum() == 3               # F1b, F5b, F5c
    assert not per_claim.loc["S4", "provisional"]
    counts = dashboard.counts(table)
    assert sum(counts.values()) == len(dashboard.REGISTER)   # claims, not the 11 lines
    assert counts == {"reproduced": 2, "partly": 2, "not reproduced": 1, "not testable": 1,
                      dashboard.NO_CHAPTER: len(dashboard.REGISTER) - 6}


def test_a_record_is_provisional_below_the_papers_scale():
    from nbutils.report import is_provisional
    assert not is_provisional("paper", [50, 50])
    assert is_provisional("paper", [50, 8])                   # fewer seeds than the paper's
    assert not is_provisional("paper", [35], paper_seeds=35)  # CIFAR-10
    assert is_provisional("paper", [2], paper_seeds=35)
    assert is_provisional("quick") and is_provisional("ci", [50])


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
    from nbutils.claims import Reason

    scale = Reason("scale", "quick profile: 8 seeds instead of 50")
    assert dashboard.first_reason((Reason("note", "a"), Reason("note", "b"))) == "a"
    assert dashboard.first_reason((scale, Reason("note", "(c) differs"))) == "(c) differs"
    assert dashboard.first_reason((scale,)) == scale.text
    assert dashboard.first_reason(()) == ""
    sig = Reason("significant", "(d) kl: MG@125 = +6.3, p = 2.5e-08", cause="dead units")
    assert dashboard.first_reason((scale, sig)) == sig.render()
    cut = dashboard.first_reason((Reason("note", "word " * 60),), limit=20)
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
        json.dumps([{**r.__dict__, "reasons": [x.as_dict() for x in r.reasons]} for r in rows])
