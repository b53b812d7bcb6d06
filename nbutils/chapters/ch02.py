"""Chapter 2, the measures (Sec. IV, Eqs. 1-5): entropy, mutual information, KL selectivity, their
bounds and quantizers (claims M1, M2, S5).

Besides what :mod:`nbutils.precompute` computes (``requests``), the tables the chapter shows
from the measures and curves of its network (:func:`bounds`, :func:`maximizers`,
:func:`rank_correlations`, :func:`layer_medians`, :func:`quantizer_ablation`), the numbers its
prose glues, and its claims (:func:`claims`).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from .. import analysis
from ..claims import Claim, Reason, explain, scale_note
from ..measures import FINE_QUANTIZERS, MEASURES, QUANTIZERS
from ..stats import format_gap, mean_gap, wilcoxon_floor
from ..verdicts import ZERO_TOL as TOL  # bits: zero, and bounds, up to rounding
from ..verdicts import agree, cases_verdict, similar_verdict, verdict_from
from . import K_FRACTION, Config, Request, hidden, layer_curves

NOTEBOOK = "02_measures"
NETWORK: Config = ("mnist", "relu", "dropout")   # the chapter's default network
CONFIGS: tuple[Config, ...] = (NETWORK,)
FROM_RESULTS = True


def requests(config: Config) -> list[Request]:
    """The default network: its measures under every quantizer, member 0's weights, each
    layer's curves, and the orderings by the finer quantizers at k = 80 % of the layer."""
    if config != NETWORK:
        return []
    out = [Request(f"measures, {name} (chapter 2)",
                   lambda e, s=scheme, b=bins: analysis.measures(e, s, b))
           for name, (scheme, bins) in QUANTIZERS.items()]
    out.append(Request("member 0 (chapter 2)", lambda e: analysis.member_model(e, 0)))
    for layer, width in enumerate(hidden(config)):
        k = int(round(K_FRACTION * width))
        out.append(Request(f"layer {layer + 1} curves (chapter 2)", layer_curves(layer)))
        for name in FINE_QUANTIZERS:
            out.append(Request(f"layer {layer + 1}, ordered by {name} (chapter 2)",
                               lambda e, l=layer, k=k, q=QUANTIZERS[name]:
                               analysis.quantizer_curves(e, l, *q, ks=[0, k])))
    return out


# ------------------------------------------------------------------ the tables the chapter shows

# one dict per hidden layer: measure ("entropy", "mi", "kl") -> (seeds, neurons) bits, and
# "spectrum" -> (seeds, neurons, classes), as nbutils.analysis.measures gives them
LayerMeasures = list[dict[str, np.ndarray]]


def bounds(meas: LayerMeasures) -> pd.DataFrame:
    """Claim M2's check, per hidden layer and over all (row ``"all"``): how many neuron-seed
    pairs violate ``I <= H``, ``H <= 1`` bit or ``I <= KL`` (up to
    :data:`nbutils.verdicts.ZERO_TOL`), the largest ``I - H`` and smallest ``KL - I``, how many
    have ``KL > H``, and how many have ``I = 0``, ``KL = 0``, both, and ``H = 0``."""
    rows = []
    for l, d in enumerate(meas):
        h, i, kl = d["entropy"].ravel(), d["mi"].ravel(), d["kl"].ravel()
        rows.append({"layer": l + 1, "neurons x seeds": h.size,
                     "I > H": int(np.sum(i > h + TOL)), "H > 1 bit": int(np.sum(h > 1 + TOL)),
                     "I > KL": int(np.sum(i > kl + TOL)),
                     "max I - H": float((i - h).max()), "min KL - I": float((kl - i).min()),
                     "KL > H": int(np.sum(kl > h + TOL)),
                     "I = 0": int(np.sum(i <= TOL)), "KL = 0": int(np.sum(kl <= TOL)),
                     "I = 0 and KL = 0": int(np.sum((i <= TOL) & (kl <= TOL))),
                     "H = 0": int(np.sum(h <= TOL))})
    table = pd.DataFrame(rows).set_index("layer")
    table.loc["all"] = table.sum(numeric_only=True)
    table.loc["all", "max I - H"] = table["max I - H"].iloc[:-1].max()
    table.loc["all", "min KL - I"] = table["min KL - I"].iloc[:-1].min()
    return table


