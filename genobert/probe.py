"""`bert-probe`: a frozen encoder's mean-pooled embeddings into a logistic regression (and, for
per-letter tasks, each letter's vector into one: `TokenProbe`).

What many protein-language-model users do instead of fine-tuning, and cheap: the encoder runs
once per layer over the data, and only a scikit-learn model is trained. The layer and the
regularisation C are chosen by validation MCC (ties: the lower validation loss). Run on the pretrained model and on the same
architecture with random weights, the probe shows what pretraining put into the vectors.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from .baselines import Split, _valid_score, labelled_letters, letter_log_probs
from .errors import InputError
from .io import write_json


@dataclass
class BertProbe:
    model_dir: str  # an encoder: pretrained, or random weights of the same config (`random_twin`)
    alphabet: str = "dna"
    seed: int = 0
    Cs: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0)
    chosen_: dict = field(default_factory=dict)

    def fit(self, train: Split, valid: Split) -> BertProbe:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        from .infer import Predictor, embed_sequences

        self.predictor_ = Predictor(self.model_dir, kind="encoder", device="cpu")
        best = None
        for layer in range(1, self.predictor_.model.config.num_hidden_layers + 1):
            xt = embed_sequences(self.predictor_, train.seqs, layer=layer)
            xv = embed_sequences(self.predictor_, valid.seqs, layer=layer)
            for C in self.Cs:
                model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000,
                                                                           random_state=self.seed))
                model.fit(xt, train.labels)
                mcc, select = _valid_score(valid.labels, model.predict_proba(xv))
                if best is None or select > best[0]:
                    best = (select, layer, C, model, mcc)
        self.chosen_ = {"layer": best[1], "C": best[2], "valid_mcc": best[4]}
        self.model_ = best[3]
        return self

    def predict_proba(self, seqs: list[str]) -> np.ndarray:
        from .infer import embed_sequences

        return self.model_.predict_proba(embed_sequences(self.predictor_, seqs, layer=self.chosen_["layer"]))


@dataclass
class TokenProbe:
    """`bert-probe` for per-letter tasks (secondary structure): each letter's vector from a frozen
    encoder with one token per letter into a logistic regression, the linear probe protein
    language models are judged by. The layer is chosen by validation macro-F1; at most
    ``max_letters`` training letters (a seeded sample), as `onehot-lr` for token tasks."""

    model_dir: str
    alphabet: str = "protein"
    seed: int = 0
    # one C: with 200,000 letters and a few hundred features the penalty barely matters, and each
    # fit is minutes on one CPU core (a second C doubled the probe's time on secondary structure)
    Cs: tuple[float, ...] = (1.0,)
    max_letters: int = 200_000
    chosen_: dict = field(default_factory=dict)

    def _x(self, seqs: list[str], layer: int) -> np.ndarray:
        from .infer import embed_sequences

        vecs = embed_sequences(self.predictor_, seqs, pooling="tokens", layer=layer)
        for s, v in zip(seqs, vecs, strict=True):
            if len(v) != len(s):
                raise InputError(f"{len(v)} token vectors for {len(s)} letters: a per-letter probe "
                                 "needs a model with one token per letter (tokenizer char)",
                                 path=self.model_dir)
        return np.concatenate(vecs)

    def fit(self, train: Split, valid: Split) -> TokenProbe:
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import f1_score
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        from .infer import Predictor

        self.predictor_ = Predictor(self.model_dir, kind="encoder", device="cpu")
        y, yv = np.concatenate(train.labels), np.concatenate(valid.labels)
        keep, keep_v = labelled_letters(y, self.max_letters, self.seed), labelled_letters(yv, None, 0)
        best = None
        for layer in range(1, self.predictor_.model.config.num_hidden_layers + 1):
            x, xv = self._x(train.seqs, layer)[keep], self._x(valid.seqs, layer)[keep_v]
            for C in self.Cs:
                model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000,
                                                                           random_state=self.seed))
                model.fit(x, y[keep])
                score = float(f1_score(yv[keep_v], model.predict(xv), average="macro"))
                if best is None or score > best[0]:
                    best = (score, layer, C, model)
        self.chosen_ = {"layer": best[1], "C": best[2], "valid_macro_f1": best[0],
                        "training_letters": len(keep)}
        self.model_ = best[3]
        return self

    def predict(self, seqs: list[str]) -> list[np.ndarray]:
        if not seqs:
            return []
        x = self._x(seqs, self.chosen_["layer"])
        ends = np.cumsum([len(s) for s in seqs])[:-1]
        return np.split(letter_log_probs(self.model_, x), ends)


def random_twin(model_dir: str, out: str, seed: int = 0) -> str:
    """The encoder of ``model_dir`` with random weights (seeded), saved once to ``out``: the
    control a probe of the pretrained model is compared with."""
    import shutil

    import torch
    from transformers import AutoConfig, AutoModel

    if os.path.isfile(os.path.join(out, "model.safetensors")):
        return out
    torch.manual_seed(seed)
    config = AutoConfig.from_pretrained(model_dir)  # BERT or ModernBERT, as the pretrained one
    model = AutoModel.from_config(config, **({"add_pooling_layer": False} if config.model_type == "bert" else {}))
    tmp = out + ".part"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    import json

    for name in os.listdir(model_dir):
        if name.startswith("tokenizer"):
            shutil.copyfile(os.path.join(model_dir, name), os.path.join(tmp, name))
    with open(os.path.join(model_dir, "genobert.json")) as f:
        meta = json.load(f)
    meta["training"] = {"kind": "random init", "config_of": os.fspath(model_dir), "seed": seed}
    write_json(os.path.join(tmp, "genobert.json"), meta)
    os.replace(tmp, out)
    return out
