"""Reading review exports: encoding, delimiter, header and per-row validation.

Rows stream through `CsvRecords` one at a time, so files of any size are read in
bounded memory. `iter_reviews` turns its records into reviews with a score for the
pipeline; `review-lstm predict` reads texts without a score from the same records.
Every rejected row is counted by reason in a `DropLog`. Kept rows
that deserve a look (control characters, very long text, likely mojibake) are
counted in a `FlagLog`. Row numbers are the rows a spreadsheet shows: the header is
row 1 when it is the first line, and a quoted field with line breaks stays in one row.
Line numbers are the file's text lines, as an editor shows them.
"""

import codecs
import csv
import difflib
import logging
import os
import re
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence, TextIO

from review_lstm.errors import UserInputError

logger = logging.getLogger(__name__)

SCORES = (1, 2, 3, 4, 5)
LONG_TEXT_CHARACTERS = 10_000

# Accepted score spellings: "5", "+5", "05", "5.0", "5,0" (decimal comma), " 5 ", "5 stars", "1 star" (any case).
_SCORE_PATTERN = re.compile(r"^\s*([+-]?[0-9]+)(?:[.,]([0-9]+))?\s*(?:stars?)?\s*$", re.IGNORECASE)
# Spellings of a missing value in pandas and spreadsheet exports (compared in lower case).
_MISSING_SCORES = frozenset({"", "nan", "na", "n/a", "null", "none"})
# Control characters other than tab, newline and carriage return; each becomes a space.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Invisible characters that change no word: direction marks and embeddings, zero-width space, stray BOMs.
# Zero-width (non-)joiners stay, because emoji sequences and Persian words need them.
_INVISIBLE_CHARACTERS = re.compile("[\u061c\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
# Bytes that are not valid UTF-8, which the "surrogateescape" error handler keeps as U+DC80..U+DCFF.
_ESCAPED_BYTES = re.compile("[\udc80-\udcff]")
_VALID_NON_ASCII = re.compile("[^\x00-\x7f\udc80-\udcff]")
# UTF-8 text that was decoded as Windows-1252 and saved again: "Ã©" for "é", "â€™" for "’", "Â°" for "°".
_MOJIBAKE = re.compile("Ã[\u0080-\u00bf\u0152-\u2122]|Â[\u0080-\u00bf]|â€[^\x00-\x7f]")
_EXCEL_SEPARATOR_LINE = re.compile(r'^"?sep=(.)"?$')
_JSON_START = re.compile(r'^\s*(\[\s*\{|\{\s*")')
_SAMPLE_BYTES = 1 << 20
# A file with more NUL bytes than this share is read as UTF-16; fewer are control characters in text.
_UTF16_NUL_SHARE = 0.1
_DELIMITER_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "pipes"}
_BINARY_SIGNATURES = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook is one)"),
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 .xls workbook"),
    (b"\x1f\x8b", "a gzip-compressed file"),
)

DROP_REASONS = {
    "empty_row": "row is blank: no field has a value",
    "too_many_fields": "row has more fields than the header",
    "too_few_fields": "row has fewer fields than the header",
    "unbalanced_quote": "row spans several lines and its field count does not match the header; "
                        "a stray double quote probably merged it with the rows after it",
    "invalid_bytes": "text, score or reviewId contains bytes that are not valid UTF-8",
    "missing_score": "score is empty or NaN",
    "score_not_a_number": "score is not a number",
    "score_not_whole": "score is not a whole number",
    "score_out_of_range": "score is outside 1-5",
    "empty_text": "text is empty after removing white space and control characters",
    "duplicate": "same text as an earlier review",
}

FLAG_REASONS = {
    "control_characters": "text contained control characters; they were replaced by spaces",
    "very_long_text": f"text is longer than {LONG_TEXT_CHARACTERS:,} characters; "
                      f"check for a stray double quote that merged rows",
    "suspected_mojibake": "text looks like UTF-8 that was decoded as Windows-1252 and saved again "
                          "('Ã©' for 'é'); re-export the file as UTF-8",
}


class RowLog:
    """Rows counted by reason, with the first few row and line numbers of each reason."""

    def __init__(self, descriptions: dict[str, str], examples_per_reason: int = 5):
        self.descriptions = descriptions
        self.examples_per_reason = examples_per_reason
        self.counts: Counter = Counter()
        self.first_rows: dict[str, list[int]] = {}
        self.first_lines: dict[str, list[int]] = {}

    def add(self, reason: str, row_number: int, line_number: int | None = None) -> None:
        if reason not in self.descriptions:
            raise KeyError(f"unknown reason {reason!r}; known: {', '.join(self.descriptions)}")
        self.counts[reason] += 1
        rows = self.first_rows.setdefault(reason, [])
        if len(rows) < self.examples_per_reason:
            rows.append(row_number)
            self.first_lines.setdefault(reason, []).append(line_number if line_number is not None else row_number)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_report(self) -> dict:
        return {reason: {"count": self.counts[reason], "description": self.descriptions[reason],
                         "first_rows": self.first_rows[reason], "first_lines": self.first_lines[reason]}
                for reason in sorted(self.counts)}