def _m2_counts(table: pd.DataFrame) -> tuple[int, int, int, int]:
    """Violations of a bound, pairs with I = 0, with KL = 0, with both (row ``"all"``)."""
    every = table.loc["all"]
    return (int(every[["I > H", "H > 1 bit", "I > KL"]].sum()), int(every["I = 0"]),
            int(every["KL = 0"]), int(every["I = 0 and KL = 0"]))


def bounds_notes(meas: LayerMeasures) -> dict[str, object]:
    """The numbers the prose of claim M2 glues (``ch2_total``, ``ch2_violations``, the pairs with
    ``I = 0``, ``KL = 0`` or both, those with ``I = 0`` but non-zero entropy, the sentence on
    small entropies and the share with ``KL > H``), all seeds and layers pooled."""
    all_h, all_i, all_kl = (np.concatenate([d[m].ravel() for d in meas]) for m in MEASURES)
    violations, n_i_zero, n_kl_zero, n_both_zero = _m2_counts(bounds(meas))
    low_h = all_h < 0.1
    max_i_low_h = float(all_i[low_h].max()) if low_h.any() else float("nan")
    return {"ch2_kl_above_h": 100 * float(np.mean(all_kl > all_h + TOL)),
            "ch2_total": all_h.size, "ch2_violations": violations, "ch2_i_zero": n_i_zero,
            "ch2_kl_zero": n_kl_zero, "ch2_both_zero": n_both_zero,
            "ch2_i_zero_h_pos": int(np.sum((all_i <= TOL) & (all_h > TOL))),
            "ch2_low_h_sentence":
                f"The {int(low_h.sum())} pairs with entropy below 0.1 bit have mutual information "
                f"of at most {max_i_low_h:.3f} bits" if low_h.any() else
                "No neuron has entropy below 0.1 bit here, so the bound is only seen in the "
                "scatter plot"}


def maximizers(meas: LayerMeasures) -> pd.DataFrame:
    """Per hidden layer, how many neuron-seed pairs have each class as the maximizer of their
    spectrum (the class of their KL selectivity, Eq. 5)."""
    n_classes = meas[0]["spectrum"].shape[2]
    return pd.DataFrame(
        [np.bincount(np.nan_to_num(d["spectrum"], nan=-1.0).argmax(axis=2).ravel(),
                     minlength=n_classes) for d in meas],
        index=pd.Index([f"layer {l + 1}" for l in range(len(meas))], name="maximizer class"),
        columns=[f"y={c}" for c in range(n_classes)])


