"""The book's main reading of a choice the paper leaves unstated: the input preprocessing.

The paper does not say how input pixels were preprocessed. Three readings are common
(:mod:`nbutils.data`): pixels in [0, 1] (``"unit"``, torchvision's ``ToTensor``), pixels
standardized per channel (``"standardized"``, PyTorch's examples) and each pixel standardized
on its own (``"per_pixel"``, scikit-learn's ``StandardScaler``). They give different networks:
with inputs in [0, 1] many first-layer ReLUs never fire (:mod:`nbutils.activity`).

**The rule** (:func:`choose_preprocessing`), fixed before any screen result was computed and
before any verdict under the second reading was read. The paper chose its training settings
"to achieve good classification performance while avoiding overfitting", that is, by accuracy
on held-out data. So the main reading is chosen by validation accuracy alone:

1. the *screen* trains every configuration of chapters 1-7 under each reading with the profile
   ``quick`` protocol (full data, epochs chosen by validation) and :data:`SCREEN_SEEDS` seeds;
2. for each configuration, the score of a reading is the mean over its seeds of the
   validation accuracy (on D) of the kept epoch;
3. a reading *wins* a configuration when its score beats every other reading's by at least
   :data:`nbutils.config.MIN_DELTA` (0.05 points, the early-stopping rule's smallest
   improvement); otherwise the configuration is a tie;
4. the main reading is the one that wins the most configurations; among readings with equal
   wins, the one with the highest mean score over all configurations; if that is equal too,
   ``"unit"`` (the reading the book's shipped results use, so no retraining).

Dead shares, test accuracies and the verdicts play no part in the choice; the screen reports
the dead shares because they are what the readings change, and test accuracy only as a check.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import activity, analysis, cache
from .config import ARCHITECTURES, CHAPTER_CONFIGS, MIN_DELTA, PROFILES
from .data import PREPROCESSINGS
from .experiment import TrainedEnsemble

Config = tuple[str, str, str]
SCREEN_PROFILE = "quick"
# seeds per configuration in the screen: it only has to decide between two readings
SCREEN_SEEDS: dict[str, int] = {"mnist": 3, "fashionmnist": 3, "cifar10": 1}
DEFAULT_READING = "unit"
# profile ci (a smoke test of the chapter): one configuration of MNIST and one of CIFAR-10
SMOKE_CONFIGS: tuple[Config, ...] = (("mnist", "relu", "l2"), ("cifar10", "relu", "l2"))


def screen_configs() -> list[Config]:
    """Every configuration of chapters 1-7 (chapter 1's order, then Fig. 5's), without repeats."""
    seen: dict[Config, None] = {}
    for entry in ("fig1", "fig2", "fig3", "fig4", "mnist_all", "fig5"):
        for c in CHAPTER_CONFIGS[entry]:
            seen.setdefault(c, None)
    return list(seen)


def screen_seeds(config: Config) -> int:
    """How many seeds the screen trains for ``config``."""
    return SCREEN_SEEDS[ARCHITECTURES[config[0]].dataset]


def screen_ensemble(config: Config, preprocessing: str, device: str = "auto",
                    profile: str = SCREEN_PROFILE) -> TrainedEnsemble:
    """The screen's ensemble of ``config`` under ``preprocessing`` (another ``profile`` than
    the screen's is for smoke tests)."""
    return TrainedEnsemble(*config, profile=profile, seeds=screen_seeds(config),
                           preprocessing=preprocessing, device=device)


@dataclass(frozen=True)
class ScreenRow:
    """One configuration under one reading: what the screen measured."""

    config: str                  # e.g. "mnist-relu-l2" (without the preprocessing suffix)
    preprocessing: str
    seeds: int
    val_acc: float               # mean validation accuracy of the kept epoch (the rule's score)
    test_acc: float              # mean test accuracy
    chosen_epoch: int
    epochs_trained: int
    dead: tuple[float, ...]      # percent of each hidden layer's neurons dead on training data
    always_on: tuple[float, ...]  # percent always on on the training data
    seconds: float               # training time


