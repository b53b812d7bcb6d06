"""A claim's reasons are data that render to the sentence of its table: each failing case with
its numbers, significant differences apart from what more seeds could change, the scale note
only where it can explain something."""
import pytest

from nbutils.claims import (
    UNKNOWN_DIFFERENCE,
    Claim,
    Reason,
    explain,
    gap_reasons,
    pm,
    render,
    scale_note,
    why,
)
from nbutils.stats import Gap
from nbutils.verdicts import direction_verdict


def gap(mg, p, n=8):
    return Gap(k=80, mg=mg, p=p, n=n, test="wilcoxon")


def test_pm():
    assert pm(97.512, 0.0912) == "97.51 ± 0.09"


def test_gap_reasons_name_only_the_failing_parts():
    reasons = gap_reasons({"a": gap(-5.0, 0.01), "b": gap(-5.0, 0.2), "c": gap(4.0, 0.03)},
                          lambda g: direction_verdict(g, -1))
    assert [r.kind for r in reasons] == ["not significant", "note"]
    text = render(reasons)
    assert "a:" not in text and "b: MG@80 = -5.0, p = 0.20, not significant (p > 0.05)" in text
    assert "c differs: MG@80 = 4.0" in text
    few = gap_reasons({"d": gap(-5.0, 0.5, n=2)}, lambda g: direction_verdict(g, -1))
    assert few == (Reason("not testable", "d: MG@80 = -5.0, p = 0.50, not testable "
                          "(2 seeds cannot give p < 0.05)"),)


def test_scale_note_and_why():
    note = scale_note("quick", [8, 8])
    assert note == Reason("scale", "quick profile: 8 seeds instead of 50 (less power)")
    assert "p cannot fall below 0.11" in scale_note("ci", [3, 2], p_floor=0.1088).text
    ci = scale_note("ci", [3, 2]).text
    assert "3 or 2" not in ci and "2 or 3 seeds" in ci
    scale = Reason("scale", "scale")
    assert render(why("reproduced", scale, "detail")) == "detail"
    assert render(why("partly", scale, "detail")) == "scale; detail"
    assert why("partly", scale) == (scale,)
    assert why("partly", None, "detail") == (Reason("note", "detail"),)


def test_claim_takes_a_sentence_or_reasons_and_renders_them():
    assert Claim("F1a", "p", "o", "partly", "fewer seeds").reasons == \
        (Reason("note", "fewer seeds"),)
    assert Claim("F1a", "p", "o", "reproduced").why == ""
    scale = Reason("scale", "quick profile: 8 seeds")
    claim = Claim("F1a", "p", "o", "partly", (scale, Reason("note", "x")))
    assert claim.why == "quick profile: 8 seeds; x"
    with pytest.raises(ValueError, match="verdict='maybe'"):
        Claim("F1a", "p", "o", "maybe")
    with pytest.raises(ValueError, match="kind='other'"):
        Reason("other", "x")
    with pytest.raises(TypeError, match="why"):
        Claim("F1a", "p", "o", "partly", [1, 2])


def test_explain_gives_reasons_that_fit_each_case():
    def worse(g):
        return direction_verdict(g, -1)

    opposite, weak = gap(+6.0, 0.01), gap(-1.0, 0.30)       # significant the other way; weak
    scale = Reason("scale", "quick profile: 8 seeds instead of 50 (less power)")
    only_sig = explain("not reproduced", scale, "quick", {"(c)": (opposite, worse)})
    assert scale not in only_sig                              # fewer seeds cannot explain it
    assert only_sig == (Reason("significant", "(c): MG@80 = 6.0, p = 0.010",
                               cause=UNKNOWN_DIFFERENCE),)
    assert render(only_sig) == ("significant (p < 0.05), so more seeds would not remove it: "
                                f"(c): MG@80 = 6.0, p = 0.010 ({UNKNOWN_DIFFERENCE})")
    assert only_sig[0].difference == f"(c): MG@80 = 6.0, p = 0.010 ({UNKNOWN_DIFFERENCE})"
    noted = explain("not reproduced", scale, "quick", {"(c)": (opposite, worse)},
                    notes={"(c)": "our layer 1 is wider"})
    assert noted[-1].cause == "our layer 1 is wider"
    assert render(noted).endswith("(our layer 1 is wider)")
    two = explain("not reproduced", scale, "quick",
                  {"(c)": (opposite, worse), "(e)": (gap(+4.0, 0.02), worse)},
                  notes={"(c)": "same", "(e)": "same"})
    assert render(two) == ("significant (p < 0.05), so more seeds would not remove them: "
                           "(c): MG@80 = 6.0, p = 0.010; (e): MG@80 = 4.0, p = 0.020 (same)")
    both = explain("partly", scale, "quick", {"(c)": (opposite, worse), "(d)": (weak, worse)})
    assert both[0] == scale                                  # (d) may be a matter of seeds
    assert "(d): MG@80 = -1.0, p = 0.30, not significant" in render(both)
    ci_scale = Reason("scale", "ci profile: 3 seeds")
    ci = explain("partly", ci_scale, "ci", {"(c)": (opposite, worse)})
    assert ci[0] == ci_scale                                  # a smoke test explains anything
    assert explain("reproduced", scale, "quick", {"(d)": (gap(-3.0, 0.01), worse)}) == ()
    shares = explain("partly", scale, "quick", {}, other=["(a) 40 % is not most"])
    assert render(shares) == "(a) 40 % is not most; " + UNKNOWN_DIFFERENCE
