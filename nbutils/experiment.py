"""A trained ensemble: the seeds of one configuration of the paper under one profile.

:class:`TrainedEnsemble` knows its identity (configuration, seeds, profile, data fingerprint,
package version: the cache key), where its weights and small results are stored, and how to
load or train the model (memoized in the weights cache) and its :class:`Summary` (accuracies and
training history, in the results cache). What is computed *from* a trained ensemble (measures,
ablation curves) lives in :mod:`nbutils.analysis`.
"""
from __future__ import annotations

import logging
import os
import platform
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from . import __version__, cache
from .config import Profile, TrainConfig, get_profile, profile_config, seed_list
from .data import DataSplits, load_dataset
from .ensemble import EnsembleMLP
from .train import resolve_device, train_ensemble

log = logging.getLogger(__name__)


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
        seeds: the number of seeds (``None``: the profile's number for this architecture).
        preprocessing: the input preprocessing, ``"unit"`` or ``"standardized"``; ``None``:
            :data:`nbutils.config.MAIN_PREPROCESSING`.
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda[:N]"``.
        progress: a progress bar while training.
    """

    def __init__(self, arch: str, activation: str, regularizer: str, *,
                 profile: str | Profile = "quick", seeds: int | None = None,
                 preprocessing: str | None = None, device: str | None = "auto",
                 progress: bool = False):
        self.profile = get_profile(profile) if isinstance(profile, str) else profile
        self.config: TrainConfig = profile_config(self.profile, arch, activation, regularizer,
                                                  preprocessing)
        n_seeds = self.profile.n_seeds(self.config.arch) if seeds is None else seeds
        self.seeds = seed_list(n_seeds)
        self.device = resolve_device(device)
        self.progress = progress
        self._model: EnsembleMLP | None = None

    def __repr__(self) -> str:
        return (f"TrainedEnsemble({self.config.name}, profile={self.profile.name}, "
                f"seeds={len(self.seeds)})")

    # --------------------------------------------------------------------------- identity
    @cached_property
    def data(self) -> DataSplits:
        return load_dataset(self.config.dataset, device=self.device,
                            val_fraction=self.config.architecture.val_fraction,
                            preprocessing=self.config.preprocessing,
                            **self.profile.data_limits)

    @cached_property
    def key(self) -> str:
        """Everything that determines the trained ensemble (not the device: see README)."""
        return cache.digest(self.config.digest(), self.seeds, self.profile.name,
                            self.data.fingerprint, __version__)

    @property
    def name(self) -> str:
        return f"{self.config.name}-{self.profile.name}-{len(self.seeds)}seeds-{self.key[:10]}"

    @property
    def weights_path(self) -> Path:
        return cache.weights_dir() / f"{self.name}.pt"

    def result_path(self, kind: str, **params) -> Path:
        return cache.results_dir() / self.name / f"{kind}-{cache.digest(params)[:12]}.npz"

    # ------------------------------------------------------------------------------ model
    @property
    def model(self) -> EnsembleMLP:
        """The trained ensemble: loaded from the weights cache, else trained and cached."""
        if self._model is None:
            state = cache.load_state(self.weights_path)
            if state is not None:
                model = EnsembleMLP.from_config(self.config, self.seeds)
                model.load_state_dict(state["state_dict"])
                self._model = model.to(self.device).eval()
            else:
                self._train()
        return self._model

    def _train(self) -> None:
        """Train, write weights and summary to the cache, keep the model."""
        cache.forbid_computing(f"the weights of {self.name} are not in the cache "
                               f"({self.weights_path})")
        d = self.data
        try:
            model, hist = train_ensemble(self.config, self.seeds, d.x_train, d.y_train,
                                         d.x_val, d.y_val, device=self.device,
                                         progress=self.progress)
        except KeyboardInterrupt:
            raise KeyboardInterrupt(f"training of {self.name} was interrupted; nothing was "
                                    f"written to the cache (rerun to train it again)") from None
        cache.save_state(self.weights_path, {
            "state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
            "key": self.key})
        acc = model.accuracy(d.x_test, d.y_test).cpu().numpy()
        cache.save_arrays(self.result_path("summary"), {
            "test_acc": acc,
            "val_history": np.asarray(hist.val_acc, dtype=np.float64),
            "train_acc": np.asarray(hist.train_acc, dtype=np.float64),
            "train_loss": np.asarray(hist.train_loss, dtype=np.float64)},
            {"seconds": hist.seconds, "chosen_epoch": hist.chosen_epoch, "device": str(self.device),
             "hardware": hardware_description(self.device), "config": self.config.name,
             "seeds": self.seeds, "profile": self.profile.name})
        self._model = model

    def summary(self) -> Summary:
        """Test accuracy per seed, training history and time (trains if needed)."""
        loaded = cache.load_result(self.result_path("summary"))
        if loaded is None:
            if self.weights_path.exists():  # the summary was lost: retrain to recover it
                log.warning("summary of %s missing; retraining to recover its history", self.name)
            self._train()
            loaded = cache.load_arrays(self.result_path("summary"))
        arrays, meta = loaded
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
