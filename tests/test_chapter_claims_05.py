"""Chapter 5's claims (F3a-F3g, C2, C3) on small hand-made results: each claim's verdicts.

Every panel has two hidden layers of 100 neurons and 8 seeds (5 where a Wilcoxon comparison is
not testable, 3 for the KS comparisons of random ablation). Accuracy is 90 % with nothing
ablated; random ablation keeps 50 % in layer 1 and 89 % in layer 2 from k = 1 on (plus 0.1
point per seed), so random ablation of layer 1 costs 39 points more (KS p = 2 / C(16, 8) =
1.6e-4). An ordering adds the same difference to every seed from k = 1 on: its MG@80 is that
difference, its Wilcoxon p the floor 2 / 2^8 = 0.0078; a ``noisy`` difference alternates ±5
points around it (not significant).
"""
from __future__ import annotations

import numpy as np
import pytest

from nbutils.chapters import ch05
from nbutils.verdicts import VERDICTS

N = 8
NOISE = np.array([5.1, -5.1, 5.2, -5.2, 5.3, -5.3, 5.4, -5.4])   # mean 0, mixed signs
RANDOM = {0: 0.50, 1: 0.89}        # random ablation's accuracy from k = 1 on, per layer


def noisy(mg: float, n: int = N) -> np.ndarray:
    """Per-seed differences (points) of mean ``mg`` whose Wilcoxon p is far above 0.05."""
    return mg + NOISE[:n]


def curve(n: int, base: float, diff=0.0) -> np.ndarray:
    """``(n, 101)`` accuracies: 0.9 at k = 0, ``base`` from k = 1 on, plus 0.1 point per seed;
    ``diff`` (points, a number or one per seed) added from k = 1 on."""
    c = np.full((n, 101), base) + 0.001 * np.arange(n)[:, None]
    c[:, 0] = 0.9 + 0.001 * np.arange(n)
    c[:, 1:] += np.broadcast_to(np.asarray(diff, dtype=float), (n,))[:, None] / 100
    return c


def separating(low: float, high: float) -> dict[str, float]:
    """Every measure's low-first ordering ``low`` points from random, high-first ``high``."""
    return {f"{m}-{d}": x for m in ("entropy", "mi", "kl") for d, x in (("low", low),
                                                                      ("high", high))}


# the paper's picture, layer 1 (layer 2: every ordering like random): (a) MI low better and
# high worse (F3c), KL high 20 points worse; (b) KL high 5 points worse (F3f); (c) MI as (a)
# (F3d); (d) entropy low worse (F3e); separations S: (a) 23.3, (b) 1.7, (c) 6.7, (d) -3.3,
# the strong ReLU + L2 network 20
LAYER1 = {"a": {**separating(10.0, -10.0), "kl-high": -20.0}, "b": {"kl-high": -5.0},
          "c": {"mi-low": 10.0, "mi-high": -10.0}, "d": {"entropy-low": -10.0}}


def layer(n: int, base: float, diffs: dict) -> dict[str, np.ndarray]:
    out = {o: curve(n, base, diffs.get(o, 0.0)) for o in ch05.ORDERINGS}
    out["random"] = curve(n, base)
    return out


def world(n: int = N, diffs=None, random=None, strong=None):
    """The panels and the strong network's layer 1; ``diffs``: (panel, layer, ordering) ->
    difference; ``random``: (panel, layer) -> random ablation's accuracy."""
    table = {(p, 0, o): x for p, ds in LAYER1.items() for o, x in ds.items()} | (diffs or {})
    random = random or {}
    panels = {p: ch05.Panel(f"({p}) panel {p}", tuple(
        layer(n, random.get((p, l), RANDOM[l]),
              {o: x for (q, m, o), x in table.items() if (q, m) == (p, l)})
        for l in (0, 1))) for p in ch05.PANELS}
    return panels, layer(n, RANDOM[0], strong or separating(10.0, -10.0))


def claims(n: int = N, profile: str = "paper", **changes):
    panels, strong = world(n, **changes)
    return {c.id: c for c in ch05.claims(panels, strong, profile, [n] * 4)}


def verdicts(n: int = N, **changes) -> dict[str, str]:
    return {cid: c.verdict for cid, c in claims(n, **changes).items()}


