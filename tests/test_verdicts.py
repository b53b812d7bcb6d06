"""Every
verdict rule gives the verdict a reader works out by hand, including at its thresholds; the
book's page of rules quotes the thresholds the code uses."""
import math
import re
from pathlib import Path

import numpy as np

from nbutils import verdicts
from nbutils.stats import Gap, format_p, ks_floor, signed_rank_normal_p, wilcoxon_floor
from nbutils.verdicts import (
    AGREE_TOL,
    ALMOST_ONLY_SHARE,
    ALPHA,
    CHANCE_MARGIN,
    LARGE_DROP,
    MOST_SHARE,
    SMALL_COST_RATIO,
    SMALL_GAP,
    ZERO_TOL,
    agree,
    cases_verdict,
    combine,
    costs_nothing,
    count_verdict,
    direction_verdict,
    is_almost_only,
    is_chance,
    is_large_drop,
    is_most,
    is_small_cost,
    is_small_gap,
    is_zero,
    similar_verdict,
    verdict_from,
)

ROOT = Path(__file__).resolve().parent.parent
RULES_PAGE = ROOT / "book" / "verdicts.md"



def gap(mg, p, n=8):
    return Gap(k=80, mg=mg, p=p, n=n, test="wilcoxon")


# ------------------------------------------------------------------------- claims tables

def test_the_thresholds():
    assert ALPHA == 0.05
    assert SMALL_GAP == 2.0                  # chapters 2, 4 and 5 alike
    assert (MOST_SHARE, ALMOST_ONLY_SHARE) == (50.0, 90.0)
    assert SMALL_COST_RATIO == 0.5
    assert (LARGE_DROP, CHANCE_MARGIN) == (30.0, 5.0)
    assert (ZERO_TOL, AGREE_TOL) == (1e-12, 1e-9)


# ------------------------------------------------------------------------- gaps

def test_direction_verdict():
    assert direction_verdict(gap(-7.3, 0.03), -1) == "reproduced"
    assert direction_verdict(gap(21.9, 7.55e-10), +1) == "reproduced"
    assert direction_verdict(gap(-7.3, 0.2), -1) == "partly"          # sign, not significant
    assert direction_verdict(gap(7.3, 0.03), -1) == "not reproduced"  # the other sign
    assert direction_verdict(gap(-7.3, 0.03), +1) == "not reproduced"
    assert direction_verdict(gap(0.0, 1.0), -1) == "not reproduced"   # no gap has no sign
    # the boundary: significant means p < 0.05
    assert direction_verdict(gap(-7.3, 0.0499), -1) == "reproduced"
    assert direction_verdict(gap(-7.3, 0.05), -1) == "partly"
    # 3 seeds cannot reach p < 0.05: the comparison is not testable, whatever its sign
    assert direction_verdict(gap(-7.3, wilcoxon_floor(3), n=3), -1) == "not testable"
    assert direction_verdict(gap(7.3, wilcoxon_floor(3), n=3), -1) == "not testable"


