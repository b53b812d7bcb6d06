"""One experiment of the paper: an ensemble of seeds of one configuration under one profile.

:class:`Experiment` is what the chapters use. It loads or trains the ensemble (memoized in the
weights cache) and computes the small results the figures need (memoized in the results
cache): test accuracies and training histories, the information measures per layer, and the
cumulative-ablation curves. Each small result is stored under a key of everything that
determines it, so a chapter whose results were computed elsewhere (say on a GPU machine, the
results folder copied back) runs without the weights and without retraining.
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
from .measures import MEASURES, neuron_measures
from .train import derive_seed, resolve_device, train_ensemble

log = logging.getLogger(__name__)

ABLATION_VALUES = ("zero", "mean")
DIRECTIONS = ("low", "high")


def ordering_names() -> list[str]:
    """``entropy-low``, ``entropy-high``, ..., ``kl-high``, ``random``."""
    return [f"{m}-{d}" for m in MEASURES for d in DIRECTIONS] + ["random"]


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
    device: str                 # where it was trained
    hardware: str


class Experiment:
    """The ensemble of ``seeds`` networks of one configuration, trained under ``profile``.

    ``seeds`` is the number of seeds (``None``: the profile's number for this architecture);
    ``device`` is ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda[:N]"``.
    """

    def __init__(self, arch: str, activation: str, regularizer: str, *,
                 profile: str | Profile = "quick", seeds: int | None = None,
                 device: str | None = "auto", progress: bool = False):
        self.profile = get_profile(profile) if isinstance(profile, str) else profile
        self.config: TrainConfig = profile_config(self.profile, arch, activation, regularizer)
        n_seeds = self.profile.n_seeds(self.config.arch) if seeds is None else seeds
        self.seeds = seed_list(n_seeds)
        self.device = resolve_device(device)
        self.progress = progress

    def __repr__(self) -> str:
        return (f"Experiment({self.config.name}, profile={self.profile.name}, "
                f"seeds={len(self.seeds)})")

    # --------------------------------------------------------------------------- identity
    @cached_property
    def data(self) -> DataSplits:
        return load_dataset(self.config.dataset, device=self.device, **self.profile.data_limits)

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
    @cached_property
    def model(self) -> EnsembleMLP:
        """The trained ensemble: loaded from the weights cache, else trained and cached."""
        state = cache.load_state(self.weights_path)
        if state is not None:
            model = EnsembleMLP.from_config(self.config, self.seeds)
            model.load_state_dict(state["state_dict"])
            return model.to(self.device).eval()
        return self._train()

    def _train(self) -> EnsembleMLP:
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
            {"seconds": hist.seconds, "device": str(self.device),
             "hardware": hardware_description(self.device), "config": self.config.name,
             "seeds": self.seeds, "profile": self.profile.name})
        return model

    def summary(self) -> Summary:
        """Test accuracy per seed, training history and time (trains if needed)."""
        loaded = cache.load_arrays(self.result_path("summary"))
        if loaded is None:
            if self.weights_path.exists():  # the summary was lost: retrain to recover it
                log.warning("summary of %s missing; retraining to recover its history", self.name)
            self.__dict__["model"] = self._train()
            loaded = cache.load_arrays(self.result_path("summary"))
        arrays, meta = loaded
        return Summary(arrays["test_acc"], arrays["val_history"], arrays["train_acc"],
                       arrays["train_loss"], float(meta["seconds"]), meta["device"],
                       meta["hardware"])

    # --------------------------------------------------------------------------- measures
    def measures(self, scheme: str = "one_bit", n_bins: int = 2) -> list[dict[str, np.ndarray]]:
        """Per hidden layer: ``entropy``, ``mi``, ``kl`` ``(M, n)`` and ``spectrum`` ``(M, n, C)``,
        computed on the validation set D (Eqs. 2-5)."""
        def compute():
            acts = self.model.hidden_activations(self.data.x_val)
            arrays = {}
            for l, a in enumerate(acts):
                m = neuron_measures(a.cpu(), self.data.y_val.cpu(), self.config.activation,
                                    scheme=scheme, n_bins=n_bins,
                                    n_classes=self.data.n_classes)
                for name in (*MEASURES, "spectrum"):
                    arrays[f"{name}_{l}"] = m[name].numpy()
            return arrays, {"scheme": scheme, "n_bins": n_bins}

        path = self.result_path("measures", scheme=scheme, n_bins=n_bins)
        arrays, _ = cache.memoize_arrays(path, compute)
        n_hidden = len(self.config.architecture.hidden)
        return [{name: arrays[f"{name}_{l}"] for name in (*MEASURES, "spectrum")}
                for l in range(n_hidden)]

    def ablation_values(self, value: str, layer: int | None = None):
        """The ablation value: ``"zero"`` or ``"mean"`` (mean training-set output, claim S6)."""
        if value not in ABLATION_VALUES:
            raise ValueError(f"ablation value {value!r} is not allowed; choose one of "
                             f"{list(ABLATION_VALUES)}")
        if value == "zero":
            return "zero"
        from . import ablation
        means = ablation.mean_outputs(self.model, self.data.x_train)
        return means if layer is None else means[layer]

    def _orders(self, values: dict[str, np.ndarray], n: int, stream: str) -> dict[str, torch.Tensor]:
        from . import ablation
        orders = {}
        for m in MEASURES:
            v = torch.as_tensor(values[m])
            orders[f"{m}-low"] = ablation.order_by(v, descending=False)
            orders[f"{m}-high"] = ablation.order_by(v, descending=True)
        seed = derive_seed(int(self.key[:12], 16), stream) % (2**62)
        orders["random"] = ablation.random_orders(len(self.seeds), n, self.profile.random_draws,
                                                  seed)
        return orders

    # --------------------------------------------------------------------------- ablation
    def layer_curves(self, layer: int, value: str = "zero") -> dict[str, np.ndarray]:
        """Layer-wise cumulative ablation (Sec. V-C): test accuracy ``(M, n+1)`` after ablating
        the first k = 0..n neurons of hidden ``layer`` (0-based) for each ordering."""
        n_hidden = len(self.config.architecture.hidden)
        if not isinstance(layer, int) or not 0 <= layer < n_hidden:
            raise ValueError(f"layer={layer!r} is out of range; allowed 0..{n_hidden - 1} "
                             f"(0 = the paper's first hidden layer)")
        self.ablation_values(value)

        def compute():
            from . import ablation
            meas = self.measures()[layer]
            n = meas["mi"].shape[1]
            orders = self._orders(meas, n, f"layer{layer}")
            d, vals = self.data, self.ablation_values(value, layer)
            curves = {}
            for name, order in orders.items():
                # random: (M, draws, n) orderings in one batched call, averaged over the draws
                acc = ablation.ablation_curve(self.model, d.x_test, d.y_test, layer,
                                              order.to(self.device), vals)
                if order.ndim == 3:
                    acc = acc.mean(dim=1)
                curves[name] = acc.cpu().numpy().astype(np.float64)
            return curves, {"layer": layer, "value": value}

        arrays, _ = cache.memoize_arrays(self.result_path("layer", layer=layer, value=value),
                                         compute)
        return {name: arrays[name] for name in ordering_names()}

    def whole_network_curves(self, value: str = "zero") -> tuple[dict[str, np.ndarray],
                                                                  dict[str, np.ndarray]]:
        """Whole-network cumulative ablation (Sec. V-B): all hidden neurons ranked together.

        Returns the curves ``(M, total+1)`` per ordering and, per ordering, the hidden layer
        (0-based) of the k-th ablated neuron ``(M, total)``.
        """
        self.ablation_values(value)

        def compute():
            from . import ablation
            meas = self.measures()
            values = {m: np.concatenate([layer[m] for layer in meas], axis=1) for m in MEASURES}
            total = values["mi"].shape[1]
            orders = self._orders(values, total, "whole")
            d, vals = self.data, self.ablation_values(value)
            arrays = {}
            hidden = self.config.architecture.hidden
            for name, order in orders.items():
                acc = ablation.whole_network_curve(self.model, d.x_test, d.y_test,
                                                   order.to(self.device), vals)
                if order.ndim == 3:   # random: average the draws; show the first draw's layers
                    acc, order = acc.mean(dim=1), order[:, 0]
                arrays[name] = acc.cpu().numpy().astype(np.float64)
                arrays[f"layer_of_{name}"] = ablation.source_layers(hidden, order.cpu()).numpy()
            return arrays, {"value": value}

        arrays, _ = cache.memoize_arrays(self.result_path("whole", value=value), compute)
        names = ordering_names()
        return ({n: arrays[n] for n in names}, {n: arrays[f"layer_of_{n}"] for n in names})


def run_all(configs, profile: str, *, seeds: int | None = None, device: str | None = "auto",
            progress: bool = False) -> list[tuple[Experiment, Summary, float]]:
    """Train or load every configuration; returns (experiment, summary, seconds spent now)."""
    out = []
    for arch, act, reg in configs:
        t0 = time.perf_counter()
        exp = Experiment(arch, act, reg, profile=profile, seeds=seeds, device=device,
                         progress=progress)
        out.append((exp, exp.summary(), time.perf_counter() - t0))
    return out
