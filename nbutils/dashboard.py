"""The claims dashboard: every claim of the paper with the verdict a chapter computed for it.

Each chapter's claims table records its rows in the executed notebook (a glued JSON record,
:func:`nbutils.report.claims_table`); :func:`collect` reads those records back from the
notebooks of the book, so the dashboard shows what the chapters computed and nothing typed by
hand. :data:`REGISTER` lists every claim id of the paper's claims register (43 ids; a test
checks them against ``shared/paper/CLAIMS.md`` when that folder is beside the repository) with a
short statement in our words.

:func:`html` draws the dashboard (the page "Claims at a glance"): one line per judged part of a
claim, its verdict badge, a link to its row in the chapter's claims table
(:func:`nbutils.report.row_anchors`) and the difference its first reason names; on a phone every
line becomes a card (``book/_static/claims-table.css``). :func:`summary` says how many claims and
lines have each verdict; :func:`read_findings` reads the findings tables of the chapters beyond
the paper (the page "Findings").
"""
from __future__ import annotations

import ast
import html as html_lib
import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pandas as pd

from .claims import Reason, is_control
from .report import CLAIMS_RECORD, row_anchors, verdict_class
from .verdicts import VERDICTS, combine

REGISTER: dict[str, str] = {
    # setup (Sec. III, V)
    "S1": "the five fully connected architectures",
    "S2": "ReLU and sigmoid; no regularizer, L2, Dropout, Dropout + batch norm",
    "S3": "80/20 split, RMSprop, batch 32, 8-30 epochs",
    "S4": "50 seeds (35 for CIFAR-10)",
    "S5": "one-bit quantization; finer bins give no different results",
    "S6": "ablation to zero; to the mean slightly more robust in a few cases",
    # measures (Sec. IV)
    "M1": "entropy, mutual information, KL selectivity from joint frequencies",
    "M2": "small H implies small I; KL selectivity bounds I and vanishes with it",
    "M3": "Examples 1-4: where the measures mislead",
    # Fig. 1
    "F1a": "all three measures grow towards deeper layers",
    "F1b": "CIFAR-10: less clear, small increase from layer 2 to 4",
    "F1c": "small FashionMNIST + Dropout: layer 2 less KL-selective than layer 1",
    "F1d": "MI larger with Dropout than with L2",
    "F1e": "MNIST Dropout: most layer-1 neurons below every layer-2 neuron in MI",
    # Fig. 2
    "F2a": "ReLU + L2: low entropy / MI first like random (network-wide)",
    "F2b": "Dropout and sigmoid: low entropy / MI first worse than random",
    "F2c": "low KL selectivity first like random (Fig. 2(d))",
    "F2d": "low MI first ablates mostly layer 1",
    # Fig. 3
    "F3a": "random ablation hurts more in layer 1 than in layer 2",
    "F3b": "the 50 lowest-ranked layer-2 neurons: negligible effect",
    "F3c": "ReLU + Dropout, layer 1: MI low better, high worse than random",
    "F3d": "sigmoid + L2 (mean ablation), layer 1: low better, high worse",
    "F3e": "sigmoid + Dropout, layer 1: entropy low worse, others like random",
    "F3f": "ReLU + BN + Dropout, layer 1: highest KL cost only 13 points",
    "F3g": "no ordering effect in layer 2",
    # Fig. 4
    "F4a": "FashionMNIST: layer 1 hurts more than layer 2",
    "F4b": "large net, L2, layer 1: KL low better, high worse; MI strongest",
    "F4c": "small net: weaker correlation, ablation hurts more",
    "F4d": "small net + Dropout: more robust, KL effects reversed",
    # Fig. 5
    "F5a": "CIFAR-10 layer 1: near-linear decay, random beats low-first",
    "F5b": "Funnel + Dropout, layer 1: random beats every ordering",
    "F5c": "CIFAR-10 layer 2: about 250 active neurons hold the information",
    "F5d": "Funnel layer 2: top 200 disable the net; ranks 500-600 help",
    "F5e": "CIFAR-10 layer 3: about 70 active neurons",
    "F5f": "layer 4: how many top neurons must go, how many suffice",
    "F5g": "Funnel + Dropout: layers 3 and 4, counts of needed neurons",
    # pruning note
    "P1": "pruning net 784-200-200-10, sigmoid, Adam",
    "P2": "prune layer by layer, not network-wide",
    "P3": "bias balancing partly replaces retraining",
    "P4": "compared with He et al. (2014) node pruning",
    # conclusions (Sec. VI)
    "C1": "measures not comparable across layers (Simpson's paradox)",
    "C2": "deeper layers are more redundant",
    "C3": "the correlation depends on activation and regularizer",
}

