"""`pretrain()` (masked-language modelling on a genome or proteome) and `finetune()` (a [CLS]
classifier), both on the Hugging Face `Trainer`.

The Trainer brings what a long run needs: warmup + linear decay, AdamW (fused on GPU), gradient
accumulation, bf16 on GPU, checkpoints and ``resume``, a progress bar, and DDP when started by
``torchrun --nproc_per_node N`` or ``accelerate launch`` — the same code on one CPU or many GPUs.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

import numpy as np

from .data import (LabelledWindows, MLMCollator, WindowDataset, average_windows, collate_labelled,
                   prepare_corpus)
from .errors import InputError
from .io import read_records
from .model import (build_config, forward_windows, load_model, provenance, read_meta,
                    save_model_dir)
from .tokenize import SequenceTokenizer, TokenizerSpec, build_tokenizer, load_tokenizer


@dataclass
class PretrainConfig:
    """Settings of `pretrain`; every field is a keyword argument of it."""

    tokenizer: str = "char"
    alphabet: str = "dna"
    preset: str = "small"
    seq_len: int = 512  # tokens per window, [CLS] and [SEP] included
    max_steps: int = 1000
    batch_size: int = 32  # per device
    grad_accum: int = 1
    lr: float = 5e-4  # peak, after warmup; BERT-small-like models take 5e-4 on MLM
    warmup: float = 0.06  # fraction of steps
    weight_decay: float = 0.01
    mask_rate: float = 0.15
    seed: int = 0
    save_steps: int = 500
    logging_steps: int = 10
    resume: bool = False


def _training_args(out: str, cfg, **kwargs):
    import torch
    from transformers import TrainingArguments

    cuda = torch.cuda.is_available()
    return TrainingArguments(
        output_dir=os.path.join(out, "checkpoints"), seed=cfg.seed, data_seed=cfg.seed,
        per_device_train_batch_size=cfg.batch_size, per_device_eval_batch_size=cfg.batch_size,
        gradient_accumulation_steps=getattr(cfg, "grad_accum", 1), learning_rate=cfg.lr,
        warmup_steps=cfg.warmup, weight_decay=cfg.weight_decay, lr_scheduler_type="linear",
        optim="adamw_torch_fused" if cuda else "adamw_torch", bf16=cuda and torch.cuda.is_bf16_supported(),
        report_to=[], dataloader_num_workers=0, save_total_limit=2, logging_first_step=True,
        use_cpu=not cuda, ddp_backend=_ddp_backend(cuda), **kwargs)


def _ddp_backend(cuda: bool) -> str | None:
    """gloo for DDP on CPUs (under torchrun / accelerate); the Trainer's default otherwise."""
    return "gloo" if not cuda and int(os.environ.get("WORLD_SIZE", "1")) > 1 else None


