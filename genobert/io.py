"""Streaming readers for FASTA, FASTQ and TSV/CSV tables (plain, .gz, .bz2, .xz, '-' for stdin),
and an atomic writer for outputs.

Format and compression are read from the content, not the file name. Records stream one at a
time, so memory does not grow with the file. Every problem is an `InputError` that names the
file, the line and the record.

    for rec in read_records("genome.fa.gz", alphabet="dna"):
        rec.id, rec.seq, rec.label, rec.line
"""

from __future__ import annotations

import bz2
import contextlib
import csv
import errno
import gzip
import hashlib
import io
import itertools
import lzma
import os
import stat
import sys
import tempfile
import zlib
from dataclasses import dataclass
from typing import IO
from collections.abc import Iterable, Iterator

from .alphabets import Alphabet, Cleaner, Policy, show_byte
from .errors import InputError

FORMATS = ("fasta", "fastq", "table")
_CHUNK = 1 << 20  # bytes per read of a FASTA file
_SNIFF = 1 << 13  # bytes looked at to tell format and binary junk apart
_SPACE = b" \t\r\n\v\f"
csv.field_size_limit(2**31 - 1)  # a table may hold a whole chromosome in one field


@dataclass(slots=True)
class Record:
    """One sequence: its id, its letters (upper case once cleaned), its label if the file has one,
    the line where it starts, and any other columns of a table."""

    id: str
    seq: str
    label: str | None = None
    line: int = 0
    extra: dict[str, str] | None = None


@dataclass(slots=True)
class Source:
    """An opened input: its display name, format, compression and binary stream."""

    name: str
    format: str
    compression: str
    stream: IO[bytes]


# --------------------------------------------------------------------------- opening


@contextlib.contextmanager
def open_source(path: str | os.PathLike) -> Iterator[Source]:
    """Open a file (or '-' for stdin), undo its compression and tell its format from its content."""
    name = os.fspath(path)
    if name == "-":
        raw, name, owned = _stdin(), "<stdin>", False
    else:
        raw, owned = _open_file(name), True
    try:
        buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)
        magic, buffered = _head(buffered, _SNIFF)
        compression, stream = _decompressor(magic, buffered, name)
        with _decompression_errors(name, compression):
            head, stream = _head(stream, _SNIFF) if compression != "none" else (magic, stream)
            if head.startswith(_BOM):  # a UTF-8 byte-order mark, as Windows editors write
                stream.read(3)
                head = head[3:]
            # decompression errors met while the caller reads become InputErrors here too
            yield Source(name, _sniff_format(head, name), compression, stream)
    finally:
        if owned:
            raw.close()


def _stdin() -> IO[bytes]:
    if sys.stdin is None:  # started with stdin closed (`genobert inspect - <&-`)
        raise InputError("standard input is closed", path="<stdin>")
    return sys.stdin.buffer


def _open_file(name: str) -> IO[bytes]:
    if os.path.isdir(name):
        raise InputError("is a directory, expected a FASTA, FASTQ or TSV/CSV file", path=name)
    try:
        return open(name, "rb", buffering=_CHUNK)  # a peek then sees the whole sniff sample
    except FileNotFoundError:
        raise InputError("no such file", path=name) from None
    except PermissionError:
        raise InputError("permission denied", path=name) from None
    except OSError as e:  # a symlink loop, a name too long, an I/O error
        raise InputError(f"cannot open ({e.strerror or e})", path=name) from None


_XZ, _ZSTD = b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd"


