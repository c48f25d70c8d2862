"""`classify()` and `embed()` over any number of sequence files, streaming, in memory that does
not grow with the input; `write_classification()` / `write_embeddings()` for TSV and HDF5 files.

Records are read in chunks; inside a chunk each sequence becomes windows (the same windows and
logit averaging as fine-tuning), the windows are sorted by length into token-budget batches
(ESM's ``toks_per_batch``) and the results are put back in input order. On CUDA the model runs in
bf16 autocast and an out-of-memory error halves the batch and retries.
"""

from __future__ import annotations

import csv
import errno
import numbers
import os
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from .alphabets import Cleaner, Policy
from .config import FinetuneConfig
from .data import window_starts
from .errors import InputError
from .io import Record, atomic_output, check_output, path_text, read_records
from .model import check_model_dir, default_batch_tokens, forward_windows, load_model, read_meta
from .registry import resolve
from .tokenize import CLS_ID, SEP_ID, load_tokenizer
from .metrics import softmax
from .tables import normalise_label, read_pairs
from .tasks import TASKS, best_span, get_task, window_logits

POOLINGS = ("cls", "mean", "tokens")
CHUNK_RECORDS = 1024  # records read, tokenized and batched together


@dataclass
class Prediction:
    """What a model says of one record: its file and id, and

    - sequence task: ``label`` the class, ``probs`` (classes,) summing to 1;
    - regression: ``label`` the value as text, ``probs`` (1,) the value;
    - token task: ``label`` one label character per letter, ``probs`` (letters,) the probability
      of each letter's label;
    - span task: ``label`` the 1-based start and end, tab-separated, ``probs`` their two scores.
    """

    file: str
    id: str
    label: str
    probs: np.ndarray  # float32
    true_label: str | None = None  # the input's own label column, if it had one


PRECISIONS = ("auto", "bf16", "fp32")


class Predictor:
    """A loaded model directory: its model, tokenizer, alphabet, labels and window.

    ``precision``: 'auto' (bf16 autocast on a GPU, fp32 on a CPU), 'bf16' or 'fp32'. On a CPU
    with AMX or AVX512-BF16, bf16 is 1.7-2.8x faster than fp32 for `small` models and up (see
    docs/PERF.md); elsewhere it is emulated and slower. Outputs agree within bf16 rounding.

    ``compile``: run the model through ``torch.compile`` with dynamic shapes (batches differ in
    length and size) and frozen weights (inference only, so the compiler folds them, their bf16
    casts included, into constants). The first batches pay some 15-35 s of compiling, and on this
    project's CPU the compiled `small` model was no faster than eager after that (docs/PERF.md):
    it is there to be measured on GPUs. Outputs agree with eager within float rounding."""

    def __init__(self, model_dir: str, *, kind: str = "classifier", device: str | None = None,
                 precision: str = "auto", compile: bool = False):
        import torch

        if precision not in PRECISIONS:
            raise InputError(f"unknown precision {precision!r}; allowed: {', '.join(PRECISIONS)}")
        model_dir = resolve(model_dir)  # a released model's name, or a directory
        meta = read_meta(model_dir)
        self.meta, self.model_dir = meta, os.fspath(model_dir)
        if kind == "classifier" and meta.get("task") not in TASKS:
            raise InputError("not a fine-tuned model (genobert.json task is "
                             f"{meta.get('task')!r}); `genobert finetune` makes one", path=self.model_dir)
        self.task = get_task(meta["task"]) if kind == "classifier" else None
        if self.task is not None:
            kind = self.task.head
            check_model_dir(model_dir, kind)  # the head this task needs, shaped as configured
        self.alphabet = meta["alphabet"]
        self.device = pick_device(device)
        self.tokenizer = load_tokenizer(model_dir)
        self.model = load_model(model_dir, kind, whole=kind != "encoder").to(self.device).eval()
        if compile:
            self.model = torch.compile(self.model, dynamic=True, options={"freezing": True})
        self.bf16 = self.device.type == "cuda" if precision == "auto" else precision == "bf16"
        self.window = min(int(meta.get("window", 512)), self.model.config.max_position_embeddings)
        self.labels = meta.get("labels") or []
        self.trained = (meta.get("training") or {}).get("config") or {}  # e.g. the columns it read
        self.label_column = self.trained.get("label_column") or FinetuneConfig.label_column  # of inputs


