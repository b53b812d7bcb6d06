"""Chapter 4's claims (F2a-F2d, C1) on small hand-made results: each claim's verdicts.

Every network has 100 + 100 hidden neurons and 8 seeds (5 where a case is not testable: the
exact Wilcoxon test on 5 seeds cannot give p < 0.05). Random ablation keeps 50 % accuracy at
every k (plus 0.1 point per seed); an ordering adds the same difference to every seed from
k = 1 on, so its MG@k is that difference and its Wilcoxon p the floor, 2 / 2^8 = 0.0078, with
8 seeds; a ``noisy`` difference alternates ±5 points around it (not significant).
"""
from __future__ import annotations

import numpy as np
import pytest

from nbutils.chapters import ch04
from nbutils.verdicts import VERDICTS

N = 8
WIDTHS = (100, 100)
NOISE = np.array([5.1, -5.1, 5.2, -5.2, 5.3, -5.3, 5.4, -5.4])   # mean 0, mixed signs


def noisy(mg: float, n: int = N) -> np.ndarray:
    """Per-seed differences (points) of mean ``mg`` whose Wilcoxon p is far above 0.05."""
    return mg + NOISE[:n]


def curve(n: int, width: int, diff=0.0, base: float = 0.5) -> np.ndarray:
    """``(n, width)`` accuracies: 0.9 at k = 0, ``base`` from k = 1 on, plus 0.1 point per seed;
    ``diff`` (points, a number or one per seed) added from k = 1 on."""
    c = np.full((n, width), base) + 0.001 * np.arange(n)[:, None]
    c[:, 0] = 0.9 + 0.001 * np.arange(n)
    c[:, 1:] += np.broadcast_to(np.asarray(diff, dtype=float), (n,))[:, None] / 100
    return c


def layer_of(n: int, share: float) -> np.ndarray:
    """``(n, 200)``: the first ``share`` % of the first 100 neurons ablated from layer 1."""
    s = int(round(share))
    row = np.r_[np.zeros(s), np.ones(100), np.zeros(100 - s)].astype(int)
    return np.tile(row, (n, 1))


# the paper's picture: (a), (b) like random, (c)-(f) worse, (d) KL like random at k = 125,
# 95 % of the first 100 MI-low neurons from layer 1, within layer 1 of (c) MI low better
DIFFS = {(p, o): (0.0 if p in "ab" or o == "kl-low" else -10.0)
         for p in ch04.PANELS for o in ch04.LOW}


def world(n: int = N, diffs=None, shares=None, within: float | np.ndarray = 10.0):
    diffs = {**DIFFS, **(diffs or {})}
    shares = {p: 95.0 for p in ch04.PANELS} | (shares or {})
    nets = {}
    for p in ch04.PANELS:
        curves = {o: curve(n, 201, diffs[p, o]) for o in ch04.LOW}
        curves["random"] = curve(n, 201)
        nets[p] = ch04.Network(f"({p})", curves,
                               {o: layer_of(n, shares[p]) for o in curves}, WIDTHS)
    layer1 = {"c": {"mi-low": curve(n, 101, within), "random": curve(n, 101)}}
    return nets, layer1


def verdicts(n: int = N, profile: str = "paper", **changes) -> dict[str, str]:
    nets, layer1 = world(n, **changes)
    return {c.id: c.verdict for c in ch04.claims(nets, layer1, profile, [n] * 6)}


def claim(cid: str, n: int = N, profile: str = "paper", **changes):
    nets, layer1 = world(n, **changes)
    return next(c for c in ch04.claims(nets, layer1, profile, [n] * 6) if c.id == cid)


def test_the_papers_picture_reproduces_every_claim_without_reasons():
    nets, layer1 = world()
    rows = ch04.claims(nets, layer1, "paper", [N] * 6)
    assert [c.id for c in rows] == ["F2a", "F2b", "F2c", "F2d", "C1"]
    assert {c.verdict for c in rows} == {"reproduced"}
    assert all(c.why == "" for c in rows)
    f2b = rows[1]
    assert f2b.ours.startswith("(c) entropy: MG@101 = -10.0, p = 7.81e-3")
    assert "worse than random in 8 of 8 (panel, measure) cases" in f2b.ours
    assert "(a) 95 %" in rows[3].ours


def test_an_extra_network_is_shown_but_not_judged():
    nets, layer1 = world()
    extra = ch04.Network("(extra)", {o: curve(N, 201, 30.0) for o in ch04.LOW}
                                | {"random": curve(N, 201)}, nets["a"].layer_of, WIDTHS)
    rows = ch04.claims({**nets, "extra": extra}, layer1, "paper", [N] * 7)
    assert {c.verdict for c in rows} == {"reproduced"}