def _decompressor(magic: bytes, buffered: io.BufferedReader, name: str) -> tuple[str, io.BufferedReader]:
    """The compression that ``magic`` (the first bytes) names and a stream of the data it holds."""
    if magic[:2] == b"\x1f\x8b":
        return "gzip", io.BufferedReader(gzip.GzipFile(fileobj=buffered), _CHUNK)
    if magic[:3] == b"BZh":
        return "bzip2", io.BufferedReader(bz2.BZ2File(buffered), _CHUNK)
    if magic[:6] == _XZ:
        return "xz", io.BufferedReader(lzma.LZMAFile(buffered, format=lzma.FORMAT_XZ), _CHUNK)
    if magic[:4] == _ZSTD:
        raise InputError("zstd-compressed; decompress it first (zstd -d); genobert reads plain, "
                         ".gz, .bz2 and .xz files", path=name)
    return "none", buffered


def _head(stream: io.BufferedReader, size: int) -> tuple[bytes, io.BufferedReader]:
    """The first ``size`` bytes of ``stream`` (fewer only where it ends sooner) and a stream that
    still starts with them. A pipe's ``peek`` gives what one read returned, maybe a few bytes, so
    the rest is read and the bytes are replayed in front of the stream."""
    head = stream.peek(size)[:size]
    if len(head) >= size:
        return head, stream
    data = bytearray()
    while len(data) < size and (chunk := stream.read(size - len(data))):
        data += chunk
    return bytes(data), io.BufferedReader(_Replay(bytes(data), stream), _CHUNK)


class _Replay(io.RawIOBase):
    """Bytes already read from a stream, then the rest of that stream."""

    def __init__(self, head: bytes, rest: IO[bytes]):
        self._head, self._rest = memoryview(head), rest

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if not self._head:
            return self._rest.readinto(b)
        n = min(len(b), len(self._head))
        b[:n] = self._head[:n]
        self._head = self._head[n:]
        return n


@contextlib.contextmanager
def _decompression_errors(name: str, compression: str, line: int | None = None):
    try:
        yield
    except EOFError:
        raise InputError(f"truncated {compression} data: the file ends before its end-of-stream "
                         "marker (an interrupted download or copy?)", path=name, line=line) from None
    except (zlib.error, lzma.LZMAError, gzip.BadGzipFile, OSError) as e:
        if isinstance(e, OSError) and not isinstance(e, gzip.BadGzipFile) and e.errno is not None:
            raise
        raise InputError(f"corrupt {compression} data ({e})", path=name, line=line) from None


_BOM = b"\xef\xbb\xbf"


def _sniff_format(head: bytes, name: str) -> str:
    nul = head.find(b"\x00")
    if nul >= 0:
        raise InputError(f"binary data (a NUL byte at offset {nul}); expected a FASTA, FASTQ or "
                         "TSV/CSV text file, plain, .gz, .bz2 or .xz", path=name)
    text = head.lstrip(_SPACE)
    if not text:
        raise InputError("empty file; expected FASTA ('>' headers), FASTQ ('@' records) or a "
                         "TSV/CSV table with a header", path=name)
    if b"\r" in text and b"\n" not in text:
        raise InputError("lines end in CR only (classic Mac OS); convert them to LF first, e.g. "
                         "tr '\\r' '\\n' < FILE > FILE.unix", path=name)
    first = text[0]
    first_line = text.split(b"\n", 1)[0]
    if first != ord(">") and b"\n>" in text and not (b"\t" in first_line or b"," in first_line):
        raise InputError("sequence data before the first '>' header (a FASTA file must start "
                         "with a '>' header line)", path=name, line=head.count(b"\n", 0, len(head) - len(text)) + 1)
    if first == ord(">"):
        return "fasta"
    if first == ord("@"):
        return "fastq"
    if first < 32 or first >= 127 and not _is_utf8_start(text):
        raise InputError(f"binary data ({show_byte(first)} at the start); expected a FASTA, FASTQ "
                         "or TSV/CSV text file, plain, .gz, .bz2 or .xz", path=name)
    return "table"


def _is_utf8_start(text: bytes) -> bool:
    try:
        text[:64].decode("utf-8")
        return True
    except UnicodeDecodeError as e:
        return e.start > 0  # cut mid-character at the end of the sample is fine


# --------------------------------------------------------------------------- FASTA


