"""The training step: static buffers and CUDA graphs, gradient buffers, the multi-tensor
optimizer, the epoch's batches and the progress bar."""
import logging

import pytest
import torch

from nbutils.config import make_config
from nbutils.ensemble import BatchedAffine, EnsembleMLP
from nbutils.steps import GraphStep, TrainStep
from nbutils.train import (
    DropoutMaskStream,
    EnsembleRMSprop,
    _EnsembleMasks,
    _rmsprop_foreach,
    _rmsprop_step,
    batches,
    derive_seed,
    epoch_order,
    fused_available,
    train_ensemble,
)

CUDA = torch.cuda.is_available()


def _data(n=330, d=784, seed=0):
    """A learnable task of ``n`` samples; 330 is not a multiple of the batch size 32."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 10, (n,), generator=g)
    x = (torch.rand(10, d, generator=g)[y] + 0.5 * torch.rand(n, d, generator=g)).clamp(0, 1)
    return x, y


def _train(regularizer="bn_dropout", **kwargs):
    config = make_config("fashionmnist_small", "relu", regularizer, epochs=2)
    x, y = _data()
    kwargs.setdefault("fused", False)
    return train_ensemble(config, [1, 2], x, y, x[:64], y[:64], **kwargs)


def _assert_same(a, b, exact=True):
    (ma, ha), (mb, hb) = a, b
    for (name, p), q in zip(ma.state_dict().items(), mb.state_dict().values()):
        if exact:
            assert torch.equal(p.cpu(), q.cpu()), name
        else:
            torch.testing.assert_close(p.cpu(), q.cpu(), rtol=1e-4, atol=1e-6, msg=name)
    if exact:
        assert (ha.train_loss, ha.train_acc, ha.val_acc) == (hb.train_loss, hb.train_acc,
                                                            hb.val_acc)


def test_static_buffer_step_equals_eager_step():
    """Full batches through the static buffers (indices and Dropout masks copied in), the
    short last batch of each epoch eagerly: the same networks and histories, bit for bit."""
    eager = _train(device="cpu", graph=False)
    static = _train(device="cpu", graph=True)
    assert eager[1].step_mode == "eager"
    assert static[1].step_mode == "static buffers, no graph"
    _assert_same(eager, static)


def test_failed_capture_falls_back_to_the_eager_step(monkeypatch, caplog):
    """Capture raising (here: no CUDA graph at all) is logged, that step runs eagerly, and so
    does every later one: the result is the eager path's."""
    config = make_config("fashionmnist_small", "relu", "dropout", epochs=1)
    x, y = _data()
    reference = train_ensemble(config, [3], x, y, device="cpu", fused=False, graph=False)
    model = EnsembleMLP.from_config(config, [3]).train()
    opt = EnsembleRMSprop(model.parameters(), lr=config.lr, momentum=config.momentum,
                          fused=False)
    step = TrainStep(model, opt, x, y)
    full = GraphStep(step, 32, config.architecture.hidden, capture=True)
    full.warmup = 0

    def broken():
        raise RuntimeError("capture is not possible here")
    monkeypatch.setattr(torch.cuda, "CUDAGraph", broken)
    masks = _EnsembleMasks([DropoutMaskStream(3, 32, config.architecture.hidden,
                                              config.dropout)], torch.device("cpu"))
    order = epoch_order(torch.Generator().manual_seed(derive_seed(3, "order")), x.shape[0])[None]
    with caplog.at_level(logging.WARNING, logger="nbutils.steps"):
        for idx in batches(order, 32):
            m = masks.next(idx.shape[1])
            (full if idx.shape[1] == 32 else step)(idx, m)
    step.close()
    assert "capture of the training step failed" in caplog.text
    assert full.mode.startswith("eager (graph capture failed") and full.graph is None
    for p, q in zip(model.state_dict().values(), reference[0].state_dict().values()):
        assert torch.equal(p, q)