def test_a_comparison_the_seeds_cannot_make_significant_is_not_testable():
    from nbutils.verdicts import is_testable, p_floor

    # the exact Wilcoxon floor: 2 seeds 0.5, 5 seeds 0.0625 (not below 0.05), 6 seeds 0.031
    assert [is_testable(gap(-7.3, 0.5, n=n)) for n in (2, 3, 4, 5, 6, 8, 50)] == \
        [False, False, False, False, True, True, True]
    assert direction_verdict(gap(-31.9, 0.5, n=2), -1) == "not testable"   # F5a at 2 seeds
    assert direction_verdict(gap(19.9, 0.5, n=2), -1) == "not testable"    # F5b at 2 seeds
    assert direction_verdict(gap(-7.3, 0.2, n=6), -1) == "partly"         # 6 seeds could
    assert p_floor(gap(1.0, 0.5, n=2)) == 0.5 and p_floor(gap(1.0, 0.5, n=5)) == 2 / 2**5
    # fewer than 2 seeds: no test at all
    one = Gap(k=80, mg=-7.3, p=math.nan, n=1, test="Wilcoxon signed-rank (exact)")
    assert not is_testable(one) and direction_verdict(one, -1) == "not testable"
    # the KS test: 3 against 3 seeds give at best p = 0.1, 4 against 4 0.029
    ks = "Kolmogorov-Smirnov two-sample (exact)"
    assert not is_testable(Gap(80, -20.0, 0.1, 3, ks))
    assert is_testable(Gap(80, -20.0, 0.3, 4, ks))
    assert direction_verdict(Gap(80, -20.0, 0.1, 3, ks), -1) == "not testable"
    # many values (pooled neurons): the floor of 50 stands in, far below the level
    assert is_testable(Gap(0, 0.1, 0.6, 5000, ks + ", medians"))
    # a test without a known floor is taken as testable
    assert is_testable(Gap(80, -1.0, 0.6, 2, "t-test"))
    # a significant p is testable by definition
    assert is_testable(Gap(80, -1.0, 0.01, 2, "t-test"))
    # the other rules that test a gap follow
    assert similar_verdict(gap(8.0, 0.5, n=2)) == "not testable"
    assert similar_verdict(gap(1.0, 0.5, n=2)) == "reproduced"            # small: no test needed
    assert verdicts.not_worse_verdict(gap(-4.0, 0.5, n=2)) == "not testable"
    assert verdicts.not_worse_verdict(gap(-1.0, 0.5, n=2)) == "reproduced"
    assert verdicts.some_cases_verdict([gap(1.0, 0.5, n=2)] * 3, +1) == "not testable"
    assert verdicts.orders_better_than_random(gap(-9.0, 0.5, n=2), gap(9.0, 0.5, n=2)) == \
        "not testable"


def test_is_small_gap():
    assert is_small_gap(1.99) and is_small_gap(-1.99) and is_small_gap(0.0)
    assert not is_small_gap(2.0) and not is_small_gap(-2.0) and not is_small_gap(5.0)


def test_similar_verdict():
    # a small gap is similar whatever p says
    assert similar_verdict(gap(1.5, 0.001), p_floor=0.01) == "reproduced"
    assert similar_verdict(gap(-1.99, 0.001), p_floor=0.01) == "reproduced"
    assert similar_verdict(gap(-2.0, 0.001), p_floor=0.01) == "not reproduced"
    # a large gap: similar if p > 0.05 although the seeds could have given p < 0.05
    assert similar_verdict(gap(8.0, 0.3), p_floor=0.01) == "reproduced"
    assert similar_verdict(gap(8.0, 0.05), p_floor=0.01) == "not reproduced"   # p = alpha
    assert similar_verdict(gap(8.0, 0.051), p_floor=0.01) == "reproduced"
    # ... not testable if the seeds could not have given p < 0.05
    assert similar_verdict(gap(8.0, 0.3), p_floor=0.1) == "not testable"
    assert similar_verdict(gap(8.0, 0.3), p_floor=0.05) == "not testable"
    assert similar_verdict(gap(8.0, 0.01), p_floor=0.01) == "not reproduced"


def test_similar_verdict_takes_the_floor_from_the_seed_count():
    # 8 seeds: exact floor 0.0078 < 0.05, p = 0.3 is a real "not significant"
    assert similar_verdict(gap(8.0, 0.3, n=8)) == "reproduced"
    # 5 seeds: exact floor 2/32 = 0.0625 > 0.05, p = 0.3 says nothing
    assert similar_verdict(gap(8.0, 0.3, n=5)) == "not testable"
    # 6 seeds: exact floor 2/64 = 0.031 < 0.05
    assert similar_verdict(gap(8.0, 0.3, n=6)) == "reproduced"


def test_p_floors():
    assert wilcoxon_floor(5) == 2 / 2**5 and wilcoxon_floor(6) == 2 / 2**6   # exact
    assert f"{wilcoxon_floor(5, 'approx'):.3g}" == "0.0431"
    assert f"{wilcoxon_floor(4, 'approx'):.3g}" == "0.0679"
    assert f"{ks_floor(3):.3g}" == "0.1"


# ------------------------------------------------------------------------- several parts, cases

