"""Chapter 9, pruning with bias balancing (the technical note, claims P1-P4).

The chapter trains the note's network (:data:`CONFIGS`) and prunes it through
:mod:`nbutils.analysis` (one layer at a time, network-wide and layer by layer, with fine-tuning,
with the course's mask); this module holds what it shows of the results (tables, figures, the
numbers of its prose), the gaps its claims read and its claims rows.

Curves are test accuracies (fractions) ``(seeds, len(counts))``, keyed as
:func:`nbutils.analysis.pruning_curves` keys them (``"<ordering>/<surgery>"``).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from myst_nb import glue

from .. import plots, prune
from ..claims import Claim, Reason, explain, pm, scale_note, why
from ..config import CHAPTER_CONFIGS
from ..orderings import PRUNING
from ..stats import Gap, format_gap, mean_gap
from ..verdicts import (
    P2_SHARE,
    P3_SHARES,
    P4_SHARE,
    balancing_verdict,
    cases_verdict,
    count_verdict,
    direction_verdict,
    layer_by_layer_verdict,
    not_worse_verdict,
    similar_verdict,
)
from . import Config, Request

NOTEBOOK = "09_pruning"
CONFIGS: tuple[Config, ...] = CHAPTER_CONFIGS["pruning"]
FROM_RESULTS = False

SURGERY_TEXT = {"remove": "removal", "balance": "bias balancing"}
P2_MEASURES = ("entropy", "mi", "kl")              # P2: each information measure
P4_MEASURES = ("mi", "kl")                         # P4: the note's measures ...
P4_CRITERIA = ("he-entropy", "he-weight")          # ... against He et al.'s criteria
FINETUNED = {"remove/before": "removal", "balance/before": "bias balancing",   # P3's surgeries
             "remove/after": "removal + fine-tuning",
             "balance/after": "bias balancing + fine-tuning"}
MARKERS = {"remove/before": "o", "balance/before": "s", "remove/after": "^", "balance/after": "D"}
SECONDS = "fine-tuning (s per network)"           # the column of finetune_table


def requests(config: Config) -> list[Request]:
    """None through :mod:`nbutils.precompute`: the chapter trains and prunes its network."""
    return []


# ------------------------------------------------------------------------- what it shows

def setup_table(exp, summary):
    """The note's network as this run trained it: one line."""
    data, cfg, intact = exp.data, exp.config, summary.test_acc
    return pd.DataFrame({
        "network": [cfg.architecture.label], "activation": [cfg.activation],
        "optimizer": [f"{cfg.optimizer}, lr {cfg.lr:g}, batch {cfg.batch_size}"],
        "L2 weight": [cfg.weight_decay],
        "train / validation / test": [f"{len(data.y_train)} / {len(data.y_val)} / "
                                      f"{len(data.y_test)}"],
        "seeds": [len(exp.seeds)], "epochs kept": [summary.chosen_epoch],
        "test accuracy (%)": [pm(100 * intact.mean(), 100 * intact.std())]}
    ).set_index("network")


def layers_figure(per_layer: Sequence[dict], counts: Sequence[int]):
    """Pruning one layer at a time: one panel per layer (rows) and surgery (columns), one curve
    per ordering."""

    fig, axes = plt.subplots(len(per_layer), len(prune.SURGERIES), figsize=(10, 7.4),
                             sharey=True, layout="constrained")
    for layer, row in enumerate(axes):
        for ax, surgery in zip(row, prune.SURGERIES):
            plots.pruning_panel(ax, counts, {o: per_layer[layer][f"{o}/{surgery}"]
                                             for o in PRUNING},
                                title=f"layer {layer + 1}, {SURGERY_TEXT[surgery]}",
                                xlabel=f"neurons removed from layer {layer + 1}")
    plots.figure_legend(fig, axes[0, 0], ncol=3)
    plt.close(fig)
    return fig


