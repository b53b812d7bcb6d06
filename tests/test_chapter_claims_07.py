"""Chapter 7's claims (:func:`nbutils.chapters.ch07.claims`) on tiny hand-made results.

The networks have the paper's widths ((a) 250-500-250-500, (b) and (c) 1000-750-500-250) and 6
seeds (the smallest two-sided Wilcoxon p is then 2/2^6 = 0.031 < 0.05), but their curves are
read on a sparse grid (every 10th k, plus the points the chapter reads) and are the same for
every seed. A curve starts at 50 % accuracy; chance is 10 %. :func:`results` builds a run in
which every claim is reproduced; each test changes what one claim reads.

Verdicts a claim cannot take by its rules are not tested: F1b, F5a and F5c-F5f combine a count
(always testable) with their other parts, so they are never *not testable*; S4 is *reproduced*
or *partly*.
"""
from __future__ import annotations

import numpy as np
import pytest

from nbutils.chapters import ch07
from nbutils.measures import MEASURES

SEEDS = 6
WIDTHS = {"a": (250, 500, 250, 500), "b": (1000, 750, 500, 250), "c": (1000, 750, 500, 250)}
# the hand-made runs have the paper profile and 6 seeds: a paper run below the paper's 35 seeds
SHARD_SCALE = ("paper profile with 6 of the paper's 35 seeds so far (seed shards; p cannot fall "
               "below 0.031)")
PROVISIONAL = "provisional (6 of the paper's 35 seeds, profile paper): "


def grid(w: int) -> list[int]:
    return sorted({*range(0, w + 1, 10), round(0.8 * w), round(0.05 * w),
                   *(p for p in ch07.POINTS if p <= w)})


def line(w, end=0.1):
    """Linear from 50 % at k = 0 to ``end`` at k = w."""
    return lambda k: 0.5 - (0.5 - end) * k / w


def concave(w):
    """50 % at k = 0, 10 % at k = w, above :func:`line` in between (24.4 % at 80 %)."""
    return lambda k: 0.5 - 0.4 * (k / w) ** 2


def falls_by(k0):
    """Chance (10 %) once ``k0`` neurons are ablated (the top neurons go first)."""
    return lambda k: np.maximum(0.1, 0.5 - 0.4 * k / k0)


def flat_until(k0, w):
    """50 % while at most ``k0`` neurons are ablated, then linear to 10 % at k = w."""
    return lambda k: np.where(k <= k0, 0.5, 0.5 - 0.4 * (k - k0) / (w - k0))


def layer(w, random=None, low=None, high=None, n=SEEDS, **orderings):
    """One layer's curves on :func:`grid`: ``random`` (default :func:`line`), every low-first
    ordering ``low`` and high-first ordering ``high`` (default: like random), each ordering
    given by name (``mi_low=...``) overriding those."""
    ks = np.asarray(grid(w), dtype=float)
    random = random or line(w)
    funcs = {o: orderings.get(o.replace("-", "_")) or (low if o.endswith("low") else high)
            or random for o in ch07.ORDERINGS}
    funcs["random"] = random
    return {o: np.tile(np.asarray(f(ks), dtype=float), (n, 1)) for o, f in funcs.items()}


def measures(w, zero, value, n=SEEDS):
    """The first ``zero`` neurons have zero entropy, MI and KL; the others ``value``."""
    arr = np.full((n, w), float(value))
    arr[:, :zero] = 0.0
    return {m: arr.copy() for m in MEASURES}


def activity(w, dead=0, always_on_d=0, n=SEEDS):
    """The first ``dead`` neurons never fire on the training data (nor on D); the first
    ``always_on_d`` (counted among the others when both are given) are always on on D."""
    out = {name: np.zeros((n, w), bool) for name in ("dead", "always_on", "dead_d",
                                                       "always_on_d")}
    out["dead"][:, :dead] = out["dead_d"][:, :dead] = True
    out["always_on_d"][:, :always_on_d] = True
    return out


