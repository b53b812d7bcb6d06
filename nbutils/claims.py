"""What a claims row says: the claim, what we measured, its verdict and why it differs from the
paper, as data. A row's reasons are :class:`Reason` fields (the run's scale, a case that is not
significant, a significant difference and what we know of its cause, a note), so that the
dashboard reads them as fields instead of parsing a sentence; :attr:`Claim.why` renders them as
the chapter's table shows them.

The rules that give the verdicts are :mod:`nbutils.verdicts`; the tables are drawn by
:mod:`nbutils.report`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .config import get_profile
from .stats import Gap, format_gap, format_p
from .verdicts import ALPHA, FINDING_VERDICTS, VERDICTS

REASON_KINDS = ("scale", "not testable", "not significant", "significant", "note")


@dataclass(frozen=True)
class Reason:
    """One reason in a claim's "why they differ" cell.

    ``kind`` (:data:`REASON_KINDS`): ``"scale"``, how the run differs in scale from the paper
    (:func:`scale_note`); ``"not testable"`` / ``"not significant"``, a case whose seeds cannot
    decide it or whose gap is not significant; ``"significant"``, one or more significant
    differences (``text``: the cases with their numbers) with what differs (``cause``), which
    more seeds would not remove; ``"note"``, anything else a chapter says.
    """

    kind: str
    text: str
    cause: str = ""
    n_cases: int = 1
    alpha: float = ALPHA

    def __post_init__(self):
        if self.kind not in REASON_KINDS:
            raise ValueError(f"kind={self.kind!r}; allowed: {list(REASON_KINDS)}")

    @property
    def difference(self) -> str:
        """The difference itself, without the boilerplate (the dashboard's short form)."""
        return f"{self.text} ({self.cause})" if self.cause else self.text

    def render(self) -> str:
        """The reason as the chapter's claims table writes it."""
        if self.kind == "significant":
            them = "it" if self.n_cases == 1 else "them"
            return (f"significant (p < {self.alpha:g}), so more seeds would not remove {them}: "
                    f"{self.difference}")
        return self.text

    def as_dict(self) -> dict:
        return {"kind": self.kind, "text": self.text, "cause": self.cause,
                "n_cases": self.n_cases, "alpha": self.alpha}


Reasons = tuple[Reason, ...]


def as_reasons(why: str | Reason | Iterable[Reason] | None) -> Reasons:
    """Reasons from what a chapter passes: a sentence (one ``"note"``; empty: none), one
    :class:`Reason`, or several."""
    if why is None:
        return ()
    if isinstance(why, str):
        return (Reason("note", why),) if why else ()
    if isinstance(why, Reason):
        return (why,)
    out = tuple(why)
    bad = [r for r in out if not isinstance(r, Reason)]
    if bad:
        raise TypeError(f"why: expected a str or Reasons, got {type(bad[0]).__name__}")
    return out


def render(reasons: Iterable[Reason]) -> str:
    """The "why they differ" cell: the reasons rendered and joined with "; "."""
    return "; ".join(r.render() for r in reasons if r.render())


@dataclass(frozen=True)
class Claim:
    """One row of a chapter's claims table (ids from the book's claims register); ``reasons``
    (a sentence or :class:`Reason` s) says why ours differs from the paper; ``provisional``:
    whether this row ran below the paper's scale, where a chapter's rows differ in that (None:
    as the chapter, :func:`nbutils.report.claims_table`'s ``provisional``); ``networks``: the
    configurations (``"cifar10-relu-l2"``) the row reads, where a chapter's rows read different
    ones (empty: every network the chapter read). Two runs are compared on a row only where its
    networks have the same seeds in both (:mod:`nbutils.chapters.changes`)."""

    id: str
    paper: str
    ours: str
    verdict: str
    reasons: Reasons = field(default=())
    provisional: bool | None = None
    networks: tuple[str, ...] = ()

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict={self.verdict!r}; allowed: {list(VERDICTS)}")
        object.__setattr__(self, "reasons", as_reasons(self.reasons))

    @property
    def why(self) -> str:
        """The "why they differ" cell as the table shows it."""
        return render(self.reasons)


@dataclass(frozen=True)
class Finding:
    """One row of a findings table (chapters 10 and 11, beyond the paper): a question of ours,
    what we measured, and a verdict of :data:`nbutils.verdicts.FINDING_VERDICTS`."""

    id: str
    question: str
    ours: str
    verdict: str
    note: str = ""

    def __post_init__(self):
        if self.verdict not in FINDING_VERDICTS:
            raise ValueError(f"verdict={self.verdict!r}; allowed: {list(FINDING_VERDICTS)}")


# ------------------------------------------------------------------------- explanations

def gap_reasons(named_gaps: dict[str, Gap], verdict_of: Callable[[Gap], str],
                alpha: float = ALPHA) -> Reasons:
    """Why the parts of a claim that are not reproduced fail, each with its own numbers."""
    reasons = []
    for name, gap in named_gaps.items():
        verdict = verdict_of(gap)
        if verdict == "not testable":
            reasons.append(Reason("not testable", f"{name}: {format_gap(gap)}, not testable "
                                  f"({gap.n} seeds cannot give p < {alpha:g})"))
        elif verdict == "partly":
            reasons.append(Reason("not significant",
                                  f"{name}: {format_gap(gap)}, not significant (p > {alpha})"))
        elif verdict == "not reproduced":
            reasons.append(Reason("note", f"{name} differs: {format_gap(gap)}"))
    return tuple(reasons)


def scale_note(profile: str, seed_counts: Iterable[int], p_floor: float | None = None,
               paper_seeds: int = 50) -> Reason:
    """How a run differs in scale from the paper, the ``"scale"`` reason of the "why they
    differ" column (``paper_seeds``: the paper's number, 50, or 35 for CIFAR-10)."""
    seeds = " or ".join(str(n) for n in sorted(set(seed_counts)))
    floor = "" if p_floor is None else f" (p cannot fall below {format_p(p_floor)})"
    ci = get_profile("ci")
    text = {"ci": f"ci profile: {seeds} seeds{floor}, {ci.epochs} training epoch(s) on "
                  f"{ci.limit_train} images, {ci.limit_val} validation and {ci.limit_test} test "
                  "images",
            "quick": f"quick profile: {seeds} seeds instead of {paper_seeds} (less power)",
            "paper": "at the paper's scale (remaining differences: our number of epochs, "
                     "chosen by validation within the paper's 8-30, and training details the "
                     "paper does not state)"}[profile]
    return Reason("scale", text)


def why(verdict: str, scale: Reason | None,
        extra: str | Reason | Iterable[Reason] = "") -> Reasons:
    """The reasons of a claim: ``extra`` alone for a reproduced claim, else the scale note
    first."""
    extra = as_reasons(extra)
    if verdict == "reproduced" or scale is None or not scale.text:
        return extra
    return (scale, *extra)


# Control rows beyond the paper's protocol, named "<claim id> (<tag>)" (e.g. "F2c (dead-matched)"):
# shown beside the claim they test, never combined into its verdict or counted as its parts
CONTROL_TAGS: tuple[str, ...] = ("dead-matched", "dead-last")


def dead_control_note(networks: str, n_dead: float, of: str, ordering: str, where: str,
                      outcome: str, row: str) -> str:
    """The reason a claim gives where its dead-matched control is reproduced.

    Args:
        networks: who has the dead neurons ("our networks", "our networks (a)").
        n_dead: dead neurons per network (mean).
        of: out of what ("200 on average", "20 in layer 1").
        ordering: the ordering that meets them first or last ("KL low").
        where: ``"first"`` (at no cost) or ``"last"``.
        outcome: the comparison against the dead-matched baseline, as the paper's.
        row: the control's row ("F2c (dead-matched)").

    Returns:
        The sentence.
    """
    cost = " at no cost" if where == "first" else ""
    return (f"{networks} have {n_dead:.1f} dead neurons of {of} (never active on the training "
            f"data), which {ordering} ablates {where}{cost}; against a random baseline that "
            f"ablates them {where} too, {outcome} (row {row})")


def is_control(label: str) -> bool:
    """Whether the claims row ``label`` is a control beyond the paper's protocol
    (:data:`CONTROL_TAGS`), not a part of the claim."""
    return any(label.endswith(f"({tag})") for tag in CONTROL_TAGS)


UNKNOWN_DIFFERENCE = ("we do not know what differs (the paper gives its epochs only as 8 to 30 "
                      "and does not state every training detail)")


def explain(verdict: str, scale: Reason, profile: str,
            checks: dict[str, tuple[Gap, Callable[[Gap], str]]],
            notes: dict[str, str] | None = None, other: Iterable[str] = (),
            alpha: float = ALPHA) -> Reasons:
    """The reasons of a claim judged on gaps, each fitting its case.

    Every failing case is listed with its numbers (:func:`gap_reasons`). Failing cases that are
    significant (``p < alpha``) cannot be explained by fewer seeds: they become
    ``"significant"`` reasons, grouped by what differs (``notes[name]``, default
    :data:`UNKNOWN_DIFFERENCE`). The scale note leads only where it can explain something:
    always for the ``ci`` and ``paper`` profiles (smaller data and epochs, or the remaining
    differences), for ``quick`` (the paper's data and epochs, fewer seeds) only if some failing
    case is not significant.

    Args:
        verdict: the claim's verdict; a reproduced claim gets no scale note.
        scale: :func:`scale_note` of the run.
        profile: ``"ci"``, ``"quick"`` or ``"paper"``.
        checks: case name -> (its gap, the rule that judged it).
        notes: case name -> what differs, for significant failing cases.
        other: failing parts that are not gaps (e.g. a share), each a sentence; fewer seeds do
            not explain them either.
        alpha: the significance level.

    Returns:
        The reasons, in the order the cell shows them (empty when there is nothing to say).
    """
    other = list(other)
    failing = {n: (g, rule) for n, (g, rule) in checks.items() if rule(g) != "reproduced"}
    significant = [n for n, (g, _) in failing.items() if g.p < alpha]
    parts: list[Reason] = [r for n, (g, rule) in failing.items() if n not in significant
                           for r in gap_reasons({n: g}, rule, alpha)]
    by_note: dict[str, list[str]] = {}
    for n in significant:
        by_note.setdefault((notes or {}).get(n, UNKNOWN_DIFFERENCE), []).append(n)
    for note, names in by_note.items():
        listed = "; ".join(f"{n}: {format_gap(failing[n][0])}" for n in names)
        parts.append(Reason("significant", listed, cause=note, n_cases=len(names), alpha=alpha))
    parts += [Reason("note", o) for o in other if o]
    seeds_only = profile == "quick"
    if other and seeds_only:
        parts.append(Reason("note", UNKNOWN_DIFFERENCE))
    scale_fits = not seeds_only or len(significant) < len(failing)
    return why(verdict, scale if scale_fits else None, tuple(parts))


def pm(mean: float, std: float, digits: int = 2) -> str:
    """``mean ± std`` formatted."""
    return f"{mean:.{digits}f} ± {std:.{digits}f}"