def pick_device(device: str | None):
    """``--device``: cpu, cuda or cuda:N, refused in one line when unknown or not on this machine."""
    import torch

    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        d = torch.device(device)
    except (RuntimeError, ValueError):
        raise InputError(f"--device {device!r}: unknown; allowed: cpu, cuda, cuda:N") from None
    if d.type not in ("cpu", "cuda"):
        raise InputError(f"--device {device!r}: allowed: cpu, cuda, cuda:N")
    if d.type == "cuda" and (not torch.cuda.is_available() or (d.index or 0) >= torch.cuda.device_count()):
        raise InputError(f"--device {device}: not available here ({torch.cuda.device_count()} CUDA "
                         "devices); use --device cpu")
    return d


def _chunks(inputs: list[str], cleaner: Cleaner, size: int,
            label_column: str = "label") -> Iterator[list[tuple[str, object]]]:
    chunk = []
    for path in inputs:
        for rec in read_records(path, cleaner=cleaner, label_column=label_column):
            chunk.append((os.fspath(path), rec))
            if len(chunk) == size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _pair_chunks(paths: list[str], p: Predictor, cleaner: Cleaner,
                 sequences: str | None) -> Iterator[list[tuple[str, Record]]]:
    columns = tuple(p.meta.get("pair_columns", "sequence_a,sequence_b").split(","))
    for path in paths:  # labels too, where the table has the column the model was trained on
        data = read_pairs(path, p.alphabet, columns, p.label_column, sequences, cleaner,
                          label_optional=True)
        rows = [(os.fspath(path), Record(i, pair, label, line))  # seq holds the pair here
                for i, pair, label, line in zip(data.ids, data.seqs, data.targets, data.lines, strict=True)]
        for start in range(0, len(rows), CHUNK_RECORDS):
            yield rows[start: start + CHUNK_RECORDS]


def _check_inputs(inputs: str | Iterable[str]) -> list[str]:
    paths = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
    if not paths:
        raise InputError("no input files")
    if paths.count("-") > 1:
        raise InputError("'-' (stdin) can be read only once")
    return paths


def classify(model_dir: str, inputs: str | Iterable[str], *, batch_tokens: int | None = None,
             device: str | None = None, precision: str = "auto", compile: bool = False,
             on_invalid: Policy = "error", cleaner: Cleaner | None = None,
             predictor: Predictor | None = None, sequences: str | None = None) -> Iterator[Prediction]:
    """Yield a `Prediction` per input record, in input order.

    ``inputs``: FASTA / FASTQ / TSV files (plain, .gz, .bz2, .xz, '-' for stdin). Records with letters
    outside the model's alphabet follow ``on_invalid`` (pass a `Cleaner` to read its report).
    A pair model reads tables of pairs (its training's pair columns), sequences or, with
    ``sequences`` (a sequence file), ids; each table is read whole before it is classified.
    """
    paths = _check_inputs(inputs)
    p = predictor or Predictor(model_dir, device=device, precision=precision, compile=compile)
    cleaner = cleaner or Cleaner(p.alphabet, on_invalid)
    task = p.task
    chunks = (_pair_chunks(paths, p, cleaner, sequences) if task.name == "pair"
              else _chunks(paths, cleaner, CHUNK_RECORDS, p.label_column))
    for chunk in chunks:
        seqs = [rec.seq for _, rec in chunk]
        dataset = task.dataset(seqs, task.blank(seqs), p.tokenizer, p.window)
        outputs = task.predict(window_logits(p.model, dataset, batch_tokens, p.bf16), dataset)
        for (path, rec), out in zip(chunk, outputs, strict=True):
            yield _prediction(task.name, p.labels, path, rec, out)


