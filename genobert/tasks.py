"""What each fine-tuning task reads, which BERT head it trains, and how it is scored.

- ``sequence``: a class per sequence, from [CLS] (`BertForSequenceClassification`); windows of a
  long sequence are averaged. Scored by MCC (also accuracy, macro-F1, AUROC).
- ``regression``: a number per sequence, the same head with one output and MSE loss; windows
  averaged. Scored by Spearman's rho (also Pearson's r, R², MSE).
- ``pair``: a class for two sequences read together as ``[CLS] a [SEP] b [SEP]`` with segment
  ids (`BertForSequenceClassification` from [CLS]); the input is a table with ``sequence_a`` and
  ``sequence_b``, or ids into a sequence file. Scored like ``sequence``.
- ``span``: one stretch per sequence (``start``, ``end``), found by two learned vectors that
  score every letter as a start and an end (`BertForQuestionAnswering`, the lecture's
  extraction-based QA); letters' scores are stitched over windows like ``token``. Scored by IoU.
- ``token``: a class per letter (`BertForTokenClassification`), read as a string of one-character
  labels as long as the sequence (``HHHEEECC``). Needs one token per letter (the ``char``
  tokenizer). Long sequences are cut into half-overlapping windows and each letter's logits are
  averaged over the windows that hold it. An optional mask column (``0``/``1`` per letter, e.g.
  ``resolved_mask``) leaves letters out of the loss and the scores. Scored by macro-F1 (also
  per-letter accuracy).

Each task is a small object; `train.finetune` and `infer.classify` only ask it these questions.
The tables they read are `genobert.tables`; the scores of classes, `genobert.metrics`.
"""

from __future__ import annotations

import numpy as np
import torch

from .data import LabelledWindows, average_windows, pad, window_starts, windows_of
from .errors import InputError
from .io import read_records
from .metrics import classification_metrics, regression_metrics, softmax
from .tables import Labelled, class_names, normalise_label, read_labelled_file, read_pairs
from .tokenize import CLS_ID, SEP_ID

IGNORE = -100  # the label PyTorch's cross-entropy skips


class SequenceTask:
    name = "sequence"
    metric = "mcc"
    head = "classifier"  # the kind `model.load_model` loads
    window_overlap = "half; logits averaged per sequence"  # how `predict` combines windows

    def read(self, path: str, alphabet: str, settings) -> Labelled:
        """A labelled file; ``settings`` has label_column, mask_column (and for pairs
        pair_columns, sequences), as `train.FinetuneConfig` does."""
        return read_labelled_file(path, alphabet, settings.label_column, settings.mask_column)

    def class_names(self, data: Labelled) -> list[str]:
        names = class_names([normalise_label(t) for t in data.targets])
        if not names:
            raise InputError("no records", path=data.path)
        if len(names) < 2:
            raise InputError(f"only one label ({names[0]!r}); a classifier needs at least two",
                             path=data.path)
        return names

    def encode(self, data: Labelled, names: list[str]) -> list:
        index = {n: i for i, n in enumerate(names)}
        out = []
        for label, line in zip(data.targets, data.lines, strict=True):
            label = normalise_label(label)
            if label not in index:
                raise InputError(f"label {label!r} is not among the training labels "
                                 f"({', '.join(names)})", path=data.path, line=line)
            out.append(index[label])
        return out

    def config(self, names: list[str]) -> dict:
        return {"num_labels": len(names), "id2label": dict(enumerate(names)),
                "label2id": {n: i for i, n in enumerate(names)}}

    def check_tokenizer(self, tok) -> None:
        pass

    def model_class(self):
        """The head's Auto class (``from_config``: BERT or ModernBERT, as the config says)."""
        from transformers import AutoModelForSequenceClassification

        return AutoModelForSequenceClassification

    def dataset(self, seqs, targets, tok, max_len, training: bool = False):
        return LabelledWindows(seqs, targets, tok, max_len)

    def collate(self, samples: list[dict]) -> dict:
        ids, attention = pad([s["input_ids"] for s in samples])
        labels = [s["labels"] for s in samples]
        dtype = torch.float32 if isinstance(labels[0], float) else torch.int64
        return {"input_ids": ids, "attention_mask": attention, "labels": torch.tensor(labels, dtype=dtype)}

    def blank(self, seqs: list) -> list:
        """Placeholder targets, to build a dataset of inputs to predict."""
        return [0] * len(seqs)

    def from_trainer(self, predictions) -> np.ndarray:
        """The Trainer's evaluation predictions as one logits array (windows first)."""
        return predictions[0] if isinstance(predictions, tuple) else predictions

    def predict(self, window_logits: list[np.ndarray], dataset) -> np.ndarray:
        """Per sequence: the window logits averaged, (sequences, outputs)."""
        return average_windows(np.stack(window_logits), dataset.seq_index, dataset.num_sequences)

    def score(self, outputs: np.ndarray, targets) -> dict:
        return classification_metrics(softmax(outputs), np.asarray(targets))


