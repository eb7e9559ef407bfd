"""The featurize step: normalise text, build the vocabulary on train, encode every split.

Every split streams through in batches of `featurize.batch_size` reviews, so memory
contains the vocabulary and a few batches, never a whole split. The training split is normalised
once: its tokens get provisional ids while their counts are summed, and are mapped to
vocabulary ids once the vocabulary is built.
"""

import csv
import logging
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Iterator

import numpy as np

from review_lstm.encoded import EncodedSplit, EncodedSplitFileWriter, open_split_writer
from review_lstm.errors import UserInputError
from review_lstm.params import FeaturizeParams
from review_lstm.text import BatchNormalizer, NormalizedBatch, TextSettings
from review_lstm.vocab import EMPTY_ID, UNKNOWN_ID, Vocabulary

logger = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")
SPLIT_HEADER = ["row", "score", "text"]
CHUNK_ROWS = 20_000
REMAP_CHUNK_REVIEWS = 100_000
PROGRESS_EVERY_REVIEWS = 100_000


def text_settings_from(params: FeaturizeParams) -> TextSettings:
    return TextSettings(lowercase=params.lowercase, lemmatize=params.lemmatize,
                        remove_stop_words=params.remove_stop_words, keep_words=tuple(params.keep_words),
                        keep_punctuation=tuple(params.keep_punctuation))


def featurize(params: FeaturizeParams, prepared_dir: Path, output_dir: Path) -> Vocabulary:
    """Write `vocab.json` and one encoded folder per split into `output_dir`."""
    output_dir.mkdir(parents=True, exist_ok=True)
    normalizer = BatchNormalizer(text_settings_from(params), params.batch_size, params.n_process)
    logger.info("normalising text in %d process(es), %d reviews per batch", params.n_process, params.batch_size)

    # The scratch folder is beside `output_dir`, so that a killed run leaves no stray files in the output.
    with normalizer, tempfile.TemporaryDirectory(prefix=".featurize-", dir=output_dir.parent) as scratch:
        provisional_path = Path(scratch) / "train"
        counter = _normalize_train(normalizer, prepared_dir / "train.csv", provisional_path, params.batch_size)

        vocabulary = Vocabulary.build(counter.as_counter(), params.max_vocab_size, params.min_frequency,
                                      normalizer.normalizer.settings)
        _log_vocabulary(vocabulary, counter)
        _encode_train(counter, vocabulary, provisional_path, output_dir / "train")

        for split in SPLITS[1:]:
            _encode_split(normalizer, vocabulary, prepared_dir / f"{split}.csv", output_dir / split,
                          params.batch_size)

    vocabulary.save(output_dir / "vocab.json")
    return vocabulary


def iter_split_chunks(path: Path, chunk_rows: int = CHUNK_ROWS) -> Iterator[tuple[list[int], list[int], list[str]]]:
    """Yield (rows, scores, texts) chunks of a split CSV written by prepare.

    A text may span several lines (a quoted field), so `csv` reads the file, never a
    line split. A malformed row raises UserInputError naming its line.
    """
    rows, scores, texts = [], [], []
    for line, fields in _read_split_records(path):
        row, score, text = _parse_split_row(path, line, fields)
        rows.append(row)
        scores.append(score)
        texts.append(text)
        if len(rows) == chunk_rows:
            yield rows, scores, texts
            rows, scores, texts = [], [], []
    if rows:
        yield rows, scores, texts


def _read_split_records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Yield (last line number, fields) of each non-blank record after the checked header."""
    csv.field_size_limit(sys.maxsize)  # one review may be longer than the csv module's 128 KiB default
    try:
        stream = open(path, encoding="utf-8", newline="")
    except FileNotFoundError:
        raise UserInputError(f"{path}: prepared split not found; run `dvc repro prepare` to write it.") from None

    with stream:
        reader = csv.reader(stream)
        try:
            _check_split_header(path, next(reader, None))
            for fields in reader:
                if fields:
                    yield reader.line_num, fields
        except UnicodeDecodeError:
            raise UserInputError(f"{path}: not valid UTF-8; this file is written by prepare, so run "
                                 f"`dvc repro prepare` to rewrite it.") from None


def _check_split_header(path: Path, header: list[str] | None) -> None:
    if header != SPLIT_HEADER:
        raise UserInputError(f"{path}: expected the header {','.join(SPLIT_HEADER)} of a split written by "
                             f"prepare, found {header!r}; run `dvc repro prepare` to rewrite it.")


def _parse_split_row(path: Path, line: int, fields: list[str]) -> tuple[int, int, str]:
    problem = None
    if len(fields) != len(SPLIT_HEADER):
        problem = f"{len(fields)} fields instead of {len(SPLIT_HEADER)}"
    elif not (fields[0].isascii() and fields[0].isdigit()):
        problem = f"row number {fields[0]!r} is not a whole number"
    elif fields[1] not in ("1", "2", "3", "4", "5"):
        problem = f"score {fields[1]!r} is not a whole number from 1 to 5"
    if problem:
        raise UserInputError(f"{path}, line {line}: invalid row ({problem}); this file is written by prepare, "
                             f"so run `dvc repro prepare` to rewrite it.")
    return int(fields[0]), int(fields[1]), fields[2]


class _TokenCounter:
    """Provisional ids (in order of first appearance) and counts of the training tokens."""

    def __init__(self):
        self.ids: dict[str, int] = {}
        self._counts = np.zeros(1024, dtype=np.int64)

    def add(self, batch: NormalizedBatch) -> np.ndarray:
        """Count the batch's tokens and return them as provisional ids."""
        ids = self.ids
        provisional_of_local = np.fromiter((ids.setdefault(token, len(ids)) for token in batch.tokens),
                                           dtype=np.int64, count=len(batch.tokens))
        if len(ids) > len(self._counts):
            self._counts = np.concatenate([self._counts, np.zeros(max(len(ids), len(self._counts)), np.int64)])
        # A batch's tokens are distinct, so each provisional id appears once on the left.
        self._counts[provisional_of_local] += np.bincount(batch.token_indices, minlength=len(batch.tokens))
        return provisional_of_local[batch.token_indices]

    @property
    def counts(self) -> np.ndarray:
        return self._counts[:len(self.ids)]

    def as_counter(self) -> Counter:
        return Counter(dict(zip(self.ids, self.counts.tolist())))


