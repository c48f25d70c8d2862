"""One plot of what pretraining gave, by number of training labels: for every task run on subsets
of its labels (`genobert bench --fractions`), bert-pretrained minus bert-scratch on the test
score, paired by seed, with its 95 % t interval (genobert.bench.report.pretrained_vs_scratch; a seed where either
side failed to train is left out, and a point with one seed has no interval).

    python benchmarks/pretraining_gain.py docs/bench/dna docs/bench/protein --out docs/pretraining_gain.png

Prints the points as a table (task, share, labels, seeds, difference, interval) as well; without
matplotlib (the `plot` extra) only the table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from plots import pyplot  # noqa: E402

from genobert.bench.report import _score, pretrained_vs_scratch


def points(folders: list[str]) -> dict[str, list[tuple]]:
    """task -> [(labels, share, seeds, mean, low, high)], by labels."""
    out = {}
    for folder in folders:
        rows = [json.loads(line) for line in open(os.path.join(folder, "results.jsonl"))]
        for task in dict.fromkeys(r["task"] for r in rows):
            mine = [r for r in rows if r["task"] == task and "test" in r]
            shares = sorted({r.get("fraction", 1.0) for r in mine})
            if len(shares) < 2:
                continue
            metric = _score(mine, task)
            for share in shares:
                at = [r for r in mine if r.get("fraction", 1.0) == share]
                v = pretrained_vs_scratch(at, metric)
                if v is not None:
                    labels = np.mean([r["n_train"] for r in at])
                    out.setdefault(task, []).append((labels, share, v.n, v.mean, v.low, v.high))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="+", help="bench output folders (results.jsonl)")
    ap.add_argument("--out", required=True, help="the PNG to write")
    args = ap.parse_args()
    curves = points(args.folders)
    print("| task | share | labels | seeds | pretrained − scratch | 95 % CI |\n|---|---:|---:|---:|---:|---|")
    for task, pts in curves.items():
        for labels, share, n, mean, low, high in pts:
            ci = f"[{low:+.3f}, {high:+.3f}]" if n > 1 and not np.isnan(low) else "–"
            print(f"| {task} | {share:g} | {labels:,.0f} | {n} | {mean:+.3f} | {ci} |")
    plt = pyplot()
    if plt is None:
        return

    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (task, pts) in enumerate(curves.items()):
        x, mean, low, high = (np.array([p[j] for p in pts], dtype=float) for j in (0, 3, 4, 5))
        x = x * (1 + 0.04 * (i - len(curves) / 2))  # a little apart, so the bars do not overlap
        ax.errorbar(x, mean, yerr=[np.nan_to_num(mean - low), np.nan_to_num(high - mean)], fmt="-o",
                    capsize=3, label=task)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set(xlabel="training labels", ylabel="pretrained − scratch (test MCC)",
           title="What pretraining gave, by number of labels (mean, 95 % CI over seeds)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)


if __name__ == "__main__":
    main()
