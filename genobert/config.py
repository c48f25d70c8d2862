"""The settings of `pretrain` and `finetune`, defined once: the Python API takes them as keyword
arguments and the command line takes its defaults from them. A light module (no torch), so the
CLI can read it at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RunConfig:
    """How a training run treats its folder and its machine; shared by both commands."""

    resume: bool = False  # continue the unfinished run in OUT.work (see genobert.rundir)
    overwrite: bool = False  # replace a model already in OUT, swapped in only when complete
    keep_checkpoints: bool = False  # keep OUT.work/checkpoints after success
    workers: int | None = None  # data-loading processes; None: 4 on CUDA, 0 (inline) on a CPU
    compile: bool = False  # torch.compile the model (the Trainer's torch_compile)
    verbose: bool = False  # the Trainer's progress bar and log dictionaries instead of one line
    # per evaluation (the raw logs are in the model's log_history.json either way)


@dataclass
class PretrainConfig(RunConfig):
    """Settings of `pretrain`; every field is a keyword argument of it."""

    tokenizer: str = "char"
    alphabet: str = "dna"
    preset: str = "small"
    arch: str = "bert"  # bert, or modernbert (pre-norm, GeGLU, rotary positions, no biases)
    init: str | None = None  # continue from this MLM model directory: its weights, tokenizer and
    # preset; a new optimizer and a fresh schedule, tokens seen added to its provenance
    seq_len: int = 0  # tokens per window, [CLS] and [SEP] included; 0: the --init model's
    # window (a continuation trains on what it was trained on), or 512 (BERT's) for a new model
    max_steps: int = 1000
    batch_size: int = 32  # per device
    grad_accum: int = 1
    lr: float = 5e-4  # peak, after warmup; BERT-small-like models take 5e-4 on MLM
    warmup: float = 0.06  # fraction of steps
    weight_decay: float = 0.01
    mask_rate: float = 0.15
    heldout_mask_rate: float = 0.15  # the held-out loss masks at this rate whatever mask_rate
    # trains with: a 40 % mask hides more context, so scored at its own rate it reads worse
    dropout: float = 0.1  # BERT's; Cramming turns it off for short budgets
    holdout: float = 0.01  # share of the corpus held out for the MLM loss (whole records or blocks)
    eval_steps: int = 0  # held-out loss every N steps; 0: ten times per run (and always at the end)
    eval_windows: int = 256  # held-out windows scored each time (fixed draws, fixed masks)
    time_budget: float = 0  # seconds; with it the learning rate follows the clock (warmup, then
    # linear decay to 0 at the budget) and training stops there: max_steps is then an upper bound
    precision: str = "auto"  # auto: bf16 on a GPU that has it, else fp32; bf16 on a CPU with AMX
    # measured 2.4x faster for a 4 x 256 model (autocast; weights and optimizer stay fp32)
    seed: int = 0
    save_steps: int = 500
    logging_steps: int = 10


@dataclass
class FinetuneConfig(RunConfig):
    """Settings of `finetune`; every field is a keyword argument of it."""

    init: str = "scratch"  # a pretrained model directory, or "scratch" (random init)
    preset: str = "small"  # with init="scratch"; a pretrained directory brings its own
    tokenizer: str = "char"  # with init="scratch"
    alphabet: str = "dna"  # with init="scratch"
    arch: str = "bert"  # with init="scratch": bert or modernbert
    max_len: int = 0  # tokens per window; 0: the pretrained window, or 512 from scratch
    epochs: int = 10
    batch_size: int = 32
    lr: float = 3e-4  # the middle of the benchmark's grid (1e-4..1e-3) for these 2-6 layer models;
    # BERT-base's 5e-5 left a one-epoch `small` model predicting a single class
    warmup: float = 0.1
    weight_decay: float = 0.01
    task: str = "sequence"  # sequence | regression | token | pair | span (see genobert.tasks)
    label_column: str = "label"  # the table column holding the targets
    mask_column: str | None = None  # --task token: 0/1 per letter, 0 = left out of loss and scores
    pair_columns: str = "sequence_a,sequence_b"  # --task pair: the two columns
    sequences: str | None = None  # --task pair: a sequence file; the pair columns then hold its ids
    patience: int = 3  # epochs without a better validation score (MCC, Spearman, macro-F1)
    min_epoch_rows: int = 0  # a smaller training set is gone through several times per epoch
    # (patience and the cap count these rounds); 0: an epoch is one pass. The benchmark sets
    # 960 (genobert.bench.Profile says why)
    precision: str = "auto"  # auto: bf16 on a GPU that has it, else fp32; bf16 pays on AMX CPUs
    valid_fraction: float = 0.1  # carved from train (stratified, seeded) when no valid file
    adapt_steps: int = 0  # MLM steps on the training sequences before fine-tuning (task-adaptive
    # pretraining, Gururangan et al. 2020); needs a pretrained init
    adapt_lr: float = 2e-4  # a continued pretraining takes a lower rate than a first one
    seed: int = 0
