"""results.json, results.md and plots from ``OUT/results.jsonl``: tables of scores, the paired
verdicts (`genobert.verdict`), the protocol checks and the published numbers."""

from __future__ import annotations

from collections import Counter
import json
import os

import numpy as np

from ..io import write_json, write_text
from ..train import stop_record
from ..verdict import spread
from .suites import FINETUNED, METHODS, METRICS, PRETRAINED_METHODS, RETUNED, SUITES

def _mean_std(values: list[float], seeds: int) -> str:
    """Mean ± std over seeds; a cell holding another number of seeds than the run's says so (one
    seed has no spread: '0.508 ± 0.000' would claim one)."""
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.3f} (1 seed)"
    count = "" if len(values) == seeds else f" ({len(values)} seeds)"
    return f"{np.mean(values):.3f} ± {spread(values):.3f}{count}"


def write_report(out: str) -> str:
    """results.json, results.md and plots (with matplotlib) from ``OUT/results.jsonl``."""
    with open(os.path.join(out, "results.jsonl")) as f:
        results = [json.loads(line) for line in f]
    with open(os.path.join(out, "bench.json")) as f:
        setup = json.load(f)
    write_json(os.path.join(out, "results.json"), {"setup": setup, "runs": results})
    every = results
    full = max((r.get("fraction", 1.0) for r in results), default=1.0)
    results = [r for r in results if r.get("fraction", 1.0) == full]  # the tables: all labels
    tasks = list(dict.fromkeys(r["task"] for r in results))
    methods = [m for m in METHODS if any(r["method"] == m for r in results)]
    splits = ["test"] + sorted({k for r in results for k in r if k.startswith("test_")})
    command = setup.get("command") or (f"genobert bench --suite {setup['suite']} --data-dir {setup['data_dir']} --profile "
               f"{setup['profile_name']} --seeds {setup['seeds']} --pretrained "
               f"{setup.get('pretrained', 'fresh')} --out {setup['out']}")
    if setup["methods"] != list(METHODS):
        command += f" --methods {','.join(setup['methods'])}"
    commands = setup.get("commands") or [command]  # the processes that filled this folder
    # a folder run only on a share of the labels reports that share: say so wherever it is named
    share = f", every run on {full:g} of the training labels" if full < 1 else ""
    folds = {t["name"]: t.get("folds") for t in setup.get("tasks", [])}  # K folds: K runs a cell
    lines = [f"# genobert bench: suite `{setup['suite']}`, profile `{setup['profile_name']}`", "",
             f"Written by `genobert bench` on {setup['date']}; machine: {setup['machine']}.", "",
             *([] if len(commands) == 1 else ["Filled by these commands (one process per core; each "
                                              "skips the runs already in results.jsonl):", ""]),
             "```\n" + "\n".join(commands) + "\n```", "",
             *_merged(commands, setup["out"]),
             f"Seeds: {_seed_list([r for r in results if not folds.get(r['task'])])}{share}"
             + "".join(f"; {task}: {k} folds" for task, k in folds.items() if k and task in tasks)
             + "; mean ± standard deviation (n − 1) over seeds on the test "
             "split (a cell with another number of seeds says how many): MCC and accuracy for "
             "classes of sequences and pairs, per-letter macro-F1 and accuracy for token tasks, "
             "Spearman's rho for regression. Profile: " + ", ".join(f"{k}={v}" for k, v in setup["profile"].items()), ""]
    # the runs a cell should hold: the seeds, or K for a cross-validated task (fold = seed)
    asked = setup.get("seeds_by_fraction", {}).get(f"{full:g}")  # recorded since 2026-12-08
    seeds = asked or max((_most_seeds(results, t) for t in tasks if not folds.get(t)), default=0)
    n_runs = {task: folds.get(task) or seeds for task in tasks}  # a cell holding fewer says so
    left_out = [m for m in METHODS if m not in methods]
    if left_out:
        lines += [f"Methods with no runs in this folder: {', '.join(left_out)}.", ""]
    lines += _rows_used(out, tasks, setup["profile"].get("max_train_tokens"), results)
    for split in splits:
        for metric in [m for m in METRICS if any(m in r.get(split, {}) for r in results)
                       # macro-F1 gets a table where it is a task's score (no MCC: token tasks)
                       and (m != "macro_f1" or any("mcc" not in r.get(split, {"mcc": 0}) for r in results))]:
            lines += [f"## {METRICS[metric]} on `{split}`" + (f" ({full:g} of the training labels)" if full < 1 else ""), "",
                      "| task | " + " | ".join(methods) + " |", "|---" * (len(methods) + 1) + "|"]
            per_method = {m: [] for m in methods}
            for task in tasks:
                cells = []
                for m in methods:
                    vals = [r[split][metric] for r in results
                            if r["task"] == task and r["method"] == m and metric in r.get(split, {})]
                    if vals:
                        per_method[m].append(np.mean(vals))
                    cells.append(_mean_std(vals, n_runs[task]))
                if any(c != "–" for c in cells):
                    lines.append(f"| {task} | " + " | ".join(cells) + " |")
            with_metric = [t for t in tasks if any(metric in r.get(split, {}) for r in results if r["task"] == t)]
            if split == "test":
                lines.append("| **average** | " + " | ".join(
                    f"{np.mean(v):.3f}" if len(v) == len(with_metric) else "–" for v in per_method.values()) + " |")
            lines.append("")
    lines += _pooled(results, tasks, methods)
    lines += _verdicts(results, tasks) + _protocol(results, every, setup)
    lines += _published(setup["suite"], tasks)
    skipped = sorted({f"{r['method']} on {r['task']}: {r['skipped']}" for r in results if "skipped" in r})
    if skipped:
        lines += ["## Not applicable", ""] + [f"- {s}" for s in skipped] + [""]
    efficiency, curves = _label_efficiency(out, every, tasks, methods, folds)
    lines += efficiency
    plots = _plots(out, results, tasks, methods) + curves
    if plots:
        lines += ["## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    path = os.path.join(out, "results.md")
    write_text(path, "\n".join(lines))
    return path


def _merged(commands: list[str], out: str) -> list[str]:
    """A line when some commands wrote into another --out and their rows were merged here."""
    import shlex

    from .runner import CHECKOUT

    def folder(path: str) -> str:  # docs/bench/dna and /…/checkout/docs/bench/dna are one folder
        return os.path.normpath(os.path.relpath(path, CHECKOUT) if os.path.isabs(path) else path)
    others = []
    for c in commands:
        words = shlex.split(c)
        there = next((w.split("=", 1)[1] for w in words if w.startswith("--out=")), None) or (
            words[words.index("--out") + 1] if "--out" in words[:-1] else out)
        if folder(there) != folder(out) and there not in others:
            others.append(there)
    return [f"Some of these commands wrote into {', '.join(f'`{o}`' for o in others)}, whose rows were "
            "merged into this folder; re-run, each fills its own `--out`.", ""] if others else []


def _most_seeds(rows, task: str) -> int:
    """The seeds a cell of ``task`` should hold: the most any method ran (in ``rows``)."""
    runs = {(r["method"], r["seed"]) for r in rows if r["task"] == task}
    return max(Counter(method for method, _ in runs).values(), default=0)


def _seed_list(results) -> str:
    """The seeds of the rows, '3 (0..2)' or '2 (0, 4)'."""
    seeds = sorted({r["seed"] for r in results})
    if not seeds:
        return "none"
    run = seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 2
    return f"{len(seeds)} (" + (f"{seeds[0]}..{seeds[-1]}" if run else ", ".join(map(str, seeds))) + ")"


def _rows_used(out: str, tasks, budget, results) -> list[str]:
    """Rows per split of seed 0 as every method saw them (as its rows recorded them, else from
    OUT/splits), and exact test repeats of training sequences where the folder recorded them."""
    counts, repeats = [], {}
    for task in tasks:
        folder = os.path.join(out, "splits", task)
        paths = {name: os.path.join(folder, "seed0", f"{name}.tsv") for name in ("train", "valid")}
        first = [r for r in results if r["task"] == task and r["seed"] == 0 and "n_train" in r and "n_valid" in r]
        if first:
            n = {"train": f"{first[0]['n_train']:,}", "valid": f"{first[0]['n_valid']:,}"}
        elif all(os.path.exists(p) for p in paths.values()):
            n = {name: f"{sum(1 for _ in open(p)) - 1:,}" for name, p in paths.items()}
        else:  # no seed-0 row recorded its counts, and no split files here
            n = {"train": "–", "valid": "–"}
        overlap = os.path.join(folder, "overlap.json")  # written by bench since 2026-12 (splits._overlap)
        if os.path.exists(overlap):
            with open(overlap) as f:
                o = json.load(f)
            repeats[task] = f"{o['test_in_train']:,} of {o['test_records']:,}"
        counts.append(f"| {task} | {n['train']} | {n['valid']} |")
    if not counts or all("| – | – |" in c for c in counts):
        return []
    note = (f"Training files over {budget:,} tokens (residues or bases; a pair counts up to the "
            f"window) were cut to a seeded random subset of their rows, validation files to "
            f"{budget // 4:,} tokens; test files are whole. " if budget else "")
    head = ["| task | train | valid |", "|---|---:|---:|"]
    if repeats:  # a column where the folder recorded them
        head = ["| task | train | valid | test repeats of training sequences |", "|---|---:|---:|---:|"]
        counts = [f"{row} {repeats.get(task, 'not recorded')} |" for row, task in zip(counts, tasks, strict=True)]
        note = ("Test repeats: test records whose sequence (case aside; a pair in either order) is in "
                "the whole training file, or for a cross-validated task, records whose sequence occurs "
                "more than once in its file (copies may fall in different folds). " + note)
    return [note + "Rows used for seed 0 (other seeds draw their own rows where a split is carved or cut, in about the same numbers):", "",
            *head, *counts, ""]


def _label_efficiency(out: str, results, tasks, methods, folds: dict) -> tuple[list[str], list[str]]:
    """Runs on subsets of the labels (`--fractions`): the test score against the number of
    training labels per method (mean ± standard deviation over seeds), the paired pretrained - scratch verdict
    per fraction, and a plot per task (log x, the seeds' spread as a band)."""
    fractions = sorted({r.get("fraction", 1.0) for r in results})
    if len(fractions) < 2:
        return [], []
    lines = ["## Label efficiency", "",
             "Every method trained on the same seeded, stratified subsets of the training and "
             "validation rows (at least two per class), tested on the whole test file. Seeds per share: "
             + "; ".join(f"{f:g}: {_seed_list([r for r in results if r.get('fraction', 1.0) == f])}"
                         for f in fractions) + ".", ""]
    curves = {}
    for task in [t for t in tasks if any(r["task"] == t and r.get("fraction", 1.0) < 1 for r in results)]:
        metric = _score(results, task)
        lines += [f"### {task}: test {METRICS[metric]} by training labels", "",
                  "| share | labels | " + " | ".join(methods) + " | pretrained − scratch | "
                  "labels bert-scratch needs for bert-pretrained's mean |",
                  "|---" * (len(methods) + 4) + "|"]
        rows_of_task = []
        for frac in fractions:
            rows = [r for r in results if r["task"] == task and r.get("fraction", 1.0) == frac and "test" in r]
            if not rows:
                continue
            cells, means = [], {}
            for m in methods:
                vals = [r["test"][metric] for r in rows if r["method"] == m and metric in r["test"]]
                cells.append(_mean_std(vals, folds.get(task) or _most_seeds(rows, task)))
                if vals:
                    means[m] = float(np.mean(vals))
                    curves.setdefault(task, {}).setdefault(m, []).append(
                        (np.mean([r["n_train"] for r in rows if r["method"] == m]), means[m], spread(vals)))
            v = pretrained_vs_scratch(rows, metric)
            n = int(np.mean([r["n_train"] for r in rows]))
            rows_of_task.append((f"| {frac:g} | {n:,} | " + " | ".join(cells) + f" | {v.text() if v else '–'} |",
                                 means.get("bert-pretrained"), n))
        scratch = sorted(curves.get(task, {}).get("bert-scratch", []))
        lines += [text + f" {_labels_needed(scratch, target, n)} |" for text, target, n in rows_of_task]
        small = [r for r in results if r["task"] == task and r.get("fraction", 1.0) < 1 and "best_epoch" in r
                 and r["method"] in FINETUNED]
        ties = sum(bool(r.get("select")) for r in small)
        lines += ["", *_first_epoch_stops([r for r in results if r["task"] == task], fractions),
                  *([f"Ties of the validation score broken by the lower validation loss in {ties} of {len(small)} "
                     "BERT runs on the smaller shares (the others took the first of ties)."] if small else [])]
        lines.append("")
    return lines, _efficiency_plots(out, curves)


def _first_epoch_stops(rows: list[dict], fractions: list[float]) -> list[str]:
    """How often a BERT's validation score never beat its first epoch, so that early stopping kept
    a model trained for one epoch: with a few validation rows every epoch may tie (MCC 0), and
    then the stopping rule, not the model, decides the test score."""
    parts = []
    for frac in fractions:
        bert = [r for r in rows if r.get("fraction", 1.0) == frac and "best_epoch" in r and r["method"] in FINETUNED]
        counts = [f"{m} {sum(r['best_epoch'] == 1 for r in runs)} of {len(runs)}"
                  for m in FINETUNED
                  if (runs := [r for r in bert if r["method"] == m])]
        if any(r["best_epoch"] == 1 for r in bert):
            valid = sorted({r["n_valid"] for r in bert if "n_valid" in r})
            parts.append(f"share {frac:g}: " + ", ".join(counts)
                         + (f" ({valid[0]}{f'-{valid[-1]}' if len(valid) > 1 else ''} validation rows)"
                            if valid else ""))
    return [f"Best validation epoch was the first one (validation never improved on it) in {'; '.join(parts)}."] if parts else []


def pretrained_vs_scratch(rows: list[dict], metric: str):
    """bert-pretrained minus bert-scratch on the test ``metric`` of ``rows`` (one task, one share
    of the labels), paired by seed (`genobert.verdict.paired`); None unless both ran."""
    from ..verdict import paired

    by = {m: {r["seed"]: r["test"] for r in rows if r["method"] == m and "test" in r}
          for m in ("bert-pretrained", "bert-scratch")}
    return paired(by["bert-pretrained"], by["bert-scratch"], metric, tuple(by)) if all(by.values()) else None


def _labels_needed(points: list, target: float | None, own: int) -> str:
    """Labels at which the curve ``points`` ((labels, mean, std), by labels) first reaches
    ``target``, interpolated linearly in log labels, and how many times ``own`` (the labels the
    target was scored with) that is. ``≤`` / ``>``: reached at the first point / never."""
    if not points or target is None:
        return "–"
    if points[0][1] >= target:
        return f"≤ {points[0][0]:,.0f}"
    for (n0, y0, _), (n1, y1, _) in zip(points[:-1], points[1:], strict=True):
        if y0 < target <= y1:
            n = float(np.exp(np.log(n0) + (target - y0) / (y1 - y0) * (np.log(n1) - np.log(n0))))
            return f"≈ {n:,.0f}" + (f" ({n / own:.1f}×)" if own else "")
    return f"> {points[-1][0]:,.0f}"


def _efficiency_plots(out: str, curves: dict) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    names = []
    for task, by_method in curves.items():
        fig, ax = plt.subplots(figsize=(6.5, 4))
        for m, points in by_method.items():
            x, y, sd = (np.asarray(v) for v in zip(*sorted(points), strict=True))
            ax.plot(x, y, "-o", label=m, lw=2 if m in ("bert-pretrained", "bert-scratch") else 1)
            ax.fill_between(x, y - sd, y + sd, alpha=0.15)
        ax.set_xscale("log")
        ax.set(xlabel="training labels", ylabel="test score", title=f"{task}: score by number of labels")
        ax.legend(fontsize=7, loc="lower right")
        fig.tight_layout()
        name = f"labels_{task}.png"
        fig.savefig(os.path.join(out, name), dpi=100)
        plt.close(fig)
        names.append(name)
    return names


def _pooled(results, tasks, methods) -> list[str]:
    """Cross-validated tasks: MCC and accuracy of the out-of-fold predictions pooled over the folds
    (the tables above give the per-fold mean ± std)."""
    from ..metrics import classification_metrics

    rows = []
    for task in tasks:
        cells = []
        for m in methods:
            runs = [r for r in results if r["task"] == task and r["method"] == m and "test_pred" in r]
            if not runs:
                cells.append("–")
                continue
            probs = np.concatenate([np.asarray(r["test_pred"]["probs"]) for r in runs])
            labels = np.concatenate([np.asarray(r["test_pred"]["labels"]) for r in runs])
            s = classification_metrics(probs, labels)
            cells.append(f"{s['mcc']:.3f} / {s['accuracy']:.3f} ({len(runs)} folds)")
        if any(c != "–" for c in cells):
            rows.append(f"| {task} | " + " | ".join(cells) + " |")
    if not rows:
        return []
    return ["## Pooled out-of-fold predictions (MCC / accuracy)", "",
            "| task | " + " | ".join(methods) + " |", "|---" * (len(methods) + 1) + "|", *rows, ""]


def _score(results, task: str) -> str:
    """The metric a task is judged by: MCC, or macro-F1 (token tasks), Spearman (regression), IoU
    (spans)."""
    present = {k for r in results if r["task"] == task and "test" in r for k in r["test"]}
    return next(m for m in ("mcc", "macro_f1", "spearman", "iou", "accuracy") if m in present)


def by_method(results) -> dict:
    """The rows with a test score as ``(task, method) -> seed -> row`` (a seed run twice: the
    later row), what the paired comparisons look up."""
    by = {}
    for r in results:
        if "test" in r:
            by.setdefault((r["task"], r["method"]), {})[r["seed"]] = r
    return by


def rivals(by: dict, task: str, metric: str) -> list[str]:
    """The methods without pretraining that ran on ``task`` with a validation ``metric`` (``by``:
    (task, method) -> seed -> results row): the pool the best rival is picked from."""
    return [m for m in METHODS if m not in PRETRAINED_METHODS and (task, m) in by
            and all(metric in r.get("valid", {}) for r in by[(task, m)].values())]


def best_rival(by: dict, task: str, metric: str) -> str | None:
    """Of `rivals`, the one with the best mean validation ``metric``; None when there is none."""
    return max(rivals(by, task, metric),
               key=lambda m: np.mean([r["valid"][metric] for r in by[(task, m)].values()]), default=None)


def _versions(a: dict, b: dict) -> str:
    """The seeds whose two runs (``a``, ``b``: seed -> row) ran different genobert code (the
    package's git tree differs: any change to it, whether or not it touches training)."""
    seeds = [sd for sd in sorted(set(a) & set(b))
             if a[sd].get("package") and b[sd].get("package") and a[sd]["package"] != b[sd]["package"]]
    return (f" (seed{'s' * (len(seeds) > 1)} {', '.join(map(str, seeds))}: the pair ran different "
            "genobert code)") if seeds else ""


def _pool(by: dict, task: str, metric: str) -> str:
    """'best on validation of kmer-lr, cnn, bert-scratch': a rival is only as good as its pool."""
    return f"best on validation of {', '.join(rivals(by, task, metric))}"


def _verdicts(results, tasks) -> list[str]:
    """Per task: pretrained against scratch BERT, and against the best other method (chosen by its
    mean validation score), paired by seed (`genobert.verdict`)."""
    from ..verdict import DECIDED, failed_to_train, paired

    lines = ["## Did pretraining help?", "",
             "Pretrained minus scratch BERT on each task's test score (MCC; macro-F1 for token tasks, "
             "Spearman for regression, IoU for spans), paired by seed (the same split for both): "
             "the mean difference, its 95 % t interval (n - 1 degrees of freedom), and 'helped' / "
             "'hurt' only when the interval excludes 0. A run predicting one class failed to train; "
             "its seed is left out, never counted as a win. Both sides scoring the same on every seed (deterministic "
             "on a fixed split) is one measurement: no interval, no verdict. The second line compares with the best "
             "method without pretraining, picked by mean validation score.", ""]
    by = by_method(results)
    wins = {"scratch": [0, 0, 0], "best": [0, 0, 0]}  # helped, with a verdict, without one
    for task in tasks:
        if not any("test" in r for r in results if r["task"] == task):
            continue
        metric = _score(results, task)
        pre = by.get((task, "bert-pretrained")) or {}
        probes = {m: by.get((task, m)) for m in ("bert-probe", "bert-probe-scratch")}
        probed = all(probes.values()) and metric in next(iter(probes["bert-probe"].values()))["test"]
        english = (task, "bert-english") in by and (task, "english-scratch") in by
        if not pre and not probed and not english:
            continue
        scores = {seed: r["test"] for seed, r in pre.items()}
        lines.append(f"- **{task}**")
        heading = len(lines)
        if pre and (task, "bert-scratch") in by:
            v = paired(scores, {sd: r["test"] for sd, r in by[(task, "bert-scratch")].items()}, metric,
                       ("pretrained", "scratch"))
            wins["scratch"][0] += v.verdict == "helped"
            wins["scratch"][1 if v.verdict in DECIDED else 2] += 1
            lines.append(f"  - vs scratch: {v.text(' ' + METRICS[metric])}"
                         + _versions(pre, by[(task, "bert-scratch")]))
        best = best_rival(by, task, metric) if pre else None
        if best:
            v = paired(scores, {sd: r["test"] for sd, r in by[(task, best)].items()}, metric,
                       ("pretrained", best))
            wins["best"][0] += v.verdict == "helped"
            wins["best"][1 if v.verdict in DECIDED else 2] += 1
            lines.append(f"  - vs {best} ({_pool(by, task, metric)}): {v.text()}" + _versions(pre, by[(task, best)]))
        failed = [f"{m} seed {sd}" for m in METHODS for sd, r in by.get((task, m), {}).items()
                  if failed_to_train(r["test"])]
        if failed:
            lines.append(f"  - failed to train (one class predicted): {', '.join(failed)}")
        if pre and (task, "bert-adapted") in by:
            v = paired({sd: r["test"] for sd, r in by[(task, "bert-adapted")].items()}, scores, metric,
                       ("adapted", "pretrained"))
            lines.append(f"  - task-adaptive MLM first (bert-adapted) vs bert-pretrained: {v.text()}")
        if english:
            v = paired({sd: r["test"] for sd, r in by[(task, "bert-english")].items()},
                       {sd: r["test"] for sd, r in by[(task, "english-scratch")].items()}, metric,
                       ("English-pretrained", "its random-weight twin"))
            words = any(r.get("mapping") == "words" for r in by[(task, "bert-english")].values())
            lines.append(f"  - Kao & Lee: bert-english vs english-scratch (same model, tokens, budget"
                         f"{'; letters as fixed English words' if words else ''}): {v.text()}")
        if probed:
            probe = {sd: r["test"] for sd, r in probes["bert-probe"].items()}
            v = paired(probe, {sd: r["test"] for sd, r in probes["bert-probe-scratch"].items()}, metric,
                       ("probe", "probe of random weights"))
            lines.append(f"  - frozen-embedding probe, pretrained vs random weights: {v.text()}")
            rival = best_rival(by, task, metric) if not pre else None  # no fine-tuned rows yet
            if rival:
                v = paired(probe, {sd: r["test"] for sd, r in by[(task, rival)].items()}, metric,
                           ("probe", rival))
                lines.append(f"  - probe vs {rival} ({_pool(by, task, metric)}; no "
                             f"fine-tuned BERT yet): {v.text()}")
        if len(lines) == heading:  # nothing to compare yet (e.g. pretrained runs without scratch)
            lines.pop()
    if wins["scratch"][1] or wins["scratch"][2]:
        undecided = wins["scratch"][2]
        lines += ["", f"Pretrained beat scratch on {wins['scratch'][0]} of {wins['scratch'][1]} tasks "
                  f"and the best method without pretraining (of those run) on {wins['best'][0]} of {wins['best'][1]} "
                  "(interval excluding 0)" + (f"; {undecided} more task{'s' * (undecided > 1)} had no "
                                              "verdict against scratch (too few seeds, failed runs or one "
                                              "measurement)" if undecided else "") + "."]
    return lines + [""]


def _peak(r: dict) -> dict:
    """A run's `best_epoch` record; for rows written before cnn and bert-english had patience,
    the epoch they kept (``chosen``) against the fixed number of epochs they ran."""
    if "best_epoch" in r or "epoch" not in r.get("chosen", {}) or not (r.get("curve") or {}).get("valid"):
        return r
    ran = len(r["curve"]["valid"])
    return stop_record(r["chosen"]["epoch"], ran, cap=ran)  # fixed epochs: the cap was what ran


def _protocol(results, every, setup: dict) -> list[str]:
    """Fine-tuning effort and its side effects: the grid's choices, how often the best epoch was
    the last one (a run still improving at the cap) per task and method, CPU time per task,
    corpus overlap removed, the commits (``every``: all rows, label-efficiency ones too)."""
    lines = ["## Protocol checks", ""]
    peaks = [(r, _peak(r)) for r in results if r["method"] in FINETUNED + RETUNED]
    peaks = [(r, p) for r, p in peaks if "best_epoch" in p]
    if peaks:
        last = Counter((r["task"], r["method"]) for r, p in peaks if p["best_is_last"])
        runs = Counter((r["task"], r["method"]) for r, _ in peaks)
        untuned = sorted({f"{r['task']} {r['method']}" for r, _ in peaks if r["method"] in RETUNED and "lr" not in r})
        cap = (f" (cap {setup['profile']['epochs']} epochs, patience {setup['profile'].get('patience')}"
               + ("; the rows run the old way, named below, their fixed epochs" if untuned else "") + ")"
               if "profile" in setup else "")
        lines.append(f"- Best validation epoch was the last one, at the cap, in {sum(last.values())} of "
                     f"{len(peaks)} runs trained by epochs{cap}" + (": " + "; ".join(
                         f"{t} {m} {n} of {runs[t, m]}" for (t, m), n in sorted(last.items())) if last else "") + ".")
        bert = [r for r, _ in peaks if r["method"] in FINETUNED]
        ties = sum(bool(r.get("select")) for r in bert)
        if bert:
            lines.append(f"- Ties of the validation score (epochs, learning rates) broken by the lower validation "
                         f"loss in {ties} of {len(bert)} BERT runs" + (
                             f"; the other {len(bert) - ties}, run before that rule, took the first of ties (the "
                             "earliest epoch, the smallest learning rate)." if ties < len(bert) else "."))
        if untuned:
            lines.append("- Run with one learning rate and a fixed number of epochs (before these methods "
                         "had BERT's grid and patience): " + "; ".join(untuned) + ".")
        chosen = sorted({f"{r['task']} {r['method']}: lr {r['lr']:g}" for r, _ in peaks if r["seed"] == 0 and "grid" in r})
        if chosen:
            lines.append("- Learning rates chosen on seed 0's validation split: " + "; ".join(chosen) + ".")
    shared = sorted({(r["task"], r["shared_from"]) for r in results if r.get("shared_from")})
    if shared:
        lines.append("- Fine-tunings taken from a task with the same training and validation files, tested "
                     "on this task's test file: " + "; ".join(f"{task} from {twin}" for task, twin in shared) + ".")
    cpu = Counter()
    for r in every:
        cpu[r["task"]] += r.get("cpu_seconds", 0)
    elsewhere = sum(r.get("shared_cpu_seconds", 0) for r in every)
    if sum(cpu.values()):
        lines.append(f"- CPU time of the runs (process time, all threads; label-efficiency runs included): "
                     f"{sum(cpu.values()) / 3600:.2f} h" + (
                         f", and {elsewhere / 3600:.2f} h of the fine-tunings taken from other tasks, spent there"
                         if elsewhere else "") + "; per task: " + "; ".join(
                             f"{t} {c / 3600:.2f} h" for t, c in cpu.items()) + ".")
    for alphabet, o in (setup.get("pretrained_models") or {}).items():
        removed = o.get("letters_removed_as_test_overlap")
        lines.append(f"- Pretrained {alphabet} model: {o.get('path')} ({o.get('preset')}, "
                     f"{o.get('tokens_seen') or 0:,} tokens seen); letters removed from its corpus as "
                     f"test overlap: {'not recorded' if removed is None else f'{removed:,}'}"
                     + (f", proteins dropped: {o['records_dropped_as_test_overlap']:,}"
                        if alphabet == "protein" and o.get("records_dropped_as_test_overlap") is not None else "")
                     + ".")
    commits = Counter(r.get("commit") or "unknown" for r in every)
    dirty = Counter(r.get("commit") or "unknown" for r in every if r.get("dirty"))
    lines.append("- Code (runs per commit): " + ", ".join(
        f"{c[:12]} {n}" + (f" ({dirty[c]} with uncommitted changes)" if dirty[c] else "")
        for c, n in sorted(commits.items())) + ".")
    return lines + [""]


def _published(suite: str, tasks: list[str]) -> list[str]:
    """The published numbers that the data manifests record, beside ours (protocols may differ)."""
    from ..manifests import load_manifests

    manifests = load_manifests()
    lines = ["## Published numbers", "", "From `data_manifests/` (as SOURCES.md recorded them; check "
             "the protocol before comparing: splits and test sets often differ from ours).", ""]
    for task in SUITES[suite].tasks if suite in SUITES else ():
        m = manifests.get(task.train.split("/")[0])
        if task.name in tasks and m and m.info.get("published_baselines"):
            lines.append(f"- {task.name}: {m.info['published_baselines'].lstrip('— ')}")
    return lines + [""] if len(lines) > 4 else []


def _plots(out, results, tasks, methods) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    names = []
    for task in tasks:
        if not any("curve" in r and "loss" in r["curve"] for r in results if r["task"] == task):
            continue  # no BERT run of this task yet: no curves to draw
        metric = _score(results, task)
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
        for method, style in (("bert-pretrained", "-"), ("bert-scratch", "--")):
            for r in (r for r in results if r["task"] == task and r["method"] == method and "curve" in r):
                loss = r["curve"]["loss"]
                axes[0].plot([p["step"] for p in loss], [p["loss"] for p in loss], style,
                             color="C0" if method == "bert-pretrained" else "C1",
                             label=f"{method} seed {r['seed']}", alpha=0.8)
                val = r["curve"]["valid"]
                axes[1].plot([p["epoch"] for p in val], [p.get(metric) for p in val], style,
                             color="C0" if method == "bert-pretrained" else "C1", alpha=0.8)
        axes[0].set(title=f"{task}: fine-tuning loss", xlabel="step", ylabel="loss")
        axes[1].set(title=f"validation {METRICS[metric]}", xlabel="epoch", ylabel=METRICS[metric])
        axes[0].legend(fontsize=7)
        fig.tight_layout()
        name = f"curves_{task}.png"
        fig.savefig(os.path.join(out, name), dpi=100)
        plt.close(fig)
        names.append(name)
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(tasks)) + 2, 4))  # room for the legend beside
    width = 0.8 / max(len(methods), 1)
    for j, m in enumerate(methods):
        means, stds = [], []
        for task in tasks:
            vals = ([r["test"][_score(results, task)] for r in results
                     if r["task"] == task and r["method"] == m and "test" in r]
                    if any("test" in r for r in results if r["task"] == task) else [])
            means.append(np.mean(vals) if vals else 0)
            stds.append(spread(vals))
        ax.bar(np.arange(len(tasks)) + j * width, means, width, yerr=stds, label=m)
    ax.set_xticks(np.arange(len(tasks)) + 0.4 - width / 2, tasks, rotation=15, fontsize=8)
    ax.set_ylabel("test score")
    ax.set_title("test score per task and method, mean ± std over seeds\n(MCC; macro-F1 for token, "
                 "Spearman for regression, IoU for span tasks)", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)  # beside the bars
    fig.tight_layout()
    fig.savefig(os.path.join(out, "mcc.png"), dpi=100)
    plt.close(fig)
    return names + ["mcc.png"]
