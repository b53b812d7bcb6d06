"""Claims tables show every sentence in full; verdicts are restricted to the four allowed."""
import pytest

from nbutils.report import Claim, claims_table, pm, verdict_from

LONG = "the measures grow from layer 1 to layer 2 in every network the paper shows " * 3


def test_claims_table_shows_cells_in_full():
    table = claims_table([Claim("F1a", LONG, "ours", "partly", "fewer seeds")])
    assert list(table.columns) == ["paper reports", "this book measured", "verdict",
                                   "why they differ"]
    assert LONG.strip() in table._repr_html_()
    assert LONG.strip() in repr(table)
    assert "..." not in table._repr_html_()


def test_claim_rejects_unknown_verdict():
    with pytest.raises(ValueError, match="verdict='maybe'"):
        Claim("F1a", "p", "o", "maybe")


def test_verdict_from_and_pm():
    assert verdict_from(True) == "reproduced"
    assert verdict_from(False, partial=True) == "partly"
    assert verdict_from(False) == "not reproduced"
    assert pm(97.512, 0.0912) == "97.51 ± 0.09"
