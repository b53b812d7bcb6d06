"""Merging seed shards (:mod:`nbutils.shards`) into the results of the whole ensemble.

Shards of one configuration, profile and preprocessing whose seeds cover 1..N without gaps or
overlaps merge into the results of the N-seed ensemble, stored under the key a single run of
those seeds has (``TrainedEnsemble(..., seeds=N)``), so the chapters find them. A result holds
per-member arrays whose first axis is the member; the merge concatenates the shards' arrays
along it in seed order. The exceptions, each handled by :func:`merge_arrays`:

- the summary's histories ``(epochs, M)`` are joined along their member axis, the last; every
  shard trained the same epochs (:mod:`nbutils.shards`), so they have the same rows;
- ``compute_seconds``, the wall time of a computation, is summed over the shards;
- the per-class curves of :func:`nbutils.analysis.score_curves` ``(k, C)`` are means over the
  members: merged as the mean weighted by the shards' sizes (the same up to rounding, since a
  class absent from the test set is NaN for every member);
- one member's weights (:func:`nbutils.analysis.member_model`, named by the member's index)
  take the member's index in the merged ensemble;
- a kind of result without a rule here is not merged (reported).

A result is merged only if every shard holds it, of the shard's own training; the others are
reported. Merged results record the training of the merged ensemble (``"merged-"`` and a digest
of the shards' trainings) and the shards they came from (meta ``"merged"``); the summary also
says how the epoch was chosen (``meta["merged"]["epoch"]``, :func:`epoch_note`) and whether a
single run of all seeds would have kept the same. Merged float32 results equal a single run's
only up to rounding (see :mod:`nbutils.shards`). A merged ensemble has no weights: a result it
lacks is computed on every shard and the shards merged again. Nothing is written unless every
check passes, and a merge never shadows a single run of the same seeds (cached or shipped).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import cache, checks
from .analysis import PER_CLASS, RESULT_KINDS, SECONDS
from .config import Profile, TrainConfig
from .experiment import TRAINING, WEIGHTS, Anchor, TrainedEnsemble
from .shards import MERGED, SHARD, SeedRange, ShardError, command, stored_shards
from .train import select_epoch

Config = tuple[str, str, str]

SUMMARY = "summary"
MEMBER = "member"
HISTORIES = ("val_history", "train_acc", "train_loss")   # summary arrays (epochs, M)
ROUNDING = ("merged from shards trained apart: each member is an independent training of its "
            "seed, as in one run of all seeds, but in float32 not bit-identical to it (batched "
            "kernels round differently for other ensemble sizes; see nbutils.shards)")
# kinds of results whose arrays all have the member first (besides SECONDS and PER_CLASS): every
# result of nbutils.analysis but MEMBER, as its decorator (analysis.result) registers them
PER_MEMBER_KINDS = frozenset(kind for kind, per_member in RESULT_KINDS.items() if per_member)


@dataclass
class MergeReport:
    """What :func:`merge_shards` did: the merged ensemble, its shards, the files written, the
    results not merged (file -> why) and how the epoch was chosen (:func:`epoch_note`)."""

    ensemble: TrainedEnsemble
    shards: list[SeedRange]
    written: list[Path] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    epoch: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------- checks
def check_ranges(ranges: Sequence[SeedRange]) -> list[SeedRange]:
    """``ranges`` sorted, checked to cover seeds 1..N once each (no gap, no overlap)."""
    ranges = sorted(ranges)
    labels = [r.label for r in ranges]
    if not ranges:
        raise checks.fail("merge", labels, "at least one range A-B of seeds", ShardError)
    if ranges[0].first != 1:
        raise checks.fail("merge", labels, "shards covering seeds 1..N: the first must start at "
                          "seed 1 (it chooses the epochs)", ShardError)
    for a, b in zip(ranges, ranges[1:]):
        if b.first <= a.last:
            raise checks.fail("merge", labels, f"shards without overlaps: {a.label} and "
                              f"{b.label} share seeds {b.first}-{min(a.last, b.last)}",
                              ShardError)
        if b.first > a.last + 1:
            raise checks.fail("merge", labels, f"shards without gaps: seeds "
                              f"{a.last + 1}-{b.first - 1} are in no shard", ShardError)
    return ranges


def check_shard_summary(label: str, meta: dict, expected: dict) -> None:
    """Refuse a shard whose summary ``meta`` disagrees with ``expected`` (configuration,
    profile, seeds, preprocessing, data fingerprint, ...), naming the field."""
    for key, value in expected.items():
        if meta.get(key) != value:
            raise ShardError(f"cannot merge shard {label}: its summary has {key}="
                             f"{meta.get(key)!r}, the merge needs {key}={value!r}")


def check_epochs(labels: Sequence[str], epochs: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """The ``(chosen, trained)`` epochs every shard shares; refused if they differ."""
    if len(set(epochs)) != 1:
        listed = ", ".join(f"{label}: epoch {c} of {t}" for label, (c, t) in zip(labels, epochs))
        raise ShardError(f"cannot merge shards that kept different epochs ({listed}): every "
                         f"shard must train the first shard's epochs")
    return epochs[0]


# ---------------------------------------------------------------------------------- arrays
def merge_arrays(kind: str, parts: Sequence[dict[str, np.ndarray]], sizes: Sequence[int]
                 ) -> dict[str, np.ndarray]:
    """The arrays of one result of kind ``kind`` (``"summary"``, ``"layer"``, ...) from shards of
    ``sizes`` members, merged as the module docstring says.

    Raises:
        ShardError: a kind without a rule, shards with other arrays, dtypes or shapes.
    """
    if kind != SUMMARY and kind not in PER_MEMBER_KINDS:
        raise checks.fail("kind", kind, f"a kind of result with a merge rule: one of "
                          f"{sorted({SUMMARY, *PER_MEMBER_KINDS})}", ShardError)
    names = set(parts[0])
    for part in parts[1:]:
        if set(part) != names:
            raise ShardError(f"cannot merge {kind} results holding different arrays: "
                             f"{sorted(names)} and {sorted(part)}")
    return {name: _merge_one(kind, name, [np.asarray(p[name]) for p in parts], sizes)
            for name in sorted(names)}


def _merge_one(kind: str, name: str, arrays: list[np.ndarray], sizes: Sequence[int]
               ) -> np.ndarray:
    if len({a.dtype for a in arrays}) != 1:
        raise ShardError(f"cannot merge {kind}/{name}: dtypes {[str(a.dtype) for a in arrays]}")
    if name == SECONDS:
        return np.float64(sum(float(a) for a in arrays))
    if kind == "score_layer" and name.startswith(PER_CLASS + "_"):
        return member_mean(arrays, sizes)
    last = kind == SUMMARY and name in HISTORIES
    for a, size in zip(arrays, sizes):
        if a.ndim == 0 or a.shape[-1 if last else 0] != size:
            raise ShardError(f"cannot merge {kind}/{name}: shape {a.shape} has no member axis of "
                             f"{size} {'(the last)' if last else '(the first)'}")
    rest = {a.shape[:-1] if last else a.shape[1:] for a in arrays}
    if len(rest) != 1:
        why = " (the shards trained different epochs)" if last else ""
        raise ShardError(f"cannot merge {kind}/{name}: shapes {[a.shape for a in arrays]} "
                         f"differ besides the member axis{why}")
    return np.concatenate(arrays, axis=-1 if last else 0)


def member_mean(means: Sequence[np.ndarray], sizes: Sequence[int]) -> np.ndarray:
    """The mean over all members from each shard's mean over its members (NaN-aware, as
    ``nanmean``: an entry NaN in a shard counts for none of its members; NaN where all are)."""
    if len({m.shape for m in means}) != 1:
        raise ShardError(f"cannot average shapes {[m.shape for m in means]}")
    stack = np.stack([np.asarray(m, dtype=np.float64) for m in means])
    weight = np.asarray(sizes, dtype=np.float64).reshape(-1, *[1] * (stack.ndim - 1))
    valid = ~np.isnan(stack)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (np.where(valid, stack, 0.0) * weight).sum(0) / (valid * weight).sum(0)


def merge_meta(name: str, labels: Sequence[str], metas: Sequence[dict], identity: str) -> dict:
    """The meta of merged result ``name``: the shards' (equal but for their training), with the
    merged training and the shards it came from."""
    own = [{k: v for k, v in m.items() if k not in (TRAINING, WEIGHTS)} for m in metas]
    for label, meta in zip(labels[1:], own[1:]):
        if meta != own[0]:
            keys = sorted(k for k in {*meta, *own[0]} if meta.get(k) != own[0].get(k))
            raise ShardError(f"cannot merge {name}: shards {labels[0]} and {label} differ in "
                             f"{keys}")
    return {**own[0], TRAINING: identity, WEIGHTS: identity, MERGED: {"shards": list(labels)}}


def merged_identity(labels: Sequence[str], anchors: Sequence[Anchor]) -> str:
    """The training of a merged ensemble: ``"merged-"`` and a digest of its shards' trainings."""
    text = json.dumps([[label, a.identity] for label, a in zip(labels, anchors)])
    return "merged-" + hashlib.sha256(text.encode()).hexdigest()


