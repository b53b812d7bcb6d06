"""Seed shards (nbutils.shards) and their merge (nbutils.merge): the seeds of one configuration
trained and analysed in parts, merged into the results of the whole ensemble.

The first tests need no data (ranges, merge rules, epochs, random streams, command line); the
others train tiny MNIST shards (:data:`conftest.TINY`: 256 training images) and need
NBUTILS_DATA.
"""
from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from test_ensemble import _data

from nbutils import analysis, cache, merge, precompute, shards
from nbutils.config import Profile, make_config
from nbutils.ensemble import EnsembleMLP
from nbutils.experiment import WEIGHTS, TrainedEnsemble, weights_fingerprint
from nbutils.orderings import RANDOM, random_orders
from nbutils.shards import MERGED, MergedEnsembleError, SeedRange, ShardError
from nbutils.train import TrainHistory, derive_seed, select_epoch, train_ensemble

from conftest import TINY

R = SeedRange.parse


# ------------------------------------------------------------------------------ seed ranges
def test_seeds_are_a_number_or_a_range():
    assert shards.parse_seeds("35") == 35
    assert shards.parse_seeds(" 6-10 ") == SeedRange(6, 10)
    assert R("6-10").seeds == [6, 7, 8, 9, 10] and len(R("6-10")) == 5
    assert R("3-3").label == "3-3"
    for bad in ("0", "0-3", "5-3", "a", "3-", "-2", "1-2-3"):
        with pytest.raises(ValueError, match=r"seeds=.* is not allowed: .*A-B"):
            shards.parse_seeds(bad)
    with pytest.raises(ShardError, match="1 <= A <= B"):
        SeedRange(4, 2)


def test_merged_ranges_cover_seeds_from_one_without_gaps_or_overlaps():
    assert merge.check_ranges([R("6-10"), R("1-5"), R("11-11")]) == [R("1-5"), R("6-10"),
                                                                     R("11-11")]
    for ranges, why in (([R("2-5"), R("6-9")], "must start at seed 1"),
                        ([R("1-5"), R("7-9")], "seeds 6-6 are in no shard"),
                        ([R("1-5"), R("5-9")], "1-5 and 5-9 share seeds 5-5"),
                        ([R("1-9"), R("3-4")], "1-9 and 3-4 share seeds 3-4"),
                        ([], "at least one")):
        with pytest.raises(ShardError, match=f"merge=.* is not allowed: .*{why}"):
            merge.check_ranges(ranges)


# ------------------------------------------------------------------------------ merge rules
def test_per_member_arrays_are_joined_in_seed_order():
    a = {"kl_0": np.arange(6.0).reshape(2, 3), "spectrum_0": np.ones((2, 3, 4))}
    b = {"kl_0": np.arange(6.0, 9.0).reshape(1, 3), "spectrum_0": np.zeros((1, 3, 4))}
    out = merge.merge_arrays("measures", [a, b], [2, 1])
    np.testing.assert_array_equal(out["kl_0"], np.arange(9.0).reshape(3, 3))
    assert out["spectrum_0"].shape == (3, 3, 4) and out["spectrum_0"][2].sum() == 0


def test_summary_histories_are_joined_along_their_member_axis():
    def summary(m: int, first: float, epochs: int = 4):
        return {"test_acc": first + np.arange(m), "val_history": np.full((epochs, m), first),
                "train_acc": np.zeros((epochs, m)), "train_loss": np.zeros((epochs, m))}
    out = merge.merge_arrays("summary", [summary(2, 0.0), summary(3, 1.0)], [2, 3])
    assert out["val_history"].shape == (4, 5) and out["test_acc"].shape == (5,)
    np.testing.assert_array_equal(out["val_history"][0], [0, 0, 1, 1, 1])
    with pytest.raises(ShardError, match="trained different epochs"):
        merge.merge_arrays("summary", [summary(2, 0.0), summary(3, 1.0, epochs=5)], [2, 3])


