"""Smoke run of the benchmark on tiny data: it finishes and writes every table with its columns."""

import os
import subprocess
import sys

from conftest import REPO_ROOT, load_params_file, tiny_review_rows, write_reviews_csv

COMPARISON_HEADER = "| Measure | Earlier method | This project | Ratio | Ratio (CPU time) | Goal |"
PIPELINE_HEADER = "| Step | Wall time (s) | Peak RSS (MiB) |"
SCALE_HEADER = ("| Rows | Reviews kept | prepare (s) | featurize (s) | Total (s) | Peak RSS prepare (MiB) | "
                "Peak RSS featurize (MiB) |")


def table_rows(markdown: str, header: str) -> list[list[str]]:
    """Return the cells of each data row of the table that starts with `header`."""
    lines = markdown.splitlines()
    start = lines.index(header) + 2  # skip the header and the alignment row
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def as_number(cell: str) -> float:
    return float(cell.replace(",", "").removesuffix("x"))


def test_quick_benchmark_writes_all_tables(tmp_path):
    data = write_reviews_csv(tmp_path / "reviews.csv", tiny_review_rows())
    output = tmp_path / "results.md"
    environment = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}"}

    result = subprocess.run([sys.executable, "bench/run.py", "--quick", "--data", str(data), "--sizes", "300",
                             "--output", str(output), "--work-dir", str(tmp_path / "work")],
                            cwd=REPO_ROOT, capture_output=True, text=True, env=environment, timeout=1200)

    assert result.returncode == 0, result.stderr[-5000:]
    markdown = output.read_text(encoding="utf-8")
    assert markdown == result.stdout.removesuffix("\n")

    comparison = table_rows(markdown, COMPARISON_HEADER)
    measures = [row[0] for row in comparison]
    assert any(measure.startswith("text normalisation, n_process=1") for measure in measures)
    assert any(measure.startswith("text normalisation, n_process=2") for measure in measures)
    assert any(measure.startswith("training, reviews/s per epoch, one network") for measure in measures)
    assert any(measure.startswith("test macro-F1, one network") for measure in measures)
    ensemble_size = load_params_file(REPO_ROOT / "params.yaml")["train"]["ensemble_size"]
    if ensemble_size > 1:
        assert f"test macro-F1, shipped ensemble of {ensemble_size} networks" in measures
    assert any(measure.startswith("evaluation, reviews/s, one network") for measure in measures)
    if not load_params_file(REPO_ROOT / "params.yaml")["featurize"]["remove_stop_words"]:
        assert "test macro-F1, one network, stop words removed" in measures
    for row in comparison:
        assert len(row) == 6, row
        assert as_number(row[1]) >= 0, row
        assert as_number(row[2]) >= 0, row
        assert row[3].endswith("x"), row
        if row[0].startswith("text normalisation") and row[4]:
            assert as_number(row[4]) > 0, row

    pipeline = {row[0]: row for row in table_rows(markdown, PIPELINE_HEADER)}
    for step in ("full `dvc repro`", "stage prepare", "stage featurize", "stage train", "stage evaluate",
                 "`dvc repro` with nothing to do (median)", "`dvc status` (median)", "`dvc --version` (median)"):
        assert step in pipeline, step
        assert as_number(pipeline[step][1]) > 0, step
    assert as_number(pipeline["stage featurize"][2]) > 0

    scale = table_rows(markdown, SCALE_HEADER)
    assert [row[0] for row in scale] == ["300"]
    assert 0 < as_number(scale[0][1]) <= 300
    assert all(as_number(cell) > 0 for cell in scale[0][2:])