def ensemble_row(ens: TrainedEnsemble) -> ScreenRow:
    """The screen's row of a trained (or loadable) ensemble."""
    s = ens.summary()
    layers = analysis.activity(ens)
    share = [activity.shares(layer["dead"], layer["always_on"]) for layer in layers]
    c = ens.config
    return ScreenRow(f"{c.arch}-{c.activation}-{c.regularizer}", c.preprocessing, len(ens.seeds),
                     float(np.mean(s.val_history[s.chosen_epoch - 1])),
                     float(np.mean(s.test_acc)), s.chosen_epoch, len(s.val_history),
                     tuple(x["dead"] for x in share), tuple(x["always_on"] for x in share),
                     s.seconds)


@dataclass(frozen=True)
class Decision:
    """The outcome of :func:`choose_preprocessing`."""

    reading: str
    wins: dict[str, int]          # configurations won by each reading
    ties: int
    mean_score: dict[str, float]  # mean validation accuracy over all configurations
    step: str                     # which step of the rule decided: "wins", "mean", "default"


def choose_preprocessing(scores: dict[str, dict[str, float]],
                         min_delta: float = MIN_DELTA) -> Decision:
    """The rule of the module docstring.

    Args:
        scores: ``{configuration: {reading: mean validation accuracy in [0, 1]}}``; every
            configuration has a score for the same readings (two or more).
        min_delta: the smallest lead over the runner-up that wins a configuration.

    Returns:
        The :class:`Decision`.

    Raises:
        ValueError: no configurations, fewer than two readings, or configurations with
            different readings.
    """
    if not scores:
        raise ValueError("scores: no configurations to decide on")
    readings = list(next(iter(scores.values())))
    if len(readings) < 2:
        raise ValueError(f"scores: the rule compares two or more readings; got {readings}")
    wins = dict.fromkeys(readings, 0)
    ties = 0
    for config, by_reading in scores.items():
        if set(by_reading) != set(readings):
            raise ValueError(f"scores[{config!r}] has readings {sorted(by_reading)}; "
                             f"needs exactly {sorted(readings)}")
        ranked = sorted(readings, key=lambda r: float(by_reading[r]), reverse=True)
        if float(by_reading[ranked[0]]) >= float(by_reading[ranked[1]]) + min_delta:
            wins[ranked[0]] += 1
        else:
            ties += 1
    mean = {r: float(np.mean([s[r] for s in scores.values()])) for r in readings}
    most = max(wins.values())
    leaders = [r for r in readings if wins[r] == most]
    if len(leaders) == 1:
        return Decision(leaders[0], wins, ties, mean, "wins")
    best = max(mean[r] for r in leaders)
    leaders = [r for r in leaders if mean[r] == best]
    if len(leaders) == 1:
        return Decision(leaders[0], wins, ties, mean, "mean")
    return Decision(DEFAULT_READING if DEFAULT_READING in leaders else sorted(leaders)[0],
                    wins, ties, mean, "default")


def decide(rows: Iterable[ScreenRow]) -> Decision:
    """:func:`choose_preprocessing` on the screen's rows."""
    scores: dict[str, dict[str, float]] = {}
    for row in rows:
        scores.setdefault(row.config, {})[row.preprocessing] = row.val_acc
    return choose_preprocessing(scores)


