"""The book's figures are SVG with their text kept as text, the same on every run
(nbutils.style)."""
from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import nbformat
import pytest
from nbclient import NotebookClient

from nbutils import style

matplotlib.use("Agg")
ROOT = Path(__file__).resolve().parent.parent

# style.use() first, pyplot afterwards (activating the inline backend then must not bring PNG
# back), a figure shown by the inline backend and one displayed explicitly
CELLS = ["from nbutils import style\nstyle.use()",
         "import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(4, 3))\n"
         "ax.plot([0, 1, 2], [1, 0, 1], label='a curve')\nax.set_title('Fig. 1 & <b>')\n"
         "ax.legend()\nplt.show()",
         "from IPython.display import display\nfig, ax = plt.subplots()\nax.bar([1, 2], [3, 4])\n"
         "display(fig)\nplt.close(fig)"]


def _run() -> list[dict]:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    return [o["data"] for c in nb.cells for o in c.outputs if "data" in o]


def test_a_notebook_shows_its_figures_as_svg_with_text_and_the_same_on_every_run():
    first, second = _run(), _run()
    images = [d for d in first if any(k.startswith("image/") for k in d)]
    assert len(images) == 2
    for data in images:
        assert "image/svg+xml" in data and "image/png" not in data, list(data)
        svg = data["image/svg+xml"]
        assert "<dc:date>" not in svg                    # no date: the same on every run
        assert re.search(r"<text[^>]*font-size: \d", svg)  # text kept as text
    assert "Fig. 1 &amp; &lt;b&gt;" in images[0]["image/svg+xml"]
    assert first == second


def test_outside_ipython_only_the_rc_settings_apply():
    with matplotlib.rc_context():        # this process's settings are restored afterwards
        assert style.use() is False
        assert matplotlib.rcParams["svg.fonttype"] == "none"


def test_text_px_and_min_fontsize():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(12, 4))
    ax.set_title("title", fontsize=12)
    ax.tick_params(labelsize=8)
    ax.set_xticks([0, 1], ["a", "b"])
    px = style.text_px(fig)
    assert px["full"] == pytest.approx(8 * 4 / 3)
    # 12 in = 1152 CSS px, drawn 750 px wide: a scale of 0.651
    assert px["page"] == pytest.approx(8 * 4 / 3 * style.TEXT_COLUMN_PX / 1152)
    assert style.min_fontsize(12) == pytest.approx(9 / (4 / 3 * 750 / 1152))
    assert style.min_fontsize(6.4) == pytest.approx(6.75)   # narrower than the column
    plt.close(fig)
    empty = plt.figure()
    assert style.text_px(empty) == {"full": float("inf"), "page": float("inf")}
    plt.close(empty)


def test_drawing_a_figure_logs_no_font_lookup_warning(caplog):
    """Every family of the style is one matplotlib has, wherever the book runs: a missing one
    logs "findfont: ... not found" into every executed chapter's output."""
    import io
    import logging

    import matplotlib.pyplot as plt

    with matplotlib.rc_context(style.RC), caplog.at_level(logging.WARNING, "matplotlib"):
        fig, ax = plt.subplots()
        ax.set_title("a title")
        buf = io.StringIO()
        fig.savefig(buf, format="svg")
        plt.close(fig)
    assert not [r for r in caplog.records if "findfont" in r.getMessage()]
    assert "font-family: 'DejaVu Sans'" in buf.getvalue()
    assert "'Arial'" in buf.getvalue()        # the browser's fallbacks stay in the SVG
