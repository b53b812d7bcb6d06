"""Chapter 10 (beyond the paper): the information measures next to the field's importance scores
(findings B1-B3).

A *case* is one hidden layer of one network, ``(network title, layer)`` with the layer 0-based.
The chapter reads, per case, every score of :data:`nbutils.importance.SCORES`
(:func:`nbutils.analysis.scores`), the ablation curves ordered by each
(:func:`nbutils.analysis.score_curves`) and the random curves of chapter 5; this module holds
what it shows of them (tables and figures) and its findings rows.
"""
from __future__ import annotations

from collections.abc import Iterable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from .. import analysis, plots
from ..claims import Finding, Reason, pm, render, scale_note
from ..config import CHAPTER_CONFIGS
from ..importance import SCORES
from ..measures import MEASURES
from ..stats import area_gap, format_p, separation_area, separation_gap, wilcoxon_floor
from ..verdicts import (
    ALPHA,
    FINDING_BADGES,
    FINDING_VERDICTS,
    agrees,
    cases_verdict,
    count_verdict,
    finding_verdict,
    not_worse_than,
    orders_better_than_random,
)
from . import Config, Request, hidden, layer_curves

NOTEBOOK = "10_importance_measures"
CONFIGS: tuple[Config, ...] = CHAPTER_CONFIGS["importance"]
FROM_RESULTS = True

LABELS = {name: s.label for name, s in SCORES.items()}
ORACLE = "oracle"   # the single-neuron drop


def requests(config: Config) -> list[Request]:
    """Each network: every layer's curves, the scores of its neurons, and the curves by score."""
    if config not in CONFIGS:
        return []
    out = []
    for l in range(len(hidden(config))):
        out += [Request(f"layer {l + 1} curves (chapter 10)", layer_curves(l)),
                Request(f"layer {l + 1} scores (chapter 10)",
                        lambda e, l=l: analysis.scores(e, l)),
                Request(f"layer {l + 1} curves by score (chapter 10)",
                        lambda e, l=l: analysis.score_curves(e, l))]
    return out


# ------------------------------------------------------------------------- what it shows

def score_table():
    """The registry of scores: label, key and where each comes from."""
    return pd.DataFrame([{"score": s.label, "key": name, "from": s.source}
                         for name, s in SCORES.items()]).set_index("score")


def network_table(nets: dict):
    """The networks (by title): layers, seeds and test accuracy."""

    return pd.DataFrame([{"network": name, "layers": ens.config.architecture.label,
                          "seeds": len(ens.seeds),
                          "test accuracy (%)": pm(100 * ens.summary().test_acc.mean(),
                                                  100 * ens.summary().test_acc.std())}
                         for name, ens in nets.items()]).set_index("network")


def _names(present: Iterable[str]) -> list[str]:
    """The scores of the registry among ``present``, in the registry's order."""
    present = set(present)
    return [name for name in SCORES if name in present]


def mean_rho(a, b) -> float:
    """Spearman's rho over the neurons of one layer, averaged over seeds (constant: left out)."""
    rhos = [spearmanr(x, y).statistic for x, y in zip(a, b) if np.ptp(x) > 0 and np.ptp(y) > 0]
    return float(np.mean(rhos)) if rhos else np.nan


def rank_correlations(scores: dict) -> dict:
    """Per case, the mean Spearman rho (:func:`mean_rho`) of every pair of scores, a square
    DataFrame by score key. ``scores``: case -> score key -> ``(seeds, neurons)``."""
    out = {}
    for case, s in scores.items():
        names = _names(s)
        out[case] = pd.DataFrame([[mean_rho(s[a], s[b]) for b in names] for a in names],
                                 index=names, columns=names)
    return out


def rho_figure(rho: dict):
    """The heat map of :func:`rank_correlations`, mean over the cases."""
    rho_mean = sum(rho.values()) / len(rho)
    names = list(rho_mean.index)
    fig, ax = plt.subplots(figsize=(7.2, 6), layout="constrained")
    image = ax.imshow(rho_mean.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(len(names)), [LABELS[n] for n in names], rotation=45, ha="right")
    ax.set_yticks(range(len(names)), [LABELS[n] for n in names])
    for i in range(len(names)):
        for j in range(len(names)):
            value = rho_mean.iat[i, j]
            ax.text(j, i, "" if np.isnan(value) else f"{value:.2f}", ha="center", va="center",
                    fontsize=7.5, color="white" if abs(value) > 0.6 else "black")
    fig.colorbar(image, ax=ax, label="Spearman rho (mean over seeds and cases)")
    plt.close(fig)
    return fig


