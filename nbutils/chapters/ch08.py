"""Chapter 8, the counterexamples (Examples 1-4, claim M3): constructed networks, no training.

Each example is evaluated by :func:`nbutils.counterexamples.run_example` (an
:class:`~nbutils.counterexamples.ExampleRun`, one row per data draw); this module holds what the
chapter shows of it (tables, figures, the numbers of its prose) and its claims rows.
"""
from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from myst_nb import glue

from ..claims import Claim
from ..verdicts import agree, costs_nothing, is_chance, is_large_drop, is_zero, verdict_from
from . import Config, Request

NOTEBOOK = "08_counterexamples"
CONFIGS: tuple[Config, ...] = ()
FROM_RESULTS = False
NO_INPUT_IMAGES = True   # constructed networks on drawn data: no reading of input pixels applies

E2_K = 3   # Example 2: the three code neurons / the three class-0 detectors
E2_ORDERS = ("kl-low", "kl-high", "mi-low", "mi-high", "spectrum-cover")
CURVES = {  # the orderings each example's table shows
    1: ("dead first", "always-active first", "entropy-low", "entropy-high"),
    2: E2_ORDERS,
    3: ("mi-high", "mi-low", "one duplicate", "both duplicates"),
    4: ("mi-low", "mi-high", "kl-low", "entropy-low"),
}
PANELS = {  # the figure of all four: one panel per example, its title and orderings
    1: ("Example 1: dead vs always active", ("entropy-low", "dead first", "always-active first")),
    2: ("Example 2: easy class", ("kl-low", "kl-high", "mi-low", "spectrum-cover")),
    3: ("Example 3: duplicates", ("mi-high", "mi-low")),
    4: ("Example 4: XOR", ("mi-low", "mi-high", "entropy-low")),
}


def requests(config: Config) -> list[Request]:
    """None: the examples are built by hand, not trained."""
    return []


# ------------------------------------------------------------------------- what it shows

def neuron_table(run):
    """The one-bit measures of every neuron (mean over draws), plus 4 uniform bins; for
    Example 2 also the maximizer of Eq. (5) of each neuron over all draws."""
    table = run.neuron_table()
    table["entropy, 4 bins"] = run.extra["uniform4_entropy"].mean(axis=0)
    table["mi, 4 bins"] = run.extra["uniform4_mi"].mean(axis=0)
    if run.example.number == 2:
        maximizers = _maximizers(run)
        table["Eq. 5 maximizer (all draws)"] = [
            ", ".join(str(c) for c in sorted(set(maximizers[:, j].tolist())))
            for j in range(maximizers.shape[1])]
    return table.round(3)


def curve_table(run):
    """Mean test accuracy (%) over the draws after ablating k neurons, one row per ordering of
    :data:`CURVES`."""
    return run.curve_table(CURVES[run.example.number]).round(1)


def per_class_table(run, k: int = E2_K):
    """Example 2: accuracy (%) per class after ``k`` ablations, one row per ordering of
    :data:`E2_ORDERS` (mean over draws)."""
    n_classes = run.measures["spectrum"].shape[2]
    table = pd.DataFrame(
        {name: 100 * np.nanmean(run.per_class[name][:, k], axis=0) for name in E2_ORDERS},
        index=[f"class {c}" for c in range(n_classes)]).T
    table.index.name = f"accuracy (%) per class after {k} ablations"
    return table.round(1)


def pair_table(run, draws: Sequence[int]):
    """Example 4: per draw, the information of each XOR neuron, of the pair, and H(Y)."""
    mi_pair = run.measures["mi"][:, :2]
    return pd.DataFrame({"I(T_0;Y)": mi_pair[:, 0], "I(T_1;Y)": mi_pair[:, 1],
                         "I(T_0 T_1;Y)": run.extra["joint_mi"],
                         "H(Y)": run.extra["label_entropy"]},
                        index=pd.Index(draws, name="draw")).round(6)


def spectrum_figure(run):
    """Example 2, first draw: the specific information of every neuron about every class."""
    spectra = run.measures["spectrum"]                       # (draws, neurons, classes)
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    image = ax.imshow(spectra[0], cmap="viridis", aspect="auto", vmin=0)
    ax.set(xlabel="class y", ylabel="neuron", xticks=range(spectra.shape[2]),
           yticks=range(spectra.shape[1]), yticklabels=list(run.example.roles),
           title="specific information spectrum (first draw)")
    for j in range(spectra.shape[1]):
        for c in range(spectra.shape[2]):
            ax.text(c, j, f"{spectra[0, j, c]:.2f}", ha="center", va="center", fontsize=8,
                    color="white" if spectra[0, j, c] < 0.5 * spectra[0].max() else "black")
    fig.colorbar(image, ax=ax, label="D(P_T|Y=y || P_T) (bits)")
    fig.tight_layout()
    plt.close(fig)
    return fig


