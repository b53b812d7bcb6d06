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


def gap(mg, p):
    from nbutils.stats import Gap
    return Gap(k=80, mg=mg, p=p, n=8, test="wilcoxon")


def test_direction_verdict():
    from nbutils.report import direction_verdict
    assert direction_verdict(gap(-5.0, 0.01), -1) == "reproduced"
    assert direction_verdict(gap(-5.0, 0.2), -1) == "partly"
    assert direction_verdict(gap(5.0, 0.01), -1) == "not reproduced"


def test_similar_verdict_uses_the_p_floor():
    from nbutils.report import similar_verdict
    assert similar_verdict(gap(1.5, 0.01), p_floor=0.01) == "reproduced"      # small gap
    assert similar_verdict(gap(8.0, 0.3), p_floor=0.01) == "reproduced"       # could be significant
    assert similar_verdict(gap(8.0, 0.3), p_floor=0.1) == "partly"            # seeds too few
    assert similar_verdict(gap(8.0, 0.01), p_floor=0.01) == "not reproduced"


def test_combine_and_count():
    from nbutils.report import combine, count_verdict
    assert combine("reproduced", "reproduced") == "reproduced"
    assert combine("reproduced", "not reproduced") == "partly"
    assert combine("not reproduced", "not reproduced") == "not reproduced"
    assert [count_verdict(c, 4) for c in (4, 3, 2)] == ["reproduced", "partly", "not reproduced"]
    assert count_verdict(0, 0) == "not testable"


def test_gap_reasons_name_only_the_failing_parts():
    from nbutils.report import direction_verdict, gap_reasons
    text = gap_reasons({"a": gap(-5.0, 0.01), "b": gap(-5.0, 0.2), "c": gap(4.0, 0.03)},
                       lambda g: direction_verdict(g, -1))
    assert "a:" not in text and "b: MG@80 = -5.0, p = 0.20, not significant (p > 0.05)" in text
    assert "c differs: MG@80 = 4.0" in text


def test_scale_note_and_why():
    from nbutils.report import scale_note, why
    assert scale_note("quick", [8, 8]) == "quick profile: 8 seeds instead of 50 (less power)"
    assert "p cannot fall below 0.11" in scale_note("ci", [3, 2], p_floor=0.1088)
    assert "3 or 2" not in scale_note("ci", [3, 2]) and "2 or 3 seeds" in scale_note("ci", [3, 2])
    assert why("reproduced", "scale", "detail") == "detail"
    assert why("partly", "scale", "detail") == "scale; detail"
    assert why("partly", "scale") == "scale"
