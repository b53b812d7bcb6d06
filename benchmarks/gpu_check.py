"""GPU check: what the GPU paths do and how fast, in one run of a few minutes on one GPU.

Parts (each guarded: a failure prints its reason and the other parts still run):

1. ``equality``: a small ensemble (2 seeds, Dropout + batch norm, a short last batch) trained
   eagerly and with the CUDA-graph step, with both optimizers (multi-tensor and compiled):
   the largest difference of the weights; the ablation of its layer 1 on the GPU against the
   CPU (identical accuracies expected).
2. ``steps``: milliseconds per ``train_ensemble`` step, eager and CUDA graph, for 50 MNIST nets
   (784-100-100-10, L2) and 35 Funnel CIFAR-10 nets (3072-1000-750-500-250-10, L2), on random
   inputs of the datasets' sizes (per step: the difference of a long and a short run, so that
   building the nets, warm-up and capture cancel out).
3. ``ablation``: seconds for layer 1 of 35 Funnel nets (random weights), one random ordering,
   the 191 points of ``k_grid(1000)``, 10 000 random test images, with the device's default
   chunk and with the CPU's chunk (what a GPU got before), peak GPU memory, equal accuracies.
4. ``precompute``: ``nbutils.precompute`` of one configuration (default ``mnist-relu-l2``,
   profile ``paper``, 50 seeds) end to end, trained and computed afresh (the shipped results are
   hidden, the cache is a new folder), its mean test accuracy next to the shipped CPU result.
   Needs the data: ``--data DIR`` or ``NBUTILS_DATA`` (nothing is downloaded); otherwise skipped.

Without a CUDA device it says so and exits 0. ``--out DIR`` writes ``gpu_check.json`` (the
figures) and ``gpu_check.txt`` (this output) there.

    PYTHONPATH=. python benchmarks/gpu_check.py [--skip-precompute] [--out DIR] [--data DIR]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import sys
import tempfile
import time
import traceback
import types
from dataclasses import dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PARTS = ("equality", "steps", "ablation", "precompute")


@dataclass(frozen=True)
class Sizes:
    """How big each part is: the issue's shapes, or toy ones for ``--cpu-dry-run``."""

    mnist: tuple[int, int, int] = (50, 50, 550)     # nets, short and long run (steps)
    funnel: tuple[int, int, int] = (35, 20, 120)
    ablation_nets: int = 35
    test_images: int = 10_000


DRY_RUN = Sizes(mnist=(2, 3, 8), funnel=(1, 2, 4), ablation_nets=2, test_images=300)


class Tee(io.TextIOBase):
    """Print and keep what was printed."""

    def __init__(self, stream):
        self.stream, self.text = stream, io.StringIO()

    def write(self, s):
        self.stream.write(s)
        self.stream.flush()
        return self.text.write(s)


def ensure_torchvision() -> str:
    """Import torchvision, or install a stub of the few names ``nbutils`` needs (the dataset
    classes and the MNIST file readers), so that a machine without it still runs every part."""
    try:
        import torchvision  # noqa: F401
        return "torchvision " + torchvision.__version__
    except Exception as err:  # noqa: BLE001 - missing or built for another torch
        for name in [m for m in sys.modules if m.split(".")[0] == "torchvision"]:
            del sys.modules[name]
        reason = f"{type(err).__name__}: {err}"

    def read_idx(path: str):
        data = Path(path).read_bytes()
        ndim = data[3]
        dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
        return torch.frombuffer(bytearray(data[4 + 4 * ndim:]), dtype=torch.uint8).view(*dims)

    class CIFAR10:
        base_folder, train_list, test_list, meta = "cifar-10-batches-py", [], [], {
            "filename": "batches.meta", "md5": ""}

        def __init__(self, *args, **kwargs):
            raise RuntimeError("torchvision is not installed: CIFAR-10 cannot be read")

    tv = types.ModuleType("torchvision")
    tv.__version__ = "stub"
    datasets = types.ModuleType("torchvision.datasets")
    datasets.MNIST = type("MNIST", (CIFAR10,), {})
    datasets.FashionMNIST = type("FashionMNIST", (CIFAR10,), {})
    datasets.CIFAR10 = CIFAR10
    mnist = types.ModuleType("torchvision.datasets.mnist")
    mnist.read_image_file = read_idx
    mnist.read_label_file = lambda path: read_idx(path).long()
    tv.datasets, datasets.mnist = datasets, mnist
    sys.modules.update({"torchvision": tv, "torchvision.datasets": datasets,
                        "torchvision.datasets.mnist": mnist})
    return f"torchvision stub (import failed: {reason})"


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def reset_peak(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)


