"""Chapter 1, setup (Sec. III and V): the networks, their training and accuracies (claims S1-S4).

Besides what :mod:`nbutils.precompute` computes (``requests``), the chapter's bookkeeping: the
configurations a run trained (:class:`Trained`), the evidence for the number of epochs
(:func:`evidence_table`, :func:`epoch_notes`) and the claims S1-S6 (:func:`claims`).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import analysis
from .. import config as cfg
from ..activations import ACTIVATION_TABLE, ACTIVATIONS
from ..claims import Claim, Reason, pm
from ..config import all_chapter_configs
from ..datasets import get_dataset
from ..train import select_epoch
from ..verdicts import is_provisional, verdict_from
from . import Config, Request

NOTEBOOK = "01_setup"
CONFIGS: tuple[Config, ...] = tuple(all_chapter_configs())
FROM_RESULTS = False


def requests(config: Config) -> list[Request]:
    """Every configuration: its training summary, and its dead and always-on neurons."""
    return [Request("summary (chapter 1)", lambda e: e.summary()),
            Request("dead and always-on neurons", analysis.activity)]


# ------------------------------------------------------------------------- what a run trained

@dataclass(frozen=True)
class Trained:
    """One configuration a run trained or loaded: its training configuration, the test accuracy
    of each seed (fractions) and, where training chose its epochs, the validation accuracy after
    each epoch (``(epochs, seeds)``, fractions) and the chosen epoch (1-based)."""
    config: cfg.TrainConfig
    test_acc: np.ndarray
    val_history: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    chosen_epoch: int = 0

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def seeds(self) -> int:
        return len(self.test_acc)


def trained(runs: Iterable) -> tuple[Trained, ...]:
    """What :func:`nbutils.experiment.run_all` trained or loaded, ``(ensemble, summary,
    seconds)`` per configuration, as :class:`Trained` s in the same order."""
    return tuple(Trained(exp.config, s.test_acc, s.val_history, s.chosen_epoch)
                 for exp, s, _ in runs)


def panels(runs: Iterable[Trained]) -> dict[tuple[str, str], list[Trained]]:
    """The configurations with a validation curve, by panel of the validation figure:
    ``(architecture, activation)`` -> its configurations in the order of the regularizers; the
    panels in the order of the architectures and activation functions."""
    def order(t: Trained) -> tuple[int, int, int]:
        c = t.config
        return (list(cfg.ARCHITECTURES).index(c.arch), ACTIVATIONS.index(c.activation),
                cfg.REGULARIZERS.index(c.regularizer))

    groups: dict[tuple[str, str], list[Trained]] = {}
    for t in sorted((t for t in runs if t.val_history.size > 0), key=order):
        groups.setdefault((t.config.arch, t.config.activation), []).append(t)
    return groups


def evidence_table(runs: Iterable[Trained]) -> pd.DataFrame:
    """The evidence for the number of epochs, one row per configuration with a validation curve
    (in the order of :func:`panels`): chosen epoch and epochs trained, best epoch of the mean
    validation curve, accuracy at the chosen epoch and the best anywhere, the last gain, the
    spread over seeds, whether the cap stopped it and whether the profile fixed the epochs.

    Raises:
        ValueError: a configuration whose chosen epoch is not the one the rule
            (:func:`nbutils.train.select_epoch`), replayed on its recorded curve, chooses.
    """
    rows = []
    for group in panels(runs).values():
        for t in group:
            c, hist, chosen = t.config, 100 * t.val_history, t.chosen_epoch  # percent
            mean = hist.mean(axis=1)
            if c.chooses_epochs and select_epoch(mean / 100, c.min_epochs, c.epochs, c.patience,
                                                 c.min_delta) != (chosen, len(mean)):
                raise ValueError(f"{t.name}: the rule replayed on its curve does not choose "
                                 f"epoch {chosen} of {len(mean)}")
            rows.append({
                "configuration": t.name, "chosen epoch": chosen, "epochs trained": len(mean),
                "best epoch": int(np.argmax(mean)) + 1,   # of the mean validation curve
                "at chosen (%)": round(mean[chosen - 1], 2),
                "best anywhere (%)": round(mean.max(), 2),
                "last gain (pp)": round(mean[chosen - 1] - mean[chosen - 2], 3) if chosen > 1
                else float("nan"),
                "std over seeds at chosen (pp)": round(float(hist[chosen - 1].std()), 2),
                "stopped by the cap": bool(c.chooses_epochs and chosen == c.epochs),
                "fixed (no choice)": not c.chooses_epochs})
    return pd.DataFrame(rows, columns=EVIDENCE_COLUMNS).set_index("configuration")


EVIDENCE_COLUMNS = ("configuration", "chosen epoch", "epochs trained", "best epoch",
                    "at chosen (%)", "best anywhere (%)", "last gain (pp)",
                    "std over seeds at chosen (pp)", "stopped by the cap", "fixed (no choice)")

# Entry of CHAPTER_CONFIGS -> (chapter, claims judged on its networks there).
USED_BY = {"mnist_all": ("3", "F1a"), "fig1": ("3", "F1d, F1e"),
           "fig2": ("4", "F2a-F2d, C1"), "fig3": ("5", "F3a-F3g, C2, C3"),
           "fig4": ("6", "F1a (FashionMNIST half), F1c, F4a-F4d, S6")}


def _chapters_using(c: cfg.TrainConfig) -> tuple[list[str], list[str]]:
    entries = [k for k in USED_BY if (c.arch, c.activation, c.regularizer)
               in cfg.CHAPTER_CONFIGS[k]]
    return sorted({USED_BY[k][0] for k in entries}), entries


@dataclass(frozen=True)
class _Stops:
    """How the rule stopped: the evidence table, whether the profile fixed every number of
    epochs, the rows stopped by the cap while improving, and those trained up to the cap
    without being stopped by it."""
    evidence: pd.DataFrame
    fixed: bool
    capped: pd.DataFrame
    to_cap: pd.DataFrame


def _stops(runs: Sequence[Trained]) -> _Stops:
    evidence = evidence_table(runs)
    fixed = bool(evidence["fixed (no choice)"].all()) if len(evidence) else True
    capped = evidence[evidence["stopped by the cap"]]
    schedules = {t.name: t.config for t in runs}
    to_cap = evidence[np.array([schedules[n].chooses_epochs
                                and r["epochs trained"] == schedules[n].epochs
                                for n, r in evidence.iterrows()], dtype=bool)]
    return _Stops(evidence, fixed, capped, to_cap[~to_cap["stopped by the cap"]])


def epoch_notes(runs: Sequence[Trained]) -> dict[str, object]:
    """The numbers and sentences the chapter's prose glues about the chosen epochs
    (``ch1_n_curves``, ``ch1_epochs_range``, ``ch1_cap_note``, ``ch1_capped_claims``): which
    configurations the cap stopped, which trained up to it, which kept an epoch before the best
    of their mean validation curve, and the claims judged on the capped ones."""
    stops = _stops(runs)
    evidence, capped, to_cap = stops.evidence, stops.capped, stops.to_cap
    by_name = {t.name: t for t in runs}
    items, claim_entries = [], set()
    for name, r in capped.iterrows():
        chs, entries = _chapters_using(by_name[name].config)
        claim_entries.update(entries)
        where = (f"chapter{'s' if len(chs) > 1 else ''} {', '.join(chs)}" if chs
                 else "no chapter")
        items.append(f"{name} (last gain {r['last gain (pp)']:+.2f} pp; {where})")
    # What "stopped" means, counted on the recorded curves: configurations that trained up to
    # the cap (whether or not it cut their patience short), and those that kept an epoch before
    # the best epoch of their mean validation curve (later gains below the threshold of an
    # improvement).
    schedules = {name: by_name[name].config for name in evidence.index}
    cut_short = [n for n, r in to_cap.iterrows()
                 if r["chosen epoch"] + schedules[n].patience > schedules[n].epochs]
    before_best = evidence[evidence["best epoch"] > evidence["chosen epoch"]]

    def mean(n: str) -> np.ndarray:
        return (100 * by_name[n].val_history).mean(axis=1)

    later_gain = pd.Series({n: mean(n).max() - mean(n)[by_name[n].chosen_epoch - 1]
                            for n in before_best.index}, dtype=float)   # points, unrounded
    some = next(iter(schedules.values()), None)
    if stops.fixed:
        note = ("In this run the profile fixes the number of epochs (the ci smoke test trains "
                "one), so nothing was chosen and the curves say nothing about the paper's range.")
    else:
        cap, patience, delta = some.epochs, some.patience, 100 * some.min_delta
        if len(capped) == 0:
            note = (f"No configuration was still improving by {delta:g} points at the cap of "
                    f"{cap} epochs: each stopped because its mean validation accuracy had not "
                    f"improved by that much for {patience} epochs.")
        else:
            note = (f"{len(capped)} configuration(s) reached the cap of {cap} epochs while still "
                    f"improving: {'; '.join(items)}. The paper's range allows no more epochs.")
        if len(to_cap):
            note += (f" {len(to_cap)} configuration(s) trained up to the cap of {cap} epochs, "
                     + ", ".join(f"{n} (last improvement at epoch {r['chosen epoch']})"
                                 for n, r in to_cap.iterrows())
                     + (f": the cap ended the {patience}-epoch wait of "
                        f"{', '.join(cut_short)} early, so a later improvement could not be seen."
                        if cut_short else
                        f": their {patience}-epoch wait ran out at the cap itself, so the cap "
                        "did not stop them early."))
        if len(before_best):
            note += (f" {len(before_best)} of the {len(evidence)} configurations kept an epoch "
                     "before the best epoch of their mean validation curve: later epochs were "
                     f"higher, by less than the {delta:g} points that count as an improvement "
                     f"(at most {later_gain.max():.3f} points, {later_gain.idxmax()}).")
    claims_by_chapter: dict[str, list[str]] = {}
    for k, (chapter, claims_there) in USED_BY.items():
        if k in claim_entries:
            claims_by_chapter.setdefault(chapter, []).append(claims_there)
    claims_at_risk = "; ".join(f"{', '.join(cl)} (chapter {ch})"
                               for ch, cl in sorted(claims_by_chapter.items()))
    chosen = evidence["chosen epoch"]
    return {"ch1_n_curves": len(evidence),
            "ch1_epochs_range": f"{chosen.min()}" if chosen.min() == chosen.max()
            else f"{chosen.min()} to {chosen.max()}",
            "ch1_cap_note": note, "ch1_capped_claims": claims_at_risk or "none"}


# ------------------------------------------------------------------------------------ claims

PAPER_ARCHS = ("mnist", "fashionmnist", "fashionmnist_small", "cifar10", "cifar10_funnel")
OWN_CHAPTER = {"fig5": "chapter 7", "pruning": "chapter 9"}  # entries trained by their chapter
REGULARIZER_WORDS = {"none": "no regularizer", "l2": "L2", "dropout": "Dropout",
                     "bn_dropout": "BN + Dropout"}


@dataclass(frozen=True)
class Run:
    """What chapter 1's claims read of its run: every configuration it trained or loaded (in
    its order), the registry entries it trains (the ``chapters`` parameter), its profile, and
    the sizes of the training and validation sets of its first dataset."""
    trained: tuple[Trained, ...]
    chapters: tuple[str, ...]
    profile: str
    split: tuple[int, int]


def provisional(run: Run) -> bool:
    """Whether the run's verdicts are provisional: below the paper's scale for some
    configuration (:func:`nbutils.verdicts.is_provisional` with its architecture's seeds)."""
    return any(is_provisional(run.profile, [t.seeds], cfg.ARCHITECTURES[t.config.arch].paper_seeds)
               for t in run.trained)


def _note(text: str) -> tuple[Reason, ...]:
    """A sentence as the reasons of a claim: one ``"note"`` (none if empty)."""
    return (Reason("note", text),) if text else ()


def _arch_name(name: str) -> str:
    a = cfg.ARCHITECTURES[name]
    return f"{a.title} {a.label}"


def _not_trained_why(missing: list[str], what: list, chapters: Sequence[str],
                     lead: str = "not trained in this run") -> str:
    """Why configurations are missing: the registry entries that hold them (not among this
    run's ``chapters``) and whether those have a chapter yet."""
    if not missing:
        return ""
    entries = sorted(k for k, configs in cfg.CHAPTER_CONFIGS.items()
                     if k not in chapters and k not in OWN_CHAPTER
                     and any(m(c) for c in configs for m in what))
    named = ", ".join(f'"{k}"' for k in entries)
    return (f"{lead}: {'; '.join(missing)}"
            + (f"; registry entr{'y' if len(entries) == 1 else 'ies'} {named}, not among "
               "this run's chapters" if entries else ""))


def claims(run: Run) -> list[Claim]:
    """The claims S1-S6 of chapter 1 (rules: :mod:`nbutils.verdicts`, "How claims are judged").

    S1 and S2 are judged on the networks the book trains: this run's, and those of the registry
    entries trained by their own chapter (:data:`OWN_CHAPTER`) where this run does not train
    them. S1: all five architectures of the paper (*partly*: some). S2: every (architecture,
    activation, regularizer) combination and the paper's two Dropout settings (*partly*: some).
    S3: *partly* at the ci profile. S4, per group of the paper's seed counts: *partly* with fewer
    seeds than the paper's, *not testable* where this run trains none of the group. S5 and S6
    are tested in chapters 2 and 6.
    """
    trained = [t.config for t in run.trained]
    acc = {t.name: t.test_acc for t in run.trained}
    mnist_l2 = acc.get("mnist-relu-l2")
    # the configurations the book trains in their own chapter (each trains its whole registry
    # entry), where this run does not train them
    elsewhere = {c: OWN_CHAPTER[k] for k in OWN_CHAPTER if k not in run.chapters
                 for c in cfg.CHAPTER_CONFIGS[k]}
    here = {(c.arch, c.activation, c.regularizer) for c in trained}
    by_book = here | set(elsewhere)

    # S1: the five architectures of the paper (not the pruning network of the technical note)
    archs_here = [a for a in PAPER_ARCHS if a in {c[0] for c in here}]
    archs_elsewhere = {a: chapter for (a, *_), chapter in elsewhere.items()
                       if a in PAPER_ARCHS and a not in archs_here}
    missing_archs = [a for a in PAPER_ARCHS if a not in archs_here and a not in archs_elsewhere]
    s1_verdict = verdict_from(not missing_archs, partial=bool(archs_here or archs_elsewhere))
    s1_where = [f"in this run {', '.join(_arch_name(a) for a in archs_here)}"] if archs_here \
        else []
    for ch in sorted(set(archs_elsewhere.values())):
        s1_where.append(f"in {ch} "
                        + ", ".join(_arch_name(a) for a, c in archs_elsewhere.items() if c == ch))
    s1_ours = (f"{len(PAPER_ARCHS) - len(missing_archs)} of the {len(PAPER_ARCHS)} "
               f"architectures trained by the book: {'; '.join(s1_where) or 'none'}")
    s1_why = _not_trained_why([_arch_name(a) for a in missing_archs],
                              [lambda c, a=a: c[0] == a for a in missing_archs], run.chapters,
                              lead="not trained by the book")

    # S2: "for each network architecture" both activations and the four regularizers, and the
    # paper's two Dropout settings
    combos = [(a, act, reg) for a in PAPER_ARCHS for act in ACTIVATIONS
              for reg in cfg.REGULARIZERS]
    missing_combos = [t for t in combos if t not in by_book]
    gaps_by: dict[tuple[str, ...], list[str]] = {}   # architectures a pair lacks -> the pairs
    for act in ACTIVATIONS:
        for reg in cfg.REGULARIZERS:
            lacking = tuple(a for a in PAPER_ARCHS if (a, act, reg) in missing_combos)
            if lacking:
                gaps_by.setdefault(lacking, []).append(
                    f"{ACTIVATION_TABLE[act].display} + {REGULARIZER_WORDS[reg]}")
    s2_gaps = []   # the widest gaps first
    for lacking, pairs in sorted(gaps_by.items(), key=lambda item: -len(item[0])):
        trained_on = [cfg.ARCHITECTURES[a].title for a in PAPER_ARCHS if a not in lacking]
        s2_gaps.append(f"{', '.join(pairs)}: " + (f"only on {', '.join(trained_on)}"
                                                   if trained_on else "on no architecture"))
    paper_dropout = {cfg.ARCHITECTURES[a].dropout: [b for b in PAPER_ARCHS
                                                    if cfg.ARCHITECTURES[b].dropout
                                                    == cfg.ARCHITECTURES[a].dropout]
                     for a in PAPER_ARCHS}
    trained_dropout = {cfg.ARCHITECTURES[a].dropout for a, _, reg in by_book
                       if reg in ("dropout", "bn_dropout")}
    missing_dropout = [p for p in paper_dropout if p not in trained_dropout]
    s2_count = len(combos) - len(missing_combos) + len(paper_dropout) - len(missing_dropout)
    s2_total = len(combos) + len(paper_dropout)
    s2_verdict = verdict_from(s2_count == s2_total, partial=s2_count > 0)
    l2_decay = sorted({c.weight_decay for c in trained if c.regularizer == "l2"})
    s2_parts = [f"Dropout {p} of {' and '.join(_arch_name(a) for a in paper_dropout[p])} not "
                "trained by the book" for p in missing_dropout]
    if s2_gaps:
        s2_parts.insert(0, f"not trained by the book: {'; '.join(s2_gaps)} (the paper, too, "
                           "shows only ReLU networks without batch norm after its Fig. 3 and "
                           "refers to its reference [19] for the others)")

    # S3: the split, optimizer and epochs
    stops = _stops(run.trained)
    chosen = stops.evidence["chosen epoch"]
    s3_ours = (f"split {run.split[0]}/{run.split[1]} (first dataset); epochs chosen by "
               f"validation: {chosen.min()}-{chosen.max()}"
               + (f"; MNIST ReLU L2 test accuracy "
                  f"{pm(100 * mnist_l2.mean(), 100 * mnist_l2.std())} %"
                  if mnist_l2 is not None else "")
               + f"; {len(stops.capped)} of {len(stops.evidence)} configurations stopped by the "
                 "cap of 30"
               + (f", {len(stops.to_cap)} trained up to it" if not stops.fixed else ""))

    return [
        Claim("S1", "MNIST/FashionMNIST 784-100-100-10, small FashionMNIST 784-20-20-10, "
              "CIFAR-10 3072-250-500-250-500-10, Funnel 3072-1000-750-500-250-10; softmax "
              "output", s1_ours, s1_verdict, _note(s1_why)),
        Claim("S2", "for each architecture ReLU and sigmoid; none, L2 1e-4, Dropout (0.3, 0.4 / "
              "0.2, 0.4, 0.2, 0.4), Dropout + BN",
              f"{len(combos) - len(missing_combos)} of the {len(combos)} (architecture, "
              f"activation, regularizer) combinations trained by the book "
              f"({len(here & set(combos))} in this run, "
              f"{len(set(elsewhere) & set(combos) - here)} in chapter 7); Dropout settings "
              f"trained: {', '.join(str(p) for p in sorted(trained_dropout)) or 'none'}; L2 "
              f"weight decay {', '.join(f'{w:g}' for w in l2_decay) or '-'}; configurations of "
              "this run: " + ", ".join(sorted(acc)), s2_verdict, _note("; ".join(s2_parts))),
        Claim("S3", "80/20 train/validation split; RMSprop lr 1e-3, momentum 0.01 (0.1 "
              "CIFAR-10), batch 32, 8-30 epochs", s3_ours,
              verdict_from(run.profile != "ci", partial=True),
              _note("" if run.profile != "ci" else "ci profile: data subsets and one epoch")),
        *_s4_claims(run, elsewhere),
        Claim("S5", "one-bit quantization at 0 (ReLU) / 0.5 (sigmoid); more bins no different",
              "implemented (nbutils.measures.one_bit); the finer quantizers are compared in "
              "chapter 2", "not testable", _note("tested in chapter 2, not here")),
        Claim("S6", "ablation to zero; ablation to the training-set mean slightly more robust",
              "both implemented (nbutils.ablation); compared in chapter 6 "
              "(book/06_layerwise_fashionmnist)",
              "not testable", _note("tested in chapter 6, not here")),
    ]


def _s4_claims(run: Run, elsewhere: dict[Config, str]) -> list[Claim]:
    """S4, judged where the networks are trained: here, each group of the paper's seed counts
    this run trains; the groups trained in their own chapter are judged there."""
    seed_groups: dict[int, list[str]] = {}
    for a in PAPER_ARCHS:
        seed_groups.setdefault(cfg.ARCHITECTURES[a].paper_seeds, []).append(a)
    out = []
    for paper_n, archs in seed_groups.items():
        datasets = ", ".join(dict.fromkeys(get_dataset(cfg.ARCHITECTURES[a].dataset).display
                                           for a in archs))
        paper = f"{paper_n} seeds ({datasets}); mean and std over seeds"
        mine = [t.seeds for t in run.trained if t.config.arch in archs]
        if mine:
            ok = min(mine) >= paper_n
            out.append(Claim(
                f"S4 ({datasets})", paper,
                f"{' or '.join(map(str, sorted(set(mine))))} seeds per configuration in this run",
                verdict_from(ok, partial=True),
                _note("" if ok else f"profile {run.profile!r}: fewer seeds than the paper's "
                      f"{paper_n}")))
        else:
            where = sorted({elsewhere[c] for c in elsewhere if c[0] in archs}) or ["no chapter"]
            out.append(Claim(
                f"S4 ({datasets})", paper,
                f"the {datasets} networks are trained in {', '.join(where)}, with the seeds of "
                "its own profile", "not testable",
                _note(f"trained in {', '.join(where)}, not here: this run does not know their "
                      "seeds")))
    return out
