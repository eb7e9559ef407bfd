"""The prepare step: row drops by reason, and a stratified, seeded split made before anything else."""

import csv
import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import tiny_review_rows, write_reviews_csv

from review_lstm.params import DataParams, PrepareParams
from review_lstm.prepare import SPLITS, prepare


def run_prepare(tmp_path: Path, raw: Path, seed: int = 7) -> tuple[dict, dict[str, list[dict]]]:
    data = DataParams(raw=str(raw), text_column="content", label_column="score")
    settings = PrepareParams(seed=seed, validation_fraction=0.2, test_fraction=0.2)
    output_dir = tmp_path / f"prepared-{seed}"
    report = prepare(data, settings, output_dir, tmp_path / f"prepare-{seed}.json")
    splits = {}
    for split in SPLITS:
        with open(output_dir / f"{split}.csv", encoding="utf-8", newline="") as stream:
            splits[split] = list(csv.DictReader(stream))
    return report, splits


def test_prepare_drops_bad_rows_by_reason(tmp_path):
    rows = tiny_review_rows() + [("", 5), ("   ", 4), ("fine app", ""), ("nice", 9), ("meh", "three"),
                                 ("love it, perfect for my work (variant 0)", 5)]
    raw = write_reviews_csv(tmp_path / "reviews.csv", rows)

    report, splits = run_prepare(tmp_path, raw)

    dropped = {reason: details["count"] for reason, details in report["dropped_by_reason"].items()}
    assert dropped == {"empty_text": 2, "missing_score": 1, "score_out_of_range": 1, "score_not_a_number": 1,
                       "duplicate": 1}
    assert report["rows_read"] == len(rows)
    assert report["rows_kept"] == len(tiny_review_rows())
    assert sum(len(records) for records in splits.values()) == report["rows_kept"]


def test_prepare_reports_first_row_numbers(tmp_path):
    rows = tiny_review_rows()
    rows.insert(3, ("", 5))  # file row 5: header is row 1, so list index 3 is row 5
    raw = write_reviews_csv(tmp_path / "reviews.csv", rows)

    report, _ = run_prepare(tmp_path, raw)

    assert report["dropped_by_reason"]["empty_text"]["first_rows"] == [5]


def test_splits_are_disjoint_and_stratified(tmp_path):
    raw = write_reviews_csv(tmp_path / "reviews.csv", tiny_review_rows(copies=8))

    report, splits = run_prepare(tmp_path, raw)

    texts = {split: {record["text"] for record in records} for split, records in splits.items()}
    assert not texts["train"] & texts["validation"]
    assert not texts["train"] & texts["test"]
    assert not texts["validation"] & texts["test"]
    for split in ("validation", "test"):
        per_score = Counter(record["score"] for record in splits[split])
        assert set(per_score) == {"1", "2", "3", "4", "5"}
        assert max(per_score.values()) - min(per_score.values()) <= 1
    assert report["scores_per_split"]["train"]["5"] == Counter(r["score"] for r in splits["train"])["5"]


def test_split_depends_only_on_seed(tmp_path):
    raw = write_reviews_csv(tmp_path / "reviews.csv", tiny_review_rows(copies=8))

    _, first = run_prepare(tmp_path, raw, seed=3)
    (tmp_path / "again").mkdir()
    _, second = run_prepare(tmp_path / "again", raw, seed=3)
    _, other_seed = run_prepare(tmp_path, raw, seed=4)

    assert first == second
    assert first["test"] != other_seed["test"]


def test_prepare_report_is_json_with_counts(tmp_path):
    raw = write_reviews_csv(tmp_path / "reviews.csv", tiny_review_rows())

    run_prepare(tmp_path, raw)

    report = json.loads((tmp_path / "prepare-7.json").read_text())
    assert set(report["scores_per_split"]) == set(SPLITS)
    assert report["rows_dropped"] == 0


@pytest.mark.parametrize("raw_score", ["5", "5.0", " 5 ", "5 stars"])
def test_accepted_score_spellings(tmp_path, raw_score):
    rows = [(text, raw_score if score == 5 else score) for text, score in tiny_review_rows()]
    raw = write_reviews_csv(tmp_path / "reviews.csv", rows)

    report, splits = run_prepare(tmp_path, raw)

    assert report["rows_dropped"] == 0
    assert sum(report["scores_per_split"][split]["5"] for split in SPLITS) == 20
