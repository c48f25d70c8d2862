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
    # "proteins": carve validation pairs whose proteins (ids "A|B") are all outside training, as
    # the test pairs are; None: carve rows (stratified)
    carve_by: str | None = None


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
        Task("ppi_unseen_proteins", "protein", "train.tsv", "test.tsv", kind="pair", derived="ppi_unseen",
             carve_by="proteins"),
        Task("conservation_mean", "protein", "train.tsv", "test.tsv", "valid.tsv", kind="regression",
             derived="conservation_mean"),
        Task("longest_helix", "protein", "train.tsv", "test.tsv", "valid.tsv", kind="span",
             derived="longest_helix"),
    ), {"protein": PROTEIN_CORPUS}),
}


@dataclass(frozen=True, kw_only=True)
class Profile:
    """How much every method may train. The BERT methods share one protocol: a learning-rate grid
    chosen on seed 0's validation score and reused for the other seeds (the baselines choose their
    own settings on validation data likewise), epochs until validation stops improving."""

    preset: str  # the suite-local (`--pretrained fresh`) model; a released one brings its own
    pretrain_steps: int  # suite-local pretraining
    seq_len: int  # suite-local pretraining window
    pretrain_batch: int
    pretrain_lr: float
    epochs: int  # a cap: early stopping on validation ends most runs well before it
    finetune_lrs: tuple[float, ...]  # the grid every BERT method searches on seed 0
    patience: int  # epochs without a better validation score before stopping
    batch_size: int
    max_len: int  # fine-tuning window
    english_epochs: int = 3  # bert-english (a 6 × 384 model: slow on CPUs)
    # Training files larger than this many tokens (residues; a pair counts up to max_len) are
    # cut to a seeded random subset of their rows within it, validation files to a quarter of it;
    # test files never. None: every row.
    max_train_tokens: int | None = None
    precision: str = "auto"  # fine-tuning; bf16 is 2.4x faster on AMX CPUs (docs/PERF.md)


PROFILES = {  # changed after results had been seen (issue 17: the old cap stopped BERT early)
    # 2 cores: the budget binds the three largest dna tasks and the six large protein ones
    # (per-residue, pairs, derived), and none of the others
    "cpu": Profile(preset="tiny", pretrain_steps=400, seq_len=256, pretrain_batch=32, pretrain_lr=2e-3,
                   epochs=40, finetune_lrs=(1e-4, 3e-4, 1e-3), patience=4, batch_size=32,
                   max_len=256, english_epochs=3, max_train_tokens=400_000, precision="bf16"),
    "gpu": Profile(preset="small", pretrain_steps=6000, seq_len=512, pretrain_batch=128, pretrain_lr=5e-4,
                   epochs=30, finetune_lrs=(3e-5, 1e-4, 3e-4), patience=5, batch_size=64,
                   max_len=512, english_epochs=5),
}
PRETRAINED = ("released", "fresh")  # or a model directory


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
            if task.carve_by == "proteins":
                tr, va = _protein_disjoint_split(data.ids, 0.1, seed)
            else:
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


