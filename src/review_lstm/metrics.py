"""Test-set metrics with bootstrap intervals; undefined values are null, never NaN."""

import math

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from review_lstm.data import SCORES

LABELS = list(range(len(SCORES)))  # label = score - 1
# Maximum resampled review indices that the bootstrap keeps in memory at once (16 MB as int64).
_BOOTSTRAP_BLOCK_VALUES = 2_000_000


def _finite_or_none(value: float) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 6)


def classification_metrics(labels: np.ndarray, predictions: np.ndarray) -> dict:
    """Accuracy, macro- and weighted-F1, MAE in stars, per-score precision/recall/F1/support."""
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predictions, labels=LABELS, zero_division=np.nan)
    per_score = {}
    for label, score in zip(LABELS, SCORES):
        per_score[str(score)] = {
            "precision": _finite_or_none(precision[label]),
            "recall": _finite_or_none(recall[label]),
            "f1": _finite_or_none(f1[label]) if support[label] else None,
            "support": int(support[label]),
        }
    present = sorted(set(np.unique(labels).tolist()))
    return {
        "accuracy": round(float(accuracy_score(labels, predictions)), 6),
        # Averaged over the scores present in the test split, since an absent score's F1 is undefined.
        "macro_f1": round(float(f1_score(labels, predictions, labels=present, average="macro", zero_division=0)), 6),
        "weighted_f1": round(float(f1_score(labels, predictions, labels=present, average="weighted",
                                            zero_division=0)), 6),
        "mae": round(float(np.mean(np.abs(np.asarray(labels) - np.asarray(predictions)))), 6),
        "per_score": per_score,
    }


def bootstrap_intervals(labels: np.ndarray, predictions: np.ndarray, samples: int, seed: int,
                        confidence: float = 0.95) -> dict:
    """Percentile bootstrap interval of accuracy and macro-F1 over resampled test reviews.

    Macro-F1 averages over the scores present in the whole test split, as in
    `classification_metrics`; a score missing from one resample counts as F1 0 there.
    """
    rng = np.random.default_rng(seed)
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    present = np.unique(labels)

    # One row of resampled review indices per bootstrap sample, a block of rows at a time to bound memory.
    accuracies, macro_f1s = [], []
    rows_per_block = max(1, _BOOTSTRAP_BLOCK_VALUES // max(1, len(labels)))
    for first in range(0, samples, rows_per_block):
        chosen = rng.integers(0, len(labels), size=(min(rows_per_block, samples - first), len(labels)))
        accuracies.append(np.mean(labels[chosen] == predictions[chosen], axis=1))
        macro_f1s.append(_macro_f1_per_row(labels[chosen], predictions[chosen], present))
    accuracies, macro_f1s = np.concatenate(accuracies), np.concatenate(macro_f1s)

    tail = (1 - confidence) / 2 * 100
    return {
        "accuracy_ci_low": round(float(np.percentile(accuracies, tail)), 6),
        "accuracy_ci_high": round(float(np.percentile(accuracies, 100 - tail)), 6),
        "macro_f1_ci_low": round(float(np.percentile(macro_f1s, tail)), 6),
        "macro_f1_ci_high": round(float(np.percentile(macro_f1s, 100 - tail)), 6),
    }


def _macro_f1_per_row(labels: np.ndarray, predictions: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Macro-F1 of each row of (rows, reviews) label and prediction arrays, over the labels in `present`.

    F1 = 2 TP / (2 TP + FP + FN), and 0 where that is 0 / 0, as sklearn's f1_score with zero_division=0.
    """
    f1_per_label = []
    for label in present:
        actual, predicted = labels == label, predictions == label
        true_positives = np.sum(actual & predicted, axis=1)
        denominator = 2 * true_positives + np.sum(actual != predicted, axis=1)
        f1_per_label.append(np.divide(2 * true_positives, denominator, out=np.zeros(len(labels)),
                                      where=denominator > 0))
    return np.mean(f1_per_label, axis=0)


def confusion(labels: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """Confusion matrix over all five scores: rows are actual, columns predicted."""
    return confusion_matrix(labels, predictions, labels=LABELS)
