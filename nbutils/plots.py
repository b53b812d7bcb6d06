"""The paper's figures: violin plots of the measures per layer (Fig. 1), cumulative-ablation curves
(Figs. 2-5) and, for whole-network ablation, the layer each ablated neuron comes from.

Every function draws into axes the caller made (or a figure it fills), returns what it drew into,
and checks its inputs: an array of the wrong shape raises ``ValueError`` naming the argument.
Accuracies are fractions in [0, 1] (as :mod:`nbutils.experiment` returns them) and are plotted
in percent. Nothing here calls ``plt.show`` or closes figures: the chapters do.

One visual vocabulary for orderings, shared by all figures: the label, short name and colour of
each ordering in the one registry, :data:`nbutils.orderings.ORDERINGS` (entropy blue, mutual
information red, KL selectivity green, random black, ...); in ablation figures low values first
solid, high values first dashed (the paper's Fig. 3 convention); in pruning figures
(:func:`pruning_panel`) He et al.'s criteria dashed.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.lines import Line2D

from . import checks, style
from .activations import ACTIVATION_TABLE
from .config import ARCHITECTURES, REGULARIZER_LABELS
from .measures import MEASURES
from .orderings import CRITERION, ORDERINGS, PRUNING, RANDOM, ordering_names, split_ordering
from .stats import mean_std

style.use()  # figures as SVG, text kept as text (nbutils.style)

RANDOM_COLOR = ORDERINGS[RANDOM].color   # the registry's (kept for callers of this name)
DIRECTION_STYLES = {"low": "-", "high": "--"}
DIRECTION_TEXT = {"low": "low first", "high": "high first"}
# Fig. 1 statistics: colour and line style of the vertical marks on each violin.
VIOLIN_MARKS = {"extrema": ("0.35", "-"), "median": ("black", "-"), "mean": ("tab:orange", ":")}


# ------------------------------------------------------------------------------ orderings
def ordering_label(name: str) -> str:
    """Legend text: ``"MI, high first"``, ``"random"``."""
    measure, direction = split_ordering(name)
    if measure is None:
        return ORDERINGS[RANDOM].short
    return f"{ORDERINGS[measure].short}, {DIRECTION_TEXT[direction]}"


def ordering_style(name: str) -> dict:
    """Keyword arguments of ``Axes.plot`` for one ordering (colour, line style, width)."""
    measure, direction = split_ordering(name)
    if measure is None:
        return {"color": ORDERINGS[RANDOM].color, "linestyle": "-", "linewidth": 1.6}
    return {"color": ORDERINGS[measure].color, "linestyle": DIRECTION_STYLES[direction],
            "linewidth": 1.4}


def _default_orderings(keys) -> list[str]:
    """The keys of a curves dict in the book's standard order (measures, then random)."""
    return [name for name in ordering_names() if name in keys]


def _select(mapping: Mapping, orderings: Sequence[str] | None, argname: str) -> list[str]:
    if not isinstance(mapping, Mapping) or not mapping:
        raise ValueError(f"{argname} must be a non-empty dict ordering -> array")
    if orderings is None:
        orderings = _default_orderings(mapping)
        if not orderings:
            raise ValueError(f"{argname} has no known ordering among its keys {list(mapping)}")
        return orderings
    if isinstance(orderings, str) or not len(orderings):
        raise ValueError(f"orderings must be a non-empty list of names, got {orderings!r}")
    missing = [o for o in orderings if o not in mapping]
    if missing:
        raise ValueError(f"orderings {missing} are not keys of {argname} ({list(mapping)})")
    for o in orderings:
        split_ordering(o)
    return list(orderings)


