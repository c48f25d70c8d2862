"""Model presets, and building, saving and loading plain Hugging Face BERT model directories.

A model directory is what ``save_pretrained`` writes (``config.json``, ``model.safetensors``,
``tokenizer.json``, tokenizer config) plus ``genobert.json``: alphabet, tokenizer spec, labels,
window settings and training provenance. `AutoModelForMaskedLM` /
`AutoModelForSequenceClassification.from_pretrained(DIR)` and `AutoTokenizer.from_pretrained(DIR)`
load it with no custom code.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass

from .errors import InputError
from .io import file_sha256
from .tokenize import META_FILE, PAD_ID, SequenceTokenizer, load_tokenizer


@dataclass(frozen=True)
class Preset:
    layers: int
    hidden: int
    heads: int
    intermediate: int
    max_positions: int  # fixed per preset, so scratch and pretrained configs are identical


PRESETS: dict[str, Preset] = {
    "tiny": Preset(layers=2, hidden=64, heads=2, intermediate=128, max_positions=512),  # tests
    "small": Preset(layers=6, hidden=384, heads=6, intermediate=1536, max_positions=1026),
    "base": Preset(layers=12, hidden=768, heads=12, intermediate=3072, max_positions=1026),
}


def padded_vocab(n: int, multiple: int = 64) -> int:
    """Embedding rows: the vocabulary rounded up to a multiple of 64 (faster matmuls on GPUs)."""
    return -(-n // multiple) * multiple


def build_config(preset: str, tokenizer: SequenceTokenizer, **extra):
    """A `BertConfig` for a preset and a tokenizer, SDPA attention."""
    from transformers import BertConfig

    if preset not in PRESETS:
        raise InputError(f"unknown preset {preset!r}; allowed: {', '.join(PRESETS)}")
    p = PRESETS[preset]
    config = BertConfig(
        vocab_size=padded_vocab(len(tokenizer)), hidden_size=p.hidden, num_hidden_layers=p.layers,
        num_attention_heads=p.heads, intermediate_size=p.intermediate,
        max_position_embeddings=p.max_positions, pad_token_id=PAD_ID, type_vocab_size=2, **extra)
    config._attn_implementation = "sdpa"
    return config


def max_tokens(config) -> int:
    """The longest input (specials included) a model takes."""
    return int(config.max_position_embeddings)


def read_meta(model_dir: str | os.PathLike) -> dict:
    """``genobert.json`` of a model directory."""
    path = os.path.join(model_dir, META_FILE)
    if not os.path.isdir(model_dir):
        raise InputError("not a directory; expected a genobert model directory", path=os.fspath(model_dir))
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise InputError(f"no {META_FILE}: not a genobert model directory", path=os.fspath(model_dir)) from None


def check_safetensors(model_dir: str | os.PathLike) -> None:
    """Refuse a directory whose weights are not safetensors (a pickle can run code when loaded)."""
    names = set(os.listdir(model_dir))
    if not any(n.endswith(".safetensors") for n in names):
        pickled = sorted(n for n in names if n.endswith((".bin", ".pt", ".pth", ".ckpt")))
        why = f" (found {', '.join(pickled)}: pickled weights are never loaded)" if pickled else ""
        raise InputError(f"no model.safetensors{why}", path=os.fspath(model_dir))


def load_model(model_dir: str | os.PathLike, kind: str = "classifier", **kwargs):
    """A saved model, safetensors only: ``kind`` is 'classifier', 'mlm' or 'encoder'."""
    from transformers import AutoModel, AutoModelForMaskedLM, AutoModelForSequenceClassification

    check_safetensors(model_dir)
    cls = {"classifier": AutoModelForSequenceClassification, "mlm": AutoModelForMaskedLM,
           "encoder": AutoModel}[kind]
    return cls.from_pretrained(model_dir, use_safetensors=True, attn_implementation="sdpa", **kwargs)


def save_model_dir(model, tokenizer: SequenceTokenizer, out: str | os.PathLike, meta: dict) -> str:
    """Write the model (safetensors), the tokenizer and ``genobert.json`` into ``out``."""
    os.makedirs(out, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.hf.model_max_length = max_tokens(model.config)
    tokenizer.save(out)
    path = os.path.join(out, META_FILE)
    with open(path) as f:
        merged = json.load(f)
    merged.update(meta)
    with open(path, "w") as f:
        json.dump(merged, f, indent=2)
    return os.fspath(out)


def load_model_tokenizer(model_dir: str | os.PathLike) -> SequenceTokenizer:
    read_meta(model_dir)
    return load_tokenizer(model_dir)


def provenance(files: list[str], **fields) -> dict:
    """Where a model came from: data files with sha256, versions, and the given fields."""
    import tokenizers
    import torch
    import transformers

    from . import __version__

    data = [{"path": os.fspath(f), "sha256": file_sha256(f) if os.path.isfile(f) else None}
            for f in files]
    return {"data": data, **fields, "versions": {
        "genobert": __version__, "torch": torch.__version__, "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__, "python": platform.python_version()}}