def _split_batches(path: Path, batch_size: int) -> Iterator[tuple[tuple[list[int], list[int]], list[str]]]:
    """Yield ((rows, scores), texts) batches, the input that `BatchNormalizer.map` expects."""
    for rows, scores, texts in iter_split_chunks(path, batch_size):
        yield (rows, scores), texts


def _normalize_train(normalizer: BatchNormalizer, split_path: Path, provisional_path: Path,
                     batch_size: int) -> _TokenCounter:
    """Normalise the training split once: count its tokens and save them as provisional ids."""
    counter = _TokenCounter()
    with open_split_writer(provisional_path) as writer:
        for (rows, scores), batch in normalizer.map(_split_batches(split_path, batch_size)):
            token_ids = counter.add(batch)
            _add_reviews(writer, token_ids, batch.lengths, scores, rows)
            _log_progress(len(writer), len(rows), "training reviews normalised")
    logger.info("train: %d reviews normalised, %d distinct tokens", len(writer), len(counter.ids))
    return counter


def _encode_train(counter: _TokenCounter, vocabulary: Vocabulary, provisional_path: Path, output: Path) -> None:
    """Map the saved provisional ids of the training split to vocabulary ids."""
    vocabulary_id_of = np.fromiter((vocabulary.token_to_id.get(token, UNKNOWN_ID) for token in counter.ids),
                                   dtype=np.int32, count=len(counter.ids))
    provisional = EncodedSplit.load(provisional_path)
    with open_split_writer(output) as writer:
        for start in range(0, len(provisional), REMAP_CHUNK_REVIEWS):
            stop = min(start + REMAP_CHUNK_REVIEWS, len(provisional))
            offsets = np.asarray(provisional.offsets[start:stop + 1])
            token_ids = vocabulary_id_of[provisional.token_ids[offsets[0]:offsets[-1]]]
            writer.add(*_with_empty_marker(token_ids, np.diff(offsets)),
                       provisional.labels[start:stop], provisional.rows[start:stop])
    _log_split(output)


def _encode_split(normalizer: BatchNormalizer, vocabulary: Vocabulary, split_path: Path, output: Path,
                  batch_size: int) -> None:
    lookup = vocabulary.token_to_id.get
    with open_split_writer(output) as writer:
        for (rows, scores), batch in normalizer.map(_split_batches(split_path, batch_size)):
            vocabulary_id_of = np.fromiter((lookup(token, UNKNOWN_ID) for token in batch.tokens), dtype=np.int32,
                                           count=len(batch.tokens))
            token_ids, lengths = _with_empty_marker(vocabulary_id_of[batch.token_indices], batch.lengths)
            _add_reviews(writer, token_ids, lengths, scores, rows)
            _log_progress(len(writer), len(rows), f"{output.name} reviews encoded")
    _log_split(output)


def _add_reviews(writer: EncodedSplitFileWriter, token_ids: np.ndarray, lengths: np.ndarray, scores: list[int],
                 rows: list[int]) -> None:
    labels = np.asarray(scores, dtype=np.int64) - 1
    writer.add(token_ids, lengths, labels, np.asarray(rows, dtype=np.int64))


def _with_empty_marker(token_ids: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Give each review without tokens the single token <empty>, as `Vocabulary.encode` does."""
    empty = lengths == 0
    if not empty.any():
        return token_ids, lengths
    starts = np.cumsum(lengths) - lengths
    return np.insert(token_ids, starts[empty], EMPTY_ID), np.where(empty, 1, lengths)


def _log_progress(done: int, just_added: int, description: str) -> None:
    if done // PROGRESS_EVERY_REVIEWS > (done - just_added) // PROGRESS_EVERY_REVIEWS:
        logger.info("%d %s", done, description)


def _log_vocabulary(vocabulary: Vocabulary, counter: _TokenCounter) -> None:
    counts = counter.counts
    covered = sum(int(counts[counter.ids[token]]) for token in vocabulary.tokens if token in counter.ids)
    logger.info("vocabulary: %d tokens (of %d distinct in train), covering %.1f%% of train tokens",
                len(vocabulary), len(counter.ids), 100 * covered / max(1, int(counts.sum())))


def _log_split(output: Path) -> None:
    split = EncodedSplit.load(output)
    lengths = split.lengths
    if len(lengths):
        logger.info("%s: %d reviews encoded, tokens per review: median %d, max %d", output.name, len(lengths),
                    int(np.median(lengths)), int(lengths.max()))
        empty = int(((lengths == 1) & (split.token_ids[split.offsets[:-1]] == EMPTY_ID)).sum())
        if empty:
            logger.info("%s: %d reviews have no tokens after normalisation (only stop words or dropped "
                        "punctuation); they are encoded as <empty>", output.name, empty)
