"""The number of training epochs is chosen by validation (early stopping, nbutils.config)."""
from dataclasses import replace

import pytest
import torch
from test_ensemble import _data

from nbutils import config as cfg
from nbutils.train import EpochSelector, select_epoch, train_ensemble


def test_registry_rule_is_the_papers_range():
    c = cfg.make_config("mnist", "sigmoid", "dropout")
    assert (c.min_epochs, c.epochs) == (cfg.MIN_EPOCHS, cfg.MAX_EPOCHS) == (8, 30)
    assert c.chooses_epochs and c.epochs_label == "8-30 (validation)"
    fixed = cfg.make_config("mnist", "sigmoid", "dropout", epochs=3)
    assert not fixed.chooses_epochs and fixed.epochs_label == "3"
    assert fixed.digest() != c.digest()


def test_select_epoch_rule():
    # epochs before min_epochs are never chosen, however good
    assert select_epoch([0.99, 0.5, 0.6, 0.6, 0.6], 2, 30, 3, 0.2) == (2, 5)
    # a gain smaller than min_delta is not an improvement
    assert select_epoch([0.5, 0.90, 0.9004, 0.9009, 0.9003], 2, 30, 3, 0.001) == (2, 5)
    # a gain of min_delta or more is; patience counts from the last improvement
    assert select_epoch([0.5, 0.90, 0.9004, 0.9012, 0.9, 0.9, 0.9], 2, 30, 3, 0.001) == (4, 7)
    # the cap stops a curve that keeps rising
    assert select_epoch([0.1 * e for e in range(1, 6)], 1, 5, 3, 0.0) == (5, 5)
    with pytest.raises(ValueError, match="ends before the rule stops"):
        select_epoch([0.5, 0.6], 1, 30, 3, 0.0)


@pytest.mark.parametrize("kwargs", [dict(min_epochs=0), dict(min_epochs=9, max_epochs=8),
                                    dict(patience=0), dict(min_delta=-0.1)])
def test_bad_rule(kwargs):
    args = dict(min_epochs=2, max_epochs=8, patience=2, min_delta=0.0) | kwargs
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        EpochSelector(**args)


def test_training_keeps_the_chosen_epoch():
    """Training stops by the rule and keeps the weights of the chosen epoch: they equal a
    training of exactly that many epochs (same streams), and the recorded curve replays to the
    same choice."""
    x, y = _data(n=320)
    xv, yv = _data(n=200, seed=1)
    rule = replace(cfg.make_config("mnist", "relu", "l2", epochs=6), min_epochs=2, patience=2,
                   min_delta=0.002)
    model, hist = train_ensemble(rule, [1, 2], x, y, xv, yv, device="cpu", fused=False,
                                 dtype=torch.float64)
    curve = [sum(v) / len(v) for v in hist.val_acc]
    chosen, last = select_epoch(curve, 2, 6, 2, 0.002)
    assert (hist.chosen_epoch, len(curve)) == (chosen, last)
    exact, _ = train_ensemble(cfg.make_config("mnist", "relu", "l2", epochs=chosen), [1, 2], x,
                              y, device="cpu", fused=False, dtype=torch.float64)
    for a, b in zip(model.state_dict().values(), exact.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_choosing_epochs_needs_validation_data():
    x, y = _data(n=64)
    with pytest.raises(ValueError, match="x_val"):
        train_ensemble(cfg.make_config("mnist", "relu", "l2"), [1], x, y, device="cpu")