R, P, N = "reproduced", "partly", "not reproduced"


def test_combine():
    assert combine(R, R) == R
    assert combine(R, N) == P
    assert combine(P, N) == P
    assert combine(P, P) == P
    assert combine(N, N) == N
    assert combine(R, R, N) == P


T = "not testable"


def test_combine_and_cases_leave_out_what_is_not_testable():
    # a part or case that is not testable says nothing either way, but the claim is then at
    # most partly reproduced
    assert combine(R, T) == P and combine(P, T) == P
    assert combine(N, T) == N and combine(N, T, T) == N
    assert combine(T, T) == T
    assert cases_verdict([R, R, T]) == P
    assert cases_verdict([R, N, T, T]) == N                 # 1 of the 2 testable
    assert cases_verdict([R, P, N, T]) == P                 # 2 of the 3 testable
    assert cases_verdict([T, T, T]) == T


def test_cases_verdict():
    assert cases_verdict([R, R, R, R]) == R
    assert cases_verdict([R, R, R, P]) == P
    assert cases_verdict([P, P, P, N]) == P                 # 3 of 4 at least partly
    assert cases_verdict([R, R, N, N]) == N                 # half is not more than half
    assert cases_verdict([R, P, N]) == P                    # 2 of 3
    assert cases_verdict([R, N, N]) == N
    assert cases_verdict([R, N]) == N                       # 1 of 2 is not a majority
    assert cases_verdict([R, P]) == P
    assert cases_verdict(v for v in (R, R)) == R            # any iterable
    assert cases_verdict([]) == "not testable"


def test_count_verdict_is_cases_verdict_for_yes_no_cases():
    assert [count_verdict(c, 4) for c in (4, 3, 2, 0)] == [R, P, N, N]
    assert [count_verdict(c, 5) for c in (5, 4, 3, 2)] == [R, P, P, N]
    assert count_verdict(0, 0) == "not testable"
    for total in range(1, 7):
        for count in range(total + 1):
            assert count_verdict(count, total) == cases_verdict([R] * count + [N] * (total - count))


def test_verdict_from():
    assert verdict_from(True) == R
    assert verdict_from(True, partial=True) == R
    assert verdict_from(False, partial=True) == P
    assert verdict_from(False) == N


# ------------------------------------------------------------------------- sizes and shares

def test_shares():
    assert is_most(50.1) and not is_most(50.0) and not is_most(12.0)
    assert is_almost_only(90.0) and is_almost_only(100.0) and not is_almost_only(89.9)


def test_is_small_cost():
    # F3f: 13 points with batch norm against 40 without: 13 < 0.5 * 40
    assert is_small_cost(13.0, 40.0)
    assert not is_small_cost(20.0, 40.0)                    # half is not less than half
    assert is_small_cost(19.9, 40.0)
    assert not is_small_cost(35.0, 40.0)                    # smaller, but not much smaller


# ------------------------------------------------------------------------- chapter 8, chapter 2

def test_costs_nothing_and_large_drop():
    intact = np.array([0.98, 0.99])
    assert costs_nothing(intact, [0.98, 0.99])
    assert not costs_nothing(intact, [0.98, 0.9875])        # one test sample of 400
    assert is_large_drop(intact, [0.68, 0.69])              # 30 points in each draw
    assert not is_large_drop(intact, [0.68, 0.70])          # 29 points in the second
    assert is_large_drop(intact, [0.50, 0.49])


def test_is_chance():
    assert is_chance([0.50, 0.55, 0.45], n_classes=2)       # within 5 points of 50 %
    assert not is_chance([0.50, 0.56], n_classes=2)
    assert is_chance([0.25], n_classes=4) and not is_chance([0.31], n_classes=4)


def test_is_zero_and_agree():
    assert is_zero([0.0, 1e-12, -1e-13]) and not is_zero([0.0, 2e-12])
    assert agree(1.0, 1.0 + 5e-10) and not agree(1.0, 1.0 + 2e-9)
    assert agree([0.0, 5e-10]) and not agree(3e-9)          # one argument: a difference
    assert agree(np.array([0.25, 0.5]), np.array([0.25, 0.5]))


