"""Tokenizers: spec parsing, golden ids, save/load round-trips, fast path = Hugging Face path."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import AutoTokenizer

from genobert.errors import InputError
from genobert.tokenize import (CLS_ID, SEP_ID, UNK_ID, TokenizerSpec, build_tokenizer,
                               load_tokenizer)

SPECS = [("char", "dna"), ("kmer:1", "dna"), ("kmer:3", "dna"), ("kmer:6", "dna"),
         ("kmer:6:6", "dna"), ("kmer:4:2", "dna"), ("char", "protein"), ("kmer:2", "protein"),
         ("kmer:3:3", "protein")]


@pytest.fixture(scope="module")
def tokenizers():
    return {key: build_tokenizer(*key) for key in SPECS}


@pytest.mark.parametrize("text,expected", [
    ("char", TokenizerSpec("char")), ("kmer:6", TokenizerSpec("kmer", 6, 1)),
    ("KMER:6:6", TokenizerSpec("kmer", 6, 6)), ("bpe:4096", TokenizerSpec("bpe", vocab_size=4096))])
def test_spec_parse_and_str(text, expected):
    spec = TokenizerSpec.parse(text)
    assert spec == expected and TokenizerSpec.parse(str(spec)) == spec


@pytest.mark.parametrize("bad", ["", "kmer", "kmer:0", "kmer:3:4", "kmer:x", "bpe", "bpe:-1", "word"])
def test_bad_spec_names_value_and_choices(bad):
    with pytest.raises(InputError, match=r"unknown tokenizer .*allowed: char, kmer:K"):
        TokenizerSpec.parse(bad)


def test_kmer_vocab_too_large():
    with pytest.raises(InputError, match="kmer:4 on protein needs 456,976 tokens"):
        build_tokenizer("kmer:4", "protein")


# golden ids: [PAD]0 [UNK]1 [CLS]2 [SEP]3 [MASK]4, then letters / k-mers in lexicographic order
GOLDEN = [
    ("char", "dna", "ACGTN", [2, 5, 6, 7, 8, 9, 3]),
    ("char", "dna", "acgtRY", [2, 5, 6, 7, 8, 10, 11, 3]),
    ("char", "protein", "MKV*", [2, 15, 13, 22, 30, 3]),
    ("kmer:3", "dna", "AAAC", [2, 5, 6, 3]),  # AAA=5, AAC=6
    ("kmer:3", "dna", "TTTN", [2, 68, 69, 3]),  # TTT=5+63, TTN -> NNN=69
    ("kmer:6", "dna", "ACGTACGT", [2, 438, 1739, 2848, 3]),
    ("kmer:6", "dna", "ACGTACGTN", [2, 438, 1739, 2848, 4101, 3]),  # any k-mer with N -> NNNNNN
    ("kmer:6:6", "dna", "ACGTACGT", [2, 438, 4104, 4105, 3]),  # ACGTAC, then tail G, T as letters
    ("kmer:3", "dna", "AC", [2, 70, 71, 3]),  # shorter than k: single letters
    ("kmer:2", "protein", "MK", [2, 5 + 10 * 26 + 8, 3]),
]


@pytest.mark.parametrize("spec,alphabet,seq,ids", GOLDEN)
def test_golden_ids(spec, alphabet, seq, ids):
    tok = build_tokenizer(spec, alphabet)
    assert tok.encode(seq).tolist() == ids
    assert tok.encode_slow(seq) == ids


def test_n_kmer_is_one_documented_token_not_unk():
    tok = build_tokenizer("kmer:6", "dna")
    assert tok.tokens("ACGTACN") == ["ACGTAC", "NNNNNN"]
    assert tok.tokens("acgtacr") == ["ACGTAC", "NNNNNN"]
    assert UNK_ID not in tok.encode("acgtnnrykm").tolist()


def test_lowercase_is_read_as_uppercase(tokenizers):
    for (_, alphabet), tok in tokenizers.items():
        seq = "ACGTACGTAAC" if alphabet == "dna" else "MKVLAAGWHE"
        assert tok.encode(seq.lower()).tolist() == tok.encode(seq).tolist()
        assert tok.encode_slow(seq.lower()) == tok.encode(seq).tolist()
        assert UNK_ID not in tok.encode(seq.lower()).tolist()


def test_no_letter_is_dropped_by_a_stride(tokenizers):
    tok = tokenizers[("kmer:6:6", "dna")]
    seq = "ACGTACGTACGTACGTAC"  # 18 = 3 six-mers
    assert "".join(tok.tokens(seq)) == seq
    assert "".join(tok.tokens(seq + "GGT")) == seq + "GGT"


@pytest.mark.parametrize("key", SPECS)
def test_save_and_autotokenizer_round_trip(tmp_path, tokenizers, key):
    tok = tokenizers[key]
    tok.save(tmp_path)
    auto = AutoTokenizer.from_pretrained(tmp_path)
    again = load_tokenizer(tmp_path)
    seq = "ACGTNRYACGTTGCA" if key[1] == "dna" else "MKVLXBZ*"
    assert auto(tok.to_text(seq))["input_ids"] == tok.encode(seq).tolist()
    assert again.encode(seq).tolist() == tok.encode(seq).tolist()
    assert (again.spec, again.alphabet) == (tok.spec, tok.alphabet)
    config = (tmp_path / "tokenizer_config.json").read_text()
    again.save(tmp_path / "again")  # a model saved after --init writes the same config back
    assert (tmp_path / "again" / "tokenizer_config.json").read_text() == config


def test_pair_template(tokenizers):
    tok = tokenizers[("char", "protein")]
    enc = tok.hf("MK", "V")
    assert enc["input_ids"] == [CLS_ID, 15, 13, SEP_ID, 22, SEP_ID]
    assert enc["token_type_ids"] == [0, 0, 0, 0, 1, 1]


dna_text = st.text(alphabet="ACGTNRYSWKMBDHVacgtnryJ*-", max_size=60)
protein_text = st.text(alphabet="ACDEFGHIKLMNPQRSTVWYXBZUO*acdxJ1-", max_size=60)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_fast_path_equals_hf_tokenizer(tokenizers, data):
    key = data.draw(st.sampled_from(SPECS))
    seq = data.draw(dna_text if key[1] == "dna" else protein_text)
    tok = tokenizers[key]
    assert tok.encode(seq).tolist() == tok.encode_slow(seq)
    assert tok.encode(seq, add_special_tokens=False).tolist() == tok.encode_slow(seq, add_special_tokens=False)


def test_fast_path_on_a_long_sequence(tokenizers):
    rng = np.random.default_rng(0)
    seq = "".join(rng.choice(list("ACGTN"), size=5000, p=[0.24, 0.24, 0.24, 0.24, 0.04]))
    for key in [("kmer:6", "dna"), ("kmer:6:6", "dna"), ("char", "dna")]:
        tok = tokenizers[key]
        assert tok.encode(seq).tolist() == tok.encode_slow(seq)


def test_bpe_trains_bounded_and_round_trips(tmp_path):
    rng = np.random.default_rng(1)
    motif = "TATAAAAGGCC"
    corpus = ["".join(rng.choice(list("ACGT"), size=400)) + motif * 5 for _ in range(50)]
    tok = build_tokenizer("bpe:128", "dna", corpus)
    assert len(tok) == 128
    assert max(len(t) for t in tok.hf.get_vocab()) <= 16
    seq = "acgt" + motif
    ids = tok.encode(seq).tolist()
    assert ids[0] == CLS_ID and ids[-1] == SEP_ID and UNK_ID not in ids
    assert "".join(tok.tokens(seq)) == seq.upper()
    tok.save(tmp_path)
    assert AutoTokenizer.from_pretrained(tmp_path)(seq)["input_ids"] == ids
    assert load_tokenizer(tmp_path).encode(seq).tolist() == ids


def test_bpe_needs_a_corpus():
    with pytest.raises(InputError, match="needs a corpus"):
        build_tokenizer("bpe:64", "dna")


def test_long_sequences_take_the_copy_saving_path_to_the_same_ids(tokenizers):
    # char ids of sequences past 65,536 letters are widened into a preallocated array
    rng = np.random.default_rng(0)
    for (_, alphabet), tok in tokenizers.items():
        letters = list("ACGTN" if alphabet == "dna" else "ACDEFGHIKLMNPQRSTVWYX")
        seq = "".join(rng.choice(letters, 70_000))
        ids = tok.encode(seq)
        assert ids.dtype == np.int32
        assert ids.tolist() == tok.encode_slow(seq)
        assert ids[1:-1].tolist() == tok.encode(seq, add_special_tokens=False).tolist()

