"""Benchmark: incremental cumulative ablation vs the naive mask-and-forward loop (Sec. V).

Paper scale: 50 MNIST nets 784-100-100-10 (ReLU, Dropout), hidden layers 1 and 2, every k from 0
to 100, seven orderings (entropy, MI, KL selectivity, each low- and high-first, plus a random one)
on the full 10 000-image test set. The nets are trained briefly (a few hundred steps of
``nbutils.train.train_ensemble``), on MNIST from ``nbutils.data`` (``NBUTILS_DATA`` or a download),
otherwise on synthetic data. Each engine runs in its own subprocess, so its peak resident memory
(``ru_maxrss``) is its own.

    python benchmarks/ablation.py            # full run (the naive loop takes tens of minutes)
    python benchmarks/ablation.py --quick    # 10 nets, 2 orderings, 2000 test images: < 1 min
    python benchmarks/ablation.py --naive-stride 10   # naive loop on k = 0, 10, ..., 100 only

The naive loop costs the same for every k (one full forward pass of the masked network), so with
``--naive-stride s`` it runs on every s-th k only; its time is then also printed scaled to the
full grid (times 101 / number of k run), and the accuracies are compared on the k it ran.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from nbutils.ablation import ablation_curve, naive_ablation_curve  # noqa: E402
from nbutils.config import make_config  # noqa: E402
from nbutils.data import load_dataset  # noqa: E402
from nbutils.ensemble import EnsembleMLP  # noqa: E402
from nbutils.measures import neuron_measures  # noqa: E402
from nbutils.orderings import order_by, random_orders  # noqa: E402
from nbutils.train import train_ensemble  # noqa: E402

CONFIG = make_config("mnist", "relu", "dropout")


def load_data(n_test: int) -> tuple[str, tuple[torch.Tensor, ...]]:
    """(description, (x_train, y_train, x_val, y_val, x_test, y_test)): MNIST through
    ``nbutils.data`` (the paper's split), or synthetic clusters when MNIST is not available."""
    try:
        d = load_dataset("mnist", limit_test=n_test)
        return (f"MNIST (fingerprint {d.fingerprint[:12]})",
                (d.x_train, d.y_train, d.x_val, d.y_val, d.x_test, d.y_test))
    except Exception as err:  # noqa: BLE001 - the timing is still meaningful on synthetic data
        reason = f"{type(err).__name__}: MNIST not available"
    g = torch.Generator().manual_seed(0)
    centers = torch.rand(10, 784, generator=g)

    def sample(n):
        y = torch.randint(0, 10, (n,), generator=g)
        return (centers[y] + 0.8 * torch.rand(n, 784, generator=g)).clamp(0, 1), y
    return (f"synthetic clusters ({reason})",
            (*sample(20000), *sample(10000), *sample(n_test)))


def orderings(model: EnsembleMLP, x_val, y_val, n_orders: int) -> tuple[str, dict]:
    """Per hidden layer, (name, order (M, n)): measures low/high first, then one random."""
    acts = model.hidden_activations(x_val)
    values = [neuron_measures(a, y_val, CONFIG.activation) for a in acts]
    source = "nbutils.measures (one-bit quantizer, validation split)"
    result = {}
    for layer, vals in enumerate(values):
        n = model.hidden_widths[layer]
        named = [(f"{m} {'high' if d else 'low'}", order_by(vals[m], descending=d))
                 for m in ("mi", "entropy", "kl") for d in (False, True)]
        named.append(("random", random_orders(model.n_members, n, 1, seed=layer)[:, 0]))
        result[layer] = named[:n_orders - 1] + named[-1:] if n_orders < 7 else named
    return source, result


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_phase(setup: Path, engine: str, threads: int, out: Path, stride: int = 1) -> None:
    """Subprocess body: every (layer, ordering) sweep with one engine; results to ``out``."""
    torch.set_num_threads(threads)
    data = torch.load(setup, weights_only=False)
    model = EnsembleMLP.from_config(CONFIG, seeds=list(range(1, data["n_nets"] + 1)))
    model.load_state_dict(data["state"])
    model.eval()
    x, y = data["x_test"], data["y_test"]
    if engine == "naive":
        def curve(model, x, y, layer, order, per_class):
            ks = list(range(0, model.hidden_widths[layer] + 1, stride))
            return naive_ablation_curve(model, x, y, layer, order, ks=ks, per_class=per_class)
    else:
        curve = ablation_curve
    base = rss_mb()
    results, times = {}, {}
    wall, cpu = time.perf_counter(), time.process_time()
    for layer, named in data["orders"].items():
        start = time.perf_counter()
        for name, order in named:
            results[(layer, name)] = curve(model, x, y, layer, order, per_class=True)
        times[layer] = time.perf_counter() - start
    report = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
              "per_layer": times, "rss_base_mb": base,
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    torch.save({"results": results, "report": report}, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 nets, 2 orderings, 2000 images")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--naive-stride", type=int, default=1,
                        help="run the naive loop on every s-th k only (time scaled to all k)")
    parser.add_argument("--phase", choices=["incremental", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--setup", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        run_phase(args.setup, args.phase, args.threads, args.out, args.naive_stride)
        return

    n_nets, n_orders, n_test, steps = (10, 2, 2000, 200) if args.quick else (50, 7, 10000, 500)
    torch.set_num_threads(args.threads)
    print(f"cumulative-ablation benchmark ({'quick' if args.quick else 'full'}): {n_nets} nets "
          f"784-100-100-10 {CONFIG.activation}, layers 1 and 2, k = 0..100, {n_orders} orderings "
          f"per layer, {n_test} test images; torch {torch.__version__}, {args.threads} threads, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    described, (x_tr, y_tr, x_val, y_val, x_test, y_test) = load_data(n_test)
    print(f"data: {described}")
    start = time.perf_counter()
    model, _ = train_ensemble(CONFIG, list(range(1, n_nets + 1)), x_tr, y_tr, device="cpu",
                              max_steps=steps)
    acc = model.accuracy(x_test, y_test)
    print(f"trained {steps} steps in {time.perf_counter() - start:.0f} s; test accuracy "
          f"{acc.mean():.3f} (min {acc.min():.3f}, max {acc.max():.3f})")
    source, orders = orderings(model, x_val, y_val, n_orders)
    print(f"orderings: {[name for name, _ in orders[0]]}; measures from {source}")

    with tempfile.TemporaryDirectory() as tmp:
        setup = Path(tmp) / "setup.pt"
        torch.save({"n_nets": n_nets, "state": model.state_dict(), "x_test": x_test,
                    "y_test": y_test, "orders": orders}, setup)
        phases = {}
        for engine in ("incremental", "naive"):
            out = Path(tmp) / f"{engine}.pt"
            subprocess.run([sys.executable, __file__, "--phase", engine, "--setup", str(setup),
                            "--out", str(out), "--threads", str(args.threads),
                            "--naive-stride", str(args.naive_stride)], check=True)
            phases[engine] = torch.load(out, weights_only=False)
            r = phases[engine]["report"]
            layers = ", ".join(f"layer {l + 1} {t:.1f} s" for l, t in r["per_layer"].items())
            print(f"{engine:>11}: wall {r['wall']:8.1f} s ({layers}), cpu {r['cpu']:8.1f} s, "
                  f"peak RSS {r['peak_rss_mb']:.0f} MB (after loading {r['rss_base_mb']:.0f} MB; "
                  f"+{r['peak_rss_mb'] - r['rss_base_mb']:.0f} MB), "
                  f"load average {os.getloadavg()[0]:.1f}", flush=True)

    fast, slow = phases["incremental"]["results"], phases["naive"]["results"]
    stride = args.naive_stride
    same_acc = all(torch.equal(fast[key][0][:, ::stride], slow[key][0]) for key in slow)
    same_class = all(torch.equal(fast[key][1][:, ::stride], slow[key][1]) for key in slow)
    worst = max((fast[key][0][:, ::stride] - slow[key][0]).abs().max().item() for key in slow)
    n_k = {layer: fast[(layer, name)][0].shape[1] for layer, named in orders.items()
           for name, _ in named}
    n_k_naive = {layer: slow[(layer, name)][0].shape[1] for layer, named in orders.items()
                 for name, _ in named}
    naive_wall = phases["naive"]["report"]["wall"]
    naive_cpu = phases["naive"]["report"]["cpu"]
    scale = sum(n_k.values()) / sum(n_k_naive.values())
    if stride > 1:
        print(f"naive loop ran {sum(n_k_naive.values())} of {sum(n_k.values())} k values "
              f"(every {stride}th); its cost per k is constant, so scaled to the full grid: "
              f"wall {naive_wall * scale:.1f} s, cpu {naive_cpu * scale:.1f} s")
    ratio = naive_wall * scale / phases["incremental"]["report"]["wall"]
    cpu_ratio = naive_cpu * scale / phases["incremental"]["report"]["cpu"]
    print(f"speed-up (naive / incremental, full grid): wall {ratio:.1f}x, cpu {cpu_ratio:.1f}x")
    print(f"accuracies identical: {same_acc}; per-class accuracies identical: {same_class}; "
          f"largest difference {worst:.2g} over {len(slow)} curves of {n_nets} nets"
          + (f" (on the {stride}-strided k grid)" if stride > 1 else ""))
    for layer in orders:
        curve = fast[(layer, "random")][0].mean(0)
        print(f"layer {layer + 1}, random order, mean accuracy at k = 0, 25, 50, 75, 100: "
              + ", ".join(f"{curve[k]:.3f}" for k in (0, 25, 50, 75, 100)))


if __name__ == "__main__":
    main()
