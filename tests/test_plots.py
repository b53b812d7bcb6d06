"""Tests of nbutils.plots on synthetic arrays (matplotlib Agg, no trained networks)."""
from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402

from nbutils import plots  # noqa: E402

ORDERINGS = ["entropy-low", "entropy-high", "mi-low", "mi-high", "kl-low", "kl-high", "random"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def fake_measures(widths=(100, 100), seeds=3, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for l, n in enumerate(widths):
        base = rng.uniform(0, 1, size=(seeds, n)) * (l + 1) / len(widths)
        out.append({"entropy": base, "mi": base / 2, "kl": base * 1.5,
                    "spectrum": rng.uniform(size=(seeds, n, 10))})
    return out


def fake_curves(n=100, seeds=3, names=ORDERINGS):
    k = np.arange(n + 1)
    out = {}
    for i, name in enumerate(names):
        decay = 0.9 - 0.8 * (k / n) ** (1 + i / 3)
        out[name] = np.clip(np.tile(decay, (seeds, 1)) + 0.01 * np.arange(seeds)[:, None], 0, 1)
    return out


def fake_layer_of(widths=(100, 100), seeds=3, names=ORDERINGS):
    rng = np.random.default_rng(1)
    base = np.concatenate([np.full(w, l) for l, w in enumerate(widths)])
    return {name: np.stack([rng.permutation(base) for _ in range(seeds)]) for name in names}


# --------------------------------------------------------------------------------- styles
def test_ordering_labels_and_styles():
    assert plots.ordering_label("mi-high") == "MI, high first"
    assert plots.ordering_label("random") == "random"
    assert plots.ordering_style("kl-low")["linestyle"] == "-"
    assert plots.ordering_style("kl-high")["linestyle"] == "--"
    assert plots.ordering_style("random")["color"] == "black"
    colors = {plots.ordering_style(f"{m}-low")["color"] for m in ("entropy", "mi", "kl")}
    assert len(colors) == 3
    with pytest.raises(ValueError, match="ordering"):
        plots.ordering_label("mi-sideways")


# -------------------------------------------------------------------------------- violins
@pytest.mark.parametrize("widths", [(100, 100), (25, 50, 25, 50)])
def test_violin_panel_draws_one_violin_per_layer(widths):
    fig = plt.figure(figsize=(9, 3))
    axes = plots.violin_panel(fig, fake_measures(widths), title="synthetic")
    assert len(axes) == 3
    for ax in axes:
        bodies = [c for c in ax.collections if isinstance(c, PolyCollection)]
        assert len(bodies) == len(widths)
        ticks = sorted((t.get_position()[1], t.get_text()) for t in ax.get_yticklabels())
        assert [text for _, text in ticks] == [f"layer {l}" for l in range(len(widths), 0, -1)]
    labels = [t.get_text() for t in axes[-1].get_legend().get_texts()]
    assert labels == ["min / max", "median", "mean"]
    assert axes[0].get_title(loc="left") == "synthetic"


def test_violin_panel_marks_mean_and_median_differently():
    fig, ax_row = plt.subplots(1, 3)
    plots.violin_panel(ax_row, fake_measures())
    ax = ax_row[0]
    colls = ax.collections
    colors = {tuple(np.round(c.get_color()[0], 3)) for c in colls
              if not isinstance(c, PolyCollection)}
    assert len(colors) >= 3  # extrema, median and mean each in their own colour


def test_violin_panel_constant_layer_and_subset_of_measures():
    meas = fake_measures()
    meas[0] = {k: np.zeros_like(v) for k, v in meas[0].items()}
    fig, ax_row = plt.subplots(1, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        axes = plots.violin_panel(ax_row, meas, measures=["mi", "kl"], legend=False)
    assert axes[0].get_legend() is None and axes[1].get_legend() is None


@pytest.mark.parametrize("bad", [
    [], {"entropy": np.zeros((2, 3))}, [{"entropy": np.zeros((2, 3)), "mi": np.zeros((2, 3))}],
    [{"entropy": np.zeros((2, 3, 4)), "mi": np.zeros((2, 3)), "kl": np.zeros((2, 3))}],
    [{"entropy": np.full((2, 3), np.nan), "mi": np.zeros((2, 3)), "kl": np.zeros((2, 3))}],
])
def test_violin_panel_rejects_bad_measures(bad):
    fig = plt.figure()
    with pytest.raises(ValueError, match="measures_per_layer"):
        plots.violin_panel(fig, bad)


def test_violin_panel_rejects_wrong_number_of_axes():
    fig, ax_row = plt.subplots(1, 2)
    with pytest.raises(ValueError, match="ax_row"):
        plots.violin_panel(ax_row, fake_measures())


# ------------------------------------------------------------------------------- ablation
def test_ablation_panel_lines_bands_and_legend():
    fig, ax = plt.subplots()
    out = plots.ablation_panel(ax, fake_curves(), mark_k=80, title="t")
    assert out is ax
    labelled = [l for l in ax.get_lines() if not l.get_label().startswith("_")]
    assert len(labelled) == 7
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 7
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["entropy, low first", "entropy, high first", "MI, low first",
                      "MI, high first", "KL selectivity, low first",
                      "KL selectivity, high first", "random"]
    styles = {l.get_label(): l.get_linestyle() for l in labelled}
    assert styles["MI, low first"] == "-" and styles["MI, high first"] == "--"
    # mean curve in percent
    np.testing.assert_allclose(labelled[-1].get_ydata(),
                               100 * fake_curves()["random"].mean(axis=0))
    assert any(l.get_xdata()[0] == 80 for l in ax.get_lines() if l.get_label().startswith("_"))


def test_ablation_panel_subset_without_legend():
    fig, ax = plt.subplots()
    plots.ablation_panel(ax, fake_curves(), ["mi-low", "random"], legend=False, show_std=False)
    assert len(ax.get_lines()) == 2
    assert ax.get_legend() is None
    assert not [c for c in ax.collections if isinstance(c, PolyCollection)]


def test_ablation_panel_single_seed_has_zero_band():
    fig, ax = plt.subplots()
    plots.ablation_panel(ax, fake_curves(seeds=1), ["random"])
    assert len(ax.get_lines()) == 1


@pytest.mark.parametrize("curves, orderings, argname", [
    ({"random": np.zeros(5)}, None, "curves"),
    ({"random": np.zeros((2, 5)), "mi-low": np.zeros((2, 4))}, None, "curves"),
    ({}, None, "curves"),
    ({"random": np.zeros((2, 5))}, ["mi-low"], "orderings"),
    ({"random": np.zeros((2, 5))}, "random", "orderings"),
])
def test_ablation_panel_rejects_bad_input(curves, orderings, argname):
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match=argname):
        plots.ablation_panel(ax, curves, orderings)


def test_ablation_panel_rejects_mark_outside_curve():
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="mark_k"):
        plots.ablation_panel(ax, fake_curves(n=10), mark_k=11)


def test_ablation_panel_on_a_grid():
    """Curves read on a grid of k (chapter 7) are drawn at their k, not at their column."""
    ks = [0, 1, 2, 50, 98, 99, 100]
    curves = {name: c[:, ks] for name, c in fake_curves().items()}
    fig, ax = plt.subplots()
    plots.ablation_panel(ax, curves, ks=ks, mark_k=50)
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), ks)
    assert ax.get_xlim() == (0, 100)
    with pytest.raises(ValueError, match="ks must be 7 strictly increasing"):
        plots.ablation_panel(ax, curves, ks=ks[::-1])
    with pytest.raises(ValueError, match="ks must be 7"):
        plots.ablation_panel(ax, curves, ks=ks[:-1])
    with pytest.raises(ValueError, match="mark_k"):
        plots.ablation_panel(ax, curves, ks=ks, mark_k=101)