# F2a: similar to random in (a) and (b), entropy and MI: four cases, one statement
@pytest.mark.parametrize("diffs, n, verdict", [
    ({}, N, "reproduced"),
    ({("a", "mi-low"): noisy(4.0)}, N, "reproduced"),            # |MG| >= 2 but p > 0.05
    ({("b", "mi-low"): -10.0}, N, "partly"),                       # 3 of 4 cases similar
    ({("a", "entropy-low"): -10.0, ("a", "mi-low"): -10.0,
      ("b", "entropy-low"): 10.0, ("b", "mi-low"): 10.0}, N, "not reproduced"),
    ({(p, o): -10.0 for p in "ab" for o in ch04.ENT_MI}, 5, "not testable"),
])
def test_f2a(diffs, n, verdict):
    assert verdicts(n, diffs=diffs)["F2a"] == verdict


def test_f2a_names_the_layer_mechanism_for_a_gap_below_random():
    row = claim("F2a", diffs={("a", "mi-low"): -10.0}, shares={"a": 84.0})
    assert row.verdict == "partly"
    assert row.reasons[0].kind == "scale"
    assert row.reasons[1].kind == "significant"
    assert row.reasons[1].text.startswith("(a) mi: MG@101 = -10.0, p = 7.81e-3 (exact;")
    assert "our ranking takes 84 % of its first 100 neurons from layer 1" in row.reasons[1].cause


# F2b: worse than random in (c)-(f), entropy and MI: eight cases
@pytest.mark.parametrize("diffs, n, verdict", [
    ({}, N, "reproduced"),
    ({("c", "entropy-low"): noisy(-3.0)}, N, "partly"),            # right sign, p > 0.05
    ({(p, o): 10.0 for p in "cdef" for o in ch04.ENT_MI}, N, "not reproduced"),
    ({}, 5, "not testable"),
])
def test_f2b(diffs, n, verdict):
    assert verdicts(n, diffs=diffs)["F2b"] == verdict


# F2c: KL low first similar to random at k = 125 in (d)
@pytest.mark.parametrize("diff, n, verdict", [
    (0.0, N, "reproduced"),
    (1.5, N, "reproduced"),                                        # a small gap, significant
    (10.0, N, "not reproduced"),
    (10.0, 5, "not testable"),
])
def test_f2c(diff, n, verdict):
    assert verdicts(n, diffs={("d", "kl-low"): diff})["F2c"] == verdict


def test_f2c_reads_panel_d_not_c():
    assert verdicts(diffs={("c", "kl-low"): 10.0})["F2c"] == "reproduced"


# F2d: mostly layer 1 (six panels) and almost only layer 1 in (c)
@pytest.mark.parametrize("shares, verdict", [
    ({}, "reproduced"),
    ({"c": 80.0}, "partly"),                                       # most, not almost only
    ({"a": 40.0}, "partly"),                                       # 5 of 6 panels most
    ({p: 40.0 for p in ch04.PANELS}, "not reproduced"),
])
def test_f2d(shares, verdict):
    assert verdicts(shares=shares)["F2d"] == verdict


def test_f2d_says_which_share_fails():
    row = claim("F2d", shares={"c": 80.0})
    assert "(c) 80 % from layer 1 is not almost only (>= 90 %)" in row.why


# C1: network-wide worse, mostly layer 1, within layer 1 better, in (c)
@pytest.mark.parametrize("changes, n, verdict", [
    ({}, N, "reproduced"),
    ({"within": -10.0}, N, "partly"),
    ({"shares": {"c": 40.0}}, N, "partly"),
    ({"diffs": {("c", "mi-low"): 10.0}, "shares": {"c": 40.0}, "within": -10.0}, N,
     "not reproduced"),
    ({}, 5, "partly"),              # neither gap testable: only "mostly layer 1" decides
])
def test_c1(changes, n, verdict):
    assert verdicts(n, **changes)["C1"] == verdict


def test_every_verdict_is_a_verdict_at_every_profile():
    for profile in ("ci", "quick", "paper"):
        assert set(verdicts(profile=profile, diffs={("b", "mi-low"): 10.0}).values()) \
            <= set(VERDICTS)


# F2c's control (beyond the paper's protocol): KL low against the dead-matched baseline of (d)
def control(n: int, diff, dead: float = 12.0) -> dict:
    """Panel (d)'s dead-matched baseline: random ablation's curve with ``diff`` points added;
    ``dead`` dead neurons per network."""
    return {"d": {"dead_matched": curve(n, 201, diff), "dead": np.full(n, dead)}}


