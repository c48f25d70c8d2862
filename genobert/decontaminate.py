"""Cleaning a pretraining corpus of a benchmark's test sequences.

Whole-record matching never fires for genomes (a test promoter is a substring of a chromosome)
and misses near-duplicate proteins, so overlap is found by shared exact substrings:

- DNA: where a corpus record shares a k-mer (``DNA_K`` letters, either strand) with a test
  sequence, the stretch that test sequence would cover there is cut out (so a test's N or IUPAC
  letters, which match no genome k-mer, go with it); the record's remaining pieces stay.
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


def _canonical(seq: str, dna: bool) -> str:
    """Upper case; for DNA, U as T; for proteins, without a final stop ('*')."""
    seq = seq.upper()
    return seq.replace("U", "T") if dna else seq.rstrip("*")


@dataclass
class Contamination:
    """The test sequences' k-mers, ready to match corpus records against. A k-mer of plain bases
    found in one test at one place keeps how far that test reaches before and after it, so that
    one shared k-mer cuts the whole test sequence out of a genome, letters that match no k-mer (an
    N, an IUPAC code, a SNP) included; any other k-mer (a repeat, an N run) cuts only itself."""

    alphabet: str
    k: int
    hashes: np.ndarray  # sorted unique uint64
    before: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # letters before, per hash
    after: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # letters after it
    short: list[str] = field(default_factory=list)  # test proteins shorter than k: matched whole

    @classmethod
    def of(cls, tests, alphabet: str) -> Contamination:
        """From test sequences (any case; RNA's U read as T, a protein's final '*' dropped)."""
        dna = alphabet in ("dna", "rna")
        k = DNA_K if dna else PROTEIN_K
        parts, short = [], set()
        for seq in {_canonical(t, dna) for t in tests}:
            if len(seq) < k:
                if not dna:
                    short.add(seq)  # a peptide: dropped from the corpus if contained whole
                continue  # a DNA test shorter than k shares nothing a genome would not by chance
            for strand in (seq, reverse_complement(seq)) if dna else (seq,):
                h = kmer_hashes(strand, k)
                at = np.arange(len(h))
                # only a k-mer of plain bases reaches out: an N run matches every assembly gap
                odd = np.frombuffer(strand.encode("latin-1"), np.uint8)
                odd = np.concatenate(([0], np.cumsum(~np.isin(odd, np.frombuffer(b"ACGT", np.uint8)))))
                plain = (odd[k:] - odd[:-k] == 0) if dna else np.zeros(len(h), bool)
                parts.append((h, np.where(plain, at, 0), np.where(plain, len(strand) - k - at, 0)))
        if not parts:
            return cls(alphabet, k, np.zeros(0, np.uint64), short=sorted(short))
        h, before, after = (np.concatenate(x) for x in zip(*parts, strict=True))
        order = np.argsort(h, kind="stable")
        h, before, after = h[order], before[order], after[order]
        first = np.flatnonzero(np.concatenate(([True], h[1:] != h[:-1])))
        once = np.diff(np.concatenate((first, [len(h)]))) == 1
        # a k-mer in several tests or places (a repeat, both strands) cuts only itself: which
        # test it belongs to, and so how far to reach, is not known
        return cls(alphabet, k, h[first], np.where(once, before[first], 0), np.where(once, after[first], 0),
                   sorted(short))

    def _found(self, seq: str) -> np.ndarray:
        """Per k-mer start of ``seq``: the index of that k-mer in ``hashes``, or -1."""
        h = kmer_hashes(_canonical(seq, self.alphabet in ("dna", "rna")), self.k)
        if not len(self.hashes) or not len(h):
            return np.full(len(h), -1)
        i = np.minimum(np.searchsorted(self.hashes, h), len(self.hashes) - 1)
        return np.where(self.hashes[i] == h, i, -1)

    def matches(self, seq: str) -> np.ndarray:
        """A bool per k-mer start of ``seq``: does that k-mer occur in a test sequence?"""
        return self._found(seq) >= 0

    def clean(self, seq: str) -> list[str]:
        """What of a corpus record may stay: DNA without the test sequences it shares a k-mer with
        (each cut as far as that test sequence reaches; pieces of at least k letters stay), a
        protein whole or not at all."""
        found = self._found(seq)
        if self.alphabet not in ("dna", "rna"):
            protein = _canonical(seq, False)
            touched = (found >= 0).any() or any(s in protein for s in self.short)
            return [] if touched else [seq]
        starts = np.flatnonzero(found >= 0)
        if not len(starts):
            return [seq]
        which = found[starts]
        lo = np.maximum(starts - self.before[which], 0)
        hi = np.minimum(starts + self.k + self.after[which], len(seq))
        covered = np.zeros(len(seq) + 1, np.int32)  # letters [lo, hi) of each hit's test sequence
        np.add.at(covered, lo, 1)
        np.add.at(covered, hi, -1)
        keep = np.cumsum(covered[:-1]) == 0
        edges = np.flatnonzero(np.diff(np.concatenate(([0], keep.astype(np.int8), [0]))))
        return [seq[s:e] for s, e in zip(edges[::2], edges[1::2], strict=True) if e - s >= self.k]
