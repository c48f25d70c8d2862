"""`bert-probe`: a frozen encoder's vectors into a linear model, with no fine-tuning.

What many protein-language-model users do instead of fine-tuning, and cheap: the encoder runs once
over the data (every layer from that one pass) and only a scikit-learn model is trained. The layer
and the penalty are chosen on validation. Run on the pretrained model and on the same architecture
with random weights, the probe shows what pretraining put into the vectors.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from .baselines import Split, _valid_score, class_probs, labelled_letters, letter_log_probs
from .errors import InputError
from .io import file_sha256, write_json
from .metrics import regression_metrics
from .model import encoder_kwargs, load_config


def _best_layer(x: np.ndarray, y, xv: np.ndarray, make, score, penalties) -> tuple:
    """``(selection, layer, penalty, model)`` of the best linear model over layers (axis 1 of
    ``x`` and ``xv``, layer 1 first) and ``penalties``: ``make(penalty)`` builds one, ``score(model,
    xv_layer)`` rates it on validation (higher is better)."""
    best = None
    for i in range(x.shape[1]):
        for penalty in penalties:
            model = make(penalty).fit(x[:, i], y)
            selection = score(model, xv[:, i])
            if best is None or selection > best[0]:
                best = (selection, i + 1, penalty, model)
    return best


@dataclass
class BertProbe:
    """`bert-probe` for a class or a value per sequence, or a class per pair.

    Sequences: mean-pooled vectors into a logistic regression (layer and C by validation MCC, ties
    by the lower loss) or, for regression, a ridge (layer and alpha = 1/C by validation Spearman).
    Pairs: each member's mean-pooled vector, summed and as an absolute difference (either order
    reads the same, as `kmer-lr`'s pair form), into a logistic regression."""

    model_dir: str  # an encoder: pretrained, or random weights of the same config (`random_twin`)
    alphabet: str = "dna"
    seed: int = 0
    kind: str = "sequence"  # sequence, regression or pair (genobert.tasks)
    Cs: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0)
    chosen_: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in ("sequence", "regression", "pair"):
            raise ValueError(f"BertProbe kind {self.kind!r}: expected sequence, regression or pair")

    def _x(self, seqs: list, layers: tuple[int, ...]) -> np.ndarray:
        """(N, layers, features)."""
        from .infer import embed_sequences

        if self.kind != "pair":
            return embed_sequences(self.predictor_, seqs, layer=layers)
        members = list(dict.fromkeys(s for pair in seqs for s in pair))  # a protein of many pairs once
        row = {s: i for i, s in enumerate(members)}
        vecs = embed_sequences(self.predictor_, members, layer=layers)
        a, b = (vecs[[row[pair[i]] for pair in seqs]] for i in (0, 1))
        return np.concatenate([a + b, np.abs(a - b)], -1)

    def _make(self, C: float):
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), Ridge(alpha=1 / C) if self.kind == "regression" else
                             LogisticRegression(C=C, max_iter=2000, random_state=self.seed))

    def fit(self, train: Split, valid: Split) -> BertProbe:
        from .infer import Predictor

        self.predictor_ = Predictor(self.model_dir, kind="encoder", device="cpu")
        layers = tuple(range(1, self.predictor_.model.config.num_hidden_layers + 1))
        x, xv = self._x(train.seqs, layers), self._x(valid.seqs, layers)
        if self.kind == "regression":
            def score(model, xv_layer):
                return (regression_metrics(model.predict(xv_layer), valid.labels)["spearman"],)
        else:
            def score(model, xv_layer):
                mcc, selection = _valid_score(valid.labels, class_probs(model, xv_layer))
                return selection, mcc
        selection, layer, C, self.model_ = _best_layer(x, train.labels, xv, self._make, score, self.Cs)
        self.chosen_ = ({"layer": layer, "alpha": 1 / C, "valid_spearman": selection[-1]}
                        if self.kind == "regression" else {"layer": layer, "C": C, "valid_mcc": selection[-1]})
        return self

    def _chosen_x(self, seqs: list) -> np.ndarray:
        return self._x(seqs, (self.chosen_["layer"],))[:, 0]

    def predict_proba(self, seqs: list) -> np.ndarray:
        return class_probs(self.model_, self._chosen_x(seqs))

    def predict(self, seqs: list) -> np.ndarray:
        """What the task's fine-tuned model outputs: a value column, or log-probabilities."""
        if self.kind == "regression":
            return self.model_.predict(self._chosen_x(seqs))[:, None]
        return np.log(np.clip(self.predict_proba(seqs), 1e-9, None))


