"""The Predictor API and `review-lstm predict`: same numbers as evaluate, the three inputs, bad input."""

import csv
import dataclasses
import io
import json
import signal
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import (REPO_ROOT, TINY_TEXTS, export_csv_text, load_params_file, real_reviews_path, run_in,
                      tiny_review_rows, write_params_file, write_reviews_csv)

from review_lstm import predict_command
from review_lstm.cli import main
from review_lstm.data import clean_text, detect_format
from review_lstm.encoded import EncodedSplit
from review_lstm.errors import UserInputError
from review_lstm.featurize import text_settings_from
from review_lstm.inference import save_checkpoint
from review_lstm.model import ModelConfig, ReviewClassifier
from review_lstm.params import load_section
from review_lstm.predict import Predictor
from review_lstm.prepare import read_split
from review_lstm.text import TextNormalizer
from review_lstm.vocab import EMPTY_ID, Vocabulary

PROBABILITY_COLUMNS = [f"probability_{score}" for score in range(1, 6)]
# Accented words that Windows-1252 can encode, so each encoding below can write them.
ACCENTED = "café crème, très bien"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> tuple[Path, Path]:
    """An untrained model with max_tokens 6 and a vocabulary built from the tiny reviews."""
    folder = tmp_path_factory.mktemp("tiny_model")
    settings = dataclasses.replace(text_settings_from(load_section("featurize", REPO_ROOT / "params.yaml")),
                                   remove_stop_words=True)
    counts = Counter(token for tokens in TextNormalizer(settings).normalize([text for text, _ in tiny_review_rows()])
                     for token in tokens)
    vocabulary = Vocabulary.build(counts, max_size=1000, min_frequency=1, text_settings=settings)
    vocabulary.save(folder / "vocab.json")

    torch.manual_seed(0)
    config = ModelConfig(vocab_size=len(vocabulary), embedding_dim=8, hidden_size=6, num_layers=1,
                         bidirectional=True, dropout=0.0, pooling="max")
    model = ReviewClassifier(config)
    save_checkpoint(folder / "model.pt", model, model.state_dict(), {"max_tokens": 6, "best_epoch": 1})
    return folder / "model.pt", folder / "vocab.json"


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def predict_cli(tiny_model, *arguments: str) -> int:
    model_path, vocab_path = tiny_model
    return main(["predict", "--model", str(model_path), "--vocab", str(vocab_path), *arguments])


