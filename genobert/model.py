"""Model presets, and building, saving and loading plain Hugging Face BERT model directories.

A model directory is what ``save_pretrained`` writes (``config.json``, ``model.safetensors``,
``tokenizer.json``, tokenizer config) plus ``genobert.json``: alphabet, tokenizer spec, labels,
window settings and training provenance. `AutoModelForMaskedLM` /
`AutoModelForSequenceClassification.from_pretrained(DIR)` and `AutoTokenizer.from_pretrained(DIR)`
load it with no custom code.
"""

from __future__ import annotations

import json
import numbers
import os
import platform
from dataclasses import dataclass

import numpy as np

from .data import pad, token_budget_batches
from .errors import InputError, model_loading
from .io import file_sha256
from .tokenize import CLS_ID, META_FILE, PAD_ID, SEP_ID, SequenceTokenizer, load_tokenizer


@dataclass(frozen=True)
class Preset:
    layers: int
    hidden: int
    heads: int
    intermediate: int
    max_positions: int  # fixed per preset, so scratch and pretrained configs are identical


PRESETS: dict[str, Preset] = {
    "tiny": Preset(layers=2, hidden=64, heads=2, intermediate=128, max_positions=512),  # tests
    "micro": Preset(layers=4, hidden=128, heads=2, intermediate=512, max_positions=1026),  # recipe study
    "mini": Preset(layers=4, hidden=256, heads=4, intermediate=1024, max_positions=1026),  # released
    "small": Preset(layers=6, hidden=384, heads=6, intermediate=1536, max_positions=1026),
    "base": Preset(layers=12, hidden=768, heads=12, intermediate=3072, max_positions=1026),
}


