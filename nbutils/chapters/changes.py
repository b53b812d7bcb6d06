"""Verdict changes between runs: the claims rows of chapters 1-7 recomputed, from the shipped
results alone, for every run whose results ship in ``results/``, and put side by side.

A *run* (:class:`Run`) is a profile and an input reading (:data:`nbutils.data.PREPROCESSINGS`)
with the number of seeds shipped for each configuration; :func:`shipped_runs` finds them from
the folder names of :data:`nbutils.cache.SHIPPED_RESULTS`. :func:`run_claims` gives each
chapter's claims rows for one run by the chapter's own ``claims(...)`` (:mod:`nbutils.chapters`)
on the inputs its notebook builds, read from the shipped results only (``NBUTILS_RESULTS_ONLY``,
the results cache set aside: nothing is trained or computed); a chapter whose results the run
did not ship has no rows and says which result is missing (:class:`Outcome`). The verdict rules
are the chapters' (:mod:`nbutils.verdicts`), unchanged.

:func:`verdict_table` puts the verdicts of several runs side by side, :data:`NO_RESULT` where a
run has no row, with a column that says in which comparison (:class:`Comparison`,
:func:`comparisons`) a verdict changes; :func:`change_counts` counts them and :func:`html` draws
the table for the page "Verdict changes between runs" (``book/verdict_changes.ipynb``).
"""
from __future__ import annotations

import html as html_lib
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from torch.utils.flop_counter import FlopCounterMode

from .. import analysis, cache
from ..claims import Claim
from ..config import (
    ARCHITECTURES,
    CHAPTER_CONFIGS,
    FIG3_ABLATION_VALUES,
    MAIN_PREPROCESSING,
    PREPROCESSING_LABELS,
    PREPROCESSING_SUFFIX,
    PROFILES,
    get_profile,
)
from ..dashboard import ReadingRun, Row, changes_record, chapter_name, collect
from ..data import PREPROCESSINGS, load_dataset
from ..datasets import get_dataset
from ..experiment import TrainedEnsemble
from ..measures import FINE_QUANTIZERS, MEASURES, QUANTIZERS, neuron_measures, one_bit
from ..plots import config_title
from ..report import row_anchors, verdict_class
from . import K_FRACTION, Config, ch01, ch02, ch03, ch04, ch05, ch06, ch07

NO_RESULT = "no result"   # the verdict cell of a run that has no row for a claim
OTHER_SEEDS = "other seeds"   # the column of the comparisons of readings made at other seeds
CHAPTERS = ("ch01", "ch02", "ch03", "ch04", "ch05", "ch06", "ch07")
# chapter 1's parameter `chapters` (its default): the registry entries whose networks it loads
CH01_ENTRIES = ("fig1", "fig2", "fig3", "fig4", "mnist_all")

# <configuration>[-<reading suffix>]-<profile>-<N>seeds-<key>: one ensemble's shipped results
# (a shard, "-seeds6-10-", is not a run of its own and does not match)
_FOLDER = re.compile(r"^(?P<config>[a-z0-9_]+-[a-z0-9]+-[a-z0-9_]+?)(?:-(?P<suffix>std|pix))?"
                     r"-(?P<profile>[a-z]+)-(?P<seeds>\d+)seeds-[0-9a-f]{10}$")
_READING_OF = {suffix: name for name, suffix in PREPROCESSING_SUFFIX.items()}
# a reading in a run's short name (its words: nbutils.config.PREPROCESSING_LABELS)
READING_SHORT = {"unit": "[0, 1]", "standardized": "per channel", "per_pixel": "per pixel"}


class NoResultError(LookupError):
    """A run did not ship a result a chapter's claims read."""