class DropLog(RowLog):
    """Rejected rows by reason (see DROP_REASONS)."""

    def __init__(self, examples_per_reason: int = 5):
        super().__init__(DROP_REASONS, examples_per_reason)


class FlagLog(RowLog):
    """Kept rows that deserve a look, by reason (see FLAG_REASONS)."""

    def __init__(self, examples_per_reason: int = 5):
        super().__init__(FLAG_REASONS, examples_per_reason)


@dataclass(frozen=True)
class Review:
    """One valid review: its row number (see the module docstring), text, score and first line in the file."""

    row: int
    text: str
    score: int
    line: int | None = None


@dataclass(frozen=True)
class CsvFormat:
    """How to decode and split a review file."""

    encoding: str
    delimiter: str
    # "surrogateescape" keeps invalid UTF-8 bytes as U+DC80..U+DCFF, so that their rows can be dropped.
    errors: str = "strict"
    has_separator_line: bool = False  # Excel's "sep=;" first line, skipped before the header

    def describe(self) -> str:
        return f"{self.encoding}, fields split on {_DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))}"


@dataclass(frozen=True)
class Column:
    """A header column to read, and how the user names another one.

    A required column needs `setting` and `how_to_change`, which the missing-column message quotes.
    """

    name: str
    setting: str = ""  # the option that names the column, e.g. "data.text_column" or "--text-column"
    how_to_change: str = ""  # completes "if your export uses another name, ...", e.g. "pass --text-column NAME"
    required: bool = True


@dataclass(frozen=True)
class Record:
    """A data row that passed the checks shared by every reader, with the values of the columns read.

    The row is not blank, its field count matches the header, and none of the columns
    read contains invalid bytes.
    """

    row: int
    first_line: int
    last_line: int
    values: dict[str, str]  # by Column.name; a missing optional column has no entry


@dataclass(frozen=True)
class _ParsedRow:
    row: int
    first_line: int
    last_line: int
    fields: list[str]


def check_input_file(path: Path) -> None:
    """Raise UserInputError if `path` is missing, a directory, unreadable or empty."""
    if not path.exists():
        raise UserInputError(f"{path}: file not found. Set 'data.raw' in params.yaml to your review export, "
                             f"or run `dvc exp run -S data.raw=PATH`.")
    if path.is_dir():
        raise UserInputError(f"{path}: is a directory; 'data.raw' must name a CSV file.")
    if not os.access(path, os.R_OK):
        raise UserInputError(f"{path}: permission denied; make the file readable.")
    if path.stat().st_size == 0:
        raise UserInputError(f"{path}: file is empty; expected a CSV with a header row and one review per row.")


def detect_format(path: Path) -> CsvFormat:
    """Find the text encoding and the field delimiter; reject files that are not CSV text."""
    with open(path, "rb") as stream:
        head = stream.read(_SAMPLE_BYTES)
    for signature, kind in _BINARY_SIGNATURES:
        if head.startswith(signature):
            raise UserInputError(f"{path}: this is {kind}, not a CSV text file. Save or decompress it as a .csv "
                                 f"file (UTF-8) and set 'data.raw' to that file.")

    encoding, errors = _detect_encoding(path, head)
    sample = head.decode(encoding, errors="replace").lstrip("\ufeff")
    if _JSON_START.match(sample):
        raise UserInputError(f"{path}: looks like JSON, not CSV. Convert it first, for example with "
                             f"`pandas.DataFrame(reviews).to_csv('reviews.csv', index=False)`.")

    delimiter, has_separator_line = _detect_delimiter(sample)
    csv_format = CsvFormat(encoding=encoding, delimiter=delimiter, errors=errors,
                           has_separator_line=has_separator_line)
    logger.info("%s: reading as %s", path, csv_format.describe())
    return csv_format


def _detect_encoding(path: Path, head: bytes) -> tuple[str, str]:
    """Return (encoding, error handler): from the byte order mark, else UTF-16 by NUL bytes, else UTF-8 or cp1252."""
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return _require_valid(path, "utf-32"), "strict"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _require_valid(path, "utf-16"), "strict"
    if head.startswith(codecs.BOM_UTF8):
        return _detect_utf8_or_cp1252(path, has_bom=True)
    if head.count(0) > _UTF16_NUL_SHARE * len(head):
        return _require_valid(path, _utf16_byte_order(path, head)), "strict"
    return _detect_utf8_or_cp1252(path, has_bom=False)


