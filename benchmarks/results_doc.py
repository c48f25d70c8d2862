"""Assemble docs/RESULTS.md from the reports that `genobert bench` wrote (no number typed by hand).

    python benchmarks/results_doc.py docs/bench/dna [docs/bench/protein ...] > docs/RESULTS.md

Each report already names its command, machine, seeds and date; this adds a heading per run,
marks runs that do not yet cover their whole suite (and names the tasks not run), and points image
links at the report's folder.
"""

from __future__ import annotations

import json
import os
import re
import sys

from compare_models import model_name  # this script's folder is on sys.path


def cell(v) -> str:
    """A paired comparison in a few words: mean [95 % CI], seeds, the verdict in bold when the
    interval excludes 0, and how many seeds a side failed to train on."""
    failed = ", ".join(f"{side} failed on {len(seeds)}" for side, seeds in v.failed.items() if seeds)
    if v.n == 0 or v.verdict == "one measurement":
        text = v.verdict if v.n == 0 else f"{v.mean:+.3f}, one measurement"
    else:
        verdict = f"**{v.verdict}**" if v.verdict in ("helped", "hurt") else v.verdict
        text = (f"{v.mean:+.3f}" + (f" [{v.low:+.3f}, {v.high:+.3f}]" if v.n > 1 else "")
                + f", {v.n} seed{'s' if v.n != 1 else ''}: {verdict}")
    return text + (f" ({failed})" if failed else "")


def scoreboard(folders: list[str]) -> list[str]:
    """One row per folder, task and share of the labels: pretrained minus scratch BERT, and minus
    the best method without pretraining (by validation), paired by seed, as each report has them;
    then the tally on the full training sets against the goal of issue 18."""
    from genobert.bench.report import METRICS, _score, best_rival, by_method, pretrained_vs_scratch
    from genobert.verdict import DECIDED, paired

    lines = ["## Scoreboard", "",
             "Every pretrained-vs-scratch comparison below, one row per bench folder, task and share of "
             "the training labels (the sections after it hold the details): test score of the fine-tuned "
             "pretrained BERT minus the same architecture from random weights, and minus the best method "
             "without pretraining (chosen by mean validation score), paired by seed with a 95 % t interval. "
             "'helped' / 'hurt' only when the interval excludes 0.", "",
             "| pretrained model | task | labels | metric | pretrained | − scratch | − best without pretraining |",
             "|---|---|---|---|---|---|---|"]
    tally = {}  # (folder, model, task) -> (verdict vs scratch, vs best) on the full training set
    for folder in folders:
        setup = json.load(open(os.path.join(folder, "bench.json")))
        rows = [json.loads(line) for line in open(os.path.join(folder, "results.jsonl"))]
        model = model_name(setup) or setup.get("pretrained", "")
        for task in dict.fromkeys(r["task"] for r in rows):
            for fraction in sorted({r.get("fraction", 1.0) for r in rows if r["task"] == task}, reverse=True):
                share = [r for r in rows if r["task"] == task and r.get("fraction", 1.0) == fraction
                         and "test" in r]
                pre = [r for r in share if r["method"] == "bert-pretrained"]
                if not pre or not any(r["method"] == "bert-scratch" for r in share):
                    continue
                metric = _score(share, task)
                v = pretrained_vs_scratch(share, metric)
                by = by_method(share)
                best = best_rival(by, task, metric)
                b = paired({r["seed"]: r["test"] for r in pre},
                           {sd: r["test"] for sd, r in by[(task, best)].items()}, metric,
                           ("bert-pretrained", best)) if best else None
                scores = {r["seed"]: r["test"][metric] for r in pre}  # a seed once, if run twice
                mean = sum(scores.values()) / len(scores)
                labels = f"{pre[0]['n_train']:,}" + ("" if fraction == 1 else f" ({fraction:g})")
                lines.append(f"| {model} | {task} | {labels} | {METRICS[metric]} | {mean:.3f} | {cell(v)} | "
                             + (f"{best}: {cell(b)}" if b else "–") + " |")
                if fraction == 1:
                    tally[(folder, model, task)] = (v.verdict, b.verdict if b else None)
    if tally:
        scratch = [s for s, _ in tally.values() if s in DECIDED]
        rivals = [b for _, b in tally.values() if b in DECIDED]
        undecided = len(tally) - len(scratch)
        lines += ["", f"On the full training sets pretrained beat scratch on {scratch.count('helped')} "
                  f"of {len(scratch)} task × model rows and the best method without pretraining on "
                  f"{rivals.count('helped')} of {len(rivals)}"
                  + (f" ({undecided} more row{'s' * (undecided > 1)} without a verdict against scratch)"
                     if undecided else "") + "; the goal of issue 18 was 80 % and half."]
    return lines + [""]


