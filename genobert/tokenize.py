"""Tokenizers for sequences: ``char``, ``kmer:K`` (overlapping), ``kmer:K:S`` (stride S) and
``bpe:V``, each a Hugging Face `PreTrainedTokenizerFast`, plus a vectorised encode path.

Every vocabulary starts with the same five specials, so their ids are fixed:
``[PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4``. Then come, in order:

- ``char``: the alphabet's letters (DNA: A C G T N R Y S W K M B D H V; protein: the 20 amino
  acids, X B Z U O and the stop ``*``).
- ``kmer``: every K-mer over the regular letters in lexicographic order (DNA: ACGT, so AAA…A is
  id 5), then, for DNA, the one ambiguous token ``N``×K that stands for any K-mer holding a letter
  other than A C G T (N or an IUPAC code), then the single letters. Single letters are the tail
  of a sequence that the stride does not cover (``kmer:6:6`` on 100 bp: 16 six-mers + 4 letters,
  as the Nucleotide Transformer does), so no letter is ever dropped.
- ``bpe``: what the BPE trainer learns from a corpus (at most 16 letters a token).

K-mer tokenizers read text the way DNABERT's did: K-mers separated by spaces. `SequenceTokenizer`
writes that text for you (`to_text`) and encodes straight from sequences with numpy lookup tables
(`encode`), which the tests hold to exactly the Hugging Face tokenizer's ids. Lower-case letters
are read as upper case by both paths (a normalizer in the saved tokenizer).

    tok = build_tokenizer("kmer:6", alphabet="dna")
    tok.encode("ACGTACGT")          # array([2, 438, 1739, 2848, 3]): [CLS] ACGTAC CGTACG GTACGT [SEP]
    tok.hf(tok.to_text("ACGTACGT")) # the same ids from the Hugging Face tokenizer
"""

from __future__ import annotations

import itertools
import json
import os
import re
from dataclasses import dataclass
from collections.abc import Iterable, Sequence

import numpy as np

from .alphabets import get_alphabet
from .errors import InputError, model_loading
from .io import write_json

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID = range(5)
MAX_KMER_VOCAB = 70_000  # embedding rows; kmer:8 on DNA (65,536) fits, protein stops at k=3
BPE_MAX_TOKEN_LENGTH = 16  # bounds BPE training time on long DNA
META_FILE = "genobert.json"

_SPEC_HELP = "char, kmer:K (overlapping), kmer:K:S (stride S <= K) or bpe:V (vocabulary size V)"


@dataclass(frozen=True)
class TokenizerSpec:
    """A parsed tokenizer spec such as ``kmer:6:3``."""

    kind: str  # "char" | "kmer" | "bpe"
    k: int = 1  # k-mer length
    stride: int = 1  # k-mer stride
    vocab_size: int = 0  # bpe only

    @classmethod
    def parse(cls, spec: str | TokenizerSpec) -> TokenizerSpec:
        if isinstance(spec, TokenizerSpec):
            return spec
        parts = str(spec).strip().lower().split(":")
        try:
            nums = [int(p) for p in parts[1:]]
        except ValueError:
            nums = None
        kind = parts[0]
        if kind == "char" and len(parts) == 1:
            return cls("char")
        if kind == "kmer" and nums and len(nums) <= 2 and nums[0] >= 1:
            k, stride = nums[0], nums[1] if len(nums) == 2 else 1
            if 1 <= stride <= k:
                return cls("kmer", k=k, stride=stride)
        if kind == "bpe" and nums and len(nums) == 1 and nums[0] > 0:
            return cls("bpe", vocab_size=nums[0])
        raise InputError(f"unknown tokenizer {spec!r}; allowed: {_SPEC_HELP}")

    def __str__(self) -> str:
        if self.kind == "kmer":
            return f"kmer:{self.k}" if self.stride == 1 else f"kmer:{self.k}:{self.stride}"
        return f"bpe:{self.vocab_size}" if self.kind == "bpe" else "char"


