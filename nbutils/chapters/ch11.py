"""Chapter 11 (beyond the paper): what the paper left unsaid, the input preprocessing and its
screen (:mod:`nbutils.protocol`; findings U1-U2), the verdicts of chapters 1-7 under both
readings at the paper's scale (:func:`both_readings`), and chapter 7's CIFAR-10 networks under
both readings with the seeds shipped so far (:func:`cifar_runs`).

The screen gives one :class:`nbutils.protocol.ScreenRow` per configuration and reading; this
module holds what the chapter shows of them (table, figure, the numbers of its prose) and its
findings rows.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from myst_nb import glue

from .. import analysis, plots
from ..claims import Finding
from ..config import PREPROCESSING_LABELS
from ..dashboard import chapter_name
from ..verdicts import count_verdict, fewer_dead, finding_verdict
from . import Config, Request, ch07, changes

NOTEBOOK = "11_unstated_choices"
CONFIGS: tuple[Config, ...] = ()
FROM_RESULTS = False

REFERENCE = "unit"                           # the readings are compared with pixels in [0, 1]
READINGS = ("standardized", "per_pixel")     # findings U1, U2
STEPS = {"wins": "by the number of configurations won",
         "mean": "by the mean validation accuracy (equal wins)",
         "default": "by the default (equal wins and means)"}


def requests(config: Config) -> list[Request]:
    """None through :mod:`nbutils.precompute`: the screen ships its own ensembles."""
    return []


def by_config(rows: Iterable) -> dict[str, dict]:
    """The screen's rows by configuration, then by reading."""
    out: dict[str, dict] = {}
    for r in rows:
        out.setdefault(r.config, {})[r.preprocessing] = r
    return out


def screen_table(rows: Iterable):
    """One line per configuration and reading: seeds, accuracies, epochs, dead and always-on
    neurons per layer."""
    return pd.DataFrame([
        {"configuration": r.config, "inputs": r.preprocessing, "seeds": r.seeds,
         "validation (%)": round(100 * r.val_acc, 2), "test (%)": round(100 * r.test_acc, 2),
         "epochs (kept of trained)": f"{r.chosen_epoch} of {r.epochs_trained}",
         "dead, per layer (%)": ", ".join(f"{d:.1f}" for d in r.dead),
         "always on, per layer (%)": ", ".join(f"{a:.1f}" for a in r.always_on)}
        for r in rows]).set_index(["configuration", "inputs"])


def screen_figure(rows: list):
    """Dead first-layer neurons and validation accuracy, one bar per configuration and
    reading."""

    table = by_config(rows)
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.45 * len(table) + 1.6), sharey=True,
                             layout="constrained")
    plots.screen_panel(axes[0], {c: {p: r.dead[0] for p, r in v.items()}
                                 for c, v in table.items()},
                       xlabel="dead neurons in hidden layer 1 (%)")
    plots.screen_panel(axes[1], {c: {p: 100 * r.val_acc for p, r in v.items()}
                                 for c, v in table.items()},
                       xlabel="validation accuracy (%)", legend=False)
    low = min(100 * r.val_acc for r in rows)
    axes[1].set_xlim(max(0.0, low - 5), 100)
    plt.close(fig)
    return fig


def decision_table(decision):
    """The rule's count: configurations won and mean validation accuracy of each reading."""
    return pd.DataFrame({"configurations won": decision.wins,
                         "mean validation accuracy (%)": {r: round(100 * v, 3)
                                                          for r, v in decision.mean_score.items()}})


def mean_note(decision, rows: Iterable, behind: float = 1.0) -> str:
    """A sentence on the chosen reading's mean validation accuracy: whether it is the highest
    too, and if not, the configurations where the chosen reading trails the best one by more
    than ``behind`` points (the rule counts wins, so a few large losses do not move it)."""
    chosen = decision.reading
    mean = {r: 100 * v for r, v in decision.mean_score.items()}
    best = max(mean, key=mean.get)
    if mean[chosen] >= mean[best]:
        return (f"It also has the highest mean validation accuracy over the configurations "
                f"({mean[chosen]:.2f} %).")
    trails = []
    for config, by_reading in by_config(rows).items():
        top = max(by_reading.values(), key=lambda r: r.val_acc)
        gap = 100 * (top.val_acc - by_reading[chosen].val_acc)
        if gap > behind:
            trails.append(f"{config} ({gap:.1f} points behind "
                          f"{PREPROCESSING_LABELS[top.preprocessing]})")
    where = ""
    if trails:
        where = f"; it trails by more than {behind:g} point{'s' * (behind != 1)} in " + \
            ", ".join(trails)
    return (f"Its mean validation accuracy over the configurations is not the highest: "
            f"{mean[chosen]:.2f} % against {mean[best]:.2f} % for "
            f"{PREPROCESSING_LABELS[best]}{where}. The rule counts configurations won and was "
            f"fixed before the screen, so the choice stands; {PREPROCESSING_LABELS[OTHER]}, "
            f"run at the paper's scale below, shows what the choice changes.")


