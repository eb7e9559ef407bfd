"""Messy review exports: each bad input gets a clear message naming it, or a counted, reported drop."""

import codecs
import gzip
import io
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import HEADER, REPO_ROOT, TINY_TEXTS, export_csv_text, load_params_file, tiny_review_rows

from review_lstm.data import LONG_TEXT_CHARACTERS
from review_lstm.encoded import EncodedSplit
from review_lstm.errors import UserInputError
from review_lstm.featurize import featurize
from review_lstm.params import DataParams, PrepareParams, parse_section
from review_lstm.prepare import SPLITS, prepare, read_split
from review_lstm.vocab import EMPTY_ID

SETTINGS = PrepareParams(seed=1, validation_fraction=0.2, test_fraction=0.2)
# Accented words that Windows-1252 and latin-1 can both encode.
ACCENTED = "café crème brûlée, naïve señor"


def export_lines(rows: list[tuple[str, object]], header: list[str] = HEADER, delimiter: str = ",") -> list[str]:
    """Return the lines of a google-play-scraper shaped CSV: the header, then one line per (content, score)."""
    return export_csv_text(rows, header, delimiter).splitlines(keepends=True)


def export_text(rows, header=HEADER, delimiter=",") -> str:
    return "".join(export_lines(rows, header, delimiter))


def write_raw(tmp_path: Path, content: bytes | str) -> Path:
    path = tmp_path / "reviews.csv"
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def run_prepare(tmp_path: Path, raw: Path, settings: PrepareParams = SETTINGS) -> dict:
    data = DataParams(raw=str(raw), text_column="content", label_column="score")
    return prepare(data, settings, tmp_path / "prepared", tmp_path / "prepare.json")


def prepare_error(tmp_path: Path, raw: Path, settings: PrepareParams = SETTINGS) -> str:
    with pytest.raises(UserInputError) as error:
        run_prepare(tmp_path, raw, settings)
    return str(error.value)


def kept_reviews(tmp_path: Path) -> dict[int, tuple[int, str]]:
    """Return {row: (score, text)} of every review in the three split files."""
    kept = {}
    for split in SPLITS:
        rows, scores, texts = read_split(tmp_path / "prepared" / f"{split}.csv")
        kept.update({row: (score, text) for row, score, text in zip(rows, scores, texts)})
    return kept


def drop_counts(report: dict) -> dict[str, int]:
    return {reason: details["count"] for reason, details in report["dropped_by_reason"].items()}


def flag_counts(report: dict) -> dict[str, int]:
    return {reason: details["count"] for reason, details in report["flagged_rows"].items()}


# --- Files that cannot be read as a review export --------------------------------------------------------------


def header_bytes() -> bytes:
    return export_text([]).encode("utf-8")


def reviews_bytes(header=HEADER) -> bytes:
    return export_text(tiny_review_rows(), header).encode("utf-8")


def not_utf8_nor_cp1252() -> bytes:
    # 0x81 and 0x8d are undefined in Windows-1252; the second review row is line 3.
    lines = export_lines(tiny_review_rows())
    lines[2] = lines[2].replace("user 1", "user \x00")
    return "".join(lines).encode("utf-8").replace(b"\x00", b"\x81\x8d")


UNREADABLE_FILES = [
    pytest.param(None, ["file not found", "'data.raw'", "dvc exp run -S data.raw="], id="missing file"),
    pytest.param(b"", ["file is empty"], id="empty file"),
    pytest.param(b"\n\n   \n", ["only blank lines"], id="blank lines only"),
    pytest.param(header_bytes(), ["has a header row but no review rows"], id="header only"),
    pytest.param("directory", ["is a directory", "'data.raw'"], id="directory"),
    pytest.param(b"PK\x03\x04" + bytes(60), ["ZIP archive", ".xlsx", "as a .csv file"], id="Excel workbook"),
    pytest.param(gzip.compress(reviews_bytes()), ["gzip-compressed"], id="gzip file"),
    pytest.param(b'[{"content": "great", "score": 5}]', ["looks like JSON", "to_csv"], id="JSON file"),
    pytest.param(not_utf8_nor_cp1252(), ["not valid UTF-8", "byte 0x81 at line 3", "Re-save the file as UTF-8"],
                 id="invalid bytes"),
    pytest.param(codecs.BOM_UTF16_LE + "content,score\n".encode("utf-16-le") + b"\x00",
                 ["invalid UTF-16", "Re-save the file as UTF-8"], id="truncated UTF-16"),
    pytest.param(b"\x00\x00\x00\x01" * 50, ["many NUL bytes"], id="binary data"),
]


