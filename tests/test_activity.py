"""Dead, always-on and varying neurons (nbutils.activity) on hand-made activations, and the
input preprocessing of nbutils.data on synthetic images."""
import numpy as np
import pytest
import torch

from nbutils.activity import activity_flags, layer_activity, per_member_counts, shares
from nbutils.config import make_config
from nbutils.data import _standardize, channel_stats, pixel_stats
from nbutils.ensemble import EnsembleMLP


def test_flags_relu_by_hand():
    # 3 inputs, 4 neurons: never > 0, always > 0, sometimes, exactly 0 (counts as inactive)
    acts = torch.tensor([[0.0, 1.0, 0.0, 0.0],
                         [0.0, 2.0, 3.0, 0.0],
                         [0.0, 0.5, 0.0, 0.0]])
    dead, on = activity_flags(acts, "relu")
    assert dead.tolist() == [[True, False, False, True]]
    assert on.tolist() == [[False, True, False, False]]


def test_flags_sigmoid_threshold_is_one_half():
    acts = torch.tensor([[[0.2, 0.6, 0.5], [0.4, 0.9, 0.7]]])   # (M=1, N=2, n=3)
    dead, on = activity_flags(acts, "sigmoid")
    assert dead.tolist() == [[True, False, False]] and on.tolist() == [[False, True, False]]


def test_shares_and_counts():
    dead = np.array([[True, False, False, False], [True, True, False, False]])
    on = np.array([[False, True, False, False], [False, False, False, False]])
    assert shares(dead, on) == {"dead": 37.5, "always_on": 12.5, "varying": 50.0}
    assert per_member_counts(dead).tolist() == [1, 2]
    with pytest.raises(ValueError, match="cannot be dead and always on"):
        shares(dead, dead)


def test_layer_activity_matches_flags_of_all_activations_in_chunks():
    torch.manual_seed(0)
    model = EnsembleMLP.from_config(make_config("mnist", "relu", "l2", epochs=1), [1, 2]).eval()
    with torch.no_grad():
        model.biases[0][:, :, :5] = -100.0   # five dead neurons in layer 1 of both members
        model.biases[0][:, :, 5:8] = 100.0   # three always on
    x = torch.rand(50, 784)
    got = layer_activity(model, x, chunk=7)
    for l, acts in enumerate(model.hidden_activations(x)):
        dead, on = activity_flags(acts, "relu")
        np.testing.assert_array_equal(got[l][0], dead.numpy())
        np.testing.assert_array_equal(got[l][1], on.numpy())
    assert got[0][0][:, :5].all() and got[0][1][:, 5:8].all()


def test_channel_standardization():
    gen = torch.Generator().manual_seed(1)
    x = torch.randint(0, 256, (20, 3 * 4), generator=gen).float() / 255   # 3 channels of 4 px
    mean, std = channel_stats(x, 3)
    assert mean.dtype == torch.float64 and mean.shape == (3,)
    np.testing.assert_allclose(mean[1].item(), x[:, 4:8].double().mean().item())
    z = _standardize(x, mean, std).double().reshape(20, 3, 4)
    np.testing.assert_allclose(z.mean(dim=(0, 2)).numpy(), 0, atol=1e-6)
    np.testing.assert_allclose(z.std(dim=(0, 2), correction=0).numpy(), 1, atol=1e-6)


def test_pixel_standardization_centres_constant_pixels():
    x = torch.tensor([[0.0, 0.2, 0.5], [0.0, 0.4, 0.5], [0.0, 0.6, 0.5]])
    mean, scale = pixel_stats(x)
    assert scale[0].item() == 1.0 and scale[2].item() == 1.0   # constant: only centred
    z = _standardize(x, mean, scale)
    np.testing.assert_allclose(z[:, 0].numpy(), 0.0)
    np.testing.assert_allclose(z[:, 1].numpy(), [-1.2247449, 0.0, 1.2247449], atol=1e-6)


def test_preprocessing_in_config_keeps_old_keys():
    unit = make_config("mnist", "relu", "l2")
    std = make_config("mnist", "relu", "l2", preprocessing="standardized")
    assert unit.preprocessing == "unit" and unit.name == "mnist-relu-l2"
    assert unit.digest() == "ee52b48fe08f1ba4"     # the key of the shipped results
    assert std.name == "mnist-relu-l2-std" and std.digest() != unit.digest()
    with pytest.raises(ValueError, match="preprocessing"):
        make_config("mnist", "relu", "l2", preprocessing="whitened")
