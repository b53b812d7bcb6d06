"""The one registry of orderings (nbutils.orderings.ORDERINGS): what it holds, that every reader
(analysis, pruning, chapter 10's scores, the figures) takes its names, labels and colours from it,
and that a fourth measure is one entry of nbutils.measures.MEASURES and nothing else."""
import pytest
import torch

from nbutils import analysis, importance, measures, plots, prune
from nbutils.ensemble import EnsembleMLP, build_reference_mlp
from nbutils.orderings import (
    KINDS,
    ORDERINGS,
    PRUNING,
    RANDOM,
    SCORES,
    ordering_names,
    split_ordering,
)

# The three registries the one replaced, as they were: their names in order (the cache keys list
# them), labels and colours. The pruning figure's own colours and labels are gone: MI was orange
# there and red everywhere else.
MEASURE_ENTRIES = {"entropy": ("Entropy", "entropy", "tab:blue"),
                   "mi": ("Mutual information", "MI", "tab:red"),
                   "kl": ("KL selectivity", "KL selectivity", "tab:green")}
FIELD_SCORES = {"selectivity": ("Class selectivity", "tab:purple", "Morcos et al. (2018)"),
                "mean": ("Mean output", "tab:brown", "validation mean"),
                "variance": ("Output variance", "tab:pink", "validation variance"),
                "w_in": ("Incoming weight norm", "tab:olive", "L2 norm of the incoming weights"),
                "w_out": ("Outgoing weight norm", "tab:cyan", "He et al. (2014)"),
                "taylor": ("Taylor score", "tab:orange", "Molchanov et al. (2017)"),
                "oracle": ("Single-neuron drop", "black",
                           "accuracy lost when the neuron alone is ablated")}
OLD_PRUNING_ORDERINGS = ("entropy", "mi", "kl", "random", "he-entropy", "he-weight")


def test_the_registry_keeps_the_old_names_labels_and_colours():
    assert list(ORDERINGS) == [*MEASURE_ENTRIES, RANDOM, *FIELD_SCORES, "he-entropy",
                               "he-weight"]
    for name, (label, short, color) in MEASURE_ENTRIES.items():
        o = ORDERINGS[name]
        assert (o.kind, o.label, o.short, o.color) == ("measure", label, short, color)
        m = measures.MEASURES[name]
        assert (o.label, o.short, o.color) == (m.label, m.short, m.color)
        assert o.source == f"the paper, {m.equation}"
    for name, (label, color, source) in FIELD_SCORES.items():
        o = ORDERINGS[name]
        assert (o.kind, o.label, o.color, o.source) == ("score", label, color, source)
    assert list(SCORES) == [*MEASURE_ENTRIES, *FIELD_SCORES] == list(importance.SCORES)
    assert tuple(PRUNING) == OLD_PRUNING_ORDERINGS == tuple(prune.PRUNING_ORDERINGS)
    assert ORDERINGS[RANDOM].color == plots.RANDOM_COLOR == "black"
    assert ORDERINGS["he-entropy"].label == "He et al.: activation entropy"
    assert ORDERINGS["he-weight"].label == "He et al.: weight norm"


def test_every_entry_is_complete_and_each_figure_tells_its_lines_apart():
    for name, o in ORDERINGS.items():
        assert o.name == name and o.kind in KINDS and o.label and o.short and o.color
        assert (o.fn is None) == (o.kind == RANDOM)
    # the orderings one figure draws together have distinct colours
    for selection in (ORDERINGS.of("measure", "random"), SCORES, PRUNING):
        colors = [o.color for o in selection.values()]
        assert len(set(colors)) == len(colors), list(selection)
    with pytest.raises(KeyError, match="unknown ordering"):
        ORDERINGS["saliency"]
    with pytest.raises(ValueError, match="kinds"):
        ORDERINGS.of("measures")


def test_directed_names_split_on_the_last_hyphen():
    assert split_ordering("mi-low") == ("mi", "low")
    assert split_ordering("he-weight-high") == ("he-weight", "high")
    assert split_ordering("w_in-high") == ("w_in", "high")
    assert split_ordering(RANDOM) == (None, None)
    for bad in ("mi", "mi-sideways", "saliency-low", "random-low"):
        with pytest.raises(ValueError, match="ordering"):
            split_ordering(bad)


def _active_fraction(counts):
    """P(T = 1), a toy measure on the joint counts ``(..., |T|, C)``."""
    return counts[..., 1, :].sum(-1) / counts.sum((-2, -1))


def test_a_fourth_measure_is_one_entry(monkeypatch):
    """One Measure entry in MEASURES: it is then an ordering of the ablation, of the pruning and
    of chapter 10, with its label and colour in every figure, and every computation has it."""
    monkeypatch.setitem(measures.MEASURES, "active", measures.Measure(
        "active", _active_fraction, "Active fraction", "active", "tab:gray", "-"))
    assert ORDERINGS["active"].kind == "measure" and ORDERINGS["active"].color == "tab:gray"
    assert "active-low" in ordering_names() and "active-high" in analysis.score_orderings()
    assert list(PRUNING)[:4] == ["entropy", "mi", "kl", "active"]
    assert list(SCORES)[3] == "active"
    assert plots.ordering_label("active-high") == "active, high first"
    assert plots.ordering_style("active-low")["color"] == "tab:gray"
    assert plots.PRUNING_LABELS["active"] == "Active fraction"

    mlp = build_reference_mlp([6, 5, 4, 3], "relu", 1).double().eval()
    x = torch.rand(40, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = torch.arange(40) % 3
    scores = prune.pruning_scores(mlp, x, y, "relu", seed=2)
    t = prune.layer_outputs(mlp, x, 1)
    torch.testing.assert_close(scores[1]["active"], (t > 0).double().mean(0), rtol=0, atol=1e-12)
    model = EnsembleMLP.from_members([mlp.float()], "relu").eval()
    field = importance.importance_scores(model, x.float(), y, 1, ["active", "mean"])
    torch.testing.assert_close(field["active"][0], (t > 0).double().mean(0), rtol=0, atol=1e-6)
