"""How claims look in the book: the claims table every chapter ends with (verdict badges, cells
labelled for narrow screens) and the record of its rows that the claims dashboard reads.

What a row holds is :mod:`nbutils.claims`; the rules behind its verdict, :mod:`nbutils.verdicts`;
the run's provenance note, :mod:`nbutils.provenance`.
"""
from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable

import pandas as pd

from .claims import Claim, Finding
from .config import MAIN_PREPROCESSING
from .verdicts import FINDING_BADGES, is_provisional

CLAIMS_RECORD = "claims_record"  # the glue name of a chapter's claims rows (nbutils.dashboard)


class ClaimsTable(pd.DataFrame):
    """A DataFrame that always displays its cells in full (claims are sentences: pandas would
    cut them at ``display.max_colwidth`` characters). In HTML it is a ``claims-table`` whose
    rows carry an id (:func:`row_anchors`: ``claim-f3a``, for links to a claim), whose cells
    carry their column name (``data-label``, for a stacked layout on narrow screens) and whose
    verdicts are badges (``verdict verdict-partly``); the book's CSS styles them."""

    @property
    def _constructor(self):
        return ClaimsTable

    def _repr_html_(self) -> str | None:
        table = self.reset_index()
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
        anchors = row_anchors(table.iloc[:, 0], prefix=str(table.columns[0]))
        rows = []
        for anchor, (_, row) in zip(anchors, table.iterrows()):
            cells = []
            for i, (column, value) in enumerate(row.items()):
                text = html.escape(str(value))
                if i == 0 and " " in text:   # "F1a (MNIST half)": the id over its part
                    name, part = text.split(" ", 1)
                    text = f'{name} <span class="claim-part">{part}</span>'
                if column == "verdict":
                    text = f'<span class="verdict {verdict_class(str(value))}">{text}</span>'
                cells.append(f'<td data-label="{html.escape(str(column))}">{text}</td>')
            rows.append(f'<tr id="{anchor}">' + "".join(cells) + "</tr>")
        return (f'<table class="claims-table"><thead><tr>{head}</tr></thead>'
                f'<tbody>{"".join(rows)}</tbody></table>')

    def __repr__(self) -> str:
        with pd.option_context("display.max_colwidth", None):
            return self.to_string()


def row_anchors(names: Iterable[object], prefix: str = "claim") -> list[str]:
    """The HTML ids of a claims table's rows, so that a link can point at one row
    (``05_layerwise_mnist.html#claim-f3a``): ``prefix``, then the first word of the row's name
    in lower case with every run of other characters than letters and digits made a hyphen
    (``"F1a/F1d (FashionMNIST)"`` -> ``claim-f1a-f1d``); a name met again in the same table
    gets ``-2``, ``-3``, ... (``"F1a (MNIST half)"``, ``"F1a (FashionMNIST)"`` -> ``claim-f1a``,
    ``claim-f1a-2``). The claims dashboard links with the same ids
    (:mod:`nbutils.dashboard`)."""
    prefix = re.sub(r"[^a-z0-9]+", "-", prefix.lower()).strip("-") or "row"
    seen: dict[str, int] = {}
    out = []
    for name in names:
        words = str(name).split()
        slug = re.sub(r"[^a-z0-9]+", "-", words[0].lower()).strip("-") if words else ""
        base = f"{prefix}-{slug or 'row'}"
        seen[base] = seen.get(base, 0) + 1
        out.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return out


def verdict_class(verdict: str) -> str:
    """The CSS class of a verdict badge: ``"verdict-not-reproduced"`` (a finding's verdict,
    ``"holds"`` ..., takes the badge of the claim verdict it stands for)."""
    verdict = FINDING_BADGES.get(verdict, verdict)
    return "verdict-" + verdict.replace(" ", "-")


def claims_table(claims: list[Claim], profile: str | None = None,
                 provisional: bool | None = None, chapter: str | None = None,
                 preprocessing: str = MAIN_PREPROCESSING) -> ClaimsTable:
    """The claims table every chapter ends with: id, paper, this book, verdict, why they differ.

    Args:
        claims: the chapter's rows.
        profile: the chapter's run profile; with it the rows are also recorded in the executed
            notebook (glued as :data:`CLAIMS_RECORD`, not displayed) for the claims dashboard.
        provisional: whether the rows ran below the paper's scale (a chapter passes
            :func:`is_provisional` of its seeds; None: provisional unless the profile is
            ``"paper"``); a row whose own ``provisional`` is set records it, which the
            dashboard reads instead of the chapter's.
        chapter: the chapter's module name (``"ch04"``); with ``profile``, the rows first say
            what the other input reading shipped at that profile gives
            (:mod:`nbutils.readings`).
        preprocessing: the input reading the chapter ran with.

    Returns:
        The table, shown in full with verdict badges (:class:`ClaimsTable`).
    """
    if profile is not None and chapter is not None:
        from . import readings

        claims = readings.annotate(claims, readings.find(chapter, profile, preprocessing))
    if profile is not None:
        from myst_nb import glue

        if provisional is None:
            provisional = is_provisional(profile)
        record = {"profile": profile, "provisional": bool(provisional),
                  "rows": [{"claim": c.id, "paper": c.paper, "ours": c.ours,
                            "verdict": c.verdict, "why": c.why,
                            "reasons": [r.as_dict() for r in c.reasons],
                            **({} if c.provisional is None
                               else {"provisional": bool(c.provisional)})} for c in claims]}
        glue(CLAIMS_RECORD, json.dumps(record), display=False)
    return ClaimsTable(
        [(c.id, c.paper, c.ours, c.verdict, c.why) for c in claims],
        columns=["claim", "paper reports", "this book measured", "verdict", "why they differ"],
    ).set_index("claim")


def findings_table(findings: list[Finding]) -> ClaimsTable:
    """Chapter 10's findings, shown like a claims table (never recorded for the dashboard:
    they are not claims of the paper)."""
    return ClaimsTable([(f.id, f.question, f.ours, f.verdict, f.note) for f in findings],
                       columns=["finding", "question", "this book measured", "verdict",
                                "note"]).set_index("finding")