def results(panels="abc") -> dict:
    """The parts of a run in which every claim is reproduced."""
    a, b, c = WIDTHS["a"], WIDTHS["b"], WIDTHS["c"]
    curves = {
        # layer 1 of (a), (b): random (concave) beats the straight ordered curves, except
        # entropy low first, which keeps more (F5a); (c): random beats every ordering (F5b)
        **{(key, 0): layer(WIDTHS[key][0], random=concave(WIDTHS[key][0]),
                           entropy_low=line(WIDTHS[key][0], end=0.3) if key != "c" else None,
                           low=line(WIDTHS[key][0]), high=line(WIDTHS[key][0]))
           for key in "abc"},
        # (a) layer 2: the top neurons hurt at once, chance after 25 (F5c)
        ("a", 1): layer(a[1], high=falls_by(25)),
        # (b) layer 2: chance after the top 200, and ablating ranks 500-600 gains 5 points
        ("b", 1): layer(b[1], high=lambda k: falls_by(200)(k) + 0.05 * (k >= 600)),
        ("c", 1): layer(c[1]),
        # (a) layer 3: the 70 top neurons disable the net, the other 180 cost nothing (F5e)
        ("a", 2): layer(a[2], high=falls_by(70), low=flat_until(180, a[2])),
        ("b", 2): layer(b[2]),
        # (c) layer 3: 140 to strip the net, 50 suffice (F5g)
        ("c", 2): layer(c[2], high=falls_by(150), low=flat_until(450, c[2])),
        # layer 4: (a) 220 to strip, 100 suffice; (b) 70 and 30 (F5f)
        ("a", 3): layer(a[3], high=falls_by(250), low=flat_until(400, a[3])),
        ("b", 3): layer(b[3], high=falls_by(70), low=flat_until(220, b[3])),
        ("c", 3): layer(c[3]),
    }
    meas = {key: [measures(w, 0, 0.01) for w in WIDTHS[key]] for key in "abc"}
    # (a): medians grow from layer 2 to 4, 40 % of layers 2-4 inactive (F1b)
    meas["a"][1:] = [measures(w, int(0.4 * w), v) for w, v in zip(a[1:], (0.01, 0.015, 0.02))]
    meas["b"][1] = measures(b[1], 450, 0.01)          # (b) layer 2: 60 % zero entropy (F5d)
    act = {key: [activity(w) for w in WIDTHS[key]] for key in "abc"}
    act["a"][0] = activity(a[0], dead=225)             # layer 1: 25 active (a), 100 (b)
    act["b"][0] = activity(b[0], dead=900)
    act["a"][1] = activity(a[1], dead=250)             # F5c: 250 active
    act["a"][2] = activity(a[2], dead=180)             # F5e: 70 active
    act["b"][1] = activity(b[1], always_on_d=450)      # F5d: the zero-entropy ones always on
    act["c"][3] = activity(c[3], dead=225)             # F5g: 25 active
    grids = {(key, l): grid(w) for key in "abc" for l, w in enumerate(WIDTHS[key])}
    keep = {key for key in panels}
    return {"curves": {k: v for k, v in curves.items() if k[0] in keep},
            "grids": {k: v for k, v in grids.items() if k[0] in keep},
            "measures": {k: v for k, v in meas.items() if k in keep},
            "activity": {k: v for k, v in act.items() if k in keep}}


def judge(parts: dict, seeds: int = SEEDS, profile: str = "paper") -> dict:
    r = ch07.Results(**parts)
    return {c.id: c for c in ch07.claims(r, profile, [seeds] * len(r.panels))}


def test_every_claim_is_reproduced_on_the_hand_made_run():
    claims = judge(results(), seeds=35)
    assert list(claims) == ["F1b", "F5a", "F5b", "F5c", "F5d", "F5e", "F5f", "F5g",
                            "S4 (CIFAR-10)"]
    assert {c.verdict for c in claims.values()} == {"reproduced"}
    assert all(c.why == "" for c in claims.values())
    assert claims["F5f"].ours == (
        "(a) entropy strip 220 (paper 250); (a) entropy suffice 100 (paper 100); (a) mi strip "
        "220 (paper 250); (a) mi suffice 100 (paper 100); (a) kl strip 220 (paper 250); (a) kl "
        "suffice 100 (paper 100); (b) entropy strip 70 (paper 70); (b) entropy suffice 30 "
        "(paper 30); (b) mi strip 70 (paper 70); (b) mi suffice 30 (paper 30); (b) kl strip 70 "
        "(paper 70); (b) kl suffice 30 (paper 30)")
    assert claims["F5e"].ours == ("70 active (not dead) neurons of 250; accuracy after ablating "
                                  "the top 70: entropy 10.0 %, mi 10.0 %, kl 10.0 %; loss after "
                                  "ablating the other 180: entropy 0.0 points, mi 0.0 points, "
                                  "kl 0.0 points")


