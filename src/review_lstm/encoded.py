"""Encoded splits on disk: flat token ids with offsets, one folder of .npy files per split.

Review i's token ids are `token_ids[offsets[i]:offsets[i + 1]]`. The arrays are
loaded memory-mapped, so training never copies a split into Python lists.
"""

import contextlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from review_lstm.errors import UserInputError
from review_lstm.files import atomic_directory, atomic_path

_ARRAYS = ("token_ids", "offsets", "labels", "rows")
_DTYPES = {"token_ids": np.int32, "offsets": np.int64, "labels": np.int64, "rows": np.int64}
_COPY_BUFFER_BYTES = 1 << 24


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


class EncodedSplitFileWriter:
    """Append encoded reviews to raw files chunk by chunk, so memory stays bounded.

    Get one from `open_split_writer`, which turns the raw files into the split's .npy
    files when its block ends.
    """

    def __init__(self, folder: Path):
        self._folder = folder
        self._streams = {name: open(folder / f"{name}.raw", "wb") for name in _ARRAYS}
        self._counts = dict.fromkeys(_ARRAYS, 0)
        self._tokens_written = 0
        self._append("offsets", np.zeros(1, dtype=np.int64))

    def add(self, token_ids: np.ndarray, lengths: np.ndarray, labels: np.ndarray, rows: np.ndarray) -> None:
        """Append reviews given as flat token ids and one length, label and row number per review."""
        if int(lengths.sum()) != len(token_ids) or not len(lengths) == len(labels) == len(rows):
            raise ValueError(f"inconsistent chunk: {len(token_ids)} token ids for lengths summing to "
                             f"{int(lengths.sum())}; {len(lengths)} lengths, {len(labels)} labels, {len(rows)} rows")
        self._append("token_ids", token_ids)
        self._append("offsets", self._tokens_written + np.cumsum(lengths, dtype=np.int64))
        self._append("labels", labels)
        self._append("rows", rows)
        self._tokens_written += len(token_ids)

    def __len__(self) -> int:
        return self._counts["labels"]

    def _append(self, name: str, values: np.ndarray) -> None:
        array = np.ascontiguousarray(values, dtype=_DTYPES[name])
        self._streams[name].write(array.tobytes())
        self._counts[name] += len(array)

    def _finish(self) -> None:
        """Write each closed raw file as a .npy file (header, then the raw bytes) and delete it."""
        for name in _ARRAYS:
            raw_path = self._folder / f"{name}.raw"
            header = {"descr": np.lib.format.dtype_to_descr(np.dtype(_DTYPES[name])), "fortran_order": False,
                      "shape": (self._counts[name],)}
            with open(self._folder / f"{name}.npy", "wb") as output, open(raw_path, "rb") as raw:
                np.lib.format.write_array_header_1_0(output, header)
                shutil.copyfileobj(raw, output, _COPY_BUFFER_BYTES)
            raw_path.unlink()

    def _close_streams(self) -> None:
        for stream in self._streams.values():
            stream.close()


@contextlib.contextmanager
def open_split_writer(folder: Path) -> Iterator[EncodedSplitFileWriter]:
    """Yield a writer whose reviews replace the split in `folder` when the block succeeds.

    The arrays are written in a temporary folder that replaces `folder` as a whole, so
    a failed or interrupted run leaves the previous split untouched.
    """
    with atomic_directory(folder) as temporary:
        writer = EncodedSplitFileWriter(temporary)
        try:
            yield writer
        finally:
            writer._close_streams()
        writer._finish()