def _utf16_byte_order(path: Path, head: bytes) -> str:
    # ASCII characters in UTF-16 have their zero byte second (little-endian) or first (big-endian).
    zeros_at_even, zeros_at_odd = head[0::2].count(0), head[1::2].count(0)
    if zeros_at_odd > 4 * zeros_at_even:
        return "utf-16-le"
    if zeros_at_even > 4 * zeros_at_odd:
        return "utf-16-be"
    raise UserInputError(f"{path}: contains many NUL bytes, so it is not a text CSV in a known encoding. "
                         f"Save it as CSV (UTF-8) and run again.")


def _require_valid(path: Path, encoding: str) -> str:
    offset = _first_invalid_offset(path, encoding)
    if offset is not None:
        raise UserInputError(f"{path}: invalid {encoding.upper()} at byte offset {offset}. "
                             f"Re-save the file as UTF-8 and run again.")
    return encoding


def _detect_utf8_or_cp1252(path: Path, has_bom: bool) -> tuple[str, str]:
    """Read as UTF-8 unless the file is clearly Windows-1252; invalid bytes in UTF-8 text drop their rows."""
    encoding = "utf-8-sig" if has_bom else "utf-8"
    invalid_bytes, valid_non_ascii = _count_utf8_characters(path)
    if invalid_bytes == 0:
        return encoding, "surrogateescape"

    offset = _first_invalid_offset(path, "utf-8")
    line = _line_of_offset(path, offset)
    # Real UTF-8 text with a few damaged bytes has more valid multi-byte characters than invalid bytes.
    if has_bom or valid_non_ascii > invalid_bytes:
        logger.warning("%s: %d bytes are not valid UTF-8 (the first at line %d); rows with such a byte in the text, "
                       "score or reviewId are dropped.", path, invalid_bytes, line)
        return encoding, "surrogateescape"
    if _first_invalid_offset(path, "cp1252") is None:
        logger.warning("%s: not valid UTF-8 (first invalid byte at line %d); reading it as Windows-1252 "
                       "(cp1252, a superset of latin-1). Re-save the file as UTF-8 if accented letters look wrong.",
                       path, line)
        return "cp1252", "strict"

    with open(path, "rb") as stream:
        stream.seek(offset)
        byte = stream.read(1)[0]
    raise UserInputError(f"{path}: not valid UTF-8 (byte 0x{byte:02x} at line {line}, byte offset {offset}), and "
                         f"not valid Windows-1252 either. Re-save the file as UTF-8 (in Excel: Save As > "
                         f"CSV UTF-8) and run again.")


