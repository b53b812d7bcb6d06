"""Member i of a trained ensemble equals the ordinary torch.nn MLP trained with seed i."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nbutils.config import make_config
from nbutils.ensemble import BatchedAffine, EnsembleMLP, build_reference_mlp
from nbutils.train import DropoutMaskStream, derive_seed, epoch_order, train_ensemble

STEPS = 200  # "a few hundred steps": several epochs of the 640-sample set at batch 32
SEEDS = [1, 7]


def _data(n=640, d=784, classes=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, classes, (n,), generator=g)
    centers = torch.rand(classes, d, generator=g)
    x = (centers[y] + 0.5 * torch.rand(n, d, generator=g)).clamp(0, 1)
    return x, y


def _train_reference(config, seed, x, y, steps, dtype=torch.float64):
    """Plain single-network training: torch.nn modules, stock torch.optim, same streams."""
    arch = config.architecture
    mlp = build_reference_mlp(arch.widths, config.activation, seed, dropout=config.dropout,
                              batch_norm=config.batch_norm).to(dtype).train()
    x = x.to(dtype)
    if config.optimizer == "rmsprop":
        opt = torch.optim.RMSprop(mlp.parameters(), lr=config.lr, momentum=config.momentum,
                                  weight_decay=config.weight_decay)
    else:
        opt = torch.optim.Adam(mlp.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    order_gen = torch.Generator().manual_seed(derive_seed(seed, "order"))
    masks = DropoutMaskStream(seed, config.batch_size, arch.hidden, config.dropout)
    n, B, done = x.shape[0], config.batch_size, 0
    while done < steps:
        order = epoch_order(order_gen, n)
        for s in range(-(-n // B)):
            if done == steps:
                break
            idx = order[s * B:(s + 1) * B]
            h, layer_masks, l = x[idx], (next(masks) if config.dropout else None), 0
            for module in mlp:
                if isinstance(module, nn.Dropout):  # same mask the ensemble member draws
                    h = h * layer_masks[l][: idx.shape[0]]
                    l += 1
                else:
                    h = module(h)
            loss = F.cross_entropy(h, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            done += 1
    return mlp.eval()


# Every activation x regularizer with the eager optimizer step; the compiled (fused) step, which
# costs a compilation per configuration, on two combinations that together cover all its branches
# (momentum with and without weight decay, with and without batch-norm parameters).
COMBOS = [(a, r, False) for a in ("relu", "sigmoid")
          for r in ("none", "l2", "dropout", "bn_dropout")]
COMBOS += [("relu", "l2", True), ("sigmoid", "bn_dropout", True)]


@pytest.mark.parametrize(("activation", "regularizer", "fused"), COMBOS,
                         ids=[f"{a}-{r}-{'fused' if f else 'eager'}" for a, r, f in COMBOS])
def test_member_equals_reference(activation, regularizer, fused):
    config = make_config("fashionmnist_small", activation, regularizer, epochs=20)
    x, y = _data()
    model, _ = train_ensemble(config, SEEDS, x, y, device="cpu", fused=fused, max_steps=STEPS,
                              dtype=torch.float64)
    for i, seed in enumerate(SEEDS):
        ref = _train_reference(config, seed, x, y, STEPS)
        mine = model.member(i)
        for (name, a), (_, b) in zip(ref.state_dict().items(), mine.state_dict().items()):
            if a.dtype.is_floating_point:
                torch.testing.assert_close(b, a, rtol=1e-9, atol=1e-10, msg=f"{name} seed {seed}")
        with torch.no_grad():
            xd = x[:64].double()
            torch.testing.assert_close(mine(xd), ref(xd), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("regularizer", ["l2", "bn_dropout"])
def test_member_matches_reference_in_float32(regularizer):
    """In float32 the two differ only by rounding (bmm vs mm kernels, blocked differently on
    each CPU), which 200 steps grow to ~1e-4 in the logits: a tolerance of 1e-2 on logits of
    size ~10 and 99 % equal predictions are far from both rounding and a real bug."""
    config = make_config("mnist", "relu", regularizer, epochs=20)
    x, y = _data()
    model, _ = train_ensemble(config, SEEDS[:1], x, y, device="cpu", max_steps=STEPS)
    ref = _train_reference(config, SEEDS[0], x, y, STEPS, dtype=torch.float32)
    with torch.no_grad():
        a, b = model.member(0)(x), ref(x)
    torch.testing.assert_close(a, b, rtol=1e-2, atol=1e-2)
    assert (a.argmax(1) == b.argmax(1)).float().mean() > 0.99


def test_adam_pruning_net_member_equals_reference():
    config = make_config("pruning", "sigmoid", "l2", epochs=20)
    x, y = _data()
    model, _ = train_ensemble(config, SEEDS[:2], x, y, device="cpu", max_steps=100,
                              dtype=torch.float64)
    ref = _train_reference(config, SEEDS[1], x, y, 100)
    for a, b in zip(ref.state_dict().values(), model.member(1).state_dict().values()):
        torch.testing.assert_close(b, a, rtol=1e-9, atol=1e-10)


def test_member_does_not_depend_on_the_rest_of_the_ensemble():
    """Member 1 of a 3-member ensemble is the 1-member ensemble of the same seed.

    Exact in real numbers, not in float32: batched kernels block the products differently for
    M = 3 and M = 1, and how depends on the CPU (on an AVX-512 Xeon one weight of 78 400 differed
    by 1 % after 14 float32 steps). In float64 the same rounding differences are ~1e-16 relative;
    14 RMSprop steps amplify them by far less than 1e7, so rtol 1e-9 holds on any CPU while any
    real coupling between members (a shared statistic, a wrong batch index) shows at ~1e-3.
    """
    config = make_config("mnist", "relu", "dropout", epochs=2)
    x, y = _data(n=200)
    big, _ = train_ensemble(config, [3, 4, 5], x, y, device="cpu", fused=False,
                            dtype=torch.float64)
    alone, _ = train_ensemble(config, [4], x, y, device="cpu", fused=False, dtype=torch.float64)
    for a, b in zip(big.member(1).state_dict().values(), alone.member(0).state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


def test_members_differ_and_training_is_deterministic():
    config = make_config("mnist", "relu", "dropout", epochs=1)
    x, y = _data(n=320)
    m1, h1 = train_ensemble(config, [1, 2], x, y, device="cpu")
    m2, h2 = train_ensemble(config, [1, 2], x, y, device="cpu")
    assert torch.equal(m1.weights[0], m2.weights[0])
    assert h1.train_loss == h2.train_loss
    assert not torch.allclose(m1.weights[0][0], m1.weights[0][1])


def test_ensemble_learns():
    config = make_config("mnist", "relu", "l2", epochs=3)
    x, y = _data(n=1000)
    model, hist = train_ensemble(config, [1, 2], x, y, x, y, device="cpu")
    assert min(hist.val_acc[-1]) > 0.9
    assert hist.train_loss[-1][0] < hist.train_loss[0][0]


def test_batched_affine_gradients_equal_autograd_through_baddbmm():
    """The hand-written backward of BatchedAffine: same values and gradients as autograd through
    baddbmm on the transposed view, each gradient contiguous in its parameter's layout."""
    g = torch.Generator().manual_seed(3)
    h = torch.rand(4, 6, 5, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 3, 5, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, 1, 3, generator=g, dtype=torch.float64, requires_grad=True)
    upstream = torch.randn(4, 6, 3, generator=g, dtype=torch.float64)
    out = BatchedAffine.apply(h, w, b)
    mine = torch.autograd.grad(out, (h, w, b), upstream)
    ref_out = torch.baddbmm(b, h, w.transpose(1, 2))
    ref = torch.autograd.grad(ref_out, (h, w, b), upstream)
    torch.testing.assert_close(out, ref_out, rtol=0, atol=0)
    for a, r, p in zip(mine, ref, (h, w, b)):
        torch.testing.assert_close(a, r, rtol=1e-12, atol=1e-12)
        assert a.shape == p.shape and a.is_contiguous()
    assert torch.autograd.gradcheck(BatchedAffine.apply, (h, w, b))
    # no gradient is computed for an input that does not need one (the data of layer 1)
    x = h.detach()
    (gw,) = torch.autograd.grad(BatchedAffine.apply(x, w, b).sum(), (w,))
    torch.testing.assert_close(gw, torch.ones(4, 6, 3, dtype=torch.float64).transpose(1, 2) @ x)


