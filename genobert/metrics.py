"""Scores of classifiers: accuracy, MCC, macro-F1, AUROC, and the number of classes a model
predicted (1: it failed to train)."""

from __future__ import annotations

import numpy as np


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


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