class SequenceTokenizer:
    """A Hugging Face fast tokenizer plus what genobert knows about it: spec, alphabet, fast path.

    ``hf`` is a plain `PreTrainedTokenizerFast`; `save` writes it with ``save_pretrained`` and
    `AutoTokenizer.from_pretrained` loads it back with no custom code.
    """

    pad_id, unk_id, cls_id, sep_id, mask_id = PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID

    def __init__(self, hf, spec: TokenizerSpec, alphabet: str):
        self.hf = hf
        self.spec = spec
        self.alphabet = get_alphabet(alphabet).tokenizer_alphabet  # what it spells: 'dna' for RNA
        self.reads = get_alphabet(alphabet).name  # what its model reads: RNA's U, turned into T
        self._tables = _LookupTables(spec, self.alphabet) if spec.kind != "bpe" else None

    def __len__(self) -> int:
        return len(self.hf)

    def __repr__(self) -> str:
        return f"SequenceTokenizer({str(self.spec)!r}, alphabet={self.alphabet!r}, vocab={len(self)})"

    @property
    def vocab_size(self) -> int:
        return len(self.hf)

    def to_text(self, seq: str) -> str:
        """The text the Hugging Face tokenizer expects for ``seq`` (space-separated k-mers for kmer)."""
        if self.spec.kind != "kmer":
            return seq
        k, s = self.spec.k, self.spec.stride
        if len(seq) < k:
            return " ".join(seq)
        starts = range(0, len(seq) - k + 1, s)
        words = [seq[i: i + k] for i in starts]
        words.extend(seq[starts[-1] + k:])  # the tail the stride leaves, as single letters
        return " ".join(words)

    def encode(self, seq: str | bytes, add_special_tokens: bool = True) -> np.ndarray:
        """Token ids of one sequence as int32, by lookup tables (char, kmer) or the HF tokenizer (bpe)."""
        if self._tables is None:
            text = seq.decode("latin-1") if isinstance(seq, bytes) else seq
            return np.asarray(self.hf(text, add_special_tokens=add_special_tokens)["input_ids"],
                              dtype=np.int32)
        raw = seq if isinstance(seq, bytes) else seq.encode("latin-1", "replace")
        return self._tables.encode(raw, add_special_tokens)

    def encode_slow(self, seq: str, add_special_tokens: bool = True) -> list[int]:
        """Token ids through the Hugging Face tokenizer: the reference the fast path must match."""
        return self.hf(self.to_text(seq), add_special_tokens=add_special_tokens)["input_ids"]

    def tokens(self, seq: str) -> list[str]:
        """The tokens of ``seq`` as strings, without specials (for reading, not speed)."""
        return self.hf.convert_ids_to_tokens(self.encode(seq, add_special_tokens=False).tolist())

    def save(self, directory: str | os.PathLike, meta: dict | None = None) -> None:
        """``save_pretrained`` plus ``genobert.json`` (the spec, the alphabet and ``meta``, merged
        into any that is there), which is renamed into place last."""
        os.makedirs(directory, exist_ok=True)
        self.hf.save_pretrained(directory)
        path = os.path.join(directory, META_FILE)
        merged = {}
        if os.path.exists(path):
            with open(path) as f:
                merged = json.load(f)
        merged.update({"alphabet": self.reads, "tokenizer": str(self.spec)}, **(meta or {}))
        write_json(path, merged)


def build_tokenizer(spec: str | TokenizerSpec, alphabet: str = "dna",
                    corpus: Iterable[str] | None = None, *, max_letters: int = 20_000_000,
                    seed: int = 0) -> SequenceTokenizer:
    """A new tokenizer. ``bpe:V`` learns from ``corpus`` (sequences), at most ``max_letters`` of it."""
    spec = TokenizerSpec.parse(spec)
    alpha = get_alphabet(alphabet).tokenizer_alphabet
    if spec.kind == "bpe":
        if corpus is None:
            raise InputError(f"tokenizer {spec} needs a corpus to learn from")
        backend = _bpe_backend(spec, alpha, corpus, max_letters)
    else:
        backend = _vocab_backend(spec, alpha)
    return SequenceTokenizer(_wrap(backend), spec, alphabet)


# what transformers v5 keeps of a from_pretrained call in init_kwargs, and save_pretrained would
# write into tokenizer_config.json of every model fine-tuned or pretrained with --init
LOAD_ARGUMENTS = ("is_local", "local_files_only")


