"""Chapter 7, Fig. 5: layer-wise ablation in CIFAR-10 networks (claims F5a-F5g, F1b).

Besides what the chapter requests, this module holds what it reads off its results: the
counts of neurons (active, to strip the net, that suffice), the tables it shows and
:func:`claims`, its claims rows by the rules of :mod:`nbutils.verdicts`, computed from plain
arrays (:class:`Results`).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .. import analysis, cost, counts
from ..activity import per_member_counts
from ..claims import Claim, Reason, explain, pm, scale_note
from ..config import ARCHITECTURES, CHAPTER_CONFIGS, PREPROCESSING_LABELS, REGULARIZER_LABELS
from ..measures import MEASURES
from ..orderings import ordering_names
from ..plots import config_title
from ..stats import Gap, format_p, gap_table, mean_gap, wilcoxon_floor
from ..verdicts import (
    EARLY_SHARE,
    about_verdict,
    cases_verdict,
    combine,
    count_verdict,
    direction_verdict,
    is_almost_linear,
    is_chance,
    is_many,
    is_most,
    is_provisional,
    is_small_gap,
    verdict_from,
)
from . import K_FRACTION, Config, Request, hidden, pivot_gaps

NOTEBOOK = "07_layerwise_cifar10"
CONFIGS: tuple[Config, ...] = CHAPTER_CONFIGS["fig5"]   # networks (a)-(c)
PANEL_CONFIGS = {key: "-".join(c) for key, c in zip("abc", CONFIGS)}   # "a" -> its configuration
PANEL_NAMES = {"a": "the 250-500-250-500 network with L2", "b": "the Funnel network with L2",
               "c": "the Funnel network with Dropout"}
# the networks each claims row reads ("": every network of the run)
ROW_PANELS = {"F1b": "a", "F5a": "ab", "F5b": "c", "F5c": "a", "F5d": "b", "F5e": "a",
              "F5f": "ab", "F5g": "c", "S4": ""}
FROM_RESULTS = False
POINTS = (200, 500, 600)   # the chapter also reads its curves at these k (claims F5c-F5g)
WINDOW = (500, 600)        # F5d: ablating the ranks 500 to 600 (high first) improves accuracy
PAPER_SEEDS = ARCHITECTURES["cifar10"].paper_seeds   # 35
N_CLASSES = 10
ORDERINGS = ordering_names(random=False)


def cifar_grid(ens, layer: int, dense: int | None = None, step: int | None = None) -> list[int]:
    """The grid of the curves of hidden ``layer`` (0-based): the profile's grid (``dense`` and
    ``step`` override it, as the chapter's parameters do) plus every point where the chapter
    reads a gap (80 % and 5 % of the layer, :data:`POINTS`)."""
    n = ens.config.architecture.hidden[layer]
    extra = [int(round(K_FRACTION * n)), int(round(EARLY_SHARE * n)), *POINTS]
    return analysis.layer_grid(ens, layer, dense, step, extra=extra)


def requests(config: Config) -> list[Request]:
    """A Fig. 5 network: every layer's curves on :func:`cifar_grid`."""
    if config not in CONFIGS:
        return []
    return [Request(f"layer {l + 1} curves (chapter 7)",
                    lambda e, l=l: analysis.layer_curves(e, l, ks=cifar_grid(e, l)))
            for l in range(len(hidden(config)))]


# --------------------------------------------------------------------- the networks

def titles(configs: Mapping[str, object]) -> dict[str, str]:
    """Each panel's title in the tables, ``"(a) CIFAR-10, ReLU, L2"`` (``configs``: key -> its
    :class:`nbutils.config.TrainConfig`)."""
    return {key: f"({key}) " + config_title(config) for key, config in configs.items()}


def short_titles(panels: Mapping[str, Config]) -> dict[str, str]:
    """The figure's panel titles: ``"Funnel, L2"``."""
    return {key: ("Funnel" if ARCHITECTURES[c[0]].hidden[0] == 1000 else "CIFAR-10") + ", "
            + REGULARIZER_LABELS[c[2]] for key, c in panels.items()}


def network_table(nets: Mapping[str, object], summaries: Mapping[str, object],
                  names: Mapping[str, str]) -> pd.DataFrame:
    """The networks (key -> trained ensemble, its summary): layers, seeds, inputs, epochs and
    test accuracy."""
    return pd.DataFrame([{"network": names[key], "layers": ens.config.architecture.label,
                          "seeds": len(ens.seeds),
                          "inputs": PREPROCESSING_LABELS[ens.config.preprocessing],
                          "epochs (chosen of trained)": f"{summaries[key].chosen_epoch} of "
                                                        f"{len(summaries[key].val_history)}",
                          "test accuracy (%)": pm(100 * summaries[key].test_acc.mean(),
                                                  100 * summaries[key].test_acc.std())}
                         for key, ens in nets.items()]).set_index("network")