def maximizer_notes(counts: pd.DataFrame) -> dict[str, object]:
    """The prose's numbers on :func:`maximizers`: the most frequent maximizer, its layer and
    share, and whether one class dominates (more than half of a layer's neurons: Example 2)."""
    top_share = counts.max(axis=1) / counts.sum(axis=1)
    return {"ch2_top_class_share": 100 * float(top_share.max()),
            "ch2_top_class": str(counts.loc[top_share.idxmax()].idxmax()).removeprefix("y="),
            "ch2_top_class_layer": str(top_share.idxmax()),
            "ch2_top_class_verdict":
                "no single class dominates, so the extreme situation of Example 2 (one class "
                "maximizing Eq. 5 for every neuron of a layer) does not arise here"
                if top_share.max() < 0.5 else
                "one class dominates: the KL selectivity of most neurons of that layer measures "
                "how well they single out this class, the situation of Example 2"}


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho across the neurons of one layer; undefined (NaN) for a constant measure."""
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return np.nan
    return float(spearmanr(a, b).statistic)


def rank_correlations(by_quantizer: dict[str, LayerMeasures]) -> pd.DataFrame:
    """Per finer quantizer and layer, the mean over seeds (where defined) of the rank
    correlation of each measure with its one-bit values (``by_quantizer``: quantizer name of
    :data:`nbutils.measures.QUANTIZERS` -> its measures)."""
    rows = []
    for name, per_layer in by_quantizer.items():
        if name == "one-bit":
            continue
        for l, d in enumerate(per_layer):
            base = by_quantizer["one-bit"][l]
            row = {"quantizer": name, "layer": l + 1}
            for m in MEASURES:
                per_seed = [rank_correlation(base[m][s], d[m][s]) for s in range(len(d[m]))]
                defined = [r for r in per_seed if not np.isnan(r)]
                row[MEASURES[m].label] = float(np.mean(defined)) if defined else np.nan
            rows.append(row)
    return pd.DataFrame(rows).set_index(["quantizer", "layer"])


def layer_medians(by_quantizer: dict[str, LayerMeasures]) -> pd.DataFrame:
    """Per quantizer and layer, the median of each measure over the neurons of all seeds."""
    return pd.DataFrame([{"quantizer": name, "layer": l + 1,
                          **{MEASURES[m].label: float(np.median(d[m])) for m in MEASURES}}
                         for name, per_layer in by_quantizer.items()
                         for l, d in enumerate(per_layer)]).set_index(["quantizer", "layer"])


def _deeper(medians: pd.DataFrame) -> pd.DataFrame | None:
    """Per quantizer and measure, whether layer 2 has the larger median (None: one layer)."""
    if medians.index.get_level_values("layer").nunique() < 2:
        return None
    return medians.xs(2, level="layer") > medians.xs(1, level="layer")


def layer_view(medians: pd.DataFrame) -> pd.DataFrame:
    """The layer medians of every quantizer side by side, with whether layer 2 has the larger
    median (the comparison of claim F1a)."""
    view, deeper = medians.round(3), _deeper(medians)
    if deeper is None:
        return view
    deeper.columns = [f"{c}: layer 2 > layer 1" for c in deeper.columns]
    view = view.unstack("layer")
    view.columns = [f"{c} (layer {l})" for c, l in view.columns]
    return view.join(deeper)


def depth_consistent(medians: pd.DataFrame) -> str:
    """The measures whose layer comparison has the same direction under every quantizer, in
    words ("none" if no measure has)."""
    deeper = _deeper(medians)
    consistent = {m: deeper is None or bool(deeper.iloc[:, k].nunique() == 1)
                  for k, m in enumerate(MEASURES)}
    in_words = {"entropy": "entropy", "mi": "mutual information", "kl": "KL selectivity"}
    return ", ".join(in_words[m] for m in MEASURES if consistent[m]) or "none"


def quantizer_ablation(one_bit: Sequence[dict[str, np.ndarray]],
                       finer: dict[tuple[int, str], dict[str, np.ndarray]]) -> pd.DataFrame:
    """Claim S5's comparisons: for each layer, ordering (measure, low or high first) and finer
    quantizer (:data:`nbutils.measures.FINE_QUANTIZERS`), the accuracy after ablating
    ``k = 0.8 n`` neurons in the finer quantizer's order against the one-bit order, seed by seed
    (:func:`nbutils.stats.mean_gap`), and whether the two are similar
    (:func:`nbutils.verdicts.similar_verdict`).

    Args:
        one_bit: per hidden layer, :func:`nbutils.analysis.layer_curves`: ordering name
            (``"mi-low"`` ...) -> accuracies ``(seeds, n + 1)`` after ablating 0..n neurons.
        finer: ``(layer, quantizer)`` -> :func:`nbutils.analysis.quantizer_curves` at
            ``ks=[0, k]``: ordering name -> accuracies ``(seeds, 2)``.

    Returns:
        One row per comparison: layer, ordering, quantizer, k, the mean accuracies (%), MG,
        the gap (formatted and as ``gap_obj``), its verdict, and ``similar``.
    """
    rows = []
    for l, curves in enumerate(one_bit):
        n_seeds, width = next(iter(curves.values())).shape[0], _width(curves)
        k = int(round(K_FRACTION * width))
        grid = [0, k]
        p_floor = wilcoxon_floor(n_seeds)   # the smallest p these seeds allow
        for name in FINE_QUANTIZERS:
            for m in MEASURES:
                for direction in ("low", "high"):
                    fine = finer[(l, name)][f"{m}-{direction}"]
                    base = curves[f"{m}-{direction}"][:, grid]
                    gap = mean_gap(fine, base, k, grid=grid)
                    verdict = similar_verdict(gap, p_floor)
                    rows.append({
                        "layer": l + 1, "ordering": f"{m}-{direction}", "quantizer": name,
                        "k": k, "one-bit acc (%)": 100 * base[:, 1].mean(),
                        "finer acc (%)": 100 * fine[:, 1].mean(),
                        "MG": gap.mg, "gap": format_gap(gap), "gap_obj": gap, "verdict": verdict,
                        "similar": verdict == "reproduced"})
    return pd.DataFrame(rows)


def _width(curves: dict[str, np.ndarray]) -> int:
    """A layer's width from its one-bit curves: every k from 0 to n."""
    return next(iter(curves.values())).shape[1] - 1