@pytest.mark.filterwarnings("ignore:Mean of empty slice")
def test_times_are_summed_and_per_class_means_weighted_by_members():
    rng = np.random.default_rng(0)
    per_member = rng.random((5, 4, 3))
    per_member[:, :, 1] = np.nan    # a class absent from the test set: NaN for every member
    parts = [{analysis.SECONDS: np.float64(s), "mi-low": per_member[i:j, :, 0],
              "per_class_mi-low": np.nanmean(per_member[i:j], axis=0)}
             for s, (i, j) in zip((1.5, 2.0), ((0, 2), (2, 5)))]
    out = merge.merge_arrays("score_layer", parts, [2, 3])
    assert out[analysis.SECONDS] == 3.5
    np.testing.assert_allclose(out["per_class_mi-low"], np.nanmean(per_member, axis=0),
                               rtol=1e-14, equal_nan=True)   # only the order of the sums differs
    assert np.isnan(out["per_class_mi-low"][:, 1]).all()


def test_results_without_a_member_axis_or_a_rule_are_refused():
    with pytest.raises(ShardError, match="kind='course' is not allowed"):
        merge.merge_arrays("course", [{"x": np.zeros(2)}], [2])
    with pytest.raises(ShardError, match="no member axis of 3"):
        merge.merge_arrays("layer", [{"kl-low": np.zeros((2, 5))}, {"kl-low": np.zeros((2, 5))}],
                           [2, 3])
    with pytest.raises(ShardError, match="different arrays"):
        merge.merge_arrays("layer", [{"a": np.zeros((1, 2))}, {"b": np.zeros((1, 2))}], [1, 1])
    with pytest.raises(ShardError, match="differ besides the member axis"):
        merge.merge_arrays("whole", [{"a": np.zeros((1, 2))}, {"a": np.zeros((1, 3))}], [1, 1])


def test_shards_of_other_configurations_data_or_epochs_are_refused():
    expected = {"config": "mnist-relu-l2", "profile": "paper", "preprocessing": "unit",
                "data": "abc"}
    merge.check_shard_summary("1-5", dict(expected), expected)
    for key, other in (("config", "mnist-relu-dropout"), ("profile", "quick"),
                       ("preprocessing", "standardized"), ("data", "abd")):
        with pytest.raises(ShardError, match=f"shard 6-10: its summary has {key}="):
            merge.check_shard_summary("6-10", {**expected, key: other}, expected)
    assert merge.check_epochs(["1-5", "6-10"], [(12, 15), (12, 15)]) == (12, 15)
    with pytest.raises(ShardError, match="different epochs .*6-10: epoch 11 of 14"):
        merge.check_epochs(["1-5", "6-10"], [(12, 15), (11, 14)])
    meta = merge.merge_meta("layer-x.npz", ["1-5", "6-10"],
                            [{"layer": 0, "training": "t1"}, {"layer": 0, "training": "t2"}],
                            "merged-1")
    assert meta == {"layer": 0, "training": "merged-1", WEIGHTS: "merged-1",
                    MERGED: {"shards": ["1-5", "6-10"]}}
    with pytest.raises(ShardError, match=r"differ in \['value'\]"):
        merge.merge_meta("layer-x.npz", ["1-5", "6-10"], [{"value": "zero"}, {"value": "mean"}],
                         "merged-1")


class _Asked(Exception):
    """Raised by :class:`_Recorder` once a step has asked for its result."""


class _Recorder:
    """Stands in for an ensemble: records the kind of result a precompute step asks for."""

    def __init__(self, config):
        ens = TrainedEnsemble(*config, profile="paper", device="cpu")
        self.config, self.profile, self.seeds, self.kinds = ens.config, ens.profile, [1], []

    def result_path(self, kind: str, **params) -> Path:
        self.kinds.append(kind)
        return Path(f"{kind}.npz")

    def memoize(self, path, compute):
        raise _Asked

    def summary(self):
        self.kinds.append(merge.SUMMARY)
        raise _Asked


