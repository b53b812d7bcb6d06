"""The memoization helper of nbutils.analysis (``analysis.result``): the cache key of every kind
of result is built from the computing function's own arguments, and it is byte-for-byte the key
the hand-made sites built before (the repository ships results under those keys; the chapters
find them by key).

No data and no network: a stand-in ensemble has the real ``result_path`` and a ``memoize`` that
records the path and stops."""
from pathlib import Path

import pytest

from nbutils import analysis, cache, merge
from nbutils.config import make_config
from nbutils.experiment import TrainedEnsemble
from nbutils.measures import MEASURES
from nbutils.orderings import ordering_names


class Asked(Exception):
    """What the stand-in's ``memoize`` raises: the path a result was asked for."""


class Stand:
    """An ensemble with the real ``result_path`` (under the name "stand") that computes
    nothing."""

    def __init__(self, arch="mnist", activation="relu", regularizer="l2"):
        self.config = make_config(arch, activation, regularizer)
        self.seeds = [1, 2]
        self.name = "stand"

    result_path = TrainedEnsemble.result_path

    def memoize(self, path, compute):
        raise Asked(path)


def asked(call) -> Path:
    with pytest.raises(Asked) as info:
        call()
    return info.value.args[0]


MLP, NET = Stand(), Stand("pruning", "sigmoid")
FIELD = ["selectivity", "mean", "variance", "w_in", "w_out", "taylor", "oracle"]
PRUNING = ["entropy", "mi", "kl", "random", "he-entropy", "he-weight"]
SCORE_ORDERINGS = [f"{s}-{d}" for s in ("entropy", "mi", "kl", *FIELD) for d in ("low", "high")]

# label: (the call, the key the hand-made site built (its expression, copied), its file name,
# computed by the code before the helper). The file names of shipped kinds are those of the
# shipped results (test_shipped_results_carry_these_names).
CASES = {
    "measures": (lambda: analysis.measures(MLP),
                 ("measures", dict(scheme="one_bit", n_bins=2, measures=list(MEASURES))),
                 "measures-f5f9b6226747.npz"),
    "measures, quantile-4": (lambda: analysis.measures(MLP, "quantile", 4),
                             ("measures", dict(scheme="quantile", n_bins=4,
                                               measures=list(MEASURES))),
                             "measures-c1379a02d82c.npz"),
    "activity": (lambda: analysis.activity(MLP), ("activity", {}), "activity-e10808d43975.npz"),
    "dead_matched, layer": (lambda: analysis.dead_matched_curves(MLP, 1),
                            ("dead_matched", dict(layer=1)), "dead_matched-1e102377da59.npz"),
    "dead_matched, whole network": (lambda: analysis.dead_matched_curves(MLP),
                                    ("dead_matched", {}), "dead_matched-e10808d43975.npz"),
    "dead_last, layer": (lambda: analysis.dead_matched_curves(MLP, 1, dead="last"),
                         ("dead_last", dict(layer=1)), "dead_last-1e102377da59.npz"),
    "layer": (lambda: analysis.layer_curves(MLP, 0),
              ("layer", dict(layer=0, value="zero", orderings=ordering_names(),
                             draws_kept=True)),
              "layer-a4b621ba222b.npz"),
    "layer, mean": (lambda: analysis.layer_curves(MLP, 1, "mean"),
                    ("layer", dict(layer=1, value="mean", orderings=ordering_names(),
                                   draws_kept=True)),
                    "layer-aa5987d66c0d.npz"),
    "layer, grid": (lambda: analysis.layer_curves(MLP, 0, ks=[0, 5, 100]),
                    ("layer", dict(layer=0, value="zero", orderings=ordering_names(),
                                   draws_kept=True, ks=[0, 5, 100])),
                    "layer-18abf1bd3ba9.npz"),
    "layer, the full grid is no grid": (
        lambda: analysis.layer_random_draws(MLP, 0, ks=list(range(101))),
        ("layer", dict(layer=0, value="zero", orderings=ordering_names(), draws_kept=True)),
        "layer-a4b621ba222b.npz"),
    "whole": (lambda: analysis.whole_network_curves(MLP),
              ("whole", dict(value="zero", orderings=ordering_names())),
              "whole-ddc1222d6ebd.npz"),
    "whole, mean": (lambda: analysis.whole_network_curves(MLP, "MEAN"),
                    ("whole", dict(value="mean", orderings=ordering_names())),
                    "whole-bd4a5dadd5e7.npz"),
    "quantizer_layer": (lambda: analysis.quantizer_curves(MLP, 0, "quantile", 8),
                        ("quantizer_layer", dict(layer=0, scheme="quantile", n_bins=8,
                                                 orderings=ordering_names(random=False))),
                        "quantizer_layer-28a4647c25a6.npz"),
    "quantizer_layer, grid": (lambda: analysis.quantizer_curves(MLP, 1, "uniform", 4,
                                                                ks=[0, 80]),
                              ("quantizer_layer", dict(layer=1, scheme="uniform", n_bins=4,
                                                       orderings=ordering_names(random=False),
                                                       ks=[0, 80])),
                              "quantizer_layer-10fb7a331edd.npz"),
    "member": (lambda: analysis.member_model(MLP, 0), ("member", dict(member=0)),
               "member-e79c430867f6.npz"),
    "scores": (lambda: analysis.scores(MLP, 1), ("scores", dict(layer=1, scores=FIELD)),
               "scores-19a841790cf8.npz"),
    "score_layer": (lambda: analysis.score_curves(MLP, 0),
                    ("score_layer", dict(layer=0, orderings=SCORE_ORDERINGS)),
                    "score_layer-81af47bbd529.npz"),
    "prune": (lambda: analysis.pruning_curves(NET, 0, [0, 20, 200]),
              ("prune", dict(layer=0, counts=[0, 20, 200], surgeries=["remove", "balance"],
                             orderings=PRUNING)),
              "prune-2f4c868ce193.npz"),
    "prune, one surgery": (lambda: analysis.pruning_curves(NET, 1, [0, 100], ("balance",)),
                           ("prune", dict(layer=1, counts=[0, 100], surgeries=["balance"],
                                          orderings=PRUNING)),
                           "prune-2219c3290180.npz"),
    "prune-wide": (lambda: analysis.network_wide_pruning_curves(NET, [0, 40]),
                   ("prune-wide", dict(counts=[0, 40], surgery="balance", orderings=PRUNING)),
                   "prune-wide-7b978fa5e196.npz"),
    "prune-layerwise": (lambda: analysis.layer_by_layer_pruning_curves(NET, [0, 40], "remove"),
                        ("prune-layerwise", dict(counts=[0, 40], surgery="remove",
                                                 orderings=PRUNING)),
                        "prune-layerwise-04c3b142550f.npz"),
    "prune-finetune": (lambda: analysis.finetuned_pruning(NET, 0, "mi", [100, 150], 1),
                       ("prune-finetune", dict(layer=0, ordering="mi", counts=[100, 150],
                                               epochs=1)),
                       "prune-finetune-2962de280a1c.npz"),
    "course-mask": (lambda: analysis.course_mask_curves(NET, 1, "mi", [0, 100]),
                    ("course-mask", dict(layer=1, ordering="mi", counts=[0, 100])),
                    "course-mask-d7d4f6324901.npz"),
}