def probe_board(folders: list[str]) -> list[str]:
    """One row per folder and task (all training labels) with both probes: the frozen pretrained
    encoder's probe minus the same probe of random weights, and minus the best method without
    pretraining (by validation), paired by seed. Cheap, so it covers tasks whose fine-tuning grid
    has not run; it asks what pretraining put into the vectors, not what fine-tuning makes of it."""
    from genobert.bench.report import METRICS, _score, best_rival, by_method
    from genobert.verdict import DECIDED, paired

    header = ["## Frozen-embedding probes", "",
             "What pretraining put into the vectors, on every task a probe applies to (all but the span "
             "task): test score of `bert-probe` (the frozen pretrained encoder, layer and penalty chosen "
             "on validation, into a linear model) minus `bert-probe-scratch` (the same probe of the same "
             "architecture with random weights), and minus the best method without pretraining (by mean "
             "validation score), paired by seed with a 95 % t interval.", "",
             "| pretrained model | task | labels | metric | probe | − probe of random weights | "
             "− best without pretraining |", "|---|---|---|---|---|---|---|"]
    lines, tally = list(header), []
    for folder in folders:
        setup = json.load(open(os.path.join(folder, "bench.json")))
        rows = [json.loads(line) for line in open(os.path.join(folder, "results.jsonl"))]
        rows = [r for r in rows if r.get("fraction", 1.0) == 1.0 and "test" in r]
        model = model_name(setup) or setup.get("pretrained", "")
        by = by_method(rows)
        for task in dict.fromkeys(r["task"] for r in rows):
            probe, random = by.get((task, "bert-probe")), by.get((task, "bert-probe-scratch"))
            if not probe or not random:
                continue
            metric = _score(rows, task)
            scores = {sd: r["test"] for sd, r in probe.items()}
            v = paired(scores, {sd: r["test"] for sd, r in random.items()}, metric, ("probe", "random"))
            best = best_rival(by, task, metric)
            b = paired(scores, {sd: r["test"] for sd, r in by[(task, best)].items()}, metric,
                       ("probe", best)) if best else None
            mean = sum(s[metric] for s in scores.values()) / len(scores)
            n_train = next(iter(probe.values())).get("n_train")
            lines.append(f"| {model} | {task} | {f'{n_train:,}' if n_train else '?'} | {METRICS[metric]} | "
                         f"{mean:.3f} | {cell(v)} | " + (f"{best}: {cell(b)}" if b else "–") + " |")
            tally.append((v.verdict, b.verdict if b else None))
    if lines == header:
        return []
    # "N of M" counts verdicts only, as the scoreboard does: not one measurement, too few seeds, failed
    random, best = ([x for x in side if x in DECIDED] for side in zip(*tally, strict=True))
    lines += ["", f"The pretrained vectors beat random ones on {random.count('helped')} of "
              f"{len(random)} task × model rows with a verdict (worse on {random.count('hurt')}), and the best "
              f"method without pretraining on {best.count('helped')} of {len(best)} (worse on {best.count('hurt')})."]
    return lines + [""]