def peak_gib(dev: torch.device) -> float:
    return torch.cuda.max_memory_allocated(dev) / 2 ** 30 if dev.type == "cuda" else math.nan


def empty_cache() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def timed(fn):
    sync()
    start = time.perf_counter()
    out = fn()
    sync()
    return time.perf_counter() - start, out


# ------------------------------------------------------------------------------ parts
def part_equality(dev: torch.device) -> dict:
    from nbutils.ablation import ablation_curve
    from nbutils.config import make_config
    from nbutils.train import fused_available, train_ensemble

    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 10, (330,), generator=g)
    x = (torch.rand(10, 784, generator=g)[y] + 0.5 * torch.rand(330, 784, generator=g)).clamp(0, 1)
    config = make_config("fashionmnist_small", "relu", "bn_dropout", epochs=2)
    out = {}
    for fused in ([False, True] if fused_available(dev) else [False]):
        name = "compiled" if fused else "multi-tensor"
        runs = [train_ensemble(config, [1, 2], x, y, x[:64], y[:64], device=dev, fused=fused,
                               graph=graph) for graph in (False, True)]
        diff = max((a - b).abs().max().item() for a, b in
                   zip(runs[0][0].state_dict().values(), runs[1][0].state_dict().values())
                   if a.is_floating_point())
        out[name] = {"max_abs_weight_diff": diff, "graph_mode": runs[1][1].step_mode,
                     "train_loss_eager": runs[0][1].train_loss[-1],
                     "train_loss_graph": runs[1][1].train_loss[-1]}
        print(f"  {name} optimizer: graph step mode {runs[1][1].step_mode!r}; largest weight "
              f"difference graph vs eager after 2 epochs: {diff:.2e}")
    model = runs[0][0]
    order = torch.stack([torch.randperm(20, generator=g) for _ in range(2)])
    gpu = ablation_curve(model, x.to(dev), y.to(dev), 0, order.to(dev)).cpu()
    cpu = ablation_curve(model.cpu(), x, y, 0, order)
    out["ablation_gpu_equals_cpu"] = bool(torch.equal(gpu, cpu))
    print(f"  ablation of layer 1 on the GPU equals the CPU's: {out['ablation_gpu_equals_cpu']}")
    return out


def step_ms(config, seeds, x, y, dev, graph: bool, short: int, long: int) -> tuple[float, str]:
    from nbutils.train import train_ensemble

    seconds = []
    for n in (short, long):
        _, hist = train_ensemble(config, seeds, x, y, device=dev, graph=graph, max_steps=n)
        seconds.append(hist.seconds)
    return 1e3 * (seconds[1] - seconds[0]) / (long - short), hist.step_mode


def part_steps(dev: torch.device, scale: float, sizes: Sizes) -> dict:
    from nbutils.train import fused_available

    t, fused = timed(lambda: fused_available(dev))
    print(f"  compiled (Triton) optimizer available: {fused} (checked in {t:.1f} s)")
    out = {"fused_available": fused}
    for arch, (nets, short, long) in (("mnist", sizes.mnist), ("cifar10_funnel", sizes.funnel)):
        long = short + max(1, int((long - short) * scale))
        out[arch] = steps_of(arch, nets, short, long, dev)
        empty_cache()
    return out


def steps_of(arch: str, nets: int, short: int, long: int, dev: torch.device) -> dict:
    """Eager and graph milliseconds per step of ``nets`` nets of ``arch`` (L2, random data)."""
    from nbutils.config import make_config
    from nbutils.train import train_ensemble

    config = make_config(arch, "relu", "l2", epochs=100)
    g = torch.Generator().manual_seed(0)
    n = 32 * (long + 10)
    x = torch.rand(n, config.architecture.input_dim, generator=g).to(dev)
    y = torch.randint(0, 10, (n,), generator=g).to(dev)
    seeds = list(range(1, nets + 1))
    t, _ = timed(lambda: train_ensemble(config, seeds, x, y, device=dev, max_steps=10))
    row = {}
    for graph in (False, True):
        ms, mode = step_ms(config, seeds, x, y, dev, graph, short, long)
        row["graph" if graph else "eager"] = {"ms_per_step": ms, "mode": mode}
    ratio = row["eager"]["ms_per_step"] / row["graph"]["ms_per_step"]
    print(f"  {arch} ({nets} nets, batch 32, {long - short} steps): eager "
          f"{row['eager']['ms_per_step']:.2f} ms/step, graph "
          f"{row['graph']['ms_per_step']:.2f} ms/step ({row['graph']['mode']}): "
          f"{ratio:.1f}x (first call incl. compile {t:.1f} s)")
    return {**row, "nets": nets, "eager_over_graph": ratio, "first_call_s": t}


