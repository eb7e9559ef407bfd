"""`review-lstm predict`: score reviews given as arguments, lines on standard input, or a CSV file.

Input is read, scored and written in chunks of CHUNK_REVIEWS reviews. NOTE: memory
still grows with the number of distinct tokens seen, because spaCy's string store and
the normaliser's token cache keep every one. Empty texts are skipped: they get no output line, and a warning gives their
count and first row numbers. A CSV is read by the pipeline's reader (`data.CsvRecords`),
so its rows are skipped and reported for the same reasons as in `prepare`, except the
score checks. Each output line carries the row number (header = row 1) and the
reviewId, if the file has that column.
"""

import argparse
import csv
import json
import logging
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator

import numpy as np
import torch

from review_lstm.data import SCORES, Column, CsvRecords, DropLog, clean_text
from review_lstm.errors import UserInputError
from review_lstm.files import atomic_open
from review_lstm.params import DEFAULT_PARAMS_FILE, load_section
from review_lstm.predict import DEFAULT_BATCH_SIZE, DEFAULT_MODEL, DEFAULT_VOCABULARY, Predictor

logger = logging.getLogger("predict")

CHUNK_REVIEWS = 4096  # reviews read, scored and written at a time
DEFAULT_TEXT_COLUMN = "content"
REVIEW_ID_COLUMN = "reviewId"
PROBABILITY_COLUMNS = [f"probability_{score}" for score in SCORES]


@dataclass
class Review:
    """One review to score: its text and the output fields that identify it (row, reviewId or text)."""

    text: str
    identity: dict


@dataclass
class Source:
    """The reviews to score, the identity columns written before and after the prediction, and a progress line."""

    reviews: Iterator[Review]
    leading_columns: list[str]
    trailing_columns: list[str]
    progress: "Progress"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("texts", nargs="*", metavar="TEXT",
                        help="review texts to score; `-` reads one review per line from standard input "
                             "(also the default when no TEXT is given and standard input is not a terminal)")
    parser.add_argument("--input", "-i", type=Path, metavar="CSV",
                        help="CSV of reviews in the training data's shape (a google-play-scraper export)")
    parser.add_argument("--output", "-o", type=Path, metavar="FILE",
                        help="write the predictions to FILE, replacing it only once all are written; "
                             "default: standard output")
    parser.add_argument("--format", choices=("csv", "jsonl"),
                        help="output format, CSV or JSON Lines; default: jsonl if FILE ends in .jsonl, else csv")
    parser.add_argument("--text-column", metavar="NAME",
                        help=f"column of --input with the review text; default: data.text_column of "
                             f"{DEFAULT_PARAMS_FILE} if the current folder has one, else {DEFAULT_TEXT_COLUMN}")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL,
                        help=f"model checkpoint written by `dvc repro train` (default: {DEFAULT_MODEL})")
    parser.add_argument("--vocab", type=Path, default=DEFAULT_VOCABULARY,
                        help=f"vocabulary written by `dvc repro featurize` (default: {DEFAULT_VOCABULARY})")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                        help=f"reviews per forward pass of the model (default: {DEFAULT_BATCH_SIZE})")
    parser.add_argument("--threads", type=int, default=0,
                        help="PyTorch CPU threads; 0 keeps PyTorch's default (one per core). On a machine "
                             "busy with other processes, 1 may be faster")


def run(args: argparse.Namespace) -> int:
    source = _open_source(args)
    output_format = args.format or ("jsonl" if args.output and args.output.suffix == ".jsonl" else "csv")
    _check_model_files(args.model, args.vocab)
    if args.threads < 0:
        raise UserInputError(f"invalid --threads {args.threads}; expected 0 (PyTorch's default) or more.")
    if args.threads:
        torch.set_num_threads(args.threads)
    predictor = Predictor.load(args.model, args.vocab, args.batch_size)

    try:
        with _open_output(args.output) as stream:
            writer = PredictionWriter(stream, output_format, source.leading_columns, source.trailing_columns)
            written = _predict_in_chunks(predictor, source, writer)
            if written == 0:
                raise UserInputError("no review with text to score; nothing was written.")
    except BrokenPipeError:
        # The reader closed the pipe early, as `head` does; that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        source.progress.finish()

    if args.output:
        logger.info("wrote %d predictions to %s", written, args.output)
    return 0