def ablation_view(comparisons: pd.DataFrame) -> pd.DataFrame:
    """The accuracies (%) of :func:`quantizer_ablation`, one column per finer quantizer and the
    one-bit accuracy last, per layer and ordering."""
    return comparisons.pivot_table(
        index=["layer", "ordering"], columns="quantizer", values="finer acc (%)",
        sort=False).join(comparisons.drop_duplicates(["layer", "ordering"])
                         .set_index(["layer", "ordering"])[["one-bit acc (%)"]]).round(1)


# ------------------------------------------------------------------------------------ claims

@dataclass(frozen=True)
class Results:
    """What chapter 2's claims read: the largest difference (bits) between the hand computation
    of one neuron and :func:`nbutils.measures.neuron_measures`; the cost table (columns ``N``,
    ``FLOPs / (N x neurons)``, ``largest change of a measure (bits)``, one row per repeat of
    the validation set); :func:`bounds`; :func:`rank_correlations`; :func:`quantizer_ablation`;
    and the number of seeds."""
    worked_diff: float
    cost: pd.DataFrame
    bounds: pd.DataFrame
    rho: pd.DataFrame
    ablation: pd.DataFrame
    n_seeds: int


def claims(results: Results, profile: str) -> list[Claim]:
    """The claims M1, M2 and S5 of chapter 2 (rules: :mod:`nbutils.verdicts`).

    M1 is reproduced when the hand computation agrees with the library, the operation count per
    sample and neuron is the same for every N and repeating the validation set changes no
    measure; M2 when no pair violates a bound and the pairs with ``I = 0`` are exactly those with
    KL selectivity 0; S5 is one statement over the comparisons of :func:`quantizer_ablation`
    (:func:`nbutils.verdicts.cases_verdict`), each judged by the rule for a similarity.
    """
    r = results
    p_floor = wilcoxon_floor(r.n_seeds)   # the smallest p these seeds allow
    scale = scale_note(profile, [r.n_seeds], p_floor)
    flops_per = r.cost["FLOPs / (N x neurons)"]
    m1_ok = (agree(r.worked_diff) and agree(flops_per, flops_per.iloc[0])
             and agree(r.cost["largest change of a measure (bits)"]))
    violations, n_i_zero, n_kl_zero, n_both_zero = _m2_counts(r.bounds)
    total = int(r.bounds.loc["all", "neurons x seeds"])
    m2_ok = violations == 0 and n_i_zero == n_kl_zero == n_both_zero
    s5 = r.ablation
    s5_verdict = cases_verdict(s5["verdict"])
    s5_checks = {f"layer {row.layer} {row.ordering} {row.quantizer}":
                 (row.gap_obj, lambda g: similar_verdict(g, p_floor)) for row in s5.itertuples()}
    s5_why = explain(s5_verdict, scale, profile, s5_checks,
                     notes={name: "finer bins reorder the neurons" for name in s5_checks})
    mi_rho = r.rho[MEASURES["mi"].label]
    return [
        Claim("M1", "entropy, mutual information and KL selectivity from the joint frequencies "
              "on D, each in O(N)",
              f"hand computation of Eqs. 2-5 for one neuron equals neuron_measures (difference "
              f"{r.worked_diff:.0e} bits); {flops_per.iloc[0]:.0f} FLOPs per sample and neuron "
              f"for N = {r.cost['N'].iloc[0]}..{r.cost['N'].iloc[-1]}",
              verdict_from(m1_ok)),
        Claim("M2", "small H implies small I (I <= H); KL selectivity >= I, and = 0 iff I = 0",
              f"{violations} violations of I <= H <= 1 bit or I <= KL among {total} neurons x "
              f"seeds; I = 0 for {n_i_zero}, KL = 0 for {n_kl_zero}, both for {n_both_zero}",
              verdict_from(m2_ok),
              () if n_i_zero else (Reason("note", "no neuron with I = 0 here: the 'iff' is "
                                          "checked on the constructed networks of chapter 8"),)),
        Claim("S5", "one-bit quantization; more bins gave no significantly different results",
              f"{int(s5['similar'].sum())} of {len(s5)} ablation results at k = 0.8 n similar "
              f"to one-bit (uniform/quantile, 8 bins); mean rank correlation of the MI orderings "
              f"{mi_rho.min():.2f}..{mi_rho.max():.2f} (4 and 8 bins)",
              s5_verdict, s5_why),
    ]