@pytest.mark.parametrize("content, fragments", UNREADABLE_FILES)
def test_unreadable_file_is_explained(tmp_path, content, fragments):
    raw = tmp_path / "reviews.csv"
    if content == "directory":
        raw.mkdir()
    elif content is not None:
        raw.write_bytes(content)

    message = prepare_error(tmp_path, raw)

    assert message.startswith(str(raw))
    for fragment in fragments:
        assert fragment in message


RENAMED_COLUMNS = [
    pytest.param(["reviewId", "score"], ["missing column 'content'", "'data.text_column'",
                                         "Columns found in the first row", "'reviewId', 'score'"],
                 id="no content column"),
    pytest.param(["reviewId", "content"], ["missing column 'score'", "'data.label_column'"], id="no score column"),
    pytest.param(["id", "review", "rating"], ["missing column 'content'", "'data.text_column'", "'review'",
                                             "'rating'", "dvc exp run -S data.text_column=NAME"],
                 id="other column names"),
    pytest.param(["contents", "score"], ["Did you mean 'contents'?"], id="misspelt column"),
    pytest.param(["content", "score", "score"], ["column 'score'", "appears 2 times", "columns 2, 3"],
                 id="duplicate column"),
]


@pytest.mark.parametrize("header, fragments", RENAMED_COLUMNS)
def test_missing_column_names_the_param(tmp_path, header, fragments):
    raw = write_raw(tmp_path, ",".join(header) + "\ngreat app,5,5\n")

    message = prepare_error(tmp_path, raw)

    for fragment in fragments:
        assert fragment in message


def test_columns_match_regardless_of_case(tmp_path):
    lines = export_lines(tiny_review_rows())
    lines[0] = lines[0].upper()
    raw = write_raw(tmp_path, "".join(lines))

    report = run_prepare(tmp_path, raw)

    assert report["rows_kept"] == len(tiny_review_rows())


def test_stage_prints_one_line_for_missing_file(tmp_path):
    params = load_params_file(REPO_ROOT / "params.yaml")
    params["data"]["raw"] = "exports/missing.csv"
    (tmp_path / "params.yaml").write_text(json.dumps(params))  # JSON is valid YAML

    result = subprocess.run([sys.executable, str(REPO_ROOT / "stages/prepare.py")], cwd=tmp_path,
                            capture_output=True, text=True)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "prepare: error: exports/missing.csv: file not found. Set 'data.raw' in params.yaml to your review export, "
        "or run `dvc exp run -S data.raw=PATH`."]


# --- Encodings -------------------------------------------------------------------------------------------------


ENCODINGS = [
    pytest.param(lambda text: text.encode("utf-8"), ACCENTED + " ’ €", "utf-8", id="UTF-8"),
    pytest.param(lambda text: codecs.BOM_UTF8 + text.encode("utf-8"), ACCENTED, "utf-8-sig", id="UTF-8 with BOM"),
    pytest.param(lambda text: text.encode("utf-16"), ACCENTED + " 😍", "utf-16", id="UTF-16 with BOM"),
    pytest.param(lambda text: text.encode("utf-16-le"), ACCENTED, "utf-16-le", id="UTF-16-LE without BOM"),
    pytest.param(lambda text: text.encode("utf-16-be"), ACCENTED, "utf-16-be", id="UTF-16-BE without BOM"),
    pytest.param(lambda text: text.encode("utf-32"), ACCENTED + " 😍", "utf-32", id="UTF-32 with BOM"),
    pytest.param(lambda text: text.encode("cp1252"), ACCENTED + " ’ €", "cp1252", id="Windows-1252"),
    pytest.param(lambda text: text.encode("latin-1"), ACCENTED, "cp1252", id="latin-1"),
]


@pytest.mark.parametrize("encode, suffix, encoding", ENCODINGS)
def test_encoding_is_decoded_without_mojibake(tmp_path, encode, suffix, encoding):
    rows = [(f"{text} {suffix}", score) for text, score in tiny_review_rows()]
    raw = write_raw(tmp_path, encode(export_text(rows)))

    report = run_prepare(tmp_path, raw)

    assert report["input_format"]["encoding"] == encoding
    assert report["rows_dropped"] == 0
    assert sorted(text for _, text in kept_reviews(tmp_path).values()) == sorted(text for text, _ in rows)
    assert report["flagged_rows"] == {}


