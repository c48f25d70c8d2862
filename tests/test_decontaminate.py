"""A corpus is cleaned of test sequences: planted copies (either strand, near-duplicates) go."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from genobert.data import prepare_corpus
from genobert.decontaminate import DNA_K, PROTEIN_K, Contamination, reverse_complement
from genobert.tokenize import build_tokenizer

pytestmark = pytest.mark.usefixtures("private_cache")
AMINO = "ACDEFGHIKLMNPQRSTVWY"


def _random(rng, letters, n):
    return "".join(rng.choice(list(letters), n))


def test_planted_dna_is_cut_out_on_both_strands():
    rng = np.random.default_rng(0)
    tests = [_random(rng, "ACGT", 81) for _ in range(3)]
    genome = (_random(rng, "ACGT", 5000) + tests[0] + _random(rng, "ACGT", 3000)
              + reverse_complement(tests[1]) + _random(rng, "ACGT", 4000) + tests[2][10:60] + _random(rng, "ACGT", 2000))
    pieces = Contamination.of(tests, "dna").clean(genome)
    kept = "|".join(pieces)
    for t in tests:
        for s in range(0, len(t) - DNA_K + 1):  # no 32-mer of a test sequence or its reverse complement
            assert t[s:s + DNA_K] not in kept and reverse_complement(t[s:s + DNA_K]) not in kept
    removed = len(genome) - sum(map(len, pieces))
    assert 81 + 81 + 50 <= removed <= 81 + 81 + 50 + 6 * DNA_K  # only the planted regions go
    assert len(pieces) == 4


def test_a_clean_genome_is_untouched():
    rng = np.random.default_rng(1)
    genome = _random(rng, "ACGT", 20000)
    assert Contamination.of([_random(rng, "ACGT", 200)], "dna").clean(genome) == [genome]


def test_proteins_sharing_a_long_substring_are_dropped():
    rng = np.random.default_rng(2)
    test = _random(rng, AMINO, 120)
    peptide = _random(rng, AMINO, 12)  # shorter than PROTEIN_K: matched whole
    near = test[:50] + "W" + test[51:]  # one substitution: a near-duplicate
    unrelated = _random(rng, AMINO, 300)
    c = Contamination.of([test, peptide], "protein")
    assert c.clean(near) == [] and c.clean("MK" + peptide + "LL") == []
    assert c.clean(test[:PROTEIN_K - 1] + unrelated) == [test[:PROTEIN_K - 1] + unrelated]
    assert c.clean(unrelated) == [unrelated]


def test_prepare_corpus_reports_what_it_removed(tmp_path):
    rng = np.random.default_rng(3)
    test = _random(rng, "ACGT", 100)
    genome = _random(rng, "ACGT", 3000) + test + _random(rng, "ACGT", 3000)
    path = tmp_path / "g.fa.gz"
    with gzip.open(path, "wt") as f:
        f.write(">chr1\n" + genome + "\n>chr2\n" + _random(rng, "ACGT", 500) + "\n")
    tok = build_tokenizer("char", "dna")
    store = prepare_corpus([str(path)], tok, alphabet="dna", exclude={test})
    d = store.info["decontamination"]
    assert d["letters_removed"] >= 100 and d["records_dropped"] == 0 and store.info["kept"] == 3
    letters = "".join(tok.hf.convert_ids_to_tokens(np.asarray(store.tokens).tolist()))
    assert test[20:60] not in letters and len(letters) == len(genome) + 500 - d["letters_removed"]


def test_identical_records_are_kept_once_so_none_is_both_trained_on_and_held_out(tmp_path):
    from genobert.data import holdout_split

    rng = np.random.default_rng(4)
    region = _random(rng, "ACGT", 300)  # as dm3's upstream regions: one region, many records
    other = [_random(rng, "ACGT", 300) for _ in range(20)]
    path = tmp_path / "up.fa"
    path.write_text("".join(f">r{i}\n{s}\n" for i, s in enumerate([region] * 10 + other + [region.lower()])))
    store = prepare_corpus([str(path)], build_tokenizer("char", "dna"), alphabet="dna")
    assert store.info["kept"] == 21 and store.info["duplicates"] == {"records": 10, "letters": 3000}
    (ts, te), (hs, he) = holdout_split(store, 0.3, 0)
    tok = build_tokenizer("char", "dna")
    spell = lambda a, b: "".join(tok.hf.convert_ids_to_tokens(np.asarray(store.tokens[a:b]).tolist()))  # noqa: E731
    held = {spell(a, b) for a, b in zip(hs, he, strict=True)}
    assert held and not held & {spell(a, b) for a, b in zip(ts, te, strict=True)}


def test_training_stretches_overlapping_the_held_out_part_are_cut_on_both_strands(tmp_path):
    from genobert.data import OVERLAP_K, pretraining_split

    rng = np.random.default_rng(5)
    comp = str.maketrans("ACGT", "TGCA")
    regions = [_random(rng, "ACGT", 400) for _ in range(30)]
    # each region's neighbour shares 150 letters with it (shifted), every third on the other strand
    records = []
    for i, r in enumerate(regions):
        shifted = r[250:] + _random(rng, "ACGT", 250)
        records += [r, shifted.translate(comp)[::-1] if i % 3 == 0 else shifted]
    path = tmp_path / "up.fa"
    path.write_text("".join(f">r{i}\n{s}\n" for i, s in enumerate(records)))
    tok = build_tokenizer("char", "dna")
    store = prepare_corpus([str(path)], tok, alphabet="dna")
    (ts, te), (hs, he), cut = pretraining_split(store, tok, "dna", 0.3, 0)
    spell = lambda a, b: "".join(tok.hf.convert_ids_to_tokens(np.asarray(store.tokens[a:b]).tolist()))  # noqa: E731
    train = [spell(a, b) for a, b in zip(ts, te, strict=True)]
    k = OVERLAP_K
    held = {h[i:i + k] for a, b in zip(hs, he, strict=True) for h in [spell(a, b)] for i in range(len(h) - k + 1)}
    held |= {m.translate(comp)[::-1] for m in held}
    assert cut > 0 and not any(t[i:i + k] in held for t in train for i in range(len(t) - k + 1))
    assert sum(map(len, train)) == store.info["tokens"] - sum(he - hs) - cut  # nothing else was lost


def test_a_test_sequence_with_ns_goes_whole_and_case_and_u_do_not_hide_it():
    """Its k-mers holding an N match no genome k-mer: the 31 letters after the N stayed in the
    corpus. (A test with no N-free run of k letters has nothing to be found by.)"""
    rng = np.random.default_rng(5)
    test = _random(rng, "ACGT", 120)
    gapped = test[:50] + "N" + test[51:]
    left, right = _random(rng, "ACGT", 3000), _random(rng, "ACGT", 3000)
    for genome in (left + test + right, (left + test + right).lower(), left + reverse_complement(test) + right):
        pieces = Contamination.of([gapped], "dna").clean(genome)
        assert [p.upper() for p in pieces] == [left, right]
    rna = Contamination.of([gapped.replace("T", "U").lower()], "rna")
    assert rna.clean(left + test + right) == [left, right]
    peptide = _random(rng, AMINO, 15)
    assert Contamination.of([peptide + "*"], "protein").clean("MK" + peptide + "LL") == []


def test_the_holdout_never_takes_every_unit():
    """One or two short records at holdout 0.3: some seeds held out all of them, and pretraining
    then said the corpus 'holds no tokens'."""
    from genobert.data import TokenStore, holdout_split

    for n in (1, 2):
        offsets = np.arange(n + 1) * 100
        store = TokenStore(np.zeros(n * 100, np.int32), offsets, {})
        for seed in range(60):
            (ts, te), (hs, he) = holdout_split(store, 0.3, seed)
            assert (te - ts).sum() > 0 and len(hs) < n


def test_a_failed_token_store_build_leaves_nothing_in_the_cache(tmp_path, write):
    """A bad letter mid-corpus: the half-built `KEY.partPID` folder stayed in the cache."""
    import os

    from genobert.data import cache_dir
    from genobert.errors import InputError

    bad = write("bad.fa", ">a\nACGTACGT\n>b\nACGT!!\n")
    with pytest.raises(InputError):
        prepare_corpus([bad], build_tokenizer("char", "dna"), alphabet="dna")
    assert os.listdir(os.path.join(cache_dir(), "corpora")) == []


def test_overlapping_kmer_tokens_next_to_a_held_out_block_are_trimmed(tmp_path):
    """kmer:6 tokens overlap by 5 letters: the last training tokens before a held-out block spelled
    its first 5 letters (and its last tokens the 5 after it)."""
    from genobert.data import pretraining_split

    rng = np.random.default_rng(6)
    path = tmp_path / "chr.fa"
    path.write_text(">chr\n" + _random(rng, "ACGT", 40_000) + "\n")
    tok = build_tokenizer("kmer:6", "dna")
    store = prepare_corpus([str(path)], tok, alphabet="dna")
    (ts, te), (hs, he), _ = pretraining_split(store, tok, "dna", 0.3, 1)
    assert len(hs) and len(ts) > 1
    gaps = [h0 - e for e in te for h0 in hs if e <= h0] + [s - h1 for s in ts for h1 in he if s >= h1]
    assert min(gaps) >= 5


def test_a_repeated_or_n_kmer_cuts_only_itself():
    """A test k-mer that is an N run, or occurs in two tests, matched every assembly gap (or
    repeat copy) of a genome and cut as far as the test reached around each."""
    rng = np.random.default_rng(7)
    left, right = _random(rng, "ACGT", 2000), _random(rng, "ACGT", 2000)
    gap_test = _random(rng, "ACGT", 60) + "N" * 40 + _random(rng, "ACGT", 60)
    genome = left + "N" * 500 + right
    removed = len(genome) - sum(map(len, Contamination.of([gap_test], "dna").clean(genome)))
    assert removed < 500 + 60  # the gap and a letter or two of k-mers across its edge, not 60 + 60 around it
    shared = _random(rng, "ACGT", 40)
    tests = [_random(rng, "ACGT", 200) + shared, shared + _random(rng, "ACGT", 200)]
    pieces = Contamination.of(tests, "dna").clean(left + shared + right)
    assert sum(map(len, pieces)) >= len(left) + len(right) - 2 * DNA_K
