"""How the book's matplotlib figures are written: SVG, with their text kept as text.

A chapter's figures are drawn by :mod:`nbutils.plots`; importing this module there once
(``from . import style; style.use()``) makes every figure a notebook shows an SVG instead of a
100-dpi PNG, so that it is sharp at any size: in the page, and opened alone, full size, through
the link the book puts on every figure (``book/_static/figures.js``). With ``svg.fonttype =
"none"`` the labels stay text (the browser draws them; they can be searched and copied) and the
file stays small.

The SVG is the same on every run of the same figure (fixed ``svg.hashsalt``, no date in its
metadata): the notebook checks compare cell outputs, and an SVG output is compared as text.

How large a figure's text appears depends on how wide the figure is drawn: the book's text
column is about :data:`TEXT_COLUMN_PX` CSS pixels wide, a point is 4/3 CSS pixel at a figure's
own size, and a figure wider than the column is scaled down to it. :func:`text_px` says, for a
figure, the size in CSS pixels of its smallest text at its own size and in the column;
``tests/test_browser.py`` wants at least :data:`MIN_TEXT_PX`, in the page or opened full size.
"""
from __future__ import annotations

import matplotlib as mpl

MIN_TEXT_PX = 9.0          # the smallest legible text, in CSS pixels (tests/test_browser.py)
TEXT_COLUMN_PX = 750.0     # the book's text column at 1400 px (pydata-sphinx-theme 0.17)
PX_PER_PT = 96 / 72        # CSS pixels per point: a figure's SVG is sized in points

RC = {
    "svg.fonttype": "none",        # text stays text, drawn by the browser
    "svg.hashsalt": "nbutils",     # ids inside the SVG the same on every run
    # DejaVu Sans ships with matplotlib; "sans-serif" adds matplotlib's list (Arial, Helvetica,
    # ...) to the SVG's font-family for the browser. A family named here that this machine
    # lacks makes matplotlib log "findfont: ... not found" for every text: a stray warning in
    # every executed chapter.
    "font.family": ["DejaVu Sans", "sans-serif"],
}

FORMATS = ("svg",)
PRINT_FIGURE_KWARGS = {"bbox_inches": "tight", "metadata": {"Date": None}}


def use(formats: tuple[str, ...] = FORMATS) -> bool:
    """Apply :data:`RC` and, inside IPython (a notebook's kernel), make the inline backend
    show figures as ``formats`` (default SVG, without a date). Returns whether IPython was
    there; outside it only the rc settings apply (``savefig`` chooses its own format)."""
    mpl.rcParams.update(RC)
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the notebooks' kernel
        return False
    if get_ipython() is None:
        return False
    from matplotlib_inline.backend_inline import set_matplotlib_formats
    from matplotlib_inline.config import InlineBackend

    # the backend's own settings too: when pyplot activates the inline backend later, it selects
    # the formats from them (and would go back to PNG)
    backend = InlineBackend.instance()
    backend.print_figure_kwargs = dict(PRINT_FIGURE_KWARGS)
    backend.figure_formats = set(formats)
    set_matplotlib_formats(*formats, **PRINT_FIGURE_KWARGS)
    return True


def text_px(fig, column_px: float = TEXT_COLUMN_PX) -> dict[str, float]:
    """The smallest visible text of ``fig`` in CSS pixels: ``"full"``, at the figure's own size
    (as opened alone), and ``"page"``, drawn in a text column ``column_px`` wide (a wider
    figure is scaled down to it). No text: both are infinite."""
    from matplotlib.text import Text

    sizes = [t.get_fontsize() for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip()]
    if not sizes:
        return {"full": float("inf"), "page": float("inf")}
    full = min(sizes) * PX_PER_PT
    width_px = fig.get_figwidth() * 72 * PX_PER_PT
    return {"full": full, "page": full * min(1.0, column_px / width_px)}


def min_fontsize(fig_width_in: float, column_px: float = TEXT_COLUMN_PX,
                 min_px: float = MIN_TEXT_PX) -> float:
    """The smallest font size (points) legible in the page for a figure ``fig_width_in``
    inches wide: a figure of 6.4 in needs 6.75 pt, one of 12 in 10.4 pt."""
    scale = min(1.0, column_px / (fig_width_in * 72 * PX_PER_PT))
    return min_px / (PX_PER_PT * scale)