def _fasta_raw(stream: IO[bytes]) -> Iterator[tuple[bytes, bytes, list[bytes], int]]:
    """Yield ``(title, letters, pieces, line)`` per record: ``letters`` is the sequence with its
    newlines removed, ``pieces`` the raw lines (for error messages), ``line`` the header's line.

    Reads 1 MiB at a time and finds headers with a memchr-speed ``bytes.find(b">")``, so the Python
    work is per record, not per line; a newline count falls out of the newline removal.
    The caller made sure the first non-blank byte is '>'.
    """
    title: bytes | None = None  # header of the record being read (None before the first)
    title_line = 0
    pieces: list[bytes] = []  # raw pieces of the record's sequence lines
    letters: list[bytes] = []  # the same pieces without their newlines
    head: list[bytes] | None = None  # pieces of a header line cut by the end of a read
    line = 1  # line number of data[pos]
    mid_line = False  # data[0] continues a sequence line of the previous read

    def add(seg: bytes) -> int:
        flat = seg.replace(b"\n", b"")
        pieces.append(seg)
        letters.append(flat)
        return len(seg) - len(flat)  # newlines in seg

    while data := stream.read(_CHUNK):
        pos = 0
        if head is not None or mid_line:
            nl = data.find(b"\n")
            if nl < 0:
                if head is not None:
                    head.append(data)
                else:
                    add(data)
                continue
            if head is not None:
                head.append(data[:nl])
                title, head = b"".join(head), None
            else:
                add(data[: nl + 1])
            pos, line, mid_line = nl + 1, line + 1, False
        while True:  # pos is at the start of a line
            h = data.find(b">", pos)
            while h > pos and data[h - 1] != 10:  # a '>' inside a line is a letter (a bad one)
                h = data.find(b">", h + 1)
            seg = data[pos:] if h < 0 else data[pos:h]
            if seg:  # add(seg), inlined: this runs once per record
                flat = seg.replace(b"\n", b"")
                pieces.append(seg)
                letters.append(flat)
                line += len(seg) - len(flat)
            if h < 0:
                mid_line = bool(seg) and not seg.endswith(b"\n")
                break
            if title is not None:
                yield title, b"".join(letters), pieces, title_line
            pieces, letters, title_line = [], [], line
            nl = data.find(b"\n", h)
            if nl < 0:
                title, head = None, [data[h + 1:]]
                break
            title, pos, line = data[h + 1: nl], nl + 1, line + 1
    if head is not None:
        title = b"".join(head)
    if title is not None:
        yield title, b"".join(letters), pieces, title_line


def _fasta_records(src: Source, cleaner: Cleaner | None) -> Iterator[Record]:
    for title, seq, pieces, line in _fasta_raw(src.stream):
        rid, desc = _header_id(title.rstrip(b"\r"), src.name, line, ">")
        if _has_blank(seq):  # rare: CR line ends, blanks inside lines
            seq = seq.translate(None, _SPACE)
        if not seq:
            raise InputError("empty record: a header with no sequence after it",
                             path=src.name, line=line, record=rid)
        if cleaner is not None:
            seq = cleaner(seq, path=src.name, record=rid,
                          line_of=lambda p, pieces=pieces, line=line: _line_of(b"".join(pieces), p, line + 1))
            if seq is None:
                continue
        yield Record(rid, seq.decode("latin-1"), None, line)


def _has_blank(seq: bytes) -> bool:
    """Whether ``seq`` may hold whitespace: a C-speed ``isalpha`` for short sequences (one call),
    five memchr scans for long ones (faster per byte)."""
    if len(seq) < 65536:
        return not seq.isalpha()
    return any(c in seq for c in (b" ", b"\t", b"\r", b"\v", b"\f"))


