"""Reading review exports: encoding, delimiter, header and per-row validation.

Rows stream through `iter_reviews` one at a time, so files of any size are read in
bounded memory. Every rejected row is counted by reason in a `DropLog`.
"""

import codecs
import csv
import logging
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from review_lstm.errors import UserInputError

logger = logging.getLogger(__name__)

SCORES = (1, 2, 3, 4, 5)

# Accepted score spellings: "5", "5.0", " 5 ", "5 stars", "1 star" (case-insensitive).
_SCORE_PATTERN = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*(?:stars?)?\s*$", re.IGNORECASE)
# Control characters other than tab, newline and carriage return.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_ENCODING_SAMPLE_BYTES = 1 << 20
_DELIMITERS = ",;\t|"

DROP_REASONS = {
    "empty_text": "text is empty or whitespace only",
    "missing_score": "score is empty",
    "score_not_a_number": "score is not a number",
    "score_not_whole": "score is not a whole number",
    "score_out_of_range": "score is outside 1-5",
    "wrong_field_count": "row has more fields than the header",
    "duplicate": "same text as an earlier review",
}


@dataclass
class DropLog:
    """Rows dropped by reason, with the first few row numbers of each reason."""

    examples_per_reason: int = 5
    counts: Counter = field(default_factory=Counter)
    first_rows: dict[str, list[int]] = field(default_factory=dict)

    def add(self, reason: str, row_number: int) -> None:
        self.counts[reason] += 1
        examples = self.first_rows.setdefault(reason, [])
        if len(examples) < self.examples_per_reason:
            examples.append(row_number)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_report(self) -> dict:
        return {reason: {"count": self.counts[reason], "description": DROP_REASONS[reason],
                         "first_rows": self.first_rows[reason]}
                for reason in sorted(self.counts)}


@dataclass(frozen=True)
class Review:
    """One valid review: its row number in the file (header = row 1), text and score."""

    row: int
    text: str
    score: int


@dataclass(frozen=True)
class CsvFormat:
    """How to decode and split a review file."""

    encoding: str
    delimiter: str


def check_input_file(path: Path) -> None:
    """Raise a clear error if `path` is missing, a directory or empty."""
    if not path.exists():
        raise UserInputError(f"{path}: file not found. Set 'data.raw' in params.yaml to your review export.")
    if path.is_dir():
        raise UserInputError(f"{path}: is a directory; 'data.raw' must name a CSV file.")
    if path.stat().st_size == 0:
        raise UserInputError(f"{path}: file is empty; expected a CSV with a header row and reviews.")


def detect_format(path: Path) -> CsvFormat:
    """Find the text encoding (BOM, UTF-8, else Windows-1252) and the field delimiter."""
    with open(path, "rb") as stream:
        head = stream.read(_ENCODING_SAMPLE_BYTES)

    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = _detect_bomless_encoding(path)

    sample = head.decode(encoding, errors="replace")
    header_line = sample.lstrip("\ufeff").splitlines()[0] if sample.strip() else ""
    delimiter = max(_DELIMITERS, key=header_line.count)
    if header_line.count(delimiter) == 0:
        delimiter = ","
    return CsvFormat(encoding=encoding, delimiter=delimiter)


def _detect_bomless_encoding(path: Path) -> str:
    first_invalid = _first_invalid_offset(path, "utf-8")
    if first_invalid is None:
        return "utf-8"
    if _first_invalid_offset(path, "cp1252") is None:
        logger.warning("%s: not valid UTF-8 (first invalid byte at offset %d); reading it as Windows-1252 "
                       "(cp1252/latin-1). Re-save the file as UTF-8 if accented letters look wrong.",
                       path, first_invalid)
        return "cp1252"
    raise UserInputError(f"{path}: invalid bytes for UTF-8 at offset {first_invalid}, and not valid Windows-1252 "
                         f"either. Re-save the file as UTF-8.")


def _first_invalid_offset(path: Path, encoding: str) -> int | None:
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with open(path, "rb") as stream:
        while block := stream.read(_ENCODING_SAMPLE_BYTES):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as error:
                return offset + error.start
            offset += len(block)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as error:
        return offset + error.start
    return None


def parse_score(raw: str) -> tuple[int | None, str | None]:
    """Return (score, None) for an accepted score, else (None, drop reason)."""
    if raw is None or not raw.strip() or raw.strip().lower() == "nan":
        return None, "missing_score"
    match = _SCORE_PATTERN.match(raw)
    if not match:
        return None, "score_not_a_number"
    number = float(match.group(1))
    if not number.is_integer():
        return None, "score_not_whole"
    if int(number) not in SCORES:
        return None, "score_out_of_range"
    return int(number), None


def clean_text(raw: str) -> str:
    """Remove control characters and surrounding white space; keep everything else."""
    return _CONTROL_CHARACTERS.sub(" ", raw).strip()


def iter_reviews(path: str | Path, text_column: str, label_column: str, drops: DropLog) -> Iterator[Review]:
    """Yield the valid reviews of a CSV export in file order, counting dropped rows in `drops`.

    Duplicates are not removed here; `prepare` does that, since prediction keeps them.
    """
    path = Path(path)
    check_input_file(path)
    csv_format = detect_format(path)
    csv.field_size_limit(sys.maxsize)

    with open(path, encoding=csv_format.encoding, newline="") as stream:
        reader = csv.reader(stream, delimiter=csv_format.delimiter)
        header = _read_header(reader, path)
        text_index = _column_index(header, text_column, "data.text_column", path)
        label_index = _column_index(header, label_column, "data.label_column", path)
        needed_fields = max(text_index, label_index) + 1

        row_number = 1
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                raise UserInputError(f"{path}: cannot parse the CSV near line {reader.line_num}: {error}.") from None
            row_number += 1

            if not fields or not any(value.strip() for value in fields):
                continue  # blank line between records
            if len(fields) > len(header):
                drops.add("wrong_field_count", row_number)
                continue
            if len(fields) < needed_fields:
                drops.add("empty_text" if len(fields) <= text_index else "missing_score", row_number)
                continue

            score, reason = parse_score(fields[label_index])
            if reason:
                drops.add(reason, row_number)
                continue
            text = clean_text(fields[text_index])
            if not text:
                drops.add("empty_text", row_number)
                continue
            yield Review(row=row_number, text=text, score=score)


def _read_header(reader: Iterator[list[str]], path: Path) -> list[str]:
    try:
        header = next(reader)
    except StopIteration:
        raise UserInputError(f"{path}: file has no header row.") from None
    except csv.Error as error:
        raise UserInputError(f"{path}: cannot parse the header row: {error}.") from None
    return [name.strip().lstrip("\ufeff") for name in header]


def _column_index(header: list[str], column: str, param: str, path: Path) -> int:
    if column in header:
        return header.index(column)
    raise UserInputError(f"{path}: missing column '{column}'. Columns found: {', '.join(header) or '(none)'}. "
                         f"Set '{param}' in params.yaml to the column that holds it.")