def test_invalid_utf8_bytes_drop_their_rows(tmp_path):
    rows = [(f"{text} {ACCENTED}", score) for text, score in tiny_review_rows()]
    lines = export_lines(rows)
    lines[5] = lines[5].replace("(variant", "\x00(variant")
    raw = write_raw(tmp_path, "".join(lines).encode("utf-8").replace(b"\x00", b"\xff\xfe"))

    report = run_prepare(tmp_path, raw)

    assert report["input_format"]["encoding"] == "utf-8"
    assert report["dropped_by_reason"]["invalid_bytes"]["count"] == 1
    assert report["dropped_by_reason"]["invalid_bytes"]["first_rows"] == [6]
    assert all(text.endswith(ACCENTED) for _, text in kept_reviews(tmp_path).values())


def test_unread_column_invalid_bytes_kept(tmp_path):
    rows = [(f"{text} {ACCENTED}", score) for text, score in tiny_review_rows()]
    lines = export_lines(rows)
    lines[5] = lines[5].replace("user 4", "user \x00")  # userName, which prepare does not read
    raw = write_raw(tmp_path, "".join(lines).encode("utf-8").replace(b"\x00", b"\xff\xfe"))

    report = run_prepare(tmp_path, raw)

    assert report["input_format"]["encoding"] == "utf-8"
    assert report["rows_dropped"] == 0
    assert report["rows_kept"] == len(rows)


# --- CSV quirks ------------------------------------------------------------------------------------------------


def with_line(index: int, line: str):
    """Insert a raw line before line `index` (0 is the header) of the tiny export."""
    def build() -> str:
        lines = export_lines(tiny_review_rows())
        lines.insert(index, line)
        return "".join(lines)
    return build


def swallowing_stray_quote() -> str:
    # The opening quote of row 2 has no closing quote, so the parser reads on to the next quoted field.
    lines = export_lines(tiny_review_rows())
    lines.insert(1, 'id-x,user x,,"great app,5,0,,,,\n')
    return "".join(lines)


def with_delimiter(delimiter: str):
    return lambda: export_text(tiny_review_rows(), delimiter=delimiter)


# Each case: the file, the expected drops, reviews expected at given rows, and the change in kept reviews
# against the 100 tiny ones.
CSV_QUIRKS = [
    pytest.param(with_line(1, 'id-x,user x,,"line one, with a comma\nline two ""quoted""",5,0,,,,\n'), {},
                 {2: (5, 'line one, with a comma\nline two "quoted"')}, +1, id="quoted newline, comma and quotes"),
    pytest.param(with_line(1, 'id-x,user x,,He said "great" app,5,0,,,,\n'), {},
                 {2: (5, 'He said "great" app')}, +1, id="stray quote inside a field"),
    pytest.param(swallowing_stray_quote, {"unbalanced_quote": 1}, {}, -1, id="stray opening quote"),
    pytest.param(with_line(1, "id-x,user x,,too few fields,5\n"), {"too_few_fields": 1}, {}, 0, id="too few fields"),
    pytest.param(with_line(1, "id-x,user x,,too many fields,5,0,,,,,extra,more\n"), {"too_many_fields": 1}, {}, 0,
                 id="too many fields"),
    pytest.param(with_line(1, "id-x,user x,,trailing commas,4,0,,,,,,\n"), {}, {2: (4, "trailing commas")}, +1,
                 id="trailing delimiters"),
    pytest.param(with_line(1, "\n"), {"empty_row": 1}, {}, 0, id="blank line"),
    pytest.param(with_line(1, ",,,,,,,,,\n"), {"empty_row": 1}, {}, 0, id="row of empty fields"),
    pytest.param(with_delimiter(";"), {}, {}, 0, id="semicolon-separated"),
    pytest.param(with_delimiter("\t"), {}, {}, 0, id="tab-separated"),
    pytest.param(with_delimiter("|"), {}, {}, 0, id="pipe-separated"),
    pytest.param(lambda: "sep=;\n" + export_text(tiny_review_rows(), delimiter=";"), {}, {}, 0, id="Excel sep line"),
    pytest.param(lambda: export_text(tiny_review_rows()).replace("\n", "\r\n"), {}, {}, 0, id="CRLF line ends"),
]