# ------------------------------------------------------------------------- Fig. 1: violins
def _layer_values(measures_per_layer, measures) -> list[dict[str, np.ndarray]]:
    """Validate the per-layer measures and pool them over seeds (flattened 1-D arrays)."""
    if (isinstance(measures_per_layer, (str, Mapping))
            or not isinstance(measures_per_layer, Sequence) or not measures_per_layer):
        raise ValueError("measures_per_layer must be a non-empty list (one entry per hidden "
                         "layer) of dicts measure -> array (M, n)")
    pooled = []
    for l, layer in enumerate(measures_per_layer):
        if not isinstance(layer, Mapping):
            raise ValueError(f"measures_per_layer[{l}] must be a dict measure -> array, "
                             f"got {type(layer).__name__}")
        entry = {}
        for m in measures:
            if m not in layer:
                raise ValueError(f"measures_per_layer[{l}] has no {m!r} (keys: {list(layer)})")
            arr = np.asarray(layer[m], dtype=np.float64)
            if arr.ndim not in (1, 2) or arr.size == 0:
                raise ValueError(f"measures_per_layer[{l}][{m!r}] must be a non-empty array of "
                                 f"shape (M, n) or (n,), got shape {arr.shape}")
            if not np.isfinite(arr).all():
                raise ValueError(f"measures_per_layer[{l}][{m!r}] contains NaN or Inf")
            entry[m] = arr.ravel()
        pooled.append(entry)
    return pooled


def _violin_axes(target, n: int) -> list[Axes]:
    if isinstance(target, Figure):
        axes = target.subplots(1, n, squeeze=False)[0]
        return list(axes)
    if isinstance(target, Axes):
        target = [target]
    axes = list(np.asarray(target, dtype=object).ravel())
    if len(axes) != n or not all(isinstance(a, Axes) for a in axes):
        raise ValueError(f"ax_row must be a Figure or {n} Axes (one per measure), "
                         f"got {len(axes)} item(s)")
    return axes


def violin_panel(ax_row, measures_per_layer, *, measures: Sequence[str] = MEASURES,
                 title: str | None = None, layer_names: Sequence[str] | None = None,
                 color: str = "tab:blue", legend: bool = True, fontsize: float = 9) -> list[Axes]:
    """Fig. 1: one violin per hidden layer for each measure, all seeds pooled.

    ``ax_row`` is a Figure (filled with one row of axes, one per measure) or a sequence of Axes,
    one per measure. ``measures_per_layer`` is what :func:`nbutils.analysis.measures` returns: a
    list with one dict per hidden layer, measure -> ``(M, n)`` array (any number of layers;
    layers may differ in width). Each violin marks the minimum and maximum, the median (solid
    black) and the mean (dotted orange); the y axis lists the layers, layer 1 on top, as in the
    paper. Returns the list of axes; the legend explaining the marks is on the last one
    (``legend=True``).

    Args:
        ax_row: a Figure (filled with ``1 x len(measures)`` axes) or ``len(measures)`` Axes.
        measures_per_layer: list with one dict per hidden layer, measure name -> finite array
            ``(M, n)`` (or ``(n,)``) of that layer's values; ``n`` may differ between layers.
        measures: the measures to draw, one axes each, names of :data:`nbutils.measures.MEASURES`
            (``"entropy"``, ``"mi"``, ``"kl"``); default: all of them.
        title: title of the first axes (left-aligned); default ``None``: none.
        layer_names: y tick labels, one per layer; default ``"layer 1"``, ``"layer 2"``, ...
        color: colour of the violin bodies; default ``"tab:blue"``.
        legend: draw the legend explaining the marks next to the last axes; default ``True``.
        fontsize: base font size in points; default 9.

    Returns:
        The ``len(measures)`` Axes drawn into, in the order of ``measures``.

    Raises:
        ValueError: unknown or no ``measures``; ``measures_per_layer`` not a non-empty list of
            dicts holding every measure as a finite non-empty ``(M, n)`` or ``(n,)`` array;
            ``layer_names`` of the wrong length; ``ax_row`` not a Figure or not
            ``len(measures)`` Axes.
    """
    measures = list(measures)
    if not measures or any(m not in MEASURES for m in measures):
        raise ValueError(f"measures must be a non-empty list drawn from {list(MEASURES)}, "
                         f"got {measures!r}")
    pooled = _layer_values(measures_per_layer, measures)
    n_layers = len(pooled)
    if layer_names is None:
        layer_names = [f"layer {l + 1}" for l in range(n_layers)]
    elif len(layer_names) != n_layers:
        raise ValueError(f"layer_names has {len(layer_names)} names for {n_layers} layers")
    axes = _violin_axes(ax_row, len(measures))
    positions = np.arange(n_layers, 0, -1)  # layer 1 on top
    for ax, m in zip(axes, measures):
        parts = ax.violinplot([p[m] for p in pooled], positions=positions,
                              orientation="horizontal", widths=0.8, showmeans=True,
                              showmedians=True, showextrema=True)
        for body in parts["bodies"]:
            body.set_facecolor(color)
            body.set_edgecolor(color)
            body.set_alpha(0.35)
        for key, mark in (("cmins", "extrema"), ("cmaxes", "extrema"), ("cbars", "extrema"),
                          ("cmedians", "median"), ("cmeans", "mean")):
            c, ls = VIOLIN_MARKS[mark]
            parts[key].set_color(c)
            parts[key].set_linestyle(ls)
            parts[key].set_linewidth(1.0 if key == "cbars" else 1.8)
        ax.set_yticks(positions, list(layer_names), fontsize=fontsize)
        ax.set_xlabel(f"{MEASURES[m].label} (bits)", fontsize=fontsize)
        ax.tick_params(axis="x", labelsize=fontsize - 1)
        ax.grid(axis="x", alpha=0.3)
        ax.set_ylim(0.4, n_layers + 0.6)
    if title:
        axes[0].set_title(title, fontsize=fontsize + 1, loc="left")
    if legend:
        handles = [Line2D([], [], color=VIOLIN_MARKS["extrema"][0], lw=1.8, label="min / max"),
                   Line2D([], [], color=VIOLIN_MARKS["median"][0], lw=1.8, label="median"),
                   Line2D([], [], color=VIOLIN_MARKS["mean"][0], lw=1.8,
                          linestyle=VIOLIN_MARKS["mean"][1], label="mean")]
        axes[-1].legend(handles=handles, fontsize=fontsize - 1, loc="upper left",
                        bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False)
    return axes


