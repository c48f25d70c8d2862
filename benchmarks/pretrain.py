"""Pretraining throughput: `genobert pretrain` vs a plain Hugging Face MLM run, same model and data.

    python benchmarks/pretrain.py [--presets tiny,small] [--tokenizers char,kmer:6]
                                  [--seq-len 256] [--batch-size 32] [--steps 30] [--corpus FASTA]
                                  [--alphabet dna|protein] [--compile] [--workers N]

The plain run is what a user would write from the HF docs: a genome cut into windows of
``--seq-len`` tokens, or a proteome taken one protein per example (drawn at random, truncated to
``--seq-len``), the tokenizer called on each, `DataCollatorForLanguageModeling` (15 %, 80/10/10,
padding to the longest in the batch) and `Trainer` with its defaults (random order, no bf16, no
fused AdamW), on `BertForMaskedLM` with the same config and tokenizer. genobert's run is `genobert.train.pretrain` with the same preset, windows, batch and
steps (``--compile``: with torch.compile; ``--workers``: its data-loading processes). Both count
real (non-pad) tokens per second over the steps after the first min(10, steps/5), timed by the same
Trainer callback (`genobert.train.step_clock`), so that warm-up and compilation are left out;
the two paths alternate ``--repeat`` times and the best of each is kept.

MFU counts 6·N + 12·L·s·d FLOPs per real token (N the non-embedding parameters, L layers, s the
window, d the width), against the H200's dense bf16 peak (989 TFLOP/s) on that GPU, and against a
square matmul measured in the same run (bf16 8192³ on a GPU, fp32 2048³ on a CPU): the practical
ceiling. Without ``--corpus``, a seeded random genome of ``--mb`` MB. The "real / padded" columns
are the share of batch positions that hold real tokens, for each path's own examples in its own
sampler's order (seed 0): padding is computed like real tokens but counts for nothing. Last line:
the smallest genobert / plain tokens-per-second ratio.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import torch
from host import cpu_name
from flops import flops_per_token, matmul_ceiling

H200_BF16_PEAK = 989e12


def write_genome(path: str, mb: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    seq = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, int(mb * 1e6))].tobytes()
    with open(path, "wb") as f:
        f.write(b">chr1 simulated\n" + b"\n".join(seq[i: i + 80] for i in range(0, len(seq), 80)) + b"\n")


def genobert_run(corpus: str, out: str, preset: str, tokenizer: str, args) -> tuple[float, object]:
    import json

    from transformers import AutoConfig

    from genobert.train import pretrain

    pretrain(corpus, out, preset=preset, tokenizer=tokenizer, alphabet=args.alphabet, seq_len=args.seq_len,
             max_steps=args.steps, batch_size=args.batch_size, save_steps=10**9, logging_steps=10**9,
             compile=args.compile, workers=args.workers, holdout=0, overwrite=True)  # no evals in the timing
    meta = json.load(open(os.path.join(out, "genobert.json")))
    return meta["training"]["metrics"]["tokens_per_second_steady"], AutoConfig.from_pretrained(out)


def genobert_lengths(corpus: str, tok, args) -> list[int]:
    """The lengths of the windows genobert's run drew (the same store, dataset and seed)."""
    from genobert.data import WindowDataset, prepare_corpus

    store = prepare_corpus([corpus], tok, alphabet=args.alphabet)
    windows = WindowDataset(store, seq_len=args.seq_len, num_samples=args.steps * args.batch_size, seed=0)
    return [len(windows[i]["input_ids"]) for i in range(len(windows))]


