"""What a count table knows of the held-out letters a pretrained model is scored on.

    python benchmarks/context_table.py models/genobert-dna runs/recipe-dna/small ... [--context 0,1,2,3,4,5,6]

For each ``c``, the middle letter given the ``c`` letters on either side, counted over the
pretraining corpus's training part and scored on its held-out part: the very split `pretrain`
made (the model's corpus files, cleaned of every test set as `release.py` cleans them, its
holdout share and seed, the training stretches that overlap it cut out). ``c = 0`` is the
letter frequencies. The counts are add-1/2 smoothed.
Beside them, each model's own held-out bits per letter from its ``genobert.json`` (15 % of 256
fixed windows masked; the table scores every held-out letter with ``c`` neighbours on each side).
If a small ``c`` matches the model, the model learned short-range composition and nothing a
k-mer baseline lacks. A large ``c`` that beats it means held-out letters recur in the training
part (repeats, or overlapping records: a duplicate a count table remembers); ``--by-file`` says
in which corpus file. Char-tokenized DNA or protein models only.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))


def symbols(store, tok, alphabet: str) -> tuple[np.ndarray, int]:
    """Each token of the store as a letter index, the alphabet's common letters first; every other
    token (rare codes, unknown) is one shared 'other' symbol, the last. Returns (symbols, letters)."""
    common = "ACGT" if alphabet == "dna" else "ACDEFGHIKLMNPQRSTVWY"
    lut = np.full(len(tok), len(common), np.int8)
    for i, letter in enumerate(common):
        lut[tok.hf.convert_tokens_to_ids(letter)] = i
    return lut[np.asarray(store.tokens)], len(common)


def usable(length: int, segments: tuple[np.ndarray, np.ndarray], c: int) -> np.ndarray:
    """Positions with ``c`` letters of the same segment on either side: the middles of the runs of
    ``2c + 1`` that `starts_within` finds."""
    from genobert.data import starts_within

    middle = np.zeros(length, bool)
    begins = starts_within(length, segments, 2 * c + 1)
    middle[c:c + len(begins)] = begins
    return middle


class CountTable:
    """The add-1/2 count table of the middle letter given ``c`` letters a side, counted at the
    ``train`` positions; `bits` scores other positions of the same symbols."""

    def __init__(self, sym: np.ndarray, letters: int, train: np.ndarray, c: int):
        self.sym, self.letters, self.base = sym, letters, letters + 1
        if self.base ** (2 * c + 1) >= 2 ** 63:
            sys.exit(f"context_table.py: {c} letters a side of a {self.base}-symbol alphabet overflow a 64-bit key")
        key = np.zeros(len(sym), np.int64)
        for offset in [o for o in range(-c, c + 1) if o]:
            key *= self.base
            key += np.roll(sym, -offset)  # the wrap-around positions are never usable
        self.key = key * self.base + sym
        self.seen, self.counts = np.unique(self.key[train & (sym < letters)], return_counts=True)
        self.contexts, first = np.unique(self.seen // self.base, return_index=True)  # seen is sorted
        self.totals = np.add.reduceat(self.counts, first) if len(first) else first

    def bits(self, held: np.ndarray) -> float:
        """Mean bits per letter at the ``held`` positions (those holding a common letter)."""
        q = self.key[held & (self.sym < self.letters)]
        if not len(q) or not len(self.seen):
            return float("nan")
        i = np.clip(np.searchsorted(self.seen, q), 0, len(self.seen) - 1)
        n = np.where(self.seen[i] == q, self.counts[i], 0)
        j = np.clip(np.searchsorted(self.contexts, q // self.base), 0, len(self.contexts) - 1)
        total = np.where(self.contexts[j] == q // self.base, self.totals[j], 0)
        return float(-np.log2((n + 0.5) / (total + 0.5 * self.letters)).mean())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+", help="pretrained model directories (or released names) of one "
                   "alphabet and corpus; the first one's corpus and split are used")
    p.add_argument("--context", default="0,1,2,3,4,5,6", help="letters on each side")
    p.add_argument("--data-dir", default="../shared/data")
    p.add_argument("--by-file", action="store_true", help="one column per corpus file")
    args = p.parse_args()
    from release import CORPORA, test_sequences

    from genobert.data import prepare_corpus, pretraining_split
    from genobert.model import read_meta
    from genobert.registry import resolve
    from genobert.tokenize import load_tokenizer

    first = resolve(args.models[0])
    meta = read_meta(first)
    cfg, alphabet = meta["training"]["config"], meta["alphabet"]
    tok = load_tokenizer(first)
    if tok.spec.kind != "char":
        sys.exit(f"context_table.py: {first}: tokenizer {tok.spec}; only char models are read")
    files = meta["training"]["corpus"].get("files") or []
    if not all(os.path.isfile(f) for f in files):  # recorded relative to where it ran
        files = sorted(glob.glob(os.path.join(args.data_dir, CORPORA[alphabet], "*.gz")))
    exclude = test_sequences(args.data_dir, alphabet)[0]
    store = prepare_corpus(files, tok, alphabet=alphabet, exclude=exclude)
    train_seg, held_seg, cut = pretraining_split(store, tok, alphabet, cfg["holdout"], cfg["seed"])
    sym, letters = symbols(store, tok, alphabet)
    bounds = np.cumsum([0] + store.info["file_tokens"]) if args.by_file else np.array([0, len(sym)])
    columns = [os.path.basename(f) for f in files] if args.by_file else ["held-out bits per letter"]
    print(f"corpus: {len(files)} files of {CORPORA[alphabet]}, {len(sym):,} tokens; held out "
          f"{int(np.sum(held_seg[1] - held_seg[0])):,} (holdout {cfg['holdout']}, seed {cfg['seed']}); "
          f"{cut:,} training tokens cut as overlap with them\n")
    print(f"| letters on each side | {' | '.join(columns)} |\n|---:|{'---:|' * len(columns)}")
    position = np.arange(len(sym))
    for c in (int(x) for x in args.context.split(",")):
        table, held = CountTable(sym, letters, usable(len(sym), train_seg, c), c), usable(len(sym), held_seg, c)
        cells = []
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            part = held & (position >= lo) & (position < hi)
            cells.append(f"{table.bits(part):.4f}" + (f" ({part.sum():,})" if args.by_file else ""))
        print(f"| {c} | {' | '.join(cells)} |", flush=True)
    print("\n| model | tokens seen | held-out bits per letter (its own, 15 % masked) |\n|---|---:|---:|")
    for name in args.models:
        t = read_meta(resolve(name))["training"]
        print(f"| {name} | {t['tokens_seen']:,} | {t['heldout']['curve'][-1]['bits_per_letter']:.4f} |")


if __name__ == "__main__":
    main()
