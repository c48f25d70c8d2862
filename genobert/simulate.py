"""Simulated regulatory grammar: DNA where the label depends on the order and spacing of motifs.

A "promoter" holds the box ``TTGACA`` and, 15-19 letters after it, the box ``TATAAT`` (the shape
of a bacterial sigma-70 promoter). Half of the "non-promoters" hold only one of the two boxes
(counting k-mers finds those); the other half hold both boxes, but in the wrong order or at the
wrong distance, so they have the same k-mers as a promoter and only context separates them. A
k-mer model therefore tops out near 75 % accuracy; a model that reads context can go further. The genome for pretraining is random DNA with many correct promoters planted
in it. Everything here is simulated, and says so in its ids and file names.
"""

from __future__ import annotations

import os

import numpy as np

BOX35, BOX10 = "TTGACA", "TATAAT"
SPACING = (15, 19)  # letters between the end of BOX35 and the start of BOX10 in a promoter


def _random(rng: np.random.Generator, n: int) -> list[str]:
    return list(rng.choice(list("ACGT"), n))


def _plant(rng, seq: list[str], promoter: bool) -> None:
    n = len(seq)
    if not promoter and rng.random() < 0.5:  # one box only
        start = rng.integers(0, n - 6)
        seq[start: start + 6] = BOX35 if rng.random() < 0.5 else BOX10
        return
    if promoter:
        first, second, gap = BOX35, BOX10, rng.integers(SPACING[0], SPACING[1] + 1)
    elif rng.random() < 0.5:  # wrong order, right spacing
        first, second, gap = BOX10, BOX35, rng.integers(SPACING[0], SPACING[1] + 1)
    else:  # right order, wrong spacing
        first, second = BOX35, BOX10
        gap = rng.choice([rng.integers(0, 8), rng.integers(26, 40)])
    span = 12 + gap
    start = rng.integers(0, n - span)
    seq[start: start + 6] = first
    seq[start + 6 + gap: start + 12 + gap] = second


def sequences(n: int, length: int = 100, seed: int = 0) -> tuple[list[str], list[int]]:
    """``n`` simulated sequences (half promoters, label 1) of ``length`` letters."""
    rng = np.random.default_rng(seed)
    seqs, labels = [], []
    for i in range(n):
        s = _random(rng, length)
        _plant(rng, s, promoter=bool(i % 2))
        seqs.append("".join(s))
        labels.append(i % 2)
    return seqs, labels


def genome(length: int = 300_000, promoters_per_kb: float = 12.0, seed: int = 0) -> str:
    """Random DNA with correct promoters planted in it (for pretraining)."""
    rng = np.random.default_rng(seed)
    seq = _random(rng, length)
    for _ in range(int(length / 1000 * promoters_per_kb)):
        gap = rng.integers(SPACING[0], SPACING[1] + 1)
        start = rng.integers(0, length - 12 - gap)
        seq[start: start + 6] = BOX35
        seq[start + 6 + gap: start + 12 + gap] = BOX10
    return "".join(seq)


def write_demo_data(folder: str, seed: int = 0, *, train: int = 4000, length: int = 64) -> dict[str, str]:
    """Write ``simulated_genome.fa`` and ``simulated_{train,valid,test}.tsv`` into ``folder``."""
    os.makedirs(folder, exist_ok=True)
    paths = {"genome": os.path.join(folder, "simulated_genome.fa")}
    g = genome(seed=seed)
    with open(paths["genome"], "w") as f:
        f.write(">simulated_chr1 simulated DNA with planted promoters\n")
        f.writelines(g[i: i + 80] + "\n" for i in range(0, len(g), 80))
    for split, n, offset in (("train", train, 1), ("valid", 400, 2), ("test", 1000, 3)):
        seqs, labels = sequences(n, length, seed=seed * 10 + offset)
        paths[split] = os.path.join(folder, f"simulated_{split}.tsv")
        with open(paths[split], "w") as f:
            f.write("id\tsequence\tlabel\n")
            f.writelines(f"sim_{split}_{i}\t{s}\t{'promoter' if y else 'other'}\n"
                         for i, (s, y) in enumerate(zip(seqs, labels, strict=True)))
    return paths