@pytest.mark.parametrize("layout", [None, "constrained"])
def test_figure_legend_collects_lines(layout):
    fig, axes = plt.subplots(1, 2, layout=layout)
    for ax in axes:
        plots.ablation_panel(ax, fake_curves(), legend=False)
    plots.figure_legend(fig, axes[0])
    assert len(fig.legends) == 1 and len(fig.legends[0].get_texts()) == 7


def test_figure_legend_needs_labelled_lines():
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="ax"):
        plots.figure_legend(fig, ax)


def test_config_title():
    from nbutils.config import make_config

    assert plots.config_title(make_config("mnist", "relu", "dropout")) == "MNIST, ReLU, Dropout"
    assert plots.config_title(make_config("fashionmnist_small", "sigmoid", "bn_dropout")) == \
        "small FashionMNIST, sigmoid, BatchNorm + Dropout"


# ---------------------------------------------------------------------------- composition
def test_composition_fractions():
    layer_of = np.array([[0, 0, 1, 1], [1, 0, 0, 1]])
    np.testing.assert_allclose(plots.composition(layer_of, 0),
                               [[1, 1, 2 / 3, 0.5], [0, 0.5, 2 / 3, 0.5]])


def test_layer_composition_lines_and_reference():
    fig, ax = plt.subplots()
    out = plots.layer_composition(ax, fake_layer_of(), ["mi-low", "entropy-low", "random"],
                                  widths=(100, 100))
    assert out is ax
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:3] == ["MI, low first", "entropy, low first", "random"]
    assert "all from layer 1 (maximum)" in labels
    assert len(ax.get_lines()) == 5
    lines = {l.get_label(): l for l in ax.get_lines()}
    assert lines["all from layer 1 (maximum)"].get_ydata()[99] == pytest.approx(100)
    assert lines["all from layer 1 (maximum)"].get_ydata()[199] == pytest.approx(50)


