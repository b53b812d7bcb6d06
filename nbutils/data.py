"""MNIST, FashionMNIST and CIFAR-10 as flat float tensors with the paper's fixed 80/20 split.

Where the data comes from:

- ``NBUTILS_DATA`` set (non-empty): it names a local torchvision-layout folder
  (``MNIST/raw/*``, ``FashionMNIST/raw/*``, ``cifar-10-batches-py/*``, e.g. built by
  ``shared/data/prepare.sh DEST``). Nothing is downloaded, and every file a dataset needs is
  checked against the trusted sha256 of its entry in :mod:`nbutils.datasets` before it is read.
  CIFAR-10 files may instead match torchvision's own md5s (the original batches).
- ``NBUTILS_DATA`` unset: torchvision downloads into ``$XDG_CACHE_HOME/nbutils/data``
  (default ``~/.cache/nbutils/data``) with its own md5 checks.

Dataset names are matched ignoring case and the characters ``-``, ``_`` and spaces, so
``"MNIST"``, ``"Fashion-MNIST"`` and ``"CIFAR-10"`` mean ``"mnist"``, ``"fashionmnist"`` and
``"cifar10"``.

The designated training set is split once, by a permutation drawn from ``SPLIT_SEED`` alone,
into 80 % training and 20 % validation (the set D on which the information measures are
computed); the test set gives accuracies. Pixels are float32, flattened (CIFAR-10 in
torchvision's CHW order); labels are int64.

Input preprocessing (the paper does not state it; :data:`PREPROCESSINGS`):

- ``"unit"``: ``uint8 / 255``, pixels in [0, 1] (torchvision's ``ToTensor``);
- ``"standardized"``: then, per colour channel, minus the mean and divided by the standard
  deviation of that channel over the training part of the split (the ``Normalize`` step of
  PyTorch's own MNIST and CIFAR-10 examples; statistics from the training images only, so
  nothing of D or the test set leaks into the inputs). One mean and one deviation per channel
  (MNIST and FashionMNIST: one; CIFAR-10: three), computed in float64 on the CPU, so the inputs
  are identical on every device.
- ``"per_pixel"``: then each input dimension (pixel and channel) minus its mean and divided by
  its standard deviation over the training part (scikit-learn's ``StandardScaler`` on the
  flattened images); a dimension that is constant on the training images (MNIST's corners) is
  only centred, its scale taken as 1, as ``StandardScaler`` does.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field, fields, replace
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import torch
from torch import Tensor
from torchvision import datasets
from torchvision.datasets.mnist import read_image_file, read_label_file

from .checks import choice, optional_positive_int
from .datasets import DATASETS, get_dataset, normalize_dataset_name, trusted_sha256  # noqa: F401 (re-exported)

PREPROCESSINGS: tuple[str, ...] = ("unit", "standardized", "per_pixel")
SPLIT_SEED: int = 8020  # never change: it fixes the train/validation split and every fingerprint
ENV_VAR = "NBUTILS_DATA"


class DataNotFoundError(FileNotFoundError):
    """The files of a dataset are missing from the local folder, or could not be downloaded."""


class DataCorruptError(ValueError):
    """A data file does not match its trusted checksum (truncated, modified or wrong file)."""


def _cache_root() -> Path:
    """Download folder used when NBUTILS_DATA is unset."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "nbutils" / "data"


def data_root() -> tuple[Path, bool]:
    """(root, offline): the NBUTILS_DATA folder and True, else the download cache and False."""
    local = os.environ.get(ENV_VAR, "").strip()
    if local:
        return Path(local).expanduser().absolute(), True
    return _cache_root(), False


def _torchvision_md5(rel: str) -> str | None:
    """torchvision's md5 of an original CIFAR-10 file, None for other files."""
    cifar = datasets.CIFAR10
    md5s = dict(cifar.train_list + cifar.test_list)
    md5s[cifar.meta["filename"]] = cifar.meta["md5"]
    folder, _, filename = rel.rpartition("/")
    return md5s.get(filename) if folder == cifar.base_folder else None


def expected_files(name: str) -> list[str]:
    """Files (relative to the data root) that a dataset needs, as in its registry entry."""
    return get_dataset(name).files


@lru_cache(maxsize=64)
def _digest_of(path: str, algo: str, size: int, mtime_ns: int, inode: int) -> str:
    with open(path, "rb") as file:
        return hashlib.file_digest(file, algo).hexdigest()


