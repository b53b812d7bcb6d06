"""Seed shards: the seeds of one configuration trained and analysed in parts.

A *shard* is the ensemble of a range of seeds (:class:`SeedRange`, e.g. seeds 6-10) of one
configuration, profile and preprocessing: ``TrainedEnsemble(..., seeds=SeedRange(6, 10))``. It
is an ensemble of its own (its own cache key, weights and results folder, named
``<config>-<profile>-seeds6-10-<key>``), so it is resumable (every result is memoized as soon as
it is computed: an interrupted shard restarts at its first missing result, and a shard is the
unit of training, so an interruption loses at most one shard's training) and shippable on its
own. :mod:`nbutils.merge` concatenates the per-member results of shards covering seeds 1..N into
the results of the N-seed ensemble.

Members never depend on each other: each draws its initial weights, sample order and Dropout
masks from its own seed, and every result is computed member by member
(``tests/test_ensemble.py::test_member_does_not_depend_on_the_rest_of_the_ensemble``, in
float64). Two things couple them anyway, and shards handle both:

1. **The number of epochs.** A configuration that chooses its epochs by validation applies the
   rule (:class:`nbutils.train.EpochSelector`) to the mean validation accuracy of *all* members.
   The *first shard* (the one holding seed 1) applies the rule to its own members: it keeps
   epoch ``E`` and stops after ``T`` epochs. Every later shard reads ``E`` and ``T`` from the
   first shard's summary (it refuses to start without it: :class:`ShardError`), trains exactly
   ``T`` epochs and keeps the weights after epoch ``E`` (:func:`fixed_epoch_config`). The ``T - E``
   extra epochs give every member the same history, so the merged histories are complete and
   the merge replays the rule on all members: its summary says whether a single run of all the
   seeds would have kept the same epoch (then the merge is that run, up to rounding) or not
   (then it is the first shard's choice applied to all members, and says so). A profile with a
   fixed number of epochs (``ci``) has no choice: any shard may be trained first.
2. **The random orderings** of the random-ablation baseline. A non-sharded ensemble draws them
   from a seed of its cache key, which depends on its number of seeds: the orderings of seed 7
   differ between an ensemble of 10 and one of 35. A shard draws each member's orderings from
   a stream of the configuration (profile, data, package version) and that member's own seed
   (:func:`member_random_orders`), the same in every shard and every way of splitting the
   seeds. Non-sharded ensembles keep the key stream, so their keys and results (the shipped
   ones included) are exactly those they always had.

Merged float32 results equal those of a single run of all seeds only up to rounding, and
training amplifies rounding. Batched kernels block each member's products differently for
ensembles of different sizes (and on different CPUs and GPUs), so a member trained in a shard
of 5 is not bit-identical to the same seed trained among 35, and training can grow those
last-bit differences without bound: CIFAR-10 at profile ``ci`` on a CPU, seed 2 alone or beside
seed 1, gave weights 2e-5 apart (relative) after 5 steps and ~100 % apart after 64, test
accuracies 11.8 % and 14.4 %; in float64 the two were identical. A member of a shard is thus
what a retraining on another kind of machine gives (README, "Results never mix two
trainings"): an equally valid training of its seed by the same rule, not the same weights. The
merge means what a single run means (every member an independent training of its seed, the
ensemble's statistics over them), not that its numbers are that run's numbers; evaluation
(measures, ablation in float64) adds no coupling, so results computed from the same weights
agree to rounding (tests/test_shards.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import torch

from . import __version__, cache, checks
from .config import MAIN_PREPROCESSING, TrainConfig
from .orderings import random_orders
from .train import derive_seed

if TYPE_CHECKING:
    from .experiment import TrainedEnsemble

SHARD = "shard"      # meta key of a shard's summary: its seeds, "6-10"
MERGED = "merged"    # meta key of a merged result: the shards it was merged from
# a gain no accuracy in [0, 1] can make: the rule keeps the first epoch it may choose
NEVER_IMPROVES = 2.0


class ShardError(ValueError):
    """A shard or a merge of shards that is refused; nothing was trained or written."""


class MergedEnsembleError(RuntimeError):
    """A merged ensemble has no weights of its own: a result the merge did not bring cannot be
    computed from it."""


@dataclass(frozen=True, order=True)
class SeedRange:
    """The seeds ``first..last`` (both included) of one shard."""

    first: int
    last: int

    def __post_init__(self):
        if not (checks.is_int(self.first) and checks.is_int(self.last)
                and 1 <= self.first <= self.last):
            raise checks.fail("seeds", f"{self.first}-{self.last}",
                              "a range A-B of seeds with 1 <= A <= B", ShardError)

    @classmethod
    def parse(cls, text: str) -> SeedRange:
        """``"6-10"`` -> ``SeedRange(6, 10)``."""
        match = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", str(text))
        if match is None:
            raise checks.fail("seeds", text, "a range A-B of seeds with 1 <= A <= B, e.g. 6-10",
                              ShardError)
        return cls(int(match[1]), int(match[2]))

    @property
    def seeds(self) -> list[int]:
        return list(range(self.first, self.last + 1))

    @property
    def label(self) -> str:
        return f"{self.first}-{self.last}"

    def __len__(self) -> int:
        return self.last - self.first + 1


def parse_seeds(text: str) -> int | SeedRange:
    """The command line's ``--seeds``: a number ``N`` (seeds 1..N, one ensemble) or a range
    ``A-B`` (one shard)."""
    text = str(text).strip()
    if text.isdigit():
        return checks.positive_int(int(text), "seeds", "a number of seeds, or a range A-B")
    try:
        return SeedRange.parse(text)
    except ShardError:
        raise checks.fail("seeds", text, "a number of seeds N (seeds 1..N) or a range A-B of "
                          "seeds with 1 <= A <= B (one shard), e.g. 35 or 6-10") from None


# ------------------------------------------------------------------------------- the epochs
@dataclass(frozen=True)
class EpochPlan:
    """What a later shard trains: ``trained`` epochs, keeping the weights after ``chosen``, as
    the first shard (seeds ``first``) chose."""

    chosen: int
    trained: int
    first: str


def fixed_epoch_config(config: TrainConfig, chosen: int, trained: int) -> TrainConfig:
    """``config`` training exactly ``trained`` epochs and keeping the weights after epoch
    ``chosen``: the rule of :class:`nbutils.train.EpochSelector` with ``min_epochs=chosen`` and
    a gain no accuracy can make (:data:`NEVER_IMPROVES`), so it keeps the first epoch it may
    choose and stops after ``trained``; with ``chosen == trained``, simply that many epochs."""
    chosen = checks.positive_int(chosen, "chosen")
    trained = checks.positive_int(trained, "trained")
    if chosen > trained:
        raise checks.fail("chosen", chosen, f"at most trained={trained}")
    if chosen == trained:
        return replace(config, epochs=trained, min_epochs=None, patience=0, min_delta=0.0)
    return replace(config, epochs=trained, min_epochs=chosen, patience=trained - chosen,
                   min_delta=NEVER_IMPROVES)


def stored_shards(config_name: str, profile: str) -> dict[str, SeedRange]:
    """Folder name -> seeds of every shard of ``config_name`` under ``profile`` whose results
    are in the results cache or the shipped results (not checked: see :func:`first_shard_plan`)."""
    pattern = re.compile(rf"{re.escape(config_name)}-{re.escape(profile)}"
                         r"-seeds(\d+)-(\d+)-[0-9a-f]{10}")
    found: dict[str, SeedRange] = {}
    for root in (cache.results_dir(), cache.SHIPPED_RESULTS):
        if root.is_dir():
            for folder in root.iterdir():
                match = pattern.fullmatch(folder.name)
                if match and folder.is_dir() and int(match[1]) <= int(match[2]):
                    found[folder.name] = SeedRange(int(match[1]), int(match[2]))
    return dict(sorted(found.items(), key=lambda item: item[1]))


def first_shard_plan(ens: TrainedEnsemble) -> EpochPlan:
    """The epochs of a later shard ``ens``, from the summary of the first shard (seeds 1-B) of
    its configuration, profile, preprocessing and data.

    Raises:
        ShardError: no first shard has a summary, or several disagree on the epochs.
    """
    plans: dict[tuple[int, int], list[str]] = {}
    for name, seeds in stored_shards(ens.config.name, ens.profile.name).items():
        if seeds.first != 1:
            continue
        first = ens.sibling(seeds)
        anchor = first.anchor() if first.name == name else None
        if anchor is not None:
            epochs = (int(anchor.meta["chosen_epoch"]), len(anchor.arrays["val_history"]))
            plans.setdefault(epochs, []).append(seeds.label)
    if not plans:
        raise ShardError(
            f"shard {ens.shard.label} of {ens.config.name} ({ens.profile.name}) needs the first "
            f"shard (seeds 1-B) first: {ens.config.name} chooses its epochs by validation "
            f"({ens.config.epochs_label}), the first shard chooses them and every later shard "
            f"trains as many; none is in {cache.results_dir()} or {cache.SHIPPED_RESULTS}. Run "
            f"`{command(ens, '1-B')}` first")
    if len(plans) > 1:
        listed = "; ".join(f"seeds {', '.join(s)}: epoch {e} of {t}"
                           for (e, t), s in plans.items())
        raise ShardError(f"the first shards of {ens.config.name} ({ens.profile.name}) disagree "
                         f"on the epochs ({listed}): keep one of them")
    (chosen, trained), firsts = next(iter(plans.items()))
    return EpochPlan(chosen, trained, firsts[0])


def command(ens: TrainedEnsemble, seeds: str) -> str:
    """The command line that computes shard ``seeds`` of ``ens``'s configuration."""
    c = ens.config
    reading = "" if c.preprocessing == MAIN_PREPROCESSING else f" --preprocessing {c.preprocessing}"
    return (f"python -m nbutils.precompute --profile {ens.profile.name} --config "
            f"{c.arch}-{c.activation}-{c.regularizer}{reading} --seeds {seeds}")


