"""Benchmark: host work per training step and per ablation grid point, on shapes so small that
the arithmetic is negligible (2 members of 8-8 hidden units, 8 inputs, batch 32).

What is left is what a GPU would wait for between kernels: Python, the dispatcher, autograd,
the optimizer call and the loop's bookkeeping (batch indices, Dropout masks, metrics, the
progress bar). Printed:

- training: microseconds per ``train_ensemble`` step (``l2``: no Dropout; ``dropout``: masks),
  with the compiled (fused) and the eager optimizer, next to the bare step on the same shapes
  (forward, backward, optimizer; no data gathering, metrics or bookkeeping);
- ablation: microseconds per grid point of ``ablation_curve`` (one 256-neuron layer under an
  8-neuron one, 16 test images) and ``whole_network_curve``.

Torch runs on one thread and the figures are CPU time of this thread (``time.thread_time``), so
other jobs on the machine barely change them; each is the median of ``--repeats`` differences
of a long and a short run (setup cancels out).

    python benchmarks/host_overhead.py [--steps 2000] [--repeats 5]
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
import types
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nbutils.ablation import ablation_curve, whole_network_curve  # noqa: E402
from nbutils.config import TrainConfig, make_config  # noqa: E402
from nbutils.ensemble import EnsembleMLP, ensemble_loss  # noqa: E402
from nbutils.train import EnsembleRMSprop, fused_available, train_ensemble  # noqa: E402

WIDTHS = (8, 8, 8, 10)
TINY = types.SimpleNamespace(widths=WIDTHS, hidden=WIDTHS[1:-1], label="8-8-8-10",
                             dataset="synthetic")


@dataclasses.dataclass(frozen=True)
class TinyConfig(TrainConfig):
    """A paper configuration with the tiny architecture in place of its own."""

    @property
    def architecture(self):
        return TINY


def tiny_config(regularizer: str) -> TinyConfig:
    base = make_config("mnist", "relu", regularizer, epochs=1000)
    return TinyConfig(**{f.name: getattr(base, f.name) for f in dataclasses.fields(TrainConfig)})


def cpu_seconds(fn) -> float:
    start = time.thread_time()
    fn()
    return time.thread_time() - start


def per_unit(long_run, short_run, units: int, repeats: int) -> float:
    """Median over repeats of (long - short) / units, in microseconds."""
    long_run(), short_run()  # warm-up (compilation, caches)
    diffs = [cpu_seconds(long_run) - cpu_seconds(short_run) for _ in range(repeats)]
    return 1e6 * statistics.median(diffs) / units


def train_step_us(regularizer: str, fused: bool, steps: int, repeats: int) -> float:
    cfg = tiny_config(regularizer)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(32 * 100, WIDTHS[0], generator=g)
    y = torch.randint(0, WIDTHS[-1], (32 * 100,), generator=g)

    def run(n):
        return lambda: train_ensemble(cfg, [1, 2], x, y, device="cpu", fused=fused, max_steps=n)
    return per_unit(run(steps + 100), run(100), steps, repeats)


def bare_step_us(fused: bool, steps: int, repeats: int) -> float:
    """Forward, backward and optimizer on one fixed batch: nothing else."""
    model = EnsembleMLP(WIDTHS, "relu", 2)
    for w in model.weight_t:
        torch.nn.init.normal_(w, 0.0, 0.3)
    opt = EnsembleRMSprop(model.parameters(), lr=1e-3, momentum=0.01, weight_decay=1e-4,
                          fused=fused)
    xb, yb = torch.rand(2, 32, WIDTHS[0]), torch.randint(0, WIDTHS[-1], (2, 32))

    def run(n):
        def loop():
            for _ in range(n):
                loss = ensemble_loss(model(xb), yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        return loop
    return per_unit(run(steps + 100), run(100), steps, repeats)


def ablation_us(repeats: int) -> tuple[float, float]:
    """Microseconds per grid point: layer 1 (256 neurons) and the whole network (264)."""
    widths = (8, 256, 8, 10)
    model = EnsembleMLP(widths, "relu", 2)
    for w in model.weight_t:
        torch.nn.init.normal_(w, 0.0, 0.3)
    model.eval()
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(16, widths[0], generator=g), torch.randint(0, 10, (16,), generator=g)
    layer_order = torch.stack([torch.randperm(256, generator=g) for _ in range(2)])
    net_order = torch.stack([torch.randperm(264, generator=g) for _ in range(2)])
    layer = per_unit(lambda: ablation_curve(model, x, y, 0, layer_order),
                     lambda: ablation_curve(model, x, y, 0, layer_order, ks=[0]), 256, repeats)
    whole = per_unit(lambda: whole_network_curve(model, x, y, net_order),
                     lambda: whole_network_curve(model, x, y, net_order, ks=[0]), 264, repeats)
    return layer, whole


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    if args.steps <= 0 or args.repeats <= 0:
        ap.error("--steps and --repeats must be positive integers")
    torch.set_num_threads(1)
    fused = fused_available()
    print(f"torch {torch.__version__}, 1 thread, CPU time of this thread; 2 members "
          f"{'-'.join(map(str, WIDTHS))}, batch 32, {args.steps} steps, median of "
          f"{args.repeats}; compiled optimizer {'available' if fused else 'UNAVAILABLE'}")
    for opt_fused in ([True, False] if fused else [False]):
        name = "compiled" if opt_fused else "eager"
        bare = bare_step_us(opt_fused, args.steps, args.repeats)
        print(f"training step, {name} optimizer: bare step (forward, backward, update) "
              f"{bare:6.0f} us")
        for reg in ("l2", "dropout"):
            full = train_step_us(reg, opt_fused, args.steps, args.repeats)
            print(f"  train_ensemble, {reg:>7}: {full:6.0f} us per step; bookkeeping "
                  f"{full - bare:+6.0f} us ({full / bare:.2f}x the bare step)")
    layer, whole = ablation_us(args.repeats)
    print(f"ablation: {layer:6.1f} us per grid point (layer 1 of 8-256-8-10, 16 images); "
          f"whole network {whole:6.1f} us per grid point")


if __name__ == "__main__":
    main()