def within_table(per_layer: Sequence[dict], counts: Sequence[int], intact: float):
    """Per layer and ordering, for each surgery: the largest number of neurons removed whose
    mean accuracy stays within 1 point of ``intact`` (:func:`nbutils.prune.largest_within`)."""

    table = pd.DataFrame(
        [{"layer": layer + 1, "ordering": PRUNING[o].label,
          **{SURGERY_TEXT[s]: prune.largest_within(curves[f"{o}/{s}"].mean(axis=0), counts,
                                                   intact)
             for s in prune.SURGERIES}}
         for layer, curves in enumerate(per_layer) for o in PRUNING]
    ).set_index(["layer", "ordering"])
    table.columns.name = "largest k within 1 point"
    return table


def with_finetuning(within, tuned_all: dict, counts: Sequence[int], intact: float):
    """:func:`within_table` with two more columns, after fine-tuning (only ``counts`` tried);
    ``tuned_all``: ordering -> per layer :func:`nbutils.analysis.finetuned_pruning`."""
    out = within.copy()
    n_layers = len(next(iter(tuned_all.values())))
    for s, name in (("remove", "removal + fine-tuning"),
                    ("balance", "bias balancing + fine-tuning")):
        out[f"{name} (k = {', '.join(map(str, counts))} tried)"] = [
            prune.largest_within(tuned_all[o][layer][f"{s}/after"].mean(axis=0), counts, intact)
            for layer in range(n_layers) for o in PRUNING]
    return out


def p2_figure(even: dict, wide: dict, totals: Sequence[int], k: int, n_hidden: int):
    """Claim P2: pruning layer by layer (left) and network-wide (right), the claim's ``k``
    dotted.

    Args:
        even: ordering -> curves of layer-by-layer pruning (one column per ``totals``).
        wide: ordering -> curves of network-wide pruning.
        totals: hidden neurons removed in all, per column.
        k: where the claim is read (a value of ``totals``).
        n_hidden: the hidden neurons of the network.

    Returns:
        The figure (closed: glue it to show it).
    """

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.9), sharey=True, layout="constrained")
    for ax, (name, curves) in zip(axes, (("layer by layer", even), ("network-wide", wide))):
        plots.pruning_panel(ax, totals, curves, title=name,
                            xlabel=f"hidden neurons removed (of {n_hidden})")
        ax.axvline(k, color="0.5", linestyle=":", linewidth=1.0)
    plots.figure_legend(fig, axes[0], ncol=3)
    plt.close(fig)
    return fig


def gap_table(gaps: dict[str, Gap], title: str):
    """Gaps by name: MG (points) and p, rounded to 4 decimals."""
    return pd.DataFrame({"MG (points)": {n: g.mg for n, g in gaps.items()},
                         "p": {n: g.p for n, g in gaps.items()}}).rename_axis(title).round(4)


def finetune_table(tuned: Sequence[dict], counts: Sequence[int]):
    """Per layer and ``k`` of ``counts``: the accuracy (%, mean ± std over seeds) after each
    surgery of :data:`FINETUNED`, and the wall time of one fine-tuning (:data:`SECONDS`)."""
    rows = []
    for layer, t in enumerate(tuned):
        for i, k in enumerate(counts):
            rows.append({"layer": layer + 1, "k": k,
                         **{name: pm(100 * t[key][:, i].mean(), 100 * t[key][:, i].std())
                            for key, name in FINETUNED.items()},
                         SECONDS: t["remove/seconds"][:, i].mean()})
    return pd.DataFrame(rows).set_index(["layer", "k"])


def finetune_figure(tuned_all: dict, counts: Sequence[int], hidden: Sequence[int], intact):
    """Every ordering under the four surgeries of :data:`FINETUNED`, one panel per layer and
    ``k``; the intact network dotted."""

    fig, axes = plt.subplots(len(hidden), len(counts), figsize=(10, 6.8), sharey=True,
                             layout="constrained")
    x = np.arange(len(PRUNING))
    for layer, row in enumerate(axes):
        for i, (ax, k) in enumerate(zip(row, counts)):
            for j, (key, label) in enumerate(FINETUNED.items()):
                means = [100 * tuned_all[o][layer][key][:, i].mean()
                         for o in PRUNING]
                ax.plot(x + 0.15 * (j - 1.5), means, MARKERS[key], label=label)
            ax.set_xticks(x, [PRUNING[o].short
                              for o in PRUNING], rotation=30, ha="right",
                          fontsize=8)
            ax.set_title(f"layer {layer + 1}, {k} of {hidden[layer]} removed", fontsize=10,
                         loc="left")
            ax.axhline(100 * intact.mean(), color="0.5", linestyle=":", linewidth=1.0)
            ax.grid(alpha=0.3)
        row[0].set_ylabel("test accuracy (%)")
    plots.figure_legend(fig, axes[0, 0], ncol=4)
    plt.close(fig)
    return fig


