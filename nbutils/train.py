"""Training an ensemble: every member on its own sample order and Dropout masks, in one model.

Member ``i`` (seed ``s``) draws its epoch permutations and its Dropout masks from two
``torch.Generator`` streams on the CPU seeded from ``s``; they do not depend on the other members
or on the device, so a network trained alone (``M = 1``) or inside an ensemble of 50 is the same
network, and so is the ordinary ``torch.nn`` MLP trained with the same streams (tested).
The optimizer is the paper's RMSprop (lr 1e-3, momentum 0.01 or 0.1, claim S3) or Adam for the
pruning net, applied elementwise to the stacked parameters, which is the same as applying it to
each member separately.
"""
from __future__ import annotations

import hashlib
import logging
import os
import time
import weakref
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import torch
from torch import Tensor

from . import checks
from .config import TrainConfig
from .ensemble import EnsembleMLP
from .steps import GraphStep, TrainStep

log = logging.getLogger(__name__)

MASK_CHUNK_STEPS = 64  # Dropout masks are drawn for this many steps at a time
PROGRESS_EVERY = 50    # the progress bar is updated every this many steps
POSTFIX_EVERY = 200    # and shows the running loss and accuracy every this many


def derive_seed(seed: int, stream: str) -> int:
    """An independent 63-bit seed for one random stream ("order", "dropout", ...) of a network."""
    digest = hashlib.sha256(f"{seed}:{stream}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def epoch_order(generator: torch.Generator, n: int) -> Tensor:
    """The sample order of one epoch (a permutation of ``range(n)``)."""
    return torch.randperm(n, generator=generator)


class DropoutMaskStream:
    """The Dropout masks of one network, step after step, drawn from its own generator.

    Each step yields one mask per hidden layer of shape ``(batch, n_l)``, already scaled by
    ``1/(1-p)`` as ``torch.nn.Dropout`` does. Masks are drawn in chunks of
    ``MASK_CHUNK_STEPS`` steps for speed; a short last batch uses the first rows of its mask.
    """

    def __init__(self, seed: int, batch_size: int, widths: Sequence[int],
                 probs: Sequence[float]):
        self.generator = torch.Generator().manual_seed(derive_seed(seed, "dropout"))
        self.batch_size = batch_size
        self.widths = tuple(widths)
        self.probs = tuple(probs)
        self._chunk: list[Tensor] = []
        self._pos = MASK_CHUNK_STEPS

    def next_keep(self) -> list[Tensor]:
        """Which units the next ``MASK_CHUNK_STEPS`` steps keep: per layer a boolean
        ``(steps, batch, n_l)`` (the draw of :meth:`next_chunk`, before scaling)."""
        return [torch.rand((MASK_CHUNK_STEPS, self.batch_size, n), generator=self.generator) >= p
                for n, p in zip(self.widths, self.probs)]

    def next_chunk(self) -> list[Tensor]:
        """Masks for the next ``MASK_CHUNK_STEPS`` steps: per layer ``(steps, batch, n_l)``."""
        return [scale_keep(keep, p) for keep, p in zip(self.next_keep(), self.probs)]

    def __next__(self) -> list[Tensor]:
        if self._pos == MASK_CHUNK_STEPS:
            self._chunk, self._pos = self.next_chunk(), 0
        masks = [c[self._pos] for c in self._chunk]
        self._pos += 1
        return masks


def scale_keep(keep: Tensor, p: float) -> Tensor:
    """A Dropout mask from the units kept: ``1/(1-p)`` where kept, else 0 (exact in any dtype
    and on any device: one multiplication of 1.0)."""
    return keep.to(torch.get_default_dtype()).mul_(1.0 / (1.0 - p))


class _EnsembleMasks:
    """Dropout masks of all members, stacked chunk-wise and moved to the device once per chunk.

    Each member's stream is drawn on the CPU from its own generator (so the masks do not depend
    on the device or on the other members). On a CUDA device, where drawing them would
    otherwise dominate the step (68 s of 50 MNIST networks' training on an H200 was mask
    drawing), the members are drawn in parallel threads (``torch.rand`` releases the GIL; each
    generator is used by one thread at a time, so the draws are the same as drawn one after the
    other), the next chunk is drawn while the device trains on the current one, and the masks
    travel as booleans (a quarter of the bytes) and are scaled on the device. The masks are
    bit-identical to :class:`DropoutMaskStream`'s in every mode (tested).
    """

    def __init__(self, streams: list[DropoutMaskStream], device: torch.device,
                 threads: int | None = None):
        self.streams, self.device = streams, torch.device(device)
        self._chunk: list[Tensor] = []
        self._pos = MASK_CHUNK_STEPS
        if threads is None:
            threads = min(len(streams), os.cpu_count() or 1) if self.device.type == "cuda" else 0
        self._pool = ThreadPoolExecutor(threads) if threads > 0 else None
        self._next: Future | None = None
        if self._pool is not None:   # also when training stops on an exception
            weakref.finalize(self, self._pool.shutdown, wait=False)

    def _draw(self) -> list[Tensor]:
        """The next chunk of every member, per layer a boolean ``(steps, M, B, n)`` on the CPU."""
        if self._pool is None:
            per_member = [s.next_keep() for s in self.streams]
        else:
            per_member = list(self._pool.map(DropoutMaskStream.next_keep, self.streams))
        return [torch.stack([m[l] for m in per_member], dim=1)
                for l in range(len(per_member[0]))]

    def _to_device(self, keep: list[Tensor]) -> list[Tensor]:
        probs = self.streams[0].probs
        if self.device.type == "cuda":
            keep = [k.pin_memory().to(self.device, non_blocking=True) for k in keep]
        return [scale_keep(k.to(self.device), p) for k, p in zip(keep, probs)]

    def next(self, batch: int) -> list[Tensor]:
        if self._pos == MASK_CHUNK_STEPS:
            keep = self._next.result() if self._next is not None else self._draw()
            if self._pool is not None:   # draw the following chunk while this one is used
                self._next = self._pool.submit(self._draw)
            self._chunk = self._to_device(keep)   # (steps, M, B, n)
            self._pos = 0
        masks = [c[self._pos, :, :batch] for c in self._chunk]
        self._pos += 1
        return masks

    def close(self) -> None:
        """Stop the drawing threads (a chunk drawn ahead is dropped)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool, self._next = None, None


# ------------------------------------------------------------------------------- optimizers
def _rmsprop_step(params: list[Tensor], grads: list[Tensor], square_avgs: list[Tensor],
                  bufs: list[Tensor], lr: float, alpha: float, eps: float, momentum: float,
                  weight_decay: float) -> None:
    """One RMSprop step, the arithmetic of ``torch.optim.RMSprop`` (centered=False), in one pass
    per tensor when compiled."""
    for p, g, sq, buf in zip(params, grads, square_avgs, bufs):
        g = g + weight_decay * p
        new_sq = sq * alpha + (1 - alpha) * g * g
        new_buf = buf * momentum + g / (new_sq.sqrt() + eps)
        sq.copy_(new_sq)
        buf.copy_(new_buf)
        p.copy_(p - lr * new_buf)


def _rmsprop_foreach(params: list[Tensor], grads: list[Tensor], square_avgs: list[Tensor],
                     bufs: list[Tensor], lr: float, alpha: float, eps: float, momentum: float,
                     weight_decay: float) -> None:
    """:func:`_rmsprop_step` op for op (the same roundings), each op one multi-tensor call
    (``torch._foreach_*``) over all tensors: one launch per op on a GPU, not one per tensor."""
    g = torch._foreach_add(grads, torch._foreach_mul(params, weight_decay))
    g2 = torch._foreach_mul(g, 1 - alpha)
    torch._foreach_mul_(g2, g)
    torch._foreach_mul_(square_avgs, alpha)
    torch._foreach_add_(square_avgs, g2)
    denom = torch._foreach_sqrt(square_avgs)
    torch._foreach_add_(denom, eps)
    torch._foreach_mul_(bufs, momentum)
    torch._foreach_add_(bufs, torch._foreach_div(g, denom))
    torch._foreach_sub_(params, torch._foreach_mul(bufs, lr))


_COMPILED_RMSPROP = None


def _compiled_rmsprop():
    global _COMPILED_RMSPROP
    if _COMPILED_RMSPROP is None:
        logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
        _COMPILED_RMSPROP = torch.compile(_rmsprop_step, dynamic=False, fullgraph=True)
    return _COMPILED_RMSPROP


class EnsembleRMSprop(torch.optim.Optimizer):
    """RMSprop with the semantics of ``torch.optim.RMSprop`` (alpha 0.99, eps 1e-8), fused.

    ``fused=True`` runs the update as one compiled function over all tensors, one elementwise
    pass per tensor (reads p, g and the two state tensors once; a Triton kernel on a GPU), which
    is several times faster than the stock implementation where memory bandwidth limits the
    update; ``fused=False`` runs the same arithmetic as eager multi-tensor ops
    (:func:`_rmsprop_foreach`). Either way one call updates every tensor.
    """

    def __init__(self, params, lr: float, momentum: float, weight_decay: float = 0.0,
                 alpha: float = 0.99, eps: float = 1e-8, fused: bool = True):
        defaults = dict(lr=lr, momentum=momentum, weight_decay=weight_decay, alpha=alpha,
                        eps=eps)
        super().__init__(params, defaults)
        self.fused = fused

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            ps = [p for p in group["params"] if p.grad is not None]
            for p in ps:
                st = self.state[p]
                if not st:
                    st["square_avg"] = torch.zeros_like(p)
                    st["momentum_buffer"] = torch.zeros_like(p)
            args = (ps, [p.grad for p in ps], [self.state[p]["square_avg"] for p in ps],
                    [self.state[p]["momentum_buffer"] for p in ps], group["lr"], group["alpha"],
                    group["eps"], group["momentum"], group["weight_decay"])
            (_compiled_rmsprop() if self.fused else _rmsprop_foreach)(*args)


def make_optimizer(model: EnsembleMLP, config: TrainConfig, fused: bool) -> torch.optim.Optimizer:
    """The paper's optimizer for ``config`` over the stacked parameters."""
    if config.optimizer == "rmsprop":
        return EnsembleRMSprop(model.parameters(), lr=config.lr, momentum=config.momentum,
                               weight_decay=config.weight_decay, fused=fused)
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.lr,
                                weight_decay=config.weight_decay)
    raise ValueError(f"optimizer={config.optimizer!r}; allowed: 'rmsprop', 'adam'")