def evaluate(model_dir: str, path: str) -> dict:
    """A fine-tuned model's scores on a labelled file, computed as `finetune` scores its test
    file, with the columns it was trained with: say, a promoter model of one organism tested on
    another's promoters."""
    from .train import score_sequences

    p = Predictor(model_dir)
    settings = FinetuneConfig(**{k: v for k, v in p.trained.items()  # the columns it was trained on
                                 if k in FinetuneConfig.__dataclass_fields__})
    data = p.task.read(path, p.alphabet, settings)
    return score_sequences(p.task, p.model, p.tokenizer, data.seqs, p.task.encode(data, p.labels), p.window)


def _prediction(task: str, labels: list[str], path: str, rec, out: np.ndarray) -> Prediction:
    if task == "span":
        a, b = best_span(out)
        return Prediction(path, rec.id, f"{a + 1}\t{b + 1}", out[[a, b], [0, 1]].astype(np.float32), rec.label)
    if task == "regression":
        return Prediction(path, rec.id, f"{out[0]:.6g}", out.astype(np.float32), rec.label)
    if task == "token":
        probs = softmax(out)
        best = probs.argmax(1)
        return Prediction(path, rec.id, "".join(labels[k] for k in best),
                          probs[np.arange(len(best)), best].astype(np.float32), rec.label)
    probs = softmax(out[None])[0].astype(np.float32)
    return Prediction(path, rec.id, labels[int(probs.argmax())], probs, rec.label)


def embed(model_dir: str, inputs: str | Iterable[str], *, pooling: str = "cls", layer: int = -1,
          batch_tokens: int | None = None, device: str | None = None, precision: str = "auto",
          compile: bool = False, on_invalid: Policy = "error", cleaner: Cleaner | None = None,
          predictor: Predictor | None = None, stream: bool = False) -> Iterator[tuple[str, str, np.ndarray]]:
    """Yield ``(file, id, embedding)`` per record in input order.

    ``pooling``: 'cls' (the [CLS] vector), 'mean' (over real tokens; specials and pads excluded)
    or 'tokens' (one vector per token, (tokens, hidden)). ``layer`` picks a hidden layer (-1: the
    last, 0: the embeddings). A sequence longer than the window is covered by overlapping windows:
    'cls' averages their [CLS] vectors, 'tokens' averages the vectors of a token seen by two
    windows, and 'mean' is the mean of those token vectors. Any model directory works, pretrained or
    fine-tuned. Use `embed_arrays` for numpy arrays or `write_embeddings` for HDF5. With
    ``stream=True`` a long record's 'tokens' come as a `TokenStream` (see there) instead of an array.
    """
    if pooling not in POOLINGS:
        raise InputError(f"unknown pooling {pooling!r}; allowed: {', '.join(POOLINGS)}")
    paths = _check_inputs(inputs)
    p = predictor or Predictor(model_dir, kind="encoder", device=device, precision=precision, compile=compile)
    n_layers = p.model.config.num_hidden_layers
    if not -n_layers - 1 <= layer <= n_layers:
        raise InputError(f"--layer {layer} does not exist; the model has hidden layers 0..{n_layers}")
    if pooling == "cls" and layer in (0, -n_layers - 1):
        raise InputError(f"--pooling cls --layer {layer}: layer 0 is the embeddings, where [CLS] is "
                         "the same vector for every record; use --pooling mean or tokens, or a layer "
                         f"from 1 to {n_layers}")
    cleaner = cleaner or Cleaner(p.alphabet, on_invalid)
    for chunk in _chunks(paths, cleaner, CHUNK_RECORDS):
        encoded = [(path, rec, p.tokenizer.encode(rec.seq, add_special_tokens=False)) for path, rec in chunk]
        run: list = []  # records batched together, up to the next long one
        for item in encoded:
            if stream and pooling == "tokens" and len(item[2]) > STREAM_WINDOWS * (p.window - 2):
                yield from _embed_batch(p, run, pooling, layer, batch_tokens)
                run = []
                yield item[0], item[1].id, TokenStream(p, item[2], layer, batch_tokens)
            else:
                run.append(item)
        yield from _embed_batch(p, run, pooling, layer, batch_tokens)