NO_CHAPTER = "no chapter yet"


@dataclass(frozen=True)
class Row:
    """One claims-table row as a chapter recorded it."""

    claim: str       # as in the chapter, e.g. "F1a (MNIST half)"
    verdict: str
    why: str
    profile: str
    chapter: str     # the notebook's file name, e.g. "05_layerwise_mnist.ipynb"
    title: str       # the chapter's title, e.g. "5. Fig. 3: layer-wise ..."
    ours: str = ""   # what the chapter measured
    provisional: bool = False  # the chapter ran below the paper's scale (verdicts.is_provisional)
    reasons: tuple[Reason, ...] = ()  # why it differs, as data (nbutils.claims.Reason)
    anchor: str = ""  # the HTML id of its row in the chapter (nbutils.report.row_anchors)

    @property
    def base_id(self) -> str:
        return self.claim.split()[0]

    @property
    def link(self) -> str:
        """The address of its row on the chapter's page, from a page beside it in the book
        (``05_layerwise_mnist.html#claim-f3a``; the chapter's page without an anchor)."""
        page = Path(self.chapter).with_suffix(".html").name
        return f"{page}#{self.anchor}" if self.anchor else page


# Chapters that go beyond the paper: their questions are ours (findings, nbutils.report.Finding),
# so they record no claims for this dashboard.
BEYOND_THE_PAPER: tuple[str, ...] = ("10_importance_measures", "11_unstated_choices")


def glued_records(nb, name: str) -> list[str]:
    """The records glued under ``name`` (``myst_nb.glue(name, text, display=False)``) in an
    executed notebook ``nb``, in cell order, as stored: the repr of each text (read it with
    ``ast.literal_eval``)."""
    return [out["data"]["application/papermill.record/text/plain"]
            for cell in nb.cells for out in cell.get("outputs", [])
            if out.get("metadata", {}).get("scrapbook", {}).get("name") == name]


def read_records(notebook: str | Path) -> list[Row]:
    """The claims rows recorded in one executed notebook (empty if it records none).

    Raises:
        ValueError: a record that is not the JSON :func:`nbutils.report.claims_table` writes.
    """
    path = Path(notebook)
    nb = nbformat.read(path, as_version=4)
    title = next((c.source.splitlines()[0].lstrip("# ").strip() for c in nb.cells
                  if c.cell_type == "markdown" and c.source.startswith("# ")), path.stem)
    shown = "".join(_html_outputs(nb))
    rows = []
    for text in glued_records(nb, CLAIMS_RECORD):
        try:
            record = json.loads(ast.literal_eval(text))
            # records written before "provisional" was recorded: from the profile alone
            provisional = bool(record.get("provisional", record["profile"] != "paper"))
            anchors = [a if f'id="{a}"' in shown else ""   # a table drawn without ids
                       for a in row_anchors(r["claim"] for r in record["rows"])]
            rows += [Row(r["claim"], r["verdict"], r["why"], record["profile"], path.name,
                         title, r.get("ours", ""), bool(r.get("provisional", provisional)),
                         _reasons(r), anchor)
                     for r, anchor in zip(record["rows"], anchors)]
        except (ValueError, SyntaxError, KeyError, TypeError) as err:
            raise ValueError(f"{path.name}: the claims record is not readable ({err})") \
                from err
    return rows


def collect_findings(folders: list[str | Path], chapters: list[str]) -> list[FindingRow]:
    """The findings rows (:func:`read_findings`) of those ``chapters`` that go beyond the paper
    (:data:`BEYOND_THE_PAPER`), in that order, each read from the first of ``folders`` that
    holds it (as :func:`collect`).

    Raises:
        ValueError: such a chapter found in none of ``folders``.
    """
    out = []
    for name in chapters:
        if Path(name).stem not in BEYOND_THE_PAPER:
            continue
        path = next((Path(f) / name for f in folders if (Path(f) / name).is_file()), None)
        if path is None:
            raise ValueError(f"chapters: {name} is in none of {[str(f) for f in folders]}")
        out += read_findings(path)
    return out


def _html_outputs(nb) -> list[str]:
    """The text/html of every output of a notebook."""
    out = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            text = output.get("data", {}).get("text/html", "")
            out.append("".join(text) if isinstance(text, list) else text)
    return out


