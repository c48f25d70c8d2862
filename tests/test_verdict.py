"""The paired verdict: helped, hurt, no difference, failed to train."""

from __future__ import annotations

import math

from genobert.verdict import paired


def runs(*mccs, one_class=()):
    return {s: {"mcc": m, "predicted_classes": 1 if s in one_class else 2} for s, m in enumerate(mccs)}


def test_helped_when_the_interval_excludes_zero():
    v = paired(runs(0.80, 0.82, 0.81), runs(0.70, 0.71, 0.72), "mcc")
    assert v.verdict == "helped" and v.n == 3 and v.low > 0 and math.isclose(v.mean, 0.1, abs_tol=1e-9)


def test_hurt():
    assert paired(runs(0.60, 0.61, 0.59), runs(0.70, 0.72, 0.71), "mcc").verdict == "hurt"


def test_no_difference_when_the_paired_differences_disagree():
    # unpaired means differ by 0.05, but the per-seed differences swing both ways
    v = paired(runs(0.90, 0.60, 0.80), runs(0.70, 0.75, 0.70), "mcc")
    assert v.verdict == "no difference" and v.low < 0 < v.high


def test_pairing_matters():
    # the seeds' spread is large but each seed gains the same: paired, that is a clear gain
    v = paired(runs(0.50, 0.70, 0.90), runs(0.45, 0.65, 0.85), "mcc")
    assert v.verdict == "helped"


def test_a_one_class_run_failed_and_is_no_win_for_the_other_side():
    v = paired(runs(0.80, 0.81, 0.82), runs(0.0, 0.0, 0.0, one_class=(0, 1, 2)), "mcc", ("pre", "scratch"))
    assert v.verdict == "failed to train" and v.failed == {"pre": [], "scratch": [0, 1, 2]}
    assert "scratch failed to train on seed 0, 1, 2" in v.text()
    part = paired(runs(0.80, 0.81, 0.83, 0.9), runs(0.70, 0.72, 0.71, 0.0, one_class=(3,)), "mcc")
    assert part.n == 3 and part.verdict == "helped" and part.failed["b"] == [3]


def test_one_seed_is_too_few():
    assert paired(runs(0.8), runs(0.7), "mcc").verdict == "too few seeds"


def test_deterministic_runs_on_a_fixed_split_are_one_measurement():
    v = paired(runs(0.768, 0.768, 0.768), runs(0.735, 0.735, 0.735), "mcc", ("probe", "scratch probe"))
    assert v.verdict == "one measurement" and math.isnan(v.low)
    assert "no interval, no verdict" in v.text() and "+0.033" in v.text()
    # one side varying is enough for the seeds to be replicates
    assert paired(runs(0.80, 0.82, 0.81), runs(0.70, 0.70, 0.70), "mcc").verdict == "helped"


def test_a_diverged_regression_failed_to_train():
    ok = {s: {"spearman": 0.25 + 0.01 * s} for s in range(3)}
    diverged = {s: {"spearman": 0.0, "constant_prediction": False, "nonfinite_prediction": True} for s in range(3)}
    v = paired(diverged, ok, "spearman", ("pre", "scratch"))
    assert v.verdict == "failed to train" and v.failed == {"pre": [0, 1, 2], "scratch": []}
