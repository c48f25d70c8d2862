"""`genobert inspect`: counts, alphabet guess, odd letters, duplicates; real files vs SOURCES.md."""

from __future__ import annotations

import re


from genobert.cli import main
from genobert.stats import format_stats, inspect_file


def test_inspect_fasta_counts_and_problems(write):
    path = write("x.fa.gz", ">a\nACGTacgt\n>b\nACJ-\n>a\nNNAC\n")
    s = inspect_file(path)
    assert (s.format, s.compression, s.records, s.total) == ("fasta", "gzip", 3, 16)
    assert (s.min, s.median, s.max, s.alphabet) == (4, 4.0, 8, "dna")
    assert s.outside == {"J": 1, "-": 1}
    assert (s.lowercase, s.ambiguous, s.duplicate_ids, s.duplicate_examples) == (4, 2, 1, ["a"])
    text = format_stats([s])
    assert "2 letters outside dna: '-'×1, 'J'×1" in text and "1 duplicate ids, e.g. 'a'" in text


def test_inspect_protein_table_labels_and_tsv(write, capsys):
    path = write("p.tsv", "id\tsequence\tlabel\np1\tMKV\t1\np2\tMKVLLW\t0\np3\tMW\t1\n")
    assert main(["inspect", "--tsv", path]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t")[:9] == ["file", "format", "compression", "records", "total_len",
                                        "min_len", "median_len", "max_len", "alphabet"]
    assert lines[1].split("\t") == [path, "table", "none", "3", "11", "2", "3", "6", "protein",
                                    "", "0", "0:1,1:2"]


def test_inspect_table_without_sequence_column_counts_rows(write):
    s = inspect_file(write("pairs.tsv", "protein_a\tprotein_b\tlabel\nP1\tP2\t1\nP3\tP4\t0\n"))
    assert (s.records, s.alphabet, s.labels) == (2, "-", {"1": 1, "0": 1})
    assert "no 'sequence' column" in s.note


def _sources_counts(sources: str) -> dict[str, tuple[int, int | None]]:
    """{folder/file: (records, residues or None)} from the tables of SOURCES.md."""
    counts, folder = {}, None
    for line in sources.splitlines():
        if line.startswith("### "):
            folder = line[4:].split(" ")[0]
        m = re.match(r"\| ([\w.\-]+\.(?:tsv|gz)) \| (\d+)(?: \(([\d,]+) residues\))? \|", line)
        if m and folder:
            residues = int(m.group(3).replace(",", "")) if m.group(3) else None
            counts[f"{folder}/{m.group(1)}"] = (int(m.group(2)), residues)
    return counts


def test_inspect_every_shared_file_matches_sources_md(shared_data):
    expected = _sources_counts((shared_data / "SOURCES.md").read_text())
    files = sorted(p for p in shared_data.glob("*/*") if p.suffix in (".tsv", ".gz"))
    assert len(files) >= 50
    checked = 0
    for path in files:
        s = inspect_file(path)
        key = f"{path.parent.name}/{path.name}"
        assert s.records > 0, key
        if key in expected:
            records, residues = expected[key]
            assert s.records == records, key
            if residues is not None:
                assert s.total == residues, key
            checked += 1
        if "pretrain_protein" in key or key.startswith("prot_"):
            assert s.alphabet == "protein", key
        if key.startswith("dna_") or "pretrain_dna" in key:
            assert s.alphabet == "dna" and not s.outside, key
    assert checked >= 50


def test_inspect_names_a_stop_inside_a_protein(write):
    """read_records refuses '*' before a protein's end; inspect said nothing of it."""
    s = inspect_file(write("p.fa", ">a\nMKR*VLLWWEEQQDDSSPPKK\n>b\nMKRVLLWWEEQQDDSSPPKK*\n>c\nMKV*\n"))
    assert s.alphabet == "protein"
    assert s.problems() == ["1 records with '*' before the end (a stop is allowed only as the last "
                            "letter), e.g. 'a'"]
    assert inspect_file(write("q.fa", ">b\nMKRVLLWWEEQQDDSSPPKK*\n")).problems() == []