def test_the_papers_picture_reproduces_every_claim():
    rows = claims()
    assert list(rows) == ["F3a", "F3b", "F3c", "F3d", "F3e", "F3f", "F3g", "C2", "C3"]
    assert {c.verdict for c in rows.values()} == {"reproduced"}
    assert rows["F3a"].ours == "MG@80 = -39.0, p = 1.55e-4 (KS)"
    assert rows["C3"].ours.endswith("in 6 of 6 pairs (MNIST, ReLU, L2: 20.0, (a) panel a: "
                                     "23.3, (b) panel b: 1.7, (c) panel c: 6.7, (d) panel d: "
                                     "-3.3)")
    # F3f always says how it reads the paper's 13 points
    assert rows["F3f"].why.startswith("read literally, as accuracy lost from the intact "
                                      "network, the 80 highest-KL neurons cost 45.0 points")
    assert [c.id for c in rows.values() if c.why] == ["F3f"]


def test_an_extra_panel_is_shown_but_not_judged():
    panels, strong = world()
    extra = ch05.Panel("(extra)", tuple(layer(N, 0.89 - 0.39 * (l == 1), {}) for l in (0, 1)))
    rows = ch05.claims({**panels, "extra": extra}, strong, "paper", [N] * 5)
    assert {c.verdict for c in rows} == {"reproduced"}


# F3a: random ablation costs more in layer 1 than in layer 2, panel (a) (KS)
@pytest.mark.parametrize("random, n, verdict", [
    ({}, N, "reproduced"),
    ({("a", 0): 0.887}, N, "partly"),           # 0.3 points lower, the samples overlap
    ({("a", 0): 0.89, ("a", 1): 0.50}, N, "not reproduced"),
    ({}, 3, "not testable"),                     # the KS test on 3 seeds: p >= 0.1
])
def test_f3a(random, n, verdict):
    assert verdicts(n, random=random)["F3a"] == verdict


# F3b: the 50 lowest-ranked layer-2 neurons of (a) and (c) cost less than 2 points (random
# costs 1 point in layer 2; a difference of -4 makes it 5)
@pytest.mark.parametrize("diffs, verdict", [
    ({}, "reproduced"),
    ({("c", 1, "entropy-low"): -4.0}, "partly"),
    ({(p, 1, f"{m}-low"): -4.0 for p in "ac" for m in ("entropy", "mi", "kl")},
     "not reproduced"),
])
def test_f3b(diffs, verdict):
    assert verdicts(diffs=diffs)["F3b"] == verdict


def test_f3b_names_the_costly_case():
    row = claims(diffs={("c", 1, "entropy-low"): -4.0})["F3b"]
    assert "5 of 6 below 2 points" in row.ours
    assert row.why.endswith("(c) entropy costs 5.0 points, not below 2")


# F3c (panel a) and F3d (panel c): layer 1, MI low better than random and MI high worse
@pytest.mark.parametrize("cid, panel", [("F3c", "a"), ("F3d", "c")])
@pytest.mark.parametrize("diffs, n, verdict", [
    ({}, N, "reproduced"),
    ({"mi-low": noisy(3.0)}, N, "partly"),
    ({"mi-low": -10.0, "mi-high": 10.0}, N, "not reproduced"),
    ({}, 5, "not testable"),
])
def test_f3c_f3d(cid, panel, diffs, n, verdict):
    diffs = {(panel, 0, o): x for o, x in diffs.items()}
    assert verdicts(n, diffs=diffs)[cid] == verdict


# F3e: panel (d), layer 1: entropy low worse than random, the five others like random
@pytest.mark.parametrize("diffs, n, verdict", [
    ({}, N, "reproduced"),
    ({"kl-low": 10.0}, N, "partly"),              # 4 of 5 others similar
    ({"entropy-low": 10.0, **{o: -10.0 for o in ch05.ORDERINGS if o != "entropy-low"}}, N,
     "not reproduced"),
    ({o: -10.0 for o in ch05.ORDERINGS if o != "entropy-low"}, 5, "not testable"),
])
def test_f3e(diffs, n, verdict):
    assert verdicts(n, diffs={("d", 0, o): x for o, x in diffs.items()})["F3e"] == verdict


