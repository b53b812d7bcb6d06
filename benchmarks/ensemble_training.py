"""Benchmark: 50 MNIST 784-100-100-10 ReLU networks trained as one ensemble vs one by one.

Both phases run the same number of RMSprop steps at batch 32 on the same data, in this one run,
each in a fresh child process (so that its peak memory is its own):

- ensemble: ``nbutils.train.train_ensemble`` (stacked weights, batched matmul, fused RMSprop);
- loop: for each seed an ordinary ``torch.nn.Sequential`` with a ``DataLoader`` (batch 32,
  shuffled) and ``torch.optim.RMSprop``, the way one would write it without the ensemble;
- vmap: PyTorch's own model-ensembling recipe, ``torch.func.stack_module_state`` +
  ``vmap(grad(loss))`` over ``functional_call``, each net on its own batch, the stacked
  parameters updated by ``torch.optim.RMSprop`` with the same settings.

It prints wall times, steps/s, peak memory, the ratio, and the model FLOP/s of the ensemble step
next to the FLOP/s of a plain ``torch.bmm`` of the first layer's size on the same machine.
The ensemble and the bmm reference are timed alternately in the same process, ``--repeats``
times each, and their medians are compared, so a machine whose speed drifts during the run
(a shared virtual machine) affects both alike. The ensemble's wall time covers the whole
``train_ensemble`` call (building 50 networks included); its step FLOP/s uses the time of the
training loop alone (``TrainHistory.seconds``: the steps, their data and the epoch orders).
It also prints the step's memory floor: the bytes a step must move (10 passes over the
parameters: the forward and the backward each read the weights, the backward writes their
gradients, the optimizer reads parameters, gradients and its two states and writes three of
them back) over a copy bandwidth measured in the same process (``copy_`` of a tensor the size of
all parameters, read + write), and the ratio of the step time to that floor and to the compute
floor (the model FLOPs at the bmm's rate).
Usage: ``python benchmarks/ensemble_training.py [--steps 300] [--nets 50] [--repeats 3]
[--device auto] [--arch mnist|cifar10_funnel] [--skip-baselines] [--threads N]``
(``--arch cifar10_funnel``: the Funnel CIFAR-10 net 3072-1000-750-500-250-10 on random inputs
of CIFAR-10's size; use fewer ``--nets``; ``--skip-baselines``: the ensemble alone, without the
loop and vmap phases; ``--threads``: torch's CPU threads in every phase, default torch's own).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from nbutils.config import make_config  # noqa: E402
from nbutils.ensemble import (  # noqa: E402
    build_reference_mlp,
    param_count,
    train_flops_per_sample,
)
from nbutils.train import resolve_device, train_ensemble  # noqa: E402


def _data(device, arch="mnist"):
    from nbutils.data import load_dataset
    if arch != "mnist":
        g = torch.Generator().manual_seed(0)
        d = make_config(arch, "relu", "none").architecture.input_dim
        return (torch.rand(40000, d, generator=g).to(device),
                torch.randint(0, 10, (40000,), generator=g).to(device),
                f"random inputs of {arch}'s size (the timing does not depend on the pixels)")
    try:
        d = load_dataset("mnist", device=device)
        return d.x_train, d.y_train, "MNIST (full training split)"
    except Exception as err:  # noqa: BLE001 - benchmark still meaningful on random data
        g = torch.Generator().manual_seed(0)
        x = torch.rand(48000, 784, generator=g).to(device)
        y = torch.randint(0, 10, (48000,), generator=g).to(device)
        return x, y, f"random data ({type(err).__name__}: MNIST not available)"


def _peak_mb(device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _threads(threads):
    if threads:
        torch.set_num_threads(threads)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def ensemble_phase(nets, steps, repeats, device_name, arch, threads, out):
    _threads(threads)
    device = resolve_device(device_name)
    x, y, what = _data(device, arch)
    cfg = make_config(arch, "relu", "none", epochs=100)
    seeds = list(range(1, nets + 1))
    train_ensemble(cfg, seeds, x, y, device=device, max_steps=10)  # warm-up: compile, caches
    walls, loops, bmms, copies = [], [], [], []
    params = nets * param_count(cfg.architecture.widths)
    for _ in range(repeats):
        bmms.append(bmm_flops(nets, device, *cfg.architecture.widths[:2]))
        copies.append(copy_bandwidth(params, device))
        _sync(device)
        t = time.perf_counter()
        _, history = train_ensemble(cfg, seeds, x, y, device=device, max_steps=steps)
        _sync(device)
        walls.append(time.perf_counter() - t)
        loops.append(history.seconds)
    out.put({"seconds": statistics.median(walls), "loop_seconds": statistics.median(loops),
             "bmm_flops": statistics.median(bmms), "all_seconds": walls, "all_bmm": bmms,
             "copy_bandwidth": statistics.median(copies), "params": params,
             "peak_mb": _peak_mb(device), "data": what})


def loop_phase(nets, steps, device_name, arch, threads, out):
    _threads(threads)
    device = resolve_device(device_name)
    x, y, _ = _data(device, arch)
    cfg = make_config(arch, "relu", "none", epochs=100)
    ds = torch.utils.data.TensorDataset(x, y)
    _sync(device)
    t = time.perf_counter()
    for seed in range(1, nets + 1):
        mlp = build_reference_mlp(cfg.architecture.widths, "relu", seed).to(device).train()
        opt = torch.optim.RMSprop(mlp.parameters(), lr=cfg.lr, momentum=cfg.momentum)
        loader = torch.utils.data.DataLoader(
            ds, batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(seed))
        for i, (xb, yb) in enumerate(loader):
            if i == steps:
                break
            loss = torch.nn.functional.cross_entropy(mlp(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    _sync(device)
    out.put({"seconds": time.perf_counter() - t, "peak_mb": _peak_mb(device)})


def vmap_phase(nets, steps, device_name, arch, threads, out):
    """PyTorch's ensembling recipe (torch.func), same networks, optimizer and batch size."""
    _threads(threads)
    import copy

    from torch.func import functional_call, grad, stack_module_state, vmap

    device = resolve_device(device_name)
    x, y, _ = _data(device, arch)
    cfg = make_config(arch, "relu", "none", epochs=100)
    seeds = list(range(1, nets + 1))
    models = [build_reference_mlp(cfg.architecture.widths, "relu", s).to(device).train()
              for s in seeds]
    params, buffers = stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")

    def loss(p, b, xb, yb):
        return torch.nn.functional.cross_entropy(functional_call(base, (p, b), (xb,)), yb)

    grads_of = vmap(grad(loss))
    opt = torch.optim.RMSprop(list(params.values()), lr=cfg.lr, momentum=cfg.momentum)
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    n = x.shape[0]
    order = torch.stack([torch.randperm(n, generator=g) for g in gens]).to(device)
    _sync(device)
    t = time.perf_counter()
    for step in range(steps):
        start = (step * 32) % (n - 32)
        idx = order[:, start:start + 32]
        grads = grads_of(params, buffers, x[idx], y[idx])
        for name, p in params.items():
            p.grad = grads[name]
        opt.step()
    _sync(device)
    out.put({"seconds": time.perf_counter() - t, "peak_mb": _peak_mb(device)})


