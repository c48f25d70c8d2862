"""Classification speed: `genobert classify` vs a loop over `transformers.pipeline`, same model and file.

    python benchmarks/classify.py [--reads 4000] [--min-length 100] [--max-length 300] [--preset tiny]
                                  [--precision auto|bf16|fp32] [--batch-tokens N] [--compile]

Writes simulated reads (seeded, lengths uniform in [min, max]) as FASTA and a classifier with random
weights (speed does not depend on them), then classifies the file twice in this process: with
`genobert.infer.classify` (records read in chunks, windows sorted into token-budget batches) and
with what a user would write from the HF docs, ``SeqIO.parse`` and
``pipeline("text-classification")`` called on each record. Both load the same model directory;
the script counts the reads where they pick the same label (all of them in fp32; bf16 rounding can
flip a near tie). The pipeline runs in fp32, as its docs call it. Model loading is not timed.
Each path's TFLOP/s counts 2·N + 4·L·s·d FLOPs per real token of each read (`flops.py`), set
against a square matmul in that path's precision measured in the same run: how close each is to
what the matrix units can do, and so how much any batching could still gain. ``--compile``:
genobert's model through torch.compile; its compiling is inside the timed span, so give it
enough reads to pay off.
Peak memory against input size is `benchmarks/classify_memory.py`. Last line: the speed ratio.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
from host import cpu_name
from flops import flops_per_token, matmul_ceiling


def write_reads(path: str, n: int, lo: int, hi: int, seed: int) -> list[int]:
    """Write ``n`` reads; return their lengths."""
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"ACGT", np.uint8)
    lengths = []
    with open(path, "wb") as f:
        for i in range(n):
            seq = letters[rng.integers(0, 4, int(rng.integers(lo, hi + 1)))].tobytes()
            lengths.append(len(seq))
            f.write(b">read%d\n%s\n" % (i, seq))
    return lengths


def genobert_labels(model_dir: str, reads: str, device: str, precision: str, batch_tokens: int | None,
                    compile: bool):
    from genobert.infer import Predictor, classify

    predictor = Predictor(model_dir, device=device, precision=precision, compile=compile)
    start = time.perf_counter()
    labels = [p.label for p in classify(model_dir, reads, predictor=predictor, batch_tokens=batch_tokens)]
    return labels, time.perf_counter() - start


def pipeline_labels(model_dir: str, reads: str, device: str) -> list[str]:
    from Bio import SeqIO
    from transformers import pipeline

    pipe = pipeline("text-classification", model=model_dir, tokenizer=model_dir, device=device)
    start = time.perf_counter()
    with open(reads) as handle:
        labels = [pipe(str(rec.seq), truncation=True)[0]["label"] for rec in SeqIO.parse(handle, "fasta")]
    return labels, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reads", type=int, default=4000)
    ap.add_argument("--min-length", type=int, default=100)
    ap.add_argument("--max-length", type=int, default=300)
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--precision", default="auto", help="genobert's: auto (bf16 on a GPU), bf16 or fp32")
    ap.add_argument("--batch-tokens", type=int, help="genobert's token budget per batch (default: its own)")
    ap.add_argument("--compile", action="store_true", help="genobert's model through torch.compile")
    args = ap.parse_args()
    import torch
    import transformers
    from transformers import AutoModelForSequenceClassification

    from genobert.model import default_batch_tokens
    from genobert.train import finetune

    device = "cuda" if torch.cuda.is_available() else "cpu"
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("GENOBERT_CACHE", os.path.join(tmp, "cache"))
        table = os.path.join(tmp, "t.tsv")
        rng = np.random.default_rng(0)
        with open(table, "w") as f:
            f.write("id\tsequence\tlabel\n")
            f.writelines(f"s{i}\t{''.join(rng.choice(list('ACGT'), 50))}\t{('no', 'yes')[i % 2]}\n"
                         for i in range(16))
        model = finetune(table, os.path.join(tmp, "model"), preset=args.preset, epochs=1,
                         max_len=args.max_length + 2)
        reads = os.path.join(tmp, "reads.fa")
        lengths = write_reads(reads, args.reads, args.min_length, args.max_length, seed=1)
        ours, t_ours = genobert_labels(model, reads, device, args.precision, args.batch_tokens, args.compile)
        theirs, t_theirs = pipeline_labels(model, reads, device)
        transformers.logging.disable_progress_bar()
        net = AutoModelForSequenceClassification.from_pretrained(model)
    agree = np.mean([a == b for a, b in zip(ours, theirs, strict=True)])
    tokens = sum(lengths) + 2 * args.reads  # char tokens of reads shorter than the window, [CLS], [SEP]
    flops = sum((n + 2) * flops_per_token(net, n + 2, training=False) for n in lengths)
    bf16 = args.precision == "bf16" or (args.precision == "auto" and device == "cuda")
    ceilings = {dtype: matmul_ceiling(device, dtype) for dtype in [torch.float32] + [torch.bfloat16] * bf16}
    where = torch.cuda.get_device_name(0) if device == "cuda" else f"{cpu_name()}, {torch.get_num_threads()} threads"
    print(f"# classify, {where}, torch {torch.__version__}, transformers "
          f"{transformers.__version__}; preset {args.preset}, {args.reads:,} reads of "
          f"{args.min_length}-{args.max_length} bp, genobert precision {args.precision}"
          f"{', compiled' if args.compile else ''}, "
          f"batch tokens {args.batch_tokens or default_batch_tokens(device)}, "
          f"{time.strftime('%Y-%m-%d')}")
    print("| path | precision | seconds | sequences/s | tokens/s | TFLOP/s | of the matmul in its precision |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for name, secs, dtype in (("genobert classify" + " --compile" * args.compile, t_ours, torch.bfloat16 if bf16 else torch.float32),
                              ("SeqIO + pipeline loop", t_theirs, torch.float32)):
        rate, what = ceilings[dtype]
        print(f"| {name} | {'bf16' if dtype == torch.bfloat16 else 'fp32'} | {secs:.1f} | "
              f"{args.reads / secs:,.0f} | {tokens / secs:,.0f} | {flops / secs / 1e12:.4f} | "
              f"{flops / secs / rate:.0%} of {rate / 1e12:.3f} ({what}) |")
    print(f"same label for {agree:.1%} of reads")
    print(f"ratio genobert / pipeline loop: {t_theirs / t_ours:.1f}x")


if __name__ == "__main__":
    main()