def test_every_result_precompute_asks_for_has_a_merge_rule():
    """All chapters' results of every configuration, chapter 7's CIFAR-10 networks included."""
    kinds = set()
    for name in precompute.config_names(cifar=True):
        config = precompute.parse_config(name)
        recorder = _Recorder(config)
        for label, step in precompute.steps(config):
            with pytest.raises(_Asked):
                step(recorder)
            assert recorder.kinds, label
        kinds |= set(recorder.kinds)
    assert {"summary", "member", "measures", "layer", "whole", "score_layer"} <= kinds
    assert kinds <= {merge.SUMMARY, merge.MEMBER, *merge.PER_MEMBER_KINDS}


# ---------------------------------------------------------------------------------- epochs
def test_epoch_note_replays_the_rule_on_all_members():
    rule = make_config("mnist", "relu", "l2")            # 8-30 epochs, patience 3

    def members(best: int, after: float, epochs: int) -> np.ndarray:
        """Two members rising by 0.04 an epoch until epoch ``best``, then at ``after``."""
        curve = 0.5 + 0.04 * np.arange(epochs)
        curve[best:] = after
        return np.stack([curve, curve], axis=1)

    first = members(8, 0.7, 11)                         # the rule keeps 8, stops after 11
    assert select_epoch(first.mean(1), 8, 30, 3, 0.0005) == (8, 11)
    agrees = merge.epoch_note(rule, "1-2", np.concatenate([first, first], axis=1), 8)
    assert agrees["agrees"] and agrees["all_members"] == 8
    assert "would have kept it too" in agrees["note"]
    rising = members(11, 0.0, 11)                       # the others still improve at 11
    still = merge.epoch_note(rule, "1-2", np.concatenate([first, rising], axis=1), 8)
    assert not still["agrees"] and still["all_members"] is None
    assert "trained longer" in still["note"] and still["chosen_on"] == "1-2"
    later = members(9, 0.7, 12)                         # keeps 9, stops after 12; with
    moved = merge.epoch_note(rule, "1-2",               # the others, 8 (stopping after 11)
                             np.concatenate([later, members(8, 0.6, 12)], axis=1), 9)
    assert not moved["agrees"] and moved["all_members"] == 8
    assert "kept another epoch" in moved["note"]
    fixed = merge.epoch_note(make_config("mnist", "relu", "l2", epochs=1), "1-2",
                             np.ones((1, 4)), 1)
    assert fixed["agrees"] and "no choice" in fixed["note"]


def test_a_later_shard_keeps_the_chosen_epoch_and_trains_as_many_as_the_first():
    """The rule with ``min_epochs=E`` and a gain no accuracy makes keeps epoch E: the weights
    of a plain E-epoch training (the same computation: same members, data and kernels, so
    equal exactly) after T epochs recorded."""
    x, y = _data(n=160)
    xv, yv = _data(n=100, seed=1)
    base = make_config("mnist", "relu", "dropout")
    config = shards.fixed_epoch_config(base, 2, 4)
    assert config.chooses_epochs and (config.min_epochs, config.epochs) == (2, 4)
    model, hist = train_ensemble(config, [3, 4], x, y, xv, yv, device="cpu", fused=False)
    plain, _ = train_ensemble(replace(base, epochs=2, min_epochs=None), [3, 4], x, y, xv, yv,
                              device="cpu", fused=False)
    assert hist.chosen_epoch == 2 and len(hist.val_acc) == 4
    for (name, a), b in zip(model.state_dict().items(), plain.state_dict().values()):
        assert torch.equal(a, b), name
    capped = shards.fixed_epoch_config(base, 30, 30)
    assert not capped.chooses_epochs and capped.epochs == 30
    with pytest.raises(ValueError, match="chosen=5 is not allowed: at most trained=4"):
        shards.fixed_epoch_config(base, 5, 4)