def load_tokenizer(directory: str | os.PathLike) -> SequenceTokenizer:
    """A tokenizer saved by `SequenceTokenizer.save` (or inside a model directory)."""
    from transformers import PreTrainedTokenizerFast

    path = os.path.join(directory, META_FILE)
    try:
        with open(path) as f:
            meta = json.load(f)
    except FileNotFoundError:
        raise InputError(f"no {META_FILE}; not a genobert tokenizer or model directory",
                         path=os.fspath(directory)) from None
    with model_loading(directory):
        hf = PreTrainedTokenizerFast.from_pretrained(directory)
        for key in LOAD_ARGUMENTS:  # how it was loaded, not what it is: never saved again
            hf.init_kwargs.pop(key, None)
        return SequenceTokenizer(hf, TokenizerSpec.parse(meta["tokenizer"]), meta["alphabet"])


# --------------------------------------------------------------------------- vocabularies


def vocabulary(spec: TokenizerSpec, alphabet: str) -> list[str]:
    """The token list of a char or kmer tokenizer, specials first (index = id)."""
    alpha = get_alphabet(alphabet)
    if spec.kind == "char":
        return [*SPECIAL_TOKENS, *alpha.letters]
    size = len(alpha.regular) ** spec.k
    if size > MAX_KMER_VOCAB:
        raise InputError(f"tokenizer kmer:{spec.k} on {alpha.name} needs {size:,} tokens, more than "
                         f"{MAX_KMER_VOCAB:,}; use a smaller k")
    kmers = ["".join(p) for p in itertools.product(alpha.regular, repeat=spec.k)]
    ambiguous = [alpha.unknown * spec.k] if _has_ambiguity(alpha) else []
    tokens = [*SPECIAL_TOKENS, *kmers, *ambiguous]
    return tokens + [c for c in alpha.letters if c not in tokens]  # kmer:1 has them already


def _has_ambiguity(alpha) -> bool:
    return set(alpha.letters) != set(alpha.regular)


def _normalizer(alpha, spec: TokenizerSpec):
    from tokenizers import Regex, normalizers

    steps = [normalizers.Replace(c.lower(), c) for c in alpha.letters if c.lower() != c]
    if spec.kind == "kmer" and _has_ambiguity(alpha):
        # a K-letter word holding anything but the regular letters becomes the ambiguous token
        regular = re.escape(alpha.regular)
        steps.append(normalizers.Replace(
            Regex(rf"(?<!\S)(?=\S{{{spec.k}}}(?!\S))\S*[^{regular}\s]\S*"), alpha.unknown * spec.k))
    return normalizers.Sequence(steps)


def _post_processor():
    from tokenizers import processors

    return processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", CLS_ID), ("[SEP]", SEP_ID)])


def _vocab_backend(spec: TokenizerSpec, alphabet: str):
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

    alpha = get_alphabet(alphabet)
    vocab = {tok: i for i, tok in enumerate(vocabulary(spec, alphabet))}
    tk = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tk.normalizer = _normalizer(alpha, spec)
    if spec.kind == "char":
        tk.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
        tk.decoder = decoders.Fuse()
    else:
        tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tk.post_processor = _post_processor()
    return tk


def _bpe_backend(spec: TokenizerSpec, alphabet: str, corpus: Iterable[str], max_letters: int):
    from tokenizers import Tokenizer, decoders, models, trainers

    alpha = get_alphabet(alphabet)
    tk = Tokenizer(models.BPE(unk_token="[UNK]"))
    tk.normalizer = _normalizer(alpha, spec)
    tk.decoder = decoders.Fuse()
    trainer = trainers.BpeTrainer(
        vocab_size=spec.vocab_size, special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=list(alpha.letters), limit_alphabet=len(alpha.letters),
        max_token_length=BPE_MAX_TOKEN_LENGTH, show_progress=False)
    tk.train_from_iterator(_chunks(corpus, max_letters), trainer=trainer)
    tk.post_processor = _post_processor()
    return tk


def _chunks(corpus: Iterable[str], max_letters: int, size: int = 1000) -> Iterable[str]:
    """Cut a corpus into pieces of ``size`` letters, stopping after ``max_letters``."""
    left = max_letters
    for seq in corpus:
        for i in range(0, len(seq), size):
            piece = seq[i: i + size][:left]
            yield piece
            left -= len(piece)
            if left <= 0:
                return


def _wrap(backend):
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]", clean_up_tokenization_spaces=False,
        model_input_names=["input_ids", "token_type_ids", "attention_mask"])