def incomplete(setup: dict, runs: list[dict], suite_tasks: list[str]) -> str:
    """The notice of a folder holding fewer runs than its suite × methods × seeds; '' when complete.
    Counted on the full training sets, unless the folder ran only shares of the labels. A share's
    seeds are those asked for it (bench.json's seeds_by_fraction), or in an older folder holding
    several shares the most any method ran (it may hold 3 seeds of all labels and 10 of a share,
    while its "seeds" is the last command's)."""
    fractions = sorted({r.get("fraction", 1.0) for r in runs} | set(setup.get("fractions", [1.0])))
    if 1.0 in fractions:  # label-efficiency runs beside the full training sets are extra
        fractions = [1.0]
    runs = [r for r in runs if r.get("fraction", 1.0) in fractions]
    methods = set(setup["methods"]) | {r["method"] for r in runs}
    asked = setup.get("seeds_by_fraction", {})  # recorded since 2026-12-08; before, the rows tell
    mixed = len({r.get("fraction", 1.0) for r in runs} | set(setup.get("fractions", [1.0]))) > 1
    expected = 0
    for f in fractions:
        share = [r for r in runs if r.get("fraction", 1.0) == f]
        ran = max((len({r["seed"] for r in share if r["method"] == m}) for m in methods), default=0)
        seeds = max(asked.get(f"{f:g}", 0), ran if mixed else max(ran, setup["seeds"]))
        expected += len(suite_tasks) * len(methods) * seeds
    missing = [t for t in suite_tasks if t not in {r["task"] for r in runs}]
    if len(runs) >= expected and not missing:
        return ""
    shares = "" if fractions == [1.0] else f" (at {', '.join(f'{f:g}' for f in fractions)} of the labels)"
    return (f"**Incomplete run**: {len(runs)} of the suite's {expected} task × method × seed runs{shares} "
            "are in" + (f"; tasks not run yet: {', '.join(missing)}" if missing else "")
            + ". The command resumes it (add `--tasks` to run some of it).")


def main(folders: list[str]) -> None:
    print("# Benchmark results\n")
    print("Written by `python benchmarks/results_doc.py " + " ".join(folders) + "` from the reports "
          "of `genobert bench`; each section names the command, machine, seeds and date of its run. "
          "Re-run a command to reproduce its section.\n")
    print("\n".join(scoreboard(folders) + probe_board(folders)))
    for folder in folders:
        setup = json.load(open(os.path.join(folder, "bench.json")))
        runs = [json.loads(line) for line in open(os.path.join(folder, "results.jsonl"))]
        from genobert.bench import SUITES

        suite_tasks = ([t.name for t in SUITES[setup["suite"]].tasks] if setup["suite"] in SUITES
                       else [t["name"] for t in setup["tasks"]])  # a suite file's tasks
        report = open(os.path.join(folder, "results.md")).read()
        rel = os.path.relpath(folder, "docs")
        report = re.sub(r"!\[([^\]]*)\]\(([^)]+)\)", lambda m, rel=rel: f"![{m.group(1)}]({rel}/{m.group(2)})", report)
        report = report.replace("\n# ", "\n## ").replace("\n## ", "\n### ")
        title = report.splitlines()[0].lstrip("# ")
        models = model_name(setup)
        print(f"## {title}" + (f", from {models}" if models else "") + "\n")
        if "commit" not in setup:  # bench.json records the commit from the issue-17 protocol on
            print("**Old protocol**: this run predates the fine-tuning protocol of `docs/benchmark.md` "
                  "(one learning rate, an 8-epoch cap, a tiny BERT pretrained 400 steps per suite on a "
                  "corpus cleaned only of whole test records, an unpaired verdict) and records no "
                  "commit; read its verdicts as superseded.\n")
        notice = incomplete(setup, runs, suite_tasks)
        if notice:
            print(notice + "\n")
        print("\n".join(report.splitlines()[1:]) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