def _protein_disjoint_split(ids: list[str], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Rows of pairs ``A|B``: validation pairs have both proteins in a seeded ``fraction`` of the
    proteins, training pairs neither; pairs with one of each are left out of both."""
    pairs = [i.split("|") for i in ids]
    proteins = sorted({p for pair in pairs for p in pair})
    held = set(np.random.default_rng([seed, 31]).permutation(proteins)[: max(1, int(fraction * len(proteins)))])
    inside = [sum(p in held for p in pair) for pair in pairs]
    valid = [i for i, n in enumerate(inside) if n == len(pairs[i])]
    train = [i for i, n in enumerate(inside) if n == 0]
    if not valid or not train:
        raise InputError(f"cannot hold out {fraction:.0%} of the proteins and keep pairs on both sides")
    return train, valid


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
    os.makedirs(os.path.dirname(folder), exist_ok=True)
    pretrain(corpus, folder, tokenizer="char", alphabet=alphabet, preset=profile.preset,
             seq_len=profile.seq_len, max_steps=profile.pretrain_steps, batch_size=profile.pretrain_batch,
             lr=profile.pretrain_lr, seed=0, exclude=exclude, save_steps=max(profile.pretrain_steps // 4, 1),
             resume=_unfinished(folder), overwrite=True)
    return folder


def _unfinished(out: str) -> bool:
    """A run of ours that was stopped (its working folder has genobert's mark): resume it."""
    from .rundir import MARK

    return os.path.isfile(os.path.join(out + ".work", MARK))


def _run_bert(task, files, init, run_dir, profile, seed, names, lr: float, preset: str) -> dict:
    from .infer import classify

    os.makedirs(os.path.dirname(run_dir), exist_ok=True)
    model = finetune(files["train"], run_dir, valid=files["valid"], test=files["test"], init=init,
                     preset=preset, tokenizer="char", alphabet=task.alphabet,
                     max_len=profile.max_len, epochs=profile.epochs, batch_size=profile.batch_size,
                     lr=lr, patience=profile.patience, precision=profile.precision, seed=seed,
                     task=task.kind, overwrite=True, resume=_unfinished(run_dir), **dict(task.settings))
    metrics = json.load(open(os.path.join(model, "metrics.json")))
    result = {"test": metrics["test"], "valid": metrics["valid"], "lr": lr,
              "curve": {"loss": metrics["loss_curve"], "valid": metrics["valid_curve"]},
              **best_epoch(metrics["valid_curve"], metrics["score"], profile.epochs)}
    for key in files:
        if key.startswith("test_"):
            preds = list(classify(model, files[key]))
            probs = np.stack([p.probs for p in preds])
            y = np.asarray([names.index(p.true_label) for p in preds])
            result[key] = classification_metrics(probs, y)
    return result


def best_epoch(curve: list[dict], metric: str, cap: int) -> dict:
    """Where the validation score peaked: ``best_is_last`` when that was the last epoch run and
    the cap ended the run (the model was still improving when it stopped)."""
    scores = [c.get(metric) if c.get(metric) is not None else -np.inf for c in curve]
    if not scores:
        return {}
    best = int(np.argmax(scores))
    return {"best_epoch": best + 1, "epochs_run": len(scores),
            "best_is_last": best == len(scores) - 1 and len(scores) >= cap}


def _run_bert_grid(task, files, init, run_dir, profile, seed, names, preset, chosen_lr) -> dict:
    """Seed 0 tries every learning rate of the profile and keeps the best on validation; later
    seeds take seed 0's choice (``chosen_lr``)."""
    if chosen_lr is not None:
        return _run_bert(task, files, init, run_dir, profile, seed, names, chosen_lr, preset)
    tried = {}
    for lr in profile.finetune_lrs:
        tried[lr] = _run_bert(task, files, init, os.path.join(run_dir, f"lr{lr:g}"), profile, seed,
                              names, lr, preset)
    metric = _valid_metric(tried[profile.finetune_lrs[0]]["valid"])
    best = max(profile.finetune_lrs, key=lambda lr: tried[lr]["valid"][metric])  # first of ties
    return {**tried[best], "grid": {f"{lr:g}": tried[lr]["valid"][metric] for lr in profile.finetune_lrs}}


def _valid_metric(scores: dict) -> str:
    return next(m for m in ("mcc", "macro_f1", "spearman", "iou", "accuracy") if m in scores)


def git_state() -> dict:
    """The commit of the code that ran, and whether the work tree had uncommitted changes."""
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def git(*args):
        try:
            return subprocess.run(["git", "-C", root, *args], capture_output=True, text=True,
                                  timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    commit = git("rev-parse", "HEAD")
    return {"commit": commit or None,
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no")) if commit else None}


def _pretrained_model(choice: str, suite: Suite, alphabet: str, data_dir: str, out: str,
                      profile: Profile) -> str:
    """The model `bert-pretrained` starts from: the released one of the alphabet, the suite's
    own (``fresh``), or a given directory."""
    from .model import read_meta
    from .registry import resolve

    if choice == "fresh":
        return _pretrained(suite, alphabet, data_dir, out, profile)
    path = resolve(f"genobert-{alphabet}" if choice == "released" else choice)
    meta = read_meta(path)
    if meta.get("alphabet") != alphabet:
        raise InputError(f"--pretrained {choice}: a {meta.get('alphabet')} model, and the suite has "
                         f"{alphabet} tasks", path=path)
    return path


def _run_baseline(method, task, files, seed, names, profile: Profile) -> dict:
    if task.kind != "sequence":
        return _run_task_baseline(method, task, files, seed, profile.max_len)
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


def _run_task_baseline(method, task, files, seed, max_len: int) -> dict:
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
        seqs = data.seqs
        if task.kind == "pair":  # the letters BERT's window holds (char tokens), no more
            from .tasks import pair_lengths

            seqs = [(a[:x], b[:y]) for a, b in seqs
                    for x, y in [pair_lengths(len(a), len(b), max_len - 3)]]
        return Split(seqs, kind.encode(data, names))

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
              pretrained: str = "released", log=print) -> str:
    """Run (or resume) a suite, or the named ``tasks`` of it; returns the path of ``results.md``.

    ``pretrained``: what `bert-pretrained` starts from: ``released`` (models/genobert-ALPHABET),
    ``fresh`` (pretrained here on the suite's corpus, cleaned of its test sequences) or a model
    directory. `bert-scratch` has the same config with random weights.

    Runs already in ``OUT/results.jsonl`` are skipped, checked before each run, so several
    processes (say, one per core, each with its own ``tasks``) can fill one folder."""
    if suite not in SUITES:
        raise InputError(f"unknown suite {suite!r}; allowed: {', '.join(SUITES)}")
    if profile not in PROFILES:
        raise InputError(f"unknown profile {profile!r}; allowed: {', '.join(PROFILES)}")
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise InputError(f"unknown method {bad[0]!r}; allowed: {', '.join(METHODS)}")
    if seeds < 1:
        raise InputError(f"--seeds {seeds}: expected 1 or more")
    s, prof = SUITES[suite], PROFILES[profile]
    task_names = [t.name for t in s.tasks]
    unknown = [t for t in tasks or () if t not in task_names]
    if unknown:
        raise InputError(f"suite {suite!r} has no task {unknown[0]!r}; its tasks: {', '.join(task_names)}")
    os.makedirs(out, exist_ok=True)
    results_path = os.path.join(out, "results.jsonl")

    def done() -> dict:
        if not os.path.exists(results_path):
            return {}
        with open(results_path) as f:
            return {(r["task"], r["method"], r["seed"]): r for r in map(json.loads, f)}
    bert = [m for m in methods if m in ("bert-scratch", "bert-pretrained")]
    inits = {a: _pretrained_model(pretrained, s, a, data_dir, out, prof)
             for a in sorted({t.alphabet for t in s.tasks if not tasks or t.name in tasks}) if bert}
    from .model import read_meta

    origin = {a: _origin(read_meta(path), path) for a, path in inits.items()}
    provenance = git_state()
    with open(os.path.join(out, "bench.json"), "w") as f:
        json.dump({"suite": suite, "profile": asdict(prof), "profile_name": profile, "seeds": seeds,
                   "methods": list(methods), "data_dir": data_dir, "out": out, "pretrained": pretrained,
                   "pretrained_models": origin, **provenance,
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
                start, cpu = time.perf_counter(), time.process_time()
                if method in ("bert-scratch", "bert-pretrained"):
                    init = inits[task.alphabet] if method == "bert-pretrained" else "scratch"
                    run_dir = os.path.join(out, "runs", task.name, method, f"seed{seed}")
                    first = done().get((task.name, method, 0)) if seed else None
                    result = _run_bert_grid(task, files, init, run_dir, prof, seed, names,
                                            read_meta(inits[task.alphabet])["preset"],
                                            first["lr"] if first else None)
                else:
                    try:
                        result = _run_baseline(method, task, files, seed, names, prof)
                    except NotApplicable as e:  # e.g. onehot-lr on variable lengths
                        result = {"skipped": str(e)}
                result.update(task=task.name, method=method, seed=seed,
                              seconds=round(time.perf_counter() - start, 1),
                              cpu_seconds=round(time.process_time() - cpu, 1), **provenance)
                with open(results_path, "a") as f:  # one write of one line: safe beside other runners
                    f.write(json.dumps(result) + "\n")
                log(f"{task.name} {method} seed {seed}: " + (
                    ", ".join(f"test {METRICS[m]} {result['test'][m]:.3f}" for m in METRICS
                              if m in result["test"] and m != "accuracy") if "test" in result
                    else result["skipped"]))
    return write_report(out)


def _origin(meta: dict, path: str) -> dict:
    """What a pretrained model saw, for the report: tokens, passes, corpus letters removed."""
    t = meta.get("training", {})
    decon = t.get("corpus", {}).get("decontamination") or {}
    curve = t.get("heldout", {}).get("curve") or []
    return {"path": path, "preset": meta.get("preset"), "tokens_seen": t.get("tokens_seen"),
            "letters_removed_as_test_overlap": decon.get("letters_removed"),
            "records_dropped_as_test_overlap": decon.get("records_dropped"),
            "heldout_bits_per_letter": curve[-1]["bits_per_letter"] if curve else None}


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
               f"{setup['profile_name']} --seeds {setup['seeds']} --pretrained "
               f"{setup.get('pretrained', 'fresh')} --out {setup['out']}")
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
    lines += _verdicts(results, tasks, setup)
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


def _verdicts(results, tasks, setup: dict | None = None) -> list[str]:
    """Per task: pretrained against scratch BERT, and against the best other method (chosen by its
    mean validation score), paired by seed (`genobert.verdict`)."""
    from .verdict import failed_to_train, paired

    lines = ["## Did pretraining help?", "",
             "Pretrained minus scratch BERT on each task's test score (MCC; macro-F1 for token tasks, "
             "Spearman for regression, IoU for spans), paired by seed (the same split for both): "
             "the mean difference, its 95 % t interval (n - 1 degrees of freedom), and 'helped' / "
             "'hurt' only when the interval excludes 0. A run predicting one class failed to train; "
             "its seed is left out, never counted as a win. The second line compares with the best "
             "method without pretraining, picked by mean validation score.", ""]
    by = {}
    for r in results:
        if "test" in r:
            by.setdefault((r["task"], r["method"]), {})[r["seed"]] = r
    wins = {"scratch": [0, 0], "best": [0, 0]}
    for task in tasks:
        if not any("test" in r for r in results if r["task"] == task):
            continue
        metric = _score(results, task)
        pre = by.get((task, "bert-pretrained"))
        if not pre:
            continue
        scores = {seed: r["test"] for seed, r in pre.items()}
        others = [m for m in METHODS if m not in ("bert-pretrained", "bert-english") and (task, m) in by]
        lines.append(f"- **{task}**")
        if (task, "bert-scratch") in by:
            v = paired(scores, {sd: r["test"] for sd, r in by[(task, "bert-scratch")].items()}, metric,
                       ("pretrained", "scratch"))
            wins["scratch"][0] += v.verdict == "helped"
            wins["scratch"][1] += 1
            lines.append(f"  - vs scratch: {v.text(' ' + METRICS[metric])}")
        valid_metric = lambda r: r.get("valid", {}).get(metric, -np.inf)  # noqa: E731
        rivals = [m for m in others if all(metric in r.get("valid", {}) for r in by[(task, m)].values())]
        if rivals:
            best = max(rivals, key=lambda m: np.mean([valid_metric(r) for r in by[(task, m)].values()]))
            v = paired(scores, {sd: r["test"] for sd, r in by[(task, best)].items()}, metric,
                       ("pretrained", best))
            wins["best"][0] += v.verdict == "helped"
            wins["best"][1] += 1
            lines.append(f"  - vs {best} (best without pretraining on validation): {v.text()}")
        failed = [f"{m} seed {sd}" for m in ("bert-pretrained", *others) for sd, r in by.get((task, m), {}).items()
                  if failed_to_train(r["test"])]
        if failed:
            lines.append(f"  - failed to train (one class predicted): {', '.join(failed)}")
    if wins["scratch"][1]:
        lines += ["", f"Pretrained beat scratch on {wins['scratch'][0]} of {wins['scratch'][1]} tasks "
                  f"and the best method without pretraining on {wins['best'][0]} of {wins['best'][1]} "
                  "(interval excluding 0)."]
    lines += [""] + _protocol(results, setup or {})
    return lines + [""]


def _protocol(results, setup: dict) -> list[str]:
    """Fine-tuning effort and its side effects: the grid's choices, how often the best epoch was
    the last one (a run still improving at the cap), CPU time, corpus overlap removed."""
    lines = ["## Protocol checks", ""]
    bert = [r for r in results if r["method"] in ("bert-scratch", "bert-pretrained") and "best_epoch" in r]
    if bert:
        last = sum(bool(r["best_is_last"]) for r in bert)
        lines.append(f"- Best validation epoch was the last one, at the cap, in {last} of {len(bert)} "
                     "BERT runs" + (f" (cap {setup['profile']['epochs']} epochs, patience "
                                    f"{setup['profile'].get('patience')})" if "profile" in setup else "") + ".")
        chosen = sorted({f"{r['task']} {r['method']}: lr {r['lr']:g}" for r in bert if r["seed"] == 0 and "grid" in r})
        if chosen:
            lines.append("- Learning rates chosen on seed 0's validation split: " + "; ".join(chosen) + ".")
    cpu = sum(r.get("cpu_seconds", 0) for r in results)
    if cpu:
        lines.append(f"- CPU time of the runs (process time, all threads): {cpu / 3600:.2f} h.")
    for alphabet, o in (setup.get("pretrained_models") or {}).items():
        removed = o.get("letters_removed_as_test_overlap")
        lines.append(f"- Pretrained {alphabet} model: {o.get('path')} ({o.get('preset')}, "
                     f"{o.get('tokens_seen') or 0:,} tokens seen); letters removed from its corpus as "
                     f"test overlap: {'not recorded' if removed is None else f'{removed:,}'}"
                     + (f", proteins dropped: {o['records_dropped_as_test_overlap']:,}"
                        if alphabet == "protein" and o.get("records_dropped_as_test_overlap") is not None else "")
                     + ".")
    commits = sorted({r.get("commit") or "unknown" for r in results})
    dirty = any(r.get("dirty") for r in results)
    lines.append(f"- Code: commit {', '.join(c[:12] for c in commits)}" + (" (with uncommitted changes)" if dirty else "") + ".")
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