def test_the_tables_and_the_prose_read_the_same_results():
    r = ch07.Results(**results())
    counts = ch07.count_table(r, {})
    assert counts.loc[("a", 4), "strip, Entropy"] == "220"
    assert counts.loc[("b", 4), "suffice, Mutual information"] == "30"
    assert ch07.linearity(r).loc["a", "mi-low"] == pytest.approx(1.0)
    assert list(ch07.window_table(r, {}).index.get_level_values(0).unique()) == ["b", "c"]
    assert ch07.layer1_text(r) == {
        "ch7_l1_active": "25 of 250 in (a), 100 of 1000 in (b), 1000 of 1000 in (c)",
        "ch7_l1_rest": "36.8 points in (a), 36.0 points in (b), 0.0 points in (c)",
        "ch7_l1_top": "46.8 % in (a), 46.0 % in (b), 10.0 % in (c)"}
    table = ch07.layer_table(r.measures, r.activity, {})
    assert table.loc[("a", 2), "dead (%)"] == 50.0


def test_s4_and_the_status_say_how_far_the_run_goes():
    claims = judge(results())
    assert claims["S4 (CIFAR-10)"].verdict == "partly"
    assert claims["S4 (CIFAR-10)"].why == "profile 'paper': fewer seeds than the paper's 35"
    claims = judge(results("ab"), seeds=35)
    assert claims["S4 (CIFAR-10)"].verdict == "partly"
    assert claims["S4 (CIFAR-10)"].why == ch07.C_MISSING
    assert ch07.status("paper", [35, 35], "in [0, 1]", "a GPU", has_c=False) == (
        "These results are at the paper's scale: 35 seeds per network, inputs in [0, 1], "
        "trained on a GPU. Network (c), the Funnel network with Dropout, is not in this run; "
        "its claims (F5b, F5g) are not testable here.")
    assert "no comparison of curves can be significant" in ch07.status(
        "quick", [2, 2, 2], "in [0, 1]", "a CPU", has_c=True)


def test_each_row_has_the_scale_of_the_networks_it_reads():
    # network (c) with 6 of its 35 seeds (its first seed shards), (a) and (b) with 35
    parts = results()
    for key in "ab":
        parts["curves"].update({(k, l): {o: np.repeat(v[:1], 35, axis=0) for o, v in c.items()}
                                for (k, l), c in parts["curves"].items() if k == key})
        parts["measures"][key] = [{m: np.repeat(v[:1], 35, axis=0) for m, v in layer.items()}
                                  for layer in parts["measures"][key]]
        parts["activity"][key] = [{m: np.repeat(v[:1], 35, axis=0) for m, v in layer.items()}
                                  for layer in parts["activity"][key]]
    r = ch07.Results(**parts)
    rows = {c.id: c for c in ch07.claims(r, "paper", [35, 35, 6])}
    for claim in ("F1b", "F5a", "F5c", "F5d", "F5e", "F5f"):
        assert rows[claim].provisional is False and not rows[claim].ours.startswith("provis")
    for claim in ("F5b", "F5g", "S4 (CIFAR-10)"):
        assert rows[claim].provisional is True
    assert rows["F5g"].ours.startswith(PROVISIONAL)
    assert rows["S4 (CIFAR-10)"].ours == ("seeds per network: 35 (a), 35 (b), 6 (c), 3 of the 3 "
                                          "networks")
    assert rows["S4 (CIFAR-10)"].verdict == "partly"
    # all at 35: nothing provisional, the paper's scale note
    rows = {c.id: c for c in ch07.claims(r, "paper", [35, 35, 35])}
    assert not any(c.provisional for c in rows.values())
    assert ch07.status("paper", [35, 35, 6], "in [0, 1]", {"a": "a GPU", "b": "a GPU",
                                                           "c": "a CPU"}, has_c=True) == (
        "Partly provisional: networks (a) and (b) have the paper's 35 seeds; network (c), the "
        "Funnel network with Dropout, has 6 of them so far (its seeds are trained in shards, a "
        "few at a time). Inputs in [0, 1]; (a) and (b) trained on a GPU, (c) on a CPU. The "
        "claims table marks the rows that read network (c) (F5b, F5g and S4) provisional; "
        "comparisons of its curves can reach p = 0.031 at best.")
    assert ch07.trained_on({"a": "X", "b": "X"}) == ch07.trained_on("X") == "trained on X"


