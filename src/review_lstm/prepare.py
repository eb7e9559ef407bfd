"""The prepare step: clean the raw export, drop duplicates, split before any resampling.

Two streaming passes keep memory bounded: the first validates rows and writes the
kept ones to a temporary file, the second sends each kept row to its split file.
Only the scores and row numbers of kept rows are held in memory for the split.
"""

import csv
import hashlib
import logging
import math
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from review_lstm.data import SCORES, CsvFormat, DropLog, FlagLog, RowLog, check_input_file, detect_format, iter_reviews
from review_lstm.errors import UserInputError
from review_lstm.files import atomic_open, write_json
from review_lstm.params import DataParams, PrepareParams

logger = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")
SPLIT_COLUMNS = ("row", "score", "text")
MIN_REVIEWS_PER_SCORE = 3  # one each for train, validation and test


def prepare(data: DataParams, settings: PrepareParams, output_dir: Path, report_path: Path) -> dict:
    """Clean `data.raw`, split it into train/validation/test CSVs and write the counts report."""
    raw_path = Path(data.raw)
    check_input_file(raw_path)
    csv_format = detect_format(raw_path)
    output_dir.mkdir(parents=True, exist_ok=True)
    drops, flags = DropLog(), FlagLog()

    with tempfile.TemporaryDirectory(prefix=".prepare-", dir=output_dir) as scratch:
        kept_path = Path(scratch) / "kept.csv"
        rows_read, scores = _write_unique_reviews(data, csv_format, kept_path, drops, flags)
        warnings = check_scores(scores, settings, data.raw)
        assignment = assign_splits(scores, settings)
        class_counts = _write_splits(kept_path, assignment, output_dir)

    report = {
        "input": data.raw,
        "input_format": {"encoding": csv_format.encoding, "delimiter": csv_format.delimiter},
        "rows_read": rows_read,
        "rows_kept": int(len(scores)),
        "rows_dropped": drops.total,
        "dropped_by_reason": drops.as_report(),
        "flagged_rows": flags.as_report(),
        "scores_per_split": class_counts,
        "warnings": warnings,
    }
    write_json(report_path, report)
    return report


def _write_unique_reviews(data: DataParams, csv_format: CsvFormat, kept_path: Path, drops: DropLog,
                          flags: FlagLog) -> tuple[int, np.ndarray]:
    seen_texts: set[bytes] = set()
    scores: list[int] = []
    with open(kept_path, "w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        reviews = iter_reviews(data.raw, data.text_column, data.label_column, drops, flags=flags,
                               csv_format=csv_format)
        for review in reviews:
            digest = hashlib.blake2b(review.text.encode("utf-8"), digest_size=16).digest()
            if digest in seen_texts:
                drops.add("duplicate", review.row, review.line)
                continue
            seen_texts.add(digest)
            writer.writerow((review.row, review.score, review.text))
            scores.append(review.score)

            if len(scores) % 100_000 == 0:
                logger.info("read %d valid reviews so far", len(scores))

    rows_read = len(scores) + drops.total
    logger.info("read %d rows from %s: kept %d, dropped %d", rows_read, data.raw, len(scores), drops.total)
    _log_rows(drops, "dropped")
    _log_rows(flags, "kept but flagged")
    return rows_read, np.asarray(scores, dtype=np.int8)


def _log_rows(rows: RowLog, verb: str) -> None:
    for details in rows.as_report().values():
        rows_word = "row" if details["count"] == 1 else "rows"
        logger.info("  %s %d %s: %s (first rows: %s; lines: %s)", verb, details["count"], rows_word,
                    details["description"], ", ".join(map(str, details["first_rows"])),
                    ", ".join(map(str, details["first_lines"])))