def prose(decision, rows: Iterable) -> dict[str, object]:
    """The numbers and words the prose cites, by glue name."""
    return {"ch11_reading": PREPROCESSING_LABELS[decision.reading], "ch11_ties": decision.ties,
            "ch11_step": STEPS[decision.step], "ch11_n_configs": len(by_config(rows)),
            "ch11_mean_note": mean_note(decision, rows)}


def glue_prose(decision, rows: Iterable) -> None:
    """Glue :func:`prose` (not displayed) for the chapter's text."""
    for name, value in prose(decision, rows).items():
        glue(name, value, display=False)


# ----------------------------------------------------------------------------- findings

def _mean_dead(table: dict, reading: str) -> float:
    return sum(v[reading].dead[0] for v in table.values()) / len(table)


def findings(rows: Iterable) -> list[Finding]:
    """Findings U1 (standardized per channel) and U2 (per pixel): the reading leaves fewer dead
    first-layer ReLUs than pixels in [0, 1] (:func:`nbutils.verdicts.fewer_dead`), counted over
    the ReLU configurations of the screen (:func:`nbutils.verdicts.count_verdict`; none: not
    testable)."""
    relu = {c: v for c, v in by_config(rows).items() if c.split("-")[1] == "relu"}
    out = []
    for i, reading in enumerate(READINGS, start=1):
        cases = {c: fewer_dead(v[reading].dead[0], v[REFERENCE].dead[0]) for c, v in relu.items()}
        worse = [f"{c} ({v[reading].dead[0]:.1f} % against {v[REFERENCE].dead[0]:.1f} %)"
                 for c, v in relu.items() if not cases[c]]
        ours = (f"fewer in {sum(cases.values())} of {len(cases)} ReLU configurations; dead in "
                f"layer 1, mean over configurations: {_mean_dead(relu, reading):.1f} % against "
                f"{_mean_dead(relu, REFERENCE):.1f} %") if relu else "no ReLU configuration"
        out.append(Finding(
            f"U{i}", f"Does {PREPROCESSING_LABELS[reading]} leave fewer dead first-layer ReLUs "
            f"than {PREPROCESSING_LABELS[REFERENCE]}?", ours,
            finding_verdict(count_verdict(sum(cases.values()), len(cases))),
            "not fewer: " + "; ".join(worse) if worse else ""))
    return out


# ---------------------------------------------------------------- verdicts under both readings

OTHER = "standardized"   # the other reading trained at the paper's scale


def both_readings(folders: Iterable[str] = (".",), profile: str = "paper") -> changes.Report:
    """The claims rows of chapters 1-7 recomputed from the shipped results of ``profile`` under
    pixels in [0, 1] and under :data:`OTHER` (:func:`nbutils.chapters.changes.report`; the
    executed chapters read from the first of ``folders`` that holds them, for the order of the
    lines and the links to their rows)."""
    runs = [r for r in changes.shipped_runs()
            if r.profile == profile and r.preprocessing in (REFERENCE, OTHER)]
    return changes.report(list(folders), runs=runs)


def compared_lines(rep: changes.Report) -> pd.DataFrame:
    """The lines of :func:`both_readings` that both readings judge on networks with the same
    seeds (:func:`nbutils.chapters.changes.compared_in`): chapter, claim, the two verdicts and
    whether they are the same."""
    table = rep.table
    names = [r.name for r in rep.runs]
    if len(names) < 2:
        return pd.DataFrame(columns=["chapter", "claim", *names, "same?"])
    both = changes.compared_in(table, changes.Comparison(names[0], names[1], "reading"))
    out = both[["chapter", "claim", *names]].copy()
    out["same?"] = ["yes" if a == b else "no" for a, b in zip(both[names[0]], both[names[1]])]
    return out.reset_index(drop=True)


def readings_table(rep: changes.Report) -> pd.DataFrame:
    """:func:`compared_lines` as the chapter shows it: one line per claims row, indexed by the
    chapter (``"chapter 2"``) and the claim."""
    lines = compared_lines(rep)
    lines["chapter"] = [chapter_name(rep.titles.get(c, c)) for c in lines["chapter"]]
    return lines.set_index(["chapter", "claim"])


