"""Chapter 11's findings rows (U1, U2) on tiny hand-made screens: a few configurations, each
under the three readings, with the dead shares of their first hidden layer chosen so that each
verdict of :func:`nbutils.verdicts.count_verdict` comes out (U1: standardized per channel, U2:
per pixel, both against pixels in [0, 1])."""
from __future__ import annotations

from nbutils.chapters import ch11
from nbutils.protocol import ScreenRow


def screen(dead: dict[str, tuple[float, float, float]]) -> list[ScreenRow]:
    """Rows of ``{configuration: (dead % unit, standardized, per pixel)}`` in layer 1."""
    return [ScreenRow(config, reading, 3, 0.95, 0.94, 10, 15, (share, 0.0), (0.0, 0.0), 60.0)
            for config, shares in dead.items()
            for reading, share in zip(("unit", "standardized", "per_pixel"), shares)]


def test_holds_partly_and_does_not_hold():
    rows = screen({"mnist-relu-l2": (30.0, 10.0, 40.0),
                   "mnist-relu-dropout": (20.0, 5.0, 25.0),
                   "fashionmnist-relu-none": (0.0, 0.0, 10.0),     # both zero: fewer
                   "mnist-sigmoid-l2": (0.0, 50.0, 50.0)})        # not a ReLU: left out
    u1, u2 = ch11.findings(rows)
    assert (u1.id, u1.verdict, u1.note) == ("U1", "holds", "")
    assert u1.question == ("Does standardized per channel leave fewer dead first-layer ReLUs "
                           "than pixels in [0, 1]?")
    assert u1.ours == ("fewer in 3 of 3 ReLU configurations; dead in layer 1, mean over "
                       "configurations: 5.0 % against 16.7 %")
    assert (u2.id, u2.verdict) == ("U2", "does not hold")
    assert u2.note == ("not fewer: mnist-relu-l2 (40.0 % against 30.0 %); mnist-relu-dropout "
                       "(25.0 % against 20.0 %); fashionmnist-relu-none (10.0 % against 0.0 %)")


def test_partly_when_more_than_half_have_fewer():
    rows = screen({"a-relu-l2": (30.0, 10.0, 30.0), "b-relu-l2": (20.0, 5.0, 20.0),
                   "c-relu-l2": (10.0, 12.0, 5.0)})
    u1, u2 = ch11.findings(rows)
    assert u1.verdict == "partly"
    assert u1.note == "not fewer: c-relu-l2 (12.0 % against 10.0 %)"
    assert u2.verdict == "does not hold"    # equal shares (not both zero) are not fewer


def test_not_testable_without_relu_configurations():
    u1, u2 = ch11.findings(screen({"mnist-sigmoid-l2": (0.0, 1.0, 2.0)}))
    assert u1.verdict == u2.verdict == "not testable"
    assert u1.ours == "no ReLU configuration"


def test_prose_and_tables():
    from nbutils.protocol import decide

    rows = screen({"a-relu-l2": (30.0, 10.0, 30.0), "b-relu-l2": (20.0, 5.0, 20.0)})
    decision = decide(rows)
    numbers = ch11.prose(decision, rows)
    assert numbers["ch11_n_configs"] == 2 and numbers["ch11_step"] in ch11.STEPS.values()
    table = ch11.screen_table(rows)
    assert table.loc[("a-relu-l2", "standardized"), "dead, per layer (%)"] == "10.0, 0.0"


def scored(val: dict[str, tuple[float, float, float]]) -> list[ScreenRow]:
    """Rows of ``{configuration: (validation % unit, standardized, per pixel)}``."""
    return [ScreenRow(config, reading, 3, acc / 100, acc / 100, 10, 15, (0.0, 0.0), (0.0, 0.0),
                      60.0)
            for config, accs in val.items()
            for reading, acc in zip(("unit", "standardized", "per_pixel"), accs)]


def test_mean_note_when_the_winner_has_a_lower_mean():
    from nbutils.protocol import decide

    # unit wins a and b by 0.1 point each, loses c by 9: most wins, lowest mean
    rows = scored({"a-relu-l2": (97.2, 97.1, 97.0), "b-relu-l2": (88.2, 88.1, 88.0),
                   "c-relu-l2": (42.0, 51.0, 50.0)})
    decision = decide(rows)
    assert decision.reading == "unit"
    note = ch11.prose(decision, rows)["ch11_mean_note"]
    assert note.startswith("Its mean validation accuracy over the configurations is not the "
                           "highest: 75.80 % against 78.73 % for standardized per channel; ")
    assert "c-relu-l2 (9.0 points behind standardized per channel)" in note
    assert "a-relu-l2" not in note and "b-relu-l2" not in note