def check_scores(scores: np.ndarray, settings: PrepareParams, source: str) -> list[str]:
    """Raise if the reviews cannot be split; return warnings about rare and absent scores."""
    # params.py rejects these fractions too; this guards direct callers, since no review count would suffice.
    if settings.validation_fraction + settings.test_fraction >= 1:
        raise UserInputError(f"params.yaml: 'prepare.validation_fraction' + 'prepare.test_fraction' = "
                             f"{settings.validation_fraction + settings.test_fraction}; expected a sum < 1 "
                             f"so that reviews are left for training.")
    counts = Counter(scores.tolist())
    if not counts:
        raise UserInputError(f"{source}: no valid reviews left after cleaning; see the dropped rows above "
                             f"and in reports/prepare.json.")
    if len(counts) < 2:
        only_score = next(iter(counts))
        raise UserInputError(f"{source}: all {len(scores)} valid reviews have score {only_score}; a classifier "
                             f"needs reviews of at least two scores, with at least {MIN_REVIEWS_PER_SCORE} "
                             f"reviews of a score to test it. Add reviews with other scores.")

    splittable = {score: count for score, count in counts.items() if count >= MIN_REVIEWS_PER_SCORE}
    if not splittable:
        listing = ", ".join(f"score {score}: {count}" for score, count in sorted(counts.items()))
        raise UserInputError(f"{source}: too few reviews for a stratified split ({listing}); each score needs at "
                             f"least {MIN_REVIEWS_PER_SCORE} reviews (one each for train, validation and test). "
                             f"Add reviews.")
    _check_split_sizes(sum(splittable.values()), len(splittable), settings, source)
    return _rare_score_warnings(counts) + _missing_score_warnings(counts)


def _check_split_sizes(reviews: int, scores: int, settings: PrepareParams, source: str) -> None:
    """Raise unless every split gets at least one review of each of the `scores` scores."""
    for name, size in split_sizes(reviews, settings).items():
        if size < scores:
            raise UserInputError(
                f"{source}: {reviews} reviews are too few for a stratified split: the {name} split would get {size} "
                f"but needs at least one review of each of the {scores} scores. Use at least "
                f"{_reviews_needed(scores, settings)} reviews, or change 'prepare.validation_fraction' and "
                f"'prepare.test_fraction' (now {settings.validation_fraction} and {settings.test_fraction}).")


def split_sizes(reviews: int, settings: PrepareParams) -> dict[str, int]:
    """Return the reviews per split, with the same rounding as sklearn's train_test_split."""
    test = math.ceil(settings.test_fraction * reviews)
    rest = reviews - test
    validation = math.ceil(_validation_share(settings) * rest)
    return {"train": rest - validation, "validation": validation, "test": test}


def _reviews_needed(scores: int, settings: PrepareParams) -> int:
    reviews = scores
    while min(split_sizes(reviews, settings).values()) < scores:
        reviews += 1
    return reviews


def _validation_share(settings: PrepareParams) -> float:
    return settings.validation_fraction / (1 - settings.test_fraction)


def assign_splits(scores: np.ndarray, settings: PrepareParams) -> np.ndarray:
    """Return the split index (0 train, 1 validation, 2 test) of each review, stratified by score.

    A score with fewer than MIN_REVIEWS_PER_SCORE reviews cannot be stratified, so its
    reviews all go to train; `check_scores` warns about it.
    """
    counts = Counter(scores.tolist())
    rare = [score for score, count in counts.items() if count < MIN_REVIEWS_PER_SCORE]
    splittable = np.flatnonzero(~np.isin(scores, rare))
    try:
        rest, test = train_test_split(splittable, test_size=settings.test_fraction, stratify=scores[splittable],
                                      random_state=settings.seed)
        train, validation = train_test_split(rest, test_size=_validation_share(settings), stratify=scores[rest],
                                             random_state=settings.seed)
    except ValueError as error:
        listing = ", ".join(f"score {score}: {count}" for score, count in sorted(counts.items()))
        raise UserInputError(f"cannot split the reviews ({listing}) with 'prepare.validation_fraction' = "
                             f"{settings.validation_fraction} and 'prepare.test_fraction' = {settings.test_fraction}: "
                             f"{error} Add reviews or use smaller fractions.") from None

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


def _rare_score_warnings(counts: Counter) -> list[str]:
    warnings = []
    for score in SCORES:
        if 0 < counts[score] < MIN_REVIEWS_PER_SCORE:
            message = (f"score {score} has only {counts[score]} review(s), fewer than the {MIN_REVIEWS_PER_SCORE} "
                       f"a stratified split needs (one each for train, validation and test): they are used for "
                       f"training only, and the test metrics of score {score} are undefined. Add reviews with "
                       f"score {score} to evaluate it")
            logger.warning(message)
            warnings.append(message)
    return warnings


def _missing_score_warnings(counts: Counter) -> list[str]:
    warnings = []
    for score in SCORES:
        if counts[score] == 0:
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