def curves_figure(runs: Sequence):
    """The ablation curves of the four examples (mean over draws), the orderings of
    :data:`PANELS`."""
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.4), sharey=True)
    for ax, run in zip(axes.flat, runs):
        title, names = PANELS[run.example.number]
        for offset, name in enumerate(names):
            mean = 100 * run.curves[name].mean(axis=0)
            ks = np.arange(mean.size)
            ax.plot(ks + 0.03 * (offset - len(names) / 2), mean, marker="o", ms=4, label=name)
        ax.set(title=title, xlabel="neurons ablated k", xticks=ks)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9)
    for ax in axes[:, 0]:
        ax.set_ylabel("test accuracy (%)")
    fig.tight_layout()
    plt.close(fig)
    return fig


def _maximizers(run) -> np.ndarray:
    """The class maximizing Eq. (5), per draw and neuron (Example 2)."""
    return run.measures["spectrum"].argmax(axis=2)


def _top2(run) -> bool:
    """Example 3: the duplicates (neurons 0 and 1) are the MI top 2 in every draw."""
    return all(set(row[:2].tolist()) == {0, 1} for row in run.orders["mi-high"])


def _mean(values) -> float:
    return float(np.mean(values))


def _pct(accuracies) -> float:
    """Mean accuracy (fractions) in percent."""
    return float(100 * accuracies.mean())


def prose(run) -> dict[str, float | str]:
    """The numbers the prose of ``run``'s example cites, by glue name."""
    number, m, c, x = run.example.number, run.measures, run.curves, run.extra
    intact = _pct(run.intact)
    if number == 1:
        return {"ch8_e1_h4": _mean(x["uniform4_entropy"][:, 0]),
                "ch8_e1_h_max": float(m["entropy"][:, :2].max()) + 0.0,  # + 0.0: no -0.0
                "ch8_e1_intact": intact,
                "ch8_e1_dead": _mean(100 * c["dead first"][:, 1]),
                "ch8_e1_active": _mean(100 * c["always-active first"][:, 1]),
                "ch8_e1_mi4": _mean(x["uniform4_mi"][:, 0])}
    if number == 2:
        kl_low = 100 * run.per_class["kl-low"][:, E2_K]          # (draws, classes)
        return {"ch8_e2_kl_det": _mean(m["kl"][:, :3]), "ch8_e2_kl_code": _mean(m["kl"][:, 3:]),
                "ch8_e2_mi_det": _mean(m["mi"][:, :3]), "ch8_e2_mi_code": _mean(m["mi"][:, 3:]),
                "ch8_e2_all_class0": ("is class 0 for every neuron in every draw"
                                      if (_maximizers(run) == 0).all()
                                      else "is not class 0 for every neuron in every draw"),
                "ch8_e2_intact": intact,
                "ch8_e2_kl_low_total": _pct(c["kl-low"][:, E2_K]),
                "ch8_e2_kl_low_class0": _mean(kl_low[:, 0]),
                "ch8_e2_kl_low_others": float(kl_low[:, 1:].max()),
                "ch8_e2_kl_high": _mean(100 * c["kl-high"][:, E2_K]),
                "ch8_e2_cover_k2": _mean(100 * c["spectrum-cover"][:, 2]),
                "ch8_e2_kl_low_k1": _pct(c["kl-low"][:, 1])}
    if number == 3:
        return {"ch8_e3_mi": _mean(m["mi"][:, :2]),
                "ch8_e3_one": _pct(c["one duplicate"][:, 1]),
                "ch8_e3_both": _pct(c["both duplicates"][:, 2]),
                "ch8_e3_top2": "in every draw" if _top2(run) else "not in every draw",
                "ch8_e3_intact": intact}
    return {"ch8_e4_joint": _mean(x["joint_mi"]), "ch8_e4_mi_noisy": _mean(m["mi"][:, 2]),
            "ch8_e4_mi_low_k1": _pct(c["mi-low"][:, 1]), "ch8_e4_intact": intact,
            "ch8_e4_single_max": float(m["mi"][:, :2].max()),
            "ch8_e4_mi_high_k2": _pct(c["mi-high"][:, 2])}