def test_mean_note_when_the_winner_has_the_highest_mean():
    from nbutils.protocol import decide

    rows = scored({"a-relu-l2": (97.2, 97.1, 97.0), "b-relu-l2": (88.2, 88.1, 88.0)})
    note = ch11.prose(decide(rows), rows)["ch11_mean_note"]
    assert note == ("It also has the highest mean validation accuracy over the configurations "
                    "(92.70 %).")


def test_verdicts_under_both_readings_are_compared_line_by_line():
    from nbutils.chapters import changes
    from nbutils.chapters.changes import Outcome, Report, Run
    from nbutils.claims import Claim
    from nbutils.dashboard import Row

    unit, std = Run("paper", "unit", {"mnist-relu-l2": 50}), Run("paper", "standardized")

    def outcome(chapter, *verdicts):
        return Outcome(chapter, tuple(Claim(c, "p", "o", v) for c, v in verdicts))

    outcomes = {unit.name: (outcome("02_m", ("M1", "reproduced"), ("S5", "partly")),
                            outcome("04_w", ("F2a", "reproduced"))),
                 std.name: (outcome("02_m", ("M1", "reproduced"), ("S5", "not reproduced")),
                            Outcome("04_w", (), "no measures shipped"))}
    records = tuple(Row(c, "v", "", "paper", f"{ch}.ipynb", t)
                    for c, ch, t in (("M1", "02_m", "2. Measures"), ("S5", "02_m", "2. Measures"),
                                     ("F2a", "04_w", "4. Fig. 2")))
    rep = Report((unit, std), outcomes, tuple(changes.comparisons([unit, std])), records)
    lines = ch11.compared_lines(rep)
    assert lines[["claim", "same?"]].values.tolist() == [["M1", "yes"], ["S5", "no"]]
    shown = ch11.readings_table(rep)
    assert shown.index.tolist() == [("chapter 2", "M1"), ("chapter 2", "S5")]
    assert shown.columns.tolist() == ["paper, [0, 1]", "paper, per channel", "same?"]
    prose = ch11.readings_prose(rep)
    assert prose == {"ch11_both_chapters": "chapter 2", "ch11_both_partial": "none",
                     "ch11_both_missing": "chapter 4",
                     "ch11_both_status": "so far that holds for every row of chapter 2, and not "
                                         "yet for chapter 4",
                     "ch11_both_lines": 2, "ch11_both_same": 1,
                     "ch11_both_changed": "S5 (partly \u2192 not reproduced)"}


def test_a_chapter_at_other_seeds_under_the_other_reading_is_not_compared():
    from nbutils.chapters import changes
    from nbutils.chapters.changes import Outcome, Report, Run
    from nbutils.claims import Claim
    from nbutils.dashboard import Row

    unit = Run("paper", "unit", {"mnist-relu-l2": 50, "cifar10-relu-l2": 35})
    std = Run("paper", "standardized", {"mnist-relu-l2": 50, "cifar10-relu-l2": 6})

    def outcome(chapter, config, claim, verdict):
        return Outcome(chapter, (Claim(claim, "p", "o", verdict),), read=(config,))

    outcomes = {unit.name: (outcome("04_w", "mnist-relu-l2", "F2a", "partly"),
                            outcome("07_c", "cifar10-relu-l2", "F5a", "partly")),
                std.name: (outcome("04_w", "mnist-relu-l2", "F2a", "partly"),
                           outcome("07_c", "cifar10-relu-l2", "F5a", "reproduced"))}
    records = (Row("F2a", "v", "", "paper", "04_w.ipynb", "4. Fig. 2"),
               Row("F5a", "v", "", "paper", "07_c.ipynb", "7. Fig. 5"))
    rep = Report((unit, std), outcomes, tuple(changes.comparisons([unit, std])), records)
    assert ch11.compared_lines(rep)["claim"].tolist() == ["F2a"]
    prose = ch11.readings_prose(rep)
    assert prose["ch11_both_chapters"] == "chapter 4"
    assert prose["ch11_both_missing"] == "chapter 7"     # its CIFAR-10 networks: 6 of 35 seeds
    assert prose["ch11_both_changed"] == "none"