def cost_table(nets: Mapping[str, object], summaries: Mapping[str, object], profile: str,
               names: Mapping[str, str]) -> pd.DataFrame:
    """What training cost: the operations estimated from the architecture and the profile, and
    the time the run that trained the networks measured."""
    rows = []
    for key, ens in nets.items():
        arch, s = ens.config.architecture, summaries[key]
        images = cost.training_images(arch, profile)
        epochs = len(s.val_history)
        flops = cost.training_flops(arch, images, epochs) * len(ens.seeds)
        rows.append({"network": names[key], "parameters": cost.parameter_count(arch),
                     "training images": images, "epochs trained": epochs,
                     "training, estimated (TFLOP)": round(flops / 1e12, 1),
                     "training, measured (min)": round(s.seconds / 60, 1),
                     "measured rate (GFLOP/s)": round(flops / s.seconds / 1e9, 1),
                     "trained on": s.hardware})
    return pd.DataFrame(rows).set_index("network")


def time_table(nets: Mapping[str, object], grids: Grids, seconds: Mapping[tuple[str, int], float],
               profile: str, names: Mapping[str, str]) -> pd.DataFrame:
    """How long each layer's curves took where they were computed, next to the operations of
    the layers above that ablation re-runs."""
    rows = []
    for (key, l), ks in grids.items():
        ens = nets[key]
        n_orderings = len(ORDERINGS) + ens.profile.random_draws
        flops = (cost.ablation_flops(ens.config.architecture, l, ks, cost.test_images(profile))
                 * n_orderings * len(ens.seeds))
        rows.append({"network": names[key], "layer": l + 1, "grid points": len(ks),
                     "layers above, estimated (GFLOP)": round(flops / 1e9, 1),
                     "measured (s)": round(seconds[key, l], 1)})
    return pd.DataFrame(rows).set_index(["network", "layer"])


def trained_on(hardware: str | Mapping[str, str]) -> str:
    """Where the networks were trained, for the status note: "trained on X" for one machine
    (``hardware``, or network key -> machine), else grouped by machine ("(a) and (b) trained on
    X, (c) on Y")."""
    if isinstance(hardware, str):
        return f"trained on {hardware}"
    by_machine: dict[str, list[str]] = {}
    for key, machine in hardware.items():
        by_machine.setdefault(machine, []).append(f"({key})")
    if len(by_machine) == 1:
        return f"trained on {next(iter(by_machine))}"
    return ", ".join(f"{' and '.join(keys)} {'trained ' if i == 0 else ''}on {machine}"
                     for i, (machine, keys) in enumerate(by_machine.items()))


def status(profile: str, seeds: Sequence[int], inputs: str, hardware: str | Mapping[str, str],
           has_c: bool) -> str:
    """The chapter's "How far these results go" note (``seeds`` of networks (a), (b) and, with
    ``has_c``, (c); ``hardware``: one machine or network key -> machine, :func:`trained_on`)."""
    n_min = min(seeds)
    hardware = trained_on(hardware)
    missing = "" if has_c else (" Network (c), the Funnel network with Dropout, is not in this "
                                "run; its claims (F5b, F5g) are not testable here.")
    of = dict(zip("abc", seeds))
    full = [k for k, n in of.items() if n >= PAPER_SEEDS]
    short = {k: n for k, n in of.items() if n < PAPER_SEEDS}
    if profile == "paper" and full and short:
        floor = wilcoxon_floor(min(short.values()))
        one = len(short) == 1
        marked = [row for row, keys in ROW_PANELS.items() if set(keys or of) & set(short)]
        return (f"Partly provisional: {_named(full)} {'has' if len(full) == 1 else 'have'} the "
                f"paper's {PAPER_SEEDS} seeds; "
                + " and ".join(f"network ({k}), {PANEL_NAMES[k]}, has {n}"
                               for k, n in short.items())
                + f" of them so far ({'its' if one else 'their'} seeds are trained in shards, a "
                f"few at a time). Inputs {inputs}; {hardware}. The claims table marks the rows "
                f"that read {_named(short)} ({_and(marked)}) provisional; "
                + (f"no comparison of {'its' if one else 'their'} curves can be significant yet "
                   "(not testable)." if floor >= 0.05 else
                   f"comparisons of {'its' if one else 'their'} curves can reach "
                   f"p = {format_p(floor)} at best.") + missing)
    if not is_provisional(profile, seeds, PAPER_SEEDS):
        return (f"These results are at the paper's scale: {n_min} seeds per network, inputs "
                f"{inputs}, {hardware}." + missing)
    floor = wilcoxon_floor(n_min)
    return (f"Provisional: profile {profile}, {n_min} seeds per network instead of the paper's "
            f"{PAPER_SEEDS}, inputs {inputs}, {hardware}. The counts of neurons can be "
            "read; "
            + ("no comparison of curves can be significant with so few seeds (not testable). "
               if floor >= 0.05 else
               f"comparisons of curves can reach p = {format_p(floor)} at best. ")
            + "The claims table marks every row provisional. The paper profile is meant for a "
            "GPU." + missing)


