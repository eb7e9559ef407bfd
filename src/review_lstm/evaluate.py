"""The evaluate step: score the LSTM and the linear reference on the untouched test split."""

import csv
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from review_lstm.baseline import fit_and_predict_baseline
from review_lstm.data import SCORES
from review_lstm.encoded import EncodedSplit
from review_lstm.featurize import iter_split_chunks
from review_lstm.files import atomic_open, write_json
from review_lstm.inference import load_checkpoint, predict_logits
from review_lstm.metrics import bootstrap_intervals, classification_metrics, confusion
from review_lstm.params import EvaluateParams
from review_lstm.plots import plot_confusion, plot_losses

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvaluatePaths:
    model: Path
    prepared_dir: Path
    features_dir: Path
    metrics: Path
    predictions: Path
    loss_plot: Path
    confusion_plot: Path


def evaluate(params: EvaluateParams, paths: EvaluatePaths) -> dict:
    """Write metrics.json, the per-review test predictions and the two PNG plots."""
    model, checkpoint = load_checkpoint(paths.model)
    test_split = EncodedSplit.load(paths.features_dir / "test")
    labels = np.asarray(test_split.labels)

    # The LSTM on the test split.
    logits = predict_logits(model, test_split, params.batch_size, checkpoint["max_tokens"], torch.device("cpu"))
    probabilities = torch.softmax(torch.from_numpy(logits), dim=1).numpy()
    predictions = probabilities.argmax(axis=1)
    lstm = classification_metrics(labels, predictions)
    lstm.update(bootstrap_intervals(labels, predictions, params.bootstrap_samples, params.seed))

    # The linear reference, fitted on the same training split.
    train_texts, train_labels = _read_texts_and_labels(paths.prepared_dir / "train.csv")
    test_texts, test_labels = _read_texts_and_labels(paths.prepared_dir / "test.csv")
    baseline_predictions = fit_and_predict_baseline(train_texts, train_labels, test_texts,
                                                    params.baseline_max_features, params.baseline_c, params.seed)
    baseline = classification_metrics(test_labels, baseline_predictions)
    baseline.update(bootstrap_intervals(test_labels, baseline_predictions, params.bootstrap_samples, params.seed))
    del baseline["per_score"]

    # Always predicting the most frequent training score.
    majority_label = int(np.bincount(train_labels).argmax())
    majority = classification_metrics(test_labels, np.full_like(test_labels, majority_label))
    del majority["per_score"]

    metrics = {"lstm": lstm, "baseline": baseline, "majority": majority,
               "best_epoch": checkpoint["best_epoch"], "test_reviews": int(len(labels))}
    write_json(paths.metrics, metrics)
    _write_predictions(paths.predictions, test_split, predictions, probabilities)
    # A checkpoint from another caller of save_checkpoint may lack member_best_epochs, so mark its best epoch only.
    plot_losses(checkpoint["history"], checkpoint.get("member_best_epochs", [checkpoint["best_epoch"]]),
                paths.loss_plot)
    plot_confusion(confusion(labels, predictions), paths.confusion_plot)

    for name, values in (("LSTM", lstm), ("linear reference", baseline), ("majority score", majority)):
        logger.info("%s on %d test reviews: accuracy %.3f, macro-F1 %.3f, MAE %.3f stars", name, len(labels),
                    values["accuracy"], values["macro_f1"], values["mae"])
    return metrics


def _read_texts_and_labels(path: Path) -> tuple[list[str], np.ndarray]:
    texts, labels = [], []
    for _, scores, chunk_texts in iter_split_chunks(path):
        texts.extend(chunk_texts)
        labels.extend(score - 1 for score in scores)
    return texts, np.asarray(labels, dtype=np.int64)


def _write_predictions(path: Path, split: EncodedSplit, predictions: np.ndarray, probabilities: np.ndarray) -> None:
    """One line per test review: its row in the raw file, actual and predicted score, probabilities."""
    with atomic_open(path, newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["row", "actual", "predicted", *(f"probability_{score}" for score in SCORES)])
        for row, label, predicted, row_probabilities in zip(split.rows, split.labels, predictions, probabilities):
            writer.writerow([int(row), int(label) + 1, int(predicted) + 1,
                             *(f"{value:.6f}" for value in row_probabilities)])