def read_csv_output(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def export_text(rows: list[tuple[str, object]], delimiter: str = ",") -> str:
    """Return a google-play-scraper shaped CSV of (content, score) rows, with accented reviewIds."""
    return export_csv_text(rows, delimiter=delimiter, review_id_format="id-{index}-é")


# The API.

def test_predictions_match_evaluate_on_test_split(project_copy):
    rows = tiny_review_rows(copies=6)
    rows += [(f"{texts[0]}. {texts[1]}, {texts[2]} ({n})", score) for score, texts in TINY_TEXTS.items()
             for n in range(3)]  # longer than max_tokens below
    rows += [(f"Visit https://example.com/help {n} or mail help@example.com, it is GREAT!!", 5) for n in range(3)]
    rows += [(f"the and of it {'was ' * n}", 3) for n in range(3)]  # stop words only: the <empty> token
    write_reviews_csv(project_copy / "Data" / "review_data.csv", rows)
    params = load_params_file(project_copy / "params.yaml")
    params["train"].update(epochs=2, max_tokens=8)  # max_tokens 8 truncates the longer reviews
    params["evaluate"]["bootstrap_samples"] = 10
    write_params_file(project_copy / "params.yaml", params)
    run_in(project_copy, "dvc", "repro", "evaluate")

    predictor = Predictor.load(project_copy / "models/model.pt", project_copy / "data/features/vocab.json")
    test_rows, _, texts = read_split(project_copy / "data/prepared/test.csv")
    test_split = EncodedSplit.load(project_copy / "data/features/test")
    with open(project_copy / "reports/test_predictions.csv", encoding="utf-8", newline="") as stream:
        evaluated = {int(line["row"]): line for line in csv.DictReader(stream)}
    encoded = predictor.encode(texts)
    predictions = predictor.predict(texts)

    assert test_split.rows.tolist() == test_rows
    for index, (row, prediction) in enumerate(zip(test_rows, predictions)):
        assert encoded[index] == test_split.review(index).tolist(), f"token ids of row {row}"
        assert prediction.score == int(evaluated[row]["predicted"]), f"predicted score of row {row}"
        expected = [float(evaluated[row][column]) for column in PROBABILITY_COLUMNS]
        np.testing.assert_allclose(prediction.probabilities, expected, atol=1e-5, err_msg=f"row {row}")


def test_predict_returns_score_of_largest_probability(tiny_model):
    predictor = Predictor.load(*tiny_model)

    predictions = predictor.predict(["love it, perfect", "crashes every time", "ok"])

    assert len(predictions) == 3
    for prediction in predictions:
        assert len(prediction.probabilities) == 5
        assert sum(prediction.probabilities) == pytest.approx(1.0, abs=1e-5)
        assert prediction.score == 1 + int(np.argmax(prediction.probabilities))


def test_predict_independent_of_batch_size(tiny_model):
    texts = ["love it", "x", "crashes every time I open it, useless and slow", "great app, five stars", "ok fine"]

    one_by_one = Predictor.load(*tiny_model, batch_size=1).predict_probabilities(texts)
    all_at_once = Predictor.load(*tiny_model, batch_size=256).predict_probabilities(texts)

    np.testing.assert_allclose(one_by_one, all_at_once, atol=1e-6)


def test_predict_empty_list(tiny_model):
    predictor = Predictor.load(*tiny_model)

    assert predictor.predict([]) == []
    assert predictor.predict_probabilities([]).shape == (0, 5)


def test_encode_stop_words_only_gives_empty_token(tiny_model):
    predictor = Predictor.load(*tiny_model)

    assert predictor.encode(["the and of"]) == [[EMPTY_ID]]


def test_encode_rejects_blank_text(tiny_model):
    predictor = Predictor.load(*tiny_model)

    with pytest.raises(ValueError, match="text 1 is empty"):
        predictor.encode(["fine", " \t\x00 "])


def test_predict_rejects_single_string(tiny_model):
    predictor = Predictor.load(*tiny_model)

    with pytest.raises(TypeError, match="got one string; pass \\[text\\]"):
        predictor.predict("great app")


@pytest.mark.parametrize("bad_text", [None, 5, b"bytes"])
def test_predict_rejects_non_string_text(tiny_model, bad_text):
    predictor = Predictor.load(*tiny_model)

    with pytest.raises(TypeError, match=f"text 1 is {type(bad_text).__name__}"):
        predictor.predict(["fine", bad_text])


def test_load_rejects_vocabulary_of_other_run(tiny_model, tmp_path):
    _, vocab_path = tiny_model
    vocabulary = Vocabulary.load(vocab_path)
    Vocabulary(vocabulary.tokens[:-1], vocabulary.text_settings).save(tmp_path / "vocab.json")

    with pytest.raises(UserInputError, match="different runs"):
        Predictor.load(tiny_model[0], tmp_path / "vocab.json")


# The command: arguments and standard input.

def test_cli_scores_arguments(tiny_model, capsys):
    status = predict_cli(tiny_model, "love it, perfect", "crashes every time")

    lines = read_csv_output(capsys.readouterr().out)
    assert status == 0
    assert [line["text"] for line in lines] == ["love it, perfect", "crashes every time"]
    for line in lines:
        assert int(line["predicted"]) in range(1, 6)
        assert sum(float(line[column]) for column in PROBABILITY_COLUMNS) == pytest.approx(1.0, abs=1e-5)


def test_cli_matches_api(tiny_model, capsys):
    texts = ["love it, perfect", "crashes every time", "ok"]

    predict_cli(tiny_model, *texts)

    lines = read_csv_output(capsys.readouterr().out)
    expected = Predictor.load(*tiny_model).predict_probabilities(texts)
    actual = [[float(line[column]) for column in PROBABILITY_COLUMNS] for line in lines]
    np.testing.assert_allclose(actual, expected, atol=1e-6)


def test_cli_reads_piped_stdin(tiny_model, capsys, monkeypatch, caplog):
    monkeypatch.setattr("sys.stdin", io.StringIO("love it\n\n  \ncrashes every time\n"))

    status = predict_cli(tiny_model, "--format", "jsonl")

    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert status == 0
    assert [record["text"] for record in records] == ["love it", "crashes every time"]
    assert set(records[0]["probabilities"]) == {"1", "2", "3", "4", "5"}
    assert "skipped 2 empty texts (line numbers 2, 3)" in caplog.text


def test_cli_dash_reads_stdin(tiny_model, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("great app\n"))

    status = predict_cli(tiny_model, "-")

    assert status == 0
    assert [line["text"] for line in read_csv_output(capsys.readouterr().out)] == ["great app"]


def test_cli_empty_stdin_fails(tiny_model, monkeypatch, caplog):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))

    status = predict_cli(tiny_model)

    assert status == 1
    assert "no review with text to score" in caplog.text


