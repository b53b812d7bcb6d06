"""Chapter 3, Fig. 1: the measures of every neuron, layer by layer (claims F1a-F1e).

Besides what :mod:`nbutils.precompute` computes (``requests``), the tables the chapter shows
(:func:`summary_table`, :func:`f1a_table`, :func:`f1d_table`, :func:`f1e_table`), the numbers
its prose glues, and its claims (:func:`claims`). They read the one-bit measures of each
network (:data:`Measures`), as :func:`nbutils.analysis.measures` gives them.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from .. import analysis
from ..claims import Claim, Reason, explain, scale_note
from ..config import CHAPTER_CONFIGS
from ..measures import MEASURES
from ..verdicts import count_verdict, is_most
from . import Config, Request

NOTEBOOK = "03_fig1_violins"
CONFIGS: tuple[Config, ...] = CHAPTER_CONFIGS["fig1"]
FROM_RESULTS = True

# network name (e.g. "mnist-relu-dropout") -> one dict per hidden layer: measure ("entropy",
# "mi", "kl") -> its values, (seeds, neurons), in bits
Measures = dict[str, list[dict[str, np.ndarray]]]


def requests(config: Config) -> list[Request]:
    """Every configuration: the one-bit measures of its neurons (also read by chapters 2, 6, 7)."""
    return [Request("measures (chapters 2, 3, 6)", analysis.measures)]


def name(config: Config) -> str:
    """A configuration's network name, ``"mnist-relu-dropout"``."""
    return "-".join(config)


FIG1 = [name(c) for c in CHAPTER_CONFIGS["fig1"]]        # the networks of the paper's Fig. 1
F1A = [name(c) for c in CHAPTER_CONFIGS["mnist_all"]]    # the networks F1a is judged on
F1E = ("mnist-relu-dropout", "mnist-sigmoid-dropout")    # F1e: the ReLU one; sigmoid shown


def seed_counts(measures: Measures) -> list[int]:
    """The number of seeds of each network."""
    return [per_layer[0]["mi"].shape[0] for per_layer in measures.values()]


def summary_table(measures: Measures, names: Iterable[str]) -> pd.DataFrame:
    """The medians and means behind the figure: per network of ``names`` and hidden layer, the
    median and mean of each measure over the neurons of all seeds."""
    rows = []
    for network in names:
        for layer, values in enumerate(measures[network]):
            row = {("", "configuration"): network, ("", "layer"): layer + 1}
            for m in MEASURES:
                row[(MEASURES[m].label, "median")] = float(np.median(values[m]))
                row[(MEASURES[m].label, "mean")] = float(np.mean(values[m]))
            rows.append(row)
    table = pd.DataFrame(rows)
    table.columns = pd.MultiIndex.from_tuples(table.columns)
    table = table.set_index([("", "configuration"), ("", "layer")])
    table.index.names = ["configuration", "layer"]
    return table


def increases(medians: Sequence[float]) -> bool:
    """Every layer's median exceeds the previous layer's."""
    return bool(np.all(np.diff(medians) > 0))


def f1a_table(measures: Measures, extra: Iterable[str] = ()) -> pd.DataFrame:
    """F1a: per (network, measure), the layer medians (neurons of all seeds pooled), whether they
    increase with depth, in how many seeds they do, and whether the paper claims it (the eight
    MNIST networks :data:`F1A`; ``extra`` networks are shown with ``claimed`` False)."""
    rows = []
    for network in [*F1A, *extra]:
        per_layer = measures[network]
        for m in MEASURES:
            pooled = [float(np.median(values[m])) for values in per_layer]
            per_seed = np.array([[np.median(values[m][s]) for values in per_layer]
                                 for s in range(per_layer[0][m].shape[0])])
            rows.append({
                "configuration": network, "measure": m,
                **{f"median, layer {i + 1}": v for i, v in enumerate(pooled)},
                "increases": increases(pooled),
                "seeds increasing": f"{sum(increases(r) for r in per_seed)}/{len(per_seed)}",
                "claimed": network in F1A})
    return pd.DataFrame(rows).set_index(["configuration", "measure"])


