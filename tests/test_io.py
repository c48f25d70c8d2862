"""Readers: FASTA, FASTQ, tables; compression and stdin; the input policy; atomic output."""

from __future__ import annotations

import io
import os
import sys

import numpy as np
import pytest
from Bio.SeqIO.FastaIO import SimpleFastaParser
from hypothesis import given, settings
from hypothesis import strategies as st

import genobert.io as gio
from genobert.alphabets import Cleaner, get_alphabet
from genobert.errors import InputError
from genobert.io import atomic_output, read_records


def ids_seqs(path, **kw):
    return [(r.id, r.seq) for r in read_records(path, **kw)]


def test_fasta_wrapped_crlf_blank_lines_lowercase(write):
    path = write("a.fa", ">r1 some description\r\nACGT\r\nacgt\r\n\r\n>r2\nNNRY\n\n\n>r3\nA")
    recs = list(read_records(path))
    assert [(r.id, r.seq, r.line) for r in recs] == [
        ("r1", "ACGTACGT", 1), ("r2", "NNRY", 5), ("r3", "A", 9)]


@pytest.mark.parametrize("name", ["x.fa.gz", "x.fa.bz2", "x.txt", "x.fastq"])
def test_compression_and_format_come_from_content(write, name):
    path = write(name, ">a\nAC\nGT\n>b\nTT\n")
    assert ids_seqs(path) == [("a", "ACGT"), ("b", "TT")]


def test_stdin(monkeypatch):
    data = b">a\nACGT\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(data))))
    assert ids_seqs("-") == [("a", "ACGT")]


def test_fastq(write):
    path = write("r.fq.gz", "@read1 x\nACGTN\n+\nIIIII\n@read2\nacg\n+read2\n###\n")
    recs = list(read_records(path))
    assert [(r.id, r.seq, r.line) for r in recs] == [("read1", "ACGTN", 1), ("read2", "ACG", 5)]


def test_tables_tsv_csv_ids_labels_extra(write):
    tsv = write("t.tsv", "id\tsequence\tlabel\tsplit\nx\tACGT\t1\ttrain\ny\tgg\t0\ttest\n")
    recs = list(read_records(tsv))
    assert [(r.id, r.seq, r.label, r.line, r.extra) for r in recs] == [
        ("x", "ACGT", "1", 2, {"split": "train"}), ("y", "GG", "0", 3, {"split": "test"})]
    csv_ = write("t.csv", 'sequence,label\n"ACGT",a\n\nTTT,"b,c"\n')
    assert [(r.id, r.seq, r.label) for r in read_records(csv_)] == [
        ("1", "ACGT", "a"), ("2", "TTT", "b,c")]


def test_policy_error_skip_replace(write):
    path = write("p.fa", ">a\nACGT\n>b\nACJT\n>c\nAC-T\n")
    with pytest.raises(InputError, match=r"p.fa:4: record 'b': invalid character 'J' at position 3"):
        list(read_records(path))
    skip = Cleaner("dna", "skip")
    assert ids_seqs(path, cleaner=skip) == [("a", "ACGT")]
    assert (skip.report.skipped, skip.report.records) == (2, 3)
    rep = Cleaner("dna", "replace")
    assert ids_seqs(path, cleaner=rep) == [("a", "ACGT"), ("b", "ACNT"), ("c", "ACNT")]
    assert rep.report.replaced == 2 and rep.report.summary().startswith("replaced 2 letters")


def test_dna_read_as_protein_is_named_in_the_summary(write):
    dna = write("d.fa", "".join(f">r{i}\n{'ACGTTGCAACGTNACGTTGCA' * 3}\n" for i in range(10)))
    protein = write("p.fa", "".join(f">r{i}\nMKVLAAGIVGLLLACSTTAQ\n" for i in range(10)))
    as_protein = Cleaner("protein")
    assert len(ids_seqs(dna, cleaner=as_protein)) == 10  # every DNA letter is an amino acid too
    assert as_protein.report.summary() == ("10 of 10 records hold only A, C, G, T, U and N: DNA or RNA, "
                                           "read as protein?")
    real = Cleaner("protein")
    ids_seqs(protein, cleaner=real)
    assert real.report.summary() == ""


def test_alphabets_rna_and_protein_stop(write):
    assert ids_seqs(write("r.fa", ">a\nACGU\n"), alphabet="rna") == [("a", "ACGT")]
    with pytest.raises(InputError, match="'U'"):
        list(read_records(write("d.fa", ">a\nACGU\n"), alphabet="dna"))
    assert ids_seqs(write("p.fa", ">p\nmkv*\n"), alphabet="protein") == [("p", "MKV*")]
    with pytest.raises(InputError, match=r"'\*' at position 2"):
        list(read_records(write("q.fa", ">p\nM*KV\n"), alphabet="protein"))
    assert ids_seqs(write("x.fa", ">p\nMKV*\n"), alphabet="protein", on_invalid="replace") == [
        ("p", "MKV*")]


