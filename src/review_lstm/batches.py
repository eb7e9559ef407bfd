"""Variable-length batches: truncate to max_tokens, group reviews of similar length.

Padding is only up to the longest review of each batch, and the model packs the
batch, so padded positions cost no LSTM steps.
"""

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch

from review_lstm.encoded import EncodedSplit
from review_lstm.vocab import PAD_ID

# Reviews are sorted by length within windows of this many batches, then the
# batches are shuffled: similar lengths per batch, yet a new mix every epoch.
BUCKET_WINDOW_BATCHES = 50


@dataclass
class Batch:
    """Padded token ids (batch, time), true lengths (on the CPU), labels and split indices."""

    token_ids: torch.Tensor
    lengths: torch.Tensor
    labels: torch.Tensor
    indices: np.ndarray


def make_batch(split: EncodedSplit, indices: np.ndarray, max_tokens: int) -> Batch:
    starts = split.offsets[indices]
    lengths = np.minimum(split.offsets[indices + 1] - starts, max_tokens)
    token_ids = np.full((len(indices), int(lengths.max())), PAD_ID, dtype=np.int64)
    for row, (start, length) in enumerate(zip(starts, lengths)):
        token_ids[row, :length] = split.token_ids[start:start + length]
    return Batch(
        token_ids=torch.from_numpy(token_ids),
        lengths=torch.from_numpy(lengths.astype(np.int64)),
        labels=torch.from_numpy(np.asarray(split.labels[indices], dtype=np.int64)),
        indices=indices,
    )


def training_batches(split: EncodedSplit, order: np.ndarray, batch_size: int, max_tokens: int,
                     rng: np.random.Generator) -> Iterator[Batch]:
    """Yield batches over `order` (review indices, maybe resampled) in length buckets."""
    lengths = np.minimum(split.lengths[order], max_tokens)
    window = batch_size * BUCKET_WINDOW_BATCHES
    batches = []
    for start in range(0, len(order), window):
        window_indices = order[start:start + window]
        by_length = window_indices[np.argsort(lengths[start:start + window], kind="stable")]
        batches.extend(by_length[i:i + batch_size] for i in range(0, len(by_length), batch_size))
    for batch_number in rng.permutation(len(batches)):
        yield make_batch(split, batches[batch_number], max_tokens)


def inference_batches(split: EncodedSplit, batch_size: int, max_tokens: int) -> Iterator[Batch]:
    """Yield batches over the whole split sorted by length; `Batch.indices` restores order."""
    order = np.argsort(np.minimum(split.lengths, max_tokens), kind="stable")
    for start in range(0, len(order), batch_size):
        yield make_batch(split, order[start:start + batch_size], max_tokens)