@dataclass(frozen=True)
class Run:
    """The results of one run: its profile, its input reading and, per configuration
    (``"mnist-relu-l2"``, the reading left out), the number of seeds shipped."""
    profile: str
    preprocessing: str
    seeds: Mapping[str, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """``"paper, [0, 1]"``: the profile and the reading, short."""
        return f"{self.profile}, {READING_SHORT[self.preprocessing]}"

    @property
    def reading(self) -> str:
        """The input reading in words, ``"pixels in [0, 1]"``."""
        return PREPROCESSING_LABELS[self.preprocessing]

    @property
    def scale(self) -> str:
        """The seeds per dataset, ``"50 seeds (CIFAR-10: 35)"``: the number of most datasets
        (of ties, the largest), the others named."""
        per_dataset: dict[str, set[int]] = {}
        for config, n in self.seeds.items():
            dataset = get_dataset(ARCHITECTURES[config.split("-")[0]].dataset).display
            per_dataset.setdefault(dataset, set()).add(n)
        counts = {d: "/".join(map(str, sorted(ns))) for d, ns in per_dataset.items()}
        said = list(counts.values())   # the count of most datasets, else the largest
        common = max(set(said), key=lambda n: (said.count(n), int(n.split("/")[0])), default="")
        others = [f"{d}: {n}" for d, n in counts.items() if n != common]
        return f"{common} seeds" + (f" ({'; '.join(others)})" if others else "")

    def seeds_for(self, configs: Iterable[str]) -> dict[str, int]:
        """The seeds shipped for each of ``configs`` (``"mnist-relu-l2"``; 0: none shipped)."""
        return {c: self.seeds.get(c, 0) for c in configs}

    def seeds_of(self, config: Config) -> int:
        """The seeds shipped for ``config``.

        Raises:
            NoResultError: the run shipped no results of ``config``.
        """
        name = "-".join(config)
        if name not in self.seeds:
            raise NoResultError(f"no results of {name} shipped for the run {self.name}")
        return self.seeds[name]


def shipped_runs(folder: Path | str = cache.SHIPPED_RESULTS) -> list[Run]:
    """The runs whose results ship in ``folder`` (default: the repository's ``results/``),
    from its folder names: the main reading first, the larger profiles first, then the other
    readings in the order of :data:`nbutils.data.PREPROCESSINGS`. A configuration shipped with
    several numbers of seeds in one run counts with the largest."""
    found: dict[tuple[str, str], dict[str, int]] = {}
    for path in sorted(Path(folder).iterdir()):
        match = _FOLDER.match(path.name)
        if not path.is_dir() or not match or match["profile"] not in PROFILES:
            continue
        reading = _READING_OF[match["suffix"] or ""]
        seeds = found.setdefault((match["profile"], reading), {})
        seeds[match["config"]] = max(seeds.get(match["config"], 0), int(match["seeds"]))

    def order(key: tuple[str, str]) -> tuple[bool, int, int]:
        profile, reading = key
        return (reading != MAIN_PREPROCESSING, PREPROCESSINGS.index(reading),
                -PROFILES.index(profile))

    return [Run(p, r, dict(found[p, r])) for p, r in sorted(found, key=order)]


@dataclass(frozen=True)
class Comparison:
    """Two runs compared: from ``before`` to ``after`` (their :attr:`Run.name`), and what
    differs between them (``"seeds"`` or ``"reading"``)."""
    before: str
    after: str
    what: str

    @property
    def label(self) -> str:
        """``"quick, [0, 1] → paper, [0, 1]"``."""
        return f"{self.before} \u2192 {self.after}"


def comparisons(runs: Sequence[Run]) -> list[Comparison]:
    """The comparisons the runs allow: under the main reading, each profile against the next
    larger one that shipped (fewer seeds -> more); at each profile, the main reading against each
    other reading shipped."""
    by_profile = {r.profile: r for r in runs if r.preprocessing == MAIN_PREPROCESSING}
    ordered = [by_profile[p] for p in PROFILES if p in by_profile]
    out = [Comparison(a.name, b.name, "seeds") for a, b in zip(ordered, ordered[1:])]
    for run in runs:
        main = by_profile.get(run.profile)
        if run.preprocessing != MAIN_PREPROCESSING and main is not None:
            out.append(Comparison(main.name, run.name, "reading"))
    return out


# ------------------------------------------------------------------ the chapters, from results

class Ensembles:
    """The trained ensembles of one run (loaded, never trained here): each configuration with
    the seeds the run shipped, on the CPU; the data splits shared by the ensembles of one
    dataset."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self._made: dict[Config, TrainedEnsemble] = {}
        self._data: dict[tuple, object] = {}
        self.asked: list[str] = []   # every configuration asked for, in order ("mnist-relu-l2")

    def __call__(self, config: Config) -> TrainedEnsemble:
        self.asked.append("-".join(config))
        if config not in self._made:
            ens = TrainedEnsemble(*config, profile=self.run.profile,
                                  seeds=self.run.seeds_of(config),
                                  preprocessing=self.run.preprocessing, device="cpu")
            arch = ens.config.architecture
            key = (ens.config.dataset, arch.val_fraction, ens.config.preprocessing)
            if key in self._data:   # the same splits (as TrainedEnsemble.sibling shares them)
                ens.__dict__["data"] = self._data[key]
            else:
                self._data[key] = ens.data
            self._made[config] = ens
        return self._made[config]


def _ch01(ens: Ensembles) -> list[Claim]:
    """Chapter 1 as ``book/01_setup.ipynb`` judges it (its default ``chapters``)."""
    needed = list(dict.fromkeys(c for k in CH01_ENTRIES for c in CHAPTER_CONFIGS[k]))
    trained = tuple(ch01.Trained(e.config, s.test_acc, s.val_history, s.chosen_epoch)
                    for e, s in ((e, e.summary()) for e in map(ens, needed)))
    first = sorted({ARCHITECTURES[a].dataset for a, _, _ in needed})[0]
    data = load_dataset(first, **get_profile(ens.run.profile).data_limits)
    run = ch01.Run(trained, CH01_ENTRIES, ens.run.profile,
                   split=(len(data.y_train), len(data.y_val)))
    return ch01.claims(run)


def _ch02(ens: Ensembles) -> list[Claim]:
    """Chapter 2 as ``book/02_measures.ipynb`` judges it (its default network)."""
    exp = ens(ch02.NETWORK)
    meas = analysis.measures(exp)
    activation, data = exp.config.activation, exp.data
    n_classes = data.n_classes
    # the worked example: one neuron of layer 1, seed 1, by hand against the library
    mi_layer = meas[0]["mi"][0]
    neuron = int(np.argsort(mi_layer, kind="stable")[len(mi_layer) // 2])
    network = analysis.member_model(exp, 0)
    outputs = network.hidden_activations(data.x_val)[0][0, :, neuron].cpu()
    t_codes = one_bit(outputs.reshape(1, -1, 1), activation).reshape(-1).numpy()
    counts = np.zeros((2, n_classes))
    np.add.at(counts, (t_codes, data.y_val.cpu().numpy()), 1)
    worked_diff = _worked_difference(counts, meas, neuron)
    # the cost: the validation set repeated r times
    acts = network.hidden_activations(data.x_val)[0].cpu()
    labels = data.y_val.cpu()
    reference = neuron_measures(acts, labels, activation, n_classes=n_classes)
    rows = []
    for r in (1, 2, 4, 8):
        counter = FlopCounterMode(display=False)
        with counter:
            tiled = neuron_measures(acts.repeat(1, r, 1), labels.repeat(r), activation,
                                    n_classes=n_classes)
        flops = counter.get_total_flops()
        rows.append({"repeats r": r, "N": r * len(labels), "matrix-product FLOPs": flops,
                     "FLOPs / (N x neurons)": flops / (r * len(labels) * acts.shape[2]),
                     "largest change of a measure (bits)": max(
                         float((tiled[m] - reference[m]).abs().max()) for m in MEASURES)})
    cost = pd.DataFrame(rows).set_index("repeats r")
    by_quantizer = {name: analysis.measures(exp, scheme, bins)
                    for name, (scheme, bins) in QUANTIZERS.items()}
    widths = exp.config.architecture.hidden
    one_bit_curves = [analysis.layer_curves(exp, layer) for layer in range(len(widths))]
    finer = {(layer, name): analysis.quantizer_curves(exp, layer, *QUANTIZERS[name],
                                                      ks=[0, int(round(K_FRACTION * n))])
             for layer, n in enumerate(widths) for name in FINE_QUANTIZERS}
    results = ch02.Results(worked_diff, cost, ch02.bounds(meas),
                           ch02.rank_correlations(by_quantizer),
                           ch02.quantizer_ablation(one_bit_curves, finer), len(exp.seeds))
    return ch02.claims(results, ens.run.profile)


def _worked_difference(counts: np.ndarray, meas, neuron: int) -> float:
    """Chapter 2's worked example: the largest difference (bits) between Eqs. 3-5 computed by
    hand from the joint counts ``(2, C)`` of one neuron of layer 1, seed 1, and the library's
    measures of it (and its KL spectrum)."""
    p = counts / counts.sum()
    p_t, p_y = p.sum(axis=1), p.sum(axis=0)
    p_t_given_y = p / p_y

    def plogp(q):
        return np.where(q > 0, q * np.log2(np.where(q > 0, q, 1.0)), 0.0)

    h_t = -plogp(p_t).sum()
    h_t_given_y = (p_y * (-plogp(p_t_given_y).sum(axis=0) + 0.0)).sum()
    log_ratio = np.log2(np.where(p_t_given_y > 0, p_t_given_y, 1.0) / p_t[:, None])
    spectrum = (p_t_given_y * log_ratio).sum(axis=0)
    by_hand = {"entropy": h_t, "mi": h_t - h_t_given_y, "kl": spectrum.max()}
    diff = max(abs(by_hand[m] - float(meas[0][m][0, neuron])) for m in MEASURES)
    return max(diff, float(np.abs(spectrum - meas[0]["spectrum"][0, neuron]).max()))


def _ch03(ens: Ensembles) -> list[Claim]:
    """Chapter 3 as ``book/03_fig1_violins.ipynb`` judges it."""
    configs = list(dict.fromkeys([*CHAPTER_CONFIGS["fig1"], *CHAPTER_CONFIGS["mnist_all"]]))
    measures = {ch03.name(c): analysis.measures(ens(c)) for c in configs}
    return ch03.claims(measures, ens.run.profile)


def _ch04(ens: Ensembles) -> list[Claim]:
    """Chapter 4 as ``book/04_whole_network_ablation.ipynb`` judges it (the six panels)."""
    nets, layer1, seeds = {}, {}, []
    for panel, config in zip(ch04.PANELS, CHAPTER_CONFIGS["fig2"]):
        exp = ens(config)
        nets[panel] = ch04.Network(ch04.title(panel, exp.config),
                                   *analysis.whole_network_curves(exp, "zero"),
                                   exp.config.architecture.hidden, "zero")
        layer1[panel] = analysis.layer_curves(exp, 0, "zero")
        seeds.append(len(exp.seeds))
    control = {}   # each panel's control where the run shipped it (a row needs all of its own)
    for p in ch04.CONTROL_PANELS:
        control |= _optional(lambda p=p: {p: analysis.dead_matched_curves(
            ens(CHAPTER_CONFIGS["fig2"][ch04.PANELS.index(p)]))})
    return ch04.claims(nets, layer1, ens.run.profile, seeds, control)


def _optional(load: Callable[[], dict]) -> dict:
    """A control beyond the paper's protocol (a dead-matched baseline), or nothing where the
    run did not ship it: its row is then missing from that run ("no result")."""
    try:
        return load()
    except cache.ResultMissingError:
        return {}


def _ch05(ens: Ensembles) -> list[Claim]:
    """Chapter 5 as ``book/05_layerwise_mnist.ipynb`` judges it (the four panels)."""
    panels, seeds = {}, []
    for letter, config, value in zip(ch05.PANELS, ch05.CONFIGS, FIG3_ABLATION_VALUES):
        exp = ens(config)
        panels[letter] = ch05.Panel(ch05.title(letter, exp.config, value), tuple(
            analysis.layer_curves(exp, layer, value)
            for layer in range(len(exp.config.architecture.hidden))), value)
        seeds.append(len(exp.seeds))
    strong = analysis.layer_curves(ens(ch05.STRONG), 0, "zero")
    return ch05.claims(panels, strong, ens.run.profile, seeds)


def _ch06(ens: Ensembles) -> list[Claim]:
    """Chapter 6 as ``book/06_layerwise_fashionmnist.ipynb`` judges it (panels (a)-(e))."""
    panels = ch06.panels()
    nets = {key: ens(c) for key, c in {**panels, ch06.LARGE_DROPOUT: ch06.FIG1_DROPOUT}.items()}
    titles = ch06.titles({key: e.config for key, e in nets.items()})
    meas = {key: analysis.measures(e) for key, e in nets.items()}
    quantized = {name: analysis.measures(nets["c"], *QUANTIZERS[name])
                 for name in ch06.F1C_QUANTIZERS}
    curves = {(key, layer): analysis.layer_curves(nets[key], layer) for key in panels
              for layer in range(len(nets[key].config.architecture.hidden))}
    s6_nets = {f"Fig. 3({letter})": ens(c) for letter, c in zip("abcd", CHAPTER_CONFIGS["fig3"])}
    s6_nets.update({f"Fig. 4({key})": nets[key] for key in "abc"})
    s6_titles = {name: f"{name} {config_title(e.config)}" for name, e in s6_nets.items()}
    s6 = {(name, layer): {value: analysis.layer_curves(e, layer, value)["random"]
                          for value in ("zero", "mean")}
          for name, e in s6_nets.items() for layer in range(len(e.config.architecture.hidden))}
    layer = ch06.DEAD_MATCHED[1]
    control, last = (_optional(lambda dead=dead: {("c", layer): analysis.dead_matched_curves(
        nets["c"], layer, dead=dead)}) for dead in analysis.DEAD_POSITIONS)
    results = ch06.Results(curves, meas, quantized, s6, names={**titles, **s6_titles},
                           dead_matched=control, dead_last=last)
    return ch06.claims(results, ens.run.profile, [len(e.seeds) for e in nets.values()])


def _ch07(ens: Ensembles) -> list[Claim]:
    """Chapter 7 as ``book/07_layerwise_cifar10.ipynb`` judges it: networks (a) and (b), and
    (c) where the run shipped it (the chapter's parameter ``panels``)."""
    keys = [key for key, c in zip("abc", ch07.CONFIGS)
            if key in "ab" or "-".join(c) in ens.run.seeds]
    nets = {key: ens(c) for key, c in zip("abc", ch07.CONFIGS) if key in keys}
    meas = {key: analysis.measures(e) for key, e in nets.items()}
    act = {key: analysis.activity(e) for key, e in nets.items()}
    grids = {(key, layer): ch07.cifar_grid(e, layer) for key, e in nets.items()
             for layer in range(len(e.config.architecture.hidden))}
    curves = {(key, layer): analysis.layer_curves(nets[key], layer, ks=ks)
              for (key, layer), ks in grids.items()}
    results = ch07.Results(curves, grids, meas, act)
    return ch07.claims(results, ens.run.profile, [len(e.seeds) for e in nets.values()])


LOADERS: dict[str, Callable[[Ensembles], list[Claim]]] = {
    "ch01": _ch01, "ch02": _ch02, "ch03": _ch03, "ch04": _ch04, "ch05": _ch05, "ch06": _ch06,
    "ch07": _ch07}
NOTEBOOKS = {"ch01": ch01.NOTEBOOK, "ch02": ch02.NOTEBOOK, "ch03": ch03.NOTEBOOK,
             "ch04": ch04.NOTEBOOK, "ch05": ch05.NOTEBOOK, "ch06": ch06.NOTEBOOK,
             "ch07": ch07.NOTEBOOK}


@dataclass(frozen=True)
class Outcome:
    """One chapter's claims rows for one run, or (``rows`` empty) why it has none:
    ``missing`` names the first result the run did not ship; ``read``, the configurations the
    chapter read (``"mnist-relu-l2"``), in order."""
    chapter: str              # the notebook, e.g. "04_whole_network_ablation"
    rows: tuple[Claim, ...]
    missing: str = ""
    read: tuple[str, ...] = ()


def networks_of(outcome: Outcome, claim: str | None = None) -> tuple[str, ...]:
    """The configurations the row ``claim`` (an id) of ``outcome`` read
    (:attr:`nbutils.claims.Claim.networks`), or where it names none, or without ``claim``,
    every configuration the chapter read."""
    row = next((r for r in outcome.rows if r.id == claim), None)
    return row.networks if row is not None and row.networks else outcome.read


@contextmanager
def shipped_only() -> Iterator[None]:
    """Read the shipped results and nothing else: ``NBUTILS_RESULTS_ONLY=1`` (nothing trained
    or computed) and an empty results cache in place of ``NBUTILS_RESULTS``; both restored
    after."""
    saved = {name: os.environ.get(name) for name in (cache.ENV_RESULTS_ONLY, cache.ENV_RESULTS)}
    with tempfile.TemporaryDirectory(prefix="nbutils-shipped-only-") as empty:
        os.environ[cache.ENV_RESULTS_ONLY] = "1"
        os.environ[cache.ENV_RESULTS] = empty
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def run_claims(run: Run, chapters: Sequence[str] = CHAPTERS) -> list[Outcome]:
    """Each chapter's claims rows (``chapters``: names of :data:`CHAPTERS`) for ``run``, from
    the shipped results only (:func:`shipped_only`); a chapter that reads a result the run did
    not ship has no rows and says which.

    Raises:
        ValueError: an unknown chapter name.
    """
    unknown = [c for c in chapters if c not in LOADERS]
    if unknown:
        raise ValueError(f"chapters={unknown}: allowed: {list(LOADERS)}")
    out = []
    ensembles = Ensembles(run)
    with shipped_only():
        for chapter in chapters:
            start = len(ensembles.asked)
            try:
                rows = tuple(LOADERS[chapter](ensembles))
            except (NoResultError, cache.ResultMissingError) as err:
                out.append(Outcome(NOTEBOOKS[chapter], (), _missing(err)))
            else:
                read = tuple(dict.fromkeys(ensembles.asked[start:]))
                out.append(Outcome(NOTEBOOKS[chapter], rows, read=read))
    return out


# what a result file holds, by the kind that opens its name (nbutils.analysis)
_KINDS = {"measures": "measures", "whole": "whole-network curves", "layer": "layer-wise curves",
          "quantizer_layer": "curves ordered by finer quantizers", "member": "member weights",
          "summary": "training summary", "activity": "neuron activity"}


def _missing(err: Exception) -> str:
    """What ``err`` says is missing, in a few words: ``"no measures shipped
    (mnist-relu-l2-quick-3seeds-972566eb1a/measures-f5f9b6226747.npz)"``, or the configuration
    the run did not ship."""
    text = str(err)
    found = re.search(r"result (\S+)/(([a-z_]+)-[0-9a-f]+\.npz)", text)
    if not found:
        return text.split(", and ")[0]
    folder, file, kind = found.groups()
    return f"no {_KINDS.get(kind, kind + ' result')} shipped ({folder}/{file})"


# -------------------------------------------------------------------------------- the table

Key = tuple[str, str]   # (chapter notebook, claim as the chapter names it)


def verdicts_of(outcomes: Sequence[Outcome]) -> dict[Key, str]:
    """The verdict of every claims row of a run's outcomes, by (chapter, claim)."""
    return {(o.chapter, c.id): c.verdict for o in outcomes for c in o.rows}


def verdict_table(verdicts: Mapping[str, Mapping[Key, str]], order: Sequence[Key],
                  compared: Sequence[Comparison],
                  same_seeds: Callable[[Key, Comparison], bool] | None = None) -> pd.DataFrame:
    """The verdicts of every run side by side, one line per claims row.

    Args:
        verdicts: run name -> (chapter, claim) -> verdict, one entry per run, in column order.
        order: the lines, (chapter, claim); a claim some run has but ``order`` lacks is added at
            the end.
        compared: the comparisons of the column ``changed?``, between runs of ``verdicts``.
        same_seeds: whether a comparison of readings judges a line's chapter on networks with
            the same seeds in both runs (default: always); one that does not compares nothing
            there (a difference could come from the seeds) and is listed in the column
            :data:`OTHER_SEEDS` instead.

    Returns:
        Columns ``chapter``, ``claim``, one per run (its verdict, :data:`NO_RESULT` where it has
        no row), ``changed?``: the comparisons in which the verdict differs (their labels,
        ``"; "``-joined), ``"no"`` if it differs in none that compare it, :data:`OTHER_SEEDS`
        if none compares it but a comparison of readings has both verdicts at other seeds,
        :data:`NO_RESULT` if none has both; and :data:`OTHER_SEEDS`: the comparisons of
        readings that have both verdicts at other seeds (labels, ``"; "``-joined, or empty).

    Raises:
        ValueError: a comparison names a run that ``verdicts`` lacks.
    """
    unknown = sorted({n for c in compared for n in (c.before, c.after)} - set(verdicts))
    if unknown:
        raise ValueError(f"compared: runs {unknown} are not among {list(verdicts)}")
    keys = list(dict.fromkeys([*order, *(k for v in verdicts.values() for k in v)]))
    lines = []
    for key in keys:
        line = {"chapter": key[0], "claim": key[1],
                **{run: v.get(key, NO_RESULT) for run, v in verdicts.items()}}
        both = [c for c in compared if NO_RESULT not in (line[c.before], line[c.after])]
        apart = [c for c in both if c.what == "reading" and same_seeds is not None
                 and not same_seeds(key, c)]
        both = [c for c in both if c not in apart]
        changed = [c.label for c in both if line[c.before] != line[c.after]]
        line["changed?"] = ("; ".join(changed) if changed else "no" if both
                            else OTHER_SEEDS if apart else NO_RESULT)
        line[OTHER_SEEDS] = "; ".join(c.label for c in apart)
        lines.append(line)
    return pd.DataFrame(lines, columns=["chapter", "claim", *verdicts, "changed?", OTHER_SEEDS])


def compared_in(table: pd.DataFrame, c: Comparison) -> pd.DataFrame:
    """The lines of ``table`` (:func:`verdict_table`) that ``c`` compares: both runs have a
    verdict, at the same seeds for a comparison of readings."""
    apart = table[OTHER_SEEDS].map(lambda labels: c.label in labels.split("; ")) \
        if OTHER_SEEDS in table else False
    return table[(table[c.before] != NO_RESULT) & (table[c.after] != NO_RESULT) & ~apart]


def change_counts(table: pd.DataFrame, compared: Sequence[Comparison]) -> pd.DataFrame:
    """Per comparison: the claims rows it compares (:func:`compared_in`), how many change
    verdict, and the rows it cannot compare (:data:`NO_RESULT` in one run or both, or, for
    readings, verdicts at other seeds)."""
    rows = []
    for c in compared:
        both = compared_in(table, c)
        rows.append({"comparison": c.label, "what differs": c.what, "claims compared": len(both),
                     "verdict changes": int((both[c.before] != both[c.after]).sum()),
                     "no result": len(table) - len(both)})
    return pd.DataFrame(rows, columns=["comparison", "what differs", "claims compared",
                                       "verdict changes", "no result"]).set_index("comparison")


def html(table: pd.DataFrame, runs: Sequence[Run], links: Mapping[Key, str],
         titles: Mapping[str, str] | None = None) -> str:
    """``table`` (:func:`verdict_table`) as an HTML table laid out like the claims dashboard
    (classes ``dashboard-table changes-table``; one card per line on a phone): the claim, linked
    to its row in its chapter (``links``: (chapter, claim) -> address), with the chapter under
    it (``titles``: notebook -> its title); one verdict badge per run (the cell labelled
    ``verdict, <run>``); and ``changed?``. Each line has an id (``changes-f3a``)."""
    esc = html_lib.escape
    titles = titles or {}
    head = "<th>claim</th>" + "".join(
        f'<th>{esc(r.name)} <span class="profile">{esc(r.scale)}</span></th>' for r in runs) \
        + "<th>changed?</th>"
    rows = []
    for anchor, line in zip(row_anchors(table["claim"], prefix="changes"),
                            table.to_dict("records")):
        key = (line["chapter"], line["claim"])
        name, _, part = line["claim"].partition(" ")
        claim = esc(name) + (f' <span class="claim-part">{esc(part)}</span>' if part else "")
        claim = f'<a href="{esc(links[key])}">{claim}</a>' if key in links else claim
        title = titles.get(line["chapter"], line["chapter"])
        claim += f' <span class="profile">{esc(chapter_name(title))}</span>'
        cells = [f'<td data-label="claim">{claim}</td>']
        for r in runs:
            v = line[r.name]
            cells.append(f'<td data-label="verdict, {esc(r.name)}">'
                         f'<span class="verdict {verdict_class(v)}">{esc(v)}</span></td>')
        changed = line["changed?"]
        text = (esc(changed) if changed in ("no", NO_RESULT, OTHER_SEEDS)
                else f"<strong>{esc(changed)}</strong>")
        cells.append(f'<td data-label="changed?">{text}</td>')
        rows.append(f'<tr id="{anchor}">' + "".join(cells) + "</tr>")
    return (f'<table class="dashboard-table changes-table"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


# --------------------------------------------------------------------------------- the page

@dataclass(frozen=True)
class Report:
    """What the page "Verdict changes between runs" shows: the runs, each chapter's outcome per
    run (run name -> outcomes in chapter order), the comparisons, and the claims rows the
    executed chapters recorded (:func:`nbutils.dashboard.collect`: the order of the lines, the
    links to the chapters' rows and the check of :func:`agreement`)."""
    runs: tuple[Run, ...]
    outcomes: Mapping[str, tuple[Outcome, ...]]
    compared: tuple[Comparison, ...]
    records: tuple[Row, ...]

    def _key(self, row: Row) -> Key:
        return (Path(row.chapter).stem, row.claim)

    @property
    def table(self) -> pd.DataFrame:
        """:func:`verdict_table` of the runs, in the order of the chapters' claims tables."""
        return verdict_table({name: verdicts_of(o) for name, o in self.outcomes.items()},
                             [self._key(r) for r in self.records], self.compared,
                             self.same_seeds)

    def seeds_read(self, chapter: str, run: str, claim: str | None = None) -> dict[str, int]:
        """The seeds of each configuration ``chapter`` (a notebook stem) read in ``run`` (its
        name), or, with ``claim``, that its row of that id read (:func:`networks_of`); empty
        where the run has no rows for it."""
        outcome = next((o for o in self.outcomes[run] if o.chapter == chapter), None)
        found = next(r for r in self.runs if r.name == run)
        return {} if outcome is None else found.seeds_for(networks_of(outcome, claim))

    def same_seeds(self, key: Key, c: Comparison) -> bool:
        """Whether the two runs of ``c`` judge the claims row ``key`` on the same
        configurations with the same seeds (those its row reads, else the chapter's)."""
        chapter, claim = key
        return (self.seeds_read(chapter, c.before, claim)
                == self.seeds_read(chapter, c.after, claim))

    @property
    def links(self) -> dict[Key, str]:
        """(chapter, claim) -> its row in the chapter's claims table."""
        return {self._key(r): r.link for r in self.records}

    @property
    def titles(self) -> dict[str, str]:
        """Chapter notebook -> its title."""
        return {Path(r.chapter).stem: r.title for r in self.records}


def record(rep: Report) -> str:
    """The verdicts of every run, by chapter and claim, as the JSON the page glues
    (:data:`nbutils.dashboard.CHANGES_RECORD`) for the claims dashboard's column "same under
    both readings?" (:func:`nbutils.dashboard.both_readings`): each line with its id on this
    page (as :func:`html` draws it) and the verdict of every run that has one."""
    table = rep.table
    apart = {c.label: c.after for c in rep.compared}
    lines = [{"chapter": line["chapter"], "claim": line["claim"], "anchor": anchor,
              "verdicts": {r.name: line[r.name] for r in rep.runs if line[r.name] != NO_RESULT},
              "other_seeds": [apart[label] for label in line[OTHER_SEEDS].split("; ") if label]}
             for anchor, line in zip(row_anchors(table["claim"], prefix="changes"),
                                     table.to_dict("records"))]
    runs = [ReadingRun(r.name, r.profile, r.preprocessing) for r in rep.runs]
    return changes_record(runs, lines)


def report(folders: Sequence[str | Path], runs: Sequence[Run] | None = None,
           chapters: Sequence[str] = CHAPTERS) -> Report:
    """The claims rows of ``chapters`` for every run (default: :func:`shipped_runs`) and the
    records of the executed chapters, each read from the first of ``folders`` that holds it
    (as :func:`nbutils.dashboard.collect`)."""
    runs = shipped_runs() if runs is None else list(runs)
    outcomes = {run.name: tuple(run_claims(run, chapters)) for run in runs}
    records = collect(folders, [f"{NOTEBOOKS[c]}.ipynb" for c in chapters])
    return Report(tuple(runs), outcomes, tuple(comparisons(runs)), tuple(records))


def _numbers(chapters: Sequence[str]) -> str:
    """``"1-7"``, ``"1"``, ``"1, 3"``: chapter notebooks (``"04_..."``) by number."""
    numbers = [int(c[:2]) for c in chapters]
    if len(numbers) > 1 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{numbers[0]}-{numbers[-1]}"
    return ", ".join(map(str, numbers)) or "none"


def runs_table(rep: Report) -> pd.DataFrame:
    """One line per run: reading, seeds, the claims rows computed, the chapters judged
    and, for the others, the first result the run did not ship (several chapters missing the
    same kind of result are said once)."""
    lines = []
    for run in rep.runs:
        outcomes = rep.outcomes[run.name]
        missing: dict[str, list[str]] = {}
        for o in outcomes:
            if not o.rows:
                what = re.sub(r" \(.*\)$", "", o.missing)
                missing.setdefault(what, []).append(str(int(o.chapter[:2])))
        lines.append({"run": run.name, "reading": run.reading, "seeds": run.scale,
                      "claims rows": sum(len(o.rows) for o in outcomes),
                      "chapters judged": _numbers([o.chapter for o in outcomes if o.rows]),
                      "no result": "; ".join(f"chapter{'s' * (len(chs) > 1)} {', '.join(chs)}: "
                                             f"{what}" for what, chs in missing.items()) or "-"})
    return pd.DataFrame(lines).set_index("run")


def agreement(rep: Report) -> str:
    """Whether the rows recomputed for each chapter equal (claim and verdict, in order) those
    its executed notebook records, for the run of its profile under the main reading: one
    sentence."""
    by_chapter: dict[str, list[Row]] = {}
    for r in rep.records:
        by_chapter.setdefault(Path(r.chapter).stem, []).append(r)
    same, differ, other = [], [], []
    n_same = 0
    for chapter, rows in by_chapter.items():
        profile = rows[0].profile
        run = next((r for r in rep.runs if r.profile == profile
                    and r.preprocessing == MAIN_PREPROCESSING), None)
        outcome = None if run is None else next(
            o for o in rep.outcomes[run.name] if o.chapter == chapter)
        if outcome is None or not outcome.rows:
            other.append(f"{chapter_name(rows[0].title)} ({profile})")
        elif [(c.id, c.verdict) for c in outcome.rows] == [(r.claim, r.verdict) for r in rows]:
            same.append(chapter)
            n_same += len(rows)
        else:
            differ.append(chapter_name(rows[0].title))
    parts = []
    if same:
        parts.append(f"the {n_same} rows recomputed here for chapter{'s' * (len(same) > 1)} "
                     f"{_numbers(same)} equal, claim by claim and verdict by verdict, those the "
                     "executed chapters record")
    if differ:
        parts.append(f"they differ from those recorded by {', '.join(differ)} (executed from "
                     "other results than the shipped ones)")
    if other:
        parts.append(f"no shipped run matches the profile of {', '.join(other)}")
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "."


def changes_list(rep: Report) -> str:
    """Per comparison, an HTML list item: the runs, what differs between them, how many claims
    rows it compares and, for each that changes verdict, the claim (linked to its row in its
    chapter) and its two verdict badges."""
    esc = html_lib.escape
    table, links = rep.table, rep.links
    counts = change_counts(table, rep.compared)
    items = []
    for c in rep.compared:
        n = counts.loc[c.label]
        both = compared_in(table, c)
        changed = both[both[c.before] != both[c.after]]
        details = []
        for line in changed.to_dict("records"):
            key = (line["chapter"], line["claim"])
            claim = (f'<a href="{esc(links[key])}">{esc(line["claim"])}</a>' if key in links
                     else esc(line["claim"]))
            details.append(f"{claim} {_badge(line[c.before])} &rarr; {_badge(line[c.after])}")
        what = "more seeds" if c.what == "seeds" else "another reading of the input pixels"
        k = int(n["verdict changes"])
        said = ("no verdict changes" if not k else
                f"{k} change{'s' if k == 1 else ''} verdict: " + "; ".join(details))
        items.append(f"<li><strong>{esc(c.before)} &rarr; {esc(c.after)}</strong> ({what}): "
                     f"{int(n['claims compared'])} claims rows compared, {said}; "
                     f"{int(n['no result'])} without a result in one run or both"
                     + (" (or at other seeds)" if c.what == "reading" else "") + ".</li>")
    return f'<ul class="claims-list">{"".join(items)}</ul>'


def _badge(verdict: str) -> str:
    esc = html_lib.escape
    return f'<span class="verdict {verdict_class(verdict)}">{esc(verdict)}</span>'
