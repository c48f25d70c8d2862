"""Peak memory of `genobert classify` for an input and one ten times larger (issue: memory flat).

    python benchmarks/classify_memory.py [--reads 20000] [--length 150] [--preset tiny] [--batch-tokens N]

Writes simulated FASTQ reads (seeded) and a classifier with random weights (memory does not depend
on the weights), runs `genobert classify` on 1x and 10x the reads, each in a fresh process, and
prints peak resident memory (ru_maxrss of that process) and throughput. Last line: the ratio.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from host import cpu_name


def write_reads(path: str, n: int, length: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    qual = "I" * length
    with open(path, "w") as f:
        for start in range(0, n, 10_000):
            block = letters[rng.integers(0, 4, size=(min(10_000, n - start), length))]
            f.writelines(f"@read{start + i}\n{row.tobytes().decode()}\n+\n{qual}\n"
                         for i, row in enumerate(block))


def peak_rss_mib(cmd: list[str]) -> tuple[float, float]:
    """Run ``cmd`` in a fresh wrapper process; (peak RSS of cmd in MiB, seconds)."""
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             "subprocess.run(sys.argv[1:], check=True, stderr=subprocess.DEVNULL); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", probe, *cmd], check=True, capture_output=True, text=True)
    kib, secs = out.stdout.split()
    return int(kib) / 1024, float(secs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reads", type=int, default=20_000)
    ap.add_argument("--length", type=int, default=150)
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--batch-tokens", type=int, help="classify's --batch-tokens (default: its own)")
    args = ap.parse_args()
    from genobert.train import finetune

    with tempfile.TemporaryDirectory() as tmp:
        table = os.path.join(tmp, "t.tsv")
        rng = np.random.default_rng(0)
        with open(table, "w") as f:
            f.write("id\tsequence\tlabel\n")
            f.writelines(f"s{i}\t{''.join(rng.choice(list('ACGT'), args.length))}\t{i % 2}\n" for i in range(16))
        os.environ.setdefault("GENOBERT_CACHE", os.path.join(tmp, "cache"))
        model = finetune(table, os.path.join(tmp, "model"), preset=args.preset, epochs=1,
                         max_len=args.length + 2)
        rows = []
        for factor in (1, 10):
            reads = os.path.join(tmp, f"reads{factor}.fq")
            write_reads(reads, args.reads * factor, args.length, seed=factor)
            out = os.path.join(tmp, f"pred{factor}.tsv")
            mib, secs = peak_rss_mib([sys.executable, "-m", "genobert", "classify", model, reads,
                                      "-o", out, "--quiet", "--device", "cpu",
                                      *(["--batch-tokens", str(args.batch_tokens)] if args.batch_tokens else [])])
            n = args.reads * factor
            rows.append((factor, n, os.path.getsize(reads) / 2**20, mib, secs, n / secs))
    import torch

    print(f"# genobert classify, peak memory; {cpu_name()}, torch {torch.__version__}, preset {args.preset}, "
          f"{args.length}-bp reads, batch tokens {args.batch_tokens or 'default'}, {time.strftime('%Y-%m-%d')}")
    print("| input | reads | FASTQ MiB | peak RSS MiB | seconds | reads/s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for factor, n, size, mib, secs, rate in rows:
        print(f"| {factor}x | {n:,} | {size:.1f} | {mib:.0f} | {secs:.1f} | {rate:,.0f} |")
    print(f"peak memory ratio 10x / 1x: {rows[1][3] / rows[0][3]:.3f}")


if __name__ == "__main__":
    main()