def part_ablation(dev: torch.device, sizes: Sizes) -> dict:
    from nbutils.ablation import _WORK_ELEMENTS, ablation_curve, k_grid
    from nbutils.ensemble import EnsembleMLP

    widths, M, N = (3072, 1000, 750, 500, 250, 10), sizes.ablation_nets, sizes.test_images
    g = torch.Generator().manual_seed(0)
    model = EnsembleMLP(widths, "relu", M).to(dev).eval()
    with torch.no_grad():
        for w in model.weight_t:
            w.normal_(0.0, 1.0 / math.sqrt(w.shape[2]))
    x = torch.rand(N, widths[0], generator=g).to(dev)
    y = torch.randint(0, 10, (N,), generator=g).to(dev)
    order = torch.stack([torch.randperm(1000, generator=g) for _ in range(M)]).to(dev)
    grid = k_grid(1000)
    cpu_chunk = max(32, _WORK_ELEMENTS // (M * max(widths[1:])))
    out, curves = {"grid_points": len(grid), "cpu_chunk": cpu_chunk}, {}
    for name, chunk in (("device chunk", None), ("CPU chunk", cpu_chunk)):
        reset_peak(dev)
        t, curves[name] = timed(lambda c=chunk: ablation_curve(model, x, y, 0, order, ks=grid,
                                                               chunk=c))
        peak = peak_gib(dev)
        out[name] = {"seconds": t, "peak_gib": peak}
        print(f"  Funnel layer 1, {M} nets, {len(grid)} grid points, {N} images, {name}: "
              f"{t:.2f} s, peak {peak:.1f} GiB")
    out["speedup"] = out["CPU chunk"]["seconds"] / out["device chunk"]["seconds"]
    out["equal"] = bool(torch.equal(curves["device chunk"], curves["CPU chunk"]))
    print(f"  device chunk vs CPU chunk: {out['speedup']:.1f}x; accuracies equal: {out['equal']}")
    return out


def part_precompute(dev: torch.device, name: str, profile: str, data: str | None,
                    cache_dir: str) -> dict:
    data = data or os.environ.get("NBUTILS_DATA", "").strip()
    if not data:
        print("  skipped: no data (pass --data DIR or set NBUTILS_DATA; nothing is downloaded)")
        return {"skipped": "no data"}
    os.environ["NBUTILS_DATA"] = data
    os.environ["NBUTILS_CACHE"] = cache_dir
    os.environ.pop("NBUTILS_RESULTS", None)
    os.environ.pop("NBUTILS_RESULTS_ONLY", None)
    from nbutils import cache, precompute
    from nbutils.experiment import TrainedEnsemble

    config = precompute.parse_config(name)
    ens = TrainedEnsemble(*config, profile=profile, device=str(dev))
    shipped = cache.load_arrays(cache.shipped_path(ens.result_path("summary")))
    cache.SHIPPED_RESULTS = Path(cache_dir) / "no-shipped-results"  # compute everything
    t, steps = timed(lambda: precompute.precompute(config, profile, device=str(dev),
                                                   log=lambda s: print("   ", s)))
    fresh = TrainedEnsemble(*config, profile=profile, device=str(dev)).summary()
    out = {"config": name, "seconds": t, "train_seconds": fresh.seconds,
           "chosen_epoch": fresh.chosen_epoch, "steps": steps,
           "test_acc_mean": float(fresh.test_acc.mean()),
           "test_acc_sd": float(fresh.test_acc.std(ddof=1))}
    print(f"  {name} ({profile}, {len(fresh.test_acc)} seeds) on {dev}: all results in {t:.0f} s "
          f"(training {fresh.seconds:.0f} s, epoch {fresh.chosen_epoch} kept); mean test accuracy "
          f"{100 * out['test_acc_mean']:.2f} % (sd {100 * out['test_acc_sd']:.2f})")
    if shipped is None:
        print("  no shipped CPU result to compare with")
        return out
    acc, meta = shipped[0]["test_acc"], shipped[1]
    se = math.sqrt(fresh.test_acc.var(ddof=1) / len(fresh.test_acc) + acc.var(ddof=1) / len(acc))
    diff = float(fresh.test_acc.mean() - acc.mean())
    out.update(shipped_test_acc_mean=float(acc.mean()), shipped_chosen_epoch=meta["chosen_epoch"],
               shipped_train_seconds=meta["seconds"], diff=diff, diff_se=se)
    print(f"  shipped CPU result: mean test accuracy {100 * acc.mean():.2f} % (sd "
          f"{100 * acc.std(ddof=1):.2f}), epoch {meta['chosen_epoch']}, training "
          f"{meta['seconds']:.0f} s; difference {100 * diff:+.2f} points = "
          f"{diff / se if se else 0:+.1f} standard errors")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for part in PARTS:
        ap.add_argument(f"--skip-{part}", action="store_true", help=f"skip part {part!r}")
    ap.add_argument("--config", default="mnist-relu-l2", help="configuration of 'precompute'")
    ap.add_argument("--profile", default="paper", help="profile of 'precompute'")
    ap.add_argument("--data", help="data folder for 'precompute' (default: NBUTILS_DATA)")
    ap.add_argument("--step-scale", type=float, default=1.0,
                    help="scale the number of timed steps (e.g. 0.3 for a quicker run)")
    ap.add_argument("--out", help="folder for gpu_check.json and gpu_check.txt")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--cpu-dry-run", action="store_true",
                    help="run every part on the CPU at toy sizes: a check of this script")
    args = ap.parse_args(argv)
    tee = Tee(sys.stdout)
    results: dict = {"failed": {}}

    def save() -> None:
        """Write what is measured so far (after every part: a timeout keeps the rest)."""
        if args.out:
            out = Path(args.out)
            out.mkdir(parents=True, exist_ok=True)
            (out / "gpu_check.json").write_text(json.dumps(results, indent=1, default=str))
            (out / "gpu_check.txt").write_text(tee.text.getvalue())

    with contextlib.redirect_stdout(tee):
        status = run(args, results, save)
    save()
    return status


