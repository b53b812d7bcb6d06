"""A chapter's claims beside the same claims under another input reading.

The paper does not say how its inputs were scaled (chapter "What the paper left unsaid"). Where
the results of another reading ship at a chapter's profile, each claims row whose verdict is a
miss, or differs between the readings, says in its "why they differ" cell what that reading
gives, by the rules below (issue #24). They never change a verdict:

- a row that is reproduced, or not testable, under both readings: nothing is added;
- a miss (``partly`` or ``not reproduced``) with the same verdict under the other reading: the
  verdict does not rest on the input reading; a significant difference whose cause was "we do
  not know what differs" (:data:`nbutils.claims.UNKNOWN_DIFFERENCE`) now says that it is not
  the input reading, and that beyond it we do not know (:func:`cause`), else a note says so;
- a miss under both readings, with verdicts that differ (``partly`` here, ``not reproduced``
  there): the miss does not rest on the input reading, its degree does; an unknown cause is
  not the input reading either;
- a verdict reproduced under one reading only (either way): the verdict rests on the input
  reading; an unknown cause becomes the input reading, else a note says so;
- the other reading not testable there (with the reason its own row gives: too few seeds, or a
  network not computed under that reading), or the networks the row reads (a chapter's rows
  may read some of its networks only, :attr:`nbutils.claims.Claim.networks`) trained with
  other numbers of seeds than in the chapter's own run: its verdict is said, nothing is
  inferred;
- a miss in a chapter the other reading has no results for at this profile: said.

The verdicts of the other reading come from :func:`nbutils.chapters.changes.run_claims` (the
chapter's own rules on the shipped results); nothing is trained or computed.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from .claims import UNKNOWN_DIFFERENCE, Claim, Reason
from .config import MAIN_PREPROCESSING, PREPROCESSING_LABELS

MISSES = ("partly", "not reproduced")
SEE = "chapter \u201cWhat the paper left unsaid\u201d"
# the seeds said of a row none of whose networks the other reading has trained
NOT_SHIPPED = "its networks not trained there"
UNKNOWN_BEYOND = ("beyond it we do not know what differs: the paper gives its epochs only as 8 "
                  "to 30 and does not state every training detail")


@dataclass(frozen=True)
class OtherReading:
    """One chapter's verdicts under another input reading: the reading (a name of
    :data:`nbutils.config.PREPROCESSING_LABELS`), the run they come from (its name and seeds,
    ``"paper, per channel"``, ``"50 seeds"``), the verdict of each claims row by its id,
    where the chapter has no rows under that reading, why (``missing``), whether the chapter's
    networks have as many seeds there as in the chapter's own run (``same_seeds``; if not, a
    difference may come from the seeds, and nothing is inferred from it), why each row not
    testable there is not (``untestable``, by id: the first reason of that row), and for a row
    that reads only some of the chapter's networks (:attr:`nbutils.claims.Claim.networks`), its
    own seeds there (``row_scales``) and whether they are its seeds in the chapter's own run
    (``row_same_seeds``), both by id."""

    reading: str
    run: str
    scale: str
    verdicts: Mapping[str, str] = field(default_factory=dict)
    missing: str = ""
    same_seeds: bool = True
    untestable: Mapping[str, str] = field(default_factory=dict)
    row_scales: Mapping[str, str] = field(default_factory=dict)
    row_same_seeds: Mapping[str, bool] = field(default_factory=dict)

    def __post_init__(self):
        if self.reading not in PREPROCESSING_LABELS:
            raise ValueError(f"reading={self.reading!r}; allowed: {list(PREPROCESSING_LABELS)}")

    @property
    def inputs(self) -> str:
        """The reading as the reasons name it: ``"inputs standardized per channel"``."""
        label = PREPROCESSING_LABELS[self.reading]
        return label if label.startswith("pixels") else f"inputs {label}"

    @property
    def source(self) -> str:
        """``"paper, per channel: 50 seeds"``."""
        return f"{self.run}: {self.scale}"

    def source_of(self, row_id: str) -> str:
        """:attr:`source` with the seeds of the networks row ``row_id`` reads."""
        return f"{self.run}: {self.row_scales.get(row_id, self.scale)}"

    def same_seeds_of(self, row_id: str) -> bool:
        """Whether row ``row_id`` reads networks with the chapter's own seeds there."""
        return self.row_same_seeds.get(row_id, self.same_seeds)


def why_untestable(other: OtherReading, row_id: str) -> str:
    """Why row ``row_id`` is not testable under ``other``, as that row says it (its first
    reason; "no reason given" where it has none)."""
    return other.untestable.get(row_id) or "no reason given"


def note(verdict: str, other: OtherReading, theirs: str | None, row_id: str = "") -> str:
    """What a row ``row_id`` with ``verdict`` says of ``other``, whose verdict of the same row
    is ``theirs`` (None: the chapter has no rows under that reading); empty when the row says
    nothing (see the module's rules)."""
    if verdict == "not testable":
        return ""
    where = f"with {other.inputs} ({other.source_of(row_id)})"
    if theirs is None:
        return (f"not yet computed with {other.inputs} at this profile ({other.missing}; "
                f"{SEE})") if verdict in MISSES and other.missing else ""
    if theirs == "not testable":
        return (f"{where} it is not testable ({why_untestable(other, row_id)}), so the other "
                f"reading does not decide it ({SEE})") if verdict in MISSES else ""
    if not other.same_seeds_of(row_id):
        if theirs == verdict and verdict not in MISSES:
            return ""
        return (f"{where} it is {theirs}, with other numbers of seeds than here, so nothing is "
                f"inferred from it ({SEE})")
    if verdict in MISSES and theirs in MISSES:
        if theirs == verdict:
            return (f"the verdict does not rest on the input reading: {where} it is {theirs} "
                    f"too ({SEE})")
        return (f"the miss does not rest on the input reading, its degree does: {where} it is "
                f"{theirs} ({SEE})")
    if theirs == verdict:
        return ""
    return (f"the verdict rests on the input reading, which the paper does not state: {where} "
            f"it is {theirs} ({SEE})")