def _count_utf8_characters(path: Path) -> tuple[int, int]:
    """Return the number of invalid UTF-8 bytes and of valid non-ASCII characters in the file."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
    invalid = valid_non_ascii = 0
    with open(path, "rb") as stream:
        while block := stream.read(_SAMPLE_BYTES):
            text = decoder.decode(block)
            invalid += len(_ESCAPED_BYTES.findall(text))
            valid_non_ascii += len(_VALID_NON_ASCII.findall(text))
    tail = decoder.decode(b"", final=True)
    return invalid + len(_ESCAPED_BYTES.findall(tail)), valid_non_ascii


def _first_invalid_offset(path: Path, encoding: str) -> int | None:
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with open(path, "rb") as stream:
        while block := stream.read(_SAMPLE_BYTES):
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


def _line_of_offset(path: Path, offset: int) -> int:
    newlines = 0
    with open(path, "rb") as stream:
        while offset > 0 and (block := stream.read(min(offset, _SAMPLE_BYTES))):
            newlines += block.count(b"\n")
            offset -= len(block)
    return newlines + 1


def _detect_delimiter(sample: str) -> tuple[str, bool]:
    """Return the delimiter that occurs most often in the header line, and whether an Excel "sep=" line precedes it."""
    lines = sample.splitlines()
    if lines and (match := _EXCEL_SEPARATOR_LINE.match(lines[0].strip())):
        return match.group(1), True
    header_line = next((line for line in lines if line.strip()), "")
    delimiter = max(_DELIMITER_NAMES, key=header_line.count)
    return (delimiter if header_line.count(delimiter) else ","), False


def parse_score(raw: str | None) -> tuple[int | None, str | None]:
    """Return (score, None) for an accepted score spelling, else (None, drop reason)."""
    if raw is None or raw.strip().lower() in _MISSING_SCORES:
        return None, "missing_score"
    match = _SCORE_PATTERN.match(raw)
    if not match:
        return None, "score_not_a_number"
    whole, fraction = match.groups()
    if fraction and fraction.strip("0"):
        return None, "score_not_whole"
    if int(whole) not in SCORES:
        return None, "score_out_of_range"
    return int(whole), None


def contains_invalid_bytes(value: str) -> bool:
    """Return True if `value`, read with CsvFormat.errors, contains bytes that were not valid UTF-8."""
    return _ESCAPED_BYTES.search(value) is not None


def clean_text(raw: str) -> str:
    """Compose accents (NFC), drop invisible direction marks, replace control characters by spaces, strip."""
    text = unicodedata.normalize("NFC", raw)
    text = _INVISIBLE_CHARACTERS.sub("", text)
    return _CONTROL_CHARACTERS.sub(" ", text).strip()


def iter_reviews(path: str | Path, text_column: str, label_column: str, drops: DropLog, *,
                 flags: FlagLog | None = None, csv_format: CsvFormat | None = None) -> Iterator[Review]:
    """Yield the valid reviews of a CSV export in file order, counting rejected rows in `drops`.

    Kept rows that deserve a look are counted in `flags`. Duplicates are not removed
    here; `prepare` does that, since prediction keeps them.
    """
    flags = flags if flags is not None else FlagLog()
    columns = [_params_column(text_column, "data.text_column"), _params_column(label_column, "data.label_column")]
    for record in CsvRecords(path, columns, drops, csv_format):
        review = _review_from(record, text_column, label_column, drops, flags)
        if review is not None:
            yield review


def _params_column(name: str, param: str) -> Column:
    return Column(name, param, f"set '{param}' in params.yaml (or run `dvc exp run -S {param}=NAME`)")


class CsvRecords:
    """The data rows of a CSV export that pass the checks shared by every reader, in file order.

    Creating it checks the file, detects its format and reads the header, so a missing
    column fails before any row is read. Each iteration reads the file from the start,
    counts every rejected row by reason in `drops`, and raises UserInputError when the
    file has no data row.
    """

    def __init__(self, path: str | Path, columns: Sequence[Column], drops: DropLog,
                 csv_format: CsvFormat | None = None):
        self.path = Path(path)
        check_input_file(self.path)
        self.format = csv_format or detect_format(self.path)
        self.drops = drops
        self._stream: TextIO | None = None
        csv.field_size_limit(sys.maxsize)

        with self._open() as stream:
            header, self._header_row = _read_header(csv.reader(stream, delimiter=self.format.delimiter), self.path)
        self._header_width = len(header)
        self._indices: dict[str, int] = {}
        for column in columns:
            index = _column_index(header, column, self.path, self.format)
            if index is not None:
                self._indices[column.name] = index

    def has_column(self, name: str) -> bool:
        """Return True if the header contains the column requested as `name`."""
        return name in self._indices

    def fraction_read(self) -> float:
        """Return the share of the file's bytes read so far, read-ahead buffers included."""
        if self._stream is None:
            return 0.0
        if self._stream.closed:
            return 1.0
        return self._stream.buffer.tell() / max(1, self.path.stat().st_size)

    def __iter__(self) -> Iterator[Record]:
        line_offset = 1 if self.format.has_separator_line else 0
        rows = 0
        with self._open() as self._stream:
            reader = csv.reader(self._stream, delimiter=self.format.delimiter)
            _read_header(reader, self.path)  # skipped here, since __init__ has checked it
            for parsed in _read_rows(reader, self.path, self._header_row, line_offset):
                rows += 1
                record = self._check(parsed)
                if record is not None:
                    yield record

        if rows == 0:
            raise UserInputError(f"{self.path}: has a header row but no review rows; export the reviews again.")

    def _open(self) -> TextIO:
        """Open the file as text, past Excel's "sep=" line when it has one."""
        stream = open(self.path, encoding=self.format.encoding, errors=self.format.errors, newline="")
        if self.format.has_separator_line:
            stream.readline()
        return stream

    def _check(self, parsed: _ParsedRow) -> Record | None:
        """Return the row's record, or None after counting why it was dropped."""
        if not any(value.strip() for value in parsed.fields):
            self.drops.add("empty_row", parsed.row, parsed.first_line)
            return None
        problem = _field_count_problem(parsed, self._header_width)
        if problem:
            self.drops.add(problem, parsed.row, parsed.first_line)
            if problem == "unbalanced_quote" and self.drops.counts[problem] <= self.drops.examples_per_reason:
                logger.warning("row %d (lines %d-%d): %d fields instead of %d; a stray double quote probably merged "
                               "%d lines into one field. Fix the quote and run again to keep those reviews.",
                               parsed.row, parsed.first_line, parsed.last_line, len(parsed.fields),
                               self._header_width, parsed.last_line - parsed.first_line + 1)
            return None

        values = {name: parsed.fields[index] for name, index in self._indices.items()}
        if any(contains_invalid_bytes(value) for value in values.values()):
            self.drops.add("invalid_bytes", parsed.row, parsed.first_line)
            return None
        return Record(parsed.row, parsed.first_line, parsed.last_line, values)