def _digest(path: Path, algo: str) -> str:
    """Hex digest of a file, memoized while its size, mtime and inode stay the same."""
    st = path.stat()
    return _digest_of(str(path), algo, st.st_size, st.st_mtime_ns, st.st_ino)


def _is_trusted(root: Path, rel: str) -> bool:
    """The file exists and matches the trusted sha256 (or, for CIFAR-10, torchvision's md5)."""
    path = root / rel
    if not path.is_file():
        return False
    if _digest(path, "sha256") == trusted_sha256()[rel]:
        return True
    md5 = _torchvision_md5(rel)
    return md5 is not None and _digest(path, "md5") == md5


def _not_found_message(root: Path, name: str, missing: list[str]) -> str:
    files = expected_files(name)
    lines = [f"{get_dataset(name).display} data not found in {root} ({ENV_VAR}={root} is set, "
             "so nothing is "
             f"downloaded). {len(missing)} of these {len(files)} expected files, relative to that "
             "folder, are missing:"]
    lines += [f"    {rel}{'    <- missing' if rel in missing else ''}" for rel in files]
    lines += ["Provide them with", f"    /path/to/shared/data/prepare.sh {root}",
              f"(or point {ENV_VAR} at a folder that has them), or unset {ENV_VAR} to download "
              f"them with internet access into {_cache_root()}."]
    return "\n".join(lines)


def _verify_local(root: Path, name: str) -> None:
    """Raise DataNotFoundError or DataCorruptError unless every file of the dataset is trusted."""
    missing = [rel for rel in expected_files(name) if not (root / rel).is_file()]
    if missing:
        raise DataNotFoundError(_not_found_message(root, name, missing))
    for rel in expected_files(name):
        if not _is_trusted(root, rel):
            path = root / rel
            also = " (nor torchvision's md5 of the original)" if _torchvision_md5(rel) else ""
            raise DataCorruptError(
                f"{path} ({rel}) is corrupt or truncated: size {path.stat().st_size} bytes, "
                f"sha256 {_digest(path, 'sha256')}, expected {trusted_sha256()[rel]}{also} "
                f"(nbutils.datasets). Rebuild it with /path/to/shared/data/prepare.sh.")


class _TrustedCIFAR10(datasets.CIFAR10):
    """torchvision's CIFAR10 whose integrity check also accepts files of the trusted sha256 list.

    Each batch must match either torchvision's md5 (the original) or nbutils' sha256 (the
    shared copy, whose pickles differ only in their ``filenames`` field).
    """

    def _check_integrity(self) -> bool:
        root = Path(self.root)
        return all(_is_trusted(root, rel) for rel in expected_files("cifar10"))


def _read_split(name: str, root: Path, train: bool, offline: bool) -> tuple[Tensor, Tensor]:
    """uint8 images [N, D] and int64 labels of the training or test set."""
    if name == "cifar10":
        ds = _TrustedCIFAR10(str(root), train=train, download=not offline)
        chw = ds.data.transpose(0, 3, 1, 2)  # torchvision made HWC; back to the stored CHW
        return torch.from_numpy(chw.reshape(len(chw), -1)), torch.tensor(ds.targets)
    if offline:  # read exactly the verified files (torchvision may prefer a legacy processed/)
        prefix = get_dataset(name).folder + ("/train" if train else "/t10k")
        images = read_image_file(str(root / f"{prefix}-images-idx3-ubyte"))
        labels = read_label_file(str(root / f"{prefix}-labels-idx1-ubyte"))
    else:
        ds = get_dataset(name).torchvision_class(str(root), train=train, download=True)
        images, labels = ds.data, ds.targets
    return images.reshape(len(images), -1).contiguous(), labels.long()


@dataclass(frozen=True)
class _Raw:
    """A dataset as stored: designated training set and test set, uint8 pixels."""

    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    digest: str  # sha256 over names, dtypes, shapes and bytes of the four arrays


@lru_cache(maxsize=4)
def _load_raw(name: str, root: str, offline: bool) -> _Raw:
    """Read a dataset once per process (memo; clear with ``clear_memo()``)."""
    arrays = (*_read_split(name, Path(root), True, offline),
              *_read_split(name, Path(root), False, offline))
    digest = hashlib.sha256(name.encode())
    for array in arrays:
        digest.update(f"|{array.dtype}{tuple(array.shape)}|".encode())
        digest.update(memoryview(array.contiguous().numpy()).cast("B"))
    return _Raw(*arrays, digest=digest.hexdigest())