def run(args, results: dict, save) -> int:
    sizes = DRY_RUN if args.cpu_dry_run else Sizes()
    if args.cpu_dry_run:
        dev = torch.device("cpu")
        results["device"] = "CPU (dry run at toy sizes: no figures)"
    elif not torch.cuda.is_available():
        print(f"no CUDA device here (torch {torch.__version__}): nothing to check")
        results["skipped"] = "no CUDA device"
        return 0
    else:
        dev = torch.device(args.device)
        props = torch.cuda.get_device_properties(dev)
        results["device"] = f"{props.name}, {props.total_memory / 2 ** 30:.0f} GiB"
    results["torchvision"] = ensure_torchvision()
    print(f"{results['device']}; torch {torch.__version__}; {results['torchvision']}")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gpu_check-") as tmp:
        jobs = {"equality": lambda: part_equality(dev),
                "steps": lambda: part_steps(dev, args.step_scale, sizes),
                "ablation": lambda: part_ablation(dev, sizes),
                "precompute": lambda: part_precompute(dev, args.config, args.profile, args.data,
                                                      tmp)}
        for part in PARTS:
            if getattr(args, f"skip_{part}"):
                continue
            print(f"== {part}")
            t = time.perf_counter()
            try:
                results[part] = jobs[part]()
            except Exception as err:  # noqa: BLE001 - report it, keep the other parts
                results["failed"][part] = f"{type(err).__name__}: {err}"
                print(f"  FAILED: {type(err).__name__}: {err}")
                traceback.print_exc(limit=6, file=sys.stdout)
            print(f"  ({time.perf_counter() - t:.0f} s)")
            with contextlib.suppress(Exception):
                empty_cache()
            save()
    results["seconds"] = time.perf_counter() - start
    print(f"gpu_check: {results['seconds']:.0f} s; failed parts: "
          f"{', '.join(results['failed']) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
