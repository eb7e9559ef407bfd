"""Encoded splits on disk: flat token ids with offsets, one folder of .npy files per split.

Review i's token ids are `token_ids[offsets[i]:offsets[i + 1]]`. The arrays are
loaded memory-mapped, so training never copies a split into Python lists.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from review_lstm.errors import UserInputError
from review_lstm.files import atomic_path

_ARRAYS = ("token_ids", "offsets", "labels", "rows")


@dataclass
class EncodedSplit:
    """One split: token ids, review offsets, labels (score - 1) and file row numbers."""

    token_ids: np.ndarray
    offsets: np.ndarray
    labels: np.ndarray
    rows: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def review(self, index: int) -> np.ndarray:
        return self.token_ids[self.offsets[index]:self.offsets[index + 1]]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name in _ARRAYS:
            with atomic_path(folder / f"{name}.npy") as temporary:
                with open(temporary, "wb") as stream:
                    np.save(stream, getattr(self, name))

    @classmethod
    def load(cls, folder: Path) -> "EncodedSplit":
        missing = [name for name in _ARRAYS if not (folder / f"{name}.npy").is_file()]
        if missing:
            raise UserInputError(f"{folder}: encoded split incomplete (missing {', '.join(missing)}.npy); "
                                 f"run `dvc repro featurize`.")
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in _ARRAYS}
        return cls(**arrays)


class EncodedSplitWriter:
    """Collect encoded reviews chunk by chunk, then save them as one EncodedSplit."""

    def __init__(self):
        self._id_chunks: list[np.ndarray] = []
        self._length_chunks: list[np.ndarray] = []
        self._label_chunks: list[np.ndarray] = []
        self._row_chunks: list[np.ndarray] = []

    def add(self, encoded_reviews: list[list[int]], labels: list[int], rows: list[int]) -> None:
        self._id_chunks.append(np.fromiter((token for review in encoded_reviews for token in review), dtype=np.int32))
        self._length_chunks.append(np.fromiter((len(review) for review in encoded_reviews), dtype=np.int64))
        self._label_chunks.append(np.asarray(labels, dtype=np.int64))
        self._row_chunks.append(np.asarray(rows, dtype=np.int64))

    def finish(self) -> EncodedSplit:
        lengths = np.concatenate(self._length_chunks) if self._length_chunks else np.zeros(0, np.int64)
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return EncodedSplit(
            token_ids=np.concatenate(self._id_chunks) if self._id_chunks else np.zeros(0, np.int32),
            offsets=offsets,
            labels=np.concatenate(self._label_chunks) if self._label_chunks else np.zeros(0, np.int64),
            rows=np.concatenate(self._row_chunks) if self._row_chunks else np.zeros(0, np.int64),
        )