def _f1a_counts(f1a: pd.DataFrame) -> tuple[int, int, list[str], pd.Series]:
    """The claimed pairs that increase, all claimed pairs, those that do not (names), and per
    network whether all three measures increase."""
    claimed = f1a[f1a["claimed"]]
    failures = [f"{c} {m}" for (c, m), r in claimed.iterrows() if not r["increases"]]
    networks = claimed.groupby(level="configuration", sort=False)["increases"].all()
    return int(claimed["increases"].sum()), len(claimed), failures, networks


def f1a_notes(f1a: pd.DataFrame) -> dict[str, object]:
    """The numbers of F1a the prose glues (``ch3_f1a_*``)."""
    count, total, failures, networks = _f1a_counts(f1a)
    return {"ch3_f1a_count": count, "ch3_f1a_total": total,
            "ch3_f1a_networks": int(networks.sum()), "ch3_f1a_n_networks": len(networks),
            "ch3_f1a_failures": ", ".join(failures) or "none"}


def f1d_table(measures: Measures) -> pd.DataFrame:
    """F1d: per Dropout network of Fig. 1 and layer, its median mutual information against the
    L2 network of the same dataset and activation function (where that one was loaded)."""
    rows = []
    for arch, activation, regularizer in CHAPTER_CONFIGS["fig1"]:
        l2 = f"{arch}-{activation}-l2"
        if regularizer != "dropout" or l2 not in measures:
            continue
        dropout = name((arch, activation, regularizer))
        for layer, (drop, l2_layer) in enumerate(zip(measures[dropout], measures[l2])):
            med_drop, med_l2 = float(np.median(drop["mi"])), float(np.median(l2_layer["mi"]))
            rows.append({"dataset and activation": f"{arch}-{activation}",
                         "layer": layer + 1, "median MI, Dropout": med_drop,
                         "median MI, L2": med_l2, "Dropout larger": med_drop > med_l2})
    columns = ["dataset and activation", "layer", "median MI, Dropout", "median MI, L2",
               "Dropout larger"]
    return pd.DataFrame(rows, columns=columns).set_index(["dataset and activation", "layer"])


def _below_all(mi1: np.ndarray, mi2: np.ndarray) -> list[float]:
    """Per seed, the fraction of first-layer neurons below the smallest second-layer MI."""
    return [float(np.mean(mi1[s] < mi2[s].min())) for s in range(mi1.shape[0])]


def f1e_table(measures: Measures) -> pd.DataFrame:
    """F1e: for the MNIST Dropout networks (:data:`F1E`), the share of first-layer neurons whose
    mutual information is below the smallest of the second layer, per seed and pooled, with
    descriptive columns (smallest layer-2 MI, median layer-1 MI, share below the layer-2 lower
    quartile)."""
    rows = []
    for network in F1E:
        if network not in measures:
            continue
        mi1, mi2 = measures[network][0]["mi"], measures[network][1]["mi"]
        rows.append({"configuration": network,
                     "per seed (%)": ", ".join(f"{100 * f:.0f}" for f in _below_all(mi1, mi2)),
                     "pooled (%)": 100 * float(np.mean(mi1 < mi2.min())),
                     "smallest layer-2 MI (bits)": float(mi2.min()),
                     "median layer-1 MI (bits)": float(np.median(mi1)),
                     "below layer-2 lower quartile (%)":
                         100 * float(np.mean(mi1 < np.quantile(mi2, 0.25)))})
    return pd.DataFrame(rows).set_index("configuration")


