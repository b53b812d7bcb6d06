"""Tests of nbutils.params: the papermill parameters every chapter validates first."""
from __future__ import annotations

import pytest
import torch

from nbutils.config import PROFILES
from nbutils.params import ParameterError, check_parameters


def test_valid_parameters_are_normalised():
    p = check_parameters(profile="CI", seeds=None, device="cpu", progress=False,
                         activation="Sigmoid", regularizer="bn_dropout", ablation_value="mean",
                         layers=2, k=[0, 80])
    assert p.profile == "ci" and p.profile_obj.name == "ci"
    assert p.seeds is None and p.progress is False
    assert p.device == torch.device("cpu")
    assert (p.activation, p.regularizer, p.ablation_value) == ("sigmoid", "bn_dropout", "mean")
    assert p.layers == [2] and p.k == [0, 80]


def test_auto_device_resolves_to_what_is_here():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert check_parameters(device="auto").device.type == expected


@pytest.mark.parametrize("name, value, allowed", [
    ("profile", "full", "'ci', 'quick', 'paper'"),
    ("profile", 1, "'ci', 'quick', 'paper'"),
    ("seeds", 0, "positive integer"),
    ("seeds", -3, "positive integer"),
    ("seeds", "8", "positive integer"),       # papermill -p seeds "8" given as a string
    ("seeds", 2.0, "positive integer"),
    ("seeds", True, "positive integer"),
    ("seeds_c", -6, "positive integer"),
    ("seeds_c", "6", "positive integer"),
    ("progress", "yes", "True or False"),
    ("progress", 1, "True or False"),
    ("activation", "tanh", "'relu', 'sigmoid'"),
    ("regularizer", "batchnorm", "'bn_dropout'"),
    ("ablation_value", 0, "'zero', 'mean'"),
    ("arch", "resnet", "'mnist'"),
    ("layers", 0, "hidden-layer number >= 1"),
    ("layers", [1, "2"], "hidden-layer number >= 1"),
    ("k", -1, "non-negative integer"),
    ("chapters", ["fig9"], "'fig1'"),
    ("finetune_epochs", 0, "an integer from 1 to 10"),
    ("finetune_epochs", 2.5, "an integer from 1 to 10"),
    ("finetune_epochs", "2", "an integer from 1 to 10"),
    ("finetune_epochs", 11, "an integer from 1 to 10"),
    ("k_dense", 0, "an integer from 1 to 500"),
    ("k_dense", "50", "an integer from 1 to 500"),
    ("k_step", 101, "an integer from 1 to 100"),
    ("k_step", -10, "an integer from 1 to 100"),
])
def test_bad_value_names_parameter_value_and_allowed(name, value, allowed):
    with pytest.raises(ParameterError) as err:
        check_parameters(**{name: value})
    message = str(err.value)
    assert repr(name) in message and repr(value) in message
    assert allowed in message


@pytest.mark.parametrize("device", ["gpu", "tpu:0", "cuda:99" if torch.cuda.is_available()
                                    else "cuda"])
def test_unavailable_device_names_parameter(device):
    with pytest.raises(ParameterError, match=r"parameter 'device'.*(cpu|CUDA|cuda)"):
        check_parameters(device=device)


def test_grid_parameters_default_to_the_profile():
    assert check_parameters(k_dense=None, k_step=None).k_dense is None
    assert check_parameters(k_dense=20, k_step=5).k_step == 5


def test_unknown_parameter_lists_the_known_ones():
    with pytest.raises(ParameterError, match=r"unknown parameter 'sedes'.*'seeds'"):
        check_parameters(sedes=3)


def test_parameter_error_is_a_value_error():
    assert issubclass(ParameterError, ValueError)
    assert set(PROFILES) == {"ci", "quick", "paper"}


def test_a_layer_outside_the_network_names_the_parameter():
    from nbutils.params import check_layers

    assert check_layers([1, 2], (20, 20), "784-20-20-10") == [0, 1]
    with pytest.raises(ParameterError) as err:
        check_layers([3], (20, 20), "784-20-20-10")
    message = str(err.value)
    assert "'layers'" in message and "[3]" in message and "1..2" in message
    assert "784-20-20-10" in message


# ------------------------------------------------------- names papermill injected (item 3)
PARAMETERS_CELL = '''profile = "quick"      # "ci", "quick" or "paper"
seeds = None           # number of networks
# a comment line
finetune_epochs = 1
layers = [1, 2]
'''


def history(*injected: str) -> list[str]:
    """A kernel's input history: entry 0 empty (IPython's), the parameters cell, papermill's
    injected cell, the chapter's first code cell."""
    return ["", PARAMETERS_CELL, "# Parameters\n" + "".join(injected), "import numpy"]


def test_assigned_names_are_the_parameters_of_a_cell():
    from nbutils.params import assigned_names

    assert assigned_names(PARAMETERS_CELL) == ["profile", "seeds", "finetune_epochs", "layers"]
    assert assigned_names("a: int = 1\nb, c = 2, 3\nprint(a)") == ["a", "b", "c"]
    assert assigned_names("%matplotlib inline") is None


def test_a_misspelt_injected_parameter_is_refused_with_did_you_mean():
    from nbutils.params import check_injected

    with pytest.raises(ParameterError) as err:
        check_injected(history('profile = "ci"\n', "finetune_epoch = 3\n"))
    message = str(err.value)
    assert "unknown parameter 'finetune_epoch' (did you mean 'finetune_epochs'?)" in message
    assert "'profile', 'seeds', 'finetune_epochs', 'layers'" in message   # the allowed names
    with pytest.raises(ParameterError, match=r"'colour'.*allowed") as err:
        check_injected(history("colour = 'red'\n"))
    assert "did you mean" not in str(err.value)                          # nothing close


def test_known_or_no_injected_parameters_pass():
    from nbutils.params import check_injected

    check_injected(history('profile = "ci"\n', "layers = [2]\n"))
    check_injected(["", PARAMETERS_CELL, "import numpy"])       # papermill given no parameter
    check_injected(["", "# Parameters\nfoo = 1\n", "x = 1"])    # no parameters cell before it
    check_injected([])                                           # not in a kernel
    check_parameters(profile="ci")                               # pytest is no kernel: no check


# --------------------------------------------------- what a chapter can draw (item 2)
def test_chapter_6_refuses_an_architecture_it_cannot_draw():
    with pytest.raises(ParameterError) as err:
        check_parameters(chapter="ch6", profile="ci", arch="cifar10", layers=[1, 2])
    message = str(err.value)
    assert "parameter 'arch' = 'cifar10'" in message
    assert "['mnist', 'fashionmnist', 'fashionmnist_small', 'pruning']" in message
    assert check_parameters(chapter="ch6", arch="FashionMNIST_small").arch == "fashionmnist_small"
    assert check_parameters(arch="cifar10").arch == "cifar10"   # other chapters may draw it


def test_chapter7_panels():
    from nbutils.params import ParameterError, check_parameters

    assert check_parameters(panels=["b", "a"]).panels == ["a", "b"]
    assert check_parameters(panels=["a", "b", "c"]).panels == ["a", "b", "c"]
    for bad in (["a"], "abc", ["a", "b", "d"], ["a", "a", "b"]):
        with pytest.raises(ParameterError, match="panels"):
            check_parameters(panels=bad)


def test_chapter11_refuses_the_paper_profile():
    from nbutils.params import ParameterError, check_parameters

    assert check_parameters(chapter="ch11", profile="quick").profile == "quick"
    with pytest.raises(ParameterError, match="'quick' \\(the screen\\)"):
        check_parameters(chapter="ch11", profile="paper")