def _and(items: Sequence[str]) -> str:
    """``["F5b", "F5g", "S4"]`` -> ``"F5b, F5g and S4"``."""
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


def _named(keys: Iterable[str]) -> str:
    """``["a", "b"]`` -> ``"networks (a) and (b)"``; ``["c"]`` -> ``"network (c)"``."""
    keys = list(keys)
    return ("network " if len(keys) == 1 else "networks ") + _and([f"({k})" for k in keys])


# --------------------------------------------------------------------- the results

Curves = Mapping[tuple[str, int], Mapping[str, np.ndarray]]   # (panel, layer) -> ordering -> acc
Grids = Mapping[tuple[str, int], Sequence[int]]                # (panel, layer) -> k of each column
PerLayer = Sequence[Mapping[str, np.ndarray]]                  # layer -> name -> (seeds, neurons)


@dataclass(frozen=True)
class Results:
    """What the chapter's tables and claims read, as plain arrays.

    Attributes:
        curves: (panel, hidden layer 0-based) -> ordering -> test accuracies ``(seeds,
            len(grid))`` (:func:`nbutils.analysis.layer_curves` on :func:`cifar_grid`).
        grids: (panel, hidden layer) -> the ``k`` of each column, from 0 to the layer's width.
        measures: panel -> per hidden layer -> measure -> ``(seeds, neurons)``, one-bit
            (:func:`nbutils.analysis.measures`).
        activity: panel -> per hidden layer -> ``"dead"``, ``"always_on"`` (training data),
            ``"dead_d"``, ``"always_on_d"`` (D) -> bool ``(seeds, neurons)``
            (:func:`nbutils.analysis.activity`).

    The panels are the keys of ``measures``: (a) and (b) always, (c) when the run has it.
    """
    curves: Curves
    grids: Grids
    measures: Mapping[str, PerLayer]
    activity: Mapping[str, PerLayer]

    @property
    def panels(self) -> list[str]:
        return list(self.measures)

    def width(self, key: str, l: int) -> int:
        return int(self.grids[key, l][-1])

    def k_at(self, key: str, l: int, share: float) -> int:
        """The number of neurons that is ``share`` of the layer."""
        return int(round(share * self.width(key, l)))

    def gap_at(self, key: str, l: int, ordering: str, share: float = K_FRACTION) -> Gap:
        """MG of ``ordering`` against random after ablating ``share`` of the layer."""
        c = self.curves[key, l]
        return mean_gap(c[ordering], c["random"], self.k_at(key, l, share),
                        grid=self.grids[key, l])

    def mean_acc(self, key: str, l: int, ordering: str, k: int) -> float:
        """The mean accuracy over seeds after ablating ``k`` neurons (a grid point)."""
        return float(self.curves[key, l][ordering][:, list(self.grids[key, l]).index(k)].mean())

    def active_mean(self, key: str, l: int) -> float:
        """Neurons of the layer that fire on at least one training image (mean over seeds)."""
        return float(per_member_counts(~self.activity[key][l]["dead"]).mean())

    def dead_share(self, key: str, l: int) -> float:
        """The share (%) of the layer dead on the training data, all seeds pooled."""
        return 100 * float(self.activity[key][l]["dead"].mean())

    def on_grid(self, key: str, l: int, target: float) -> int:
        """The grid point nearest ``target`` whose complement (width - k) is on the grid too."""
        ks, width = list(self.grids[key, l]), self.width(key, l)
        return min((k for k in ks if k and width - k in ks), key=lambda k: abs(k - target))

    def strip(self, key: str, l: int, m: str) -> float:
        """Top-ranked neurons (``m`` high first) to ablate to reach chance (NaN: never)."""
        return counts.strip_count(self.curves[key, l][f"{m}-high"], self.grids[key, l],
                                  N_CLASSES)

    def keep(self, key: str, l: int, m: str) -> float:
        """Top-ranked neurons that, kept alone, suffice for full accuracy."""
        return counts.keep_count(self.curves[key, l][f"{m}-low"], self.grids[key, l],
                                 self.width(key, l))