@pytest.mark.parametrize("build, drops, expected_rows, kept_change", CSV_QUIRKS)
def test_csv_quirk_is_read_or_counted(tmp_path, build, drops, expected_rows, kept_change):
    raw = write_raw(tmp_path, build())

    report = run_prepare(tmp_path, raw)
    kept = kept_reviews(tmp_path)

    assert drop_counts(report) == drops
    for row, review in expected_rows.items():
        assert kept[row] == review
    assert len(kept) == report["rows_kept"] == len(tiny_review_rows()) + kept_change


def test_excel_sep_line_shifts_lines_not_rows(tmp_path):
    lines = export_lines(tiny_review_rows(), delimiter=";")
    lines.insert(1, "id-x;user x;;too many fields;5;0;;;;;extra;more\n")
    raw = write_raw(tmp_path, "sep=;\n" + "".join(lines))

    report = run_prepare(tmp_path, raw)

    details = report["dropped_by_reason"]["too_many_fields"]
    assert details["first_rows"] == [2]
    assert details["first_lines"] == [3]
    assert report["rows_kept"] == len(tiny_review_rows())


def test_stray_quote_reports_its_lines(tmp_path, caplog):
    raw = write_raw(tmp_path, swallowing_stray_quote())

    with caplog.at_level(logging.WARNING, logger="review_lstm.data"):
        report = run_prepare(tmp_path, raw)

    details = report["dropped_by_reason"]["unbalanced_quote"]
    assert details["first_rows"] == [2]
    assert details["first_lines"] == [2]
    assert "stray double quote" in details["description"]
    assert "row 2 (lines 2-3)" in caplog.text
    assert "merged 2 lines into one field" in caplog.text


# --- Scores ----------------------------------------------------------------------------------------------------


SCORES_SPELLINGS = [
    pytest.param("5", 5, None, id="5"),
    pytest.param("5.0", 5, None, id="5.0"),
    pytest.param("4,0", 4, None, id="decimal comma"),
    pytest.param(" 3 ", 3, None, id="spaces"),
    pytest.param("+2", 2, None, id="plus sign"),
    pytest.param("5 stars", 5, None, id="5 stars"),
    pytest.param("1 Star", 1, None, id="1 Star"),
    pytest.param("0", None, "score_out_of_range", id="0"),
    pytest.param("6", None, "score_out_of_range", id="6"),
    pytest.param("-1", None, "score_out_of_range", id="-1"),
    pytest.param("4.5", None, "score_not_whole", id="4.5"),
    pytest.param("", None, "missing_score", id="empty"),
    pytest.param("NaN", None, "missing_score", id="NaN"),
    pytest.param("nan", None, "missing_score", id="nan"),
    pytest.param("N/A", None, "missing_score", id="N/A"),
    pytest.param("five", None, "score_not_a_number", id="text"),
    pytest.param("★★★★★", None, "score_not_a_number", id="star symbols"),
    pytest.param("5/5", None, "score_not_a_number", id="5/5"),
    pytest.param("1e1", None, "score_not_a_number", id="exponent"),
]


@pytest.mark.parametrize("raw_score, score, reason", SCORES_SPELLINGS)
def test_score_spelling_is_kept_or_counted(tmp_path, raw_score, score, reason):
    rows = tiny_review_rows()
    rows.insert(2, ("an unusual score spelling", raw_score))  # row 4: the header is row 1
    raw = write_raw(tmp_path, export_text(rows))

    report = run_prepare(tmp_path, raw)
    kept = kept_reviews(tmp_path)

    if reason is None:
        assert kept[4] == (score, "an unusual score spelling")
        assert report["rows_dropped"] == 0
    else:
        assert 4 not in kept
        assert drop_counts(report) == {reason: 1}
        assert report["dropped_by_reason"][reason]["first_rows"] == [4]


# --- Review texts ----------------------------------------------------------------------------------------------