def fused_available(device: str | torch.device = "cpu") -> bool:
    """Whether ``torch.compile`` can build the fused optimizer step on ``device`` (a C++
    compiler for the CPU, Triton for a CUDA device)."""
    try:
        p = torch.zeros(4, device=device)
        _compiled_rmsprop()([p], [torch.ones_like(p)], [torch.zeros_like(p)],
                            [torch.zeros_like(p)], 1e-3, 0.99, 1e-8, 0.0, 0.0)
        return True
    except Exception as err:  # noqa: BLE001 - any compile failure means: use eager ops
        log.info("fused optimizer unavailable on %s (%s); using eager ops", device, err)
        return False


# ------------------------------------------------------------------------- number of epochs
class EpochSelector:
    """Early stopping on the ensemble's mean validation accuracy (the rule of
    :mod:`nbutils.config`): only epochs ``>= min_epochs`` can be chosen; an epoch improves when
    its score beats the best so far by at least ``min_delta``; training stops ``patience``
    epochs after the last improvement or at ``max_epochs``."""

    def __init__(self, min_epochs: int, max_epochs: int, patience: int, min_delta: float):
        self.min_epochs = checks.positive_int(min_epochs, "min_epochs")
        self.max_epochs = checks.positive_int(max_epochs, "max_epochs")
        if self.min_epochs > self.max_epochs:
            raise checks.fail("min_epochs", min_epochs, f"at most max_epochs={max_epochs}")
        self.patience = checks.positive_int(patience, "patience")
        if not min_delta >= 0:
            raise checks.fail("min_delta", min_delta, "a number >= 0")
        self.min_delta = float(min_delta)
        self.best_epoch: int | None = None
        self.best_score = float("-inf")

    def update(self, epoch: int, score: float) -> bool:
        """Record the score after ``epoch`` (1-based); True when this epoch is the new choice."""
        if epoch < self.min_epochs:
            return False
        if self.best_epoch is None or score >= self.best_score + self.min_delta:
            self.best_epoch, self.best_score = epoch, float(score)
            return True
        return False

    def stop(self, epoch: int) -> bool:
        """Whether training ends after ``epoch``."""
        return epoch >= self.max_epochs or (
            self.best_epoch is not None and epoch - self.best_epoch >= self.patience)