def _header_id(title: bytes, name: str, line: int, mark: str) -> tuple[str, str]:
    try:
        text = title.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"header is not valid UTF-8 ({show_byte(title[e.start])} at column "
                         f"{e.start + 2})", path=name, line=line) from None
    parts = text.split(None, 1)
    if not parts:
        raise InputError(f"empty record id after '{mark}'", path=name, line=line)
    return parts[0], parts[1] if len(parts) > 1 else ""


def _line_of(body: bytes, pos: int, first_line: int) -> int:
    """The line holding letter ``pos`` of the sequence spread over ``body``'s lines."""
    for i, raw in enumerate(body.split(b"\n")):
        n = len(raw.translate(None, _SPACE))
        if pos < n:
            return first_line + i
        pos -= n
    return first_line


# --------------------------------------------------------------------------- FASTQ


def _fastq_records(src: Source, cleaner: Cleaner | None) -> Iterator[Record]:
    lines = iter(src.stream)
    line = 0
    for header in lines:
        line += 1
        if not header.strip():
            continue
        start = line
        if not header.startswith(b"@"):
            raise InputError(f"expected a FASTQ header starting with '@', found "
                             f"{_quote(header)} (a multi-line FASTQ record? only 4-line records are read)",
                             path=src.name, line=line)
        rid, _ = _header_id(header[1:].rstrip(b"\r\n"), src.name, line, "@")
        rest = []
        for what in ("sequence", "'+' separator", "quality"):
            nxt = next(lines, None)
            if nxt is None:
                raise InputError(f"truncated FASTQ record: the file ends before its {what} line",
                                 path=src.name, line=start, record=rid)
            line += 1
            rest.append(nxt.rstrip(b"\r\n"))
        seq, plus, qual = rest
        if not plus.startswith(b"+"):
            raise InputError(f"expected the '+' separator line, found {_quote(plus)} "
                             "(only 4-line FASTQ records are read)", path=src.name, line=line - 1,
                             record=rid)
        if not seq:
            raise InputError("empty record: no sequence", path=src.name, line=start + 1, record=rid)
        if len(qual) != len(seq):
            raise InputError(f"quality has {len(qual)} characters, sequence has {len(seq)}; they "
                             "must be equally long", path=src.name, line=line, record=rid)
        if cleaner is not None:
            seq = cleaner(seq, path=src.name, record=rid, line_of=lambda p, s=start: s + 1)
            if seq is None:
                continue
        yield Record(rid, seq.decode("latin-1"), None, start)


def _quote(raw: bytes, width: int = 30) -> str:
    text = raw.rstrip(b"\r\n").decode("utf-8", "backslashreplace")
    return repr(text if len(text) <= width else text[:width] + "...")


# --------------------------------------------------------------------------- tables


@dataclass(slots=True)
class Table:
    """A TSV/CSV table: its columns, an iterator of ``(line, row)`` and the header's line (after
    any blank lines)."""

    name: str
    columns: list[str]
    rows: Iterator[tuple[int, list[str]]]
    header_line: int = 1


_ROW_LINES = 8  # lines one row may span: a quoted id or note may hold a line break (classify
# writes such ids quoted, and reads them back); more is an unmatched '"' reading the file on


class _RunsOn(Exception):
    """csv asked for more than `_ROW_LINES` lines for one row: a quoted field left open."""


def _utf8_lines(src: Source, fed: list[int]) -> Iterator[str]:
    """The lines of ``src``; the reader sets ``fed[0] = 0`` before each row, and a row asking for
    more than `_ROW_LINES` lines raises `_RunsOn` at once, before an unmatched '"' reads the rest
    of the file into one field."""
    for n, raw in enumerate(src.stream, start=1):
        if fed[0] >= _ROW_LINES:
            raise _RunsOn
        fed[0] += 1
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InputError(f"not valid UTF-8 ({show_byte(raw[e.start])} at column {e.start + 1})",
                             path=src.name, line=n) from None


