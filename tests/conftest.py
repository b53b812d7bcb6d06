"""What several test modules share: the real-data logic, once, and small trained ensembles.

- ``real_data`` (session): the ``NBUTILS_DATA`` folder, or a skip saying how to provide one
  (in CI, ``CI`` set, a failure: :func:`skip_or_fail`); ``real_root``: the same with
  ``NBUTILS_DATA`` set for one test. :func:`data_unavailable` also accepts a complete download
  cache or a reachable download mirror (the chapters).
- ``small_ensemble`` (session): briefly trained 3-member ensembles on a synthetic task
  (:data:`SMALL_WIDTHS`, :func:`small_data`), one per activation and batch-norm flag, trained
  once per test session.
- ``tiny_cache`` (session): a cache folder holding a tiny MNIST ensemble (2 seeds, 256 images,
  one epoch) trained once; ``cache_dir`` gives each test a fresh copy of it.
"""
from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlparse

import pytest
import torch

from nbutils.config import Profile
from nbutils.ensemble import EnsembleMLP, build_reference_mlp, ensemble_loss

# ------------------------------------------------------------------------------ real data
NO_DATA = "needs real data: set NBUTILS_DATA to a folder built by shared/data/prepare.sh"


def in_ci() -> bool:
    """Whether the tests run in CI: ``CI`` set (``.ci/run`` and CI services set ``CI=true``)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def skip_or_fail(reason: str) -> NoReturn:
    """Skip a test that lacks what it needs, except in CI (:func:`in_ci`), where a skip would
    let the run pass without the tests: there it fails, saying why."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set: in CI this fails instead of skipping)",
                    pytrace=False)
    pytest.skip(reason)


def real_data_folder() -> Path | None:
    """The folder NBUTILS_DATA names, if it is set and exists."""
    folder = os.environ.get("NBUTILS_DATA", "").strip()
    return Path(folder) if folder and Path(folder).is_dir() else None


def data_unavailable() -> str | None:
    """Why the chapters cannot get their data, or None when they can.

    Data are available when NBUTILS_DATA names a folder (a missing file there is a real failure,
    reported by the chapter), when the download cache already holds every dataset, or when the
    torchvision download mirror answers."""
    if os.environ.get("NBUTILS_DATA", "").strip():
        return None
    from nbutils import data

    root, _ = data.data_root()
    if all((root / rel).exists() for name in data.DATASETS for rel in data.expected_files(name)):
        return None
    from torchvision.datasets import MNIST

    host = urlparse(MNIST.mirrors[0]).hostname
    try:
        socket.create_connection((host, 443), timeout=5).close()
        return None
    except OSError:
        return ("data unavailable: NBUTILS_DATA is not set, the download cache "
                f"{root} is incomplete and the download mirror {host} cannot be reached; set "
                "NBUTILS_DATA to a folder built by shared/data/prepare.sh")


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The real data folder (NBUTILS_DATA); skips the test when there is none (fails in CI)."""
    folder = real_data_folder()
    if folder is None:
        skip_or_fail(NO_DATA)
    return folder


@pytest.fixture
def real_root(real_data: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The real data folder, with NBUTILS_DATA pointing at it for this test."""
    monkeypatch.setenv("NBUTILS_DATA", str(real_data))
    return real_data


# ------------------------------------------------------------- small synthetic ensembles
SMALL_WIDTHS = (30, 20, 16, 12, 8, 10)  # 4 hidden layers, 10 classes
SMALL_MEMBERS = 3


def small_data(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy clusters in 30 dimensions: a task small nets learn in a few hundred steps."""
    g = torch.Generator().manual_seed(123)
    centers = 1.5 * torch.randn(10, SMALL_WIDTHS[0], generator=g)
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 10, (n,), generator=g)
    return centers[y] + torch.randn(n, SMALL_WIDTHS[0], generator=g), y


def _train_small(activation: str, batch_norm: bool) -> EnsembleMLP:
    """400 Adam steps (with Dropout, and batch norm with perturbed running statistics)."""
    dropout = (0.2, 0.3, 0.2, 0.3) if batch_norm else ()
    mlps = [build_reference_mlp(SMALL_WIDTHS, activation, s, dropout=dropout,
                                batch_norm=batch_norm) for s in range(1, SMALL_MEMBERS + 1)]
    model = EnsembleMLP.from_members(mlps, activation, dropout=dropout, batch_norm=batch_norm)
    x, y = small_data(2000, seed=1)
    opt = torch.optim.Adam(model.parameters(), lr=2e-2)
    g = torch.Generator().manual_seed(2)
    model.train()
    for _ in range(400):
        idx = torch.randint(0, x.shape[0], (SMALL_MEMBERS, 32), generator=g)
        loss = ensemble_loss(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    if batch_norm:  # make the running statistics matter
        with torch.no_grad():
            for l in range(model.n_hidden):
                mean, var = model.running_mean(l), model.running_var(l)
                mean.add_(0.1 * torch.randn(mean.shape, generator=g))
                var.mul_(torch.empty(var.shape).uniform_(0.8, 1.25, generator=g))
    return model.eval()


@pytest.fixture(scope="session")
def small_ensemble() -> Callable[[str, bool], EnsembleMLP]:
    """``small_ensemble(activation, batch_norm)``: the trained ensemble, trained on first use.
    Tests must not modify it (deep-copy first)."""
    trained: dict[tuple[str, bool], EnsembleMLP] = {}

    def get(activation: str, batch_norm: bool) -> EnsembleMLP:
        if (activation, batch_norm) not in trained:
            threads = torch.get_num_threads()
            torch.set_num_threads(1)  # tiny tensors: one thread is faster
            try:
                trained[activation, batch_norm] = _train_small(activation, batch_norm)
            finally:
                torch.set_num_threads(threads)
        return trained[activation, batch_norm]
    return get


# ------------------------------------------------------------------ a tiny real ensemble
TINY = Profile("tiny", {"mnist": 2}, epochs=1, limit_train=256, limit_val=200, limit_test=200,
               random_draws=2, description="test profile")


@pytest.fixture(scope="session")
def tiny_cache(real_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder with the tiny MNIST ReLU + L2 ensemble of :data:`TINY` trained once."""
    from nbutils.experiment import TrainedEnsemble

    folder = tmp_path_factory.mktemp("tiny-cache") / "cache"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NBUTILS_DATA", str(real_data))
        mp.setenv("NBUTILS_CACHE", str(folder))
        mp.delenv("NBUTILS_RESULTS", raising=False)
        TrainedEnsemble("mnist", "relu", "l2", profile=TINY, device="cpu").summary()
    return folder


@pytest.fixture
def cache_dir(tiny_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of ``tiny_cache`` as this test's NBUTILS_CACHE (real data set too)."""
    folder = tmp_path / "cache"
    shutil.copytree(tiny_cache, folder)
    monkeypatch.setenv("NBUTILS_CACHE", str(folder))
    monkeypatch.setenv("NBUTILS_DATA", os.environ.get("NBUTILS_DATA", ""))
    monkeypatch.delenv("NBUTILS_RESULTS", raising=False)
    return folder
