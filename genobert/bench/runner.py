"""Running a suite: the pretrained model each alphabet starts from, every method on every task
and seed (BERT's learning-rate grid on seed 0), one line of results.jsonl per run."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from dataclasses import asdict, replace

import numpy as np

from ..baselines import BASELINES, TASK_BASELINES, Split
from ..config import FinetuneConfig
from ..errors import InputError, NotApplicable
from ..io import file_sha256, write_json
from ..metrics import classification_metrics, selection_score
from ..tables import integer_label
from ..train import best_epoch, finetune, pretrain, stop_record
from .report import write_report
from .splits import TABLE_SETTINGS, _load, _overlap, _path, _read_task, _splits, _strata, _task_path
from .suites import FINETUNED, METHODS, METRICS, PROFILES, RETUNED, SUITES, Profile, Suite, Task

CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repository


def _pretrained(suite: Suite, alphabet: str, data_dir: str, out: str, profile: Profile,
                seed: int = 0) -> str:
    """The suite's own pretraining (``--pretrained fresh``) with pretraining seed ``seed``."""
    folder = os.path.join(out, "pretrained", alphabet + (f"_seed{seed}" if seed else ""))
    if os.path.exists(os.path.join(folder, "model.safetensors")):
        return folder
    exclude = {seq for t in suite.tasks if t.alphabet == alphabet
               for s in _read_task(t, _task_path(t, data_dir, out, t.test)).seqs
               for seq in (s if isinstance(s, tuple) else (s,))}
    corpus = [_path(data_dir, f) for f in suite.corpora[alphabet]]
    os.makedirs(os.path.dirname(folder), exist_ok=True)
    _resuming(pretrain, corpus, folder, tokenizer="char", alphabet=alphabet, preset=profile.preset,
             seq_len=profile.seq_len, max_steps=profile.pretrain_steps, batch_size=profile.pretrain_batch,
             lr=profile.pretrain_lr, seed=seed, exclude=exclude, save_steps=max(profile.pretrain_steps // 4, 1))
    return folder


def _init_for(choice: str, first: str, suite: Suite, alphabet: str, data_dir: str, out: str,
              profile: Profile, seed: int) -> str:
    """With ``fresh`` and ``profile.pretrain_seeds`` > 1, fine-tuning seed k starts from pretraining
    seed k mod n, so pretraining's own variance is in the seeds' spread; otherwise ``first``."""
    n = profile.pretrain_seeds
    if choice != "fresh" or n <= 1 or seed % n == 0:
        return first
    return _pretrained(suite, alphabet, data_dir, out, profile, seed % n)


def _resuming(train, inputs, out: str, **settings) -> str:
    """``train`` (pretrain or finetune) into ``out``, a folder of ours: a stopped run (its working
    folder has genobert's mark) is resumed, unless it was started with other files or settings
    (the code changed meanwhile), which is removed and trained afresh."""
    import shutil

    from ..errors import ResumeMismatch
    from ..rundir import MARK

    try:
        return train(inputs, out, resume=os.path.isfile(os.path.join(out + ".work", MARK)), overwrite=True, **settings)
    except ResumeMismatch:
        shutil.rmtree(out + ".work")
        return train(inputs, out, resume=False, overwrite=True, **settings)


def _run_bert(task, files, init, run_dir, profile, seed, names, lr: float, shape: dict,
              adapt_steps: int = 0, *, code: dict) -> dict:
    """One fine-tuning; its result is kept in ``run_dir`` (``bench_run.json``) with what it was
    run on, so a learning-rate grid stopped part-way (a session's end) redoes only the rates that
    did not finish. A fine-tuning on the same training and validation files that another task
    already ran (a transfer task and its within-species twin train alike) is reused, and only
    tested on this task's test files. ``code``: `git_state` of the code that runs."""
    trained_on = _training_key(task, files, init, profile, seed, lr, shape, adapt_steps, code)
    key = {**trained_on, "task": json.loads(json.dumps(asdict(task))),
           "tested_on": {k: file_sha256(v) for k, v in sorted(files.items()) if k.startswith("test")}}
    kept = os.path.join(run_dir, "bench_run.json")
    previous = _read_record(kept)
    if previous.get("key") == key:  # its CPU time counts in the row that uses it
        if "shared_from" not in previous["result"]:
            _index_finetuning(trained_on, run_dir)  # in case the index was lost
        return {**previous["result"], "reused_cpu_seconds": previous["cpu_seconds"]}
    cpu = time.process_time()
    shared = _shared_finetuning(trained_on, run_dir)
    if shared is not None:
        model, before = shared
        result = {**{k: v for k, v in before["result"].items() if not k.startswith("test")},
                  **_test_scores(task, model, files, names), "shared_from": before["task_name"],
                  "shared_cpu_seconds": before["cpu_seconds"]}
        if _read_record(os.path.join(model, "bench_run.json")).get("trained_on") != trained_on:
            shared = None  # trained again meanwhile: train here instead
    if shared is None:
        model = run_dir
        if not os.path.exists(os.path.join(run_dir, "genobert.json")):  # a record, no model: ours to drop
            with contextlib.suppress(FileNotFoundError):
                os.unlink(kept)
        result = _fine_tune(task, files, init, run_dir, profile, seed, names, lr, shape, adapt_steps)
    os.makedirs(run_dir, exist_ok=True)
    write_json(kept, {"key": key, "trained_on": trained_on, "task_name": task.name,
                      "model": os.path.abspath(model), "result": result,
                      "cpu_seconds": round(time.process_time() - cpu, 1)})
    if shared is None:
        _index_finetuning(trained_on, run_dir)
    return result


def _training_key(task, files, init, profile, seed, lr, shape, adapt_steps, code) -> dict:
    """What a fine-tuning's model depends on: files by content (paths differ between checkouts),
    the initial weights, the settings and the package's code."""
    weights = "scratch" if init == "scratch" else file_sha256(os.path.join(init, "model.safetensors"))
    settings = dict(task.settings)
    return json.loads(json.dumps({
        "files": {k: file_sha256(files[k]) for k in ("train", "valid")}, "init": weights, "lr": lr,
        "shape": shape, "seed": seed, "adapt_steps": adapt_steps, "profile": asdict(profile),
        "task": {"alphabet": task.alphabet, "kind": task.kind, "settings": settings},
        **({"sequences": file_sha256(settings["sequences"])} if settings.get("sequences") else {}),
        "code": {"package": code.get("package"), "dirty": code.get("dirty")}}))


def _read_record(path: str) -> dict:
    """A ``bench_run.json`` or index entry; {} when missing or unreadable (then it is redone)."""
    try:
        with open(path) as f:
            record = json.load(f)
        return record if isinstance(record, dict) else {}
    except (OSError, ValueError):
        return {}


def _finetunings(trained_on: dict) -> str | None:
    """The index entry of fine-tunings with this training, under ``$GENOBERT_CACHE`` so that bench
    folders (the ``dna`` and ``transfer`` suites) share them; None for code that is not committed."""
    from ..data import cache_dir

    if not trained_on["code"]["package"] or trained_on["code"]["dirty"]:
        return None
    digest = hashlib.sha256(json.dumps(trained_on, sort_keys=True).encode()).hexdigest()[:32]
    return os.path.join(cache_dir(), "bench-finetunings", digest + ".json")


def _index_finetuning(trained_on: dict, run_dir: str) -> None:
    entry = _finetunings(trained_on)
    if entry is None:
        return
    try:  # an index that cannot be written shares nothing, and loses nothing
        os.makedirs(os.path.dirname(entry), exist_ok=True)
        write_json(entry, {"run_dir": os.path.abspath(run_dir)})
    except OSError:
        pass


def _shared_finetuning(trained_on: dict, run_dir: str) -> tuple[str, dict] | None:
    """A finished fine-tuning of another run folder with the same training, and its record."""
    entry = _finetunings(trained_on)
    other = _read_record(entry).get("run_dir") if entry else None
    if not isinstance(other, str) or other == os.path.abspath(run_dir):
        return None
    before = _read_record(os.path.join(other, "bench_run.json"))
    ok = (before.get("trained_on") == trained_on and "shared_from" not in before.get("result", {})
          and os.path.isfile(os.path.join(other, "metrics.json")))
    return (other, before) if ok else None


def _fine_tune(task, files, init, run_dir, profile, seed, names, lr: float, shape: dict,
               adapt_steps: int = 0) -> dict:
    os.makedirs(os.path.dirname(run_dir), exist_ok=True)
    model = _resuming(finetune, files["train"], run_dir, valid=files["valid"], test=files["test"], init=init,
                      **shape, tokenizer="char", alphabet=task.alphabet,
                      max_len=profile.max_len, epochs=profile.epochs, batch_size=profile.batch_size,
                      lr=lr, patience=profile.patience, min_epoch_rows=profile.min_epoch_rows,
                      precision=profile.precision, seed=seed,
                      task=task.kind, adapt_steps=adapt_steps, **dict(task.settings))
    metrics = json.load(open(os.path.join(model, "metrics.json")))
    return {"valid": metrics["valid"], "lr": lr, "select": metrics.get("select"),
            "curve": {"loss": metrics["loss_curve"], "valid": metrics["valid_curve"]},
            **best_epoch(metrics["valid_curve"], metrics["score"], profile.epochs),
            **_test_scores(task, model, files, names, test=metrics["test"])}


def _test_scores(task, model: str, files: dict, names: list[str], test: dict | None = None) -> dict:
    """A fine-tuned model's scores on the test file (``test``: already computed) and every test
    subset; for a cross-validated task also its test predictions, pooled over the folds by the
    report."""
    from ..infer import classify, evaluate

    def classified(path: str) -> tuple[np.ndarray, np.ndarray]:  # the labels as the task reads them
        probs = [p.probs for p in classify(model, path, sequences=dict(task.settings).get("sequences"))]
        return np.stack(probs), _load(task, path, names).labels

    result = {"test": test if test is not None else evaluate(model, files["test"])}
    if task.folds:
        result["test_pred"] = _predictions(*classified(files["test"]))
    for key in files:
        if key.startswith("test_"):  # a letter, number or span per record: scored as the test file is
            result[key] = (classification_metrics(*classified(files[key])) if task.kind in ("sequence", "pair")
                           else evaluate(model, files[key]))
    return result


def _run_bert_grid(task, files, init, run_dir, profile, seed, names, shape, chosen_lr,
                   adapt_steps: int = 0, *, code: dict) -> dict:
    """Seed 0 tries every learning rate of the profile and keeps the best on validation; later
    seeds take seed 0's choice (``chosen_lr``). ``shape``: the pretrained model's preset and
    architecture, which a scratch run copies."""
    if chosen_lr is not None:
        return _run_bert(task, files, init, run_dir, profile, seed, names, chosen_lr, shape, adapt_steps,
                         code=code)
    tried = {}
    for lr in profile.finetune_lrs:
        tried[lr] = _run_bert(task, files, init, os.path.join(run_dir, f"lr{lr:g}"), profile, seed,
                              names, lr, shape, adapt_steps, code=code)
    metric = _valid_metric(tried[profile.finetune_lrs[0]]["valid"])

    def select(run: dict) -> float:  # the score, ties broken by the kept epoch's validation loss
        kept = run["curve"]["valid"][run["best_epoch"] - 1] if run.get("best_epoch") else {}
        return selection_score(run["valid"][metric], kept.get("loss", 0.0))
    best = max(profile.finetune_lrs, key=lambda lr: select(tried[lr]))  # then the first of ties
    return {**tried[best], "grid": {f"{lr:g}": tried[lr]["valid"][metric] for lr in profile.finetune_lrs},
            **{k: sum(r.get(k, 0) for r in tried.values()) for k in ("reused_cpu_seconds", "shared_cpu_seconds")
               if any(k in r for r in tried.values())}}


def _valid_metric(scores: dict) -> str:
    return next(m for m in ("mcc", "macro_f1", "spearman", "iou", "accuracy") if m in scores)


def git_state() -> dict:
    """The commit of the code that ran, the git hashes of the package and its build file (the same
    over commits that change only docs or results: what resuming and sharing runs compare), and
    whether they had uncommitted changes. Results written into tracked folders (docs/bench) do not count: a second
    process filling a folder would otherwise mark every run of the first dirty."""
    import subprocess

    def git(*args):
        try:
            return subprocess.run(["git", "-C", CHECKOUT, *args], capture_output=True, text=True,
                                  timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    commit = git("rev-parse", "HEAD")
    package = git("rev-parse", "HEAD:genobert", "HEAD:pyproject.toml").replace("\n", " ")
    return {"commit": commit or None, "package": package or None,
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no", "--",
                                 "genobert", "pyproject.toml")) if commit else None}


def _shape(model_dir: str) -> dict:
    """The preset and architecture of a pretrained model: `bert-scratch` is the same network with
    random weights (a ModernBERT's control is a ModernBERT)."""
    from ..model import architecture, read_meta

    return {"preset": read_meta(model_dir)["preset"], "arch": architecture(model_dir)}


def _pretrained_model(choice: str, suite: Suite, alphabet: str, data_dir: str, out: str,
                      profile: Profile) -> str:
    """The model `bert-pretrained` starts from: the released one of the alphabet, the suite's
    own (``fresh``), or a given directory."""
    from ..model import read_meta
    from ..registry import released, resolve
    from ..tokenize import load_tokenizer

    if choice == "fresh":
        if alphabet not in suite.corpora:
            raise InputError(f"--pretrained fresh: suite {suite.name!r} names no {alphabet} corpus to "
                             "pretrain on; use --pretrained released or a model directory")
        return _pretrained(suite, alphabet, data_dir, out, profile)
    if choice == "released" and f"genobert-{alphabet}" not in (names := sorted(r.name for r in released())):
        raise InputError(f"--pretrained released: no released {alphabet} model (released: "
                         f"{', '.join(names) or 'none found'}); give --pretrained DIR, a pretrained "
                         f"{alphabet} model, or --pretrained fresh")
    path = resolve(f"genobert-{alphabet}" if choice == "released" else choice)
    meta = read_meta(path)
    if meta.get("alphabet") != alphabet:
        raise InputError(f"--pretrained {choice}: a {meta.get('alphabet')} model, and the suite has "
                         f"{alphabet} tasks", path=path)
    if (spec := str(load_tokenizer(path).spec)) != "char":  # its scratch twin, pair crops and
        # per-letter tasks count one token per letter
        raise InputError(f"--pretrained {choice}: tokenizer {spec}; the benchmark compares models of "
                         "one token per letter (char); fine-tune this one with `genobert finetune "
                         "--init`", path=path)
    return path


def _run_probe(method, task, files, seed, names, pretrained: str, out: str, max_len: int) -> dict:
    """`bert-probe` on the pretrained encoder, `bert-probe-scratch` on its random-weight twin."""
    from ..probe import BertProbe, TokenProbe, random_twin

    if task.kind not in ("sequence", "token", "regression", "pair"):
        raise NotApplicable(f"{method} probes a class or value per sequence, a class per pair or per "
                            f"letter; this is a {task.kind} task")
    model = pretrained if method == "bert-probe" else random_twin(  # a random init per seed
        pretrained, os.path.join(out, "random_init", task.alphabet, f"seed{seed}"), seed=seed)
    if task.kind == "token":
        return _fit_task_model(TokenProbe(model, alphabet=task.alphabet, seed=seed), task, files,
                               max_len=None)  # pairs only are cut to the window
    probe = BertProbe(model, alphabet=task.alphabet, seed=seed, kind=task.kind)
    if task.kind != "sequence":  # pair members cut to the window fine-tuned BERT sees
        return _fit_task_model(probe, task, files, max_len=max_len)
    train, valid = _load(task, files["train"], names), _load(task, files["valid"], names)
    probe.fit(train, valid)
    return {"chosen": probe.chosen_, **_score_splits(probe, task, files, names, valid)}


def _run_baseline(method, task, files, seed, names, profile: Profile, chosen_lr: float | None = None) -> dict:
    """A baseline of a sequence task. Those trained by epochs (cnn, bert-english, english-scratch)
    get BERT's protocol: the cap and patience of the profile, a learning-rate grid searched on
    seed 0 (the first of ties: the smallest rate) and seed 0's rate (``chosen_lr``) for the others."""
    if task.kind != "sequence":
        return _run_task_baseline(method, task, files, seed, profile.max_len)
    train, valid = _load(task, files["train"], names), _load(task, files["valid"], names)
    if method not in RETUNED:
        model = BASELINES[method](alphabet=task.alphabet, seed=seed).fit(train, valid)
        return {"chosen": model.chosen_, **_score_splits(model, task, files, names, valid)}
    lrs = (chosen_lr,) if chosen_lr is not None else profile.cnn_lrs if method == "cnn" else profile.english_lrs
    english = {} if method == "cnn" else {"precision": profile.precision, "mapping": profile.english_mapping}
    model, grid = None, {}
    for lr in lrs:  # only the best fit so far is kept (three English BERTs would be 270 MB)
        fit = BASELINES[method](alphabet=task.alphabet, seed=seed, epochs=profile.epochs, patience=profile.patience,
                                lr=lr, min_epoch_rows=profile.min_epoch_rows, **english).fit(train, valid)
        grid[f"{lr:g}"] = fit.chosen_["valid_mcc"]
        if model is None or fit.chosen_["select"] > model.chosen_["select"]:  # the first of ties
            model = fit
    result = {"chosen": model.chosen_, "lr": model.lr, "curve": {"valid": model.curve_},  # the epoch it kept:
              **stop_record(model.chosen_["epoch"], len(model.curve_), profile.epochs)}
    if len(lrs) > 1:
        result["grid"] = grid
    if method != "cnn":
        result.update(precision="bf16" if model.bf16_ else "fp32", mapping=model.mapping)
    return {**result, **_score_splits(model, task, files, names, valid)}


def _score_splits(model, task, files: dict, names: list[str], valid: Split) -> dict:
    """A fitted classifier's scores on validation, test and every test subset; for a
    cross-validated task also its test predictions, pooled over the folds by the report."""
    result = {}
    for key in ("valid", "test", *[k for k in files if k.startswith("test_")]):
        split = valid if key == "valid" else _load(task, files[key], names)
        probs = np.asarray(model.predict_proba(split.seqs))
        if probs.shape[1] < len(names):  # a baseline that never saw the last classes in training
            probs = np.pad(probs, ((0, 0), (0, len(names) - probs.shape[1])))
        result[key] = classification_metrics(probs, split.labels)
        if key == "test" and task.folds:
            result["test_pred"] = _predictions(probs, split.labels)
    return result


def _predictions(probs, labels) -> dict:
    return {"probs": np.asarray(probs).round(6).tolist(), "labels": np.asarray(labels).tolist()}


def _run_task_baseline(method, task, files, seed, max_len: int) -> dict:
    """A baseline of a regression, pair or token task, scored as that task scores BERT."""
    cls = TASK_BASELINES.get(task.kind, {}).get(method)
    if cls is None:
        raise NotApplicable(f"{method} has no {task.kind}-task form here (those that do: "
                            f"{', '.join(TASK_BASELINES.get(task.kind, {})) or 'none'})")
    return _fit_task_model(cls(alphabet=task.alphabet, seed=seed), task, files, max_len)


def _fit_task_model(model, task, files, max_len: int | None) -> dict:
    """Fit ``model`` (``fit(train, valid)``, ``predict(seqs)``) on a regression, pair or token
    task's files and score it as that task scores BERT; a pair is cut to BERT's ``max_len``."""
    from ..tasks import get_task

    kind = get_task(task.kind)
    train_data = _read_task(task, files["train"])
    names = kind.class_names(train_data)

    def split(key):
        data = train_data if key == "train" else _read_task(task, files[key])
        seqs = data.seqs
        if task.kind == "pair":  # the letters BERT's window holds (char tokens), no more
            from ..tasks import pair_lengths

            seqs = [(a[:x], b[:y]) for a, b in seqs
                    for x, y in [pair_lengths(len(a), len(b), max_len - 3)]]
        return Split(seqs, kind.encode(data, names))

    train, valid = split("train"), split("valid")
    if task.kind != "token":
        train.labels, valid.labels = np.asarray(train.labels), np.asarray(valid.labels)
    model.fit(train, valid)
    result = {"chosen": model.chosen_}
    for key in ("valid", "test", *[k for k in files if k.startswith("test_")]):  # and test subsets
        data = valid if key == "valid" else split(key)
        outputs = model.predict(data.seqs)
        result[key] = kind.score(outputs, data.labels)
        if key == "test" and task.folds:  # a pair task (folds are for classes): pooled by the report
            result["test_pred"] = _predictions(np.exp(outputs), data.labels)  # log-probabilities in
    return result


def run_bench(suite: str | Suite, data_dir: str, out: str, *, profile: str = "cpu", seeds: int = 3,
              methods: tuple[str, ...] = METHODS, tasks: tuple[str, ...] | None = None,
              pretrained: str = "released", overrides: dict | None = None, command: str | None = None,
              fractions: tuple[float, ...] = (1.0,), only_seeds: tuple[int, ...] | None = None,
              log=print) -> str:
    """Run (or resume) a suite, or the named ``tasks`` of it; returns the path of ``results.md``.

    ``pretrained``: what `bert-pretrained` starts from: ``released`` (models/genobert-ALPHABET),
    ``fresh`` (pretrained here on the suite's corpus, cleaned of its test sequences) or a model
    directory. `bert-scratch` has the same config with random weights. ``suite`` is a name of
    `SUITES` or a `Suite` of one's own tasks (`user_task`); ``overrides`` replace profile fields
    (epochs, pretrain_steps, ...); ``command`` is the command line the report prints to re-run it.
    ``fractions``: train every method on seeded, stratified subsets of each training (and
    validation) file, the same subsets for every method, and test on the whole test file.
    ``only_seeds``: run just these of the seeds (folds), leaving the others to other processes.

    Runs already in ``OUT/results.jsonl`` are skipped, checked before each run, so several
    processes (say, one per core, each with its own ``tasks``) can fill one folder."""
    if isinstance(suite, str) and suite not in SUITES:
        raise InputError(f"unknown suite {suite!r}; allowed: {', '.join(SUITES)}")
    if profile not in PROFILES:
        raise InputError(f"unknown profile {profile!r}; allowed: {', '.join(PROFILES)}")
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise InputError(f"unknown method {bad[0]!r}; allowed: {', '.join(METHODS)}")
    if seeds < 1:
        raise InputError(f"--seeds {seeds}: expected 1 or more")
    if not fractions or any(not 0 < f <= 1 for f in fractions):
        raise InputError(f"--fractions {','.join(map(str, fractions))}: expected shares in (0, 1]")
    s = SUITES[suite] if isinstance(suite, str) else suite
    suite = s.name
    prof = replace(PROFILES[profile], **(overrides or {}))
    task_names = [t.name for t in s.tasks]
    unknown = [t for t in tasks or () if t not in task_names]
    if unknown:
        raise InputError(f"suite {suite!r} has no task {unknown[0]!r}; its tasks: {', '.join(task_names)}")
    setup_path = os.path.join(out, "bench.json")
    before = json.load(open(setup_path)) if os.path.exists(setup_path) else {}
    if before.get("suite") not in (None, suite):  # one folder, one suite, its tasks as they were
        raise InputError(f"holds runs of suite {before['suite']!r}, not {suite!r}: give a new --out", path=out)
    results_path = os.path.join(out, "results.jsonl")
    # bench.json keeps one profile: rows trained under another would pass for its own (settings a
    # later version added are not a change, but English rows were read through random word pieces)
    was = before.get("profile", {})
    was = {"english_mapping": "random", **was} if was else was
    asked = json.loads(json.dumps(asdict(prof)))  # tuples as lists, as bench.json holds them
    changed = next((k for k, v in asked.items() if k in was and was[k] != v), None)
    if changed:  # whether or not rows are in yet: another process may be training the first
        raise InputError(f"holds runs with {changed} {was[changed]!r}, now {asked[changed]!r} "
                         f"(--profile {profile}, --epochs, --pretrain-steps, --english-mapping), and one "
                         "table would mix the two: give a new --out", path=out)
    for t in s.tasks if only_seeds is not None else ():
        n = t.folds or seeds  # the folds of a cross-validated task are its seeds
        if (not tasks or t.name in tasks) and (not only_seeds or any(not 0 <= k < n for k in only_seeds)):
            raise InputError(f"--only-seeds {','.join(map(str, only_seeds))}: expected seeds from 0 to {n - 1} "
                             + (f"(task {t.name} has {n} folds)" if t.folds else f"(--seeds {seeds})"))
    tasks_in = {t["name"]: t for t in before.get("tasks", [])}
    for t in s.tasks:
        now, old = json.loads(json.dumps(asdict(t))), tasks_in.get(t.name, {})
        changed = next((k for k in now if k in old and old[k] != now[k]), None)
        if changed:
            raise InputError(f"holds runs of task {t.name} with {changed} {old[changed]!r}, now "
                             f"{now[changed]!r}, and one table would mix the two: give a new --out", path=out)
        tasks_in[t.name] = now  # and the tasks of earlier processes stay on record

    def done() -> dict:
        if not os.path.exists(results_path):
            return {}
        with open(results_path) as f:
            return {(r["task"], r["method"], r["seed"], r.get("fraction", 1.0)): r for r in map(json.loads, f)}
    have = done()
    waiting = [(t.name, m) for t in s.tasks if not tasks or t.name in tasks for m in methods for f in fractions
               if only_seeds and 0 not in only_seeds and m in FINETUNED + RETUNED and (t.name, m, 0, f) not in have]
    if waiting:  # later seeds take seed 0's learning rate: refused before anything runs
        raise InputError(f"--only-seeds: {waiting[0][1]} on {waiting[0][0]} takes seed 0's learning rate, and "
                         "seed 0 is not in the folder yet: run it first", path=out)
    bert = [m for m in methods if m.startswith("bert-") and m != "bert-english"]  # need genobert's models
    inits = {a: _pretrained_model(pretrained, s, a, data_dir, out, prof)
             for a in sorted({t.alphabet for t in s.tasks if not tasks or t.name in tasks}) if bert}
    os.makedirs(out, exist_ok=True)  # after the models are found: a refused run leaves no folder
    from ..model import read_meta

    origin = {a: _origin(read_meta(path), path) for a, path in inits.items()}
    provenance = git_state()
    # several processes (one per core, each with its --tasks) may fill one folder: keep every command
    for a, now in origin.items():  # one folder, one pretrained model per alphabet: rows never mix
        was = before.get("pretrained_models", {}).get(a)
        if was and not _same_model(was, now):
            raise InputError(f"holds runs fine-tuned from {was['path']}; --pretrained {pretrained} is "
                             f"{now['path']}, and one table would mix the two: give a new --out", path=out)
    commands = before.get("commands") or [c for c in [before.get("command")] if c]
    commands += [command] if command and command not in commands else []
    # what the folder holds: every process's methods and shares of the labels, not the last one's
    methods_in = [m for m in METHODS if m in methods or m in before.get("methods", [])]
    fractions_in = sorted({*fractions, *before.get("fractions", [])})
    # a process whose methods need no genobert model (baselines, bert-english) keeps the record
    models_in = {**before.get("pretrained_models", {}), **origin}
    # the seeds asked for each share of the labels (commands may differ: 3 of all labels, 10 of 0.03)
    was = before.get("seeds_by_fraction", {})  # the most asked: a later --seeds 1 asks no fewer
    seeds_by_fraction = {**was, **{f"{f:g}": max(seeds, was.get(f"{f:g}", 0)) for f in fractions}}
    write_json(setup_path, {"suite": suite, "profile": asdict(prof), "profile_name": profile, "seeds": seeds,
                   "seeds_by_fraction": seeds_by_fraction,
                   "methods": methods_in, "data_dir": data_dir, "out": out, "pretrained": pretrained,
                   "command": command, "commands": commands, "tasks": list(tasks_in.values()), "fractions": fractions_in,
                   "pretrained_models": models_in, **provenance,
                   "date": time.strftime("%Y-%m-%d"), "machine": _machine()})
    for task in s.tasks:
        if tasks and task.name not in tasks:
            continue
        names, _ = _strata(task, _read_task(task, _task_path(task, data_dir, out, task.train)))
        _overlap(task, data_dir, out)  # exact test-in-train repeats, for the report
        for seed, fraction in [(sd, fr) for sd in range(task.folds or seeds) for fr in fractions
                               if only_seeds is None or sd in only_seeds]:
            files = _splits(task, data_dir, out, seed, prof)  # with folds, seed k is fold k
            if fraction < 1:
                files = {**files, **subset(task, files, fraction, seed)}
            for method in methods:
                have = done()  # read again before each run: other processes may fill the folder
                if (task.name, method, seed, fraction) in have:
                    continue
                first = have.get((task.name, method, 0, fraction)) if seed else None  # its grid's choice
                if first and method in RETUNED and "lr" not in first and "skipped" not in first:
                    raise InputError(f"holds {method} runs of {task.name} from before it had a learning-rate "
                                     f"grid and patience; seed {seed} would be tuned apart from seed 0, and one "
                                     "table would mix the two: give a new --out", path=out)
                chosen_lr = first.get("lr") if first else None
                start, cpu = time.perf_counter(), time.process_time()
                if method in FINETUNED:
                    init = (_init_for(pretrained, inits[task.alphabet], s, task.alphabet, data_dir, out,
                                      prof, seed) if method != "bert-scratch" else "scratch")
                    run_dir = os.path.join(out, "runs", task.name, method, f"seed{seed}"
                                           + (f"_f{fraction:g}" if fraction < 1 else ""))
                    result = _run_bert_grid(task, files, init, run_dir, prof, seed, names,
                                            _shape(inits[task.alphabet]), chosen_lr,
                                            prof.adapt_steps if method == "bert-adapted" else 0,
                                            code=provenance)
                elif method.startswith("bert-probe"):
                    try:
                        result = _run_probe(method, task, files, seed, names, inits[task.alphabet], out,
                                            prof.max_len)
                    except NotApplicable as e:
                        result = {"skipped": str(e)}
                else:
                    try:
                        result = _run_baseline(method, task, files, seed, names, prof, chosen_lr)
                    except NotApplicable as e:  # e.g. onehot-lr on variable lengths
                        result = {"skipped": str(e)}
                result.update(task=task.name, method=method, seed=seed, fraction=fraction,
                              n_train=_count_rows(files["train"]),
                              **({"n_valid": _count_rows(files["valid"])} if files.get("valid") else {}),
                              seconds=round(time.perf_counter() - start, 1),
                              cpu_seconds=round(time.process_time() - cpu + result.pop("reused_cpu_seconds", 0), 1),
                              **provenance)
                with open(results_path, "a") as f:  # one write of one line: safe beside other runners
                    f.write(json.dumps(result) + "\n")
                log(f"{task.name} {method} seed {seed}" + (f" {fraction:g} of the labels" if fraction < 1 else "")
                    + ": " + (
                    ", ".join(f"test {METRICS[m]} {result['test'][m]:.3f}" for m in METRICS
                              if m in result["test"] and m != "accuracy") if "test" in result
                    else result["skipped"]))
    return write_report(out)


def user_task(spec: str, *, kind: str | None = None, alphabet: str | None = None, folds: int = 0,
              label_column: str = FinetuneConfig.label_column) -> Task:
    """``NAME=TRAIN[,VALID],TEST`` (or ``NAME=FILE`` with ``folds``) as a `Task`. Unless given,
    the kind is read from the training table (pair when it has sequence_a and sequence_b,
    regression when every label is a number and some are not whole, else sequence) and the
    alphabet from its letters."""
    from ..stats import inspect_file

    name, sep, files = spec.partition("=")
    paths = [os.path.abspath(p) for p in files.split(",")] if files else []
    if not sep or not name or not name.replace("_", "").replace("-", "").isalnum():
        raise InputError(f"--task {spec!r}: expected NAME=TRAIN[,VALID],TEST (NAME: letters, digits, - _)")
    if folds and len(paths) != 1:
        raise InputError(f"--task {spec!r}: with --folds, a task is one labelled file (NAME=FILE)")
    if not folds and len(paths) not in (2, 3):
        raise InputError(f"--task {spec!r}: expected NAME=TRAIN,TEST or NAME=TRAIN,VALID,TEST, or "
                         "one file with --folds K")
    for p in paths:
        if not os.path.isfile(p):
            raise InputError("no such file", path=p)
    train, test = paths[0], paths[-1]
    valid = paths[1] if len(paths) == 3 else None
    header, rows = _table(train)
    if kind is None:
        kind = "pair" if {"sequence_a", "sequence_b"} <= set(header) else _guess_kind(rows, label_column)
    if folds and kind not in ("sequence", "pair"):
        raise InputError(f"--folds {folds}: folds are stratified by class, for sequence and pair tasks; this "
                         f"is a {kind} task" + (" (every label a number)" if kind == "regression" else "")
                         + ": give NAME=TRAIN,TEST or NAME=TRAIN,VALID,TEST", path=train)
    if alphabet is None:
        if kind == "pair":
            raise InputError("give --alphabet for pair tasks", path=train)
        alphabet = inspect_file(train).alphabet
        if alphabet not in ("dna", "rna", "protein"):
            raise InputError(f"cannot tell DNA from protein (it looks like {alphabet!r}); give --alphabet",
                             path=train)
    settings = () if label_column == FinetuneConfig.label_column else (("label_column", label_column),)
    return Task(name, alphabet, train, train if folds else test, valid, kind=kind, folds=folds, settings=settings)


def describe(task: Task) -> str:
    """What was read of an own task, said before it runs: alphabet, kind, classes, folds, and
    a hint where many whole-number classes may have been meant as measurements."""
    text = f"task {task.name}: {task.alphabet}, {task.kind}"
    if task.kind in ("sequence", "pair"):
        names, _ = _strata(task, _read_task(task, task.train))
        text += f" with {len(names)} classes ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''})"
        if len(names) > 10 and all(map(integer_label, names)):
            text += "; every label is a whole number: if they are measurements, give --kind regression"
    return text + (f", {task.folds}-fold cross-validation" if task.folds else "")


SUITE_KEYS = {"name", "tasks", "corpora"}
TASK_KEYS = {"name", "alphabet", "kind", "train", "valid", "test", "folds", "settings", "subsets"}
# the settings a task may carry: how its table is read (the profile decides how methods train)
TASK_SETTINGS = set(TABLE_SETTINGS)


def read_suite(path: str) -> Suite:
    """A suite of one's own tasks from a JSON file (`--suite FILE.json`), paths relative to it::

        {"name": "mine",
         "tasks": [{"name": "ss3", "train": "train.tsv", "valid": "valid.tsv", "test": "test.tsv",
                    "kind": "token", "alphabet": "protein",
                    "settings": {"label_column": "ss3", "mask_column": "resolved_mask"}},
                   {"name": "small", "train": "all.tsv", "folds": 5}],
         "corpora": {"dna": ["genome.fa.gz"]}}

    A task takes every kind of `genobert.tasks` (sequence, regression, token, pair, span); kind
    and alphabet, when left out, are read from the training table as for `--task`. ``corpora``:
    what ``--pretrained fresh`` pretrains on."""
    from ..tasks import TASKS

    def bad(what: str):
        return InputError(what, path=path)
    try:
        with open(path) as f:
            spec = json.load(f)
    except FileNotFoundError:
        raise bad(f"no such suite file; --suite takes a name ({', '.join(SUITES)}) "
                  "or a JSON file of tasks") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise bad(f"not JSON ({e})") from None
    except OSError as e:
        raise bad(f"cannot read it ({e.strerror})") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("tasks"), list) or not spec["tasks"]:
        raise bad('expected {"name": ..., "tasks": [{"name": ..., "train": ..., "test": ...}, ...]}')
    if set(spec) - SUITE_KEYS:
        raise bad(f"unknown key {sorted(set(spec) - SUITE_KEYS)[0]!r}; allowed: {', '.join(sorted(SUITE_KEYS))}")
    name = str(spec.get("name") or os.path.splitext(os.path.basename(path))[0])
    if name in SUITES:  # a bench folder knows its suite by name
        raise bad(f"name {name!r} is a built-in suite's; give the suite another name")
    here = os.path.dirname(os.path.abspath(path))

    def file(value, where: str) -> str:
        if not isinstance(value, str) or not value:
            raise bad(f"{where}: expected a file name")
        full = os.path.join(here, value)
        if not os.path.isfile(full):
            raise bad(f"{where}: no such file {full}")
        return full
    tasks = []
    for i, t in enumerate(spec["tasks"]):
        where = f"tasks[{i}]" + (f" ({t['name']})" if isinstance(t, dict) and "name" in t else "")
        if not isinstance(t, dict):
            raise bad(f"{where}: expected an object with name, train and test")
        if not isinstance(t.get("name"), str) or not t["name"].replace("_", "").replace("-", "").isalnum():
            raise bad(f"{where}: name {t.get('name')!r}: expected letters, digits, - and _")
        if set(t) - TASK_KEYS:
            raise bad(f"{where}: unknown key {sorted(set(t) - TASK_KEYS)[0]!r}; allowed: {', '.join(sorted(TASK_KEYS))}")
        folds = t.get("folds", 0)
        if not isinstance(folds, int) or isinstance(folds, bool) or folds < 0 or folds == 1:
            raise bad(f"{where}: folds {folds!r}: expected 0 (train, test files) or 2 or more")
        needed = ("train",) if folds else ("train", "test")
        missing = [k for k in needed if k not in t]
        if missing:
            raise bad(f"{where}: no {missing[0]!r}")
        if folds and ("test" in t or "valid" in t):
            raise bad(f"{where}: with folds, a task is one labelled file (train); validation and "
                      "test folds are carved from it")
        kind = t.get("kind")
        if kind is not None and kind not in TASKS:
            raise bad(f"{where}: kind {kind!r}; allowed: {', '.join(TASKS)}")
        settings = t.get("settings", {})
        if not isinstance(settings, dict):
            raise bad(f"{where}: settings: expected an object such as {{\"label_column\": \"ss3\"}}")
        for k, v in settings.items():
            if k not in TASK_SETTINGS:
                raise bad(f"{where}: settings: unknown key {k!r}; allowed: {', '.join(sorted(TASK_SETTINGS))}")
            if not isinstance(v, str) or not v:
                raise bad(f"{where}: settings.{k}: expected a column name (pair_columns: \"a,b\")")
        if "sequences" in settings:
            settings = {**settings, "sequences": file(settings["sequences"], f"{where} settings.sequences")}
        subsets = t.get("subsets", [])
        if not (isinstance(subsets, list)
                and all(isinstance(x, list) and len(x) == 3 and all(isinstance(v, str) for v in x) for x in subsets)):
            raise bad(f"{where}: subsets: expected [[name, column, value], ...] (test rows to report apart)")
        train = file(t["train"], f"{where} train")
        names = [train] + ([file(t["valid"], f"{where} valid")] if t.get("valid") else []) \
            + ([] if folds else [file(t["test"], f"{where} test")])
        try:
            guess = user_task(f"{t['name']}=" + ",".join(names), kind=kind or None, folds=folds,
                              alphabet=t.get("alphabet"),
                              label_column=settings.get("label_column", FinetuneConfig.label_column)) if kind in (None, "sequence", "regression", "pair") \
                else None
        except InputError as e:  # said of the table; the fix goes in the suite file
            raise bad(f"{where}: {e.message.replace('--alphabet', 'alphabet')} ({t['train']})") from None
        if folds and (kind or guess.kind) not in ("sequence", "pair"):
            raise bad(f"{where}: folds are stratified by class: for sequence and pair tasks, not {kind or guess.kind}")
        alphabet = t.get("alphabet") or (guess.alphabet if guess else None)
        if alphabet not in ("dna", "rna", "protein"):
            raise bad(f"{where}: alphabet {alphabet!r}; allowed: dna, rna, protein" if alphabet else
                      f"{where}: no 'alphabet' (dna, rna or protein), needed for kind {kind}")
        tasks.append(Task(t["name"], alphabet, train, train if folds else names[-1],
                          names[1] if len(names) == 3 else None,
                          subsets=tuple(tuple(x) for x in subsets), kind=kind or guess.kind,
                          settings=tuple(sorted(settings.items())), folds=folds))
    if len({t.name for t in tasks}) < len(tasks):
        raise bad("two tasks share a name")
    corpora = spec.get("corpora", {})
    if (not isinstance(corpora, dict) or set(corpora) - {"dna", "rna", "protein"}
            or not all(isinstance(v, list) and v for v in corpora.values())):
        raise bad('corpora: expected {"dna": [files], "protein": [files]} (alphabets dna, rna, protein)')
    corpora = {a: tuple(file(f, f"corpora.{a}") for f in files) for a, files in corpora.items()}
    return Suite(name, tuple(tasks), corpora)