def padded_vocab(n: int, multiple: int = 64) -> int:
    """Embedding rows: the vocabulary rounded up to a multiple of 64 (faster matmuls on GPUs)."""
    return -(-n // multiple) * multiple


ARCHS = ("bert", "modernbert")


def build_config(preset: str, tokenizer: SequenceTokenizer, arch: str = "bert", **extra):
    """A config for a preset and a tokenizer, SDPA attention: a `BertConfig`, or with
    ``arch="modernbert"`` a `ModernBertConfig` of the same size (pre-norm, GeGLU, rotary
    positions, no biases; every layer global, since windows are short; the MLM head on masked
    positions only)."""
    from transformers import BertConfig, ModernBertConfig

    if preset not in PRESETS:
        raise InputError(f"unknown preset {preset!r}; allowed: {', '.join(PRESETS)}")
    if arch not in ARCHS:
        raise InputError(f"unknown architecture {arch!r}; allowed: {', '.join(ARCHS)}")
    p = PRESETS[preset]
    if arch == "modernbert":
        config = ModernBertConfig(
            vocab_size=padded_vocab(len(tokenizer)), hidden_size=p.hidden, num_hidden_layers=p.layers,
            num_attention_heads=p.heads, intermediate_size=p.intermediate,
            max_position_embeddings=p.max_positions, pad_token_id=PAD_ID, cls_token_id=CLS_ID,
            sep_token_id=SEP_ID, bos_token_id=CLS_ID, eos_token_id=SEP_ID,
            layer_types=["full_attention"] * p.layers, sparse_prediction=True, **extra)
    else:
        config = BertConfig(
            vocab_size=padded_vocab(len(tokenizer)), hidden_size=p.hidden, num_hidden_layers=p.layers,
            num_attention_heads=p.heads, intermediate_size=p.intermediate,
            max_position_embeddings=p.max_positions, pad_token_id=PAD_ID, type_vocab_size=2, **extra)
    config._attn_implementation = "sdpa"
    return config


def set_dropout(config, p: float) -> None:
    """Every dropout of a BERT or ModernBERT config."""
    names = (("hidden_dropout_prob", "attention_probs_dropout_prob") if config.model_type == "bert"
             else ("attention_dropout", "embedding_dropout", "mlp_dropout"))
    for name in names:
        setattr(config, name, p)


def mlm_class(config):
    """The masked-LM class of a non-BERT config (ModernBERT predicts masked positions only itself)."""
    from transformers import AutoModelForMaskedLM

    return AutoModelForMaskedLM._model_mapping[type(config)]


def load_config(model_dir: str | os.PathLike):
    """The `config.json` of a model directory (one line naming it if unreadable)."""
    from transformers import AutoConfig

    with model_loading(model_dir):
        try:
            return AutoConfig.from_pretrained(model_dir)
        except (OSError, ValueError) as e:
            raise InputError(f"unreadable config.json ({str(e).splitlines()[0][:120]})",
                             path=os.path.join(os.fspath(model_dir), "config.json")) from None


def architecture(model_dir: str | os.PathLike) -> str:
    """The architecture a model directory holds, as `--arch` names it: 'bert' or 'modernbert'."""
    return load_config(model_dir).model_type


def max_tokens(config) -> int:
    """The longest input (specials included) a model takes."""
    return int(config.max_position_embeddings)


def read_meta(model_dir: str | os.PathLike, kind: str | None = None) -> dict:
    """``genobert.json`` of a model directory, after `check_model_dir` (``kind``: the head the
    caller will load, checked too)."""
    check_model_dir(model_dir, kind)
    with open(os.path.join(model_dir, META_FILE)) as f:
        return json.load(f)


# the head weights each kind needs (BERT's names, then ModernBERT's)
HEADS = {"classifier": ("classifier.weight",), "token": ("classifier.weight",),
         "span": ("qa_outputs.weight", "classifier.weight")}


def check_model_dir(model_dir: str | os.PathLike, kind: str | None = None) -> None:
    """Everything a model directory must hold, checked before any input is read, each failure one
    line naming the file: readable ``genobert.json``, ``config.json`` and ``tokenizer.json``;
    safetensors weights that open (not truncated or empty); the head a ``kind`` needs, shaped as
    ``config.json`` says; embeddings as large as the tokenizer's vocabulary; a tokenizer that
    spells the alphabet ``genobert.json`` names."""
    folder = os.fspath(model_dir)
    if not os.path.isdir(folder):
        raise InputError("not a directory; expected a genobert model directory", path=folder)
    meta = _json(folder, META_FILE, "not a genobert model directory")
    check_safetensors(folder)  # before anything else of the directory is read
    config = _json(folder, "config.json", "not a Hugging Face model directory")
    tok = _json(folder, "tokenizer.json", "the model's tokenizer is missing")
    if os.path.exists(os.path.join(folder, "tokenizer_config.json")):
        _json(folder, "tokenizer_config.json", "")
    weights = os.path.join(folder, "model.safetensors")
    shapes = _shapes(weights)
    _check_config(os.path.join(folder, "config.json"), config, shapes)
    vocab = (tok.get("model") or {}).get("vocab")
    size = len(vocab) if isinstance(vocab, (dict, list)) else None
    embedding = next((v for k, v in shapes.items()
                      if k.endswith(("word_embeddings.weight", "tok_embeddings.weight"))), None)
    if embedding is None:
        raise InputError("holds no word_embeddings weight: not a BERT encoder", path=weights)
    if len(embedding) != 2:
        raise InputError(f"word embeddings of shape {embedding}: expected rows × width", path=weights)
    if embedding[0] != config.get("vocab_size"):
        raise InputError(f"word embeddings have {embedding[0]} rows, config.json says vocab_size "
                         f"{config.get('vocab_size')}", path=weights)
    if size is not None and size > embedding[0]:
        raise InputError(f"the tokenizer has {size} tokens, the model embeds only {embedding[0]}",
                         path=os.path.join(folder, "tokenizer.json"))
    alphabet = meta.get("alphabet")
    if isinstance(vocab, dict) and alphabet:
        from .alphabets import get_alphabet

        try:
            letters = get_alphabet(alphabet).regular
        except (InputError, KeyError, ValueError):
            raise InputError(f"unknown alphabet {alphabet!r}", path=os.path.join(folder, META_FILE)) from None
        spelled = {c for t in vocab for c in t}
        missing = sorted(set(letters) - spelled)
        if missing:
            raise InputError(f"says alphabet {alphabet!r}, but the tokenizer has no token for "
                             f"{', '.join(missing[:5])}", path=os.path.join(folder, META_FILE))
    _check_meta(os.path.join(folder, META_FILE), meta, vocab)
    head = HEADS.get(kind or "")
    if head:
        found = next((v for name in head for k, v in shapes.items() if k.endswith(name)), None)
        if found is None:
            raise InputError(f"no {head[0]}: not a fine-tuned {kind} model (a pretrained encoder "
                             "would get a random head)", path=weights)
        labels = config.get("id2label")
        want = 2 if kind == "span" else (len(labels) if isinstance(labels, dict) else config.get("num_labels"))
        if want is not None and found[0] != want:
            raise InputError(f"{head[0]} has {found[0]} outputs, config.json says {want} labels", path=weights)
        names = meta.get("labels") or []
        outputs = {"regression": 1, "span": 2}.get(meta.get("task"), len(names))
        if meta.get("task") in ("sequence", "pair", "token", "regression") and found[0] != outputs:
            raise InputError(f"says task {meta['task']!r} with {len(names)} labels, which needs {outputs} "
                             f"outputs, but {head[0]} has {found[0]}", path=os.path.join(folder, META_FILE))
        if isinstance(labels, dict) and names and meta.get("task") in ("sequence", "pair", "token"):
            order = [labels.get(str(i), labels.get(i)) for i in range(len(labels))]
            if order != names:  # which output is which class: two files must agree
                raise InputError(f"labels {names!r}, but config.json's id2label numbers them "
                                 f"{order!r}", path=os.path.join(folder, META_FILE))


def _check_config(path: str, config: dict, shapes: dict[str, list[int]]) -> None:
    """A config.json that transformers would build the saved weights from: an architecture
    genobert makes, heads that divide the width, positions as many as the weights hold."""
    arch = config.get("model_type")
    if arch not in ARCHS:  # another class would load these weights partly, or into random ones
        raise InputError(f"model_type {arch!r}; allowed: {', '.join(ARCHS)}", path=path)
    for key in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                "intermediate_size", "max_position_embeddings"):
        value = config.get(key)
        if key in config and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise InputError(f"{key} {value!r}; expected a whole number, 1 or more", path=path)
    width, heads = config.get("hidden_size"), config.get("num_attention_heads")
    if not (isinstance(width, int) and isinstance(heads, int) and heads > 0 and width % heads == 0):
        raise InputError(f"hidden_size {width!r} is not a multiple of num_attention_heads {heads!r}", path=path)
    positions = next((v[0] for k, v in shapes.items() if k.endswith("position_embeddings.weight")), None)
    if positions is not None and positions != config.get("max_position_embeddings"):
        raise InputError(f"max_position_embeddings {config.get('max_position_embeddings')!r}, but the "
                         f"weights hold {positions} positions", path=path)