LONG_TEXT = "slow " * (100_000 // 5)

TEXTS = [
    pytest.param("", None, "empty_text", None, id="empty"),
    pytest.param("  \t \n ", None, "empty_text", None, id="whitespace only"),
    pytest.param("\x00\x01\x07", None, "empty_text", None, id="control characters only"),
    pytest.param("\u200f\u202b\u202c", None, "empty_text", None, id="direction marks only"),
    pytest.param("😍😍😍", "😍😍😍", None, None, id="emoji only"),
    pytest.param(LONG_TEXT, LONG_TEXT.strip(), None, "very_long_text", id="100,000 characters"),
    pytest.param("great\x00app\x07!", "great app !", None, "control_characters", id="control characters"),
    pytest.param("تطبيق رائع جدا", "تطبيق رائع جدا", None, None, id="Arabic"),
    pytest.param("\u202bאפליקציה מעולה\u202c", "אפליקציה מעולה", None, None, id="Hebrew in an RTL embedding"),
    pytest.param("\u200fسيء جدا\u200f", "سيء جدا", None, None, id="right-to-left marks"),
    pytest.param("cafe\u0301 app", "café app", None, None, id="decomposed accent"),
    pytest.param("Ã©tÃ© parfait", "Ã©tÃ© parfait", None, "suspected_mojibake", id="mojibake"),
    pytest.param("the and is", "the and is", None, None, id="stop words only"),
]


@pytest.mark.parametrize("raw_text, kept_text, drop_reason, flag", TEXTS)
def test_review_text_is_kept_or_counted(tmp_path, raw_text, kept_text, drop_reason, flag):
    rows = tiny_review_rows()
    rows.insert(0, (raw_text, 4))  # row 2
    raw = write_raw(tmp_path, export_text(rows))

    report = run_prepare(tmp_path, raw)
    kept = kept_reviews(tmp_path)

    if drop_reason is None:
        assert kept[2] == (4, kept_text)
        assert report["rows_dropped"] == 0
    else:
        assert 2 not in kept
        assert drop_counts(report) == {drop_reason: 1}
    assert flag_counts(report) == ({flag: 1} if flag else {})


def test_long_text_flag_threshold_matches_constant(tmp_path):
    rows = tiny_review_rows()
    rows[:2] = [("a" * LONG_TEXT_CHARACTERS, 5), ("b" * (LONG_TEXT_CHARACTERS + 1), 5)]
    raw = write_raw(tmp_path, export_text(rows))

    report = run_prepare(tmp_path, raw)

    assert report["flagged_rows"]["very_long_text"]["first_rows"] == [3]


EMPTY_AFTER_NORMALISATION = ["the and is", "...", "- , ;", "was it because of"]


@pytest.fixture(scope="module")
def featurized_with_empty_texts(tmp_path_factory):
    """Prepare and featurize tiny reviews plus texts that normalise to no tokens; return (folder, rows, log)."""
    folder = tmp_path_factory.mktemp("empty_after_normalisation")
    rows = tiny_review_rows() + [(text, 1 + index % 5) for index, text in enumerate(EMPTY_AFTER_NORMALISATION)]
    raw = write_raw(folder, export_text(rows))
    run_prepare(folder, raw)
    row_of_text = {text: row for row, (_, text) in kept_reviews(folder).items()}

    params = parse_section("featurize", {**load_params_file(REPO_ROOT / "params.yaml")["featurize"],
                                         "remove_stop_words": True})
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    logger = logging.getLogger("review_lstm.featurize")
    previous_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        featurize(params, folder / "prepared", folder / "features")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
    return folder / "features", row_of_text, log.getvalue()


@pytest.mark.parametrize("text", EMPTY_AFTER_NORMALISATION)
def test_text_empty_after_normalisation_becomes_empty_token(featurized_with_empty_texts, text):
    features, row_of_text, _ = featurized_with_empty_texts
    row = row_of_text[text]

    encodings = []
    for split in SPLITS:
        encoded = EncodedSplit.load(features / split)
        encodings += [encoded.review(index).tolist() for index in range(len(encoded)) if encoded.rows[index] == row]

    assert encodings == [[EMPTY_ID]]


def test_empty_after_normalisation_is_logged(featurized_with_empty_texts):
    _, _, log = featurized_with_empty_texts

    counts = [int(count) for count in re.findall(r"(\d+) reviews have no tokens after normalisation", log)]

    assert sum(counts) == len(EMPTY_AFTER_NORMALISATION)
    assert "encoded as <empty>" in log


# --- Degenerate score distributions ----------------------------------------------------------------------------


def reviews_per_score(counts: dict[int, int]) -> list[tuple[str, int]]:
    """Distinct made-up reviews, `counts[score]` of each score (at most 20 per score)."""
    rows = []
    for score, count in counts.items():
        variants = [f"{text} (variant {copy_number})" for copy_number in range(4) for text in TINY_TEXTS[score]]
        rows += [(text, score) for text in variants[:count]]
    return rows


FULL = {score: 20 for score in TINY_TEXTS}

UNSPLITTABLE = [
    pytest.param({1: 3, 3: 3, 5: 3}, ["9 reviews are too few for a stratified split",
                                      "needs at least one review of each of the 3 scores", "Use at least",
                                      "'prepare.test_fraction'"], id="too few reviews"),
    pytest.param({5: 20}, ["all 20 valid reviews have score 5", "at least two scores"], id="one score only"),
    pytest.param({1: 2, 5: 1}, ["score 1: 2, score 5: 1", "each score needs at least 3 reviews"],
                 id="every score rare"),
    pytest.param({}, ["no valid reviews left after cleaning"], id="no valid review"),
]


@pytest.mark.parametrize("counts, fragments", UNSPLITTABLE)
def test_unsplittable_scores_are_explained(tmp_path, counts, fragments):
    rows = reviews_per_score(counts) or [("", 5)]
    raw = write_raw(tmp_path, export_text(rows))

    message = prepare_error(tmp_path, raw)

    for fragment in fragments:
        assert fragment in message


def spread_over_scores(total: int, scores: tuple[int, ...]) -> dict[int, int]:
    """Split `total` reviews as evenly as possible over `scores`."""
    return {score: total // len(scores) + (1 if index < total % len(scores) else 0)
            for index, score in enumerate(scores)}


def test_suggested_review_count_is_the_minimum(tmp_path):
    scores = (1, 3, 5)
    raw = write_raw(tmp_path, export_text(reviews_per_score({score: 3 for score in scores})))
    needed = int(re.search(r"Use at least (\d+) reviews", prepare_error(tmp_path, raw)).group(1))

    (tmp_path / "enough").mkdir()
    enough = write_raw(tmp_path / "enough", export_text(reviews_per_score(spread_over_scores(needed, scores))))
    report = run_prepare(tmp_path / "enough", enough)
    (tmp_path / "fewer").mkdir()
    fewer = write_raw(tmp_path / "fewer", export_text(reviews_per_score(spread_over_scores(needed - 1, scores))))
    message = prepare_error(tmp_path / "fewer", fewer)

    assert report["rows_kept"] == needed
    assert "too few for a stratified split" in message


SPLITTABLE_WITH_WARNING = [
    pytest.param({**FULL, 2: 1}, 2, "score 2 has only 1 review(s)", {"train": 1, "validation": 0, "test": 0},
                 id="one review of a score"),
    pytest.param({**FULL, 4: 2}, 4, "score 4 has only 2 review(s)", {"train": 2, "validation": 0, "test": 0},
                 id="two reviews of a score"),
    pytest.param({score: count for score, count in FULL.items() if score != 3}, 3, "no review has score 3",
                 {"train": 0, "validation": 0, "test": 0}, id="score absent"),
]


@pytest.mark.parametrize("counts, score, warning, per_split", SPLITTABLE_WITH_WARNING)
def test_rare_or_absent_score_warns_and_splits(tmp_path, counts, score, warning, per_split):
    raw = write_raw(tmp_path, export_text(reviews_per_score(counts)))

    report = run_prepare(tmp_path, raw)

    assert any(warning in message for message in report["warnings"])
    assert {split: report["scores_per_split"][split][str(score)] for split in SPLITS} == per_split
    for other in set(counts) - {score}:
        assert all(report["scores_per_split"][split][str(other)] > 0 for split in SPLITS)


def test_prepare_report_lists_every_drop(tmp_path):
    rows = tiny_review_rows() + [("", 5), ("fine", "abc"), ("ok", 9), ("meh", ""), ("meh", "")]
    lines = export_lines(rows)
    lines.insert(3, "id-x,user x,,ragged,5\n")
    raw = write_raw(tmp_path, "".join(lines))

    run_prepare(tmp_path, raw)
    report = json.loads((tmp_path / "prepare.json").read_text())

    assert drop_counts(report) == {"empty_text": 1, "score_not_a_number": 1, "score_out_of_range": 1,
                                   "missing_score": 2, "too_few_fields": 1}
    assert report["dropped_by_reason"]["too_few_fields"]["first_rows"] == [4]
    assert report["dropped_by_reason"]["missing_score"]["first_rows"] == [len(rows) + 1, len(rows) + 2]
    assert report["rows_read"] == len(rows) + 1
    assert report["rows_dropped"] == 6
    assert all(details["description"] for details in report["dropped_by_reason"].values())


def test_unreadable_file_permission_is_explained(tmp_path):
    raw = write_raw(tmp_path, reviews_bytes())
    raw.chmod(0)
    if os.access(raw, os.R_OK):
        pytest.skip("running as a user who can read any file")

    message = prepare_error(tmp_path, raw)

    assert "permission denied" in message