def run_screen(configs: Sequence[Config] | None = None, readings: Sequence[str] = PREPROCESSINGS,
               device: str = "auto", profile: str = SCREEN_PROFILE, log=print,
               ship: bool = False) -> list[ScreenRow]:
    """Train (or load) the screen's ensembles, one configuration and reading at a time.

    Args:
        configs: ``(architecture, activation, regularizer)`` triples; ``None``: every one of
            :func:`screen_configs`.
        readings: the input preprocessings to screen (default: all three).
        device: ``"auto"``, ``"cpu"`` or ``"cuda[:N]"``.
        profile: the screen's (``quick``); ``ci`` for a smoke test.
        log: called with one line per ensemble.
        ship: copy each ensemble's results into the repository's ``results/``.

    Returns:
        One :class:`ScreenRow` per configuration and reading, in that order.
    """
    from .precompute import ship_ensemble

    rows = []
    for config in configs or screen_configs():
        for reading in readings:
            start = time.perf_counter()
            ens = screen_ensemble(config, reading, device, profile)
            row = ensemble_row(ens)
            rows.append(row)
            if ship:
                ship_ensemble(ens)
            log(f"{row.config} [{reading}]: val {100 * row.val_acc:.2f} %, test "
                f"{100 * row.test_acc:.2f} %, epoch {row.chosen_epoch}/{row.epochs_trained}, "
                f"dead {', '.join(f'{d:.1f}' for d in row.dead)} %, "
                f"{time.perf_counter() - start:.0f} s")
    return rows


def row_to_json(row: ScreenRow) -> dict:
    """A :class:`ScreenRow` as a JSON-serialisable dict."""
    return {**asdict(row), "dead": list(row.dead), "always_on": list(row.always_on)}


def row_from_json(data: dict) -> ScreenRow:
    """The inverse of :func:`row_to_json`."""
    return ScreenRow(**{**data, "dead": tuple(data["dead"]),
                        "always_on": tuple(data["always_on"])})


def write_rows(path: Path, rows: Iterable[ScreenRow]) -> None:
    """Write rows as a JSON list, atomically."""
    text = json.dumps([row_to_json(r) for r in rows], indent=1)
    cache.atomic_write_bytes(Path(path), text.encode())


def read_rows(*paths: Path) -> list[ScreenRow]:
    """The rows of one or more files of :func:`write_rows`; a (configuration, reading) that
    appears twice keeps its last row."""
    rows: dict[tuple[str, str], ScreenRow] = {}
    for path in paths:
        for data in json.loads(Path(path).read_text()):
            row = row_from_json(data)
            rows[row.config, row.preprocessing] = row
    return list(rows.values())


def main(argv: list[str] | None = None) -> int:
    from .precompute import parse_config

    parser = argparse.ArgumentParser(prog="python -m nbutils.protocol",
                                     description="The preprocessing screen and its rule.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("screen", help="train (or load) the screen's ensembles")
    run.add_argument("--datasets", nargs="+", default=list(SCREEN_SEEDS),
                     choices=list(SCREEN_SEEDS), help="which datasets' configurations")
    run.add_argument("--configs", nargs="+", default=None, metavar="NAME",
                     help="only these configurations (e.g. cifar10-relu-l2)")
    run.add_argument("--readings", nargs="+", default=list(PREPROCESSINGS),
                     choices=list(PREPROCESSINGS))
    run.add_argument("--device", default="auto")
    run.add_argument("--profile", default=SCREEN_PROFILE, choices=PROFILES,
                     help=f"the screen's is {SCREEN_PROFILE}; another is for smoke tests")
    run.add_argument("--ship", action="store_true",
                     help="copy each ensemble's results into the repository's results/")
    run.add_argument("--rows", type=Path, default=None,
                     help="write the rows measured (JSON) to this file")
    dec = sub.add_parser("decide", help="apply the rule to rows written by `screen --rows`")
    dec.add_argument("rows", nargs="+", type=Path)
    args = parser.parse_args(argv)
    if args.command == "decide":
        rows = read_rows(*args.rows)
        d = decide(rows)
        print(json.dumps({"reading": d.reading, "step": d.step, "wins": d.wins,
                          "ties": d.ties, "mean_score": d.mean_score,
                          "configurations": len({r.config for r in rows})}))
        return 0
    configs = ([parse_config(n) for n in args.configs] if args.configs else
               [c for c in screen_configs() if ARCHITECTURES[c[0]].dataset in args.datasets])
    rows = []
    for config in configs:   # one at a time, so that the rows file grows as they finish
        rows += run_screen([config], args.readings, args.device, args.profile, ship=args.ship)
        if args.rows:
            write_rows(args.rows, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