def test_from_members_roundtrip():
    """Compared in float64 (bmm vs mm kernels round differently in float32, CPU by CPU):
    the initial weights are equal, so the outputs agree to float64 rounding."""
    cfg = make_config("fashionmnist_small", "sigmoid", "bn_dropout")
    ens = EnsembleMLP.from_config(cfg, [5, 6]).double()
    ref = build_reference_mlp(cfg.architecture.widths, "sigmoid", 6, dropout=cfg.dropout,
                              batch_norm=True).double().eval()
    x = torch.rand(10, 784, dtype=torch.float64)
    torch.testing.assert_close(ens.member(1)(x), ref(x), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ens.eval()(x)[1], ref(x), rtol=1e-12, atol=1e-12)


def test_split_forward_equals_forward():
    """Running a network up to hidden layer l and the rest from there is the whole forward, for
    every l (the reference member's hidden outputs checked too), with batch norm in eval mode."""
    cfg = make_config("fashionmnist_small", "relu", "bn_dropout")
    ens = EnsembleMLP.from_config(cfg, [3, 4]).double().eval()
    ref = build_reference_mlp(cfg.architecture.widths, "relu", 4, dropout=cfg.dropout,
                              batch_norm=True).double().eval()
    x = torch.rand(7, 784, dtype=torch.float64)
    assert torch.equal(ens.layer_output(x, -1), x)
    for l in range(ens.n_hidden):
        t = ens.layer_output(x, l)
        assert t.shape == (2, 7, ens.hidden_widths[l])
        torch.testing.assert_close(ens.logits_from(t, l), ens(x), rtol=0, atol=0)
    hidden = [m for m in ref if isinstance(m, nn.ReLU)]
    seen = []
    handles = [m.register_forward_hook(lambda _m, _i, out: seen.append(out)) for m in hidden]
    ref(x)
    for h in handles:
        h.remove()
    for l, out in enumerate(seen):
        torch.testing.assert_close(ens.layer_output(x, l)[1], out, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("bad", [{"seeds": []}, {"seeds": [0]}, {"seeds": [-3]},
                                 {"seeds": [1.5]}, {"device": "tpu"}, {"device": "cuda:7"}])
def test_bad_training_input(bad):
    config = make_config("mnist", "relu", "none", epochs=1)
    x, y = _data(n=64)
    kwargs = {"seeds": [1], "device": "cpu", **bad}
    with pytest.raises(ValueError, match="seed|device"):
        train_ensemble(config, kwargs.pop("seeds"), x, y, **kwargs)


def test_width_mismatch_is_reported():
    config = make_config("mnist", "relu", "none", epochs=1)
    with pytest.raises(ValueError, match="x_train has shape"):
        train_ensemble(config, [1], torch.rand(64, 3072), torch.zeros(64, dtype=torch.long))