def collect(folders: list[str | Path], chapters: list[str]) -> list[Row]:
    """The recorded rows of ``chapters`` (notebook file names), in that order, each read from
    the first of ``folders`` that holds it (e.g. a pipeline's output folder, then the book's).

    Raises:
        ValueError: a chapter found in none of ``folders``.
    """
    rows = []
    for name in chapters:
        path = next((Path(f) / name for f in folders if (Path(f) / name).is_file()), None)
        if path is None:
            raise ValueError(f"chapters: {name} is in none of {[str(f) for f in folders]}")
        rows += read_records(path)
    return rows


def _reasons(row: dict) -> tuple[Reason, ...]:
    """A recorded row's reasons (rows recorded before reasons were data: read back from the
    cell's sentence, :func:`legacy_reasons`)."""
    if "reasons" in row:
        return tuple(Reason(**r) for r in row["reasons"])
    return legacy_reasons(row["why"])


# how nbutils.claims.scale_note and Reason.render open their sentences
_SCALE_OPENINGS = ("at the paper's scale (", "quick profile: ", "ci profile: ")
_SIGNIFICANT = re.compile(r"significant \(p < ([0-9.e-]+)\), so more seeds would not remove "
                          r"(it|them): ")


def _split_top_level(text: str, sep: str = "; ") -> list[str]:
    """``text`` split at ``sep`` outside parentheses."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        ch = text[i]
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and text.startswith(sep, i):
            parts.append(text[start:i])
            start = i = i + len(sep)
            continue
        i += 1
    parts.append(text[start:])
    return [p for p in parts if p]


def legacy_reasons(why: str) -> tuple[Reason, ...]:
    """The reasons of a "why they differ" cell recorded as a sentence only (chapters executed
    before reasons were recorded as data): a leading note on the run's scale becomes a
    ``"scale"`` reason, each "significant (p < 0.05), so more seeds would not remove ...: X"
    a ``"significant"`` reason whose text is X (the cases that follow it, up to the next such
    opening, included), anything else between them one ``"note"``."""
    parts = _split_top_level(why or "")
    reasons: list[Reason] = []
    if parts and parts[0].startswith(_SCALE_OPENINGS):
        reasons.append(Reason("scale", parts.pop(0)))
    group: list[str] | None = None
    alpha, them = 0.05, False
    for part in parts + [None]:
        opening = _SIGNIFICANT.match(part) if part is not None else None
        if (opening or part is None) and group is not None:
            reasons.append(Reason("significant", "; ".join(group), n_cases=2 if them else 1,
                                  alpha=alpha))
            group = None
        if part is None:
            break
        if opening:
            alpha, them = float(opening.group(1)), opening.group(2) == "them"
            group = [part[opening.end():]]
        elif group is not None:
            group.append(part)
        elif reasons and reasons[-1].kind == "note":   # one sentence may hold "; " itself
            reasons[-1] = Reason("note", f"{reasons[-1].text}; {part}")
        else:
            reasons.append(Reason("note", part))
    return tuple(reasons)


def difference(reasons: tuple[Reason, ...]) -> str:
    """What a claims row says differs, in full: the difference itself
    (:attr:`nbutils.claims.Reason.difference`) of its first reason that is not the note on the
    run's scale (that note only if nothing else is said), followed by how many more reasons its
    chapter gives."""
    specific = [r for r in reasons if r.kind != "scale"]
    if not specific:
        return reasons[0].difference if reasons else ""
    more = len(specific) - 1
    tail = f" (and {more} more reason{'s' * (more > 1)} in the chapter)" if more else ""
    return specific[0].difference + tail


def first_reason(reasons: tuple[Reason, ...], limit: int | None = None) -> str:
    """Kept for old callers: :func:`difference` (never cut; ``limit`` is ignored)."""
    return difference(reasons)


def kept_rows(rows: list[Row], cid: str) -> list[Row]:
    """The rows of claim ``cid`` the dashboard shows: all, except a chapter's "not testable"
    placeholder for a verdict another chapter gives, i.e. a not-testable row when another
    chapter judges the same part (the same claim name, e.g. "S4 (CIFAR-10)") or, for a
    placeholder of the whole claim ("F1b"), any part of it."""
    mine = [r for r in rows if r.base_id == cid]
    judged = [r for r in mine if r.verdict != "not testable"]

    def superseded(r: Row) -> bool:
        return r.verdict == "not testable" and any(
            j.chapter != r.chapter and (j.claim == r.claim or r.claim == cid) for j in judged)

    return [r for r in mine if not superseded(r)]


def dashboard(rows: list[Row]) -> pd.DataFrame:
    """One row per claim of :data:`REGISTER` (or per judged part of a claim): verdict, whether it
    is provisional, chapter, profile, the difference its first reason names (:func:`difference`)
    and the link to its row in the chapter. A chapter's "not testable"
    placeholder is dropped where another chapter judges the claim (:func:`kept_rows`); a claim
    no chapter records is listed as :data:`NO_CHAPTER`."""
    unknown = sorted({r.base_id for r in rows} - set(REGISTER))
    if unknown:
        raise ValueError(f"claims recorded by the chapters but not in the register: {unknown}")
    out = []
    for cid, statement in REGISTER.items():
        kept = kept_rows(rows, cid)
        for r in kept:
            out.append({"claim": r.claim, "id": cid, "statement": statement,
                        "verdict": r.verdict, "provisional": r.provisional,
                        "control": is_control(r.claim),
                        "chapter": r.chapter, "title": r.title, "profile": r.profile,
                        "reason": difference(r.reasons), "link": r.link})
        if not kept:
            out.append({"claim": cid, "id": cid, "statement": statement, "verdict": NO_CHAPTER,
                        "provisional": False, "control": False, "chapter": "", "title": "",
                        "profile": "",
                        "reason": "", "link": ""})
    return pd.DataFrame(out)


def _parts(table: pd.DataFrame) -> pd.DataFrame:
    """The lines of ``table`` that judge a claim or a part of it: without the control rows
    beyond the paper's protocol (:func:`nbutils.claims.is_control`)."""
    return table[~table["control"]] if "control" in table else table