# ------------------------------------------------------------------------- explanations

# ------------------------------------------------------------------------- the book's rules page

def power_of_ten(x: float) -> str:
    exponent = round(math.log10(x))
    assert math.isclose(x, 10.0 ** exponent), x
    return f"10^{{{exponent}}}"


# each constant of nbutils.verdicts, as the rules page must quote it
QUOTED = {
    "ALPHA": lambda v: f"p < {v:g}",
    "SMALL_GAP": lambda v: f"below {v:g} percentage points",
    "MOST_SHARE": lambda v: f"more than {v:g} %",
    "ALMOST_ONLY_SHARE": lambda v: f"at least\n{v:g} %",
    "SMALL_COST_RATIO": lambda v: f"{v:g} times",
    "LARGE_DROP": lambda v: f"at least {v:g} percentage points",
    "CHANCE_MARGIN": lambda v: f"within {v:g} percentage points",
    "ZERO_TOL": lambda v: f"${power_of_ten(v)}$ bits",
    "AGREE_TOL": lambda v: f"${power_of_ten(v)}$",
    "P2_SHARE": lambda v: f"{100 * v:g} % of all hidden neurons",
    "P4_SHARE": lambda v: f"{100 * v:g} % of one layer removed",
    "ABOUT_FACTOR": lambda v: f"a factor of {v:g} either way",
    "MANY_SHARE": lambda v: f"at least {v:g} %",
    "LINEAR_R2": lambda v: f"of at least {v:g}",
    "EARLY_SHARE": lambda v: f"after {100 * v:g} % of the layer",
    "AGREE_RHO": lambda v: f"at least {v:g}",
}
# every public function of nbutils.verdicts is a rule, except the bookkeeping of claims tables
BOOKKEEPING = {"verdict_class", "claims_table", "gap_reasons", "scale_note", "why", "explain",
               "timed", "pm", "findings_table", "finding_verdict"}
RULES = sorted(name for name, value in vars(verdicts).items()
               if callable(value) and not name.startswith("_") and not isinstance(value, type)
               and getattr(value, "__module__", "") == verdicts.__name__
               and name not in BOOKKEEPING)


def page_text() -> str:
    # line breaks and indentation of the markdown source do not matter
    return re.sub(r"\s+", " ", RULES_PAGE.read_text())


def test_rules_page_quotes_every_threshold():
    constants = {name for name, value in vars(verdicts).items()
                 if name.isupper() and isinstance(value, float)}
    assert constants == set(QUOTED), "a new threshold must be stated on book/verdicts.md"
    text = page_text()
    for name, quote in QUOTED.items():
        phrase = re.sub(r"\s+", " ", quote(getattr(verdicts, name)))
        assert phrase in text, f"book/verdicts.md does not quote {name}: {phrase!r}"
    shares = " and with ".join(f"{100 * v:g} %" for v in verdicts.P3_SHARES)
    assert f"with {shares} of one layer removed" in text


def test_rules_page_names_every_rule_and_the_tests():
    assert {"direction_verdict", "similar_verdict", "some_cases_verdict"} <= set(RULES)
    text = page_text()
    for name in RULES:
        assert callable(getattr(verdicts, name))
        assert f"`{name}`" in text, name
    for phrase in ("Wilcoxon signed-rank test", "two-sided", "Kolmogorov-Smirnov test",
                   "`nbutils.stats.wilcoxon_floor`", "`nbutils.stats.ks_floor`"):
        assert phrase in text, phrase


def test_rules_page_p_floors_are_current():
    text = page_text()
    for n in (3, 4, 5, 6, 8, 35, 50):
        row = (f" | {format_p(wilcoxon_floor(n))} | {format_p(wilcoxon_floor(n, 'approx'))} | "
               f"{format_p(ks_floor(n))} |")
        assert row in text, row
    assert f"{signed_rank_normal_p(4, 50):.3g}" == "9.63e-10" and "9.63" in text


