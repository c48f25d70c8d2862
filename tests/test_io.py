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