STREAM_WINDOWS = 16  # with stream=True, 'tokens' of a record longer than this many windows stream


class TokenStream:
    """The per-token vectors of one long record, computed a few windows at a time: ``blocks()``
    yields ``(start, rows)`` in order, each row final (a token two windows cover is averaged
    over both), so a writer can store them as they come and memory stays a few windows deep."""

    def __init__(self, p: Predictor, ids: np.ndarray, layer: int, batch_tokens: int | None):
        self.p, self.ids, self.layer = p, ids, layer
        self.batch_tokens = batch_tokens or default_batch_tokens(p.device)
        self.shape = (len(ids), p.model.config.hidden_size)

    def blocks(self) -> Iterator[tuple[int, np.ndarray]]:
        body = self.p.window - 2
        starts = window_starts(len(self.ids), self.p.window)
        group = max(1, self.batch_tokens // self.p.window)
        lo, total, count = 0, np.zeros((0, self.shape[1])), np.zeros(0)
        for g in range(0, len(starts), group):
            mine = starts[g: g + group]
            windows = [np.concatenate(([CLS_ID], self.ids[s: s + body], [SEP_ID])) for s in mine]
            outs = [None] * len(windows)
            for idx, out in forward_windows(self.p.model, windows, batch_tokens=self.batch_tokens,
                                            pooling="tokens", layer=self.layer, bf16=self.p.bf16):
                for j, o in zip(idx, out, strict=True):
                    outs[j] = o
            for s, o in zip(mine, outs, strict=True):
                need = s + len(o) - lo
                if need > len(total):
                    total = np.concatenate((total, np.zeros((need - len(total), self.shape[1]))))
                    count = np.concatenate((count, np.zeros(need - len(count))))
                total[s - lo: s - lo + len(o)] += o
                count[s - lo: s - lo + len(o)] += 1
            done = (starts[g + group] if g + group < len(starts) else len(self.ids)) - lo
            yield lo, (total[:done] / np.maximum(count[:done], 1)[:, None]).astype(np.float32)
            total, count, lo = total[done:], count[done:], lo + done

    def array(self) -> np.ndarray:
        out = np.zeros(self.shape, np.float32)
        for start, rows in self.blocks():
            out[start: start + len(rows)] = rows
        return out


def _embed_batch(p: Predictor, items: list, pooling: str, layer: int, batch_tokens: int | None):
    """Embed records together (their windows in token-budget batches); yield them in order."""
    if not items:
        return
    body = p.window - 2
    windows, owner, starts = [], [], []
    for i, (_, _, ids) in enumerate(items):
        for s in window_starts(len(ids), p.window):
            windows.append(np.concatenate(([CLS_ID], ids[s: s + body], [SEP_ID])))
            owner.append(i)
            starts.append(s)
    outs: list = [None] * len(windows)
    states = "tokens" if pooling in ("tokens", "mean") else "cls"  # 'mean' pools them in _pool
    for idx, out in forward_windows(p.model, windows, batch_tokens=batch_tokens,
                                    pooling=states, layer=layer, bf16=p.bf16):
        for j, o in zip(idx, out, strict=True):
            outs[j] = o
    yield from _pool([(path, rec) for path, rec, _ in items], outs, owner, starts, pooling)


def _pool(chunk, outs, owner, starts, pooling):
    j = 0
    for i, (path, rec) in enumerate(chunk):
        mine = []
        while j < len(owner) and owner[j] == i:
            mine.append((starts[j], outs[j]))
            j += 1
        if pooling == "cls":
            vec = np.mean([o for _, o in mine], axis=0)
        else:
            n = max(s + len(o) for s, o in mine)
            total = np.zeros((n, *mine[0][1].shape[1:]), dtype=np.float64)  # (letters, [layers,] hidden)
            count = np.zeros(n)
            for s, o in mine:
                total[s: s + len(o)] += o
                count[s: s + len(o)] += 1
            per_token = total / np.maximum(count, 1).reshape(-1, *[1] * (total.ndim - 1))
            vec = per_token.mean(0) if pooling == "mean" else per_token
        yield path, rec.id, np.asarray(vec, dtype=np.float32)


def embed_sequences(predictor: Predictor, seqs: list[str], *, pooling: str = "mean",
                    layer: int | tuple[int, ...] = -1,
                    batch_tokens: int | None = None) -> np.ndarray | list[np.ndarray]:
    """Embeddings of sequences held in memory (clean, upper case), with a loaded encoder
    `Predictor`, as `embed` pools them: (N, hidden) float32 for 'cls' or 'mean', a list of
    (tokens, hidden) arrays for 'tokens'. A tuple of layers gives (N, layers, hidden) and
    (tokens, layers, hidden) from one forward pass (a probe's layer search)."""
    from types import SimpleNamespace

    if pooling not in ("cls", "mean", "tokens"):
        raise InputError(f"pooling {pooling!r}: expected cls, mean or tokens")
    tok = predictor.tokenizer
    items = [(None, SimpleNamespace(id=str(i)), tok.encode(s, add_special_tokens=False))
             for i, s in enumerate(seqs)]
    layers = [] if isinstance(layer, numbers.Integral) else [len(layer)]
    out = ([None] * len(seqs) if pooling == "tokens" else
           np.zeros((len(seqs), *layers, predictor.model.config.hidden_size), np.float32))
    chunk = CHUNK_RECORDS // max([1, *layers])  # a chunk's token vectors are held until pooled
    for start in range(0, len(items), chunk):
        for _, rid, vec in _embed_batch(predictor, items[start: start + chunk], pooling, layer,
                                        batch_tokens):
            out[int(rid)] = vec
    return out


def embed_arrays(model_dir: str, inputs, *, pooling: str = "cls", **kwargs):
    """``(ids, embeddings)``: an (N, hidden) float32 array for 'cls' / 'mean', a list for 'tokens'."""
    ids, vecs = [], []
    for _, rid, vec in embed(model_dir, inputs, pooling=pooling, **kwargs):
        ids.append(rid)
        vecs.append(vec)
    if pooling == "tokens":
        return ids, vecs
    return ids, np.stack(vecs) if vecs else np.zeros((0, 0), np.float32)


# --------------------------------------------------------------------------- writers


class _Progress:
    """A records/s counter on stderr (a tqdm bar on a terminal) and the closing summary."""

    def __init__(self, what: str, quiet: bool):
        from tqdm import tqdm

        self.what, self.start, self.n = what, time.perf_counter(), 0
        self.bar = tqdm(unit=" records", disable=quiet or not sys.stderr.isatty(), file=sys.stderr)

    def step(self) -> None:
        self.n += 1
        self.bar.update()

    def close(self, cleaner: Cleaner, out: str, extra: str = "") -> str:
        self.bar.close()
        secs = time.perf_counter() - self.start
        line = f"genobert: {self.what} {self.n:,} records in {secs:.1f} s ({self.n / max(secs, 1e-9):,.0f} records/s) -> {path_text(out)}"
        skipped = cleaner.report.summary()
        return line + (f"; {skipped}" if skipped else "") + extra


def write_classification(model_dir: str, inputs, out: str, *, batch_tokens: int | None = None,
                         device: str | None = None, precision: str = "auto", compile: bool = False,
                         on_invalid: Policy = "error", quiet: bool = False, sequences: str | None = None,
                         threshold: float | None = None, top_k: int | None = None) -> str:
    """`classify` into a TSV (``id  label  prob_<class>...``; ``id  value`` for regression, ``id
    labels`` for token tasks; a ``file`` column first when several inputs), written atomically.
    ``threshold`` (binary classifiers): the second class when its probability reaches it (default:
    the likelier class); ``top_k`` (classifiers): a ``top_k`` column of the k likeliest classes,
    comma-separated. Returns the summary line (with accuracy when inputs carry labels)."""
    paths = _check_inputs(inputs)
    check_output(out, [*paths, *([sequences] if sequences else [])], resolve(model_dir))  # before the model is read
    p = Predictor(model_dir, device=device, precision=precision, compile=compile)
    classes = p.task.name in ("sequence", "pair")
    if sequences and p.task.name != "pair":
        raise InputError(f"--sequences is for pair models (tables of ids); this is a {p.task.name} model",
                         path=p.model_dir)
    if threshold is not None and (not classes or len(p.labels) != 2 or not 0 < threshold < 1):
        raise InputError(f"--threshold {threshold}: for binary classifiers, a probability in (0, 1) "
                         f"of the class {p.labels[-1] if p.labels else '?'!r}; this model has "
                         f"{len(p.labels)} classes ({p.task.name} task)")
    if top_k is not None and (not classes or not 1 <= top_k <= len(p.labels)):
        raise InputError(f"--top-k {top_k}: for classifiers, 1 to the number of classes "
                         f"({len(p.labels)}; {p.task.name} task)")
    cleaner = Cleaner(p.alphabet, on_invalid)
    progress = _Progress("classified", quiet)
    several = len(paths) > 1
    right = labelled = 0
    known, foreign = set(p.labels), {}  # labels in the input: the model's classes, and others
    columns = {"regression": ["value"], "token": ["labels"], "span": ["start", "end"]}.get(
        p.task.name, ["label"] + [f"prob_{c}" for c in p.labels]) + (["top_k"] if top_k else [])
    with atomic_output(out, "w", newline="") as f:
        # quoted as the csv module does where a cell holds a tab, a newline or a quote, so every
        # TSV reader gets the same columns back
        table = csv.writer(f, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        table.writerow((["file"] if several else []) + ["id"] + columns)
        for pred in classify(model_dir, paths, batch_tokens=batch_tokens, cleaner=cleaner, predictor=p,
                             sequences=sequences):
            # a span's label is "start<TAB>end": two columns
            if threshold is not None:
                pred.label = p.labels[1] if pred.probs[1] >= threshold else p.labels[0]
            cells = ([path_text(pred.file)] if several else []) + [pred.id, *pred.label.split("\t")]
            if classes:
                cells += [f"{x:.6g}" for x in pred.probs]
            if top_k:
                cells.append(",".join(p.labels[i] for i in np.argsort(-pred.probs, kind="stable")[:top_k]))
            table.writerow(cells)
            truth = normalise_label(pred.true_label) if pred.true_label is not None and classes else ""
            if truth in known:
                labelled += 1
                right += truth == pred.label  # as finetune compares
            elif truth:  # another naming ('yes' for '1') is no error of the model's
                foreign[truth] = foreign.get(truth, 0) + 1
            progress.step()
    extra = f"; accuracy {right / labelled:.4f} on the {labelled:,} records that had a label" if labelled else ""
    if foreign:
        extra += (f"; {sum(foreign.values()):,} records have a label the model does not predict "
                  f"({', '.join(map(repr, list(foreign)[:3]))}; its classes: {', '.join(p.labels)}), "
                  "not scored")
    return progress.close(cleaner, out, extra)


_H5_MARGIN = 1 << 20  # room kept for HDF5's metadata, written when the file closes


def _check_space(path: str, need: int) -> None:
    """Refuse a block the disk (or the process's file-size limit) cannot take, before HDF5 tries:
    HDF5 cannot recover from a failed write (the h5py build here crashes on the cleanup), so a
    full disk must be seen coming."""
    import resource

    stat = os.statvfs(os.path.dirname(os.path.abspath(path)))
    room = stat.f_bavail * stat.f_frsize
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if limit != resource.RLIM_INFINITY:
        room = min(room, limit - os.path.getsize(path))
    if room < need + _H5_MARGIN:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def write_embeddings(model_dir: str, inputs, out: str, *, pooling: str = "cls", layer: int = -1,
                     batch_tokens: int | None = None, device: str | None = None, precision: str = "auto",
                     compile: bool = False, on_invalid: Policy = "error", quiet: bool = False) -> str:
    """`embed` into HDF5, grown as records come and renamed into place at the end.

    Layout: ``ids`` (strings), ``files`` (strings, the input of each record), and ``embeddings``
    (N × hidden float32, chunked, gzip) or, for ``pooling='tokens'``, a group ``tokens`` with one
    (tokens × hidden) dataset per record named by its row number. Attributes: model, pooling, layer.
    """
    import h5py

    paths = _check_inputs(inputs)
    if pooling not in POOLINGS:
        raise InputError(f"unknown pooling {pooling!r}; allowed: {', '.join(POOLINGS)}")
    if os.fspath(out).endswith((".gz", ".bz2", ".xz", ".zst")):
        raise InputError("embed writes HDF5, compressed inside (gzip per chunk); name it .h5", path=os.fspath(out))
    check_output(out, paths, resolve(model_dir))  # before the model is even read
    p = Predictor(model_dir, kind="encoder", device=device, precision=precision, compile=compile)
    cleaner = Cleaner(p.alphabet, on_invalid)
    progress = _Progress("embedded", quiet)
    hidden = p.model.config.hidden_size
    text = h5py.string_dtype()
    with atomic_output(out, None) as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs.update({"model": path_text(os.path.abspath(p.model_dir)), "pooling": pooling, "layer": layer,
                         "hidden_size": hidden, "tokenizer": str(p.tokenizer.spec),
                         "alphabet": p.alphabet})
        ids = h5.create_dataset("ids", (0,), maxshape=(None,), dtype=text, chunks=(4096,))
        files = h5.create_dataset("files", (0,), maxshape=(None,), dtype=text, chunks=(4096,))
        if pooling == "tokens":
            group = h5.create_group("tokens")
        else:
            emb = h5.create_dataset("embeddings", (0, hidden), maxshape=(None, hidden),
                                    dtype="float32", chunks=(256, hidden), compression="gzip",
                                    compression_opts=4)
        block: list[tuple[str, str, np.ndarray]] = []
        n = 0

        def flush() -> int:
            _check_space(tmp, sum(b[2].nbytes + len(b[0]) + len(b[1]) for b in block))
            m = n + len(block)
            for ds, col in ((ids, 1), (files, 0)):
                ds.resize((m,))
                ds[n:m] = [b[col] if col else path_text(b[col]) for b in block]
            if pooling == "tokens":
                for i, b in enumerate(block):
                    group.create_dataset(str(n + i), data=b[2], compression="gzip", compression_opts=4)
            else:
                emb.resize((m, hidden))
                emb[n:m] = np.stack([b[2] for b in block])
            h5.flush()  # so the file's size on disk is what _check_space measures
            block.clear()
            return m

        def write_stream(path: str, rid: str, tokens: TokenStream) -> int:
            """One long record's token vectors, block by block (memory: a few windows)."""
            ds = group.create_dataset(str(n), shape=tokens.shape, dtype="float32", compression="gzip",
                                      compression_opts=4, chunks=(min(tokens.shape[0], 1024), hidden))
            for start, rows in tokens.blocks():
                _check_space(tmp, rows.nbytes)
                ds[start: start + len(rows)] = rows
            for d, value in ((ids, rid), (files, path_text(path))):
                d.resize((n + 1,))
                d[n] = value
            return n + 1

        for item in embed(model_dir, paths, pooling=pooling, layer=layer, batch_tokens=batch_tokens,
                          cleaner=cleaner, predictor=p, stream=True):
            if isinstance(item[2], TokenStream):
                if block:
                    n = flush()
                n = write_stream(*item)
                progress.step()
                continue
            block.append(item)
            progress.step()
            if len(block) == CHUNK_RECORDS:
                n = flush()
        if block:
            n = flush()
    return progress.close(cleaner, out)