def claim_verdicts(table: pd.DataFrame) -> pd.DataFrame:
    """One row per claim id of ``table`` (:func:`dashboard`): its verdict, the verdicts of its
    lines combined as the parts of one claim (:func:`nbutils.report.combine`; a line that is
    *not testable* leaves the claim at most *partly*; a control row beyond the paper's protocol
    is not a part), and whether it is provisional (some line is)."""
    out = []
    for cid, lines in _parts(table).groupby("id", sort=False):
        verdicts = lines["verdict"].tolist()
        verdict = NO_CHAPTER if verdicts == [NO_CHAPTER] else combine(*verdicts)
        out.append({"claim": cid, "verdict": verdict,
                    "provisional": bool(lines["provisional"].any()),
                    "lines": len(lines)})
    return pd.DataFrame(out, columns=["claim", "verdict", "provisional", "lines"])


def counts(table: pd.DataFrame) -> dict[str, int]:
    """How many claims (distinct register ids, not lines) have each verdict, a claim judged in
    parts counted once with the verdict of :func:`claim_verdicts`."""
    per_claim = claim_verdicts(table)
    order = [*VERDICTS, NO_CHAPTER]
    return {v: int((per_claim["verdict"] == v).sum()) for v in order}


def line_counts(table: pd.DataFrame) -> dict[str, int]:
    """How many lines of ``table`` (:func:`dashboard`: one per judged part, control rows left
    out) have each verdict."""
    order = [*VERDICTS, NO_CHAPTER]
    parts = _parts(table)
    return {v: int((parts["verdict"] == v).sum()) for v in order}


def _enumerate(count: dict[str, int], verb: str = "") -> str:
    """``"22 are reproduced, 15 partly and 4 not reproduced"`` (``verb`` after the first
    number; verdicts counted 0 and :data:`NO_CHAPTER` left out)."""
    said = [f"{n} {v}" for v, n in count.items() if n and v != NO_CHAPTER]
    if said and verb:
        number, verdict = said[0].split(" ", 1)
        verb = "is" if verb == "are" and number == "1" else verb
        said[0] = f"{number} {verb} {verdict}"
    return ", ".join(said[:-1]) + (" and " if len(said) > 1 else "") + (said[-1] if said else "")


