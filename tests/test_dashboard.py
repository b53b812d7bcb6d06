"""The claims dashboard reads what the chapters recorded (nbutils.dashboard)."""
import ast
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


def _recording_notebook(path, claims_source, table_args="profile='quick'"):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "from nbutils.claims import Claim, Reason\nfrom nbutils.report import claims_table\n"
        f"claims_table({claims_source}, {table_args})")]
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("# 9. A chapter: its title"))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    nbformat.write(nb, path)


def test_a_row_can_be_provisional_where_its_chapter_is_not_and_the_reverse(tmp_path):
    # chapter 7 with network (c) below the paper's seeds: its rows are provisional, the rows
    # of networks (a) and (b) (the paper's seeds) are not, the chapter as a whole is
    _recording_notebook(tmp_path / "07_x.ipynb",
                        "[Claim('F5a', 'p', 'o', 'reproduced', provisional=False), "
                        "Claim('F5b', 'p', 'o', 'partly', provisional=True), "
                        "Claim('F5c', 'p', 'o', 'partly')]",
                        table_args="profile='paper', provisional=True")
    record = next(json.loads(ast.literal_eval(o["data"]["application/papermill.record/text/plain"]))
                  for c in nbformat.read(tmp_path / "07_x.ipynb", 4).cells
                  for o in c.get("outputs", []) if o.get("metadata", {}).get("scrapbook"))
    assert [r.get("provisional") for r in record["rows"]] == [False, True, None]
    rows = dashboard.read_records(tmp_path / "07_x.ipynb")
    assert [(r.claim, r.provisional) for r in rows] == [("F5a", False), ("F5b", True),
                                                       ("F5c", True)]


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
    # the row's id in the chapter's table, which the dashboard links to
    assert rows[1].anchor == "claim-f3a" and rows[2].anchor == "claim-f1a"
    assert rows[1].link == "09_x.html#claim-f3a"
    text = dashboard.html(table)
    assert '<td data-label="claim"><a href="09_x.html#claim-f3a">F3a</a></td>' in text
    assert ('<td data-label="verdict"><span class="verdict verdict-partly">partly</span> '
            '<span class="provisional">provisional</span></td>') in text
    assert ('<a href="09_x.html" title="9. A chapter: its title">chapter 9</a> '
            '<span class="profile">quick profile</span>') in text
    assert '<td data-label="why it differs">fewer seeds; and more</td>' in text
    assert '<a href="09_x.html#claim-f1a">F1a <span class="claim-part">(MNIST half)</span>' \
        in text
    assert "..." not in text


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
    from nbutils.verdicts import is_provisional
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


def test_the_difference_is_said_first_and_in_full():
    from nbutils.claims import Reason

    scale = Reason("scale", "quick profile: 8 seeds instead of 50")
    assert dashboard.difference((Reason("note", "a"), Reason("note", "b"))) == \
        "a (and 1 more reason in the chapter)"
    assert dashboard.difference((scale, Reason("note", "(c) differs"))) == "(c) differs"
    assert dashboard.difference((scale,)) == scale.text
    assert dashboard.difference(()) == ""
    sig = Reason("significant", "(d) kl: MG@125 = +6.3, p = 2.5e-08", cause="dead units")
    # not "significant (p < 0.05), so more seeds would not remove it: ...": the difference
    assert dashboard.difference((scale, sig)) == "(d) kl: MG@125 = +6.3, p = 2.5e-08 (dead units)"
    long = Reason("note", "word " * 60)
    assert dashboard.difference((long,)) == long.text           # never cut
    assert dashboard.first_reason((long,), limit=20) == long.text


def test_a_sentence_recorded_before_reasons_were_data_is_read_back_as_reasons():
    scale = ("at the paper's scale (remaining differences: our number of epochs, chosen by "
             "validation within the paper's 8-30, and training details the paper does not state)")
    why = (f"{scale}; significant (p < 0.05), so more seeds would not remove it: (a) mi: "
           "MG@101 = -19.6, p = 8.53e-10 (ours; the paper's; we do not know); significant "
           "(p < 0.05), so more seeds would not remove them: (b) entropy: MG@101 = 10.8, p = 1e-9; "
           "(b) mi: MG@101 = 6.8, p = 6e-7 (unknown)")
    reasons = dashboard.legacy_reasons(why)
    assert [r.kind for r in reasons] == ["scale", "significant", "significant"]
    assert reasons[0].text == scale
    assert reasons[1].difference == ("(a) mi: MG@101 = -19.6, p = 8.53e-10 (ours; the paper's; "
                                     "we do not know)")
    assert reasons[2].n_cases == 2 and reasons[2].text.startswith("(b) entropy")
    assert reasons[2].text.endswith("(b) mi: MG@101 = 6.8, p = 6e-7 (unknown)")
    assert reasons[1].render() == why.split("; ", 1)[1].split("; significant")[0]
    # a note of several clauses stays one note; a row without a reason has none
    note = "not trained: A, B: only on MNIST; C: only on D (the paper, too)"
    assert dashboard.legacy_reasons(note) == (dashboard.Reason("note", note),)
    assert dashboard.legacy_reasons("") == ()
    assert dashboard.legacy_reasons(f"quick profile: 8 seeds; {note}")[1].text == note


