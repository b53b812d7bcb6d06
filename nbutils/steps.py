"""The training step of an ensemble: eager, or captured once in a CUDA graph and replayed.

:class:`TrainStep` is one optimizer step on a batch named by its indices into the training set
(one row per member). It keeps each member's summed loss and number of correct predictions on
the device, read once per epoch, and lets the backward write the weight gradients into buffers
that live as long as the step (:class:`~nbutils.ensemble.BatchedAffine`), so that a wide layer
does not get fresh memory, page by page, in every step.

:class:`GraphStep` runs the same step on static buffers (the batch indices and the Dropout masks
are copied into them). On a CUDA device the step is captured once in a CUDA graph after a few
eager warm-up steps and replayed, one launch per step instead of about a hundred; any exception
while capturing is logged and the step stays eager. On the CPU no graph is captured: the same
static-buffer step runs eagerly, which is what the CPU tests check.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
from torch import Tensor

from .ensemble import EnsembleMLP, ensemble_loss

log = logging.getLogger(__name__)

WARMUP_STEPS = 3  # eager steps (on a side stream) before the CUDA graph is captured


class TrainStep:
    """One training step of ``model`` on rows of ``x``/``y`` (see the module docstring).

    Call :meth:`close` when training ends: it gives the gradient buffers back.
    """

    def __init__(self, model: EnsembleMLP, opt: torch.optim.Optimizer, x: Tensor, y: Tensor):
        self.model, self.opt, self.x, self.y = model, opt, x, y
        self.loss_sum = torch.zeros(model.n_members, device=x.device)
        self.correct = torch.zeros(model.n_members, device=x.device)
        for w in model.weight_t:
            w.grad = torch.zeros_like(w)
        model.weight_grad_out = [w.grad for w in model.weight_t]
        buffered = {id(w) for w in model.weight_t}
        # biases and batch-norm parameters: small, new gradient tensors in every step
        self.fresh = [p for p in model.parameters() if id(p) not in buffered]

    def reset_metrics(self) -> None:
        """Zero the per-member loss sum and count of correct predictions (in place)."""
        self.loss_sum.zero_()
        self.correct.zero_()

    def __call__(self, idx: Tensor, masks: Sequence[Tensor] | None) -> None:
        """The step on the batch ``idx`` ``(M, b)`` with Dropout ``masks`` (or ``None``)."""
        M, b = idx.shape
        flat = idx.reshape(-1)
        xb = self.x.index_select(0, flat).view(M, b, -1)
        yb = self.y.index_select(0, flat).view(M, b)
        logits = self.model(xb, masks)
        per_sample = ensemble_loss(logits, yb, reduction="none")
        for p in self.fresh:
            p.grad = None  # autograd then stores fresh gradients: no copy
        per_sample.mean(dim=1).sum().backward()
        self.opt.step()
        with torch.no_grad():
            self.loss_sum += per_sample.detach().sum(1)
            self.correct += (logits.argmax(-1) == yb).sum(1)

    def close(self) -> None:
        """Stop writing into the gradient buffers and drop every gradient."""
        self.model.weight_grad_out = None
        self.opt.zero_grad(set_to_none=True)


class GraphStep:
    """``step`` on full batches of ``batch`` samples from static buffers (module docstring).

    Args:
        step: the eager step.
        batch: the batch size (the graph is captured for full batches only).
        mask_widths: the widths of the Dropout masks per hidden layer; ``()``: no Dropout.
        capture: capture a CUDA graph (the step's tensors must be on a CUDA device); ``False``:
            run the static-buffer step eagerly.
    """

    def __init__(self, step: TrainStep, batch: int, mask_widths: Sequence[int], capture: bool):
        dev, dtype = step.x.device, step.model.weight_t[0].dtype
        M = step.model.n_members
        self.step = step
        self.idx = torch.zeros(M, batch, dtype=torch.long, device=dev)
        self.masks = [torch.zeros(M, batch, n, dtype=dtype, device=dev)
                      for n in mask_widths] or None
        self.capture = capture
        self.graph: torch.cuda.CUDAGraph | None = None
        self.stream: torch.cuda.Stream | None = None  # the side stream, made when needed
        self.warmup = WARMUP_STEPS
        self.mode = "static buffers, no graph" if not capture else "eager warm-up"

    def load(self, idx: Tensor, masks: Sequence[Tensor] | None) -> None:
        """Copy a batch's indices and masks into the static buffers."""
        self.idx.copy_(idx)
        for dst, src in zip(self.masks or (), masks or ()):
            dst.copy_(src)

    def __call__(self, idx: Tensor, masks: Sequence[Tensor] | None) -> None:
        self.load(idx, masks)
        if self.graph is not None:
            self.graph.replay()
        elif not self.capture:
            self.step(self.idx, self.masks)
        elif self.warmup > 0:
            self.warmup -= 1
            self._on_side_stream()
        else:
            self._capture()

    def _side_stream(self) -> torch.cuda.Stream:
        if self.stream is None:
            self.stream = torch.cuda.Stream(self.idx.device)
        return self.stream

    def _on_side_stream(self) -> None:
        """One eager step on the side stream (CUDA graphs need their warm-up there)."""
        main, side = torch.cuda.current_stream(self.idx.device), self._side_stream()
        side.wait_stream(main)
        with torch.cuda.stream(side):
            self.step(self.idx, self.masks)
        main.wait_stream(side)

    def _capture(self) -> None:
        """Capture the step and replay it for the current batch; on failure: log, stay eager.

        Capturing runs no kernel, so a failed capture changed nothing the eager step reads
        (gradients it may have left are dropped by the step)."""
        try:
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, stream=self._side_stream()):
                self.step(self.idx, self.masks)
            graph.replay()  # this batch's step: the capture only recorded it
        except Exception as err:  # noqa: BLE001 - any failure: the eager step is always right
            log.warning("CUDA graph capture of the training step failed (%s: %s); training "
                        "goes on eagerly", type(err).__name__, err)
            self.capture, self.mode = False, f"eager (graph capture failed: {type(err).__name__})"
            self.step(self.idx, self.masks)
            return
        self.graph, self.mode = graph, "cuda graph"
