"""Cleaning a pretraining corpus of a benchmark's test sequences.

Whole-record matching never fires for genomes (a test promoter is a substring of a chromosome)
and misses near-duplicate proteins, so overlap is found by shared exact substrings:

- DNA: every region of a corpus record that shares a k-mer (``DNA_K`` letters, either strand)
  with any test sequence is cut out; the record's remaining pieces stay in the corpus.
- Proteins: a corpus protein sharing a ``PROTEIN_K``-letter substring with a test protein (or
  containing a whole test peptide shorter than that) is dropped.

K-mers are compared as 64-bit polynomial hashes (numpy, wrapping arithmetic); a false match needs
a hash collision, about one in 10^5 for a whole 70 Mbp corpus against 10^6 test k-mers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DNA_K = 32  # shorter shared DNA words occur by chance in genomes (repeats, low complexity)
PROTEIN_K = 20  # 20 identical residues in a row: the same protein, an isoform or a close ortholog
_BASE = np.uint64(0x9E3779B97F4A7C15)  # odd multiplier of the polynomial hash
_COMPLEMENT = str.maketrans("ACGTRYKMBVDHN", "TGCAYRMKVBHDN")


def kmer_hashes(seq: str, k: int) -> np.ndarray:
    """Hashes of every k-letter substring of ``seq``: (len - k + 1,) uint64 (empty if shorter)."""
    n = len(seq) - k + 1
    if n <= 0:
        return np.zeros(0, np.uint64)
    codes = np.frombuffer(seq.encode("latin-1"), dtype=np.uint8).astype(np.uint64)
    h = np.zeros(n, np.uint64)
    with np.errstate(over="ignore"):
        for j in range(k):
            h = h * _BASE + codes[j: j + n]
    return h


def reverse_complement(seq: str) -> str:
    return seq.translate(_COMPLEMENT)[::-1]


@dataclass
class Contamination:
    """The test sequences' k-mers, ready to match corpus records against."""

    alphabet: str
    k: int
    hashes: np.ndarray  # sorted unique uint64
    short: list[str] = field(default_factory=list)  # test proteins shorter than k: matched whole

    @classmethod
    def of(cls, tests, alphabet: str) -> Contamination:
        """From test sequences (an iterable of upper-case strings)."""
        dna = alphabet in ("dna", "rna")
        k = DNA_K if dna else PROTEIN_K
        parts, short = [], set()
        for seq in set(tests):
            if len(seq) < k:
                if not dna:
                    short.add(seq)  # a peptide: dropped from the corpus if contained whole
                continue  # a DNA test shorter than k shares nothing a genome would not by chance
            parts.append(kmer_hashes(seq, k))
            if dna:
                parts.append(kmer_hashes(reverse_complement(seq), k))
        hashes = np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.uint64)
        return cls(alphabet, k, hashes, sorted(short))

    def matches(self, seq: str) -> np.ndarray:
        """A bool per k-mer start of ``seq``: does that k-mer occur in a test sequence?"""
        h = kmer_hashes(seq, self.k)
        if not len(self.hashes) or not len(h):
            return np.zeros(len(h), bool)
        i = np.minimum(np.searchsorted(self.hashes, h), len(self.hashes) - 1)
        return self.hashes[i] == h

    def clean(self, seq: str) -> list[str]:
        """What of a corpus record may stay: DNA without the overlapping regions (pieces of at
        least k letters), a protein whole or not at all."""
        hit = self.matches(seq)
        if self.alphabet not in ("dna", "rna"):
            touched = hit.any() or any(s in seq for s in self.short)
            return [] if touched else [seq]
        if not hit.any():
            return [seq]
        covered = np.zeros(len(seq) + 1, np.int32)  # letters [i, i + k) of each hit are covered
        starts = np.flatnonzero(hit)
        np.add.at(covered, starts, 1)
        np.add.at(covered, starts + self.k, -1)
        keep = np.cumsum(covered[:-1]) == 0
        edges = np.flatnonzero(np.diff(np.concatenate(([0], keep.astype(np.int8), [0]))))
        return [seq[s:e] for s, e in zip(edges[::2], edges[1::2], strict=True) if e - s >= self.k]
