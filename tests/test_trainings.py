"""Results never mix two trainings (nbutils.experiment): every result records the training of
the weights it came from, and is used only with the summary of that training.

The tests use ``cache_dir`` (conftest.py): a copy of a cache holding the tiny MNIST ensemble,
which needs NBUTILS_DATA. "Another machine" is simulated by a training whose weights differ
(a wrapper around the real one), or by a shipped summary whose accuracies differ.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from nbutils import analysis, cache, experiment
from nbutils.experiment import TRAINING, WEIGHTS, TrainedEnsemble, TrainingChangedError

from conftest import TINY


def tiny() -> TrainedEnsemble:
    return TrainedEnsemble("mnist", "relu", "l2", profile=TINY, device="cpu")


def meta_of(path: Path) -> dict:
    return cache.load_arrays(path)[1]


def only(folder: Path, kind: str) -> Path:
    [path] = folder.glob(f"{kind}-*.npz")
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture
def new_process(monkeypatch):
    """Forget what this process used and trained, as a fresh kernel would."""
    def reset():
        monkeypatch.setattr(experiment, "_SERVED", {})
        monkeypatch.setattr(experiment, "ORIGINS", {})
        monkeypatch.setattr(cache, "USES", [])
    reset()
    return reset


def train_elsewhere(monkeypatch):
    """Training from now on gives other weights, as on another kind of machine."""
    real = experiment.train_ensemble

    def elsewhere(*args, **kwargs):
        model, hist = real(*args, **kwargs)
        with torch.no_grad():   # a deterministic change of every weight and bias
            for p in model.parameters():
                p.add_(0.2 * torch.cos(torch.arange(p.numel(), dtype=p.dtype)).reshape(p.shape))
        return model, hist

    monkeypatch.setattr(experiment, "train_ensemble", elsewhere)


def forbid_training(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("trained although the cache holds the ensemble")
    monkeypatch.setattr(experiment, "train_ensemble", fail)


# ------------------------------------------------------------------------------- identities
def test_fingerprint_covers_every_tensor_whatever_the_key_order():
    state = {"b": torch.arange(4.0), "a": torch.ones(2, 2)}
    same = {"a": torch.ones(2, 2), "b": torch.arange(4.0)}
    fp = experiment.weights_fingerprint(state)
    assert fp == experiment.weights_fingerprint(same) and len(fp) == 64
    changed = {**state, "b": torch.tensor([0.0, 1.0, 2.0, 3.5])}
    assert experiment.weights_fingerprint(changed) != fp
    assert experiment.weights_fingerprint({**state, "b": torch.arange(4.0).double()}) != fp
    assert experiment.weights_fingerprint({**state, "a": torch.ones(4)}) != fp   # shape


def test_results_record_the_training_of_their_weights(cache_dir):
    ens = tiny()
    analysis.measures(ens)
    state = cache.load_state(ens.weights_path)
    fp = experiment.weights_fingerprint(state["state_dict"])
    assert state[WEIGHTS] == fp
    folder = cache.results_dir() / ens.name
    assert meta_of(only(folder, "summary"))[WEIGHTS] == fp
    measures_meta = meta_of(only(folder, "measures"))
    assert measures_meta[TRAINING] == fp and measures_meta[WEIGHTS] == fp


# ---------------------------------------------------------------- replaced or new weights
def test_replaced_weights_are_never_used_with_the_results_of_the_old_ones(cache_dir,
                                                                          new_process):
    """Weights replaced by different ones are not the summary's: they are refused and the
    ensemble retrained; here (same machine) the retraining reproduces the summary's weights,
    so the stored results stay valid and the new curves come from the summary's weights."""
    ens = tiny()
    analysis.measures(ens)
    original = {k: v.clone() for k, v in ens.model.state_dict().items()}
    fp = experiment.weights_fingerprint(original)
    folder = cache.results_dir() / ens.name
    kept = {p: p.read_bytes() for p in (only(folder, "summary"), only(folder, "measures"))}
    other = {k: v * 1.5 if v.is_floating_point() else v for k, v in original.items()}
    cache.save_state(ens.weights_path, {"state_dict": other, "key": ens.key,
                                        WEIGHTS: experiment.weights_fingerprint(other)})
    new_process()
    again = tiny()
    analysis.layer_curves(again, 0)
    for k, v in again.model.state_dict().items():
        assert torch.equal(v, original[k]), k          # retrained: the summary's weights
    assert meta_of(only(folder, "layer"))[TRAINING] == fp
    assert all(p.read_bytes() == data for p, data in kept.items())   # not recomputed
    assert experiment.origin(again).how == "trained"
    assert not list(folder.glob("superseded-*"))