def test_a_chapter_compared_in_some_rows_only_names_them():
    """Chapter 7 with network (a) at equal seeds under both readings and (b) not: the rows
    that read (a) alone are compared, the chapter is named with them."""
    from nbutils.chapters import changes
    from nbutils.chapters.changes import Outcome, Report, Run
    from nbutils.claims import Claim
    from nbutils.dashboard import Row

    a, b = "cifar10-relu-l2", "cifar10_funnel-relu-l2"
    unit = Run("paper", "unit", {"mnist-relu-l2": 50, a: 35, b: 35})
    std = Run("paper", "standardized", {"mnist-relu-l2": 50, a: 35, b: 6})

    def outcomes(f5c):
        return (Outcome("04_w", (Claim("F2a", "p", "o", "partly"),), read=("mnist-relu-l2",)),
                Outcome("07_c", (Claim("F1b", "p", "o", "reproduced", networks=(a,)),
                                 Claim("F5c", "p", "o", f5c, networks=(a,)),
                                 Claim("F5d", "p", "o", "partly", networks=(b,))), read=(a, b)))

    records = (Row("F2a", "v", "", "paper", "04_w.ipynb", "4. Fig. 2"),
               *(Row(c, "v", "", "paper", "07_c.ipynb", "7. Fig. 5") for c in ("F1b", "F5c",
                                                                                "F5d")))
    rep = Report((unit, std), {unit.name: outcomes("partly"), std.name: outcomes("reproduced")},
                 tuple(changes.comparisons([unit, std])), records)
    assert ch11.compared_lines(rep)["claim"].tolist() == ["F2a", "F1b", "F5c"]
    prose = ch11.readings_prose(rep)
    assert prose["ch11_both_chapters"] == "chapter 4"
    assert prose["ch11_both_partial"] == "chapter 7 (F1b, F5c)"
    assert prose["ch11_both_missing"] == "none"
    assert prose["ch11_both_changed"] == "F5c (partly \u2192 reproduced)"
    assert prose["ch11_both_status"] == (
        "so far that holds for every row of chapter 4, for some rows only of chapter 7 (F1b, "
        "F5c) (the others read a network that has other seeds under the second reading)")


def test_every_chapter_compared_says_so_without_so_far():
    from nbutils.chapters import changes
    from nbutils.chapters.changes import Outcome, Report, Run
    from nbutils.claims import Claim
    from nbutils.dashboard import Row

    a = "cifar10-relu-l2"
    unit = Run("paper", "unit", {"mnist-relu-l2": 50, a: 35})
    std = Run("paper", "standardized", {"mnist-relu-l2": 50, a: 35})
    outcomes = (Outcome("04_w", (Claim("F2a", "p", "o", "partly"),), read=("mnist-relu-l2",)),
                Outcome("07_c", (Claim("F5c", "p", "o", "partly", networks=(a,)),), read=(a,)))
    records = (Row("F2a", "v", "", "paper", "04_w.ipynb", "4. Fig. 2"),
               Row("F5c", "v", "", "paper", "07_c.ipynb", "7. Fig. 5"))
    rep = Report((unit, std), {unit.name: outcomes, std.name: outcomes},
                 tuple(changes.comparisons([unit, std])), records)
    prose = ch11.readings_prose(rep)
    assert prose["ch11_both_status"] == "that holds for every row of chapters 4, 7"
    assert (prose["ch11_both_partial"], prose["ch11_both_missing"]) == ("none", "none")


def _cifar_run(network, reading, seeds, dead):
    import numpy as np
    ks = (0, 1, 2, 4)
    flat = np.tile([0.5, 0.5, 0.5, 0.1], (seeds, 1))
    return ch11.CifarRun(network, reading, seeds, np.full(seeds, 0.45), dead,
                         {"entropy-low": flat, "random": flat}, ks)


def test_cifar_networks_are_shown_under_each_reading_with_their_seeds():
    runs = [_cifar_run("a", "unit", 35, (95.7, 72.6)), _cifar_run("b", "unit", 35, (98.3, 78.2)),
            _cifar_run("a", "standardized", 6, (0.0, 54.3))]
    table = ch11.cifar_table(runs)
    assert table.loc[("(a)", "standardized per channel"), "seeds"] == 6
    assert table.loc[("(a)", "standardized per channel"), "dead, per hidden layer (%)"] == \
        "0.0, 54.3"
    assert table.loc[("(b)", "pixels in [0, 1]"), "test accuracy (%)"] == "45.0 ± 0.0"
    fig = ch11.cifar_figure(runs)
    axes = fig.axes
    visible = [ax for ax in axes if ax.get_visible() and ax.get_title()]
    assert [ax.get_title() for ax in visible] == [
        "(a) layer 1, pixels in [0, 1], 35 seeds", "(a) layer 1, standardized per channel, 6 seeds",
        "(b) layer 1, pixels in [0, 1], 35 seeds"]
    assert len([ax for ax in axes if not ax.get_visible()]) == 1   # (b) not yet standardized


def test_cifar_runs_read_the_shipped_networks(real_root):
    """From the shipped results (seconds): networks (a) and (b) with pixels in [0, 1] at 35
    seeds and (c) at 10, layer 1 mostly dead; nothing is trained."""
    runs = {(r.network, r.reading): r for r in ch11.cifar_runs()}
    for key, seeds in (("a", 35), ("b", 35), ("c", 10)):
        run = runs[key, "unit"]
        assert run.seeds == seeds and len(run.test_acc) == seeds and run.dead[0] > 90
        assert run.ks[0] == 0 and run.curves["random"].shape == (seeds, len(run.ks))
    assert all(1 <= r.seeds for r in runs.values())
