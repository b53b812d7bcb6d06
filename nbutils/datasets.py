"""The registry of datasets: everything the package knows about MNIST, FashionMNIST and CIFAR-10.

One :class:`DatasetSpec` per dataset holds its name, display name, torchvision class, folder in
torchvision's layout, the trusted sha256 of every file it needs, class names, input size and the
fraction of the designated training set held out as the validation set D. :mod:`nbutils.data`
loads and verifies from it, :mod:`nbutils.config` checks architectures against it and
:mod:`nbutils.plots` titles panels with its display names. Adding a dataset is one entry here
(plus a reader in :func:`nbutils.data._read_split` if torchvision stores it differently) and its
tests.

The sha256 are of the *unpacked* files of a torchvision-layout data folder, copied from
``shared/data/SHA256SUMS`` (provenance in ``shared/data/MANIFEST.txt``). MNIST and FashionMNIST
equal the originals' content. The CIFAR-10 batches differ from the originals only in each
pickle's ``filenames`` field (pixels and labels identical); the originals are still accepted
through torchvision's own md5s.
"""
from __future__ import annotations

from dataclasses import dataclass

from torchvision import datasets as tv

from .checks import fail


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset: identity, where its files lie and what they hold."""

    name: str                       # canonical name: lower case, no '-', '_' or spaces
    display: str                    # as written in the book
    torchvision_class: type         # the torchvision dataset that downloads it
    folder: str                     # relative to the data root, torchvision's layout
    sha256: dict[str, str]          # file name in ``folder`` -> trusted sha256
    class_names: tuple[str, ...]
    input_dim: int                  # pixels x channels, flattened
    train_size: int                 # images in the designated training set
    test_size: int                  # images in the test set
    val_fraction: float = 0.2       # the paper's 80/20 split of the designated training set
    channels: int = 1               # colour channels (CHW order when flattened)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def files(self) -> list[str]:
        """The files this dataset needs, relative to the data root."""
        return [f"{self.folder}/{name}" for name in self.sha256]


_MNIST_FILES = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "train-images-idx3-ubyte",
                "train-labels-idx1-ubyte")

DATASET_REGISTRY: dict[str, DatasetSpec] = {
    d.name: d for d in (
        DatasetSpec(
            "mnist", "MNIST", tv.MNIST, "MNIST/raw",
            dict(zip(_MNIST_FILES, (
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"))),
            tuple(str(digit) for digit in range(10)), 784, 60_000, 10_000),
        DatasetSpec(
            "fashionmnist", "FashionMNIST", tv.FashionMNIST, "FashionMNIST/raw",
            dict(zip(_MNIST_FILES, (
                "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"))),
            ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
             "Bag", "Ankle boot"), 784, 60_000, 10_000),
        DatasetSpec(
            "cifar10", "CIFAR-10", tv.CIFAR10, "cifar-10-batches-py",
            {"batches.meta": "f962466ef690d46b226450fb9aadc74ba4bc64a76aa526b5827fe4bc5c7125cb",
             "data_batch_1": "9e6798848522acaba384cbf9940a67f8f69e0e74e2cd64f0f118b59d14e53bd5",
             "data_batch_2": "3e1275b5b912df58613b8142959a83d98a1a1c75b32aa7c0b1e8b0730f8c4785",
             "data_batch_3": "4c6d457c1d28a2002620f8e70d30a6f9a4f327536cd2a2da95d3c88715388073",
             "data_batch_4": "ab26618bf80c6a974ea0d07df5c27f6038ab3f078c75dcdabe9992725a53a4bb",
             "data_batch_5": "fff4a0250f77e8874b08ef731b44460555c6b20f72a6c07fc334536b0f79a4a4",
             "test_batch": "42d37723fe7531276392498b3bb91458e539fde43d893f3940f4c75b2ecb56b7"},
            ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
             "truck"), 3072, 50_000, 10_000, channels=3),
    )
}
DATASETS: tuple[str, ...] = tuple(DATASET_REGISTRY)


def normalize_dataset_name(name: str) -> str:
    """Canonical dataset name: lower case without ``-``, ``_`` or spaces; ValueError if unknown."""
    key = "".join(ch for ch in str(name).lower() if ch not in "-_ ")
    if key not in DATASET_REGISTRY:
        raise fail("dataset", name, f"one of {', '.join(DATASETS)} (case and the characters "
                                    "'-', '_', ' ' are ignored)")
    return key


def get_dataset(name: str) -> DatasetSpec:
    """The registry entry of ``name`` (spelling as in :func:`normalize_dataset_name`)."""
    return DATASET_REGISTRY[normalize_dataset_name(name)]


def trusted_sha256() -> dict[str, str]:
    """Every trusted file of every dataset: path relative to the data root -> sha256."""
    return {f"{d.folder}/{name}": digest
            for d in DATASET_REGISTRY.values() for name, digest in d.sha256.items()}
