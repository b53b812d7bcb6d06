"""What training and ablating a network costs, estimated before it is measured (chapter 7).

A fully connected layer ``a -> b`` has ``a * b`` weights and ``b`` biases
(:func:`nbutils.ensemble.param_count`). Training costs 6 floating-point operations per weight
and image, 2 for the forward pass (a multiply and an add) and 4 for the backward pass (the
gradients with respect to the inputs and to the weights), except in the first layer, which needs
no gradient with respect to the input (:func:`nbutils.ensemble.train_flops_per_sample`, the
model FLOPs of the training benchmark). Ablating ``k`` neurons of hidden layer ``l`` and
reading the accuracy re-runs the layers above the next one: 2 operations per weight there, per
test image and grid point (:func:`nbutils.ensemble.forward_flops_per_sample`, which also counts
the pruned networks of chapter 9, :mod:`nbutils.prune`).
"""
from __future__ import annotations

from collections.abc import Sequence

from .checks import index, positive_int
from .config import ARCHITECTURES, Architecture, get_profile
from .datasets import get_dataset
from .ensemble import forward_flops_per_sample, param_count, train_flops_per_sample


def _arch(arch: str | Architecture) -> Architecture:
    return ARCHITECTURES[arch] if isinstance(arch, str) else arch


def parameter_count(arch: str | Architecture) -> int:
    """Weights and biases of the network ``input - hidden... - classes``."""
    return param_count(_arch(arch).widths)


def training_images(arch: str | Architecture, profile: str) -> int:
    """Images one epoch trains on under ``profile``: the profile's limit, else the designated
    training set minus the validation share."""
    a = _arch(arch)
    prof = get_profile(profile)
    share = a.val_fraction if a.val_fraction is not None else get_dataset(a.dataset).val_fraction
    full = round(get_dataset(a.dataset).train_size * (1 - share))
    return min(full, prof.limit_train) if prof.limit_train else full


def training_flops(arch: str | Architecture, images: int, epochs: int) -> float:
    """Floating-point operations to train one network for ``epochs`` epochs of ``images``
    images (:func:`nbutils.ensemble.train_flops_per_sample` per image)."""
    positive_int(images, "images")
    positive_int(epochs, "epochs")
    return train_flops_per_sample(_arch(arch).widths) * images * epochs


def ablation_flops(arch: str | Architecture, layer: int, ks: Sequence[int],
                   test_images: int) -> float:
    """Floating-point operations to read one ordering's curve of hidden ``layer`` (0-based) of
    one network at the grid ``ks``: the layers above it re-run for every grid point (the
    incremental engine's rank-one updates of the next layer are left out: they cost
    ``n * test_images * next width`` once per ordering, not per grid point)."""
    a = _arch(arch)
    index(layer, len(a.hidden), "layer", "0 = the first hidden layer")
    positive_int(test_images, "test_images")
    above = a.widths[layer + 2:]   # widths from the layer that ``layer`` feeds on
    return float(forward_flops_per_sample(above)) * test_images * len(ks)


def test_images(profile: str, dataset: str = "cifar10") -> int:
    """Test images a chapter's curves of ``dataset`` are evaluated on under ``profile``."""
    size = get_dataset(dataset).test_size
    limit = get_profile(profile).limit_test
    return min(size, limit) if limit else size
