"""nbutils.readings: what a claims row says of the other input reading's verdict."""
import json
from pathlib import Path

import pytest

from nbutils import readings
from nbutils.chapters import changes
from nbutils.chapters.changes import Run
from nbutils.claims import UNKNOWN_DIFFERENCE, Claim, Reason
from nbutils.readings import UNKNOWN_BEYOND, OtherReading, annotate, cause, note, pick

ROOT = Path(__file__).resolve().parent.parent
SCALE = Reason("scale", "at the paper's scale")


def _significant(cause=UNKNOWN_DIFFERENCE):
    return Reason("significant", "(a), entropy: gap -3.1", cause=cause)


def _other(**verdicts):
    return OtherReading("standardized", "paper, per channel", "50 seeds",
                        {k.replace("_", " "): v for k, v in verdicts.items()})


def test_a_miss_kept_under_the_other_reading_is_not_the_reading():
    row = Claim("F2a", "p", "o", "not reproduced", (SCALE, _significant()))
    [out] = annotate([row], _other(F2a="not reproduced"))
    assert out.verdict == "not reproduced" and out.id == "F2a" and len(out.reasons) == 2
    assert out.reasons[0] == SCALE and out.reasons[1].text == row.reasons[1].text
    assert out.reasons[1].cause == (
        "not the input reading, since with inputs standardized per channel (paper, per "
        f"channel: 50 seeds) the verdict is the same; {UNKNOWN_BEYOND}")
    assert "we do not know what differs (" not in out.why
    # a miss without a significant difference of unknown cause gets the note instead
    partly = Claim("F3e", "p", "o", "partly", (SCALE, Reason("not significant", "(b): n.s.")))
    [out] = annotate([partly], _other(F3e="partly"))
    assert out.reasons[:2] == partly.reasons
    assert out.reasons[-1] == Reason("note", note("partly", _other(), "partly"))
    assert out.reasons[-1].text.startswith(
        "the verdict does not rest on the input reading: with inputs standardized per channel "
        "(paper, per channel: 50 seeds) it is partly too")


def test_a_verdict_that_changes_rests_on_the_reading_either_way():
    row = Claim("F2c", "p", "o", "not reproduced", (SCALE, _significant()))
    [out] = annotate([row], _other(F2c="reproduced"))
    assert out.reasons[1].cause == cause("not reproduced", _other(), "reproduced")
    assert out.reasons[1].cause.startswith("the input reading, which the paper does not state")
    assert out.reasons[1].cause.endswith("the verdict is reproduced")
    # a miss under both readings, of another degree: not the reading, though its degree is
    [both] = annotate([row], _other(F2c="partly"))
    assert both.reasons[1].cause.startswith("not the input reading, since with inputs "
                                            "standardized per channel")
    assert "the claim is partly, a miss as well" in both.reasons[1].cause
    assert note("partly", _other(), "not reproduced").startswith(
        "the miss does not rest on the input reading, its degree does: with inputs")
    # a claim reproduced here but not under the other reading is said to rest on it too
    [kept] = annotate([Claim("F3g", "p", "o", "reproduced")], _other(F3g="partly"))
    assert kept.reasons[-1].text.startswith("the verdict rests on the input reading")
    assert "it is partly" in kept.why


def test_a_cause_the_chapter_named_is_kept():
    named = "our ranking takes 60 % of its first 100 neurons from layer 1"
    row = Claim("F2a", "p", "o", "not reproduced", (SCALE, _significant(named)))
    [out] = annotate([row], _other(F2a="not reproduced"))
    assert out.reasons[1].cause == named
    assert len(out.reasons) == 3


@pytest.mark.parametrize("mine, theirs", [("reproduced", "reproduced"),
                                          ("not testable", "reproduced"),
                                          ("not testable", "not testable"),
                                          ("reproduced", "not testable"),
                                          ("partly", None)])
def test_rows_that_have_nothing_to_say_are_unchanged(mine, theirs):
    row = Claim("X1", "p", "o", mine, (SCALE,))
    other = _other(**({} if theirs is None else {"X1": theirs}))
    assert note(mine, other, theirs) == ""
    assert annotate([row], other) == [row]
    assert annotate([row], None) == [row]