def test_unique_ids(write):
    path = write("d.fa", ">a\nAC\n>b\nAC\n>a\nGG\n")
    assert len(list(read_records(path))) == 3
    with pytest.raises(InputError, match=r"d.fa:5: record 'a': duplicate id \(first seen at line 1\)"):
        list(read_records(path, unique_ids=True))


def test_error_line_inside_wrapped_record(write):
    path = write("w.fa", ">a\nACGT\nACGT\nACXT\n")
    with pytest.raises(InputError) as e:
        list(read_records(path))
    assert (e.value.line, e.value.record) == (4, "a")


@settings(max_examples=300, deadline=None)
@given(alphabet=st.sampled_from(["dna", "rna", "protein"]),
       seq=st.binary(min_size=1, max_size=30) | st.from_regex(rb"[ACGTUNacgtun*XZ]{1,30}", fullmatch=True))
def test_cleaner_fast_path_agrees_with_the_rule(alphabet, seq):
    # the one-translate fast path gives what the rule says: upper case, aliases applied, accepted
    # exactly when every letter is in the alphabet and a terminal stands only at the end
    a = get_alphabet(alphabet)
    up = seq.upper()
    for src, dst in a.aliases.items():
        up = up.replace(src.encode(), dst.encode())
    body = up[:-1] if a.terminal and up.endswith(a.terminal.encode()) else up
    inner = a.letters.replace(a.terminal, "") if a.terminal else a.letters
    expected = up if all(chr(c) in inner for c in body) else None
    assert Cleaner(alphabet, "skip")(seq, path="t", record="r") == expected


fasta_text = st.lists(
    st.tuples(st.from_regex(r"[A-Za-z0-9_.|]{1,12}", fullmatch=True),
              st.lists(st.from_regex(r"[ACGTNacgtn]{1,70}", fullmatch=True), min_size=1, max_size=6),
              st.sampled_from(["\n", "\r\n"]), st.integers(0, 2)),
    min_size=1, max_size=8)


@settings(max_examples=150, deadline=None)
@given(records=fasta_text, chunk=st.integers(1, 64))
def test_chunked_fasta_equals_biopython(records, chunk):
    text = "".join(f">{rid} desc{nl}" + "".join(line + nl for line in lines) + nl * blanks
                   for rid, lines, nl, blanks in records)
    expected = [(t.split()[0], s) for t, s in SimpleFastaParser(io.StringIO(text))]
    old = gio._CHUNK
    gio._CHUNK = chunk
    try:
        src = gio.Source("t.fa", "fasta", "none", io.BufferedReader(io.BytesIO(text.encode())))
        got = [(r.id, r.seq) for r in gio.source_records(src, None)]
    finally:
        gio._CHUNK = old
    assert got == expected


@settings(max_examples=150, deadline=None)
@given(records=st.lists(st.tuples(
           st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True),
           st.lists(st.from_regex(r"[ACGT][ACGT> ]{0,40}", fullmatch=True), min_size=1, max_size=5)),
           min_size=1, max_size=6),
       chunk=st.integers(1, 48))
def test_chunked_fasta_headers_only_at_line_starts(records, chunk):
    # a '>' inside a line is not a header (the fast header search must skip it), and every
    # record's line number is its header's line in the file
    text, lines_before, expected = "", 0, []
    for rid, lines in records:
        expected.append((rid, "".join(lines).replace(" ", ""), lines_before + 1))
        text += f">{rid}\n" + "".join(line + "\n" for line in lines)
        lines_before += 1 + len(lines)
    old = gio._CHUNK
    gio._CHUNK = chunk
    try:
        src = gio.Source("t.fa", "fasta", "none", io.BufferedReader(io.BytesIO(text.encode())))
        got = [(r.id, r.seq, r.line) for r in gio.source_records(src, None)]
    finally:
        gio._CHUNK = old
    assert got == expected


@pytest.mark.parametrize("size", [100, 70_000])  # short records: isalpha; long: memchr scans
def test_blanks_and_cr_inside_sequence_lines_are_dropped(write, size):
    seq = "".join(np.random.default_rng(0).choice(list("ACGT"), size))
    lines = [seq[i: i + 60] for i in range(0, size, 60)]
    text = ">a\r\n" + "\r\n".join(lines) + "\r\n>b\n" + " ".join(lines) + "\t\n"
    recs = list(read_records(write("blank.fa", text)))
    assert [(r.id, r.seq) for r in recs] == [("a", seq), ("b", seq)]


