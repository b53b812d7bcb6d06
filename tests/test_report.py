"""Claims tables show every sentence in full, escape their cells and badge their verdicts; the
record a chapter glues keeps a claim's reasons as data."""
import re

import pytest

from nbutils.claims import Claim, Finding
from nbutils.report import claims_table, findings_table, row_anchors
from nbutils.verdicts import finding_verdict

LONG = "the measures grow from layer 1 to layer 2 in every network the paper shows " * 3


def test_claims_table_shows_cells_in_full():
    table = claims_table([Claim("F1a", LONG, "ours", "partly", "fewer seeds")])
    assert list(table.columns) == ["paper reports", "this book measured", "verdict",
                                   "why they differ"]
    assert LONG.strip() in table._repr_html_()
    assert LONG.strip() in repr(table)
    assert "..." not in table._repr_html_()


def test_claims_table_html_is_styled_and_escaped():
    table = claims_table([Claim("F2c", "p < 0.05 & <b>", "ours", "not reproduced", "why")])
    html = table._repr_html_()
    assert html.startswith('<table class="claims-table"><thead><tr><th>claim</th>')
    assert html.count("<tr") == 2           # the header and one row: no empty index-name row
    assert '<tr id="claim-f2c"><td data-label="claim">F2c</td>' in html
    assert '<td data-label="verdict"><span class="verdict verdict-not-reproduced">' in html
    assert "p &lt; 0.05 &amp; &lt;b&gt;" in html and "<b>" not in html


def test_rows_have_ids_a_link_can_point_at():
    names = ["F1a (MNIST half)", "F1a (FashionMNIST half)", "F1a/F1d (FashionMNIST)",
             "M3 (Ex. 1-4)", "F4b (no regularizer)", "F4b", "", "Ü"]
    assert row_anchors(names) == ["claim-f1a", "claim-f1a-2", "claim-f1a-f1d", "claim-m3",
                                  "claim-f4b", "claim-f4b-2", "claim-row", "claim-row-2"]
    table = claims_table([Claim(n, "p", "o", "partly") for n in names[:2]])
    assert re.findall(r'<tr id="([^"]+)">', table._repr_html_()) == ["claim-f1a", "claim-f1a-2"]
    findings = findings_table([Finding("B1", "q", "o", "holds")])._repr_html_()
    assert '<tr id="finding-b1">' in findings


def test_claim_rejects_unknown_verdict():
    with pytest.raises(ValueError, match="verdict='maybe'"):
        Claim("F1a", "p", "o", "maybe")


def test_findings_table_and_its_badges():
    assert [finding_verdict(v) for v in ("reproduced", "partly", "not reproduced",
                                         "not testable")] == ["holds", "partly",
                                                              "does not hold", "not testable"]
    table = findings_table([Finding("B1", "Better than random?", "12 of 14", "partly", "x")])
    assert list(table.columns) == ["question", "this book measured", "verdict", "note"]
    assert 'class="verdict verdict-partly"' in table._repr_html_()
    assert "verdict-not-reproduced" in findings_table(
        [Finding("B2", "q", "o", "does not hold")])._repr_html_()
    with pytest.raises(ValueError, match="verdict='reproduced'"):
        Finding("B3", "q", "o", "reproduced")