def test_the_counts_say_claims_and_lines_for_what_they_are():
    rows = [_row("S4 (MNIST, FashionMNIST)", "reproduced", "01.ipynb"),
            _row("S4 (CIFAR-10)", "partly", "07.ipynb"),
            _row("M3 (Ex. 1)", "reproduced", "08.ipynb"),
            _row("M3 (Ex. 2)", "reproduced", "08.ipynb"),
            _row("F2c", "not reproduced", "04.ipynb")]
    table = dashboard.dashboard(rows)
    n_missing = len(dashboard.REGISTER) - 3
    assert dashboard.summary(table) == (
        f"Of the {len(dashboard.REGISTER)} claims of the paper and its note, 1 is reproduced, "
        f"1 partly and 1 not reproduced; {n_missing} have no chapter yet (a claim judged in "
        "parts counts once, its parts combined by the rule for a claim of several parts). The "
        f"table has {len(table)} lines, one per judged part: 3 reproduced, 1 partly and 1 not "
        "reproduced.")
    assert dashboard.line_counts(table)["reproduced"] == 3


def test_the_findings_of_the_chapters_beyond_the_paper_are_read_from_their_tables(tmp_path):
    from nbutils.claims import Finding
    from nbutils.report import findings_table

    table = findings_table([Finding("B1", "Better than random?", "12 of 14", "partly", "x < y"),
                            Finding("B2", "Q & A", "o", "does not hold")])
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 10. Beyond the paper"),
        nbformat.v4.new_code_cell("findings_table(...)", outputs=[nbformat.v4.new_output(
            "execute_result", data={"text/html": table._repr_html_(), "text/plain": "t"},
            execution_count=1)])])
    nbformat.write(nb, tmp_path / "10_importance_measures.ipynb")
    found = dashboard.collect_findings([tmp_path], ["05_x.ipynb", "10_importance_measures.ipynb"])
    assert [(f.finding, f.verdict, f.question, f.note, f.link) for f in found] == [
        ("B1", "partly", "Better than random?", "x < y",
         "10_importance_measures.html#finding-b1"),
        ("B2", "does not hold", "Q & A", "", "10_importance_measures.html#finding-b2")]
    assert found[0].title == "10. Beyond the paper"
    listed = dashboard.findings_list(found)
    assert '<a href="10_importance_measures.html#finding-b1">B1</a>' in listed
    assert 'class="verdict verdict-not-reproduced">does not hold' in listed
    with pytest.raises(ValueError, match="11_unstated_choices"):
        dashboard.collect_findings([tmp_path], ["11_unstated_choices.ipynb"])


def test_the_findings_page_lists_link_to_each_claims_row():
    rows = [dashboard.Row("F2c", "not reproduced", "w", "paper", "04_w.ipynb", "4. Fig. 2",
                          reasons=(dashboard.Reason("note", "(d) kl differs"),),
                          anchor="claim-f2c"),
            dashboard.Row("F2b", "reproduced", "", "paper", "04_w.ipynb", "4. Fig. 2",
                          anchor="claim-f2b")]
    table = dashboard.dashboard(rows)
    disagree = dashboard.claims_list(table, ("not reproduced",))
    assert disagree.count("<li>") == 1
    assert '<a href="04_w.html#claim-f2c">F2c</a>' in disagree and "(d) kl differs" in disagree
    assert dashboard.claims_list(table, ("partly",)) == ""
    confirmed = dashboard.confirmed_list(table)
    assert ('<li><strong>Figures</strong> (1)<ul><li><a href="04_w.html#claim-f2b">F2b</a> '
            f"{dashboard.REGISTER['F2b']}</li></ul></li>") in confirmed


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


def test_a_control_row_is_shown_but_neither_combined_nor_counted():
    rows = [_row("F2c", "not reproduced", "04.ipynb"),
            _row("F2c (dead-matched)", "reproduced", "04.ipynb"),
            _row("F4d", "partly", "06.ipynb"),
            _row("F4d (dead-matched)", "not reproduced", "06.ipynb")]
    table = dashboard.dashboard(rows)
    assert table.set_index("claim").loc["F2c (dead-matched)", "control"]
    assert not table.set_index("claim").loc["F2c", "control"]
    per_claim = dashboard.claim_verdicts(table).set_index("claim")
    assert per_claim.loc["F2c", "verdict"] == "not reproduced"   # not "partly"
    assert per_claim.loc["F4d", "verdict"] == "partly" and per_claim.loc["F4d", "lines"] == 1
    assert dashboard.line_counts(table)["reproduced"] == 0
    text = dashboard.summary(table)
    assert text.endswith("; and 2 control rows beyond the paper's protocol, shown beside the "
                         "claims they test but not counted.")
    assert f"The table has {len(table) - 2} lines" in text
    html = dashboard.html(table)
    assert html.count('<span class="control">control beyond the paper, not counted</span>') == 2
    assert "control beyond the paper" in dashboard.claims_list(table, ("reproduced",))