def test_memory_does_not_hold_the_file(write):
    # a record-at-a-time reader: after reading one record of a large file little else is held
    path = write("big.fa", "".join(f">r{i}\n{'ACGT' * 250}\n" for i in range(20000)))
    it = read_records(path)
    first = next(it)
    assert first.id == "r0" and len(first.seq) == 1000
    assert sum(1 for _ in it) == 19999


def test_atomic_output_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "out.tsv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_output(target) as f:
            f.write("half")
            raise RuntimeError("crash")
    assert target.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["out.tsv"]
    with atomic_output(target) as f:
        f.write("new\n")
    assert target.read_text() == "new\n" and os.listdir(tmp_path) == ["out.tsv"]


# ----------------------------------------------------------------- input-reader review fixes


def _stdin(monkeypatch, raw: io.RawIOBase | bytes) -> None:
    raw = io.BytesIO(raw) if isinstance(raw, bytes) else raw
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(raw)))


@pytest.mark.parametrize("name,content,line", [
    # a stray '"' opens a field that csv would read on across the line break: row b vanished
    # into a's 'desc' and a took b's label
    ("stray.tsv", 'id\tsequence\tdesc\tlabel\na\tACGT\t"hypothetical\t1\nb\tGG\tknown"\t0\n', 2),
    ("unclosed.tsv", 'id\tsequence\tlabel\na\tACGT\t1\nb\tGG\t"0\n', 3),  # read to the file's end
    ("newline.csv", 'id,sequence,label\n"a,ACGT,1\nc",GG,0\n', 2),  # a's row swallowed c's
    ("long.tsv", 'id\tsequence\tlabel\n"a' + "\n" * 20 + '"\tACGT\t1\n', 2),  # more lines than a row may span
    ("blank_first.tsv", '\n\nid\tsequence\tlabel\n"a\tACGT\t1\nb\tGG\t0\n', 4),
])
def test_a_quoted_field_across_a_line_break_is_refused_at_its_row(write, name, content, line):
    path = write(name, content)
    with pytest.raises(InputError) as e:
        list(read_records(path))
    assert e.value.line == line
    assert f"a quoted field opened on line {line} runs " in str(e.value)
    assert any(w in str(e.value) for w in ("the end of that line", "the end of the file", "more than 8 lines"))
    assert "unmatched '\"'" in str(e.value)


def test_quotes_within_one_line_still_read(write):
    path = write("q.tsv", 'id\tsequence\tnote\tlabel\n"a\tb"\tACGT\t5" UTR\t1\n"c ""d"""\tGG\tx\t0\n')
    assert [(r.id, r.seq, r.label, r.extra) for r in read_records(path)] == [
        ("a\tb", "ACGT", "1", {"note": '5" UTR'}), ('c "d"', "GG", "0", {"note": "x"})]
    with pytest.raises(InputError, match=r"q2.tsv:2: malformed row \(text after the closing"):
        list(read_records(write("q2.tsv", 'id\tsequence\n"a"b\tACGT\n')))


def test_leading_blank_lines_and_blank_rows_of_a_table(write):
    path = write("b.tsv", "\n  \nid\tsequence\tlabel\n   \na\tACGT\t1\n\t\t\nb\tGG\t0\n")
    assert [(r.id, r.line) for r in read_records(path)] == [("a", 5), ("b", 7)]
    with pytest.raises(InputError, match=r"c.csv:3: no 'sequence' column; the header has: id, seq"):
        list(read_records(write("c.csv", "\n \nid,seq\na,ACGT\n")))
    with pytest.raises(InputError, match=r"d.tsv:4: row has 2 fields, the header has 3"):
        list(read_records(write("d.tsv", "\nid\tsequence\tlabel\n\na\tACGT\n")))


def test_pairs_read_their_sequences_from_stdin_once(write, monkeypatch):
    from genobert.tables import read_pairs

    pairs = write("pairs.tsv", "sequence_a\tsequence_b\tlabel\np1\tp2\t1\n")
    _stdin(monkeypatch, b"protein_id\tsequence\np1\tACGT\np2\tGGCC\n")
    data = read_pairs(pairs, "dna", sequences="-")
    assert (data.ids, data.seqs, data.targets) == (["p1|p2"], [("ACGT", "GGCC")], ["1"])


def test_an_output_given_as_stdin_is_refused(tmp_path, monkeypatch):
    out, other = tmp_path / "x.tsv", tmp_path / "y.tsv"
    out.write_text("id\tsequence\na\tACGT\n")
    other.write_text("id\tsequence\na\tACGT\n")
    with open(out) as stdin:  # genobert classify M - -o x.tsv < x.tsv
        monkeypatch.setattr(sys, "stdin", stdin)
        with pytest.raises(InputError, match=r"x.tsv: is also an input \(standard input\)"):
            gio.check_output(str(out), ["-"])
    with open(other) as stdin:
        monkeypatch.setattr(sys, "stdin", stdin)
        gio.check_output(str(out), ["-"])  # another file on stdin: fine