def _csv_problem(e: csv.Error, what: str, start: int) -> str:
    """The message for a csv error in ``what`` ('header' or 'row') starting on line ``start``."""
    text = str(e)
    if "unexpected end of data" in text:  # a '"' opened a field that never closes
        end = "the end of the line" if what == "header" else "the end of the file"
        return f"a quoted field opened on line {start} runs to {end} (an unmatched '\"'?)"
    if "new-line character" in text:
        text = "a carriage return (\\r) inside a field; lines must end in LF or CRLF"
    elif "expected after" in text:
        text = ("text after the closing '\"' of a quoted field; a field that starts with '\"' must "
                "end with '\"' right before the delimiter (a stray '\"'?)")
    return f"malformed {what} ({text})"


def _blank(row: list[str]) -> bool:
    """An empty line, one of only blanks, or one of blank cells only (delimiters alone: a
    spreadsheet's empty row): skipped, as it holds nothing."""
    return not any(map(str.strip, row))


def _first_filled(lines: Iterator[str], fed: list[int]) -> tuple[int, str]:
    """``(line, text)`` of the first line that is not blank (``(1, "")`` for none)."""
    for n in itertools.count(1):
        fed[0] = 0
        text = next(lines, None)
        if text is None:
            return 1, ""
        if text.strip():
            return n, text


def read_header(src: Source) -> Table:
    """Read a table's header line (after any blank lines); its rows then stream from the
    returned `Table`."""
    fed = [0]
    lines = _utf8_lines(src, fed)
    header_line, header = _first_filled(lines, fed)
    delimiter = "\t" if "\t" in header else ","
    try:
        columns = next(csv.reader([header], delimiter=delimiter, strict=True), [])
    except csv.Error as e:  # e.g. a lone carriage return inside the header
        raise InputError(_csv_problem(e, "header", header_line), path=src.name, line=header_line) from None
    columns = [c.strip() for c in columns]
    seen = set()
    for c in columns:
        if c in seen:
            raise InputError(f"column {c!r} appears twice in the header", path=src.name, line=header_line)
        seen.add(c)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    rows = _rows(reader, fed, src.name, columns, header_line, delimiter)
    return Table(src.name, columns, rows, header_line)