class RegressionTask(SequenceTask):
    name = "regression"
    metric = "spearman"

    def class_names(self, data: Labelled) -> list[str]:
        return []

    def encode(self, data: Labelled, names: list[str]) -> list:
        out = []
        for value, line in zip(data.targets, data.lines, strict=True):
            try:
                number = float(value)
            except ValueError:
                number = float("nan")
            if not np.isfinite(number):
                raise InputError(f"target {value!r} is not a finite number (--task regression)",
                                 path=data.path, line=line)
            out.append(number)
        return out

    def config(self, names: list[str]) -> dict:
        return {"num_labels": 1, "problem_type": "regression"}

    def score(self, outputs: np.ndarray, targets) -> dict:
        return regression_metrics(outputs[:, 0], targets)


class TokenWindows(torch.utils.data.Dataset):
    """Sequences with a label per letter, as windows; ``starts[j]`` is where window ``j`` begins
    in sequence ``seq_index[j]``."""

    def __init__(self, seqs: list[str], targets: list[np.ndarray], tokenizer, max_len: int):
        self.windows, self.labels, self.seq_index, self.starts = [], [], [], []
        body = max_len - 2
        for i, (seq, y) in enumerate(zip(seqs, targets, strict=True)):
            ids = tokenizer.encode(seq, add_special_tokens=False)
            for s, w in zip(window_starts(len(ids), max_len), windows_of(ids, max_len), strict=True):
                self.windows.append(w)
                self.labels.append(np.concatenate(([IGNORE], y[s: s + body], [IGNORE])))
                self.seq_index.append(i)
                self.starts.append(s)
        self.seq_index = np.asarray(self.seq_index)
        self.lengths = [len(s) for s in seqs]
        self.num_sequences = len(seqs)

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, j: int) -> dict:
        return {"input_ids": self.windows[j], "labels": self.labels[j]}


def _kept(data: Labelled, k: int) -> np.ndarray:
    """Which letters of record ``k`` its mask keeps (all, without a mask column)."""
    seq = data.seqs[k]
    if data.masks is None:
        return np.ones(len(seq), bool)
    mask = data.masks[k]
    if len(mask) != len(seq) or set(mask) - {"0", "1"}:
        raise InputError(f"record {data.ids[k]!r}: the mask must be one 0 or 1 per letter "
                         f"({len(mask)} characters for {len(seq)} letters)", path=data.path, line=data.lines[k])
    return np.frombuffer(mask.encode(), np.uint8) == ord("1")


