"""Scores of classifiers: accuracy, MCC, macro-F1, AUROC, and the number of classes a model
predicted (1: it failed to train); of regressions: Spearman, Pearson, R², MSE; and the validation
score that chooses among fits."""

from __future__ import annotations

import numpy as np


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


TIE_BREAK = 1e-6  # weight of the validation loss in `selection_score`: far below any metric gap that means something


def selection_score(score: float, loss: float) -> float:
    """What chooses the epoch and the grid point of every learned method: the validation score,
    its ties broken by the lower validation loss. With a few validation rows (2 per class at 1 %
    of the labels) the score ties across epochs (MCC 0 on every one), and the first of ties, a
    barely trained epoch, won; the loss, continuous, still tells which fit the rows best."""
    return float(score) - TIE_BREAK * float(loss)


def log_loss(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean cross-entropy (nats) of the true labels under ``probs``."""
    labels = np.asarray(labels, dtype=np.int64)
    known = labels < probs.shape[1]  # a class the model never saw in training has probability 0
    p = np.zeros(len(labels))
    p[known] = probs[np.flatnonzero(known), labels[known]]
    return float(-np.log(np.clip(p, 1e-12, 1.0)).mean())


def classification_metrics(probs: np.ndarray, labels: np.ndarray) -> dict:
    """accuracy, MCC, macro-F1 and AUROC (binary, or one-vs-rest macro) where defined."""
    from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef, roc_auc_score

    pred = probs.argmax(1)
    out = {"n": int(len(labels)), "accuracy": float(accuracy_score(labels, pred)),
           "mcc": float(matthews_corrcoef(labels, pred)),
           "macro_f1": float(f1_score(labels, pred, average="macro")),
           "predicted_classes": int(len(np.unique(pred)))}  # 1: the model failed to train
    present = np.unique(labels)
    if len(present) == probs.shape[1] and len(present) > 1:
        out["auroc"] = float(roc_auc_score(labels, probs[:, 1]) if probs.shape[1] == 2 else
                             roc_auc_score(labels, probs, multi_class="ovr", average="macro"))
    return out


def regression_metrics(pred: np.ndarray, y: np.ndarray) -> dict:
    """Spearman, Pearson, R² and MSE of ``pred`` against ``y``. A constant prediction (the model
    failed to train) or constant targets correlate 0, not NaN, so it ranks below any real fit
    and above an inverted one, in the task's test scores and in every validation choice alike."""
    from scipy.stats import pearsonr, spearmanr
    from sklearn.metrics import mean_squared_error, r2_score

    pred, y = np.asarray(pred, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if not np.isfinite(pred).all():  # a diverged fit: no fit at all, scored as a constant one
        return {"n": int(len(y)), "spearman": 0.0, "pearson": 0.0, "r2": None, "mse": None,
                "constant_prediction": False, "nonfinite_prediction": True}
    constant = np.ptp(pred) == 0 or np.ptp(y) == 0
    return {"n": int(len(y)), "spearman": 0.0 if constant else float(spearmanr(pred, y).statistic),
            "pearson": 0.0 if constant else float(pearsonr(pred, y).statistic),
            "r2": float(r2_score(y, pred)), "mse": float(mean_squared_error(y, pred)),
            "constant_prediction": bool(np.ptp(pred) == 0)}  # the model failed to train
