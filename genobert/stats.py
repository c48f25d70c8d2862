"""`genobert inspect`: what a sequence file holds, in one pass (a quick ``seqkit stats``).

Per file: format, compression, record count, total / min / median / max length, the alphabet it
looks like, letters outside that alphabet, proteins with a '*' before their end, soft-masked
(lower-case) letters, duplicate ids and, for tables, the label counts. Structural problems (a
truncated gzip, a broken FASTQ record) are `InputError`s, as everywhere.
"""

from __future__ import annotations

import os
from array import array
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .alphabets import get_alphabet, guess_alphabet
from .errors import InputError
from .io import open_source, read_header, source_records

_BATCH = 1 << 22  # letters counted per numpy call


@dataclass
class FileStats:
    """What `inspect_file` found in one file."""

    path: str
    format: str
    compression: str
    records: int = 0
    total: int = 0
    min: int = 0
    median: float = 0.0
    max: int = 0
    alphabet: str = "-"
    outside: Counter[str] = field(default_factory=Counter)  # letters outside `alphabet`
    ambiguous: int = 0  # DNA letters other than A C G T (N and IUPAC codes)
    lowercase: int = 0  # soft-masked letters, read as upper case
    duplicate_ids: int = 0
    duplicate_examples: list[str] = field(default_factory=list)
    inner_stops: int = 0  # records with a '*' before their last letter (a protein's stop ends it)
    inner_stop_examples: list[str] = field(default_factory=list)
    labels: Counter[str] | None = None
    columns: list[str] | None = None  # tables only
    note: str = ""

    def problems(self) -> list[str]:
        """Lines worth a user's attention, empty for a clean file."""
        out = []
        if self.outside:
            ranked = sorted(self.outside.items(), key=lambda cn: (-cn[1], cn[0]))[:10]
            letters = ", ".join(f"{_show(c)}×{n:,}" for c, n in ranked)
            out.append(f"{sum(self.outside.values()):,} letters outside {self.alphabet}: {letters}")
        if self.inner_stops and self.alphabet == "protein":  # elsewhere '*' is a letter outside
            out.append(f"{self.inner_stops:,} records with '*' before the end (a stop is allowed "
                       "only as the last letter), e.g. " + ", ".join(repr(i) for i in self.inner_stop_examples))
        if self.duplicate_ids:
            out.append(f"{self.duplicate_ids:,} duplicate ids, e.g. "
                       + ", ".join(repr(i) for i in self.duplicate_examples))
        return out

    def notes(self) -> list[str]:
        """Facts that are not problems: labels, soft-masking, ambiguous bases."""
        out = [self.note] if self.note else []
        if self.labels:
            out.append("labels: " + ", ".join(f"{k}: {v:,}" for k, v in sorted(self.labels.items())))
        if self.lowercase:
            out.append(f"{self.lowercase:,} lower-case (soft-masked) letters, read as upper case")
        if self.ambiguous:
            out.append(f"{self.ambiguous:,} N or IUPAC ambiguity codes")
        return out


def inspect_file(path: str | os.PathLike) -> FileStats:
    """Read ``path`` once and describe it."""
    with open_source(path) as src:
        stats = FileStats(src.name, src.format, src.compression)
        table = None
        if src.format == "table":
            table = read_header(src)
            stats.columns = table.columns
            if "sequence" not in table.columns:
                return _plain_table(stats, table)
        return _sequences(stats, source_records(src, None, table=table))


