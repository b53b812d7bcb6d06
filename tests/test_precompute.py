"""Results computed per configuration, shipped with the repository, and read without weights.

The chapters read their networks only through memoized results; :mod:`nbutils.precompute` asks
for those results one configuration at a time and copies them into the shipped results. Here:
the shipped fallback, the ``NBUTILS_RESULTS_ONLY`` guard, the two results chapter 2 added
(one member's weights, curves ordered by a finer quantizer) and the command line. That the
precomputed results are *all* the chapters need is checked by tests/test_chapters.py, which runs
chapters 2-6 with ``NBUTILS_RESULTS_ONLY=1`` after :func:`nbutils.precompute.precompute_all`.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from nbutils import ablation, analysis, cache, precompute
from nbutils.cache import ResultMissingError
from nbutils.chapters import ch02
from nbutils.config import CHAPTER_CONFIGS
from nbutils.experiment import TrainedEnsemble
from nbutils.orderings import order_by

from conftest import TINY


def tiny() -> TrainedEnsemble:
    return TrainedEnsemble("mnist", "relu", "l2", profile=TINY, device="cpu")


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """An empty folder standing in for the repository's shipped results."""
    folder = tmp_path / "shipped"
    monkeypatch.setattr(cache, "SHIPPED_RESULTS", folder)
    return folder


