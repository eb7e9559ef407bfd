"""Matplotlib images: loss curves per epoch and the confusion matrix (PNG, no timestamps)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from review_lstm.data import SCORES  # noqa: E402
from review_lstm.files import atomic_path  # noqa: E402

# Without the Software key the PNG bytes depend only on the data, so unchanged runs give identical files.
_PNG_METADATA = {"Software": None}


def plot_losses(history: list[dict], best_epochs: list[int], path: Path) -> None:
    """Plot train and validation loss per epoch, with the best epoch of each ensemble member marked."""
    epochs = [record["epoch"] for record in history]
    figure, axes = plt.subplots(figsize=(6, 4), dpi=100)
    axes.plot(epochs, [record["train_loss"] for record in history], marker="o", label="train loss")
    axes.plot(epochs, [record["validation_loss"] for record in history], marker="o", label="validation loss")
    distinct_epochs = sorted(set(best_epochs))
    label = (f"best epoch ({best_epochs[0]})" if len(best_epochs) == 1
             else f"members' best epochs ({', '.join(map(str, sorted(best_epochs)))})")
    for index, epoch in enumerate(distinct_epochs):
        axes.axvline(epoch, color="gray", linestyle="--", label=label if index == 0 else None)
    axes.set_xlabel("epoch")
    axes.set_ylabel("cross-entropy loss")
    axes.set_title("Train vs validation loss")
    axes.legend()
    figure.tight_layout()
    _save(figure, path)


def plot_confusion(matrix: np.ndarray, path: Path) -> None:
    """Draw the test confusion matrix with counts, actual scores as rows."""
    figure, axes = plt.subplots(figsize=(5, 4.5), dpi=100)
    image = axes.imshow(matrix, cmap="Blues")
    for actual in range(matrix.shape[0]):
        for predicted in range(matrix.shape[1]):
            count = matrix[actual, predicted]
            color = "white" if count > matrix.max() / 2 else "black"
            axes.text(predicted, actual, str(count), ha="center", va="center", color=color)
    axes.set_xticks(range(len(SCORES)), [str(score) for score in SCORES])
    axes.set_yticks(range(len(SCORES)), [str(score) for score in SCORES])
    axes.set_xlabel("predicted score")
    axes.set_ylabel("actual score")
    axes.set_title("Test confusion matrix")
    figure.colorbar(image, ax=axes)
    figure.tight_layout()
    _save(figure, path)


def _save(figure, path: Path) -> None:
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", metadata=_PNG_METADATA)
    plt.close(figure)
