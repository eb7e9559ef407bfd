"""The `review-lstm quality` command: the multi-seed table on tiny data, bad arguments, and the real reviews."""

import re
from pathlib import Path

import pytest

from conftest import REPO_ROOT, load_params_file, real_reviews_path, tiny_review_rows, write_params_file, \
    write_reviews_csv
from review_lstm.cli import main
from review_lstm.quality import format_table, run_quality, summarize

COLUMNS = ["split seed", "test reviews",
           "LSTM accuracy", "LSTM macro-F1", "LSTM MAE",
           "linear accuracy", "linear macro-F1", "linear MAE"]
NUMBER = r"\d+\.\d{3}"

# Required means over 5 seeded splits of the real reviews with the default params.
REQUIRED_MEAN_MACRO_F1 = 0.42
REQUIRED_MEAN_MAE = 0.55


def table_rows(markdown: str) -> list[list[str]]:
    """Return the cells of every Markdown table line, header and separator included."""
    return [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in markdown.splitlines() if line.startswith("|")]


@pytest.fixture
def small_params(tmp_path: Path) -> Path:
    """The project's params with two small networks, two epochs and few bootstrap samples."""
    params = load_params_file(REPO_ROOT / "params.yaml")
    params["train"].update(epochs=2, embedding_dim=16, hidden_size=16, ensemble_size=2)
    params["evaluate"].update(bootstrap_samples=50)
    path = tmp_path / "params.yaml"
    write_params_file(path, params)
    return path


def test_quality_table_has_every_column_and_seed(tmp_path, small_params, capsys):
    data_path = write_reviews_csv(tmp_path / "reviews.csv", tiny_review_rows())
    output = tmp_path / "quality.md"

    status = main(["quality", "--data", str(data_path), "--seeds", "3", "--params", str(small_params),
                   "--output", str(output)])

    assert status == 0
    written = output.read_text(encoding="utf-8")
    assert capsys.readouterr().out == written
    header, separator, *rows = table_rows(written)
    assert header == COLUMNS
    assert len(separator) == len(COLUMNS)
    assert [row[0] for row in rows] == ["42", "43", "44", "mean ± std"]
    for row in rows[:-1]:
        assert len(row) == len(COLUMNS)
        assert all(re.fullmatch(NUMBER, cell) for cell in row[2:]), row
    assert all(re.fullmatch(f"{NUMBER} ± {NUMBER}", cell) for cell in rows[-1][2:]), rows[-1]


def test_quality_mean_row_matches_seed_rows(tmp_path, small_params):
    data_path = write_reviews_csv(tmp_path / "reviews.csv", tiny_review_rows())

    results = run_quality(data_path, small_params, seeds=2)

    assert [result.split_seed for result in results] == [42, 43]
    macro_f1s = [result.value("lstm", "macro_f1") for result in results]
    mean, std = summarize(macro_f1s)
    assert mean == pytest.approx(sum(macro_f1s) / 2)
    assert std == pytest.approx(abs(macro_f1s[0] - macro_f1s[1]) / 2 ** 0.5)


def test_summarize_single_value_has_zero_std():
    assert summarize([0.4]) == (0.4, 0.0)


def test_quality_rejects_zero_seeds(tmp_path, small_params, caplog):
    data_path = write_reviews_csv(tmp_path / "reviews.csv", tiny_review_rows())

    status = main(["quality", "--data", str(data_path), "--seeds", "0", "--params", str(small_params)])

    assert status == 1
    assert "--seeds" in caplog.text
    assert "0" in caplog.text


def test_quality_reports_missing_data_file(tmp_path, small_params, caplog):
    missing = tmp_path / "no_such_reviews.csv"

    status = main(["quality", "--data", str(missing), "--params", str(small_params)])

    assert status == 1
    assert str(missing) in caplog.text
    assert "--data" in caplog.text


@pytest.mark.slow
def test_real_reviews_meet_required_quality(tmp_path):
    """The default params on the real reviews: mean test macro-F1 and MAE over 5 seeded splits."""
    data_path = real_reviews_path()

    results = run_quality(data_path, REPO_ROOT / "params.yaml", seeds=5)

    mean_macro_f1, _ = summarize([result.value("lstm", "macro_f1") for result in results])
    mean_mae, _ = summarize([result.value("lstm", "mae") for result in results])
    table = format_table(results)
    assert mean_macro_f1 >= REQUIRED_MEAN_MACRO_F1, table
    assert mean_mae <= REQUIRED_MEAN_MAE, table
