"""The files every method of a task and seed sees: a task's validation file or one carved from
its training file (stratified; by protein for unseen-protein pairs), cut to the profile's token
budget, written once under ``OUT/splits``."""

from __future__ import annotations

import os
from collections import Counter
import shutil

import numpy as np

from ..baselines import Split
from ..config import FinetuneConfig
from ..errors import InputError
from ..io import read_records, write_text
from ..tables import normalise_label
from ..train import label_names, stratified_split
from .suites import Profile, Task

def _path(data_dir: str, rel: str) -> str:
    path = os.path.join(data_dir, rel)
    if not os.path.isfile(path):
        raise InputError("missing; see `genobert data verify --data-dir DIR`", path=path)
    return path


def _task_path(task: Task, data_dir: str, out: str, rel: str) -> str:
    if task.derived:
        from ..derived import DERIVED

        folder = os.path.join(out, "derived", task.name)
        DERIVED[task.derived](data_dir, folder)
        return os.path.join(folder, rel)
    return _path(data_dir, rel)


# how finetune reads a table; a task's settings may override each (suites.Task.settings)
TABLE_SETTINGS = ("label_column", "mask_column", "pair_columns", "sequences")


def _read_task(task: Task, path: str):
    """The labelled records of a task's file, read as its finetune task reads them."""
    from types import SimpleNamespace

    from ..tasks import get_task

    settings = SimpleNamespace(**{**{k: getattr(FinetuneConfig, k) for k in TABLE_SETTINGS}, **dict(task.settings)})
    return get_task(task.kind).read(path, task.alphabet, settings)


def _strata(task: Task, data) -> tuple[list[str], list]:
    """Class names and each record's class id, in the normal form finetune reads labels in
    ('1.0' and '1' are one class), for stratifying; no names and ``None`` ids where a task has
    no classes (regression, per-letter labels)."""
    if task.kind not in ("sequence", "pair"):
        return [], [None] * len(data.targets)
    from ..tasks import get_task

    names = label_names([normalise_label(t) for t in data.targets])
    return names, get_task(task.kind).encode(data, names)


def _text_lines(path: str) -> list[str]:
    """A table's lines, decompressed (.gz, .bz2, .xz) as the readers do, without a byte-order mark."""
    from ..io import open_source

    with open_source(path) as src:
        data = src.stream.read()
    try:
        return data.decode("utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise InputError(f"not valid UTF-8 (byte {e.start + 1})", path=path) from None


def _numbered_rows(path: str) -> tuple[str, list[tuple[int, str]]]:
    """A table's header line and its rows with their line numbers, skipping what the table reader
    skips (`genobert.io`): blank lines before the header, and rows of blanks or empty cells."""
    lines = _text_lines(path)
    first = next((i for i, line in enumerate(lines) if line.strip()), 0)
    header = lines[first] if lines else ""
    delimiter = "\t" if "\t" in header else ","
    return header, [(n, line) for n, line in enumerate(lines[first + 1:], start=first + 2)
                    if line.replace(delimiter, "").strip()]


def _rows(path: str) -> tuple[str, list[str]]:
    """A table's header line and its rows, one per record (`_numbered_rows`)."""
    header, rows = _numbered_rows(path)
    return header, [row for _, row in rows]


def _write_rows(path: str, header: str, rows: list[str]) -> None:
    write_text(path, "\n".join([header] + rows) + "\n")


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
             "test": (os.path.join(folder, "test.tsv") if task.folds else
                      _task_path(task, data_dir, out, task.test))}
    full = {name: os.path.join(folder, f"{name}.full.tsv") for name in ("train", "valid")}
    if not os.path.exists(files["valid"]):
        os.makedirs(folder, exist_ok=True)
        train = _task_path(task, data_dir, out, task.train)
        if task.folds:
            train = _fold(task, train, seed, folder)  # this fold's training rows; test.tsv written
        if task.valid:
            shutil.copyfile(train, full["train"])
            shutil.copyfile(_task_path(task, data_dir, out, task.valid), full["valid"])
        else:
            data = _read_task(task, train)
            _, y = _strata(task, data)
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
        # of this fold's test rows where the task is cross-validated, else of the one test file
        path = os.path.join(folder if task.folds else os.path.dirname(folder), f"test_{name}.tsv")
        if not os.path.exists(path):
            header, rows = _numbered_rows(files["test"])
            keep = {r.line for r in read_records(files["test"], alphabet=task.alphabet)
                    if (r.extra or {}).get(column) == value}
            _write_rows(path, header, [row for n, row in rows if n in keep])
        files[f"test_{name}"] = path
    return files


def _overlap(task: Task, data_dir: str, out: str) -> dict:
    """How many test records repeat a training sequence exactly (case aside; a pair in either
    order), written once to ``OUT/splits/TASK/overlap.json`` for the report. A cross-validated
    task counts the records whose sequence occurs more than once in its file: their copies may
    fall in different folds."""
    import json

    path = os.path.join(out, "splits", task.name, "overlap.json")
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)

    def keys(rel: str) -> list:
        return [tuple(sorted(x.upper() for x in s)) if isinstance(s, tuple) else s.upper()
                for s in _read_task(task, _task_path(task, data_dir, out, rel)).seqs]
    train = keys(task.train)
    if task.folds:
        counts = Counter(train)
        found = {"test_records": len(train), "test_in_train": sum(counts[k] > 1 for k in train),
                 "how": "records whose sequence occurs more than once in the file"}
    else:
        seen, test = set(train), keys(task.test)
        found = {"test_records": len(test), "test_in_train": sum(k in seen for k in test),
                 "how": "test records whose sequence is in the training file"}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_text(path, json.dumps(found) + "\n")
    return found


def _fold(task: Task, path: str, fold: int, folder: str) -> str:
    """Stratified K-fold: write fold ``fold``'s test rows to ``folder/test.tsv`` and return a file
    of the other rows (validation is then carved from them, inside the fold)."""
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(_strata(task, _read_task(task, path))[1])
    if np.bincount(y).min() < task.folds:
        raise InputError(f"--folds {task.folds}: the rarest label has only {np.bincount(y).min()} "
                         "rows; use fewer folds", path=path)
    header, rows = _rows(path)
    if len(rows) != len(y):
        raise InputError(f"expected one row per record ({len(y)}), found {len(rows)} lines", path=path)
    train, test = list(StratifiedKFold(task.folds, shuffle=True, random_state=0).split(rows, y))[fold]
    _write_rows(os.path.join(folder, "test.tsv"), header, [rows[i] for i in test])
    rest = os.path.join(folder, "fold_train.tsv")
    _write_rows(rest, header, [rows[i] for i in train])
    return rest


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


def _load(task: Task, path: str, names: list[str]) -> Split:
    """A sequence or pair task's file as the baselines, probes and pooled scores take it: its
    label column, as class ids."""
    from ..tasks import get_task

    data = _read_task(task, path)
    return Split(data.seqs, np.asarray(get_task(task.kind).encode(data, names)))
