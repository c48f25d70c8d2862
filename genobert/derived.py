"""Benchmark inputs derived from the shared datasets, written once under ``OUT/derived``.

- ``ppi_random`` / ``ppi_unseen``: yeast protein-protein interaction pairs
  (``pair_ppi_yeast_guo2008``) as pair tables with both sequences inline. ``random`` keeps the
  dataset's random pair split (``split_random_pair_seed42``), under which nearly every test protein
  also occurs in training pairs (SOURCES.md); ``unseen`` holds out 20 % of the proteins (seed 0):
  test pairs have both proteins held out, training pairs neither, mixed pairs are dropped.
- ``conservation_mean``: a number per protein for the regression task, the mean of the per-residue
  conservation classes (1-9) of ``prot_conservation_flip``, on its own train / valid / test split.

- ``longest_helix``: a span per protein for the span task, its longest resolved helix in
  ``prot_ss3_flip_netsurfp`` (a target derived here, not a published task).

Each function returns ``{"train": path, "test": path}`` (and ``"valid"`` where the data have one),
built again when its inputs (by content) or `VERSION` differ from those its folder's
``derived.json`` names; a missing input file or column is one line.
"""

from __future__ import annotations

import csv
import json
import os

import numpy as np

from .errors import InputError
from .io import file_sha256, write_json, write_text

VERSION = 2  # of what the builders write: tables stamped with another (or other inputs) are rebuilt


def _rows(path: str, *columns: str) -> list[dict]:
    """The rows of a shared TSV (checked present by `_built`) that must have ``columns``; a
    missing column is one line."""
    with open(path, newline="") as f:
        reader = csv.DictReader(f, delimiter="\t")
        lacking = [c for c in columns if c not in (reader.fieldnames or [])]
        if lacking:
            raise InputError(f"no {', '.join(map(repr, lacking))} column; the header has: "
                             f"{', '.join(reader.fieldnames or [])}", path=path, line=1)
        return list(reader)


def _write(path: str, columns: list[str], rows: list[list]) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_text(path, "\t".join(columns) + "\n" + "".join("\t".join(map(str, r)) + "\n" for r in rows))
    return path


def _built(folder: str, files: dict[str, str], inputs: list[str], build) -> dict[str, str]:
    """``files``, rebuilt by ``build()`` unless ``folder``'s stamp names this `VERSION` and
    ``inputs`` by content (another --data-dir, a re-fetched file or a fixed builder: rebuilt)."""
    for path in inputs:
        if not os.path.isfile(path):
            raise InputError("missing; see `genobert data verify --data-dir DIR`", path=path)
    want = {"version": VERSION, "inputs": {os.path.basename(p): file_sha256(p) for p in inputs}}
    stamp = os.path.join(folder, "derived.json")
    try:
        with open(stamp) as f:
            fresh = json.load(f) == want and all(os.path.isfile(p) for p in files.values())
    except (OSError, ValueError):
        fresh = False
    if not fresh:
        build()
        write_json(stamp, want)  # last: the mark that the tables are whole
    return files


def _ppi(data_dir: str, folder: str, unseen: bool) -> dict[str, str]:
    files = {"train": os.path.join(folder, "train.tsv"), "test": os.path.join(folder, "test.tsv")}
    base = os.path.join(data_dir, "pair_ppi_yeast_guo2008")
    proteins_file, pairs_file = os.path.join(base, "proteins.tsv"), os.path.join(base, "pairs.tsv")

    def build():
        seqs = {r["protein_id"]: r["sequence"] for r in _rows(proteins_file, "protein_id", "sequence")}
        pairs = _rows(pairs_file, "protein_a", "protein_b", "label",
                      *([] if unseen else ["split_random_pair_seed42"]))
        for line, p in enumerate(pairs, start=2):
            for member in (p["protein_a"], p["protein_b"]):
                if member not in seqs:
                    raise InputError(f"protein {member!r} is not in {proteins_file}", path=pairs_file, line=line)
        if unseen:
            proteins = sorted(seqs)
            held = set(np.random.default_rng(0).permutation(proteins)[: len(proteins) // 5])
            split = {}
            for i, p in enumerate(pairs):
                inside = (p["protein_a"] in held) + (p["protein_b"] in held)
                split[i] = "test" if inside == 2 else "train" if inside == 0 else None
        else:
            split = {i: p["split_random_pair_seed42"] for i, p in enumerate(pairs)}
        columns = ["id", "sequence_a", "sequence_b", "label"]
        for name, path in files.items():
            _write(path, columns, [[f"{p['protein_a']}|{p['protein_b']}", seqs[p["protein_a"]],
                                    seqs[p["protein_b"]], p["label"]]
                                   for i, p in enumerate(pairs) if split[i] == name])

    return _built(folder, files, [proteins_file, pairs_file], build)


def ppi_random(data_dir: str, folder: str) -> dict[str, str]:
    return _ppi(data_dir, folder, unseen=False)


def ppi_unseen(data_dir: str, folder: str) -> dict[str, str]:
    return _ppi(data_dir, folder, unseen=True)


def conservation_mean(data_dir: str, folder: str) -> dict[str, str]:
    files = {s: os.path.join(folder, f"{s}.tsv") for s in ("train", "valid", "test")}
    inputs = {s: os.path.join(data_dir, "prot_conservation_flip", f"{s}.tsv") for s in files}

    def build():
        for split, path in files.items():
            rows = []
            for line, r in enumerate(_rows(inputs[split], "id", "sequence", "conservation_class"), start=2):
                classes = r["conservation_class"]
                if not classes.isdigit():
                    raise InputError(f"conservation_class {classes[:20]!r}: expected a digit 1-9 per "
                                     "residue", path=inputs[split], line=line)
                rows.append([r["id"], r["sequence"], f"{np.mean([int(c) for c in classes]):.4f}"])
            _write(path, ["id", "sequence", "label"], rows)

    return _built(folder, files, list(inputs.values()), build)


def longest_helix(data_dir: str, folder: str) -> dict[str, str]:
    """The span task: where is each protein's longest helix? From the 3-state secondary structure
    of ``prot_ss3_flip_netsurfp``, resolved residues only (1-based, inclusive; the first of equal
    runs). Proteins without a resolved helix are left out."""
    import re

    files = {s: os.path.join(folder, f"{s}.tsv") for s in ("train", "valid", "test")}
    inputs = {s: os.path.join(data_dir, "prot_ss3_flip_netsurfp", f"{s}.tsv") for s in files}

    def build():
        for split, path in files.items():
            rows = []
            for line, r in enumerate(_rows(inputs[split], "id", "sequence", "ss3", "resolved_mask"), start=2):
                if len(r["ss3"]) != len(r["resolved_mask"]):
                    raise InputError(f"ss3 has {len(r['ss3'])} letters, resolved_mask "
                                     f"{len(r['resolved_mask'])}: expected one of each per residue",
                                     path=inputs[split], line=line)
                ss = "".join(c if m == "1" else "-" for c, m in zip(r["ss3"], r["resolved_mask"], strict=True))
                runs = [m.span() for m in re.finditer("H+", ss)]
                if runs:
                    a, b = max(runs, key=lambda s: s[1] - s[0])
                    rows.append([r["id"], r["sequence"], a + 1, b])
            _write(path, ["id", "sequence", "start", "end"], rows)

    return _built(folder, files, list(inputs.values()), build)


DERIVED = {"ppi_random": ppi_random, "ppi_unseen": ppi_unseen, "conservation_mean": conservation_mean,
           "longest_helix": longest_helix}
