"""Tests of nbutils.data. Tests that read real data need NBUTILS_DATA (a prepare.sh folder)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
from torchvision import datasets

from nbutils import data
from nbutils.datasets import get_dataset, trusted_sha256


def link_copy(src: Path, dst: Path, name: str) -> None:
    """Recreate a dataset's expected files under dst as symlinks to those under src."""
    for rel in data.expected_files(name):
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        (dst / rel).symlink_to(src / rel)


def replace_with_copy(path: Path, keep_bytes: int | None = None) -> bytes:
    """Replace a symlink by a real copy of its target (first keep_bytes only); return the bytes."""
    content = path.read_bytes()[:keep_bytes]
    path.unlink()
    path.write_bytes(content)
    return content


# --- no data needed -----------------------------------------------------------------------

@pytest.mark.parametrize("alias, name", [("MNIST", "mnist"), ("FashionMNIST", "fashionmnist"),
                                         ("fashion-mnist", "fashionmnist"), ("CIFAR-10", "cifar10"),
                                         ("cifar10", "cifar10"), ("Cifar_10", "cifar10")])
def test_normalize_dataset_name(alias: str, name: str) -> None:
    assert data.normalize_dataset_name(alias) == name


def test_unknown_dataset_lists_allowed_names() -> None:
    for call in (lambda: data.normalize_dataset_name("svhn"), lambda: data.load_dataset("svhn")):
        with pytest.raises(ValueError) as info:
            call()
        assert all(name in str(info.value) for name in data.DATASETS)