def test_each_row_names_the_networks_it_reads_and_is_judged_at_their_seeds():
    # the second input reading's first seed shards: (a) at the paper's 35 seeds, (b) at 6, no (c)
    parts = results("ab")
    parts["curves"].update({(k, l): {o: np.repeat(v[:1], 35, axis=0) for o, v in c.items()}
                            for (k, l), c in parts["curves"].items() if k == "a"})
    for part in ("measures", "activity"):
        parts[part]["a"] = [{m: np.repeat(v[:1], 35, axis=0) for m, v in layer.items()}
                            for layer in parts[part]["a"]]
    rows = {c.id: c for c in ch07.claims(ch07.Results(**parts), "paper", [35, 6])}
    a, b = ch07.PANEL_CONFIGS["a"], ch07.PANEL_CONFIGS["b"]
    assert {i: c.networks for i, c in rows.items()} == {
        "F1b": (a,), "F5a": (a, b), "F5b": (ch07.PANEL_CONFIGS["c"],), "F5c": (a,),
        "F5d": (b,), "F5e": (a,), "F5f": (a, b), "F5g": (ch07.PANEL_CONFIGS["c"],),
        "S4 (CIFAR-10)": (a, b)}
    for claim in ("F1b", "F5c", "F5e"):          # network (a) alone: the paper's scale
        assert rows[claim].provisional is False and not rows[claim].ours.startswith("provis")
        assert "seeds so far" not in rows[claim].why
    for claim in ("F5a", "F5d", "F5f", "S4 (CIFAR-10)"):   # they read network (b) too
        assert rows[claim].provisional is True
    for claim in ("F5a", "F5d", "F5f"):
        assert rows[claim].ours.startswith(PROVISIONAL)
    assert ch07.status("paper", [35, 6], "standardized per channel", "a CPU", has_c=False) == (
        "Partly provisional: network (a) has the paper's 35 seeds; network (b), the Funnel "
        "network with L2, has 6 of them so far (its seeds are trained in shards, a few at a "
        "time). Inputs standardized per channel; trained on a CPU. The claims table marks the "
        "rows that read network (b) (F5a, F5d, F5f and S4) provisional; comparisons of its "
        "curves can reach p = 0.031 at best. Network (c), the Funnel network with Dropout, is "
        "not in this run; its claims (F5b, F5g) are not testable here.")
    assert "networks (b) and (c) (F5a, F5b, F5d, F5f, F5g and S4)" in ch07.status(
        "paper", [35, 6, 10], "in [0, 1]", "a CPU", has_c=True)


def test_a_quick_run_states_the_smallest_p_in_its_scale_note():
    parts = results()
    # (c) layer 1 with 5 seeds: F5b's gaps are not testable, which fewer seeds explain
    parts["curves"]["c", 0] = {o: v[:5] for o, v in parts["curves"]["c", 0].items()}
    claims = judge(parts, profile="quick")
    assert claims["F5b"].verdict == "not testable"
    assert claims["F5b"].ours.startswith("provisional (6 of the paper's 35 seeds, profile quick)")
    assert claims["F5b"].reasons[0].kind == "scale"
    assert claims["F5b"].why.startswith(
        "quick profile: 6 seeds instead of 35 (less power) (p cannot fall below 0.031); "
        "(c) entropy-low: MG@800 = -6.4, p = 0.062")


# --------------------------------------------------------------------- F1b

