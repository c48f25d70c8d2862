"""The benchmark: suites of real tasks × methods × seeds -> results.jsonl, results.json,
results.md and plots.

- `suites`: methods, tasks, suites, corpora and profiles (what runs);
- `splits`: the files every method of a task and seed sees (the same for all);
- `runner`: `run_bench`, the pretrained model, each method's run, the learning-rate grid;
- `report`: `write_report`, the tables, the paired verdicts and the plots.

Hyperparameters are chosen on validation data only. Results are appended as they come, so a run
that is stopped resumes where it was.
"""

from __future__ import annotations

from .report import write_report
from .runner import best_epoch, describe, git_state, read_suite, run_bench, user_task
from .splits import _protein_disjoint_split, _splits
from .suites import (AMP, DNA_CORPUS, ECOLI, METHODS, METRICS, PRETRAINED, PROFILES, PROTEIN_CORPUS,
                     SUITES, Profile, Suite, Task)

__all__ = ["AMP", "DNA_CORPUS", "ECOLI", "METHODS", "METRICS", "PRETRAINED", "PROFILES",
           "PROTEIN_CORPUS", "SUITES", "Profile", "Suite", "Task", "best_epoch", "describe", "git_state",
           "read_suite", "run_bench", "user_task", "write_report", "_protein_disjoint_split", "_splits"]