def clear_memo() -> None:
    """Forget the in-process memo of loaded datasets and file digests."""
    _load_raw.cache_clear()
    _digest_of.cache_clear()


def split_indices(n: int, val_fraction: float = 0.2) -> tuple[Tensor, Tensor]:
    """The fixed split of range(n): (train, validation) indices; the validation part has
    ``floor(n * val_fraction)`` of them (n // 5 for the paper's 20 %)."""
    perm = torch.randperm(n, generator=torch.Generator(device="cpu").manual_seed(SPLIT_SEED))
    n_val = int(n * Fraction(val_fraction).limit_denominator(1000))  # exact: n // 5 for 0.2
    return perm[: n - n_val], perm[n - n_val:]


@dataclass(frozen=True, eq=False)
class DataSplits:
    """Training, validation (the set D) and test tensors of one dataset on one device."""

    name: str
    n_classes: int
    input_dim: int
    x_train: Tensor = field(repr=False)
    y_train: Tensor = field(repr=False)
    x_val: Tensor = field(repr=False)
    y_val: Tensor = field(repr=False)
    x_test: Tensor = field(repr=False)
    y_test: Tensor = field(repr=False)
    fingerprint: str  # sha256 identifying the exact arrays (same on every device)

    def to(self, device: str | torch.device) -> DataSplits:
        """The same splits with every tensor moved to ``device``."""
        moved = {f.name: getattr(self, f.name).to(device)
                 for f in fields(self) if isinstance(getattr(self, f.name), Tensor)}
        return replace(self, **moved)

    def __repr__(self) -> str:
        return (f"DataSplits({self.name}: train {len(self.y_train)}, val {len(self.y_val)}, "
                f"test {len(self.y_test)}, dim {self.input_dim}, {self.n_classes} classes, "
                f"{self.x_train.device}, fingerprint {self.fingerprint[:12]})")


def _fingerprint(raw: _Raw, train_idx: Tensor, val_idx: Tensor, n_test: int,
                 preprocessing: str = "unit") -> str:
    head = "nbutils.data v1, float32 = uint8 / 255"
    if preprocessing != "unit":  # [0, 1] inputs keep the fingerprint they always had
        head += f", then {preprocessing}"
    digest = hashlib.sha256(f"{head} | {raw.digest}".encode())
    for idx in (train_idx, val_idx):
        digest.update(f"|{len(idx)}|".encode())
        digest.update(idx.numpy().tobytes())
    digest.update(f"|test[:{n_test}]".encode())
    return digest.hexdigest()


def _as_float(x: Tensor, device: torch.device) -> Tensor:
    """uint8 -> float32 in [0, 1] (on the CPU, so values are identical everywhere) -> device."""
    return x.to(torch.float32).div_(255.0).to(device)


def channel_stats(x: Tensor, channels: int) -> tuple[Tensor, Tensor]:
    """Mean and standard deviation (population, float64) of each channel of flattened CHW
    images ``x`` ``(N, channels * pixels)``, over every image and pixel: two ``(channels,)``."""
    per_channel = x.to(torch.float64).reshape(x.shape[0], channels, -1)
    return per_channel.mean(dim=(0, 2)), per_channel.std(dim=(0, 2), correction=0)


def pixel_stats(x: Tensor) -> tuple[Tensor, Tensor]:
    """Mean and scale (float64) of every input dimension of ``x`` ``(N, d)``: the population
    standard deviation, or 1 where it is 0 (a constant dimension is only centred)."""
    x64 = x.to(torch.float64)
    std = x64.std(dim=0, correction=0)
    return x64.mean(dim=0), torch.where(std > 0, std, torch.ones_like(std))


def _standardize(x: Tensor, mean: Tensor, std: Tensor) -> Tensor:
    """``(x - mean) / std`` as float32: per channel of flattened CHW images when ``mean`` has
    one entry per channel, per input dimension when it has one per dimension."""
    channels = len(mean)
    z = (x.to(torch.float64).reshape(x.shape[0], channels, -1) - mean[:, None]) / std[:, None]
    return z.reshape(x.shape[0], -1).to(torch.float32)