# ------------------------------------------------------------------------------------ figures

def bounds_figure(meas: LayerMeasures):
    """The bounds of claim M2 as scatter plots of every neuron-seed pair, one colour per layer:
    mutual information against entropy (with ``I = H`` and ``H = 1`` bit), KL selectivity
    against mutual information (with ``KL = I``)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for l, d in enumerate(meas):
        axes[0].scatter(d["entropy"].ravel(), d["mi"].ravel(), s=6, alpha=0.5,
                        label=f"layer {l + 1}")
        axes[1].scatter(d["mi"].ravel(), d["kl"].ravel(), s=6, alpha=0.5, label=f"layer {l + 1}")
    axes[0].plot([0, 1], [0, 1], "k--", lw=1, label="I = H")
    axes[0].axvline(1.0, color="grey", lw=1, ls=":", label="H = 1 bit")
    axes[0].set(xlabel="entropy H(T) (bits)", ylabel="mutual information I(T;Y) (bits)")
    # the diagonal over the range of I only: KL reaches far higher (up to log 1/P_T(1)), and a
    # square axis up to the largest KL would squeeze the points against the left edge
    top_i = max(float(d["mi"].max()) for d in meas)
    axes[1].plot([0, top_i], [0, top_i], "k--", lw=1, label="KL = I")
    axes[1].set(xlabel="mutual information I(T;Y) (bits)", ylabel="KL selectivity (bits)",
                xlim=(0, 1.05 * top_i if top_i > 0 else 1.0))
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig


def spectrum_figure(meas: LayerMeasures, n_show: int = 8):
    """Heatmaps of the specific information spectra of the ``n_show`` most KL-selective neurons
    of each hidden layer of the first seed (rows labelled by neuron index)."""
    n_classes = meas[0]["spectrum"].shape[2]
    fig, axes = plt.subplots(1, len(meas), figsize=(5 * len(meas), 3.6))
    axes = np.atleast_1d(axes)
    vmax = max(float(np.nanmax(d["spectrum"][0])) for d in meas)
    for l, (ax, d) in enumerate(zip(axes, meas)):
        top = np.argsort(-d["kl"][0], kind="stable")[:n_show]
        image = ax.imshow(d["spectrum"][0][top], aspect="auto", cmap="viridis", vmin=0,
                          vmax=vmax)
        ax.set(title=f"layer {l + 1}: {n_show} most KL-selective neurons", xlabel="class y",
               ylabel="neuron", xticks=range(n_classes), yticks=range(n_show),
               yticklabels=[str(j) for j in top])
    fig.colorbar(image, ax=axes.tolist(), label="D(P_T|Y=y || P_T) (bits)")
    plt.close(fig)
    return fig