def _read_header(reader: Iterator[list[str]], path: Path) -> tuple[list[str], int]:
    """Return the first non-blank row's column names and its row number."""
    row = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            raise UserInputError(f"{path}: contains only blank lines; expected a header row and one review "
                                 f"per row.") from None
        except csv.Error as error:
            raise UserInputError(f"{path}: cannot parse the header row: {error}.") from None
        row += 1
        if any(value.strip() for value in fields):
            return [_printable(name.strip().lstrip("\ufeff")) for name in fields], row


def _read_rows(reader, path: Path, header_row: int, line_offset: int) -> Iterator[_ParsedRow]:
    row = header_row
    while True:
        first_line = reader.line_num + 1 + line_offset
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise UserInputError(f"{path}: cannot parse the CSV at line {reader.line_num + line_offset}: {error}. "
                                 f"Fix that line or export the file again.") from None
        row += 1
        yield _ParsedRow(row, first_line, reader.line_num + line_offset, fields)


def _column_index(header: list[str], column: Column, path: Path, csv_format: CsvFormat) -> int | None:
    """Return the column's index in the header, or None for a missing optional column."""
    matches = [index for index, name in enumerate(header) if name == column.name]
    if not matches:
        matches = [index for index, name in enumerate(header) if name.casefold() == column.name.casefold()]
        if len(matches) == 1:
            logger.info("%s: using column '%s' for %s '%s'", path, header[matches[0]], column.setting or "column",
                        column.name)
    if len(matches) > 1:
        positions = ", ".join(str(index + 1) for index in matches)
        setting = f" ({column.setting})" if column.setting else ""
        raise UserInputError(f"{path}: column '{column.name}'{setting} appears {len(matches)} times in the header "
                             f"(columns {positions}); rename or remove the extra ones.")
    if matches:
        return matches[0]
    if not column.required:
        return None

    found = ", ".join(f"'{name[:40]}'" for name in header[:30]) + (", ..." if len(header) > 30 else "")
    close = difflib.get_close_matches(column.name, header, n=1)
    suggestion = f" Did you mean '{close[0]}'?" if close else ""
    raise UserInputError(f"{path}: missing column '{column.name}' ({column.setting}). Columns found in the first "
                         f"row, read as {csv_format.describe()}: {found}.{suggestion} The first row must name the "
                         f"columns; if your export uses another name, {column.how_to_change}.")


def _review_from(record: Record, text_column: str, label_column: str, drops: DropLog,
                 flags: FlagLog) -> Review | None:
    """Return the record's review, or None after counting why it was dropped."""
    raw_text = record.values[text_column]
    score, reason = parse_score(record.values[label_column])
    if reason:
        drops.add(reason, record.row, record.first_line)
        return None
    text = clean_text(raw_text)
    if not text:
        drops.add("empty_text", record.row, record.first_line)
        return None

    _flag_text(raw_text, text, record, flags)
    return Review(row=record.row, text=text, score=score, line=record.first_line)


def _field_count_problem(parsed: _ParsedRow, header_width: int) -> str | None:
    extra = len(parsed.fields) - header_width
    if extra == 0:
        return None
    if parsed.last_line > parsed.first_line:
        return "unbalanced_quote"
    if extra > 0 and not any(value.strip() for value in parsed.fields[header_width:]):
        return None  # trailing delimiters add empty fields; the columns still line up
    return "too_many_fields" if extra > 0 else "too_few_fields"


def _flag_text(raw_text: str, text: str, record: Record, flags: FlagLog) -> None:
    if _CONTROL_CHARACTERS.search(raw_text):
        flags.add("control_characters", record.row, record.first_line)
    if len(text) > LONG_TEXT_CHARACTERS:
        flags.add("very_long_text", record.row, record.first_line)
    if _MOJIBAKE.search(text):
        flags.add("suspected_mojibake", record.row, record.first_line)


def _printable(name: str) -> str:
    return _ESCAPED_BYTES.sub("\ufffd", name)
