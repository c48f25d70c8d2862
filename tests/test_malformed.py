"""Malformed inputs: each gives one InputError naming the file, the line and what is wrong,
and `genobert inspect` turns the structural ones into one line on stderr and exit status 2."""

from __future__ import annotations

import gzip

import pytest

from genobert.cli import main
from genobert.io import read_records

GZ = gzip.compress(b">a\n" + b"ACGT" * 5000 + b"\n", mtime=0)

# name, content, alphabet, line (None: the file as a whole), words the message must hold
CASES = [
    ("empty.fa", b"", "dna", None, "empty file"),
    ("blank.fa", b"\n \n\t\n", "dna", None, "empty file"),
    ("header_only.fa", b">a\n", "dna", 1, "record 'a': empty record"),
    ("empty_middle.fa", b">a\nAC\n>b\n>c\nGG\n", "dna", 3, "record 'b': empty record"),
    ("no_id.fa", b">\nACGT\n", "dna", 1, "empty record id after '>'"),
    ("space_id.fa", b">a\nAC\n>   \nAC\n", "dna", 3, "empty record id"),
    ("bad_letter.fa", b">a\nACGT\nACJT\n", "dna", 3, "invalid character 'J' at position 7"),
    ("gap.fa", b">a\nAC-GT\n", "dna", 2, "invalid character '-'"),
    ("digit_protein.fa", b">p\nMKV1L\n", "protein", 2, "invalid character '1'"),
    ("inner_stop.fa", b">p\nMK*VL*\n", "protein", 2, "invalid character '*' at position 3"),
    ("nul_head.fa", b">a\x00b\nACGT\n", "dna", None, "binary data (a NUL byte at offset 2)"),
    ("nul_late.fa", b">a\n" + b"ACGT\n" * 3000 + b"AC\x00T\n", "dna", 3002, "byte 0x00"),
    ("junk.bin", b"\x89PNG\r\n\x1a\n\x00\x00", "dna", None, "binary data"),
    ("bad_utf8.fa", b">a\nAC\n>b\xff\nAC\n", "dna", 3, "header is not valid UTF-8"),
    ("seq_first.fa", b"ACGT\n>a\nACGT\n", "dna", 1, "before the first '>' header"),
    ("truncated_gz", GZ[: len(GZ) // 2], "dna", None, "truncated gzip"),
    ("corrupt_gz", GZ[:10] + b"\xff" * 40 + GZ[50:], "dna", None, "corrupt gzip"),
    ("corrupt_bz2", b"BZh91AY&SY" + b"\x00garbage" * 8, "dna", None, "corrupt bzip2"),
    ("no_plus.fq", b"@r\nACGT\nIIII\nIIII\n", "dna", 3, "expected the '+' separator line"),
    ("qual_len.fq", b"@r\nACGT\n+\nIII\n", "dna", 4, "quality has 3 characters, sequence has 4"),
    ("truncated.fq", b"@r\nACGT\n", "dna", 1, "truncated FASTQ record"),
    ("bad_header.fq", b"@r\nACGT\n+\nIIII\nr2\nACGT\n+\nIIII\n", "dna", 5, "expected a FASTQ header"),
    ("empty_seq.fq", b"@r\n\n+\n\n", "dna", 2, "empty record: no sequence"),
    ("no_seq_col.tsv", b"id\tseq\tlabel\na\tACGT\t1\n", "dna", 1, "no 'sequence' column"),
    ("ragged.tsv", b"id\tsequence\tlabel\na\tACGT\t1\nb\tACGT\n", "dna", 3, "row has 2 fields, the header has 3"),
    ("header_only.tsv", b"id\tsequence\tlabel\n", "dna", 1, "a header and no rows"),
    ("empty_cell.tsv", b"id\tsequence\na\t\n", "dna", 2, "record 'a': empty sequence"),
    ("dup_col.tsv", b"id\tsequence\tid\na\tAC\tb\n", "dna", 1, "column 'id' appears twice"),
    ("bad_utf8.tsv", b"id\tsequence\na\tAC\nb\xfe\tAC\n", "dna", 3, "not valid UTF-8"),
    ("empty_id.csv", b"id,sequence\n,ACGT\n", "dna", 2, "empty 'id'"),
    ("lower_bad.tsv", b"id\tsequence\nx\tacgtz\n", "dna", 2, "invalid character 'z' at position 5"),
]


@pytest.mark.parametrize("name,content,alphabet,line,words", CASES, ids=[c[0] for c in CASES])
def test_reader_error_names_file_line_and_problem(write, name, content, alphabet, line, words):
    path = write(name, content)
    with pytest.raises(ValueError) as e:
        list(read_records(path, alphabet=alphabet))
    where = path if line is None else f"{path}:{line}"
    assert str(e.value).startswith(where + ": ")
    assert words in str(e.value)
    assert e.value.line == line


# inspect reads letters as they are (it reports odd ones) and counts rows of any table
STRUCTURAL = [c for c in CASES if not any(w in c[4] for w in ("invalid character", "byte 0x00", "no 'sequence' column"))]


@pytest.mark.parametrize("name,content,alphabet,line,words", STRUCTURAL, ids=[c[0] for c in STRUCTURAL])
def test_inspect_exits_2_with_one_line(write, capsys, name, content, alphabet, line, words):
    path = write(name, content)
    assert main(["inspect", path]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"genobert: error: {path}") and words in err


def test_missing_file_and_directory(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "nope.fa")]) == 2
    assert main(["inspect", str(tmp_path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"genobert: error: {tmp_path / 'nope.fa'}: no such file",
                   f"genobert: error: {tmp_path}: is a directory, expected a FASTA, FASTQ or TSV/CSV file"]


def test_bad_flag_is_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        main(["inspect", "--nope", "x.fa"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unrecognized arguments: --nope" in err
