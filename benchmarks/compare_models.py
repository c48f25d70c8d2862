"""Two pretrained models, one benchmark: a method's test score in bench folder B minus folder A,
paired by task, share of the labels and seed.

    python benchmarks/compare_models.py docs/bench/dna docs/bench/dna-modernbert [--method bert-pretrained]

`genobert bench` seeds its splits and label subsets by seed alone, so two folders filled by the same
suite and profile from the same data give a seed the same rows whatever model they fine-tune: the
difference is the model's. The script checks what it can (suite, profile, data folder, and each
pair's training and validation row counts) and refuses folders that differ. A seed where either
side failed to train (one class predicted) is left out and named (`genobert.verdict.paired`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from genobert.bench.report import _score
from genobert.verdict import paired

SAME = ("suite", "profile", "data_dir")  # what must match for a seed to mean the same rows


def load(folder: str) -> tuple[dict, list[dict]]:
    with open(os.path.join(folder, "bench.json")) as f:
        setup = json.load(f)
    with open(os.path.join(folder, "results.jsonl")) as f:
        return setup, [json.loads(line) for line in f]


def fail(message: str) -> None:
    print(f"compare_models.py: error: {message}", file=sys.stderr)
    sys.exit(2)


def model_name(setup: dict) -> str:
    """The folder's pretrained model(s) and how many tokens each had seen: a released model's name
    (a re-released one keeps its name, so the tokens tell its versions apart), or what
    `--pretrained fresh` pretrained (its folder is named by the alphabet alone)."""
    def tokens(m: dict) -> str:  # nothing where the folder does not record them
        return f" ({m['tokens_seen'] / 1e6:.1f} M tokens)" if m.get("tokens_seen") else ""

    models = setup.get("pretrained_models", {}).values()
    if setup.get("pretrained") == "fresh":
        return ", ".join(f"fresh {m.get('preset') or ''} BERT{tokens(m)}" for m in models)
    return ", ".join(os.path.basename(m["path"].rstrip("/")) + tokens(m) for m in models)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a", help="bench folder A (the reference)")
    p.add_argument("b", help="bench folder B: the table shows B - A")
    p.add_argument("--method", default="bert-pretrained")
    args = p.parse_args()
    (sa, ra), (sb, rb) = load(args.a), load(args.b)
    only: list[str] = []
    for key in SAME:
        x, y = sa.get(key), sb.get(key)
        if key == "profile" and isinstance(x, dict) and isinstance(y, dict):
            # a field the profile gained after A ran (a baseline's grid, say) is not a difference:
            # only the fields both folders record are compared, and the others are named
            only, shared = sorted(x.keys() ^ y.keys()), x.keys() & y.keys()
            x, y = ({k: side[k] for k in shared} for side in (x, y))
        if x != y:
            fail(f"the folders differ in {key} ({args.a}: {x!r}, "
                 f"{args.b}: {y!r}); a seed means the same rows only when it matches")
    keyed = [{(r["task"], r.get("fraction", 1.0), r["seed"]): r for r in rows
              if r["method"] == args.method and "test" in r} for rows in (ra, rb)]
    common = sorted(keyed[0].keys() & keyed[1].keys())
    for key in common:
        x, y = keyed[0][key], keyed[1][key]
        if any(x.get(n) != y.get(n) for n in ("n_train", "n_valid") if n in x and n in y):  # older rows lack n_valid
            fail(f"{key[0]} share {key[1]:g} seed {key[2]}: {x.get('n_train')} / "
                 f"{x.get('n_valid')} training / validation rows in A, {y.get('n_train')} / {y.get('n_valid')} in B")
    print(f"{args.method}: B = {args.b} ({model_name(sb)}) minus A = {args.a} ({model_name(sa)}), "
          "test score paired by seed, 95 % t interval\n")
    if only:
        print(f"Profile fields recorded by one folder only, not compared: {', '.join(only)}\n")
    print("| task | share | labels | metric | A | B | B − A |")
    print("|---|---:|---:|---|---:|---:|---|")
    cells = sorted({k[:2] for k in common})
    for task, share in cells:
        metric = _score(ra, task)
        a, b = ({s: r["test"] for (t, f, s), r in k.items() if (t, f) == (task, share)} for k in keyed)
        seeds = sorted(a.keys() & b.keys())
        mean = [sum(side[s][metric] for s in seeds) / len(seeds) for side in (a, b)]
        n = keyed[0][(task, share, seeds[0])].get("n_train")
        labels = "–" if n is None else f"{n:,}"  # rows written before n_train was recorded
        print(f"| {task} | {share:g} | {labels} | {metric} | {mean[0]:.3f} | {mean[1]:.3f} | "
              f"{paired(b, a, metric, ('B', 'A')).text()} |")
    if not cells:
        print(f"(no task, share and seed has {args.method} in both folders)")


if __name__ == "__main__":
    main()
