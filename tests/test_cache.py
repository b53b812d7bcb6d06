"""Tests of nbutils.cache and of the memoization of trained ensembles (weights) and of the
analysis results (measures, curves).

The file-level tests need nothing; the ensemble tests use ``cache_dir`` (conftest.py): a copy of
a cache holding a tiny MNIST ensemble (2 seeds, 256 images, one epoch), which needs
NBUTILS_DATA (a folder built by shared/data/prepare.sh).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from nbutils import ablation, analysis, cache, experiment, measures
from nbutils.cache import CorruptCacheWarning
from nbutils.experiment import TrainedEnsemble

from conftest import TINY


# --------------------------------------------------------------------------- file level
def test_atomic_write_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "sub" / "a.bin"
    cache.write_checked(path, b"hello")
    assert cache.read_checked(path) == b"hello"
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.bin", "a.bin.sha256"]


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "a.bin"
    cache.write_checked(path, b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(cache.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        cache.write_checked(path, b"new")
    monkeypatch.undo()
    assert cache.read_checked(path) == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "a.bin.sha256"]


@pytest.mark.parametrize("damage, reason", [
    (lambda p: p.write_bytes(p.read_bytes()[:3]), "checksum mismatch"),
    (lambda p: p.with_name(p.name + ".sha256").unlink(), "no checksum"),
])
def test_corrupt_file_is_reported_moved_aside_and_not_used(tmp_path, damage, reason):
    path = tmp_path / "a.bin"
    cache.write_checked(path, b"complete content")
    damage(path)
    with pytest.warns(CorruptCacheWarning, match=f"{path.name}.*{reason}"):
        assert cache.read_checked(path) is None
    assert not path.exists()
    assert (tmp_path / "a.bin.corrupt").exists()  # the bytes are kept for inspection


def test_unreadable_file_with_valid_checksum_is_corrupt(tmp_path):
    path = tmp_path / "a.npz"
    cache.write_checked(path, b"not an npz archive")
    with pytest.warns(CorruptCacheWarning, match="unreadable"):
        assert cache.load_arrays(path) is None
    with pytest.warns(CorruptCacheWarning, match="unreadable"):
        cache.write_checked(path, b"not a torch file")
        assert cache.load_state(path) is None


def test_memoize_computes_once_and_recomputes_a_corrupt_file(tmp_path):
    path = tmp_path / "r.npz"
    calls = []

    def compute():
        calls.append(1)
        return {"x": np.arange(5.0)}, {"note": "n"}

    first = cache.memoize_arrays(path, compute)
    second = cache.memoize_arrays(path, compute)
    assert len(calls) == 1
    np.testing.assert_array_equal(first[0]["x"], second[0]["x"])
    assert second[1] == {"note": "n"}
    path.write_bytes(path.read_bytes()[:-10])  # truncated
    with pytest.warns(CorruptCacheWarning):
        third = cache.memoize_arrays(path, compute)
    assert len(calls) == 2
    np.testing.assert_array_equal(third[0]["x"], np.arange(5.0))
    assert cache.load_arrays(path) is not None


def test_digest_is_stable_and_order_free():
    assert cache.digest({"a": 1, "b": 2}) == cache.digest({"b": 2, "a": 1})
    assert cache.digest({"a": 1}) != cache.digest({"a": 2})


def test_cache_root_follows_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("NBUTILS_CACHE", str(tmp_path / "c"))
    monkeypatch.setenv("NBUTILS_RESULTS", str(tmp_path / "r"))
    assert cache.weights_dir() == (tmp_path / "c" / "weights").resolve()
    assert cache.results_dir() == (tmp_path / "r").resolve()


# ------------------------------------------------------------------------- experiments
def tiny(regularizer: str = "l2", seeds: int | None = None) -> TrainedEnsemble:
    return TrainedEnsemble("mnist", "relu", regularizer, profile=TINY, seeds=seeds, device="cpu")


def forbid_training(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("trained although the cache holds the ensemble")
    monkeypatch.setattr(experiment, "train_ensemble", fail)


def test_key_names_everything_that_determines_the_ensemble(cache_dir):
    names = {tiny().name, tiny(seeds=3).name, tiny("dropout").name,
             TrainedEnsemble("mnist", "relu", "l2", profile="ci", device="cpu").name}
    assert len(names) == 4
    assert tiny().name == tiny().name


def test_trained_once_then_loaded(cache_dir, monkeypatch):
    first = tiny()
    acc = first.summary().test_acc
    weights = {k: v.clone() for k, v in first.model.state_dict().items()}
    forbid_training(monkeypatch)
    second = tiny()
    np.testing.assert_array_equal(second.summary().test_acc, acc)
    for k, v in second.model.state_dict().items():
        assert torch.equal(v, weights[k]), k


def test_corrupt_weights_are_reported_and_retrained_identically(cache_dir):
    first = tiny()
    weights = {k: v.clone() for k, v in first.model.state_dict().items()}
    path = first.weights_path
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # a truncated file
    with pytest.warns(CorruptCacheWarning, match=path.name):
        model = tiny().model
    for k, v in model.state_dict().items():
        assert torch.equal(v, weights[k]), k   # deterministic retraining
    assert path.with_name(path.name + ".corrupt").exists()
    assert cache.load_state(path) is not None  # the recomputed file is valid


@pytest.mark.parametrize("value", ["zero", "mean"])
def test_results_are_used_without_weights(cache_dir, monkeypatch, value):
    exp = tiny()
    meas = analysis.measures(exp)
    curves = analysis.layer_curves(exp, 1, value)
    whole, layer_of = analysis.whole_network_curves(exp, value)
    exp.weights_path.unlink()  # as on a CPU machine that received only the results folder
    forbid_training(monkeypatch)

    def no_training_data(*args, **kwargs):  # "mean" needs the training set only to compute
        raise AssertionError("the training-set means were recomputed although cached")

    monkeypatch.setattr(ablation, "mean_outputs", no_training_data)
    again = tiny()
    for a, b in zip(meas, analysis.measures(again)):
        np.testing.assert_array_equal(a["mi"], b["mi"])
    for name, c in analysis.layer_curves(again, 1, value).items():
        np.testing.assert_array_equal(c, curves[name])
    again_whole, again_layer_of = analysis.whole_network_curves(again, value)
    for name, c in again_whole.items():
        np.testing.assert_array_equal(c, whole[name])
        np.testing.assert_array_equal(again_layer_of[name], layer_of[name])
    assert again._model is None  # the weights were never needed


def test_a_new_measure_recomputes_instead_of_failing(cache_dir, monkeypatch):
    exp = tiny()
    analysis.measures(exp)
    old = analysis.layer_curves(exp, 0)
    extra = measures.Measure("mi_copy", measures.mutual_information, "MI copy", "MI copy",
                             "tab:purple", "Eq. (4)")
    monkeypatch.setitem(measures.MEASURES, "mi_copy", extra)  # one registry entry, nothing else
    meas = analysis.measures(tiny())      # a different key: computed, not a KeyError
    np.testing.assert_array_equal(meas[0]["mi_copy"], meas[0]["mi"])
    curves = analysis.layer_curves(tiny(), 0)
    np.testing.assert_array_equal(curves["mi_copy-low"], curves["mi-low"])
    np.testing.assert_array_equal(curves["mi-high"], old["mi-high"])


def test_random_draws_are_kept_with_their_mean(cache_dir):
    """The random curve is the mean of the profile's draws; the single draws come from the same
    cached result (one computation, no second cache entry)."""
    exp = tiny()
    curves = analysis.layer_curves(exp, 1)
    draws = analysis.layer_random_draws(exp, 1)
    assert draws.shape == (len(exp.seeds), exp.profile.random_draws, curves["random"].shape[1])
    np.testing.assert_allclose(draws.mean(axis=1), curves["random"], rtol=0, atol=1e-12)
    assert len(list((cache.results_dir() / exp.name).glob("layer-*.npz"))) == 1


def test_pruning_curves_are_memoized_and_bias_balancing_matches_mean_ablation(cache_dir,
                                                                              monkeypatch):
    """Pruning curves of the tiny ensemble: k = 0 is the intact accuracy; bias balancing of
    the k lowest-MI neurons equals the engine's ablation to the training-set mean in accuracy;
    a second call reads the cache (no weights needed)."""
    from nbutils import prune

    exp = tiny()
    curves = analysis.pruning_curves(exp, 1, [0, 5, 20])
    assert set(curves) == {f"{o}/{s}" for o in prune.PRUNING_ORDERINGS
                           for s in ("remove", "balance")}
    intact = exp.summary().test_acc
    np.testing.assert_allclose(curves["mi/balance"][:, 0], intact, atol=1e-6)
    d = exp.data
    mlp = exp.model.member(0).double()
    scores = prune.pruning_scores(mlp, d.x_val.double(), d.y_val, "relu", exp.seeds[0])[1]
    order = torch.argsort(scores["mi"], stable=True)
    engine = ablation.ablation_curve(exp.model, d.x_test, d.y_test, 1,
                                     order.unsqueeze(0).expand(len(exp.seeds), -1), "mean",
                                     ks=[20], x_train=d.x_train)
    assert curves["mi/balance"][0, 2] == pytest.approx(float(engine[0, 0]), abs=1e-12)
    wide_first = analysis.network_wide_pruning_curves(exp, [0, 150])
    even_first = analysis.layer_by_layer_pruning_curves(exp, [0, 150])
    exp.weights_path.unlink()
    forbid_training(monkeypatch)
    again = analysis.pruning_curves(tiny(), 1, [0, 5, 20])
    for key, c in again.items():
        np.testing.assert_array_equal(c, curves[key])
    with pytest.raises(ValueError, match="counts"):
        analysis.pruning_curves(tiny(), 1, [101])
    even = analysis.layer_by_layer_pruning_curves(tiny(), [0, 150])   # from the cache
    np.testing.assert_array_equal(even["mi"], even_first["mi"])
    np.testing.assert_allclose(even["mi"][:, 0], curves["mi/balance"][:, 0])
    wide = analysis.network_wide_pruning_curves(tiny(), [0, 150])   # from the cache
    np.testing.assert_array_equal(wide["mi"], wide_first["mi"])
    np.testing.assert_allclose(wide["mi"][:, 0], curves["mi/balance"][:, 0])
    assert set(wide) == set(prune.PRUNING_ORDERINGS)


def test_finetuned_pruning_and_course_mask_are_memoized(cache_dir, monkeypatch):
    """Fine-tuning after pruning: "before" equals the pruning curve of the same surgery (float32
    against float64 forward: within one test sample), k = 0 fine-tuned changes the net, the
    wall time is recorded; the course mask at k = 0 is the intact net; both come back from the
    cache unchanged, and bad arguments name the parameter."""
    exp = tiny()
    tuned = analysis.finetuned_pruning(exp, 1, "mi", [0, 20], epochs=1)
    curves = analysis.pruning_curves(exp, 1, [0, 20])
    n_test = len(exp.data.y_test)
    for s in ("remove", "balance"):
        np.testing.assert_allclose(tuned[f"{s}/before"], curves[f"mi/{s}"], atol=1.01 / n_test)
        assert (tuned[f"{s}/seconds"] > 0).all()
    assert not np.array_equal(tuned["balance/after"], tuned["balance/before"])
    mask = analysis.course_mask_curves(exp, 1, "mi", [0, 20])
    np.testing.assert_allclose(mask[:, 0], curves["mi/balance"][:, 0], atol=1e-12)
    exp.weights_path.unlink()
    forbid_training(monkeypatch)
    again = analysis.finetuned_pruning(tiny(), 1, "mi", [0, 20], epochs=1)
    for key, value in again.items():
        np.testing.assert_array_equal(value, tuned[key])
    np.testing.assert_array_equal(analysis.course_mask_curves(tiny(), 1, "mi", [0, 20]), mask)
    with pytest.raises(ValueError, match="ordering"):
        analysis.finetuned_pruning(tiny(), 1, "weight", [0], epochs=1)
    with pytest.raises(ValueError, match="epochs"):
        analysis.finetuned_pruning(tiny(), 1, "mi", [0], epochs=0)
    with pytest.raises(ValueError, match="counts"):
        analysis.course_mask_curves(tiny(), 1, "mi", [101])


def test_corrupt_result_is_recomputed_identically(cache_dir):
    exp = tiny()
    curves = analysis.layer_curves(exp, 0)
    [path] = (cache.results_dir() / exp.name).glob("layer-*.npz")
    path.write_bytes(b"garbage")
    with pytest.warns(CorruptCacheWarning):
        again = analysis.layer_curves(tiny(), 0)
    for name, c in again.items():
        np.testing.assert_array_equal(c, curves[name])


def test_interrupted_training_writes_nothing_and_keeps_the_cache(cache_dir, monkeypatch):
    done = tiny()
    done.summary()
    before = {p: p.read_bytes() for p in cache_dir.rglob("*") if p.is_file()}

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(experiment, "train_ensemble", interrupted)
    other = tiny("dropout")
    with pytest.raises(KeyboardInterrupt, match="interrupted; nothing was written"):
        other.summary()
    after = {p: p.read_bytes() for p in cache_dir.rglob("*") if p.is_file()}
    assert after == before
    assert not other.weights_path.exists()


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_curves_on_a_grid_are_the_full_curves_at_the_grid_points(cache_dir):
    """A wide layer's curves read on a grid (chapter 7) are exact: the columns of the full
    curves at those k. The grid is part of the cache key; the full range is the same entry as
    no grid; the compute time is stored with the curves."""
    exp = tiny()
    full = analysis.layer_curves(exp, 0)
    grid = analysis.layer_grid(exp, 0, dense=10, step=20, extra=[25, 500])
    assert grid == [*range(11), 20, 25, 40, 60, 80, *range(90, 101)]   # 500 > width: left out
    on_grid = analysis.layer_curves(exp, 0, ks=grid)
    for name, c in on_grid.items():
        np.testing.assert_array_equal(c, full[name][:, grid])
    draws = analysis.layer_random_draws(exp, 0, ks=grid)
    assert draws.shape == (len(exp.seeds), exp.profile.random_draws, len(grid))
    assert np.isfinite(analysis.layer_seconds(exp, 0, ks=grid))
    entries = sorted((cache.results_dir() / exp.name).glob("layer-*.npz"))
    assert len(entries) == 2
    again = analysis.layer_curves(exp, 0, ks=list(range(101)))   # the full range: no new entry
    np.testing.assert_array_equal(again["mi-low"], full["mi-low"])
    assert sorted((cache.results_dir() / exp.name).glob("layer-*.npz")) == entries
    # the profile's grid: every k for a layer of at most 2 * 50 neurons
    assert analysis.layer_grid(exp, 1) == list(range(101))


@pytest.mark.parametrize("ks, message", [
    ([0, 10, 101], r"ks must lie within 0\.\.100"),
    ([0, 20, 10], "ks must be strictly increasing"),
    ([-1, 5], r"ks must lie within 0\.\.100"),
    ([0, 1.5], "ks must be a list of integers"),
])
def test_a_bad_grid_is_refused_and_changes_nothing_cached(cache_dir, ks, message):
    exp = tiny()
    analysis.layer_curves(exp, 0)
    before = snapshot(cache_dir)
    with pytest.raises(ValueError, match=message):
        analysis.layer_curves(exp, 0, ks=ks)
    assert snapshot(cache_dir) == before


def test_a_layer_the_network_does_not_have_is_refused(cache_dir):
    exp = tiny()
    before = snapshot(cache_dir)
    for call in (lambda: analysis.layer_curves(exp, 2, ks=[0, 1]),
                 lambda: analysis.layer_grid(exp, 2), lambda: analysis.layer_curves(exp, -1)):
        with pytest.raises(ValueError, match="layer"):
            call()
    assert snapshot(cache_dir) == before
