"""`dvc repro` in a copy of the project: on the demo data, and on the real reviews."""

import json
from pathlib import Path

import pytest
from conftest import load_params_file, real_reviews_path, run_in, write_params_file

METRIC_FIELDS = {"accuracy", "macro_f1", "weighted_f1", "mae", "accuracy_ci_low", "accuracy_ci_high",
                 "macro_f1_ci_low", "macro_f1_ci_high"}
PER_SCORE_FIELDS = {"precision", "recall", "f1", "support"}
PLOT_FILES = ["reports/loss.png", "reports/confusion.png", "reports/test_predictions.csv",
              "reports/train/plots/metrics/train/loss.tsv", "reports/train/plots/metrics/validation/loss.tsv"]


def set_params(project: Path, **sections: dict) -> None:
    params = load_params_file(project / "params.yaml")
    for section, values in sections.items():
        params[section].update(values)
    write_params_file(project / "params.yaml", params)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """The project copy after `dvc repro` on the demo data with a short training run."""
    from conftest import copy_project

    project = copy_project(tmp_path_factory.mktemp("demo") / "project")
    set_params(project, train={"epochs": 3}, evaluate={"bootstrap_samples": 100})
    run_in(project, "git", "commit", "-qam", "shorter training for the test")
    first = run_in(project, "dvc", "repro")
    return project, first


def test_repro_writes_metrics_with_all_fields(demo_run):
    project, _ = demo_run

    metrics = json.loads((project / "reports/metrics.json").read_text())

    assert METRIC_FIELDS <= set(metrics["lstm"])
    assert METRIC_FIELDS <= set(metrics["baseline"])
    assert set(metrics["lstm"]["per_score"]) == {"1", "2", "3", "4", "5"}
    for values in metrics["lstm"]["per_score"].values():
        assert set(values) == PER_SCORE_FIELDS
    assert 1 <= metrics["best_epoch"] <= 3
    assert metrics["test_reviews"] > 0


def test_repro_writes_plots(demo_run):
    project, _ = demo_run

    for name in PLOT_FILES:
        assert (project / name).stat().st_size > 0, name


def test_second_repro_is_up_to_date(demo_run):
    project, _ = demo_run

    again = run_in(project, "dvc", "repro")
    status = run_in(project, "dvc", "status")

    assert "Running stage" not in again.stdout
    assert "up to date" in status.stdout


def test_dvc_metrics_show_reads_metrics(demo_run):
    project, _ = demo_run

    shown = run_in(project, "dvc", "metrics", "show", "--json")

    assert "lstm.macro_f1" in shown.stdout or '"macro_f1"' in shown.stdout


def test_tiny_learning_rate_from_dvc_trains(demo_run):
    project, _ = demo_run

    run_in(project, "dvc", "exp", "run", "-S", "train.lr=1e-6")

    assert "1e-06" in (project / "params.yaml").read_text()
    metrics = json.loads((project / "reports/metrics.json").read_text())
    assert 0 <= metrics["lstm"]["accuracy"] <= 1


def test_real_reviews_beat_majority_baseline(tmp_path):
    """The default settings on the real reviews: macro-F1 clearly above always answering 5 stars."""
    from conftest import copy_project

    reviews = real_reviews_path()
    project = copy_project(tmp_path / "project")
    set_params(project, data={"raw": str(reviews)})
    run_in(project, "git", "commit", "-qam", "use the real reviews")

    run_in(project, "dvc", "repro")

    metrics = json.loads((project / "reports/metrics.json").read_text())
    assert metrics["majority"]["macro_f1"] < 0.2
    assert metrics["lstm"]["macro_f1"] >= 0.3
    assert metrics["lstm"]["mae"] < metrics["majority"]["mae"]