def _check_meta(path: str, meta: dict, vocab) -> None:
    """genobert.json's window, tokenizer and labels, as the rest of the directory needs them."""
    from .tokenize import TokenizerSpec, vocabulary

    window = meta.get("window", 512)
    if not isinstance(window, int) or isinstance(window, bool) or window < 3:
        raise InputError(f"window {window!r}; expected a whole number of tokens, 3 or more", path=path)
    if not isinstance(meta.get("alphabet"), str):
        raise InputError(f"alphabet {meta.get('alphabet')!r}; expected one of dna, rna, protein", path=path)
    for key, kind, what in (("task", str, "a task name such as sequence"), ("training", dict, "an object"),
                            ("release", dict, "an object")):
        if key in meta and not isinstance(meta[key], kind):
            raise InputError(f"{key} {meta[key]!r}; expected {what}", path=path)
    if not isinstance(meta.get("training", {}).get("config", {}), dict):
        raise InputError(f"training.config {meta['training']['config']!r}; expected an object", path=path)
    pair = meta.get("pair_columns", "a,b")
    if not isinstance(pair, str) or len([c for c in pair.split(",") if c.strip()]) != 2:
        raise InputError(f"pair_columns {pair!r}; expected two column names, 'A,B'", path=path)
    labels = meta.get("labels") or []
    if (not isinstance(labels, list) or not all(isinstance(x, str) for x in labels)
            or len(set(labels)) != len(labels)):
        raise InputError(f"labels {labels!r}; expected a list of distinct names (strings)", path=path)
    try:
        spec = TokenizerSpec.parse(meta.get("tokenizer", ""))
        expected = (vocabulary(spec, meta["alphabet"]) if spec.kind != "bpe" and meta.get("alphabet")
                    else None)
    except InputError as e:
        raise InputError(f"tokenizer {meta.get('tokenizer')!r}: {e.message}", path=path) from None
    if expected is not None and isinstance(vocab, dict):
        if set(vocab) != set(expected):
            raise InputError(f"says tokenizer {meta['tokenizer']!r} ({len(expected)} tokens), but "
                             f"tokenizer.json holds another vocabulary ({len(vocab)} tokens)", path=path)
        moved = next((t for i, t in enumerate(expected) if vocab[t] != i), None)
        if moved is not None:  # the weights' rows would be read as other tokens
            raise InputError(f"tokenizer.json numbers {moved!r} {vocab[moved]!r}; tokenizer "
                             f"{meta['tokenizer']!r} gives it id {expected.index(moved)}",
                             path=os.path.join(os.path.dirname(path), "tokenizer.json"))