def _sequences(stats: FileStats, records) -> FileStats:
    counts = np.zeros(256, dtype=np.int64)
    lengths = array("q")
    seen: set[str] = set()
    labels: Counter[str] = Counter()
    pending: list[bytes] = []
    pending_len = 0
    for rec in records:
        lengths.append(len(rec.seq))
        if rec.id in seen:
            stats.duplicate_ids += 1
            if len(stats.duplicate_examples) < 3:
                stats.duplicate_examples.append(rec.id)
        else:
            seen.add(rec.id)
        if rec.label is not None:
            labels[rec.label] += 1
        if -1 < rec.seq.find("*") < len(rec.seq) - 1:
            stats.inner_stops += 1
            if len(stats.inner_stop_examples) < 3:
                stats.inner_stop_examples.append(rec.id)
        pending.append(rec.seq.encode("latin-1"))
        pending_len += len(rec.seq)
        if pending_len >= _BATCH:
            counts += np.bincount(np.frombuffer(b"".join(pending), np.uint8), minlength=256)
            pending, pending_len = [], 0
    if pending:
        counts += np.bincount(np.frombuffer(b"".join(pending), np.uint8), minlength=256)
    if not lengths:
        raise InputError("no records", path=stats.path)
    ln = np.frombuffer(lengths, dtype=np.int64)
    stats.records, stats.total = len(ln), int(ln.sum())
    stats.min, stats.median, stats.max = int(ln.min()), float(np.median(ln)), int(ln.max())
    stats.labels = labels or None
    _letters(stats, counts)
    return stats


def _letters(stats: FileStats, counts: np.ndarray) -> None:
    lower = np.arange(ord("a"), ord("z") + 1)
    stats.lowercase = int(counts[lower].sum())
    upper = counts.copy()
    upper[lower - 32] += counts[lower]
    upper[lower] = 0
    letters = Counter({chr(i): int(n) for i, n in enumerate(upper) if n})
    stats.alphabet = guess_alphabet(letters)
    if stats.alphabet == "empty":
        shown = ", ".join(repr(c) for c, _ in letters.most_common(5))
        raise InputError(f"no letters A-Z in its {stats.records:,} records (found: {shown or 'nothing'}); "
                         "not a sequence file?", path=stats.path)
    alpha = get_alphabet(stats.alphabet)
    allowed = set(alpha.letters) | set(alpha.aliases)
    stats.outside = Counter({c: n for c, n in letters.items() if c not in allowed})
    if alpha.name in ("dna", "rna"):
        stats.ambiguous = sum(n for c, n in letters.items() if c in allowed and c not in "ACGTU")


def _plain_table(stats: FileStats, table) -> FileStats:
    labels: Counter[str] = Counter()
    i_label = table.columns.index("label") if "label" in table.columns else None
    for _, row in table.rows:
        stats.records += 1
        if i_label is not None:
            labels[row[i_label]] += 1
    stats.labels = labels or None
    stats.note = (f"no 'sequence' column, so rows are counted only (columns: "
                  f"{', '.join(table.columns)})")
    return stats


def _show(c: str) -> str:
    return repr(c) if c.isprintable() else f"0x{ord(c):02x}"


COLUMNS = ("file", "format", "compression", "records", "total_len", "min_len", "median_len",
           "max_len", "alphabet")


def _row(s: FileStats) -> list[str]:
    has_seq = s.alphabet != "-"
    nums = [f"{s.total:,}", f"{s.min:,}", f"{s.median:,.1f}".rstrip("0").rstrip("."), f"{s.max:,}"]
    return [s.path, s.format, s.compression, f"{s.records:,}",
            *(nums if has_seq else ["-"] * 4), s.alphabet]


def format_stats(all_stats: list[FileStats], tsv: bool = False) -> str:
    """An aligned table (or TSV) with a line per file, then problems and notes per file."""
    if tsv:
        head = [*COLUMNS, "outside_alphabet", "duplicate_ids", "labels"]
        lines = ["\t".join(head)]
        for s in all_stats:
            outside = ",".join(f"{c}:{n}" for c, n in s.outside.most_common())
            labels = ",".join(f"{k}:{v}" for k, v in sorted((s.labels or {}).items()))
            row = [c.replace(",", "") for c in _row(s)]
            row[0] = s.path
            lines.append("\t".join([*row, outside, str(s.duplicate_ids), labels]))
        return "\n".join(lines) + "\n"
    rows = [list(COLUMNS), *(_row(s) for s in all_stats)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    right = {3, 4, 5, 6, 7}
    lines = ["  ".join(c.rjust(w) if i in right else c.ljust(w)
                       for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip() for r in rows]
    for s in all_stats:
        for p in s.problems():
            lines.append(f"{s.path}: problem: {p}")
        for n in s.notes():
            lines.append(f"{s.path}: {n}")
    return "\n".join(lines) + "\n"
