"""The benchmark: suites of real tasks × methods × seeds -> results.jsonl, results.json,
results.md and plots.

Every method sees the same splits: a task's validation file, or one carved from its training file
(stratified, seeded by the run's seed) and written under ``OUT/splits``. Hyperparameters are chosen
on validation data only. One pretraining per corpus (with every test sequence of the suite removed
from it) is reused by every task and seed. Results are appended as they come, so a run that is
stopped resumes where it was.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from .baselines import BASELINES, TASK_BASELINES, Split
from .errors import InputError, NotApplicable
from .io import read_records
from .tasks import classification_metrics
from .train import finetune, label_names, pretrain, read_labelled, stratified_split

METHODS = ("kmer-lr", "onehot-lr", "cnn", "bert-scratch", "bert-pretrained", "bert-english")
METRICS = {"mcc": "MCC", "accuracy": "accuracy", "macro_f1": "macro-F1", "spearman": "Spearman",
           "iou": "span IoU", "exact": "exact spans"}


@dataclass(frozen=True)
class Task:
    name: str
    alphabet: str
    train: str  # paths relative to the data directory (or, with `derived`, to OUT/derived/NAME)
    test: str
    valid: str | None = None
    subsets: tuple[tuple[str, str, str], ...] = ()  # (name, column, value): test rows to report apart
    kind: str = "sequence"  # the finetune --task: sequence, regression, token or pair
    settings: tuple[tuple[str, str], ...] = ()  # more finetune settings, e.g. the label column
    derived: str | None = None  # a genobert.derived builder that writes the files first


@dataclass(frozen=True)
class Suite:
    name: str
    tasks: tuple[Task, ...]
    corpora: dict = field(default_factory=dict)  # alphabet -> corpus files (relative)


_G = "pretrain_dna_genomes/"
_P = "pretrain_protein_uniprot_proteomes/"
DNA_CORPUS = (_G + "Saccharomyces_cerevisiae.R64-1-1.dna.toplevel.fa.gz",
              _G + "korflab_1pct_celegans_WS282.fa.gz", _G + "korflab_1pct_dmelanogaster.fa.gz")
# korflab A. thaliana is left out: 251 Arabidopsis task sequences occur in it verbatim (SOURCES.md)
PROTEIN_CORPUS = tuple(_P + f for f in (
    "UP000000625-E.coli.fasta.gz", "UP000002311-S.cerevisiae.fasta.gz", "UP000001425-Synechocystis.fasta.gz",
    "UP000001450-P.falciparum.fasta.gz", "UP000008524-T.brucei.fasta.gz", "UP000001197-P.anserina.fasta.gz"))
ECOLI = Task("ecoli_promoter", "dna", "dna_ecoli_promoter_ipromoter2l/train.tsv",
             "dna_ecoli_promoter_ipromoter2l/test.tsv")
AMP = Task("antimicrobial_peptide", "protein", "prot_antimicrobial_peptide_veltri2018/train.tsv",
           "prot_antimicrobial_peptide_veltri2018/test.tsv", "prot_antimicrobial_peptide_veltri2018/valid.tsv")
_C = "dna_promoter_cnnprom_umarov2017/"
SUITES = {
    "quick": Suite("quick", (ECOLI, AMP), {"dna": DNA_CORPUS[:1], "protein": PROTEIN_CORPUS[:2]}),
    "dna": Suite("dna", (
        ECOLI,
        Task("human_tata_promoter", "dna", "dna_human_tata_promoter_epd/train.tsv", "dna_human_tata_promoter_epd/test.tsv"),
        Task("enhancer_layer1", "dna", "dna_enhancer_ienhancer_liu2016/layer1_enhancer_vs_non_train.tsv",
             "dna_enhancer_ienhancer_liu2016/layer1_enhancer_vs_non_test.tsv",
             subsets=(("unseen", "in_train_exact", "0"),)),
        Task("bsubtilis_promoter", "dna", _C + "bsubtilis_train.tsv", _C + "bsubtilis_test.tsv"),
        Task("ecoli_sigma70_promoter", "dna", _C + "ecoli_sigma70_train.tsv", _C + "ecoli_sigma70_test.tsv"),
        Task("mouse_tata_promoter", "dna", _C + "mouse_tata_train.tsv", _C + "mouse_tata_test.tsv"),
    ), {"dna": DNA_CORPUS}),
    "protein": Suite("protein", (
        AMP,
        Task("antiinflammatory_peptide", "protein", "prot_antiinflammatory_peptide_aippred/train.tsv",
             "prot_antiinflammatory_peptide_aippred/test.tsv"),
        Task("dna_binding_protein", "protein", "prot_dna_binding_targetdbp/train.tsv",
             "prot_dna_binding_targetdbp/test.tsv", subsets=(("unseen", "in_train_exact", "0"),)),
        Task("secondary_structure_ss3", "protein", "prot_ss3_flip_netsurfp/train.tsv",
             "prot_ss3_flip_netsurfp/test.tsv", "prot_ss3_flip_netsurfp/valid.tsv", kind="token",
             settings=(("label_column", "ss3"), ("mask_column", "resolved_mask"))),
        Task("ppi_random_pairs", "protein", "train.tsv", "test.tsv", kind="pair", derived="ppi_random"),
        Task("ppi_unseen_proteins", "protein", "train.tsv", "test.tsv", kind="pair", derived="ppi_unseen"),
        Task("conservation_mean", "protein", "train.tsv", "test.tsv", "valid.tsv", kind="regression",
             derived="conservation_mean"),
        Task("longest_helix", "protein", "train.tsv", "test.tsv", "valid.tsv", kind="span",
             derived="longest_helix"),
    ), {"protein": PROTEIN_CORPUS}),
}


@dataclass(frozen=True)
class Profile:
    preset: str
    pretrain_steps: int
    seq_len: int
    pretrain_batch: int
    pretrain_lr: float
    epochs: int
    finetune_lr: float
    batch_size: int
    max_len: int  # fine-tuning window
    english_epochs: int = 3  # bert-english (a 6 × 384 model: slow on CPUs)
    # Training files larger than this many tokens (residues; a pair counts up to max_len) are
    # cut to a seeded random subset of their rows within it, validation files to a quarter of it;
    # test files never. None: every row.
    max_train_tokens: int | None = None


PROFILES = {  # fixed before any test result was seen; not tuned on test data
    # 2 cores, about an hour per suite: the budget binds the three largest dna tasks and the six
    # large protein ones (per-residue, pairs, derived), and none of the others
    "cpu": Profile("tiny", 400, 256, 32, 2e-3, 8, 1e-3, 32, 256, 3, max_train_tokens=400_000),
    "gpu": Profile("small", 6000, 512, 128, 5e-4, 10, 1e-4, 64, 512, 5),
}


def _path(data_dir: str, rel: str) -> str:
    path = os.path.join(data_dir, rel)
    if not os.path.isfile(path):
        raise InputError("missing; see `genobert data verify --data-dir DIR`", path=path)
    return path


def _task_path(task: Task, data_dir: str, out: str, rel: str) -> str:
    if task.derived:
        from .derived import DERIVED

        folder = os.path.join(out, "derived", task.name)
        DERIVED[task.derived](data_dir, folder)
        return os.path.join(folder, rel)
    return _path(data_dir, rel)


def _read_task(task: Task, path: str):
    """The labelled records of a task's file, read as its finetune task reads them."""
    from types import SimpleNamespace

    from .tasks import get_task

    settings = SimpleNamespace(**{"label_column": "label", "mask_column": None,
                                  "pair_columns": "sequence_a,sequence_b", "sequences": None,
                                  **dict(task.settings)})
    return get_task(task.kind).read(path, task.alphabet, settings)