def mask_table(per_layer: Sequence[dict], course: Sequence, counts: Sequence[int],
               from_k: int):
    """The note's additive bias balancing beside the course's mask (lowest-MI neurons, mean
    accuracy %), for every ``k`` of ``counts`` from ``from_k`` on."""
    rows = []
    for layer, curves in enumerate(per_layer):
        for k in (k for k in counts if k >= from_k):
            i = list(counts).index(k)
            rows.append({
                "layer": layer + 1, "k": k,
                "removal": 100 * curves["mi/remove"][:, i].mean(),
                "bias balancing (note, additive)": 100 * curves["mi/balance"][:, i].mean(),
                "mask P(T=1) t (course)": 100 * course[layer][:, i].mean()})
    return pd.DataFrame(rows).set_index(["layer", "k"])


def size_figure(per_layer: Sequence[dict], counts: Sequence[int], widths: Sequence[int]):
    """Accuracy after bias balancing against the parameters left (bottom axis) and the FLOPs
    per image (top), one panel per layer."""

    fig, axes = plt.subplots(1, len(per_layer), figsize=(10, 3.9), sharey=True,
                             layout="constrained")
    for layer, ax in enumerate(axes):
        size = np.array([prune.size_after(widths, {layer: k}) for k in counts])  # (params, flops)
        for o in ("mi", "random", "he-weight"):
            ax.plot(size[:, 0] / 1e3, 100 * per_layer[layer][f"{o}/balance"].mean(axis=0),
                    marker="o", ms=3, label=PRUNING[o].label, **plots.pruning_style(o))
        ax.set(xlabel="parameters left (thousands)", title=f"pruning layer {layer + 1}")
        ax.grid(alpha=0.3)
        per_param = (size[0, 1] - size[-1, 1]) / (size[0, 0] - size[-1, 0])  # FLOPs per param
        top = ax.secondary_xaxis("top", functions=(
            lambda p, a=size[0, 0], f=size[0, 1], r=per_param: (f - (a - 1e3 * p) * r) / 1e6,
            lambda m, a=size[0, 0], f=size[0, 1], r=per_param: (a - (f - 1e6 * m) / r) / 1e3))
        top.set_xlabel("MFLOP per image")
    axes[0].set_ylabel("test accuracy (%)")
    plots.figure_legend(fig, axes[0], ncol=3)
    plt.close(fig)
    return fig


def speed_table(nets: dict, data):
    """Size, cost, test accuracy and latency (on this machine) of each network by name."""

    x_test, y_test = data.x_test.cpu().double(), data.y_test.cpu()
    return pd.DataFrame([
        {"network": name, "hidden widths": "-".join(map(str, prune.widths(net)[1:-1])),
         "parameters": prune.parameter_count(net),
         "MFLOP per image": prune.flops_per_sample(net) / 1e6,
         "test accuracy (%)": 100 * prune.accuracy(net, x_test, y_test),
         "batch 1 (µs)": 1e6 * prune.latency(net.float(), 1),
         "batch 1000 (ms)": 1e3 * prune.latency(net.float(), 1000)}
        for name, net in nets.items()]).set_index("network")


def speed_prose(speed) -> dict[str, str]:
    """The numbers the prose cites from :func:`speed_table` (rows ``full`` and ``pruned``), by
    glue name."""
    columns = ["batch 1 (µs)", "batch 1000 (ms)"]
    speedup = speed.loc["full", columns] / speed.loc["pruned", columns]
    share = speed.loc["pruned", "parameters"] / speed.loc["full", "parameters"]
    return {"ch9_speedup_1": f"{speedup.iloc[0]:.1f}", "ch9_speedup_1000": f"{speedup.iloc[1]:.1f}",
            "ch9_param_share": f"{100 * share:.0f}"}