# F3f: panel (b), layer 1: KL high worse than random, by less than half of panel (a)'s gap
# (20 points), and KL low like random
@pytest.mark.parametrize("diffs, verdict", [
    ({}, "reproduced"),
    ({("b", 0, "kl-high"): -15.0}, "partly"),     # not below half of (a)'s 20
    ({("b", 0, "kl-low"): 10.0}, "partly"),
    ({("b", 0, "kl-high"): 5.0, ("a", 0, "kl-high"): 10.0, ("b", 0, "kl-low"): 10.0},
     "not reproduced"),
])
def test_f3f(diffs, verdict):
    assert verdicts(diffs=diffs)["F3f"] == verdict


def test_f3f_says_why_the_cost_is_not_small_and_keeps_its_note_last():
    row = claims(diffs={("b", 0, "kl-high"): -15.0})["F3f"]
    assert [r.kind for r in row.reasons] == ["scale", "note", "note"]
    assert row.reasons[1].text == ("KL high costs 15.0 points more than random, not below "
                                   "half of panel (a)'s 20.0")
    assert row.reasons[2].text.startswith("read literally")


# F3g: every ordering of layer 2 like random in (a) and (c): 12 cases
@pytest.mark.parametrize("diffs, n, verdict", [
    ({}, N, "reproduced"),
    ({("c", 1, o): -10.0 for o in ("entropy-low", "mi-high", "kl-high")}, N, "partly"),
    ({(p, 1, o): -10.0 for p in "ac" for o in ch05.ORDERINGS}, N, "not reproduced"),
    ({(p, 1, o): -10.0 for p in "ac" for o in ch05.ORDERINGS}, 5, "not testable"),
])
def test_f3g(diffs, n, verdict):
    assert verdicts(n, diffs=diffs)["F3g"] == verdict


def test_f3g_reads_panels_a_and_c_only():
    assert verdicts(diffs={("d", 1, o): -10.0 for o in ch05.ORDERINGS})["F3g"] == "reproduced"


# C2: random ablation costs less in layer 2 than in layer 1, panel by panel (KS)
@pytest.mark.parametrize("random, n, verdict", [
    ({}, N, "reproduced"),
    ({("b", 0): 0.89, ("b", 1): 0.50}, N, "partly"),       # 3 of 4 panels
    ({k: v for p in ch05.PANELS for k, v in (((p, 0), 0.89), ((p, 1), 0.50))}, N,
     "not reproduced"),
    ({}, 3, "not testable"),
])
def test_c2(random, n, verdict):
    assert verdicts(n, random=random)["C2"] == verdict


# C3: the strong networks (ReLU + L2, panel (a)) separate better than the weak ones (b)-(d)
@pytest.mark.parametrize("diffs, verdict", [
    ({}, "reproduced"),
    ({("d", 0, o): x for o, x in separating(30.0, -30.0).items()}, "partly"),   # 4 of 6 pairs
    ({(p, 0, o): x for p in "bcd" for o, x in separating(30.0, -30.0).items()},
     "not reproduced"),
])
def test_c3(diffs, verdict):
    assert verdicts(diffs=diffs)["C3"] == verdict


def test_c3_names_the_pairs_that_fail():
    row = claims(diffs={("d", 0, o): x for o, x in separating(30.0, -30.0).items()})["C3"]
    assert "MNIST, ReLU, L2 (20.0) not above (d) panel d (60.0)" in row.why
    assert "(a) panel a (23.3) not above (d) panel d (60.0)" in row.why


def test_the_tables_read_the_same_panels():
    panels, strong = world()
    assert ch05.c3_pairs(panels, strong) == (6, 6)
    mg, p = ch05.gap_tables(panels)
    assert mg.loc[("a", 1), "mi-low"] == pytest.approx(10.0)
    assert ch05.spread_table(panels).loc["(a) panel a", "mean |MG@80|, layer 2"] == 0.0
    assert ch05.f3f_t_plus() == 4


def test_every_verdict_is_a_verdict_at_every_profile():
    for profile in ("ci", "quick", "paper"):
        rows = claims(profile=profile, diffs={("b", 0, "kl-low"): 10.0})
        assert {c.verdict for c in rows.values()} <= set(VERDICTS)