def select_epoch(scores: Sequence[float], min_epochs: int, max_epochs: int, patience: int,
                 min_delta: float) -> tuple[int, int]:
    """Replay the rule of :class:`EpochSelector` on a recorded curve.

    Args:
        scores: mean validation accuracy after epochs ``1, 2, ...``.
        min_epochs: the first epoch that can be chosen.
        max_epochs: the last epoch that may be trained.
        patience: epochs without improvement before stopping.
        min_delta: the smallest gain that counts as an improvement.

    Returns:
        ``(chosen epoch, last epoch trained)``, both 1-based.

    Raises:
        ValueError: the curve ends before the rule stops.
    """
    selector = EpochSelector(min_epochs, max_epochs, patience, min_delta)
    for epoch, score in enumerate(scores, start=1):
        selector.update(epoch, score)
        if selector.stop(epoch):
            return selector.best_epoch, epoch
    raise ValueError(f"scores: a curve of {len(scores)} epochs ends before the rule stops "
                     f"(min_epochs={min_epochs}, patience={patience}, max_epochs={max_epochs})")


# ---------------------------------------------------------------------------------- training
@dataclass
class TrainHistory:
    """Per-epoch statistics of an ensemble (lists over epochs of per-member values).

    ``chosen_epoch`` is the number of epochs whose weights the model keeps (the last epoch
    trained unless the configuration chooses its epochs by validation).
    """

    train_loss: list[list[float]] = field(default_factory=list)
    train_acc: list[list[float]] = field(default_factory=list)
    val_acc: list[list[float]] = field(default_factory=list)
    seconds: float = 0.0
    chosen_epoch: int = 0
    step_mode: str = "eager"  # how full batches ran: "eager", "cuda graph", ... (not stored)

    def as_dict(self) -> dict:
        return {"train_loss": self.train_loss, "train_acc": self.train_acc,
                "val_acc": self.val_acc, "seconds": self.seconds,
                "chosen_epoch": self.chosen_epoch}