def summary(table: pd.DataFrame, table_name: str = "The table") -> str:
    """The counts as one sentence, claims and lines each said as what they are: "Of the 43
    claims of the paper and its note, 22 are reproduced, ... (a claim judged in parts counts
    once); the table has 50 lines, one per judged part: 27 reproduced, ..."."""
    claims, lines = counts(table), line_counts(table)
    missing = claims[NO_CHAPTER]
    judged = _enumerate(claims, "are")
    none_yet = (f"{'; ' * bool(judged)}{missing} {'has' if missing == 1 else 'have'} no "
                "chapter yet" if missing else "")
    controls = len(table) - len(_parts(table))
    tests = "the claim it tests" if controls == 1 else "the claims they test"
    control_note = (f"; and {controls} control {'row' if controls == 1 else 'rows'} beyond the "
                    f"paper's protocol, shown beside {tests} but not counted" if controls else "")
    return (f"Of the {sum(claims.values())} claims of the paper and its note, "
            f"{judged}{none_yet} (a claim judged in parts counts once, "
            f"its parts combined by the rule for a claim of several parts). {table_name} has "
            f"{sum(lines.values())} lines, one per judged part: {_enumerate(lines)}"
            f"{control_note}.")


def chapter_name(title: str) -> str:
    """``"chapter 5"`` for the title ``"5. Fig. 3: ..."``, else the title."""
    number = title.split(".")[0]
    return f"chapter {number}" if number.isdigit() else title


