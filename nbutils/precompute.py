"""Every result chapters 1-7 and 10 read about one configuration, computed in one go.

Chapters 2-6 and 10 see their networks only through memoized results (:mod:`nbutils.analysis`): the
information measures, the ablation curves, one member's weights. This module asks for exactly the
results those chapters ask for with their default parameters, one configuration at a time, so that
a long run (the ``paper`` profile: 50 seeds per configuration, hours on a CPU) can be done in
parts: train one configuration, compute its results, copy them into the repository's shipped
results (``--ship``, :data:`nbutils.cache.SHIPPED_RESULTS`), and the weights may go. The chapters
then run from the results alone; ``NBUTILS_RESULTS_ONLY=1`` makes sure of it (the test suite runs
chapters 2-6 that way after :func:`precompute_all` at profile ``ci``).

A chapter run with other parameters (another network in chapter 2, an extra panel in chapters 4-6)
computes what it lacks itself.

Command line::

    python -m nbutils.precompute --profile paper --config mnist-relu-l2 [--ship]
    python -m nbutils.precompute --profile ci --all
    python -m nbutils.precompute --profile paper --config cifar10-relu-l2 --device cuda \
        --preprocessing standardized --ship
    python -m nbutils.precompute --profile paper --config cifar10-relu-l2 --seeds 6-10 --ship
    python -m nbutils.precompute --profile paper --config cifar10-relu-l2 --merge 1-5 6-10 ...

``--all`` means the configurations of chapters 1-6 (hours on a CPU at ``paper``); the three
CIFAR-10 networks of chapter 7 (:data:`CH7_CONFIGS`) are named one by one: at ``paper`` they
are meant for a GPU. ``--seeds A-B`` trains and computes one *shard* of the seeds
(:mod:`nbutils.shards`: resumable and shippable on its own; the shard holding seed 1 goes first
when the epochs are chosen by validation); ``--merge A-B C-D ...`` (or ``--merge-all``: every
shard found) merges shards covering seeds 1..N into the results of the N-seed ensemble
(:mod:`nbutils.merge`), which the chapters read.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from . import analysis, cache, merge
from .config import (
    ARCHITECTURES,
    CHAPTER_CONFIGS,
    FIG3_ABLATION_VALUES,
    MAIN_PREPROCESSING,
    PROFILES,
    get_profile,
)
from .data import PREPROCESSINGS
from .experiment import TrainedEnsemble
from .measures import FINE_QUANTIZERS, QUANTIZERS
from .report import EARLY_SHARE
from .shards import SeedRange, ShardError, parse_seeds

Config = tuple[str, str, str]

CH2_NETWORK: Config = ("mnist", "relu", "dropout")  # chapter 2's default parameters
CH5_STRONG: Config = ("mnist", "relu", "l2")         # chapter 5, claim C3: not a Fig. 3 panel
CH6_QUANTIZED: Config = CHAPTER_CONFIGS["fig4"][2]    # chapter 6, claim F1c: Fig. 4(c)
K_FRACTION = 0.8                                      # chapters 2, 5-7 read gaps at 80 %
CH7_CONFIGS: tuple[Config, ...] = CHAPTER_CONFIGS["fig5"]
# chapter 7 reads its curves also after ablating 5 % of a layer ("at once") and at these k
CH7_POINTS = (200, 500, 600)


def cifar_grid(ens: TrainedEnsemble, layer: int, dense: int | None = None,
               step: int | None = None) -> list[int]:
    """The grid of chapter 7's curves of hidden ``layer`` (0-based): the profile's grid
    (``dense`` and ``step`` override it, as the chapter's parameters do) plus every point where
    the chapter reads a gap (80 % and 5 % of the layer, :data:`CH7_POINTS`)."""
    n = ens.config.architecture.hidden[layer]
    extra = [int(round(K_FRACTION * n)), int(round(EARLY_SHARE * n)), *CH7_POINTS]
    return analysis.layer_grid(ens, layer, dense, step, extra=extra)


def config_names(profile: str = "paper", *, cifar: bool = False) -> list[str]:
    """Every configuration chapters 1-6 use (with ``cifar``, also chapter 7's), by name
    (``mnist-relu-l2``), in chapter 1's order."""
    seen: dict[str, None] = {}
    for entry in ("fig1", "fig2", "fig3", "fig4", "mnist_all") + (("fig5",) if cifar else ()):
        for c in CHAPTER_CONFIGS[entry]:
            seen.setdefault("-".join(c), None)
    return list(seen)


def parse_config(name: str) -> Config:
    """``"mnist-relu-l2"`` -> ``("mnist", "relu", "l2")``, one of
    :func:`config_names` (``cifar=True``)."""
    names = config_names(cifar=True)
    if name not in names:
        raise ValueError(f"config={name!r} is not allowed: one of {names}")
    arch, activation, regularizer = name.split("-")
    return arch, activation, regularizer


def steps(config: Config) -> list[tuple[str, Callable[[TrainedEnsemble], object]]]:
    """``(label, step)`` for every result the chapters read about ``config``; each step takes
    the trained ensemble and asks :mod:`nbutils.analysis` for one result (memoized)."""
    out: list[tuple[str, Callable[[TrainedEnsemble], object]]] = [
        ("summary (chapter 1)", lambda e: e.summary()),
        ("measures (chapters 2, 3, 6)", analysis.measures),
        ("dead and always-on neurons", analysis.activity)]
    layers = range(len(_hidden(config)))

    def curves(layer: int, value: str) -> Callable[[TrainedEnsemble], object]:
        return lambda e: analysis.layer_curves(e, layer, value)

    if config == CH2_NETWORK:
        for name, (scheme, bins) in QUANTIZERS.items():
            out.append((f"measures, {name} (chapter 2)",
                        lambda e, s=scheme, b=bins: analysis.measures(e, s, b)))
        out.append(("member 0 (chapter 2)", lambda e: analysis.member_model(e, 0)))
        for l in layers:
            k = int(round(K_FRACTION * _hidden(config)[l]))
            out.append((f"layer {l + 1} curves (chapter 2)", curves(l, "zero")))
            for name in FINE_QUANTIZERS:
                out.append((f"layer {l + 1}, ordered by {name} (chapter 2)",
                            lambda e, l=l, k=k, q=QUANTIZERS[name]:
                            analysis.quantizer_curves(e, l, *q, ks=[0, k])))
    if config in CHAPTER_CONFIGS["fig2"]:
        out.append(("whole network (chapter 4)",
                    lambda e: analysis.whole_network_curves(e, "zero")))
        out.append(("layer 1 curves (chapter 4)", curves(0, "zero")))
    if config in CHAPTER_CONFIGS["fig3"]:
        panel = CHAPTER_CONFIGS["fig3"].index(config)
        value = FIG3_ABLATION_VALUES[panel]
        out += [(f"layer {l + 1} curves, {value} (chapter 5)", curves(l, value)) for l in layers]
    if config == CH5_STRONG:
        out.append(("layer 1 curves (chapter 5, C3)", curves(0, "zero")))
    if config in CHAPTER_CONFIGS["fig4"]:
        out += [(f"layer {l + 1} curves (chapter 6)", curves(l, "zero")) for l in layers]
    if config == CH6_QUANTIZED:
        for name in FINE_QUANTIZERS:
            out.append((f"measures, {name} (chapter 6)",
                        lambda e, q=QUANTIZERS[name]: analysis.measures(e, *q)))
    if config in CHAPTER_CONFIGS["fig3"] or config in CHAPTER_CONFIGS["fig4"][:3]:
        for value in ("zero", "mean"):
            out += [(f"layer {l + 1} curves, {value} (chapter 6, S6)", curves(l, value))
                     for l in layers]
    if config in CH7_CONFIGS:
        out += [(f"layer {l + 1} curves (chapter 7)",
                 lambda e, l=l: analysis.layer_curves(e, l, ks=cifar_grid(e, l)))
                for l in layers]
    if config in CHAPTER_CONFIGS["importance"]:
        for l in layers:
            out += [(f"layer {l + 1} curves (chapter 10)", curves(l, "zero")),
                    (f"layer {l + 1} scores (chapter 10)",
                     lambda e, l=l: analysis.scores(e, l)),
                    (f"layer {l + 1} curves by score (chapter 10)",
                     lambda e, l=l: analysis.score_curves(e, l))]
    return out


def _hidden(config: Config) -> tuple[int, ...]:
    return ARCHITECTURES[config[0]].hidden


def precompute(config: Config, profile: str, *, device: str = "auto",
               preprocessing: str | None = None, seeds: int | SeedRange | None = None,
               log: Callable[[str], None] = print) -> dict[str, float]:
    """Train (or load) ``config`` under ``profile`` and compute every result of :func:`steps`.

    Args:
        config: ``(architecture, activation, regularizer)``.
        profile: a profile name (or :class:`~nbutils.config.Profile`).
        device: ``"auto"`` (default), ``"cpu"`` or ``"cuda[:N]"``.
        preprocessing: the input preprocessing; ``None``: the book's main reading.
        seeds: ``None`` (the profile's number), a number ``N`` of seeds (1..N), or a
            :class:`~nbutils.shards.SeedRange`: one shard (:mod:`nbutils.shards`).
        log: called with one line per step.

    Returns:
        The seconds of each step, by label (a result already cached takes almost none).
    """
    ens = TrainedEnsemble(*config, profile=profile, device=device, preprocessing=preprocessing,
                          seeds=seeds)
    seconds: dict[str, float] = {}
    for label, step in steps(config):   # a result asked twice is loaded the second time
        start = time.perf_counter()
        step(ens)
        seconds[label] = time.perf_counter() - start
        log(f"{ens.config.name}: {label}: {seconds[label]:.1f} s")
    return seconds


def precompute_all(profile: str, *, device: str = "auto",
                   log: Callable[[str], None] = print) -> dict[str, dict[str, float]]:
    """:func:`precompute` for every configuration of :func:`config_names`."""
    return {name: precompute(parse_config(name), profile, device=device, log=log)
            for name in config_names(profile)}


def ship(config: Config, profile: str, *, device: str = "auto",
         preprocessing: str | None = None, seeds: int | SeedRange | None = None) -> list[Path]:
    """Copy the cached results of ``config`` under ``profile`` into the shipped results
    (:data:`nbutils.cache.SHIPPED_RESULTS`), each file with its checksum, atomically; files
    already shipped with the same bytes are left alone.

    Args:
        config: ``(architecture, activation, regularizer)``.
        profile: a profile name (or :class:`~nbutils.config.Profile`).
        device: where the data are loaded to compute the key; default ``"auto"``.
        preprocessing: the input preprocessing; ``None``: the book's main reading.
        seeds: as in :func:`precompute`.

    Returns:
        The files written.
    """
    return ship_ensemble(TrainedEnsemble(*config, profile=profile, device=device,
                                         preprocessing=preprocessing, seeds=seeds))


def ship_ensemble(ens: TrainedEnsemble) -> list[Path]:
    """:func:`ship` for one ensemble (any profile, seeds and preprocessing)."""
    profile = ens.profile.name
    source = cache.results_dir() / ens.name
    if not source.is_dir():
        raise FileNotFoundError(f"no results of {ens.name} in {cache.results_dir()}: run "
                                f"`python -m nbutils.precompute --profile {profile} "
                                f"--config {ens.config.name}` first")
    target = cache.SHIPPED_RESULTS / ens.name
    written = []
    for path in sorted(source.glob("*.npz")):
        data = cache.read_checked(path)   # a corrupt file is quarantined, never shipped
        if data is None:
            continue
        dest = target / path.name
        if dest.exists() and cache.read_checked(dest) == data:
            continue
        cache.write_checked(dest, data)
        written.append(dest)
    return written


def _print_shipped(paths: list[Path]) -> None:
    for path in paths:
        print(f"shipped {path.relative_to(cache.SHIPPED_RESULTS.parent)} "
              f"({os.path.getsize(path) / 1e3:.0f} kB)")


def _print_merge(report: merge.MergeReport) -> None:
    ens = report.ensemble
    print(f"{ens.name}: merged from shards {', '.join(r.label for r in report.shards)}, "
          f"{len(report.written)} files", flush=True)
    print(f"  epochs: {report.epoch['note']}")
    for name, why in report.skipped.items():
        print(f"  NOT MERGED {name}: {why}")


def _argument(parse: Callable[[str], object]) -> Callable[[str], object]:
    """``parse`` for argparse: its message, not argparse's "invalid value", on bad input."""
    def checked(text: str):
        try:
            return parse(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    return checked


def _run(config: Config, args: argparse.Namespace) -> None:
    """What the command line asks for one configuration: a merge, or precompute (and ship)."""
    start = time.perf_counter()
    if args.merge or args.merge_all:
        ranges = args.merge or merge.shard_ranges(config, args.profile,
                                                  preprocessing=args.preprocessing)
        report = merge.merge_shards(config, args.profile, ranges,
                                    preprocessing=args.preprocessing)
        _print_merge(report)
        if args.ship:
            _print_shipped(ship_ensemble(report.ensemble))
        return
    precompute(config, args.profile, device=args.device, preprocessing=args.preprocessing,
               seeds=args.seeds)
    print(f"{'-'.join(config)}: all results in {time.perf_counter() - start:.1f} s", flush=True)
    if args.ship:
        _print_shipped(ship(config, args.profile, device=args.device,
                            preprocessing=args.preprocessing, seeds=args.seeds))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nbutils.precompute",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="paper", choices=PROFILES)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--config", nargs="+", metavar="NAME",
                       help=f"configurations, of: {' '.join(config_names(cifar=True))}")
    which.add_argument("--all", action="store_true",
                       help="every configuration of chapters 1-6")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--preprocessing", default=None, choices=PREPROCESSINGS,
                        help="input preprocessing (default: the book's main reading, "
                             f"{MAIN_PREPROCESSING})")
    task = parser.add_mutually_exclusive_group()
    task.add_argument("--seeds", type=_argument(parse_seeds), default=None, metavar="N|A-B",
                      help="number of seeds N (default: the profile's), or one shard A-B")
    task.add_argument("--merge", nargs="+", type=_argument(SeedRange.parse), metavar="A-B",
                      help="merge these shards (covering seeds 1..N) into the N-seed results")
    task.add_argument("--merge-all", action="store_true",
                      help="merge every shard found in the results cache and shipped results")
    parser.add_argument("--ship", action="store_true",
                        help=f"copy the results into {cache.SHIPPED_RESULTS}")
    args = parser.parse_args(argv)
    get_profile(args.profile)
    try:
        configs = [parse_config(n) for n in (config_names(args.profile) if args.all
                                             else args.config)]
    except ValueError as err:
        parser.error(str(err))
    for config in configs:
        try:
            _run(config, args)
        except ShardError as err:
            parser.exit(2, f"{parser.prog}: error: {err}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