def readings_prose(rep: changes.Report) -> dict[str, object]:
    """The numbers and words of the section on verdicts under both readings, by glue name:
    the chapters compared in every row both readings judge, those compared in some rows only
    (with those rows: the others read networks with other seeds), and those not compared (no
    rows under the other reading yet, or only on networks with other seeds), together in one
    clause (``ch11_both_status``); the lines compared, kept and changed (named)."""
    lines = compared_lines(rep)
    titles = rep.titles
    table = rep.table
    pair = [r.name for r in rep.runs[:2]]
    judged = table[(table[pair] != changes.NO_RESULT).all(axis=1)] if len(pair) == 2 \
        else table.iloc[:0]
    other = next((rep.outcomes[r.name] for r in rep.runs if r.preprocessing == OTHER), ())
    done, partial, missing = [], [], []
    for chapter in [o.chapter for o in other]:
        compared = lines[lines["chapter"] == chapter]
        if compared.empty:
            missing.append(chapter)              # no rows there, or all at other seeds
        elif len(compared) < (judged["chapter"] == chapter).sum():
            partial.append(chapter)
        else:
            done.append(chapter)
    changed = lines[lines["same?"] == "no"]
    said = [f"{c} ({a} \u2192 {b})" for c, a, b in
            zip(changed["claim"], *(changed[r.name] for r in rep.runs[:2]))]

    def names(chapters: list[str]) -> str:
        numbers = [chapter_name(titles.get(c, c)).removeprefix("chapter ") for c in chapters]
        if not numbers:
            return "none"
        return f"chapter{'s' * (len(numbers) > 1)} " + ", ".join(numbers)

    some = "; ".join(f"{names([c])} ({', '.join(lines[lines['chapter'] == c]['claim'])})"
                     for c in partial) or "none"
    status = f"that holds for every row of {names(done)}"
    if partial or missing:
        status = "so far " + status
    if partial:
        status += (f", for some rows only of {some} (the others read a network that has other "
                   f"seeds under the second reading)")
    if missing:
        status += f", and not yet for {names(missing)}"
    return {"ch11_both_chapters": names(done), "ch11_both_partial": some,
            "ch11_both_missing": names(missing), "ch11_both_status": status,
            "ch11_both_lines": len(lines), "ch11_both_same": int((lines["same?"] == "yes").sum()),
            "ch11_both_changed": "; ".join(said) if said else "none"}


# ----------------------------------------------------------------- CIFAR-10 under both readings

@dataclass(frozen=True)
class CifarRun:
    """One of chapter 7's networks (``"a"``, ``"b"`` or ``"c"``) at the paper's scale under one
    reading, read from the shipped results: its seeds, test accuracy per seed, share of dead
    ReLUs per hidden layer (%, on the training images, all seeds pooled) and its layer-1
    ablation curves on chapter 7's grid (``ks``)."""
    network: str
    reading: str
    seeds: int
    test_acc: np.ndarray
    dead: tuple[float, ...]
    curves: dict[str, np.ndarray]
    ks: tuple[int, ...]


def cifar_runs(profile: str = "paper") -> list[CifarRun]:
    """Chapter 7's networks (a), (b) and (c) under pixels in [0, 1] and under :data:`OTHER`, every
    one that ships at ``profile``, with the seeds it ships (the other reading's CIFAR-10
    networks are trained in seed shards, so they may have fewer seeds), from the shipped
    results alone (:func:`nbutils.chapters.changes.shipped_only`: nothing is trained)."""
    out = []
    runs = [r for r in changes.shipped_runs()
            if r.profile == profile and r.preprocessing in (REFERENCE, OTHER)]
    with changes.shipped_only():
        for run in runs:
            ensembles = changes.Ensembles(run)
            for (key, name), config in zip(ch07.PANEL_CONFIGS.items(), ch07.CONFIGS):
                if name not in run.seeds:
                    continue
                ens = ensembles(config)
                ks = ch07.cifar_grid(ens, 0)
                out.append(CifarRun(key, run.preprocessing, len(ens.seeds),
                                    np.asarray(ens.summary().test_acc),
                                    tuple(100 * float(a["dead"].mean())
                                          for a in analysis.activity(ens)),
                                    analysis.layer_curves(ens, 0, ks=ks), tuple(ks)))
    return out


def cifar_table(runs: Iterable[CifarRun]) -> pd.DataFrame:
    """Per network and reading: seeds, test accuracy (mean ± std over seeds) and the dead share
    of each hidden layer."""
    return pd.DataFrame([{"network": f"({r.network})", "inputs": PREPROCESSING_LABELS[r.reading],
                          "seeds": r.seeds,
                          "test accuracy (%)": f"{100 * r.test_acc.mean():.1f} ± "
                                               f"{100 * r.test_acc.std():.1f}",
                          "dead, per hidden layer (%)": ", ".join(f"{d:.1f}" for d in r.dead)}
                         for r in runs]).set_index(["network", "inputs"])


def cifar_figure(runs: list[CifarRun]):
    """Layer 1 of chapter 7's networks under each reading (Fig. 5's first column): test accuracy
    against the number of neurons ablated, one panel per network and reading."""
    keys = list(dict.fromkeys(r.network for r in runs))
    readings = list(dict.fromkeys(r.reading for r in runs))
    fig, axes = plt.subplots(len(keys), len(readings), figsize=(4.2 * len(readings) + 0.6,
                                                                3.2 * len(keys) + 0.6),
                             sharey=True, squeeze=False, layout="constrained")
    for r in runs:
        ax = axes[keys.index(r.network), readings.index(r.reading)]
        plots.ablation_panel(ax, r.curves, ks=r.ks, legend=False, fontsize=8,
                             title=f"({r.network}) layer 1, {PREPROCESSING_LABELS[r.reading]}, "
                                   f"{r.seeds} seeds")
    for ax in axes[:, 1:].flat:
        ax.set_ylabel("")
    for ax in axes.flat:
        if not ax.has_data():
            ax.set_visible(False)
    plots.figure_legend(fig, axes[0, 0], ncol=4)
    plt.close(fig)
    return fig
