import math

import pytest

from jostle import stats


def test_wilson_known_values():
    lo, hi = stats.wilson_interval(3, 2000)
    assert lo == pytest.approx(0.000510, abs=2e-6) and hi == pytest.approx(0.004401, abs=2e-6)
    lo, hi = stats.wilson_interval(30, 2000)
    assert lo == pytest.approx(0.010527, abs=2e-6) and hi == pytest.approx(0.021332, abs=2e-6)
    # The two-sided interval overstates the zero-failure bound: 0.38% against the exact one-sided 0.30%.
    assert stats.wilson_interval(0, 1000) == (0.0, pytest.approx(0.003827, abs=2e-6))
    assert stats.wilson_interval(5, 5)[1] == 1.0
    assert stats.wilson_interval(0, 0) == (0.0, 1.0)


def test_exact_upper_bound_zero_failures_is_rule_of_three():
    assert stats.upper_bound(0, 1000) == pytest.approx(0.002991, abs=1e-6)
    assert stats.upper_bound(0, 1000) * 1000 == pytest.approx(3.0, rel=0.01)
    assert stats.upper_bound(0, 1000, 0.99) * 1000 == pytest.approx(4.6, rel=0.01)


def test_exact_upper_bound_with_failures():
    # Published one-sided 95% Clopper-Pearson limits.
    assert stats.upper_bound(1, 10) == pytest.approx(0.3942, abs=1e-4)
    assert stats.upper_bound(2, 20) == pytest.approx(0.2826, abs=1e-4)
    assert stats.upper_bound(10, 10) == 1.0
    assert stats.upper_bound(0, 0) == 1.0


@pytest.mark.parametrize("rate,confidence,runs", [
    (0.05, 0.95, 59), (0.01, 0.95, 299), (0.001, 0.95, 2995), (0.0001, 0.95, 29956),
    (0.01, 0.99, 459), (0.001, 0.99, 4603)])
def test_runs_needed(rate, confidence, runs):
    assert stats.runs_needed(rate, confidence) == runs
    # n clean runs are exactly enough: the bound after n is below the rate, after n-1 it is not.
    assert stats.upper_bound(0, runs, confidence) < rate <= stats.upper_bound(0, runs - 1, confidence)


def test_runs_needed_rejects_nonsense():
    with pytest.raises(ValueError):
        stats.runs_needed(0)
    with pytest.raises(ValueError):
        stats.runs_needed(0.1, 1.0)


def test_sprt_accepts_below_target_after_326_clean_runs():
    test = stats.Sprt.for_target(0.01, 0.95)
    assert test.upper == pytest.approx(2.944, abs=1e-3)
    decisions = [test.update(False) for _ in range(326)]
    assert decisions[:325] == [None] * 325
    assert decisions[325] == "below"


def test_sprt_rejects_after_two_quick_failures():
    test = stats.Sprt.for_target(0.01, 0.95)
    assert test.update(True) is None
    assert test.update(True) == "above"


def test_sprt_needs_ordered_rates():
    with pytest.raises(ValueError):
        stats.Sprt(0.1, 0.01)


def test_merge_outcomes_sums_counts_and_keeps_worst_grade():
    merged = stats.merge_outcomes([
        {"a": {"count": 5, "grade": "ACCEPTABLE", "desc": "fine"}},
        {"a": {"count": 2, "grade": "INTERESTING", "desc": ""}, "b": {"count": 1, "grade": "FORBIDDEN"}},
        None,
    ])
    assert merged == {"a": {"count": 7, "grade": "INTERESTING", "desc": "fine"},
                      "b": {"count": 1, "grade": "FORBIDDEN", "desc": ""}}


def test_merge_metrics():
    merged = stats.merge_metrics([{"t": {"n": 2, "min": 1, "max": 5, "sum": 6, "unit": "ns"}},
                                  {"t": {"n": 1, "min": 0.5, "max": 2, "sum": 2, "unit": "ns"}}])
    assert merged == {"t": {"n": 3, "min": 0.5, "max": 5, "sum": 8, "unit": "ns"}}


def test_describe_rate():
    assert stats.describe_rate(0, 1000) == "0/1000 runs failed (p < 0.30% at 95%)"
    assert stats.describe_rate(3, 2000) == "3/2000 runs failed (0.15%, 95% CI 0.051%-0.44%)"
    assert not math.isnan(stats.upper_bound(3, 1_000_000))


def test_pct_sweep_states_what_clean_runs_rule_out():
    from jostle.stats import describe_pct_sweep, pct_sweep
    run = {"mode": "pct", "d": 2, "iterations": 20, "n_max": 4, "steps_max": 100, "steals": 0, "forced": 0,
           "late_starts": 0}
    sweep = pct_sweep([run] * 10)
    assert sweep["runs"] == 10 and sweep["iterations"] == 200 and (sweep["n"], sweep["k"]) == (4, 100)
    # depth 1: p = 1/4 per iteration, 200 iterations: certain; depth 2: 1 - (1 - 1/400)^200 = 39.4%.
    assert sweep["depths"][1] == pytest.approx(1.0)
    assert sweep["depths"][2] == pytest.approx(1 - (1 - 1 / 400) ** 200)
    assert 3 not in sweep["depths"], "runs at d=2 say nothing about depth 3"
    assert "depth 2 >= 39.4%" in describe_pct_sweep(sweep)


def test_pct_sweep_leaves_out_runs_with_fallbacks_and_non_pct_runs():
    from jostle.stats import describe_pct_sweep, pct_sweep
    stolen = {"mode": "pct", "d": 1, "iterations": 5, "n_max": 2, "steps_max": 10, "steals": 1}
    assert pct_sweep([{"mode": "random"}, None]) is None
    assert pct_sweep([{"mode": "pct", "d": 1, "iterations": 0, "n_max": 1, "steps_max": 0}]) is None
    sweep = pct_sweep([stolen])
    assert sweep["runs"] == 0 and sweep["fallback_runs"] == 1
    assert "no depth guarantee" in describe_pct_sweep(sweep)