class TokenTask(SequenceTask):
    name = "token"
    metric = "macro_f1"
    window_overlap = "half; logits averaged per sequence and per letter"
    head = "token"

    def class_names(self, data: Labelled) -> list[str]:
        # letters left out by a mask name no class
        names = class_names({c for k, t in enumerate(data.targets)
                             for c, kept in zip(t, _kept(data, k), strict=False) if kept})
        if len(names) < 2:
            raise InputError(f"only one label ({names[0]!r}) in every letter the mask keeps; a classifier "
                             "needs at least two" if names else "the mask keeps no letter: nothing to learn",
                             path=data.path)
        return names

    def encode(self, data: Labelled, names: list[str]) -> list:
        index = np.full(0x110000 if any(ord(n) > 255 for n in names) else 256, IGNORE, np.int64)
        for i, n in enumerate(names):
            index[ord(n)] = i
        out = []
        for k, (labels, seq, line) in enumerate(zip(data.targets, data.seqs, data.lines, strict=True)):
            if len(labels) != len(seq):
                raise InputError(f"record {data.ids[k]!r}: {len(labels)} labels for {len(seq)} "
                                 "letters; --task token needs one label character per letter",
                                 path=data.path, line=line)
            keep = _kept(data, k)
            codes = np.fromiter((ord(c) for c in labels), np.int64, len(labels))
            y = index[np.minimum(codes, len(index) - 1)]
            unknown = np.flatnonzero((y == IGNORE) & keep)  # a left-out letter's label is not read
            if len(unknown):
                c = labels[unknown[0]]
                raise InputError(f"record {data.ids[k]!r}: label {c!r} at position {unknown[0] + 1} "
                                 f"is not among the training labels ({', '.join(names)})",
                                 path=data.path, line=line)
            out.append(np.where(keep, y, IGNORE))
        return out

    def config(self, names: list[str]) -> dict:
        for n in names:
            if len(n) != 1:
                raise InputError(f"token labels are single characters; got {n!r}")
        return SequenceTask.config(self, names)

    def check_tokenizer(self, tok) -> None:
        if tok.spec.kind != "char":
            raise InputError(f"--task token needs one token per letter (the char tokenizer); this "
                             f"model uses {tok.spec}")

    def blank(self, seqs: list) -> list:
        return [np.zeros(len(s), np.int64) for s in seqs]

    def model_class(self):
        """The head's Auto class (``from_config``: BERT or ModernBERT, as the config says)."""
        from transformers import AutoModelForTokenClassification

        return AutoModelForTokenClassification

    def dataset(self, seqs, targets, tok, max_len, training: bool = False):
        return TokenWindows(seqs, targets, tok, max_len)

    def collate(self, samples: list[dict]) -> dict:
        ids, attention = pad([s["input_ids"] for s in samples])
        labels = torch.full(ids.shape, IGNORE, dtype=torch.int64)
        for row, s in enumerate(samples):
            labels[row, : len(s["labels"])] = torch.as_tensor(s["labels"])
        return {"input_ids": ids, "attention_mask": attention, "labels": labels}

    def predict(self, window_logits: list[np.ndarray], dataset) -> list[np.ndarray]:
        """Per sequence: (letters, classes) logits, each letter averaged over its windows."""
        classes = window_logits[0].shape[-1]
        sums = [np.zeros((n, classes)) for n in dataset.lengths]
        counts = [np.zeros((n, 1)) for n in dataset.lengths]
        for logits, i, s, w in zip(window_logits, dataset.seq_index, dataset.starts, dataset.windows,
                                   strict=True):
            body = len(w) - 2
            sums[i][s: s + body] += logits[1: 1 + body]
            counts[i][s: s + body] += 1
        return [a / np.maximum(c, 1) for a, c in zip(sums, counts, strict=True)]

    def score(self, outputs: list[np.ndarray], targets) -> dict:
        from sklearn.metrics import accuracy_score, f1_score

        y = np.concatenate(targets)
        pred = np.concatenate([o.argmax(1) for o in outputs])
        keep = y != IGNORE
        y, pred = y[keep], pred[keep]
        return {"n": int(len(y)), "accuracy": float(accuracy_score(y, pred)),
                "macro_f1": float(f1_score(y, pred, average="macro")),
                "predicted_classes": int(len(np.unique(pred)))}


def pair_lengths(na: int, nb: int, budget: int) -> tuple[int, int]:
    """How much of each member of a pair fits ``budget`` tokens: Hugging Face's ``longest_first``
    (the longer member loses its end first; of two equal, the first). The benchmark cuts the pairs
    its baselines see the same way, so every method gets the same letters."""
    if na + nb <= budget:
        return na, nb
    small = min(na, nb)
    if small <= budget - small:  # only the longer one is cut
        return (budget - nb, nb) if na > nb else (na, budget - na)
    return budget // 2, budget - budget // 2


class PairWindows(torch.utils.data.Dataset):
    """Pairs as ``[CLS] a [SEP] b [SEP]`` with segment ids 0 then 1; a pair longer than the
    window is cut at the end of its longer member first (as Hugging Face's ``longest_first``)."""

    def __init__(self, pairs: list[tuple[str, str]], labels: list, tokenizer, max_len: int):
        self.windows, self.segments, self.labels = [], [], list(labels)
        for a, b in pairs:
            ia = tokenizer.encode(a, add_special_tokens=False)
            ib = tokenizer.encode(b, add_special_tokens=False)
            na, nb = pair_lengths(len(ia), len(ib), max_len - 3)
            self.windows.append(np.concatenate(([CLS_ID], ia[:na], [SEP_ID], ib[:nb], [SEP_ID])))
            self.segments.append(np.r_[np.zeros(na + 2, np.int64), np.ones(nb + 1, np.int64)])
        self.seq_index = np.arange(len(pairs))
        self.num_sequences = len(pairs)

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, j: int) -> dict:
        return {"input_ids": self.windows[j], "token_type_ids": self.segments[j], "labels": self.labels[j]}