def epoch_note(config: TrainConfig, first: str, val_history: np.ndarray, chosen: int) -> dict:
    """How the merged ensemble's epoch was chosen, and what the rule says on all its members.

    Args:
        config: the configuration (its rule: ``min_epochs``, ``epochs``, ``patience``, ...).
        first: the first shard's seeds, ``"1-5"``.
        val_history: the merged validation accuracies ``(epochs trained, M)``.
        chosen: the epoch every shard kept.

    Returns:
        ``{"chosen", "trained", "chosen_on", "all_members", "agrees", "note"}``: ``all_members``
        is the epoch the rule keeps on the mean of all members (``None``: it would train
        beyond the recorded epochs), ``agrees`` whether that is ``chosen`` after as many
        epochs (then the merged ensemble is what a single run would have kept).
    """
    trained, n = val_history.shape
    out = {"chosen": chosen, "trained": trained, "chosen_on": None, "all_members": chosen,
           "agrees": True}
    if not config.chooses_epochs:
        return {**out, "note": f"the profile fixes the number of epochs ({trained}): no choice, "
                               f"the merge is what one run of all {n} seeds gives, up to rounding"}
    # the mean as training takes it (a sum in member order), replayed by the rule
    scores = [sum(row.tolist()) / n for row in val_history]
    try:
        all_chosen, stop = select_epoch(scores, config.min_epochs, config.epochs,
                                        config.patience, config.min_delta)
    except ValueError:
        all_chosen = stop = None
    head = (f"epoch {chosen} was chosen by the rule on the members of the first shard (seeds "
            f"{first}) and kept by every shard (all trained {trained} epochs); ")
    if (all_chosen, stop) == (chosen, trained):
        note = (f"on all {n} members the rule keeps the same epoch and stops at the same one, "
                f"so one run of all seeds would have kept it too (the merge is that run, up to "
                f"rounding)")
    elif all_chosen is None:
        note = (f"on all {n} members the mean validation accuracy was still improving when the "
                f"first shard stopped: one run of all seeds would have trained longer and might "
                f"have kept a later epoch")
    else:
        note = (f"on all {n} members the rule would keep epoch {all_chosen} (stopping after "
                f"{stop}): one run of all seeds would have kept another epoch than this merge")
    return {**out, "chosen_on": first, "all_members": all_chosen,
            "agrees": (all_chosen, stop) == (chosen, trained), "note": head + note}