@pytest.mark.parametrize("label", CASES)
def test_the_key_is_the_hand_made_one(label, tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV_RESULTS, str(tmp_path))
    call, (kind, params), name = CASES[label]
    ens = NET if kind.startswith(("prune", "course")) else MLP
    path = asked(call)
    assert path == ens.result_path(kind, **params) == tmp_path / "stand" / name


def test_every_kind_of_result_is_covered():
    assert {kind for _, (kind, _), _ in CASES.values()} == set(analysis.RESULT_KINDS)


def test_shipped_results_carry_these_names():
    """The kinds the repository ships are found under the names above (so the names are not
    only stable but the ones the chapters load)."""
    shipped = {p.name for p in cache.SHIPPED_RESULTS.glob("*/*.npz")}
    if not shipped:
        pytest.skip("no shipped results in this checkout")
    for label in ("measures", "measures, quantile-4", "layer", "layer, mean", "whole",
                  "member", "scores", "score_layer"):
        assert CASES[label][2] in shipped, label


def test_the_merge_rules_follow_the_registered_kinds():
    assert merge.PER_MEMBER_KINDS == {
        "measures", "activity", "layer", "whole", "quantizer_layer", "scores", "score_layer",
        "dead_matched", "dead_last", "prune", "prune-wide", "prune-layerwise", "prune-finetune",
        "course-mask"}
    assert analysis.RESULT_KINDS[merge.MEMBER] is False


def test_the_helper_keys_arguments_and_extras(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV_RESULTS, str(tmp_path))
    calls = []
    extras = iter([["a"], ["a", "b"]])

    @analysis.result("toy", per_member=False, orderings=lambda: next(extras), fixed=True)
    def toy(ens, layer, value="zero", ks=None):
        calls.append((layer, value, ks))
        return {"x": layer}, {}

    stand = Stand()
    path = toy.path(stand, 1, ks=[0, 2])
    assert path == stand.result_path("toy", layer=1, value="zero", ks=[0, 2], orderings=["a"],
                                     fixed=True)
    # None is left out of the key (a new optional argument keeps the old keys), and the extras
    # are read at each call
    assert asked(lambda: toy(stand, 1)) == stand.result_path(
        "toy", layer=1, value="zero", orderings=["a", "b"], fixed=True)
    assert calls == [] and toy.kind == "toy" and analysis.RESULT_KINDS.pop("toy") is False
    with pytest.raises(TypeError, match="layer"):
        analysis.result("clash", layer=0)(lambda ens, layer: ({}, {}))