def oracle_rho(rho: dict):
    """Each score's rho with the single-neuron drop, one row per case (columns: labels)."""
    table = pd.DataFrame({f"{name}, layer {l + 1}": r.loc[ORACLE].drop(ORACLE)
                          for (name, l), r in rho.items()}).T
    table.columns = [LABELS[n] for n in table.columns]
    return table


def example_figure(curves: dict, random, case: tuple[str, int]):
    """One case: every score's high-first (left) and low-first (right) curve, and random."""

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True, layout="constrained")
    for ax, direction in zip(axes, ("high", "low")):
        k = np.arange(random.shape[1])
        ax.plot(k, 100 * random.mean(0), color="grey", lw=2.5, label="random")
        for name in _names(n.rpartition("-")[0] for n in curves):
            ax.plot(k, 100 * curves[f"{name}-{direction}"].mean(0), color=SCORES[name].color,
                    lw=1.4, ls="--" if name in MEASURES else "-", label=LABELS[name])
        ax.set(title=f"{case[0]}, layer {case[1] + 1}: {direction} first",
               xlabel="neurons ablated", ylabel="test accuracy (%)")
    plots.figure_legend(fig, axes[0], ncol=4)
    plt.close(fig)
    return fig


def separation_table(curves: dict, random: dict):
    """One row per case and score: the area to random of the high-first and the low-first
    curve (:func:`nbutils.stats.area_gap`, points, with p), the separation (mean over seeds of
    :func:`nbutils.stats.separation_area`), whether the score orders the layer better than
    random (:func:`nbutils.verdicts.orders_better_than_random`), and its rank in the case (1:
    best separation). ``curves``: case -> :func:`nbutils.analysis.score_curves`; ``random``:
    case -> random curves ``(seeds, k)``."""
    rows = []
    for case in curves:
        for name in _names(n.rpartition("-")[0] for n in curves[case]):
            high = area_gap(curves[case][f"{name}-high"], random[case])
            low = area_gap(curves[case][f"{name}-low"], random[case])
            sep = separation_area(curves[case][f"{name}-low"], curves[case][f"{name}-high"])
            rows.append({"network": case[0], "layer": case[1] + 1, "score": name,
                         "high first - random": high.mg, "p (high)": high.p,
                         "low first - random": low.mg, "p (low)": low.p,
                         "separation": float(sep.mean()),
                         "better than random": orders_better_than_random(high, low)})
    table = pd.DataFrame(rows)
    table["rank"] = table.groupby(["network", "layer"])["separation"].rank(ascending=False,
                                                                           method="min")
    return table


def separation_view(table):
    """:func:`separation_table` as the chapter shows it (labels, p formatted, rounded)."""
    view = table.assign(score=table["score"].map(LABELS)).set_index(["network", "layer",
                                                                      "score"])
    for column in ("p (high)", "p (low)"):
        view[column] = view[column].map(format_p)
    return view.round({"high first - random": 1, "low first - random": 1, "separation": 1})


def _pivot(table, values: str):
    return table.pivot_table(index="score", columns=["network", "layer"], values=values,
                             sort=False)


def mean_ranks(table):
    """Each score's rank (:func:`separation_table`) averaged over the cases, best first."""
    return _pivot(table, "rank").mean(axis=1).sort_values()


def ranks_figure(table):
    """Every score's separation per case (colour), annotated with its rank; best mean rank on
    top."""
    order = mean_ranks(table).index
    ranks, seps = _pivot(table, "rank").loc[order], _pivot(table, "separation").loc[order]
    fig, ax = plt.subplots(figsize=(10, 5.2), layout="constrained")
    image = ax.imshow(seps.to_numpy(), cmap="viridis", aspect="auto")
    ax.set_yticks(range(len(order)), [LABELS[n] for n in order])
    ax.set_xticks(range(seps.shape[1]), [f"{net}\nlayer {l}" for net, l in seps.columns],
                  rotation=60, ha="right", fontsize=7.5)
    for i in range(ranks.shape[0]):
        for j in range(ranks.shape[1]):
            ax.text(j, i, f"{ranks.iat[i, j]:.0f}", ha="center", va="center", fontsize=8,
                    color="white" if seps.iat[i, j] < np.nanmean(seps.to_numpy()) else "black")
    fig.colorbar(image, ax=ax, label="separation (points)")
    plt.close(fig)
    return fig