def test_a_different_training_supersedes_the_results_and_recomputes_them(cache_dir,
                                                                          new_process,
                                                                          monkeypatch):
    ens = tiny()
    old_measures = analysis.measures(ens)
    old_fp = meta_of(only(cache.results_dir() / ens.name, "summary"))[WEIGHTS]
    ens.weights_path.unlink()                       # the weights are gone ...
    train_elsewhere(monkeypatch)                    # ... and come back different
    new_process()
    again = tiny()
    analysis.layer_curves(again, 0)                 # nothing of the old training used yet
    folder = cache.results_dir() / ens.name
    new_fp = meta_of(only(folder, "summary"))[WEIGHTS]
    assert new_fp != old_fp
    assert new_fp == experiment.weights_fingerprint(again.model.state_dict())
    for kind in ("measures", "layer"):              # all recomputed from the new weights
        assert meta_of(only(folder, kind))[TRAINING] == new_fp
    [aside] = folder.glob("superseded-*")           # the old results kept aside, not served
    assert meta_of(only(aside, "summary"))[WEIGHTS] == old_fp
    assert meta_of(only(aside, "measures"))[TRAINING] == old_fp
    assert not np.array_equal(analysis.measures(again)[0]["mi"], old_measures[0]["mi"])


def test_a_run_that_used_the_old_training_stops_and_a_rerun_recomputes(cache_dir, new_process,
                                                                       monkeypatch):
    ens = tiny()
    analysis.measures(ens)
    old_acc = ens.summary().test_acc
    ens.weights_path.unlink()
    train_elsewhere(monkeypatch)
    new_process()
    again = tiny()
    shown = again.summary()                         # the chapter has shown the old accuracies
    np.testing.assert_array_equal(shown.test_acc, old_acc)
    with pytest.raises(TrainingChangedError, match=r"trained anew.*rerun it"):
        analysis.layer_curves(again, 0)
    forbid_training(monkeypatch)                     # the new training was kept
    new_process()
    rerun = tiny()
    summary = rerun.summary()
    assert not np.array_equal(summary.test_acc, old_acc)
    analysis.layer_curves(rerun, 0)
    assert {u.source for u in cache.USES} == {"computed"}   # measures and curves recomputed


# ------------------------------------------------------------------- shipped legacy results
def make_legacy_shipped(folder: Path, shipped: Path, change_acc: bool = False) -> None:
    """Copy a results folder as results written before fingerprints (no "training" or
    "weights" in any meta), optionally with other test accuracies (another machine)."""
    shipped.mkdir(parents=True)
    for path in folder.glob("*.npz"):
        arrays, meta = cache.load_arrays(path)
        meta = {k: v for k, v in meta.items() if k not in (TRAINING, WEIGHTS)}
        if change_acc and path.name.startswith("summary"):
            arrays = {**arrays, "test_acc": arrays["test_acc"] + np.float32(0.005)}
        cache.save_arrays(shipped / path.name, arrays, meta)