# ------------------------------------------------------------------- Figs. 2-5: ablation
def _check_curve_dict(curves, orderings, argname: str) -> tuple[list[str], int]:
    names = _select(curves, orderings, argname)
    width = None
    for name in names:
        arr = np.asarray(curves[name])
        if arr.ndim != 2 or 0 in arr.shape:
            raise ValueError(f"{argname}[{name!r}] must have shape (seeds, K+1), got {arr.shape}")
        if width is None:
            width = arr.shape[1]
        elif arr.shape[1] != width:
            raise ValueError(f"{argname}[{name!r}] has {arr.shape[1]} columns, "
                             f"{argname}[{names[0]!r}] has {width}")
    return names, width


def ablation_panel(ax: Axes, curves: Mapping[str, np.ndarray],
                   orderings: Sequence[str] | None = None, *, title: str | None = None,
                   mark_k: int | None = None, legend: bool | str = True,
                   show_std: bool = True, fontsize: float = 9,
                   ks: Sequence[int] | None = None) -> Axes:
    """Figs. 2-5: test accuracy (%) against the number of neurons ablated.

    ``curves`` maps ordering names (``"mi-low"``, ..., ``"random"``) to accuracies ``(M, K+1)``
    in [0, 1], column k = after ablating k neurons. Each ordering in ``orderings`` (default: every
    known key, in the standard order) is drawn as its mean over seeds with a shaded band of
    ± one standard deviation. ``mark_k`` draws a dotted vertical line where the mean gaps are
    read. ``legend``: ``True`` (inside, lower left: the curves fall to the right), a matplotlib
    ``loc`` string, or ``False`` (the caller makes one legend for a whole figure).

    Args:
        ax: the Axes to draw into.
        curves: ordering name -> test accuracies ``(M, K+1)``, finite fractions in [0, 1], one
            row per seed, column ``k`` after ablating ``k`` neurons; every drawn ordering has
            the same ``K``.
        orderings: the keys of ``curves`` to draw, in this order (``"<measure>-<low|high>"`` or
            ``"random"``); default ``None``: every known key, in the standard order.
        title: axes title; default ``None``: none.
        mark_k: ``k`` in ``0..K`` to mark with a dotted vertical line; default ``None``: none.
        legend: ``True`` (default; lower left), a matplotlib ``loc`` string, or ``False``.
        show_std: draw the band of ± one (population) standard deviation over seeds; default
            ``True``.
        fontsize: base font size in points; default 9.
        ks: the number of ablated neurons of each column (a grid, strictly increasing); default
            ``None``: column ``k`` is ``k``. The curves are drawn through the grid points.

    Returns:
        ``ax``.

    Raises:
        ValueError: ``ax`` not an Axes; ``curves`` empty or not a dict; ``orderings`` not keys
            of ``curves`` or not ordering names; a curve not ``(M, K+1)`` with one ``K``, not
            finite or outside [0, 1]; ``ks`` not one strictly increasing value per column;
            ``mark_k`` outside ``0..K``.
    """
    if not isinstance(ax, Axes):
        raise ValueError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    names, width = _check_curve_dict(curves, orderings, "curves")
    if ks is None:
        k = np.arange(width)
    else:
        k = np.asarray(ks)
        if k.shape != (width,) or np.any(np.diff(k) <= 0):
            raise ValueError(f"ks must be {width} strictly increasing numbers of ablated neurons "
                             f"(one per column), got {len(k)}")
    for name in names:
        mean, std = mean_std(curves[name])
        style = ordering_style(name)
        ax.plot(k, 100 * mean, label=ordering_label(name), **style)
        if show_std:
            ax.fill_between(k, 100 * (mean - std), 100 * (mean + std), color=style["color"],
                            alpha=0.12, linewidth=0)
    if mark_k is not None:
        if not k[0] <= mark_k <= k[-1]:
            raise ValueError(f"mark_k={mark_k!r} is outside {k[0]}..{k[-1]}")
        ax.axvline(mark_k, color="0.5", linestyle=":", linewidth=1.0)
    ax.set_xlim(k[0], k[-1])
    ax.set_ylim(0, 100)
    ax.set_xlabel("number of neurons ablated", fontsize=fontsize)
    ax.set_ylabel("test accuracy (%)", fontsize=fontsize)
    ax.tick_params(labelsize=fontsize - 1)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=fontsize + 1)
    if legend:
        ax.legend(loc="lower left" if legend is True else legend, fontsize=fontsize - 1.5,
                  framealpha=0.85)
    return ax