def test_cli_without_reviews_on_terminal(tiny_model, monkeypatch, caplog):
    monkeypatch.setattr("sys.stdin", FakeTerminal(""))

    status = predict_cli(tiny_model)

    assert status == 1
    assert "no reviews given" in caplog.text


# The command: CSV files.

def test_cli_csv_keeps_row_and_review_id(tiny_model, tmp_path, caplog):
    rows = [("love it", 5), ("", 3), ("line one\nline two", 1), ("   ", 2), ("crashes", "not a score")]
    input_path = write_reviews_csv(tmp_path / "new.csv", rows)
    output_path = tmp_path / "predictions.csv"

    status = predict_cli(tiny_model, "--input", str(input_path), "--output", str(output_path))

    lines = read_csv_output(output_path.read_text(encoding="utf-8"))
    assert status == 0
    assert list(lines[0])[:3] == ["row", "reviewId", "predicted"]
    assert [line["row"] for line in lines] == ["2", "4", "6"]
    assert [line["reviewId"] for line in lines] == ["id-0", "id-2", "id-4"]
    assert "skipped 2 rows because the text is empty" in caplog.text
    assert "(rows 3, 5)" in caplog.text


def test_cli_csv_jsonl_from_file_suffix(tiny_model, tmp_path):
    input_path = write_reviews_csv(tmp_path / "new.csv", [("love it", 5), ("awful", 1)])
    output_path = tmp_path / "predictions.jsonl"

    predict_cli(tiny_model, "--input", str(input_path), "--output", str(output_path))

    records = [json.loads(line) for line in output_path.read_text(encoding="utf-8").splitlines()]
    assert [record["row"] for record in records] == [2, 3]
    assert [record["reviewId"] for record in records] == ["id-0", "id-1"]
    assert all(record["predicted"] in range(1, 6) for record in records)


def test_cli_csv_without_review_id(tiny_model, tmp_path, capsys):
    input_path = write_reviews_csv(tmp_path / "new.csv", [("love it", 5)], header=["content", "score"])

    predict_cli(tiny_model, "--input", str(input_path))

    header = capsys.readouterr().out.splitlines()[0]
    assert header == "row,predicted," + ",".join(PROBABILITY_COLUMNS)


def test_cli_csv_semicolons_and_windows_1252(tiny_model, tmp_path, capsys):
    input_path = tmp_path / "excel.csv"
    input_path.write_bytes("text;score\ncaf\xe9 app, tr\xe8s bien;5\n".encode("cp1252"))

    status = predict_cli(tiny_model, "--input", str(input_path), "--text-column", "text")

    lines = read_csv_output(capsys.readouterr().out)
    assert status == 0
    assert [line["row"] for line in lines] == ["2"]


ACCENTED_ROWS = [(f"{text} {ACCENTED}", score) for text, score in tiny_review_rows(copies=1)]

CSV_ENCODINGS = [
    pytest.param(lambda: export_text(ACCENTED_ROWS).encode("cp1252"), id="Windows-1252"),
    pytest.param(lambda: export_text(ACCENTED_ROWS).encode("utf-16"), id="UTF-16 with BOM"),
    pytest.param(lambda: export_text(ACCENTED_ROWS).encode("utf-16-le"), id="UTF-16-LE without BOM"),
    pytest.param(lambda: ("sep=;\n" + export_text(ACCENTED_ROWS, delimiter=";")).encode("utf-8"),
                 id="semicolons after Excel sep line"),
]


