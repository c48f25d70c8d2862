"""Labelled tables as the fine-tuning tasks read them: a column of targets per record (empty
cells refused, naming the line), pairs of sequences inline or as ids into a sequence file, and
class labels in one normal form (`normalise_label`) for `finetune` and `classify` alike."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .alphabets import Cleaner
from .errors import InputError
from .io import open_source, read_header, refuse_duplicate_ids, source_records


@dataclass
class Labelled:
    """A labelled file: ids, sequences, raw targets (strings) and the line of each record."""

    path: str
    ids: list[str]
    seqs: list[str]
    targets: list[str]
    lines: list[int]
    masks: list[str] | None = None


def read_labelled_file(path: str, alphabet: str, column: str = "label",
                       mask_column: str | None = None) -> Labelled:
    """Every record of a table with its ``column`` (and ``mask_column``). Ids may repeat (a
    published test set has two sequences under one id); nothing here keys on them."""
    out = Labelled(path, [], [], [], [], [] if mask_column else None)
    with open_source(path) as src:
        table = read_header(src) if src.format == "table" else None
        records = source_records(src, Cleaner(alphabet), table=table)
        for rec in records:
            cells = {"label": rec.label, **(rec.extra or {})}
            for name in (column, mask_column):
                if name and cells.get(name) is None:  # a table without the column, or FASTA
                    _no_column(name, mask_column, [k for k in cells if cells[k] is not None], path,
                               table.header_line if table else 1)
            if not cells[column].strip():
                raise InputError(f"empty {column!r} cell: every training record needs one",
                                 path=path, line=rec.line, record=rec.id)
            out.ids.append(rec.id)
            out.seqs.append(rec.seq)
            out.targets.append(cells[column])
            out.lines.append(rec.line)
            if mask_column:
                out.masks.append(cells[mask_column])
    return out


def _no_column(name: str, mask_column: str | None, columns: list[str], path: str, line: int):
    kind = "mask" if name == mask_column else "label"
    raise InputError(f"no {name!r} column: fine-tuning needs a table with 'sequence' and {name!r}"
                     + (f" (its columns besides the sequence: {', '.join(columns)}; give yours as "
                        f"--{kind}-column, or {kind}_column in a suite file's settings)" if columns else ""),
                     path=path, line=line)


def _id_column(columns: list[str]) -> str:
    """A sequence table's id column: 'id', else the first column named like an id: ``protein_id``,
    ``gene id``, ``UniProtID`` (not ``plasmid`` or ``valid``); FASTA and FASTQ ids come from
    their headers."""
    def id_like(c: str) -> bool:  # 'ID' after a separator or a lower-case letter, not PLASMID
        return c.lower() == "id" or bool(re.search(r"[_\-. ]id$", c.lower()) or re.search(r"[a-z]ID$", c))
    return "id" if "id" in columns else next((c for c in columns if id_like(c)), "id")


def _sequences_by_id(path: str, cleaner: Cleaner) -> dict[str, str]:
    """{id: sequence} of a FASTA/FASTQ/table file (ids unique), opened once so that '-' and a
    pipe (``<(zcat seqs.fa.gz)``) work."""
    with open_source(path) as src:
        table = read_header(src) if src.format == "table" else None
        id_column = _id_column(table.columns) if table else "id"
        records = source_records(src, cleaner, id_column=id_column, table=table)
        return {r.id: r.seq for r in refuse_duplicate_ids(records, src.name)}


def read_pairs(path: str, alphabet: str, columns: tuple[str, str] = ("sequence_a", "sequence_b"),
               label_column: str | None = "label", sequences: str | None = None,
               cleaner: Cleaner | None = None, label_optional: bool = False) -> Labelled:
    """A table of sequence pairs: ``columns`` hold the two sequences, or, with ``sequences`` (a
    FASTA/TSV of named sequences; see `_id_column`), their ids. ``label_column=None`` reads pairs to
    predict; ``label_optional``: pairs to predict, with their labels where the table has that column
    (an empty cell: no label)."""
    cleaner = cleaner or Cleaner(alphabet)
    lookup = None
    if sequences:
        lookup = _sequences_by_id(sequences, cleaner)
    out = Labelled(path, [], [], [], [])
    with open_source(path) as src:
        if src.format != "table":
            raise InputError(f"pairs come as a TSV/CSV table with columns {columns[0]!r} and "
                             f"{columns[1]!r}; this is {src.format.upper()}", path=src.name)
        table = read_header(src)
        if label_optional and label_column not in table.columns:
            label_column = None
        wanted = [*columns, *([label_column] if label_column else [])]
        for name in wanted:
            if name not in table.columns:
                raise InputError(f"no {name!r} column; the header has: {', '.join(table.columns)}",
                                 path=src.name, line=table.header_line)
        ia, ib = (table.columns.index(c) for c in columns)
        i_label = table.columns.index(label_column) if label_column else None
        i_id = table.columns.index("id") if "id" in table.columns else None
        for n, (line, row) in enumerate(table.rows, start=1):
            pair = []
            for i in (ia, ib):
                cell = row[i].strip()
                if lookup is not None:
                    if cell not in lookup:
                        raise InputError(f"id {cell!r} is not in {sequences}", path=src.name, line=line)
                    pair.append(lookup[cell])
                    continue
                if not cell:
                    raise InputError(f"empty {table.columns[i]!r}", path=src.name, line=line)
                seq = cleaner(cell.encode("utf-8"), path=src.name, record=f"row {n}",
                              line_of=lambda _, line=line: line)
                if seq is None:
                    break
                pair.append(seq.decode("latin-1"))
            if len(pair) < 2:  # skipped by the policy
                continue
            ids = (row[ia].strip(), row[ib].strip()) if lookup is not None else None
            out.ids.append(row[i_id].strip() if i_id is not None else "|".join(ids) if ids else str(n))
            out.seqs.append(tuple(pair))
            if i_label is not None and not row[i_label].strip() and not label_optional:
                raise InputError(f"empty {label_column!r} cell: every training pair needs one",
                                 path=src.name, line=line)
            out.targets.append((row[i_label].strip() or None) if i_label is not None else None)
            out.lines.append(line)
    if not out.seqs:
        raise InputError("no pairs", path=path)
    return out


def normalise_label(value: str) -> str:
    """A class label as `finetune` and `classify` compare it: surrounding blanks dropped and a
    whole number in any spelling ('1.0', '01', '1e0') written as '1', so a table with 1.0 is
    scored against a model trained on 1 instead of silently matching nothing."""
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        return value
    return str(int(number)) if number.is_integer() and abs(number) < 2 ** 53 else value


def class_names(values) -> list[str]:
    """Sorted class names; numerically when all are integers ('2' before '10')."""
    names = sorted(set(values))
    if all(integer_label(n) for n in names):
        names.sort(key=int)
    return names


def integer_label(name: str) -> bool:
    """'12' or '-3', not '--1' or '²' (which str.isdigit passes and int refuses), nor ' 7' or
    '1_000' (which int takes)."""
    try:
        int(name)
    except ValueError:
        return False
    return name.strip() == name and "_" not in name
