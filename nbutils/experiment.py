"""A trained ensemble: the seeds of one configuration of the paper under one profile.

:class:`TrainedEnsemble` knows its identity (configuration, seeds, profile, data fingerprint,
package version: the cache key), where its weights and small results are stored, and how to
load or train the model (memoized in the weights cache) and its :class:`Summary` (accuracies and
training history, in the results cache). What is computed *from* a trained ensemble (measures,
ablation curves) lives in :mod:`nbutils.analysis`.

Results never mix two trainings. The cache key names the configuration, not the weights, and a
retraining is bit-identical only on the same kind of machine; so every result also records the
*training* it belongs to (meta ``"training"``, and ``"weights"``: :func:`weights_fingerprint` of
the weights it was computed from). The summary is the anchor of a training: its identity is the
fingerprint of the weights it was trained with (meta ``"weights"``), or, for a summary written
before fingerprints existed (the shipped ``results/``), ``"legacy-"`` and a digest of its arrays;
such a legacy result without ``"training"`` belongs to the legacy summary of its own folder. A
result is used only if it belongs to the ensemble's summary (the results cache first, then the
shipped results), and the weights only if they are the summary's (same fingerprint; for a legacy
summary: the same test accuracy of every member).

When the weights must be trained (missing, or not the summary's), the new training either
reproduces the summary (same fingerprint, or for a legacy summary the same accuracies: the stored
results stay valid) or *supersedes* it: its summary is written to the results cache (the shipped
results are never written), the cached results of the old training are moved aside into
``superseded-<identity>/`` and everything downstream is recomputed from the new weights. If this
process has already used results of the old training, it stops with :class:`TrainingChangedError`
(after saving the new training), since numbers of both would otherwise end up side by side; a
rerun recomputes everything from the new weights.

An ensemble may also be one *shard* of a configuration's seeds (``seeds=SeedRange(6, 10)``,
:mod:`nbutils.shards`), with a key of its own; :mod:`nbutils.merge` merges shards into the
results of the whole ensemble, whose summary says it was merged: such an ensemble has no weights
and refuses to compute (:class:`~nbutils.shards.MergedEnsembleError`).
"""
from __future__ import annotations

import hashlib
import logging
import os
import platform
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from . import __version__, cache, shards
from .config import Profile, TrainConfig, get_profile, profile_config, seed_list
from .data import DataSplits, load_dataset
from .ensemble import EnsembleMLP
from .shards import MERGED, EpochPlan, MergedEnsembleError, SeedRange
from .train import resolve_device, train_ensemble

log = logging.getLogger(__name__)

WEIGHTS = "weights"     # meta key: the fingerprint of the weights (summary: of its training)
TRAINING = "training"   # meta key of a result: the identity of the training it belongs to
LEGACY = "legacy-"      # prefix of the identity of a summary without a weights fingerprint


class TrainingChangedError(RuntimeError):
    """Networks were trained anew, differ from those whose results this run already used, and
    the run stops rather than show numbers of both trainings side by side."""


