"""Datasets and collators: corpora as random windows, MLM masking, labelled sequences as windows.

- `prepare_corpus` turns a genome or proteome into a token store prepared once (a flat memory-mapped
  ``int32`` array plus record offsets), cached under ``$GENOBERT_CACHE`` (default
  ``~/.cache/genobert``) and keyed by the input checksums and the tokenizer; identical records
  are kept once.
- `WindowDataset` samples fixed-length windows from it: sample ``i`` is a pure function of
  ``(seed, i)``, so runs, resumes and DDP ranks see the same data.
- `MLMCollator` pads and masks: 15 % of tokens, 80 % [MASK] / 10 % random / 10 % kept; for
  overlapping k-mers every token that shares a masked letter is masked (DNABERT's rule) and the
  80/10/10 choice is drawn once per such span, so the answer cannot be read off a neighbour.
  Special and pad tokens are never masked; masking is seeded per sample and vectorised.
- `windows_of` splits a long sequence into overlapping windows; `LabelledWindows` holds them with
  the index of the sequence each came from, so logits can be averaged per sequence.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass

import numpy as np
import torch

from .errors import InputError
from .io import out_of_space, file_sha256, read_records, strings_sha256
from .tokenize import CLS_ID, MASK_ID, PAD_ID, SEP_ID, SPECIAL_TOKENS, SequenceTokenizer

MAX_N_FRACTION = 0.5  # records more N than this are skipped from a corpus


def cache_dir() -> str:
    return os.environ.get("GENOBERT_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "genobert"))


@dataclass
class TokenStore:
    """All tokens of a corpus, record after record, with ``offsets[i]:offsets[i+1]`` per record."""

    tokens: np.ndarray  # (total,) int32, memory-mapped
    offsets: np.ndarray  # (records + 1,) int64
    info: dict

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)


def prepare_corpus(paths: list[str], tokenizer: SequenceTokenizer, *, alphabet: str,
                   exclude: set[str] | None = None) -> TokenStore:
    """Tokenize corpus files once (cached); skip records that are mostly N, and cut out what
    overlaps ``exclude`` (test sequences of a benchmark; see `genobert.decontaminate`). A cache
    entry whose files do not match its ``info.json`` (a truncated copy, a disk error) is rebuilt."""
    key = hashlib.sha256(json.dumps({  # format 5: DNA decontamination cuts whole test stretches
        "files": [file_sha256(p) for p in paths], "tokenizer": tokenizer.hf.backend_tokenizer.to_str(),
        "alphabet": alphabet, "exclude": strings_sha256(sorted(exclude or ())),
        "max_n": MAX_N_FRACTION, "format": 5}, sort_keys=True).encode()).hexdigest()[:24]
    folder = os.path.join(cache_dir(), "corpora", key)
    store = _open_store(folder)
    if store is None:
        if os.path.exists(folder):
            import shutil

            shutil.rmtree(folder, ignore_errors=True)  # damaged: rebuilt below
        _build_store(paths, tokenizer, alphabet, exclude or set(), folder)
        store = _open_store(folder)
        if store is None:
            raise InputError("the token store just written does not read back", path=folder)
    return store


def _open_store(folder: str) -> TokenStore | None:
    """The cached store in ``folder``, or None when absent or inconsistent with its info.json."""
    try:
        with open(os.path.join(folder, "info.json")) as f:
            info = json.load(f)
        tokens = np.load(os.path.join(folder, "tokens.npy"), mmap_mode="r")
        offsets = np.load(os.path.join(folder, "offsets.npy"))
    except (OSError, ValueError, EOFError):
        return None
    if (tokens.shape != (info.get("tokens"),) or len(offsets) != info.get("kept", -2) + 1
            or (len(offsets) and offsets[-1] != len(tokens))):
        return None
    return TokenStore(tokens, offsets, info)


def _build_store(paths, tokenizer, alphabet, exclude, folder) -> None:
    try:
        os.makedirs(os.path.dirname(folder), exist_ok=True)
        tmp = f"{folder}.part{os.getpid()}"
        os.makedirs(tmp, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot write the token-store cache ({e.strerror}); set GENOBERT_CACHE "
                         "to a writable folder", path=os.path.dirname(folder)) from None
    import shutil

    try:
        _write_store(paths, tokenizer, alphabet, exclude, tmp)
    except BaseException as e:  # a bad letter, Ctrl-C, a full disk: no half-built store is left
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError) and out_of_space(e):
            raise InputError("no space left for the token-store cache; free some, or set "
                             "GENOBERT_CACHE to a folder on another disk", path=os.path.dirname(folder)) from None
        raise
    try:
        os.rename(tmp, folder)  # atomic: a cache entry is complete or absent
    except OSError:  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)


def _write_store(paths, tokenizer, alphabet, exclude, tmp) -> None:
    """Tokens, offsets and info.json of the corpus into ``tmp``."""
    from .decontaminate import Contamination

    contamination = Contamination.of(exclude, alphabet) if exclude else None
    pieces, offsets = [], [0]
    records = skipped_n = dropped = letters = removed = duplicates = duplicate_letters = 0
    seen: set[bytes] = set()  # digests of the records kept so far
    file_tokens = []  # tokens each file contributed, in order (its range of the store)
    unknown = alphabet_unknown(alphabet)
    import sys

    from tqdm.auto import tqdm

    bar = tqdm(desc="genobert: token store", unit=" records", disable=not sys.stderr.isatty(),
               file=sys.stderr, leave=False)  # a one-off build that takes minutes for a genome set
    for path in paths:
        first = offsets[-1]
        for rec in read_records(path, alphabet=alphabet):
            bar.update()
            records += 1
            if unknown and rec.seq.count(unknown) > MAX_N_FRACTION * len(rec.seq):
                skipped_n += 1
                continue
            digest = hashlib.blake2b(rec.seq.encode(), digest_size=16).digest()
            if digest in seen:  # identical records are kept once: the twin of a held-out record
                duplicates += 1  # left in the training part makes the held-out loss a recall test
                duplicate_letters += len(rec.seq)  # (35 % of dm3's upstream regions are copies)
                continue
            seen.add(digest)
            letters += len(rec.seq)
            kept = contamination.clean(rec.seq) if contamination else [rec.seq]
            removed += len(rec.seq) - sum(map(len, kept))
            dropped += not kept
            for piece in kept:
                ids = tokenizer.encode(piece, add_special_tokens=False).astype(np.int32)
                pieces.append(ids)
                offsets.append(offsets[-1] + len(ids))
        file_tokens.append(offsets[-1] - first)
    bar.close()
    tokens = np.concatenate(pieces) if pieces else np.zeros(0, np.int32)
    np.save(os.path.join(tmp, "tokens.npy"), tokens)
    np.save(os.path.join(tmp, "offsets.npy"), np.asarray(offsets, dtype=np.int64))
    info = {"files": [os.fspath(p) for p in paths], "records": records, "kept": len(pieces),
            "skipped_mostly_n": skipped_n, "letters": letters,
            "duplicates": {"records": duplicates, "letters": duplicate_letters}, "file_tokens": file_tokens,
            "tokens": int(len(tokens)), "tokenizer": str(tokenizer.spec), "alphabet": alphabet,
            "decontamination": None if contamination is None else {
                "test_sequences": len(exclude), "k": contamination.k,
                "rule": ("the stretch a test sequence covers where the record shares a k-mer with it "
                         "(either strand) cut out"
                         if alphabet in ("dna", "rna") else
                         "records sharing a k-letter substring with a test protein dropped"),
                "records_dropped": dropped, "letters_removed": removed,
                "letters_removed_fraction": removed / max(letters, 1)}}
    with open(os.path.join(tmp, "info.json"), "w") as f:
        json.dump(info, f, indent=2)


def alphabet_unknown(alphabet: str) -> str:
    return "N" if alphabet in ("dna", "rna") else ""


HOLDOUT_BLOCK = 4096  # tokens: longer records are cut into blocks of this size to hold some out


def holdout_split(store: TokenStore, fraction: float, seed: int) -> tuple[tuple, tuple]:
    """Train and held-out ``(starts, ends)`` token segments of a store.

    A record of up to ``HOLDOUT_BLOCK`` tokens (a protein) is one unit, a longer one (a chromosome)
    is cut into blocks; a seeded ``fraction`` of the units is held out (at least one when
    ``fraction > 0`` and there are two, and never all of them). Neighbouring training units of a record are joined again,
    so no training window crosses a held-out unit and no letter is in both."""
    lengths = store.lengths
    if not len(lengths):
        empty = np.zeros(0, np.int64)
        return (empty, empty), (empty, empty)
    blocks = np.maximum(1, -(-lengths // HOLDOUT_BLOCK))
    record = np.repeat(np.arange(len(lengths)), blocks)
    first = np.concatenate(([0], np.cumsum(blocks)[:-1]))
    j = np.arange(len(record)) - np.repeat(first, blocks)
    starts = store.offsets[record] + j * HOLDOUT_BLOCK
    ends = np.minimum(starts + HOLDOUT_BLOCK, store.offsets[record + 1])
    held = np.random.default_rng([seed, 7919]).random(len(record)) < fraction
    if fraction > 0 and not held.any() and len(record) > 1:
        held[np.random.default_rng([seed, 7919]).integers(len(record))] = True
    if held.all():  # a small corpus: keep one unit to train on (one record: nothing held out)
        held[np.random.default_rng([seed, 7919]).integers(len(record))] = False
    train = ~held
    new = train & ~np.concatenate(([False], train[:-1] & (record[1:] == record[:-1])))
    group = np.cumsum(new)[train] - 1
    t_starts = starts[train][np.concatenate(([True], np.diff(group) > 0))] if train.any() else starts[:0]
    t_ends = np.zeros(len(t_starts), np.int64)
    np.maximum.at(t_ends, group, ends[train])
    return (t_starts, t_ends), (starts[held], ends[held])


OVERLAP_K = 32  # tokens: a training stretch sharing this many with a held-out one is a copy of it
REPEAT_COUNT = 16  # a run found more often in the corpus is a repeat (poly-A, satellites), not a
# copy of one record: cutting it would empty a periodic corpus, and it is the genome's own


def pretraining_split(store: TokenStore, tokenizer: SequenceTokenizer, alphabet: str, fraction: float,
                      seed: int) -> tuple[tuple, tuple, int]:
    """`holdout_split`, then every training stretch sharing an ``OVERLAP_K``-token run with the
    held-out part (either strand, for letter-tokenized DNA) cut out of training: records that
    overlap (neighbouring upstream regions, one genome sampled by two files) are no test of each
    other. Returns the train and held-out segments and the number of training tokens cut.

    The runs are of tokens: with k-mer or BPE tokens a copy is caught only in the same reading
    frame and on the same strand. With overlapping k-mers, training tokens beside a held-out
    block are trimmed too (`_trim_edges`), so that none spells a held-out letter."""
    train, held = holdout_split(store, fraction, seed)
    if not len(held[0]):
        return train, held, 0
    spec, trimmed = tokenizer.spec, 0
    if spec.kind == "kmer" and spec.k > spec.stride:  # a token covers k letters from its start
        before = int((train[1] - train[0]).sum())
        train = _trim_edges(train, held, -(-(spec.k - 1) // spec.stride))
        trimmed = before - int((train[1] - train[0]).sum())
    complement = (_complement_ids(tokenizer) if alphabet in ("dna", "rna") and tokenizer.spec.kind == "char"
                  else None)
    train, held, cut = cut_overlap(store, train, held, OVERLAP_K, complement)
    return train, held, cut + trimmed


def _trim_edges(train: tuple, held: tuple, n: int) -> tuple:
    """``train`` less ``n`` tokens at each end that touches a held-out segment: with overlapping
    k-mers the last training tokens before a held-out block spell its first k - 1 letters (and the
    held-out block's last tokens the letters after it)."""
    starts, ends = train
    ends = np.where(np.isin(ends, held[0]), ends - n, ends)
    starts = np.where(np.isin(starts, held[1]), starts + n, starts)
    keep = ends > starts
    return starts[keep], ends[keep]


def _complement_ids(tokenizer: SequenceTokenizer) -> np.ndarray:
    """Token id -> the id of its complement letter (A<->T, C<->G; every other id to itself)."""
    ids = np.arange(len(tokenizer), dtype=np.int64)
    for a, b in ("AT", "TA", "CG", "GC"):
        ids[tokenizer.hf.convert_tokens_to_ids(a)] = tokenizer.hf.convert_tokens_to_ids(b)
    return ids


def _kmer_hashes(tokens: np.ndarray, k: int) -> np.ndarray:
    """A 64-bit polynomial hash of the ``k`` tokens from each position (``len - k + 1`` of them)."""
    t = tokens.astype(np.uint64)
    n = len(t) - k + 1
    h = np.zeros(max(n, 0), np.uint64)
    for j in range(k if n > 0 else 0):
        h = h * np.uint64(1_000_003) + t[j:j + n]  # wraps modulo 2**64, as a hash may
    return h


def starts_within(length: int, segments: tuple[np.ndarray, np.ndarray], k: int) -> np.ndarray:
    """Positions where ``k`` tokens of one segment begin."""
    mark = np.zeros(length + 1, np.int64)
    starts, ends = segments
    ok = ends - starts >= k
    np.add.at(mark, starts[ok], 1)
    np.add.at(mark, ends[ok] - k + 1, -1)
    return np.cumsum(mark[:-1])[: max(length - k + 1, 0)] > 0


def cut_overlap(store: TokenStore, train: tuple, held: tuple, k: int,
                complement: np.ndarray | None = None) -> tuple[tuple, tuple, int]:
    """``train`` less every stretch covered by a ``k``-token run that also occurs in ``held``
    (or, with a ``complement`` id map, whose reverse complement does), unless the run occurs more
    than ``REPEAT_COUNT`` times in the store; ``held`` unchanged."""
    tokens = np.asarray(store.tokens)
    n = len(tokens)
    hashes = _kmer_hashes(tokens, k)
    in_held = starts_within(n, held, k)
    known = [hashes[in_held]]
    if complement is not None:  # the run at i, read on the other strand, starts at n - k - i backwards
        reverse = _kmer_hashes(complement[tokens[::-1]], k)
        known.append(reverse[::-1][in_held])
    known = np.unique(np.concatenate(known))
    if len(known):  # then `runs` is not empty either: the held-out runs are among them
        runs, counts = np.unique(hashes, return_counts=True)
        i = np.minimum(np.searchsorted(runs, known), len(runs) - 1)
        known = known[(runs[i] != known) | (counts[i] <= REPEAT_COUNT)]
    hit = starts_within(n, train, k)
    hit[hit] = np.isin(hashes[hit], known)
    cover = np.zeros(n + 1, np.int64)
    where = np.flatnonzero(hit)
    np.add.at(cover, where, 1)
    np.add.at(cover, where + k, -1)
    covered = np.cumsum(cover[:-1]) > 0
    keep = starts_within(n, train, 1)  # the training positions
    first = np.zeros(n + 1, bool)  # a training segment begins here: runs never cross one
    first[train[0][train[1] > train[0]]] = True
    cut = int((keep & covered).sum())
    keep &= ~covered
    before = np.concatenate(([False], keep[:-1]))
    after = np.concatenate((keep[1:], [False]))
    starts = np.flatnonzero(keep & (~before | first[:-1]))
    ends = np.flatnonzero(keep & (~after | first[1:])) + 1
    return (starts, ends), held, cut


class WindowDataset(torch.utils.data.Dataset):
    """``num_samples`` windows of at most ``seq_len`` tokens (specials included) from a TokenStore.

    A segment (a record, or what `holdout_split` gives) is drawn with probability proportional to
    its length, then a uniform start inside it; segments shorter than the window are taken whole
    (a whole protein), longer ones cropped. Sample ``i`` is numbered ``first_sample + i`` (its
    window and its masking are seeded by that number), so a held-out set drawn with another
    ``first_sample`` never repeats the training samples' draws.
    """

    def __init__(self, store: TokenStore, *, seq_len: int, num_samples: int, seed: int = 0,
                 segments: tuple[np.ndarray, np.ndarray] | None = None, first_sample: int = 0):
        starts, ends = segments if segments is not None else (store.offsets[:-1], store.offsets[1:])
        keep = ends > starts
        if not keep.any():
            raise InputError("the corpus holds no tokens (every record empty, mostly N or removed "
                             "as test overlap)")
        self.store, self.body, self.num_samples, self.seed = store, seq_len - 2, num_samples, seed
        self.starts, self.ends, self.first_sample = starts[keep], ends[keep], first_sample
        lengths = self.ends - self.starts
        self.tokens = int(lengths.sum())  # what one pass over these segments reads
        weights = lengths.astype(np.float64) / lengths.sum()
        self.cum = np.cumsum(weights)
        # expected tokens per sample (for throughput): segments shorter than the window come whole
        self.mean_length = float(np.sum(weights * np.minimum(lengths + 2, seq_len)))

    def __len__(self) -> int:
        return self.num_samples

    def __getitem__(self, i: int) -> dict:
        if not 0 <= i < self.num_samples:  # iteration by index stops here
            raise IndexError(f"sample {i} of {self.num_samples}")
        sample = self.first_sample + i
        rng = np.random.default_rng([self.seed, sample])
        r = min(np.searchsorted(self.cum, rng.random()), len(self.starts) - 1)
        start, end = self.starts[r], self.ends[r]
        if end - start > self.body:
            start += rng.integers(0, end - start - self.body + 1)
            end = start + self.body
        ids = np.concatenate(([CLS_ID], self.store.tokens[start:end], [SEP_ID]))
        return {"input_ids": ids, "sample": sample}


@dataclass
class MLMCollator:
    """Pads a list of samples and masks them (see the module docstring).

    ``k`` and ``stride`` describe how tokens cover letters (1, 1 for char and BPE); a token is
    masked when any letter it covers is picked, and letters are picked at the rate that makes
    ``rate`` of the tokens masked.
    """

    vocab_size: int  # real tokens (random replacements are drawn among the non-special ones)
    rate: float = 0.15
    k: int = 1
    stride: int = 1
    seed: int = 0

    def __call__(self, samples: list[dict]) -> dict:
        ids, attention = pad([s["input_ids"] for s in samples])
        labels = torch.full_like(ids, -100)
        inputs = ids.clone()
        for row, s in enumerate(samples):
            n = int(attention[row].sum()) - 2  # tokens between [CLS] and [SEP]
            gen = torch.Generator().manual_seed(hash_seed(self.seed, s["sample"]))
            chosen = self.choose(n, gen)
            pos = torch.nonzero(chosen).flatten() + 1
            labels[row, pos] = ids[row, pos]
            action = self.actions(chosen, gen)
            inputs[row, pos[action < 0.8]] = MASK_ID
            rand_pos = pos[(action >= 0.8) & (action < 0.9)]
            inputs[row, rand_pos] = torch.randint(len(SPECIAL_TOKENS), self.vocab_size,
                                                  (len(rand_pos),), generator=gen)
        return {"input_ids": inputs, "attention_mask": attention, "labels": labels}

    def actions(self, chosen: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """A uniform draw per chosen token deciding [MASK] (< 0.8), random (< 0.9) or kept.

        With overlapping k-mers the draw is made once per span (a run of chosen tokens: those
        covering a picked letter) and shared by its tokens: a kept token inside a span of [MASK]s
        would spell out the hidden letter."""
        if self.k == 1 or self.stride >= self.k:
            return torch.rand(int(chosen.sum()), generator=gen)
        starts = chosen & ~torch.cat((torch.zeros(1, dtype=torch.bool), chosen[:-1]))
        span = torch.cumsum(starts, 0)[chosen] - 1  # span index of each chosen token
        return torch.rand(int(starts.sum()), generator=gen)[span]

    def choose(self, n: int, gen: torch.Generator) -> torch.Tensor:
        """Which of ``n`` tokens to predict: a bool tensor (n,)."""
        if n <= 0:
            return torch.zeros(0, dtype=torch.bool)
        if self.k == 1 or self.stride >= self.k:
            return torch.rand(n, generator=gen) < self.rate
        # letters picked at rate q so that a token covering k of them is masked with prob `rate`
        q = 1 - (1 - self.rate) ** (1 / self.k)
        letters = (n - 1) * self.stride + self.k
        picked = torch.rand(letters, generator=gen) < q
        cum = torch.cat((torch.zeros(1, dtype=torch.int64), picked.cumsum(0)))
        starts = torch.arange(n) * self.stride
        return cum[starts + self.k] > cum[starts]


def hash_seed(*parts: int) -> int:
    """A 63-bit seed from integers (stable across runs and processes, unlike `hash`)."""
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "little") >> 1


def pad(seqs: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad to the longest: ``(ids, attention_mask)``, both (B, T) int64."""
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), PAD_ID, dtype=torch.int64)
    attention = torch.zeros((len(seqs), width), dtype=torch.int64)
    for row, s in enumerate(seqs):
        ids[row, : len(s)] = torch.as_tensor(np.asarray(s, dtype=np.int64))
        attention[row, : len(s)] = 1
    return ids, attention


# --------------------------------------------------------------------------- labelled sequences


def window_starts(n: int, max_len: int) -> list[int]:
    """Starts of the windows of ``max_len - 2`` tokens that cover ``n`` tokens.

    A sequence that fits is one window. A longer one is cut into windows that overlap by half,
    the last one ending at the sequence's end.
    """
    body = max_len - 2
    if n <= body:
        return [0]
    step = max(body // 2, 1)
    return list(range(0, n - body, step)) + [n - body]


def windows_of(ids: np.ndarray, max_len: int) -> list[np.ndarray]:
    """Token ids (no specials) as windows of at most ``max_len`` tokens with [CLS] and [SEP]."""
    body = max_len - 2
    return [np.concatenate(([CLS_ID], ids[s: s + body], [SEP_ID])) for s in window_starts(len(ids), max_len)]


def token_budget_batches(lengths: np.ndarray, budget: int) -> list[np.ndarray]:
    """Indices grouped into batches of similar length whose padded size stays within ``budget``
    tokens (ESM's ``toks_per_batch``); a window longer than the budget gets a batch of its own."""
    order = np.argsort(lengths, kind="stable")
    batches, current, width = [], [], 0
    for i in order:
        w = max(width, int(lengths[i]))
        if current and w * (len(current) + 1) > budget:
            batches.append(np.asarray(current))
            current, w = [], int(lengths[i])
        current.append(i)
        width = w
    if current:
        batches.append(np.asarray(current))
    return batches


class LabelledWindows(torch.utils.data.Dataset):
    """Labelled sequences as windows; ``seq_index[j]`` is the sequence window ``j`` came from."""

    def __init__(self, seqs: list[str], labels: list[int], tokenizer: SequenceTokenizer, max_len: int):
        self.windows, self.labels, self.seq_index = [], [], []
        for i, (seq, label) in enumerate(zip(seqs, labels, strict=True)):
            for w in windows_of(tokenizer.encode(seq, add_special_tokens=False), max_len):
                self.windows.append(w)
                self.labels.append(label)
                self.seq_index.append(i)
        self.seq_index = np.asarray(self.seq_index)
        self.num_sequences = len(seqs)

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, j: int) -> dict:
        return {"input_ids": self.windows[j], "labels": self.labels[j]}


def average_windows(logits: np.ndarray, seq_index: np.ndarray, num_sequences: int) -> np.ndarray:
    """Mean of the window logits of each sequence: (num_sequences, classes)."""
    sums = np.zeros((num_sequences, logits.shape[1]), dtype=np.float64)
    np.add.at(sums, seq_index, logits)
    counts = np.bincount(seq_index, minlength=num_sequences)[:, None]
    return sums / counts