class PairTask(SequenceTask):
    """A class for a pair of sequences, from [CLS] over both."""

    name = "pair"

    def read(self, path: str, alphabet: str, settings) -> Labelled:
        return read_pairs(path, alphabet, tuple(settings.pair_columns.split(",")),
                          settings.label_column, settings.sequences)

    def dataset(self, seqs, targets, tok, max_len, training: bool = False):
        return PairWindows(seqs, targets, tok, max_len)

    def collate(self, samples: list[dict]) -> dict:
        batch = SequenceTask.collate(self, samples)
        if "token_type_ids" in samples[0]:  # the Trainer drops them for a model without segments
            segments, _ = pad([s["token_type_ids"] for s in samples])
            batch["token_type_ids"] = segments  # padded with 0 (= PAD_ID), masked out anyway
        return batch


class SpanWindows(TokenWindows):
    """Sequences with one span each, as windows; a window that does not hold the whole span
    points both ends at [CLS] (index 0), as extractive QA does for "no answer here"."""

    def __init__(self, seqs: list[str], spans: list[tuple[int, int]], tokenizer, max_len: int,
                 training: bool = False):
        super().__init__(seqs, [np.zeros(len(s), np.int64) for s in seqs], tokenizer, max_len)
        self.spans = []
        for w, i, s in zip(self.windows, self.seq_index, self.starts, strict=True):
            a, b = spans[i]
            inside = s <= a and b < s + len(w) - 2
            self.spans.append((a - s + 1, b - s + 1) if inside else (0, 0))
        # training: a span longer than half a window may lie in no window (they overlap by half),
        # and would be taught as 'no span here' everywhere; one more window holds it where it fits
        # (never for scoring: that window's place comes from the answer)
        body = max_len - 2
        held = {i for i, sp in zip(self.seq_index, self.spans, strict=True) if sp != (0, 0)}
        self.unfit = 0  # spans longer than a window: in no window at all
        for i, (a, b) in enumerate(spans if training else []):
            if i in held:
                continue
            if b - a + 1 > body:
                self.unfit += 1
                continue
            ids = tokenizer.encode(seqs[i], add_special_tokens=False)
            s = max(0, min(a, len(ids) - body))
            self.windows.append(windows_of(ids[s: s + body], max_len)[0])
            self.labels.append(np.full(len(self.windows[-1]), IGNORE))
            self.seq_index = np.append(self.seq_index, i)
            self.starts.append(s)
            self.spans.append((a - s + 1, b - s + 1))

    def __getitem__(self, j: int) -> dict:
        return {"input_ids": self.windows[j], "start_positions": self.spans[j][0],
                "end_positions": self.spans[j][1]}