def weights_fingerprint(state_dict: Mapping[str, torch.Tensor]) -> str:
    """sha256 of a state dict: every tensor's name, dtype, shape and bytes, in sorted order."""
    h = hashlib.sha256()
    for name in sorted(state_dict):
        t = state_dict[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def arrays_digest(arrays: Mapping[str, np.ndarray]) -> str:
    """sha256 of named numpy arrays (names, dtypes, shapes and bytes, in sorted order)."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class Anchor:
    """The summary of an ensemble's training, where it was found, and its identity."""

    arrays: dict[str, np.ndarray]
    meta: dict
    source: str                 # "cache" or "shipped"

    @property
    def legacy(self) -> bool:
        """Written before summaries recorded the fingerprint of their weights."""
        return WEIGHTS not in self.meta

    @property
    def identity(self) -> str:
        return LEGACY + arrays_digest(self.arrays) if self.legacy else self.meta[WEIGHTS]


@dataclass(frozen=True)
class Origin:
    """Where this process got an ensemble's weights: ``"trained"`` here or ``"loaded"``."""

    how: str
    seconds: float = 0.0        # training time, for "trained"
    hardware: str = ""


ORIGINS: dict[str, Origin] = {}      # weights path -> where this process got the weights
_SERVED: dict[str, set[str]] = {}    # summary path -> identities whose results were used here


def origin(ens: TrainedEnsemble) -> Origin | None:
    """How this process got ``ens``'s weights (None: not at all; only stored results used)."""
    return ORIGINS.get(str(ens.weights_path))


def hardware_description(device: torch.device | str = "cpu") -> str:
    """A one-line description of the machine (printed in chapters as ``[host: ...]``)."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return f"GPU {torch.cuda.get_device_name(dev)}, torch {torch.__version__}"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            names = [ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return f"CPU {cpu} ({os.cpu_count()} cores), torch {torch.__version__}"


@dataclass(frozen=True)
class Summary:
    """Per-seed accuracies and the training history of an ensemble."""

    test_acc: np.ndarray        # (M,)
    val_history: np.ndarray     # (epochs, M) validation accuracy after each epoch
    train_acc: np.ndarray       # (epochs, M)
    train_loss: np.ndarray      # (epochs, M)
    seconds: float              # training wall time of the whole ensemble
    chosen_epoch: int           # epochs whose weights the ensemble keeps (<= rows of histories)
    device: str                 # where it was trained
    hardware: str


class TrainedEnsemble:
    """The ensemble of ``seeds`` networks of one configuration, trained under ``profile``.

    Args:
        arch: an architecture of :data:`nbutils.config.ARCHITECTURES`.
        activation: ``"relu"`` or ``"sigmoid"``.
        regularizer: one of :data:`nbutils.config.REGULARIZERS`.
        profile: a profile name or :class:`~nbutils.config.Profile`.
        seeds: the number ``N`` of seeds (seeds 1..N; ``None``: the profile's number for this
            architecture), or a :class:`~nbutils.shards.SeedRange`: one shard of the seeds
            (:mod:`nbutils.shards`: its own key; later shards train the first shard's epochs;
            random orderings drawn per member).
        preprocessing: the input preprocessing (:data:`nbutils.data.PREPROCESSINGS`); ``None``:
            :data:`nbutils.config.MAIN_PREPROCESSING`.
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda[:N]"``.
        progress: a progress bar while training.
    """

    def __init__(self, arch: str, activation: str, regularizer: str, *,
                 profile: str | Profile = "quick", seeds: int | SeedRange | None = None,
                 preprocessing: str | None = None, device: str | None = "auto",
                 progress: bool = False):
        self.profile = get_profile(profile) if isinstance(profile, str) else profile
        self.config: TrainConfig = profile_config(self.profile, arch, activation, regularizer,
                                                  preprocessing)
        self.shard: SeedRange | None = seeds if isinstance(seeds, SeedRange) else None
        if self.shard is not None:
            self.seeds = self.shard.seeds
        else:
            self.seeds = seed_list(self.profile.n_seeds(self.config.arch) if seeds is None
                                   else seeds)
        self.device = resolve_device(device)
        self.progress = progress
        self._model: EnsembleMLP | None = None
        self._identity = ""       # the training the loaded or trained weights belong to
        self._fingerprint = ""    # weights_fingerprint of those weights

    def __repr__(self) -> str:
        seeds = len(self.seeds) if self.shard is None else self.shard.label
        return f"TrainedEnsemble({self.config.name}, profile={self.profile.name}, seeds={seeds})"

    def sibling(self, seeds: int | SeedRange) -> TrainedEnsemble:
        """The ensemble of the same configuration, profile, preprocessing and device with other
        ``seeds`` (sharing the data already loaded)."""
        c = self.config
        other = TrainedEnsemble(c.arch, c.activation, c.regularizer, profile=self.profile,
                                seeds=seeds, preprocessing=c.preprocessing, device=self.device,
                                progress=self.progress)
        if "data" in self.__dict__:   # the same splits: cached_property keeps them here
            other.__dict__["data"] = self.data
        return other

    # --------------------------------------------------------------------------- identity
    @cached_property
    def data(self) -> DataSplits:
        return load_dataset(self.config.dataset, device=self.device,
                            val_fraction=self.config.architecture.val_fraction,
                            preprocessing=self.config.preprocessing,
                            **self.profile.data_limits)

    @cached_property
    def key(self) -> str:
        """Everything that determines the trained ensemble (not the device: see README); a
        shard adds its seeds and epochs (:func:`nbutils.shards.key_part`)."""
        parts = [self.config.digest(), self.seeds, self.profile.name, self.data.fingerprint,
                 __version__]
        if self.shard is not None:
            parts.append(shards.key_part(self))
        return cache.digest(*parts)

    @property
    def name(self) -> str:
        seeds = (f"{len(self.seeds)}seeds" if self.shard is None
                 else f"seeds{self.shard.label}")
        return f"{self.config.name}-{self.profile.name}-{seeds}-{self.key[:10]}"

    @cached_property
    def epoch_plan(self) -> EpochPlan | None:
        """For a later shard of a configuration that chooses its epochs, the first shard's
        choice (:func:`nbutils.shards.first_shard_plan`); else ``None``."""
        if self.shard is None or self.shard.first == 1 or not self.config.chooses_epochs:
            return None
        return shards.first_shard_plan(self)

    @property
    def train_config(self) -> TrainConfig:
        """How the members are trained: :attr:`config`, or for a later shard its epochs fixed
        to the first shard's (:func:`nbutils.shards.fixed_epoch_config`)."""
        plan = self.epoch_plan
        return (self.config if plan is None
                else shards.fixed_epoch_config(self.config, plan.chosen, plan.trained))

    @property
    def weights_path(self) -> Path:
        return cache.weights_dir() / f"{self.name}.pt"

    def result_path(self, kind: str, **params) -> Path:
        return cache.results_dir() / self.name / f"{kind}-{cache.digest(params)[:12]}.npz"

    # ------------------------------------------------------------------ training and results
    def anchor(self) -> Anchor | None:
        """The summary of the ensemble's training: the results cache's, else the shipped one."""
        for place, source in cache.result_locations(self.result_path("summary")):
            loaded = cache.load_arrays(place)
            if loaded is not None:
                return Anchor(loaded[0], loaded[1], source)
        return None

    def stored(self, path: Path) -> tuple[dict[str, np.ndarray], dict] | None:
        """The result at ``path`` (results cache, else shipped) if it belongs to the summary's
        training; ``None`` otherwise. Never computes."""
        anchor = self.anchor()
        if anchor is None:
            return None
        found = cache.find_result(path, lambda m, source: self._belongs(m, source, anchor))
        return None if found is None else found[0]

    def _served_key(self) -> str:
        return str(self.result_path("summary").resolve())

    def _mark_served(self, identity: str) -> None:
        _SERVED.setdefault(self._served_key(), set()).add(identity)

    def _belongs(self, meta: dict, source: str, anchor: Anchor) -> bool:
        """Whether a result (its ``meta``, found in ``source``) belongs to ``anchor``'s
        training; a legacy result belongs to the legacy summary of its own folder."""
        owner = meta.get(TRAINING)
        if owner is None:
            summary = anchor if anchor.source == source else self._summary_in(source)
            owner = summary.identity if summary is not None and summary.legacy else None
        return owner == anchor.identity

    def _summary_in(self, source: str) -> Anchor | None:
        for place, where in cache.result_locations(self.result_path("summary")):
            if where == source:
                loaded = cache.load_arrays(place)
                return None if loaded is None else Anchor(loaded[0], loaded[1], source)
        return None

    def memoize(self, path: Path, compute: Callable[[], tuple[dict, dict]]
                ) -> tuple[dict[str, np.ndarray], dict]:
        """:func:`nbutils.cache.memoize_arrays` for a result of this ensemble: only a result of
        the summary's training is used; one computed here records the training and the
        fingerprint of the weights it came from (meta ``"training"``, ``"weights"``)."""
        anchor = self.anchor()
        if anchor is None:   # no summary anywhere: train first (it writes the summary)
            self.summary()
            anchor = self.anchor()

        def compute_here():
            _ = self.model   # the summary's weights, or a new training (may supersede it)
            arrays, meta = compute()
            return arrays, {**meta, TRAINING: self._identity, WEIGHTS: self._fingerprint}

        arrays, meta = cache.memoize_arrays(
            path, compute_here, accept=lambda m, source: self._belongs(m, source, anchor),
            refused=f"it was computed from another training of {self.name} than the summary "
                    f"in the {anchor.source} results (training {anchor.identity[:19]})")
        self._mark_served(meta.get(TRAINING, anchor.identity))
        return arrays, meta

    # ------------------------------------------------------------------------------ model
    @property
    def model(self) -> EnsembleMLP:
        """The trained ensemble: the weights cache's when they are those of the summary, else
        trained (and cached)."""
        if self._model is None:
            self._refuse_merged()
            self._model = self._load_weights() or self._train()
        return self._model

    def _refuse_merged(self) -> None:
        """A merged ensemble (:mod:`nbutils.merge`) has no weights: stop with what to do."""
        anchor = self.anchor()
        if anchor is None or MERGED not in anchor.meta:
            return
        parts = [s["seeds"] for s in anchor.meta[MERGED]["shards"]]
        summary = self.result_path("summary")
        where = summary if anchor.source == "cache" else cache.shipped_path(summary)
        raise MergedEnsembleError(
            f"{self.name} was merged from the shards {', '.join(parts)} (in the {anchor.source} "
            f"results) and has no weights of its own: a result the merge did not bring cannot be "
            f"computed from it. Compute it on every shard (`python -m nbutils.precompute "
            f"--seeds A-B`, or the analysis function on each shard) and merge again, or delete "
            f"{where} to train all seeds as one ensemble")

    def _load_weights(self) -> EnsembleMLP | None:
        """The cached weights, if they belong to the summary's training; else None."""
        state = cache.load_state(self.weights_path)
        if state is None:
            return None
        model = EnsembleMLP.from_config(self.config, self.seeds)
        model.load_state_dict(state["state_dict"])
        model = model.to(self.device).eval()
        fingerprint = weights_fingerprint(state["state_dict"])
        anchor = self.anchor()
        if anchor is None:
            log.warning("summary of %s missing; retraining to recover its history", self.name)
            return None
        if not self._reproduces(anchor, model, fingerprint):
            log.warning("the weights of %s in %s (fingerprint %s) are not those its results "
                        "came from (training %s): training anew", self.name, self.weights_path,
                        fingerprint[:12], anchor.identity[:19])
            return None
        self._identity, self._fingerprint = anchor.identity, fingerprint
        ORIGINS.setdefault(str(self.weights_path), Origin("loaded"))
        return model

    def _reproduces(self, anchor: Anchor, model: EnsembleMLP, fingerprint: str) -> bool:
        """Whether ``model`` (weights ``fingerprint``) is the training of ``anchor``: the same
        fingerprint, or for a legacy summary the same test accuracy of every member."""
        if not anchor.legacy:
            return fingerprint == anchor.identity
        acc = model.accuracy(self.data.x_test, self.data.y_test).cpu().numpy()
        return np.array_equal(acc, anchor.arrays["test_acc"])

    def _train(self) -> EnsembleMLP:
        """Train, write the weights (and the summary unless the training reproduces the one
        there), return the model; see the module docstring for a training that differs."""
        anchor = self.anchor()
        cache.forbid_computing(f"the weights of {self.name}"
                               + (" that its stored results came from" if anchor else "")
                               + f" are not in the cache ({self.weights_path})")
        d = self.data
        try:
            model, hist = train_ensemble(self.train_config, self.seeds, d.x_train, d.y_train,
                                         d.x_val, d.y_val, device=self.device,
                                         progress=self.progress)
        except KeyboardInterrupt:
            raise KeyboardInterrupt(f"training of {self.name} was interrupted; nothing was "
                                    f"written to the cache (rerun to train it again)") from None
        state = {k: v.cpu() for k, v in model.state_dict().items()}
        fingerprint = weights_fingerprint(state)
        cache.save_state(self.weights_path, {"state_dict": state, "key": self.key,
                                             WEIGHTS: fingerprint})
        ORIGINS[str(self.weights_path)] = Origin("trained", hist.seconds,
                                                 hardware_description(self.device))
        self._model, self._fingerprint = model, fingerprint
        if anchor is not None and self._reproduces(anchor, model, fingerprint):
            log.info("%s retrained identically (training %s)", self.name, anchor.identity[:19])
            self._identity = anchor.identity
            return model
        if anchor is not None:
            self._set_aside(anchor)
        self._save_summary(model, hist, fingerprint)
        self._identity = fingerprint
        if anchor is not None:
            self._refuse_mixing(anchor, fingerprint)
        return model

    def _save_summary(self, model: EnsembleMLP, hist, fingerprint: str) -> None:
        d = self.data
        acc = model.accuracy(d.x_test, d.y_test).cpu().numpy()
        cache.save_arrays(self.result_path("summary"), {
            "test_acc": acc,
            "val_history": np.asarray(hist.val_acc, dtype=np.float64),
            "train_acc": np.asarray(hist.train_acc, dtype=np.float64),
            "train_loss": np.asarray(hist.train_loss, dtype=np.float64)},
            {"seconds": hist.seconds, "chosen_epoch": hist.chosen_epoch, "device": str(self.device),
             "hardware": hardware_description(self.device), "config": self.config.name,
             "seeds": self.seeds, "profile": self.profile.name, WEIGHTS: fingerprint,
             **(shards.summary_meta(self) if self.shard is not None else {})})

    def _set_aside(self, anchor: Anchor) -> None:
        """Move the cached results of a superseded training into ``superseded-<identity>/``
        (kept, never deleted; the shipped results are not touched)."""
        folder = cache.results_dir() / self.name
        files = sorted(folder.glob("*.npz")) + sorted(folder.glob("*.npz.sha256"))
        if not files:
            return
        aside = folder / f"superseded-{anchor.identity[:19]}"
        aside.mkdir(exist_ok=True)
        for path in files:
            os.replace(path, aside / path.name)
        log.warning("%s: results of the superseded training %s moved to %s", self.name,
                    anchor.identity[:19], aside)

    def _refuse_mixing(self, anchor: Anchor, fingerprint: str) -> None:
        """Stop if this process already used results of ``anchor``'s (superseded) training."""
        if anchor.identity not in _SERVED.get(self._served_key(), set()):
            return
        back = (f" To use the shipped results again, delete {self.weights_path} and "
                f"{self.result_path('summary')}." if anchor.source == "shipped" else "")
        raise TrainingChangedError(
            f"{self.name} was trained anew here (weights {fingerprint[:12]}) and differs from "
            f"the training its stored results came from (training {anchor.identity[:19]}, in "
            f"the {anchor.source} results): training is bit-identical only on the same kind of "
            f"machine. The new training is now in the cache and every result of {self.name} "
            f"will be recomputed from it, but this run already used results of the old one, so "
            f"it stops rather than show both side by side: rerun it.{back}")

    def summary(self) -> Summary:
        """Test accuracy per seed, training history and time (trains if needed)."""
        anchor = self.anchor()
        if anchor is None:
            if self.weights_path.exists():  # the summary was lost: retrain to recover it
                log.warning("summary of %s missing; retraining to recover its history", self.name)
            self._train()
            anchor = self.anchor()
        self._mark_served(anchor.identity)
        arrays, meta = anchor.arrays, anchor.meta
        return Summary(arrays["test_acc"], arrays["val_history"], arrays["train_acc"],
                       arrays["train_loss"], float(meta["seconds"]),
                       int(meta["chosen_epoch"]), meta["device"],
                       meta["hardware"])


def run_all(configs, profile: str, *, seeds: int | None = None, device: str | None = "auto",
            progress: bool = False) -> list[tuple[TrainedEnsemble, Summary, float]]:
    """Train or load every configuration; returns (ensemble, summary, seconds spent now).

    Args:
        configs: iterable of ``(architecture, activation, regularizer)`` triples, e.g. an
            entry of :data:`nbutils.config.CHAPTER_CONFIGS`.
        profile: a profile name, ``"ci"``, ``"quick"`` or ``"paper"``.
        seeds: the number ``M`` of seeds of every ensemble; default ``None``: the profile's
            number for each architecture.
        device: ``"auto"`` (default; CUDA when available, as ``None``), ``"cpu"`` or
            ``"cuda[:N]"``.
        progress: show a progress bar while training; default ``False``.

    Returns:
        One tuple ``(ensemble, summary, seconds)`` per configuration, in the order of
        ``configs``: the :class:`TrainedEnsemble`, its :class:`Summary` (``test_acc`` ``(M,)``,
        ``val_history``, ``train_acc``, ``train_loss`` ``(epochs, M)``) and the wall time in
        seconds this call spent on it (loading from the cache or training).

    Raises:
        ValueError: an unknown architecture, activation, regularizer or profile, a bad
            ``seeds`` or ``device``.
    """
    out = []
    for arch, act, reg in configs:
        t0 = time.perf_counter()
        exp = TrainedEnsemble(arch, act, reg, profile=profile, seeds=seeds, device=device,
                         progress=progress)
        out.append((exp, exp.summary(), time.perf_counter() - t0))
    return out
