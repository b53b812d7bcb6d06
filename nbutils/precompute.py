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
from collections.abc import Callable, Sequence
from pathlib import Path

from . import cache, chapters, merge
from .config import (
    CHAPTER_CONFIGS,
    MAIN_PREPROCESSING,
    PROFILES,
    get_profile,
)
from .data import PREPROCESSINGS
from .experiment import TrainedEnsemble
from .shards import SeedRange, ShardError, parse_seeds

Config = tuple[str, str, str]

CH7_CONFIGS: tuple[Config, ...] = CHAPTER_CONFIGS["fig5"]


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


def steps(config: Config, modules: Sequence[str] = chapters.MODULES
          ) -> list[tuple[str, Callable[[TrainedEnsemble], object]]]:
    """``(label, step)`` for every result the chapters ``modules`` (default: all) read about
    ``config`` (:func:`nbutils.chapters.requests`: each chapter module states its own); each
    step takes the trained ensemble and asks :mod:`nbutils.analysis` for one result
    (memoized)."""
    return [(r.label, r.compute) for r in chapters.requests(config, modules)]


def precompute(config: Config, profile: str, *, device: str = "auto",
               preprocessing: str | None = None, seeds: int | SeedRange | None = None,
               modules: Sequence[str] = chapters.MODULES,
               log: Callable[[str], None] = print) -> dict[str, float]:
    """Train (or load) ``config`` under ``profile`` and compute every result of :func:`steps`.

    Args:
        config: ``(architecture, activation, regularizer)``.
        profile: a profile name (or :class:`~nbutils.config.Profile`).
        device: ``"auto"`` (default), ``"cpu"`` or ``"cuda[:N]"``.
        preprocessing: the input preprocessing; ``None``: the book's main reading.
        seeds: ``None`` (the profile's number), a number ``N`` of seeds (1..N), or a
            :class:`~nbutils.shards.SeedRange`: one shard (:mod:`nbutils.shards`).
        modules: the chapter modules whose results are computed (default: every chapter's;
            e.g. ``("ch01", ..., "ch07")`` for the claims of chapters 1-7 alone).
        log: called with one line per step.

    Returns:
        The seconds of each step, by label (a result already cached takes almost none).
    """
    ens = TrainedEnsemble(*config, profile=profile, device=device, preprocessing=preprocessing,
                          seeds=seeds)
    seconds: dict[str, float] = {}
    for label, step in steps(config, modules):   # a result asked twice is loaded the 2nd time
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
               seeds=args.seeds, modules=args.chapters)
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
    parser.add_argument("--chapters", nargs="+", default=list(chapters.MODULES),
                        choices=chapters.MODULES, metavar="chNN",
                        help="compute only the results these chapter modules read (default: "
                             f"all: {' '.join(chapters.MODULES)})")
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