@dataclass
class TokenProbe:
    """`bert-probe` for per-letter tasks (secondary structure): each letter's vector from a frozen
    encoder with one token per letter into a logistic regression, the linear probe protein
    language models are judged by. The layer is chosen by validation macro-F1; at most
    ``max_letters`` training letters (a seeded sample), as `onehot-lr` for token tasks, and as many
    validation letters."""

    model_dir: str
    alphabet: str = "protein"
    seed: int = 0
    # one C: with 200,000 letters and a few hundred features the penalty barely matters, and each
    # fit is minutes on one CPU core (a second C doubled the probe's time on secondary structure)
    Cs: tuple[float, ...] = (1.0,)
    max_letters: int = 200_000
    chosen_: dict = field(default_factory=dict)
    chunk: int = 256  # sequences embedded at once: all layers of every letter would not fit in memory

    def _x(self, seqs: list[str], layers: tuple[int, ...], keep: np.ndarray | None = None) -> np.ndarray:
        """(letters, layers, hidden) of the concatenated letters of ``seqs``, only those indexed
        by ``keep`` (sorted) when given."""
        from .infer import embed_sequences

        parts, offset = [], 0
        for start in range(0, len(seqs), self.chunk):
            chunk = seqs[start: start + self.chunk]
            vecs = embed_sequences(self.predictor_, chunk, pooling="tokens", layer=layers)
            for s, v in zip(chunk, vecs, strict=True):
                if len(v) != len(s):
                    raise InputError(f"{len(v)} token vectors for {len(s)} letters: a per-letter probe "
                                     "needs a model with one token per letter (tokenizer char)",
                                     path=self.model_dir)
            x = np.concatenate(vecs)
            if keep is not None:
                x = x[keep[(keep >= offset) & (keep < offset + len(x))] - offset]
            parts.append(x)
            offset += sum(len(s) for s in chunk)
        return np.concatenate(parts)

    def fit(self, train: Split, valid: Split) -> TokenProbe:
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import f1_score
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        from .infer import Predictor

        self.predictor_ = Predictor(self.model_dir, kind="encoder", device="cpu")
        layers = tuple(range(1, self.predictor_.model.config.num_hidden_layers + 1))
        y, yv = np.concatenate(train.labels), np.concatenate(valid.labels)
        keep, keep_v = (labelled_letters(y, self.max_letters, self.seed),  # memory: every layer is held
                        labelled_letters(yv, self.max_letters, self.seed))
        x, xv = self._x(train.seqs, layers, keep), self._x(valid.seqs, layers, keep_v)

        def make(C):
            return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000, random_state=self.seed))

        def score(model, xv_layer):
            return float(f1_score(yv[keep_v], model.predict(xv_layer), average="macro"))

        f1, layer, C, self.model_ = _best_layer(x, y[keep], xv, make, score, self.Cs)
        self.chosen_ = {"layer": layer, "C": C, "valid_macro_f1": f1, "training_letters": len(keep)}
        return self

    def predict(self, seqs: list[str]) -> list[np.ndarray]:
        if not seqs:
            return []
        x = self._x(seqs, (self.chosen_["layer"],))[:, 0]
        ends = np.cumsum([len(s) for s in seqs])[:-1]
        return np.split(letter_log_probs(self.model_, x), ends)


def random_twin(model_dir: str, out: str, seed: int = 0) -> str:
    """The encoder of ``model_dir`` with random weights (seeded), saved once to ``out`` (a folder
    genobert makes; made again when ``model_dir``'s config or tokenizer differs from the one it was
    made of): the control a probe of the pretrained model is compared with."""
    import json
    import shutil

    import torch
    from transformers import AutoModel

    source = {name: file_sha256(os.path.join(model_dir, name)) for name in ("config.json", "tokenizer.json")}
    try:
        with open(os.path.join(out, "genobert.json")) as f:
            made = json.load(f)["training"]
        if made.get("source") == source and made.get("seed") == seed:
            return out  # made before, of this very architecture and tokenizer
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    shutil.rmtree(out, ignore_errors=True)  # a twin of another model (another --pretrained) or half made
    torch.manual_seed(seed)
    config = load_config(model_dir)  # BERT or ModernBERT, as the pretrained one
    model = AutoModel.from_config(config, **encoder_kwargs(config.model_type))
    tmp = out + ".part"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    for name in os.listdir(model_dir):
        if name.startswith("tokenizer"):
            shutil.copyfile(os.path.join(model_dir, name), os.path.join(tmp, name))
    with open(os.path.join(model_dir, "genobert.json")) as f:
        meta = json.load(f)
    meta["training"] = {"kind": "random init", "config_of": os.fspath(model_dir), "seed": seed, "source": source}
    write_json(os.path.join(tmp, "genobert.json"), meta)
    os.replace(tmp, out)
    return out
