"""The `genobert` command line: one thin subcommand per library call.

Exit status: 0 on success; 2 for a user error (bad flag, bad or missing input), printed as one
line ``genobert: error: FILE:LINE: what is wrong`` with no traceback; 1 for anything unexpected.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys

from . import __version__
from .config import FinetuneConfig, PretrainConfig
from .errors import InputError

P, F = PretrainConfig(), FinetuneConfig()  # the defaults, defined once


def at_least(low: int):
    """An argparse type: a whole number of ``low`` or more."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value}: expected {low} or more")
        return value

    return parse


positive, non_negative = at_least(1), at_least(0)


class _Parser(argparse.ArgumentParser):
    """argparse with the design's one-line error instead of usage + error."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def named(text: str) -> str:
    """An argparse type: a file, folder or column name, never empty (``--init "$MODEL"`` with
    MODEL unset must not read as 'not given')."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty; expected a name (an unset variable?)")
    return text


def pair_columns(text: str) -> str:
    """An argparse type: two distinct column names, ``A,B``."""
    names = [c.strip() for c in text.split(",")]
    if len(names) != 2 or not all(names) or names[0] == names[1]:
        raise argparse.ArgumentTypeError(f"{text!r}: expected two distinct column names, A,B")
    return text


def seed(text: str) -> int:
    """An argparse type: a seed numpy and torch both take, 0 to 2**32 - 1."""
    value = at_least(0)(text)
    if value >= 2**32:
        raise argparse.ArgumentTypeError(f"{value}: expected 0 to {2**32 - 1}")
    return value