@pytest.mark.parametrize("build", CSV_ENCODINGS)
def test_cli_csv_reads_pipeline_formats(tiny_model, tmp_path, build):
    input_path = tmp_path / "reviews.csv"
    input_path.write_bytes(build())
    output_path = tmp_path / "predictions.csv"

    status = predict_cli(tiny_model, "--input", str(input_path), "--output", str(output_path))

    lines = read_csv_output(output_path.read_text(encoding="utf-8"))
    assert status == 0
    assert len(lines) == len(ACCENTED_ROWS)
    assert [int(line["row"]) for line in lines] == list(range(2, len(ACCENTED_ROWS) + 2))
    assert [line["reviewId"] for line in lines] == [f"id-{index}-é" for index in range(len(ACCENTED_ROWS))]


def test_cli_csv_counts_ragged_row(tiny_model, tmp_path, caplog):
    lines = export_text([("love it", 5), ("awful", 1)]).splitlines(keepends=True)
    lines.insert(2, "id-x,user x,,too many fields,5,0,,,,,extra,more\n")  # row 3
    input_path = tmp_path / "reviews.csv"
    input_path.write_text("".join(lines), encoding="utf-8")
    output_path = tmp_path / "predictions.csv"

    status = predict_cli(tiny_model, "--input", str(input_path), "--output", str(output_path))

    lines = read_csv_output(output_path.read_text(encoding="utf-8"))
    assert status == 0
    assert [line["row"] for line in lines] == ["2", "4"]
    assert "skipped 1 row because the row has more fields than the header (row 3)" in caplog.text


def test_cli_csv_counts_invalid_bytes(tiny_model, tmp_path, caplog):
    # Invalid bytes in the first review's text, row 2.
    text = export_text(ACCENTED_ROWS).replace("(variant 0) café", "(variant 0) \x00café", 1)
    input_path = tmp_path / "reviews.csv"
    input_path.write_bytes(text.encode("utf-8").replace(b"\x00", b"\xff\xfe"))
    output_path = tmp_path / "predictions.csv"

    status = predict_cli(tiny_model, "--input", str(input_path), "--output", str(output_path))

    lines = read_csv_output(output_path.read_text(encoding="utf-8"))
    assert status == 0
    assert [int(line["row"]) for line in lines] == list(range(3, len(ACCENTED_ROWS) + 2))
    assert "skipped 1 row because the text, score or reviewId contains bytes that are not valid UTF-8 " \
           "(row 2)" in caplog.text


def test_csv_reviews_report_fraction_read(tmp_path):
    # About 70 KB, so the file is read in several blocks of 8 KiB.
    input_path = write_reviews_csv(tmp_path / "reviews.csv", tiny_review_rows(copies=40))
    reviews = predict_command.CsvReviews(input_path, "content")

    before = reviews.fraction_read()
    during = [reviews.fraction_read() for _ in reviews]
    after = reviews.fraction_read()

    assert before == 0.0
    assert during == sorted(during)
    assert 0 < during[0] < 1
    assert after == 1.0


def test_cli_csv_chunks_keep_order(tiny_model, tmp_path, capsys, monkeypatch):
    rows = tiny_review_rows(copies=1)
    input_path = write_reviews_csv(tmp_path / "new.csv", rows)
    monkeypatch.setattr(predict_command, "CHUNK_REVIEWS", 7)

    predict_cli(tiny_model, "--input", str(input_path))

    lines = read_csv_output(capsys.readouterr().out)
    expected = Predictor.load(*tiny_model).predict_probabilities([text for text, _ in rows])
    assert [int(line["row"]) for line in lines] == list(range(2, len(rows) + 2))
    actual = [[float(line[column]) for column in PROBABILITY_COLUMNS] for line in lines]
    np.testing.assert_allclose(actual, expected, atol=1e-6)