@pytest.fixture
def legacy_shipped(cache_dir, tmp_path, monkeypatch):
    """``(make, ens)``: ``make(change_acc)`` ships the tiny ensemble's summary and measures as
    legacy results and empties the results cache and the weights."""
    ens = tiny()
    analysis.measures(ens)
    folder = cache.results_dir() / ens.name
    shipped_root = tmp_path / "shipped"
    monkeypatch.setattr(cache, "SHIPPED_RESULTS", shipped_root)

    def make(change_acc: bool = False) -> Path:
        make_legacy_shipped(folder, shipped_root / ens.name, change_acc)
        shutil.rmtree(folder)
        ens.weights_path.unlink()
        return shipped_root
    return make, ens


def test_legacy_shipped_results_are_used_and_a_reproduced_training_keeps_them(
        legacy_shipped, new_process, monkeypatch):
    make, ens = legacy_shipped
    shipped = make()
    before = snapshot(shipped)
    monkeypatch.setenv("NBUTILS_RESULTS_ONLY", "1")
    analysis.measures(tiny())
    assert [u.source for u in cache.USES] == ["shipped"]
    monkeypatch.delenv("NBUTILS_RESULTS_ONLY")
    new_process()
    again = tiny()
    again.summary()
    analysis.layer_curves(again, 0)                 # not shipped: trains, reproduces the summary
    assert [u.source for u in cache.USES] == ["shipped", "computed"]
    folder = cache.results_dir() / ens.name
    assert not list(folder.glob("summary-*"))        # the shipped summary stays the anchor
    assert meta_of(only(folder, "layer"))[TRAINING].startswith(experiment.LEGACY)
    assert snapshot(shipped) == before


def test_legacy_shipped_results_of_another_machine_are_not_mixed_with_new_weights(
        legacy_shipped, new_process, monkeypatch):
    make, ens = legacy_shipped
    shipped = make(change_acc=True)                  # trained where accuracies came out otherwise
    before = snapshot(shipped)
    again = tiny()
    again.summary()
    with pytest.raises(TrainingChangedError, match="To use the shipped results again, delete"):
        analysis.layer_curves(again, 0)
    assert snapshot(shipped) == before               # never written
    new_process()
    monkeypatch.setenv("NBUTILS_RESULTS_ONLY", "1")   # the shipped measures are not usable now
    with pytest.raises(cache.ResultMissingError, match="shipped results is not usable"):
        analysis.measures(tiny())
    monkeypatch.delenv("NBUTILS_RESULTS_ONLY")
    forbid_training(monkeypatch)
    rerun = tiny()
    analysis.layer_curves(rerun, 0)
    assert {u.source for u in cache.USES} == {"computed"}
    assert snapshot(shipped) == before


# ---------------------------------------------------------------------------- run notes
def test_run_notes_say_where_each_network_came_from_in_this_run(cache_dir, new_process,
                                                                monkeypatch):
    """Chapter 5 run alone on an empty cache used to say its networks "were trained in chapter
    1" and that results computed in the run were "loaded from the results cache of an earlier
    run"."""
    from nbutils import provenance

    monkeypatch.setattr(provenance, "TIMINGS", [])
    ens = tiny()
    for path in (ens.weights_path, *(cache.results_dir() / ens.name).glob("*")):
        path.unlink()                               # an empty cache: this run trains
    run = provenance.RunRecord("chX", "ci", "cpu")
    analysis.measures(ens)
    analysis.layer_curves(ens, 0)                   # loads the measures computed just before
    text = run.text([ens])
    assert "It computed 2 result(s) and loaded 0." in text
    assert "1 was trained in this run, in " in text and "chapter 1" not in text
    new_process()                                   # a second run: everything from the cache
    run = provenance.RunRecord("chX", "ci", "cpu")
    analysis.layer_curves(tiny(), 0)
    text = run.text([tiny()])
    assert "loaded 1 from the results cache of an earlier run" in text
    assert "1 was not loaded, since the results asked for were stored (trained before" in text
    run = provenance.RunRecord("chX", "ci", "cpu")
    analysis.layer_curves(tiny(), 1)                # not cached: needs the weights
    assert "1 was loaded from the weights cache (trained before this run" in run.text([tiny()])