def _json(folder: str, name: str, missing: str) -> dict:
    path = os.path.join(folder, name)
    try:
        with open(path) as f:
            data = json.load(f)
    except FileNotFoundError:
        raise InputError(f"no {name}: {missing}", path=folder) from None
    except (OSError, ValueError) as e:
        raise InputError(f"unreadable JSON ({str(e).splitlines()[0][:80]})", path=path) from None
    if not isinstance(data, dict):
        raise InputError("expected a JSON object", path=path)
    return data


def _shapes(path: str) -> dict[str, list[int]]:
    """Tensor names and shapes from a safetensors header, without reading the weights."""
    import struct

    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(8)
            n = struct.unpack("<Q", head)[0] if len(head) == 8 else -1
            if n <= 0 or 8 + n > size:
                raise ValueError("truncated or empty")
            header = json.loads(f.read(n))
        if not isinstance(header, dict) or not all(
                isinstance(v, dict) and isinstance(v.get("shape"), list)
                and all(isinstance(d, int) and d >= 0 for d in v["shape"])
                for k, v in header.items() if k != "__metadata__"):
            raise ValueError("its header is not a map of tensors with shapes")
        end = max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"), default=0)
        if 8 + n + end > size:
            raise ValueError(f"truncated: {size:,} bytes, the header promises {8 + n + end:,}")
        return {k: v["shape"] for k, v in header.items() if k != "__metadata__"}
    except (OSError, ValueError, KeyError, TypeError, struct.error) as e:
        raise InputError(f"not a readable safetensors file ({e})", path=path) from None


def check_safetensors(model_dir: str | os.PathLike) -> None:
    """Refuse a directory whose weights are not safetensors (a pickle can run code when loaded)."""
    names = set(os.listdir(model_dir))
    if "model.safetensors" not in names:
        pickled = sorted(n for n in names if n.endswith((".bin", ".pt", ".pth", ".ckpt")))
        why = f" (found {', '.join(pickled)}: pickled weights are never loaded)" if pickled else ""
        raise InputError(f"no model.safetensors{why}", path=os.fspath(model_dir))


def encoder_kwargs(model_type: str) -> dict:
    """What an encoder of ``model_type`` is built with: BERT without its pooler, since embeddings
    come from the hidden states (ModernBERT has none to drop)."""
    return {"add_pooling_layer": False} if model_type == "bert" else {}


def load_model(model_dir: str | os.PathLike, kind: str = "classifier", *, whole: bool = False, **kwargs):
    """A saved model, safetensors only: ``kind`` is 'classifier', 'token', 'span', 'mlm' or
    'encoder'. Weights the encoder needs and the file lacks are refused (transformers would fill
    them with random values and say so only in a log); ``whole``: the head's too (a model used as
    it was trained, not one getting a new head)."""
    from transformers import (AutoModel, AutoModelForMaskedLM, AutoModelForQuestionAnswering,
                              AutoModelForSequenceClassification, AutoModelForTokenClassification)
    from transformers.utils import logging

    check_safetensors(model_dir)
    cls = {"classifier": AutoModelForSequenceClassification, "mlm": AutoModelForMaskedLM,
           "encoder": AutoModel, "token": AutoModelForTokenClassification,
           "span": AutoModelForQuestionAnswering}[kind]
    if kind == "encoder":
        kwargs = {**encoder_kwargs(architecture(model_dir)), **kwargs}
    # an encoder from an MLM checkpoint drops the MLM head: expected, so no load report
    verbosity = logging.get_verbosity()
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    try:
        with model_loading(model_dir):
            model, info = cls.from_pretrained(model_dir, use_safetensors=True, attn_implementation="sdpa",
                                              output_loading_info=True, **kwargs)
    finally:
        logging.set_verbosity(verbosity)
        logging.enable_progress_bar()
    missing = sorted(k for k in info["missing_keys"] if whole or _encoder_weight(k))
    if missing:
        raise InputError(f"lacks {len(missing)} weight tensor(s) that config.json's model needs ("
                         f"{', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}): a damaged file, "
                         "or a config.json that does not match it", path=os.path.join(model_dir, "model.safetensors"))
    return model