def test_cli_csv_real_reviews(tiny_model, tmp_path):
    reviews_path = real_reviews_path()
    output_path = tmp_path / "predictions.csv"

    threads = torch.get_num_threads()
    try:
        status = predict_cli(tiny_model, "--input", str(reviews_path), "--output", str(output_path),
                             "--text-column", "content", "--threads", "1")
    finally:
        torch.set_num_threads(threads)  # --threads sets a process-wide value

    csv_format = detect_format(reviews_path)
    with open(reviews_path, encoding=csv_format.encoding, newline="") as stream:
        records = list(csv.DictReader(stream, delimiter=csv_format.delimiter))
    with_text = {index + 2: record["reviewId"] for index, record in enumerate(records)
                 if clean_text(record["content"] or "")}
    lines = read_csv_output(output_path.read_text(encoding="utf-8"))
    assert status == 0
    assert {int(line["row"]): line["reviewId"] for line in lines} == with_text


# The command: mistakes.

@pytest.mark.parametrize("flag, missing_file, produced_by", [
    ("--model", "missing.pt", "dvc repro train"),
    ("--vocab", "missing.json", "dvc repro featurize"),
])
def test_cli_missing_model_files(tiny_model, tmp_path, caplog, flag, missing_file, produced_by):
    status = predict_cli(tiny_model, flag, str(tmp_path / missing_file), "love it")

    assert status == 1
    assert missing_file in caplog.text
    assert f"run `{produced_by}`" in caplog.text


def test_cli_missing_text_column(tiny_model, tmp_path, caplog):
    input_path = write_reviews_csv(tmp_path / "new.csv", [("love it", 5)])

    status = predict_cli(tiny_model, "--input", str(input_path), "--text-column", "review")

    assert status == 1
    assert "missing column 'review' (--text-column)" in caplog.text
    assert "pass --text-column NAME" in caplog.text


def test_cli_missing_input_file(tiny_model, tmp_path, caplog):
    status = predict_cli(tiny_model, "--input", str(tmp_path / "absent.csv"))

    assert status == 1
    assert "absent.csv: file not found" in caplog.text


def test_cli_rejects_texts_with_input(tiny_model, tmp_path, caplog):
    input_path = write_reviews_csv(tmp_path / "new.csv", [("love it", 5)])

    status = predict_cli(tiny_model, "--input", str(input_path), "great")

    assert status == 1
    assert "not both" in caplog.text


def test_cli_refuses_to_overwrite_input(tiny_model, tmp_path, caplog):
    input_path = write_reviews_csv(tmp_path / "new.csv", [("love it", 5)])
    original = input_path.read_bytes()

    status = predict_cli(tiny_model, "--input", str(input_path), "--output", str(input_path))

    assert status == 1
    assert "--output is the --input file" in caplog.text
    assert input_path.read_bytes() == original


def test_cli_keeps_old_output_when_nothing_to_score(tiny_model, tmp_path):
    input_path = write_reviews_csv(tmp_path / "new.csv", [("", 5), (" ", 1)])
    output_path = tmp_path / "predictions.csv"
    output_path.write_text("previous\n", encoding="utf-8")

    status = predict_cli(tiny_model, "--input", str(input_path), "--output", str(output_path))

    assert status == 1
    assert output_path.read_text(encoding="utf-8") == "previous\n"


def test_cli_sigterm_prints_one_line(tiny_model, monkeypatch, caplog):
    handler_before = signal.getsignal(signal.SIGTERM)

    def stop(args):
        signal.raise_signal(signal.SIGTERM)

    monkeypatch.setattr(predict_command, "run", stop)
    status = predict_cli(tiny_model, "love it")

    assert status == 143
    assert [record.getMessage() for record in caplog.records if record.levelname == "ERROR"] == [
        "interrupted by SIGTERM"]
    assert signal.getsignal(signal.SIGTERM) is handler_before


# Progress on a terminal.

def test_progress_shown_on_terminal():
    terminal = FakeTerminal()
    progress = predict_command.Progress(terminal, lambda: 0.5)

    progress.update(4096)
    progress.finish()

    assert terminal.getvalue() == "\rpredict: 4,096 reviews scored (50% of the file)\n"


def test_progress_silent_when_not_terminal():
    stream = io.StringIO()
    progress = predict_command.Progress(stream, lambda: 0.5)

    progress.update(4096)
    progress.finish()

    assert stream.getvalue() == ""