def batches(order: Tensor, batch: int) -> list[Tensor]:
    """The batches of one epoch: ``(M, batch)`` index tensors from the per-member sample order
    ``order`` ``(M, n)``, the last one shorter when ``batch`` does not divide ``n``. The full
    batches are contiguous rows of one copy of ``order`` made here (a step then needs no
    copy of its own)."""
    M, n = order.shape
    full = n // batch
    head = order[:, :full * batch].reshape(M, full, batch).transpose(0, 1).contiguous()
    out = list(head.unbind(0))
    if n > full * batch:
        out.append(order[:, full * batch:])
    return out


class _Progress:
    """The progress bar, updated every :data:`PROGRESS_EVERY` steps; the running loss and
    accuracy (a device read) every :data:`POSTFIX_EVERY` steps, only when it is shown."""

    def __init__(self, total: int, show: bool, name: str):
        from tqdm import tqdm

        self.show, self.pending, self.count = show, 0, 0
        self.bar = tqdm(total=total, disable=not show, desc=name, unit="step", mininterval=2.0)

    def step(self, epoch: int, step: TrainStep, seen: int) -> None:
        self.pending += 1
        self.count += 1
        if self.pending == PROGRESS_EVERY:
            self.bar.update(self.pending)
            self.pending = 0
        if self.show and self.count % POSTFIX_EVERY == 0:
            self.bar.set_postfix(epoch=epoch + 1,
                                 loss=f"{(step.loss_sum / seen).mean().item():.3f}",
                                 acc=f"{(step.correct / seen).mean().item():.3f}", refresh=False)

    def close(self) -> None:
        self.bar.update(self.pending)
        self.bar.close()


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``None``/"auto": CUDA when available, else the CPU; otherwise the named device, checked."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device={device!r} is not a device; use 'auto', 'cpu', 'cuda' or "
                         f"'cuda:N'") from err
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r}: CUDA is not available on this machine; "
                             f"use 'auto' or 'cpu'")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device={device!r}: only {torch.cuda.device_count()} CUDA "
                             f"device(s) here")
    elif dev.type != "cpu":
        raise ValueError(f"device={device!r} is not supported; use 'auto', 'cpu' or 'cuda[:N]'")
    return dev