# --------------------------------------------------------------------- tables

def layer_table(measures: Mapping[str, PerLayer], activity: Mapping[str, PerLayer],
                names: Mapping[str, str]) -> pd.DataFrame:
    """Per network and layer: active neurons (MI or KL above zero; not dead), dead, always on,
    zero entropy (and of those, never on D), and the median of each measure."""
    rows = []
    for key, per_layer in measures.items():
        for l, layer in enumerate(per_layer):
            informative = counts.active_count(layer["mi"], layer["kl"])
            a = activity[key][l]
            live = per_member_counts(~a["dead"])
            zero = layer["entropy"] <= 0
            row = {"network": names.get(key, key), "layer": l + 1,
                   "width": layer["entropy"].shape[1],
                   "MI or KL > 0": pm(informative.mean(), informative.std(), 1),
                   "not dead": pm(live.mean(), live.std(), 1),
                   "dead (%)": round(100 * a["dead"].mean(), 1),
                   "always on (%)": round(100 * a["always_on"].mean(), 1),
                   "zero entropy (%)": round(counts.zero_share(layer["entropy"]), 1),
                   "of which never on D (%)": round(100 * (zero & a["dead_d"]).sum()
                                                    / max(zero.sum(), 1), 1)}
            row.update({f"median {MEASURES[m].label}": round(float(np.median(layer[m])), 4)
                        for m in MEASURES})
            rows.append(row)
    return pd.DataFrame(rows).set_index(["network", "layer"])


def count_table(r: Results, names: Mapping[str, str]) -> pd.DataFrame:
    """Per network, layer and measure: the neurons to strip the net and those that suffice
    (a dash: never)."""
    rows = []
    for key in r.panels:
        for l in range(len(r.measures[key])):
            row = {"network": names.get(key, key), "layer": l + 1, "width": r.width(key, l)}
            row.update({f"strip, {MEASURES[m].label}": r.strip(key, l, m) for m in MEASURES})
            row.update({f"suffice, {MEASURES[m].label}": r.keep(key, l, m) for m in MEASURES})
            rows.append(row)
    table = pd.DataFrame(rows).set_index(["network", "layer"])
    return table.astype("Int64").astype(str).replace("<NA>", "-")