def html(table: pd.DataFrame, anchor_prefix: str = "dashboard") -> str:
    """The dashboard as an HTML table (class ``dashboard-table``; the book's stylesheet lays it
    out, one card per line on a phone): the claim, linked to its row in its chapter; our short
    statement; the verdict badge (*provisional* beside it when its chapter ran below the paper's
    scale); the chapter, linked, with its profile; what differs, in full; and, where
    :func:`both_readings` added it, whether the verdict is the same under the other readings of
    the input pixels (linked to the line on the page "Verdict changes between runs"). Each line
    has an id (``dashboard-f3a``, :func:`nbutils.report.row_anchors`)."""
    esc = html_lib.escape
    columns = ("claim", "statement", "verdict", "chapter", "why it differs")
    readings = BOTH_READINGS in table   # the column of both_readings, where it was added
    if readings:
        columns += (BOTH_READINGS,)
    head = "".join(f"<th>{c}</th>" for c in columns)
    rows = []
    anchors = row_anchors(table["claim"], prefix=anchor_prefix)
    for anchor, r in zip(anchors, table.itertuples()):
        name, _, part = r.claim.partition(" ")
        claim = esc(name) + (f' <span class="claim-part">{esc(part)}</span>' if part else "")
        claim = f'<a href="{esc(r.link)}">{claim}</a>' if r.link else claim
        badge = f'<span class="verdict {verdict_class(r.verdict)}">{esc(r.verdict)}</span>'
        if r.provisional:
            badge += ' <span class="provisional">provisional</span>'
        if getattr(r, "control", False):
            badge += ' <span class="control">control beyond the paper, not counted</span>'
        chapter = ""
        if r.chapter:
            page = Path(r.chapter).with_suffix(".html").name
            chapter = (f'<a href="{esc(page)}" title="{esc(r.title)}">'
                       f"{esc(chapter_name(r.title))}</a>"
                       f' <span class="profile">{esc(r.profile)} profile</span>')
        values = [claim, esc(r.statement), badge, chapter, esc(r.reason)]
        if readings:
            said, link = table.loc[r.Index, [BOTH_READINGS, "readings link"]]
            values.append(f'<a href="{esc(link)}">{esc(said)}</a>' if link else esc(said))
        cells = zip(columns, values)
        rows.append(f'<tr id="{anchor}">' + "".join(
            f'<td data-label="{c}">{v}</td>' for c, v in cells) + "</tr>")
    return (f'<table class="dashboard-table"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _chapter_link(chapter: str, title: str, profile: str = "") -> str:
    esc = html_lib.escape
    page = Path(chapter).with_suffix(".html").name
    link = f'<a href="{esc(page)}" title="{esc(title)}">{esc(chapter_name(title))}</a>'
    return link + (f", {esc(profile)} profile" if profile else "")


def claims_list(table: pd.DataFrame, verdicts: tuple[str, ...], *,
                reasons: bool = True) -> str:
    """The lines of ``table`` (:func:`dashboard`) whose verdict is one of ``verdicts``, as an
    HTML list for the page "Findings": each line's claim linked to its row in its chapter, its
    badge, our statement, its chapter (and profile) and, with ``reasons``, what differs
    (:func:`difference`). An empty string when no line has those verdicts."""
    esc = html_lib.escape
    items = []
    for r in table.itertuples():
        if r.verdict not in verdicts:
            continue
        claim = f'<a href="{esc(r.link)}">{esc(r.claim)}</a>' if r.link else esc(r.claim)
        badge = f'<span class="verdict {verdict_class(r.verdict)}">{esc(r.verdict)}</span>'
        where = f" ({_chapter_link(r.chapter, r.title, r.profile)})" if r.chapter else ""
        why = f": {esc(r.reason)}" if reasons and r.reason else ""
        if getattr(r, "control", False):
            badge += ' <span class="control">control beyond the paper</span>'
        items.append(f"<li><strong>{claim}</strong> {badge} {esc(r.statement)}{where}{why}</li>")
    return f'<ul class="claims-list">{"".join(items)}</ul>' if items else ""


def confirmed_list(table: pd.DataFrame) -> str:
    """The claims reproduced in every part (:func:`claim_verdicts`), grouped as the register
    groups them (setup, measures, figures, pruning note, conclusions): an HTML list of the
    groups, each a list of its claims, the id linked to the claim's first row in its chapter,
    with our statement."""
    esc = html_lib.escape
    per_claim = claim_verdicts(table).set_index("claim")
    groups = {"S": "Setup", "M": "Measures", "F": "Figures", "P": "Pruning note",
              "C": "Conclusions"}
    items = []
    for letter, name in groups.items():
        ids = [cid for cid in REGISTER if cid.startswith(letter)
               and per_claim.loc[cid, "verdict"] == "reproduced"]
        if not ids:
            continue
        claims = []
        for cid in ids:
            first = table[table["id"] == cid].iloc[0]
            claims.append(f'<li><a href="{esc(first["link"])}">{esc(cid)}</a> '
                          f"{esc(REGISTER[cid])}</li>")
        items.append(f"<li><strong>{name}</strong> ({len(ids)})<ul>{''.join(claims)}</ul></li>")
    return f'<ul class="claims-list">{"".join(items)}</ul>' if items else ""


def findings_list(findings: list[FindingRow]) -> str:
    """The findings of the chapters beyond the paper (:func:`read_findings`) as an HTML list:
    id (linked to its row where the chapter's table has ids), badge, question, what we
    measured, and the chapter."""
    esc = html_lib.escape
    items = []
    for f in findings:
        badge = f'<span class="verdict {verdict_class(f.verdict)}">{esc(f.verdict)}</span>'
        items.append(f'<li><strong><a href="{esc(f.link)}">{esc(f.finding)}</a></strong> '
                     f"{badge} {esc(f.question)} Measured: {esc(f.ours)} "
                     f"({_chapter_link(f.chapter, f.title)})</li>")
    return f'<ul class="claims-list">{"".join(items)}</ul>' if items else ""


class _TableReader(HTMLParser):
    """The rows of every ``claims-table`` in an HTML text: ``{column: cell text}``."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[list[dict[str, str]]] = []
        self._in_table = False
        self._label: str | None = None
        self._row: dict[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "claims-table" in (attrs.get("class") or "").split():
            self._in_table = True
            self.tables.append([])
        elif self._in_table and tag == "tr":
            self._row = {"": attrs.get("id") or ""}
        elif self._in_table and tag == "td" and self._row is not None:
            self._label = attrs.get("data-label") or ""
            self._row[self._label] = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_table = False
        elif tag == "tr" and self._row is not None:
            if len(self._row) > 1:
                self.tables[-1].append(self._row)
            self._row = None
        elif tag == "td":
            self._label = None

    def handle_data(self, data):
        if self._label is not None and self._row is not None:
            self._row[self._label] += data


@dataclass(frozen=True)
class FindingRow:
    """One row of a findings table (chapters beyond the paper), as the chapter shows it."""

    finding: str
    question: str
    ours: str
    verdict: str
    note: str
    chapter: str
    title: str
    anchor: str = ""

    @property
    def link(self) -> str:
        page = Path(self.chapter).with_suffix(".html").name
        return f"{page}#{self.anchor}" if self.anchor else page


def read_findings(notebook: str | Path) -> list[FindingRow]:
    """The rows of the findings tables (:func:`nbutils.report.findings_table`) shown in one
    executed notebook, read from their HTML (findings are not recorded for the dashboard)."""
    path = Path(notebook)
    nb = nbformat.read(path, as_version=4)
    title = next((c.source.splitlines()[0].lstrip("# ").strip() for c in nb.cells
                  if c.cell_type == "markdown" and c.source.startswith("# ")), path.stem)
    out = []
    for text in _html_outputs(nb):
        if "claims-table" not in text:
            continue
        reader = _TableReader()
        reader.feed(text)
        for rows in reader.tables:
            if rows and "finding" in rows[0]:
                out += [FindingRow(r["finding"].strip(), r.get("question", "").strip(),
                                   r.get("this book measured", "").strip(),
                                   r.get("verdict", "").strip(), r.get("note", "").strip(),
                                   path.name, title, r[""]) for r in rows]
    return out


def verdict_changes(before: list[Row], after: list[Row]) -> pd.DataFrame:
    """The claims rows whose verdict differs between two runs of the chapters (e.g. the book at
    8 seeds and at 50), matched by chapter and claim as the chapter names it, with what each run
    measured. A row recorded by one run only is listed with the verdict "not recorded"."""
    old = {(r.chapter, r.claim): r for r in before}
    new = {(r.chapter, r.claim): r for r in after}
    out = []
    for key in [*old, *(k for k in new if k not in old)]:
        a, b = old.get(key), new.get(key)
        if a is not None and b is not None and a.verdict == b.verdict:
            continue
        out.append({"chapter": key[0], "claim": key[1],
                    "verdict before": a.verdict if a else "not recorded",
                    "profile before": a.profile if a else "",
                    "measured before": a.ours if a else "",
                    "verdict after": b.verdict if b else "not recorded",
                    "profile after": b.profile if b else "",
                    "measured after": b.ours if b else ""})
    return pd.DataFrame(out, columns=["chapter", "claim", "verdict before", "profile before",
                                      "measured before", "verdict after", "profile after",
                                      "measured after"])


# ---------------------------------------------------------------- verdicts under both readings

CHANGES_RECORD = "changes_record"   # the glue name of the page "Verdict changes between runs"
CHANGES_NOTEBOOK = "verdict_changes.ipynb"
BOTH_READINGS = "same under both readings?"   # the dashboard's column
NOT_COMPARED = "no result yet"   # the other reading has no verdict for the line (yet)
AT_OTHER_SEEDS = "at other seeds"   # ... or has one on networks with other seeds (not compared)
NO_INPUTS = "does not apply (no input images)"   # constructed networks (chapter 8)


@dataclass(frozen=True)
class ReadingRun:
    """One run of the verdict-changes record: its name (``"paper, per channel"``), profile and
    input reading (:data:`nbutils.data.PREPROCESSINGS`)."""
    name: str
    profile: str
    preprocessing: str


@dataclass(frozen=True)
class ChangesRecord:
    """What the page "Verdict changes between runs" recorded (:func:`read_changes`): its runs
    and, per (chapter notebook stem, claim), the verdict of each run that has one and the id of
    the line on that page."""
    runs: tuple[ReadingRun, ...]
    verdicts: dict[tuple[str, str], dict[str, str]]
    anchors: dict[tuple[str, str], str]
    # per line, the runs of another reading whose verdict is on networks with other seeds than
    # the main reading's run at that profile (nbutils.chapters.changes.record)
    other_seeds: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)


def changes_record(runs: list[ReadingRun], lines: list[dict]) -> str:
    """The JSON the page "Verdict changes between runs" glues as :data:`CHANGES_RECORD`:
    ``runs`` and ``lines`` (each ``{"chapter", "claim", "anchor", "verdicts": {run: verdict},
    "other_seeds": [run, ...]}``, a run without a verdict for the line left out; ``other_seeds``:
    the runs of another reading whose verdict is on networks with other seeds)."""
    return json.dumps({"runs": [r.__dict__ for r in runs], "lines": lines})


def read_changes(notebook: str | Path) -> ChangesRecord:
    """The record of an executed page "Verdict changes between runs".

    Raises:
        ValueError: the notebook holds no such record, or one that is not readable.
    """
    path = Path(notebook)
    texts = glued_records(nbformat.read(path, as_version=4), CHANGES_RECORD)
    if not texts:
        raise ValueError(f"{path.name}: no verdict-changes record ({CHANGES_RECORD}); execute "
                         "the page 'Verdict changes between runs' first")
    try:
        data = json.loads(ast.literal_eval(texts[0]))
        runs = tuple(ReadingRun(r["name"], r["profile"], r["preprocessing"])
                     for r in data["runs"])
        keys = [(line["chapter"], line["claim"]) for line in data["lines"]]
        return ChangesRecord(
            runs, {k: dict(line["verdicts"]) for k, line in zip(keys, data["lines"])},
            {k: line.get("anchor", "") for k, line in zip(keys, data["lines"])},
            {k: frozenset(line.get("other_seeds", [])) for k, line in zip(keys, data["lines"])})
    except (ValueError, SyntaxError, KeyError, TypeError) as err:
        raise ValueError(f"{path.name}: the verdict-changes record is not readable "
                         f"({err})") from err


def both_readings(table: pd.DataFrame, record: ChangesRecord, main: str,
                  input_free: Collection[str] | None = None) -> pd.DataFrame:
    """``table`` (:func:`dashboard`) with the column :data:`BOTH_READINGS`: for each line, the
    verdict of its chapter's claim under every other input reading at the line's own profile
    (``record``, :func:`read_changes`; ``main``: the reading the chapters ran with), compared
    with the line's verdict.

    The column says ``"yes"`` when every other reading with a verdict gives the same one,
    ``"no: <verdict> (<run>)"`` for each reading that differs, and :data:`NOT_COMPARED` when no
    other reading has a verdict for the line (its networks were not trained under it at that
    scale, or the chapter is not recomputed there). A verdict on networks with other seeds is
    not compared (a difference could come from the seeds): where only such verdicts exist the
    column says ``"at other seeds: <verdict> (<run>)"``. A line of a chapter in ``input_free``
    (notebooks whose networks take no input images; ``None``:
    :func:`nbutils.chapters.input_free`) says :data:`NO_INPUTS`. A column ``readings link``
    holds the line's id on the page "Verdict changes between runs"."""
    if input_free is None:
        from .chapters import input_free as chapters_without_inputs
        input_free = chapters_without_inputs()
    said, links = [], []
    for line in table.itertuples():
        key = (Path(line.chapter).stem, line.claim)
        if line.chapter and key[0] in input_free:
            said.append(NO_INPUTS)
            links.append("")
            continue
        found = [r for r in record.runs
                 if r.profile == line.profile and r.preprocessing != main
                 and key in record.verdicts and r.name in record.verdicts[key]]
        apart = record.other_seeds.get(key, frozenset())
        others = [r for r in found if r.name not in apart]
        if not line.chapter or not found:
            said.append(NOT_COMPARED)
            links.append("")
            continue
        differ = [f"{record.verdicts[key][r.name]} ({r.name})" for r in others
                  if record.verdicts[key][r.name] != line.verdict]
        if not others:
            said.append(f"{AT_OTHER_SEEDS}: " + "; ".join(
                f"{record.verdicts[key][r.name]} ({r.name})" for r in found))
        else:
            said.append("no: " + "; ".join(differ) if differ else "yes")
        anchor = record.anchors.get(key, "")
        links.append(f"{Path(CHANGES_NOTEBOOK).with_suffix('.html').name}#{anchor}"
                     if anchor else "")
    return table.assign(**{BOTH_READINGS: said, "readings link": links})


def readings_summary(table: pd.DataFrame) -> str:
    """One sentence on the column :data:`BOTH_READINGS` of ``table`` (:func:`both_readings`):
    how many lines (control rows beyond the paper included) were compared under another
    reading, how many keep their verdict, which change, and how many have no result there."""
    column = table[BOTH_READINGS]
    apart = int(column.str.startswith(AT_OTHER_SEEDS).sum())
    free = int((column == NO_INPUTS).sum())
    compared = table[(column != NOT_COMPARED) & (column != NO_INPUTS)
                     & ~column.str.startswith(AT_OTHER_SEEDS)]
    changed = compared[compared[BOTH_READINGS] != "yes"]
    missing = len(table) - len(compared) - apart - free
    if not len(compared):
        return (f"No line of the table has a verdict under another reading of the input pixels "
                f"yet (column '{BOTH_READINGS}').")
    names = ", ".join(changed["claim"]) if len(changed) else ""
    kept = len(compared) - len(changed)
    return (f"Under another reading of the input pixels (column '{BOTH_READINGS}'), "
            f"{len(compared)} of the {len(table)} lines have a verdict at their own profile and "
            "seeds: "
            f"{kept} {'keeps' if kept == 1 else 'keep'} it"
            + (f" and {len(changed)} change ({names})" if len(changed) else "")
            + f"; {missing} {'has' if missing == 1 else 'have'} no result under it yet, "
            "their networks not yet trained under it at that scale"
            + (f"; {apart} {'has' if apart == 1 else 'have'} one on networks with other "
               "seeds, not compared" if apart else "")
            + (f"; for {free} the reading does not apply (constructed networks, no input "
               "images)" if free else "") + ".")