def key_part(ens: TrainedEnsemble) -> dict:
    """What a shard adds to the cache key: its seeds and, for a later shard of a configuration
    that chooses its epochs, the epochs it trains (``[chosen, trained]``)."""
    plan = ens.epoch_plan
    return {SHARD: ens.shard.label, "epochs": None if plan is None else [plan.chosen,
                                                                          plan.trained]}


def summary_meta(ens: TrainedEnsemble) -> dict:
    """What a shard's summary records besides an ensemble's: its seeds, preprocessing, data
    fingerprint and the first shard its epochs come from (``None``: chosen here, or fixed)."""
    plan = ens.epoch_plan
    return {SHARD: ens.shard.label, "preprocessing": ens.config.preprocessing,
            "data": ens.data.fingerprint, "epochs_from": None if plan is None else plan.first}


# ----------------------------------------------------------------------- the random orderings
def member_stream_seed(ens: TrainedEnsemble, seed: int, stream: str) -> int:
    """The seed of member ``seed``'s random orderings for ``stream`` (``"layer0"``,
    ``"whole"``): of the configuration, profile, data, package version and that seed alone."""
    key = cache.digest(ens.config.digest(), "member", seed, ens.profile.name,
                       ens.data.fingerprint, __version__)
    return derive_seed(int(key[:12], 16), stream) % (2**62)


def member_random_orders(ens: TrainedEnsemble, n: int, stream: str) -> torch.Tensor:
    """``profile.random_draws`` random orderings of ``n`` neurons per member of a shard,
    ``(M, draws, n)``, each member's from its own stream (:func:`member_stream_seed`)."""
    draws = ens.profile.random_draws
    return torch.cat([random_orders(1, n, draws, member_stream_seed(ens, s, stream))
                      for s in ens.seeds])
