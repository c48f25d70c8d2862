"""A bounded fuzz run of the readers and tokenizers: mutated and random inputs, counted outcomes.

    python benchmarks/fuzz.py [--cases 20000] [--seed 0]

Seeds are the bad-input corpus of tests/test_reliability.py (every malformed and unusual file);
each case flips, inserts, deletes or truncates bytes of one of them (or is random bytes), is read
with `read_records` as DNA and as protein, and every record read is encoded by the char and k-mer
tokenizers. The only exception allowed out is `InputError`, with a one-line message that starts
with the file's name. Prints the outcome counts; the last line is the number of escapes (0 to pass).
The test suite runs the same properties with hypothesis on fewer cases.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
import traceback

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    out = bytearray(data)
    for _ in range(int(rng.integers(1, 5))):
        op, i = rng.integers(0, 4), int(rng.integers(0, len(out) + 1))
        if op == 0 and out:
            out[i % len(out)] = int(rng.integers(0, 256))
        elif op == 1:
            out[i:i] = bytes(rng.integers(0, 256, int(rng.integers(1, 4)), dtype=np.uint8))
        elif op == 2:
            del out[i:i + int(rng.integers(1, 8))]
        else:
            del out[i:]
    return bytes(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    from test_reliability import MALFORMED, REFUSED, UNUSUAL

    from genobert.errors import InputError
    from genobert.io import read_records
    from genobert.tokenize import build_tokenizer

    seeds = [c[1] for c in MALFORMED + REFUSED + UNUSUAL if len(c[1]) < 20_000]
    tokenizers = [build_tokenizer(s, a) for s in ("char", "kmer:3") for a in ("dna", "protein")]
    rng = np.random.default_rng(args.seed)
    counts: collections.Counter = collections.Counter()
    escapes = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "case")
        for n in range(args.cases):
            data = (bytes(rng.integers(0, 256, int(rng.integers(0, 300)), dtype=np.uint8))
                    if n % 10 == 0 else mutate(seeds[int(rng.integers(len(seeds)))], rng))
            with open(path, "wb") as f:
                f.write(data)
            for alphabet in ("dna", "protein"):
                try:
                    records = list(read_records(path, alphabet=alphabet))
                    for tok in tokenizers:
                        if tok.alphabet == alphabet:
                            for rec in records:
                                tok.encode(rec.seq)
                    counts["read"] += 1
                except InputError as e:
                    ok = str(e).startswith(path) and "\n" not in str(e)
                    counts["InputError" if ok else "InputError, badly formed"] += 1
                    if not ok:
                        escapes.append((data, repr(e)))
                except Exception:  # noqa: BLE001 - what the fuzz run is looking for
                    counts["escaped"] += 1
                    escapes.append((data, traceback.format_exc(limit=3)))
    seconds = time.perf_counter() - start
    print(f"# fuzz: {args.cases:,} inputs x 2 alphabets, seed {args.seed}, {seconds:.0f} s, "
          f"{time.strftime('%Y-%m-%d')}")
    for outcome, count in sorted(counts.items()):
        print(f"| {outcome} | {count:,} |")
    for data, err in escapes[:5]:
        print(f"escaped on {data[:80]!r}: {err}")
    print(f"escapes: {len(escapes)}")


if __name__ == "__main__":
    main()
