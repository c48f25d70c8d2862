"""genobert: BERT for biological sequences.

    import genobert as gb
    for rec in gb.read_records("genome.fa.gz", alphabet="dna"): ...
    tok = gb.build_tokenizer("kmer:6", alphabet="dna")
    ids = tok.encode("ACGTACGTAC")
    pre = gb.pretrain(["genome.fa.gz"], out="runs/pre", tokenizer="char", preset="small")
    clf = gb.finetune("train.tsv", out="runs/ft", test="test.tsv", init=pre)

Heavy modules (transformers) load on first use, so `import genobert` and the CLI start fast.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_API = {
    "InputError": "errors",
    "Alphabet": "alphabets", "Cleaner": "alphabets", "get_alphabet": "alphabets",
    "DNA": "alphabets", "RNA": "alphabets", "PROTEIN": "alphabets",
    "Record": "io", "read_records": "io", "read_many": "io", "atomic_output": "io",
    "build_tokenizer": "tokenize", "load_tokenizer": "tokenize", "SequenceTokenizer": "tokenize",
    "TokenizerSpec": "tokenize",
    "inspect_file": "stats", "FileStats": "stats",
    "pretrain": "train", "finetune": "train", "PretrainConfig": "train", "FinetuneConfig": "train",
    "PRESETS": "model", "load_model": "model",
    "classify": "infer", "evaluate": "infer", "embed": "infer", "embed_arrays": "infer", "Prediction": "infer",
    "write_classification": "infer", "write_embeddings": "infer",
}
__all__ = sorted(_API)


def __getattr__(name: str):
    if name in _API:
        return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    raise AttributeError(f"module 'genobert' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