def bmm_flops(nets, device, d=784, n1=100) -> float:
    """FLOP/s of a plain torch.bmm the size of the first layer's forward product."""
    a = torch.rand(nets, 32, d, device=device)
    b = torch.rand(nets, d, n1, device=device)
    for _ in range(5):
        torch.bmm(a, b)
    _sync(device)
    reps, t = 50, time.perf_counter()
    for _ in range(reps):
        torch.bmm(a, b)
    _sync(device)
    return 2 * nets * 32 * d * n1 * reps / (time.perf_counter() - t)


def copy_bandwidth(n_floats: int, device) -> float:
    """Bytes per second of ``copy_`` between two float32 tensors of ``n_floats`` (at least
    64 MiB), counting the bytes read and written."""
    n = max(n_floats, 2 ** 24)
    a, b = torch.rand(n, device=device), torch.empty(n, device=device)
    b.copy_(a)
    _sync(device)
    reps, t = 5, time.perf_counter()
    for _ in range(reps):
        b.copy_(a)
    _sync(device)
    return 2 * 4 * n * reps / (time.perf_counter() - t)


def floor_report(ens: dict, steps: int, step_flops: float) -> str:
    """The step's memory floor (10 passes over the parameters at the copy bandwidth), its
    compute floor (model FLOPs at the bmm's rate) and the step time's ratio to each."""
    step_s = ens["loop_seconds"] / steps
    moved = 10 * 4 * ens["params"]
    memory = moved / ens["copy_bandwidth"]
    compute = step_flops / ens["bmm_flops"]
    return (f"memory floor: a step moves {moved / 1e9:.2f} GB (10 x {ens['params'] / 1e6:.1f} M "
            f"float32), copy bandwidth {ens['copy_bandwidth'] / 1e9:.1f} GB/s: "
            f"{1e3 * memory:.1f} ms; step {1e3 * step_s:.1f} ms = {step_s / memory:.2f}x the "
            f"memory floor; compute floor (model FLOPs at the bmm's rate) {1e3 * compute:.1f} ms "
            f"= {step_s / compute:.2f}x; {step_s / (memory + compute):.2f}x their sum")