def figure_legend(fig: Figure, ax: Axes, *, ncol: int = 4, fontsize: float = 9):
    """One legend for a whole figure, below its axes, from the labelled lines of ``ax``.

    With a constrained layout (``plt.figure(layout="constrained")``) the legend gets its own
    space below the axes; otherwise it sits at the bottom edge and the caller leaves room.
    """
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        raise ValueError("ax has no labelled lines to put in a legend")
    if isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine):
        return fig.legend(handles, labels, loc="outside lower center", ncol=ncol,
                          fontsize=fontsize, frameon=False)
    return fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=fontsize,
                      frameon=False, bbox_to_anchor=(0.5, 0.0))


def config_title(config) -> str:
    """A panel title for a :class:`nbutils.config.TrainConfig`: ``"MNIST, ReLU, Dropout"``."""
    return (f"{ARCHITECTURES[config.arch].title}, "
            f"{ACTIVATION_TABLE[config.activation].display}, "
            f"{REGULARIZER_LABELS[config.regularizer]}")


# ----------------------------------------------------- whole-network ablation: composition
def composition(layer_of: np.ndarray, layer: int = 0) -> np.ndarray:
    """Fraction of the first k ablated neurons that lie in ``layer``, k = 1..total, per seed."""
    arr = np.asarray(layer_of)
    in_layer = (arr == layer).astype(np.float64)
    return np.cumsum(in_layer, axis=1) / np.arange(1, arr.shape[1] + 1)


