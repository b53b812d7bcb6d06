"""Benchmark: layer-wise ablation of the Funnel CIFAR-10 net's first hidden layer (1000 neurons)
on a k grid, the incremental engine against the naive mask-and-forward loop on the same grid.

The Funnel net 3072-1000-750-500-250-10 (ReLU, L2) of the paper's Fig. 5; ``--nets`` members,
trained for ``--steps`` RMSprop steps on CIFAR-10 (``NBUTILS_DATA`` or a download; random data
otherwise: the timing does not depend on what the nets learnt). Ablating neuron j of layer 1
re-runs the three layers above it for every k in the naive loop; the incremental engine applies
a rank-one update to layer 2's pre-activations and recomputes only the layers above. Both are
evaluated on the grid of ``nbutils.ablation.k_grid`` (every k in the first and last 50, every
10th in between), in float64, and must give identical accuracies.

    python benchmarks/ablation_cifar.py                 # 5 nets, full test set
    python benchmarks/ablation_cifar.py --quick         # 2 nets, 500 test images
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from nbutils.ablation import ablation_curve, k_grid, naive_ablation_curve  # noqa: E402
from nbutils.config import make_config  # noqa: E402
from nbutils.orderings import random_orders  # noqa: E402
from nbutils.train import train_ensemble  # noqa: E402

CONFIG = make_config("cifar10_funnel", "relu", "l2", epochs=1)


def data(test_limit):
    from nbutils.data import load_dataset
    try:
        d = load_dataset("cifar10", limit_test=test_limit)
        return d.x_train, d.y_train, d.x_test, d.y_test, "CIFAR-10"
    except Exception as err:  # noqa: BLE001 - the timing does not depend on the pixels
        g = torch.Generator().manual_seed(0)
        x = torch.rand(20000 + test_limit, 3072, generator=g)
        y = torch.randint(0, 10, (20000 + test_limit,), generator=g)
        return (x[:20000], y[:20000], x[20000:], y[20000:],
                f"random data ({type(err).__name__}: CIFAR-10 not available)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nets", type=int, default=5)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--test-limit", type=int, default=10000)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.nets, args.steps, args.test_limit = 2, 50, 500
    for name in ("nets", "steps", "test_limit"):
        if getattr(args, name) <= 0:
            ap.error(f"--{name.replace('_', '-')} must be a positive integer")
    x_train, y_train, x_test, y_test, what = data(args.test_limit)
    t = time.perf_counter()
    model, _ = train_ensemble(CONFIG, list(range(1, args.nets + 1)), x_train, y_train,
                              device="cpu", max_steps=args.steps)
    train_s = time.perf_counter() - t
    width = CONFIG.architecture.hidden[0]
    grid = k_grid(width)
    order = random_orders(args.nets, width, 1, seed=0)[:, 0]
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}; data: {what}; "
          f"{args.nets} Funnel nets trained {args.steps} steps in {train_s:.1f} s; "
          f"{x_test.shape[0]} test images; layer 1 ({width} neurons), {len(grid)} grid points "
          f"(every k in 0..50 and {width - 50}..{width}, every 10th between)")
    t = time.perf_counter()
    fast = ablation_curve(model, x_test, y_test, 0, order, ks=grid)
    fast_s = time.perf_counter() - t
    t = time.perf_counter()
    slow = naive_ablation_curve(model, x_test, y_test, 0, order, ks=grid)
    slow_s = time.perf_counter() - t
    same = torch.equal(fast, slow)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"incremental engine: {fast_s:8.1f} s")
    print(f"naive mask-and-forward: {slow_s:8.1f} s")
    print(f"ratio (naive / incremental): {slow_s / fast_s:.1f}x; accuracies identical: {same}; "
          f"peak resident memory of this process {peak:.2f} GiB")
    if not same:
        raise SystemExit("the two engines disagree")


if __name__ == "__main__":
    main()
