"""The featurize step: normalise text, build the vocabulary on train, encode every split."""

import csv
import logging
import tempfile
from collections import Counter
from pathlib import Path
from typing import Iterator

from review_lstm.encoded import EncodedSplitWriter
from review_lstm.params import FeaturizeParams
from review_lstm.text import TextNormalizer, TextSettings
from review_lstm.vocab import Vocabulary

logger = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")
CHUNK_ROWS = 20_000


def text_settings_from(params: FeaturizeParams) -> TextSettings:
    return TextSettings(lowercase=params.lowercase, lemmatize=params.lemmatize,
                        remove_stop_words=params.remove_stop_words, keep_words=tuple(params.keep_words),
                        keep_punctuation=tuple(params.keep_punctuation))


def featurize(params: FeaturizeParams, prepared_dir: Path, output_dir: Path) -> Vocabulary:
    """Write `vocab.json` and one encoded folder per split into `output_dir`."""
    normalizer = TextNormalizer(text_settings_from(params), batch_size=params.batch_size)

    with tempfile.TemporaryDirectory(dir=output_dir.parent if output_dir.parent.exists() else None) as scratch:
        train_tokens_path = Path(scratch) / "train_tokens.txt"
        counts = _normalize_train(normalizer, prepared_dir / "train.csv", train_tokens_path)

        vocabulary = Vocabulary.build(counts, params.max_vocab_size, params.min_frequency, normalizer.settings)
        covered = sum(counts[token] for token in vocabulary.tokens)
        logger.info("vocabulary: %d tokens (of %d distinct in train), covering %.1f%% of train tokens",
                    len(vocabulary), len(counts), 100 * covered / max(1, sum(counts.values())))

        _encode_train(vocabulary, train_tokens_path, output_dir / "train")

    for split in SPLITS[1:]:
        _encode_split(normalizer, vocabulary, prepared_dir / f"{split}.csv", output_dir / split)
    vocabulary.save(output_dir / "vocab.json")
    return vocabulary


def iter_split_chunks(path: Path, chunk_rows: int = CHUNK_ROWS) -> Iterator[tuple[list[int], list[int], list[str]]]:
    """Yield (rows, scores, texts) chunks of a split CSV written by prepare."""
    rows, scores, texts = [], [], []
    with open(path, encoding="utf-8", newline="") as stream:
        reader = csv.reader(stream)
        next(reader)
        for row, score, text in reader:
            rows.append(int(row))
            scores.append(int(score))
            texts.append(text)
            if len(rows) == chunk_rows:
                yield rows, scores, texts
                rows, scores, texts = [], [], []
    if rows:
        yield rows, scores, texts


def _normalize_train(normalizer: TextNormalizer, split_path: Path, tokens_path: Path) -> Counter:
    """Normalise the training split once: count tokens and keep them for encoding."""
    counts: Counter = Counter()
    reviews = 0
    with open(tokens_path, "w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        for rows, scores, texts in iter_split_chunks(split_path):
            for row, score, tokens in zip(rows, scores, normalizer.normalize(texts)):
                counts.update(tokens)
                writer.writerow([row, score, *tokens])
            reviews += len(rows)
            logger.info("normalised %d training reviews", reviews)
    return counts


def _encode_train(vocabulary: Vocabulary, tokens_path: Path, output: Path) -> None:
    writer = EncodedSplitWriter()
    with open(tokens_path, encoding="utf-8", newline="") as stream:
        rows, labels, encoded = [], [], []
        for row, score, *tokens in csv.reader(stream):
            rows.append(int(row))
            labels.append(int(score) - 1)
            encoded.append(vocabulary.encode(tokens))
            if len(rows) == CHUNK_ROWS:
                writer.add(encoded, labels, rows)
                rows, labels, encoded = [], [], []
        writer.add(encoded, labels, rows)
    _save_and_log(writer, output, "train")


def _encode_split(normalizer: TextNormalizer, vocabulary: Vocabulary, split_path: Path, output: Path) -> None:
    writer = EncodedSplitWriter()
    for rows, scores, texts in iter_split_chunks(split_path):
        encoded = [vocabulary.encode(tokens) for tokens in normalizer.normalize(texts)]
        writer.add(encoded, [score - 1 for score in scores], rows)
    _save_and_log(writer, output, output.name)


def _save_and_log(writer: EncodedSplitWriter, output: Path, split: str) -> None:
    encoded = writer.finish()
    encoded.save(output)
    lengths = encoded.lengths
    if len(lengths):
        logger.info("%s: %d reviews encoded, tokens per review: median %d, max %d", split, len(encoded),
                    int(sorted(lengths)[len(lengths) // 2]), int(lengths.max()))
