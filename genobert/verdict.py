"""Did pretraining help? A paired comparison of two methods over seeds, with a 95 % interval.

Each seed gives both methods the same split, so the comparison is of the per-seed differences
``a - b``: their mean, and a t interval with n - 1 degrees of freedom. "helped" / "hurt" only when
the interval excludes 0. A run that predicts a single class (or a constant) "failed to train": its
seed is left out of the difference and reported, never counted as a win for the other side.
When both sides score the same on every seed (deterministic runs on a fixed split), the seeds are
one measurement: no interval and no verdict. A regression that diverged (predictions not finite)
failed to train too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

LEVEL = 0.95
DECIDED = ("helped", "hurt", "no difference")  # the verdicts of an interval; counted in "N of M"


def spread(values) -> float:
    """The seeds' standard deviation, n - 1 in the denominator as the interval's (numpy's default,
    n, understates it by 18 % at three seeds); 0 for one value."""
    import numpy as np

    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def failed_to_train(scores: dict) -> bool:
    """A run whose test predictions are all one class, or one value, or not finite (a regression
    that diverged, which `regression_metrics` scores as Spearman 0)."""
    return (scores.get("predicted_classes", 2) < 2 or bool(scores.get("constant_prediction"))
            or bool(scores.get("nonfinite_prediction")))


@dataclass
class Paired:
    n: int  # seeds in the difference (neither side failed)
    mean: float  # mean of a - b over those seeds (nan when n == 0)
    low: float  # the 95 % interval (nan when n < 2)
    high: float
    verdict: str  # helped | hurt | no difference | failed to train | too few seeds | one measurement
    failed: dict[str, list[int]] = field(default_factory=dict)  # side -> seeds that failed

    def text(self, unit: str = "") -> str:
        failed = "; ".join(f"{side} failed to train on seed {', '.join(map(str, s))}"
                           for side, s in self.failed.items() if s)
        if self.n == 0:
            return f"{self.verdict}" + (f" ({failed})" if failed else "")
        if self.verdict == "one measurement":
            return (f"{self.mean:+.3f}{unit} on every seed: both sides gave the same score on each of "
                    f"the {self.n} seeds (deterministic on this split), so it is one measurement: "
                    "no interval, no verdict")
        interval = (f", 95 % CI [{self.low:+.3f}, {self.high:+.3f}]" if self.n > 1 else "")
        return (f"{self.mean:+.3f}{unit}{interval}, {self.n} paired seed{'s' if self.n != 1 else ''}: {self.verdict}"
                + (f" ({failed})" if failed else ""))


def paired(a: dict[int, dict], b: dict[int, dict], metric: str, names: tuple[str, str] = ("a", "b")) -> Paired:
    """Compare ``a`` and ``b`` (seed -> test scores) on ``metric``, paired by seed."""
    from scipy.stats import t

    seeds = sorted(set(a) & set(b))
    failed = {names[0]: [s for s in seeds if failed_to_train(a[s])],
              names[1]: [s for s in seeds if failed_to_train(b[s])]}
    bad = set(failed[names[0]]) | set(failed[names[1]])
    diffs = [a[s][metric] - b[s][metric] for s in seeds if s not in bad]
    n = len(diffs)
    if n == 0:
        return Paired(0, math.nan, math.nan, math.nan,
                      "failed to train" if seeds else "too few seeds", failed)
    mean = sum(diffs) / n
    if n < 2:
        return Paired(n, mean, math.nan, math.nan, "too few seeds", failed)
    used = [s for s in seeds if s not in bad]
    if len({a[s][metric] for s in used}) == 1 and len({b[s][metric] for s in used}) == 1:
        # both deterministic on a fixed split (a probe of a released model, say): the seeds
        # repeat one measurement, and a zero-width interval would claim a certainty it lacks.
        # Where the sides vary, the seeds are replicates: one gain on every seed is a clear gain
        return Paired(n, mean, math.nan, math.nan, "one measurement", failed)
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1))
    half = t.ppf(0.5 + LEVEL / 2, n - 1) * sd / math.sqrt(n)
    low, high = mean - half, mean + half
    verdict = "helped" if low > 0 else "hurt" if high < 0 else "no difference"
    return Paired(n, mean, low, high, verdict, failed)