class SpanTask(TokenTask):
    """One span per sequence (``start`` and ``end`` columns, 1-based, inclusive): two learned
    vectors score every letter as a start and as an end (`BertForQuestionAnswering`), and the
    answer is the span that maximises start + end score. Scored by the mean overlap (IoU) of
    predicted and true spans, and exact matches."""

    name = "span"
    metric = "iou"
    window_overlap = ("half; per letter, the best start and end log-probability over its windows "
                      "(each normalised over [CLS] and its letters)")
    head = "span"

    def read(self, path: str, alphabet: str, settings) -> Labelled:
        out = Labelled(path, [], [], [], [])
        for rec in read_records(path, alphabet=alphabet):
            cells = rec.extra or {}
            if "start" not in cells or "end" not in cells:
                raise InputError("no 'start' and 'end' columns: --task span needs a table with "
                                 "'sequence', 'start' and 'end' (1-based, inclusive)", path=path, line=1)
            out.ids.append(rec.id)
            out.seqs.append(rec.seq)
            out.targets.append((cells["start"], cells["end"]))
            out.lines.append(rec.line)
        return out

    def class_names(self, data: Labelled) -> list[str]:
        return []

    def encode(self, data: Labelled, names: list[str]) -> list:
        out = []
        for (start, end), seq, rid, line in zip(data.targets, data.seqs, data.ids, data.lines, strict=True):
            try:
                a, b = int(start), int(end)
            except ValueError:
                a = b = 0
            if not 1 <= a <= b <= len(seq):
                raise InputError(f"record {rid!r}: span {start!r}..{end!r} is not within 1..{len(seq)} "
                                 "with start <= end", path=data.path, line=line)
            out.append((a - 1, b - 1))
        return out

    def config(self, names: list[str]) -> dict:
        return {}

    def blank(self, seqs: list) -> list:
        return [(0, 0)] * len(seqs)

    def model_class(self):
        """The head's Auto class (``from_config``: BERT or ModernBERT, as the config says)."""
        from transformers import AutoModelForQuestionAnswering

        return AutoModelForQuestionAnswering

    def dataset(self, seqs, targets, tok, max_len, training: bool = False):
        return SpanWindows(seqs, targets, tok, max_len, training)

    def predict(self, window_logits: list[np.ndarray], dataset) -> list[np.ndarray]:
        """Per sequence: (letters, 2) start and end log-probabilities, each letter's best over
        its windows. Each window's scores are normalised over [CLS] and its letters first: a
        window's raw scores have an arbitrary level (adding a constant changes no loss), and one
        that says 'no span here' (on [CLS]) must not outvote the window holding the span."""
        out = [np.full((n, 2), -np.inf) for n in dataset.lengths]
        for logits, i, s, w in zip(window_logits, dataset.seq_index, dataset.starts, dataset.windows,
                                   strict=True):
            body = len(w) - 2
            scores = logits[: 1 + body].astype(np.float64)
            logp = scores - np.logaddexp.reduce(scores, axis=0)  # per column: start, end
            np.maximum(out[i][s: s + body], logp[1: 1 + body], out=out[i][s: s + body])
        return out

    def collate(self, samples: list[dict]) -> dict:
        ids, attention = pad([s["input_ids"] for s in samples])
        return {"input_ids": ids, "attention_mask": attention, **{
            k: torch.tensor([s[k] for s in samples], dtype=torch.int64)
            for k in ("start_positions", "end_positions")}}

    def from_trainer(self, predictions) -> np.ndarray:
        return np.stack(predictions[:2], -1)  # (windows, tokens, 2)

    def score(self, outputs: list[np.ndarray], targets) -> dict:
        found = [best_span(o) for o in outputs]
        iou = [max(0, min(b, d) - max(a, c) + 1) / (max(b, d) - min(a, c) + 1)
               for (a, b), (c, d) in zip(found, targets, strict=True)]
        return {"n": len(found), "iou": float(np.mean(iou)),
                "exact": float(np.mean([tuple(f) == tuple(t) for f, t in zip(found, targets, strict=True)])),
                # one span for every sequence: a model that learned no input, failed to train
                "constant_prediction": len(found) > 1 and len(set(found)) == 1}


def best_span(scores: np.ndarray) -> tuple[int, int]:
    """The (start, end), start <= end, that maximises start score + end score; scores: (letters, 2)."""
    start, end = scores[:, 0], scores[:, 1]
    best_start = np.maximum.accumulate(start)  # the best start at or before each end
    arg = np.zeros(len(start), dtype=np.int64)
    for j in range(1, len(start)):
        arg[j] = j if start[j] > start[arg[j - 1]] else arg[j - 1]
    j = int(np.argmax(best_start + end))
    return int(arg[j]), j


TASKS = {t.name: t for t in (SequenceTask(), RegressionTask(), TokenTask(), PairTask(), SpanTask())}


def get_task(name: str) -> SequenceTask:
    if name not in TASKS:
        raise InputError(f"unknown task {name!r}; allowed: {', '.join(TASKS)}")
    return TASKS[name]


def window_logits(model, dataset, batch_tokens: int | None = None, bf16: bool | None = None) -> list[np.ndarray]:
    """The model's logits for every window of ``dataset``, in order (each (tokens, classes) for
    token heads, (outputs,) otherwise), trimmed of padding."""
    from .model import forward_windows

    model.eval()
    out: list = [None] * len(dataset.windows)
    for idx, logits in forward_windows(model, dataset.windows, batch_tokens=batch_tokens, bf16=bf16,
                                       segments=getattr(dataset, "segments", None)):
        for b, j in enumerate(idx):
            out[j] = logits[b, : len(dataset.windows[j])] if logits.ndim == 3 else logits[b]
    return out

