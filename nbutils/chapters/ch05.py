"""Chapter 5, Fig. 3: layer-wise ablation in MNIST networks (claims F3a-F3g, S6, C3).

The notebook loads each panel's layer-wise curves into a :class:`Panel`; this module draws the
tables of numbers the chapter shows and judges its claims (:func:`claims`) by the rules of
:mod:`nbutils.verdicts`.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..claims import Claim, Reason, explain, scale_note
from ..config import CHAPTER_CONFIGS, FIG3_ABLATION_VALUES
from ..measures import MEASURES
from ..orderings import ordering_names
from ..plots import config_title
from ..stats import (
    Gap,
    accuracy_drop,
    format_gap,
    format_p,
    gap_table,
    ks_gap,
    mean_gap,
    separation,
    signed_rank_normal_p,
    wilcoxon_floor,
)
from ..verdicts import (
    SMALL_GAP,
    cases_verdict,
    combine,
    count_verdict,
    direction_verdict,
    is_small_cost,
    is_small_gap,
    similar_verdict,
    verdict_from,
)
from . import Config, Request, hidden, layer_curves

NOTEBOOK = "05_layerwise_mnist"
CONFIGS: tuple[Config, ...] = CHAPTER_CONFIGS["fig3"]   # panels (a)-(d)
STRONG: Config = ("mnist", "relu", "l2")                # claim C3: not a Fig. 3 panel
FROM_RESULTS = True


def requests(config: Config) -> list[Request]:
    """A Fig. 3 panel: every layer's curves, ablated to the panel's value; claim C3's network:
    its layer 1."""
    out = []
    if config in CONFIGS:
        value = FIG3_ABLATION_VALUES[CONFIGS.index(config)]
        out += [Request(f"layer {l + 1} curves, {value} (chapter 5)", layer_curves(l, value))
                for l in range(len(hidden(config)))]
    if config == STRONG:
        out.append(Request("layer 1 curves (chapter 5, C3)", layer_curves(0)))
    return out


K = 80                                     # the paper's number of ablated neurons for MG@k
PANELS = "abcd"                            # Fig. 3's panels, in the order of CONFIGS
ORDERINGS = tuple(ordering_names(random=False))
F3G_PANELS = "ac"                          # the panels F3g's sentence follows
STRONG_NAME = "MNIST, ReLU, L2 (not in Fig. 3)"


@dataclass(frozen=True)
class Panel:
    """One network's layer-wise ablation (a panel of Fig. 3, or an extra network).

    ``layers``: per hidden layer, ordering -> test accuracies ``(seeds, n + 1)`` (fractions,
    column ``k`` after ablating ``k`` of the layer's ``n`` neurons,
    :func:`nbutils.analysis.layer_curves`); ``title``: the panel's title; ``value``: what ablated
    neurons are set to.
    """
    title: str
    layers: tuple[Mapping[str, np.ndarray], ...]
    value: str = "zero"

    @property
    def n_seeds(self) -> int:
        return int(np.asarray(self.layers[0]["random"]).shape[0])

    def gap(self, layer: int, ordering: str) -> Gap:
        """MG@80 of ``ordering`` against random ablation in hidden ``layer`` (0-based)."""
        curves = self.layers[layer]
        return mean_gap(curves[ordering], curves["random"], K)

    def drop(self, layer: int, ordering: str, k: int) -> float:
        """Mean accuracy lost (points) after ablating ``k`` neurons, relative to nothing
        ablated."""
        return float(accuracy_drop(self.layers[layer][ordering], k).mean())

    @property
    def layer_gap(self) -> Gap:
        """Random ablation of 80 neurons, layer 1 minus layer 2 (KS test; negative: layer 1
        loses more)."""
        return ks_gap(self.layers[0]["random"], self.layers[1]["random"], K)

    def spread(self, layer: int) -> float:
        """The mean |MG@80| of the six orderings in ``layer``."""
        return float(np.mean([abs(self.gap(layer, o).mg) for o in ORDERINGS]))


def mean_separation(curves: Mapping[str, np.ndarray]) -> float:
    """The separation S of one layer's curves, averaged over the three measures."""
    return float(np.mean([separation(curves, m, K) for m in MEASURES]))