def pretrain(corpus: list[str] | str, out: str, **settings) -> str:
    """Pretrain a BERT by MLM on sequence files; returns ``out``, a model directory.

    ``settings`` are the fields of `PretrainConfig` (tokenizer, alphabet, preset, seq_len,
    max_steps, batch_size, lr, seed, resume, ...). ``exclude`` (a set of sequences) drops those
    records from the corpus, e.g. a benchmark's test sequences.
    """
    from transformers import Trainer

    from .mlm import MaskedHeadBertForMaskedLM

    exclude = settings.pop("exclude", None)
    cfg = _config(PretrainConfig, settings)
    files = [corpus] if isinstance(corpus, str) else list(corpus)
    tok = _new_tokenizer(cfg.tokenizer, cfg.alphabet, files)
    config = build_config(cfg.preset, tok)
    if cfg.seq_len > config.max_position_embeddings:
        raise InputError(f"--seq-len {cfg.seq_len} is longer than preset {cfg.preset!r} takes "
                         f"({config.max_position_embeddings})")
    store = prepare_corpus(files, tok, alphabet=cfg.alphabet, exclude=exclude)
    # proteins shorter than the window come whole: batches of similar lengths keep padding low
    grouping = {"train_sampling_strategy": "group_by_length"} if cfg.alphabet == "protein" else {}
    args = _training_args(out, cfg, max_steps=cfg.max_steps, save_strategy="steps",
                          save_steps=cfg.save_steps, logging_steps=cfg.logging_steps,
                          remove_unused_columns=False,  # the collator seeds masking by "sample"
                          **grouping)
    samples = cfg.max_steps * cfg.batch_size * cfg.grad_accum * args.world_size
    dataset = WindowDataset(store, seq_len=cfg.seq_len, num_samples=samples, seed=cfg.seed)
    spec = tok.spec
    collator = MLMCollator(vocab_size=len(tok), rate=cfg.mask_rate, seed=cfg.seed,
                           k=spec.k if spec.kind == "kmer" else 1,
                           stride=spec.stride if spec.kind == "kmer" else 1)
    import torch

    torch.manual_seed(cfg.seed)
    model = MaskedHeadBertForMaskedLM(config)
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collator)
    result = trainer.train(resume_from_checkpoint=_last_checkpoint(out) if cfg.resume else None)
    metrics = {**result.metrics, "tokens_per_second": samples * dataset.mean_length / result.metrics["train_runtime"]}
    if trainer.is_world_process_zero():
        meta = {"task": "mlm", "preset": cfg.preset, "seq_len": cfg.seq_len, "window": cfg.seq_len,
                "training": {"kind": "pretrain", "config": asdict(cfg), "corpus": store.info,
                             "metrics": metrics, **provenance(files, seed=cfg.seed, steps=cfg.max_steps)}}
        save_model_dir(trainer.model, tok, out, meta)
        _write_json(os.path.join(out, "log_history.json"), trainer.state.log_history)
    return out


def _config(cls, settings: dict):
    unknown = set(settings) - set(cls.__dataclass_fields__)
    if unknown:
        raise TypeError(f"unknown settings {sorted(unknown)}; allowed: {sorted(cls.__dataclass_fields__)}")
    return cls(**settings)


def _new_tokenizer(spec: str, alphabet: str, files: list[str]) -> SequenceTokenizer:
    parsed = TokenizerSpec.parse(spec)
    corpus = None
    if parsed.kind == "bpe":
        corpus = (r.seq for f in files for r in read_records(f, alphabet=alphabet))
    return build_tokenizer(parsed, alphabet, corpus)


def _last_checkpoint(out: str) -> str | None:
    """The newest *complete* checkpoint: the Trainer writes ``trainer_state.json`` last, so a
    checkpoint without a readable one was cut off mid-save (by a kill, a full disk); those are
    removed so the resumed run writes them afresh."""
    from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

    folder = os.path.join(out, "checkpoints")
    if not os.path.isdir(folder):
        return None
    steps = sorted((int(name.rsplit("-", 1)[1]), name) for name in os.listdir(folder)
                   if name.startswith(PREFIX_CHECKPOINT_DIR + "-") and name.rsplit("-", 1)[1].isdigit())
    for _, name in reversed(steps):
        path = os.path.join(folder, name)
        try:
            with open(os.path.join(path, "trainer_state.json")) as f:
                json.load(f)
            return path
        except (OSError, ValueError):
            import shutil

            shutil.rmtree(path, ignore_errors=True)  # every DDP rank may get here
    return None


def _write_json(path: str, obj) -> None:
    tmp = f"{path}.part"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
    os.replace(tmp, path)


# --------------------------------------------------------------------------- fine-tuning


@dataclass
class FinetuneConfig:
    """Settings of `finetune`; every field is a keyword argument of it."""

    init: str = "scratch"  # a pretrained model directory, or "scratch" (random init)
    preset: str = "small"  # with init="scratch"; a pretrained directory brings its own
    tokenizer: str = "char"  # with init="scratch"
    alphabet: str = "dna"  # with init="scratch"
    max_len: int = 0  # tokens per window; 0: the pretrained window, or 512 from scratch
    epochs: int = 10
    batch_size: int = 32
    lr: float = 5e-5  # BERT's fine-tuning rate
    warmup: float = 0.1
    weight_decay: float = 0.01
    patience: int = 3  # epochs without a better validation MCC before stopping
    valid_fraction: float = 0.1  # carved from train (stratified, seeded) when no valid file
    seed: int = 0
    resume: bool = False