# ----------------------------------------------------------------------------------- merge
def shard_ranges(config: Config, profile: str | Profile, *, preprocessing: str | None = None
                 ) -> list[SeedRange]:
    """The shards of ``config`` found in the results cache and the shipped results (those of
    this data and package version), for ``--merge-all``; refused when two start at one seed."""
    base = TrainedEnsemble(*config, profile=profile, seeds=SeedRange(1, 1),
                           preprocessing=preprocessing, device="cpu")
    found = [r for name, r in stored_shards(base.config.name, base.profile.name).items()
             if base.sibling(r).name == name]
    if not found:
        raise ShardError(f"no shards of {base.config.name} ({base.profile.name}) in "
                         f"{cache.results_dir()} or {cache.SHIPPED_RESULTS}")
    firsts = [r.first for r in found]
    doubles = sorted({r.label for r in found if firsts.count(r.first) > 1})
    if doubles:
        raise ShardError(f"shards of {base.config.name} ({base.profile.name}) start at the "
                         f"same seed ({', '.join(doubles)}): name those to merge with --merge")
    return sorted(found)


def merge_shards(config: Config, profile: str | Profile, ranges: Sequence[SeedRange], *,
                 preprocessing: str | None = None, device: str = "cpu") -> MergeReport:
    """Merge the shards ``ranges`` of ``config`` into the results of the ensemble of all their
    seeds (module docstring); the shards' results are read from the results cache or the
    shipped results, never computed.

    Args:
        config: ``(architecture, activation, regularizer)``.
        profile: a profile name or :class:`~nbutils.config.Profile`.
        ranges: the shards, covering seeds 1..N once each (any order).
        preprocessing: the input preprocessing (``None``: the book's main reading).
        device: where the data are loaded to compute the keys; default ``"cpu"``.

    Returns:
        A :class:`MergeReport`: the merged ``TrainedEnsemble`` (seeds 1..N), the files written
        into the results cache, the results not merged and why, the epoch note.

    Raises:
        ShardError: gaps or overlaps, a shard without summary, shards that differ (epochs,
            configuration, ...), or a single run of seeds 1..N already stored; nothing written.
    """
    ranges = check_ranges(ranges)
    base = TrainedEnsemble(*config, profile=profile, seeds=ranges[0],
                           preprocessing=preprocessing, device=device)
    parts = [base, *(base.sibling(r) for r in ranges[1:])]
    full = base.sibling(ranges[-1].last)
    labels = [r.label for r in ranges]
    anchors = [_shard_anchor(p) for p in parts]
    for part, anchor in zip(parts, anchors):
        check_shard_summary(part.shard.label, anchor.meta, {
            "config": full.config.name, "profile": full.profile.name, "seeds": part.seeds,
            SHARD: part.shard.label, "preprocessing": full.config.preprocessing,
            "data": full.data.fingerprint})
    chosen, _ = check_epochs(labels, [(int(a.meta["chosen_epoch"]), len(a.arrays["val_history"]))
                                      for a in anchors])
    sizes = [len(r) for r in ranges]
    identity = merged_identity(labels, anchors)
    summary = merge_arrays(SUMMARY, [a.arrays for a in anchors], sizes)
    epoch = epoch_note(full.config, labels[0], summary["val_history"], chosen)
    old = _replaceable(full, identity)
    results, skipped = _merged_results(parts, full, labels, identity)
    results.update(_merged_members(parts, full, labels, identity))
    meta = {"seconds": sum(float(a.meta["seconds"]) for a in anchors), "chosen_epoch": chosen,
            "device": _joined(a.meta["device"] for a in anchors),
            "hardware": _joined(a.meta["hardware"] for a in anchors),
            "config": full.config.name, "seeds": full.seeds, "profile": full.profile.name,
            "preprocessing": full.config.preprocessing, "data": full.data.fingerprint,
            WEIGHTS: identity,
            MERGED: {"shards": [{"seeds": label, "name": p.name, "training": a.identity,
                                 "seconds": a.meta["seconds"], "hardware": a.meta["hardware"]}
                                for label, p, a in zip(labels, parts, anchors)],
                     "epoch": epoch, "note": ROUNDING}}
    if old is not None:
        full._set_aside(old)   # a merge of other trainings: its cached results move aside
    report = MergeReport(full, ranges, skipped=skipped, epoch=epoch)
    for path, (arrays, result_meta) in {full.result_path(SUMMARY): (summary, meta),
                                        **results}.items():
        cache.save_arrays(path, arrays, result_meta)
        report.written.append(path)
    return report