def title(letter: str, config, value: str = "zero") -> str:
    """A panel's title: ``"(c) MNIST, sigmoid, L2, ablated to the mean"`` (``config``: a
    :class:`nbutils.config.TrainConfig`)."""
    suffix = ", ablated to the mean" if value == "mean" else ""
    return f"({letter}) {config_title(config)}{suffix}"


# ------------------------------------------------------------------------- tables

def overview(panels: Mapping[str, Panel]) -> pd.DataFrame:
    """The panels: seeds, ablation value and the accuracy with nothing ablated."""
    return pd.DataFrame([
        {"panel": p.title, "seeds": p.n_seeds, "ablated to": p.value,
         "accuracy, nothing ablated (%)": 100 * p.layers[0]["random"][:, 0].mean()}
        for p in panels.values()]).set_index("panel").round(2)


def gap_tables(panels: Mapping[str, Panel]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """MG@80 and its p-value of every ordering against random, by (panel, layer)."""
    rows = []
    for letter, panel in panels.items():
        for layer, curves in enumerate(panel.layers):
            for _, row in gap_table(curves, "random", K).iterrows():
                rows.append({"panel": letter, "layer": layer + 1, "ordering": row["ordering"],
                             "MG": row[f"MG@{K}"], "p": row["p"]})
    gaps = pd.DataFrame(rows)
    index, orderings = ["panel", "layer"], list(ORDERINGS)
    return (gaps.pivot(index=index, columns="ordering", values="MG")[orderings],
            gaps.pivot(index=index, columns="ordering", values="p")[orderings])


def baseline_table(panel: Panel, draws: np.ndarray) -> pd.DataFrame:
    """Low MI first in layer 1 against two random baselines: the mean of the random orderings
    (this book) and the first random ordering alone (``draws``: ``(seeds, draws, n + 1)``,
    :func:`nbutils.analysis.layer_random_draws`)."""
    mi_low = panel.layers[0]["mi-low"]
    baselines = {f"mean of {draws.shape[1]} orderings (this book)": panel.layers[0]["random"],
                 "first ordering only (one per network)": draws[:, 0]}
    return pd.DataFrame([
        {"random baseline": name, "MI low: MG@80": round(mean_gap(mi_low, base, K).mg, 1),
         "p": format_p(mean_gap(mi_low, base, K).p),
         "random at k = 80, std over seeds (points)": round(100 * float(base[:, K].std()), 2)}
        for name, base in baselines.items()]).set_index("random baseline")


def layer_gaps_table(panels: Mapping[str, Panel]) -> pd.DataFrame:
    """Random ablation, layer 1 against layer 2 (KS), per panel."""
    return pd.DataFrame([{"panel": p.title, f"MG@{K}": round(p.layer_gap.mg, 1),
                          "p (KS)": format_p(p.layer_gap.p), "text": format_gap(p.layer_gap)}
                         for p in panels.values()]).set_index("panel")


def spread_table(panels: Mapping[str, Panel]) -> pd.DataFrame:
    """F3g and C2 described: the mean |MG@80| per layer, and random layer 1 - layer 2."""
    return pd.DataFrame([{"panel": panels[letter].title,
                          "mean |MG@80|, layer 1": round(panels[letter].spread(0), 1),
                          "mean |MG@80|, layer 2": round(panels[letter].spread(1), 1),
                          "random: layer 1 - layer 2 (points)":
                              round(panels[letter].layer_gap.mg, 1)}
                         for letter in PANELS]).set_index("panel")


def _separations(panels: Mapping[str, Panel], strong: Mapping[str, np.ndarray]
                 ) -> tuple[dict[str, float], dict[str, float]]:
    """C3's separations S of layer 1: the strong networks (ReLU + L2, panel (a)) and the weak
    ones (panels (b)-(d)), by name."""
    return ({STRONG_NAME: mean_separation(strong),
             panels["a"].title: mean_separation(panels["a"].layers[0])},
            {panels[letter].title: mean_separation(panels[letter].layers[0])
             for letter in "bcd"})


def c3_pairs(panels: Mapping[str, Panel], strong: Mapping[str, np.ndarray]) -> tuple[int, int]:
    """How many (strong, weak) pairs have the larger separation on the strong side, of how
    many."""
    sep_strong, sep_weak = _separations(panels, strong)
    return (sum(s > w for s in sep_strong.values() for w in sep_weak.values()),
            len(sep_strong) * len(sep_weak))


def separation_table(panels: Mapping[str, Panel],
                     strong: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """C3: the separation S of layer 1 of each network, with the paper's word for it."""
    groups = dict(zip(("strong", "weak"), _separations(panels, strong)))
    return pd.DataFrame([{"network": name, "paper: correlation": kind,
                          "separation S (points)": round(s, 1)}
                         for kind, group in groups.items()
                         for name, s in group.items()]).set_index("network")


def f3f_t_plus(n_seeds: int = 50) -> int:
    """The signed-rank sum that gives the paper's F3f p-value (9.63e-10) with 50 seeds under
    the normal approximation."""
    return next(t for t in range(200)
                if f"{signed_rank_normal_p(t, n_seeds):.3g}" == "9.63e-10")


# ------------------------------------------------------------------------- claims

def _gaps_text(*named: tuple[str, Gap]) -> str:
    return "; ".join(f"{name}: {format_gap(g)}" for name, g in named)


def claims(panels: Mapping[str, Panel], strong: Mapping[str, np.ndarray], profile: str,
           seed_counts: Sequence[int]) -> list[Claim]:
    """The claims rows F3a-F3g, C2 and C3.

    Args:
        panels: the panels by letter, at least the four of :data:`PANELS`, each with two
            hidden layers (others, e.g. an extra network, are not judged).
        strong: the layer-1 curves of :data:`STRONG` (MNIST, ReLU + L2; C3 only).
        profile: the run's profile (``"ci"``, ``"quick"`` or ``"paper"``).
        seed_counts: the number of seeds of every panel the chapter ran; the smallest sets the
            floor of the Wilcoxon p (:func:`nbutils.stats.wilcoxon_floor`).
    """
    p_floor = wilcoxon_floor(min(seed_counts))
    scale = scale_note(profile, seed_counts, p_floor)

    def similar(g: Gap) -> str:
        return similar_verdict(g, p_floor)

    def better(g: Gap) -> str:
        return direction_verdict(g, +1)

    def worse(g: Gap) -> str:
        return direction_verdict(g, -1)

    a, b, c, d = (panels[letter] for letter in PANELS)
    layer_gaps = {letter: panels[letter].layer_gap for letter in PANELS}

    # F3a: layer 1 vs layer 2, random ablation, panel (a)
    g3a = layer_gaps["a"]
    v3a = worse(g3a)

    # F3b: the 50 lowest-ranked layer-2 neurons cost a small gap, panels (a) and (c)
    drops50 = {(letter, m): panels[letter].drop(1, f"{m}-low", 50)
               for letter in "ac" for m in MEASURES}
    n3b = sum(is_small_gap(x) for x in drops50.values())
    v3b = count_verdict(n3b, len(drops50))

    # F3c: ReLU + Dropout, layer 1, mutual information
    g3c_low, g3c_high = a.gap(0, "mi-low"), a.gap(0, "mi-high")
    v3c = combine(better(g3c_low), worse(g3c_high))

    # F3d: sigmoid + L2 ablated to the mean, layer 1, mutual information
    g3d_low, g3d_high = c.gap(0, "mi-low"), c.gap(0, "mi-high")
    v3d = combine(better(g3d_low), worse(g3d_high))

    # F3e: sigmoid + Dropout, layer 1: entropy-low worse, the other orderings close to random
    g3e = d.gap(0, "entropy-low")
    others = {o: d.gap(0, o) for o in ORDERINGS if o != "entropy-low"}
    others_verdicts = [similar(g) for g in others.values()]
    v3e = combine(worse(g3e), cases_verdict(others_verdicts))

    # F3f, read as comparisons with random (see the chapter), ReLU + BN + Dropout, layer 1:
    # high KL first worse than random; that gap "only" small: below half of the same gap
    # without batch norm, panel (a); low KL first similar to random
    g3f_low, g3f_high = b.gap(0, "kl-low"), b.gap(0, "kl-high")
    g3f_high_a = a.gap(0, "kl-high")
    f3f_small = is_small_cost(-g3f_high.mg, -g3f_high_a.mg)
    cost_b, random_b = b.drop(0, "kl-high", K), b.drop(0, "random", K)
    v3f = combine(worse(g3f_high), verdict_from(f3f_small), similar(g3f_low))

    # F3g: the ordered-vs-random effect is missing in layer 2, said after the numbers of panels
    # (a) and (c) ((b) and (d) the paper calls inconclusive): every ordering of (a) and (c) is
    # similar to random there (a claimed similarity, 2 panels x 6 orderings)
    g3g = {f"({letter}) {o}": panels[letter].gap(1, o) for letter in F3G_PANELS
           for o in ORDERINGS}
    v3g = cases_verdict(similar(g) for g in g3g.values())
    n3g = sum(similar(g) == "reproduced" for g in g3g.values())
    largest3g = max(g3g, key=lambda name: abs(g3g[name].mg))

    # C2: random ablation costs less in layer 2 than in layer 1 (a direction, KS), panel by
    # panel
    c2_verdicts = [worse(layer_gaps[letter]) for letter in PANELS]
    n_c2 = sum(v != "not reproduced" for v in c2_verdicts)
    n_c2_significant = sum(v == "reproduced" for v in c2_verdicts)
    v_c2 = cases_verdict(c2_verdicts)

    # C3: the strong networks separate better than the weak ones, pair by pair
    sep_strong, sep_weak = _separations(panels, strong)
    n_c3, total_c3 = c3_pairs(panels, strong)
    v_c3 = count_verdict(n_c3, total_c3)

    return [
        Claim("F3a", "random ablation: layer 1 hurts more than layer 2, MG@80 = -28.9, "
              "p = 1.98e-29 (KS, Fig. 3(a))", f"{format_gap(g3a)} (KS)", v3a,
              explain(v3a, scale, profile, {"(a) layer 1 - layer 2, random": (g3a, worse)})),
        Claim("F3b", "the 50 lowest-ranked layer-2 neurons: negligible effect (Figs. 3(a), "
              "3(c))",
              "accuracy lost after 50 low-first layer-2 neurons: " + ", ".join(
                  f"({letter}) {m} {x:.1f}" for (letter, m), x in drops50.items())
              + f" points; {n3b} of {len(drops50)} below {SMALL_GAP:g} points", v3b,
              explain(v3b, scale, profile, {}, other=[
                  f"({letter}) {m} costs {x:.1f} points, not below {SMALL_GAP:g}"
                  for (letter, m), x in drops50.items() if not is_small_gap(x)])),
        Claim("F3c", "ReLU + Dropout, layer 1: MI low MG@80 = +21.9, MI high MG@80 = -47.4, "
              "both p = 7.55e-10", _gaps_text(("MI low", g3c_low), ("MI high", g3c_high)), v3c,
              explain(v3c, scale, profile, {"MI low": (g3c_low, better),
                                            "MI high": (g3c_high, worse)})),
        Claim("F3d", "sigmoid + L2 ablated to the mean, layer 1: MG@80 = +10 (p = 1.6e-5) low, "
              "-11 (p = 9e-7) high (the measure is not named; we read mutual information, as "
              "in the sentence before)",
              _gaps_text(("MI low", g3d_low), ("MI high", g3d_high)), v3d,
              explain(v3d, scale, profile, {"MI low": (g3d_low, better),
                                            "MI high": (g3d_high, worse)})),
        Claim("F3e", "sigmoid + Dropout, layer 1: entropy low worse than random, MG@80 = -42.8, "
              "p = 7.55e-10; other orderings close to random",
              _gaps_text(("entropy low", g3e)) + "; others: " + ", ".join(
                  f"{o} {g.mg:+.1f}" for o, g in others.items())
              + f" ({sum(v == 'reproduced' for v in others_verdicts)} of {len(others)} "
              "similar)",
              v3e, explain(v3e, scale, profile, {"entropy low": (g3e, worse),
                                                 **{o: (g, similar) for o, g in
                                                    others.items()}})),
        Claim("F3f", "ReLU + BN + Dropout, layer 1: 80 highest-KL ablated cost only 13 points "
              "(p = 9.63e-10; read as the gap to random, see above); KL low vs random MG@80 = "
              "0.3, p = 0.82",
              f"KL high vs random {format_gap(g3f_high)} (without BN, panel (a): "
              f"{g3f_high_a.mg:.1f}); KL low vs random {format_gap(g3f_low)}; total loss of the "
              f"80 highest-KL {cost_b:.1f} points (80 random: {random_b:.1f})", v3f,
              (*explain(v3f, scale, profile, {"KL high vs random": (g3f_high, worse),
                                              "KL low vs random": (g3f_low, similar)},
                        other=[] if f3f_small else [
                            f"KL high costs {-g3f_high.mg:.1f} points more than random, not "
                            f"below half of panel (a)'s {-g3f_high_a.mg:.1f}"]),
               Reason("note", f"read literally, as accuracy lost from the intact network, the "
                              f"80 highest-KL neurons cost {cost_b:.1f} points, not 13 (80 "
                              f"random ones {random_b:.1f}); the verdict reads the 13 points "
                              f"as the gap to random ({g3f_high.mg:.1f}), as its p-value "
                              "indicates (see above)"))),
        Claim("F3g", "the ordered-vs-random effect is missing in layer 2",
              f"layer 2 similar to random in {n3g} of {len(g3g)} (panel, ordering) cases of "
              f"panels {' and '.join(f'({p})' for p in F3G_PANELS)}; largest gap {largest3g}: "
              f"{format_gap(g3g[largest3g])}; mean |MG@80| layer 1 -> layer 2 (all panels): "
              + ", ".join(f"({letter}) {panels[letter].spread(0):.1f} -> "
                          f"{panels[letter].spread(1):.1f}" for letter in PANELS),
              v3g, explain(v3g, scale, profile, {n: (g, similar) for n, g in g3g.items()})),
        Claim("C2", "deeper layers are more redundant: random or low-first ablation costs "
              "little there", f"random ablation of 80 neurons costs less in layer 2 in {n_c2} "
              f"of {len(PANELS)} panels (significantly, KS: {n_c2_significant}): "
              + ", ".join(f"({letter}) {format_gap(layer_gaps[letter])}" for letter in PANELS),
              v_c2, explain(v_c2, scale, profile, {f"({letter})": (layer_gaps[letter], worse)
                                                   for letter in PANELS})),
        Claim("C3", "the correlation depends on activation and regularizer: strong for ReLU "
              "with L2 or Dropout, weak for sigmoid and BN + Dropout",
              f"separation S (our summary of the paper's qualitative statement) larger for the "
              f"strong than for the weak network in {n_c3} of {total_c3} pairs ("
              + ", ".join(f"{name.split(' (')[0]}: {s:.1f}" for name, s in
                          {**sep_strong, **sep_weak}.items()) + ")",
              v_c3, explain(v_c3, scale, profile, {}, other=[
                  f"{x.split(' (')[0]} ({sx:.1f}) not above {y.split(' (')[0]} ({sy:.1f})"
                  for x, sx in sep_strong.items() for y, sy in sep_weak.items()
                  if not sx > sy])),
    ]