def _encoder_weight(key: str) -> bool:
    """A weight of the encoder body (embeddings, layers, final norm), not of a task head."""
    parts = key.split(".")
    if parts[0] in ("bert", "model"):
        parts = parts[1:]
    return parts[0] in ("embeddings", "encoder", "layers", "final_norm")


def save_model_dir(model, tokenizer: SequenceTokenizer, out: str | os.PathLike, meta: dict) -> str:
    """Write the model (safetensors), the tokenizer and ``genobert.json`` into ``out``.

    ``genobert.json`` is the mark of a complete directory: an old one is removed first and the new
    one is renamed into place last, so a crash in between never leaves new weights under an old
    mark, nor a mark over half-written weights.
    """
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, META_FILE)
    if os.path.exists(path):
        os.unlink(path)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.hf.model_max_length = max_tokens(model.config)
    tokenizer.save(out, meta)
    return os.fspath(out)


def default_batch_tokens(device) -> int:
    """Tokens per inference batch: 16,384 on CUDA; 4,096 on a CPU, where it measured 10-20 % faster
    than 16,384 for the `small` preset (batches that fit the caches) and as fast for `tiny`."""
    return 16384 if getattr(device, "type", device) == "cuda" else 4096


def forward_windows(model, windows: list[np.ndarray], *, batch_tokens: int | None = None,
                    pooling: str | None = None, layer: int | tuple[int, ...] = -1,
                    segments: list[np.ndarray] | None = None, bf16: bool | None = None):
    """Run ``model`` on windows in token-budget batches; yield ``(indices, output)`` per batch.

    ``output`` is float32 on the CPU: the logits, or with ``pooling='cls'|'mean'|'tokens'`` the
    hidden states of ``layer`` pooled ([CLS], the mean over real tokens, or all of them as a list);
    a tuple of layers stacks theirs on an axis before the hidden one, from one forward pass.
    ``segments``: token type ids per window (sequence pairs). ``bf16``: autocast to bfloat16
    (default: on CUDA only). A CUDA out-of-memory error halves the budget and retries the batch.
    """
    import torch

    device = next(model.parameters()).device
    batch_tokens = batch_tokens or default_batch_tokens(device)
    lengths = np.fromiter((len(w) for w in windows), dtype=np.int64, count=len(windows))
    pending = token_budget_batches(lengths, batch_tokens)[::-1]
    while pending:
        idx = pending.pop()
        ids, attention = pad([windows[i] for i in idx])
        extra = ({"token_type_ids": pad([segments[i] for i in idx])[0].to(device)}
                 if segments and getattr(model.config, "type_vocab_size", 0) else {})  # ModernBERT has none
        try:
            with torch.inference_mode(), torch.autocast(
                    device.type, torch.bfloat16, enabled=device.type == "cuda" if bf16 is None else bf16):
                out = model(input_ids=ids.to(device), attention_mask=attention.to(device),
                            output_hidden_states=pooling is not None, **extra)
        except torch.cuda.OutOfMemoryError:
            if len(idx) == 1:
                raise
            torch.cuda.empty_cache()
            pending.extend([idx[len(idx) // 2:], idx[: len(idx) // 2]])
            continue
        if pooling is None:
            logits = (out.logits if "logits" in out else  # span heads: (B, T, 2) start, end
                      torch.stack([out.start_logits, out.end_logits], -1))
            yield idx, logits.float().cpu().numpy()
            continue
        hidden = out.hidden_states
        states = (hidden[layer] if isinstance(layer, numbers.Integral)  # (B, T, H), or (B, T, layers, H)
                  else torch.stack([hidden[i] for i in layer], 2)).float()
        if pooling == "cls":
            yield idx, states[:, 0].cpu().numpy()
        else:
            pos = torch.arange(ids.shape[1], device=device)
            ends = attention.to(device).sum(1, keepdim=True) - 1  # where each [SEP] sits
            real = (pos >= 1) & (pos < ends)  # (B, T): between [CLS] and [SEP], pads excluded
            if pooling == "mean":
                m = real.reshape(*real.shape, *[1] * (states.dim() - 2)).float()
                yield idx, ((states * m).sum(1) / m.sum(1).clamp(min=1)).cpu().numpy()
            else:
                yield idx, [states[b][real[b]].cpu().numpy() for b in range(len(idx))]


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