def claims(measures: Measures, profile: str) -> list[Claim]:
    """The claims F1a (MNIST half), F1d and F1e of chapter 3, from the one-bit measures of the
    networks of Fig. 1 and the eight MNIST networks (rules: :mod:`nbutils.verdicts`). Each is one
    statement over several yes/no cases (:func:`nbutils.verdicts.count_verdict`): F1a over the
    (MNIST network, measure) pairs, F1d over the (network, layer) comparisons, F1e over the
    pooled neurons and each seed (*most*: :func:`nbutils.verdicts.is_most`). The FashionMNIST
    half of F1a, F1b and F1c are judged in chapters 6 and 7."""
    scale = scale_note(profile, seed_counts(measures))
    f1a_count, f1a_total, f1a_failures, f1a_networks = _f1a_counts(f1a_table(measures))
    f1d = f1d_table(measures)
    f1d_count, f1d_total = int(f1d["Dropout larger"].sum()), len(f1d)
    f1e = f1e_table(measures).loc["mnist-relu-dropout"]
    f1a_verdict = count_verdict(f1a_count, f1a_total)
    f1d_verdict = count_verdict(f1d_count, f1d_total)
    # F1e, one statement over several cases: the pooled neurons of Fig. 1 and every seed's network
    seed_fracs = [100 * f for f in _below_all(*(measures["mnist-relu-dropout"][layer]["mi"]
                                                for layer in (0, 1)))]
    f1e_cases = [is_most(f1e["pooled (%)"])] + [is_most(f) for f in seed_fracs]
    f1e_verdict = count_verdict(sum(f1e_cases), len(f1e_cases))
    n_f1e_ok = sum(is_most(f) for f in seed_fracs)
    f1e_why = explain(f1e_verdict, scale, profile, {}, other=[] if f1e_verdict == "reproduced"
                      else [f"the strict comparison holds in {n_f1e_ok} of {len(seed_fracs)} "
                            f"seeds; it fails where one layer-2 neuron has almost no MI "
                            f"(smallest: {f1e['smallest layer-2 MI (bits)']:.3f} bits), which a "
                            "single such neuron suffices for; against the layer-2 lower quartile "
                            f"{f1e['below layer-2 lower quartile (%)']:.0f} % of layer-1 neurons "
                            "lie below"])
    f1d_fail = [f"{network} layer {layer}: {r['median MI, Dropout']:.3f} bits with Dropout, "
                f"{r['median MI, L2']:.3f} with L2" for (network, layer), r in f1d.iterrows()
                if not r["Dropout larger"]]

    def elsewhere(chapter: int) -> tuple[Reason, ...]:
        return (Reason("note", f"tested in chapter {chapter}, not here"),)

    return [
        Claim("F1a (MNIST half)", "all three quantities increase towards deeper layers on MNIST, "
              "for every activation/regularizer combination",
              f"layer medians increase in {f1a_count} of {f1a_total} (network, quantity) pairs "
              f"of the {len(f1a_networks)} MNIST networks (ReLU, sigmoid x none, L2, Dropout, "
              f"BN + Dropout); all three quantities in {int(f1a_networks.sum())} of "
              f"{len(f1a_networks)} networks"
              + (f"; not in: {', '.join(f1a_failures)}" if f1a_failures else ""),
              f1a_verdict, explain(f1a_verdict, scale, profile, {},
                                   other=[f"no increase in {f}" for f in f1a_failures])),
        Claim("F1a (FashionMNIST)", "FashionMNIST: entropy and MI increase towards deeper "
              "layers", "judged in chapter 6 (book/06_layerwise_fashionmnist), with the "
              "FashionMNIST networks of Fig. 4", "not testable", elsewhere(6)),
        Claim("F1b", "CIFAR-10: less clear, small increase from hidden layer 2 to 4",
              "judged in chapter 7 (book/07_layerwise_cifar10), which trains the CIFAR-10 "
              "networks of Fig. 1(d)", "not testable", elsewhere(7)),
        Claim("F1c", "small FashionMNIST with Dropout: layer 2 has smaller KL selectivity than "
              "layer 1 (a quantization artifact)",
              "judged in chapter 6 (book/06_layerwise_fashionmnist), with the small "
              "FashionMNIST networks of Fig. 4", "not testable", elsewhere(6)),
        Claim("F1d", "MI is larger with Dropout than with L2",
              f"median MI larger with Dropout in {f1d_count} of {f1d_total} (dataset, "
              "activation, layer) comparisons of the Fig. 1 networks (MNIST ReLU and sigmoid, "
              "FashionMNIST ReLU)", f1d_verdict,
              explain(f1d_verdict, scale, profile, {}, other=f1d_fail)),
        Claim("F1e", "MNIST Dropout: most layer-1 neurons have smaller MI than any layer-2 "
              "neuron",
              f"ReLU Dropout: {f1e['pooled (%)']:.0f} % of layer-1 neurons below the smallest "
              f"layer-2 MI (pooled); per seed {f1e['per seed (%)']} %; smallest layer-2 MI "
              f"{f1e['smallest layer-2 MI (bits)']:.3f} bits, median layer-1 MI "
              f"{f1e['median layer-1 MI (bits)']:.3f} bits",
              f1e_verdict, f1e_why),
    ]