@pytest.mark.parametrize("kl, baseline, n, verdict", [
    (10.0, 10.0, N, "reproduced"),        # KL low only as good as ablating the dead first
    (10.0, 0.0, N, "not reproduced"),     # better even than the dead-matched baseline
    (10.0, 0.0, 5, "not testable"),
])
def test_f2c_control_judges_kl_low_against_the_dead_matched_baseline(kl, baseline, n, verdict):
    nets, layer1 = world(n, diffs={("d", "kl-low"): kl})
    rows = ch04.claims(nets, layer1, "paper", [n] * 6, control(n, baseline))
    assert [c.id for c in rows] == ["F2a", "F2b", "F2c", "F2c (dead-matched)", "F2d", "C1"]
    row = rows[3]
    assert row.verdict == verdict
    assert row.paper.startswith("beyond the paper's protocol")
    assert "12.0 of 200 neurons dead per network (mean)" in row.ours
    assert row.ours.startswith(f"(d) kl vs dead-matched random: MG@125 = {kl - baseline:.1f}")
    # F2c's own verdict does not change; its reason names the control only when it explains
    assert rows[2].verdict == ("not reproduced" if n == N else "not testable")
    explained = "row F2c (dead-matched)" in rows[2].why
    assert explained == (verdict == "reproduced")


def test_without_the_control_there_is_no_control_row():
    nets, layer1 = world()
    assert "F2c (dead-matched)" not in [c.id for c in ch04.claims(nets, layer1, "paper",
                                                                   [N] * 6, {})]


def test_dead_matched_table_reads_both_baselines():
    nets, _ = world(diffs={("d", "kl-low"): 10.0, ("a", "mi-low"): -4.0})
    controls = {**control(N, 7.0), "a": {"dead_matched": curve(N, 201, 1.0),
                                         "dead": np.full(N, 3.0)}}
    table = ch04.dead_matched_table(nets, controls)
    assert list(table.index) == [("(a)", "Entropy low, k = 101"),
                                 ("(a)", "Mutual information low, k = 101"),
                                 ("(d)", "KL selectivity low, k = 125")]
    row = table.loc[("(d)", "KL selectivity low, k = 125")]
    assert row["dead neurons (mean)"] == 12.0 and row["of"] == 200
    assert row["vs random: MG"] == 10.0
    assert row["vs dead-matched: MG"] == 3.0
    row = table.loc[("(a)", "Mutual information low, k = 101")]
    assert row["vs random: MG"] == -4.0 and row["vs dead-matched: MG"] == -5.0


# F2a's control (beyond the paper's protocol): entropy and MI low of (a) and (b) against their
# dead-matched baselines
def f2a_controls(n: int, diff_a, diff_b) -> dict:
    return {p: {"dead_matched": curve(n, 201, d), "dead": np.full(n, dead)}
            for p, d, dead in (("a", diff_a, 8.0), ("b", diff_b, 49.0))}


@pytest.mark.parametrize("baseline_b, verdict, named", [
    (10.0, "reproduced", True),         # (b) only as good as ablating its dead neurons first
    (0.0, "not reproduced", False),     # (b) better even than its dead-matched baseline: 2 of 4
])
def test_f2a_control_judges_each_case_and_names_itself_where_that_case_is_reproduced(
        baseline_b, verdict, named):
    # (b): entropy and MI low 10 points better than random; (a): like random, as its baseline
    nets, layer1 = world(diffs={("b", "entropy-low"): 10.0, ("b", "mi-low"): 10.0})
    rows = {c.id: c for c in ch04.claims(nets, layer1, "paper", [N] * 6,
                                          f2a_controls(N, 0.0, baseline_b))}
    assert list(rows)[:2] == ["F2a", "F2a (dead-matched)"]
    ctrl = rows["F2a (dead-matched)"]
    assert ctrl.verdict == verdict     # (a)'s two cases hold; (b)'s two as well, or neither
    assert ctrl.paper.startswith("beyond the paper's protocol")
    assert ctrl.ours.startswith("(a) entropy vs dead-matched random: MG@101 = 0.0")
    assert ctrl.ours.endswith("dead neurons per network (mean): (a) 8.0 of 200, (b) 49.0 of 200")
    f2a = rows["F2a"]
    assert f2a.verdict == "not reproduced"     # (b)'s two cases of four fail, whatever the control
    assert (("our networks (b) have 49.0 dead neurons of 200 on average (never active on the "
             "training data), which entropy low ablates first at no cost") in f2a.why) == named
    assert ("(row F2a (dead-matched))" in f2a.why) == named
    assert "F2c (dead-matched)" not in rows     # panel (d)'s control not given


def test_f2a_control_needs_both_panels():
    nets, layer1 = world()
    only_a = {"a": f2a_controls(N, 0.0, 0.0)["a"]}
    assert "F2a (dead-matched)" not in [c.id for c in ch04.claims(nets, layer1, "paper",
                                                                   [N] * 6, only_a)]


def test_the_controls_are_requested_for_their_panels_only():
    wanted = {c: [r.label for r in ch04.requests(c)] for c in ch04.CONFIGS}
    with_control = [c for c, names in wanted.items() if any("dead-matched" in n for n in names)]
    assert with_control == [ch04.CONFIGS[ch04.PANELS.index(p)] for p in "abd"]