# --------------------------------------------------------------------------- fast path


class _LookupTables:
    """Byte -> code tables that turn a sequence into char or k-mer ids with numpy."""

    def __init__(self, spec: TokenizerSpec, alphabet: str):
        alpha = get_alphabet(alphabet)
        self.k, self.stride, self.kind = spec.k, spec.stride, spec.kind
        vocab = {tok: i for i, tok in enumerate(vocabulary(spec, alphabet))}
        # single letters (char tokens, and the tail of a strided k-mer sequence)
        self.letter = np.full(256, UNK_ID, dtype=np.int32)
        for c in alpha.letters:
            self.letter[ord(c)] = self.letter[ord(c.lower())] = vocab[c]
        # where single-letter ids fit a byte (char vocabularies), bytes.translate maps them: _letters
        self.letter_bytes = self.letter.astype(np.uint8).tobytes() if self.letter.max() < 256 else None
        if spec.kind != "kmer":
            return
        # k-mer digits: regular letters 0..b-1; other alphabet letters b (ambiguous); others b+1
        b = self.base = len(alpha.regular)
        self.digit = np.full(256, b + 1, dtype=np.int64)
        for c in alpha.letters:
            self.digit[ord(c)] = self.digit[ord(c.lower())] = b
        for i, c in enumerate(alpha.regular):
            self.digit[ord(c)] = self.digit[ord(c.lower())] = i
        self.first_kmer = len(SPECIAL_TOKENS)
        self.powers = b ** np.arange(spec.k - 1, -1, -1, dtype=np.int64)
        # for DNA any non-ACGT letter makes the ambiguous N-mer; for protein an unknown one is [UNK]
        self.bad_id = vocab.get(alpha.unknown * spec.k, UNK_ID) if _has_ambiguity(alpha) else UNK_ID

    def encode(self, raw: bytes, specials: bool) -> np.ndarray:
        if self.kind == "char" or len(raw) < self.k:
            return self._letters(raw, specials)
        codes = np.frombuffer(raw, dtype=np.uint8)
        n, k, s = len(codes), self.k, self.stride
        digits = self.digit[codes]
        starts = np.arange(0, n - k + 1, s)
        bad = np.concatenate(([0], np.cumsum(digits >= self.base)))
        is_bad = bad[starts + k] > bad[starts]
        index = np.zeros(len(starts), dtype=np.int64)
        for j in range(k):
            index += np.minimum(digits[starts + j], self.base - 1) * self.powers[j]
        ids = np.where(is_bad, self.bad_id, index + self.first_kmer)
        tail = self.letter[codes[starts[-1] + k:]]  # letters the stride leaves, one token each
        parts = ([[CLS_ID]] if specials else []) + [ids, tail] + ([[SEP_ID]] if specials else [])
        return np.concatenate(parts).astype(np.int32)

    def _letters(self, raw: bytes, specials: bool) -> np.ndarray:
        """One id per letter. ``bytes.translate`` to one-byte ids, [CLS] and [SEP] joined on as
        bytes, then one widening copy to int32: about 3x faster than a numpy gather, and few
        calls per sequence, which is what counts for short ones."""
        if self.letter_bytes is None:  # ids past 255 (letters after the k-mers of a big vocabulary)
            ids = self.letter[np.frombuffer(raw, dtype=np.uint8)]
            return np.concatenate(([CLS_ID], ids, [SEP_ID])).astype(np.int32) if specials else ids
        ids = raw.translate(self.letter_bytes)
        if not specials or len(ids) < 65536:  # short: fewest calls; long: fewest copies
            return np.frombuffer(_CLS_SEP[0] + ids + _CLS_SEP[1] if specials else ids, np.uint8).astype(np.int32)
        out = np.empty(len(ids) + 2, dtype=np.int32)
        out[0], out[-1] = CLS_ID, SEP_ID
        out[1:-1] = np.frombuffer(ids, np.uint8)
        return out


_CLS_SEP = (bytes([CLS_ID]), bytes([SEP_ID]))


def encode_batch(tokenizer: SequenceTokenizer, seqs: Sequence[str]) -> list[np.ndarray]:
    """`SequenceTokenizer.encode` over many sequences."""
    return [tokenizer.encode(s) for s in seqs]