class _Trickle(io.RawIOBase):
    """A pipe whose writer sends one byte at a time."""

    def __init__(self, data: bytes):
        self.data = data

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = min(len(b), 1, len(self.data))
        b[:n] = self.data[:n]
        self.data = self.data[n:]
        return n


@pytest.mark.parametrize("data", [
    __import__("gzip").compress(b">a\nACGT\n>b\nGG\n", mtime=0),
    b"\n\n\n>a\nACGT\n>b\nGG\n",
])
def test_a_pipe_giving_a_few_bytes_per_read_is_sniffed_whole(monkeypatch, data):
    _stdin(monkeypatch, _Trickle(data))
    assert ids_seqs("-") == [("a", "ACGT"), ("b", "GG")]


def test_closed_stdin_is_one_line(monkeypatch):
    monkeypatch.setattr(sys, "stdin", None)
    with pytest.raises(InputError, match=r"^<stdin>: standard input is closed$"):
        list(read_records("-"))


def test_xz_is_read_and_zstd_is_named(write):
    import lzma

    data = b">a\nACGT\n>b\nGG\n"
    assert ids_seqs(write("x.fa.xz", lzma.compress(data))) == [("a", "ACGT"), ("b", "GG")]
    with pytest.raises(InputError, match=r"truncated xz data"):
        list(read_records(write("t.fa.xz", lzma.compress(data * 50)[:-20])))
    zst = b"\x28\xb5\x2f\xfd\x24\x0e\x71\x00\x00" + data  # a zstd frame's magic and header
    with pytest.raises(InputError, match=r"z.fa.zst: zstd-compressed; decompress it first \(zstd -d\)"):
        list(read_records(write("z.fa.zst", zst)))
    with pytest.raises(InputError, match=r"plain, .gz, .bz2 or .xz"):
        list(read_records(write("n.bin", b"\x00\x01junk")))


def test_the_on_invalid_hint_only_where_the_flag_exists(write, tmp_path, monkeypatch, capsys):
    import genobert.infer
    from genobert.cli import main

    bad = write("bad.fa", ">a\nACJT\n")
    with pytest.raises(InputError) as e:  # the library, finetune and pretrain have no such flag
        list(read_records(bad))
    assert "invalid character 'J'" in str(e.value) and "--on-invalid" not in str(e.value)
    out = str(tmp_path / "m")
    assert main(["pretrain", "--corpus", bad, "--out", out, "--exclude", bad]) == 2
    err = capsys.readouterr().err
    assert "invalid character 'J'" in err and "--on-invalid" not in err

    def classify(model, inputs, out, **kw):  # the reading part of the real command, no model
        for path in inputs:
            list(read_records(path, on_invalid=kw["on_invalid"]))

    monkeypatch.setattr(genobert.infer, "write_classification", classify)
    assert main(["classify", "M", bad, "-o", str(tmp_path / "o.tsv")]) == 2
    err = capsys.readouterr().err
    assert err == (f"genobert: error: {bad}:2: record 'a': invalid character 'J' at position 3; "
                   "allowed for dna: A C G T N R Y S W K M B D H V (lower case is read as upper "
                   "case); use --on-invalid skip or replace to go on\n")


def test_class_names_sort_whole_numbers_and_keep_odd_digits_as_text():
    from genobert.tables import class_names

    assert class_names(["10", "2", "-3"]) == ["-3", "2", "10"]  # numerically
    # str.isdigit passes these and int refuses them: sorted as text, no traceback
    assert class_names(["--1", "2", "1"]) == ["--1", "1", "2"]
    assert class_names(["²", "1"]) == ["1", "²"]


def test_a_sequence_tables_id_column_is_named_like_an_id():
    from genobert.tables import _id_column

    assert _id_column(["plasmid", "protein_id", "sequence"]) == "protein_id"  # not plasmid, which ends in 'id'
    assert _id_column(["valid", "sequence", "UniProtID"]) == "UniProtID"
    assert _id_column(["PLASMID", "sequence", "Gene ID"]) == "Gene ID"
    assert _id_column(["name", "sequence"]) == "id"  # none: row numbers, as documented


def test_outputs_are_compressed_as_their_names_say(tmp_path):
    import bz2
    import gzip
    import lzma

    from genobert.io import atomic_output

    for suffix, opener in ((".gz", gzip.open), (".bz2", bz2.open), (".xz", lzma.open)):
        path = tmp_path / f"o.tsv{suffix}"
        with atomic_output(path) as f:
            f.write("id\tlabel\na\t1\n")
        with opener(path, "rt") as f:  # was plain text under a .bz2 / .xz name
            assert f.read() == "id\tlabel\na\t1\n"