def load_dataset(name: str, *, device: str | torch.device = "cpu", limit_train: int | None = None,
                 limit_val: int | None = None, limit_test: int | None = None,
                 val_fraction: float | None = None,
                 preprocessing: str = "unit") -> DataSplits:
    """Load a dataset with the paper's split; ``limit_*`` keep the first n of each split.

    Args:
        name: ``"mnist"``, ``"fashionmnist"`` or ``"cifar10"``; case and the characters ``-``,
            ``_`` and space are ignored (``"CIFAR-10"`` works).
        device: where the tensors are put; default ``"cpu"``.
        limit_train: keep the first this many samples of the training part (80 %); ``None``
            (default): all.
        limit_val: the same for the validation set D (20 % of the designated training set).
        limit_test: the same for the test set.
        val_fraction: the share of the designated training set held out as D; ``None``
            (default): the paper's 20 %. The pruning note's 50 000 / 10 000 split is ``1 / 6``.
        preprocessing: ``"unit"`` (default; pixels in [0, 1]), ``"standardized"`` (per
            channel) or ``"per_pixel"`` (per input dimension), with the means and deviations
            of the training part (module docstring).

    Returns:
        :class:`DataSplits` on ``device``: float32 inputs (in [0, 1], or standardized) ``x_train``
        ``(N_train, d)``, ``x_val`` ``(N_val, d)``, ``x_test`` ``(N_test, d)`` (``d`` = 784 for
        MNIST and FashionMNIST, 3072 for CIFAR-10), int64 labels ``y_train`` ``(N_train,)``,
        ``y_val`` ``(N_val,)``, ``y_test`` ``(N_test,)`` in ``0..C-1`` (``C = 10``), and the
        ``fingerprint`` (sha256) of the exact arrays.

    Raises:
        ValueError: an unknown ``name`` or ``preprocessing``, or a limit that is neither
            ``None`` nor a positive integer.
        DataNotFoundError: files missing from the ``NBUTILS_DATA`` folder, or a failed
            download.
        DataCorruptError: a local file does not match its trusted checksum.
    """
    name = normalize_dataset_name(name)
    preprocessing = choice(preprocessing, PREPROCESSINGS, "preprocessing")
    limit_train = optional_positive_int(limit_train, "limit_train", "or None for all")
    limit_val = optional_positive_int(limit_val, "limit_val", "or None for all")
    limit_test = optional_positive_int(limit_test, "limit_test", "or None for all")
    if val_fraction is not None and not (isinstance(val_fraction, (int, float))
                                         and not isinstance(val_fraction, bool)
                                         and 0 < val_fraction < 1):
        raise ValueError(f"val_fraction must be a number strictly between 0 and 1, or None for "
                         f"the paper's 20 %; got {val_fraction!r}")
    device = torch.device(device)
    root, offline = data_root()
    if offline:
        _verify_local(root, name)
    try:
        raw = _load_raw(name, str(root), offline)
    except (RuntimeError, OSError) as err:
        if offline:
            raise
        raise DataNotFoundError(
            f"could not get {get_dataset(name).display} into {root} ({err}). Without internet, "
            "build a local "
            f"copy with /path/to/shared/data/prepare.sh DEST and set {ENV_VAR}=DEST.") from err
    spec = get_dataset(name)
    train_idx, val_idx = split_indices(len(raw.y_train), val_fraction or spec.val_fraction)
    train_idx, val_idx = train_idx[:limit_train], val_idx[:limit_val]
    n_test = len(raw.y_test[:limit_test])
    cpu = torch.device("cpu")
    x_train, x_val, x_test = (_as_float(x, cpu) for x in
                              (raw.x_train[train_idx], raw.x_train[val_idx], raw.x_test[:n_test]))
    if preprocessing != "unit":
        mean, std = (channel_stats(x_train, spec.channels) if preprocessing == "standardized"
                     else pixel_stats(x_train))
        x_train, x_val, x_test = (_standardize(x, mean, std) for x in (x_train, x_val, x_test))
    return DataSplits(
        name=name, n_classes=spec.n_classes, input_dim=raw.x_train.shape[1],
        x_train=x_train.to(device), y_train=raw.y_train[train_idx].to(device),
        x_val=x_val.to(device), y_val=raw.y_train[val_idx].to(device),
        x_test=x_test.to(device), y_test=raw.y_test[:n_test].to(device),
        fingerprint=_fingerprint(raw, train_idx, val_idx, n_test, preprocessing),
    )