def _table(path: str) -> tuple[list[str], list[dict]]:
    import csv

    from .splits import _rows

    header, rows = _rows(path)  # what the table reader reads: no blank lines, no empty rows
    reader = csv.DictReader([header, *rows], delimiter="\t" if "\t" in header else ",")
    return list(reader.fieldnames or []), list(reader)


def _guess_kind(rows: list[dict], label_column: str) -> str:
    """regression when every label is a number and some are not whole, else sequence."""
    try:
        numbers = [float(r.get(label_column) or "") for r in rows]
    except ValueError:
        return "sequence"
    return "regression" if any(not x.is_integer() for x in numbers) else "sequence"


def subset(task: Task, files: dict, fraction: float, seed: int) -> dict:
    """Seeded, stratified ``fraction`` of a split's training and validation rows (at least two
    per class), written beside them once: the same labels for every method."""
    from ..train import stratified_split
    from .splits import _rows, _write_rows

    out = {}
    for name in ("train", "valid"):
        path = files[name].replace(".tsv", f".f{fraction:g}.tsv")
        if not os.path.exists(path):
            names, y = _strata(task, _read_task(task, files[name]))
            keep = max(int(round(fraction * len(y))), 2 * len(names or [0]))
            if keep >= len(y):
                idx = list(range(len(y)))
            else:
                _, idx = stratified_split(len(y), y, keep / len(y), seed + 7)
            header, rows = _rows(files[name])
            if len(rows) != len(y):
                raise InputError(f"expected one row per record ({len(y)}), found {len(rows)} lines",
                                 path=files[name])
            _write_rows(path, header, [rows[i] for i in sorted(idx)])
        out[name] = path
    return out