def read_labelled(path: str, alphabet: str) -> tuple[list[str], list[str], list[int]]:
    """ids, sequences and lines of a labelled file; every record must have a label."""
    ids, seqs, labels, lines = [], [], [], []
    for rec in read_records(path, alphabet=alphabet, unique_ids=True):
        if rec.label is None:
            raise InputError("no 'label' column: fine-tuning needs a table with 'sequence' and "
                             "'label'", path=path, line=1)
        ids.append(rec.id)
        seqs.append(rec.seq)
        labels.append(rec.label)
        lines.append(rec.line)
    return ids, seqs, labels, lines


def label_names(labels: list[str]) -> list[str]:
    """Sorted class names; numerically when all are integers ('2' before '10')."""
    names = sorted(set(labels))
    if all(n.lstrip("-").isdigit() for n in names):
        names.sort(key=int)
    return names


def _encode_labels(path, labels, lines, names) -> list[int]:
    index = {n: i for i, n in enumerate(names)}
    out = []
    for label, line in zip(labels, lines, strict=True):
        if label not in index:
            raise InputError(f"label {label!r} is not among the training labels ({', '.join(names)})",
                             path=path, line=line)
        out.append(index[label])
    return out


def stratified_split(n: int, labels: list[int], fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    idx = np.arange(n)
    counts = np.bincount(labels)
    classes = int((counts > 0).sum())
    stratify = labels if counts[counts > 0].min() >= 2 else None
    size = max(int(np.ceil(fraction * n)), classes if stratify is not None else 1)
    if n - size < classes:
        raise InputError(f"too few rows ({n}) to hold out a validation set and keep every class "
                         "in training; give --valid FILE")
    train, valid = train_test_split(idx, test_size=size, random_state=seed, stratify=stratify)
    return np.sort(train), np.sort(valid)


def classification_metrics(probs: np.ndarray, labels: np.ndarray) -> dict:
    """accuracy, MCC, macro-F1 and AUROC (binary, or one-vs-rest macro) where defined."""
    from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef, roc_auc_score

    pred = probs.argmax(1)
    out = {"n": int(len(labels)), "accuracy": float(accuracy_score(labels, pred)),
           "mcc": float(matthews_corrcoef(labels, pred)),
           "macro_f1": float(f1_score(labels, pred, average="macro"))}
    present = np.unique(labels)
    if len(present) == probs.shape[1] and len(present) > 1:
        out["auroc"] = float(roc_auc_score(labels, probs[:, 1]) if probs.shape[1] == 2 else
                             roc_auc_score(labels, probs, multi_class="ovr", average="macro"))
    return out


def predict_windows(model, dataset: LabelledWindows, batch_tokens: int = 16384) -> np.ndarray:
    """Class probabilities per sequence: softmax of the window logits averaged per sequence."""
    model.eval()
    logits = np.zeros((len(dataset), model.config.num_labels), dtype=np.float32)
    for idx, out in forward_windows(model, dataset.windows, batch_tokens=batch_tokens):
        logits[idx] = out
    return softmax(average_windows(logits, dataset.seq_index, dataset.num_sequences))


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def finetune(train: str, out: str, *, valid: str | None = None, test: str | None = None,
             **settings) -> str:
    """Fine-tune a [CLS] classifier on a labelled TSV/CSV; returns ``out``, a model directory
    with ``metrics.json`` (per split: accuracy, MCC, macro-F1, AUROC; the loss curve).

    ``settings`` are the fields of `FinetuneConfig` (init, preset, tokenizer, alphabet, epochs, ...).
    With ``init="scratch"`` the model has the same config as a pretrained one of the same preset and
    tokenizer, so the two differ only in their initial weights.
    """
    import torch
    from transformers import BertForSequenceClassification, EarlyStoppingCallback, Trainer

    cfg = _config(FinetuneConfig, settings)
    pretrained = cfg.init != "scratch"
    if pretrained:
        meta = read_meta(cfg.init)
        tok = load_tokenizer(cfg.init)
        alphabet = meta["alphabet"]
        max_len = cfg.max_len or meta.get("window", 512)
    else:
        alphabet = cfg.alphabet
        max_len = cfg.max_len or 512
    _, seqs, raw_labels, lines = read_labelled(train, alphabet)
    names = label_names(raw_labels)
    if len(names) < 2:
        raise InputError(f"only one label ({names[0]!r}); a classifier needs at least two", path=train)
    y = _encode_labels(train, raw_labels, lines, names)
    if not pretrained:
        tok = build_tokenizer(cfg.tokenizer, alphabet, seqs)  # a BPE learns from the training set
    if valid:
        _, v_seqs, v_raw, v_lines = read_labelled(valid, alphabet)
        v_y = _encode_labels(valid, v_raw, v_lines, names)
        t_seqs, t_y = seqs, y
    else:
        tr, va = stratified_split(len(seqs), y, cfg.valid_fraction, cfg.seed)
        t_seqs, t_y = [seqs[i] for i in tr], [y[i] for i in tr]
        v_seqs, v_y = [seqs[i] for i in va], [y[i] for i in va]
    if test:  # read (and checked) before training, not after
        _, s_seqs, s_raw, s_lines = read_labelled(test, alphabet)
        test_split = (s_seqs, _encode_labels(test, s_raw, s_lines, names))
    labels = {"id2label": dict(enumerate(names)), "label2id": {n: i for i, n in enumerate(names)}}
    torch.manual_seed(cfg.seed)
    if pretrained:
        model = load_model(cfg.init, "classifier", num_labels=len(names), **labels)
    else:
        model = BertForSequenceClassification(build_config(cfg.preset, tok, num_labels=len(names), **labels))
    max_len = min(max_len, model.config.max_position_embeddings)
    train_ds = LabelledWindows(t_seqs, t_y, tok, max_len)
    valid_ds = LabelledWindows(v_seqs, v_y, tok, max_len)

    def compute_metrics(pred) -> dict:  # the validation set, windows averaged per sequence
        logits = pred.predictions[0] if isinstance(pred.predictions, tuple) else pred.predictions
        mean = average_windows(logits, valid_ds.seq_index, valid_ds.num_sequences)
        return classification_metrics(softmax(mean), np.asarray(v_y))

    args = _training_args(out, cfg, num_train_epochs=cfg.epochs, eval_strategy="epoch",
                          save_strategy="epoch", logging_strategy="steps", logging_steps=10,
                          load_best_model_at_end=True, metric_for_best_model="mcc",
                          greater_is_better=True)
    trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=valid_ds,
                      data_collator=collate_labelled, compute_metrics=compute_metrics,
                      callbacks=[EarlyStoppingCallback(early_stopping_patience=cfg.patience)])
    trainer.train(resume_from_checkpoint=_last_checkpoint(out) if cfg.resume else None)
    if not trainer.is_world_process_zero():
        return out
    model = trainer.model
    splits = {"train": (t_seqs, t_y), "valid": (v_seqs, v_y)}
    if test:
        splits["test"] = test_split
    metrics = {}
    for split, (s, lab) in splits.items():
        probs = predict_windows(model, LabelledWindows(s, lab, tok, max_len))
        metrics[split] = classification_metrics(probs, np.asarray(lab))
    history = trainer.state.log_history
    metrics["loss_curve"] = [{"step": h["step"], "loss": h["loss"]} for h in history if "loss" in h]
    metrics["valid_curve"] = [{"step": h["step"], "epoch": h.get("epoch"), "loss": h["eval_loss"],
                               "mcc": h.get("eval_mcc")} for h in history if "eval_loss" in h]
    metrics["best_checkpoint"] = trainer.state.best_model_checkpoint
    files = [train] + [f for f in (valid, test) if f]
    meta = {"task": "sequence", "labels": names, "window": max_len,
            "window_overlap": "half; logits averaged per sequence",
            "training": {"kind": "finetune", "config": asdict(cfg), "init": cfg.init,
                         **provenance(files, seed=cfg.seed)}}
    save_model_dir(model, tok, out, meta)
    _write_json(os.path.join(out, "metrics.json"), metrics)
    return out