def layer_composition(ax: Axes, layer_of: Mapping[str, np.ndarray],
                      orderings: Sequence[str] | None = None, *, layer: int = 0,
                      widths: Sequence[int] | None = None, title: str | None = None,
                      legend: bool | str = True, fontsize: float = 9) -> Axes:
    """Whole-network ablation: which layer the ablated neurons come from as k grows.

    ``layer_of`` maps ordering names to ``(M, total)`` integer arrays, the 0-based hidden layer
    of the k-th ablated neuron (as :func:`nbutils.analysis.whole_network_curves` returns it).
    Plots, per ordering, the fraction of the first k ablated neurons that lie in hidden ``layer``
    (0-based; default the paper's layer 1), mean over seeds. With the hidden ``widths``, a grey
    dotted line marks the largest possible fraction, min(k, n_layer) / k (every neuron so far
    from that layer), and a grey dashed one the layer's share of all neurons (what random gives).

    Args:
        ax: the Axes to draw into.
        layer_of: ordering name -> non-negative integer array ``(M, T)``, entry ``[m, k-1]`` the
            0-based hidden layer of the k-th neuron member ``m`` ablates (``T`` hidden neurons
            in all); every drawn ordering has the same shape.
        orderings: the keys of ``layer_of`` to draw, in this order; default ``None``: every
            known key, in the standard order.
        layer: 0-based hidden layer whose share is plotted; default 0 (the paper's layer 1).
        widths: the hidden widths ``(n_1, ..., n_H)``, summing to ``T``; draws the two grey
            reference lines; default ``None``: no reference lines, ``H`` taken from the data.
        title: axes title; default ``None``: none.
        legend: ``True`` (default; lower left), a matplotlib ``loc`` string, or ``False``.
        fontsize: base font size in points; default 9.

    Returns:
        ``ax``.

    Raises:
        ValueError: ``ax`` not an Axes; ``layer_of`` empty or not a dict; ``orderings`` not
            keys of it; an array not 2-D, empty, not of non-negative integers or of another
            shape; ``widths`` not summing to ``T``; ``layer`` not in ``0..H-1``.
    """
    if not isinstance(ax, Axes):
        raise ValueError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    names = _select(layer_of, orderings, "layer_of")
    shape = None
    for name in names:
        arr = np.asarray(layer_of[name])
        if arr.ndim != 2 or 0 in arr.shape:
            raise ValueError(f"layer_of[{name!r}] must have shape (seeds, total), got {arr.shape}")
        if not np.issubdtype(arr.dtype, np.integer) or arr.min() < 0:
            raise ValueError(f"layer_of[{name!r}] must hold non-negative integer layer indices")
        if shape is None:
            shape = arr.shape
        elif arr.shape != shape:
            raise ValueError(f"layer_of[{name!r}] has shape {arr.shape}, "
                             f"layer_of[{names[0]!r}] has {shape}")
    total = shape[1]
    if widths is not None:
        widths = [int(w) for w in widths]
        if sum(widths) != total:
            raise ValueError(f"widths {widths} sum to {sum(widths)}, but layer_of has {total} "
                             f"neurons per seed")
        n_layers = len(widths)
    else:
        n_layers = int(max(np.asarray(layer_of[n]).max() for n in names)) + 1
    checks.index(layer, n_layers, "layer", "0-based hidden layer index")
    k = np.arange(1, total + 1)
    for name in names:
        frac = composition(layer_of[name], layer).mean(axis=0)
        ax.plot(k, 100 * frac, label=ordering_label(name), **ordering_style(name))
    if widths is not None:
        n = widths[layer]
        ax.plot(k, 100 * np.minimum(k, n) / k, color="0.6", linestyle=":", linewidth=1.2,
                label=f"all from layer {layer + 1} (maximum)")
        ax.axhline(100 * n / total, color="0.6", linestyle="--", linewidth=1.0,
                   label=f"layer {layer + 1}'s share of all neurons")
    ax.set_xlim(1, total)
    ax.set_ylim(0, 102)
    ax.set_xlabel("number of neurons ablated (k)", fontsize=fontsize)
    ax.set_ylabel(f"from layer {layer + 1} (% of the k ablated)", fontsize=fontsize)
    ax.tick_params(labelsize=fontsize - 1)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=fontsize + 1)
    if legend:
        ax.legend(loc="lower left" if legend is True else legend, fontsize=fontsize - 1.5,
                  framealpha=0.85)
    return ax


def pruning_style(name: str) -> dict:
    """Keyword arguments of ``Axes.plot`` for one pruning ordering (a name of
    :data:`nbutils.orderings.PRUNING`): its registry colour, solid, He et al.'s criteria dashed."""
    o = PRUNING[name]
    return {"color": o.color, "linestyle": "--" if o.kind == CRITERION else "-"}