def _count_rows(path: str) -> int:
    """Records of a split file, as the reader counts them (`splits._rows`)."""
    from .splits import _rows

    return len(_rows(path)[1])


def _origin(meta: dict, path: str) -> dict:
    """What a pretrained model saw, for the report: tokens, passes, corpus letters removed."""
    t = meta.get("training", {})
    decon = t.get("corpus", {}).get("decontamination") or {}
    curve = t.get("heldout", {}).get("curve") or []
    path = os.path.abspath(path)
    inside = os.path.commonpath([path, CHECKOUT]) == CHECKOUT  # a release: no machine's path in docs/bench
    return {"path": os.path.relpath(path, CHECKOUT) if inside else path,
            "sha256": file_sha256(os.path.join(path, "model.safetensors")),
            "preset": meta.get("preset"), "tokens_seen": t.get("tokens_seen"),
            "letters_removed_as_test_overlap": decon.get("letters_removed"),
            "records_dropped_as_test_overlap": decon.get("records_dropped"),
            "heldout_bits_per_letter": curve[-1]["bits_per_letter"] if curve else None}


def _same_model(was: dict, now: dict) -> bool:
    """By the weights' sha256; by path and tokens seen for folders filled before it was recorded."""
    if "sha256" in was:
        return was["sha256"] == now["sha256"]
    def real(path: str) -> str:  # a relative path is inside the checkout (see _origin)
        return os.path.realpath(os.path.join(CHECKOUT, path))
    return (real(was["path"]), was.get("tokens_seen")) == (real(now["path"]), now.get("tokens_seen"))


def _machine() -> str:
    import platform

    import torch

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{platform.machine()}, {os.cpu_count()} CPU cores, {device}; python "
            f"{platform.python_version()}, torch {torch.__version__}")