def finite(text: str) -> float:
    """An argparse type: a finite number of 0 or more (a rate, a budget)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text}: expected a finite number of 0 or more")
    return value


def create_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="genobert", description=(
        "BERT for biological sequences: read DNA and proteins from FASTA, FASTQ or TSV/CSV "
        "(plain, .gz, .bz2, .xz or '-' for stdin) and describe them."))
    parser.add_argument("--version", action="version", version=f"genobert {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("inspect", help="counts, lengths, alphabet and problems of sequence files",
                       description="Describe sequence files like `seqkit stats`: format, "
                       "compression, records, total/min/median/max length, the alphabet they look "
                       "like, letters outside it, soft-masked letters, duplicate ids and label "
                       "counts. A broken file stops with a one-line error and exit status 2.")
    p.add_argument("files", nargs="+", metavar="FILE", help="FASTA, FASTQ or TSV/CSV; .gz/.bz2/.xz; '-' = stdin")
    p.add_argument("--tsv", action="store_true", help="machine-readable TSV instead of an aligned table")
    p.set_defaults(run=_inspect)

    p = sub.add_parser("pretrain", help="pretrain a BERT by masked-language modelling on sequences",
                       description="Masked-language pretraining on unlabeled FASTA (a genome, a "
                       "proteome): random windows, 15% masking by default (whole k-mer spans for overlapping "
                       "k-mers), HF Trainer with checkpoints. Runs under torchrun for DDP.")
    p.add_argument("--corpus", type=named, nargs="+", required=True, metavar="FILE", help="FASTA/FASTQ/TSV; .gz/.bz2/.xz")
    p.add_argument("--out", type=named, required=True, metavar="DIR", help="model directory to write")
    p.add_argument("--init", type=named, metavar="DIR", help="continue pretraining this MLM model directory "
                   "(its tokenizer, alphabet, preset, architecture and window; new optimizer, fresh "
                   "schedule, tokens seen added up)")
    _model_options(p, " (not with --init)", defaults=False)
    p.add_argument("--exclude", type=named, nargs="+", default=[], metavar="FILE",
                   help="sequence files (e.g. test sets) whose overlap is cut out of the corpus")
    p.add_argument("--seq-len", type=positive, default=P.seq_len, help="tokens per window (default: the --init model's window, else 512)")
    p.add_argument("--max-steps", type=positive, default=P.max_steps, help=f"default: {P.max_steps}")
    p.add_argument("--batch-size", type=positive, default=P.batch_size, help=f"per device (default: {P.batch_size})")
    p.add_argument("--grad-accum", type=positive, default=P.grad_accum,
                   help=f"batches summed per optimiser step (default: {P.grad_accum})")
    p.add_argument("--lr", type=finite, default=P.lr, help=f"peak learning rate (default: {P.lr:g})")
    p.add_argument("--mask-rate", type=float, default=P.mask_rate, help=f"default: {P.mask_rate}")
    p.add_argument("--dropout", type=float, default=P.dropout, help=f"default: {P.dropout}")
    p.add_argument("--holdout", type=float, default=P.holdout,
                   help=f"share of the corpus held out for the MLM loss (default: {P.holdout})")
    p.add_argument("--eval-steps", type=non_negative, default=P.eval_steps,
                   help="held-out loss every N steps (default: ten times per run)")
    p.add_argument("--time-budget", type=finite, default=0, metavar="MINUTES",
                   help="learning rate on the clock (warmup, decay to 0 at the budget), then stop "
                   "and save; --max-steps is an upper bound (default: no limit)")
    p.add_argument("--save-steps", type=positive, default=P.save_steps, help=f"checkpoint every N steps (default: {P.save_steps})")
    _run_options(p, P)
    _speed_options(p)
    p.set_defaults(run=_pretrain)

    p = sub.add_parser("finetune", help="fine-tune a classifier, regressor or per-letter tagger",
                       description="Fine-tune on a TSV/CSV with 'sequence' and 'label' (or "
                       "--label-column) columns, from a pretrained model directory or from scratch "
                       "(the same config, random weights): a class per sequence from [CLS], a "
                       "number per sequence (--task regression), or a class per letter (--task "
                       "token). Writes DIR/metrics.json.")
    p.add_argument("--train", type=named, required=True, metavar="FILE")
    p.add_argument("--out", type=named, required=True, metavar="DIR")
    p.add_argument("--valid", type=named, metavar="FILE", help="default: 10%% of train, stratified, seeded")
    p.add_argument("--test", type=named, metavar="FILE")
    p.add_argument("--init", type=named, default="scratch", metavar="DIR|scratch",
                   help="pretrained model directory, or scratch (default)")
    p.add_argument("--task", default="sequence", choices=["sequence", "regression", "token", "pair", "span"],
                   help="sequence: a class per sequence (default); regression: a number per "
                   "sequence; token: a class per letter, given as a string of one-character "
                   "labels; pair: a class per pair of sequences; span: one stretch per sequence, "
                   "from 'start' and 'end' columns (1-based, inclusive)")
    p.add_argument("--label-column", type=named, default=F.label_column, metavar="NAME",
                   help=f"the column of the targets (default: {F.label_column}; e.g. ss3 for secondary structure)")
    p.add_argument("--mask-column", type=named, default=None, metavar="NAME",
                   help="--task token: a 0/1 string per letter; 0 leaves the letter out of loss and scores")
    p.add_argument("--pair-columns", type=pair_columns, default="sequence_a,sequence_b", metavar="A,B",
                   help="--task pair: the two columns (default: sequence_a,sequence_b)")
    p.add_argument("--sequences", type=named, metavar="FILE", help="--task pair: a FASTA/TSV of named "
                   "sequences; the pair columns then hold their ids")
    _model_options(p, " (with --init scratch; a pretrained directory brings its own)", defaults=False)
    p.add_argument("--max-len", type=non_negative, default=F.max_len,
                   help="tokens per window (default: the pretrained one, or 512)")
    p.add_argument("--epochs", type=positive, default=F.epochs, help=f"at most (default: {F.epochs})")
    p.add_argument("--batch-size", type=positive, default=F.batch_size, help=f"default: {F.batch_size}")
    p.add_argument("--lr", type=finite, default=F.lr, help=f"peak learning rate (default: {F.lr:g})")
    p.add_argument("--patience", type=non_negative, default=F.patience,
                   help=f"epochs without a better validation score before stopping; 0: never stop early "
                   f"(default: {F.patience})")
    p.add_argument("--min-epoch-rows", type=non_negative, default=F.min_epoch_rows, metavar="N",
                   help="an epoch trains on at least N rows: a smaller training set is gone through "
                   "several times (with a few dozen labels an epoch is a step or two, too short for "
                   "--patience to judge); 0: one pass (default)")
    p.add_argument("--adapt-steps", type=non_negative, default=F.adapt_steps, metavar="N",
                   help="first continue the MLM pretraining of --init for N steps on the training "
                   "sequences (never validation or test): task-adaptive pretraining")
    _run_options(p, F)
    _speed_options(p)
    p.set_defaults(run=_finetune)

    p = sub.add_parser("classify", help="classify the records of sequence files into a TSV",
                       description="Apply a fine-tuned model to FASTA / FASTQ / TSV files "
                       "(plain, .gz, .bz2, .xz, '-' = stdin). Writes a TSV, one row per record in input "
                       "order (and file first when several inputs): id, label, prob_<class>... for "
                       "a classifier; id, value for --task regression; id, labels (one character "
                       "per letter) for --task token; id, start, end for --task span. Streaming: memory does not grow with the input.")
    _infer_options(p, "OUT.tsv")
    p.add_argument("--sequences", type=named, metavar="FILE", help="pair models: the sequence file whose ids "
                   "the pair tables name (as in training)")
    p.add_argument("--threshold", type=float, metavar="P", help="binary classifiers: call the second "
                   "class when its probability reaches P (default: the likelier class)")
    p.add_argument("--top-k", type=positive, metavar="K", help="classifiers: add a top_k column, the "
                   "K likeliest classes")
    p.set_defaults(run=_classify)

    p = sub.add_parser("embed", help="embed the records of sequence files into HDF5",
                       description="Embeddings of every record from any genobert model directory "
                       "(pretrained or fine-tuned), written incrementally to HDF5: ids, files, and "
                       "embeddings (N x hidden) or, with --pooling tokens, one dataset per record.")
    _infer_options(p, "OUT.h5")
    p.add_argument("--pooling", default="cls", choices=["cls", "mean", "tokens"],
                   help="cls: the [CLS] vector; mean: over real tokens; tokens: every token (default: cls)")
    p.add_argument("--layer", type=int, default=-1, help="hidden layer: -1 the last, 0 the embeddings (default: -1)")
    p.set_defaults(run=_embed)

    p = sub.add_parser("bench", help="run a benchmark suite: tasks x methods x seeds -> report",
                       description="Run (or resume) a suite of real tasks through k-mer and one-hot "
                       "logistic regressions, a CNN, BERT from scratch, BERT fine-tuned from a "
                       "pretrained model and its frozen-embedding probe, several seeds each, with a "
                       "paired verdict; writes results.jsonl, results.json, results.md and plots "
                       "(with matplotlib) into --out.")
    p.add_argument("--suite", metavar="NAME|FILE.json",
                   help="a suite of the shared data sets: quick, dna, protein, transfer (trained on one "
                   "organism, tested on another); or a JSON file describing your own tasks "
                   "(docs/benchmark.md)")
    p.add_argument("--task", action="append", default=[], metavar="NAME=TRAIN[,VALID],TEST",
                   help="your own labelled table(s) instead of a suite (repeatable); with --folds, NAME=FILE")
    p.add_argument("--folds", type=non_negative, default=0, metavar="K",
                   help="--task: stratified K-fold cross-validation of one file (small sets)")
    p.add_argument("--alphabet", choices=["dna", "rna", "protein"], help="--task: default: read from the file")
    p.add_argument("--kind", choices=["sequence", "regression", "pair"],
                   help="--task: default: read from the table")
    p.add_argument("--label-column", type=named, default=None, metavar="NAME",
                   help=f"--task: the column of the targets (default: {F.label_column})")
    p.add_argument("--epochs", type=positive, help="BERT fine-tuning epoch cap (default: the profile's)")
    p.add_argument("--pretrain-steps", type=positive, help="--pretrained fresh: MLM steps (default: the profile's)")
    p.add_argument("--english-mapping", choices=["random", "words"],
                   help="bert-english / english-scratch: letters as a seeded random choice of word pieces "
                   "(Kao & Lee's, the default) or as fixed common English words")
    p.add_argument("--threads", type=positive, help="CPU threads for torch (default: all cores)")
    p.add_argument("--fractions", default="1", metavar="F,F",
                   help="label efficiency: train on these shares of the labels, e.g. 0.01,0.03,0.1,0.3,1 "
                   "(the same seeded, stratified subsets for every method; default: 1)")
    p.add_argument("--data-dir", type=named, default=None, help="folder of the datasets (default: ~/.cache/genobert/data)")
    p.add_argument("--profile", default="cpu", choices=["cpu", "gpu"],
                   help="how much each method may train (genobert/bench/suites.py; default: cpu)")
    p.add_argument("--seeds", type=int, default=3, help="seeds (or folds) per task and method (default: 3)")
    p.add_argument("--only-seeds", metavar="K,K", help="run just these of the seeds 0 .. --seeds - 1 "
                   "(or folds), e.g. one process per core on seeds 1 and 2 once seed 0 has chosen the "
                   "learning rates (default: all)")
    p.add_argument("--methods", default=None, help="comma-separated methods, e.g. kmer-lr,bert-scratch,"
                   "bert-pretrained (default: all; docs/benchmark.md lists them, and an unknown name "
                   "is answered with the allowed ones)")
    p.add_argument("--tasks", default=None, help="comma-separated tasks of the suite (default: all); "
                   "runs already in OUT are skipped, so one process per core can share OUT once "
                   "the suite's pretraining is there")
    p.add_argument("--pretrained", default="released", metavar="released|fresh|DIR",
                   help="what bert-pretrained starts from: the released model of the task's "
                   "alphabet (default), fresh (pretrained here on the suite's corpus) or a model directory")
    p.add_argument("--out", type=named, required=True, metavar="DIR")
    p.set_defaults(run=_bench)

    p = sub.add_parser("demo", help="the whole story in minutes on a CPU: real data where present, else simulated; no network",
                       description="Fine-tune a pretrained BERT and the same BERT from scratch, fit "
                       "a k-mer baseline, print the comparison, draw the curves (with matplotlib) and "
                       "classify a file. Where the E. coli promoter table is present (in --data-dir, or "
                       "fetched into ~/.cache/genobert/data) it runs on that real task with the released "
                       "genobert-dna; otherwise on SIMULATED data (motifs whose order and spacing decide "
                       "the label) with a tiny BERT pretrained on a simulated genome. Its first line "
                       "says which.")
    p.add_argument("--out", type=named, default="genobert-demo", metavar="DIR", help="default: ./genobert-demo")
    p.add_argument("--data-dir", type=named, default=None, help="where to look for the E. coli promoter table "
                   "(default: ~/.cache/genobert/data)")
    p.add_argument("--seed", type=seed, default=0, help="default: 0")
    p.set_defaults(run=_demo)

    p = sub.add_parser("models", help="the released pretrained models: list and verify",
                       description="Released models (models/NAME in the repository, and folders "
                       "on $GENOBERT_MODELS): name, size, tokens seen in pretraining, the sha256 of "
                       "its weights, and whether every file matches the sums its genobert.json "
                       "records. Any command taking a model directory takes these names too.")
    p.set_defaults(run=_models)

    p = sub.add_parser("data", help="the datasets genobert knows: list, verify a copy, fetch",
                       description="Data manifests (data_manifests/*.json): list them, verify a "
                       "local copy against their sha256, or fetch a dataset: downloaded as upstream "
                       "serves it, or rebuilt from its upstream files at their pinned commits "
                       "($GENOBERT_UPSTREAM, default https://raw.githubusercontent.com), every "
                       "file checked.")
    dsub = p.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    dsub.required = True
    dsub.add_parser("list", help="datasets, their kind, level and files").set_defaults(run=_data_list)
    v = dsub.add_parser("verify", help="check a local copy against the manifests' sha256")
    v.add_argument("--data-dir", type=named, default=None, help="folder holding one subfolder per dataset")
    v.add_argument("names", nargs="*", metavar="NAME", help="datasets to check (default: all)")
    v.set_defaults(run=_data_verify)
    f = dsub.add_parser("fetch", help="download (or rebuild from upstream) a dataset's files, checked")
    f.add_argument("name", metavar="NAME")
    f.add_argument("--data-dir", type=named, default=None, help="default: ~/.cache/genobert/data")
    f.set_defaults(run=_data_fetch)
    return parser


def _model_options(p: argparse.ArgumentParser, when: str = "", defaults: bool = True) -> None:
    """--tokenizer, --alphabet and --preset: what a new model is made of (``defaults=False``:
    None when not given, so a conflict with ``--init`` can be told from a default)."""
    def default(value):
        return value if defaults else None

    p.add_argument("--tokenizer", default=default("char"),
                   help=f"char, kmer:K, kmer:K:S or bpe:V (default: char){when}")
    p.add_argument("--alphabet", default=default("dna"), choices=["dna", "rna", "protein"],
                   help=f"default: dna{when}")
    p.add_argument("--arch", default=default("bert"), choices=["bert", "modernbert"],
                   help=f"bert, or modernbert: pre-norm, GeGLU, rotary positions, no biases (default: bert){when}")
    p.add_argument("--preset", default=default("small"), choices=["tiny", "micro", "mini", "small", "base"],
                   help=f"model size: tiny 2x64, micro 4x128, mini 4x256, small 6x384, base 12x768 (default: small){when}")


def _run_options(p: argparse.ArgumentParser, config) -> None:
    """What every training command shares: precision, seed and what happens to --out."""
    p.add_argument("--precision", default=config.precision, choices=["auto", "bf16", "fp32"],
                   help="auto: bf16 on a GPU that has it, else fp32; bf16 pays on CPUs with AMX "
                   f"(default: {config.precision})")
    p.add_argument("--seed", type=seed, default=config.seed, help=f"default: {config.seed}")
    p.add_argument("--resume", action="store_true",
                   help="continue the unfinished run of this --out (its checkpoints are in OUT.work)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the model in --out; the old one stays until the new one is complete")
    p.add_argument("--verbose", action="store_true",
                   help="the Trainer's progress bar and raw logs instead of one line per evaluation")
    p.add_argument("--keep-checkpoints", action="store_true",
                   help="keep OUT.work/checkpoints after success (removed by default: a model "
                   "directory holds safetensors and JSON only)")


def _speed_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="data-loading processes (default: 4 on CUDA, 0 on a CPU); results do not depend on it")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the model (slow first steps; dropout draws differ from eager)")


def _infer_options(p: argparse.ArgumentParser, out: str) -> None:
    p.add_argument("model", metavar="MODEL_DIR")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="FASTA, FASTQ or TSV/CSV; .gz/.bz2/.xz; '-' = stdin")
    p.add_argument("-o", "--out", type=named, required=True, metavar=out, help="written atomically: complete or absent")
    p.add_argument("--batch-tokens", type=positive,
                   help="tokens per batch, padding included (default: 16384 on CUDA, 4096 on a CPU, "
                        "where bigger batches leave the caches); halved on CUDA out-of-memory")
    p.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda when there is one)")
    p.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32"],
                   help="auto: bf16 autocast on a GPU, fp32 on a CPU; bf16 on a CPU is 1.7-2.8x faster "
                        "where it has AMX/AVX512-BF16 and slower where not (outputs agree within "
                        "bf16 rounding)")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the model (15-35 s of compiling first; on a CPU it did not "
                        "pay, see docs/PERF.md; for GPUs and large inputs)")
    p.add_argument("--on-invalid", default="error", choices=["error", "skip", "replace"],
                   help="records with letters outside the model's alphabet (default: error)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _inspect(args: argparse.Namespace) -> int:
    from .stats import format_stats, inspect_file

    stats = [inspect_file(f) for f in args.files]  # all read before anything is printed
    sys.stdout.write(format_stats(stats, tsv=args.tsv))
    return 0


def _given(args: argparse.Namespace) -> dict:
    """--tokenizer / --alphabet / --preset as given (a model from --init brings its own)."""
    return {k: getattr(args, k) for k in ("tokenizer", "alphabet", "preset", "arch")
            if getattr(args, k, None) is not None}


def _init_alphabet(init: str) -> str:
    """The alphabet of a model named by --init (its --exclude files are read in it)."""
    from .model import read_meta
    from .registry import resolve

    return read_meta(resolve(init))["alphabet"]


def _pretrain(args: argparse.Namespace) -> int:
    from .io import read_records
    from .train import pretrain

    given = _given(args)
    alphabet = given.get("alphabet") or (_init_alphabet(args.init) if args.init else "dna")
    exclude = {r.seq for f in args.exclude for r in read_records(f, alphabet=alphabet)} if args.exclude else None
    out = pretrain(args.corpus, args.out, init=args.init, **given, seq_len=args.seq_len,
                   max_steps=args.max_steps, batch_size=args.batch_size, grad_accum=args.grad_accum,
                   lr=args.lr, mask_rate=args.mask_rate, dropout=args.dropout, holdout=args.holdout,
                   eval_steps=args.eval_steps, time_budget=args.time_budget * 60, precision=args.precision,
                   save_steps=args.save_steps, seed=args.seed, resume=args.resume,
                   overwrite=args.overwrite, keep_checkpoints=args.keep_checkpoints,
                   verbose=args.verbose, workers=args.workers, compile=args.compile, exclude=exclude)
    print(f"genobert: pretrained model written to {out}", file=sys.stderr)
    return 0


def _finetune(args: argparse.Namespace) -> int:
    from .train import finetune

    out = finetune(args.train, args.out, valid=args.valid, test=args.test, init=args.init,
                   task=args.task, label_column=args.label_column, mask_column=args.mask_column,
                   pair_columns=args.pair_columns, sequences=args.sequences,
                   **_given(args), max_len=args.max_len, epochs=args.epochs,
                   batch_size=args.batch_size, lr=args.lr, patience=args.patience,
                   min_epoch_rows=args.min_epoch_rows, precision=args.precision, adapt_steps=args.adapt_steps, seed=args.seed, resume=args.resume,
                   overwrite=args.overwrite, keep_checkpoints=args.keep_checkpoints,
                   verbose=args.verbose, workers=args.workers, compile=args.compile)
    what = {"regression": "regression model", "token": "per-letter tagger", "span": "span model",
            "pair": "pair classifier"}.get(args.task, "classifier")
    print(f"genobert: {what} written to {out}; metrics in {out}/metrics.json", file=sys.stderr)
    import json

    metrics = json.load(open(f"{out}/metrics.json"))
    for split in ("valid", "test"):
        if split in metrics:
            scores = ", ".join(f"{k} {v:.4f}" for k, v in metrics[split].items()
                               if isinstance(v, float) and k in ("mcc", "accuracy", "auroc", "macro_f1",
                                                                 "spearman", "r2", "iou", "exact"))
            print(f"genobert: {split} ({metrics[split]['n']:,}): {scores}", file=sys.stderr)
    return 0


@contextlib.contextmanager
def _on_invalid_hint():
    """An invalid letter, in a command that has --on-invalid: the message names the flag."""
    from .alphabets import InvalidLetter

    try:
        yield
    except InvalidLetter as e:
        raise InputError(f"{e.message}; use --on-invalid skip or replace to go on",
                         path=e.path, line=e.line, record=e.record) from None


def _classify(args: argparse.Namespace) -> int:
    from .infer import write_classification

    with _on_invalid_hint():
        text = write_classification(args.model, args.inputs, args.out, batch_tokens=args.batch_tokens,
                                    device=args.device, precision=args.precision, compile=args.compile,
                                    on_invalid=args.on_invalid, quiet=args.quiet,
                                    sequences=args.sequences, threshold=args.threshold, top_k=args.top_k)
    print(text, file=sys.stderr)
    return 0


def _embed(args: argparse.Namespace) -> int:
    from .infer import write_embeddings

    with _on_invalid_hint():
        text = write_embeddings(args.model, args.inputs, args.out, pooling=args.pooling, layer=args.layer,
                                batch_tokens=args.batch_tokens, device=args.device,
                                precision=args.precision, compile=args.compile, on_invalid=args.on_invalid,
                                quiet=args.quiet)
    print(text, file=sys.stderr)
    return 0


def _bench(args: argparse.Namespace) -> int:
    import os
    import shlex

    from .bench import METHODS, SUITES, Suite, describe, read_suite, run_bench, user_task
    from .io import path_text
    from .manifests import default_data_dir

    if bool(args.suite) == bool(args.task):
        raise InputError("give either --suite NAME or --task NAME=TRAIN[,VALID],TEST (one or more)")
    for word in args.argv:  # the report records the command that re-runs it, as UTF-8 text
        if path_text(word) != word:
            raise InputError(f"'{path_text(word)}': not UTF-8 text (a file name's bytes?); bench writes "
                             "the command into its report to be re-run: rename the file")
    if args.folds and not args.task:
        raise InputError("--folds is for --task NAME=FILE (your own small data set)")
    for flag, value in (("--kind", args.kind), ("--alphabet", args.alphabet), ("--label-column", args.label_column)):
        if value and not args.task:  # a suite's tasks say theirs (a suite file: per task)
            raise InputError(f"{flag} is for --task; a suite's tasks give their own "
                             "(in a suite file, per task)")
    if args.folds == 1:
        raise InputError("--folds 1: cross-validation needs 2 or more folds (0: train and test files)")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    suite = args.suite
    if suite and suite not in SUITES:  # not a suite's name: a file of one's own tasks
        if not suite.endswith(".json") and not os.path.isfile(suite):
            raise InputError(f"--suite {suite}: allowed: {', '.join(SUITES)}, or a JSON file of tasks")
        suite = read_suite(suite)
    if args.task:
        suite = Suite("own", tuple(user_task(t, kind=args.kind, alphabet=args.alphabet, folds=args.folds,
                                             label_column=args.label_column or F.label_column)
                                   for t in args.task))
    for t in suite.tasks if isinstance(suite, Suite) else ():  # what was inferred, said once
        print(f"genobert: {describe(t)}", file=sys.stderr)
    methods = tuple(args.methods.split(",")) if args.methods else METHODS
    overrides = {k: v for k, v in (("epochs", args.epochs), ("pretrain_steps", args.pretrain_steps),
                                   ("english_mapping", args.english_mapping)) if v}
    try:
        fractions = tuple(sorted({float(f) for f in args.fractions.split(",")}))
    except ValueError:
        raise InputError(f"--fractions {args.fractions}: expected shares such as 0.1,0.3,1") from None
    try:
        only_seeds = tuple(sorted({int(k) for k in args.only_seeds.split(",")})) if args.only_seeds else None
    except ValueError:
        raise InputError(f"--only-seeds {args.only_seeds}: expected seeds such as 1,2") from None
    report = run_bench(suite, str(args.data_dir or default_data_dir()), args.out,
                       profile=args.profile, seeds=args.seeds, methods=methods,
                       tasks=tuple(args.tasks.split(",")) if args.tasks else None,
                       pretrained=args.pretrained, overrides=overrides, fractions=fractions,
                       only_seeds=only_seeds, command="genobert " + shlex.join(args.argv),
                       log=lambda line: print(f"genobert: {line}", file=sys.stderr))
    print(report)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(args.out, data_dir=args.data_dir, seed=args.seed, log=print)
    return 0


def _models(args: argparse.Namespace) -> int:
    from .registry import released, search_path, verify

    models = released()
    if not models:
        raise InputError("no released models found in " + ", ".join(search_path()))
    bad = 0
    print("name\tsize_mb\ttokens_seen\tsha256_weights\tstatus\tpath")
    for m in models:
        problems = verify(m)
        bad += bool(problems)
        print(f"{m.name}\t{m.size / 1e6:.1f}\t{m.tokens_seen:,}\t{m.sums.get('model.safetensors', '-')}"
              f"\t{'; '.join(problems) or 'ok'}\t{m.path}")
    return 2 if bad else 0


def _data_list(args: argparse.Namespace) -> int:
    from .manifests import load_manifests

    for name, m in load_manifests().items():
        upstream = len(m.info.get("upstream") or [])  # `data fetch` rebuilds these from upstream files
        direct = sum(1 for f in m.files if f.get("url"))
        how = (f"rebuilt from {upstream} upstream files" if upstream else
               f"{direct} of them downloaded as they are" if direct else "not fetchable")
        print(f"{name}\t{m.info.get('kind')}\t{m.info.get('level')}\t{len(m.files)} files"
              f"\t{how}\t{m.info.get('title')}")
    return 0


def _data_verify(args: argparse.Namespace) -> int:
    from .manifests import default_data_dir, verify

    rows = verify(args.data_dir or default_data_dir(), args.names or None)
    bad = [r for r in rows if r[2] != "ok"]
    for name, fname, status in rows:
        print(f"{status}\t{name}/{fname}")
    if not rows:
        raise InputError(f"no dataset named {', '.join(args.names)}")
    print(f"genobert: {len(rows) - len(bad)} of {len(rows)} files ok", file=sys.stderr)
    return 2 if bad else 0


def _data_fetch(args: argparse.Namespace) -> int:
    from .manifests import fetch

    for path in fetch(args.name, args.data_dir):
        print(path)
    return 0


def run(args: argparse.Namespace) -> int:
    return args.run(args)


class Terminated(BaseException):
    """SIGTERM or SIGHUP, raised where the program is, so that every ``finally`` and every
    partial-output cleanup runs as it does for Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _terminate(signum, frame):
    raise Terminated(signum)


def main(argv: list[str] | None = None) -> int:
    import signal

    args = create_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # what re-runs this (bench reports print it)
    previous = {s: signal.signal(s, _terminate) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        return run(args)
    except InputError as e:
        print(f"genobert: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("genobert: interrupted", file=sys.stderr)
        return 130
    except Terminated as e:
        print(f"genobert: stopped by {signal.Signals(e.signum).name}; partial output removed", file=sys.stderr)
        return 128 + e.signum
    except BrokenPipeError:  # `genobert inspect ... | head`
        sys.stderr.close()
        return 0
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


if __name__ == "__main__":
    sys.exit(main())
