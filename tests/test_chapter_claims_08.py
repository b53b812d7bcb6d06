"""Chapter 8's claims rows (claim M3, Examples 1-4) on tiny hand-made runs: two draws each, the
numbers chosen so that each construction fails as the paper says (reproduced), or not (one
condition broken at a time: not reproduced). The verdict of each example is a yes/no check
(:func:`nbutils.verdicts.verdict_from`), so these are its only two verdicts."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from nbutils.chapters import ch08


def run(number, n_classes=2, measures=None, curves=None, per_class=None, orders=None,
        intact=(1.0, 1.0), extra=None):
    """An ExampleRun-like object of two draws (only what the chapter reads)."""
    return SimpleNamespace(example=SimpleNamespace(number=number, n_classes=n_classes,
                                                   roles=("a", "b", "c")),
                           seeds=(0, 1), measures=measures or {}, curves=curves or {},
                           per_class=per_class or {}, orders=orders or {},
                           intact=np.array(intact), extra=extra or {})


def example1(h=0.0, dead=1.0, active=0.5):
    """Neuron 0 always active, neuron 1 dead: one-bit entropy ``h`` for both; accuracy 100 %
    intact, ``dead`` without the dead neuron, ``active`` without the always-active one."""
    return run(1, measures={"entropy": np.array([[h, 0.0, 1.0], [0.0, h, 1.0]])},
               extra={"uniform4_entropy": np.ones((2, 3)), "uniform4_mi": np.ones((2, 3))},
               curves={"dead first": np.array([[1.0, dead, 0.5]] * 2),
                       "always-active first": np.array([[1.0, active, 0.5]] * 2)})


def example2(maximizer=0, class0=1.0, others=0.0, kl_high=0.96):
    """Six neurons, four classes: the spectrum peaks at ``maximizer`` for every neuron; after
    the 3 lowest-KL ablated, class 0 at ``class0`` and the others at ``others``; 3 highest-KL
    ablated: ``kl_high`` (intact 0.96)."""
    spectrum = np.zeros((2, 6, 4))
    spectrum[:, :, maximizer] = 1.0
    per_class = np.zeros((2, 7, 4))
    per_class[:, 3] = [class0, others, others, others]
    return run(2, n_classes=4, measures={"spectrum": spectrum},
               per_class={"kl-low": per_class},
               curves={"kl-high": np.array([[0.96, 0.96, 0.96, kl_high, 0.5, 0.25, 0.25]] * 2)},
               intact=(0.96, 0.96))


def example3(top=(1, 0, 2), one=1.0, both=0.5):
    """Neurons 0 and 1 duplicates: MI ranks ``top`` first; accuracy ``one`` with one ablated,
    ``both`` with both."""
    return run(3, orders={"mi-high": np.array([top + (3,), (0, 1, 3, 2)])},
               measures={"mi": np.array([[1.0, 1.0, 0.0, 0.0]] * 2)},
               curves={"one duplicate": np.array([[1.0, one, 1.0, 0.5, 0.5]] * 2),
                       "both duplicates": np.array([[1.0, 1.0, both, 0.5, 0.5]] * 2)})


def example4(mi=0.0, joint=1.0, mi_low=0.5):
    """XOR pair 0, 1: single information ``mi``, the pair's ``joint`` (H(Y) = 1 bit); accuracy
    ``mi_low`` after the lowest-MI neuron is ablated."""
    return run(4, measures={"mi": np.array([[mi, 0.0, 0.2, 0.0], [0.0, 0.0, 0.2, 0.0]])},
               extra={"joint_mi": np.array([joint, 1.0]), "label_entropy": np.array([1.0, 1.0])},
               curves={"mi-low": np.array([[1.0, mi_low, 0.5, 0.5, 0.5]] * 2)})


def rows(r1=None, r2=None, r3=None, r4=None):
    return ch08.claims([r1 or example1(), r2 or example2(), r3 or example3(), r4 or example4()],
                       4000)


def test_all_four_constructions_fail_as_the_paper_says():
    claims = rows()
    assert [c.id for c in claims] == [f"M3 (Ex. {i})" for i in range(1, 5)]
    assert [c.verdict for c in claims] == ["reproduced"] * 4
    assert all(c.why == "" for c in claims)
    assert claims[0].ours == ("H = 0.000 bits for both; accuracy 100.0 % intact, 100.0 % without "
                              "the dead neuron, 50.0 % without the always-active one (2 draws "
                              "of 4000 samples)")
    assert claims[1].ours == ("Eq. 5 maximizer = class 0 for all neurons: True; after ablating "
                              "the 3 lowest-KL neurons: class 0 100.0 %, other classes at most "
                              "0.0 %; 3 highest-KL ablated: 96.0 % (intact 96.0 %)")
    assert claims[2].ours == ("duplicates are the MI top-2 in every draw: True; accuracy 100.0 % "
                              "with one ablated, 50.0 % with both")
    assert claims[3].ours == ("max single I = 0.0e+00 bits, I(T_0 T_1;Y) = 1.000 bits = H(Y) "
                              "(largest gap 0e+00); MI-low ablation: 50.0 % after one neuron")


@pytest.mark.parametrize("broken", [
    dict(h=0.1),          # entropy tells the two apart
    dict(dead=0.9),       # the dead neuron matters
    dict(active=0.8),     # the always-active one costs only 20 points (< LARGE_DROP)
])
def test_example1_not_reproduced(broken):
    assert rows(r1=example1(**broken))[0].verdict == "not reproduced"


@pytest.mark.parametrize("broken", [
    dict(maximizer=1),    # Eq. (5) picks another class
    dict(class0=0.99),    # class 0 not fully recognized
    dict(others=0.01),    # another class still recognized
    dict(kl_high=0.95),   # the detectors matter
])
def test_example2_not_reproduced(broken):
    assert rows(r2=example2(**broken))[1].verdict == "not reproduced"


@pytest.mark.parametrize("broken", [
    dict(top=(0, 2, 1)),  # a duplicate is not in the MI top 2 in one draw
    dict(one=0.9),        # one duplicate alone is not redundant
    dict(both=0.75),      # both cost only 25 points
])
def test_example3_not_reproduced(broken):
    assert rows(r3=example3(**broken))[2].verdict == "not reproduced"


@pytest.mark.parametrize("broken", [
    dict(mi=0.01),        # a single XOR neuron carries information
    dict(joint=0.9),      # the pair does not determine Y
    dict(mi_low=0.6),     # ablating the lowest-MI neuron leaves 60 %: 10 points above chance
])
def test_example4_not_reproduced(broken):
    assert rows(r4=example4(**broken))[3].verdict == "not reproduced"


def test_prose_numbers():
    numbers = ch08.prose(example3(top=(0, 2, 1), one=0.9))
    assert numbers["ch8_e3_top2"] == "not in every draw"
    assert numbers["ch8_e3_one"] == pytest.approx(90.0)
    assert ch08.prose(example1(h=-0.0))["ch8_e1_h_max"] == 0.0