def _shard_anchor(part: TrainedEnsemble) -> Anchor:
    anchor = part.anchor()
    if anchor is None:
        raise ShardError(f"shard {part.shard.label} ({part.name}) has no summary in "
                         f"{cache.results_dir()} or {cache.SHIPPED_RESULTS}: run "
                         f"`{command(part, part.shard.label)}` first")
    return anchor


def _replaceable(full: TrainedEnsemble, identity: str) -> Anchor | None:
    """The cached summary of an earlier merge of other trainings (its results are set aside);
    ``None`` if nothing is there or it is this merge. A single run is never replaced."""
    old = full.anchor()
    if old is None:
        return None
    if MERGED not in old.meta:
        where = (full.result_path(SUMMARY) if old.source == "cache"
                 else cache.shipped_path(full.result_path(SUMMARY)))
        raise ShardError(f"{full.name} already holds a single run of seeds 1-{len(full.seeds)} "
                         f"(training {old.identity[:19]}, in the {old.source} results): a merge "
                         f"would shadow it. To use the shards instead, delete {where} and the "
                         f"results beside it first")
    return old if old.source == "cache" and old.identity != identity else None


def _result_files(parts: Sequence[TrainedEnsemble]) -> list[str]:
    """The result files of any shard (results cache and shipped), but summaries and members."""
    names: set[str] = set()
    for part in parts:
        for root in (cache.results_dir(), cache.SHIPPED_RESULTS):
            if (root / part.name).is_dir():
                names |= {p.name for p in (root / part.name).glob("*.npz")}
    return sorted(n for n in names if _kind(n) not in (SUMMARY, MEMBER))