def cause(verdict: str, other: OtherReading, theirs: str, row_id: str = "") -> str:
    """The cause of a significant difference the chapter could not name
    (:data:`nbutils.claims.UNKNOWN_DIFFERENCE`), once ``other`` gave the row ``row_id``
    ``theirs``."""
    where = f"with {other.inputs} ({other.source_of(row_id)})"
    if theirs == verdict:
        return f"not the input reading, since {where} the verdict is the same; {UNKNOWN_BEYOND}"
    if theirs in MISSES:
        return (f"not the input reading, since {where} the claim is {theirs}, a miss as well; "
                f"{UNKNOWN_BEYOND}")
    return f"the input reading, which the paper does not state: {where} the verdict is {theirs}"


def annotate(rows: Sequence[Claim], other: OtherReading | None) -> list[Claim]:
    """``rows`` with the other reading's verdicts in their reasons (the module's rules): a
    significant difference of unknown cause is given the cause the comparison shows
    (:func:`cause`); a row without one gets :func:`note` as its last reason. Rows are returned
    unchanged without ``other``.
    """
    if other is None:
        return list(rows)
    out = []
    for row in rows:
        theirs = other.verdicts.get(row.id)
        said = note(row.verdict, other, theirs, row.id)
        if not said:
            out.append(row)
            continue
        unknown = [r.kind == "significant" and r.cause == UNKNOWN_DIFFERENCE
                   for r in row.reasons]
        if theirs in (None, "not testable") or not other.same_seeds_of(row.id) \
                or not any(unknown):
            out.append(replace(row, reasons=(*row.reasons, Reason("note", said))))
            continue
        named = cause(row.verdict, other, theirs, row.id)
        out.append(replace(row, reasons=tuple(replace(r, cause=named) if u else r
                                              for r, u in zip(row.reasons, unknown))))
    return out


def pick(runs: Sequence, profile: str, preprocessing: str = MAIN_PREPROCESSING):
    """The run to compare a chapter run at ``profile`` with ``preprocessing`` against: the
    first of ``runs`` (:func:`nbutils.chapters.changes.shipped_runs`, in its order: the other
    readings in the order of :data:`nbutils.data.PREPROCESSINGS`) at the same profile with
    another reading; None if there is none.

    Raises:
        ValueError: an unknown ``preprocessing``.
    """
    if preprocessing not in PREPROCESSING_LABELS:
        raise ValueError(f"preprocessing={preprocessing!r}; allowed: "
                         f"{list(PREPROCESSING_LABELS)}")
    return next((r for r in runs if r.profile == profile and r.preprocessing != preprocessing),
                None)


def find(chapter: str, profile: str, preprocessing: str = MAIN_PREPROCESSING,
         runs: Sequence | None = None) -> OtherReading | None:
    """The verdicts of ``chapter`` (``"ch04"``, one of
    :data:`nbutils.chapters.changes.CHAPTERS`) under the other reading shipped at ``profile``
    (:func:`pick` of ``runs``, default: the shipped runs), from the shipped results alone,
    with whether the networks the chapter read have the seeds there that the chapter's own
    shipped run has; None where no other reading ships at that profile, or for a chapter the
    comparison does not cover (chapters 8-11).

    Raises:
        ValueError: an unknown ``preprocessing``.
    """
    # imported here: nbutils.report reads this module, and the book layer imports nbutils.report
    from .chapters import changes

    runs = changes.shipped_runs() if runs is None else list(runs)
    run = pick(runs, profile, preprocessing)
    if run is None or chapter not in changes.CHAPTERS:
        return None
    own = next((r for r in runs if r.profile == profile and r.preprocessing == preprocessing),
               None)
    (outcome,) = changes.run_claims(run, [chapter])

    def seeds(networks: Sequence[str], none: str) -> tuple[str, bool]:
        """The scale of ``networks`` there (``none`` where none ships there), and whether
        they have the seeds of the chapter's own run."""
        theirs = run.seeds_for(networks)
        read = changes.Run(run.profile, run.preprocessing, {c: n for c, n in theirs.items() if n})
        same = own is not None and own.seeds_for(networks) == theirs
        return (read.scale if read.seeds else none), same

    scale, same = seeds(outcome.read, run.scale)
    rows = {c.id: seeds(c.networks, NOT_SHIPPED) for c in outcome.rows if c.networks}
    return OtherReading(run.preprocessing, run.name, scale,
                        {c.id: c.verdict for c in outcome.rows}, outcome.missing, same,
                        {c.id: c.reasons[0].text for c in outcome.rows
                         if c.verdict == "not testable" and c.reasons},
                        {i: sc for i, (sc, _) in rows.items()},
                        {i: ok for i, (_, ok) in rows.items()})
