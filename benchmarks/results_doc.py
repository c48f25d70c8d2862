"""Assemble docs/RESULTS.md from the reports that `genobert bench` wrote (no number typed by hand).

    python benchmarks/results_doc.py docs/bench/quick [docs/bench/dna ...] > docs/RESULTS.md

Each report already names its command, machine, seeds and date; this adds a heading per run,
marks runs whose results are incomplete, and points image links at the report's folder.
"""

from __future__ import annotations

import json
import os
import re
import sys


def main(folders: list[str]) -> None:
    print("# Benchmark results\n")
    print("Written by `python benchmarks/results_doc.py " + " ".join(folders) + "` from the reports "
          "of `genobert bench`; each section names the command, machine, seeds and date of its run. "
          "Re-run a command to reproduce its section.\n")
    for folder in folders:
        setup = json.load(open(os.path.join(folder, "bench.json")))
        runs = [json.loads(line) for line in open(os.path.join(folder, "results.jsonl"))]
        expected = len({(r["task"]) for r in runs}) * setup["seeds"] * len(setup["methods"])
        report = open(os.path.join(folder, "results.md")).read()
        rel = os.path.relpath(folder, "docs")
        report = re.sub(r"!\[([^\]]*)\]\(([^)]+)\)", lambda m, rel=rel: f"![{m.group(1)}]({rel}/{m.group(2)})", report)
        report = report.replace("\n# ", "\n## ").replace("\n## ", "\n### ")
        title = report.splitlines()[0].lstrip("# ")
        print(f"## {title}\n")
        if len(runs) < expected:
            print(f"**Incomplete run**: {len(runs)} of the {expected} task × method × seed runs "
                  "of the tasks started so far are in; the command resumes it.\n")
        print("\n".join(report.splitlines()[1:]) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