def test_f1b_partly_when_one_measure_does_not_increase():
    parts = results()
    parts["measures"]["a"][3]["mi"][:, 200:] = 0.005
    claim = judge(parts)["F1b"]
    assert claim.verdict == "partly"
    assert claim.why == f"{SHARD_SCALE}; Mutual information does not increase"


def test_f1b_not_reproduced_without_increase_and_with_few_inactive_neurons():
    parts = results()
    parts["measures"]["a"][1:] = [measures(w, int(0.1 * w), v)
                                  for w, v in zip(WIDTHS["a"][1:], (0.02, 0.015, 0.01))]
    claim = judge(parts)["F1b"]
    assert claim.verdict == "not reproduced"
    assert claim.why.endswith("only 10 % inactive")


# --------------------------------------------------------------------- F5a, F5b: layer 1

def test_f5a_partly_when_one_curve_is_not_almost_linear():
    parts = results()
    parts["curves"]["a", 0]["mi-high"] = layer(250, high=falls_by(10))["mi-high"]
    claim = judge(parts)["F5a"]
    assert claim.verdict == "partly"
    assert "(a) mi-high not almost linear (R² 0." in claim.why
    # the note names the networks the row reads whose layer 1 is mostly dead: (a) and (b)
    assert claim.why.endswith("layer 1 has only 25 (a), 100 (b) active neurons, so "
                              "the ordered curves are steps (see \"Layer 1 in this run\")")
    parts["activity"]["b"][0] = activity(1000, dead=0)
    assert judge(parts)["F5a"].why.endswith("layer 1 has only 25 (a) active neurons, so the "
                                            "ordered curves are steps (see \"Layer 1 in this "
                                            "run\")")
    parts["activity"]["a"][0] = activity(250, dead=0)
    assert "ordered curves are steps" not in judge(parts)["F5a"].why


def test_f5a_not_reproduced_when_low_first_wins_entropy_is_reversed_and_nothing_is_linear():
    parts = results()
    for key in "ab":
        w = WIDTHS[key][0]
        parts["curves"][key, 0] = layer(w, random=concave(w), low=flat_until(0.9 * w, w),
                                        high=flat_until(0.9 * w, w), entropy_low=falls_by(10))
    claim = judge(parts)["F5a"]
    assert claim.verdict == "not reproduced"
    # the gaps say what we checked: layer 1 is mostly dead, dead neurons go first
    assert "layer 1 of (a) is 90 % dead (the table of measures)" in claim.why


def test_f5b_partly_when_one_ordering_beats_random():
    parts = results()
    parts["curves"]["c", 0]["entropy-low"] = layer(1000, random=line(1000, end=0.3))["random"]
    claim = judge(parts)["F5b"]
    assert claim.verdict == "partly"
    assert "(c) entropy-low: MG@800 = 9.6" in claim.why
    # most of layer 1 dead: the low-first case is explained by them; none dead: it is not
    parts["activity"]["c"][0] = activity(1000, dead=0)
    assert "dead neurons go first" not in judge(parts)["F5b"].why
    assert "ordered curves are steps" not in judge(parts)["F5b"].why
    parts["activity"]["c"][0] = activity(1000, dead=975)
    claim = judge(parts)["F5b"]
    assert claim.why.endswith("layer 1 has only 25 (c) active neurons, so the ordered curves "
                              "are steps (see \"Layer 1 in this run\")")
    assert ("(c) entropy-low: MG@800 = 9.6, p = 0.031 (exact; normal approximation 0.014) "
            "(layer 1 of (c) is 98 % dead (the table of measures): ordered low first, the dead "
            "neurons go first and cost nothing)") in claim.why


def test_f5b_not_reproduced_when_every_ordering_beats_random():
    parts = results()
    parts["curves"]["c", 0] = layer(1000, random=line(1000), low=concave(1000),
                                    high=concave(1000))
    assert judge(parts)["F5b"].verdict == "not reproduced"


def test_network_c_missing_leaves_f5b_and_f5g_not_testable():
    claims = judge(results("ab"))
    for claim in ("F5b", "F5g"):
        assert claims[claim].verdict == "not testable"
        assert claims[claim].ours == claims[claim].why == ch07.C_MISSING


