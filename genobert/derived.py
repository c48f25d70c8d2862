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

Each function returns ``{"train": path, "test": path}`` (and ``"valid"`` where the data have one).
"""

from __future__ import annotations

import csv
import os

import numpy as np

from .io import write_text


def _rows(path: str) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def _write(path: str, columns: list[str], rows: list[list]) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_text(path, "\t".join(columns) + "\n" + "".join("\t".join(map(str, r)) + "\n" for r in rows))
    return path


def _ppi(data_dir: str, folder: str, unseen: bool) -> dict[str, str]:
    files = {"train": os.path.join(folder, "train.tsv"), "test": os.path.join(folder, "test.tsv")}
    if all(os.path.exists(p) for p in files.values()):
        return files
    base = os.path.join(data_dir, "pair_ppi_yeast_guo2008")
    seqs = {r["protein_id"]: r["sequence"] for r in _rows(os.path.join(base, "proteins.tsv"))}
    pairs = _rows(os.path.join(base, "pairs.tsv"))
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
    return files


def ppi_random(data_dir: str, folder: str) -> dict[str, str]:
    return _ppi(data_dir, folder, unseen=False)


def ppi_unseen(data_dir: str, folder: str) -> dict[str, str]:
    return _ppi(data_dir, folder, unseen=True)


def conservation_mean(data_dir: str, folder: str) -> dict[str, str]:
    files = {s: os.path.join(folder, f"{s}.tsv") for s in ("train", "valid", "test")}
    if not all(os.path.exists(p) for p in files.values()):
        for split, path in files.items():
            rows = _rows(os.path.join(data_dir, "prot_conservation_flip", f"{split}.tsv"))
            _write(path, ["id", "sequence", "label"], [
                [r["id"], r["sequence"], f"{np.mean([int(c) for c in r['conservation_class']]):.4f}"]
                for r in rows])
    return files


def longest_helix(data_dir: str, folder: str) -> dict[str, str]:
    """The span task: where is each protein's longest helix? From the 3-state secondary structure
    of ``prot_ss3_flip_netsurfp``, resolved residues only (1-based, inclusive; the first of equal
    runs). Proteins without a resolved helix are left out."""
    import re

    files = {s: os.path.join(folder, f"{s}.tsv") for s in ("train", "valid", "test")}
    if not all(os.path.exists(p) for p in files.values()):
        for split, path in files.items():
            rows = []
            for r in _rows(os.path.join(data_dir, "prot_ss3_flip_netsurfp", f"{split}.tsv")):
                ss = "".join(c if m == "1" else "-" for c, m in zip(r["ss3"], r["resolved_mask"], strict=True))
                runs = [m.span() for m in re.finditer("H+", ss)]
                if runs:
                    a, b = max(runs, key=lambda s: s[1] - s[0])
                    rows.append([r["id"], r["sequence"], a + 1, b])
            _write(path, ["id", "sequence", "start", "end"], rows)
    return files


DERIVED = {"ppi_random": ppi_random, "ppi_unseen": ppi_unseen, "conservation_mean": conservation_mean,
           "longest_helix": longest_helix}
