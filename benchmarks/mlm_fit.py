"""How well a pretrained model predicts the sequences of a task: masked-language-model loss in bits
per letter on each file, beside the file's own letter entropy (what a model that ignores context
scores; uniform letters would score 2 bits for DNA, log2(20) = 4.32 for proteins).

    python benchmarks/mlm_fit.py genobert-dna ../shared/data/dna_promoter_cnnprom_umarov2017/bsubtilis_train.tsv ...

A model that learned the sequences of its corpus scores well below the entropy on held-out parts
of that corpus (the released models' curves in docs/PRETRAINING.md); on a task whose sequences come
from organisms the corpus lacks, a score near the entropy says pretraining put little there for
fine-tuning to use. Masking is genobert's MLM collator (the model's mask rate, 80/10/10, seed 0);
each sequence is one window (a longer record: consecutive windows; windows of only N are left
out), the first ``--limit`` of a file.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections import Counter
from itertools import islice

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


def load(model_dir: str):
    """The model's MLM (masked positions only), tokenizer, collator (its mask rate, seed 0) and meta."""
    from genobert.data import MLMCollator
    from genobert.mlm import MaskedHeadBertForMaskedLM
    from genobert.model import read_meta
    from genobert.tokenize import load_tokenizer

    meta = read_meta(model_dir)
    tok = load_tokenizer(model_dir)
    if tok.spec.kind != "char":
        raise SystemExit(f"{model_dir}: bits per letter here assume one letter per token (char); "
                         f"this model's tokenizer is {tok.spec.kind}")
    model = MaskedHeadBertForMaskedLM.from_pretrained(model_dir, use_safetensors=True).eval()
    collate = MLMCollator(vocab_size=len(tok), rate=meta["training"]["config"]["mask_rate"], seed=0)
    return model, tok, collate, meta


def mlm_bits(model, tok, collate, body: int, sequences: list[str], *, batch: int = 64) -> tuple[float, int]:
    """Mean MLM loss over the masked letters of ``sequences`` (each cut to ``body`` letters), in
    bits, and how many were masked."""
    import numpy as np
    import torch

    from genobert.tokenize import CLS_ID, SEP_ID
    from genobert.train import bits_per_letter

    total, count = 0.0, 0
    with torch.inference_mode():
        for i in range(0, len(sequences), batch):
            samples = [{"input_ids": np.concatenate(([CLS_ID], tok.encode(s, False)[:body], [SEP_ID])),
                        "sample": i + j}
                       for j, s in enumerate(sequences[i:i + batch])]
            b = collate(samples)
            n = int((b["labels"] != -100).sum())
            if n:
                total += float(model(**b).loss) * n
                count += n
    return bits_per_letter(total / max(count, 1), 1.0), count


def entropy_bits(sequences: list[str]) -> float:
    """The letters' entropy in the file (no context), in bits."""
    counts = Counter("".join(sequences))
    n = sum(counts.values())
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="a model directory or a released model's name")
    p.add_argument("files", nargs="+", help="labelled TSVs (a 'sequence' column) or FASTA files")
    p.add_argument("--limit", type=int, default=2000, help="sequences per file, the first ones (default 2000)")
    args = p.parse_args(argv)
    import torch

    import transformers

    from genobert.io import read_records
    from genobert.registry import resolve

    torch.set_num_threads(1)
    transformers.logging.disable_progress_bar()
    model, tok, collate, meta = load(resolve(args.model))
    body = meta["window"] - 2  # a long record (a chromosome) as consecutive windows
    print(f"model {args.model}; bits per masked letter (MLM loss / ln 2); entropy: the file's letter "
          "frequencies without context\n")
    print("| file | sequences | masked letters | MLM bits/letter | entropy bits/letter |")
    print("|---|---:|---:|---:|---:|")
    for path in args.files:
        pieces = (r.seq[i:i + body] for r in read_records(path, alphabet=meta["alphabet"], on_invalid="skip")
                  for i in range(0, len(r.seq), body))
        seqs = list(islice((s for s in pieces if s.strip("N")), args.limit))
        bits, n = mlm_bits(model, tok, collate, body, seqs)
        name = os.path.join(os.path.basename(os.path.dirname(path)), os.path.basename(path))
        print(f"| {name} | {len(seqs):,} | {n:,} | {bits:.3f} | {entropy_bits(seqs):.3f} |")


if __name__ == "__main__":
    main()