def classes_figure(curves: dict, case: tuple[str, int], names: tuple[str, str]):
    """One case: the accuracy on each class as the high-ranked neurons of two scores go first
    (mean over seeds)."""

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True, layout="constrained")
    for ax, name in zip(axes, names):
        per_class = curves[f"{analysis.PER_CLASS}_{name}-high"]   # (k, classes)
        for c in range(per_class.shape[1]):
            ax.plot(100 * per_class[:, c], color=plt.cm.tab10(c), lw=1.3, label=f"class {c}")
        ax.set(title=f"{LABELS[name]}, high first ({case[0]}, layer {case[1] + 1})",
               xlabel="neurons ablated", ylabel="class accuracy (%)")
    plots.figure_legend(fig, axes[0], ncol=5)
    plt.close(fig)
    return fig


def field(table) -> list[str]:
    """The field's scores of :func:`separation_table` (neither the paper's measures nor the
    oracle)."""
    return [n for n in _names(table["score"]) if n not in MEASURES and n != ORACLE]


def best_of_families(table, curves: dict):
    """Per case (finding B2): the paper's measure and the field's score with the largest
    separation, and the separation of the first minus the second
    (:func:`nbutils.stats.separation_gap`): whether the measure is not worse
    (:func:`nbutils.verdicts.not_worse_than`) and whether it is significantly better."""
    rows = []
    for (network, layer), sep in table.groupby(["network", "layer"], sort=False):
        sep = sep.set_index("score")["separation"]
        case = (network, layer - 1)
        best_info, best_field = sep[list(MEASURES)].idxmax(), sep[field(table)].idxmax()
        gap = separation_gap(
            (curves[case][f"{best_info}-low"], curves[case][f"{best_info}-high"]),
            (curves[case][f"{best_field}-low"], curves[case][f"{best_field}-high"]))
        rows.append({"network": network, "layer": layer, "best measure": LABELS[best_info],
                     "best field score": LABELS[best_field], "difference": gap.mg,
                     "p": format_p(gap.p), "not worse": not_worse_than(gap),
                     "better": gap.mg > 0 and gap.p < ALPHA})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- findings

def findings(table, best, oracle, seeds: Iterable[int], profile: str) -> list[Finding]:
    """Findings B1-B3 (rules: :mod:`nbutils.verdicts`, "Our own findings").

    Args:
        table: :func:`separation_table` (B1: the paper's measures against random, per case).
        best: :func:`best_of_families` (B2: the best measure against the best field score).
        oracle: :func:`oracle_rho` (B3: the measures against the single-neuron drop).
        seeds: the seeds of each network.
        profile: the run's profile.

    Returns:
        The rows B1, B2, B3.
    """
    seeds = list(seeds)
    scale = scale_note(profile, seeds, wilcoxon_floor(min(seeds)))

    info = table[table["score"].isin(list(MEASURES))]
    b1 = finding_verdict(cases_verdict(info["better than random"].map(FINDING_BADGES)))
    b1_counts = info["better than random"].value_counts()

    n_not_worse = int(best["not worse"].sum())
    b2 = finding_verdict(count_verdict(n_not_worse, len(best)))
    chance = Reason("note", "the best score of each family is picked on the same run that "
                    "tests it, and the maximum over more scores is the more favoured by chance: "
                    f"here the field's, the best of {len(field(table))} scores against the best "
                    f"of {len(MEASURES)} measures")

    rho = {m: float(oracle[LABELS[m]].mean()) for m in MEASURES}
    b3 = finding_verdict(count_verdict(sum(agrees(r) for r in rho.values()), len(rho)))
    return [
        Finding("B1", "The paper's three measures order neurons better than random (high first "
                "below random, low first above, both significant)",
                f"of {len(info)} (measure, network, layer) cases: "
                + ", ".join(f"{b1_counts.get(v, 0)} {v}" for v in FINDING_VERDICTS
                            if v != "not testable" or b1_counts.get(v, 0)), b1, render((scale,))),
        Finding("B2", "The best of the paper's measures is not worse than the best of the "
                "field's scores (oracle aside), by separation",
                f"not worse in {n_not_worse} of {len(best)} (network, layer) cases, "
                f"significantly better in {int(best['better'].sum())}", b2,
                render((chance, scale))),
        Finding("B3", "The paper's measures agree with the single-neuron drop (mean Spearman rho "
                "of at least 0.5)",
                ", ".join(f"{MEASURES[m].short} {r:.2f}" for m, r in rho.items()), b3,
                "a mean over seeds and the network-layer cases of this chapter"),
    ]