def plain_texts(corpus: str, tok, args) -> list[str]:
    """The examples a user would make: a genome cut into windows of ``--seq-len`` tokens, spread
    over it; a proteome one protein per example, drawn at random (seed 0)."""
    from genobert.io import read_records

    need = args.steps * args.batch_size
    if args.alphabet == "protein":
        proteins = [r.seq for r in read_records(corpus, alphabet="protein")]
        pick = np.random.default_rng(0).choice(len(proteins), need, replace=need > len(proteins))
        return [tok.to_text(proteins[i]) for i in pick]
    spec = tok.spec
    letters = (args.seq_len - 2 - 1) * (spec.stride if spec.kind == "kmer" else 1) + (spec.k if spec.kind == "kmer" else 1)
    genome = "".join(r.seq for r in read_records(corpus, alphabet=args.alphabet))
    step = max(1, (len(genome) - letters) // need)
    return [tok.to_text(genome[i: i + letters]) for i in range(0, step * need, step)][:need]


def plain_hf_run(texts: list[str], out: str, config, hf, args) -> tuple[float, list[int]]:
    """The documented HF recipe (no genobert code past the tokenizer, a plain
    `PreTrainedTokenizerFast`); returns real tokens/s and the examples' lengths."""
    from transformers import (BertForMaskedLM, DataCollatorForLanguageModeling, Trainer,
                              TrainingArguments)

    from genobert.train import step_clock  # timing only, the same for both paths

    encoded = [{"input_ids": ids} for ids in hf(texts, truncation=True, max_length=args.seq_len)["input_ids"]]
    collator = DataCollatorForLanguageModeling(hf, mlm_probability=0.15)
    torch.manual_seed(0)
    clock = step_clock(skip=min(10, args.steps // 5))
    trainer = Trainer(model=BertForMaskedLM(config), data_collator=collator, train_dataset=encoded,
                      args=TrainingArguments(out, per_device_train_batch_size=args.batch_size,
                                             max_steps=args.steps, report_to=[], save_strategy="no",
                                             logging_steps=10**9, disable_tqdm=True),
                      callbacks=[clock])
    trainer.train()
    lengths = [len(e["input_ids"]) for e in encoded]
    return sum(lengths) / args.steps / clock.steady_seconds_per_step, lengths


def real_share(lengths: list[int], batch: int, strategy: str) -> float:
    """Real tokens per batch position when examples of ``lengths`` are batched in the order of the
    Trainer's sampler for ``strategy`` (seed 0), each batch padded to its longest."""
    from transformers.trainer_pt_utils import LengthGroupedSampler

    gen = torch.Generator().manual_seed(0)
    if strategy == "group_by_length":
        order = list(LengthGroupedSampler(batch, lengths=list(lengths), generator=gen))
    else:
        order = torch.randperm(len(lengths), generator=gen).tolist()
    batches = np.asarray(lengths)[order][: len(order) // batch * batch].reshape(-1, batch)
    return float(batches.sum() / (batches.max(axis=1).sum() * batch))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="tiny,small")
    parser.add_argument("--tokenizers", default="char,kmer:6")
    parser.add_argument("--seq-len", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--corpus", default=None, help="a FASTA, plain or gz (default: a simulated genome)")
    parser.add_argument("--alphabet", default="dna", choices=["dna", "protein"],
                        help="the corpus's alphabet; protein needs --corpus (a proteome)")
    parser.add_argument("--mb", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each path, best kept")
    parser.add_argument("--compile", action="store_true", help="genobert's runs with torch.compile")
    parser.add_argument("--workers", type=int, default=None, help="genobert's data-loading processes")
    args = parser.parse_args()
    if args.alphabet == "protein" and not args.corpus:
        parser.error("--alphabet protein needs --corpus, a proteome FASTA")
    from transformers import BertForMaskedLM

    from genobert.tokenize import load_tokenizer
    from genobert.train import sampling_strategy

    cuda = torch.cuda.is_available()
    ceiling, ceiling_name = matmul_ceiling("cuda" if cuda else "cpu", torch.bfloat16 if cuda else torch.float32)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("GENOBERT_CACHE", os.path.join(tmp, "cache"))
        corpus = args.corpus or os.path.join(tmp, "genome.fa")
        if not args.corpus:
            write_genome(corpus, args.mb, seed=0)
        for preset in args.presets.split(","):
            for tokenizer in args.tokenizers.split(","):
                name = f"{preset}-{tokenizer.replace(':', '')}"
                fast, plain = [], []
                for r in range(args.repeat):  # alternating, so neither path gets a warmer machine
                    out = os.path.join(tmp, f"{name}-{r}")
                    tps, config = genobert_run(corpus, out, preset, tokenizer, args)
                    fast.append(tps)
                    config.architectures = None
                    tok = load_tokenizer(out)  # the same vocabulary (a trained BPE included)
                    tps, plain_lengths = plain_hf_run(plain_texts(corpus, tok, args), os.path.join(tmp, f"{name}-hf{r}"),
                                                      config, tok.hf, args)
                    plain.append(tps)
                shares = (real_share(genobert_lengths(corpus, tok, args), args.batch_size, sampling_strategy(args.alphabet)),
                          real_share(plain_lengths, args.batch_size, "random"))
                flops = flops_per_token(BertForMaskedLM(config), args.seq_len, training=True)
                rows.append((preset, tokenizer, config.vocab_size, max(fast), max(plain), flops, shares))
    device = torch.cuda.get_device_name(0) if cuda else f"{cpu_name()}, {torch.get_num_threads()} threads"
    print(f"# pretrain, {device}, torch {torch.__version__}; {args.alphabet} "
          f"{os.path.basename(args.corpus) if args.corpus else f'simulated {args.mb:g} MB'}, window "
          f"{args.seq_len}, batch {args.batch_size}, {args.steps} steps, best of {args.repeat}, "
          f"genobert{' compiled' if args.compile else ''} with workers={args.workers or 'default'}, "
          f"{time.strftime('%Y-%m-%d')}; ceiling: {ceiling_name} = "
          f"{ceiling / 1e12:.3f} TFLOP/s")
    peak = " | MFU (989 TFLOP/s)" if cuda else ""
    print(f"| preset | tokenizer | vocab | genobert tokens/s | plain HF tokens/s | ratio | genobert real / padded | "
          f"plain real / padded | genobert TFLOP/s | of ceiling{peak} |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---:" + (" | ---:" if cuda else "") + " |")
    for preset, tokenizer, vocab, fast, plain, flops, (ours, theirs) in rows:
        mfu = f" | {fast * flops / H200_BF16_PEAK:.1%}" if cuda else ""
        print(f"| {preset} | {tokenizer} | {vocab:,} | {fast:,.0f} | {plain:,.0f} | {fast / plain:.2f}x | "
              f"{ours:.1%} | {theirs:.1%} | {fast * flops / 1e12:.4f} | {fast * flops / ceiling:.1%}{mfu} |")
    print(f"smallest ratio genobert / plain HF: {min(r[3] / r[4] for r in rows):.2f}x")


if __name__ == "__main__":
    main()
