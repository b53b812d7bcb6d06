"""Chapter 1's claims (S1-S6) on tiny hand-made runs: which architectures, combinations and seeds
a run trained, and how its epochs were chosen, give each verdict the rules allow."""
from __future__ import annotations

import numpy as np
import pytest

from nbutils import config as cfg
from nbutils.activations import ACTIVATIONS
from nbutils.chapters import ch01

ALL_ENTRIES = tuple(cfg.CHAPTER_CONFIGS)            # a run that trains every registry entry
BOOK_ENTRIES = ("fig1", "fig2", "fig3", "fig4", "mnist_all")   # the chapter's default


def trained(arch, activation="relu", regularizer="l2", seeds=3, curve=(0.9,), chosen=None):
    """A configuration trained with ``seeds`` seeds: every seed's test accuracy 0.9 + 0.01 i,
    and the mean validation curve ``curve`` (fractions) for every seed. A curve of one epoch
    fixes the number of epochs (as the ci profile does); a longer one is chosen by the rule."""
    fixed = len(curve) == 1
    config = cfg.make_config(arch, activation, regularizer, epochs=1 if fixed else None)
    history = np.repeat(np.asarray(curve, dtype=float)[:, None], seeds, axis=1)
    return ch01.Trained(config, 0.9 + 0.01 * np.arange(seeds), history,
                        1 if chosen is None else chosen)


def run(items, chapters=BOOK_ENTRIES, profile="paper", split=(48000, 12000)):
    return ch01.Run(tuple(items), tuple(chapters), profile, split)


def verdicts(r):
    return {c.id: c.verdict for c in ch01.claims(r)}


def everything(seeds_of=lambda arch: cfg.ARCHITECTURES[arch].paper_seeds):
    return [trained(a, act, reg, seeds=seeds_of(a)) for a in ch01.PAPER_ARCHS
            for act in ACTIVATIONS for reg in cfg.REGULARIZERS]


def test_a_run_of_the_whole_paper_reproduces_s1_to_s4():
    r = run(everything(), chapters=ALL_ENTRIES)
    assert verdicts(r) == {"S1": "reproduced", "S2": "reproduced", "S3": "reproduced",
                           "S4 (MNIST, FashionMNIST)": "reproduced", "S4 (CIFAR-10)": "reproduced",
                           "S5": "not testable", "S6": "not testable"}
    claims = {c.id: c for c in ch01.claims(r)}
    assert claims["S1"].ours.startswith("5 of the 5 architectures trained by the book")
    assert claims["S2"].ours.startswith("40 of the 40 (architecture, activation, regularizer)")
    assert claims["S3"].ours.startswith("split 48000/12000 (first dataset)")
    assert claims["S4 (MNIST, FashionMNIST)"].ours == "50 seeds per configuration in this run"
    assert all(not c.reasons for c in claims.values() if c.verdict == "reproduced")
    assert not ch01.provisional(r)


def test_the_default_run_counts_chapter_7_and_is_partly_below_the_paper():
    # MNIST only, 8 seeds: CIFAR-10 is trained by chapter 7 (fig5 is not among the chapters)
    r = run([trained("mnist", act, reg, seeds=8) for act in ACTIVATIONS
             for reg in cfg.REGULARIZERS], profile="quick")
    claims = {c.id: c for c in ch01.claims(r)}
    assert {k: c.verdict for k, c in claims.items()} == {
        "S1": "partly", "S2": "partly", "S3": "reproduced",
        "S4 (MNIST, FashionMNIST)": "partly", "S4 (CIFAR-10)": "not testable",
        "S5": "not testable", "S6": "not testable"}
    assert claims["S1"].ours == ("3 of the 5 architectures trained by the book: in this run "
                                 "MNIST 784-100-100-10; in chapter 7 CIFAR-10 3072-250-500-250-"
                                 "500-10, Funnel CIFAR-10 3072-1000-750-500-250-10")
    assert "not trained by the book: FashionMNIST" in claims["S1"].why
    assert "(8 in this run, 3 in chapter 7)" in claims["S2"].ours
    assert claims["S4 (MNIST, FashionMNIST)"].why == ("profile 'quick': fewer seeds than the "
                                                      "paper's 50")
    assert claims["S4 (CIFAR-10)"].why == ("trained in chapter 7, not here: this run does not "
                                           "know their seeds")
    assert ch01.provisional(r)


def test_nothing_trained_by_the_book_is_not_reproduced():
    # the run trains the entries of chapters 7 and 9 itself, but trained nothing
    r = run([], chapters=ALL_ENTRIES)
    assert verdicts(r) == {"S1": "not reproduced", "S2": "not reproduced", "S3": "reproduced",
                           "S4 (MNIST, FashionMNIST)": "not testable",
                           "S4 (CIFAR-10)": "not testable", "S5": "not testable",
                           "S6": "not testable"}
    claims = {c.id: c for c in ch01.claims(r)}
    assert claims["S1"].ours == "0 of the 5 architectures trained by the book: none"
    assert claims["S4 (CIFAR-10)"].why.startswith("trained in no chapter, not here")