def test_the_other_reading_not_testable_or_not_computed_is_said_without_inference():
    row = Claim("F5a", "p", "o", "not reproduced", (SCALE, _significant()))
    [out] = annotate([row], _other(F5a="not testable"))
    assert out.reasons[1].cause == UNKNOWN_DIFFERENCE    # nothing inferred
    assert "it is not testable (no reason given), so the other reading does not decide it" in (
        out.reasons[-1].text)
    # the reason is the other reading's own row's: a network not computed there is not "too
    # few seeds"
    absent = "network (c) is not in this run: its results at this scale are not computed yet"
    other = OtherReading("standardized", "paper, per channel", "6 seeds", {"F5a": "not testable"},
                         untestable={"F5a": absent})
    [out] = annotate([row], other)
    assert out.reasons[-1].text.startswith(
        f"with inputs standardized per channel (paper, per channel: 6 seeds) it is not testable "
        f"({absent}), so the other reading does not decide it")
    assert "too few seeds" not in out.why
    missing = OtherReading("standardized", "paper, per channel", "50 seeds", {},
                           "no results of cifar10-relu-l2 shipped for the run paper, per channel")
    [out] = annotate([row], missing)
    assert out.reasons[1].cause == UNKNOWN_DIFFERENCE
    assert out.reasons[-1].text.startswith(
        "not yet computed with inputs standardized per channel at this profile (no results of "
        "cifar10-relu-l2 shipped")


def test_pixels_in_unit_range_are_named_as_such_and_a_bad_reading_is_refused():
    assert OtherReading("unit", "paper, [0, 1]", "50 seeds").inputs == "pixels in [0, 1]"
    assert OtherReading("per_pixel", "q", "3 seeds").inputs == "inputs standardized per pixel"
    with pytest.raises(ValueError, match=r"reading='std'; allowed: \['unit'"):
        OtherReading("std", "q", "3 seeds")


def test_the_other_run_is_the_first_other_reading_at_the_same_profile():
    runs = [Run("paper", "unit"), Run("quick", "unit"), Run("quick", "standardized"),
            Run("quick", "per_pixel")]
    assert pick(runs, "quick") == runs[2]
    assert pick(runs, "quick", "standardized") == runs[1]
    assert pick(runs, "paper") is None
    assert pick(runs, "ci") is None
    with pytest.raises(ValueError, match=r"preprocessing='raw'; allowed: \['unit'"):
        pick(runs, "quick", "raw")


def test_find_reads_the_chapters_rows_of_the_other_run(monkeypatch):
    seen = []

    def fake_run_claims(run, chapters):
        seen.append((run, tuple(chapters)))
        return [changes.Outcome("04_x", (Claim("F2a", "p", "o", "partly"),
                                         Claim("F2b", "p", "o", "not testable",
                                               (Reason("note", "tested in chapter 6"),))),
                                read=("mnist-relu-l2",))]

    monkeypatch.setattr(changes, "run_claims", fake_run_claims)
    runs = [Run("paper", "unit", {"mnist-relu-l2": 50, "cifar10-relu-l2": 35}),
            Run("paper", "standardized", {"mnist-relu-l2": 50, "cifar10-relu-l2": 6})]
    other = readings.find("ch04", "paper", runs=runs)
    assert seen == [(runs[1], ("ch04",))]
    # the seeds said are those of the networks the chapter read, not the whole run's
    assert other == OtherReading("standardized", "paper, per channel", "50 seeds",
                                 {"F2a": "partly", "F2b": "not testable"}, "", same_seeds=True,
                                 untestable={"F2b": "tested in chapter 6"})
    assert readings.find("ch09", "paper", runs=runs) is None   # not compared by readings
    assert readings.find("ch04", "quick", runs=runs) is None   # no other reading there
    assert len(seen) == 1
    # a chapter that read a network with other seeds under the other reading infers nothing
    monkeypatch.setattr(changes, "run_claims", lambda run, chapters: [changes.Outcome(
        "07_x", (Claim("F5a", "p", "o", "reproduced"),), read=("cifar10-relu-l2",))])
    assert not readings.find("ch07", "paper", runs=runs).same_seeds
    # nor where the chapter's own run is not shipped at that profile
    assert not readings.find("ch07", "paper", runs=runs[1:], preprocessing="per_pixel").same_seeds


def test_other_seeds_say_the_verdict_and_infer_nothing():
    other = OtherReading("standardized", "paper, per channel", "50 seeds (CIFAR-10: 6)",
                         {"F5a": "reproduced", "F5c": "partly", "F5d": "reproduced"},
                         same_seeds=False)
    rows = [Claim("F5a", "p", "o", "partly", (SCALE, _significant())),
            Claim("F5c", "p", "o", "partly", (SCALE,)),
            Claim("F5d", "p", "o", "reproduced", (SCALE,))]
    out = annotate(rows, other)
    assert out[0].reasons[1] == rows[0].reasons[1]          # the cause stays unknown
    assert out[0].reasons[-1].text.startswith(
        "with inputs standardized per channel (paper, per channel: 50 seeds (CIFAR-10: 6)) it "
        "is reproduced, with other numbers of seeds than here, so nothing is inferred")
    assert "nothing is inferred" in out[1].why and "does not rest" not in out[1].why
    assert out[2] == rows[2]                                 # reproduced under both: nothing