def test_data_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NBUTILS_DATA", str(tmp_path))
    assert data.data_root() == (tmp_path, True)
    monkeypatch.delenv("NBUTILS_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert data.data_root() == (tmp_path / "cache" / "nbutils" / "data", False)
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert data.data_root() == (Path.home() / ".cache" / "nbutils" / "data", False)


def test_expected_files() -> None:
    assert data.expected_files("MNIST") == [
        "MNIST/raw/t10k-images-idx3-ubyte", "MNIST/raw/t10k-labels-idx1-ubyte",
        "MNIST/raw/train-images-idx3-ubyte", "MNIST/raw/train-labels-idx1-ubyte"]
    assert len(data.expected_files("fashionmnist")) == 4
    cifar = data.expected_files("cifar10")
    assert len(cifar) == 7 and "cifar-10-batches-py/test_batch" in cifar


@pytest.mark.parametrize("param", ["limit_train", "limit_val", "limit_test"])
@pytest.mark.parametrize("value", [0, -5, 2.5, True, "100"])
def test_bad_limits(param: str, value: object) -> None:
    with pytest.raises(ValueError, match=param):
        data.load_dataset("mnist", **{param: value})


@pytest.mark.parametrize("value", [0, 1, -0.2, 1.5, True, "0.2"])
def test_bad_val_fraction(value: object) -> None:
    with pytest.raises(ValueError, match="val_fraction"):
        data.load_dataset("mnist", val_fraction=value)


def test_split_of_the_pruning_note() -> None:
    """One sixth of MNIST's 60 000 training images held out: the note's 50 000 / 10 000."""
    train, val = data.split_indices(60000, 1 / 6)
    assert (len(train), len(val)) == (50000, 10000)
    assert torch.equal(torch.cat([train, val]).sort().values, torch.arange(60000))


def test_split_indices_fixed_and_disjoint() -> None:
    train, val = data.split_indices(60000)
    assert (len(train), len(val)) == (48000, 12000)
    assert torch.equal(torch.cat([train, val]).sort().values, torch.arange(60000))  # disjoint cover
    again_train, again_val = data.split_indices(60000)
    assert torch.equal(train, again_train) and torch.equal(val, again_val)
    torch.manual_seed(123)  # the global RNG does not matter
    assert torch.equal(data.split_indices(60000)[1], val)


def test_missing_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = tmp_path / "nowhere"
    monkeypatch.setenv("NBUTILS_DATA", str(folder))
    with pytest.raises(data.DataNotFoundError) as info:
        data.load_dataset("mnist")
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert str(folder) in message and "MNIST" in message
    assert "NBUTILS_DATA" in message and "prepare.sh" in message
    assert all(rel in message for rel in data.expected_files("mnist"))


# --- real data ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["mnist", "fashionmnist", "cifar10"])
def test_registry_sizes_are_those_of_the_files(real_root: Path, name: str) -> None:
    from nbutils.datasets import get_dataset

    raw = data._load_raw(name, str(real_root), True)
    spec = get_dataset(name)
    assert (len(raw.y_train), len(raw.y_test)) == (spec.train_size, spec.test_size)


def test_mnist(real_root: Path) -> None:
    d = data.load_dataset("MNIST")
    assert (d.name, d.n_classes, d.input_dim) == ("mnist", 10, 784)
    assert [len(t) for t in (d.x_train, d.x_val, d.x_test)] == [48000, 12000, 10000]
    assert d.x_train.shape == (48000, 784) and d.x_val.shape == (12000, 784)
    for x, y in ((d.x_train, d.y_train), (d.x_val, d.y_val), (d.x_test, d.y_test)):
        assert x.dtype == torch.float32 and y.dtype == torch.int64 and len(x) == len(y)
        assert x.min() == 0 and x.max() == 1 and set(y.unique().tolist()) == set(range(10))
    assert d.y_test[0] == 7 and len(d.fingerprint) == 64


def test_pruning_network_gets_the_notes_split(real_root: Path) -> None:
    from nbutils.experiment import TrainedEnsemble

    d = TrainedEnsemble("pruning", "sigmoid", "l2", profile="quick", seeds=1).data
    assert [len(d.y_train), len(d.y_val), len(d.y_test)] == [50000, 10000, 10000]
    paper = data.load_dataset("mnist")
    assert d.fingerprint != paper.fingerprint   # a different split: different cache keys


def test_mnist_matches_torchvision_and_split(real_root: Path) -> None:
    d = data.load_dataset("mnist")
    reference = datasets.MNIST(str(real_root), train=True, download=False)
    train_idx, val_idx = data.split_indices(60000)
    pixels = reference.data.reshape(60000, 784).float() / 255
    assert torch.equal(d.x_train, pixels[train_idx])
    assert torch.equal(d.y_train, reference.targets[train_idx])
    assert torch.equal(d.x_val, pixels[val_idx])
    assert torch.equal(d.y_val, reference.targets[val_idx])


def test_reproducible_after_clearing_memo(real_root: Path) -> None:
    first = data.load_dataset("mnist")
    data.clear_memo()
    second = data.load_dataset("mnist")
    assert first.fingerprint == second.fingerprint
    assert torch.equal(first.x_val, second.x_val) and torch.equal(first.y_train, second.y_train)


def test_limits_take_first_n_after_split(real_root: Path) -> None:
    full = data.load_dataset("mnist")
    small = data.load_dataset("mnist", limit_train=100, limit_val=50, limit_test=20)
    assert [len(small.y_train), len(small.y_val), len(small.y_test)] == [100, 50, 20]
    assert torch.equal(small.x_train, full.x_train[:100])
    assert torch.equal(small.y_val, full.y_val[:50])
    assert torch.equal(small.x_test, full.x_test[:20])
    assert small.fingerprint != full.fingerprint
    no_op_limit = data.load_dataset("mnist", limit_val=10**6)
    assert no_op_limit.fingerprint == full.fingerprint


def test_to_device(real_root: Path) -> None:
    d = data.load_dataset("mnist", limit_train=10, limit_val=10, limit_test=10, device="meta")
    tensors = (d.x_train, d.y_train, d.x_val, d.y_val, d.x_test, d.y_test)
    assert all(t.device.type == "meta" for t in tensors)
    back = data.load_dataset("mnist", limit_train=10, limit_val=10, limit_test=10).to("meta")
    assert back.x_val.device.type == "meta" and back.fingerprint == d.fingerprint


def test_fashionmnist(real_root: Path) -> None:
    d = data.load_dataset("FashionMNIST")
    shapes = [tuple(x.shape) for x in (d.x_train, d.x_val, d.x_test)]
    assert shapes == [(48000, 784), (12000, 784), (10000, 784)]
    assert d.y_test[0] == 9 and get_dataset("fashionmnist").class_names[9] == "Ankle boot"


def test_cifar10(real_root: Path) -> None:
    d = data.load_dataset("CIFAR-10")
    assert (d.name, d.input_dim) == ("cifar10", 3072)
    shapes = [tuple(x.shape) for x in (d.x_train, d.x_val, d.x_test)]
    assert shapes == [(40000, 3072), (10000, 3072), (10000, 3072)]
    assert d.x_train.dtype == torch.float32 and d.y_train.dtype == torch.int64
    assert d.y_test[0] == 3 and get_dataset("cifar10").class_names[3] == "cat"
    with open(real_root / "cifar-10-batches-py" / "test_batch", "rb") as file:
        stored = pickle.load(file, encoding="latin1")["data"]  # rows of 3072 bytes in CHW order
    assert torch.equal(d.x_test[:5], torch.from_numpy(stored[:5]).float() / 255)


def test_truncated_file(real_root: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    link_copy(real_root, tmp_path, "mnist")
    rel = "MNIST/raw/train-labels-idx1-ubyte"
    replace_with_copy(tmp_path / rel, keep_bytes=1000)
    monkeypatch.setenv("NBUTILS_DATA", str(tmp_path))
    with pytest.raises(data.DataCorruptError) as info:
        data.load_dataset("mnist")
    assert rel in str(info.value) and trusted_sha256()[rel] in str(info.value)


def test_one_file_missing(real_root: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    link_copy(real_root, tmp_path, "fashionmnist")
    rel = "FashionMNIST/raw/t10k-images-idx3-ubyte"
    (tmp_path / rel).unlink()
    monkeypatch.setenv("NBUTILS_DATA", str(tmp_path))
    with pytest.raises(data.DataNotFoundError, match=rf"{rel}\s+<- missing"):
        data.load_dataset("fashionmnist")


def test_cifar_sha256_fallback(real_root: Path, monkeypatch: pytest.MonkeyPatch,
                               tmp_path: Path) -> None:
    # stock torchvision rejects the shared copy
    with pytest.raises(RuntimeError, match="corrupted"):
        datasets.CIFAR10(str(real_root), train=False, download=False)
    assert data._TrustedCIFAR10(str(real_root), train=False, download=False)._check_integrity()

    link_copy(real_root, tmp_path, "cifar10")
    rel = "cifar-10-batches-py/data_batch_1"
    content = bytearray(replace_with_copy(tmp_path / rel))
    content[len(content) // 2] ^= 1  # one flipped bit in the pixels; the pickle still loads
    (tmp_path / rel).write_bytes(content)
    with pytest.raises(RuntimeError, match="corrupted"):
        data._TrustedCIFAR10(str(tmp_path), train=True, download=False)
    monkeypatch.setenv("NBUTILS_DATA", str(tmp_path))
    with pytest.raises(data.DataCorruptError, match=rel):
        data.load_dataset("cifar10")


def test_online_mode_uses_filled_cache(real_root: Path, monkeypatch: pytest.MonkeyPatch,
                                       tmp_path: Path) -> None:
    cache = tmp_path / "nbutils" / "data"
    link_copy(real_root, cache, "mnist")  # all present, so torchvision downloads nothing
    offline = data.load_dataset("mnist", limit_val=100)
    monkeypatch.delenv("NBUTILS_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert data.data_root() == (cache, False)
    assert data.load_dataset("mnist", limit_val=100).fingerprint == offline.fingerprint
    assert sorted(p.name for p in (cache / "MNIST" / "raw").iterdir()) == sorted(
        Path(rel).name for rel in data.expected_files("mnist"))


def test_corrupt_cifar_file_stops_a_chapter_without_touching_the_cache(
        real_root: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Chapter 7's networks with one CIFAR-10 batch corrupted: one error naming the file, and
    the cache (weights and results) is left as it was."""
    from nbutils.experiment import TrainedEnsemble

    link_copy(real_root, tmp_path / "data", "cifar10")
    rel = "cifar-10-batches-py/test_batch"
    content = bytearray(replace_with_copy(tmp_path / "data" / rel))
    content[-5] ^= 1
    (tmp_path / "data" / rel).write_bytes(content)
    cache = tmp_path / "cache"
    (cache / "results" / "earlier").mkdir(parents=True)
    (cache / "results" / "earlier" / "layer-0.npz").write_bytes(b"results of an earlier run")
    before = {p: p.read_bytes() for p in cache.rglob("*") if p.is_file()}
    monkeypatch.setenv("NBUTILS_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("NBUTILS_CACHE", str(cache))
    data.clear_memo()   # the real CIFAR-10 may be loaded already in this process
    with pytest.raises(data.DataCorruptError, match=rel):
        TrainedEnsemble("cifar10_funnel", "relu", "l2", profile="ci", device="cpu").summary()
    assert {p: p.read_bytes() for p in cache.rglob("*") if p.is_file()} == before