def gap_tables(r: Results) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every ordering against random ablation of the same layer, after 80 % and 5 % of it: the
    mean gaps (points) and their p-values (formatted)."""
    rows = []
    for (key, l), c in r.curves.items():
        for share in (K_FRACTION, EARLY_SHARE):
            k = r.k_at(key, l, share)
            for _, row in gap_table(c, "random", k, grid=r.grids[key, l]).iterrows():
                rows.append({"panel": key, "layer": l + 1, "k": k, "ordering": row["ordering"],
                             "MG": row[f"MG@{k}"], "p": row["p"]})
    return pivot_gaps(rows)


def linearity(r: Results) -> pd.DataFrame:
    """Layer 1: R² of the straight line through each mean curve, per panel and ordering."""
    return pd.DataFrame({key: {o: counts.linearity(r.curves[key, 0][o].mean(axis=0),
                                                   r.grids[key, 0])
                               for o in ORDERINGS}
                         for key in r.panels}).T


def window_table(r: Results, names: Mapping[str, str]) -> pd.DataFrame:
    """Layer 2: the accuracy gained while ranks 500 to 600 are ablated (high first), in every
    network whose layer 2 is that wide."""
    rows = []
    for key in r.panels:
        if r.width(key, 1) < WINDOW[1]:
            continue
        for m in MEASURES:
            g = counts.window_gain(r.curves[key, 1][f"{m}-high"], r.grids[key, 1], *WINDOW)
            rows.append({"network": names.get(key, key),
                         "ordering": f"{MEASURES[m].label}, high first",
                         "gain (points)": round(g.mg, 2), "p": format_p(g.p), "seeds": g.n})
    return pd.DataFrame(rows).set_index(["network", "ordering"])


def layer1(r: Results) -> dict[str, dict[str, float]]:
    """Layer 1 of each panel: its active neurons (mean over seeds), the accuracy lost when all
    but (about) them are ablated MI low first (points), and the accuracy left after ablating
    (about) them MI high first (%)."""
    out = {}
    for key in r.panels:
        active = r.active_mean(key, 0)
        k_top = r.on_grid(key, 0, active)
        out[key] = {"active": active,
                    "rest": 100 * (r.mean_acc(key, 0, "mi-low", 0)
                                   - r.mean_acc(key, 0, "mi-low", r.width(key, 0) - k_top)),
                    "top": 100 * r.mean_acc(key, 0, "mi-high", k_top)}
    return out


def layer1_text(r: Results) -> dict[str, str]:
    """The numbers of :func:`layer1` for the prose, by glue name."""
    l1 = layer1(r)
    return {"ch7_l1_active": ", ".join(f"{v['active']:.0f} of {r.width(k, 0)} in ({k})"
                                       for k, v in l1.items()),
            "ch7_l1_rest": ", ".join(f"{v['rest']:.1f} points in ({k})" for k, v in l1.items()),
            "ch7_l1_top": ", ".join(f"{v['top']:.1f} % in ({k})" for k, v in l1.items())}


# --------------------------------------------------------------------- claims

C_MISSING = ("network (c), the Funnel network with Dropout, is not in this run (parameter "
             "panels): its results at this scale are not computed yet")


def _better(g: Gap) -> str:
    return direction_verdict(g, +1)


def _worse(g: Gap) -> str:
    return direction_verdict(g, -1)


def _judged(checks) -> list[str]:
    return [rule(g) for g, rule in checks.values()]


def _signs(checks) -> str:
    return "; ".join(f"{name} {g.mg:+.1f}" for name, (g, _) in checks.items())


def _listed(values, fmt="{:.0f}") -> str:
    return ", ".join(f"{name} {'-' if not np.isfinite(v) else fmt.format(v)}"
                     for name, v in values.items())


def _counted(table) -> str:
    return "; ".join(f"{name} {'never' if not np.isfinite(ours) else f'{ours:.0f}'} "
                     f"(paper {paper})" for (name, paper), ours in table.items())


def _off_counts(table) -> list[str]:
    return [f"{name}: {'never reached' if not np.isfinite(ours) else f'{ours:.0f}'} "
            f"against the paper's about {paper}" for (name, paper), ours in table.items()
            if about_verdict(ours, paper) != "reproduced"]


def run_scale(profile: str, seeds: Sequence[int]) -> tuple[Reason, str, bool]:
    """The scale of a row that reads networks of ``seeds`` seeds: its scale note (the ``quick``
    one with the smallest p possible; at ``paper`` below the paper's 35 seeds, the seeds so
    far), the prefix of its "ours" cell ("provisional (...): " or nothing) and whether it is
    provisional (:func:`nbutils.verdicts.is_provisional`)."""
    n = min(seeds)
    floor = wilcoxon_floor(n)
    scale = scale_note(profile, seeds, floor, paper_seeds=PAPER_SEEDS)
    if profile == "quick":
        scale = Reason("scale", f"{scale.text} (p cannot fall below {format_p(floor)})")
    elif profile == "paper" and n < PAPER_SEEDS:
        scale = Reason("scale", f"paper profile with {n} of the paper's {PAPER_SEEDS} seeds so "
                                f"far (seed shards; p cannot fall below {format_p(floor)})")
    provisional = is_provisional(profile, seeds, PAPER_SEEDS)
    prefix = (f"provisional ({n} of the paper's {PAPER_SEEDS} seeds, profile {profile}): "
              if provisional else "")
    return scale, prefix, provisional


def _networks(row: str, panels: Sequence[str]) -> tuple[str, ...]:
    """The configurations a claims row reads (:data:`ROW_PANELS`; S4: every one of
    ``panels``)."""
    return tuple(PANEL_CONFIGS[k] for k in ROW_PANELS[row] or panels)


def claims(r: Results, profile: str, seeds: Sequence[int]) -> list[Claim]:
    """The chapter's claims rows: F1b, F5a-F5g and S4 (CIFAR-10).

    Args:
        r: the results; panel (c) may be missing (its claims are then not testable).
        profile: the run's profile (``"ci"``, ``"quick"`` or ``"paper"``).
        seeds: the number of seeds of each network.
    """
    n_min = min(seeds)
    has_c = "c" in r.panels
    # each row is judged at the scale of the networks it reads: one network may have fewer
    # seeds than another while its seed shards are being trained
    of = dict(zip(r.panels, seeds))
    scale, provisional, is_prov = run_scale(profile, [of[k] for k in "ab" if k in of])
    scale_c, provisional_c, is_prov_c = run_scale(profile, [of["c"]] if has_c else [n_min])
    scale_a, provisional_a, is_prov_a = run_scale(profile, [of["a"]])
    scale_b, provisional_b, is_prov_b = run_scale(profile, [of["b"]])
    meas, act = r.measures, r.activity
    l1 = layer1(r)

    def dead_note(key: str) -> str:
        """Why a low-first ordering beats random in layer 1 of ``key`` where most of that layer
        is dead (their measures are zero: they go first, at no cost); "" where it is not."""
        share = r.dead_share(key, 0)
        return (f"layer 1 of ({key}) is {share:.0f} % dead (the table of measures): ordered low "
                "first, the dead neurons go first and cost nothing" if is_most(share) else "")

    def l1_note(keys: str) -> list[str]:
        """Why the ordered layer-1 curves of the networks ``keys`` are steps, naming those whose
        layer 1 is mostly dead; nothing where none is."""
        few = [k for k in keys if k in l1 and is_most(r.dead_share(k, 0))]
        return ["layer 1 has only " + ", ".join(f"{l1[k]['active']:.0f} ({k})" for k in few)
                + " active neurons, so the ordered curves are steps (see \"Layer 1 in this "
                "run\")"] if few else []

    # F1b: medians increase from layer 2 to layer 4 (network a); many neurons inactive
    f1b_up = {MEASURES[m].label: (float(np.median(meas["a"][1][m])),
                                  float(np.median(meas["a"][3][m]))) for m in MEASURES}
    f1b_inactive = counts.inactive_share(*(np.concatenate([meas["a"][l][m] for l in (1, 2, 3)],
                                                          axis=1) for m in ("mi", "kl")))
    v1b = combine(count_verdict(sum(b > a for a, b in f1b_up.values()), len(f1b_up)),
                  verdict_from(is_many(f1b_inactive)))
    # F5a: layer 1 of (a) and (b): random beats MI / KL low first; almost linear; entropy
    c5a_random = {f"({key}) {m} low": (r.gap_at(key, 0, f"{m}-low"), _worse)
                  for key in "ab" for m in ("mi", "kl")}
    c5a_entropy = {f"({key}) entropy {d}": (r.gap_at(key, 0, f"entropy-{d}"),
                                             _better if d == "low" else _worse)
                   for key in "ab" for d in ("low", "high")}
    linear = linearity(r)
    r2 = {f"({key}) {o}": float(linear.loc[key, o]) for key in "ab" for o in ORDERINGS}
    v5a = combine(cases_verdict(_judged(c5a_random)),
                  count_verdict(sum(is_almost_linear(v) for v in r2.values()), len(r2)),
                  cases_verdict(_judged(c5a_entropy)))
    # F5b: layer 1 of (c): random beats every ordering
    c5b = {f"(c) {o}": (r.gap_at("c", 0, o), _worse) for o in ORDERINGS} if has_c else {}
    v5b = cases_verdict(_judged(c5b)) if has_c else "not testable"
    # F5c: layer 2 of (a): about 250 active neurons; high first worse than random at once
    c5c = {f"(a) {m} high": (r.gap_at("a", 1, f"{m}-high", EARLY_SHARE), _worse)
           for m in MEASURES}
    active_a2 = r.active_mean("a", 1)
    v5c = combine(about_verdict(active_a2, 250), cases_verdict(_judged(c5c)))
    # F5d: layer 2 of (b): top 200 near chance; more than half zero entropy, always on (the
    # paper: "active all the time"); ranks 500-600 improve
    chance_b2 = {m: r.mean_acc("b", 1, f"{m}-high", 200) for m in MEASURES}
    zero_b2 = counts.zero_share(meas["b"][1]["entropy"])
    zero_mask_b2 = meas["b"][1]["entropy"] <= 0
    on_of_zero_b2 = (100 * (zero_mask_b2 & act["b"][1]["always_on_d"]).sum()
                     / max(zero_mask_b2.sum(), 1))
    c5d_window = {f"(b) {m} high, k 500 to 600": (counts.window_gain(
        r.curves["b", 1][f"{m}-high"], r.grids["b", 1], *WINDOW), _better) for m in ("mi", "kl")}
    v5d = combine(count_verdict(sum(is_chance(a, N_CLASSES) for a in chance_b2.values()),
                                len(chance_b2)),
                  verdict_from(is_most(zero_b2)), verdict_from(is_most(on_of_zero_b2)),
                  cases_verdict(_judged(c5d_window)))
    # F5e: layer 3 of (a): about 70 active; ablating them -> chance; the others -> ~nothing
    active_a3 = r.active_mean("a", 2)
    k_act = r.on_grid("a", 2, active_a3)
    w_a3 = r.width("a", 2)
    disable = {m: r.mean_acc("a", 2, f"{m}-high", k_act) for m in MEASURES}
    others = {m: 100 * (r.mean_acc("a", 2, f"{m}-low", 0)
                        - r.mean_acc("a", 2, f"{m}-low", w_a3 - k_act)) for m in MEASURES}
    v5e = combine(about_verdict(active_a3, 70),
                  count_verdict(sum(is_chance(a, N_CLASSES) for a in disable.values()),
                                len(disable)),
                  count_verdict(sum(is_small_gap(v) for v in others.values()), len(others)))
    # F5f: layer 4: strip about 250 (a) / 70 (b); suffice 100 (a) / 30 (b)
    f5f = {}
    for key, (n_strip, n_keep) in {"a": (250, 100), "b": (70, 30)}.items():
        for m in MEASURES:
            f5f[f"({key}) {m} strip", n_strip] = r.strip(key, 3, m)
            f5f[f"({key}) {m} suffice", n_keep] = r.keep(key, 3, m)
    v5f = cases_verdict(about_verdict(ours, paper) for (_, paper), ours in f5f.items())
    # F5g: (c) layer 3: suffice about 50, strip about 150; layer 4: about 25 active
    f5g = {}
    for m in MEASURES if has_c else ():
        f5g[f"(c) layer 3 {m} suffice", 50] = r.keep("c", 2, m)
        f5g[f"(c) layer 3 {m} strip", 150] = r.strip("c", 2, m)
    active_c4 = r.active_mean("c", 3) if has_c else float("nan")
    v5g = combine(cases_verdict(about_verdict(ours, paper) for (_, paper), ours in f5g.items()),
                  about_verdict(active_c4, 25)) if has_c else "not testable"
    # S4 (CIFAR-10): 35 seeds, all three networks
    s4_reasons = ([] if n_min >= PAPER_SEEDS else [
        Reason("note", f"profile {profile!r}: fewer seeds than the paper's {PAPER_SEEDS}")]) + (
        [] if has_c else [Reason("note", C_MISSING)])

    rows = [
        Claim("F1b", "CIFAR-10 (Fig. 1(d)): less clear than MNIST, a small increase from hidden "
              "layer 2 to 4; many neurons inactive or uninformative",
              provisional_a + "network (a), median layer 2 -> layer 4: " + ", ".join(
                  f"{name} {a:.3f} -> {b:.3f}" for name, (a, b) in f1b_up.items())
              + f"; inactive (MI and KL zero) in layers 2-4: {f1b_inactive:.0f} % of the neurons "
              "(\"less clear than MNIST\" has no rule and is not judged)", v1b,
              explain(v1b, scale_a, profile, {}, other=[
                  f"{name} does not increase" for name, (a, b) in f1b_up.items() if b <= a]
                  + ([] if is_many(f1b_inactive) else [f"only {f1b_inactive:.0f} % inactive"])),
              provisional=is_prov_a, networks=_networks("F1b", r.panels)),
        Claim("F5a", "layer 1, L2: ordered ablation degrades almost linearly; random beats low "
              "first (MI, KL); entropy positively correlated",
              provisional + _signs(c5a_random) + " (MG@80 %); R² of the ordered curves "
              + _listed(r2, "{:.2f}") + "; " + _signs(c5a_entropy), v5a,
              explain(v5a, scale, profile, {**c5a_random, **c5a_entropy}, notes={
                  name: note for name in c5a_random if (note := dead_note(name[1]))}, other=[
                  f"{name} not almost linear (R² {v:.2f})" for name, v in r2.items()
                  if not is_almost_linear(v)] + (l1_note("ab") if v5a != "reproduced" else [])),
              networks=_networks("F5a", r.panels)),
        Claim("F5b", "Funnel + Dropout, layer 1: random beats every ordered ablation",
              provisional_c + _signs(c5b) + " (MG@80 %)" if has_c else C_MISSING, v5b,
              explain(v5b, scale_c, profile, c5b, notes={
                  name: note for name in c5b
                  if name.endswith("-low") and (note := dead_note("c"))},
                      other=l1_note("c") if v5b != "reproduced" else []) if has_c else C_MISSING,
              provisional=is_prov_c, networks=_networks("F5b", r.panels)),
        Claim("F5c", "network (a), layer 2: about 250 active neurons hold all the information; "
              "ablating top-ranked neurons hurts at once",
              provisional_a + f"{active_a2:.0f} active (not dead) neurons of {r.width('a', 1)}; "
              f"high first vs random after {r.k_at('a', 1, EARLY_SHARE)} neurons: "
              + _signs(c5c), v5c,
              explain(v5c, scale_a, profile, c5c, other=[] if about_verdict(active_a2, 250)
                      == "reproduced" else [f"{active_a2:.0f} active neurons, not about 250"]),
              provisional=is_prov_a, networks=_networks("F5c", r.panels)),
        Claim("F5d", "Funnel + L2, layer 2: the top 200 nearly disable the net; more than half "
              "the neurons have zero entropy, active all the time; ablating MI / KL ranks "
              "500-600 improves accuracy",
              provisional_b + "accuracy after the top 200: " + _listed(
                  {k: 100 * v for k, v in chance_b2.items()}, "{:.1f} %")
              + f"; zero entropy {zero_b2:.0f} %, of them always on (on D) {on_of_zero_b2:.0f} %"
              "; accuracy gain from k = 500 to 600: " + _signs(c5d_window), v5d,
              explain(v5d, scale_b, profile, c5d_window, other=[
                  f"{m}: {100 * a:.1f} % after the top 200, not near chance"
                  for m, a in chance_b2.items() if not is_chance(a, N_CLASSES)]
                  + ([] if is_most(zero_b2) else [f"zero entropy in {zero_b2:.0f} %, not more "
                                                  "than half"])
                  + ([] if is_most(on_of_zero_b2) else [
                      f"only {on_of_zero_b2:.0f} % of the zero-entropy neurons are always on; "
                      "the others never fire (dead), where the paper's are active all the "
                      "time"])), provisional=is_prov_b, networks=_networks("F5d", r.panels)),
        Claim("F5e", "network (a), layer 3: about 70 active neurons; ablating them disables the "
              "net, ablating all others costs almost nothing",
              provisional_a + f"{active_a3:.0f} active (not dead) neurons of {w_a3}; accuracy "
              f"after ablating the top {k_act}: "
              + _listed({k: 100 * v for k, v in disable.items()}, "{:.1f} %")
              + f"; loss after ablating the other {w_a3 - k_act}: "
              + _listed(others, "{:.1f} points"), v5e,
              explain(v5e, scale_a, profile, {}, other=(
                  [] if about_verdict(active_a3, 70) == "reproduced"
                  else [f"{active_a3:.0f} active neurons, not about 70"])
                  + [f"{m}: {100 * a:.1f} % after the top {k_act}, not near chance"
                     for m, a in disable.items() if not is_chance(a, N_CLASSES)]
                  + [f"{m}: the others cost {v:.1f} points" for m, v in others.items()
                     if not is_small_gap(v)]),
              provisional=is_prov_a, networks=_networks("F5e", r.panels)),
        Claim("F5f", "layer 4: about 250 (a) / 70 (Funnel) top neurons must go to strip the "
              "net; 100 / 30 suffice for full accuracy",
              provisional + _counted(f5f), v5f,
              explain(v5f, scale, profile, {}, other=_off_counts(f5f)),
              networks=_networks("F5f", r.panels)),
        Claim("F5g", "Funnel + Dropout: layer 3, about 50 top neurons suffice and about 150 "
              "must go to reach chance; layer 4, about 25 active neurons",
              provisional_c + _counted(f5g) + f"; layer 4: {active_c4:.0f} active (not dead) "
              "neurons" if has_c else C_MISSING, v5g,
              explain(v5g, scale_c, profile, {}, other=_off_counts(f5g) + (
                  [] if about_verdict(active_c4, 25) == "reproduced"
                  else [f"layer 4: {active_c4:.0f} active neurons, not about 25"]))
              if has_c else C_MISSING,
              provisional=is_prov_c, networks=_networks("F5g", r.panels)),
        Claim("S4 (CIFAR-10)", "35 seeds (CIFAR-10); mean and std over seeds",
              (f"{n_min} seeds per network" if len(set(seeds)) == 1 else "seeds per network: "
               + ", ".join(f"{n} ({k})" for k, n in of.items()))
              + f", {len(r.panels)} of the 3 networks",
              verdict_from(n_min >= PAPER_SEEDS and has_c, partial=True), tuple(s4_reasons),
              provisional=is_provisional(profile, seeds, PAPER_SEEDS),
              networks=_networks("S4", r.panels)),
    ]
    return [c if c.provisional is not None else replace(c, provisional=is_prov) for c in rows]