def _open_source(args: argparse.Namespace) -> Source:
    if args.input and args.texts:
        raise UserInputError("give review texts as arguments or --input CSV, not both.")
    if "-" in args.texts and len(args.texts) > 1:
        raise UserInputError("`-` (read standard input) must be the only TEXT argument.")
    stdin_is_piped = sys.stdin is not None and not sys.stdin.isatty()

    if args.input:
        _check_input_and_output(args.input, args.output)
        reviews = CsvReviews(args.input, args.text_column or _default_text_column())
        return Source(iter(reviews), reviews.identity_columns, [], Progress(sys.stderr, reviews.fraction_read))
    if args.texts == ["-"] or (not args.texts and stdin_is_piped):
        return Source(_text_reviews(sys.stdin, "line"), [], ["text"], Progress(sys.stderr))
    if args.texts:
        return Source(_text_reviews(args.texts, "argument"), [], ["text"], Progress(None))
    raise UserInputError("no reviews given: pass review texts as arguments, `-` to read one review per line "
                         "from standard input, or --input FILE.csv.")


def _default_text_column() -> str:
    if Path(DEFAULT_PARAMS_FILE).is_file():
        return load_section("data").text_column
    return DEFAULT_TEXT_COLUMN


def _check_input_and_output(input_path: Path, output_path: Path | None) -> None:
    if not input_path.exists():
        raise UserInputError(f"{input_path}: file not found; --input must name a CSV of reviews.")
    if input_path.is_dir():
        raise UserInputError(f"{input_path}: is a directory; --input must name a CSV of reviews.")
    if input_path.stat().st_size == 0:
        raise UserInputError(f"{input_path}: file is empty; expected a CSV with a header row and reviews.")
    if output_path is not None and output_path.resolve() == input_path.resolve():
        raise UserInputError(f"{output_path}: --output is the --input file; choose another output file.")


def _check_model_files(model_path: Path, vocab_path: Path) -> None:
    if not model_path.is_file():
        raise UserInputError(f"{model_path}: model checkpoint not found; run `dvc repro train` in the project "
                             f"folder to produce it, or pass --model PATH.")
    if not vocab_path.is_file():
        raise UserInputError(f"{vocab_path}: vocabulary not found; run `dvc repro featurize` in the project "
                             f"folder to produce it, or pass --vocab PATH.")


def _text_reviews(texts: Iterable[str], numbered_as: str) -> Iterator[Review]:
    """Yield each non-empty text; the empty ones are reported once the input is read."""
    empty = DropLog()
    for number, raw in enumerate(texts, start=1):
        text = clean_text(raw)
        if text:
            yield Review(text=text, identity={"text": text})
        else:
            empty.add("empty_text", number)
    if empty.total:
        logger.warning("skipped %d empty texts (%s numbers %s); they have no output line", empty.total,
                       numbered_as, _first_few(empty.first_rows["empty_text"], empty.total))