def glue_prose(run) -> None:
    """Glue :func:`prose` of ``run`` (not displayed) for the chapter's text."""
    for name, value in prose(run).items():
        glue(name, value, display=False)


# ------------------------------------------------------------------------------ claims

def claims(runs: Sequence, n_samples: int) -> list[Claim]:
    """Claim M3, one row per example: each construction fails as the paper says (rules of
    :mod:`nbutils.verdicts`: a zero measure, an ablation that costs nothing, one that costs at
    least :data:`~nbutils.verdicts.LARGE_DROP` points, chance accuracy), in every draw.

    Args:
        runs: the :class:`~nbutils.counterexamples.ExampleRun` s of Examples 1-4, in order.
        n_samples: the samples of D (and of the test set) in each draw.
    """
    r1, r2, r3, r4 = runs
    n_draws = f"{len(r1.seeds)} draws of {n_samples} samples"
    return [_example1(r1, n_draws), _example2(r2), _example3(r3), _example4(r4)]


def _example1(r1, n_draws: str) -> Claim:
    dead, active = r1.curves["dead first"][:, 1], r1.curves["always-active first"][:, 1]
    ok = (is_zero(r1.measures["entropy"][:, :2]) and costs_nothing(r1.intact, dead)
          and is_large_drop(r1.intact, active))
    return Claim(
        "M3 (Ex. 1)", "ReLU + one bit: entropy cannot tell dead neurons from always-active "
        "ones, though the latter may matter",
        f"H = {float(r1.measures['entropy'][:, :2].max()) + 0.0:.3f} bits for both; accuracy "
        f"{100 * r1.intact.mean():.1f} % intact, {(100 * dead).mean():.1f} % without the dead "
        f"neuron, {(100 * active).mean():.1f} % without the always-active one ({n_draws})",
        verdict_from(ok))


def _example2(r2) -> Claim:
    all_class0 = bool((_maximizers(r2) == 0).all())
    kl_low = 100 * r2.per_class["kl-low"][:, E2_K]          # (draws, classes)
    kl_high = 100 * r2.curves["kl-high"][:, E2_K]
    ok = bool(all_class0 and (kl_low[:, 0] == 100).all() and (kl_low[:, 1:] == 0).all()
              and costs_nothing(r2.intact, r2.curves["kl-high"][:, E2_K]))
    return Claim(
        "M3 (Ex. 2)", "C > 2: KL selectivity can rank all neurons by how well they single out "
        "one easy class; ablation by it leaves a net that recognizes only that class",
        f"Eq. 5 maximizer = class 0 for all neurons: {all_class0}; after ablating the "
        f"{E2_K} lowest-KL neurons: class 0 {kl_low[:, 0].mean():.1f} %, other classes at most "
        f"{kl_low[:, 1:].max():.1f} %; {E2_K} highest-KL ablated: {kl_high.mean():.1f} % "
        f"(intact {100 * r2.intact.mean():.1f} %)",
        verdict_from(ok))


def _example3(r3) -> Claim:
    top2 = _top2(r3)
    one, both = r3.curves["one duplicate"][:, 1], r3.curves["both duplicates"][:, 2]
    ok = top2 and costs_nothing(r3.intact, one) and is_large_drop(r3.intact, both)
    return Claim(
        "M3 (Ex. 3)", "duplicated neurons both rank high by MI, yet each is redundant",
        f"duplicates are the MI top-2 in every draw: {top2}; accuracy "
        f"{100 * one.mean():.1f} % with one ablated, {100 * both.mean():.1f} % with both",
        verdict_from(ok))


def _example4(r4) -> Claim:
    mi_pair, joint, h_y = r4.measures["mi"][:, :2], r4.extra["joint_mi"], r4.extra["label_entropy"]
    ok = (is_zero(mi_pair) and agree(joint, h_y)
          and is_chance(r4.curves["mi-low"][:, 1], r4.example.n_classes))
    return Claim(
        "M3 (Ex. 4)", "XOR: I(T_j;Y) = I(T_k;Y) = 0 but I(T_j T_k;Y) = H(Y)",
        f"max single I = {float(mi_pair.max()):.1e} bits, I(T_0 T_1;Y) = {joint.mean():.3f} "
        f"bits = H(Y) (largest gap {float(np.abs(joint - h_y).max()):.0e}); MI-low ablation: "
        f"{100 * r4.curves['mi-low'][:, 1].mean():.1f} % after one neuron",
        verdict_from(ok))