def _rows(reader, fed: list[int], name: str, columns: list[str], offset: int,
          delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """``(line, row)`` per row; ``fed``: `_utf8_lines`'s lines-per-row guard; ``offset``: the
    lines read before ``reader`` (the header's line).

    A stray '"' makes csv read a quoted field on across line breaks, merging rows silently (a
    record gone, the row before with the wrong label). A field that spans lines and holds the
    delimiter is that (a quoted id with a line break has none), and so is a row of more than
    `_ROW_LINES` lines: both are refused at the line where the row starts.
    """
    while True:
        start = reader.line_num + offset + 1  # the line this row starts on
        fed[0] = 0
        try:
            row = next(reader)
        except StopIteration:
            return
        except _RunsOn:
            raise InputError(f"a quoted field opened on line {start} runs on for more than {_ROW_LINES} "
                             "lines (an unmatched '\"'?)", path=name, line=start) from None
        except csv.Error as e:
            raise InputError(_csv_problem(e, "row", start), path=name, line=start) from None
        if any("\n" in f and delimiter in f for f in row):
            raise InputError(f"a quoted field opened on line {start} runs on past the end of that line "
                             f"and swallows {'tabs' if delimiter == chr(9) else 'commas'}, rows merged "
                             "into it (an unmatched '\"'?)", path=name, line=start)
        if _blank(row):
            continue
        if len(row) != len(columns):
            raise InputError(f"row has {len(row)} fields, the header has {len(columns)} "
                             f"({', '.join(columns)})", path=name, line=start)
        yield start, row


def _table_records(table: Table, cleaner: Cleaner | None, id_column: str,
                   label_column: str = "label") -> Iterator[Record]:
    cols, name = table.columns, table.name
    if "sequence" not in cols:
        raise InputError(f"no 'sequence' column; the header has: {', '.join(cols) or '(nothing)'}; "
                         "a table needs 'sequence', and may have 'id' and 'label'", path=name,
                         line=table.header_line)
    i_seq = cols.index("sequence")
    i_id = cols.index(id_column) if id_column in cols else None
    i_label = cols.index(label_column) if label_column in cols else None
    others = [i for i, c in enumerate(cols) if i not in (i_seq, i_id, i_label)]
    n = 0
    for n, (line, row) in enumerate(table.rows, start=1):
        rid = row[i_id].strip() if i_id is not None else str(n)
        if not rid:
            raise InputError(f"empty {id_column!r}", path=name, line=line)
        seq = row[i_seq].strip().encode("utf-8")
        if not seq:
            raise InputError("empty sequence", path=name, line=line, record=rid)
        if cleaner is not None:
            seq = cleaner(seq, path=name, record=rid, line_of=lambda p, line=line: line)
            if seq is None:
                continue
        extra = {cols[i]: row[i] for i in others} if others else None
        label = row[i_label].strip() if i_label is not None else None
        yield Record(rid, seq.decode("latin-1"), label, line, extra)
    if n == 0:
        raise InputError("a header and no rows", path=name, line=table.header_line)


# --------------------------------------------------------------------------- public readers


def read_records(path: str | os.PathLike, *, alphabet: str | Alphabet | None = "dna",
                 on_invalid: Policy = "error", unique_ids: bool = False,
                 cleaner: Cleaner | None = None, id_column: str = "id",
                 label_column: str = "label") -> Iterator[Record]:
    """Stream the records of one FASTA, FASTQ or TSV/CSV file (a table's labels from ``label_column``).

    ``alphabet=None`` reads letters as they are (for `inspect`); otherwise each sequence passes a
    `Cleaner` (upper case, aliases, the ``on_invalid`` policy). Pass your own ``cleaner`` to share
    its report across files. ``unique_ids=True`` refuses a repeated id (it keeps a set of ids,
    so memory grows with the number of records).
    """
    if cleaner is None and alphabet is not None:
        cleaner = Cleaner(alphabet, on_invalid)
    with open_source(path) as src:
        records = source_records(src, cleaner, id_column=id_column, label_column=label_column)
        yield from refuse_duplicate_ids(records, src.name) if unique_ids else records


def refuse_duplicate_ids(records: Iterable[Record], name: str) -> Iterator[Record]:
    """``records``, refusing an id seen before (a set of ids is kept: memory grows with them)."""
    seen: dict[str, int] = {}
    for rec in records:
        first = seen.setdefault(rec.id, rec.line)
        if first != rec.line:
            raise InputError(f"duplicate id (first seen at line {first})",
                             path=name, line=rec.line, record=rec.id)
        yield rec


def source_records(src: Source, cleaner: Cleaner | None = None, *, id_column: str = "id",
                   table: Table | None = None, label_column: str = "label") -> Iterator[Record]:
    """The records of an opened `Source`; pass ``table`` when `read_header` already read its header."""
    if src.format == "fasta":
        return _fasta_records(src, cleaner)
    if src.format == "fastq":
        return _fastq_records(src, cleaner)
    return _table_records(table or read_header(src), cleaner, id_column, label_column)


def read_fasta_titles(path: str | os.PathLike) -> Iterator[tuple[str, str]]:
    """``(title, letters)`` per record of a FASTA file, both as written: the whole header line
    after '>' and the sequence without its line breaks (for converters that need a header's
    description, which `read_records` drops)."""
    with open_source(path) as src:
        if src.format != "fasta":
            raise InputError(f"expected a FASTA file, this looks like {src.format}", path=src.name)
        for title, seq, _, _ in _fasta_raw(src.stream):
            if _has_blank(seq):
                seq = seq.translate(None, _SPACE)
            yield title.rstrip(b"\r").decode("utf-8"), seq.decode("latin-1")


def read_many(paths: Iterable[str | os.PathLike], **kwargs) -> Iterator[tuple[str, Record]]:
    """`read_records` over several files, yielding ``(file, record)``."""
    for path in paths:
        for rec in read_records(path, **kwargs):
            yield os.fspath(path), rec


def strings_sha256(strings: Iterable[str]) -> str:
    """The sha256 of strings joined by newlines (a set of sequences, sorted by the caller)."""
    return hashlib.sha256("\n".join(strings).encode()).hexdigest()


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 of a file's bytes (for provenance and caches)."""
    h = hashlib.sha256()
    name = os.fspath(path)
    if os.path.isdir(name):
        raise InputError("is a directory, expected a file", path=name)
    if not os.path.exists(name):
        raise InputError("no such file", path=name)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------- writing


_SPACE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def out_of_space(e: BaseException) -> bool:
    """A full disk, a quota or a file-size limit; h5py reports these as a RuntimeError or an
    OSError whose message holds the errno."""
    if not isinstance(e, (OSError, RuntimeError)):
        return False
    return getattr(e, "errno", None) in _SPACE_ERRORS or any(
        os.strerror(n) in str(e) or f"errno = {n}," in str(e) for n in _SPACE_ERRORS)


def within(path: str | os.PathLike, folder: str | os.PathLike) -> bool:
    """Whether ``path`` (existing or not) is ``folder`` or lies inside it, links resolved."""
    real, top = os.path.realpath(path), os.path.realpath(folder).rstrip(os.sep)
    return real == top or real.startswith(top + os.sep)


def check_output(path: str | os.PathLike, inputs: Iterable[str] = (), model_dir: str | None = None) -> None:
    """Refuse, before any work, an output that would destroy what the user gave: one of the
    inputs (same file by inode, so symlinks, ``./x`` and hard links count; ``-`` when standard
    input is redirected from the output's file), the model directory or a file inside it; and one
    that cannot be written: a directory, a name too long, a parent that is missing or not
    writable. ``-`` and device nodes / FIFOs are streams and always allowed."""
    name = os.fspath(path)
    if name == "-":
        return
    if os.path.isdir(name):
        raise InputError("is a directory; expected a file name to write", path=name)
    if os.path.exists(name):
        for other in inputs:
            if _same_file(name, other):
                shown = "standard input" if other == "-" else other
                raise InputError(f"is also an input ({shown}); write the output elsewhere", path=name)
    if model_dir is not None and within(name, model_dir):
        raise InputError(f"is inside the model directory {model_dir}; write the output elsewhere", path=name)
    if _is_stream(name):
        return
    target = os.path.realpath(name)
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise InputError("output directory does not exist", path=name)
    try:
        limit = os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    if len(os.fsencode(os.path.basename(target))) > limit:
        raise InputError(f"file name longer than the file system allows ({limit} bytes)", path=name)
    if not os.access(directory, os.W_OK | os.X_OK):
        raise InputError("cannot write here (permission denied)", path=name)


def path_text(path: str | os.PathLike) -> str:
    """A file name as text for an output's cell: a name whose bytes are not UTF-8 (Python keeps
    them as surrogates, which no UTF-8 writer takes) shows those bytes as ``\\xff``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _same_file(name: str, other: str) -> bool:
    """Whether the existing file ``name`` is the input ``other``; for ``-``, whether standard
    input is redirected from it (``genobert classify M - -o x.tsv < x.tsv``)."""
    if other != "-":
        return os.path.exists(other) and os.path.samefile(name, other)
    try:
        given = os.fstat(sys.stdin.fileno())
    except (AttributeError, OSError, ValueError):  # stdin closed, or not backed by a file
        return False
    if not stat.S_ISREG(given.st_mode):
        return False
    out = os.stat(name)
    return (given.st_dev, given.st_ino) == (out.st_dev, out.st_ino)


def _is_stream(name: str) -> bool:
    """A character device (/dev/null, a terminal), a FIFO or a socket: written in place."""
    try:
        mode = os.stat(name).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, mode: str | None = "w", **open_kwargs) -> Iterator[IO]:
    """Write to a temporary file beside ``path`` and rename it over ``path`` only on success.

    A crash, Ctrl-C, SIGTERM or SIGHUP leaves the old file (or nothing) in place, never a truncated
    one that looks complete. A symlink's target is written (the link stays); an existing file keeps
    its permission bits, a new one gets the umask's. ``-`` is standard output and a device node or
    FIFO is written in place as a stream (a rename onto ``/dev/null`` as root would replace it).
    Yields the open file (text compressed when ``path`` ends in ``.gz``, ``.bz2`` or ``.xz``); with ``mode=None`` yields
    a temporary path instead (for writers such as h5py that open the file themselves).
    """
    name = os.fspath(path)
    check_output(name)
    if name == "-" or _is_stream(name):
        with _stream_output(name, mode, **open_kwargs) as f:
            yield f
        return
    target = os.path.realpath(name)  # a symlink: write where it points
    directory = os.path.dirname(target)
    try:
        old_mode = os.stat(target).st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        old_mode = 0o666 & ~umask
    try:
        fd, tmp = tempfile.mkstemp(prefix=".genobert-", suffix=".part", dir=directory)
    except PermissionError:
        raise InputError("cannot write here (permission denied)", path=name) from None
    try:
        if mode is None:
            os.close(fd)
            yield tmp
        elif name.endswith((".gz", ".bz2", ".xz")) and "b" not in mode:  # compressed, as the name says
            opener = {"gz": gzip.open, "bz2": bz2.open, "xz": lzma.open}[name.rsplit(".", 1)[1]]
            with os.fdopen(fd, "wb") as raw, opener(raw, mode + "t", **open_kwargs) as f:
                yield f
        else:
            with os.fdopen(fd, mode, **open_kwargs) as f:
                yield f
        os.chmod(tmp, old_mode)
        os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if out_of_space(e):
            reason = getattr(e, "strerror", None) or next(
                os.strerror(n) for n in _SPACE_ERRORS if os.strerror(n) in str(e) or f"errno = {n}," in str(e))
            raise InputError(f"no space left while writing ({reason}); nothing was "
                             "written, the partial file is removed", path=name) from None
        raise


@contextlib.contextmanager
def _stream_output(name: str, mode: str | None, **open_kwargs) -> Iterator[IO]:
    """Standard output or a device / FIFO. A writer that needs a path (``mode=None``) gets a
    temporary file, copied into the stream when it is complete."""
    import shutil

    if mode is None:
        fd, tmp = tempfile.mkstemp(prefix="genobert-", suffix=".part")
        os.close(fd)
        try:
            yield tmp
            with open(tmp, "rb") as src:
                if name == "-":
                    sys.stdout.flush()
                    shutil.copyfileobj(src, sys.stdout.buffer)
                    sys.stdout.buffer.flush()
                else:
                    with open(name, "wb") as dst:
                        shutil.copyfileobj(src, dst)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return
    if name == "-":
        binary = "b" in mode
        f = sys.stdout.buffer if binary else io.TextIOWrapper(
            sys.stdout.buffer, encoding=open_kwargs.get("encoding", "utf-8"),
            newline=open_kwargs.get("newline"), write_through=True)
        sys.stdout.flush()
        try:
            yield f
        finally:
            f.flush()
            if not binary:
                f.detach()  # leave sys.stdout open
        return
    with open(name, mode, **open_kwargs) as f:
        yield f


def write_text(path: str | os.PathLike, text: str) -> None:
    """``text`` into ``path`` through `atomic_output`: complete or absent, never half-written."""
    with atomic_output(path, "w", newline="") as f:
        f.write(text)


def write_json(path: str | os.PathLike, obj) -> None:
    """``obj`` as indented JSON into ``path``, atomically (`atomic_output`)."""
    import json

    write_text(path, json.dumps(obj, indent=2) + "\n")