def test_rules_page_is_in_the_book_after_the_introduction():
    """Right after the introduction: the findings, the claims dashboard, the rules, then the
    verdicts run by run."""
    import yaml
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    assert toc["root"] == "book/intro"
    assert [c["file"] for c in toc["chapters"][:4]] == [
        "book/findings", "book/claims", "book/verdicts.md", "book/verdict_changes"]


def test_some_cases_verdict_by_hand():
    from nbutils.verdicts import some_cases_verdict

    better, worse = gap(1.5, 0.01), gap(-1.5, 0.01)        # significant either way
    up, down = gap(0.4, 0.3), gap(-0.4, 0.3)                # not significant
    assert some_cases_verdict([better, up, down], +1) == "reproduced"      # one case suffices
    assert some_cases_verdict([better, worse], +1) == "partly"           # both ways
    assert some_cases_verdict([up, up, down], +1) == "partly"            # 2 of 3 with the sign
    assert some_cases_verdict([up, down], +1) == "not reproduced"        # 1 of 2: not a majority
    assert some_cases_verdict([worse, up, up], +1) == "not reproduced"   # only the other way
    assert some_cases_verdict([gap(0.4, ALPHA)], +1) == "partly"         # p = alpha: not below
    assert some_cases_verdict([], +1) == "not testable"


def _gap(mg: float, p: float, n: int = 8) -> Gap:
    return Gap(k=10, mg=mg, p=p, n=n, test="Wilcoxon (exact)")


def test_pruning_rules_p2_p3_p4():
    # P2: layer by layer must be better, significantly for "reproduced"
    assert verdicts.layer_by_layer_verdict(_gap(12.0, 0.008)) == "reproduced"
    assert verdicts.layer_by_layer_verdict(_gap(12.0, 0.2)) == "partly"
    assert verdicts.layer_by_layer_verdict(_gap(-3.0, 0.008)) == "not reproduced"
    # P3: balancing beats removal AND is similar to removal + fine-tuning
    helps, close, far = _gap(5.0, 0.008), _gap(-1.0, 0.008), _gap(-6.0, 0.008)
    assert verdicts.balancing_verdict(helps, close) == "reproduced"
    assert verdicts.balancing_verdict(helps, far) == "partly"
    assert verdicts.balancing_verdict(_gap(-2.0, 0.008), far) == "not reproduced"
    assert verdicts.balancing_verdict(_gap(-2.0, 0.008), close) == "partly"
    # P4: not worse than He et al. by a significant, non-small margin
    assert verdicts.not_worse_verdict(_gap(-1.5, 0.008)) == "reproduced"
    assert verdicts.not_worse_verdict(_gap(4.0, 0.008)) == "reproduced"
    assert verdicts.not_worse_verdict(_gap(-4.0, 0.3)) == "partly"
    assert verdicts.not_worse_verdict(_gap(-4.0, 0.008)) == "not reproduced"


# --------------------------------------------------------------- chapter 10's findings
def test_orders_better_than_random():
    from nbutils.verdicts import orders_better_than_random

    assert orders_better_than_random(gap(-5, 0.001), gap(3, 0.001)) == "holds"
    assert orders_better_than_random(gap(-5, 0.001), gap(3, 0.2)) == "partly"
    assert orders_better_than_random(gap(-5, 0.2), gap(3, 0.001)) == "partly"
    assert orders_better_than_random(gap(5, 0.001), gap(-3, 0.001)) == "does not hold"
    assert orders_better_than_random(gap(-5, 0.2), gap(3, 0.2)) == "does not hold"


def test_not_worse_than_and_agrees():
    from nbutils.verdicts import agrees, not_worse_than

    assert not_worse_than(gap(2, 0.001)) and not_worse_than(gap(-2, 0.3))
    assert not not_worse_than(gap(-2, 0.01))
    assert agrees(0.5) and agrees(0.9) and not agrees(0.49) and not agrees(float("nan"))


def test_fewer_dead_rule():
    from nbutils.verdicts import fewer_dead

    assert fewer_dead(0.7, 2.7) and fewer_dead(0.0, 0.0)
    assert not fewer_dead(2.7, 2.7) and not fewer_dead(24.3, 16.0)
