"""The claims dashboard: every claim of the paper with the verdict a chapter computed for it.

Each chapter's claims table records its rows in the executed notebook (a glued JSON record,
:func:`nbutils.report.claims_table`); :func:`collect` reads those records back from the
notebooks of the book, so the dashboard shows what the chapters computed and nothing typed by
hand. :data:`REGISTER` lists every claim id of the paper's claims register (43 ids; a test
checks them against ``shared/paper/CLAIMS.md`` when that folder is beside the repository) with a
short statement in our words.
"""
from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pandas as pd

from .claims import Reason, as_reasons
from .report import CLAIMS_RECORD
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

    @property
    def base_id(self) -> str:
        return self.claim.split()[0]


# Chapters that go beyond the paper: their questions are ours (findings, nbutils.report.Finding),
# so they record no claims for this dashboard.
BEYOND_THE_PAPER: tuple[str, ...] = ("10_importance_measures", "11_unstated_choices")


def read_records(notebook: str | Path) -> list[Row]:
    """The claims rows recorded in one executed notebook (empty if it records none).

    Raises:
        ValueError: a record that is not the JSON :func:`nbutils.report.claims_table` writes.
    """
    path = Path(notebook)
    nb = nbformat.read(path, as_version=4)
    title = next((c.source.splitlines()[0].lstrip("# ").strip() for c in nb.cells
                  if c.cell_type == "markdown" and c.source.startswith("# ")), path.stem)
    rows = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("metadata", {}).get("scrapbook", {}).get("name") != CLAIMS_RECORD:
                continue
            text = out["data"]["application/papermill.record/text/plain"]
            try:
                record = json.loads(ast.literal_eval(text))
                # records written before "provisional" was recorded: from the profile alone
                provisional = bool(record.get("provisional", record["profile"] != "paper"))
                rows += [Row(r["claim"], r["verdict"], r["why"], record["profile"], path.name,
                             title, r.get("ours", ""), provisional, _reasons(r))
                         for r in record["rows"]]
            except (ValueError, SyntaxError, KeyError, TypeError) as err:
                raise ValueError(f"{path.name}: the claims record is not readable ({err})") \
                    from err
    return rows


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
    """A recorded row's reasons (rows recorded before reasons were data: the cell, one note)."""
    if "reasons" in row:
        return tuple(Reason(**r) for r in row["reasons"])
    return as_reasons(row["why"])


def first_reason(reasons: tuple[Reason, ...], limit: int = 160) -> str:
    """The first specific reason of a claims row (the note on the run's scale, which leads many
    rows, only if nothing else is said), cut to ``limit`` characters at a word."""
    specific = [r for r in reasons if r.kind != "scale"]
    first = (specific or list(reasons) or [Reason("note", "")])[0].render()
    if len(first) <= limit:
        return first
    return first[:limit].rsplit(" ", 1)[0] + " ..."


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
    is provisional, chapter, profile and the first reason. A chapter's "not testable"
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
                        "chapter": r.chapter, "title": r.title, "profile": r.profile,
                        "reason": first_reason(r.reasons)})
        if not kept:
            out.append({"claim": cid, "id": cid, "statement": statement, "verdict": NO_CHAPTER,
                        "provisional": False, "chapter": "", "title": "", "profile": "",
                        "reason": ""})
    return pd.DataFrame(out)


def claim_verdicts(table: pd.DataFrame) -> pd.DataFrame:
    """One row per claim id of ``table`` (:func:`dashboard`): its verdict, the verdicts of its
    lines combined as the parts of one claim (:func:`nbutils.report.combine`; a line that is
    *not testable* leaves the claim at most *partly*), and whether it is provisional (some line
    is)."""
    out = []
    for cid, lines in table.groupby("id", sort=False):
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


def markdown(table: pd.DataFrame) -> str:
    """The dashboard as a MyST table; chapters as links to their pages; a provisional verdict
    (its chapter ran below the paper's scale) is marked so."""
    lines = ["| claim | statement | verdict | chapter | profile | first reason given |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in table.itertuples():
        number = r.title.split(".")[0]
        name = f"chapter {number}" if number.isdigit() else r.title
        link = f"[{name}]({r.chapter})" if r.chapter else ""
        verdict = f"**{r.verdict}**" + (" (provisional)" if r.provisional else "")
        cells = [r.claim, r.statement, verdict, link, r.profile, r.reason.replace("|", "/")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


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
