"""Test metrics: per-score support, bootstrap intervals, and metrics.json from a real pipeline run."""

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score

from conftest import load_params_file, tiny_review_rows, write_reviews_csv
from review_lstm.metrics import _macro_f1_per_row, bootstrap_intervals, classification_metrics
from review_lstm.params import parse_section
from review_lstm.quality import PipelineParams, run_pipeline


def noisy_predictions(reviews: int, error_rate: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels skewed towards score 5, and predictions that are wrong for about `error_rate` of them."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(5, size=reviews, p=[0.12, 0.04, 0.06, 0.15, 0.63])
    wrong = rng.random(reviews) < error_rate
    predictions = np.where(wrong, rng.integers(0, 5, size=reviews), labels)
    return labels, predictions


def test_per_score_support_counts_test_reviews():
    labels = np.array([0, 0, 1, 3, 4, 4, 4])
    predictions = np.array([0, 1, 1, 4, 4, 4, 3])

    metrics = classification_metrics(labels, predictions)

    supports = {score: values["support"] for score, values in metrics["per_score"].items()}
    assert supports == {"1": 2, "2": 1, "3": 0, "4": 1, "5": 3}
    assert metrics["per_score"]["3"]["f1"] is None  # undefined for a score absent from the test split
    assert metrics["accuracy"] == pytest.approx(4 / 7, abs=1e-6)
    assert metrics["mae"] == pytest.approx(3 / 7, abs=1e-6)


def test_macro_f1_per_row_matches_sklearn():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, size=(20, 60))
    predictions = rng.integers(0, 5, size=(20, 60))
    labels[:, :4] = [0, 1, 2, 3]  # score 5 (label 4) may be missing from some rows, but not 1-4
    present = np.array([0, 1, 2, 3, 4])

    fast = _macro_f1_per_row(labels, predictions, present)

    for row in range(len(labels)):
        expected = f1_score(labels[row], predictions[row], labels=present, average="macro", zero_division=0)
        assert fast[row] == pytest.approx(expected, abs=1e-12)


def test_bootstrap_interval_contains_point_estimate():
    labels, predictions = noisy_predictions(400, error_rate=0.3, seed=1)
    point = classification_metrics(labels, predictions)

    interval = bootstrap_intervals(labels, predictions, samples=500, seed=0)

    assert interval["accuracy_ci_low"] < point["accuracy"] < interval["accuracy_ci_high"]
    assert interval["macro_f1_ci_low"] < point["macro_f1"] < interval["macro_f1_ci_high"]


def test_bootstrap_interval_narrows_with_more_data():
    small_labels, small_predictions = noisy_predictions(150, error_rate=0.3, seed=2)
    large_labels, large_predictions = noisy_predictions(3000, error_rate=0.3, seed=2)

    small = bootstrap_intervals(small_labels, small_predictions, samples=500, seed=0)
    large = bootstrap_intervals(large_labels, large_predictions, samples=500, seed=0)

    for metric in ("accuracy", "macro_f1"):
        small_width = small[f"{metric}_ci_high"] - small[f"{metric}_ci_low"]
        large_width = large[f"{metric}_ci_high"] - large[f"{metric}_ci_low"]
        assert large_width < small_width / 2, metric  # the width shrinks about as 1 / sqrt(reviews)


def test_bootstrap_is_reproducible_with_a_seed():
    labels, predictions = noisy_predictions(200, error_rate=0.4, seed=3)

    first = bootstrap_intervals(labels, predictions, samples=200, seed=7)
    second = bootstrap_intervals(labels, predictions, samples=200, seed=7)

    assert first == second


def tiny_pipeline_params(tmp_path: Path) -> PipelineParams:
    """The project's params with two small networks and few epochs, reading tiny reviews written here."""
    data_path = write_reviews_csv(tmp_path / "reviews.csv", tiny_review_rows())
    sections = load_params_file(Path(__file__).resolve().parent.parent / "params.yaml")
    sections["train"].update(epochs=2, embedding_dim=16, hidden_size=16, ensemble_size=2)
    sections["evaluate"].update(bootstrap_samples=100)
    parsed = {name: parse_section(name, sections[name]) for name in ("data", "prepare", "featurize", "train",
                                                                    "evaluate")}
    params = PipelineParams(**parsed)
    return params.with_data(data_path)


def test_metrics_json_has_both_models(tmp_path):
    params = tiny_pipeline_params(tmp_path)

    run_pipeline(params, tmp_path / "run")

    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text(encoding="utf-8"))
    for model in ("lstm", "baseline", "majority"):
        for key in ("accuracy", "macro_f1", "mae"):
            assert 0 <= metrics[model][key] <= (4 if key == "mae" else 1), (model, key)
    for model in ("lstm", "baseline"):
        for metric in ("accuracy", "macro_f1"):
            assert metrics[model][f"{metric}_ci_low"] <= metrics[model][metric], (model, metric)
            assert metrics[model][metric] <= metrics[model][f"{metric}_ci_high"], (model, metric)
    supports = [metrics["lstm"]["per_score"][str(score)]["support"] for score in range(1, 6)]
    assert sum(supports) == metrics["test_reviews"]
    assert min(supports) > 0


def test_metrics_json_identical_across_runs(tmp_path):
    params = tiny_pipeline_params(tmp_path)

    run_pipeline(params, tmp_path / "first")
    run_pipeline(params, tmp_path / "second")

    first = (tmp_path / "first" / "metrics.json").read_bytes()
    second = (tmp_path / "second" / "metrics.json").read_bytes()
    assert first == second
    assert (tmp_path / "first" / "test_predictions.csv").read_bytes() == \
        (tmp_path / "second" / "test_predictions.csv").read_bytes()
    # The same bytes give the same hash in dvc.lock.
    assert (tmp_path / "first" / "model.pt").read_bytes() == (tmp_path / "second" / "model.pt").read_bytes()
