"""The cost estimates of chapter 7 (nbutils.cost)."""
import pytest

from nbutils import cost
from nbutils.ablation import k_grid


def test_parameter_counts_of_the_papers_networks():
    assert cost.parameter_count("mnist") == 784 * 100 + 100 + 100 * 100 + 100 + 100 * 10 + 10
    # Funnel CIFAR-10: 3072-1000-750-500-250-10
    assert cost.parameter_count("cifar10_funnel") == (3072 * 1000 + 1000 + 1000 * 750 + 750
                                                      + 750 * 500 + 500 + 500 * 250 + 250
                                                      + 250 * 10 + 10)


def test_training_images_follow_the_split_and_the_profile():
    assert cost.training_images("cifar10", "quick") == 40_000      # 80 % of 50 000
    assert cost.training_images("mnist", "paper") == 48_000
    assert cost.training_images("pruning", "quick") == 50_000      # the note's 50k / 10k split
    assert cost.training_images("cifar10", "ci") == 2048
    assert cost.test_images("ci") == 1000 and cost.test_images("quick") == 10_000


def test_flops_estimates():
    # 2 + 4 per weight and image, 2 + 2 in the first layer (no gradient for the input)
    weights = [3072 * 1000, 1000 * 750, 750 * 500, 500 * 250, 250 * 10]
    per_image = 4 * weights[0] + 6 * sum(weights[1:])
    assert cost.training_flops("cifar10_funnel", 40_000, 2) == per_image * 40_000 * 2
    # layer 1 of the Funnel net: ablating it re-runs 750-500-250-10 for every grid point
    grid = k_grid(1000)
    assert cost.ablation_flops("cifar10_funnel", 0, grid, 100) == \
        2 * (750 * 500 + 500 * 250 + 250 * 10) * 100 * len(grid)
    assert cost.ablation_flops("cifar10_funnel", 3, [0, 1], 100) == 0   # the output layer only
    with pytest.raises(ValueError, match="layer"):
        cost.ablation_flops("cifar10_funnel", 4, [0], 100)
    with pytest.raises(ValueError, match="epochs"):
        cost.training_flops("mnist", 10, 0)


def test_the_pruned_networks_are_counted_as_the_ensembles():
    """Chapter 9's sizes (nbutils.prune) and chapter 7's estimates share one count of
    parameters and forward FLOPs (nbutils.ensemble)."""
    from nbutils import prune
    from nbutils.ensemble import build_reference_mlp, forward_flops_per_sample

    widths = [784, 200, 200, 10]
    assert forward_flops_per_sample(widths) == 2 * (784 * 200 + 200 * 200 + 200 * 10)
    assert prune.size_after(widths, {}) == (cost.parameter_count("pruning"),
                                            forward_flops_per_sample(widths))
    mlp = build_reference_mlp(widths, "sigmoid", 1)
    assert prune.parameter_count(mlp) == cost.parameter_count("pruning")
    assert prune.flops_per_sample(mlp) == forward_flops_per_sample(widths)
    assert prune.size_after(widths, {1: 50}) == (
        784 * 200 + 200 + 200 * 150 + 150 + 150 * 10 + 10,
        2 * (784 * 200 + 200 * 150 + 150 * 10))