def glue_speed(speed) -> None:
    """Glue :func:`speed_prose` (not displayed) for the chapter's text."""
    for name, value in speed_prose(speed).items():
        glue(name, value, display=False)


# ------------------------------------------------------------------- the gaps claims read

def p2_gaps(even: dict, wide: dict, k: int, totals: Sequence[int]) -> dict[str, Gap]:
    """Claim P2, per measure of :data:`P2_MEASURES`: layer by layer minus network-wide, ``k``
    hidden neurons removed in all (``totals``: the k of each column)."""
    return {m: mean_gap(even[m], wide[m], k, grid=totals) for m in P2_MEASURES}


def p3_gaps(tuned: Sequence[dict], counts: Sequence[int]) -> dict[str, tuple[Gap, Gap]]:
    """Claim P3, per layer and ``k`` of ``counts`` (``tuned``: per layer
    :func:`nbutils.analysis.finetuned_pruning`): bias balancing minus removal, and bias
    balancing minus removal followed by fine-tuning."""
    out = {}
    for layer, t in enumerate(tuned):
        for k in counts:
            out[f"layer {layer + 1}, k = {k}"] = (
                mean_gap(t["balance/before"], t["remove/before"], k, grid=counts),
                mean_gap(t["balance/before"], t["remove/after"], k, grid=counts))
    return out


def p4_gaps(per_layer: Sequence[dict], k: int, counts: Sequence[int]) -> dict[str, Gap]:
    """Claim P4, per layer, measure of :data:`P4_MEASURES` and criterion of
    :data:`P4_CRITERIA`: the measure minus the criterion, ``k`` neurons of the layer removed
    with bias balancing."""
    return {f"layer {layer + 1}, {m} vs {c}": mean_gap(curves[f"{m}/balance"],
                                                       curves[f"{c}/balance"], k, grid=counts)
            for layer, curves in enumerate(per_layer) for m in P4_MEASURES for c in P4_CRITERIA}


# ------------------------------------------------------------------------------ claims

@dataclass(frozen=True)
class Network:
    """The note's network as this run trained it (claim P1)."""
    widths: tuple[int, ...]
    activation: str
    optimizer: str
    lr: float
    batch_size: int
    weight_decay: float
    split: tuple[int, int, int]   # train / validation / test images
    intact: np.ndarray            # (seeds,) test accuracy (fraction) of the full networks

    @classmethod
    def of(cls, exp, summary) -> Network:
        """From the trained ensemble and its summary."""
        cfg, data = exp.config, exp.data
        return cls(tuple(cfg.architecture.widths), cfg.activation, cfg.optimizer, cfg.lr,
                   cfg.batch_size, cfg.weight_decay,
                   (len(data.y_train), len(data.y_val), len(data.y_test)),
                   np.asarray(summary.test_acc))

    @property
    def hidden(self) -> tuple[int, ...]:
        return self.widths[1:-1]

    def as_stated(self) -> dict[str, bool]:
        """Each setting of the note: whether this network has it."""
        return {"784-200-200-10": self.widths == (784, 200, 200, 10),
                "sigmoid": self.activation == "sigmoid",
                "Adam, lr 1e-3": self.optimizer == "adam" and self.lr == 1e-3,
                "batch 32": self.batch_size == 32, "cross-entropy + L2": self.weight_decay > 0,
                "50 000 / 10 000 / 10 000": self.split == (50000, 10000, 10000)}


@dataclass(frozen=True)
class Results:
    """What the claims of chapter 9 read from one run."""
    network: Network
    p2: dict[str, Gap]                 # p2_gaps
    p3: dict[str, tuple[Gap, Gap]]     # p3_gaps
    p4: dict[str, Gap]                 # p4_gaps
    finetune_epochs: int
    finetune_seconds: float            # mean wall time of one fine-tuning (one network)


def _listed(gaps: dict[str, Gap]) -> str:
    return "; ".join(f"{name}: {format_gap(g)}" for name, g in gaps.items())


def _better(gap: Gap) -> str:
    return direction_verdict(gap, +1)


