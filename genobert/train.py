"""`pretrain()` (masked-language modelling on a genome or proteome) and `finetune()` (a [CLS]
classifier), both on the Hugging Face `Trainer`.

The Trainer brings what a long run needs: warmup + linear decay, AdamW (fused on GPU), gradient
accumulation, bf16 on GPU, checkpoints and ``resume``, a progress bar, and DDP when started by
``torchrun --nproc_per_node N`` or ``accelerate launch`` — the same code on one CPU or many GPUs.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import asdict, fields, replace

import numpy as np

from .data import MLMCollator, WindowDataset, prepare_corpus, pretraining_split
from .config import FinetuneConfig, PretrainConfig, RunConfig
from .errors import InputError
from .io import file_sha256, read_records, strings_sha256, write_json
from .metrics import selection_score
from .model import (architecture, build_config, load_config, load_model, mlm_class, provenance,
                    read_meta, save_model_dir, set_dropout)
from .registry import resolve
from .rundir import RunDir
from .tables import Labelled, class_names, read_labelled_file
from .tasks import get_task, window_logits
from .tokenize import SequenceTokenizer, TokenizerSpec, build_tokenizer, load_tokenizer


def _training_args(checkpoints: str, cfg, **kwargs):
    import torch
    from transformers import TrainingArguments

    cuda = torch.cuda.is_available()
    return TrainingArguments(
        output_dir=checkpoints, seed=cfg.seed, data_seed=cfg.seed,
        per_device_train_batch_size=cfg.batch_size, per_device_eval_batch_size=cfg.batch_size,
        gradient_accumulation_steps=getattr(cfg, "grad_accum", 1), learning_rate=cfg.lr,
        warmup_steps=cfg.warmup, weight_decay=cfg.weight_decay, lr_scheduler_type="linear",
        optim="adamw_torch_fused" if cuda else "adamw_torch", bf16=use_bf16(cfg, cuda),
        report_to=[], save_total_limit=2, logging_first_step=True, torch_compile=cfg.compile,
        use_cpu=not cuda, ddp_backend=_ddp_backend(cuda), **_loader(cfg, cuda), **kwargs)


def epoch_schedule(rows: int, batch_size: int, epochs: int, min_rows: int) -> dict:
    """TrainingArguments for ``epochs`` evaluation rounds of at least ``ceil(min_rows / batch)``
    steps each: an epoch of the training set when it is that long, else that many steps (a small
    set gone through several times). Patience and the cap count rounds either way."""
    batch = batch_size * int(os.environ.get("WORLD_SIZE", 1))
    steps = math.ceil(min_rows / batch)
    if math.ceil(rows / batch) >= steps:
        return {"num_train_epochs": epochs, "eval_strategy": "epoch", "save_strategy": "epoch"}
    return {"max_steps": epochs * steps, "eval_strategy": "steps", "eval_steps": steps,
            "save_strategy": "steps", "save_steps": steps}


def use_bf16(cfg, cuda: bool) -> bool:
    """Whether training autocasts to bf16: ``cfg.precision`` auto (on a CUDA GPU that has it), bf16 or fp32."""
    precision = getattr(cfg, "precision", "auto")
    if precision not in ("auto", "bf16", "fp32"):
        raise InputError(f"--precision {precision}: expected auto, bf16 or fp32")
    import torch

    return (cuda and torch.cuda.is_bf16_supported()) if precision == "auto" else precision == "bf16"


def _loader(cfg, cuda: bool) -> dict:
    """DataLoader settings: on CUDA, worker processes batch and mask the next steps while the GPU
    runs this one, into pinned memory (the Trainer's default); on a CPU, whose cores the model
    already uses, batches are made inline. Masking is seeded per sample, so workers change nothing."""
    workers = (4 if cuda else 0) if cfg.workers is None else cfg.workers
    if workers < 0:
        raise InputError(f"--workers {workers}: expected 0 (batches made inline) or more")
    return {"dataloader_num_workers": workers, "dataloader_persistent_workers": workers > 0}


def _ddp_backend(cuda: bool) -> str | None:
    """gloo for DDP on CPUs (under torchrun / accelerate); the Trainer's default otherwise."""
    return "gloo" if not cuda and int(os.environ.get("WORLD_SIZE", "1")) > 1 else None


def pretrain(corpus: list[str] | str, out: str, **settings) -> str:
    """Pretrain a BERT by MLM on sequence files; returns ``out``, a model directory.

    ``settings`` are the fields of `PretrainConfig` (tokenizer, alphabet, preset, seq_len,
    max_steps, batch_size, lr, seed, resume, init, ...). ``exclude`` (test sequences, e.g. a
    benchmark's) is cut out of the corpus first (`genobert.decontaminate`).

    A seeded ``holdout`` share of the corpus is never trained on; the MLM loss on it is logged every
    ``eval_steps`` and at the end, and ``genobert.json`` records the curve (nats per masked token
    and bits per letter), the tokens seen and the passes over the training part.
    """
    import torch
    from transformers import Trainer

    from .mlm import MaskedHeadBertForMaskedLM

    exclude = settings.pop("exclude", None)
    cfg = _config(PretrainConfig, settings)
    files = [corpus] if isinstance(corpus, str) else list(corpus)
    previous = None
    cfg.init = resolve(cfg.init) if cfg.init else None
    if not cfg.seq_len:  # before the run's settings are fixed: a resume compares the resolved window
        cfg.seq_len = read_meta(cfg.init).get("window", 512) if cfg.init else 512
    _check_positive(cfg, "max_steps", "batch_size", "grad_accum", "save_steps", "logging_steps",
                    "eval_windows")
    _check_rates(cfg, "lr", "time_budget")
    for path in files:
        if not os.path.isfile(path):
            raise InputError("no such file" if not os.path.exists(path) else "not a file", path=path)
    run = RunDir(out, kind="pretrain", overwrite=cfg.overwrite, resume=cfg.resume, init=cfg.init,
                 keep_checkpoints=cfg.keep_checkpoints,
                 settings={**_resumable(cfg, corpus=files), "exclude": "sha256:" + strings_sha256(sorted(exclude or ()))[:16]})
    if run.complete:
        return out
    if cfg.init:
        previous = read_meta(cfg.init)
        _check_init_conflicts(cfg.init, previous, settings)
        tok = _take_from_init(cfg, previous)
    else:
        tok = _new_tokenizer(cfg.tokenizer, cfg.alphabet, files)
    config = (load_config(cfg.init) if cfg.init else build_config(cfg.preset, tok, arch=cfg.arch))
    set_dropout(config, cfg.dropout)
    if cfg.seq_len > config.max_position_embeddings:
        raise InputError(f"--seq-len {cfg.seq_len} is longer than preset {cfg.preset!r} takes "
                         f"({config.max_position_embeddings})")
    if cfg.seq_len < 3:
        raise InputError(f"--seq-len {cfg.seq_len}: a window needs room for [CLS], a letter and [SEP] (3 or more)")
    for name, lo, hi in (("mask_rate", 0, 1), ("heldout_mask_rate", 0, 1), ("holdout", 0, 0.5),
                         ("dropout", 0, 1), ("warmup", 0, 1)):
        rate = name.endswith("mask_rate")
        if not lo <= getattr(cfg, name) < hi or (rate and getattr(cfg, name) == 0):
            raise InputError(f"--{name.replace('_', '-')} {getattr(cfg, name)}: expected a value in "
                             f"{'(' if rate else '['}{lo}, {hi})")
    store = prepare_corpus(files, tok, alphabet=cfg.alphabet, exclude=exclude)
    train_part, held_part, overlap_cut = pretraining_split(store, tok, cfg.alphabet, cfg.holdout, cfg.seed)
    eval_steps = cfg.eval_steps or max(cfg.max_steps // 10, 1)
    args = _training_args(run.checkpoints, cfg, max_steps=cfg.max_steps, save_strategy="steps",
                          save_steps=cfg.save_steps, logging_steps=cfg.logging_steps,
                          remove_unused_columns=False,  # the collator seeds masking by "sample"
                          train_sampling_strategy=sampling_strategy(cfg.alphabet),
                          **({"eval_strategy": "steps", "eval_steps": eval_steps,
                              "prediction_loss_only": True} if len(held_part[0]) else {}))
    samples = cfg.max_steps * cfg.batch_size * cfg.grad_accum * args.world_size
    dataset = WindowDataset(store, seq_len=cfg.seq_len, num_samples=samples, seed=cfg.seed,
                            segments=train_part)
    held = (WindowDataset(store, seq_len=cfg.seq_len, num_samples=cfg.eval_windows, seed=cfg.seed,
                          segments=held_part, first_sample=1 << 40) if len(held_part[0]) else None)
    spec = tok.spec
    collator = MLMCollator(vocab_size=len(tok), rate=cfg.mask_rate, seed=cfg.seed,
                           k=spec.k if spec.kind == "kmer" else 1,
                           stride=spec.stride if spec.kind == "kmer" else 1)
    torch.manual_seed(cfg.seed)
    mlm = MaskedHeadBertForMaskedLM if config.model_type == "bert" else mlm_class(config)
    if cfg.init:
        model = mlm.from_pretrained(cfg.init, config=config, use_safetensors=True)
    else:
        model = mlm(config)
    run.start()
    clock = step_clock(skip=min(10, cfg.max_steps // 5), budget=cfg.time_budget)
    base = budget_trainer(cfg.time_budget, cfg.warmup) if cfg.time_budget else Trainer
    trainer = heldout_masking(base, replace(collator, rate=cfg.heldout_mask_rate))(
        model=model, args=args, train_dataset=dataset, eval_dataset=held,
        data_collator=collator, callbacks=[clock, rng_guard()])
    quiet_trainer(trainer, cfg.verbose, lambda logs, state: (
        f"step {state.global_step:,}/{cfg.max_steps:,}: held-out MLM loss {logs['eval_loss']:.4f} nats"
        f" ({bits_per_letter(logs['eval_loss'], 1.0):.3f} bits/token)" if "eval_loss" in logs else None))
    checkpoint = _last_checkpoint(run.checkpoints) if cfg.resume else None
    first_step = _checkpoint_step(checkpoint)
    result = trainer.train(resume_from_checkpoint=checkpoint)
    steps = trainer.state.global_step
    if held is not None and not any(h.get("step") == steps and "eval_loss" in h
                                    for h in trainer.state.log_history):
        trainer.evaluate()  # the loss at the end, always
    tokens_per_step = samples / cfg.max_steps * dataset.mean_length
    # this run's tokens over this run's time (a resumed run did not redo the first steps)
    metrics = {**result.metrics,
               "tokens_per_second": tokens_per_step * (steps - first_step) / result.metrics["train_runtime"]}
    if clock.steady_seconds_per_step:
        metrics["tokens_per_second_steady"] = tokens_per_step / clock.steady_seconds_per_step
    if trainer.is_world_process_zero():
        before = (previous or {}).get("training", {}).get("tokens_seen", 0)
        letters_per_token = ((store.info["letters"] - (store.info.get("decontamination") or {})
                              .get("letters_removed", 0)) / max(store.info["tokens"], 1))
        curve = [{"step": h["step"], "tokens_seen": before + int(h["step"] * tokens_per_step),
                  "loss": h["eval_loss"], "bits_per_letter": bits_per_letter(h["eval_loss"], letters_per_token)}
                 for h in trainer.state.log_history if "eval_loss" in h]
        seen = before + int(steps * tokens_per_step)
        training = {"kind": "pretrain", "config": asdict(cfg), "corpus": store.info,
                    "heldout": {"fraction": cfg.holdout, "windows": cfg.eval_windows,
                                "mask_rate": cfg.heldout_mask_rate,
                                "train_tokens_cut_as_overlap": overlap_cut,
                                "tokens": held.tokens if held else 0, "curve": curve},
                    "tokens_seen": seen, "tokens_seen_this_run": seen - before,
                    "passes": (seen - before) / max(dataset.tokens, 1),
                    "letters_per_token": letters_per_token,
                    "stopped": ("time budget" if steps < cfg.max_steps else "max_steps"),
                    "steps": steps, "metrics": metrics,
                    **({"init": {"path": os.fspath(cfg.init), "training": previous.get("training")}}
                       if previous else {}),
                    **provenance(files, seed=cfg.seed, steps=steps)}
        meta = {"task": "mlm", "preset": cfg.preset, "seq_len": cfg.seq_len, "window": cfg.seq_len,
                "training": training}
        write_json(os.path.join(run.staging, "log_history.json"), trainer.state.log_history)
        save_model_dir(trainer.model, tok, run.staging, meta)  # genobert.json last: the mark of completion
        run.finish()
    return out


def bits_per_letter(loss_nats: float, letters_per_token: float) -> float:
    """MLM loss (nats per masked token) as bits per letter, so tokenizers compare: a token of a
    non-overlapping k-mer or a BPE piece carries several letters. Overlapping k-mers carry one new
    letter per token, so their figure is per token and not comparable."""
    return loss_nats / math.log(2) / max(letters_per_token, 1.0)


def _check_positive(cfg, *names: str) -> None:
    """Counts that must be 1 or more: one line naming the flag, never a traceback mid-run."""
    for name in names:
        value = getattr(cfg, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InputError(f"--{name.replace('_', '-')} {value}: expected a whole number of 1 or more")


def _check_rates(cfg, *names: str) -> None:
    """Learning rates and a time budget must be finite and 0 or more (a learning rate of 0 keeps
    the weights: a measurement); a negative or NaN one trained to the end and wrote a model."""
    for name in names:
        value = getattr(cfg, name)
        if (not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value)
                or value < 0):
            raise InputError(f"--{name.replace('_', '-')} {value}: expected a finite number of 0 or more")


def _check_init_conflicts(init: str, meta: dict, settings: dict) -> None:
    """``--init DIR`` brings its tokenizer, alphabet, preset and architecture: a different one asked
    for is an error, not ignored."""
    have = {"tokenizer": str(load_tokenizer(init).spec), "alphabet": meta.get("alphabet"),
            "preset": meta.get("preset"), "arch": architecture(init)}
    for key, value in have.items():
        asked = settings.get(key)
        if asked is not None and str(asked) != str(value):
            raise InputError(f"--{key} {asked} conflicts with --init {init}, whose {key} is {value}; "
                             f"leave --{key} out")


def _take_from_init(cfg, meta: dict):
    """The tokenizer of ``cfg.init``; its tokenizer, alphabet, preset and architecture are written
    into ``cfg`` so the provenance records what the run trained with, not the flags' defaults."""
    tok = load_tokenizer(cfg.init)
    cfg.tokenizer, cfg.alphabet, cfg.preset = str(tok.spec), meta["alphabet"], meta.get("preset")
    cfg.arch = architecture(cfg.init)
    return tok


def _checkpoint_step(checkpoint: str | None) -> int:
    if not checkpoint:
        return 0
    with open(os.path.join(checkpoint, "trainer_state.json")) as f:
        return int(json.load(f).get("global_step", 0))


def sampling_strategy(alphabet: str) -> str:
    """The Trainer's sampler for pretraining windows. Proteins shorter than the window come whole,
    so batches of similar lengths keep padding low: on the yeast proteome with 512-token windows,
    97 % of the batch positions hold real tokens, against 71 % in the plain HF recipe's random
    batches (`benchmarks/pretrain.py --alphabet protein`, docs/PERF.md). Genome windows are full,
    so random order wastes nothing."""
    return "group_by_length" if alphabet == "protein" else "random"


def step_clock(skip: int, budget: float = 0):
    """A Trainer callback timing the steps after the first ``skip`` (warm-up: torch.compile,
    kernel autotuning, allocator growth), with one CUDA synchronize at each end of the span;
    afterwards ``steady_seconds_per_step`` holds the mean (None for runs of ``skip`` steps or fewer).
    With ``budget`` (seconds) it stops training at the first step that ends past it.
    A factory, so that importing genobert.train does not import the Trainer."""
    import torch
    from transformers import TrainerCallback

    def now() -> float:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        return time.perf_counter()

    class StepClock(TrainerCallback):
        steady_seconds_per_step: float | None = None
        start: float | None = None
        began = time.perf_counter()

        def on_train_begin(self, args, state, control, **kwargs):
            self.began = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == skip:
                self.start = now()
            if budget and time.perf_counter() - self.began > budget:
                control.should_training_stop = True

        def on_train_end(self, args, state, control, **kwargs):
            if self.start is not None and state.global_step > skip:
                self.steady_seconds_per_step = (now() - self.start) / (state.global_step - skip)

    return StepClock()


def budget_trainer(budget: float, warmup: float):
    """A Trainer class whose learning rate follows the clock rather than the step count: linear
    warmup over ``warmup`` of ``budget`` seconds, then linear decay to 0 at the budget, where the
    step clock stops training. Sized to a CPU-time budget, the schedule ends where the run does,
    however fast the machine turns out to be."""
    from torch.optim.lr_scheduler import LambdaLR
    from transformers import Trainer

    start: list[float] = []  # set when the scheduler is made, just before the first step

    def factor(_step: int) -> float:
        if not start:
            start.append(time.perf_counter())
        p = min((time.perf_counter() - start[0]) / budget, 1.0)
        return p / warmup if p < warmup else max(0.0, (1 - p) / (1 - warmup))

    class BudgetTrainer(Trainer):
        def create_scheduler(self, num_training_steps: int, optimizer=None):
            if self.lr_scheduler is None:
                self.lr_scheduler = LambdaLR(optimizer or self.optimizer, factor)
            return self.lr_scheduler

    return BudgetTrainer


def heldout_masking(base, collator):
    """``base`` (a Trainer class) whose evaluations mask with ``collator`` rather than the
    training one: the held-out loss of every recipe is scored at the same mask rate."""

    class HeldOutMasking(base):
        def evaluate(self, *args, **kwargs):
            training, self.data_collator = self.data_collator, collator
            try:
                return super().evaluate(*args, **kwargs)
            finally:
                self.data_collator = training

    return HeldOutMasking


def quiet_trainer(trainer, verbose: bool, line) -> None:
    """One line per evaluation on stderr (``line(logs, state)``: the text, or None to stay quiet)
    instead of the Trainer's progress bar and raw log dictionaries; ``verbose`` keeps the
    Trainer's own output. The raw logs are saved with the model either way."""
    import sys

    from transformers import TrainerCallback
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    if verbose:
        return
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the shard-writing bars of every checkpoint
    hf_logging.set_verbosity_error()  # and the Trainer's notices (e.g. on file mtimes)
    trainer.remove_callback(ProgressCallback)
    trainer.remove_callback(PrinterCallback)
    start = time.perf_counter()

    class Lines(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            text = line(logs or {}, state) if state.is_world_process_zero else None
            if text:
                print(f"genobert: {text}, {time.perf_counter() - start:,.0f} s", file=sys.stderr, flush=True)

    trainer.add_callback(Lines())


def tie_break(metric: str):
    """A Trainer callback that adds ``eval_select``, the `selection_score` of ``metric`` and the
    validation loss, to each evaluation's metrics, for ``metric_for_best_model="select"``. It must
    come before EarlyStoppingCallback in the list: that reads the same key."""
    from transformers import TrainerCallback

    class TieBreak(TrainerCallback):
        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            if metrics and metrics.get(f"eval_{metric}") is not None:
                metrics["eval_select"] = finite_selection(metrics[f"eval_{metric}"], metrics["eval_loss"])

    return TieBreak()


def best_round(curve: list[dict], metric: str, loss: str = "loss") -> int | None:
    """Index of the evaluation round that `tie_break` makes the Trainer keep: the first highest
    `selection_score` (a round without a score never wins); None when no round has one."""
    scores = [finite_selection(c.get(metric), c[loss]) for c in curve]
    return int(np.argmax(scores)) if scores and max(scores) > NEVER else None


NEVER = -1e9  # the selection score of a diverged round (NaN loss or score): below every real one


def finite_selection(score: float, loss: float) -> float:
    """`selection_score`, or `NEVER` where it is not finite: NaN compares false both ways, so the
    Trainer kept a diverged first epoch against every later one, and argmax picked NaN."""
    value = selection_score(score, loss) if score is not None else NEVER
    return value if np.isfinite(value) else NEVER


def stop_record(best: int, ran: int, cap: int) -> dict:
    """The epoch kept (1-based) of ``ran`` run under a ``cap``: ``best_is_last`` when that was the
    last one and the cap ended the run (the model was still improving when it stopped)."""
    return {"best_epoch": best, "epochs_run": ran, "best_is_last": best == ran and ran >= cap}


def best_epoch(curve: list[dict], metric: str, cap: int) -> dict:
    """`stop_record` of a fine-tuning's validation curve (the round `best_round` keeps)."""
    best = best_round(curve, metric)
    return {} if best is None else stop_record(best + 1, len(curve), cap)


def rng_guard():
    """A Trainer callback that puts the random state back after each held-out evaluation (its
    data loader draws a seed), so evaluating changes nothing in training: the same weights with or
    without workers, with or without a resume between."""
    import random

    import torch
    from transformers import TrainerCallback

    class RngGuard(TrainerCallback):
        saved = None

        def on_step_end(self, args, state, control, **kwargs):  # runs before the step's evaluation
            self.saved = (torch.get_rng_state(), np.random.get_state(), random.getstate())

        def on_evaluate(self, args, state, control, **kwargs):
            if self.saved is not None:
                torch.set_rng_state(self.saved[0])
                np.random.set_state(self.saved[1])
                random.setstate(self.saved[2])

    return RngGuard()


def _resumable(cfg, **files: str | list[str] | None) -> dict:
    """What a resumed run must share with the run it continues: every setting but those of
    `RunConfig` (how a run treats its folder and its machine), and its input files and initial
    weights by content (a moved file is the same file, an edited one is not)."""
    def content(path: str) -> str:  # stdin or a pipe was read once, and is named
        return "sha256:" + file_sha256(path)[:16] if os.path.isfile(path) else path

    # not compared: how the run uses its folder and machine; a time budget (a resumed budget run
    # starts its clock again: the remaining time is the user's to give)
    skip = {f.name for f in fields(RunConfig)} | {"time_budget"}
    if cfg.init not in (None, "scratch"):  # the initial model brings these
        skip |= {"tokenizer", "alphabet", "preset", "arch"}
    settings = {k: v for k, v in asdict(cfg).items() if k not in skip}
    if settings.get("init") not in (None, "scratch"):
        settings["init"] = content(os.path.join(settings["init"], "model.safetensors"))
    if settings.get("sequences"):  # a pair task's sequence file
        settings["sequences"] = content(settings["sequences"])
    return {**settings, **{k: ([content(f) for f in v] if isinstance(v, list) else v and content(v))
                           for k, v in files.items()}}  # None too: a validation file given or not


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


def _ended(checkpoint: str | None):
    """The `TrainerState` of a checkpoint saved as training ended (early stopping, or the last
    epoch), else None. A resume from it would not stop: ``on_train_begin`` clears the saved
    stop, so early stopping would run at least one more epoch than the uninterrupted run."""
    from transformers import TrainerState

    if checkpoint is None:
        return None
    state = TrainerState.load_from_json(os.path.join(checkpoint, "trainer_state.json"))
    control = (state.stateful_callbacks or {}).get("TrainerControl", {})
    return state if control.get("args", {}).get("should_training_stop") else None


def _last_checkpoint(folder: str) -> str | None:
    """The newest *complete* checkpoint in ``folder``: the Trainer writes ``trainer_state.json``
    last, so a checkpoint without a readable one was cut off mid-save (by a kill, a full disk);
    those are removed so the resumed run writes them afresh. The Trainer loads a checkpoint's
    optimizer, scheduler and RNG state with torch.load with weights_only=True: nothing in it runs."""
    from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

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


# --------------------------------------------------------------------------- fine-tuning


def _adapt(cfg, seqs: list, run: RunDir, max_len: int) -> str:
    """Task-adaptive pretraining (Gururangan et al. 2020): ``cfg.adapt_steps`` more MLM steps of
    ``cfg.init`` on the training split's sequences only (never validation or test), in the run's
    working folder; returns the adapted model directory."""
    folder = os.path.join(run.work, "adapt")
    import shutil

    shutil.rmtree(folder, ignore_errors=True)  # a resumed fine-tuning adapts afresh (seeded: the same model)
    os.makedirs(folder)
    corpus = os.path.join(folder, "train_sequences.fa")
    with open(corpus, "w") as f:
        for i, s in enumerate(seqs):
            for j, member in enumerate(s if isinstance(s, tuple) else (s,)):
                f.write(f">r{i}_{j}\n{member}\n")
    return pretrain(corpus, os.path.join(folder, "model"), init=cfg.init, max_steps=cfg.adapt_steps,
                    seq_len=max_len, batch_size=cfg.batch_size, lr=cfg.adapt_lr, holdout=0,
                    seed=cfg.seed, overwrite=True, save_steps=10 ** 9, verbose=cfg.verbose,
                    precision=cfg.precision)


def read_labelled(path: str, alphabet: str) -> tuple[list[str], list[str], list[str], list[int]]:
    """ids, sequences, labels and lines of a labelled file; every record must have a label."""
    data = read_labelled_file(path, alphabet)
    return data.ids, data.seqs, data.targets, data.lines


def label_names(labels: list[str]) -> list[str]:
    """Sorted class names; numerically when all are integers ('2' before '10')."""
    return class_names(labels)


def stratified_split(n: int, labels: list, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation indices; stratified by class when every class has two members
    (``labels`` of any other kind, e.g. numbers or per-letter arrays, give a plain random split)."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(n)
    strata = labels if labels and isinstance(labels[0], (int, np.integer)) else None
    classes = len(set(strata)) if strata is not None else 1
    if strata is not None and min(np.bincount(strata)[np.bincount(strata) > 0]) < 2:
        strata = None
    size = max(int(np.ceil(fraction * n)), classes if strata is not None else 1)
    if n - size < classes:
        raise InputError(f"too few rows ({n}) to hold out a validation set and keep every class "
                         "in training; give --valid FILE")
    train, valid = train_test_split(idx, test_size=size, random_state=seed, stratify=strata)
    return np.sort(train), np.sort(valid)


def finetune(train: str, out: str, *, valid: str | None = None, test: str | None = None,
             **settings) -> str:
    """Fine-tune a [CLS] classifier on a labelled TSV/CSV; returns ``out``, a model directory
    with ``metrics.json`` (per split: accuracy, MCC, macro-F1, AUROC; the loss curve).

    ``settings`` are the fields of `FinetuneConfig` (init, preset, tokenizer, alphabet, epochs, ...).
    With ``init="scratch"`` the model has the same config as a pretrained one of the same preset and
    tokenizer, so the two differ only in their initial weights.
    """
    import torch
    from transformers import EarlyStoppingCallback, Trainer

    cfg = _config(FinetuneConfig, settings)
    task = get_task(cfg.task)
    pretrained = cfg.init != "scratch"
    _check_positive(cfg, "epochs", "batch_size")
    _check_rates(cfg, "lr", "adapt_lr")
    if cfg.patience < 0:
        raise InputError(f"--patience {cfg.patience}: expected 0 or more epochs")
    if cfg.max_len and cfg.max_len < 3 or cfg.max_len < 0:
        raise InputError(f"--max-len {cfg.max_len}: a window needs room for [CLS], a letter and "
                         "[SEP] (3 or more; 0 = the model's own)")
    if not 0 < cfg.valid_fraction < 1:
        raise InputError(f"valid_fraction {cfg.valid_fraction}: expected a share between 0 and 1")
    if cfg.sequences and task.name != "pair":
        raise InputError(f"--sequences is for --task pair (the sequence file pair tables name); "
                         f"this is --task {task.name}")
    if cfg.mask_column and task.name != "token":  # read, and ignored: say so
        raise InputError(f"--mask-column is for --task token (letters left out of loss and scores); "
                         f"this is --task {task.name}")
    if cfg.pair_columns != FinetuneConfig.pair_columns and task.name != "pair":
        raise InputError(f"--pair-columns is for --task pair; this is --task {task.name}")
    if pretrained:
        cfg.init = resolve(cfg.init)
        meta = read_meta(cfg.init)
        _check_init_conflicts(cfg.init, meta, settings)
        tok = _take_from_init(cfg, meta)
        alphabet = meta["alphabet"]
        max_len = cfg.max_len or meta.get("window", 512)
    else:
        alphabet = cfg.alphabet
        max_len = cfg.max_len or 512

    def read(path: str) -> Labelled:
        return task.read(path, alphabet, cfg)

    data = read(train)  # every input is read and checked before training starts
    names = task.class_names(data)
    y = task.encode(data, names)
    if not pretrained:
        letters = [x for s in data.seqs for x in (s if isinstance(s, tuple) else (s,))]
        tok = build_tokenizer(cfg.tokenizer, alphabet, letters)  # a BPE learns from the training set
    task.check_tokenizer(tok)
    if valid:
        v_data = read(valid)
        t_seqs, t_y, v_seqs, v_y = data.seqs, y, v_data.seqs, task.encode(v_data, names)
    else:
        tr, va = stratified_split(len(data.seqs), y, cfg.valid_fraction, cfg.seed)
        t_seqs, t_y = [data.seqs[i] for i in tr], [y[i] for i in tr]
        v_seqs, v_y = [data.seqs[i] for i in va], [y[i] for i in va]
    splits = {"train": (t_seqs, t_y), "valid": (v_seqs, v_y)}
    if test:
        s_data = read(test)
        splits["test"] = (s_data.seqs, task.encode(s_data, names))
    run = RunDir(out, kind="finetune", overwrite=cfg.overwrite, resume=cfg.resume,
                 init=cfg.init if pretrained else None, keep_checkpoints=cfg.keep_checkpoints,
                 settings=_resumable(cfg, train=train, valid=valid, test=test))
    if run.complete:
        return out
    if cfg.adapt_steps < 0 or (cfg.adapt_steps and not pretrained):
        raise InputError(f"--adapt-steps {cfg.adapt_steps}: continues the MLM pretraining of --init "
                         "on the training sequences, so it needs a pretrained --init and 1 or more steps")
    head = task.config(names)
    torch.manual_seed(cfg.seed)  # the head's initial weights
    if pretrained:  # loaded before the work folder is made: a damaged --init leaves nothing behind
        model = load_model(cfg.init, task.head, **head)
        max_len = min(max_len, model.config.max_position_embeddings)  # before --adapt-steps uses it
    run.start()
    if cfg.adapt_steps:  # the head starts alike after adaptation, seeded as above
        init = _adapt(cfg, t_seqs, run, max_len)
        torch.manual_seed(cfg.seed)
        model = load_model(init, task.head, **head)
    elif not pretrained:
        model = task.model_class().from_config(build_config(cfg.preset, tok, arch=cfg.arch, **head))
    max_len = min(max_len, model.config.max_position_embeddings)
    train_ds, valid_ds = task.dataset(t_seqs, t_y, tok, max_len, training=True), task.dataset(v_seqs, v_y, tok, max_len)
    if getattr(train_ds, "unfit", 0):  # spans no window can hold: taught as 'no span here'
        print(f"genobert: {train_ds.unfit} training spans are longer than a window ({max_len - 2} "
              "letters); no window holds them (give a larger --max-len)", file=sys.stderr)

    def compute_metrics(pred) -> dict:  # the validation set, windows put together per sequence
        logits = task.from_trainer(pred.predictions)
        per_window = [logits[j, : len(w)] if logits.ndim == 3 else logits[j]
                      for j, w in enumerate(valid_ds.windows)]
        return task.score(task.predict(per_window, valid_ds), v_y)

    schedule = epoch_schedule(len(train_ds), cfg.batch_size, cfg.epochs, cfg.min_epoch_rows)
    args = _training_args(run.checkpoints, cfg, **schedule, logging_strategy="steps", logging_steps=10,
                          load_best_model_at_end=True, metric_for_best_model="select",
                          greater_is_better=True,
                          restore_callback_states_from_checkpoint=True)  # patience counts on over a resume
    trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=valid_ds,
                      data_collator=task.collate, compute_metrics=compute_metrics,
                      callbacks=[tie_break(task.metric)]  # patience 0: every epoch (as the baselines)
                      + ([EarlyStoppingCallback(early_stopping_patience=cfg.patience)] if cfg.patience else []))
    rounds = "epoch" if "num_train_epochs" in schedule else f"round of {schedule['eval_steps']} steps"
    quiet_trainer(trainer, cfg.verbose, lambda logs, state: (
        f"{rounds} {sum(f'eval_{task.metric}' in h for h in state.log_history)}/{cfg.epochs}: train loss "
        f"{next((h['loss'] for h in reversed(state.log_history) if 'loss' in h), float('nan')):.4f}, "
        f"valid {task.metric} {logs.get('eval_' + task.metric, float('nan')):.4f}"
        if f"eval_{task.metric}" in logs else None))
    last = _last_checkpoint(run.checkpoints) if cfg.resume else None
    ended = _ended(last)
    if ended is None:
        trainer.train(resume_from_checkpoint=last)
        history, model = trainer.state.log_history, trainer.model
    else:  # killed after its training had ended (scoring the test set): the Trainer would train on
        history = ended.log_history
        best = os.path.join(run.checkpoints, os.path.basename(ended.best_model_checkpoint or last))
        model = type(trainer.model).from_pretrained(best if os.path.isdir(best) else last)  # not the cwd's
    if not trainer.is_world_process_zero():
        return out
    metrics = {split: score_sequences(task, model, tok, s, lab, max_len) for split, (s, lab) in splits.items()}
    metrics["loss_curve"] = [{"step": h["step"], "loss": h["loss"]} for h in history if "loss" in h]
    metrics["valid_curve"] = [{"step": h["step"], "epoch": i + 1, "loss": h["eval_loss"],  # round i + 1
                               "mcc": h.get("eval_mcc"), task.metric: h.get(f"eval_{task.metric}")}
                              for i, h in enumerate(h for h in history if "eval_loss" in h)]
    metrics["score"] = task.metric  # the validation score that picked the best epoch
    metrics["select"] = "validation score, ties broken by the lower validation loss"
    best = best_round(metrics["valid_curve"], task.metric)
    metrics["best_epoch"] = None if best is None else metrics["valid_curve"][best]["epoch"]
    files = [train] + [f for f in (valid, test) if f]
    meta = {"task": task.name, "labels": names, "window": max_len,
            "preset": cfg.preset,
            **({"pair_columns": cfg.pair_columns} if task.name == "pair" else {}),
            "window_overlap": task.window_overlap,
            "training": {"kind": "finetune", "config": asdict(cfg), "init": cfg.init,
                         **({"adapted": {"steps": cfg.adapt_steps, "sequences": len(t_seqs)}}
                            if cfg.adapt_steps else {}),
                         **provenance(files, seed=cfg.seed)}}
    write_json(os.path.join(run.staging, "log_history.json"), history)  # the raw Trainer logs
    write_json(os.path.join(run.staging, "metrics.json"), metrics)
    save_model_dir(model, tok, run.staging, meta)  # genobert.json last: the mark of completion
    return run.finish()


def score_sequences(task, model, tok, seqs: list, targets: list, max_len: int) -> dict:
    """A model's scores on labelled sequences: windows, logits put together per sequence (how
    `finetune` scores its splits and `infer.evaluate` any labelled file)."""
    dataset = task.dataset(seqs, targets, tok, max_len)
    return task.score(task.predict(window_logits(model, dataset), dataset), targets)