def train_ensemble(config: TrainConfig, seeds: Sequence[int], x_train: Tensor, y_train: Tensor,
                   x_val: Tensor | None = None, y_val: Tensor | None = None, *,
                   device: str | torch.device | None = None, fused: bool | None = None,
                   progress: bool = False, max_steps: int | None = None,
                   dtype: torch.dtype = torch.float32,
                   graph: bool | None = None) -> tuple[EnsembleMLP, TrainHistory]:
    """Train one network per seed under ``config`` as one :class:`EnsembleMLP`.

    ``x_train`` ``(N, d)`` and ``y_train`` ``(N,)`` should already be on ``device``. Returns the
    trained ensemble (eval mode) and its per-epoch history (validation accuracy when ``x_val`` is
    given). ``max_steps`` stops early (tests and benchmarks); ``dtype=torch.float64`` trains in
    double precision (the equivalence tests use it to compare with a tight tolerance).

    Args:
        config: the training configuration (architecture, activation, regularizer, optimizer,
            epochs, batch size, Dropout).
        seeds: positive integer seeds, one per member: member ``i`` is the network of seed
            ``seeds[i]``; ``M = len(seeds)``.
        x_train: float training inputs ``(N, d)``, ``d`` the architecture's input width.
        y_train: integer training labels ``(N,)`` in ``0..C-1``.
        x_val: validation inputs ``(N_val, d)``; default ``None``: no validation accuracy.
        y_val: validation labels ``(N_val,)``; needed together with ``x_val``.
        device: ``"auto"`` or ``None`` (default; CUDA when available), ``"cpu"`` or
            ``"cuda[:N]"``.
        fused: run the RMSprop step as one compiled kernel per tensor (ignored for Adam);
            default ``None``: when ``torch.compile`` works on ``device``
            (:func:`fused_available`).
        progress: show a progress bar; default ``False``.
        max_steps: stop after this many optimizer steps in all (no choice of epochs);
            default ``None``: ``config.epochs`` full epochs, or, when the configuration
            chooses its epochs by validation, until :class:`EpochSelector` stops (the model
            keeps the weights of the chosen epoch).
        dtype: dtype of parameters and inputs; default ``torch.float32``.
        graph: run full batches from static buffers (:class:`~nbutils.steps.GraphStep`),
            captured once in a CUDA graph on a CUDA device (RMSprop only; a failed capture
            falls back to the eager step, logged); on the CPU ``True`` runs the same
            static-buffer step without a graph (tests). Default ``None``: on CUDA devices.

    Returns:
        ``(model, history)``: the trained :class:`EnsembleMLP` of ``M`` members on ``device``
        in eval mode, and its :class:`TrainHistory`: ``train_loss``, ``train_acc`` and
        ``val_acc`` (empty without validation data) as lists ``(epochs trained, M)``,
        ``seconds`` and ``chosen_epoch``.

    Raises:
        ValueError: ``seeds`` empty or not positive integers, ``x_train`` not ``(N, d)``, an
            unknown or unavailable ``device``, or no validation data for a configuration that
            chooses its epochs by validation.
    """
    dev = resolve_device(device)
    seeds = list(seeds)
    if not seeds or not all(checks.is_int(s) and s > 0 for s in seeds):
        raise checks.fail("seeds", seeds, "a non-empty list of positive integers")
    widths = config.architecture.widths
    if x_train.dim() != 2 or x_train.shape[1] != widths[0]:
        raise ValueError(f"x_train has shape {tuple(x_train.shape)}; architecture "
                         f"{config.architecture.label} needs (n, {widths[0]})")
    x_train, y_train = x_train.to(dev, dtype), y_train.to(dev)
    model = EnsembleMLP.from_config(config, seeds).to(dev, dtype).train()
    if fused is None:
        fused = config.optimizer == "rmsprop" and fused_available(dev)
    opt = make_optimizer(model, config, fused=fused and config.optimizer == "rmsprop")
    n, B, M = x_train.shape[0], config.batch_size, len(seeds)
    steps_per_epoch = -(-n // B)
    order_gens = [torch.Generator().manual_seed(derive_seed(s, "order")) for s in seeds]
    masks = (_EnsembleMasks([DropoutMaskStream(s, B, config.architecture.hidden, config.dropout)
                             for s in seeds], dev) if config.dropout else None)
    selector = None
    if config.chooses_epochs and max_steps is None:
        if x_val is None or y_val is None:
            raise ValueError(f"config {config.name} chooses its epochs by validation "
                             f"({config.epochs_label}): pass x_val and y_val")
        selector = EpochSelector(config.min_epochs, config.epochs, config.patience,
                                 config.min_delta)
    best_state: dict[str, Tensor] | None = None
    history = TrainHistory()
    total = steps_per_epoch * config.epochs if max_steps is None else max_steps
    bar = _Progress(total, progress, config.name)
    step_fn = TrainStep(model, opt, x_train, y_train)
    if graph is None:
        graph = dev.type == "cuda"
    full = (GraphStep(step_fn, B, config.architecture.hidden if config.dropout else (),
                      capture=dev.type == "cuda")
            if graph and isinstance(opt, EnsembleRMSprop) else None)
    start, step = time.perf_counter(), 0
    for epoch in range(config.epochs):
        order = torch.stack([epoch_order(g, n) for g in order_gens]).to(dev)  # (M, n)
        step_fn.reset_metrics()
        seen = 0
        for idx in batches(order, B):
            if max_steps is not None and step >= max_steps:
                break
            b = idx.shape[1]
            batch_masks = masks.next(b) if masks else None
            (full if full is not None and b == B else step_fn)(idx, batch_masks)
            seen += b
            step += 1
            bar.step(epoch, step_fn, seen)
        history.train_loss.append((step_fn.loss_sum / max(seen, 1)).tolist())
        history.train_acc.append((step_fn.correct / max(seen, 1)).tolist())
        if x_val is not None and y_val is not None:
            history.val_acc.append(model.accuracy(x_val.to(dev, dtype), y_val.to(dev)).tolist())
            model.train()
        history.chosen_epoch = epoch + 1
        if selector is not None:
            if selector.update(epoch + 1, sum(history.val_acc[-1]) / M):
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            if selector.stop(epoch + 1):
                break
        if max_steps is not None and step >= max_steps:
            break
    bar.close()
    if masks is not None:
        masks.close()
    if selector is not None and best_state is not None:
        model.load_state_dict(best_state)
        history.chosen_epoch = selector.best_epoch
    history.seconds = time.perf_counter() - start
    history.step_mode = full.mode if full is not None else "eager"
    step_fn.close()
    return model.eval(), history