def __getattr__(name: str):
    """Deprecated names, computed from the registry: ``PRUNING_STYLES`` (ordering ->
    :func:`pruning_style`) and ``PRUNING_LABELS`` (ordering -> its registry label)."""
    if name == "PRUNING_STYLES":
        return {o: pruning_style(o) for o in PRUNING}
    if name == "PRUNING_LABELS":
        return {o: entry.label for o, entry in PRUNING.items()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def pruning_panel(ax: Axes, counts: Sequence[int], curves: Mapping[str, np.ndarray], *,
                  title: str | None = None, xlabel: str = "neurons removed",
                  legend: bool | str = False, fontsize: float = 9) -> Axes:
    """Chapter 9: test accuracy (%) of pruned networks against the number of neurons removed,
    one line per ordering (mean over seeds; names of :data:`nbutils.orderings.PRUNING`, lowest
    first), in :func:`pruning_style` with the registry's label.

    Args:
        ax: the Axes to draw into.
        counts: the numbers of neurons removed, one per column of the curves.
        curves: ordering -> test accuracies ``(M, len(counts))``, fractions in [0, 1].
        title: axes title; default none.
        xlabel: the x-axis label.
        legend: ``True`` (lower left), a matplotlib ``loc`` string, or ``False`` (default).
        fontsize: base font size in points.

    Returns:
        ``ax``.

    Raises:
        ValueError: ``ax`` not an Axes, an unknown ordering, or a curve whose width differs
            from ``len(counts)``.
    """
    if not isinstance(ax, Axes):
        raise ValueError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    for name, c in curves.items():
        if name not in PRUNING:
            raise ValueError(f"curves: unknown ordering {name!r}; allowed: {list(PRUNING)}")
        c = np.asarray(c, dtype=float)
        if c.ndim != 2 or c.shape[1] != len(counts):
            raise ValueError(f"curves[{name!r}] has shape {c.shape}, expected (M, "
                             f"{len(counts)})")
        ax.plot(counts, 100 * c.mean(axis=0), marker="o", ms=3, label=PRUNING[name].label,
                **pruning_style(name))
    ax.set_xlabel(xlabel, fontsize=fontsize)
    ax.set_ylabel("test accuracy (%)", fontsize=fontsize)
    ax.tick_params(labelsize=fontsize - 1)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=fontsize + 1, loc="left")
    if legend:
        ax.legend(fontsize=fontsize - 1, loc="lower left" if legend is True else legend)
    return ax


# ------------------------------------------------------------- the preprocessing screen
READING_COLORS = {"unit": "tab:gray", "standardized": "tab:blue", "per_pixel": "tab:orange"}


def screen_panel(ax: Axes, values: Mapping[str, Mapping[str, float]], *, xlabel: str,
                 fontsize: float = 9, legend: bool = True) -> Axes:
    """Grouped horizontal bars: one group per configuration (top to bottom in the order of
    ``values``), one bar per reading, e.g. the percent of dead first-layer neurons.

    Args:
        ax: the axes to draw into.
        values: ``{configuration: {reading: value}}``, every configuration with the same
            readings (keys of :data:`READING_COLORS`).
        xlabel: the label of the value axis.
        fontsize: of tick labels and legend.
        legend: draw the legend of the readings.

    Returns:
        ``ax``.
    """
    if not values:
        raise ValueError("values: no configurations to draw")
    readings = list(next(iter(values.values())))
    unknown = [r for r in readings if r not in READING_COLORS]
    if unknown:
        raise ValueError(f"values: readings {unknown} have no colour; known: "
                         f"{list(READING_COLORS)}")
    height = 0.8 / len(readings)
    names = list(values)
    for j, reading in enumerate(readings):
        ys = [i + (j - (len(readings) - 1) / 2) * height for i in range(len(names))]
        ax.barh(ys, [values[n][reading] for n in names], height=height,
                color=READING_COLORS[reading], label=reading.replace("_", " "))
    ax.set_yticks(range(len(names)), names, fontsize=fontsize)
    if not ax.yaxis_inverted():   # the first configuration on top (axes may share y)
        ax.invert_yaxis()
    ax.set_xlabel(xlabel, fontsize=fontsize)
    ax.tick_params(axis="x", labelsize=fontsize)
    if legend:
        ax.legend(fontsize=fontsize, frameon=False, loc="upper right")
    ax.grid(axis="x", alpha=0.3)
    return ax
