"""FASTA -> token ids: genobert's reader + vectorised encode vs `Bio.SeqIO.parse` + the Hugging
Face tokenizer called per record (what a user would otherwise write).

    python benchmarks/read_tokenize.py [--mb 40] [--repeat 3] [--genobert-only] [--files ALPHABET:PATH ...]

--genobert-only skips the slow path: with PYTHONPATH pointing at another checkout it measures that
checkout's code on the same files (the header names the genobert directory it ran). --files
measures given FASTA files (e.g. dna:genome.fa.gz) instead of the simulated ones.

Simulated, seeded files: DNA (8 chromosome-sized records, 60-letter lines) and protein (records
of 50-1000 aa), plain and gzipped. Throughput is MB of FASTA file (uncompressed bytes) per second
of wall time on one process, best of --repeat. Last line: the smallest ratio.
"""

from __future__ import annotations

import argparse
import gzip
import os
import tempfile
import time

import numpy as np
from host import cpu_name


def write_fasta(path: str, alphabet: str, mb: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"ACGT" if alphabet == "dna" else b"ACDEFGHIKLMNPQRSTVWY", np.uint8)
    target = int(mb * 2**20)
    opener = gzip.open if path.endswith(".gz") else open
    written, i = 0, 0
    with opener(path, "wb") as f:
        while written < target:
            n = target // 8 if alphabet == "dna" else int(rng.integers(50, 1000))
            seq = letters[rng.integers(0, len(letters), n)].tobytes()
            body = b"\n".join(seq[j: j + 60] for j in range(0, n, 60))
            rec = b">rec%d simulated\n%s\n" % (i, body)
            f.write(rec)
            written += len(rec)
            i += 1


def genobert_path(path: str, tok, alphabet: str) -> int:
    from genobert.io import read_records

    return sum(len(tok.encode(rec.seq)) for rec in read_records(path, alphabet=alphabet))


def naive_path(path: str, tok, alphabet: str) -> int:
    from Bio import SeqIO

    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as handle:
        return sum(len(tok.hf(str(rec.seq))["input_ids"]) for rec in SeqIO.parse(handle, "fasta"))


def best(fn, *args, repeat: int) -> tuple[float, int]:
    times, out = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn(*args)
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=40)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--genobert-only", action="store_true", help="skip the SeqIO + tokenizer path")
    ap.add_argument("--files", nargs="+", metavar="ALPHABET:PATH", help="real FASTA files instead")
    args = ap.parse_args()
    from genobert.tokenize import build_tokenizer

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.files:
            cases = [tuple(spec.split(":", 1)) for spec in args.files]
        else:
            cases = [(alphabet, os.path.join(tmp, alphabet + suffix))
                     for alphabet in ("dna", "protein") for suffix in (".fa", ".fa.gz")]
            for alphabet, path in cases:
                write_fasta(path, alphabet, args.mb, seed=1)
        for alphabet, path in cases:
            tok = build_tokenizer("char", alphabet)
            size = _plain_mb(path) if path.endswith(".gz") else os.path.getsize(path) / 2**20
            name = os.path.basename(path) if args.files else path[path.index("."):]
            t_fast, n_fast = best(genobert_path, path, tok, alphabet, repeat=args.repeat)
            if args.genobert_only:
                rows.append((alphabet, name, size, size / t_fast, float("nan"), float("nan")))
                continue
            t_slow, n_slow = best(naive_path, path, tok, alphabet, repeat=1)
            assert n_fast == n_slow, (n_fast, n_slow)  # the same number of tokens
            rows.append((alphabet, name, size, size / t_fast, size / t_slow, t_slow / t_fast))
    import Bio
    import tokenizers

    import genobert

    sizes = "given files" if args.files else f"{args.mb:g} MB per simulated file"
    print(f"# read + tokenize (char), {cpu_name()}, one process; "
          f"biopython {Bio.__version__}, tokenizers {tokenizers.__version__}; {sizes}; "
          f"genobert from {os.path.dirname(os.path.dirname(genobert.__file__))}; {time.strftime('%Y-%m-%d')}")
    print("| alphabet | file | MB (uncompressed) | genobert MB/s | SeqIO + HF tokenizer MB/s | ratio |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for alphabet, name, size, fast, slow, ratio in rows:
        print(f"| {alphabet} | {name} | {size:,.1f} | {fast:,.0f} | {slow:,.1f} | {ratio:,.1f}x |")
    print(f"smallest ratio: {min(r[5] for r in rows):.1f}x")


def _plain_mb(path: str) -> float:
    with gzip.open(path, "rb") as f:
        return sum(len(chunk) for chunk in iter(lambda: f.read(1 << 20), b"")) / 2**20


if __name__ == "__main__":
    main()