def test_gradient_buffers_are_written_in_place_and_given_back():
    g = torch.Generator().manual_seed(0)
    h = torch.rand(3, 5, 4, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 2, 4, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, 1, 2, generator=g, dtype=torch.float64, requires_grad=True)
    upstream = torch.randn(3, 5, 2, generator=g, dtype=torch.float64)
    expected = torch.autograd.grad(BatchedAffine.apply(h, w, b), (h, w, b), upstream)
    buffer = torch.full_like(w, 7.0)
    w.grad = buffer
    BatchedAffine.apply(h, w, b, buffer).backward(upstream)
    assert w.grad is buffer                        # overwritten, not accumulated
    assert torch.equal(buffer, expected[1])
    assert torch.equal(h.grad, expected[0]) and torch.equal(b.grad, expected[2])
    model, _ = _train(regularizer="l2", device="cpu")
    assert model.weight_grad_out is None
    assert all(p.grad is None for p in model.parameters())


def test_multi_tensor_rmsprop_is_the_per_tensor_arithmetic():
    g = torch.Generator().manual_seed(1)
    shapes = [(3, 7, 5), (3, 1, 7), (2, 4)]

    def state():
        return [[torch.randn(s, generator=g) for s in shapes] for _ in range(2)]
    params = [torch.randn(s, generator=g) for s in shapes]
    p1, p2 = [p.clone() for p in params], [p.clone() for p in params]
    s1 = [[t.abs() for t in ts] for ts in state()]
    s2 = [[t.clone() for t in ts] for ts in s1]
    for _ in range(4):
        grads = [torch.randn(s, generator=g) for s in shapes]
        _rmsprop_step(p1, grads, *s1, 1e-3, 0.99, 1e-8, 0.1, 1e-4)
        _rmsprop_foreach(p2, grads, *s2, 1e-3, 0.99, 1e-8, 0.1, 1e-4)
    for a, b in zip(p1 + s1[0] + s1[1], p2 + s2[0] + s2[1]):
        assert torch.equal(a, b)


def test_batches_split_the_epoch_order():
    order = torch.stack([torch.randperm(70), torch.randperm(70)])
    parts = batches(order, 32)
    assert [tuple(p.shape) for p in parts] == [(2, 32), (2, 32), (2, 6)]
    assert all(p.is_contiguous() for p in parts[:2])
    assert torch.equal(torch.cat(parts, dim=1), order)
    assert [tuple(p.shape) for p in batches(order[:, :64], 32)] == [(2, 32), (2, 32)]


def test_progress_bar_counts_every_step(capsys):
    config = make_config("fashionmnist_small", "relu", "none", epochs=2)
    x, y = _data(n=320)
    _, hist = train_ensemble(config, [1], x, y, device="cpu", fused=False, progress=True,
                             max_steps=17)
    assert "17/17" in capsys.readouterr().err


@pytest.mark.skipif(not CUDA, reason="needs a CUDA device")
@pytest.mark.parametrize("fused", [False, True], ids=["foreach", "compiled"])
def test_cuda_graph_step_equals_eager_step_up_to_rounding(fused):
    if fused and not fused_available("cuda"):
        pytest.skip("torch.compile cannot build the optimizer for CUDA here (no Triton)")
    eager = _train(device="cuda", graph=False, fused=fused)
    graphed = _train(device="cuda", graph=True, fused=fused)
    assert graphed[1].step_mode == "cuda graph"
    _assert_same(eager, graphed, exact=False)


def test_masks_drawn_in_threads_and_ahead_are_the_streams_masks():
    """The GPU's way of drawing Dropout masks (members in parallel threads, the next chunk
    drawn ahead, booleans scaled after the copy) gives exactly the masks of the members'
    streams drawn one after the other, across chunk boundaries and for a short last batch."""
    widths, probs = (7, 5), (0.5, 0.2)
    seeds = [3, 4, 5]

    def streams():
        return [DropoutMaskStream(s, 4, widths, probs) for s in seeds]
    plain = _EnsembleMasks(streams(), torch.device("cpu"), threads=0)
    ahead = _EnsembleMasks(streams(), torch.device("cpu"), threads=2)
    reference = streams()
    for step in range(2 * 64 + 3):
        batch = 4 if step % 10 else 3
        a, b = plain.next(batch), ahead.next(batch)
        singles = [next(r) for r in reference]   # each member's masks of this step
        for l in range(2):
            expected = torch.stack([m[l][:batch] for m in singles])
            assert torch.equal(a[l], expected) and torch.equal(b[l], expected)
    ahead.close()
    assert ahead._pool is None