def test_s1_counts_the_architectures_and_s3_is_partly_at_ci():
    r = run([trained("mnist"), trained("fashionmnist")], chapters=ALL_ENTRIES, profile="ci")
    claims = {c.id: c for c in ch01.claims(r)}
    assert claims["S1"].verdict == "partly"
    assert claims["S1"].ours.startswith("2 of the 5")
    assert claims["S3"].verdict == "partly"
    assert claims["S3"].why == "ci profile: data subsets and one epoch"
    assert claims["S4 (CIFAR-10)"].why.startswith("trained in no chapter")


def test_s2_names_a_missing_dropout_setting():
    # every combination except Dropout and BN + Dropout of the CIFAR-10 funnel and network
    items = [t for t in everything() if not (t.config.arch.startswith("cifar10")
                                             and t.config.regularizer in ("dropout",
                                                                          "bn_dropout"))]
    claims = {c.id: c for c in ch01.claims(run(items, chapters=ALL_ENTRIES))}
    assert claims["S2"].verdict == "partly"
    assert "Dropout (0.2, 0.4, 0.2, 0.4) of CIFAR-10" in claims["S2"].why
    assert "ReLU + Dropout, ReLU + BN + Dropout" in claims["S2"].why


# ------------------------------------------------------------------- the chosen epochs (S3)
RISING = tuple(0.80 + 0.01 * e for e in range(10)) + (0.89, 0.89, 0.89)  # chosen 10 of 13
CAPPED = tuple(0.60 + 0.01 * e for e in range(30))                      # still rising at 30


def test_the_rule_is_replayed_and_the_cap_counted():
    items = [trained("mnist", "relu", "l2", curve=RISING, chosen=10),
             trained("mnist", "relu", "dropout", curve=CAPPED, chosen=30)]
    evidence = ch01.evidence_table(items)
    assert evidence["chosen epoch"].tolist() == [10, 30]
    assert evidence["epochs trained"].tolist() == [13, 30]
    assert evidence["stopped by the cap"].tolist() == [False, True]
    notes = ch01.epoch_notes(items)
    assert notes["ch1_epochs_range"] == "10 to 30"
    assert notes["ch1_cap_note"].startswith("1 configuration(s) reached the cap of 30 epochs "
                                            "while still improving: mnist-relu-dropout (last "
                                            "gain +1.00 pp; chapters 3, 4, 5)")
    assert notes["ch1_capped_claims"] == ("F1a, F1d, F1e (chapter 3); F2a-F2d, C1 (chapter 4); "
                                          "F3a-F3g, C2, C3 (chapter 5)")
    s3 = next(c for c in ch01.claims(run(items)) if c.id == "S3")
    assert s3.ours == ("split 48000/12000 (first dataset); epochs chosen by validation: 10-30; "
                       "MNIST ReLU L2 test accuracy 91.00 ± 0.82 %; 1 of 2 configurations "
                       "stopped by the cap of 30, 0 trained up to it")
    with pytest.raises(ValueError, match="does not choose epoch 9"):
        ch01.evidence_table([trained("mnist", curve=RISING, chosen=9)])


def test_fixed_epochs_say_nothing_was_chosen():
    notes = ch01.epoch_notes([trained("mnist")])
    assert notes["ch1_epochs_range"] == "1"
    assert notes["ch1_cap_note"].startswith("In this run the profile fixes the number")
    assert notes["ch1_capped_claims"] == "none"


def test_a_wait_cut_short_by_the_cap_and_a_later_best_epoch_are_told():
    # rises until epoch 28, then gains less than an improvement (0.05 points) at 29 and 30
    curve = tuple(0.60 + 0.01 * e for e in range(28)) + (0.8702, 0.8703)
    notes = ch01.epoch_notes([trained("mnist", curve=curve, chosen=28)])
    assert notes["ch1_cap_note"] == (
        "No configuration was still improving by 0.05 points at the cap of 30 epochs: each "
        "stopped because its mean validation accuracy had not improved by that much for 3 "
        "epochs. 1 configuration(s) trained up to the cap of 30 epochs, mnist-relu-l2 (last "
        "improvement at epoch 28): the cap ended the 3-epoch wait of mnist-relu-l2 early, so a "
        "later improvement could not be seen. 1 of the 1 configurations kept an epoch before "
        "the best epoch of their mean validation curve: later epochs were higher, by less than "
        "the 0.05 points that count as an improvement (at most 0.030 points, mnist-relu-l2).")