def _kind(file_name: str) -> str:
    return file_name.rsplit("-", 1)[0]


def _merged_results(parts: Sequence[TrainedEnsemble], full: TrainedEnsemble,
                    labels: Sequence[str], identity: str) -> tuple[dict, dict[str, str]]:
    """``{merged path: (arrays, meta)}`` of every result all shards hold; ``{file: why not}``."""
    sizes = [len(p.seeds) for p in parts]
    merged, skipped = {}, {}
    for name in _result_files(parts):
        kind = _kind(name)
        if kind not in PER_MEMBER_KINDS:
            skipped[name] = f"no merge rule for results of kind {kind!r} (nbutils.merge)"
            continue
        found = [p.stored(cache.results_dir() / p.name / name) for p in parts]
        missing = [label for label, f in zip(labels, found) if f is None]
        if missing:
            skipped[name] = f"missing in shard(s) {', '.join(missing)}"
            continue
        arrays = merge_arrays(kind, [f[0] for f in found], sizes)
        merged[cache.results_dir() / full.name / name] = (
            arrays, merge_meta(name, labels, [f[1] for f in found], identity))
    return merged, skipped


def _merged_members(parts: Sequence[TrainedEnsemble], full: TrainedEnsemble,
                    labels: Sequence[str], identity: str) -> dict:
    """One member's weights stored by a shard, under the member's index in the merged
    ensemble."""
    out = {}
    offset = 0
    for part, label in zip(parts, labels):
        for j, seed in enumerate(part.seeds):
            found = part.stored(part.result_path(MEMBER, member=j))
            if found is not None:
                arrays, meta = found
                if meta.get("seed") != seed:
                    raise ShardError(f"shard {label}: member {j} holds seed {meta.get('seed')}, "
                                     f"not {seed}")
                out[full.result_path(MEMBER, member=offset + j)] = (
                    arrays, merge_meta(f"member {offset + j}", [label], [meta], identity))
        offset += len(part.seeds)
    return out


def _joined(values) -> str:
    """Distinct values in order of first appearance, joined by "; "."""
    return "; ".join(dict.fromkeys(str(v) for v in values))