def _rows(path: str) -> tuple[str, list[str]]:
    with open(path, newline="") as f:
        header, *rows = f.read().splitlines()
    return header, rows


def _write_rows(path: str, header: str, rows: list[str]) -> None:
    with open(path + ".part", "w") as f:
        f.write("\n".join([header] + rows) + "\n")
    os.replace(path + ".part", path)


def _cap(task: Task, path: str, budget: int, max_len: int, seed: int) -> None:
    """Cut a table to a seeded random subset of its rows holding at most ``budget`` tokens."""
    seqs = _read_task(task, path).seqs
    cost = [min(sum(map(len, s)) + 3, max_len) if isinstance(s, tuple) else len(s) for s in seqs]
    if sum(cost) <= budget:
        return
    header, rows = _rows(path)
    if len(rows) != len(cost):
        raise InputError(f"expected one row per record ({len(cost)}), found {len(rows)} lines", path=path)
    keep, total = [], 0
    for i in np.random.default_rng(seed).permutation(len(cost)):
        if total + cost[i] > budget:
            break
        keep.append(i)
        total += cost[i]
    _write_rows(path, header, [rows[i] for i in sorted(keep)])


def _splits(task: Task, data_dir: str, out: str, seed: int, profile: Profile) -> dict[str, str]:
    """train / valid / test (/ subsets) files for one task and seed, the same for every method.

    Without a validation file, 10 % of the training rows (stratified by class where there are
    classes, seeded) are carved out, every column kept. Then the profile's token budget cuts
    the training and validation files (never the test file)."""
    folder = os.path.join(out, "splits", task.name, f"seed{seed}")
    files = {"train": os.path.join(folder, "train.tsv"), "valid": os.path.join(folder, "valid.tsv"),
             "test": _task_path(task, data_dir, out, task.test)}
    full = {name: os.path.join(folder, f"{name}.full.tsv") for name in ("train", "valid")}
    if not os.path.exists(files["valid"]):
        os.makedirs(folder, exist_ok=True)
        train = _task_path(task, data_dir, out, task.train)
        if task.valid:
            shutil.copyfile(train, full["train"])
            shutil.copyfile(_task_path(task, data_dir, out, task.valid), full["valid"])
        else:
            data = _read_task(task, train)
            names = label_names(data.targets) if task.kind in ("sequence", "pair") else None
            y = [names.index(t) for t in data.targets] if names else [None] * len(data.targets)
            tr, va = stratified_split(len(y), y, 0.1, seed)  # stratified when y are classes
            header, rows = _rows(train)
            if len(rows) != len(y):
                raise InputError(f"expected one row per record ({len(y)}), found {len(rows)} lines",
                                 path=train)
            for name, idx in (("valid", va), ("train", tr)):
                _write_rows(full[name], header, [rows[i] for i in idx])
        if profile.max_train_tokens:
            for name, budget in (("train", profile.max_train_tokens), ("valid", profile.max_train_tokens // 4)):
                _cap(task, full[name], budget, profile.max_len, seed)
        for name in ("train", "valid"):  # valid last: its presence marks the seed's split complete
            os.replace(full[name], files[name])
    for name, column, value in task.subsets:
        path = os.path.join(out, "splits", task.name, f"test_{name}.tsv")
        if not os.path.exists(path):
            with open(files["test"], newline="") as f:
                header, *rows = f.read().splitlines()
            keep = {r.line for r in read_records(files["test"], alphabet=task.alphabet)
                    if (r.extra or {}).get(column) == value}
            with open(path, "w") as f:
                f.write("\n".join([header] + [row for n, row in enumerate(rows, start=2) if n in keep]) + "\n")
        files[f"test_{name}"] = path
    return files


def _load(path: str, alphabet: str, names: list[str]) -> Split:
    _, seqs, labels, _ = read_labelled(path, alphabet)
    return Split(seqs, np.asarray([names.index(lab) for lab in labels]))


def _pretrained(suite: Suite, alphabet: str, data_dir: str, out: str, profile: Profile) -> str:
    folder = os.path.join(out, "pretrained", alphabet)
    if os.path.exists(os.path.join(folder, "model.safetensors")):
        return folder
    exclude = {seq for t in suite.tasks if t.alphabet == alphabet
               for s in _read_task(t, _task_path(t, data_dir, out, t.test)).seqs
               for seq in (s if isinstance(s, tuple) else (s,))}
    corpus = [_path(data_dir, f) for f in suite.corpora[alphabet]]
    pretrain(corpus, folder, tokenizer="char", alphabet=alphabet, preset=profile.preset,
             seq_len=profile.seq_len, max_steps=profile.pretrain_steps, batch_size=profile.pretrain_batch,
             lr=profile.pretrain_lr, seed=0, exclude=exclude, save_steps=max(profile.pretrain_steps // 4, 1),
             resume=os.path.isdir(os.path.join(folder, "checkpoints")))
    shutil.rmtree(os.path.join(folder, "checkpoints"), ignore_errors=True)
    return folder


def _run_bert(task, files, init, run_dir, profile, seed, names) -> dict:
    from .infer import classify

    model = finetune(files["train"], run_dir, valid=files["valid"], test=files["test"], init=init,
                     preset=profile.preset, tokenizer="char", alphabet=task.alphabet,
                     max_len=profile.max_len, epochs=profile.epochs, batch_size=profile.batch_size,
                     lr=profile.finetune_lr, seed=seed, task=task.kind, **dict(task.settings))
    shutil.rmtree(os.path.join(run_dir, "checkpoints"), ignore_errors=True)
    metrics = json.load(open(os.path.join(model, "metrics.json")))
    result = {"test": metrics["test"], "valid": metrics["valid"],
              "curve": {"loss": metrics["loss_curve"], "valid": metrics["valid_curve"]}}
    for key in files:
        if key.startswith("test_"):
            preds = list(classify(model, files[key]))
            probs = np.stack([p.probs for p in preds])
            y = np.asarray([names.index(p.true_label) for p in preds])
            result[key] = classification_metrics(probs, y)
    return result


def _run_baseline(method, task, files, seed, names, profile: Profile) -> dict:
    if task.kind != "sequence":
        return _run_task_baseline(method, task, files, seed)
    train, valid = _load(files["train"], task.alphabet, names), _load(files["valid"], task.alphabet, names)
    extra = {"epochs": profile.english_epochs} if method == "bert-english" else {}
    model = BASELINES[method](alphabet=task.alphabet, seed=seed, **extra).fit(train, valid)
    result = {"chosen": model.chosen_}
    if getattr(model, "curve_", None):
        result["curve"] = {"valid": model.curve_}
    for key in ("valid", "test", *[k for k in files if k.startswith("test_")]):
        split = valid if key == "valid" else _load(files[key], task.alphabet, names)
        result[key] = classification_metrics(model.predict_proba(split.seqs), split.labels)
    return result


def _run_task_baseline(method, task, files, seed) -> dict:
    """A baseline of a regression, pair or token task, scored as that task scores BERT."""
    from .tasks import get_task

    cls = TASK_BASELINES.get(task.kind, {}).get(method)
    if cls is None:
        raise NotApplicable(f"{method} has no {task.kind}-task form here (those that do: "
                            f"{', '.join(TASK_BASELINES.get(task.kind, {})) or 'none'})")
    kind = get_task(task.kind)
    train_data = _read_task(task, files["train"])
    names = kind.class_names(train_data)

    def split(key):
        data = train_data if key == "train" else _read_task(task, files[key])
        return Split(data.seqs, kind.encode(data, names))

    train, valid = split("train"), split("valid")
    if task.kind != "token":
        train.labels, valid.labels = np.asarray(train.labels), np.asarray(valid.labels)
    model = cls(alphabet=task.alphabet, seed=seed).fit(train, valid)
    result = {"chosen": model.chosen_}
    for key in ("valid", "test"):
        data = valid if key == "valid" else split("test")
        result[key] = kind.score(model.predict(data.seqs), data.labels)
    return result


def run_bench(suite: str, data_dir: str, out: str, *, profile: str = "cpu", seeds: int = 3,
              methods: tuple[str, ...] = METHODS, tasks: tuple[str, ...] | None = None,
              log=print) -> str:
    """Run (or resume) a suite, or the named ``tasks`` of it; returns the path of ``results.md``.

    Runs already in ``OUT/results.jsonl`` are skipped, checked before each run, so several
    processes (say, one per core, each with its own ``tasks``) can fill one folder."""
    if suite not in SUITES:
        raise InputError(f"unknown suite {suite!r}; allowed: {', '.join(SUITES)}")
    if profile not in PROFILES:
        raise InputError(f"unknown profile {profile!r}; allowed: {', '.join(PROFILES)}")
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise InputError(f"unknown method {bad[0]!r}; allowed: {', '.join(METHODS)}")
    s, prof = SUITES[suite], PROFILES[profile]
    task_names = [t.name for t in s.tasks]
    unknown = [t for t in tasks or () if t not in task_names]
    if unknown:
        raise InputError(f"suite {suite!r} has no task {unknown[0]!r}; its tasks: {', '.join(task_names)}")
    os.makedirs(out, exist_ok=True)
    results_path = os.path.join(out, "results.jsonl")

    def done() -> set:
        if not os.path.exists(results_path):
            return set()
        with open(results_path) as f:
            return {(r["task"], r["method"], r["seed"]) for r in map(json.loads, f)}
    with open(os.path.join(out, "bench.json"), "w") as f:
        json.dump({"suite": suite, "profile": asdict(prof), "profile_name": profile, "seeds": seeds,
                   "methods": list(methods), "data_dir": data_dir, "out": out,
                   "date": time.strftime("%Y-%m-%d"), "machine": _machine()}, f, indent=2)
    for task in s.tasks:
        if tasks and task.name not in tasks:
            continue
        data = _read_task(task, _task_path(task, data_dir, out, task.train))
        names = label_names(data.targets) if task.kind in ("sequence", "pair") else []
        for seed in range(seeds):
            files = _splits(task, data_dir, out, seed, prof)
            for method in methods:
                if (task.name, method, seed) in done():
                    continue
                start = time.perf_counter()
                if method in ("bert-scratch", "bert-pretrained"):
                    init = (_pretrained(s, task.alphabet, data_dir, out, prof)
                            if method == "bert-pretrained" else "scratch")
                    run_dir = os.path.join(out, "runs", task.name, method, f"seed{seed}")
                    result = _run_bert(task, files, init, run_dir, prof, seed, names)
                else:
                    try:
                        result = _run_baseline(method, task, files, seed, names, prof)
                    except NotApplicable as e:  # e.g. onehot-lr on variable lengths
                        result = {"skipped": str(e)}
                result.update(task=task.name, method=method, seed=seed,
                              seconds=round(time.perf_counter() - start, 1))
                with open(results_path, "a") as f:  # one write of one line: safe beside other runners
                    f.write(json.dumps(result) + "\n")
                log(f"{task.name} {method} seed {seed}: " + (
                    ", ".join(f"test {METRICS[m]} {result['test'][m]:.3f}" for m in METRICS
                              if m in result["test"] and m != "accuracy") if "test" in result
                    else result["skipped"]))
    return write_report(out)


def _machine() -> str:
    import platform

    import torch

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{platform.machine()}, {os.cpu_count()} CPU cores, {device}; python "
            f"{platform.python_version()}, torch {torch.__version__}")


def _mean_std(values: list[float]) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}" if values else "–"


def write_report(out: str) -> str:
    """results.json, results.md and plots (with matplotlib) from ``OUT/results.jsonl``."""
    with open(os.path.join(out, "results.jsonl")) as f:
        results = [json.loads(line) for line in f]
    with open(os.path.join(out, "bench.json")) as f:
        setup = json.load(f)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"setup": setup, "runs": results}, f, indent=2)
    tasks = list(dict.fromkeys(r["task"] for r in results))
    methods = [m for m in METHODS if any(r["method"] == m for r in results)]
    splits = ["test"] + sorted({k for r in results for k in r if k.startswith("test_")})
    command = (f"genobert bench --suite {setup['suite']} --data-dir {setup['data_dir']} --profile "
               f"{setup['profile_name']} --seeds {setup['seeds']} --out {setup['out']}")
    if setup["methods"] != list(METHODS):
        command += f" --methods {','.join(setup['methods'])}"
    lines = [f"# genobert bench: suite `{setup['suite']}`, profile `{setup['profile_name']}`", "",
             f"Written by `genobert bench` on {setup['date']}; machine: {setup['machine']}.", "",
             f"```\n{command}\n```", "",
             f"Seeds: {setup['seeds']} (0..{setup['seeds'] - 1}); mean ± std over seeds on the test "
             "split: MCC and accuracy for classes of sequences and pairs, per-letter macro-F1 and "
             "accuracy for token tasks, Spearman's rho for regression. Profile: " + ", ".join(f"{k}={v}" for k, v in setup["profile"].items()), ""]
    left_out = [m for m in METHODS if m not in setup["methods"]]
    if left_out:
        lines += [f"Methods not in this run (left out by `--methods`): {', '.join(left_out)}.", ""]
    lines += _rows_used(out, tasks, setup["profile"].get("max_train_tokens"))
    for split in splits:
        for metric in [m for m in METRICS if any(m in r.get(split, {}) for r in results)
                       # macro-F1 gets a table where it is a task's score (no MCC: token tasks)
                       and (m != "macro_f1" or any("mcc" not in r.get(split, {"mcc": 0}) for r in results))]:
            lines += [f"## {METRICS[metric]} on `{split}`", "",
                      "| task | " + " | ".join(methods) + " |", "|---" * (len(methods) + 1) + "|"]
            per_method = {m: [] for m in methods}
            for task in tasks:
                cells = []
                for m in methods:
                    vals = [r[split][metric] for r in results
                            if r["task"] == task and r["method"] == m and metric in r.get(split, {})]
                    if vals:
                        per_method[m].append(np.mean(vals))
                    cells.append(_mean_std(vals))
                if any(c != "–" for c in cells):
                    lines.append(f"| {task} | " + " | ".join(cells) + " |")
            with_metric = [t for t in tasks if any(metric in r.get(split, {}) for r in results if r["task"] == t)]
            if split == "test":
                lines.append("| **average** | " + " | ".join(
                    f"{np.mean(v):.3f}" if len(v) == len(with_metric) else "–" for v in per_method.values()) + " |")
            lines.append("")
    lines += _verdicts(results, tasks)
    lines += _published(setup["suite"], tasks)
    skipped = sorted({f"{r['method']} on {r['task']}: {r['skipped']}" for r in results if "skipped" in r})
    if skipped:
        lines += ["## Not applicable", ""] + [f"- {s}" for s in skipped] + [""]
    plots = _plots(out, results, tasks, methods)
    if plots:
        lines += ["## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    path = os.path.join(out, "results.md")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return path


def _rows_used(out: str, tasks, budget) -> list[str]:
    """Rows per split of seed 0, as every method saw them (from OUT/splits, when it is there)."""
    counts = []
    for task in tasks:
        folder = os.path.join(out, "splits", task)
        paths = {name: os.path.join(folder, "seed0", f"{name}.tsv") for name in ("train", "valid")}
        if not all(os.path.exists(p) for p in paths.values()):
            return []
        n = {name: sum(1 for _ in open(p)) - 1 for name, p in paths.items()}
        counts.append(f"| {task} | {n['train']:,} | {n['valid']:,} |")
    note = (f"Training files over {budget:,} tokens (residues or bases; a pair counts up to the "
            f"window) were cut to a seeded random subset of their rows, validation files to "
            f"{budget // 4:,} tokens; test files are whole. " if budget else "")
    return [note + "Rows used for seed 0 (other seeds draw their own rows where a split is carved or cut, in about the same numbers):", "",
            "| task | train | valid |", "|---|---:|---:|", *counts, ""] if counts else []


def _score(results, task: str) -> str:
    """The metric a task is judged by: MCC, or macro-F1 (token tasks), Spearman (regression), IoU
    (spans)."""
    present = {k for r in results if r["task"] == task and "test" in r for k in r["test"]}
    return next(m for m in ("mcc", "macro_f1", "spearman", "iou", "accuracy") if m in present)


def _verdicts(results, tasks) -> list[str]:
    """Per task: did pretraining help beyond the seeds' spread? (difference of means vs stds)"""
    lines = ["## Did pretraining help?", "",
             "Pretrained minus scratch BERT on the task's test score (MCC; macro-F1 for token tasks, "
             "Spearman for regression, IoU for spans); 'helped' only when the difference exceeds the sum of the two "
             "standard deviations over seeds.", ""]
    for task in tasks:
        if not any("test" in r for r in results if r["task"] == task):
            continue
        metric = _score(results, task)
        pre = [r["test"][metric] for r in results if r["task"] == task and r["method"] == "bert-pretrained" and "test" in r]
        scr = [r["test"][metric] for r in results if r["task"] == task and r["method"] == "bert-scratch" and "test" in r]
        if not pre or not scr:
            continue
        diff, spread = np.mean(pre) - np.mean(scr), np.std(pre) + np.std(scr)
        verdict = ("helped" if diff > spread else "hurt" if -diff > spread else "no difference beyond the seeds' spread")
        lines.append(f"- {task}: {diff:+.3f} {METRICS[metric]} (spread {spread:.3f}): {verdict}")
    return lines + [""]


def _published(suite: str, tasks: list[str]) -> list[str]:
    """The published numbers that the data manifests record, beside ours (protocols may differ)."""
    from .manifests import load_manifests

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
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(tasks)), 3.5))
    width = 0.8 / max(len(methods), 1)
    for j, m in enumerate(methods):
        means, stds = [], []
        for task in tasks:
            vals = ([r["test"][_score(results, task)] for r in results
                     if r["task"] == task and r["method"] == m and "test" in r]
                    if any("test" in r for r in results if r["task"] == task) else [])
            means.append(np.mean(vals) if vals else 0)
            stds.append(np.std(vals) if vals else 0)
        ax.bar(np.arange(len(tasks)) + j * width, means, width, yerr=stds, label=m)
    ax.set_xticks(np.arange(len(tasks)) + 0.4 - width / 2, tasks, rotation=15, fontsize=8)
    ax.set(ylabel="test score", title="MCC (macro-F1 for token, Spearman for regression, IoU for span tasks) "
           "per task and method, mean ± std over seeds")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "mcc.png"), dpi=100)
    plt.close(fig)
    return names + ["mcc.png"]
