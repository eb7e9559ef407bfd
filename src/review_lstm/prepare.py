"""The prepare step: clean the raw export, drop duplicates, split before any resampling.

Two streaming passes keep memory bounded: the first validates rows and writes the
kept ones to a temporary file, the second sends each kept row to its split file.
Only the scores and row numbers of kept rows are held in memory for the split.
"""

import csv
import hashlib
import logging
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from review_lstm.data import SCORES, DropLog, iter_reviews
from review_lstm.errors import UserInputError
from review_lstm.files import atomic_open, write_json
from review_lstm.params import DataParams, PrepareParams

logger = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")
SPLIT_COLUMNS = ("row", "score", "text")
MIN_REVIEWS_PER_SCORE = 3  # one each for train, validation and test


def prepare(data: DataParams, settings: PrepareParams, output_dir: Path, report_path: Path) -> dict:
    """Clean `data.raw`, split it into train/validation/test CSVs and write the counts report."""
    output_dir.mkdir(parents=True, exist_ok=True)
    drops = DropLog()

    with tempfile.TemporaryDirectory(prefix=".prepare-", dir=output_dir) as scratch:
        kept_path = Path(scratch) / "kept.csv"
        rows_read, scores = _write_unique_reviews(data, kept_path, drops)
        _check_enough_reviews(scores, settings, data.raw)
        assignment = assign_splits(scores, settings)
        class_counts = _write_splits(kept_path, assignment, output_dir)

    report = {
        "input": data.raw,
        "rows_read": rows_read,
        "rows_kept": int(len(scores)),
        "rows_dropped": drops.total,
        "dropped_by_reason": drops.as_report(),
        "scores_per_split": class_counts,
        "warnings": _missing_score_warnings(scores),
    }
    write_json(report_path, report)
    return report


def _write_unique_reviews(data: DataParams, kept_path: Path, drops: DropLog) -> tuple[int, np.ndarray]:
    seen_texts: set[bytes] = set()
    scores: list[int] = []
    with open(kept_path, "w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        for review in iter_reviews(data.raw, data.text_column, data.label_column, drops):
            digest = hashlib.blake2b(review.text.encode("utf-8"), digest_size=16).digest()
            if digest in seen_texts:
                drops.add("duplicate", review.row)
                continue
            seen_texts.add(digest)
            writer.writerow((review.row, review.score, review.text))
            scores.append(review.score)

            if len(scores) % 100_000 == 0:
                logger.info("read %d valid reviews so far", len(scores))

    rows_read = len(scores) + drops.total
    logger.info("read %d rows from %s: kept %d, dropped %d", rows_read, data.raw, len(scores), drops.total)
    for reason, details in drops.as_report().items():
        logger.info("  dropped %d rows: %s (first rows: %s)", details["count"], details["description"],
                    ", ".join(map(str, details["first_rows"])))
    return rows_read, np.asarray(scores, dtype=np.int8)


def _check_enough_reviews(scores: np.ndarray, settings: PrepareParams, source: str) -> None:
    if settings.validation_fraction + settings.test_fraction >= 1:
        raise UserInputError(f"params.yaml: 'prepare.validation_fraction' + 'prepare.test_fraction' = "
                             f"{settings.validation_fraction + settings.test_fraction}; expected a sum < 1 "
                             f"so that reviews are left for training.")

    counts = Counter(scores.tolist())
    if not counts:
        raise UserInputError(f"{source}: no valid reviews left after cleaning; see the dropped rows above.")
    if len(counts) < 2:
        only_score = next(iter(counts))
        raise UserInputError(f"{source}: all {len(scores)} valid reviews have score {only_score}; "
                             f"a classifier needs reviews of at least two scores.")

    too_rare = {score: count for score, count in sorted(counts.items()) if count < MIN_REVIEWS_PER_SCORE}
    if too_rare:
        listing = ", ".join(f"score {score}: {count}" for score, count in too_rare.items())
        raise UserInputError(f"{source}: too few reviews for a stratified split ({listing}); each score present "
                             f"needs at least {MIN_REVIEWS_PER_SCORE} reviews (train, validation and test). "
                             f"Add reviews or remove the rows with that score.")

    for name, fraction in (("test", settings.test_fraction), ("validation", settings.validation_fraction)):
        split_size = int(len(scores) * fraction)
        if split_size < len(counts):
            needed = int(np.ceil(len(counts) / fraction))
            raise UserInputError(f"{source}: {len(scores)} valid reviews are too few: the {name} split "
                                 f"({name}_fraction={fraction}) would get {split_size} reviews but needs at least "
                                 f"one of each of the {len(counts)} scores. Use at least {needed} reviews or a "
                                 f"larger 'prepare.{name}_fraction'.")


def assign_splits(scores: np.ndarray, settings: PrepareParams) -> np.ndarray:
    """Return the split index (0 train, 1 validation, 2 test) of each review, stratified by score."""
    indices = np.arange(len(scores))
    rest, test = train_test_split(indices, test_size=settings.test_fraction, stratify=scores,
                                  random_state=settings.seed)
    validation_share = settings.validation_fraction / (1 - settings.test_fraction)
    train, validation = train_test_split(rest, test_size=validation_share, stratify=scores[rest],
                                         random_state=settings.seed)

    assignment = np.zeros(len(scores), dtype=np.int8)
    assignment[validation] = 1
    assignment[test] = 2
    return assignment


def _write_splits(kept_path: Path, assignment: np.ndarray, output_dir: Path) -> dict:
    class_counts = {split: Counter() for split in SPLITS}
    with atomic_open(output_dir / "train.csv", newline="") as train_stream, \
            atomic_open(output_dir / "validation.csv", newline="") as validation_stream, \
            atomic_open(output_dir / "test.csv", newline="") as test_stream, \
            open(kept_path, encoding="utf-8", newline="") as kept_stream:
        writers = [csv.writer(stream) for stream in (train_stream, validation_stream, test_stream)]
        for writer in writers:
            writer.writerow(SPLIT_COLUMNS)
        for index, record in enumerate(csv.reader(kept_stream)):
            split = assignment[index]
            writers[split].writerow(record)
            class_counts[SPLITS[split]][int(record[1])] += 1

    for split in SPLITS:
        total = sum(class_counts[split].values())
        shares = ", ".join(f"{score}: {class_counts[split][score]}" for score in SCORES)
        logger.info("%s split: %d reviews (per score %s)", split, total, shares)
    return {split: {str(score): class_counts[split][score] for score in SCORES} for split in SPLITS}


def _missing_score_warnings(scores: np.ndarray) -> list[str]:
    present = set(np.unique(scores).tolist())
    warnings = []
    for score in SCORES:
        if score not in present:
            message = (f"no review has score {score}: the model never sees it in training, "
                       f"and its per-class test metrics are undefined")
            logger.warning(message)
            warnings.append(message)
    return warnings


def read_split(path: Path) -> tuple[list[int], list[int], list[str]]:
    """Read a split CSV written by `prepare` into (rows, scores, texts)."""
    rows, scores, texts = [], [], []
    with open(path, encoding="utf-8", newline="") as stream:
        reader = csv.reader(stream)
        next(reader)
        for row, score, text in reader:
            rows.append(int(row))
            scores.append(int(score))
            texts.append(text)
    return rows, scores, texts