def test_f5b_not_testable_with_5_seeds():
    parts = results()
    parts["curves"]["c", 0] = {o: v[:5] for o, v in parts["curves"]["c", 0].items()}
    assert judge(parts)["F5b"].verdict == "not testable"


# --------------------------------------------------------------------- F5c-F5e: counts

def test_f5c_partly_with_137_active_neurons():
    parts = results()
    parts["activity"]["a"][1] = activity(500, dead=363)
    claim = judge(parts)["F5c"]
    assert claim.verdict == "partly"
    assert claim.why.endswith("137 active neurons, not about 250")


def test_f5c_not_reproduced_with_50_active_neurons_and_no_early_loss():
    parts = results()
    parts["activity"]["a"][1] = activity(500, dead=450)
    parts["curves"]["a", 1] = layer(500)
    assert judge(parts)["F5c"].verdict == "not reproduced"


def test_f5d_partly_when_the_zero_entropy_neurons_are_dead():
    parts = results()
    parts["activity"]["b"][1] = activity(750, dead=450)
    claim = judge(parts)["F5d"]
    assert claim.verdict == "partly"
    assert claim.why.endswith("only 0 % of the zero-entropy neurons are always on; the others "
                              "never fire (dead), where the paper's are active all the time")


def test_f5d_not_reproduced_when_nothing_holds():
    parts = results()
    parts["activity"]["b"][1] = activity(750, dead=75)
    parts["measures"]["b"][1] = measures(750, 75, 0.01)
    parts["curves"]["b", 1] = layer(750)
    claim = judge(parts)["F5d"]
    assert claim.verdict == "not reproduced"
    assert "(b) mi high, k 500 to 600: MG@600 = -5.3" in claim.why
    assert "zero entropy in 10 %, not more than half" in claim.why


def test_f5e_partly_with_151_active_neurons():
    parts = results()
    parts["activity"]["a"][2] = activity(250, dead=99)
    claim = judge(parts)["F5e"]
    assert claim.verdict == "partly"
    assert claim.ours.startswith(PROVISIONAL + "151 active (not dead) neurons of 250; accuracy "
                                 "after ablating the top 150")


def test_f5e_not_reproduced_with_10_active_neurons_that_do_not_disable_the_net():
    parts = results()
    parts["activity"]["a"][2] = activity(250, dead=240)
    claim = judge(parts)["F5e"]
    assert claim.verdict == "not reproduced"
    assert "mi: 44.3 % after the top 10, not near chance" in claim.why
    assert "mi: the others cost 34.3 points" in claim.why


# --------------------------------------------------------------------- F5f, F5g: counts

def test_f5f_partly_when_60_suffice_instead_of_30():
    parts = results()
    parts["curves"]["b", 3]["mi-low"] = layer(250, low=flat_until(190, 250))["mi-low"]
    claim = judge(parts)["F5f"]
    assert claim.verdict == "partly"
    assert claim.why.endswith("(b) mi suffice: 60 against the paper's about 30")


def test_f5f_not_reproduced_when_no_count_is_near_the_paper():
    parts = results()
    for key in "ab":
        w = WIDTHS[key][3]
        parts["curves"][key, 3] = layer(w, low=line(w, end=0.1), high=lambda k: 0.5 + 0 * k)
    claim = judge(parts)["F5f"]
    assert claim.verdict == "not reproduced"
    assert "(a) entropy strip never (paper 250)" in claim.ours
    assert "(a) entropy strip: never reached against the paper's about 250" in claim.why


def test_f5g_partly_with_100_active_neurons_in_layer_4():
    parts = results()
    parts["activity"]["c"][3] = activity(250, dead=150)
    claim = judge(parts)["F5g"]
    assert claim.verdict == "partly"
    assert claim.why.endswith("layer 4: 100 active neurons, not about 25")


def test_f5g_not_reproduced_when_neither_count_fits():
    parts = results()
    parts["activity"]["c"][3] = activity(250, dead=0)
    parts["curves"]["c", 2] = layer(500, low=line(500), high=lambda k: 0.5 + 0 * k)
    assert judge(parts)["F5g"].verdict == "not reproduced"
