"""The rule that picks the book's main input preprocessing (nbutils.protocol), on hand-made
scores, and the screen's list of configurations."""
import pytest

from nbutils.config import CHAPTER_CONFIGS
from nbutils.protocol import choose_preprocessing, screen_configs, screen_seeds


def scores(*pairs):
    """{config i: {"unit": a, "standardized": b}} from (a, b) pairs."""
    return {f"c{i}": {"unit": a, "standardized": b} for i, (a, b) in enumerate(pairs)}


def test_more_wins_decide():
    d = choose_preprocessing(scores((0.90, 0.95), (0.90, 0.92), (0.97, 0.96)))
    assert d.reading == "standardized" and d.step == "wins"
    assert d.wins == {"unit": 1, "standardized": 2} and d.ties == 0


def test_wins_beat_a_higher_mean():
    # unit wins two configurations by a little, loses one by a lot: wins decide, not the mean
    d = choose_preprocessing(scores((0.90, 0.89), (0.90, 0.89), (0.50, 0.90)))
    assert d.reading == "unit" and d.step == "wins"
    assert d.mean_score["standardized"] > d.mean_score["unit"]


def test_differences_below_min_delta_are_ties():
    d = choose_preprocessing(scores((0.9000, 0.9004), (0.9700, 0.9698)), min_delta=0.0005)
    assert d.ties == 2 and d.wins == {"unit": 0, "standardized": 0}
    assert d.step == "mean" and d.reading == "standardized"   # 0.9351 against 0.9350


def test_equal_wins_then_mean_then_default():
    d = choose_preprocessing(scores((0.90, 0.95), (0.93, 0.90)))
    assert d.wins == {"unit": 1, "standardized": 1}
    assert (d.step, d.reading) == ("mean", "standardized")   # 0.925 vs 0.915
    d = choose_preprocessing(scores((0.90, 0.90)))
    assert (d.step, d.reading) == ("default", "unit")


def test_three_readings_runner_up_decides_a_win():
    s = {"a": {"unit": 0.90, "standardized": 0.95, "per_pixel": 0.9497},   # tie: 0.03 points
         "b": {"unit": 0.90, "standardized": 0.91, "per_pixel": 0.93},
         "c": {"unit": 0.97, "standardized": 0.96, "per_pixel": 0.95}}
    d = choose_preprocessing(s)
    assert d.ties == 1 and d.wins == {"unit": 1, "standardized": 0, "per_pixel": 1}
    assert (d.step, d.reading) == ("mean", "per_pixel")   # 0.9432 against 0.9233


def test_bad_scores_are_refused():
    with pytest.raises(ValueError, match="no configurations"):
        choose_preprocessing({})
    with pytest.raises(ValueError, match="two or more"):
        choose_preprocessing({"c": {"unit": 0.9}})
    with pytest.raises(ValueError, match="needs exactly"):
        choose_preprocessing({"c": {"unit": 0.9, "per_pixel": 0.8}, "d": {"unit": 0.9}})


def test_screen_covers_chapters_1_to_7():
    configs = screen_configs()
    assert len(configs) == len(set(configs)) == 17
    for entry in ("fig1", "fig2", "fig3", "fig4", "mnist_all", "fig5"):
        assert set(CHAPTER_CONFIGS[entry]) <= set(configs)
    assert ("pruning", "sigmoid", "l2") not in configs
    assert screen_seeds(("cifar10_funnel", "relu", "l2")) == 1
    assert screen_seeds(("mnist", "relu", "l2")) == 3


def test_rows_round_trip_and_decide(tmp_path):
    from nbutils.protocol import ScreenRow, decide, read_rows, write_rows

    def row(config, reading, val):
        return ScreenRow(config, reading, 3, val, val - 0.01, 9, 12, (1.0, 2.0), (0.0, 0.5), 3.0)

    first = [row("a", "unit", 0.90), row("a", "standardized", 0.95), row("a", "per_pixel", 0.91)]
    second = [row("b", r, v) for r, v in (("unit", 0.97), ("standardized", 0.96),
                                           ("per_pixel", 0.99))]
    write_rows(tmp_path / "1.json", first)
    write_rows(tmp_path / "2.json", second + [row("a", "unit", 0.99)])   # replaces a/unit
    rows = read_rows(tmp_path / "1.json", tmp_path / "2.json")
    assert len(rows) == 6 and rows[0] == row("a", "unit", 0.99)
    d = decide(rows)
    assert d.wins == {"unit": 1, "standardized": 0, "per_pixel": 1}   # a: unit 0.99 > 0.95
    assert (d.step, d.reading) == ("mean", "unit")