def files(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_shipped_results_are_read_without_weights_or_writing(cache_dir, shipped, monkeypatch):
    exp = tiny()
    meas = analysis.measures(exp)
    curves = analysis.layer_curves(exp, 0)
    shutil.move(cache.results_dir() / exp.name, shipped / exp.name)   # only the shipped copy
    exp.weights_path.unlink()
    monkeypatch.setenv("NBUTILS_RESULTS_ONLY", "1")
    again = tiny()
    np.testing.assert_array_equal(analysis.measures(again)[1]["kl"], meas[1]["kl"])
    for name, c in analysis.layer_curves(again, 0).items():
        np.testing.assert_array_equal(c, curves[name])
    assert again.summary().test_acc.shape == (2,)
    assert again._model is None
    assert not (cache.results_dir() / exp.name).exists()   # read, not copied back


def test_results_only_refuses_to_compute_and_changes_nothing(cache_dir, shipped, monkeypatch):
    exp = tiny()
    analysis.measures(exp)
    before = files(cache_dir)
    monkeypatch.setenv("NBUTILS_RESULTS_ONLY", "1")
    with pytest.raises(ResultMissingError, match="NBUTILS_RESULTS_ONLY=1 forbids") as err:
        analysis.layer_curves(tiny(), 1, "mean")
    assert exp.name in str(err.value) and str(shipped) in str(err.value)
    assert files(cache_dir) == before
    exp.weights_path.unlink()
    before = files(cache_dir)
    with pytest.raises(ResultMissingError, match="the weights of .* are not in the cache"):
        _ = tiny().model
    assert files(cache_dir) == before
    monkeypatch.setenv("NBUTILS_RESULTS_ONLY", "0")   # "0" switches it off
    assert cache.results_only() is False


def test_member_model_is_one_member_of_the_ensemble(cache_dir, monkeypatch):
    exp = tiny()
    x = exp.data.x_val[:50]
    full = [a[1].double() for a in exp.model.hidden_activations(x)]
    member = analysis.member_model(exp, 1)
    assert member.n_members == 1
    for a, b in zip(member.hidden_activations(x), full):
        torch.testing.assert_close(a[0].double(), b, rtol=0, atol=1e-5)
    exp.weights_path.unlink()
    monkeypatch.setenv("NBUTILS_RESULTS_ONLY", "1")
    loaded = analysis.member_model(tiny(), 1)     # from the result alone
    for (name, a), b in zip(loaded.state_dict().items(), member.state_dict().values()):
        assert torch.equal(a, b), name
    with pytest.raises(ValueError, match="member=2 is not allowed: an integer in 0..1"):
        analysis.member_model(tiny(), 2)


def test_quantizer_curves_are_the_ablation_ordered_by_that_quantizer(cache_dir):
    exp = tiny()
    curves = analysis.quantizer_curves(exp, 1, "quantile", 8, ks=[0, 40, 100])
    kl = analysis.measures(exp, "quantile", 8)[1]["kl"]
    d = exp.data
    expected = ablation.ablation_curve(exp.model, d.x_test, d.y_test, 1,
                                       order_by(torch.as_tensor(kl), descending=True), "zero",
                                       ks=[0, 40, 100])
    np.testing.assert_array_equal(curves["kl-high"], expected.numpy().astype(np.float64))
    assert set(curves) == {f"{m}-{d}" for m in ("entropy", "mi", "kl") for d in ("low", "high")}
    with pytest.raises(ValueError, match="ks"):
        analysis.quantizer_curves(exp, 1, "quantile", 8, ks=[0, 101])


def test_ship_copies_each_result_once_and_never_a_corrupt_one(cache_dir, shipped, monkeypatch):
    monkeypatch.setattr(precompute, "TrainedEnsemble",
                        lambda *c, profile, device, **_: TrainedEnsemble(*c, profile=TINY,
                                                                         device="cpu"))
    exp = tiny()
    analysis.measures(exp)
    written = precompute.ship(("mnist", "relu", "l2"), "tiny")
    assert {p.name for p in written} == {p.name for p in
                                         (cache.results_dir() / exp.name).glob("*.npz")}
    assert all(cache.read_checked(p) is not None for p in written)
    assert precompute.ship(("mnist", "relu", "l2"), "tiny") == []   # nothing new
    curves_path = exp.result_path("layer", layer=0, value="zero",
                                  orderings=analysis.ordering_names(), draws_kept=True)
    analysis.layer_curves(exp, 0)
    curves_path.write_bytes(curves_path.read_bytes()[:100])   # damaged before shipping
    with pytest.warns(cache.CorruptCacheWarning):
        assert precompute.ship(("mnist", "relu", "l2"), "tiny") == []
    assert not (shipped / exp.name / curves_path.name).exists()


def test_every_chapter_configuration_is_precomputed_and_bad_names_are_refused():
    names = precompute.config_names("paper")
    wanted = {"-".join(c) for entry in ("fig1", "fig2", "fig3", "fig4", "mnist_all")
              for c in CHAPTER_CONFIGS[entry]}
    assert set(names) == wanted and len(names) == 14
    assert precompute.parse_config("fashionmnist_small-relu-none") == (
        "fashionmnist_small", "relu", "none")
    # chapter 7's CIFAR-10 networks are named one by one, never part of --all
    assert precompute.parse_config("cifar10_funnel-relu-dropout") == (
        "cifar10_funnel", "relu", "dropout")
    assert not any(n.startswith("cifar10") for n in names)
    with pytest.raises(ValueError, match="config='cifar10-relu-none' is not allowed"):
        precompute.parse_config("cifar10-relu-none")
    labels = [label for label, _ in precompute.steps(ch02.NETWORK)]
    assert "member 0 (chapter 2)" in labels and len(labels) == len(set(labels))
    assert "dead and always-on neurons" in labels
    ch7 = [label for label, _ in precompute.steps(("cifar10_funnel", "relu", "l2"))]
    assert [label for label in ch7 if "chapter 7" in label] == [
        f"layer {l} curves (chapter 7)" for l in (1, 2, 3, 4)]


def test_command_line_names_a_bad_configuration(capsys):
    with pytest.raises(SystemExit):
        precompute.main(["--profile", "ci", "--config", "mnist-tanh-l2"])
    assert "config='mnist-tanh-l2' is not allowed" in capsys.readouterr().err


# ----------------------------------------------------------------- chapter 10's results
def test_scores_reuse_the_paper_measures_and_are_memoized(cache_dir, monkeypatch):
    from nbutils.importance import SCORES, importance_scores

    exp = tiny()
    values = analysis.scores(exp, 1)
    assert list(values) == list(SCORES)
    assert all(v.shape == (2, 100) and v.dtype == np.float64 for v in values.values())
    np.testing.assert_array_equal(values["mi"], analysis.measures(exp)[1]["mi"])
    d = exp.data
    direct = importance_scores(exp.model, d.x_val, d.y_val, 1, ["taylor", "oracle"])
    np.testing.assert_array_equal(values["taylor"], direct["taylor"].numpy())
    np.testing.assert_array_equal(values["oracle"], direct["oracle"].numpy())
    exp.weights_path.unlink()
    monkeypatch.setenv("NBUTILS_RESULTS_ONLY", "1")
    again = analysis.scores(tiny(), 1)
    for name in SCORES:
        np.testing.assert_array_equal(again[name], values[name])


def test_score_curves_are_the_ablation_ordered_by_each_score(cache_dir):
    exp = tiny()
    curves = analysis.score_curves(exp, 0)
    assert set(curves) == {*analysis.score_orderings(),
                           *(f"per_class_{n}" for n in analysis.score_orderings())}
    d = exp.data
    order = order_by(torch.as_tensor(analysis.scores(exp, 0)["w_out"]), descending=True)
    acc, per_class = ablation.ablation_curve(exp.model, d.x_test, d.y_test, 0, order,
                                             per_class=True)
    np.testing.assert_array_equal(curves["w_out-high"], acc.numpy().astype(np.float64))
    assert curves["per_class_w_out-high"].shape == (101, 10)
    np.testing.assert_allclose(curves["per_class_w_out-high"],
                               per_class.double().nanmean(0).numpy(), rtol=0, atol=1e-12)
    # the paper's orderings are those of layer_curves
    np.testing.assert_array_equal(curves["kl-low"], analysis.layer_curves(exp, 0)["kl-low"])
    with pytest.raises(ValueError, match="layer=2 is not allowed"):
        analysis.score_curves(exp, 2)


def test_chapter_modules_state_their_requests_once():
    """Each chapter module names its notebook; requests have unique labels per configuration;
    the chapters that run from stored results are those the test suite runs that way."""
    from nbutils import chapters

    mods = chapters.chapters()
    book = Path(__file__).resolve().parent.parent / "book"
    notebooks = {p.stem for p in book.glob("[0-9]*.ipynb")}
    assert {m.NOTEBOOK for m in mods} == notebooks
    assert set(chapters.from_results()) == {"02_measures", "03_fig1_violins",
                                            "04_whole_network_ablation", "05_layerwise_mnist",
                                            "06_layerwise_fashionmnist", "10_importance_measures"}
    for name in precompute.config_names(cifar=True):
        labels = [r.label for r in chapters.requests(precompute.parse_config(name))]
        assert len(labels) == len(set(labels)) and labels[0] == "summary (chapter 1)"
    assert chapters.requests(("pruning", "sigmoid", "l2"))[0].label == "summary (chapter 1)"


def test_steps_of_some_chapters_only_and_a_bad_chapter_is_refused(capsys):
    """``--chapters`` computes what those chapter modules read and nothing of the others
    (e.g. chapters 1-7 without chapter 10's scores, for a second input reading)."""
    config = ("mnist", "sigmoid", "l2")
    every = [label for label, _ in precompute.steps(config)]
    first_seven = [label for label, _ in precompute.steps(
        config, ("ch01", "ch02", "ch03", "ch04", "ch05", "ch06", "ch07"))]
    assert any("chapter 10" in label for label in every)
    assert not any("chapter 10" in label for label in first_seven)
    assert first_seven == [label for label in every if "chapter 10" not in label]
    with pytest.raises(ValueError, match=r"chapters=\['ch12'\]: allowed"):
        precompute.steps(config, ("ch12",))
    with pytest.raises(SystemExit):
        precompute.main(["--profile", "ci", "--config", "mnist-relu-l2", "--chapters", "ch12"])
    assert "invalid choice: 'ch12'" in capsys.readouterr().err