class CsvReviews:
    """The reviews of a CSV export, read row by row with the pipeline's reader and its checks.

    The header is checked when the object is made, so a wrong column fails before the model loads.
    """

    def __init__(self, path: Path, text_column: str):
        self.path = path
        self.text_column = text_column
        self.drops = DropLog()
        columns = [Column(text_column, "--text-column", "pass --text-column NAME"),
                   Column(REVIEW_ID_COLUMN, required=False)]
        self.records = CsvRecords(path, columns, self.drops)
        self.has_review_id = self.records.has_column(REVIEW_ID_COLUMN)
        self.identity_columns = ["row"] + ([REVIEW_ID_COLUMN] if self.has_review_id else [])

    def fraction_read(self) -> float:
        """Return the share of the file's bytes read so far (read-ahead included)."""
        return self.records.fraction_read()

    def __iter__(self) -> Iterator[Review]:
        for record in self.records:
            text = clean_text(record.values[self.text_column])
            if not text:
                self.drops.add("empty_text", record.row, record.first_line)
                continue
            identity = {"row": record.row}
            if self.has_review_id:
                identity[REVIEW_ID_COLUMN] = record.values[REVIEW_ID_COLUMN]
            yield Review(text=text, identity=identity)
        self._report_drops()

    def _report_drops(self) -> None:
        for details in self.drops.as_report().values():
            count = details["count"]
            logger.warning("%s: skipped %d %s because the %s (%s %s); %s no output line", self.path, count,
                           "row" if count == 1 else "rows", details["description"], "row" if count == 1 else "rows",
                           _first_few(details["first_rows"], count), "it has" if count == 1 else "they have")


def _first_few(numbers: list[int], total: int) -> str:
    listed = ", ".join(str(number) for number in numbers[:5])
    return listed + (", ..." if total > 5 else "")


def _predict_in_chunks(predictor: Predictor, source: Source, writer: "PredictionWriter") -> int:
    written = 0
    while chunk := list(islice(source.reviews, CHUNK_REVIEWS)):
        probabilities = predictor.predict_probabilities([review.text for review in chunk])
        for review, row_probabilities in zip(chunk, probabilities):
            writer.write(review.identity, row_probabilities)
        written += len(chunk)
        source.progress.update(written)
    return written


class PredictionWriter:
    """Write one line per review: leading identity columns, predicted score, probabilities, trailing columns.

    The CSV header is written with the first line, so an input without reviews writes nothing.
    """

    def __init__(self, stream: IO[str], output_format: str, leading_columns: list[str],
                 trailing_columns: list[str]):
        self.stream = stream
        self.output_format = output_format
        self.leading_columns = leading_columns
        self.trailing_columns = trailing_columns
        self.csv_writer = csv.writer(stream, lineterminator="\n") if output_format == "csv" else None
        self.lines = 0

    def write(self, identity: dict, probabilities: np.ndarray) -> None:
        predicted = SCORES[int(probabilities.argmax())]
        leading = [identity[column] for column in self.leading_columns]
        trailing = [identity[column] for column in self.trailing_columns]

        if self.csv_writer is not None:
            if self.lines == 0:
                self.csv_writer.writerow([*self.leading_columns, "predicted", *PROBABILITY_COLUMNS,
                                          *self.trailing_columns])
            self.csv_writer.writerow([*leading, predicted, *(f"{value:.6f}" for value in probabilities), *trailing])
        else:
            record = dict(zip(self.leading_columns, leading))
            record["predicted"] = predicted
            record["probabilities"] = {str(score): round(float(value), 6)
                                       for score, value in zip(SCORES, probabilities)}
            record.update(zip(self.trailing_columns, trailing))
            self.stream.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.lines += 1


@contextmanager
def _open_output(path: Path | None) -> Iterator[IO[str]]:
    if path is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    with atomic_open(path, newline="") as stream:
        yield stream


class Progress:
    """A one-line count of scored reviews on standard error, shown only when it is a terminal."""

    def __init__(self, stream: IO[str] | None, fraction_read: Callable[[], float] | None = None):
        self.stream = stream if stream is not None and stream.isatty() else None
        self.fraction_read = fraction_read
        self.shown = False

    def update(self, reviews: int) -> None:
        if self.stream is None:
            return
        share = f" ({100 * self.fraction_read():.0f}% of the file)" if self.fraction_read else ""
        self.stream.write(f"\rpredict: {reviews:,} reviews scored{share}")
        self.stream.flush()
        self.shown = True

    def finish(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