# -------------------------------------------------------------------------- random streams
def _stub(seeds, shard=None, key="0123456789abcdef0123"):
    return SimpleNamespace(config=make_config("mnist", "relu", "l2"), seeds=list(seeds),
                           shard=shard, key=key, data=SimpleNamespace(fingerprint="f"),
                           profile=SimpleNamespace(name="paper", random_draws=3))


def test_a_members_random_orderings_do_not_depend_on_its_shard():
    four = shards.member_random_orders(_stub([1, 2, 3, 4], R("1-4")), 7, "layer0")
    two = shards.member_random_orders(_stub([3, 4], R("3-4")), 7, "layer0")
    assert four.shape == (4, 3, 7)
    assert torch.equal(four[2:], two)
    assert not torch.equal(four[0], four[1])
    assert not torch.equal(shards.member_random_orders(_stub([3, 4], R("3-4")), 7, "whole"), two)


def test_an_ensemble_that_is_no_shard_keeps_its_key_stream():
    """The shipped results were computed with the stream of the ensemble's key: unchanged."""
    ens = _stub([1, 2, 3])
    values = {m: torch.rand(3, 6) for m in ("entropy", "mi", "kl")}
    orders = analysis._orders(ens, values, 6, "layer1")
    seed = derive_seed(int(ens.key[:12], 16), "layer1") % (2**62)
    assert torch.equal(orders[RANDOM], random_orders(3, 6, 3, seed))


