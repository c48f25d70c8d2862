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


def main(folders: list[str]) -> None:
    print("# Benchmark results\n")
    print("Written by `python benchmarks/results_doc.py " + " ".join(folders) + "` from the reports "
          "of `genobert bench`; each section names the command, machine, seeds and date of its run. "
          "Re-run a command to reproduce its section.\n")
    for folder in folders:
        setup = json.load(open(os.path.join(folder, "bench.json")))
        runs = [json.loads(line) for line in open(os.path.join(folder, "results.jsonl"))]
        from genobert.bench import SUITES

        suite_tasks = [t.name for t in SUITES[setup["suite"]].tasks]
        runs = [r for r in runs if r.get("fraction", 1.0) == 1.0]  # label-efficiency runs are extra
        missing = [t for t in suite_tasks if t not in {r["task"] for r in runs}]
        expected = len(suite_tasks) * setup["seeds"] * len(setup["methods"])
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
        if len(runs) < expected:
            print(f"**Incomplete run**: {len(runs)} of the suite's {expected} task × method × seed "
                  "runs are in" + (f"; tasks not run yet: {', '.join(missing)}" if missing else "")
                  + ". The command resumes it (add `--tasks` to run some of it).\n")
        print("\n".join(report.splitlines()[1:]) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