def test_layer_composition_other_layer_and_four_layers():
    fig, ax = plt.subplots()
    plots.layer_composition(ax, fake_layer_of((5, 10, 5, 10)), layer=3, legend=False)
    assert len(ax.get_lines()) == 7
    assert "layer 4" in ax.get_ylabel()


@pytest.mark.parametrize("layer_of, kwargs, argname", [
    ({"random": np.zeros(6, dtype=int)}, {}, "layer_of"),
    ({"random": np.zeros((2, 6))}, {}, "layer_of"),
    ({"random": np.zeros((2, 6), dtype=int), "mi-low": np.zeros((2, 5), dtype=int)}, {},
     "layer_of"),
    ({"random": np.zeros((2, 6), dtype=int)}, {"widths": (3, 4)}, "widths"),
    ({"random": np.zeros((2, 6), dtype=int)}, {"widths": (3, 3), "layer": 2}, "layer"),
    ({"random": np.zeros((2, 6), dtype=int)}, {"orderings": ["kl-low"]}, "orderings"),
])
def test_layer_composition_rejects_bad_input(layer_of, kwargs, argname):
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match=argname):
        plots.layer_composition(ax, layer_of, **kwargs)


def test_pruning_panel_draws_the_mean_of_each_ordering():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    counts = [0, 50, 100]
    curves = {"mi": np.array([[0.98, 0.97, 0.90], [0.96, 0.95, 0.80]]),
              "he-weight": np.array([[0.98, 0.96, 0.70], [0.96, 0.94, 0.60]])}
    plots.pruning_panel(ax, counts, curves, title="layer 1", legend=True)
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(lines["Mutual information"].get_ydata(), [97.0, 96.0, 85.0])
    assert lines["Mutual information"].get_color() == "tab:red"   # the registry's, as Fig. 3
    assert lines["He et al.: weight norm"].get_linestyle() == "--"
    with pytest.raises(ValueError, match="unknown ordering"):
        plots.pruning_panel(ax, counts, {"weights": curves["mi"]})
    with pytest.raises(ValueError, match="expected"):
        plots.pruning_panel(ax, [0, 50], curves)
    plt.close(fig)


def test_every_figure_reads_one_registry_of_orderings():
    """Ablation and pruning figures take labels and colours from nbutils.orderings.ORDERINGS,
    so an ordering looks the same in every figure; the old pruning names still answer."""
    from nbutils.orderings import ORDERINGS, PRUNING

    for m in ("entropy", "mi", "kl"):
        assert plots.ordering_style(f"{m}-high")["color"] == ORDERINGS[m].color
        assert plots.pruning_style(m) == {"color": ORDERINGS[m].color, "linestyle": "-"}
        assert plots.PRUNING_LABELS[m] == ORDERINGS[m].label
    assert plots.pruning_style("he-entropy")["linestyle"] == "--"
    assert plots.PRUNING_STYLES["random"]["color"] == plots.RANDOM_COLOR == "black"
    assert set(plots.PRUNING_STYLES) == set(plots.PRUNING_LABELS) == set(PRUNING)
    assert plots.ordering_label("selectivity-low") == "selectivity, low first"
    assert plots.ordering_style("he-weight-high")["color"] == ORDERINGS["he-weight"].color
    with pytest.raises(AttributeError):
        _ = plots.PRUNING_COLOURS


def test_screen_panel_draws_one_bar_per_reading_and_config():
    import matplotlib.pyplot as plt

    from nbutils.plots import screen_panel

    fig, ax = plt.subplots()
    values = {"a": {"unit": 30.0, "standardized": 1.0}, "b": {"unit": 5.0, "standardized": 0.0}}
    screen_panel(ax, values, xlabel="dead (%)")
    assert len(ax.patches) == 4
    assert sorted(p.get_width() for p in ax.patches) == [0.0, 1.0, 5.0, 30.0]
    with pytest.raises(ValueError, match="no colour"):
        screen_panel(ax, {"a": {"whitened": 1.0, "unit": 2.0}}, xlabel="x")
    plt.close(fig)