def claims(results: Results, profile: str) -> list[Claim]:
    """Claims P1-P4 by the rules of :mod:`nbutils.verdicts` (P1: :func:`count_verdict` of the
    note's settings; P2-P4: :func:`cases_verdict` of :func:`layer_by_layer_verdict`,
    :func:`balancing_verdict` and :func:`not_worse_verdict`)."""
    net = results.network
    hidden, seeds = net.hidden, len(net.intact)
    scale = scale_note(profile, [seeds])
    return [_p1(net, scale), _p2(results.p2, hidden, scale, profile),
            _p3(results, scale, profile), _p4(results.p4, hidden, scale, profile)]


def _p1(net: Network, scale: Reason) -> Claim:
    stated = net.as_stated()
    verdict = count_verdict(sum(stated.values()), len(stated))
    missing = [name for name, ok in stated.items() if not ok]
    return Claim(
        "P1", "MNIST 784-200-200-10, sigmoid, Adam (lr 1e-3), batch 32, cross-entropy + L2, "
        "50 000 / 10 000 / 10 000 images (course replication)",
        f"trained as stated: {', '.join(n for n, ok in stated.items() if ok)}; "
        f"{len(net.intact)} seeds, test accuracy "
        f"{pm(100 * net.intact.mean(), 100 * net.intact.std())} %",
        verdict, why(verdict, scale, Reason("note", f"not as the note: {', '.join(missing)}")
                     if missing else ()))


def _p2(gaps: dict[str, Gap], hidden: Sequence[int], scale: Reason, profile: str) -> Claim:
    verdict = cases_verdict(layer_by_layer_verdict(g) for g in gaps.values())
    return Claim(
        "P2", "pruning by the information measures must be done layer by layer, not "
        "network-wide (Sec. VI)",
        f"{int(P2_SHARE * sum(hidden))} of {sum(hidden)} hidden neurons removed with bias "
        f"balancing, layer by layer minus network-wide: {_listed(gaps)}",
        verdict, explain(verdict, scale, profile,
                         {m: (g, layer_by_layer_verdict) for m, g in gaps.items()}))


def p3_note(finetune_epochs: int) -> str:
    """What differs where bias balancing loses to fine-tuning (claim P3)."""
    return ("the note and the course give no accuracies and no amounts of pruning for this "
            "claim, so we cannot tell how much pruning \"without significant loss\" refers to; "
            f"we read it at {' and '.join(f'{100 * s:g} %' for s in P3_SHARES)} of a layer, "
            f"against {finetune_epochs} epoch(s) of fine-tuning")


def _p3(results: Results, scale: Reason, profile: str) -> Claim:
    gaps, epochs = results.p3, results.finetune_epochs
    verdict = cases_verdict(balancing_verdict(h, v) for h, v in gaps.values())
    versus = {f"{n}, balancing vs removal + fine-tuning": v for n, (_, v) in gaps.items()}
    checks = {**{f"{n}, balancing vs removal": (h, _better) for n, (h, _) in gaps.items()},
              **{n: (v, similar_verdict) for n, v in versus.items()}}
    return Claim(
        "P3", "bias balancing partly replaces retraining without significant loss",
        "lowest-MI neurons removed; bias balancing minus removal / minus removal + "
        f"{epochs} epoch(s) of fine-tuning: "
        + "; ".join(f"{name}: {format_gap(h)} / {format_gap(v)}" for name, (h, v) in gaps.items())
        + f"; fine-tuning took {results.finetune_seconds:.0f} s per network on this run's "
          "machine",
        verdict, explain(verdict, scale, profile, checks,
                         notes={n: p3_note(epochs) for n in versus}))


def _p4(gaps: dict[str, Gap], hidden: Sequence[int], scale: Reason, profile: str) -> Claim:
    verdict = cases_verdict(not_worse_verdict(g) for g in gaps.values())
    return Claim(
        "P4", "compared with He et al.'s node pruning (activation entropy, outgoing-weight "
        "norm); the material gives no numbers, judged as \"the measures are not worse\"",
        f"{int(P4_SHARE * hidden[0])} of {hidden[0]} neurons of one layer removed with bias "
        f"balancing, measure minus criterion: {_listed(gaps)}",
        verdict, explain(verdict, scale, profile, {n: (g, not_worse_verdict)
                                                   for n, g in gaps.items()}))