# ----------------------------------------------------------------------------- command line
def test_command_line_takes_a_number_a_shard_or_shards_to_merge(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(precompute, "precompute",
                        lambda config, profile, **kw: calls.append(kw["seeds"]) or {})
    precompute.main(["--profile", "ci", "--config", "mnist-relu-l2", "--seeds", "3"])
    precompute.main(["--profile", "ci", "--config", "mnist-relu-l2", "--seeds", "6-10"])
    assert calls == [3, SeedRange(6, 10)]
    for argv, message in ((["--seeds", "6_10"], "seeds='6_10' is not allowed"),
                          (["--seeds", "2", "--merge", "1-2"], "not allowed with argument"),
                          (["--merge", "1-2", "4-5"], "seeds 3-3 are in no shard"),
                          (["--merge", "0-2"], "seeds='0-2' is not allowed")):
        with pytest.raises(SystemExit):
            precompute.main(["--profile", "ci", "--config", "mnist-relu-l2", *argv])
        assert message in capsys.readouterr().err


# ------------------------------------------------------------------- tiny shards, real data
CHOOSING = Profile("choosing", {"mnist": 2}, epochs=None, limit_train=256, limit_val=200,
                   limit_test=200, random_draws=2, description="test profile choosing epochs")


@pytest.fixture
def fresh(real_root, tmp_path, monkeypatch):
    """An empty cache and an empty folder standing in for the shipped results."""
    monkeypatch.setenv("NBUTILS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("NBUTILS_RESULTS", raising=False)
    monkeypatch.delenv("NBUTILS_RESULTS_ONLY", raising=False)
    monkeypatch.setattr(cache, "SHIPPED_RESULTS", tmp_path / "shipped")
    return tmp_path


def shard(seeds: str | int, profile: Profile = TINY) -> TrainedEnsemble:
    seeds = R(seeds) if isinstance(seeds, str) else seeds
    return TrainedEnsemble("mnist", "relu", "l2", profile=profile, seeds=seeds, device="cpu")


def join(parts: list[TrainedEnsemble], whole: TrainedEnsemble) -> None:
    """Store ``whole`` as the networks of ``parts`` side by side (weights and summary): one
    training of all its members, free of the rounding that training them in an ensemble of
    another size brings (see nbutils.shards)."""
    states = [p.model.state_dict() for p in parts]
    state = {k: torch.cat([s[k] for s in states]).cpu() for k in states[0]}
    fingerprint = weights_fingerprint(state)
    cache.save_state(whole.weights_path, {"state_dict": state, "key": whole.key,
                                          WEIGHTS: fingerprint})
    model = EnsembleMLP.from_config(whole.config, whole.seeds)
    model.load_state_dict(state)
    sums = [p.summary() for p in parts]
    history = {name: np.concatenate([getattr(s, name) for s in sums], axis=1).tolist()
               for name in ("train_loss", "train_acc", "val_history")}
    whole._save_summary(model.eval(), TrainHistory(
        history["train_loss"], history["train_acc"], history["val_history"],
        sum(s.seconds for s in sums), sums[0].chosen_epoch), fingerprint)


def analyse(ens: TrainedEnsemble) -> None:
    """Results of the kinds precompute asks for (whole-network and score curves, slow here,
    are per-member arrays and means over members: their rules are tested above)."""
    analysis.measures(ens)
    analysis.activity(ens)
    analysis.layer_curves(ens, 0)
    analysis.layer_curves(ens, 1, "mean", ks=[0, 10, 50, 100])
    analysis.quantizer_curves(ens, 1, "quantile", 8, ks=[0, 80])
    analysis.scores(ens, 1)
    analysis.member_model(ens, 0)


def folder_files(ens: TrainedEnsemble) -> list[Path]:
    return sorted((cache.results_dir() / ens.name).glob("*.npz"))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_merged_shards_are_the_results_of_one_ensemble(fresh, monkeypatch):
    """Shards 1-2 and 3-4 merged equal the results of the four networks as one ensemble
    (shard 1-4, whose random orderings come from the same per-member streams), under the key
    of a single run of seeds 1-4, where a chapter finds them without weights.

    Compared to 1e-12: each member is evaluated alone in both (ablation in float64), so the
    only differences are the last bits of batched float32 activations (for 2 or 4 members),
    which never move a one-bit quantization or a prediction of these 200 images; a wrong
    member order, axis or random stream shows at 1/200."""
    first, second, whole = shard("1-2"), shard("3-4"), shard("1-4")
    for part in (first, second):
        analyse(part)
    assert merge.shard_ranges(("mnist", "relu", "l2"), TINY) == [R("1-2"), R("3-4")]
    join([first, second], whole)
    analyse(whole)
    with pytest.raises(ShardError, match="start at the same seed .*1-2, 1-4"):
        merge.shard_ranges(("mnist", "relu", "l2"), TINY)
    # shard 3-4 is read from the shipped results alone
    shutil.move(cache.results_dir() / second.name, cache.SHIPPED_RESULTS / second.name)

    report = merge.merge_shards(("mnist", "relu", "l2"), TINY, [R("3-4"), R("1-2")])
    single = TrainedEnsemble("mnist", "relu", "l2", profile=TINY, seeds=4, device="cpu")
    assert report.ensemble.name == single.name and report.skipped == {}
    merged_files = {p.name for p in folder_files(single)}
    assert merged_files == {p.name for p in folder_files(whole)} | {
        single.result_path("member", member=2).name}           # seed 3 = member 0 of 3-4
    for path in folder_files(whole):
        expected, _ = cache.load_arrays(path)
        got, meta = cache.load_arrays(cache.results_dir() / single.name / path.name)
        assert set(got) == set(expected), path.name
        for name in expected:
            if name != analysis.SECONDS:
                np.testing.assert_allclose(got[name].astype(np.float64),
                                           expected[name].astype(np.float64), rtol=1e-12,
                                           atol=1e-12, err_msg=f"{path.name}: {name}")
        assert meta.get("training", meta[WEIGHTS]) == meta[WEIGHTS] == single.anchor().identity
    meta = single.anchor().meta
    assert [s["seeds"] for s in meta[MERGED]["shards"]] == ["1-2", "3-4"]
    assert meta["seeds"] == [1, 2, 3, 4] and meta[MERGED]["epoch"]["agrees"]

    # a chapter (a fresh ensemble, results only) finds everything, without weights
    monkeypatch.setenv("NBUTILS_RESULTS_ONLY", "1")
    chapter = TrainedEnsemble("mnist", "relu", "l2", profile=TINY, seeds=4, device="cpu")
    np.testing.assert_array_equal(analysis.layer_random_draws(chapter, 0),
                                  analysis.layer_random_draws(whole, 0))
    assert chapter.summary().test_acc.shape == (4,) and chapter._model is None
    member = analysis.member_model(chapter, 2)
    assert torch.equal(member.state_dict()["weight_t.0"][0], second.model.state_dict()[
        "weight_t.0"][0])
    # a result the merge did not bring is not computed from a merged ensemble
    monkeypatch.delenv("NBUTILS_RESULTS_ONLY")
    before = snapshot(fresh)
    with pytest.raises(MergedEnsembleError, match="merged from the shards 1-2, 3-4 .* no "
                                                  "weights"):
        analysis.layer_curves(chapter, 1)
    assert snapshot(fresh) == before
    # merging again changes nothing
    stored = {p.name: cache.load_arrays(p) for p in folder_files(single)}
    merge.merge_shards(("mnist", "relu", "l2"), TINY, [R("1-2"), R("3-4")])
    again = {p.name: cache.load_arrays(p) for p in folder_files(single)}
    assert again.keys() == stored.keys()
    for name, (arrays, meta) in again.items():
        assert meta == stored[name][1], name
        for key, value in arrays.items():
            np.testing.assert_array_equal(value, stored[name][0][key])


def test_a_merge_is_refused_before_anything_is_written(fresh):
    first = shard("1-2")
    analysis.measures(first)
    before = snapshot(fresh)
    with pytest.raises(ShardError, match=r"shard 3-4 .* has no summary .* --seeds 3-4"):
        merge.merge_shards(("mnist", "relu", "l2"), TINY, [R("1-2"), R("3-4")])
    assert snapshot(fresh) == before
    single = TrainedEnsemble("mnist", "relu", "l2", profile=TINY, seeds=2, device="cpu")
    single.summary()                                # a single run of seeds 1-2 is stored
    before = snapshot(fresh)
    with pytest.raises(ShardError, match="already holds a single run of seeds 1-2 .* shadow"):
        merge.merge_shards(("mnist", "relu", "l2"), TINY, [R("1-2")])
    assert snapshot(fresh) == before


def test_later_shards_train_the_epochs_the_first_shard_chose(fresh):
    later = shard("3-4", CHOOSING)
    with pytest.raises(ShardError, match=r"shard 3-4 .* needs the first shard .* --seeds 1-B"):
        later.summary()
    assert not (fresh / "cache").exists() or not list((fresh / "cache").rglob("*.npz"))
    first = shard("1-2", CHOOSING).summary()
    chosen, trained = first.chosen_epoch, len(first.val_history)
    assert trained > chosen or trained == 30
    later = shard("3-4", CHOOSING)
    summary = later.summary()
    assert (summary.chosen_epoch, len(summary.val_history)) == (chosen, trained)
    assert later.anchor().meta["epochs_from"] == "1-2"
    d = later.data
    plain, _ = train_ensemble(make_config("mnist", "relu", "l2", epochs=chosen), [3, 4],
                              d.x_train, d.y_train, device="cpu")
    for (name, a), b in zip(later.model.state_dict().items(), plain.state_dict().values()):
        assert torch.equal(a.cpu(), b.cpu()), name
    report = merge.merge_shards(("mnist", "relu", "l2"), CHOOSING, [R("1-2"), R("3-4")])
    merged = report.ensemble.summary()
    assert merged.chosen_epoch == chosen and merged.val_history.shape == (trained, 4)
    scores = [sum(row.tolist()) / 4 for row in merged.val_history]
    c = later.config
    try:
        agrees = select_epoch(scores, c.min_epochs, c.epochs, c.patience,
                              c.min_delta) == (chosen, trained)
    except ValueError:
        agrees = False
    assert report.epoch["agrees"] == agrees and report.epoch["chosen_on"] == "1-2"
    assert report.ensemble.anchor().meta[MERGED]["epoch"] == report.epoch