def test_a_row_that_reads_networks_at_equal_seeds_is_compared(monkeypatch):
    """Chapter 7 under the second reading with network (a) at 35 seeds and (b) at 6: the rows
    that read (a) alone compare, with (a)'s seeds; those that read (b) infer nothing."""
    a, b = "cifar10-relu-l2", "cifar10_funnel-relu-l2"
    monkeypatch.setattr(changes, "run_claims", lambda run, chapters: [changes.Outcome(
        "07_x", (Claim("F5c", "p", "o", "reproduced", networks=(a,)),
                 Claim("F5d", "p", "o", "partly", networks=(b,)),
                 Claim("F5g", "p", "o", "not testable", networks=("cifar10_funnel-relu-dropout",)),
                 Claim("S4", "p", "o", "partly")), read=(a, b))])
    runs = [Run("paper", "unit", {a: 35, b: 35, "cifar10_funnel-relu-dropout": 10}),
            Run("paper", "standardized", {a: 35, b: 6})]
    other = readings.find("ch07", "paper", runs=runs)
    assert not other.same_seeds and other.scale == "6/35 seeds"
    assert other.row_same_seeds == {"F5c": True, "F5d": False, "F5g": False}
    assert other.row_scales == {"F5c": "35 seeds", "F5d": "6 seeds",
                                "F5g": readings.NOT_SHIPPED}
    assert other.same_seeds_of("F5c") and not other.same_seeds_of("S4")
    rows = [Claim("F5c", "p", "o", "partly", (SCALE, _significant())),
            Claim("F5d", "p", "o", "partly", (SCALE,)), Claim("S4", "p", "o", "partly")]
    f5c, f5d, s4 = annotate(rows, other)
    assert f5c.reasons[1].cause == ("the input reading, which the paper does not state: with "
                                    "inputs standardized per channel (paper, per channel: 35 "
                                    "seeds) the verdict is reproduced")
    assert "(paper, per channel: 6 seeds) it is partly, with other numbers of seeds" in f5d.why
    assert "(paper, per channel: 6/35 seeds) it is partly, with other numbers" in s4.why


def test_run_claims_says_which_configurations_a_chapter_read(real_root):
    """From the shipped results (seconds): chapter 4 at paper reads Fig. 2's six networks."""
    from nbutils.config import CHAPTER_CONFIGS
    main = next(r for r in changes.shipped_runs()
                if r.profile == "paper" and r.preprocessing == "unit")
    [outcome] = changes.run_claims(main, ["ch04"])
    assert outcome.read == tuple("-".join(c) for c in CHAPTER_CONFIGS["fig2"])


def test_the_claims_record_carries_the_annotated_reasons(monkeypatch):
    from nbutils import report
    glued = {}
    monkeypatch.setattr("myst_nb.glue", lambda name, value, display: glued.update({name: value}))
    monkeypatch.setattr(readings, "find",
                        lambda chapter, profile, preprocessing: _other(F2a="not reproduced"))
    row = Claim("F2a", "p", "o", "not reproduced", (SCALE, _significant()))
    table = report.claims_table([row], profile="paper", chapter="ch04")
    assert "not the input reading" in table.loc["F2a", "why they differ"]
    [recorded] = json.loads(glued[report.CLAIMS_RECORD])["rows"]
    assert recorded["reasons"][1]["cause"].startswith("not the input reading, since")
    assert "not the input reading" in recorded["why"]
    # without the chapter's name the rows are shown as the chapter gave them
    assert "input reading" not in report.claims_table([row], profile="paper").iloc[0, -1]


def test_every_compared_chapter_names_itself_to_its_claims_table():
    """Chapters 1-7 (those the verdict-changes page recomputes) pass their module name, so that
    their claims say what the other reading gives; chapter 7, which may run under either reading,
    passes the reading its networks were trained with."""
    import nbformat

    from nbutils.chapters import chapters

    for module in chapters():
        name = module.__name__.rsplit(".", 1)[-1]
        nb = nbformat.read(ROOT / "book" / f"{module.NOTEBOOK}.ipynb", as_version=4)
        cells = [c.source for c in nb.cells if "claims_table(" in c.source]
        named = [c for c in cells if f'chapter="{name}"' in c]
        assert len(named) == (name in changes.CHAPTERS), name
    ch07 = nbformat.read(ROOT / "book" / "07_layerwise_cifar10.ipynb", as_version=4)
    assert any("preprocessing=nets[" in c.source and "claims_table(" in c.source
               for c in ch07.cells)