def run_child(target, *args):
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=target, args=(*args, q))
    p.start()
    res = q.get()
    p.join()
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--nets", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--arch", default="mnist", choices=["mnist", "cifar10_funnel"])
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    ap.add_argument("--skip-baselines", action="store_true",
                    help="time the ensemble alone (no per-network loop, no vmap)")
    args = ap.parse_args()
    if args.threads < 0:
        ap.error("--threads must be 0 (torch's default) or a positive integer")
    for name in ("steps", "nets", "repeats"):
        if getattr(args, name) <= 0:
            ap.error(f"--{name} must be a positive integer")
    device = resolve_device(args.device)
    threads = args.threads or torch.get_num_threads()
    print(f"device: {device}, torch {torch.__version__}, threads {threads}")
    ens = run_child(ensemble_phase, args.nets, args.steps, args.repeats, args.device, args.arch,
                    args.threads)
    widths = make_config(args.arch, "relu", "none").architecture.widths
    step_flops = args.nets * 32 * train_flops_per_sample(widths)
    if args.skip_baselines:
        print(f"network: {args.arch} {'-'.join(map(str, widths))}; data: {ens['data']}; "
              f"{args.nets} nets x {args.steps} steps at batch 32")
        print("ensemble wall times of the repeats: "
              + ", ".join(f"{t:.2f} s" for t in ens["all_seconds"]))
        print(floor_report(ens, args.steps, step_flops))
        return
    loop = run_child(loop_phase, args.nets, args.steps, args.device, args.arch, args.threads)
    vm = run_child(vmap_phase, args.nets, args.steps, args.device, args.arch, args.threads)
    print(f"network: {args.arch} {'-'.join(map(str, widths))}")
    print(f"data: {ens['data']}; {args.nets} nets x {args.steps} steps at batch 32")
    print("ensemble wall times of the repeats: "
          + ", ".join(f"{t:.2f} s" for t in ens["all_seconds"]) + " (median below)")
    for name, r in (("ensemble", ens), ("per-network loop", loop), ("torch.func vmap", vm)):
        print(f"{name:>17}: {r['seconds']:8.2f} s  {args.steps / r['seconds']:8.1f} steps/s "
              f"(of all {args.nets} nets)  peak memory {r['peak_mb']:8.0f} MB")
    ratio = loop["seconds"] / ens["seconds"]
    print(f"ratio (loop / ensemble): {ratio:.1f}x")
    print(f"ratio (vmap / ensemble): {vm['seconds'] / ens['seconds']:.1f}x "
          f"(vmap step {1000 * vm['seconds'] / args.steps:.1f} ms, ensemble step "
          f"{1000 * ens['loop_seconds'] / args.steps:.1f} ms)")
    step_rate = step_flops * args.steps / ens["loop_seconds"]
    wall_rate = step_flops * args.steps / ens["seconds"]
    bmm_rate = ens["bmm_flops"]
    print(f"ensemble step: {1000 * ens['loop_seconds'] / args.steps:.1f} ms, "
          f"{step_rate / 1e9:.1f} GFLOP/s (model FLOPs: 4 per weight and sample in layer 1, "
          f"6 elsewhere; {wall_rate / 1e9:.1f} GFLOP/s over the whole call)")
    print(f"plain bmm (nets,32,{widths[0]})x(nets,{widths[0]},{widths[1]}): "
          f"{bmm_rate / 1e9:.1f} GFLOP/s (repeats: "
          + ", ".join(f"{r / 1e9:.1f}" for r in ens["all_bmm"]) + ")")
    print(f"step/bmm = {100 * step_rate / bmm_rate:.0f} % "
          f"(whole call/bmm = {100 * wall_rate / bmm_rate:.0f} %)")
    print(floor_report(ens, args.steps, step_flops))


if __name__ == "__main__":
    main()
